/*
 * src/rt/heap.h -- the size-class allocator: arena, page map, spans.
 *
 * The heap is one large reservation of address space (the arena) cut into
 * 8 KiB pages. A span is a run of pages that holds objects of one size class
 * (or one large object). Every page maps back to its span through the page
 * map, so "which object contains this address" is a shift, a load and a
 * multiply: the collector asks it for every pointer it sees.
 *
 * Per span we keep bitmaps beside (not inside) the objects:
 *   alloc   the slot holds an allocated object
 *   mark    the object was reached in the current collection (while marking
 *           it is kept as one byte per slot, packed into bits at the end)
 *   sample  the profiler sampled this object (on_free is due when it dies)
 * Each slot starts with a header word, the object's type (tagged for arrays),
 * followed by the object itself: the collector reads the type from the same
 * cache line as the fields it is about to scan. Objects without pointers live
 * in "noscan" spans of their own, so marking them never touches their memory.
 *
 * Invariants: between collections, alloc is the set of objects that are
 * live-or-not-yet-collected; after the sweep alloc == mark of that cycle.
 * A span is on at most one of: a thread's cache, its class's partial list,
 * nothing (full). Only the collector (world stopped) touches spans that are
 * not in the calling thread's cache, except under heap_lock.
 */
#ifndef MR_RT_HEAP_H
#define MR_RT_HEAP_H

#include "rt/internal.h"

#include <pthread.h>

#define MR_PAGE_SHIFT 13
#define MR_PAGE_SIZE ((size_t)1 << MR_PAGE_SHIFT)
#define MR_MAX_SMALL 32768 /* larger objects get a span of their own */
#define MR_NUM_CLASSES 68  /* class 0 means "large object" */

/* The header word of a slot: the type pointer; the low bit marks an array
 * whose elements are of that type. */
#define MR_TYPE_ARRAY_BIT ((uintptr_t)1)
#define MR_HDR ((size_t)8)

typedef struct mr_span {
    /* Hot while marking: kept together in the first cache line. */
    uintptr_t base;     /* address of the first slot */
    uint8_t *markbytes; /* while marking: one byte per slot (see mark.c) */
    uint64_t *markbits;
    uint64_t *allocbits;
    uint32_t divmul;   /* (offset * divmul) >> 32 == offset / elemsize */
    uint32_t elemsize; /* bytes per slot (large: 0, see mr__slot_bytes) */
    uint32_t nelems;
    uint8_t sizeclass; /* 0 = large */
    uint8_t in_use;    /* holds objects (else: free pages) */
    uint8_t noscan;    /* its objects hold no pointers */
    uint8_t needzero;  /* slots may hold old bytes: zero on allocation */
    /* The rest. */
    uint64_t *samplebits;
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

/* Address of slot i (its header word; the object starts MR_HDR later). */
static inline uintptr_t mr__slot_addr(const mr_span *s, uint32_t i)
{
    return s->base + (uintptr_t)i * s->elemsize;
}

/* Bytes of one slot, header included. */
static inline size_t mr__slot_bytes(const mr_span *s)
{
    return s->sizeclass ? s->elemsize : s->npages * MR_PAGE_SIZE;
}

static inline bool mr__bit(const uint64_t *bits, uint32_t i)
{
    return (bits[i >> 6] >> (i & 63)) & 1;
}

/* Per-thread allocation cache: one current span per size class and scan
 * kind, at index class * 2 + noscan. */
typedef struct mr_tcache {
    mr_span *spans[MR_NUM_CLASSES * 2];
} mr_tcache;

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

/* Clears the mark bytes of every in-use span, before marking. */
void mr__clear_marks(void);

/* Packs the mark bytes of every in-use span into its mark bits, after
 * marking: the rest of the runtime reads the bits. */
void mr__pack_marks(void);

/* Frees unmarked objects, calling free_hook for sampled ones; rebuilds the
 * partial lists; returns live bytes and objects. */
void mr__sweep(void (*free_hook)(void *ud, void *obj, size_t size), void *ud, uint64_t *live_bytes,
               uint64_t *live_objects, uint64_t *freed_objects, uint64_t *freed_bytes);

/* Flags obj as sampled (so the sweep reports its death). */
void mr__set_sampled(void *obj);

/* Bytes the heap has taken from the OS, and bytes in spans with objects. */
void mr__heap_sizes(uint64_t *sys, uint64_t *inuse);

#endif
