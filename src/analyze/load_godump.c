/*
 * src/analyze/load_godump.c -- Go heap dump -> heap graph.
 *
 * Objects are numbered in one space: the dump's heap objects (address
 * order) first, then "frame objects": the hmaps (and their first bucket)
 * that live inside a goroutine frame, cut out of the frame so that a map
 * on a stack is a map like any other. Pointer words are resolved once into
 * a CSR of targets; the reachable set is marked from the roots; maps are
 * recognised among the reachable hmaps; then everything reachable is
 * handed to the graph builder in address order. Reads of the dump's
 * memory are godump_mem.c's; what makes an hmap a map, and its buckets
 * and entries, godump_maps.c's.
 */
#include "analyze/load_godump.h"

#include "analyze/display_path.h"
#include "analyze/gobinary.h"
#include "analyze/godump_maps.h"
#include "analyze/godump_mem.h"
#include "format/grow.h"
#include "format/names.h"
#include "format/zeroed.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE MP_GD_NONE

typedef struct rootw {
    uint8_t kind;    /* mp_root_kind */
    uint8_t segment; /* globals: 0 data, 1 bss */
    uint32_t frame;  /* stack/iterator: frame index, else NONE */
    uint32_t finalizer;
    uint64_t slot, frame_off;
    uint32_t target; /* unified object index */
} rootw;

typedef struct loader {
    mp_gdmem mem; /* the dump's memory: objects, frame objects, reads */
    mf_error *err;
    /* resolved pointer words, per unified object */
    uint64_t *estart;
    uint32_t *edst;
    uint8_t *reached;
    rootw *roots;
    size_t nroots, cap_roots;
    mp_gomap *maps;
    size_t nmaps, cap_maps;
    struct itype {
        uint64_t h;
        const mp_gomaptype *t;
    } * itypes; /* (hmap, type) of the range iterators, sorted by hmap (with a binary) */
    size_t nitypes;
    /* Go sync.Maps whose read and dirty maps were both recognised: the
     * dirty map (index in maps) is reported as the sync.Map, its table
     * holding the read map's and the readOnly box (see find_sync_maps) */
    struct syncpair {
        size_t dirty, read; /* SIZE_MAX: none (then the other is the sync.Map's) */
        uint64_t box;       /* the readOnly box of the read map */
        uint64_t base;      /* the sync.Map's address */
    } * pairs;
    size_t npairs, cap_pairs;
} loader;

static int cmp_frame_sp(const void *a, const void *b, void *ud);

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ roots --- */

static int add_root(loader *L, const rootw *r)
{
    if (L->nroots == L->cap_roots) {
        size_t nc = L->cap_roots ? L->cap_roots * 2 : 1024;
        rootw *q = realloc(L->roots, nc * sizeof *q);
        if (!q) return -1;
        L->roots = q;
        L->cap_roots = nc;
    }
    L->roots[L->nroots++] = *r;
    return 0;
}

