/*
 * src/analyze/load_godump.c -- Go heap dump -> heap graph.
 *
 * Objects are numbered in one space: the dump's heap objects (address
 * order) first, then "frame objects": the hmaps (and their first bucket)
 * that live inside a goroutine frame, cut out of the frame so that a map
 * on a stack is a map like any other. Pointer words are resolved once into
 * a CSR of targets; the reachable set is marked from the roots; maps are
 * recognised among the reachable hmaps (load_godump_maps.c); then
 * everything reachable is handed to the graph builder in address order
 * (load_godump_graph.c). This file holds the steps up to reachability and
 * the driver that runs them all; what they share is
 * load_godump_internal.h. Reads of the dump's memory are godump_mem.c's;
 * what makes an hmap a map, and its buckets and entries, godump_maps.c's.
 */
#include "analyze/load_godump.h"

#include "analyze/load_godump_internal.h"
#include "format/bits.h"
#include "format/zeroed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_frame_sp(const void *a, const void *b, void *ud);

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

const mp_gomaptype *mp_gdl_iterator_type(const loader *L, uint64_t h)
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
        const mp_gomaptype *exact = mp_gdl_iterator_type(L, a);
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
            for (int w = 0; w < 5; w++) total += (uint64_t)mf_popcount64(x->pat[w]);
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
    L->reached = mf_zeroed(n ? n : 1, 1);
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

/* ------------------------------------------------------------ load --- */

/* The one error of a step that ran out of memory, naming the dump. */
int mp_gdl_oom(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    mf_error_set(L->err, "%s: out of memory loading the dump (%zu objects)", d->name, d->nobjects);
    return -1;
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
        mark(L, &nreached) || mp_gdl_find_maps(L))
        goto oom;
    return mp_gdl_graph(L, binary, version, nreached, out);
oom:
    return mp_gdl_oom(L);
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
