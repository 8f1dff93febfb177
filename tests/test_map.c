/*
 * tests/test_map.c -- Go-style maps: every operation, key kind, growth,
 * iteration and the misuse checks.
 *
 * Map internals are observed through the walk API (mr_map_get_info,
 * mr_map_walk) and, where a test must place keys in chosen buckets, through
 * the identity-hash test hook of src/rt/internal.h.
 */
#include "check.h"
#include "dies_with.h"
#include "maproot/rt.h"
#include "rt/heap.h"
#include "rt/internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct Obj {
    int64_t id;
    struct Obj *link;
} Obj;
MR_TYPE(obj_type, Obj, MR_FIELD(Obj, link));

typedef struct Key12 {
    uint32_t a, b, c;
} Key12;
MR_TYPE_NOPTR(key12_type, Key12);

/* 200 bytes: stored indirectly in buckets. */
typedef struct Big {
    int64_t words[25];
} Big;
MR_TYPE_NOPTR(big_type, Big);

/* A big value with a pointer in it. */
typedef struct BigVal {
    Obj *obj;
    int64_t fill[24];
} BigVal;
MR_TYPE(bigval_type, BigVal, MR_FIELD(BigVal, obj));

static const mr_map_type int_int = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};
static const mr_map_type int_ptr = {"map[int64]*Obj", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type ptr_int = {"map[*Obj]int64", MR_KEY_PTR, &obj_type, &mr_type_int64};
static const mr_map_type str_int = {"map[string]int64", MR_KEY_STRING, NULL, &mr_type_int64};
static const mr_map_type k12_int = {"map[Key12]int64", MR_KEY_BYTES, &key12_type, &mr_type_int64};
typedef struct Key96 {
    uint8_t b[96];
} Key96;
MR_TYPE_NOPTR(key96_type, Key96);
static const mr_map_type k96_int = {"map[Key96]int64", MR_KEY_BYTES, &key96_type, &mr_type_int64};
static const mr_map_type big_big = {"map[Big]BigVal", MR_KEY_BYTES, &big_type, &bigval_type};
static const mr_map_type int_set = {"map[int64]struct{}", MR_KEY_INT64, NULL, NULL};

static mr_map_info info_of(const mr_map *m)
{
    mr_map_info in;
    mr_map_get_info(m, &in);
    return in;
}

static void test_int_keys_assign_lookup_overwrite_delete(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    CHECK_EQ_U64(mr_map_len(m), 0);
    CHECK(mr_map_lookup_int(m, 1) == NULL);
    for (int64_t k = -500; k < 500; k++) *(int64_t *)mr_map_assign_int(m, k) = k * 3;
    CHECK_EQ_U64(mr_map_len(m), 1000);
    for (int64_t k = -500; k < 500; k++) {
        int64_t *v = mr_map_lookup_int(m, k);
        CHECK(v != NULL);
        CHECK(*v == k * 3);
    }
    CHECK(mr_map_lookup_int(m, 500) == NULL);
    int64_t k = 7, v = 99, out = 0;
    mr_map_set(m, &k, &v); /* overwrite */
    CHECK_EQ_U64(mr_map_len(m), 1000);
    CHECK(mr_map_get(m, &k, &out));
    CHECK(out == 99);
    CHECK(mr_map_get(m, &k, NULL));
    for (int64_t d = -500; d < 500; d += 2) mr_map_delete_int(m, d);
    CHECK_EQ_U64(mr_map_len(m), 500);
    for (int64_t d = -500; d < 500; d++) CHECK((mr_map_lookup_int(m, d) != NULL) == ((d & 1) != 0));
    mr_map_delete_int(m, 123456); /* absent: no-op */
    CHECK_EQ_U64(mr_map_len(m), 500);
    /* a deleted key comes back with a zeroed value */
    CHECK(*(int64_t *)mr_map_assign_int(m, -500) == 0);
    CHECK(mr_map_type_of(m) == &int_int);
}

static void test_pointer_keys_compare_by_address(void)
{
    mr_map *m = mr_map_new(&ptr_int, 0);
    Obj *objs[64];
    for (int i = 0; i < 64; i++) {
        objs[i] = mr_new(&obj_type);
        objs[i]->id = i;
        *(int64_t *)mr_map_assign(m, &objs[i]) = i;
    }
    Obj *other = mr_new(&obj_type);
    other->id = 5; /* same contents as objs[5], different address */
    CHECK(mr_map_lookup(m, &other) == NULL);
    for (int i = 0; i < 64; i++) CHECK(*(int64_t *)mr_map_lookup(m, &objs[i]) == i);
    CHECK_EQ_U64(mr_map_len(m), 64);
}

static void test_string_keys_compare_by_content_and_update_key(void)
{
    mr_map *m = mr_map_new(&str_int, 0);
    for (int i = 0; i < 2000; i++) {
        mr_str k = mr_str_printf("key-%d", i);
        *(int64_t *)mr_map_assign_str(m, k) = i;
    }
    CHECK_EQ_U64(mr_map_len(m), 2000);
    for (int i = 0; i < 2000; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "key-%d", i);
        mr_str probe = {buf, (size_t)n}; /* not a heap string: compared by bytes */
        int64_t *v = mr_map_lookup_str(m, probe);
        CHECK(v != NULL);
        CHECK(*v == i);
    }
    mr_str empty = {NULL, 0};
    CHECK(mr_map_lookup_str(m, empty) == NULL);
    *(int64_t *)mr_map_assign_str(m, empty) = -1;
    CHECK(*(int64_t *)mr_map_lookup_str(m, mr_str_from("")) == -1);
    /* "key-" prefix collisions of different lengths stay distinct */
    CHECK(mr_map_lookup_str(m, mr_str_from("key-1")) != NULL);
    CHECK(mr_map_lookup_str(m, mr_str_from("key-1\0")) != NULL);
    CHECK(mr_map_lookup_str(m, mr_str_new("key-1\0", 6)) == NULL);

    /* Overwriting stores the new key string (Go updates string keys). */
    mr_str fresh = mr_str_new("key-7", 5);
    *(int64_t *)mr_map_assign_str(m, fresh) = 77;
    mr_map_iter it;
    bool seen = false;
    mr_map_iter_init(&it, m);
    while (mr_map_iter_next(&it)) {
        const mr_str *k = it.key;
        if (k->len == 5 && memcmp(k->ptr, "key-7", 5) == 0) {
            CHECK(k->ptr == fresh.ptr);
            CHECK(*(int64_t *)it.value == 77);
            seen = true;
        }
    }
    CHECK(seen);
    mr_map_delete_str(m, mr_str_from("key-7"));
    CHECK(mr_map_lookup_str(m, fresh) == NULL);
    CHECK_EQ_U64(mr_map_len(m), 2000);
}

/* String keys compare by every byte at every length, whichever way the
 * comparison reads them (short keys are compared a word at a time): a key
 * that differs from a present one in a single byte is another key, one with
 * the same bytes in another object the same key. */
static void test_string_keys_differing_in_one_byte_are_distinct_at_every_length(void)
{
    enum { MAXLEN = 40 };
    char base[MAXLEN + 1], probe[MAXLEN + 1];
    for (size_t i = 0; i < MAXLEN; i++) base[i] = (char)('a' + i % 26);
    for (size_t n = 0; n <= MAXLEN; n++) {
        mr_map *m = mr_map_new(&str_int, 0);
        *(int64_t *)mr_map_assign_str(m, mr_str_new(base, n)) = (int64_t)n;
        memcpy(probe, base, n);
        int64_t *v = mr_map_lookup_str(m, (mr_str){probe, n});
        CHECK(v != NULL && *v == (int64_t)n);
        for (size_t at = 0; at < n; at++) {
            probe[at] ^= 0x20;
            CHECK(mr_map_lookup_str(m, (mr_str){probe, n}) == NULL);
            mr_map_delete_str(m, (mr_str){probe, n});
            CHECK_EQ_U64(mr_map_len(m), 1);
            probe[at] ^= 0x20;
        }
        mr_map_delete_str(m, (mr_str){probe, n});
        CHECK_EQ_U64(mr_map_len(m), 0);
    }
}

