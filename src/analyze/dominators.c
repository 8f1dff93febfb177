/*
 * src/analyze/dominators.c -- Semi-NCA over the heap plus root nodes.
 *
 * Everything inside the algorithm is indexed by DFS number (1 = S; 0 means
 * "not visited"), which keeps the hot arrays dense and the comparisons of
 * semidominators plain integer comparisons.
 */
#include "analyze/dominators.h"

#include "analyze/parallel.h"

#include "format/prefault.h"
#include "format/zeroed.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    const mp_graph *g;
    size_t n, nroots;
    uint32_t S;
    uint64_t *rt; /* (target << 32 | root) sorted: roots by target */
    size_t nrt;
    uint8_t *is_target; /* bitmap over objects: some root points here */
    uint8_t *single;    /* bitmap over objects: held by one reference (mark_single) */
    uint8_t *leaf;      /* bitmap over objects: held by one reference, pointing at
                           nothing (mark_single) */
} ctx;

/*
 * What the thread computing the dominators shares with a helper
 * (dominators.h). The stage moves 0 (searching) -> 1 (semidominators) ->
 * 2 (retained sizes and owners) -> 3 (done) under mu, each move broadcast
 * on cv; the helper reads the fields of a stage only after seeing it begin.
 *
 * Semidominators: the vertices 2..count are cut in chunks, the computing
 * thread claiming them from the top (its reverse preorder), the helper from
 * the bottom; bounds packs (top << 32 | bottom), the first vertex neither
 * has claimed and the lowest the computing thread has, so a claim is one
 * compare-and-swap and no vertex is claimed twice. For each vertex of its
 * chunks the helper writes to label[] the lowest number among its parent
 * and predecessors numbered below it, or 0 when some predecessor is
 * numbered above (only the link-eval forest, the computing thread's, knows
 * those): label[i] is free until i's turn. pre_done is the top of the
 * helper's finished chunks (they are claimed and finished in order).
 */
struct mp_dom_team {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stage;
    bool rootof_done; /* under mu */
    _Atomic uint64_t bounds;
    _Atomic uint32_t pre_done;
    atomic_bool rootof_claimed;
    /* stage 1 */
    const struct ctx *c;
    const uint32_t *dfn, *vertex, *parent;
    uint32_t *label;
    /* stage 2 */
    mp_dom *out;
};

/* next[] of a vertex all of whose successors were taken (step 1) */
#define DFS_DONE UINT32_MAX

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The number of successors of node v. */
static inline uint64_t nsucc(const ctx *c, uint32_t v)
{
    if (v < c->n) return mp_out_end(c->g, v) - mp_out_begin(c->g, v);
    if (v == c->S) return c->nroots;
    return c->g->roots[v - c->n].target != MP_NONE;
}

/*
 * The k-th successor of node v (k from 0, below nsucc), and whether it is
 * v's last one.
 */
static inline uint32_t succ(const ctx *c, uint32_t v, uint64_t k, bool *last)
{
    if (v < c->n) {
        uint64_t e = mp_out_begin(c->g, v) + k;
        *last = e + 1 >= mp_out_end(c->g, v);
        return c->g->out.adj[e];
    }
    if (v == c->S) {
        *last = k + 1 >= c->nroots;
        return (uint32_t)(c->n + k);
    }
    *last = true;
    return c->g->roots[v - c->n].target;
}

/* Whether object w is a lone leaf (mark_single; none when dropped). */
static inline bool is_leaf(const ctx *c, uint32_t w)
{
    return c->leaf && w < c->n && mp_bit(c->leaf, w);
}

/* First index in rt (n pairs target << 32 | root, sorted) of the roots
 * targeting object v: n when none do. */
