/*
 * src/collector/snapshot_image.c -- the image of the heap in a root snapshot:
 * see snapshot_image.h.
 *
 * The image is written in three passes over the heap as the walk API shows
 * it at MR_GC_MARK_DONE (in the forked child, or in the event itself):
 *   1. the object records, straight from mr_walk_objects(live_only), which
 *      goes in address order (nothing is held per object);
 *   2. the edges of each object, from a second such walk: its pointer fields
 *      as its type descriptor lists them (the same words mr_walk_edges
 *      reports; a non-NULL word counts when it points into a marked object,
 *      and is written as that object's start). The words of thousands of
 *      objects are checked at once with mr_resolve_marked, which overlaps
 *      the cache misses of the checks;
 *   3. roots (with frames and symbols), maps (geometry, every bucket and
 *      occupied slot, their key and value pointers checked in batches the
 *      same way), and the profiler's sampled objects with their allocation
 *      stacks.
 * The file is gzip with stored (uncompressed) blocks by default: see
 * mf_gsw_open for the measured trade-off; the encoding itself is kept small
 * (proto/gcstack.proto, version 2).
 */
#define UNW_LOCAL_ONLY
#include "collector/snapshot_image.h"

#include "collector/heapprof.h"
#include "collector/profiler.h"
#include "collector/symbolize.h"
#include "format/gcstack_writer.h"
#include "format/grow.h"
#include "format/names.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MAPROOT_VERSION
#define MAPROOT_VERSION "unknown"
#endif

int mrc__snapshot_gz_level = 0;

uint64_t mrc__now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------ the image --- */

/* Type descriptors seen so far -> type index + 1. */
typedef struct tmap {
    uintptr_t *keys;
    uint32_t *vals;
    size_t mask, n;
} tmap;

typedef struct img {
    mf_gs_writer *w;
    bool failed;
    mf_error err;
    size_t n;                /* live objects */
    uintptr_t last_type_key; /* the type of the previous object, and its index */
    uint32_t last_type;
    uint64_t bytes; /* their sizes */
    tmap types;
    uint64_t *maps; /* addresses of map headers */
    size_t nmaps, capmaps;
    mrc_symbolizer *sym;
    const char *exe; /* the program's path: the module of its own thread-local block */
    /* pc -> symbol index + 1 of its innermost frame, and count of frames */
    uint64_t *pc_keys;
    uint32_t *pc_first, *pc_count;
    size_t pc_mask, pc_n;
    uint64_t roots, entries;
    /* The words of live objects that the edge pass found pointing at a live
     * object: bit (address - lo) / 8, over [lo, hi), the span of the live
     * objects (NULL when it could not be had). The map pass reads a key's
     * or value's pointer field from this instead of checking the pointer
     * again: a map value is also an edge of its bucket, and each check is a
     * few cache misses. */
    uint64_t lo, hi;
    uint64_t *live_words;
} img;

/* Marks the word at address a as a checked pointer to a live object. */
static inline void live_word_set(img *im, uint64_t a)
{
    uint64_t i = (a - im->lo) >> 3;
    im->live_words[i >> 6] |= (uint64_t)1 << (i & 63);
}

/* Was the word at address a found to point at a live object? false when
 * unknown (outside the live objects, or no bitmap). */
static inline bool live_word(const img *im, uint64_t a)
{
    if (!im->live_words || a < im->lo || a >= im->hi || (a & 7)) return false;
    uint64_t i = (a - im->lo) >> 3;
    return im->live_words[i >> 6] >> (i & 63) & 1;
}

static void ifail(img *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ifail(img *im, const char *fmt, ...)
{
    if (im->failed) return;
    im->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(im->err.msg, sizeof im->err.msg, fmt, ap);
    va_end(ap);
}

static inline uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    return x;
}

static uint32_t intern_type(img *im, const mr_type *t, bool array);

/* The type index + 1 of descriptor t (an array of t when `array`): written
 * at first sight, with the element type first for arrays. */
