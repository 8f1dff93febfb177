/*
 * tests/scenarios/scenario.h -- what every scenario program shares.
 *
 * A scenario is a program written to trip the analysis: it builds a heap
 * whose truth it knows (which root keeps which map alive, through which
 * chain, how many bytes that retains), takes root snapshots and prints that
 * truth, one line per fact:
 *
 *   truth {"snapshot": "held", "label": "leak", "address": ..., ...}
 *
 * tests/scenarios/check_scenario.py runs the program, then the real
 * `maproot analyze`, `maproot diff` and `maproot gate` on its snapshots, and checks them
 * against the program's truth lines and the expectations in NAME.json.
 *
 * The program is run as `NAME DIR`: in-process snapshots go to
 * DIR/<snapshot>.gcstack.gz (SC_SNAPSHOT), the one at exit to the path in
 * MAPROOT_SNAPSHOT, which the checker sets to DIR/exit.gcstack.gz.
 *
 * Retained bytes are the runtime's own figures: sc_map_retained walks the
 * heap with the runtime's walk API (roots, pointer fields) and adds up the
 * sizes the allocator reserved for every object that no root reaches
 * without passing through the map's table (its header, bucket arrays and
 * overflow buckets) -- what a collection would free if the map were gone. Stacks are scanned
 * conservatively, so a stale copy of a pointer left in a dead stack slot would be a root: the
 * helpers that snapshot or measure zero the stack below their caller first (SC_CLEAN).
 */
#ifndef MR_SCENARIO_H
#define MR_SCENARIO_H

#include "maproot/collector.h"
#include "maproot/rt.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* Keeps a function whole and under its own name in every build: reports
 * name the frames and allocation sites the scenarios check, and an optimized
 * GCC build may otherwise clone a function as NAME.constprop.0. */
#if defined(__GNUC__) && !defined(__clang__)
#define SC_NOCLONE __attribute__((noipa))
#else
#define SC_NOCLONE __attribute__((noinline))
#endif

static const char *sc_dir = ".";

/* Fails the scenario: the program could not build the heap it promises. */
__attribute__((noreturn, format(printf, 1, 2))) static void sc_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("scenario: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* Reads the snapshot directory from argv and attaches the main thread (it is
 * thread 1). */
static void sc_init(int argc, char **argv)
{
    if (argc > 1) sc_dir = argv[1];
    mr_thread_attach();
}

/*
 * Zeroes 256 KiB of stack below the caller, so that words left there by
 * earlier calls cannot be mistaken for roots by the frames of the next
 * call, and the registers a call may clobber (a stale pointer in one would
 * reach the stack as soon as code that saves every register runs). Written
 * so that it leaves no word of its own behind either: on x86-64 one
 * instruction zeroes the memory below the stack pointer (a C array would
 * have padding and, under AddressSanitizer, redzones that keep their old
 * contents).
 */
__attribute__((noinline)) static void sc_scrub_stack(void)
{
#if defined(__x86_64__)
    __asm__ volatile("leaq -262144(%%rsp), %%rdi\n\t"
                     "movl $32768, %%ecx\n\t"
                     "xorl %%eax, %%eax\n\t"
                     "rep stosq\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "xorl %%esi, %%esi\n\t"
                     "xorl %%edi, %%edi\n\t"
                     "xorl %%r8d, %%r8d\n\t"
                     "xorl %%r9d, %%r9d\n\t"
                     "xorl %%r10d, %%r10d\n\t"
                     "xorl %%r11d, %%r11d\n\t"
                     "pxor %%xmm0, %%xmm0\n\t"
                     "pxor %%xmm1, %%xmm1\n\t"
                     "pxor %%xmm2, %%xmm2\n\t"
                     "pxor %%xmm3, %%xmm3\n\t"
                     "pxor %%xmm4, %%xmm4\n\t"
                     "pxor %%xmm5, %%xmm5\n\t"
                     "pxor %%xmm6, %%xmm6\n\t"
                     "pxor %%xmm7, %%xmm7\n\t"
                     "pxor %%xmm8, %%xmm8\n\t"
                     "pxor %%xmm9, %%xmm9\n\t"
                     "pxor %%xmm10, %%xmm10\n\t"
                     "pxor %%xmm11, %%xmm11\n\t"
                     "pxor %%xmm12, %%xmm12\n\t"
                     "pxor %%xmm13, %%xmm13\n\t"
                     "pxor %%xmm14, %%xmm14\n\t"
                     "pxor %%xmm15, %%xmm15"
                     :
                     :
                     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1",
                       "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                       "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
#else
    volatile uintptr_t buf[32768];
    for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) buf[i] = 0;
#endif
}

