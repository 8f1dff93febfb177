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
 * set, *out NULL. With a limit, the memory the analysis of what was read so
 * far will need is estimated as objects, edges and entries arrive, and the
 * load stops as soon as it exceeds lim->max_memory ("needs ~N ...; raise
 * --max-memory").
 */
#ifndef MP_LOAD_GCSTACK_H
#define MP_LOAD_GCSTACK_H

#include "analyze/graph.h"
#include "format/infile.h"

#include <stdio.h>

int mp_load_gcstack(const char *path, FILE *progress, mp_graph **out, mf_error *err);
/* The same from an input already open (its first bytes may have been
 * peeked), within lim (NULL: no limit); the input stays the caller's. */
int mp_load_gcstack_in(mf_in *in, const mf_limits *lim, FILE *progress, mp_graph **out,
                       mf_error *err);

#endif
