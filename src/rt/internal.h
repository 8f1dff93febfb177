/*
 * src/rt/internal.h -- what the runtime's modules share and nobody else sees.
 *
 * heap.c   size classes, spans, the page map, allocation, sweep
 * gc.c     marking, pacing, statistics, the stop-the-world protocol's driver
 * roots.c  globals, pins, iterator registry, stack/register scanning
 * thread.c mutator threads, safepoints, the blocking rule
 * map*.c   Go-style hash maps (map_internal.h: which file does what);
 *          hash.c their seeded hash functions
 */
#ifndef MR_RT_INTERNAL_H
#define MR_RT_INTERNAL_H

#include "maproot/rt.h"

#include <stdatomic.h>
#include <stdnoreturn.h>

#define MR_LIKELY(x) __builtin_expect(!!(x), 1)
#define MR_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* For functions that read a thread's stack as the collector does, words
 * the program never wrote or a sanitizer guards included. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_ASAN __attribute__((no_sanitize("address")))
#endif
#endif
#if !defined(NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#define NO_ASAN __attribute__((no_sanitize_address))
#endif
#ifndef NO_ASAN
#define NO_ASAN
#endif

/* Stops the program with "maproot runtime: fatal error: <message>" (Go's throw). */
noreturn void mr__throw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fast per-thread pseudo-random number (not for cryptography). */
uint64_t mr__rand64(void);

/*
 * ---- entry points ----
 * A public function the program calls that may allocate, stop the calling
 * thread or run a collection is an entry point. Tools must show the program's
 * frames, never the runtime's (nor the collector's), whatever the build:
 * optimized, without debug information, stripped, statically linked or
 * linked with LTO. So the runtime does not find its own frames by name or
 * by file; it knows where the program called it: every entry point is
 * MR_ENTRY (never inlined: it has a frame and a return address into the
 * program) and takes MR_CALLER, the return address of the program's call.
 *   - The allocation functions pass it down their slow paths as `caller`;
 *     the fast path pays nothing for it. The map operations pass theirs
 *     down to the map's own allocations (mr__map_new, mr__map_new_array),
 *     which also say the allocation is a map's.
 *   - The collector's entry points call the runtime's public functions:
 *     they mark the thread (mr_call_begin, mr__enter), and the outermost
 *     mark wins, so what the runtime does inside is charged to the
 *     program's call, not to the collector's.
 * mr__caller() picks the mark or else the local caller. Where a thread
 * stops (parks, blocks, collects), the program's call is kept in stop_pc,
 * and its stack roots start at the frame that holds that return address;
 * the allocation hook is given it for the same purpose (mr_alloc_call).
 */
#define MR_ENTRY __attribute__((noinline))
#define MR_CALLER ((uintptr_t)__builtin_return_address(0))

/* ---- safepoints (thread.c) ---- */

/* Non-zero while a collection wants every mutator stopped. */
extern atomic_int mr__stop_requested;

/* Parks the calling mutator until the world restarts; saves its registers and
 * stack pointer first so its stack can be scanned. caller: see entry points. */
void mr__park(uintptr_t caller);

/* The safepoint poll every runtime entry point makes: one load and a branch.
 * caller: see entry points. */
static inline void mr__poll(uintptr_t caller)
{
    if (MR_UNLIKELY(atomic_load_explicit(&mr__stop_requested, memory_order_relaxed)))
        mr__park(caller);
}

/* Makes sure the calling thread is attached and the runtime initialized. */
void mr__ensure_thread(void);

/* ---- iterators as roots (roots.c) ---- */

/* Registers a live iterator of the calling thread (a root until unregistered). */
void mr__iter_register(mr_map_iter *it);
void mr__iter_unregister(mr_map_iter *it);

/* ---- maps (map*.c), for the collector's internals ---- */

/* The last map id handed out (ids count from 1). A map takes one when it is
 * listed (see the registry in map_inspect.c): maps made before the first walk are
 * numbered by it, later ones as they are made. */
extern atomic_uint_fast64_t mr__maps_created;

/* An entry of the map registry (see map_inspect.c). */
typedef struct mr_map_reg {
    mr_map *map;
    uint64_t id;
} mr_map_reg;

/* Test hooks (tests only; never used by the runtime itself):
 * mr__map_test_identity_hash makes the hash of each key of m (an empty map
 *   with 8-byte keys) the key itself, seed ignored, so tests can put keys in
 *   chosen buckets (low bits) and force overflow chains and same-size growth;
 * mr__map_test_set_writing sets or clears m's "write in progress" flag, as a
 *   writer on another thread would, to test the concurrent-write check. */
void mr__map_test_identity_hash(mr_map *m);
void mr__map_test_set_writing(mr_map *m, bool on);
/* Test hook: when set (NULL unsets), mr_map_new calls fn after the map's
 * header is made and before the map is listed (where a collection may stop
 * the maker). */
void mr__map_test_set_after_header(void (*fn)(void));

#endif
