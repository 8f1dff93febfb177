/*
 * src/rt/heap.c -- the size-class allocator and the sweep (see heap.h for
 * the design).
 *
 * Allocation fast path: the thread's cached span for the (size class, type)
 * hands out its next free slot (a scan of the alloc bitmap from freeindex),
 * with no lock and no atomic read-modify-write. When the span is full the
 * slow path takes a swept span with free slots from the pair's central,
 * sweeps the pair's unswept spans until one has room, or cuts a new span
 * from the page heap, under heap_lock; it is also where the pacer may start
 * a collection, since it runs once per span rather than once per object.
 */
#include "rt/heap.h"
#include "rt/thread.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_MAX ((size_t)64 << 30) /* address space reserved when the system allows */
#define ARENA_MIN ((size_t)1 << 30)
static size_t arena_bytes; /* what was reserved */

mr_size_class mr__classes[MR_NUM_CLASSES];
static int nclasses;                                 /* classes in use, 1..nclasses-1 */
static uint8_t class_by_8[1024 / 8 + 1];             /* sizes <= 1024 */
static uint8_t class_by_128[MR_MAX_SMALL / 128 + 1]; /* sizes <= 32 KiB */

uintptr_t mr__arena_lo, mr__arena_hi;
mr_span **mr__pagemap;
static uintptr_t arena_used; /* bump pointer: pages below it were handed out once */

mr_span **mr__all_spans;
size_t mr__nspans;
static size_t cap_spans;

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t mr__sweep_lock = PTHREAD_MUTEX_INITIALIZER;
static mr_span *free_runs;     /* free page runs (in_use == 0, npages > 0) */
static mr_span *spare_structs; /* span records with no pages */

/*
 * The spans of one (size class, tagged type) pair that are in no thread's
 * cache, in four lists: with free slots or full, swept or not. Which index
 * is "swept" alternates per collection (swept_idx), so that mark
 * termination makes every span unswept by flipping one bit. Under heap_lock.
 */
typedef struct mr_central {
    uintptr_t key; /* tagged type | class << 56, as in the thread caches */
    mr_span *partial[2], *full[2];
    struct mr_central *hnext; /* hash chain */
} mr_central;

static unsigned swept_idx;                 /* lists [swept_idx] are swept, the others not */
static mr_central **centrals;              /* every central, in creation order */
static size_t ncentrals, cap_centrals;     /* ... */
static mr_central **central_hash;          /* by key; cap_centrals_hash entries */
static size_t cap_central_hash;            /* a power of two */
static mr_span *large[2];                  /* large spans, swept and not, by the same index */
static size_t sweep_cursor;                /* centrals below it have no unswept span */
static atomic_size_t unswept_spans;        /* spans on the unswept lists */
static atomic_uint_fast64_t freed_objects; /* by every sweep so far */
static atomic_uint_fast64_t freed_bytes;
static pthread_cond_t sweep_cond = PTHREAD_COND_INITIALIZER; /* unswept spans appeared */
static bool sweeper_started;
/* The sweeper has entered sweeper_main: its thread's start-up (in which a
 * sanitizer's runtime allocates, outside every lock of ours) is over. */
static bool sweeper_up;
static pthread_cond_t sweeper_up_cond = PTHREAD_COND_INITIALIZER;

/* The pacer's view of the heap (see heap.h). */
atomic_uint_fast64_t mr__heap_live_estimate;
atomic_uint_fast64_t mr__next_gc;
void mr__maybe_gc(uintptr_t caller); /* gc.c */

/* ---------------------------------------------------------- size classes -- */

/*
 * Builds the size classes: multiples of 8 up to 64, of 16 up to 256, then
 * steps of about 1/8 of the size (rounded to 64 bytes) up to 32 KiB. Each
 * class gets the smallest span (1..8 pages) whose tail waste is under 1/8,
 * so internal fragmentation stays bounded like Go's table.
 */
static void init_classes(void)
{
    uint32_t size = 8;
    nclasses = 1;
    while (size <= MR_MAX_SMALL && nclasses < MR_NUM_CLASSES) {
        uint32_t pages = 1;
        while (pages < 8) {
            size_t span = pages * MR_PAGE_SIZE;
            if (span >= size && (span % size) * 8 <= span) break;
            pages++;
        }
        while (pages * MR_PAGE_SIZE < size) pages++;
        mr__classes[nclasses].size = size;
        mr__classes[nclasses].npages = pages;
        nclasses++;
        uint32_t step = size < 64 ? 8 : size < 256 ? 16 : ((size / 8) + 63) & ~63u;
        size += step;
    }
    if (mr__classes[nclasses - 1].size < MR_MAX_SMALL) {
        mr__classes[nclasses].size = MR_MAX_SMALL;
        mr__classes[nclasses].npages = MR_MAX_SMALL / MR_PAGE_SIZE;
        nclasses++;
    }
    int c = 1;
    for (uint32_t i = 0; i <= 1024 / 8; i++) {
        while (mr__classes[c].size < i * 8) c++;
        class_by_8[i] = (uint8_t)c;
    }
    c = 1;
    for (uint32_t i = 0; i <= MR_MAX_SMALL / 128; i++) {
        while (mr__classes[c].size < i * 128) c++;
        class_by_128[i] = (uint8_t)c;
    }
}

