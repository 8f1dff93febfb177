/*
 * src/analyze/group_report.h -- the suspect groups of maps (groups.h) in
 * the snapshot reports: their rank among the map suspects, text and JSON.
 *
 * One ranking holds both kinds of suspect: growing ones first (a group
 * grows in a comparison of snapshots: group_diff.h), then by score, a map
 * before a group of an equal score. A map suspect keeps its place among the maps (f.ranked); its
 * rank counts the groups before it.
 */
#ifndef MP_GROUP_REPORT_H
#define MP_GROUP_REPORT_H

#include "analyze/snapshot_report.h"

/* The map type of group gp ("map" when unnamed). */
const char *mp_group_type(const mp_graph *g, const mp_group *gp);
/* The root a report names for group gp: the one root that keeps its
 * holder, else the root its holder's shortest path starts from. */
uint32_t mp_group_root(const mp_snapshot_analysis *a, const mp_group *gp);
/* For a group whose members hang from one variable of several threads
 * (groups.h: ntops > 1), its text into buf, the same whichever threads
 * hold it ("thread-local cache in 12 threads"); false for any other. */
bool mp_group_variable(const mp_snapshot_analysis *a, const mp_group *gp, char *buf, size_t size);
/* The same for a comparison of snapshots: was is the group's copy in the
 * earlier one (NULL: none there), and the counts that changed read "from
 * -> to" ("thread-local cache in 4 -> 9 threads"); false when the group
 * is no such variable on either side. The variable is named from a's gp
 * when it is one there, else from was's analysis w. */
bool mp_group_variable_since(const mp_snapshot_analysis *a, const mp_group *gp,
                             const mp_snapshot_analysis *w, const mp_group *was, char *buf,
                             size_t size);
/* The root line of group gp's report into buf: its variable across
 * threads, else its root's text ("(and other roots)" after it when several
 * keep the holder). */
void mp_group_root_text(const mp_snapshot_analysis *a, const mp_group *gp, char *buf, size_t size);
/* The chain from that root to gp's holder into s[0..max) (a long one: its
 * ends); the root alone when the holder is a root's node. Its length. */
size_t mp_group_holder_chain(const mp_snapshot_analysis *a, const mp_group *gp, mp_step *s,
                             size_t max);

/* Suspects of both kinds. */
size_t mp_report_nsuspects(const mp_snapshot_analysis *a);
/* The rank (1 first) of the map suspect at f.ranked[i] (i < f.nsuspects). */
size_t mp_report_map_rank(const mp_snapshot_analysis *a, size_t i);
/* The rank (1 first) of the suspect group at gr.groups[j] (j < gr.nsuspects). */
size_t mp_report_group_rank(const mp_snapshot_analysis *a, size_t j);

/* "LEAK SUSPECT rank of total" for group gp, with its maps, holder, chain,
 * an example member's chain below the holder, why, sites and a fix. */
void mp_group_print_text(FILE *out, const mp_snapshot_analysis *a, const mp_group *gp, size_t rank,
                         size_t total);
/* The JSON object of group gp (maproot-analyze(1), "group_suspects");
 * NULL when out of memory. */
json_t *mp_group_json(const mp_snapshot_analysis *a, const mp_group *gp, size_t rank);

#endif
