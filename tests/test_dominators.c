/*
 * tests/test_dominators.c -- Lengauer-Tarjan against a naive dominator
 * computation on random graphs; retained sizes; single-root owners; the
 * roots that reach a shared object; a deep chain (no recursion); chains
 * and cycles in the plain search's order; a helper
 * thread changes nothing; nor do arrays reserved while the graph is built;
 * single-root owners filled again from idom alone.
 */
#include "analyze/dominators.h"

#include "check.h"

#include <pthread.h>
#include <stdlib.h>

/* The graph b builds; NULL when it cannot be built. */
static mp_graph *finished(mp_graph_builder *b)
{
    mp_graph *g;
    mf_error err;
    return mp_gb_finish(b, &g, &err) ? NULL : g;
}

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Reachability from S in the node graph (objects, root nodes, S) skipping
 * node `cut`; marks reached nodes in seen. */
static void reach(const mp_graph *g, uint32_t cut, uint8_t *seen, uint32_t *q)
{
    size_t n = g->nobjects, N = n + g->nroots + 1;
    memset(seen, 0, N);
    size_t h = 0, t = 0;
    uint32_t S = (uint32_t)(N - 1);
    if (cut == S) return;
    seen[S] = 1;
    for (size_t r = 0; r < g->nroots; r++) {
        uint32_t rn = (uint32_t)(n + r);
        if (rn == cut) continue;
        seen[rn] = 1;
        uint32_t tg = g->roots[r].target;
        if (tg != MP_NONE && tg != cut && !seen[tg]) {
            seen[tg] = 1;
            q[t++] = tg;
        }
    }
    while (h < t) {
        uint32_t v = q[h++];
        for (uint64_t e = mp_out_begin(g, v); e < mp_out_end(g, v); e++) {
            uint32_t w = g->out.adj[e];
            if (w == cut || seen[w]) continue;
            seen[w] = 1;
            q[t++] = w;
        }
    }
}

/* Naive: dom[x][y] = x dominates y (y unreachable when x is removed);
 * idom(y) = the strict dominator of y that all its other strict dominators
 * dominate, i.e. the one with the most dominators itself. */
static void naive_idom(const mp_graph *g, uint32_t *idom)
{
    size_t n = g->nobjects, N = n + g->nroots + 1;
    uint8_t *base = malloc(N), *seen = malloc(N);
    uint32_t *q = malloc(N * sizeof *q);
    uint8_t *dom = calloc(N * N, 1);
    uint32_t *ndom = calloc(N, sizeof *ndom);
    reach(g, UINT32_MAX, base, q);
    for (uint32_t x = 0; x < N; x++) {
        reach(g, x, seen, q);
        for (uint32_t y = 0; y < N; y++)
            if (base[y] && !seen[y] && y != x) {
                dom[(size_t)x * N + y] = 1;
                ndom[y]++;
            }
    }
    for (uint32_t y = 0; y < N; y++) {
        idom[y] = MP_NONE;
        if (!base[y] || y == N - 1) continue;
        uint32_t best = MP_NONE;
        for (uint32_t x = 0; x < N; x++)
            if (dom[(size_t)x * N + y] && (best == MP_NONE || ndom[x] > ndom[best])) best = x;
        idom[y] = best;
    }
    free(base);
    free(seen);
    free(q);
    free(dom);
    free(ndom);
}

static mp_graph *random_graph(size_t n, size_t m, size_t nroots)
{
    mp_graph_builder *b = mp_gb_new("rand", "test");
    for (size_t i = 0; i < n; i++) mp_gb_object(b, 0x10000 + 64 * i, 8 + rnd(56), MP_NONE, MP_NONE);
    for (size_t e = 0; e < m; e++)
        mp_gb_edge_addr(b, 0x10000 + 64 * (uint64_t)rnd((uint32_t)n),
                        0x10000 + 64 * (uint64_t)rnd((uint32_t)n));
    for (size_t r = 0; r < nroots; r++) {
        mp_root rt = {.kind = (uint8_t)rnd(MP_ROOT_NKINDS), .target = rnd((uint32_t)n)};
        mp_gb_root(b, &rt, 0);
    }
    return finished(b);
}

