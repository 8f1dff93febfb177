/*
 * src/collector/snapshot.c -- root snapshots: see snapshot.h for the design
 * and maproot/collector.h for the API.
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
#include "collector/snapshot.h"

#include "collector/heapprof.h"
#include "collector/profiler.h"
#include "collector/snapshot_digest.h"
#include "collector/symbolize.h"
#include "format/gcstack_writer.h"
#include "format/names.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAPROOT_VERSION
#define MAPROOT_VERSION "unknown"
#endif

/* --------------------------------------------------------- settings --- */

static char *env_path;     /* MAPROOT_SNAPSHOT */
static uint32_t env_every; /* MAPROOT_PROFILE_EVERY */
static bool use_fork = true;
static int gz_level = 0; /* stored gzip blocks; MF_GS_RAW for no gzip at all */

/* One snapshot request at a time (API, exit). */
static pthread_mutex_t api_lock = PTHREAD_MUTEX_INITIALIZER;
/* What the next MARK_DONE must do; set under api_lock, read by the listener
 * on the collecting thread (world stopped, so no race with the setter, which
 * is waiting in mr_gc). */
typedef struct request {
    const char *path;
    bool periodic;
    mr_memstats pre; /* statistics read just before the collection */
    bool have_pre;
} request;
static request *pending;

/* The outcome the child sends through its pipe (one write, < PIPE_BUF). */
typedef struct outcome {
    int ok;
    uint32_t cycle;
    uint64_t objects, edges, roots, maps, entries, object_bytes, file_bytes;
    uint64_t wall_ns;
    char msg[512];
} outcome;

/* A child writing a snapshot in the background. */
typedef struct child {
    pid_t pid;
    int fd;
    char *path;
    uint64_t pause_ns, start_ns;
    bool waited_by_api;
} child;
static pthread_mutex_t child_lock = PTHREAD_MUTEX_INITIALIZER;
static child bg = {.pid = -1, .fd = -1};

static pthread_mutex_t info_lock = PTHREAD_MUTEX_INITIALIZER;
static mrc_snapshot_info last_info;

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ roots --- */

/*
 * The roots, gathered first, at the shallowest point of the snapshot: the
 * walk scans the collecting thread's own stack from where it is called, so
 * the deeper the snapshot code is, the more of its own frames (and stale
 * words in them) would be scanned. Frame function names are copied (the
 * runtime frees them after the walk).
 */
static void gather_root(const mr_root *r, void *ud)
{
    mrc_root_list *l = ud;
    /* A word of the snapshot's own frames (deeper than the collection's
     * were) may point at an object the collection found dead: not a root
     * of this cycle. */
    if (l->oom || !mr_is_marked(r->target)) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        mr_root *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    mr_root c = *r;
    if (c.function) {
        char *fn = strdup(c.function);
        if (!fn) {
            l->oom = true;
            return;
        }
        mf_function_name_clean(fn); /* a symbol table's name: "f.constprop.0" is f */
        c.function = fn;
    }
    l->v[l->n++] = c;
}

static void gather_roots(mrc_root_list *l)
{
    memset(l, 0, sizeof *l);
    mr_walk_roots(true, gather_root, l);
}

static void free_roots(mrc_root_list *l)
{
    for (size_t i = 0; i < l->n; i++) free((char *)l->v[i].function);
    free(l->v);
    memset(l, 0, sizeof *l);
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
        mf_gs_symbol s = {pc, "", "", 0};
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
    };
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
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *p = c <= SIZE_MAX / elem ? realloc(*v, c * elem) : NULL;
    if (!p) {
        ifail(im, "out of memory (map entries)");
        return false;
    }
    *v = p;
    *cap = c;
    return true;
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
            return;
        }
        size_t end = i + 1 < mw->nb ? mw->b[i + 1].first : mw->ne;
        for (size_t j = b->first; j < end; j++) {
            mentry *me = &mw->e[j];
            if (me->kn) me->e.key_object = first_live(mw, me->kc, me->kn);
            if (me->vn) me->e.value_object = first_live(mw, me->vc, me->vn);
            if (me->e.key_text) me->e.key_text = mw->text + me->text;
            if (mf_gsw_entry(im->w, &me->e)) {
                ifail(im, "map entry record");
                return;
            }
        }
    }
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
        /* the rendered key: at most 300 bytes (a 64-byte cut, escaped) */
        if (!grow(mw->im, (void **)&mw->text, &mw->captext, mw->ntext + 300, 1)) return;
        size_t n = mr_map_render_key(mt, s->key, mw->text + mw->ntext, 300);
        if (n >= 300) n = 299;
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

