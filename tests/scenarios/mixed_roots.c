/*
 * tests/scenarios/mixed_roots.c -- maps held by two roots of different
 * kinds at once: a global and a worker's thread-local variable, a worker's
 * thread-local variable and a local of its running frame, a pin and a
 * suspended fiber's frame. Which root is named follows the priority of
 * maproot-analyze(1) (globals, pins, stack frames, iterators, registers,
 * then the runtime's roots: thread-local storage and fiber stacks), and
 * the text report, the JSON report and `maproot path` name the same one.
 *
 * TRUTH. Each map is a map[int64]*T of 3,000 items (256-byte blobs), only
 * ever added (each a suspect, large_share, retaining exactly its objects):
 *   cfg    held by the global `config` and by the thread-local variable
 *          `tls_cfg` of a worker (thread 2) parked in park_worker. Named:
 *          global config; the worker's thread-local storage among its
 *          other roots.
 *   cache  held by the worker's thread-local variable `tls_cache` and by a
 *          volatile local of park_worker (its frame #0: sc_park is
 *          inlined). Named: that frame of thread 2 (a stack frame outranks
 *          the runtime's roots); the thread-local storage among its roots.
 *   feed   made by the fiber "reader fiber" (a registered 1 MiB stack,
 *          makecontext/swapcontext), held by a local of its function
 *          fiber_body and by the pin "feed handle"; the fiber is suspended
 *          during "held". Named: the pin; the fiber stack among its roots.
 * Snapshot "held" (in-process, from main). Then the fiber returns (its
 * stack unregistered), the worker is released and exits, and main
 * declares itself exiting: at exit cfg is held by its global alone, feed
 * by its pin alone, and cache is garbage (absent).
 */
#include "scenario.h"

enum { ITEMS = 3000, BLOB = 256 };

SC_ITEM_TYPE(setting_type, Setting);
SC_ITEM_TYPE(entry_type, Entry);
SC_ITEM_TYPE(post_type, Post);

static const mr_map_type cfg_type = {"map[int64]*Setting", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type cache_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type feed_type = {"map[int64]*Post", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *config;
MR_GLOBAL(config)

static __thread mr_map *tls_cfg, *tls_cache;
static uintptr_t cache_addr, feed_addr; /* the addresses only: no roots */
static sc_worker worker;

static ucontext_t main_ctx;
static sc_fiber fiber;
static mr_pin_handle feed_pin;

__attribute__((noinline)) static mr_map *make_cache(void)
{
    tls_cache = mr_map_new(&cache_type, 0);
    sc_fill(tls_cache, &entry_type, 0, ITEMS, BLOB);
    cache_addr = (uintptr_t)tls_cache;
    return tls_cache;
}

SC_NOCLONE static void park_worker(void)
{
    mr_map *volatile cache = make_cache();
    tls_cfg = config;
    sc_scrub_stack(); /* make_cache's words are gone */
    sc_park(&worker);
    if (mr_map_len(cache) != ITEMS || mr_map_len(tls_cfg) != ITEMS) sc_fail("lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    sc_scrub_stack();
    park_worker();
    return NULL;
}

static void yield_to_main(void)
{
    mr_stack_switch(0);
    if (swapcontext(&fiber.ctx, &main_ctx) != 0) sc_fail("swapcontext");
}

__attribute__((noinline)) static mr_map *make_feed(void)
{
    mr_map *m = mr_map_new(&feed_type, 0);
    sc_fill(m, &post_type, 0, ITEMS, BLOB);
    feed_pin = mr_pin(m, "feed handle");
    feed_addr = (uintptr_t)m;
    return m;
}

SC_NOCLONE static void fiber_body(void)
{
    mr_map *volatile feed = SC_CLEAN(make_feed());
    sc_scrub_stack();
    yield_to_main();
    if (mr_map_len(feed) != ITEMS) sc_fail("the fiber's map lost entries");
    mr_stack_switch(0); /* returning: uc_link brings the thread back to main */
}

SC_NOCLONE static void resume_fiber(void)
{
    mr_stack_switch(fiber.handle);
    if (swapcontext(&main_ctx, &fiber.ctx) != 0) sc_fail("swapcontext");
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "cfg", config);
    if (!strcmp(snapshot, "held")) sc_truth_map(snapshot, "cache", (const mr_map *)cache_addr);
    sc_truth_map(snapshot, "feed", (const mr_map *)feed_addr);
    sc_truth(snapshot, "gone", "\"address\": %" PRIuPTR, cache_addr);
}

__attribute__((noinline)) static void make_config(void)
{
    config = mr_map_new(&cfg_type, 0);
    sc_fill(config, &setting_type, 0, ITEMS, BLOB);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(make_config());
    sc_fiber_make(&fiber, "reader fiber", fiber_body, &main_ctx);
    SC_CLEAN(resume_fiber()); /* builds feed, suspends */
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    SC_CLEAN(resume_fiber()); /* returns */
    sc_fiber_free(&fiber);
    sc_stop_worker(&worker);
    mr_exiting();
    SC_SNAPSHOT("exit");
    SC_TRUTHS(truths, "exit");
    return 0;
}
