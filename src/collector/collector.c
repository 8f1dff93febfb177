/*
 * src/collector/collector.c -- libmaproot's entry: initialization from the
 * environment, the runtime hooks, the heap profile triggers (API, at exit,
 * every N collections) and the background writer thread.
 *
 * Who runs what:
 *   on_alloc   mutator threads, for sampled allocations only: captures the
 *              stack (libunwind) and counts it in the profiler's tables;
 *   on_free    the collecting thread, world stopped, from the sweep;
 *   on_gc      the collecting thread, world stopped: publishes the pending
 *              counts at MR_GC_START; at MR_GC_END takes a snapshot of the
 *              counts for a periodic profile and hands it to the writer;
 *   writer     a thread of the collector that is never attached to the
 *              runtime and never touches heap objects: it symbolizes and
 *              writes the snapshots it is given, while the program runs;
 *   API/exit   the calling thread symbolizes and writes; if it is a mutator
 *              it counts as blocked meanwhile (mr_blocking_enter), so that
 *              collections do not wait for file I/O.
 * Nothing here blocks the world for longer than a table copy.
 */
#define UNW_LOCAL_ONLY
#include "collector/internal.h"

#include "collector/heapprof.h"
#include "collector/profiler.h"
#include "collector/snapshot.h" /* root snapshots */
#include "collector/symbolize.h"
#include "format/pprof.h"

#include <errno.h>
#include <inttypes.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames captured beyond the depth limit: the hook's, the runtime's and
 * libunwind's own, cut off before the stack is recorded. */
enum { ALLOCATOR_SLACK = 16, MAX_QUEUED = 4 };

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static mrc_prof *prof;                                       /* the sample tables (never freed) */
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER; /* hooks, listener */
static atomic_uint_fast64_t cur_rate;                        /* 0 = profiling off */
static atomic_uint_fast64_t out_rate = MRC_DEFAULT_PROFILE_RATE; /* rate of the samples */
static atomic_int stack_depth = MRC_DEFAULT_STACK_DEPTH;
static atomic_uint last_cycle; /* last completed collection */
static _Atomic(mrc_gc_listener) listener;
static void *_Atomic listener_ud;
static bool hooks_installed;

/* MAPROOT_PROFILE and MAPROOT_PROFILE_EVERY */
static char *env_path;
static uint32_t env_every;

/* serializes symbolization and writing (the symbolizer is single-threaded) */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static mrc_symbolizer *sym;

/* the writer thread's queue */
typedef struct job {
    struct job *next;
    char *path;
    mrc_prof_snapshot snap;
    uint64_t rate;
    uint32_t cycle;
} job;
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t q_idle = PTHREAD_COND_INITIALIZER;
static job *q_head, *q_tail;
static unsigned q_len;
static bool writer_busy, writer_running, skip_warned;

static _Thread_local char last_error[512];

void mrc__set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *mrc_last_error(void)
{
    return last_error;
}

/* ------------------------------------------------------------- hooks --- */

/* The allocation hook: capture, keep the program's frames, count. Runs on a
 * mutator thread; uses malloc (in the tables) but never the GC heap. */
static void on_alloc(void *ud, void *obj, size_t size, const mr_type *t, const mr_alloc_call *call)
{
    (void)ud;
    (void)t;
    uintptr_t pcs[MRC_MAX_STACK_DEPTH + ALLOCATOR_SLACK];
    int depth = atomic_load_explicit(&stack_depth, memory_order_relaxed);
    int n = unw_backtrace((void **)pcs, depth + ALLOCATOR_SLACK);
    size_t m =
        mrc_prof_program_frames(pcs, n < 0 ? 0 : (size_t)n, call->pc, call->map, (size_t)depth);
    mrc_prof_alloc(prof, (uintptr_t)obj, size, pcs, m, mrc_prof_hash_stack(pcs, m));
}

static void on_free(void *ud, void *obj, size_t size)
{
    (void)ud;
    (void)size;
    mrc_prof_free_obj(prof, (uintptr_t)obj);
}

