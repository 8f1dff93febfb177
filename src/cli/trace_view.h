/*
 * src/cli/trace_view.h -- what `maproot trace` knows of a program it is
 * attached to, built from the agent's events, and how it is shown: the
 * live view (text, redrawn on a terminal), one JSON record per interval,
 * and (trace_timeline.h) the timeline written at the end.
 *
 * The model: the program (from the welcome), the collections seen since
 * attaching (their pauses and heap figures), and the maps the agent's
 * census told of: entries now and at attach, geometry, where each last
 * grew, and -- from a root snapshot analysed on the side -- the root that
 * retains it and what it retained then. Growth is counted from the
 * census's baseline (the program's maps when maproot attached), so a map
 * made since then grew by all its entries.
 *
 * Memory: the view owns everything (tv_free). Threads: one.
 */
#ifndef MAPROOT_CLI_TRACE_VIEW_H
#define MAPROOT_CLI_TRACE_VIEW_H

#include "format/attach.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* What a root snapshot said of one map. */
typedef struct tv_root {
    uint64_t address;
    char *root; /* "global session_cache (examples/sessiond.c:44)" */
    uint64_t retained, entries;
} tv_root;

/* One count of a map's entries, for the timeline. */
typedef struct tv_sample {
    int64_t t_ns;
    uint64_t count;
} tv_sample;

typedef struct tv_map {
    uint64_t id, address;
    char *type;
    uint64_t count, first_count, bucket_size, lists_bytes;
    uint32_t first_cycle, b, noverflow;
    bool growing, gone;
    uint64_t growth_pc;                              /* the program's call that last added a key */
    char *growth_op, *growth_function, *growth_file; /* "" until the agent named it */
    int64_t growth_line;
    tv_sample *samples;
    size_t nsamples, capsamples;
} tv_map;

/* One collection, for the timeline. */
typedef struct tv_gc {
    int64_t end_ns;
    uint64_t pause_ns, live_bytes, next_gc, garbage_bytes;
    uint64_t agent_ns; /* the agent's part of the pause */
    uint32_t cycle;
} tv_gc;

typedef struct trace_view {
    char *program, *args;
    uint64_t pid;
    int64_t attach_ns; /* Unix time of attaching */
    uint32_t cycle_at_attach;
    uint64_t live_at_attach;
    bool have_cycle;    /* a collection was seen since attaching */
    bool census_seen;   /* and a census of the maps */
    uint32_t cycle;     /* the last one */
    int64_t last_gc_ns; /* when it ended (Unix time; 0 none ever) */
    uint64_t live_bytes, live_objects, next_gc, profile_rate;
    uint64_t maps_total, entries_total;
    uint32_t omitted;
    uint64_t dropped; /* events the agent dropped for us */
    tv_gc *gcs;       /* every collection seen (up to a limit) */
    size_t ngcs, capgcs;
    bool gcs_truncated;
    tv_map *maps; /* sorted by id */
    size_t nmaps, capmaps;
    tv_root *roots; /* sorted by address */
    size_t nroots;
    uint32_t roots_cycle;    /* the snapshot's collection, 0 none yet */
    const char *roots_state; /* "", or what the roots wait for */
    bool roots_failed;       /* the snapshot last asked for the roots failed */
} trace_view;

/* Starts a view from the agent's welcome, at Unix time now_ns. */
int tv_init(trace_view *v, const mf_at_welcome *w, int64_t now_ns);
void tv_free(trace_view *v);

/* Adds a cycle event (and its census). -1 when out of memory. */
int tv_on_cycle(trace_view *v, const mf_at_cycle *c);

/* Takes over roots[0..n) (sorted by address here) of the snapshot of
 * collection `cycle`: the roots of maps from now on. */
void tv_set_roots(trace_view *v, tv_root *roots, size_t n, uint32_t cycle);

/* The snapshot root of map m, or NULL: only when m lived at the
 * snapshot's collection (it was seen at or before it), so that a map made
 * later at the address of a dead one is not given the dead one's root. */
const tv_root *tv_root_of(const trace_view *v, const tv_map *m);

/* Maps that changed since attaching, largest growth first: up to max
 * (0: all) indices into v->maps. Returns how many. Caller frees *out. */
size_t tv_ranked(const trace_view *v, size_t max, size_t **out);

typedef struct tv_render {
    int64_t now_ns; /* Unix time of the rendering */
    uint32_t interval_ms;
    size_t top;          /* maps shown */
    bool keys;           /* say which keys do what (a terminal) */
    const char *out_dir; /* -o DIR, or NULL */
    const char *note;    /* one more line (what happens now), or NULL */
} tv_render;

/* The view as text: the header, heap and GC line, the growing maps. */
void tv_print_text(FILE *out, const trace_view *v, const tv_render *r);

/* One JSON record (documented in maproot-trace(1)): "event" is
 * "attach", "interval" or "detach". NULL when out of memory. */
json_t *tv_record_json(const trace_view *v, const tv_render *r, const char *event);

#endif
