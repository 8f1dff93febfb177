/*
 * tests/scenarios/self_holding.c -- maps that hold themselves and each
 * other as values: a map[string]any registry with itself under "self"
 * (as a scope or environment map that lists itself does), two maps that
 * point at each other under "peer", and a self-holding map nothing else
 * refers to.
 *
 * TRUTH. Values are generic pointers (map[string]any). Globals:
 *   registry  its own header under the key "self", and 4,000 Items
 *             ("item-N", each with a 256-byte blob), only ever added (a
 *             leak). Root: global registry, its only one; its chain is
 *             the global and the header, no step through its own slot. A
 *             suspect retaining exactly its objects; the entry "self"
 *             retains its key string alone (deleting it frees nothing
 *             else), an "item-N" entry its key, Item and blob.
 *   ring_a    a map A of 10 Notes (64-byte blobs) and "peer" -> map B;
 *             B holds "peer" -> A and 5,000 Events ("ev-N", 200-byte
 *             blobs), only ever added (the leak). Only the global reaches
 *             A. B: root global ring_a, its chain through A's header and
 *             the slot of A's key "peer" (B's own slot "peer", back at A,
 *             is no step of it); a suspect retaining exactly its objects
 *             (not A's: the global keeps A). A retains its own objects and
 *             every one of B's; A's entry "peer" retains B's.
 *   orphan    (not a root) a map of 1,000 Notes holding itself under
 *             "self", dropped: a cycle of garbage, absent from both
 *             snapshots.
 * Snapshots "held" (in-process, from sc_main) and "exit" see the same heap.
 */
#include "scenario.h"

enum { ITEMS = 4000, ITEM_BLOB = 256, EVENTS = 5000, EVENT_BLOB = 200, NOTES = 10, ORPHANS = 1000 };

SC_ITEM_TYPE(item_type, Item);
SC_ITEM_TYPE(event_type, Event);
SC_ITEM_TYPE(note_type, Note);

static const mr_map_type any_type = {"map[string]any", MR_KEY_STRING, NULL, &mr_type_pointer};

static mr_map *registry, *ring_a;
MR_GLOBAL(registry)
MR_GLOBAL(ring_a)

static uintptr_t ring_b, orphan; /* the addresses only: no roots */

/* Sets m[prefix-i] for i in [0, n) to new items of type t. */
static void fill_named(mr_map *m, const char *prefix, const mr_type *t, int n, size_t blob)
{
    for (int i = 0; i < n; i++)
        *(sc_item **)mr_map_assign_str(m, mr_str_printf("%s-%d", prefix, i)) =
            sc_new_item(t, i, blob);
}

/* The orphan, made on a thread that then exits: no frame keeps it. */
static void *make_orphan(void *arg)
{
    (void)arg;
    mr_map *m = mr_map_new(&any_type, 0);
    *(mr_map **)mr_map_assign_str(m, mr_str_from("self")) = m;
    fill_named(m, "note", &note_type, ORPHANS, 64);
    orphan = (uintptr_t)m;
    return NULL;
}

__attribute__((noinline)) static void build(void)
{
    registry = mr_map_new(&any_type, 0);
    *(mr_map **)mr_map_assign_str(registry, mr_str_from("self")) = registry;
    fill_named(registry, "item", &item_type, ITEMS, ITEM_BLOB);

    ring_a = mr_map_new(&any_type, 0);
    mr_map *b = mr_map_new(&any_type, 0);
    *(mr_map **)mr_map_assign_str(ring_a, mr_str_from("peer")) = b;
    *(mr_map **)mr_map_assign_str(b, mr_str_from("peer")) = ring_a;
    fill_named(ring_a, "note", &note_type, NOTES, 64);
    fill_named(b, "ev", &event_type, EVENTS, EVENT_BLOB);
    ring_b = (uintptr_t)b;

    sc_in_dead_thread(make_orphan);
    mr_gc();
}

/* registry's entries: "self" retains its key string, an item its key, Item
 * and blob. */
static void registry_entry(const mr_map_slot *s, void *ud)
{
    const mr_str *k = s->key;
    const void *v = *(void *const *)s->value;
    void *kstart = NULL;
    mr_object_type(k->ptr, &kstart);
    uint64_t kb = mr_object_size(kstart), bytes = kb;
    if (v != registry) {
        const sc_item *it = v;
        bytes += mr_object_size(it) + mr_object_size(it->blob);
    }
    sc_entry(ud, k->ptr, kb, bytes);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "registry", registry);
    sc_truth_slots(snapshot, "registry", registry, registry_entry);
    sc_truth_map(snapshot, "ring_a", ring_a);
    sc_truth_map(snapshot, "ring_b", (const mr_map *)ring_b);
    sc_truth(snapshot, "ring_b", "\"peer_bytes\": %" PRIu64,
             sc_map_retained((const mr_map *)ring_b, NULL));
    sc_truth(snapshot, "orphan", "\"address\": %" PRIuPTR, orphan);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
