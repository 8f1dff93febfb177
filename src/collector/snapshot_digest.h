/*
 * src/collector/snapshot_digest.h -- digests of a heap for the snapshot
 * round-trip tests: the writer side (mrc__write_digest, from the runtime's
 * walk API) and the per-item digests that tests/snapshot_digest.c uses on
 * the reader's side. Sums of per-item digests: independent of order.
 */
#ifndef MRC_SNAPSHOT_DIGEST_H
#define MRC_SNAPSHOT_DIGEST_H

#include "maproot/rt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

uint64_t mrc__digest_str(const char *s, size_t n);
uint64_t mrc__digest_object(uint64_t addr, uint64_t size);
uint64_t mrc__digest_edge(uint64_t from, uint64_t off, uint64_t to);
uint64_t mrc__digest_root(uint32_t kind, uint64_t target, uint64_t slot);
uint64_t mrc__digest_bucket(uint64_t map, uint64_t addr, bool old, uint64_t index, uint32_t ovf);
uint64_t mrc__digest_entry(uint64_t map, uint64_t bucket_addr, uint32_t slot, uint32_t tophash,
                           uint64_t key_hash, uint64_t value_obj);
uint64_t mrc__digest_iter(uint64_t map, uint64_t key_hash);

/*
 * Writes the lines "objects N HEX", "edges", "roots", "maps", "buckets",
 * "entries" (roots from the list given) and, with can_iterate, "iter" (entries by iteration: count
 * and digest of (map, rendered key)) for the heap as the walk API shows it now (world stopped,
 * marking done). can_iterate restarts the world: only in a forked child, after everything else.
 * Returns 0 or -1.
 */
/* Roots as the snapshot gathered them (see snapshot.c: the walk depends on
 * the depth of the collecting thread's stack, so the digest uses the same
 * list rather than walking again). */
typedef struct mrc_root_list {
    mr_root *v;
    size_t n, cap;
    bool oom;
} mrc_root_list;

int mrc__write_digest(const char *path, const mrc_root_list *roots, bool can_iterate);

#endif
