/*
 * tests/scenarios/growing_outer.c -- an outer map that leaks by gaining
 * entries, each a small inner map, and holds one large inner map too.
 *
 * TRUTH. The global `sessions` is a map[int64]map[int64]*Event. Sessions
 * 1 .. 500 each get an inner map of 16 events (200-byte payloads) and are
 * never removed: no inner map of theirs is significant, the bytes pile up
 * in the outer map's entries (its leak). Session 0's inner map, `firehose`,
 * holds 5,000 events and is never pruned (a leak of its own, over a third of
 * the heap).
 *
 *   firehose   a suspect (large_share), retaining exactly its own objects,
 *              ranked second: the outer map's own bytes are more.
 *   sessions   a suspect (large_share) retaining every inner map, ranked
 *              first by what it holds besides firehose; firehose is inside
 *              it: inner_suspect_bytes is what firehose retains.
 *   session1   a 16-event inner map: no suspect, nothing inside it.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { SESSIONS = 500, FEW = 16, MANY = 5000, PAYLOAD = 200 };

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type events_type = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type sessions_type = {"map[int64]map[int64]*Event", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

static mr_map *sessions;
MR_GLOBAL(sessions)

__attribute__((noinline)) static void build(void)
{
    sessions = mr_map_new(&sessions_type, 0);
    for (int64_t s = 0; s <= SESSIONS; s++) {
        mr_map *inner = mr_map_new(&events_type, 0);
        *(mr_map **)mr_map_assign_int(sessions, s) = inner;
        sc_fill(inner, &event_type, 0, s == 0 ? MANY : FEW, PAYLOAD);
    }
}

static mr_map *session(int64_t s)
{
    mr_map *m = NULL;
    if (!mr_map_get(sessions, &s, &m) || !m) sc_fail("no session %" PRId64, s);
    return m;
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    mr_map *firehose = session(0);
    sc_truth_map(snapshot, "firehose", firehose);
    sc_truth_map(snapshot, "session1", session(1));
    sc_truth_map(snapshot, "sessions", sessions);
    sc_truth(snapshot, "sessions", "\"inner_suspect_bytes\": %" PRIu64,
             sc_map_retained(firehose, NULL));
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
