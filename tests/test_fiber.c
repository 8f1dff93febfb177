/*
 * tests/test_fiber.c -- fiber stacks (mr_stack_register, mr_stack_switch,
 * mr_stack_unregister): code run with makecontext/swapcontext on stacks
 * the program mmap'ed.
 */
#include "check.h"
#include "dies_with.h"
#include "maproot/rt.h"
#include "rt/internal.h"
#include "rt/thread.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

enum { STACK = 256 << 10, ENTRIES = 2000 };

static const mr_map_type blobs_type = {"map[int64]*Blob", MR_KEY_INT64, NULL, &mr_type_pointer};

static ucontext_t main_ctx, fiber_ctx;
static mr_stack_handle fiber;
static void *stack;
static uintptr_t fiber_map; /* its address only: no root */
static bool fiber_intact;
static bool tell; /* announce switches with mr_stack_switch */

static void to_main(void)
{
    if (tell) mr_stack_switch(0);
    swapcontext(&fiber_ctx, &main_ctx);
}

static void to_fiber(void)
{
    if (tell) mr_stack_switch(fiber);
    swapcontext(&main_ctx, &fiber_ctx);
}

/* Ends a fiber's function for good: a switch back to main rather than a
 * return through uc_link, after which ThreadSanitizer would see the
 * function return on main's stack (libmaprt(3)). */
static void end_body(void)
{
    if (tell) mr_stack_switch(0);
    setcontext(&main_ctx);
}

/* Starts body on a fresh mmap'ed stack (registered when tell is set). */
static void start_fiber(void (*body)(void))
{
    stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) abort();
    if (tell) fiber = mr_stack_register(stack, STACK, "test fiber");
    getcontext(&fiber_ctx);
    fiber_ctx.uc_stack.ss_sp = stack;
    fiber_ctx.uc_stack.ss_size = STACK;
    fiber_ctx.uc_link = &main_ctx;
    makecontext(&fiber_ctx, body, 0);
    to_fiber();
}

static void end_fiber(void)
{
    if (tell) mr_stack_unregister(fiber);
    munmap(stack, STACK);
}

/* Overwrites the caller's dead stack below it and what the collector frees. */
__attribute__((noinline)) static void churn_and_collect(void)
{
    volatile char buf[16384];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = 0;
    mr_gc();
    for (int i = 0; i < 20000; i++) memset(mr_alloc_blob(64), 0x5a, 64);
    mr_gc();
}

/* Builds a map only its frame holds, suspends, then checks every entry. */
static void keeper_body(void)
{
    mr_map *volatile m = mr_map_new(&blobs_type, 0);
    for (int64_t k = 0; k < ENTRIES; k++) {
        int64_t *b = mr_alloc_blob(64);
        *b = k;
        *(void **)mr_map_assign_int(m, k) = b;
    }
    fiber_map = (uintptr_t)m;
    to_main();
    fiber_intact = true;
    for (int64_t k = 0; k < ENTRIES; k++) {
        int64_t **v = mr_map_lookup_int(m, k);
        if (!v || **v != k) fiber_intact = false;
    }
    to_main();
    end_body();
}

typedef struct found {
    void *target;
    const char *name;
    int kind;
} found;

static void find_root_of(const mr_root *r, void *ud)
{
    found *f = ud;
    if (r->target == f->target && !f->name) f->name = r->name, f->kind = (int)r->kind;
}

/* A map held only by a suspended fiber's frame survives collections, and
 * the walk names the fiber as its root. */
static void test_suspended_fiber_keeps_its_map(void)
{
    tell = true;
    fiber_intact = false;
    start_fiber(keeper_body);
    churn_and_collect();
    found f = {(void *)fiber_map, NULL, -1};
    mr_stop_the_world();
    mr_walk_roots(true, find_root_of, &f);
    mr_start_the_world();
    to_fiber();
    CHECK(fiber_intact);
    CHECK(f.kind == MR_ROOT_RUNTIME);
    CHECK_STR_EQ(f.name, "test fiber");
    to_fiber(); /* returns */
    end_fiber();
}