/*
 * SC_CLEAN(call): makes call on a clean stack. Every frame a call sets up
 * lies where earlier calls left their words, and any word of it the code
 * does not write (padding, redzones) would be a stale root. The frame
 * making the call must itself be clean: main, or a function called with
 * SC_CLEAN. Snapshots and truth measurements go through it.
 */
#define SC_CLEAN(call) (sc_scrub_stack(), (call))

__attribute__((noinline)) static void sc_snapshot_at(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gcstack.gz", sc_dir, name);
    if (mrc_write_snapshot(path) != 0) sc_fail("snapshot %s: %s", path, mrc_last_error());
}

/* Writes DIR/name.gcstack.gz now (a full collection), on a clean stack. */
#define SC_SNAPSHOT(name) SC_CLEAN(sc_snapshot_at(name))

/*
 * Runs fn on a thread of its own and waits until it has exited. What fn
 * leaves unreferenced is then certainly garbage: an exited thread's stack
 * and registers are no roots, and a stale copy of a pointer cannot linger
 * in a live thread's frames.
 */
__attribute__((noinline, unused)) static void sc_in_dead_thread(void *(*fn)(void *))
{
    pthread_t th;
    if (pthread_create(&th, NULL, fn, NULL) != 0) sc_fail("pthread_create");
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
}

/*
 * A worker thread parked around a snapshot: main starts it
 * (sc_start_worker returns once it has parked), writes its snapshot while
 * the worker's frames hold what they hold, then releases it and waits for
 * it to end (sc_stop_worker).
 */
typedef struct sc_worker {
    pthread_t th;
    atomic_int parked, release;
} sc_worker;

/* Parks the calling worker (blocked, by the blocking rule) until released.
 * Inlined: the caller's frame is the one that parks, as reports name it. */
__attribute__((always_inline, unused)) static inline void sc_park(sc_worker *w)
{
    mr_blocking_enter();
    atomic_store(&w->parked, 1);
    while (!atomic_load(&w->release)) usleep(1000);
    mr_blocking_exit();
}

__attribute__((unused)) static void sc_start_worker(sc_worker *w, void *(*fn)(void *))
{
    if (pthread_create(&w->th, NULL, fn, NULL) != 0) sc_fail("pthread_create");
    while (!atomic_load(&w->parked)) {
        mr_blocking_enter(); /* the worker's allocations may need a collection */
        usleep(1000);
        mr_blocking_exit();
    }
}

__attribute__((unused)) static void sc_stop_worker(sc_worker *w)
{
    atomic_store(&w->release, 1);
    mr_blocking_enter();
    pthread_join(w->th, NULL);
    mr_blocking_exit();
}

/* A pool of workers run in steps by main: a worker waits (blocked) in
 * sc_wait_step until main starts step s (*go > s), false when released
 * instead; main's sc_run_step starts step s and waits (blocked) until the
 * n workers of the pool have each marked it done (done[w] = s + 1). */
__attribute__((unused)) SC_NOCLONE static bool sc_wait_step(sc_worker *w, atomic_int *go, int s)
{
    mr_blocking_enter();
    atomic_store(&w->parked, 1);
    while (atomic_load(go) <= s && !atomic_load(&w->release)) usleep(1000);
    mr_blocking_exit();
    return !atomic_load(&w->release);
}

__attribute__((unused)) static void sc_run_step(atomic_int *go, atomic_int *done, int n, int s)
{
    atomic_store(go, s + 1);
    mr_blocking_enter();
    for (int w = 0; w < n; w++)
        while (atomic_load(&done[w]) != s + 1) usleep(1000);
    mr_blocking_exit();
}

/* The entries of most scenarios' maps: an id and a blob of bytes the entry
 * alone refers to. SC_ITEM_TYPE(var, Name) names the layout Name (as
 * reports show it) and declares its descriptor var. */
typedef struct sc_item {
    int64_t id;
    uint8_t *blob;
} sc_item;
#define SC_ITEM_TYPE(var, Name)                                                                    \
    typedef sc_item Name;                                                                          \
    MR_TYPE(var, Name, MR_FIELD(Name, blob))

/* A new item of type t with a blob of blob_bytes. */
__attribute__((unused)) static sc_item *sc_new_item(const mr_type *t, int64_t id, size_t blob_bytes)
{
    sc_item *it = mr_new(t);
    it->id = id;
    it->blob = mr_alloc_blob(blob_bytes);
    return it;
}

/* Sets keys [first, first + n) of m (an int64-keyed map of pointers) to new
 * items of type t. */
__attribute__((unused)) static void sc_fill(mr_map *m, const mr_type *t, int64_t first, int64_t n,
                                            size_t blob_bytes)
{
    for (int64_t k = first; k < first + n; k++)
        *(sc_item **)mr_map_assign_int(m, k) = sc_new_item(t, k, blob_bytes);
}