static void test_byte_keys_use_memcmp(void)
{
    mr_map *m = mr_map_new(&k12_int, 0);
    for (uint32_t i = 0; i < 3000; i++) {
        Key12 k = {i, i * 7u, ~i};
        *(int64_t *)mr_map_assign(m, &k) = i;
    }
    CHECK_EQ_U64(mr_map_len(m), 3000);
    for (uint32_t i = 0; i < 3000; i++) {
        Key12 k = {i, i * 7u, ~i};
        int64_t out;
        CHECK(mr_map_get(m, &k, &out));
        CHECK(out == i);
        Key12 miss = {i, i * 7u, i};
        CHECK(mr_map_lookup(m, &miss) == NULL);
    }
    mr_map_info in = info_of(m);
    CHECK(!in.key_indirect && !in.value_indirect);
    CHECK_EQ_U64(in.key_size, 16); /* 12 rounded up to a word */
}

static void test_big_keys_and_values_are_indirect(void)
{
    mr_map *m = mr_map_new(&big_big, 0);
    mr_map_info in = info_of(m);
    CHECK(in.key_indirect && in.value_indirect);
    CHECK_EQ_U64(in.key_size, 8);
    CHECK_EQ_U64(in.value_size, 8);
    CHECK_EQ_U64(in.bucket_size, 8 + 8 * 8 + 8 * 8 + 8);
    for (int i = 0; i < 500; i++) {
        Big k = {{0}};
        k.words[0] = i;
        k.words[24] = -i;
        BigVal *v = mr_map_assign(m, &k);
        CHECK(v->obj == NULL && v->fill[23] == 0);
        void *start;
        CHECK(mr_object_type(v, &start) == &bigval_type && start == v);
        v->obj = mr_new(&obj_type);
        v->obj->id = i;
        v->fill[23] = i;
    }
    mr_gc();
    for (int i = 0; i < 500; i++) {
        Big k = {{0}};
        k.words[0] = i;
        k.words[24] = -i;
        BigVal *v = mr_map_lookup(m, &k);
        CHECK(v != NULL);
        CHECK(v->obj->id == i && v->fill[23] == i);
        k.words[12] = 1;
        CHECK(mr_map_lookup(m, &k) == NULL);
    }
    /* keys seen through the walk are the key bytes, not the indirection */
    size_t slots = 0;
    bool ok = true;
    mr_map_iter it;
    mr_map_iter_init(&it, m);
    while (mr_map_iter_next(&it)) {
        const Big *k = it.key;
        const BigVal *v = it.value;
        if (k->words[0] != v->fill[23] || k->words[24] != -k->words[0]) ok = false;
        slots++;
    }
    CHECK(ok);
    CHECK_EQ_U64(slots, 500);
}

static void test_value_less_map_is_a_set(void)
{
    mr_map *m = mr_map_new(&int_set, 0);
    for (int64_t i = 0; i < 100; i++) mr_map_assign_int(m, i * i);
    CHECK_EQ_U64(mr_map_len(m), 100);
    CHECK(mr_map_lookup_int(m, 81) != NULL);
    CHECK(mr_map_lookup_int(m, 82) == NULL);
    CHECK(mr_map_get(m, &(int64_t){81}, NULL));
}

static void test_hint_presizes_the_table(void)
{
    mr_map *m = mr_map_new(&int_int, 1000);
    uint8_t B = info_of(m).B;
    CHECK(B == 8); /* 6.5 * 2^7 = 832 < 1000 <= 6.5 * 2^8 */
    CHECK(info_of(m).buckets != NULL);
    for (int64_t i = 0; i < 1000; i++) mr_map_assign_int(m, i);
    CHECK_EQ_U64(info_of(m).B, B);
    CHECK(info_of(m).oldbuckets == NULL);
    mr_map *small = mr_map_new(&int_int, 8);
    CHECK_EQ_U64(info_of(small).B, 0);
    CHECK(mr_map_new(&int_int, SIZE_MAX) != NULL); /* absurd hints are ignored */
}

static void count_slot(const mr_map_slot *s, void *ud)
{
    (void)s;
    (*(size_t *)ud)++;
}

static void test_growth_doubles_incrementally_and_completes(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    int64_t n = 0;
    bool saw_old = false;
    uint8_t lastB = 0;
    int doublings = 0;
    while (n < 20000) {
        *(int64_t *)mr_map_assign_int(m, n) = n;
        n++;
        mr_map_info in = info_of(m);
        if (in.B != lastB) {
            CHECK_EQ_U64(in.B, lastB + 1);
            lastB = in.B;
            doublings++;
            if (in.B >= 3) {
                /* right after the doubling started: old array alive */
                CHECK(in.oldbuckets != NULL);
                CHECK(in.nevacuate < ((uint64_t)1 << (in.B - 1)));
                saw_old = true;
                /* everything is still found mid-growth */
                for (int64_t k = 0; k < n; k++) CHECK(*(int64_t *)mr_map_lookup_int(m, k) == k);
                size_t walked = 0;
                mr_map_walk(m, NULL, count_slot, &walked);
                CHECK_EQ_U64(walked, n);
            }
        }
    }
    CHECK(saw_old);
    CHECK(doublings >= 11);
    /* growth finishes: keep writing (deletes of absent keys evacuate too) */
    for (int64_t k = 0; k < 20000 && info_of(m).oldbuckets; k++) mr_map_delete_int(m, -k - 1);
    CHECK(info_of(m).oldbuckets == NULL);
    for (int64_t k = 0; k < n; k++) CHECK(*(int64_t *)mr_map_lookup_int(m, k) == k);
    CHECK(20000 <= 6.5 * (1 << info_of(m).B));
}

typedef struct walk_counts {
    size_t buckets, overflow, old, slots;
} walk_counts;

static void count_bucket(void *b, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)b;
    (void)index;
    walk_counts *c = ud;
    c->buckets++;
    if (overflow) c->overflow++;
    if (old) c->old++;
}

static void count_slot2(const mr_map_slot *s, void *ud)
{
    walk_counts *c = ud;
    CHECK(s->tophash >= 5 && s->slot < 8);
    CHECK(s->key != NULL);
    c->slots++;
}

/* Keys k with the identity hash land in bucket k & (2^B - 1). */
static int64_t key_in_bucket(int64_t bucket, int64_t nth, uint8_t B)
{
    return bucket + (nth << B);
}

static void test_same_size_growth_when_overflow_piles_up(void)
{
    mr_map *m = mr_map_new(&int_int, 50); /* B = 3: 8 buckets, room for 52 */
    mr__map_test_identity_hash(m);
    CHECK_EQ_U64(info_of(m).B, 3);
    /* Fill each bucket past 8 slots (one overflow bucket each), then empty
     * it again: count stays small, overflow buckets stay allocated. The
     * limit (2^3 overflow buckets) is checked before each new key, so the
     * 8th overflow bucket is made without growing. */
    for (int64_t b = 0; b < 8; b++) {
        for (int64_t j = 0; j < 9; j++)
            *(int64_t *)mr_map_assign_int(m, key_in_bucket(b, j, 3)) = j;
        CHECK(info_of(m).oldbuckets == NULL);
        for (int64_t j = 0; j < 9; j++) mr_map_delete_int(m, key_in_bucket(b, j, 3));
    }
    mr_map_info in = info_of(m);
    CHECK_EQ_U64(in.count, 0);
    CHECK_EQ_U64(in.B, 3);
    CHECK_EQ_U64(in.noverflow, 8);
    CHECK(in.oldbuckets == NULL);
    walk_counts c = {0};
    mr_map_walk(m, count_bucket, NULL, &c);
    CHECK_EQ_U64(c.overflow, 8);
    /* the next insertion of a new key starts a same-size growth */
    *(int64_t *)mr_map_assign_int(m, 1000) = 1000;
    in = info_of(m);
    CHECK_EQ_U64(in.B, 3);
    CHECK(in.oldbuckets != NULL);
    CHECK_EQ_U64(in.noverflow, 0);
    for (int64_t k = 0; k < 8; k++) *(int64_t *)mr_map_assign_int(m, k) = k;
    in = info_of(m);
    CHECK(in.oldbuckets == NULL); /* 8 old buckets: done after a few writes */
    CHECK_EQ_U64(in.B, 3);
    c = (walk_counts){0};
    mr_map_walk(m, count_bucket, count_slot2, &c);
    CHECK_EQ_U64(c.overflow, 0); /* compacted */
    CHECK_EQ_U64(c.slots, 9);
    CHECK(*(int64_t *)mr_map_lookup_int(m, 1000) == 1000);
}

