/*
 * src/analyze/dominators.h -- the dominator tree of the heap and retained sizes.
 *
 * The graph analysed is the heap graph plus one node per root and a virtual
 * super-root S: S -> every root -> its target -> heap edges. Node numbers:
 * objects 0..n-1, root r is n + r, S is n + nroots. An object x dominates y
 * when every path from S to y passes through x; a root node dominates the
 * objects only it keeps alive. An object whose immediate dominator is S is
 * kept alive by several roots and by no single one of them
 * (mp_dom_roots_reaching lists them).
 *
 * Computed with the Semi-NCA algorithm (Georgiadis, Tarjan and Werneck:
 * Lengauer-Tarjan's semidominators with path compression, then each
 * immediate dominator as a nearest common ancestor), with the DFS stack
 * kept in the parent array and the compression done by pointer reversal:
 * nothing recurses, whatever the depth.
 * Retained size of a node: the bytes of the objects it dominates, itself
 * included (what would be freed if it were gone).
 *
 * Memory: 20 bytes per node while computing, 20 per node kept (idom,
 * retained, single-root owner, the preorder) and a bit (deep). Errors: -1
 * with err set when out of memory.
 */
#ifndef MP_DOMINATORS_H
#define MP_DOMINATORS_H

#include "analyze/graph.h"

typedef struct mp_dom {
    size_t nobjects, nroots, nnodes; /* nnodes = nobjects + nroots + 1 */
    uint32_t super_root;             /* = nobjects + nroots */
    uint32_t *idom;     /* per node: immediate dominator node; MP_NONE unreachable (and S) */
    uint64_t *retained; /* per node; 0 unreachable */
    uint32_t *root_of;  /* per object: the single root (index into g->roots) whose node
                           dominates it, MP_NONE if several roots share it or unreachable */
    uint32_t *preorder; /* the reachable nodes, S first, every node after its idom */
    size_t npreorder;
    uint8_t *deep; /* bitmap over nodes: the node retains more than its own
                      size (a root's and S's is 0), i.e. it dominates a node
                      that retains bytes; a bit where the size would cost a
                      scattered read more. NULL when the tree is borrowed:
                      mp_dom_deep then reads the sizes. */
    uint64_t *root_targets; /* (target << 32 | root), sorted: the roots of each object */
    size_t nroot_targets;
    bool borrowed; /* idom, retained, root_of and preorder are the graph's
                      (g->derived): not freed. root_of lies in memory its
                      index's reader computed it in, so it may still be
                      lent as scratch (findings.h): the writes stay in this
                      process. */
} mp_dom;

/* Whether node v retains more than its own size (mp_dom.deep). */
static inline bool mp_dom_deep(const mp_graph *g, const mp_dom *d, uint32_t v)
{
    if (d->deep) return d->deep[v >> 3] & (1u << (v & 7));
    return d->retained[v] > (v < d->nobjects ? mp_obj_size(g, v) : 0);
}

/* The dominator tree of g: the one its index holds (g->derived, borrowed)
 * when it holds one, else computed. */
int mp_dom_compute(const mp_graph *g, mp_dom *out, mf_error *err);

/*
 * A second thread lending a hand. The search that numbers the nodes is one
 * thread's work, but a part of the semidominators and the single-root
 * owners can be done elsewhere: mp_dom_compute_team computes what
 * mp_dom_compute does (the same result, whoever helped), and a thread
 * calling mp_dom_help with the same team, at any time (before, during or
 * after), takes a share of that work, returning once none is left. The
 * computing thread waits for the helper only to finish a share it took (a
 * few thousand vertices, or the owners), never for it to come; so a
 * helper busy with something else first costs nothing but its help.
 *
 * Threads: one thread computes, at most one helps, each team serves one
 * computation; free it after both have returned. mp_dom_team_new: NULL
 * when out of memory; a NULL team computes alone (mp_dom_compute) and
 * helps with nothing.
 */
typedef struct mp_dom_team mp_dom_team;
mp_dom_team *mp_dom_team_new(void);
void mp_dom_team_free(mp_dom_team *t);
int mp_dom_compute_team(const mp_graph *g, mp_dom *out, mp_dom_team *team, mf_error *err);
void mp_dom_help(mp_dom_team *t);
void mp_dom_free(mp_dom *d);

