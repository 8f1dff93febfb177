/*
 * src/analyze/graph.c -- building the format-neutral heap graph.
 *
 * The builder appends records to growable arrays and does all the work that
 * needs every object at once in mp_gb_finish: sorting objects by address,
 * renumbering provisional indices, resolving address references, packing
 * edges into CSR (both directions) and grouping buckets and entries by map.
 */
#include "analyze/graph.h"

#include <stdlib.h>
#include <string.h>

const char *mp_root_kind_name(unsigned kind)
{
    static const char *const names[] = {"global",   "pin",     "stack",     "iterator",
                                        "register", "runtime", "finalizer", "other"};
    return kind < MP_ROOT_NKINDS ? names[kind] : "?";
}

const char *mp_type_kind_name(unsigned kind)
{
    static const char *const names[] = {"other",  "struct",     "array",  "blob",
                                        "string", "map header", "bucket", "runtime"};
    return kind < MP_TYPE_NKINDS ? names[kind] : "?";
}

/* ------------------------------------------------------ growable arrays --- */

/* The size of the last allocation of the builder that failed, for the
 * message that says how much was needed. */
static _Thread_local size_t failed_bytes;

/* Makes room for one more element in *p (holding *n of *cap); false when out
 * of memory or the size would overflow. */
static bool grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 64;
    if (nc < n + 1) nc = n + 1;
    if (nc > SIZE_MAX / elem) return false;
    void *q = realloc(*p, nc * elem);
    if (!q) failed_bytes = nc * elem;
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

/* Resizes *p to exactly cap elements when larger than now. */
static bool reserve(void **p, size_t *cap, size_t want, size_t elem)
{
    if (want <= *cap) return true;
    if (want > SIZE_MAX / elem) return false;
    void *q = realloc(*p, want * elem);
    if (!q) failed_bytes = want * elem;
    if (!q) return false;
    *p = q;
    *cap = want;
    return true;
}

#define GROW(b, arr, n, cap) grow((void **)&(arr), &(cap), (n), sizeof *(arr))

struct mp_graph_builder {
    bool oom;
    char *name;
    const char *format;
    mp_graph_info info;
    char *program;
    /* strings */
    char *strs;
    size_t strs_len, strs_cap;
    uint32_t *htab; /* interned sids + 1, open addressing; 0 empty */
    size_t hcap, hcount;
    /* objects */
    uint64_t *addr, *size;
    uint32_t *type, *stack;
    size_t nobj, cap_obj;
    bool sorted;
    uint64_t total_bytes;
    /* edges */
    uint32_t *esrc, *edst, *eoff; /* eoff: MP_NO_OFFSET unknown */
    size_t nedge, cap_edge;
    bool edges_in_order;
    uint64_t *aesrc, *aedst;
    size_t naedge, cap_aedge;
    /* tables */
    mp_type *types;
    size_t ntypes, cap_types;
    mp_gframe *frames;
    size_t nframes, cap_frames;
    mp_stack *stacks;
    size_t nstacks, cap_stacks;
    mp_root *roots;
    uint64_t *root_addr;
    size_t nroots, cap_roots, cap_root_addr;
    mp_map *maps;
    size_t nmaps, cap_maps;
    mp_bucket *buckets;
    uint64_t *bucket_addr;
    size_t nbuckets, cap_buckets, cap_bucket_addr;
    mp_entry *entries;
    size_t nentries, cap_entries;
};

mp_graph_builder *mp_gb_new(const char *name, const char *format)
{
    mp_graph_builder *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->name = strdup(name ? name : "");
    b->format = format ? format : "";
    b->strs = malloc(256);
    b->strs_cap = 256;
    if (!b->name || !b->strs) {
        mp_gb_free(b);
        return NULL;
    }
    b->strs[0] = 0;
    b->strs_len = 1;
    b->sorted = true;
    b->edges_in_order = true;
    b->info.thread_noun = "thread";
    return b;
}

void mp_gb_free(mp_graph_builder *b)
{
    if (!b) return;
    free(b->name);
    free(b->program);
    free(b->strs);
    free(b->htab);
    free(b->addr);
    free(b->size);
    free(b->type);
    free(b->stack);
    free(b->esrc);
    free(b->edst);
    free(b->eoff);
    free(b->aesrc);
    free(b->aedst);
    free(b->types);
    free(b->frames);
    free(b->stacks);
    free(b->roots);
    free(b->root_addr);
    free(b->maps);
    free(b->buckets);
    free(b->bucket_addr);
    free(b->entries);
    free(b);
}

void mp_gb_set_pause(mp_graph_builder *b, uint64_t pause_ns)
{
    b->info.gc_pause_ns = pause_ns;
}

void mp_gb_set_build_id(mp_graph_builder *b, const char *build_id)
{
    b->info.build_id = mp_gb_intern(b, build_id ? build_id : "");
}

void mp_gb_set_info(mp_graph_builder *b, const char *program, uint64_t pid, int64_t time_nanos,
                    uint32_t gc_cycle, uint32_t pointer_size, uint64_t profile_rate,
                    uint64_t heap_alloc)
{
    b->info.program = mp_gb_intern(b, program ? program : "");
    b->info.pid = pid;
    b->info.time_nanos = time_nanos;
    b->info.gc_cycle = gc_cycle;
    b->info.pointer_size = pointer_size;
    b->info.profile_rate = profile_rate;
    b->info.heap_alloc = heap_alloc;
}