/* A copy of m (NULL: an empty map) of map type t, with the same keys and
 * values (a map of pointer values) and room for extra more entries: what a
 * copy-on-write reload builds before it adds and stores the copy. */
__attribute__((noinline, unused)) static mr_map *sc_copy_map(const mr_map_type *t, mr_map *m,
                                                             size_t extra)
{
    mr_map *c = mr_map_new(t, (m ? mr_map_len(m) : 0) + extra);
    if (!m) return c;
    mr_map_iter it;
    mr_map_iter_init(&it, m);
    while (mr_map_iter_next(&it)) *(void **)mr_map_assign(c, it.key) = *(void *const *)it.value;
    mr_map_iter_done(&it);
    return c;
}

/*
 * A fiber, as coroutine libraries make them: a stack the program maps
 * itself (of SC_FIBER_STACK bytes: sc_scrub_stack clears 256 KiB below
 * the stack pointer, which must stay inside it), registered with the
 * runtime under a label, and a context that runs fn on it and goes to
 * *link when fn returns. The program announces every switch
 * (mr_stack_switch) and switches with swapcontext on ctx.
 */
enum { SC_FIBER_STACK = 1 << 20 };
typedef struct sc_fiber {
    void *stack;
    mr_stack_handle handle;
    ucontext_t ctx;
} sc_fiber;

__attribute__((unused)) static void sc_fiber_make(sc_fiber *f, const char *label, void (*fn)(void),
                                                  ucontext_t *link)
{
    f->stack =
        mmap(NULL, SC_FIBER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (f->stack == MAP_FAILED) sc_fail("mmap");
    f->handle = mr_stack_register(f->stack, SC_FIBER_STACK, label);
    if (getcontext(&f->ctx) != 0) sc_fail("getcontext");
    f->ctx.uc_stack.ss_sp = f->stack;
    f->ctx.uc_stack.ss_size = SC_FIBER_STACK;
    f->ctx.uc_link = link;
    makecontext(&f->ctx, fn, 0);
}

/* Ends f's registration and unmaps its stack, once fn has returned: its
 * words are no roots any more, and no snapshot reads them. */
__attribute__((unused)) static void sc_fiber_free(sc_fiber *f)
{
    mr_stack_unregister(f->handle);
    if (munmap(f->stack, SC_FIBER_STACK) != 0) sc_fail("munmap");
}

/* ------------------------------------------------------------ the truth -- */

/* An open-addressing set of object addresses. */
typedef struct sc_set {
    uintptr_t *k;
    size_t mask, n;
} sc_set;

static bool sc_set_has(const sc_set *s, uintptr_t a)
{
    if (!s->k) return false;
    for (size_t h = (a >> 3) * 0x9E3779B97F4A7C15ull & s->mask;; h = (h + 1) & s->mask) {
        if (s->k[h] == a) return true;
        if (!s->k[h]) return false;
    }
}

/* Adds a; true when it was not there yet. */
static bool sc_set_add(sc_set *s, uintptr_t a)
{
    if (!s->k || 2 * (s->n + 1) > s->mask + 1) {
        size_t cap = s->k ? 2 * (s->mask + 1) : 4096;
        sc_set t = {calloc(cap, sizeof(uintptr_t)), cap - 1, 0};
        if (!t.k) sc_fail("out of memory");
        for (size_t i = 0; s->k && i <= s->mask; i++)
            if (s->k[i]) sc_set_add(&t, s->k[i]);
        free(s->k);
        *s = t;
    }
    size_t h = (a >> 3) * 0x9E3779B97F4A7C15ull & s->mask;
    while (s->k[h]) {
        if (s->k[h] == a) return false;
        h = (h + 1) & s->mask;
    }
    s->k[h] = a;
    s->n++;
    return true;
}

/* A stack of objects still to visit (the object graph's depth is the
 * program's, so no recursion). */
typedef struct sc_todo {
    uintptr_t *v;
    size_t n, cap;
} sc_todo;

static void sc_push(sc_todo *t, uintptr_t a)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
        if (!t->v) sc_fail("out of memory");
    }
    t->v[t->n++] = a;
}

static void sc_push_root(const mr_root *r, void *ud)
{
    sc_push(ud, (uintptr_t)r->target);
}

static void sc_push_edge(void *obj, size_t off, void *to, void *ud)
{
    (void)obj, (void)off;
    sc_push(ud, (uintptr_t)to);
}

/* Visits everything reachable from the objects on t not yet in seen (adding
 * them to seen); returns the bytes of the objects visited. */
