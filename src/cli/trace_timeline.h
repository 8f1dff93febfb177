/*
 * src/cli/trace_timeline.h -- the timeline of a trace, DIR/trace.json, in
 * the Chrome trace-event format (the JSON Object Format) that Perfetto's UI
 * and chrome://tracing load: one process (the program), a "GC" thread
 * with a complete event ("ph": "X") per collection, a "heap" counter
 * ("ph": "C": bytes live after each collection and the next goal), and one
 * counter track per map that grew ("entries: TYPE ROOT"). Times are
 * microseconds since maproot attached.
 *
 * Errors: -1 with err set (out of memory, the file cannot be written).
 */
#ifndef MAPROOT_CLI_TRACE_TIMELINE_H
#define MAPROOT_CLI_TRACE_TIMELINE_H

#include "cli/trace_view.h"
#include "format/error.h"

/* Writes the timeline of v to path (replaced only when complete). */
int tv_write_timeline(const trace_view *v, const char *path, mf_error *err);

#endif
