/*
 * src/analyze/findings.c -- maps, their retainers and the leak suspects.
 */
#include "analyze/findings.h"

#include "analyze/parallel.h"
#include "analyze/radix.h"
#include "analyze/stale_words.h"
#include "analyze/u32map.h"
#include "format/grow.h"
#include "format/zeroed.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIB 1024u
#define SIGNIFICANT_MIN (64 * KIB)

const char *mp_evidence_name(unsigned bit)
{
    static const char *const names[MP_EV_COUNT] = {
        "large_share",  "emptied",       "iterator_only",  "stack_frame",
        "pointer_keys", "old_buckets",   "shared_entries", "several_roots",
        "growing",      "slice_buffers", "nan_keys",      "sync_map"};
    return bit < MP_EV_COUNT ? names[bit] : "?";
}

/* The map whose table holds object o (header, bucket arrays, overflow
 * buckets), or MP_NONE. */
static uint32_t table_map(const mp_graph *g, uint32_t o)
{
    return o == MP_NONE ? MP_NONE : mp_graph_table_map(g, o);
}

/* The last table object looked up and its map. The walks over every entry
 * and every dominator-tree node ask about the same bucket object many
 * times in a row (the objects of one bucket's entries are its children),
 * and each answer is a binary search over all the heap's table objects:
 * at 100M objects that search was a tenth of the analysis. */
typedef struct table_memo {
    uint32_t obj, map;
} table_memo;
#define TABLE_MEMO_INIT                                                                            \
    {                                                                                              \
        MP_NONE, MP_NONE                                                                           \
    }

/* table_map(g, o), remembered; the bit test first, so that the many
 * objects outside every table leave the memo as it was. */
static uint32_t table_map_memo(const mp_graph *g, uint32_t o, table_memo *m)
{
    if (o >= g->nobjects || !g->table_bits || !mp_bit(g->table_bits, o)) return MP_NONE;
    if (o != m->obj) {
        m->obj = o;
        m->map = mp_graph_table_map(g, o);
    }
    return m->map;
}

/* Whether a root points at object x (d->root_targets is sorted by target). */
static bool root_target(const mp_dom *d, uint32_t x)
{
    size_t lo = 0, hi = d->nroot_targets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint32_t)(d->root_targets[mid] >> 32) < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->nroot_targets && (uint32_t)(d->root_targets[lo] >> 32) == x;
}

/* The most stale words pointing at one object that are told apart from
 * other holders; an object more of them point at gets no such allowance. */
#define MAX_STALE 8

/* The holders of the stale words of map k pointing at x into hs (room for
 * MAX_STALE); how many, 0 when more than that. */
static size_t stale_holders(const mp_stale_words *stale, uint32_t k, uint32_t x, uint32_t *hs)
{
    size_t n = mp_stale_words_of(stale, k, x, hs, MAX_STALE);
    return n <= MAX_STALE ? n : 0;
}

/* Takes one h off hs[0..*n) when there: whether it was. */
static bool take_holder(uint32_t *hs, size_t *n, uint32_t h)
{
    for (size_t i = 0; i < *n; i++)
        if (hs[i] == h) {
            hs[i] = hs[--*n];
            return true;
        }
    return false;
}

/* Whether every live holder of x but its stale words (held by hs[0..n),
 * one word each) is the object holding e's slot: x is then e's as if the
 * stale words were not there. */
static bool held_by_slot_alone(const mp_graph *g, const mp_dom *d, const mp_entry *e, uint32_t x,
                               uint32_t *hs, size_t n)
{
    for (uint64_t i = mp_in_begin(g, x), end = mp_in_end(g, x); i < end; i++) {
        uint32_t h = g->in.adj[i];
        if (take_holder(hs, &n, h)) continue;
        if (h != e->bucket_obj && d->idom[h] != MP_NONE) return false;
    }
    return true;
}

/* Whether entry e owns object x (see the header for the definition). A
 * growing map's evacuated old buckets still point at the values moved
 * out of them (`stale`); when an iterator holds the old array, such a
 * value is not dominated by the table, yet when no root and nothing but
 * the entry's slot and stale words of its own map hold it, it is the
 * entry's. */
static bool owns(const mp_graph *g, const mp_dom *d, const mp_entry *e, uint32_t x, table_memo *m,
                 const mp_stale_words *stale)
{
    if (x == MP_NONE || table_map_memo(g, x, m) == e->map) return false;
    uint32_t i = d->idom[x];
    if (i == MP_NONE) return false;
    if (i < g->nobjects && table_map_memo(g, i, m) == e->map) return true;
    uint32_t hs[MAX_STALE];
    size_t n = stale_holders(stale, e->map, x, hs);
    return n && !root_target(d, x) && held_by_slot_alone(g, d, e, x, hs, n);
}

/* How far up the dominator tree under_entry looks for an entry's object. */
#define UNDER_DEPTH 64

/*
 * The objects an entry owns alone, as entry_alone asks about them: obj[0..n),
 * the largest retained size among them (most), and whether any of them
 * dominates more than itself (deep).
 */
typedef struct entry_own {
    const uint32_t *obj;
    size_t n;
    uint64_t most;
    bool deep;
} entry_own;

/*
 * Whether holder h lies in the dominator subtree of one of the objects an
 * entry owns alone (or is one): a reference from there is the entry's own
 * -- a value's part pointing back at the value, a value pointing back at
 * its key -- and deleting the entry frees it with the rest. When none of
 * them dominates more than itself (the common case), h must be one of
 * them, and the tree is not read at all. Else the walk goes up from h: a
 * node under one of them retains no more than the largest, and neither
 * does any node between, so it stops at the first node that retains more
 * (most holders are other objects of the map, one step under its buckets).
 * It is bounded too: past UNDER_DEPTH steps h counts as another holder, so
 * an entry may be credited with less than it keeps, never more.
 */
static bool under_entry(const mp_dom *d, uint32_t h, const entry_own *own)
{
    for (int k = 0; k < UNDER_DEPTH; k++) {
        for (size_t i = 0; i < own->n; i++)
            if (own->obj[i] == h) return true;
        if (!own->deep) return false;
        h = d->idom[h];
        if (h >= d->nobjects || d->retained[h] > own->most) return false;
    }
    return false;
}

/* Whether x, which an entry owns, is its alone: no live object holds a
 * reference to x but the entry's refs slot words (mp_entry_targets counts
 * them), the stale words of its map held by hs[0..n), and objects under
 * those the entry owns alone (see under_entry). An object that another entry of the
 * map (or an object under one) refers to as well is the map's, but no
 * entry's: deleting either entry frees nothing. */
static bool entry_alone(const mp_graph *g, const mp_dom *d, uint32_t x, uint64_t refs,
                        bool all_live, uint32_t *hs, size_t n, const entry_own *own)
{
    uint64_t b = mp_in_begin(g, x), end = mp_in_end(g, x), live = 0;
    if (end - b <= refs) return true;
    /* every holder live: the slots and the stale words may be all there is */
    if (all_live && (end - b <= refs + n || !own->n)) return end - b <= refs + n;
    for (uint64_t i = b; i < end; i++) {
        uint32_t h = g->in.adj[i];
        if (take_holder(hs, &n, h)) continue;
        if (!all_live && d->idom[h] == MP_NONE) continue; /* garbage */
        if (under_entry(d, h, own)) continue;
        if (++live > refs) return false;
    }
    return true;
}

static bool is_alloc_frame(const char *f)
{
    static const char *const prefixes[] = {"mr_",
                                           "mrc_",
                                           "runtime.mallocgc",
                                           "runtime.newobject",
                                           "runtime.makemap",
                                           "runtime.newarray",
                                           "runtime.makeslice",
                                           "runtime.growslice",
                                           "runtime.mapassign",
                                           "runtime.rawstring"};
    static const char *const exact[] = {"malloc", "calloc", "realloc", "operator new"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(f, prefixes[i], strlen(prefixes[i])) == 0) return true;
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        if (strcmp(f, exact[i]) == 0) return true;
    return false;
}

uint32_t mp_stack_site(const mp_graph *g, uint32_t stack)
{
    if (stack == MP_NONE || stack >= g->nstacks) return MP_NONE;
    const mp_stack *s = &g->stacks[stack];
    for (uint32_t i = 0; i < s->n; i++) {
        const mp_gframe *f = &g->frames[s->first + i];
        if (!is_alloc_frame(mp_str(g, f->function))) return s->first + i;
    }
    return s->n ? s->first + s->n - 1 : MP_NONE;
}

/* Ranking order: suspects first; among them growing ones first, then by
 * score (what the map holds less what suspect maps inside it hold: theirs
 * rank on their own), then by map index (stable across runs). The other
 * maps follow by all they hold, as they are listed. */
static const mp_findings *rank_f_;
static int cmp_rank(const void *a, const void *b)
{
    const mp_map_report *x = &rank_f_->maps[*(const uint32_t *)a];
    const mp_map_report *y = &rank_f_->maps[*(const uint32_t *)b];
    if (x->suspect != y->suspect) return x->suspect ? -1 : 1;
    bool gx = x->evidence & MP_EV_GROWING, gy = y->evidence & MP_EV_GROWING;
    if (gx != gy) return gx ? -1 : 1;
    int64_t ox = x->growth_bytes - x->inner_growth, oy = y->growth_bytes - y->inner_growth;
    if (gx && ox != oy) return ox > oy ? -1 : 1;
    uint64_t sx = x->suspect ? x->score : x->score + x->nested_bytes;
    uint64_t sy = y->suspect ? y->score : y->score + y->nested_bytes;
    if (sx != sy) return sx > sy ? -1 : 1;
    return x->map < y->map ? -1 : x->map > y->map;
}

void mp_findings_rerank(mp_findings *f)
{
    f->nsuspects = 0;
    for (size_t k = 0; k < f->nmaps; k++) {
        if (f->maps[k].evidence & MP_EV_GROWING) f->maps[k].suspect = true;
        f->nsuspects += f->maps[k].suspect;
        f->maps[k].inner_growth = 0;
    }
    /* a growing suspect's growth is its own, not that of the maps whose
     * bytes hold it (a share of it is in no map's retained growth) */
    for (size_t i = 0; i < f->ninner; i++) {
        const mp_inner_pair *pr = &f->inner[i];
        const mp_map_report *in = &f->maps[pr->inner];
        if (!pr->shared && (in->evidence & MP_EV_GROWING) && in->growth_bytes > 0)
            f->maps[pr->outer].inner_growth += in->growth_bytes;
    }
    rank_f_ = f;
    if (f->nmaps > 1) qsort(f->ranked, f->nmaps, sizeof *f->ranked, cmp_rank);
    rank_f_ = NULL;
}

/* Orders stacks by their allocation site (function, file, line). */
static const mp_graph *site_g_;
static int cmp_site(const void *a, const void *b)
{
    uint32_t x = mp_stack_site(site_g_, *(const uint32_t *)a);
    uint32_t y = mp_stack_site(site_g_, *(const uint32_t *)b);
    if (x == MP_NONE || y == MP_NONE) return (x == MP_NONE) - (y == MP_NONE);
    const mp_gframe *f = &site_g_->frames[x], *h = &site_g_->frames[y];
    if (f->function != h->function) return f->function < h->function ? -1 : 1;
    if (f->file != h->file) return f->file < h->file ? -1 : 1;
    return f->line < h->line ? -1 : f->line > h->line;
}

/* Per stack, the first stack of its site (stacks that differ only above
 * their site are one site); NULL when out of memory. */
static uint32_t *site_of_stack(const mp_graph *g)
{
    uint32_t *order = malloc((g->nstacks ? g->nstacks : 1) * sizeof *order);
    uint32_t *site = malloc((g->nstacks ? g->nstacks : 1) * sizeof *site);
    if (!order || !site) {
        free(order);
        free(site);
        return NULL;
    }
    for (size_t i = 0; i < g->nstacks; i++) order[i] = (uint32_t)i;
    site_g_ = g;
    if (g->nstacks > 1) qsort(order, g->nstacks, sizeof *order, cmp_site);
    for (size_t i = 0; i < g->nstacks; i++)
        site[order[i]] =
            i && cmp_site(&order[i - 1], &order[i]) == 0 ? site[order[i - 1]] : order[i];
    site_g_ = NULL;
    free(order);
    return site;
}

/* Sampled allocation sites of the objects each map's entries own: the
 * owner map of every object is propagated down the dominator tree
 * (parents come first in preorder), then (map, site) pairs are counted. */
