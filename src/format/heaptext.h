/*
 * src/format/heaptext.h -- reading text heap profiles: the legacy format Go
 * writes for /debug/pprof/heap?debug=1 (pprof.Lookup("heap").WriteTo(w, 1)),
 * which gperftools-style heap profilers wrote before it.
 *
 * The format, line by line:
 *     heap profile: A: B [C: D] @ heap/R
 *     N: M [N2: M2] @ 0xPC 0xPC ...
 *     #	0xPC	pkg.func+0xOFF	/path/file.go:LINE
 *     ...
 *     # runtime.MemStats
 *     # HeapInuse = 123
 * The header gives the totals (ignored: the records are the data) and the
 * sampling: "heap_v2/R" and "heapz_v2/R" sample one allocation per R bytes,
 * "heap/R" is Go's spelling of heap_v2/(R/2), "heapprofile" is unsampled; no
 * rate, or a rate of 0 or 1, means no scaling. A record is a stack's in-use
 * objects and bytes N: M, its allocated objects and bytes [N2: M2] and its
 * stack, leaf first, as return addresses. Comment lines after a record
 * symbolize its addresses (Go writes the call address, one less); other
 * comments and blank lines are skipped; a line "MAPPED_LIBRARIES:" or
 * "--- Memory map: ---" ends the records (the map after it is not read).
 *
 * The result is the model the proto reader builds (pprof.h), as Go's own
 * proto heap profile of the same moment would hold it:
 *   - sample types alloc_objects/count, alloc_space/bytes,
 *     inuse_objects/count, inuse_space/bytes (the last is the default);
 *     period type space/bytes, period the sampling rate;
 *   - values unsampled as Go and pprof do: each (objects, bytes) pair is
 *     multiplied by 1/(1-exp(-(bytes/objects)/rate)) and truncated;
 *   - a numeric label "bytes" (allocated bytes / objects) on each sample;
 *   - a location per call site, its address the call address (the return
 *     address less one); frames Go inlined into one function (consecutive
 *     frames of the same function entry) are one location with a line per
 *     frame, innermost first; addresses the comments leave out (Go hides
 *     runtime.goexit and the runtime's allocation frames) are left out of
 *     the stack. A file without comments gives unsymbolized locations.
 *   - the heap figures of "# runtime.MemStats" (HeapAlloc, HeapInuse,
 *     HeapObjects, NumGC) as comments "runtime.MemStats NAME = VALUE".
 *
 * Errors (one line, -1): "FILE: line N: what was expected (got "...")" for
 * a bad header, record or stack comment; numbers beyond int64; a record
 * with objects 0 but bytes not 0; a value that scaling takes beyond int64;
 * content beyond MF_MAX_DECODED or the memory limit.
 *
 * Memory: the returned profile is the caller's (mf_profile_free).
 * Threads: no shared state.
 */
#ifndef MF_HEAPTEXT_H
#define MF_HEAPTEXT_H

#include "format/error.h"
#include "format/infile.h"
#include "format/pprof.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if decoded content starting with these bytes is a text heap profile
 * (blank space, then "heap profile:"). */
bool mf_heaptext_sniff_bytes(const uint8_t *p, size_t n);

/* Parses a whole text heap profile held in memory; `name` is used in
 * messages. On success *out is a new profile; on failure *out is NULL. */
int mf_heaptext_parse(const uint8_t *data, size_t n, const char *name, mf_profile **out,
                      mf_error *err);

/* Reads a text heap profile from an input already open (peeked or not),
 * within lim (NULL: no limit). */
int mf_heaptext_read_in(mf_in *in, const mf_limits *lim, mf_profile **out, mf_error *err);

#endif
