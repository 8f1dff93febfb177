/*
 * tests/scenarios/small_maps_swell.c -- many small maps under one holder
 * that each grow a little, none of them new: together they grow without
 * bound while no map grows enough to be a leak on its own.
 *
 * TRUTH. Six in-process snapshots "s0" .. "s5", one after each step of the
 * program. Three holders, each with maps of a type of its own:
 *   sessions  the global `sessions`, an array of 2,000 Sessions made in
 *             the first step, each with its own map[int64]*Attr of one
 *             entry (an Attr with a 64-byte blob). Every step adds 3
 *             entries to every map; no Session is ever added or dropped.
 *             Each map gains 12 entries and a few KiB over the gate's
 *             window (the last 4 intervals): far below the growth rule's
 *             minimums (1,000 entries, 1 MiB), each passes. Their group
 *             gains 6,000 entries every step: maproot gate fails on it
 *             (rule growth, by entries), naming the group (its members'
 *             type, its holder's root) with the runtime's figures; maproot
 *             diff s1 -> s5 shows the group growing, and none of its maps
 *             as a growing map of its own.
 *   pair      the global `pair`, a Pair of two map[int64]*Pref: `hot`
 *             gains 1,500 entries every step, `cold` keeps its 2. The
 *             group of the two grows only by hot, which fails the growth
 *             rule on its own: the gate names hot once, as a map, and
 *             the group's growth check passes, with hot's growth set
 *             apart; diff shows hot growing and the group not.
 *   churn     the global `churn`, an array of 500 Tagged, each with its
 *             own map[int64]*Tag of 4 entries. Every step deletes 3
 *             entries of every map and inserts 3 new ones: the counts and
 *             bytes stay. The group passes the gate; diff: not growing.
 */
#include "scenario.h"

enum {
    STEPS = 6,
    SESSIONS = 2000,
    PER_STEP = 3,
    HOT_PER_STEP = 1500,
    CHURNED = 500,
    CHURN_KEEP = 4,
    BLOB = 64
};

SC_ITEM_TYPE(attr_type, Attr);
SC_ITEM_TYPE(pref_type, Pref);
SC_ITEM_TYPE(tag_type, Tag);
static const mr_map_type attrs_type = {"map[int64]*Attr", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type prefs_type = {"map[int64]*Pref", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type tags_type = {"map[int64]*Tag", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct Session {
    int64_t id;
    mr_map *attrs;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, attrs));

typedef struct Pair {
    mr_map *hot, *cold;
} Pair;
MR_TYPE(pair_type, Pair, MR_FIELD(Pair, hot), MR_FIELD(Pair, cold));

typedef struct Tagged {
    int64_t id;
    mr_map *tags;
} Tagged;
MR_TYPE(tagged_type, Tagged, MR_FIELD(Tagged, tags));

static Session **sessions;
MR_GLOBAL(sessions)
static Pair *pair;
MR_GLOBAL(pair)
static Tagged **churn;
MR_GLOBAL(churn)

/* The first step: every holder and its maps. */
static void make_all(void)
{
    sessions = mr_new_array(&mr_type_pointer, SESSIONS);
    for (int64_t i = 0; i < SESSIONS; i++) {
        Session *x = mr_new(&session_type);
        x->id = i;
        x->attrs = mr_map_new(&attrs_type, 0);
        sc_fill(x->attrs, &attr_type, 0, 1, BLOB);
        sessions[i] = x;
    }
    pair = mr_new(&pair_type);
    pair->hot = mr_map_new(&prefs_type, 0);
    pair->cold = mr_map_new(&prefs_type, 0);
    sc_fill(pair->cold, &pref_type, 0, 2, BLOB);
    churn = mr_new_array(&mr_type_pointer, CHURNED);
    for (int64_t i = 0; i < CHURNED; i++) {
        Tagged *x = mr_new(&tagged_type);
        x->id = i;
        x->tags = mr_map_new(&tags_type, 0);
        sc_fill(x->tags, &tag_type, 0, CHURN_KEEP, BLOB);
        churn[i] = x;
    }
}

/* Step s: every session's map gains PER_STEP entries, hot gains
 * HOT_PER_STEP, every churned map swaps 3 of its entries for new ones
 * (it deletes the keys the step before inserted, (s-1)*4 .. (s-1)*4+2,
 * and inserts s*4 .. s*4+2; key 3 stays throughout). */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        make_all();
        return;
    }
    for (int64_t i = 0; i < SESSIONS; i++)
        sc_fill(sessions[i]->attrs, &attr_type, 1 + (int64_t)(s - 1) * PER_STEP, PER_STEP, BLOB);
    sc_fill(pair->hot, &pref_type, (int64_t)(s - 1) * HOT_PER_STEP, HOT_PER_STEP, BLOB);
    for (int64_t i = 0; i < CHURNED; i++) {
        for (int64_t j = 0; j < CHURN_KEEP - 1; j++)
            mr_map_delete_int(churn[i]->tags, (int64_t)(s - 1) * CHURN_KEEP + j);
        sc_fill(churn[i]->tags, &tag_type, (int64_t)s * CHURN_KEEP, CHURN_KEEP - 1, BLOB);
    }
}

static void truths(const char *snapshot)
{
    static mr_map *all[SESSIONS];
    for (size_t i = 0; i < SESSIONS; i++) all[i] = sessions[i]->attrs;
    sc_truth_group(snapshot, "sessions", all, SESSIONS, sessions);
    mr_map *two[2] = {pair->hot, pair->cold};
    sc_truth_group(snapshot, "pair", two, 2, pair);
    sc_truth_map(snapshot, "hot", pair->hot);
    for (size_t i = 0; i < CHURNED; i++) all[i] = churn[i]->tags;
    sc_truth_group(snapshot, "churn", all, CHURNED, churn);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    for (int64_t i = 0; i < SESSIONS; i++)
        if (mr_map_len(sessions[i]->attrs) != 1 + (STEPS - 1) * PER_STEP)
            sc_fail("session %" PRId64 " has the wrong number of entries", i);
    for (int64_t i = 0; i < CHURNED; i++)
        if (mr_map_len(churn[i]->tags) != CHURN_KEEP) sc_fail("a churned map changed its count");
    if (mr_map_len(pair->hot) != (size_t)(STEPS - 1) * HOT_PER_STEP)
        sc_fail("hot has the wrong number of entries");
    return rc;
}