static uint64_t sc_visit(sc_set *seen, sc_todo *t)
{
    uint64_t bytes = 0;
    while (t->n) {
        uintptr_t a = t->v[--t->n];
        if (!sc_set_add(seen, a)) continue;
        bytes += mr_object_size((void *)a);
        mr_walk_edges((void *)a, sc_push_edge, t);
    }
    return bytes;
}

/*
 * The bytes that the objects objs[0..n) (starts of heap objects) dominate
 * together: theirs and those of every object reachable from them that no
 * root reaches without passing through one of them -- what a collection
 * would free if they were gone. Those objects are added to *mine (an
 * empty set). Call it with the world stopped.
 */
static uint64_t sc_dominated_into(void *const *objs, size_t n, sc_set *mine)
{
    sc_set others = {0};
    sc_todo t = {0};
    for (size_t i = 0; i < n; i++) sc_set_add(&others, (uintptr_t)objs[i]); /* closed ways */
    mr_walk_roots(false, sc_push_root, &t);
    sc_visit(&others, &t);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sc_set_add(mine, (uintptr_t)objs[i])) continue;
        bytes += mr_object_size(objs[i]);
        mr_walk_edges(objs[i], sc_push_edge, &t);
    }
    while (t.n) { /* sc_visit, skipping what the other roots reach */
        uintptr_t a = t.v[--t.n];
        if (sc_set_has(&others, a) || !sc_set_add(mine, a)) continue;
        bytes += mr_object_size((void *)a);
        mr_walk_edges((void *)a, sc_push_edge, &t);
    }
    free(others.k);
    free(t.v);
    return bytes;
}

/* sc_dominated_into a set of its own; also counts the objects into
 * *objects when not NULL. */
static uint64_t sc_dominated_set(void *const *objs, size_t n, uint64_t *objects)
{
    sc_set mine = {0};
    uint64_t bytes = sc_dominated_into(objs, n, &mine);
    if (objects) *objects = mine.n;
    free(mine.k);
    return bytes;
}

/* The bytes obj (the start of a heap object) dominates, as sc_dominated_set. */
__attribute__((noinline, unused)) static uint64_t sc_dominated(const void *obj, uint64_t *objects)
{
    void *o = (void *)obj;
    mr_stop_the_world();
    uint64_t bytes = sc_dominated_set(&o, 1, objects);
    mr_start_the_world();
    return bytes;
}

/* A growing list of a map's table objects. */
typedef struct sc_table {
    void **v;
    size_t n, cap;
} sc_table;

static void sc_add_bucket(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)old, (void)index, (void)overflow;
    sc_table *t = ud;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
        if (!t->v) sc_fail("out of memory");
    }
    t->v[t->n++] = bucket;
}

/*
 * What map m retains: what its table (the header, the bucket arrays and the
 * overflow buckets) dominates as a whole. A root word that points into a
 * bucket array (an open iterator's fields do) does not take the array from
 * the map: the map's table keeps it, and it keeps the map's entries.
 */
static uint64_t sc_map_retained(const mr_map *m, uint64_t *objects)
{
    sc_table t = {0};
    mr_stop_the_world();
    sc_add_bucket((void *)m, false, 0, 0, &t);
    mr_map_walk(m, sc_add_bucket, NULL, &t);
    /* a bucket array is reported once per bucket: its start is the object */
    sc_set seen = {0};
    size_t k = 0;
    for (size_t i = 0; i < t.n; i++) {
        void *start;
        if (mr_object_type(t.v[i], &start) && sc_set_add(&seen, (uintptr_t)start)) t.v[k++] = start;
    }
    uint64_t bytes = sc_dominated_set(t.v, k, objects);
    mr_start_the_world();
    free(seen.k);
    free(t.v);
    return bytes;
}

/* Prints a truth line: {"snapshot": S, "label": L, <fields>}; fields is a
 * printf format for the rest of the object's members (may be ""). */
__attribute__((format(printf, 3, 4))) static void sc_truth(const char *snapshot, const char *label,
                                                           const char *fields, ...)
{
    va_list ap;
    va_start(ap, fields);
    printf("truth {\"snapshot\": \"%s\", \"label\": \"%s\"%s", snapshot, label,
           *fields ? ", " : "");
    vprintf(fields, ap);
    printf("}\n");
    va_end(ap);
    fflush(stdout);
}

/* Prints the truth about map m in a snapshot: its header address (how the
 * checker finds it in the report), its entries, and the bytes it retains.
 * Call it from a truths function run by SC_TRUTHS. */
