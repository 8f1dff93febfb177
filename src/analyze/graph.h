/*
 * src/analyze/graph.h -- the format-neutral heap graph every analysis works on.
 *
 * One snapshot of a heap as compact arrays: objects numbered densely 0..n-1 in
 * increasing address order (address, size, type; the allocation stacks of
 * the few sampled ones apart), pointer edges in CSR form with the reverse
 * edges beside them (for retainer queries), roots, maps with their bucket
 * objects and entries, allocation stacks and a string table. Nothing here
 * knows any runtime's layout: a loader (one per input format: our gcstack
 * snapshots first, Go heap dumps later) feeds a builder record by record
 * and the builder resolves, checks and packs.
 *
 * Memory is what the walks over the whole heap need at random, and no more:
 * 16 bytes per object (address, size, type), 8 per edge and 8 per object
 * for the two edge directions, never one allocation per object. What only
 * reports and sequential passes need -- each map entry, each edge's field
 * offset -- is packed (packed.h: a few bytes each) and, past
 * MP_SPILL_DEFAULT bytes (MAPROOT_SPILL_BYTES), moved to a temporary file.
 *
 * Builder rules. Objects may come in any address order; mp_gb_object returns
 * a provisional index ("as added") that the other builder calls may use to
 * refer to it. At mp_gb_finish the objects are sorted by address (cheaply
 * skipped when they came sorted) and every reference is renumbered, so after
 * finish an object index is its rank by address. References may also be
 * given as addresses (the *_addr forms; interior pointers allowed), resolved
 * at finish; an edge whose target lies in no object is dropped and counted
 * (g->dropped_edges), as heap dumps legitimately carry pointers out of the
 * heap; a root, map or entry reference that lies in no object becomes
 * MP_NONE and is counted in g->dropped_refs.
 *
 * Errors (mp_gb_finish; builder calls only fail when out of memory, sticky
 * until finish): overlapping objects or two at one address, an index
 * reference beyond the objects added, a map or entry naming a map that does
 * not exist, more than 2^32-2 objects. Messages name the graph (the file).
 *
 * Memory: the builder owns copies of strings given to it; the finished
 * graph owns everything (mp_graph_free). Threads: a builder is used by one
 * thread; a finished graph is read-only and may be shared.
 */
#ifndef MP_GRAPH_H
#define MP_GRAPH_H

#include "analyze/packed.h"
#include "format/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_NONE UINT32_MAX      /* no object / type / stack / map */
#define MP_NO_OFFSET UINT32_MAX /* an edge's offset in its object is not known */

/* The head of a helper that only fetches ahead (its loads feed nothing but
 * __builtin_prefetch): always inlined, for such a function has no effect
 * the compiler counts, and GCC drops a call to it, as to a pure function
 * whose result goes unused, when it has not inlined it yet. */
#define MP_FETCH_ONLY static inline __attribute__((always_inline))

/* Root kinds, numbered in the priority the path search gives them: a
 * global explains a retention better than a pin, a pin better than a stack
 * frame, and so on. */
typedef enum mp_root_kind {
    MP_ROOT_GLOBAL = 0,
    MP_ROOT_PIN,
    MP_ROOT_STACK,
    MP_ROOT_ITERATOR,
    MP_ROOT_REGISTER,
    MP_ROOT_RUNTIME,
    MP_ROOT_FINALIZER, /* a finalizer's function, or what its object points to */
    MP_ROOT_OTHER,
    MP_ROOT_NKINDS
} mp_root_kind;

typedef enum mp_type_kind {
    MP_TYPE_OTHER = 0,
    MP_TYPE_STRUCT,
    MP_TYPE_ARRAY,
    MP_TYPE_BLOB,
    MP_TYPE_STRING,
    MP_TYPE_MAP_HEADER,
    MP_TYPE_BUCKET,
    MP_TYPE_RUNTIME,
    MP_TYPE_NKINDS
} mp_type_kind;

typedef enum mp_key_kind {
    MP_KEY_OTHER = 0,
    MP_KEY_INT,
    MP_KEY_PTR, /* keys are pointers: they keep their targets alive */
    MP_KEY_STRING,
    MP_KEY_BYTES,
} mp_key_kind;

const char *mp_root_kind_name(unsigned kind); /* "global", "pin", "stack", ... */
const char *mp_type_kind_name(unsigned kind);

/* Strings are offsets into the graph's string table (0 is ""): mp_str(). */
typedef uint32_t mp_sid;