static int cmp_fobj(const void *a, const void *b)
{
    const mp_gd_fobj *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* A range iterator (hiter) in a frame: 8 pointer words in a row (key,
 * elem, t, h, buckets, bptr, overflow, oldoverflow) followed by a word that
 * is not one. Offsets are the sorted pointer words of the frame. */
static bool iterator_at(const uint32_t *offs, size_t n, size_t k)
{
    if (k + 8 > n || offs[k + 7] != offs[k] + 56) return false;
    return k + 8 == n || offs[k + 8] != offs[k] + 64;
}

static int cmp_itype(const void *a, const void *b)
{
    const struct itype *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h;
}

/* With the binary, a range iterator's t names its map's exact type: the
 * (h, type) pairs of every iterator, to type the maps they reach. */
static int collect_iterator_types(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    size_t cap = 0;
    if (!L->mem.bin) return 0;
    for (size_t fi = 0; fi < d->nframes; fi++) {
        const mf_gd_frame *f = &d->frames[fi];
        size_t nf = mp_gdmem_block_fields(&L->mem, NONE, (uint32_t)fi, 0, f->contents.len);
        if (nf == SIZE_MAX) return -1;
        for (size_t k = 0; k < nf; k++) {
            if (!iterator_at(L->mem.scratch, nf, k)) continue;
            const uint8_t *p = d->data + f->contents.off + L->mem.scratch[k];
            const mp_gomaptype *t = mp_gobin_map_of_rtype(L->mem.bin, mp_gd_rd64(p + 16));
            if (!t) continue;
            if (L->nitypes == cap) {
                size_t nc = cap ? cap * 2 : 16;
                struct itype *q = realloc(L->itypes, nc * sizeof *q);
                if (!q) return -1;
                L->itypes = q;
                cap = nc;
            }
            L->itypes[L->nitypes++] = (struct itype){mp_gd_rd64(p + 24), t};
            k += 7;
        }
    }
    if (L->nitypes > 1) qsort(L->itypes, L->nitypes, sizeof *L->itypes, cmp_itype);
    return 0;
}

static const mp_gomaptype *iterator_type(const loader *L, uint64_t h)
{
    size_t lo = 0, hi = L->nitypes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->itypes[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->nitypes && L->itypes[lo].h == h ? L->itypes[lo].t : NULL;
}

static int add_fobj(loader *L, const mp_gd_fobj *x)
{
    if (L->mem.nfobjs == L->mem.cap_fobjs) {
        size_t nc = L->mem.cap_fobjs ? L->mem.cap_fobjs * 2 : 16;
        mp_gd_fobj *q = realloc(L->mem.fobjs, nc * sizeof *q);
        if (!q) return -1;
        L->mem.fobjs = q;
        L->mem.cap_fobjs = nc;
    }
    L->mem.fobjs[L->mem.nfobjs++] = *x;
    return 0;
}

/*
 * The frame objects. A map that does not escape keeps its hmap (and, while
 * small, its one bucket) in its function's frame. Those are stack objects
 * for Go's collector: the frame's pointer map does not list their words,
 * they live as long as a live frame word points at them (the map variable,
 * or a range iterator's h). An hmap that is a plain local instead has its
 * pointer words in the frame's map (at +16, +24 and +40 of a 48-byte window
 * with no other). Both are candidates (a pointed-to address is flagged by
 * its low bit in the list): a 48-byte hmap there that checks out with its
 * buckets becomes an object of its own, with the hmap's pointer words
 * (buckets, oldbuckets, extra) as its edges, and a root of its own when
 * the frame lists it. Frame objects are sorted by address, never overlap.
 */
static int find_frame_maps(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    uint64_t *cand = NULL;
    size_t nc = 0, cap = 0;
    for (size_t fi = 0; fi < d->nframes; fi++) {
        const mf_gd_frame *f = &d->frames[fi];
        size_t nf = mp_gdmem_block_fields(&L->mem, NONE, (uint32_t)fi, 0, f->contents.len);
        if (nf == SIZE_MAX) break;
        for (size_t k = 0; k < nf; k++) {
            uint64_t o = L->mem.scratch[k], v;
            if (k + 2 < nf && o >= 16 && L->mem.scratch[k + 1] == o + 8 &&
                L->mem.scratch[k + 2] == o + 24 && (k == 0 || L->mem.scratch[k - 1] < o - 16) &&
                (k + 3 == nf || L->mem.scratch[k + 3] >= o + 32) && o + 32 <= f->contents.len)
                v = f->sp + o - 16; /* a listed window */
            else if ((v = mf_gd_word(d, f->contents.off + o)) % 8 == 0 && v &&
                     mp_gdmem_frame_at(&L->mem, v, 48) != NONE)
                v |= 1; /* pointed to */
            else
                continue;
            if (nc == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                uint64_t *q = realloc(cand, ncap * sizeof *q);
                if (!q) {
                    free(cand);
                    return -1;
                }
                cand = q;
                cap = ncap;
            }
            cand[nc++] = v;
        }
    }
    if (nc > 1) qsort(cand, nc, sizeof *cand, cmp_u64);
    uint64_t end = 0; /* of the last frame object: they must not overlap */
    for (size_t i = 0; i < nc; i++) {
        uint64_t a = cand[i] & ~(uint64_t)1;
        bool listed = !(cand[i] & 1); /* sorts before the pointed-to flag */
        if (a < end) continue;
        uint32_t fi = mp_gdmem_frame_at(&L->mem, a, 48);
        const mf_gd_frame *f = &d->frames[fi];
        mp_gomap m;
        const mp_gomaptype *exact = iterator_type(L, a);
        if (!mp_gomap_recognise(&L->mem, a, mp_gdmem_read(&L->mem, a, 48), exact, &m) &&
            !(exact && mp_gomap_recognise(&L->mem, a, mp_gdmem_read(&L->mem, a, 48), NULL, &m))) {
            if (L->mem.oom) break;
            continue;
        }
        mp_gd_fobj h = {
            .addr = a, .size = 48, .frame = fi, .off = a - f->sp, .hmap = true, .listed = listed};
        mp_gd_bit_set(h.pat, 2), mp_gd_bit_set(h.pat, 3), mp_gd_bit_set(h.pat, 5);
        if (add_fobj(L, &h)) break;
        end = a + 48;
        uint32_t bf = m.buckets ? mp_gdmem_frame_at(&L->mem, m.buckets, m.bs) : NONE;
        if (bf != NONE && (m.buckets >= end || m.buckets + m.bs <= a)) {
            mp_gd_fobj b = {
                .addr = m.buckets, .size = m.bs, .frame = bf, .off = m.buckets - d->frames[bf].sp};
            mp_gomap_bucket_pattern(&m, b.pat);
            if (add_fobj(L, &b)) break;
            if (m.buckets + m.bs > end) end = m.buckets + m.bs;
        }
    }
    free(cand);
    if (L->mem.nfobjs > 1) qsort(L->mem.fobjs, L->mem.nfobjs, sizeof *L->mem.fobjs, cmp_fobj);
    return L->mem.oom ? -1 : 0;
}

/* Whether the frame word at address a lies inside a frame object. */
static bool in_fobj(const loader *L, uint64_t a)
{
    uint32_t o = mp_gdmem_find(&L->mem, a);
    return o != NONE && o >= L->mem.nheap;
}

static int collect_roots(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    const mf_gd_segment *segs[2] = {&d->data_seg, &d->bss_seg};
    for (int s = 0; s < 2; s++) {
        const mf_gd_segment *sg = segs[s];
        if (!sg->present) continue;
        uint64_t pos = sg->fields;
        for (uint32_t k = 0; k < sg->nfields; k++) {
            uint64_t off = mf_gd_next_field(d, &pos);
            uint64_t v = mf_gd_word(d, sg->contents.off + off);
            uint32_t t = v ? mp_gdmem_find(&L->mem, v) : NONE;
            if (t == NONE) continue;
            rootw r = {.kind = MP_ROOT_GLOBAL,
                       .segment = (uint8_t)s,
                       .frame = NONE,
                       .slot = sg->start + off,
                       .target = t};
            if (add_root(L, &r)) return -1;
        }
    }
    for (size_t fi = 0; fi < d->nframes; fi++) {
        const mf_gd_frame *f = &d->frames[fi];
        const mf_gd_goroutine *g = &d->goroutines[f->goroutine];
        uint8_t kind = g->system ? MP_ROOT_RUNTIME : MP_ROOT_STACK;
        for (size_t i = 0; i < L->mem.nfobjs; i++) /* a local hmap: the frame holds it */
            if (L->mem.fobjs[i].frame == fi && L->mem.fobjs[i].listed) {
                rootw r = {.kind = kind,
                           .frame = (uint32_t)fi,
                           .slot = L->mem.fobjs[i].addr,
                           .frame_off = L->mem.fobjs[i].off,
                           .target = (uint32_t)(L->mem.nheap + i)};
                if (add_root(L, &r)) return -1;
            }
        uint64_t pos = f->fields;
        for (uint32_t k = 0; k < f->nfields; k++) {
            uint64_t off = mf_gd_next_field(d, &pos);
            if (L->mem.nfobjs && in_fobj(L, f->sp + off)) continue;
            uint64_t v = mf_gd_word(d, f->contents.off + off);
            uint32_t t = v ? mp_gdmem_find(&L->mem, v) : NONE;
            if (t == NONE) continue;
            rootw r = {.kind = kind,
                       .frame = (uint32_t)fi,
                       .slot = f->sp + off,
                       .frame_off = off,
                       .target = t};
            if (add_root(L, &r)) return -1;
        }
    }
    /* finalizers: a registered one keeps its function and what its object
     * points to (not the object); a queued one the object as well */
    for (size_t i = 0; i < d->nfinalizers; i++) {
        const mf_gd_finalizer *fz = &d->finalizers[i];
        rootw r = {.kind = MP_ROOT_FINALIZER, .frame = NONE, .finalizer = (uint32_t)i};
        uint32_t fn = fz->fn ? mp_gdmem_find(&L->mem, fz->fn) : NONE;
        if (fn != NONE) {
            r.target = fn;
            if (add_root(L, &r)) return -1;
        }
        uint32_t o = fz->obj ? mp_gdmem_find(&L->mem, fz->obj) : NONE;
        if (o == NONE) continue;
        if (fz->queued) {
            r.target = o;
            if (add_root(L, &r)) return -1;
            continue;
        }
        for (uint64_t e = L->estart[o]; e < L->estart[o + 1]; e++) {
            if (L->edst[e] == NONE) continue;
            r.target = L->edst[e];
            if (add_root(L, &r)) return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ edges --- */

/* Every pointer word of every object resolved to the object it points
 * into (NONE: nil, or outside every object). */
static int resolve_edges(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    size_t n = mp_gdmem_nobj(&L->mem);
    L->estart = malloc((n + 1) * sizeof *L->estart);
    if (!L->estart) return -1;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        L->estart[i] = total;
        if (i < L->mem.nheap) {
            total += d->objects[i].nfields;
        } else {
            const mp_gd_fobj *x = &L->mem.fobjs[i - L->mem.nheap];
            for (int w = 0; w < 5; w++) total += (uint64_t)__builtin_popcountll(x->pat[w]);
        }
    }
    L->estart[n] = total;
    L->edst = malloc((total ? total : 1) * sizeof *L->edst);
    if (!L->edst) return -1;
    uint64_t e = 0;
    uint32_t last = NONE; /* neighbouring words often point into one object */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *base;
        if (i < L->mem.nheap) {
            const mf_gd_object *o = &d->objects[i];
            base = d->data + o->contents;
            uint64_t pos = o->fields;
            for (uint32_t k = 0; k < o->nfields; k++) {
                uint64_t v = mp_gd_rd64(base + mf_gd_next_field(d, &pos));
                uint32_t t = NONE;
                if (v) {
                    if (last != NONE && last < L->mem.nheap &&
                        v - d->objects[last].addr < d->objects[last].size)
                        t = last;
                    else
                        t = mp_gdmem_find(&L->mem, v);
                }
                if (t != NONE) last = t;
                L->edst[e++] = t;
            }
        } else {
            const mp_gd_fobj *x = &L->mem.fobjs[i - L->mem.nheap];
            const mf_gd_frame *f = &d->frames[x->frame];
            base = d->data + f->contents.off + x->off;
            for (unsigned w = 0; w < 320 && 8ull * w + 8 <= x->size; w++) {
                if (!mp_gd_bit_get(x->pat, w)) continue;
                uint64_t v = mp_gd_rd64(base + 8 * w);
                L->edst[e++] = v ? mp_gdmem_find(&L->mem, v) : NONE;
            }
        }
    }
    return 0;
}

static int mark(loader *L, uint64_t *nreached)
{
    size_t n = mp_gdmem_nobj(&L->mem);
    /* read for every object's edges here and for every object in later
     * passes, unreached ones included: populated (zeroed.h) */
    L->reached = mf_zeroed(n ? n : 1, 1, false);
    uint32_t *stack = malloc((n ? n : 1) * sizeof *stack);
    if (!L->reached || !stack) {
        free(stack);
        return -1;
    }
    size_t sp = 0;
    *nreached = 0;
    for (size_t r = 0; r < L->nroots; r++) {
        uint32_t t = L->roots[r].target;
        if (L->reached[t]) continue;
        L->reached[t] = 1;
        stack[sp++] = t;
        while (sp) { /* every object enters the stack once: it never overflows */
            uint32_t v = stack[--sp];
            (*nreached)++;
            for (uint64_t e = L->estart[v]; e < L->estart[v + 1]; e++) {
                uint32_t w = L->edst[e];
                if (w == NONE || L->reached[w]) continue;
                L->reached[w] = 1;
                stack[sp++] = w;
            }
        }
    }
    free(stack);
    return 0;
}

static int cmp_frame_sp(const void *a, const void *b, void *ud)
{
    const mf_gd_dump *d = ud;
    uint64_t x = d->frames[*(const uint32_t *)a].sp, y = d->frames[*(const uint32_t *)b].sp;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ maps --- */

static int add_map(loader *L, const mp_gomap *m)
{
    if (L->nmaps == L->cap_maps) {
        size_t nc = L->cap_maps ? L->cap_maps * 2 : 64;
        mp_gomap *q = realloc(L->maps, nc * sizeof *q);
        if (!q) return -1;
        L->maps = q;
        L->cap_maps = nc;
    }
    L->maps[L->nmaps++] = *m;
    return 0;
}

/* The exact map type a global gives the hmap object o: the first global
 * of a map type whose word points at it. `typed` holds (object << 32 |
 * root) of every global root, sorted. */
static const mp_gomaptype *typed_by_global(const loader *L, const uint64_t *typed, size_t ntyped,
                                           uint32_t o)
{
    size_t lo = 0, hi = ntyped;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (typed[mid] >> 32 < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ntyped && typed[lo] >> 32 == o; lo++) {
        const rootw *x = &L->roots[(uint32_t)typed[lo]];
        const mf_gd_segment *sg = x->segment ? &L->mem.d->bss_seg : &L->mem.d->data_seg;
        if (mf_gd_word(L->mem.d, sg->contents.off + (x->slot - sg->start)) !=
            mp_gdmem_obj_addr(&L->mem, o))
            continue;
        const mp_gomaptype *t = mp_gobin_global_map(L->mem.bin, x->slot);
        if (t) return t;
    }
    return NULL;
}

static int find_maps(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    /* global words holding a map: their objects, to type those maps */
    uint64_t *typed = NULL;
    size_t ntyped = 0;
    if (L->mem.bin) {
        typed = malloc((L->nroots ? L->nroots : 1) * sizeof *typed);
        if (!typed) return -1;
        for (size_t r = 0; r < L->nroots; r++)
            if (L->roots[r].kind == MP_ROOT_GLOBAL)
                typed[ntyped++] = (uint64_t)L->roots[r].target << 32 | r;
        qsort(typed, ntyped, sizeof *typed, cmp_u64);
    }
    for (size_t i = 0; i < L->mem.nheap; i++) {
        const mf_gd_object *o = &d->objects[i];
        if (!L->reached[i] || o->size != 48 || o->nfields != 3) continue;
        uint64_t pos = o->fields;
        uint64_t f0 = mf_gd_next_field(d, &pos), f1 = mf_gd_next_field(d, &pos),
                 f2 = mf_gd_next_field(d, &pos);
        if (f0 != 16 || f1 != 24 || f2 != 40) continue;
        mp_gomap m;
        const mp_gomaptype *exact =
            L->mem.bin ? typed_by_global(L, typed, ntyped, (uint32_t)i) : NULL;
        if (!exact) exact = iterator_type(L, o->addr);
        if (!mp_gomap_recognise(&L->mem, o->addr, d->data + o->contents, exact, &m) &&
            !(exact && mp_gomap_recognise(&L->mem, o->addr, d->data + o->contents, NULL, &m)))
            continue;
        m.obj = (uint32_t)i;
        if (add_map(L, &m)) {
            free(typed);
            return -1;
        }
    }
    free(typed);
    for (size_t i = 0; i < L->mem.nfobjs; i++) {
        const mp_gd_fobj *x = &L->mem.fobjs[i];
        if (!x->hmap) continue;
        const uint8_t *h = d->data + d->frames[x->frame].contents.off + x->off;
        mp_gomap m;
        const mp_gomaptype *exact = iterator_type(L, x->addr);
        if (!mp_gomap_recognise(&L->mem, x->addr, h, exact, &m) &&
            !(exact && mp_gomap_recognise(&L->mem, x->addr, h, NULL, &m)))
            continue;
        m.obj = (uint32_t)(L->mem.nheap + i);
        if (add_map(L, &m)) return -1;
    }
    return L->mem.oom ? -1 : 0;
}

static int cmp_map_addr(const void *a, const void *b)
{
    const mp_gomap *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const mp_gomap *map_at(const loader *L, uint64_t a)
{
    size_t lo = 0, hi = L->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->maps[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->nmaps && L->maps[lo].addr == a ? &L->maps[lo] : NULL;
}

/* The index in L->maps (sorted by address) of the map at a, or SIZE_MAX. */
static size_t map_index(const loader *L, uint64_t a)
{
    const mp_gomap *m = map_at(L, a);
    return m ? (size_t)(m - L->maps) : SIZE_MAX;
}

/* The maps the values of one map hold, with the exact type each has there
 * (a growing list). */
typedef struct held {
    uint64_t a;
    const mp_gomaptype *type;
} held;

typedef struct inner {
    mp_gdmem *M;
    const mp_gomaptype *outer; /* the type of the map whose values are read */
    held *h;
    size_t n, cap;
    bool oom;
} inner;

static void push_held(inner *in, uint64_t a, const mp_gomaptype *t)
{
    if (!a || !t || in->oom) return;
    if (!MF_GROW(in->h, in->cap, in->n + 1, 64)) {
        in->oom = true;
        return;
    }
    in->h[in->n++] = (held){a, t};
}

/* One value slot: the map it is (a map of maps), and the maps in the
 * fields of the struct it is or points to (words read from the dump; a
 * pointer to nothing the dump holds yields nothing). */
static void collect_inner(void *ud, const uint8_t *value)
{
    inner *in = ud;
    const mp_gomaptype *t = in->outer;
    if (t->value_map) push_held(in, mp_gd_rd64(value), t->value_map);
    uint64_t target = t->ninner ? mp_gd_rd64(value) : 0;
    for (uint32_t i = 0; i < t->ninner; i++) {
        const mp_goinner *x = &t->inner[i];
        if (!x->deref) {
            if ((uint64_t)x->offset + 8 <= t->value_size)
                push_held(in, mp_gd_rd64(value + x->offset), x->map);
            continue;
        }
        const uint8_t *w = target ? mp_gdmem_read(in->M, target + x->offset, 8) : NULL;
        if (w) push_held(in, mp_gd_rd64(w), x->map);
    }
}

/* Map m recognised again with exact type t, kept (true) only if it checks
 * out exactly; else m stays as it was. */
static bool retype(loader *L, mp_gomap *m, const mp_gomaptype *t)
{
    const uint8_t *hdr = mp_gdmem_read(&L->mem, m->addr, 48);
    mp_gomap typed;
    if (!hdr || !mp_gomap_recognise(&L->mem, m->addr, hdr, t, &typed) || typed.inferred)
        return false;
    typed.obj = m->obj;
    *m = typed;
    return true;
}

/* Whether maps of type t hold maps whose types follow from t's. */
static bool holds_maps(const mp_gomaptype *t)
{
    return t->value_map || t->ninner;
}

/* A map whose type is exact knows the type of the maps its values hold,
 * as values (a map of maps) or in the fields of a struct the values are
 * or point to: those were recognised by their bucket sizes alone (a guess
 * when several map types share a bucket size) and are recognised again
 * with that type, then pass it on to theirs. A worklist of the maps newly
 * typed exactly: each map enters it at most once, so a map of maps of
 * maps costs one walk per level, with no recursion. A map that does not
 * check out under the type keeps what it had. */
static int type_inner_maps(loader *L)
{
    size_t *work = malloc((L->nmaps ? L->nmaps : 1) * sizeof *work), nwork = 0;
    inner in = {.M = &L->mem};
    if (!work) return -1;
    for (size_t k = 0; k < L->nmaps; k++)
        if (L->maps[k].type && !L->maps[k].inferred && holds_maps(L->maps[k].type))
            work[nwork++] = k;
    while (nwork && !in.oom) {
        mp_gomap *outer = &L->maps[work[--nwork]];
        /* a value slot as the binary lays it out, or nothing read is sure */
        if (outer->vsize != outer->type->value_size) continue;
        in.outer = outer->type;
        in.n = 0;
        mp_gomap_values(&L->mem, outer, collect_inner, &in);
        for (size_t i = 0; i < in.n && !in.oom; i++) {
            size_t j = map_index(L, in.h[i].a);
            if (j == SIZE_MAX) continue;
            mp_gomap *m = &L->maps[j];
            if (m->type && !m->inferred) continue; /* exact already: typed and queued once */
            const mp_gomaptype *vt = in.h[i].type;
            if (retype(L, m, vt) && holds_maps(vt))
                work[nwork++] = j; /* at most once: it is exact now */
        }
    }
    free(work);
    free(in.h);
    return in.oom || L->mem.oom ? -1 : 0;
}

/* A map a frame's word holds is typed by the function's variable that the
 * binary's DWARF places at that word, when its guessed type was not
 * exact: recognised again with that type (kept only if it checks out).
 * Runs before type_inner_maps, which passes the type on to inner maps. */
static void type_frame_maps(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_STACK || x->frame == NONE || x->target == NONE) continue;
        size_t j = map_index(L, mp_gdmem_obj_addr(&L->mem, x->target));
        if (j == SIZE_MAX || (L->maps[j].type && !L->maps[j].inferred)) continue;
        const mf_gd_frame *f = &d->frames[x->frame];
        const mp_gomaptype *t =
            mp_gobin_frame_map(L->mem.bin, f->pc, f->contents.len, x->frame_off);
        if (t) retype(L, &L->maps[j], t);
    }
}

/* A global interface whose dynamic type is a struct holding maps (a
 * sync.Map's atomic.Value holds its read map so) types those maps: the
 * interface's data word is a global root pointing at the boxed struct,
 * the word before it the struct's runtime type descriptor. Each such map
 * not yet typed exactly is recognised again with its field's type (kept
 * only if it checks out). Runs before type_inner_maps. */
static void type_boxed_maps(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_GLOBAL || x->target == NONE) continue;
        const mf_gd_segment *sg = x->segment ? &d->bss_seg : &d->data_seg;
        if (x->slot < sg->start + 8 || x->slot + 8 > sg->start + sg->contents.len) continue;
        uint64_t tw = mf_gd_word(d, sg->contents.off + (x->slot - 8 - sg->start));
        mp_goinner in[8];
        size_t n = tw ? mp_gobin_struct_maps(L->mem.bin, tw, in, 8) : 0;
        uint64_t box = mf_gd_word(d, sg->contents.off + (x->slot - sg->start));
        for (size_t i = 0; i < n && i < 8; i++) {
            const uint8_t *w = mp_gdmem_read(&L->mem, box + in[i].offset, 8);
            size_t j = w ? map_index(L, mp_gd_rd64(w)) : SIZE_MAX;
            if (j != SIZE_MAX && !(L->maps[j].type && !L->maps[j].inferred))
                retype(L, &L->maps[j], in[i].map);
        }
    }
}

/* Whether map k is the read map of a sync.Map that has a dirty map too:
 * reported within its dirty map, not as a map of its own. */
static bool is_read_of_pair(const loader *L, size_t k)
{
    for (size_t i = 0; i < L->npairs; i++)
        if (L->pairs[i].read == k && L->pairs[i].dirty != SIZE_MAX) return true;
    return false;
}

/* The sync.Map map k is reported as (its dirty map, or the one map it
 * has), or NULL. */
static const struct syncpair *sync_map_of(const loader *L, size_t k)
{
    for (size_t i = 0; i < L->npairs; i++) {
        const struct syncpair *p = &L->pairs[i];
        if (p->dirty != SIZE_MAX ? p->dirty == k : p->read == k) return p;
    }
    return NULL;
}

/* The map a global word at slot holds (its index in maps), or SIZE_MAX:
 * directly (box 0), or through the struct the word points at (box: the
 * struct's address, the map in its first word). */
static size_t map_in_word(const loader *L, uint64_t slot, bool boxed, uint64_t *box)
{
    const mf_gd_dump *d = L->mem.d;
    const mf_gd_segment *sg = NULL;
    if (slot >= d->data_seg.start && slot + 8 <= d->data_seg.start + d->data_seg.contents.len)
        sg = &d->data_seg;
    else if (slot >= d->bss_seg.start && slot + 8 <= d->bss_seg.start + d->bss_seg.contents.len)
        sg = &d->bss_seg;
    if (!sg) return SIZE_MAX;
    uint64_t w = mf_gd_word(d, sg->contents.off + (slot - sg->start));
    if (!boxed) return w ? map_index(L, w) : SIZE_MAX;
    *box = w;
    const uint8_t *m = w ? mp_gdmem_read(&L->mem, w, 8) : NULL;
    return m ? map_index(L, mp_gd_rd64(m)) : SIZE_MAX;
}

/* A Go sync.Map keeps its entries in two maps: the read map, inside a
 * readOnly struct boxed behind an atomic value, and the dirty map, which
 * holds every live entry of the read map too (the same *entry pointers)
 * once a key was stored that the read map lacks. Seen as two maps, one
 * map of entries looks like two suspects that share everything. With the
 * binary a global whose DWARF type is sync.Map says which two words they
 * are: Go 1.19 lays it out mu @0, read atomic.Value @8 (its data word @16
 * points at readOnly{m, amended}), dirty @24; Go 1.20 on, read is an
 * atomic.Pointer @8 and dirty @16. Each sync.Map global with a map is
 * kept: both maps (joined: the dirty map is reported, holding the read
 * map's table), or the one it has (a sync.Map whose dirty map was
 * promoted has a read map alone; one never loaded from, a dirty map
 * alone), so that it is one map under one name either way. Without the
 * binary no word says a sync.Map is there, and its maps stay apart. */
static int find_sync_maps(loader *L)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t offs[2] = {ptr_read ? 16 : 24, ptr_read ? 8 : 16}; /* dirty, read's box */
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_GLOBAL || x->target == NONE) continue;
        for (int i = 0; i < 2; i++) {
            if (x->slot < offs[i]) continue;
            uint64_t base = x->slot - offs[i];
            if (strcmp(mp_gobin_global_type(L->mem.bin, base), "sync.Map") != 0) continue;
            bool seen = false;
            for (size_t k = 0; k < L->npairs; k++) seen |= L->pairs[k].base == base;
            if (seen) continue;
            uint64_t box = 0, none;
            size_t dk = map_in_word(L, base + offs[0], false, &none);
            size_t rk = map_in_word(L, base + offs[1], true, &box);
            if (rk == dk) rk = SIZE_MAX;
            if (dk == SIZE_MAX && rk == SIZE_MAX) continue;
            if (!MF_GROW(L->pairs, L->cap_pairs, L->npairs + 1, 4)) return -1;
            L->pairs[L->npairs++] = (struct syncpair){dk, rk, box, base};
        }
    }
    return 0;
}

