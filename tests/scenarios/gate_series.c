/*
 * tests/scenarios/gate_series.c -- a series of snapshots of one process
 * judged by `maproot gate`, against a baseline recorded from its start, as
 * a CI job does.
 *
 * TRUTH. Eight in-process snapshots "s0" .. "s7", one after each step of
 * the program (each a full collection, so their GC cycles rise in order):
 *   leak     global map[int64]*Item: 1,500 new keys every step (each Item
 *            with a 200-byte blob), never removed: 1,500 entries in s0,
 *            12,000 in s7. It grows in every interval, by more than the
 *            growth rule's minimum: a leak (rule growth).
 *   cache    global map[int64]*Entry: filled to 2,000 entries in s0 and
 *            s1, then each step replaces the values of 500 keys (a new
 *            Entry each, the old one garbage): its entries never grow
 *            again, its bytes stay put: no leak.
 *   rebuilt  global map[string]*Row: every step builds a new map of 300
 *            rows ("r-0" .. "r-299") and stores it in the global (the old
 *            one is garbage): one map followed through the series (a map
 *            replaced under its root is one map), 300 entries throughout:
 *            no leak.
 * In every snapshot the gate's figures (entries and retained bytes) for
 * each map are the runtime's own.
 * A baseline written from s0 .. s4 (which already fail: leak grew in each of
 * their four intervals) accepts those same snapshots; s0 .. s7 judged
 * against it fail again, leak having grown far past what it recorded. The
 * series with every snapshot given twice is refused (one GC cycle, one
 * moment): judged, its intervals of no growth would let the leak pass.
 */
#include "scenario.h"

enum { STEPS = 8, LEAK_STEP = 1500, CACHE = 2000, REPLACED = 500, ROWS = 300 };

SC_ITEM_TYPE(item_type, Item);
SC_ITEM_TYPE(entry_type, Entry);
SC_ITEM_TYPE(row_type, Row);

static const mr_map_type leak_type = {"map[int64]*Item", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type cache_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type rebuilt_type = {"map[string]*Row", MR_KEY_STRING, NULL, &mr_type_pointer};

static mr_map *leak, *cache, *rebuilt;
MR_GLOBAL(leak)
MR_GLOBAL(cache)
MR_GLOBAL(rebuilt)

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        leak = mr_map_new(&leak_type, 0);
        cache = mr_map_new(&cache_type, 0);
    }
    sc_fill(leak, &item_type, (int64_t)s * LEAK_STEP, LEAK_STEP, 200);
    if (s < 2)
        sc_fill(cache, &entry_type, (int64_t)s * CACHE / 2, CACHE / 2, 96);
    else
        sc_fill(cache, &entry_type, (int64_t)(s % 4) * REPLACED, REPLACED, 96);
    mr_map *m = mr_map_new(&rebuilt_type, 0);
    for (int64_t i = 0; i < ROWS; i++)
        *(sc_item **)mr_map_assign_str(m, mr_str_printf("r-%" PRId64, i)) =
            sc_new_item(&row_type, i, 64);
    rebuilt = m;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "leak", leak);
    sc_truth_map(snapshot, "cache", cache);
    sc_truth_map(snapshot, "rebuilt", rebuilt);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(leak) != STEPS * LEAK_STEP || mr_map_len(cache) != CACHE)
        sc_fail("the maps have the wrong counts");
    return rc;
}
