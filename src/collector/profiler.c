/*
 * src/collector/profiler.c -- the sample tables of the heap profiler.
 *
 * Three open-addressing hash tables with linear probing, all under one
 * mutex: stacks (by content), buckets (by stack, size and rate) and sampled
 * objects (by address). Stacks and buckets are never removed; objects are
 * removed when freed, with backward-shift deletion so that no tombstones
 * pile up in a long-running program. See profiler.h for the counting
 * semantics and their invariant.
 */
#include "collector/profiler.h"
#include "format/grow.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct stack_ent {
    uint64_t hash;     /* of the frames and the generation */
    uint32_t start, n; /* frames[start, start + n) */
    uint32_t gen;      /* the module generation its addresses belong to */
} stack_ent;

typedef struct bucket {
    uint32_t stack;
    bool dirty; /* on the dirty list: has pending counts */
    uint64_t size;
    uint64_t rate;          /* the sampling rate its samples were taken at */
    uint64_t p_allocs;      /* pending: since the last collection started */
    uint64_t allocs, frees; /* visible (bytes are count * size) */
} bucket;

typedef struct obj_ent {
    uintptr_t addr; /* 0 = empty slot */
    uint32_t bucket;
} obj_ent;

struct mrc_prof {
    pthread_mutex_t lock;
    pthread_cond_t gc_done;
    bool in_gc;

    uintptr_t *frames;
    size_t n_frames, cap_frames;
    stack_ent *stacks;
    size_t n_stacks, cap_stacks;
    uint32_t *stack_slots; /* stack index + 1, 0 = empty; capacity a power of 2 */
    size_t stack_mask;

    bucket *buckets;
    size_t n_buckets, cap_buckets;
    uint32_t *bucket_slots; /* bucket index + 1 */
    size_t bucket_mask;
    uint32_t *dirty; /* buckets with pending counts */
    size_t n_dirty, cap_dirty;

    obj_ent *objs;
    size_t n_objs, obj_mask;

    uint64_t dropped;
};

/* A 64-bit mixer (splitmix64's finalizer): spreads addresses and sizes,
 * whose low bits are mostly zero, over the table. */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

size_t mrc_prof_program_frames(uintptr_t *pcs, size_t n, uintptr_t caller, bool keep_entry,
                               size_t depth)
{
    size_t start = 0;
    if (caller) {
        size_t k = 0;
        while (k < n && pcs[k] != caller) k++;
        if (k == n) {
            pcs[0] = caller;
            n = 1;
        } else {
            start = keep_entry && k > 0 ? k - 1 : k;
        }
    }
    n -= start;
    bool cut = n > depth;
    if (cut) n = depth;
    if (start) memmove(pcs, pcs + start, n * sizeof *pcs);
    if (cut) pcs[n++] = MRC_PROF_TRUNCATED; /* pcs held more than depth + 1 */
    return n;
}

uint64_t mrc_prof_hash_stack(const uintptr_t *pcs, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    for (size_t i = 0; i < n; i++) h = mix64(h ^ (uint64_t)pcs[i]) + i;
    return h;
}

static inline uint64_t bucket_hash(uint64_t stack_hash, uint64_t size, uint64_t rate)
{
    return mix64(stack_hash ^ mix64(size + 0x9e3779b97f4a7c15ULL) ^ mix64(rate));
}

/*
 * fork. A child has only the thread that forked; had another thread held
 * the lock at that moment, the child's copy would stay locked for ever and
 * its first sampled allocation (or its snapshot writer) would wait at it.
 * So the first table made (the collector's: one per process) takes part in
 * every fork of the process: its lock is taken before the fork, when no
 * other thread is inside the tables, and released on both sides.
 *
 * Order: the prepare handlers run in the reverse order of registration, and
 * this lock is a leaf (nothing is locked under it but malloc, whose own fork
 * locks are taken after every handler) that the runtime's sweep takes while
 * it holds its own locks; so it must be taken last, after the runtime's
 * handlers have taken theirs: the collector makes its table in its
 * constructor, before the runtime is first used, and the handlers are
 * registered then. A fork by the thread that holds the world stopped (the
 * snapshot writer's) finds no mutator inside the tables: they are parked.
 */
static _Atomic(mrc_prof *) fork_owner;

static void fork_prepare(void)
{
    mrc_prof *p = atomic_load(&fork_owner);
    if (p) pthread_mutex_lock(&p->lock);
}

static void fork_parent(void)
{
    mrc_prof *p = atomic_load(&fork_owner);
    if (p) pthread_mutex_unlock(&p->lock);
}

/* In the child: no thread of the parent waits on the condition here. */
static void fork_child(void)
{
    mrc_prof *p = atomic_load(&fork_owner);
    if (!p) return;
    pthread_cond_init(&p->gc_done, NULL);
    pthread_mutex_unlock(&p->lock);
}

