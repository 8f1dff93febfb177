/*
 * src/collector/snapshot.c -- root snapshots, the process side: see
 * snapshot.h for the design and maproot/collector.h for the API. The
 * image of the heap itself is written by snapshot_image.c.
 */
#define UNW_LOCAL_ONLY
#include "collector/snapshot.h"
#include "collector/agent.h" /* mrc__writer_stall_s */

#include "collector/forkguard.h"
#include "collector/heapprof.h"
#include "collector/procwatch.h"
#include "collector/profiler.h"
#include "collector/snapshot_digest.h"
#include "collector/snapshot_image.h"
#include "format/gcstack_writer.h"
#include "format/names.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAPROOT_VERSION
#define MAPROOT_VERSION "unknown"
#endif

/* --------------------------------------------------------- settings --- */

static char *env_path;     /* MAPROOT_SNAPSHOT */
static uint32_t env_every; /* MAPROOT_PROFILE_EVERY */
static bool use_fork = true;
static bool writer_stops; /* MAPROOT_SNAPSHOT_FORK=stop (tests): a writer that hangs */
static int writer_pipe = -1; /* MAPROOT_SNAPSHOT_FORK=slow:FD (tests): a writer that waits */

enum { SLOW_WRITER_BYTES = 256 << 10 }; /* what a slow writer first writes into its pipe */

/* A slow writer (MAPROOT_SNAPSHOT_FORK=slow:FD, for tests) first writes
 * SLOW_WRITER_BYTES into descriptor FD, a pipe that the test drains when
 * it likes: a writer that waits on its output, and then does its work. */
static void write_slowly_first(void)
{
    static const char zeros[4096];
    for (size_t left = SLOW_WRITER_BYTES; left;) {
        ssize_t w = write(writer_pipe, zeros, left < sizeof zeros ? left : sizeof zeros);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        left -= (size_t)w;
    }
}

/* One snapshot request at a time (API, exit). */
static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
/* What the next MARK_DONE must do; set under api_lock, read by the listener
 * on the collecting thread (world stopped, so no race with the setter, which
 * is waiting in mr_gc). */
typedef struct request {
    const char *path;
    bool periodic;
    mr_memstats pre; /* statistics read just before the collection */
    bool have_pre;
    bool in_place; /* write it with the world stopped, not by a forked writer */
} request;
static request *pending;

/* A child writing a snapshot in the background. */
typedef struct child {
    pid_t pid;
    int fd;
    char *path;
    char *temp; /* where its temporary file may appear: removed if it dies */
    uint64_t pause_ns, start_ns;
    bool waited_by_api;
} child;
static pthread_mutex_t child_lock = PTHREAD_MUTEX_INITIALIZER;
static child bg = {.pid = -1, .fd = -1};

static pthread_mutex_t info_lock = PTHREAD_MUTEX_INITIALIZER;
static mrc_snapshot_info last_info;

/* ------------------------------------------------------------ roots --- */

/*
 * The roots, gathered first, at the shallowest point of the snapshot: the
 * walk scans the collecting thread's own stack from where it is called, so
 * the deeper the snapshot code is, the more of its own frames (and stale
 * words in them) would be scanned. Frame function names are copied (the
 * runtime frees them after the walk).
 */
static void gather_root(const mr_root *r, void *ud)
{
    mrc_root_list *l = ud;
    /* A word of the snapshot's own frames (deeper than the collection's
     * were) may point at an object the collection found dead: not a root
     * of this cycle. */
    if (l->oom || !mr_is_marked(r->target)) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        mr_root *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    mr_root c = *r;
    if (c.function) {
        char *fn = strdup(c.function);
        if (!fn) {
            l->oom = true;
            return;
        }
        mf_function_name_clean(fn); /* a symbol table's name: "f.constprop.0" is f */
        c.function = fn;
    }
    l->v[l->n++] = c;
}

static void gather_roots(mrc_root_list *l)
{
    memset(l, 0, sizeof *l);
    mr_walk_roots(true, gather_root, l);
}

