/*
 * maproot/collector.h -- libmaproot, the collector that runs inside a program
 * on libmaprt.
 *
 * Linking libmaproot is all a program needs: a constructor reads the
 * environment and installs the runtime hooks, so no code changes are needed
 * for the environment variables below. The functions here are for programs
 * that want to steer the collector themselves. Every function is thread-safe
 * and may be called from threads that are attached to the runtime or not.
 *
 * The sections below belong to the parts of the collector:
 *   heap profiling      (src/collector/collector.c, profiler.c, symbolize.c)
 *   root snapshots      (src/collector/snapshot.c)
 *   leak checks         (src/collector/leakcheck.c)
 *
 * The attach agent (src/collector/agent.c), which lets `maproot trace` and
 * `maproot ps` attach to the running program, has no functions: it starts
 * with the collector. Environment: MAPROOT_ATTACH=0 (no endpoint),
 * MAPROOT_ATTACH_WAIT=SECS (wait at start for a client); see libmaproot(3).
 */
#ifndef MAPROOT_COLLECTOR_H
#define MAPROOT_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================== heap profiling === */
/*
 * Sampled allocation profiling, like Go's runtime.MemProfileRate: the gap
 * between two sampled allocations is drawn from an exponential distribution
 * with a mean of `rate` bytes, so an allocation of s bytes is sampled with
 * probability 1 - exp(-s/rate); rate 1 samples every allocation. For each
 * sampled allocation the collector keeps its call stack (captured with
 * libunwind, the allocator's own frames dropped) and counts allocations and
 * frees per (stack, size).
 *
 * In-use figures follow Go: a heap profile shows the heap as of the most
 * recently completed garbage collection. Objects allocated since then are
 * not in it yet (neither in the alloc_* nor the inuse_* values).
 *
 * Environment (read once, by the constructor):
 *   MAPROOT_PROFILE_RATE=N   mean bytes between samples (default 524288;
 *                            1 = every allocation; 0 = profiling off)
 *   MAPROOT_PROFILE=PATH     write a heap profile to PATH when the program
 *                            exits (after a full collection, so that in-use
 *                            figures are those of the heap at exit)
 *   MAPROOT_PROFILE_EVERY=N  with MAPROOT_PROFILE, also write one after every
 *                            N-th collection, to PATH with the cycle number
 *                            inserted before the extension:
 *                            heap.pb.gz -> heap.0005.pb.gz (cycle 5)
 *   MAPROOT_STACK_DEPTH=N    frames kept per stack (default 64, max 256)
 * A bad value prints one line to stderr and the default is used.
 *
 * Files are written gzipped, to a temporary name in the same directory and
 * then renamed. The periodic profiles are written by a background thread of
 * the collector (not a mutator: it never touches heap objects), never while
 * the world is stopped. A failed write prints one line to stderr (periodic
 * and exit profiles) or returns -1 (API) and the program goes on.
 */

/* Default mean bytes between sampled allocations (Go's MemProfileRate). */
#define MRC_DEFAULT_PROFILE_RATE 524288u
/* Default and largest number of frames kept per stack. */
#define MRC_DEFAULT_STACK_DEPTH 64
#define MRC_MAX_STACK_DEPTH 256

/*
 * Starts (or restarts with a new rate) sampling allocation profiling; rate 0
 * is the same as mrc_profile_stop(). Counts gathered so far are kept. Returns
 * 0, or -1 (see mrc_last_error) if the collector cannot start.
 * Stops the world briefly to install the hooks.
 */
int mrc_profile_start(uint64_t rate);

/* Stops sampling. The counts stay and can still be written; allocations
 * already sampled are still counted when they are freed. */
void mrc_profile_stop(void);

/* The current sampling rate (0 when profiling is off). */
uint64_t mrc_profile_rate(void);

/* Sets the number of frames kept per stack (1..MRC_MAX_STACK_DEPTH) for
 * stacks captured from now on. Returns 0, or -1 for a bad depth. */
int mrc_set_stack_depth(int depth);

/*
 * Writes a heap profile of the allocations sampled so far to path (pprof,
 * gzipped, atomically: temporary file + rename). In-use figures are as of
 * the last completed collection; call mr_gc() first for figures as of now.
 * An attached calling thread counts as blocked (mr_blocking_enter) while the
 * file is symbolized and written, so collections are not held up.
 * Returns 0, or -1 with the reason in mrc_last_error().
 */
int mrc_write_heap_profile(const char *path);

