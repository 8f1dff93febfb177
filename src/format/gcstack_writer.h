/*
 * src/format/gcstack_writer.h -- the streaming writer of root snapshots.
 *
 * mf_gsw_* write one snapshot as the collector walks the heap: tables
 * (strings, types, symbols, stacks) are interned and written before their
 * first use, objects and edges are packed into columnar batches, and the
 * stream is gzipped and written to its output (outfile.h: a temporary file
 * for a regular file) as it goes; mf_gsw_finish() writes the footer and
 * commits the output, mf_gsw_abort() abandons it. The writer never holds more than one batch of
 * each kind. The caller must respect the record order of the format: header,
 * all objects (increasing addresses), edges of every object in the same order,
 * then roots, maps with their buckets and samples in any order, finish.
 *
 * Memory: the writer owns copies of what it is given. Threads: a writer is
 * used by one thread.
 */
#ifndef MF_GCSTACK_WRITER_H
#define MF_GCSTACK_WRITER_H

#include "format/gcstack.h"
#include "format/outfile.h"

typedef struct mf_gs_writer mf_gs_writer;

/* The content bytes at which an edge or bucket batch is written as a record
 * (a record holds at most this plus one bucket's entries, far below
 * MF_GS_MAX_RECORD); the edges of an object with more than that go on over
 * several EdgeBatch records. */
#define MF_GSW_BATCH_BYTES ((size_t)1 << 20)

/* Opens path (outfile.h) and writes the header. level is the
 * gzip level: 0 stores the content in uncompressed gzip blocks (the fastest
 * real gzip file), 1 uses zlib's fast run-length strategy, 2-9 deflate's
 * default one; MF_GS_RAW writes the content without gzip framing. NULL with
 * *err set on failure. */
#define MF_GS_RAW (-1)
mf_gs_writer *mf_gsw_open(const char *path, int level, const mf_gs_header *h, mf_error *err);
/* The same on an output already open; the writer owns it from here on (also
 * when this fails). */
mf_gs_writer *mf_gsw_open_out(mf_out *out, int level, const mf_gs_header *h, mf_error *err);

/*
 * Building. Functions returning an index return UINT32_MAX on failure;
 * functions returning int return 0 or -1. Failures are sticky (out of memory,
 * a write error, a call out of order): mf_gsw_finish reports the first.
 */

/* Interns a string (NULL is ""; one longer than MF_GS_MAX_STRING is stored
 * cut to it); returns its string index. */
uint32_t mf_gsw_string(mf_gs_writer *w, const char *s);
/* Appends a type (strings copied); returns its index. Types are not
 * interned: the caller keeps its own map from its type descriptors. A type
 * (or a stack, below) too big for one record (millions of pointer fields)
 * fails the write: it is never written for a reader to refuse. */
uint32_t mf_gsw_type(mf_gs_writer *w, const mf_gs_type *t);
/* Appends a symbol; returns its index. */
uint32_t mf_gsw_symbol(mf_gs_writer *w, const mf_gs_symbol *s);
/* Appends a stack of symbol indices, innermost first; returns its index. */
uint32_t mf_gsw_stack(mf_gs_writer *w, const uint32_t *symbols, size_t n);

/* The next live object: addresses strictly increasing, multiples of the
 * granule; type is a type index + 1 (0 none). */
int mf_gsw_object(mf_gs_writer *w, uint64_t address, uint64_t size, uint32_t type);
/* The edges of the next object, at `address` (objects in the order they were
 * given, each once); the first call ends the object section. Offsets
 * increasing; targets are pointer values (the file keeps the granule each
 * lies in, which is in the same object: object starts are the best values).
 * n may be 0. */
int mf_gsw_edges(mf_gs_writer *w, uint64_t address, size_t n, const uint64_t *offsets,
                 const uint64_t *targets);
/* The same in pieces, for objects with very many edges: begin, add (any
 * number of times; offsets keep increasing across calls), end. Nothing else
 * may be called between begin and end. Any number of edges may be given:
 * they are split over as many records as they need. */
int mf_gsw_edges_begin(mf_gs_writer *w, uint64_t address);
int mf_gsw_edges_add(mf_gs_writer *w, size_t n, const uint64_t *offsets, const uint64_t *targets);
int mf_gsw_edges_end(mf_gs_writer *w);
/* The edges of nobj consecutive objects at once: counts[i] edges of the
 * object at addresses[i], their offsets and targets one after the other. */
int mf_gsw_edges_many(mf_gs_writer *w, size_t nobj, const uint64_t *addresses,
                      const uint32_t *counts, const uint64_t *offsets, const uint64_t *targets);

int mf_gsw_root(mf_gs_writer *w, const mf_gs_root *r);

/* Starts a map (nbuckets_walked and nentries must be what the following
 * bucket calls give); returns 0 or -1. Its buckets follow with
 * mf_gsw_bucket, each followed by the entries of its occupied slots in slot
 * order with mf_gsw_entry. */
int mf_gsw_map(mf_gs_writer *w, const mf_gs_map *m);
int mf_gsw_bucket(mf_gs_writer *w, uint64_t address, bool old, uint64_t index, uint32_t overflow,
                  uint32_t occupied);
/* (A key_text longer than MF_GS_MAX_KEY_TEXT is stored cut to it.) */
int mf_gsw_entry(mf_gs_writer *w, const mf_gs_entry *e);

/* A sampled live object and its allocation stack (a stack index). */
int mf_gsw_sample(mf_gs_writer *w, uint64_t address, uint32_t stack);

/* The writer's first failure (a write error with its reason, out of
 * memory, a call out of order), or NULL while there is none. */
const char *mf_gsw_error(const mf_gs_writer *w);

/* Writes the footer and commits the output (outfile.h). Returns the
 * first error of the whole write, if any (then nothing is left behind). The
 * writer is freed either way. *bytes_out (may be NULL) gets the file size. */
int mf_gsw_finish(mf_gs_writer *w, uint64_t *bytes_out, mf_error *err);
/* Gives up: removes the temporary file and frees the writer. */
void mf_gsw_abort(mf_gs_writer *w);

#endif
