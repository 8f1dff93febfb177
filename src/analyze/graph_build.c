/*
 * src/analyze/graph_build.c -- building the format-neutral heap graph.
 *
 * The builder appends records to growable arrays and does all the work that
 * needs every object at once in mp_gb_finish: sorting objects by address,
 * renumbering provisional indices, resolving address references, packing
 * edges into CSR (both directions) and grouping buckets and entries by map.
 * The passes of that work that read only the graph's own arrays (the
 * reverse edges, the compact columns, the map tables) are graph_layout.c's.
 */
#include "analyze/graph.h"

#include "analyze/dominators.h"
#include "analyze/graph_internal.h"
#include "analyze/graph_layout.h"

#include "analyze/radix.h"
#include "analyze/timing.h"

#include "format/grow.h"
#include "format/zeroed.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* ------------------------------------------------------ growable arrays --- */

/* The size of the last allocation of the builder that failed, for the
 * message that says how much was needed. */
static _Thread_local size_t failed_bytes;

/* Makes room for one more element in *p (holding n of *cap); false when out
 * of memory or the size would overflow. Keeps the size that could not be
 * had for the builder's message. */
static bool grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (mf_grow(p, cap, n + 1, elem, 64)) return true;
    size_t nc = mf_grow_capacity(*cap, n + 1, elem, 64);
    if (nc) failed_bytes = nc * elem;
    return false;
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

/* A sampled object's stack, in the order given (the last one given for an
 * object wins). */
typedef struct sample_rec {
    uint32_t obj, stack, seq;
} sample_rec;

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
    uint32_t *type;
    size_t nobj, cap_obj;
    bool sorted;
    uint64_t total_bytes;
    sample_rec *samples;
    size_t nsamples, cap_samples;
    /* edges, the general way: records resolved and packed at finish */
    uint32_t *esrc, *edst, *eoff; /* eoff: MP_NO_OFFSET unknown */
    size_t nedge, cap_edge;
    bool edges_in_order;
    uint64_t *aesrc, *aedst;
    size_t naedge, cap_aedge;
    /* edges, the fast way (mp_gb_edges_begin): packed as they come */
    bool direct;
    size_t dn;       /* the objects announced */
    mp_csr out;      /* at[0 .. next_src] filled so far */
    size_t cap_adj;  /* of out.adj */
    /* the pages ahead of the arrays filled in order as a snapshot is read
     * (out.at, out.adj, buckets, bucket_addr, maps), faulted in a stretch
     * at a time (zeroed.h) */
    mf_ahead ahead_at, ahead_adj, ahead_buckets, ahead_bucket_addr, ahead_maps;
    uint64_t dm;     /* edges so far */
    size_t next_src; /* the first object whose list has not started */
    mp_pack offsets; /* both ways: per edge, offset + 1 (0 unknown) */
    /* the dominators' arrays, reserved once the object count is known
     * (mp_gb_edges_begin) and fitted to the roots at finish */
    struct mp_dom_reserve *dom_reserve;
    /* the reverse lists' block, made at finish (graph_layout.h) */
    mp_gl_in_room in_room;
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
    mp_map_aside *map_aside; /* the maps' figures set aside, in the order first set */
    size_t nmap_aside, cap_map_aside;
    mp_bucket *buckets;
    uint64_t *bucket_addr;
    size_t nbuckets, cap_buckets, cap_bucket_addr;
    /* entries, packed as they come (see pack_entry) */
    mp_pack entries;
    size_t nentries;
    bool entries_grouped; /* every map's entries together, maps in order */
    uint32_t last_entry_map;
    uint32_t max_entry_ref; /* the largest object index an entry names, + 1 */
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
    b->entries_grouped = true;
    b->info.thread_noun = "thread";
    uint64_t spill = mp_spill_bytes();
    mp_pack_init(&b->entries, EF_N);
    mp_pack_spill(&b->entries, spill);
    mp_pack_init(&b->offsets, 1);
    mp_pack_spill(&b->offsets, spill);
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
    free(b->samples);
    free(b->esrc);
    free(b->edst);
    free(b->eoff);
    free(b->aesrc);
    free(b->aedst);
    mp_csr_free(&b->out);
    mp_pack_free(&b->offsets);
    free(b->types);
    free(b->frames);
    free(b->stacks);
    free(b->roots);
    free(b->root_addr);
    free(b->maps);
    free(b->map_aside);
    free(b->buckets);
    free(b->bucket_addr);
    mp_pack_free(&b->entries);
    mp_dom_reserve_free(b->dom_reserve);
    mp_gl_in_room_free(&b->in_room);
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
    b->types[b->ntypes] = (mp_type){.name = mp_gb_intern(b, name),
                                    .size = size,
                                    .kind = (uint8_t)kind,
                                    .pointers = MP_PTRS_UNKNOWN};
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