/* The cycle's pause as of the snapshot, read by take() at MARK_DONE (in the
 * program, before any fork) for the header. */
static mr_gc_pause taken_pause;

static void header_of(mf_gs_header *h, const char *program, const char *build_id, uint32_t cycle,
                      int mode, const mr_memstats *ms, pid_t pid)
{
    memset(h, 0, sizeof *h);
    h->version = MF_GS_VERSION;
    h->program = program;
    h->build_id = build_id;
    h->writer = "maproot " MAPROOT_VERSION;
    h->pid = (uint64_t)pid;
    h->time_nanos = (int64_t)now_ns(CLOCK_REALTIME);
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
    if (taken_pause.cycle == cycle) {
        h->pause.pause_ns = taken_pause.pause_ns;
        h->pause.stop_ns = taken_pause.stop_ns;
        h->pause.sweep_termination_ns = taken_pause.sweep_term_ns;
        h->pause.mark_ns = taken_pause.mark_ns;
    }
}

/*
 * Writes the image of the heap as it is now (world stopped, marking done)
 * to path. Runs in the forked child or in the GC event itself.
 */
static int write_image(const char *path, uint32_t cycle, int mode, const mr_memstats *ms, pid_t pid,
                       const mrc_root_list *roots, outcome *out)
{
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    img im = {0};
    char exe[4096] = "";
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
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
    header_of(&h, exe, build_id, cycle, mode, ms, pid);
    mf_error err = {{0}};
    im.w = mf_gsw_open(path, gz_level, &h, &err);
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
        mf_gsw_abort(im.w);
        snprintf(out->msg, sizeof out->msg, "%.200s: %.300s", path, im.err.msg);
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
    out->wall_ns = now_ns(CLOCK_MONOTONIC) - t0;
    free(im.maps);
    free(im.types.keys);
    free(im.types.vals);
    free(im.pc_keys);
    free(im.pc_first);
    free(im.pc_count);
    mrc_sym_free(im.sym);
    return rc;
}

/* --------------------------------------------------------- children --- */

static void record_info(const outcome *o, int mode, uint64_t pause_ns, uint64_t work_ns)
{
    pthread_mutex_lock(&info_lock);
    last_info = (mrc_snapshot_info){
        .mode = mode,
        .gc_cycle = o->cycle,
        .objects = o->objects,
        .roots = o->roots,
        .maps = o->maps,
        .entries = o->entries,
        .object_bytes = o->object_bytes,
        .file_bytes = o->file_bytes,
        .pause_ns = pause_ns,
        .work_ns = work_ns,
        .wall_ns = o->wall_ns,
    };
    pthread_mutex_unlock(&info_lock);
}

/* Waits for (or, without block, polls) the background child; reports its
 * outcome. Returns 0 written, -1 failed (msg set), 1 still running / none. */
