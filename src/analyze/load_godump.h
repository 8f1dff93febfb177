/*
 * src/analyze/load_godump.h -- loads a Go heap dump (runtime/debug.
 * WriteHeapDump) into the heap graph (the second loader of
 * src/analyze/graph.h).
 *
 * A dump lists every heap object with its contents and the offsets of its
 * pointer words, the data and bss segments, every goroutine's frames, the
 * finalizers and the memory profile; it has no types and no names for
 * globals. The loader:
 *   - resolves every pointer word to the object that contains its target
 *     (interior pointers included) and keeps the objects some root reaches:
 *     a dump also holds the garbage allocated since the last collection;
 *   - makes a root of every pointer word of data and bss (named "data+0x..."
 *     by offset, or by the ELF symbol with a binary), of every goroutine
 *     frame (goroutine id, function, frame offset, wait reason), and of
 *     finalizers (a finalizer keeps what its object points to, a queued one
 *     the object too);
 *   - recognises Go's classic maps (Go 1.23 and earlier): every hmap on the
 *     heap, and those that live in a frame, is checked against its bucket
 *     arrays; the bucket size, the key/value split and the key type are
 *     inferred from the layout (exact with the binary's DWARF), and every
 *     bucket, overflow bucket, old bucket of an unfinished growth and live
 *     entry (key decoded: strings, integers, pointers) becomes part of the
 *     graph; the objects that keep pointer-free overflow buckets alive
 *     (mapextra and its lists) are part of the map's table;
 *   - marks the frame words of a range iterator as iterator roots;
 *   - gives sampled objects their allocation stacks from the memory profile.
 * A dump of Go 1.24 or later (Swiss-table maps) is refused.
 *
 * binary: the program that wrote the dump, or NULL (see gobinary.h).
 * Memory: *out is owned by the caller (mp_graph_free). Errors: -1 with err
 * set (the reader's message names the record), *out NULL.
 */
#ifndef MP_LOAD_GODUMP_H
#define MP_LOAD_GODUMP_H

#include "analyze/graph.h"
#include "format/godump.h"
#include "format/infile.h"

#include <stdio.h>

/* Loads the dump from an input the caller opened (and may have peeked),
 * within lim (NULL: no limit); progress: a terminal for a progress line, or
 * NULL. The input stays the caller's. */
int mp_load_godump_in(mf_in *in, const mf_limits *lim, const char *binary, FILE *progress,
                      mp_graph **out, mf_error *err);

/* The same for a dump already read (e.g. from memory); binary may be NULL. */
int mp_load_godump_dump(const mf_gd_dump *d, const char *binary, mp_graph **out, mf_error *err);

#endif
