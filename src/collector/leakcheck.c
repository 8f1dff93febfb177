/*
 * src/collector/leakcheck.c -- the leak check around a block of a test: see
 * maproot/collector.h (leak checks) for the contract.
 *
 * A census is taken with the world stopped, right after a full collection:
 *   1. the roots (with frames), and which thread is the caller's: the one
 *      whose stack words lie in the caller's stack;
 *   2. every object, once, to find the map headers and the heap's bytes;
 *   3. each map's holder: a root that points at its header, else a root
 *      whose object points at it, else the map whose entry points at it;
 *      a map only the caller's own frames hold is the test's (not judged);
 *   4. each map's entries, retained bytes (table; objects its keys and
 *      values point to, and theirs: two levels, each object once per map)
 *      and the sorted hashes of its keys (their bytes: a string's content).
 * The end's census is matched to the start's (address and seed first, then
 * type and holder), and a map that grew beyond the limits is walked once
 * more for the smallest few of its added keys and the allocation stacks
 * the heap profiler sampled under them; those are symbolized after the world runs
 * again.
 */
#define UNW_LOCAL_ONLY
#include "collector/internal.h"

#include "collector/map_lists.h"
#include "collector/profiler.h"
#include "collector/symbolize.h"
#include "format/names.h"
#include "format/text.h"

#include <inttypes.h>
#include <libunwind.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SAMPLE 5
#define SITES 3
#define KEY_TEXT 128 /* bytes of a rendered key kept in a report */

/* ------------------------------------------------------- address sets --- */

/* An open-addressing set of addresses (0 is no address). */
typedef struct addr_set {
    uintptr_t *v;
    size_t cap, n;
    bool oom;
} addr_set;