static int reap(bool block, char *msg, size_t msgcap)
{
    pthread_mutex_lock(&child_lock);
    if (bg.pid < 0) {
        pthread_mutex_unlock(&child_lock);
        return 1;
    }
    int status = 0;
    struct rusage ru;
    pid_t r;
    do r = wait4(bg.pid, &status, block ? 0 : WNOHANG, &ru);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        pthread_mutex_unlock(&child_lock);
        return 1;
    }
    outcome o;
    memset(&o, 0, sizeof o);
    ssize_t got = r > 0 ? read(bg.fd, &o, sizeof o) : -1;
    int rc;
    if (r < 0) {
        snprintf(msg, msgcap, "%s: lost the snapshot writer process: %s", bg.path, strerror(errno));
        rc = -1;
    } else if (got != (ssize_t)sizeof o) {
        snprintf(msg, msgcap, "%s: the snapshot writer process died (%s %d)", bg.path,
                 WIFSIGNALED(status) ? "signal" : "status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        rc = -1;
    } else if (!o.ok) {
        o.msg[sizeof o.msg - 1] = 0;
        snprintf(msg, msgcap, "%s", o.msg);
        rc = -1;
    } else {
        uint64_t cpu =
            (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u +
            (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
        record_info(&o, MF_GS_MODE_FORK, bg.pause_ns, cpu + bg.pause_ns);
        rc = 0;
    }
    close(bg.fd);
    free(bg.path);
    bg = (child){.pid = -1, .fd = -1};
    pthread_mutex_unlock(&child_lock);
    return rc;
}

/*
 * Takes the snapshot now (MARK_DONE, world stopped): forks a writer, or
 * writes in place. Returns 0 when a child was started or the file written,
 * -1 with msg. Sets *forked.
 */
static int take(const char *path, uint32_t cycle, const mr_memstats *pre, char *msg, size_t msgcap,
                bool *forked)
{
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    mr_gc_pause_now(&taken_pause);
    *forked = false;
    pid_t self = getpid();
    if (use_fork) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) == 0) {
            mrc_prof *prof = mrc__prof();
            if (prof) mrc_prof_fork_lock(prof);
            pid_t pid = fork();
            if (prof) mrc_prof_fork_unlock(prof);
            if (pid == 0) {
                mrc_root_list roots;
                gather_roots(&roots);
                /* the child: the copy-on-write image is ours to walk */
                close(fds[0]);
                signal(SIGPIPE, SIG_IGN);
                mr_memstats ms;
                const mr_memstats *msp = pre;
                if (!msp) {
                    /* no statistics were read before this cycle: no other
                     * thread exists here, so restart the (private) world
                     * just to read them, and stop it again */
                    mr_start_the_world();
                    mr_read_memstats(&ms);
                    mr_stop_the_world();
                    msp = &ms;
                }
                outcome o;
                memset(&o, 0, sizeof o);
                write_image(path, cycle, MF_GS_MODE_FORK, msp, self, &roots, &o);
                const char *dg = getenv("MAPROOT_SNAPSHOT_DIGEST");
                if (o.ok && dg && *dg && mrc__write_digest(dg, &roots, true) != 0) {
                    o.ok = 0;
                    snprintf(o.msg, sizeof o.msg, "%.400s: cannot write the digest", dg);
                }
                ssize_t w = write(fds[1], &o, sizeof o);
                _exit(w == (ssize_t)sizeof o && o.ok ? 0 : 1);
            }
            close(fds[1]);
            if (pid > 0) {
                pthread_mutex_lock(&child_lock);
                bg.pid = pid;
                bg.fd = fds[0];
                bg.path = strdup(path);
                bg.start_ns = t0;
                bg.pause_ns = now_ns(CLOCK_MONOTONIC) - t0;
                pthread_mutex_unlock(&child_lock);
                *forked = true;
                return 0;
            }
            close(fds[0]);
        }
        /* fork refused: fall back to writing while stopped */
    }
    uint64_t c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    outcome o;
    memset(&o, 0, sizeof o);
    mrc_root_list roots;
    gather_roots(&roots);
    int rc = write_image(path, cycle, MF_GS_MODE_STOPPED, pre, self, &roots, &o);
    const char *dg = getenv("MAPROOT_SNAPSHOT_DIGEST");
    if (!rc && dg && *dg && mrc__write_digest(dg, &roots, false) != 0) {
        snprintf(o.msg, sizeof o.msg, "%.400s: cannot write the digest", dg);
        rc = -1;
    }
    free_roots(&roots);
    if (rc) {
        snprintf(msg, msgcap, "%s", o.msg);
        return -1;
    }
    uint64_t pause = now_ns(CLOCK_MONOTONIC) - t0;
    record_info(&o, MF_GS_MODE_STOPPED, pause, now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0);
    return 0;
}

/* The result of the last API request, handed from the listener to the
 * waiting caller. */
static int req_rc;
static bool req_done, req_forked;
static char req_msg[600];

/* The GC listener: reaps a finished background writer at any event; at
 * MARK_DONE serves the pending API request or a periodic snapshot. */
static void snapshot_on_gc(void *ud, mr_gc_event ev, uint32_t cycle)
{
    (void)ud;
    char msg[600];
    if (bg.pid >= 0 && !bg.waited_by_api && reap(false, msg, sizeof msg) < 0)
        fprintf(stderr, "maproot: cannot write snapshot: %s\n", msg);
    if (ev != MR_GC_MARK_DONE) return;
    if (pending && !req_done) {
        req_rc = take(pending->path, cycle, pending->have_pre ? &pending->pre : NULL, req_msg,
                      sizeof req_msg, &req_forked);
        if (req_forked) bg.waited_by_api = true; /* its caller reaps it */
        req_done = true;
        return;
    }
    if (env_path && env_every && cycle % env_every == 0) {
        static uint32_t skipped_since; /* warn once per busy writer */
        if (bg.pid >= 0) {
            if (!skipped_since)
                fprintf(stderr,
                        "maproot: the snapshot of an earlier cycle is still being "
                        "written; skipping the snapshot of GC cycle %" PRIu32
                        " (and later ones while it is)\n",
                        cycle);
            skipped_since = cycle;
            return;
        }
        skipped_since = 0;
        char *p = mrc__periodic_path(env_path, cycle);
        bool forked;
        if (!p || take(p, cycle, NULL, msg, sizeof msg, &forked) != 0)
            fprintf(stderr, "maproot: cannot write snapshot: %s\n", p ? msg : "out of memory");
        free(p);
    }
}