__attribute__((unused)) static void sc_truth_map(const char *snapshot, const char *label,
                                                 const mr_map *m)
{
    uint64_t objects, bytes = sc_map_retained(m, &objects);
    sc_truth(snapshot, label,
             "\"address\": %" PRIuPTR ", \"count\": %zu, \"retained_bytes\": %" PRIu64
             ", \"retained_objects\": %" PRIu64,
             (uintptr_t)m, mr_map_len(m), bytes, objects);
}

/*
 * The truth about the objects objs[0..n) of one type, every live one of
 * it, as a view of the heap by type counts them: how many ("objects"),
 * their own bytes ("shallow_bytes"), and the bytes of every object that
 * one of them alone dominates, each counted once ("retained_bytes"): an
 * object that only several of them keep alive together is not counted.
 * Call it from a truths function run by SC_TRUTHS.
 */
__attribute__((unused)) static void sc_truth_type(const char *snapshot, const char *label,
                                                  void *const *objs, size_t n)
{
    sc_set all = {0};
    uint64_t shallow = 0, retained = 0;
    mr_stop_the_world();
    for (size_t i = 0; i < n; i++) {
        sc_set mine = {0};
        shallow += mr_object_size(objs[i]);
        /* what an object dominated by another dominates, that one does */
        if (sc_set_has(&all, (uintptr_t)objs[i])) continue;
        sc_dominated_into(&objs[i], 1, &mine);
        for (size_t h = 0; h <= mine.mask; h++)
            if (mine.k[h] && sc_set_add(&all, mine.k[h]))
                retained += mr_object_size((void *)mine.k[h]);
        free(mine.k);
    }
    mr_start_the_world();
    free(all.k);
    sc_truth(snapshot, label,
             "\"objects\": %zu, \"shallow_bytes\": %" PRIu64 ", \"retained_bytes\": %" PRIu64, n,
             shallow, retained);
}

/* The truth about one object: its address, its size and what it alone
 * dominates (bytes and objects, itself included). Call it from a truths
 * function run by SC_TRUTHS. */
__attribute__((unused)) static void sc_truth_object(const char *snapshot, const char *label,
                                                    const void *obj)
{
    uint64_t objects, bytes = sc_dominated(obj, &objects);
    sc_truth(snapshot, label,
             "\"address\": %" PRIuPTR ", \"size\": %zu, \"retained_bytes\": %" PRIu64
             ", \"retained_objects\": %" PRIu64,
             (uintptr_t)obj, mr_object_size(obj), bytes, objects);
}

typedef struct sc_rootlist {
    mr_root *v;
    size_t n, cap;
} sc_rootlist;

static void sc_add_root(const mr_root *r, void *ud)
{
    sc_rootlist *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) sc_fail("out of memory");
    }
    /* a frame's names live only while the walk runs: keep copies */
    mr_root c = *r;
    c.name = r->name ? strdup(r->name) : NULL;
    c.function = r->function ? strdup(r->function) : NULL;
    if ((r->name && !c.name) || (r->function && !c.function)) sc_fail("out of memory");
    l->v[l->n++] = c;
}

/* Frees the list and its copies of the roots' names. */
static void sc_rootlist_free(sc_rootlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((void *)l->v[i].name);
        free((void *)l->v[i].function);
    }
    free(l->v);
}

/* The objects on the shortest way from from to to, both counted (0: to is
 * not reachable from from): a breadth-first search over the heap's
 * pointers, with the world stopped. */
static uint64_t sc_distance(void *from, void *to)
{
    sc_set seen = {0};
    sc_todo level = {0}, next = {0};
    uint64_t d = 0;
    sc_push(&level, (uintptr_t)from);
    sc_set_add(&seen, (uintptr_t)from);
    while (level.n) {
        d++;
        for (size_t i = 0; i < level.n; i++)
            if (level.v[i] == (uintptr_t)to) goto found;
        for (size_t i = 0; i < level.n; i++) mr_walk_edges((void *)level.v[i], sc_push_edge, &next);
        level.n = 0;
        for (size_t i = 0; i < next.n; i++)
            if (sc_set_add(&seen, next.v[i])) sc_push(&level, next.v[i]);
        next.n = 0;
    }
    d = 0;
found:
    free(seen.k);
    free(level.v);
    free(next.v);
    return d;
}

