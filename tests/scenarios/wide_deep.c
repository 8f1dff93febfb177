/*
 * tests/scenarios/wide_deep.c -- a leak behind the last element of an array
 * of 400,000 pointers, and one at the end of a 10,000-node list whose every
 * node points back at its head, with shortcuts along the way.
 *
 * TRUTH. Globals:
 *   slots     an array object of 400,000 pointers, each at a Slot of its
 *             own (a Slot: a map pointer and an id). The edges of so wide
 *             an object fill several records of a snapshot.
 *     last    the map[int64]*Event (6,000 events of 400 bytes, only ever
 *             added: the leak) of the Slot at element [399,999]: rooted at
 *             global slots; its chain is slots -> the array, element
 *             [399999] -> that Slot -> the map header (two objects); a
 *             suspect (large_share), retaining exactly its own objects.
 *     middle  the 10-event map[int64]*MidEvent of the Slot at [200,000]:
 *             chain slots -> the array, element [200000] -> Slot -> its
 *             header; no suspect; exactly its own objects.
 *   ring      the head of a list of 10,000 Links: link i points at link
 *             i + 1 (next), at the head (back: every link is in a cycle
 *             through the head), and, when i is a multiple of 100, at link
 *             i + 100 (skip). The last link holds a map[int64]*Record
 *             (5,000 records of 400 bytes, the leak).
 *     deep    rooted at global ring; its chain is the shortest way from
 *             the head: 99 skips and 99 nexts, so it passes exactly 199
 *             Links (the program finds the distance by a breadth-first
 *             search of its own, printed as chain_links); a suspect
 *             (large_share) retaining exactly its own objects (none of the
 *             Links: the head reaches every one).
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { WIDE = 400000, LAST = WIDE - 1, MIDDLE = 200000, LINKS = 10000, SKIP = 100 };

typedef struct Slot {
    mr_map *table;
    int64_t id;
} Slot;
MR_TYPE(slot_type, Slot, MR_FIELD(Slot, table));

typedef struct Link {
    struct Link *next, *back, *skip;
    mr_map *table;
} Link;
MR_TYPE(link_type, Link, MR_FIELD(Link, next), MR_FIELD(Link, back), MR_FIELD(Link, skip),
        MR_FIELD(Link, table));

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type event_map = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type mid_map = {"map[int64]*MidEvent", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type record_map = {"map[int64]*Record", MR_KEY_INT64, NULL, &mr_type_pointer};

static Slot **slots;
static Link *ring;
MR_GLOBAL(slots)
MR_GLOBAL(ring)

/* The maps, for the truth lines (plain statics are no roots). */
static uintptr_t last_at, middle_at, deep_at;

SC_NOCLONE static void build(void)
{
    slots = mr_new_array(&mr_type_pointer, WIDE);
    for (int64_t i = 0; i < WIDE; i++) {
        Slot *s = mr_new(&slot_type);
        s->id = i;
        slots[i] = s;
    }
    slots[LAST]->table = mr_map_new(&event_map, 0);
    sc_fill(slots[LAST]->table, &event_type, 0, 6000, 400);
    last_at = (uintptr_t)slots[LAST]->table;
    slots[MIDDLE]->table = mr_map_new(&mid_map, 0);
    sc_fill(slots[MIDDLE]->table, &event_type, 0, 10, 400);
    middle_at = (uintptr_t)slots[MIDDLE]->table;

    Link **all = malloc(LINKS * sizeof *all); /* a scratch index, freed below */
    if (!all) sc_fail("out of memory");
    ring = all[0] = mr_new(&link_type);
    for (int i = 1; i < LINKS; i++) {
        all[i] = mr_new(&link_type);
        all[i - 1]->next = all[i];
    }
    for (int i = 0; i < LINKS; i++) {
        all[i]->back = ring;
        if (i % SKIP == 0 && i + SKIP < LINKS) all[i]->skip = all[i + SKIP];
    }
    all[LINKS - 1]->table = mr_map_new(&record_map, 0);
    sc_fill(all[LINKS - 1]->table, &event_type, 0, 5000, 400);
    deep_at = (uintptr_t)all[LINKS - 1]->table;
    memset(all, 0, LINKS * sizeof *all);
    free(all);
}

/* The Links on the shortest way from the head to the last one, both
 * included: a breadth-first search over the Links' own pointers. */
static int64_t chain_links(void)
{
    sc_set seen = {0};
    sc_todo level = {0}, next = {0};
    sc_push(&level, (uintptr_t)ring);
    sc_set_add(&seen, (uintptr_t)ring);
    for (int64_t depth = 1; level.n; depth++) {
        for (size_t i = 0; i < level.n; i++) {
            const Link *l = (const Link *)level.v[i];
            if ((uintptr_t)l->table == deep_at) {
                free(seen.k), free(level.v), free(next.v);
                return depth;
            }
            const Link *to[3] = {l->next, l->back, l->skip};
            for (int j = 0; j < 3; j++)
                if (to[j] && sc_set_add(&seen, (uintptr_t)to[j])) sc_push(&next, (uintptr_t)to[j]);
        }
        sc_todo t = level;
        level = next;
        next = t;
        next.n = 0;
    }
    sc_fail("the last link is not reachable from the head");
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "last", (const mr_map *)last_at);
    sc_truth_map(snapshot, "middle", (const mr_map *)middle_at);
    sc_truth_map(snapshot, "deep", (const mr_map *)deep_at);
    sc_truth(snapshot, "deep", "\"chain_links\": %" PRId64, chain_links());
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
