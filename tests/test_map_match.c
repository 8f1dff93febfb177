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

/* Sets identity v's bucket array and bucket count, and its key sketch
 * to the hashes keys[0..n) (ascending, as mp_map_idents makes it). */
static void table(mp_map_ident *v, uint64_t buckets, uint32_t B, uint64_t *keys, uint32_t n)
{
    v->buckets = buckets, v->B = B, v->keys = keys, v->nkeys = n;
}

/* A map cleared (a new seed) that keeps its header and bucket array and
 * most of its keys is the map it was, at its address, before its way is
 * weighed: two such maps that traded fields in the step that cleared
 * them are each followed. */
static void a_cleared_map_is_followed_by_its_bucket_array(void)
{
    uint64_t hot_keys[] = {10, 20, 30, 40}, cold_keys[] = {15, 25, 35};
    uint64_t hot_after[] = {10, 20, 30, 40, 50, 60}; /* its keys and two more */
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Conn", "global pools", 1),
                        ident(0x2000, "map[int64]*Conn", "global pools", 2)};
    mp_map_ident b[] = {ident(0x1000, "map[int64]*Conn", "global pools", 3),
                        ident(0x2000, "map[int64]*Conn", "global pools", 4)};
    a[0].way = "Pools+8", a[1].way = "Pools+16";
    b[0].way = "Pools+16", b[1].way = "Pools+8"; /* the fields swapped */
    table(&a[0], 0x10000, 6, hot_keys, 4);
    table(&a[1], 0x20000, 3, cold_keys, 3);
    table(&b[0], 0x10000, 6, hot_after, 6);
    table(&b[1], 0x20000, 3, cold_keys, 3);
    int32_t to[2];
    CHECK(mp_map_match(a, 2, b, 2, NULL, true, to) == 0);
    CHECK(to[0] == 0 && to[1] == 1);
    /* maps that grew past their arrays have new ones: no sign, and the
     * ways decide */
    b[0].buckets = 0x30000, b[0].B = 7;
    b[1].buckets = 0x50000, b[1].B = 4;
    CHECK(mp_map_match(a, 2, b, 2, NULL, true, to) == 0);
    CHECK(to[0] == 1 && to[1] == 0);
}

/* The decoy: a map freed, and a new map of its type that the allocator
 * put in its header and its bucket array, of the same size, under
 * another root. With keys of its own it is a new map; emptied, or with
 * keys beyond what the sketches can compare, nothing tells it is the
 * old one either. */
static void a_new_map_in_a_freed_header_and_bucket_array_is_new(void)
{
    uint64_t old_keys[] = {3, 9, 12, 40}, new_keys[] = {5, 7, 11, 13};
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Entry", "global old_cache", 11)};
    mp_map_ident b[] = {ident(0x1000, "map[int64]*Entry", "global new_cache", 12)};
    table(&a[0], 0x40000, 6, old_keys, 4);
    table(&b[0], 0x40000, 6, new_keys, 4);
    int32_t to[1];
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
    /* one key of four in common: not most of them */
    new_keys[1] = 9;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
    /* three of four: the old map's keys, kept through a clear */
    new_keys[2] = 12, new_keys[3] = 40;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == 0);
    /* ... but not in an array of another size, nor in another array */
    b[0].B = 7;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
    b[0].B = 6, b[0].buckets = 0x50000;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
    /* with no keys (emptied) the entries tell nothing */
    b[0].buckets = 0x40000, b[0].nkeys = 0;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
    /* nor when no bucket array is known */
    table(&b[0], 0, 6, old_keys, 4);
    a[0].buckets = 0;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
}

/* The sketches decide only the keys up to the smaller one's reach: of a
 * full sketch of B (MP_MAP_SAMPLE hashes), a key of A hashed above its
 * largest may or may not be in B, and is not counted either way. */
static void only_the_keys_both_sketches_reach_are_weighed(void)
{
    uint64_t ka[MP_MAP_SAMPLE], kb[MP_MAP_SAMPLE];
    for (uint32_t i = 0; i < MP_MAP_SAMPLE; i++) {
        ka[i] = 100 + 10 * i; /* A's keys: 100, 110, ... 410 */
        kb[i] = 100 + 5 * i;  /* B's: 100, 105, ... 255, a map twice A's size */
    }
    mp_map_ident a[] = {ident(0x1000, "map[int64]*Item", "global items_a", 1)};
    mp_map_ident b[] = {ident(0x1000, "map[int64]*Item", "global items_b", 2)};
    table(&a[0], 0x40000, 9, ka, MP_MAP_SAMPLE);
    table(&b[0], 0x40000, 9, kb, MP_MAP_SAMPLE);
    int32_t to[1];
    /* 16 of A's keys lie within B's reach, all held */
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == 0);
    /* 8 of those 16 gone from B (100, 120, ... 240): half is not most */
    for (uint32_t i = 0; i < MP_MAP_SAMPLE; i += 4) kb[i] += 1;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
    /* B's sketch lies wholly below A's keys: none decided */
    for (uint32_t i = 0; i < MP_MAP_SAMPLE; i++) kb[i] = 1 + i;
    CHECK(mp_map_match(a, 1, b, 1, NULL, true, to) == 0);
    CHECK(to[0] == -1);
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
    TEST(a_cleared_map_is_followed_by_its_bucket_array);
    TEST(a_new_map_in_a_freed_header_and_bucket_array_is_new);
    TEST(only_the_keys_both_sketches_reach_are_weighed);
    TEST(maps_under_one_holder_are_told_apart_by_their_way);
    TEST(a_frame_of_another_thread_is_another_holder);
    TEST(a_group_is_followed_by_identity_not_address);
    TEST_EXIT();
}
