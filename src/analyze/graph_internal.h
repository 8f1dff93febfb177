/*
 * src/analyze/graph_internal.h -- what graph.c (the finished graph) and
 * graph_build.c with graph_layout.c (its builder) share and nobody else
 * needs: how a map entry is packed (packed.h), and freeing an edge list.
 */
#ifndef MP_GRAPH_INTERNAL_H
#define MP_GRAPH_INTERNAL_H

#include "analyze/graph.h"

#include <stdlib.h>
#include <string.h>

/* The fields of a packed entry. */
enum {
    EF_MAP,
    EF_BUCKET_OBJ,
    EF_BUCKET,
    EF_OVERFLOW,
    EF_SLOT,
    EF_KEY,
    EF_KEY_OBJ,
    EF_VALUE_OBJ,
    EF_N
};

static inline void mp_pack_entry(mp_pack *p, const mp_entry *e)
{
    uint64_t f[EF_N] = {e->map,
                        (uint64_t)e->bucket_obj + 1,
                        e->bucket,
                        e->overflow,
                        (uint64_t)e->slot | (uint64_t)e->old << 8,
                        e->key,
                        (uint64_t)e->key_obj + 1,
                        (uint64_t)e->value_obj + 1};
    mp_pack_add(p, f);
}

static inline void mp_unpack_entry(const uint64_t *f, mp_entry *e)
{
    e->map = (uint32_t)f[EF_MAP];
    e->bucket_obj = (uint32_t)(f[EF_BUCKET_OBJ] - 1);
    e->bucket = f[EF_BUCKET];
    e->overflow = (uint32_t)f[EF_OVERFLOW];
    e->slot = (uint8_t)f[EF_SLOT];
    e->old = (uint8_t)(f[EF_SLOT] >> 8);
    e->key = f[EF_KEY];
    e->key_obj = (uint32_t)(f[EF_KEY_OBJ] - 1);
    e->value_obj = (uint32_t)(f[EF_VALUE_OBJ] - 1);
}

static inline void mp_csr_free(mp_csr *c)
{
    free(c->at);
    free(c->wraps);
    free(c->adj);
    memset(c, 0, sizeof *c);
}

#endif