void mp_gb_set_origin(mp_graph_builder *b, const char *thread_noun, const char *runtime,
                      uint64_t unreachable_objects, uint64_t unreachable_bytes)
{
    b->info.thread_noun = thread_noun ? thread_noun : "thread";
    b->info.runtime = mp_gb_intern(b, runtime ? runtime : "");
    b->info.unreachable_objects = unreachable_objects;
    b->info.unreachable_bytes = unreachable_bytes;
}

/* ------------------------------------------------------------- strings --- */

static uint64_t str_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* Appends n bytes and a NUL to the table; the sid, or 0 on failure. */
static mp_sid str_append(mp_graph_builder *b, const char *s, size_t n)
{
    if (b->oom) return 0;
    if (b->strs_len + n + 1 > UINT32_MAX) {
        b->oom = true; /* string ids are 32-bit offsets */
        return 0;
    }
    while (b->strs_len + n + 1 > b->strs_cap) {
        size_t nc = b->strs_cap * 2;
        char *q = realloc(b->strs, nc);
        if (!q) {
            b->oom = true;
            return 0;
        }
        b->strs = q;
        b->strs_cap = nc;
    }
    mp_sid id = (mp_sid)b->strs_len;
    if (n) memcpy(b->strs + b->strs_len, s, n);
    b->strs[b->strs_len + n] = 0;
    b->strs_len += n + 1;
    return id;
}

mp_sid mp_gb_string(mp_graph_builder *b, const char *s, size_t len)
{
    if (!s) return 0;
    const char *nul = memchr(s, 0, len);
    if (nul) len = (size_t)(nul - s);
    if (len == 0) return 0;
    return str_append(b, s, len);
}

/* Interning keeps one copy of names that recur (functions, files, types) in
 * an open-addressing table of sids, doubled at half load. */
mp_sid mp_gb_intern(mp_graph_builder *b, const char *s)
{
    if (!s || !*s || b->oom) return 0;
    size_t n = strlen(s);
    if (b->hcount * 2 >= b->hcap) {
        size_t nc = b->hcap ? b->hcap * 2 : 256;
        uint32_t *nt = calloc(nc, sizeof *nt);
        if (!nt) {
            b->oom = true;
            return 0;
        }
        for (size_t i = 0; i < b->hcap; i++) {
            if (!b->htab[i]) continue;
            const char *t = b->strs + (b->htab[i] - 1);
            size_t j = str_hash(t, strlen(t)) & (nc - 1);
            while (nt[j]) j = (j + 1) & (nc - 1);
            nt[j] = b->htab[i];
        }
        free(b->htab);
        b->htab = nt;
        b->hcap = nc;
    }
    size_t j = str_hash(s, n) & (b->hcap - 1);
    while (b->htab[j]) {
        const char *t = b->strs + (b->htab[j] - 1);
        if (strcmp(t, s) == 0) return b->htab[j] - 1;
        j = (j + 1) & (b->hcap - 1);
    }
    mp_sid id = str_append(b, s, n);
    if (!id) return 0;
    b->htab[j] = id + 1;
    b->hcount++;
    return id;
}

/* -------------------------------------------------------------- records --- */

void mp_gb_reserve(mp_graph_builder *b, size_t objects, size_t edges)
{
    size_t c = b->cap_obj;
    bool ok = reserve((void **)&b->addr, &c, objects, sizeof(uint64_t));
    c = b->cap_obj;
    ok = ok && reserve((void **)&b->size, &c, objects, sizeof(uint64_t));
    c = b->cap_obj;
    ok = ok && reserve((void **)&b->type, &c, objects, sizeof(uint32_t));
    c = b->cap_obj;
    ok = ok && reserve((void **)&b->stack, &c, objects, sizeof(uint32_t));
    if (ok) b->cap_obj = c;
    c = b->cap_edge;
    ok = reserve((void **)&b->esrc, &c, edges, sizeof(uint32_t));
    c = b->cap_edge;
    ok = ok && reserve((void **)&b->edst, &c, edges, sizeof(uint32_t));
    c = b->cap_edge;
    ok = ok && reserve((void **)&b->eoff, &c, edges, sizeof(uint32_t));
    if (ok) b->cap_edge = c;
}

uint32_t mp_gb_type(mp_graph_builder *b, const char *name, uint64_t size, mp_type_kind kind)
{
    if (!GROW(b, b->types, b->ntypes, b->cap_types)) {
        b->oom = true;
        return MP_NONE;
    }
    b->types[b->ntypes] = (mp_type){mp_gb_intern(b, name), size, (uint8_t)kind, MP_PTRS_UNKNOWN};
    return (uint32_t)b->ntypes++;
}

void mp_gb_type_pointers(mp_graph_builder *b, uint32_t type, mp_type_pointers p)
{
    if (type < b->ntypes) b->types[type].pointers = (uint8_t)p;
}

mp_gframe mp_gb_frame(mp_graph_builder *b, const char *function, const char *file, int64_t line)
{
    return (mp_gframe){mp_gb_intern(b, function), mp_gb_intern(b, file), line};
}

