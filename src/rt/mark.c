/*
 * src/rt/mark.c -- the mark phase, on several threads.
 *
 * Tri-colour invariant: white = mark bit clear; grey = mark bit set and the
 * object is on some worker's mark stack or in the shared pool; black = mark
 * bit set and scanned. Marking ends when every stack and the pool are empty,
 * and then no black object points to a white one (all mutators are stopped,
 * so no write barrier is needed). Stacks are growable arrays, so a linked
 * list of any length is marked without recursion.
 *
 * Parallelism. The thread running the collection scans the roots and is
 * worker 0; helper threads (not mutators: they never hold heap pointers
 * outside a mark phase) are workers 1..n-1. Marks are bytes, set with plain
 * stores (see grey()); mark termination (heap.c) packs them into the
 * spans' mark bits. A worker whose stack is deep while the pool is short
 * hands a chunk of its top entries to the pool; a worker that runs dry
 * takes a chunk from the pool, or waits. The phase is over when all workers
 * wait at once with the pool empty. The helpers join a phase only when
 * there is work to share: the first chunk put in the pool wakes them. A
 * small heap is marked by the collecting thread alone, so its pause never
 * waits for helper threads to be scheduled (on a busy machine that wait
 * is milliseconds, far longer than the marking), and a chain, which offers
 * nothing to share, costs no other thread anything. Work is handed over between objects,
 * so one large object would keep the others waiting while one worker scans
 * it: an array larger than OBLET_BYTES (a big map's buckets) is scanned in
 * parts ("oblets", as Go calls them), each a mark entry of its own that
 * any worker may take.
 *
 * Latency. Marking a large heap is a chase of cache misses. Each worker
 * passes what it pops through a small FIFO and prefetches on entry, so that
 * several misses overlap. A chain (a linked list) offers nothing to overlap:
 * there the cost is the path of dependent loads from one node's next field
 * to the next's, so a worker with nothing else grey scans the child it just
 * greyed at once, from a register, and keeps the span it last looked up in
 * locals, so that neither the page map nor a span record sits on that path.
 *
 * MR_GC_THREADS=N sets the number of workers (default: online CPUs, at most 8),
 * the helpers among them joining only phases with work to share (above).
 */
#include "rt/mark.h"
#include "rt/thread.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    PREFETCH_DEPTH = 16, /* objects in the FIFO, their lines prefetched on entry */
    CHUNK = 512,         /* entries in a chunk of shared work */
    SHARE_ABOVE = 2048,  /* a worker shares when its stack is deeper than this */
    OBLET_BYTES = 65536, /* a larger array is scanned in parts of this size */
    MAX_WORKERS = 8,
};

typedef struct chunk {
    struct chunk *next;
    size_t n;
    uintptr_t slots[CHUNK];
} chunk;

typedef struct worker {
    uintptr_t *stack; /* addresses of grey objects */
    size_t len, cap;
} worker;

static worker workers[MAX_WORKERS];
static int nworkers = 1;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;  /* work arrived, or phase over */
static pthread_cond_t phase_cond = PTHREAD_COND_INITIALIZER; /* phase started, or helpers done */
static chunk *pool;                                          /* shared grey objects */
static size_t pool_chunks;
static int waiting; /* workers waiting for work */
static int active;  /* workers in the current phase: 1, or nworkers once helpers joined */
static bool phase_done;
static uint64_t phase;   /* incremented per mark phase the helpers join; wakes them */
static int helpers_busy; /* helpers still inside the current phase */
static int helpers_up;   /* helpers that have begun helper_main (see mr__mark_init) */

/* ----------------------------------------------------------- the stacks -- */

/* The worker's stack, in locals while it drains (see drain()). */
typedef struct local_stack {
    uintptr_t *a;
    size_t len, cap;
} local_stack;

static __attribute__((noinline)) uintptr_t *grow_stack(uintptr_t *a, size_t cap)
{
    a = realloc(a, cap * sizeof *a);
    if (!a) mr__throw("out of memory (mark stack of %zu entries)", cap);
    return a;
}

