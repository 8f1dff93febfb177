/*
 * tests/scenarios/map_chain.c -- a leak at the bottom of 10,000 maps, each
 * the value of an entry of the one above (a scope tree, a trie of maps,
 * map[K]map[K]map[K]... as deep as the data goes).
 *
 * TRUTH. The global `scopes` holds level 0, a map[int64]*Scope; level i
 * (i = 0 .. 9,998) has two entries: key 0, whose value is the header of
 * level i + 1, and key 1, a Note (with a 48-byte blob) of its own. Level
 * 9,999 is a map[int64]*Event of 6,000 events (each with a 256-byte blob),
 * only ever added (the leak).
 *   events   the leaking map. Root: global scopes, its only one; the chain
 *            goes from the root through the 9,999 scope maps above it (one
 *            map step each, however they are shown or elided) to its
 *            header. A suspect retaining exactly its objects (not the maps
 *            above it).
 *   top      level 0: retains everything below it (every level's table,
 *            Note and blob, and the leak): the runtime's figure. Root:
 *            global scopes.
 * The depth is the program's: an analysis that recursed down nested maps
 * (their entries, their retained sizes, their inner suspects) would
 * exhaust its stack here, and one that walked up from each of them to the
 * root would take time in the square of the depth.
 * The one suspect is events: each map above it holds two entries, one of
 * them leading to the leak, and no leak of its own.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { LEVELS = 10000, EVENTS = 6000 };

SC_ITEM_TYPE(event_type, Event);
SC_ITEM_TYPE(note_type, Note);

static const mr_map_type scope_type = {"map[int64]*Scope", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type events_type = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *scopes;
MR_GLOBAL(scopes)

/* The map at level i (levels 0 .. LEVELS - 1), walked down from the top. */
static mr_map *level(int i)
{
    mr_map *m = scopes;
    for (int l = 0; l < i; l++) {
        mr_map **v = mr_map_lookup_int(m, 0);
        if (!v) sc_fail("level %d has no key 0", l);
        m = *v;
    }
    return m;
}

/* Builds the levels from the top down: each new map is stored in its
 * parent's entry before it gets entries of its own. */
__attribute__((noinline)) static void build(void)
{
    scopes = mr_map_new(&scope_type, 0);
    mr_map *m = scopes;
    for (int i = 0; i < LEVELS - 1; i++) {
        mr_map *next = mr_map_new(i == LEVELS - 2 ? &events_type : &scope_type, 0);
        *(mr_map **)mr_map_assign_int(m, 0) = next;
        *(sc_item **)mr_map_assign_int(m, 1) = sc_new_item(&note_type, i, 48);
        m = next;
    }
    sc_fill(m, &event_type, 0, EVENTS, 256);
}

static void truths(const char *snapshot)
{
    mr_map *leak = level(LEVELS - 1);
    if (mr_map_len(leak) != EVENTS) sc_fail("the bottom level is not the leak");
    sc_truth_map(snapshot, "events", leak);
    sc_truth_map(snapshot, "top", scopes);
    sc_truth(snapshot, "events", "\"maps_above\": %d", LEVELS - 1);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