/* Makes p the table of the fork handlers if none is yet (registering them
 * the first time). */
static void take_part_in_forks(mrc_prof *p)
{
    static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;
    static bool registered;
    pthread_mutex_lock(&owner_lock);
    if (!atomic_load(&fork_owner)) {
        if (!registered) registered = pthread_atfork(fork_prepare, fork_parent, fork_child) == 0;
        if (registered) atomic_store(&fork_owner, p);
    }
    pthread_mutex_unlock(&owner_lock);
}

mrc_prof *mrc_prof_new(void)
{
    mrc_prof *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->gc_done, NULL);
    p->stack_mask = p->bucket_mask = p->obj_mask = 1023;
    p->stack_slots = calloc(1024, sizeof *p->stack_slots);
    p->bucket_slots = calloc(1024, sizeof *p->bucket_slots);
    p->objs = calloc(1024, sizeof *p->objs);
    if (!p->stack_slots || !p->bucket_slots || !p->objs) {
        mrc_prof_destroy(p);
        return NULL;
    }
    take_part_in_forks(p);
    return p;
}

void mrc_prof_destroy(mrc_prof *p)
{
    if (!p) return;
    mrc_prof *owner = p;
    atomic_compare_exchange_strong(&fork_owner, &owner, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->gc_done);
    free(p->frames);
    free(p->stacks);
    free(p->stack_slots);
    free(p->buckets);
    free(p->bucket_slots);
    free(p->dirty);
    free(p->objs);
    free(p);
}

/* Rebuilds an index table (stack or bucket slots) at twice the size when
 * it is half full; the hashes come from `hash_of`. */
static int rehash_index(uint32_t **slots, size_t *mask, size_t n, const mrc_prof *p,
                        uint64_t (*hash_of)(const mrc_prof *, uint32_t))
{
    if ((n + 1) * 2 <= *mask + 1) return 0;
    size_t ncap = (*mask + 1) * 2;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (uint32_t i = 0; i < n; i++) {
        size_t j = hash_of(p, i) & (ncap - 1);
        while (ns[j]) j = (j + 1) & (ncap - 1);
        ns[j] = i + 1;
    }
    free(*slots);
    *slots = ns;
    *mask = ncap - 1;
    return 0;
}

static uint64_t stack_hash_of(const mrc_prof *p, uint32_t i)
{
    return p->stacks[i].hash;
}

static uint64_t bucket_hash_of(const mrc_prof *p, uint32_t i)
{
    const bucket *b = &p->buckets[i];
    return bucket_hash(p->stacks[b->stack].hash, b->size, b->rate);
}

/* The index of the stack pcs[0..n) of generation gen, added if new; -1
 * when out of memory. Lock held. The same addresses in two generations are
 * two stacks: they may lie in different modules. */
static int64_t intern_stack(mrc_prof *p, const uintptr_t *pcs, size_t n, uint32_t gen,
                            uint64_t hash)
{
    size_t j = hash & p->stack_mask;
    for (uint32_t s; (s = p->stack_slots[j]) != 0; j = (j + 1) & p->stack_mask) {
        const stack_ent *e = &p->stacks[s - 1];
        if (e->hash == hash && e->n == n && e->gen == gen &&
            (n == 0 || memcmp(p->frames + e->start, pcs, n * sizeof *pcs) == 0))
            return s - 1;
    }
    if (p->n_stacks >= UINT32_MAX - 1 || p->n_frames + n > UINT32_MAX) return -1;
    if (!MF_GROW(p->frames, p->cap_frames, p->n_frames + n, 64) ||
        !MF_GROW(p->stacks, p->cap_stacks, p->n_stacks + 1, 64))
        return -1;
    if (rehash_index(&p->stack_slots, &p->stack_mask, p->n_stacks, p, stack_hash_of)) return -1;
    uint32_t id = (uint32_t)p->n_stacks++;
    if (n) memcpy(p->frames + p->n_frames, pcs, n * sizeof *pcs);
    p->stacks[id] = (stack_ent){hash, (uint32_t)p->n_frames, (uint32_t)n, gen};
    p->n_frames += n;
    j = hash & p->stack_mask;
    while (p->stack_slots[j]) j = (j + 1) & p->stack_mask;
    p->stack_slots[j] = id + 1;
    return id;
}

/* The bucket of (stack, size, rate), added if new; -1 when out of memory.
 * The rate is part of the key because a sample stands for
 * 1/(1 - exp(-size/rate)) objects of the rate it was taken at: samples of
 * two rates cannot share one count. */
