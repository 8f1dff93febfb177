/*
 * tests/scenarios/pin.c -- a map behind a pin: the heap object that refers
 * to it is referenced from malloc'd memory, which the collector cannot see.
 *
 * TRUTH. A plugin host lives in malloc'd memory and refers to its Registry
 * (a heap object) through a pin labelled "plugin registry". The Registry
 * points at a PluginTable, whose map[string]*Plugin holds 20,000 plugins,
 * each with a 200-byte blob: plugins are loaded and never unloaded (a leak).
 *
 *   plugins  root: pin "plugin registry". Chain: the pin -> Registry ->
 *            PluginTable -> the map header. A suspect (large_share),
 *            retaining exactly its own objects.
 *   dropped  a second host's registry, pinned and then unpinned (built by a
 *            thread that has exited): its map of 2,000 plugins is garbage and
 *            no snapshot has it.
 *
 * Snapshot "held" is written while a local of sc_main points straight at the
 * plugins map header: the pin holds the map through two objects, the stack
 * word directly. Pins come before stacks in the root priority, whatever the
 * path length: the root named is still the pin, and sc_main's stack word is
 * listed among the other roots. Snapshot "exit" is written at exit.
 */
#include "scenario.h"

enum { PLUGINS = 20000, DROPPED = 2000, BLOB = 200 };

typedef struct Plugin {
    mr_str name;
    uint8_t *code;
} Plugin;
MR_TYPE(plugin_type, Plugin, MR_FIELD(Plugin, name), MR_FIELD(Plugin, code));

typedef struct PluginTable {
    int64_t loaded;
    mr_map *plugins;
} PluginTable;
MR_TYPE(table_type, PluginTable, MR_FIELD(PluginTable, plugins));

typedef struct Registry {
    mr_str name;
    PluginTable *table;
} Registry;
MR_TYPE(registry_type, Registry, MR_FIELD(Registry, name), MR_FIELD(Registry, table));

static const mr_map_type plugins_type = {"map[string]*Plugin", MR_KEY_STRING, NULL,
                                         &mr_type_pointer};
static const mr_map_type dropped_type = {"map[string]*DroppedPlugin", MR_KEY_STRING, NULL,
                                         &mr_type_pointer};

/* The host: malloc'd, so its pointer to the Registry needs the pin. */
typedef struct host {
    Registry *registry;
    mr_pin_handle pin;
} host;

static host *new_host(const mr_map_type *t, int nplugins)
{
    host *h = malloc(sizeof *h);
    if (!h) sc_fail("out of memory");
    h->registry = mr_new(&registry_type);
    h->pin = mr_pin(h->registry, "plugin registry");
    h->registry->name = mr_str_from("main");
    h->registry->table = mr_new(&table_type);
    h->registry->table->plugins = mr_map_new(t, 0);
    for (int i = 0; i < nplugins; i++) {
        Plugin *p = mr_new(&plugin_type);
        p->name = mr_str_printf("plugin-%d", i);
        p->code = mr_alloc_blob(BLOB);
        *(Plugin **)mr_map_assign_str(h->registry->table->plugins, p->name) = p;
        h->registry->table->loaded++;
    }
    return h;
}

static uintptr_t dropped_map; /* its address only: no root */

static void *drop_a_host(void *arg)
{
    (void)arg;
    host *h = new_host(&dropped_type, DROPPED);
    dropped_map = (uintptr_t)h->registry->table->plugins;
    mr_unpin(h->pin);
    free(h);
    return NULL;
}

static host *the_host;

__attribute__((noinline)) static void build(void)
{
    the_host = new_host(&plugins_type, PLUGINS);
    sc_in_dead_thread(drop_a_host);
    sc_truth("any", "dropped", "\"address\": %" PRIuPTR, dropped_map);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "plugins", the_host->registry->table->plugins);
}

/* What a stack word points at during "held": the plugins map header. */
static void *direct(void)
{
    return the_host->registry->table->plugins;
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, direct);
}