char *mrc__periodic_path(const char *path, uint32_t cycle)
{
    static const char *const exts[] = {".pb.gz", ".gcstack.gz", ".pb", ".gcstack", ".gz"};
    size_t n = strlen(path), cut = n;
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
        size_t m = strlen(exts[i]);
        if (n > m && strcmp(path + n - m, exts[i]) == 0) {
            cut = n - m;
            break;
        }
    }
    size_t size = n + 16;
    char *out = malloc(size);
    if (out) snprintf(out, size, "%.*s.%04" PRIu32 "%s", (int)cut, path, cycle, path + cut);
    return out;
}

/* At the end of every N-th collection: snapshot the counts (world stopped,
 * so they are exactly this cycle's) and queue them for the writer. Skips a
 * cycle (with one warning) if the writer is far behind. */
static void queue_periodic(uint32_t cycle)
{
    pthread_mutex_lock(&q_lock);
    bool full = q_len >= MAX_QUEUED;
    bool warn = full && !skip_warned;
    if (full) skip_warned = true;
    pthread_mutex_unlock(&q_lock);
    if (full) {
        if (warn)
            fprintf(stderr,
                    "maproot: heap profile writer is behind; skipping the profile of "
                    "GC cycle %" PRIu32 " (and later ones while it is)\n",
                    cycle);
        return;
    }
    job *j = calloc(1, sizeof *j);
    if (!j) return;
    j->path = mrc__periodic_path(env_path, cycle);
    j->rate = atomic_load(&out_rate);
    j->cycle = cycle;
    if (!j->path || mrc_prof_snapshot_take(prof, false, &j->snap) != 0) {
        fprintf(stderr, "maproot: out of memory taking the heap profile of GC cycle %" PRIu32 "\n",
                cycle);
        free(j->path);
        free(j);
        return;
    }
    pthread_mutex_lock(&q_lock);
    if (q_tail)
        q_tail->next = j;
    else
        q_head = j;
    q_tail = j;
    q_len++;
    pthread_cond_signal(&q_work);
    pthread_mutex_unlock(&q_lock);
}

static void on_gc(void *ud, mr_gc_event ev, uint32_t cycle)
{
    (void)ud;
    if (ev == MR_GC_START) {
        mrc_prof_gc_start(prof);
    } else if (ev == MR_GC_END) {
        mrc_prof_gc_end(prof);
        atomic_store(&last_cycle, cycle);
        if (env_every && writer_running && cycle % env_every == 0) queue_periodic(cycle);
    }
    mrc_gc_listener fn = atomic_load(&listener);
    if (fn) fn(atomic_load(&listener_ud), ev, cycle);
}

/* Installs the hooks for the current rate and listener, or removes them
 * when neither needs them. ctl_lock held. Stops the world (mr_set_hooks). */
static void update_hooks_locked(void)
{
    uint64_t rate = atomic_load(&cur_rate);
    if (rate == 0 && !atomic_load(&listener) && !hooks_installed) return;
    /* Once any sample was taken, frees must keep being counted, so the
     * hooks stay (with on_alloc off) when profiling stops. */
    mr_hooks h = {
        .ud = NULL,
        .sample_rate = rate,
        .on_alloc = rate ? on_alloc : NULL,
        .on_free = on_free,
        .on_gc = on_gc,
    };
    mr_set_hooks(&h);
    hooks_installed = true;
}

void mrc__set_gc_listener(mrc_gc_listener fn, void *ud)
{
    mrc_init();
    pthread_mutex_lock(&ctl_lock);
    atomic_store(&listener_ud, ud);
    atomic_store(&listener, fn);
    update_hooks_locked();
    pthread_mutex_unlock(&ctl_lock);
}

/* ------------------------------------------------------------ writing --- */

mrc_symbolizer *mrc__symbolizer_new(void)
{
    static const struct {
        uintptr_t fn;
        const char *name;
    } map_ops[] = {
        {(uintptr_t)mr_map_new, "mr_map_new"},
        {(uintptr_t)mr_map_assign, "mr_map_assign"},
        {(uintptr_t)mr_map_set, "mr_map_set"},
    };
    mrc_symbolizer *s = mrc_sym_new();
    /* a failure leaves that name unknown, as without this */
    for (size_t i = 0; s && i < sizeof map_ops / sizeof *map_ops; i++)
        mrc_sym_add_function(s, map_ops[i].fn, map_ops[i].name);
    return s;
}