/* ------------------------------------------------- sync.Maps by shape --- */

/* The word at address a of the program's memory (a global's, a heap
 * object's or a frame's); false when the dump holds none there. */
static bool word_at(const loader *L, uint64_t a, uint64_t *w)
{
    const mf_gd_dump *d = L->mem.d;
    const mf_gd_segment *sg[2] = {&d->data_seg, &d->bss_seg};
    for (int i = 0; i < 2; i++)
        if (sg[i]->present && a >= sg[i]->start && a - sg[i]->start + 8 <= sg[i]->contents.len) {
            *w = mf_gd_word(d, sg[i]->contents.off + (a - sg[i]->start));
            return true;
        }
    const uint8_t *p = mp_gdmem_read(&L->mem, a, 8);
    if (p) *w = mp_gd_rd64(p);
    return p != NULL;
}

/* Whether addresses a and b lie in one block of the dump: one segment,
 * one heap or frame object, or one frame. */
static bool same_block(const loader *L, uint64_t a, uint64_t b)
{
    const mf_gd_dump *d = L->mem.d;
    const mf_gd_segment *sg[2] = {&d->data_seg, &d->bss_seg};
    for (int i = 0; i < 2; i++)
        if (sg[i]->present && a - sg[i]->start < sg[i]->contents.len)
            return b - sg[i]->start < sg[i]->contents.len;
    uint32_t o = mp_gdmem_find(&L->mem, a);
    if (o != NONE) return mp_gdmem_find(&L->mem, b) == o;
    uint32_t f = mp_gdmem_frame_at(&L->mem, a, 1);
    return f != NONE && mp_gdmem_frame_at(&L->mem, b, 1) == f;
}