static uint32_t type_index(img *im, const mr_type *t, bool array)
{
    if (!t) return 0;
    uintptr_t key = (uintptr_t)t | (array ? 1 : 0);
    tmap *m = &im->types;
    if (m->n * 2 >= m->mask + 1 || !m->keys) {
        size_t cap = m->keys ? (m->mask + 1) * 2 : 64;
        uintptr_t *k = calloc(cap, sizeof *k);
        uint32_t *v = malloc(cap * sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            ifail(im, "out of memory");
            return 0;
        }
        for (size_t i = 0; m->keys && i <= m->mask; i++) {
            if (!m->keys[i]) continue;
            size_t h = mix(m->keys[i]) & (cap - 1);
            while (k[h]) h = (h + 1) & (cap - 1);
            k[h] = m->keys[i];
            v[h] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = k;
        m->vals = v;
        m->mask = cap - 1;
    }
    size_t h = mix(key) & m->mask;
    while (m->keys[h]) {
        if (m->keys[h] == key) return m->vals[h];
        h = (h + 1) & m->mask;
    }
    uint32_t idx = intern_type(im, t, array);
    /* the table may have been rehashed by a nested call (array element) */
    h = mix(key) & m->mask;
    while (m->keys[h]) h = (h + 1) & m->mask;
    m->keys[h] = key;
    m->vals[h] = idx;
    m->n++;
    return idx;
}

static uint32_t intern_type(img *im, const mr_type *t, bool array)
{
    mf_gs_type gt = {.name = t->name ? t->name : "?",
                     .size = t->size,
                     .ptr_offsets = t->ptr_offsets,
                     .nptrs = t->nptrs,
                     .kind = (uint32_t)t->kind,
                     .elem = 0};
    char name[256];
    if (array) {
        /* an array object: its element type is an entry of its own (not
         * itself an array: the runtime's arrays are flat) */
        gt.elem = type_index(im, t, false);
        snprintf(name, sizeof name, "[]%s", gt.name);
        gt.name = name;
        gt.kind = MF_GS_KIND_ARRAY;
    }
    uint32_t i = mf_gsw_type(im->w, &gt);
    return i == UINT32_MAX ? 0 : i + 1;
}

/* Pass 1 (mr_walk_objects gives address order): each object record, its
 * type written at first sight; map headers remembered for later. */
static void write_object(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    img *im = ud;
    if (im->failed) return;
    uint64_t a = (uint64_t)(uintptr_t)obj;
    bool array = t && (count > 1 || t->kind == MR_KIND_ARRAY);
    /* neighbours mostly share their type: skip the lookup for a repeat */
    uintptr_t key = (uintptr_t)t | (array ? 1 : 0);
    if (key != im->last_type_key || !im->last_type_key) {
        im->last_type = t ? type_index(im, t, array) : 0;
        im->last_type_key = key;
    }
    if (mf_gsw_object(im->w, a, size, im->last_type)) {
        ifail(im, "object record");
        return;
    }
    if (!im->n) im->lo = a;
    im->hi = a + size;
    im->n++;
    im->bytes += size;
    if (t && t->kind == MR_KIND_MAP_HEADER) {
        if (im->nmaps == im->capmaps) {
            size_t cap = im->capmaps ? im->capmaps * 2 : 64;
            uint64_t *m = realloc(im->maps, cap * sizeof *m);
            if (!m) {
                ifail(im, "out of memory");
                return;
            }
            im->maps = m;
            im->capmaps = cap;
        }
        im->maps[im->nmaps++] = a;
    }
}

/*
 * Pass 2: the edges. A pointer field counts when its word points into a
 * marked object (the same words mr_walk_edges reports). Checking one word
 * costs a few dependent cache misses in the runtime's page map, span and
 * mark bits, so the non-NULL words of many consecutive objects are gathered
 * and checked together with mr_resolve_marked, then the edges of those
 * objects written in order. An object with more pointer fields than a batch
 * holds (a big bucket array) is done alone with buffers of its own.
 */
#define EDGE_BATCH 8192

typedef struct edgepass {
    img *im;
    uintptr_t *cand; /* candidate words, then the starts they resolve to */
    uint64_t *off;   /* their field offsets */
    uint64_t *tgt;   /* resolved targets, compacted per object */
    size_t ncand;
    uint64_t *obj; /* pending objects: address */
    uint32_t *nc;  /* and their number of candidates */
    size_t nobj;
} edgepass;

/* Checks the gathered candidates and writes the edges of the pending
 * objects. */
static void edges_flush(edgepass *ep)
{
    img *im = ep->im;
    mr_resolve_marked(ep->cand, ep->ncand, ep->cand);
    /* keep the live targets, in place (counts shrink to the edges kept) */
    size_t c = 0, k = 0;
    for (size_t i = 0; i < ep->nobj; i++) {
        uint32_t kept = 0;
        for (uint32_t j = 0; j < ep->nc[i]; j++, c++)
            if (ep->cand[c]) {
                ep->off[k] = ep->off[c];
                ep->tgt[k] = (uint64_t)ep->cand[c];
                if (im->live_words) live_word_set(im, ep->obj[i] + ep->off[k]);
                k++;
                kept++;
            }
        ep->nc[i] = kept;
    }
    if (!im->failed && mf_gsw_edges_many(im->w, ep->nobj, ep->obj, ep->nc, ep->off, ep->tgt))
        ifail(im, "edge record");
    ep->ncand = ep->nobj = 0;
}

/* Gathers the non-NULL pointer words of obj (as its type lists them) into
 * cand/off from index at; returns the new end. */
static size_t gather_words(const uint8_t *base, size_t size, const mr_type *t, bool array,
                           uintptr_t *cand, uint64_t *off, size_t at)
{
    size_t stride = t->size ? t->size : 1;
    size_t nel = array ? size / stride : 1;
    for (size_t e = 0; e < nel; e++)
        for (uint32_t k = 0; k < t->nptrs; k++) {
            size_t o = e * stride + t->ptr_offsets[k];
            if (o + sizeof(uintptr_t) > size) break;
            uintptr_t v;
            memcpy(&v, base + o, sizeof v);
            if (!v) continue;
            cand[at] = v;
            off[at] = o;
            at++;
        }
    return at;
}

static void edges_of_object(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    edgepass *ep = ud;
    img *im = ep->im;
    if (im->failed) return;
    bool array = t && (count > 1 || t->kind == MR_KIND_ARRAY);
    size_t most = 0;
    if (t && t->nptrs) {
        size_t nel = array ? size / (t->size ? t->size : 1) : 1;
        if (__builtin_mul_overflow(nel, (size_t)t->nptrs, &most)) {
            ifail(im, "object of %zu bytes has too many pointer fields", size);
            return;
        }
    }
    if (ep->nobj == EDGE_BATCH || ep->ncand + most > EDGE_BATCH) edges_flush(ep);
    if (most > EDGE_BATCH) {
        /* a big object (a bucket array): its words a batch at a time, its
         * edges given to the writer in pieces */
        if (mf_gsw_edges_begin(im->w, (uint64_t)(uintptr_t)obj)) {
            ifail(im, "edge record");
            return;
        }
        const uint8_t *base = obj;
        size_t stride = t->size ? t->size : 1, nel = array ? size / stride : 1, e = 0;
        uint32_t k = 0; /* the next field: pointer k of element e */
        while (e < nel && !im->failed) {
            size_t n = 0;
            for (; e < nel && n < EDGE_BATCH; k = k + 1 < t->nptrs ? k + 1 : (e++, 0)) {
                size_t o = e * stride + t->ptr_offsets[k];
                if (o + sizeof(uintptr_t) > size) {
                    k = t->nptrs - 1; /* the element's later fields are beyond too */
                    continue;
                }
                uintptr_t v;
                memcpy(&v, base + o, sizeof v);
                if (!v) continue;
                ep->cand[n] = v;
                ep->off[n] = o;
                n++;
            }
            mr_resolve_marked(ep->cand, n, ep->cand);
            size_t kept = 0;
            for (size_t j = 0; j < n; j++)
                if (ep->cand[j]) {
                    ep->off[kept] = ep->off[j];
                    ep->tgt[kept] = (uint64_t)ep->cand[j];
                    if (im->live_words) live_word_set(im, (uint64_t)(uintptr_t)obj + ep->off[kept]);
                    kept++;
                }
            if (mf_gsw_edges_add(im->w, kept, ep->off, ep->tgt)) ifail(im, "edge record");
        }
        if (mf_gsw_edges_end(im->w)) ifail(im, "edge record");
        return;
    }
    size_t end = most ? gather_words(obj, size, t, array, ep->cand, ep->off, ep->ncand) : ep->ncand;
    ep->obj[ep->nobj] = (uint64_t)(uintptr_t)obj;
    ep->nc[ep->nobj] = (uint32_t)(end - ep->ncand);
    ep->nobj++;
    ep->ncand = end;
}

static void write_edges(img *im)
{
    edgepass ep = {.im = im};
    /* a bit per word of the live objects' span; calloc'd pages are touched
     * only where live pointers are (without it the map pass checks each) */
    uint64_t words = im->n ? (im->hi - im->lo + 7) / 8 : 0;
    if (words && words / 64 + 1 <= SIZE_MAX / 8)
        im->live_words = calloc((size_t)(words / 64 + 1), sizeof(uint64_t));
    ep.cand = malloc(EDGE_BATCH * sizeof *ep.cand);
    ep.off = malloc(EDGE_BATCH * sizeof *ep.off);
    ep.tgt = malloc(EDGE_BATCH * sizeof *ep.tgt);
    ep.obj = malloc(EDGE_BATCH * sizeof *ep.obj);
    ep.nc = malloc(EDGE_BATCH * sizeof *ep.nc);
    if (!ep.cand || !ep.off || !ep.tgt || !ep.obj || !ep.nc)
        ifail(im, "out of memory");
    else {
        mr_walk_objects(true, edges_of_object, &ep);
        if (!im->failed) edges_flush(&ep);
    }
    free(ep.cand);
    free(ep.off);
    free(ep.tgt);
    free(ep.obj);
    free(ep.nc);
}

/* Symbol index + 1 of the innermost frame of pc (a return address minus one
 * or an exact pc), writing the symbols of all its (inlined) frames at first
 * sight; *count gets their number. 0 when unknown. */
/* A code address that no symbol names (a stripped program) as its module
 * and the offset into the module's file: "server+0x1445". Unlike the
 * address, it is the same in every run, and addr2line or a debug copy of
 * the module turns it into a line. "" when no mapping holds pc (reports
 * then show the address). */
static const char *module_place(img *im, uint64_t pc, char *buf, size_t size)
{
    const mrc_sym_mapping *maps;
    size_t nmaps = im->sym ? mrc_sym_mappings(im->sym, &maps) : 0;
    long k = im->sym ? mrc_sym_mapping_of(im->sym, (uintptr_t)pc) : -1;
    if (k < 0 || (size_t)k >= nmaps || !maps[k].path || !*maps[k].path) return "";
    const char *name = mf_path_base(maps[k].path);
    snprintf(buf, size, "%s+0x%" PRIx64, name, pc - maps[k].start + maps[k].offset);
    return buf;
}

static uint32_t symbol_of(img *im, uint64_t pc, uint32_t *count)
{
    *count = 0;
    if (!pc) return 0;
    if (!im->pc_keys || im->pc_n * 2 >= im->pc_mask + 1) {
        size_t cap = im->pc_keys ? (im->pc_mask + 1) * 2 : 256;
        uint64_t *k = calloc(cap, sizeof *k);
        uint32_t *f = malloc(cap * sizeof *f), *c = malloc(cap * sizeof *c);
        if (!k || !f || !c) {
            free(k);
            free(f);
            free(c);
            ifail(im, "out of memory");
            return 0;
        }
        for (size_t i = 0; im->pc_keys && i <= im->pc_mask; i++) {
            if (!im->pc_keys[i]) continue;
            size_t h = mix(im->pc_keys[i]) & (cap - 1);
            while (k[h]) h = (h + 1) & (cap - 1);
            k[h] = im->pc_keys[i];
            f[h] = im->pc_first[i];
            c[h] = im->pc_count[i];
        }
        free(im->pc_keys);
        free(im->pc_first);
        free(im->pc_count);
        im->pc_keys = k;
        im->pc_first = f;
        im->pc_count = c;
        im->pc_mask = cap - 1;
    }
    size_t h = mix(pc) & im->pc_mask;
    while (im->pc_keys[h]) {
        if (im->pc_keys[h] == pc) {
            *count = im->pc_count[h];
            return im->pc_first[h];
        }
        h = (h + 1) & im->pc_mask;
    }
    const mrc_sym_frame *fr = NULL;
    size_t n = im->sym ? mrc_sym_lookup(im->sym, (uintptr_t)pc, &fr) : 0;
    uint32_t first = 0, cnt = 0;
    if (n == 0) {
        char place[160];
        mf_gs_symbol s = {pc, module_place(im, pc, place, sizeof place), "", 0};
        uint32_t i = mf_gsw_symbol(im->w, &s);
        first = i == UINT32_MAX ? 0 : i + 1;
        cnt = first ? 1 : 0;
    } else {
        for (size_t i = 0; i < n; i++) {
            mf_gs_symbol s = {pc, fr[i].function, fr[i].file, fr[i].line};
            uint32_t k = mf_gsw_symbol(im->w, &s);
            if (k == UINT32_MAX) break;
            if (i == 0) first = k + 1;
            cnt++;
        }
    }
    im->pc_keys[h] = pc;
    im->pc_first[h] = first;
    im->pc_count[h] = cnt;
    im->pc_n++;
    *count = cnt;
    return first;
}

static void write_root(const mr_root *r, img *im)
{
    if (im->failed) return;
    mf_gs_root gr = {
        .kind = (uint32_t)r->kind,
        .target = (uint64_t)(uintptr_t)r->target,
        .slot = (uint64_t)(uintptr_t)r->slot,
        .name = r->name,
        .file = r->file,
        .line = r->line,
        .thread = r->thread,
        .frame = r->frame,
        .function = r->function,
        .frame_offset = r->frame_sp ? (uint64_t)((uintptr_t)r->slot - r->frame_sp) + 1 : 0,
    };
    if (r->tls_module) {
        gr.tls_module = *r->tls_module ? r->tls_module : im->exe;
        gr.tls_offset = r->tls_offset;
        gr.tls_variable = mrc_sym_tls_variable(im->sym, gr.tls_module, r->tls_offset);
    }
    if (r->kind == MR_ROOT_GLOBAL && r->file && im->sym) {
        /* __FILE__ of MR_GLOBAL: relative to the build directory unless
         * the program's DWARF says which one */
        const char *abs = mrc_sym_source_path(im->sym, (uintptr_t)r->slot, r->file);
        if (abs) gr.file = abs;
    }
    if (r->ip) {
        uint32_t cnt;
        /* frames above the innermost hold return addresses: the call is
         * the instruction before */
        gr.symbol = symbol_of(im, (uint64_t)r->ip - 1, &cnt);
        /* the root word is in the frame of the function that physically
         * holds the code, the last of an inlined chain (with the line of
         * its call into the inlined code), not in an inlined callee's,
         * which has no frame of its own */
        if (gr.symbol && cnt > 1) gr.symbol += cnt - 1;
    }
    if (mf_gsw_root(im->w, &gr)) ifail(im, "%s", "root");
    im->roots++;
}

/* ------------------------------------------------------------- maps --- */

/*
 * The buckets of a map are gathered MAP_BATCH at a time with their entries;
 * the pointers that may name key and value objects (a pointer key, a string
 * key's bytes, the pointer fields of byte keys and of values) are then
 * checked together with mr_resolve_marked (see write_edges for why), and the
 * buckets and entries written in walk order.
 */
#define MAP_BATCH 1024

typedef struct mbucket {
    uint64_t addr, index;
    bool old;
    uint32_t overflow, occupied;
    size_t first; /* its first entry */
} mbucket;

typedef struct mentry {
    mf_gs_entry e;
    size_t text;   /* offset of the rendered key in mapw.text */
    size_t kc, vc; /* first key and value candidates in mapw.cand */
    uint32_t kn, vn;
} mentry;

typedef struct mapw {
    img *im;
    const mr_map_info *info;
    uint64_t nbuckets;
    mbucket *b;
    size_t nb;
    mentry *e;
    size_t ne, cape;
    uintptr_t *cand; /* pointer words; after the check, object starts or 0 */
    size_t ncand, capcand;
    size_t *rq; /* candidates still to check (not known from the edge pass) */
    uintptr_t *rqv;
    size_t nrq, caprq, caprqv;
    char *text;
    size_t ntext, captext;
} mapw;

static void count_bucket(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)bucket, (void)old, (void)index, (void)overflow;
    ((mapw *)ud)->nbuckets++;
}

