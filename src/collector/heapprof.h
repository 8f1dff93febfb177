/*
 * src/collector/heapprof.h -- a pprof heap profile from a profiler snapshot.
 *
 * Symbolizes the sampled stacks, drops the allocator's own leading frames
 * (so the first frame is the allocating caller, as Go drops mallocgc), merges
 * buckets that become equal, unsamples the counts like Go's scaleHeapSample
 * and writes Go's heap sample types: alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes; period_type space/bytes with the
 * sampling rate as period; a numeric "bytes" label per sample (the object
 * size); mappings with GNU build IDs; locations with addresses and their
 * (inlined) lines.
 *
 * Allocator frames: the runtime's allocation entry points (mr_new,
 * mr_new_array, mr_alloc_blob, mr_str_new, mr_str_from, mr_str_printf), its
 * internal functions (mr__*, except the map's mr__map*), anything in
 * src/rt/heap.c or src/rt/gc.c, the collector's own code (src/collector/,
 * mrc_*) and libunwind's. Map functions (mr_map_*, src/rt/map.c) are kept:
 * they show where maps grow.
 *
 * Threads: not thread-safe (the symbolizer is not); callers serialize.
 */
#ifndef MRC_HEAPPROF_H
#define MRC_HEAPPROF_H

#include "collector/profiler.h"
#include "collector/symbolize.h"
#include "format/pprof.h"

#include <stdbool.h>

typedef struct mrc_heapprof_opts {
    uint64_t rate;      /* the sampling rate of the snapshot */
    int max_depth;      /* frames kept per stack after the allocator's */
    int64_t time_nanos; /* when the counts were taken (0: now) */
    uint32_t gc_cycle;  /* the last completed collection (for the comment) */
} mrc_heapprof_opts;

/* Is this frame (the function that physically holds a pc) allocator code? */
bool mrc_is_allocator_frame(const char *function, const char *file);

/*
 * Builds the profile of snap into the empty writer w. Returns 0, or -1 with
 * err set (out of memory).
 */
int mrc_heapprof_build(const mrc_prof_snapshot *snap, const mrc_heapprof_opts *o,
                       mrc_symbolizer *sym, mf_pprof_writer *w, mf_error *err);

#endif