/* Whether address a is a global's (in the data or bss segment). */
static bool in_globals(const loader *L, uint64_t a)
{
    const mf_gd_dump *d = L->mem.d;
    return (d->data_seg.present && a - d->data_seg.start < d->data_seg.contents.len) ||
           (d->bss_seg.present && a - d->bss_seg.start < d->bss_seg.contents.len);
}

/* The values of a map as sync.Map's *entry pointers: each must point at
 * a heap object of one pointer word; kept (v) when keep. */
typedef struct entries {
    const mp_gdmem *M;
    bool keep, fails, oom;
    uint64_t *v;
    size_t n, cap;
} entries;

static void take_entry(void *ud, const uint8_t *slot)
{
    entries *E = ud;
    uint64_t v = mp_gd_rd64(slot);
    uint32_t o = mp_gdmem_heap_start(E->M, v);
    if (o == NONE || o >= E->M->nheap || E->M->d->objects[o].size != 8 ||
        E->M->d->objects[o].nfields != 1) {
        E->fails = true;
        return;
    }
    if (!E->keep || E->oom) return;
    if (!MF_GROW(E->v, E->cap, E->n + 1, 64)) {
        E->oom = true;
        return;
    }
    E->v[E->n++] = v;
}

/* Whether map m has the shape of a sync.Map's maps: keys interfaces
 * without methods, values pointers to entries (objects of one pointer
 * word). */
static bool sync_shaped(loader *L, mp_gomap *m)
{
    bool itab;
    if (!mp_gomap_interface_keys(m, &itab) || itab || m->vsize != 8 || m->vpat[0] != 1) return false;
    entries E = {.M = &L->mem};
    mp_gomap_values(&L->mem, m, take_entry, &E);
    return !E.fails;
}

/* Whether a read map's entries are what a sync.Map's dirty map leaves
 * them: each one also the dirty map's (the same *entry), or expunged (its
 * pointer the one sentinel every expunged entry holds: a 16-byte object
 * of zeroes, as new(any) is). Two maps that only look alike share no
 * entry. -1: out of memory. */
static int read_within_dirty(loader *L, mp_gomap *r, mp_gomap *d)
{
    entries R = {.M = &L->mem, .keep = true}, D = {.M = &L->mem, .keep = true};
    mp_gomap_values(&L->mem, r, take_entry, &R);
    mp_gomap_values(&L->mem, d, take_entry, &D);
    int ok = R.oom || D.oom ? -1 : !R.fails && !D.fails;
    if (ok > 0 && D.n > 1) qsort(D.v, D.n, sizeof *D.v, cmp_u64);
    uint64_t expunged = 0;
    for (size_t i = 0; ok > 0 && i < R.n; i++) {
        if (bsearch(&R.v[i], D.v, D.n, sizeof *D.v, cmp_u64)) continue;
        uint64_t p;
        const uint8_t *z = word_at(L, R.v[i], &p) ? mp_gdmem_read(&L->mem, p, 16) : NULL;
        uint32_t o = z ? mp_gdmem_heap_start(&L->mem, p) : NONE;
        ok = o != NONE && o < L->mem.nheap && L->mem.d->objects[o].size == 16 &&
             mp_gd_rd64(z) == 0 && mp_gd_rd64(z + 8) == 0 && (!expunged || p == expunged);
        expunged = p;
    }
    free(R.v);
    free(D.v);
    return ok;
}