static void test_delete_keeps_chains_terminated_with_empty_rest(void)
{
    mr_map *m = mr_map_new(&int_int, 50);
    mr__map_test_identity_hash(m);
    /* 20 keys in bucket 0: the bucket plus two overflow buckets */
    for (int64_t j = 0; j < 20; j++) *(int64_t *)mr_map_assign_int(m, key_in_bucket(0, j, 3)) = j;
    uint8_t *b0 = info_of(m).buckets;
    size_t bs = info_of(m).bucket_size;
    uint8_t *o1, *o2;
    memcpy(&o1, b0 + bs - 8, 8);
    memcpy(&o2, o1 + bs - 8, 8);
    CHECK(o1 && o2);
    CHECK(o2[3] >= 5 && o2[4] == 0 && o2[7] == 0); /* fresh slots are EMPTY_REST */
    /* deleting a middle entry leaves EMPTY_ONE */
    mr_map_delete_int(m, key_in_bucket(0, 5, 3));
    CHECK(b0[5] == 1);
    /* deleting the last entries turns the tail into EMPTY_REST, back over
     * the EMPTY_ONE run, across bucket boundaries */
    for (int64_t j = 19; j >= 6; j--) mr_map_delete_int(m, key_in_bucket(0, j, 3));
    CHECK(o1[0] == 0 && o2[0] == 0);
    CHECK(b0[5] == 0 && b0[4] != 0);
    for (int64_t j = 0; j < 5; j++)
        CHECK(*(int64_t *)mr_map_lookup_int(m, key_in_bucket(0, j, 3)) == j);
    CHECK(mr_map_lookup_int(m, key_in_bucket(0, 7, 3)) == NULL);
    /* the freed slots are reused, no new overflow bucket */
    uint16_t nov = info_of(m).noverflow;
    for (int64_t j = 100; j < 115; j++)
        *(int64_t *)mr_map_assign_int(m, key_in_bucket(0, j, 3)) = j;
    CHECK_EQ_U64(info_of(m).noverflow, nov);
    CHECK_EQ_U64(mr_map_len(m), 20);
}

/* Is the object at p in a span that marking never reads? */
static bool in_noscan_span(const void *p)
{
    mr_span *s = mr__span_of((uintptr_t)p);
    return s != NULL && s->in_use && s->noscan;
}

static void note_overflow_bucket(void *b, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)old;
    (void)index;
    if (overflow) *(void **)ud = b;
}

/* A map whose keys and values hold no pointers has pointer-free buckets
 * (overflow link included), allocated where marking never looks; a map
 * with pointers keeps buckets marking scans. */
static void test_buckets_without_pointers_are_not_scanned(void)
{
    mr_map *m = mr_map_new(&int_int, 50);
    mr__map_test_identity_hash(m);
    for (int64_t j = 0; j < 20; j++) *(int64_t *)mr_map_assign_int(m, key_in_bucket(0, j, 3)) = j;
    mr_map_info in = info_of(m);
    const mr_type *t = mr_object_type(in.buckets, NULL);
    CHECK(t != NULL && t->kind == MR_KIND_BUCKET);
    CHECK_EQ_U64(t->nptrs, 0);
    CHECK(in_noscan_span(in.buckets));
    void *ovf = NULL;
    mr_map_walk(m, note_overflow_bucket, NULL, &ovf);
    CHECK(ovf != NULL && mr_object_type(ovf, NULL) == t);
    CHECK(in_noscan_span(ovf));
    /* a set, and fixed-size keys without pointers: the same */
    mr_map *set = mr_map_new(&int_set, 100);
    CHECK(in_noscan_span(info_of(set).buckets));
    mr_map *k12 = mr_map_new(&k12_int, 100);
    CHECK(in_noscan_span(info_of(k12).buckets));
    /* pointers in keys or values: scanned, overflow link listed */
    mr_map *p = mr_map_new(&int_ptr, 100);
    CHECK(!in_noscan_span(info_of(p).buckets));
    CHECK_EQ_U64(mr_object_type(info_of(p).buckets, NULL)->nptrs, 9);
    mr_map *s = mr_map_new(&str_int, 100);
    CHECK(!in_noscan_span(info_of(s).buckets));
    /* the overflow buckets live on through collections and churn of
     * buckets of the same type */
    for (int r = 0; r < 3; r++) {
        mr_map *churn = mr_map_new(&int_int, 50);
        mr__map_test_identity_hash(churn);
        for (int64_t j = 0; j < 200; j++) mr_map_assign_int(churn, key_in_bucket(j % 8, j / 8, 3));
        churn = NULL;
        mr_gc();
    }
    for (int64_t j = 0; j < 20; j++)
        CHECK(*(int64_t *)mr_map_lookup_int(m, key_in_bucket(0, j, 3)) == j);
    CHECK(mr_object_type(ovf, NULL) == t);
}

/* The maps below: 32 buckets (room for 208 entries), identity hash,
 * buckets 0..3 filled with CHAIN keys each (value = key * 3): chains of
 * three overflow buckets. */
enum { CB = 5, CHAIN = 30, CHAINED = 4 };

static mr_map *chained_map(void)
{
    mr_map *m = mr_map_new(&int_int, 150);
    mr__map_test_identity_hash(m);
    for (int64_t b = 0; b < CHAINED; b++)
        for (int64_t j = 0; j < CHAIN; j++) {
            int64_t k = key_in_bucket(b, j, CB);
            *(int64_t *)mr_map_assign_int(m, k) = k * 3;
        }
    return m;
}

static void check_chained(mr_map *m)
{
    for (int64_t b = 0; b < CHAINED; b++)
        for (int64_t j = 0; j < CHAIN; j++) {
            int64_t k = key_in_bucket(b, j, CB);
            int64_t *v = mr_map_lookup_int(m, k);
            CHECK(v != NULL && *v == k * 3);
        }
}

/* Allocates and drops buckets of map[int64]int64 and collects, so that any
 * overflow bucket nothing keeps alive is freed and its memory reused (and
 * zeroed) by new buckets. */
static void churn_buckets(void)
{
    for (int r = 0; r < 4; r++) {
        mr_gc();
        (void)chained_map();
    }
    mr_gc();
}

/*
 * In a map without pointers only the overflow lists keep overflow buckets
 * alive. An iterator walks the array it started on (and, started during a
 * growth, the old one) while growth moves on, finishes and drops the old
 * array's list, and collections run: the lists it holds must keep every
 * chain it may still read, so it sees each entry present throughout once.
 */
static void test_overflow_buckets_of_maps_without_pointers_survive_growth_under_iteration(void)
{
    enum { N = 1024 };
    for (int started_mid_growth = 0; started_mid_growth < 2; started_mid_growth++) {
        for (int taken = 0; taken < 130; taken += 11) {
            mr_map *m = chained_map();
            CHECK_EQ_U64(info_of(m).B, CB);
            walk_counts c = {0};
            mr_map_walk(m, count_bucket, NULL, &c);
            CHECK_EQ_U64(c.overflow, 3 * CHAINED);
            int64_t extra = 100000;
            if (started_mid_growth) {
                /* keys in the other buckets until a doubling starts */
                while (!info_of(m).oldbuckets) {
                    *(int64_t *)mr_map_assign_int(m, extra) = extra * 3;
                    extra++;
                }
            }
            uint8_t seen[N] = {0};
            mr_map_iter it;
            mr_map_iter_init(&it, m);
            for (int i = 0; i < taken && mr_map_iter_next(&it); i++) {
                int64_t k = *(const int64_t *)it.key;
                CHECK(*(const int64_t *)it.value == k * 3);
                if (k >= 0 && k < N) seen[k]++;
            }
            /* writes finish the growth (and start more), collections free
             * what nothing keeps, new buckets reuse the memory */
            for (int64_t k = 0; k < 600; k++, extra++)
                *(int64_t *)mr_map_assign_int(m, extra) = extra * 3;
            CHECK(info_of(m).B > CB);
            churn_buckets();
            while (mr_map_iter_next(&it)) {
                int64_t k = *(const int64_t *)it.key;
                CHECK(*(const int64_t *)it.value == k * 3);
                if (k >= 0 && k < N) seen[k]++;
            }
            for (int64_t b = 0; b < CHAINED; b++)
                for (int64_t j = 0; j < CHAIN; j++) CHECK_EQ_U64(seen[key_in_bucket(b, j, CB)], 1);
            check_chained(m);
        }
    }
}

