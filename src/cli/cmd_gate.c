/*
 * src/cli/cmd_gate.c -- `maproot gate`: the CI leak gate. Judges a series of
 * root snapshots of one run, or runs a program with periodic snapshots and
 * judges those, by a policy (analyze/gate_policy.h, analyze/gate.h), and
 * reports as text, JSON, JUnit XML and GitHub annotations. Exit status 0
 * pass, 1 a violation, 2 an error (usage, policy, input, the program).
 */
#include "cli/cli.h"

#include "analyze/gate.h"
#include "analyze/gate_report.h"
#include "cli/input.h"
#include "format/gcstack_reader.h"
#include "format/names.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char gate_help[] =
    "usage: maproot gate [OPTIONS] SNAPSHOT...\n"
    "       maproot gate [OPTIONS] -- PROGRAM [ARGS...]\n"
    "\n"
    "A leak gate for CI: judges a series of root snapshots of one run (e.g. the\n"
    "NAME.NNNN.gcstack.gz files MAPROOT_PROFILE_EVERY writes; ordered by their GC\n"
    "cycle; two of one cycle are refused), or runs PROGRAM with a snapshot every\n"
    "--every GC cycles and judges those. Maps are followed from snapshot to\n"
    "snapshot as maproot diff matches them, and so are groups of many small\n"
    "maps (of one type under one holder, or one variable of several threads),\n"
    "each judged as one map. Rules (see\n"
    "maproot-gate(5) for the policy file):\n"
    "  growth   a map whose entries or retained bytes grew in at least k of its\n"
    "           last n intervals, and by more than a minimum (default k=3 of\n"
    "           n=4, 1000 entries or 1 MiB); a group likewise, its maps added\n"
    "           up less those that fail alone, or whose maps grew so in number\n"
    "           (default by 100 maps) with its bytes: a cache that fills and\n"
    "           then plateaus passes;\n"
    "  spread   the maps that each grow so but too little to fail alone, added\n"
    "           up: at least 2 maps and the growth rule's minimums together;\n"
    "  suspect  a map (or group) with evidence of a leak in its last snapshot (default:\n"
    "           emptied, iterator_only, old_buckets that make no progress,\n"
    "           pointer_keys, stack_frame);\n"
    "  heap     the reachable heap's growth over the run (off by default);\n"
    "  cap      absolute caps per map, per root, per object type (none by\n"
    "           default).\n"
    "Snapshots of GC cycles up to the policy's warmup are not judged.\n"
    "\n"
    "Options:\n"
    "  -p, --policy FILE          the policy (JSON); default ./maproot-gate.json\n"
    "                             when there is one, else the built-in rules\n"
    "  -B, --baseline FILE        fail only on what grew beyond this baseline\n"
    "      --write-baseline FILE  record this run's maps, groups, capped roots and types\n"
    "                             and heap growth as a baseline (the exit status\n"
    "                             is still this run's)\n"
    "  -f, --format text|json     report format (default text)\n"
    "  -o, --output FILE          write the report to FILE ('-': stdout); a\n"
    "                             regular FILE is replaced only when complete\n"
    "      --junit FILE           also write JUnit XML: a testcase per rule and\n"
    "                             map (root, type, heap)\n"
    "      --github               also print GitHub Actions annotations\n"
    "                             (::error file=...,line=...::) on stdout\n"
    "  -e, --every N              running PROGRAM: a snapshot every N GC cycles\n"
    "                             (default 1)\n"
    "  -d, --dir DIR              running PROGRAM: keep its snapshots in DIR\n"
    "                             (made if missing, and removed again when the\n"
    "                             run wrote nothing into it; default: a\n"
    "                             temporary directory, removed)\n"
    "  -b, --binary PROG          Go heap dumps: the program that wrote them\n"
    "      --max-memory SIZE      as for maproot analyze\n" CLI_INDEX_HELP CLI_TRIM_PATH_HELP
    "  -h, --help                 this help\n"
    "\n"
    "PROGRAM runs with MAPROOT_SNAPSHOT and MAPROOT_PROFILE_EVERY set (and\n"
    "MAPROOT_SNAPSHOT_FORK=0 unless set: every due snapshot is taken), its\n"
    "standard output sent to standard error; the snapshot it writes at exit is\n"
    "not judged (its frames are gone by then). A PROGRAM that exits non-zero or\n"
    "is killed is an error.\n"
    "Exit status: 0 the gate passes, 1 a leak or threshold was found (a\n"
    "violation), 2 bad usage, a bad policy or baseline, an unreadable snapshot,\n"
    "or a PROGRAM that failed. See maproot-gate(1).\n";

