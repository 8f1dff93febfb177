/*
 * src/analyze/u32map.h -- a hash map from 32-bit node numbers to 32-bit
 * values.
 *
 * Why: some passes visit a small region of a heap graph that may hold
 * hundreds of millions of objects (what one map's table reaches, say); a
 * per-object array for them would cost memory and time in proportion to
 * the whole heap. This map costs in proportion to what is put in it.
 *
 * Open addressing with linear probing, at most half full; UINT32_MAX is no
 * key (it is MP_NONE, never a node). Memory: the map owns its arrays
 * (mp_u32map_free); a zeroed struct is an empty map. Errors: a put that
 * cannot grow the map returns -1 and leaves it as it was. Threads: one.
 */
#ifndef MP_U32MAP_H
#define MP_U32MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mp_u32map {
    uint32_t *keys, *vals; /* keys UINT32_MAX where empty */
    size_t mask, n;        /* capacity - 1 (0 when unallocated), keys present */
} mp_u32map;

/* The value of key k into *v (when not NULL); false when k is absent. */
bool mp_u32map_get(const mp_u32map *m, uint32_t k, uint32_t *v);

/* Sets k to v: 1 when k was absent, 0 when it was there (v replaces its
 * value), -1 out of memory. k must not be UINT32_MAX. */
int mp_u32map_put(mp_u32map *m, uint32_t k, uint32_t v);

void mp_u32map_free(mp_u32map *m);

#endif