static int64_t intern_bucket(mrc_prof *p, uint32_t stack, uint64_t size, uint64_t rate)
{
    uint64_t h = bucket_hash(p->stacks[stack].hash, size, rate);
    size_t j = h & p->bucket_mask;
    for (uint32_t b; (b = p->bucket_slots[j]) != 0; j = (j + 1) & p->bucket_mask) {
        const bucket *e = &p->buckets[b - 1];
        if (e->stack == stack && e->size == size && e->rate == rate) return b - 1;
    }
    if (p->n_buckets >= UINT32_MAX - 1) return -1;
    if (!MF_GROW(p->buckets, p->cap_buckets, p->n_buckets + 1, 64)) return -1;
    if (rehash_index(&p->bucket_slots, &p->bucket_mask, p->n_buckets, p, bucket_hash_of)) return -1;
    uint32_t id = (uint32_t)p->n_buckets++;
    p->buckets[id] = (bucket){.stack = stack, .size = size, .rate = rate};
    j = h & p->bucket_mask;
    while (p->bucket_slots[j]) j = (j + 1) & p->bucket_mask;
    p->bucket_slots[j] = id + 1;
    return id;
}

/* ------------------------------------------------------------ objects --- */

static inline size_t obj_home(const mrc_prof *p, uintptr_t addr)
{
    return mix64(addr) & p->obj_mask;
}

/* The slot of addr in the object table, or SIZE_MAX. */
static size_t obj_find(const mrc_prof *p, uintptr_t addr)
{
    for (size_t j = obj_home(p, addr); p->objs[j].addr; j = (j + 1) & p->obj_mask)
        if (p->objs[j].addr == addr) return j;
    return SIZE_MAX;
}

/* Removes slot j by shifting later members of its probe run back, so that
 * every entry stays reachable from its home slot without tombstones. */
static void obj_remove_slot(mrc_prof *p, size_t j)
{
    size_t i = j;
    for (;;) {
        p->objs[i].addr = 0;
        size_t k = i;
        for (;;) {
            k = (k + 1) & p->obj_mask;
            if (!p->objs[k].addr) return;
            size_t home = obj_home(p, p->objs[k].addr);
            /* k may move to i only if its home is not in (i, k] (cyclically) */
            bool in_between = (i <= k) ? (home > i && home <= k) : (home > i || home <= k);
            if (!in_between) break;
        }
        p->objs[i] = p->objs[k];
        i = k;
    }
}

static int obj_grow(mrc_prof *p)
{
    if ((p->n_objs + 1) * 2 <= p->obj_mask + 1) return 0;
    size_t ncap = (p->obj_mask + 1) * 2;
    obj_ent *no = calloc(ncap, sizeof *no);
    if (!no) return -1;
    for (size_t i = 0; i <= p->obj_mask; i++) {
        if (!p->objs[i].addr) continue;
        size_t j = mix64(p->objs[i].addr) & (ncap - 1);
        while (no[j].addr) j = (j + 1) & (ncap - 1);
        no[j] = p->objs[i];
    }
    free(p->objs);
    p->objs = no;
    p->obj_mask = ncap - 1;
    return 0;
}

/* Counts a free of the object in slot j (visible: see profiler.h). */
static void free_slot(mrc_prof *p, size_t j)
{
    bucket *b = &p->buckets[p->objs[j].bucket];
    /* Never below the published allocations (they always are published
     * before the sweep that frees them; a free of a still-pending one can
     * only come from an address reused while profiling was stopped). */
    if (b->frees < b->allocs)
        b->frees++;
    else if (b->p_allocs)
        b->p_allocs--;
    p->n_objs--;
    obj_remove_slot(p, j);
}