/* mr_map_clear drops the overflow buckets and their lists; an iterator that
 * was walking them holds them until it ends, and sees no entry. */
static void test_clear_of_a_map_without_pointers_under_iteration(void)
{
    for (int taken = 0; taken < 120; taken += 13) {
        mr_map *m = chained_map();
        mr_map_iter it;
        mr_map_iter_init(&it, m);
        for (int i = 0; i < taken; i++) CHECK(mr_map_iter_next(&it));
        mr_map_clear(m);
        churn_buckets();
        int after = 0;
        while (mr_map_iter_next(&it)) after++;
        CHECK_EQ_U64(after, 0);
        for (int64_t b = 0; b < CHAINED; b++)
            for (int64_t j = 0; j < CHAIN; j++) {
                int64_t k = key_in_bucket(b, j, CB);
                *(int64_t *)mr_map_assign_int(m, k) = k * 3;
            }
        churn_buckets();
        check_chained(m);
    }
}

static void test_delete_never_shrinks(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t i = 0; i < 100000; i++) mr_map_assign_int(m, i);
    for (int64_t i = 0; info_of(m).oldbuckets; i++) mr_map_delete_int(m, -1 - i);
    mr_map_info before = info_of(m);
    for (int64_t i = 0; i < 100000; i++) mr_map_delete_int(m, i);
    mr_map_info after = info_of(m);
    CHECK_EQ_U64(after.count, 0);
    CHECK_EQ_U64(mr_map_len(m), 0);
    CHECK_EQ_U64(after.B, before.B);
    CHECK(after.B >= 14);
    CHECK(after.buckets == before.buckets);
    walk_counts c = {0};
    mr_map_walk(m, count_bucket, count_slot2, &c);
    CHECK_EQ_U64(c.slots, 0);
    CHECK_EQ_U64(c.buckets - c.overflow, (size_t)1 << after.B);
    /* a new seed once empty (Go's rule) */
    CHECK(after.hash0 != before.hash0);
}

/* Empties m, which holds keys 0..n-1 made by key(), with deletes; then the
 * map has a new seed, and its write is over: it takes a new key. */
static void empty_and_refill(mr_map *m, int64_t n, void (*key)(int64_t i, void *out))
{
    uint32_t seed = info_of(m).hash0;
    uint8_t k[16];
    for (int64_t i = 0; i < n; i++) {
        key(i, k);
        mr_map_delete(m, k);
    }
    CHECK_EQ_U64(mr_map_len(m), 0);
    CHECK(info_of(m).hash0 != seed);
    key(n, k);
    *(int64_t *)mr_map_assign(m, k) = n;
    CHECK(*(int64_t *)mr_map_lookup(m, k) == n);
    CHECK_EQ_U64(mr_map_len(m), 1);
}

static mr_str *str_keys_made;
MR_GLOBAL(str_keys_made)

static void int_key(int64_t i, void *out)
{
    memcpy(out, &i, 8);
}

static void str_key(int64_t i, void *out)
{
    memcpy(out, &str_keys_made[i], sizeof(mr_str));
}

static void k12_key(int64_t i, void *out)
{
    Key12 k = {(uint32_t)i, (uint32_t)i * 7u, ~(uint32_t)i};
    memcpy(out, &k, sizeof k);
}

/* Every kind of delete that empties a map -- 8-byte and string keys in a
 * map that is not growing, other keys, and a map emptied while it grows --
 * gives it a new seed and ends its write. */
static void test_a_map_emptied_by_deletes_is_reseeded_and_writable(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t i = 0; i < 100; i++) *(int64_t *)mr_map_assign_int(m, i) = i;
    CHECK(info_of(m).oldbuckets == NULL);
    empty_and_refill(m, 100, int_key);

    str_keys_made = mr_new_array(&mr_type_str, 101);
    for (int64_t i = 0; i <= 100; i++) str_keys_made[i] = mr_str_printf("key-%lld", (long long)i);
    m = mr_map_new(&str_int, 0);
    for (int64_t i = 0; i < 100; i++) *(int64_t *)mr_map_assign(m, &str_keys_made[i]) = i;
    CHECK(info_of(m).oldbuckets == NULL);
    empty_and_refill(m, 100, str_key);
    str_keys_made = NULL;

    m = mr_map_new(&k12_int, 0);
    for (int64_t i = 0; i < 100; i++) {
        uint8_t k[16];
        k12_key(i, k);
        *(int64_t *)mr_map_assign(m, k) = i;
    }
    empty_and_refill(m, 100, k12_key);

    /* the 53rd key starts a doubling from 8 buckets: deletes find it on */
    m = mr_map_new(&int_int, 0);
    for (int64_t i = 0; i < 53; i++) *(int64_t *)mr_map_assign_int(m, i) = i;
    CHECK(info_of(m).oldbuckets != NULL);
    empty_and_refill(m, 53, int_key);
}

static void test_clear_keeps_the_array_and_empties_the_map(void)
{
    mr_map *m = mr_map_new(&int_ptr, 0);
    for (int64_t i = 0; i < 5000; i++) {
        Obj *o = mr_new(&obj_type);
        o->id = i;
        *(Obj **)mr_map_assign_int(m, i) = o;
    }
    mr_map_info before = info_of(m);
    mr_map_clear(m);
    mr_map_info after = info_of(m);
    CHECK_EQ_U64(mr_map_len(m), 0);
    CHECK_EQ_U64(after.B, before.B);
    CHECK(after.buckets == before.buckets);
    CHECK(after.oldbuckets == NULL);
    CHECK_EQ_U64(after.noverflow, 0);
    for (int64_t i = 0; i < 5000; i++) CHECK(mr_map_lookup_int(m, i) == NULL);
    walk_counts c = {0};
    mr_map_walk(m, count_bucket, count_slot2, &c);
    CHECK_EQ_U64(c.slots, 0);
    CHECK_EQ_U64(c.overflow, 0);
    for (int64_t i = 0; i < 100; i++) CHECK(*(Obj **)mr_map_assign_int(m, i) == NULL);
    CHECK_EQ_U64(mr_map_len(m), 100);
    mr_map_clear(NULL);
}

static void test_clear_during_iteration_returns_no_cleared_entry(void)
{
    for (int round = 0; round < 20; round++) {
        mr_map *m = mr_map_new(&int_int, 0);
        /* stop mid-growth so the iterator meets old and overflow buckets */
        int64_t n = 0;
        for (;;) {
            *(int64_t *)mr_map_assign_int(m, n) = n;
            n++;
            if (n > 3000 && info_of(m).oldbuckets) break;
        }
        mr_map_iter it;
        mr_map_iter_init(&it, m);
        int before = 0;
        while (before < round * 10 && mr_map_iter_next(&it)) before++;
        mr_map_clear(m);
        int after = 0;
        while (mr_map_iter_next(&it)) after++;
        CHECK_EQ_U64(after, 0);
    }
}

/* Iterates m, counting each int key's sightings in seen[key] (keys < n). */
static bool iterate_counting(mr_map *m, uint8_t *seen, int64_t n)
{
    mr_map_iter it;
    mr_map_iter_init(&it, m);
    while (mr_map_iter_next(&it)) {
        int64_t k = *(const int64_t *)it.key;
        if (k < 0 || k >= n) return false;
        if (*(int64_t *)it.value != k) return false;
        seen[k]++;
    }
    return true;
}

static void test_iterator_sees_each_entry_once(void)
{
    enum { N = 30000 };
    static uint8_t seen[N];
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t i = 0; i < N; i++) *(int64_t *)mr_map_assign_int(m, i) = i;
    memset(seen, 0, sizeof seen);
    CHECK(iterate_counting(m, seen, N));
    for (int64_t i = 0; i < N; i++) CHECK_EQ_U64(seen[i], 1);

    mr_map *e = mr_map_new(&int_int, 0);
    mr_map_iter it;
    mr_map_iter_init(&it, e);
    CHECK(!mr_map_iter_next(&it));
    CHECK(!mr_map_iter_next(&it)); /* stays finished */
    mr_map_iter_done(&it);         /* done after the end: harmless */
    mr_map_iter_done(&it);
    mr_map_iter_init(&it, NULL);
    CHECK(!mr_map_iter_next(&it));
}

