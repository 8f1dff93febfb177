/*
 * src/rt/fiber.h -- the registry of fiber stacks: stacks the program
 * allocates itself and switches threads onto (makecontext/swapcontext,
 * coroutine libraries), which the runtime cannot find on its own.
 *
 * The public half is in include/maproot/rt.h (mr_stack_register,
 * mr_stack_unregister, mr_stack_switch); this is what the root scan uses.
 * Every function here is called with the world stopped.
 */
#ifndef MR_RT_FIBER_H
#define MR_RT_FIBER_H

#include "rt/thread.h"

/* A suspended fiber stack: the words its frames may hold, [sp, hi), and the
 * registers saved when it was left; name is its label (mr_stack_register). */
typedef struct mr_fiber_view {
    uintptr_t sp, hi;
    const unw_context_t *ctx;
    const char *name;
} mr_fiber_view;

/* Calls fn for every registered fiber stack that no thread runs on and
 * that a thread has left (a stack never entered holds nothing yet). */
void mr__fiber_each_suspended(void (*fn)(const mr_fiber_view *f, void *ud), void *ud);

/* Fork handlers: the registry's lock is held across a fork (taken after
 * the roots' lock, see roots.c), so the child's copy is whole and free. */
void mr__fiber_fork_prepare(void);
void mr__fiber_fork_after(void);

#endif