static int map_sites(const mp_graph *g, const mp_dom *d, uint32_t *owner, mp_findings *f)
{
    size_t n = g->nobjects;
    for (size_t i = 0; i < d->npreorder; i++) {
        uint32_t v = d->preorder[i];
        if (v >= n || owner[v] != MP_NONE) continue;
        uint32_t p = d->idom[v];
        owner[v] = p < n ? owner[p] : MP_NONE;
    }
    uint32_t *site = site_of_stack(g);
    if (!site) return -1;
    uint64_t *pairs = malloc((g->nsampled ? g->nsampled : 1) * sizeof *pairs);
    if (!pairs) {
        free(site);
        return -1;
    }
    size_t np = 0;
    for (size_t i = 0; i < g->nsampled; i++) {
        uint32_t v = (uint32_t)(g->samples[i] >> 32), m = owner[v];
        if (m == MP_NONE) continue;
        f->maps[m].sampled_objects++;
        pairs[np++] = (uint64_t)m << 32 | site[(uint32_t)g->samples[i]];
    }
    free(site);
    mp_sort_u64(pairs, np);
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && pairs[j] == pairs[i]) j++;
        mp_map_report *r = &f->maps[pairs[i] >> 32];
        mp_site_count sc = {(uint32_t)pairs[i], (uint32_t)(j - i)};
        /* keep the MP_MAX_SITES largest counts, in decreasing order */
        size_t pos = r->nsites;
        while (pos > 0 && r->sites[pos - 1].samples < sc.samples) pos--;
        if (pos < MP_MAX_SITES) {
            size_t last = r->nsites < MP_MAX_SITES ? r->nsites : MP_MAX_SITES - 1;
            if (last - pos) memmove(&r->sites[pos + 1], &r->sites[pos], (last - pos) * sizeof sc);
            r->sites[pos] = sc;
            if (r->nsites < MP_MAX_SITES) r->nsites++;
        }
        i = j;
    }
    free(pairs);
    return 0;
}

/* Whether the roots reaching a map are all iterators, or stack words in the
 * frame of one of those iterators (the iterator's own fields sit there). */
static bool iterator_only(const mp_graph *g, const mp_map_report *r)
{
    if (r->nroots == 0 || r->nroots > MP_MAX_LISTED_ROOTS) return false;
    bool any = false;
    for (uint32_t i = 0; i < r->nroots; i++) {
        const mp_root *x = &g->roots[r->roots[i]];
        if (x->kind == MP_ROOT_ITERATOR) {
            any = true;
            continue;
        }
        if (x->kind != MP_ROOT_STACK && x->kind != MP_ROOT_REGISTER) return false;
        bool in_iter_frame = false;
        for (uint32_t j = 0; j < r->nroots; j++) {
            const mp_root *it = &g->roots[r->roots[j]];
            if (it->kind == MP_ROOT_ITERATOR && it->thread == x->thread &&
                (it->frame == x->frame || x->kind == MP_ROOT_REGISTER))
                in_iter_frame = true;
        }
        if (!in_iter_frame) return false;
    }
    return any;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* What a map holds: the retained sizes of its table objects that no other
 * table object of the same map dominates. Normally that is the header
 * alone; when a stray root word points into a bucket array (conservative
 * stack scanning does that), the array has its own dominator entry and is
 * still counted with its map. */
/*
 * The table objects (map headers, bucket arrays, buckets) above each
 * object in the dominator tree:
 *   up[x]     the nearest proper dominator of object x that is a table
 *             object of any map, MP_NONE if none. A slot per object: above
 *             a root node there is only S, so an object whose chain reaches
 *             a root node before a table object has none.
 *   depth[i]  for the table object at position i of g->table_objs, how many
 *             table objects are its proper dominators (the length of its up
 *             chain). Depths fall strictly along an up chain, so a walk up
 *             looking for the table objects of one map stops below the
 *             least depth of that map's objects: maps nested in maps ten
 *             thousand deep then cost a step or two each, not the depth.
 * Both filled in one pass over the preorder (every node after its
 * immediate dominator).
 */
typedef struct table_up {
    uint32_t *up;
    uint32_t *depth;
} table_up;

static void table_ancestors(const mp_graph *g, const mp_dom *d, table_up *tu)
{
    size_t n = g->nobjects;
    for (size_t i = 0; i < n; i++) tu->up[i] = MP_NONE;
    table_memo memo = TABLE_MEMO_INIT;
    for (size_t i = 0; i < d->npreorder; i++) {
        uint32_t x = d->preorder[i], p = d->idom[x];
        if (x >= n || p >= n) continue;
        tu->up[x] = table_map_memo(g, p, &memo) != MP_NONE ? p : tu->up[p];
        size_t pos = mp_graph_table_pos(g, x);
        if (pos == SIZE_MAX) continue;
        uint32_t a = tu->up[x];
        /* a was numbered before x: it dominates x, so it came first */
        tu->depth[pos] = a == MP_NONE ? 0 : tu->depth[mp_graph_table_pos(g, a)] + 1;
    }
}

/* The depth (see table_up) of table object x. */
static uint32_t table_depth(const mp_graph *g, const table_up *tu, uint32_t x)
{
    size_t pos = mp_graph_table_pos(g, x);
    assert(pos != SIZE_MAX);
    return tu->depth[pos];
}

/* Is a proper dominator of object x a table object of map k? mind: the
 * least depth of k's table objects (none of them lies above it). */
static bool inside_own_table(const mp_graph *g, const table_up *tu, uint32_t k, uint32_t mind,
                             uint32_t x)
{
    for (uint32_t a = tu->up[x]; a != MP_NONE && table_depth(g, tu, a) >= mind; a = tu->up[a])
        if (table_map(g, a) == k) return true;
    return false;
}

/* ------------------------------------------- what a whole table keeps --- */

/*
 * When a root word points into a table object other than the header (an
 * open iterator's field into the bucket array it was opened on, which an
 * unfinished growth has made the old one; a stray stack word), that object
 * is a "top" of its own in the dominator tree, beside the header. An object
 * that two tops reach (a value that an evacuated old bucket still points
 * at, as Go leaves it for the iterators, and that its new bucket holds) is
 * then dominated by neither, though nothing reaches it but the table: no
 * top's subtree counts it. The table as a whole keeps it.
 *
 * Such an object lies in the subtree of a "head": an object outside the
 * tops' subtrees whose immediate dominator is a strict dominator of some
 * top (a head's dominator can be nothing else: were it below every top, a
 * way to the head avoiding it would exist). The table keeps a head, and
 * its whole subtree, when every live predecessor of the head is in a top's
 * subtree or in the subtree of another kept head, and no root points at
 * it: the greatest such set of heads, found by striking out, from the heads
 * reachable from the tops, those that fail the test until none does.
 */
typedef struct table_walk {
    const mp_graph *g;
    const mp_dom *d;
    const table_up *tu;
    uint32_t k, mind; /* mind: the least depth of k's table objects */
    mp_u32map anc;   /* strict dominators of the tops (objects, root nodes, S) */
    mp_u32map head;  /* object -> its head, or NO_HEAD: memo of head_of */
    mp_u32map seen;  /* objects the walk from the tops has reached */
    mp_u32map heads; /* head -> 1 kept, 0 struck out */
    uint32_t *v;     /* work stack, then the heads found */
    size_t n, cap;
    bool oom;
} table_walk;

#define NO_HEAD (UINT32_MAX - 1)

/* Whether object x is in the subtree of a table object of map k: a table
 * object of k itself, or dominated by one. */
static bool in_own_table(const table_walk *w, uint32_t x)
{
    return table_map(w->g, x) == w->k || inside_own_table(w->g, w->tu, w->k, w->mind, x);
}

static void tw_put(table_walk *w, mp_u32map *m, uint32_t key, uint32_t val)
{
    if (mp_u32map_put(m, key, val) < 0) w->oom = true;
}

static void tw_push(table_walk *w, uint32_t x)
{
    if (!MF_GROW(w->v, w->cap, w->n + 1, 64)) {
        w->oom = true;
        return;
    }
    w->v[w->n++] = x;
}

/* The head whose subtree holds live object x outside the tops' subtrees,
 * or NO_HEAD when x's dominators reach a root node first (a root keeps it
 * without the table) or x dominates a top. Remembered for every object on
 * the way up, so that the walks cost once per object. */
static uint32_t head_of(table_walk *w, uint32_t x)
{
    size_t n = w->g->nobjects;
    uint32_t c = x, h = NO_HEAD;
    for (;;) {
        if (mp_u32map_get(&w->head, c, &h)) break;
        if (c >= n || mp_u32map_get(&w->anc, c, NULL)) {
            h = NO_HEAD;
            break;
        }
        uint32_t up = w->d->idom[c];
        assert(up != MP_NONE);
        if (mp_u32map_get(&w->anc, up, NULL)) {
            h = c;
            break;
        }
        c = up;
    }
    for (uint32_t y = x; y != c && y < n; y = w->d->idom[y]) tw_put(w, &w->head, y, h);
    if (c < n) tw_put(w, &w->head, c, h);
    return h;
}

/* Walks from the tops over every edge, through the tops' subtrees and the
 * subtrees of the heads met, collecting those heads (w->v afterwards). */
static void find_heads(table_walk *w, const uint32_t *tops, size_t ntops)
{
    const mp_graph *g = w->g;
    for (size_t i = 0; i < ntops; i++) {
        tw_put(w, &w->seen, tops[i], 1);
        tw_push(w, tops[i]);
    }
    uint32_t *found = NULL;
    size_t nfound = 0, capfound = 0;
    while (w->n && !w->oom) {
        uint32_t x = w->v[--w->n];
        for (uint64_t e = mp_out_begin(g, x); e < mp_out_end(g, x); e++) {
            uint32_t y = g->out.adj[e];
            if (y >= g->nobjects || mp_u32map_get(&w->seen, y, NULL)) continue;
            tw_put(w, &w->seen, y, 1);
            if (!in_own_table(w, y)) {
                uint32_t h = head_of(w, y);
                if (h == NO_HEAD) continue; /* kept without the table: not followed */
                if (mp_u32map_put(&w->heads, h, 1) == 1) {
                    if (nfound == capfound) {
                        capfound = capfound ? 2 * capfound : 16;
                        uint32_t *f = realloc(found, capfound * sizeof *f);
                        if (!f) {
                            w->oom = true;
                            break;
                        }
                        found = f;
                    }
                    found[nfound++] = h;
                }
            }
            tw_push(w, y);
        }
    }
    free(w->v);
    w->v = found;
    w->n = nfound;
    w->cap = capfound;
}

/* Whether head h, still kept, passes the test: no root points at it, and
 * each live predecessor is in a top's subtree or under a kept head. */
static bool head_holds(table_walk *w, uint32_t h)
{
    const mp_graph *g = w->g;
    if (root_target(w->d, h)) return false;
    for (uint64_t e = mp_in_begin(g, h); e < mp_in_end(g, h); e++) {
        uint32_t p = g->in.adj[e], kept = 0;
        if (w->d->idom[p] == MP_NONE || in_own_table(w, p)) continue;
        uint32_t ph = head_of(w, p);
        if (ph == NO_HEAD || !mp_u32map_get(&w->heads, ph, &kept) || !kept) return false;
    }
    return true;
}

/* The bytes the table of map k keeps beyond its tops' subtrees (see
 * above); 0 when memory runs out (the tops' figure stands). */
static uint64_t table_beyond_tops(const mp_graph *g, const mp_dom *d, const table_up *tu,
                                  uint32_t k, uint32_t mind, const uint32_t *tops, size_t ntops)
{
    table_walk w = {.g = g, .d = d, .tu = tu, .k = k, .mind = mind};
    for (size_t i = 0; i < ntops; i++)
        for (uint32_t a = d->idom[tops[i]]; a != MP_NONE && !w.oom; a = d->idom[a])
            if (mp_u32map_put(&w.anc, a, 1) != 1) break; /* the rest is in already */
    find_heads(&w, tops, ntops);
    for (bool struck = true; struck && !w.oom;) {
        struck = false;
        for (size_t i = 0; i < w.n; i++) {
            uint32_t kept = 0;
            mp_u32map_get(&w.heads, w.v[i], &kept);
            if (kept && !head_holds(&w, w.v[i])) {
                tw_put(&w, &w.heads, w.v[i], 0);
                struck = true;
            }
        }
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < w.n && !w.oom; i++) {
        uint32_t kept = 0;
        mp_u32map_get(&w.heads, w.v[i], &kept);
        if (kept) sum += d->retained[w.v[i]];
    }
    free(w.v);
    mp_u32map_free(&w.anc);
    mp_u32map_free(&w.head);
    mp_u32map_free(&w.seen);
    mp_u32map_free(&w.heads);
    return w.oom ? 0 : sum;
}

/* The bytes a map keeps alive: the retained sizes of its table objects
 * that lie in no other of its table objects' dominator subtrees (its
 * tops), and what its tops keep together though none keeps it alone (see
 * table_beyond_tops). The tops' subtrees are disjoint, and the heads'
 * lie outside them and each other's, so the sum never counts an object
 * twice and never exceeds the reachable heap, whatever the geometry of
 * the graph. */
static uint64_t map_retained(const mp_graph *g, const mp_dom *d, const table_up *tu, uint32_t k,
                             uint32_t **tbl, size_t *cap)
{
    const mp_map *m = &g->maps[k];
    size_t need = m->nbuckets + 3;
    if (need > *cap) {
        uint32_t *q = realloc(*tbl, need * sizeof *q);
        if (!q) return d->retained[m->header];
        *tbl = q;
        *cap = need;
    }
    uint32_t *t = *tbl;
    size_t n = 0;
    t[n++] = m->header;
    if (m->buckets != MP_NONE) t[n++] = m->buckets;
    if (m->oldbuckets != MP_NONE) t[n++] = m->oldbuckets;
    for (size_t i = 0; i < m->nbuckets; i++)
        if (g->buckets[m->first_bucket + i].obj != MP_NONE)
            t[n++] = g->buckets[m->first_bucket + i].obj;
    mp_sort_u32(t, n);
    uint32_t mind = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (d->idom[t[i]] == MP_NONE) continue;
        uint32_t dep = table_depth(g, tu, t[i]);
        if (dep < mind) mind = dep;
    }
    uint64_t sum = 0;
    size_t ntops = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = t[i];
        /* t[i - 1] is as sorted: a top is written over itself or a slot before it */
        if (i > 0 && x == t[i - 1]) continue;
        if (d->idom[x] == MP_NONE) continue;
        if (inside_own_table(g, tu, k, mind, x)) continue;
        sum += d->retained[x];
        t[ntops++] = x;
    }
    /* two table objects reach one object apart only through the old and
     * the new bucket of an evacuated entry, or through a sync.Map's read
     * and dirty maps: the walk (in proportion to what the table reaches)
     * is for those maps */
    if (ntops > 1 && (m->oldbuckets != MP_NONE || m->nold > 0 || m->sync_map == MP_SYNC_JOINED))
        sum += table_beyond_tops(g, d, tu, k, mind, t, ntops);
    return sum;
}