/* Whether a value of a type holds pointers. */
typedef enum mp_type_pointers {
    MP_PTRS_UNKNOWN = 0,
    MP_PTRS_NONE,
    MP_PTRS_SOME,
} mp_type_pointers;

/*
 * The records below (and mp_addr_run, mp_big_size further on) are written
 * to index files byte for byte (graph_index.h). A hole the compiler left
 * between fields would carry whatever bytes the record was copied from,
 * and the same heap would give index files that differ: so the fields are
 * ordered widest first, any room left is a field named zero that the
 * builder clears, and the compiler refuses a hole here (-Wpadded).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wpadded"

typedef struct mp_type {
    uint64_t size;    /* of one value; of an array type: of one element */
    mp_sid name;
    uint8_t kind;     /* mp_type_kind */
    uint8_t pointers; /* mp_type_pointers */
    uint8_t zero[2];
} mp_type;

typedef struct mp_gframe {
    mp_sid function, file;
    int64_t line; /* 0 unknown */
} mp_gframe;

/* An allocation stack: frames[first .. first + n), innermost first. */
typedef struct mp_stack {
    uint32_t first, n;
} mp_stack;

typedef struct mp_root {
    uint8_t kind; /* mp_root_kind */
    bool has_frame_offset;
    uint8_t zero[6];
    mp_sid name;            /* global: its name; pin: its label; register: its name */
    mp_sid file;            /* where a global is declared, or the frame's source file */
    mp_sid function;        /* stack/iterator/register: the frame's function */
    mp_sid state;           /* stack/iterator: what its thread waits for ("chan receive") */
    uint32_t thread, frame; /* stack/iterator/register: thread number, frame index
                               (0 innermost) */
    /* runtime, a word of a thread's static thread-local storage: the module
     * whose thread-local block holds it (0: not known to be one), its
     * offset there (tls_offset), and the variable's name (0 unknown).
     * Module and offset are the same for the same variable of every
     * thread. */
    mp_sid tls_module, tls_variable;
    uint32_t target; /* object, MP_NONE if it pointed outside the heap */
    uint32_t order;  /* position in the order the loader added it */
    int64_t line;
    uint64_t frame_offset; /* stack/iterator: the root word's offset from the frame's
                              lowest address, when has_frame_offset */
    uint64_t slot;         /* address of the root word, 0 unknown */
    uint64_t tls_offset;
} mp_root;

/* A Go sync.Map keeps two maps, read and dirty; the dirty one holds every
 * live entry of the read one too. It is one map of the graph: */
typedef enum mp_sync_map {
    MP_SYNC_NONE = 0,
    MP_SYNC_JOINED, /* its dirty map, whose table holds the read map's too (its header,
                       buckets and the box holding it: aux records); the read map's
                       pointers to keys and entries are the table's own */
    MP_SYNC_ALONE,  /* the one map it has now (the other is nil) */
} mp_sync_map;

/* A map header and its geometry, as the input describes it; the "walked"
 * figures are computed at finish from the map's bucket and entry records.
 * 136 bytes, written once for each map of the heap (on a heap of millions
 * of tiny maps the biggest record the reading writes): the counts of bucket
 * records and of objects are 32-bit (a graph holds fewer than 2^32 of
 * either), the figures few maps have are out of line (mp_map_aside), the
 * 32-bit fields come first and no padding is left implicit (index files
 * hold the record as it is). */
typedef struct mp_map {
    uint32_t header;               /* the header object (MP_NONE unknown) */
    mp_sid type_name;              /* e.g. "map[string]*Session" */
    uint32_t key_type, value_type; /* types, MP_NONE unknown */
    uint32_t B, flags, noverflow;
    uint32_t hash0; /* the map's seed, when hash0_known: a map keeps it until it is
                       emptied or cleared, a new map at a reused address draws another */
    uint32_t buckets, oldbuckets;  /* bucket array objects, MP_NONE none */
    uint32_t key_size, value_size; /* bytes of a key and a value slot, 0 unknown */
    /* 1 + the index of its figures set aside in g->map_aside, 0 none (all
     * 0): mp_map_aside_of */
    uint32_t aside;
    /* computed at finish */
    uint32_t first_bucket, nbuckets;        /* into g->buckets */
    uint32_t nmain, noverflow_walked, nold; /* bucket records by role */
    uint32_t table_objects;                 /* distinct objects of the table (header
                                               included); their bytes: table_bytes */
    uint8_t key_kind;                       /* mp_key_kind */
    uint8_t key_indirect;                   /* 1: a key is an object of its own (key_obj) */
    uint8_t key_numeric;                    /* 1: entries keep MP_KEY_INT / MP_KEY_PTR keys as
                                               numbers (mp_entry.key), 0: as rendered strings */
    bool hash0_known;
    bool types_inferred;                    /* type_name and sizes guessed from the layout alone */
    uint8_t sync_map;                       /* mp_sync_map: the map of a Go sync.Map */
    uint8_t zero[6];
    uint64_t address;                       /* the header's address */
    uint64_t count;                         /* live entries as the header says */
    uint64_t bucket_size;
    /* computed at finish */
    uint64_t first_entry, nentries; /* into g->entries */
    uint64_t table_bytes;
} mp_map;

