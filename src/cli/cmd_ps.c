/*
 * src/cli/cmd_ps.c -- `maproot ps`: the processes of this user that link
 * the collector and can be attached to (maproot trace --pid), with what
 * each one's agent says of it: program, uptime, heap, GC cycles. Socket
 * files left by processes that died are removed on the way.
 */
#include "cli/attach.h"
#include "cli/cli.h"

#include "analyze/report.h"
#include "format/names.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char ps_help[] =
    "usage: maproot ps [OPTIONS]\n"
    "\n"
    "The running processes of this user (of every user, for root) that link\n"
    "maproot's collector and can be attached to with 'maproot trace --pid PID':\n"
    "pid, program, uptime, heap left by the last collection, collections so far\n"
    "and command line.\n"
    "Endpoints left by processes that died are removed.\n"
    "\n"
    "Options:\n"
    "  -f, --format text|json     output format (default text)\n"
    "  -h, --help                 this help\n"
    "\n"
    "Exit status: 0 success (also when none is found), 2 bad usage. See\n"
    "maproot-trace(1).\n";

/* "3d04:12:05", "04:12:05", "12:05" */
static void format_uptime(char *buf, size_t cap, int64_t secs)
{
    if (secs < 0) secs = 0;
    int64_t d = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60, s = secs % 60;
    if (d)
        snprintf(buf, cap, "%" PRId64 "d%02" PRId64 ":%02" PRId64 ":%02" PRId64, d, h, m, s);
    else if (h)
        snprintf(buf, cap, "%02" PRId64 ":%02" PRId64 ":%02" PRId64, h, m, s);
    else
        snprintf(buf, cap, "%02" PRId64 ":%02" PRId64, m, s);
}

int cmd_ps(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cli_format format = CLI_FORMAT_TEXT;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (cli_parse_format("ps", optarg, &format)) return CLI_EXIT_BAD;
            break;
        case 'h':
            fputs(ps_help, stdout);
            return cli_finish(CLI_EXIT_OK);
        case ':':
            return cli_usage("ps", "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("ps", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage("ps", "no arguments are taken (%s)", argv[optind]);
    cli_at_clean_stale();
    cli_endpoint *eps;
    size_t n;
    char msg[1024];
    if (cli_at_list(&eps, &n, msg, sizeof msg)) return cli_fail("%s", msg);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    json_t *arr = format == CLI_FORMAT_JSON ? json_array() : NULL;
    if (format == CLI_FORMAT_TEXT)
        printf("%7s  %-16s %10s %12s %8s  %s\n", "PID", "PROGRAM", "UPTIME", "HEAP", "GC",
               "COMMAND");
    for (size_t i = 0; i < n; i++) {
        cli_attach a;
        if (cli_at_connect(&a, &eps[i], "maproot ps", 10000, msg, sizeof msg)) {
            /* one that ended meanwhile is simply not listed; another
             * failure says why it is missing */
            if (!cli_at_ended(&eps[i])) fprintf(stderr, "maproot: ps: %s\n", msg);
            continue;
        }
        const mf_at_welcome *w = &a.welcome.welcome;
        int64_t up = w->start_time_ns ? (now_ns - w->start_time_ns) / 1000000000 : -1;
        if (arr) {
            json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "pid",
                                  (json_int_t)w->pid, "program", w->program, "command", w->args,
                                  "build_id", w->build_id, "uptime_s", (json_int_t)up, "heap_bytes",
                                  (json_int_t)w->live_bytes, "gc_cycles", (json_int_t)w->gc_cycle,
                                  "profile_rate", (json_int_t)w->profile_rate, "clients",
                                  (json_int_t)w->clients, "endpoint", eps[i].path);
            if (o) json_array_append_new(arr, o);
        } else {
            char upt[32] = "?", heap[32];
            if (up >= 0) format_uptime(upt, sizeof upt, up);
            mp_format_value(heap, sizeof heap, (int64_t)w->live_bytes, "bytes", false);
            printf("%7" PRIu64 "  %-16.16s %10s %12s %8" PRIu32 "  %s\n", w->pid,
                   mf_path_base(w->program), upt, heap, w->gc_cycle, w->args);
        }
        mf_at_frame d = {.kind = MF_AT_DETACH};
        cli_at_send(&a, &d, NULL, 0, msg, sizeof msg);
        cli_at_close(&a);
    }
    free(eps);
    if (arr) {
        if (json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0) fputc('\n', stdout);
        json_decref(arr);
    }
    return cli_finish(CLI_EXIT_OK);
}
