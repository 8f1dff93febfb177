/*
 * tests/scenarios/twin_reload.c -- two maps of one type under two fields
 * of one global struct that trade fields at every step, and that a reload
 * clears and refills together in one of those steps: both draw new seeds
 * there, so neither keeps the seed it had, though each is the map it was.
 *
 * TRUTH. The global `pools` points at a Pools struct with two fields of
 * type map[int64]*Conn, `hot` and `cold`. Six in-process snapshots "s0" ..
 * "s5", one after each step:
 *   active  a map that gains 1,500 entries (keys never reused, 256-byte
 *           blobs) every step: 1,500 in s0 .. 9,000 in s5. The leak.
 *   idle    a map of exactly 400 entries (keys 0 .. 399; its values
 *           replaced every step): bounded.
 * Before every snapshot but s0 the program swaps the two fields: active is
 * under hot in s0, s2, s4 and under cold in s1, s3, s5. Before s3 a reload
 * clears both maps (Go's clear: count 0, the buckets kept, a new seed each)
 * and refills them: active with its 4,500 keys (new values) and then its
 * 1,500 new ones, idle with its 400. Neither map is ever freed or
 * replaced: the clear keeps each header and its bucket array (the program
 * checks), and each map is the one it was.
 *   maproot diff s2 s3: active +1,500 -0, 4,500 -> 6,000, growing; idle
 *     +0 -0, 400 -> 400, not growing.
 *   maproot gate s0 .. s5: fails on active alone (growth), whose points
 *     are its own figures in every snapshot; idle passes.
 * Every count and retained figure is the runtime's own.
 */
#include "scenario.h"

enum { STEPS = 6, ACTIVE = 1500, IDLE = 400, BLOB = 256, IDLE_BLOB = 64, RELOAD = 3 };

SC_ITEM_TYPE(conn_type, Conn);

static const mr_map_type pool_type = {"map[int64]*Conn", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct Pools {
    int64_t swaps;
    mr_map *hot;
    mr_map *cold;
} Pools;
MR_TYPE(pools_type, Pools, MR_FIELD(Pools, hot), MR_FIELD(Pools, cold));

static Pools *pools;
MR_GLOBAL(pools)

/* The maps themselves, for the truth (no roots: only registered globals
 * are). */
static mr_map *active, *idle;

/* Clears m (checking that it keeps its buckets and draws a new seed). */
static void reload(mr_map *m)
{
    mr_map_info before, after;
    sc_map_info(m, &before);
    mr_map_clear(m);
    sc_map_info(m, &after);
    if (mr_map_len(m) != 0 || after.hash0 == before.hash0 || after.buckets != before.buckets)
        sc_fail("clear did not keep the buckets and draw a new seed");
}

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        pools = mr_new(&pools_type);
        pools->hot = active = mr_map_new(&pool_type, 0);
        pools->cold = idle = mr_map_new(&pool_type, 0);
    } else {
        mr_map *t = pools->hot;
        pools->hot = pools->cold;
        pools->cold = t;
        pools->swaps++;
    }
    if (s == RELOAD) {
        reload(active);
        reload(idle);
        sc_fill(active, &conn_type, 0, (int64_t)s * ACTIVE, BLOB);
    }
    sc_fill(active, &conn_type, (int64_t)s * ACTIVE, ACTIVE, BLOB);
    sc_fill(idle, &conn_type, 0, IDLE, IDLE_BLOB);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "active", active);
    sc_truth_map(snapshot, "idle", idle);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(active) != STEPS * ACTIVE || mr_map_len(idle) != IDLE)
        sc_fail("the maps have the wrong counts");
    if (pools->cold != active) sc_fail("active is not under cold at the end");
    return rc;
}