/* The figures of a map that most maps have all 0, out of line: a growth
 * under way, a sync.Map's, keys that are float NaNs. On a heap of millions
 * of small maps, 40 bytes a map not written. */
typedef struct mp_map_aside {
    uint64_t nevacuate, noldbuckets; /* an unfinished growth: buckets evacuated, of the
                                        old array's */
    uint64_t nan_keys; /* entries whose key is a float NaN, which equals nothing, itself
                          included: no lookup or delete finds them again (0 when the
                          keys are not known to be floats) */
    /* MP_SYNC_JOINED: the read map's main buckets (old ones of a growth
     * included) and overflow buckets, objects of this map's table (aux
     * records) whose bytes table_bytes counts; 0 for other maps */
    uint64_t sync_read_buckets, sync_read_overflow;
    mp_sid container; /* a sync.Map's: the global that holds it ("main.store",
                         "main.tables+8", "bss+0x7c8"), 0 none (it is in a struct on
                         the heap or a stack) */
    uint32_t zero;
} mp_map_aside;

/* The deepest overflow bucket a bucket record can name: loaders refuse a
 * chain deeper than this (it would need tens of millions of buckets in one
 * chain, a gigabyte and more of one bucket's collisions). */
#define MP_BUCKET_MAX_OVERFLOW ((1u << 26) - 1)

/* One bucket of a map: the object that holds it (a bucket array holds many
 * buckets; an overflow bucket is usually its own object). A heap holds
 * millions of these: 28 bytes each, the 64-bit fields at 4-byte alignment
 * and the small ones in one word (loaders keep overflow within
 * MP_BUCKET_MAX_OVERFLOW and nused within 8). */
typedef struct __attribute__((packed, aligned(4))) mp_bucket {
    uint32_t map;
    uint32_t obj;           /* MP_NONE unknown */
    uint64_t address;       /* the bucket's own address (in its object), 0 unknown */
    uint64_t index;         /* in its bucket array */
    uint32_t overflow : 26; /* 0 the bucket itself, k the k-th overflow bucket */
    uint32_t old : 1;       /* 1 in the old array of an unfinished growth */
    uint32_t aux : 1;       /* 1: not a bucket but another object of the map's table
                               that holds no slots (e.g. Go's list of overflow buckets) */
    uint32_t nused : 4;     /* occupied slots (8 at most) */
} mp_bucket;

#pragma GCC diagnostic pop

/* One map entry. Entries are kept packed (mp_graph_entry and
 * mp_entry_cursor unpack them); builders give them in this form. */
typedef struct mp_entry {
    uint32_t map;
    uint32_t bucket_obj; /* the object holding the slot, MP_NONE unknown */
    uint64_t bucket;     /* index in its bucket array */
    uint32_t overflow;
    uint8_t slot, old;
    /* the key: in a map with key_numeric, its value (an int64, or a
     * pointer for MP_KEY_PTR), rendered when shown (mp_entry_key); in the
     * others the string (mp_sid) rendered for people */
    uint64_t key;
    uint32_t key_obj, value_obj; /* objects the key/value point to, MP_NONE none */
} mp_entry;

/* What the input says about the program and the moment. */
typedef struct mp_graph_info {
    const char *name;        /* the input file, for messages (owned copy) */
    const char *format;      /* "gcstack", ... (static) */
    const char *thread_noun; /* what the input calls a thread: "thread", "goroutine" (static) */
    mp_sid program;
    mp_sid build_id; /* the program's build id, "" unknown */
    mp_sid runtime;  /* the runtime that wrote it, e.g. "go1.19.8" ("" unknown) */
    uint64_t pid;
    int64_t time_nanos;
    uint32_t gc_cycle;
    uint32_t pointer_size;
    uint64_t profile_rate; /* sampling rate of the allocation stacks, 0 none */
    uint64_t heap_alloc;   /* the runtime's own figure, 0 unknown */
    /* objects the input listed that no root reaches (garbage not yet swept,
     * which a loader may leave out of the graph), and their bytes */
    uint64_t unreachable_objects, unreachable_bytes;
    uint64_t gc_pause_ns; /* the cycle's stop-the-world pause so far, 0 unknown */
} mp_graph_info;

