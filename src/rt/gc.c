/*
 * src/rt/gc.c -- the collector: stop the world, mark, sweep, pace; the
 * statistics, the hooks and the walk API.
 *
 * A collection stops every mutator (thread.c), finishes the sweep of the
 * previous cycle if any is left ("sweep termination"), marks from the roots
 * (mark.c, on several threads), packs the marks, reports MR_GC_MARK_DONE,
 * makes every span unswept, and restarts the world: that is the whole
 * stop-the-world pause. The sweep runs afterwards (heap.c): lazily on
 * allocation, in the background sweeper, and in mr_gc()'s caller, which
 * like Go's runtime.GC() returns only when the sweep is done.
 *
 * Pacing follows GOGC: after a collection that leaves L live bytes, the next
 * one starts when the heap reaches L * (1 + GOGC/100), at least 4 MiB.
 */
#include "rt/heap.h"
#include "rt/mark.h"
#include "rt/thread.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_HEAP_GOAL ((uint64_t)4 << 20)

static mr_hooks hooks;
const mr_hooks *mr__hooks_active; /* &hooks when installed, else NULL */
bool mr__marks_valid; /* in MR_GC_MARK_DONE: the mark bits are this cycle's reachability */
static atomic_int gc_percent = 100;
static bool gc_percent_read_env;

/* Statistics, written by the collector with the world stopped. */
static struct {
    uint64_t live_bytes, live_objects;
    uint64_t pause_total_ns, pause_ns[256];
    uint64_t last_gc_ns;
    mr_gc_cycle last; /* the last completed collection */
} st;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
atomic_uint mr__gc_cycles;

/* ---------------------------------------------------------------- pacing -- */

static uint64_t now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* MR_GCTRACE=1 prints a line per collection to stderr, like GODEBUG=gctrace=1. */
static bool gc_trace;

static void read_gogc_env(void)
{
    const char *trace = getenv("MR_GCTRACE");
    gc_trace = trace && *trace && strcmp(trace, "0") != 0;
    if (gc_percent_read_env) return;
    gc_percent_read_env = true;
    const char *e = getenv("MR_GOGC");
    if (!e || !*e) return;
    if (strcmp(e, "off") == 0) {
        atomic_store(&gc_percent, -1);
        return;
    }
    char *end;
    long v = strtol(e, &end, 10);
    if (*end || v < 0 || v > 1000000) {
        fprintf(stderr, "maproot runtime: ignoring MR_GOGC=%s (expected a percentage or \"off\")\n",
                e);
        return;
    }
    atomic_store(&gc_percent, (int)v);
}

static void set_goal(uint64_t live)
{
    int p = atomic_load(&gc_percent);
    uint64_t goal = p < 0 ? UINT64_MAX : live + live / 100 * (uint64_t)p;
    if (goal < MIN_HEAP_GOAL) goal = MIN_HEAP_GOAL;
    atomic_store(&mr__next_gc, goal);
}

int mr_set_gc_percent(int percent)
{
    mr__me();
    int old = atomic_exchange(&gc_percent, percent < 0 ? -1 : percent);
    pthread_mutex_lock(&stats_lock);
    set_goal(st.live_bytes);
    pthread_mutex_unlock(&stats_lock);
    return old;
}

static void collect(uint64_t t_request, uint64_t t_stopped);
int64_t mr__next_sample_gap(uint64_t rate);

/* The current collection's pause so far, for mr_gc_pause_now (world stopped). */
static mr_gc_pause cur;

/*
 * Runs one collection with the calling thread as the collector. Its stack
 * roots are the frames of `ctx` (its caller's caller: the code that called
 * into the runtime) and up, not the runtime's frames below. want_gc_once: if
 * another thread collected while this one waited, don't collect again.
 * Returns whether this thread collected.
 */
static bool collect_from(const unw_context_t *ctx, uintptr_t sp, bool want_gc_once,
                         uintptr_t caller)
{
    mr_thread *self = mr__me();
    uint64_t t_request = now_ns(CLOCK_MONOTONIC);
    if (!mr__world_stop(want_gc_once, caller)) return false;
    uint64_t t_stopped = now_ns(CLOCK_MONOTONIC);
    self->entry_ctx = *ctx;
    self->entry_sp = sp;
    self->has_entry_ctx = true;
    collect(t_request, t_stopped);
    self->has_entry_ctx = false;
    mr__world_start();
    mr__sweep_background();
    return true;
}

