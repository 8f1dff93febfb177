/*
 * src/analyze/load_gcstack.c -- gcstack snapshot -> heap graph.
 */
#include "analyze/load_gcstack.h"

#include "analyze/display_path.h"
#include "analyze/parallel.h"
#include "analyze/timing.h"

#include "format/bits.h"
#include "format/gcstack_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the analysis of a snapshot holds per object, per edge and per map
 * entry at its peak (the packed graph, paths, dominators, findings): the
 * estimate mp_load_gcstack_in checks the limit against. Per object: 12 in
 * the graph and 8 for its edges' two directions, 12 for the paths, 20 for
 * the dominator tree, and what the reading and the findings hold beside
 * them; per edge its two directions; an entry is packed, a few bytes (past
 * 64 MiB in a file). Measured peaks (release build, bench/gen_snapshot):
 * maps at 10M objects 79.2 bytes an object (estimate 82), at 100M 74.6;
 * service at 10M 68.3 (estimate 71.3); at 1M objects the peak is the
 * reading's and the program's, a little above the estimate. */
#define BYTES_PER_OBJECT 62u
#define BYTES_PER_EDGE 8u
#define BYTES_PER_ENTRY 4u

typedef struct loader {
    mp_graph_builder *b;
    const char *path;
    const mf_limits *lim;
    uint64_t nedges, nentries;
    FILE *progress;
    uint64_t expect_objects, next_progress;
    size_t ntypes, nstacks; /* reader tables already copied */
    size_t nobjects;
    bool edges_begun;
    uint64_t *samples; /* object << 32 | stack, applied once the objects are in */
    size_t nsamples, cap_samples;
    /* the last map's type name as the reader holds it (one pointer per
     * name in its string table) and its sid: maps of one type come in
     * runs, and a heap of millions of small maps would hash the same name
     * for each */
    const char *map_type_name;
    mp_sid map_type_sid;
    bool oom;
} loader;

static uint32_t obj_ref(uint64_t i)
{
    return i == MF_GS_NONE || i >= UINT32_MAX ? MP_NONE : (uint32_t)i;
}

static mp_type_kind type_kind(uint32_t k)
{
    switch (k) {
    case MF_GS_KIND_STRUCT:
        return MP_TYPE_STRUCT;
    case MF_GS_KIND_ARRAY:
        return MP_TYPE_ARRAY;
    case MF_GS_KIND_BLOB:
        return MP_TYPE_BLOB;
    case MF_GS_KIND_STRING:
        return MP_TYPE_STRING;
    case MF_GS_KIND_MAP_HEADER:
        return MP_TYPE_MAP_HEADER;
    case MF_GS_KIND_BUCKET:
        return MP_TYPE_BUCKET;
    case MF_GS_KIND_RUNTIME:
        return MP_TYPE_RUNTIME;
    default:
        return MP_TYPE_OTHER;
    }
}

static mp_root_kind root_kind(uint32_t k)
{
    switch (k) {
    case MF_GS_ROOT_GLOBAL:
        return MP_ROOT_GLOBAL;
    case MF_GS_ROOT_STACK:
        return MP_ROOT_STACK;
    case MF_GS_ROOT_REGISTER:
        return MP_ROOT_REGISTER;
    case MF_GS_ROOT_PIN:
        return MP_ROOT_PIN;
    case MF_GS_ROOT_ITERATOR:
        return MP_ROOT_ITERATOR;
    case MF_GS_ROOT_RUNTIME:
        return MP_ROOT_RUNTIME;
    default:
        return MP_ROOT_OTHER;
    }
}

static mp_key_kind key_kind(uint32_t k)
{
    switch (k) {
    case MF_GS_KEY_INT64:
        return MP_KEY_INT;
    case MF_GS_KEY_PTR:
        return MP_KEY_PTR;
    case MF_GS_KEY_STRING:
        return MP_KEY_STRING;
    case MF_GS_KEY_BYTES:
        return MP_KEY_BYTES;
    default:
        return MP_KEY_OTHER;
    }
}

/* A symbol's function, or for a program without symbols (stripped) its
 * address, so that reports name the place anyway. */
static const char *function_of(const mf_gs_symbol *s, char *buf, size_t size)
{
    if ((s->function && *s->function) || !s->address) return s->function;
    snprintf(buf, size, "0x%llx", (unsigned long long)s->address);
    return buf;
}

/* The reader's tables grow as the file goes; the graph's copies keep the
 * same indices, so each is brought up to date before a record uses it. */