/* Grows *v (of *cap elements of elem bytes) to hold need; false when out of
 * memory (the image fails). */
static bool grow(img *im, void **v, size_t *cap, size_t need, size_t elem)
{
    if (mf_grow(v, cap, need, elem, 256)) return true;
    ifail(im, "out of memory (map entries)");
    return false;
}

/* The first candidate of [c, c + n) that is a live object's start, or 0. */
static uint64_t first_live(const mapw *mw, size_t c, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        if (mw->cand[c + k]) return (uint64_t)mw->cand[c + k];
    return 0;
}

static void flush_buckets(mapw *mw)
{
    img *im = mw->im;
    mr_resolve_marked(mw->rqv, mw->nrq, mw->rqv);
    for (size_t i = 0; i < mw->nrq; i++) mw->cand[mw->rq[i]] = mw->rqv[i];
    for (size_t i = 0; i < mw->nb && !im->failed; i++) {
        const mbucket *b = &mw->b[i];
        if (mf_gsw_bucket(im->w, b->addr, b->old, b->index, b->overflow, b->occupied)) {
            ifail(im, "bucket record");
            break;
        }
        size_t end = i + 1 < mw->nb ? mw->b[i + 1].first : mw->ne;
        for (size_t j = b->first; j < end && !im->failed; j++) {
            mentry *me = &mw->e[j];
            if (me->kn) me->e.key_object = first_live(mw, me->kc, me->kn);
            if (me->vn) me->e.value_object = first_live(mw, me->vc, me->vn);
            if (me->e.key_text) me->e.key_text = mw->text + me->text;
            if (mf_gsw_entry(im->w, &me->e)) ifail(im, "map entry record");
        }
    }
    /* emptied even after a failure: the walk goes on adding to the batch
     * (which holds MAP_BATCH buckets) until it ends */
    mw->nb = mw->ne = mw->ncand = mw->ntext = mw->nrq = 0;
}

