/*
 * tests/scenarios/three_holders.c -- a map held by two globals and a
 * frame, and a map held by a pin right at its header and by a global
 * through a chain of three objects: which holder is named, and whether the
 * text report, the JSON report and `maproot path` name the same one.
 *
 * TRUTH.
 *   index   map[string]*Doc of 30,000 docs (each with a 128-byte blob),
 *           never pruned (a leak). The global `mirror` points at its
 *           header; the global `service` points at a Service whose field
 *           points at it; a local of sc_main (a stack word) points at it
 *           during "held". No holder alone keeps it (root null; context
 *           several_roots) and all of them are listed, once each. The root
 *           named is global mirror: globals come first, and of the two the
 *           nearer (one step against two). Its chain starts there; the
 *           text's root line names it; `maproot path` to its header starts
 *           at it with the same steps as the report's chain. It retains
 *           every doc (every holder points at the header or at an object
 *           outside the map). At exit the stack word is gone: the two
 *           globals remain.
 *   pinned  map[int64]*Entry of 10,000 entries (each with a 192-byte
 *           blob). The pin "hot entries" points at its header; the global
 *           `deep` at a Link, whose next is a Link, whose next is a Link,
 *           whose map field is the header. The root named is global deep
 *           (globals before pins, however long the way); chain, text and
 *           path agree, as above.
 *   solo    map[int64]*Entry of 100 entries held by the global `solo`
 *           alone: its root is that global (root and retainer), no suspect.
 * Snapshots "held" (in-process) and "exit".
 */
#include "scenario.h"

enum { DOCS = 30000, PINNED = 10000, SOLO = 100 };

SC_ITEM_TYPE(doc_type, Doc);
SC_ITEM_TYPE(entry_type, Entry);

typedef struct Service {
    mr_str name;
    mr_map *index;
} Service;
MR_TYPE(service_type, Service, MR_FIELD(Service, name.ptr), MR_FIELD(Service, index));

typedef struct Link {
    struct Link *next;
    mr_map *map;
} Link;
MR_TYPE(link_type, Link, MR_FIELD(Link, next), MR_FIELD(Link, map));

static const mr_map_type docs_type = {"map[string]*Doc", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type entries_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *mirror, *solo;
static Service *service;
static Link *deep;
MR_GLOBAL(mirror)
MR_GLOBAL(service)
MR_GLOBAL(deep)
MR_GLOBAL(solo)
static uintptr_t pinned_addr; /* the address only: no root */

__attribute__((noinline)) static void build(void)
{
    mr_map *m = mr_map_new(&docs_type, 0);
    for (int64_t i = 0; i < DOCS; i++)
        *(Doc **)mr_map_assign_str(m, mr_str_printf("doc-%05" PRId64, i)) =
            sc_new_item(&doc_type, i, 128);
    service = mr_new(&service_type);
    service->name = mr_str_from("search");
    service->index = m;
    mirror = m;

    mr_map *p = mr_map_new(&entries_type, 0);
    sc_fill(p, &entry_type, 0, PINNED, 192);
    mr_pin(p, "hot entries");
    Link *c = mr_new(&link_type);
    c->map = p;
    Link *b = mr_new(&link_type);
    b->next = c;
    deep = mr_new(&link_type);
    deep->next = b;
    pinned_addr = (uintptr_t)p;

    solo = mr_map_new(&entries_type, 0);
    sc_fill(solo, &entry_type, 100000, SOLO, 192);
}

static void *hold(void)
{
    return mirror;
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "index", mirror);
    sc_truth_map(snapshot, "pinned", (const mr_map *)pinned_addr);
    sc_truth_map(snapshot, "solo", solo);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, hold);
}