/* Whether map k is already a sync.Map's, or base already one. */
static bool paired(const loader *L, size_t k, uint64_t base)
{
    for (size_t i = 0; i < L->npairs; i++)
        if (L->pairs[i].base == base || (k != SIZE_MAX && (L->pairs[i].dirty == k || L->pairs[i].read == k)))
            return true;
    return false;
}

/*
 * Whether a sync.Map is at base: its words as Go lays them out (see
 * find_sync_maps), the dirty map nil or a map of a sync.Map's shape, the
 * read box nil or a 16-byte object whose one pointer word is the read
 * map (nil or of that shape) and whose second says amended exactly when
 * there is a dirty map (Go keeps it so); Go 1.19: the atomic value's type
 * word nil exactly when the box is, else a type word. With both maps,
 * the read map's entries are the dirty map's or expunged. Kept in pairs.
 * -1: out of memory.
 */
static int try_sync_map(loader *L, uint64_t base, const uint8_t *shaped)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t dw, bw, tw = 0, hdr[2];
    /* the mutex to the misses counter, in one block */
    if (!same_block(L, base, base + (ptr_read ? 31 : 39))) return 0;
    if (!word_at(L, base + (ptr_read ? 16 : 24), &dw) || !word_at(L, base + (ptr_read ? 8 : 16), &bw))
        return 0;
    if (!ptr_read && (!word_at(L, base + 8, &tw) || !tw != !bw || (tw && !mp_gomap_type_word(&L->mem, tw))))
        return 0;
    size_t dk = dw ? map_index(L, dw) : SIZE_MAX, rk = SIZE_MAX;
    if (dw && (dk == SIZE_MAX || !shaped[dk])) return 0;
    if (bw) {
        uint32_t o = mp_gdmem_heap_start(&L->mem, bw);
        const mf_gd_object *x = o != NONE && o < L->mem.nheap ? &L->mem.d->objects[o] : NULL;
        if (!x || x->size != 16 || x->nfields != 1) return 0;
        uint64_t pos = x->fields;
        if (mf_gd_next_field(L->mem.d, &pos) != 0) return 0;
        hdr[0] = mp_gd_rd64(L->mem.d->data + x->contents);
        hdr[1] = mp_gd_rd64(L->mem.d->data + x->contents + 8);
        if ((uint8_t)hdr[1] != (dk != SIZE_MAX)) return 0; /* amended; padding after it */
        rk = hdr[0] ? map_index(L, hdr[0]) : SIZE_MAX;
        if (hdr[0] && (rk == SIZE_MAX || !shaped[rk])) return 0;
    }
    if ((dk == SIZE_MAX && rk == SIZE_MAX) || dk == rk || paired(L, dk, base) || paired(L, rk, base))
        return 0;
    if (dk != SIZE_MAX && rk != SIZE_MAX) {
        int ok = read_within_dirty(L, &L->maps[rk], &L->maps[dk]);
        if (ok <= 0) return ok;
    }
    if (!MF_GROW(L->pairs, L->cap_pairs, L->npairs + 1, 4)) return -1;
    L->pairs[L->npairs++] = (struct syncpair){dk, rk, bw, base};
    return 0;
}

/* A word at address a holds the object t (unified index, at address w):
 * a sync.Map is tried where t would be its dirty map or its read box. */
static int sync_map_candidate(loader *L, uint64_t a, uint64_t w, uint32_t t, const uint8_t *shaped)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t dirty_off = ptr_read ? 16 : 24, box_off = ptr_read ? 8 : 16;
    if (t == NONE || mp_gdmem_obj_addr(&L->mem, t) != w) return 0;
    uint64_t size = mp_gdmem_obj_size(&L->mem, t);
    if (size == 48) {
        size_t k = map_index(L, w);
        return k != SIZE_MAX && shaped[k] && a >= dirty_off ? try_sync_map(L, a - dirty_off, shaped) : 0;
    }
    if (size != 16 || t >= L->mem.nheap || L->mem.d->objects[t].nfields != 1) return 0;
    const uint8_t *box = mp_gdmem_read(&L->mem, w, 8);
    size_t k = box ? map_index(L, mp_gd_rd64(box)) : SIZE_MAX;
    return k != SIZE_MAX && shaped[k] && a >= box_off ? try_sync_map(L, a - box_off, shaped) : 0;
}

/* sync.Maps wherever they are (a global, a field of a global struct or of
 * one on the heap, a frame's word), by their shape, without the binary's
 * types: every word that holds a map of a sync.Map's shape, or a box
 * holding one, is tried as the sync.Map's dirty map or read box (see
 * try_sync_map). */
static int find_sync_shapes(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    uint8_t *shaped = calloc(L->nmaps ? L->nmaps : 1, 1);
    bool any = false;
    if (!shaped) return -1;
    for (size_t k = 0; k < L->nmaps; k++) any |= shaped[k] = sync_shaped(L, &L->maps[k]);
    int rc = 0;
    for (size_t r = 0; any && !rc && r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        uint64_t w;
        if (x->target != NONE && word_at(L, x->slot, &w))
            rc = sync_map_candidate(L, x->slot, w, x->target, shaped);
    }
    for (size_t i = 0; any && !rc && i < L->mem.nheap; i++) {
        const mf_gd_object *o = &d->objects[i];
        if (!L->reached[i]) continue;
        uint64_t pos = o->fields, e = L->estart[i];
        for (uint32_t k = 0; !rc && k < o->nfields; k++, e++) {
            uint64_t off = mf_gd_next_field(d, &pos);
            if (L->edst[e] == NONE || off + 8 > o->size) continue;
            rc = sync_map_candidate(L, o->addr + off, mp_gd_rd64(d->data + o->contents + off),
                                    L->edst[e], shaped);
        }
    }
    free(shaped);
    return rc;
}

/* A global slice of structs, or of pointers to structs, that hold maps
 * in their fields ([]*Depot, each Depot with two maps) types those maps:
 * the binary knows the element type, the dump holds the slice's array
 * and elements. Each map not yet typed exactly is recognised again with
 * its field's type (kept only if it checks out): maps of two types that
 * share a bucket layout are no longer a guess. Runs before
 * type_inner_maps, which passes the types on. */
static void type_slice_maps(loader *L)
{
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_GLOBAL || x->target == NONE) continue;
        mp_goinner in[16];
        uint64_t es = 0, array, len;
        size_t n = mp_gobin_slice_maps(L->mem.bin, x->slot, &es, in, 16);
        if (!n || !word_at(L, x->slot, &array) || !word_at(L, x->slot + 8, &len) || !array)
            continue;
        for (uint64_t i = 0; i < len; i++) {
            uint64_t elem = array + i * es, first;
            if (!word_at(L, elem, &first)) break; /* past what the dump holds */
            if (in[0].deref) elem = first;
            for (size_t k = 0; elem && k < n; k++) {
                uint64_t w;
                size_t j = word_at(L, elem + in[k].offset, &w) ? map_index(L, w) : SIZE_MAX;
                if (j != SIZE_MAX && !(L->maps[j].type && !L->maps[j].inferred))
                    retype(L, &L->maps[j], in[k].map);
            }
        }
    }
}

/* With the binary, the maps of a sync.Map found by its shape that no
 * typed word typed exactly (one on the heap) take the program's type of
 * a sync.Map's maps, kept only if they check out under it. */
static void type_sync_maps(loader *L)
{
    for (size_t i = 0; i < L->npairs; i++) {
        size_t ks[2] = {L->pairs[i].dirty, L->pairs[i].read};
        for (int j = 0; j < 2; j++) {
            mp_gomap *m = ks[j] != SIZE_MAX ? &L->maps[ks[j]] : NULL;
            if (!m || (m->type && !m->inferred)) continue;
            const mp_gomaptype *c[64];
            size_t nc = mp_gobin_maps_of_bucket(L->mem.bin, m->bs, c, 64);
            for (size_t k = 0; k < nc && k < 64; k++)
                if (strcmp(c[k]->name, "map[interface {}]*sync.entry") == 0) retype(L, m, c[k]);
        }
    }
}

/* Range iterators: 8 pointer words in a row of a frame (key, elem, t, h,
 * buckets, bptr, overflow, oldoverflow) whose h is a recognised map and
 * whose t points outside the heap (the map type, in read-only data). Their
 * words become iterator roots. */
