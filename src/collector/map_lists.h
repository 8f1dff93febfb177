/*
 * src/collector/map_lists.h -- the runtime's own objects that belong to a
 * map's table without being buckets.
 *
 * The buckets of a map whose keys and values hold no pointers are objects
 * a collection never reads, so their overflow buckets are kept alive by
 * lists the map holds: objects of kind MR_KIND_RUNTIME (the runtime's extra
 * object and its chunks) that the header reaches, through others of that
 * kind only. They are part of the map's table as its buckets are, and the
 * collector's figures of a table (leak checks, the attach agent's census)
 * count them with this one walk.
 *
 * Memory: the walk keeps its stack in malloc'd memory, freed before it
 * returns. Errors: -1 when out of memory (fn may have been called for some
 * objects). Threads: the world must be stopped (the heap-walk rule).
 */
#ifndef MRC_MAP_LISTS_H
#define MRC_MAP_LISTS_H

#include <maproot/rt.h>

#include <stddef.h>

/* Calls fn once for each object of kind MR_KIND_RUNTIME that map header m
 * reaches through such objects only, with its start and the size the
 * allocator reserved for it. */
int mrc__map_lists_each(const mr_map *m, void (*fn)(void *obj, size_t size, void *ud), void *ud);

/* The bytes of those objects (0 when out of memory, or for none). */
size_t mrc__map_lists_bytes(const mr_map *m);

#endif
