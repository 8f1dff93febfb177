/*
 * src/cli/cmd_analyze.c -- `maproot analyze FILE`: what a heap profile or a
 * root snapshot says. A snapshot gets the full root-tracing analysis (leak
 * suspects, roots, chains, entries); a profile its pprof-style figures, and
 * the full analysis too when its snapshot NAME.gcstack.gz lies beside it.
 */
#include "cli/cli.h"

#include "analyze/dominators.h"
#include "analyze/paths.h"
#include "analyze/profile.h"
#include "analyze/prune.h"
#include "analyze/report.h"
#include "analyze/snapshot_summary.h"
#include "analyze/load_gcstack.h"
#include "analyze/timing.h"
#include "cli/cmd_snapshot.h"
#include "cli/input.h"
#include "format/gcstack_reader.h"
#include "format/godump.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char analyze_help[] =
    "usage: maproot analyze [OPTIONS] PROFILE|SNAPSHOT|GO-HEAP-DUMP\n"
    "\n"
    "Tells which root keeps which map entries alive. The input is told apart by\n"
    "content (gzip or raw):\n"
    "\n"
    "  a root snapshot (NAME.gcstack.gz, see maproot-gcstack(5)): the full\n"
    "    analysis -- leak suspects ranked by retained size, each with its map,\n"
    "    retaining root(s), chain root -> map header -> bucket -> overflow ->\n"
    "    slot, table figures, the evidence and a fix, and its largest entries\n"
    "    (key, value type, retained size, allocation site); then every map;\n"
    "  a Go heap dump (runtime/debug.WriteHeapDump; Go up to 1.23, tested with\n"
    "    1.19; Go 1.24 and later refused): the same\n"
    "    analysis, globals named by address (data+0x1e658) or, with --binary,\n"
    "    by name; goroutine frames by goroutine, function and wait reason;\n"
    "  a pprof heap profile (maproot's collector, Go's runtime/pprof, ...), as\n"
    "    proto or as Go's text heap profile (/debug/pprof/heap?debug=1): the\n"
    "    producer, sample types and totals, top sites by function (flat and\n"
    "    cumulative, as 'go tool pprof -top') and the map growth sites. When the\n"
    "    snapshot NAME.gcstack.gz lies beside NAME.pb.gz, the full analysis of\n"
    "    the snapshot comes first and the profile's figures follow.\n"
    "\n"
    "Options:\n"
    "  -n, --top N                sites, and entries per leak suspect, to show\n"
    "                             (default 10; 0 shows all)\n"
    "  -a, --all                  every entry of every suspect, each with its chain,\n"
    "                             and every map\n"
    "  -m, --maps N               maps to list, suspects first (default 10; 0 lists\n"
    "                             every one)\n"
    "  -f, --format FORMAT        text (default), json, pprof (retention chains as\n"
    "                             stacks, root at the bottom; needs -o) or dot\n"
    "                             (Graphviz); pprof and dot need a snapshot or a\n"
    "                             Go heap dump\n"
    "      --timings              print each phase's seconds and memory to stderr,\n"
    "                             and add the seconds taken to JSON (without it\n"
    "                             the same input always gives the same bytes)\n"
    "  -o, --output FILE          write the report to FILE instead of stdout ('-':\n"
    "                             stdout, for every format); a regular FILE is\n"
    "                             replaced only when the report is complete\n"
    "      --max-memory SIZE      stop with a message when the input would need\n"
    "                             more memory than SIZE (e.g. 512M, 8G; default:\n"
    "                             half of this machine's memory)\n" CLI_INDEX_HELP

    "  -s, --summary              a snapshot's summary (types, roots, maps) instead\n"
    "                             of the analysis\n"
    "      --by type              live objects by type instead of the analysis:\n"
    "                             count, shallow and retained bytes (--top rows)\n"
    "      --dominators           the largest dominator subtrees of the whole heap\n"
    "                             instead of the analysis (--top of them), each\n"
    "                             with its roots, chain and largest parts\n"
    "  -b, --binary PROG          a Go heap dump's program: globals get their ELF\n"
    "                             names (main.sessionCache), maps their DWARF\n"
    "                             types, literal string keys decode\n"
    "  -i, --sample-index NAME|N  the profile's sample type to rank sites by\n"
    "                             (default: the profile's default type, else the\n"
    "                             last one; inuse_space for Go heap profiles)\n"
    "      --fail-on suspect      exit 1 when there is a leak suspect (needs root\n"
    "                             tracing: a snapshot, a Go heap dump, or a profile\n"
    "                             with its snapshot beside it); growth needs two\n"
    "                             inputs: maproot diff, maproot gate\n" CLI_TRIM_PATH_HELP
    "  -h, --help                 this help\n"
    "\n"
    "FILE may be '-' (standard input) or a pipe: it is read once, as a stream.\n"
    "Progress goes to stderr while large files load, only on a terminal.\n"
    "Exit status: 0 success, 1 a leak suspect was found (--fail-on suspect),\n"
    "2 bad usage or bad input. See maproot-analyze(1).\n";

