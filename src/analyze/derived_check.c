/* src/analyze/derived_check.c -- see derived_check.h. */
#include "analyze/derived_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define CHUNK ((size_t)1 << 20) /* objects between releases of what is read in order */

static const char *say(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *say(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return buf;
}

static inline bool bit(const uint64_t *b, size_t i)
{
    return b[i >> 6] >> (i & 63) & 1;
}
static inline void set_bit(uint64_t *b, size_t i)
{
    b[i >> 6] |= (uint64_t)1 << (i & 63);
}

/* Paths: references in range, then acyclicity by walking each object's
 * parents up to an object already known to reach a root: `done` marks
 * those, `walking` the objects of walks so far; an object met again
 * walking but not done closes a cycle. Every object is walked over at most
 * twice. */
const char *mp_derived_check_paths(const mp_graph *g, mp_graph_derived *dv, char *buf, size_t size,
                                   mp_release_fn release, void *ud)
{
    size_t n = g->nobjects;
    const uint32_t *parent = dv->parent, *root = dv->root, *via = dv->via;
    uint64_t reached = 0, bytes = 0;
    for (size_t o = 0; o < n; o++) {
        if (release && o % CHUNK == 0 && o) {
            /* what the first pass reads in order, behind it */
            release(ud, parent + o - CHUNK, CHUNK * sizeof *parent);
            release(ud, via + o - CHUNK, CHUNK * sizeof *via);
            release(ud, g->size32 + o - CHUNK, CHUNK * sizeof *g->size32);
        }
        uint32_t p = parent[o], r = root[o], v = via[o];
        if (r == MP_NONE) {
            if (p != MP_NONE || v != MP_NONE)
                return say(buf, size, "paths: object %zu is unreached but has a parent", o);
            continue;
        }
        if (r >= g->nroots) return say(buf, size, "paths: object %zu: root out of range", o);
        reached++;
        bytes += mp_obj_size(g, (uint32_t)o);
        if (p == MP_NONE) {
            if (g->roots[r].target != o || v != MP_NONE)
                return say(buf, size, "paths: object %zu has no parent and is not its root's", o);
            continue;
        }
        if (p >= n || root[p] != r)
            return say(buf, size, "paths: object %zu: parent out of range or of another root", o);
        bool bucket = g->bucket_bits && mp_bit(g->bucket_bits, p);
        if (v == MP_NONE && (bucket || mp_out_end(g, p) - mp_out_begin(g, p) > MP_NONE)) continue;
        if (bucket) {
            if (v >= g->nentries) return say(buf, size, "paths: object %zu: entry out of range", o);
        } else if (v >= mp_out_end(g, p) - mp_out_begin(g, p) ||
                   g->out.adj[mp_out_begin(g, p) + v] != o) {
            return say(buf, size, "paths: object %zu: no such edge from its parent", o);
        }
    }
    if (release) { /* the second pass reads parents and roots alone */
        release(ud, via, n * sizeof *via);
        release(ud, g->size32, n * sizeof *g->size32);
        release(ud, g->out.at, (n + 1) * sizeof *g->out.at);
        release(ud, g->out.adj, g->nedges * sizeof *g->out.adj);
    }
    uint64_t *done = calloc(n / 64 + 1, sizeof *done), *walking = calloc(n / 64 + 1, 8);
    const char *bad = NULL;
    if (!done || !walking) bad = say(buf, size, "out of memory checking the paths");
    for (size_t o = 0; !bad && o < n; o++) {
        if (root[o] == MP_NONE || bit(done, o)) continue;
        uint32_t x = (uint32_t)o;
        for (; x != MP_NONE && !bit(done, x); x = parent[x]) {
            if (bit(walking, x)) {
                bad = say(buf, size, "paths: the parents of object %zu go round a cycle", o);
                break;
            }
            set_bit(walking, x);
        }
        for (x = (uint32_t)o; !bad && x != MP_NONE && !bit(done, x); x = parent[x])
            set_bit(done, x);
    }
    free(done);
    free(walking);
    dv->nreached = reached;
    dv->reached_bytes = bytes;
    return bad;
}

/* The dominator tree: one pass by node number (ranges, reachability as
 * the paths see it; each node's own size), one over the preorder (each
 * node once, after its idom), which hands each object its idom's single
 * root, and one back over the preorder, which adds each node's retained
 * size to its idom's: children before parents, so each node's is whole
 * before it is added. */
const char *mp_derived_tree(const mp_graph *g, const mp_graph_derived *dv, uint64_t *retained,
                            uint32_t *root_of, char *buf, size_t size, mp_release_fn release,
                            void *ud)
{
    size_t n = g->nobjects, N = n + g->nroots + 1;
    uint32_t S = (uint32_t)(N - 1);
    const uint32_t *idom = dv->idom, *pre = dv->preorder;
    if (idom[S] != MP_NONE) return say(buf, size, "dominators: the super-root has an idom");
    uint64_t nreach = 1;
    for (size_t v = 0; v < N; v++) {
        uint32_t d = idom[v];
        if (v < n && dv->root && (d == MP_NONE) != (dv->root[v] == MP_NONE))
            return say(buf, size, "object %zu: reachable by its path but not its dominators", v);
        if (v < n) root_of[v] = MP_NONE;
        retained[v] = 0;
        if (d == MP_NONE && v != S) {
            if (v >= n) return say(buf, size, "dominators: root node %zu is unreachable", v);
            continue;
        }
        if (v != S && (d >= N || d == v || (v >= n && d != S)))
            return say(buf, size, "dominators: node %zu: idom out of range", v);
        if (v < n) retained[v] = mp_obj_size(g, (uint32_t)v);
        if (v != S) nreach++;
    }
    /* the second pass reads neither the paths nor the sizes */
    if (release) {
        if (dv->root) release(ud, dv->root, n * sizeof *dv->root);
        release(ud, g->size32, n * sizeof *g->size32);
    }
    if (dv->npreorder != nreach || pre[0] != S)
        return say(buf, size, "dominators: the preorder does not list the reachable nodes");
    uint64_t *seen = calloc(N / 64 + 1, sizeof *seen);
    if (!seen) return say(buf, size, "out of memory checking the dominator tree");
    set_bit(seen, S);
    const char *bad = NULL;
    /* both passes follow the preorder to nodes scattered over the arrays:
     * the node AHEAD places on is asked for early, its idom's entry once
     * its idom is known (the reads are bounds-free hints) */
    enum { AHEAD = 16 };
    for (size_t i = 1; i < nreach; i++) {
        if (i + 2 * AHEAD < nreach && pre[i + 2 * AHEAD] < N)
            __builtin_prefetch(&idom[pre[i + 2 * AHEAD]]);
        if (i + AHEAD < nreach && pre[i + AHEAD] < N) {
            uint32_t w = pre[i + AHEAD], dw = idom[w];
            __builtin_prefetch(&root_of[w < n ? w : 0], 1);
            if (dw < n) __builtin_prefetch(&root_of[dw]);
        }
        uint32_t v = pre[i];
        if (v >= N || bit(seen, v) || idom[v] == MP_NONE || !bit(seen, idom[v])) {
            bad = say(buf, size, "dominators: preorder %zu: a node twice or before its idom", i);
            break;
        }
        set_bit(seen, v);
        uint32_t d = idom[v];
        if (v < n) root_of[v] = d < n ? root_of[d] : d == S ? MP_NONE : d - (uint32_t)n;
    }
    free(seen);
    if (bad) return bad;
    /* every listed node is reachable, once, after its idom: sound to sum */
    for (size_t i = nreach - 1; i > 0; i--) {
        if (i > 2 * AHEAD) __builtin_prefetch(&idom[pre[i - 2 * AHEAD]]);
        if (i > AHEAD) {
            uint32_t w = pre[i - AHEAD];
            __builtin_prefetch(&retained[w], 1);
            __builtin_prefetch(&retained[idom[w]], 1);
        }
        retained[idom[pre[i]]] += retained[pre[i]];
    }
    return NULL;
}
