/*
 * src/rt/handles.h -- handle tables: small fixed-size records named by
 * 32-bit handles that the program holds (pins, fiber stacks).
 *
 * Design. A handle is an index + 1 into one array of records, so 0 never
 * names a record and a stale or forged handle is caught by a bounds and a
 * liveness check instead of a hash lookup. The array doubles when full
 * (amortised O(1) insertion; records move, so a pointer to one is good
 * only until the next mr__handles_add). Freed records are chained into a
 * free list through a side array of links and reused last-freed first, so
 * the array never grows past the most records live at once and the
 * handles of live records never change. Iteration walks handles 1..n and
 * skips freed ones: it is O(records ever live at once), which is small for
 * what uses the table.
 *
 * Invariants, kept by every function here: 0 <= free_head <= n <= cap;
 * link[h - 1] == HANDLE_LIVE exactly for live handle h; a free handle's
 * link is the next free handle (0 ends the list); the free list holds
 * every freed handle once.
 *
 * Thread rules: none of its own. The owner serialises every call on a
 * table (roots.c holds roots_lock, fiber.c fiber_lock).
 */
#ifndef MR_RT_HANDLES_H
#define MR_RT_HANDLES_H

#include <stddef.h>
#include <stdint.h>

typedef struct mr_handles {
    unsigned char *recs; /* cap records of size bytes; handle h is record h - 1 */
    uint32_t *link;      /* per record: HANDLE_LIVE, or the next free handle */
    uint32_t n;          /* handles 1..n have been handed out */
    uint32_t cap;        /* records allocated */
    uint32_t free_head;  /* the last handle freed (0: none free) */
    uint32_t size;       /* bytes in a record */
    uint32_t first_cap;  /* records allocated by the first growth */
} mr_handles;

/* A table of records of type T, empty, usable as a static initialiser;
 * first is how many records its first allocation holds (> 0). */
#define MR_HANDLES_INIT(T, first) {.size = sizeof(T), .first_cap = (first)}

/* Adds a record and returns its handle (>= 1); the record is zeroed. The
 * record of a handle freed earlier is reused first. Returns 0, the table
 * unchanged, when memory (or the 32-bit handle space) is exhausted. */
uint32_t mr__handles_add(mr_handles *t);

/* The live record of handle h, or NULL when h is 0, was never handed out
 * or was freed. The pointer is good until the next mr__handles_add. */
void *mr__handles_get(const mr_handles *t, uint32_t h);

/* Frees the record of live handle h (asserted): its handle may be handed
 * out again by mr__handles_add. */
void mr__handles_remove(mr_handles *t, uint32_t h);

/* One past the largest handle handed out: iterate h = 1 .. end - 1 and
 * skip the handles whose mr__handles_get is NULL. */
static inline uint32_t mr__handles_end(const mr_handles *t)
{
    return t->n + 1;
}

#endif