static void test_idom_matches_naive_on_random_graphs(void)
{
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + rnd(40), m = rnd((uint32_t)(3 * n + 1)), nr = 1 + rnd(4);
        mp_graph *g = random_graph(n, m, nr);
        CHECK(g);
        mp_dom d;
        mf_error err;
        CHECK(mp_dom_compute(g, &d, &err) == 0);
        uint32_t *want = malloc(d.nnodes * sizeof *want);
        naive_idom(g, want);
        for (uint32_t v = 0; v < d.nnodes; v++) {
            if (d.idom[v] != want[v])
                fprintf(stderr, "round %d node %u: idom %u, naive %u\n", round, v, d.idom[v],
                        want[v]);
            CHECK_EQ_U64(d.idom[v], want[v]);
        }
        /* retained = own size + retained of dominator-tree children */
        for (uint32_t v = 0; v < d.nnodes; v++) {
            if (d.idom[v] == MP_NONE && v != d.super_root) {
                CHECK_EQ_U64(d.retained[v], 0);
                continue;
            }
            uint64_t sum = v < g->nobjects ? mp_obj_size(g, v) : 0;
            for (uint32_t w = 0; w < d.nnodes; w++)
                if (d.idom[w] == v) sum += d.retained[w];
            CHECK_EQ_U64(d.retained[v], sum);
        }
        /* root_of: the root node on the dominator chain, if any */
        for (uint32_t v = 0; v < g->nobjects; v++) {
            uint32_t x = d.idom[v], want_root = MP_NONE;
            while (x != MP_NONE && x < g->nobjects) x = d.idom[x];
            if (x != MP_NONE && mp_dom_is_root(&d, x)) want_root = x - (uint32_t)g->nobjects;
            CHECK_EQ_U64(d.root_of[v], want_root);
        }
        free(want);
        mp_dom_free(&d);
        mp_graph_free(g);
    }
}

static void test_roots_reaching_a_shared_object_are_all_listed(void)
{
    /* g1 -> A -> C, g2 -> B -> C, stack -> A ; C -> D */
    mp_graph_builder *b = mp_gb_new("x", "test");
    uint32_t A = mp_gb_object(b, 0x1000, 10, MP_NONE, MP_NONE);
    uint32_t B = mp_gb_object(b, 0x2000, 20, MP_NONE, MP_NONE);
    uint32_t C = mp_gb_object(b, 0x3000, 30, MP_NONE, MP_NONE);
    uint32_t D = mp_gb_object(b, 0x4000, 40, MP_NONE, MP_NONE);
    mp_gb_edge(b, A, C);
    mp_gb_edge(b, B, C);
    mp_gb_edge(b, C, D);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = A}, 0);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = B}, 0);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_STACK, .target = A}, 0);
    mp_graph *g = finished(b);
    CHECK(g != NULL);
    mf_error err;
    mp_dom d;
    CHECK(mp_dom_compute(g, &d, &err) == 0);
    CHECK_EQ_U64(d.idom[C], d.super_root);
    CHECK_EQ_U64(d.idom[D], C);
    CHECK_EQ_U64(d.retained[C], 70);
    CHECK_EQ_U64(d.root_of[B], 1);
    CHECK_EQ_U64(d.root_of[A], MP_NONE);           /* a global and a stack slot */
    CHECK_EQ_U64(d.retained[g->nobjects + 1], 20); /* root g2 owns B only */
    uint8_t *mark = calloc(g->nobjects / 8 + 1, 1);
    uint32_t roots[8];
    CHECK_EQ_U64(mp_dom_roots_reaching(g, &d, D, roots, 8, mark), 3);
    CHECK_EQ_U64(roots[0], 0);
    CHECK_EQ_U64(roots[1], 1);
    CHECK_EQ_U64(roots[2], 2);
    CHECK_EQ_U64(mp_dom_roots_reaching(g, &d, B, roots, 8, mark), 1);
    CHECK_EQ_U64(roots[0], 1);
    CHECK_EQ_U64(mp_dom_roots_reaching(g, &d, D, roots, 2, mark), 3); /* counted, 2 written */
    /* each call left the marks clear for the next */
    for (size_t i = 0; i < g->nobjects / 8 + 1; i++) CHECK(mark[i] == 0);
    free(mark);
    mp_dom_free(&d);
    mp_graph_free(g);
}

/* The roots reaching an object, as a list of what `max` would write, into
 * roots (room for g->nroots): their count. */
static size_t reaching(const mp_graph *g, const mp_dom *d, uint32_t o, uint32_t *roots,
                       uint8_t *mark)
{
    size_t n = mp_dom_roots_reaching(g, d, o, roots, g->nroots, mark);
    return n <= g->nroots ? n : 0;
}

/* Whether objects a and b have the same roots reaching them, the same
 * list; *n: how many reach a. want and got: room for g->nroots each. */
static bool same_roots(const mp_graph *g, const mp_dom *d, uint32_t a, uint32_t b, uint32_t *want,
                       uint32_t *got, uint8_t *mark, size_t *n)
{
    *n = reaching(g, d, a, want, mark);
    return reaching(g, d, b, got, mark) == *n && memcmp(want, got, *n * sizeof *got) == 0;
}

