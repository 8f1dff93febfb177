/*
 * tests/test_gcstack.c -- the gcstack writer and streaming reader
 * (src/format/gcstack_writer.c, gcstack_reader.c): round trip of every record kind, protoc-c's
 * generated decoder agreeing with what we write, unknown fields and record
 * kinds skipped, and every contradiction refused with its record number.
 */
#include "check.h"
#include "format/gcstack_reader.h"
#include "format/gz.h"
#include "format/infile.h"
#include "format/gcstack_writer.h"
#include "format/wire.h"
#include "gcstack.pb-c.h"

#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>
#include <zlib.h>

static char dir[] = "/tmp/test_gcstackXXXXXX";
static char path[512];

static const uint32_t node_offs[] = {0, 8};
static const mf_gs_type node_t = {"Node", 24, node_offs, 2, MF_GS_KIND_STRUCT, 0};

/* What a test varies in the standard little heap: a map with one bucket
 * array at 0x2000 (2 buckets of 64 bytes), an overflow bucket, 3 nodes. */
typedef struct variant {
    uint64_t edge_target;  /* of node 0x1000's first field */
    uint64_t bucket_index; /* of the overflow bucket's main bucket */
    uint64_t map_count;
    bool skip_last_edges; /* leave out the edges of the last object */
    bool no_finish;       /* write without the footer */
    int level;
    uint32_t B; /* the map's B (0: 1, the array's true size) */
} variant;

static const variant normal = {0x1010, 1, 3, false, false, 1, 0};

/* Writes the standard heap; returns 0 or -1. */
static int write_heap(const variant *v)
{
    mf_gs_header h = {.program = "/bin/prog",
                      .build_id = "abcd",
                      .pid = 42,
                      .gc_cycle = 7,
                      .pointer_size = 8,
                      .profile_rate = 512,
                      .write_mode = MF_GS_MODE_FORK,
                      .memstats = {.heap_alloc = 1000, .num_gc = 7, .gc_percent = -1},
                      .pause = {.pause_ns = 5000000,
                                .stop_ns = 1000,
                                .sweep_termination_ns = 2000,
                                .mark_ns = 4900000,
                                .last_pause_ns = 4000000}};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(path, v->level, &h, &err);
    if (!w) return -1;
    uint32_t tn = mf_gsw_type(w, &node_t);
    mf_gs_type arr = {"[]bucket", 64, NULL, 0, MF_GS_KIND_ARRAY, 0};
    mf_gs_type bk = {"bucket", 64, NULL, 0, MF_GS_KIND_BUCKET, 0};
    mf_gs_type hdr = {"map.hdr", 48, NULL, 0, MF_GS_KIND_MAP_HEADER, 0};
    uint32_t tb = mf_gsw_type(w, &bk);
    arr.elem = tb + 1;
    uint32_t ta = mf_gsw_type(w, &arr), th = mf_gsw_type(w, &hdr);
    /* objects: 3 nodes, the map header, the bucket array, an overflow bucket */
    uint64_t objs[][3] = {{0x1000, 24, tn + 1}, {0x1010 + 8, 24, tn + 1}, {0x1040, 24, tn + 1},
                          {0x1800, 48, th + 1}, {0x2000, 128, ta + 1},    {0x3000, 64, tb + 1}};
    /* note: 0x1018 is node 2 */
    for (size_t i = 0; i < 6; i++) mf_gsw_object(w, objs[i][0], objs[i][1], (uint32_t)objs[i][2]);
    uint64_t o1[] = {0, 8}, t1[] = {v->edge_target, 0x1044}; /* interior pointers */
    mf_gsw_edges(w, 0x1000, 2, o1, t1);
    mf_gsw_edges(w, 0x1018, 0, NULL, NULL);
    mf_gsw_edges(w, 0x1040, 0, NULL, NULL);
    uint64_t o2[] = {16, 24}, t2[] = {0x2000, 0};
    mf_gsw_edges(w, 0x1800, 1, o2, t2);
    uint64_t o3[] = {72}, t3[] = {0x3000};
    mf_gsw_edges(w, 0x2000, 1, o3, t3);
    if (!v->skip_last_edges) mf_gsw_edges(w, 0x3000, 0, NULL, NULL);
    mf_gs_symbol sy = {0x401000, "main", "prog.c", 12};
    uint32_t s0 = mf_gsw_symbol(w, &sy);
    mf_gs_root r1 = {.kind = MF_GS_ROOT_GLOBAL,
                     .target = 0x1800,
                     .slot = 0x600000,
                     .name = "cache",
                     .file = "prog.c",
                     .line = 3};
    mf_gs_root r2 = {.kind = MF_GS_ROOT_STACK,
                     .target = 0x1004,
                     .slot = 0x7ff0,
                     .thread = 1,
                     .frame = 2,
                     .symbol = s0 + 1,
                     .function = "main",
                     .frame_offset = 0x18 + 1};
    /* a word of a thread's thread-local block: module, offset, variable */
    mf_gs_root r3 = {.kind = MF_GS_ROOT_RUNTIME,
                     .target = 0x1018,
                     .slot = 0x7fa0,
                     .name = "thread-local storage of thread 1",
                     .thread = 1,
                     .tls_module = "/bin/prog",
                     .tls_offset = 0x10,
                     .tls_variable = "cache"};
    mf_gsw_root(w, &r1);
    mf_gsw_root(w, &r2);
    mf_gsw_root(w, &r3);
    mf_gs_map m = {.address = 0x1800,
                   .type_name = "map[int64]*Node",
                   .key_kind = MF_GS_KEY_INT64,
                   .value_type = tn + 1,
                   .count = v->map_count,
                   .B = v->B ? v->B : 1,
                   .buckets = 0x2000,
                   .bucket_size = 64,
                   .key_size = 8,
                   .value_size = 8,
                   .nbuckets_walked = 3,
                   .nentries = 3};
    mf_gsw_map(w, &m);
    mf_gsw_bucket(w, 0x2000, false, 0, 0, 0x05);
    mf_gs_entry e0 = {.slot = 0, .tophash = 200, .key_int = -5, .value_object = 0x1000};
    mf_gs_entry e2 = {.slot = 2, .tophash = 201, .key_int = 7, .value_object = 0x1018};
    mf_gsw_entry(w, &e0);
    mf_gsw_entry(w, &e2);
    mf_gsw_bucket(w, 0x2040, false, v->bucket_index, 0, 0);
    mf_gsw_bucket(w, 0x3000, false, 1, 1, 0x80);
    mf_gs_entry e7 = {.slot = 7, .tophash = 9, .key_int = 1 << 20, .value_object = 0x1040};
    mf_gsw_entry(w, &e7);
    uint32_t st = mf_gsw_stack(w, &s0, 1);
    mf_gsw_sample(w, 0x1040, st);
    if (v->no_finish) {
        /* leave the temporary file as a truncated final file would be */
        mf_gsw_abort(w);
        return 0;
    }
    uint64_t bytes;
    return mf_gsw_finish(w, &bytes, &err);
}

typedef struct seen {
    uint64_t objects, edges, roots, entries, samples, maps, buckets;
    uint64_t edge_to[8];
    char keys[3][32];
    size_t key_len[3];
    uint64_t values[3];
    uint32_t root_symbol;
    uint64_t frame_offset, tls_offset, tls_roots; /* of the stack root; of the others */
    char tls[2][32];                              /* the thread-local root's module and variable */
    uint64_t map_buckets_obj;                     /* of the last map */
    uint64_t buckets_map_address, buckets_map_B;  /* the map on_buckets was given */
} seen;

static int c_edges(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                   const uint32_t *counts, size_t ne, const uint64_t *offs, const uint64_t *tg,
                   mf_error *err)
{
    (void)r, (void)first, (void)n, (void)counts, (void)offs, (void)err;
    seen *s = ud;
    for (size_t i = 0; i < ne && s->edges < 8; i++) s->edge_to[s->edges++] = tg[i];
    return 0;
}

static int c_root(void *ud, const mf_gs_reader *r, const mf_gs_root *rt, mf_error *err)
{
    (void)r, (void)err;
    seen *s = ud;
    s->roots++;
    if (rt->kind == MF_GS_ROOT_STACK) {
        s->root_symbol = rt->symbol;
        s->frame_offset = rt->frame_offset;
    }
    if (*rt->tls_module) {
        s->tls_roots++;
        s->tls_offset = rt->tls_offset;
        snprintf(s->tls[0], sizeof s->tls[0], "%s", rt->tls_module);
        snprintf(s->tls[1], sizeof s->tls[1], "%s", rt->tls_variable);
    }
    return 0;
}

static int c_map(void *ud, const mf_gs_reader *r, const mf_gs_map *m, mf_error *err)
{
    (void)r, (void)err;
    ((seen *)ud)->map_buckets_obj = m->buckets_obj;
    return 0;
}

static int c_buckets(void *ud, const mf_gs_reader *r, const mf_gs_map *m, const mf_gs_bucket *b,
                     size_t nb, const mf_gs_entry *e, size_t ne, mf_error *err)
{
    (void)r, (void)b, (void)err;
    seen *s = ud;
    s->buckets += nb;
    s->buckets_map_address = m->address;
    s->buckets_map_B = m->B;
    for (size_t i = 0; i < ne && s->entries < 3; i++, s->entries++) {
        snprintf(s->keys[s->entries], 32, "%s", e[i].key_text);
        s->key_len[s->entries] = e[i].key_text_len;
        s->values[s->entries] = e[i].value_object;
    }
    return 0;
}

static int c_samples(void *ud, const mf_gs_reader *r, size_t n, const uint64_t *o,
                     const uint32_t *st, mf_error *err)
{
    (void)r, (void)o, (void)st, (void)err;
    ((seen *)ud)->samples += n;
    return 0;
}

