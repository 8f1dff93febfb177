/*
 * src/cli/main.c -- the maproot command: dispatches to one function per
 * subcommand (cmd_<name>, in cmd_<name>.c).
 */
#include "cli/cli.h"
#include "cli/input.h"
#include "format/infile.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"analyze", cmd_analyze, "which root keeps which map entries alive; top allocation sites"},
    {"diff", cmd_diff, "compare two profiles, snapshots or Go heap dumps (growth first)"},
    {"trace", cmd_trace, "attach to a running program: its maps growing, live, with their roots"},
    {"ps", cmd_ps, "the running programs this user can trace"},
    {"gate", cmd_gate, "CI leak gate: judge a series of snapshots, or run a program"},
    {"path", cmd_path, "the paths from the GC roots to an object or a type's objects"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: maproot COMMAND [OPTIONS] FILE...\n"
                 "       maproot trace --pid PID [OPTIONS] | maproot ps\n"
                 "       maproot --help | --version | help COMMAND\n\n"
                 "maproot finds what keeps memory alive in maps. Commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nInputs are root snapshots (NAME.gcstack.gz, from maproot's collector),\n"
                 "pprof heap profiles (gzip or raw, from maproot's collector or any other\n"
                 "producer such as Go's runtime/pprof) and Go heap dumps\n"
                 "(runtime/debug.WriteHeapDump), told apart by content.\n"
                 "'maproot COMMAND --help' tells more; see also maproot(1).\n"
                 "Exit status: 0 success, 1 a leak or threshold was found, where asked\n"
                 "(maproot gate; analyze and diff with --fail-on), 2 bad usage or bad input.\n");
}

static const command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_BAD;
    }
    const char *a = argv[1];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        usage(stdout);
        return cli_finish(CLI_EXIT_OK);
    }
    if (strcmp(a, "--version") == 0) {
        printf("maproot %s\n", MAPROOT_VERSION);
        return cli_finish(CLI_EXIT_OK);
    }
    if (strcmp(a, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return cli_finish(CLI_EXIT_OK);
        }
        const command *c = find(argv[2]);
        if (!c) return cli_fail("unknown command \"%s\" (see maproot --help)", argv[2]);
        char *args[] = {argv[2], "--help", NULL};
        return c->run(2, args);
    }
    const command *c = find(a);
    if (!c) return cli_fail("unknown command \"%s\" (see maproot --help)", a);
    /* the memory inputs may need, unless --max-memory says otherwise */
    cli_limits.max_memory = mf_default_max_memory();
    return c->run(argc - 1, argv + 1);
}
