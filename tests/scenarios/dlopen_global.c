/*
 * tests/scenarios/dlopen_global.c -- a map held by a global of a shared
 * library loaded with dlopen, and what is left once it is unloaded.
 *
 * TRUTH. Main loads the library (PLUGIN_PATH, built from plugin_cache.c)
 * with dlopen; its constructor registers its global `plugin_cache` as a
 * root. plugin_fill puts 20,000 entries (each with a 200-byte blob) in the
 * map[int64]*PluginEntry that global holds. Main keeps no pointer to it.
 *   plugin   snapshot "loaded": the root named is the library's global,
 *            plugin_cache (its own symbol, not an address), and every root
 *            reaching the map is that global. A suspect (large_share)
 *            retaining exactly its own objects.
 * Then main calls the library's plugin_unload, which ends the registration
 * of its global (MR_UNREGISTER_GLOBAL), and unloads the library with
 * dlclose: its global is gone from the address space, so it is no root any
 * more (a collection must not read it), and nothing else holds the map.
 * Snapshot "unloaded" (in-process, after dlclose) and the one at exit have
 * no map at the map's address and no suspect; the program goes on
 * allocating in between (it runs collections) without fault.
 * Main then loads the library again and fills a new map (plugin_again),
 * rooted at plugin_cache in snapshot "reloaded", and unloads it with
 * dlclose WITHOUT ending the registration first: the runtime drops the
 * registration of a global whose library is gone, so the collections that
 * follow and snapshot "abandoned" read neither the unmapped global nor its
 * name, and the map is garbage (absent there and at exit).
 */
#include "scenario.h"

#include <dlfcn.h>

enum { ENTRIES = 20000, BLOB = 200 };

static void *plugin;
static uintptr_t plugin_map; /* the address only: no root */

__attribute__((noinline)) static void load(void)
{
    plugin = dlopen(PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!plugin) sc_fail("dlopen %s: %s", PLUGIN_PATH, dlerror());
    mr_map *(*fill)(int64_t, size_t) = (mr_map * (*)(int64_t, size_t)) dlsym(plugin, "plugin_fill");
    if (!fill) sc_fail("dlsym plugin_fill: %s", dlerror());
    plugin_map = (uintptr_t)fill(ENTRIES, BLOB);
}

/* Unloads the library; with end_registration, after it has ended the
 * registration of its global. */
__attribute__((noinline)) static void unload(bool end_registration)
{
    if (end_registration) {
        void (*end)(void) = (void (*)(void))dlsym(plugin, "plugin_unload");
        if (!end) sc_fail("dlsym plugin_unload: %s", dlerror());
        end();
    }
    if (dlclose(plugin) != 0) sc_fail("dlclose: %s", dlerror());
    plugin = NULL;
}

/* Allocates and drops garbage: collections run after the unload. */
__attribute__((noinline)) static void churn(void)
{
    for (int i = 0; i < 20000; i++) mr_alloc_blob(1024);
    mr_gc();
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "plugin", (const mr_map *)plugin_map);
}

static void truths_again(const char *snapshot)
{
    sc_truth_map(snapshot, "plugin_again", (const mr_map *)plugin_map);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(load());
    SC_SNAPSHOT("loaded");
    SC_TRUTHS(truths, "loaded");
    SC_CLEAN(unload(true));
    SC_CLEAN(churn());
    SC_SNAPSHOT("unloaded");
    SC_CLEAN(load());
    SC_SNAPSHOT("reloaded");
    SC_TRUTHS(truths_again, "reloaded");
    SC_CLEAN(unload(false));
    SC_CLEAN(churn());
    SC_SNAPSHOT("abandoned");
    mr_exiting();
    return 0;
}
