/*
 * src/collector/census.c -- the attach agent's map census: see census.h.
 *
 * The entries are an open-addressing table keyed by the runtime's map id
 * (ids are never reused, so a map that dies and a new one at its address
 * are two maps), with linear probing and deletion by shifting back, so no
 * tombstones pile up in a long trace. Invariant: every entry's id is
 * non-zero and reachable from its home slot without crossing an empty one.
 */
#include "collector/census.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint64_t id; /* 0: empty slot */
    uint64_t first_count, sent_count, bucket_size, sent_lists_bytes;
    uintptr_t address;
    const char *type;
    uint32_t first_cycle;
    uint32_t seen; /* the census that last saw the map */
    uint16_t sent_noverflow;
    uint8_t sent_b;
    bool sent_growing;
    bool told; /* the client has had a record of it */
} entry;

struct mrc_census {
    entry *t;
    size_t cap; /* a power of two, or 0 */
    size_t n;
    uint32_t epoch;
    bool started; /* a census was taken: later maps are new ones */
};

mrc_census *mrc_census_new(void)
{
    return calloc(1, sizeof(mrc_census));
}

void mrc_census_free(mrc_census *c)
{
    if (!c) return;
    free(c->t);
    free(c);
}

static size_t home(const mrc_census *c, uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 7) & (c->cap - 1);
}

static entry *find_or_add(mrc_census *c, uint64_t id, bool *added)
{
    size_t i = home(c, id);
    while (c->t[i].id && c->t[i].id != id) i = (i + 1) & (c->cap - 1);
    *added = c->t[i].id == 0;
    if (*added) {
        memset(&c->t[i], 0, sizeof c->t[i]);
        c->t[i].id = id;
        c->n++;
    }
    return &c->t[i];
}

/* Removes the entry at slot i, shifting later ones of its run back. */
static void remove_at(mrc_census *c, size_t i)
{
    size_t mask = c->cap - 1;
    c->t[i].id = 0;
    c->n--;
    for (size_t j = (i + 1) & mask; c->t[j].id; j = (j + 1) & mask) {
        size_t h = home(c, c->t[j].id);
        /* j's entry may move to i if its home is not in (i, j] */
        bool movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
        if (movable) {
            c->t[i] = c->t[j];
            c->t[j].id = 0;
            i = j;
        }
    }
}

/* Makes room for `more` entries beyond those there (load at most 1/2). */
static int reserve(mrc_census *c, size_t more)
{
    size_t want = c->n + more;
    if (c->cap && want <= c->cap / 2) return 0;
    size_t cap = c->cap ? c->cap : 64;
    while (want > cap / 2) {
        if (cap > SIZE_MAX / 2 / sizeof(entry)) return -1;
        cap *= 2;
    }
    entry *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    entry *old = c->t;
    size_t oldcap = c->cap;
    c->t = t;
    c->cap = cap;
    c->n = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].id) continue;
        bool added;
        *find_or_add(c, old[i].id, &added) = old[i];
    }
    free(old);
    return 0;
}

/* A change worth telling: its size (entries), or for a map that died the
 * largest of all, so that deaths are never held back. */
typedef struct cand {
    uint64_t weight;
    size_t slot; /* in the table */
    size_t map;  /* in the walk, SIZE_MAX for a map that died */
} cand;

static int by_weight(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->weight != y->weight) return x->weight < y->weight ? 1 : -1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static void record_of(const entry *e, const mrc_census_map *m, mf_at_map *r)
{
    memset(r, 0, sizeof *r);
    r->id = e->id;
    r->first_count = e->first_count;
    r->first_cycle = e->first_cycle;
    if (m) {
        r->address = m->address;
        r->type = m->type;
        r->count = m->count;
        r->b = m->b;
        r->noverflow = m->noverflow;
        r->bucket_size = m->bucket_size;
        r->lists_bytes = m->lists_bytes;
        r->growing = m->growing;
        r->growth_pc = m->growth_pc;
        r->growth_op = m->growth_op;
    } else {
        r->address = e->address;
        r->type = e->type;
        r->count = e->sent_count;
        r->b = e->sent_b;
        r->noverflow = e->sent_noverflow;
        r->bucket_size = e->bucket_size;
        r->lists_bytes = e->sent_lists_bytes;
        r->gone = true;
    }
}

int mrc_census_take(mrc_census *c, const mrc_census_map *maps, size_t n, uint32_t cycle, size_t max,
                    mf_at_map **out, size_t *nout, uint32_t *omitted)
{
    *out = NULL;
    *nout = 0;
    *omitted = 0;
    /* every allocation first: a failure leaves the census as it was */
    if (reserve(c, n)) return -1;
    size_t ncap = n + c->n;
    cand *cs = malloc((ncap ? ncap : 1) * sizeof *cs);
    mf_at_map *recs = max ? malloc((ncap < max ? (ncap ? ncap : 1) : max) * sizeof *recs) : NULL;
    if (!cs || (max && !recs)) {
        free(cs);
        free(recs);
        return -1;
    }
    if (++c->epoch == 0) c->epoch = 1; /* 0 marks the dead to forget */
    uint32_t epoch = c->epoch;
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        const mrc_census_map *m = &maps[i];
        bool added;
        entry *e = find_or_add(c, m->id, &added);
        if (added) {
            e->first_count = c->started ? 0 : m->count;
            e->sent_count = e->first_count;
            e->first_cycle = cycle;
        }
        e->seen = epoch;
        e->address = m->address;
        e->type = m->type;
        e->bucket_size = m->bucket_size;
        uint64_t d = m->count > e->sent_count ? m->count - e->sent_count : e->sent_count - m->count;
        bool geometry = e->told && (m->b != e->sent_b || m->noverflow != e->sent_noverflow ||
                                    m->lists_bytes != e->sent_lists_bytes ||
                                    m->growing != e->sent_growing);
        if (d || geometry) cs[nc++] = (cand){d ? d : 1, (size_t)(e - c->t), i};
    }
    for (size_t s = 0; s < c->cap; s++) {
        entry *e = &c->t[s];
        if (!e->id || e->seen == epoch) continue;
        if (e->told)
            cs[nc++] = (cand){UINT64_MAX, s, SIZE_MAX};
        else
            e->seen = 0; /* died untold: forgotten below */
    }
    qsort(cs, nc, sizeof *cs, by_weight);
    size_t k = nc < max ? nc : max;
    for (size_t i = 0; i < k; i++) {
        entry *e = &c->t[cs[i].slot];
        const mrc_census_map *m = cs[i].map == SIZE_MAX ? NULL : &maps[cs[i].map];
        record_of(e, m, &recs[i]);
        if (m) {
            e->told = true;
            e->sent_count = m->count;
            e->sent_b = m->b;
            e->sent_noverflow = m->noverflow;
            e->sent_lists_bytes = m->lists_bytes;
            e->sent_growing = m->growing;
        } else {
            e->seen = 0; /* told: forgotten below */
        }
    }
    /* forget the dead that were told now or never will be; dead maps still
     * owed a record keep their entry until one fits */
    for (size_t s = 0; s < c->cap;) {
        entry *e = &c->t[s];
        bool dead_told_now = e->id && e->seen == 0;
        if (dead_told_now)
            remove_at(c, s); /* slot s now holds a shifted entry: look again */
        else
            s++;
    }
    free(cs);
    c->started = true;
    *omitted = (uint32_t)(nc - k > UINT32_MAX ? UINT32_MAX : nc - k);
    if (k) {
        *out = recs;
        *nout = k;
    } else {
        free(recs);
    }
    return 0;
}
