/* src/analyze/derived_check.c -- see derived_check.h. */
#include "analyze/derived_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define P61 (((uint64_t)1 << 61) - 1)
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

static inline uint64_t mod61(uint64_t x)
{
    x = (x & P61) + (x >> 61);
    return x >= P61 ? x - P61 : x;
}

static inline uint64_t mulmod61(uint64_t a, uint64_t b)
{
    unsigned __int128 x = (unsigned __int128)a * b; /* a, b < 2^61 */
    uint64_t lo = (uint64_t)x & P61, hi = (uint64_t)(x >> 61);
    return mod61(lo + hi);
}

/* The weight of node v: a mix of v and the seed (splitmix64), below P61. */
static inline uint64_t weight(uint64_t seed, uint64_t v)
{
    uint64_t z = seed + (v + 1) * 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return mod61(z ^ (z >> 31));
}

/* A seed the file cannot have been made against. */
static uint64_t fresh_seed(void)
{
    uint64_t s = 0;
    if (getentropy(&s, sizeof s) != 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid();
    }
    return s;
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

/* The dominator tree: one pass by node number (ranges, retained bounds,
 * the weighted sums), one over the preorder (each node once, after its
 * idom; root_of; retained no more than the idom's). */
const char *mp_derived_check_tree(const mp_graph *g, const mp_graph_derived *dv, char *buf,
                                  size_t size, mp_release_fn release, void *ud)
{
    size_t n = g->nobjects, N = n + g->nroots + 1;
    uint32_t S = (uint32_t)(N - 1);
    const uint32_t *idom = dv->idom, *root_of = dv->root_of, *pre = dv->preorder;
    const uint64_t *ret = dv->retained;
    if (idom[S] != MP_NONE) return say(buf, size, "dominators: the super-root has an idom");
    uint64_t seed = fresh_seed(), own = 0, other = 0, reach_bytes = 0, nreach = 1;
    for (size_t v = 0; v < N; v++) {
        uint32_t d = idom[v];
        uint64_t shallow = v < n ? mp_obj_size(g, (uint32_t)v) : 0;
        if (v < n && dv->root && (d == MP_NONE) != (dv->root[v] == MP_NONE))
            return say(buf, size, "object %zu: reachable by its path but not its dominators", v);
        if (d == MP_NONE && v != S) {
            if (ret[v] != 0 || (v < n && root_of[v] != MP_NONE))
                return say(buf, size, "dominators: node %zu is unreachable but retains", v);
            if (v >= n) return say(buf, size, "dominators: root node %zu is unreachable", v);
            continue;
        }
        if (v != S && (d >= N || d == v || (v >= n && d != S)))
            return say(buf, size, "dominators: node %zu: idom out of range", v);
        if (ret[v] < shallow || ret[v] >= P61)
            return say(buf, size, "dominators: node %zu: retained size out of range", v);
        reach_bytes += shallow;
        own = mod61(own + mulmod61(weight(seed, v), ret[v] - shallow));
        if (v != S) {
            nreach++;
            other = mod61(other + mulmod61(weight(seed, d), ret[v]));
        }
    }
    /* the second pass reads neither the paths nor the sizes */
    if (release) {
        release(ud, dv->root, n * sizeof *dv->root);
        release(ud, g->size32, n * sizeof *g->size32);
    }
    if (dv->npreorder != nreach || pre[0] != S)
        return say(buf, size, "dominators: the preorder does not list the reachable nodes");
    uint64_t *seen = calloc(N / 64 + 1, sizeof *seen);
    if (!seen) return say(buf, size, "out of memory checking the dominator tree");
    set_bit(seen, S);
    const char *bad = NULL;
    for (size_t i = 1; i < nreach && !bad; i++) {
        uint32_t v = pre[i];
        if (v >= N || bit(seen, v) || idom[v] == MP_NONE || !bit(seen, idom[v])) {
            bad = say(buf, size, "dominators: preorder %zu: a node twice or before its idom", i);
            break;
        }
        set_bit(seen, v);
        uint32_t d = idom[v];
        if (ret[v] > ret[d])
            bad = say(buf, size, "dominators: node %u retains more than its idom", v);
        if (v < n && root_of[v] != (d < n ? root_of[d] : d == S ? MP_NONE : d - (uint32_t)n))
            bad = say(buf, size, "dominators: object %u: single root out of step", v);
    }
    free(seen);
    if (bad) return bad;
    if (ret[S] != reach_bytes)
        return say(buf, size, "dominators: the super-root retains %llu bytes, not %llu",
                   (unsigned long long)ret[S], (unsigned long long)reach_bytes);
    if (own != other)
        return say(buf, size, "dominators: retained sizes are not the sums of the tree's");
    return NULL;
}
