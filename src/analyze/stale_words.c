/*
 * src/analyze/stale_words.c -- the pointers evacuated old buckets still hold.
 */
#include "analyze/stale_words.h"

#include "format/grow.h"
#include "format/zeroed.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

/* The longest overflow chain followed from one evacuated bucket. */
#define MAX_CHAIN 64

/* qsort's order of words: by target, then holder. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The words being gathered: s->w, n used of cap. */
typedef struct gather {
    mp_stale_words *s;
    size_t n, cap;
} gather;

/* Appends the word (target, holder); -1 when out of memory. */
static int add(gather *ga, uint32_t target, uint32_t holder)
{
    if (!MF_GROW(ga->s->w, ga->cap, ga->n + 1, 256)) return -1;
    ga->s->w[ga->n++] = (uint64_t)target << 32 | holder;
    return 0;
}

/* Whether old bucket i of map k has been evacuated: the input records it
 * with no used slot, or (as Go dumps do for evacuated buckets) not at all. */
static bool evacuated(const mp_graph *g, uint32_t k, uint32_t old, uint64_t i)
{
    uint32_t r = mp_graph_bucket_record(g, old, k, i, 0, true);
    return r == MP_NONE || g->buckets[r].nused == 0;
}

/* Whether object o may be an evacuated overflow bucket of map k: a bucket
 * of its own that no record gives a used slot (nor puts in another map). */
static bool stale_overflow(const mp_graph *g, uint32_t k, uint32_t o, uint64_t bucket_size)
{
    if (o >= g->nobjects || mp_obj_size(g, o) != bucket_size) return false;
    uint32_t r = mp_graph_bucket_of(g, o);
    if (r == MP_NONE) return true;
    const mp_bucket *b = &g->buckets[r];
    return b->map == k && b->old && b->nused == 0;
}

/* Adds the words of the evacuated overflow chain from o on (its overflow
 * pointer is its last word); -1 when out of memory. */
static int add_chain(const mp_graph *g, uint32_t k, uint32_t o, gather *ga)
{
    uint64_t bs = g->maps[k].bucket_size;
    for (int hop = 0; hop < MAX_CHAIN && stale_overflow(g, k, o, bs); hop++) {
        uint32_t next = MP_NONE;
        for (uint64_t e = mp_out_begin(g, o), end = mp_out_end(g, o); e < end; e++) {
            uint32_t off = mp_edge_offset(g, e);
            if (off == MP_NO_OFFSET) continue;
            if (off == bs - 8)
                next = g->out.adj[e];
            else if (add(ga, g->out.adj[e], o) < 0)
                return -1;
        }
        if (next == o) break;
        o = next;
    }
    return 0;
}

/* A bit per overflow bucket the old array of map k holds past its nb
 * buckets (set aside when the array was made): set for those a record
 * gives a used slot. NULL when out of memory. */
static uint8_t *live_spares(const mp_graph *g, uint32_t k, uint64_t nb, uint64_t ntotal)
{
    const mp_map *m = &g->maps[k];
    /* read for every spare, set for the used ones: populated (zeroed.h) */
    uint8_t *live = mf_zeroed((size_t)((ntotal - nb) / 8 + 1), 1);
    if (!live) return NULL;
    uint64_t base = mp_obj_addr(g, m->oldbuckets);
    for (size_t r = m->first_bucket; r < m->first_bucket + m->nbuckets; r++) {
        const mp_bucket *bk = &g->buckets[r];
        if (bk->obj != m->oldbuckets || !bk->nused || bk->aux || bk->address < base) continue;
        uint64_t j = (bk->address - base) / m->bucket_size;
        if (j >= nb && j < ntotal) live[(j - nb) >> 3] |= (uint8_t)(1u << ((j - nb) & 7));
    }
    return live;
}

/* Adds map k's stale words, walking its old array's out edges once, in
 * their order; -1 when out of memory. Past the array's own buckets lie
 * the overflow buckets set aside with it: stale when no record has them
 * hold a used slot. */