static inline int size_class_of(size_t size)
{
    if (size <= 1024) return class_by_8[(size + 7) >> 3];
    return class_by_128[(size + 127) >> 7];
}

void mr__walk_type(const mr_type *t, void (*fn)(void *obj, void *ud), void *ud)
{
    for (size_t k = 0; k < mr__nspans; k++) {
        mr_span *s = mr__all_spans[k];
        if (!s->in_use || s->type != t || s->array) continue;
        for (uint32_t w = 0; w < s->nwords; w++)
            for (uint64_t b = s->allocbits[w]; b; b &= b - 1)
                fn((void *)mr__slot_addr(s, (w << 6) + (uint32_t)__builtin_ctzll(b)), ud);
    }
}

static void init_popcnt(void);

void mr__heap_init(void)
{
    init_classes();
    init_popcnt();
    /* Less when the address space is limited (ulimit -v, valgrind). */
    void *a = MAP_FAILED;
    for (arena_bytes = ARENA_MAX; a == MAP_FAILED && arena_bytes >= ARENA_MIN; arena_bytes /= 2)
        a = mmap(NULL, arena_bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    arena_bytes *= 2; /* undo the last halving */
    if (a == MAP_FAILED)
        mr__throw("cannot reserve %zu bytes for the heap: %s", ARENA_MIN, strerror(errno));
    /* Align the arena to a page so that page numbers are a shift away. */
    mr__arena_lo = ((uintptr_t)a + MR_PAGE_SIZE - 1) & ~(uintptr_t)(MR_PAGE_SIZE - 1);
    mr__arena_hi = (uintptr_t)a + arena_bytes - MR_PAGE_SIZE;
    /* Not advised huge pages (MADV_HUGEPAGE), as Go's runtime has not
     * advised its heap since 1.21.4 (the advice can stall an allocation
     * for long: golang/go#61718). On a virtual machine whose host takes
     * free guest memory back, a fresh huge page costs about eight times
     * what 2 MiB of small pages cost to fault in: a heap growing by 450
     * MiB took 2.1 s of system time against 0.15 s without, while marking
     * and map operations on the grown heap ran no faster with them. */
    arena_used = mr__arena_lo;
    size_t npages = (mr__arena_hi - mr__arena_lo) >> MR_PAGE_SHIFT;
    mr__pagemap = mmap(NULL, npages * sizeof(mr_span *), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mr__pagemap == MAP_FAILED) mr__throw("cannot reserve the page map: %s", strerror(errno));
}

/* ------------------------------------------------------------- page heap -- */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) mr__throw("out of memory (runtime metadata of %zu x %zu bytes)", n, size);
    return p;
}

static mr_span *new_span_struct(void)
{
    mr_span *s = spare_structs;
    if (s) {
        spare_structs = s->next;
        uint32_t index = s->index;
        memset(s, 0, sizeof *s);
        s->index = index;
        return s;
    }
    if (mr__nspans == cap_spans) {
        cap_spans = cap_spans ? cap_spans * 2 : 1024;
        mr__all_spans = realloc(mr__all_spans, cap_spans * sizeof *mr__all_spans);
        if (!mr__all_spans) mr__throw("out of memory (span table)");
    }
    s = xcalloc(1, sizeof *s);
    s->index = (uint32_t)mr__nspans;
    mr__all_spans[mr__nspans++] = s;
    return s;
}

/* Maps npages pages from base to value. */
static void set_pagemap_range(uintptr_t base, size_t npages, mr_span *value)
{
    size_t first = (base - mr__arena_lo) >> MR_PAGE_SHIFT;
    for (size_t i = 0; i < npages; i++) mr__pagemap[first + i] = value;
}

static void set_pagemap(mr_span *s, mr_span *value)
{
    set_pagemap_range(s->base, s->npages, value);
}

/* Span lists are doubly linked and each span knows its list's head. */
static void list_remove(mr_span *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *s->list = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->list = NULL;
}

static void list_push(mr_span **head, mr_span *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head) (*head)->prev = s;
    *head = s;
    s->list = head;
}

static size_t sweep_batch(size_t max);

/* Best fit among the free runs for npages, or NULL. */
static mr_span *best_free_run(size_t npages)
{
    mr_span *best = NULL;
    for (mr_span *r = free_runs; r; r = r->next) {
        if (r->npages >= npages && (!best || r->npages < best->npages)) {
            best = r;
            if (r->npages == npages) break;
        }
    }
    return best;
}

/*
 * Takes npages contiguous pages: best fit among the free runs (the run's
 * first pages; the rest keeps the run's record and its pages' map entries,
 * which still name that record -- a collection that emptied the heap
 * leaves one long run, cut a span at a time, and remapping the rest at
 * every cut would be quadratic), else -- after sweeping a little, which
 * may free runs, so the heap does not grow while garbage waits to be
 * swept -- fresh pages from the
 * arena. Fresh pages are zero; reused ones are flagged needzero. Caller
 * holds heap_lock.
 */