/* The identity of a holder: what its root record says about where the
 * pointer is kept, not which word of it. */
static int cmp_holder_of(const mp_root *x, const mp_root *y)
{
#define CMP_FIELD(f)                                                                               \
    if (x->f != y->f) return x->f < y->f ? -1 : 1
    CMP_FIELD(kind);
    CMP_FIELD(thread);
    CMP_FIELD(frame);
    CMP_FIELD(name);
    CMP_FIELD(function);
    CMP_FIELD(file);
    CMP_FIELD(line);
#undef CMP_FIELD
    return 0;
}

static const mp_graph *holder_g_;
static int cmp_holder(const void *a, const void *b)
{
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    int c = cmp_holder_of(&holder_g_->roots[i], &holder_g_->roots[j]);
    return c ? c : i < j ? -1 : i > j;
}

/* holder[r] = the first root record (in priority order) of root r's
 * holder: the words of one frame of one thread, of one global or one pin
 * are one holder, which a report names once. */
static int root_holders(const mp_graph *g, uint32_t *holder)
{
    uint32_t *ix = malloc((g->nroots ? g->nroots : 1) * sizeof *ix);
    if (!ix) return -1;
    for (size_t r = 0; r < g->nroots; r++) ix[r] = (uint32_t)r;
    holder_g_ = g;
    if (g->nroots > 1) qsort(ix, g->nroots, sizeof *ix, cmp_holder);
    holder_g_ = NULL;
    for (size_t i = 0; i < g->nroots; i++) {
        bool same = i > 0 && cmp_holder_of(&g->roots[ix[i - 1]], &g->roots[ix[i]]) == 0;
        holder[ix[i]] = same ? holder[ix[i - 1]] : ix[i];
    }
    free(ix);
    return 0;
}

size_t mp_findings_distinct_holders(const mp_findings *f, uint32_t *roots, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++) dup = f->holder[roots[j]] == f->holder[roots[i]];
        if (!dup) roots[k++] = roots[i];
    }
    return k;
}

/* Whether a map's keys hold pointers, so that keeping a key keeps what it
 * points to: pointer keys; keys of a type with pointer fields (an
 * interface-like pair, a struct); when the key type says nothing, keys that
 * were seen pointing at objects (`seen`). A string key's bytes are the key
 * itself, not something it keeps. */
static bool keys_carry_pointers(const mp_graph *g, const mp_map *m, bool seen)
{
    switch (m->key_kind) {
    case MP_KEY_PTR:
        return true;
    case MP_KEY_STRING:
    case MP_KEY_INT:
        return false;
    default:
        if (m->key_type != MP_NONE && g->types[m->key_type].pointers != MP_PTRS_UNKNOWN)
            return g->types[m->key_type].pointers == MP_PTRS_SOME;
        return seen;
    }
}

/* ------------------------------------------------------ slice buffers --- */

/* A string pointing into an object at least this large, and this many
 * times its own length, is a slice of it (SLICE_BUFFERS): a string that
 * owns its bytes lies in an object of its length rounded up to a size
 * class, and small objects are not worth a finding. */
#define SLICE_MIN_OBJECT KIB
#define SLICE_RATIO 8

/* The length of the string key shown as `display`, at most: a quoted key's
 * display is never shorter than its bytes (escapes only lengthen it); a key
 * cut short says its length ("... (N bytes, #H)"), as does one whose bytes
 * were unreadable ("(string of N bytes at 0x...)"); UINT64_MAX when the
 * display does not tell (a cut without a length, from older writers). */
static uint64_t key_length_at_most(const char *display)
{
    size_t n = strlen(display);
    if (strncmp(display, "(string of ", 11) == 0) return strtoull(display + 11, NULL, 10);
    const char *open = strrchr(display, '(');
    if (open && open - display >= 4 && strncmp(open - 4, "... ", 4) == 0 && open[1] >= '0' &&
        open[1] <= '9') {
        char *end;
        uint64_t len = strtoull(open + 1, &end, 10);
        if (strncmp(end, " bytes, #", 9) == 0) return len;
    }
    if (n >= 3 && strcmp(display + n - 3, "...") == 0) return UINT64_MAX;
    return n;
}

/* Whether type t is a string (a pointer and a length): of the string kind,
 * or named "string" (a runtime's string header, typed as a struct). */
static bool string_type(const mp_graph *g, uint32_t t)
{
    return t != MP_NONE && (g->types[t].kind == MP_TYPE_STRING ||
                            strcmp(mp_str(g, g->types[t].name), "string") == 0);
}

/*
 * The objects the string keys and values of one map are slices of, as the
 * entry pass meets them: object -> bit 0 (a key is a slice of it) and,
 * above it, how many values point into it (counted up to 2). Only objects
 * of SLICE_MIN_OBJECT or more that the map keeps alive are put in, so the
 * tally stays small and costs nothing for maps of short strings that own
 * their bytes (the object size is looked at first).
 */
typedef struct slice_tally {
    mp_u32map m;
} slice_tally;

/* Whether x, pointed into by a string of map k, is an object large enough
 * to be a buffer that the map keeps alive (its immediate dominator lies in
 * the map's table). */
static bool slice_candidate(const mp_graph *g, const mp_dom *d, uint32_t x, uint32_t k,
                            table_memo *memo)
{
    return x != MP_NONE && mp_obj_size(g, x) >= SLICE_MIN_OBJECT && d->idom[x] != MP_NONE &&
           table_map_memo(g, d->idom[x], memo) == k;
}

/* Notes entry e of map k (string keys, or string values: vals) in t; -1
 * out of memory. */
static int slice_note(const mp_graph *g, const mp_dom *d, const mp_entry *e, bool vals,
                      table_memo *memo, slice_tally *t)
{
    const mp_map *m = &g->maps[e->map];
    uint32_t ko = e->key_obj, vo = e->value_obj;
    if (m->key_kind == MP_KEY_STRING && !m->key_indirect &&
        slice_candidate(g, d, ko, e->map, memo)) {
        char buf[32];
        uint64_t len = key_length_at_most(mp_entry_key(g, e, buf, sizeof buf));
        if (len != UINT64_MAX && mp_obj_size(g, ko) / SLICE_RATIO >= len) {
            uint32_t v = 0;
            mp_u32map_get(&t->m, ko, &v);
            if (!(v & 1) && mp_u32map_put(&t->m, ko, v | 1) < 0) return -1;
        }
    }
    if (vals && vo != ko && slice_candidate(g, d, vo, e->map, memo)) {
        uint32_t v = 0;
        mp_u32map_get(&t->m, vo, &v);
        if ((v >> 1) < 2 && mp_u32map_put(&t->m, vo, v + 2) < 0) return -1;
    }
    return 0;
}

/* Sums the buffers of t into r (a key's, or one that two values or more
 * point into) and empties t for the next map. */
static void slice_close(const mp_graph *g, slice_tally *t, mp_map_report *r)
{
    for (size_t i = 0; t->m.n && i <= t->m.mask; i++) {
        uint32_t x = t->m.keys[i], v = t->m.vals[i];
        if (x == UINT32_MAX || !((v & 1) || (v >> 1) >= 2)) continue;
        r->slice_buffers++;
        r->slice_bytes += mp_obj_size(g, x);
        r->slice_of |= (v & 1) ? MP_SLICE_KEYS : MP_SLICE_VALUES;
    }
    mp_u32map_free(&t->m);
    memset(&t->m, 0, sizeof t->m);
}

/*
 * Which of an entry's targets t[0..nt) that it owns (own[i]) are its
 * alone (alone[i], see entry_alone): the references from under the
 * targets that are its alone do not count, and a target is its alone only
 * if the references to it come from the entry's slots and from there. So
 * the set is found from the top: every owned target at first, then those
 * found alone, until it no longer shrinks (it only shrinks: at most nt
 * rounds, and one when no target is held from elsewhere).
 */
static void entry_targets_alone(const mp_graph *g, const mp_dom *d, const mp_stale_words *stale,
                                uint32_t map, bool all_live, const uint32_t *t,
                                const uint32_t *words, const bool *own, size_t nt, bool *alone)
{
    uint32_t mine[MP_ENTRY_MAX_TARGETS];
    size_t nmine = 0;
    for (size_t i = 0; i < nt; i++)
        if (own[i]) mine[nmine++] = t[i];
    for (;;) {
        size_t kept = 0;
        entry_own eo = {mine, nmine, 0, false};
        for (size_t i = 0; i < nmine; i++) {
            uint64_t r = d->retained[mine[i]];
            if (r > eo.most) eo.most = r;
            if (mp_dom_deep(g, d, mine[i])) eo.deep = true; /* a bit: one line less than a size */
        }
        for (size_t i = 0; i < nt; i++) {
            alone[i] = false;
            if (!own[i]) continue;
            uint32_t hs[MAX_STALE];
            size_t nhs = stale_holders(stale, map, t[i], hs);
            alone[i] = entry_alone(g, d, t[i], words[i], all_live, hs, nhs, &eo);
            kept += alone[i];
        }
        if (kept == nmine) return; /* every one of mine is alone: the set holds */
        assert(kept < nmine);
        nmine = 0;
        for (size_t i = 0; i < nt; i++)
            if (alone[i]) mine[nmine++] = t[i];
    }
}

/*
 * One pass over the entries of maps k0..k1-1, map by map, in the graph's
 * order: which key and value objects each entry owns, what they retain,
 * which values are shared, and whether keys point at objects; each entry's
 * record appended to `info`. The entries are read a chunk at a time (they
 * are packed, perhaps on disk) so that the objects of the next ones can be
 * fetched while the current ones wait on memory: entries point all over
 * the heap.
 *
 * Two passes over disjoint ranges of maps may run at once (entry_pass):
 * each writes the reports of its own maps, its own `counted` bitmap and
 * `info`, and owner[x] only for an x it owns. An entry owns x only when x's
 * immediate dominator lies in the table of the entry's map, or nothing but
 * the entry's slot and stale words of its map hold x, so no other map's
 * entry ever owns x: owner[x] is read and written by one pass alone
 * (hence ownership is asked before owner[x] is read).
 */
