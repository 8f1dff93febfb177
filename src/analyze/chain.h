/*
 * src/analyze/chain.h -- the chain a report shows for an object or a map
 * entry: the steps from the root that keeps it (its path, paths.h) down to
 * it, a map's header, bucket, overflow bucket and slot told apart, a long
 * chain cut in the middle; and each step and root in words.
 *
 * Memory: the caller's arrays and buffers; nothing kept. Threads: any.
 */
#ifndef MP_CHAIN_H
#define MP_CHAIN_H

#include "analyze/graph.h"
#include "analyze/paths.h"

typedef enum mp_step_kind {
    MP_STEP_ROOT,     /* a: root index */
    MP_STEP_OBJECT,   /* a: object */
    MP_STEP_MAP,      /* a: header object, map: the map */
    MP_STEP_BUCKET,   /* a: bucket object; index, old: which bucket of the array */
    MP_STEP_OVERFLOW, /* a: overflow bucket object; overflow: its depth */
    MP_STEP_SLOT,     /* slot: the slot of the entry; a: the entry index */
    MP_STEP_ELIDED,   /* index: how many steps of a long chain are left out here */
} mp_step_kind;

typedef struct mp_step {
    uint8_t kind;
    uint8_t old;
    uint8_t slot;
    uint32_t a;
    uint32_t map;
    uint32_t overflow;
    uint64_t index;
} mp_step;

/* Steps a chain shows at most: a longer one keeps its first quarter and
 * its end (every report, in every format, shows the same). */
#define MP_CHAIN_STEPS 24
/* What mp_chain_object and mp_chain_entry cost in proportion to max, not
 * to the chain's length, for max up to this (a larger max walks). */
#define MP_CHAIN_STEPS_MAX 256

/* The chain from its root to object o (root step first), or to entry e's
 * slot (mp_chain_entry: ... -> bucket[i] -> overflow#k -> slot j). Writes at
 * most max steps and returns how many (0 if unreachable): a longer chain
 * keeps its first max/4 steps and its last ones, with one MP_STEP_ELIDED
 * step between them (max of 8 or more). */
size_t mp_chain_object(const mp_graph *g, const mp_paths *p, uint32_t o, mp_step *steps,
                       size_t max);
size_t mp_chain_entry(const mp_graph *g, const mp_paths *p, uint32_t e, mp_step *steps, size_t max);
/* How many steps of the whole chain the n steps s shown leave out (the
 * sum of their MP_STEP_ELIDED steps'), 0 when s is the whole chain; the
 * whole chain has n - (elided steps among s) + that many steps. */
uint64_t mp_chain_elided(const mp_step *s, size_t n);
uint64_t mp_chain_length(const mp_step *s, size_t n);

/* One step for people: "global session_cache", "map header 0x7f3a1c000040
 * (B=15, 120000 entries)", "bucket[21877]", "overflow#1", "slot 5",
 * "Session 0x7f3a1c100000". */
void mp_step_text(const mp_graph *g, const mp_step *s, char *buf, size_t size);
/* A root for people: "global session_cache (examples/sessiond.c:31)",
 * "stack: thread 2, frame #3 worker_loop (examples/local_map.c:40)". */
void mp_root_text(const mp_graph *g, uint32_t root, char *buf, size_t size);

#endif
