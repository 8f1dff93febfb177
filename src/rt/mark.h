/*
 * src/rt/mark.h -- the mark phase (see mark.c): from the roots to every
 * reachable object, on several worker threads.
 */
#ifndef MR_RT_MARK_H
#define MR_RT_MARK_H

#include "rt/heap.h"

/* Starts the helper workers (once, at runtime initialization). */
void mr__mark_init(void);

/* Marks everything reachable from the roots. World stopped, mark bits
 * cleared; on return every reachable object's mark bit is set. */
void mr__mark(void);

/* Number of workers marking (the collecting thread included). */
int mr__mark_workers(void);

/* roots.c: hands every root word to mark. */
void mr__scan_roots(void (*mark)(uintptr_t word));

#endif