static void on_bucket(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    mapw *mw = ud;
    if (mw->nb == MAP_BATCH) flush_buckets(mw);
    mw->b[mw->nb++] = (mbucket){(uint64_t)(uintptr_t)bucket, index, old, overflow, 0, mw->ne};
}

/* Adds the pointer word at p (in a bucket), if not NULL, as a candidate;
 * returns 1 if added. A word the edge pass found pointing at a live object
 * stands as it is (its granule is what is written); others are queued for
 * mr_resolve_marked. */
static uint32_t add_word(mapw *mw, const void *p)
{
    uintptr_t v;
    memcpy(&v, p, sizeof v);
    if (!v || !grow(mw->im, (void **)&mw->cand, &mw->capcand, mw->ncand + 1, sizeof *mw->cand))
        return 0;
    if (!live_word(mw->im, (uint64_t)(uintptr_t)p)) {
        if (!grow(mw->im, (void **)&mw->rq, &mw->caprq, mw->nrq + 1, sizeof *mw->rq) ||
            !grow(mw->im, (void **)&mw->rqv, &mw->caprqv, mw->nrq + 1, sizeof *mw->rqv))
            return 0;
        mw->rq[mw->nrq] = mw->ncand;
        mw->rqv[mw->nrq++] = v;
    }
    mw->cand[mw->ncand++] = v;
    return 1;
}

