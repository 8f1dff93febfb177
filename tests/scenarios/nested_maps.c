/*
 * tests/scenarios/nested_maps.c -- maps inside structs inside maps, three
 * levels deep; the innermost map of one branch leaks.
 *
 * TRUTH. The global `regions` is a map[string]*Region of 4 regions ("us",
 * "eu", "ap", "sa"); each Region has a map[string]*Zone of 3 zones ("eu-1",
 * "eu-2", "eu-3" for "eu"); each Zone has a map[int64]*Host of 10 hosts,
 * except zone "eu-2", whose hosts are registered and never removed: 20,000
 * hosts, each with a 160-byte stats blob (the leak).
 *
 *   hosts_eu2  root: global regions. Chain: regions -> its map header ->
 *              bucket/slot of "eu" -> Region -> the zones map header ->
 *              bucket/slot of "eu-2" -> Zone -> the hosts map header. A
 *              suspect (large_share) retaining exactly its own objects.
 *   zones_eu   the "eu" Region's zones map: retains hosts_eu2 too.
 *   hosts_us1  a 10-host map under the same root: no suspect.
 *
 * Snapshot "held" is written while a local of sc_main points at the "eu-2"
 * Zone (one object above the leaking map's header): the global holds the
 * map through six objects, sc_main's stack word through one; the root named
 * is still global regions (globals before stacks, whatever the path
 * length), the stack word one of the other roots. Snapshot "exit" is
 * written at exit.
 */
#include "scenario.h"

enum { SMALL = 10, LEAKY = 20000, STATS = 160 };

SC_ITEM_TYPE(host_type, Host);

typedef struct Zone {
    mr_str name;
    mr_map *hosts;
} Zone;
MR_TYPE(zone_type, Zone, MR_FIELD(Zone, name), MR_FIELD(Zone, hosts));

typedef struct Region {
    mr_str name;
    mr_map *zones;
} Region;
MR_TYPE(region_type, Region, MR_FIELD(Region, name), MR_FIELD(Region, zones));

static const mr_map_type hosts_type = {"map[int64]*Host", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type zones_type = {"map[string]*Zone", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type regions_type = {"map[string]*Region", MR_KEY_STRING, NULL,
                                         &mr_type_pointer};

static mr_map *regions;
MR_GLOBAL(regions)

static const char *const region_names[] = {"us", "eu", "ap", "sa"};

static void *lookup(mr_map *m, const char *key)
{
    void **v = mr_map_lookup_str(m, mr_str_from(key));
    if (!v) sc_fail("no %s", key);
    return *v;
}

static Zone *zone(const char *region, const char *name)
{
    Region *r = lookup(regions, region);
    return lookup(r->zones, name);
}

__attribute__((noinline)) static void build(void)
{
    regions = mr_map_new(&regions_type, 0);
    for (int i = 0; i < 4; i++) {
        Region *r = mr_new(&region_type);
        r->name = mr_str_from(region_names[i]);
        r->zones = mr_map_new(&zones_type, 0);
        *(Region **)mr_map_assign_str(regions, r->name) = r;
        for (int j = 1; j <= 3; j++) {
            Zone *z = mr_new(&zone_type);
            z->name = mr_str_printf("%s-%d", region_names[i], j);
            z->hosts = mr_map_new(&hosts_type, 0);
            *(Zone **)mr_map_assign_str(r->zones, z->name) = z;
            sc_fill(z->hosts, &host_type, 0, i == 1 && j == 2 ? LEAKY : SMALL, STATS);
        }
    }
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "hosts_eu2", zone("eu", "eu-2")->hosts);
    sc_truth_map(snapshot, "hosts_us1", zone("us", "us-1")->hosts);
    sc_truth_map(snapshot, "zones_eu", ((Region *)lookup(regions, "eu"))->zones);
}

/* What a stack word points at during "held": the "eu-2" Zone. */
static void *current(void)
{
    return zone("eu", "eu-2");
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, current);
}
