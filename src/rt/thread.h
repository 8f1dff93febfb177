/*
 * src/rt/thread.h -- mutator threads and the stop-the-world protocol.
 *
 * Every attached thread has an mr_thread. Its state moves, always under
 * sched_lock, between RUNNING (may touch the heap), PARKED (stopped at a
 * safepoint for a collection) and BLOCKING (inside mr_blocking_enter/exit).
 * When a thread leaves RUNNING it first saves its registers (ctx) and stack
 * pointer (sp): the collector scans [sp, stack_hi) and ctx for that thread.
 *
 * The world is stopped when stop_requested is set and no attached thread but
 * the collector is RUNNING. stop_requested is only written under sched_lock;
 * mutators read it without the lock at safepoints (mr__poll) and take the lock
 * to park.
 */
#ifndef MR_RT_THREAD_H
#define MR_RT_THREAD_H

#include "rt/heap.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

enum { MR_THREAD_RUNNING, MR_THREAD_PARKED, MR_THREAD_BLOCKING };

/* What unwinding found of a library entry point's frame at one call of
 * mr_call_begin (see save_program_context in thread.c). */
typedef struct mr_call_site {
    uintptr_t pc;     /* the return address into the entry point; 0: none */
    uint32_t cfa_off; /* the program's stack pointer minus the entry's */
    int32_t save[6];  /* rbx rbp r12-r15: where saved, from that stack pointer */
} mr_call_site;
enum { MR_CALL_SITES = 4 };

typedef struct mr_thread {
    uint32_t id; /* 1 = the first thread attached */
    int state;   /* guarded by sched_lock */
    uintptr_t stack_lo, stack_hi;
    /* The thread pointer (the thread's descriptor, where its static
     * thread-local storage is found), 0 where unknown. For a thread that
     * pthread_create made, the C library puts both at the top of the
     * thread's stack mapping, above its outermost frame: words there are
     * scanned with the stack, but are no frame's. The main thread's lie
     * where the dynamic linker put them: its blocks are scanned apart,
     * found from tp (see modules.h). */
    uintptr_t tp;
    char tls_name[48]; /* "thread-local storage of thread N" */
    uintptr_t sp;      /* saved when not RUNNING */
    unw_context_t ctx; /* saved when not RUNNING */
    /* While this thread collects or holds the world stopped: the context of
     * the code that called into the runtime. Its frames are the thread's
     * stack roots; the runtime's own frames below them are not (they hold
     * nothing of the program's, only stale words that would keep garbage). */
    bool has_entry_ctx;
    uintptr_t entry_sp;
    unw_context_t entry_ctx;
    /* While this thread is inside a library's entry point (mr_call_begin,
     * e.g. mrc_write_snapshot): the context of the program's call, as it
     * will be when the call returns. The library's frames below it hold
     * none of the program's pointers (such a library never keeps heap
     * objects), only stale words left by earlier calls; so the thread's
     * stack roots are the program's frames from call_sp up, and the
     * registers those frames will have again. */
    bool has_call_ctx;
    uintptr_t call_sp;
    unw_context_t call_ctx;
    mr_call_site call_sites[MR_CALL_SITES]; /* the owner's only */
    int next_call_site;
    bool exiting; /* after mr_exiting(): its stack is no root any more */
    /* The stack the thread runs on: its own (fiber 0) or the registered
     * fiber stack `fiber` (mr_stack_switch); [cur_lo, cur_hi) are its
     * bounds. While on a fiber, own_sp and own_ctx say where the thread's
     * own stack stood when it left it: its frames there are roots still,
     * from own_sp up. Written by the owner only, read with the world
     * stopped. Invariant: a running thread's stack pointer lies in
     * [cur_lo, cur_hi) unless the program switched stacks without telling. */
    uint32_t fiber;
    uintptr_t cur_lo, cur_hi;
    uintptr_t own_sp;
    unw_context_t own_ctx;
    /* Where the program called the runtime (return addresses in the
     * program; see "entry points" in internal.h). entry_pc: the outermost
     * marking entry point the thread is in (0: none). stop_pc: the program's
     * call the thread was in when
     * it last stopped (parked, blocked, detached or collecting); its stack
     * roots start at the frame that holds it. */
    uintptr_t entry_pc;
    uintptr_t stop_pc;
    mr_tcache tc;
    /* Cumulative counters, written by the owner only (relaxed atomics so
     * that mr_read_memstats may read them from another thread). */
    atomic_uint_fast64_t mallocs, alloc_bytes;
    /* Sampling: bytes left until the next sampled allocation. */
    int64_t sample_left;
    uint64_t rng;
    /* Maps this thread made since the last collection (owner appends; a
     * collection moves them to the registry: see map_inspect.c). */
    mr_map_reg *new_maps;
    size_t nnew_maps, cap_new_maps;
    /* Live iterators of this thread (owner adds/removes; GC prunes dead ones). */
    mr_map_iter **iters;
    size_t niters, cap_iters;
    struct mr_thread *next;
} mr_thread;

/* The calling thread's record, or NULL if it is not attached. */
extern __thread mr_thread *mr__self;

