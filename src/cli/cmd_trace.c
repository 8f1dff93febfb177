/*
 * src/cli/cmd_trace.c -- `maproot trace`: attach to a running program
 * (--pid) or start one (-- PROG), watch its collections and its maps grow
 * live, with the roots that hold them, and detach leaving it as it was.
 *
 * The program's agent (src/collector/agent.c) sends an event per
 * collection and, once per interval, a census of the maps that changed;
 * the roots come from a root snapshot taken when maproot attaches (and
 * again on request, or when a map made since then grows), analysed on a
 * thread of its own (trace_roots.h) while the view goes on. Snapshots and
 * profiles are written by the program into files this process opens and
 * passes over the socket; this process names them (outfile.h: a file
 * appears only complete).
 *
 * The loop: poll() on the connection, a self-pipe for signals, the
 * analysis thread's pipe and (on a terminal) the keyboard, waking at each
 * interval to show the view. Detaching (Ctrl-C, q, --duration, the
 * program's end) takes the last snapshot and profile with -o, says Detach,
 * and writes the timeline.
 */
#include "analyze/display_path.h"
#include "cli/attach.h"
#include "cli/cli.h"
#include "cli/trace_prog.h"
#include "cli/trace_roots.h"
#include "cli/trace_timeline.h"
#include "cli/trace_view.h"
#include "format/names.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char trace_help[] =
    "usage: maproot trace --pid PID [OPTIONS]\n"
    "       maproot trace [OPTIONS] -- PROG [ARGS...]\n"
    "\n"
    "Attach to a running program that links maproot's collector and watch its\n"
    "maps grow, live: heap and collections, then the maps ranked by growth since\n"
    "attaching, with the root that retains each, its entries, growth per second,\n"
    "retained bytes and where it last grew. On a terminal the view is redrawn\n"
    "every interval; piped, or with --format json, one record per interval.\n"
    "Ctrl-C, q or the duration detach; the program goes on untouched. With\n"
    "'-- PROG' maproot starts the program (preloading the collector if it does\n"
    "not link it) and traces it from its first collection.\n"
    "\n"
    "Options:\n"
    "  -p, --pid PID              the process to attach to (see maproot ps)\n"
    "  -i, --interval TIME        how often the view is shown and the maps are\n"
    "                             counted (default 5s; e.g. 500ms, 2s, 1m)\n"
    "  -d, --duration TIME        detach after TIME (default: at Ctrl-C, q, or\n"
    "                             when the program ends)\n"
    "  -n, --top N                maps shown (default 10; 0 shows every map that\n"
    "                             grew)\n"
    "  -o, --output DIR|FILE      keep files: DIR/first.gcstack.gz, first.pb.gz\n"
    "                             (at attach), last.gcstack.gz, last.pb.gz (at\n"
    "                             detach) and trace.json (a timeline for Perfetto\n"
    "                             or chrome://tracing); with --once, FILE is the\n"
    "                             snapshot and the profile goes beside it\n"
    "  -f, --format text|json     output format (default text)\n"
    "      --once                 one snapshot and profile of the next collection\n"
    "                             into -o FILE, then detach\n"
    "      --force-gc             collect now for the snapshots instead of waiting\n"
    "                             for the program's next collection\n"
    "      --profile-rate SIZE    sample one allocation per SIZE bytes while\n"
    "                             attached (e.g. 4K; 0 stops sampling), from the\n"
    "                             program's next collection; its own rate comes\n"
    "                             back when maproot detaches\n"
    "  -h, --help                 this help\n"
    "\n"
    "Exit status: 0 success (also when the program ends during the trace), 2 bad\n"
    "usage, no such process or one without the collector, a failed --once, or\n"
    "with -o DIR a pair the program could not write or none from a program that\n"
    "ran on; with -- PROG, the program's own status. See maproot-trace(1).\n";

/* ------------------------------------------------------------ options --- */

typedef struct trace_opts {
    pid_t pid;
    uint32_t interval_ms;
    uint64_t duration_ms; /* 0: none */
    size_t top;
    const char *output;
    cli_format format;
    bool once, force_gc;
    bool set_rate;         /* --profile-rate given */
    uint64_t profile_rate; /* bytes between samples while attached */
    char **prog;           /* -- PROG ARGS..., NULL-terminated */
} trace_opts;

/* "500ms", "5s", "2m", "1h", "1.5s", "5" (seconds) -> milliseconds. */
static int parse_time(const char *opt, const char *arg, uint64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    double unit = 1000;
    if (strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "s") == 0 || !*end)
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else
        end = NULL;
    if (!end || errno || end == arg || !(v > 0) || v * unit > 1e15)
        return cli_usage("trace", "%s wants a time such as 500ms, 5s or 2m, not \"%s\"", opt, arg);
    *ms = (uint64_t)(v * unit + 0.5);
    if (*ms == 0) *ms = 1;
    return 0;
}

