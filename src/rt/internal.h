/*
 * src/rt/internal.h -- what the runtime's modules share and nobody else sees.
 *
 * heap.c   size classes, spans, the page map, allocation, sweep
 * gc.c     marking, pacing, statistics, the stop-the-world protocol's driver
 * roots.c  globals, pins, iterator registry, stack/register scanning
 * thread.c mutator threads, safepoints, the blocking rule
 * map.c    Go-style hash maps; hash.c their seeded hash functions
 */
#ifndef MR_RT_INTERNAL_H
#define MR_RT_INTERNAL_H

#include "maproot/rt.h"

#include <stdatomic.h>
#include <stdnoreturn.h>

#define MR_LIKELY(x) __builtin_expect(!!(x), 1)
#define MR_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Stops the program with "maproot runtime: fatal error: <message>" (Go's throw). */
noreturn void mr__throw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fast per-thread pseudo-random number (not for cryptography). */
uint64_t mr__rand64(void);

/* ---- safepoints (thread.c) ---- */

/* Non-zero while a collection wants every mutator stopped. */
extern atomic_int mr__stop_requested;

/* Parks the calling mutator until the world restarts; saves its registers and
 * stack pointer first so its stack can be scanned. */
void mr__park(void);

/* The safepoint poll every runtime entry point makes: one load and a branch. */
static inline void mr__poll(void)
{
    if (MR_UNLIKELY(atomic_load_explicit(&mr__stop_requested, memory_order_relaxed))) mr__park();
}

/* Makes sure the calling thread is attached and the runtime initialized. */
void mr__ensure_thread(void);

/* ---- iterators as roots (roots.c) ---- */

/* Registers a live iterator of the calling thread (a root until unregistered). */
void mr__iter_register(mr_map_iter *it);
void mr__iter_unregister(mr_map_iter *it);

/* ---- maps (map.c), for the collector's internals ---- */

/* Number of map objects ever created (for stats/tests). */
extern atomic_uint_fast64_t mr__maps_created;

/* Test hooks (tests only; never used by the runtime itself):
 * mr__map_test_identity_hash makes the hash of each key of m (an empty map
 *   with 8-byte keys) the key itself, seed ignored, so tests can put keys in
 *   chosen buckets (low bits) and force overflow chains and same-size growth;
 * mr__map_test_set_writing sets or clears m's "write in progress" flag, as a
 *   writer on another thread would, to test the concurrent-write check. */
void mr__map_test_identity_hash(mr_map *m);
void mr__map_test_set_writing(mr_map *m, bool on);

#endif