enum { OPT_WRITE_BASELINE = 1100, OPT_JUNIT, OPT_GITHUB };

/* ------------------------------------------------------ the snapshots --- */

typedef struct series_item {
    char *path;
    uint32_t cycle;
    bool cycle_known; /* from the header, before loading */
} series_item;

typedef struct header_peek {
    uint32_t cycle;
    uint64_t pid;
    char program[256];
} header_peek;

static int peek_header_cb(void *ud, const mf_gs_reader *r, const mf_gs_header *h, mf_error *err)
{
    (void)r;
    header_peek *hp = ud;
    hp->cycle = h->gc_cycle;
    hp->pid = h->pid;
    snprintf(hp->program, sizeof hp->program, "%s", h->program ? h->program : "");
    mf_error_set(err, "stop");
    return 1; /* the header is all that is needed: stop reading */
}

/* Tells the kind of each file, and for root snapshots their GC cycle, pid
 * and program (from the header alone), so that the series can be put in
 * cycle order and checked to be of one run before any is loaded. Two
 * snapshots of one run at one GC cycle are one moment given twice (a copy,
 * or a file named twice): judged as two, they would add an interval in
 * which nothing grew, and enough of those let a leak pass the growth rule,
 * so the series is refused. */
static int order_series(series_item *v, size_t n)
{
    const cli_kind *kind = NULL;
    header_peek first = {0};
    const char *first_path = NULL;
    for (size_t i = 0; i < n; i++) {
        cli_input ci;
        if (strcmp(v[i].path, "-") == 0)
            return cli_usage("gate", "snapshots are read twice (for their order): give files, "
                                     "not standard input");
        if (cli_input_open(v[i].path, &ci)) return CLI_EXIT_BAD;
        if (!cli_input_is_graph(&ci)) {
            cli_input_close(&ci);
            return cli_usage("gate",
                             "%s is a %s: the gate judges root snapshots (or Go heap dumps)",
                             v[i].path, ci.kind->name);
        }
        if (kind && ci.kind != kind) {
            cli_input_close(&ci);
            return cli_usage("gate", "%s is a %s but %s is a %s: one series is of one kind",
                             v[0].path, kind->name, v[i].path, ci.kind->name);
        }
        kind = ci.kind;
        if (cli_binary && !ci.kind->go_dump) {
            cli_input_close(&ci);
            return cli_usage("gate", "--binary is for Go heap dumps; %s is a %s", v[i].path,
                             ci.kind->name);
        }
        if (!ci.kind->go_dump) {
            header_peek hp = {0};
            mf_gs_callbacks cb = {.ud = &hp, .on_header = peek_header_cb};
            mf_error err;
            int rc = mf_gs_read_in(ci.in, &cb, NULL, &err);
            cli_input_close(&ci);
            if (rc && strcmp(err.msg, "stop") != 0) return cli_fail("%s", err.msg);
            v[i].cycle = hp.cycle;
            v[i].cycle_known = true;
            if (!first_path) {
                first = hp;
                first_path = v[i].path;
            } else if ((hp.pid && first.pid && hp.pid != first.pid) ||
                       strcmp(hp.program, first.program) != 0) {
                return cli_fail("%s (%s, pid %" PRIu64 ") and %s (%s, pid %" PRIu64
                                ") are snapshots of different runs: a gate judges the series of "
                                "one run",
                                first_path, first.program, first.pid, v[i].path, hp.program,
                                hp.pid);
            }
        } else {
            cli_input_close(&ci);
        }
    }
    /* a stable insertion sort by cycle: the series is short */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j].cycle_known && v[j - 1].cycle > v[j].cycle; j--) {
            series_item t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    for (size_t i = 1; i < n; i++)
        if (v[i].cycle_known && v[i - 1].cycle_known && v[i].cycle == v[i - 1].cycle)
            return cli_fail("%s and %s are both GC cycle %" PRIu32
                            " of one run: one moment given twice (a gate judges each "
                            "snapshot of a series once)",
                            v[i - 1].path, v[i].path, v[i].cycle);
    return 0;
}