static bool sc_same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether two root words are one holder: one global, one pin, the words
 * of one frame of one thread (its stack words, or its iterator's). */
static bool sc_same_holder(const mr_root *a, const mr_root *b)
{
    return a->kind == b->kind && a->thread == b->thread && a->frame == b->frame &&
           sc_same_str(a->name, b->name) && sc_same_str(a->function, b->function);
}

/*
 * The truth about the ways to obj (the start of a heap object) from the
 * roots: its address, how many holders reach it ("roots": a global, a pin,
 * a thread's frame or iterator, however many of its words point the way),
 * and the objects on the shortest way from any of them ("shortest": from
 * the root's target to obj, both counted). The scenario states how many
 * roots it built to reach obj (want_roots): another count means the
 * program is not the heap it promises, and the scenario fails. Call it
 * from a truths function run by SC_TRUTHS.
 */
__attribute__((unused)) static void sc_truth_reach(const char *snapshot, const char *label,
                                                   const void *obj, size_t want_roots)
{
    sc_rootlist l = {0};
    uint64_t roots = 0, shortest = 0;
    mr_stop_the_world();
    mr_walk_roots(true, sc_add_root, &l);
    size_t k = 0; /* the holders reaching obj: l.v[0 .. k) */
    for (size_t i = 0; i < l.n; i++) {
        uint64_t d = sc_distance(l.v[i].target, (void *)obj);
        if (!d) continue;
        if (!shortest || d < shortest) shortest = d;
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++) seen = sc_same_holder(&l.v[j], &l.v[i]);
        if (seen) continue;
        mr_root r = l.v[k]; /* swapped, not overwritten: each copy freed once */
        l.v[k++] = l.v[i];
        l.v[i] = r;
    }
    roots = k;
    mr_start_the_world();
    if (roots != want_roots) {
        for (size_t i = 0; i < k; i++)
            fprintf(stderr, "scenario: %s: root kind %d %s (thread %u, frame %u %s)\n", label,
                    (int)l.v[i].kind, l.v[i].name ? l.v[i].name : "", l.v[i].thread, l.v[i].frame,
                    l.v[i].function ? l.v[i].function : "");
        sc_fail("%s: %" PRIu64 " roots reach it, the program built %zu", label, roots, want_roots);
    }
    sc_rootlist_free(&l);
    sc_truth(snapshot, label,
             "\"address\": %" PRIuPTR ", \"roots\": %" PRIu64 ", \"shortest\": %" PRIu64,
             (uintptr_t)obj, roots, shortest);
}

/* sc_truth_map for the maps at addrs[0..n), labelled PREFIX_0 ..
 * PREFIX_<n-1> (one per worker of a pool, say). */
__attribute__((unused)) static void sc_truth_maps(const char *snapshot, const char *prefix,
                                                  const uintptr_t *addrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s_%zu", prefix, i);
        sc_truth_map(snapshot, label, (const mr_map *)addrs[i]);
    }
}

static int sc_cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Prints the truth about a group of maps ms[0..n) of one type kept through
 * holder (the object every one of them is reached through): the holder's
 * address (how the checker finds the group in the report), how many maps,
 * their entries (total, min, median as the n/2-th smallest, max), and the
 * bytes their tables dominate together. Call it from a truths function
 * run by SC_TRUTHS. */
__attribute__((unused)) static void sc_truth_group(const char *snapshot, const char *label,
                                                   mr_map *const *ms, size_t n, const void *holder)
{
    sc_table t = {0};
    size_t *len = malloc((n ? n : 1) * sizeof *len), entries = 0;
    if (!len) sc_fail("out of memory");
    mr_stop_the_world();
    for (size_t i = 0; i < n; i++) {
        len[i] = mr_map_len(ms[i]);
        entries += len[i];
        sc_add_bucket(ms[i], false, 0, 0, &t);
        mr_map_walk(ms[i], sc_add_bucket, NULL, &t);
    }
    /* a bucket array is reported once per bucket: its start is the object */
    sc_set seen = {0};
    size_t k = 0;
    for (size_t i = 0; i < t.n; i++) {
        void *start;
        if (mr_object_type(t.v[i], &start) && sc_set_add(&seen, (uintptr_t)start)) t.v[k++] = start;
    }
    uint64_t objects, bytes = sc_dominated_set(t.v, k, &objects);
    mr_start_the_world();
    qsort(len, n, sizeof *len, sc_cmp_size);
    sc_truth(snapshot, label,
             "\"holder\": %" PRIuPTR ", \"maps\": %zu, \"entries\": %zu, \"min_entries\": %zu"
             ", \"median_entries\": %zu, \"max_entries\": %zu, \"retained_bytes\": %" PRIu64
             ", \"retained_objects\": %" PRIu64,
             (uintptr_t)holder, n, entries, n ? len[0] : 0, n ? len[n / 2] : 0, n ? len[n - 1] : 0,
             bytes, objects);
    free(len);
    free(seen.k);
    free(t.v);
}

/*
 * The truth about each entry of a map: a JSON object {"key": bytes, ...}
 * of the bytes each entry alone retains, with their sums, built by the
 * scenario from the objects it made for each entry (sc_entry), printed by
 * sc_truth_entries.
 */