static inline void local_push(local_stack *st, uintptr_t slot)
{
    if (MR_UNLIKELY(st->len == st->cap)) {
        st->cap = st->cap ? st->cap * 2 : 4096;
        st->a = grow_stack(st->a, st->cap);
    }
    st->a[st->len++] = slot;
}

static void push(worker *w, uintptr_t slot)
{
    local_stack st = {w->stack, w->len, w->cap};
    local_push(&st, slot);
    w->stack = st.a, w->len = st.len, w->cap = st.cap;
}

/*
 * Greys slot i of span s unless it is marked already. Marks are bytes while
 * marking, so a plain store sets one without disturbing its neighbours: no
 * locked instruction, which would stall the overlapping cache misses that
 * make marking fast. Two workers may both see a byte clear and both grey the
 * object; it is then scanned twice, which is harmless.
 */
static inline void grey(worker *w, mr_span *s, uint32_t i)
{
    uint8_t *mb = &s->markbytes[i];
    if (__atomic_load_n(mb, __ATOMIC_RELAXED)) return;
    __atomic_store_n(mb, 1, __ATOMIC_RELAXED);
    if (s->noscan) return;        /* black at once: its memory is never read */
    push(w, mr__slot_addr(s, i)); /* prefetched when it enters the FIFO */
}

/*
 * Greys the object a root word points into, if any: a root is conservative,
 * so the word may be any integer, or point at a free slot.
 */
static inline void mark_root(worker *w, uintptr_t word)
{
    mr_span *s = mr__span_of(word);
    if (!s || !s->in_use) return;
    uint32_t i = mr__slot_of(s, word);
    if (i >= s->nelems || !mr__bit(s->allocbits, i)) return;
    grey(w, s, i);
}

/* ------------------------------------------------------- sharing work -- */

/* Brings the helpers into the current phase. Caller holds pool_lock and is
 * a worker of the phase that is not waiting (so waiting counts no helper
 * yet when active grows). */
static void join_helpers(void)
{
    assert(active == 1 && waiting == 0);
    active = nworkers;
    helpers_busy = nworkers - 1;
    phase++;
    pthread_cond_broadcast(&phase_cond);
}

/* Puts a chunk of work in the pool and wakes a waiting worker, or the
 * helpers if they are not marking yet. */
static void pool_put(chunk *c)
{
    pthread_mutex_lock(&pool_lock);
    c->next = pool;
    pool = c;
    __atomic_fetch_add(&pool_chunks, 1, __ATOMIC_RELAXED);
    if (active < nworkers)
        join_helpers();
    else if (waiting)
        pthread_cond_signal(&pool_cond);
    pthread_mutex_unlock(&pool_lock);
}

/* Moves the top CHUNK entries of w's stack to the pool (the top, not the
 * bottom: no entries move within the stack). */
static void share(worker *w)
{
    chunk *c = malloc(sizeof *c);
    if (!c) return; /* keep the work local */
    w->len -= CHUNK;
    memcpy(c->slots, w->stack + w->len, CHUNK * sizeof(uintptr_t));
    c->n = CHUNK;
    pool_put(c);
}

/*
 * Splits the array at obj, bytes long, into oblets of OBLET_BYTES: the
 * caller scans the first; each other one becomes a mark entry of its own,
 * the address of its first byte (an entry inside an object is an oblet's,
 * since greying pushes objects' starts). So other workers scan parts of a
 * large array (a big map's buckets) while this one scans another, instead
 * of waiting for work the whole time one worker scans it. Up to a chunk of
 * oblets go to the pool when there are other workers, the rest on the stack.
 */
static void split_oblets(local_stack *st, uintptr_t obj, size_t bytes)
{
    size_t off = OBLET_BYTES;
    chunk *c = nworkers > 1 ? malloc(sizeof *c) : NULL;
    if (c) {
        for (c->n = 0; c->n < CHUNK && off < bytes; off += OBLET_BYTES)
            c->slots[c->n++] = obj + off;
        pool_put(c);
    }
    for (; off < bytes; off += OBLET_BYTES) local_push(st, obj + off);
}