static int add_map(const mp_graph *g, uint32_t k, gather *ga)
{
    const mp_map *m = &g->maps[k];
    uint32_t old = m->oldbuckets;
    if (old == MP_NONE || old >= g->nobjects || m->bucket_size < 16) return 0;
    uint64_t b = mp_out_begin(g, old), end = mp_out_end(g, old), bs = m->bucket_size;
    uint64_t ntotal = mp_obj_size(g, old) / bs, nb = ntotal;
    uint64_t nold = mp_map_aside_of(g, m)->noldbuckets;
    if (nold && nold < nb) nb = nold;
    uint8_t *live = nb < ntotal ? live_spares(g, k, nb, ntotal) : NULL;
    if (nb < ntotal && !live) return -1;
    uint64_t last = UINT64_MAX; /* the last bucket asked about, and its answer */
    bool last_stale = false;
    mp_pack_cursor c;
    mp_pack_cursor_init(&c, &g->offsets, (size_t)b);
    uint64_t f;
    int rc = 0;
    for (uint64_t e = b; e < end && !rc && mp_pack_next(&c, &f); e++) {
        if (!f) continue; /* offset unknown: which bucket holds it is not known */
        uint64_t i = (f - 1) / bs;
        if (i >= ntotal) continue;
        if (i != last)
            last = i, last_stale = i < nb ? evacuated(g, k, old, i) : !mp_bit(live, i - nb);
        if (!last_stale) continue;
        uint32_t t = g->out.adj[e];
        if ((f - 1) % bs == bs - 8) {
            if (t != old) rc = add_chain(g, k, t, ga);
        } else {
            rc = add(ga, t, old);
        }
    }
    mp_pack_cursor_free(&c);
    free(live);
    return rc;
}

/* Adds the words of the objects a sync.Map's table takes from its read
 * map (its aux records: the box, the read map's header and buckets): the
 * read map's slots point at the same keys and *entry objects as the
 * dirty map's, and keep nothing the map does not keep already. -1 when
 * out of memory. */
static int add_read_map(const mp_graph *g, uint32_t k, gather *ga)
{
    const mp_map *m = &g->maps[k];
    if (m->sync_map != MP_SYNC_JOINED) return 0;
    for (size_t r = m->first_bucket; r < m->first_bucket + m->nbuckets; r++) {
        const mp_bucket *bk = &g->buckets[r];
        if (!bk->aux || bk->obj == MP_NONE) continue;
        for (uint64_t e = mp_out_begin(g, bk->obj), end = mp_out_end(g, bk->obj); e < end; e++)
            if (add(ga, g->out.adj[e], bk->obj) < 0) return -1;
    }
    return 0;
}

int mp_stale_words_build(const mp_graph *g, mp_stale_words *s)
{
    *s = (mp_stale_words){0};
    bool any = false;
    for (size_t k = 0; k < g->nmaps && !any; k++) any = g->maps[k].oldbuckets != MP_NONE || g->maps[k].sync_map == MP_SYNC_JOINED;
    if (!any) return 0;
    s->first = malloc((g->nmaps + 1) * sizeof *s->first);
    if (!s->first) return -1;
    s->nmaps = g->nmaps;
    gather ga = {s, 0, 0};
    for (size_t k = 0; k < g->nmaps; k++) {
        s->first[k] = ga.n;
        if (add_map(g, (uint32_t)k, &ga) < 0 || add_read_map(g, (uint32_t)k, &ga) < 0) {
            mp_stale_words_free(s);
            return -1;
        }
        if (ga.n > s->first[k]) /* (s->w is NULL until a first word) */
            qsort(s->w + s->first[k], ga.n - s->first[k], sizeof *s->w, cmp_u64);
    }
    s->first[g->nmaps] = ga.n;
    return 0;
}

/* The first of w[lo..hi) not below v (w sorted). */
static size_t lower_bound(const uint64_t *w, size_t lo, size_t hi, uint64_t v)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t mp_stale_words_of(const mp_stale_words *s, uint32_t k, uint32_t x, uint32_t *holders,
                         size_t max)
{
    if (!s->first || k >= s->nmaps || s->first[k] == s->first[k + 1]) return 0;
    size_t end = s->first[k + 1];
    assert(s->first[k] <= end);
    size_t a = lower_bound(s->w, s->first[k], end, (uint64_t)x << 32), n = 0;
    for (; a < end && (uint32_t)(s->w[a] >> 32) == x; a++, n++)
        if (n < max) holders[n] = (uint32_t)s->w[a];
    return n;
}

void mp_stale_words_free(mp_stale_words *s)
{
    free(s->w);
    free(s->first);
    *s = (mp_stale_words){0};
}