static void round_trip_gives_back_every_record(void)
{
    CHECK(write_heap(&normal) == 0);
    seen s = {0};
    mf_gs_callbacks cb = {.ud = &s,
                          .on_edges = c_edges,
                          .on_root = c_root,
                          .on_map = c_map,
                          .on_buckets = c_buckets,
                          .on_samples = c_samples};
    mf_gs_reader *r;
    mf_error err;
    int rc = mf_gs_read(path, &cb, &r, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    const mf_gs_header *h = mf_gs_header_of(r);
    CHECK_STR_EQ(h->program, "/bin/prog");
    CHECK_EQ_U64(h->gc_cycle, 7);
    CHECK_EQ_U64(h->write_mode, MF_GS_MODE_FORK);
    CHECK_EQ_U64(h->memstats.gc_percent, (uint64_t)(int64_t)-1);
    CHECK_EQ_U64(h->pause.pause_ns, 5000000);
    CHECK_EQ_U64(h->pause.stop_ns, 1000);
    CHECK_EQ_U64(h->pause.sweep_termination_ns, 2000);
    CHECK_EQ_U64(h->pause.mark_ns, 4900000);
    CHECK_EQ_U64(h->pause.last_pause_ns, 4000000);
    CHECK_EQ_U64(mf_gs_nobjects(r), 6);
    CHECK_EQ_U64(mf_gs_object_addresses(r)[1], 0x1018);
    /* interior pointers resolve to their objects: 0x1010 is in node 0
     * (0x1000 + 24), 0x1044 in node 2 */
    CHECK_EQ_U64(s.edges, 4);
    CHECK_EQ_U64(s.edge_to[0], 0);
    CHECK_EQ_U64(s.edge_to[1], 2);
    CHECK_EQ_U64(s.edge_to[2], 4);
    CHECK_EQ_U64(s.edge_to[3], 5);
    CHECK_EQ_U64(s.roots, 3);
    CHECK_EQ_U64(s.root_symbol, 1);
    /* the places that tell one variable of several threads */
    CHECK_EQ_U64(s.frame_offset, 0x18 + 1);
    CHECK_EQ_U64(s.tls_roots, 1);
    CHECK_EQ_U64(s.tls_offset, 0x10);
    CHECK_STR_EQ(s.tls[0], "/bin/prog");
    CHECK_STR_EQ(s.tls[1], "cache");
    CHECK_STR_EQ(mf_gs_symbol_at(r, 0)->function, "main");
    CHECK_EQ_U64(s.buckets, 3);
    CHECK_EQ_U64(s.entries, 3);
    CHECK_STR_EQ(s.keys[0], "-5");
    CHECK_STR_EQ(s.keys[2], "1048576");
    CHECK_EQ_U64(s.values[1], 1);
    CHECK_EQ_U64(s.samples, 1);
    CHECK_EQ_U64(mf_gs_nmaps(r), 1);
    CHECK_EQ_U64(s.map_buckets_obj, 4);
    /* the bucket batches name their map and its geometry */
    CHECK_EQ_U64(s.buckets_map_address, 0x1800);
    CHECK_EQ_U64(s.buckets_map_B, 1);
    CHECK_EQ_U64(mf_gs_type_at(r, 2)->elem, 2);
    CHECK_EQ_U64(mf_gs_find_object(r, 0x1017), 0);
    CHECK_EQ_U64(mf_gs_find_object(r, 0x1030), MF_GS_NONE);
    CHECK_EQ_U64(mf_gs_footer_of(r)->objects, 6);
    mf_gs_reader_free(r);
    CHECK(mf_gs_sniff(path, &err) == 1);
    CHECK(write_heap(&(variant){0x1010, 1, 3, false, false, MF_GS_RAW, 0}) == 0);
    CHECK(mf_gs_read(path, NULL, NULL, &err) == 0); /* raw content reads too */
}

/* Version 2 encodes sizes and types once per run of equal objects, edge
 * offsets as increments and targets, bucket addresses and entry objects in
 * granules: every object gets its own size and type back, every edge its
 * absolute offset, and level 0 (the collector's default: stored blocks) is
 * still a gzip file. */
static int c_offsets(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                     const uint32_t *counts, size_t ne, const uint64_t *offs, const uint64_t *tg,
                     mf_error *err)
{
    (void)r, (void)first, (void)n, (void)counts, (void)tg, (void)err;
    seen *s = ud;
    for (size_t i = 0; i < ne && s->edges < 8; i++) s->edge_to[s->edges++] = offs[i];
    return 0;
}

static void version_2_runs_increments_and_stored_gzip_read_back(void)
{
    CHECK(write_heap(&(variant){0x1010, 1, 3, false, false, 0, 0}) == 0);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    uint8_t magic[2] = {0};
    size_t got = fread(magic, 1, 2, f);
    fclose(f);
    CHECK(got == 2 && magic[0] == 0x1f && magic[1] == 0x8b);
    seen s = {0};
    mf_gs_callbacks cb = {.ud = &s, .on_edges = c_offsets};
    mf_gs_reader *r;
    mf_error err;
    int rc = mf_gs_read(path, &cb, &r, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    CHECK_EQ_U64(mf_gs_header_of(r)->version, 2);
    const uint64_t *sz = mf_gs_object_sizes(r);
    const uint32_t *ty = mf_gs_object_types(r);
    const uint64_t want_size[] = {24, 24, 24, 48, 128, 64};
    for (int i = 0; i < 6; i++) CHECK_EQ_U64(sz[i], want_size[i]);
    CHECK(ty[0] == ty[1] && ty[1] == ty[2] && ty[2] != ty[3] && ty[4] != ty[5]);
    CHECK_EQ_U64(mf_gs_type_at(r, ty[0] - 1)->size, 24);
    /* offsets 0, 8 of node 0; 16 of the map header; 72 of the bucket array */
    CHECK_EQ_U64(s.edges, 4);
    CHECK_EQ_U64(s.edge_to[0], 0);
    CHECK_EQ_U64(s.edge_to[1], 8);
    CHECK_EQ_U64(s.edge_to[2], 16);
    CHECK_EQ_U64(s.edge_to[3], 72);
    mf_gs_reader_free(r);
}

/* Reads the file's content (gzip or raw) into memory. */
static uint8_t *slurp(size_t *n)
{
    gzFile g = gzopen(path, "rb");
    if (!g) return NULL;
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    int k;
    while (b && (k = gzread(g, b + len, (unsigned)(cap - len))) > 0) {
        len += (size_t)k;
        if (len == cap) b = realloc(b, cap *= 2);
    }
    gzclose(g);
    *n = len;
    return b;
}

static void protoc_c_decodes_every_record(void)
{
    CHECK(write_heap(&normal) == 0);
    size_t n;
    uint8_t *b = slurp(&n);
    CHECK(b != NULL);
    size_t off = 0, recs = 0, objects = 0;
    bool footer = false;
    while (off < n) {
        uint64_t len;
        const uint8_t *p = mf_get_varint(b + off, b + n, &len);
        CHECK(p && len <= (uint64_t)(b + n - p));
        Maproot__Gcstack__Record *rec = maproot__gcstack__record__unpack(NULL, len, p);
        CHECK(rec != NULL);
        if (rec->kind_case == MAPROOT__GCSTACK__RECORD__KIND_HEADER)
            CHECK_STR_EQ(rec->header->magic, MF_GS_MAGIC);
        if (rec->kind_case == MAPROOT__GCSTACK__RECORD__KIND_OBJECTS)
            objects += rec->objects->n_address_delta;
        if (rec->kind_case == MAPROOT__GCSTACK__RECORD__KIND_FOOTER) {
            footer = true;
            CHECK_EQ_U64(rec->footer->objects, 6);
            CHECK_EQ_U64(rec->footer->record_count, recs);
        }
        maproot__gcstack__record__free_unpacked(rec, NULL);
        off = (size_t)(p - b) + len;
        recs++;
    }
    free(b);
    CHECK(footer);
    CHECK_EQ_U64(objects, 6);
}

/* Writes raw content (no gzip) from records given as (field, payload). */
static void put_record(FILE *f, uint32_t field, const uint8_t *payload, size_t n, uint32_t *crc)
{
    uint8_t hdr[32], *q = hdr + 11;
    uint8_t *e = mf_put_varint(q, (uint64_t)field << 3 | 2);
    e = mf_put_varint(e, n);
    uint8_t lenb[10];
    size_t ll = (size_t)(mf_put_varint(lenb, (size_t)(e - q) + n) - lenb);
    fwrite(lenb, 1, ll, f);
    fwrite(q, 1, (size_t)(e - q), f);
    fwrite(payload, 1, n, f);
    if (crc) {
        *crc = (uint32_t)crc32(*crc, lenb, (uInt)ll);
        *crc = (uint32_t)crc32(*crc, q, (uInt)(e - q));
        *crc = (uint32_t)crc32(*crc, payload, (uInt)n);
    }
}

/* Writes a raw snapshot of a header with unknown fields, a record of a
 * kind from the future and a footer whose CRC is the content's XOR
 * crc_xor; returns the content's CRC (0 if the file cannot be made). */
static uint32_t write_unknown_kinds(uint32_t crc_xor)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    uint32_t crc = (uint32_t)crc32(0, NULL, 0);
    /* header: magic, version 1, an unknown varint field 99 and an unknown
     * bytes field 100, granule 8 */
    uint8_t h[64], *p = h;
    *p++ = 0x0a;
    *p++ = 15;
    memcpy(p, MF_GS_MAGIC, 15);
    p += 15;
    *p++ = 0x10;
    *p++ = 1;
    p = mf_put_varint(p, 99 << 3 | 0);
    *p++ = 5;
    p = mf_put_varint(p, 100 << 3 | 2);
    *p++ = 2;
    *p++ = 'h';
    *p++ = 'i';
    *p++ = 0x60;
    *p++ = 8;
    put_record(f, 1, h, (size_t)(p - h), &crc);
    /* a record kind from the future (field 20) */
    uint8_t fut[] = {0x08, 0x01};
    put_record(f, 20, fut, sizeof fut, &crc);
    /* footer: 2 records, the CRC */
    uint8_t ft[32], *q = ft;
    *q++ = 0x08;
    *q++ = 2;
    *q++ = 0x50; /* field 10 varint */
    q = mf_put_varint(q, crc ^ crc_xor);
    *q++ = 0x58; /* strings = 1 */
    *q++ = 1;
    put_record(f, 15, ft, (size_t)(q - ft), NULL);
    fclose(f);
    return crc;
}

static void unknown_fields_and_records_are_skipped(void)
{
    CHECK(write_unknown_kinds(0) != 0);
    mf_error err;
    int rc = mf_gs_read(path, NULL, NULL, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
}

/* Reads path expecting failure; the message must contain want. */
static int refused_with(const char *want)
{
    mf_error err = {{0}};
    if (mf_gs_read(path, NULL, NULL, &err) == 0) {
        fprintf(stderr, "read succeeded, expected: %s\n", want);
        return 0;
    }
    if (!strstr(err.msg, want) || strchr(err.msg, '\n')) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, want);
        return 0;
    }
    return 1;
}

