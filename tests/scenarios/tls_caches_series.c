/*
 * tests/scenarios/tls_caches_series.c -- per-thread caches that grow over
 * a series of snapshots while threads join the pool: the gate and diff
 * follow them by their variable, not by thread.
 *
 * TRUTH. Six in-process snapshots "s0" .. "s5", one after each step. At
 * step s, worker 3 + s joins the pool (workers 0 .. 3 at step 0: four
 * threads, then one more each step, nine in s5; worker w is thread w + 2),
 * and every worker of the pool adds 100 lookups (each with a 256-byte
 * answer) to its own map[int64]*Lookup in the thread-local variable
 * `cache` (static __thread), made at its first step, then waits (blocked)
 * for the next step. Nothing else is on the heap.
 *   caches    the group: one thread-local variable of 4 + s threads, one
 *             map each, credited to its own thread's storage. The thread
 *             that joined last differs in every snapshot. No map grows by
 *             the gate's growth rule (100 entries, about 30 KiB a step: 400
 *             entries over its window of 4 intervals, below its minimums of
 *             1,000 entries and 1 MiB); the group grows by 500 entries and
 *             more a step. maproot gate fails on the group alone (rule
 *             growth), named by its members' type and its variable; its
 *             figures at every snapshot are the runtime's own.
 *   diff      s0 -> s5: the group, in both, grew from 4 to 9 maps, from 400
 *             to 3,900 entries: growing, a suspect of s5, named by its
 *             variable.
 * Main then releases the workers, which exit.
 */
#include "scenario.h"

enum { FIRST = 4, STEPS = 6, WORKERS = FIRST + STEPS - 1, PER_STEP = 100, ANSWER = 256 };

SC_ITEM_TYPE(lookup_type, Lookup);

static const mr_map_type cache_type = {"map[int64]*Lookup", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};

static __thread mr_map *cache;

static sc_worker workers[WORKERS];
static uintptr_t cache_addr[WORKERS]; /* the addresses only: no roots */
static atomic_int next_worker, go, done[WORKERS], pool;

/* Worker w's part of step s: its cache, made at its first step, gains
 * PER_STEP lookups. */
__attribute__((noinline)) static void grow_cache(int w, int s)
{
    if (!cache) cache = mr_map_new(&cache_type, 0);
    sc_fill(cache, &lookup_type, (int64_t)s * PER_STEP, PER_STEP, ANSWER);
    cache_addr[w] = (uintptr_t)cache;
}

static void *worker_main(void *arg)
{
    (void)arg;
    int w = atomic_fetch_add(&next_worker, 1);
    for (int s = w < FIRST ? 0 : w - FIRST + 1; sc_wait_step(&workers[w], &go, s); s++) {
        grow_cache(w, s);
        sc_scrub_stack(); /* grow_cache's words below this frame are gone */
        atomic_store(&done[w], s + 1);
    }
    return NULL;
}

/* Step s: the pool gains its new worker(s), then every worker grows its
 * cache; main waits (blocked) until all have. */
static void step(int s)
{
    int n = FIRST + s;
    for (int w = atomic_load(&pool); w < n; w++) sc_start_worker(&workers[w], worker_main);
    atomic_store(&pool, n);
    sc_run_step(&go, done, n, s);
}

static void truths(const char *snapshot)
{
    int n = atomic_load(&pool);
    mr_map *all[WORKERS];
    for (int w = 0; w < n; w++) all[w] = (mr_map *)cache_addr[w];
    sc_truth_group(snapshot, "caches", all, (size_t)n, NULL);
    sc_truth(snapshot, "caches", "\"threads\": %d", n); /* a cache a worker */
    sc_truth_maps(snapshot, "cache", cache_addr, (size_t)n);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(sc_steps(STEPS, step, truths));
    for (int w = 0; w < WORKERS; w++) sc_stop_worker(&workers[w]);
    return 0;
}