static size_t addr_hash(uintptr_t a, size_t cap)
{
    return (size_t)((a >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

/* Adds a; true if it was not there. Keeps the set at most half full. */
static bool set_add(addr_set *s, uintptr_t a)
{
    if (!a || s->oom) return false;
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uintptr_t *v = calloc(cap, sizeof *v);
        if (!v) {
            s->oom = true;
            return false;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                size_t j = addr_hash(s->v[i], cap);
                while (v[j]) j = (j + 1) & (cap - 1);
                v[j] = s->v[i];
            }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    size_t j = addr_hash(a, s->cap);
    for (; s->v[j]; j = (j + 1) & (s->cap - 1))
        if (s->v[j] == a) return false;
    s->v[j] = a;
    s->n++;
    return true;
}

static void set_clear(addr_set *s)
{
    if (s->n) memset(s->v, 0, s->cap * sizeof *s->v);
    s->n = 0;
}

static void set_free(addr_set *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ----------------------------------------------------------- a census --- */

typedef struct cmap {
    uintptr_t addr; /* the header */
    const mr_map_type *type;
    uint32_t seed; /* a new map made where a dropped one's header was has its own */
    uint64_t entries, bytes;
    int32_t root;     /* index into the census's roots, -1 none */
    bool through;     /* the root points at an object that points at the header */
    uintptr_t parent; /* the map whose entry points at it, 0 none */
    bool own_hit;     /* a word of the caller's own frames reaches it */
    bool own;         /* only the caller's frames hold it: not judged */
    char *holder;     /* its identity with the type: "global cache", "" unknown */
    char *root_text;  /* as a report names its root */
    uint64_t *keys;   /* sorted hashes of its keys (key_hash) */
    size_t nkeys;
    /* the end's census: the map it was at the start, and what it gained */
    int32_t before;
    uint64_t keys_added;
    char *added[KEY_SAMPLE];
    size_t nadded;
    uintptr_t site_pc[SITES];
    uint32_t site_n[SITES], nsites;
    uint64_t sampled;
} cmap;

typedef struct croot {
    mr_root r;
    char *function; /* the frame's function, copied (cleaned) */
    bool own;       /* a word of the caller's thread */
} croot;

typedef struct census {
    cmap *v;
    size_t n, cap;
    croot *roots;
    size_t nroots, rcap;
    uint64_t heap_bytes;
    uintptr_t stack_lo, stack_hi; /* the caller's stack */
    bool oom;
} census;

static void census_free(census *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        cmap *m = &c->v[i];
        free(m->holder);
        free(m->root_text);
        free(m->keys);
        for (size_t k = 0; k < m->nadded; k++) free(m->added[k]);
    }
    free(c->v);
    for (size_t i = 0; i < c->nroots; i++) free(c->roots[i].function);
    free(c->roots);
    free(c);
}

static void on_root(const mr_root *r, void *ud)
{
    census *c = ud;
    if (c->oom) return;
    if (c->nroots == c->rcap) {
        size_t cap = c->rcap ? c->rcap * 2 : 256;
        croot *v = realloc(c->roots, cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return;
        }
        c->roots = v;
        c->rcap = cap;
    }
    croot *x = &c->roots[c->nroots];
    memset(x, 0, sizeof *x);
    x->r = *r;
    x->r.function = NULL;
    if (r->function) {
        if (!(x->function = strdup(r->function))) {
            c->oom = true;
            return;
        }
        mf_function_name_clean(x->function);
    }
    c->nroots++;
}

static void on_object(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    (void)count;
    census *c = ud;
    c->heap_bytes += size;
    if (c->oom || !t || t->kind != MR_KIND_MAP_HEADER) return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        cmap *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            c->oom = true;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    cmap *m = &c->v[c->n++];
    memset(m, 0, sizeof *m);
    m->addr = (uintptr_t)obj;
    m->root = -1;
    m->before = -1;
}

/* The map whose header is at a (objects come in address order), or NULL. */
static cmap *map_at(census *c, uintptr_t a)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n && c->v[lo].addr == a ? &c->v[lo] : NULL;
}

/* Roots in the order they explain a retention best: globals, pins, stack
 * words and registers, iterators, the rest. */
static int root_rank(mr_root_kind k)
{
    switch (k) {
    case MR_ROOT_GLOBAL:
        return 0;
    case MR_ROOT_PIN:
        return 1;
    case MR_ROOT_STACK:
    case MR_ROOT_REGISTER:
        return 2;
    case MR_ROOT_ITERATOR:
        return 3;
    default:
        return 4;
    }
}

static int cmp_root(const void *x, const void *y)
{
    const croot *a = x, *b = y;
    int ra = root_rank(a->r.kind), rb = root_rank(b->r.kind);
    if (ra != rb) return ra - rb;
    if (a->own != b->own) return a->own - b->own; /* another thread's first */
    return (a->r.slot > b->r.slot) - (a->r.slot < b->r.slot);
}

/* Holds map m by root i (the first, by rank, to reach it wins). */
static void hold(census *c, cmap *m, size_t i, bool through)
{
    if (c->roots[i].own) {
        m->own_hit = true;
        return;
    }
    if (m->root < 0) {
        m->root = (int32_t)i;
        m->through = through;
    }
}

typedef struct edge_ctx {
    census *c;
    size_t root;
} edge_ctx;

static void on_root_edge(void *obj, size_t off, void *to, void *ud)
{
    (void)obj, (void)off;
    edge_ctx *e = ud;
    cmap *m = map_at(e->c, (uintptr_t)to);
    if (m) hold(e->c, m, e->root, true);
}

/* 1 and 3: which thread is the caller's, and each map's holding root. */
static void assign_roots(census *c)
{
    uint32_t own_thread = UINT32_MAX;
    for (size_t i = 0; i < c->nroots; i++) {
        const mr_root *r = &c->roots[i].r;
        uintptr_t s = (uintptr_t)r->slot;
        if (r->kind == MR_ROOT_STACK && s >= c->stack_lo && s < c->stack_hi) {
            own_thread = r->thread;
            break;
        }
    }
    for (size_t i = 0; i < c->nroots; i++) {
        mr_root_kind k = c->roots[i].r.kind;
        c->roots[i].own = own_thread != UINT32_MAX && c->roots[i].r.thread == own_thread &&
                          (k == MR_ROOT_STACK || k == MR_ROOT_REGISTER || k == MR_ROOT_ITERATOR);
    }
    if (c->nroots > 1) qsort(c->roots, c->nroots, sizeof *c->roots, cmp_root);
    for (size_t i = 0; i < c->nroots; i++) {
        cmap *m = map_at(c, (uintptr_t)c->roots[i].r.target);
        if (m) hold(c, m, i, false);
    }
    /* a root's object that holds a map (a global struct with a map field) */
    for (size_t i = 0; i < c->nroots; i++) {
        void *t = c->roots[i].r.target;
        if (map_at(c, (uintptr_t)t)) continue;
        edge_ctx e = {c, i};
        mr_walk_edges(t, on_root_edge, &e);
    }
}

/* ------------------------------------------------------------ the maps --- */

static uint64_t bytes_hash(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* A key's identity across the two censuses: the hash of its bytes (a
 * string's content; a pointer's value, which names one live object). */
static uint64_t key_hash(const mr_map_type *t, const void *key)
{
    switch (t->key_kind) {
    case MR_KEY_STRING: {
        mr_str k;
        memcpy(&k, key, sizeof k);
        return bytes_hash(k.ptr, k.ptr ? k.len : 0);
    }
    case MR_KEY_BYTES:
        return bytes_hash(key, t->key_type ? t->key_type->size : 0);
    default:
        return bytes_hash(key, 8);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts n 64-bit hashes: LSD radix, four passes of 16 bits, O(n) (a
 * comparison sort of a large map's keys would cost more than its walk).
 * false when out of memory (v unsorted). */
static bool sort_hashes(uint64_t *v, size_t n)
{
    if (n < 64) {
        if (n > 1) qsort(v, n, sizeof *v, cmp_u64);
        return true;
    }
    uint64_t *tmp = malloc(n * sizeof *tmp);
    uint32_t *count = malloc(65536 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return false;
    }
    uint64_t *from = v, *to = tmp;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++) count[(from[i] >> shift) & 0xffff]++;
        uint32_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) to[count[(from[i] >> shift) & 0xffff]++] = from[i];
        uint64_t *t = from;
        from = to;
        to = t;
    }
    /* four passes: the result is back in v */
    free(tmp);
    free(count);
    return true;
}

/* What a walk of one map adds up. */
typedef struct walk {
    census *c;
    cmap *m;
    mr_map_info info;
    addr_set seen; /* objects counted for this map */
    size_t nkeys, kcap;
    uint64_t *keys;
    /* the walk for a report: added keys and sampled sites */
    const cmap *before;
    const addr_set *sampled; /* sampled objects */
    const uintptr_t *sampled_pc;
    bool report;
    /* entry pointers waiting to be counted, a block at a time */
    const void *pending[256];
    size_t npending;
} walk;

/* Counts the object containing p once, and says which object it is. */
static uintptr_t count_object(walk *w, const void *p, bool *fresh)
{
    void *start;
    *fresh = false;
    if (!p || !mr_object_type(p, &start) || !start) return 0;
    *fresh = set_add(&w->seen, (uintptr_t)start);
    if (*fresh) w->m->bytes += mr_object_size(start);
    return (uintptr_t)start;
}

/* An edge's target, which is an object's start: one lookup, not two. */
static void level2(void *obj, size_t off, void *to, void *ud)
{
    (void)obj, (void)off;
    walk *w = ud;
    if (set_add(&w->seen, (uintptr_t)to)) w->m->bytes += mr_object_size(to);
}

/*
 * Counts the pending entry pointers: their objects, and the objects those
 * point to. The walk is bound by cache misses on objects spread over the
 * heap, so it goes a block at a time in three passes, each prefetching
 * what the next one reads: the objects' headers; then, as each object is
 * counted, the targets of its first pointer fields; then their edges.
 */
static void flush_pending(walk *w)
{
    size_t n = w->npending;
    uintptr_t objs[sizeof w->pending / sizeof *w->pending];
    size_t no = 0;
    for (size_t i = 0; i < n; i++) {
        __builtin_prefetch(w->pending[i]);
        __builtin_prefetch((const char *)w->pending[i] - sizeof(uintptr_t)); /* its header */
    }
    for (size_t i = 0; i < n; i++) {
        void *start;
        const mr_type *t = mr_object_type(w->pending[i], &start);
        if (!t || !start || !set_add(&w->seen, (uintptr_t)start)) continue;
        w->m->bytes += mr_object_size(start);
        cmap *child = map_at(w->c, (uintptr_t)start);
        if (child) {
            if (!child->parent && child != w->m) child->parent = w->m->addr;
            continue; /* a nested map's contents are its own */
        }
        for (uint32_t k = 0; k < t->nptrs && k < 4; k++) {
            const char *v;
            memcpy(&v, (const char *)start + t->ptr_offsets[k], sizeof v);
            if (v) {
                __builtin_prefetch(v);
                __builtin_prefetch(v - sizeof(uintptr_t));
            }
        }
        if (t->nptrs) objs[no++] = (uintptr_t)start;
    }
    for (size_t k = 0; k < no; k++) mr_walk_edges((void *)objs[k], level2, w);
    w->npending = 0;
}

/* A pointer of an entry: its object and the objects that one points to
 * count (a block at a time: flush_pending). */
static void entry_pointer(walk *w, const void *p)
{
    if (!p) return;
    w->pending[w->npending++] = p;
    if (w->npending == sizeof w->pending / sizeof *w->pending) flush_pending(w);
}

/* The heap pointers among the bytes of a key or value of type t (NULL:
 * none known; a pointer key kind is one pointer). */
static void each_pointer(walk *w, const mr_type *t, const void *p)
{
    if (!t) return;
    for (uint32_t i = 0; i < t->nptrs; i++) {
        const void *q;
        memcpy(&q, (const char *)p + t->ptr_offsets[i], sizeof q);
        entry_pointer(w, q);
    }
}

static void on_bucket(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)old, (void)index, (void)overflow;
    bool fresh;
    count_object(ud, bucket, &fresh);
}

/* The report's walk of a slot whose key was added: the key joins the
 * sample (the smallest few, in mf_text_cmp_natural's order), and the allocation stacks of the
 * value's objects, and of those they point to, are counted when sampled. */
static void added_slot(walk *w, const mr_map_slot *s, const char *text)
{
    cmap *m = w->m;
    size_t at = m->nadded;
    while (at > 0 && mf_text_cmp_natural(text, m->added[at - 1]) < 0) at--;
    if (at < KEY_SAMPLE) {
        char *k = strdup(text);
        if (k) {
            if (m->nadded == KEY_SAMPLE) free(m->added[--m->nadded]);
            memmove(&m->added[at + 1], &m->added[at], (m->nadded - at) * sizeof *m->added);
            m->added[at] = k;
            m->nadded++;
        }
    }
    const mr_type *vt = w->info.type->value_type;
    const addr_set *sm = w->sampled;
    for (uint32_t i = 0; vt && sm->cap && i < vt->nptrs; i++) {
        const void *q;
        void *start;
        memcpy(&q, (const char *)s->value + vt->ptr_offsets[i], sizeof q);
        if (!q || !mr_object_type(q, &start) || !start) continue;
        uintptr_t objs[16];
        size_t no = 0;
        objs[no++] = (uintptr_t)start;
        const mr_type *ot = mr_object_type(start, NULL);
        for (uint32_t j = 0; ot && j < ot->nptrs && no < 16; j++) {
            void *r, *rs;
            memcpy(&r, (const char *)start + ot->ptr_offsets[j], sizeof r);
            if (r && mr_object_type(r, &rs) && rs) objs[no++] = (uintptr_t)rs;
        }
        for (size_t k = 0; k < no; k++) {
            size_t j = addr_hash(objs[k], sm->cap);
            while (sm->v[j] && sm->v[j] != objs[k]) j = (j + 1) & (sm->cap - 1);
            if (!sm->v[j]) continue;         /* not sampled */
            uintptr_t pc = w->sampled_pc[j]; /* the leaf kept beside the address */
            m->sampled++;
            uint32_t x = 0;
            while (x < m->nsites && m->site_pc[x] != pc) x++;
            if (x < m->nsites) {
                m->site_n[x]++;
            } else if (m->nsites < SITES) {
                m->site_pc[m->nsites] = pc;
                m->site_n[m->nsites++] = 1;
            }
        }
    }
}

static void on_slot(const mr_map_slot *s, void *ud)
{
    walk *w = ud;
    const mr_map_type *t = w->info.type;
    uint64_t h = key_hash(t, s->key);
    if (w->report) {
        const cmap *b = w->before;
        if (b && b->nkeys && bsearch(&h, b->keys, b->nkeys, sizeof h, cmp_u64)) return;
        char text[KEY_TEXT];
        size_t n = mr_map_render_key(t, s->key, text, sizeof text);
        text[n < sizeof text ? n : sizeof text - 1] = 0;
        added_slot(w, s, text);
        return;
    }
    if (w->info.key_indirect) entry_pointer(w, s->key);
    if (w->info.value_indirect) entry_pointer(w, s->value);
    switch (t->key_kind) {
    case MR_KEY_PTR: {
        const void *q;
        memcpy(&q, s->key, sizeof q);
        entry_pointer(w, q);
        break;
    }
    case MR_KEY_STRING: {
        mr_str k;
        memcpy(&k, s->key, sizeof k);
        entry_pointer(w, k.ptr);
        break;
    }
    case MR_KEY_BYTES:
        each_pointer(w, t->key_type, s->key);
        break;
    default:
        break;
    }
    each_pointer(w, t->value_type, s->value);
    if (w->nkeys == w->kcap) {
        size_t cap = w->kcap ? w->kcap * 2 : 64;
        uint64_t *v = realloc(w->keys, cap * sizeof *v);
        if (!v) {
            w->c->oom = true;
            return;
        }
        w->keys = v;
        w->kcap = cap;
    }
    w->keys[w->nkeys++] = h;
}

/* mrc__map_lists_each callback: one of the lists that keep a map's
 * overflow buckets, counted in its table once. */
static void on_list(void *obj, size_t size, void *ud)
{
    walk *w = ud;
    if (set_add(&w->seen, (uintptr_t)obj)) w->m->bytes += size;
}

/* Counts the objects of the runtime's own kind the header reaches through
 * others of that kind: the lists that keep the overflow buckets of a map
 * without pointers alive belong to its table as its buckets do. */
static void count_table_runtime(walk *w, uintptr_t header)
{
    if (mrc__map_lists_each((const mr_map *)header, on_list, w)) w->c->oom = true;
}

/* 4: a map's figures and keys. */
static void walk_map(census *c, cmap *m, addr_set *seen)
{
    walk w = {.c = c, .m = m, .seen = *seen};
    mr_map_get_info((const mr_map *)m->addr, &w.info);
    m->type = w.info.type;
    m->seed = w.info.hash0;
    m->entries = w.info.count;
    bool fresh;
    count_object(&w, (void *)m->addr, &fresh);
    count_table_runtime(&w, m->addr);
    mr_map_walk((const mr_map *)m->addr, on_bucket, on_slot, &w);
    flush_pending(&w);
    if (w.seen.oom) c->oom = true;
    set_clear(&w.seen);
    *seen = w.seen;
    if (!sort_hashes(w.keys, w.nkeys)) c->oom = true;
    m->keys = w.keys;
    m->nkeys = w.nkeys;
}

/* A root as reports name it, and its holder text. */
static void root_names(const croot *x, char **text, char **holder)
{
    const mr_root *r = &x->r;
    const char *fn = x->function && *x->function ? x->function : "?";
    switch (r->kind) {
    case MR_ROOT_GLOBAL: {
        char file[512];
        snprintf(file, sizeof file, "%s", r->file ? r->file : "");
        mf_path_clean(file);
        *text = *file ? mf_asprintf("global %s (%s:%d)", r->name, file, r->line)
                      : mf_asprintf("global %s", r->name);
        *holder = mf_asprintf("global %s", r->name);
        break;
    }
    case MR_ROOT_PIN:
        *text = mf_asprintf("pin %s", r->name ? r->name : "(unlabelled)");
        *holder = strdup(*text);
        break;
    case MR_ROOT_ITERATOR:
        *text = mf_asprintf("iterator: thread %" PRIu32 ", frame #%" PRIu32 " %s", r->thread,
                            r->frame, fn);
        *holder = mf_asprintf("iterator %s", fn);
        break;
    case MR_ROOT_REGISTER:
        *text = mf_asprintf("register %s of thread %" PRIu32 ", frame #%" PRIu32 " %s",
                            r->name ? r->name : "?", r->thread, r->frame, fn);
        *holder = mf_asprintf("stack %s", fn);
        break;
    case MR_ROOT_STACK:
        *text = mf_asprintf("stack: thread %" PRIu32 ", frame #%" PRIu32 " %s", r->thread, r->frame,
                            fn);
        *holder = mf_asprintf("stack %s", fn);
        break;
    default:
        *text = mf_asprintf("runtime root %s", r->name ? r->name : "");
        *holder = strdup(*text);
        break;
    }
}

/* Names each map's holder: its root's, else its parent map's (through a
 * chain of nested maps, at most as long as there are maps). */
static void name_holders(census *c)
{
    for (size_t i = 0; i < c->n && !c->oom; i++) {
        cmap *m = &c->v[i];
        cmap *top = m;
        bool own = false;
        size_t depth = 0;
        char *via = NULL;
        while (top->root < 0 && top->parent && depth++ < c->n) {
            own |= top->own_hit;
            cmap *p = map_at(c, top->parent);
            if (!p) break;
            top = p;
        }
        own |= top->own_hit;
        if (top->root >= 0) {
            char *text, *holder;
            root_names(&c->roots[top->root], &text, &holder);
            if (!text || !holder) {
                free(text);
                free(holder);
                c->oom = true;
                return;
            }
            if (top != m) {
                via = mf_asprintf("%s -> %s", text, top->type ? top->type->name : "map");
                m->root_text = via;
                m->holder = mf_asprintf("%s in %s", holder,
                                        top->type && top->type->name ? top->type->name : "map");
                free(text);
                free(holder);
            } else {
                m->root_text = top->through ? mf_asprintf("%s (through an object)", text) : text;
                if (top->through) free(text);
                m->holder = holder;
            }
        } else {
            m->own = own;
            m->root_text = strdup(own ? "the caller's own stack" : "(held through other objects)");
            m->holder = strdup("");
        }
        if (!m->root_text || !m->holder) c->oom = true;
    }
}

/* Takes a census (world stopped by the caller). */
static census *census_take(uintptr_t stack_lo, uintptr_t stack_hi)
{
    census *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->stack_lo = stack_lo;
    c->stack_hi = stack_hi;
    mr_walk_roots(true, on_root, c);
    mr_walk_objects(false, on_object, c);
    if (!c->oom) assign_roots(c);
    addr_set seen = {0};
    for (size_t i = 0; i < c->n && !c->oom; i++) walk_map(c, &c->v[i], &seen);
    set_free(&seen);
    if (!c->oom) name_holders(c);

    if (c->oom) {
        census_free(c);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------ matching --- */

static int cmp_ident(const void *x, const void *y, void *ud)
{
    const census *c = ud;
    const cmap *a = &c->v[*(const uint32_t *)x], *b = &c->v[*(const uint32_t *)y];
    int r = strcmp(a->type && a->type->name ? a->type->name : "",
                   b->type && b->type->name ? b->type->name : "");
    if (!r) r = strcmp(a->holder, b->holder);
    return r ? r : (a->addr > b->addr) - (a->addr < b->addr);
}

/* Each map of the end's census gets the start's map it is (before), by
 * address, type and seed, else by type and holder (a replaced map; a map
 * emptied or cleared, which draws a new seed). An address alone proves
 * nothing: a header freed in the block may be reused by a new map. */
static int match(census *b, census *a)
{
    bool *used = calloc(b->n + 1, sizeof *used);
    uint32_t *lb = malloc((b->n + 1) * sizeof *lb), *la = malloc((a->n + 1) * sizeof *la);
    if (!used || !lb || !la) {
        free(used);
        free(lb);
        free(la);
        return -1;
    }
    for (size_t i = 0, j = 0; i < a->n && j < b->n;) { /* both by address */
        if (a->v[i].addr < b->v[j].addr) {
            i++;
        } else if (a->v[i].addr > b->v[j].addr) {
            j++;
        } else {
            if (a->v[i].type == b->v[j].type && a->v[i].seed == b->v[j].seed && !a->v[i].own &&
                !b->v[j].own) {
                a->v[i].before = (int32_t)j;
                used[j] = true;
            }
            i++;
            j++;
        }
    }
    size_t nb = 0, na = 0;
    for (size_t j = 0; j < b->n; j++)
        if (!used[j] && !b->v[j].own && *b->v[j].holder) lb[nb++] = (uint32_t)j;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].before < 0 && !a->v[i].own && *a->v[i].holder) la[na++] = (uint32_t)i;
    if (nb > 1) qsort_r(lb, nb, sizeof *lb, cmp_ident, b);
    if (na > 1) qsort_r(la, na, sizeof *la, cmp_ident, a);
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        const cmap *x = &a->v[la[i]], *y = &b->v[lb[j]];
        int r = strcmp(x->type && x->type->name ? x->type->name : "",
                       y->type && y->type->name ? y->type->name : "");
        if (!r) r = strcmp(x->holder, y->holder);
        if (r < 0) {
            i++;
        } else if (r > 0) {
            j++;
        } else {
            a->v[la[i]].before = (int32_t)lb[j];
            i++;
            j++;
        }
    }
    free(used);
    free(lb);
    free(la);
    return 0;
}