static mr_span *alloc_pages(size_t npages)
{
    mr_span *best = best_free_run(npages);
    while (!best && atomic_load_explicit(&unswept_spans, memory_order_relaxed)) {
        sweep_batch(16);
        best = best_free_run(npages);
    }
    if (best) {
        if (best->npages > npages) {
            /* The caller maps the new span's pages (init_span_metadata). */
            mr_span *s = new_span_struct();
            s->base = best->base;
            best->base += npages * MR_PAGE_SIZE;
            best->npages -= npages;
            s->npages = npages;
            s->needzero = 1;
            return s;
        }
        list_remove(best);
        best->needzero = 1;
        return best;
    }
    size_t bytes = npages * MR_PAGE_SIZE;
    if (arena_used + bytes > mr__arena_hi || arena_used + bytes < arena_used)
        mr__throw("out of memory: the %zu GiB heap arena is exhausted", arena_bytes >> 30);
    mr_span *s = new_span_struct();
    s->base = arena_used;
    s->npages = npages;
    s->needzero = 0;
    arena_used += bytes;
    return s;
}

/*
 * Returns a span's pages to the free runs, merging with free neighbours so
 * that large objects can reuse them. Only pages that change hands are
 * mapped again (a run grown page by page stays linear). The span is on no
 * list. Caller holds heap_lock.
 */
static void free_pages(mr_span *s)
{
    free(s->allocbits); /* one block holds all the bitmaps */
    s->allocbits = s->markbits = s->samplebits = NULL;
    s->markbytes = NULL;
    s->in_use = 0;
    s->sizeclass = 0;
    s->cached = 0;
    s->type = NULL;
    s->central = NULL;
    s->needzero = 1;
    uintptr_t end = s->base + s->npages * MR_PAGE_SIZE;
    mr_span *after = end < arena_used ? mr__pagemap[(end - mr__arena_lo) >> MR_PAGE_SHIFT] : NULL;
    size_t own = s->npages; /* pages still mapped to s */
    if (after && !after->in_use && after->npages) {
        list_remove(after);
        s->npages += after->npages;
        after->npages = 0;
        after->next = spare_structs;
        spare_structs = after;
    }
    mr_span *before = s->base > mr__arena_lo
                          ? mr__pagemap[(s->base - MR_PAGE_SIZE - mr__arena_lo) >> MR_PAGE_SHIFT]
                          : NULL;
    mr_span *owner = s;
    if (before && !before->in_use && before->npages) {
        owner = before; /* stays on the free runs, its pages mapped to it */
        before->npages += s->npages;
        own = 0;
    }
    set_pagemap_range(s->base + own * MR_PAGE_SIZE, s->npages - own, owner);
    if (owner != s) {
        s->npages = 0;
        s->next = spare_structs;
        spare_structs = s;
    } else {
        list_push(&free_runs, s);
    }
}

/* Gives a span of pages its type and bitmaps (one allocation). */
static void init_span_metadata(mr_span *s, int cls, size_t elemsize, uintptr_t tt)
{
    size_t bytes = s->npages * MR_PAGE_SIZE;
    s->type = (const mr_type *)(tt & ~MR_TYPE_ARRAY_BIT);
    s->array = (tt & MR_TYPE_ARRAY_BIT) != 0;
    s->sizeclass = (uint8_t)cls;
    s->elemsize = (uint32_t)(cls ? elemsize : 0);
    s->nelems = cls ? (uint32_t)(bytes / elemsize) : 1;
    s->divmul = cls ? (uint32_t)(UINT32_MAX / (uint32_t)elemsize + 1) : 0;
    s->nwords = (s->nelems + 63) / 64;
    /* One block: three bitmaps, then a mark byte per slot (a whole number
     * of bitmap words' worth, so packing never reads past the end). */
    size_t words = (size_t)s->nwords * 3 + (size_t)s->nwords * 8;
    uint64_t *block = xcalloc(words, sizeof(uint64_t));
    s->allocbits = block;
    s->markbits = block + s->nwords;
    s->samplebits = block + 2 * (size_t)s->nwords;
    s->markbytes = (uint8_t *)(block + 3 * (size_t)s->nwords);
    s->freeindex = 0;
    s->nalloc = 0;
    s->has_samples = 0;
    s->noscan = s->type->nptrs == 0;
    s->in_use = 1;
    set_pagemap(s, s);
}

/* -------------------------------------------------------------- centrals -- */

static inline size_t key_hash(uintptr_t key)
{
    return (size_t)((key * 0x9e3779b97f4a7c15u) >> 32);
}

/* The central of a (class, tagged type) key, made on first use. Caller holds
 * heap_lock. */
