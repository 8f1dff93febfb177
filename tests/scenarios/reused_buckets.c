/*
 * tests/scenarios/reused_buckets.c -- between two snapshots of one run, a
 * map is dropped and a new map of the same type is made in its very
 * memory: the same header address and the same bucket array, of the same
 * size, under another root, with keys of its own.
 *
 * TRUTH. Between snapshot "before" (s0) and snapshot "after" (s1), both
 * in-process:
 *   retired  map[int64]*Entry made for 400 entries (64 buckets), holding
 *            keys 0 .. 399, held by the global `old_cache`; dropped after
 *            "before" and collected: gone.
 *   fresh    map[int64]*Entry made for 400 entries after the collection
 *            that freed retired, whose header and bucket array the
 *            allocator gave it (the program checks both addresses and the
 *            bucket count are retired's), held by the global `new_cache`,
 *            holding keys 1,000,000 .. 1,000,399: a different map, new, not
 *            retired with all its keys replaced. A header that still
 *            points at the bucket array it pointed at shows the map it
 *            was only with that map's keys.
 *   kept     map[int64]*Lot of 300 entries, keys 0 .. 299, held by the
 *            global `lots_a` before and by `lots_b` after (lots_a holds
 *            another map of its type, `spare`, made after "before", of 20
 *            entries); cleared in between (a new seed, its header and
 *            bucket array kept) and refilled with its keys and 100 more:
 *            the same map, 300 -> 400, +100 -0, growing.
 *   spare    map[int64]*Lot of 20 entries, keys 5,000 .. 5,019, new.
 *   (neighbour, a map[int64]*Entry made for 400 entries after "before",
 *   empty, pinned only across the collection that frees retired and
 *   unpinned once fresh is made: garbage in neither snapshot.)
 * Retained bytes are the runtime's own figures.
 *
 * How the reuse is made certain. Nothing keeps retired alive: no root
 * reaches it after the drop, and the collection frees it every time. What
 * varies is where the allocator puts the next bucket array. A 64-bucket
 * array has a span of a few slots to itself, and a span left with no live
 * object goes back to the page heap as free pages, where the next span of
 * any size class may be cut from other pages first (which pages come first
 * depends on the order the background sweeper freed them). neighbour's
 * bucket array, made right after "before", lies in the same span as
 * retired's; pinned, it keeps that span in use and in its size class, with
 * retired's slot as its first free one, so the next array of the type
 * lands there. It is made and pinned on a thread that then exits, and the
 * pin is the only thing that holds it: no stale copy of its address stays
 * in a live frame to keep it past "after".
 */
#include "scenario.h"

enum { RETIRED = 400, FRESH_FROM = 1000000, LOTS = 300, MORE_LOTS = 100, SPARE = 20 };

SC_ITEM_TYPE(entry_type, Entry);
SC_ITEM_TYPE(lot_type, Lot);

static const mr_map_type entry_map = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type lot_map = {"map[int64]*Lot", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *old_cache, *new_cache, *lots_a, *lots_b;
MR_GLOBAL(old_cache)
MR_GLOBAL(new_cache)
MR_GLOBAL(lots_a)
MR_GLOBAL(lots_b)

/* The maps of the truth that no global may hold (numbers, no roots). */
static mr_map *kept, *spare;
static uintptr_t retired_at, retired_buckets;
static unsigned retired_B;
/* neighbour's pin (a number, no root) */
static mr_pin_handle neighbour;

SC_NOCLONE static void build(void)
{
    old_cache = mr_map_new(&entry_map, RETIRED);
    sc_fill(old_cache, &entry_type, 0, RETIRED, 120);
    mr_map_info info;
    sc_map_info(old_cache, &info);
    retired_at = (uintptr_t)old_cache;
    retired_buckets = (uintptr_t)info.buckets;
    retired_B = info.B;
    lots_a = kept = mr_map_new(&lot_map, 0);
    sc_fill(kept, &lot_type, 0, LOTS, 80);
}

/* Makes neighbour and pins it (on a thread of its own, which exits). */
SC_NOCLONE static void *pin_neighbour(void *arg)
{
    (void)arg;
    mr_thread_attach();
    neighbour = mr_pin(mr_map_new(&entry_map, RETIRED), "neighbour of retired's bucket array");
    mr_thread_detach();
    return NULL;
}

SC_NOCLONE static void drop(void)
{
    sc_in_dead_thread(pin_neighbour);
    old_cache = NULL;
}

/* Makes fresh, which the allocator gives retired's header and bucket array
 * (the first free slots of their spans), fills it and lets neighbour go. */
SC_NOCLONE static void remake(void)
{
    mr_map *m = mr_map_new(&entry_map, RETIRED);
    mr_map_info info;
    sc_map_info(m, &info);
    if ((uintptr_t)m != retired_at || (uintptr_t)info.buckets != retired_buckets ||
        info.B != retired_B)
        sc_fail("the new map did not land in the dropped map's header and bucket array "
                "(header %s, bucket array %s, B %u for %u)",
                (uintptr_t)m == retired_at ? "reused" : "elsewhere",
                (uintptr_t)info.buckets == retired_buckets ? "reused" : "elsewhere", info.B,
                retired_B);
    new_cache = m;
    sc_fill(new_cache, &entry_type, FRESH_FROM, RETIRED, 120);
    sc_map_info(m, &info);
    if ((uintptr_t)info.buckets != retired_buckets) sc_fail("fresh grew");
    mr_unpin(neighbour);
}

/* kept moves to lots_b, cleared (checking it keeps its buckets and draws
 * a new seed) and refilled; spare takes its place under lots_a. */
SC_NOCLONE static void change(void)
{
    mr_map_info before, after;
    sc_map_info(kept, &before);
    mr_map_clear(kept);
    sc_map_info(kept, &after);
    if (after.hash0 == before.hash0 || after.buckets != before.buckets)
        sc_fail("clear did not keep the buckets and draw a new seed");
    sc_fill(kept, &lot_type, 0, LOTS + MORE_LOTS, 80);
    lots_b = kept;
    lots_a = spare = mr_map_new(&lot_map, 0);
    sc_fill(spare, &lot_type, 5000, SPARE, 80);
}

SC_NOCLONE static void truths(const char *snapshot)
{
    if (old_cache) sc_truth_map(snapshot, "retired", old_cache);
    if (new_cache) sc_truth_map(snapshot, "fresh", new_cache);
    sc_truth_map(snapshot, "kept", kept);
    if (spare) sc_truth_map(snapshot, "spare", spare);
}

/* Step s of the program: what it does before snapshot s ("before" is s0,
 * "after" s1). */
SC_NOCLONE static void step(int s)
{
    if (s == 0) {
        build();
        return;
    }
    drop();
    SC_CLEAN(mr_gc());
    SC_CLEAN(mr_gc());
    SC_CLEAN(remake());
    change();
}

int main(int argc, char **argv)
{
    return sc_series_main(argc, argv, 2, step, truths);
}