/* Called from allocation slow paths: collects if the heap passed its goal. */
__attribute__((noinline)) void mr__maybe_gc(uintptr_t caller)
{
    if (atomic_load_explicit(&mr__heap_live_estimate, memory_order_relaxed) <
        atomic_load_explicit(&mr__next_gc, memory_order_relaxed))
        return;
    if (atomic_load(&gc_percent) < 0) return;
    unw_context_t ctx;
    uintptr_t sp;
    mr__save_context_above(&ctx, &sp, 1); /* the allocator's frame, and up */
    (void)collect_from(&ctx, sp, true, caller);
}

void mr__gc_init(void)
{
    mr__mark_init();
    read_gogc_env();
    set_goal(0);
}

/* ------------------------------------------------------------- collection -- */

static void call_hook(mr_gc_event ev, uint32_t cycle)
{
    if (mr__hooks_active && hooks.on_gc) hooks.on_gc(hooks.ud, ev, cycle);
}

/*
 * One collection; the world is stopped and the caller is the collector.
 * t_request is when it asked the world to stop, t_stopped when every
 * mutator had: the pause recorded runs from the one to the restart.
 */
static void collect(uint64_t t_request, uint64_t t_stopped)
{
    uint32_t cycle = atomic_load(&mr__gc_cycles) + 1;
    memset(&cur, 0, sizeof cur);
    cur.cycle = cycle;
    cur.start_ns = t_request;
    cur.stop_ns = t_stopped - t_request;
    uint64_t mallocs = atomic_load(&mr__retired_mallocs);
    uint64_t total = atomic_load(&mr__retired_alloc_bytes);
    for (mr_thread *t = mr__threads; t; t = t->next) {
        mr__tcache_release(&t->tc);
        mallocs += atomic_load_explicit(&t->mallocs, memory_order_relaxed);
        total += atomic_load_explicit(&t->alloc_bytes, memory_order_relaxed);
    }
    /* (after the release: the caches' free slots were never allocated) */
    uint64_t heap_before = atomic_load(&mr__heap_live_estimate);
    mr__sweep_finish(0);
    uint64_t t_mark = now_ns(CLOCK_MONOTONIC);
    cur.sweep_term_ns = t_mark - t_stopped;
    call_hook(MR_GC_START, cycle);
    uint64_t t_marking = now_ns(CLOCK_MONOTONIC);
    mr__mark();
    uint64_t lb, lo;
    mr__pack_marks(&lb, &lo);
    mr__maps_prune(); /* before the hook: walkers see exactly the live maps */
    uint64_t t_marked = now_ns(CLOCK_MONOTONIC);
    cur.mark_ns = t_marked - t_marking;
    mr__marks_valid = true;
    call_hook(MR_GC_MARK_DONE, cycle);
    mr__marks_valid = false;
    uint64_t t_hooked = now_ns(CLOCK_MONOTONIC);
    cur.hooks_ns = (t_marking - t_mark) + (t_hooked - t_marked);
    mr__sweep_start(mr__hooks_active ? hooks.on_free : NULL, hooks.ud);
    atomic_store(&mr__heap_live_estimate, lb);
    pthread_mutex_lock(&stats_lock);
    st.live_bytes = lb;
    st.live_objects = lo;
    set_goal(lb);
    /* for MR_GC_END: this collection, its pause so far (the whole of it
     * once the event is over, below) */
    st.last = (mr_gc_cycle){
        .cycle = cycle,
        .end_ns = now_ns(CLOCK_REALTIME),
        .pause_ns = now_ns(CLOCK_MONOTONIC) - t_request,
        .live_bytes = lb,
        .live_objects = lo,
        .garbage_bytes = heap_before > lb ? heap_before - lb : 0,
        .next_gc = atomic_load(&mr__next_gc),
        .total_alloc = total,
        .mallocs = mallocs,
        .pause_total_ns = st.pause_total_ns + (now_ns(CLOCK_MONOTONIC) - t_request),
    };
    pthread_mutex_unlock(&stats_lock);
    atomic_store(&mr__gc_cycles, cycle);
    call_hook(MR_GC_END, cycle);
    uint64_t t_end = now_ns(CLOCK_MONOTONIC);
    uint64_t pause = t_end - t_request;
    cur.pause_ns = pause;
    if (gc_trace)
        fprintf(
            stderr,
            "gc %u: %.3f ms stop-the-world (stop %.3f, sweep termination %.3f, mark %.3f on "
            "%d threads, hooks %.3f, other %.3f); %.1f -> %.1f MiB, %" PRIu64
            " objects live; sweep follows concurrently\n",
            cycle, (double)pause / 1e6, (double)cur.stop_ns / 1e6, (double)cur.sweep_term_ns / 1e6,
            (double)cur.mark_ns / 1e6, mr__mark_workers(), (double)cur.hooks_ns / 1e6,
            (double)(pause - cur.stop_ns - cur.sweep_term_ns - cur.mark_ns - cur.hooks_ns) / 1e6,
            (double)heap_before / 1048576.0, (double)lb / 1048576.0, lo);
    pthread_mutex_lock(&stats_lock);
    st.pause_total_ns += pause;
    st.pause_ns[(cycle - 1) % 256] = pause;
    st.last_gc_ns = now_ns(CLOCK_REALTIME);
    st.last.end_ns = st.last_gc_ns;
    st.last.pause_ns = pause;
    st.last.pause_total_ns = st.pause_total_ns;
    pthread_mutex_unlock(&stats_lock);
}