/*
 * Edge lists in CSR form: the edges of v are adj[start(v) .. start(v + 1)).
 * The starts are kept modulo 2^32 (at[], n + 1 of them) with the few
 * objects where they pass a multiple of 2^32 beside them (wraps[k]: the
 * first object whose start is >= (k + 1) * 2^32): 4 bytes an object, and
 * any number of edges. mp_csr_start() puts them together.
 */
typedef struct mp_csr {
    uint32_t *at;
    uint32_t *wraps;
    size_t nwraps;
    uint32_t *adj;
} mp_csr;

static inline uint64_t mp_csr_start(const mp_csr *c, size_t v)
{
    uint64_t s = c->at[v];
    for (size_t k = 0; k < c->nwraps && c->wraps[k] <= v; k++) s += (uint64_t)1 << 32;
    return s;
}

#pragma GCC diagnostic push /* written byte for byte too (above) */
#pragma GCC diagnostic error "-Wpadded"

/* From object first on, up to the next run's first, the high 32 bits of
 * every object's address are high. A heap spans few 4 GiB regions: a run
 * or a few for any number of objects. */
typedef struct mp_addr_run {
    uint32_t first;
    uint32_t high;
} mp_addr_run;

/* A size of 2^32 bytes or more: the object's size32 is MP_BIG_SIZE and its
 * size is here (sorted by object). */
#define MP_BIG_SIZE UINT32_MAX
typedef struct mp_big_size {
    uint32_t obj, zero;
    uint64_t size;
} mp_big_size;

#pragma GCC diagnostic pop

/* Packed tables beyond this many bytes move to a temporary file (see
 * packed.h); the environment's MAPROOT_SPILL_BYTES overrides it (0: keep
 * everything in memory). */
#define MP_SPILL_DEFAULT ((uint64_t)64 << 20)
uint64_t mp_spill_bytes(void);

/* Room for nobjects uint32_t past the end of size32, in its block (freed
 * with it): the upper half of the 64-bit sizes the builder packed in
 * place. at is NULL once taken. What it holds means nothing: the builder
 * uses it as scratch before the paths take it, and they write each word
 * before they read it. */
typedef struct mp_paths_spare {
    uint32_t *at;
} mp_paths_spare;

/* The meaning of mp_graph's fields, numbered: a change that keeps every
 * array's element size (a field read another way, a new invariant) bumps
 * it, so that index files of the old layout are stale (graph_index.h). */
#define MP_GRAPH_LAYOUT 5

struct mp_findings_saved;

/* What mp_paths_compute and mp_dom_compute give (paths.h, dominators.h),
 * and what of the findings depends on them alone (findings.h), kept with
 * a graph read from an index. */
typedef struct mp_graph_derived {
    const uint32_t *parent, *root, *via; /* per object; NULL: no paths */
    uint64_t nreached, reached_bytes;
    const uint32_t *idom;     /* per node; NULL: no dominator tree */
    const uint64_t *retained; /* per node */
    const uint32_t *root_of;  /* per object */
    const uint32_t *preorder;
    uint64_t npreorder;
    /* per map (NULL: none; only with paths and tree), and per entry the
     * findings' (retained, shared) records: mp_findings_saved,
     * mp_findings.entry_info */
    const struct mp_findings_saved *fmaps;
    mp_pack fentries;
} mp_graph_derived;

