/*
 * src/rt/mark.h -- the mark phase (see mark.c): from the roots to every
 * reachable object, on several worker threads.
 */
#ifndef MR_RT_MARK_H
#define MR_RT_MARK_H

#include "rt/heap.h"

/* Starts the helper workers (once, at runtime initialization) and returns
 * once each runs its own code: none is then in a thread's start-up, which
 * allocates (see mark.c). */
void mr__mark_init(void);

/* Helpers that have begun their own code. For tests. */
int mr__mark_helpers_up(void);

/* In a forked child: the helper threads stayed in the parent, so the
 * child marks alone (called with no collection under way). */
void mr__mark_fork_child(void);

/* Marks everything reachable from the roots. World stopped, every span
 * swept (mark bytes clear); on return every reachable object's mark byte
 * is set. */
void mr__mark(void);

/* Number of workers marking (the collecting thread included). */
int mr__mark_workers(void);

/* Mark phases the helpers joined so far (they join only a phase with work
 * to share: see mark.c). For tests. */
uint64_t mr__mark_helper_phases(void);

/* roots.c: hands every root word to mark. */
void mr__scan_roots(void (*mark)(uintptr_t word));

/* roots.c: registers the roots' fork handlers now if they are not yet.
 * The runtime calls it before registering its own, so that a fork takes
 * the roots' lock after the scheduler and heap locks (prepare handlers
 * run in the reverse order of registration), the order a collection
 * takes them in: the other order could deadlock a fork against one. */
void mr__roots_fork_order(void);

#endif