/*
 * The message of the last failure of a collector call on the calling thread
 * (e.g. "cannot write /no/such/dir/heap.pb.gz: No such file or directory"),
 * or "" if there was none. The string belongs to the collector and stays
 * valid until the next collector call on this thread.
 */
const char *mrc_last_error(void);

/*
 * Reads the environment and installs the hooks, as the constructor does.
 * Idempotent. Only needed when the constructor could not run because the
 * linker dropped libmaproot (a static link without --whole-archive, or a
 * shared link with --as-needed and no call into the library).
 */
void mrc_init(void);

/* ====================================================== root snapshots === */
/*
 * A root snapshot (NAME.gcstack.gz, format in proto/gcstack.proto and
 * maproot-gcstack(5)) records one garbage-collection cycle as seen when
 * marking has finished: every root (globals with their names, stack words
 * with thread, frame and function, registers, pins, live iterators), every
 * live object with its type and size, every pointer edge, the internals of
 * every map (geometry, buckets, overflow buckets, old buckets and evacuation
 * progress during growth, each entry with its key rendered) and the
 * allocation stacks of the objects the heap profiler sampled. It carries its
 * own symbols, so `maproot analyze` can read it on another machine.
 *
 * How it is written: like Redis's background save, the collecting thread
 * forks at mark termination and the child writes the copy-on-write image of
 * the heap while the program runs on; the snapshot adds only the fork to the
 * collection's own stop-the-world pause (recorded in the snapshot's header).
 * If fork fails (or MAPROOT_SNAPSHOT_FORK=0), the snapshot is written with
 * the world stopped. The file's header says which. Files are written to a
 * temporary name and renamed.
 *
 * Environment (read once, by the constructor):
 *   MAPROOT_SNAPSHOT=PATH    write a snapshot to PATH when the program exits,
 *                            and with MAPROOT_PROFILE_EVERY=N after every
 *                            N-th collection to PATH with the cycle number
 *                            inserted before the extension, as the profiles
 *                            are: heap.gcstack.gz -> heap.0005.gcstack.gz
 *                            (beside heap.0005.pb.gz)
 *   MAPROOT_SNAPSHOT_FORK=0  never fork (write with the world stopped)
 *   MAPROOT_SNAPSHOT_FORK=stop  (for tests) forked writers stop themselves
 *                            before writing, as hung ones would
 *   MAPROOT_SNAPSHOT_LEVEL=N gzip level 0-9 (default 0: stored blocks, the
 *                              fastest; 1 the fastest compression) or "raw"
 * A failed periodic or exit snapshot prints one line to stderr and the
 * program goes on.
 */

/*
 * Runs a full collection and writes a snapshot of it to path. Returns when
 * the file is complete (the calling thread, if attached, counts as blocked
 * while it waits for the background writer). A writer that makes no
 * progress for MAPROOT_WRITER_STALL seconds (default 10) while it does not
 * wait its turn is stuck: it is killed, one line on stderr says so, and the
 * snapshot is written with the world stopped at the next collection.
 * Returns 0, or -1 with the reason in mrc_last_error(). One snapshot at a
 * time: concurrent calls wait.
 */
int mrc_write_snapshot(const char *path);

/* What the last snapshot written by mrc_write_snapshot (or at exit) cost. */
typedef struct mrc_snapshot_info {
    int mode; /* 1 forked child, 2 written with the world stopped */
    uint32_t gc_cycle;
    uint64_t objects, roots, maps, entries;
    uint64_t object_bytes; /* bytes of the live objects */
    uint64_t file_bytes;   /* size of the file written */
    uint64_t pause_ns;     /* the program's pause for the snapshot (fork, or the write) */
    uint64_t work_ns;      /* CPU time of the whole snapshot (child + pause) */
    uint64_t wall_ns;      /* time the writer took, from start to rename */
} mrc_snapshot_info;

/* Fills *out and returns 0, or -1 if no snapshot was written yet. */
int mrc_last_snapshot_info(mrc_snapshot_info *out);

