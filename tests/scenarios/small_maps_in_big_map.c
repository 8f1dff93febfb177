/*
 * tests/scenarios/small_maps_in_big_map.c -- small maps of one type that
 * are the values of one big map: the big map is the leak.
 *
 * TRUTH. The global `sessions` is a map[int64]*Session that only grows
 * (3,000 entries); each Session carries its own map[int64]*Attr of 1 to
 * 3 entries (a 1 KiB blob each).
 *   sessions  the big map retains nearly the whole heap, the small maps
 *             included: the one suspect, first.
 *   the small maps are of one type under one holder (the big map's
 *             table), but their bytes are the big map's, already its
 *             finding: no suspect group for the same bytes.
 *   first     one session's small map: alone no suspect.
 *
 * Snapshot "held" is written from sc_main; "exit" at exit.
 */
#include "scenario.h"

enum { SESSIONS = 3000, BLOB = 1024 };

SC_ITEM_TYPE(attr_type, Attr);
static const mr_map_type attrs_type = {"map[int64]*Attr", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type sessions_type = {"map[int64]*Session", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

typedef struct Session {
    int64_t id;
    mr_map *attrs;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, attrs));

static mr_map *sessions;
MR_GLOBAL(sessions)
static Session *last;

__attribute__((noinline)) static void build(void)
{
    sessions = mr_map_new(&sessions_type, 0);
    for (int64_t i = 0; i < SESSIONS; i++) {
        Session *s = mr_new(&session_type);
        s->id = i;
        s->attrs = mr_map_new(&attrs_type, 0);
        sc_fill(s->attrs, &attr_type, 0, 1 + i % 3, BLOB);
        *(Session **)mr_map_assign_int(sessions, i) = s;
        last = s;
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "sessions", sessions);
    sc_truth_map(snapshot, "first", last->attrs);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