uint32_t mp_gb_stack(mp_graph_builder *b, const mp_gframe *frames, size_t n)
{
    if (!GROW(b, b->stacks, b->nstacks, b->cap_stacks) || b->nframes + n > UINT32_MAX) {
        b->oom = true;
        return MP_NONE;
    }
    for (size_t i = 0; i < n; i++) {
        if (!GROW(b, b->frames, b->nframes, b->cap_frames)) {
            b->oom = true;
            return MP_NONE;
        }
        b->frames[b->nframes++] = frames[i];
    }
    b->stacks[b->nstacks] = (mp_stack){(uint32_t)(b->nframes - n), (uint32_t)n};
    return (uint32_t)b->nstacks++;
}

uint32_t mp_gb_object(mp_graph_builder *b, uint64_t address, uint64_t size, uint32_t type,
                      uint32_t stack)
{
    if (b->nobj >= UINT32_MAX - 1) {
        b->oom = true;
        return MP_NONE;
    }
    if (b->nobj == b->cap_obj) {
        size_t nc = b->cap_obj ? b->cap_obj * 2 : 1024;
        size_t c = b->cap_obj;
        bool ok = reserve((void **)&b->addr, &c, nc, sizeof(uint64_t));
        c = b->cap_obj;
        ok = ok && reserve((void **)&b->size, &c, nc, sizeof(uint64_t));
        c = b->cap_obj;
        ok = ok && reserve((void **)&b->type, &c, nc, sizeof(uint32_t));
        c = b->cap_obj;
        ok = ok && reserve((void **)&b->stack, &c, nc, sizeof(uint32_t));
        if (!ok) {
            b->oom = true;
            return MP_NONE;
        }
        b->cap_obj = nc;
    }
    size_t i = b->nobj++;
    if (i > 0 && address <= b->addr[i - 1]) b->sorted = false;
    b->addr[i] = address;
    b->size[i] = size;
    b->type[i] = type;
    b->stack[i] = stack;
    b->total_bytes += size;
    return (uint32_t)i;
}

void mp_gb_adopt_objects(mp_graph_builder *b, uint64_t *addr, uint64_t *size, uint32_t *type,
                         size_t n)
{
    uint32_t *stack = malloc((n ? n : 1) * sizeof *stack);
    if (b->nobj || n >= UINT32_MAX - 1 || !stack || (n && (!addr || !size || !type))) {
        b->oom = true;
        free(addr), free(size), free(type), free(stack);
        return;
    }
    free(b->addr), free(b->size), free(b->type), free(b->stack);
    b->addr = addr, b->size = size, b->type = type, b->stack = stack;
    b->nobj = b->cap_obj = n;
    for (size_t i = 0; i < n; i++) {
        stack[i] = MP_NONE;
        b->total_bytes += size[i];
        if (i > 0 && addr[i] <= addr[i - 1]) b->sorted = false;
    }
}

void mp_gb_object_stack(mp_graph_builder *b, uint32_t obj, uint32_t stack)
{
    if (obj < b->nobj) b->stack[obj] = stack;
}

void mp_gb_object_type(mp_graph_builder *b, uint32_t obj, uint32_t type)
{
    if (obj < b->nobj) b->type[obj] = type;
}

void mp_gb_edge_at(mp_graph_builder *b, uint32_t src, uint32_t dst, uint64_t offset)
{
    if (b->nedge == b->cap_edge) {
        size_t nc = b->cap_edge ? b->cap_edge * 2 : 4096;
        size_t c = b->cap_edge;
        bool ok = reserve((void **)&b->esrc, &c, nc, sizeof(uint32_t));
        c = b->cap_edge;
        ok = ok && reserve((void **)&b->edst, &c, nc, sizeof(uint32_t));
        c = b->cap_edge;
        ok = ok && reserve((void **)&b->eoff, &c, nc, sizeof(uint32_t));
        if (!ok) {
            b->oom = true;
            return;
        }
        b->cap_edge = nc;
    }
    if (b->nedge > 0 && src < b->esrc[b->nedge - 1]) b->edges_in_order = false;
    b->esrc[b->nedge] = src;
    b->edst[b->nedge] = dst;
    b->eoff[b->nedge] = offset < MP_NO_OFFSET ? (uint32_t)offset : MP_NO_OFFSET;
    b->nedge++;
}

void mp_gb_edge(mp_graph_builder *b, uint32_t src, uint32_t dst)
{
    mp_gb_edge_at(b, src, dst, MP_NO_OFFSET);
}

void mp_gb_edge_addr(mp_graph_builder *b, uint64_t src_addr, uint64_t dst_addr)
{
    if (b->naedge == b->cap_aedge) {
        size_t nc = b->cap_aedge ? b->cap_aedge * 2 : 1024;
        size_t c = b->cap_aedge;
        bool ok = reserve((void **)&b->aesrc, &c, nc, sizeof(uint64_t));
        c = b->cap_aedge;
        ok = ok && reserve((void **)&b->aedst, &c, nc, sizeof(uint64_t));
        if (!ok) {
            b->oom = true;
            return;
        }
        b->cap_aedge = nc;
    }
    b->aesrc[b->naedge] = src_addr;
    b->aedst[b->naedge] = dst_addr;
    b->naedge++;
}