/* A collection run on the fiber scans the fiber from its stack pointer up
 * and the thread's own stack from where it left it: main's local stays. */
static mr_map *main_local_seen;
static void collector_body(void)
{
    churn_and_collect();
    to_main();
    end_body();
}

static void test_collection_on_a_fiber_keeps_both_stacks(void)
{
    tell = true;
    mr_map *volatile mine = mr_map_new(&blobs_type, 0);
    for (int64_t k = 0; k < ENTRIES; k++) *(void **)mr_map_assign_int(mine, k) = mr_alloc_blob(64);
    main_local_seen = mine;
    start_fiber(collector_body);
    CHECK_EQ_U64(mr_map_len(mine), ENTRIES);
    for (int64_t k = 0; k < ENTRIES; k++) CHECK(mr_map_lookup_int(mine, k) != NULL);
    to_fiber();
    end_fiber();
}

/* An iterator begun on a fiber ends when the fiber's stack is unregistered:
 * the collections after it read nothing of the unmapped stack. */
static void iterating_body(void)
{
    mr_map *m = mr_map_new(&blobs_type, 0);
    for (int64_t k = 0; k < 100; k++) *(void **)mr_map_assign_int(m, k) = mr_alloc_blob(64);
    mr_map_iter it;
    mr_map_iter_init(&it, m);
    mr_map_iter_next(&it);
    m = NULL;
    to_main(); /* never resumed: the fiber is dropped with its iterator */
}

static void test_unregister_ends_the_fibers_iterators(void)
{
    tell = true;
    size_t before = mr__self->niters;
    start_fiber(iterating_body);
    CHECK_EQ_U64(mr__self->niters, before + 1);
    end_fiber();
    CHECK_EQ_U64(mr__self->niters, before);
    mr_gc(); /* would read the unmapped stack */
}

static void gc_body(void)
{
    mr_gc();
    to_main();
}

/* A collection on a stack nobody registered: scanning from there up to the
 * thread's own stack would read unmapped memory; the runtime says why. */
static void collect_on_unknown_stack(void)
{
    tell = false;
    start_fiber(gc_body);
}

static mr_stack_handle other;
static void switching_body(void)
{
    mr_stack_switch(other); /* the runtime believes the thread is on its own stack */
}

/* A switch announced from a stack nobody registered. */
static void switch_from_unknown_stack(void)
{
    void *o = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (o == MAP_FAILED) abort();
    other = mr_stack_register(o, STACK, "other");
    tell = false;
    start_fiber(switching_body);
}

static void unknown_fiber_switch(void)
{
    mr_stack_switch(12345);
}

#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

static void collect_in_handler(int sig)
{
    (void)sig;
    mr_gc();
}

/* A signal handler on an alternate stack that calls the runtime (not
 * async-signal-safe, but done): its collection is refused with a message
 * rather than a scan from the alternate stack to the thread's own. */
__attribute__((unused)) static void collect_on_the_alternate_stack(void)
{
    stack_t ss = {.ss_sp = malloc(STACK), .ss_size = STACK};
    if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) abort();
    struct sigaction sa = {.sa_handler = collect_in_handler, .sa_flags = SA_ONSTACK};
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
}

static void test_unknown_stacks_are_refused_with_a_message(void)
{
#ifndef TEST_TSAN
    /* (ThreadSanitizer runs no signal handler in the child of a fork made
     * while other threads run, as dies_with's is: the plain and ASan builds
     * check this case) */
    CHECK(dies_with(collect_on_the_alternate_stack, "runs on a stack the runtime does not know"));
#endif
    CHECK(dies_with(collect_on_unknown_stack, "runs on a stack the runtime does not know"));
    CHECK(dies_with(unknown_fiber_switch, "is not a registered fiber stack"));
    CHECK(dies_with(switch_from_unknown_stack, "from a stack the runtime was not told of"));
}

/* ---- one fiber, resumed by two threads in turn */

enum { TURNS = 20000, DEEP = 8 };

static ucontext_t turn_ctx[2], roving_ctx;
static mr_stack_handle roving;
static int turn_of;            /* the thread whose turn it is (0, 1; 2: done) */
static int resumer;            /* the thread that resumed the fiber */
static int64_t roving_sum;     /* written by the fiber, on either thread */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cond = PTHREAD_COND_INITIALIZER;