/*
 * Refills an empty worker from the pool; returns false when the phase is
 * over (every worker waiting and the pool empty).
 */
static bool refill(worker *w)
{
    pthread_mutex_lock(&pool_lock);
    for (;;) {
        if (pool) {
            chunk *c = pool;
            pool = c->next;
            __atomic_fetch_sub(&pool_chunks, 1, __ATOMIC_RELAXED);
            pthread_mutex_unlock(&pool_lock);
            for (size_t i = 0; i < c->n; i++) push(w, c->slots[i]);
            free(c);
            return true;
        }
        if (phase_done) break;
        if (++waiting == active) {
            phase_done = true;
            pthread_cond_broadcast(&pool_cond);
            waiting--;
            break;
        }
        pthread_cond_wait(&pool_cond, &pool_lock);
        waiting--;
    }
    pthread_mutex_unlock(&pool_lock);
    return false;
}

/*
 * The span a worker last looked an address up in, its bounds in locals.
 * Pointers tend to land in the span the last one did (a list's next node,
 * an array's elements), and then the page map is not read and nothing
 * read from the span record depends on the pointer: marking a chain is a
 * chase of dependent loads, and every load taken off that path counts. An
 * empty view (size 0) matches no address.
 */
typedef struct span_view {
    uintptr_t lo, size; /* the span's pages: [lo, lo + size) */
    const mr_span *s;
} span_view;

/* The arena's bounds and page map, in locals: they are fixed while marking,
 * but a global would be reloaded after every mark-byte store. */
typedef struct arena_view {
    uintptr_t lo, len;
    mr_span *const *pagemap;
} arena_view;

/* The span owning heap address p, or NULL (outside the arena, or free). */
static inline const mr_span *arena_span(arena_view ar, uintptr_t p)
{
    if (p - ar.lo >= ar.len) return NULL;
    return ar.pagemap[(p - ar.lo) >> MR_PAGE_SHIFT];
}

static inline void view_set(span_view *v, const mr_span *s)
{
    v->lo = s->base;
    v->size = s->npages * MR_PAGE_SIZE;
    v->s = s;
}

/*
 * The start of the object that heap address v, in slot i of a span whose
 * slots of elemsize bytes start at lo, points into: mostly v itself. The
 * CPU should go on with v before the multiplication is done, so the
 * compiler must neither see that the result is always the slot's address
 * (the empty asm hides it) nor turn the branch into a conditional move (the
 * volatile asm prevents it).
 */
static inline uintptr_t object_start(uintptr_t lo, uint32_t i, uintptr_t elemsize, uintptr_t v)
{
    uintptr_t obj = lo + (uintptr_t)i * elemsize, probe = v;
    __asm__("" : "+r"(probe));
    if (MR_UNLIKELY(obj != probe)) {
        __asm__ volatile("");
        v = obj;
    }
    return v;
}

/*
 * Greys the object a heap pointer field points into, through the view gv.
 * The field is precise: a non-NULL value always points into an allocated
 * object (the object holding it is reachable, so its target was never
 * freed), so the checks a root needs are skipped; the arena range check
 * stays, to tolerate pointers outside the heap (e.g. to static data) in
 * pointer fields. A scannable object newly greyed becomes *next, the one
 * the caller may scan at once; the previous *next goes to the stack.
 */
static inline void grey_field(arena_view ar, local_stack *st, span_view *gv, uintptr_t v,
                              uintptr_t *next, const mr_span **next_span)
{
    if (MR_UNLIKELY(v - gv->lo >= gv->size)) {
        const mr_span *s = arena_span(ar, v);
        if (MR_UNLIKELY(!s)) return;
        view_set(gv, s);
    }
    const mr_span *s = gv->s;
    uint32_t i = (uint32_t)(((uint64_t)(v - gv->lo) * s->divmul) >> 32);
    uint8_t *mb = &s->markbytes[i];
    if (__atomic_load_n(mb, __ATOMIC_RELAXED)) return;
    __atomic_store_n(mb, 1, __ATOMIC_RELAXED); /* see grey() */
    if (s->noscan) return;
    if (*next) local_push(st, *next);
    *next = object_start(gv->lo, i, s->elemsize, v);
    *next_span = s;
}

