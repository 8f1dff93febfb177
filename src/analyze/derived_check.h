/*
 * src/analyze/derived_check.h -- checks of the analysis results an index
 * file keeps beside a graph (paths from the roots, the dominator tree:
 * mp_graph_derived), so that a damaged index whose
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
 * the super-root. With the paths: the same objects are reachable. The
 * retained sizes and single roots are not read from the index but
 * computed from the sound tree (mp_derived_tree): being sums and copies
 * along it, they cannot disagree with it.
 *
 * Linear in objects, nodes and roots; scratch: 2 bits per object and 1 per
 * node. No shared state: the paths' check and the tree's may run at once.
 */
#ifndef MP_DERIVED_CHECK_H
#define MP_DERIVED_CHECK_H

#include "analyze/graph.h"

#include <stddef.h>

/* Check dv's paths (parent, root, via) against g, whose own arrays are
 * sound (graph_index.c checked them). Sets dv->nreached and
 * dv->reached_bytes. Returns NULL when sound, else what is wrong (in buf,
 * size bytes). release (may be NULL) is told of arrays, or parts of them,
 * a check has done with before its end, so that a caller whose arrays lie
 * in a file mapping can give their pages back. */
typedef void (*mp_release_fn)(void *ud, const void *p, uint64_t bytes);
const char *mp_derived_check_paths(const mp_graph *g, mp_graph_derived *dv, char *buf, size_t size,
                                   mp_release_fn release, void *ud);

/* Checks dv's tree (idom, preorder; with dv->root, reachability against
 * the paths) against g as above and, when it is sound, fills retained (a
 * value per node) and root_of (per object) from it, as mp_dom_compute
 * does. Reads dv->root but writes nothing of dv, so that it may run while
 * the paths are checked on another thread. NULL when sound. */
const char *mp_derived_tree(const mp_graph *g, const mp_graph_derived *dv, uint64_t *retained,
                            uint32_t *root_of, char *buf, size_t size, mp_release_fn release,
                            void *ud);

#endif
