/*
 * src/analyze/gate.h -- `maproot gate`: judging a series of snapshots of
 * one run by a policy (gate_policy.h).
 *
 * The series is fed one analysed snapshot at a time, in GC cycle order
 * (mp_gate_add); only what the rules need is kept of each: per map its
 * entries and retained bytes, per group of maps (groups.h: maps of one
 * type under one holder) its members, entries and retained bytes, per
 * holder and per capped object type their totals, the heap's reachable
 * bytes. Maps are followed from snapshot to snapshot by map_match.h (the
 * same matching as `maproot diff`), groups likewise (mp_group_match); of
 * each map the report's facts are those of the last snapshot it appears
 * in: its root, chain, allocation sites, evidence, and the keys it holds
 * that its first judged snapshot did not (counted by 64-bit hashes of the
 * keys' text; a sample of the smallest few by text is kept). A group is
 * followed as a map is (an mp_gate_map marked group): its chain is the
 * one to its holder, its sites its members', its evidence that of a
 * suspect group (none otherwise), its keys not kept. A group of one
 * variable of several threads (marked variable) is named by that variable,
 * whatever threads hold it, and has no chain: each point counts the
 * threads that hold its members.
 *
 * mp_gate_judge then runs the rules, giving one check per rule and map
 * or group (growth, suspect; map caps for maps), per cap and root or
 * object type, and one for the heap. A group is judged by the growth rule
 * as a map is, on its figures less those of its members whose growth
 * fails the rule on their own (each such member is named as a map, and
 * only once): by the minimums of entries or bytes, or by growth.min_maps
 * members when its members grew in number in k of the last n intervals
 * and its retained bytes grew. So a group grows by new members, by
 * members that each grow too little to fail alone, or both; one growing
 * map of a group fails as that map (set apart whatever a suppression or
 * baseline then makes of that map's check: the growth is the map's).
 * The spread rule then adds up the maps that each grow steadily (in at
 * least k of their last n intervals, by entries or by bytes: the growth
 * rule's notion) and are in the last judged snapshot, leaving out those
 * whose growth the growth rule judges on its own (a map that fails it, a
 * member of a group that fails it, whatever a suppression or baseline
 * makes of those checks) and those reached through another map's table
 * (nested: the outer map's retained bytes hold their growth): one check,
 * of no map, naming the largest. A
 * failed check is then suppressed by the first suppression that matches it, or accepted by a
 * baseline (mp_gate_baseline) when the baseline holds its subject and the run stayed within it. A
 * map's subject in the baseline is found as `maproot diff` pairs the maps of two runs
 * (mp_map_match: by type, holder and way, then by type and holder; by order within each), the
 * baseline's maps ordered by their ordinals and the run's by their addresses. Only the checks still
 * failing are violations: the exit status 1.
 *
 * Memory: an mp_gate owns everything (mp_gate_free). Errors: -1 with err
 * set (out of memory; a series too short for the growth rule; a baseline
 * file that is not one).
 */
#ifndef MP_GATE_H
#define MP_GATE_H

#include "analyze/gate_policy.h"
#include "analyze/map_match.h"
#include "analyze/snapshot_report.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_GATE_KEY_SAMPLE 5
#define MP_GATE_SPREAD_TOP 5 /* the contributors a spread check names */

typedef struct mp_gate_snap {
    char *file;
    uint32_t cycle;
    bool warmup;         /* not judged */
    uint64_t heap_bytes; /* reachable (judged snapshots only) */
} mp_gate_snap;

typedef struct mp_gate_point {
    uint32_t snap; /* index into snaps */
    int32_t group; /* a map's: the group it is a member of in that snapshot (index into maps), -1 */
    uint64_t entries, retained;
    uint64_t maps; /* a group's members (0 for a map) */
    /* a group of one variable of several threads (groups.h): the
     * instances of the variable holding members, and their threads; 0 for
     * any other */
    uint32_t tops, threads;
} mp_gate_point;

typedef struct mp_gate_site {
    char *function, *file; /* "" unknown */
    int64_t line;
    uint32_t samples;
} mp_gate_site;

/* A map, or a group of maps, followed across the series. */
typedef struct mp_gate_map {
    bool group;                /* a group of maps (groups.h): type is its members' */
    bool variable;             /* ... of one variable of several threads: holder names it */
    const char *thread_noun;   /* what its input calls a thread (static) */
    char *type, *holder, *way; /* its identity (map_match.h), as of its last snapshot */
    uint32_t ordinal;
    uint64_t address;  /* its header's, in its last snapshot */
    bool twin;         /* another map followed has its type and holder (mp_gate_judge) */
    bool twin_way;     /* ... and its way too */
    char *root;        /* the root a report names for it, as text */
    char *root_holder; /* that root's holder text ("iterator worker_loop") */
    char *root_file;   /* where that root is (a global's file, a frame's), "" */
    int64_t root_line;
    char **chain; /* the chain's steps, root first (a long one: its ends) */
    size_t nchain;
    uint64_t chain_steps, chain_elided; /* the whole chain's steps, those not in chain */
    mp_gate_site sites[MP_MAX_SITES];
    uint32_t nsites;
    uint64_t sampled; /* sampled objects under its entries */
    char **frames;    /* "f:FUNCTION" and "F:FILE" of its sites' stacks */
    size_t nframes;
    uint32_t evidence; /* as of its last snapshot */
    bool stalled;      /* old buckets, and no evacuation since its snapshot before */
    bool nested;       /* its path passes another map's table (a map of maps), as of
                          its last snapshot: its bytes are that map's */
    uint64_t nevacuate, noldbuckets;
    mp_gate_point *points; /* one per judged snapshot it appears in */
    size_t npoints, cap;
    uint64_t *base_keys; /* sorted hashes of its keys in its first judged snapshot */
    size_t nbase_keys;
    uint64_t keys_added;             /* in its last snapshot and not in its first */
    char *added[MP_GATE_KEY_SAMPLE]; /* the smallest of them by text */
    size_t nadded;
} mp_gate_map;

