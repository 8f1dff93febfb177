/*
 * src/cli/cmd_diff.c -- `maproot diff BEFORE AFTER`: per-site change between
 * two heap profiles with go tool pprof -diff_base semantics.
 */
#include "cli/cli.h"

#include "analyze/profile.h"
#include "analyze/prune.h"
#include "analyze/report.h"
#include "cli/cmd_snapshot.h" /* root snapshots */
#include "cli/input.h"

#include <string.h>

#include <getopt.h>
#include <stdio.h>

static const char diff_help[] =
    "usage: maproot diff [OPTIONS] BEFORE AFTER\n"
    "\n"
    "Two root snapshots (NAME.gcstack.gz, told apart by content), or two Go heap\n"
    "dumps (runtime/debug.WriteHeapDump), of the same program: per map and root,\n"
    "entries before and after, added and removed, retained growth and a sample\n"
    "of new keys; growing maps first. Then per group of maps of one type under\n"
    "one holder (or one variable of several threads, whichever threads hold it):\n"
    "maps, entries and retained bytes before and after; a group\n"
    "grows with more maps or entries and significantly more retained bytes,\n"
    "less its maps that grow significantly on their own (shown as maps): a\n"
    "growth is named once, as a group or as a map.\n"
    "\n"
    "Compare two pprof heap profiles (proto, or Go's text heap profile written\n"
    "with debug=1, in any mix), as 'go tool pprof -diff_base=BEFORE AFTER'\n"
    "does: each site's flat and cumulative value in AFTER\n"
    "minus BEFORE, percentages of BEFORE's total; growth ranked first. Map growth\n"
    "sites are compared the same way. Profiles with different sample types are\n"
    "refused.\n"
    "\n"
    "Options:\n"
    "  -i, --sample-index NAME|N  the sample type to compare (default: as analyze)\n"
    "  -n, --top N                sites to show (default 10; 0 shows all)\n"
    "  -f, --format text|json     output format (default text)\n"
    "  -o, --output FILE          write the comparison to FILE ('-': stdout); a\n"
    "                             regular FILE is replaced only when complete\n"
    "      --max-memory SIZE      as for maproot analyze\n" CLI_INDEX_HELP

    "  -b, --binary PROG          Go heap dumps: the program that wrote them\n"
    "      --fail-on WHAT         exit 1 when found: growth (a map of AFTER grew in\n"
    "                             entries and retained bytes, or a group of maps\n"
    "                             grew; for profiles, a map\n"
    "                             growth site grew), suspect (AFTER has a leak\n"
    "                             suspect; snapshots and dumps), or "
    "suspect,growth\n" CLI_TRIM_PATH_HELP "  -h, --help                 this help\n"
    "\n"
    "Exit status: 0 success, 1 what --fail-on names was found, 2 bad usage or\n"
    "bad input. See maproot-diff(1).\n";