int mrc_prof_alloc(mrc_prof *p, uintptr_t obj, uint64_t size, uint64_t rate, const uintptr_t *pcs,
                   size_t n, uint32_t gen, uint64_t hash)
{
    hash ^= mix64((uint64_t)gen + 0x9e3779b97f4a7c15ULL);
    pthread_mutex_lock(&p->lock);
    size_t old = obj_find(p, obj);
    if (old != SIZE_MAX) free_slot(p, old);
    int64_t s = intern_stack(p, pcs, n, gen, hash);
    int64_t b = s < 0 ? -1 : intern_bucket(p, (uint32_t)s, size, rate);
    if (b < 0 || obj_grow(p) || !MF_GROW(p->dirty, p->cap_dirty, p->n_dirty + 1, 64)) {
        p->dropped++;
        pthread_mutex_unlock(&p->lock);
        return -1;
    }
    bucket *bk = &p->buckets[b];
    bk->p_allocs++;
    if (!bk->dirty) {
        bk->dirty = true;
        p->dirty[p->n_dirty++] = (uint32_t)b;
    }
    size_t j = obj_home(p, obj);
    while (p->objs[j].addr) j = (j + 1) & p->obj_mask;
    p->objs[j] = (obj_ent){obj, (uint32_t)b};
    p->n_objs++;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void mrc_prof_free_obj(mrc_prof *p, uintptr_t obj)
{
    pthread_mutex_lock(&p->lock);
    size_t j = obj_find(p, obj);
    if (j != SIZE_MAX) free_slot(p, j);
    pthread_mutex_unlock(&p->lock);
}

/* Moves every pending count into the visible ones. Lock held. */
static void publish_locked(mrc_prof *p)
{
    for (size_t i = 0; i < p->n_dirty; i++) {
        bucket *b = &p->buckets[p->dirty[i]];
        b->allocs += b->p_allocs;
        b->p_allocs = 0;
        b->dirty = false;
    }
    p->n_dirty = 0;
}

void mrc_prof_gc_start(mrc_prof *p)
{
    pthread_mutex_lock(&p->lock);
    publish_locked(p);
    p->in_gc = true;
    pthread_mutex_unlock(&p->lock);
}

void mrc_prof_gc_end(mrc_prof *p)
{
    pthread_mutex_lock(&p->lock);
    p->in_gc = false;
    pthread_cond_broadcast(&p->gc_done);
    pthread_mutex_unlock(&p->lock);
}

void mrc_prof_publish(mrc_prof *p)
{
    pthread_mutex_lock(&p->lock);
    publish_locked(p);
    pthread_mutex_unlock(&p->lock);
}

uint64_t mrc_prof_dropped(mrc_prof *p)
{
    pthread_mutex_lock(&p->lock);
    uint64_t d = p->dropped;
    pthread_mutex_unlock(&p->lock);
    return d;
}

int mrc_prof_snapshot_take(mrc_prof *p, bool wait, mrc_prof_snapshot *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->lock);
    while (wait && p->in_gc) pthread_cond_wait(&p->gc_done, &p->lock);
    size_t nr = 0, nf = 0;
    for (size_t i = 0; i < p->n_buckets; i++) {
        if (!p->buckets[i].allocs) continue;
        nr++;
        nf += p->stacks[p->buckets[i].stack].n;
    }
    out->dropped = p->dropped;
    out->records = malloc((nr ? nr : 1) * sizeof *out->records);
    out->frames = malloc((nf ? nf : 1) * sizeof *out->frames);
    if (!out->records || !out->frames) {
        pthread_mutex_unlock(&p->lock);
        mrc_prof_snapshot_free(out);
        return -1;
    }
    for (size_t i = 0; i < p->n_buckets; i++) {
        const bucket *b = &p->buckets[i];
        if (!b->allocs) continue;
        const stack_ent *s = &p->stacks[b->stack];
        mrc_prof_record *r = &out->records[out->n_records++];
        *r = (mrc_prof_record){b->size,
                               b->rate,
                               b->allocs,
                               b->allocs * b->size,
                               b->frees,
                               b->frees * b->size,
                               (uint32_t)out->n_frames,
                               s->n,
                               s->gen};
        if (s->n)
            memcpy(out->frames + out->n_frames, p->frames + s->start, s->n * sizeof *out->frames);
        out->n_frames += s->n;
    }
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void mrc_prof_snapshot_free(mrc_prof_snapshot *s)
{
    free(s->records);
    free(s->frames);
    memset(s, 0, sizeof *s);
}

void mrc_scale_heap_sample(uint64_t count, uint64_t bytes, uint64_t rate, int64_t *count_out,
                           int64_t *bytes_out)
{
    if (count == 0 || bytes == 0) {
        *count_out = *bytes_out = 0;
        return;
    }
    if (rate <= 1) {
        *count_out = (int64_t)count;
        *bytes_out = (int64_t)bytes;
        return;
    }
    double avg = (double)bytes / (double)count;
    double scale = 1.0 / (1.0 - exp(-avg / (double)rate));
    *count_out = (int64_t)((double)count * scale);
    *bytes_out = (int64_t)((double)bytes * scale);
}

/* ---- for root snapshots ---- */

void mrc_prof_each_object(mrc_prof *p,
                          void (*fn)(void *ud, uintptr_t obj, uint64_t size, const uintptr_t *pcs,
                                     size_t n),
                          void *ud)
{
    pthread_mutex_lock(&p->lock);
    for (size_t j = 0; j <= p->obj_mask; j++) {
        const obj_ent *o = &p->objs[j];
        if (!o->addr) continue;
        const bucket *b = &p->buckets[o->bucket];
        const stack_ent *s = &p->stacks[b->stack];
        const uintptr_t *pcs = p->frames + s->start;
        size_t n = s->n;
        if (n && pcs[n - 1] == MRC_PROF_TRUNCATED) n--; /* frames only */
        fn(ud, o->addr, b->size, pcs, n);
    }
    pthread_mutex_unlock(&p->lock);
}