/* ---------------------------------------------------------- the clock --- */

static int64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ signals --- */

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int e = errno;
    unsigned char s = (unsigned char)sig;
    if (write(sig_pipe[1], &s, 1) < 0) errno = e;
    errno = e;
}

static int catch_signals(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* The keyboard of the live view: no line buffering, no echo (Ctrl-C still
 * signals). Restored by keys_off. */
static struct termios saved_tty;
static bool tty_raw;

static void keys_on(void)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) return;
    t = saved_tty;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0) tty_raw = true;
}

static void keys_off(void)
{
    if (tty_raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    tty_raw = false;
}

/* ---------------------------------------------------------- snapshots --- */

typedef enum pair_role { ROLE_FIRST, ROLE_LAST, ROLE_ROOTS, ROLE_ONCE } pair_role;

/* A snapshot (and profile) the program is asked to write. */
typedef struct pair {
    bool active;
    pair_role role;
    uint64_t req;
    mf_out *snap, *prof; /* named files (-o), committed when done */
    int tmp_fd;          /* ROLE_ROOTS: an unnamed file for the analysis */
    char snap_path[4096], prof_path[4096];
} pair;

typedef struct session {
    trace_opts o;
    cli_attach a;
    trace_view v;
    trace_roots tr;
    int roots_pipe[2];
    int roots_fd; /* the unnamed file being analysed, -1 none */
    pair job;
    bool connected, ended, detaching, want_last;
    int last_state; /* the last pair (-o): 0 not asked, 1 asked, 2 done, failed or skipped */
    bool tty, keys;
    int64_t last_deadline; /* mono ms by which the last pair must come */
    int64_t last_roots_ms; /* when roots were last asked for */
    const char *end_reason;
    char note[300];
    char failed[5100]; /* why a pair of -o could not be written, "" if none failed */
    char files[4][4200];
    size_t nfiles;
    pid_t child; /* -- PROG */
    bool child_done;
    int child_status;
} session;

static void note(session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->note, sizeof s->note, fmt, ap);
    va_end(ap);
}

/* An unnamed temporary file for a snapshot that is only analysed. */
static int temp_file(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || dir[0] != '/') dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    char path[4096];
    snprintf(path, sizeof path, "%s/maproot-trace-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0) unlink(path);
    return fd;
}

static void pair_abort(pair *p)
{
    mf_out_abort(p->snap);
    mf_out_abort(p->prof);
    p->snap = p->prof = NULL;
    if (p->tmp_fd >= 0) close(p->tmp_fd);
    p->tmp_fd = -1;
    p->active = false;
}

/* The profile that goes beside a snapshot file: NAME.gcstack.gz ->
 * NAME.pb.gz; NAME.pb.gz is the profile and NAME.gcstack.gz the snapshot;
 * any other NAME gets both extensions. */
static void once_paths(const char *out, char *snap, char *prof, size_t cap)
{
    size_t n = strlen(out);
    if (n > 11 && strcmp(out + n - 11, ".gcstack.gz") == 0) {
        snprintf(snap, cap, "%s", out);
        snprintf(prof, cap, "%.*s.pb.gz", (int)(n - 11), out);
    } else if (n > 6 && strcmp(out + n - 6, ".pb.gz") == 0) {
        snprintf(prof, cap, "%s", out);
        snprintf(snap, cap, "%.*s.gcstack.gz", (int)(n - 6), out);
    } else {
        snprintf(snap, cap, "%s.gcstack.gz", out);
        snprintf(prof, cap, "%s.pb.gz", out);
    }
}

/* Asks the program for a snapshot in role `role`. 0, or -1 with a note
 * (the trace goes on) or, for the files of -o, an error printed. */