int cmd_diff(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sample-index", required_argument, NULL, 'i'},
        {"top", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"max-memory", required_argument, NULL, 'M'},
        {"index", required_argument, NULL, CLI_OPT_INDEX},
        {"binary", required_argument, NULL, 'b'},
        {"trim-path", required_argument, NULL, CLI_OPT_TRIM_PATH},
        {"fail-on", required_argument, NULL, CLI_OPT_FAIL_ON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *sample_spec = NULL, *output = NULL, *binary = NULL;
    unsigned fail_on = 0;
    size_t top_n = 10;
    cli_format format = CLI_FORMAT_TEXT;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:n:f:o:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            binary = optarg;
            break;
        case 'i':
            sample_spec = optarg;
            break;
        case 'n':
            if (cli_parse_count("diff", "--top", optarg, &top_n)) return CLI_EXIT_BAD;
            break;
        case 'f':
            if (cli_parse_format("diff", optarg, &format)) return CLI_EXIT_BAD;
            break;
        case 'o':
            output = optarg;
            break;
        case 'M':
            if (cli_parse_memory("diff", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_INDEX:
            if (cli_parse_index("diff", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_TRIM_PATH:
            if (cli_set_trim_path("diff", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_FAIL_ON:
            if (cli_parse_fail_on("diff", optarg, &fail_on)) return CLI_EXIT_BAD;
            break;
        case 'h':
            fputs(diff_help, stdout);
            return cli_finish(CLI_EXIT_OK);
        case ':':
            return cli_usage("diff", "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("diff", "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind != 2) return cli_usage("diff", "two profiles are needed: BEFORE AFTER");
    const char *before_path = argv[optind], *after_path = argv[optind + 1];
    if (strcmp(before_path, "-") == 0 && strcmp(after_path, "-") == 0)
        return cli_usage("diff", "standard input can be only one of BEFORE and AFTER");
    /* each input opened once, its kind told from its first bytes */
    cli_input bi_in, ai_in;
    if (cli_input_open(before_path, &bi_in)) return CLI_EXIT_BAD;
    if (cli_input_open(after_path, &ai_in)) {
        cli_input_close(&bi_in);
        return CLI_EXIT_BAD;
    }
    bool sa = cli_input_is_graph(&bi_in), sb = cli_input_is_graph(&ai_in);
    if (sa != sb) {
        cli_input_close(&bi_in);
        cli_input_close(&ai_in);
        return cli_usage("diff", "%s is a %s but %s is a %s", before_path, bi_in.kind->name,
                         after_path, ai_in.kind->name);
    }
    if (binary && !(bi_in.kind->go_dump && ai_in.kind->go_dump)) {
        cli_input_close(&bi_in);
        cli_input_close(&ai_in);
        return cli_usage("diff", "--binary is for Go heap dumps");
    }
    if (sa && bi_in.kind != ai_in.kind) {
        cli_input_close(&bi_in);
        cli_input_close(&ai_in);
        return cli_usage("diff", "%s is a %s but %s is a %s", before_path, bi_in.kind->name,
                         after_path, ai_in.kind->name);
    }
    cli_binary = binary;
    if (!sa && (fail_on & CLI_FAIL_SUSPECT)) {
        cli_input_close(&bi_in);
        cli_input_close(&ai_in);
        return cli_usage("diff", "--fail-on suspect needs root tracing: snapshots or Go heap "
                                 "dumps, not pprof profiles");
    }
    if (sa) {
        mp_graph *ga = NULL, *gb = NULL;
        if (cli_input_load_graph(&bi_in, &ga)) {
            cli_input_close(&ai_in);
            return CLI_EXIT_BAD;
        }
        if (cli_input_load_graph(&ai_in, &gb)) {
            mp_graph_free(ga);
            return CLI_EXIT_BAD;
        }
        cli_snap_opts so = {.format = format == CLI_FORMAT_JSON ? "json" : "text",
                            .output = output,
                            .fail_on = fail_on};
        return cli_diff_snapshots(before_path, ga, after_path, gb, &so);
    }

    mf_profile *before = NULL, *after = NULL;
    mp_index bi = {0}, ai = {0};
    mp_diff d = {0};
    mf_error err;
    int status = CLI_EXIT_BAD;
    size_t si;
    if (cli_input_load_profile(&bi_in, &before)) {
        cli_input_close(&ai_in);
        goto out;
    }
    if (cli_input_load_profile(&ai_in, &after)) goto out;
    /* pprof -diff_base cuts both profiles' stacks by the rules of the
     * profile compared (the base's own are not used) */
    const char *drop = mf_str(after, after->drop_frames), *keep = mf_str(after, after->keep_frames);
    if (mp_prune_frames(before, before_path, drop, keep, &err) ||
        mp_prune_frames(after, after_path, drop, keep, &err) ||
        mp_check_comparable(before, before_path, after, after_path, &err) ||
        mp_sample_index(after, after_path, sample_spec, &si, &err) ||
        mp_index_build(before, before_path, &bi, &err) ||
        mp_index_build(after, after_path, &ai, &err) || mp_diff_compute(&bi, &ai, si, &d, &err)) {
        cli_fail("%s", err.msg);
        goto out;
    }
    mp_diff_report r = {before_path, after_path, before, after, si, &d, top_n};
    cli_output co;
    FILE *o = cli_output_open(&co, output);
    if (!o) goto out;
    status = CLI_EXIT_OK;
    if (format == CLI_FORMAT_JSON) {
        if (mp_print_diff_json(o, &r, &err))
            status = cli_output_failed(&co) ? CLI_EXIT_BAD : cli_fail("%s", err.msg);
    } else {
        mp_print_diff_text(o, &r);
    }
    status = cli_output_close(&co, status);
    if (status == CLI_EXIT_OK && (fail_on & CLI_FAIL_GROWTH)) {
        size_t grew = 0;
        for (size_t i = 0; i < d.n_growth; i++) grew += d.growth[i].after > d.growth[i].before;
        if (grew)
            status = cli_found("diff", "%zu map growth site%s grew (--fail-on growth)", grew,
                               grew == 1 ? "" : "s");
    }
out:
    mp_diff_free(&d);
    mp_index_free(&bi);
    mp_index_free(&ai);
    mf_profile_free(before);
    mf_profile_free(after);
    return status;
}