typedef struct mp_graph {
    mp_graph_info info;
    size_t nobjects;
    /* Object addresses, increasing (objects never overlap), in 4 bytes an
     * object: the low halves here, the high halves by runs of objects
     * (addr_runs, mp_obj_addr). Invariant: with any objects, run 0 starts
     * at object 0, runs' first objects and high halves both increase. */
    uint32_t *addr_lo;
    mp_addr_run *addr_runs;
    size_t naddr_runs;
    uint32_t *size32; /* bytes; MP_BIG_SIZE: see big (mp_obj_size) */
    mp_big_size *big;
    size_t nbig;
    uint32_t *type;       /* MP_NONE none */
    uint64_t total_bytes; /* sum of sizes */
    /* the sampled objects: (object << 32 | allocation stack), sorted by
     * object, and a bit per object saying which (mp_obj_stack) */
    uint64_t *samples;
    size_t nsampled;
    uint8_t *sampled_bits;
    size_t nedges;
    mp_csr out; /* successors */
    mp_csr in;  /* predecessors */
    /* per out edge, in out's order: the pointer's byte offset in its
     * source object + 1, 0 unknown (mp_edge_offset) */
    mp_pack offsets;
    size_t dropped_edges, dropped_refs;
    mp_type *types;
    size_t ntypes;
    mp_root *roots; /* sorted by kind (priority); stack, iterator and register
                       roots by thread, a thread's stack and iterator roots
                       outer frame first; then in the order added */
    size_t nroots;
    mp_map *maps;
    size_t nmaps;
    mp_map_aside *map_aside; /* the figures set aside of the maps that have some
                                (mp_map.aside) */
    size_t nmap_aside;
    mp_bucket *buckets; /* grouped by map (in order of appearance within a map) */
    size_t nbuckets;
    mp_pack entries; /* mp_entry records, grouped by map (mp_graph_entry) */
    size_t nentries;
    mp_gframe *frames;
    size_t nframes;
    mp_stack *stacks;
    size_t nstacks;
    char *strs; /* string table */
    size_t strs_len;
    /* lookups built at finish */
    uint32_t *bucket_by_obj; /* bucket record indices sorted by object */
    size_t nbucket_by_obj;
    uint8_t *bucket_bits;    /* bitmap over objects: holds some bucket record */
    uint32_t *map_by_header; /* map indices sorted by header object */
    size_t nmap_by_header;
    /* the objects of every map's table (header, bucket arrays, buckets):
     * (object << 32 | map), sorted, and a bit per object saying which */
    uint64_t *table_objs;
    size_t ntable_objs;
    uint8_t *table_bits;
    /* a graph read from an index file: every array lies in this mapping
     * (graph_index.h), released as a whole; NULL when built in memory */
    void *mapped;
    size_t mapped_len;
    /* arrays the reader of an index computed from it in place of keeping
     * them there (graph_index.c): one malloc block, freed with the graph;
     * NULL otherwise */
    void *computed;
    /* results derived from the graph alone, read and checked with it from
     * an index (graph_index.h): arrays in the mapping, NULL when the index
     * holds none. mp_paths_compute and mp_dom_compute hand them out in
     * place of computing them again. */
    mp_graph_derived derived;
    /* the dominator computation's working arrays, allocated and faulted
     * in while the graph was built (mp_dom_reserve_start), or NULL; taken
     * by the first mp_dom_compute of the graph, freed with it otherwise */
    struct mp_dom_reserve *dom_reserve;
    /* memory in the graph's own blocks, in memory already, that the first
     * mp_paths_compute of the graph takes for one of its arrays, or NULL
     * (mp_paths_spare_ahead) */
    struct mp_paths_spare *paths_spare;
} mp_graph;

static inline const char *mp_str(const mp_graph *g, mp_sid s)
{
    return g->strs + s;
}

static inline bool mp_bit(const uint8_t *bits, size_t i)
{
    return bits[i >> 3] >> (i & 7) & 1;
}

static inline uint64_t mp_out_begin(const mp_graph *g, size_t v)
{
    return mp_csr_start(&g->out, v);
}
static inline uint64_t mp_out_end(const mp_graph *g, size_t v)
{
    return mp_csr_start(&g->out, v + 1);
}
static inline uint64_t mp_in_begin(const mp_graph *g, size_t v)
{
    return mp_csr_start(&g->in, v);
}
static inline uint64_t mp_in_end(const mp_graph *g, size_t v)
{
    return mp_csr_start(&g->in, v + 1);
}

/* The address of object o: its low half with the high half of the last
 * run that starts at or before o. */
static inline uint64_t mp_obj_addr(const mp_graph *g, uint32_t o)
{
    const mp_addr_run *r = g->addr_runs;
    size_t lo = 0, hi = g->naddr_runs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].first <= o)
            lo = mid;
        else
            hi = mid;
    }
    return (uint64_t)r[lo].high << 32 | g->addr_lo[o];
}

/* Map m's figures set aside (m a map of g): all 0 for most maps. */
extern const mp_map_aside mp_map_aside_none;
static inline const mp_map_aside *mp_map_aside_of(const mp_graph *g, const mp_map *m)
{
    return m->aside ? &g->map_aside[m->aside - 1] : &mp_map_aside_none;
}

/* The size of object o in bytes. */
uint64_t mp_obj_size_big(const mp_graph *g, uint32_t o);
static inline uint64_t mp_obj_size(const mp_graph *g, uint32_t o)
{
    uint32_t s = g->size32[o];
    return s != MP_BIG_SIZE ? s : mp_obj_size_big(g, o);
}
/* The allocation stack of object o, MP_NONE when it was not sampled. */
uint32_t mp_obj_stack(const mp_graph *g, uint32_t o);
/* The byte offset of out edge e's pointer in its source object,
 * MP_NO_OFFSET when not known. */
