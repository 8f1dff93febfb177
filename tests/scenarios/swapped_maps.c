/*
 * tests/scenarios/swapped_maps.c -- two pairs of maps that trade places
 * between two snapshots: one pair by swapping the globals that hold them,
 * the other by rebuilding each map with the other's contents.
 *
 * TRUTH. Snapshot "before":
 *   bids   global, map[string]*Order of 2,000 orders ("bid-00000" ...),
 *          each with a 96-byte blob.
 *   asks   global, map[string]*Order of 500 orders ("ask-00000" ...).
 *   hot    global, map[int64]*Lot of 3,000 lots (keys 0 .. 2,999), each
 *          with a 128-byte blob.
 *   cold   global, map[int64]*Lot of 800 lots (keys 100,000 .. 100,799).
 * Between the snapshots the program swaps the globals bids and asks (the
 * two maps live on, each under the other's name), and rebuilds hot and
 * cold: hot becomes a new map holding cold's keys (with new lots), cold a
 * new map holding hot's; the old maps are dropped and collected before
 * the new ones are made (their headers' memory may be reused). Snapshot
 * "after" then holds:
 *   the map that was bids, now under asks: the same map (one run, one
 *          address, one seed): status both, +0 -0, 2,000 -> 2,000, not
 *          growing, its root in "after" the global asks;
 *   the map that was asks, now under bids: the same, 500 -> 500;
 *   hot    a new map under hot: matched with the old hot (a map replaced
 *          under its root, maproot-diff(1)): +800 -3,000, 3,000 -> 800,
 *          not growing;
 *   cold   likewise: +3,000 -800, 800 -> 3,000, growing (more entries and
 *          more retained bytes).
 * Every retained figure is the runtime's, in its snapshot.
 */
#include "scenario.h"

enum { BIDS = 2000, ASKS = 500, HOT = 3000, COLD = 800, COLD_FIRST = 100000 };

SC_ITEM_TYPE(order_type, Order);
SC_ITEM_TYPE(lot_type, Lot);

static const mr_map_type order_map = {"map[string]*Order", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type lot_map = {"map[int64]*Lot", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *bids, *asks, *hot, *cold;
MR_GLOBAL(bids)
MR_GLOBAL(asks)
MR_GLOBAL(hot)
MR_GLOBAL(cold)

/* The maps as they were before the swap (addresses only: no roots). */
static uintptr_t was_bids, was_asks;

SC_NOCLONE static mr_map *orders(const char *prefix, int n)
{
    mr_map *m = mr_map_new(&order_map, 0);
    for (int i = 0; i < n; i++)
        *(sc_item **)mr_map_assign_str(m, mr_str_printf("%s-%05d", prefix, i)) =
            sc_new_item(&order_type, i, 96);
    return m;
}

SC_NOCLONE static mr_map *lots(int64_t first, int64_t n)
{
    mr_map *m = mr_map_new(&lot_map, 0);
    sc_fill(m, &lot_type, first, n, 128);
    return m;
}

SC_NOCLONE static void build(void)
{
    bids = orders("bid", BIDS);
    asks = orders("ask", ASKS);
    hot = lots(0, HOT);
    cold = lots(COLD_FIRST, COLD);
    was_bids = (uintptr_t)bids;
    was_asks = (uintptr_t)asks;
}

SC_NOCLONE static void swap(void)
{
    mr_map *t = bids;
    bids = asks;
    asks = t;
    hot = cold = NULL;
    SC_CLEAN(mr_gc());
    hot = lots(COLD_FIRST, COLD);
    cold = lots(0, HOT);
}

static void truths(const char *snapshot)
{
    /* by the map, not the global: the map that was bids is "bids" */
    bool swapped = (uintptr_t)bids != was_bids;
    sc_truth_map(snapshot, "bids", swapped ? asks : bids);
    sc_truth_map(snapshot, "asks", swapped ? bids : asks);
    sc_truth_map(snapshot, "hot", hot);
    sc_truth_map(snapshot, "cold", cold);
    if (swapped && ((uintptr_t)asks != was_bids || (uintptr_t)bids != was_asks))
        sc_fail("the swapped maps moved");
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(build());
    SC_SNAPSHOT("before");
    SC_TRUTHS(truths, "before");
    SC_CLEAN(swap());
    SC_SNAPSHOT("after");
    SC_TRUTHS(truths, "after");
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}