static int ask_snapshot(session *s, pair_role role, bool force)
{
    pair *p = &s->job;
    memset(p, 0, sizeof *p);
    p->role = role;
    p->tmp_fd = -1;
    mf_error err;
    int fds[2];
    size_t nfds;
    if (role == ROLE_ROOTS) {
        if ((p->tmp_fd = temp_file()) < 0) {
            note(s, "cannot make a temporary file for a snapshot: %s", strerror(errno));
            return -1;
        }
        fds[0] = p->tmp_fd;
        nfds = 1;
    } else {
        if (role == ROLE_ONCE) {
            once_paths(s->o.output, p->snap_path, p->prof_path, sizeof p->snap_path);
        } else {
            const char *name = role == ROLE_FIRST ? "first" : "last";
            snprintf(p->snap_path, sizeof p->snap_path, "%s/%s.gcstack.gz", s->o.output, name);
            snprintf(p->prof_path, sizeof p->prof_path, "%s/%s.pb.gz", s->o.output, name);
        }
        if (!(p->snap = mf_out_open(p->snap_path, &err)) ||
            !(p->prof = mf_out_open(p->prof_path, &err))) {
            pair_abort(p);
            cli_fail("%s", err.msg);
            return -1;
        }
        fds[0] = mf_out_fd(p->snap);
        fds[1] = mf_out_fd(p->prof);
        if (fds[0] < 0 || fds[1] < 0) {
            pair_abort(p);
            cli_fail("%s: maproot trace writes regular files (not a FIFO or a device)",
                     fds[0] < 0 ? p->snap_path : p->prof_path);
            return -1;
        }
        nfds = 2;
    }
    mf_at_frame f = {.kind = MF_AT_SNAPSHOT,
                     .snapshot = {.force_gc = force, .snapshot = true, .profile = nfds == 2}};
    char msg[600];
    p->req = cli_at_send(&s->a, &f, fds, nfds, msg, sizeof msg);
    if (!p->req) {
        pair_abort(p);
        note(s, "%s", msg);
        return -1;
    }
    p->active = true;
    if (role == ROLE_ROOTS || role == ROLE_FIRST) s->last_roots_ms = mono_ms();
    if (role != ROLE_LAST && role != ROLE_ONCE)
        s->v.roots_state = force ? "taking a snapshot now"
                                 : "waiting for the program's next "
                                   "collection to take a snapshot";
    return 0;
}

/* Starts the analysis of a finished snapshot for the roots. */
static void analyse_roots(session *s, const char *path, int fd)
{
    if (s->tr.running) {
        if (fd >= 0) close(fd);
        return;
    }
    if (trace_roots_start(&s->tr, path, s->roots_pipe[1]) != 0) {
        note(s, "%s", s->tr.msg);
        if (fd >= 0) close(fd);
        return;
    }
    s->roots_fd = fd;
    s->v.roots_state = "analysing the snapshot";
}

/* The program refused or failed the job in flight (why: msg). A pair of
 * -o DIR that failed is an error, said at once on stderr (the view goes
 * on) and again at the end; it makes the exit status 2. */
static void pair_failed(session *s, const char *what, const char *msg)
{
    pair *p = &s->job;
    note(s, "the program %s the snapshot: %s", what, msg);
    if (p->role == ROLE_FIRST || p->role == ROLE_LAST) {
        snprintf(s->failed, sizeof s->failed, "%.20s %.4000s: %.1000s", what, p->snap_path, msg);
        fprintf(stderr, "maproot: trace: %s (pid %ld) %s %s: %s\n", mf_path_base(s->v.program),
                (long)s->o.pid, what, p->snap_path, msg);
    }
    pair_role role = p->role;
    /* the maps' roots came from it: the view says they will not come */
    if (role == ROLE_FIRST || role == ROLE_ROOTS) s->v.roots_failed = true;
    pair_abort(p);
    if (role == ROLE_ONCE || role == ROLE_LAST) s->last_state = 2;
    s->v.roots_state = "";
}

/* A SnapshotDone for the job in flight. */
static void snapshot_done(session *s, const mf_at_done *d)
{
    pair *p = &s->job;
    p->active = false;
    if (!d->ok) {
        pair_failed(s, "could not write", d->message);
        return;
    }
    mf_error err;
    if (p->snap || p->prof) {
        int rs = mf_out_commit(p->snap, &err);
        p->snap = NULL;
        if (rs == 0 && s->nfiles < 4)
            snprintf(s->files[s->nfiles++], sizeof s->files[0], "%s", p->snap_path);
        if (rs) cli_fail("%s", err.msg);
        int rp = mf_out_commit(p->prof, &err);
        p->prof = NULL;
        if (rp == 0 && s->nfiles < 4)
            snprintf(s->files[s->nfiles++], sizeof s->files[0], "%s", p->prof_path);
        if (rp) cli_fail("%s", err.msg);
        if (p->role == ROLE_FIRST && rs == 0) analyse_roots(s, p->snap_path, -1);
    }
    if (p->role == ROLE_ROOTS) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", p->tmp_fd);
        int fd = p->tmp_fd;
        p->tmp_fd = -1;
        analyse_roots(s, path, fd);
    }
    if (p->role == ROLE_LAST || p->role == ROLE_ONCE) s->last_state = 2;
}