/* Every object's top by mp_dom_fill_top_of (the object itself for a
 * top), into a copy; d->root_of is given back by mp_dom_root_of_from_tops,
 * *same: whether it holds what it held before. */
static uint32_t *tops_of(mp_dom *d, bool *same)
{
    uint32_t *before = malloc(d->nobjects * sizeof *before), *t = malloc(d->nobjects * sizeof *t);
    memcpy(before, d->root_of, d->nobjects * sizeof *before);
    mp_dom_fill_top_of(d);
    for (size_t o = 0; o < d->nobjects; o++)
        t[o] = d->root_of[o] == MP_DOM_TOP ? (uint32_t)o : d->root_of[o];
    mp_dom_root_of_from_tops(d);
    *same = memcmp(before, d->root_of, d->nobjects * sizeof *before) == 0;
    free(before);
    return t;
}

/* A list of holders h[n-1] -> ... -> h[0], each holding an object x[i]
 * of its own; a global and a stack word hold the list's head, a global
 * every tenth holder too: the roots reaching x[i] are those of the nearest
 * rooted holder at i or above, its top; and on random graphs every
 * object's roots are its top's. */
static void test_an_objects_roots_are_its_tops(void)
{
    enum { N = 1000 };
    mp_graph_builder *b = mp_gb_new("x", "test");
    uint32_t h[N], x[N];
    for (uint32_t i = 0; i < N; i++) {
        h[i] = mp_gb_object(b, 0x100000 + 128 * i, 16, MP_NONE, MP_NONE);
        x[i] = mp_gb_object(b, 0x100040 + 128 * i, 32, MP_NONE,
                            MP_NONE); /* object numbers follow the addresses */
        mp_gb_edge(b, h[i], x[i]);
        if (i) mp_gb_edge(b, h[i], h[i - 1]);
    }
    uint32_t lone = mp_gb_object(b, 0x300000, 8, MP_NONE, MP_NONE);
    uint32_t dead = mp_gb_object(b, 0x300100, 8, MP_NONE, MP_NONE);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = h[N - 1]}, 0);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_STACK, .target = h[N - 1]}, 0);
    for (uint32_t i = 5; i < N - 1; i += 10)
        mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = h[i]}, 0);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = lone}, 0);
    mp_graph *g = finished(b);
    CHECK(g != NULL);
    mf_error err;
    mp_dom d;
    CHECK(mp_dom_compute(g, &d, &err) == 0);
    uint8_t *mark = calloc(g->nobjects / 8 + 1, 1);
    uint32_t *want = malloc(g->nroots * sizeof *want), *got = malloc(g->nroots * sizeof *got);
    bool same;
    uint32_t *top = tops_of(&d, &same);
    CHECK(same);
    for (uint32_t i = 0; i < N; i++) {
        /* the nearest holder at i or above that a root of its own holds */
        uint32_t j = i % 10 <= 5 ? i / 10 * 10 + 5 : i / 10 * 10 + 15;
        if (j > N - 1) j = N - 1;
        CHECK_EQ_U64(top[x[i]], h[j]);
        CHECK_EQ_U64(top[h[j]], h[j]);
        size_t n;
        CHECK(same_roots(g, &d, x[i], top[x[i]], want, got, mark, &n));
        CHECK_EQ_U64(n, 2 + (j <= N - 5 ? (N - 5 - j) / 10 + 1 : 0));
    }
    CHECK_EQ_U64(top[lone], g->nobjects + d.root_of[lone]); /* one root owns it: its node */
    CHECK_EQ_U64(top[dead], MP_NONE);                       /* unreachable */
    free(top);
    free(want);
    free(got);
    free(mark);
    mp_dom_free(&d);
    mp_graph_free(g);
}

/* On random graphs every reachable object's roots are its top's. */
static void test_random_objects_share_their_tops_roots(void)
{
    for (int round = 0; round < 20; round++) {
        mp_graph *g = random_graph(300 + rnd(300), 200 + rnd(600), 1 + rnd(12));
        CHECK(g != NULL);
        mf_error err;
        mp_dom d;
        CHECK(mp_dom_compute(g, &d, &err) == 0);
        uint8_t *mark = calloc(g->nobjects / 8 + 1, 1);
        uint32_t *want = malloc(g->nroots * sizeof *want), *got = malloc(g->nroots * sizeof *got);
        bool same;
        uint32_t *top = tops_of(&d, &same);
        CHECK(same);
        for (uint32_t o = 0; o < g->nobjects; o++) {
            if (d.idom[o] == MP_NONE) {
                CHECK_EQ_U64(top[o], MP_NONE);
            } else if (d.root_of[o] != MP_NONE) {
                CHECK_EQ_U64(top[o], g->nobjects + d.root_of[o]);
            } else {
                CHECK(top[o] < g->nobjects && d.idom[top[o]] == d.super_root);
                size_t n;
                CHECK(same_roots(g, &d, o, top[o], want, got, mark, &n));
            }
        }
        free(top);
        free(want);
        free(got);
        free(mark);
        mp_dom_free(&d);
        mp_graph_free(g);
    }
}

