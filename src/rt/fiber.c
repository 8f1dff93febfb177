/*
 * src/rt/fiber.c -- fiber stacks: the registry behind mr_stack_register,
 * mr_stack_unregister and mr_stack_switch (include/maproot/rt.h).
 *
 * A thread's roots are the words of the stack it runs on, from its stack
 * pointer up. A program that runs code on stacks of its own (ucontext,
 * coroutine libraries) breaks the two assumptions that rest on: that the
 * stack pointer lies in the thread's own stack (scanning from a fiber's
 * stack pointer up to the thread's stack top would read whatever lies
 * between, unmapped memory included), and that the thread's stack is the
 * only place its frames live (a suspended fiber's frames are on no
 * thread's stack, and what only they refer to would be freed under them).
 * So the program registers each fiber stack and says, right before each
 * switch, where the thread is going; the runtime then records where the
 * stack being left stands (its stack pointer and registers), scans a
 * suspended stack from that point up, and a running one like a thread's.
 *
 * Invariants: the registry (fibers, a handle table) is read and written
 * only under fiber_lock; a fiber's `thread` is the id of the
 * attached thread running on it (0: none), and at most one thread runs on
 * a fiber; `left` means sp and ctx describe the stack as it was left. A
 * thread's record (fiber, cur_lo, cur_hi, own_sp, own_ctx) is written by
 * the thread itself, with the lock held, and read by collections with the
 * world stopped (a thread in mr_stack_switch is running: no collection).
 *
 * ThreadSanitizer follows threads, not stacks: code that swapcontexts
 * between stacks unannounced looks to it like one thread whose calls and
 * returns no longer match, and whose fibers' accesses are unordered. In a
 * build with -fsanitize=thread each registered stack is therefore also a
 * TSan fiber (__tsan_create_fiber; the thread's own stack is the fiber
 * the thread had when it first left it), and mr_stack_switch, called right
 * before the program's switch, ends with __tsan_switch_to_fiber. Its own
 * frame carries no TSan instrumentation: its return, which runs after the
 * switch, would otherwise pop the call stack TSan keeps for the fiber
 * entered rather than for the one left.
 */
#include "rt/fiber.h"
#include "rt/handles.h"
#include "rt/internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

#if defined(__SANITIZE_THREAD__)
#define TSAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN_FIBERS 1
#endif
#endif

#ifdef TSAN_FIBERS
#include <sanitizer/tsan_interface.h>
/* A function TSan sees nothing of, calls and returns included (GCC's
 * no_sanitize_thread drops those too; clang's needs the stronger one). */
#if defined(__has_attribute) && __has_attribute(disable_sanitizer_instrumentation)
#define NO_TSAN_FRAME __attribute__((disable_sanitizer_instrumentation))
#else
#define NO_TSAN_FRAME __attribute__((no_sanitize_thread))
#endif
/* The TSan fiber of the thread's own stack, taken when it first leaves it. */
static _Thread_local void *own_tsan_fiber;
#else
#define NO_TSAN_FRAME
#endif

typedef struct fiber {
    uintptr_t lo, hi;
    const char *name; /* the program's static label, shown as the root's name */
    uint32_t thread;
    bool left;
    uintptr_t sp;
    unw_context_t ctx;
    void *tsan; /* its TSan fiber (builds with -fsanitize=thread) */
} fiber;

static pthread_mutex_t fiber_lock = PTHREAD_MUTEX_INITIALIZER;
static mr_handles fibers = MR_HANDLES_INIT(fiber, 16);

/* The fiber of handle h, or NULL: fiber_lock held. */
static fiber *fiber_of(uint32_t h)
{
    return mr__handles_get(&fibers, h);
}

/* Does [lo, hi) overlap a registered fiber stack or t's own stack? */
static bool overlaps_known(uintptr_t lo, uintptr_t hi, const mr_thread *t)
{
    if (lo < t->stack_hi && t->stack_lo < hi) return true;
    for (uint32_t h = 1; h < mr__handles_end(&fibers); h++) {
        const fiber *f = fiber_of(h);
        if (f && lo < f->hi && f->lo < hi) return true;
    }
    return false;
}

MR_ENTRY mr_stack_handle mr_stack_register(void *lo, size_t size, const char *name)
{
    mr_thread *t = mr__me();
    uintptr_t a = (uintptr_t)lo;
    if (!lo || size < 4096 || a + size < a)
        mr__throw("mr_stack_register: %p, %zu bytes is no stack (at least 4096 bytes)", lo, size);
    pthread_mutex_lock(&fiber_lock);
    if (overlaps_known(a, a + size, t)) {
        pthread_mutex_unlock(&fiber_lock);
        mr__throw("mr_stack_register: [%p, %p) overlaps a registered stack or the thread's own",
                  lo, (void *)(a + size));
    }
    uint32_t h = mr__handles_add(&fibers);
    if (!h) mr__throw("out of memory (fiber stacks)");
    fiber *f = fiber_of(h); /* zeroed */
    f->lo = a;
    f->hi = a + size;
    f->name = name ? name : "fiber stack";
#ifdef TSAN_FIBERS
    f->tsan = __tsan_create_fiber(0);
#endif
    pthread_mutex_unlock(&fiber_lock);
    return h; /* 0 names the thread's own stack */
}