/* The analysis thread is done: its roots become the view's. */
static void roots_done(session *s)
{
    char c;
    while (read(s->roots_pipe[0], &c, 1) > 0) {
    }
    tv_root *roots;
    size_t n;
    uint32_t cycle;
    if (trace_roots_finish(&s->tr, &roots, &n, &cycle) == 0) {
        tv_set_roots(&s->v, roots, n, cycle);
        s->v.roots_state = "";
    } else {
        note(s, "cannot analyse the snapshot: %s", s->tr.msg);
        s->v.roots_state = "";
    }
    if (s->roots_fd >= 0) close(s->roots_fd);
    s->roots_fd = -1;
}

/* ------------------------------------------------------------ showing --- */

static tv_render render_of(const session *s)
{
    tv_render r = {.now_ns = real_ns(),
                   .interval_ms = s->o.interval_ms,
                   .top = s->o.top,
                   .keys = s->keys && !s->detaching,
                   .out_dir = s->o.output,
                   .note = s->note[0] ? s->note : NULL};
    return r;
}

static void print_record(json_t *rec)
{
    if (!rec) return;
    json_dumpf(rec, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(rec);
}

/* Shows the view: redrawn on a terminal, appended when piped, a record in
 * JSON. */
static void show(session *s)
{
    tv_render r = render_of(s);
    if (s->o.format == CLI_FORMAT_JSON) {
        print_record(tv_record_json(&s->v, &r, "interval"));
        return;
    }
    if (s->tty) fputs("\033[H\033[2J", stdout);
    tv_print_text(stdout, &s->v, &r);
    if (!s->tty) fputc('\n', stdout);
    fflush(stdout);
}

/* --------------------------------------------------------- the events --- */

/* Handles one frame from the agent. */
static void on_frame(session *s, const mf_at_frame *f)
{
    switch (f->kind) {
    case MF_AT_CYCLE:
        if (tv_on_cycle(&s->v, &f->cycle)) note(s, "out of memory: the view misses events");
        break;
    case MF_AT_REPLY:
        if (!f->reply.ok && s->job.active && f->request_id == s->job.req) {
            pair_failed(s, "refused to write", f->reply.message);
        } else if (!f->reply.ok) {
            note(s, "the program refused a request: %s", f->reply.message);
        }
        break;
    case MF_AT_SNAPSHOT_DONE:
        if (s->job.active && f->request_id == s->job.req) snapshot_done(s, &f->done);
        break;
    case MF_AT_GOODBYE:
        s->ended = true;
        s->end_reason = "exited";
        break;
    default:
        break;
    }
}

/* Reads every frame that has come. */
static void drain(session *s)
{
    for (;;) {
        mf_at_frame f;
        bool eof;
        char msg[600];
        int r = cli_at_next(&s->a, &f, 0, &eof, msg, sizeof msg);
        if (r == 0) return;
        if (r < 0) {
            if (!eof) note(s, "%s", msg);
            s->ended = true;
            if (!s->end_reason) s->end_reason = eof ? "exited" : "lost";
            return;
        }
        on_frame(s, &f);
        mf_at_frame_free(&f);
    }
}

/* When the program ended, was it the child we started? Reap it. */
static void reap_child(session *s)
{
    if (s->child <= 0 || s->child_done) return;
    int st;
    pid_t r = waitpid(s->child, &st, WNOHANG);
    if (r == s->child) {
        s->child_done = true;
        s->child_status = st;
    }
}

/* How long detaching waits for a snapshot: two intervals, at least a
 * minute. A pair is a fork and two files written by the program; on a
 * loaded machine that takes tens of seconds, and the program itself stops
 * a writer that makes no progress (MAPROOT_WRITER_STALL) and says so, so
 * the wait only bounds a program that does not collect. */
static int64_t detach_wait_ms(const session *s)
{
    int64_t wait_ms = 2 * (int64_t)s->o.interval_ms;
    return wait_ms < 60000 ? 60000 : wait_ms;
}

/* Starts detaching: with -o the last pair is asked for first. The wait
 * counts from now for a snapshot still in flight (the first pair), and
 * again from the request of the last pair, so that a slow first pair does
 * not eat the last one's time. */
static void begin_detach(session *s, const char *reason)
{
    if (s->detaching) return;
    s->detaching = true;
    if (!s->end_reason) s->end_reason = reason;
    s->want_last = s->o.output && !s->ended;
    s->last_deadline = mono_ms() + detach_wait_ms(s);
}

/* --------------------------------------------------------------- run --- */

static int open_session(session *s)
{
    char msg[1024];
    cli_endpoint e;
    int64_t give_up = mono_ms() + 30000; /* a loaded machine starts programs slowly */
    for (;;) {
        if (cli_at_find(s->o.pid, &e, msg, sizeof msg) == 0) break;
        /* a program we started: its collector opens the endpoint soon */
        reap_child(s);
        if (s->child <= 0 || s->child_done || mono_ms() > give_up) {
            if (s->child > 0 && s->child_done)
                return cli_fail("%s ended before its collector opened an endpoint", s->o.prog[0]);
            return cli_fail("%s", msg);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* the welcome is quick, but the program's agent may be writing a
     * snapshot in place for another client first (the fork guard), which
     * on a loaded machine, in a sanitizer build, takes tens of seconds */
    if (cli_at_connect(&s->a, &e, "maproot trace", 120000, msg, sizeof msg))
        return cli_fail("%s", msg);
    s->connected = true;
    if (tv_init(&s->v, &s->a.welcome.welcome, real_ns())) return cli_fail("out of memory");
    if (s->o.set_rate) {
        /* the agent answers with a Reply; a refusal becomes a note */
        mf_at_frame rate = {.kind = MF_AT_SET_PROFILE_RATE, .profile_rate = s->o.profile_rate};
        if (!cli_at_send(&s->a, &rate, NULL, 0, msg, sizeof msg)) return cli_fail("%s", msg);
    }
    return 0;
}

/* --once: one snapshot and profile, then detach. */
static int run_once(session *s)
{
    if (ask_snapshot(s, ROLE_ONCE, s->o.force_gc)) return CLI_EXIT_BAD;
    int64_t start = mono_ms();
    bool told = false;
    FILE *progress = cli_progress_stream();
    while (s->job.active && !s->ended) {
        struct pollfd pf[2] = {{s->a.fd, POLLIN, 0}, {sig_pipe[0], POLLIN, 0}};
        poll(pf, 2, 500);
        if (pf[1].revents) {
            unsigned char c;
            bool stop = false;
            while (read(sig_pipe[0], &c, 1) == 1) stop |= c != SIGCHLD;
            if (stop) break;
        }
        drain(s);
        int64_t waited = mono_ms() - start;
        if (!told && waited > 1000 && progress) {
            fprintf(progress,
                    "maproot: waiting for the next collection of %s (pid %ld); --force-gc "
                    "collects now\n",
                    mf_path_base(s->v.program), (long)s->o.pid);
            told = true;
        }
        if (s->o.duration_ms && (uint64_t)waited >= s->o.duration_ms) break;
    }
    if (s->job.active) {
        pair_abort(&s->job);
        return cli_fail("%s (pid %ld): %s; nothing was written", mf_path_base(s->v.program),
                        (long)s->o.pid,
                        s->ended ? "the program ended before it collected"
                                 : "no collection came before maproot stopped waiting");
    }
    if (s->nfiles < 2) return cli_fail("%s", s->note[0] ? s->note : "the snapshot failed");
    if (s->o.format == CLI_FORMAT_JSON) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:[s, s]}", "event", "once", "program",
                              s->v.program, "pid", (json_int_t)s->o.pid, "cycle",
                              (json_int_t)s->v.cycle, "files", s->files[0], s->files[1]);
        print_record(o);
    } else {
        printf("maproot trace: %s (pid %ld): wrote %s and %s\n", mf_path_base(s->v.program),
               (long)s->o.pid, s->files[0], s->files[1]);
    }
    return CLI_EXIT_OK;
}