/* Symbolizes snap and writes it to path. Any thread; serialized. */
static int write_snapshot(const mrc_prof_snapshot *snap, const char *path, uint64_t rate,
                          uint32_t cycle, mf_error *err)
{
    int rc = -1;
    pthread_mutex_lock(&write_lock);
    if (!sym) {
        sym = mrc__symbolizer_new();
        if (!sym) {
            mf_error_set(err, "%s: cannot read this process's modules for symbols", path);
            goto out;
        }
    } else {
        mrc_sym_refresh(sym);
    }
    mf_pprof_writer *w = mf_pw_new();
    if (!w) {
        mf_error_set(err, "%s: out of memory", path);
        goto out;
    }
    mrc_heapprof_opts o = {rate, atomic_load(&stack_depth), 0, cycle};
    if (mrc_heapprof_build(snap, &o, sym, w, err) == 0) rc = mf_pw_write(w, path, true, err);
    mf_pw_free(w);
out:
    pthread_mutex_unlock(&write_lock);
    return rc;
}

/* The writer thread: writes queued snapshots until the process ends. */
static void *writer_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&q_lock);
        while (!q_head) pthread_cond_wait(&q_work, &q_lock);
        job *j = q_head;
        q_head = j->next;
        if (!q_head) q_tail = NULL;
        q_len--;
        writer_busy = true;
        pthread_mutex_unlock(&q_lock);

        mf_error err = {{0}};
        if (write_snapshot(&j->snap, j->path, j->rate, j->cycle, &err) != 0)
            fprintf(stderr, "maproot: cannot write heap profile: %s\n", err.msg);
        mrc_prof_snapshot_free(&j->snap);
        free(j->path);
        free(j);

        pthread_mutex_lock(&q_lock);
        writer_busy = false;
        if (!q_head) {
            skip_warned = false;
            pthread_cond_broadcast(&q_idle);
        }
        pthread_mutex_unlock(&q_lock);
    }
    return NULL;
}

/* Starts the writer with every signal blocked, so signals go to the
 * program's own threads. */
static void start_writer(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, writer_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        fprintf(stderr,
                "maproot: cannot start the heap profile writer thread (%s); "
                "MAPROOT_PROFILE_EVERY is ignored\n",
                strerror(rc));
    else
        writer_running = true;
}

/* Waits until the writer has written everything queued. */
static void wait_writer_idle(void)
{
    pthread_mutex_lock(&q_lock);
    while (writer_running && (q_head || writer_busy)) pthread_cond_wait(&q_idle, &q_lock);
    pthread_mutex_unlock(&q_lock);
}

static int write_heap_profile(const char *path)
{
    mrc_init();
    if (!path || !*path) {
        mrc__set_error("mrc_write_heap_profile: no path");
        return -1;
    }
    if (!prof) {
        mrc__set_error("%s: the collector could not initialize (out of memory)", path);
        return -1;
    }
    /* A running mutator means no collection is in progress: the snapshot
     * is consistent at once. An unattached caller waits for one to end. */
    mrc_prof_snapshot snap;
    if (mrc_prof_snapshot_take(prof, true, &snap) != 0) {
        mrc__set_error("%s: out of memory taking the heap profile", path);
        return -1;
    }
    uint32_t cycle = atomic_load(&last_cycle);
    bool attached = mr_thread_is_attached();
    if (attached) mr_blocking_enter();
    mf_error err = {{0}};
    int rc = write_snapshot(&snap, path, atomic_load(&out_rate), cycle, &err);
    if (attached) mr_blocking_exit();
    mrc_prof_snapshot_free(&snap);
    if (rc != 0) mrc__set_error("%s", err.msg);
    return rc;
}

/* The API's entry point: what the runtime does inside (statistics, a
 * blocking section) is the program's call, not the collector's. */
__attribute__((noinline)) int mrc_write_heap_profile(const char *path)
{
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    int rc = write_heap_profile(path);
    mr_call_end(outer);
    return rc;
}

/* MAPROOT_PROFILE at exit: a full collection first, so the profile's in-use
 * figures are the heap at exit (the exiting thread's frames are no roots any
 * more: main has returned); then the periodic profiles still queued; then the
 * exit profile. A failure is one line on stderr. */
