/*
 * tests/scenarios/two_globals.c -- maps held by two globals each: a leak,
 * and a bounded map that is no leak.
 *
 * TRUTH.
 *   docs      map[string]*Doc of 40,000 docs (each with a 160-byte blob),
 *             never pruned (a leak). Both globals `primary_docs` and
 *             `replica_docs` point at it. The root named is one of them
 *             (both are globals: either is right), the other is listed once
 *             among the other roots. A suspect (large_share); being held
 *             twice is context, not evidence. It retains every doc: both
 *             roots point at its header.
 *   sessions  map[int64]*Session of exactly 1,000 sessions (a bounded
 *             table: the program replaces entries in place, 5,000 writes in
 *             all), about 2% of the heap, held by the globals `sessions_a`
 *             and `sessions_b`. Being held by two roots is no evidence of a
 *             leak: it is no suspect.
 *
 * Snapshots "held" (in-process, from main) and "exit" see the same heap.
 */
#include "scenario.h"

enum { DOCS = 40000, SESSIONS = 1000, WRITES = 5000 };

SC_ITEM_TYPE(doc_type, Doc);
SC_ITEM_TYPE(session_type, Session);

static const mr_map_type docs_type = {"map[string]*Doc", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type sessions_type = {"map[int64]*Session", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

static mr_map *primary_docs, *replica_docs, *sessions_a, *sessions_b;
MR_GLOBAL(primary_docs)
MR_GLOBAL(replica_docs)
MR_GLOBAL(sessions_a)
MR_GLOBAL(sessions_b)

__attribute__((noinline)) static void build(void)
{
    primary_docs = mr_map_new(&docs_type, 0);
    replica_docs = primary_docs;
    for (int64_t i = 0; i < DOCS; i++)
        *(Doc **)mr_map_assign_str(primary_docs, mr_str_printf("doc-%" PRId64, i)) =
            sc_new_item(&doc_type, i, 160);
    sessions_a = mr_map_new(&sessions_type, 0);
    sessions_b = sessions_a;
    for (int64_t w = 0; w < WRITES; w++)
        *(Session **)mr_map_assign_int(sessions_a, w % SESSIONS) =
            sc_new_item(&session_type, w, 192);
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "docs", primary_docs);
    sc_truth_map(snapshot, "sessions", sessions_a);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