void mp_gb_root(mp_graph_builder *b, const mp_root *r, uint64_t target_addr)
{
    if (!GROW(b, b->roots, b->nroots, b->cap_roots) ||
        !grow((void **)&b->root_addr, &b->cap_root_addr, b->nroots, sizeof(uint64_t))) {
        b->oom = true;
        return;
    }
    b->roots[b->nroots] = *r;
    b->roots[b->nroots].order = (uint32_t)b->nroots;
    if (b->roots[b->nroots].kind >= MP_ROOT_NKINDS) b->roots[b->nroots].kind = MP_ROOT_OTHER;
    b->root_addr[b->nroots] = target_addr;
    b->nroots++;
}

uint32_t mp_gb_map(mp_graph_builder *b, const mp_map *m)
{
    if (!GROW(b, b->maps, b->nmaps, b->cap_maps) || b->nmaps >= UINT32_MAX - 1) {
        b->oom = true;
        return MP_NONE;
    }
    mp_map *d = &b->maps[b->nmaps];
    *d = *m;
    d->first_bucket = d->nbuckets = d->first_entry = d->nentries = 0;
    d->nmain = d->noverflow_walked = d->nold = d->table_objects = d->table_bytes = 0;
    return (uint32_t)b->nmaps++;
}

void mp_gb_bucket(mp_graph_builder *b, const mp_bucket *bk, uint64_t obj_addr)
{
    if (!GROW(b, b->buckets, b->nbuckets, b->cap_buckets) ||
        !grow((void **)&b->bucket_addr, &b->cap_bucket_addr, b->nbuckets, sizeof(uint64_t))) {
        b->oom = true;
        return;
    }
    b->buckets[b->nbuckets] = *bk;
    b->bucket_addr[b->nbuckets] = obj_addr;
    b->nbuckets++;
}

void mp_gb_entry(mp_graph_builder *b, const mp_entry *e)
{
    if (!GROW(b, b->entries, b->nentries, b->cap_entries)) {
        b->oom = true;
        return;
    }
    b->entries[b->nentries++] = *e;
}

/* -------------------------------------------------------------- finish --- */

static uint32_t find_in(const uint64_t *addr, const uint64_t *size, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n; /* first object with addr > a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr[mid] <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return MP_NONE;
    size_t i = lo - 1;
    uint64_t sz = size[i] ? size[i] : 1; /* a zero-size object still has its address */
    return a - addr[i] < sz ? (uint32_t)i : MP_NONE;
}

uint32_t mp_graph_find(const mp_graph *g, uint64_t a)
{
    return find_in(g->addr, g->size, g->nobjects, a);
}

typedef struct addr_ix {
    uint64_t addr;
    uint32_t ix;
} addr_ix;

static int cmp_addr_ix(const void *a, const void *b)
{
    const addr_ix *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    return x->ix < y->ix ? -1 : x->ix > y->ix;
}

/* Priority order of roots: by kind; the thread roots (stack words,
 * iterators, registers) by thread, and within one thread's stack words,
 * iterators and registers, outer frames first: when an outer and an inner
 * frame both hold a pointer, the outer frame is the one that lives longer,
 * so it explains the retention (a register is the frame's that owned it,
 * wherever a callee saved it); then as added. A total order, so the sort's
 * result does not depend on the order the roots came in. */
