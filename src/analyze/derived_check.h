/*
 * src/analyze/derived_check.h -- checks of the analysis results an index
 * file keeps beside a graph (paths from the roots, the dominator tree,
 * retained sizes: mp_graph_derived), so that a damaged index whose
 * checksums still hold can make an analysis neither read out of bounds nor
 * loop, nor show a tree that is not one.
 *
 * Paths: every parent, root and step (via) in range; a path's parent has
 * the same root; an object without a parent is its root's target; a step
 * that names an out edge names one from the parent to the object; following
 * parents always ends at a root target (no cycle).
 * Dominator tree: every idom in range; the super-root first in the
 * preorder, every other reachable node once and after its idom (so
 * following idoms always reaches the super-root); a root node's idom is
 * the super-root; root_of agrees with the tree; retained sizes are 0
 * exactly where a node is unreachable, at least the node's own size, at
 * most its idom's, the super-root's is the bytes of the reachable objects,
 * and each node's is its own size plus its children's (checked at once for
 * all nodes as a sum with random weights modulo the prime 2^61-1: a wrong
 * sum passes with a chance below 2^-60). With both: the same objects are
 * reachable.
 *
 * Linear in objects, nodes and roots; scratch: 2 bits per object and 1 per
 * node. No shared state.
 */
#ifndef MP_DERIVED_CHECK_H
#define MP_DERIVED_CHECK_H

#include "analyze/graph.h"

#include <stddef.h>

/* Check dv's paths (parent, root, via) and its tree (idom, retained,
 * root_of, preorder) against g, whose own arrays are sound (graph_index.c
 * checked them); the tree's check also compares reachability with the
 * paths when dv has them. The paths' check sets dv->nreached and
 * dv->reached_bytes. Return NULL when sound, else what is wrong (in buf,
 * size bytes). release (may be NULL) is told of arrays, or parts of them,
 * a check has done with before its end, so that a caller whose arrays lie
 * in a file mapping can give their pages back. */
typedef void (*mp_release_fn)(void *ud, const void *p, uint64_t bytes);
const char *mp_derived_check_paths(const mp_graph *g, mp_graph_derived *dv, char *buf, size_t size,
                                   mp_release_fn release, void *ud);
const char *mp_derived_check_tree(const mp_graph *g, const mp_graph_derived *dv, char *buf,
                                  size_t size, mp_release_fn release, void *ud);

#endif
