/*
 * src/analyze/gate_policy.h -- the policy of `maproot gate`: its rules,
 * thresholds and suppressions, read from a JSON file (the schema is
 * maproot-gate(5)) or the built-in defaults.
 *
 * Rules (each may be turned off):
 *   growth   a map whose entries or retained bytes grew in at least k of
 *            its last n intervals (an interval: two consecutive snapshots
 *            in which it appears), and by more than min_entries entries or
 *            min_bytes bytes over those intervals; a map in fewer than k
 *            intervals is not judged;
 *   suspect  a map that shows one of the chosen kinds of evidence
 *            (findings.h) in the last snapshot it appears in; an unfinished
 *            growth (old_buckets) counts only when it made no progress
 *            since the map's snapshot before;
 *   heap     the reachable heap grew over the run by more than max_growth
 *            bytes or max_growth_percent percent;
 *   cap      absolute caps: per map (entries, retained bytes) of the maps
 *            whose type matches, per root (the entries and bytes of all the
 *            maps it holds) of the roots whose holder text matches, per
 *            object type (objects, bytes in the heap);
 *   spread   the maps that each grow steadily (in at least growth's k of
 *            its n intervals, by entries or by retained bytes) but too
 *            little to fail the growth rule alone, taken together: at
 *            least min_maps of them, and their growth added up by more
 *            than min_entries entries or min_bytes bytes (by default the
 *            growth rule's minimums); one check for the whole run.
 * Snapshots of GC cycles up to `warmup` are not judged by any rule.
 * Suppressions match a map by holder ("global NAME", "stack FUNCTION"...),
 * map type, and the functions and files of its allocation stacks (globs,
 * all given must match), each with a reason; `rules` limits what they
 * suppress.
 *
 * Errors: every key is checked; a message names the file, the line and the
 * key's path ("gate.json:7: growth.k: ..."). Memory: a policy owns its
 * strings (mp_gate_policy_free).
 */
#ifndef MP_GATE_POLICY_H
#define MP_GATE_POLICY_H

#include "format/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mp_gate_rule {
    MP_RULE_GROWTH = 0,
    MP_RULE_SUSPECT,
    MP_RULE_HEAP,
    MP_RULE_CAP,
    MP_RULE_SPREAD,
    MP_RULE_COUNT
} mp_gate_rule;
/* "growth", "suspect", "heap", "cap", "spread" */
const char *mp_gate_rule_name(unsigned rule);

typedef enum mp_cap_scope { MP_CAP_MAP = 0, MP_CAP_ROOT, MP_CAP_TYPE } mp_cap_scope;
/* "map", "root", "type" */
const char *mp_cap_scope_name(unsigned scope);

#define MP_NO_LIMIT UINT64_MAX

typedef struct mp_gate_cap {
    uint8_t scope;      /* mp_cap_scope */
    char *pattern;      /* glob over the map type, the holder, or the object type */
    uint64_t max_count; /* entries (map, root) or objects (type); MP_NO_LIMIT */
    uint64_t max_bytes; /* retained (map, root) or bytes (type); MP_NO_LIMIT */
    int line;           /* in the policy file, 0 built in */
} mp_gate_cap;

typedef struct mp_gate_suppression {
    char *root, *map, *function, *file; /* globs; NULL matches anything */
    char *reason;
    unsigned rules; /* bit (1 << mp_gate_rule) per rule it suppresses */
    int line;
} mp_gate_suppression;

typedef struct mp_gate_policy {
    char *file; /* the file it was read from, NULL for the defaults */
    uint64_t warmup;
    bool growth;
    uint32_t k, n;
    uint64_t min_entries, min_bytes;
    uint64_t min_maps; /* a group's members: its growth by maps over the window */
    bool spread;
    uint64_t spread_min_maps, spread_min_entries, spread_min_bytes;
    bool suspect;
    uint32_t evidence; /* MP_EV_* bits */
    bool heap;
    uint64_t heap_max_growth;   /* bytes, MP_NO_LIMIT */
    double heap_max_growth_pct; /* < 0: none */
    mp_gate_cap *caps;
    size_t ncaps;
    mp_gate_suppression *sups;
    size_t nsups;
    double baseline_tolerance_pct;
} mp_gate_policy;

