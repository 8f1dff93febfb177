/*
 * tests/scenarios/small_maps_plateau.c -- many small maps under one holder
 * whose number plateaus: a bounded pool, no leak.
 *
 * TRUTH. Six in-process snapshots "s0" .. "s5", one after each step of the
 * program. The global `pool` is an array of 300 slots, filled in s0 with a
 * Session each, each Session with its own map[int64]*Attr of one entry (an
 * Attr with a 64-byte blob). Every later step replaces 100 of the Sessions
 * (the oldest: a new Session and a new map in the slot, the old ones
 * garbage).
 *   pool   the group: the Sessions' maps, of one type, under the array:
 *          300 maps, 300 entries and the same bytes in every snapshot.
 *          Its members are new maps at every step, but the group is one,
 *          and it does not grow: maproot gate passes, following it through
 *          the series with the runtime's own figures.
 */
#include "scenario.h"

enum { STEPS = 6, POOL = 300, REPLACED = 100, BLOB = 64 };

SC_ITEM_TYPE(attr_type, Attr);
static const mr_map_type attrs_type = {"map[int64]*Attr", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct Session {
    int64_t id;
    mr_map *attrs;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, attrs));

static Session **pool;
MR_GLOBAL(pool)

static Session *new_session(int64_t id)
{
    Session *x = mr_new(&session_type);
    x->id = id;
    x->attrs = mr_map_new(&attrs_type, 0);
    sc_fill(x->attrs, &attr_type, id, 1, BLOB);
    return x;
}

/* Step s: fill the pool (s0), then replace its oldest REPLACED sessions. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        pool = mr_new_array(&mr_type_pointer, POOL);
        for (int64_t i = 0; i < POOL; i++) pool[i] = new_session(i);
        return;
    }
    for (int64_t i = 0; i < REPLACED; i++) {
        int64_t id = POOL + (int64_t)(s - 1) * REPLACED + i;
        pool[id % POOL] = new_session(id);
    }
}

static void truths(const char *snapshot)
{
    static mr_map *all[POOL];
    for (size_t i = 0; i < POOL; i++) all[i] = pool[i]->attrs;
    sc_truth_group(snapshot, "pool", all, POOL, pool);
}

int main(int argc, char **argv)
{
    return sc_series_main(argc, argv, STEPS, step, truths);
}