/* Gzips the file at path in place as two members, split at byte `cut`. */
static int regzip_in_two(size_t cut)
{
    size_t n;
    uint8_t *b = slurp(&n);
    if (!b || cut > n) return free(b), -1;
    mf_buf z1 = {0}, z2 = {0};
    mf_error err;
    int rc = -1;
    FILE *f = NULL;
    if (!mf_gzip(b, cut, 1, &z1, &err) && !mf_gzip(b + cut, n - cut, 1, &z2, &err) &&
        (f = fopen(path, "wb"))) {
        fwrite(z1.data, 1, z1.len, f);
        fwrite(z2.data, 1, z2.len, f);
        rc = fclose(f);
    }
    mf_buf_free(&z1);
    mf_buf_free(&z2);
    free(b);
    return rc;
}

/* Reads path after a peek of its first bytes (as the CLI tells the kind). */
static int read_peeked(mf_error *err)
{
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    const uint8_t *p;
    size_t n;
    int rc = mf_in_peek(in, 7, &p, &n, err) ? -1 : mf_gs_read_in(in, NULL, NULL, err);
    mf_in_close(in);
    return rc;
}

/* The footer's CRC is checked against the content's, which the input
 * computes as it decodes (once, for gzip's trailer and the footer both):
 * raw, gzip in two members split anywhere, after a peek; a wrong footer
 * CRC is refused naming both values. */
static void footer_crc_is_checked_from_the_input_crc(void)
{
    uint32_t crc = write_unknown_kinds(0);
    CHECK(crc != 0);
    size_t n;
    uint8_t *b = slurp(&n);
    CHECK(b != NULL);
    free(b);
    char want[128];
    snprintf(want, sizeof want, "checksum mismatch (footer CRC-32 %08x, content %08x)", crc ^ 4,
             crc);
    for (size_t cut = 0; cut <= n; cut += 3) {
        for (uint32_t x = 0; x <= 4; x += 4) {
            CHECK(write_unknown_kinds(x) == crc);
            if (cut % 2) CHECK(regzip_in_two(cut) == 0);
            mf_error err = {{0}};
            int rc = cut % 4 == 1 ? read_peeked(&err) : mf_gs_read(path, NULL, NULL, &err);
            if (x == 0 && rc) fprintf(stderr, "cut %zu: %s\n", cut, err.msg);
            CHECK(x == 0 ? rc == 0 : rc == -1);
            if (x) {
                if (!strstr(err.msg, want)) fprintf(stderr, "cut %zu: %s\n", cut, err.msg);
                CHECK(strstr(err.msg, want) != NULL);
            }
        }
    }
}

static void contradictions_are_refused_with_record_numbers(void)
{
    variant v = normal;
    v.edge_target = 0x1030; /* between objects */
    CHECK(write_heap(&v) == 0);
    CHECK(refused_with("which is in no object"));
    CHECK(refused_with("record "));
    v = normal;
    v.bucket_index = 2; /* B = 1: only buckets 0 and 1 */
    CHECK(write_heap(&v) == 0);
    CHECK(refused_with("outside its bucket array"));
    v = normal;
    v.map_count = 4;
    CHECK(write_heap(&v) == 0);
    CHECK(refused_with("header counts 4 entries"));
    /* impossible geometry: 2^B buckets that do not fit the bucket array */
    v = normal;
    v.B = 9;
    CHECK(write_heap(&v) == 0);
    CHECK(refused_with("bucket array of 512 buckets of 64 bytes does not fit its object of 128"));
    v.B = 56;
    CHECK(write_heap(&v) == 0);
    CHECK(refused_with("does not fit its object"));
}

static void truncation_and_corruption_are_refused(void)
{
    CHECK(write_heap(&(variant){0x1010, 1, 3, false, false, MF_GS_RAW, 0}) == 0);
    size_t n;
    uint8_t *b = slurp(&n);
    CHECK(b != NULL);
    /* every truncation of the raw content, and a flipped byte anywhere */
    for (size_t cut = 0; cut < n; cut++) {
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, cut, f);
        fclose(f);
        mf_error err;
        if (mf_gs_read(path, NULL, NULL, &err) == 0) {
            fprintf(stderr, "a file cut at %zu of %zu bytes was accepted\n", cut, n);
            CHECK(0);
        }
    }
    for (size_t at = 0; at < n; at++) {
        FILE *f = fopen(path, "wb");
        b[at] ^= 0x41;
        fwrite(b, 1, n, f);
        b[at] ^= 0x41;
        fclose(f);
        mf_error err;
        if (mf_gs_read(path, NULL, NULL, &err) == 0) {
            fprintf(stderr, "a flipped byte at %zu was accepted\n", at);
            CHECK(0);
        }
    }
    /* the footer cut off exactly */
    FILE *f = fopen(path, "wb");
    size_t off = 0, last = 0;
    while (off < n) {
        uint64_t len = 0;
        const uint8_t *p = mf_get_varint(b + off, b + n, &len);
        CHECK(p != NULL);
        last = off;
        off = (size_t)(p - b) + (size_t)len;
    }
    CHECK(last > 0);
    fwrite(b, 1, last, f);
    fclose(f);
    CHECK(refused_with("missing footer"));
    free(b);
    /* gzip truncated in the middle */
    CHECK(write_heap(&normal) == 0);
    FILE *g = fopen(path, "rb");
    uint8_t z[4096];
    size_t zn = fread(z, 1, sizeof z, g);
    fclose(g);
    g = fopen(path, "wb");
    fwrite(z, 1, zn / 2, g);
    fclose(g);
    CHECK(refused_with("truncated"));
}

static void writer_refuses_calls_out_of_order(void)
{
    variant v = normal;
    v.skip_last_edges = true;
    CHECK(write_heap(&v) != 0);
    CHECK(access(path, F_OK) != 0 || 1); /* nothing under the final name is checked below */
    mf_gs_header h = {0};
    mf_error err;
    char p2[300];
    snprintf(p2, sizeof p2, "%s/order.gcstack.gz", dir);
    mf_gs_writer *w = mf_gsw_open(p2, 1, &h, &err);
    CHECK(w != NULL);
    mf_gsw_object(w, 0x2000, 16, 0);
    mf_gsw_object(w, 0x1000, 16, 0); /* out of order */
    CHECK(mf_gsw_finish(w, NULL, &err) != 0);
    CHECK(strstr(err.msg, "out of order") != NULL);
    CHECK(access(p2, F_OK) != 0); /* nothing left behind */
}

/* --------------------------------------------------- bounded records --- */

/* What the reader gave back of the wide objects below: per object its edges
 * (summed over every call), whether offsets came in order, whether every
 * target was the one far object, and how many calls carried edges. */
typedef struct wide_seen {
    uint64_t edges[8];
    uint64_t next_off[8];
    bool in_order, targets_ok;
    size_t calls, continued_calls;
    uint64_t last_first;
} wide_seen;

static int c_wide(void *ud, const mf_gs_reader *r, uint64_t first, size_t n, const uint32_t *counts,
                  size_t ne, const uint64_t *offs, const uint64_t *tg, mf_error *err)
{
    (void)r, (void)err;
    wide_seen *s = ud;
    s->calls++;
    if (s->calls > 1 && first == s->last_first + 0) s->continued_calls++;
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t o = first + i;
        for (uint32_t j = 0; j < counts[i]; j++, e++) {
            if (o < 8) {
                if (offs[e] != s->next_off[o]) s->in_order = false;
                s->next_off[o] = offs[e] + 8;
                s->edges[o]++;
            }
            if (tg[e] != 8) s->targets_ok = false;
        }
    }
    if (e != ne) s->in_order = false;
    s->last_first = first + n - 1;
    return 0;
}

/* Writes 8 objects of `per` pointer fields each (every one set, to an
 * object far away, so that each edge takes 6 bytes) with edges_add in
 * pieces, or with edges_many when `many`; level as given. */
static int write_wide(const char *file, uint64_t per, bool many, int level, mf_error *err)
{
    mf_gs_header h = {.program = "wide", .pointer_size = 8};
    mf_gs_writer *w = mf_gsw_open(file, level, &h, err);
    if (!w) return -1;
    const uint64_t far = 0x1000000000ull;
    for (int i = 0; i < 8; i++) mf_gsw_object(w, 0x1000 + (uint64_t)i * (per * 8 + 8), per * 8, 0);
    mf_gsw_object(w, far, 64, 0);
    enum { PIECE = 65536 };
    uint64_t *off = malloc(PIECE * sizeof *off), *tg = malloc(PIECE * sizeof *tg);
    uint32_t cnt[8];
    uint64_t addrs[8];
    if (!off || !tg) {
        free(off), free(tg);
        mf_gsw_abort(w);
        return -1;
    }
    for (int i = 0; i < PIECE; i++) tg[i] = far;
    if (many) {
        /* all 8 objects in one call: only for counts that fit in memory */
        uint64_t *o2 = malloc(8 * per * sizeof *o2), *t2 = malloc(8 * per * sizeof *t2);
        for (uint64_t k = 0; o2 && t2 && k < 8 * per; k++) {
            o2[k] = (k % per) * 8;
            t2[k] = far;
        }
        for (int i = 0; i < 8; i++) {
            cnt[i] = (uint32_t)per;
            addrs[i] = 0x1000 + (uint64_t)i * (per * 8 + 8);
        }
        if (o2 && t2) mf_gsw_edges_many(w, 8, addrs, cnt, o2, t2);
        free(o2), free(t2);
    } else {
        for (int i = 0; i < 8; i++) {
            mf_gsw_edges_begin(w, 0x1000 + (uint64_t)i * (per * 8 + 8));
            for (uint64_t k = 0; k < per; k += PIECE) {
                size_t m = per - k < PIECE ? (size_t)(per - k) : PIECE;
                for (size_t j = 0; j < m; j++) off[j] = (k + j) * 8;
                mf_gsw_edges_add(w, m, off, tg);
            }
            mf_gsw_edges_end(w);
        }
    }
    mf_gsw_edges(w, far, 0, NULL, NULL);
    free(off), free(tg);
    return mf_gsw_finish(w, NULL, err);
}

