/*
 * src/cli/cmd_path.c -- `maproot path FILE --type T | --object ADDR`: the
 * paths from the GC roots to objects (analyze/pathview.h), in text, JSON
 * or Graphviz.
 */
#include "cli/cli.h"

#include "analyze/json_text.h"
#include "analyze/pathview.h"
#include "analyze/timing.h"
#include "analyze/views.h"
#include "cli/input.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char path_help[] =
    "usage: maproot path [OPTIONS] SNAPSHOT|GO-HEAP-DUMP (--type TYPE | --object ADDR)\n"
    "\n"
    "The paths from the GC roots to objects, beyond maps: what keeps them alive.\n"
    "\n"
    "  --object ADDR: the path from the root that explains the object holding\n"
    "    ADDR (hex 0x... or decimal; interior addresses too): the root of\n"
    "    highest priority (globals, pins, stack frames, ...) that reaches it,\n"
    "    the shortest path from there; with --all, every root that reaches it,\n"
    "    each with its shortest path, shortest first;\n"
    "  --type TYPE: the paths to every live object of the type (its name as\n"
    "    reports show it), grouped by shape -- the root and the types along\n"
    "    the path, a run of one type counting once -- shortest first, each\n"
    "    group with its shortest path as an example; with --all, each object's\n"
    "    path instead of the groups.\n"
    "\n"
    "Options:\n"
    "  -t, --type TYPE            the objects of this type\n"
    "  -O, --object ADDR          the object at (or holding) this address\n"
    "  -a, --all                  every root's path (--object), every object's\n"
    "                             path (--type)\n"
    "  -n, --top N                paths to show (default 10; 0 shows all)\n"
    "      --steps N              steps of a chain shown (default 24, at least 8;\n"
    "                             0 every one): a longer one keeps its ends\n"
    "  -f, --format FORMAT        text (default), json or dot (Graphviz)\n"
    "  -o, --output FILE          write to FILE instead of stdout ('-': stdout); a\n"
    "                             regular FILE is replaced only when complete\n"
    "      --max-memory SIZE      stop with a message when the input would need\n"
    "                             more memory than SIZE (default: half of this\n"
    "                             machine's memory)\n" CLI_INDEX_HELP

    "  -b, --binary PROG          a Go heap dump's program (names, see\n"
    "                             maproot-analyze(1))\n" CLI_TRIM_PATH_HELP CLI_TIMINGS_HELP
    "  -h, --help                 this help\n"
    "\n"
    "Exit status: 0 success (also when no root reaches the objects), 2 bad usage\n"
    "or bad input. See maproot-path(1).\n";

/* An address: 0x-prefixed hex or decimal. */
static int parse_address(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-') return -1;
    *out = v;
    return 0;
}

enum { OPT_STEPS = CLI_OPT_LAST + 1 };

