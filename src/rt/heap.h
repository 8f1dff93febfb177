/*
 * src/rt/heap.h -- the size-class allocator: arena, page map, spans.
 *
 * The heap is one large reservation of address space (the arena) cut into
 * 8 KiB pages. A span is a run of pages that holds objects of one size class
 * (or one large object). Every page maps back to its span through the page
 * map, so "which object contains this address" is a shift, a load and a
 * multiply: the collector asks it for every pointer it sees.
 *
 * Typed spans. A span of a size class holds objects of one type only (or
 * arrays of one element type), so the type lives in the span record and an
 * object carries no header: a 24-byte object takes 24 bytes. The spans of a
 * (size class, type) pair are kept by its "central" record; each thread
 * caches one span per pair it allocates from. Pointer-free types make
 * "noscan" spans, whose objects marking never reads.
 *
 * Per span we keep bitmaps beside (not inside) the objects:
 *   alloc   the slot holds an allocated object
 *   mark    the object was reached in the current collection (while marking
 *           it is kept as one byte per slot, packed into bits at the end)
 *   sample  the profiler sampled this object (on_free is due when it dies)
 *
 * Lazy sweep. A collection only marks: at mark termination every span
 * becomes "unswept" at once (its central's swept and unswept sets swap
 * roles), and the world restarts. A span is swept (alloc := mark, its mark
 * bytes cleared, its pages freed if it is empty) before it is allocated
 * from again, by the allocating thread, by the background sweeper, or by
 * whoever calls mr_gc() -- and at the latest when the next collection
 * starts, while the world is stopped ("sweep termination"). Sampled
 * objects' deaths are reported at mark termination, so on_free still runs
 * with the world stopped.
 *
 * Invariants: between collections, alloc is the set of objects that are
 * live-or-not-yet-swept; a swept span's alloc == its mark of the last cycle
 * and its mark bytes are zero; when marking starts every span is swept. A
 * span is on at most one of: a thread's cache, one of its central's lists
 * (swept or unswept, partial or full), the free runs. Only heap_lock's
 * holder moves spans between lists or sweeps them; the collector, world
 * stopped, holds mr__sweep_lock so the background sweeper is idle.
 */
#ifndef MR_RT_HEAP_H
#define MR_RT_HEAP_H

#include "rt/internal.h"

#include <pthread.h>

#define MR_PAGE_SHIFT 13
#define MR_PAGE_SIZE ((size_t)1 << MR_PAGE_SHIFT)
#define MR_MAX_SMALL 32768 /* larger objects get a span of their own */
#define MR_NUM_CLASSES 68  /* class 0 means "large object" */

/* A "tagged type": the type pointer, its low bit set for arrays of it. */
#define MR_TYPE_ARRAY_BIT ((uintptr_t)1)

struct mr_central;

typedef struct mr_span {
    /* Hot while marking: kept together in the first cache line. */
    uintptr_t base;     /* address of the first slot */
    uint8_t *markbytes; /* while marking: one byte per slot (see mark.c) */
    uint64_t *markbits;
    uint64_t *allocbits;
    const mr_type *type; /* every object's type (arrays: the element type) */
    uint32_t divmul;     /* (offset * divmul) >> 32 == offset / elemsize */
    uint32_t elemsize;   /* bytes per slot (large: 0, see mr__slot_bytes) */
    uint32_t nelems;
    uint8_t sizeclass; /* 0 = large */
    uint8_t in_use;    /* holds objects (else: free pages) */
    uint8_t noscan;    /* its objects hold no pointers */
    uint8_t needzero;  /* slots may hold old bytes: zero on allocation */
    uint8_t array;     /* objects are arrays of type: as many as fit the slot */
    /* The rest. */
    uint64_t *samplebits;
    struct mr_central *central; /* its (class, type); NULL for large spans */
    struct mr_span **list;      /* the list it is on, or NULL */
    size_t npages;
    uint32_t freeindex; /* no free slot below this index */
    uint32_t nalloc;    /* allocated slots, as of the last sweep or refill */
    uint8_t cached;     /* in some thread's cache */
    uint8_t has_samples;
    uint32_t nwords;             /* words per bitmap */
    struct mr_span *next, *prev; /* partial list of its class, or free list */
    uint32_t index;              /* position in the all-spans array */
} mr_span;

typedef struct mr_size_class {
    uint32_t size;
    uint32_t npages;
} mr_size_class;

extern mr_size_class mr__classes[MR_NUM_CLASSES];
/* The pacer's view of the heap (heap.c): the live bytes of the last
 * collection plus the free slots handed to thread caches since (less those
 * handed back unused) and the large objects made since; and its goal. */
extern atomic_uint_fast64_t mr__heap_live_estimate, mr__next_gc;
extern uintptr_t mr__arena_lo, mr__arena_hi;
extern mr_span **mr__pagemap;

