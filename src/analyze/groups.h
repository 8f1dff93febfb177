/*
 * src/analyze/groups.h -- many small maps of one type under one holder,
 * judged together.
 *
 * A leak can be a structure that only grows, each of whose elements holds
 * a small map: no map is large, their sum is most of the heap. Judged one
 * by one (findings.h) every map is a few KiB and none is a suspect. A
 * group is judged as one.
 *
 * Definitions:
 *   - a member: a live map (its header reachable); maps of one group have
 *     one type name (g->maps[k].type_name);
 *   - the top of a member: the node of the dominator tree (dominators.h)
 *     right under the super-root above its header: a root's node when one
 *     root alone keeps the header, else the object that several roots
 *     share. Maps under different tops are not grouped (different
 *     globals, different threads' stacks, unrelated structures), except
 *     when the tops are one variable of several threads (mp_root_variable,
 *     map_match.h): the same thread-local variable, or the same local of
 *     one function's frames. A top is one thread's instance of a variable
 *     when it is such a root, or an object no object points to that only
 *     such roots of one thread point to (a frame that keeps the map in two
 *     words), the least of them by variable standing for it. Each thread
 *     has its own, and what a user looks for is the variable;
 *   - the holder of a group: the lowest common dominator of its members'
 *     headers (the accumulation point: the array, list head or struct
 *     through which every member is kept); a root's node when no object
 *     is common to them all; for a variable of several threads, the first
 *     thread's root (each thread's members have a holder of their own,
 *     in no map's table, and are set apart as nested alike);
 *   - nested: a member whose header lies under another member's header in
 *     the dominator tree (a map of the type inside a value of another)
 *     counts once, in the outer member: it is not a member of its own;
 *   - a group has two members or more (nested ones aside), and its holder
 *     lies in no map's table: maps that are the values of another map's
 *     entries are that map's bytes, judged with it (findings.h);
 *   - retained: the sum of its members' retained sizes (disjoint: no
 *     member dominates another's header);
 *   - score: retained less what is judged elsewhere: the bytes of members
 *     that are suspects on their own (their finding) and of suspect maps
 *     inside members (inner_bytes), so that no byte counts in two
 *     suspects.
 * Judged by a single map's yardsticks (mp_findings.significant,
 * share_pct): LARGE_SHARE when the score is at least share_pct of the
 * reachable heap; a suspect when LARGE_SHARE and the score is significant.
 * Only groups whose score could pass are looked at and kept (the walks
 * cost nothing otherwise: a few large maps that are suspects on their own
 * score nothing together), unless every group is asked for: a comparison
 * of snapshots (group_diff.h, gate.h) follows a group while it is small,
 * and judges its growth (GROWING, set by the caller: mp_groups_rerank).
 *
 * Cost: a pass over the maps, a sort of the candidates, and for each
 * candidate group a walk up the dominator tree from each member's header
 * that stops at the first node an earlier walk met: each node of the
 * union of those paths is visited once (a list of a million elements,
 * each with a map, is walked once, not a million times), and once more to
 * clear the memo for the next group (so that every group of a heap, when
 * all are asked for, costs its own nodes and not the heap's).
 *
 * Memory: the walks remember what they met in d->root_of, lent (the array
 * is filled back from the tree in one pass at the end), so a group costs
 * its reference chain and a few bytes per member (and, when every group
 * is asked for, 4 bytes per map of the heap: member_of); the maps that several
 * roots keep are told apart by their tops, found for all of them at once
 * by one pass over the objects (mp_dom_fill_top_of, in d->root_of lent
 * the same way): no memory of their own. mp_groups owns its arrays (mp_groups_free).
 * Errors: -1 with err set when out of memory.
 */
#ifndef MP_GROUPS_H
#define MP_GROUPS_H

#include "analyze/dominators.h"
#include "analyze/findings.h"
#include "analyze/graph.h"

typedef struct mp_group {
    uint32_t type_map; /* a member: the group's type is its type name */
    uint32_t holder;   /* dominator-tree node: an object, or a root's node (d->nobjects + r) */
    uint32_t root;     /* the single root keeping the holder, MP_NONE when several */
    uint32_t example;  /* the member that retains the most (map index) */
    uint64_t nmaps;    /* members, nested ones not counted */
    uint64_t nested;   /* maps of the type nested inside members */
    uint64_t entries;  /* live entries of the members (their headers' counts) */
    uint64_t min_entries, median_entries, max_entries;
    uint64_t retained;        /* sum of the members' retained sizes */
    /* what the holder retains: for one variable of several threads, what
     * its instances in all of them retain (the sum over its tops, disjoint
     * subtrees), not the first thread's alone */
    uint64_t holder_retained;
    uint64_t score;           /* retained less the bytes judged elsewhere (see above) */
    uint64_t suspect_members; /* members that are suspects on their own */
    uint32_t evidence;        /* MP_EV_LARGE_SHARE; MP_EV_GROWING from a comparison */
    bool suspect;
    uint32_t id; /* the order it was made in: what member_of names it by */
    /* the tops its members hang from: 1, or the instances of one variable
     * in several threads (ntops of them, of nthreads threads): the holder is
     * then the node of the root that stands for the first, and root that
     * root (mp_root_variable) */
    uint32_t ntops, nthreads;
    /* sampled allocation sites of the members' headers, most samples first
     * (header_samples: how many headers were sampled); when none was, those
     * of the objects the members' entries own (sites_of_entries) */
    mp_site_count sites[MP_MAX_SITES];
    uint32_t nsites;
    uint64_t header_samples;
    bool sites_of_entries;
} mp_group;

typedef struct mp_groups {
    mp_group *groups; /* suspects first, then by score; ties by type_map */
    size_t n, nsuspects;
    /* with every group asked for (a comparison weighs a group's growth
     * against its members' own): per map of g, the id of the group it is
     * a member of, MP_NONE for none (nested maps included); else NULL */
    uint32_t *member_of;
} mp_groups;

/* The groups of the maps of g (f: their findings, d and g's dominator
 * tree). Only groups whose score reaches significance and share are kept,
 * or with all every group of two members or more (each judged alike).
 * d->root_of is lent to the walks as their memo and holds its values again
 * on return (mp_dom_fill_root_of), success or not: d is otherwise only
 * read. */
int mp_groups_compute(const mp_graph *g, mp_dom *d, const mp_findings *f, bool all, mp_groups *out,
                      mf_error *err);
/* After the caller marked growing groups (MP_EV_GROWING): each is a
 * suspect, as a growing map is (mp_findings_rerank); suspects first again
 * (growing first among them), nsuspects recounted. */
void mp_groups_rerank(mp_groups *gr);
/* The index in gr->groups of each group id (ids[id] = index; gr->n
 * entries); NULL when out of memory. Ids outlive the sorts that move the
 * groups. */
uint32_t *mp_groups_index_of_ids(const mp_groups *gr);
void mp_groups_free(mp_groups *gr);

#endif