int cmd_path(int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'},
        {"object", required_argument, NULL, 'O'},
        {"all", no_argument, NULL, 'a'},
        {"top", required_argument, NULL, 'n'},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"max-memory", required_argument, NULL, 'M'},
        {"index", required_argument, NULL, CLI_OPT_INDEX},
        {"binary", required_argument, NULL, 'b'},
        {"trim-path", required_argument, NULL, CLI_OPT_TRIM_PATH},
        {"timings", no_argument, NULL, CLI_OPT_TIMINGS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *type = NULL, *object = NULL, *format = "text", *output = NULL, *binary = NULL;
    size_t top = 10, steps = MP_CHAIN_STEPS;
    bool all = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":t:O:an:f:o:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            type = optarg;
            break;
        case 'O':
            object = optarg;
            break;
        case 'a':
            all = true;
            break;
        case 'n':
            if (cli_parse_count("path", "--top", optarg, &top)) return CLI_EXIT_BAD;
            break;
        case OPT_STEPS:
            if (cli_parse_count("path", "--steps", optarg, &steps)) return CLI_EXIT_BAD;
            if (steps > 0 && steps < 8)
                return cli_usage("path", "--steps wants 0 or at least 8, not %zu", steps);
            break;
        case 'f':
            if (strcmp(optarg, "text") && strcmp(optarg, "json") && strcmp(optarg, "dot"))
                return cli_usage("path", "unknown --format \"%s\" (text, json or dot)", optarg);
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'M':
            if (cli_parse_memory("path", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_INDEX:
            if (cli_parse_index("path", optarg)) return CLI_EXIT_BAD;
            break;
        case 'b':
            binary = optarg;
            break;
        case CLI_OPT_TRIM_PATH:
            if (cli_set_trim_path("path", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_TIMINGS:
            mp_timing_enable(stderr);
            break;
        case 'h':
            fputs(path_help, stdout);
            return cli_finish(CLI_EXIT_OK);
        case ':':
            return cli_usage("path", "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("path", "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage("path", argc == optind ? "a snapshot or Go heap dump is needed"
                                                : "one file at a time");
    if (!type == !object) return cli_usage("path", "give one of --type TYPE and --object ADDR");
    uint64_t addr = 0;
    if (object && parse_address(object, &addr))
        return cli_usage("path", "--object wants an address (0x... or decimal), not \"%s\"",
                         object);
    const char *path = argv[optind];
    cli_input ci;
    if (cli_input_open(path, &ci)) return CLI_EXIT_BAD;
    if (!cli_input_is_graph(&ci)) {
        cli_input_close(&ci);
        return cli_usage("path", "%s is a %s: paths need a heap (a snapshot or Go heap dump)", path,
                         ci.kind->name);
    }
    if (binary && !ci.kind->go_dump) {
        cli_input_close(&ci);
        return cli_usage("path", "--binary names what a Go heap dump holds; %s is a %s", path,
                         ci.kind->name);
    }
    cli_binary = binary;
    double t0 = cli_now();
    mp_graph *g;
    if (cli_input_load_graph(&ci, &g)) return CLI_EXIT_BAD;
    int status = CLI_EXIT_BAD;
    mp_paths p = {0};
    mp_pathview v = {0};
    mf_error err;
    uint32_t o = MP_NONE;
    if (object && (o = mp_graph_find(g, addr)) == MP_NONE) {
        cli_fail("%s: no object at 0x%" PRIx64, path, addr);
        goto out;
    }
    if (mp_paths_compute(g, &p, &err) ||
        (object ? mp_pathview_object(g, &p, o, all, top, &v, &err)
                : mp_pathview_type(g, &p, type, all, top, &v, &err))) {
        cli_fail("%s", err.msg);
        goto out;
    }
    v.steps = steps ? steps : SIZE_MAX;
    mp_timing_mark("paths");
    cli_output co;
    FILE *f = cli_output_open(&co, output);
    if (!f) goto out;
    status = CLI_EXIT_OK;
    if (strcmp(format, "json") == 0) {
        json_t *root = mp_json_report("paths"), *j = mp_pathview_json(g, &p, &v);
        if (root) mp_view_json_header(root, g, p.reached_bytes, p.nreached);
        if (!root || !j || json_object_update(root, j) ||
            json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
            status = cli_output_failed(&co)
                         ? CLI_EXIT_BAD
                         : cli_fail("%s: out of memory writing the JSON report", path);
        else
            fputc('\n', f);
        json_decref(j);
        json_decref(root);
    } else if (strcmp(format, "dot") == 0) {
        mp_pathview_print_dot(f, g, &p, &v);
    } else {
        mp_view_header(f, g, p.reached_bytes, p.nreached, cli_now() - t0);
        mp_pathview_print_text(f, g, &p, &v);
    }
    status = cli_output_close(&co, status);
out:
    cli_report_done();
    cli_index_save(g, &p, NULL, NULL);
    mp_pathview_free(&v);
    mp_paths_free(&p);
    mp_graph_free(g);
    return cli_finish(status);
}