static void test_a_million_long_chain_needs_no_recursion(void)
{
    size_t n = 1000000;
    mp_graph_builder *b = mp_gb_new("chain", "test");
    for (size_t i = 0; i < n; i++) mp_gb_object(b, 0x100000 + 16 * i, 16, MP_NONE, MP_NONE);
    for (uint32_t i = 0; i + 1 < n; i++) mp_gb_edge(b, i, i + 1);
    mp_gb_edge(b, (uint32_t)(n - 1), 0); /* a cycle back to the head */
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = 0}, 0);
    mp_graph *g = finished(b);
    CHECK(g != NULL);
    mf_error err;
    mp_dom d;
    CHECK(mp_dom_compute(g, &d, &err) == 0);
    CHECK_EQ_U64(d.idom[n - 1], n - 2);
    CHECK_EQ_U64(d.idom[0], n); /* the root node */
    CHECK_EQ_U64(d.retained[0], 16 * n);
    CHECK_EQ_U64(d.root_of[n - 1], 0);
    mp_dom_free(&d);
    mp_graph_free(g);
}

/*
 * The preorder of the plain depth-first search from S, with an explicit
 * stack: successors in list order (S: the roots in order; a root: its
 * target; an object: its edges). A lone leaf (an object with no edges
 * that one edge and no root points at, counted here from the edge lists)
 * is set aside when met and listed after every other node, the last met
 * first, when such leaves are at least a 32nd of the objects (below that
 * the search does without: SINGLE_FEW). Returns how many nodes it listed.
 */
static size_t plain_preorder(const mp_graph *g, uint32_t *order)
{
    size_t n = g->nobjects, N = n + g->nroots + 1, count = 0, top = 0, naside = 0;
    uint32_t S = (uint32_t)(N - 1);
    uint8_t *seen = calloc(N, 1);
    uint32_t *sv = malloc(N * sizeof *sv), *aside = malloc(N * sizeof *aside);
    uint64_t *sk = malloc(N * sizeof *sk);
    uint32_t *refs = calloc(n + 1, sizeof *refs); /* edges and roots to each object */
    for (size_t v = 0; v < n; v++)
        for (uint64_t e = mp_out_begin(g, v); e < mp_out_end(g, v); e++) refs[g->out.adj[e]]++;
    for (size_t r = 0; r < g->nroots; r++)
        if (g->roots[r].target != MP_NONE) refs[g->roots[r].target] += 2;
    size_t nlone = 0;
    for (size_t v = 0; v < n; v++) {
        if (refs[v] == 1 && mp_out_end(g, v) == mp_out_begin(g, v))
            nlone++;
        else
            refs[v] = 0; /* refs[v] == 1: v is a lone leaf */
    }
    if (nlone < n / 32) memset(refs, 0, n * sizeof *refs);
    seen[S] = 1;
    order[count++] = S;
    sv[top] = S, sk[top++] = 0;
    while (top) {
        uint32_t v = sv[top - 1], w;
        uint64_t k = sk[top - 1]++, deg;
        if (v == S)
            deg = g->nroots;
        else if (v >= n)
            deg = g->roots[v - n].target != MP_NONE;
        else
            deg = mp_out_end(g, v) - mp_out_begin(g, v);
        if (k >= deg) {
            top--;
            continue;
        }
        if (v == S)
            w = (uint32_t)(n + k);
        else if (v >= n)
            w = g->roots[v - n].target;
        else
            w = g->out.adj[mp_out_begin(g, v) + k];
        if (seen[w]) continue;
        seen[w] = 1;
        if (w < n && refs[w] == 1) {
            aside[naside++] = w;
            continue;
        }
        order[count++] = w;
        sv[top] = w, sk[top++] = 0;
    }
    while (naside) order[count++] = aside[--naside];
    free(seen);
    free(sv);
    free(aside);
    free(sk);
    free(refs);
    return count;
}

