/*
 * src/cli/cmd_snapshot.h -- the snapshot side of `maproot analyze` and
 * `maproot diff` (root tracing): called by cmd_analyze.c / cmd_diff.c once
 * they know an input is a gcstack snapshot (by content).
 */
#ifndef MAPROOT_CMD_SNAPSHOT_H
#define MAPROOT_CMD_SNAPSHOT_H

#include "analyze/report.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_snap_opts {
    const char *format;  /* "text" (default), "json", "dot", "pprof" */
    const char *output;  /* -o FILE (required for pprof; others: stdout when NULL) */
    size_t top_entries;  /* entries per suspect (0: 10) */
    bool all;            /* every entry, with its chain */
    const char *profile; /* the profile the snapshot was found beside, or NULL */
    const mp_analysis *profile_analysis; /* that profile's figures, or NULL */
    bool godump;                         /* the input is a Go heap dump */
    const char *binary;                  /* --binary PROG (Go heap dumps), or NULL */
} cli_snap_opts;

/* Full analysis of a snapshot: the report in o->format; with a profile
 * analysis, text ends with the profile's report and JSON carries it as
 * "profile_analysis". Returns the exit status. */
int cli_analyze_snapshot(const char *path, const cli_snap_opts *o);

/* Snapshot diff (text or json); returns the exit status. */
int cli_diff_snapshots(const char *before, const char *after, const cli_snap_opts *o);

#endif
