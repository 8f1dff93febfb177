/*
 * tests/scenarios/tombstones.c -- maps that delete and insert at a high
 * rate and never change size: a sliding window of keys, whose deleted
 * slots and overflow buckets pile up until a same-size growth rebuilds the
 * table, and a map whose same keys are deleted and inserted again.
 *
 * TRUTH. Two globals that are maps, and `buffers`, an array of 64 pointers
 * to 64 KiB blobs (the rest of a service's heap: counters is a few percent
 * of it):
 *   window    map[int64]*Req (each Req with a 384-byte blob): 3,200 live keys
 *             at every moment. A tick deletes the oldest key and inserts the
 *             next one (keys t - 3,200 .. t - 1 live after tick t). Its
 *             table (512 buckets, B=9, about 6 entries a bucket) fills
 *             buckets past their 8 slots as keys move, the overflow buckets
 *             stay after the deletes, and when they reach 512 a same-size
 *             growth starts (B stays 9; an old bucket array of the same size,
 *             72 KiB, until every old bucket is evacuated).
 *   counters  map[int64]*Counter (each with a 64-byte blob): keys 0 .. 3,199;
 *             a tick deletes key t % 3,200 and inserts it again with a new
 *             Counter: the key lands in the slot it left, so the table never
 *             grows (B=9, no overflow bucket added by the churn).
 * Five in-process snapshots "s0" .. "s4". Before each of s0 .. s3 the
 * program runs 30,000 ticks, ranges over window once (a metrics scrape:
 * an iterator opened and closed; as in Go, the old buckets of the growth
 * after it keep their words when evacuated, since an iterator might still
 * read them), then ticks until a same-size growth of window
 * is in progress and has evacuated at least 96 * (s + 1) of its 512 old
 * buckets (the program checks: old buckets, B unchanged); the words of the
 * evacuated ones point at Reqs that live on in the new array and at Reqs
 * deleted since, which only those words keep: the map's, no entry's. Before s4
 * it writes nothing (a quiet hour: reads only), so window's growth stays
 * where it was.
 *   In every snapshot: window holds 3,200 entries, a suspect with the
 *   evidence old_buckets; its bucket records by role (new main, new
 *   overflow, old) and its retained bytes are the runtime's (table, old
 *   array and what only the old array's stale words still point at
 *   included); every entry listed retains exactly its Req and blob.
 *   counters holds 3,200, no suspect, its overflow buckets and retained
 *   bytes the runtime's.
 *   maproot diff s0 s1: window +3,200 -3,200 (every key moved on), 3,200
 *   -> 3,200, not growing; counters +0 -0 (the same keys), not growing.
 *   maproot diff s3 s4: window +0 -0, not growing.
 *   maproot gate s0 .. s4: no growth (the entries never grow); window
 *   fails the suspect rule, old_buckets: its growth made no progress from
 *   s3 to s4 (a stalled growth keeps the old array); counters passes.
 * Every count and retained figure is the runtime's own.
 */
#include "scenario.h"

enum { STEPS = 5, LIVE = 3200, TICKS = 30000, MORE = 1000000, REQ_BLOB = 384, COUNTER_BLOB = 64,
       TABLE_B = 9, EVACUATED = 96, BUFFERS = 64, BUFFER = 65536 };

SC_ITEM_TYPE(req_type, Req);
SC_ITEM_TYPE(counter_type, Counter);

static const mr_map_type window_type = {"map[int64]*Req", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type counters_type = {"map[int64]*Counter", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

static mr_map *window, *counters;
static uint8_t **buffers;
MR_GLOBAL(window)
MR_GLOBAL(counters)
MR_GLOBAL(buffers)

static int64_t next_key; /* window's next key: keys next_key - LIVE .. next_key - 1 live */

/* One tick: window slides by a key, counters rewrites one. */
static void tick(void)
{
    mr_map_delete_int(window, next_key - LIVE);
    *(sc_item **)mr_map_assign_int(window, next_key) = sc_new_item(&req_type, next_key, REQ_BLOB);
    int64_t c = next_key % LIVE;
    mr_map_delete_int(counters, c);
    *(sc_item **)mr_map_assign_int(counters, c) = sc_new_item(&counter_type, c, COUNTER_BLOB);
    next_key++;
}

/* Ranges over window, as a metrics scrape does: from then on, as in Go,
 * the old buckets of its next growth (or of the one in progress) keep
 * their words when evacuated, since an iterator might still read them. */
__attribute__((noinline)) static void scrape(void)
{
    mr_map_iter it;
    for (mr_map_iter_init(&it, window); mr_map_iter_next(&it);)
        ;
    mr_map_iter_done(&it);
    memset(&it, 0, sizeof it);
}

/* Whether window is in a same-size growth (its B checked, too) that has
 * evacuated at least `done` old buckets. */
static bool same_size_growth(uint64_t done)
{
    mr_map_info info;
    sc_map_info(window, &info);
    if (info.B != TABLE_B) sc_fail("window's table has B=%u", (unsigned)info.B);
    return info.oldbuckets != NULL && info.nevacuate >= done;
}

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        window = mr_map_new(&window_type, 0);
        counters = mr_map_new(&counters_type, 0);
        sc_fill(window, &req_type, 0, LIVE, REQ_BLOB);
        sc_fill(counters, &counter_type, 0, LIVE, COUNTER_BLOB);
        buffers = mr_new_array(&mr_type_pointer, BUFFERS);
        for (int i = 0; i < BUFFERS; i++) buffers[i] = mr_alloc_blob(BUFFER);
        next_key = LIVE;
    }
    if (s == STEPS - 1) return; /* the quiet hour */
    for (int t = 0; t < TICKS; t++) tick();
    scrape();
    int more = 0;
    while (!same_size_growth(EVACUATED * (uint64_t)(s + 1)))
        if (++more > MORE) sc_fail("no same-size growth after %d more ticks", MORE);
        else tick();
}

static void truth_shape(const char *snapshot, const char *label, mr_map *m)
{
    sc_truth_map(snapshot, label, m);
    sc_shape s;
    sc_shape_of(m, true, &s);
    sc_truth(snapshot, label,
             "\"buckets\": %" PRIu64 ", \"overflow_buckets\": %" PRIu64 ", \"old_buckets\": %" PRIu64,
             s.buckets, s.overflow, s.old);
    sc_truth_entries(snapshot, label, &s.e);
}

static void truths(const char *snapshot)
{
    truth_shape(snapshot, "window", window);
    truth_shape(snapshot, "counters", counters);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(window) != LIVE || mr_map_len(counters) != LIVE)
        sc_fail("the maps have the wrong counts");
    return rc;
}