void mr_gc_pause_now(mr_gc_pause *out)
{
    *out = cur;
    if (!out->pause_ns && out->start_ns) out->pause_ns = now_ns(CLOCK_MONOTONIC) - out->start_ns;
}

/*
 * Like Go's runtime.GC(): returns when the collection is complete, its sweep
 * included. The sweep runs here, after the world restarted, so other
 * threads run on meanwhile (and may sweep beside it).
 */
MR_ENTRY void mr_gc(void)
{
    unw_context_t ctx;
    uintptr_t sp;
    mr__save_context_above(&ctx, &sp, 1); /* mr_gc's caller, and up */
    bool collected = collect_from(&ctx, sp, false, MR_CALLER);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC);
    mr__sweep_finish(MR_CALLER);
    if (collected && gc_trace)
        fprintf(stderr, "gc: mr_gc() swept in %.3f ms after the pause\n",
                (double)(now_ns(CLOCK_MONOTONIC) - t1) / 1e6);
}

/* ------------------------------------------------------------ statistics -- */

MR_ENTRY void mr_read_memstats(mr_memstats *out)
{
    mr__me();
    memset(out, 0, sizeof *out);
    uint64_t mallocs = atomic_load(&mr__retired_mallocs);
    uint64_t total = atomic_load(&mr__retired_alloc_bytes);
    mr__world_stop(false, MR_CALLER); /* a consistent view: counters of every thread */
    for (mr_thread *t = mr__threads; t; t = t->next) {
        mallocs += atomic_load_explicit(&t->mallocs, memory_order_relaxed);
        total += atomic_load_explicit(&t->alloc_bytes, memory_order_relaxed);
    }
    mr__heap_sizes(&out->heap_sys, &out->heap_inuse);
    uint64_t frees, freed_bytes;
    mr__heap_freed(&frees, &freed_bytes);
    pthread_mutex_lock(&stats_lock);
    out->mallocs = mallocs;
    out->total_alloc = total;
    out->frees = frees;
    out->heap_objects = mallocs - frees;
    out->heap_alloc = total - freed_bytes;
    out->next_gc = atomic_load(&mr__next_gc);
    out->last_gc_ns = st.last_gc_ns;
    out->pause_total_ns = st.pause_total_ns;
    memcpy(out->pause_ns, st.pause_ns, sizeof out->pause_ns);
    out->num_gc = atomic_load(&mr__gc_cycles);
    out->gc_percent = atomic_load(&gc_percent);
    pthread_mutex_unlock(&stats_lock);
    mr__world_start();
}

void mr_read_gc_cycle(mr_gc_cycle *out)
{
    pthread_mutex_lock(&stats_lock);
    *out = st.last;
    pthread_mutex_unlock(&stats_lock);
}