static mr_central *central_of(uintptr_t key)
{
    if (cap_central_hash) {
        for (mr_central *c = central_hash[key_hash(key) & (cap_central_hash - 1)]; c; c = c->hnext)
            if (c->key == key) return c;
    }
    if (ncentrals == cap_centrals) {
        cap_centrals = cap_centrals ? cap_centrals * 2 : 64;
        mr_central **a = realloc(centrals, cap_centrals * sizeof *a);
        if (!a) mr__throw("out of memory (span centrals)");
        centrals = a;
    }
    if (ncentrals * 2 >= cap_central_hash) { /* rehash at half load */
        size_t cap = cap_central_hash ? cap_central_hash * 2 : 128;
        mr_central **h = xcalloc(cap, sizeof *h);
        for (size_t i = 0; i < ncentrals; i++) {
            mr_central *c = centrals[i];
            size_t b = key_hash(c->key) & (cap - 1);
            c->hnext = h[b];
            h[b] = c;
        }
        free(central_hash);
        central_hash = h;
        cap_central_hash = cap;
    }
    mr_central *c = xcalloc(1, sizeof *c);
    c->key = key;
    size_t b = key_hash(key) & (cap_central_hash - 1);
    c->hnext = central_hash[b];
    central_hash[b] = c;
    centrals[ncentrals++] = c;
    return c;
}

/* Puts a swept span that no thread caches on its swept list. */
static void put_swept(mr_span *s)
{
    if (!s->central)
        list_push(&large[swept_idx], s);
    else if (s->nalloc == s->nelems)
        list_push(&s->central->full[swept_idx], s);
    else
        list_push(&s->central->partial[swept_idx], s);
}

/* ------------------------------------------------------- bit counting -- */

/*
 * The word loops that count bits: the sweep's, mark termination's and a
 * span leaving a thread's cache. Built for a baseline x86-64,
 * __builtin_popcountll is a call into libgcc per word; so on x86 each loop
 * is compiled twice, once with the POPCNT instruction, and the copy is
 * chosen at startup from what the CPU has (init_popcnt). Each loop is
 * written once, as an always-inline body that both copies expand.
 */
#define BODY static inline __attribute__((always_inline))
#if defined(__x86_64__) || defined(__i386__)
#define HAVE_POPCNT_COPY 1
#define POPCNT_COPY __attribute__((target("popcnt"), noinline))
#else
#define HAVE_POPCNT_COPY 0
#endif
#define PLAIN_COPY __attribute__((noinline))

/* Set once, before the first collection: the CPU has POPCNT. */
static bool use_popcnt;

static void init_popcnt(void)
{
#if HAVE_POPCNT_COPY
    __builtin_cpu_init();
    use_popcnt = __builtin_cpu_supports("popcnt");
#endif
}

/* Defines NAME(ARGS) returning RET from the body NAME_body: the plain copy,
 * the POPCNT copy, and the dispatch between them. */
#if HAVE_POPCNT_COPY
#define COUNTING_LOOP(RET, NAME, PARAMS, ARGS)                                                     \
    static PLAIN_COPY RET NAME##_plain PARAMS                                                      \
    {                                                                                              \
        return NAME##_body ARGS;                                                                   \
    }                                                                                              \
    static POPCNT_COPY RET NAME##_popcnt PARAMS                                                    \
    {                                                                                              \
        return NAME##_body ARGS;                                                                   \
    }                                                                                              \
    static RET NAME PARAMS                                                                         \
    {                                                                                              \
        return use_popcnt ? NAME##_popcnt ARGS : NAME##_plain ARGS;                                \
    }
#else
#define COUNTING_LOOP(RET, NAME, PARAMS, ARGS)                                                     \
    static RET NAME PARAMS                                                                         \
    {                                                                                              \
        return NAME##_body ARGS;                                                                   \
    }
#endif

/* Bits set in words[0 .. n). */
BODY uint32_t count_bits_body(const uint64_t *words, uint32_t n)
{
    uint32_t c = 0;
    for (uint32_t w = 0; w < n; w++) c += (uint32_t)__builtin_popcountll(words[w]);
    return c;
}
COUNTING_LOOP(uint32_t, count_bits, (const uint64_t *words, uint32_t n), (words, n))

/* The sweep's bitmap pass: alloc := mark & alloc; returns the objects kept
 * and sets *dead to those freed. */
BODY uint32_t sweep_bits_body(mr_span *s, uint32_t *dead)
{
    uint32_t l = 0, d = 0;
    for (uint32_t w = 0; w < s->nwords; w++) {
        uint64_t a = s->allocbits[w], m = s->markbits[w] & a;
        l += (uint32_t)__builtin_popcountll(m);
        d += (uint32_t)__builtin_popcountll(a & ~m);
        /* Readers of other slots' bits (mr_object_type) may run meanwhile. */
        __atomic_store_n(&s->allocbits[w], m, __ATOMIC_RELAXED);
    }
    *dead = d;
    return l;
}
COUNTING_LOOP(uint32_t, sweep_bits, (mr_span * s, uint32_t *dead), (s, dead))

/*
 * Eight mark bytes (each 0 or 1) to eight bits: the multiplier sends byte k's
 * low bit to bit 56 + k, and no two partial products overlap, so nothing
 * carries into the top byte.
 */
static inline uint64_t pack8(const uint8_t *b)
{
    uint64_t x;
    memcpy(&x, b, 8);
    return (x * 0x0102040810204080ULL) >> 56;
}

