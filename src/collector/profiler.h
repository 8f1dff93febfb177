/*
 * src/collector/profiler.h -- the sample tables of the heap profiler.
 *
 * What the allocation hooks record, independent of the runtime, of stack
 * capture and of the output format (so the tables can be tested alone):
 *   - stacks, interned by hash: return addresses, leaf first, of the
 *     program's frames only (mrc_prof_program_frames cuts them from a
 *     captured stack at the program's call into the runtime, which the
 *     runtime tells the hook: no symbols needed);
 *   - buckets, one per (stack, size, sampling rate), with allocation and
 *     free counts (a sample's weight depends on the rate it was taken at,
 *     which may change while the program runs);
 *   - sampled objects: object address -> bucket, so a free finds its bucket.
 *
 * Go's in-use semantics. A profile shows the heap as of the last completed
 * collection. Each bucket keeps two sets of counts:
 *   pending  sampled allocations since the start of the last collection;
 *   visible  allocations published at the start of a collection, and frees
 *            counted directly as the sweep reports them.
 * mrc_prof_gc_start() (called at MR_GC_START, world stopped) moves pending
 * into visible; frees (from the sweep of that same cycle) go into visible.
 * The invariant, between collections, for every bucket:
 *   visible.allocs - visible.frees == the sampled objects of the bucket that
 *   were allocated before the last collection started and survived it,
 * i.e. exactly the sampled part of the heap the last collection left behind.
 * It holds because the world is stopped from MR_GC_START to MR_GC_END (no
 * allocation can slip in between the publication and the sweep), and a sweep
 * only frees objects allocated before its collection started, whose
 * allocations were therefore already published: visible frees never exceed
 * visible allocations. Snapshots wait while a collection is in progress, so
 * they never see a half-swept cycle.
 *
 * Threads: every function is thread-safe (one mutex). mrc_prof_alloc may run
 * on many mutator threads at once; it uses malloc only, never the GC heap.
 * fork: the first table made (the collector's) takes part in every fork of
 * the process (pthread_atfork): the child gets it unlocked and whole, even
 * when another thread was recording a sample at that moment.
 */
#ifndef MRC_PROFILER_H
#define MRC_PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mrc_prof mrc_prof;

/* The last entry of a stack cut at the depth limit: its outer frames are
 * missing. No code lives at address 1, so no return address is this. */
#define MRC_PROF_TRUNCATED ((uintptr_t)1)

/* A new, empty set of tables, or NULL when out of memory. */
mrc_prof *mrc_prof_new(void);
void mrc_prof_destroy(mrc_prof *p);

/*
 * Keeps the program's frames of a stack captured in the allocation hook,
 * moving them to the front of pcs: those from the frame that returns to
 * `caller` (the program's call into the runtime, mr_alloc_call.pc) outwards,
 * with the frame of the runtime's entry point before them when keep_entry
 * (a map operation: where the map grew); at most depth of them. When more
 * than depth were captured, the stack is cut to depth and ends with
 * MRC_PROF_TRUNCATED (so the caller captures at least one frame more than
 * it keeps, to tell a cut stack from one exactly depth deep). When no
 * captured frame returns to caller (the unwinder stopped short), the stack
 * is that one return address. caller 0 (unknown) keeps the stack as it is.
 * Returns the new length (at most depth + 1).
 */
size_t mrc_prof_program_frames(uintptr_t *pcs, size_t n, uintptr_t caller, bool keep_entry,
                               size_t depth);

/* FNV-1a-style hash of a stack, computed by the caller outside the lock. */
uint64_t mrc_prof_hash_stack(const uintptr_t *pcs, size_t n);

/*
 * Records a sampled allocation of `size` bytes at address obj, sampled at
 * `rate` (the mean bytes between samples when it was drawn), with the stack
 * pcs[0..n) (leaf first; n may be 0) whose hash is mrc_prof_hash_stack(pcs, n),
 * its addresses those of module generation gen (loadgen.h: a number the
 * tables keep with the stack and give back in snapshots, so that a profile
 * reads each address against the modules loaded when it was taken).
 * The count is pending until the next mrc_prof_gc_start. An address that is
 * still recorded (its free was never reported, e.g. while profiling was
 * stopped) counts as freed first. Returns 0, or -1 when out of memory (the
 * sample is dropped and counted in mrc_prof_dropped).
 */
int mrc_prof_alloc(mrc_prof *p, uintptr_t obj, uint64_t size, uint64_t rate, const uintptr_t *pcs,
                   size_t n, uint32_t gen, uint64_t hash);

/* Records that the sampled object at obj was freed (from the sweep). An
 * address never recorded is ignored. */
void mrc_prof_free_obj(mrc_prof *p, uintptr_t obj);

/* Start of a collection: publishes the pending counts and marks a
 * collection in progress (snapshots wait until mrc_prof_gc_end). */
void mrc_prof_gc_start(mrc_prof *p);
/* End of a collection: the visible counts are complete again. */
void mrc_prof_gc_end(mrc_prof *p);

/* Publishes pending counts outside a collection (when profiling stops, so
 * that what was sampled is not held back forever). */
void mrc_prof_publish(mrc_prof *p);

/* One bucket in a snapshot: its stack is frames[frame_start, +n_frames). */
typedef struct mrc_prof_record {
    uint64_t size;
    uint64_t rate; /* the sampling rate of its samples */
    uint64_t allocs, alloc_bytes;
    uint64_t frees, free_bytes;
    uint32_t frame_start, n_frames;
    uint32_t gen; /* the module generation of its addresses */
} mrc_prof_record;

typedef struct mrc_prof_snapshot {
    mrc_prof_record *records;
    size_t n_records;
    uintptr_t *frames;
    size_t n_frames;
    uint64_t dropped; /* samples lost to out-of-memory */
} mrc_prof_snapshot;

/*
 * Copies the visible counts of every bucket that has any (with their
 * stacks) into *out, which the caller frees with mrc_prof_snapshot_free.
 * With wait, waits while a collection is in progress; without it (when the
 * caller knows none is, e.g. at MR_GC_END) it does not. Returns 0, or -1
 * when out of memory (*out is then empty).
 */
int mrc_prof_snapshot_take(mrc_prof *p, bool wait, mrc_prof_snapshot *out);
void mrc_prof_snapshot_free(mrc_prof_snapshot *s);

/* Samples dropped because memory ran out. */
uint64_t mrc_prof_dropped(mrc_prof *p);

/*
 * Go's scaleHeapSample: turns sampled (count, bytes) into estimates of the
 * true figures. A sample of average size s at rate r was taken with
 * probability 1 - exp(-s/r), so it stands for 1/(1 - exp(-s/r)) objects.
 * rate <= 1 (every allocation sampled) and empty input are returned as is.
 */
void mrc_scale_heap_sample(uint64_t count, uint64_t bytes, uint64_t rate, int64_t *count_out,
                           int64_t *bytes_out);

/* ---- for root snapshots ---- */

/* Calls fn for every sampled object still recorded (allocated and not yet
 * reported freed): its address, its allocation size and its raw stack (leaf
 * first; without the MRC_PROF_TRUNCATED mark of a cut one). Holds the lock
 * throughout: fn must not call into p. */
void mrc_prof_each_object(mrc_prof *p,
                          void (*fn)(void *ud, uintptr_t obj, uint64_t size, const uintptr_t *pcs,
                                     size_t n),
                          void *ud);

#endif