/* Adds the non-NULL pointer fields of a value of type t at p as candidates;
 * returns how many. */
static uint32_t add_fields(mapw *mw, const void *p, const mr_type *t)
{
    if (!p || !t || !t->nptrs) return 0;
    uint32_t n = 0;
    for (uint32_t k = 0; k < t->nptrs; k++) {
        if (t->ptr_offsets[k] + sizeof(uintptr_t) > t->size) break;
        n += add_word(mw, (const uint8_t *)p + t->ptr_offsets[k]);
    }
    return n;
}

static void on_slot(const mr_map_slot *s, void *ud)
{
    mapw *mw = ud;
    if (mw->im->failed) return;
    mbucket *b = mw->nb ? &mw->b[mw->nb - 1] : NULL;
    if (!b || (uint64_t)(uintptr_t)s->bucket_obj != b->addr || s->slot >= 8) {
        ifail(mw->im, "map walk reported a slot outside the bucket being walked");
        return;
    }
    if (!grow(mw->im, (void **)&mw->e, &mw->cape, mw->ne + 1, sizeof *mw->e)) return;
    const mr_map_info *in = mw->info;
    const mr_map_type *mt = in->type;
    mentry *me = &mw->e[mw->ne];
    memset(me, 0, sizeof *me);
    mf_gs_entry *e = &me->e;
    e->slot = s->slot;
    e->tophash = s->tophash;
    me->kc = mw->ncand;
    switch (mt->key_kind) {
    case MR_KEY_INT64:
        memcpy(&e->key_int, s->key, 8);
        break;
    case MR_KEY_PTR: {
        uintptr_t v;
        memcpy(&v, s->key, sizeof v);
        e->key_int = (int64_t)v;
        me->kn = add_word(mw, s->key);
        break;
    }
    default: {
        if (mt->key_kind == MR_KEY_STRING) {
            me->kn = add_word(mw, (const uint8_t *)s->key + offsetof(mr_str, ptr));
        } else {
            me->kn = add_fields(mw, s->key, mt->key_type);
        }
        /* the rendered key: at most 320 bytes (a 64-byte cut, escaped, then
         * the key's length and digest: rt.h) */
        enum { KEY_TEXT = 321 };
        if (!grow(mw->im, (void **)&mw->text, &mw->captext, mw->ntext + KEY_TEXT, 1)) return;
        size_t n = mr_map_render_key(mt, s->key, mw->text + mw->ntext, KEY_TEXT);
        if (n >= KEY_TEXT) n = KEY_TEXT - 1;
        me->text = mw->ntext;
        e->key_text = mw->text; /* fixed up when written (text may move) */
        e->key_text_len = n;
        mw->ntext += n + 1;
    }
    }
    if (in->key_indirect) {
        e->key_object = (uint64_t)(uintptr_t)s->key;
        /* the indirect key object itself, unchecked: drop its candidates */
        while (mw->nrq && mw->rq[mw->nrq - 1] >= me->kc) mw->nrq--;
        mw->ncand = me->kc;
        me->kn = 0;
    }
    me->vc = mw->ncand;
    if (in->value_indirect)
        e->value_object = (uint64_t)(uintptr_t)s->value;
    else
        me->vn = add_fields(mw, s->value, mt->value_type);
    mw->b[mw->nb - 1].occupied |= 1u << s->slot;
    mw->ne++;
    mw->im->entries++;
}

