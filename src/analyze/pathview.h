/*
 * src/analyze/pathview.h -- `maproot path`: the paths from the GC roots to
 * one object or to the objects of a type (Eclipse MAT's "paths to GC
 * roots"), in text, JSON and Graphviz.
 *
 * One object: its path is the one every report uses (paths.h: from the
 * root of highest priority that reaches it, the shortest from there); with
 * `all`, every root that reaches the object, each with its shortest path
 * to it, shortest first (a reverse breadth-first search from the object).
 *
 * A type (by name): each live object's path (as above) is reduced to its
 * shape -- the root it starts from and the types along it, a run of one
 * type (a linked list's nodes) counting as one step -- and the objects are
 * grouped by shape: shortest first, then the most objects; each group
 * shows its shortest path as an example. With `all`, every object's path
 * instead of the groups, shortest first.
 *
 * Memory: 12 bytes per object while grouping (or 8 for a reverse search),
 * besides the graph and paths. Errors: -1 with err set when out of memory.
 */
#ifndef MP_PATHVIEW_H
#define MP_PATHVIEW_H

#include "analyze/findings.h"
#include "analyze/graph.h"
#include "analyze/paths.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct mp_pathrow {
    uint32_t object;  /* where the path leads (for a group: its example) */
    uint32_t root;    /* the root it starts from (index into g->roots) */
    uint32_t length;  /* objects on it, from the root's target to the object */
    uint64_t objects; /* objects the row stands for (a group's; else 1) */
    uint64_t bytes;   /* and their bytes */
    uint32_t *objs;   /* the path's objects, root's target first, when it is
                         not the one in paths (every root's, with `all`) */
} mp_pathrow;

typedef struct mp_pathview {
    bool by_type;
    uint32_t object;  /* one object: it */
    const char *type; /* a type: its name (the caller's string) */
    bool all;
    uint64_t nobjects;    /* the objects asked about that a root reaches */
    uint64_t bytes;       /* and their bytes */
    uint64_t unreachable; /* those no root reaches */
    mp_pathrow *rows;     /* shortest first */
    size_t nrows, nrows_all;
    size_t steps; /* steps of a chain shown (a longer one keeps its
                     ends): MP_CHAIN_STEPS when 0 (the caller sets
                     it after mp_pathview_*), SIZE_MAX every step */
} mp_pathview;

/* top: rows kept (0 all). */
int mp_pathview_object(const mp_graph *g, const mp_paths *p, uint32_t o, bool all, size_t top,
                       mp_pathview *out, mf_error *err);
int mp_pathview_type(const mp_graph *g, const mp_paths *p, const char *type, bool all, size_t top,
                     mp_pathview *out, mf_error *err);
void mp_pathview_free(mp_pathview *v);

/* The chain of row r as v shows it, in *buf (grown as needed, *cap
 * steps; the caller frees it); returns its steps, 0 when out of memory. */
size_t mp_pathview_chain(const mp_graph *g, const mp_paths *p, const mp_pathview *v,
                         const mp_pathrow *r, mp_step **buf, size_t *cap);

void mp_pathview_print_text(FILE *out, const mp_graph *g, const mp_paths *p, const mp_pathview *v);
json_t *mp_pathview_json(const mp_graph *g, const mp_paths *p, const mp_pathview *v);
void mp_pathview_print_dot(FILE *out, const mp_graph *g, const mp_paths *p, const mp_pathview *v);

#endif
