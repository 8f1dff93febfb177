/*
 * src/analyze/timing.h -- where an analysis spends its time and memory.
 *
 * With `maproot analyze --timings`, each phase of loading and analysing a
 * heap ends with one line on the stream given to mp_timing_enable:
 *   maproot: timing  PHASE  wall 1.23s  cpu 2.10s  rss 812.4MiB  peak 903.1MiB
 *            sys 0.41s  faults 103442
 * (one line): wall and cpu (the process's user + system time, all threads)
 * since the phase began, the resident memory now and its peak so far, and
 * of the phase's cpu the system time and the minor page faults (fresh
 * pages the kernel zeroed). Disabled (the
 * default), mp_timing_mark costs a branch.
 *
 * Threads: marks come from the thread that runs the analysis.
 */
#ifndef MP_TIMING_H
#define MP_TIMING_H

#include <stdio.h>

void mp_timing_enable(FILE *out);
/* Ends the phase `name` (and starts the next). */
void mp_timing_mark(const char *name);

#endif