/*
 * Long chains and cycles over scattered objects, the shapes that the
 * search walks down one new vertex at a time: the objects in a random
 * order cut into runs, each object pointing first at the next of its run
 * (the last one back at the run's head, at object 0, or at nothing),
 * sometimes after an edge to an object met earlier on the run (a first
 * successor already numbered) or to object 0, sometimes with a random
 * edge after; some objects have no edges at all. The roots: one into the
 * middle of a run before the one at its head, one with no target, a few
 * at random. Objects in address order and edges by source, so the edges
 * keep their order.
 */
static mp_graph *chains_graph(size_t n)
{
    uint32_t *perm = malloc(n * sizeof *perm), *head = malloc(n * sizeof *head);
    uint32_t(*succ)[4] = calloc(n, sizeof *succ);
    size_t *nsucc = calloc(n, sizeof *nsucc);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rnd((uint32_t)(i + 1));
        uint32_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    size_t longest = n / 3 + 1;
    for (size_t s = 0; s < n;) {
        size_t len = 1 + rnd((uint32_t)longest), e = s + len < n ? s + len : n;
        uint32_t end_kind = rnd(3); /* 0: a cycle, 1: to object 0, 2: nothing */
        for (size_t i = s; i < e; i++) {
            uint32_t v = perm[i];
            head[v] = perm[s];
            if (rnd(12) == 0) continue; /* no edges */
            uint32_t r = rnd(10);
            if (r < 2 && i > s)
                succ[v][nsucc[v]++] = perm[s + rnd((uint32_t)(i - s))]; /* met already */
            else if (r == 2)
                succ[v][nsucc[v]++] = 0;
            if (i + 1 < e)
                succ[v][nsucc[v]++] = perm[i + 1];
            else if (end_kind == 0)
                succ[v][nsucc[v]++] = perm[s];
            else if (end_kind == 1)
                succ[v][nsucc[v]++] = 0;
            if (rnd(6) == 0) succ[v][nsucc[v]++] = rnd((uint32_t)n);
        }
        s = e;
    }
    mp_graph_builder *b = mp_gb_new("chains", "test");
    for (size_t v = 0; v < n; v++) mp_gb_object(b, 0x10000 + 64 * v, 8 + rnd(56), MP_NONE, MP_NONE);
    for (size_t v = 0; v < n; v++)
        for (size_t j = 0; j < nsucc[v]; j++) mp_gb_edge(b, (uint32_t)v, succ[v][j]);
    uint32_t mid = perm[n / 2];
    uint32_t targets[] = {mid, head[mid], MP_NONE, rnd((uint32_t)n), rnd((uint32_t)n)};
    for (size_t r = 0; r < sizeof targets / sizeof *targets; r++) {
        mp_root rt = {.kind = MP_ROOT_GLOBAL, .target = targets[r]};
        mp_gb_root(b, &rt, 0);
    }
    free(perm);
    free(head);
    free(succ);
    free(nsucc);
    return finished(b);
}

/* The search takes an object's first successor from a word of its own
 * (first[] of step 1), not from the edge list: down chains and cycles,
 * past first successors numbered already, object 0 as one, objects with
 * none, roots into the middle of a chain, the preorder is the plain
 * search's and the immediate dominators the naive ones; a long graph of
 * the same shapes has the plain search's preorder too. */
static void test_chains_and_cycles_keep_the_plain_search_order(void)
{
    for (int round = 0; round < 80; round++) {
        size_t n = round < 79 ? 2 + rnd(600) : 300000;
        mp_graph *g = chains_graph(n);
        CHECK(g);
        mp_dom d;
        mf_error err;
        CHECK(mp_dom_compute(g, &d, &err) == 0);
        uint32_t *want = malloc(d.nnodes * sizeof *want);
        size_t np = plain_preorder(g, want);
        CHECK_EQ_U64(d.npreorder, np);
        CHECK(!memcmp(d.preorder, want, np * sizeof *want));
        if (n <= 600) {
            naive_idom(g, want);
            CHECK(!memcmp(d.idom, want, d.nnodes * sizeof *want));
        }
        free(want);
        mp_dom_free(&d);
        mp_graph_free(g);
    }
}

static void *helper(void *t)
{
    mp_dom_help(t);
    return NULL;
}

/* Every array of d and want alike. */
static void check_same_dom(const mp_dom *d, const mp_dom *want)
{
    CHECK_EQ_U64(d->npreorder, want->npreorder);
    CHECK(!memcmp(d->idom, want->idom, want->nnodes * sizeof *d->idom));
    CHECK(!memcmp(d->retained, want->retained, want->nnodes * sizeof *d->retained));
    CHECK(!memcmp(d->root_of, want->root_of, want->nobjects * sizeof *d->root_of));
    CHECK(!memcmp(d->preorder, want->preorder, want->npreorder * sizeof *d->preorder));
    CHECK_EQ_U64(d->nroot_targets, want->nroot_targets);
}