/* The summary of a snapshot (--summary): types, roots, maps. */
static int summarize_snapshot(cli_input *ci, const char *format, const char *output, size_t top_n)
{
    bool json = strcmp(format, "json") == 0;
    if (!json && strcmp(format, "text") != 0) {
        cli_input_close(ci);
        return cli_usage("analyze", "--summary is printed as text or json, not %s", format);
    }
    mp_snap_summary s;
    mf_error err;
    int rc = mp_snap_summarize_in(ci->in, &s, &err);
    cli_input_close(ci);
    if (rc) return cli_fail("%s", err.msg);
    cli_output co;
    FILE *out = cli_output_open(&co, output);
    int status = CLI_EXIT_OK;
    if (!out) {
        status = CLI_EXIT_BAD;
    } else {
        if (json) {
            if (mp_snap_print_json(out, &s, &err))
                status = cli_output_failed(&co) ? CLI_EXIT_BAD : cli_fail("%s", err.msg);
        } else {
            mp_snap_print_text(out, &s, top_n);
        }
        status = cli_output_close(&co, status);
    }
    mp_snap_summary_free(&s);
    return status;
}

/* NAME.gcstack.gz for a profile NAME.pb.gz / NAME.pb / NAME.gz (malloc'd),
 * if there is one, else NULL. Only a regular file counts: a FIFO or device
 * there would block or never end, so it is named in a warning instead. */
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
    struct stat st;
    if (stat(p, &st) != 0 && errno == ENOENT) {
        free(p);
        return NULL;
    }
    if (stat(p, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "maproot: warning: %s beside the profile is not a regular file; ignored\n",
                p);
        free(p);
        return NULL;
    }
    return p;
}

/* The heap graph of the snapshot beside a profile. When the formats need
 * it (required), a failure is the command's; else it is a warning and the
 * profile is analysed alone (NULL). *status is set on a fatal failure. */
static mp_graph *load_beside(const char *beside, bool required, double *seconds, int *status)
{
    mf_error err;
    mf_in *in = mf_in_open(beside, &err);
    const uint8_t *p;
    size_t n;
    mp_graph *g = NULL;
    double t0 = cli_now();
    if (in && mf_in_peek(in, MF_GS_SNIFF_BYTES, &p, &n, &err) == 0) {
        if (!mf_gs_sniff_bytes(p, n))
            mf_error_set(&err, "%s: not a maproot snapshot", beside);
        else
            cli_load_snapshot(beside, in, &g, &err);
    }
    mf_in_close(in);
    *seconds = cli_now() - t0;
    if (g) return g;
    if (required) {
        *status = cli_fail("%s", err.msg);
    } else {
        fprintf(stderr, "maproot: warning: %s; the profile is analysed without it\n", err.msg);
    }
    return NULL;
}

static bool valid_format(const char *f)
{
    return strcmp(f, "text") == 0 || strcmp(f, "json") == 0 || strcmp(f, "pprof") == 0 ||
           strcmp(f, "dot") == 0;
}

/* --by type and --dominators each replace the analysis with one view of the
 * heap: given both, neither silently wins. */
static int analyze_one_view(void)
{
    return cli_usage("analyze", "--by type and --dominators are two views: give one");
}

int cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sample-index", required_argument, NULL, 'i'},
        {"top", required_argument, NULL, 'n'},
        {"all", no_argument, NULL, 'a'},
        {"maps", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"summary", no_argument, NULL, 's'},
        {"max-memory", required_argument, NULL, 'M'},
        {"index", required_argument, NULL, CLI_OPT_INDEX},
        {"binary", required_argument, NULL, 'b'},
        {"trim-path", required_argument, NULL, CLI_OPT_TRIM_PATH},
        {"fail-on", required_argument, NULL, CLI_OPT_FAIL_ON},
        {"timings", no_argument, NULL, CLI_OPT_TIMINGS},
        {"by", required_argument, NULL, CLI_OPT_BY},
        {"dominators", no_argument, NULL, CLI_OPT_DOMINATORS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sample_spec = NULL, *format = "text", *output = NULL, *binary = NULL;
    size_t top_n = 10, top_maps = 10;
    bool all = false, summary = false, timings = false;
    unsigned fail_on = 0;
    int view = CLI_VIEW_NONE;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:n:am:f:o:sb:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            binary = optarg;
            break;
        case 'i':
            sample_spec = optarg;
            break;
        case 'n':
            if (cli_parse_count("analyze", "--top", optarg, &top_n)) return CLI_EXIT_BAD;
            break;
        case 'a':
            all = true;
            break;
        case 'm':
            if (cli_parse_count("analyze", "--maps", optarg, &top_maps)) return CLI_EXIT_BAD;
            break;
        case 'f':
            if (!valid_format(optarg))
                return cli_usage("analyze", "unknown --format \"%s\" (text, json, pprof or dot)",
                                 optarg);
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 's':
            summary = true;
            break;
        case 'M':
            if (cli_parse_memory("analyze", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_INDEX:
            if (cli_parse_index("analyze", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_TRIM_PATH:
            if (cli_set_trim_path("analyze", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_FAIL_ON:
            if (cli_parse_fail_on("analyze", optarg, &fail_on)) return CLI_EXIT_BAD;
            if (fail_on & CLI_FAIL_GROWTH)
                return cli_usage("analyze", "--fail-on growth compares inputs: use maproot diff "
                                            "BEFORE AFTER or maproot gate (analyze fails on "
                                            "suspect)");
            break;
        case CLI_OPT_TIMINGS:
            mp_timing_enable(stderr);
            timings = true;
            break;
        case CLI_OPT_BY:
            if (strcmp(optarg, "type") != 0)
                return cli_usage("analyze", "unknown --by \"%s\" (type)", optarg);
            if (view == CLI_VIEW_DOMINATORS) return analyze_one_view();
            view = CLI_VIEW_BY_TYPE;
            break;
        case CLI_OPT_DOMINATORS:
            if (view == CLI_VIEW_BY_TYPE) return analyze_one_view();
            view = CLI_VIEW_DOMINATORS;
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
        return cli_usage("analyze", argc == optind ? "a profile or snapshot to analyze is needed"
                                                   : "one file at a time");
    const char *path = argv[optind];
    bool graph_format = strcmp(format, "pprof") == 0 || strcmp(format, "dot") == 0;
    if (view && (summary || graph_format))
        return cli_usage("analyze", "--by and --dominators print text or json%s",
                         summary ? ", not with --summary" : "");
    if (strcmp(format, "pprof") == 0 && !output)
        return cli_usage("analyze", "--format pprof needs -o FILE (-o - for standard output)");
    if (fail_on && summary)
        return cli_usage("analyze", "--summary finds no suspects: --fail-on needs the analysis");
    cli_snap_opts so = {.format = format,
                        .output = output,
                        .top_entries = top_n,
                        .all = all || top_n == 0,
                        .fail_on = fail_on,
                        .top_maps = top_maps,
                        .all_maps = all || top_maps == 0,
                        .timings = timings,

                        .view = view,
                        .top = top_n};

    /* one open; the kind is told from the first bytes */
    cli_input ci;
    if (cli_input_open(path, &ci)) return CLI_EXIT_BAD;
    if (binary && !ci.kind->go_dump) {
        cli_input_close(&ci);
        return cli_usage("analyze", "--binary names what a Go heap dump holds; %s is a %s", path,
                         ci.kind->name);
    }
    cli_binary = binary;
    if (cli_input_is_graph(&ci)) {
        if (summary && ci.kind->go_dump) {
            cli_input_close(&ci);
            return cli_usage("analyze", "--summary is for root snapshots, not Go heap dumps");
        }
        if (summary) return summarize_snapshot(&ci, format, output, top_n);
        double t0 = cli_now();
        mp_graph *g;
        /* the analysis computes the dominator tree: its arrays are made
         * ready while the graph is built */
        mp_dom_reserve_ahead(!view);
        mp_paths_spare_ahead(!view);
        if (cli_input_load_graph(&ci, &g)) return CLI_EXIT_BAD;
        so.load_seconds = cli_now() - t0;
        return view ? cli_view_snapshot(path, g, &so) : cli_analyze_snapshot(path, g, &so);
    }
    char *beside = strcmp(path, "-") == 0 || summary ? NULL : snapshot_beside(path);
    if (fail_on && !beside) {
        cli_input_close(&ci);
        return cli_usage("analyze",
                         "--fail-on suspect needs root tracing: %s is a profile with no snapshot "
                         "(NAME.gcstack.gz) beside it",
                         path);
    }
    if ((graph_format || view) && !beside) {
        cli_input_close(&ci);
        if (view)
            return cli_usage("analyze",
                             "--by and --dominators look at a heap: a snapshot or Go heap dump "
                             "(or a profile with NAME.gcstack.gz beside it)");
        return cli_usage("analyze",
                         "--format %s draws retention chains: it needs a snapshot (NAME.gcstack.gz "
                         "beside the profile, or the snapshot itself) or a Go heap dump",
                         format);
    }
    if (graph_format || view) { /* the profile adds nothing to these */
        cli_input_close(&ci);
        int st = CLI_EXIT_BAD;
        mp_graph *g = load_beside(beside, true, &so.load_seconds, &st);
        so.profile = path;
        if (g) st = view ? cli_view_snapshot(beside, g, &so) : cli_analyze_snapshot(beside, g, &so);
        free(beside);
        return st;
    }

    mf_profile *p = NULL;
    if (cli_input_load_profile(&ci, &p)) {
        free(beside);
        return CLI_EXIT_BAD;
    }
    int status = CLI_EXIT_BAD;
    mf_error err;
    mp_index ix = {0};
    mp_top top = {0};
    mp_growth growth = {0};
    size_t si;
    /* the stacks as go tool pprof shows them: without the frames the
     * profile's drop_frames names */
    if (mp_prune_frames(p, path, mf_str(p, p->drop_frames), mf_str(p, p->keep_frames), &err) ||
        mp_sample_index(p, path, sample_spec, &si, &err) || mp_index_build(p, path, &ix, &err) ||
        mp_top_compute(&ix, si, &top, &err) || mp_growth_compute(&ix, si, &growth, &err)) {
        cli_fail("%s", err.msg);
        goto out;
    }
    mp_analysis a = {path, p, &ix, si, &top, &growth, top_n};
    mp_graph *g = beside ? load_beside(beside, fail_on != 0, &so.load_seconds, &status) : NULL;
    if (fail_on && !g) goto out; /* the suspects cannot be known: an error, said */
    if (g) {
        so.profile = path;
        so.profile_analysis = &a;
        status = cli_analyze_snapshot(beside, g, &so);
        goto out;
    }
    cli_output co;
    FILE *o = cli_output_open(&co, output);
    if (!o) goto out;
    status = CLI_EXIT_OK;
    if (strcmp(format, "json") == 0) {
        if (mp_print_analysis_json(o, &a, &err))
            status = cli_output_failed(&co) ? CLI_EXIT_BAD : cli_fail("%s", err.msg);
    } else {
        mp_print_analysis_text(o, &a);
    }
    status = cli_output_close(&co, status);
out:
    free(beside);
    mp_top_free(&top);
    mp_growth_free(&growth);
    mp_index_free(&ix);
    mf_profile_free(p);
    return status;
}
