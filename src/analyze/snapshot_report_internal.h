/*
 * src/analyze/snapshot_report_internal.h -- what the renderings of a
 * snapshot analysis (snapshot_text.c, snapshot_json.c, snapshot_dot.c,
 * snapshot_pprof.c) read from it, defined once in snapshot_report.c so that
 * each fact reads the same in every format. Nobody outside those files
 * needs it: the contract is snapshot_report.h.
 *
 * Memory: the strings returned point into the graph or into buf; chains are
 * written into the caller's s[0..max). No function here fails.
 */
#ifndef MP_SNAPSHOT_REPORT_INTERNAL_H
#define MP_SNAPSHOT_REPORT_INTERNAL_H

#include "analyze/snapshot_report.h"

#include <stddef.h>
#include <stdint.h>

/* ---- numbers and names, for people */

/* A byte count with its unit (KiB, MiB, ...). */
void mp_sr_fmt_bytes(char *buf, size_t size, uint64_t v);
/* Thousands separators, as people read counts. */
void mp_sr_fmt_count(char *buf, size_t size, uint64_t v);
/* "function (file:line)" of a frame, or "" */
void mp_sr_frame_text(const mp_graph *g, uint32_t frame, char *buf, size_t size);
/* Map m's type as the program named it, or "map" when the snapshot has none. */
const char *mp_sr_map_type(const mp_graph *g, uint32_t m);
/* The type an entry's value is shown as: a struct stored in the slot is
 * that struct (its pointers' targets are its parts); a pointer, or a value
 * stored in an object of its own, is the type of the object it leads to --
 * for an inner map's header, the inner map's type, as the program wrote
 * it (map[string]map[int64]*Event's entries are map[int64]*Event), not
 * the runtime's name for every header. */
const char *mp_sr_entry_value_type(const mp_graph *g, const mp_entry *e);
/* An entry's key for people (buf: at least 32 bytes). */
const char *mp_sr_key_text(const mp_graph *g, uint32_t ei, char *buf, size_t size);

/* ---- chains from a root; each starts at the root a report names */

/* To entry e's slot, through its map. */
size_t mp_sr_entry_chain(const mp_snapshot_analysis *a, uint32_t e, mp_step *s, size_t max);
/* To map m's header (0 when the map has none in the snapshot). */
size_t mp_sr_header_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max);
/* The chain shown for a map: to its largest entry's slot, else its header. */
size_t mp_sr_map_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max);
/* The root a report names for a map: its single root; else, for a map
 * only an iterator keeps, that iterator; else the root of its shortest
 * path. */
uint32_t mp_sr_named_root(const mp_graph *g, const mp_findings *f, const mp_map_report *r);

/* ---- what is listed, and what it holds */

/* How many of a map's nentries entries are listed (--top, --all; 10). */
size_t mp_sr_top_n(const mp_snapshot_print_opts *o, size_t nentries);
/* How many maps, of the ranking, are listed. */
size_t mp_sr_listed_maps(const mp_snapshot_print_opts *o, size_t nmaps);
/* The retained size shown for an entry: what it owns, or for a shared
 * entry what its value keeps alive together with the other roots. */
uint64_t mp_sr_entry_bytes(const mp_snapshot_analysis *a, uint32_t ei);
/* The roots other than the map's own that reach its first shared entry's
 * value (indices into g->roots, at most max); 0 when none or out of
 * memory. */
size_t mp_sr_sharing_roots(const mp_snapshot_analysis *a, const mp_map_report *r, uint32_t *out,
                           size_t max);
/* Whom a map's shared values are shared with, for people: an object of
 * the same root as "Lru 0x7f3a1c000040", else "other roots". */
const char *mp_sr_shared_with(const mp_snapshot_analysis *a, const mp_map_report *r, char *buf,
                              size_t size);

#endif