static void free_roots(mrc_root_list *l)
{
    for (size_t i = 0; i < l->n; i++) free((char *)l->v[i].function);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* --------------------------------------------------------- children --- */

static void record_info(const mrc_image_outcome *o, int mode, uint64_t pause_ns, uint64_t work_ns)
{
    pthread_mutex_lock(&info_lock);
    last_info = (mrc_snapshot_info){
        .mode = mode,
        .gc_cycle = o->cycle,
        .objects = o->objects,
        .roots = o->roots,
        .maps = o->maps,
        .entries = o->entries,
        .object_bytes = o->object_bytes,
        .file_bytes = o->file_bytes,
        .pause_ns = pause_ns,
        .work_ns = work_ns,
        .wall_ns = o->wall_ns,
    };
    pthread_mutex_unlock(&info_lock);
}

/* How long the end of a program waits for a snapshot writer still running
 * (MAPROOT_EXIT_WAIT seconds) before it stops it. */
static double exit_wait_s = 60;

enum { REAP_FAILED = -1, REAP_WRITTEN = 0, REAP_NONE = 1, REAP_STUCK = 2 };

/*
 * Waits for (or, without block, polls) the background child; reports its
 * outcome. Returns REAP_WRITTEN, REAP_FAILED (msg set), REAP_NONE (still
 * running, or no child), or REAP_STUCK (msg set). With a limit (limit_s >
 * 0) a blocking wait gives up after that long: the child is killed, its
 * temporary file removed, and that is the failure. Without one it watches
 * the child as the agent does its writers (procwatch.h): a writer that
 * makes no progress for mrc__writer_stall_s() while it does not wait its
 * turn is stuck for good -- forked while another thread held a lock it
 * needs, which no thread of the copy will release (forkguard.h) -- and is
 * killed: REAP_STUCK. A wait that could not end is the one thing the
 * program cannot recover from. A child that died before it reported
 * success leaves no temporary file.
 */
static int reap(bool block, double limit_s, char *msg, size_t msgcap)
{
    pthread_mutex_lock(&child_lock);
    if (bg.pid < 0) {
        pthread_mutex_unlock(&child_lock);
        return REAP_NONE;
    }
    int status = 0;
    struct rusage ru;
    pid_t r;
    bool killed = false, stuck = false, watch = block && !(limit_s > 0);
    mrc_proc_sample s = {0, MRC_PROC_GONE};
    uint64_t now = mrc__now_ns(CLOCK_MONOTONIC);
    uint64_t deadline = now + (uint64_t)(limit_s * 1e9);
    uint64_t stall_ns = (uint64_t)mrc__writer_stall_s() * 1000000000u;
    uint64_t seen = 0, moved = now, sampled = 0;
    for (;;) {
        bool poll = !block || limit_s > 0 || watch;
        do r = wait4(bg.pid, &status, poll ? WNOHANG : 0, &ru);
        while (r < 0 && errno == EINTR);
        if (r != 0 || !block) break;
        now = mrc__now_ns(CLOCK_MONOTONIC);
        if (limit_s > 0 && now >= deadline) {
            kill(bg.pid, SIGKILL);
            killed = true;
            limit_s = 0; /* now wait for it to be gone */
            continue;
        }
        if (watch && now - sampled >= 100 * 1000 * 1000) {
            sampled = now;
            mrc__proc_sample(bg.pid, &s);
            if (s.progress != seen || mrc__proc_waits_its_turn(s.wait)) {
                seen = s.progress;
                moved = now;
            } else if (now - moved >= stall_ns) {
                kill(bg.pid, SIGKILL);
                killed = stuck = true;
                watch = false; /* now wait for it to be gone */
                continue;
            }
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (r == 0) {
        pthread_mutex_unlock(&child_lock);
        return REAP_NONE;
    }
    mrc_image_outcome o;
    memset(&o, 0, sizeof o);
    ssize_t got = r > 0 && !killed ? read(bg.fd, &o, sizeof o) : -1;
    int rc;
    if (stuck) {
        snprintf(msg, msgcap,
                 "%s: the snapshot writer process (pid %ld) made no progress for %" PRIu32
                 " s and was killed (it was %s)",
                 bg.path, (long)bg.pid, mrc__writer_stall_s(), mrc__proc_wait_name(s.wait));
        rc = REAP_STUCK;
    } else if (killed) {
        snprintf(msg, msgcap,
                 "%s: the snapshot writer was still running %.0fs after the program "
                 "ended; stopped it (the file was not written)",
                 bg.path, exit_wait_s);
        rc = -1;
    } else if (r < 0) {
        snprintf(msg, msgcap, "%s: lost the snapshot writer process: %s", bg.path, strerror(errno));
        rc = -1;
    } else if (got != (ssize_t)sizeof o) {
        snprintf(msg, msgcap, "%s: the snapshot writer process died (%s %d)", bg.path,
                 WIFSIGNALED(status) ? "signal" : "status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        rc = -1;
    } else if (!o.ok) {
        o.msg[sizeof o.msg - 1] = 0;
        snprintf(msg, msgcap, "%s", o.msg);
        rc = -1;
    } else {
        uint64_t cpu =
            (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u +
            (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
        record_info(&o, MF_GS_MODE_FORK, bg.pause_ns, cpu + bg.pause_ns);
        rc = 0;
    }
    /* a writer that did not report success may have died between naming
     * its file and renaming it: what it named is not a snapshot */
    if (rc != REAP_WRITTEN) mf_out_remove_temp(bg.temp);
    close(bg.fd);
    free(bg.path);
    free(bg.temp);
    bg = (child){.pid = -1, .fd = -1};
    pthread_mutex_unlock(&child_lock);
    return rc;
}

/*
 * Forks the writer of this cycle's image into out (MARK_DONE, world
 * stopped): the child inherits out and commits it, and reports its outcome
 * (one mrc_image_outcome) on the pipe whose read end *rfd the parent gets,
 * with the child's *pid. Returns 0 when a child was started (out is then
 * the child's: the parent only frees its copy, see mf_out_detach, and gets
 * the name of its temporary file in *temp), or -1 when fork or the pipe
 * failed (out is still the caller's).
 */
static int fork_writer(mf_out *out, uint32_t cycle, const mr_memstats *pre,
                       const mr_gc_pause *gc_pause, pid_t *pid, int *rfd, char **temp)
{
    pid_t self = getpid();
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    if (!mrc__fork_quiet()) { /* (see forkguard.h) */
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    /* (the profiler's tables take part in the fork themselves: profiler.h) */
    pid_t child = fork();
    if (child != 0) mrc__fork_done();
    if (child == 0) {
        if (writer_stops) raise(SIGSTOP); /* stuck before writing anything */
        if (writer_pipe >= 0) write_slowly_first();
        mrc_root_list roots;
        gather_roots(&roots);
        /* the child: the copy-on-write image is ours to walk */
        close(fds[0]);
        signal(SIGPIPE, SIG_IGN);
        mr_memstats ms;
        const mr_memstats *msp = pre;
        if (!msp) {
            /* no statistics were read before this cycle: no other
             * thread exists here, so restart the (private) world
             * just to read them, and stop it again */
            mr_start_the_world();
            mr_read_memstats(&ms);
            mr_stop_the_world();
            msp = &ms;
        }
        mrc_image_outcome o;
        memset(&o, 0, sizeof o);
        mrc__write_image(out, cycle, MF_GS_MODE_FORK, msp, gc_pause, self, &roots, &o);
        const char *dg = getenv("MAPROOT_SNAPSHOT_DIGEST");
        if (o.ok && dg && *dg && mrc__write_digest(dg, &roots, true) != 0) {
            o.ok = 0;
            snprintf(o.msg, sizeof o.msg, "%.400s: cannot write the digest", dg);
        }
        ssize_t w = write(fds[1], &o, sizeof o);
        _exit(w == (ssize_t)sizeof o && o.ok ? 0 : 1);
    }
    close(fds[1]);
    if (child < 0) {
        close(fds[0]);
        return -1;
    }
    *pid = child;
    *rfd = fds[0];
    *temp = mf_out_detach(out);
    return 0;
}

/* Writes this cycle's image into out in place, world stopped (no fork):
 * 0, or -1 with o->msg. out is taken over. */
static int write_in_place(mf_out *out, uint32_t cycle, const mr_memstats *pre,
                          const mr_gc_pause *gc_pause, mrc_image_outcome *o)
{
    memset(o, 0, sizeof *o);
    mrc_root_list roots;
    gather_roots(&roots);
    int rc = mrc__write_image(out, cycle, MF_GS_MODE_STOPPED, pre, gc_pause, getpid(), &roots, o);
    const char *dg = getenv("MAPROOT_SNAPSHOT_DIGEST");
    if (!rc && dg && *dg && mrc__write_digest(dg, &roots, false) != 0) {
        snprintf(o->msg, sizeof o->msg, "%.400s: cannot write the digest", dg);
        rc = -1;
    }
    free_roots(&roots);
    return rc;
}

/*
 * Takes the snapshot now (MARK_DONE, world stopped): forks a writer, or
 * writes in place. Returns 0 when a child was started or the file written,
 * -1 with msg. Sets *forked. The output is opened here, before the fork:
 * the child inherits it and commits it; the parent keeps the name of its
 * temporary file, to remove it if the child dies.
 */
static int take(const char *path, uint32_t cycle, const mr_memstats *pre, bool may_fork, char *msg,
                size_t msgcap, bool *forked)
{
    uint64_t t0 = mrc__now_ns(CLOCK_MONOTONIC);
    mr_gc_pause gc_pause; /* the cycle's pause as of the snapshot, for its header */
    mr_gc_pause_now(&gc_pause);
    *forked = false;
    mf_error err;
    mf_out *out = mf_out_open(path, &err);
    if (!out) {
        snprintf(msg, msgcap, "%s", err.msg);
        return -1;
    }
    pid_t pid;
    int rfd;
    char *temp;
    if (use_fork && may_fork && fork_writer(out, cycle, pre, &gc_pause, &pid, &rfd, &temp) == 0) {
        pthread_mutex_lock(&child_lock);
        bg.pid = pid;
        bg.fd = rfd;
        bg.path = strdup(path);
        bg.temp = temp;
        bg.start_ns = t0;
        bg.pause_ns = mrc__now_ns(CLOCK_MONOTONIC) - t0;
        pthread_mutex_unlock(&child_lock);
        *forked = true;
        return 0;
    }
    /* no fork (refused, not for this one, or MAPROOT_SNAPSHOT_FORK=0):
     * write while stopped */
    uint64_t c0 = mrc__now_ns(CLOCK_PROCESS_CPUTIME_ID);
    mrc_image_outcome o;
    if (write_in_place(out, cycle, pre, &gc_pause, &o)) {
        snprintf(msg, msgcap, "%s", o.msg);
        return -1;
    }
    uint64_t pause = mrc__now_ns(CLOCK_MONOTONIC) - t0;
    record_info(&o, MF_GS_MODE_STOPPED, pause, mrc__now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0);
    return 0;
}

int mrc__snapshot_take_into(mf_out *out, uint32_t cycle, pid_t *pid, int *rfd, mrc_image_outcome *o)
{
    char *temp = NULL;
    *pid = -1;
    *rfd = -1;
    mr_gc_pause gc_pause; /* the cycle's pause as of the snapshot, for its header */
    mr_gc_pause_now(&gc_pause);
    if (use_fork && fork_writer(out, cycle, NULL, &gc_pause, pid, rfd, &temp) == 0) {
        free(temp); /* a descriptor of someone else's: no name of ours */
        return 0;
    }
    return write_in_place(out, cycle, NULL, &gc_pause, o);
}

/* The result of the last API request, handed from the listener to the
 * waiting caller, and the cycle that served it. */
static int req_rc;
static bool req_done, req_forked;
static char req_msg[600];
static uint32_t req_cycle;

/* The GC listener: reaps a finished background writer at any event; at
 * MARK_DONE serves the pending API request. (Periodic snapshots are
 * scheduled with their profiles by the collector: mrc__snapshot_periodic.) */
static void snapshot_on_gc(void *ud, mr_gc_event ev, uint32_t cycle)
{
    (void)ud;
    char msg[600];
    if (bg.pid >= 0 && !bg.waited_by_api && reap(false, 0, msg, sizeof msg) < 0)
        fprintf(stderr, "maproot: cannot write snapshot: %s\n", msg);
    if (ev != MR_GC_MARK_DONE) return;
    if (pending && !req_done) {
        req_rc = take(pending->path, cycle, pending->have_pre ? &pending->pre : NULL,
                      !pending->in_place, req_msg, sizeof req_msg, &req_forked);
        if (req_forked) bg.waited_by_api = true; /* its caller reaps it */
        req_cycle = cycle;
        req_done = true;
    }
}

uint32_t mrc__snapshot_request_cycle(void)
{
    return req_done ? req_cycle : 0;
}

bool mrc__snapshot_periodic_on(void)
{
    return env_path && env_every;
}

bool mrc__snapshot_busy(void)
{
    char msg[600];
    if (bg.pid >= 0 && !bg.waited_by_api && reap(false, 0, msg, sizeof msg) < 0)
        fprintf(stderr, "maproot: cannot write snapshot: %s\n", msg);
    return bg.pid >= 0;
}

int mrc__snapshot_periodic(uint32_t cycle)
{
    char msg[600];
    char *p = mrc__periodic_path(env_path, cycle);
    bool forked;
    int rc = p ? take(p, cycle, NULL, true, msg, sizeof msg, &forked) : -1;
    if (rc) fprintf(stderr, "maproot: cannot write snapshot: %s\n", p ? msg : "out of memory");
    free(p);
    return rc;
}

/* Runs a collection that serves rq at its MARK_DONE (snapshot_on_gc):
 * take()'s result, or -1 with req_msg when none served it. */
static int serve(request *rq)
{
    mr_read_memstats(&rq->pre);
    rq->have_pre = true;
    req_done = false;
    req_rc = -1;
    pending = rq;
    mr_gc();
    pending = NULL;
    if (!req_done) snprintf(req_msg, sizeof req_msg, "%s: the collection did not run", rq->path);
    return req_done ? req_rc : -1;
}

/* A snapshot to path at the next collection; with exit_limit_s > 0 the
 * writers are waited for at most that long. *cycle gets the cycle. */
static int write_snapshot(const char *path, double exit_limit_s, uint32_t *cycle)
{
    mrc_init();
    if (!path || !*path) {
        mrc__set_error("mrc_write_snapshot: no path");
        return -1;
    }
    pthread_mutex_lock(&api_lock);
    static bool listening;
    if (!listening) {
        mrc__set_gc_listener(snapshot_on_gc, NULL);
        listening = true;
    }
    bool attached = mr_thread_is_attached();
    char msg[600];
    /* a periodic writer still running: let it finish first (one child at
     * a time keeps the copy-on-write cost bounded) */
    if (attached) mr_blocking_enter();
    int rc = reap(true, exit_limit_s, msg, sizeof msg);
    if (rc == REAP_FAILED || rc == REAP_STUCK)
        fprintf(stderr, "maproot: cannot write snapshot: %s\n", msg);
    if (attached) mr_blocking_exit();
    request rq = {.path = path};
    rc = serve(&rq);
    if (rc == 0 && req_forked) {
        if (attached) mr_blocking_enter();
        rc = reap(true, exit_limit_s, req_msg, sizeof req_msg);
        if (attached) mr_blocking_exit();
        if (rc == REAP_NONE)
            snprintf(req_msg, sizeof req_msg, "%s: the snapshot writer was lost", path);
        if (rc == REAP_STUCK) {
            /* it will never write: this snapshot is taken again, at the
             * next collection, with the world stopped (the program is in
             * this call meanwhile: its calling thread's heap is the same) */
            fprintf(stderr, "maproot: %s; writing the snapshot with the world stopped instead\n",
                    req_msg);
            rq.in_place = true;
            rc = serve(&rq);
        }
    }
    if (cycle) *cycle = req_cycle;
    if (rc != 0) mrc__set_error("%s", req_msg);
    pthread_mutex_unlock(&api_lock);
    return rc == 0 ? 0 : -1;
}

/* The API's entry point. The calling thread is attached first (the
 * collection attaches it anyway) and marked, so that its stack roots start
 * at the program's frame that called, not in the collector. */
__attribute__((noinline)) int mrc_write_snapshot(const char *path)
{
    mr_thread_attach();
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    int rc = write_snapshot(path, 0, NULL);
    mr_call_end(outer);
    return rc;
}

int mrc_last_snapshot_info(mrc_snapshot_info *out)
{
    pthread_mutex_lock(&info_lock);
    *out = last_info;
    pthread_mutex_unlock(&info_lock);
    return out->mode ? 0 : -1;
}

const char *mrc__snapshot_path(void)
{
    return env_path;
}

int mrc__snapshot_exit(uint32_t *cycle)
{
    int rc = write_snapshot(env_path, exit_wait_s, cycle);
    if (rc != 0) fprintf(stderr, "maproot: cannot write snapshot: %s\n", mrc_last_error());
    return rc;
}

void mrc__snapshot_wait_writer(void)
{
    char msg[600];
    bool attached = mr_thread_is_attached();
    if (attached) mr_blocking_enter();
    if (reap(true, exit_wait_s, msg, sizeof msg) < 0)
        fprintf(stderr, "maproot: cannot write snapshot: %s\n", msg);
    if (attached) mr_blocking_exit();
}

mrc_gc_listener mrc__snapshot_init(void)
{
    const char *f = getenv("MAPROOT_SNAPSHOT_FORK");
    if (f && strcmp(f, "0") == 0) use_fork = false;
    if (f && strcmp(f, "stop") == 0) writer_stops = true;
    if (f && strncmp(f, "slow:", 5) == 0) writer_pipe = atoi(f + 5);
    const char *lv = getenv("MAPROOT_SNAPSHOT_LEVEL");
    if (lv && *lv) {
        char *end;
        long l = strtol(lv, &end, 10);
        if (strcmp(lv, "raw") == 0)
            mrc__snapshot_gz_level = MF_GS_RAW;
        else if (*end || l < 0 || l > 9)
            fprintf(stderr,
                    "maproot: MAPROOT_SNAPSHOT_LEVEL=%s is not a number from 0 to 9 nor "
                    "\"raw\"; using 0\n",
                    lv);
        else
            mrc__snapshot_gz_level = (int)l;
    }
    const char *w = getenv("MAPROOT_EXIT_WAIT");
    if (w && *w) {
        char *end;
        double v = strtod(w, &end);
        if (*end || !(v > 0))
            fprintf(stderr,
                    "maproot: MAPROOT_EXIT_WAIT=%s is not a positive number of seconds; "
                    "using %.0f\n",
                    w, exit_wait_s);
        else
            exit_wait_s = v;
    }
    const char *path = getenv("MAPROOT_SNAPSHOT");
    if (!path || !*path) return NULL;
    env_path = strdup(path);
    if (!env_path) return NULL;
    const char *ev = getenv("MAPROOT_PROFILE_EVERY");
    if (ev && *ev) {
        char *end;
        unsigned long long e = strtoull(ev, &end, 10);
        if (!*end && e <= UINT32_MAX) env_every = (uint32_t)e;
    }
    return env_every ? snapshot_on_gc : NULL;
}
