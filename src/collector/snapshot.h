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
 *   MAPROOT_SNAPSHOT_FORK=stop  (for tests) every forked writer stops
 *                            itself (SIGSTOP) before writing: a writer
 *                            that hangs, for the bounds on waiting for one
 *   MAPROOT_SNAPSHOT_FORK=slow:FD  (for tests) every forked writer first
 *                            writes 256 KiB into descriptor FD (a pipe the
 *                            test drains when it likes), then its
 *                            snapshot: a writer slow but not stuck
 *   MAPROOT_EXIT_WAIT=SECS   how long the end of the program waits for a
 *                            snapshot writer (default 60)
 *   MAPROOT_SNAPSHOT_LEVEL=N gzip level 0-9 (default 0: stored blocks, the
 *                            fastest; 1 the fastest compression), or "raw"
 *                            for the content without gzip (for tests)
 */
#ifndef MRC_SNAPSHOT_H
#define MRC_SNAPSHOT_H

#include "collector/internal.h"
#include "collector/snapshot_image.h"
#include "format/outfile.h"

#include <sys/types.h>

/*
 * Called once from the collector's initialization (inside its pthread_once:
 * it must not call mrc_init or mrc__set_gc_listener). Reads the environment.
 * Returns the GC listener to install now (periodic snapshots), or NULL when
 * none is needed yet. The exit snapshot is the collector's (collector.c),
 * taken with the exit profile of the same cycle.
 */
mrc_gc_listener mrc__snapshot_init(void);

/* MAPROOT_SNAPSHOT, or NULL. */
const char *mrc__snapshot_path(void);

/* Periodic snapshots (MAPROOT_SNAPSHOT with MAPROOT_PROFILE_EVERY). The
 * collector schedules them with the profiles of the same cycles, at
 * MARK_DONE (world stopped): mrc__snapshot_busy reaps a finished writer and
 * tells whether one still runs (then the pair moves to a later cycle);
 * mrc__snapshot_periodic takes this cycle's, named after it (0, or -1
 * after one line on stderr). */
bool mrc__snapshot_periodic_on(void);
bool mrc__snapshot_busy(void);
int mrc__snapshot_periodic(uint32_t cycle);

/* At exit: waits for a writer still running (at most MAPROOT_EXIT_WAIT
 * seconds, default 60; then it is killed and its temporary file removed,
 * with one line on stderr), then takes the exit snapshot and waits for it
 * the same way. *cycle gets the cycle it is of. 0, or -1 after one line on
 * stderr. */
int mrc__snapshot_exit(uint32_t *cycle);
/* The cycle that served the snapshot being asked for (API or exit), once
 * its MARK_DONE took it; 0 before. For the collecting thread. */
uint32_t mrc__snapshot_request_cycle(void);
/* At exit without an exit snapshot: waits for a running writer (bounded). */
void mrc__snapshot_wait_writer(void);

/*
 * For the attach agent, at MARK_DONE (world stopped): writes this cycle's
 * image into out (taken over), by a forked child when it can: then 0 with
 * the child's *pid and *rfd, the read end of a pipe on which the child
 * sends one mrc_image_outcome when done (EOF if it died); the caller reaps
 * the child. Without a fork (MAPROOT_SNAPSHOT_FORK=0, or fork failed) the
 * image is written here, world stopped: *pid is -1 and *o says how that
 * went (0, or -1 with o->msg). This writer is the agent's own, beside the
 * one of periodic and API snapshots.
 */
int mrc__snapshot_take_into(mf_out *out, uint32_t cycle, pid_t *pid, int *rfd,
                            mrc_image_outcome *o);

#endif