#define ENTRY_CHUNK 256
#define ENTRY_AHEAD 16 /* entries between a fetch and the look (< ENTRY_CHUNK) */
typedef struct entry_range {
    const mp_graph *g;
    const mp_dom *d;
    mp_findings *out;
    uint32_t *owner;
    uint8_t *counted;            /* clear; left clear */
    size_t k0, k1;               /* the maps */
    mp_pack *info;               /* where the entries' records go */
    const mp_stale_words *stale; /* built before the passes, read by both */
    int rc;
} entry_range;

static int entry_maps(entry_range *er)
{
    const mp_graph *g = er->g;
    const mp_dom *d = er->d;
    const mp_stale_words *stale = er->stale;
    mp_findings *out = er->out;
    uint32_t *owner = er->owner;
    uint8_t *counted = er->counted;
    mp_entry *es = malloc(ENTRY_CHUNK * sizeof *es);
    uint32_t *marked = NULL; /* values marked in `counted` for the current map */
    size_t nmarked = 0, capmarked = 0;
    if (!es) return -1;
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, er->k0 < g->nmaps ? g->maps[er->k0].first_entry : 0);
    /* every object reached: an in-edge is a live reference, unchecked */
    bool all_live = out->heap_objects == g->nobjects;
    table_memo memo = TABLE_MEMO_INIT;
    mp_entry_reader rd = MP_ENTRY_READER_INIT;
    slice_tally slices = {{0}};
    int rc = 0;
    for (size_t k = er->k0; k < er->k1 && !rc; k++) {
        const mp_map *m = &g->maps[k];
        mp_map_report *r = &out->maps[k];
        size_t left = m->nentries;
        bool str_vals = string_type(g, m->value_type);
        bool slices_asked = str_vals || (m->key_kind == MP_KEY_STRING && !m->key_indirect);
        /* es[at..got): the window of entries read; each one is looked at
         * once ENTRY_AHEAD more are read behind it (or the map's last
         * ones are), so that the fetches for the entries ahead never stop
         * at a window's end */
        size_t at = 0, got = 0;
        while (!rc) {
            if (got - at <= ENTRY_AHEAD && left) {
                got = mp_entry_window_fill(&c, es, ENTRY_CHUNK, &at, got, &left);
                if (got < ENTRY_CHUNK && left) {
                    rc = -1; /* the packed entries could not be read back */
                    break;
                }
            }
            if (at == got) break;
            size_t stop = left ? got - ENTRY_AHEAD : got;
            for (size_t j = at; j < stop; j++) {
                const mp_entry *e = &es[j];
                assert(e->map == k);
                if (j + ENTRY_AHEAD < got) {
                    uint32_t pv = es[j + ENTRY_AHEAD].value_obj, pk = es[j + ENTRY_AHEAD].key_obj;
                    if (pv != MP_NONE) {
                        __builtin_prefetch(&g->in.at[pv]);
                        __builtin_prefetch(&d->idom[pv]);
                        __builtin_prefetch(&d->retained[pv]);
                        /* (entry_own.deep) */
                        __builtin_prefetch(d->deep ? &d->deep[pv >> 3] : (void *)&g->size32[pv]);
                        __builtin_prefetch(&owner[pv]);
                        if (g->table_bits) __builtin_prefetch(&g->table_bits[pv >> 3]);
                    }
                    if (pk != MP_NONE)
                        __builtin_prefetch(&d->idom[pk]), __builtin_prefetch(&owner[pk]);
                }
                /* the value's holders (entry_alone), once its edge offset,
                 * asked for 8 entries ago, has come in */
                if (j + ENTRY_AHEAD / 2 < got && es[j + ENTRY_AHEAD / 2].value_obj != MP_NONE)
                    __builtin_prefetch(
                        &g->in.adj[mp_in_begin(g, es[j + ENTRY_AHEAD / 2].value_obj)]);
                /* a key points at an object: its key_obj, or for a key
                 * stored in an object of its own, whatever that object
                 * points to */
                uint32_t ko = e->key_obj;
                if (ko != MP_NONE && (!m->key_indirect || mp_out_end(g, ko) > mp_out_begin(g, ko)))
                    r->key_pointers = true;
                bool key_owned = owns(g, d, e, e->key_obj, &memo, stale);
                bool val_owned =
                    e->value_obj != e->key_obj && owns(g, d, e, e->value_obj, &memo, stale);
                /* what the entry retains: every object its key and value
                 * slots point to that it owns (a struct value's second and
                 * third pointers too), each counted once */
                uint32_t t[MP_ENTRY_MAX_TARGETS], words[MP_ENTRY_MAX_TARGETS];
                size_t nk, nt = mp_entry_targets(g, &rd, e, t, words, &nk);
                bool own[MP_ENTRY_MAX_TARGETS], alone[MP_ENTRY_MAX_TARGETS];
                for (size_t i = 0; i < nt; i++)
                    own[i] = owns(g, d, e, t[i], &memo, stale) && owner[t[i]] == MP_NONE;
                entry_targets_alone(g, d, stale, (uint32_t)k, all_live, t, words, own, nt, alone);
                uint64_t ret = 0;
                for (size_t i = 0; i < nt; i++) {
                    if (!own[i]) continue;
                    owner[t[i]] = (uint32_t)k;
                    if (!alone[i]) continue;
                    ret += d->retained[t[i]];
                    if (i < nk) r->keys_retained += d->retained[t[i]];
                }
                r->entries_retained += ret;
                uint32_t v = e->value_obj;
                bool shared = false;
                if (v != MP_NONE && !val_owned && !(key_owned && v == e->key_obj) &&
                    table_map_memo(g, v, &memo) != e->map && d->idom[v] != MP_NONE) {
                    shared = true;
                    r->shared_entries++;
                    if (!mp_bit(counted, v)) {
                        r->shared_bytes += d->retained[v];
                        if (nmarked == capmarked) {
                            size_t nc = capmarked ? capmarked * 2 : 256;
                            uint32_t *q = realloc(marked, nc * sizeof *q);
                            if (!q) {
                                rc = -1;
                                break;
                            }
                            marked = q;
                            capmarked = nc;
                        }
                        marked[nmarked++] = v;
                        counted[v >> 3] |= (uint8_t)(1u << (v & 7));
                    }
                }
                uint64_t info[2] = {ret, shared};
                mp_pack_add(er->info, info);
                if (slices_asked && slice_note(g, d, e, str_vals, &memo, &slices) < 0) {
                    rc = -1;
                    break;
                }
            }
            at = stop;
        }
        for (size_t i = 0; i < nmarked; i++) counted[marked[i] >> 3] = 0;
        nmarked = 0;
        slice_close(g, &slices, r);
    }
    mp_entry_reader_free(&rd);
    mp_entry_cursor_free(&c);
    free(es);
    free(marked);
    if (mp_pack_failed(er->info)) rc = -1;
    return rc;
}

static void entry_part(void *arg, unsigned t, unsigned n)
{
    (void)n;
    entry_range *er = (entry_range *)arg + t;
    er->rc = entry_maps(er);
}

/* The first map of the second half of the entries (by count), or 0 when
 * the entries do not split in two: a single map, or maps whose entries do
 * not follow one another in the graph's order. */
static size_t entry_split(const mp_graph *g)
{
    size_t at = 0, half = g->nentries / 2, best = 0, best_gap = SIZE_MAX;
    for (size_t k = 0; k < g->nmaps; k++) {
        if (g->maps[k].first_entry != at) return 0;
        size_t gap = at > half ? at - half : half - at;
        if (k > 0 && gap < best_gap) best = k, best_gap = gap;
        at += g->maps[k].nentries;
    }
    return at == g->nentries ? best : 0;
}

/* The bytes of the second half's records kept in memory before they go
 * to a file (then a few MiB at a time): the store only waits for the first
 * half to end. */
#define SECOND_HALF_SPILL ((uint64_t)1 << 20)
/* The same for every entry's records (mp_findings.entry_info): a few bytes
 * an entry, tens of MiB at 10M entries, that the analysis adds on top of
 * the graph, its paths and tree just when the process is at its largest,
 * though they are only read by map (a cursor) or a few at a time. */
#define ENTRY_INFO_SPILL ((uint64_t)1 << 20)

/* The spill threshold of a store the findings keep: `bytes`, or the
 * user's lower one (mp_spill_bytes); 0 when the user keeps every store in
 * memory. */
static uint64_t spill_at_most(uint64_t bytes)
{
    uint64_t spill = mp_spill_bytes();
    return spill < bytes ? spill : bytes;
}

/*
 * Every entry's figures (entry_maps), into out->entry_info in the graph's
 * order. With two processors and entries in more than one map, the maps
 * split in two halves of about as many entries, run at once; the second's
 * records are kept in a store of their own (spilled to a file past a few
 * MiB, to keep the peak memory) and appended after the first's.
 * `counted` is a clear bitmap of an object a bit; the second half takes one
 * of its own.
 */
static int entry_halves(const mp_graph *g, const mp_dom *d, mp_findings *out, uint32_t *owner,
                        uint8_t *counted, const mp_stale_words *stale)
{
    entry_range er[2] = {{g, d, out, owner, counted, 0, g->nmaps, &out->entry_info, stale, 0}};
    size_t split = mp_threads() >= 2 ? entry_split(g) : 0;
    if (!split) return entry_maps(&er[0]);
    mp_pack second;
    mp_pack_init(&second, 2);
    mp_pack_spill(&second, spill_at_most(SECOND_HALF_SPILL));
    uint8_t *counted2 = mf_zeroed(g->nobjects / 8 + 1, 1, true);
    if (!counted2) {
        mp_pack_free(&second);
        return entry_maps(&er[0]);
    }
    er[0].k1 = split;
    er[1] = (entry_range){g, d, out, owner, counted2, split, g->nmaps, &second, stale, 0};
    mp_parallel(2, entry_part, er);
    int rc = er[0].rc || er[1].rc ? -1 : 0;
    if (!rc) {
        mp_pack_cursor c;
        mp_pack_cursor_init(&c, &second, 0);
        uint64_t rec[2 * MP_PACK_BLOCK];
        size_t n = 0;
        for (size_t got; (got = mp_pack_next_many(&c, rec, MP_PACK_BLOCK)) > 0;)
            for (size_t i = 0; i < got; i++, n++) mp_pack_add(&out->entry_info, rec + 2 * i);
        mp_pack_cursor_free(&c);
        if (n != second.n) rc = -1; /* the spill could not be read back */
    }
    free(counted2);
    mp_pack_free(&second);
    return rc;
}

/* entry_halves, with the stale words of the maps' old bucket arrays
 * gathered first, once, for both halves to read. */
static int entry_pass(const mp_graph *g, const mp_dom *d, mp_findings *out, uint32_t *owner,
                      uint8_t *counted)
{
    mp_stale_words stale;
    if (mp_stale_words_build(g, &stale) < 0) return -1;
    int rc = entry_halves(g, d, out, owner, counted, &stale);
    mp_stale_words_free(&stale);
    return rc;
}

uint64_t mp_findings_entry(const mp_findings *f, size_t i, bool *shared)
{
    uint64_t info[2];
    mp_pack_get(&f->entry_info, i, info);
    if (shared) *shared = info[1] != 0;
    return info[0];
}

void mp_findings_cursor_init(mp_findings_cursor *c, const mp_findings *f, size_t first)
{
    mp_pack_cursor_init(&c->c, &f->entry_info, first);
}

bool mp_findings_next(mp_findings_cursor *c, uint64_t *ret, bool *shared)
{
    uint64_t info[2];
    if (!mp_pack_next(&c->c, info)) return false;
    *ret = info[0];
    *shared = info[1] != 0;
    return true;
}

void mp_findings_cursor_free(mp_findings_cursor *c)
{
    mp_pack_cursor_free(&c->c);
}

/* The figures of every map and entry that an index of g keeps (dv, checked
 * when the index was read: mp_findings_saved_check), in place of the
 * passes that compute them; the entries' results are lent by the index. */
