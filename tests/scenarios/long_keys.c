/*
 * tests/scenarios/long_keys.c -- maps whose keys differ only past the 64
 * bytes a snapshot shows of a key.
 *
 * TRUTH. Two globals, each a map that only grows (a leak):
 *   routes  map[string]*Route: every key is the same 70-byte path prefix
 *           followed by a five-digit number, so no two keys differ in
 *           their first 64 bytes. 3,000 routes (keys 0 .. 2,999) at
 *           snapshot "before", each Route with a blob of 96 + 8 * (i % 50)
 *           bytes; between "before" and "after" exactly 700 keys are added
 *           (3,000 .. 3,699) and exactly 250 removed (0 .. 249): +700
 *           -250, 3,450 entries after, growing. Keys that look alike are
 *           still different entries: the entries the report lists are told
 *           apart (no two are shown the same), and the diff counts what
 *           was added and removed, not what looks new.
 *   digests map[Digest]*Sample with 96-byte keys (MR_KEY_BYTES) whose
 *           first 88 bytes are the same, each Sample with a blob of 64 + 8 *
 *           (i % 40) bytes: 500 keys at "before", +120 -40 after. The same
 *           truths.
 * Each map retains exactly its objects (the scenario's dominator walk); the
 * keys of routes retain exactly their strings, its entries their string,
 * Route and blob. The snapshot at exit ("exit") sees the heap of "after".
 */
#include "scenario.h"

enum {
    ROUTES = 3000,
    ROUTES_ADDED = 700,
    ROUTES_REMOVED = 250,
    DIGESTS = 500,
    DIGESTS_ADDED = 120,
    DIGESTS_REMOVED = 40
};

/* 70 bytes, then the number */
#define ROUTE_FMT "/api/v2/organisations/northwind-traders/projects/platform/objects/key-%05" PRId64

SC_ITEM_TYPE(route_type, Route);
SC_ITEM_TYPE(sample_type, Sample);

typedef struct Digest {
    uint8_t bytes[96];
} Digest;
MR_TYPE_NOPTR(digest_type, Digest);

static const mr_map_type routes_type = {"map[string]*Route", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};
static const mr_map_type digests_type = {"map[Digest]*Sample", MR_KEY_BYTES, &digest_type,
                                         &mr_type_pointer};

static mr_map *routes, *digests;
MR_GLOBAL(routes)
MR_GLOBAL(digests)

static mr_str route_key(int64_t i)
{
    return mr_str_printf(ROUTE_FMT, i);
}

/* The key of digest i: 88 bytes of 0xab, then i in the last 8. */
static Digest digest_key(int64_t i)
{
    Digest d;
    memset(d.bytes, 0xab, sizeof d.bytes);
    memcpy(d.bytes + 88, &i, 8);
    return d;
}

static void add_routes(int64_t first, int64_t n)
{
    for (int64_t i = first; i < first + n; i++)
        *(sc_item **)mr_map_assign_str(routes, route_key(i)) =
            sc_new_item(&route_type, i, 96 + 8 * (size_t)(i % 50));
}

static void add_digests(int64_t first, int64_t n)
{
    for (int64_t i = first; i < first + n; i++) {
        Digest d = digest_key(i);
        *(sc_item **)mr_map_assign(digests, &d) =
            sc_new_item(&sample_type, i, 64 + 8 * (size_t)(i % 40));
    }
}

__attribute__((noinline)) static void build(void)
{
    routes = mr_map_new(&routes_type, 0);
    add_routes(0, ROUTES);
    digests = mr_map_new(&digests_type, 0);
    add_digests(0, DIGESTS);
}

__attribute__((noinline)) static void change(void)
{
    add_routes(ROUTES, ROUTES_ADDED);
    for (int64_t i = 0; i < ROUTES_REMOVED; i++) mr_map_delete_str(routes, route_key(i));
    add_digests(DIGESTS, DIGESTS_ADDED);
    for (int64_t i = 0; i < DIGESTS_REMOVED; i++) {
        Digest d = digest_key(i);
        mr_map_delete(digests, &d);
    }
}

static uint64_t size_of(const void *p)
{
    void *start;
    return mr_object_type(p, &start) ? mr_object_size(start) : 0;
}

static void on_route(const mr_map_slot *s, void *ud)
{
    const mr_str *k = s->key;
    const sc_item *it = *(sc_item *const *)s->value;
    uint64_t key = size_of(k->ptr);
    char name[16];
    snprintf(name, sizeof name, "%" PRId64, it->id);
    sc_entry(ud, name, key, key + mr_object_size(it) + mr_object_size(it->blob));
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "routes", routes);
    sc_entries e = {0};
    sc_walk_slots(routes, on_route, &e);
    sc_truth_entries(snapshot, "routes", &e);
    sc_truth_map(snapshot, "digests", digests);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    build();
    SC_SNAPSHOT("before");
    SC_TRUTHS(truths, "before");
    change();
    SC_SNAPSHOT("after");
    SC_TRUTHS(truths, "after");
    if (mr_map_len(routes) != ROUTES + ROUTES_ADDED - ROUTES_REMOVED) sc_fail("routes: wrong count");
    mr_exiting(); /* from here on as at exit: main's frame is no root */
    SC_TRUTHS(truths, "exit");
    return 0;
}