/* The live trace, until detached or the program ends. */
static int run_live(session *s)
{
    char msg[600];
    /* a census at least twice per interval, so that each view has a fresh
     * one; map records enough for the top maps and the changes behind them */
    size_t maps = s->o.top * 4 < 64 ? 64 : s->o.top * 4 > 1024 ? 1024 : s->o.top * 4;
    uint32_t census_ms = s->o.interval_ms / 2;
    mf_at_frame sub = {.kind = MF_AT_SUBSCRIBE, .subscribe = {census_ms, (uint32_t)maps}};
    if (!cli_at_send(&s->a, &sub, NULL, 0, msg, sizeof msg)) return cli_fail("%s", msg);
    if (s->o.output && ask_snapshot(s, ROLE_FIRST, s->o.force_gc)) return CLI_EXIT_BAD;
    if (!s->o.output) ask_snapshot(s, ROLE_ROOTS, s->o.force_gc);
    if (s->o.format == CLI_FORMAT_JSON) {
        tv_render r = render_of(s);
        print_record(tv_record_json(&s->v, &r, "attach"));
    } else if (s->tty) {
        show(s); /* at once: who it is, and that the view waits */
    }
    /* the first view with figures comes with the program's first census
     * after attaching, not an interval later; the interval counts from it */
    bool first_shown = false;
    int64_t start = mono_ms(), next_tick = start + s->o.interval_ms;
    for (;;) {
        int64_t now = mono_ms();
        if (s->ended) break; /* the program is gone: nothing more comes */
        if (s->detaching) {
            /* the last pair, once no other snapshot is in flight */
            if (s->want_last && s->last_state == 0 && !s->job.active) {
                if (ask_snapshot(s, ROLE_LAST, s->o.force_gc)) {
                    s->last_state = 2;
                } else {
                    s->last_state = 1;
                    s->last_deadline = mono_ms() + detach_wait_ms(s);
                    note(s, "%s",
                         s->o.force_gc ? "detaching: collecting for the last snapshot"
                                       : "detaching: waiting for the program's next collection "
                                         "for the last snapshot (Ctrl-C again skips it)");
                    show(s);
                }
            }
            if (!s->want_last || s->last_state == 2 || now >= s->last_deadline) break;
        }
        int64_t wake = next_tick;
        if (s->o.duration_ms && start + (int64_t)s->o.duration_ms < wake)
            wake = start + (int64_t)s->o.duration_ms;
        if (s->detaching && s->last_deadline < wake) wake = s->last_deadline;
        int timeout = wake > now ? (int)(wake - now) : 0;
        struct pollfd pf[4] = {{s->a.fd, POLLIN, 0},
                               {sig_pipe[0], POLLIN, 0},
                               {s->roots_pipe[0], POLLIN, 0},
                               {s->keys ? STDIN_FILENO : -1, POLLIN, 0}};
        poll(pf, 4, timeout);
        if (pf[1].revents) {
            unsigned char c;
            while (read(sig_pipe[0], &c, 1) == 1) {
                if (c == SIGCHLD) {
                    reap_child(s);
                } else if (s->detaching) {
                    s->want_last = false; /* a second signal: no more waiting */
                } else {
                    begin_detach(s, "detached");
                }
            }
        }
        if (pf[2].revents) roots_done(s);
        if (pf[3].revents) {
            char k;
            while (read(STDIN_FILENO, &k, 1) == 1) {
                if (k == 'q' || k == 'Q') begin_detach(s, "detached");
                if ((k == 'd' || k == 'D') && !s->job.active && !s->tr.running && !s->detaching)
                    ask_snapshot(s, ROLE_ROOTS, true);
            }
        }
        drain(s);
        now = mono_ms();
        if (s->o.duration_ms && now >= start + (int64_t)s->o.duration_ms)
            begin_detach(s, "duration");
        /* a map made since the snapshot grows, or the snapshot for the
         * roots failed: the roots need a new one */
        if (!s->detaching && !s->job.active && !s->tr.running &&
            (s->v.roots_cycle || s->v.roots_failed) && now - s->last_roots_ms > 60000) {
            size_t *rank;
            size_t n = tv_ranked(&s->v, s->o.top, &rank);
            bool unknown = false;
            for (size_t i = 0; i < n; i++) unknown |= !tv_root_of(&s->v, &s->v.maps[rank[i]]);
            free(rank);
            if (unknown) ask_snapshot(s, ROLE_ROOTS, false);
        }
        if (!first_shown && s->v.census_seen) {
            first_shown = true;
            next_tick = now;
        }
        if (now >= next_tick) {
            show(s);
            s->note[0] = 0;
            while (next_tick <= now) next_tick += s->o.interval_ms;
        }
    }
    return CLI_EXIT_OK;
}