typedef struct sc_entries {
    char *json;
    size_t len, cap;
    uint64_t bytes, key_bytes; /* over every entry; key_bytes: the keys' share */
} sc_entries;

/* Adds the entry shown as key (no character to escape) retaining bytes, of
 * which its key key_bytes. */
__attribute__((unused)) static void sc_entry(sc_entries *e, const char *key, uint64_t key_bytes,
                                             uint64_t bytes)
{
    size_t need = e->len + strlen(key) + 32;
    if (need > e->cap) {
        e->cap = 2 * need;
        e->json = realloc(e->json, e->cap);
        if (!e->json) sc_fail("out of memory");
    }
    e->len +=
        (size_t)sprintf(e->json + e->len, "%s\"%s\": %" PRIu64, e->len ? ", " : "{", key, bytes);
    e->bytes += bytes;
    e->key_bytes += key_bytes;
}

/* Reads m's header figures, with the world stopped. */
__attribute__((unused)) static void sc_map_info(const mr_map *m, mr_map_info *info)
{
    mr_stop_the_world();
    mr_map_get_info(m, info);
    mr_start_the_world();
}

/* Calls fn for every occupied slot of m, with the world stopped. */
__attribute__((unused)) static void
sc_walk_slots(const mr_map *m, void (*fn)(const mr_map_slot *s, void *ud), void *ud)
{
    mr_stop_the_world();
    mr_map_walk(m, NULL, fn, ud);
    mr_start_the_world();
}

/* Prints e as the truth of label (entries, entries_retained_bytes,
 * keys_retained_bytes) and empties it. */
__attribute__((unused)) static void sc_truth_entries(const char *snapshot, const char *label,
                                                     sc_entries *e)
{
    sc_truth(snapshot, label,
             "\"entries_retained_bytes\": %" PRIu64 ", \"keys_retained_bytes\": %" PRIu64
             ", \"entries\": %s}",
             e->bytes, e->key_bytes, e->json ? e->json : "{");
    free(e->json);
    *e = (sc_entries){0};
}

/* Prints the truth of each entry of m (sc_truth_entries): on_slot adds
 * the entry of every occupied slot to the sc_entries it is given (ud). */
__attribute__((unused)) static void sc_truth_slots(const char *snapshot, const char *label,
                                                   const mr_map *m,
                                                   void (*on_slot)(const mr_map_slot *s, void *ud))
{
    sc_entries e = {0};
    sc_walk_slots(m, on_slot, &e);
    sc_truth_entries(snapshot, label, &e);
}

/*
 * The shape of a map as the runtime walks it: its bucket records by role
 * (new main buckets, new overflow buckets, old ones: the report's buckets,
 * overflow_buckets and old_buckets) and the deepest overflow index; with
 * items (int64 keys, values sc_item pointers), each entry's truth (its item
 * and blob, sc_entry) and where the largest entry lies.
 */
typedef struct sc_shape {
    uint64_t buckets, overflow, old, deepest;
    bool items;
    sc_entries e;
    int64_t top_key;
    size_t top_bytes;
    uint64_t top_bucket;
    uint32_t top_overflow;
    uint8_t top_slot;
    bool top_old;
} sc_shape;

static void sc_shape_bucket(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)bucket, (void)index;
    sc_shape *s = ud;
    if (old)
        s->old++;
    else if (overflow)
        s->overflow++;
    else
        s->buckets++;
    if (overflow > s->deepest) s->deepest = overflow;
}

static void sc_shape_slot(const mr_map_slot *sl, void *ud)
{
    sc_shape *s = ud;
    if (!s->items) return;
    const sc_item *it = *(sc_item *const *)sl->value;
    size_t bytes = mr_object_size(it) + mr_object_size(it->blob);
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)sl->key);
    sc_entry(&s->e, key, 0, bytes);
    if (bytes > s->top_bytes) {
        s->top_bytes = bytes;
        s->top_key = *(const int64_t *)sl->key;
        s->top_bucket = sl->bucket;
        s->top_overflow = sl->overflow;
        s->top_slot = sl->slot;
        s->top_old = sl->old;
    }
}

/* The shape of m into *s (zeroed first), with the world stopped. */
__attribute__((unused)) static void sc_shape_of(const mr_map *m, bool items, sc_shape *s)
{
    *s = (sc_shape){.items = items};
    mr_stop_the_world();
    mr_map_walk(m, sc_shape_bucket, sc_shape_slot, s);
    mr_start_the_world();
}

/* Prints the largest entry's place in s as the truth of label (top_key,
 * top_bucket, top_overflow, top_slot). */
