/*
 * tests/scenarios/self_refs.c -- maps whose values point back into the
 * same map: at another entry's value, at the map's own bucket array, and
 * (pointer keys) at another entry's key.
 *
 * TRUTH. Globals:
 *   pairs    map[int64]*Link of 3,000 Links (hint 3,000: the bucket array
 *            never grows). Link k has a blob of 48 + 8 * (k % 50) bytes;
 *            the Link of every even key k points (next) at the Link of
 *            key k + 1. So the Link of an odd key is reached from its own
 *            slot and from another value of the same map: entry k (even)
 *            retains its Link and blob, entry k (odd) retains nothing
 *            (deleting it frees nothing); no entry is shared with another
 *            root. The map retains exactly its objects.
 *   slots    map[int64]*Link of 2,000 Links (hint 2,000), each Link
 *            pointing (slot) at its own entry's value slot, inside the
 *            map's bucket array or one of its overflow buckets (the
 *            program checks there are both), and owning a blob of 64 + 8 * (k % 30)
 *            bytes. The global `current` points at the Link of key 77, so
 *            the bucket array is also reached from a root through a heap
 *            object, not only through the header: still the header is
 *            rooted at global slots only (no root reaches it through
 *            `current`: a bucket does not point at its header), the map
 *            retains its table and every Link but 77's (the table's
 *            objects taken as a whole, as the runtime's figure does), and
 *            entry 77 retains nothing; every other entry its Link and blob.
 *   owners   map[*Node]*Node (pointer keys) of 1,000 entries: the key of
 *            entry i is Node K_i (a 512-byte blob of its own, `tag`); its
 *            value is K_{i+1}, the next entry's key, except for the last
 *            entry, whose value is a Node of its own. Each Node is then
 *            both a key and another entry's value: the first entry retains
 *            its key (K_0 and its tag), the last its value (and its tag);
 *            every other entry retains nothing. The map retains exactly
 *            its objects.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { PAIRS = 3000, SLOTS = 2000, OWNERS = 1000, CURRENT = 77, TAG = 512 };

typedef struct Link {
    int64_t id;
    uint8_t *blob;
    struct Link *next;
    void *slot; /* into a bucket array: an interior pointer */
} Link;
MR_TYPE(link_type, Link, MR_FIELD(Link, blob), MR_FIELD(Link, next), MR_FIELD(Link, slot));

typedef struct Node {
    int64_t id;
    uint8_t *tag;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, tag));

static const mr_map_type links_type = {"map[int64]*Link", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type owners_type = {"map[*Node]*Node", MR_KEY_PTR, &node_type,
                                        &mr_type_pointer};

static mr_map *pairs, *slots, *owners;
static Link *current;
MR_GLOBAL(pairs)
MR_GLOBAL(slots)
MR_GLOBAL(owners)
MR_GLOBAL(current)

static Link *new_link(int64_t k, size_t blob)
{
    Link *l = mr_new(&link_type);
    l->id = k;
    l->blob = mr_alloc_blob(blob);
    return l;
}

static Node *new_node(int64_t i)
{
    Node *n = mr_new(&node_type);
    n->id = i;
    n->tag = mr_alloc_blob(TAG);
    return n;
}

/*
 * Fills slots (keys 0 .. SLOTS-1) and points each Link at its value slot.
 * Whether a bucket overflows depends on the map's hash seed: with 2,000
 * keys in 512 buckets one does for all but about one seed in 10,000. Then
 * it returns false, the map cleared (which draws a new seed, as Go's clear
 * does) for the caller to fill it again.
 */
static bool fill_slots(void)
{
    for (int64_t k = 0; k < SLOTS; k++)
        *(Link **)mr_map_assign_int(slots, k) = new_link(k, 64 + 8 * (size_t)(k % 30));
    mr_map_info info;
    mr_map_get_info(slots, &info);
    if (info.oldbuckets) sc_fail("slots is growing");
    int64_t in_array = 0;
    for (int64_t k = 0; k < SLOTS; k++) {
        Link **v = mr_map_lookup_int(slots, k);
        void *start;
        if (!mr_object_type(v, &start) || start == (void *)slots)
            sc_fail("the value slot of %" PRId64 " is not in a bucket", k);
        in_array += start == info.buckets;
    }
    if (in_array == 0 || in_array == SLOTS) {
        mr_map_clear(slots);
        return false;
    }
    for (int64_t k = 0; k < SLOTS; k++) {
        Link **v = mr_map_lookup_int(slots, k);
        (*v)->slot = v;
    }
    return true;
}

__attribute__((noinline)) static void build(void)
{
    pairs = mr_map_new(&links_type, PAIRS);
    for (int64_t k = 0; k < PAIRS; k++)
        *(Link **)mr_map_assign_int(pairs, k) = new_link(k, 48 + 8 * (size_t)(k % 50));
    for (int64_t k = 0; k < PAIRS; k += 2) {
        Link *l = *(Link **)mr_map_lookup_int(pairs, k);
        l->next = *(Link **)mr_map_lookup_int(pairs, k + 1);
    }
    slots = mr_map_new(&links_type, SLOTS);
    for (int attempt = 0; !fill_slots(); attempt++)
        if (attempt == 100) sc_fail("slots has no overflow bucket after 100 seeds");
    current = *(Link **)mr_map_lookup_int(slots, CURRENT);
    owners = mr_map_new(&owners_type, 0);
    Node *key = new_node(0);
    for (int64_t i = 0; i < OWNERS; i++) {
        Node *next = new_node(i + 1); /* the next key; the last entry's value alone */
        mr_map_set(owners, &key, &next);
        key = next;
    }
}

typedef struct entry_truth {
    const mr_map *m;
    sc_entries e;
} entry_truth;

static uint64_t link_bytes(const Link *l)
{
    return mr_object_size(l) + mr_object_size(l->blob);
}

static void on_slot(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    char key[32];
    if (t->m == owners) {
        const Node *k = *(Node *const *)s->key, *v = *(Node *const *)s->value;
        uint64_t bytes = 0;
        if (k->id == 0) bytes += mr_object_size(k) + mr_object_size(k->tag);
        if (v->id == OWNERS) bytes += mr_object_size(v) + mr_object_size(v->tag);
        snprintf(key, sizeof key, "0x%" PRIxPTR, (uintptr_t)k);
        sc_entry(&t->e, key, k->id == 0 ? bytes : 0, bytes);
        return;
    }
    int64_t k = *(const int64_t *)s->key;
    const Link *l = *(Link *const *)s->value;
    snprintf(key, sizeof key, "%" PRId64, k);
    bool alone = t->m == pairs ? k % 2 == 0 : k != CURRENT;
    sc_entry(&t->e, key, 0, alone ? link_bytes(l) : 0);
}

static void truth_entries(const char *snapshot, const char *label, const mr_map *m)
{
    sc_truth_map(snapshot, label, m);
    entry_truth t = {m, {0}};
    sc_walk_slots(m, on_slot, &t);
    sc_truth_entries(snapshot, label, &t.e);
}

static void truths(const char *snapshot)
{
    truth_entries(snapshot, "pairs", pairs);
    truth_entries(snapshot, "slots", slots);
    truth_entries(snapshot, "owners", owners);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
