/*
 * src/rt/thread.c -- mutator threads, safepoints and stopping the world.
 *
 * The protocol (see thread.h): all state changes happen under sched_lock.
 * A collector sets stop_requested and waits on `parked` until no other thread
 * is RUNNING. A mutator that sees stop_requested at a safepoint saves its
 * context, becomes PARKED, signals, and waits on `resumed` until the flag is
 * clear. A thread in mr_blocking_enter is already stopped as far as the
 * collector cares; on the way out it waits for any collection to finish.
 * Only one collector at a time: a thread that wants to stop the world while
 * another has it stopped parks like any mutator first.
 */
#include "rt/heap.h"
#include "rt/mark.h"
#include "rt/modules.h"
#include "rt/thread.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

__thread mr_thread *mr__self;
mr_thread *mr__threads;
atomic_int mr__stop_requested;
atomic_uint_fast64_t mr__retired_mallocs, mr__retired_alloc_bytes;

static pthread_mutex_t sched_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t parked = PTHREAD_COND_INITIALIZER;
static pthread_cond_t resumed = PTHREAD_COND_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static uint32_t next_thread_id = 1;
static uint64_t world_epoch; /* incremented each time the world restarts */

void mr__heap_init(void);
void mr__gc_init(void);
int64_t mr__next_sample_gap(uint64_t rate);
extern const mr_hooks *mr__hooks_active;