/* The span owning address p, or NULL if p is outside the in-use heap. */
static inline mr_span *mr__span_of(uintptr_t p)
{
    if (p < mr__arena_lo || p >= mr__arena_hi) return NULL;
    return mr__pagemap[(p - mr__arena_lo) >> MR_PAGE_SHIFT];
}

/* The slot index of p inside s (p must be inside the span's pages). */
static inline uint32_t mr__slot_of(const mr_span *s, uintptr_t p)
{
    if (s->sizeclass == 0) return 0;
    return (uint32_t)(((uint64_t)(p - s->base) * s->divmul) >> 32);
}

/* Address of slot i: the object itself. */
static inline uintptr_t mr__slot_addr(const mr_span *s, uint32_t i)
{
    return s->base + (uintptr_t)i * s->elemsize;
}

/* Bytes of one slot: the object's size as the allocator reserved it. */
static inline size_t mr__slot_bytes(const mr_span *s)
{
    return s->sizeclass ? s->elemsize : s->npages * MR_PAGE_SIZE;
}

static inline bool mr__bit(const uint64_t *bits, uint32_t i)
{
    return (bits[i >> 6] >> (i & 63)) & 1;
}

/* The tagged type of s's objects. */
static inline uintptr_t mr__span_tt(const mr_span *s)
{
    return (uintptr_t)s->type | (s->array ? MR_TYPE_ARRAY_BIT : 0);
}

/* Element count of an object of s: 1, or for arrays as many as fit. */
static inline size_t mr__span_count(const mr_span *s)
{
    if (!s->array) return 1;
    return mr__slot_bytes(s) / (s->type->size ? s->type->size : 1);
}

/*
 * Per-thread allocation cache: one current span per (size class, tagged
 * type), direct-mapped by a hash of the key; a collision hands the older
 * span back to its central. key = tagged type | class << 56 (user-space
 * pointers are below 2^56), 0 = empty.
 */
#define MR_TCACHE_WAYS 128
typedef struct mr_tcache {
    struct {
        uintptr_t key;
        mr_span *span;
    } e[MR_TCACHE_WAYS];
} mr_tcache;

/* The way of the cache that holds key's span. */
static inline size_t mr__tcache_way(uintptr_t key)
{
    return (size_t)((key * 0x9e3779b97f4a7c15u) >> 57) & (MR_TCACHE_WAYS - 1);
}

void mr__heap_init(void);

/* mr_new and mr_new_array for a map's own objects (header, buckets,
 * overflow buckets, indirect keys and values): charged to caller, the
 * program's call of the map operation (see "entry points" in internal.h),
 * and sampled as a map's allocation. */
void *mr__map_new(const mr_type *t, uintptr_t caller);
void *mr__map_new_array(const mr_type *elem, size_t n, uintptr_t caller);

/* Gives every cached span back (world stopped, or the thread is exiting). */
void mr__tcache_release(mr_tcache *tc);

/* ---- for the collector (world stopped) ---- */

/* Every span ever made, in use or free; n is its length. */
extern mr_span **mr__all_spans;
extern size_t mr__nspans;

/* Held by the background sweeper while it sweeps, and by whoever stops
 * the world while it is stopped: a stopped world is not swept under it. */
extern pthread_mutex_t mr__sweep_lock;

/* After marking, world stopped: packs every span's mark bytes into its
 * mark bits (the walk API reads the bits); returns the marked bytes and
 * objects. */
void mr__pack_marks(uint64_t *live_bytes, uint64_t *live_objects);

/* Ends a collection's pause, world stopped, marks packed: reports the
 * deaths of sampled objects to free_hook and makes every span unswept. */
void mr__sweep_start(void (*free_hook)(void *ud, void *obj, size_t size), void *ud);

/* Sweeps every unswept span now (sweep termination, world stopped, or a
 * mutator finishing the sweep of a collection it asked for). A mutator
 * passes poll = true: it stops at safepoints between batches. */
void mr__sweep_finish(uintptr_t caller);

/* Wakes the background sweeper after a collection. */
void mr__sweep_background(void);

/* fork: the prepare step takes the sweep and heap locks, so that no sweep
 * batch or allocation is half done in the copy; the after step releases
 * them (child: the sweeper thread did not come along, and none is
 * started there: allocation sweeps). */
void mr__heap_fork_prepare(void);
void mr__heap_fork_after(bool child);

/* Objects and bytes freed by sweeps since the program started. */
void mr__heap_freed(uint64_t *objects, uint64_t *bytes);

/* Calls fn for every allocated object of type t (not arrays of it), world
 * stopped: spans are typed, so this walks t's spans only, not the heap. */
void mr__walk_type(const mr_type *t, void (*fn)(void *obj, void *ud), void *ud);

/* Flags obj as sampled (so the sweep reports its death). */
void mr__set_sampled(void *obj);

/* Bytes the heap has taken from the OS, and bytes in spans with objects. */
void mr__heap_sizes(uint64_t *sys, uint64_t *inuse);

#endif