/* Back to the thread that resumed the fiber. */
__attribute__((noinline)) static void roving_yield(void)
{
    mr_stack_switch(0);
    swapcontext(&roving_ctx, &turn_ctx[resumer]);
}

/* Yields from `depth` frames down: the fiber leaves one thread from deep
 * in its calls and the other from its outermost frame. */
__attribute__((noinline)) static void yield_at(int depth)
{
    volatile int here = depth;
    if (depth > 0)
        yield_at(depth - 1);
    else
        roving_yield();
    roving_sum += here;
}

static void roving_body(void)
{
    mr_map *volatile m = mr_map_new(&blobs_type, 0);
    for (int64_t i = 0; i < TURNS; i++) {
        *(void **)mr_map_assign_int(m, i % 64) = mr_alloc_blob(16);
        yield_at(i % 2 ? 0 : DEEP);
    }
    roving_sum += (int64_t)mr_map_len(m);
}

/* Each thread, in its turn, resumes the fiber until it yields, then hands
 * the turn to the other thread. */
static void *take_turns(void *arg)
{
    int me = (int)(intptr_t)arg;
    mr_thread_attach();
    for (;;) {
        mr_blocking_enter();
        pthread_mutex_lock(&turn_lock);
        while (turn_of != me && turn_of != 2) pthread_cond_wait(&turn_cond, &turn_lock);
        int done = turn_of == 2;
        pthread_mutex_unlock(&turn_lock);
        mr_blocking_exit();
        if (done) break;
        resumer = me;
        mr_stack_switch(roving);
        swapcontext(&turn_ctx[me], &roving_ctx);
        pthread_mutex_lock(&turn_lock);
        turn_of = roving_sum < 0 ? 2 : 1 - me; /* the fiber sets the sum negative when it ends */
        pthread_cond_broadcast(&turn_cond);
        pthread_mutex_unlock(&turn_lock);
    }
    mr_thread_detach();
    return NULL;
}

/* The fiber's function: it ends by a switch, never by returning (see
 * libmaprt(3) on ThreadSanitizer). */
static void roving_start(void)
{
    roving_body();
    roving_sum = -roving_sum;
    mr_stack_switch(0);
    setcontext(&turn_ctx[resumer]);
}

/* A fiber that migrates between threads (each resumes it in turn) and
 * leaves them from different depths runs to its end, and what its frame
 * holds survives the collections of both threads' allocations. Under
 * ThreadSanitizer the runtime gives each stack its own TSan fiber: without
 * that, TSan would keep one call stack per thread, which the fiber's
 * unequal calls and returns on each thread overflow or underflow. */
static void test_fiber_resumed_by_two_threads(void)
{
    void *st = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (st == MAP_FAILED) abort();
    roving = mr_stack_register(st, STACK, "roving fiber");
    getcontext(&roving_ctx);
    roving_ctx.uc_stack.ss_sp = st;
    roving_ctx.uc_stack.ss_size = STACK;
    roving_ctx.uc_link = NULL;
    makecontext(&roving_ctx, roving_start, 0);
    roving_sum = 0;
    turn_of = 0;
    pthread_t th[2];
    mr_blocking_enter();
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, take_turns, (void *)(intptr_t)i);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    mr_blocking_exit();
    mr_stack_unregister(roving);
    munmap(st, STACK);
    /* every turn added its depth's frames, 0 + 1 + ... + depth, and the map held 64 entries */
    int64_t want = (int64_t)(TURNS / 2) * (DEEP * (DEEP + 1) / 2) + 64;
    CHECK_EQ_U64(-roving_sum, want);
}

int main(void)
{
    mr_thread_attach();
    TEST(test_suspended_fiber_keeps_its_map);
    TEST(test_collection_on_a_fiber_keeps_both_stacks);
    TEST(test_unregister_ends_the_fibers_iterators);
    TEST(test_unknown_stacks_are_refused_with_a_message);
    TEST(test_fiber_resumed_by_two_threads);
    TEST_EXIT();
}