static int write_snapshot_now(const char *path)
{
    mrc_init();
    if (!path || !*path) {
        mrc__set_error("mrc_write_snapshot: no path");
        return -1;
    }
    pthread_mutex_lock(&api_lock);
    static bool listening;
    if (!listening) {
        mrc__set_gc_listener(snapshot_on_gc, NULL);
        listening = true;
    }
    bool attached = mr_thread_is_attached();
    char msg[600];
    /* a periodic writer still running: let it finish first (one child at
     * a time keeps the copy-on-write cost bounded) */
    if (attached) mr_blocking_enter();
    if (reap(true, msg, sizeof msg) < 0)
        fprintf(stderr, "maproot: cannot write snapshot: %s\n", msg);
    if (attached) mr_blocking_exit();
    request rq = {.path = path};
    mr_read_memstats(&rq.pre);
    rq.have_pre = true;
    req_done = false;
    req_rc = -1;
    pending = &rq;
    mr_gc();
    pending = NULL;
    int rc = req_done ? req_rc : -1;
    if (!req_done) snprintf(req_msg, sizeof req_msg, "%s: the collection did not run", path);
    if (rc == 0 && req_forked) {
        if (attached) mr_blocking_enter();
        rc = reap(true, req_msg, sizeof req_msg);
        if (attached) mr_blocking_exit();
        if (rc == 1) snprintf(req_msg, sizeof req_msg, "%s: the snapshot writer was lost", path);
    }
    if (rc != 0) mrc__set_error("%s", req_msg);
    pthread_mutex_unlock(&api_lock);
    return rc == 0 ? 0 : -1;
}

/* The API's entry point. The calling thread is attached first (the
 * collection attaches it anyway) and marked, so that its stack roots start
 * at the program's frame that called, not in the collector. */
__attribute__((noinline)) int mrc_write_snapshot(const char *path)
{
    mr_thread_attach();
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    int rc = write_snapshot_now(path);
    mr_call_end(outer);
    return rc;
}

int mrc_last_snapshot_info(mrc_snapshot_info *out)
{
    pthread_mutex_lock(&info_lock);
    *out = last_info;
    pthread_mutex_unlock(&info_lock);
    return out->mode ? 0 : -1;
}

/* MAPROOT_SNAPSHOT at exit. The exiting thread's frames are no roots any
 * more (main has returned; its old words linger under the exit handlers). */
static void snapshot_at_exit(void)
{
    mr_exiting();
    if (mrc_write_snapshot(env_path) != 0)
        fprintf(stderr, "maproot: cannot write snapshot: %s\n", mrc_last_error());
}

mrc_gc_listener mrc__snapshot_init(void)
{
    const char *f = getenv("MAPROOT_SNAPSHOT_FORK");
    if (f && strcmp(f, "0") == 0) use_fork = false;
    const char *lv = getenv("MAPROOT_SNAPSHOT_LEVEL");
    if (lv && *lv) {
        char *end;
        long l = strtol(lv, &end, 10);
        if (strcmp(lv, "raw") == 0)
            gz_level = MF_GS_RAW;
        else if (*end || l < 0 || l > 9)
            fprintf(stderr,
                    "maproot: MAPROOT_SNAPSHOT_LEVEL=%s is not a number from 0 to 9 nor "
                    "\"raw\"; using 0\n",
                    lv);
        else
            gz_level = (int)l;
    }
    const char *path = getenv("MAPROOT_SNAPSHOT");
    if (!path || !*path) return NULL;
    env_path = strdup(path);
    if (!env_path) return NULL;
    const char *ev = getenv("MAPROOT_PROFILE_EVERY");
    if (ev && *ev) {
        char *end;
        unsigned long long e = strtoull(ev, &end, 10);
        if (!*end && e <= UINT32_MAX) env_every = (uint32_t)e;
    }
    atexit(snapshot_at_exit);
    return env_every ? snapshot_on_gc : NULL;
}
