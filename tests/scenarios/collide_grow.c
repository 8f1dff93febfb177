/*
 * tests/scenarios/collide_grow.c -- a long overflow chain caught in the old
 * bucket array of a growth in progress.
 *
 * TRUTH. A map's seed is its own, so the program finds the keys by trial.
 * It makes a map of 256 buckets (B = 8) and assigns candidate keys 0, 1,
 * 2, ..., keeping the 1,000 that land in bucket 255 or in its overflow
 * buckets (the others are deleted at once: no other bucket ever holds more
 * than one entry, so bucket 255's chain holds every overflow bucket): a
 * chain of about 124 overflow buckets. Then it inserts other keys (from
 * 1,000,000,000 up) until an insert starts a doubling, and 30 more: each
 * write evacuates an old bucket or two, from the first up, so bucket 255
 * and its whole chain are still in the old array -- the program checks it,
 * and starts over with a new map (a new seed) in the rare case a write
 * fell in bucket 255.
 *   chain  global map[int64]*Event: the chain's keys' Events have blobs of
 *          64 + i % 100 bytes (i: the key's rank among those kept), the
 *          last kept key's 8 KiB, the one largest entry, in the last
 *          overflow bucket of old bucket 255; the other keys' Events have
 *          32-byte blobs. Count exact (no entry counted twice, none
 *          missed), its bucket records by role exact (the report's
 *          buckets and overflow_buckets are the new array's, old_buckets
 *          every bucket of the old one, its chain included), a
 *          suspect with the evidence old_buckets retaining exactly its
 *          objects; every entry listed retains exactly its Event and blob;
 *          its chain ends at the largest entry's slot in the old chain.
 *   flat   global map[int64]int64 built the same way: its buckets hold no
 *          pointer, so what keeps its old overflow buckets alive is the
 *          list its header holds for the old array. Count and bucket
 *          records exact, retaining exactly its objects (all of them its
 *          table), evidence old_buckets.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { KEEP = 1000, B_WANTED = 8, AFTER_GROWTH = 30, TRIES = 20 };
#define FILLER_FIRST INT64_C(1000000000)

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type chain_map = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type flat_map = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};

static mr_map *chain, *flat;
MR_GLOBAL(chain)
MR_GLOBAL(flat)

/* Whether the slot p of map m (not growing) lies in the last bucket or
 * outside the main bucket array (then in an overflow bucket of the last
 * one: no other has one). */
static bool in_last_chain(const mr_map *m, const void *p)
{
    mr_map_info info;
    sc_map_info(m, &info);
    if (info.B != B_WANTED || info.oldbuckets) sc_fail("the map grew while its chain was filled");
    uintptr_t a = (uintptr_t)info.buckets, x = (uintptr_t)p;
    size_t bytes = info.bucket_size << info.B;
    return x < a || x >= a + bytes || x >= a + bytes - info.bucket_size;
}

static void set_value(mr_map *m, int64_t k, bool items, size_t blob)
{
    if (items)
        *(sc_item **)mr_map_assign_int(m, k) = sc_new_item(&event_type, k, blob);
    else
        *(int64_t *)mr_map_assign_int(m, k) = k;
}

static bool growing(const mr_map *m)
{
    mr_map_info info;
    sc_map_info(m, &info);
    return info.oldbuckets != NULL;
}

typedef struct old_count {
    int64_t chain_keys_old;
} old_count;

static void count_old_chain(const mr_map_slot *s, void *ud)
{
    if (s->old && *(const int64_t *)s->key < FILLER_FIRST) ((old_count *)ud)->chain_keys_old++;
}

/* One try at the map described above; NULL when a write evacuated the
 * chain. */
SC_NOCLONE static mr_map *try_build(bool items)
{
    mr_map *m = mr_map_new(items ? &chain_map : &flat_map, KEEP);
    int64_t kept = 0;
    for (int64_t k = 0; kept < KEEP; k++) {
        if (k > 100000000) sc_fail("too few keys fall in the last bucket");
        void *slot = mr_map_assign_int(m, k);
        if (!in_last_chain(m, slot)) {
            mr_map_delete_int(m, k);
            continue;
        }
        set_value(m, k, items, kept == KEEP - 1 ? 8192 : 64 + (size_t)(kept % 100));
        kept++;
    }
    int64_t f = FILLER_FIRST;
    while (!growing(m)) set_value(m, f++, items, 32);
    for (int i = 0; i < AFTER_GROWTH; i++) set_value(m, f++, items, 32);
    if (!growing(m)) sc_fail("the growth finished");
    old_count c = {0};
    sc_walk_slots(m, count_old_chain, &c);
    return c.chain_keys_old == KEEP ? m : NULL;
}

SC_NOCLONE static mr_map *build_one(bool items)
{
    for (int t = 0; t < TRIES; t++) {
        mr_map *m = try_build(items);
        if (m) return m;
    }
    sc_fail("every try evacuated the chain");
}

SC_NOCLONE static void build(void)
{
    chain = build_one(true);
    flat = build_one(false);
}

/* The truth of the buckets and entries of one map. */
static void truth_shape(const char *snapshot, const char *label, const mr_map *m, bool items)
{
    sc_truth_map(snapshot, label, m);
    sc_shape s;
    sc_shape_of(m, items, &s);
    sc_truth(snapshot, label,
             "\"buckets\": %" PRIu64 ", \"overflow_buckets\": %" PRIu64
             ", \"old_buckets\": %" PRIu64,
             s.buckets, s.overflow, s.old);
    if (!items) return;
    if (!s.top_old || s.top_bucket != 255) sc_fail("the largest entry left the old chain");
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
