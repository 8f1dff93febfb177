/*
 * tests/scenarios/startup_config.c -- small maps written once at startup
 * whose last inserts started a growth that no later write finishes: as in
 * Go, a map evacuates its old buckets only on writes, so a table read ever
 * after keeps its old bucket array for good -- a few kilobytes, no leak.
 *
 * TRUTH. Three globals, each filled at startup (before s0) and only read
 * afterwards:
 *   routes   map[string]*Route, 108 routes (each Route with a 256-byte
 *            handler blob). The 105th insert doubled the table from 16 to
 *            32 buckets; each insert after it evacuated an old bucket or
 *            two, not all 16 (the program checks: old buckets remain).
 *   flags    map[int64]int64, 54 flags: the 53rd insert doubled it from 8
 *            to 16 buckets, a growth likewise left unfinished (its buckets
 *            hold no pointer).
 *   tenants  map[int64]*Tenant, 120 tenants (512-byte blobs), its last
 *            growth finished (the program checks: no old buckets).
 * Four in-process snapshots "s0" .. "s3"; between them the program only
 * reads the maps (lookups) and works on a scratch buffer of its own. No map
 * changes. The global `buffers` (an array of 32 pointers to 32 KiB blobs,
 * made at startup) is the rest of the service's heap, so that no map is a
 * large share of it. None is a leak: a growth left unfinished in a table
 * of a few kilobytes is no finding worth a report (what it keeps is an old
 * array of 16 or 8 buckets), and the gate over s0 .. s3 passes.
 */
#include "scenario.h"

enum { STEPS = 4, ROUTES = 108, FLAGS = 54, TENANTS = 120, BUFFERS = 32, BUFFER = 32768 };

SC_ITEM_TYPE(route_type, Route);
SC_ITEM_TYPE(tenant_type, Tenant);

static const mr_map_type routes_type = {"map[string]*Route", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};
static const mr_map_type flags_type = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};
static const mr_map_type tenants_type = {"map[int64]*Tenant", MR_KEY_INT64, NULL,
                                         &mr_type_pointer};

static mr_map *routes, *flags, *tenants;
static uint8_t *scratch, **buffers;
MR_GLOBAL(buffers)
MR_GLOBAL(routes)
MR_GLOBAL(flags)
MR_GLOBAL(tenants)
MR_GLOBAL(scratch)

static bool growing(mr_map *m)
{
    mr_map_info info;
    sc_map_info(m, &info);
    return info.oldbuckets != NULL;
}

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        routes = mr_map_new(&routes_type, 0);
        for (int i = 0; i < ROUTES; i++)
            *(sc_item **)mr_map_assign_str(routes, mr_str_printf("/api/v1/route-%d", i)) =
                sc_new_item(&route_type, i, 256);
        flags = mr_map_new(&flags_type, 0);
        for (int64_t i = 0; i < FLAGS; i++) *(int64_t *)mr_map_assign_int(flags, i) = i;
        buffers = mr_new_array(&mr_type_pointer, BUFFERS);
        for (int i = 0; i < BUFFERS; i++) buffers[i] = mr_alloc_blob(BUFFER);
        tenants = mr_map_new(&tenants_type, 0);
        sc_fill(tenants, &tenant_type, 0, TENANTS, 512);
        if (!growing(routes) || !growing(flags) || growing(tenants))
            sc_fail("the startup maps are not in the growth states the truth says");
    }
    /* the service's work: lookups, and a scratch buffer of its own */
    scratch = mr_alloc_blob(4096 * (size_t)(s + 1));
    int64_t hits = 0;
    for (int64_t i = 0; i < FLAGS; i++) hits += mr_map_lookup(flags, &i) != NULL;
    if (hits != FLAGS) sc_fail("a flag went missing");
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "routes", routes);
    sc_truth_map(snapshot, "flags", flags);
    sc_truth_map(snapshot, "tenants", tenants);
}

int main(int argc, char **argv)
{
    return sc_series_main(argc, argv, STEPS, step, truths);
}