/* ------------------------------------------------------------ the check --- */

static void caller_stack(uintptr_t *lo, uintptr_t *hi)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    *lo = *hi = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        *lo = (uintptr_t)addr;
        *hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

/* A collection, then a census of what it left. */
static census *collect_and_count(void)
{
    uintptr_t lo, hi;
    caller_stack(&lo, &hi);
    mr_gc();
    mr_stop_the_world();
    census *c = census_take(lo, hi);
    mr_start_the_world();
    return c;
}

static int begin(mrc_leakcheck *lc)
{
    mrc_init();
    mr_thread_attach();
    census_free(lc->census_);
    lc->census_ = collect_and_count();
    if (!lc->census_) {
        mrc__set_error("mrc_leakcheck_begin: out of memory taking the census");
        return -1;
    }
    return 0;
}

__attribute__((noinline)) int mrc_leakcheck_begin(mrc_leakcheck *lc)
{
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    int rc = begin(lc);
    mr_call_end(outer);
    return rc;
}

/* ----------------------------------------------------------- the report --- */

typedef struct report_mem {
    mrc_leak *leaks;
    char **strings;
    size_t nstrings;
    char *text;
} report_mem;

static const char *report_fail(mrc_leak_report *r, report_mem *mem, const char *msg)
{
    mrc__set_error("%s", msg);
    r->status = -1;
    mem->text = strdup(msg);
    r->text = mem->text ? mem->text : "out of memory";
    return r->text;
}

