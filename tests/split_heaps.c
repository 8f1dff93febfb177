/*
 * tests/split_heaps.c -- root snapshots shaped to hit the points where the
 * analysis splits its work (tests/test_same_answer.sh runs every report on
 * them one thread and two, in memory and spilled, with and without an
 * index, and wants the same bytes each time):
 *   random  maps of every size (empty ones, a large one, odd counts) whose
 *           records come in an order that is not their headers', values
 *           shared within a map and between maps, values that lead to
 *           other maps' values and headers, a growing map whose evacuated
 *           old buckets still point at its values while an iterator holds
 *           them, garbage that points into the live heap (a dead map with
 *           entries among it), leaves held by roots of every kind, the
 *           same object held by several roots;
 *   one     a single map holding every value (one half only);
 *   many    thousands of maps of one to three entries, each behind its
 *           own holder object;
 *   leaves  no map and no pointer: roots to objects without out edges,
 *           and objects nothing reaches.
 * Each heap is a pure function of its shape, seed and size.
 * usage: split_heaps SHAPE SEED OBJECTS FILE
 */
#include "format/gcstack_writer.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT 6

enum { T_VALUE, T_LEAF, T_KEY, T_HDR, T_BARRAY, T_HOLDER, T_NTYPES };

typedef struct obj {
    uint64_t size;
    int type;
    int nout;
    uint64_t off[MAX_OUT];
    uint32_t to[MAX_OUT];
    uint64_t addr;
} obj;

typedef struct ent {
    uint32_t key, value; /* object indices; key UINT32_MAX: int key */
    int64_t ikey;
    uint32_t bucket, slot;
} ent;

typedef struct map {
    uint32_t header, barray, old; /* old: UINT32_MAX none */
    uint64_t B, count;
    int string_keys;
    ent *e;
    uint32_t ne;
    uint32_t *slot_at; /* bucket * 8 + slot -> entry + 1, 0 empty */
} map;

static obj *O;
static size_t nobj, capobj;
static map *M;
static size_t nmaps, capmaps;
static uint64_t rng;

static uint64_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static void *grow(void *p, size_t *cap, size_t need, size_t each)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap * 2 : 1024;
    while (c < need) c *= 2;
    p = realloc(p, c * each);
    if (!p) {
        fprintf(stderr, "split_heaps: out of memory\n");
        exit(1);
    }
    *cap = c;
    return p;
}

static uint32_t new_obj(int type, uint64_t size)
{
    O = grow(O, &capobj, nobj + 1, sizeof *O);
    O[nobj] = (obj){.size = (size + 7) / 8 * 8, .type = type};
    return (uint32_t)nobj++;
}

/* A pointer from a at offset off to b (offsets kept increasing). */
static void point(uint32_t a, uint64_t off, uint32_t b)
{
    obj *o = &O[a];
    if (o->nout == MAX_OUT || off + 8 > o->size) return;
    if (o->nout && o->off[o->nout - 1] >= off) off = o->off[o->nout - 1] + 8;
    if (off + 8 > o->size) return;
    o->off[o->nout] = off;
    o->to[o->nout++] = b;
}

static uint64_t bucket_size(const map *m)
{
    return 8 + 8 * (m->string_keys ? 16 : 8) + 8 * 8 + 8;
}

static uint64_t key_off(const map *m, uint32_t b, uint32_t s)
{
    return b * bucket_size(m) + 8 + (m->string_keys ? 16 : 8) * s;
}

static uint64_t value_off(const map *m, uint32_t b, uint32_t s)
{
    return b * bucket_size(m) + 8 + 8 * (m->string_keys ? 16 : 8) + 8 * s;
}

/* A map of count entries whose values are what value() gives; its bucket
 * array's words point at the values (and key strings). */