static void restore(const mp_graph *g, const mp_graph_derived *dv, mp_findings *out)
{
    for (size_t k = 0; k < g->nmaps; k++) {
        const mp_findings_saved *s = &dv->fmaps[k];
        mp_map_report *r = &out->maps[k];
        r->retained = s->retained;
        r->entries_retained = s->entries_retained;
        r->keys_retained = s->keys_retained;
        r->shared_entries = s->shared_entries;
        r->shared_bytes = s->shared_bytes;
        r->sampled_objects = s->sampled_objects;
        r->nroots = s->nroots;
        memcpy(r->roots, s->roots, sizeof r->roots);
        r->nsites = s->nsites;
        memcpy(r->sites, s->sites, sizeof r->sites);
        r->key_pointers = s->key_pointers != 0;
        r->slice_bytes = s->slice_bytes;
        r->slice_buffers = s->slice_buffers;
        r->slice_of = (uint8_t)s->slice_of;
    }
    mp_pack_free(&out->entry_info);
    out->entry_info = dv->fentries;
    out->entry_info_lent = true;
}

/* A map's evidence and whether it is a suspect, from its figures and its
 * score (which mp_findings_compute sets, then lowers by the maps nested
 * in it that are judged on their own: attribute_inner). */
static void judge(const mp_graph *g, const mp_dom *d, mp_findings *out, size_t k,
                  uint64_t significant, double share_pct)
{
    const mp_map *m = &g->maps[k];
    mp_map_report *r = &out->maps[k];
    bool live = m->header != MP_NONE && d->idom[m->header] != MP_NONE;
    uint64_t slots = 8 * (m->nmain + m->noverflow_walked);
    /* (score: what it holds less the maps nested in it judged on their own) */
    bool sig = r->retained >= significant && r->score >= significant;
    uint32_t ev = 0;
    /* what it holds alone, or together with other roots through its
     * shared values: two structures holding the same leaked values
     * each hold them */
    if (live && out->heap_bytes && (double)r->score * 100.0 >= share_pct * (double)out->heap_bytes)
        ev |= MP_EV_LARGE_SHARE;
    if (m->table_bytes >= SIGNIFICANT_MIN && slots && m->count * 16 <= slots) ev |= MP_EV_EMPTIED;
    if (live && iterator_only(g, r)) ev |= MP_EV_ITERATOR_ONLY;
    if (live && r->nroots > 0 && r->nroots <= MP_MAX_LISTED_ROOTS && sig &&
        !(ev & MP_EV_ITERATOR_ONLY)) {
        bool all_stack = true;
        for (uint32_t i = 0; i < r->nroots; i++) {
            uint8_t kd = g->roots[r->roots[i]].kind;
            if (kd != MP_ROOT_STACK && kd != MP_ROOT_REGISTER) all_stack = false;
        }
        if (all_stack) ev |= MP_EV_STACK_FRAME;
    }
    if (keys_carry_pointers(g, m, r->key_pointers) && r->keys_retained > 0 &&
        (r->keys_retained >= SIGNIFICANT_MIN || r->keys_retained * 2 >= r->retained))
        ev |= MP_EV_POINTER_KEYS;
    /* a map of a few KiB caught mid-growth (a startup table filled once)
     * keeps its old array for good, and that is no leak; a stuck growth
     * matters where the map holds as much as any finding must */
    if ((m->oldbuckets != MP_NONE || m->nold > 0) && r->score >= SIGNIFICANT_MIN)
        ev |= MP_EV_OLD_BUCKETS;
    if (m->nan_keys > 0) ev |= MP_EV_NAN_KEYS;
    if (r->slice_buffers > 0 &&
        (r->slice_bytes >= SIGNIFICANT_MIN || r->slice_bytes * 2 >= r->retained))
        ev |= MP_EV_SLICE_BUFFERS;
    /* a few values seen from elsewhere (a stack word that happens to hold
     * one) are not a finding; a real second holder is */
    if (r->shared_entries > 0 &&
        (r->shared_bytes >= significant || r->shared_entries * 10 >= m->nentries))
        ev |= MP_EV_SHARED_ENTRIES;
    if (r->nroots > 1 && !(ev & MP_EV_ITERATOR_ONLY)) ev |= MP_EV_SEVERAL_ROOTS;
    if (m->sync_map) ev |= MP_EV_SYNC_MAP;
    r->evidence = ev;
    /* sharing is context: a bounded cache that a stray stack word or a
     * second index also reaches is no leak by that alone */
    r->suspect = ((ev & ~MP_EV_CONTEXT) && r->score >= significant) ||
                 (ev & (MP_EV_EMPTIED | MP_EV_OLD_BUCKETS));
}

/* ------------------------------------------------- suspects inside maps --- */

/*
 * A map holds what its table objects dominate and what its shared values
 * dominate (its score). When a suspect map's header lies in that region
 * (a map of maps; a struct value holding a map; a value another map
 * shares), the bytes under that header are the inner map's finding, not
 * the outer map's: the outer map is judged and ranked by what is left
 * (attribute_inner says which inner maps count), and says which inner
 * suspect holds the rest. An outer map that grows by gaining entries keeps
 * its own bytes and stays a suspect; one that holds a few entries leading
 * to a leaking map does not.
 *
 * The walk from a candidate's header (a suspect by its own bytes) up its
 * dominator chain meets, in order, every map whose region holds it: a
 * table object of a map (dominance), or an object that an entry of a map
 * holds as a shared value.
 *
 * From the header of another candidate on, a walk meets what that
 * candidate's own walk meets: it ends there with a link to that walk
 * (IN_LINK). Scores stop there (count_nested); what a map says of the
 * suspects inside it follows the link while that map is no suspect
 * (add_inner).
 * So maps nested in maps thousands deep, each of them a suspect at first,
 * are walked once, not once per map below.
 */
enum { IN_TABLE, IN_SHARED, IN_HEADER, IN_LINK };
typedef struct inner_item {
    uint32_t map;
    uint32_t kind; /* IN_TABLE: a table object of map dominates the header; IN_SHARED: a
                      value map shares does; IN_HEADER: map's header; IN_LINK: the
                      walk goes on as the walk of map (whose header it has reached),
                      the last item of a walk */
} inner_item;

typedef struct inner_walks {
    inner_item *it;
    size_t n, cap;
    size_t *first;  /* per suspect walked: its items are it[first[i] .. first[i + 1]) */
    uint32_t *walk; /* per map: the index of its walk, MP_NONE if it has none */
} inner_walks;

static int walk_put(inner_walks *w, uint32_t map, uint32_t kind)
{
    if (!MF_GROW(w->it, w->cap, w->n + 1, 64)) return -1;
    w->it[w->n++] = (inner_item){map, kind};
    return 0;
}

/* The values map k's entries share (not own), sorted, made when first
 * asked for: a walk may ask about the same large map many times. */
typedef struct shared_vals {
    uint32_t **v; /* per map: NULL not made yet */
    size_t *n;
} shared_vals;

/* Whether an entry of map k holds object x as its value without owning it
 * (a shared value, counted in k's shared_bytes); -1 out of memory. */
static int shares_value(const mp_graph *g, const mp_findings *f, shared_vals *sv, uint32_t k,
                        uint32_t x)
{
    if (!sv->v[k]) {
        const mp_map *m = &g->maps[k];
        size_t cap = f->maps[k].shared_entries, n = 0;
        uint32_t *v = malloc((cap ? cap : 1) * sizeof *v);
        if (!v) return -1;
        mp_entry_cursor c;
        mp_entry_cursor_init(&c, g, m->first_entry);
        mp_findings_cursor fc;
        mp_findings_cursor_init(&fc, f, m->first_entry);
        mp_entry e;
        uint64_t ret;
        bool shared;
        for (size_t i = 0; i < m->nentries && n < cap && mp_entry_next(&c, &e) &&
                           mp_findings_next(&fc, &ret, &shared);
             i++)
            if (shared) v[n++] = e.value_obj;
        mp_entry_cursor_free(&c);
        mp_findings_cursor_free(&fc);
        mp_sort_u32(v, n);
        sv->v[k] = v;
        sv->n[k] = n;
    }
    return bsearch(&x, sv->v[k], sv->n[k], sizeof x, cmp_u32) != NULL;
}

/* The maps met on the way up from suspect j's header (see above), put in w,
 * up to the header of another candidate (cand), where a link to its walk
 * ends them. */
static int walk_up(const mp_graph *g, const mp_dom *d, const mp_findings *f, const uint8_t *cand,
                   shared_vals *sv, uint32_t j, inner_walks *w)
{
    size_t n = g->nobjects;
    uint32_t x = g->maps[j].header;
    table_memo memo = TABLE_MEMO_INIT;
    /* the dominator chain is a path of the tree: at most n steps */
    for (size_t steps = 0; x < n && steps < n; steps++) {
        uint32_t k = table_map_memo(g, x, &memo);
        size_t from = w->n;
        if (k != MP_NONE && k != j && cand[k] && g->maps[k].header == x)
            return walk_put(w, k, IN_LINK); /* k's walk starts at x too */
        if (k != MP_NONE) {
            if (walk_put(w, k, IN_TABLE)) return -1;
            if (cand[k] && g->maps[k].header == x && walk_put(w, k, IN_HEADER)) return -1;
        }
        uint32_t up = d->idom[x];
        uint32_t owner = up < n ? table_map(g, up) : MP_NONE; /* an entry of it owns x */
        uint64_t end = mp_in_end(g, x);
        for (uint64_t i = mp_in_begin(g, x); i < end; i++) {
            uint32_t q = table_map(g, g->in.adj[i]);
            if (q == MP_NONE || q == k || q == owner) continue;
            bool dup = false;
            for (size_t t = from; t < w->n && !dup; t++) dup = w->it[t].map == q;
            if (dup) continue;
            int sh = shares_value(g, f, sv, q, x);
            if (sh < 0 || (sh && walk_put(w, q, IN_SHARED))) return -1;
        }
        x = up;
    }
    return 0;
}

/* Every map's nested_bytes: the bytes of each candidate (a suspect by its
 * own bytes, sus[0 .. ns)) counted once in each map its walk meets up to
 * the next candidate above, which holds them in turn. */
static void count_nested(const mp_graph *g, const mp_dom *d, mp_findings *out, const uint32_t *sus,
                         size_t ns, const inner_walks *w, uint32_t *seen)
{
    for (size_t k = 0; k < g->nmaps; k++) {
        out->maps[k].nested_bytes = 0;
        seen[k] = 0;
    }
    for (size_t i = 0; i < ns; i++) {
        uint32_t j = sus[i];
        uint64_t b = d->retained[g->maps[j].header];
        for (size_t t = w->first[i]; t < w->first[i + 1]; t++) {
            const inner_item *it = &w->it[t];
            if (it->map == j) continue;
            /* a candidate's header (IN_LINK ends a walk): its own walk goes on */
            if (it->kind == IN_LINK || it->kind == IN_HEADER) break;
            if (seen[it->map] == j + 1) continue;
            seen[it->map] = j + 1;
            out->maps[it->map].nested_bytes += b;
        }
    }
}

/* Every map's inner_bytes and inner_map (what its report says it holds of
 * the suspects), and the (map, suspect inside) pairs into out->inner (for
 * the growth of growing suspects): each suspect counted once per map, in
 * the maps up to the first suspect whose header holds it. */
static int add_inner(const mp_graph *g, const mp_dom *d, mp_findings *out, const uint32_t *sus,
                     size_t ns, const inner_walks *w, uint32_t *seen)
{
    for (size_t k = 0; k < g->nmaps; k++) {
        out->maps[k].inner_bytes = 0;
        out->maps[k].inner_map = MP_NONE;
        seen[k] = 0;
    }
    size_t cap = 0;
    for (size_t i = 0; i < ns; i++) {
        uint32_t j = sus[i];
        if (!out->maps[j].suspect) continue;
        uint64_t b = d->retained[g->maps[j].header];
        for (size_t t = w->first[i], end = w->first[i + 1]; t < end; t++) {
            const inner_item *it = &w->it[t];
            if (it->kind == IN_LINK) { /* the last item: on with the walk linked to */
                uint32_t l = w->walk[it->map];
                assert(l != MP_NONE && l != i);
                t = w->first[l] - 1; /* the loop's t++ makes it first[l] */
                end = w->first[l + 1];
                continue;
            }
            if (it->map == j) continue;
            if (it->kind == IN_HEADER) {
                if (out->maps[it->map].suspect) break;
                continue;
            }
            if (seen[it->map] == j + 1) continue;
            seen[it->map] = j + 1;
            mp_map_report *c = &out->maps[it->map];
            c->inner_bytes += b;
            if (c->inner_map == MP_NONE || b > d->retained[g->maps[c->inner_map].header])
                c->inner_map = j;
            if (!MF_GROW(out->inner, cap, out->ninner + 1, 64)) return -1;
            out->inner[out->ninner++] = (mp_inner_pair){it->map, j, it->kind == IN_SHARED};
        }
    }
    return 0;
}

