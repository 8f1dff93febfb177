/*
 * src/analyze/snapshot_report.h -- `maproot analyze SNAPSHOT`: the full
 * analysis of a heap graph and its four renderings.
 *
 * mp_snapshot_analyze loads a snapshot (any format with a loader; today
 * gcstack) and runs paths, dominators and findings. The printers render the
 * result:
 *   text  for people, answer first: per suspect the map, its size, root,
 *         chain, table, the evidence ("why"), the largest entries and a fix;
 *         a group of maps (groups.h) that is a suspect ranks with them by
 *         score: its maps, holder, chain, an example member and a fix;
 *   json  for programs: the schema in man/maproot-analyze.1 ("SNAPSHOT JSON"),
 *         stable: fields are only ever added;
 *   dot   Graphviz, a picture read in a few seconds: per suspect (at most
 *         10) root -> objects -> header -> the buckets of its largest
 *         entries (at most 50) -> those entries (key, type, size), the
 *         other holders of the header and of shared entries, the rest in
 *         one node;
 *   pprof a profile whose samples are map entries: the stack is the chain,
 *         root at the bottom (outermost), with a frame of all of a map's
 *         entries that names its largest keys after the header, and the
 *         entry's key and value type at the leaf; values entries/count and
 *         retained/bytes; labels key, map, bucket, slot. Entries beyond
 *         the first top_entries of a map (all with `all`) are folded into
 *         one sample per map, and each map's table is a sample of its own,
 *         so totals stay exact.
 *
 * Memory: the analysis owns everything (mp_snapshot_analysis_free).
 * Errors: -1 with err set (input, out of memory, output).
 */
#ifndef MP_SNAPSHOT_REPORT_H
#define MP_SNAPSHOT_REPORT_H

#include "analyze/dominators.h"
#include "analyze/findings.h"
#include "analyze/graph.h"
#include "analyze/groups.h"
#include "analyze/paths.h"

#include <jansson.h>
#include <stdio.h>

typedef struct mp_snapshot_analysis {
    const char *file;
    mp_graph *g;
    mp_paths p;
    mp_dom d;
    mp_findings f;
    mp_groups gr; /* maps of one type under one holder, judged together */
    double load_seconds, analyze_seconds;
} mp_snapshot_analysis;

/* progress: see mp_load_gcstack (NULL: silent). */
int mp_snapshot_analyze(const char *path, FILE *progress, const mp_findings_options *opt,
                        mp_snapshot_analysis *out, mf_error *err);
/* The analysis steps alone, on a graph the caller built (taken over). */
int mp_snapshot_analyze_graph(mp_graph *g, const mp_findings_options *opt,
                              mp_snapshot_analysis *out, mf_error *err);
void mp_snapshot_analysis_free(mp_snapshot_analysis *a);

typedef struct mp_snapshot_print_opts {
    size_t top_entries;  /* entries shown per suspect map (0: 10) */
    bool all_entries;    /* every entry */
    size_t top_maps;     /* maps listed (text MAPS, JSON "maps"), in rank order (0: 10) */
    bool all_maps;       /* every map */
    const char *profile; /* the profile the snapshot came with, or NULL */
    bool timings;        /* JSON: the seconds taken (not deterministic) */
} mp_snapshot_print_opts;

void mp_snapshot_print_text(FILE *out, const mp_snapshot_analysis *a,
                            const mp_snapshot_print_opts *o);
/* The JSON report, written as it is made (its long arrays never held
 * whole): 0, or -1 with err when out of memory midway (the caller then
 * drops the output: see cli_output_close); write errors are out's. */
int mp_snapshot_print_json(FILE *out, const mp_snapshot_analysis *a,
                           const mp_snapshot_print_opts *o, mf_error *err);
/* The same with one more member at its end (e.g. the profile's figures):
 * tail_key and tail (taken over; NULL is out of memory), or no more when
 * tail_key is NULL. */
int mp_snapshot_write_json(FILE *out, const mp_snapshot_analysis *a,
                           const mp_snapshot_print_opts *o, const char *tail_key, json_t *tail,
                           mf_error *err);
void mp_snapshot_print_dot(FILE *out, const mp_snapshot_analysis *a,
                           const mp_snapshot_print_opts *o);
/* Writes the retention profile to path (gzipped, atomically). */
int mp_snapshot_write_pprof(const char *path, const mp_snapshot_analysis *a,
                            const mp_snapshot_print_opts *o, mf_error *err);

/* The chain a report shows for map m: to its largest entry's slot, else to
 * its header; at most max steps (a longer chain keeps its ends). */
size_t mp_snapshot_map_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max);
/* The root a report names for a map: its single holder; for a map only an
 * iterator keeps, that iterator; else the root of its shortest path. */
uint32_t mp_snapshot_named_root(const mp_graph *g, const mp_findings *f, const mp_map_report *r);

/* Short advice for a map's strongest evidence ("bound the cache ..."). */
const char *mp_evidence_fix(uint32_t evidence);

/* Pieces of the reports that the group suspects' (group_report.h) share:
 * "function (file:line)" of a frame ("" for MP_NONE); a chain as a line
 * "  LABEL    chain" of a suspect's text (wrapped at 80 columns; nothing
 * when n is 0); a chain, a root (null past the roots)
 * and a frame (null for MP_NONE) as JSON (NULL when out of memory). */
void mp_snapshot_frame_text(const mp_graph *g, uint32_t frame, char *buf, size_t size);
void mp_snapshot_print_chain(FILE *out, const mp_graph *g, const char *label, const mp_step *s,
                             size_t n);
json_t *mp_snapshot_chain_json(const mp_graph *g, const mp_step *s, size_t n);
json_t *mp_snapshot_root_json(const mp_graph *g, uint32_t r);
json_t *mp_snapshot_frame_json(const mp_graph *g, uint32_t f);

#endif