/*
 * Unregistering a stack drops the iterators whose frames lie on it, with
 * the world stopped: the program frees the stack next, and an iterator
 * still listed would be read there by every later collection.
 */
MR_ENTRY void mr_stack_unregister(mr_stack_handle h)
{
    mr__me();
    mr_stop_the_world();
    pthread_mutex_lock(&fiber_lock);
    fiber *f = fiber_of(h);
    if (!f || f->thread) {
        pthread_mutex_unlock(&fiber_lock);
        mr_start_the_world();
        mr__throw(f ? "mr_stack_unregister: a thread still runs on fiber stack %u"
                    : "mr_stack_unregister: %u is not a registered fiber stack",
                  h);
    }
#ifdef TSAN_FIBERS
    __tsan_destroy_fiber(f->tsan); /* no thread runs on it (checked above) */
#endif
    uintptr_t lo = f->lo, hi = f->hi;
    mr__handles_remove(&fibers, h);
    pthread_mutex_unlock(&fiber_lock);
    mr__iters_end_in(lo, hi); /* roots_lock comes before fiber_lock */
    mr_start_the_world();
}

/*
 * Records thread t leaving the stack it runs on, whose caller frame stands
 * at sp with registers ctx, for stack `to`; returns the TSan fiber of
 * `to` (NULL in other builds). Kept out of mr_stack_switch so that TSan
 * still checks what it reads and writes.
 */
__attribute__((noinline)) static void *record_switch(mr_thread *t, mr_stack_handle to, uintptr_t sp,
                                                     const unw_context_t *ctx)
{
    pthread_mutex_lock(&fiber_lock);
    fiber *dst = to ? fiber_of(to) : NULL;
    const char *bad = NULL;
    if (to && !dst)
        bad = "is not a registered fiber stack";
    else if (dst && dst->thread)
        bad = dst->thread == t->id ? "is the one the thread runs on" : "runs on another thread";
    else if (!to && !t->fiber)
        bad = "is the thread's own stack, which it runs on";
    else if (sp < t->cur_lo || sp >= t->cur_hi)
        bad = "is switched to from a stack the runtime was not told of";
    if (bad) {
        pthread_mutex_unlock(&fiber_lock);
        mr__throw("mr_stack_switch: stack %u %s", to, bad);
    }
    if (t->fiber) {
        fiber *src = fiber_of(t->fiber);
        assert(src && src->thread == t->id);
        src->sp = sp;
        src->ctx = *ctx;
        src->left = true;
        src->thread = 0;
    } else {
        t->own_sp = sp;
        t->own_ctx = *ctx;
    }
    void *tsan = NULL;
    if (dst) {
        dst->thread = t->id;
        dst->left = false;
        t->cur_lo = dst->lo;
        t->cur_hi = dst->hi;
        tsan = dst->tsan;
    } else {
        t->cur_lo = t->stack_lo;
        t->cur_hi = t->stack_hi;
    }
#ifdef TSAN_FIBERS
    if (!t->fiber) own_tsan_fiber = __tsan_get_current_fiber();
    if (!dst) tsan = own_tsan_fiber;
#endif
    t->fiber = to;
    pthread_mutex_unlock(&fiber_lock);
    return tsan;
}

MR_ENTRY NO_TSAN_FRAME void mr_stack_switch(mr_stack_handle to)
{
    mr_thread *t = mr__me();
    uintptr_t sp;
    unw_context_t ctx;
    mr__save_context_above(&ctx, &sp, 1); /* the caller's frame, as the switch leaves it */
    void *tsan = record_switch(t, to, sp, &ctx);
#ifdef TSAN_FIBERS
    /* the last thing before the program's switch: from here on, what this
     * thread does is the entered fiber's */
    __tsan_switch_to_fiber(tsan, 0);
#else
    (void)tsan;
#endif
}

void mr__fiber_fork_prepare(void)
{
    pthread_mutex_lock(&fiber_lock);
}

void mr__fiber_fork_after(void)
{
    pthread_mutex_unlock(&fiber_lock);
}

/* Is f a registered stack that a thread has left and none runs on? */
static bool is_suspended(const fiber *f)
{
    return f && !f->thread && f->left;
}

void mr__fiber_each_suspended(void (*fn)(const mr_fiber_view *f, void *ud), void *ud)
{
    /* fn may do anything (call the runtime), so it runs on a copy, taken
     * under the lock: a thread that is blocking (mr_blocking_enter) runs
     * on while the world is stopped and may register a stack */
    pthread_mutex_lock(&fiber_lock);
    size_t n = 0;
    for (uint32_t h = 1; h < mr__handles_end(&fibers); h++) n += is_suspended(fiber_of(h));
    fiber *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (n && !copy) mr__throw("out of memory (fiber stacks)");
    size_t k = 0;
    for (uint32_t h = 1; h < mr__handles_end(&fibers); h++)
        if (is_suspended(fiber_of(h))) copy[k++] = *fiber_of(h);
    pthread_mutex_unlock(&fiber_lock);
    for (size_t i = 0; i < n; i++) {
        mr_fiber_view v = {copy[i].sp & ~(uintptr_t)7, copy[i].hi, &copy[i].ctx, copy[i].name};
        fn(&v, ud);
    }
    free(copy);
}