static void print_bytes(FILE *f, const char *label, uint64_t b)
{
    fprintf(f, "  %-14s %12.1f KiB\n", label, (double)b / 1024.0);
}

void mr_print_memstats(void *file, const mr_memstats *s)
{
    FILE *f = file;
    print_bytes(f, "heap_alloc", s->heap_alloc);
    print_bytes(f, "heap_inuse", s->heap_inuse);
    print_bytes(f, "heap_sys", s->heap_sys);
    print_bytes(f, "total_alloc", s->total_alloc);
    print_bytes(f, "next_gc", s->next_gc == UINT64_MAX ? 0 : s->next_gc);
    fprintf(f, "  %-14s %12" PRIu64 "\n", "heap_objects", s->heap_objects);
    fprintf(f, "  %-14s %12" PRIu64 "\n", "mallocs", s->mallocs);
    fprintf(f, "  %-14s %12" PRIu64 "\n", "frees", s->frees);
    fprintf(f, "  %-14s %12u\n", "num_gc", s->num_gc);
    fprintf(f, "  %-14s %12.3f ms\n", "pause_total", (double)s->pause_total_ns / 1e6);
}

/* ----------------------------------------------------------------- hooks -- */

MR_ENTRY void mr_set_hooks(const mr_hooks *h)
{
    mr__me();
    mr__world_stop(false, MR_CALLER);
    if (h) {
        hooks = *h;
        mr__hooks_active = &hooks;
        for (mr_thread *t = mr__threads; t; t = t->next)
            t->sample_left = mr__next_sample_gap(h->sample_rate);
    } else {
        mr__hooks_active = NULL;
        memset(&hooks, 0, sizeof hooks);
    }
    mr__world_start();
}

void mr_set_sample_rate(uint64_t rate)
{
    if (!mr__hooks_active) return;
    hooks.sample_rate = rate;
    for (mr_thread *t = mr__threads; t; t = t->next) t->sample_left = mr__next_sample_gap(rate);
}

/*
 * Draws the gap to the next sampled allocation from an exponential
 * distribution with mean `rate` bytes, as Go's runtime.MemProfileRate does,
 * so that sampled sizes can be unbiased (each sample stands for
 * 1/(1-exp(-size/rate)) allocations).
 */