noreturn void mr__throw(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("maproot runtime: fatal error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* xorshift64*: fast, per thread, seeded from the kernel. */
uint64_t mr__rand64(void)
{
    mr_thread *t = mr__me();
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void thread_exit_destructor(void *arg)
{
    (void)arg;
    if (mr__self) mr_thread_detach();
}

/*
 * fork. Only the thread that calls fork lives on in the child (POSIX):
 * the records of the others describe threads that never run there again.
 * Kept, their frames would be roots of the child's snapshots, and a
 * collection would wait for ever for a listed thread to park (or for the
 * mark helpers, also left behind). The prepare step holds sched_lock and
 * the heap's locks across the fork, so the copy has no list, sweep or
 * allocation half changed; a collection in progress holds the sweep lock
 * until it has marked, so none is under way in the copy either. A fork by
 * the thread that holds the world stopped (a snapshot writer copying the
 * stopped heap) is left alone: its child is to see every thread as it
 * stood, and the locks are that thread's already.
 */
static __thread bool world_held;   /* this thread stopped the world */
static __thread bool fork_skipped; /* the fork under way is such a fork */

/*
 * libunwind guards its shared state (the cache of unwind rules, what it
 * learnt of the program's modules) with locks it does not hand over at
 * fork: a fork while another thread unwinds left the child such a lock
 * held, and the child's first unwind (its first blocking section,
 * collection or parking) waited on it for ever. So every unwind of the
 * runtime's threads holds this gate for reading, and the prepare step
 * takes it for writing after sched_lock and the heap's locks: the fork
 * happens while nobody unwinds. (The collector's stack captures have a
 * gate of their own; the collection's walk of the stopped threads' stacks
 * runs under the heap's sweep lock.) Inside the gate only libunwind runs,
 * so a reader never waits on any other lock while holding it.
 */
static pthread_rwlock_t unwind_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static void fork_prepare(void)
{
    fork_skipped = world_held;
    if (fork_skipped) return;
    pthread_mutex_lock(&sched_lock);
    mr__heap_fork_prepare();
    pthread_rwlock_wrlock(&unwind_gate);
}

static void fork_parent(void)
{
    if (fork_skipped) return;
    pthread_rwlock_unlock(&unwind_gate);
    mr__heap_fork_after(false);
    pthread_mutex_unlock(&sched_lock);
}

/* In the child: drops every thread but the caller as it would have
 * detached (its cache released, its new maps adopted), though none of its
 * code runs again, and lets the child mark alone. */
static void fork_child(void)
{
    if (fork_skipped) return;
    /* made anew, not unlocked: the child's thread is not the one that took
     * it for writing as far as the lock can tell (its thread id changed) */
    static const pthread_rwlock_t fresh = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    memcpy(&unwind_gate, &fresh, sizeof fresh);
    mr__heap_fork_after(true);
    mr__mark_fork_child();
    atomic_store(&mr__stop_requested, 0);
    /* threads of the parent may wait on these: none does in the copy */
    pthread_cond_init(&parked, NULL);
    pthread_cond_init(&resumed, NULL);
    for (mr_thread **pp = &mr__threads; *pp;) {
        mr_thread *t = *pp;
        if (t == mr__self) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        mr__tcache_release(&t->tc);
        mr__maps_adopt(t);
        mr__iters_orphan(t);
        atomic_fetch_add(&mr__retired_mallocs, atomic_load(&t->mallocs));
        atomic_fetch_add(&mr__retired_alloc_bytes, atomic_load(&t->alloc_bytes));
        free(t->iters);
        free(t->new_maps);
        free(t);
    }
    pthread_mutex_unlock(&sched_lock);
}

static void runtime_init(void)
{
    /* libunwind initializes its globals on first use without locking: do it
     * now, before a second thread can unwind. */
    unw_context_t ctx;
    uintptr_t sp;
    mr__save_context_above(&ctx, &sp, 0);
    mr__heap_init();
    mr__gc_init();
    if (pthread_key_create(&exit_key, thread_exit_destructor) != 0)
        mr__throw("pthread_key_create failed");
    mr__roots_fork_order();
    if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
        mr__throw("out of memory (fork handlers of the threads)");
}

/* Records the calling thread's stack bounds, for conservative scanning. */
static void find_stack(mr_thread *t)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0 ||
        pthread_attr_getstack(&attr, &addr, &size) != 0)
        mr__throw("cannot find the stack of the calling thread (pthread_getattr_np)");
    pthread_attr_destroy(&attr);
    t->stack_lo = (uintptr_t)addr;
    t->stack_hi = (uintptr_t)addr + size;
    t->cur_lo = t->stack_lo;
    t->cur_hi = t->stack_hi;
    t->tp = mr__thread_pointer();
}

void mr_thread_attach(void)
{
    pthread_once(&init_once, runtime_init);
    if (mr__self) return;
    mr_thread *t = calloc(1, sizeof *t);
    if (!t) mr__throw("out of memory (thread record)");
    find_stack(t);
    if (getrandom(&t->rng, sizeof t->rng, 0) != sizeof t->rng)
        t->rng = (uintptr_t)t ^ 0x9E3779B97F4A7C15ULL;
    t->rng |= 1;
    t->state = MR_THREAD_RUNNING;
    pthread_mutex_lock(&sched_lock);
    /* A collection in progress must not see a half-made thread. */
    while (atomic_load(&mr__stop_requested)) pthread_cond_wait(&resumed, &sched_lock);
    t->id = next_thread_id++;
    snprintf(t->tls_name, sizeof t->tls_name, "thread-local storage of thread %u", t->id);
    t->next = mr__threads;
    mr__threads = t;
    mr__self = t;
    if (mr__hooks_active) t->sample_left = mr__next_sample_gap(mr__hooks_active->sample_rate);
    pthread_mutex_unlock(&sched_lock);
    pthread_setspecific(exit_key, t);
}

bool mr_thread_is_attached(void)
{
    return mr__self != NULL;
}

void mr__ensure_thread(void)
{
    mr_thread_attach();
}

MR_ENTRY void mr_thread_detach(void)
{
    mr_thread *t = mr__self;
    if (!t) return;
    if (t->fiber) /* its own stack's roots would be lost, the fiber held run */
        mr__throw("mr_thread_detach: thread %u still runs on fiber stack %u: "
                  "mr_stack_switch(0) first",
                  t->id, t->fiber);
    t->stop_pc = mr__caller(t, MR_CALLER);
    SAVE_CONTEXT(t);
    pthread_mutex_lock(&sched_lock);
    /* Still listed: while a collection runs it must count us as stopped. */
    t->state = MR_THREAD_BLOCKING;
    pthread_cond_broadcast(&parked);
    while (atomic_load(&mr__stop_requested)) pthread_cond_wait(&resumed, &sched_lock);
    /* Its cached spans go back to the partial lists (objects in them stay
     * allocated until a collection finds them unreachable) before it leaves
     * the list: a collection releases only the caches of listed threads, and
     * its sweep may free a span that no cache holds. */
    mr__tcache_release(&t->tc);
    for (mr_thread **pp = &mr__threads; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    mr__maps_adopt(t); /* no collection runs: the registry is ours under the lock */
    mr__iters_orphan(t);
    atomic_fetch_add(&mr__retired_mallocs, atomic_load(&t->mallocs));
    atomic_fetch_add(&mr__retired_alloc_bytes, atomic_load(&t->alloc_bytes));
    pthread_mutex_unlock(&sched_lock);
    pthread_setspecific(exit_key, NULL);
    mr__self = NULL;
    free(t->iters);
    free(t->new_maps);
    free(t);
}

bool mr__thread_id_attached(uint32_t id)
{
    pthread_mutex_lock(&sched_lock);
    const mr_thread *t = mr__threads;
    while (t && t->id != id) t = t->next;
    pthread_mutex_unlock(&sched_lock);
    return t != NULL;
}

/* Parks the caller while a collection runs (called with sched_lock held). */
static void park_locked(mr_thread *t)
{
    t->state = MR_THREAD_PARKED;
    pthread_cond_broadcast(&parked);
    while (atomic_load(&mr__stop_requested)) pthread_cond_wait(&resumed, &sched_lock);
    t->state = MR_THREAD_RUNNING;
}

__attribute__((noinline)) void mr__park(uintptr_t caller)
{
    mr_thread *t = mr__self;
    if (!t) return;
    t->stop_pc = mr__caller(t, caller);
    SAVE_CONTEXT(t);
    pthread_mutex_lock(&sched_lock);
    park_locked(t);
    pthread_mutex_unlock(&sched_lock);
}

MR_ENTRY void mr_safepoint(void)
{
    mr__me();
    mr__poll(MR_CALLER);
}

/*
 * Unwinding recovers a caller's registers: a frame that calls into the
 * runtime may have its callee-saved register values pushed by runtime frames
 * below it, which are overwritten once those return (a blocking thread) or
 * which we do not want to scan (the collector's own frames).
 */
#if defined(__x86_64__)
static const struct {
    int unw, greg;
} above_regs[] = {
    {UNW_X86_64_RBX, REG_RBX}, {UNW_X86_64_RBP, REG_RBP}, {UNW_X86_64_R12, REG_R12},
    {UNW_X86_64_R13, REG_R13}, {UNW_X86_64_R14, REG_R14}, {UNW_X86_64_R15, REG_R15},
    {UNW_X86_64_RSP, REG_RSP}, {UNW_X86_64_RIP, REG_RIP},
};
enum { NABOVE = sizeof above_regs / sizeof above_regs[0] };

/* The registers of the frame `steps` frames above the one ctx was taken
 * in, into v (as above_regs lists them); false where libunwind cannot say.
 * Under the unwind gate (see fork_prepare). */
static bool registers_above(unw_context_t *ctx, int steps, unw_word_t v[NABOVE])
{
    pthread_rwlock_rdlock(&unwind_gate);
    unw_cursor_t c;
    bool ok = unw_init_local(&c, ctx) == 0;
    for (int i = 0; ok && i < steps; i++) ok = unw_step(&c) > 0;
    for (size_t i = 0; ok && i < NABOVE; i++) ok = unw_get_reg(&c, above_regs[i].unw, &v[i]) == 0;
    pthread_rwlock_unlock(&unwind_gate);
    return ok;
}
#endif

__attribute__((noinline)) void mr__save_context_above(unw_context_t *ctx, uintptr_t *sp, int up)
{
    unw_getcontext(ctx);
#if defined(__x86_64__)
    *sp = (uintptr_t)ctx->uc_mcontext.gregs[REG_RSP];
    /* Frame 0 is this function, 1 its caller, 1 + up the one we want;
     * where that cannot be reached the wider context is kept. */
    unw_word_t v[NABOVE];
    if (!registers_above(ctx, up + 1, v)) return;
    for (size_t i = 0; i < NABOVE; i++)
        ctx->uc_mcontext.gregs[above_regs[i].greg] = (greg_t)v[i];
    *sp = (uintptr_t)v[6];
#else
    (void)up;
    *sp = (uintptr_t)__builtin_frame_address(0) - 256;
#endif
}

/* The second half of mr_blocking_enter: t's context is saved; from here on
 * the thread counts as stopped. */
static void block(mr_thread *t)
{
    pthread_mutex_lock(&sched_lock);
    t->state = MR_THREAD_BLOCKING;
    pthread_cond_broadcast(&parked);
    pthread_mutex_unlock(&sched_lock);
}

#if MR_BLOCKING_ENTRY_ASM
/* The caller's context as the entries of thread_x86_64.S store it: its
 * callee-saved registers, stack pointer and resume address at the call. */
typedef struct entry_regs {
    uintptr_t rbx, rbp, r12, r13, r14, r15, sp, pc;
} entry_regs;

/* The caller's context from r, as unwinding one frame would recover it
 * (see mr__save_context_above). The registers a call clobbers hold none of
 * the caller's values: they are cleared, so that no stale word of ours is
 * taken for one of its. */
static void context_from_regs(unw_context_t *ctx, const entry_regs *r)
{
    greg_t *g = ctx->uc_mcontext.gregs;
    g[REG_RBX] = (greg_t)r->rbx;
    g[REG_RBP] = (greg_t)r->rbp;
    g[REG_R12] = (greg_t)r->r12;
    g[REG_R13] = (greg_t)r->r13;
    g[REG_R14] = (greg_t)r->r14;
    g[REG_R15] = (greg_t)r->r15;
    g[REG_RSP] = (greg_t)r->sp;
    g[REG_RIP] = (greg_t)r->pc;
    g[REG_RAX] = g[REG_RCX] = g[REG_RDX] = g[REG_RSI] = g[REG_RDI] = 0;
    g[REG_R8] = g[REG_R9] = g[REG_R10] = g[REG_R11] = 0;
}

/* The C part of mr_blocking_enter on x86-64: the entry hands over the
 * caller's context for the price of eight stores. */
__attribute__((used, visibility("hidden"))) void mr__blocking_enter_regs(const entry_regs *r)
{
    mr_thread *t = mr__me();
    t->stop_pc = mr__caller(t, r->pc);
    context_from_regs(&t->ctx, r);
    t->sp = r->sp;
    block(t);
}
#else
MR_ENTRY void mr_blocking_enter(void)
{
    mr_thread *t = mr__me();
    /* The thread runs on outside the runtime: save its caller's context. */
    t->stop_pc = mr__caller(t, MR_CALLER);
    mr__save_context_above(&t->ctx, &t->sp, 1);
    block(t);
}
#endif

void mr_blocking_exit(void)
{
    mr_thread *t = mr__self;
    if (!t) return;
    pthread_mutex_lock(&sched_lock);
    while (atomic_load(&mr__stop_requested)) pthread_cond_wait(&resumed, &sched_lock);
    t->state = MR_THREAD_RUNNING;
    pthread_mutex_unlock(&sched_lock);
}

static bool all_others_stopped(const mr_thread *self)
{
    for (mr_thread *t = mr__threads; t; t = t->next)
        if (t != self && t->state == MR_THREAD_RUNNING) return false;
    return true;
}

__attribute__((noinline)) bool mr__world_stop(bool want_gc_once, uintptr_t caller)
{
    mr_thread *self = mr__me();
    self->stop_pc = mr__caller(self, caller);
    SAVE_CONTEXT(self);
    pthread_mutex_lock(&sched_lock);
    while (atomic_load(&mr__stop_requested)) {
        /* Someone else is collecting: be stopped like any mutator. */
        uint64_t epoch = world_epoch;
        park_locked(self);
        if (want_gc_once && world_epoch != epoch) {
            pthread_mutex_unlock(&sched_lock);
            return false;
        }
    }
    atomic_store(&mr__stop_requested, 1);
    self->state = MR_THREAD_PARKED; /* the collector's own stack is scanned too */
    while (!all_others_stopped(self)) pthread_cond_wait(&parked, &sched_lock);
    pthread_mutex_unlock(&sched_lock);
    /* The background sweeper finishes its batch: a stopped world is still. */
    pthread_mutex_lock(&mr__sweep_lock);
    world_held = true;
    return true;
}

void mr__world_start(void)
{
    world_held = false;
    pthread_mutex_unlock(&mr__sweep_lock);
    pthread_mutex_lock(&sched_lock);
    atomic_store(&mr__stop_requested, 0);
    world_epoch++;
    mr__self->state = MR_THREAD_RUNNING;
    pthread_cond_broadcast(&resumed);
    pthread_mutex_unlock(&sched_lock);
}

/* The program's context at its call of mr_stop_the_world, kept for the
 * scans while the world stays stopped (see entry_ctx in thread.h). */
static void hold_world(mr_thread *self, const unw_context_t *ctx, uintptr_t sp)
{
    self->entry_ctx = *ctx;
    self->entry_sp = sp;
    self->has_entry_ctx = true;
}

#if MR_BLOCKING_ENTRY_ASM
/* The C part of mr_stop_the_world on x86-64: the entry hands over the
 * caller's context (thread_x86_64.S), which unwinding used to recover. */
__attribute__((used, visibility("hidden"))) void mr__stop_the_world_regs(const entry_regs *r)
{
    mr_thread *self = mr__me();
    unw_context_t ctx;
    context_from_regs(&ctx, r);
    mr__world_stop(false, r->pc);
    hold_world(self, &ctx, r->sp);
}
#else
MR_ENTRY void mr_stop_the_world(void)
{
    mr_thread *self = mr__me();
    unw_context_t ctx;
    uintptr_t sp;
    mr__save_context_above(&ctx, &sp, 1);
    mr__world_stop(false, MR_CALLER);
    hold_world(self, &ctx, sp);
}
#endif

void mr_start_the_world(void)
{
    mr__self->has_entry_ctx = false;
    mr__world_start();
}

/* The collector's entry points mark the thread like the runtime's own
 * (see "entry points" in internal.h), and the outermost one also saves the
 * program's context at the call, which the thread's stack scans use from
 * then on (see call_ctx in thread.h). A thread that is not attached is left
 * alone: attaching would make it a mutator bound by the blocking rule. */
#if MR_BLOCKING_ENTRY_ASM
/*
 * The program's context at its call of the library's entry point, one
 * frame above the caller of mr_call_begin: what the entry point saved of
 * the program's callee-saved registers lies in its frame, where only its
 * unwind table says. Unwinding costs tens of microseconds a call, so each
 * thread keeps what unwinding found for the last few call sites (the
 * return address into the entry point): the distance from the entry
 * point's stack pointer at the call to the program's (its canonical frame
 * address, CFA), and where, relative to the CFA, the entry point saved
 * each register. A frame of fixed size at that call gives the same
 * layout every time; one that is not (alloca) is caught by the word below
 * the CFA, which must be the program's resume address, and unwound anew.
 */
enum { SAVED_REGS = 6, NOT_SAVED = INT32_MIN };
static const int unw_saved[SAVED_REGS] = {UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
                                          UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15};

/* Unwinds from the entry point's context r (with ctx made from it) to the
 * program's frame and describes it in *s; false if libunwind cannot, or
 * the frame found is not the one that `caller` returns to. */
static bool learn_call_site(const entry_regs *r, unw_context_t *ctx, uintptr_t caller,
                            mr_call_site *s)
{
    unw_cursor_t c;
    unw_word_t cfa, pc;
    if (unw_init_local(&c, ctx) != 0 || unw_step(&c) <= 0 ||
        unw_get_reg(&c, UNW_X86_64_RSP, &cfa) != 0 || unw_get_reg(&c, UNW_X86_64_RIP, &pc) != 0)
        return false;
    if (pc != caller || cfa < r->sp + 8 || cfa - r->sp > INT32_MAX) return false;
    s->pc = r->pc;
    s->cfa_off = (uint32_t)(cfa - r->sp);
    for (int i = 0; i < SAVED_REGS; i++) {
        unw_save_loc_t loc;
        if (unw_get_save_loc(&c, unw_saved[i], &loc) != 0) return false;
        uintptr_t a = loc.u.addr;
        if (loc.type == UNW_SLT_NONE ||
            (loc.type == UNW_SLT_MEMORY && a >= (uintptr_t)ctx && a < (uintptr_t)(ctx + 1)))
            s->save[i] = NOT_SAVED; /* still in the register at the call */
        else if (loc.type == UNW_SLT_MEMORY && a >= r->sp && a + 8 <= cfa)
            s->save[i] = (int32_t)(a - cfa); /* in the entry point's frame */
        else
            return false;
    }
    return true;
}

/* Saves into t->call_ctx/call_sp the program's context at its call of the
 * entry point that called mr_call_begin (r: that entry point's context at
 * the call). Where nothing is known, the entry point's own context stands
 * in (more conservative, never less). The words read lie on the thread's
 * stack, in the entry point's frame or where a wrong guess of it points. */
NO_ASAN static void save_program_context(mr_thread *t, const entry_regs *r, uintptr_t caller)
{
    unw_context_t *ctx = &t->call_ctx;
    context_from_regs(ctx, r);
    t->call_sp = r->sp;
    mr_call_site *s = NULL;
    for (int i = 0; i < MR_CALL_SITES; i++)
        if (t->call_sites[i].pc == r->pc) s = &t->call_sites[i];
    uintptr_t cfa = s ? r->sp + s->cfa_off : 0;
    if (!s || cfa > t->cur_hi || *(const uintptr_t *)(cfa - 8) != caller) {
        s = &t->call_sites[t->next_call_site];
        pthread_rwlock_rdlock(&unwind_gate); /* (see fork_prepare) */
        bool learnt = learn_call_site(r, ctx, caller, s);
        pthread_rwlock_unlock(&unwind_gate);
        if (!learnt) {
            s->pc = 0;
            return;
        }
        t->next_call_site = (t->next_call_site + 1) % MR_CALL_SITES;
        cfa = r->sp + s->cfa_off;
    }
    const uintptr_t at_call[SAVED_REGS] = {r->rbx, r->rbp, r->r12, r->r13, r->r14, r->r15};
    static const int greg[SAVED_REGS] = {REG_RBX, REG_RBP, REG_R12, REG_R13, REG_R14, REG_R15};
    for (int i = 0; i < SAVED_REGS; i++)
        ctx->uc_mcontext.gregs[greg[i]] =
            (greg_t)(s->save[i] == NOT_SAVED ? at_call[i]
                                             : *(const uintptr_t *)(cfa + (intptr_t)s->save[i]));
    ctx->uc_mcontext.gregs[REG_RSP] = (greg_t)cfa;
    ctx->uc_mcontext.gregs[REG_RIP] = (greg_t)caller;
    t->call_sp = cfa;
}

__attribute__((used, visibility("hidden"))) uintptr_t mr__call_begin_regs(const entry_regs *r,
                                                                          const void *caller)
{
    mr_thread *t = mr__self;
    if (!t) return 0;
    uintptr_t outer = mr__enter(t, (uintptr_t)caller);
    if (!outer) {
        save_program_context(t, r, (uintptr_t)caller);
        t->has_call_ctx = true;
    }
    return outer;
}
#else
__attribute__((noinline)) uintptr_t mr_call_begin(const void *caller)
{
    mr_thread *t = mr__self;
    if (!t) return 0;
    uintptr_t outer = mr__enter(t, (uintptr_t)caller);
    if (!outer) {
        /* frame 1 is the library's entry point, 2 the program's caller */
        mr__save_context_above(&t->call_ctx, &t->call_sp, 2);
        t->has_call_ctx = true;
    }
    return outer;
}
#endif

void mr_call_end(uintptr_t outer)
{
    mr_thread *t = mr__self;
    if (!t) return;
    mr__leave(t, outer);
    if (!outer) t->has_call_ctx = false;
}

void mr_exiting(void)
{
    mr_thread *t = mr__self;
    if (t) t->exiting = true;
}
