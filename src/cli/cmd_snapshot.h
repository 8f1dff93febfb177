/*
 * src/cli/cmd_snapshot.h -- the snapshot side of `maproot analyze` and
 * `maproot diff` (root tracing): called by cmd_analyze.c / cmd_diff.c once
 * they know an input is a gcstack snapshot (by content).
 */
#ifndef MAPROOT_CMD_SNAPSHOT_H
#define MAPROOT_CMD_SNAPSHOT_H

#include "analyze/graph.h"
#include "analyze/report.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_snap_opts {
    const char *format;                  /* "text" (default), "json", "dot", "pprof" */
    const char *output;                  /* -o FILE ("-" or NULL: standard output) */
    size_t top_entries;                  /* entries per suspect (0: 10) */
    bool all;                            /* every entry, with its chain */
    size_t top_maps;                     /* maps listed (0: 10) */
    bool all_maps;                       /* every map */
    const char *profile;                 /* the profile the snapshot was found beside, or NULL */
    const mp_analysis *profile_analysis; /* that profile's figures, or NULL */
    double load_seconds;                 /* the time the graph took to load */
    unsigned fail_on;                    /* CLI_FAIL_* bits: exit 1 when found */
    bool timings;                        /* JSON: the seconds taken */
    int view;                            /* CLI_VIEW_*: a view instead of the analysis */
    size_t top;                          /* rows of a view (0: all) */
} cli_snap_opts;

enum { CLI_VIEW_NONE, CLI_VIEW_BY_TYPE, CLI_VIEW_DOMINATORS };

/* A view of a snapshot's heap graph g (taken over: freed here) instead of
 * the analysis of its maps: objects by type, or the dominator tree; text
 * or json. Returns the exit status. */
int cli_view_snapshot(const char *path, mp_graph *g, const cli_snap_opts *o);

/* Full analysis of a snapshot's heap graph g (taken over: freed here): the
 * report in o->format; with a profile analysis, text ends with the
 * profile's report and JSON carries it as "profile_analysis". Returns the
 * exit status (CLI_EXIT_FOUND for a leak suspect with CLI_FAIL_SUSPECT). */
int cli_analyze_snapshot(const char *path, mp_graph *g, const cli_snap_opts *o);

/* Snapshot diff (text or json) of two heap graphs (both taken over); warns
 * when they are of different programs. Returns the exit status
 * (CLI_EXIT_FOUND for a growing map with CLI_FAIL_GROWTH, for a leak
 * suspect of AFTER with CLI_FAIL_SUSPECT). */
int cli_diff_snapshots(const char *before, mp_graph *ga, const char *after, mp_graph *gb,
                       const cli_snap_opts *o);

#endif