uint32_t mp_edge_offset(const mp_graph *g, uint64_t e);

/* Entry i (in g's order) into *e; false when i is out of range (or its
 * packed table could not be read back). */
bool mp_graph_entry(const mp_graph *g, size_t i, mp_entry *e);
/* Reading entries in order from one on, e.g. a map's first_entry. */
typedef struct mp_entry_cursor {
    mp_pack_cursor c;
} mp_entry_cursor;
void mp_entry_cursor_init(mp_entry_cursor *c, const mp_graph *g, size_t first);
bool mp_entry_next(mp_entry_cursor *c, mp_entry *e);
/* A window of entries read ahead: es[*at..got) are read and not yet
 * looked at. Moves them to the front (*at becomes 0) and reads on behind
 * them, up to cap in the window and at most *left more (counted down);
 * returns how many the window holds. Fewer than cap with *left above 0:
 * the entries ran out or could not be read back. */
size_t mp_entry_window_fill(mp_entry_cursor *c, mp_entry *es, size_t cap, size_t *at, size_t got,
                            size_t *left);
/* On to entry i, forward only (mp_pack_cursor_skip): false past the end. */
bool mp_entry_cursor_skip(mp_entry_cursor *c, size_t i);
void mp_entry_cursor_free(mp_entry_cursor *c);
/* The objects entry e holds: every pointer of its key slot, then of its
 * value slot, each object once, into out (room for MP_ENTRY_MAX_TARGETS);
 * the first *nkey are the key's; words[i] (words may be NULL) counts the
 * slots' pointer words that point at out[i] (a struct value may point at
 * one object twice: at its start and inside it). A struct value with
 * several pointers holds each of them. Read from the edges of the object holding the
 * bucket when they carry offsets and the map its slot sizes, one of them
 * over a word; otherwise (or when more pointers than that) just e's
 * key_obj and value_obj, which are all a slot of one word can hold. rd
 * keeps the edge offsets of the last two bucket objects read (one reader
 * per thread; MP_ENTRY_READER_INIT, then mp_entry_reader_free). */
#define MP_ENTRY_MAX_TARGETS 32
typedef struct mp_edge_offsets {
    uint32_t obj; /* whose edge offsets off holds, MP_NONE none */
    bool ok;      /* they are all known */
    uint32_t *off;
    size_t n, cap;
    size_t at; /* the first edge of the last bucket read */
} mp_edge_offsets;
typedef struct mp_entry_reader {
    /* two objects: a bucket array and the overflow bucket met between two
     * of its buckets; last: the one used last */
    mp_edge_offsets c[2];
    unsigned last;
} mp_entry_reader;
#define MP_ENTRY_READER_INIT                                                                       \
    {                                                                                              \
        {{MP_NONE, false, NULL, 0, 0, 0}, {MP_NONE, false, NULL, 0, 0, 0}}, 0                      \
    }
size_t mp_entry_targets(const mp_graph *g, mp_entry_reader *rd, const mp_entry *e, uint32_t *out,
                        uint32_t *words, size_t *nkey);
void mp_entry_reader_free(mp_entry_reader *rd);
/* The edge offsets mp_entry_targets has decoded in this process, every
 * reader on every thread together: what a pass over the entries costs
 * beyond the entries themselves. A reader decodes a bucket array's whole
 * once and keeps it, so a pass that keeps its readers decodes each array
 * about once; tests hold the passes to that. */
uint64_t mp_entry_offsets_decoded(void);
/* Entry e's key for people: "-5", "0x7f3a1c000040", or the rendered string
 * kept for it; buf holds at least 24 bytes for the first two. */
const char *mp_entry_key(const mp_graph *g, const mp_entry *e, char *buf, size_t size);

/* The object containing address a (interior pointers allowed), or MP_NONE. */
uint32_t mp_graph_find(const mp_graph *g, uint64_t a);
/* The map whose table (header, bucket arrays, buckets) holds object o, or
 * MP_NONE. */
uint32_t mp_graph_table_map(const mp_graph *g, uint32_t o);
/* The position of table object o in g->table_objs (0 .. ntable_objs - 1),
 * or SIZE_MAX when o is in no map's table: a dense index for per-table-
 * object arrays. */