/*
 * A map is judged by what it holds of its own: its score less the bytes of
 * the maps nested in it that are judged on their own. Those are the
 * candidates, the maps that are suspects by their own bytes, whether or not
 * they stay suspects once the maps inside them are set apart; of them, the
 * outermost inside each map (each candidate's bytes hold those of the
 * candidates inside it). So in a chain of maps, each holding the one below
 * and a little of its own, every map above the leaking one holds only its
 * table and its other entries: the leak is the one suspect, and a map above
 * it is another only when what it holds besides the chain is significant.
 * A map of many small maps, none of them a candidate, keeps their bytes:
 * it is the one growing. The candidates are fixed before any score is
 * lowered, so one pass settles every verdict, however deep the nesting.
 */
static int attribute_inner(const mp_graph *g, const mp_dom *d, mp_findings *out,
                           uint64_t significant, double share_pct)
{
    size_t nm = g->nmaps, ns = 0;
    uint8_t *cand = calloc(nm ? nm : 1, 1);
    uint32_t *sus = malloc((nm ? nm : 1) * sizeof *sus),
             *seen = calloc(nm ? nm : 1, sizeof(uint32_t));
    inner_walks w = {.walk = malloc((nm ? nm : 1) * sizeof(uint32_t))};
    shared_vals sv = {calloc(nm ? nm : 1, sizeof *sv.v), calloc(nm ? nm : 1, sizeof *sv.n)};
    int rc = -1;
    if (!cand || !sus || !seen || !sv.v || !sv.n || !w.walk) goto done;
    for (size_t k = 0; k < nm; k++) {
        out->maps[k].inner_map = MP_NONE;
        w.walk[k] = MP_NONE;
        if (out->maps[k].suspect && g->maps[k].header != MP_NONE &&
            d->idom[g->maps[k].header] != MP_NONE) {
            cand[k] = 1;
            w.walk[k] = (uint32_t)ns;
            sus[ns++] = (uint32_t)k;
        }
    }
    if (!ns) {
        rc = 0;
        goto done;
    }
    w.first = malloc((ns + 1) * sizeof *w.first);
    if (!w.first) goto done;
    for (size_t i = 0; i < ns; i++) {
        w.first[i] = w.n;
        if (walk_up(g, d, out, cand, &sv, sus[i], &w)) goto done;
    }
    w.first[ns] = w.n;
    count_nested(g, d, out, sus, ns, &w, seen);
    for (size_t k = 0; k < nm; k++) {
        mp_map_report *r = &out->maps[k];
        if (!r->nested_bytes) continue;
        if (r->nested_bytes > r->score) r->nested_bytes = r->score;
        r->score -= r->nested_bytes;
        judge(g, d, out, k, significant, share_pct);
    }
    rc = add_inner(g, d, out, sus, ns, &w, seen);
done:
    free(cand);
    free(sus);
    free(seen);
    free(w.it);
    free(w.first);
    free(w.walk);
    for (size_t k = 0; sv.v && k < nm; k++) free(sv.v[k]);
    free(sv.v);
    free(sv.n);
    return rc;
}

int mp_findings_compute(const mp_graph *g, const mp_paths *p, mp_dom *d,
                        const mp_findings_options *opt, mp_findings *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    double share_pct = opt && opt->large_share_pct > 0 ? opt->large_share_pct : 10.0;
    size_t n = g->nobjects;
    out->heap_bytes = p->reached_bytes;
    out->heap_objects = p->nreached;
    out->nmaps = g->nmaps;
    out->maps = calloc(g->nmaps ? g->nmaps : 1, sizeof *out->maps);
    out->ranked = malloc((g->nmaps ? g->nmaps : 1) * sizeof *out->ranked);
    mp_pack_init(&out->entry_info, 2);
    mp_pack_spill(&out->entry_info, spill_at_most(ENTRY_INFO_SPILL));
    /* The array of a slot per object that the analysis needs for the
     * owner map of every object, then for every object's nearest table
     * object above it in the dominator tree, is the dominators' root_of,
     * lent: the one array the analysis holds anyway that is computed
     * again from the tree in one pass. It is filled back before the
     * searches for the roots reaching each map, which read it (and mark
     * in the bitmap `counted`, clear by then). */
    uint32_t *scratch = d->root_of;
    uint8_t *counted = NULL;
    /* the figures that depend on the graph alone, kept by its index */
    const mp_graph_derived *dv = &g->derived;
    bool saved = dv->fmaps && p->parent == dv->parent && d->idom == dv->idom;
    out->holder = malloc((g->nroots ? g->nroots : 1) * sizeof *out->holder);
    uint32_t *reaching = malloc((g->nroots ? g->nroots : 1) * sizeof *reaching);
    uint32_t *holder_mark = calloc(g->nroots ? g->nroots : 1, sizeof *holder_mark);
    if (!out->maps || !out->ranked || !out->holder || !reaching || !holder_mark ||
        root_holders(g, out->holder))
        goto oom;

    /* entries: ownership, retained, shared; scratch = the map whose entry
     * owns each object. An object two entries own (two keys, one value)
     * counts with the first of them, and a shared value two entries hold
     * counts once per map, so that no figure counts a byte twice. */
    /* shared values counted for this map: read for every value, set for
     * the few shared ones, so populated (zeroed.h) */
    counted = mf_zeroed(n / 8 + 1, 1, true);
    if (!counted) goto oom;
    if (saved) {
        restore(g, dv, out);
        scratch = NULL;
    } else {
        for (size_t v = 0; v < n; v++) scratch[v] = MP_NONE;
        if (entry_pass(g, d, out, scratch, counted)) goto oom;
        if (map_sites(g, d, scratch, out)) goto oom;

        /* per map: what each holds (scratch = the table ancestors), then
         * the rest (scratch = the marks of roots_reaching) */
        uint32_t *tbl = NULL;
        size_t tblcap = 0;
        table_up tu = {scratch, malloc((g->ntable_objs ? g->ntable_objs : 1) * sizeof(uint32_t))};
        if (!tu.depth) goto oom;
        if (g->nmaps) table_ancestors(g, d, &tu);
        for (size_t k = 0; k < g->nmaps; k++) {
            const mp_map *m = &g->maps[k];
            if (m->header != MP_NONE && d->idom[m->header] != MP_NONE)
                out->maps[k].retained = map_retained(g, d, &tu, (uint32_t)k, &tbl, &tblcap);
        }
        free(tu.depth);
        free(tbl);
        mp_dom_fill_root_of(d);
        scratch = NULL;
    }
    uint64_t significant = out->heap_bytes / 100;
    if (significant < SIGNIFICANT_MIN) significant = SIGNIFICANT_MIN;
    out->significant = significant;
    out->share_pct = share_pct;
    for (size_t k = 0; k < g->nmaps; k++) {
        const mp_map *m = &g->maps[k];
        mp_map_report *r = &out->maps[k];
        r->map = (uint32_t)k;
        r->root = r->path_root = MP_NONE;
        bool live = m->header != MP_NONE && d->idom[m->header] != MP_NONE;
        if (live) {
            r->root = d->root_of[m->header];
            r->path_root = p->root[m->header];
        }
        if (live && !saved) {
            /* the roots reaching the header, each holder once (its first
             * word in priority order) */
            size_t nr = mp_dom_roots_reaching(g, d, m->header, reaching, g->nroots, counted);
            if (nr > g->nroots) nr = g->nroots;
            for (size_t i = 0; i < nr; i++) {
                uint32_t h = out->holder[reaching[i]];
                if (holder_mark[h] == (uint32_t)k + 1) continue;
                holder_mark[h] = (uint32_t)k + 1;
                if (r->nroots < MP_MAX_LISTED_ROOTS) r->roots[r->nroots] = reaching[i];
                r->nroots++;
            }
        }
        if (live && r->root == MP_NONE && r->nroots == 1) r->root = r->roots[0];
        for (size_t i = 0; i < m->nbuckets; i++) {
            const mp_bucket *bk = &g->buckets[m->first_bucket + i];
            /* overflow buckets of their own (not preallocated in the old array) */
            if (bk->old && bk->overflow && bk->obj != MP_NONE && bk->obj != m->oldbuckets)
                r->old_bytes += mp_obj_size(g, bk->obj);
        }
        if (m->oldbuckets != MP_NONE) r->old_bytes += mp_obj_size(g, m->oldbuckets);
        r->load = m->B < 64 ? (double)m->count / ldexp(1.0, (int)m->B) : 0;
        uint64_t slots = 8 * (m->nmain + m->noverflow_walked);
        r->fill = slots ? (double)m->count / (double)slots : 0;
        /* disjoint but for a value that leads back to its own map's header
         * (a cycle): never more than the heap */
        r->score = r->retained + r->shared_bytes;
        if (r->score > out->heap_bytes) r->score = out->heap_bytes;

        judge(g, d, out, k, significant, share_pct);
        out->ranked[k] = (uint32_t)k;
    }
    if (attribute_inner(g, d, out, significant, share_pct)) goto oom;
    free(counted);
    free(reaching);
    free(holder_mark);
    mp_findings_rerank(out);
    return 0;
oom:
    if (scratch) mp_dom_fill_root_of(d);
    free(counted);
    free(reaching);
    free(holder_mark);
    mp_findings_free(out);
    mf_error_set(err, "%s: out of memory analysing %zu maps", g->info.name, g->nmaps);
    return -1;
}

void mp_findings_save(const mp_findings *f, size_t k, mp_findings_saved *out)
{
    const mp_map_report *r = &f->maps[k];
    memset(out, 0, sizeof *out);
    out->retained = r->retained;
    out->entries_retained = r->entries_retained;
    out->keys_retained = r->keys_retained;
    out->shared_entries = r->shared_entries;
    out->shared_bytes = r->shared_bytes;
    out->sampled_objects = r->sampled_objects;
    out->nroots = r->nroots;
    memcpy(out->roots, r->roots, sizeof r->roots);
    out->nsites = r->nsites;
    memcpy(out->sites, r->sites, sizeof r->sites);
    out->key_pointers = r->key_pointers;
    out->slice_bytes = r->slice_bytes;
    out->slice_buffers = r->slice_buffers;
    out->slice_of = r->slice_of;
}

const char *mp_findings_saved_check(const mp_graph *g, const mp_findings_saved *s, size_t n,
                                    char *buf, size_t size)
{
    if (n != g->nmaps) {
        snprintf(buf, size, "findings: %zu maps, not %zu", n, g->nmaps);
        return buf;
    }
    for (size_t k = 0; k < n; k++) {
        const mp_findings_saved *r = &s[k];
        const mp_map *m = &g->maps[k];
        bool ok = r->retained <= g->total_bytes && r->entries_retained <= g->total_bytes &&
                  r->keys_retained <= r->entries_retained && r->shared_bytes <= g->total_bytes &&
                  r->shared_entries <= m->nentries && r->sampled_objects <= g->nsampled &&
                  r->nroots <= g->nroots && r->nsites <= MP_MAX_SITES && r->key_pointers <= 1 &&
                  r->zero == 0 && r->slice_bytes <= g->total_bytes &&
                  r->slice_buffers <= g->nobjects &&
                  r->slice_of <= (MP_SLICE_KEYS | MP_SLICE_VALUES);
        for (size_t i = 0; ok && i < r->nroots && i < MP_MAX_LISTED_ROOTS; i++)
            ok = r->roots[i] < g->nroots;
        for (size_t i = 0; ok && i < r->nsites; i++)
            ok = r->sites[i].stack < g->nstacks && r->sites[i].samples <= g->nsampled;
        if (!ok) {
            snprintf(buf, size, "findings: map %zu: a figure out of range", k);
            return buf;
        }
    }
    return NULL;
}

void mp_findings_free(mp_findings *f)
{
    free(f->maps);
    free(f->ranked);
    if (!f->entry_info_lent) mp_pack_free(&f->entry_info);
    free(f->holder);
    free(f->inner);
    memset(f, 0, sizeof *f);
}

uint32_t mp_entry_stack(const mp_graph *g, const mp_dom *d, uint32_t ei)
{
    mp_entry en;
    if (!mp_graph_entry(g, ei, &en)) return MP_NONE;
    return mp_entry_stack_of(g, d, &en);
}

