/*
 * src/analyze/group_diff.h -- the groups of many small maps (groups.h)
 * compared between two snapshots: what `maproot diff` shows of them.
 *
 * A group of BEFORE is the group of AFTER with its identity (map_match.h:
 * mp_group_idents, mp_group_match): the members' type and the holder's
 * place -- root, frame, the way from the root to the holder. Both
 * analyses must hold every group (mp_findings_options.all_groups), so
 * that a group is followed from when it is small.
 *
 * Growth: many small maps grow a few bytes at a time each, so what
 * counts is their sum. A member of a group in AFTER grows on its own when
 * it grew (the caller's verdict, mp_map_growth.grew) by at least AFTER's
 * significance yardstick in retained bytes (mp_findings.significant, the
 * one a map's score is judged by): it is named as a map, and its growth
 * is set apart from the group's (alone_*), so that one growing map is
 * not reported twice. A group grows when, less its members that grow on
 * their own, it has more members or more entries in AFTER and its
 * retained bytes grew by at least the yardstick: new maps, maps already
 * there that each grow a little, or both. The members of a growing group
 * that grew but not on their own are then none of their own growth: the
 * group names it (in_group_growth). A group whose members only churn
 * (as many entries deleted as added, no new map) does not grow.
 * A group only in AFTER grows from nothing, as a new map does. A growing
 * group is a leak suspect of AFTER with evidence GROWING (marked in B's
 * groups: mp_groups_rerank).
 *
 * Memory: mp_group_diffs owns its array, whose records hold copies of the
 * groups (B's groups are re-sorted when marked). Errors: -1 with err set
 * when out of memory.
 */
#ifndef MP_GROUP_DIFF_H
#define MP_GROUP_DIFF_H

#include "analyze/snapshot_report.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct mp_group_diff {
    bool in_before, in_after;
    mp_group before, after; /* copies: the group in A, in B (when in it) */
    int64_t maps_delta, entries_delta, retained_delta;
    /* its members in AFTER that grow on their own (see above), and their
     * growth, not counted in the group's */
    uint64_t alone_maps;
    int64_t alone_entries, alone_retained;
    bool growing;
    size_t order; /* B's groups in their order, then A's gone ones: the last tie-break */
} mp_group_diff;

typedef struct mp_group_diffs {
    mp_group_diff *v; /* growing first, then by retained growth */
    size_t n, growing;
} mp_group_diffs;

/* How a map of AFTER changed since BEFORE, as the comparison of maps
 * judged it: its entries' and retained bytes' change (a new map's: all of
 * them), whether it grew, whether it is new. */
typedef struct mp_map_growth {
    int64_t entries, retained;
    bool grew, fresh;
} mp_map_growth;

/* The groups of A and B compared (B->gr.member_of must be set: B was
 * analysed with every group); mg: per map of B, its growth. B's growing
 * groups are marked (MP_EV_GROWING) and made suspects; in_group_growth
 * (per map of B, or NULL) is set true for each map whose growth is its
 * growing group's, false for the others. */
int mp_group_diff_compute(const mp_snapshot_analysis *A, mp_snapshot_analysis *B,
                          const mp_map_growth *mg, bool *in_group_growth, mp_group_diffs *out,
                          mf_error *err);
void mp_group_diffs_free(mp_group_diffs *d);

/* What the caller prints of a group's members below the group's figures
 * in the text (the new keys of the members whose growth is the group's:
 * shown once, with the group, not map by map; the maps of a gone group);
 * called for each record, with ctx. */
typedef void (*mp_group_members_fn)(FILE *out, const mp_group_diff *x, void *ctx);

/* The GROUPS section of `maproot diff`'s text; members (NULL: none) adds
 * to each group's block. */
void mp_group_diff_print_text(FILE *out, const mp_snapshot_analysis *A,
                              const mp_snapshot_analysis *B, const mp_group_diffs *d,
                              mp_group_members_fn members, void *ctx);
/* Its "groups" array (maproot-diff(1)); NULL when out of memory. */
json_t *mp_group_diff_json(const mp_snapshot_analysis *A, const mp_snapshot_analysis *B,
                           const mp_group_diffs *d);

#endif