static void mark_iterators(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t r = 0; r < L->nroots; r++) {
        rootw *x = &L->roots[r];
        if ((x->kind != MP_ROOT_STACK && x->kind != MP_ROOT_RUNTIME) || x->frame == NONE) continue;
        const mf_gd_frame *f = &d->frames[x->frame];
        /* x may be any of the 8 words: try each position */
        for (unsigned w = 0; w < 8; w++) {
            if (x->frame_off < 8ull * w) break;
            uint64_t it = x->frame_off - 8ull * w;
            if (it + 96 > f->contents.len) continue;
            const uint8_t *p = d->data + f->contents.off + it;
            uint64_t t = mp_gd_rd64(p + 16), h = mp_gd_rd64(p + 24);
            if (!t || !h || mf_gd_find(d, t) != SIZE_MAX || !map_at(L, h)) continue;
            uint8_t B = p[74];
            if (B != map_at(L, h)->B && !map_at(L, h)->oldbuckets) continue;
            x->kind = MP_ROOT_ITERATOR;
            break;
        }
    }
}

/* ------------------------------------------------------------ graph --- */

typedef struct graphing {
    mp_graph_builder *b;
    uint32_t *newix; /* unified -> provisional graph index, MP_NONE unreachable */
    uint32_t t_hmap, t_bucket, t_extra, t_list, t_frame;
} graphing;

/* The name of a sync.Map's word that holds one of its maps, as Go names
 * the field: "main.sessionStore.dirty", "main.sessionStore.read" (the
 * atomic value's data word); false for any other word. */
static bool sync_map_word(const loader *L, uint64_t slot, char *buf, size_t size)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t dirty_off = ptr_read ? 16 : 24, read_off = ptr_read ? 8 : 16;
    for (size_t i = 0; i < L->npairs; i++) {
        uint64_t base = L->pairs[i].base;
        if (slot != base + dirty_off && slot != base + read_off) continue;
        char name[256];
        if (!L->mem.bin || !mp_gobin_symbol(L->mem.bin, base, name, sizeof name)) return false;
        snprintf(buf, size, "%s.%s", name, slot == base + dirty_off ? "dirty" : "read");
        return true;
    }
    return false;
}

/* The name of a global's address a: the binary's symbol ("main.tables+8"),
 * else its segment and offset ("bss+0x7c8", as `go tool nm` places it). */
static void global_name(const loader *L, uint64_t a, char *buf, size_t size)
{
    const mf_gd_dump *d = L->mem.d;
    if (L->mem.bin && mp_gobin_symbol(L->mem.bin, a, buf, size)) return;
    bool bss = d->bss_seg.present && a - d->bss_seg.start < d->bss_seg.contents.len;
    snprintf(buf, size, "%s+0x%" PRIx64, bss ? "bss" : "data",
             a - (bss ? d->bss_seg.start : d->data_seg.start));
}

static mp_sid root_name(loader *L, mp_graph_builder *b, const rootw *x)
{
    char buf[300];
    const mf_gd_dump *d = L->mem.d;
    if (x->kind == MP_ROOT_GLOBAL || (x->kind == MP_ROOT_RUNTIME && x->frame == NONE)) {
        if (sync_map_word(L, x->slot, buf, sizeof buf)) return mp_gb_intern(b, buf);
        global_name(L, x->slot, buf, sizeof buf);
        return mp_gb_intern(b, buf);
    }
    if (x->kind == MP_ROOT_FINALIZER) {
        const mf_gd_finalizer *f = &d->finalizers[x->finalizer];
        snprintf(buf, sizeof buf, "%sfinalizer of 0x%" PRIx64, f->queued ? "queued " : "", f->obj);
        return mp_gb_intern(b, buf);
    }
    return 0;
}

static void add_roots(loader *L, graphing *G)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t i = 0; i < L->nroots; i++) {
        rootw *x = &L->roots[i];
        if (x->kind == MP_ROOT_GLOBAL && L->mem.bin) {
            char buf[300];
            if (mp_gobin_symbol(L->mem.bin, x->slot, buf, sizeof buf) &&
                (strncmp(buf, "runtime.", 8) == 0 || strncmp(buf, "internal/", 9) == 0))
                x->kind = MP_ROOT_RUNTIME;
        }
        mp_root r = {.kind = x->kind, .slot = x->slot, .target = G->newix[x->target]};
        r.name = root_name(L, G->b, x);
        if (x->frame != NONE) {
            const mf_gd_frame *f = &d->frames[x->frame];
            const mf_gd_goroutine *g = &d->goroutines[f->goroutine];
            r.thread = (uint32_t)g->goid;
            r.frame = (uint32_t)f->depth;
            r.has_frame_offset = true;
            r.frame_offset = x->frame_off;
            r.function = mp_gb_string(G->b, (const char *)d->data + f->name.off, f->name.len);
            char st[64];
            if (g->waitreason.len)
                snprintf(st, sizeof st, "%.*s", (int)g->waitreason.len,
                         (const char *)d->data + g->waitreason.off);
            else
                snprintf(st, sizeof st, "%s",
                         g->status == 1   ? "runnable"
                         : g->status == 3 ? "syscall"
                                          : "");
            r.state = mp_gb_intern(G->b, st);
            const char *file;
            int line;
            if (L->mem.bin &&
                mp_gobin_line(L->mem.bin, f->pc > f->entry ? f->pc - 1 : f->pc, &file, &line)) {
                char shown[1024];
                r.file = mp_gb_intern(G->b, mp_display_path(file, shown, sizeof shown));
                r.line = line;
            }
        } else if (x->kind == MP_ROOT_GLOBAL && L->mem.bin) {
            (void)0;
        }
        mp_gb_root(G->b, &r, 0);
    }
}

/* The allocation stacks of the memory profile, and the sampled objects. */
static int add_samples(loader *L, graphing *G)
{
    const mf_gd_dump *d = L->mem.d;
    if (!d->nsamples || !d->nmemprof) return 0;
    /* (bucket address, stack) pairs sorted by address, for the samples */
    struct pair {
        uint64_t addr;
        uint32_t stack;
    } *by = malloc(d->nmemprof * sizeof *by);
    if (!by) return -1;
    mp_gframe fr[64];
    for (size_t i = 0; i < d->nmemprof; i++) {
        const mf_gd_memprof *m = &d->memprof[i];
        uint64_t pos = m->frames;
        size_t k = 0;
        for (uint64_t j = 0; j < m->nstk; j++) {
            mf_gd_bytes fn, file;
            uint64_t line;
            mf_gd_memprof_next(d, &pos, &fn, &file, &line);
            if (k == 64) continue;
            char fb[256], fl[512];
            snprintf(fb, sizeof fb, "%.*s", (int)(fn.len < 255 ? fn.len : 255),
                     (const char *)d->data + fn.off);
            snprintf(fl, sizeof fl, "%.*s", (int)(file.len < 511 ? file.len : 511),
                     (const char *)d->data + file.off);
            char shown[512];
            mp_display_path(fl, shown, sizeof shown);
            fr[k++] = mp_gb_frame(G->b, fb, shown, line <= INT32_MAX ? (int64_t)line : 0);
        }
        by[i].addr = m->addr;
        by[i].stack = mp_gb_stack(G->b, fr, k);
    }
    _Static_assert(offsetof(struct pair, addr) == 0, "sorted by the leading address");
    qsort(by, d->nmemprof, sizeof *by, cmp_u64);
    for (size_t s = 0; s < d->nsamples; s++) {
        size_t lo = 0, hi = d->nmemprof;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (by[mid].addr < d->samples[s].bucket)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == d->nmemprof || by[lo].addr != d->samples[s].bucket) continue;
        size_t o = mf_gd_find(d, d->samples[s].obj);
        if (o == SIZE_MAX || G->newix[o] == MP_NONE || by[lo].stack == MP_NONE) continue;
        mp_gb_object_stack(G->b, G->newix[o], by[lo].stack);
    }
    free(by);
    return 0;
}

/* Types for what the dump leaves untyped: map headers and buckets (the
 * objects holding a recognised map's table), and, with the binary, the
 * objects a map's pointer values point to. */
static void type_table(loader *L, graphing *G, const mp_gomap *m)
{
    uint32_t objs[3] = {m->obj, NONE, NONE};
    uint32_t types[3] = {G->t_hmap, G->t_bucket, G->t_bucket};
    if (m->buckets) objs[1] = mp_gdmem_find(&L->mem, m->buckets);
    if (m->oldbuckets) objs[2] = mp_gdmem_find(&L->mem, m->oldbuckets);
    for (int i = 0; i < 3; i++)
        if (objs[i] != NONE && G->newix[objs[i]] != MP_NONE)
            mp_gb_object_type(G->b, G->newix[objs[i]], types[i]);
}

/* mapextra and the overflow lists it keeps (pointer-free maps keep their
 * overflow buckets alive through them): part of the table, no buckets. */
