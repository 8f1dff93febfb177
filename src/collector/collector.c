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

#include "collector/agent.h" /* the attach agent */
#include "collector/forkguard.h"
#include "collector/heapprof.h"
#include "collector/loadgen.h"
#include "collector/profiler.h"
#include "collector/snapshot.h" /* root snapshots */
#include "collector/symbolize.h"
#include "format/pprof.h"

#include <assert.h>
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
#include <time.h>
#include <unistd.h>

/* Frames captured beyond the depth limit: the hook's, the runtime's and
 * libunwind's own, cut off before the stack is recorded. */
enum { ALLOCATOR_SLACK = 16, MAX_QUEUED = 4 };

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static mrc_prof *prof;                                       /* the sample tables (never freed) */
static mrc_lg *lg;                                           /* module generations (never freed) */
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER; /* hooks, listener */
static atomic_uint_fast64_t cur_rate;                        /* 0 = profiling off */
static atomic_uint_fast64_t out_rate = MRC_DEFAULT_PROFILE_RATE; /* rate of the samples */
static atomic_int stack_depth = MRC_DEFAULT_STACK_DEPTH;
static atomic_uint last_cycle; /* last completed collection */
static _Atomic(mrc_gc_listener) listener;
static void *_Atomic listener_ud;
static bool hooks_installed;
static bool agent_on; /* the attach agent runs: the hooks stay for its GC events */
/* A rate the agent asked for, applied at the next MR_GC_START (world
 * stopped); UINT64_MAX none. */
static atomic_uint_fast64_t next_cycle_rate = UINT64_MAX;
/* The rate the installed hooks sample at, for on_alloc to record with each
 * sample. The hooks' ud points at one of two slots; installing hooks fills
 * the other slot and points the new hooks at it, so a slot changes only
 * while no hook can be reading it: the hooks it belongs to are gone
 * (mr_set_hooks stops the world, so no on_alloc is left running with the old
 * ud), or the world is stopped (a rate change at MR_GC_START, through the ud
 * passed to on_gc). Every sample is thus recorded with exactly the rate its
 * gap was drawn with. ctl_lock guards rate_slot. */
static atomic_uint_fast64_t rate_slots[2];
static int rate_slot;

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
static bool writer_busy, writer_running;

/* Periodic pairs (a profile and a snapshot of one cycle, both named after
 * it). Kept by the collecting thread with the world stopped: decided at
 * MARK_DONE, the profile's counts taken at GC_END of the same cycle. */
static uint32_t pair_cycle; /* the cycle whose pair is being taken, 0 none */
static bool pair_owed;      /* a pair was due while a writer was busy */
static bool exiting;        /* the exit pair is the last one: no more periodic ones */
/* The exit profile: its counts (exit_snap, of cycle exit_cycle), taken at
 * GC_END of the exit snapshot's cycle (exit_with_snapshot), else of the
 * next cycle that ends. */
static bool exit_want, exit_with_snapshot, exit_have;
static uint32_t exit_cycle;
static mrc_prof_snapshot exit_snap;

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

/*
 * fork and the samples being taken. Taking a sample walks the stack
 * (libunwind) and reads the module generation, both through
 * dl_iterate_phdr, which holds the dynamic linker's lock of the module list
 * while it runs; the C library (glibc up to 2.36 at least) does not reset
 * that lock in a forked child. A fork while another thread takes a sample
 * then leaves the child waiting for ever at its own first sample (or stack
 * walk). So a sample is taken under capture_gate, read-locked, and a fork
 * waits for the samples under way and holds new ones back until it is done.
 * The gate prefers the fork (a writer): a thread sampling without pause
 * cannot keep it out.
 *
 * Order: the gate is taken before the generations' and the tables' locks
 * (a sample takes those inside it): its handlers are registered after
 * theirs, and the prepare handlers run in the reverse order of
 * registration.
 */
static pthread_rwlock_t capture_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static void capture_fork_prepare(void)
{
    pthread_rwlock_wrlock(&capture_gate);
}

static void capture_fork_parent(void)
{
    pthread_rwlock_unlock(&capture_gate);
}

/* In the child the gate is made anew: the threads that waited at it in the
 * parent are still counted in its state (as readers due), and none of them
 * exists here to take its turn. */
static void capture_fork_child(void)
{
    static const pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    memcpy(&capture_gate, &fresh, sizeof fresh);
}

