/*
 * tests/scenarios/small_maps_series.c -- many small maps that accumulate
 * over a series of snapshots: the gate and diff judge them together.
 *
 * TRUTH. Six in-process snapshots "s0" .. "s5", one after each step of the
 * program. Every step pushes 120 new Sessions at the front of the list
 * held by the global `sessions` (a request that leaves its session
 * behind), each Session with its own map[int64]*Attr of one entry (an Attr
 * with a 64-byte blob); no session is ever dropped.
 *   sessions  the group: every Session's map, of one type, under one
 *             holder -- the head of the list (a new object every step,
 *             always the one the global points at): 120 maps in s0, 720 in
 *             s5, one entry each. No map ever grows: each is followed, and
 *             passes. Together they grow in every interval: 120 maps, 120
 *             entries and a few tens of KiB at a time -- below the growth
 *             rule's minimum of entries (1,000 over its window of 4
 *             intervals) and bytes (1 MiB), above its minimum of maps
 *             (100). maproot gate fails on the group (rule growth), naming
 *             it by its members' type and its holder's root; its figures
 *             at every snapshot are the runtime's own.
 *   diff      s0 -> s5: the group, in both, grew from 120 to 720 maps and
 *             entries and by more than the significance yardstick
 *             (64 KiB): growing, a suspect of s5. s0 -> s1 grew by less
 *             than that yardstick: not growing.
 */
#include "scenario.h"

enum { STEPS = 6, PER_STEP = 120, BLOB = 64, MAX = STEPS * PER_STEP };

SC_ITEM_TYPE(attr_type, Attr);
static const mr_map_type attrs_type = {"map[int64]*Attr", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct Session {
    int64_t id;
    struct Session *next;
    mr_map *attrs;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, next), MR_FIELD(Session, attrs));

static Session *sessions;
MR_GLOBAL(sessions)

/* Step s: the requests of one interval, each leaving its session. */
__attribute__((noinline)) static void step(int s)
{
    for (int64_t i = 0; i < PER_STEP; i++) {
        Session *x = mr_new(&session_type);
        x->id = (int64_t)s * PER_STEP + i;
        x->attrs = mr_map_new(&attrs_type, 0);
        sc_fill(x->attrs, &attr_type, x->id, 1, BLOB);
        x->next = sessions;
        sessions = x;
    }
}

static void truths(const char *snapshot)
{
    static mr_map *all[MAX];
    size_t n = 0;
    for (Session *x = sessions; x; x = x->next) all[n++] = x->attrs;
    sc_truth_group(snapshot, "sessions", all, n, sessions);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    size_t n = 0;
    for (Session *x = sessions; x; x = x->next) n++;
    if (n != MAX) sc_fail("the list has the wrong length");
    return rc;
}