/* A root or an object type that a cap totals over (map caps total over
 * one map: their subject is the map). */
typedef struct mp_gate_total {
    uint32_t cap;          /* index into the policy's caps */
    char *name;            /* the holder, or the object type */
    uint64_t count, bytes; /* at the snapshot of the peak */
    uint64_t peak_count, peak_bytes;
    uint32_t peak_snap;
    int32_t exceeded_snap; /* first snapshot over the cap, -1 none */
    uint32_t last_seen;    /* the last snapshot it was counted in */
} mp_gate_total;

typedef enum mp_check_status {
    MP_CHECK_PASS = 0,
    MP_CHECK_FAIL,
    MP_CHECK_SUPPRESSED,
    MP_CHECK_BASELINE,
} mp_check_status;
/* "pass", "fail", "suppressed", "baseline" */
const char *mp_check_status_name(unsigned s);
/* Where the members of group m lie from point a to point b, into buf:
 * for one variable of several threads "thread-local cache, in 4 -> 9
 * threads" (frames too when a thread has several: "in 8 -> 12 frames of
 * 4 -> 6 threads"; one figure when it stayed), else "under one holder". */
void mp_gate_members_place(const mp_gate_map *m, const mp_gate_point *a, const mp_gate_point *b,
                           char *buf, size_t size);

typedef struct mp_gate_check {
    uint8_t rule;        /* mp_gate_rule */
    uint8_t status;      /* mp_check_status */
    int32_t map;         /* index into maps, or -1 */
    int32_t total;       /* index into totals (root and type caps), or -1 */
    int32_t cap;         /* index into the policy's caps, or -1 */
    int32_t suppression; /* the suppression that matched, or -1 */
    char *subject;       /* "map[string]*Session in global session_cache", "heap", ... */
    char *summary;       /* one line: what the rule saw */
    /* growth: intervals judged, those that grew (entries, bytes), and the
     * growth over them */
    uint32_t intervals, grew_entries, grew_bytes;
    int64_t window_entries, window_bytes;
    uint32_t grew_maps; /* a group's: intervals its members grew in, and by how many */
    int64_t window_maps;
    /* a group's members whose growth fails the rule on its own (in its
     * last snapshot), and the growth over the window they account for:
     * left out of the group's figures above */
    uint64_t alone_maps;
    int64_t alone_entries, alone_bytes;
    /* spread: the maps added up (their growth over their windows is
     * window_entries and window_bytes), and the largest of them by the
     * retained bytes they grew by, then entries: index into maps and
     * growth of each */
    uint64_t spread_maps;
    uint32_t ntop;
    int32_t top[MP_GATE_SPREAD_TOP];
    int64_t top_entries[MP_GATE_SPREAD_TOP], top_bytes[MP_GATE_SPREAD_TOP];
} mp_gate_check;

typedef struct mp_gate {
    const mp_gate_policy *policy;
    char *program;
    uint64_t pid;
    mp_gate_snap *snaps;
    size_t nsnaps, snaps_cap;
    size_t judged; /* snapshots judged */
    mp_gate_map *maps;
    size_t nmaps, maps_cap;
    mp_gate_total *totals;
    size_t ntotals, totals_cap;
    mp_gate_check *checks;
    size_t nchecks;
    size_t violations, suppressed, baselined;
    size_t fails[MP_RULE_COUNT]; /* violations per rule */
    uint32_t *sup_uses;          /* per suppression of the policy */
    const char *baseline_file;   /* the baseline judged against, or NULL */
    /* the previous judged snapshot's maps: identities and tracks */
    mp_map_ident *prev;
    int32_t *prev_track;
    size_t nprev;
    /* ... and its groups of maps */
    mp_map_ident *prev_groups;
    int32_t *prev_group_track;
    size_t nprev_groups;
    uint64_t prev_pid;
    char *prev_program;
} mp_gate;

void mp_gate_init(mp_gate *gt, const mp_gate_policy *policy);
void mp_gate_free(mp_gate *gt);

/* Adds the next snapshot of the series (file: its name for reports).
 * A snapshot of a GC cycle within the warm-up is only counted; a may be
 * NULL for one (its cycle given). */
int mp_gate_add(mp_gate *gt, const char *file, uint32_t cycle, const mp_snapshot_analysis *a,
                mf_error *err);

/* Runs the rules over the series; base may be NULL. */
int mp_gate_judge(mp_gate *gt, const mp_gate_baseline *base, mf_error *err);

/* The peak entries and retained bytes of a map over the judged run. */
void mp_gate_map_peak(const mp_gate_map *m, uint64_t *entries, uint64_t *retained);

/* The baseline of this run (written by --write-baseline): every map's
 * identity (type, holder, way, ordinal) with its peak entries and retained
 * bytes, every capped root's and object type's peak, the heap's growth.
 * NULL when out of memory. */
json_t *mp_gate_baseline_json(const mp_gate *gt);

#endif