/* The defaults: growth k=3 of n=4, min 1000 entries or 1 MiB (or, for a
 * group of maps, 100 maps and any bytes), spread on at 2 maps and the
 * growth rule's minimums, suspect on
 * emptied, iterator_only, old_buckets, pointer_keys and stack_frame (a
 * significant map only a running frame holds); no heap rule, no
 * caps, no suppressions, warmup 0, baseline tolerance 10%. */
void mp_gate_policy_default(mp_gate_policy *p);

/* Parses and checks a policy document (name: for messages). On error -1
 * with err set and nothing to free. */
int mp_gate_policy_parse(const char *text, size_t len, const char *name, mp_gate_policy *out,
                         mf_error *err);
/* The same for a file. */
int mp_gate_policy_read(const char *path, mp_gate_policy *out, mf_error *err);
void mp_gate_policy_free(mp_gate_policy *p);

/* A baseline (maproot-gate(5)): what an earlier run recorded, by subject,
 * to be accepted by later runs; read from JSON and checked like a policy.
 * Version 2 records each map's way from its holder (map_match.h), so that
 * a later run pairs its maps with the baseline's as `maproot diff` pairs
 * the maps of two runs; version 1 has no ways (its maps are paired by
 * type, holder and order alone), and is still read. Groups of maps
 * (groups.h) are recorded as maps are, in a list of their own. */
typedef enum mp_base_kind {
    MP_BASE_MAP = 0,
    MP_BASE_ROOT,
    MP_BASE_TYPE,
    MP_BASE_HEAP,
    MP_BASE_GROUP, /* a group of maps (groups.h), named as a map is */
    MP_BASE_SPREAD /* the maps the spread rule added up: their growth together */
} mp_base_kind;

typedef struct mp_gate_base_entry {
    uint8_t kind; /* mp_base_kind */
    char *name;   /* map (group): its (members') type; root: the holder; type: the object type */
    char *holder; /* map: its holder */
    char *way;    /* map: its way from the holder ("" none); NULL in version 1 */
    uint32_t ordinal; /* map: its ordinal (map_match.h) */
    uint64_t count;   /* peak entries (map, root), objects (type), growth (spread) */
    uint64_t bytes;   /* peak retained (map, root), bytes (type), growth (heap, spread) */
} mp_gate_base_entry;

#define MP_GATE_BASELINE_VERSION 2 /* the version written */

typedef struct mp_gate_baseline {
    char *file;
    uint32_t version; /* 1 or 2 */
    mp_gate_base_entry *v;
    size_t n;
} mp_gate_baseline;

int mp_gate_baseline_parse(const char *text, size_t len, const char *name, mp_gate_baseline *out,
                           mf_error *err);
int mp_gate_baseline_read(const char *path, mp_gate_baseline *out, mf_error *err);
void mp_gate_baseline_free(mp_gate_baseline *b);

/* The evidence bits a suspect rule may name, and their names as
 * findings.h's mp_evidence_name gives them. */
#define MP_GATE_EVIDENCE_ALLOWED                                                                   \
    (MP_EV_LARGE_SHARE | MP_EV_EMPTIED | MP_EV_ITERATOR_ONLY | MP_EV_STACK_FRAME |                 \
     MP_EV_POINTER_KEYS | MP_EV_OLD_BUCKETS | MP_EV_SLICE_BUFFERS)

/* A glob: '*' any run of characters ('/' too), '?' any one character;
 * every other character is itself (map types hold brackets:
 * "map[string]*Session" matches itself). */
bool mp_glob(const char *pattern, const char *s);

/* A size in bytes: a whole number, or a string "N[.N][ ]UNIT" with UNIT
 * one of B, K, KB, KiB, M, MB, MiB, G, GB, GiB, T, TB, TiB (all powers of
 * 1024). 0 on success, -1 for anything else. */
int mp_parse_size(const char *s, uint64_t *out);

/* Reads a JSON file whole (at most max bytes) into a NUL-terminated
 * buffer (caller frees); -1 with err naming the file. */
int mp_read_text_file(const char *path, size_t max, char **out, size_t *len, mf_error *err);

#endif