static uint32_t new_map(uint64_t count, int string_keys, uint32_t (*value)(uint64_t k))
{
    M = grow(M, &capmaps, nmaps + 1, sizeof *M);
    map *m = &M[nmaps];
    *m = (map){.count = count, .string_keys = string_keys, .old = UINT32_MAX};
    while (count > 8 && (double)count > 6.5 * (double)(1ull << m->B)) m->B++;
    uint64_t nb = 1ull << m->B;
    m->header = new_obj(T_HDR, 48);
    m->barray = new_obj(T_BARRAY, nb * bucket_size(m));
    point(m->header, 16, m->barray);
    m->e = calloc(count ? count : 1, sizeof *m->e);
    uint8_t *used = calloc(nb, 1);
    uint32_t *slot_at = calloc(nb * 8, sizeof *slot_at);
    for (uint64_t k = 0; k < count; k++) {
        uint64_t b = below(nb);
        while (used[b] == 8) b = (b + 1) % nb;
        ent *e = &m->e[m->ne++];
        e->bucket = (uint32_t)b;
        e->slot = used[b]++;
        e->ikey = (int64_t)(rnd() >> 1);
        e->key = string_keys ? new_obj(T_KEY, 8 + below(40)) : UINT32_MAX;
        e->value = value(k);
        slot_at[b * 8 + e->slot] = (uint32_t)k + 1;
    }
    free(used);
    m->slot_at = slot_at;
    return (uint32_t)nmaps++;
}

/* ------------------------------------------------------------ shapes --- */

static uint32_t shared_pool[64];
static size_t nshared;

/* A value: fresh (with a small subtree), or one of the shared pool, or a
 * pointer on to an object already made (another map's value or header). */
static uint32_t random_value(uint64_t k)
{
    (void)k;
    uint64_t r = below(100);
    if (r < 8 && nshared) return shared_pool[below(nshared)];
    uint32_t v = new_obj(T_VALUE, 16 + 8 * below(6));
    if (r < 14 && nobj > 2) point(v, 0, (uint32_t)below(nobj - 1)); /* anything before it */
    uint64_t kids = below(3);
    for (uint64_t c = 0; c < kids; c++) {
        uint32_t x = new_obj(below(3) ? T_LEAF : T_VALUE, 8 + 8 * below(20));
        point(v, 8 + 8 * c, x);
        if (O[x].type == T_VALUE && below(4) == 0) point(x, 0, v); /* back to the value */
    }
    if (r >= 95 && nmaps) point(v, 40, M[below(nmaps)].header); /* a map of maps */
    return v;
}

static uint32_t leaf_value(uint64_t k)
{
    (void)k;
    return new_obj(T_LEAF, 8 + 8 * below(8));
}

static uint32_t holder_of(const uint32_t *xs, size_t n)
{
    uint32_t h = new_obj(T_HOLDER, 8 * (n ? n : 1));
    for (size_t i = 0; i < n && i < MAX_OUT; i++) point(h, 8 * i, xs[i]);
    return h;
}

typedef struct root {
    uint32_t kind, target;
    uint64_t slot;
    const char *name;
    uint32_t thread, frame;
} root;
static root R[4096];
static size_t nroots;

static void add_root(uint32_t kind, uint32_t target, const char *name, uint32_t thread,
                     uint32_t frame)
{
    if (nroots < sizeof R / sizeof *R)
        R[nroots++] = (root){kind, target, 0x600000 + 8 * nroots, name, thread, frame};
}

