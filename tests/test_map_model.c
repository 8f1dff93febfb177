/*
 * tests/test_map_model.c -- a randomized model test of maps against a simple
 * reference, with collections in between.
 *
 * Every key is derived from a small integer id, so the reference is just an
 * array over ids: stamp[id] is 0 when the key is absent, else the stamp of
 * the value object stored under it. Values are heap objects referenced only
 * from the map (for indirect values: from the value object the map owns), so
 * a collector or map bug that loses a reference shows up as a freed or
 * reused object with the wrong id or stamp. Maps without pointers (the
 * "flat" kinds) hold their id and stamp in the value itself: there a lost
 * overflow bucket shows up as a lost key or a wrong value, once new buckets
 * reuse its memory.
 *
 * Seed: fixed by default, MR_MAP_MODEL_SEED=N overrides it; it is printed
 * with every failure. MR_MAP_MODEL_OPS=N scales the number of operations.
 */
#include "check.h"
#include "maproot/rt.h"
#include "rt/internal.h"

typedef struct Val {
    uint64_t id;
    uint64_t stamp;
    mr_str tag; /* "v<id>.<stamp>": a second object that must stay alive */
} Val;
MR_TYPE(val_type, Val, MR_FIELD(Val, tag));

typedef struct Key12 {
    uint32_t a, b, c;
} Key12;
MR_TYPE_NOPTR(key12_type, Key12);

typedef struct BigKey {
    uint64_t id;
    uint8_t pad[192];
} BigKey;
MR_TYPE_NOPTR(bigkey_type, BigKey);

typedef struct BigVal {
    uint64_t fill[20];
    Val *val;
} BigVal;
MR_TYPE(bigval_type, BigVal, MR_FIELD(BigVal, val));

typedef struct KeyObj {
    uint64_t id;
} KeyObj;
MR_TYPE_NOPTR(keyobj_type, KeyObj);

/* The value of a map without pointers: its key's id and the stamp. */
typedef struct FlatVal {
    uint64_t id;
    uint64_t stamp;
} FlatVal;
MR_TYPE_NOPTR(flatval_type, FlatVal);

enum kind { K_INT, K_INT_CLUSTERED, K_STR, K_BYTES, K_BIG, K_PTR, K_FLAT, K_FLAT_CLUSTERED };