/* The calling thread's record, attaching it (and initializing the runtime) on
 * first use. */
static inline mr_thread *mr__me(void)
{
    mr_thread *t = mr__self;
    if (MR_UNLIKELY(t == NULL)) {
        mr__ensure_thread();
        t = mr__self;
    }
    return t;
}

/* The program's call behind a slow path of an entry point that was given
 * `caller`: the outermost marked entry point's, else caller. */
static inline uintptr_t mr__caller(const mr_thread *t, uintptr_t caller)
{
    return t->entry_pc ? t->entry_pc : caller;
}

/* Marks t as inside an entry point called from `caller` unless an outer one
 * already did; returns what mr__leave restores. */
static inline uintptr_t mr__enter(mr_thread *t, uintptr_t caller)
{
    uintptr_t outer = t->entry_pc;
    if (!outer) t->entry_pc = caller;
    return outer;
}

static inline void mr__leave(mr_thread *t, uintptr_t outer)
{
    t->entry_pc = outer;
}

/*
 * Saves what the collector needs to scan a stopped thread: its registers
 * (unw_getcontext writes them unmangled, unlike setjmp) and a stack pointer
 * below every frame that may hold a root. Must be used in a frame that stays
 * live while the thread's stack is scanned: a thread that stops the world
 * saves again inside the scan, since the frame that stopped has returned.
 */
#if defined(__x86_64__)
/* The stack pointer of the saving frame, exactly: nothing below it is live. */
#define SAVED_SP(t) ((uintptr_t)(t)->ctx.uc_mcontext.gregs[REG_RSP])
#else
#define SAVED_SP(t) ((uintptr_t)__builtin_frame_address(0) - 256)
#endif
#define SAVE_CONTEXT(t)                                                                            \
    do {                                                                                           \
        unw_getcontext(&(t)->ctx);                                                                 \
        (t)->sp = SAVED_SP(t);                                                                     \
    } while (0)

/*
 * Saves into (*ctx, *sp) the context of the frame `up` levels above the
 * caller of this function (up = 1: the caller's caller), recovered by
 * unwinding: its stack pointer and its callee-saved registers as they will be
 * when control returns to it. Falls back to the caller's own context (more
 * conservative, never less) where unwinding fails.
 */
void mr__save_context_above(unw_context_t *ctx, uintptr_t *sp, int up);

/* Where mr_blocking_enter saves its caller's context without unwinding: an
 * assembly entry (thread_x86_64.S) hands it the registers as they stood at
 * the call. Elsewhere it unwinds one frame (mr__save_context_above). */
#if defined(__x86_64__) && defined(__LP64__) && defined(__linux__)
#define MR_BLOCKING_ENTRY_ASM 1
#else
#define MR_BLOCKING_ENTRY_ASM 0
#endif

/* The stack range and saved registers the collector scans for thread t. */
static inline void mr__thread_scan_context(const mr_thread *t, const unw_context_t **ctx,
                                           uintptr_t *sp)
{
    if (t->has_call_ctx) {
        *ctx = &t->call_ctx;
        *sp = t->call_sp;
    } else if (t->has_entry_ctx) {
        *ctx = &t->entry_ctx;
        *sp = t->entry_sp;
    } else {
        *ctx = &t->ctx;
        *sp = t->sp;
    }
}

/* The attached threads (walk only with the world stopped or sched_lock held). */
extern mr_thread *mr__threads;

/* Stops every other mutator; the caller becomes the collector. Returns false
 * if another thread already ran a collection while the caller was parked in
 * the attempt and want_gc_once was set (so the caller need not run another).
 * caller: the program's call (see entry points), for the roots of the
 * caller's own stack. */
bool mr__world_stop(bool want_gc_once, uintptr_t caller);
void mr__world_start(void);

/* The map registry (map_inspect.c). mr__maps_adopt moves t's new maps into it
 * (world stopped, or sched_lock held outside a collection); mr__maps_prune,
 * after marking, adopts every thread's and drops the headers not marked. */
void mr__maps_adopt(mr_thread *t);
void mr__maps_prune(void);
/* True during the MR_GC_MARK_DONE event (the collecting thread's). */
extern bool mr__marks_valid;

/* Iterators that outlive their thread (roots.c). mr__iters_orphan, as t
 * detaches (sched_lock held, no collection running), keeps its open
 * iterators that lie off its own stack as roots of no thread until some
 * thread ends them; mr__iters_end_in ends every iterator in [lo, hi), a
 * fiber stack being unregistered (world stopped). */
void mr__iters_orphan(mr_thread *t);
void mr__iters_end_in(uintptr_t lo, uintptr_t hi);

/* Whether a thread with this id is attached (takes sched_lock). */
bool mr__thread_id_attached(uint32_t id);

/* Counters of threads that have detached, folded in by mr_read_memstats. */
extern atomic_uint_fast64_t mr__retired_mallocs, mr__retired_alloc_bytes;

/* The number of completed collections (written by the collector under stop). */
extern atomic_uint mr__gc_cycles;

#endif