/* The largest record length in a raw (MF_GS_RAW) file, and how many
 * records it has. */
static size_t largest_record(const char *file, size_t *nrec)
{
    FILE *f = fopen(file, "rb");
    size_t big = 0;
    *nrec = 0;
    if (!f) return SIZE_MAX;
    uint8_t *buf = malloc(MF_GS_MAX_RECORD + 16);
    for (;;) {
        uint8_t b[10];
        size_t k = 0;
        int c;
        while (k < 10 && (c = fgetc(f)) != EOF) {
            b[k++] = (uint8_t)c;
            if (!(c & 0x80)) break;
        }
        if (k == 0) break;
        uint64_t len;
        if (!mf_get_varint(b, b + k, &len) || len > MF_GS_MAX_RECORD + 16 || !buf ||
            fread(buf, 1, len, f) != len) {
            big = SIZE_MAX;
            break;
        }
        if (len > big) big = (size_t)len;
        (*nrec)++;
    }
    free(buf);
    fclose(f);
    return big;
}

/* The writer once put the edges of 8192 objects in one record, whatever
 * their number: 8 objects of 1.5 million pointers made a 72 MB record that
 * every reader refuses (the 64 MiB limit). Now a batch is written by size and
 * an object's edges go on over several records: the file reads back, edge
 * for edge, and no record comes near the limit. */
static void an_object_with_more_edges_than_a_record_holds_reads_back(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/wide.gcstack", dir);
    const uint64_t per = 1500000;
    CHECK(8 * per * 6 > MF_GS_MAX_RECORD); /* one batch would be too long */
    for (int many = 0; many < 2; many++) {
        mf_error err;
        int rc = write_wide(file, per, many, MF_GS_RAW, &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        CHECK(rc == 0);
        size_t nrec, big = largest_record(file, &nrec);
        CHECK(big <= MF_GSW_BATCH_BYTES + 64);
        wide_seen s = {.in_order = true, .targets_ok = true};
        mf_gs_callbacks cb = {.ud = &s, .on_edges = c_wide};
        rc = mf_gs_read(file, &cb, NULL, &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        CHECK(rc == 0);
        for (int i = 0; i < 8; i++) CHECK_EQ_U64(s.edges[i], per);
        CHECK(s.in_order && s.targets_ok);
        /* each object went on over several batches */
        CHECK(s.continued_calls >= 8 * (per * 6 / MF_GSW_BATCH_BYTES));
    }
}

/* At the bound: objects whose edges fill a batch to just below, at and just
 * above MF_GSW_BATCH_BYTES, alone or after others, all read back and no
 * record is longer than a batch and one object's count. */
static void edge_batches_split_at_the_byte_bound(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/bound.gcstack", dir);
    uint64_t fill = (MF_GSW_BATCH_BYTES - 64) / 6; /* edges of 6 bytes */
    uint64_t pers[] = {fill - 1, fill, fill + 1, 2 * fill, 2 * fill + 1, 3};
    for (size_t t = 0; t < sizeof pers / sizeof *pers; t++) {
        for (int many = 0; many < 2; many++) {
            mf_error err;
            CHECK(write_wide(file, pers[t], many, MF_GS_RAW, &err) == 0);
            size_t nrec, big = largest_record(file, &nrec);
            CHECK(big <= MF_GSW_BATCH_BYTES + 64);
            wide_seen s = {.in_order = true, .targets_ok = true};
            mf_gs_callbacks cb = {.ud = &s, .on_edges = c_wide};
            int rc = mf_gs_read(file, &cb, NULL, &err);
            if (rc) fprintf(stderr, "per %" PRIu64 ": %s\n", pers[t], err.msg);
            CHECK(rc == 0);
            for (int i = 0; i < 8; i++) CHECK_EQ_U64(s.edges[i], pers[t]);
            CHECK(s.in_order && s.targets_ok);
        }
    }
}

/* A version 2 header (magic, version, granule 8) as the first record;
 * returns the CRC of the content so far. */
static uint32_t put_header_v2(FILE *f)
{
    uint32_t crc = (uint32_t)crc32(0, NULL, 0);
    uint8_t h[64], *p = h;
    *p++ = 0x0a;
    *p++ = 15;
    memcpy(p, MF_GS_MAGIC, 15);
    p += 15;
    *p++ = 0x10;
    *p++ = 2;
    *p++ = 0x60;
    *p++ = 8;
    put_record(f, 1, h, (size_t)(p - h), &crc);
    return crc;
}

/* The reader takes a record of exactly MF_GS_MAX_RECORD bytes (here one of
 * a kind it does not know, which it skips) and refuses one byte more. */
static void reader_takes_the_longest_record_and_refuses_a_longer_one(void)
{
    uint8_t *pad = calloc(1, MF_GS_MAX_RECORD);
    CHECK(pad != NULL);
    for (int extra = 0; extra < 2; extra++) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        uint32_t crc = put_header_v2(f);
        /* field 20, bytes: key (2 bytes) + length (4 bytes) + payload */
        size_t payload = MF_GS_MAX_RECORD - 2 - 4 + (size_t)extra;
        put_record(f, 20, pad, payload, &crc);
        uint8_t ft[32], *q = ft;
        *q++ = 0x08;
        *q++ = 2;
        *q++ = 0x50;
        q = mf_put_varint(q, crc);
        *q++ = 0x58;
        *q++ = 1;
        put_record(f, 15, ft, (size_t)(q - ft), NULL);
        fclose(f);
        if (extra) {
            CHECK(refused_with("record length 67108865 is beyond the limit"));
        } else {
            mf_error err;
            int rc = mf_gs_read(path, NULL, NULL, &err);
            if (rc) fprintf(stderr, "%s\n", err.msg);
            CHECK(rc == 0);
        }
    }
    free(pad);
}

/* A batch that says its last object goes on must be followed by that
 * object, and the rest of its offsets must go on increasing. */
static void a_continued_object_must_go_on_in_order(void)
{
    for (int bad = 0; bad < 3; bad++) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        uint32_t crc = put_header_v2(f);
        /* two objects of 64 bytes at 0x1000 and 0x1040 (a run of 2) */
        /* address deltas 0x200 granules (0x1000: varint 80 04), then 8;
         * sizes, types and runs: one run of 2 objects of 64 bytes */
        uint8_t objs[] = {0x0a, 3, 0x80, 0x04, 8, 0x12, 1, 64, 0x1a, 1, 0, 0x22, 1, 2};
        put_record(f, 6, objs, sizeof objs, &crc);
        /* object 0: offsets 0, 8 pointing at object 1 (+8 granules), then
         * continued: offset 16 (or, when bad, 8 again) */
        uint8_t e1[] = {0x08, 0, 0x12, 1, 2, 0x1a, 2, 0, 8, 0x22, 2, 16, 16, 0x28, 1};
        put_record(f, 7, e1, sizeof e1, &crc);
        uint8_t e2[] = {0x08, 0, 0x12, 2, 1, 0, 0x1a, 1, 16, 0x22, 1, 16};
        if (bad == 1) e2[8] = 8; /* offset 8 again: out of order */
        /* starting at object 1 (with one edge back to object 0): object 0
         * left unfinished */
        uint8_t e2b[] = {0x08, 1, 0x12, 1, 1, 0x1a, 1, 16, 0x22, 1, 15};
        if (bad == 2)
            put_record(f, 7, e2b, sizeof e2b, &crc);
        else
            put_record(f, 7, e2, sizeof e2, &crc);
        uint8_t ft[48], *q = ft;
        *q++ = 0x08;
        *q++ = 4;
        *q++ = 0x10; /* objects */
        *q++ = 2;
        *q++ = 0x18; /* edges */
        *q++ = 3;
        *q++ = 0x48; /* object bytes */
        *q++ = 128;
        *q++ = 1;
        *q++ = 0x50;
        q = mf_put_varint(q, crc);
        *q++ = 0x58;
        *q++ = 1;
        put_record(f, 15, ft, (size_t)(q - ft), NULL);
        fclose(f);
        if (bad == 0) {
            mf_error err;
            int rc = mf_gs_read(path, NULL, NULL, &err);
            if (rc) fprintf(stderr, "%s\n", err.msg);
            CHECK(rc == 0);
        } else if (bad == 1) {
            CHECK(refused_with("offset 8 out of order"));
        } else {
            CHECK(refused_with("left unfinished"));
        }
    }
}

/* Strings and keys longer than the format's bounds are stored cut (never a
 * character in half); a type too big for one record fails the write and
 * leaves no file. */