/* The report of the leaks (indices into a, largest growth first). */
static void write_report(FILE *f, const census *b, const census *a, const uint32_t *leaks, size_t n,
                         const mrc_leakcheck *lc, uint64_t max_bytes, mrc_symbolizer *sym)
{
    char c1[40], c2[40], c3[40], b1[64], b2[64], b3[64];
    mf_format_count(c1, sizeof c1, lc->max_entries);
    mf_format_bytes(b1, sizeof b1, max_bytes);
    mf_format_bytes(b2, sizeof b2, b->heap_bytes);
    mf_format_bytes(b3, sizeof b3, a->heap_bytes);
    fprintf(f, "maproot leak check: FAIL  %zu map%s grew (allowed per map: +%s entries, +%s)\n", n,
            n == 1 ? "" : "s", c1, b1);
    fprintf(f, "  heap %s -> %s; %zu map%s\n", b2, b3, a->n, a->n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        const cmap *m = &a->v[leaks[i]];
        const cmap *p = m->before >= 0 ? &b->v[m->before] : NULL;
        uint64_t e0 = p ? p->entries : 0, r0 = p ? p->bytes : 0;
        fprintf(f, "LEAK  %s  root %s\n", m->type && m->type->name ? m->type->name : "map",
                m->root_text);
        mf_format_count(c1, sizeof c1, e0);
        mf_format_count(c2, sizeof c2, m->entries);
        mf_format_count(c3, sizeof c3, m->entries > e0 ? m->entries - e0 : 0);
        mf_format_bytes(b1, sizeof b1, r0);
        mf_format_bytes(b2, sizeof b2, m->bytes);
        mf_format_bytes(b3, sizeof b3, m->bytes > r0 ? m->bytes - r0 : 0);
        fprintf(f, "  grew %s -> %s entries (+%s), %s -> %s retained (+%s)%s\n", c1, c2, c3, b1, b2,
                b3, p ? "" : " (a new map)");
        if (m->keys_added) {
            mf_format_count(c1, sizeof c1, m->keys_added);
            fputs("  keys     added", f);
            for (size_t k = 0; k < m->nadded; k++) fprintf(f, "%s %s", k ? "," : "", m->added[k]);
            fprintf(f, "%s (%s in all)\n", m->keys_added > m->nadded ? ", ..." : "", c1);
        }
        if (!m->nsites) {
            fputs("  sites    none sampled (MAPROOT_PROFILE_RATE=1 samples every allocation)\n", f);
            continue;
        }
        fputs("  sites   ", f);
        for (uint32_t s = 0; s < m->nsites; s++) {
            const mrc_sym_frame *fr;
            uintptr_t pc = m->site_pc[s];
            size_t nf = sym ? mrc_sym_lookup(sym, pc ? pc - 1 : 0, &fr) : 0;
            if (nf && *fr[0].function) {
                fprintf(f, "%s %s", s ? "," : "", fr[0].function);
                if (*fr[0].file && fr[0].line > 0)
                    fprintf(f, " (%s:%" PRId64 ")", fr[0].file, fr[0].line);
            } else {
                fprintf(f, "%s 0x%" PRIxPTR, s ? "," : "", pc);
            }
            fprintf(f, " %.0f%%", 100.0 * m->site_n[s] / (double)(m->sampled ? m->sampled : 1));
        }
        fputc('\n', f);
    }
}