/* Loads, analyses and adds each snapshot in turn (one in memory at a
 * time); a snapshot within the warm-up is counted without being loaded. */
static int judge_series(mp_gate *gt, series_item *v, size_t n)
{
    FILE *progress = cli_progress_stream();
    for (size_t i = 0; i < n; i++) {
        mf_error err;
        if (v[i].cycle_known && gt->policy->warmup && v[i].cycle <= gt->policy->warmup) {
            if (mp_gate_add(gt, v[i].path, v[i].cycle, NULL, &err)) return cli_fail("%s", err.msg);
            continue;
        }
        if (progress)
            fprintf(progress, "\rmaproot gate: snapshot %zu of %zu: %s\033[K", i + 1, n, v[i].path);
        cli_input ci;
        mp_graph *g;
        if (cli_input_open(v[i].path, &ci) || cli_input_load_graph(&ci, &g)) return CLI_EXIT_BAD;
        mp_snapshot_analysis a;
        memset(&a, 0, sizeof a);
        /* every group of maps: one is followed from when it is small */
        const mp_findings_options fo = {.all_groups = true};
        if (mp_snapshot_analyze_graph(g, &fo, &a, &err)) return cli_fail("%s", err.msg);
        int rc = mp_gate_add(gt, v[i].path, a.g->info.gc_cycle, &a, &err);
        cli_index_save(g, &a.p, &a.d, &a.f);
        mp_snapshot_analysis_free(&a);
        if (rc) return cli_fail("%s", err.msg);
    }
    if (progress) fputs("\r\033[K", progress);
    return 0;
}

/* ------------------------------------------------------- running one --- */

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0) kill((pid_t)child_pid, sig);
}

/* The periodic snapshots of NAME in dir: NAME.NNNN.gcstack.gz, by cycle. */
static int list_periodic(const char *dir, const char *name, series_item **out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) return cli_fail("cannot read %s: %s", dir, strerror(errno));
    size_t cap = 0, nl = strlen(name);
    *out = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *f = e->d_name, *p = f + nl;
        if (strncmp(f, name, nl) != 0 || *p != '.') continue;
        char *end;
        errno = 0;
        unsigned long cycle = strtoul(p + 1, &end, 10);
        if (end == p + 1 || errno || strcmp(end, ".gcstack.gz") != 0 || cycle > UINT32_MAX ||
            p[1] < '0' || p[1] > '9')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            series_item *nv = realloc(*out, cap * sizeof *nv);
            if (!nv) break;
            *out = nv;
        }
        series_item *it = &(*out)[*n];
        size_t len = strlen(dir) + strlen(f) + 2;
        if (!(it->path = malloc(len))) break;
        snprintf(it->path, len, "%s/%s", dir, f);
        it->cycle = (uint32_t)cycle;
        it->cycle_known = true;
        (*n)++;
    }
    closedir(d);
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && (*out)[j - 1].cycle > (*out)[j].cycle; j--) {
            series_item t = (*out)[j];
            (*out)[j] = (*out)[j - 1];
            (*out)[j - 1] = t;
        }
    return 0;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static const char *signal_name(int sig)
{
    const char *s = strsignal(sig);
    return s ? s : "?";
}

/*
 * Runs argv with its snapshots in dir (NAME.gcstack.gz, NAME.NNNN...),
 * standard output to our standard error; waits for it. 0 when it exited
 * 0, else CLI_EXIT_BAD after saying how it ended.
 */