/* Writes one map; mw's buffers (kept from map to map: fresh pages cost a
 * fault each) are freed by the caller. */
static void write_map(img *im, mapw *keep, uint64_t addr)
{
    const mr_map *m = (const mr_map *)(uintptr_t)addr;
    mr_map_info in;
    mr_map_get_info(m, &in);
    mapw mw = *keep;
    mw.im = im;
    mw.info = &in;
    mw.nbuckets = 0;
    mw.nb = mw.ne = mw.ncand = mw.ntext = mw.nrq = 0;
    mr_map_walk(m, count_bucket, NULL, &mw);
    uint64_t nold = 0;
    if (in.oldbuckets) {
        /* same-size growth keeps B; doubling had B - 1 before */
        size_t osz = mr_object_size(in.oldbuckets),
               nsz = in.buckets ? mr_object_size(in.buckets) : 0;
        nold =
            (osz && nsz && osz >= nsz) ? (uint64_t)1 << in.B : (uint64_t)1 << (in.B ? in.B - 1 : 0);
    }
    const mr_map_type *mt = in.type;
    mf_gs_map gm = {
        .address = addr,
        .type_name = mt && mt->name ? mt->name : "map",
        .key_kind = mt ? (uint32_t)mt->key_kind : 0,
        .key_type = mt && mt->key_type ? type_index(im, mt->key_type, false) : 0,
        .value_type = mt && mt->value_type ? type_index(im, mt->value_type, false) : 0,
        .count = in.count,
        .flags = in.flags,
        .B = in.B,
        .noverflow = in.noverflow,
        .hash0 = in.hash0,
        .buckets = (uint64_t)(uintptr_t)in.buckets,
        .oldbuckets = (uint64_t)(uintptr_t)in.oldbuckets,
        .nevacuate = in.nevacuate,
        .noldbuckets = nold,
        .bucket_size = in.bucket_size,
        .key_size = (uint32_t)in.key_size,
        .value_size = (uint32_t)in.value_size,
        .key_indirect = in.key_indirect,
        .value_indirect = in.value_indirect,
        .nbuckets_walked = mw.nbuckets,
        .nentries = in.count,
    };
    if (mf_gsw_map(im->w, &gm)) return;
    if (!mw.b && !(mw.b = malloc(MAP_BATCH * sizeof *mw.b)))
        ifail(im, "out of memory");
    else {
        mr_map_walk(m, on_bucket, on_slot, &mw);
        if (!im->failed) flush_buckets(&mw);
    }
    *keep = mw;
}

/* ---------------------------------------------------------- samples --- */

typedef struct sample {
    uint64_t addr;
    uint32_t stack;
} sample;

typedef struct samples {
    img *im;
    sample *v;
    size_t n, cap;
    /* stacks interned by their raw pcs */
    uint64_t *hkeys;
    uint32_t *hvals;
    size_t hmask, hn;
    uintptr_t **pcs_of;
    size_t *n_of;
    size_t nstacks;
    bool oom;
} samples;