size_t mp_graph_table_pos(const mp_graph *g, uint32_t o);
/* A rank directory over g->table_bits for mp_graph_table_pos_ranked: per
 * 64 objects, how many table objects come before them (4 bytes per 64
 * objects); NULL when out of memory or g has no table bits. free() it. */
uint32_t *mp_graph_table_rank(const mp_graph *g);
/* mp_graph_table_pos in constant time with rank (mp_graph_table_rank of
 * g), where the other searches every table object; rank NULL: the same. */
size_t mp_graph_table_pos_ranked(const mp_graph *g, const uint32_t *rank, uint32_t o);
/* The map whose header is object o, or MP_NONE. */
uint32_t mp_graph_map_of_header(const mp_graph *g, uint32_t o);
/* The first bucket record held by object o (MP_NONE if o holds no bucket);
 * a bucket array object holds many: the record returned is one of them. */
uint32_t mp_graph_bucket_of(const mp_graph *g, uint32_t o);
/* The bucket record of bucket `index` of map m held by object o, at
 * overflow depth `overflow` (0: the bucket itself) of the old or the new
 * array; MP_NONE if there is none. Fast when the records of o come in
 * index order, as loaders walk a table. */
uint32_t mp_graph_bucket_record(const mp_graph *g, uint32_t o, uint32_t m, uint64_t index,
                                uint32_t overflow, bool old);
/* The type name of object o ("?" untyped). */
const char *mp_graph_type_name(const mp_graph *g, uint32_t o);
void mp_graph_free(mp_graph *g);

/* ------------------------------------------------------------ builder --- */

typedef struct mp_graph_builder mp_graph_builder;

/* A new builder; name is the input (copied) for messages, format a static
 * name of the input format. NULL when out of memory. */
mp_graph_builder *mp_gb_new(const char *name, const char *format);
void mp_gb_free(mp_graph_builder *b); /* an unfinished builder */

/* The cycle's stop-the-world pause as of the snapshot (0 unknown). */
void mp_gb_set_pause(mp_graph_builder *b, uint64_t pause_ns);

/* Program facts (program is copied); may be called any time before finish. */
/* The program's build id (a GNU build ID in hex), when the input has one. */
void mp_gb_set_build_id(mp_graph_builder *b, const char *build_id);
void mp_gb_set_info(mp_graph_builder *b, const char *program, uint64_t pid, int64_t time_nanos,
                    uint32_t gc_cycle, uint32_t pointer_size, uint64_t profile_rate,
                    uint64_t heap_alloc);

/* What the input calls its threads (static string; "thread" by default),
 * the runtime that wrote it, and the objects left out as unreachable. */
void mp_gb_set_origin(mp_graph_builder *b, const char *thread_noun, const char *runtime,
                      uint64_t unreachable_objects, uint64_t unreachable_bytes);

/* Strings: interned (names, files, functions) or stored as they are (keys,
 * many and mostly distinct). len bytes are copied; a NUL ends the string
 * early. Return 0 when out of memory ("" as well). */
mp_sid mp_gb_intern(mp_graph_builder *b, const char *s);
mp_sid mp_gb_string(mp_graph_builder *b, const char *s, size_t len);

/* Hints that avoid regrowing arrays (optional). */
void mp_gb_reserve(mp_graph_builder *b, size_t objects, size_t edges);

uint32_t mp_gb_type(mp_graph_builder *b, const char *name, uint64_t size, mp_type_kind kind);
/* Says whether values of a type added earlier hold pointers (unknown until
 * said). */
void mp_gb_type_pointers(mp_graph_builder *b, uint32_t type, mp_type_pointers p);
/* A stack of n frames, innermost first (strings interned). */
uint32_t mp_gb_stack(mp_graph_builder *b, const mp_gframe *frames_with_strings, size_t n);
/* Frames for mp_gb_stack name their strings through these (interned). */
mp_gframe mp_gb_frame(mp_graph_builder *b, const char *function, const char *file, int64_t line);

/* Returns the object's provisional index (MP_NONE when out of memory). */
uint32_t mp_gb_object(mp_graph_builder *b, uint64_t address, uint64_t size, uint32_t type,
                      uint32_t stack);
/* Takes n objects at once, in place of mp_gb_object calls: addr, size and
 * type (type indices, MP_NONE none) are malloc'ed arrays of at least n
 * elements that the builder owns from now on (freed even on failure; size
 * is packed into 32 bits in place); for a loader whose reader already holds
 * them, so they are not copied. Only before any object is added; otherwise
 * (or when out of memory, or with too many objects) the builder fails at
 * finish. No allocation stacks yet. */
