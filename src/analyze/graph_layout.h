/*
 * src/analyze/graph_layout.h -- the passes that finishing a heap graph
 * runs over the graph's own arrays once every record is in, renumbered and
 * checked: the compact columns of sizes and addresses, the edge lists
 * (the out lists from pairs, the reverse lists from the out lists, spread
 * over the threads), the records grouped and ordered per map, and each
 * map's table. None of them knows the builder or the input's format.
 *
 * Internal to the graph: mp_gb_finish (graph_build.c) runs them; the graph
 * they fill is graph.h's. Errors: -1 when out of memory (only
 * mp_gl_build_reverse sets err); what they put in the graph before that is
 * freed with it (mp_graph_free).
 * Threads: mp_gl_build_reverse runs on mp_threads() of them (at most 8)
 * and returns when they are done; the rest run on the caller's.
 */
#ifndef MP_GRAPH_LAYOUT_H
#define MP_GRAPH_LAYOUT_H

#include "analyze/graph.h"

#include <stddef.h>
#include <stdint.h>

/* Sizes into g->size32 (and g->big for those of MP_BIG_SIZE or more),
 * packed in place in `size` (g->nobjects of them), which g owns after (the
 * caller still does on -1); its upper half becomes the paths' spare when
 * mp_paths_spare_wanted(). */
int mp_gl_pack_sizes(mp_graph *g, uint64_t *size);

/* Addresses into g->addr_lo and g->addr_runs, packed in place in `addr`
 * (g->nobjects of them, in order), which is g's after, or freed on -1. */
int mp_gl_pack_addresses(mp_graph *g, uint64_t *addr);

/* *out: n lists from m (keys[e], vals[e]) pairs, m < 2^32, each list's
 * values in the pairs' order; with vals2, its values beside them in a new
 * array *adj2_out (the caller's to free). */
int mp_gl_csr_pairs(size_t n, size_t m, const uint32_t *keys, const uint32_t *vals,
                    const uint32_t *vals2, mp_csr *out, uint32_t **adj2_out);

/*
 * The block of the reverse lists, made before the rest of the build, when
 * the edge count is known: its pages are faulted in on processor time the
 * build's own thread leaves idle (prefault.h), where otherwise the reverse
 * pass's threads fault them in as they place the edges, at random. Nothing
 * there changes a result. A room whose start failed is empty (adj NULL):
 * the pass then makes its own block.
 */
typedef struct mp_gl_in_room {
    uint32_t *adj;   /* room for m edges, or NULL */
    uint64_t m;
    struct mf_prefault *pf;
} mp_gl_in_room;
void mp_gl_in_room_start(mp_gl_in_room *r, uint64_t m);
/* Frees what the pass did not take (an empty room is fine). */
void mp_gl_in_room_free(mp_gl_in_room *r);

/* g->in from g->out: each object's predecessors in increasing order, in
 * room's block when it has one for g's edges (taken: room left empty; NULL
 * is fine). -1 with err set when out of memory or when an object has more
 * than 2^32 - 1 predecessors. */
int mp_gl_build_reverse(mp_graph *g, mp_gl_in_room *room, mf_error *err);

/* Sorts n records of `elem` bytes by the uint32_t map index at map_off
 * (stable; each below nmaps), and sets maps[k].first_bucket and
 * .nbuckets to map k's records. -1 out of memory. */
int mp_gl_group_by_map(void *recs, size_t n, size_t elem, size_t map_off, mp_map *maps,
                       size_t nmaps);

/* ix[0 .. *nout) = the indices of the n records whose key (keys[i *
 * stride_u32]) is not MP_NONE, ordered by (key, index); ix holds n. Keys
 * are object indices, nearly always below nobjects and distinct (then
 * linear time, 12 bytes of memory per 64 objects; else a sort). With bits
 * (nobjects / 8 + 1 bytes, zero), sets the bit of each key below
 * nobjects. */
int mp_gl_order_by_key(const uint32_t *keys, size_t stride_u32, size_t n, size_t nobjects,
                       uint32_t *ix, size_t *nout, uint8_t *bits);

/* Each map's role counts (nmain, noverflow_walked, nold) and its table
 * (table_objects, table_bytes), and g->table_objs and g->table_bits, from
 * the grouped buckets and the out edges. */
int mp_gl_map_tables(mp_graph *g);

#endif
