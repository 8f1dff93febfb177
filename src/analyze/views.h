/*
 * src/analyze/views.h -- the whole heap seen beyond its maps: objects by
 * type (`maproot analyze --by type`) and the largest dominator subtrees
 * (`maproot analyze --dominators`), each in text and JSON.
 *
 * Definitions (bytes as the input sizes objects; only objects some root
 * reaches count; a type is a type name: records of one name, as two
 * modules may each declare, are one type, as for `maproot path --type`):
 *   - shallow bytes of a type: the sizes of its objects;
 *   - retained bytes of a type: the bytes of every object that some object
 *     of the type dominates, each counted once -- the dominator subtrees of
 *     the type's objects that no other object of the type dominates. Were
 *     all objects of the type gone, at least this much would be freed (an
 *     object only several of them keep alive together is not counted:
 *     Eclipse MAT's "minimum retained size" makes the same choice);
 *   - a dominator subtree: an object and everything it dominates (what
 *     freeing it would free); the top ones are those whose immediate
 *     dominator is a root or several roots at once (no single object).
 *
 * Memory: the histogram needs 12 bytes per node while it works, the
 * dominator view 4; results are small. Errors: -1 with err set when out of
 * memory.
 */
#ifndef MP_VIEWS_H
#define MP_VIEWS_H

#include "analyze/dominators.h"
#include "analyze/findings.h"
#include "analyze/graph.h"
#include "analyze/paths.h"

#include <jansson.h>
#include <stdio.h>

/* The first lines every view prints: the program and the moment, the
 * heap's reachable bytes and objects, the file. */
void mp_view_header(FILE *out, const mp_graph *g, uint64_t reachable_bytes,
                    uint64_t reachable_objects, double seconds);
/* The same facts as members of a JSON object (snapshot, format, program,
 * pid, gc_cycle, heap {objects, bytes, reachable_objects, reachable_bytes,
 * edges}). */
void mp_view_json_header(json_t *j, const mp_graph *g, uint64_t reachable_bytes,
                         uint64_t reachable_objects);
/* A chain (findings.h steps) as a JSON array of steps {kind, text, and
 * address and type for objects}. */
json_t *mp_chain_json(const mp_graph *g, const mp_step *s, size_t n);
/* Sets "chain_steps" (the whole chain's steps) and "chain_elided" (how
 * many of them the n steps shown leave out) in obj, beside its "chain":
 * what a script needs to know that a chain is not shown whole. Returns 0,
 * -1 when out of memory. */
int mp_chain_length_json(json_t *obj, const mp_step *s, size_t n);
/* A root {kind, name, text}; an object {address, type, size, and map for a
 * map header}. */
json_t *mp_root_json(const mp_graph *g, uint32_t root);
json_t *mp_object_json(const mp_graph *g, uint32_t o);
/* A count with thousands separators ("1,234,567"). */
void mp_format_count(char *buf, size_t size, uint64_t v);

/* ------------------------------------------------------ histogram --- */

typedef struct mp_type_row {
    uint32_t type; /* index into g->types (the first record of its name);
                      MP_NONE: objects without a type */
    uint64_t count, shallow, retained;
} mp_type_row;

typedef struct mp_histogram {
    mp_type_row *rows; /* types with reachable objects: by retained, then
                          shallow bytes, then name (largest first) */
    size_t nrows;
    uint64_t objects, bytes; /* reachable */
} mp_histogram;

int mp_histogram_compute(const mp_graph *g, const mp_dom *d, mp_histogram *out, mf_error *err);
void mp_histogram_free(mp_histogram *h);
/* top: rows shown (0 all). */
void mp_histogram_print_text(FILE *out, const mp_graph *g, const mp_histogram *h, size_t top);
json_t *mp_histogram_json(const mp_graph *g, const mp_histogram *h, size_t top);

/* ------------------------------------------------- dominator tree --- */

typedef struct mp_domrow {
    uint32_t object;
    uint32_t parent;            /* row of its immediate dominator, MP_NONE for a top one */
    uint32_t depth;             /* 0 for a top one */
    uint64_t retained, objects; /* its subtree: bytes, objects */
} mp_domrow;

typedef struct mp_domtree {
    mp_domrow *rows; /* depth-first: each top subtree, then its rows below it */
    size_t nrows;
    size_t ntop, ntop_all; /* top subtrees shown, and in all */
    uint64_t heap_bytes, heap_objects;
    double min_share; /* of the heap a child needs to be shown */
} mp_domtree;

/* The `top` largest top subtrees (0 all), each with the subtrees below it
 * that hold at least min_share of the heap (a fraction, e.g. 0.01), the
 * `children` largest of them per row, down to `depth` levels below. One
 * pass over the dominator tree per level. */
int mp_domtree_compute(const mp_graph *g, const mp_dom *d, size_t top, double min_share,
                       size_t children, unsigned depth, mp_domtree *out, mf_error *err);
void mp_domtree_free(mp_domtree *t);
/* p: paths from the roots (for each top subtree's chain). */
void mp_domtree_print_text(FILE *out, const mp_graph *g, const mp_dom *d, const mp_paths *p,
                           const mp_domtree *t);
json_t *mp_domtree_json(const mp_graph *g, const mp_dom *d, const mp_paths *p, const mp_domtree *t);

#endif