static void test_iterator_survives_growth_during_iteration(void)
{
    enum { N = 2000, EXTRA = 200000 };
    static uint8_t seen[EXTRA];
    for (int round = 0; round < 10; round++) {
        mr_map *m = mr_map_new(&int_int, 0);
        for (int64_t i = 0; i < N; i++) *(int64_t *)mr_map_assign_int(m, i) = i;
        memset(seen, 0, sizeof seen);
        uint8_t B0 = info_of(m).B;
        mr_map_iter it;
        mr_map_iter_init(&it, m);
        int64_t next_new = N;
        int steps = 0;
        while (mr_map_iter_next(&it)) {
            int64_t k = *(const int64_t *)it.key;
            CHECK(k >= 0 && k < EXTRA);
            CHECK(*(int64_t *)it.value == k);
            seen[k]++;
            /* insert 20 new keys per step: several doublings happen */
            for (int j = 0; j < 20 && next_new < EXTRA; j++, next_new++)
                *(int64_t *)mr_map_assign_int(m, next_new) = next_new;
            /* and update some old ones: the iterator must see new values */
            if (steps++ % 7 == 0) {
                int64_t u = (k * 31 + 5) % N;
                *(int64_t *)mr_map_assign_int(m, u) = u;
            }
        }
        CHECK(info_of(m).B >= B0 + 3);
        for (int64_t i = 0; i < N; i++) CHECK_EQ_U64(seen[i], 1); /* present throughout */
        for (int64_t i = N; i < EXTRA; i++) CHECK(seen[i] <= 1);  /* added: at most once */
    }
}

static void test_iterator_started_mid_growth_with_deletes(void)
{
    enum { N = 12000 };
    static uint8_t seen[N];
    for (int round = 0; round < 20; round++) {
        mr_map *m = mr_map_new(&int_int, 0);
        int64_t n = 0;
        while (n < N) {
            *(int64_t *)mr_map_assign_int(m, n) = n;
            n++;
            if (n > 1000 + round * 100 && info_of(m).oldbuckets) break;
        }
        CHECK(info_of(m).oldbuckets != NULL);
        memset(seen, 0, sizeof seen);
        mr_map_iter it;
        mr_map_iter_init(&it, m);
        int64_t del = 0;
        bool deleted[N] = {false};
        while (mr_map_iter_next(&it)) {
            int64_t k = *(const int64_t *)it.key;
            CHECK(k >= 0 && k < n);
            CHECK(!deleted[k]);
            seen[k]++;
            /* delete from the top, insert beyond n: growth continues */
            if (del < n / 4) {
                deleted[n - 1 - del] = true;
                mr_map_delete_int(m, n - 1 - del);
                del++;
            }
        }
        for (int64_t i = 0; i < n - del; i++) CHECK_EQ_U64(seen[i], 1);
        for (int64_t i = n - del; i < n; i++) CHECK(seen[i] <= 1);
    }
}

static void test_iteration_order_is_randomized(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t i = 0; i < 100; i++) mr_map_assign_int(m, i);
    int64_t first[8];
    for (int r = 0; r < 8; r++) {
        mr_map_iter it;
        mr_map_iter_init(&it, m);
        CHECK(mr_map_iter_next(&it));
        first[r] = *(const int64_t *)it.key;
        mr_map_iter_done(&it);
    }
    bool differ = false;
    for (int r = 1; r < 8; r++) differ |= first[r] != first[0];
    CHECK(differ);
    /* two maps with the same keys have different seeds, so different layouts */
    mr_map *m2 = mr_map_new(&int_int, 0);
    CHECK(info_of(m).hash0 != info_of(m2).hash0);
}

static void test_walk_counts_equal_len(void)
{
    mr_map *m = mr_map_new(&str_int, 0);
    for (int i = 0; i < 7777; i++) {
        *(int64_t *)mr_map_assign_str(m, mr_str_printf("w%d", i)) = i;
        if (i % 1000 == 0 || info_of(m).oldbuckets) {
            walk_counts c = {0};
            mr_map_walk(m, count_bucket, count_slot2, &c);
            CHECK_EQ_U64(c.slots, mr_map_len(m));
            mr_map_info in = info_of(m);
            CHECK(c.buckets >= ((size_t)1 << in.B));
            CHECK((c.old != 0) == (in.oldbuckets != NULL));
        }
    }
    mr_map_walk(NULL, count_bucket, count_slot2, NULL);
    mr_map_walk(m, NULL, NULL, NULL);
}

static void test_nil_map_reads_are_empty(void)
{
    int64_t k = 1;
    CHECK(mr_map_lookup(NULL, &k) == NULL);
    CHECK(!mr_map_get(NULL, &k, NULL));
    mr_map_delete(NULL, &k);
    CHECK_EQ_U64(mr_map_len(NULL), 0);
    CHECK(mr_map_type_of(NULL) == NULL);
    mr_map_info in = info_of(NULL);
    CHECK(in.type == NULL && in.count == 0);
}

static void test_render_key(void)
{
    char buf[256];
    int64_t i = -42;
    CHECK_EQ_U64(mr_map_render_key(&int_int, &i, buf, sizeof buf), 3);
    CHECK_STR_EQ(buf, "-42");
    mr_str s = mr_str_from("a\"b\\c\n\x01");
    mr_map_render_key(&str_int, &s, buf, sizeof buf);
    CHECK_STR_EQ(buf, "\"a\\\"b\\\\c\\n\\x01\"");
    char longs[100];
    memset(longs, 'x', sizeof longs);
    mr_str l = {longs, sizeof longs};
    size_t need = mr_map_render_key(&str_int, &l, buf, sizeof buf);
    /* cut at 64 bytes, then the key's length and FNV-1a 64 digest */
    CHECK_EQ_U64(need, 1 + 64 + 1 + strlen("... (100 bytes, #052c9e7cec411035)"));
    CHECK(buf[0] == '"' && buf[65] == '"');
    CHECK_STR_EQ(buf + 66, "... (100 bytes, #052c9e7cec411035)");
    /* truncation follows snprintf */
    char small[5];
    CHECK_EQ_U64(mr_map_render_key(&str_int, &l, small, sizeof small), need);
    CHECK_STR_EQ(small, "\"xxx");
    void *p = (void *)(uintptr_t)0xdeadbeef0;
    mr_map_render_key(&ptr_int, &p, buf, sizeof buf);
    CHECK_STR_EQ(buf, "0xdeadbeef0");
    Key12 k = {0x04030201, 0, 0xffffffff};
    mr_map_render_key(&k12_int, &k, buf, sizeof buf);
    CHECK_STR_EQ(buf, "0x0102030400000000ffffffff");
    /* keys alike in their first 64 bytes render apart */
    char other[100];
    memset(other, 'x', sizeof other);
    other[99] = 'y';
    mr_str o = {other, sizeof other};
    char buf2[256];
    mr_map_render_key(&str_int, &l, buf, sizeof buf);
    mr_map_render_key(&str_int, &o, buf2, sizeof buf2);
    CHECK(strncmp(buf, buf2, 66) == 0 && strcmp(buf, buf2) != 0);
    /* the longest rendering (every byte escaped) stays within 320 bytes */
    char ctl[200];
    memset(ctl, 1, sizeof ctl);
    mr_str c = {ctl, sizeof ctl};
    char big[400];
    need = mr_map_render_key(&str_int, &c, big, sizeof big);
    CHECK(need <= 320);
    CHECK_STR_EQ(big + 1 + 4 * 64 + 1, "... (200 bytes, #0104e3e54d21470d)");
    Key96 k96;
    memset(&k96, 0xab, sizeof k96);
    mr_map_render_key(&k96_int, &k96, big, sizeof big);
    CHECK(strncmp(big, "0xabab", 6) == 0 && strlen(big) == 2 + 128 + 33);
    CHECK_STR_EQ(big + 2 + 128, "... (96 bytes, #6f939970c5678ec5)");
}