static void add_sample(mp_graph_builder *b, uint32_t obj, uint32_t stack)
{
    if (!GROW(b, b->samples, b->nsamples, b->cap_samples)) {
        b->oom = true;
        return;
    }
    b->samples[b->nsamples] = (sample_rec){obj, stack, (uint32_t)b->nsamples};
    b->nsamples++;
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
    if (stack != MP_NONE) add_sample(b, (uint32_t)i, stack);
    b->total_bytes += size;
    return (uint32_t)i;
}

void mp_gb_adopt_objects(mp_graph_builder *b, uint64_t *addr, uint64_t *size, uint32_t *type,
                         size_t n)
{
    if (b->nobj || n >= UINT32_MAX - 1 || (n && (!addr || !size || !type))) {
        b->oom = true;
        free(addr), free(size), free(type);
        return;
    }
    free(b->addr), free(b->size), free(b->type);
    b->addr = addr, b->size = size, b->type = type;
    b->nobj = b->cap_obj = n;
    for (size_t i = 0; i < n; i++) {
        b->total_bytes += size[i];
        if (i > 0 && addr[i] <= addr[i - 1]) b->sorted = false;
    }
}

void mp_gb_object_stack(mp_graph_builder *b, uint32_t obj, uint32_t stack)
{
    if (obj < b->nobj || (b->direct && obj < b->dn)) add_sample(b, obj, stack);
}

void mp_gb_object_type(mp_graph_builder *b, uint32_t obj, uint32_t type)
{
    if (obj < b->nobj) b->type[obj] = type;
}

void mp_gb_edge_at(mp_graph_builder *b, uint32_t src, uint32_t dst, uint64_t offset)
{
    if (b->direct) {
        b->oom = true; /* the two ways are not to be mixed */
        return;
    }
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
    if (b->direct) {
        b->oom = true;
        return;
    }
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

/*
 * Room for the maps of a heap of nobjects objects, taken before the first
 * map: address space only, its pages faulted in as the records are
 * written (mp_gb_map). Why: growing by realloc moves a large block's pages
 * to new addresses, and on a virtual machine that keeps its own copy of
 * the page tables each moved page costs a trap on its next touch: the
 * pass over the maps at finish, on a heap of millions of small maps (half
 * a gigabyte of records), took 0.6 s for that alone. A map with its bucket
 * array is two objects, so half the objects bound most heaps' maps; more
 * grow as before. Skipped under an address-space limit (ulimit -v), where
 * the room would count against it; a hint, so its failure is not one of
 * the builder's.
 */
static void reserve_maps(mp_graph_builder *b, size_t nobjects)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) return;
    size_t want = nobjects / 2 + 64;
    if (b->nmaps || want <= b->cap_maps || want > SIZE_MAX / sizeof *b->maps) return;
    mp_map *q = realloc(b->maps, want * sizeof *b->maps);
    if (!q) return;
    b->maps = q;
    b->cap_maps = want;
    /* the bucket records likewise: a small map has one or two */
    if (!b->nbuckets && want > b->cap_buckets && want > b->cap_bucket_addr) {
        mp_bucket *qb = realloc(b->buckets, want * sizeof *qb);
        if (qb) b->buckets = qb, b->cap_buckets = want;
        uint64_t *qa = qb ? realloc(b->bucket_addr, want * sizeof *qa) : NULL;
        if (qa) b->bucket_addr = qa, b->cap_bucket_addr = want;
    }
}

size_t mp_gb_map_room(const mp_graph_builder *b)
{
    return b->cap_maps;
}

size_t mp_gb_bucket_room(const mp_graph_builder *b)
{
    return b->cap_buckets < b->cap_bucket_addr ? b->cap_buckets : b->cap_bucket_addr;
}

void mp_gb_edges_begin(mp_graph_builder *b, size_t nobjects)
{
    if (b->direct || b->nedge || b->naedge || nobjects >= UINT32_MAX - 1) {
        b->oom = true;
        return;
    }
    b->direct = true;
    b->dn = nobjects;
    /* The out-edge starts and lists are written in order as the snapshot
     * is read (no huge pages: zeroed.h). */
    b->out.at = malloc((nobjects + 1) * sizeof *b->out.at);
    if (!b->out.at) {
        failed_bytes = (nobjects + 1) * sizeof *b->out.at;
        b->oom = true;
        return;
    }
    /* The objects are all known: the dominators' arrays are faulted in
     * from now on, while the edges are read. The reading leaves part of a
     * second processor idle, and this memory is held by the end of the
     * build anyway (the reading's peak is well under the analysis's). The
     * roots, read after the edges, are fitted in at finish. */
    b->dom_reserve = mp_dom_reserve_start(nobjects, 0);
    reserve_maps(b, nobjects);
}