/* Scans one grey object of span s: every pointer field of its span's type
 * (each element for arrays, as many as fit in the slot). Returns the last
 * object it greyed that wants scanning, or 0, and sets *next_span to its
 * span. */
static inline uintptr_t scan_object(arena_view ar, local_stack *st, span_view *gv, uintptr_t obj,
                                    const mr_span *s, const mr_span **next_span)
{
    const mr_type *t = s->type;
    uintptr_t next = 0;
    const uint32_t *offs = t->ptr_offsets;
    uint32_t np = t->nptrs;
    if (MR_LIKELY(!s->array)) {
        if (np == 1) { /* a node of a list or tree of one link: no loop */
            uintptr_t v = *(const uintptr_t *)(obj + offs[0]);
            if (!v) return 0;
            /* Its link tends to point into its own span (a list's next
             * node was allocated just before it), rarely where the view
             * was left by the object scanned before: greying looks there
             * first. */
            if (v - s->base < (uintptr_t)s->npages * MR_PAGE_SIZE) view_set(gv, s);
            grey_field(ar, st, gv, v, &next, next_span);
            return next;
        }
        for (uint32_t k = 0; k < np; k++) {
            uintptr_t v = *(const uintptr_t *)(obj + offs[k]);
            if (v) grey_field(ar, st, gv, v, &next, next_span);
        }
        return next;
    }
    size_t stride = t->size ? t->size : 1;
    size_t n = mr__slot_bytes(s) / stride, e = 0;
    if (MR_UNLIKELY(n * stride > OBLET_BYTES)) {
        /* A large array: scan one oblet, the elements that start in it. */
        size_t off = obj - s->base;
        if (off == 0) split_oblets(st, obj, n * stride);
        e = (off + stride - 1) / stride;
        size_t end = (off + OBLET_BYTES + stride - 1) / stride;
        if (end < n) n = end;
        obj = s->base;
    }
    for (; e < n; e++) {
        uintptr_t base = obj + e * stride;
        for (uint32_t k = 0; k < np; k++) {
            uintptr_t v = *(const uintptr_t *)(base + offs[k]);
            if (v) grey_field(ar, st, gv, v, &next, next_span);
        }
    }
    return next;
}

/* The part of a chain's span that greying reads, in locals (see
 * scan_chain). */
typedef struct chain_span {
    uintptr_t lo, size;
    uint8_t *marks;
    uint64_t divmul;
    uintptr_t elemsize;
} chain_span;

/*
 * Greys the object field value v points to, for scan_chain: as grey_field,
 * with the span c (the scanned object's) in locals. A target inside c has
 * the scanned object's type, so it is scannable; it becomes *next.
 */
static inline void grey_chain_field(arena_view ar, local_stack *st, span_view *gv,
                                    const chain_span *c, const mr_span *s, uintptr_t v,
                                    uintptr_t *next, const mr_span **ns)
{
    if (!v) return;
    if (MR_UNLIKELY(v - c->lo >= c->size)) {
        grey_field(ar, st, gv, v, next, ns);
        return;
    }
    uint32_t i = (uint32_t)(((v - c->lo) * c->divmul) >> 32);
    if (__atomic_load_n(&c->marks[i], __ATOMIC_RELAXED)) return;
    __atomic_store_n(&c->marks[i], 1, __ATOMIC_RELAXED); /* see grey() */
    if (*next) local_push(st, *next);
    *next = object_start(c->lo, i, c->elemsize, v);
    *ns = s;
}