static void add_extra(loader *L, graphing *G, const mp_gomap *m, uint32_t map)
{
    if (!m->extra) return;
    uint32_t ex = mp_gdmem_find(&L->mem, m->extra);
    if (ex == NONE || G->newix[ex] == MP_NONE) return;
    uint32_t objs[5] = {ex, NONE, NONE, NONE, NONE};
    size_t n = 1;
    const uint8_t *p = mp_gdmem_read(&L->mem, m->extra, 16);
    for (int j = 0; p && j < 2; j++) { /* overflow, oldoverflow: *[]*bmap */
        uint64_t sl = mp_gd_rd64(p + 8 * j);
        const uint8_t *hdr = sl ? mp_gdmem_read(&L->mem, sl, 8) : NULL;
        uint32_t so = sl ? mp_gdmem_find(&L->mem, sl) : NONE;
        if (so == NONE) continue;
        objs[n++] = so;
        uint32_t arr = hdr && mp_gd_rd64(hdr) ? mp_gdmem_find(&L->mem, mp_gd_rd64(hdr)) : NONE;
        if (arr != NONE) objs[n++] = arr;
    }
    for (size_t i = 0; i < n; i++) {
        if (G->newix[objs[i]] == MP_NONE) continue;
        mp_bucket bk = {.map = map, .obj = G->newix[objs[i]], .index = UINT64_MAX, .aux = 1};
        mp_gb_bucket(G->b, &bk, 0);
        mp_gb_object_type(G->b, G->newix[objs[i]], i == 0 ? G->t_extra : G->t_list);
    }
}

/* An object of map `map`'s table that holds no slots (graph.h: aux). */
static void add_aux(loader *L, graphing *G, uint32_t map, uint64_t a)
{
    uint32_t o = a ? mp_gdmem_find(&L->mem, a) : NONE;
    if (o == NONE || G->newix[o] == MP_NONE) return;
    mp_bucket bk = {.map = map, .obj = G->newix[o], .index = UINT64_MAX, .aux = 1};
    mp_gb_bucket(G->b, &bk, 0);
}

/* The bucket arrays of map r and the overflow buckets chained to them, as
 * objects of another map's table (map): its header the caller adds. A
 * chain goes on through the spare buckets an array holds past its own
 * (already in, with the array) and ends at nil or at the array's start
 * (where Go's last spare bucket points); the hops over all chains of an
 * array are bounded by what a recognised map can have (the dump is not
 * trusted). *nmain: the main buckets of its arrays; *noverflow: the
 * overflow buckets of their chains (spares in an array, or objects of
 * their own), as a map's own are counted. */
static void add_aux_table(loader *L, graphing *G, uint32_t map, const mp_gomap *r, uint64_t *nmain,
                          uint64_t *noverflow)
{
    *nmain = *noverflow = 0;
    uint64_t arrays[2] = {r->buckets, r->oldbuckets};
    uint64_t nb[2] = {1ull << r->B, (r->flags & 8) ? 1ull << r->B : 1ull << (r->B ? r->B - 1 : 0)};
    for (int i = 0; i < 2; i++) {
        if (!arrays[i] || !r->bs) continue;
        add_aux(L, G, map, arrays[i]);
        *nmain += nb[i];
        uint32_t arr = mp_gdmem_find(&L->mem, arrays[i]);
        uint64_t budget = 2 * nb[i] + r->count + r->noverflow + 64;
        for (uint64_t b = 0; b < nb[i] && arr != NONE && budget; b++) {
            for (uint64_t at = arrays[i] + b * r->bs; budget; budget--) {
                const uint8_t *w = mp_gdmem_read(&L->mem, at + r->bs - 8, 8);
                uint64_t next = w ? mp_gd_rd64(w) : 0;
                if (!next || next == arrays[i]) break;
                if (mp_gdmem_find(&L->mem, next) != arr) add_aux(L, G, map, next);
                ++*noverflow;
                at = next;
            }
        }
    }
    if (r->extra) add_aux(L, G, map, r->extra);
}

/* The readOnly struct a sync.Map's atomic value boxes its read map in,
 * typed as Go names it. */
static void type_box(loader *L, graphing *G, const struct syncpair *p)
{
    uint32_t o = p->box ? mp_gdmem_find(&L->mem, p->box) : NONE;
    if (o != NONE && G->newix[o] != MP_NONE)
        mp_gb_object_type(G->b, G->newix[o],
                          mp_gb_type(G->b, "sync.readOnly", mp_gdmem_obj_size(&L->mem, o),
                                     MP_TYPE_STRUCT));
}

/* A sync.Map's dirty map (pair p) takes into its table the read map's
 * header, buckets and the readOnly box: one map, its entries the dirty
 * map's (every live key of the read map is there too), its bytes both. */
static void join_read_map(loader *L, graphing *G, uint32_t map, const struct syncpair *p)
{
    const mp_gomap *r = &L->maps[p->read];
    add_aux(L, G, map, p->box);
    type_box(L, G, p);
    add_aux(L, G, map, r->addr);
    uint64_t nmain, noverflow;
    add_aux_table(L, G, map, r, &nmain, &noverflow);
    mp_gb_map_sync_read(G->b, map, nmain, noverflow);
    type_table(L, G, r);
}

/* The key kind of map mi (m) where only its entries tell it: keys of an
 * interface type are pointer keys when every key's dynamic type is a
 * pointer (mp_gomap_key_kind). When they are not, or not all of them
 * could be told, the key type (an interface type, of such maps alone: a
 * map whose keys are pointers is judged by its key kind first) says that
 * keeping a key keeps no pointer of the program's (findings.h,
 * POINTER_KEYS): a boxed string or number is the key's value, as a
 * string key's bytes are. */
static void key_kind_of_entries(graphing *G, const mp_gomap *m, uint32_t mi, uint32_t key_type)
{
    uint8_t kind = mp_gomap_key_kind(m);
    if (kind == m->key_kind) return;
    mp_gb_map_key_kind(G->b, mi, kind);
    if (kind != MP_KEY_PTR && key_type != MP_NONE)
        mp_gb_type_pointers(G->b, key_type, MP_PTRS_NONE);
}

static int add_maps(loader *L, graphing *G)
{
    for (size_t k = 0; k < L->nmaps; k++) {
        mp_gomap *m = &L->maps[k];
        if (G->newix[m->obj] == MP_NONE || is_read_of_pair(L, k)) continue;
        const struct syncpair *pair = sync_map_of(L, k);
        bool joined = pair && pair->dirty != SIZE_MAX && pair->read != SIZE_MAX;
        mp_map x = {.header = G->newix[m->obj],
                    .address = m->addr,
                    .type_name = mp_gb_intern(G->b, m->name),
                    .key_kind = m->key_kind,
                    .key_type = MP_NONE,
                    .value_type = MP_NONE,
                    .count = m->count,
                    .B = m->B,
                    .flags = m->flags,
                    .noverflow = m->noverflow,
                    .hash0 = m->hash0,
                    .hash0_known = true,
                    .buckets = MP_NONE,
                    .oldbuckets = MP_NONE,
                    .nevacuate = m->nevacuate,
                    .bucket_size = m->bs,
                    .key_size = m->ksize,
                    .value_size = m->vsize,
                    .types_inferred = m->inferred,
                    .sync_map = !pair ? MP_SYNC_NONE : joined ? MP_SYNC_JOINED : MP_SYNC_ALONE};
        if (pair && in_globals(L, pair->base)) { /* else on the heap or a stack: no name */
            char name[300];
            global_name(L, pair->base, name, sizeof name);
            x.container = mp_gb_intern(G->b, name);
        }
        uint32_t o;
        if (m->buckets && (o = mp_gdmem_find(&L->mem, m->buckets)) != NONE) x.buckets = G->newix[o];
        if (m->oldbuckets && (o = mp_gdmem_find(&L->mem, m->oldbuckets)) != NONE) {
            x.oldbuckets = G->newix[o];
            x.noldbuckets = (m->flags & 8) ? 1ull << m->B : 1ull << (m->B ? m->B - 1 : 0);
        }
        /* the value type: what the objects values point to are (with the
         * binary), else the value slot's type */
        if (m->type && !m->inferred) {
            const char *vn = m->type->value_name;
            if (m->type->value_kind == MP_GOKIND_PTR && vn[0] == '*')
                x.value_type = mp_gb_type(G->b, vn + 1, 0, MP_TYPE_STRUCT);
            else
                x.value_type = mp_gb_type(G->b, vn, m->vsize, MP_TYPE_OTHER);
            x.key_type = mp_gb_type(G->b, m->type->key_name, m->type->key_size,
                                    m->key_kind == MP_KEY_STRING ? MP_TYPE_STRING : MP_TYPE_OTHER);
        } else if (m->bs) {
            char vn[40];
            mp_gomap_slot_name(vn, sizeof vn, m->vsize, m->vpat, false);
            x.value_type = mp_gb_type(G->b, vn, m->vsize, MP_TYPE_OTHER);
            bool itab;
            if (mp_gomap_interface_keys(m, &itab)) /* told by their shape */
                x.key_type = mp_gb_type(G->b, itab ? "interface {...}" : "interface {}", 16,
                                        MP_TYPE_OTHER);
        }
        uint32_t mi = mp_gb_map(G->b, &x);
        if (mi == MP_NONE) return -1;
        type_table(L, G, m);
        mp_gomap_emit(&L->mem, m, G->b, G->newix, mi,
                      m->type && !m->inferred && m->type->value_kind == MP_GOKIND_PTR ? x.value_type
                                                                                      : MP_NONE);
        mp_gb_map_nan_keys(G->b, mi, m->nan_keys);
        key_kind_of_entries(G, m, mi, x.key_type);
        add_extra(L, G, m, mi);
        if (joined)
            join_read_map(L, G, mi, pair);
        else if (pair)
            type_box(L, G, pair);
    }
    return 0;
}