typedef struct id_find {
    const mr_map *map[3];
    uint64_t id[3];
} id_find;

static void find_ids(mr_map *m, uint64_t id, void *ud)
{
    id_find *f = ud;
    for (int i = 0; i < 3; i++)
        if (f->map[i] == m) f->id[i] = id;
}

/* A map gets its id when it is listed: by the first walk for the maps made
 * before it, on creation after it. Each id is its own and was handed out by
 * the counter. */
static void test_map_ids_are_distinct(void)
{
    mr_map *keep[3]; /* on the stack: roots */
    keep[0] = mr_map_new(&int_int, 0);
    keep[1] = mr_map_new(&str_int, 0);
    id_find f = {{keep[0], keep[1], NULL}, {0}};
    mr_walk_maps(find_ids, &f);
    uint64_t after_walk = atomic_load(&mr__maps_created);
    keep[2] = mr_map_new(&int_int, 0);
    f.map[2] = keep[2];
    mr_walk_maps(find_ids, &f);
    CHECK(f.id[0] != 0 && f.id[1] != 0 && f.id[0] != f.id[1]);
    CHECK(f.id[0] <= after_walk && f.id[1] <= after_walk);
    CHECK_EQ_U64(f.id[2], after_walk + 1);
    CHECK_EQ_U64(atomic_load(&mr__maps_created), after_walk + 1);
}

static void test_bucket_type_describes_every_pointer(void)
{
    mr_map *m = mr_map_new(&str_int, 0);
    mr_map_assign_str(m, mr_str_from("x"));
    mr_map_info in = info_of(m);
    void *start;
    const mr_type *t = mr_object_type(in.buckets, &start);
    CHECK(t != NULL && t->kind == MR_KIND_BUCKET);
    CHECK_STR_EQ(t->name, "map.bucket[string]int64");
    CHECK_EQ_U64(t->size, in.bucket_size);
    CHECK_EQ_U64(t->nptrs, 9); /* 8 string pointers + overflow */
    CHECK_EQ_U64(t->ptr_offsets[0], 8);
    CHECK_EQ_U64(t->ptr_offsets[1], 24);
    CHECK_EQ_U64(t->ptr_offsets[8], in.bucket_size - 8);
    mr_map *p = mr_map_new(&int_ptr, 0);
    mr_map_assign_int(p, 1);
    const mr_type *pt = mr_object_type(info_of(p).buckets, NULL);
    CHECK_EQ_U64(pt->nptrs, 9);
    CHECK_EQ_U64(pt->ptr_offsets[0], 8 + 64);
    CHECK(mr_object_type(m, NULL)->kind == MR_KIND_MAP_HEADER);
}

/* Concurrent readers of one map (lookups and iterations, as Go allows)
 * while collections run: no false "concurrent write" alarm, no lost entry,
 * and race-free under ThreadSanitizer. */
enum { SHARED_KEYS = 20000, READERS = 4 };

/* Joins the READERS threads (blocked, so that collections go on without
 * them) and adds up the wrong results they counted. */
static long join_readers(pthread_t *th)
{
    long bad = 0;
    for (int i = 0; i < READERS; i++) {
        void *r;
        mr_blocking_enter();
        pthread_join(th[i], &r);
        mr_blocking_exit();
        bad += (long)r;
    }
    return bad;
}

static void *reader(void *arg)
{
    mr_map *m = arg;
    long bad = 0;
    for (int round = 0; round < 20; round++) {
        for (int64_t k = 0; k < SHARED_KEYS; k += 7) {
            Obj **v = mr_map_lookup_int(m, k);
            if (!v || (*v)->id != k) bad++;
        }
        size_t n = 0;
        mr_map_iter it;
        mr_map_iter_init(&it, m);
        while (mr_map_iter_next(&it)) {
            if ((*(Obj **)it.value)->id != *(const int64_t *)it.key) bad++;
            n++;
        }
        if (n != SHARED_KEYS) bad++;
        (void)mr_object_type(mr_new(&obj_type), NULL); /* garbage: drives GCs */
    }
    return (void *)bad;
}

static void test_concurrent_readers_share_a_map(void)
{
    mr_map *m = mr_map_new(&int_ptr, 0);
    for (int64_t k = 0; k < SHARED_KEYS; k++) {
        Obj *o = mr_new(&obj_type);
        o->id = k;
        *(Obj **)mr_map_assign_int(m, k) = o;
    }
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) CHECK(pthread_create(&th[i], NULL, reader, m) == 0);
    for (int g = 0; g < 5; g++) mr_gc();
    long bad = join_readers(th);
    CHECK_EQ_U64(bad, 0);
    CHECK_EQ_U64(mr_map_len(m), SHARED_KEYS);
}

/* A thread whose loop makes nothing but lookups of 8-byte keys (whose
 * common path makes no call), or nothing but deletes, still stops for
 * every collection, in maps of one bucket and of many: each of those calls
 * is a safepoint. Were one not, mr_gc() here would wait for the thread
 * forever (and the test time out). */
static atomic_int lookups_stop;
static atomic_long lookup_batches; /* loops the thread has finished */

typedef struct poll_job {
    mr_map **maps;
    bool deletes; /* else lookups */
} poll_job;

static void *lookup_or_delete_loop(void *arg)
{
    poll_job *job = arg;
    mr_thread_attach();
    long calls = 0;
    while (!atomic_load(&lookups_stop)) {
        for (int64_t k = 0; k < 100; k++, calls++) {
            if (job->deletes)
                mr_map_delete_int(job->maps[k & 1], k + 1000000); /* absent: nothing changes */
            else
                calls += mr_map_lookup_int(job->maps[k & 1], k) == NULL;
        }
        atomic_fetch_add(&lookup_batches, 1);
    }
    return (void *)calls;
}

static void test_lookups_and_deletes_are_safepoints(void)
{
    mr_map **maps = mr_new_array(&mr_type_pointer, 2);
    maps[0] = mr_map_new(&int_int, 0); /* one bucket */
    maps[1] = mr_map_new(&int_int, 0); /* many */
    for (int64_t k = 0; k < 4; k++) *(int64_t *)mr_map_assign_int(maps[0], k) = k;
    for (int64_t k = 0; k < 1000; k++) *(int64_t *)mr_map_assign_int(maps[1], k) = k;
    for (int deletes = 0; deletes < 2; deletes++) {
        poll_job job = {maps, deletes};
        atomic_store(&lookups_stop, 0);
        atomic_store(&lookup_batches, 0);
        pthread_t th;
        CHECK(pthread_create(&th, NULL, lookup_or_delete_loop, &job) == 0);
        /* collect only while the thread is in its loop (attached, busy) */
        while (atomic_load(&lookup_batches) == 0) sched_yield();
        for (int g = 0; g < 20; g++) mr_gc();
        long seen = atomic_load(&lookup_batches);
        while (atomic_load(&lookup_batches) == seen) sched_yield();
        atomic_store(&lookups_stop, 1);
        void *r;
        mr_blocking_enter();
        pthread_join(th, &r);
        mr_blocking_exit();
        CHECK((long)r > 0);
    }
    CHECK_EQ_U64(mr_map_len(maps[0]), 4);
    CHECK_EQ_U64(mr_map_len(maps[1]), 1000);
}

/* Readers that start iterators at once on maps without pointers, none
 * iterated before: each iterator start may make the list the map keeps its
 * overflow buckets on, and the threads must agree on one (race-free under
 * ThreadSanitizer), while collections run. */
enum { FLAT_MAPS = 20, FLAT_KEYS = 2000 };

static void *flat_reader(void *arg)
{
    mr_map **maps = arg;
    long bad = 0;
    for (int i = 0; i < FLAT_MAPS; i++) {
        size_t n = 0;
        mr_map_iter it;
        mr_map_iter_init(&it, maps[i]);
        while (mr_map_iter_next(&it)) {
            if (*(const int64_t *)it.value != *(const int64_t *)it.key * 3) bad++;
            n++;
        }
        if (n != FLAT_KEYS) bad++;
        for (int64_t k = 0; k < FLAT_KEYS; k += 5) {
            int64_t *v = mr_map_lookup_int(maps[i], k);
            if (!v || *v != k * 3) bad++;
        }
        (void)mr_object_type(mr_new(&obj_type), NULL); /* garbage: drives GCs */
    }
    return (void *)bad;
}

