/*
 * src/analyze/findings.c -- maps, their retainers and the leak suspects:
 * what each map's table keeps, the roots reaching it, its evidence, the
 * suspects inside other maps, and the ranking. The pass over the entries
 * is findings_entries.c's; the chains shown for a map or an entry are
 * chain.c's.
 */
#include "analyze/findings.h"

#include "analyze/findings_entries.h"
#include "analyze/radix.h"
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

#define SIGNIFICANT_MIN (64 * KIB)

const char *mp_evidence_name(unsigned bit)
{
    static const char *const names[MP_EV_COUNT] = {
        "large_share",  "emptied",       "iterator_only",  "stack_frame",
        "pointer_keys", "old_buckets",   "shared_entries", "several_roots",
        "growing",      "slice_buffers", "nan_keys",       "sync_map"};
    return bit < MP_EV_COUNT ? names[bit] : "?";
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
    const mp_map_rare *xr = mp_report_rare(rank_f_, x), *yr = mp_report_rare(rank_f_, y);
    if (x->suspect != y->suspect) return x->suspect ? -1 : 1;
    bool gx = x->evidence & MP_EV_GROWING, gy = y->evidence & MP_EV_GROWING;
    if (gx != gy) return gx ? -1 : 1;
    int64_t ox = xr->growth_bytes - xr->inner_growth, oy = yr->growth_bytes - yr->inner_growth;
    if (gx && ox != oy) return ox > oy ? -1 : 1;
    uint64_t sx = x->suspect ? x->score : x->score + xr->nested_bytes;
    uint64_t sy = y->suspect ? y->score : y->score + yr->nested_bytes;
    if (sx != sy) return sx > sy ? -1 : 1;
    return x->map < y->map ? -1 : x->map > y->map;
}

/* cmp_rank's keys of report *rec (an index into f->maps), most significant
 * first, as unsigned numbers: the class (suspects first, growing ones
 * first), the growth of a growing one and the score, both highest first
 * (halves of 64 bits), the map index. */
static uint32_t rank_key(const void *rec, unsigned k, void *ctx)
{
    const mp_findings *f = ctx;
    const mp_map_report *r = &f->maps[*(const uint32_t *)rec];
    const mp_map_rare *rr = mp_report_rare(f, r);
    bool grows = r->evidence & MP_EV_GROWING;
    uint64_t x;
    switch (k) {
    case 0: return (r->suspect ? 0u : 2u) + (grows ? 0u : 1u);
    case 1:
    case 2: /* signed: the sign bit flipped orders it as unsigned */
        x = grows ? ~((uint64_t)(rr->growth_bytes - rr->inner_growth) ^ (UINT64_C(1) << 63)) : 0;
        break;
    case 3:
    case 4:
        x = ~(r->suspect ? r->score : r->score + rr->nested_bytes);
        break;
    default: return r->map;
    }
    return k == 1 || k == 3 ? (uint32_t)(x >> 32) : (uint32_t)x;
}

/* Orders f->ranked as qsort with cmp_rank does, by a radix sort of its
 * keys (rank_key), in place of millions of comparisons that each read two
 * reports; the map key is left out when the maps come in map order (the
 * sort is stable). Out of memory: qsort. */
static void rank_maps(mp_findings *f)
{
    size_t n = f->nmaps;
    uint32_t *v = f->ranked;
    if (n < 2) return;
    bool by_map = true;
    for (size_t i = 1; i < n && by_map; i++) by_map = f->maps[v[i - 1]].map < f->maps[v[i]].map;
    if (mp_sort_records(v, n, sizeof *v, by_map ? 5 : 6, rank_key, f)) return;
    rank_f_ = f;
    qsort(v, n, sizeof *v, cmp_rank);
    rank_f_ = NULL;
}