/* Starts the lists of objects next_src .. upto - 1 at the current edge
 * count, noting where the count passes a multiple of 2^32. */
static void start_lists(mp_graph_builder *b, size_t upto)
{
    for (size_t v = b->next_src; v < upto; v++) {
        while ((b->dm >> 32) > b->out.nwraps) {
            uint32_t *w = realloc(b->out.wraps, (b->out.nwraps + 1) * sizeof *w);
            if (!w) {
                b->oom = true;
                return;
            }
            b->out.wraps = w;
            w[b->out.nwraps++] = (uint32_t)v;
        }
        b->out.at[v] = (uint32_t)b->dm;
    }
    if (upto > b->next_src) b->next_src = upto;
}

/* The out-edges of src into the CSR lists (their offsets are the
 * callers'); false when the builder failed. */
static bool edges_of(mp_graph_builder *b, uint32_t src, size_t n, const uint64_t *targets)
{
    if (b->oom) return false;
    /* src may be the object before again (its list goes on), never less */
    if (!b->direct || src >= b->dn || src + 1 < b->next_src) {
        b->oom = true;
        return false;
    }
    start_lists(b, (size_t)src + 1);
    if (b->oom) return false;
    if (n == 0) return true;
    if (b->dm + n > b->cap_adj) {
        size_t nc = b->cap_adj ? b->cap_adj : 1 << 16;
        while (nc < b->dm + n) nc *= 2;
        uint32_t *q = nc <= SIZE_MAX / 4 ? realloc(b->out.adj, nc * sizeof *q) : NULL;
        if (!q) {
            failed_bytes = nc * sizeof *q;
            b->oom = true;
            return false;
        }
        b->out.adj = q;
        b->cap_adj = nc;
    }
    uint32_t *adj = b->out.adj + b->dm;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = targets[i];
        if (t >= b->dn) {
            b->oom = true; /* reported as out of range at finish */
            return false;
        }
        adj[i] = (uint32_t)t;
    }
    b->dm += n;
    return true;
}

/* The edges' offsets as the store keeps them (off + 1; 0 not known),
 * appended a column at a time. */
static void add_offsets(mp_graph_builder *b, const uint64_t *offsets, size_t n)
{
    uint64_t f[256];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < sizeof f / sizeof *f && i < n; k++, i++) {
            uint64_t off = offsets ? offsets[i] : MP_NO_OFFSET;
            f[k] = off < MP_NO_OFFSET ? off + 1 : 0;
        }
        mp_pack_add_column(&b->offsets, f, k);
    }
}

void mp_gb_edges_of(mp_graph_builder *b, uint32_t src, size_t n, const uint64_t *targets,
                    const uint64_t *offsets)
{
    if (edges_of(b, src, n, targets)) add_offsets(b, offsets, n);
}

/* Why whole batches: most objects have an edge or two, and the offsets'
 * store is quickest fed long columns. */
void mp_gb_edges_batch(mp_graph_builder *b, uint32_t first, size_t n, const uint32_t *counts,
                       const uint64_t *targets, const uint64_t *offsets)
{
    if (b->direct && !b->oom && (size_t)first + n <= b->dn) {
        /* the pages the batch fills, faulted in a stretch at a time */
        size_t ne = 0;
        for (size_t i = 0; i < n; i++) ne += counts[i];
        mf_populate_ahead(&b->ahead_at, b->out.at, ((size_t)first + n + 1) * sizeof *b->out.at,
                          (b->dn + 1) * sizeof *b->out.at);
        if (b->dm + ne <= b->cap_adj)
            mf_populate_ahead(&b->ahead_adj, b->out.adj, (b->dm + ne) * sizeof *b->out.adj,
                              b->cap_adj * sizeof *b->out.adj);
    }
    size_t e = 0;
    for (size_t i = 0; i < n; i++) {
        /* (no pointer arithmetic on an empty batch's NULL) */
        if (!edges_of(b, first + (uint32_t)i, counts[i], counts[i] ? targets + e : NULL)) return;
        e += counts[i];
    }
    if (e) add_offsets(b, offsets, e);
}