static void on_sample(void *ud, uintptr_t obj, uint64_t size, const uintptr_t *pcs, size_t n)
{
    (void)size, (void)pcs;
    if (n) set_add(ud, obj);
}

typedef struct leaf_ctx {
    const addr_set *set;
    uintptr_t *pcs;
} leaf_ctx;

static void on_sample_leaf(void *ud, uintptr_t obj, uint64_t size, const uintptr_t *pcs, size_t n)
{
    (void)size;
    leaf_ctx *l = ud;
    if (!n || !l->set->cap) return;
    size_t j = addr_hash(obj, l->set->cap);
    for (; l->set->v[j]; j = (j + 1) & (l->set->cap - 1))
        if (l->set->v[j] == obj) {
            l->pcs[j] = pcs[0];
            return;
        }
}

/* The objects the heap profiler sampled: a set of their addresses, and in
 * *pcs, beside each address's slot, the leaf of its allocation stack (the
 * program's frame that allocated it). Two passes: the set is full before
 * the leaves are placed. */
static int sampled_objects(addr_set *set, uintptr_t **pcs)
{
    struct mrc_prof *prof = mrc__prof();
    *pcs = NULL;
    if (!prof) return 0;
    mrc_prof_each_object(prof, on_sample, set);
    if (set->oom || !(*pcs = calloc(set->cap ? set->cap : 1, sizeof **pcs))) return -1;
    leaf_ctx l = {set, *pcs};
    mrc_prof_each_object(prof, on_sample_leaf, &l);
    return 0;
}

