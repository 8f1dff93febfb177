/*
 * src/collector/snapshot.h -- root snapshots (gcstack files) of a program on
 * libmaprt: what collector.c needs from snapshot.c. The public API
 * (mrc_write_snapshot, mrc_last_snapshot_info) is in maproot/collector.h.
 *
 * A snapshot is taken in the runtime's MR_GC_MARK_DONE event, when the
 * world is stopped and the mark bits say exactly which objects are live.
 * Like Redis's BGSAVE, the collecting thread forks: the child walks the
 * copy-on-write image of the heap (roots, live objects, edges, maps,
 * sampled allocation stacks) and writes the file, while the parent returns
 * at once and the world restarts. The program's pause is the fork. When
 * fork fails (or MAPROOT_SNAPSHOT_FORK=0), the snapshot is written in the
 * event itself, world stopped. The header records which.
 *
 * Environment (read by mrc__snapshot_init):
 *   MAPROOT_SNAPSHOT=PATH    write a snapshot to PATH at exit, and with
 *                            MAPROOT_PROFILE_EVERY=N after every N-th cycle
 *                            to PATH with the cycle inserted before the
 *                            extension (heap.gcstack.gz ->
 *                            heap.0005.gcstack.gz), beside the profile of
 *                            the same cycle (heap.0005.pb.gz)
 *   MAPROOT_SNAPSHOT_FORK=0  never fork: write with the world stopped
 *   MAPROOT_SNAPSHOT_LEVEL=N gzip level 0-9 (default 0: stored blocks, the
 *                            fastest; 1 the fastest compression), or "raw"
 *                            for the content without gzip (for tests)
 */
#ifndef MRC_SNAPSHOT_H
#define MRC_SNAPSHOT_H

#include "collector/internal.h"

/*
 * Called once from the collector's initialization (inside its pthread_once:
 * it must not call mrc_init or mrc__set_gc_listener). Reads the environment
 * and registers the exit snapshot. Returns the GC listener to install now
 * (periodic snapshots), or NULL when none is needed yet.
 */
mrc_gc_listener mrc__snapshot_init(void);

#endif