void mp_findings_rerank(mp_findings *f)
{
    f->nsuspects = 0;
    for (size_t k = 0; k < f->nmaps; k++) {
        if (f->maps[k].evidence & MP_EV_GROWING) f->maps[k].suspect = true;
        f->nsuspects += f->maps[k].suspect;
    }
    for (size_t i = 0; i < f->nrare; i++) f->rare[i].inner_growth = 0;
    /* a growing suspect's growth is its own, not that of the maps whose
     * bytes hold it (a share of it is in no map's retained growth) */
    for (size_t i = 0; i < f->ninner; i++) {
        const mp_inner_pair *pr = &f->inner[i];
        const mp_map_report *in = &f->maps[pr->inner];
        int64_t grew = mp_report_rare(f, in)->growth_bytes;
        /* the outer map has rare figures already: the suspect inside
         * (add_inner) */
        if (!pr->shared && (in->evidence & MP_EV_GROWING) && grew > 0)
            f->rare[f->maps[pr->outer].rare - 1].inner_growth += grew;
    }
    rank_maps(f);
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

/* owner[x] of an object found to lie under no object an entry owns
 * (owner_above); MP_NONE is "not known yet" there. */
#define NO_OWNER (MP_NONE - 1)

/* The map whose entry owns object v, or the nearest of v's dominators that
 * an entry owns; MP_NONE when none does. The answer is found going up the
 * dominator tree to the first object whose owner is known, then written
 * into every object on the way: no object is walked past twice, whatever
 * the objects asked about. */
static uint32_t owner_above(const mp_graph *g, const mp_dom *d, uint32_t *owner, uint32_t v)
{
    size_t n = g->nobjects;
    uint32_t x = v;
    while (x < n && owner[x] == MP_NONE) x = d->idom[x];
    uint32_t m = x < n ? owner[x] : NO_OWNER;
    for (x = v; x < n && owner[x] == MP_NONE; x = d->idom[x]) owner[x] = m;
    return m == NO_OWNER ? MP_NONE : m;
}

/* Sampled allocation sites of the objects each map's entries own: the
 * owner map of each sampled object is its own or its nearest owned
 * dominator's (owner_above: only the sampled objects and the objects above
 * them are read, not the whole tree), then (map, site) pairs are counted.
 * owner: the entry pass's, left with what the walks wrote. */
static int map_sites(const mp_graph *g, const mp_dom *d, uint32_t *owner, mp_findings *f)
{
    uint32_t *site = site_of_stack(g);
    if (!site) return -1;
    uint64_t *pairs = malloc((g->nsampled ? g->nsampled : 1) * sizeof *pairs);
    if (!pairs) {
        free(site);
        return -1;
    }
    size_t np = 0;
    for (size_t i = 0; i < g->nsampled; i++) {
        uint32_t m = owner_above(g, d, owner, (uint32_t)(g->samples[i] >> 32));
        if (m == MP_NONE) continue;
        pairs[np++] = (uint64_t)m << 32 | site[(uint32_t)g->samples[i]];
    }
    free(site);
    mp_sort_u64(pairs, np);
    int rc = 0;
    /* a map's pairs lie together: its sites are counted in sites[], then
     * stored out of line */
    mp_site_count sites[MP_MAX_SITES];
    uint32_t nsites = 0;
    uint64_t sampled = 0; /* the map's pairs: its sampled objects */
    for (size_t i = 0; i < np && !rc;) {
        size_t j = i;
        while (j < np && pairs[j] == pairs[i]) j++;
        mp_site_count sc = {(uint32_t)pairs[i], (uint32_t)(j - i)};
        sampled += j - i;
        /* keep the MP_MAX_SITES largest counts, in decreasing order */
        size_t pos = nsites;
        while (pos > 0 && sites[pos - 1].samples < sc.samples) pos--;
        if (pos < MP_MAX_SITES) {
            size_t last = nsites < MP_MAX_SITES ? nsites : MP_MAX_SITES - 1;
            if (last - pos) memmove(&sites[pos + 1], &sites[pos], (last - pos) * sizeof sc);
            sites[pos] = sc;
            if (nsites < MP_MAX_SITES) nsites++;
        }
        if (j == np || pairs[j] >> 32 != pairs[i] >> 32) {
            mp_map_report *r = &f->maps[pairs[i] >> 32];
            /* (a map with pairs has a site: its rare figures are made) */
            rc = mp_report_set_sites(f, r, sites, nsites);
            if (!rc) f->rare[r->rare - 1].sampled_objects = sampled;
            nsites = 0;
            sampled = 0;
        }
        i = j;
    }
    free(pairs);
    return rc;
}

/* Whether the roots reaching a map are all iterators, or stack words in the
 * frame of one of those iterators (the iterator's own fields sit there). */
static bool iterator_only(const mp_graph *g, const mp_findings *f, const mp_map_report *r)
{
    if (r->nroots == 0 || r->nroots > MP_MAX_LISTED_ROOTS) return false;
    bool any = false;
    for (uint32_t i = 0; i < r->nroots; i++) {
        const mp_root *x = &g->roots[mp_report_root(f, r, i)];
        if (x->kind == MP_ROOT_ITERATOR) {
            any = true;
            continue;
        }
        if (x->kind != MP_ROOT_STACK && x->kind != MP_ROOT_REGISTER) return false;
        bool in_iter_frame = false;
        for (uint32_t j = 0; j < r->nroots; j++) {
            const mp_root *it = &g->roots[mp_report_root(f, r, j)];
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
 * Both are found when first asked for, going up the dominator tree from
 * the object, and written into every object met on the way up (UP_UNKNOWN,
 * DEPTH_UNKNOWN until then): no object is walked past twice, and the
 * objects no question leads to -- most of the heap: the questions are
 * about table objects and what a few tables reach -- are never read.
 */
typedef struct table_up {
    const mp_graph *g;
    const mp_dom *d;
    uint32_t *up;    /* a slot per object */
    uint32_t *depth; /* a slot per table object */
    table_memo memo;
} table_up;

#define UP_UNKNOWN (MP_NONE - 1)
#define DEPTH_UNKNOWN UINT32_MAX

/* Readies tu for the questions below: nothing known yet. */
static void table_ancestors(const mp_graph *g, const mp_dom *d, table_up *tu,
                            const mp_tables *tables)
{
    tu->g = g;
    tu->d = d;
    for (size_t i = 0; i < g->nobjects; i++) tu->up[i] = UP_UNKNOWN;
    for (size_t i = 0; i < g->ntable_objs; i++) tu->depth[i] = DEPTH_UNKNOWN;
    tu->memo = (table_memo)TABLE_MEMO_INIT;
    table_memo_use(&tu->memo, tables);
}

/* Whether up[y] is its immediate dominator p's own (p is no table
 * object, and its up is not known yet): the walk up goes on past p. */
static bool up_goes_past(table_up *tu, uint32_t p)
{
    return p < tu->g->nobjects && table_map_memo(tu->g, p, &tu->memo) == MP_NONE &&
           tu->up[p] == UP_UNKNOWN;
}

/* up[x] (see table_up) of object x. */
static uint32_t table_up_of(table_up *tu, uint32_t x)
{
    const uint32_t *idom = tu->d->idom;
    if (tu->up[x] != UP_UNKNOWN) return tu->up[x];
    uint32_t y = x, p;
    while (up_goes_past(tu, p = idom[y])) y = p;
    /* p ends the walk: above every object (a root node, S, none), a table
     * object, or an object whose up is known */
    uint32_t a = p >= tu->g->nobjects                             ? MP_NONE
                 : table_map_memo(tu->g, p, &tu->memo) != MP_NONE ? p
                                                                  : tu->up[p];
    for (y = x;; y = idom[y]) {
        bool last = !up_goes_past(tu, idom[y]);
        tu->up[y] = a;
        if (last) break;
    }
    return a;
}

/* The depth (see table_up) of table object x. */
static uint32_t table_depth(table_up *tu, uint32_t x)
{
    const mp_graph *g = tu->g;
    uint32_t a = x, base = 0, steps = 0;
    for (;; steps++) {
        size_t pos = mp_graph_table_pos_ranked(g, tu->memo.rank, a);
        assert(pos != SIZE_MAX);
        if (tu->depth[pos] != DEPTH_UNKNOWN) {
            base = tu->depth[pos];
            break;
        }
        uint32_t up = table_up_of(tu, a);
        if (up == MP_NONE) { /* (under a root node, S, or unreachable) */
            tu->depth[pos] = 0;
            break;
        }
        a = up;
    }
    /* x is steps table objects under a, of depth base */
    a = x;
    for (uint32_t i = steps; i > 0; i--, a = table_up_of(tu, a))
        tu->depth[mp_graph_table_pos_ranked(g, tu->memo.rank, a)] = base + i;
    return base + steps;
}

/* Is a proper dominator of object x a table object of map k? mind: the
 * least depth of k's table objects (none of them lies above it). */
static bool inside_own_table(table_up *tu, uint32_t k, uint32_t mind, uint32_t x)
{
    for (uint32_t a = table_up_of(tu, x); a != MP_NONE && table_depth(tu, a) >= mind;
         a = table_up_of(tu, a))
        if (table_map_memo(tu->g, a, &tu->memo) == k) return true;
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
    table_up *tu;
    uint32_t k, mind; /* mind: the least depth of k's table objects */
    mp_u32map anc;    /* strict dominators of the tops (objects, root nodes, S) */
    mp_u32map head;   /* object -> its head, or NO_HEAD: memo of head_of */
    mp_u32map seen;   /* objects the walk from the tops has reached */
    mp_u32map heads;  /* head -> 1 kept, 0 struck out */
    uint32_t *v;      /* work stack, then the heads found */
    size_t n, cap;
    bool oom;
} table_walk;

#define NO_HEAD (UINT32_MAX - 1)

/* Whether object x is in the subtree of a table object of map k: a table
 * object of k itself, or dominated by one. */
static bool in_own_table(const table_walk *w, uint32_t x)
{
    return table_map_memo(w->g, x, &w->tu->memo) == w->k ||
           inside_own_table(w->tu, w->k, w->mind, x);
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
static uint64_t table_beyond_tops(const mp_graph *g, const mp_dom *d, table_up *tu, uint32_t k,
                                  uint32_t mind, const uint32_t *tops, size_t ntops)
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

/* Whether the header is the map's one top: every other of its table
 * objects t[0..n) (sorted) has its immediate dominator among them. Then
 * the idom chain of each climbs through the table to the one object whose
 * immediate dominator lies outside it, the header (dominated by none of
 * them, since they all are by it), and no walk up the tree is needed: the
 * case of almost every map (a header over its bucket array and overflow
 * buckets), and what makes millions of small maps cheap. */
static bool only_header_on_top(const mp_dom *d, uint32_t header, const uint32_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i] == header) continue;
        uint32_t p = d->idom[t[i]];
        if (p == MP_NONE || !bsearch(&p, t, n, sizeof *t, cmp_u32)) return false;
    }
    return true;
}

/* The bytes a map keeps alive: the retained sizes of its table objects
 * that lie in no other of its table objects' dominator subtrees (its
 * tops), and what its tops keep together though none keeps it alone (see
 * table_beyond_tops). The tops' subtrees are disjoint, and the heads'
 * lie outside them and each other's, so the sum never counts an object
 * twice and never exceeds the reachable heap, whatever the geometry of
 * the graph. */
static uint64_t map_retained(const mp_graph *g, const mp_dom *d, table_up *tu, uint32_t k,
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
    if (only_header_on_top(d, m->header, t, n)) return d->retained[m->header];
    uint32_t mind = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (d->idom[t[i]] == MP_NONE) continue;
        uint32_t dep = table_depth(tu, t[i]);
        if (dep < mind) mind = dep;
    }
    uint64_t sum = 0;
    size_t ntops = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = t[i];
        /* t[i - 1] is as sorted: a top is written over itself or a slot before it */
        if (i > 0 && x == t[i - 1]) continue;
        if (d->idom[x] == MP_NONE) continue;
        if (inside_own_table(tu, k, mind, x)) continue;
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

int mp_root_holders(const mp_graph *g, uint32_t *holder)
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

/* A heap of millions of tiny maps holds a report per map at its peak:
 * what a report costs is part of the memory a map costs. */
_Static_assert(sizeof(mp_map_report) <= 80, "a map report grew past 80 bytes");

const mp_map_rare mp_no_rare = {.inner_map = MP_NONE};

mp_map_rare *mp_report_rare_w(mp_findings *f, mp_map_report *r)
{
    if (r->rare) return &f->rare[r->rare - 1];
    if (f->nrare >= UINT32_MAX - 1) return NULL;
    if (f->nrare == f->cap_rare) {
        size_t cap = f->cap_rare ? 2 * f->cap_rare : 64;
        mp_map_rare *v = cap <= SIZE_MAX / sizeof *v ? realloc(f->rare, cap * sizeof *v) : NULL;
        if (!v) return NULL;
        f->rare = v;
        f->cap_rare = cap;
    }
    f->rare[f->nrare] = mp_no_rare;
    r->rare = (uint32_t)++f->nrare;
    return &f->rare[f->nrare - 1];
}

int mp_report_add_root(mp_findings *f, mp_map_report *r, uint32_t root)
{
    uint32_t i = mp_report_nlisted(r);
    if (r->nroots == UINT32_MAX) return -1;
    if (i == MP_MAX_LISTED_ROOTS) {
        r->nroots++;
        return 0;
    }
    if (i == 0) {
        r->root0 = root;
        r->nroots++;
        return 0;
    }
    /* the run of r's listed holders after its first ends the array */
    if (i == 1) {
        if (f->nmore_roots >= UINT32_MAX) return -1;
        r->roots_more = (uint32_t)f->nmore_roots;
    } else if (r->roots_more + i - 1 != f->nmore_roots) {
        return -1; /* another report's holders came between: misuse */
    }
    if (f->nmore_roots == f->cap_more_roots) {
        size_t cap = f->cap_more_roots ? 2 * f->cap_more_roots : 64;
        uint32_t *v = cap <= SIZE_MAX / sizeof *v ? realloc(f->more_roots, cap * sizeof *v) : NULL;
        if (!v) return -1;
        f->more_roots = v;
        f->cap_more_roots = cap;
    }
    f->more_roots[f->nmore_roots++] = root;
    r->nroots++;
    return 0;
}

int mp_report_set_sites(mp_findings *f, mp_map_report *r, const mp_site_count *s, uint32_t n)
{
    if (n == 0) return 0;
    if (n > MP_MAX_SITES || f->nsite_counts > UINT32_MAX - n) return -1;
    if (f->cap_site_counts - f->nsite_counts < n) {
        size_t cap = f->cap_site_counts ? 2 * f->cap_site_counts : 64;
        mp_site_count *v =
            cap <= SIZE_MAX / sizeof *v ? realloc(f->site_counts, cap * sizeof *v) : NULL;
        if (!v) return -1;
        f->site_counts = v;
        f->cap_site_counts = cap;
    }
    mp_map_rare *x = mp_report_rare_w(f, r);
    if (!x) return -1;
    x->sites_at = (uint32_t)f->nsite_counts;
    x->nsites = (uint8_t)n;
    memcpy(f->site_counts + f->nsite_counts, s, n * sizeof *s);
    f->nsite_counts += n;
    return 0;
}

/* The figures of every map and entry that an index of g keeps (dv, checked
 * when the index was read: mp_findings_saved_check), in place of the
 * passes that compute them; the entries' results are lent by the index.
 * 0, -1 out of memory. */
static int restore(const mp_graph *g, const mp_graph_derived *dv, mp_findings *out)
{
    for (size_t k = 0; k < g->nmaps; k++) {
        const mp_findings_saved *s = &dv->fmaps[k];
        mp_map_report *r = &out->maps[k];
        r->retained = s->retained;
        r->entries_retained = s->entries_retained;
        r->keys_retained = s->keys_retained;
        r->shared_entries = s->shared_entries;
        r->shared_bytes = s->shared_bytes;
        for (uint32_t i = 0; i < s->nroots && i < MP_MAX_LISTED_ROOTS; i++)
            if (mp_report_add_root(out, r, s->roots[i])) return -1;
        /* those past the listed ones are counted only (an index may count
         * past what is kept) */
        r->nroots = s->nroots < MP_MANY_ROOTS ? s->nroots : MP_MANY_ROOTS;
        if (mp_report_set_sites(out, r, s->sites, s->nsites)) return -1;
        if (s->sampled_objects) {
            mp_map_rare *x = mp_report_rare_w(out, r);
            if (!x) return -1;
            x->sampled_objects = s->sampled_objects;
        }
        r->key_pointers = s->key_pointers != 0;
        if (s->slice_buffers) {
            mp_map_rare *x = mp_report_rare_w(out, r);
            if (!x) return -1;
            x->slice_bytes = s->slice_bytes;
            x->slice_buffers = s->slice_buffers;
            x->slice_of = (uint8_t)s->slice_of;
        }
    }
    mp_pack_free(&out->entry_info);
    out->entry_info = dv->fentries;
    out->entry_info_lent = true;
    return 0;
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
    if (live && iterator_only(g, out, r)) ev |= MP_EV_ITERATOR_ONLY;
    if (live && r->nroots > 0 && r->nroots <= MP_MAX_LISTED_ROOTS && sig &&
        !(ev & MP_EV_ITERATOR_ONLY)) {
        bool all_stack = true;
        for (uint32_t i = 0; i < r->nroots; i++) {
            uint8_t kd = g->roots[mp_report_root(out, r, i)].kind;
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
    if (mp_map_aside_of(g, m)->nan_keys > 0) ev |= MP_EV_NAN_KEYS;
    const mp_map_rare *x = mp_report_rare(out, r);
    if (x->slice_buffers > 0 &&
        (x->slice_bytes >= SIGNIFICANT_MIN || x->slice_bytes * 2 >= r->retained))
        ev |= MP_EV_SLICE_BUFFERS;
    /* a few values seen from elsewhere (a stack word that happens to hold
     * one) are not a finding; a real second holder is */
    if (r->shared_entries > 0 &&
        (r->shared_bytes >= significant || r->shared_entries * 10 >= m->nentries))
        ev |= MP_EV_SHARED_ENTRIES;
    if (r->nroots > 1 && !(ev & MP_EV_ITERATOR_ONLY)) ev |= MP_EV_SEVERAL_ROOTS;
    if (m->sync_map) ev |= MP_EV_SYNC_MAP;
    r->evidence = (uint16_t)ev;
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
/* The shared values of the maps the walks meet, made on first use: few
 * maps of millions, so kept by map in a hash (at: map -> index into
 * list). */
typedef struct shared_list {
    uint32_t *v; /* sorted */
    size_t n;
} shared_list;

typedef struct shared_vals {
    mp_u32map at;
    shared_list *list;
    size_t n, cap;
} shared_vals;

/* Whether an entry of map k holds object x as its value without owning it
 * (a shared value, counted in k's shared_bytes); -1 out of memory. */
static int shares_value(const mp_graph *g, const mp_findings *f, shared_vals *sv, uint32_t k,
                        uint32_t x)
{
    uint32_t at;
    if (!mp_u32map_get(&sv->at, k, &at)) {
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
        if (sv->n > UINT32_MAX - 1 || !MF_GROW(sv->list, sv->cap, sv->n + 1, 16) ||
            mp_u32map_put(&sv->at, k, (uint32_t)sv->n) < 0) {
            free(v);
            return -1;
        }
        at = (uint32_t)sv->n;
        sv->list[sv->n++] = (shared_list){v, n};
    }
    return bsearch(&x, sv->list[at].v, sv->list[at].n, sizeof x, cmp_u32) != NULL;
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
 * the next candidate above, which holds them in turn. 0, -1 out of memory. */
static int count_nested(const mp_graph *g, const mp_dom *d, mp_findings *out, const uint32_t *sus,
                        size_t ns, const inner_walks *w, uint32_t *seen)
{
    for (size_t k = 0; k < g->nmaps; k++) seen[k] = 0;
    for (size_t i = 0; i < out->nrare; i++) out->rare[i].nested_bytes = 0;
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
            mp_map_rare *x = mp_report_rare_w(out, &out->maps[it->map]);
            if (!x) return -1;
            x->nested_bytes += b;
        }
    }
    return 0;
}

/* Every map's inner_bytes and inner_map (what its report says it holds of
 * the suspects), and the (map, suspect inside) pairs into out->inner (for
 * the growth of growing suspects): each suspect counted once per map, in
 * the maps up to the first suspect whose header holds it. */
static int add_inner(const mp_graph *g, const mp_dom *d, mp_findings *out, const uint32_t *sus,
                     size_t ns, const inner_walks *w, uint32_t *seen)
{
    for (size_t k = 0; k < g->nmaps; k++) seen[k] = 0;
    for (size_t i = 0; i < out->nrare; i++) {
        out->rare[i].inner_bytes = 0;
        out->rare[i].inner_map = MP_NONE;
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
            mp_map_rare *c = mp_report_rare_w(out, &out->maps[it->map]);
            if (!c) return -1;
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
    for (size_t i = 0; i < out->nrare; i++) out->rare[i].inner_map = MP_NONE;
    /* no candidate, no map inside another: nothing to walk (a heap of
     * millions of small maps has none, and the arrays below, one slot a
     * map, would cost it their fresh pages) */
    bool any = false;
    for (size_t k = 0; k < nm && !any; k++) any = out->maps[k].suspect;
    if (!any) return 0;
    uint8_t *cand = calloc(nm ? nm : 1, 1);
    uint32_t *sus = malloc((nm ? nm : 1) * sizeof *sus),
             *seen = calloc(nm ? nm : 1, sizeof(uint32_t));
    inner_walks w = {.walk = malloc((nm ? nm : 1) * sizeof(uint32_t))};
    shared_vals sv = {.n = 0};
    int rc = -1;
    if (!cand || !sus || !seen || !w.walk) goto done;
    for (size_t k = 0; k < nm; k++) {
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
    if (count_nested(g, d, out, sus, ns, &w, seen)) goto done;
    for (size_t k = 0; k < nm; k++) {
        mp_map_report *r = &out->maps[k];
        if (!r->rare || !out->rare[r->rare - 1].nested_bytes) continue;
        mp_map_rare *x = &out->rare[r->rare - 1];
        if (x->nested_bytes > r->score) x->nested_bytes = r->score;
        r->score -= x->nested_bytes;
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
    for (size_t i = 0; i < sv.n; i++) free(sv.list[i].v);
    free(sv.list);
    mp_u32map_free(&sv.at);
    return rc;
}

/*
 * The holders reaching each live map's header, first ones by priority.
 *
 * The roots reaching an object are those reaching its top (the object S
 * dominates directly above it: dominators.h), and those reaching a top T
 * are the roots pointing at T, the single owners of T's predecessors that
 * one root owns, and the roots reaching the tops of its other
 * predecessors. So each top gets a set, over the graph of tops (an edge
 * from top(u) to T per edge u -> T), from its predecessors' sets: a
 * strongly connected part of that graph shares one set, and Tarjan's
 * search over predecessors (a loop and an explicit stack: the graph's
 * depth is the input's) completes each part after every part that leads
 * to it, so a part's set is made once, from final sets, when it completes.
 *
 * A set keeps only the first MP_MANY_ROOTS holders (each by its first root,
 * ordered by it): a holder a set drops has MP_MANY_ROOTS holders before it
 * there, and so in any union with that set; the first MP_MANY_ROOTS of a
 * union are the first of the union of the kept sets. One more than a
 * report lists tells a map held by more than it lists (mp_map_report.
 * nroots) without counting the holders, which is a transitive closure and
 * costs the square of a long list of holders. Cost: the tops that lead to
 * maps and their in-edges, twice each, times MP_MANY_ROOTS at most.
 */
typedef struct hs_slot {
    uint32_t top;  /* the top object */
    uint32_t low;  /* the least slot it reaches back to on the stack (Tarjan) */
    uint32_t part; /* its strongly connected part, MP_NONE while on the stack */
} hs_slot;

typedef struct hs_frame {
    uint32_t slot;
    uint64_t edge; /* the next in-edge of its top to follow */
} hs_frame;

typedef struct holder_sets {
    const mp_graph *g;
    const mp_dom *d;
    const uint32_t *holder;
    /* d->root_of, lent, as mp_dom_fill_top_of leaves it, but for the tops
     * visited: their slot numbers */
    uint32_t *to;
    hs_slot *slot; /* in visiting order: a slot's number is its order */
    size_t nslot, slotcap;
    uint32_t *stack; /* Tarjan's stack of slots */
    size_t nstack, stackcap;
    hs_frame *dfs;
    size_t ndfs, dfscap;
    uint64_t *part; /* per part: its set in pool, offset << 5 | length */
    size_t npart, partcap;
    uint32_t *pool; /* the sets: root indices, increasing, a holder each */
    size_t npool, poolcap;
    bool oom;
} holder_sets;

/* Adds root x to the set acc (n roots, increasing, a holder each, at most
 * MP_MANY_ROOTS): its holder keeps the least of its roots, and the set its
 * first MP_MANY_ROOTS holders. */
static void hs_add(const uint32_t *holder, uint32_t *acc, size_t *n, uint32_t x)
{
    size_t k = *n;
    if (k == MP_MANY_ROOTS && x > acc[k - 1]) return;
    uint32_t h = holder[x];
    for (size_t i = 0; i < k; i++) {
        if (holder[acc[i]] != h) continue;
        if (acc[i] <= x) return;
        memmove(&acc[i], &acc[i + 1], (k - i - 1) * sizeof *acc);
        k--;
        break;
    }
    size_t at = k;
    while (at > 0 && acc[at - 1] > x) at--;
    if (at == MP_MANY_ROOTS) return;
    if (k == MP_MANY_ROOTS) k--; /* the last one falls off */
    memmove(&acc[at + 1], &acc[at], (k - at) * sizeof *acc);
    acc[at] = x;
    *n = k + 1;
}

/* The top of predecessor u (u itself when it is one), MP_NONE when a
 * single root owns it (*root: that root) or it is unreachable. */
static uint32_t hs_pred_top(const holder_sets *s, uint32_t u, uint32_t *root)
{
    uint32_t e = s->to[u];
    *root = MP_NONE;
    if (e == MP_NONE) return MP_NONE;
    if (s->d->idom[u] == s->d->super_root) return u;
    if (e >= s->d->nobjects) {
        *root = e - (uint32_t)s->d->nobjects;
        return MP_NONE;
    }
    return e;
}

/* Visits top t (not visited yet): gives it the next slot and stacks it. */
static void hs_enter(holder_sets *s, uint32_t t)
{
    if (!MF_GROW(s->slot, s->slotcap, s->nslot + 1, 256) ||
        !MF_GROW(s->stack, s->stackcap, s->nstack + 1, 256) ||
        !MF_GROW(s->dfs, s->dfscap, s->ndfs + 1, 256)) {
        s->oom = true;
        return;
    }
    uint32_t k = (uint32_t)s->nslot++;
    s->slot[k] = (hs_slot){.top = t, .low = k, .part = MP_NONE};
    s->to[t] = k;
    s->stack[s->nstack++] = k;
    s->dfs[s->ndfs++] = (hs_frame){.slot = k, .edge = mp_in_begin(s->g, t)};
}

/* The set of the part whose first slot is `first` (the slots above it on
 * Tarjan's stack are the rest), made from the roots pointing at its tops
 * and their predecessors' (the other parts' sets are final). */
static void hs_complete(holder_sets *s, uint32_t first)
{
    const mp_graph *g = s->g;
    const mp_dom *d = s->d;
    uint32_t p = (uint32_t)s->npart;
    size_t from = s->nstack;
    while (s->stack[from - 1] != first) from--;
    from--;
    for (size_t i = from; i < s->nstack; i++) s->slot[s->stack[i]].part = p;
    uint32_t acc[MP_MANY_ROOTS];
    size_t n = 0;
    for (size_t i = from; i < s->nstack; i++) {
        uint32_t t = s->slot[s->stack[i]].top;
        size_t lo = mp_dom_first_root_target(d, t); /* roots pointing right at t */
        for (; lo < d->nroot_targets && (d->root_targets[lo] >> 32) == t; lo++)
            hs_add(s->holder, acc, &n, (uint32_t)d->root_targets[lo]);
        uint64_t end = mp_in_end(g, t);
        for (uint64_t e = mp_in_begin(g, t); e < end; e++) {
            uint32_t root, u = hs_pred_top(s, g->in.adj[e], &root);
            if (root != MP_NONE) hs_add(s->holder, acc, &n, root);
            if (u == MP_NONE) continue;
            uint32_t q = s->slot[s->to[u]].part;
            if (q == p) continue;
            uint64_t set = s->part[q];
            const uint32_t *x = &s->pool[set >> 5];
            for (size_t j = 0; j < (set & 31); j++) {
                if (n == MP_MANY_ROOTS && x[j] > acc[n - 1]) break;
                hs_add(s->holder, acc, &n, x[j]);
            }
        }
    }
    s->nstack = from;
    if (!MF_GROW(s->part, s->partcap, s->npart + 1, 256) ||
        !MF_GROW(s->pool, s->poolcap, s->npool + n, 1024)) {
        s->oom = true;
        return;
    }
    memcpy(&s->pool[s->npool], acc, n * sizeof *acc);
    s->part[s->npart++] = (uint64_t)s->npool << 5 | n;
    s->npool += n;
}

/* Tarjan's search from top t over predecessors, to the completion of t's
 * part: every top that leads to t gets its part's set. */
static void hs_search(holder_sets *s, uint32_t t)
{
    const mp_graph *g = s->g;
    hs_enter(s, t);
    while (s->ndfs > 0 && !s->oom) {
        hs_frame *f = &s->dfs[s->ndfs - 1];
        uint32_t k = f->slot;
        if (f->edge < mp_in_end(g, s->slot[k].top)) {
            uint32_t root, u = hs_pred_top(s, g->in.adj[f->edge++], &root);
            if (u == MP_NONE) continue;
            if (s->to[u] == MP_DOM_TOP) {
                hs_enter(s, u);
                continue;
            }
            uint32_t w = s->to[u];
            if (s->slot[w].part == MP_NONE && w < s->slot[k].low) s->slot[k].low = w;
            continue;
        }
        s->ndfs--;
        if (s->slot[k].low == k) hs_complete(s, k);
        if (s->ndfs > 0) {
            uint32_t parent = s->dfs[s->ndfs - 1].slot;
            if (s->slot[k].low < s->slot[parent].low) s->slot[parent].low = s->slot[k].low;
        }
    }
}

/* The listed holders and nroots of every live map (see above), with d->root_of
 * lent and given back. -1 out of memory. */
static int map_roots(const mp_graph *g, mp_dom *d, mp_findings *out)
{
    holder_sets s = {.g = g, .d = d, .holder = out->holder, .to = d->root_of};
    mp_dom_fill_top_of(d);
    for (size_t k = 0; k < g->nmaps && !s.oom; k++) {
        uint32_t h = g->maps[k].header;
        if (h == MP_NONE || d->idom[h] == MP_NONE) continue;
        mp_map_report *r = &out->maps[k];
        uint32_t root, t = hs_pred_top(&s, h, &root);
        if (root != MP_NONE) {
            if (mp_report_add_root(out, r, root)) s.oom = true;
            continue;
        }
        if (s.to[t] == MP_DOM_TOP) hs_search(&s, t);
        if (s.oom) break;
        uint64_t set = s.part[s.slot[s.to[t]].part];
        for (size_t j = 0; j < (set & 31) && !s.oom; j++)
            if (mp_report_add_root(out, r, s.pool[(set >> 5) + j])) s.oom = true;
    }
    mp_dom_root_of_from_tops(d);
    free(s.slot);
    free(s.stack);
    free(s.dfs);
    free(s.part);
    free(s.pool);
    return s.oom ? -1 : 0;
}

int mp_findings_compute(const mp_graph *g, const mp_paths *p, mp_dom *d,
                        const mp_findings_options *opt, mp_findings *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    if (!mp_entry_pass_takes(g->nmaps)) {
        mf_error_set(err, "%s: %zu maps, more than the analysis handles (%u)", g->info.name,
                     g->nmaps, MP_ENTRY_MAX_MAPS - 1);
        return -1;
    }
    double share_pct = opt && opt->large_share_pct > 0 ? opt->large_share_pct : 10.0;
    size_t n = g->nobjects;
    out->heap_bytes = p->reached_bytes;
    out->heap_objects = p->nreached;
    out->nmaps = g->nmaps;
    /* every report is written by the passes below, at random by the
     * entry pass's two threads: faulted in at once, where a page at a
     * time cost a trap each (a tenth of the findings on heaps
     * of millions of small maps) */
    out->maps = mf_zeroed(g->nmaps ? g->nmaps : 1, sizeof *out->maps);
    out->ranked = malloc((g->nmaps ? g->nmaps : 1) * sizeof *out->ranked);
    mp_entry_info_init(&out->entry_info);
    /* The array of a slot per object that the analysis needs for the
     * owner map of every object, then for every object's nearest table
     * object above it in the dominator tree, then for every object's top
     * (the holders reaching each map), is the dominators' root_of, lent:
     * the one array the analysis holds anyway that is computed again from
     * the tree in one pass. The search for the holders fills it back. */
    uint32_t *scratch = d->root_of;
    uint8_t *counted = NULL;
    mp_tables tables = {NULL, NULL};
    /* the figures that depend on the graph alone, kept by its index */
    const mp_graph_derived *dv = &g->derived;
    bool saved = dv->fmaps && p->parent == dv->parent && d->idom == dv->idom;
    out->holder = malloc((g->nroots ? g->nroots : 1) * sizeof *out->holder);
    if (!out->maps || !out->ranked || !out->holder || mp_root_holders(g, out->holder)) goto oom;

    /* entries: ownership, retained, shared; scratch = the map whose entry
     * owns each object. An object two entries own (two keys, one value)
     * counts with the first of them, and a shared value two entries hold
     * counts once per map, so that no figure counts a byte twice. */
    if (saved) {
        if (restore(g, dv, out)) goto oom;
        scratch = NULL;
    } else if (!g->nmaps) {
        scratch = NULL; /* no map, no entry: root_of is not lent */
    } else {
        /* shared values counted for this map: read for every value, set
         * for the few shared ones, so populated (zeroed.h) */
        counted = mf_zeroed(n / 8 + 1, 1);
        if (!counted) goto oom;
        /* where the tables lie, for the entry pass and the table walks
         * below (NULL: the look-ups do without) */
        tables.summary = mp_table_summary(g);
        tables.rank = mp_graph_table_rank(g);
        if (mp_entry_pass(g, d, out, scratch, counted, &tables)) goto oom;
        if (map_sites(g, d, scratch, out)) goto oom;

        /* per map: what each holds (scratch = the table ancestors), then
         * the holders reaching it (scratch = the tops, then root_of again) */
        uint32_t *tbl = NULL;
        size_t tblcap = 0;
        table_up tu = {.up = scratch,
                       .depth = malloc((g->ntable_objs ? g->ntable_objs : 1) * sizeof(uint32_t))};
        if (!tu.depth) goto oom;
        table_ancestors(g, d, &tu, &tables);
        for (size_t k = 0; k < g->nmaps; k++) {
            const mp_map *m = &g->maps[k];
            if (m->header != MP_NONE && d->idom[m->header] != MP_NONE)
                out->maps[k].retained = map_retained(g, d, &tu, (uint32_t)k, &tbl, &tblcap);
        }
        free(tu.depth);
        free(tables.summary);
        free(tables.rank);
        tables.summary = NULL;
        tables.rank = NULL;
        free(tbl);
        scratch = NULL; /* map_roots gives root_of back, success or not */
        if (map_roots(g, d, out)) goto oom;
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
        if (live && r->root == MP_NONE && r->nroots == 1) r->root = r->root0;
        uint64_t old = 0;
        for (size_t i = 0; i < m->nbuckets; i++) {
            const mp_bucket *bk = &g->buckets[m->first_bucket + i];
            /* overflow buckets of their own (not preallocated in the old array) */
            if (bk->old && bk->overflow && bk->obj != MP_NONE && bk->obj != m->oldbuckets)
                old += mp_obj_size(g, bk->obj);
        }
        if (m->oldbuckets != MP_NONE) old += mp_obj_size(g, m->oldbuckets);
        if (old) {
            mp_map_rare *x = mp_report_rare_w(out, r);
            if (!x) goto oom;
            x->old_bytes = old;
        }
        /* disjoint but for a value that leads back to its own map's header
         * (a cycle): never more than the heap */
        r->score = r->retained + r->shared_bytes;
        if (r->score > out->heap_bytes) r->score = out->heap_bytes;

        judge(g, d, out, k, significant, share_pct);
        out->ranked[k] = (uint32_t)k;
    }
    if (attribute_inner(g, d, out, significant, share_pct)) goto oom;
    free(counted);
    mp_findings_rerank(out);
    return 0;
oom:
    if (scratch) mp_dom_fill_root_of(d);
    free(tables.summary);
    free(tables.rank);
    free(counted);
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
    out->sampled_objects = mp_report_rare(f, r)->sampled_objects;
    out->nroots = r->nroots;
    for (uint32_t i = 0; i < mp_report_nlisted(r); i++) out->roots[i] = mp_report_root(f, r, i);
    out->nsites = mp_report_nsites(f, r);
    if (out->nsites) memcpy(out->sites, mp_report_sites(f, r), out->nsites * sizeof *out->sites);
    out->key_pointers = r->key_pointers;
    const mp_map_rare *x = mp_report_rare(f, r);
    out->slice_bytes = x->slice_bytes;
    out->slice_buffers = x->slice_buffers;
    out->slice_of = x->slice_of;
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
    free(f->more_roots);
    free(f->site_counts);
    free(f->inner);
    free(f->rare);
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
