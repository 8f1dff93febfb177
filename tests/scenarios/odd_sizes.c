/*
 * tests/scenarios/odd_sizes.c -- keys and values of unusual sizes: sets
 * (values of 0 bytes), values of exactly 128 bytes (the largest stored in
 * the bucket) and of 136 (stored apart, the slot holding a pointer), keys
 * of 144 bytes (stored apart), pointers and plain words mixed in each.
 *
 * TRUTH. Five globals, each a map that only grows:
 *   seen      map[int64]struct{} of 40,000 keys (no value type: values of
 *             0 bytes). It retains its table only; no entry retains a byte.
 *   names     map[string]struct{} of 20,000 keys "user-00000" ... : every
 *             entry retains its key's string and nothing else (the keys
 *             retain what the entries do).
 *   edge      map[int64]Edge of 5,000 entries, Edge a 128-byte struct
 *             stored in the slot: 15 plain words, then a pointer to a
 *             64 + 8 * (k % 16)-byte tail. Each entry retains its tail.
 *   wide      map[int64]Wide of 5,000 entries, Wide a 136-byte struct
 *             stored apart (pointer head, 15 plain words, pointer tail,
 *             each to a blob): each entry retains its Wide object (the
 *             allocator's size for 136 bytes), head (96 bytes) and tail
 *             (32 + 8 * (k % 32) bytes).
 *   fat_keys  map[FatKey]Wide of 3,000 entries, FatKey a 144-byte key
 *             stored apart (an id, 128 plain bytes, then a pointer to a
 *             256-byte owner blob): an entry retains its key object and
 *             owner blob (its keys' share) and its Wide, head and tail;
 *             evidence pointer_keys.
 * Each map retains exactly its own objects (the runtime's dominator walk);
 * snapshots "held" and "exit" see the same heap.
 */
#include "scenario.h"

enum {
    SEEN = 40000,
    NAMES = 20000,
    EDGES = 5000,
    WIDES = 5000,
    FATS = 3000,
    HEAD = 96,
    OWNER = 256
};

typedef struct Edge {
    int64_t words[15];
    uint8_t *tail;
} Edge;
MR_TYPE(edge_type, Edge, MR_FIELD(Edge, tail));
_Static_assert(sizeof(Edge) == 128, "Edge must be the largest inline value");

typedef struct Wide {
    uint8_t *head;
    int64_t words[15];
    uint8_t *tail;
} Wide;
MR_TYPE(wide_type, Wide, MR_FIELD(Wide, head), MR_FIELD(Wide, tail));
_Static_assert(sizeof(Wide) == 136, "Wide must be stored apart");

typedef struct FatKey {
    int64_t id;
    uint8_t pad[128];
    uint8_t *owner;
} FatKey;
MR_TYPE(fat_key_type, FatKey, MR_FIELD(FatKey, owner));
_Static_assert(sizeof(FatKey) == 144, "FatKey must be stored apart");

static const mr_map_type seen_type = {"map[int64]struct{}", MR_KEY_INT64, NULL, NULL};
static const mr_map_type names_type = {"map[string]struct{}", MR_KEY_STRING, NULL, NULL};
static const mr_map_type edge_map = {"map[int64]Edge", MR_KEY_INT64, NULL, &edge_type};
static const mr_map_type wide_map = {"map[int64]Wide", MR_KEY_INT64, NULL, &wide_type};
static const mr_map_type fat_map = {"map[FatKey]Wide", MR_KEY_BYTES, &fat_key_type, &wide_type};

static mr_map *seen, *names, *edge, *wide, *fat_keys;
MR_GLOBAL(seen)
MR_GLOBAL(names)
MR_GLOBAL(edge)
MR_GLOBAL(wide)
MR_GLOBAL(fat_keys)

static Wide new_wide(int64_t k)
{
    Wide w = {0};
    w.head = mr_alloc_blob(HEAD);
    w.tail = mr_alloc_blob(32 + 8 * (size_t)(k % 32));
    for (int i = 0; i < 15; i++) w.words[i] = k + i;
    return w;
}

__attribute__((noinline)) static void build(void)
{
    seen = mr_map_new(&seen_type, 0);
    for (int64_t k = 0; k < SEEN; k++) mr_map_assign_int(seen, k * 7919);
    names = mr_map_new(&names_type, 0);
    for (int64_t k = 0; k < NAMES; k++) {
        mr_str s = mr_str_printf("user-%05" PRId64, k);
        mr_map_assign(names, &s);
    }
    edge = mr_map_new(&edge_map, 0);
    for (int64_t k = 0; k < EDGES; k++) {
        Edge e = {0};
        for (int i = 0; i < 15; i++) e.words[i] = -k - i;
        e.tail = mr_alloc_blob(64 + 8 * (size_t)(k % 16));
        mr_map_set(edge, &k, &e);
    }
    wide = mr_map_new(&wide_map, 0);
    for (int64_t k = 0; k < WIDES; k++) {
        Wide w = new_wide(k);
        mr_map_set(wide, &k, &w);
    }
    fat_keys = mr_map_new(&fat_map, 0);
    for (int64_t k = 0; k < FATS; k++) {
        FatKey fk;
        memset(&fk, 0, sizeof fk);
        fk.id = k;
        memset(fk.pad, 0x5a, sizeof fk.pad);
        fk.owner = mr_alloc_blob(OWNER);
        Wide w = new_wide(k);
        mr_map_set(fat_keys, &fk, &w);
    }
}

typedef struct slot_truth {
    const mr_map *m;
    sc_entries e;
} slot_truth;

static uint64_t wide_bytes(const Wide *w)
{
    return mr_object_size(w) + mr_object_size(w->head) + mr_object_size(w->tail);
}

static void on_slot(const mr_map_slot *s, void *ud)
{
    slot_truth *t = ud;
    char key[64];
    if (t->m == names) {
        const mr_str *str = s->key;
        snprintf(key, sizeof key, "%.*s", (int)str->len, str->ptr);
        uint64_t b = mr_object_size(str->ptr);
        sc_entry(&t->e, key, b, b);
    } else if (t->m == fat_keys) {
        const FatKey *fk = s->key;
        uint64_t kb = mr_object_size(fk) + mr_object_size(fk->owner);
        snprintf(key, sizeof key, "%" PRId64, fk->id);
        sc_entry(&t->e, key, kb, kb + wide_bytes(s->value));
    } else {
        int64_t k = *(const int64_t *)s->key;
        snprintf(key, sizeof key, "%" PRId64, k);
        uint64_t b = t->m == seen   ? 0
                     : t->m == edge ? mr_object_size(((const Edge *)s->value)->tail)
                                    : wide_bytes(s->value);
        sc_entry(&t->e, key, 0, b);
    }
}

static void truth_entries(const char *snapshot, const char *label, const mr_map *m)
{
    sc_truth_map(snapshot, label, m);
    slot_truth t = {m, {0}};
    sc_walk_slots(m, on_slot, &t);
    sc_truth_entries(snapshot, label, &t.e);
}

static void truths(const char *snapshot)
{
    truth_entries(snapshot, "seen", seen);
    truth_entries(snapshot, "names", names);
    truth_entries(snapshot, "edge", edge);
    truth_entries(snapshot, "wide", wide);
    truth_entries(snapshot, "fat_keys", fat_keys);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