/* The end of a live trace: detach, wait for the analysis, write the
 * timeline, say what happened. */
static int finish_live(session *s, int status)
{
    char msg[600];
    if (s->connected && !s->ended) {
        mf_at_frame d = {.kind = MF_AT_DETACH};
        if (cli_at_send(&s->a, &d, NULL, 0, msg, sizeof msg)) {
            /* its answer, so that the program has seen it before we go */
            int64_t until = mono_ms() + 1000;
            while (mono_ms() < until) {
                mf_at_frame f;
                bool eof;
                int r = cli_at_next(&s->a, &f, 200, &eof, msg, sizeof msg);
                if (r < 0) break;
                if (r == 0) continue;
                bool answer = f.kind == MF_AT_REPLY && f.request_id == d.request_id;
                if (f.kind == MF_AT_CYCLE) tv_on_cycle(&s->v, &f.cycle);
                mf_at_frame_free(&f);
                if (answer) break;
            }
        }
    }
    bool first_pending = s->job.active && s->job.role == ROLE_FIRST;
    if (s->job.active) pair_abort(&s->job);
    if (s->tr.running) {
        /* the roots make the timeline's names: wait for them */
        while (s->tr.running) {
            struct pollfd p = {s->roots_pipe[0], POLLIN, 0};
            if (poll(&p, 1, -1) > 0) roots_done(s);
        }
    }
    if (s->o.output && s->v.ngcs + s->v.nmaps > 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/trace.json", s->o.output);
        mf_error err;
        if (tv_write_timeline(&s->v, path, &err) == 0) {
            if (s->nfiles < 4) snprintf(s->files[s->nfiles++], sizeof s->files[0], "%s", path);
        } else {
            status = cli_fail("%s", err.msg);
        }
    }
    /* -o DIR: a pair that failed, or none at all from a program that ran
     * on, is an error (the program that ended first had nothing to give) */
    bool have_first = false, have_last = false;
    for (size_t i = 0; i < s->nfiles; i++) {
        have_first |= strstr(s->files[i], "/first.gcstack.gz") != NULL;
        have_last |= strstr(s->files[i], "/last.gcstack.gz") != NULL;
    }
    bool exited = s->end_reason && strcmp(s->end_reason, "exited") == 0;
    if (s->o.output && s->failed[0]) {
        status = cli_fail("trace: %s (pid %ld) %s", mf_path_base(s->v.program), (long)s->o.pid,
                          s->failed);
    } else if (s->o.output && !have_first && !have_last && !exited) {
        status = cli_fail("trace: %s (pid %ld): no snapshot was written into %s: %s",
                          mf_path_base(s->v.program), (long)s->o.pid, s->o.output,
                          first_pending ? "the first one did not come before maproot stopped "
                                          "waiting"
                                        : "no collection came before maproot stopped waiting");
    }
    tv_render r = render_of(s);
    r.keys = false;
    r.note = NULL;
    const char *how = !s->end_reason                           ? "detached"
                      : strcmp(s->end_reason, "exited") == 0   ? "the program exited"
                      : strcmp(s->end_reason, "lost") == 0     ? "the connection was lost"
                      : strcmp(s->end_reason, "duration") == 0 ? "detached after --duration"
                                                               : "detached";
    if (s->o.format == CLI_FORMAT_JSON) {
        json_t *rec = tv_record_json(&s->v, &r, "detach");
        json_t *files = json_array();
        for (size_t i = 0; files && i < s->nfiles; i++)
            json_array_append_new(files, json_string(s->files[i]));
        if (rec) {
            json_object_set_new(rec, "reason", json_string(how));
            json_object_set_new(rec, "files", files ? files : json_null());
        }
        print_record(rec);
    } else {
        if (s->tty) fputs("\033[H\033[2J", stdout);
        tv_print_text(stdout, &s->v, &r);
        printf("\n%s: %s (pid %" PRIu64 ")%s\n", how, mf_path_base(s->v.program), s->v.pid,
               s->end_reason && strcmp(s->end_reason, "exited") == 0 ? ""
                                                                     : "; it goes on as before");
        for (size_t i = 0; i < s->nfiles; i++) printf("  wrote %s\n", s->files[i]);
        if (have_first && have_last)
            printf("  compare: maproot diff %s/first.gcstack.gz %s/last.gcstack.gz\n", s->o.output,
                   s->o.output);
        else if (s->o.output && !have_last && s->failed[0])
            printf("  no last snapshot: the program %s\n", s->failed);
        else if (s->o.output && !have_last && first_pending)
            printf("  no last snapshot: the first one did not come in time\n");
        else if (s->o.output && !have_last && s->note[0])
            printf("  no last snapshot: %s\n", s->note);
        else if (s->o.output && !have_last)
            printf("  no last snapshot: the program did not collect in time (--force-gc "
                   "collects)\n");
    }
    fflush(stdout);
    return status;
}

