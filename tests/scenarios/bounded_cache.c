/*
 * tests/scenarios/bounded_cache.c -- a bounded LRU cache next to a leaking
 * map, and a stray stack word that reaches the cache.
 *
 * TRUTH.
 *   audit_log  the global map[int64]*Record that append_record adds every
 *              request to and nothing prunes (the leak): 20,000 records at
 *              snapshot "early", 60,000 at "late" and at exit, each with a
 *              160-byte blob. Root: global audit_log. A suspect (large_share),
 *              growing by exactly 40,000 entries between "early" and "late";
 *              its sampled allocations are under append_record.
 *   lru        the global map[int64]*CacheEntry of an LRU cache of exactly
 *              1,000 entries (older ones are evicted): 10,000 inserts before
 *              "early", exactly 600 more before "late" (600 keys added, 600
 *              evicted). About 2% of the heap at "late": no leak, no suspect,
 *              not growing.
 *
 * Snapshot "late" is written while a local of main (a stray stack word)
 * points at the cache's header too: a second root, which is no evidence of
 * a leak. The root named is still the global (globals before stacks).
 * Snapshot "exit" is written at exit. The heap profiler samples (the
 * checker sets MAPROOT_PROFILE) so that allocation sites are known.
 */
#include "scenario.h"

enum { CAPACITY = 1000, WARM = 10000, MORE = 600, EARLY = 20000, LATE = 60000 };

SC_ITEM_TYPE(record_type, Record);
SC_ITEM_TYPE(entry_type, CacheEntry);

static const mr_map_type audit_type = {"map[int64]*Record", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type lru_type = {"map[int64]*CacheEntry", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *audit_log, *lru;
MR_GLOBAL(audit_log)
MR_GLOBAL(lru)

/* The cache's eviction order: the keys it holds, oldest first. */
static int64_t ring[CAPACITY];
static int64_t next_key, inserted;

/* Allocates its records itself: the allocation site to find. */
SC_NOCLONE static void append_record(int64_t n)
{
    if (!audit_log) audit_log = mr_map_new(&audit_type, 0);
    Record *r = mr_new(&record_type);
    r->id = n;
    r->blob = mr_alloc_blob(160);
    *(Record **)mr_map_assign_int(audit_log, n) = r;
}

__attribute__((noinline)) static void cache_put(void)
{
    if (!lru) lru = mr_map_new(&lru_type, 0);
    int64_t k = next_key++;
    if (inserted >= CAPACITY) mr_map_delete_int(lru, ring[inserted % CAPACITY]);
    ring[inserted % CAPACITY] = k;
    inserted++;
    *(CacheEntry **)mr_map_assign_int(lru, k) = sc_new_item(&entry_type, k, 200);
}

__attribute__((noinline)) static void serve(int64_t records, int64_t puts)
{
    int64_t have = audit_log ? (int64_t)mr_map_len(audit_log) : 0;
    for (int64_t i = have; i < records; i++) append_record(i);
    for (int64_t i = 0; i < puts; i++) cache_put();
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "audit_log", audit_log);
    sc_truth_map(snapshot, "lru", lru);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    serve(EARLY, WARM);
    SC_SNAPSHOT("early");
    SC_TRUTHS(truths, "early");
    serve(LATE, MORE);
    mr_map *volatile stray = lru; /* a stray stack word at the cache */
    SC_SNAPSHOT("late");
    SC_TRUTHS(truths, "late");
    if (mr_map_len(stray) != CAPACITY) sc_fail("the cache holds %zu entries", mr_map_len(stray));
    mr_exiting(); /* from here on as at exit: main's frame is no root */
    SC_TRUTHS(truths, "exit");
    return 0;
}