static int cmp_growth(const void *x, const void *y, void *ud)
{
    const census *a = ud;
    const cmap *m = &a->v[*(const uint32_t *)x], *n = &a->v[*(const uint32_t *)y];
    return (m->bytes < n->bytes) - (m->bytes > n->bytes);
}

static int end(mrc_leakcheck *lc, mrc_leak_report *r)
{
    report_mem *mem = calloc(1, sizeof *mem);
    memset(r, 0, sizeof *r);
    r->mem_ = mem;
    r->text = "";
    if (!mem) {
        r->status = -1;
        r->text = "out of memory";
        return -1;
    }
    census *b = lc->census_;
    lc->census_ = NULL;
    if (!b) {
        report_fail(r, mem, "mrc_leakcheck_end: no check was begun on this mrc_leakcheck");
        return -1;
    }
    uint64_t max_bytes = lc->max_bytes ? lc->max_bytes : MRC_LEAKCHECK_DEFAULT_BYTES;
    uintptr_t lo, hi;
    caller_stack(&lo, &hi);
    mr_gc();
    mr_stop_the_world();
    census *a = census_take(lo, hi);
    uint32_t *leaks = NULL;
    size_t n = 0;
    addr_set sampled = {0};
    uintptr_t *pcs = NULL;
    bool oom = !a || match(b, a) != 0;
    if (!oom && !(leaks = malloc((a->n + 1) * sizeof *leaks))) oom = true;
    for (size_t i = 0; !oom && i < a->n; i++) {
        cmap *m = &a->v[i];
        if (m->own) continue;
        const cmap *p = m->before >= 0 ? &b->v[m->before] : NULL;
        uint64_t e0 = p ? p->entries : 0, r0 = p ? p->bytes : 0;
        if ((m->entries > e0 && m->entries - e0 > lc->max_entries) ||
            (m->bytes > r0 && m->bytes - r0 > max_bytes))
            leaks[n++] = (uint32_t)i;
    }
    if (!oom && n && sampled_objects(&sampled, &pcs) != 0) set_clear(&sampled); /* no sites */
    /* the leaks' added keys and sites: one more walk of each */
    for (size_t i = 0; !oom && i < n; i++) {
        cmap *m = &a->v[leaks[i]];
        const cmap *p = m->before >= 0 ? &b->v[m->before] : NULL;
        m->keys_added = 0;
        for (size_t k = 0; k < m->nkeys; k++)
            if (!p || !p->nkeys ||
                !bsearch(&m->keys[k], p->keys, p->nkeys, sizeof *p->keys, cmp_u64))
                m->keys_added++;
        walk w = {
            .c = a, .m = m, .before = p, .sampled = &sampled, .sampled_pc = pcs, .report = true};
        mr_map_get_info((const mr_map *)m->addr, &w.info);
        mr_map_walk((const mr_map *)m->addr, NULL, on_slot, &w);
    }
    mr_start_the_world();
    if (oom) {
        census_free(a);
        census_free(b);
        free(leaks);
        set_free(&sampled);
        free(pcs);
        report_fail(r, mem, "mrc_leakcheck_end: out of memory taking the census");
        return -1;
    }
    if (n > 1) qsort_r(leaks, n, sizeof *leaks, cmp_growth, a);
    r->maps = a->n;
    r->heap_before = b->heap_bytes;
    r->heap_after = a->heap_bytes;
    r->status = n ? 1 : 0;
    r->nleaks = n;
    if (n) {
        mem->leaks = calloc(n, sizeof *mem->leaks);
        mem->strings = calloc(2 * n, sizeof *mem->strings);
        mrc_symbolizer *sym = mrc__symbolizer_new();
        size_t len = 0;
        FILE *f = open_memstream(&mem->text, &len);
        if (f) {
            write_report(f, b, a, leaks, n, lc, max_bytes, sym);
            if (fclose(f) != 0) {
                free(mem->text);
                mem->text = NULL;
            }
        }
        mrc_sym_free(sym);
        r->text =
            mem->text ? mem->text : "maproot leak check: FAIL (out of memory writing the report)\n";
        for (size_t i = 0; mem->leaks && mem->strings && i < n; i++) {
            const cmap *m = &a->v[leaks[i]];
            const cmap *p = m->before >= 0 ? &b->v[m->before] : NULL;
            mrc_leak *x = &mem->leaks[i];
            mem->strings[mem->nstrings++] =
                strdup(m->type && m->type->name ? m->type->name : "map");
            mem->strings[mem->nstrings++] = strdup(m->root_text);
            x->type = mem->strings[mem->nstrings - 2] ? mem->strings[mem->nstrings - 2] : "";
            x->root = mem->strings[mem->nstrings - 1] ? mem->strings[mem->nstrings - 1] : "";
            x->entries_before = p ? p->entries : 0;
            x->entries_after = m->entries;
            x->bytes_before = p ? p->bytes : 0;
            x->bytes_after = m->bytes;
            x->keys_added = m->keys_added;
        }
        r->leaks = mem->leaks;
        if (!mem->leaks) r->nleaks = 0;
    }
    census_free(a);
    census_free(b);
    free(leaks);
    set_free(&sampled);
    free(pcs);
    return r->status;
}

