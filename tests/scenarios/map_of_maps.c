/*
 * tests/scenarios/map_of_maps.c -- a map whose values are maps; one inner
 * map leaks, and a stack word points straight at it.
 *
 * TRUTH. The global `tenants` is a map[string]map[int64]*Event of 20
 * tenants, "tenant-0" .. "tenant-19". Every tenant's inner map holds 40
 * events (each with a 200-byte payload) except tenant-7's, which holds
 * 30,000: events are added and never evicted (the leak).
 *
 *   tenant7   root: global tenants. Chain: tenants -> the outer map header
 *             -> the bucket and slot holding the key "tenant-7" -> the inner
 *             map header. A leak suspect (large_share); it retains exactly
 *             its own header, buckets, events and payloads.
 *   tenant3   a small inner map of the same type, same root: no suspect.
 *   tenants   the outer map: retains every inner map it alone holds.
 *
 * Snapshot "held" is written while a local variable of sc_main (a
 * stack word) points directly at tenant-7's inner map header: the global
 * holds it through two objects, the stack word directly. Globals come before
 * stacks in the root priority, whatever the path length: the root named is
 * still global tenants, and sc_main's stack word is listed among the other
 * roots reaching it (so, in "held", the outer map no longer dominates
 * tenant-7's map). Snapshot "exit" is written at exit, when the thread's frames are
 * no root any more.
 */
#include "scenario.h"

enum { NTENANTS = 20, SMALL = 40, LEAKY = 30000, PAYLOAD = 200 };

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type events_type = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type tenants_type = {"map[string]map[int64]*Event", MR_KEY_STRING, NULL,
                                         &mr_type_pointer};

static mr_map *tenants;
MR_GLOBAL(tenants)

/* The inner map of tenant i (a map value is a pointer to a map header). */
static mr_map *tenant(int i)
{
    char name[32];
    snprintf(name, sizeof name, "tenant-%d", i);
    mr_map **v = mr_map_lookup_str(tenants, mr_str_from(name));
    if (!v) sc_fail("no %s", name);
    return *v;
}

__attribute__((noinline)) static void build(void)
{
    tenants = mr_map_new(&tenants_type, 0);
    for (int i = 0; i < NTENANTS; i++) {
        mr_map *inner = mr_map_new(&events_type, 0);
        *(mr_map **)mr_map_assign_str(tenants, mr_str_printf("tenant-%d", i)) = inner;
    }
    for (int i = 0; i < NTENANTS; i++)
        sc_fill(tenant(i), &event_type, 0, i == 7 ? LEAKY : SMALL, PAYLOAD);
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tenant7", tenant(7));
    sc_truth_map(snapshot, "tenant3", tenant(3));
    sc_truth_map(snapshot, "tenants", tenants);
}

/* What a stack word points at during "held": tenant-7's map header. */
static void *hot(void)
{
    return tenant(7);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, hot);
}
