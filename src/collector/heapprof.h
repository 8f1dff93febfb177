/*
 * src/collector/heapprof.h -- a pprof heap profile from a profiler snapshot.
 *
 * Symbolizes the sampled stacks (the program's frames, the first being the
 * allocating caller, as Go drops mallocgc: see profiler.h), merges buckets
 * that become equal under the depth limit, unsamples the counts like Go's
 * scaleHeapSample (each bucket with the rate its samples were taken at)
 * and writes Go's heap sample types: alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes; period_type space/bytes with the
 * sampling rate as period; a numeric "bytes" label per sample (the object
 * size); mappings with GNU build IDs; locations with addresses and their
 * (inlined) lines. A stack cut at the depth limit (when captured, or here
 * to opts.max_depth) ends, at the root side, with a frame of the function
 * MRC_HEAPPROF_TRUNCATED, so that every tool shows how much was cut.
 *
 * Threads: not thread-safe (the symbolizer is not); callers serialize.
 */
#ifndef MRC_HEAPPROF_H
#define MRC_HEAPPROF_H

#include "collector/loadgen.h"
#include "collector/profiler.h"
#include "collector/symbolize.h"
#include "format/pprof.h"

#include <stdbool.h>

#define MRC_HEAPPROF_TRUNCATED "(truncated stack)"

typedef struct mrc_heapprof_opts {
    uint64_t rate;      /* the current sampling rate: the profile's period */
    int max_depth;      /* frames kept per stack */
    int64_t time_nanos; /* when the counts were taken (0: now) */
    uint32_t gc_cycle;  /* the last completed collection (for the comment) */
} mrc_heapprof_opts;

/*
 * Builds the profile of snap into the empty writer w, reading each sample's
 * addresses against the modules of its generation in lg (a copy that holds
 * every generation of snap; NULL: against the modules loaded now, as
 * sym has them). Returns 0, or -1 with err set (out of memory).
 */
int mrc_heapprof_build(const mrc_prof_snapshot *snap, const mrc_heapprof_opts *o,
                       mrc_symbolizer *sym, const mrc_lg *lg, mf_pprof_writer *w, mf_error *err);

#endif