static int cmp_root(const void *a, const void *b)
{
    const mp_root *x = a, *y = b;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    bool threaded =
        x->kind == MP_ROOT_STACK || x->kind == MP_ROOT_ITERATOR || x->kind == MP_ROOT_REGISTER;
    if (threaded && x->thread != y->thread) return x->thread < y->thread ? -1 : 1;
    if (threaded && x->frame != y->frame)
        return x->frame > y->frame ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts the objects by address and returns rank[provisional] = final index
 * (NULL when they came sorted: the identity). */
static int sort_objects(mp_graph_builder *b, uint32_t **rank_out, mf_error *err)
{
    *rank_out = NULL;
    if (b->sorted) return 0;
    size_t n = b->nobj;
    addr_ix *ax = malloc(n * sizeof *ax);
    uint32_t *rank = malloc(n * sizeof *rank);
    uint64_t *tmp64 = malloc(n * sizeof *tmp64);
    uint32_t *tmp32 = malloc(n * sizeof *tmp32);
    if (!ax || !rank || !tmp64 || !tmp32) {
        free(ax);
        free(rank);
        free(tmp64);
        free(tmp32);
        mf_error_set(err, "%s: out of memory sorting %zu objects", b->name, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) ax[i] = (addr_ix){b->addr[i], (uint32_t)i};
    if (n > 1) qsort(ax, n, sizeof *ax, cmp_addr_ix);
    for (size_t i = 0; i < n; i++) rank[ax[i].ix] = (uint32_t)i;
    for (size_t i = 0; i < n; i++) tmp64[i] = b->size[ax[i].ix];
    if (n) memcpy(b->size, tmp64, n * sizeof *tmp64);
    for (size_t i = 0; i < n; i++) b->addr[i] = ax[i].addr;
    for (size_t i = 0; i < n; i++) tmp32[i] = b->type[ax[i].ix];
    if (n) memcpy(b->type, tmp32, n * sizeof *tmp32);
    for (size_t i = 0; i < n; i++) tmp32[i] = b->stack[ax[i].ix];
    if (n) memcpy(b->stack, tmp32, n * sizeof *tmp32);
    free(ax);
    free(tmp64);
    free(tmp32);
    *rank_out = rank;
    return 0;
}

/* Renumbers a provisional reference; MP_NONE stays. -1 if out of range. */
static int remap(const mp_graph_builder *b, const uint32_t *rank, uint32_t *ref)
{
    if (*ref == MP_NONE) return 0;
    if (*ref >= b->nobj) return -1;
    if (rank) *ref = rank[*ref];
    return 0;
}

/* CSR from (src, dst) pairs by counting sort; keys[] picks the grouping
 * side. start has n + 1 slots. With vals2 (and adj2_out), a second value
 * per pair is placed beside the first. */
static int csr(size_t n, size_t m, const uint32_t *keys, const uint32_t *vals,
               const uint32_t *vals2, uint64_t **start_out, uint32_t **adj_out, uint32_t **adj2_out)
{
    uint64_t *start = calloc(n + 1, sizeof *start);
    uint32_t *adj = malloc((m ? m : 1) * sizeof *adj);
    uint32_t *adj2 = vals2 ? malloc((m ? m : 1) * sizeof *adj2) : NULL;
    if (!start || !adj || (vals2 && !adj2)) {
        free(start);
        free(adj);
        free(adj2);
        return -1;
    }
    for (size_t e = 0; e < m; e++) start[keys[e] + 1]++;
    for (size_t v = 0; v < n; v++) start[v + 1] += start[v];
    /* place using start[k] as a cursor, then shift back */
    for (size_t e = 0; e < m; e++) {
        uint64_t at = start[keys[e]]++;
        adj[at] = vals[e];
        if (adj2) adj2[at] = vals2[e];
    }
    for (size_t v = n; v > 0; v--) start[v] = start[v - 1];
    start[0] = 0;
    *start_out = start;
    *adj_out = adj;
    if (adj2_out) *adj2_out = adj2;
    return 0;
}

/* The reverse of the CSR (start, adj) over n nodes and m edges: the same
 * result as csr() over the (dst, src) pairs in source order. */
static int csr_reverse(size_t n, size_t m, const uint64_t *start, const uint32_t *adj,
                       uint64_t **start_out, uint32_t **adj_out)
{
    uint64_t *rs = calloc(n + 1, sizeof *rs);
    uint32_t *ra = malloc((m ? m : 1) * sizeof *ra);
    if (!rs || !ra) {
        free(rs);
        free(ra);
        return -1;
    }
    for (size_t e = 0; e < m; e++) rs[adj[e] + 1]++;
    for (size_t v = 0; v < n; v++) rs[v + 1] += rs[v];
    for (size_t v = 0; v < n; v++)
        for (uint64_t e = start[v]; e < start[v + 1]; e++) ra[rs[adj[e]]++] = (uint32_t)v;
    for (size_t v = n; v > 0; v--) rs[v] = rs[v - 1];
    rs[0] = 0;
    *start_out = rs;
    *adj_out = ra;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Groups records of `elem` bytes by their map field (stable counting sort);
 * first/n per map are written through the callbacks' offsets. */
static int group_by_map(void *recs, size_t n, size_t elem, size_t map_off, size_t nmaps,
                        size_t **first_out)
{
    size_t *first = calloc(nmaps + 1, sizeof *first);
    if (!first) return -1;
    char *r = recs;
    bool grouped = true; /* loaders usually give each map's records together */
    uint32_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t m;
        memcpy(&m, r + i * elem + map_off, sizeof m);
        first[m + 1]++;
        if (m < prev) grouped = false;
        prev = m;
    }
    for (size_t k = 0; k < nmaps; k++) first[k + 1] += first[k];
    if (grouped) { /* already in the order the stable sort gives: no copy */
        *first_out = first;
        return 0;
    }
    char *tmp = malloc((n ? n : 1) * elem);
    if (!tmp) {
        free(first);
        return -1;
    }
    size_t *cur = malloc((nmaps ? nmaps : 1) * sizeof *cur);
    if (!cur) {
        free(first);
        free(tmp);
        return -1;
    }
    if (nmaps) memcpy(cur, first, nmaps * sizeof *cur);
    for (size_t i = 0; i < n; i++) {
        uint32_t m;
        memcpy(&m, r + i * elem + map_off, sizeof m);
        memcpy(tmp + cur[m]++ * elem, r + i * elem, elem);
    }
    if (n) memcpy(recs, tmp, n * elem);
    free(tmp);
    free(cur);
    *first_out = first;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ix[i] = the i-th of n records ordered by (key(record), record index);
 * keys are object indices, so one 64-bit sort key holds both. */
static int order_by_key(const uint32_t *keys, size_t stride_u32, size_t n, uint32_t *ix,
                        size_t *nout)
{
    uint64_t *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = keys[i * stride_u32];
        if (key != MP_NONE) k[m++] = (uint64_t)key << 32 | i;
    }
    if (m > 1) qsort(k, m, sizeof *k, cmp_u64);
    for (size_t i = 0; i < m; i++) ix[i] = (uint32_t)k[i];
    free(k);
    *nout = m;
    return 0;
}

/* Bucket and entry bookkeeping per map: role counts, the distinct objects
 * of its table and their bytes. */
static int map_tables(mp_graph *g)
{
    size_t cap = 0;
    uint32_t *objs = NULL;
    for (size_t k = 0; k < g->nmaps; k++) {
        mp_map *m = &g->maps[k];
        size_t need = m->nbuckets + 3;
        if (need > cap) {
            uint32_t *q = realloc(objs, need * sizeof *q);
            if (!q) {
                free(objs);
                return -1;
            }
            objs = q;
            cap = need;
        }
        size_t n = 0;
        if (m->header != MP_NONE) objs[n++] = m->header;
        if (m->buckets != MP_NONE) objs[n++] = m->buckets;
        if (m->oldbuckets != MP_NONE) objs[n++] = m->oldbuckets;
        for (size_t i = 0; i < m->nbuckets; i++) {
            const mp_bucket *bk = &g->buckets[m->first_bucket + i];
            m->nold += !bk->aux && bk->old;
            m->noverflow_walked += !bk->aux && !bk->old && bk->overflow;
            m->nmain += !bk->aux && !bk->old && !bk->overflow;
            if (bk->obj != MP_NONE) objs[n++] = bk->obj;
        }
        if (n > 1) qsort(objs, n, sizeof *objs, cmp_u32);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && objs[i] == objs[i - 1]) continue;
            m->table_objects++;
            m->table_bytes += g->size[objs[i]];
        }
    }
    free(objs);
    return 0;
}

