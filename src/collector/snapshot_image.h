/*
 * src/collector/snapshot_image.h -- the image of the heap that a root
 * snapshot holds, written while the world is stopped and marking is done
 * (in the forked writer, or in the collection itself): what snapshot.c,
 * the process side of snapshots, needs from snapshot_image.c.
 */
#ifndef MRC_SNAPSHOT_IMAGE_H
#define MRC_SNAPSHOT_IMAGE_H

#include "collector/internal.h"
#include "collector/snapshot_digest.h" /* mrc_root_list */
#include "format/outfile.h"

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* What writing an image came to; a forked writer sends it to its parent
 * through a pipe in one write (smaller than PIPE_BUF). */
typedef struct mrc_image_outcome {
    int ok;
    uint32_t cycle;
    uint64_t objects, edges, roots, maps, entries, object_bytes, file_bytes;
    uint64_t wall_ns;
    char msg[512];
} mrc_image_outcome;

/* A clock's time in nanoseconds. */
uint64_t mrc__now_ns(clockid_t clk);

/* The gzip level of snapshots (MAPROOT_SNAPSHOT_LEVEL; MF_GS_RAW: none). */
extern int mrc__snapshot_gz_level;

/*
 * Writes the image of the heap as it is now (world stopped, marking done):
 * the header with the memory statistics and the cycle's pause so far
 * (either may be NULL), the roots given (gathered by the caller at a
 * shallow depth), every live
 * object and its edges, every map, the sampled allocation stacks. The
 * output is committed on success and abandoned on failure (it is owned from
 * here on). Returns 0, or -1 with out->msg naming the file and the reason.
 */
int mrc__write_image(mf_out *o, uint32_t cycle, int mode, const mr_memstats *ms,
                     const mr_gc_pause *pause, pid_t pid, const mrc_root_list *roots,
                     mrc_image_outcome *out);

#endif
