/*
 * tests/test_map_match.c -- which map of one snapshot is which map of
 * another (src/analyze/map_match.c), on identities made by hand.
 */
#include "analyze/map_match.h"
#include "check.h"

static mp_map_ident ident(uint64_t address, const char *type, const char *holder, uint32_t hash0)
{
    return (mp_map_ident){.address = address,
                          .type = (char *)type,
                          .holder = (char *)holder,
                          .way = (char *)"",
                          .hash0 = hash0,
                          .hash0_known = true};
}

/* In one run a live map keeps its address: it is followed there whatever
 * its holder now is. */
static void a_live_map_is_followed_by_address(void)
{
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Lot", "global lots_a", 7)};
    mp_map_ident b[] = {ident(0x1000, "map[int64]*Lot", "global lots_b", 7)};
    int32_t to[1];
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == 0);
    /* of different runs, an address says nothing */
    CHECK(mp_map_match(a, 1, b, 1, NULL, false, to) == 0);
    CHECK(to[0] == -1);
}

/* A header freed between the snapshots and reused by a new map of the
 * same type under another root: the new map has a seed of its own, and is
 * not the old one. */
static void a_reused_header_is_a_new_map(void)
{
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Entry", "global old_cache", 11)};
    mp_map_ident b[] = {ident(0x1000, "map[int64]*Entry", "global new_cache", 12)};
    int32_t to[1];
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
}

/* A map cleared (a new seed) under the same root is still matched, by
 * identity; with no seed known (an input without one) the address decides. */
static void a_new_seed_under_the_same_root_is_the_same_map(void)
{
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Batch", "global batches", 1),
                        ident(0x2000, "map[int64]*Batch", "global spare", 2)};
    mp_map_ident b[] = {ident(0x1000, "map[int64]*Batch", "global batches", 3),
                        ident(0x2000, "map[int64]*Batch", "global other", 4)};
    int32_t to[2];
    CHECK(mp_map_match(a, 2, b, 2, NULL, true, to) == 0);
    CHECK(to[0] == 0);
    CHECK(to[1] == -1);
    b[1].hash0_known = false;
    CHECK(mp_map_match(a, 2, b, 2, NULL, true, to) == 0);
    CHECK(to[1] == 1);
}

/* Of two runs, maps of one type under one holder are told apart by their
 * way from it (two fields of one struct), not by the order of their
 * addresses, which is the order the run made them in; a map whose way
 * changed is still matched by type and holder. */
static void maps_under_one_holder_are_told_apart_by_their_way(void)
{
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Item", "global shards", 1),
                        ident(0x2000, "map[int64]*Item", "global shards", 2)};
    mp_map_ident b[] = {ident(0x1000, "map[int64]*Item", "global shards", 3),
                        ident(0x2000, "map[int64]*Item", "global shards", 4)};
    a[0].way = "Shards+0", a[1].way = "Shards+8"; /* hot made first */
    b[0].way = "Shards+8", b[1].way = "Shards+0"; /* cold made first */
    int32_t to[2];
    CHECK(mp_map_match(a, 2, b, 2, NULL, false, to) == 0);
    CHECK(to[0] == 1 && to[1] == 0);
    b[0].way = "Node+0<Node+0<Shards+8"; /* now behind a list */
    CHECK(mp_map_match(a, 2, b, 2, NULL, false, to) == 0);
    CHECK(to[1] == 0 && to[0] == 1);
}

/* A frame's map is that thread's: a worker that exited and a new thread
 * running the same function hold two maps, in one run and across runs;
 * the same thread's frame, at one place, holds the same map's place (a
 * map replaced under it is its successor), and a frame of the same thread
 * and function elsewhere on its stack is another activation. */
static void a_frame_of_another_thread_is_another_holder(void)
{
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Job", "stack handle_batch", 1)};
    mp_map_ident b[] = {ident(0x3000, "map[int64]*Job", "stack handle_batch", 2)};
    a[0].frame_thread = 2 + 1, a[0].frame_base = 0x7f0000100000;
    b[0].frame_thread = 4 + 1, b[0].frame_base = 0x7f0000100000; /* a cached stack */
    int32_t to[1];
    for (int run = 0; run < 2; run++) {
        CHECK(mp_map_match(a, 1, b, 1, NULL, run == 0, to) == 0);
        CHECK(to[0] == -1);
    }
    b[0].frame_thread = a[0].frame_thread;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == 0);
    b[0].frame_base = 0x7f0000100400;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
    /* across runs the stacks lie elsewhere: the thread and function tell */
    CHECK(mp_map_match(a, 1, b, 1, NULL, false, to) == 0);
    CHECK(to[0] == 0);
    /* where a frame lies is unknown for a register: the thread tells */
    b[0].frame_base = 0;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == 0);
}

/* A group of maps is followed by its identity alone: the holder of a
 * list that grows at its front is a new object every snapshot (another
 * address, the same way), and a holder object at one address is no proof
 * (a new holder of another root where an old one was). */
static void a_group_is_followed_by_identity_not_address(void)
{
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Attr", "global sessions", 0),
                        ident(0x2000, "map[int64]*Attr", "global archive", 0)};
    mp_map_ident b[] = {ident(0x2000, "map[int64]*Attr", "global pool", 0),
                        ident(0x5000, "map[int64]*Attr", "global sessions", 0)};
    for (size_t i = 0; i < 2; i++) a[i].hash0_known = b[i].hash0_known = false;
    int32_t to[2];
    CHECK(mp_group_match(a, 2, b, 2, true, to) == 0);
    CHECK(to[0] == -1); /* not archive's group, whose holder was at 0x2000 */
    CHECK(to[1] == 0);
    /* maps, by contrast, are followed by address within one run */
    CHECK(mp_map_match(a, 2, b, 2, NULL, true, to) == 0);
    CHECK(to[0] == 1);
}

int main(void)
{
    TEST(a_live_map_is_followed_by_address);
    TEST(a_reused_header_is_a_new_map);
    TEST(a_new_seed_under_the_same_root_is_the_same_map);
    TEST(maps_under_one_holder_are_told_apart_by_their_way);
    TEST(a_frame_of_another_thread_is_another_holder);
    TEST(a_group_is_followed_by_identity_not_address);
    TEST_EXIT();
}
