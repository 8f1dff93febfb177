/*
 * tests/scenarios/indirect_growth.c -- keys and values too big for a bucket
 * slot (stored in objects of their own, the slot holding a pointer), in a
 * map caught mid-growth, with deletes during the growth.
 *
 * TRUTH. Two globals:
 *   fat      map[Fingerprint]Record: a Fingerprint is a 160-byte key stored
 *            apart (an id, 144 plain bytes, a pointer to a 48-byte owner
 *            blob); a Record a 144-byte value stored apart (a pointer to a
 *            body of 64 + 8 * (id % 16) bytes, plain words). Filled until
 *            an insert starts a doubling of the bucket array, then 40 more
 *            inserts and 30 deletes of keys inserted before the growth
 *            (each write evacuates one or two old buckets), and only read
 *            after: its entries lie some in old buckets, some in new ones
 *            (the program checks both). An evacuated old slot keeps its
 *            stale pointers to the key and value objects the new slot now
 *            holds: no one else's. Every entry retains exactly its key
 *            object, owner blob, value object and body (the keys' share:
 *            key object and owner); entries_retained_bytes and
 *            keys_retained_bytes their sums; count the live entries (none
 *            counted twice, deleted ones not at all); the map retains
 *            exactly its objects; a suspect with evidence old_buckets and
 *            pointer_keys.
 *   plain    map[int64]Record, values stored apart, mid-growth the same
 *            way: each entry retains its value object and body; no key
 *            retains anything.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { AFTER_GROWTH = 40, DELETED = 30, OWNER = 48 };

typedef struct Fingerprint {
    int64_t id;
    uint8_t digest[144];
    uint8_t *owner;
} Fingerprint;
MR_TYPE(fp_type, Fingerprint, MR_FIELD(Fingerprint, owner));
_Static_assert(sizeof(Fingerprint) == 160, "Fingerprint must be stored apart");

typedef struct Record {
    uint8_t *body;
    int64_t words[17];
} Record;
MR_TYPE(record_type, Record, MR_FIELD(Record, body));
_Static_assert(sizeof(Record) == 144, "Record must be stored apart");

static const mr_map_type fat_map = {"map[Fingerprint]Record", MR_KEY_BYTES, &fp_type, &record_type};
static const mr_map_type plain_map = {"map[int64]Record", MR_KEY_INT64, NULL, &record_type};

static mr_map *fat, *plain;
MR_GLOBAL(fat)
MR_GLOBAL(plain)

/* The owners of the keys deleted later: a key is its bytes, the owner
 * pointer included (a plain static: no root). */
static uint8_t *owners[7 * DELETED];

static Fingerprint fingerprint(int64_t id, uint8_t *owner)
{
    Fingerprint f;
    memset(&f, 0, sizeof f);
    f.id = id;
    memset(f.digest, (int)(id & 0x7f), sizeof f.digest);
    f.owner = owner;
    return f;
}

static Record record(int64_t id)
{
    Record r;
    memset(&r, 0, sizeof r);
    r.body = mr_alloc_blob(64 + 8 * (size_t)(id % 16));
    r.words[0] = id;
    return r;
}

static void add_fat(int64_t id)
{
    Fingerprint f = fingerprint(id, mr_alloc_blob(OWNER));
    if (id < 7 * DELETED) owners[id] = f.owner;
    Record r = record(id);
    mr_map_set(fat, &f, &r);
}

static void add_plain(int64_t id)
{
    Record r = record(id);
    mr_map_set(plain, &id, &r);
}

/* Fills m (add) until a doubling starts, then AFTER_GROWTH inserts and
 * DELETED deletes of early keys interleaved; returns the next id. */
static int64_t grow_halfway(mr_map *m, void (*add)(int64_t), void (*del)(int64_t))
{
    mr_map_info info;
    int64_t k = 0;
    for (sc_map_info(m, &info); !info.oldbuckets || info.B < 9; sc_map_info(m, &info)) {
        if (k > 1000000) sc_fail("the map never started growing");
        add(k++);
    }
    for (int i = 0; i < AFTER_GROWTH; i++) {
        add(k++);
        if (i < DELETED) del(7 * (int64_t)i);
    }
    return k;
}

static void del_fat(int64_t id)
{
    Fingerprint f = fingerprint(id, owners[id]);
    if (!mr_map_lookup(fat, &f)) sc_fail("key %" PRId64 " not found", id);
    mr_map_delete(fat, &f);
}

static void del_plain(int64_t id)
{
    if (!mr_map_lookup(plain, &id)) sc_fail("key %" PRId64 " not found", id);
    mr_map_delete(plain, &id);
}

SC_NOCLONE static void build(void)
{
    fat = mr_map_new(&fat_map, 0);
    grow_halfway(fat, add_fat, del_fat);
    memset(owners, 0, sizeof owners);
    plain = mr_map_new(&plain_map, 0);
    grow_halfway(plain, add_plain, del_plain);
}

typedef struct entry_truth {
    const mr_map *m;
    sc_entries e;
    uint64_t in_old, in_new;
} entry_truth;

static void on_slot(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    const Record *r = s->value;
    uint64_t vb = mr_object_size(r) + mr_object_size(r->body), kb = 0;
    char key[2 + 2 * sizeof(Fingerprint) + 1];
    if (t->m == fat) {
        /* shown as its bytes in hex (the report cuts it; the checker
         * finds it by the part shown) */
        const Fingerprint *f = s->key;
        const uint8_t *b = s->key;
        kb = mr_object_size(f) + mr_object_size(f->owner);
        strcpy(key, "0x");
        for (size_t i = 0; i < sizeof *f; i++) sprintf(key + 2 + 2 * i, "%02x", b[i]);
    } else {
        snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    }
    sc_entry(&t->e, key, kb, kb + vb);
    if (s->old)
        t->in_old++;
    else
        t->in_new++;
}

static void truth_split(const char *snapshot, const char *label, const mr_map *m)
{
    sc_truth_map(snapshot, label, m);
    entry_truth t = {m, {0}, 0, 0};
    mr_map_info info;
    sc_map_info(m, &info);
    sc_walk_slots(m, on_slot, &t);
    if (!info.oldbuckets || !t.in_old || !t.in_new) sc_fail("%s is not mid-growth", label);
    sc_truth(snapshot, label, "\"in_old\": %" PRIu64 ", \"in_new\": %" PRIu64, t.in_old, t.in_new);
    sc_truth_entries(snapshot, label, &t.e);
}

static void truths(const char *snapshot)
{
    truth_split(snapshot, "fat", fat);
    truth_split(snapshot, "plain", plain);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