static size_t first_target(const uint64_t *rt, size_t n, uint32_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((rt[mid] >> 32) < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index in c->rt of the roots targeting object v. */
static size_t rt_first(const ctx *c, uint32_t v)
{
    return first_target(c->rt, c->nrt, v);
}

/* Fills rt with (target << 32 | root) for every root with a target,
 * sorted; returns how many. */
static size_t sort_targets(const mp_graph *g, uint64_t *rt)
{
    size_t n = 0;
    for (size_t r = 0; r < g->nroots; r++)
        if (g->roots[r].target != MP_NONE) rt[n++] = (uint64_t)g->roots[r].target << 32 | r;
    if (n > 1) qsort(rt, n, sizeof *rt, cmp_u64);
    return n;
}

/*
 * The depth-first search's reads, fetched ahead for object v about to take
 * its successor k (step 1 of compute). The search is a chain of dependent
 * reads: a successor's number, then, when it is new, its edge range, its
 * first edges, and their numbers. Along one list the successors to come
 * are known, so each of those reads is started a few turns before its
 * turn, the later reads of a successor once the earlier ones have had
 * time to arrive: the numbers DFS_AHEAD places on (a bucket array has
 * millions of successors, mostly seen already: a read each that the
 * search waits on unless it is fetched far enough ahead), and for a
 * successor not numbered yet, which the search will most likely descend
 * into, its edge range and first successor (dfs_first) DFS_RANGE places
 * on, its first edges DFS_EDGES places on and their numbers DFS_NUMBERS
 * places on. The lone leaves (mark_single), which the search sets aside
 * without reading anything of theirs, are skipped. Only the order of the
 * reads changes, never the search.
 */
#define DFS_AHEAD 32
#define DFS_RANGE 12
#define DFS_EDGES 6
#define DFS_NUMBERS 2
MP_FETCH_ONLY void dfs_ahead(const ctx *c, const uint32_t *dfn, const uint32_t *first, uint32_t v,
                             uint64_t k)
{
    const mp_graph *g = c->g;
    const uint32_t *adj = g->out.adj;
    uint64_t e = mp_out_begin(g, v) + k, end = mp_out_end(g, v);
    if (e + DFS_AHEAD < end && !is_leaf(c, adj[e + DFS_AHEAD]))
        __builtin_prefetch(&dfn[adj[e + DFS_AHEAD]]);
    if (e + DFS_RANGE < end) {
        uint32_t w = adj[e + DFS_RANGE];
        if (!is_leaf(c, w) && !dfn[w]) {
            __builtin_prefetch(&g->out.at[w]);
            __builtin_prefetch(&first[w]);
        }
    }
    if (e + DFS_EDGES < end) {
        uint32_t w = adj[e + DFS_EDGES];
        if (!is_leaf(c, w) && !dfn[w]) __builtin_prefetch(&adj[mp_out_begin(g, w)]);
    }
    if (e + DFS_NUMBERS < end) {
        uint32_t w = adj[e + DFS_NUMBERS];
        if (!is_leaf(c, w) && !dfn[w]) {
            uint64_t b = mp_out_begin(g, w), f = mp_out_end(g, w);
            for (uint64_t x = b; x < f && x < b + 2; x++) __builtin_prefetch(&dfn[adj[x]]);
        }
    }
}

/*
 * The first successor of each object, a word indexed by the object, for
 * the search (step 1 of compute). Down a long chain (a list, a cycle of
 * peers) each step of the search learns one new vertex w and goes on from
 * it at once: from the edge list alone that is three reads, each waiting
 * on the one before (w's edge range, its first edge, that successor's
 * number), each a cache miss when the chain is scattered. first[w] can
 * be asked for the moment w is learnt, side by side with w's own number:
 * the step waits about one miss instead of three. The word also says
 * whether more successors follow, so that a vertex with one successor
 * (most of a chain) needs no edge range at all.
 *
 * first[v] = 0 when object v has no successors, else (s + 1) | more, s
 * its first successor (the + 1 cannot wrap: ids are below UINT32_MAX - 1),
 * more = DFS_MORE when v has other successors. DFS_MORE is the top bit, so
 * it is used only when every id + 1 lies below it (dfs_more_bit); above
 * 2^31 - 1 objects the flag is 0 and the search reads the edge range
 * instead. Filled in one pass in object order, reading the edge ranges
 * and edges as a stream.
 */
#define DFS_MORE (UINT32_C(1) << 31)
static inline uint32_t dfs_more_bit(size_t nobjects)
{
    return nobjects < DFS_MORE ? DFS_MORE : 0;
}
static void dfs_first(const mp_graph *g, uint32_t *first, size_t n)
{
    const uint32_t *adj = g->out.adj;
    uint32_t more = dfs_more_bit(n);
    uint64_t b = mp_out_begin(g, 0);
    for (size_t v = 0; v < n; v++) {
        uint64_t e = mp_out_begin(g, v + 1);
        first[v] = e == b ? 0 : (adj[b] + 1) | (e - b > 1 ? more : 0);
        b = e;
    }
}

/* calloc that never asks for 0 bytes */
static void *xcalloc(size_t n, size_t sz)
{
    return calloc(n ? n : 1, sz);
}

/*
 * The working arrays of a computation over N nodes, made while the graph
 * is built (dominators.h): dfn, vertex, parent and label as compute()
 * allocates them, each with room for N + 1 elements (dfn needs only N) so
 * that one prefaulter walks the four side by side, a stretch of each at a
 * time: the search writes all four from its first step. Invariant: the
 * arrays are all there (pf faulting them in, or done) or all taken.
 */
struct mp_dom_reserve {
    size_t N;
    uint32_t *dfn, *vertex, *parent, *label;
    mf_prefault *pf;
};

static bool reserve_wanted; /* mp_dom_reserve_ahead */

/* Off by default: a command that computes no dominators would pay for the
 * memory and the faulting for nothing. */
void mp_dom_reserve_ahead(bool on)
{
    reserve_wanted = on;
}

/* Stops the faulting (what is faulted in stays) and frees what is left. */
static void reserve_drop(mp_dom_reserve *r)
{
    mf_prefault_stop(r->pf);
    r->pf = NULL;
    free(r->dfn);
    free(r->vertex);
    free(r->parent);
    free(r->label);
    r->dfn = r->vertex = r->parent = r->label = NULL;
}

/* Starts faulting in r's four arrays (r->N + 1 elements each), every
 * element allowed at once, on idle processor time only: the builder's
 * threads are busy meanwhile, reading or turning the edges round, and the
 * faulting fills their gaps. False when pages cannot be faulted in ahead. */
static bool reserve_fault(mp_dom_reserve *r)
{
    void *const base[] = {r->dfn, r->vertex, r->parent, r->label};
    const size_t elem[] = {sizeof *r->dfn, sizeof *r->vertex, sizeof *r->parent,
                           2 * sizeof *r->label};
    r->pf = mf_prefault_start(base, elem, 4, r->N + 1);
    if (!r->pf) return false;
    mf_prefault_when_idle(r->pf);
    mf_prefault_upto(r->pf, r->N + 1);
    return true;
}

/* The four arrays, allocated now and faulted in on the prefaulter's thread
 * from the first element up, all allowed at once: the builder that calls
 * this has the rest of the graph to build meanwhile. Not made when it
 * would gain nothing: no second processor, or no way to fault pages in
 * ahead (the memory would only be held longer). */
mp_dom_reserve *mp_dom_reserve_start(size_t nobjects, size_t nroots)
{
    size_t N = nobjects + nroots + 1;
    if (!reserve_wanted || mp_threads() < 2 || N >= UINT32_MAX - 1) return NULL;
    mp_dom_reserve *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->N = N;
    r->dfn = xcalloc(N + 1, sizeof *r->dfn);
    r->vertex = xcalloc(N + 1, sizeof *r->vertex);
    r->parent = xcalloc(N + 1, sizeof *r->parent);
    r->label = xcalloc(2 * (N + 1), sizeof *r->label);
    if (!(r->dfn && r->vertex && r->parent && r->label) || !reserve_fault(r)) {
        reserve_drop(r); /* nothing gained by holding the memory early */
        free(r);
        return NULL;
    }
    return r;
}

/* Makes r's arrays room for exactly N nodes (N + 1 elements, label twice
 * that), zero past what they held: the arrays are realloc'd, which for
 * blocks this size moves page mappings rather than bytes, so what is
 * faulted in stays faulted in; the faulting starts again over the new
 * blocks (pages already there cost it a page-table walk). False when
 * memory is lacking: the arrays resized so far are still r's. */
static bool reserve_resize(mp_dom_reserve *r, size_t N)
{
    mf_prefault_stop(r->pf);
    r->pf = NULL;
    uint32_t **arr[] = {&r->dfn, &r->vertex, &r->parent, &r->label};
    for (size_t i = 0; i < 4; i++) {
        size_t k = i == 3 ? 2 : 1, had = k * (r->N + 1), want = k * (N + 1);
        uint32_t *q = realloc(*arr[i], want * sizeof *q);
        if (!q) return false;
        if (want > had) memset(q + had, 0, (want - had) * sizeof *q);
        *arr[i] = q;
    }
    r->N = N;
    (void)reserve_fault(r); /* without it the arrays are still room for N */
    return true;
}

mp_dom_reserve *mp_dom_reserve_fit(mp_dom_reserve *r, size_t nobjects, size_t nroots)
{
    if (!r) return mp_dom_reserve_start(nobjects, nroots);
    size_t N = nobjects + nroots + 1;
    if (N == r->N) return r;
    if (N >= UINT32_MAX - 1 || !reserve_resize(r, N)) {
        mp_dom_reserve_free(r);
        return NULL;
    }
    return r;
}

size_t mp_dom_reserve_nodes(const mp_dom_reserve *r)
{
    return r && r->dfn ? r->N : 0;
}

/* With the graph: a reservation no computation took. */
void mp_dom_reserve_free(mp_dom_reserve *r)
{
    if (!r) return;
    reserve_drop(r);
    free(r);
}

/* The arrays of g's reservation for N nodes, taken (the faulting stopped
 * where it got to): whether there were any. */
static bool reserve_take(const mp_graph *g, size_t N, uint32_t **dfn, uint32_t **vertex,
                         uint32_t **parent, uint32_t **label)
{
    mp_dom_reserve *r = g->dom_reserve;
    if (!r || !r->dfn || r->N != N) return false;
    mf_prefault_stop(r->pf);
    r->pf = NULL;
    *dfn = r->dfn, *vertex = r->vertex, *parent = r->parent, *label = r->label;
    r->dfn = r->vertex = r->parent = r->label = NULL;
    return true;
}

/*
 * The path compression of the link-eval forest, without recursion and
 * without a stack: on the way up the ancestor pointers are reversed (each
 * node visited points back at the one below it), on the way down they are
 * restored and compressed, each node taking the lowest semidominator of
 * the stretch it now skips. label[] holds those semidominators themselves,
 * not the vertices that have them: nothing but their values is ever asked
 * for. A node is linked when its number is above i, the vertex being
 * processed (vertices are linked in reverse preorder, right after their
 * turn), so no array says it.
 */
static void compress(uint32_t v, uint32_t i, uint32_t *ancestor, uint32_t *label)
{
    uint32_t x = v, below = 0; /* 0: no vertex (numbers start at 1) */
    /* x needs compressing while its ancestor is linked (not a root) */
    while (ancestor[x] > i) {
        uint32_t a = ancestor[x];
        ancestor[x] = below;
        below = x;
        x = a;
    }
    while (below) {
        uint32_t y = below;
        below = ancestor[y]; /* y's ancestor is x, compressed already */
        if (label[x] < label[y]) label[y] = label[x];
        ancestor[y] = ancestor[x];
        x = y;
    }
}

/* The lowest semidominator on the forest path from linked v up to (not
 * including) its tree's root. */
static inline uint32_t eval(uint32_t v, uint32_t i, uint32_t *ancestor, uint32_t *label)
{
    if (ancestor[v] > i) compress(v, i, ancestor, label);
    return label[v];
}

/* Whether some root points at object w. */
static inline bool is_target(const ctx *c, uint32_t w)
{
    return c->is_target[w >> 3] & (1u << (w & 7));
}

/*
 * The objects one reference holds: one edge points at them and no root.
 * Such an object's only predecessor is its parent in any search, so its
 * semidominator is that parent: semi_full and semi_below answer from this
 * bitmap (an eighth of a byte an object: it stays in the cache) instead
 * of the predecessor list (scattered reads).
 *
 * The lone leaves are those of them that point at nothing. Most of a heap
 * is such objects (strings, byte buffers, records of plain numbers), and
 * the dominator of one is plainly its holder; as it has no successors it
 * is on no path to another node, so no other node's semidominator or
 * dominator depends on it. The search (step 1 of compute) sets them aside
 * the moment it meets them, from the second bitmap instead of their
 * numbers, and they take no turn in the search or the semidominators:
 * they are numbered after every other vertex, which keeps each node
 * after its dominator.
 *
 * Filled in one pass in object order; first: dfs_first's words (0: no
 * successors). A bitmap is read at every edge or vertex, a cached read
 * but not a free one: where it would mark fewer than one object in
 * SINGLE_FEW (a heap of maps whose values point at each other), it is
 * dropped (NULL) and the search and semidominators go as without it.
 */
#define SINGLE_FEW 32
static void mark_single(ctx *c, const uint32_t *first)
{
    const mp_graph *g = c->g;
    size_t nsingle = 0, nleaf = 0;
    uint64_t b = mp_in_begin(g, 0);
    for (size_t v = 0; v < c->n; v++) {
        uint64_t e = mp_in_begin(g, v + 1);
        if (e - b == 1 && !is_target(c, (uint32_t)v)) {
            c->single[v >> 3] |= (uint8_t)(1u << (v & 7));
            nsingle++;
            if (!first[v]) c->leaf[v >> 3] |= (uint8_t)(1u << (v & 7)), nleaf++;
        }
        b = e;
    }
    if (nsingle < c->n / SINGLE_FEW) free(c->single), c->single = NULL;
    if (nleaf < c->n / SINGLE_FEW) free(c->leaf), c->leaf = NULL;
}

static inline bool is_single(const ctx *c, uint32_t w)
{
    return c->single && w < c->n && mp_bit(c->single, w);
}

/* Whether the semidominator of node w reads its predecessor list: worth
 * fetching ahead. */
static inline bool reads_list(const ctx *c, uint32_t w)
{
    return w < c->n && !is_single(c, w);
}

/*
 * The semidominator of vertex i (number i, at its turn in reverse
 * preorder): the lowest number among its DFS parent, its predecessors
 * numbered below it, and the lowest semidominator on the forest path of
 * each one numbered above it.
 */
static inline uint32_t semi_full(const ctx *c, const uint32_t *dfn, const uint32_t *vertex,
                                 const uint32_t *parent, uint32_t *ancestor, uint32_t *label,
                                 uint32_t i)
{
    const mp_graph *g = c->g;
    uint32_t w = vertex[i];
    if (w >= c->n) return 1; /* a root node's only predecessor is S */
    uint32_t s = parent[i];
    if (is_single(c, w)) return s;
    uint64_t end = mp_in_end(g, w);
    for (uint64_t e = mp_in_begin(g, w); e < end; e++) {
        uint32_t v = dfn[g->in.adj[e]];
        if (!v) continue; /* unreachable predecessor */
        uint32_t s2 = v <= i ? v : eval(v, i, ancestor, label);
        if (s2 < s) s = s2;
    }
    if (is_target(c, w)) {
        for (size_t k = rt_first(c, w); k < c->nrt && (c->rt[k] >> 32) == w; k++) {
            uint32_t v = dfn[c->n + (uint32_t)c->rt[k]];
            if (!v) continue;
            uint32_t s2 = v <= i ? v : eval(v, i, ancestor, label);
            if (s2 < s) s = s2;
        }
    }
    return s;
}

/*
 * What semi_full gives for vertex i when no predecessor is numbered above
 * it, found without the link-eval forest (so on any thread, at any time
 * after the search); 0 when some predecessor is numbered above it.
 */
static uint32_t semi_below(const ctx *c, const uint32_t *dfn, const uint32_t *vertex,
                           const uint32_t *parent, uint32_t i)
{
    const mp_graph *g = c->g;
    uint32_t w = vertex[i];
    if (w >= c->n) return 1;
    uint32_t s = parent[i];
    if (is_single(c, w)) return s;
    uint64_t end = mp_in_end(g, w);
    for (uint64_t e = mp_in_begin(g, w); e < end; e++) {
        uint32_t v = dfn[g->in.adj[e]];
        if (v > i) return 0;
        if (v && v < s) s = v;
    }
    if (is_target(c, w)) {
        for (size_t k = rt_first(c, w); k < c->nrt && (c->rt[k] >> 32) == w; k++) {
            uint32_t v = dfn[c->n + (uint32_t)c->rt[k]];
            if (v > i) return 0;
            if (v && v < s) s = v;
        }
    }
    return s;
}

/* Vertices a claim of the semidominators' work takes (mp_dom_team). */
#define SEMI_CHUNK 4096u

/* The computing thread's next claim, below the last: the lowest vertex it
 * took (the claim runs up to the previous one), or 0 when the helper has
 * claimed every vertex left. */
static uint32_t claim_top(mp_dom_team *t)
{
    uint64_t b = atomic_load_explicit(&t->bounds, memory_order_relaxed);
    for (;;) {
        uint32_t top = (uint32_t)(b >> 32), bot = (uint32_t)b;
        if (top <= bot) return 0;
        uint32_t nt = top - bot > SEMI_CHUNK ? top - SEMI_CHUNK : bot;
        if (atomic_compare_exchange_weak_explicit(&t->bounds, &b, (uint64_t)nt << 32 | bot,
                                                  memory_order_relaxed, memory_order_relaxed))
            return nt;
    }
}

/* The helper's share of the semidominators: chunks from the bottom until
 * the two claims meet, each published through pre_done once written. */
static void help_semi(mp_dom_team *t)
{
    uint64_t b = atomic_load_explicit(&t->bounds, memory_order_relaxed);
    for (;;) {
        uint32_t top = (uint32_t)(b >> 32), bot = (uint32_t)b;
        if (bot >= top) return;
        uint32_t nb = top - bot > SEMI_CHUNK ? bot + SEMI_CHUNK : top;
        if (!atomic_compare_exchange_weak_explicit(&t->bounds, &b, (uint64_t)top << 32 | nb,
                                                   memory_order_relaxed, memory_order_relaxed))
            continue;
        /* the computing thread is in step 2 until this chunk is done:
         * what it lent is there */
        const ctx *c = t->c;
        const mp_graph *g = c->g;
        for (uint32_t i = bot; i < nb; i++) {
            /* the lists of the vertices a few turns on, as in step 2 */
            if (i + 16 < nb && reads_list(c, t->vertex[i + 16]))
                __builtin_prefetch(&g->in.at[t->vertex[i + 16]]);
            if (i + 8 < nb && reads_list(c, t->vertex[i + 8]))
                __builtin_prefetch(&g->in.adj[mp_in_begin(g, t->vertex[i + 8])]);
            if (i + 4 < nb && reads_list(c, t->vertex[i + 4])) {
                uint64_t e = mp_in_begin(g, t->vertex[i + 4]), f = mp_in_end(g, t->vertex[i + 4]);
                for (uint64_t k = e; k < f && k < e + 4; k++)
                    __builtin_prefetch(&t->dfn[g->in.adj[k]]);
            }
            t->label[i] = semi_below(c, t->dfn, t->vertex, t->parent, i);
        }
        atomic_store_explicit(&t->pre_done, nb, memory_order_release);
        b = atomic_load_explicit(&t->bounds, memory_order_relaxed);
    }
}

/* Moves the team to stage st (see mp_dom_team). */
static void set_stage(mp_dom_team *t, int st)
{
    pthread_mutex_lock(&t->mu);
    t->stage = st;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Waits for stage st or a later one; returns the stage seen. */
static int wait_stage(mp_dom_team *t, int st)
{
    pthread_mutex_lock(&t->mu);
    while (t->stage < st) pthread_cond_wait(&t->cv, &t->mu);
    int now = t->stage;
    pthread_mutex_unlock(&t->mu);
    return now;
}

/* A slot of root_of not filled yet, while fill_root_of runs: no root has
 * that number (a computation has fewer than MP_NONE - 2 nodes). */
#define ROOT_OF_UNKNOWN (MP_NONE - 1)

/* The single-root owner an object takes from its immediate dominator p
 * when p is no object: root node p's root; none under S or unreachable. */
static inline uint32_t root_of_node(const mp_dom *d, uint32_t p)
{
    return p >= d->super_root ? MP_NONE : p - (uint32_t)d->nobjects;
}

/*
 * Single-root owners: an object's is its immediate dominator's (an
 * object), or that root node's root. Filled in object order, not in
 * preorder: the preorder's objects lie all over the arrays, three
 * scattered lines each (its dominator, its slot, the dominator's slot),
 * where object order reads both arrays in a stream and only the
 * dominator's slot lies elsewhere (often one of a few dominators:
 * a map's buckets, S). An object whose dominator is not filled yet
 * walks up to the first one that is (or to a node that is no object),
 * then down the same way again, filling each object passed with the same
 * root: every object is walked past at most twice however deep the tree
 * (as in owner_above of the findings), and needs no stack.
 */
static void fill_root_of(mp_dom *d)
{
    size_t n = d->nobjects;
    const uint32_t *idom = d->idom;
    uint32_t *ro = d->root_of;
    for (size_t v = 0; v < n; v++) ro[v] = ROOT_OF_UNKNOWN;
    for (size_t v = 0; v < n; v++) {
        if (v + 16 < n && idom[v + 16] < n) __builtin_prefetch(&ro[idom[v + 16]]);
        if (ro[v] != ROOT_OF_UNKNOWN) continue; /* filled on a walk from below */
        uint32_t x = (uint32_t)v;
        while (x < n && ro[x] == ROOT_OF_UNKNOWN) x = idom[x];
        uint32_t r = x < n ? ro[x] : root_of_node(d, x);
        for (x = (uint32_t)v; x < n && ro[x] == ROOT_OF_UNKNOWN; x = idom[x]) ro[x] = r;
    }
}

mp_dom_team *mp_dom_team_new(void)
{
    mp_dom_team *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    if (pthread_mutex_init(&t->mu, NULL)) {
        free(t);
        return NULL;
    }
    if (pthread_cond_init(&t->cv, NULL)) {
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

void mp_dom_team_free(mp_dom_team *t)
{
    if (!t) return;
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void mp_dom_help(mp_dom_team *t)
{
    if (!t) return;
    if (wait_stage(t, 1) == 1) help_semi(t);
    if (wait_stage(t, 2) == 2 && !atomic_exchange(&t->rootof_claimed, true)) {
        fill_root_of(t->out);
        pthread_mutex_lock(&t->mu);
        t->rootof_done = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
}

/*
 * Semi-NCA (Georgiadis, Tarjan and Werneck): the semidominators as
 * Lengauer-Tarjan computes them (reverse preorder, a link-eval forest with
 * path compression), then each immediate dominator as the nearest common
 * ancestor of the vertex's parent and its semidominator, walking up the
 * dominators already known (preorder). Near-linear on heap graphs, and it
 * needs no buckets. Every array but dfn is indexed by DFS number (1 = S; 0
 * is "none").
 *
 * Memory: 20 bytes a node at most, where the classic algorithm needed 40.
 * Five arrays live through the semidominators (dfn, vertex, parent,
 * ancestor, label), and each one is put to a second use rather than a new
 * array allocated: label counts the successors tried during the search,
 * and ancestor holds each object's first successor for it (dfs_first);
 * vertex[i], read only at i's turn, then holds i's semidominator (vertex is
 * rebuilt from dfn, its inverse, at the end); parent becomes idom in place
 * (each vertex's entry is read before it is overwritten, and only the
 * dominators of lower numbers, final already, are walked).
 */
static int compute(const mp_graph *g, mp_dom *out, mp_dom_team *team, mf_error *err)
{
    memset(out, 0, sizeof *out);
    ctx c = {.g = g, .n = g->nobjects, .nroots = g->nroots};
    size_t N = c.n + c.nroots + 1;
    if (N >= UINT32_MAX - 1) {
        mf_error_set(err, "%s: too many objects and roots for the dominator tree", g->info.name);
        return -1;
    }
    c.S = (uint32_t)(N - 1);
    out->nobjects = c.n;
    out->nroots = c.nroots;
    out->nnodes = N;
    out->super_root = c.S;
    if (g->derived.idom) {
        /* from the index: only the roots by target are made here */
        if (g->dom_reserve) reserve_drop(g->dom_reserve);
        if (!(out->root_targets = xcalloc(c.nroots, sizeof *out->root_targets))) {
            mf_error_set(err, "%s: out of memory reading the dominator tree", g->info.name);
            return -1;
        }
        out->nroot_targets = sort_targets(g, out->root_targets);
        out->idom = (uint32_t *)g->derived.idom;
        out->retained = (uint64_t *)g->derived.retained;
        out->root_of = (uint32_t *)g->derived.root_of;
        out->preorder = (uint32_t *)g->derived.preorder;
        out->npreorder = g->derived.npreorder;
        out->borrowed = true;
        return 0;
    }

    /* dfn: per node, indexed by node id; vertex and parent: per DFS
     * number (1..N; 0 unused). label and ancestor share one block, which
     * becomes the retained sizes (8 bytes a node, as the two are): memory
     * the kernel has handed out once is written again instead of fresh
     * pages being faulted in and zeroed. ancestor's half holds the
     * search's first successors (step 1) before it is ancestor. All four
     * zeroed, from the graph's reservation when it has one. */
    uint32_t *dfn = NULL, *vertex = NULL, *parent = NULL, *label = NULL;
    if (!reserve_take(g, N, &dfn, &vertex, &parent, &label)) {
        dfn = xcalloc(N, sizeof *dfn);
        vertex = xcalloc(N + 1, sizeof *vertex);
        parent = xcalloc(N + 1, sizeof *parent);
        label = xcalloc(2 * ((size_t)N + 1), sizeof *label);
    }
    uint32_t *ancestor = NULL;
    c.rt = xcalloc(c.nroots, sizeof *c.rt);
    /* Two sparse bitmaps, read far more often than written: populated, so
     * that no read finds a page still on the kernel's zero page (zeroed.h).
     * The four arrays above need not be: the search reads a zero element
     * of dfn, vertex, parent or next only to write it at once, so a page
     * is read once before it is written (a page of dfn whose objects are
     * all unreachable stays zero, and is read for their edges alone). */
    c.is_target = mf_zeroed(c.n / 8 + 1, 1);
    c.single = mf_zeroed(c.n / 8 + 1, 1);
    c.leaf = mf_zeroed(c.n / 8 + 1, 1);
    out->deep = mf_zeroed(N / 8 + 1, 1);
    int rc = -1;
    if (!dfn || !vertex || !parent || !label || !c.rt || !c.is_target || !c.single || !c.leaf ||
        !out->deep)
        goto oom;

    c.nrt = sort_targets(g, c.rt);
    for (size_t k = 0; k < c.nrt; k++) {
        uint32_t t = (uint32_t)(c.rt[k] >> 32);
        c.is_target[t >> 3] |= (uint8_t)(1u << (t & 7));
    }

    /* 1. depth-first numbering from S. The stack of a depth-first search
     * is the tree path from the current vertex up to S, which parent[]
     * already holds: so no stack is kept (on a long chain it would cost 16
     * bytes a level). Each vertex's next successor position is kept in
     * label[] (calloc'ed zero), which is free until step 2. DFS_DONE there
     * says the vertex's last successor was taken: the search comes back to
     * a vertex once more after that, and then reads only the two arrays it
     * walks down anyway (parent, next) instead of the vertex's edge list,
     * which a long chain has pushed out of the cache long before (one
     * scattered read fewer per vertex). A vertex with 2^32-1 successors
     * tried counts as done (no heap has that many).
     * An object's first successor is read from first[] (dfs_first), which
     * lies in ancestor's half of label's block, unused until step 2: the
     * same successor its edge list gives, so the same search. Its edge
     * range is read only for the successors after the first (fetched at
     * the first one's turn). When the search meets a successor w among
     * the first DFS_RANGE of a list (dfs_ahead fetches those further on),
     * it asks for first[w], what w's own turn reads, before it reads w's
     * number, so the two misses overlap. */
    uint32_t *next = label, *first = label + N + 1;
    const uint32_t more = dfs_more_bit(c.n);
    dfs_first(g, first, c.n);
    mark_single(&c, first);
    /* The lone leaves met are set aside at the top of vertex and parent
     * (the vertex, the number of the one holding it), downwards from N:
     * numbered vertices and set-aside leaves are reachable nodes, N at
     * most together, so the two never meet. */
    uint32_t count = 0, aside = (uint32_t)N + 1;
    dfn[c.S] = ++count;
    vertex[count] = c.S;
    for (uint32_t cur = count; cur;) {
        uint32_t k = next[cur];
        if (k == DFS_DONE) {
            cur = parent[cur];
            continue;
        }
        uint32_t v = vertex[cur];
        if (k == 0 && (v < c.n ? !first[v] : !nsucc(&c, v))) { /* no successors: back at once */
            next[cur] = DFS_DONE;
            cur = parent[cur];
            continue;
        }
        bool last;
        uint32_t w;
        if (v < c.n && k == 0) {
            w = (first[v] & ~more) - 1;
            last = more ? !(first[v] & more) : mp_out_end(g, v) - mp_out_begin(g, v) == 1;
            if (!last) __builtin_prefetch(&g->out.at[v]); /* for the next turn */
        } else {
            if (v < c.n) dfs_ahead(&c, dfn, first, v, k);
            w = succ(&c, v, k, &last);
        }
        next[cur] = last || k + 1 == DFS_DONE ? DFS_DONE : k + 1;
        if (is_leaf(&c, w)) { /* met once: its one reference is this one */
            vertex[--aside] = w;
            parent[aside] = cur;
            continue;
        }
        if (w < c.n && k < DFS_RANGE) __builtin_prefetch(&first[w]);
        if (dfn[w]) continue;
        dfn[w] = ++count;
        vertex[count] = w;
        parent[count] = cur;
        cur = count;
    }
    /* the leaves set aside follow the numbered vertices, their dominator
     * their holder (parent[], which step 3 leaves as it is above count) */
    uint32_t nleaves = (uint32_t)N + 1 - aside;
    memmove(vertex + count + 1, vertex + aside, nleaves * sizeof *vertex);
    memmove(parent + count + 1, parent + aside, nleaves * sizeof *parent);
    uint32_t total = count + nleaves;
    free(c.leaf);
    c.leaf = NULL;
    ancestor = label + N + 1;
    /* a vertex's label is written at its turn, before anything reads it */
    ancestor[0] = 0;
    for (uint32_t i = 1; i <= count; i++) ancestor[i] = parent[i]; /* in effect once linked */

    /* 2. semidominators, in reverse preorder; vertex[i] is done with after
     * i's turn and takes its semidominator (the lower numbers, read ahead
     * below, are still vertices) */
    uint32_t *semi = vertex;
    const uint32_t *in = g->in.adj;
    uint32_t mine = 2;   /* the lowest vertex this thread has claimed */
    bool helped = false; /* below mine, the helper's vertices: label[] has them */
    if (team) {
        atomic_store_explicit(&team->bounds, (uint64_t)(count + 1) << 32 | 2, memory_order_relaxed);
        team->c = &c;
        team->dfn = dfn;
        team->vertex = vertex;
        team->parent = parent;
        team->label = label;
        mine = count + 1;
        set_stage(team, 1);
    }
    for (uint32_t i = count; i >= 2; i--) {
        if (i < mine && !helped) {
            mine = claim_top(team);
            helped = !mine;
        }
        uint32_t s;
        if (helped) {
            /* the helper's chunks end at this thread's lowest: all done
             * once the last is (a chunk's time at most) */
            while (atomic_load_explicit(&team->pre_done, memory_order_acquire) <= i) sched_yield();
            s = label[i];
            if (!s) s = semi_full(&c, dfn, vertex, parent, ancestor, label, i);
        } else {
            /* predecessors are scattered: fetch the lists of the vertices
             * a few turns on, then their predecessors' numbers */
            if (i > 32 && reads_list(&c, vertex[i - 32]))
                __builtin_prefetch(&g->in.at[vertex[i - 32]]);
            if (i > 16 && reads_list(&c, vertex[i - 16]))
                __builtin_prefetch(&in[mp_in_begin(g, vertex[i - 16])]);
            if (i > 8 && reads_list(&c, vertex[i - 8])) {
                uint64_t b = mp_in_begin(g, vertex[i - 8]), e = mp_in_end(g, vertex[i - 8]);
                for (uint64_t k = b; k < e && k < b + 4; k++) __builtin_prefetch(&dfn[in[k]]);
            }
            s = semi_full(&c, dfn, vertex, parent, ancestor, label, i);
        }
        label[i] = s;
        semi[i] = s;
    }
    ancestor = NULL; /* label's block is the retained sizes below */
    /* 3. immediate dominators, in preorder: the nearest common ancestor of
     * the parent and the semidominator in the dominator tree built so far */
    uint32_t *idom = parent;
    parent = NULL;
    idom[1] = 0;
    for (uint32_t i = 2; i <= count; i++) {
        uint32_t d = idom[i]; /* still i's parent */
        while (d > semi[i]) d = idom[d];
        idom[i] = d;
    }
    /* the semidominators are done with: vertex again, from its inverse
     * (the leaves after count, which have no number, were not overwritten) */
    vertex = semi;
    semi = NULL;
    vertex[0] = 0;
    for (size_t v = 0; v < N; v++)
        if (dfn[v]) vertex[dfn[v]] = (uint32_t)v;

    /* results by node id, each in a working array done with (never a
     * second copy of the two): retained in label's block, idom in dfn's,
     * and root_of below in the DFS-order idom's */
    out->retained = (uint64_t *)(void *)label;
    label = NULL;
    out->idom = dfn;
    dfn = NULL;
    for (size_t v = 0; v < N; v++) out->idom[v] = MP_NONE;
    for (uint32_t i = 2; i <= total; i++) out->idom[vertex[i]] = vertex[idom[i]];
    out->root_of = idom; /* N + 1 entries, done with */
    idom = NULL;
    out->npreorder = total;
    /* the owners (from idom, in object order) and the retained sizes (into
     * retained from idom over the preorder) share nothing they write: the
     * helper may take the owners */
    if (team) {
        team->out = out;
        set_stage(team, 2);
    }
    /* every reachable object's own size, in node order: the sizes are read
     * in a stream here rather than one scattered read each below (only S
     * has no dominator among the reachable nodes, and it is no object) */
    for (size_t v = 0; v < c.n; v++)
        out->retained[v] = out->idom[v] != MP_NONE ? mp_obj_size(g, (uint32_t)v) : 0;
    for (size_t v = c.n; v < N; v++) out->retained[v] = 0;
    /* retained sizes: children before parents (reverse preorder); the
     * vertices are scattered over the node arrays, so those of the turns a
     * few places on are fetched ahead (their dominators' entries once
     * their idom is in cache). A node's retained size is final at its turn
     * (its subtree's nodes come after it in preorder): when it is not 0,
     * its dominator retains more than its own size (deep), found here from
     * what the loop reads anyway instead of from every node's size again. */
    for (uint32_t i = total; i >= 2; i--) {
        if (i > 32) {
            uint32_t a = vertex[i - 32];
            __builtin_prefetch(&out->idom[a]);
            __builtin_prefetch(&out->retained[a]);
        }
        if (i >= 18) /* vertex i - 16 is not S (1), which has no dominator */
            __builtin_prefetch(&out->retained[out->idom[vertex[i - 16]]]);
        uint32_t v = vertex[i], p = out->idom[v];
        uint64_t r = out->retained[v];
        out->retained[p] += r;
        if (r) out->deep[p >> 3] |= (uint8_t)(1u << (p & 7));
    }
    if (!team || !atomic_exchange(&team->rootof_claimed, true)) {
        fill_root_of(out);
    } else {
        pthread_mutex_lock(&team->mu);
        while (!team->rootof_done) pthread_cond_wait(&team->cv, &team->mu);
        pthread_mutex_unlock(&team->mu);
    }
    /* the preorder is vertex[1..total]: handed over, not copied */
    memmove(vertex, vertex + 1, total * sizeof *vertex);
    out->preorder = vertex;
    vertex = NULL;
    out->root_targets = c.rt;
    out->nroot_targets = c.nrt;
    c.rt = NULL;
    rc = 0;
    goto done;
oom:
    mf_error_set(err, "%s: out of memory computing dominators of %zu objects", g->info.name, c.n);
    mp_dom_free(out);
done:
    free(dfn);
    free(vertex);
    free(parent);
    free(label);
    free(c.rt);
    free(c.is_target);
    free(c.single);
    free(c.leaf);
    return rc;
}

int mp_dom_compute(const mp_graph *g, mp_dom *out, mf_error *err)
{
    return compute(g, out, NULL, err);
}

int mp_dom_compute_team(const mp_graph *g, mp_dom *out, mp_dom_team *team, mf_error *err)
{
    int rc = compute(g, out, team, err);
    if (team) set_stage(team, 3); /* the helper has nothing more to do */
    return rc;
}

void mp_dom_free(mp_dom *d)
{
    if (!d->borrowed) {
        free(d->idom);
        free(d->retained);
        free(d->root_of);
        free(d->preorder);
    }
    d->borrowed = false;
    free(d->deep);
    d->deep = NULL;
    free(d->root_targets);
    d->root_targets = NULL;
    d->idom = d->root_of = d->preorder = NULL;
    d->retained = NULL;
}

void mp_dom_fill_root_of(mp_dom *d)
{
    fill_root_of(d);
}

/*
 * The top of each object a single root does not own, in root_of's slots:
 * the same walk as fill_root_of (up to the first object known, then down
 * again filling), so every object is walked past at most twice however
 * deep the tree, with no stack. A walk that ends at S ends one object
 * below it: that object is the top of all it passed.
 */
void mp_dom_fill_top_of(mp_dom *d)
{
    size_t n = d->nobjects;
    const uint32_t *idom = d->idom;
    uint32_t *to = d->root_of;
    for (size_t v = 0; v < n; v++) to[v] = ROOT_OF_UNKNOWN;
    for (size_t v = 0; v < n; v++) {
        if (v + 16 < n && idom[v + 16] < n) __builtin_prefetch(&to[idom[v + 16]]);
        if (to[v] != ROOT_OF_UNKNOWN) continue; /* filled on a walk from below */
        uint32_t x = (uint32_t)v, last = MP_NONE;
        while (x < n && to[x] == ROOT_OF_UNKNOWN) {
            last = x;
            x = idom[x];
        }
        bool top = x == d->super_root; /* then `last` is the top */
        uint32_t val;
        if (x < n) /* known: a root's node, a top's number, or the top itself */
            val = to[x] == MP_DOM_TOP ? x : to[x];
        else /* a root's node, the top below S, or none (unreachable) */
            val = top ? last : x;
        for (x = (uint32_t)v; x < n && to[x] == ROOT_OF_UNKNOWN; x = idom[x]) to[x] = val;
        if (top) to[last] = MP_DOM_TOP;
    }
}

void mp_dom_root_of_from_tops(mp_dom *d)
{
    size_t n = d->nobjects;
    uint32_t *ro = d->root_of, first = (uint32_t)n, nroots = (uint32_t)d->nroots;
    /* (one unsigned comparison: a loop the compiler makes vector code of) */
    for (size_t v = 0; v < n; v++) {
        uint32_t r = ro[v] - first;
        ro[v] = r < nroots ? r : MP_NONE;
    }
}

size_t mp_dom_first_root_target(const mp_dom *d, uint32_t o)
{
    return first_target(d->root_targets, d->nroot_targets, o);
}

/* Reverse breadth-first search from o. An object owned by a single root
 * stands for that root (no other root can reach it: every path from S
 * passes through its owner), so the search stops there. */
size_t mp_dom_roots_reaching(const mp_graph *g, const mp_dom *d, uint32_t o, uint32_t *roots,
                             size_t max, uint8_t *mark)
{
    if (o >= g->nobjects || d->idom[o] == MP_NONE) return 0;
    uint8_t *seen = calloc(g->nroots / 8 + 1, 1);
    size_t qcap = 256, qh = 0, qt = 0;
    uint32_t *q = malloc(qcap * sizeof *q);
    if (!seen || !q) {
        free(seen);
        free(q);
        return 0;
    }
    /* every marked object is in q: cleared from there at the end */
    q[qt++] = o;
    mark[o >> 3] |= (uint8_t)(1u << (o & 7));
    while (qh < qt) {
        uint32_t v = q[qh++];
        if (d->root_of[v] != MP_NONE) {
            uint32_t r = d->root_of[v];
            seen[r >> 3] |= (uint8_t)(1u << (r & 7));
            continue;
        }
        size_t lo = mp_dom_first_root_target(d, v); /* roots pointing right here */
        for (; lo < d->nroot_targets && (d->root_targets[lo] >> 32) == v; lo++) {
            uint32_t r = (uint32_t)d->root_targets[lo];
            seen[r >> 3] |= (uint8_t)(1u << (r & 7));
        }
        uint64_t end = mp_in_end(g, v);
        for (uint64_t e = mp_in_begin(g, v); e < end; e++) {
            uint32_t u = g->in.adj[e];
            if (mp_bit(mark, u) || d->idom[u] == MP_NONE) continue;
            if (qt == qcap) {
                uint32_t *nq = realloc(q, qcap * 2 * sizeof *nq);
                if (!nq) goto out;
                q = nq;
                qcap *= 2;
            }
            q[qt++] = u;
            mark[u >> 3] |= (uint8_t)(1u << (u & 7));
        }
    }
out:
    for (size_t i = 0; i < qt; i++) mark[q[i] >> 3] &= (uint8_t) ~(1u << (q[i] & 7));
    size_t k = 0;
    for (size_t r = 0; r < g->nroots; r++) {
        if (!(seen[r >> 3] & (1u << (r & 7)))) continue;
        if (k < max) roots[k] = (uint32_t)r;
        k++;
    }
    free(seen);
    free(q);
    return k;
}