void mp_gb_adopt_objects(mp_graph_builder *b, uint64_t *addr, uint64_t *size, uint32_t *type,
                         size_t n);
/* Sets the allocation stack of an object added earlier (provisional index). */
void mp_gb_object_stack(mp_graph_builder *b, uint32_t obj, uint32_t stack);
/* Sets the type of an object added earlier (provisional index), for loaders
 * that learn types while walking what the objects hold. */
void mp_gb_object_type(mp_graph_builder *b, uint32_t obj, uint32_t type);
/* A pointer from src to dst (provisional indices), stored at byte `offset`
 * of src (offsets past 4 GiB are not kept: MP_NO_OFFSET); mp_gb_edge when
 * the offset is not known. Edges added with src nondecreasing and objects
 * added in address order are packed without sorting. */
void mp_gb_edge_at(mp_graph_builder *b, uint32_t src, uint32_t dst, uint64_t offset);
void mp_gb_edge(mp_graph_builder *b, uint32_t src, uint32_t dst);
/* A pointer stored in the object at (or containing) src_addr with value
 * dst_addr; resolved at finish. */
void mp_gb_edge_addr(mp_graph_builder *b, uint64_t src_addr, uint64_t dst_addr);

/*
 * The fast way for a loader whose objects are numbered by address from the
 * start (a gcstack reader's): mp_gb_edges_begin says how many objects
 * there will be (they are adopted before finish, in that number), then
 * mp_gb_edges_of gives the edges of objects in increasing order (the same
 * object again continues its list), packed as they come into the graph's
 * CSR -- no per-edge records, no sorting. Not to be mixed with the calls
 * above. targets are object indices, offsets bytes (MP_NO_OFFSET unknown).
 */
void mp_gb_edges_begin(mp_graph_builder *b, size_t nobjects);
void mp_gb_edges_of(mp_graph_builder *b, uint32_t src, size_t n, const uint64_t *targets,
                    const uint64_t *offsets);
/* The edges of objects first .. first + n - 1 at once, counts[i] of them
 * for object first + i, in targets and offsets one after another: what n
 * calls of mp_gb_edges_of would do, quicker. */
void mp_gb_edges_batch(mp_graph_builder *b, uint32_t first, size_t n, const uint32_t *counts,
                       const uint64_t *targets, const uint64_t *offsets);

/* A root (strings in r are mp_sids of this builder; r->order is ignored).
 * The target is r->target (a provisional index) or, when that is MP_NONE,
 * the object containing target_addr (0: none). */
void mp_gb_root(mp_graph_builder *b, const mp_root *r, uint64_t target_addr);

/* A map: m's object references are provisional indices (MP_NONE none); the
 * computed fields and m->aside are ignored; aside (NULL: all 0) its figures
 * set aside, kept only when some is not 0. Returns the map's index (MP_NONE:
 * no memory). */
uint32_t mp_gb_map(mp_graph_builder *b, const mp_map *m, const mp_map_aside *aside);
/* How many maps the builder holds before its records move to a larger
 * block: from mp_gb_edges_begin on, at least half the objects announced
 * (the records written there stay put), unless the address space is
 * limited. */
size_t mp_gb_map_room(const mp_graph_builder *b);
/* The same for bucket records (mp_gb_bucket). */
size_t mp_gb_bucket_room(const mp_graph_builder *b);
/* Sets map k's nan_keys (mp_map_aside), known once its entries are walked. */
void mp_gb_map_nan_keys(mp_graph_builder *b, uint32_t k, uint64_t n);
/* Sets map k's sync_read_buckets and sync_read_overflow (mp_map_aside; a joined
 * sync.Map's read map, known once its table is walked). */
void mp_gb_map_sync_read(mp_graph_builder *b, uint32_t k, uint64_t buckets, uint64_t overflow);
/* Sets map k's key_kind, when only its entries tell it (an interface's
 * keys are pointers when their dynamic types are). */
void mp_gb_map_key_kind(mp_graph_builder *b, uint32_t k, mp_key_kind kind);
/* A bucket of map (bk->map); bk->obj a provisional index, or MP_NONE with
 * obj_addr the address of the bucket (resolved at finish). */
void mp_gb_bucket(mp_graph_builder *b, const mp_bucket *bk, uint64_t obj_addr);
/* An entry of map e->map; object references are provisional indices. */
void mp_gb_entry(mp_graph_builder *b, const mp_entry *e);

/* Resolves, checks and packs; the builder is freed either way. On success
 * *out is the graph; on failure -1 with err naming the input. */
int mp_gb_finish(mp_graph_builder *b, mp_graph **out, mf_error *err);

#endif
