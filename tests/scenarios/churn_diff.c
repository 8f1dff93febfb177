/*
 * tests/scenarios/churn_diff.c -- maps that shrink in entries but never in
 * table, and a map replaced under its global, across three snapshots.
 *
 * TRUTH. Snapshots "full", "drained" and "refilled" (in-process), then
 * "exit" (the heap of "refilled"):
 *   window   global map[int64]*Item (each Item with a 96-byte blob).
 *            full: keys 0 .. 19,999. drained: keys 0 .. 14,999 deleted,
 *            one by one (their slots left empty, the bucket array and
 *            overflow buckets kept: delete never shrinks a map); 5,000
 *            entries. refilled: keys 20,000 .. 34,999 inserted into the
 *            emptied slots; 20,000 entries.
 *              full -> drained:     +0 -15,000, 20,000 -> 5,000, not growing,
 *                                   retained bytes fall by exactly the
 *                                   runtime's figures.
 *              drained -> refilled: +15,000 -0, growing.
 *              full -> refilled:    +15,000 -15,000, 20,000 -> 20,000: not
 *                                   growing (no more entries than before),
 *                                   whatever its bytes did.
 *            Its overflow buckets, in each snapshot, are the runtime's.
 *   emptied  global map[int64]*Slot: 10,000 entries in full; every one
 *            deleted one by one in drained (count 0; a map emptied draws a
 *            new seed, so only its global says it is the same map): +0
 *            -10,000, not growing; a suspect with the evidence emptied,
 *            retaining exactly its table. refilled: keys 0 .. 99 again:
 *            +100 -0, 0 -> 100 entries, growing.
 *   sessions global map[string]*Session: in full 4,000 entries "s-0" ..
 *            "s-3999"; before drained the program builds a new map with
 *            "s-2000" .. "s-3999" (the same Sessions) and "n-0" .. "n-499"
 *            and stores it in the global: the old map is garbage (absent
 *            from drained). The new map under the same global is matched
 *            with its predecessor (maproot-diff(1): "A map replaced by a
 *            new one under the same root"): +500 -2,000, 4,000 -> 2,500,
 *            not growing, the new keys shown the added ones.
 * Every count and retained figure is the runtime's own.
 */
#include "scenario.h"

enum {
    FULL = 20000,
    DRAIN = 15000,
    EMPTIED = 10000,
    REFILL = 100,
    SESSIONS = 4000,
    KEPT = 2000,
    NEW = 500
};

SC_ITEM_TYPE(item_type, Item);
SC_ITEM_TYPE(slot_type, Slot);
SC_ITEM_TYPE(session_type, Session);

static const mr_map_type window_type = {"map[int64]*Item", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type emptied_type = {"map[int64]*Slot", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type sessions_type = {"map[string]*Session", MR_KEY_STRING, NULL,
                                          &mr_type_pointer};

static mr_map *window, *emptied, *sessions;
MR_GLOBAL(window)
MR_GLOBAL(emptied)
MR_GLOBAL(sessions)

static uintptr_t old_sessions; /* the address only: no root */

__attribute__((noinline)) static void build(void)
{
    window = mr_map_new(&window_type, 0);
    sc_fill(window, &item_type, 0, FULL, 96);
    emptied = mr_map_new(&emptied_type, 0);
    sc_fill(emptied, &slot_type, 0, EMPTIED, 64);
    sessions = mr_map_new(&sessions_type, 0);
    for (int64_t i = 0; i < SESSIONS; i++)
        *(sc_item **)mr_map_assign_str(sessions, mr_str_printf("s-%" PRId64, i)) =
            sc_new_item(&session_type, i, 128);
    old_sessions = (uintptr_t)sessions;
}

__attribute__((noinline)) static void drain(void)
{
    for (int64_t k = 0; k < DRAIN; k++) mr_map_delete_int(window, k);
    for (int64_t k = 0; k < EMPTIED; k++) mr_map_delete_int(emptied, k);
    mr_map *m = mr_map_new(&sessions_type, 0);
    for (int64_t i = KEPT; i < SESSIONS; i++) {
        mr_str k = mr_str_printf("s-%" PRId64, i);
        *(sc_item **)mr_map_assign_str(m, k) = *(sc_item **)mr_map_lookup_str(sessions, k);
    }
    for (int64_t i = 0; i < NEW; i++)
        *(sc_item **)mr_map_assign_str(m, mr_str_printf("n-%" PRId64, i)) =
            sc_new_item(&session_type, SESSIONS + i, 128);
    sessions = m;
}

__attribute__((noinline)) static void refill(void)
{
    sc_fill(window, &item_type, FULL, DRAIN, 96);
    sc_fill(emptied, &slot_type, 0, REFILL, 64);
}

static void count_overflow(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)bucket, (void)old, (void)index;
    if (overflow) ++*(uint64_t *)ud;
}

static void truth_overflow(const char *snapshot, const char *label, const mr_map *m)
{
    uint64_t n = 0;
    mr_stop_the_world();
    mr_map_walk(m, count_overflow, NULL, &n);
    mr_start_the_world();
    sc_truth(snapshot, label, "\"overflow_buckets\": %" PRIu64, n);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "window", window);
    truth_overflow(snapshot, "window", window);
    sc_truth_map(snapshot, "emptied", emptied);
    truth_overflow(snapshot, "emptied", emptied);
    sc_truth_map(snapshot, "sessions", sessions);
    if ((uintptr_t)sessions == old_sessions) sc_truth_map(snapshot, "old_sessions", sessions);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(build());
    SC_SNAPSHOT("full");
    SC_TRUTHS(truths, "full");
    SC_CLEAN(drain());
    SC_CLEAN(mr_gc());
    SC_SNAPSHOT("drained");
    SC_TRUTHS(truths, "drained");
    if (mr_map_len(window) != FULL - DRAIN || mr_map_len(emptied) != 0)
        sc_fail("the drained maps have the wrong counts");
    SC_CLEAN(refill());
    SC_SNAPSHOT("refilled");
    SC_TRUTHS(truths, "refilled");
    mr_exiting(); /* from here on as at exit: main's frame is no root */
    SC_TRUTHS(truths, "exit");
    return 0;
}
