/*
 * src/cli/cmd_analyze.c -- `maproot analyze PROFILE`: what a heap profile
 * says, pprof-style top sites, and the map growth sites called out.
 */
#include "cli/cli.h"

#include "analyze/profile.h"
#include "analyze/report.h"
#include "analyze/snapshot_summary.h" /* root snapshots (issue 4) */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char analyze_help[] =
    "usage: maproot analyze [OPTIONS] PROFILE|SNAPSHOT\n"
    "\n"
    "A root snapshot (NAME.gcstack.gz, told apart by content) is summarized:\n"
    "program, GC cycle, objects and bytes by type (--top), roots by kind with\n"
    "their names, and every map with its entries, buckets, overflow buckets,\n"
    "growth state and bytes. For a profile NAME.pb.gz, a snapshot\n"
    "NAME.gcstack.gz beside it is noticed and named. See maproot-gcstack(5).\n"
    "\n"
    "Summarize a pprof heap profile (gzip or raw; from maproot's collector, Go's\n"
    "runtime/pprof or any other producer): producer, time, period, sample types\n"
    "with their totals, the top sites by function (flat and cumulative, as\n"
    "'go tool pprof -top'), and the map growth sites: allocations made inside a\n"
    "map implementation, attributed to the first caller outside it.\n"
    "\n"
    "Options:\n"
    "  -i, --sample-index NAME|N  the sample type to rank by (default: the\n"
    "                             profile's default type, else the last one;\n"
    "                             inuse_space for Go heap profiles)\n"
    "  -n, --top N                sites to show (default 10; 0 shows all)\n"
    "  -f, --format text|json     output format (default text)\n"
    "  -h, --help                 this help\n"
    "\n"
    "Exit status: 0 success, 2 bad usage or bad input. See maproot-analyze(1).\n";

/* ---- root snapshots (issue 4) ----
 * A gcstack snapshot is told apart from a profile by its content. A
 * profile NAME.pb.gz (or NAME.pb) has its snapshot beside it, as
 * NAME.gcstack.gz. */
static int analyze_snapshot(const char *path, cli_format format, size_t top_n)
{
    mp_snap_summary s;
    mf_error err;
    if (mp_snap_summarize(path, &s, &err)) return cli_fail("%s", err.msg);
    int status = CLI_EXIT_OK;
    if (format == CLI_FORMAT_JSON) {
        if (mp_snap_print_json(stdout, &s, &err)) status = cli_fail("%s", err.msg);
    } else {
        mp_snap_print_text(stdout, &s, top_n);
    }
    mp_snap_summary_free(&s);
    return status == CLI_EXIT_OK ? cli_finish(CLI_EXIT_OK) : status;
}

/* NAME.gcstack.gz for a profile NAME.pb.gz / NAME.pb / NAME.gz, if that
 * file exists (malloc'd), else NULL. */
static char *snapshot_beside(const char *profile)
{
    static const char *const exts[] = {".pb.gz", ".pb", ".gz"};
    size_t n = strlen(profile), cut = n;
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        size_t m = strlen(exts[i]);
        if (n > m && strcmp(profile + n - m, exts[i]) == 0) {
            cut = n - m;
            break;
        }
    }
    char *p = malloc(cut + sizeof ".gcstack.gz");
    if (!p) return NULL;
    memcpy(p, profile, cut);
    strcpy(p + cut, ".gcstack.gz");
    if (access(p, R_OK) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

int cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sample-index", required_argument, NULL, 'i'},
        {"top", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sample_spec = NULL;
    size_t top_n = 10;
    cli_format format = CLI_FORMAT_TEXT;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:n:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            sample_spec = optarg;
            break;
        case 'n':
            if (cli_parse_count("analyze", "--top", optarg, &top_n)) return CLI_EXIT_BAD;
            break;
        case 'f':
            if (cli_parse_format("analyze", optarg, &format)) return CLI_EXIT_BAD;
            break;
        case 'h':
            fputs(analyze_help, stdout);
            return cli_finish(CLI_EXIT_OK);
        case ':':
            return cli_usage("analyze", "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("analyze", "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage("analyze", argc == optind ? "a profile to analyze is needed"
                                                   : "one profile at a time");
    const char *path = argv[optind];

    /* ---- root snapshots (issue 4) */
    mf_error serr;
    int sniff = strcmp(path, "-") == 0 ? 0 : mf_gs_sniff(path, &serr);
    /* an unreadable file: the profile reader below says why */
    if (sniff == 1) return analyze_snapshot(path, format, top_n);
    char *beside = strcmp(path, "-") == 0 ? NULL : snapshot_beside(path);
    if (beside && format == CLI_FORMAT_TEXT)
        printf("  snapshot %s beside the profile (summarize it with: maproot analyze %s)\n",
               beside, beside);
    free(beside);

    mf_profile *p = NULL;
    if (cli_load_heap_profile(path, &p)) return CLI_EXIT_BAD;
    int status = CLI_EXIT_BAD;
    mf_error err;
    mp_index ix;
    mp_top top = {0};
    mp_growth growth = {0};
    size_t si;
    if (mp_sample_index(p, path, sample_spec, &si, &err)) {
        cli_fail("%s", err.msg);
        mf_profile_free(p);
        return CLI_EXIT_BAD;
    }
    if (mp_index_build(p, path, &ix, &err)) {
        cli_fail("%s", err.msg);
        mf_profile_free(p);
        return CLI_EXIT_BAD;
    }
    if (mp_top_compute(&ix, si, &top, &err) || mp_growth_compute(&ix, si, &growth, &err)) {
        cli_fail("%s", err.msg);
        goto out;
    }
    mp_analysis a = {path, p, &ix, si, &top, &growth, top_n};
    if (format == CLI_FORMAT_JSON) {
        if (mp_print_analysis_json(stdout, &a, &err)) {
            cli_fail("%s", err.msg);
            goto out;
        }
    } else {
        mp_print_analysis_text(stdout, &a);
    }
    status = cli_finish(CLI_EXIT_OK);
out:
    mp_top_free(&top);
    mp_growth_free(&growth);
    mp_index_free(&ix);
    mf_profile_free(p);
    return status;
}