__attribute__((noinline)) int mrc_leakcheck_end(mrc_leakcheck *lc, mrc_leak_report *report)
{
    mr_thread_attach();
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    int rc = end(lc, report);
    mr_call_end(outer);
    return rc;
}

void mrc_leak_report_free(mrc_leak_report *report)
{
    report_mem *mem = report->mem_;
    if (mem) {
        for (size_t i = 0; i < mem->nstrings; i++) free(mem->strings[i]);
        free(mem->strings);
        free(mem->leaks);
        free(mem->text);
        free(mem);
    }
    memset(report, 0, sizeof *report);
    report->text = "";
}

__attribute__((noinline)) int mrc_leakcheck_step(mrc_leakcheck *lc, mrc_leak_report *report)
{
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    int more = 0;
    if (lc->run_ < lc->warmups) {
        more = 1; /* a warm-up run */
    } else if (lc->run_ == lc->warmups) {
        mr_thread_attach();
        if (begin(lc) == 0) {
            more = 1; /* the judged run */
        } else {
            report_mem *mem = calloc(1, sizeof *mem);
            memset(report, 0, sizeof *report);
            report->mem_ = mem;
            report->status = -1;
            if (mem) mem->text = strdup(mrc_last_error());
            report->text = mem && mem->text ? mem->text : "out of memory";
        }
    } else {
        end(lc, report);
    }
    lc->run_++;
    mr_call_end(outer);
    return more;
}