/*
 * Scans a chain: obj, a grey object of span s, whose objects are not arrays,
 * while nothing else is grey on this worker, and then the child it greys, as
 * long as that child lies in s too. Such a child has obj's type, so it is
 * scannable and not an array, and every field of s that greying and
 * scanning read is in a local here (a mark-byte store may alias any memory,
 * so fields read through s would be loaded again after each one): a node of
 * a list costs its one dependent load and a few instructions. Objects with
 * one pointer field (a list's nodes) take a loop of their own. A field that
 * leaves s goes through grey_field. Returns the last child greyed, or 0,
 * with *next_span its span, once it is in another span or something else
 * became grey (the caller then takes over, as after scan_object).
 */
static inline uintptr_t scan_chain(arena_view ar, local_stack *st, span_view *gv, uintptr_t obj,
                                   const mr_span *s, const mr_span **next_span)
{
    const chain_span c = {s->base, s->npages * MR_PAGE_SIZE, s->markbytes, s->divmul,
                          s->elemsize};
    const uint32_t *const offs = s->type->ptr_offsets;
    const uint32_t np = s->type->nptrs;
    uintptr_t next;
    const mr_span *ns;
    if (np == 1) {
        const uint32_t off = offs[0];
        do {
            next = 0, ns = s;
            grey_chain_field(ar, st, gv, &c, s, *(const uintptr_t *)(obj + off), &next, &ns);
            obj = next;
        } while (next && ns == s && !st->len);
    } else {
        do {
            next = 0, ns = s;
            for (uint32_t k = 0; k < np; k++)
                grey_chain_field(ar, st, gv, &c, s, *(const uintptr_t *)(obj + offs[k]), &next,
                                 &ns);
            obj = next;
        } while (next && ns == s && !st->len);
    }
    *next_span = ns;
    return next;
}

/*
 * Marks until this worker's stack and the pool are both empty. The stack,
 * the arena and the greying span view live in locals here (the mark-byte
 * stores are char stores, which the compiler must assume alias anything in
 * memory); the stack is written back to the worker around calls that share
 * or refill. A child scanned at once comes with its span from greying, so
 * the chain path never reads the page map.
 *
 * Invariant: every grey object is on the stack, in the FIFO, or the one
 * being scanned (obj), or the one scan_object() returned (next).
 */
static void drain(worker *w)
{
    uintptr_t fifo[PREFETCH_DEPTH];
    unsigned head = 0, count = 0;
    local_stack st = {w->stack, w->len, w->cap};
    span_view gv = {0, 0, NULL};
    const arena_view ar = {mr__arena_lo, mr__arena_hi - mr__arena_lo, mr__pagemap};
    for (;;) {
        while (count < PREFETCH_DEPTH && st.len) {
            uintptr_t slot = st.a[--st.len];
            __builtin_prefetch((const void *)slot);
            fifo[(head + count) % PREFETCH_DEPTH] = slot;
            count++;
        }
        if (count == 0) {
            w->stack = st.a, w->len = st.len, w->cap = st.cap;
            bool more = refill(w);
            st = (local_stack){w->stack, w->len, w->cap};
            if (!more) return;
            continue;
        }
        uintptr_t obj = fifo[head];
        head = (head + 1) % PREFETCH_DEPTH;
        count--;
        const mr_span *s = arena_span(ar, obj);
        for (;;) {
            const mr_span *next_span;
            uintptr_t next = !s->array && !count && !st.len
                                 ? scan_chain(ar, &st, &gv, obj, s, &next_span)
                                 : scan_object(ar, &st, &gv, obj, s, &next_span);
            if (!next) break;
            /* Nothing else is grey here: scan the child now, from a
             * register (a chain, as a list's nodes). Otherwise it waits
             * its turn on the stack, to be prefetched with the others. */
            if (count || st.len) {
                local_push(&st, next);
                break;
            }
            obj = next;
            s = next_span;
        }
        if (MR_UNLIKELY(st.len > SHARE_ABOVE) && nworkers > 1 &&
            __atomic_load_n(&pool_chunks, __ATOMIC_RELAXED) < (size_t)nworkers) {
            w->stack = st.a, w->len = st.len, w->cap = st.cap;
            share(w);
            st.len = w->len;
        }
    }
}