/* Graphs big enough for the semidominators to be cut in many chunks, and
 * dense enough for many vertices to have predecessors numbered above them
 * (which only the computing thread can settle): the tree is the same with
 * a helper there from the start, one that comes when all is done, and
 * none. */
static void test_a_helper_thread_changes_nothing(void)
{
    for (int round = 0; round < 6; round++) {
        size_t n = 100000 + rnd(100000), m = n * (1 + (size_t)round % 3), nr = 1 + rnd(50);
        mp_graph *g = random_graph(n, m, nr);
        CHECK(g);
        mf_error err;
        mp_dom want, d;
        CHECK(mp_dom_compute(g, &want, &err) == 0);
        for (int early = 0; early < 2; early++) {
            mp_dom_team *t = mp_dom_team_new();
            CHECK(t);
            pthread_t th;
            if (early) CHECK(pthread_create(&th, NULL, helper, t) == 0);
            CHECK(mp_dom_compute_team(g, &d, t, &err) == 0);
            if (!early) CHECK(pthread_create(&th, NULL, helper, t) == 0);
            pthread_join(th, NULL);
            mp_dom_team_free(t);
            check_same_dom(&d, &want);
            mp_dom_free(&d);
        }
        mp_dom_free(&want);
        mp_graph_free(g);
    }
}

/* The same random graph (same seed) built twice: once with the
 * dominators' arrays reserved and faulted in while it is built, once
 * without. The reservation is made (two processors allowed), taken by the
 * first computation, and the tree is the same either way, also from a
 * second computation (its own arrays) and with a helper; a graph freed
 * with its reservation untaken leaks nothing. */
static void test_reserved_arrays_change_nothing(void)
{
    CHECK(setenv("MAPROOT_THREADS", "2", 1) == 0);
    for (int round = 0; round < 4; round++) {
        size_t n = 50000 + rnd(200000), m = n * (1 + (size_t)round % 3), nr = 1 + rnd(50);
        uint64_t seed = rng_state;
        mp_graph *plain = random_graph(n, m, nr);
        rng_state = seed;
        mp_dom_reserve_ahead(true);
        mp_graph *g = random_graph(n, m, nr);
        mp_graph *untaken = random_graph(1000, 3000, 4);
        mp_dom_reserve_ahead(false);
        CHECK(plain && g && untaken);
        CHECK(!plain->dom_reserve);
        CHECK(g->dom_reserve && untaken->dom_reserve);
        mf_error err;
        mp_dom want, d;
        CHECK(mp_dom_compute(plain, &want, &err) == 0);
        mp_dom_team *t = round % 2 ? mp_dom_team_new() : NULL;
        pthread_t th;
        if (t) CHECK(pthread_create(&th, NULL, helper, t) == 0);
        CHECK(mp_dom_compute_team(g, &d, t, &err) == 0);
        if (t) {
            pthread_join(th, NULL);
            mp_dom_team_free(t);
        }
        check_same_dom(&d, &want);
        mp_dom_free(&d);
        CHECK(mp_dom_compute(g, &d, &err) == 0);
        check_same_dom(&d, &want);
        mp_dom_free(&d);
        mp_dom_free(&want);
        mp_graph_free(plain);
        mp_graph_free(g);
        mp_graph_free(untaken);
    }
    CHECK(unsetenv("MAPROOT_THREADS") == 0);
}

/* A graph given the way a snapshot gives it: the objects announced, then
 * each object's edges in order (mp_gb_edges_begin/of), the roots after
 * them: nroots roots kept, every fourth an iterator, given after a stack
 * word of the same slot, which the builder drops (iterators hold the
 * words they were read from). */
static mp_graph *direct_random_graph(size_t n, size_t nroots)
{
    mp_graph_builder *b = mp_gb_new("direct", "test");
    uint64_t *addr = malloc(n * sizeof *addr), *size = malloc(n * sizeof *size);
    uint32_t *type = malloc(n * sizeof *type);
    mp_gb_edges_begin(b, n);
    for (size_t v = 0; v < n; v++) {
        addr[v] = 0x10000 + 64 * (uint64_t)v;
        size[v] = 8 + rnd(56);
        type[v] = MP_NONE;
        uint64_t tg[4];
        size_t k = rnd(5);
        for (size_t j = 0; j < k; j++) tg[j] = rnd((uint32_t)n);
        mp_gb_edges_of(b, (uint32_t)v, k, tg, NULL);
    }
    for (size_t r = 0; r < nroots; r++) {
        bool held = r % 4 == 0; /* a word and its iterator: one root kept */
        mp_root rt = {.kind = held ? MP_ROOT_STACK : MP_ROOT_GLOBAL,
                      .target = rnd((uint32_t)n),
                      .thread = 1,
                      .slot = held ? 0x1000 + 8 * r : 0};
        mp_gb_root(b, &rt, 0);
        if (held) {
            rt.kind = MP_ROOT_ITERATOR;
            rt.target = rnd((uint32_t)n);
            mp_gb_root(b, &rt, 0);
        }
    }
    mp_gb_adopt_objects(b, addr, size, type, n);
    return finished(b);
}

