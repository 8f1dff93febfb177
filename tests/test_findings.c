/*
 * tests/test_findings.c -- per-map figures, evidence, ranking and chains on
 * synthetic heaps shaped like each leak pattern.
 */
#include "analyze/findings.h"
#include "analyze/findings_entries.h"

#include "check.h"

#include <assert.h>

typedef struct heap {
    mp_graph_builder *b;
    uint64_t next;
    uint32_t t_hdr, t_bucket, t_val, t_blob;
    /* how add_map's keys with objects are described (default: pointers) */
    uint8_t obj_key_kind, obj_key_indirect;
    uint32_t obj_key_type;
} heap;

static void heap_init(heap *h)
{
    h->b = mp_gb_new("synthetic", "test");
    h->next = 0x100000;
    h->t_hdr = mp_gb_type(h->b, "hmap", 48, MP_TYPE_MAP_HEADER);
    h->t_bucket = mp_gb_type(h->b, "bucket", 208, MP_TYPE_BUCKET);
    h->t_val = mp_gb_type(h->b, "Session", 64, MP_TYPE_STRUCT);
    h->t_blob = mp_gb_type(h->b, "blob", 0, MP_TYPE_BLOB);
    h->obj_key_kind = MP_KEY_PTR;
    h->obj_key_indirect = 0;
    h->obj_key_type = MP_NONE;
}

static uint32_t obj(heap *h, uint64_t size, uint32_t type)
{
    uint32_t o = mp_gb_object(h->b, h->next, size, type, MP_NONE);
    h->next += (size + 15) / 16 * 16 + 16;
    return o;
}

typedef struct built_map {
    uint32_t map, header, array, ovf;
    uint32_t vals[64], keys[64];
} built_map;

/* A map of 2^B buckets holding n entries (entry i in bucket i % 2^B, slot
 * i / 2^B; entries beyond 8 per bucket go to an overflow bucket of bucket
 * 0), each value a Session of 64 bytes owning a blob of blob_size; with
 * ptr_keys, each key points to its own blob of key_size. */
static built_map add_map(heap *h, uint32_t B, uint32_t n, uint64_t blob_size, bool ptr_keys,
                         uint64_t key_size)
{
    built_map bm;
    memset(&bm, 0xff, sizeof bm);
    bm.header = obj(h, 48, h->t_hdr);
    uint64_t nb = 1ull << B;
    bm.array = obj(h, nb * 208, h->t_bucket);
    mp_gb_edge(h->b, bm.header, bm.array);
    mp_map m = {.header = bm.header,
                .type_name = mp_gb_intern(h->b, "map[string]*Session"),
                .key_kind = ptr_keys ? h->obj_key_kind : MP_KEY_STRING,
                .key_indirect = ptr_keys ? h->obj_key_indirect : 0,
                .key_type = ptr_keys ? h->obj_key_type : MP_NONE,
                .value_type = h->t_val,
                .count = n,
                .B = B,
                .buckets = bm.array,
                .oldbuckets = MP_NONE,
                .bucket_size = 208};
    bm.map = mp_gb_map(h->b, &m, NULL);
    for (uint64_t i = 0; i < nb; i++)
        mp_gb_bucket(h->b, &(mp_bucket){.map = bm.map, .obj = bm.array, .index = i}, 0);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t holder = bm.array, ovf = 0;
        uint64_t bucket = i % nb, slot = i / nb;
        if (slot >= 8) {
            if (bm.ovf == MP_NONE) {
                bm.ovf = obj(h, 208, h->t_bucket);
                mp_gb_edge(h->b, bm.array, bm.ovf);
                mp_gb_bucket(
                    h->b, &(mp_bucket){.map = bm.map, .obj = bm.ovf, .index = 0, .overflow = 1}, 0);
            }
            holder = bm.ovf, ovf = 1, bucket = 0, slot = i - 8 * nb;
        }
        uint32_t v = obj(h, 64, h->t_val);
        uint32_t blob = obj(h, blob_size, h->t_blob);
        mp_gb_edge(h->b, v, blob);
        mp_gb_edge(h->b, holder, v);
        uint32_t k = MP_NONE;
        if (ptr_keys) {
            k = obj(h, key_size, h->t_blob);
            mp_gb_edge(h->b, holder, k);
        }
        char key[32];
        snprintf(key, sizeof key, "\"user-%u\"", i);
        mp_gb_entry(h->b, &(mp_entry){.map = bm.map,
                                      .bucket_obj = holder,
                                      .bucket = bucket,
                                      .overflow = ovf,
                                      .slot = (uint8_t)slot,
                                      .key = mp_gb_string(h->b, key, strlen(key)),
                                      .key_obj = k,
                                      .value_obj = v});
        if (i < 64) bm.vals[i] = v, bm.keys[i] = k;
    }
    return bm;
}

static void root(heap *h, mp_root_kind kind, const char *name, uint32_t target, uint32_t thread,
                 uint32_t frame)
{
    mp_root r = {.kind = (uint8_t)kind,
                 .name = mp_gb_intern(h->b, name),
                 .function = mp_gb_intern(h->b, kind == MP_ROOT_GLOBAL ? "" : name),
                 .file = mp_gb_intern(h->b, "svc.c"),
                 .line = 31,
                 .thread = thread,
                 .frame = frame,
                 .target = target};
    mp_gb_root(h->b, &r, 0);
}

typedef struct analysis {
    mp_graph *g;
    mp_paths p;
    mp_dom d;
    mp_findings f;
} analysis;

static int analyse(heap *h, analysis *a)
{
    mf_error err;
    if (mp_gb_finish(h->b, &a->g, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    if (mp_paths_compute(a->g, &a->p, &err) || mp_dom_compute(a->g, &a->d, &err) ||
        mp_findings_compute(a->g, &a->p, &a->d, NULL, &a->f, &err))
        return -1;
    return 0;
}

static void done(analysis *a)
{
    mp_findings_free(&a->f);
    mp_dom_free(&a->d);
    mp_paths_free(&a->p);
    mp_graph_free(a->g);
}

static void chain_text(const analysis *a, const mp_step *s, size_t n, char *buf, size_t size)
{
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char t[256];
        mp_step_text(a->g, &s[i], t, sizeof t);
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", i ? " -> " : "", t);
    }
}

static void test_global_cache_is_the_top_suspect_with_its_chain(void)
{
    heap h;
    heap_init(&h);
    uint32_t small = obj(&h, 4096, h.t_blob);
    built_map bm = add_map(&h, 2, 36, 2000, false, 0); /* 32 inline + 4 in overflow#1 */
    root(&h, MP_ROOT_GLOBAL, "session_cache", bm.header, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "config", small, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK(r->suspect);
    CHECK_EQ_U64(a.f.nsuspects, 1);
    CHECK_EQ_U64(a.f.ranked[0], 0);
    CHECK_EQ_U64(r->root, 0);
    CHECK_EQ_U64(r->nroots, 1);
    CHECK(r->evidence & MP_EV_LARGE_SHARE);
    CHECK(!(r->evidence & (MP_EV_EMPTIED | MP_EV_STACK_FRAME | MP_EV_SHARED_ENTRIES)));
    uint64_t per_entry = 64 + 2000;
    CHECK_EQ_U64(r->entries_retained, 36 * per_entry);
    CHECK_EQ_U64(r->retained, 36 * per_entry + 48 + 4 * 208 + 208);
    CHECK_EQ_U64(a.g->maps[0].table_bytes, 48 + 4 * 208 + 208);
    CHECK_EQ_U64(a.g->maps[0].noverflow_walked, 1);
    CHECK(mp_map_load(&a.g->maps[0]) == 9.0);
    CHECK(mp_map_fill(&a.g->maps[0]) == 36.0 / 40.0);
    CHECK_EQ_U64(a.f.heap_bytes, r->retained + 4096);
    /* entry 33 sits in overflow#1 of bucket 0, slot 1 */
    mp_step s[16];
    size_t n = mp_chain_entry(a.g, &a.p, (uint32_t)(a.g->maps[0].first_entry + 33), s, 16);
    char buf[1024];
    chain_text(&a, s, n, buf, sizeof buf);
    char want[256];
    snprintf(
        want, sizeof want,
        "session_cache -> map header 0x%llx (B=2, 36 entries) -> bucket[0] -> overflow#1 -> slot 1 "
        "(\"user-33\")",
        (unsigned long long)mp_obj_addr(a.g, bm.header));
    CHECK_STR_EQ(buf, want);
    n = mp_chain_entry(a.g, &a.p, (uint32_t)(a.g->maps[0].first_entry + 6), s, 16);
    chain_text(&a, s, n, buf, sizeof buf);
    CHECK(strstr(buf, "-> bucket[2] -> slot 1") != NULL);
    uint32_t top[4];
    CHECK_EQ_U64(mp_findings_top_entries(a.g, &a.d, &a.f, 0, top, 4), 4);
    CHECK_EQ_U64(mp_findings_entry(&a.f, top[0], NULL), per_entry);
    char rt[256];
    mp_root_text(a.g, r->root, rt, sizeof rt);
    CHECK_STR_EQ(rt, "global session_cache (svc.c:31)");
    done(&a);
}

/* A map[int64]int64 of 36 entries in 4 buckets of 80 bytes, entry i in
 * bucket i % 4 slot i / 4, the last 4 in an overflow bucket of bucket 0.
 * listed: as a map without pointers keeps it (the runtime's, or Go's):
 * no bucket points to its overflow bucket; the header points to an extra
 * object, it to a list (a chunk), the list to the overflow bucket. Else
 * the bucket array points to it. */
static built_map add_flat_map(heap *h, bool listed, uint32_t *extra, uint32_t *chunk)
{
    built_map bm;
    memset(&bm, 0xff, sizeof bm);
    uint32_t t_flat = mp_gb_type(h->b, "map.bucket[int64]int64", 80, MP_TYPE_BUCKET);
    bm.header = obj(h, 64, h->t_hdr);
    bm.array = obj(h, 4 * 80, t_flat);
    bm.ovf = obj(h, 80, t_flat);
    mp_gb_edge(h->b, bm.header, bm.array);
    if (listed) {
        *extra = obj(h, 32, mp_gb_type(h->b, "map.extra", 32, MP_TYPE_RUNTIME));
        *chunk = obj(h, 32, mp_gb_type(h->b, "map.overflow", 8, MP_TYPE_RUNTIME));
        mp_gb_edge(h->b, bm.header, *extra);
        mp_gb_edge(h->b, *extra, *chunk);
        mp_gb_edge(h->b, *chunk, bm.ovf);
    } else {
        mp_gb_edge(h->b, bm.array, bm.ovf);
    }
    mp_map m = {.header = bm.header,
                .type_name = mp_gb_intern(h->b, "map[int64]int64"),
                .key_kind = MP_KEY_INT,
                .key_numeric = 1,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .count = 36,
                .B = 2,
                .buckets = bm.array,
                .oldbuckets = MP_NONE,
                .bucket_size = 80};
    bm.map = mp_gb_map(h->b, &m, NULL);
    for (uint64_t i = 0; i < 4; i++)
        mp_gb_bucket(h->b, &(mp_bucket){.map = bm.map, .obj = bm.array, .index = i}, 0);
    mp_gb_bucket(h->b, &(mp_bucket){.map = bm.map, .obj = bm.ovf, .index = 0, .overflow = 1}, 0);
    for (uint32_t i = 0; i < 36; i++) {
        bool in_ovf = i >= 32;
        mp_gb_entry(h->b, &(mp_entry){.map = bm.map,
                                      .bucket_obj = in_ovf ? bm.ovf : bm.array,
                                      .bucket = in_ovf ? 0 : i % 4,
                                      .overflow = in_ovf,
                                      .slot = (uint8_t)(in_ovf ? i - 32 : i / 4),
                                      .key = i,
                                      .key_obj = MP_NONE,
                                      .value_obj = MP_NONE});
    }
    return bm;
}

/* In a map without pointers what keeps an overflow bucket is the list the
 * header holds: the chain to an entry there goes through it (not through a
 * bucket that does not point to it), and the list is part of the table,
 * not something the entries hold together. */
static void test_a_map_without_pointers_keeps_overflow_buckets_through_its_list(void)
{
    for (int listed = 0; listed < 2; listed++) {
        heap h;
        heap_init(&h);
        uint32_t extra = MP_NONE, chunk = MP_NONE;
        built_map bm = add_flat_map(&h, listed, &extra, &chunk);
        root(&h, MP_ROOT_GLOBAL, "counts", bm.header, 0, 0);
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        const mp_map_report *r = &a.f.maps[0];
        uint64_t table = 64 + 4 * 80 + 80 + (listed ? 32 + 32 : 0);
        CHECK_EQ_U64(a.g->maps[0].table_bytes, table);
        CHECK_EQ_U64(a.g->maps[0].table_objects, listed ? 5 : 3);
        CHECK_EQ_U64(a.g->maps[0].noverflow_walked, 1);
        CHECK_EQ_U64(r->retained, table);
        CHECK_EQ_U64(r->entries_retained, 0);
        if (listed) {
            CHECK(mp_graph_table_map(a.g, extra) == 0);
            CHECK(mp_graph_table_map(a.g, chunk) == 0);
        }
        /* entry 33: overflow#1 of bucket 0, slot 1 */
        mp_step s[16];
        size_t n = mp_chain_entry(a.g, &a.p, (uint32_t)(a.g->maps[0].first_entry + 33), s, 16);
        char buf[1024], want[256];
        chain_text(&a, s, n, buf, sizeof buf);
        if (listed) {
            CHECK(strstr(buf, "bucket[0]") == NULL);
            CHECK(strstr(buf, "map.extra") != NULL);
            CHECK(strstr(buf, "map.overflow") != NULL);
            CHECK(strstr(buf, "-> overflow#1 -> slot 1 (33)") != NULL);
            snprintf(want, sizeof want, "counts -> map header 0x%llx (B=2, 36 entries) -> ",
                     (unsigned long long)mp_obj_addr(a.g, bm.header));
            CHECK(strncmp(buf, want, strlen(want)) == 0);
        } else {
            snprintf(want, sizeof want,
                     "counts -> map header 0x%llx (B=2, 36 entries) -> bucket[0] -> overflow#1 "
                     "-> slot 1 (33)",
                     (unsigned long long)mp_obj_addr(a.g, bm.header));
            CHECK_STR_EQ(buf, want);
        }
        /* an entry of a main bucket: the same either way */
        n = mp_chain_entry(a.g, &a.p, (uint32_t)(a.g->maps[0].first_entry + 6), s, 16);
        chain_text(&a, s, n, buf, sizeof buf);
        CHECK(strstr(buf, "-> bucket[2] -> slot 1 (6)") != NULL);
        done(&a);
    }
}

static void test_emptied_map_is_flagged_by_its_table(void)
{
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 9, 3, 16, false, 0); /* 512 buckets, 104 KiB, 3 entries */
    root(&h, MP_ROOT_GLOBAL, "ingest_buffer", bm.header, 0, 0);
    uint32_t big = obj(&h, 50 << 20, h.t_blob); /* the map is a small share of the heap */
    root(&h, MP_ROOT_GLOBAL, "arena", big, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK(r->evidence & MP_EV_EMPTIED);
    CHECK(!(r->evidence & MP_EV_LARGE_SHARE));
    CHECK(r->suspect);
    done(&a);
}

static void test_map_held_only_by_an_iterator(void)
{
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 3, 40, 4000, false, 0);
    root(&h, MP_ROOT_ITERATOR, "worker_loop", bm.header, 2, 3);
    root(&h, MP_ROOT_STACK, "worker_loop", bm.header, 2, 3); /* the iterator's own field */
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(r->nroots, 2);
    CHECK_EQ_U64(r->root, MP_NONE);
    CHECK(r->evidence & MP_EV_ITERATOR_ONLY);
    CHECK(!(r->evidence & (MP_EV_STACK_FRAME | MP_EV_SEVERAL_ROOTS)));
    CHECK(r->suspect);
    done(&a);
}

static void test_map_in_a_long_lived_frame(void)
{
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 3, 40, 4000, false, 0);
    root(&h, MP_ROOT_STACK, "worker_loop", bm.header, 2, 1);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(r->root, 0);
    CHECK(r->evidence & MP_EV_STACK_FRAME);
    CHECK(!(r->evidence & MP_EV_ITERATOR_ONLY));
    char rt[256];
    mp_root_text(a.g, r->root, rt, sizeof rt);
    CHECK_STR_EQ(rt, "stack: thread 2, frame #1 worker_loop (svc.c:31)");
    done(&a);
}