static void shape_random(uint64_t n)
{
    for (nshared = 0; nshared < 16; nshared++)
        shared_pool[nshared] = new_obj(T_VALUE, 24 + 8 * nshared);
    uint32_t hdrs[64];
    size_t nh = 0;
    while (nobj < n && nh < 64) {
        uint64_t r = below(10), count = r == 0 ? 0 : r < 6 ? 1 + below(30) : 1 + below(n / 8 + 1);
        if (nh == 3) count = n / 3 | 1; /* one large map, an odd count */
        uint32_t k = new_map(count, (int)below(2), random_value);
        hdrs[nh++] = M[k].header;
    }
    /* a growing map: its old array (half as many buckets, all evacuated)
     * still points at some of its values, and an iterator holds it */
    for (size_t k = 0; k < nmaps; k++) {
        map *m = &M[k];
        if (m->B < 2 || m->ne < 16) continue;
        uint64_t nold = (1ull << m->B) / 2;
        m->old = new_obj(T_BARRAY, nold * bucket_size(m));
        point(m->header, 24, m->old);
        /* the old slots of the first entries, in offset order */
        uint64_t w[MAX_OUT];
        uint32_t nw = 0;
        for (uint32_t i = 0; i < m->ne && nw < MAX_OUT; i++) {
            uint64_t off = value_off(m, m->e[i].bucket % (uint32_t)nold, m->e[i].slot);
            bool dup = false;
            for (uint32_t j = 0; j < nw; j++) dup |= w[j] >> 32 == off;
            if (!dup) w[nw++] = off << 32 | i;
        }
        for (uint32_t i = 1; i < nw; i++)
            for (uint32_t j = i; j > 0 && w[j - 1] > w[j]; j--) {
                uint64_t x = w[j];
                w[j] = w[j - 1], w[j - 1] = x;
            }
        for (uint32_t j = 0; j < nw; j++) point(m->old, w[j] >> 32, m->e[(uint32_t)w[j]].value);
        add_root(MF_GS_ROOT_ITERATOR, m->old, "it", 1, 2);
        break;
    }
    /* garbage: objects no root reaches, pointing into the live heap, and a
     * dead map with entries */
    for (int i = 0; i < 40; i++) {
        uint32_t g = new_obj(T_VALUE, 24);
        point(g, 0, (uint32_t)below(nobj - 1));
    }
    new_map(1 + below(20), 0, random_value);
    /* roots: a holder array of the maps (in pieces of MAX_OUT), stack and
     * pin roots straight at some maps and values, registers, duplicates */
    for (size_t i = 0; i < nh; i += MAX_OUT) {
        size_t m = nh - i < MAX_OUT ? nh - i : MAX_OUT;
        uint32_t h = holder_of(hdrs + i, m);
        add_root(below(2) ? MF_GS_ROOT_GLOBAL : MF_GS_ROOT_PIN, h, "maps", 0, 0);
    }
    for (int i = 0; i < 12; i++) {
        uint32_t x = (uint32_t)below(nobj);
        uint32_t kind = (uint32_t)below(4); /* global, stack, register, pin */
        add_root(kind, x,
                 kind == 0   ? "g"
                 : kind == 3 ? "pin"
                             : "",
                 1 + (uint32_t)below(2), (uint32_t)below(3));
    }
    add_root(MF_GS_ROOT_STACK, hdrs[0], "", 1, 0);
    add_root(MF_GS_ROOT_REGISTER, shared_pool[0], "", 1, 0);
    for (int i = 0; i < 20; i++) add_root(MF_GS_ROOT_GLOBAL, new_obj(T_LEAF, 8), "leaf", 0, 0);
}

static void shape_one(uint64_t n)
{
    nshared = 0;
    uint32_t k = new_map(n / 3 | 1, 1, random_value);
    add_root(MF_GS_ROOT_GLOBAL, M[k].header, "cache", 0, 0);
}

static void shape_many(uint64_t n)
{
    nshared = 0;
    uint32_t prev = UINT32_MAX;
    while (nobj < n) {
        uint32_t k = new_map(1 + below(3), 0, below(2) ? leaf_value : random_value);
        uint32_t h = new_obj(T_HOLDER, 16);
        point(h, 0, M[k].header);
        if (prev != UINT32_MAX) point(h, 8, prev); /* a list of the holders */
        prev = h;
        if (below(50) == 0) add_root(MF_GS_ROOT_GLOBAL, h, "holders", 0, 0);
    }
    add_root(MF_GS_ROOT_GLOBAL, prev, "holders", 0, 0);
}

static void shape_leaves(uint64_t n)
{
    while (nobj < n) {
        uint32_t x = new_obj(T_LEAF, 8 + 8 * below(30));
        if (below(3)) add_root((uint32_t)below(4), x, "leaf", 1, (uint32_t)below(2));
    }
}

/* ----------------------------------------------------------- writing --- */

static int write_barray(mf_gs_writer *w, const map *m, uint32_t a, int old)
{
    if (mf_gsw_edges_begin(w, O[a].addr)) return -1;
    if (old) {
        for (int j = 0; j < O[a].nout; j++) {
            uint64_t off = O[a].off[j], tgt = O[O[a].to[j]].addr;
            if (mf_gsw_edges_add(w, 1, &off, &tgt)) return -1;
        }
        return mf_gsw_edges_end(w);
    }
    /* the words in offset order: bucket by bucket, keys then values */
    uint64_t nb = 1ull << m->B;
    for (uint64_t b = 0; b < nb; b++)
        for (int pass = 0; pass < 2; pass++)
            for (uint32_t s = 0; s < 8; s++) {
                if (!m->slot_at[b * 8 + s]) continue;
                const ent *e = &m->e[m->slot_at[b * 8 + s] - 1];
                if (pass == 0 && e->key == UINT32_MAX) continue;
                uint64_t off = pass ? value_off(m, e->bucket, s) : key_off(m, e->bucket, s);
                uint64_t tgt = O[pass ? e->value : e->key].addr;
                if (mf_gsw_edges_add(w, 1, &off, &tgt)) return -1;
            }
    return mf_gsw_edges_end(w);
}

