/*
 * tests/scenarios/stale_array.c -- a pointer into a map's bucket array kept
 * across the inserts that grew the map: the old array, long dropped by the
 * map, lives on, and so do the pointers its evacuated buckets still hold.
 *
 * TRUTH. The global `index`, a map[int64]*Rec, gets 1,000 Recs (keys 0 ..
 * 999, each with a blob of 64 + 8 * (k % 20) bytes); the program ranges
 * over it once (an iterator opened and closed: from then on, as in Go, an
 * evacuation leaves the old bucket's words in place, since an iterator
 * might still read them), takes the address of key 7's value slot into the
 * global `hot` (a C program caching where a value lies), then inserts keys
 * 1,000 .. 4,999 (blobs of 48 bytes): the map doubles, and each doubling
 * is finished (the program checks none is in progress). The array `hot`
 * points into is no longer the map's: not a bucket array of it, but a heap
 * object `hot` keeps alive, whose evacuated buckets (and the overflow
 * buckets chained to them) still point at the Recs that were in it.
 *   index  count 5,000; it retains its table (no longer that old array)
 *          and only the Recs that array does not point at: exactly the
 *          runtime's figure. An entry whose Rec the old array still points
 *          at retains nothing and is shared (another root, `hot`, reaches
 *          its value); any other entry retains its Rec and blob; the
 *          entries shared and their bytes (each Rec and blob, once) are the
 *          runtime's. Every root reaching its header is the global index.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { FIRST = 1000, TOTAL = 5000, HOT_KEY = 7 };

SC_ITEM_TYPE(rec_type, Rec);

static const mr_map_type index_type = {"map[int64]*Rec", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *index_map;
static void *hot;
MR_GLOBAL(hot)
/* registered under the name reports show */
#define index index_map
MR_GLOBAL(index)
#undef index

SC_NOCLONE static void build(void)
{
    index_map = mr_map_new(&index_type, 0);
    for (int64_t k = 0; k < FIRST; k++)
        *(sc_item **)mr_map_assign_int(index_map, k) =
            sc_new_item(&rec_type, k, 64 + 8 * (size_t)(k % 20));
    mr_map_iter it;
    mr_map_iter_init(&it, index_map);
    while (mr_map_iter_next(&it)) {
    }
    mr_map_iter_done(&it);
    memset(&it, 0, sizeof it);
    hot = mr_map_lookup_int(index_map, HOT_KEY);
    mr_map_info before;
    mr_map_get_info(index_map, &before);
    for (int64_t k = FIRST; k < TOTAL; k++)
        *(sc_item **)mr_map_assign_int(index_map, k) = sc_new_item(&rec_type, k, 48);
    mr_map_info after;
    mr_map_get_info(index_map, &after);
    /* finish any growth in progress: rewrite keys until the old array is dropped */
    for (int64_t k = FIRST; after.oldbuckets; k++) {
        *(sc_item **)mr_map_assign_int(index_map, k) = sc_new_item(&rec_type, k, 48);
        mr_map_get_info(index_map, &after);
    }
    void *start;
    if (!mr_object_type(hot, &start) || start != before.buckets)
        sc_fail("hot does not point into the first bucket array");
    if (after.buckets == before.buckets) sc_fail("the map did not grow");
}

/* The truth: what the roots reach without passing through the map's table
 * (its header, bucket arrays and overflow buckets), and each entry's share. */
typedef struct truth_walk {
    sc_set others;
    sc_entries e;
    uint64_t shared, shared_bytes;
} truth_walk;

static void on_slot(const mr_map_slot *s, void *ud)
{
    truth_walk *t = ud;
    const sc_item *it = *(sc_item *const *)s->value;
    uint64_t bytes = mr_object_size(it) + mr_object_size(it->blob);
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    bool shared = sc_set_has(&t->others, (uintptr_t)it);
    if (shared) {
        t->shared++;
        t->shared_bytes += bytes;
    }
    sc_entry(&t->e, key, 0, shared ? 0 : bytes);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "index", index_map);
    truth_walk t = {0};
    sc_table tab = {0};
    sc_todo todo = {0};
    mr_stop_the_world();
    sc_add_bucket(index_map, false, 0, 0, &tab);
    mr_map_walk(index_map, sc_add_bucket, NULL, &tab);
    for (size_t i = 0; i < tab.n; i++) {
        void *start;
        if (mr_object_type(tab.v[i], &start)) sc_set_add(&t.others, (uintptr_t)start);
    }
    mr_walk_roots(false, sc_push_root, &todo);
    sc_visit(&t.others, &todo);
    mr_map_walk(index_map, NULL, on_slot, &t);
    mr_start_the_world();
    if (t.shared == 0 || t.shared >= TOTAL) sc_fail("%" PRIu64 " entries shared", t.shared);
    sc_truth(snapshot, "index", "\"shared_entries\": %" PRIu64 ", \"shared_bytes\": %" PRIu64,
             t.shared, t.shared_bytes);
    sc_truth_entries(snapshot, "index", &t.e);
    free(t.others.k);
    free(tab.v);
    free(todo.v);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