/* A heap without maps: nothing to find, and the single root of every
 * object, which the analysis may borrow as scratch, is as the dominators
 * computed it (a list under one global, a value two roots share). */
static void test_a_heap_without_maps_keeps_every_objects_root(void)
{
    heap h;
    heap_init(&h);
    uint32_t list[4];
    for (int i = 0; i < 4; i++) list[i] = obj(&h, 64, h.t_val);
    for (int i = 0; i < 3; i++) mp_gb_edge(h.b, list[i], list[i + 1]);
    uint32_t shared = obj(&h, 4000, h.t_blob), alone = obj(&h, 64, h.t_val);
    mp_gb_edge(h.b, list[3], shared);
    mp_gb_edge(h.b, alone, shared);
    root(&h, MP_ROOT_GLOBAL, "queue", list[0], MP_NONE, MP_NONE);
    root(&h, MP_ROOT_STACK, "serve", alone, 1, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    CHECK_EQ_U64(a.f.nmaps, 0);
    CHECK_EQ_U64(a.f.nsuspects, 0);
    for (int i = 0; i < 4; i++) CHECK_EQ_U64(a.d.root_of[list[i]], 0);
    CHECK_EQ_U64(a.d.root_of[alone], 1);
    CHECK_EQ_U64(a.d.root_of[shared], MP_NONE);
    CHECK_EQ_U64(a.d.retained[list[0]], 4 * 64);
    done(&a);
}

static void test_keys_with_pointers_pin_their_buffers(void)
{
    /* pointer keys; then 16-byte keys {descriptor, buffer}: fixed-size
     * bytes of a type with pointer fields */
    for (int bytes = 0; bytes < 2; bytes++) {
        heap h;
        heap_init(&h);
        if (bytes) {
            h.obj_key_kind = MP_KEY_BYTES;
            h.obj_key_type = mp_gb_type(h.b, "Iface", 16, MP_TYPE_STRUCT);
            mp_gb_type_pointers(h.b, h.obj_key_type, MP_PTRS_SOME);
        }
        built_map bm = add_map(&h, 2, 20, 16, true, 65536);
        root(&h, MP_ROOT_GLOBAL, "bytes_by_buffer", bm.header, 0, 0);
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        const mp_map_report *r = &a.f.maps[0];
        CHECK(r->evidence & MP_EV_POINTER_KEYS);
        CHECK_EQ_U64(r->keys_retained, 20 * 65536);
        done(&a);
    }
}

static void test_big_keys_without_pointers_are_no_pointer_keys(void)
{
    /* 200-byte keys stored in objects of their own (indirect): the key
     * objects are the map's, yet they point at nothing */
    for (int known = 0; known < 2; known++) {
        heap h;
        heap_init(&h);
        h.obj_key_kind = MP_KEY_BYTES;
        h.obj_key_indirect = 1;
        if (known) {
            h.obj_key_type = mp_gb_type(h.b, "Digest", 200, MP_TYPE_STRUCT);
            mp_gb_type_pointers(h.b, h.obj_key_type, MP_PTRS_NONE);
        }
        built_map bm = add_map(&h, 6, 400, 16, true, 200);
        root(&h, MP_ROOT_GLOBAL, "by_digest", bm.header, 0, 0);
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        const mp_map_report *r = &a.f.maps[0];
        CHECK_EQ_U64(r->keys_retained, 400 * 200);
        CHECK(!(r->evidence & MP_EV_POINTER_KEYS));
        done(&a);
    }
}

/* A map[string]string of n entries in 16 buckets (n <= 128) whose keys
 * (values: vals) are strings pointing into bufs objects of buf_size each,
 * entry i into buffer i % nbufs, its key shown as key_text (%u: i). */
static uint32_t add_slice_map(heap *h, uint32_t n, uint32_t nbufs, uint64_t buf_size, bool vals,
                              const char *key_text)
{
    if (nbufs > 8 || n > 128) abort();
    uint32_t hdr = obj(h, 48, h->t_hdr), arr = obj(h, 16 * 208, h->t_bucket), bufs[8];
    uint32_t t_str = mp_gb_type(h->b, "string", 16, MP_TYPE_STRUCT);
    mp_gb_edge(h->b, hdr, arr);
    mp_map m = {.header = hdr,
                .type_name = mp_gb_intern(h->b, "map[string]string"),
                .key_kind = MP_KEY_STRING,
                .key_type = MP_NONE,
                .value_type = t_str,
                .count = n,
                .B = 4,
                .buckets = arr,
                .oldbuckets = MP_NONE,
                .bucket_size = 208};
    uint32_t k = mp_gb_map(h->b, &m, NULL);
    for (uint64_t i = 0; i < 16; i++)
        mp_gb_bucket(h->b, &(mp_bucket){.map = k, .obj = arr, .index = i}, 0);
    for (uint32_t i = 0; i < nbufs; i++) bufs[i] = obj(h, buf_size, h->t_blob);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = bufs[i % nbufs];
        mp_gb_edge(h->b, arr, b);
        char key[256];
        snprintf(key, sizeof key, key_text, i);
        mp_gb_entry(h->b, &(mp_entry){.map = k,
                                      .bucket_obj = arr,
                                      .bucket = i % 16,
                                      .slot = (uint8_t)(i / 16),
                                      .key = mp_gb_string(h->b, key, strlen(key)),
                                      .key_obj = vals ? MP_NONE : b,
                                      .value_obj = vals ? b : MP_NONE});
    }
    return hdr;
}

/* What the findings say of a map's slices: its evidence and its rare
 * figures (findings.h). */
typedef struct slice_seen {
    uint32_t evidence;
    mp_map_rare x;
} slice_seen;

/* The findings of one map built by add_slice_map, held by a global, into
 * *r (left zero, the case failed, when the analysis fails). */
static void slice_findings(slice_seen *r, uint32_t n, uint32_t nbufs, uint64_t buf_size, bool vals,
                           const char *key_text)
{
    heap h;
    heap_init(&h);
    root(&h, MP_ROOT_GLOBAL, "index", add_slice_map(&h, n, nbufs, buf_size, vals, key_text), 0, 0);
    analysis a;
    memset(r, 0, sizeof *r);
    CHECK(analyse(&h, &a) == 0);
    r->evidence = a.f.maps[0].evidence;
    r->x = *mp_report_rare(&a.f, &a.f.maps[0]);
    done(&a);
}

/* The holders a report lists past its first lie out of line, a report's
 * together: two reports' lists read back apart, a list stops at
 * MP_MAX_LISTED_ROOTS while nroots counts on, and a report whose run
 * another report's holders broke is refused, left as it was. */
static void test_listed_holders_read_back_per_report(void)
{
    mp_findings f = {0};
    mp_map_report r[3] = {{0}};
    for (uint32_t i = 0; i < 20; i++) CHECK(mp_report_add_root(&f, &r[0], 100 + i) == 0);
    CHECK(mp_report_add_root(&f, &r[1], 7) == 0);
    CHECK(mp_report_add_root(&f, &r[2], 8) == 0);
    CHECK(mp_report_add_root(&f, &r[2], 9) == 0);
    CHECK_EQ_U64(r[0].nroots, 20);
    CHECK_EQ_U64(mp_report_nlisted(&r[0]), MP_MAX_LISTED_ROOTS);
    for (uint32_t i = 0; i < MP_MAX_LISTED_ROOTS; i++)
        CHECK_EQ_U64(mp_report_root(&f, &r[0], i), 100 + i);
    CHECK_EQ_U64(r[1].nroots, 1);
    CHECK_EQ_U64(mp_report_root(&f, &r[1], 0), 7);
    /* r[0] lists 15 out of line, r[1] none, r[2] one */
    CHECK_EQ_U64(f.nmore_roots, MP_MAX_LISTED_ROOTS);
    CHECK_EQ_U64(mp_report_root(&f, &r[2], 0), 8);
    CHECK_EQ_U64(mp_report_root(&f, &r[2], 1), 9);
    /* r[1]'s second holder starts its run; r[2]'s run is broken by it */
    CHECK(mp_report_add_root(&f, &r[1], 10) == 0);
    CHECK(mp_report_add_root(&f, &r[2], 11) == -1);
    CHECK_EQ_U64(r[2].nroots, 2);
    CHECK_EQ_U64(mp_report_root(&f, &r[1], 1), 10);
    CHECK_EQ_U64(mp_report_root(&f, &r[2], 1), 9);
    mp_findings_free(&f);
}

/* A report's allocation sites lie out of line: each report reads back its
 * own, a report without any reads none. */
static void test_sites_read_back_per_report(void)
{
    mp_findings f = {0};
    mp_map_report r[3] = {{0}};
    mp_site_count a[2] = {{4, 9}, {5, 2}}, b[MP_MAX_SITES] = {{6, 3}, {7, 2}, {8, 1}};
    CHECK(mp_report_set_sites(&f, &r[0], a, 2) == 0);
    CHECK(mp_report_set_sites(&f, &r[1], b, 0) == 0);
    CHECK(mp_report_set_sites(&f, &r[2], b, MP_MAX_SITES) == 0);
    CHECK_EQ_U64(mp_report_nsites(&f, &r[0]), 2);
    CHECK_EQ_U64(mp_report_sites(&f, &r[0])[1].stack, 5);
    CHECK_EQ_U64(mp_report_nsites(&f, &r[1]), 0);
    CHECK(mp_report_sites(&f, &r[1]) == NULL);
    CHECK_EQ_U64(mp_report_sites(&f, &r[2])[0].samples, 3);
    CHECK_EQ_U64(mp_report_sites(&f, &r[2])[2].stack, 8);
    mp_findings_free(&f);
}

static void test_string_slices_of_big_buffers_are_named(void)
{
    /* 60 short keys, slices of three 128 KiB buffers the map alone keeps */
    slice_seen r;
    slice_findings(&r, 60, 3, 128 * 1024, false, "\"k-%05u\"");
    CHECK(r.evidence & MP_EV_SLICE_BUFFERS);
    CHECK_EQ_U64(r.x.slice_buffers, 3);
    CHECK_EQ_U64(r.x.slice_bytes, 3 * 128 * 1024);
    CHECK(r.x.slice_of == MP_SLICE_KEYS);
    /* one key per buffer: it owns its buffer, and is a slice of it still */
    slice_findings(&r, 2, 2, 128 * 1024, false, "\"k-%05u\"");
    CHECK(r.evidence & MP_EV_SLICE_BUFFERS);
    CHECK_EQ_U64(r.x.slice_buffers, 2);
    /* string values into two buffers, several entries each */
    slice_findings(&r, 40, 2, 128 * 1024, true, "\"k-%05u\"");
    CHECK(r.evidence & MP_EV_SLICE_BUFFERS);
    CHECK_EQ_U64(r.x.slice_buffers, 2);
    CHECK(r.x.slice_of == MP_SLICE_VALUES);
}

static void test_strings_owning_their_bytes_are_no_slices(void)
{
    /* keys in objects of their own length (rounded up) */
    slice_seen r;
    slice_findings(&r, 8, 8, 16, false, "\"k-%05u\"");
    CHECK(!(r.evidence & MP_EV_SLICE_BUFFERS));
    CHECK_EQ_U64(r.x.slice_buffers, 0);
    /* long keys, shown cut with their length: 100,000 bytes in 128 KiB */
    slice_findings(&r, 2, 2, 128 * 1024, false,
                   "\"aaaaaaaa%u\"... (100000 bytes, #0123456789abcdef)");
    CHECK_EQ_U64(r.x.slice_buffers, 0);
    /* ... and the keys a reader could not read, shown by their length */
    slice_findings(&r, 2, 2, 128 * 1024, false, "(string of 100000 bytes at 0x%u)");
    CHECK_EQ_U64(r.x.slice_buffers, 0);
    /* a key cut without its length (older writers) is not judged */
    slice_findings(&r, 2, 2, 128 * 1024, false, "\"aaaaaaaa%u\"...");
    CHECK_EQ_U64(r.x.slice_buffers, 0);
    /* one value per buffer: its length is not known, so no finding */
    slice_findings(&r, 2, 2, 128 * 1024, true, "\"k-%05u\"");
    CHECK_EQ_U64(r.x.slice_buffers, 0);
}