__attribute__((unused)) static void sc_truth_top(const char *snapshot, const char *label,
                                                 const sc_shape *s)
{
    sc_truth(snapshot, label,
             "\"top_key\": \"%" PRId64 "\", \"top_bucket\": %" PRIu64 ", \"top_overflow\": %" PRIu32
             ", \"top_slot\": %u",
             s->top_key, s->top_bucket, s->top_overflow, (unsigned)s->top_slot);
}

typedef struct sc_truths_job {
    void (*fn)(const char *snapshot);
    const char *snapshot;
} sc_truths_job;

static void *sc_truths_thread(void *arg)
{
    const sc_truths_job *j = arg;
    mr_thread_attach();
    mr_exiting(); /* its frames hold what it measures, not the program's state */
    j->fn(j->snapshot);
    return NULL;
}

__attribute__((noinline)) static void sc_truths_at(void (*fn)(const char *snapshot),
                                                   const char *snapshot)
{
    sc_truths_job j = {fn, snapshot};
    int pct = mr_set_gc_percent(-1); /* nothing is collected under the measurer's feet */
    pthread_t th;
    if (pthread_create(&th, NULL, sc_truths_thread, &j) != 0) sc_fail("pthread_create");
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
    mr_set_gc_percent(pct);
}

/*
 * SC_TRUTHS(fn, snapshot): runs fn(snapshot), which prints the truth lines
 * of a snapshot, right after it: on a thread of its own whose frames are no
 * roots, while the calling thread waits (blocked) in a frame set up on a
 * clean stack. The roots the measurement sees are then the program's as
 * the snapshot saw them, not the pointers the measuring code holds.
 */
#define SC_TRUTHS(fn, snapshot) SC_CLEAN(sc_truths_at(fn, snapshot))

/*
 * The whole of a scenario whose heap stays as built: builds it, writes the
 * snapshot "held" from here and prints its truths, then declares the thread
 * exiting (its frames are no roots, as at exit) and prints the truths of
 * the snapshot the collector writes at exit. With hold, a local variable of
 * this frame (a stack word of function sc_main, kept whole so that
 * reports name it in every build) holds what hold() returns during "held",
 * as a function that keeps a pointer at hand would. Returns main's exit
 * status.
 */
SC_NOCLONE __attribute__((unused)) static int sc_main(int argc, char **argv, void (*build)(void),
                                                      void (*truths)(const char *snapshot),
                                                      void *(*hold)(void))
{
    sc_init(argc, argv);
    build();
    void *volatile held = hold ? hold() : NULL;
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    if (hold && held != hold()) sc_fail("the held object moved");
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}

/*
 * The steps of a scenario that changes its heap between snapshots: for s
 * = 0 .. n-1, runs step(s) on a clean stack, writes the snapshot "s<s>"
 * and prints its truths. Call it with SC_CLEAN (its frame must be clean).
 */
__attribute__((noinline, unused)) static void sc_steps(int n, void (*step)(int s),
                                                       void (*truths)(const char *snapshot))
{
    for (int s = 0; s < n; s++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", s);
        SC_CLEAN(step(s));
        SC_SNAPSHOT(name);
        SC_TRUTHS(truths, name);
    }
}

/*
 * The whole of a scenario that is only such steps, as a series a gate
 * judges. Returns main's exit status.
 */
__attribute__((unused)) static int sc_series_main(int argc, char **argv, int steps,
                                                  void (*step)(int s),
                                                  void (*truths)(const char *snapshot))
{
    sc_init(argc, argv);
    SC_CLEAN(sc_steps(steps, step, truths));
    return 0;
}

/*
 * The whole of a scenario whose maps a parked worker holds: starts fn on
 * worker w (fn parks it, sc_park), writes the snapshot "held" and prints
 * its truths, releases the worker and waits for it to end; the snapshot
 * at exit then sees the heap without it. Returns main's exit status.
 */
__attribute__((unused)) static int sc_worker_main(int argc, char **argv, sc_worker *w,
                                                  void *(*fn)(void *),
                                                  void (*truths)(const char *snapshot))
{
    sc_init(argc, argv);
    sc_start_worker(w, fn);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(w);
    mr_exiting();
    return 0;
}

/*
 * sc_worker_main for a heap main builds first (build, on a clean stack, so
 * that main's frame holds none of it), with the truths of the snapshot at
 * exit as well, when the worker's frames are gone.
 */
__attribute__((unused)) static int sc_worker_exit_main(int argc, char **argv, void (*build)(void),
                                                       sc_worker *w, void *(*fn)(void *),
                                                       void (*truths)(const char *snapshot))
{
    sc_init(argc, argv);
    SC_CLEAN(build());
    sc_start_worker(w, fn);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(w);
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}

#endif