uint32_t mp_entry_stack_of(const mp_graph *g, const mp_dom *d, const mp_entry *e)
{
    uint32_t s;
    if (e->value_obj != MP_NONE && (s = mp_obj_stack(g, e->value_obj)) != MP_NONE) return s;
    if (e->key_obj != MP_NONE && (s = mp_obj_stack(g, e->key_obj)) != MP_NONE) return s;
    for (int side = 0; side < 2; side++) {
        uint32_t o = side ? e->key_obj : e->value_obj;
        if (o == MP_NONE) continue;
        uint64_t end = mp_out_end(g, o);
        for (uint64_t i = mp_out_begin(g, o); i < end; i++) {
            uint32_t x = g->out.adj[i];
            /* a pointee o dominates is o's part (its immediate dominator
             * is then o itself: o points at it); one reached otherwise,
             * say a table that other values point at too, is not */
            if (x < d->nobjects && d->idom[x] == o && (s = mp_obj_stack(g, x)) != MP_NONE) return s;
        }
    }
    return MP_NONE;
}

/* An entry and its retained bytes, as ranked: largest first, then in the
 * map's order. */
typedef struct ranked {
    uint64_t ret;
    uint32_t e;
} ranked;

/* "x ranks after y": the root of the selection heap is the entry that
 * ranks last among those kept. */
static bool ranks_after(ranked x, ranked y)
{
    return x.ret != y.ret ? x.ret < y.ret : x.e > y.e;
}

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return ranks_after(*x, *y) ? 1 : ranks_after(*y, *x) ? -1 : 0;
}

static void heap_down(ranked *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranks_after(h[l], h[m])) m = l;
        if (r < n && ranks_after(h[r], h[m])) m = r;
        if (m == i) return;
        ranked t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* How many tied entries are examined for an allocation stack: bounds the
 * random reads the tie-break costs on maps of millions of equal entries. */
#define TIE_SCAN_MAX 4096

/*
 * The entries of a map by retained size, in one read of the map's figures.
 * A bounded heap keeps the largest (O(n log max), reading the retained
 * sizes in order), so asking for the few largest of a million entries is
 * cheap. Among entries of equal size at the cut (a cache's entries often
 * are all alike), those with a sampled allocation stack are preferred, so
 * that the entries shown can say where they were allocated; at most
 * TIE_SCAN_MAX tied entries, the first in the map's order, are examined for
 * that. The heap keeps TIE_SCAN_MAX entries beyond the `max` asked for:
 * ranked by size, then by the map's order, they hold every entry above the
 * cut and at least the first TIE_SCAN_MAX + 1 tied at it (or all), so the
 * ties need no second read of the figures, which may lie in a file.
 */
/* Records of the per-entry figures mp_findings_top_entries has read. */
static _Atomic uint64_t top_records_read;

uint64_t mp_findings_top_reads(void)
{
    return atomic_load_explicit(&top_records_read, memory_order_relaxed);
}

size_t mp_findings_top_entries(const mp_graph *g, const mp_dom *d, const mp_findings *f, uint32_t m,
                               uint32_t *out, size_t max)
{
    if (m >= g->nmaps || max == 0) return 0;
    const mp_map *mp = &g->maps[m];
    size_t ne = mp->nentries;
    if (ne == 0) return 0;
    uint32_t first = (uint32_t)mp->first_entry;
    size_t k = ne < max ? ne : max;
    size_t kk = ne - k < TIE_SCAN_MAX ? ne : k + TIE_SCAN_MAX; /* kept */
    ranked *h = malloc(kk * sizeof *h);
    if (!h) return 0;
    mp_pack_cursor c;
    mp_pack_cursor_init(&c, &f->entry_info, first);
    uint64_t info[2 * MP_PACK_BLOCK];
    size_t got = 0, have = 0, at = 0;
    for (size_t i = 0; i < ne; i++, at++) {
        if (at == have) {
            size_t want = ne - i < MP_PACK_BLOCK ? ne - i : MP_PACK_BLOCK;
            if (!(have = mp_pack_next_many(&c, info, want))) break;
            at = 0;
        }
        ranked r = {info[2 * at], first + (uint32_t)i};
        if (i < kk) {
            h[i] = r;
            if (i + 1 == kk && kk < ne)
                for (size_t j = kk / 2; j-- > 0;) heap_down(h, kk, j);
        } else if (ranks_after(h[0], r)) {
            h[0] = r;
            heap_down(h, kk, 0);
        }
        got = i + 1;
    }
    mp_pack_cursor_free(&c);
    atomic_fetch_add_explicit(&top_records_read, got, memory_order_relaxed);
    if (got < kk) kk = got; /* (a store that could not be read back) */
    if (kk < k) k = kk;
    if (kk > 1) qsort(h, kk, sizeof *h, cmp_ranked);
    for (size_t i = 0; i < k; i++) out[i] = h[i].e;
    if (k == 0) {
        free(h);
        return 0;
    }

    /* the tie at the cut: out[t0 .. k) all have the cut's size; the tied
     * entries in the map's order are h[t0 ..) while the size holds */
    uint64_t cut = h[k - 1].ret;
    size_t t0 = k - 1;
    while (t0 > 0 && h[t0 - 1].ret == cut) t0--;
    size_t slots = k - t0, nfound = 0, ntied = 0;
    uint32_t *found = slots <= TIE_SCAN_MAX ? malloc(slots * sizeof *found) : NULL;
    if (!found) {
        free(h);
        return k;
    }
    /* only the tied entries are read whole: the entry cursor jumps to
     * each (a tie at the cut is often one entry in a million) */
    mp_entry_cursor ec;
    mp_entry_cursor_init(&ec, g, first);
    mp_entry en;
    for (size_t i = t0; i < kk && ntied < TIE_SCAN_MAX && h[i].ret == cut; i++) {
        if (!mp_entry_cursor_skip(&ec, h[i].e) || !mp_entry_next(&ec, &en)) break;
        ntied++;
        if (nfound < slots && mp_entry_stack_of(g, d, &en) != MP_NONE) found[nfound++] = h[i].e;
    }
    mp_entry_cursor_free(&ec);
    if (nfound) {
        size_t j = t0;
        for (size_t i = 0; i < nfound; i++) out[j++] = found[i];
        /* then the first unsampled tied entries, in the map's order */
        size_t q = 0; /* found is in the map's order too */
        for (size_t i = t0; i < t0 + ntied && j < k; i++) {
            if (q < nfound && found[q] == h[i].e)
                q++;
            else
                out[j++] = h[i].e;
        }
    }
    free(found);
    free(h);
    return k;
}

/* ------------------------------------------------------------- chains --- */

/* The slot step of entry e (index into the graph's entries), read as en. */
static mp_step slot_step(const mp_entry *en, uint32_t e)
{
    return (mp_step){.kind = MP_STEP_SLOT,
                     .slot = en->slot,
                     .old = en->old,
                     .a = e,
                     .map = en->map,
                     .overflow = en->overflow,
                     .index = en->bucket};
}

/*
 * Collects the steps of a chain into the caller's max slots. A chain longer
 * than that keeps its first steps (a quarter of the slots: where it starts)
 * and its last ones (where it arrives: the map, its bucket and slot), with
 * one ELIDED step between that counts the steps left out. The steps after
 * the first ones go round a ring in the rest of the slots until the end.
 */
typedef struct chain_out {
    mp_step *steps;
    size_t max, head;      /* head: slots for the first steps; the rest a ring */
    size_t total;          /* steps put (or counted, co_skip) */
    size_t gap_lo, gap_hi; /* the steps [gap_lo, gap_hi) were counted, not put */
} chain_out;

static void co_init(chain_out *co, mp_step *steps, size_t max)
{
    co->steps = steps;
    co->max = max;
    co->head = max >= 8 ? max / 4 : max;
    co->total = co->gap_lo = co->gap_hi = 0;
}

/* The slot of the step put `back` steps before the last one, or NULL when
 * it is no longer kept. */
static mp_step *co_at(chain_out *co, size_t back)
{
    if (back >= co->total) return NULL;
    size_t t = co->total - 1 - back, ring = co->max - co->head;
    if (t >= co->gap_lo && t < co->gap_hi) return NULL;
    if (t < co->head) return &co->steps[t];
    if (ring && co->total - t <= ring) return &co->steps[co->head + (t - co->head) % ring];
    return NULL;
}

static void co_put(chain_out *co, mp_step s)
{
    co->total++;
    mp_step *at = co_at(co, 0);
    if (at) *at = s;
}

/* Counts n steps that are left out without putting them: the caller puts
 * at least the ring's worth after them, so none of them is kept. */
static void co_skip(chain_out *co, size_t n)
{
    co->gap_lo = co->total;
    co->total += n;
    co->gap_hi = co->total;
}

static void reverse_steps(mp_step *s, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        mp_step t = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = t;
    }
}

/* Puts the ring in order (a rotation by three reversals) and the ELIDED
 * step over its oldest step; returns the steps kept. */
static size_t co_finish(chain_out *co)
{
    size_t ring = co->max - co->head;
    if (co->total <= co->max || ring < 2) return co->total < co->max ? co->total : co->max;
    mp_step *r = &co->steps[co->head];
    size_t oldest = (co->total - co->head) % ring; /* ring slot of the oldest kept step */
    reverse_steps(r, oldest);
    reverse_steps(r + oldest, ring - oldest);
    reverse_steps(r, ring);
    r[0] = (mp_step){.kind = MP_STEP_ELIDED,
                     .a = MP_NONE,
                     .map = MP_NONE,
                     .index = co->total - co->head - (ring - 1)};
    return co->max;
}

/* Puts the steps of object v of a path whose next object is `next`
 * (MP_NONE at its end); `e` (or NULL) is the entry the chain is for. Where
 * the path goes through a map's bucket to the key or value of an entry (a
 * map of maps, a value that leads on), the entry's slot is a step of its
 * own and names the bucket; where it leaves an array, the step says which
 * element. */
static void put_object(const mp_graph *g, const mp_paths *p, uint32_t v, uint32_t next,
                       const mp_entry *e, chain_out *co)
{
    mp_step s = {.kind = MP_STEP_OBJECT, .a = v, .map = MP_NONE, .index = UINT64_MAX};
    uint32_t via = next != MP_NONE ? p->via[next] : MP_NONE; /* how the path leaves v */
    uint32_t through_e = next != MP_NONE ? mp_paths_through(g, p, next) : MP_NONE;
    mp_entry through_buf;
    const mp_entry *through = through_e != MP_NONE && mp_graph_entry(g, through_e, &through_buf)
                                  ? &through_buf
                                  : NULL; /* the entry the path goes on from */
    uint32_t mi = mp_graph_map_of_header(g, v);
    uint32_t bi = mi == MP_NONE ? mp_graph_bucket_of(g, v) : MP_NONE;
    if (bi != MP_NONE && g->buckets[bi].aux) bi = MP_NONE; /* of the table, no bucket */
    if (mi != MP_NONE) {
        s.kind = MP_STEP_MAP;
        s.map = mi;
    } else if (bi != MP_NONE) {
        const mp_bucket *bk = &g->buckets[bi];
        s.map = bk->map;
        s.old = bk->old;
        if (bk->overflow) {
            s.kind = MP_STEP_OVERFLOW;
            s.overflow = bk->overflow;
            s.index = bk->index;
        } else {
            s.kind = MP_STEP_BUCKET;
            /* an array holds many buckets: the entry says which one */
            s.index = through ? through->bucket : e && e->map == bk->map ? e->bucket : UINT64_MAX;
        }
    } else if (via != MP_NONE && g->type[v] != MP_NONE &&
               g->types[g->type[v]].kind == MP_TYPE_ARRAY && g->types[g->type[v]].size) {
        uint32_t off = mp_paths_via_offset(g, p, next);
        if (off != MP_NO_OFFSET) s.index = off / g->types[g->type[v]].size;
    }
    co_put(co, s);
    if (through) {
        /* the bucket of the array the path came through is this entry's */
        mp_step *q;
        for (size_t back = 1; (q = co_at(co, back)) && q->map == through->map; back++) {
            if (q->kind == MP_STEP_BUCKET && q->index == UINT64_MAX) q->index = through->bucket;
            if (q->kind != MP_STEP_OVERFLOW) break;
        }
        co_put(co, slot_step(through, through_e));
    }
}

/* Puts the steps of the objects objs[0..n), next after them `next`; returns
 * how many steps that was. */
static size_t put_objects(const mp_graph *g, const mp_paths *p, const uint32_t *objs, size_t n,
                          uint32_t next, const mp_entry *e, chain_out *co)
{
    size_t before = co->total;
    for (size_t i = 0; i < n; i++) put_object(g, p, objs[i], i + 1 < n ? objs[i + 1] : next, e, co);
    return co->total - before;
}

