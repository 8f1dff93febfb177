/*
 * tests/scenarios/struct_values.c -- entries that hold several objects:
 * struct values with several pointer fields stored in the slot, and keys
 * and values too big for a slot (stored in objects of their own).
 *
 * TRUTH. Three globals, each a map that only grows (a leak):
 *   records  map[int64]Record, 1,000 entries. A Record (40 bytes, stored in
 *            the slot) holds three pointers to distinct objects of its
 *            entry alone: head (a blob of 48 bytes; NULL for every key
 *            divisible by 3, so the slot's first pointer is not always the
 *            same field), tag (a string) and body (a blob of 64 + 8 * key
 *            bytes). An entry retains head + tag + body.
 *   bigs     map[BigKey]BigVal, 400 entries; BigKey (152 bytes: an id, a
 *            name, an owner blob of 96 bytes) and BigVal (160 bytes: a
 *            blob `a` of 32 + 16 * id bytes, padding, a label string) are
 *            over the 128-byte limit: each is an object of its own that the
 *            slot points to. An entry retains the key object, the owner
 *            blob, the value object, its blob and its label: keys retain
 *            the key objects and owner blobs.
 *   longkeys map[string]*Doc, 300 entries, each key a string of 300 bytes
 *            (far past any inline display) starting with its number, each Doc
 *            with a blob of 2,048 + 16 * i bytes. An entry retains its key
 *            string, the Doc and the blob; keys retain the key strings.
 * The per-entry figures are computed from the objects the program made for
 * each entry (each of them referenced by that entry alone): every entry the
 * report lists must retain exactly that, the map's entries_retained_bytes
 * and keys_retained_bytes are their sums, and the map retains exactly its
 * objects (the scenario's dominator walk). Each is a suspect (large_share).
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { RECORDS = 1000, BIGS = 400, LONGKEYS = 300, KEYLEN = 300 };

typedef struct Record {
    int64_t id;
    uint8_t *head;
    mr_str tag;
    uint8_t *body;
} Record;
MR_TYPE(record_type, Record, MR_FIELD(Record, head), MR_FIELD(Record, tag), MR_FIELD(Record, body));

typedef struct BigKey {
    int64_t id;
    char name[136];
    uint8_t *owner;
} BigKey;
MR_TYPE(bigkey_type, BigKey, MR_FIELD(BigKey, owner));

typedef struct BigVal {
    int64_t n;
    uint8_t *a;
    char pad[128];
    mr_str label;
} BigVal;
MR_TYPE(bigval_type, BigVal, MR_FIELD(BigVal, a), MR_FIELD(BigVal, label));

SC_ITEM_TYPE(doc_type, Doc);

static const mr_map_type records_type = {"map[int64]Record", MR_KEY_INT64, NULL, &record_type};
static const mr_map_type bigs_type = {"map[BigKey]BigVal", MR_KEY_BYTES, &bigkey_type,
                                      &bigval_type};
static const mr_map_type longkeys_type = {"map[string]*Doc", MR_KEY_STRING, NULL, &mr_type_pointer};

static mr_map *records;
MR_GLOBAL(records)
static mr_map *bigs;
MR_GLOBAL(bigs)
static mr_map *longkeys;
MR_GLOBAL(longkeys)

/* The long key of entry i: its number, then 'k' up to KEYLEN bytes (a
 * snapshot keeps a 64-byte cut of a key for display: the keys differ in it). */
static mr_str long_key(int i)
{
    char buf[KEYLEN + 1];
    memset(buf, 'k', KEYLEN);
    int n = snprintf(buf, 9, "%07d-", i);
    buf[n] = 'k';
    return mr_str_new(buf, KEYLEN);
}

__attribute__((noinline)) static void build(void)
{
    records = mr_map_new(&records_type, 0);
    for (int64_t k = 0; k < RECORDS; k++) {
        Record *r = mr_map_assign_int(records, k);
        r->id = k;
        r->head = k % 3 == 0 ? NULL : mr_alloc_blob(48);
        r = mr_map_lookup_int(records, k); /* an allocation may have grown the map */
        r->tag = mr_str_printf("tag-%" PRId64, k);
        r = mr_map_lookup_int(records, k);
        r->body = mr_alloc_blob(64 + 8 * (size_t)k);
    }
    bigs = mr_map_new(&bigs_type, 0);
    for (int64_t i = 0; i < BIGS; i++) {
        BigKey key;
        memset(&key, 0, sizeof key);
        key.id = i;
        snprintf(key.name, sizeof key.name, "big-%" PRId64, i);
        key.owner = mr_alloc_blob(96);
        BigVal v;
        memset(&v, 0, sizeof v);
        v.n = i;
        v.a = mr_alloc_blob(32 + 16 * (size_t)i);
        v.label = mr_str_printf("label-%" PRId64, i);
        mr_map_set(bigs, &key, &v); /* key and v are on this stack: no collection frees them */
    }
    longkeys = mr_map_new(&longkeys_type, 0);
    for (int i = 0; i < LONGKEYS; i++) {
        mr_str k = long_key(i);
        sc_item *d = sc_new_item(&doc_type, i, 2048 + 16 * (size_t)i);
        *(sc_item **)mr_map_assign_str(longkeys, k) = d;
    }
}

/* The size of the object holding p (a string's bytes), 0 for NULL. */
static uint64_t size_of(const void *p)
{
    void *start;
    if (!p || !mr_object_type(p, &start)) return 0;
    return mr_object_size(start);
}

/* Per-entry truth: the map being walked, and what its entries hold. */
typedef struct entry_truth {
    const mr_map *m;
    sc_entries e;
} entry_truth;

/* The objects each entry alone holds, by the map's layout as the program
 * built it. A bytes key is shown as the hex of its bytes. */
static void on_slot(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    char key[2 * sizeof(BigKey) + 3];
    if (t->m == records) {
        const Record *r = s->value;
        snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
        sc_entry(&t->e, key, 0, size_of(r->head) + size_of(r->tag.ptr) + size_of(r->body));
    } else if (t->m == bigs) {
        const BigKey *k = s->key;
        const BigVal *v = s->value;
        key[0] = '0', key[1] = 'x';
        for (size_t i = 0; i < sizeof *k; i++)
            snprintf(key + 2 + 2 * i, 3, "%02x", ((const uint8_t *)k)[i]);
        uint64_t kb = size_of(k) + size_of(k->owner);
        sc_entry(&t->e, key, kb, kb + size_of(v) + size_of(v->a) + size_of(v->label.ptr));
    } else {
        const mr_str *k = s->key;
        const sc_item *d = *(sc_item *const *)s->value;
        snprintf(key, sizeof key, "%.*s", (int)k->len, k->ptr);
        uint64_t kb = size_of(k->ptr);
        sc_entry(&t->e, key, kb, kb + size_of(d) + size_of(d->blob));
    }
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
    truth_entries(snapshot, "records", records);
    truth_entries(snapshot, "bigs", bigs);
    truth_entries(snapshot, "longkeys", longkeys);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
