/*
 * src/analyze/load_godump_internal.h -- what the steps of the Go heap dump
 * loader share: the loader's state (the dump's memory, resolved pointer
 * words, roots, the maps recognised so far) and the few functions one
 * step's file calls in another's. The contract is load_godump.h.
 *
 * The steps, in the order load_godump.c runs them:
 *   load_godump.c        iterator types, maps in frames, pointer words
 *                        resolved, roots, reachability (and the driver);
 *   load_godump_maps.c   which reachable hmaps are maps and of what type,
 *                        and which of them make up a sync.Map;
 *   load_godump_graph.c  what is reachable, handed to the graph builder.
 * Every step reads L->mem (godump_mem.h) and adds to the loader; none
 * frees what another made (mp_load_godump_dump frees it all).
 */
#ifndef MP_LOAD_GODUMP_INTERNAL_H
#define MP_LOAD_GODUMP_INTERNAL_H

#include "analyze/godump_maps.h"
#include "analyze/godump_mem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NONE MP_GD_NONE

typedef struct rootw {
    uint8_t kind;    /* mp_root_kind */
    uint8_t segment; /* globals: 0 data, 1 bss */
    uint32_t frame;  /* stack/iterator: frame index, else NONE */
    uint32_t finalizer;
    uint64_t slot, frame_off;
    uint32_t target; /* unified object index */
} rootw;

typedef struct loader {
    mp_gdmem mem; /* the dump's memory: objects, frame objects, reads */
    mf_error *err;
    /* resolved pointer words, per unified object */
    uint64_t *estart;
    uint32_t *edst;
    uint8_t *reached;
    rootw *roots;
    size_t nroots, cap_roots;
    mp_gomap *maps;
    size_t nmaps, cap_maps;
    struct itype {
        uint64_t h;
        const mp_gomaptype *t;
    } * itypes; /* (hmap, type) of the range iterators, sorted by hmap (with a binary) */
    size_t nitypes;
    /* Go sync.Maps whose read and dirty maps were both recognised: the
     * dirty map (index in maps) is reported as the sync.Map, its table
     * holding the read map's and the readOnly box (see find_sync_maps) */
    struct syncpair {
        size_t dirty, read; /* SIZE_MAX: none (then the other is the sync.Map's) */
        uint64_t box;       /* the readOnly box of the read map */
        uint64_t base;      /* the sync.Map's address */
    } * pairs;
    size_t npairs, cap_pairs;
} loader;

/* For qsort and bsearch over uint64_t arrays. */
static inline int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* load_godump.c: the type of the map a range iterator walks over hmap h
 * (with a binary), or NULL; the error of a step that ran out of memory
 * (-1, with L->err set). */
const mp_gomaptype *mp_gdl_iterator_type(const loader *L, uint64_t h);
int mp_gdl_oom(loader *L);

/* load_godump_maps.c: L->maps, the maps among the reachable hmaps in
 * address order, typed where the binary tells; L->pairs, the sync.Maps.
 * -1 when out of memory. */
int mp_gdl_find_maps(loader *L);
/* Whether map k is the read map of a sync.Map that has a dirty map too:
 * reported within its dirty map, not as a map of its own. */
bool mp_gdl_is_read_of_pair(const loader *L, size_t k);
/* The sync.Map map k is reported as (its dirty map, or the one map it
 * has), or NULL. */
const struct syncpair *mp_gdl_sync_map_of(const loader *L, size_t k);
/* Whether address a is a global's (in the data or bss segment). */
bool mp_gdl_in_globals(const loader *L, uint64_t a);

/* load_godump_graph.c: the graph of what the roots reach (0, or -1 with
 * L->err set); version is the dump's Go version, for the graph's origin. */
int mp_gdl_graph(loader *L, const char *binary, const char *version, uint64_t nreached,
                 mp_graph **out);

#endif
