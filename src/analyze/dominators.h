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
 * retained, single-root owner, the preorder). Errors: -1 with err set when
 * out of memory.
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
    uint64_t *root_targets; /* (target << 32 | root), sorted: the roots of each object */
    size_t nroot_targets;
    bool borrowed; /* idom, retained, root_of and preorder are the graph's
                      (g->derived): not freed. They lie in a private mapping
                      of its index, so root_of may still be lent as scratch
                      (findings.h): the writes stay in this process. */
} mp_dom;

/* The dominator tree of g: the one its index holds (g->derived, borrowed)
 * when it holds one, else computed. */
int mp_dom_compute(const mp_graph *g, mp_dom *out, mf_error *err);
void mp_dom_free(mp_dom *d);

static inline bool mp_dom_is_object(const mp_dom *d, uint32_t node)
{
    return node < d->nobjects;
}
static inline bool mp_dom_is_root(const mp_dom *d, uint32_t node)
{
    return node >= d->nobjects && node < d->super_root;
}

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

/* Fills d->root_of from idom over the preorder, as mp_dom_compute does:
 * for a caller that lent the array out as scratch and wants it back. */
void mp_dom_fill_root_of(mp_dom *d);

#endif
