/*
 * src/analyze/load_gcstack.h -- loads a gcstack root snapshot into the heap
 * graph (the first loader of src/analyze/graph.h).
 *
 * One streaming pass of the gcstack reader (src/format/gcstack_reader.h): objects,
 * edges, roots, maps, buckets, entries and sampled allocation stacks go
 * into a graph builder as they are read; the reader's tables are translated
 * to the graph's format-neutral kinds. The reader has already refused
 * contradictory input (its message names the file and record).
 *
 * Progress: when `progress` is not NULL (the CLI passes stderr only when it
 * is a terminal), a line "loading FILE: N of ~M objects" is rewritten there
 * as objects arrive and erased at the end.
 *
 * Memory: *out is owned by the caller (mp_graph_free). Errors: -1 with err
 * set, *out NULL.
 */
#ifndef MP_LOAD_GCSTACK_H
#define MP_LOAD_GCSTACK_H

#include "analyze/graph.h"

#include <stdio.h>

int mp_load_gcstack(const char *path, FILE *progress, mp_graph **out, mf_error *err);

#endif