/* Packs s's mark bytes into its mark bits; returns the marked objects. */
BODY uint32_t pack_span_body(mr_span *s)
{
    uint32_t live = 0;
    for (uint32_t w = 0; w < s->nwords; w++) {
        const uint8_t *b = s->markbytes + (size_t)w * 64;
        uint64_t bits = 0;
        for (int g = 0; g < 8; g++) bits |= pack8(b + g * 8) << (g * 8);
        s->markbits[w] = bits;
        live += (uint32_t)__builtin_popcountll(bits);
    }
    return live;
}
COUNTING_LOOP(uint32_t, pack_span, (mr_span * s), (s))

/* ----------------------------------------------------------------- sweep -- */

/*
 * Sweeps one unswept span: it keeps exactly its marked objects, its mark
 * bytes are cleared for the next cycle, and it moves to a swept list, or
 * its pages are freed if nothing in it survived. Caller holds heap_lock.
 * Returns false if the span was freed.
 */
static bool sweep_span(mr_span *s)
{
    list_remove(s);
    atomic_fetch_sub_explicit(&unswept_spans, 1, memory_order_relaxed);
    uint32_t dead, live = sweep_bits(s, &dead);
    memset(s->markbytes, 0, (size_t)s->nwords * 64);
    if (dead) {
        atomic_fetch_add_explicit(&freed_objects, dead, memory_order_relaxed);
        atomic_fetch_add_explicit(&freed_bytes, (uint64_t)dead * mr__slot_bytes(s),
                                  memory_order_relaxed);
        s->needzero = 1;
    }
    s->nalloc = live;
    s->freeindex = 0;
    if (live == 0) {
        free_pages(s);
        return false;
    }
    put_swept(s);
    return true;
}

/* Sweeps up to max unswept spans, central by central, then the large ones;
 * returns how many it swept. Caller holds heap_lock. */
static size_t sweep_batch(size_t max)
{
    size_t done = 0;
    unsigned u = swept_idx ^ 1;
    while (done < max && atomic_load_explicit(&unswept_spans, memory_order_relaxed)) {
        mr_span *s;
        if (sweep_cursor < ncentrals) {
            mr_central *c = centrals[sweep_cursor];
            s = c->partial[u] ? c->partial[u] : c->full[u];
            if (!s) {
                sweep_cursor++;
                continue;
            }
        } else {
            s = large[u];
            if (!s)
                mr__throw("sweep: %zu spans counted unswept, none found", (size_t)unswept_spans);
        }
        sweep_span(s);
        done++;
    }
    return done;
}

/*
 * The background sweeper (Go's bgsweep): sweeps in small batches after each
 * collection, so that neither the pause nor the allocating threads carry
 * the sweep. It holds mr__sweep_lock while it works or checks for work, so a
 * stopped world (which holds it too) never has a sweep under way.
 */
static void *sweeper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mr__sweep_lock);
    sweeper_up = true;
    pthread_cond_broadcast(&sweeper_up_cond);
    for (;;) {
        while (!atomic_load_explicit(&unswept_spans, memory_order_relaxed))
            pthread_cond_wait(&sweep_cond, &mr__sweep_lock);
        pthread_mutex_lock(&heap_lock);
        sweep_batch(32);
        pthread_mutex_unlock(&heap_lock);
        /* Let a collector that waits for the lock have it between batches. */
        pthread_mutex_unlock(&mr__sweep_lock);
        pthread_mutex_lock(&mr__sweep_lock);
    }
    return NULL;
}

void mr__sweep_background(void)
{
    pthread_mutex_lock(&mr__sweep_lock);
    if (!sweeper_started) {
        sweeper_started = true;
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* Without the thread the sweep still happens, on allocation.
         * With it, wait until it runs: a thread's start-up allocates in
         * the C library and, in a sanitizer's build, in an allocator that
         * fork does not lock, so a snapshot writer forked meanwhile could
         * wait for ever in its first allocation. */
        if (pthread_create(&th, &attr, sweeper_main, NULL) == 0)
            while (!sweeper_up) pthread_cond_wait(&sweeper_up_cond, &mr__sweep_lock);
        pthread_attr_destroy(&attr);
    }
    pthread_cond_signal(&sweep_cond);
    pthread_mutex_unlock(&mr__sweep_lock);
}

void mr__heap_fork_prepare(void)
{
    pthread_mutex_lock(&mr__sweep_lock);
    pthread_mutex_lock(&heap_lock);
}

void mr__heap_fork_after(bool child)
{
    if (child) {
        /* its thread stayed in the parent, and none is started in a
         * forked child (which may only be about to write and exit): the
         * sweep happens on allocation. No one waits on the condition in
         * the copy, whose state still counts that waiter. */
        sweeper_started = true;
        pthread_cond_init(&sweep_cond, NULL);
    }
    pthread_mutex_unlock(&heap_lock);
    pthread_mutex_unlock(&mr__sweep_lock);
}

void mr__sweep_finish(uintptr_t caller)
{
    for (;;) {
        pthread_mutex_lock(&heap_lock);
        sweep_batch(64);
        size_t left = atomic_load_explicit(&unswept_spans, memory_order_relaxed);
        pthread_mutex_unlock(&heap_lock);
        if (!left) return;
        if (caller) mr__poll(caller);
    }
}

