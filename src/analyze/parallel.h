/*
 * src/analyze/parallel.h -- running a piece of the analysis on several
 * threads at once.
 *
 * The analysis of a big heap is memory-bound walks over arrays; where a walk
 * splits into parts that write disjoint memory (the reverse edges by target
 * range, say), mp_parallel runs the parts on as many threads as there are
 * processors, the calling thread being one of them, and returns when all are
 * done. Results never depend on the number of threads.
 *
 * mp_threads(): the processors online, or MAPROOT_THREADS when set (1:
 * everything on the calling thread), at most MP_THREADS_MAX.
 *
 * Threads: fn(arg, t, n) is called once for each t in 0..n-1, concurrently;
 * whatever it shares must be read-only or split by t. Failing to start a
 * thread is no error: its part then runs on the calling thread.
 */
#ifndef MP_PARALLEL_H
#define MP_PARALLEL_H

#include <stddef.h>

#define MP_THREADS_MAX 16

unsigned mp_threads(void);

void mp_parallel(unsigned n, void (*fn)(void *arg, unsigned t, unsigned n), void *arg);

#endif