static void sync_tables(loader *L, const mf_gs_reader *r)
{
    for (; L->ntypes < mf_gs_ntypes(r); L->ntypes++) {
        const mf_gs_type *t = mf_gs_type_at(r, (uint32_t)L->ntypes);
        uint32_t ix = mp_gb_type(L->b, t->name, t->size, type_kind(t->kind));
        /* a type lists every pointer field: none listed, none there */
        mp_gb_type_pointers(L->b, ix, t->nptrs ? MP_PTRS_SOME : MP_PTRS_NONE);
    }
    for (; L->nstacks < mf_gs_nstacks(r); L->nstacks++) {
        size_t n;
        const uint32_t *syms = mf_gs_stack_at(r, (uint32_t)L->nstacks, &n);
        mp_gframe fr[256];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof fr / sizeof *fr; i++) {
            if (syms[i] >= mf_gs_nsymbols(r)) continue;
            const mf_gs_symbol *s = mf_gs_symbol_at(r, syms[i]);
            char file[1024], fn[32];
            mp_display_path(s->file, file, sizeof file);
            fr[k++] = mp_gb_frame(L->b, function_of(s, fn, sizeof fn), file, s->line);
        }
        mp_gb_stack(L->b, fr, k);
    }
}

static int on_header(void *ud, const mf_gs_reader *r, const mf_gs_header *h, mf_error *err)
{
    (void)r, (void)err;
    loader *L = ud;
    mp_gb_set_info(L->b, h->program, h->pid, h->time_nanos, h->gc_cycle, h->pointer_size,
                   h->profile_rate, h->memstats.heap_alloc);
    mp_gb_set_pause(L->b, h->pause.pause_ns);
    mp_gb_set_build_id(L->b, h->build_id);
    L->expect_objects = h->memstats.heap_objects;
    return 0;
}

/* Fails once what is read so far would need more memory than allowed.
 * Called for every batch, which on a heap of tiny maps is a batch per
 * map: the message is written only when the limit is passed. */
static int over_limit(loader *L, mf_error *err)
{
    uint64_t need = (uint64_t)L->nobjects * BYTES_PER_OBJECT + L->nedges * BYTES_PER_EDGE +
                    L->nentries * BYTES_PER_ENTRY;
    if (!mf_limit_passed(L->lim, need)) return 0;
    char what[96];
    snprintf(what, sizeof what, "its %zu objects, %llu edges and %llu map entries so far",
             L->nobjects, (unsigned long long)L->nedges, (unsigned long long)L->nentries);
    return mf_limit_check(L->lim, need, L->path, what, err);
}

static int on_objects(void *ud, const mf_gs_reader *r, uint64_t first, size_t n, mf_error *err)
{
    loader *L = ud;
    sync_tables(L, r);
    /* the objects themselves are taken over from the reader at the end
     * (mp_load_gcstack): the reader needs them until then, and two copies
     * of the biggest arrays would set the peak memory */
    L->nobjects = first + n;
    if (over_limit(L, err)) return -1;
    if (L->progress && L->nobjects >= L->next_progress) {
        if (L->expect_objects > L->nobjects)
            fprintf(L->progress, "\rmaproot: loading %s: %zu of ~%llu objects", L->path,
                    L->nobjects, (unsigned long long)L->expect_objects);
        else
            fprintf(L->progress, "\rmaproot: loading %s: %zu objects", L->path, L->nobjects);
        fflush(L->progress);
        L->next_progress = L->nobjects + 500000;
    }
    (void)err;
    return 0;
}

static int on_edges(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                    const uint32_t *counts, size_t nedges, const uint64_t *offsets,
                    const uint64_t *targets, mf_error *err)
{
    loader *L = ud;
    L->nedges += nedges;
    if (over_limit(L, err)) return -1;
    if (!L->edges_begun) {
        /* the objects are complete: the edges go straight into the graph's
         * lists, object by object (an object the last batch left
         * unfinished goes on) */
        mp_gb_edges_begin(L->b, mf_gs_nobjects(r));
        L->edges_begun = true;
    }
    mp_gb_edges_batch(L->b, (uint32_t)first, n, counts, targets, offsets);
    return 0;
}