/* How far the graph got and what it wanted when memory ran out. */
static void oom_message(mf_error *err, const char *name, size_t nobj, size_t nedge)
{
    if (failed_bytes)
        mf_error_set(err,
                     "%s: out of memory building the heap graph: %zu objects and %zu edges "
                     "in, an allocation of %.1f MiB more failed",
                     name, nobj, nedge, (double)failed_bytes / (1 << 20));
    else
        mf_error_set(err, "%s: out of memory building the heap graph: %zu objects and %zu edges in",
                     name, nobj, nedge);
}

int mp_gb_finish(mp_graph_builder *b, mp_graph **out, mf_error *err)
{
    *out = NULL;
    const char *name = b->name;
    mp_graph *g = NULL;
    uint32_t *rank = NULL;
    if (b->oom) {
        oom_message(err, name, b->nobj, b->nedge + b->naedge);
        goto fail;
    }
    if (sort_objects(b, &rank, err)) goto fail;
    size_t n = b->nobj;
    for (size_t i = 1; i < n; i++) {
        if (b->addr[i] < b->addr[i - 1] + b->size[i - 1] || b->addr[i] == b->addr[i - 1]) {
            mf_error_set(err, "%s: objects at 0x%llx (%llu bytes) and 0x%llx overlap", name,
                         (unsigned long long)b->addr[i - 1], (unsigned long long)b->size[i - 1],
                         (unsigned long long)b->addr[i]);
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (b->type[i] != MP_NONE && b->type[i] >= b->ntypes) {
            mf_error_set(err, "%s: object 0x%llx has type %u of only %zu", name,
                         (unsigned long long)b->addr[i], b->type[i], b->ntypes);
            goto fail;
        }
        if (b->stack[i] != MP_NONE && b->stack[i] >= b->nstacks) {
            mf_error_set(err, "%s: object 0x%llx has stack %u of only %zu", name,
                         (unsigned long long)b->addr[i], b->stack[i], b->nstacks);
            goto fail;
        }
    }
    g = calloc(1, sizeof *g);
    if (!g) goto oom;
    g->info = b->info;
    g->info.name = b->name;
    b->name = NULL;
    name = g->info.name;
    g->info.format = b->format;
    g->nobjects = n;
    g->addr = b->addr, b->addr = NULL;
    g->size = b->size, b->size = NULL;
    g->type = b->type, b->type = NULL;
    g->stack = b->stack, b->stack = NULL;
    g->total_bytes = b->total_bytes;
    for (size_t i = 0; i < n; i++) g->nsampled += g->stack[i] != MP_NONE;

    /* edges: renumber, resolve the address form, pack */
    for (size_t e = 0; e < b->nedge; e++) {
        if (remap(b, rank, &b->esrc[e]) || remap(b, rank, &b->edst[e]) || b->esrc[e] == MP_NONE ||
            b->edst[e] == MP_NONE) {
            mf_error_set(err, "%s: edge %zu refers to an object that was never added", name, e);
            goto fail;
        }
    }
    bool in_order = b->edges_in_order && !rank && b->naedge == 0;
    for (size_t e = 0; e < b->naedge; e++) {
        uint32_t s = find_in(g->addr, g->size, n, b->aesrc[e]);
        uint32_t d = find_in(g->addr, g->size, n, b->aedst[e]);
        if (s == MP_NONE || d == MP_NONE) {
            g->dropped_edges++;
            continue;
        }
        mp_gb_edge_at(b, s, d, b->aesrc[e] - g->addr[s]);
        if (b->oom) goto oom;
    }
    g->nedges = b->nedge;
    if (in_order) {
        g->out_start = calloc(n + 1, sizeof *g->out_start);
        if (!g->out_start) goto oom;
        for (size_t e = 0; e < b->nedge; e++) g->out_start[b->esrc[e] + 1]++;
        for (size_t v = 0; v < n; v++) g->out_start[v + 1] += g->out_start[v];
        g->out = b->edst;
        b->edst = NULL;
        g->out_off = b->eoff;
        b->eoff = NULL;
        if (!g->out && !(g->out = malloc(sizeof *g->out))) goto oom;
        if (!g->out_off && !(g->out_off = malloc(sizeof *g->out_off))) goto oom;
        /* the sources are out_start's ranges now: freeing them before the
         * reverse edges are built lowers the peak by 4 bytes an edge */
        free(b->esrc), b->esrc = NULL;
        if (csr_reverse(n, b->nedge, g->out_start, g->out, &g->in_start, &g->in)) goto oom;
    } else {
        if (csr(n, b->nedge, b->esrc, b->edst, b->eoff, &g->out_start, &g->out, &g->out_off))
            goto oom;
        free(b->eoff), b->eoff = NULL;
        if (csr(n, b->nedge, b->edst, b->esrc, NULL, &g->in_start, &g->in, NULL)) goto oom;
    }
    free(b->esrc), b->esrc = NULL;
    free(b->edst), b->edst = NULL;

    /* tables */
    g->types = b->types, b->types = NULL;
    g->ntypes = b->ntypes;
    g->frames = b->frames, b->frames = NULL;
    g->nframes = b->nframes;
    g->stacks = b->stacks, b->stacks = NULL;
    g->nstacks = b->nstacks;

    /* roots */
    for (size_t i = 0; i < b->nroots; i++) {
        mp_root *r = &b->roots[i];
        if (remap(b, rank, &r->target)) {
            mf_error_set(err, "%s: root %zu refers to an object that was never added", name, i);
            goto fail;
        }
        if (r->target == MP_NONE && b->root_addr[i]) {
            r->target = find_in(g->addr, g->size, n, b->root_addr[i]);
            if (r->target == MP_NONE) g->dropped_refs++;
        }
    }
    if (b->nroots > 1) qsort(b->roots, b->nroots, sizeof *b->roots, cmp_root);
    g->roots = b->roots, b->roots = NULL;
    g->nroots = b->nroots;

    /* maps */
    for (size_t k = 0; k < b->nmaps; k++) {
        mp_map *m = &b->maps[k];
        if (remap(b, rank, &m->header) || remap(b, rank, &m->buckets) ||
            remap(b, rank, &m->oldbuckets)) {
            mf_error_set(err, "%s: map %zu refers to an object that was never added", name, k);
            goto fail;
        }
        if (m->header == MP_NONE && m->address) {
            m->header = find_in(g->addr, g->size, n, m->address);
            if (m->header == MP_NONE) g->dropped_refs++;
        }
        if (m->key_type != MP_NONE && m->key_type >= g->ntypes) m->key_type = MP_NONE;
        if (m->value_type != MP_NONE && m->value_type >= g->ntypes) m->value_type = MP_NONE;
    }
    g->maps = b->maps, b->maps = NULL;
    g->nmaps = b->nmaps;
    for (size_t i = 0; i < b->nbuckets; i++) {
        mp_bucket *bk = &b->buckets[i];
        if (bk->map >= g->nmaps || remap(b, rank, &bk->obj)) {
            mf_error_set(err, "%s: bucket record %zu names map %u of %zu or an unknown object",
                         name, i, bk->map, g->nmaps);
            goto fail;
        }
        if (bk->obj == MP_NONE && b->bucket_addr[i]) {
            bk->obj = find_in(g->addr, g->size, n, b->bucket_addr[i]);
            if (bk->obj == MP_NONE) g->dropped_refs++;
        }
    }
    for (size_t i = 0; i < b->nentries; i++) {
        mp_entry *e = &b->entries[i];
        if (e->map >= g->nmaps || remap(b, rank, &e->bucket_obj) || remap(b, rank, &e->key_obj) ||
            remap(b, rank, &e->value_obj)) {
            mf_error_set(err, "%s: entry %zu names map %u of %zu or an unknown object", name, i,
                         e->map, g->nmaps);
            goto fail;
        }
    }
    size_t *first = NULL;
    if (group_by_map(b->buckets, b->nbuckets, sizeof *b->buckets, offsetof(mp_bucket, map),
                     g->nmaps, &first))
        goto oom;
    for (size_t k = 0; k < g->nmaps; k++) {
        g->maps[k].first_bucket = first[k];
        g->maps[k].nbuckets = first[k + 1] - first[k];
    }
    free(first);
    if (group_by_map(b->entries, b->nentries, sizeof *b->entries, offsetof(mp_entry, map), g->nmaps,
                     &first))
        goto oom;
    for (size_t k = 0; k < g->nmaps; k++) {
        g->maps[k].first_entry = first[k];
        g->maps[k].nentries = first[k + 1] - first[k];
    }
    free(first);
    g->buckets = b->buckets, b->buckets = NULL;
    g->nbuckets = b->nbuckets;
    g->entries = b->entries, b->entries = NULL;
    g->nentries = b->nentries;
    if (map_tables(g)) goto oom;

    /* lookups */
    g->bucket_by_obj = malloc((g->nbuckets ? g->nbuckets : 1) * sizeof *g->bucket_by_obj);
    g->map_by_header = malloc((g->nmaps ? g->nmaps : 1) * sizeof *g->map_by_header);
    if (!g->bucket_by_obj || !g->map_by_header) goto oom;
    _Static_assert(sizeof(mp_bucket) % 4 == 0 && offsetof(mp_bucket, obj) % 4 == 0, "layout");
    _Static_assert(sizeof(mp_map) % 4 == 0 && offsetof(mp_map, header) % 4 == 0, "layout");
    /* The key column of each record array (no arithmetic on a NULL array). */
    const uint32_t *bucket_keys =
        g->buckets ? (const uint32_t *)((const char *)g->buckets + offsetof(mp_bucket, obj)) : NULL;
    const uint32_t *map_keys =
        g->maps ? (const uint32_t *)((const char *)g->maps + offsetof(mp_map, header)) : NULL;
    if (order_by_key(bucket_keys, sizeof(mp_bucket) / 4, g->nbuckets, g->bucket_by_obj,
                     &g->nbucket_by_obj) ||
        order_by_key(map_keys, sizeof(mp_map) / 4, g->nmaps, g->map_by_header, &g->nmap_by_header))
        goto oom;
    /* most objects asked about hold no bucket: one bit answers without a
     * search through the bucket records (mp_graph_bucket_of) */
    g->bucket_bits = calloc(n / 8 + 1, 1);
    if (!g->bucket_bits) goto oom;
    for (size_t i = 0; i < g->nbuckets; i++) {
        uint32_t o = g->buckets[i].obj;
        if (o < n) g->bucket_bits[o >> 3] |= (uint8_t)(1u << (o & 7));
    }

    g->strs = b->strs, b->strs = NULL;
    g->strs_len = b->strs_len;
    free(rank);
    mp_gb_free(b);
    *out = g;
    return 0;
oom:
    oom_message(err, name, b->nobj, b->nedge);
fail:
    free(rank);
    if (g) {
        if (!b->name) b->name = (char *)g->info.name; /* freed with the builder */
        g->info.name = NULL;
        /* arrays moved into g are freed here; the rest with the builder */
        mp_graph_free(g);
    }
    mp_gb_free(b);
    return -1;
}

uint32_t mp_graph_map_of_header(const mp_graph *g, uint32_t o)
{
    size_t lo = 0, hi = g->nmap_by_header;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t h = g->maps[g->map_by_header[mid]].header;
        if (h < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->nmap_by_header && g->maps[g->map_by_header[lo]].header == o)
        return g->map_by_header[lo];
    return MP_NONE;
}

/* The first position in bucket_by_obj of a record of object o (or where
 * one would be). */
static size_t first_bucket_pos(const mp_graph *g, uint32_t o)
{
    size_t lo = 0, hi = g->nbucket_by_obj;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->buckets[g->bucket_by_obj[mid]].obj < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t mp_graph_bucket_of(const mp_graph *g, uint32_t o)
{
    if (g->bucket_bits && (o >= g->nobjects || !(g->bucket_bits[o >> 3] >> (o & 7) & 1)))
        return MP_NONE;
    size_t lo = first_bucket_pos(g, o);
    if (lo < g->nbucket_by_obj && g->buckets[g->bucket_by_obj[lo]].obj == o)
        return g->bucket_by_obj[lo];
    return MP_NONE;
}

uint32_t mp_graph_bucket_record(const mp_graph *g, uint32_t o, uint32_t m, uint64_t index,
                                uint32_t overflow, bool old)
{
    if (mp_graph_bucket_of(g, o) == MP_NONE) return MP_NONE;
    /* the records of o: [lo, end) of bucket_by_obj, in record order */
    size_t lo = first_bucket_pos(g, o), end = lo;
    while (end < g->nbucket_by_obj && g->buckets[g->bucket_by_obj[end]].obj == o) end++;
    /* the first record of index >= `index`, if they come in index order */
    size_t a = lo, b = end;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (g->buckets[g->bucket_by_obj[mid]].index < index)
            a = mid + 1;
        else
            b = mid;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = pass ? lo : a; i < end; i++) {
            const mp_bucket *bk = &g->buckets[g->bucket_by_obj[i]];
            if (!pass && bk->index != index) break;
            if (bk->map == m && bk->index == index && bk->overflow == overflow && bk->old == old &&
                !bk->aux)
                return g->bucket_by_obj[i];
        }
    }
    return MP_NONE;
}

const char *mp_graph_type_name(const mp_graph *g, uint32_t o)
{
    if (o >= g->nobjects || g->type[o] == MP_NONE) return "?";
    const char *s = mp_str(g, g->types[g->type[o]].name);
    return *s ? s : "?";
}

void mp_graph_free(mp_graph *g)
{
    if (!g) return;
    free((char *)g->info.name);
    free(g->addr);
    free(g->size);
    free(g->type);
    free(g->stack);
    free(g->out_start);
    free(g->out);
    free(g->out_off);
    free(g->in_start);
    free(g->in);
    free(g->types);
    free(g->roots);
    free(g->maps);
    free(g->buckets);
    free(g->entries);
    free(g->frames);
    free(g->stacks);
    free(g->strs);
    free(g->bucket_by_obj);
    free(g->bucket_bits);
    free(g->map_by_header);
    free(g);
}
