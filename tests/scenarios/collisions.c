/*
 * tests/scenarios/collisions.c -- maps whose keys all fall in one bucket:
 * a chain of 187 overflow buckets behind bucket 0.
 *
 * TRUTH. A map's seed is its own, so the program finds the keys by trial:
 * it makes a map of 256 buckets (B = 8, sized for 1,500 entries), assigns
 * candidate keys 0, 1, 2, ... and keeps those that land in bucket 0 or in
 * its overflow buckets, deleting the others at once (no other bucket ever
 * holds more than one entry, so bucket 0's chain holds every overflow
 * bucket). 1,500 keys are kept: bucket 0 and 187 overflow buckets, below
 * both growth triggers (6.5 entries a bucket, 256 overflow buckets).
 *   chain    global map[int64]*Event: each kept key's Event has a blob of
 *            64 + i bytes (i: the key's rank among those kept), but the
 *            last kept key's has 8 KiB: the one largest entry, in the
 *            last overflow bucket (slots fill in order along the chain). 1,500 entries; 187
 * overflow buckets (each counted once); a suspect (large_share) retaining exactly its objects; its
 * chain ends at the largest entry's slot: bucket 0, overflow 187, the slot the program finds it in;
 * every entry listed retains exactly its Event and blob. flat     global map[int64]int64, its 1,500
 * keys found the same way: its buckets hold no pointer, its overflow buckets are kept by the list
 * its header holds. 1,500 entries, 187 overflow buckets, retaining exactly its objects, all of them
 * its table. Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { KEEP = 1500, B_WANTED = 8 };

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type chain_map = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type flat_map = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};

static mr_map *chain, *flat;
MR_GLOBAL(chain)
MR_GLOBAL(flat)

/* Whether the slot p of map m lies in bucket 0 or outside the main bucket
 * array (then in an overflow bucket, bucket 0's: no other has one). */
static bool in_bucket0_chain(const mr_map *m, const void *p)
{
    mr_map_info info;
    sc_map_info(m, &info);
    if (info.B != B_WANTED || info.oldbuckets) sc_fail("the map grew");
    uintptr_t a = (uintptr_t)info.buckets, x = (uintptr_t)p;
    size_t bytes = info.bucket_size << info.B;
    return x < a || x >= a + bytes || x < a + info.bucket_size;
}

/* Fills m with KEEP keys of bucket 0's chain; with items, each value an
 * Event (blob sizes as above), else the key itself. */
SC_NOCLONE static void fill_one_bucket(mr_map *m, bool items)
{
    int64_t kept = 0;
    for (int64_t k = 0; kept < KEEP; k++) {
        if (k > 100000000) sc_fail("too few keys fall in bucket 0");
        void *slot = mr_map_assign_int(m, k);
        if (!in_bucket0_chain(m, slot)) {
            mr_map_delete_int(m, k);
            continue;
        }
        if (items) {
            size_t blob = kept == KEEP - 1 ? 8192 : 64 + (size_t)kept;
            sc_item *it = sc_new_item(&event_type, k, blob);
            *(sc_item **)mr_map_lookup_int(m, k) = it;
        } else {
            *(int64_t *)slot = k;
        }
        kept++;
    }
    if (mr_map_len(m) != KEEP) sc_fail("the map holds %zu entries", mr_map_len(m));
}

SC_NOCLONE static void build(void)
{
    chain = mr_map_new(&chain_map, KEEP);
    flat = mr_map_new(&flat_map, KEEP);
    fill_one_bucket(chain, true);
    fill_one_bucket(flat, false);
}

/* The truth of the buckets and entries of one map. */
static void truth_shape(const char *snapshot, const char *label, const mr_map *m, bool items)
{
    sc_truth_map(snapshot, label, m);
    sc_shape s;
    sc_shape_of(m, items, &s);
    if (s.deepest != s.overflow) sc_fail("%s: overflow buckets outside bucket 0's chain", label);
    sc_truth(snapshot, label, "\"overflow_buckets\": %" PRIu64, s.overflow);
    if (!items) return;
    sc_truth_top(snapshot, label, &s);
    sc_truth_entries(snapshot, label, &s.e);
}

static void truths(const char *snapshot)
{
    truth_shape(snapshot, "chain", chain, true);
    truth_shape(snapshot, "flat", flat, false);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