/* A graph given the way a snapshot gives it has its dominators' arrays
 * reserved as soon as the objects are announced, before any root is known,
 * and fitted at the end to the roots kept (iterators' stack words
 * dropped): the reservation is for exactly the nodes the computation
 * counts, so it is taken, and the tree is the one computed without it.
 * Fitting by hand grows (the new elements zero), shrinks, or starts one. */
static void test_a_reservation_made_before_the_roots_fits_them(void)
{
    CHECK(setenv("MAPROOT_THREADS", "2", 1) == 0);
    for (int round = 0; round < 3; round++) {
        size_t n = 50000 + rnd(100000), nr = 4 + rnd(4000);
        uint64_t seed = rng_state;
        mp_graph *plain = direct_random_graph(n, nr);
        rng_state = seed;
        mp_dom_reserve_ahead(true);
        mp_graph *g = direct_random_graph(n, nr);
        mp_dom_reserve_ahead(false);
        CHECK(plain && g);
        CHECK(!plain->dom_reserve);
        CHECK_EQ_U64(g->nroots, nr); /* each held word dropped for its iterator */
        CHECK_EQ_U64(mp_dom_reserve_nodes(g->dom_reserve), n + g->nroots + 1);
        mf_error err;
        mp_dom want, d;
        CHECK(mp_dom_compute(plain, &want, &err) == 0);
        CHECK(mp_dom_compute(g, &d, &err) == 0);
        CHECK_EQ_U64(mp_dom_reserve_nodes(g->dom_reserve), 0); /* taken */
        check_same_dom(&d, &want);
        mp_dom_free(&d);
        mp_dom_free(&want);
        mp_graph_free(plain);
        mp_graph_free(g);
    }
    mp_dom_reserve_ahead(true);
    mp_dom_reserve *r = mp_dom_reserve_start(100000, 0);
    CHECK_EQ_U64(mp_dom_reserve_nodes(r), 100001);
    r = mp_dom_reserve_fit(r, 100000, 5000);
    CHECK_EQ_U64(mp_dom_reserve_nodes(r), 105001);
    r = mp_dom_reserve_fit(r, 90000, 1);
    CHECK_EQ_U64(mp_dom_reserve_nodes(r), 90002);
    mp_dom_reserve_free(r);
    r = mp_dom_reserve_fit(NULL, 1000, 2);
    CHECK_EQ_U64(mp_dom_reserve_nodes(r), 1003);
    mp_dom_reserve_free(r);
    mp_dom_reserve_ahead(false);
    CHECK_EQ_U64(mp_dom_reserve_nodes(mp_dom_reserve_fit(NULL, 1000, 2)), 0); /* not asked */
    CHECK(unsetenv("MAPROOT_THREADS") == 0);
}

/* The deep bit of every node is whether it retains more than its own size
 * (a root's and S's are 0), as mp_dom_deep reads it from the sizes when
 * the tree has no bitmap (a borrowed one): on random graphs, and where it
 * differs from "dominates another node" -- an object dominating only an
 * object of size 0 retains no more than itself. */