void mp_gb_root(mp_graph_builder *b, const mp_root *r, uint64_t target_addr)
{
    if (!GROW(b, b->roots, b->nroots, b->cap_roots) ||
        !grow((void **)&b->root_addr, &b->cap_root_addr, b->nroots, sizeof(uint64_t))) {
        b->oom = true;
        return;
    }
    b->roots[b->nroots] = *r;
    memset(b->roots[b->nroots].zero, 0, sizeof r->zero); /* index files hold it (graph.h) */
    b->roots[b->nroots].order = (uint32_t)b->nroots;
    if (b->roots[b->nroots].kind >= MP_ROOT_NKINDS) b->roots[b->nroots].kind = MP_ROOT_OTHER;
    b->root_addr[b->nroots] = target_addr;
    b->nroots++;
}

/* Map k's figures set aside, made (all 0) when it has none yet; NULL when out
 * of memory. */
static mp_map_aside *aside_of(mp_graph_builder *b, uint32_t k)
{
    mp_map *m = &b->maps[k];
    if (m->aside) return &b->map_aside[m->aside - 1];
    if (!GROW(b, b->map_aside, b->nmap_aside, b->cap_map_aside)) {
        b->oom = true;
        return NULL;
    }
    mp_map_aside *r = &b->map_aside[b->nmap_aside++];
    memset(r, 0, sizeof *r);
    m->aside = (uint32_t)b->nmap_aside;
    return r;
}

uint32_t mp_gb_map(mp_graph_builder *b, const mp_map *m, const mp_map_aside *aside)
{
    _Static_assert(sizeof(mp_map) == 136, "mp_map: no implicit padding (graph.h)");
    _Static_assert(sizeof(mp_map_aside) == 48, "mp_map_aside: no implicit padding (graph.h)");
    if (!GROW(b, b->maps, b->nmaps, b->cap_maps) || b->nmaps >= UINT32_MAX - 1) {
        b->oom = true;
        return MP_NONE;
    }
    mf_populate_ahead(&b->ahead_maps, b->maps, (b->nmaps + 1) * sizeof *b->maps,
                      b->cap_maps * sizeof *b->maps);
    mp_map *d = &b->maps[b->nmaps];
    *d = *m;
    memset(d->zero, 0, sizeof d->zero); /* index files hold it (graph.h) */
    d->first_bucket = d->nbuckets = d->first_entry = d->nentries = 0;
    d->nmain = d->noverflow_walked = d->nold = d->table_objects = d->table_bytes = 0;
    d->aside = 0;
    uint32_t k = (uint32_t)b->nmaps++;
    if (aside && memcmp(aside, &mp_map_aside_none, sizeof *aside)) {
        mp_map_aside *r = aside_of(b, k);
        if (!r) return MP_NONE;
        *r = *aside;
        r->zero = 0; /* index files hold it (graph.h) */
    }
    return k;
}

void mp_gb_map_nan_keys(mp_graph_builder *b, uint32_t k, uint64_t n)
{
    assert(k < b->nmaps);
    mp_map_aside *r = n || b->maps[k].aside ? aside_of(b, k) : NULL;
    if (r) r->nan_keys = n;
}

void mp_gb_map_sync_read(mp_graph_builder *b, uint32_t k, uint64_t buckets, uint64_t overflow)
{
    assert(k < b->nmaps && b->maps[k].sync_map == MP_SYNC_JOINED);
    mp_map_aside *r = buckets || overflow || b->maps[k].aside ? aside_of(b, k) : NULL;
    if (r) r->sync_read_buckets = buckets, r->sync_read_overflow = overflow;
}

void mp_gb_map_key_kind(mp_graph_builder *b, uint32_t k, mp_key_kind kind)
{
    assert(k < b->nmaps && !b->maps[k].key_numeric);
    b->maps[k].key_kind = (uint8_t)kind;
}

void mp_gb_bucket(mp_graph_builder *b, const mp_bucket *bk, uint64_t obj_addr)
{
    /* fewer than 2^32 records: a map's count of them is 32-bit (graph.h) */
    if (b->nbuckets >= UINT32_MAX - 1 || !GROW(b, b->buckets, b->nbuckets, b->cap_buckets) ||
        !grow((void **)&b->bucket_addr, &b->cap_bucket_addr, b->nbuckets, sizeof(uint64_t))) {
        b->oom = true;
        return;
    }
    b->buckets[b->nbuckets] = *bk;
    b->bucket_addr[b->nbuckets] = obj_addr;
    b->nbuckets++;
    if (b->nbuckets % 64 == 0) { /* often enough to keep a MiB ahead */
        mf_populate_ahead(&b->ahead_buckets, b->buckets, b->nbuckets * sizeof *b->buckets,
                          b->cap_buckets * sizeof *b->buckets);
        mf_populate_ahead(&b->ahead_bucket_addr, b->bucket_addr,
                          b->nbuckets * sizeof *b->bucket_addr,
                          b->cap_bucket_addr * sizeof *b->bucket_addr);
    }
}

