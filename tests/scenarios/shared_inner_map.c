/*
 * tests/scenarios/shared_inner_map.c -- a leaking map that is the value of
 * entries of two other maps.
 *
 * TRUTH. Two globals, each a map[string]map[int64]*Host:
 *   by_region  "eu" -> hosts_eu, "us" -> hosts_us (10 hosts).
 *   by_zone    "eu-2" -> hosts_eu (the same inner map).
 *   hosts_eu   20,000 hosts (each with a 160-byte stats blob), registered
 *              and never removed: a suspect (large_share) retaining exactly
 *              its own objects. Both outer maps reach its header: both
 *              globals are among its roots, once each; the root named is
 *              one of them, and its chain starts at that root.
 *   by_region  retains its table, its keys and hosts_us, not hosts_eu
 *              (exactly its objects, the scenario's dominator walk). Its
 *              entry "eu" retains only its key string and is shared
 *              (by_zone reaches its value too); "us" retains its key
 *              string and hosts_us (10 hosts) and is not shared:
 *              shared_entries 1, shared_bytes what hosts_eu retains.
 *   by_zone    retains its table and its key only; its one entry "eu-2"
 *              retains its key string and is shared: shared_entries 1,
 *              shared_bytes what hosts_eu retains.
 *   Neither outer map is a suspect: what they share is hosts_eu, a
 *   suspect of its own (their inner_suspect_bytes: what it retains), and
 *   what is left (a table, two keys, a 10-host map) is no leak. hosts_eu
 *   is the one suspect.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { HOSTS = 20000, FEW = 10, STATS = 160 };

SC_ITEM_TYPE(host_type, Host);

static const mr_map_type hosts_type = {"map[int64]*Host", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type outer_type = {"map[string]map[int64]*Host", MR_KEY_STRING, NULL,
                                       &mr_type_pointer};

static mr_map *by_region, *by_zone;
MR_GLOBAL(by_region)
MR_GLOBAL(by_zone)

__attribute__((noinline)) static void build(void)
{
    mr_map *eu = mr_map_new(&hosts_type, 0), *us = mr_map_new(&hosts_type, 0);
    sc_fill(eu, &host_type, 0, HOSTS, STATS);
    sc_fill(us, &host_type, 0, FEW, STATS);
    by_region = mr_map_new(&outer_type, 0);
    *(mr_map **)mr_map_assign_str(by_region, mr_str_from("eu")) = eu;
    *(mr_map **)mr_map_assign_str(by_region, mr_str_from("us")) = us;
    by_zone = mr_map_new(&outer_type, 0);
    *(mr_map **)mr_map_assign_str(by_zone, mr_str_from("eu-2")) = eu;
}

static mr_map *inner(mr_map *outer, const char *key)
{
    mr_map *m = NULL;
    mr_str k = mr_str_from(key);
    if (!mr_map_get(outer, &k, &m) || !m) sc_fail("no %s", key);
    return m;
}

typedef struct entry_truth {
    const mr_map *shared;     /* the inner map two outer maps reach */
    uint64_t own_retained;    /* what the other inner map retains */
    sc_entries e;
} entry_truth;

static void on_slot(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    const mr_str *k = s->key;
    void *start;
    uint64_t key = mr_object_type(k->ptr, &start) ? mr_object_size(start) : 0;
    const mr_map *v = *(mr_map *const *)s->value;
    char name[16];
    snprintf(name, sizeof name, "%.*s", (int)k->len, k->ptr);
    sc_entry(&t->e, name, key, key + (v == t->shared ? 0 : t->own_retained));
}

static void truth_outer(const char *snapshot, const char *label, mr_map *outer, const mr_map *eu,
                        uint64_t us_retained, uint64_t eu_retained)
{
    sc_truth_map(snapshot, label, outer);
    entry_truth t = {eu, us_retained, {0}};
    sc_walk_slots(outer, on_slot, &t);
    sc_truth(snapshot, label, "\"shared_bytes\": %" PRIu64, eu_retained);
    sc_truth_entries(snapshot, label, &t.e);
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    mr_map *eu = inner(by_region, "eu"), *us = inner(by_region, "us");
    if (inner(by_zone, "eu-2") != eu) sc_fail("by_zone lost hosts_eu");
    sc_truth_map(snapshot, "hosts_eu", eu);
    uint64_t eu_retained = sc_map_retained(eu, NULL), us_retained = sc_map_retained(us, NULL);
    truth_outer(snapshot, "by_region", by_region, eu, us_retained, eu_retained);
    truth_outer(snapshot, "by_zone", by_zone, eu, 0, eu_retained);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
