/*
 * tests/scenarios/small_maps.c -- many small maps that leak together: no
 * map is large, their sum is most of the heap.
 *
 * TRUTH. The global `sessions` is an array of pointers to 3,000 Session
 * objects, only ever appended to (the leak). Each Session carries its own
 * map[int64]*Attr of 1 to 3 entries, each Attr with a 1 KiB blob.
 *
 *   first  the newest session's map (1 entry): rooted at global sessions
 *          through the array and the Session, retaining exactly its own
 *          objects. Alone it is no suspect: a few KiB.
 *   sessions the 3,000 maps together hold nearly the whole heap, all
 *          under the one root, all of one type, all made at one site:
 *          one leak suspect, a group of 3,000 maps whose holder is the
 *          array (the lowest object every one is reached through), 6,000
 *          entries (1 to 3 a map, median 2), retaining exactly what their
 *          tables dominate together. A report that lists them one by one,
 *          a few KiB at a time, and says "no leak suspects" hides the
 *          leak.
 *
 * Snapshot "held" is written from sc_main; "exit" at exit.
 */
#include "scenario.h"

enum { SESSIONS = 3000, BLOB = 1024 };

SC_ITEM_TYPE(attr_type, Attr);
static const mr_map_type attrs_type = {"map[int64]*Attr", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct Session {
    int64_t id;
    mr_map *attrs;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, attrs));

static Session **sessions;
MR_GLOBAL(sessions)

__attribute__((noinline)) static void build(void)
{
    sessions = mr_new_array(&mr_type_pointer, SESSIONS);
    for (int64_t i = 0; i < SESSIONS; i++) {
        Session *s = mr_new(&session_type);
        s->id = i;
        s->attrs = mr_map_new(&attrs_type, 0);
        sc_fill(s->attrs, &attr_type, 0, 1 + i % 3, BLOB);
        sessions[i] = s;
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "first", sessions[SESSIONS - 1]->attrs);
    static mr_map *all[SESSIONS];
    for (int i = 0; i < SESSIONS; i++) all[i] = sessions[i]->attrs;
    sc_truth_group(snapshot, "sessions", all, SESSIONS, sessions);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