static void test_concurrent_iterators_share_a_map_without_pointers(void)
{
    mr_map **maps = mr_new_array(&mr_type_pointer, FLAT_MAPS);
    for (int i = 0; i < FLAT_MAPS; i++) {
        maps[i] = mr_map_new(&int_int, 0);
        for (int64_t k = 0; k < FLAT_KEYS; k++) *(int64_t *)mr_map_assign_int(maps[i], k) = k * 3;
    }
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) CHECK(pthread_create(&th[i], NULL, flat_reader, maps) == 0);
    for (int g = 0; g < 3; g++) mr_gc();
    long bad = join_readers(th);
    CHECK_EQ_U64(bad, 0);
    /* the maps go on growing with their lists */
    for (int i = 0; i < FLAT_MAPS; i++) {
        for (int64_t k = FLAT_KEYS; k < 3 * FLAT_KEYS; k++)
            *(int64_t *)mr_map_assign_int(maps[i], k) = k * 3;
        for (int64_t k = 0; k < 3 * FLAT_KEYS; k++)
            CHECK(*(int64_t *)mr_map_lookup_int(maps[i], k) == k * 3);
    }
}

/* Maps made on several threads at once while collections run (each maker
 * allocates enough to trigger them), and kept in a global array, while the
 * first walk of the maps runs (it finds the maps made so far, and turns
 * on the list of maps made later; a maker stopped inside mr_map_new then
 * must not list its map twice): the registry lists each exactly once, also
 * after the makers have exited. */
enum { MAKERS = 4, MAPS_PER_MAKER = 2000 };
static mr_map **made; /* MAKERS * MAPS_PER_MAKER slots, a heap array */
MR_GLOBAL(made)

static atomic_size_t maps_made; /* by the makers so far */
static void *maker(void *arg)
{
    size_t base = (size_t)(uintptr_t)arg * MAPS_PER_MAKER;
    for (size_t i = 0; i < MAPS_PER_MAKER; i++) {
        mr_map *m = mr_map_new(&int_int, 0);
        for (int64_t k = 0; k < 10; k++) *(int64_t *)mr_map_assign_int(m, k) = k;
        made[base + i] = m;
        atomic_fetch_add(&maps_made, 1);
        for (int g = 0; g < 20; g++) mr_alloc_blob(1024); /* garbage: collections */
    }
    mr_thread_detach();
    return NULL;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct reg_count {
    uintptr_t *sorted; /* the made maps, sorted */
    int *hits;
    size_t n, other;
} reg_count;

static void count_made(mr_map *m, uint64_t id, void *ud)
{
    (void)id;
    reg_count *c = ud;
    uintptr_t key = (uintptr_t)m;
    uintptr_t *f = bsearch(&key, c->sorted, c->n, sizeof *c->sorted, cmp_ptr);
    if (f)
        c->hits[f - c->sorted]++;
    else
        c->other++;
}

static void count_nothing(mr_map *m, uint64_t id, void *ud)
{
    (void)m, (void)id, (void)ud;
}

static int listed_times;
static uintptr_t listed_want;
static void count_listed(mr_map *m, uint64_t id, void *ud)
{
    (void)id, (void)ud;
    if ((uintptr_t)m == listed_want) listed_times++;
}

/* The first walk of the maps, run while a map's maker is inside mr_map_new
 * with the header made (as a collection may stop it there). */
static void first_walk_now(void)
{
    mr_stop_the_world();
    mr_walk_maps(count_nothing, NULL);
    mr_start_the_world();
}

/* A map the first walk found while its maker was stopped in mr_map_new is
 * listed once, not once by the walk and once by its maker. */
static void test_map_made_during_the_first_walk_is_listed_once(void)
{
    mr__map_test_set_after_header(first_walk_now);
    mr_map *m = mr_map_new(&int_int, 0);
    mr__map_test_set_after_header(NULL);
    listed_want = (uintptr_t)m;
    listed_times = 0;
    mr_gc(); /* the maker's list goes into the registry */
    mr_stop_the_world();
    mr_walk_maps(count_listed, NULL);
    mr_start_the_world();
    CHECK_EQ_U64(listed_times, 1);
    CHECK_EQ_U64(mr_map_len(m), 0);
}

static void test_registry_lists_maps_made_on_many_threads_once(void)
{
    made = mr_new_array(&mr_type_pointer, MAKERS * MAPS_PER_MAKER);
    pthread_t th[MAKERS];
    for (uintptr_t i = 0; i < MAKERS; i++)
        CHECK(pthread_create(&th[i], NULL, maker, (void *)i) == 0);
    /* the first walk comes while the makers are under way: once a few of
     * their maps are made (4 of 8,000) */
    mr_blocking_enter();
    while (atomic_load(&maps_made) < MAKERS) usleep(100);
    mr_blocking_exit();
    mr_stop_the_world();
    mr_walk_maps(count_nothing, NULL); /* the first walk, while they make maps */
    mr_start_the_world();
    for (int g = 0; g < 3; g++) mr_gc();
    mr_blocking_enter();
    for (int i = 0; i < MAKERS; i++) pthread_join(th[i], NULL);
    mr_blocking_exit();
    for (int pass = 0; pass < 2; pass++) {
        reg_count c = {.n = MAKERS * MAPS_PER_MAKER};
        c.sorted = malloc(c.n * sizeof *c.sorted);
        c.hits = calloc(c.n, sizeof *c.hits);
        CHECK(c.sorted && c.hits);
        for (size_t i = 0; i < c.n; i++) c.sorted[i] = (uintptr_t)made[i];
        qsort(c.sorted, c.n, sizeof *c.sorted, cmp_ptr);
        mr_stop_the_world();
        mr_walk_maps(count_made, &c);
        mr_start_the_world();
        size_t once = 0;
        for (size_t i = 0; i < c.n; i++) once += c.hits[i] == 1;
        free(c.sorted);
        free(c.hits);
        CHECK_EQ_U64(once, MAKERS * MAPS_PER_MAKER);
        mr_gc(); /* the second pass: after a collection adopted and pruned */
    }
    made = NULL;
}

static void assign_to_nil(void)
{
    mr_map_assign_int(NULL, 1);
}

static void write_during_write(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    mr_map_assign_int(m, 1);
    mr__map_test_set_writing(m, true); /* as if another thread were writing */
    mr_map_delete_int(m, 1);
}

static void set_during_write(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    mr__map_test_set_writing(m, true);
    int64_t k = 1, v = 2;
    mr_map_set(m, &k, &v);
}

/* Lookups during a write, of each common key class: they take different
 * paths through mr_map_lookup, and each must see the write. */
static void int_read_during_write(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t k = 0; k < 100; k++) mr_map_assign_int(m, k);
    mr__map_test_set_writing(m, true);
    mr_map_lookup_int(m, 1);
}

static void str_read_during_write(void)
{
    mr_map *m = mr_map_new(&str_int, 0);
    for (int k = 0; k < 100; k++) mr_map_assign_str(m, mr_str_printf("k%d", k));
    mr__map_test_set_writing(m, true);
    mr_map_lookup_str(m, mr_str_from("k1"));
}

/* An iterator in malloc'd memory begun by a thread that then detached,
 * ended by the thread attached next on the same system thread: a new
 * runtime thread, whose record the allocator most likely puts where the
 * first one's was. The iterator outlived its owner, so the new thread may
 * walk it on and end it (test_threads has the same across a thread's exit,
 * with collections in between). */
static mr_map_iter *orphan_iterator(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t k = 0; k < 10; k++) mr_map_assign_int(m, k);
    mr_map_iter *it = malloc(sizeof *it);
    mr_map_iter_init(it, m);
    mr_thread_detach();
    mr_thread_attach();
    return it;
}

static void test_a_later_thread_ends_an_iterator_that_outlived_its_owner(void)
{
    mr_map_iter *it = orphan_iterator();
    mr_map_iter_done(it);
    free(it);
    it = orphan_iterator();
    size_t n = 0;
    while (mr_map_iter_next(it)) n++;
    CHECK_EQ_U64(n, 10);
    free(it);
}

#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