static void test_deep_bits_say_who_retains_more_than_itself(void)
{
    for (int round = 0; round < 100; round++) {
        size_t n = 1 + rnd(60), m = rnd((uint32_t)(2 * n + 1)), nr = 1 + rnd(4);
        mp_graph *g = random_graph(n, m, nr);
        CHECK(g);
        mp_dom d;
        mf_error err;
        CHECK(mp_dom_compute(g, &d, &err) == 0);
        CHECK(d.deep);
        uint8_t *bits = d.deep;
        for (uint32_t v = 0; v < d.nnodes; v++) {
            uint64_t own = v < g->nobjects ? mp_obj_size(g, v) : 0;
            bool want = d.retained[v] > own;
            CHECK_EQ_U64(mp_dom_deep(g, &d, v), want);
            d.deep = NULL; /* read from the sizes */
            CHECK_EQ_U64(mp_dom_deep(g, &d, v), want);
            d.deep = bits;
        }
        mp_dom_free(&d);
        mp_graph_free(g);
    }
    /* g1 -> A -> B (size 0), g2 -> C -> D */
    mp_graph_builder *b = mp_gb_new("deep", "test");
    uint32_t A = mp_gb_object(b, 0x1000, 16, MP_NONE, MP_NONE);
    uint32_t B = mp_gb_object(b, 0x2000, 0, MP_NONE, MP_NONE);
    uint32_t C = mp_gb_object(b, 0x3000, 16, MP_NONE, MP_NONE);
    uint32_t D = mp_gb_object(b, 0x4000, 8, MP_NONE, MP_NONE);
    mp_gb_edge(b, A, B);
    mp_gb_edge(b, C, D);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = A}, 0);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = C}, 0);
    mp_graph *g = finished(b);
    CHECK(g != NULL);
    mf_error err;
    mp_dom d;
    CHECK(mp_dom_compute(g, &d, &err) == 0);
    CHECK_EQ_U64(d.idom[B], A);
    CHECK_EQ_U64(d.idom[D], C);
    CHECK(!mp_dom_deep(g, &d, A)); /* dominates B, which retains nothing */
    CHECK(!mp_dom_deep(g, &d, B));
    CHECK(mp_dom_deep(g, &d, C));
    CHECK(!mp_dom_deep(g, &d, D));
    uint32_t n = (uint32_t)g->nobjects;
    CHECK(mp_dom_deep(g, &d, n) && mp_dom_deep(g, &d, n + 1)); /* the roots */
    CHECK(mp_dom_deep(g, &d, d.super_root));
    mp_dom_free(&d);
    mp_graph_free(g);
}

/* Single-root owners filled again after the array was lent out: from idom
 * alone, in object order, whatever the preorder says. The chain's numbers
 * fall towards its root, so the first object filled lies deepest and walks
 * up the whole chain (no stack, no recursion); two roots share X and so Y
 * below it; Z is unreachable. */
static void test_root_of_filled_again_from_idom_alone(void)
{
    size_t n = 200000;
    mp_graph_builder *b = mp_gb_new("falling", "test");
    for (size_t i = 0; i < n + 3; i++) mp_gb_object(b, 0x100000 + 16 * i, 16, MP_NONE, MP_NONE);
    uint32_t X = (uint32_t)n, Y = X + 1, Z = X + 2;
    for (uint32_t i = 0; i + 1 < n; i++) mp_gb_edge(b, i + 1, i);
    mp_gb_edge(b, X, Y);
    mp_gb_edge(b, Z, 0); /* garbage pointing into the chain */
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = (uint32_t)(n - 1)}, 0);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_GLOBAL, .target = X}, 0);
    mp_gb_root(b, &(mp_root){.kind = MP_ROOT_STACK, .target = X}, 0);
    mp_graph *g = finished(b);
    CHECK(g != NULL);
    mf_error err;
    mp_dom d;
    CHECK(mp_dom_compute(g, &d, &err) == 0);
    for (int again = 0; again < 2; again++) {
        CHECK_EQ_U64(d.root_of[0], 0);
        CHECK_EQ_U64(d.root_of[n / 2], 0);
        CHECK_EQ_U64(d.root_of[n - 1], 0);
        CHECK_EQ_U64(d.root_of[X], MP_NONE);
        CHECK_EQ_U64(d.root_of[Y], MP_NONE);
        CHECK_EQ_U64(d.root_of[Z], MP_NONE);
        /* lent as scratch and scribbled on; the preorder hidden */
        memset(d.root_of, 0x55, g->nobjects * sizeof *d.root_of);
        size_t np = d.npreorder;
        d.npreorder = 0;
        mp_dom_fill_root_of(&d);
        d.npreorder = np;
    }
    mp_dom_free(&d);
    mp_graph_free(g);
}

int main(void)
{
    TEST(test_idom_matches_naive_on_random_graphs);
    TEST(test_roots_reaching_a_shared_object_are_all_listed);
    TEST(test_an_objects_roots_are_its_tops);
    TEST(test_random_objects_share_their_tops_roots);
    TEST(test_a_million_long_chain_needs_no_recursion);
    TEST(test_chains_and_cycles_keep_the_plain_search_order);
    TEST(test_a_helper_thread_changes_nothing);
    TEST(test_reserved_arrays_change_nothing);
    TEST(test_a_reservation_made_before_the_roots_fits_them);
    TEST(test_deep_bits_say_who_retains_more_than_itself);
    TEST(test_root_of_filled_again_from_idom_alone);
    TEST_EXIT();
}