void mr__heap_freed(uint64_t *objects, uint64_t *bytes)
{
    *objects = atomic_load(&freed_objects);
    *bytes = atomic_load(&freed_bytes);
}

/* ------------------------------------------------------------- allocation -- */

/* The next free slot of s at or after freeindex, marked allocated; 0 if full. */
static inline uintptr_t span_take(mr_span *s)
{
    uint32_t i = s->freeindex;
    while (i < s->nelems) {
        uint32_t w = i >> 6;
        uint64_t a = s->allocbits[w];
        uint64_t freebits = ~a & (~(uint64_t)0 << (i & 63));
        if (freebits) {
            i = (w << 6) + (uint32_t)__builtin_ctzll(freebits);
            if (i >= s->nelems) break;
            __atomic_store_n(&s->allocbits[w], a | (uint64_t)1 << (i & 63), __ATOMIC_RELAXED);
            s->freeindex = i + 1;
            return mr__slot_addr(s, i);
        }
        i = (w + 1) << 6;
    }
    s->freeindex = s->nelems;
    return 0;
}

extern const mr_hooks *mr__hooks_active; /* gc.c: NULL when no hooks are installed */
void mr__sample_alloc(mr_thread *t, void *obj, size_t size, const mr_type *type, uintptr_t caller,
                      bool map);

/*
 * Zeroes a small slot (n <= 256, a multiple of 8) with inline stores: for
 * the sizes most objects have, a call into the C library's memset costs
 * more than the stores. The pointer goes through an empty asm statement
 * so that the compiler cannot see the loop as a memset and call it after all.
 */
typedef uint64_t zero_vec __attribute__((vector_size(16), aligned(8), may_alias));
typedef uint64_t zero_word __attribute__((aligned(8), may_alias));
static inline void zero_small(void *p, size_t n)
{
    assert(n <= 256 && n % 8 == 0);
    char *q = p, *end = q + (n & ~(size_t)15);
    for (; q < end; q += 16) {
        *(zero_vec *)q = (zero_vec){0, 0};
        __asm__("" : "+r"(q));
    }
    if (n & 8) *(zero_word *)q = 0;
}

/*
 * The per-object bookkeeping shared by the fast and slow paths: zeroes
 * reused memory, counts, and samples. caller: the program's call (see
 * "entry points" in internal.h) and map whether it was a map operation's,
 * for the sample.
 */