/* Every reachable object, heap and frame objects merged in address order,
 * with its edges; newix maps unified indices to the builder's. */
static int add_objects(loader *L, graphing *G, size_t nreached)
{
    const mf_gd_dump *d = L->mem.d;
    size_t n = mp_gdmem_nobj(&L->mem);
    G->newix = malloc((n ? n : 1) * sizeof *G->newix);
    uint64_t *addr = malloc((nreached ? nreached : 1) * sizeof *addr);
    uint64_t *size = malloc((nreached ? nreached : 1) * sizeof *size);
    uint32_t *type = malloc((nreached ? nreached : 1) * sizeof *type);
    uint32_t *order = malloc((nreached ? nreached : 1) * sizeof *order);
    if (!G->newix || !addr || !size || !type || !order) {
        free(addr), free(size), free(type), free(order);
        return -1;
    }
    size_t k = 0, h = 0, f = 0;
    while (h < L->mem.nheap || f < L->mem.nfobjs) {
        bool take_heap =
            f == L->mem.nfobjs || (h < L->mem.nheap && d->objects[h].addr < L->mem.fobjs[f].addr);
        uint32_t u = take_heap ? (uint32_t)h++ : (uint32_t)(L->mem.nheap + f++);
        if (!L->reached[u]) {
            G->newix[u] = MP_NONE;
            continue;
        }
        G->newix[u] = (uint32_t)k;
        order[k] = u;
        addr[k] = mp_gdmem_obj_addr(&L->mem, u);
        size[k] = mp_gdmem_obj_size(&L->mem, u);
        type[k] = u >= L->mem.nheap ? G->t_frame : MP_NONE;
        k++;
    }
    mp_gb_adopt_objects(G->b, addr, size, type, k);
    /* each edge with its offset (the fields in the order resolve_edges
     * took them): what a map entry holds is the bucket's pointers in its
     * key and value slots */
    for (size_t i = 0; i < k; i++) {
        uint32_t u = order[i];
        uint64_t e = L->estart[u];
        if (u < L->mem.nheap) {
            const mf_gd_object *o = &d->objects[u];
            uint64_t pos = o->fields;
            for (uint32_t f2 = 0; f2 < o->nfields; f2++, e++) {
                uint64_t off = mf_gd_next_field(d, &pos);
                if (L->edst[e] != NONE) mp_gb_edge_at(G->b, (uint32_t)i, G->newix[L->edst[e]], off);
            }
        } else {
            const mp_gd_fobj *x = &L->mem.fobjs[u - L->mem.nheap];
            for (unsigned w = 0; w < 320 && 8ull * w + 8 <= x->size; w++) {
                if (!mp_gd_bit_get(x->pat, w)) continue;
                if (L->edst[e] != NONE)
                    mp_gb_edge_at(G->b, (uint32_t)i, G->newix[L->edst[e]], 8ull * w);
                e++;
            }
        }
    }
    free(order);
    return 0;
}

static int load(loader *L, const char *binary, mp_graph **out)
{
    const mf_gd_dump *d = L->mem.d;
    mf_error *err = L->err;
    const mf_gd_params *pm = &d->params;
    char version[64];
    snprintf(version, sizeof version, "%.*s", (int)(pm->version.len < 63 ? pm->version.len : 63),
             (const char *)d->data + pm->version.off);
    if (pm->go_major != 1 || pm->go_minor < 7) {
        mf_error_set(err,
                     "%s: written by an unknown Go version \"%s\": dumps of Go 1.7 to 1.23 "
                     "are read",
                     d->name, version);
        return -1;
    }
    if (pm->go_minor >= 24) {
        mf_error_set(err,
                     "%s: written by %s: Go 1.24 and later keep maps as Swiss tables, "
                     "which maproot does not recognise: refused rather than misread "
                     "(the classic maps of Go 1.7 to 1.23 are read)",
                     d->name, version);
        return -1;
    }
    if (binary && mp_gobin_open(binary, &L->mem.bin, err)) return -1;
    L->mem.frames_by_sp = malloc((d->nframes ? d->nframes : 1) * sizeof *L->mem.frames_by_sp);
    if (!L->mem.frames_by_sp) goto oom;
    for (size_t i = 0; i < d->nframes; i++) L->mem.frames_by_sp[i] = (uint32_t)i;
    qsort_r(L->mem.frames_by_sp, d->nframes, sizeof *L->mem.frames_by_sp, cmp_frame_sp, (void *)d);
    uint64_t nreached;
    if (collect_iterator_types(L) || find_frame_maps(L) || resolve_edges(L) || collect_roots(L) ||
        mark(L, &nreached) || find_maps(L))
        goto oom;
    if (L->nmaps > 1) qsort(L->maps, L->nmaps, sizeof *L->maps, cmp_map_addr);
    if (L->mem.bin) type_frame_maps(L);
    if (L->mem.bin) type_boxed_maps(L);
    if (L->mem.bin) type_slice_maps(L);
    if (L->mem.bin && (type_inner_maps(L) || find_sync_maps(L))) goto oom;
    if (find_sync_shapes(L)) goto oom;
    if (L->mem.bin) type_sync_maps(L);
    mark_iterators(L);

    graphing G = {.b = mp_gb_new(d->name, "godump")};
    if (!G.b) goto oom;
    uint64_t unreached_bytes = 0;
    for (size_t i = 0; i < mp_gdmem_nobj(&L->mem); i++)
        if (!L->reached[i]) unreached_bytes += mp_gdmem_obj_size(&L->mem, (uint32_t)i);
    mp_gb_set_info(G.b, binary ? mf_path_base(binary) : "", 0, 0, (uint32_t)d->num_gc, 8, 0,
                   d->memstats[MF_GD_MS_HEAP_ALLOC]);
    mp_gb_set_origin(G.b, "goroutine", version, mp_gdmem_nobj(&L->mem) - nreached, unreached_bytes);
    G.t_hmap = mp_gb_type(G.b, "runtime.hmap", 48, MP_TYPE_MAP_HEADER);
    G.t_bucket = mp_gb_type(G.b, "runtime.bmap", 0, MP_TYPE_BUCKET);
    G.t_extra = mp_gb_type(G.b, "runtime.mapextra", 24, MP_TYPE_RUNTIME);
    G.t_list = mp_gb_type(G.b, "[]*runtime.bmap", 0, MP_TYPE_RUNTIME);
    G.t_frame = G.t_hmap;
    if (add_objects(L, &G, nreached)) {
        mp_gb_free(G.b);
        free(G.newix);
        goto oom;
    }
    /* frame objects that are buckets, not headers */
    for (size_t i = 0; i < L->mem.nfobjs; i++)
        if (!L->mem.fobjs[i].hmap && G.newix[L->mem.nheap + i] != MP_NONE)
            mp_gb_object_type(G.b, G.newix[L->mem.nheap + i], G.t_bucket);
    add_roots(L, &G);
    if (add_maps(L, &G) || add_samples(L, &G) || L->mem.oom) {
        mp_gb_free(G.b);
        free(G.newix);
        goto oom;
    }
    free(G.newix);
    return mp_gb_finish(G.b, out, err);
oom:
    mf_error_set(err, "%s: out of memory loading the dump (%zu objects)", d->name, d->nobjects);
    return -1;
}

int mp_load_godump_dump(const mf_gd_dump *d, const char *binary, mp_graph **out, mf_error *err)
{
    *out = NULL;
    mp_gd_memo memo = {0, NONE};
    loader L = {.mem = {.d = d, .nheap = d->nobjects, .start_memo = &memo}, .err = err};
    int rc = load(&L, binary, out);
    mp_gobin_close(L.mem.bin);
    free(L.mem.fobjs);
    free(L.mem.frames_by_sp);
    free(L.estart);
    free(L.edst);
    free(L.reached);
    free(L.roots);
    free(L.maps);
    free(L.itypes);
    free(L.pairs);
    free(L.mem.scratch);
    return rc;
}

int mp_load_godump_in(mf_in *in, const mf_limits *lim, const char *binary, FILE *progress,
                      mp_graph **out, mf_error *err)
{
    *out = NULL;
    mf_gd_dump *d;
    if (progress) {
        fprintf(progress, "\rmaproot: reading %s", mf_in_name(in));
        fflush(progress);
    }
    int rc = mf_gd_open_in(in, lim, &d, err);
    if (!rc) {
        rc = mp_load_godump_dump(d, binary, out, err);
        mf_gd_close(d);
    }
    if (progress) {
        fprintf(progress, "\r\033[K");
        fflush(progress);
    }
    return rc;
}