static const mr_map_type t_int = {"map[int64]*Val", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type t_str = {"map[string]*Val", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type t_bytes = {"map[Key12]*Val", MR_KEY_BYTES, &key12_type, &mr_type_pointer};
static const mr_map_type t_big = {"map[BigKey]BigVal", MR_KEY_BYTES, &bigkey_type, &bigval_type};
static const mr_map_type t_ptr = {"map[*KeyObj]*Val", MR_KEY_PTR, &keyobj_type, &mr_type_pointer};
static const mr_map_type t_flat = {"map[int64]FlatVal", MR_KEY_INT64, NULL, &flatval_type};

static bool is_flat(enum kind k)
{
    return k == K_FLAT || k == K_FLAT_CLUSTERED;
}

static bool is_clustered(enum kind k)
{
    return k == K_INT_CLUSTERED || k == K_FLAT_CLUSTERED;
}

static uint64_t seed_used;
static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state += 0x9e3779b97f4a7c15ull;
    uint64_t z = rng_state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

/* One configuration's state: the map, the reference and the key material. */
typedef struct model {
    enum kind kind;
    mr_map *m;
    uint32_t nids;
    uint64_t *stamp; /* per id: 0 absent, else the value's stamp */
    uint32_t *seen;  /* per id: generation of the last iteration that saw it */
    uint32_t gen;
    uint64_t live, next_stamp;
    KeyObj **keyobjs; /* K_PTR: heap array of key objects (kept alive by the stack) */
    bool saw_same_size, saw_doubling;
    uint8_t lastB;
    const char *fail;
} model;

/* Key bytes of id for the model's kind, in buf (big enough for BigKey). */
static void make_key(model *md, uint32_t id, void *buf, char *strbuf)
{
    switch (md->kind) {
    case K_INT:
    case K_FLAT:
        *(int64_t *)buf = (int64_t)id * 0x2545F491 - 77777;
        break;
    case K_INT_CLUSTERED:
    case K_FLAT_CLUSTERED:
        /* identity hash: ids 12c .. 12c+11 share bucket c (mod 2^B) */
        *(int64_t *)buf = (int64_t)((id / 12) | ((uint64_t)(id % 12) << 32));
        break;
    case K_STR: {
        /* lengths from 3 to ~70 bytes: every path of the string hash */
        int pad = (int)(id % 61);
        int n = snprintf(strbuf, 96, "k%u-%.*s", id, pad,
                         "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        *(mr_str *)buf = (mr_str){strbuf, (size_t)n};
        break;
    }
    case K_BYTES:
        *(Key12 *)buf = (Key12){id, id ^ 0xabcdefu, id * 3u};
        break;
    case K_BIG: {
        BigKey *k = buf;
        memset(k, 0, sizeof *k);
        k->id = id;
        k->pad[191] = (uint8_t)id;
        break;
    }
    case K_PTR:
        *(KeyObj **)buf = md->keyobjs[id];
        break;
    }
}

static Val *new_val(uint32_t id, uint64_t stamp)
{
    Val *v = mr_new(&val_type);
    v->id = id;
    v->stamp = stamp;
    v->tag = mr_str_printf("v%u.%" PRIu64, id, stamp);
    return v;
}

/* The Val stored behind a value slot. */
static Val *val_of(model *md, void *slot)
{
    if (md->kind == K_BIG) return ((BigVal *)slot)->val;
    return *(Val **)slot;
}

static bool val_ok(const Val *v, uint32_t id, uint64_t stamp)
{
    char want[64];
    int n = snprintf(want, sizeof want, "v%u.%" PRIu64, id, stamp);
    void *start;
    return v && mr_object_type(v, &start) == &val_type && start == v && v->id == id &&
           v->stamp == stamp && v->tag.len == (size_t)n && memcmp(v->tag.ptr, want, (size_t)n) == 0;
}

static void note_growth(model *md)
{
    mr_map_info in;
    mr_map_get_info(md->m, &in);
    if (in.oldbuckets && (in.flags & 8)) md->saw_same_size = true;
    if (in.B > md->lastB) md->saw_doubling = true;
    md->lastB = in.B;
}

static void op_set(model *md, uint32_t id)
{
    uint8_t key[sizeof(BigKey)];
    char sb[96];
    uint64_t st = ++md->next_stamp;
    make_key(md, id, key, sb);
    if (is_flat(md->kind)) {
        FlatVal *fv = mr_map_assign(md->m, key);
        if (md->stamp[id] == 0 && (fv->id != 0 || fv->stamp != 0))
            md->fail = "new value not zeroed";
        *fv = (FlatVal){id, st};
        if (md->stamp[id] == 0) md->live++;
        md->stamp[id] = st;
        note_growth(md);
        return;
    }
    Val *v = new_val(id, st);
    if (md->kind == K_STR) {
        /* the map keeps the key: it must be a heap string */
        mr_str *s = (mr_str *)key;
        *s = mr_str_new(s->ptr, s->len);
    }
    void *slot = mr_map_assign(md->m, key);
    if (md->kind == K_BIG) {
        BigVal *bv = slot;
        if (md->stamp[id] == 0 && (bv->val != NULL || bv->fill[19] != 0))
            md->fail = "new big value not zeroed";
        bv->fill[19] = id;
        bv->val = v;
    } else {
        if (md->stamp[id] == 0 && *(Val **)slot != NULL) md->fail = "new value not zeroed";
        *(Val **)slot = v;
    }
    if (md->stamp[id] == 0) md->live++;
    md->stamp[id] = st;
    note_growth(md);
}

static void op_delete(model *md, uint32_t id)
{
    uint8_t key[sizeof(BigKey)];
    char sb[96];
    make_key(md, id, key, sb);
    mr_map_delete(md->m, key);
    if (md->stamp[id]) md->live--;
    md->stamp[id] = 0;
}

static void op_lookup(model *md, uint32_t id)
{
    uint8_t key[sizeof(BigKey)];
    char sb[96];
    make_key(md, id, key, sb);
    void *slot = mr_map_lookup(md->m, key);
    if ((slot != NULL) != (md->stamp[id] != 0)) {
        md->fail = slot ? "lookup found a deleted key" : "lookup lost a key";
        return;
    }
    if (slot && is_flat(md->kind)) {
        const FlatVal *fv = slot;
        if (fv->id != id || fv->stamp != md->stamp[id]) md->fail = "lookup: wrong value";
        return;
    }
    if (slot && !val_ok(val_of(md, slot), id, md->stamp[id])) md->fail = "lookup: wrong value";
    if (slot && md->kind == K_BIG && ((BigVal *)slot)->fill[19] != id) md->fail = "big value bytes";
}

/* Id of an iterated key: the value carries it; the key must match it. */
static void op_iterate(model *md, bool gc_inside)
{
    md->gen++;
    uint64_t n = 0;
    uint64_t gc_at = gc_inside ? below(md->live + 1) : UINT64_MAX;
    mr_map_iter it;
    mr_map_iter_init(&it, md->m);
    while (mr_map_iter_next(&it)) {
        const FlatVal *fv = it.value;
        Val *v = is_flat(md->kind) ? NULL : val_of(md, it.value);
        uint64_t vid = is_flat(md->kind) ? fv->id : v ? v->id : UINT64_MAX;
        if (vid >= md->nids) {
            md->fail = "iterator: value without a valid id";
            break;
        }
        uint32_t id = (uint32_t)vid;
        uint8_t key[sizeof(BigKey)];
        char sb[96];
        make_key(md, id, key, sb);
        bool same;
        if (md->kind == K_STR) {
            const mr_str *a = (const mr_str *)key, *b = it.key;
            same = a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
        } else {
            size_t ks = md->kind == K_BYTES ? sizeof(Key12)
                        : md->kind == K_BIG ? sizeof(BigKey)
                                            : 8;
            same = memcmp(key, it.key, ks) == 0;
        }
        if (!same) md->fail = "iterator: key does not match its value";
        if (md->seen[id] == md->gen) md->fail = "iterator: entry seen twice";
        if (is_flat(md->kind) ? fv->stamp != md->stamp[id] : !val_ok(v, id, md->stamp[id]))
            md->fail = "iterator: wrong value";
        md->seen[id] = md->gen;
        if (md->fail) break;
        if (n++ == gc_at) mr_gc(); /* the iterator is a root meanwhile */
    }
    mr_map_iter_done(&it);
    if (!md->fail && n != md->live) md->fail = "iterator: count differs from the reference";
}

static void count(const mr_map_slot *s, void *ud)
{
    (void)s;
    (*(size_t *)ud)++;
}

static void verify_all(model *md)
{
    if (mr_map_len(md->m) != md->live) {
        md->fail = "len differs from the reference";
        return;
    }
    for (uint32_t id = 0; id < md->nids && !md->fail; id++) op_lookup(md, id);
    size_t walked = 0;
    mr_map_walk(md->m, NULL, count, &walked);
    if (!md->fail && walked != md->live) md->fail = "walk count differs from len";
}

/*
 * Runs nops operations in phases (grow, churn, shrink, churn ...) so the map
 * doubles, piles up overflow buckets and is emptied without shrinking; a GC
 * with a full check runs every gc_every operations. Returns the number of
 * values live at the end (for the reclamation check) or fails.
 */
__attribute__((noinline)) static void run_model(enum kind kind, uint32_t nids, uint32_t nops,
                                                uint32_t gc_every, model *md)
{
    memset(md, 0, sizeof *md);
    md->kind = kind;
    md->nids = nids;
    md->stamp = calloc(nids, sizeof *md->stamp);
    md->seen = calloc(nids, sizeof *md->seen);
    const mr_map_type *t = kind == K_STR     ? &t_str
                           : kind == K_BYTES ? &t_bytes
                           : kind == K_BIG   ? &t_big
                           : kind == K_PTR   ? &t_ptr
                           : is_flat(kind)   ? &t_flat
                                             : &t_int;
    KeyObj **keyobjs = NULL;
    if (kind == K_PTR) {
        keyobjs = mr_new_array(&mr_type_pointer, nids);
        for (uint32_t i = 0; i < nids; i++) {
            KeyObj *k = mr_new(&keyobj_type);
            k->id = i;
            keyobjs[i] = k;
        }
        md->keyobjs = keyobjs;
    }
    /* sometimes presized; never the clustered map, whose point is to pile
     * up overflow buckets in a small table */
    size_t hint = (!is_clustered(kind) && below(4) == 0) ? below(nids) : 0;
    mr_map *m = mr_map_new(t, hint);
    if (is_clustered(kind)) mr__map_test_identity_hash(m);
    md->m = m;
    for (uint32_t op = 0; op < nops && !md->fail; op++) {
        /* phase: 0 grow, 1 churn, 2 shrink, 3 churn */
        unsigned phase = (op / 4000) % 4;
        unsigned pins = phase == 0 ? 60 : phase == 2 ? 15 : 38;
        unsigned pdel = phase == 0 ? 10 : phase == 2 ? 60 : 38;
        uint32_t id = (uint32_t)below(nids);
        if (is_clustered(kind)) {
            /* A sliding window of 160 ids: the ids behind it are deleted,
             * so chains are filled past 8 slots one after the other while
             * the count stays small: overflow buckets pile up and force
             * same-size growth. */
            uint32_t span = nids - 160;
            if (op % 3 == 0) {
                uint32_t gone = (uint32_t)((op / 3) % span);
                op_delete(md, gone == 0 ? span - 1 : gone - 1);
            }
            id = (uint32_t)((op / 3) % span + below(160));
        }
        unsigned r = (unsigned)below(1000);
        if (r < pins * 10) {
            op_set(md, id);
        } else if (r < (pins + pdel) * 10) {
            op_delete(md, id);
        } else if (r < 998) {
            op_lookup(md, id);
        } else if (r < 999) {
            op_iterate(md, below(2) == 0);
        } else if (below(8) == 0) {
            mr_map_clear(m);
            memset(md->stamp, 0, nids * sizeof *md->stamp);
            md->live = 0;
        } else {
            op_iterate(md, false);
        }
        if (!md->fail && op % gc_every == gc_every - 1) {
            mr_gc();
            verify_all(md);
        }
    }
    if (!md->fail) {
        mr_gc();
        verify_all(md);
        op_iterate(md, true);
    }
    md->m = NULL;
    md->keyobjs = NULL;
    free(md->stamp);
    free(md->seen);
    md->stamp = NULL;
    md->seen = NULL;
}

__attribute__((noinline)) static void clobber_stack(void)
{
    volatile char buf[32768];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = 0;
}

__attribute__((noinline)) static void collect(void)
{
    clobber_stack();
    mr_gc();
}

static uint32_t scale = 1;

/* Stress mode: a live ballast over the 4 MiB minimum goal and GOGC=0 make
 * every allocation slow path (span refill, large object) collect, so
 * collections happen inside the map's own allocations: bucket arrays during
 * growth, overflow buckets during assign and evacuation, indirect keys and
 * values. */
static void *ballast;
MR_GLOBAL(ballast)

static void check_kind(enum kind kind, uint32_t nids, uint32_t nops, const char *name, bool stress)
{
    mr_memstats before, after;
    int old_percent = 0;
    if (stress) {
        ballast = mr_alloc_blob((size_t)6 << 20);
        collect();
        old_percent = mr_set_gc_percent(0);
    }
    collect();
    mr_read_memstats(&before);
    model md;
    run_model(kind, nids, nops * scale, 1500, &md);
    if (stress) mr_set_gc_percent(old_percent);
    if (md.fail) {
        fprintf(stderr, "%s: %s (seed %" PRIu64 ", MR_MAP_MODEL_SEED=%" PRIu64 " reproduces)\n",
                name, md.fail, seed_used, seed_used);
        CHECK(md.fail == NULL);
    }
    if (is_clustered(kind) && !md.saw_same_size) {
        fprintf(stderr, "%s: no same-size growth happened (seed %" PRIu64 ")\n", name, seed_used);
        CHECK(md.saw_same_size);
    }
    CHECK(md.saw_doubling);
    /* The map and every value are unreachable now: all reclaimed. */
    collect();
    collect();
    mr_read_memstats(&after);
    if (after.heap_objects > before.heap_objects + 64) {
        fprintf(stderr,
                "%s: %" PRIu64 " objects before, %" PRIu64 " after dropping the map (seed %" PRIu64
                ")\n",
                name, before.heap_objects, after.heap_objects, seed_used);
        CHECK(after.heap_objects <= before.heap_objects + 64);
    }
    /* the values were objects of their own, except in a flat map */
    CHECK(after.frees > before.frees + (is_flat(kind) ? 0 : md.live));
    CHECK(after.num_gc > before.num_gc);
    fprintf(stderr, "  %s: %u ops, %u collections, %" PRIu64 " objects freed%s\n", name,
            nops * scale, after.num_gc - before.num_gc, after.frees - before.frees,
            md.saw_same_size ? ", same-size growth seen" : "");
}

static void test_model_int_keys(void)
{
    check_kind(K_INT, 12000, 40000, "int64 keys", false);
}

static void test_model_clustered_int_keys_force_same_size_growth(void)
{
    check_kind(K_INT_CLUSTERED, 3000, 24000, "clustered int64 keys", false);
}

static void test_model_string_keys(void)
{
    check_kind(K_STR, 8000, 32000, "string keys", false);
}

static void test_model_byte_keys(void)
{
    check_kind(K_BYTES, 6000, 24000, "12-byte keys", false);
}

static void test_model_big_indirect_keys_and_values(void)
{
    check_kind(K_BIG, 3000, 16000, "200-byte keys and values", false);
}

static void test_model_pointer_keys(void)
{
    check_kind(K_PTR, 6000, 24000, "pointer keys", false);
}

static void test_model_map_without_pointers(void)
{
    check_kind(K_FLAT, 12000, 40000, "int64 keys, values without pointers", false);
}

static void test_model_map_without_pointers_clustered_keys(void)
{
    check_kind(K_FLAT_CLUSTERED, 3000, 24000, "clustered int64 keys, values without pointers",
               false);
}

static void test_model_with_collections_inside_map_allocations(void)
{
    check_kind(K_INT, 12000, 16000, "int64 keys, GC at every slow path", true);
    check_kind(K_INT_CLUSTERED, 3000, 12000, "clustered int64 keys, GC at every slow path", true);
    check_kind(K_STR, 8000, 12000, "string keys, GC at every slow path", true);
    check_kind(K_BIG, 3000, 8000, "200-byte keys and values, GC at every slow path", true);
    check_kind(K_FLAT_CLUSTERED, 3000, 12000,
               "clustered int64 keys, values without pointers, GC at every slow path", true);
    ballast = NULL;
}

int main(void)
{
    const char *s = getenv("MR_MAP_MODEL_SEED");
    seed_used = s ? strtoull(s, NULL, 0) : 20240601;
    rng_state = seed_used;
    const char *o = getenv("MR_MAP_MODEL_OPS");
    if (o && atoi(o) > 0) scale = (uint32_t)atoi(o);
    fprintf(stderr, "map model seed %" PRIu64 "\n", seed_used);
    TEST(test_model_int_keys);
    TEST(test_model_clustered_int_keys_force_same_size_growth);
    TEST(test_model_string_keys);
    TEST(test_model_byte_keys);
    TEST(test_model_big_indirect_keys_and_values);
    TEST(test_model_pointer_keys);
    TEST(test_model_map_without_pointers);
    TEST(test_model_map_without_pointers_clustered_keys);
    TEST(test_model_with_collections_inside_map_allocations);
    TEST_EXIT();
}