/* Once, after the tables and the generations are made (see the order above). */
static void capture_gate_init(void)
{
    if (pthread_atfork(capture_fork_prepare, capture_fork_parent, capture_fork_child) != 0)
        fprintf(stderr, "maproot: out of memory (fork handlers): a program that forks while "
                        "another thread allocates may leave its child waiting\n");
}

/* The allocation hook: capture, keep the program's frames, count. Runs on a
 * mutator thread; uses malloc (in the tables) but never the GC heap. */
static void on_alloc(void *ud, void *obj, size_t size, const mr_type *t, const mr_alloc_call *call)
{
    (void)t;
    pthread_rwlock_rdlock(&capture_gate);
    uint64_t rate = atomic_load_explicit((atomic_uint_fast64_t *)ud, memory_order_relaxed);
    uintptr_t pcs[MRC_MAX_STACK_DEPTH + ALLOCATOR_SLACK + 1];
    int depth = atomic_load_explicit(&stack_depth, memory_order_relaxed);
    /* one frame more than kept: tells a cut stack from one of exactly depth */
    int n = unw_backtrace((void **)pcs, depth + ALLOCATOR_SLACK + 1);
    size_t m =
        mrc_prof_program_frames(pcs, n < 0 ? 0 : (size_t)n, call->pc, call->map, (size_t)depth);
    /* after the capture: see loadgen.h for why that generation holds the
     * stack's modules */
    uint32_t gen = lg ? mrc_lg_current(lg) : MRC_LG_NONE;
    mrc_prof_alloc(prof, (uintptr_t)obj, size, rate, pcs, m, gen, mrc_prof_hash_stack(pcs, m));
    pthread_rwlock_unlock(&capture_gate);
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

/* Is the profile writer too far behind to take another profile? */
static bool profile_queue_full(void)
{
    pthread_mutex_lock(&q_lock);
    bool full = q_len >= MAX_QUEUED;
    pthread_mutex_unlock(&q_lock);
    return full;
}

/* Queues the counts of this cycle (world stopped, at GC_END: exactly this
 * cycle's) for the writer thread, as a file named after the cycle. */
static void queue_periodic(uint32_t cycle)
{
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

/*
 * At MARK_DONE of a cycle a periodic pair is due at (every N-th, or the
 * next one after a pair had to wait): both writers must be free, else the
 * pair moves to the next cycle (one line on stderr per wait), so that a
 * series never holds half a pair and any two of its files can be compared.
 * The snapshot is taken now; the profile at GC_END (pair_cycle).
 */
static void periodic_pair(uint32_t cycle)
{
    bool snap = mrc__snapshot_periodic_on(), profile = env_path && env_every && writer_running;
    if ((snap && mrc__snapshot_busy()) || (profile && profile_queue_full())) {
        if (!pair_owed)
            fprintf(stderr,
                    "maproot: the files of an earlier GC cycle are still being written; the "
                    "profile and snapshot of GC cycle %" PRIu32 " move to a later cycle\n",
                    cycle);
        pair_owed = true;
        return;
    }
    pair_owed = false;
    /* a snapshot that could not even start: no profile either */
    if (snap && mrc__snapshot_periodic(cycle) != 0) return;
    if (profile) pair_cycle = cycle;
}

static void on_gc(void *ud, mr_gc_event ev, uint32_t cycle)
{
    mrc_gc_listener fn = atomic_load(&listener);
    if (ev == MR_GC_START) {
        mrc_prof_gc_start(prof);
        uint64_t r = atomic_exchange(&next_cycle_rate, UINT64_MAX);
        if (r != UINT64_MAX) {
            mr_set_sample_rate(r);
            atomic_store((atomic_uint_fast64_t *)ud, r);
            atomic_store(&cur_rate, r);
            if (r) atomic_store(&out_rate, r);
        }
    } else if (ev == MR_GC_MARK_DONE) {
        /* the listener first: a snapshot asked for by the API (or the exit)
         * is this cycle's, and a periodic pair then waits for its writer */
        if (fn) fn(atomic_load(&listener_ud), ev, cycle);
        if (env_every && !exiting && (cycle % env_every == 0 || pair_owed)) periodic_pair(cycle);
        if (agent_on) mrc__agent_on_gc(ev, cycle);
        return;
    } else if (ev == MR_GC_END) {
        mrc_prof_gc_end(prof);
        atomic_store(&last_cycle, cycle);
        if (pair_cycle == cycle) queue_periodic(cycle);
        pair_cycle = 0;
        if (exit_want && !exit_have &&
            (!exit_with_snapshot || mrc__snapshot_request_cycle() == cycle)) {
            exit_have = mrc_prof_snapshot_take(prof, false, &exit_snap) == 0;
            exit_cycle = cycle;
        }
        if (agent_on) mrc__agent_on_gc(ev, cycle);
    }
    if (fn) fn(atomic_load(&listener_ud), ev, cycle);
}

uint64_t mrc__profile_sample_rate(void)
{
    return atomic_load(&out_rate);
}

void mrc__profile_rate_next_cycle(uint64_t rate)
{
    atomic_store(&next_cycle_rate, rate);
}

uint64_t mrc__profile_rate_effective(void)
{
    uint64_t pending = atomic_load(&next_cycle_rate);
    return pending != UINT64_MAX ? pending : atomic_load(&cur_rate);
}

/* A client that set the rate is leaving: its rate goes, unless someone
 * (the program, another client) set another since. The check and the store
 * are not one step; a rate set by the program in between is overwritten at
 * worst until its next mrc_profile_start, which is acceptable for a
 * diagnostic knob. */
void mrc__profile_rate_restore(uint64_t mine, uint64_t before)
{
    if (mrc__profile_rate_effective() == mine) atomic_store(&next_cycle_rate, before);
}

/* Installs the hooks for the current rate and listener, or removes them
 * when neither needs them. ctl_lock held. Stops the world (mr_set_hooks). */
static void update_hooks_locked(void)
{
    uint64_t rate = atomic_load(&cur_rate);
    if (rate == 0 && !atomic_load(&listener) && !hooks_installed && !agent_on) return;
    /* Once any sample was taken, frees must keep being counted, so the
     * hooks stay (with sampling off: rate 0) when profiling stops. */
    rate_slot ^= 1;
    atomic_store(&rate_slots[rate_slot], rate);
    mr_hooks h = {
        .ud = &rate_slots[rate_slot],
        .sample_rate = rate,
        .on_alloc = on_alloc,
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

/* The collector's symbolizer (made on first use, refreshed for modules
 * loaded since). write_lock held. NULL when it cannot be made. */
static mrc_symbolizer *symbolizer_locked(void)
{
    if (!sym)
        sym = mrc__symbolizer_new();
    else
        mrc_sym_refresh(sym);
    return sym;
}

int mrc__write_profile_into(const mrc_prof_snapshot *snap, mf_out *o, uint64_t rate, uint32_t cycle,
                            mf_error *err)
{
    const char *path = mf_out_path(o);
    int rc = -1;
    pthread_mutex_lock(&write_lock);
    mf_pprof_writer *w = NULL;
    if (!symbolizer_locked()) {
        mf_error_set(err, "%s: cannot read this process's modules for symbols", path);
    } else if (!(w = mf_pw_new())) {
        mf_error_set(err, "%s: out of memory", path);
    } else {
        /* copied after the snapshot was taken: it holds the snapshot's
         * generations (they are never removed). Without it (out of memory)
         * every address is read against the modules loaded now. */
        mrc_lg *gens = lg ? mrc_lg_copy(lg) : NULL;
        mrc_heapprof_opts opts = {rate, atomic_load(&stack_depth), 0, cycle};
        if (mrc_heapprof_build(snap, &opts, sym, gens, w, err) == 0) {
            rc = mf_pw_write_out(w, o, true, err);
            o = NULL; /* taken over */
        }
        mrc_lg_destroy(gens);
    }
    mf_pw_free(w);
    pthread_mutex_unlock(&write_lock);
    mf_out_abort(o);
    return rc;
}

/* Symbolizes snap and writes it to path. Any thread; serialized. */
static int write_snapshot(const mrc_prof_snapshot *snap, const char *path, uint64_t rate,
                          uint32_t cycle, mf_error *err)
{
    mf_out *o = mf_out_open(path, err);
    return o ? mrc__write_profile_into(snap, o, rate, cycle, err) : -1;
}

void mrc__symbolizer_warm(void)
{
    pthread_mutex_lock(&write_lock);
    symbolizer_locked();
    pthread_mutex_unlock(&write_lock);
}

void mrc__describe_pc(uintptr_t pc, char *fn, size_t fn_cap, char *file, size_t file_cap,
                      int64_t *line)
{
    fn[0] = file[0] = 0;
    *line = 0;
    if (!pc) return;
    pthread_mutex_lock(&write_lock);
    const mrc_sym_frame *fr;
    size_t n = symbolizer_locked() ? mrc_sym_lookup(sym, pc - 1, &fr) : 0;
    if (n) {
        /* the innermost frame (an inlined function's name and line) that
         * is the program's: the runtime's inline helpers of rt.h
         * (mr_map_assign_int, ...) are where the program called, not who */
        size_t k = 0;
        while (k + 1 < n && strncmp(fr[k].function, "mr_", 3) == 0) k++;
        snprintf(fn, fn_cap, "%s", fr[k].function);
        snprintf(file, file_cap, "%s", fr[k].file);
        *line = fr[k].line;
    }
    pthread_mutex_unlock(&write_lock);
}

/* MAPROOT_PROFILE_HOLD_MS (for tests): how much longer the writer thread
 * takes over each profile, busy for the fork guard all the while. */
static long writer_hold_ms;

void mrc__hold_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    if (ms > 0) nanosleep(&ts, NULL);
}

/* The writer thread: writes queued snapshots until the process ends. It
 * symbolizes, allocating throughout: a snapshot writer forked meanwhile in
 * a build whose allocator is not fork-safe could wait for ever in malloc,
 * so for the fork guard it is busy from taking a job to having freed it,
 * and idle only while it waits for the next (forkguard.h). */
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

        mrc__fork_busy();
        mf_error err = {{0}};
        if (write_snapshot(&j->snap, j->path, j->rate, j->cycle, &err) != 0)
            fprintf(stderr, "maproot: cannot write heap profile: %s\n", err.msg);
        mrc_prof_snapshot_free(&j->snap);
        free(j->path);
        free(j);
        mrc__hold_ms(writer_hold_ms);
        mrc__fork_idle();

        pthread_mutex_lock(&q_lock);
        writer_busy = false;
        if (!q_head) pthread_cond_broadcast(&q_idle);
        pthread_mutex_unlock(&q_lock);
    }
    return NULL;
}

/* A thread being started: its function, and whether it runs it yet
 * (under lock; on the stack of mrc__start_thread, which waits for it). */
typedef struct thread_start {
    void *(*fn)(void *);
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool up;
} thread_start;

static void *thread_trampoline(void *arg)
{
    thread_start *ts = arg;
    void *(*fn)(void *) = ts->fn;
    pthread_mutex_lock(&ts->lock);
    ts->up = true;
    pthread_cond_signal(&ts->cond);
    pthread_mutex_unlock(&ts->lock); /* ts is gone from here on */
    return fn(NULL);
}

/*
 * Returns once the new thread runs fn. Before that it is in the C
 * library's and a sanitizer's start-up, which allocate (in
 * AddressSanitizer's build, glibc's pthread_getattr_np reallocs there),
 * and the fork guard cannot see it: it is busy for the guard only from
 * fn's first mrc__fork_busy on. A snapshot writer forked meanwhile -- the
 * program's first snapshot may be due milliseconds after the collector
 * starts, and a loaded machine delays a new thread's first run by as
 * much -- could copy an allocator lock held for good (forkguard.h). So
 * the start-up is its creator's time: the main thread's before the
 * program goes on, the agent's (busy for the guard) for its worker.
 */
int mrc__start_thread(void *(*fn)(void *))
{
    thread_start ts = {fn, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, thread_trampoline, &ts);
    pthread_attr_destroy(&attr);
    if (rc == 0) {
        pthread_mutex_lock(&ts.lock);
        while (!ts.up) pthread_cond_wait(&ts.cond, &ts.lock);
        pthread_mutex_unlock(&ts.lock);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_cond_destroy(&ts.cond);
    pthread_mutex_destroy(&ts.lock);
    return rc;
}

static void start_writer(void)
{
    const char *hold = getenv("MAPROOT_PROFILE_HOLD_MS");
    if (hold && *hold) writer_hold_ms = strtol(hold, NULL, 10);
    int rc = mrc__start_thread(writer_main);
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

/*
 * At exit, one collection gives the last files of the run, a pair of one
 * cycle: the snapshot (MAPROOT_SNAPSHOT) is taken at its MARK_DONE, the
 * profile's counts (MAPROOT_PROFILE) at its GC_END, so their figures agree.
 * The exiting thread's frames are no roots any more (main has returned).
 * Periodic files stop first: the writers still running are waited for
 * (bounded, see snapshot.h), so no file of the run appears after it ends.
 * A failure is one line on stderr.
 */
static void at_exit(void)
{
    mr_exiting();
    exiting = true;
    bool attached = mr_thread_is_attached();
    exit_want = env_path != NULL;
    exit_have = false;
    if (mrc__snapshot_path()) {
        /* the snapshot's collection gives the profile its counts too */
        exit_with_snapshot = true;
        mrc__snapshot_exit(NULL);
        exit_with_snapshot = false;
    } else {
        mrc__snapshot_wait_writer();
    }
    if (exit_want && !exit_have) mr_gc(); /* no snapshot: a collection of its own */
    exit_want = false;
    if (attached) mr_blocking_enter();
    wait_writer_idle();
    if (attached) mr_blocking_exit();
    if (!env_path) return;
    if (!exit_have) {
        /* no hooks saw that collection (profiling off, nothing listening):
         * the counts as of the last completed cycle, as the API takes them */
        exit_cycle = atomic_load(&last_cycle);
        if (mrc_prof_snapshot_take(prof, true, &exit_snap) != 0) {
            fprintf(stderr, "maproot: cannot write heap profile: %s: out of memory taking it\n",
                    env_path);
            return;
        }
    }
    if (attached) mr_blocking_enter();
    mf_error err = {{0}};
    int rc = write_snapshot(&exit_snap, env_path, atomic_load(&out_rate), exit_cycle, &err);
    if (attached) mr_blocking_exit();
    mrc_prof_snapshot_free(&exit_snap);
    if (rc != 0) fprintf(stderr, "maproot: cannot write heap profile: %s\n", err.msg);
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

/* An integer environment variable from min to max, or def, with one line on
 * stderr naming the range (libmaproot(3)'s) when the value is not in it. */
static uint64_t env_u64(const char *name, uint64_t def, uint64_t min, uint64_t max)
{
    assert(min <= def && def <= max);
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || v[0] == '-' || x < min || x > max) {
        fprintf(stderr,
                "maproot: %s=%s is not a number from %" PRIu64 " to %" PRIu64 "; using %" PRIu64
                "\n",
                name, v, min, max, def);
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
    lg = mrc_lg_new();   /* NULL: samples are read against the modules at write time */
    capture_gate_init(); /* after both: its fork handlers run before theirs */
    uint64_t rate = env_u64("MAPROOT_PROFILE_RATE", MRC_DEFAULT_PROFILE_RATE, 0, UINT32_MAX);
    uint64_t depth =
        env_u64("MAPROOT_STACK_DEPTH", MRC_DEFAULT_STACK_DEPTH, 1, MRC_MAX_STACK_DEPTH);
    atomic_store(&stack_depth, (int)depth);
    const char *path = getenv("MAPROOT_PROFILE");
    uint64_t every = env_u64("MAPROOT_PROFILE_EVERY", 0, 0, UINT32_MAX);
    env_every = (uint32_t)every;
    if (path && *path) {
        env_path = strdup(path);
        if (env_path && env_every) start_writer();
    } else if (every && !getenv("MAPROOT_SNAPSHOT")) {
        fprintf(stderr, "maproot: MAPROOT_PROFILE_EVERY needs MAPROOT_PROFILE or "
                        "MAPROOT_SNAPSHOT (the path); ignored\n");
    }
    /* ---- root snapshots: MAPROOT_SNAPSHOT, see snapshot.h */
    mrc_gc_listener snap = mrc__snapshot_init();
    /* ---- the attach agent: MAPROOT_ATTACH, see agent.h (its exit handler
     * is registered first, so it runs after the exit files are written) */
    agent_on = mrc__agent_init();
    if (env_path || mrc__snapshot_path()) atexit(at_exit);
    if (snap) atomic_store(&listener, snap);
    if (rate || snap || agent_on) {
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
    mrc__agent_wait_for_client(); /* MAPROOT_ATTACH_WAIT, outside the once */
}