/* A map half-way through doubling from 2 buckets to 4 (old bucket 0
 * evacuated: no used slot; old bucket 1 not yet: one), of count entries of
 * value type value_type: its header, new and old bucket arrays, and no
 * entry in them yet. */
typedef struct growing_map {
    uint32_t hdr, nw, old;
} growing_map;

static growing_map add_growing_map(heap *h, uint64_t count, uint32_t value_type)
{
    growing_map gm = {obj(h, 48, h->t_hdr), obj(h, 4 * 208, h->t_bucket),
                      obj(h, 2 * 208, h->t_bucket)};
    mp_gb_edge(h->b, gm.hdr, gm.nw);
    mp_gb_edge(h->b, gm.hdr, gm.old);
    mp_map m = {.header = gm.hdr,
                .type_name = mp_gb_intern(h->b, "map[int64]*Session"),
                .key_kind = MP_KEY_INT,
                .key_type = MP_NONE,
                .value_type = value_type,
                .B = 2,
                .count = count,
                .buckets = gm.nw,
                .oldbuckets = gm.old,
                .bucket_size = 208};
    uint32_t mi = mp_gb_map(h->b, &m, &(mp_map_aside){.nevacuate = 1, .noldbuckets = 2});
    for (int i = 0; i < 4; i++)
        mp_gb_bucket(h->b, &(mp_bucket){.map = mi, .obj = gm.nw, .index = (uint64_t)i}, 0);
    for (int i = 0; i < 2; i++)
        mp_gb_bucket(h->b,
                     &(mp_bucket){.map = mi,
                                  .obj = gm.old,
                                  .index = (uint64_t)i,
                                  .old = 1,
                                  .nused = (uint8_t)(i == 0 ? 0 : 1)},
                     0);
    return gm;
}

/* An unfinished growth is evidence in a map that holds 64 KiB or more: the
 * same table with an 80 KiB value under it. */