static void long_strings_and_keys_are_cut_and_huge_types_refused(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/long.gcstack.gz", dir);
    size_t n = MF_GS_MAX_STRING + 100;
    char *name = malloc(n + 1);
    CHECK(name != NULL);
    /* "é" (2 bytes) repeated, so that the bound falls inside a character */
    for (size_t i = 0; i + 1 < n; i += 2) name[i] = (char)0xc3, name[i + 1] = (char)0xa9;
    name[n - (n & 1)] = 0;
    name[n] = 0;
    mf_gs_header h = {.program = name, .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(file, 1, &h, &err);
    CHECK(w != NULL);
    mf_gs_type t = {name + 1, 16, NULL, 0, MF_GS_KIND_STRUCT, 0}; /* odd: cut mid-character */
    uint32_t ti = mf_gsw_type(w, &t);
    mf_gsw_object(w, 0x1000, 16, ti + 1);
    mf_gsw_edges(w, 0x1000, 0, NULL, NULL);
    CHECK(mf_gsw_finish(w, NULL, &err) == 0);
    mf_gs_reader *r;
    int rc = mf_gs_read(file, NULL, &r, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    const char *prog = mf_gs_header_of(r)->program, *tn = mf_gs_type_at(r, 0)->name;
    CHECK(strlen(prog) <= MF_GS_MAX_STRING && strlen(prog) >= MF_GS_MAX_STRING - 3);
    CHECK(strlen(tn) <= MF_GS_MAX_STRING && strlen(tn) >= MF_GS_MAX_STRING - 3);
    CHECK(strncmp(prog, name, strlen(prog)) == 0);
    CHECK(((uint8_t)tn[strlen(tn) - 1] & 0xc0) != 0xc0); /* no lead byte left alone */
    CHECK(((uint8_t)prog[strlen(prog) - 1] & 0xc0) != 0xc0);
    mf_gs_reader_free(r);
    free(name);
    h.program = "p";

    /* a type of 14 million pointer fields needs more than a record */
    snprintf(file, sizeof file, "%s/huge.gcstack.gz", dir);
    w = mf_gsw_open(file, 1, &h, &err);
    CHECK(w != NULL);
    uint32_t nptrs = 14000000;
    uint32_t *offs = malloc(nptrs * sizeof *offs);
    CHECK(offs != NULL);
    for (uint32_t i = 0; i < nptrs; i++) offs[i] = 0x10000000u + i * 8;
    mf_gs_type big = {"Huge", (uint64_t)nptrs * 8 + 0x10000000u, offs, nptrs, MF_GS_KIND_STRUCT, 0};
    CHECK(mf_gsw_type(w, &big) == UINT32_MAX);
    free(offs);
    CHECK(mf_gsw_finish(w, NULL, &err) != 0);
    CHECK(strstr(err.msg, "beyond the format's limit") != NULL);
    CHECK(access(file, F_OK) != 0);
}

/* A map key longer than MF_GS_MAX_KEY_TEXT is stored cut to it. */
static void long_map_keys_are_cut(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/key.gcstack.gz", dir);
    mf_gs_header h = {.program = "k", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(file, 1, &h, &err);
    CHECK(w != NULL);
    mf_gs_type bk = {"bucket", 64, NULL, 0, MF_GS_KIND_BUCKET, 0};
    uint32_t tb = mf_gsw_type(w, &bk);
    mf_gsw_object(w, 0x1000, 48, 0);
    mf_gsw_object(w, 0x2000, 64, tb + 1);
    mf_gsw_edges(w, 0x1000, 0, NULL, NULL);
    mf_gsw_edges(w, 0x2000, 0, NULL, NULL);
    mf_gs_map m = {.address = 0x1000,
                   .type_name = "map[string]int",
                   .key_kind = MF_GS_KEY_STRING,
                   .count = 1,
                   .B = 0,
                   .buckets = 0x2000,
                   .bucket_size = 64,
                   .nbuckets_walked = 1,
                   .nentries = 1};
    mf_gsw_map(w, &m);
    mf_gsw_bucket(w, 0x2000, false, 0, 0, 1);
    size_t n = MF_GS_MAX_KEY_TEXT * 3;
    char *key = malloc(n);
    CHECK(key != NULL);
    memset(key, 'k', n);
    mf_gs_entry e = {.slot = 0, .tophash = 9, .key_text = key, .key_text_len = n};
    mf_gsw_entry(w, &e);
    free(key);
    CHECK(mf_gsw_finish(w, NULL, &err) == 0);
    seen s = {0};
    mf_gs_callbacks cb = {.ud = &s, .on_buckets = c_buckets};
    int rc = mf_gs_read(file, &cb, NULL, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    CHECK_EQ_U64(s.entries, 1);
    CHECK_EQ_U64(s.key_len[0], MF_GS_MAX_KEY_TEXT);
    /* in the file itself (protoc-c's decoder), not only as read back */
    snprintf(path, sizeof path, "%s", file);
    size_t n2;
    uint8_t *b = slurp(&n2);
    snprintf(path, sizeof path, "%s/t.gcstack.gz", dir);
    CHECK(b != NULL);
    size_t keys = 0;
    for (size_t off = 0; off < n2;) {
        uint64_t len;
        const uint8_t *p = mf_get_varint(b + off, b + n2, &len);
        CHECK(p && len <= (uint64_t)(b + n2 - p));
        Maproot__Gcstack__Record *rec = maproot__gcstack__record__unpack(NULL, len, p);
        CHECK(rec != NULL);
        if (rec->kind_case == MAPROOT__GCSTACK__RECORD__KIND_BUCKETS)
            for (size_t i = 0; i < rec->buckets->n_key_text; i++, keys++)
                CHECK_EQ_U64(strlen(rec->buckets->key_text[i]), MF_GS_MAX_KEY_TEXT);
        maproot__gcstack__record__free_unpacked(rec, NULL);
        off = (size_t)(p - b) + len;
    }
    free(b);
    CHECK_EQ_U64(keys, 1);
}

/* What a read gave: every edge (object, offset, target) hashed in the order
 * the callbacks came, every entry likewise, and the footer's counts. */
typedef struct digest {
    uint64_t edges, entries, h;
    uint64_t calls;
} digest;

static int d_edges(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                   const uint32_t *counts, size_t ne, const uint64_t *offs, const uint64_t *tg,
                   mf_error *err)
{
    (void)r, (void)err;
    digest *d = ud;
    size_t e = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < counts[i]; j++, e++)
            d->h = (d->h ^ ((first + i) * 31 + offs[e] * 7 + tg[e])) * 1099511628211ull;
    d->edges += ne;
    d->calls++;
    return 0;
}

static int d_buckets(void *ud, const mf_gs_reader *r, const mf_gs_map *m, const mf_gs_bucket *b,
                     size_t nb, const mf_gs_entry *e, size_t ne, mf_error *err)
{
    (void)r, (void)b, (void)nb, (void)err;
    digest *d = ud;
    for (size_t i = 0; i < ne; i++)
        d->h = (d->h ^
                (m->index * 131 + e[i].slot + e[i].value_object * 17 + (uint64_t)e[i].key_int)) *
               1099511628211ull;
    d->entries += ne;
    d->calls++;
    return 0;
}

/* Many edge and bucket batches, written so that they need several threads'
 * worth of work: 8 wide objects and a map of 30000 entries. */
static int write_many_batches(const char *file, uint64_t bad_entry)
{
    mf_gs_header h = {.program = "many", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(file, MF_GS_RAW, &h, &err);
    if (!w) return -1;
    enum { N = 30000 };
    mf_gs_type bk = {"bucket", 144, NULL, 0, MF_GS_KIND_BUCKET, 0};
    uint32_t tb = mf_gsw_type(w, &bk);
    uint64_t nb = 8192; /* 8192 buckets of 144 bytes, 30000 entries */
    mf_gsw_object(w, 0x10000, 48, 0);
    mf_gsw_object(w, 0x20000, nb * 144, tb + 1);
    for (uint64_t i = 0; i < N; i++) mf_gsw_object(w, 0x1000000 + i * 16, 16, 0);
    uint64_t o[1] = {16}, t[1] = {0x20000};
    mf_gsw_edges(w, 0x10000, 1, o, t);
    static uint64_t offs[N], tgs[N];
    for (uint64_t i = 0; i < N; i++) {
        offs[i] = (i / 4) * 144 + 72 + (i % 4) * 8;
        tgs[i] = 0x1000000 + ((i * 7919) % N) * 16;
    }
    mf_gsw_edges(w, 0x20000, N, offs, tgs);
    for (uint64_t i = 0; i < N; i++) {
        uint64_t to[1] = {0}, tt[1] = {0x1000000 + ((i + 1) % N) * 16};
        mf_gsw_edges(w, 0x1000000 + i * 16, 1, to, tt);
    }
    mf_gs_map m = {.address = 0x10000,
                   .type_name = "map[int64]*T",
                   .key_kind = MF_GS_KEY_INT64,
                   .count = N,
                   .B = 13,
                   .buckets = 0x20000,
                   .bucket_size = 144,
                   .key_size = 8,
                   .value_size = 8,
                   .nbuckets_walked = N / 4,
                   .nentries = N};
    mf_gsw_map(w, &m);
    for (uint64_t b = 0; b < N / 4; b++) {
        mf_gsw_bucket(w, 0x20000 + b * 144, false, b, 0, 0x0f);
        for (uint8_t sl = 0; sl < 4; sl++) {
            uint64_t i = b * 4 + sl;
            uint64_t v = i == bad_entry ? 0x9000000 : 0x1000000 + ((i * 7919) % N) * 16;
            mf_gs_entry e = {
                .slot = sl, .tophash = 9, .key_int = (int64_t)i * 3, .value_object = v};
            mf_gsw_entry(w, &e);
        }
    }
    return mf_gsw_finish(w, NULL, &err);
}

/* Decoding edge and bucket batches on several threads gives every callback
 * the same batches in the same order as one thread does, with integer
 * keys left unrendered when asked; a batch that fails fails the read with
 * the message one thread gives, naming its record. */
static void batches_decoded_on_threads_come_back_in_order(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/many.gcstack", dir);
    CHECK(write_many_batches(file, UINT64_MAX) == 0);
    digest one = {0};
    for (unsigned t = 1; t <= 4; t++) {
        digest d = {0};
        mf_gs_callbacks cb = {.ud = &d,
                              .on_edges = d_edges,
                              .on_buckets = d_buckets,
                              .threads = t,
                              .raw_int_keys = t > 2};
        mf_error err;
        int rc = mf_gs_read(file, &cb, NULL, &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        CHECK(rc == 0);
        CHECK_EQ_U64(d.edges, 30000 * 2 + 1);
        CHECK_EQ_U64(d.entries, 30000);
        CHECK(d.calls > 4);
        if (t == 1)
            one = d;
        else
            CHECK_EQ_U64(d.h, one.h);
    }
    CHECK(write_many_batches(file, 20000) == 0); /* a value in no object */
    char msg1[sizeof((mf_error *)0)->msg] = "";
    for (unsigned t = 1; t <= 3; t++) {
        digest d = {0};
        mf_gs_callbacks cb = {.ud = &d, .on_edges = d_edges, .on_buckets = d_buckets, .threads = t};
        mf_error err;
        CHECK(mf_gs_read(file, &cb, NULL, &err) != 0);
        CHECK(strstr(err.msg, "points to 0x9000000, which is in no object") != NULL);
        if (t == 1)
            snprintf(msg1, sizeof msg1, "%s", err.msg);
        else
            CHECK_STR_EQ(err.msg, msg1);
    }
}

/* Faults write_tiny_maps puts in the maps it names (UINT64_MAX: none):
 * a value that points into no object; a header count of 2 for the one
 * entry (two maps). */
static struct {
    uint64_t bad_value, bad_count, bad_count2;
} tiny_fault = {UINT64_MAX, UINT64_MAX, UINT64_MAX};

/* NM maps of one entry each, a header, a bucket array and a value each:
 * a bucket batch of a few dozen bytes a map. */
static int write_tiny_maps(const char *file, uint64_t nm)
{
    mf_gs_header h = {.program = "tiny", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(file, MF_GS_RAW, &h, &err);
    if (!w) return -1;
    for (uint64_t k = 0; k < nm; k++) {
        mf_gsw_object(w, 0x100000 + k * 256, 48, 0);
        mf_gsw_object(w, 0x100000 + k * 256 + 64, 144, 0);
        mf_gsw_object(w, 0x100000 + k * 256 + 208, 16, 0);
    }
    for (uint64_t k = 0; k < nm; k++) {
        uint64_t a = 0x100000 + k * 256, o[1] = {16}, t[1] = {a + 64}, vo[1] = {72},
                 vt[1] = {a + 208};
        mf_gsw_edges(w, a, 1, o, t);
        mf_gsw_edges(w, a + 64, 1, vo, vt);
        mf_gsw_edges(w, a + 208, 0, NULL, NULL);
    }
    for (uint64_t k = 0; k < nm; k++) {
        uint64_t a = 0x100000 + k * 256;
        mf_gs_map m = {.address = a,
                       .type_name = "map[int64]*T",
                       .key_kind = MF_GS_KEY_INT64,
                       .count = k == tiny_fault.bad_count || k == tiny_fault.bad_count2 ? 2 : 1,
                       .B = 0,
                       .buckets = a + 64,
                       .bucket_size = 144,
                       .key_size = 8,
                       .value_size = 8,
                       .nbuckets_walked = 1,
                       .nentries = 1};
        mf_gsw_map(w, &m);
        mf_gsw_bucket(w, a + 64, false, 0, 0, 0x01);
        uint64_t v = k == tiny_fault.bad_value ? 0x9000000 : a + 208;
        mf_gs_entry e = {.slot = 0, .tophash = 9, .key_int = (int64_t)k, .value_object = v};
        mf_gsw_entry(w, &e);
    }
    int rc = mf_gsw_finish(w, NULL, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return rc;
}

/* The bucket batches seen, and how many came on a thread other than the
 * one that reads. */
typedef struct on_thread {
    pthread_t reader;
    uint64_t batches, elsewhere, entries;
} on_thread;

static int count_threads(void *ud, const mf_gs_reader *r, const mf_gs_map *m, const mf_gs_bucket *b,
                         size_t nb, const mf_gs_entry *e, size_t ne, mf_error *err)
{
    (void)r, (void)m, (void)b, (void)nb, (void)e, (void)err;
    on_thread *s = ud;
    s->batches++;
    s->entries += ne;
    if (!pthread_equal(pthread_self(), s->reader)) s->elsewhere++;
    return 0;
}

/* The buckets of a map of a few entries are decoded on the reading thread,
 * however many threads decode: each Map record waits for the batches
 * before it, and handing a batch of a few dozen bytes to a thread costs a
 * wake-up and a wait a map, more than the decoding (a heap of millions of
 * tiny maps was read twice as slowly on two threads as on one). */
static void small_bucket_batches_are_decoded_on_the_reading_thread(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/tiny.gcstack", dir);
    CHECK(write_tiny_maps(file, 2000) == 0);
    on_thread s = {.reader = pthread_self()};
    mf_gs_callbacks cb = {.ud = &s, .on_buckets = count_threads, .threads = 2};
    mf_error err;
    CHECK(mf_gs_read(file, &cb, NULL, &err) == 0);
    CHECK_EQ_U64(s.entries, 2000);
    CHECK_EQ_U64(s.batches, 2000);
    CHECK_EQ_U64(s.elsewhere, 0);
}

/* Reads file with t threads: 0 or -1, the digest of the bucket batches
 * and the message. */
static int read_tiny(const char *file, unsigned t, digest *d, char *msg, size_t size)
{
    *d = (digest){0};
    mf_gs_callbacks cb = {.ud = d, .on_buckets = d_buckets, .threads = t};
    mf_error err;
    int rc = mf_gs_read(file, &cb, NULL, &err);
    snprintf(msg, size, "%s", rc ? err.msg : "");
    return rc;
}

/* A heap of tiny maps reads the same on one thread and on two (whose
 * small batches are decoded at once on the reader while none is in
 * flight): the same batches, and for a broken map the same message; of
 * two maps whose header's count is not their entries', the first in the
 * file is named. */
static void tiny_maps_read_alike_on_one_thread_and_two(void)
{
    char file[300], m1[sizeof((mf_error *)0)->msg], m2[sizeof m1];
    snprintf(file, sizeof file, "%s/tiny-faults.gcstack", dir);
    struct {
        uint64_t bad_value, bad_count, bad_count2;
        const char *want;
    } cases[] = {
        {UINT64_MAX, UINT64_MAX, UINT64_MAX, NULL},
        {700, UINT64_MAX, UINT64_MAX, "map 700 bucket[0] slot 0 value points to 0x9000000"},
        {UINT64_MAX, 900, UINT64_MAX, "map 900 (map[int64]*T at 0x138400): its header counts 2"},
        {UINT64_MAX, 900, 300, "map 300 (map[int64]*T at 0x112c00): its header counts 2"},
        {UINT64_MAX, 300, 900, "map 300 (map[int64]*T at 0x112c00): its header counts 2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        tiny_fault.bad_value = cases[c].bad_value;
        tiny_fault.bad_count = cases[c].bad_count;
        tiny_fault.bad_count2 = cases[c].bad_count2;
        CHECK(write_tiny_maps(file, 1000) == 0);
        digest d1, d2;
        int rc1 = read_tiny(file, 1, &d1, m1, sizeof m1);
        int rc2 = read_tiny(file, 2, &d2, m2, sizeof m2);
        CHECK(rc1 == rc2);
        CHECK_STR_EQ(m1, m2);
        CHECK_EQ_U64(d1.h, d2.h);
        CHECK_EQ_U64(d1.entries, d2.entries);
        if (!cases[c].want) {
            CHECK(rc1 == 0);
            CHECK_EQ_U64(d1.entries, 1000);
        } else {
            CHECK(rc1 != 0);
            if (!strstr(m1, cases[c].want)) fprintf(stderr, "got: %s\n", m1);
            CHECK(strstr(m1, cases[c].want) != NULL);
        }
    }
    tiny_fault.bad_value = tiny_fault.bad_count = tiny_fault.bad_count2 = UINT64_MAX;
}

/* Is map k of write_tiny_and_big_maps(.., nm, every) a big one? */
static bool big_map(uint64_t k, uint64_t nm, uint64_t every)
{
    return k == nm || (every && k % every == every - 1);
}

/* Where map k's header is: tiny maps take 256 bytes, big ones their
 * array of 256 buckets after a 64-byte header. */
static uint64_t map_at(uint64_t k, uint64_t nm, uint64_t every)
{
    uint64_t a = 0x100000;
    for (uint64_t i = 0; i < k; i++) a += big_map(i, nm, every) ? 64 + 256 * 144 : 256;
    return a;
}

/* Writes nm + 1 maps: tiny ones (as write_tiny_maps) and, as the last and
 * (every > 0) as every every-th, one of 256 buckets of 8 entries each,
 * whose batches are big enough for the decoding threads (not decoded on
 * the reading thread). */
static int write_tiny_and_big_maps(const char *file, uint64_t nm, uint64_t every)
{
    mf_gs_header h = {.program = "tiny", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(file, MF_GS_RAW, &h, &err);
    if (!w) return -1;
    for (uint64_t k = 0, a = 0x100000; k <= nm; a = map_at(++k, nm, every)) {
        mf_gsw_object(w, a, 48, 0);
        mf_gsw_object(w, a + 64, big_map(k, nm, every) ? 256 * 144 : 144, 0);
    }
    for (uint64_t k = 0, a = 0x100000; k <= nm; a = map_at(++k, nm, every)) {
        uint64_t o[1] = {16}, t[1] = {a + 64};
        mf_gsw_edges(w, a, 1, o, t);
        mf_gsw_edges(w, a + 64, 0, NULL, NULL);
    }
    for (uint64_t k = 0, a = 0x100000; k <= nm; a = map_at(++k, nm, every)) {
        bool big = big_map(k, nm, every);
        uint64_t nb = big ? 256 : 1;
        mf_gs_map m = {.address = a,
                       .type_name = "map[int64]int64",
                       .key_kind = MF_GS_KEY_INT64,
                       .count = nb * 8,
                       .B = big ? 8 : 0,
                       .buckets = a + 64,
                       .bucket_size = 144,
                       .key_size = 8,
                       .value_size = 8,
                       .nbuckets_walked = nb,
                       .nentries = nb * 8};
        mf_gsw_map(w, &m);
        for (uint64_t b = 0; b < nb; b++) {
            mf_gsw_bucket(w, a + 64 + b * 144, false, 0, b, 0xff);
            for (uint32_t s = 0; s < 8; s++) {
                mf_gs_entry e = {.slot = s, .tophash = 9, .key_int = (int64_t)(b * 8 + s)};
                mf_gsw_entry(w, &e);
            }
        }
    }
    int rc = mf_gsw_finish(w, NULL, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return rc;
}

/* Rewrites the raw snapshot at file with map `which`'s Map record
 * announcing one bucket more than its batches hold, the footer's CRC made
 * right again: only the footer's check of every map finds it. */
static int announce_one_bucket_more(const char *file, uint64_t which)
{
    FILE *f = fopen(file, "rb");
    if (!f) return -1;
    uint8_t *b = malloc(1 << 24);
    size_t n = b ? fread(b, 1, 1 << 24, f) : 0;
    fclose(f);
    FILE *o = b && n < (1 << 24) ? fopen(file, "wb") : NULL;
    if (!o) {
        free(b);
        return -1;
    }
    uint32_t crc = (uint32_t)crc32(0, NULL, 0);
    uint64_t maps = 0;
    int rc = -1;
    for (size_t off = 0; off < n;) {
        uint64_t len;
        const uint8_t *p = mf_get_varint(b + off, b + n, &len);
        if (!p || len > (uint64_t)(b + n - p)) break;
        Maproot__Gcstack__Record *rec = maproot__gcstack__record__unpack(NULL, len, p);
        if (!rec) break;
        off = (size_t)(p - b) + len;
        if (rec->kind_case == MAPROOT__GCSTACK__RECORD__KIND_MAP && maps++ == which)
            rec->map->nbuckets_walked++;
        bool footer = rec->kind_case == MAPROOT__GCSTACK__RECORD__KIND_FOOTER;
        if (footer) rec->footer->crc32 = crc;
        size_t m = maproot__gcstack__record__get_packed_size(rec);
        uint8_t *q = malloc(m + 10), *e = q ? mf_put_varint(q, m) : NULL;
        if (q) maproot__gcstack__record__pack(rec, e);
        maproot__gcstack__record__free_unpacked(rec, NULL);
        if (!q) break;
        size_t all = (size_t)(e - q) + m;
        fwrite(q, 1, all, o);
        if (!footer) crc = (uint32_t)crc32(crc, q, (uInt)all);
        free(q);
        if (footer) rc = 0;
    }
    fclose(o);
    free(b);
    return rc;
}

/* Reads file on one thread and on two: refused with a message holding
 * want, or (want NULL) read, with `entries` entries when not UINT64_MAX. */
static void reads_or_refuses(const char *file, const char *want, uint64_t entries)
{
    char msg[sizeof((mf_error *)0)->msg];
    for (unsigned t = 1; t <= 2; t++) {
        digest d;
        int rc = read_tiny(file, t, &d, msg, sizeof msg);
        if (!want) {
            if (rc) fprintf(stderr, "%s\n", msg);
            CHECK(rc == 0);
            if (entries != UINT64_MAX) CHECK_EQ_U64(d.entries, entries);
        } else {
            CHECK(rc != 0);
            if (!strstr(msg, want)) fprintf(stderr, "got: %s\n", msg);
            CHECK(strstr(msg, want) != NULL);
        }
    }
}

/* The footer checks that every map got the buckets and entries its Map
 * record announces, whether its batches were decoded on the reading
 * thread (tiny maps) or by the decoding threads (the big one): a map
 * short of one bucket is named, on one thread and on two; a file where
 * none is short reads. */
static void a_map_short_of_its_buckets_is_named_by_the_footer(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/short.gcstack", dir);
    struct {
        uint64_t which;
        const char *want;
    } cases[] = {
        {UINT64_MAX, NULL},
        {300, "map 300 (map[int64]int64 at 0x112c00): 1 buckets and 8 entries listed, its Map "
              "record says 2 and 8"},
        {0, "map 0 (map[int64]int64 at 0x100000): 1 buckets"},
        {1000, "map 1000 (map[int64]int64 at 0x13e800): 256 buckets and 2048 entries listed, "
               "its Map record says 257 and 2048"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        CHECK(write_tiny_and_big_maps(file, 1000, 0) == 0);
        CHECK(announce_one_bucket_more(file, cases[c].which) == 0);
        reads_or_refuses(file, cases[c].want, 1000 * 8 + 2048);
    }
}

/* Tiny maps between big ones: the reader hands the big maps' batches to
 * the decoding threads and reads the tiny ones' itself, taking the
 * batches' bookkeeping back at each Map record and giving it over at the
 * next big batch. The same batches on one thread and on two, and a map
 * short of a bucket named by the footer whether it comes right after a
 * big map, is one, or is the last. */
static void tiny_and_big_maps_in_turn_read_alike(void)
{
    char file[300], m1[sizeof((mf_error *)0)->msg], m2[sizeof m1];
    snprintf(file, sizeof file, "%s/turns.gcstack", dir);
    const uint64_t nm = 300, every = 7;
    uint64_t entries = 0;
    for (uint64_t k = 0; k <= nm; k++) entries += big_map(k, nm, every) ? 2048 : 8;
    CHECK(write_tiny_and_big_maps(file, nm, every) == 0);
    digest d1, d2;
    CHECK(read_tiny(file, 1, &d1, m1, sizeof m1) == 0);
    CHECK(read_tiny(file, 2, &d2, m2, sizeof m2) == 0);
    CHECK_EQ_U64(d1.h, d2.h);
    CHECK_EQ_U64(d1.entries, entries);
    CHECK_EQ_U64(d2.entries, entries);
    const uint64_t which[] = {7, 13, 14, 299, 300};
    for (size_t c = 0; c < sizeof which / sizeof *which; c++) {
        uint64_t k = which[c], nb = big_map(k, nm, every) ? 256 : 1;
        char want[160];
        snprintf(want, sizeof want,
                 "map %llu (map[int64]int64 at 0x%llx): %llu buckets and %llu entries listed, "
                 "its Map record says %llu and %llu",
                 (unsigned long long)k, (unsigned long long)map_at(k, nm, every),
                 (unsigned long long)nb, (unsigned long long)nb * 8, (unsigned long long)nb + 1,
                 (unsigned long long)nb * 8);
        CHECK(write_tiny_and_big_maps(file, nm, every) == 0);
        CHECK(announce_one_bucket_more(file, k) == 0);
        reads_or_refuses(file, want, UINT64_MAX);
    }
}

/* A map's geometry made wrong: its header or bucket array pointer off an
 * object's start by `off`, or its array `B` and bucket size asking for
 * more than the array object holds. */
typedef struct geometry {
    uint64_t hdr_off, arr_off, B, bucket_size;
} geometry;

/* Writes 3 tiny maps, map 1 with geometry g; odd: each map has a third
 * object of 17 bytes (granules of a byte: the reader's page index, not
 * the rank index). */
static int write_geometry(const char *file, const geometry *g, bool odd)
{
    mf_gs_header h = {.program = "geo", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(file, MF_GS_RAW, &h, &err);
    if (!w) return -1;
    for (uint64_t k = 0; k < 3; k++) {
        mf_gsw_object(w, 0x100000 + k * 256, 48, 0);
        mf_gsw_object(w, 0x100000 + k * 256 + 64, 144, 0);
        if (odd) mf_gsw_object(w, 0x100000 + k * 256 + 208, 17, 0);
    }
    for (uint64_t k = 0; k < 3; k++) {
        mf_gsw_edges(w, 0x100000 + k * 256, 0, NULL, NULL);
        mf_gsw_edges(w, 0x100000 + k * 256 + 64, 0, NULL, NULL);
        if (odd) mf_gsw_edges(w, 0x100000 + k * 256 + 208, 0, NULL, NULL);
    }
    for (uint64_t k = 0; k < 3; k++) {
        uint64_t a = 0x100000 + k * 256;
        mf_gs_map m = {.address = a + (k == 1 ? g->hdr_off : 0),
                       .type_name = "map[int64]int64",
                       .key_kind = MF_GS_KEY_INT64,
                       .B = k == 1 ? (uint32_t)g->B : 0,
                       .buckets = a + 64 + (k == 1 ? g->arr_off : 0),
                       .bucket_size = k == 1 ? g->bucket_size : 144,
                       .key_size = 8,
                       .value_size = 8};
        mf_gsw_map(w, &m);
    }
    int rc = mf_gsw_finish(w, NULL, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    return rc;
}

/* A map's header and bucket arrays must start objects, and the arrays
 * hold their buckets: refused alike whether the reader found the objects
 * with the rank index (dense heap) or the page index (odd sizes), an
 * array's end falling in the next object, in a gap or past the heap. */
static void map_geometry_is_checked_with_either_index(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/geo.gcstack", dir);
    struct {
        geometry g;
        const char *want;
    } cases[] = {
        {{0, 0, 0, 144}, NULL},
        {{0, 0, 0, 136}, NULL}, /* rounded up by the allocator: fits */
        {{8, 0, 0, 144}, "map 1: header 0x100108 is not the start of an object"},
        {{0, 8, 0, 144}, "map 1: its bucket array 0x100148 is not the start of an object"},
        {{0, 0, 1, 144}, "its bucket array of 2 buckets of 144 bytes does not fit its object of 144"},
        {{0, 0, 0, 145}, "its bucket array of 1 buckets of 145 bytes does not fit its object of 144"},
        {{0, 0, 0, 152}, "its bucket array of 1 buckets of 152 bytes does not fit its object of 144"},
        {{0, 0, 40, 144}, "does not fit its object of 144"},
    };
    for (int odd = 0; odd <= 1; odd++)
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            CHECK(write_geometry(file, &cases[c].g, odd) == 0);
            reads_or_refuses(file, cases[c].want, UINT64_MAX);
        }
}

/* The heaps the reader resolves pointers in: RN objects at 8-byte aligned
 * addresses with gaps, sizes multiples of 8 ("dense": the rank index), some
 * of odd sizes (byte granules: the page index), or in two mappings 2^40
 * bytes apart (too sparse for the rank index: the page index). */
enum { RN = 3000 };
enum heap_kind { H_DENSE, H_ODD, H_SPARSE };
static uint64_t rh_addr[RN], rh_size[RN];

static void make_resolve_heap(enum heap_kind k)
{
    uint64_t a = 0xc000000000, x = 12345;
    for (size_t i = 0; i < RN; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        if (k == H_SPARSE && i == RN / 2) a += (uint64_t)1 << 40;
        if ((x >> 60) < 4) a += 8 * (1 + (x >> 20) % 6); /* a gap */
        rh_addr[i] = a;
        rh_size[i] = 8 * (1 + (x >> 33) % 8) + (k == H_ODD && (x >> 50) % 3 == 0 ? 3 : 0);
        if ((x >> 40) % 97 == 0) rh_size[i] = 8 * 600; /* spans several groups */
        a = (a + rh_size[i] + 7) / 8 * 8;
    }
}

/* The pointers an object's edges point to, and the objects they are in:
 * the first, middle and last granules of other objects. */
static uint64_t edge_ptr(size_t i, size_t j, uint64_t *obj)
{
    size_t t = (i * 7919 + j * 104729) % RN;
    *obj = t;
    uint64_t last = (rh_addr[t] + rh_size[t] - 1) / 8 * 8;
    return j == 0 ? rh_addr[t] : j == 1 ? last : rh_addr[t] + (rh_size[t] / 16) * 8;
}

/* Writes the heap with 3 edges an object (objects of 8 bytes: 1), the
 * edge of object bad_obj, if any, pointing to bad_ptr instead. */
static int write_resolve_heap(const char *file, size_t bad_obj, uint64_t bad_ptr)
{
    mf_gs_header h = {.program = "resolve", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(file, MF_GS_RAW, &h, &err);
    if (!w) return -1;
    for (size_t i = 0; i < RN; i++) mf_gsw_object(w, rh_addr[i], rh_size[i], 0);
    for (size_t i = 0; i < RN; i++) {
        uint64_t o[3] = {0, 8, 16}, t[3], obj;
        size_t n = rh_size[i] >= 24 ? 3 : 1;
        for (size_t j = 0; j < n; j++) t[j] = edge_ptr(i, j, &obj);
        if (i == bad_obj) t[0] = bad_ptr;
        mf_gsw_edges(w, rh_addr[i], n, o, t);
    }
    return mf_gsw_finish(w, NULL, &err);
}

/* The truth, by a walk of the heap from object i, which a is near: the
 * object holding a, or MF_GS_NONE. */
static uint64_t rh_holder(size_t i, uint64_t a)
{
    while (i > 0 && rh_addr[i] > a) i--;
    while (i + 1 < RN && rh_addr[i + 1] <= a) i++;
    return rh_addr[i] <= a && a - rh_addr[i] < rh_size[i] ? i : MF_GS_NONE;
}

typedef struct resolved {
    uint64_t edges, wrong, found_wrong;
    bool probed;
} resolved;

/* Checks every edge target against the object it was written to, and,
 * the first time, mf_gs_find_object at every object's boundaries. */
static int rs_edges(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                    const uint32_t *counts, size_t ne, const uint64_t *offs, const uint64_t *tg,
                    mf_error *err)
{
    (void)offs, (void)err;
    resolved *s = ud;
    size_t e = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < counts[i]; j++, e++) {
            uint64_t obj;
            edge_ptr(first + i, j, &obj);
            if (tg[e] != obj) s->wrong++;
        }
    s->edges += ne;
    if (!s->probed) {
        s->probed = true;
        for (size_t i = 0; i < RN; i++) {
            uint64_t a = rh_addr[i], end = a + rh_size[i];
            uint64_t at[] = {a - 1, a, a + 1, a + rh_size[i] / 2, end - 1, end, end + 7};
            for (size_t k = 0; k < sizeof at / sizeof *at; k++)
                if (mf_gs_find_object(r, at[k]) != rh_holder(i, at[k])) s->found_wrong++;
        }
    }
    return 0;
}

/* Every edge target resolves to the object it points into -- at the
 * first, middle and last granule of objects, across gaps and objects
 * spanning many index groups, on dense, odd-sized and sparse heaps, on
 * one thread and on several -- and mf_gs_find_object agrees with a walk
 * of the heap at every object's boundaries. A pointer before the first
 * object, into a gap, past the last object or at 0 is refused, naming the
 * edge. */
static void pointers_resolve_to_the_objects_they_point_into(void)
{
    char file[300];
    snprintf(file, sizeof file, "%s/resolve.gcstack", dir);
    for (int k = H_DENSE; k <= H_SPARSE; k++) {
        make_resolve_heap((enum heap_kind)k);
        CHECK(write_resolve_heap(file, SIZE_MAX, 0) == 0);
        for (unsigned t = 1; t <= 2; t++) {
            resolved s = {0};
            mf_gs_callbacks cb = {.ud = &s, .on_edges = rs_edges, .threads = t};
            mf_error err;
            int rc = mf_gs_read(file, &cb, NULL, &err);
            if (rc) fprintf(stderr, "%s\n", err.msg);
            CHECK(rc == 0);
            CHECK(s.edges > 2 * RN);
            CHECK_EQ_U64(s.wrong, 0);
            CHECK_EQ_U64(s.found_wrong, 0);
        }
        /* a gap: after an object whose end is followed by one */
        size_t g = 0;
        while (g + 1 < RN && (rh_addr[g] + rh_size[g] + 7) / 8 * 8 == rh_addr[g + 1]) g++;
        CHECK(g + 1 < RN);
        uint64_t bad[] = {rh_addr[0] - 8, rh_addr[g] + rh_size[g] + 7,
                          rh_addr[RN - 1] + rh_size[RN - 1] + 8, 0};
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
            uint64_t p = bad[b] / 8 * 8; /* what the file keeps */
            CHECK_EQ_U64(rh_holder(0, p), MF_GS_NONE);
            CHECK(write_resolve_heap(file, 7, p) == 0);
            char want[200];
            snprintf(want, sizeof want,
                     "edge at offset 0 of object 7 (0x%" PRIx64 ") points to 0x%" PRIx64
                     ", which is in no object",
                     rh_addr[7], p);
            for (unsigned t = 1; t <= 2; t++) {
                mf_gs_callbacks cb = {.threads = t};
                mf_error err;
                CHECK(mf_gs_read(file, &cb, NULL, &err) != 0);
                if (!strstr(err.msg, want)) fprintf(stderr, "%s\n", err.msg);
                CHECK(strstr(err.msg, want) != NULL);
            }
        }
    }
}

/* The object count in the header's runtime statistics is only a hint for
 * the room the reader makes: fewer, as many, more and absurdly many all
 * read back the same objects, on one thread and on several (where the
 * pages of the object columns are faulted in ahead: enough objects for
 * that). */
static void header_object_count_is_only_a_hint(void)
{
    enum { N = 2300000 }; /* past the 2^21 objects where faulting ahead begins */
    char file[300];
    snprintf(file, sizeof file, "%s/hint.gcstack", dir);
    /* none (room by doubling); fewer (faulting ahead stops, the columns
     * move); as many; more than the file could hold */
    const uint64_t hints[] = {0, N - 100000, N, (uint64_t)1 << 40};
    for (size_t k = 0; k < sizeof hints / sizeof *hints; k++) {
        mf_gs_header h = {.program = "hint", .pointer_size = 8};
        h.memstats.heap_objects = hints[k];
        mf_error err;
        mf_gs_writer *w = mf_gsw_open(file, MF_GS_RAW, &h, &err);
        CHECK(w != NULL);
        if (!w) return;
        for (uint64_t i = 0; i < N; i++) mf_gsw_object(w, 0x100000 + i * 32, 16 + (i % 3) * 8, 0);
        for (uint64_t i = 0; i < N; i++) mf_gsw_edges(w, 0x100000 + i * 32, 0, NULL, NULL);
        int wrc = mf_gsw_finish(w, NULL, &err);
        if (wrc) fprintf(stderr, "%s\n", err.msg);
        CHECK(wrc == 0);
        for (unsigned t = 1; t <= 2; t++) {
            mf_gs_callbacks cb = {.threads = t};
            mf_gs_reader *r = NULL;
            int rc = mf_gs_read(file, &cb, &r, &err);
            if (rc) fprintf(stderr, "%s\n", err.msg);
            CHECK(rc == 0);
            if (rc) continue;
            CHECK_EQ_U64(mf_gs_nobjects(r), N);
            const uint64_t *a = mf_gs_object_addresses(r), *sz = mf_gs_object_sizes(r);
            size_t bad = 0;
            for (uint64_t i = 0; i < N; i++)
                bad += a[i] != 0x100000 + i * 32 || sz[i] != 16 + (i % 3) * 8;
            CHECK_EQ_U64(bad, 0);
            mf_gs_reader_free(r);
        }
    }
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/t.gcstack.gz", dir);
    TEST(round_trip_gives_back_every_record);
    TEST(protoc_c_decodes_every_record);
    TEST(version_2_runs_increments_and_stored_gzip_read_back);
    TEST(unknown_fields_and_records_are_skipped);
    TEST(footer_crc_is_checked_from_the_input_crc);
    TEST(contradictions_are_refused_with_record_numbers);
    TEST(truncation_and_corruption_are_refused);
    TEST(writer_refuses_calls_out_of_order);
    TEST(an_object_with_more_edges_than_a_record_holds_reads_back);
    TEST(edge_batches_split_at_the_byte_bound);
    TEST(reader_takes_the_longest_record_and_refuses_a_longer_one);
    TEST(a_continued_object_must_go_on_in_order);
    TEST(long_strings_and_keys_are_cut_and_huge_types_refused);
    TEST(long_map_keys_are_cut);
    TEST(batches_decoded_on_threads_come_back_in_order);
    TEST(small_bucket_batches_are_decoded_on_the_reading_thread);
    TEST(tiny_maps_read_alike_on_one_thread_and_two);
    TEST(a_map_short_of_its_buckets_is_named_by_the_footer);
    TEST(tiny_and_big_maps_in_turn_read_alike);
    TEST(map_geometry_is_checked_with_either_index);
    TEST(header_object_count_is_only_a_hint);
    TEST(pointers_resolve_to_the_objects_they_point_into);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_EXIT();
}
