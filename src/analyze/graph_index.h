/*
 * src/analyze/graph_index.h -- a loaded heap graph kept in a file beside
 * its snapshot, so that the next analysis of the same snapshot maps it in
 * place of decoding and building the graph again (as Eclipse MAT keeps
 * index files beside a heap dump).
 *
 * The file is the graph's arrays as they are in memory, each a section of
 * a table (id, element size, count, offset, checksum: a fast 32-bit sum of
 * its bytes; crc32 for the header and tables), after a header that
 * says which snapshot it was made from: device, inode, size, modification
 * time in nanoseconds and a checksum of the snapshot's first and last
 * 64 KiB. A reader maps the file (mmap, private) and points the graph's
 * arrays into it: no per-object decoding. Adding a graph array is one line
 * of the table in graph_index.c; the table's shape (ids, element sizes,
 * the scalar fields' offsets) and MP_GRAPH_LAYOUT make the file's layout
 * signature, so an index written by a build with another graph layout is
 * stale, never misread.
 *
 * An index is outside bytes: every section's bounds and checksum, and
 * every object, edge, type, string, map, bucket and entry reference in it,
 * are checked in linear passes before the graph is used (the checksums
 * and the references on two threads, mp_parallel). A bad index is
 * refused with a message naming it and what is wrong; the caller reads the
 * snapshot instead.
 *
 * The graph does not depend on analysis options, nor do the paths from the
 * roots and the dominator tree, nor what of the findings follows from them
 * (findings.h's mp_findings_saved per map and mp_findings.entry_info per
 * entry, kept only with both): an index may keep them too (graph.h's
 * mp_graph_derived), in a derived part after the graph's sections, with
 * its own header and table of sections, naming the graph part it belongs
 * to by that part's checksums. The part is written with the graph
 * (mp_gi_write) or appended to an index of the graph alone
 * (mp_gi_append), by the first command that computes what it holds; a
 * reader checks it (derived_check.h) and, when it is damaged, refuses it
 * alone: the graph is still read and the results are computed again. The
 * tree's retained sizes and single roots are not kept: the reader computes
 * them from the tree it has checked, into memory the graph owns
 * (mp_graph.computed).
 *
 * Errors: functions return -1 (or MP_GI_BAD) with err naming the file.
 * Threads: no shared state; a graph read from an index is read-only like
 * any other and is freed by mp_graph_free.
 */
#ifndef MP_GRAPH_INDEX_H
#define MP_GRAPH_INDEX_H

#include "analyze/dominators.h"
#include "analyze/graph.h"
#include "analyze/paths.h"
#include "format/error.h"

#include <stddef.h>
#include <stdint.h>

/* What makes a snapshot the same snapshot. */
typedef struct mp_gi_ident {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint64_t ends; /* checksums of the first and last 64 KiB */
} mp_gi_ident;

/* The identity of the regular file at path; -1 (err set) when it cannot be
 * read or is not a regular file (a pipe, a FIFO, a device). */
int mp_gi_ident_of(const char *path, mp_gi_ident *id, mf_error *err);

/* Where the index of snapshot `path` goes: beside it (PATH.mrx), and the
 * place in the cache directory used when the snapshot's directory is not
 * writable: ${XDG_CACHE_HOME:-$HOME/.cache}/maproot/HASH.mrx, HASH naming
 * the snapshot's absolute path. malloc'd; NULL when out of memory (or, for
 * the cache, when neither variable is set or the path cannot be resolved). */
#define MP_GI_SUFFIX ".mrx"
char *mp_gi_path_beside(const char *path);
char *mp_gi_path_cache(const char *path);

typedef enum mp_gi_status {
    MP_GI_OK = 0,  /* *out is the graph */
    MP_GI_MISSING, /* no index at that path */
    MP_GI_STALE,   /* an index of another snapshot, or of another build's layout */
    MP_GI_BAD,     /* not an index, or a damaged one: err says what */
} mp_gi_status;

/* Reads the index at index_path for the snapshot with identity id; the
 * graph's info.name is `name` (copied), as the snapshot's loader would set
 * it. The derived results the index holds, checked, are in
 * (*out)->derived. MP_GI_OK with err->msg not empty: the graph is sound
 * but the derived results were refused (err says why) and are left out. */
mp_gi_status mp_gi_open(const char *index_path, const mp_gi_ident *id, const char *name,
                        mp_graph **out, mf_error *err);

/* The same from bytes in memory (copied), with any identity accepted: for
 * checking an index's content alone (the fuzz target). */
mp_gi_status mp_gi_open_bytes(const void *data, size_t len, const char *name, mp_graph **out,
                              mf_error *err);

/* Writes the index of graph g, loaded from the snapshot with identity id,
 * to index_path (atomically: a temporary file renamed into place, the
 * rules of format/outfile.h), with the derived results in `derived` (NULL
 * or empty: none; findings without both paths and tree, or whose entry
 * store cannot be read back, are left out); *bytes gets its size. -1 with
 * err set when it cannot be written (nothing is left under the name then).
 * Sections are written straight from g's arrays, and the writeback of
 * each finished window (64 MiB, see mp_gi_write_behind_window) is asked
 * for as it is written (the pages stay in the page cache for the next
 * open); so is that of an appended part (mp_gi_append). */
int mp_gi_write(const char *index_path, const mp_graph *g, const mp_gi_ident *id,
                const mp_graph_derived *derived, uint64_t *bytes, mf_error *err);

/* Appends the derived results of g (`derived`) to the index at index_path
 * when it is the index of the snapshot with identity id, of this build's
 * layout, the very index g was read from (when g was read from one), and
 * holds no derived results yet; *bytes gets the bytes added.
 * 0 appended (or nothing to add), 1 not appended (another index, or one
 * with derived results: mp_gi_write it whole to add them), -1 with err set
 * on a write error (the index is cut back to what it was). */
int mp_gi_append(const char *index_path, const mp_graph *g, const mp_gi_ident *id,
                 const mp_graph_derived *derived, uint64_t *bytes, mf_error *err);

/* Sets the window of the write-behind of mp_gi_write and mp_gi_append (how
 * many bytes are written between two requests of writeback) unless bytes
 * is 0, and returns the window it was. Not thread-safe: set it before
 * indexes are written (a test makes it small to see the requests). */
uint64_t mp_gi_write_behind_window(uint64_t bytes);

/* The derived results of paths p and dominator tree d (either NULL), to
 * write with a graph. */
mp_graph_derived mp_gi_derived_of(const mp_paths *p, const mp_dom *d);

/* Recomputes the checksums of an index image in place (its header and
 * every section whose bounds are sound), so that a test or the fuzz target
 * can change an index and reach the checks past the checksums. */
void mp_gi_reseal(void *data, size_t len);

#endif
