/*
 * tests/scenarios/twin_fields.c -- two maps of one type under two fields
 * of one global struct, one of them leaking, that trade fields at every
 * step; the one that stays bounded is also cleared and refilled once.
 *
 * TRUTH. The global `caches` points at a Caches struct with two fields of
 * type map[int64]*Entry, `primary` and `fallback`. Six in-process
 * snapshots "s0" .. "s5", one after each step:
 *   users   a map that gains 1,500 entries (keys never reused, 256-byte
 *           blobs) every step: 1,500 in s0 .. 9,000 in s5. The leak: it
 *           grows in every interval.
 *   teams   a map of exactly 400 entries (keys 0 .. 399) whose values are
 *           all replaced by new ones every step: bounded. Before s3 it is
 *           cleared (Go's clear: count 0, its buckets kept, a new seed) and
 *           refilled with the same 400 keys: the same map (one header, never
 *           freed), the same keys.
 * Before every snapshot but s0 the program swaps the two fields, so each
 * map sits under `primary` in one snapshot and under `fallback` in the
 * next: users is under primary in s0, s2, s4 and under fallback in s1, s3,
 * s5. Neither map is ever freed or replaced: each is one map through the
 * series, whatever field holds it.
 *   maproot diff s2 s3: users +1,500 -0, 4,500 -> 6,000, growing; teams
 *     +0 -0 (the same keys), 400 -> 400, not growing.
 *   maproot gate s0 .. s5: fails on users alone (growth); teams passes;
 *     each map's points are its own figures in every snapshot (a gate that
 *     followed the field instead of the map would see both alternate).
 * Every count and retained figure is the runtime's own.
 */
#include "scenario.h"

enum { STEPS = 6, USERS = 1500, TEAMS = 400, BLOB = 256, TEAM_BLOB = 64 };

SC_ITEM_TYPE(entry_type, Entry);

static const mr_map_type cache_type = {"map[int64]*Entry", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};

typedef struct Caches {
    int64_t swaps;
    mr_map *primary;
    mr_map *fallback;
} Caches;
MR_TYPE(caches_type, Caches, MR_FIELD(Caches, primary), MR_FIELD(Caches, fallback));

static Caches *caches;
MR_GLOBAL(caches)

/* Which field holds which map is the program's business; the truth needs
 * the maps themselves (these are no roots: the collector reads only the
 * registered globals). */
static mr_map *users, *teams;

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        caches = mr_new(&caches_type);
        caches->primary = users = mr_map_new(&cache_type, 0);
        caches->fallback = teams = mr_map_new(&cache_type, 0);
    } else {
        mr_map *t = caches->primary;
        caches->primary = caches->fallback;
        caches->fallback = t;
        caches->swaps++;
    }
    sc_fill(users, &entry_type, (int64_t)s * USERS, USERS, BLOB);
    if (s == 3) {
        mr_map_info before, after;
        sc_map_info(teams, &before);
        mr_map_clear(teams);
        sc_map_info(teams, &after);
        if (mr_map_len(teams) != 0 || after.hash0 == before.hash0 ||
            after.buckets != before.buckets)
            sc_fail("clear did not keep the buckets and draw a new seed");
    }
    sc_fill(teams, &entry_type, 0, TEAMS, TEAM_BLOB);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "users", users);
    sc_truth_map(snapshot, "teams", teams);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(users) != STEPS * USERS || mr_map_len(teams) != TEAMS)
        sc_fail("the maps have the wrong counts");
    if (caches->fallback != users) sc_fail("users is not under fallback at the end");
    return rc;
}