static void at_exit(void)
{
    mr_exiting();
    mr_gc();
    bool attached = mr_thread_is_attached();
    if (attached) mr_blocking_enter();
    wait_writer_idle();
    if (attached) mr_blocking_exit();
    if (mrc_write_heap_profile(env_path) != 0)
        fprintf(stderr, "maproot: cannot write heap profile: %s\n", mrc_last_error());
}

/* ---------------------------------------------------------------- API --- */

int mrc_profile_start(uint64_t rate)
{
    mrc_init();
    if (!prof) {
        mrc__set_error("the collector could not initialize (out of memory)");
        return -1;
    }
    pthread_mutex_lock(&ctl_lock);
    atomic_store(&cur_rate, rate);
    if (rate) atomic_store(&out_rate, rate);
    update_hooks_locked();
    pthread_mutex_unlock(&ctl_lock);
    return 0;
}

void mrc_profile_stop(void)
{
    mrc_profile_start(0);
}

uint64_t mrc_profile_rate(void)
{
    mrc_init();
    return atomic_load(&cur_rate);
}

int mrc_set_stack_depth(int depth)
{
    if (depth < 1 || depth > MRC_MAX_STACK_DEPTH) {
        mrc__set_error("stack depth %d is not between 1 and %d", depth, MRC_MAX_STACK_DEPTH);
        return -1;
    }
    atomic_store(&stack_depth, depth);
    return 0;
}

/* ---------------------------------------------------------------- init --- */

/* A non-negative integer environment variable, or def (with one line on
 * stderr when the value is not one). */
static uint64_t env_u64(const char *name, uint64_t def, uint64_t max)
{
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || v[0] == '-' || x > max) {
        fprintf(stderr, "maproot: %s=%s is not a number from 0 to %" PRIu64 "; using %" PRIu64 "\n",
                name, v, max, def);
        return def;
    }
    return x;
}

static void init_once_fn(void)
{
    prof = mrc_prof_new();
    if (!prof) {
        fprintf(stderr, "maproot: out of memory: heap profiling is off\n");
        return;
    }
    uint64_t rate = env_u64("MAPROOT_PROFILE_RATE", MRC_DEFAULT_PROFILE_RATE, UINT32_MAX);
    uint64_t depth = env_u64("MAPROOT_STACK_DEPTH", MRC_DEFAULT_STACK_DEPTH, MRC_MAX_STACK_DEPTH);
    if (depth == 0) {
        fprintf(stderr, "maproot: MAPROOT_STACK_DEPTH=0 keeps no frames; using %d\n",
                MRC_DEFAULT_STACK_DEPTH);
        depth = MRC_DEFAULT_STACK_DEPTH;
    }
    atomic_store(&stack_depth, (int)depth);
    const char *path = getenv("MAPROOT_PROFILE");
    uint64_t every = env_u64("MAPROOT_PROFILE_EVERY", 0, UINT32_MAX);
    if (path && *path) {
        env_path = strdup(path);
        if (env_path) {
            env_every = (uint32_t)every;
            if (env_every) start_writer();
            atexit(at_exit);
        }
    } else if (every && !getenv("MAPROOT_SNAPSHOT")) {
        fprintf(stderr, "maproot: MAPROOT_PROFILE_EVERY needs MAPROOT_PROFILE or "
                        "MAPROOT_SNAPSHOT (the path); ignored\n");
    }
    /* ---- root snapshots: MAPROOT_SNAPSHOT, see snapshot.h */
    mrc_gc_listener snap = mrc__snapshot_init();
    if (snap) atomic_store(&listener, snap);
    if (rate || snap) {
        if (rate) {
            atomic_store(&out_rate, rate);
            atomic_store(&cur_rate, rate);
        }
        pthread_mutex_lock(&ctl_lock);
        update_hooks_locked();
        pthread_mutex_unlock(&ctl_lock);
    }
}

/* ---- root snapshots */
struct mrc_prof *mrc__prof(void)
{
    return prof;
}

void mrc_init(void)
{
    pthread_once(&init_once, init_once_fn);
}

__attribute__((constructor)) static void mrc_constructor(void)
{
    mrc_init();
}