static uint64_t hash_pcs(const uintptr_t *pcs, size_t n)
{
    uint64_t h = 0x12345678 ^ n;
    for (size_t i = 0; i < n; i++) h = mix(h ^ pcs[i]) + i;
    return h | 1;
}

/* Called under the profiler's lock: copies what it needs, nothing else. */
static void gather_sample(void *ud, uintptr_t obj, uint64_t size, const uintptr_t *pcs, size_t n)
{
    (void)size;
    samples *S = ud;
    if (S->oom || !mr_is_marked((const void *)obj)) return;
    if (!S->hkeys || S->hn * 2 >= S->hmask + 1) {
        size_t cap = S->hkeys ? (S->hmask + 1) * 2 : 256;
        uint64_t *k = calloc(cap, sizeof *k);
        uint32_t *v = malloc(cap * sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            S->oom = true;
            return;
        }
        for (size_t i = 0; S->hkeys && i <= S->hmask; i++) {
            if (!S->hkeys[i]) continue;
            size_t h = S->hkeys[i] & (cap - 1);
            while (k[h]) h = (h + 1) & (cap - 1);
            k[h] = S->hkeys[i];
            v[h] = S->hvals[i];
        }
        free(S->hkeys);
        free(S->hvals);
        S->hkeys = k;
        S->hvals = v;
        S->hmask = cap - 1;
    }
    uint64_t hh = hash_pcs(pcs, n);
    size_t h = hh & S->hmask;
    uint32_t id = UINT32_MAX;
    while (S->hkeys[h]) {
        uint32_t c = S->hvals[h];
        if (S->hkeys[h] == hh && S->n_of[c] == n &&
            (n == 0 || memcmp(S->pcs_of[c], pcs, n * sizeof *pcs) == 0)) {
            id = c;
            break;
        }
        h = (h + 1) & S->hmask;
    }
    if (id == UINT32_MAX) {
        uintptr_t **p = realloc(S->pcs_of, (S->nstacks + 1) * sizeof *p);
        if (p) S->pcs_of = p;
        size_t *q = realloc(S->n_of, (S->nstacks + 1) * sizeof *q);
        if (q) S->n_of = q;
        uintptr_t *copy = malloc((n ? n : 1) * sizeof *copy);
        if (!p || !q || !copy) {
            free(copy);
            S->oom = true;
            return;
        }
        if (n) memcpy(copy, pcs, n * sizeof *pcs);
        id = (uint32_t)S->nstacks++;
        S->pcs_of[id] = copy;
        S->n_of[id] = n;
        S->hkeys[h] = hh;
        S->hvals[h] = id;
        S->hn++;
    }
    if (S->n == S->cap) {
        size_t cap = S->cap ? S->cap * 2 : 256;
        sample *v = realloc(S->v, cap * sizeof *v);
        if (!v) {
            S->oom = true;
            return;
        }
        S->v = v;
        S->cap = cap;
    }
    S->v[S->n++] = (sample){(uint64_t)obj, id};
}

static int cmp_sample(const void *a, const void *b)
{
    uint64_t x = ((const sample *)a)->addr, y = ((const sample *)b)->addr;
    return x < y ? -1 : x > y;
}

static void write_samples(img *im, mrc_prof *prof)
{
    if (!prof) return;
    samples S = {.im = im};
    mrc_prof_each_object(prof, gather_sample, &S);
    if (S.oom) ifail(im, "out of memory (sampled objects)");
    /* each distinct stack (the program's frames only: see profiler.h):
     * symbolize, write */
    uint32_t *stack_idx = S.nstacks ? malloc(S.nstacks * sizeof *stack_idx) : NULL;
    uint32_t *syms = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < S.nstacks && stack_idx && !im->failed; i++) {
        const uintptr_t *pcs = S.pcs_of[i];
        size_t n = S.n_of[i];
        size_t ns = 0;
        for (size_t k = 0; k < n; k++) {
            uint32_t cnt, first = symbol_of(im, pcs[k] ? pcs[k] - 1 : 0, &cnt);
            if (!first) continue;
            if (ns + cnt > cap) {
                cap = (ns + cnt) * 2;
                uint32_t *p = realloc(syms, cap * sizeof *p);
                if (!p) {
                    ifail(im, "out of memory");
                    break;
                }
                syms = p;
            }
            for (uint32_t j = 0; j < cnt; j++) syms[ns++] = first - 1 + j;
        }
        uint32_t si = mf_gsw_stack(im->w, syms, ns);
        stack_idx[i] = si;
    }
    if (S.nstacks && !stack_idx) ifail(im, "out of memory");
    if (!im->failed) {
        if (S.n) qsort(S.v, S.n, sizeof *S.v, cmp_sample);
        for (size_t i = 0; i < S.n; i++) mf_gsw_sample(im->w, S.v[i].addr, stack_idx[S.v[i].stack]);
    }
    free(syms);
    free(stack_idx);
    for (size_t i = 0; i < S.nstacks; i++) free(S.pcs_of[i]);
    free(S.pcs_of);
    free(S.n_of);
    free(S.hkeys);
    free(S.hvals);
    free(S.v);
}

/* ------------------------------------------------------------ write --- */

