/*
 * tests/scenarios/cow_reload.c -- configuration reloaded copy-on-write: at
 * every reload a fresh map is built from the current one and stored in the
 * global, so the map under the global is a new one every interval.
 *
 * TRUTH. Six in-process snapshots "s0" .. "s5", one after each step:
 *   config   global map[string]*Setting. Every step copies the current map
 *            into a new one (the same Settings: the copy holds the values
 *            the old map held, the old map then garbage) and adds 400 new
 *            settings ("key-N", 128-byte blobs): 400 entries in s0, 2,400
 *            in s5. The global always holds the newest copy; as a user
 *            sees it, one configuration that grows in every interval:
 *            maproot gate fails on it (rule growth), following it as one
 *            map, and its figures at every snapshot are the runtime's
 *            (those of the copy the global holds).
 *            In s3 a reader (parked in read_config) still holds
 *            the copy of s2 in a local, as a reader that took the pointer
 *            before the reload does: two maps of the type, the global's
 *            copy the one the gate follows; the old copy retains only its
 *            table (its Settings are the new copy's too).
 *   routes   global map[int64]*Route: every step builds a new map of the
 *            same 600 routes (new Route objects, 64-byte blobs) and stores
 *            it in the global: never growing, no leak.
 * maproot diff s1 s2: config, the copy under the same global, +400 -0,
 * 800 -> 1,200, growing; routes +0 -0, not growing. maproot diff s2 s3:
 * the global's config +400 -0, growing, though s2's map lives on in the
 * reader (the user's configuration is the global's).
 */
#include "scenario.h"

enum { STEPS = 6, ADDED = 400, ROUTES = 600, READER_STEP = 3 };

SC_ITEM_TYPE(setting_type, Setting);
SC_ITEM_TYPE(route_type, Route);

static const mr_map_type config_type = {"map[string]*Setting", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};
static const mr_map_type routes_type = {"map[int64]*Route", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *config, *routes;
MR_GLOBAL(config)
MR_GLOBAL(routes)

static uintptr_t stale_addr; /* the copy the reader holds: the address only */
static sc_worker reader;

/* Blocks until main has taken its snapshot and measured. */
SC_NOCLONE static void wait_for_reload(void)
{
    sc_scrub_stack();
    sc_park(&reader);
}

/* A reader that took the configuration before a reload and still reads it. */
SC_NOCLONE static void read_config(void)
{
    mr_map *volatile cfg = (mr_map *)stale_addr;
    wait_for_reload();
    if (mr_map_len(cfg) != READER_STEP * ADDED) sc_fail("the reader's copy changed");
}

static void *reader_main(void *arg)
{
    (void)arg;
    read_config();
    return NULL;
}

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == READER_STEP) {
        stale_addr = (uintptr_t)config;
        sc_start_worker(&reader, reader_main);
    }
    if (s == READER_STEP + 1) sc_stop_worker(&reader);
    mr_map *c = sc_copy_map(&config_type, config, ADDED);
    for (int64_t k = (int64_t)s * ADDED; k < (int64_t)(s + 1) * ADDED; k++)
        *(sc_item **)mr_map_assign_str(c, mr_str_printf("key-%" PRId64, k)) =
            sc_new_item(&setting_type, k, 128);
    config = c;
    mr_map *r = mr_map_new(&routes_type, ROUTES);
    sc_fill(r, &route_type, 0, ROUTES, 64);
    routes = r;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "config", config);
    sc_truth_map(snapshot, "routes", routes);
    if (strcmp(snapshot, "s3") == 0) sc_truth_map(snapshot, "stale", (const mr_map *)stale_addr);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(config) != STEPS * ADDED) sc_fail("config has the wrong count");
    return rc;
}