static int on_root(void *ud, const mf_gs_reader *r, const mf_gs_root *root, mf_error *err)
{
    (void)err;
    loader *L = ud;
    mp_root x = {.kind = (uint8_t)root_kind(root->kind),
                 .line = root->line,
                 .thread = root->thread,
                 .frame = root->frame,
                 .slot = root->slot,
                 .has_frame_offset = root->frame_offset != 0,
                 .frame_offset = root->frame_offset ? root->frame_offset - 1 : 0,
                 .tls_offset = root->tls_offset,
                 .target = obj_ref(root->target)};
    char file[1024], addr[32];
    x.name = mp_gb_intern(L->b, root->name);
    x.file = mp_gb_intern(L->b, mp_display_path(root->file, file, sizeof file));
    const char *fn = root->function;
    if (root->symbol && root->symbol - 1 < mf_gs_nsymbols(r)) {
        const mf_gs_symbol *s = mf_gs_symbol_at(r, root->symbol - 1);
        if (s->function && *s->function)
            fn = s->function;
        else if (!fn || !*fn)
            fn = function_of(s, addr, sizeof addr);
        if ((!root->file || !*root->file) && s->file) {
            x.file = mp_gb_intern(L->b, mp_display_path(s->file, file, sizeof file));
            x.line = s->line;
        }
    }
    x.function = mp_gb_intern(L->b, fn);
    if (*root->tls_module) {
        x.tls_module = mp_gb_intern(L->b, root->tls_module);
        x.tls_variable = mp_gb_intern(L->b, root->tls_variable);
    }
    if (x.target != MP_NONE) mp_gb_root(L->b, &x, 0);
    return 0;
}

static int on_map(void *ud, const mf_gs_reader *r, const mf_gs_map *m, mf_error *err)
{
    loader *L = ud;
    sync_tables(L, r);
    if (m->type_name != L->map_type_name) { /* the first: NULL, sid 0 */
        L->map_type_sid = mp_gb_intern(L->b, m->type_name);
        L->map_type_name = m->type_name;
    }
    mp_map x = {.header = obj_ref(m->object),
                .address = m->address,
                .type_name = L->map_type_sid,
                .key_kind = (uint8_t)key_kind(m->key_kind),
                .key_indirect = m->key_indirect,
                .key_numeric = m->key_kind == MF_GS_KEY_INT64 || m->key_kind == MF_GS_KEY_PTR,
                .key_type = m->key_type ? m->key_type - 1 : MP_NONE,
                .value_type = m->value_type ? m->value_type - 1 : MP_NONE,
                .count = m->count,
                .B = m->B,
                .flags = m->flags,
                .noverflow = m->noverflow,
                .hash0 = m->hash0,
                .hash0_known = true,
                .buckets = obj_ref(m->buckets_obj),
                .oldbuckets = obj_ref(m->oldbuckets_obj),
                .bucket_size = m->bucket_size};
    mp_map_aside aside = {.nevacuate = m->nevacuate, .noldbuckets = m->noldbuckets};
    /* the slot sizes place an entry's key and value in its bucket (all the
     * pointers of a struct value, not only the first); kept only when they
     * agree with the bucket's layout: tophash[8], 8 keys, 8 values, the
     * overflow pointer */
    if ((uint64_t)m->key_size + m->value_size > 0 &&
        m->bucket_size == 16 + 8 * ((uint64_t)m->key_size + m->value_size)) {
        x.key_size = m->key_size;
        x.value_size = m->value_size;
    }
    uint32_t k = mp_gb_map(L->b, &x, &aside); /* kept only for a map growing */
    if (k != m->index) {
        mf_error_set(err, "%s: map %llu arrived as the graph's map %u", L->path,
                     (unsigned long long)m->index, k);
        return -1;
    }
    return 0;
}