static void test_old_buckets_of_an_unfinished_growth(void)
{
    heap h;
    heap_init(&h);
    growing_map gm = add_growing_map(&h, 1, MP_NONE);
    mp_gb_edge(h.b, gm.nw, obj(&h, 80 * 1024, MP_NONE));
    root(&h, MP_ROOT_GLOBAL, "orders", gm.hdr, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK(r->evidence & MP_EV_OLD_BUCKETS);
    CHECK_EQ_U64(mp_report_rare(&a.f, r)->old_bytes, 2 * 208);
    CHECK_EQ_U64(a.g->maps[0].nold, 2);
    CHECK_EQ_U64(a.g->maps[0].table_bytes, 48 + 6 * 208);
    CHECK(r->suspect);
    done(&a);
}

/* A map of a few KiB caught mid-growth (a table filled once at start-up
 * keeps its old array for good) is no leak: no evidence, no suspect. */
static void test_small_map_mid_growth_is_no_suspect(void)
{
    heap h;
    heap_init(&h);
    growing_map gm = add_growing_map(&h, 0, MP_NONE);
    root(&h, MP_ROOT_GLOBAL, "orders", gm.hdr, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK(!(r->evidence & MP_EV_OLD_BUCKETS));
    CHECK_EQ_U64(mp_report_rare(&a.f, r)->old_bytes, 2 * 208);
    CHECK(!r->suspect);
    done(&a);
}

/*
 * An iterator opened before a growth points at the header and into the old
 * bucket array; evacuated old buckets still point at their values, which
 * the new buckets hold too. Reached from two table objects that roots
 * reach apart, the values (two of them pointing at each other) are
 * dominated by neither, but nothing reaches them save the table: the map
 * keeps them. A value a global reaches as well is not the map's.
 */
static void test_values_two_table_objects_reach_are_the_maps(void)
{
    heap h;
    heap_init(&h);
    growing_map gm = add_growing_map(&h, 3, h.t_val);
    uint32_t v[3], blob[3];
    for (int i = 0; i < 3; i++) {
        v[i] = obj(&h, 64, h.t_val);
        blob[i] = obj(&h, 1000, h.t_blob);
        mp_gb_edge(h.b, v[i], blob[i]);
        mp_gb_edge(h.b, gm.nw, v[i]);
        mp_gb_edge(h.b, gm.old, v[i]); /* the evacuated slot's stale copy */
    }
    mp_gb_edge(h.b, v[0], v[1]);
    mp_gb_edge(h.b, v[1], v[0]);
    root(&h, MP_ROOT_ITERATOR, "scan", gm.hdr, 2, 1);
    root(&h, MP_ROOT_ITERATOR, "scan", gm.old, 2, 1);
    root(&h, MP_ROOT_GLOBAL, "recent", v[2], 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    CHECK_EQ_U64(a.f.maps[0].retained, 48 + 6 * 208 + 2 * (64 + 1000));
    done(&a);
}

/*
 * A map grown under an iterator that holds its old bucket array: the
 * values moved out of evacuated old bucket 0 are still pointed at by its
 * stale slots and those of its overflow bucket. Those words are the map's own, so each entry owns
 * its value and retains it alone; only a value a global holds as well is shared.
 */
static void test_stale_old_slots_share_nothing(void)
{
    heap h;
    heap_init(&h);
    growing_map gm = add_growing_map(&h, 3, h.t_val);
    /* an overflow bucket chained to old bucket 0, evacuated with it */
    uint32_t ovf = obj(&h, 208, h.t_bucket);
    mp_gb_edge_at(h.b, gm.old, ovf, 200);
    uint32_t v[3], blob[3];
    static const char *const keys[3] = {"a", "b", "c"};
    for (uint32_t i = 0; i < 3; i++) {
        v[i] = obj(&h, 64, h.t_val);
        blob[i] = obj(&h, 1000, h.t_blob);
        mp_gb_edge(h.b, v[i], blob[i]);
        mp_gb_edge_at(h.b, gm.nw, v[i], i * 208 + 72);
        /* the stale slot i of old bucket 0, or of its overflow bucket */
        mp_gb_edge_at(h.b, i == 1 ? ovf : gm.old, v[i], 72 + i * 8);
        mp_gb_entry(h.b, &(mp_entry){.map = 0,
                                     .bucket_obj = gm.nw,
                                     .bucket = i,
                                     .key = mp_gb_string(h.b, keys[i], 1),
                                     .key_obj = MP_NONE,
                                     .value_obj = v[i]});
    }
    root(&h, MP_ROOT_ITERATOR, "scan", gm.hdr, 2, 1);
    root(&h, MP_ROOT_ITERATOR, "scan", gm.old, 2, 1);
    root(&h, MP_ROOT_GLOBAL, "recent", v[2], 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(r->shared_entries, 1);
    CHECK_EQ_U64(r->shared_bytes, 64 + 1000);
    CHECK_EQ_U64(r->entries_retained, 2 * (64 + 1000));
    bool shared = true;
    CHECK_EQ_U64(mp_findings_entry(&a.f, a.g->maps[0].first_entry, &shared), 64 + 1000);
    CHECK(!shared);
    CHECK_EQ_U64(mp_findings_entry(&a.f, a.g->maps[0].first_entry + 2, &shared), 0);
    CHECK(shared);
    done(&a);
}

static void test_entries_shared_by_two_roots(void)
{
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 2, 10, 30000, false, 0);
    uint32_t list = obj(&h, 10 * 8, h.t_val); /* a second structure holding every value */
    for (int i = 0; i < 10; i++) mp_gb_edge(h.b, list, bm.vals[i]);
    root(&h, MP_ROOT_GLOBAL, "by_name", bm.header, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "recent", list, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK(r->evidence & MP_EV_SHARED_ENTRIES);
    CHECK_EQ_U64(r->shared_entries, 10);
    CHECK_EQ_U64(r->shared_bytes, 10 * (64 + 30000));
    CHECK_EQ_U64(r->entries_retained, 0);
    CHECK(r->suspect);
    bool shared = false;
    mp_findings_entry(&a.f, a.g->maps[0].first_entry, &shared);
    CHECK(shared);
    uint8_t *mark = calloc(a.g->nobjects / 8 + 1, 1);
    uint32_t roots[4];
    CHECK_EQ_U64(mp_dom_roots_reaching(a.g, &a.d, bm.vals[3], roots, 4, mark), 2);
    free(mark);
    done(&a);
}

/* A header that reaches its bucket array only through another object (a
 * ring header -> x -> array -> header, no header -> array edge): the array's
 * subtree lies inside the header's, and must be counted once. */
static void test_retained_is_counted_once_whatever_the_geometry(void)
{
    heap h;
    heap_init(&h);
    uint32_t hdr = obj(&h, 48, h.t_hdr), x = obj(&h, 64, h.t_val);
    uint32_t arr = obj(&h, 208 * 2, h.t_bucket), blob = obj(&h, 1 << 20, h.t_blob);
    mp_gb_edge(h.b, hdr, x);
    mp_gb_edge(h.b, x, arr);
    mp_gb_edge(h.b, arr, hdr);
    mp_gb_edge(h.b, arr, blob);
    mp_map m = {.header = hdr,
                .type_name = mp_gb_intern(h.b, "map[int64]*Blob"),
                .key_kind = MP_KEY_INT,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .B = 1,
                .buckets = arr,
                .oldbuckets = MP_NONE,
                .bucket_size = 208};
    uint32_t k = mp_gb_map(h.b, &m, NULL);
    for (uint64_t i = 0; i < 2; i++)
        mp_gb_bucket(h.b, &(mp_bucket){.map = k, .obj = arr, .index = i}, 0);
    root(&h, MP_ROOT_GLOBAL, "ring", hdr, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    CHECK(a.f.maps[0].retained <= a.f.heap_bytes);
    CHECK_EQ_U64(a.f.maps[0].retained, 48 + 64 + 416 + (1 << 20));
    done(&a);
}

/* A map's table is its header, bucket array and an overflow bucket of its
 * own, whose value holds a MiB. Held by the map alone, all of it is the
 * header's; when a stale stack word also points at the overflow bucket,
 * that bucket is dominated by the root, not the header, and the map still
 * keeps it (both are its tops). */
static void test_a_bucket_a_stray_word_holds_still_counts_with_its_map(void)
{
    for (int stray = 0; stray < 2; stray++) {
        heap h;
        heap_init(&h);
        uint32_t hdr = obj(&h, 48, h.t_hdr), arr = obj(&h, 208, h.t_bucket);
        uint32_t ov = obj(&h, 208, h.t_bucket), v = obj(&h, 64, h.t_val);
        uint32_t blob = obj(&h, 1 << 20, h.t_blob);
        mp_gb_edge(h.b, hdr, arr);
        mp_gb_edge(h.b, arr, ov);
        mp_gb_edge(h.b, ov, v);
        mp_gb_edge(h.b, v, blob);
        mp_map m = {.header = hdr,
                    .type_name = mp_gb_intern(h.b, "map[int64]*Session"),
                    .key_kind = MP_KEY_INT,
                    .key_type = MP_NONE,
                    .value_type = h.t_val,
                    .count = 1,
                    .buckets = arr,
                    .oldbuckets = MP_NONE,
                    .bucket_size = 208};
        uint32_t k = mp_gb_map(h.b, &m, NULL);
        mp_gb_bucket(h.b, &(mp_bucket){.map = k, .obj = arr}, 0);
        mp_gb_bucket(h.b, &(mp_bucket){.map = k, .obj = ov, .overflow = 1}, 0);
        mp_gb_entry(h.b, &(mp_entry){.map = k,
                                     .bucket_obj = ov,
                                     .key = mp_gb_string(h.b, "7", 1),
                                     .key_obj = MP_NONE,
                                     .value_obj = v});
        root(&h, MP_ROOT_GLOBAL, "sessions", hdr, 0, 0);
        if (stray) root(&h, MP_ROOT_STACK, "handle_request", ov, 1, 0);
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        CHECK_EQ_U64(a.f.maps[0].retained, 48 + 208 + 208 + 64 + (1 << 20));
        CHECK_EQ_U64(a.d.retained[hdr], stray ? 48 + 208 : 48 + 208 + 208 + 64 + (1 << 20));
        done(&a);
    }
}

static void test_small_healthy_map_is_not_a_suspect(void)
{
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 1, 10, 16, false, 0);
    uint32_t big = obj(&h, 10 << 20, h.t_blob);
    root(&h, MP_ROOT_GLOBAL, "small", bm.header, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "arena", big, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    CHECK(!a.f.maps[0].suspect);
    CHECK_EQ_U64(a.f.nsuspects, 0);
    /* growth from a diff makes it one */
    a.f.maps[0].evidence |= MP_EV_GROWING;
    mp_report_rare_w(&a.f, &a.f.maps[0])->growth_entries = 10;
    mp_findings_rerank(&a.f);
    CHECK_EQ_U64(a.f.nsuspects, 1);
    done(&a);
}

/* The ranking order findings.h states, as a comparison (the oracle):
 * suspects, growing ones first, by own growth, by score (an unsuspected
 * map's with its nested bytes), by map. */
static const mp_findings *oracle_f_;
static int cmp_rank_oracle(const void *a, const void *b)
{
    const mp_map_report *x = &oracle_f_->maps[*(const uint32_t *)a];
    const mp_map_report *y = &oracle_f_->maps[*(const uint32_t *)b];
    const mp_map_rare *xr = mp_report_rare(oracle_f_, x), *yr = mp_report_rare(oracle_f_, y);
    if (x->suspect != y->suspect) return x->suspect ? -1 : 1;
    bool gx = x->evidence & MP_EV_GROWING, gy = y->evidence & MP_EV_GROWING;
    if (gx != gy) return gx ? -1 : 1;
    int64_t ox = xr->growth_bytes - xr->inner_growth, oy = yr->growth_bytes - yr->inner_growth;
    if (gx && ox != oy) return ox > oy ? -1 : 1;
    uint64_t sx = x->suspect ? x->score : x->score + xr->nested_bytes;
    uint64_t sy = y->suspect ? y->score : y->score + yr->nested_bytes;
    if (sx != sy) return sx > sy ? -1 : 1;
    return x->map < y->map ? -1 : x->map > y->map;
}

static uint64_t rank_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The ranking of thousands of maps is the comparison's: scores and
 * growths across the bytes' and halves' edges, negative growth, ties
 * (decided by map), every class; from map order and from another. */
static void test_ranking_many_maps_keeps_the_order(void)
{
    static const uint64_t scores[] = {0, 1, 255, 256, 4095, 1ull << 32, (1ull << 32) - 1,
                                      1ull << 63, UINT64_MAX >> 1, 240};
    for (int start = 0; start < 3; start++) {
        for (int spread = 0; spread < 2; spread++) {
            size_t n = 3000;
            mp_findings f = {0};
            f.nmaps = n;
            f.maps = calloc(n, sizeof *f.maps);
            f.ranked = malloc(n * sizeof *f.ranked);
            uint32_t *want = malloc(n * sizeof *want);
            CHECK(f.maps && f.ranked && want);
            uint64_t s = 0x9e3779b97f4a7c15ull + (uint64_t)(start * 2 + spread);
            for (size_t k = 0; k < n; k++) {
                mp_map_report *r = &f.maps[k];
                r->map = (uint32_t)k;
                uint64_t x = rank_rand(&s);
                r->suspect = x % 7 == 0;
                if (x % 11 == 0) r->evidence |= MP_EV_GROWING;
                int64_t grew = (int64_t)(rank_rand(&s) % 5) - 2;
                if (spread) grew *= (int64_t)(rank_rand(&s) >> 4);
                r->score = spread ? rank_rand(&s) >> (rank_rand(&s) % 64)
                                  : scores[rank_rand(&s) % (sizeof scores / sizeof *scores)];
                uint64_t nested = x % 3 == 0 ? rank_rand(&s) % 1000 : 0;
                /* rare figures only where some is set, as the analysis keeps them */
                if (grew || nested) {
                    mp_map_rare *xr = mp_report_rare_w(&f, r);
                    CHECK(xr != NULL);
                    xr->growth_bytes = grew;
                    xr->nested_bytes = nested;
                }
                /* from map order, reversed, or shuffled */
                f.ranked[k] = start == 1 ? (uint32_t)(n - 1 - k) : (uint32_t)k;
            }
            for (size_t k = n; start == 2 && k > 1; k--) {
                size_t j = rank_rand(&s) % k;
                uint32_t t = f.ranked[k - 1];
                f.ranked[k - 1] = f.ranked[j];
                f.ranked[j] = t;
            }
            mp_findings_rerank(&f); /* growing maps become suspects first */
            memcpy(want, f.ranked, n * sizeof *want);
            oracle_f_ = &f;
            qsort(want, n, sizeof *want, cmp_rank_oracle);
            oracle_f_ = NULL;
            for (size_t k = 0; k < n; k++) CHECK(f.ranked[k] == want[k]);
            free(want);
            free(f.ranked);
            free(f.maps);
            free(f.rare);
        }
    }
}

static void test_allocation_sites_skip_allocator_frames(void)
{
    heap h;
    heap_init(&h);
    mp_gframe fr[3] = {mp_gb_frame(h.b, "mr_alloc_blob", "heap.c", 10),
                       mp_gb_frame(h.b, "new_session", "sessiond.c", 58),
                       mp_gb_frame(h.b, "main", "sessiond.c", 90)};
    uint32_t st = mp_gb_stack(h.b, fr, 3);
    built_map bm = add_map(&h, 2, 8, 100000, false, 0);
    for (int i = 0; i < 8; i++) mp_gb_object_stack(h.b, bm.vals[i] + 1, st); /* the blobs */
    root(&h, MP_ROOT_GLOBAL, "cache", bm.header, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    uint32_t f = mp_stack_site(a.g, 0);
    CHECK_STR_EQ(mp_str(a.g, a.g->frames[f].function), "new_session");
    CHECK_EQ_U64(mp_report_nsites(&a.f, &a.f.maps[0]), 1);
    CHECK_EQ_U64(mp_report_sites(&a.f, &a.f.maps[0])[0].samples, 8);
    CHECK_EQ_U64(mp_report_rare(&a.f, &a.f.maps[0])->sampled_objects, 8);
    done(&a);
}

/* Where an entry was made is where its own objects were: an object its
 * value points at that another root reaches too (a shared rate table) was
 * made for something else, sampled or not. */
static void test_an_entry_site_is_never_a_shared_pointee(void)
{
    heap h;
    heap_init(&h);
    mp_gframe own[2] = {mp_gb_frame(h.b, "mr_alloc_blob", "heap.c", 10),
                        mp_gb_frame(h.b, "new_session", "sessiond.c", 58)};
    mp_gframe rate[2] = {mp_gb_frame(h.b, "mr_alloc_blob", "heap.c", 10),
                         mp_gb_frame(h.b, "make_rate", "rates.c", 12)};
    uint32_t s_own = mp_gb_stack(h.b, own, 2), s_rate = mp_gb_stack(h.b, rate, 2);
    built_map bm = add_map(&h, 1, 2, 1000, false, 0);
    uint32_t table = obj(&h, 1 << 16, h.t_blob);
    mp_gb_object_stack(h.b, table, s_rate);
    for (int i = 0; i < 2; i++) mp_gb_edge(h.b, bm.vals[i], table);
    mp_gb_object_stack(h.b, bm.vals[1] + 1, s_own); /* entry 1's own blob */
    root(&h, MP_ROOT_GLOBAL, "cache", bm.header, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "rates", table, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    CHECK(mp_entry_stack(a.g, &a.d, 0) == MP_NONE); /* nothing of its own was sampled */
    CHECK_EQ_U64(mp_entry_stack(a.g, &a.d, 1), s_own);
    done(&a);
}

/* Sites are counted per site (function, file, line), not per stack: two
 * stacks that reach new_session from different callers are one site, and
 * a line of its own is another. */
static void test_allocation_sites_are_grouped_by_site_not_stack(void)
{
    heap h;
    heap_init(&h);
    mp_gframe a1[3] = {mp_gb_frame(h.b, "mr_alloc_blob", "heap.c", 10),
                       mp_gb_frame(h.b, "new_session", "sessiond.c", 58),
                       mp_gb_frame(h.b, "main", "sessiond.c", 90)};
    mp_gframe a2[3] = {mp_gb_frame(h.b, "mr_alloc_blob", "heap.c", 10),
                       mp_gb_frame(h.b, "new_session", "sessiond.c", 58),
                       mp_gb_frame(h.b, "lookup_or_login", "sessiond.c", 70)};
    mp_gframe b1[2] = {mp_gb_frame(h.b, "mr_new", "heap.c", 20),
                       mp_gb_frame(h.b, "new_session", "sessiond.c", 57)};
    uint32_t s1 = mp_gb_stack(h.b, a1, 3), s2 = mp_gb_stack(h.b, a2, 3);
    uint32_t s3 = mp_gb_stack(h.b, b1, 2);
    built_map bm = add_map(&h, 2, 8, 100000, false, 0);
    for (int i = 0; i < 8; i++) /* the blobs: 5 from one caller, 2 from another, 1 line 57 */
        mp_gb_object_stack(h.b, bm.vals[i] + 1, i < 5 ? s1 : i < 7 ? s2 : s3);
    root(&h, MP_ROOT_GLOBAL, "cache", bm.header, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(mp_report_nsites(&a.f, r), 2);
    const mp_site_count *rs = mp_report_sites(&a.f, r);
    CHECK_EQ_U64(rs[0].samples, 7);
    CHECK_EQ_U64(rs[1].samples, 1);
    uint32_t f0 = mp_stack_site(a.g, rs[0].stack), f1 = mp_stack_site(a.g, rs[1].stack);
    CHECK_STR_EQ(mp_str(a.g, a.g->frames[f0].function), "new_session");
    CHECK_EQ_U64(a.g->frames[f0].line, 58);
    CHECK_EQ_U64(a.g->frames[f1].line, 57);
    done(&a);
}

static void test_a_global_through_objects_is_named_before_a_stack_word(void)
{
    /* global registry -> Outer -> Mid -> header; three words of one frame
     * point at the header directly (the function that took the snapshot) */
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 3, 40, 4000, false, 0);
    uint32_t outer = obj(&h, 16, h.t_val), mid = obj(&h, 16, h.t_val);
    mp_gb_edge(h.b, outer, mid);
    mp_gb_edge(h.b, mid, bm.header);
    for (int i = 0; i < 3; i++) root(&h, MP_ROOT_STACK, "snap", bm.header, 1, 0);
    root(&h, MP_ROOT_GLOBAL, "registry", outer, 0, 0);
    root(&h, MP_ROOT_STACK, "main", bm.header, 1, 1);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(a.g->roots[r->path_root].kind, MP_ROOT_GLOBAL);
    /* three holders: the global, frame #1 main, frame #0 snap (its three
     * words once), in priority order */
    CHECK_EQ_U64(r->nroots, 3);
    char rt[256];
    mp_root_text(a.g, mp_report_root(&a.f, r, 0), rt, sizeof rt);
    CHECK_STR_EQ(rt, "global registry (svc.c:31)");
    mp_root_text(a.g, mp_report_root(&a.f, r, 1), rt, sizeof rt);
    CHECK_STR_EQ(rt, "stack: thread 1, frame #1 main (svc.c:31)");
    mp_root_text(a.g, mp_report_root(&a.f, r, 2), rt, sizeof rt);
    CHECK_STR_EQ(rt, "stack: thread 1, frame #0 snap (svc.c:31)");
    CHECK(r->evidence & MP_EV_LARGE_SHARE);
    CHECK(!(r->evidence & MP_EV_STACK_FRAME));
    mp_step s[16];
    size_t n = mp_chain_entry(a.g, &a.p, (uint32_t)a.g->maps[0].first_entry, s, 16);
    char buf[1024], want[256];
    chain_text(&a, s, n, buf, sizeof buf);
    snprintf(want, sizeof want, "registry -> Session 0x%llx -> Session 0x%llx -> map header",
             (unsigned long long)mp_obj_addr(a.g, outer),
             (unsigned long long)mp_obj_addr(a.g, mid));
    CHECK(strncmp(buf, want, strlen(want)) == 0);
    done(&a);
}

static void test_words_of_one_frame_are_one_holder(void)
{
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 3, 40, 4000, false, 0);
    for (int i = 0; i < 5; i++) root(&h, MP_ROOT_STACK, "worker_loop", bm.header, 2, 1);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(r->nroots, 1);
    CHECK(r->root != MP_NONE);
    CHECK(!(r->evidence & MP_EV_SEVERAL_ROOTS));
    CHECK(r->evidence & MP_EV_STACK_FRAME);
    done(&a);
}

/* The holders reaching `header` by the reverse search over every path
 * (mp_dom_roots_reaching, the exact count): each holder once, by its
 * first reaching root, in priority order; returns how many, the first
 * `max` in out. */
static size_t holders_by_search(const analysis *a, uint32_t header, uint32_t *out, size_t max)
{
    uint32_t *all = malloc((a->g->nroots + 1) * sizeof *all);
    uint8_t *mark = calloc(a->g->nobjects / 8 + 1, 1);
    assert(all && mark);
    size_t n = mp_dom_roots_reaching(a->g, &a->d, header, all, a->g->nroots, mark);
    n = mp_findings_distinct_holders(&a->f, all, n);
    for (size_t i = 0; i < n && i < max; i++) out[i] = all[i];
    free(all);
    free(mark);
    return n;
}

/* Whether map k's report names the holders the reverse search finds: the
 * first 16 of them, and their count up to 17 (17: more than 16). */
static bool roots_as_searched(const analysis *a, size_t k)
{
    const mp_map_report *r = &a->f.maps[k];
    uint32_t want[MP_MAX_LISTED_ROOTS];
    size_t n = holders_by_search(a, a->g->maps[k].header, want, MP_MAX_LISTED_ROOTS);
    if (r->nroots != (n < MP_MANY_ROOTS ? n : MP_MANY_ROOTS)) return false;
    for (size_t i = 0; i < n && i < MP_MAX_LISTED_ROOTS; i++)
        if (mp_report_root(&a->f, r, i) != want[i]) return false;
    return true;
}

static void test_a_list_of_holders_names_its_first_16_and_says_there_are_more(void)
{
    /* holder i -> holder i - 1 and -> map i; a global of its own on every
     * 5th holder (25 of them): map j is reached by the globals of holders
     * j and after, root indices ceil(j / 5) .. 24 */
    heap h;
    heap_init(&h);
    enum { N = 121 };
    uint32_t hold[N];
    for (int i = 0; i < N; i++) {
        hold[i] = obj(&h, 16, h.t_val);
        if (i) mp_gb_edge(h.b, hold[i], hold[i - 1]);
        built_map bm = add_map(&h, 0, 1, 16, false, 0);
        mp_gb_edge(h.b, hold[i], bm.header);
    }
    for (int i = 0; i < N; i += 5) {
        char name[32];
        snprintf(name, sizeof name, "holder%d", i);
        root(&h, MP_ROOT_GLOBAL, name, hold[i], 0, 0);
    }
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    for (uint32_t j = 0; j < N; j++) {
        const mp_map_report *r = &a.f.maps[j];
        uint32_t first = (j + 4) / 5, count = 25 - first;
        CHECK_EQ_U64(r->nroots, count < MP_MANY_ROOTS ? count : MP_MANY_ROOTS);
        for (uint32_t q = 0; q < r->nroots && q < MP_MAX_LISTED_ROOTS; q++)
            CHECK_EQ_U64(mp_report_root(&a.f, r, q), first + q);
        CHECK(roots_as_searched(&a, j));
        CHECK(!(r->evidence & MP_EV_STACK_FRAME));
        CHECK(count > 1 ? r->root == MP_NONE && (r->evidence & MP_EV_SEVERAL_ROOTS)
                        : r->root == first);
    }
    done(&a);
}

static void test_a_holder_of_several_words_is_named_by_its_first_reaching_one(void)
{
    /* a list of 30 holders (i -> i - 1), globals g0, g10, g20, g29 (roots
     * 0..3) and three words of one frame at holders 5, 15, 25 (roots
     * 4..6): map 0 has all five holders, the frame by its word 4; map 16
     * has g20, g29 and the frame by its word 6 */
    heap h;
    heap_init(&h);
    uint32_t hold[30], map[30];
    for (int i = 0; i < 30; i++) {
        hold[i] = obj(&h, 16, h.t_val);
        if (i) mp_gb_edge(h.b, hold[i], hold[i - 1]);
        built_map bm = add_map(&h, 0, 1, 16, false, 0);
        mp_gb_edge(h.b, hold[i], bm.header);
        map[i] = bm.map;
    }
    root(&h, MP_ROOT_GLOBAL, "g0", hold[0], 0, 0);
    root(&h, MP_ROOT_GLOBAL, "g10", hold[10], 0, 0);
    root(&h, MP_ROOT_GLOBAL, "g20", hold[20], 0, 0);
    root(&h, MP_ROOT_GLOBAL, "g29", hold[29], 0, 0);
    for (int i = 5; i < 30; i += 10) root(&h, MP_ROOT_STACK, "work", hold[i], 1, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[map[0]];
    CHECK_EQ_U64(r->nroots, 5);
    for (uint32_t q = 0; q < 5; q++) CHECK_EQ_U64(mp_report_root(&a.f, r, q), q);
    r = &a.f.maps[map[16]];
    CHECK_EQ_U64(r->nroots, 3);
    CHECK_EQ_U64(mp_report_root(&a.f, r, 0), 2);
    CHECK_EQ_U64(mp_report_root(&a.f, r, 1), 3);
    CHECK_EQ_U64(mp_report_root(&a.f, r, 2), 6);
    r = &a.f.maps[map[26]];
    CHECK_EQ_U64(r->nroots, 1); /* g29 alone: its own */
    CHECK_EQ_U64(r->root, 3);
    for (int i = 0; i < 30; i++) CHECK(roots_as_searched(&a, map[i]));
    done(&a);
}

static void test_holders_around_a_cycle_reach_all_of_it(void)
{
    /* a ring of 6 holders (i -> i + 1 mod 6) with globals on 0, 2, 4 (roots
     * 0..2), leading to a list of 3 (ring 3 -> list 0 -> 1 -> 2) with
     * globals on list 1 and 2 (roots 3, 4), and a second ring of 40 that
     * 20 globals hold (roots 5..24), every other holder: each of its maps
     * names the first 16 and says there are more */
    heap h;
    heap_init(&h);
    uint32_t ring[6], list[3], big[40], rmap[6], lmap[3], bmap[40];
    for (int i = 0; i < 6; i++) ring[i] = obj(&h, 16, h.t_val);
    for (int i = 0; i < 3; i++) list[i] = obj(&h, 16, h.t_val);
    for (int i = 0; i < 40; i++) big[i] = obj(&h, 16, h.t_val);
    for (int i = 0; i < 6; i++) mp_gb_edge(h.b, ring[i], ring[(i + 1) % 6]);
    mp_gb_edge(h.b, ring[3], list[0]);
    mp_gb_edge(h.b, list[0], list[1]);
    mp_gb_edge(h.b, list[1], list[2]);
    for (int i = 0; i < 40; i++) mp_gb_edge(h.b, big[i], big[(i + 1) % 40]);
    for (int i = 0; i < 6; i++) {
        built_map bm = add_map(&h, 0, 1, 16, false, 0);
        mp_gb_edge(h.b, ring[i], bm.header);
        rmap[i] = bm.map;
    }
    for (int i = 0; i < 3; i++) {
        built_map bm = add_map(&h, 0, 1, 16, false, 0);
        mp_gb_edge(h.b, list[i], bm.header);
        lmap[i] = bm.map;
    }
    for (int i = 0; i < 40; i++) {
        built_map bm = add_map(&h, 0, 1, 16, false, 0);
        mp_gb_edge(h.b, big[i], bm.header);
        bmap[i] = bm.map;
    }
    char name[32];
    for (int i = 0; i < 6; i += 2) {
        snprintf(name, sizeof name, "ring%d", i);
        root(&h, MP_ROOT_GLOBAL, name, ring[i], 0, 0);
    }
    root(&h, MP_ROOT_GLOBAL, "list1", list[1], 0, 0);
    root(&h, MP_ROOT_GLOBAL, "list2", list[2], 0, 0);
    for (int i = 0; i < 40; i += 2) {
        snprintf(name, sizeof name, "big%d", i);
        root(&h, MP_ROOT_GLOBAL, name, big[i], 0, 0);
    }
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    for (int i = 0; i < 6; i++) {
        const mp_map_report *r = &a.f.maps[rmap[i]];
        CHECK_EQ_U64(r->nroots, 3);
        for (uint32_t q = 0; q < 3; q++) CHECK_EQ_U64(mp_report_root(&a.f, r, q), q);
    }
    uint32_t want[3][5] = {{0, 1, 2}, {0, 1, 2, 3}, {0, 1, 2, 3, 4}};
    for (int i = 0; i < 3; i++) {
        const mp_map_report *r = &a.f.maps[lmap[i]];
        CHECK_EQ_U64(r->nroots, 3 + (i > 0) + (i > 1));
        for (uint32_t q = 0; q < r->nroots; q++)
            CHECK_EQ_U64(mp_report_root(&a.f, r, q), want[i][q]);
    }
    for (int i = 0; i < 40; i++) {
        const mp_map_report *r = &a.f.maps[bmap[i]];
        CHECK_EQ_U64(r->nroots, MP_MANY_ROOTS);
        for (uint32_t q = 0; q < MP_MAX_LISTED_ROOTS; q++)
            CHECK_EQ_U64(mp_report_root(&a.f, r, q), 5 + q);
    }
    for (size_t k = 0; k < a.g->nmaps; k++) CHECK(roots_as_searched(&a, k));
    done(&a);
}

/* A map whose header an object P holds, P reached by `holders` globals:
 * the first through its own object, the second pointing at P, the third
 * at the header itself, and so on in turn. */
static void map_of_holders(analysis *a, int holders)
{
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 0, 1, 16, false, 0);
    uint32_t p = obj(&h, 16, h.t_val);
    mp_gb_edge(h.b, p, bm.header);
    for (int i = 0; i < holders; i++) {
        char name[32];
        snprintf(name, sizeof name, "g%02d", i);
        uint32_t t = i % 3 == 1 ? p : i % 3 == 2 ? bm.header : obj(&h, 16, h.t_val);
        if (i % 3 == 0) mp_gb_edge(h.b, t, p);
        root(&h, MP_ROOT_GLOBAL, name, t, 0, 0);
    }
    CHECK(analyse(&h, a) == 0);
}

static void test_a_map_of_16_holders_counts_them_and_of_17_says_more(void)
{
    for (int holders = 15; holders <= 18; holders++) {
        analysis a;
        map_of_holders(&a, holders);
        const mp_map_report *r = &a.f.maps[0];
        CHECK_EQ_U64(r->nroots, holders <= 16 ? (uint32_t)holders : MP_MANY_ROOTS);
        for (uint32_t q = 0; q < MP_MAX_LISTED_ROOTS && q < (uint32_t)holders; q++)
            CHECK_EQ_U64(mp_report_root(&a.f, r, q), q);
        CHECK(roots_as_searched(&a, 0));
        done(&a);
    }
}

static uint64_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void test_holders_match_the_reverse_search_on_random_heaps(void)
{
    /* random holders, maps hanging off them or off each other's values,
     * edges among them (cycles, joins), roots of a few kinds among fewer
     * holders than words: every map's first 16 and count up to 17 are the
     * exact search's */
    uint64_t seed = 42;
    size_t many = 0;
    for (int trial = 0; trial < 400; trial++) {
        heap h;
        heap_init(&h);
        uint32_t nh = 1 + (uint32_t)(lcg_next(&seed) % 30),
                 nm = 1 + (uint32_t)(lcg_next(&seed) % 6);
        uint32_t hold[30], hdr[6], val[6];
        for (uint32_t i = 0; i < nh; i++) hold[i] = obj(&h, 16, h.t_val);
        for (uint32_t k = 0; k < nm; k++) {
            built_map bm = add_map(&h, 0, 1, 16, false, 0);
            hdr[k] = bm.header, val[k] = bm.vals[0];
        }
        uint32_t ne = (uint32_t)(lcg_next(&seed) % (3 * nh + 1));
        for (uint32_t e = 0; e < ne; e++) {
            uint32_t from =
                lcg_next(&seed) % 5 ? hold[lcg_next(&seed) % nh] : val[lcg_next(&seed) % nm];
            uint32_t to =
                lcg_next(&seed) % 4 ? hold[lcg_next(&seed) % nh] : hdr[lcg_next(&seed) % nm];
            mp_gb_edge(h.b, from, to);
        }
        for (uint32_t k = 0; k < nm; k++) mp_gb_edge(h.b, hold[lcg_next(&seed) % nh], hdr[k]);
        uint32_t nr = (uint32_t)(lcg_next(&seed) % 45);
        for (uint32_t i = 0; i < nr; i++) {
            uint32_t t =
                lcg_next(&seed) % 6 ? hold[lcg_next(&seed) % nh] : hdr[lcg_next(&seed) % nm];
            char name[32];
            if (lcg_next(&seed) % 2) {
                snprintf(name, sizeof name, "g%u", (unsigned)(lcg_next(&seed) % 20));
                root(&h, MP_ROOT_GLOBAL, name, t, 0, 0);
            } else {
                root(&h, MP_ROOT_STACK, "f", t, 1 + (uint32_t)(lcg_next(&seed) % 3),
                     (uint32_t)(lcg_next(&seed) % 4));
            }
        }
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        for (size_t k = 0; k < a.g->nmaps; k++) {
            CHECK(roots_as_searched(&a, k));
            many += a.f.maps[k].nroots == MP_MANY_ROOTS;
        }
        done(&a);
    }
    CHECK(many > 0); /* the boundary was crossed */
}

static void test_a_bounded_cache_a_stray_word_reaches_is_no_suspect(void)
{
    /* a 1,000-entry cache, about 1.5% of the heap: significant, but
     * nothing says it leaks; a stale stack word also points at it */
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 7, 1000, 100, false, 0);
    uint32_t big = obj(&h, 11 << 20, h.t_blob);
    root(&h, MP_ROOT_GLOBAL, "lru", bm.header, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "arena", big, 0, 0);
    root(&h, MP_ROOT_STACK, "handle_request", bm.header, 1, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK(r->retained * 100 >= a.f.heap_bytes); /* significant */
    CHECK_EQ_U64(r->evidence, MP_EV_SEVERAL_ROOTS);
    CHECK(!r->suspect);
    CHECK_EQ_U64(a.f.nsuspects, 0);
    done(&a);
}

/* A map of n keys whose values are all one object v, which a second root
 * also holds when `shared`. */
static uint32_t map_of_one_value(heap *h, uint32_t n, uint32_t v)
{
    uint32_t hdr = obj(h, 48, h->t_hdr), arr = obj(h, 208, h->t_bucket);
    mp_gb_edge(h->b, hdr, arr);
    mp_gb_edge(h->b, arr, v);
    mp_map m = {.header = hdr,
                .key_kind = MP_KEY_INT,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .count = n,
                .buckets = arr,
                .oldbuckets = MP_NONE};
    uint32_t mi = mp_gb_map(h->b, &m, NULL);
    mp_gb_bucket(h->b, &(mp_bucket){.map = mi, .obj = arr}, 0);
    for (uint32_t i = 0; i < n; i++)
        mp_gb_entry(h->b, &(mp_entry){.map = mi,
                                      .bucket_obj = arr,
                                      .slot = (uint8_t)i,
                                      .key = mp_gb_string(h->b, "k", 1),
                                      .key_obj = MP_NONE,
                                      .value_obj = v});
    return hdr;
}

static void test_one_value_under_many_keys_counts_once(void)
{
    heap h;
    heap_init(&h);
    uint32_t shared_v = obj(&h, 1 << 20, h.t_blob), owned_v = obj(&h, 1 << 20, h.t_blob);
    uint32_t h1 = map_of_one_value(&h, 8, shared_v);
    uint32_t h2 = map_of_one_value(&h, 8, owned_v);
    root(&h, MP_ROOT_GLOBAL, "by_id", h1, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "config", shared_v, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "by_name", h2, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r1 = &a.f.maps[0], *r2 = &a.f.maps[1];
    CHECK_EQ_U64(r1->shared_entries, 8);
    CHECK_EQ_U64(r1->shared_bytes, 1 << 20);
    CHECK(r1->score <= a.f.heap_bytes);
    CHECK_EQ_U64(r2->entries_retained, 1 << 20);
    CHECK(r2->entries_retained <= r2->retained);
    done(&a);
}

static void test_a_value_pointing_twice_at_one_object_still_owns_it(void)
{
    /* one bucket of int keys and 16-byte struct values {start, cursor}:
     * entry 0's value points at buf0 twice (its start and inside it),
     * entries 1 and 2 point at one shared buffer: entry 0 alone retains
     * buf0, and no entry the shared one */
    heap h;
    heap_init(&h);
    uint32_t hdr = obj(&h, 48, h.t_hdr), arr = obj(&h, 208, h.t_bucket);
    uint32_t buf0 = obj(&h, 1 << 16, h.t_blob), shared = obj(&h, 1 << 12, h.t_blob);
    mp_gb_edge(h.b, hdr, arr);
    /* a bucket: tophash[8], 8 keys of 8 bytes, then the values at 72 */
    mp_gb_edge_at(h.b, arr, buf0, 72);
    mp_gb_edge_at(h.b, arr, buf0, 80);
    mp_gb_edge_at(h.b, arr, shared, 88);
    mp_gb_edge_at(h.b, arr, shared, 104);
    mp_map m = {.header = hdr,
                .key_kind = MP_KEY_INT,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .count = 3,
                .buckets = arr,
                .oldbuckets = MP_NONE,
                .bucket_size = 208,
                .key_size = 8,
                .value_size = 16};
    uint32_t mi = mp_gb_map(h.b, &m, NULL);
    mp_gb_bucket(h.b, &(mp_bucket){.map = mi, .obj = arr}, 0);
    uint32_t vals[3] = {buf0, shared, shared};
    for (uint32_t i = 0; i < 3; i++)
        mp_gb_entry(h.b, &(mp_entry){.map = mi,
                                     .bucket_obj = arr,
                                     .slot = (uint8_t)i,
                                     .key = i,
                                     .key_obj = MP_NONE,
                                     .value_obj = vals[i]});
    root(&h, MP_ROOT_GLOBAL, "cursors", hdr, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(r->entries_retained, 1 << 16);
    CHECK_EQ_U64(r->retained, 48 + 208 + (1 << 16) + (1 << 12));
    done(&a);
}

static void test_a_value_holding_its_own_map_counts_once(void)
{
    /* global -> session -> its map -> bucket -> session: the value is
     * shared (the global reaches it too) and retains the map itself */
    heap h;
    heap_init(&h);
    uint32_t v = obj(&h, 1 << 20, h.t_val);
    uint32_t hdr = map_of_one_value(&h, 1, v);
    mp_gb_edge(h.b, v, hdr);
    root(&h, MP_ROOT_GLOBAL, "current", v, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *r = &a.f.maps[0];
    CHECK_EQ_U64(r->shared_entries, 1);
    CHECK(r->score <= a.f.heap_bytes);
    done(&a);
}

/* global -> outer map of nouter entries -> entry via's Session -> inner
 * map (2^B buckets, ninner entries with blobs of blob bytes): the inner
 * map, and the outer one in *outer. */
static built_map map_in_map(heap *h, const char *global, uint32_t nouter, uint32_t via, uint32_t B,
                            uint32_t ninner, uint64_t blob, built_map *outer)
{
    *outer = add_map(h, 0, nouter, 16, false, 0);
    built_map inner = add_map(h, B, ninner, blob, false, 0);
    mp_gb_edge(h->b, outer->vals[via], inner.header);
    root(h, MP_ROOT_GLOBAL, global, outer->header, 0, 0);
    return inner;
}

static void test_a_map_of_maps_names_the_outer_slot(void)
{
    /* tenants -> outer map (1 bucket + overflow) -> entry 9 (overflow#1,
     * slot 1) -> its Session -> inner map */
    heap h;
    heap_init(&h);
    built_map outer, inner = map_in_map(&h, "tenants", 10, 9, 2, 36, 2000, &outer);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    mp_step s[32];
    uint32_t e = (uint32_t)(a.g->maps[inner.map].first_entry + 33); /* overflow#1, slot 1 */
    size_t n = mp_chain_entry(a.g, &a.p, e, s, 32);
    char buf[1024], want[512];
    chain_text(&a, s, n, buf, sizeof buf);
    snprintf(want, sizeof want,
             "tenants -> map header 0x%llx (B=0, 10 entries) -> bucket[0] -> overflow#1 -> slot 1 "
             "(\"user-9\") -> Session 0x%llx -> map header 0x%llx (B=2, 36 entries) -> bucket[0] "
             "-> overflow#1 -> slot 1 (\"user-33\")",
             (unsigned long long)mp_obj_addr(a.g, outer.header),
             (unsigned long long)mp_obj_addr(a.g, outer.vals[9]),
             (unsigned long long)mp_obj_addr(a.g, inner.header));
    CHECK_STR_EQ(buf, want);
    /* the outer slot step says where and what */
    size_t k = 0;
    while (k < n && s[k].kind != MP_STEP_SLOT) k++;
    CHECK(k < n);
    CHECK_EQ_U64(s[k].a, a.g->maps[outer.map].first_entry + 9);
    CHECK_EQ_U64(s[k].index, 0);
    CHECK_EQ_U64(s[k].overflow, 1);
    done(&a);
}

static void test_a_map_holding_a_suspect_map_is_judged_without_it(void)
{
    /* regions -> outer map -> Session -> middle map -> Session -> inner
     * map of 30 entries of 100 KB: the inner map is the one suspect; the
     * maps above it hold its bytes, which are its finding, not theirs */
    heap h;
    heap_init(&h);
    built_map outer, middle = map_in_map(&h, "regions", 4, 1, 0, 3, 16, &outer);
    built_map inner = add_map(&h, 2, 30, 100000, false, 0);
    mp_gb_edge(h.b, middle.vals[2], inner.header);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *ro = &a.f.maps[outer.map], *rm = &a.f.maps[middle.map],
                        *ri = &a.f.maps[inner.map];
    uint64_t inner_bytes = a.d.retained[inner.header];
    CHECK(ri->suspect);
    CHECK(ri->evidence & MP_EV_LARGE_SHARE);
    CHECK_EQ_U64(mp_report_rare(&a.f, ri)->inner_bytes, 0);
    CHECK(!rm->suspect && !ro->suspect);
    CHECK(!(ro->evidence & MP_EV_LARGE_SHARE));
    CHECK_EQ_U64(mp_report_rare(&a.f, ro)->inner_bytes, inner_bytes);
    CHECK_EQ_U64(mp_report_rare(&a.f, rm)->inner_bytes, inner_bytes);
    CHECK_EQ_U64(mp_report_rare(&a.f, ro)->inner_map, inner.map);
    CHECK_EQ_U64(mp_report_rare(&a.f, rm)->inner_map, inner.map);
    /* the middle map, a suspect by its own bytes before the inner one is
     * set apart, is judged on its own: the outer map's score leaves it out */
    uint64_t middle_bytes = a.d.retained[middle.header];
    CHECK(middle_bytes > inner_bytes);
    CHECK_EQ_U64(mp_report_rare(&a.f, rm)->nested_bytes, inner_bytes);
    CHECK_EQ_U64(rm->score, rm->retained - inner_bytes);
    CHECK_EQ_U64(mp_report_rare(&a.f, ro)->nested_bytes, middle_bytes);
    CHECK_EQ_U64(ro->score, ro->retained - middle_bytes);
    CHECK(ro->retained > middle_bytes); /* its figures are what they were */
    CHECK_EQ_U64(a.f.nsuspects, 1);
    CHECK_EQ_U64(a.f.ranked[0], inner.map);
    done(&a);
}

static void test_maps_sharing_a_suspect_map_are_no_suspects(void)
{
    /* by_region and by_zone each hold, in one entry, the same map of 30
     * entries of 100 KB: they share its bytes, and are no suspects */
    heap h;
    heap_init(&h);
    built_map inner = add_map(&h, 2, 30, 100000, false, 0);
    uint32_t h1 = map_of_one_value(&h, 1, inner.header);
    uint32_t h2 = map_of_one_value(&h, 1, inner.header);
    root(&h, MP_ROOT_GLOBAL, "by_region", h1, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "by_zone", h2, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    uint64_t inner_bytes = a.d.retained[inner.header];
    CHECK(a.f.maps[inner.map].suspect);
    for (uint32_t k = 0; k < a.f.nmaps; k++) {
        if (k == inner.map) continue;
        const mp_map_report *r = &a.f.maps[k];
        CHECK_EQ_U64(r->shared_bytes, inner_bytes);
        CHECK_EQ_U64(mp_report_rare(&a.f, r)->inner_bytes, inner_bytes);
        CHECK_EQ_U64(mp_report_rare(&a.f, r)->inner_map, inner.map);
        CHECK(!r->suspect);
    }
    CHECK_EQ_U64(a.f.nsuspects, 1);
    done(&a);
}

static void test_an_outer_map_leaking_by_its_own_entries_stays_a_suspect(void)
{
    /* sessions: 64 entries, each a Session holding a small map of its own
     * (8 entries of 4 KB: none significant), and entry 0 a large one (30
     * entries of 30 KB): both leak, the outer map's own bytes are more */
    heap h;
    heap_init(&h);
    built_map outer = add_map(&h, 3, 64, 16, false, 0);
    uint32_t small0 = MP_NONE;
    for (int i = 1; i < 64; i++) {
        built_map sm = add_map(&h, 0, 8, 4000, false, 0);
        mp_gb_edge(h.b, outer.vals[i], sm.header);
        if (i == 1) small0 = sm.map;
    }
    built_map big = add_map(&h, 2, 30, 30000, false, 0);
    mp_gb_edge(h.b, outer.vals[0], big.header);
    root(&h, MP_ROOT_GLOBAL, "sessions", outer.header, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map_report *ro = &a.f.maps[outer.map], *rb = &a.f.maps[big.map];
    CHECK(ro->suspect && rb->suspect);
    CHECK(!a.f.maps[small0].suspect);
    CHECK_EQ_U64(mp_report_rare(&a.f, ro)->inner_bytes, a.d.retained[big.header]);
    CHECK_EQ_U64(mp_report_rare(&a.f, ro)->inner_map, big.map);
    CHECK_EQ_U64(a.f.nsuspects, 2);
    CHECK_EQ_U64(a.f.ranked[0], outer.map);
    CHECK_EQ_U64(a.f.ranked[1], big.map);
    done(&a);
}

static void test_growth_of_a_suspect_map_ranks_it_not_its_holder(void)
{
    /* tenants (4 entries) -> Session -> events (30 entries of 100 KB):
     * between two snapshots tenants gained one small entry and events
     * 1 MB; tenants' retained growth holds events' growth, which is the
     * leak and ranks first */
    heap h;
    heap_init(&h);
    built_map outer, inner = map_in_map(&h, "tenants", 4, 1, 2, 30, 100000, &outer);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    CHECK_EQ_U64(a.f.ninner, 1);
    mp_map_report *ro = &a.f.maps[outer.map], *ri = &a.f.maps[inner.map];
    mp_map_rare *xo = mp_report_rare_w(&a.f, ro);
    CHECK(xo != NULL);
    xo->growth_entries = 1;
    xo->growth_bytes = 1000000 + 500;
    ro->evidence |= MP_EV_GROWING;
    mp_map_rare *xi = mp_report_rare_w(&a.f, ri);
    CHECK(xi != NULL);
    xi->growth_entries = 10;
    xi->growth_bytes = 1000000;
    ri->evidence |= MP_EV_GROWING;
    mp_findings_rerank(&a.f);
    CHECK_EQ_U64(a.f.nsuspects, 2);
    CHECK_EQ_U64(a.f.ranked[0], inner.map);
    CHECK_EQ_U64(a.f.ranked[1], outer.map);
    CHECK_EQ_U64((uint64_t)mp_report_rare(&a.f, ro)->inner_growth, 1000000);
    done(&a);
}

/* The rare figures of a map lie out of line (findings.h): one map that has
 * all but slices -- an unfinished growth, a suspect map inside it, a growth
 * from a diff -- and one of string keys sliced from big buffers, after
 * thousands of small maps that have none (in the second half of the entry
 * pass, with two threads). Only those two get records; the others read
 * zeros, and their figures are unmixed. */
static void test_rare_figures_of_one_map_among_thousands(void)
{
    heap h;
    heap_init(&h);
    enum { NSMALL = 3000 };
    uint32_t small[NSMALL];
    for (int i = 0; i < NSMALL; i++) {
        char name[32];
        snprintf(name, sizeof name, "small%d", i);
        built_map bm = add_map(&h, 0, 2, 16, false, 0);
        small[i] = bm.map;
        root(&h, MP_ROOT_GLOBAL, name, bm.header, 0, 0);
    }
    growing_map gm = add_growing_map(&h, 1, MP_NONE);
    uint32_t sess = obj(&h, 64, MP_NONE);
    built_map inner = add_map(&h, 2, 30, 100000, false, 0);
    mp_gb_edge(h.b, gm.nw, sess);
    mp_gb_edge(h.b, sess, inner.header);
    root(&h, MP_ROOT_GLOBAL, "orders", gm.hdr, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "index", add_slice_map(&h, 60, 3, 128 * 1024, false, "\"k-%05u\""), 0,
         0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    uint32_t grow = NSMALL, sliced = NSMALL + 2; /* maps are numbered as added */
    const mp_map_report *rg = &a.f.maps[grow], *ri = &a.f.maps[inner.map];
    uint64_t inner_bytes = a.d.retained[inner.header];
    CHECK(ri->suspect);
    CHECK_EQ_U64(a.f.nrare, 2);
    const mp_map_rare *x = mp_report_rare(&a.f, rg);
    CHECK(x != &mp_no_rare);
    CHECK_EQ_U64(x->slice_buffers, 0);
    CHECK_EQ_U64(x->old_bytes, 2 * 208);
    CHECK_EQ_U64(x->inner_bytes, inner_bytes);
    CHECK_EQ_U64(x->inner_map, inner.map);
    CHECK_EQ_U64(x->nested_bytes, inner_bytes);
    CHECK_EQ_U64(rg->score, rg->retained - inner_bytes);
    CHECK(mp_report_rare(&a.f, ri) == &mp_no_rare);
    const mp_map_report *rs = &a.f.maps[sliced];
    const mp_map_rare *xs = mp_report_rare(&a.f, rs);
    CHECK(rs->evidence & MP_EV_SLICE_BUFFERS);
    CHECK_EQ_U64(xs->slice_buffers, 3);
    CHECK_EQ_U64(xs->slice_bytes, 3 * 128 * 1024);
    CHECK(xs->slice_of == MP_SLICE_KEYS);
    CHECK(xs->old_bytes == 0 && xs->inner_bytes == 0 && xs->inner_map == MP_NONE);
    for (int i = 0; i < NSMALL; i++) {
        const mp_map_report *r = &a.f.maps[small[i]];
        const mp_map_rare *y = mp_report_rare(&a.f, r);
        CHECK(r->rare == 0 && y->old_bytes == 0 && y->inner_bytes == 0 && y->nested_bytes == 0 &&
              y->slice_buffers == 0 && y->slice_bytes == 0);
        CHECK_EQ_U64(y->inner_map, MP_NONE);
        CHECK_EQ_U64(r->score, r->retained);
    }
    /* a diff's growth: the inner map gets a record of its own, the outer
     * one keeps its, and the inner growth is the outer map's to leave out */
    mp_map_report *wi = &a.f.maps[inner.map], *wg = &a.f.maps[grow];
    mp_map_rare *gi = mp_report_rare_w(&a.f, wi);
    CHECK(gi != NULL);
    gi->growth_entries = 5;
    gi->growth_bytes = 500000;
    wi->evidence |= MP_EV_GROWING;
    mp_map_rare *gg = mp_report_rare_w(&a.f, wg);
    CHECK(gg != NULL && gg->old_bytes == 2 * 208);
    gg->growth_entries = 1;
    gg->growth_bytes = 500000 + 100;
    wg->evidence |= MP_EV_GROWING;
    mp_findings_rerank(&a.f);
    CHECK_EQ_U64(a.f.nrare, 3);
    CHECK_EQ_U64((uint64_t)mp_report_rare(&a.f, wg)->inner_growth, 500000);
    CHECK_EQ_U64(mp_report_rare(&a.f, wg)->old_bytes, 2 * 208);
    CHECK_EQ_U64(mp_report_rare(&a.f, wi)->growth_entries, 5);
    CHECK_EQ_U64(a.f.ranked[0], inner.map);
    CHECK_EQ_U64(a.f.ranked[1], grow);
    for (int i = 0; i < NSMALL; i++) CHECK(a.f.maps[small[i]].rare == 0);
    done(&a);
}

static void test_a_chain_through_an_array_names_the_element(void)
{
    /* slab -> []Shard (16-byte elements, the map at offset 8) -> map of
     * element 4; ptrs -> []* -> the same kind of map at element 2 */
    heap h;
    heap_init(&h);
    uint32_t t_arr = mp_gb_type(h.b, "[]Shard", 16, MP_TYPE_ARRAY);
    uint32_t t_parr = mp_gb_type(h.b, "[]*", 8, MP_TYPE_ARRAY);
    uint32_t slab = obj(&h, 6 * 16, t_arr), ptrs = obj(&h, 4 * 8, t_parr);
    built_map m4 = add_map(&h, 2, 20, 2000, false, 0);
    built_map m2 = add_map(&h, 2, 20, 2000, false, 0);
    mp_gb_edge_at(h.b, slab, m4.header, 4 * 16 + 8);
    mp_gb_edge_at(h.b, ptrs, m2.header, 2 * 8);
    root(&h, MP_ROOT_GLOBAL, "slab", slab, 0, 0);
    root(&h, MP_ROOT_GLOBAL, "ptrs", ptrs, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    mp_step s[16];
    char buf[1024], want[256];
    size_t n = mp_chain_object(a.g, &a.p, m4.header, s, 16);
    chain_text(&a, s, n, buf, sizeof buf);
    snprintf(want, sizeof want, "slab -> []Shard 0x%llx [4] -> map header",
             (unsigned long long)mp_obj_addr(a.g, slab));
    CHECK(strncmp(buf, want, strlen(want)) == 0);
    CHECK_EQ_U64(s[1].index, 4);
    n = mp_chain_object(a.g, &a.p, m2.header, s, 16);
    chain_text(&a, s, n, buf, sizeof buf);
    snprintf(want, sizeof want, "ptrs -> []* 0x%llx [2] -> map header",
             (unsigned long long)mp_obj_addr(a.g, ptrs));
    CHECK(strncmp(buf, want, strlen(want)) == 0);
    done(&a);
}

static void test_a_long_chain_keeps_both_ends(void)
{
    /* list -> 100 nodes -> the map: 16 steps of a chain of 104 */
    heap h;
    heap_init(&h);
    uint32_t first = obj(&h, 16, h.t_val), last = first;
    for (int i = 0; i < 99; i++) {
        uint32_t next = obj(&h, 16, h.t_val);
        mp_gb_edge(h.b, last, next);
        last = next;
    }
    built_map bm = add_map(&h, 2, 20, 2000, false, 0);
    mp_gb_edge(h.b, last, bm.header);
    root(&h, MP_ROOT_GLOBAL, "list", first, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    mp_step s[16];
    uint32_t e = (uint32_t)a.g->maps[0].first_entry;
    CHECK_EQ_U64(mp_chain_entry(a.g, &a.p, e, s, 16), 16);
    /* root, 100 nodes, header, bucket, slot: 104 steps */
    CHECK_EQ_U64(s[0].kind, MP_STEP_ROOT);
    CHECK_EQ_U64(s[1].a, first);
    CHECK_EQ_U64(s[4].kind, MP_STEP_ELIDED);
    CHECK_EQ_U64(s[4].index, 104 - 15);
    CHECK_EQ_U64(s[12].a, last);
    CHECK_EQ_U64(s[13].kind, MP_STEP_MAP);
    CHECK_EQ_U64(s[14].kind, MP_STEP_BUCKET);
    CHECK_EQ_U64(s[15].kind, MP_STEP_SLOT);
    char t[64];
    mp_step_text(a.g, &s[4], t, sizeof t);
    CHECK_STR_EQ(t, "... 89 more steps ...");
    /* a chain that fits is whole */
    mp_step big[128];
    CHECK_EQ_U64(mp_chain_entry(a.g, &a.p, e, big, 128), 104);
    CHECK_EQ_U64(mp_chain_object(a.g, &a.p, bm.header, big, 128), 102);
    done(&a);
}

/* A list of n nodes from `from` on (from -> node 1 -> ... -> node n);
 * returns the last node, the nodes in nodes[] when not NULL. */
static uint32_t add_list(heap *h, uint32_t from, size_t n, uint32_t *nodes)
{
    uint32_t last = from;
    for (size_t i = 0; i < n; i++) {
        uint32_t next = obj(h, 16, h->t_val);
        mp_gb_edge(h->b, last, next);
        if (nodes) nodes[i] = next;
        last = next;
    }
    return last;
}

static bool same_step(const mp_step *x, const mp_step *y)
{
    return x->kind == y->kind && x->a == y->a && x->index == y->index &&
           (x->kind == MP_STEP_ROOT || x->kind == MP_STEP_ELIDED ||
            (x->map == y->map && x->old == y->old && x->slot == y->slot &&
             x->overflow == y->overflow));
}

/* Whether s[0..n) is the whole chain w[0..wn) elided to max steps: its
 * first max/4 steps, one elided step counting what it stands for, its last
 * ones. */
static bool elided_from(const mp_step *s, size_t n, const mp_step *w, size_t wn, size_t max)
{
    size_t head = max / 4, tail = max - head - 1;
    if (wn <= max) {
        if (n != wn) return false;
        for (size_t i = 0; i < n; i++)
            if (!same_step(&s[i], &w[i])) return false;
        return true;
    }
    if (n != max || s[head].kind != MP_STEP_ELIDED || s[head].index != wn - head - tail)
        return false;
    for (size_t i = 0; i < head; i++)
        if (!same_step(&s[i], &w[i])) return false;
    for (size_t i = 0; i < tail; i++)
        if (!same_step(&s[head + 1 + i], &w[wn - tail + i])) return false;
    return true;
}

static void test_a_long_chain_counts_its_middle_without_walking_it(void)
{
    /* list -> 300 nodes -> outer map -> entry 9 (overflow#1, slot 1) ->
     * Session -> 300 nodes -> inner map: the chains of the inner map's
     * entries go through a slot of the outer map in their elided middle */
    enum { L = 300 };
    heap h;
    heap_init(&h);
    static uint32_t first[L], second[L];
    uint32_t head = obj(&h, 16, h.t_val);
    uint32_t end1 = add_list(&h, head, L, first);
    built_map outer = add_map(&h, 0, 10, 16, false, 0);
    mp_gb_edge(h.b, end1, outer.header);
    uint32_t end2 = add_list(&h, outer.vals[9], L, second);
    built_map inner = add_map(&h, 2, 36, 64, false, 0);
    mp_gb_edge(h.b, end2, inner.header);
    root(&h, MP_ROOT_GLOBAL, "list", head, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    /* every size shown, for entries and objects at every kind of depth:
     * the ends are those of the whole chain (walked), the middle counted */
    static mp_step whole[4 * L], s[MP_CHAIN_STEPS_MAX];
    const size_t maxes[] = {8, 16, MP_CHAIN_STEPS, 64, MP_CHAIN_STEPS_MAX};
    uint64_t e0 = a.g->maps[inner.map].first_entry;
    uint32_t objs[] = {inner.header,  end2,      second[100], second[10],
                       outer.vals[9], first[70], first[62],   first[30]};
    size_t checked = 0;
    for (size_t k = 0; k < sizeof maxes / sizeof *maxes; k++) {
        size_t max = maxes[k];
        for (uint32_t e = (uint32_t)e0; e < e0 + 36; e += 7) {
            size_t wn = mp_chain_entry(a.g, &a.p, e, whole, 4 * L);
            CHECK(wn > 2 * L && wn < 4 * L);
            CHECK(elided_from(s, mp_chain_entry(a.g, &a.p, e, s, max), whole, wn, max));
            checked++;
        }
        for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
            size_t wn = mp_chain_object(a.g, &a.p, objs[i], whole, 4 * L);
            CHECK(wn > 0 && wn < 4 * L);
            CHECK(elided_from(s, mp_chain_object(a.g, &a.p, objs[i], s, max), whole, wn, max));
            checked++;
        }
    }
    CHECK_EQ_U64(checked, 5 * (6 + 8));
    /* the whole chain: root, the list's head and 300 nodes, header,
     * bucket, overflow#1, slot, Session, 300 nodes, header, bucket, slot */
    size_t wn = mp_chain_entry(a.g, &a.p, (uint32_t)e0 + 5, whole, 4 * L);
    CHECK_EQ_U64(wn, 1 + 1 + L + 4 + 1 + L + 3);
    CHECK_EQ_U64(mp_chain_length(s, mp_chain_entry(a.g, &a.p, (uint32_t)e0 + 5, s, 24)), wn);
    CHECK_EQ_U64(mp_chain_elided(s, 24), wn - 23);
    /* the middle is not walked: with the list cut there, the chain asked
     * again is the one the paths had */
    mp_step before[MP_CHAIN_STEPS], after[MP_CHAIN_STEPS];
    size_t nb = mp_chain_entry(a.g, &a.p, (uint32_t)e0 + 5, before, MP_CHAIN_STEPS);
    a.p.parent[first[150]] = MP_NONE;
    size_t na = mp_chain_entry(a.g, &a.p, (uint32_t)e0 + 5, after, MP_CHAIN_STEPS);
    CHECK_EQ_U64(na, nb);
    for (size_t i = 0; i < na && i < nb; i++) CHECK(same_step(&after[i], &before[i]));
    done(&a);
}

/* The figures of every map and entry, as one list of numbers. */
static size_t findings_figures(const analysis *a, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (size_t k = 0; k < a->g->nmaps && n + 6 <= max; k++) {
        const mp_map_report *r = &a->f.maps[k];
        out[n++] = r->retained;
        out[n++] = r->entries_retained;
        out[n++] = r->keys_retained;
        out[n++] = r->shared_entries;
        out[n++] = r->shared_bytes;
        out[n++] = r->key_pointers;
    }
    for (size_t i = 0; i < a->g->nentries && n + 2 <= max; i++) {
        bool shared = false;
        out[n++] = mp_findings_entry(&a->f, i, &shared);
        out[n++] = shared;
    }
    return n;
}

/* The entries of a heap with several maps are judged in two halves at once
 * when there are two processors: the figures are those of one pass, a
 * value that maps of both halves share counts once for each of them, and
 * every entry keeps its own record, in order. */
static void test_entry_figures_do_not_depend_on_the_threads(void)
{
    uint64_t fig[2][512];
    size_t nfig[2];
    for (int t = 0; t < 2; t++) {
        setenv("MAPROOT_THREADS", t ? "2" : "1", 1);
        heap h;
        heap_init(&h);
        uint32_t shared_v = obj(&h, 1 << 16, h.t_blob);
        root(&h, MP_ROOT_GLOBAL, "config", shared_v, 0, 0);
        /* 20, 8, 30 and 8 entries: the halves are maps 0-1 and 2-3 */
        built_map a = add_map(&h, 2, 20, 1000, true, 24);
        uint32_t b = map_of_one_value(&h, 8, shared_v);
        built_map c = add_map(&h, 3, 30, 3000, false, 0);
        uint32_t d = map_of_one_value(&h, 8, shared_v);
        root(&h, MP_ROOT_GLOBAL, "a", a.header, 0, 0);
        root(&h, MP_ROOT_GLOBAL, "b", b, 0, 0);
        root(&h, MP_ROOT_GLOBAL, "c", c.header, 0, 0);
        root(&h, MP_ROOT_GLOBAL, "d", d, 0, 0);
        analysis an;
        CHECK(analyse(&h, &an) == 0);
        CHECK_EQ_U64(an.g->nentries, 66);
        CHECK_EQ_U64(an.f.maps[0].entries_retained, 20 * (64 + 1000 + 24));
        CHECK_EQ_U64(an.f.maps[2].entries_retained, 30 * (64 + 3000));
        CHECK_EQ_U64(an.f.maps[1].shared_bytes, 1 << 16);
        CHECK_EQ_U64(an.f.maps[3].shared_bytes, 1 << 16);
        CHECK_EQ_U64(an.f.maps[3].shared_entries, 8);
        nfig[t] = findings_figures(&an, fig[t], 512);
        done(&an);
    }
    unsetenv("MAPROOT_THREADS");
    CHECK_EQ_U64(nfig[1], nfig[0]);
    for (size_t i = 0; i < nfig[0] && i < nfig[1]; i++) CHECK_EQ_U64(fig[1][i], fig[0][i]);
}

/* The entries' figures are written once and read by map: past a MiB they
 * wait in a temporary file (none with MAPROOT_SPILL_BYTES=0), and read
 * back in order or one at a time they are the same. */
static void test_entry_figures_past_a_mib_are_read_back_from_their_file(void)
{
    enum { N = 600000 }; /* two bytes a record: 1.2 MB */
    for (int spill = 1; spill >= 0; spill--) {
        if (spill)
            unsetenv("MAPROOT_SPILL_BYTES");
        else
            setenv("MAPROOT_SPILL_BYTES", "0", 1);
        heap h;
        heap_init(&h);
        built_map bm = add_map(&h, 17, N, 100, false, 0);
        root(&h, MP_ROOT_GLOBAL, "big", bm.header, 0, 0);
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        CHECK_EQ_U64(a.g->nentries, N);
        CHECK(spill ? a.f.entry_info.file_len > 0 : a.f.entry_info.file_len == 0);
        mp_findings_cursor c;
        mp_findings_cursor_init(&c, &a.f, 0);
        uint64_t ret, sum = 0;
        bool shared, any_shared = false;
        size_t n = 0;
        for (; mp_findings_next(&c, &ret, &shared); n++) {
            sum += ret;
            any_shared |= shared;
            if (n % 9973 == 0) {
                bool s2 = true;
                CHECK_EQ_U64(mp_findings_entry(&a.f, n, &s2), ret);
                CHECK(s2 == shared);
            }
        }
        mp_findings_cursor_free(&c);
        CHECK_EQ_U64(n, N);
        CHECK(!any_shared);
        CHECK_EQ_U64(sum, (uint64_t)N * (64 + 100));
        CHECK_EQ_U64(a.f.maps[0].entries_retained, sum);
        uint32_t top[3];
        CHECK_EQ_U64(mp_findings_top_entries(a.g, &a.d, &a.f, 0, top, 3), 3);
        CHECK_EQ_U64(mp_findings_entry(&a.f, top[2], NULL), 64 + 100);
        done(&a);
    }
    unsetenv("MAPROOT_SPILL_BYTES");
}

/* A map of n entries in 2^6 buckets (entry i in bucket i % 64, slot
 * i / 64, n <= 512) whose entries come in threes: each entry i
 * but the third of each three makes a Session owning a blob of 100 + i
 * bytes, and the third holds the second's Session too (two slots do). */
static uint32_t map_of_threes(heap *h, uint32_t n)
{
    enum { B = 6, NB = 1 << B };
    assert(n <= 8 * NB);
    uint32_t hdr = obj(h, 48, h->t_hdr), array = obj(h, NB * 208, h->t_bucket);
    mp_gb_edge(h->b, hdr, array);
    mp_map m = {.header = hdr,
                .type_name = mp_gb_intern(h->b, "map[string]*Session"),
                .key_kind = MP_KEY_STRING,
                .key_type = MP_NONE,
                .value_type = h->t_val,
                .count = n,
                .B = B,
                .buckets = array,
                .oldbuckets = MP_NONE,
                .bucket_size = 208};
    uint32_t k = mp_gb_map(h->b, &m, NULL);
    for (uint64_t i = 0; i < NB; i++)
        mp_gb_bucket(h->b, &(mp_bucket){.map = k, .obj = array, .index = i}, 0);
    uint32_t v = MP_NONE;
    for (uint32_t i = 0; i < n; i++) {
        if (i % 3 != 2) {
            v = obj(h, 64, h->t_val);
            mp_gb_edge(h->b, v, obj(h, 100 + i, h->t_blob));
        }
        mp_gb_edge(h->b, array, v);
        char key[32];
        snprintf(key, sizeof key, "\"k-%u\"", i);
        mp_gb_entry(h->b, &(mp_entry){.map = k,
                                      .bucket_obj = array,
                                      .bucket = i % NB,
                                      .slot = (uint8_t)(i / NB),
                                      .key = mp_gb_string(h->b, key, strlen(key)),
                                      .value_obj = v});
    }
    return hdr;
}

/* Map k of a, map_of_threes(n): every entry's figures and the map's sums. */
static void check_threes(const analysis *a, size_t k, uint32_t n)
{
    const mp_map *m = &a->g->maps[k];
    CHECK_EQ_U64(m->nentries, n);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < m->nentries; i++) {
        bool shared = true;
        /* the last entry, second of an unfinished three, holds its
         * Session alone */
        bool alone = i % 3 == 0 || (i % 3 == 1 && i + 1 == m->nentries);
        uint64_t want = alone ? 64 + 100 + i : 0;
        CHECK_EQ_U64(mp_findings_entry(&a->f, m->first_entry + i, &shared), want);
        CHECK(!shared);
        sum += want;
    }
    CHECK_EQ_U64(a->f.maps[k].entries_retained, sum);
    CHECK_EQ_U64(a->f.maps[k].shared_entries, 0);
}

/* The entry pass fetches what it reads a group of entries ahead, from a
 * window of entries read in chunks: maps of fewer entries than a group,
 * exactly one, one more, and the same about the entries read ahead and
 * the window, judged alone or in two halves, give every entry its own
 * figures -- a Session of its own retains it and its blob, a Session two
 * entries hold retains nothing for either. */
static void test_entry_figures_across_the_fetch_groups(void)
{
    static const uint32_t sizes[] = {1, 15, 16, 17, 47, 48, 49, 63, 64, 65, 255, 256, 257, 300};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    for (int t = 0; t < 2; t++) {
        setenv("MAPROOT_THREADS", t ? "2" : "1", 1);
        heap h;
        heap_init(&h);
        for (size_t s = 0; s < NS; s++) {
            char name[16];
            snprintf(name, sizeof name, "m%zu", s);
            root(&h, MP_ROOT_GLOBAL, name, map_of_threes(&h, sizes[s]), 0, 0);
        }
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        CHECK_EQ_U64(a.g->nmaps, NS);
        for (size_t k = 0; k < NS && k < a.g->nmaps; k++) check_threes(&a, k, sizes[k]);
        done(&a);
    }
    unsetenv("MAPROOT_THREADS");
}

/* Maps of no entry, one, two or three, 900 of them: the window of entries
 * read ahead runs on from one map into the next ones, and what is fetched
 * for an entry of the next map is looked at only with its own map. */
static void test_entry_figures_of_many_small_maps_read_in_one_window(void)
{
    enum { NM = 900 };
    for (int t = 0; t < 2; t++) {
        setenv("MAPROOT_THREADS", t ? "2" : "1", 1);
        heap h;
        heap_init(&h);
        for (uint32_t k = 0; k < NM; k++) {
            char name[16];
            snprintf(name, sizeof name, "m%u", k);
            root(&h, MP_ROOT_GLOBAL, name, map_of_threes(&h, k % 4), 0, 0);
        }
        analysis a;
        CHECK(analyse(&h, &a) == 0);
        CHECK_EQ_U64(a.g->nmaps, NM);
        CHECK_EQ_U64(a.g->nentries, NM / 4 * (0 + 1 + 2 + 3));
        for (size_t k = 0; k < NM && k < a.g->nmaps; k++) check_threes(&a, k, k % 4);
        done(&a);
    }
    unsetenv("MAPROOT_THREADS");
}

/* The entries a map ranks first, over a store the figures are read from
 * once per call: a unique largest entry and a tie at the cut among 6,000
 * entries of one size come out as a full sort by size (then the map's
 * order) says, for a few, for more than the ties the ranking examines and
 * for all of them, and each call reads the map's figures once. */
static void test_top_entries_read_the_figures_once(void)
{
    enum { N = 6000 };
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 10, N, 100, false, 0);
    /* entry 5 the largest alone; 10, 20 and 30 tied below it */
    mp_gb_edge(h.b, bm.vals[5], obj(&h, 5000, h.t_blob));
    for (int i = 10; i <= 30; i += 10) mp_gb_edge(h.b, bm.vals[i], obj(&h, 1000, h.t_blob));
    root(&h, MP_ROOT_GLOBAL, "big", bm.header, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    const mp_map *m = &a.g->maps[0];
    CHECK_EQ_U64(m->nentries, N);
    /* the expected order: by size, then by the map's order */
    uint32_t *want = malloc(N * sizeof *want), *got = malloc(N * sizeof *got);
    CHECK(want && got);
    size_t nw = 0;
    uint64_t sizes[4] = {64 + 100 + 5000, 64 + 100 + 1000, 64 + 100};
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < N; i++)
            if (mp_findings_entry(&a.f, m->first_entry + i, NULL) == sizes[s])
                want[nw++] = (uint32_t)(m->first_entry + i);
    CHECK_EQ_U64(nw, N);
    size_t asks[] = {1, 2, 3, 4, 5, 100, 4096, 4097, 4200, N - 1, N, N + 7};
    for (size_t q = 0; q < sizeof asks / sizeof *asks; q++) {
        uint64_t before = mp_findings_top_reads();
        size_t n = mp_findings_top_entries(a.g, &a.d, &a.f, 0, got, asks[q]);
        CHECK_EQ_U64(mp_findings_top_reads() - before, N);
        CHECK_EQ_U64(n, asks[q] < N ? asks[q] : N);
        CHECK(memcmp(got, want, n * sizeof *got) == 0);
    }
    free(want);
    free(got);
    done(&a);
}

/* The entry pass keeps the map of an object's dominator's table in the
 * object's word for maps below 2^28 - 3, and "unknown" (read the
 * dominator again) from there on: a map at the boundary must never be
 * kept as its number, which would read as one of the other hints (an
 * unreachable object: its entry would lose it). A heap of 2^28 maps is
 * out of reach of a test, so the deciding function is checked at its
 * boundary. */
static void test_maps_past_the_word_hints_are_read_from_the_tree(void)
{
    CHECK_EQ_U64(MP_ENTRY_HINT_MAPS, (1u << 28) - 3);
    CHECK_EQ_U64(mp_entry_table_hint(0), 0);
    CHECK_EQ_U64(mp_entry_table_hint(MP_ENTRY_HINT_MAPS - 1), MP_ENTRY_HINT_MAPS - 1);
    const uint32_t past[] = {MP_ENTRY_HINT_MAPS, MP_ENTRY_HINT_MAPS + 1, MP_ENTRY_HINT_MAPS + 2,
                             1u << 28, MP_ENTRY_MAX_MAPS - 1};
    for (size_t i = 0; i < sizeof past / sizeof *past; i++)
        CHECK_EQ_U64(mp_entry_table_hint(past[i]), MP_ENTRY_HINT_UNKNOWN);
}

/* A graph of 2^31 maps or more is refused by the findings with a message
 * saying so, not taken for a lack of memory (the entry pass keeps map
 * numbers below the word's top bit); 2^31 - 1 maps are taken. The count
 * is the graph's own field, set for the call: the refusal comes before
 * anything is read. */
static void test_a_graph_of_2_to_the_31_maps_is_refused(void)
{
    CHECK(mp_entry_pass_takes(MP_ENTRY_MAX_MAPS - 1));
    CHECK(!mp_entry_pass_takes(MP_ENTRY_MAX_MAPS));
    heap h;
    heap_init(&h);
    built_map bm = add_map(&h, 1, 4, 16, false, 0);
    root(&h, MP_ROOT_GLOBAL, "m", bm.header, 0, 0);
    analysis a;
    CHECK(analyse(&h, &a) == 0);
    mp_findings_free(&a.f);
    size_t nmaps = a.g->nmaps;
    a.g->nmaps = MP_ENTRY_MAX_MAPS;
    mf_error err = {{0}};
    CHECK(mp_findings_compute(a.g, &a.p, &a.d, NULL, &a.f, &err) == -1);
    CHECK(strstr(err.msg, "2147483648 maps, more than the analysis handles (2147483647)") != NULL);
    a.g->nmaps = nmaps;
    CHECK(mp_findings_compute(a.g, &a.p, &a.d, NULL, &a.f, &err) == 0);
    done(&a);
}

int main(void)
{
    TEST(test_global_cache_is_the_top_suspect_with_its_chain);
    TEST(test_rare_figures_of_one_map_among_thousands);
    TEST(test_top_entries_read_the_figures_once);
    TEST(test_emptied_map_is_flagged_by_its_table);
    TEST(test_a_heap_without_maps_keeps_every_objects_root);
    TEST(test_map_held_only_by_an_iterator);
    TEST(test_map_in_a_long_lived_frame);
    TEST(test_keys_with_pointers_pin_their_buffers);
    TEST(test_big_keys_without_pointers_are_no_pointer_keys);
    TEST(test_listed_holders_read_back_per_report);
    TEST(test_sites_read_back_per_report);
    TEST(test_string_slices_of_big_buffers_are_named);
    TEST(test_strings_owning_their_bytes_are_no_slices);
    TEST(test_old_buckets_of_an_unfinished_growth);
    TEST(test_small_map_mid_growth_is_no_suspect);
    TEST(test_values_two_table_objects_reach_are_the_maps);
    TEST(test_stale_old_slots_share_nothing);
    TEST(test_entries_shared_by_two_roots);
    TEST(test_retained_is_counted_once_whatever_the_geometry);
    TEST(test_a_bucket_a_stray_word_holds_still_counts_with_its_map);
    TEST(test_small_healthy_map_is_not_a_suspect);
    TEST(test_ranking_many_maps_keeps_the_order);
    TEST(test_maps_past_the_word_hints_are_read_from_the_tree);
    TEST(test_a_graph_of_2_to_the_31_maps_is_refused);
    TEST(test_allocation_sites_skip_allocator_frames);
    TEST(test_allocation_sites_are_grouped_by_site_not_stack);
    TEST(test_an_entry_site_is_never_a_shared_pointee);
    TEST(test_a_global_through_objects_is_named_before_a_stack_word);
    TEST(test_words_of_one_frame_are_one_holder);
    TEST(test_a_bounded_cache_a_stray_word_reaches_is_no_suspect);
    TEST(test_a_list_of_holders_names_its_first_16_and_says_there_are_more);
    TEST(test_a_holder_of_several_words_is_named_by_its_first_reaching_one);
    TEST(test_holders_around_a_cycle_reach_all_of_it);
    TEST(test_a_map_of_16_holders_counts_them_and_of_17_says_more);
    TEST(test_holders_match_the_reverse_search_on_random_heaps);
    TEST(test_one_value_under_many_keys_counts_once);
    TEST(test_a_value_pointing_twice_at_one_object_still_owns_it);
    TEST(test_a_value_holding_its_own_map_counts_once);
    TEST(test_a_map_of_maps_names_the_outer_slot);
    TEST(test_a_chain_through_an_array_names_the_element);
    TEST(test_a_map_holding_a_suspect_map_is_judged_without_it);
    TEST(test_maps_sharing_a_suspect_map_are_no_suspects);
    TEST(test_an_outer_map_leaking_by_its_own_entries_stays_a_suspect);
    TEST(test_growth_of_a_suspect_map_ranks_it_not_its_holder);
    TEST(test_a_long_chain_keeps_both_ends);
    TEST(test_a_long_chain_counts_its_middle_without_walking_it);
    TEST(test_a_map_without_pointers_keeps_overflow_buckets_through_its_list);
    TEST(test_entry_figures_do_not_depend_on_the_threads);
    TEST(test_entry_figures_past_a_mib_are_read_back_from_their_file);
    TEST(test_entry_figures_across_the_fetch_groups);
    TEST(test_entry_figures_of_many_small_maps_read_in_one_window);
    TEST_EXIT();
}