/*
 * The computation's working arrays, reserved ahead. Their first writes
 * fault fresh pages in (the kernel zeroing each one), which on a virtual
 * machine is a good part of the computation's time, all of it on the one
 * thread that numbers the nodes. While the graph is still being built
 * (mostly one thread's work) another processor is idle: the arrays can be
 * allocated then and their pages faulted in there, off the path.
 *
 * mp_dom_reserve_ahead(true) asks for that (the analysis does, once, before
 * it loads its graph; the default is off, as a command that computes no
 * dominators would only pay for the memory). The graph builder then calls
 * mp_dom_reserve_start with the graph's counts, and keeps the reservation
 * in g->dom_reserve; NULL when not asked for, with fewer than two
 * processors, or out of memory (the computation then allocates its own).
 * mp_dom_compute takes the arrays of a reservation of the same counts, as
 * zeroed as its own; no result changes. mp_dom_reserve_free stops the
 * faulting and frees what was not taken (NULL is fine).
 *
 * A builder that learns the object count long before the roots (a snapshot
 * gives its objects first, its roots after the edges) starts the
 * reservation then, with no roots, so that the faulting has the reading's
 * idle processor time, and calls mp_dom_reserve_fit with the final counts:
 * it returns the reservation made exactly that size (the pages faulted in
 * are kept, the new elements are zero), a new one when r is NULL (as
 * mp_dom_reserve_start), or NULL, r freed, when memory is lacking.
 *
 * Threads: the setting is read and written by the thread that loads the
 * graph; a reservation belongs to its graph's threads, one at a time.
 */
typedef struct mp_dom_reserve mp_dom_reserve;
void mp_dom_reserve_ahead(bool on);
mp_dom_reserve *mp_dom_reserve_start(size_t nobjects, size_t nroots);
mp_dom_reserve *mp_dom_reserve_fit(mp_dom_reserve *r, size_t nobjects, size_t nroots);
void mp_dom_reserve_free(mp_dom_reserve *r);
/* The nodes r's arrays are for; 0 once taken (or for NULL). */
size_t mp_dom_reserve_nodes(const mp_dom_reserve *r);

static inline bool mp_dom_is_object(const mp_dom *d, uint32_t node)
{
    return node < d->nobjects;
}
static inline bool mp_dom_is_root(const mp_dom *d, uint32_t node)
{
    return node >= d->nobjects && node < d->super_root;
}

/* The index in d->root_targets of the first root pointing at object o
 * (d->nroot_targets or one of another object when none does); O(log). */
size_t mp_dom_first_root_target(const mp_dom *d, uint32_t o);

/*
 * The roots that reach object o (indices into g->roots, increasing, at
 * most max written; the return value is how many there are). A reverse
 * search over predecessors that stops at objects owned by a single root, so
 * it is short in practice. `mark` is caller scratch: a bitmap of
 * g->nobjects bits, all clear, which the call leaves clear (it clears
 * what it marked), so one serves any number of calls at an eighth of a
 * byte per object.
 */
size_t mp_dom_roots_reaching(const mp_graph *g, const mp_dom *d, uint32_t o, uint32_t *roots,
                             size_t max, uint8_t *mark);

/* Fills d->root_of from idom, as mp_dom_compute does: for a caller that
 * lent the array out as scratch and wants it back. Reads idom alone (not
 * the preorder), in object order. */
void mp_dom_fill_root_of(mp_dom *d);

/*
 * The objects several roots reach, grouped by the object S dominates
 * directly above each (its top: every path from S to the object passes
 * through it, so the roots that reach the object are the roots that reach
 * its top, and only tops need their reaching roots worked out).
 *
 * mp_dom_fill_top_of overwrites d->root_of (lent, as mp_dom_fill_root_of
 * takes it back) with, per object: MP_DOM_TOP for a top; the top's number
 * for an object under a top; the node number (nobjects + r) of root r for
 * an object root r owns alone; MP_NONE for an unreachable one. One pass
 * in object order, each object walked past at most twice. The caller may
 * then write its own values over the tops' slots: mp_dom_root_of_from_tops
 * fills root_of back from what is left (a root's node number reads as that
 * root, every other value as none), in one streaming pass.
 */
#define MP_DOM_TOP (MP_NONE - 2)
void mp_dom_fill_top_of(mp_dom *d);
void mp_dom_root_of_from_tops(mp_dom *d);

#endif
