/*
 * src/analyze/profile.h -- heap profile analysis: top sites, map growth, diff.
 *
 * Works on any pprof profile read by src/format/pprof.h, whatever produced
 * it. The numbers follow go tool pprof's definitions so that both tools agree
 * on the same file:
 *   - a stack's frames are its locations' lines, innermost first; a location
 *     without lines is one frame named, as pprof names it, after its mapping
 *     ("[libfoo.so]"), or "<unknown>" without one;
 *   - sites are functions (pprof's default granularity): frames are grouped
 *     by function name;
 *   - flat(f) sums the values of samples whose leaf frame is f; cum(f) sums
 *     the values of samples with f anywhere on the stack (once per sample);
 *   - the total is the sum of the absolute values of all samples;
 *   - sites are ordered by |flat| (largest first), then name, then |cum|.
 * Diff (pprof -diff_base): after minus before per site; percentages are of
 * the base (before) total.
 *
 * Map growth: a sample whose stack passes through a map implementation is
 * attributed to the first frame outside it (walking from the leaf towards
 * the root), i.e. the code that called into the map. Map implementations are
 * recognized by function name (maproot's runtime: mr_map_*, and anything in
 * src/rt/map.c and src/rt/map_*.c; Go: runtime.mapassign*,
 * runtime.mapaccess*, runtime.makemap*, runtime.hashGrow, runtime.growWork*, runtime.evacuate*,
 * runtime.makeBucketArray, runtime.newoverflow, runtime.(*hmap).*, and
 * internal/runtime/maps.* for Go's newer maps). Note that Go's runtime/pprof
 * drops the runtime frames above the first user frame from heap profiles,
 * so Go's map frames only show where the runtime keeps them.
 *
 * Memory: results own their arrays (the matching *_free); names in results
 * point into the mp_index (and its profile), which must outlive them.
 * Errors: -1 with err set (one line naming the file). Not thread-safe per
 * object; distinct objects may be used from distinct threads.
 */
#ifndef MP_PROFILE_H
#define MP_PROFILE_H

#include "format/pprof.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One frame of a location: a node (site) and the source line. */
typedef struct mp_frame {
    uint32_t node;
    uint32_t function; /* index + 1 into the profile's functions, 0: none */
    int64_t line;
} mp_frame;

/* The frames of every location, computed once, and the sites (nodes). */
typedef struct mp_index {
    const mf_profile *p;
    const char *name; /* the file, for messages */
    mp_frame *frames;
    uint32_t *frame_start, *frame_n; /* per location */
    size_t n_nodes;
    const char **node_names;
    bool *node_is_map; /* any function of this name is map implementation */
    char *owned_names_;
    size_t n_frames_;
} mp_index;

int mp_index_build(const mf_profile *p, const char *name, mp_index *ix, mf_error *err);
void mp_index_free(mp_index *ix);

/* 0 if the profile is a heap profile (a sample type in bytes, or period type
 * "space"); otherwise -1 with a message naming what it looks like instead. */
int mp_check_heap(const mf_profile *p, const char *name, mf_error *err);

/* The sample index that `spec` names: a sample type name or a 0-based number;
 * NULL picks the profile's default_sample_type, else the last type (pprof's
 * rule, so inuse_space for Go heap profiles). */
int mp_sample_index(const mf_profile *p, const char *name, const char *spec, size_t *out,
                    mf_error *err);

/* Whether a function (by name and file) belongs to a map implementation. */
bool mp_is_map_function(const char *name, const char *file);

/* Who wrote the profile, as far as it tells: a line such as
 * "Go runtime/pprof (binary /srv/app)". Written into buf. */
void mp_producer(const mf_profile *p, char *buf, size_t size);

/* Whether the profile is Go's runtime/pprof's (no "producer:" comment, and
 * the Go runtime's functions). Its heap stacks start at the first frame
 * outside package runtime, so growth inside Go's classic maps (runtime.*)
 * is charged to the map's caller and no map growth site can show. */
bool mp_profile_is_go(const mf_profile *p);

/* Sum of |value| over all samples for sample type t. */
int64_t mp_total(const mf_profile *p, size_t t);

typedef struct mp_site {
    uint32_t node;
    int64_t flat, cum;
} mp_site;

typedef struct mp_top {
    mp_site *sites; /* sorted; only sites with non-zero flat or cum */
    size_t n;
    int64_t total; /* sum of |values| */
} mp_top;

int mp_top_compute(const mp_index *ix, size_t sample_index, mp_top *out, mf_error *err);
void mp_top_free(mp_top *t);

/* A map growth site: `site` called into the map implementation at
 * file:line, entering it through `via`. */
typedef struct mp_growth_site {
    uint32_t site, via; /* nodes */
    const char *file;   /* "" if unknown */
    int64_t line;
    int64_t value;
    size_t samples;
} mp_growth_site;

typedef struct mp_growth {
    mp_growth_site *sites; /* by |value|, largest first */
    size_t n;
    int64_t total; /* sum of |value| over sites */
} mp_growth;

int mp_growth_compute(const mp_index *ix, size_t sample_index, mp_growth *out, mf_error *err);
void mp_growth_free(mp_growth *g);

/* 0 if `after` can be compared with `before` (same sample types and period
 * type, by name and unit); else -1 with a message naming both files. */
int mp_check_comparable(const mf_profile *before, const char *before_name, const mf_profile *after,
                        const char *after_name, mf_error *err);

typedef struct mp_diff_site {
    const char *name;
    int64_t flat_before, flat_after, cum_before, cum_after;
} mp_diff_site;

typedef struct mp_diff_growth {
    const char *site, *via, *file;
    int64_t line;
    int64_t before, after;
} mp_diff_growth;

typedef struct mp_diff {
    mp_diff_site *sites; /* by flat delta, growth first (largest first) */
    size_t n;
    mp_diff_growth *growth; /* map growth sites, by delta, growth first */
    size_t n_growth;
    int64_t base_total;  /* sum of |before values| (the percentages' base) */
    int64_t after_total; /* sum of |after values| */
    int64_t delta;       /* sum of after values minus sum of before values */
} mp_diff;

/* Both profiles must have passed mp_check_comparable; sample_index is valid
 * for both. */
int mp_diff_compute(const mp_index *before, const mp_index *after, size_t sample_index,
                    mp_diff *out, mf_error *err);
void mp_diff_free(mp_diff *d);

#endif