static int write_all(const char *path)
{
    mf_gs_header h = {.program = "/usr/bin/split",
                      .pid = 77,
                      .gc_cycle = 3,
                      .pointer_size = 8,
                      .profile_rate = 524288,
                      .write_mode = MF_GS_MODE_FORK,
                      .writer = "split_heaps"};
    h.memstats.heap_objects = nobj;
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(path, 1, &h, &err);
    if (!w) {
        fprintf(stderr, "split_heaps: %s\n", err.msg);
        return 1;
    }
    static const uint32_t pv[] = {0, 8, 16, 24, 32, 40}, ph[] = {16, 24};
    mf_gs_type t[T_NTYPES] = {
        [T_VALUE] = {"Value", 48, pv, 6, MF_GS_KIND_STRUCT, 0},
        [T_LEAF] = {"[]byte", 1, NULL, 0, MF_GS_KIND_BLOB, 0},
        [T_KEY] = {"string", 1, NULL, 0, MF_GS_KIND_STRING, 0},
        [T_HDR] = {"map.hdr", 48, ph, 2, MF_GS_KIND_MAP_HEADER, 0},
        [T_BARRAY] = {"[]bucket", 1, NULL, 0, MF_GS_KIND_ARRAY, 0},
        [T_HOLDER] = {"Holder", 48, pv, 6, MF_GS_KIND_STRUCT, 0},
    };
    uint32_t ty[T_NTYPES];
    for (int i = 0; i < T_NTYPES; i++) ty[i] = mf_gsw_type(w, &t[i]) + 1;
    /* addresses: the objects in a shuffled order, so that neither the
     * maps nor their entries come in the order they were made */
    uint32_t *perm = malloc((nobj ? nobj : 1) * sizeof *perm);
    for (size_t i = 0; i < nobj; i++) perm[i] = (uint32_t)i;
    for (size_t i = nobj; i > 1; i--) {
        size_t j = below(i);
        uint32_t x = perm[i - 1];
        perm[i - 1] = perm[j], perm[j] = x;
    }
    uint64_t at = 0x7f0000000000ull;
    for (size_t i = 0; i < nobj; i++) {
        obj *o = &O[perm[i]];
        o->addr = at;
        at += o->size + 8 * below(3);
    }
    for (size_t i = 0; i < nobj; i++)
        mf_gsw_object(w, O[perm[i]].addr, O[perm[i]].size, ty[O[perm[i]].type]);
    /* the bucket arrays' objects: which map, and whether old */
    int64_t *arr_of = malloc((nobj ? nobj : 1) * sizeof *arr_of);
    for (size_t i = 0; i < nobj; i++) arr_of[i] = -1;
    for (size_t k = 0; k < nmaps; k++) {
        arr_of[M[k].barray] = (int64_t)(2 * k);
        if (M[k].old != UINT32_MAX) arr_of[M[k].old] = (int64_t)(2 * k + 1);
    }
    for (size_t i = 0; i < nobj; i++) {
        uint32_t x = perm[i];
        if (arr_of[x] >= 0) {
            if (write_barray(w, &M[arr_of[x] / 2], x, (int)(arr_of[x] & 1))) break;
            continue;
        }
        uint64_t tgt[MAX_OUT];
        for (int j = 0; j < O[x].nout; j++) tgt[j] = O[O[x].to[j]].addr;
        if (mf_gsw_edges(w, O[x].addr, (size_t)O[x].nout, O[x].off, tgt)) break;
    }
    for (size_t i = 0; i < nroots; i++) {
        mf_gs_root r = {.kind = R[i].kind,
                        .target = O[R[i].target].addr,
                        .slot = R[i].slot,
                        .name = R[i].name,
                        .file = "split.c",
                        .line = (int64_t)(10 + i % 7),
                        .thread = R[i].thread,
                        .frame = R[i].frame};
        if (r.kind == MF_GS_ROOT_STACK || r.kind == MF_GS_ROOT_REGISTER ||
            r.kind == MF_GS_ROOT_ITERATOR)
            r.function = R[i].frame ? "serve" : "handle";
        mf_gsw_root(w, &r);
    }
    /* the maps' records, from the last made to the first */
    for (size_t kk = nmaps; kk-- > 0;) {
        map *m = &M[kk];
        uint64_t nb = 1ull << m->B;
        mf_gs_map mp = {.address = O[m->header].addr,
                        .type_name = m->string_keys ? "map[string]*Value" : "map[int64]*Value",
                        .key_kind = m->string_keys ? MF_GS_KEY_STRING : MF_GS_KEY_INT64,
                        .value_type = ty[T_VALUE],
                        .count = m->count,
                        .B = (uint32_t)m->B,
                        .hash0 = (uint32_t)kk,
                        .buckets = O[m->barray].addr,
                        .bucket_size = bucket_size(m),
                        .key_size = m->string_keys ? 16 : 8,
                        .value_size = 8,
                        .nbuckets_walked = nb,
                        .nentries = m->ne};
        if (m->old != UINT32_MAX) {
            mp.oldbuckets = O[m->old].addr;
            mp.noldbuckets = nb / 2;
            mp.nevacuate = nb / 2;
            mp.flags = 0;
        }
        mf_gsw_map(w, &mp);
        for (uint64_t b = 0; b < nb; b++) {
            uint32_t occ = 0;
            for (uint32_t s = 0; s < 8; s++)
                if (m->slot_at[b * 8 + s]) occ |= 1u << s;
            mf_gsw_bucket(w, O[m->barray].addr + b * bucket_size(m), false, b, 0, occ);
            for (uint32_t s = 0; s < 8; s++) {
                if (!m->slot_at[b * 8 + s]) continue;
                uint32_t i = m->slot_at[b * 8 + s] - 1;
                const ent *e = &m->e[i];
                char text[32];
                mf_gs_entry me = {.slot = (uint8_t)s,
                                  .tophash = (uint8_t)(5 + i % 250),
                                  .value_object = O[e->value].addr};
                if (e->key == UINT32_MAX) {
                    me.key_int = e->ikey;
                } else {
                    int len = snprintf(text, sizeof text, "\"k%" PRId64 "\"", e->ikey % 100000);
                    me.key_text = text;
                    me.key_text_len = (size_t)len;
                    me.key_object = O[e->key].addr;
                }
                mf_gsw_entry(w, &me);
            }
        }
    }
    /* sampled allocation sites: every seventh object, one of three stacks */
    uint32_t stacks[3];
    for (uint32_t i = 0; i < 3; i++) {
        static const char *fn[] = {"new_value", "new_key", "grow"};
        mf_gs_symbol sy = {0x401000 + 64u * i, fn[i], "split.c", 100 + i};
        uint32_t sym = mf_gsw_symbol(w, &sy);
        stacks[i] = mf_gsw_stack(w, &sym, 1);
    }
    for (size_t i = 0; i < nobj; i += 7) mf_gsw_sample(w, O[perm[i]].addr, stacks[perm[i] % 3]);
    free(perm);
    free(arr_of);
    if (mf_gsw_finish(w, NULL, &err)) {
        fprintf(stderr, "split_heaps: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: split_heaps random|one|many|leaves SEED OBJECTS FILE\n");
        return 2;
    }
    rng = strtoull(argv[2], NULL, 10) * 2654435761u + 88172645463325252ull;
    uint64_t n = strtoull(argv[3], NULL, 10);
    if (n < 100) n = 100;
    if (!strcmp(argv[1], "random"))
        shape_random(n);
    else if (!strcmp(argv[1], "one"))
        shape_one(n);
    else if (!strcmp(argv[1], "many"))
        shape_many(n);
    else if (!strcmp(argv[1], "leaves"))
        shape_leaves(n);
    else {
        fprintf(stderr, "split_heaps: unknown shape %s\n", argv[1]);
        return 2;
    }
    return write_all(argv[4]);
}