static int on_buckets(void *ud, const mf_gs_reader *r, const mf_gs_map *m, const mf_gs_bucket *b,
                      size_t nb, const mf_gs_entry *e, size_t ne, mf_error *err)
{
    (void)r;
    loader *L = ud;
    L->nentries += ne;
    if (over_limit(L, err)) return -1;
    uint32_t map = (uint32_t)m->index;
    /* integer and pointer keys are kept as numbers, rendered when shown */
    bool int_keys = m->key_kind == MF_GS_KEY_INT64 || m->key_kind == MF_GS_KEY_PTR;
    for (size_t i = 0; i < nb; i++) {
        if (b[i].overflow > MP_BUCKET_MAX_OVERFLOW) {
            mf_error_set(err,
                         "%s: a bucket of map %u is overflow bucket %u of its chain, beyond %u",
                         L->path, map, b[i].overflow, MP_BUCKET_MAX_OVERFLOW);
            return -1;
        }
        mp_bucket x = {.map = map,
                       .obj = obj_ref(b[i].object),
                       .address = b[i].address,
                       .index = b[i].index,
                       .overflow = b[i].overflow,
                       .old = b[i].old,
                       .nused = (uint8_t)mf_popcount64(b[i].occupied)};
        mp_gb_bucket(L->b, &x, 0);
    }
    for (size_t i = 0; i < ne; i++) {
        if (e[i].bucket >= nb) {
            mf_error_set(err, "%s: an entry of map %u names bucket %u of a batch of %zu", L->path,
                         map, e[i].bucket, nb);
            return -1;
        }
        const mf_gs_bucket *bk = &b[e[i].bucket];
        mp_entry x = {.map = map,
                      .bucket_obj = obj_ref(bk->object),
                      .bucket = bk->index,
                      .overflow = bk->overflow,
                      .slot = e[i].slot,
                      .old = bk->old,
                      .key = int_keys ? (uint64_t)e[i].key_int
                                      : mp_gb_string(L->b, e[i].key_text ? e[i].key_text : "",
                                                     e[i].key_text ? e[i].key_text_len : 0),
                      .key_obj = obj_ref(e[i].key_object),
                      .value_obj = obj_ref(e[i].value_object)};
        mp_gb_entry(L->b, &x);
    }
    return 0;
}

static int on_samples(void *ud, const mf_gs_reader *r, size_t n, const uint64_t *objects,
                      const uint32_t *stacks, mf_error *err)
{
    (void)err;
    loader *L = ud;
    sync_tables(L, r);
    for (size_t i = 0; i < n; i++) {
        uint32_t o = obj_ref(objects[i]);
        if (o == MP_NONE || stacks[i] >= L->nstacks) continue;
        if (L->nsamples == L->cap_samples) {
            size_t nc = L->cap_samples ? L->cap_samples * 2 : 256;
            uint64_t *q = nc <= SIZE_MAX / sizeof *q ? realloc(L->samples, nc * sizeof *q) : NULL;
            if (!q) {
                L->oom = true;
                return 0; /* reported by mp_load_gcstack */
            }
            L->samples = q;
            L->cap_samples = nc;
        }
        L->samples[L->nsamples++] = (uint64_t)o << 32 | stacks[i];
    }
    return 0;
}

int mp_load_gcstack(const char *path, FILE *progress, mp_graph **out, mf_error *err)
{
    *out = NULL;
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    int rc = mp_load_gcstack_in(in, NULL, progress, out, err);
    mf_in_close(in);
    return rc;
}

int mp_load_gcstack_in(mf_in *in, const mf_limits *lim, FILE *progress, mp_graph **out,
                       mf_error *err)
{
    *out = NULL;
    const char *path = mf_in_name(in);
    loader L = {.path = path, .progress = progress, .lim = lim};
    L.b = mp_gb_new(path, "gcstack");
    if (!L.b) {
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    mf_gs_callbacks cb = {.ud = &L,
                          .on_header = on_header,
                          .on_objects = on_objects,
                          .on_edges = on_edges,
                          .on_root = on_root,
                          .on_map = on_map,
                          .on_buckets = on_buckets,
                          .on_samples = on_samples,
                          /* edge and bucket batches decoded on every
                           * processor; integer keys kept as numbers */
                          .threads = mp_threads(),
                          .raw_int_keys = true};
    mf_gs_reader *r = NULL;
    int rc = mf_gs_read_in(in, &cb, &r, err);
    mp_timing_mark("read");
    if (progress && L.next_progress) {
        fprintf(progress, "\r\033[K");
        fflush(progress);
    }
    if (rc || L.oom) {
        if (!rc) mf_error_set(err, "%s: out of memory", path);
        free(L.samples);
        mp_gb_free(L.b);
        mf_gs_reader_free(r);
        return -1;
    }
    sync_tables(&L, r);
    /* a snapshot without edge records (no objects at all) */
    if (!L.edges_begun) mp_gb_edges_begin(L.b, mf_gs_nobjects(r));
    uint64_t *addr, *size;
    uint32_t *type;
    size_t n = mf_gs_take_objects(r, &addr, &size, &type);
    for (size_t i = 0; i < n; i++) type[i] = type[i] ? type[i] - 1 : MP_NONE;
    mp_gb_adopt_objects(L.b, addr, size, type, n);
    for (size_t i = 0; i < L.nsamples; i++)
        mp_gb_object_stack(L.b, (uint32_t)(L.samples[i] >> 32), (uint32_t)L.samples[i]);
    free(L.samples);
    mf_gs_reader_free(r);
    return mp_gb_finish(L.b, out, err);
}