/* The last n objects of a path up to o (n at most its length), root end
 * first, into buf. */
static void path_end(const mp_paths *p, uint32_t o, uint32_t *buf, size_t n)
{
    for (size_t k = n; k > 0; k--, o = p->parent[o]) buf[k - 1] = o;
}

/*
 * A path too long for the chain to show whole costs only what is shown:
 * its first objects (from the object at depth MP_PATH_HEAD up), its last
 * ones, and the steps between counted from what mp_paths_measure knows of
 * the path instead of walked. Returns false when the measure is not to be
 * had (the caller then walks the path).
 */
static bool put_long_path(const mp_graph *g, const mp_paths *p, uint32_t o, const mp_entry *e,
                          chain_out *co)
{
    size_t len, slots;
    uint32_t head_end;
    size_t ring = co->max - co->head;
    uint32_t objs[MP_PATH_HEAD + MP_CHAIN_STEPS_MAX];
    if (co->max > MP_CHAIN_STEPS_MAX || co->head + 1 >= MP_PATH_HEAD ||
        mp_paths_measure(g, p, o, &len, &slots, &head_end) || head_end == MP_NONE ||
        len < MP_PATH_HEAD + ring)
        return false;
    /* the head: enough objects for its steps, and an overflow run it ends
     * in, so that a slot after the run names the run's bucket */
    path_end(p, head_end, objs, MP_PATH_HEAD);
    size_t h = co->head;
    while (h + 1 < MP_PATH_HEAD && mp_graph_bucket_of(g, objs[h - 1]) != MP_NONE) h++;
    co_put(co, (mp_step){.kind = MP_STEP_ROOT, .a = p->root[o]});
    size_t shown = put_objects(g, p, objs, h, objs[h], e, co);
    /* the tail: as many objects as the ring keeps steps, the last one o */
    size_t t = ring < len - MP_PATH_HEAD ? ring : len - MP_PATH_HEAD;
    path_end(p, o, objs, t);
    size_t tail_steps = t;
    for (size_t i = 1; i < t; i++) tail_steps += mp_paths_through(g, p, objs[i]) != MP_NONE;
    size_t all = len + slots; /* the path's steps but the root */
    assert(all >= shown + tail_steps);
    co_skip(co, all - shown - tail_steps);
    put_objects(g, p, objs, t, MP_NONE, e, co);
    return true;
}

/* Puts the steps of the object path from its root to o; `entry` (or
 * MP_NONE) tells which bucket of a bucket array the chain passes through.
 * Returns false when o is unreachable (or out of memory). */
static bool put_path(const mp_graph *g, const mp_paths *p, uint32_t o, uint32_t entry,
                     chain_out *co)
{
    if (o >= g->nobjects || p->root[o] == MP_NONE) return false;
    mp_entry e_buf;
    const mp_entry *e = entry != MP_NONE && mp_graph_entry(g, entry, &e_buf) ? &e_buf : NULL;
    /* a path much longer than what is shown is not walked whole */
    size_t near = 0, far = 2 * co->max + MP_PATH_HEAD;
    uint32_t v = o;
    while (v != MP_NONE && near <= far) v = p->parent[v], near++;
    if (v != MP_NONE && put_long_path(g, p, o, e, co)) return true;
    size_t len = mp_paths_chain(g, p, o, NULL, 0);
    if (!len) return false;
    uint32_t *objs = malloc(len * sizeof *objs);
    if (!objs) return false;
    mp_paths_chain(g, p, o, objs, len);
    co_put(co, (mp_step){.kind = MP_STEP_ROOT, .a = p->root[o]});
    put_objects(g, p, objs, len, MP_NONE, e, co);
    free(objs);
    return true;
}

uint64_t mp_chain_elided(const mp_step *s, size_t n)
{
    uint64_t left = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == MP_STEP_ELIDED) left += s[i].index;
    return left;
}

uint64_t mp_chain_length(const mp_step *s, size_t n)
{
    uint64_t len = n;
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == MP_STEP_ELIDED) len--;
    return len + mp_chain_elided(s, n);
}

size_t mp_chain_object(const mp_graph *g, const mp_paths *p, uint32_t o, mp_step *steps, size_t max)
{
    chain_out co;
    co_init(&co, steps, max);
    return put_path(g, p, o, MP_NONE, &co) ? co_finish(&co) : 0;
}

/* The overflow bucket object at depth j - 1 of the chain that leads to
 * overflow bucket object `cur` (depth j) of bucket `index` of map m: one of
 * cur's predecessors (an overflow bucket has few), or MP_NONE. */
static uint32_t overflow_pred(const mp_graph *g, uint32_t cur, uint32_t m, uint64_t index,
                              uint32_t depth)
{
    uint64_t end = mp_in_end(g, cur);
    for (uint64_t i = mp_in_begin(g, cur); i < end; i++) {
        uint32_t q = g->in.adj[i];
        uint32_t b = mp_graph_bucket_of(g, q);
        if (b == MP_NONE) continue;
        const mp_bucket *bk = &g->buckets[b];
        if (bk->map == m && bk->overflow == depth && bk->index == index) return q;
    }
    return MP_NONE;
}

/* Whether object `from` points to object `to`. */
static bool points_to(const mp_graph *g, uint32_t from, uint32_t to)
{
    uint64_t end = mp_in_end(g, to);
    for (uint64_t i = mp_in_begin(g, to); i < end; i++)
        if (g->in.adj[i] == from) return true;
    return false;
}

/* An entry's chain is the chain to its map's header, then the way through
 * the table to its slot: bucket[i] of the (old) array, each overflow bucket
 * up to the one holding the slot, the slot. Going through the header (not
 * the entry's own shortest path) keeps the chain of every entry consistent
 * with its map's root: a stray stack word pointing into a bucket array is
 * a shorter path, but not the reason the map is alive. Without a reachable
 * header (or bucket records) the entry's own shortest path is used; so
 * too where the buckets do not point to their overflow buckets, as in a
 * map without pointers (Go's, or the runtime's): what keeps an overflow
 * bucket there is a list the header holds, and the chain goes through it. */
size_t mp_chain_entry(const mp_graph *g, const mp_paths *p, uint32_t e, mp_step *steps, size_t max)
{
    mp_entry en_buf;
    if (e >= g->nentries || !mp_graph_entry(g, e, &en_buf)) return 0;
    const mp_entry *en = &en_buf;
    const mp_map *m = &g->maps[en->map];
    uint32_t array = en->old ? m->oldbuckets : m->buckets;
    chain_out co;
    co_init(&co, steps, max);
    bool put = false;
    if (m->header != MP_NONE && en->bucket_obj != MP_NONE && array != MP_NONE &&
        p->root[m->header] != MP_NONE) {
        /* the overflow buckets from the holder back to depth 1 */
        enum { MAX_OVERFLOW = 64 };
        uint32_t ov[MAX_OVERFLOW + 1];
        uint32_t depth = en->overflow, got = 0;
        bool ok = true;
        if (depth > 0) {
            if (depth > MAX_OVERFLOW) ok = false;
            uint32_t cur = en->bucket_obj;
            for (uint32_t j = depth; ok && j >= 1; j--) {
                ov[j] = cur;
                got++;
                if (j > 1) {
                    cur = overflow_pred(g, cur, en->map, en->bucket, j - 1);
                    if (cur == MP_NONE) ok = false;
                }
            }
        } else if (en->bucket_obj != array) {
            ok = false;
        }
        if (ok && depth > 0 && !points_to(g, array, ov[1])) ok = false;
        if (ok && put_path(g, p, m->header, MP_NONE, &co)) {
            put = true;
            co_put(&co, (mp_step){.kind = MP_STEP_BUCKET,
                                  .a = array,
                                  .map = en->map,
                                  .old = en->old,
                                  .index = en->bucket});
            for (uint32_t j = 1; j <= got; j++)
                co_put(&co, (mp_step){.kind = MP_STEP_OVERFLOW,
                                      .a = ov[j],
                                      .map = en->map,
                                      .old = en->old,
                                      .overflow = j,
                                      .index = en->bucket});
        }
    }
    if (!put) {
        uint32_t holder = en->bucket_obj;
        if (holder == MP_NONE) holder = m->header;
        if (holder == MP_NONE) return 0;
        co_init(&co, steps, max);
        if (!put_path(g, p, holder, e, &co)) return 0;
    }
    co_put(&co, slot_step(en, e));
    return co_finish(&co);
}

void mp_root_text(const mp_graph *g, uint32_t root, char *buf, size_t size)
{
    if (root >= g->nroots) {
        snprintf(buf, size, "(no root)");
        return;
    }
    const mp_root *r = &g->roots[root];
    const char *name = mp_str(g, r->name), *fn = mp_str(g, r->function), *file = mp_str(g, r->file);
    char where[300] = "";
    if (*file && r->line > 0)
        snprintf(where, sizeof where, " (%s:%" PRId64 ")", file, r->line);
    else if (*file)
        snprintf(where, sizeof where, " (%s)", file);
    switch (r->kind) {
    case MP_ROOT_GLOBAL:
        snprintf(buf, size, "global %s%s", *name ? name : "?", where);
        break;
    case MP_ROOT_PIN:
        snprintf(buf, size, "pin %s", *name ? name : "(unlabelled)");
        break;
    case MP_ROOT_STACK:
    case MP_ROOT_ITERATOR: {
        const char *st = mp_str(g, r->state);
        char state[80] = "";
        if (*st) snprintf(state, sizeof state, " [%s]", st);
        snprintf(buf, size, "%s: %s %u%s, frame #%u %s%s",
                 r->kind == MP_ROOT_STACK ? "stack" : "iterator",
                 g->info.thread_noun ? g->info.thread_noun : "thread", r->thread, state, r->frame,
                 *fn ? fn : "?", where);
        break;
    }
    case MP_ROOT_REGISTER: {
        const char *noun = g->info.thread_noun ? g->info.thread_noun : "thread";
        /* the frame that owned the register, when the snapshot knows it */
        if (*fn)
            snprintf(buf, size, "register %s of %s %u, frame #%u %s%s", *name ? name : "?", noun,
                     r->thread, r->frame, fn, where);
        else
            snprintf(buf, size, "register %s of %s %u", *name ? name : "?", noun, r->thread);
        break;
    }
    default:
        snprintf(buf, size, "%s root %s", mp_root_kind_name(r->kind), *name ? name : "");
        break;
    }
}

void mp_step_text(const mp_graph *g, const mp_step *s, char *buf, size_t size)
{
    switch (s->kind) {
    case MP_STEP_ROOT: {
        const mp_root *r = s->a < g->nroots ? &g->roots[s->a] : NULL;
        if (r && r->kind == MP_ROOT_GLOBAL && r->name)
            snprintf(buf, size, "%s", mp_str(g, r->name));
        else
            mp_root_text(g, s->a, buf, size);
        break;
    }
    case MP_STEP_MAP: {
        const mp_map *m = &g->maps[s->map];
        snprintf(buf, size, "map header 0x%" PRIx64 " (B=%u, %" PRIu64 " entries)",
                 mp_obj_addr(g, s->a), m->B, m->count);
        break;
    }
    case MP_STEP_BUCKET:
        if (s->index == UINT64_MAX)
            snprintf(buf, size, "%s", s->old ? "oldbuckets" : "buckets");
        else
            snprintf(buf, size, "%s[%" PRIu64 "]", s->old ? "oldbucket" : "bucket", s->index);
        break;
    case MP_STEP_OVERFLOW:
        snprintf(buf, size, "overflow#%u", s->overflow);
        break;
    case MP_STEP_ELIDED:
        snprintf(buf, size, "... %" PRIu64 " more steps ...", s->index);
        break;
    case MP_STEP_SLOT: {
        mp_entry en;
        char kb[32];
        const char *key = s->a < g->nentries && mp_graph_entry(g, s->a, &en)
                              ? mp_entry_key(g, &en, kb, sizeof kb)
                              : "";
        if (*key)
            snprintf(buf, size, "slot %u (%s)", s->slot, key);
        else
            snprintf(buf, size, "slot %u", s->slot);
        break;
    }
    default:
        if (s->index != UINT64_MAX)
            snprintf(buf, size, "%s 0x%" PRIx64 " [%" PRIu64 "]", mp_graph_type_name(g, s->a),
                     mp_obj_addr(g, s->a), s->index);
        else
            snprintf(buf, size, "%s 0x%" PRIx64, mp_graph_type_name(g, s->a), mp_obj_addr(g, s->a));
        break;
    }
}