/* ========================================================= leak checks === */
/*
 * A leak check around a block of a test, in the spirit of pytest-memray's
 * limit_leaks: the block fails when a map grows.
 *
 *     mrc_leakcheck lc = {.warmups = 1};
 *     mrc_leak_report r;
 *     MRC_LEAKCHECK(&lc, &r) {
 *         serve_requests(cache, 1000);
 *     }
 *     if (r.status != 0) fputs(r.text, stderr);
 *     assert(r.status == 0);
 *     mrc_leak_report_free(&r);
 *
 * mrc_leakcheck_begin runs a full collection and takes a census of every
 * live map, in memory: its entries, its retained bytes (its table -- header,
 * bucket arrays, overflow buckets -- and the objects its keys and values
 * point to, and the objects those point to: two levels, each object once),
 * the root that holds it and the hashes of its keys (their bytes; a string
 * key's content). mrc_leakcheck_end runs a second collection and census
 * and compares them: a map that grew by more
 * than max_entries entries, or by more than max_bytes retained bytes, is a
 * leak (a map created in between grew from nothing). Maps are matched by
 * address and seed (the runtime never moves a live map; a new map where a
 * dropped one's header was has a seed of its own), else by type and root (a
 * map replaced under its root, or emptied or cleared: a new seed). A map
 * held only by the calling thread's own stack (the test's variables) is
 * the test's, not the code's: not judged. The report names, per leak, the
 * map's type and root, the figures, the keys added (the first few, and how
 * many) and the allocation sites of their values where the heap profiler
 * sampled them (MAPROOT_PROFILE_RATE; 1 samples every allocation) -- what
 * `maproot gate` says of a leak.
 *
 * Cost: two full collections and two censuses, each a walk of the heap's
 * objects to find the map headers plus a walk of every map and of two
 * levels of objects under its entries; no file, no fork. With the world
 * stopped during each census. bench/run-leakcheck.sh measures it.
 *
 * The block runs in the calling thread; other mutator threads keep running
 * between the census and what they do counts. Checks on different threads
 * are independent but each runs collections of the whole heap.
 */

/* Default of max_bytes: retained bytes a map may grow by. */
#define MRC_LEAKCHECK_DEFAULT_BYTES (1u << 20)

typedef struct mrc_leakcheck {
    uint64_t max_entries; /* entries a map may gain (0: none) */
    uint64_t max_bytes;   /* retained bytes a map may gain (0: MRC_LEAKCHECK_DEFAULT_BYTES) */
    unsigned warmups;     /* MRC_LEAKCHECK: unjudged runs of the block before the judged one */
    /* private */
    unsigned run_;
    void *census_;
} mrc_leakcheck;

/* One map that grew too much. Strings belong to the report. */
typedef struct mrc_leak {
    const char *type; /* "map[string]*Session" */
    const char *root; /* "global session_cache (sessiond.c:44)", "stack: ..." */
    uint64_t entries_before, entries_after;
    uint64_t bytes_before, bytes_after; /* retained, as the census counts it */
    uint64_t keys_added;                /* keys at the end that were not there at the start */
} mrc_leak;

typedef struct mrc_leak_report {
    int status; /* 0 no leak, 1 leaks, -1 the check could not run (text) */
    size_t nleaks;
    const mrc_leak *leaks;            /* the largest growth first */
    uint64_t maps;                    /* maps in the census at the end */
    uint64_t heap_before, heap_after; /* bytes of the heap's objects at each census */
    const char *text;                 /* the report for people; "" with status 0 */
    /* private */
    void *mem_;
} mrc_leak_report;

/* Starts a check: a full collection and the first census. Returns 0, or -1
 * (see mrc_last_error). lc's settings are read here and at the end. */
int mrc_leakcheck_begin(mrc_leakcheck *lc);

/* Ends a check begun on lc: a full collection, the second census, the
 * verdict in *report (free it with mrc_leak_report_free). Returns
 * report->status: 0 no leak, 1 leaks, -1 the check could not run. */
int mrc_leakcheck_end(mrc_leakcheck *lc, mrc_leak_report *report);

void mrc_leak_report_free(mrc_leak_report *report);

/*
 * MRC_LEAKCHECK(lc, report) { BLOCK }: runs BLOCK lc->warmups times
 * unjudged (a cache's first fill, lazy initialization), then once between
 * mrc_leakcheck_begin and mrc_leakcheck_end; *report has the verdict. The
 * block must not leave by break, goto or return. mrc_leakcheck_step is
 * its loop's step: 1 to run the block once more, 0 when the check is done.
 */
int mrc_leakcheck_step(mrc_leakcheck *lc, mrc_leak_report *report);
#define MRC_LEAKCHECK(lc, report) for ((lc)->run_ = 0; mrc_leakcheck_step((lc), (report));)

#ifdef __cplusplus
}
#endif
#endif