static void header_of(mf_gs_header *h, const char *program, const char *build_id, uint32_t cycle,
                      int mode, const mr_memstats *ms, const mr_gc_pause *pause, pid_t pid)
{
    memset(h, 0, sizeof *h);
    h->version = MF_GS_VERSION;
    h->program = program;
    h->build_id = build_id;
    h->writer = "maproot " MAPROOT_VERSION;
    h->pid = (uint64_t)pid;
    h->time_nanos = (int64_t)mrc__now_ns(CLOCK_REALTIME);
    h->gc_cycle = cycle;
    h->pointer_size = sizeof(void *);
    h->profile_rate = mrc_profile_rate();
    h->write_mode = (uint32_t)mode;
    h->address_granule = MF_GS_GRANULE;
    if (ms) {
        mf_gs_memstats *m = &h->memstats;
        m->heap_alloc = ms->heap_alloc;
        m->heap_sys = ms->heap_sys;
        m->heap_inuse = ms->heap_inuse;
        m->heap_objects = ms->heap_objects;
        m->total_alloc = ms->total_alloc;
        m->mallocs = ms->mallocs;
        m->frees = ms->frees;
        m->next_gc = ms->next_gc;
        m->last_gc_ns = ms->last_gc_ns;
        m->pause_total_ns = ms->pause_total_ns;
        m->num_gc = ms->num_gc;
        m->gc_percent = ms->gc_percent;
        if (ms->num_gc) h->pause.last_pause_ns = ms->pause_ns[(ms->num_gc + 255) % 256];
    }
    if (pause && pause->cycle == cycle) {
        h->pause.pause_ns = pause->pause_ns;
        h->pause.stop_ns = pause->stop_ns;
        h->pause.sweep_termination_ns = pause->sweep_term_ns;
        h->pause.mark_ns = pause->mark_ns;
    }
}

/*
 * Writes the image of the heap as it is now (world stopped, marking done)
 * to path. Runs in the forked child or in the GC event itself.
 */
int mrc__write_image(mf_out *o, uint32_t cycle, int mode, const mr_memstats *ms,
                     const mr_gc_pause *pause, pid_t pid, const mrc_root_list *roots,
                     mrc_image_outcome *out)
{
    const char *path = mf_out_path(o);
    uint64_t t0 = mrc__now_ns(CLOCK_MONOTONIC);
    img im = {0};
    char exe[4096] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
    im.exe = exe;
    im.sym = mrc__symbolizer_new();
    const char *build_id = "";
    if (im.sym) {
        const mrc_sym_mapping *maps;
        size_t nm = mrc_sym_mappings(im.sym, &maps);
        for (size_t i = 0; i < nm; i++)
            if (strcmp(maps[i].path, exe) == 0) {
                build_id = maps[i].build_id;
                break;
            }
    }
    mf_gs_header h;
    header_of(&h, exe, build_id, cycle, mode, ms, pause, pid);
    mf_error err = {{0}};
    im.w = mf_gsw_open_out(o, mrc__snapshot_gz_level, &h, &err);
    if (!im.w) {
        snprintf(out->msg, sizeof out->msg, "%s", err.msg);
        mrc_sym_free(im.sym);
        return -1;
    }
    /* two walks in address order: the objects (each type before its first
     * user), then their edges */
    mr_walk_objects(true, write_object, &im);
    if (!im.failed) write_edges(&im);
    if (roots->oom) ifail(&im, "out of memory (roots)");
    for (size_t i = 0; i < roots->n && !im.failed; i++) write_root(&roots->v[i], &im);
    mapw keep = {0};
    for (size_t i = 0; i < im.nmaps && !im.failed; i++) write_map(&im, &keep, im.maps[i]);
    free(keep.b);
    free(keep.e);
    free(keep.cand);
    free(keep.rq);
    free(keep.rqv);
    free(keep.text);
    free(im.live_words);
    if (!im.failed) write_samples(&im, mrc__prof());
    uint64_t fbytes = 0;
    int rc;
    if (im.failed) {
        /* the writer's own failure (a write error, with its reason) is the
         * cause of the walk's */
        const char *why = mf_gsw_error(im.w);
        if (why)
            snprintf(out->msg, sizeof out->msg, "%s", why);
        else
            snprintf(out->msg, sizeof out->msg, "%.200s: %.300s", path, im.err.msg);
        mf_gsw_abort(im.w);
        rc = -1;
    } else if (mf_gsw_finish(im.w, &fbytes, &err)) {
        snprintf(out->msg, sizeof out->msg, "%s", err.msg);
        rc = -1;
    } else {
        rc = 0;
    }
    out->ok = rc == 0;
    out->cycle = cycle;
    out->objects = im.n;
    out->object_bytes = im.bytes;
    out->roots = im.roots;
    out->maps = im.nmaps;
    out->entries = im.entries;
    out->file_bytes = fbytes;
    out->wall_ns = mrc__now_ns(CLOCK_MONOTONIC) - t0;
    free(im.maps);
    free(im.types.keys);
    free(im.types.vals);
    free(im.pc_keys);
    free(im.pc_first);
    free(im.pc_count);
    mrc_sym_free(im.sym);
    return rc;
}