static int parse_args(int argc, char **argv, trace_opts *o)
{
    static const struct option opts[] = {
        {"pid", required_argument, NULL, 'p'},
        {"interval", required_argument, NULL, 'i'},
        {"duration", required_argument, NULL, 'd'},
        {"top", required_argument, NULL, 'n'},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"once", no_argument, NULL, 'O'},
        {"force-gc", no_argument, NULL, 'G'},
        {"profile-rate", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->interval_ms = 5000;
    o->top = 10;
    uint64_t v;
    int c;
    optind = 1;
    opterr = 0;
    /* '+': stop at the first non-option, so PROG's own options stay its */
    while ((c = getopt_long(argc, argv, "+:p:i:d:n:o:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': {
            char *end;
            long p = strtol(optarg, &end, 10);
            if (*end || p <= 0 || p > 0x7fffffff)
                return cli_usage("trace", "--pid wants a process id, not \"%s\"", optarg);
            o->pid = (pid_t)p;
            break;
        }
        case 'i':
            if (parse_time("--interval", optarg, &v)) return CLI_EXIT_BAD;
            if (v > 24 * 3600 * 1000u) return cli_usage("trace", "--interval is at most 24h");
            o->interval_ms = (uint32_t)v;
            break;
        case 'd':
            if (parse_time("--duration", optarg, &o->duration_ms)) return CLI_EXIT_BAD;
            break;
        case 'n':
            if (cli_parse_count("trace", "--top", optarg, &o->top)) return CLI_EXIT_BAD;
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'f':
            if (cli_parse_format("trace", optarg, &o->format)) return CLI_EXIT_BAD;
            break;
        case 'O':
            o->once = true;
            break;
        case 'G':
            o->force_gc = true;
            break;
        case 'R':
            if (cli_parse_size("trace", "--profile-rate", optarg, true, &o->profile_rate))
                return CLI_EXIT_BAD;
            o->set_rate = true;
            break;
        case 'h':
            fputs(trace_help, stdout);
            return -1;
        case ':':
            return cli_usage("trace", "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage("trace", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        if (strcmp(argv[optind - 1], "--") != 0)
            return cli_usage("trace", "unexpected argument %s (a program goes after --)",
                             argv[optind]);
        o->prog = argv + optind;
    }
    if (!o->pid == !o->prog)
        return cli_usage("trace", o->pid ? "--pid and -- PROG exclude each other"
                                         : "which program? --pid PID, or -- PROG ARGS...");
    if (o->once && !o->output) return cli_usage("trace", "--once needs -o FILE");
    if (o->once && o->prog) return cli_usage("trace", "--once is for --pid");
    return 0;
}

/* The trace itself, once its options are read and -o DIR is there: attach
 * (or start the program), follow, detach. Returns the exit status. */
static int trace_session(session *s)
{
    /* the display of file names sets itself up on first use, which is not
     * thread-safe: do it now, before the analysis thread can use it too */
    char warm[8];
    mp_display_path("/", warm, sizeof warm);
    if (catch_signals() || pipe2(s->roots_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return cli_fail("cannot make a pipe: %s", strerror(errno));
    if (s->o.prog) {
        char msg[1024];
        bool preloaded;
        s->child = trace_prog_start(s->o.prog, &preloaded, msg, sizeof msg);
        if (s->child < 0) return cli_fail("%s", msg);
        s->o.pid = s->child;
    } else {
        cli_at_clean_stale();
    }
    int status = open_session(s);
    if (status == CLI_EXIT_OK) {
        s->tty = s->o.format == CLI_FORMAT_TEXT && isatty(STDOUT_FILENO);
        s->keys = s->tty && !s->o.once && isatty(STDIN_FILENO) && !s->o.prog;
        if (s->keys) keys_on();
        if (s->o.once) {
            status = run_once(s);
        } else {
            status = run_live(s);
            status = finish_live(s, status);
        }
        keys_off();
    }
    if (s->connected) cli_at_close(&s->a);
    tv_free(&s->v);
    if (s->child > 0) {
        /* the program we started: its status is ours */
        if (!s->child_done) {
            int st2;
            while (waitpid(s->child, &st2, 0) < 0 && errno == EINTR) {
            }
            s->child_status = st2;
            s->child_done = true;
        }
        if (status == CLI_EXIT_OK)
            status = WIFEXITED(s->child_status) ? WEXITSTATUS(s->child_status)
                                                : 128 + WTERMSIG(s->child_status);
    }
    return status;
}

int cmd_trace(int argc, char **argv)
{
    session s;
    memset(&s, 0, sizeof s);
    int rc = parse_args(argc, argv, &s.o);
    if (rc < 0) return cli_finish(CLI_EXIT_OK); /* --help */
    if (rc) return rc;
    s.roots_fd = -1;
    s.job.tmp_fd = -1;
    s.roots_pipe[0] = s.roots_pipe[1] = -1;
    /* -o DIR is made now, so that a bad one stops the trace before it
     * attaches; what this run made and wrote nothing into goes again */
    size_t made = 0;
    int err = s.o.output && !s.o.once ? cli_make_dirs(s.o.output, &made) : 0;
    if (err && made) cli_remove_made_dirs(s.o.output, made);
    if (err == ENOTDIR)
        return cli_fail("%s: not a directory (-o takes a directory for the trace's files)",
                        s.o.output);
    if (err) return cli_fail("cannot make the directory %s: %s", s.o.output, strerror(err));
    int status = trace_session(&s);
    if (made) cli_remove_made_dirs(s.o.output, made);
    return cli_finish(status);
}