static int run_program(char **argv, const char *dir, const char *name, size_t every)
{
    char snap[4096], ev[32];
    snprintf(snap, sizeof snap, "%s/%s.gcstack.gz", dir, name);
    snprintf(ev, sizeof ev, "%zu", every);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) return cli_fail("cannot run %s: %s", argv[0], strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return cli_fail("cannot run %s: fork: %s", argv[0], strerror(errno));
    }
    if (pid == 0) {
        close(pfd[0]);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        setenv("MAPROOT_SNAPSHOT", snap, 1);
        setenv("MAPROOT_PROFILE_EVERY", ev, 1);
        setenv("MAPROOT_SNAPSHOT_FORK", "0", 0);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(pfd[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(pfd[1]);
    child_pid = pid;
    struct sigaction sa = {0}, old_int, old_quit, old_term, old_hup;
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    /* Ctrl-C reaches the program too (same process group): the gate waits
     * for it to end and cleans up */
    struct sigaction ign = {0};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    int e = 0;
    ssize_t r;
    while ((r = read(pfd[0], &e, sizeof e)) < 0 && errno == EINTR) {
    }
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    child_pid = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    if (r == (ssize_t)sizeof e) return cli_fail("cannot run %s: %s", argv[0], strerror(e));
    if (WIFSIGNALED(st))
        return cli_fail("%s was killed by signal %d (%s): its snapshots are not judged", argv[0],
                        WTERMSIG(st), signal_name(WTERMSIG(st)));
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        return cli_fail(
            "%s exited with status %d: its snapshots are judged only after a clean exit", argv[0],
            WEXITSTATUS(st));
    return 0;
}

/* The directory the program's snapshots go to: --dir (created, and
 * without snapshots of NAME from before; *made: what cli_make_dirs made of
 * it), or a new temporary one. */
static int snapshot_dir(const char *want, const char *name, char *out, size_t size, bool *temp,
                        size_t *made)
{
    *temp = !want;
    *made = 0;
    if (!want) {
        const char *t = getenv("TMPDIR");
        snprintf(out, size, "%s/maproot-gate.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(out)) return cli_fail("cannot make a directory %s: %s", out, strerror(errno));
        return 0;
    }
    snprintf(out, size, "%s", want);
    int err = cli_make_dirs(out, made);
    if (err) return cli_fail("cannot make the directory %s: %s", out, strerror(err));
    series_item *v;
    size_t n;
    if (list_periodic(out, name, &v, &n)) return CLI_EXIT_BAD;
    int rc = 0;
    if (n)
        rc = cli_usage("gate",
                       "%s already holds snapshots of %s (%s): empty it or choose another "
                       "--dir",
                       out, name, v[0].path);
    for (size_t i = 0; i < n; i++) free(v[i].path);
    free(v);
    return rc;
}

/* ------------------------------------------------------------ outputs --- */

static int write_json_file(const char *path, json_t *j, const char *what)
{
    cli_output co;
    FILE *f = cli_output_open(&co, path);
    if (!f) return CLI_EXIT_BAD;
    int status = CLI_EXIT_OK;
    if (!j || json_dumpf(j, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        status = cli_output_failed(&co) ? CLI_EXIT_BAD
                                        : cli_fail("%s: out of memory writing the %s", path, what);
    } else {
        fputc('\n', f);
    }
    return cli_output_close(&co, status);
}

static int write_junit(const char *path, const mp_gate *gt)
{
    cli_output co;
    FILE *f = cli_output_open(&co, path);
    if (!f) return CLI_EXIT_BAD;
    int status = CLI_EXIT_OK;
    if (mp_gate_print_junit(f, gt))
        status = cli_output_failed(&co) ? CLI_EXIT_BAD
                                        : cli_fail("%s: out of memory writing JUnit XML", path);
    return cli_output_close(&co, status);
}

typedef struct gate_opts {
    const char *policy, *baseline, *write_baseline, *output, *junit, *dir;
    cli_format format;
    bool github;
    size_t every;
} gate_opts;

static int report(const mp_gate *gt, const gate_opts *o)
{
    int verdict = mp_gate_exit_status(gt);
    if (o->junit && write_junit(o->junit, gt)) return CLI_EXIT_BAD;
    if (o->write_baseline) {
        json_t *b = mp_gate_baseline_json(gt);
        int rc = write_json_file(o->write_baseline, b, "baseline");
        json_decref(b);
        if (rc) return CLI_EXIT_BAD;
    }
    if (o->github && (mp_gate_print_github(stdout, gt) || fflush(stdout) != 0))
        return cli_fail("out of memory, or standard output failed, printing annotations");
    cli_output co;
    FILE *out = cli_output_open(&co, o->output);
    if (!out) return CLI_EXIT_BAD;
    int status = CLI_EXIT_OK;
    if (o->format == CLI_FORMAT_JSON) {
        json_t *j = mp_gate_json(gt);
        if (!j || json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
            status = cli_output_failed(&co) ? CLI_EXIT_BAD
                                            : cli_fail("out of memory writing the JSON report");
        else
            fputc('\n', out);
        json_decref(j);
    } else {
        mp_gate_print_text(out, gt);
        fprintf(out, "exit %d", verdict);
        if (o->junit) fprintf(out, "; JUnit: %s", o->junit);
        if (o->write_baseline) fprintf(out, "; baseline written: %s", o->write_baseline);
        fputc('\n', out);
    }
    status = cli_output_close(&co, status);
    return status != CLI_EXIT_OK ? status : verdict;
}

/* --every N: GC cycles from 1, one message for whatever it refuses (a word,
 * zero, a sign, too many). */
static int parse_every(const char *arg, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (!*arg || *end || errno || arg[0] == '-' || v == 0 || v > UINT32_MAX)
        return cli_usage("gate", "--every wants a number of GC cycles from 1, not \"%s\"", arg);
    *out = (size_t)v;
    return 0;
}

/* ---------------------------------------------------------------- main --- */

int cmd_gate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'},
        {"baseline", required_argument, NULL, 'B'},
        {"write-baseline", required_argument, NULL, OPT_WRITE_BASELINE},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"junit", required_argument, NULL, OPT_JUNIT},
        {"github", no_argument, NULL, OPT_GITHUB},
        {"every", required_argument, NULL, 'e'},
        {"dir", required_argument, NULL, 'd'},
        {"binary", required_argument, NULL, 'b'},
        {"max-memory", required_argument, NULL, 'M'},
        {"index", required_argument, NULL, CLI_OPT_INDEX},
        {"trim-path", required_argument, NULL, CLI_OPT_TRIM_PATH},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    gate_opts o = {.format = CLI_FORMAT_TEXT, .every = 1};
    int c;
    optind = 1;
    opterr = 0;
    /* with "--", what follows is the program and its arguments: the gate's
     * options are those before it */
    int dd = 1;
    while (dd < argc && strcmp(argv[dd], "--") != 0) dd++;
    bool run = dd < argc;
    while ((c = getopt_long(dd, argv, ":p:B:f:o:e:d:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o.policy = optarg;
            break;
        case 'B':
            o.baseline = optarg;
            break;
        case OPT_WRITE_BASELINE:
            o.write_baseline = optarg;
            break;
        case 'f':
            if (cli_parse_format("gate", optarg, &o.format)) return CLI_EXIT_BAD;
            break;
        case 'o':
            o.output = optarg;
            break;
        case OPT_JUNIT:
            o.junit = optarg;
            break;
        case OPT_GITHUB:
            o.github = true;
            break;
        case 'e':
            if (parse_every(optarg, &o.every)) return CLI_EXIT_BAD;
            break;
        case 'd':
            o.dir = optarg;
            break;
        case 'b':
            cli_binary = optarg;
            break;
        case 'M':
            if (cli_parse_memory("gate", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_INDEX:
            if (cli_parse_index("gate", optarg)) return CLI_EXIT_BAD;
            break;
        case CLI_OPT_TRIM_PATH:
            if (cli_set_trim_path("gate", optarg)) return CLI_EXIT_BAD;
            break;
        case 'h':
            fputs(gate_help, stdout);
            return cli_finish(CLI_EXIT_OK);
        case ':':
            return cli_usage("gate", "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("gate", "unknown option %s", argv[optind - 1]);
        }
    }
    if (run && optind < dd)
        return cli_usage("gate", "give snapshots or -- PROGRAM, not both (%s)", argv[optind]);
    if (run ? dd + 1 >= argc : optind >= argc)
        return cli_usage("gate", run ? "a program to run is needed after --"
                                     : "snapshots to judge, or -- PROGRAM, are needed");
    if (!run && o.dir)
        return cli_usage("gate", "--dir is for a program the gate runs (-- PROGRAM)");
    if (run && cli_binary) return cli_usage("gate", "--binary is for Go heap dumps");
    if (o.github && o.format == CLI_FORMAT_JSON && (!o.output || strcmp(o.output, "-") == 0))
        return cli_usage("gate",
                         "--github prints to standard output: with --format json, write the "
                         "report elsewhere (-o FILE)");

    /* the policy: given, or ./maproot-gate.json, or the defaults */
    mp_gate_policy policy;
    mf_error err;
    struct stat st;
    const char *pf = o.policy                              ? o.policy
                     : stat("maproot-gate.json", &st) == 0 ? "maproot-gate.json"
                                                           : NULL;
    if (pf) {
        if (mp_gate_policy_read(pf, &policy, &err)) return cli_fail("%s", err.msg);
    } else {
        mp_gate_policy_default(&policy);
    }
    mp_gate_baseline base = {0};
    if (o.baseline && mp_gate_baseline_read(o.baseline, &base, &err)) {
        mp_gate_policy_free(&policy);
        return cli_fail("%s", err.msg);
    }

    int status = CLI_EXIT_BAD;
    series_item *v = NULL;
    size_t n = 0;
    char dir[4096] = "";
    bool temp = false;
    size_t made = 0; /* of --dir: what this run made (cli_make_dirs) */
    mp_gate gt;
    mp_gate_init(&gt, &policy);
    if (run) {
        char **prog = argv + dd + 1;
        const char *name = mf_path_base(prog[0]);
        if (!*name) {
            cli_usage("gate", "%s names no program", prog[0]);
            goto out;
        }
        if (snapshot_dir(o.dir, name, dir, sizeof dir, &temp, &made)) goto out;
        if (run_program(prog, dir, name, o.every)) goto out;
        if (list_periodic(dir, name, &v, &n)) goto out;
        if (n == 0) {
            cli_fail("%s wrote no periodic snapshot (MAPROOT_PROFILE_EVERY=%zu): is it linked "
                     "with libmaproot, and did it run %zu GC cycle%s?",
                     prog[0], o.every, o.every, o.every == 1 ? "" : "s");
            goto out;
        }
    } else {
        n = (size_t)(argc - optind);
        if (!(v = calloc(n, sizeof *v))) {
            cli_fail("out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (!(v[i].path = strdup(argv[optind + (int)i]))) {
                n = i;
                cli_fail("out of memory");
                goto out;
            }
        }
        if (order_series(v, n)) goto out;
    }
    if (judge_series(&gt, v, n)) goto out;
    if (mp_gate_judge(&gt, o.baseline ? &base : NULL, &err)) {
        cli_fail("%s", err.msg);
        goto out;
    }
    status = report(&gt, &o);
out:
    mp_gate_free(&gt);
    for (size_t i = 0; v && i < n; i++) free(v[i].path);
    free(v);
    if (temp && *dir) remove_tree(dir);
    /* the directories of --dir this run made and nothing was written
     * into (the program did not start, or wrote no snapshot) go again */
    if (made) cli_remove_made_dirs(o.dir, made);
    mp_gate_baseline_free(&base);
    mp_gate_policy_free(&policy);
    return cli_finish(status);
}