/* An iterator in malloc'd memory begun by a thread that is still attached
 * (in a blocking call) and ended by another: the owner may be walking it. */
static mr_map_iter *shared_iterator;
static atomic_int owner_state; /* 1: iterator begun, 2: may go */

__attribute__((unused)) static void *begin_and_wait(void *arg)
{
    (void)arg;
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t k = 0; k < 10; k++) mr_map_assign_int(m, k);
    mr_map_iter_init(shared_iterator, m);
    mr_blocking_enter();
    atomic_store(&owner_state, 1);
    while (atomic_load(&owner_state) != 2) usleep(1000);
    mr_blocking_exit();
    return NULL;
}

__attribute__((unused)) static void iterator_ended_by_a_thread_other_than_its_owner(void)
{
    shared_iterator = malloc(sizeof *shared_iterator);
    pthread_t th;
    if (pthread_create(&th, NULL, begin_and_wait, NULL) != 0) return;
    while (atomic_load(&owner_state) != 1) usleep(1000);
    mr_map_iter_done(shared_iterator);
}

static void test_misuse_stops_the_program(void)
{
#ifndef TEST_TSAN
    /* (ThreadSanitizer starts no thread in the child of a fork made while
     * other threads run, as dies_with's is: the plain and ASan builds
     * check this case) */
    CHECK(dies_with(iterator_ended_by_a_thread_other_than_its_owner,
                    "mr_map_iter_done: iterator used by a thread other than its owner"));
#endif
    CHECK(dies_with(int_read_during_write, "concurrent map read and map write (mr_map_lookup)"));
    CHECK(dies_with(str_read_during_write, "concurrent map read and map write (mr_map_lookup)"));
    CHECK(dies_with(assign_to_nil, "assignment to entry in nil map (mr_map_assign)"));
    CHECK(dies_with(write_during_write, "concurrent map writes (mr_map_delete)"));
    CHECK(dies_with(set_during_write, "concurrent map writes (mr_map_set)"));
}

/*
 * String lookups in every state a map can be in, each of which takes its
 * own way through mr_map_lookup: nil, never written (no bucket array yet),
 * one bucket, many, in the middle of a growth (entries still in the old
 * array), emptied by deletes (an array, no entry). Keys are looked up
 * through other string objects of the same bytes, and absent keys of the
 * same length are not found.
 */
static void test_string_lookups_in_every_map_state(void)
{
    enum { KEYS = 2000 };
    CHECK(mr_map_lookup_str(NULL, mr_str_from("a")) == NULL);
    mr_map *m = mr_map_new(&str_int, 0);
    CHECK(mr_map_lookup_str(m, mr_str_from("a")) == NULL);
    *(int64_t *)mr_map_assign_str(m, mr_str_from("a")) = 7;
    CHECK(info_of(m).B == 0);
    CHECK(*(int64_t *)mr_map_lookup_str(m, mr_str_printf("%c", 'a')) == 7);
    CHECK(mr_map_lookup_str(m, mr_str_from("b")) == NULL);
    bool seen_growing = false;
    for (int k = 0; k < KEYS; k++) {
        *(int64_t *)mr_map_assign_str(m, mr_str_printf("key-%d", k)) = k;
        if (info_of(m).oldbuckets == NULL || k % 8) continue;
        /* mid-growth: every key so far, wherever it is, and no absent one */
        seen_growing = true;
        for (int j = 0; j <= k; j++) {
            const int64_t *v = mr_map_lookup_str(m, mr_str_printf("key-%d", j));
            CHECK(v != NULL && *v == j);
        }
        CHECK(mr_map_lookup_str(m, mr_str_printf("key-%d", k + 1)) == NULL);
    }
    CHECK(seen_growing);
    for (int k = 0; k < KEYS; k++) {
        const int64_t *v = mr_map_lookup_str(m, mr_str_printf("key-%d", k));
        CHECK(v != NULL && *v == k);
        CHECK(mr_map_lookup_str(m, mr_str_printf("yek-%d", k)) == NULL);
    }
    for (int k = 0; k < KEYS; k++) mr_map_delete_str(m, mr_str_printf("key-%d", k));
    mr_map_delete_str(m, mr_str_from("a"));
    CHECK(mr_map_len(m) == 0 && info_of(m).buckets != NULL);
    CHECK(mr_map_lookup_str(m, mr_str_from("a")) == NULL);
    CHECK(mr_map_lookup_str(m, mr_str_printf("key-%d", 5)) == NULL);
}

/* A one-bucket map is searched by key, without the hash: a slot emptied by
 * a delete holds a zero key and must not match key 0, present or not; and
 * a map that grows past one bucket is found by hash again. */
static void test_one_bucket_lookup_skips_empty_slots(void)
{
    mr_map *m = mr_map_new(&int_int, 0);
    for (int64_t k = 1; k <= 8; k++) *(int64_t *)mr_map_assign_int(m, k) = k * 10;
    CHECK(mr_map_lookup_int(m, 0) == NULL);
    mr_map_delete_int(m, 3);
    mr_map_delete_int(m, 8);
    CHECK(mr_map_lookup_int(m, 0) == NULL);
    CHECK(mr_map_lookup_int(m, 3) == NULL);
    *(int64_t *)mr_map_assign_int(m, 0) = 77;
    CHECK(*(int64_t *)mr_map_lookup_int(m, 0) == 77);
    mr_map_delete_int(m, 0);
    CHECK(mr_map_lookup_int(m, 0) == NULL);
    int64_t v;
    CHECK(mr_map_get(m, &(int64_t){7}, &v) && v == 70);
    for (int64_t k = 9; k <= 40; k++) *(int64_t *)mr_map_assign_int(m, k) = k * 10;
    CHECK(info_of(m).B > 0);
    for (int64_t k = 1; k <= 40; k++) {
        const int64_t *p = mr_map_lookup_int(m, k);
        if (k == 3 || k == 8)
            CHECK(p == NULL);
        else
            CHECK(p != NULL && *p == k * 10);
    }
}

int main(void)
{
    TEST(test_one_bucket_lookup_skips_empty_slots);
    TEST(test_int_keys_assign_lookup_overwrite_delete);
    TEST(test_pointer_keys_compare_by_address);
    TEST(test_string_keys_compare_by_content_and_update_key);
    TEST(test_string_keys_differing_in_one_byte_are_distinct_at_every_length);
    TEST(test_byte_keys_use_memcmp);
    TEST(test_big_keys_and_values_are_indirect);
    TEST(test_value_less_map_is_a_set);
    TEST(test_hint_presizes_the_table);
    TEST(test_growth_doubles_incrementally_and_completes);
    TEST(test_same_size_growth_when_overflow_piles_up);
    TEST(test_delete_keeps_chains_terminated_with_empty_rest);
    TEST(test_buckets_without_pointers_are_not_scanned);
    TEST(test_overflow_buckets_of_maps_without_pointers_survive_growth_under_iteration);
    TEST(test_clear_of_a_map_without_pointers_under_iteration);
    TEST(test_delete_never_shrinks);
    TEST(test_a_map_emptied_by_deletes_is_reseeded_and_writable);
    TEST(test_clear_keeps_the_array_and_empties_the_map);
    TEST(test_clear_during_iteration_returns_no_cleared_entry);
    TEST(test_iterator_sees_each_entry_once);
    TEST(test_iterator_survives_growth_during_iteration);
    TEST(test_iterator_started_mid_growth_with_deletes);
    TEST(test_iteration_order_is_randomized);
    TEST(test_walk_counts_equal_len);
    TEST(test_nil_map_reads_are_empty);
    TEST(test_render_key);
    TEST(test_map_ids_are_distinct);
    TEST(test_bucket_type_describes_every_pointer);
    TEST(test_concurrent_readers_share_a_map);
    TEST(test_concurrent_iterators_share_a_map_without_pointers);
    TEST(test_lookups_and_deletes_are_safepoints);
    TEST(test_map_made_during_the_first_walk_is_listed_once);
    TEST(test_registry_lists_maps_made_on_many_threads_once);
    TEST(test_misuse_stops_the_program);
    TEST(test_a_later_thread_ends_an_iterator_that_outlived_its_owner);
    TEST(test_string_lookups_in_every_map_state);
    TEST_EXIT();
}
