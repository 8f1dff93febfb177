/*
 * src/collector/census.h -- the map census of the attach agent: what each
 * client has been told about the program's maps, and what to tell it next.
 *
 * At a collection the agent lists the live maps (mr_walk_maps at
 * MR_GC_MARK_DONE: time in proportion to the number of maps, not to the
 * heap) into mrc_census_map records. For each subscribed client a census
 * compares them with what that client was told and returns the records
 * worth sending: maps whose entries or geometry changed since, maps that
 * died (gone). Maps that exist at the client's first census are its
 * baseline: their count then is their first_count, and they are sent only
 * once they change; a map made later has first_count 0. When more maps
 * changed than the client takes per event, the largest changes go first
 * and the others stay owed (their changes are measured from what was last
 * sent, so nothing is lost, only delayed).
 *
 * Memory: a census keeps one small entry per live map (malloc'd, never the
 * GC heap); the records returned are the caller's (free()). Errors: -1 when
 * out of memory (the census is then unchanged). Threads: a census is used
 * by one thread at a time (the collecting thread, world stopped).
 */
#ifndef MRC_CENSUS_H
#define MRC_CENSUS_H

#include "format/attach.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A live map as the walk found it. Strings are the runtime's (static). */
typedef struct mrc_census_map {
    uint64_t id;
    uintptr_t address;
    const char *type;
    uint64_t count;
    uint64_t bucket_size;
    uint64_t lists_bytes; /* its overflow lists (map_lists.h) */
    uintptr_t growth_pc;
    const char *growth_op;
    uint16_t noverflow;
    uint8_t b;
    bool growing;
} mrc_census_map;

typedef struct mrc_census mrc_census;

mrc_census *mrc_census_new(void);
void mrc_census_free(mrc_census *c);

/*
 * The census of collection `cycle` for one client: maps[0..n) are every
 * live map. Sets *out to at most max records (malloc'd; NULL when none;
 * growth_function/file/line left empty: the agent symbolizes
 * growth_pc later) and *omitted to the changed maps that did not fit.
 * Records point at the runtime's strings. The census then counts the
 * records as sent: call it only when they will be.
 */
int mrc_census_take(mrc_census *c, const mrc_census_map *maps, size_t n, uint32_t cycle, size_t max,
                    mf_at_map **out, size_t *nout, uint32_t *omitted);

#endif