int64_t mr__next_sample_gap(uint64_t rate)
{
    if (rate <= 1) return 0;
    /* 53 random bits -> uniform in (0, 1] */
    double u = ((double)(mr__rand64() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double g = -log(u) * (double)rate;
    return g > 9e18 ? INT64_MAX : (int64_t)g;
}

void mr__sample_alloc(mr_thread *t, void *obj, size_t size, const mr_type *type, uintptr_t caller,
                      bool map)
{
    const mr_hooks *h = mr__hooks_active;
    if (!h) return;
    t->sample_left = mr__next_sample_gap(h->sample_rate);
    if (h->sample_rate == 0 || !h->on_alloc) {
        t->sample_left = INT64_MAX;
        return;
    }
    mr__set_sampled(obj);
    mr_alloc_call call = {mr__caller(t, caller), !t->entry_pc && map};
    h->on_alloc(h->ud, obj, size, type, &call);
}

/* ------------------------------------------------------------- walk API -- */

bool mr_is_marked(const void *p)
{
    mr_span *s = mr__span_of((uintptr_t)p);
    if (!s || !s->in_use) return false;
    uint32_t i = mr__slot_of(s, (uintptr_t)p);
    return i < s->nelems && mr__bit(s->markbits, i);
}

/*
 * mr_resolve_marked: one pointer costs up to three dependent cache misses
 * (page map entry, span record, mark word), and a heap snapshot checks every
 * pointer field of the heap. In groups of RESOLVE_GROUP the pointers go
 * through the chain stage by stage, prefetching each stage's line for the
 * whole group first, so the misses of a group overlap instead of adding up.
 * Same answer as mr_is_marked (plus the object's start).
 */
#define RESOLVE_GROUP 32

void mr_resolve_marked(const uintptr_t *ptrs, size_t n, uintptr_t *starts)
{
    mr_span *sp[RESOLVE_GROUP];
    uint32_t slot[RESOLVE_GROUP];
    for (size_t g = 0; g < n; g += RESOLVE_GROUP) {
        size_t m = n - g < RESOLVE_GROUP ? n - g : RESOLVE_GROUP;
        const uintptr_t *p = ptrs + g;
        for (size_t i = 0; i < m; i++)
            if (p[i] >= mr__arena_lo && p[i] < mr__arena_hi)
                __builtin_prefetch(&mr__pagemap[(p[i] - mr__arena_lo) >> MR_PAGE_SHIFT]);
        for (size_t i = 0; i < m; i++) {
            sp[i] = mr__span_of(p[i]);
            if (sp[i]) __builtin_prefetch(sp[i]);
        }
        for (size_t i = 0; i < m; i++) {
            mr_span *s = sp[i];
            if (!s || !s->in_use) {
                sp[i] = NULL;
                continue;
            }
            slot[i] = mr__slot_of(s, p[i]);
            if (slot[i] >= s->nelems) {
                sp[i] = NULL;
                continue;
            }
            __builtin_prefetch(&s->markbits[slot[i] >> 6]);
        }
        for (size_t i = 0; i < m; i++) {
            mr_span *s = sp[i];
            starts[g + i] = s && mr__bit(s->markbits, slot[i]) ? mr__slot_addr(s, slot[i]) : 0;
        }
    }
}

static int span_base_cmp(const void *a, const void *b)
{
    uintptr_t x = (*(mr_span *const *)a)->base, y = (*(mr_span *const *)b)->base;
    return x < y ? -1 : x > y;
}

/*
 * The walk goes in address order so that tools can write the heap out in
 * order without collecting and sorting every object (a snapshot of millions
 * of objects would otherwise hold them all twice). Spans are made in address
 * order while the arena grows, but split and reused page runs break it: the
 * span table is sorted (in place; the table's order means nothing else and
 * span->index follows) when it is not already. The world is stopped.
 */
static void sort_spans_by_address(void)
{
    size_t k = 1;
    while (k < mr__nspans && mr__all_spans[k - 1]->base <= mr__all_spans[k]->base) k++;
    if (k >= mr__nspans) return;
    qsort(mr__all_spans, mr__nspans, sizeof *mr__all_spans, span_base_cmp);
    for (size_t i = 0; i < mr__nspans; i++) mr__all_spans[i]->index = (uint32_t)i;
}

void mr_walk_objects(bool live_only,
                     void (*fn)(void *obj, size_t size, const mr_type *t, size_t count, void *ud),
                     void *ud)
{
    sort_spans_by_address();
    for (size_t k = 0; k < mr__nspans; k++) {
        mr_span *s = mr__all_spans[k];
        if (!s->in_use) continue;
        const uint64_t *bits = live_only ? s->markbits : s->allocbits;
        size_t size = mr__slot_bytes(s), count = mr__span_count(s);
        for (uint32_t w = 0; w < s->nwords; w++) {
            uint64_t b = bits[w] & (live_only ? s->allocbits[w] : ~(uint64_t)0);
            while (b) {
                uint32_t i = (w << 6) + (uint32_t)__builtin_ctzll(b);
                b &= b - 1;
                fn((void *)mr__slot_addr(s, i), size, s->type, count, ud);
            }
        }
    }
}

void mr_walk_edges(void *obj, void (*fn)(void *obj, size_t offset, void *to, void *ud), void *ud)
{
    mr_span *s = mr__span_of((uintptr_t)obj);
    if (!s || !s->in_use) return;
    uint32_t i = mr__slot_of(s, (uintptr_t)obj);
    uintptr_t start = mr__slot_addr(s, i);
    const mr_type *t = s->type;
    if (!t || !t->nptrs) return;
    size_t n = mr__span_count(s), stride = s->array ? (t->size ? t->size : 1) : 0;
    for (size_t e = 0; e < n; e++) {
        for (uint32_t k = 0; k < t->nptrs; k++) {
            size_t off = e * stride + t->ptr_offsets[k];
            uintptr_t v = *(const uintptr_t *)(start + off);
            void *target;
            if (v && mr_object_type((void *)v, &target)) fn((void *)start, off, target, ud);
        }
    }
}