static inline void *finish_alloc(mr_thread *t, mr_span *s, uintptr_t slot, size_t slot_bytes,
                                 uintptr_t caller, bool map)
{
    void *obj = (void *)slot;
    if (s->needzero) {
        if (slot_bytes <= 256)
            zero_small(obj, slot_bytes);
        else
            memset(obj, 0, slot_bytes);
    }
    atomic_store_explicit(&t->mallocs, atomic_load_explicit(&t->mallocs, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&t->alloc_bytes,
                          atomic_load_explicit(&t->alloc_bytes, memory_order_relaxed) + slot_bytes,
                          memory_order_relaxed);
    if (MR_UNLIKELY(mr__hooks_active != NULL)) {
        t->sample_left -= (int64_t)slot_bytes;
        if (t->sample_left < 0) mr__sample_alloc(t, obj, slot_bytes, s->type, caller, map);
    }
    return obj;
}

/*
 * A large object: a span of its own, zeroed. The pacer sees its bytes at once.
 */
static void *alloc_large(mr_thread *t, size_t bytes, uintptr_t tt, uintptr_t caller, bool map)
{
    if (bytes > arena_bytes) mr__throw("out of memory: allocation of %zu bytes", bytes);
    size_t npages = (bytes + MR_PAGE_SIZE - 1) >> MR_PAGE_SHIFT;
    atomic_fetch_add(&mr__heap_live_estimate, npages * MR_PAGE_SIZE);
    mr__maybe_gc(caller);
    pthread_mutex_lock(&heap_lock);
    mr_span *s = alloc_pages(npages);
    bool needzero = s->needzero;
    init_span_metadata(s, 0, bytes, tt);
    s->allocbits[0] = 1;
    s->nalloc = 1;
    s->needzero = 0;
    list_push(&large[swept_idx], s);
    pthread_mutex_unlock(&heap_lock);
    if (needzero) memset((void *)s->base, 0, npages * MR_PAGE_SIZE);
    return finish_alloc(t, s, s->base, npages * MR_PAGE_SIZE, caller, map);
}

/*
 * Hands a cached span back to its central's swept lists, with its nalloc
 * counted. The pacer was told of every free slot of the span when it was
 * cached (alloc_refill); the slots still free go back, so their bytes leave
 * the estimate again (as Go's mcache does on release). Otherwise two keys
 * that share a way and take turns, each refill handing back an almost empty
 * span, would count a span's worth per allocation and collect far before
 * the goal. Caller holds heap_lock.
 */
static void uncache(mr_span *s)
{
    uint32_t n = count_bits(s->allocbits, s->nwords);
    uint64_t unused = (uint64_t)(s->nelems - n) * s->elemsize;
    /* A collection resets the estimate only after emptying every cache, so
     * what was counted for this span is still in it; saturate anyway: a
     * wrapped estimate would collect at every allocation. */
    uint_fast64_t est = atomic_load_explicit(&mr__heap_live_estimate, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&mr__heap_live_estimate, &est,
                                                  est > unused ? est - unused : 0,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    s->nalloc = n;
    s->cached = 0;
    put_swept(s);
}

/*
 * A span of the central with a free slot: a swept one, else one of its
 * unswept spans after sweeping it (Go's mcentral.cacheSpan), else NULL.
 * Caller holds heap_lock.
 */
static mr_span *central_take(mr_central *c)
{
    mr_span *s = c->partial[swept_idx];
    for (int budget = 128; !s && budget > 0; budget--) {
        unsigned u = swept_idx ^ 1;
        mr_span *v = c->partial[u] ? c->partial[u] : c->full[u];
        if (!v) break;
        if (sweep_span(v) && v->list == &c->partial[swept_idx]) s = v;
    }
    if (s) list_remove(s);
    return s;
}

/*
 * The slow path of a small allocation: the cached span of the (class, type)
 * is full or missing. Lets the pacer run a collection if the heap has grown
 * past its goal, hands back the span cached in the way, then caches a span
 * with free slots.
 */
static void *alloc_refill(mr_thread *t, uintptr_t key, int cls, uintptr_t tt, uintptr_t caller,
                          bool map)
{
    mr__maybe_gc(caller); /* may collect: a collection empties every cache */
    size_t way = mr__tcache_way(key);
    pthread_mutex_lock(&heap_lock);
    mr_span *old = t->tc.e[way].span;
    if (old) uncache(old);
    mr_central *c = central_of(key);
    mr_span *s = central_take(c);
    if (!s) {
        s = alloc_pages(mr__classes[cls].npages);
        bool needzero = s->needzero;
        init_span_metadata(s, cls, mr__classes[cls].size, tt);
        s->needzero = needzero;
        s->central = c;
    }
    s->cached = 1;
    pthread_mutex_unlock(&heap_lock);
    atomic_fetch_add(&mr__heap_live_estimate, (uint64_t)(s->nelems - s->nalloc) * s->elemsize);
    t->tc.e[way].key = key;
    t->tc.e[way].span = s;
    uintptr_t slot = span_take(s);
    if (!slot) mr__throw("allocator: a partial span of class %d has no free slot", cls);
    return finish_alloc(t, s, slot, s->elemsize, caller, map);
}

/* Every allocation of the runtime comes here: size bytes of tagged type tt;
 * caller is the entry point's MR_CALLER (see internal.h), map whether that
 * entry point is a map operation. */
static inline void *alloc(size_t size, uintptr_t tt, uintptr_t caller, bool map)
{
    mr_thread *t = mr__me();
    mr__poll(caller);
    if (MR_UNLIKELY(size > MR_MAX_SMALL)) return alloc_large(t, size, tt, caller, map);
    int cls = size_class_of(size);
    uintptr_t key = tt | (uintptr_t)cls << 56;
    mr_span *s = t->tc.e[mr__tcache_way(key)].span;
    if (MR_LIKELY(t->tc.e[mr__tcache_way(key)].key == key)) {
        uintptr_t slot = span_take(s);
        if (MR_LIKELY(slot != 0)) return finish_alloc(t, s, slot, s->elemsize, caller, map);
    }
    return alloc_refill(t, key, cls, tt, caller, map);
}

static inline void *new_array(const mr_type *elem, size_t n, uintptr_t caller, bool map)
{
    size_t esize = elem->size ? elem->size : 1;
    if (n != 0 && esize > SIZE_MAX / n)
        mr__throw("mr_new_array: %zu elements of %zu bytes overflow", n, esize);
    return alloc(esize * n, (uintptr_t)elem | MR_TYPE_ARRAY_BIT, caller, map);
}

MR_ENTRY void *mr_new(const mr_type *t)
{
    return alloc(t->size, (uintptr_t)t, MR_CALLER, false);
}

MR_ENTRY void *mr_new_array(const mr_type *elem, size_t n)
{
    return new_array(elem, n, MR_CALLER, false);
}

void *mr__map_new(const mr_type *t, uintptr_t caller)
{
    return alloc(t->size, (uintptr_t)t, caller, true);
}

void *mr__map_new_array(const mr_type *elem, size_t n, uintptr_t caller)
{
    return new_array(elem, n, caller, true);
}

MR_ENTRY void *mr_alloc_blob(size_t n)
{
    return alloc(n, (uintptr_t)&mr_type_blob, MR_CALLER, false);
}

/* The string functions share this, each with its own caller. */
static inline mr_str str_new(const char *bytes, size_t len, uintptr_t caller)
{
    if (len == SIZE_MAX) mr__throw("mr_str_new: length overflows");
    char *p = alloc(len + 1, (uintptr_t)&mr_type_string, caller, false);
    if (len) memcpy(p, bytes, len);
    p[len] = 0;
    return (mr_str){p, len};
}

MR_ENTRY mr_str mr_str_new(const char *bytes, size_t len)
{
    return str_new(bytes, len, MR_CALLER);
}

MR_ENTRY mr_str mr_str_from(const char *cstr)
{
    return str_new(cstr, strlen(cstr), MR_CALLER);
}

MR_ENTRY mr_str mr_str_printf(const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) mr__throw("mr_str_printf: bad format \"%s\"", fmt);
    if ((size_t)n < sizeof small) return str_new(small, (size_t)n, MR_CALLER);
    char *big = malloc((size_t)n + 1);
    if (!big) mr__throw("out of memory");
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    mr_str s = str_new(big, (size_t)n, MR_CALLER);
    free(big);
    return s;
}

bool mr_str_eq(mr_str a, mr_str b)
{
    return a.len == b.len && (a.ptr == b.ptr || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* ------------------------------------------------------------ inspection -- */

const mr_type *mr_object_type(const void *p, void **start)
{
    mr_span *s = mr__span_of((uintptr_t)p);
    if (!s || !s->in_use) return NULL;
    uint32_t i = mr__slot_of(s, (uintptr_t)p);
    if (i >= s->nelems ||
        !((__atomic_load_n(&s->allocbits[i >> 6], __ATOMIC_RELAXED) >> (i & 63)) & 1))
        return NULL;
    if (start) *start = (void *)mr__slot_addr(s, i);
    return s->type;
}

size_t mr_object_size(const void *obj)
{
    void *start;
    mr_span *s = mr__span_of((uintptr_t)obj);
    if (!mr_object_type(obj, &start) || start != obj) return 0;
    return mr__slot_bytes(s);
}

void mr__set_sampled(void *obj)
{
    mr_span *s = mr__span_of((uintptr_t)obj);
    uint32_t i = mr__slot_of(s, (uintptr_t)obj);
    s->samplebits[i >> 6] |= (uint64_t)1 << (i & 63);
    s->has_samples = 1;
}

/* ---------------------------------------------------- collector's side -- */

void mr__tcache_release(mr_tcache *tc)
{
    pthread_mutex_lock(&heap_lock);
    for (size_t i = 0; i < MR_TCACHE_WAYS; i++) {
        if (tc->e[i].span) uncache(tc->e[i].span);
        tc->e[i].key = 0;
        tc->e[i].span = NULL;
    }
    pthread_mutex_unlock(&heap_lock);
}

void mr__pack_marks(uint64_t *live_bytes, uint64_t *live_objects)
{
    uint64_t lb = 0, lo = 0;
    for (size_t i = 0; i < mr__nspans; i++) {
        mr_span *s = mr__all_spans[i];
        if (!s->in_use) continue;
        uint32_t live = pack_span(s);
        lb += (uint64_t)live * mr__slot_bytes(s);
        lo += live;
    }
    *live_bytes = lb;
    *live_objects = lo;
}

void mr__sweep_start(void (*free_hook)(void *ud, void *obj, size_t size), void *ud)
{
    size_t inuse = 0;
    for (size_t i = 0; i < mr__nspans; i++) {
        mr_span *s = mr__all_spans[i];
        if (!s->in_use) continue;
        inuse++;
        if (!s->has_samples) continue;
        /* Sampled objects that died are reported now, while the world is
         * stopped, as the hook's contract says; their slots are freed later. */
        uint64_t any = 0;
        for (uint32_t w = 0; w < s->nwords; w++) {
            uint64_t died = s->samplebits[w] & s->allocbits[w] & ~s->markbits[w];
            while (died && free_hook) {
                uint32_t slot = (w << 6) + (uint32_t)__builtin_ctzll(died);
                free_hook(ud, (void *)mr__slot_addr(s, slot), mr__slot_bytes(s));
                died &= died - 1;
            }
            s->samplebits[w] &= s->markbits[w];
            any |= s->samplebits[w];
        }
        s->has_samples = any != 0;
    }
    pthread_mutex_lock(&heap_lock);
    swept_idx ^= 1; /* every span on a central or large list is now unswept */
    sweep_cursor = 0;
    atomic_store_explicit(&unswept_spans, inuse, memory_order_relaxed);
    pthread_mutex_unlock(&heap_lock);
}

void mr__heap_sizes(uint64_t *sys, uint64_t *inuse)
{
    pthread_mutex_lock(&heap_lock);
    uint64_t in = 0;
    for (size_t i = 0; i < mr__nspans; i++)
        if (mr__all_spans[i]->in_use) in += mr__all_spans[i]->npages * MR_PAGE_SIZE;
    *sys = arena_used - mr__arena_lo;
    *inuse = in;
    pthread_mutex_unlock(&heap_lock);
}

/* ------------------------------------------------------ built-in types -- */

static const uint32_t at_zero[] = {0};
const mr_type mr_type_pointer = {"*", sizeof(void *), at_zero, 1, MR_KIND_STRUCT, NULL};
const mr_type mr_type_int64 = {"int64", sizeof(int64_t), NULL, 0, MR_KIND_STRUCT, NULL};
const mr_type mr_type_str = {"string", sizeof(mr_str), at_zero, 1, MR_KIND_STRUCT, NULL};
const mr_type mr_type_blob = {"[]byte", 1, NULL, 0, MR_KIND_BLOB, NULL};
const mr_type mr_type_string = {"string data", 1, NULL, 0, MR_KIND_STRING, NULL};