/* Entries are packed as they come (a few bytes each, spilled to a file
 * when many); whether they came grouped by map, and the largest object
 * they name, are noted for finish. */
void mp_gb_entry(mp_graph_builder *b, const mp_entry *e)
{
    if (e->map < b->last_entry_map) b->entries_grouped = false;
    b->last_entry_map = e->map;
    uint32_t refs[3] = {e->bucket_obj, e->key_obj, e->value_obj};
    for (int k = 0; k < 3; k++)
        if (refs[k] != MP_NONE && refs[k] >= b->max_entry_ref)
            b->max_entry_ref = refs[k] == UINT32_MAX - 1 ? UINT32_MAX : refs[k] + 1;
    mp_pack_entry(&b->entries, e);
    if (mp_pack_failed(&b->entries)) b->oom = true;
    if (e->map < b->nmaps)
        b->maps[e->map].nentries++;
    else
        b->entries_grouped = false; /* checked (and refused) at finish */
    b->nentries++;
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

/*
 * Drops each stack word that is also an iterator root: the same word (its
 * slot) of the same thread, listed by a runtime once as the stack word it
 * is and once as the open iterator whose field it is. It is one holder,
 * the iterator; kept twice, the stack word would come first in the
 * priority order and take the iterator's place in every path, and be
 * counted as a second root. Returns -1 when out of memory (nothing is
 * dropped then), else 0. Invariant kept: b->roots and b->root_addr stay
 * parallel.
 */
/* Orders (slot, thread) pairs. */
static int cmp_slot_thread(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

static int drop_iterator_words(mp_graph_builder *b)
{
    size_t nit = 0;
    for (size_t i = 0; i < b->nroots; i++)
        nit += b->roots[i].kind == MP_ROOT_ITERATOR && b->roots[i].slot;
    if (!nit) return 0;
    /* (slot, thread) keys: a slot is unique across threads' stacks, but a
     * corrupt input may say otherwise; both must match */
    uint64_t *keys = malloc(2 * nit * sizeof *keys);
    if (!keys) return -1;
    size_t k = 0;
    for (size_t i = 0; i < b->nroots; i++)
        if (b->roots[i].kind == MP_ROOT_ITERATOR && b->roots[i].slot) {
            keys[2 * k] = b->roots[i].slot;
            keys[2 * k + 1] = b->roots[i].thread;
            k++;
        }
    qsort(keys, nit, 2 * sizeof *keys, cmp_slot_thread);
    size_t j = 0;
    for (size_t i = 0; i < b->nroots; i++) {
        const mp_root *r = &b->roots[i];
        uint64_t key[2] = {r->slot, r->thread};
        if (r->kind == MP_ROOT_STACK && r->slot &&
            bsearch(key, keys, nit, 2 * sizeof *keys, cmp_slot_thread))
            continue;
        b->roots[j] = b->roots[i];
        b->root_addr[j] = b->root_addr[i];
        j++;
    }
    b->nroots = j;
    free(keys);
    return 0;
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
    if (threaded && x->frame != y->frame) return x->frame > y->frame ? -1 : 1;
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

static int cmp_sample(const void *a, const void *b)
{
    const sample_rec *x = a, *y = b;
    if (x->obj != y->obj) return x->obj < y->obj ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The sampled objects' stacks, renumbered and sorted (the last given for
 * an object wins), and their bitmap. */
static int pack_samples(mp_graph_builder *b, const uint32_t *rank, mp_graph *g, mf_error *err)
{
    /* -1 with err set on bad input, 1 when out of memory */
    size_t n = g->nobjects, k = 0;
    for (size_t i = 0; i < b->nsamples; i++) {
        sample_rec *r = &b->samples[i];
        if (remap(b, rank, &r->obj) || r->obj == MP_NONE) {
            mf_error_set(err, "%s: an allocation stack is given for an object never added",
                         g->info.name);
            return -1;
        }
        if (r->stack != MP_NONE && r->stack >= b->nstacks) {
            mf_error_set(err, "%s: object 0x%llx has stack %u of only %zu", g->info.name,
                         (unsigned long long)b->addr[r->obj], r->stack, b->nstacks);
            return -1;
        }
    }
    if (b->nsamples > 1) qsort(b->samples, b->nsamples, sizeof *b->samples, cmp_sample);
    g->samples = malloc((b->nsamples ? b->nsamples : 1) * sizeof *g->samples);
    g->sampled_bits = mf_zeroed(n / 8 + 1, 1); /* sparse: mostly never written */
    if (!g->samples || !g->sampled_bits) return 1;
    for (size_t i = 0; i < b->nsamples; i++) {
        const sample_rec *r = &b->samples[i];
        if (i + 1 < b->nsamples && b->samples[i + 1].obj == r->obj) continue; /* a later one wins */
        if (r->stack == MP_NONE) continue;
        g->samples[k++] = (uint64_t)r->obj << 32 | r->stack;
        g->sampled_bits[r->obj >> 3] |= (uint8_t)(1u << (r->obj & 7));
    }
    g->nsampled = k;
    return 0;
}

/*
 * The entries at finish: checked (their maps exist, their objects were
 * added), renumbered when the objects were sorted, and grouped by map.
 * The common case -- objects came sorted and each map's entries together,
 * as the gcstack loader gives them -- touches nothing. Otherwise they are
 * unpacked, fixed and packed again in order (in memory: the inputs that
 * need it are small).
 */
static int finish_entries(mp_graph_builder *b, const uint32_t *rank, mp_graph *g, mf_error *err)
{
    size_t n = b->nentries;
    if (b->max_entry_ref > b->nobj) {
        mf_error_set(err, "%s: an entry refers to an object that was never added", g->info.name);
        return -1;
    }
    if (b->entries_grouped && !rank) {
        size_t first = 0;
        for (size_t k = 0; k < g->nmaps; k++) {
            g->maps[k].first_entry = first;
            first += g->maps[k].nentries;
        }
        g->entries = b->entries;
        mp_pack_init(&b->entries, EF_N);
        g->nentries = n;
        return 0;
    }
    mp_entry *all = malloc((n ? n : 1) * sizeof *all);
    if (!all) {
        mf_error_set(err, "%s: out of memory ordering %zu map entries", g->info.name, n);
        return -1;
    }
    mp_pack_cursor c;
    mp_pack_cursor_init(&c, &b->entries, 0);
    uint64_t f[MP_PACK_BLOCK * EF_N];
    size_t k = 0;
    for (size_t got; k < n && (got = mp_pack_next_many(&c, f, MP_PACK_BLOCK)) > 0;)
        for (size_t i = 0; i < got && k < n; i++) mp_unpack_entry(f + i * EF_N, &all[k++]);
    mp_pack_cursor_free(&c);
    for (size_t i = 0; i < k; i++) {
        mp_entry *e = &all[i];
        if (e->map >= g->nmaps || remap(b, rank, &e->bucket_obj) || remap(b, rank, &e->key_obj) ||
            remap(b, rank, &e->value_obj)) {
            mf_error_set(err, "%s: entry %zu names map %u of %zu or an unknown object",
                         g->info.name, i, e->map, g->nmaps);
            free(all);
            return -1;
        }
    }
    if (k != n) {
        free(all);
        mf_error_set(err, "%s: cannot read back the map entries", g->info.name);
        return -1;
    }
    {
        /* a stable sort by map: by (map, position) */
        uint64_t *key = malloc((n ? n : 1) * sizeof *key);
        mp_entry *tmp = malloc((n ? n : 1) * sizeof *tmp);
        if (!key || !tmp) {
            free(key), free(tmp), free(all);
            mf_error_set(err, "%s: out of memory ordering %zu map entries", g->info.name, n);
            return -1;
        }
        for (size_t i = 0; i < n; i++) key[i] = (uint64_t)all[i].map << 32 | i;
        mp_sort_u64_high(key, n);
        for (size_t i = 0; i < n; i++) tmp[i] = all[(uint32_t)key[i]];
        free(key);
        free(all);
        all = tmp;
    }
    mp_pack_free(&b->entries);
    mp_pack_init(&g->entries, EF_N);
    mp_pack_spill(&g->entries, mp_spill_bytes());
    for (size_t k2 = 0; k2 < g->nmaps; k2++) g->maps[k2].nentries = 0;
    for (size_t i = 0; i < n; i++) {
        mp_pack_entry(&g->entries, &all[i]);
        g->maps[all[i].map].nentries++;
    }
    free(all);
    if (mp_pack_failed(&g->entries)) {
        mf_error_set(err, "%s: out of memory packing %zu map entries", g->info.name, n);
        return -1;
    }
    size_t first = 0;
    for (size_t m = 0; m < g->nmaps; m++) {
        g->maps[m].first_entry = first;
        first += g->maps[m].nentries;
    }
    g->nentries = n;
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

/* The out edges the general way: renumbered, the address form resolved,
 * packed by counting sort, offsets beside them. */
static int finish_general_edges(mp_graph_builder *b, const uint32_t *rank, mp_graph *g,
                                const uint64_t *size64, mf_error *err)
{
    size_t n = g->nobjects;
    for (size_t e = 0; e < b->nedge; e++) {
        if (remap(b, rank, &b->esrc[e]) || remap(b, rank, &b->edst[e]) || b->esrc[e] == MP_NONE ||
            b->edst[e] == MP_NONE) {
            mf_error_set(err, "%s: edge %zu refers to an object that was never added", g->info.name,
                         e);
            return -1;
        }
    }
    for (size_t e = 0; e < b->naedge; e++) {
        uint32_t s = find_in(b->addr, size64, n, b->aesrc[e]);
        uint32_t d = find_in(b->addr, size64, n, b->aedst[e]);
        if (s == MP_NONE || d == MP_NONE) {
            g->dropped_edges++;
            continue;
        }
        mp_gb_edge_at(b, s, d, b->aesrc[e] - b->addr[s]);
        if (b->oom) return 1;
    }
    if (b->nedge >= UINT32_MAX) {
        mf_error_set(err, "%s: %zu edges are more than this graph builder packs", g->info.name,
                     b->nedge);
        return -1;
    }
    g->nedges = b->nedge;
    uint32_t *off = NULL;
    if (mp_gl_csr_pairs(n, b->nedge, b->esrc, b->edst, b->eoff, &g->out, &off)) return 1;
    free(b->eoff), b->eoff = NULL;
    free(b->esrc), b->esrc = NULL;
    free(b->edst), b->edst = NULL;
    mp_pack_free(&b->offsets);
    mp_pack_init(&g->offsets, 1);
    mp_pack_spill(&g->offsets, mp_spill_bytes());
    for (size_t e = 0; e < g->nedges; e++) {
        uint64_t f = off[e] < MP_NO_OFFSET ? (uint64_t)off[e] + 1 : 0;
        mp_pack_add(&g->offsets, &f);
    }
    free(off);
    return mp_pack_failed(&g->offsets) ? 1 : 0;
}

/* The out edges the fast way: the lists end where the objects do. */
static int finish_direct_edges(mp_graph_builder *b, mp_graph *g, mf_error *err)
{
    if (b->dn != g->nobjects) {
        mf_error_set(err, "%s: edges were given for %zu objects, but %zu were added", g->info.name,
                     b->dn, g->nobjects);
        return -1;
    }
    start_lists(b, g->nobjects + 1);
    if (b->oom || mp_pack_failed(&b->offsets)) return 1;
    g->out = b->out;
    memset(&b->out, 0, sizeof b->out);
    if (!g->out.adj && !(g->out.adj = malloc(sizeof *g->out.adj))) return 1;
    g->nedges = b->dm;
    g->offsets = b->offsets;
    mp_pack_init(&b->offsets, 1);
    return 0;
}

int mp_gb_finish(mp_graph_builder *b, mp_graph **out, mf_error *err)
{
    *out = NULL;
    const char *name = b->name;
    mp_graph *g = NULL;
    uint32_t *rank = NULL;
    if (b->oom) {
        oom_message(err, name, b->nobj, b->direct ? b->dm : b->nedge + b->naedge);
        goto fail;
    }
    if (b->direct && !b->sorted) {
        mf_error_set(err, "%s: objects given with their edges were not in address order", name);
        goto fail;
    }
    /* The edges are all in: the reverse lists' block is faulted in while
     * the out lists and the columns are finished, one thread's work. (Not
     * the in-degrees: the addresses' packing gives back as much memory
     * just before they are made, which comes back quicker than fresh.) */
    if (b->direct) mp_gl_in_room_start(&b->in_room, b->dm);
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
    }
    g = calloc(1, sizeof *g);
    if (!g) goto oom;
    mp_pack_init(&g->entries, EF_N);
    mp_pack_init(&g->offsets, 1);
    g->info = b->info;
    g->info.name = b->name;
    b->name = NULL;
    name = g->info.name;
    g->info.format = b->format;
    g->nobjects = n;
    g->type = b->type, b->type = NULL;
    g->total_bytes = b->total_bytes;
    /* the roots are counted as the dominators will count them, stack words
     * an iterator holds dropped, before the reservation is fitted to them
     * (a reservation of another count would not be taken) */
    if (drop_iterator_words(b)) goto oom;
    /* the rest of the build is mostly one thread's: the dominators' arrays
     * are faulted in on another meanwhile, when the analysis asked (from
     * the start of the edges already, where the snapshot gave them apart) */
    g->dom_reserve = mp_dom_reserve_fit(b->dom_reserve, n, b->nroots);
    b->dom_reserve = NULL;
    int rc = pack_samples(b, rank, g, err);
    if (rc < 0) goto fail;
    if (rc > 0) goto oom;

    /* edges: the address form is resolved with the 64-bit sizes, before
     * they are packed */
    rc =
        b->direct ? finish_direct_edges(b, g, err) : finish_general_edges(b, rank, g, b->size, err);
    if (rc < 0) goto fail;
    if (rc > 0) goto oom;
    if (mp_gl_pack_sizes(g, b->size)) goto oom;
    b->size = NULL; /* now g->size32 */
    uint64_t *addr64 = b->addr;
    b->addr = NULL; /* now g->addr_lo, or freed */
    if (mp_gl_pack_addresses(g, addr64)) goto oom;
    mp_timing_mark("edges");
    if (mp_gl_build_reverse(g, &b->in_room, err)) goto fail;
    mp_gl_in_room_free(&b->in_room); /* not taken: freed before the peak */
    mp_timing_mark("reverse");

    /* tables */
    g->types = b->types, b->types = NULL;
    g->ntypes = b->ntypes;
    g->frames = b->frames, b->frames = NULL;
    g->nframes = b->nframes;
    g->stacks = b->stacks, b->stacks = NULL;
    g->nstacks = b->nstacks;

    /* roots (the iterators' stack words dropped above) */
    for (size_t i = 0; i < b->nroots; i++) {
        mp_root *r = &b->roots[i];
        if (remap(b, rank, &r->target)) {
            mf_error_set(err, "%s: root %zu refers to an object that was never added", name, i);
            goto fail;
        }
        if (r->target == MP_NONE && b->root_addr[i]) {
            r->target = mp_graph_find(g, b->root_addr[i]);
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
            m->header = mp_graph_find(g, m->address);
            if (m->header == MP_NONE) g->dropped_refs++;
        }
        if (m->key_type != MP_NONE && m->key_type >= g->ntypes) m->key_type = MP_NONE;
        if (m->value_type != MP_NONE && m->value_type >= g->ntypes) m->value_type = MP_NONE;
    }
    g->maps = b->maps, b->maps = NULL;
    g->nmaps = b->nmaps;
    g->map_aside = b->map_aside, b->map_aside = NULL;
    g->nmap_aside = b->nmap_aside;
    for (size_t i = 0; i < b->nbuckets; i++) {
        mp_bucket *bk = &b->buckets[i];
        if (bk->map >= g->nmaps || remap(b, rank, &bk->obj)) {
            mf_error_set(err, "%s: bucket record %zu names map %u of %zu or an unknown object",
                         name, i, bk->map, g->nmaps);
            goto fail;
        }
        if (bk->obj == MP_NONE && b->bucket_addr[i]) {
            bk->obj = mp_graph_find(g, b->bucket_addr[i]);
            if (bk->obj == MP_NONE) g->dropped_refs++;
        }
    }
    if (mp_gl_group_by_map(b->buckets, b->nbuckets, sizeof *b->buckets, offsetof(mp_bucket, map),
                           g->maps, g->nmaps))
        goto oom;
    g->buckets = b->buckets, b->buckets = NULL;
    g->nbuckets = b->nbuckets;
    if (finish_entries(b, rank, g, err)) goto fail;
    if (mp_gl_map_tables(g)) goto oom;

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
    /* most objects asked about hold no bucket: one bit answers without a
     * search through the bucket records (mp_graph_bucket_of) */
    g->bucket_bits = mf_zeroed(n / 8 + 1, 1); /* sparse, read often (zeroed.h) */
    if (!g->bucket_bits) goto oom;
    if (mp_gl_order_by_key(bucket_keys, sizeof(mp_bucket) / 4, g->nbuckets, n,
                           g->bucket_by_obj, &g->nbucket_by_obj, g->bucket_bits) ||
        mp_gl_order_by_key(map_keys, sizeof(mp_map) / 4, g->nmaps, n, g->map_by_header,
                           &g->nmap_by_header, NULL))
        goto oom;

    g->strs = b->strs, b->strs = NULL;
    g->strs_len = b->strs_len;
    free(rank);
    mp_gb_free(b);
    *out = g;
    mp_timing_mark("graph");
    return 0;
oom:
    oom_message(err, name, b->nobj, b->direct ? b->dm : b->nedge);
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
