/*
 * tests/scenarios/plugin_cache.c -- the shared library that scenario
 * dlopen_global loads with dlopen: a global of its own, registered as a
 * root when the library is loaded, holds a map that only grows.
 */
#include "maproot/rt.h"

#include <stdint.h>

typedef struct Entry {
    int64_t id;
    uint8_t *blob;
} Entry;
MR_TYPE(plugin_entry_type, Entry, MR_FIELD(Entry, blob));

static const mr_map_type plugin_cache_type = {"map[int64]*PluginEntry", MR_KEY_INT64, NULL,
                                              &mr_type_pointer};

static mr_map *plugin_cache;
MR_GLOBAL(plugin_cache)

/* Ends the library's registrations, before its host unloads it: the
 * next collection must not read the unmapped global. */
__attribute__((visibility("default"))) void plugin_unload(void)
{
    MR_UNREGISTER_GLOBAL(plugin_cache);
}

/* Adds n entries (each with a blob of blob_bytes) to the library's cache;
 * returns its header. */
__attribute__((visibility("default"))) mr_map *plugin_fill(int64_t n, size_t blob_bytes)
{
    if (!plugin_cache) plugin_cache = mr_map_new(&plugin_cache_type, 0);
    for (int64_t i = 0; i < n; i++) {
        Entry *e = mr_new(&plugin_entry_type);
        e->id = i;
        e->blob = mr_alloc_blob(blob_bytes);
        *(Entry **)mr_map_assign_int(plugin_cache, i) = e;
    }
    return plugin_cache;
}
