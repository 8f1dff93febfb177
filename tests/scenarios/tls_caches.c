/*
 * tests/scenarios/tls_caches.c -- a per-thread cache: every worker of a
 * pool keeps its own small map in the same thread-local variable, and
 * none evicts.
 *
 * TRUTH. Main (thread 1) starts 12 workers one after another; worker w
 * (w = 0 .. 11) is thread w + 2. Each puts a map[int64]*Lookup of
 * 500 + 25 * w lookups (each with a 256-byte answer) in the thread-local
 * variable `cache` (static __thread), then parks (blocked) in serve().
 * Main keeps a small global map[int64]*Route `routes` of 200 routes. Main
 * then writes the snapshot "held":
 *   cache_W   held only by the thread-local storage of thread W + 2: the
 *             root named is that storage (a runtime root, no frame's), every
 *             root of its header is that thread's storage, and no map is
 *             credited to another thread's; each retains exactly its own
 *             objects (they differ in size, so a swap shows). Each is a few
 *             percent of the heap, and no single one is a suspect of its
 *             own.
 *   routes    held by its global; no suspect.
 * The caches together are most of the heap: what a user looks for is the
 * one variable that holds them all. That variable, in its 12 threads,
 * retains the caches and nothing else: the group's holder retains what the
 * twelve retain together, not the first thread's cache alone. Main then releases the workers, which
 * exit, and declares itself exiting: at exit no cache is left.
 */
#include "scenario.h"

enum { WORKERS = 12, LOOKUPS = 500, STEP = 25, ANSWER = 256, ROUTES = 200 };

SC_ITEM_TYPE(lookup_type, Lookup);
SC_ITEM_TYPE(route_type, Route);

static const mr_map_type cache_type = {"map[int64]*Lookup", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};
static const mr_map_type routes_type = {"map[int64]*Route", MR_KEY_INT64, NULL,
                                        &mr_type_pointer};

static __thread mr_map *cache;
static mr_map *routes;
MR_GLOBAL(routes)

static sc_worker workers[WORKERS];
static uintptr_t cache_addr[WORKERS]; /* the addresses only: no roots */
static atomic_int next_worker;

__attribute__((noinline)) static void fill_cache(int w)
{
    cache = mr_map_new(&cache_type, 0);
    sc_fill(cache, &lookup_type, 0, LOOKUPS + STEP * w, ANSWER);
    cache_addr[w] = (uintptr_t)cache;
}

SC_NOCLONE static void serve(int w)
{
    sc_park(&workers[w]);
    if (mr_map_len(cache) != (size_t)(LOOKUPS + STEP * w)) sc_fail("cache lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    int w = atomic_fetch_add(&next_worker, 1);
    fill_cache(w);
    sc_scrub_stack(); /* fill_cache's words below this frame are gone */
    serve(w);
    return NULL;
}

static void truths(const char *snapshot)
{
    if (strcmp(snapshot, "held") == 0) {
        mr_map *all[WORKERS];
        for (int w = 0; w < WORKERS; w++) all[w] = (mr_map *)cache_addr[w];
        sc_truth_group(snapshot, "caches", all, WORKERS, NULL);
    }
    sc_truth_maps(snapshot, "cache", cache_addr, WORKERS);
    sc_truth_map(snapshot, "routes", routes);
}

__attribute__((noinline)) static void make_routes(void)
{
    routes = mr_map_new(&routes_type, 0);
    sc_fill(routes, &route_type, 0, ROUTES, ANSWER);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(make_routes());
    for (int w = 0; w < WORKERS; w++) sc_start_worker(&workers[w], worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    for (int w = 0; w < WORKERS; w++) sc_stop_worker(&workers[w]);
    mr_exiting();
    SC_SNAPSHOT("exit");
    SC_TRUTHS(truths, "exit-routes");
    return 0;
}
