/*
 * src/analyze/dominators.c -- Lengauer-Tarjan over the heap plus root nodes.
 *
 * Everything inside the algorithm is indexed by DFS number (1 = S; 0 means
 * "not visited"), which keeps the hot arrays dense and the comparisons of
 * semidominators plain integer comparisons.
 */
#include "analyze/dominators.h"

#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    const mp_graph *g;
    size_t n, nroots;
    uint32_t S;
    uint64_t *rt; /* (target << 32 | root) sorted: roots by target */
    size_t nrt;
    uint8_t *is_target; /* bitmap over objects: some root points here */
} ctx;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The k-th successor of node v (k from 0), or false past the last one. */
static inline bool succ(const ctx *c, uint32_t v, uint64_t k, uint32_t *w)
{
    if (v < c->n) {
        uint64_t e = c->g->out_start[v] + k;
        if (e >= c->g->out_start[v + 1]) return false;
        *w = c->g->out[e];
        return true;
    }
    if (v == c->S) {
        if (k >= c->nroots) return false;
        *w = (uint32_t)(c->n + k);
        return true;
    }
    uint32_t t = c->g->roots[v - c->n].target;
    if (k > 0 || t == MP_NONE) return false;
    *w = t;
    return true;
}

/* First index in c->rt of the roots targeting object v. */
static size_t rt_first(const ctx *c, uint32_t v)
{
    size_t lo = 0, hi = c->nrt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((c->rt[mid] >> 32) < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void *xcalloc(size_t n, size_t sz)
{
    return calloc(n ? n : 1, sz);
}

/* Iterative form of Appel's AncestorWithLowestSemi: walks up the forest of
 * linked vertices, then compresses the path on the way back down, so each
 * vertex points nearer the root and remembers the lowest semidominator on
 * the stretch it skips. */
static uint32_t eval(uint32_t v, uint32_t *ancestor, uint32_t *best, const uint32_t *semi,
                     uint32_t *stack)
{
    if (ancestor[v] == 0) return best[v];
    size_t sp = 0;
    uint32_t u = v;
    while (ancestor[ancestor[u]] != 0) {
        stack[sp++] = u;
        u = ancestor[u];
    }
    while (sp > 0) {
        uint32_t x = stack[--sp];
        uint32_t a = ancestor[x];
        uint32_t b = best[a];
        ancestor[x] = ancestor[a];
        if (semi[b] < semi[best[x]]) best[x] = b;
    }
    return best[v];
}

int mp_dom_compute(const mp_graph *g, mp_dom *out, mf_error *err)
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

    /* per node, indexed by node id */
    uint32_t *dfn = xcalloc(N, sizeof *dfn);
    /* per DFS number (1..N; 0 unused) */
    uint32_t *vertex = xcalloc(N + 1, sizeof *vertex);
    uint32_t *parent = xcalloc(N + 1, sizeof *parent);
    uint32_t *semi = xcalloc(N + 1, sizeof *semi);
    uint32_t *ancestor = xcalloc(N + 1, sizeof *ancestor);
    uint32_t *best = xcalloc(N + 1, sizeof *best);
    uint32_t *idom = xcalloc(N + 1, sizeof *idom);
    uint32_t *bhead = xcalloc(N + 1, sizeof *bhead);
    uint32_t *bnext = xcalloc(N + 1, sizeof *bnext);
    uint32_t *stack32 = xcalloc(N + 1, sizeof *stack32);
    c.rt = xcalloc(c.nroots, sizeof *c.rt);
    c.is_target = xcalloc(c.n / 8 + 1, 1);
    int rc = -1;
    if (!dfn || !vertex || !parent || !semi || !ancestor || !best || !idom || !bhead || !bnext ||
        !stack32 || !c.rt || !c.is_target)
        goto oom;

    for (size_t r = 0; r < c.nroots; r++) {
        uint32_t t = g->roots[r].target;
        if (t == MP_NONE) continue;
        c.rt[c.nrt++] = (uint64_t)t << 32 | r;
        c.is_target[t >> 3] |= (uint8_t)(1u << (t & 7));
    }
    if (c.nrt > 1) qsort(c.rt, c.nrt, sizeof *c.rt, cmp_u64);

    /* 1. depth-first numbering from S. The stack of a depth-first search
     * is the tree path from the current vertex up to S, which parent[]
     * already holds: so no stack is kept (on a long chain it would cost 16
     * bytes a level). Each vertex's next successor position is kept in
     * semi[] (calloc'ed zero), which is free until step 2; a vertex with
     * 2^32-1 successors tried counts as done (no heap has that many). */
    uint32_t count = 0;
    dfn[c.S] = ++count;
    vertex[count] = c.S;
    for (uint32_t cur = count; cur;) {
        uint32_t w;
        if (semi[cur] == UINT32_MAX || !succ(&c, vertex[cur], semi[cur]++, &w)) {
            cur = parent[cur];
            continue;
        }
        if (dfn[w]) continue;
        dfn[w] = ++count;
        vertex[count] = w;
        parent[count] = cur;
        cur = count;
    }
    for (uint32_t i = 1; i <= count; i++) {
        semi[i] = i;
        best[i] = i;
    }

    /* 2. semidominators in reverse preorder, with implicit idoms via buckets */
    for (uint32_t i = count; i >= 2; i--) {
        uint32_t w = vertex[i];
        uint32_t p = parent[i];
        uint32_t s = p;
        /* predecessors of w */
        if (w < c.n) {
            for (uint64_t e = g->in_start[w]; e < g->in_start[w + 1]; e++) {
                uint32_t v = dfn[g->in[e]];
                if (!v) continue; /* unreachable predecessor */
                uint32_t s2 = v <= i ? v : semi[eval(v, ancestor, best, semi, stack32)];
                if (s2 < s) s = s2;
            }
            if (c.is_target[w >> 3] & (1u << (w & 7))) {
                for (size_t k = rt_first(&c, w); k < c.nrt && (c.rt[k] >> 32) == w; k++) {
                    uint32_t v = dfn[c.n + (uint32_t)c.rt[k]];
                    if (!v) continue;
                    uint32_t s2 = v <= i ? v : semi[eval(v, ancestor, best, semi, stack32)];
                    if (s2 < s) s = s2;
                }
            }
        } else {
            s = 1; /* a root node's only predecessor is S */
        }
        semi[i] = s;
        bnext[i] = bhead[s];
        bhead[s] = i;
        ancestor[i] = p; /* link(p, i) */
        /* every vertex sits in exactly one bucket, emptied once (the
         * bucket of semi(v) is emptied at the iteration of the child of
         * semi(v) on the tree path to v, at or after v's own): after its
         * turn, bnext[v] is free and holds the vertex whose idom v shares
         * (0: idom(v) is p), which saves an array */
        for (uint32_t v = bhead[p]; v;) {
            uint32_t next = bnext[v];
            uint32_t y = eval(v, ancestor, best, semi, stack32);
            bnext[v] = semi[y] == semi[v] ? 0 : y;
            if (!bnext[v]) idom[v] = p;
            v = next;
        }
        bhead[p] = 0;
    }
    /* 3. deferred immediate dominators, in preorder */
    for (uint32_t i = 2; i <= count; i++)
        if (bnext[i]) idom[i] = idom[bnext[i]];
    /* the working arrays are done with: give their memory back before the
     * results are allocated, so the two are never held at once */
    free(semi), semi = NULL;
    free(ancestor), ancestor = NULL;
    free(best), best = NULL;
    free(bhead), bhead = NULL;
    free(bnext), bnext = NULL;
    free(stack32), stack32 = NULL;
    free(parent), parent = NULL;
    out->idom = malloc(N * sizeof *out->idom);
    out->retained = xcalloc(N, sizeof *out->retained);
    out->root_of = malloc((c.n ? c.n : 1) * sizeof *out->root_of);
    if (!out->idom || !out->retained || !out->root_of) goto oom;

    /* results by node id */
    for (size_t v = 0; v < N; v++) out->idom[v] = MP_NONE;
    for (uint32_t i = 2; i <= count; i++) out->idom[vertex[i]] = vertex[idom[i]];
    /* retained sizes: children before parents (reverse preorder) */
    for (uint32_t i = count; i >= 2; i--) {
        uint32_t v = vertex[i];
        if (v < c.n) out->retained[v] += g->size[v];
        out->retained[out->idom[v]] += out->retained[v];
    }
    /* single-root owners: parents before children (preorder) */
    for (size_t v = 0; v < c.n; v++) out->root_of[v] = MP_NONE;
    for (uint32_t i = 2; i <= count; i++) {
        uint32_t v = vertex[i];
        if (v >= c.n) continue;
        uint32_t d = out->idom[v];
        out->root_of[v] = d < c.n ? out->root_of[d] : d == c.S ? MP_NONE : d - (uint32_t)c.n;
    }
    /* the preorder is vertex[1..count]: handed over, not copied */
    out->npreorder = count;
    memmove(vertex, vertex + 1, count * sizeof *vertex);
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
    free(semi);
    free(ancestor);
    free(best);
    free(idom);
    free(bhead);
    free(bnext);
    free(stack32);
    free(c.rt);
    free(c.is_target);
    return rc;
}

void mp_dom_free(mp_dom *d)
{
    free(d->idom);
    free(d->retained);
    free(d->root_of);
    free(d->preorder);
    free(d->root_targets);
    d->root_targets = NULL;
    d->idom = d->root_of = d->preorder = NULL;
    d->retained = NULL;
}

/* Reverse breadth-first search from o. An object owned by a single root
 * stands for that root (no other root can reach it: every path from S
 * passes through its owner), so the search stops there. */
size_t mp_dom_roots_reaching(const mp_graph *g, const mp_dom *d, uint32_t o, uint32_t *roots,
                             size_t max, uint32_t *mark, uint32_t epoch)
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
    q[qt++] = o;
    mark[o] = epoch;
    while (qh < qt) {
        uint32_t v = q[qh++];
        if (d->root_of[v] != MP_NONE) {
            uint32_t r = d->root_of[v];
            seen[r >> 3] |= (uint8_t)(1u << (r & 7));
            continue;
        }
        size_t lo = 0, hi = d->nroot_targets; /* roots pointing right here */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if ((d->root_targets[mid] >> 32) < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < d->nroot_targets && (d->root_targets[lo] >> 32) == v; lo++) {
            uint32_t r = (uint32_t)d->root_targets[lo];
            seen[r >> 3] |= (uint8_t)(1u << (r & 7));
        }
        for (uint64_t e = g->in_start[v]; e < g->in_start[v + 1]; e++) {
            uint32_t u = g->in[e];
            if (mark[u] == epoch || d->idom[u] == MP_NONE) continue;
            mark[u] = epoch;
            if (qt == qcap) {
                uint32_t *nq = realloc(q, qcap * 2 * sizeof *nq);
                if (!nq) goto out;
                q = nq;
                qcap *= 2;
            }
            q[qt++] = u;
        }
    }
out:;
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
