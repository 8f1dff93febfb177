/*
 * tests/scenarios/tls_caches_exit.c -- per-thread caches of which one
 * grows alone, then threads of the pool exit: the group of the variable
 * neither hides the one map's growth nor reads its own shrinking as
 * growth.
 *
 * TRUTH. Six workers (worker w is thread w + 2) each keep a
 * map[int64]*Lookup (each lookup with a 256-byte answer) in the
 * thread-local variable `cache` (static __thread). Five in-process
 * snapshots "s0" .. "s4", one after each step: at step 0 every worker
 * makes its map with 200 lookups; at every step worker 0 (`hot`, thread
 * 2) adds 1,500 lookups to its own map, the others add nothing. Then
 * workers 4 and 5 exit (their maps are garbage) and main writes
 * "shrunk". Nothing else is on the heap.
 *   hot       grows by 1,500 entries a step, about 450 KiB: over the
 *             gate's window of 4 intervals 6,000 entries, more than the
 *             growth rule's 1,000. maproot gate over s0 .. s4 fails on
 *             hot alone, as a map (rule growth), with the runtime's
 *             figures; the group of the variable passes, hot's growth set
 *             apart from it. maproot diff s3 -> s4: hot grows, as a map;
 *             the group does not.
 *   caches    the group: one thread-local variable of 6 threads in s0 ..
 *             s4, of 4 in "shrunk". maproot diff s4 -> shrunk: the group
 *             is in both, 6 -> 4 maps, its entries and bytes those of the
 *             truth: not growing; no map grows (the four left are
 *             unchanged), the two maps of the exited threads are gone, and
 *             diff --fail-on growth passes.
 *   path      maproot path to hot's header, in s4, starts at the root the
 *             report names for it (its own thread's storage), by the
 *             report's chain.
 * Main then releases the other workers, which exit.
 */
#include "scenario.h"

enum { WORKERS = 6, EXITING = 2, STEPS = 5, FIRST_FILL = 200, HOT_PER_STEP = 1500, ANSWER = 256 };

SC_ITEM_TYPE(lookup_type, Lookup);

static const mr_map_type cache_type = {"map[int64]*Lookup", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};

static __thread mr_map *cache;

static sc_worker workers[WORKERS];
static uintptr_t cache_addr[WORKERS]; /* the addresses only: no roots */
static atomic_int next_worker, go, done[WORKERS], live = WORKERS;

/* Worker w's part of step s: its cache made (FIRST_FILL lookups) at step
 * 0; hot's gains HOT_PER_STEP more at every step. */
__attribute__((noinline)) static void grow_cache(int w, int s)
{
    if (!cache) {
        cache = mr_map_new(&cache_type, 0);
        sc_fill(cache, &lookup_type, 0, FIRST_FILL, ANSWER);
    }
    if (w == 0)
        sc_fill(cache, &lookup_type, FIRST_FILL + (int64_t)s * HOT_PER_STEP, HOT_PER_STEP, ANSWER);
    cache_addr[w] = (uintptr_t)cache;
}

static void *worker_main(void *arg)
{
    (void)arg;
    int w = atomic_fetch_add(&next_worker, 1);
    for (int s = 0; sc_wait_step(&workers[w], &go, s); s++) {
        grow_cache(w, s);
        sc_scrub_stack(); /* grow_cache's words below this frame are gone */
        atomic_store(&done[w], s + 1);
    }
    return NULL;
}

/* Step s: every worker grows its cache (the pool starts at step 0); main
 * waits (blocked) until all have. */
static void step(int s)
{
    if (s == 0)
        for (int w = 0; w < WORKERS; w++) sc_start_worker(&workers[w], worker_main);
    sc_run_step(&go, done, WORKERS, s);
}

static void truths(const char *snapshot)
{
    int n = atomic_load(&live);
    mr_map *all[WORKERS];
    for (int w = 0; w < n; w++) all[w] = (mr_map *)cache_addr[w];
    sc_truth_group(snapshot, "caches", all, (size_t)n, NULL);
    sc_truth(snapshot, "caches", "\"threads\": %d", n);
    sc_truth_map(snapshot, "hot", all[0]);
    sc_truth_maps(snapshot, "cache", cache_addr, (size_t)n);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(sc_steps(STEPS, step, truths));
    for (int w = WORKERS - EXITING; w < WORKERS; w++) sc_stop_worker(&workers[w]);
    atomic_store(&live, WORKERS - EXITING);
    SC_SNAPSHOT("shrunk");
    SC_TRUTHS(truths, "shrunk");
    for (int w = 0; w < WORKERS - EXITING; w++) sc_stop_worker(&workers[w]);
    return 0;
}