/* ------------------------------------------------------------- helpers -- */

static void *helper_main(void *arg)
{
    worker *w = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool_lock);
    helpers_up++;
    pthread_cond_broadcast(&phase_cond);
    pthread_mutex_unlock(&pool_lock);
    for (;;) {
        pthread_mutex_lock(&pool_lock);
        while (phase == seen) pthread_cond_wait(&phase_cond, &pool_lock);
        seen = phase;
        pthread_mutex_unlock(&pool_lock);
        drain(w);
        pthread_mutex_lock(&pool_lock);
        if (--helpers_busy == 0) pthread_cond_broadcast(&phase_cond);
        pthread_mutex_unlock(&pool_lock);
    }
    return NULL;
}

void mr__mark_init(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    const char *e = getenv("MR_GC_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end || v < 1)
            fprintf(stderr, "maproot runtime: ignoring MR_GC_THREADS=%s\n", e);
        else
            n = v;
    }
    if (n < 1) n = 1;
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    nworkers = (int)n;
    for (int i = 1; i < nworkers; i++) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &attr, helper_main, &workers[i]) != 0) {
            nworkers = i; /* run with the workers we have */
            pthread_attr_destroy(&attr);
            break;
        }
        pthread_attr_destroy(&attr);
    }
    /*
     * Wait until every helper runs its own code. Before that a new thread
     * is in the C library's and a sanitizer's start-up, which allocate: in
     * AddressSanitizer's build (before LLVM 18) glibc's pthread_getattr_np
     * reallocs in the new thread before its start routine, under the
     * allocator's locks, which fork does not take. A snapshot writer forked
     * then -- the first collection may come a few milliseconds after this,
     * and a loaded machine delays a new thread's first run by as much --
     * has such a lock held in its copy for good, and its own first
     * allocation of that size waits for ever. Once up, a helper allocates
     * only inside a mark phase, which is over (mr__mark waits for the
     * helpers) before any hook of the collection forks.
     */
    pthread_mutex_lock(&pool_lock);
    while (helpers_up < nworkers - 1) pthread_cond_wait(&phase_cond, &pool_lock);
    pthread_mutex_unlock(&pool_lock);
}

int mr__mark_helpers_up(void)
{
    pthread_mutex_lock(&pool_lock);
    int n = helpers_up;
    pthread_mutex_unlock(&pool_lock);
    return n;
}

void mr__mark_fork_child(void)
{
    assert(helpers_busy == 0);
    nworkers = 1;
    helpers_up = 0;
    /* the helpers waited on these in the parent: not in the copy */
    pthread_cond_init(&pool_cond, NULL);
    pthread_cond_init(&phase_cond, NULL);
}

/* ---------------------------------------------------------- the phase -- */

static worker *root_worker;
static void mark_root_word(uintptr_t word)
{
    mark_root(root_worker, word);
}

void mr__mark(void)
{
    worker *w0 = &workers[0];
    root_worker = w0;
    mr__scan_roots(mark_root_word);
    pthread_mutex_lock(&pool_lock);
    phase_done = false;
    waiting = 0;
    active = 1; /* the helpers join with the first shared work (pool_put) */
    helpers_busy = 0;
    pthread_mutex_unlock(&pool_lock);
    drain(w0);
    /* Wait until every helper has left drain(), so none touches the heap
     * after the phase. */
    pthread_mutex_lock(&pool_lock);
    while (helpers_busy) pthread_cond_wait(&phase_cond, &pool_lock);
    pthread_mutex_unlock(&pool_lock);
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        if (w->cap > ((size_t)1 << 20)) { /* don't keep a huge stack between cycles */
            free(w->stack);
            w->stack = NULL;
            w->cap = 0;
        }
    }
}

int mr__mark_workers(void)
{
    return nworkers;
}

uint64_t mr__mark_helper_phases(void)
{
    pthread_mutex_lock(&pool_lock);
    uint64_t n = phase;
    pthread_mutex_unlock(&pool_lock);
    return n;
}
