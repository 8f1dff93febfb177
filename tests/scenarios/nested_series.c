/*
 * tests/scenarios/nested_series.c -- maps of maps over a series: inner maps
 * that grow under an outer map that holds still, and an outer map that
 * grows by inner maps that each hold still.
 *
 * TRUTH. Five in-process snapshots "s0" .. "s4", one after each step:
 *   tenants   global map[int64]map[int64]*Event of 40 tenants (keys 0 ..
 *             39, made at step 0, never added to nor removed). Every step
 *             adds 60 Events (each with a 256-byte blob) to every tenant's
 *             inner map: 60 .. 300 events each, 2,400 more in all every
 *             step. No inner map grows by enough to leak alone (240 events,
 *             some 70 KiB over the gate's window), the 40 together by 9,600
 *             events and 2.7 MiB: one leak, in the inner maps, whose bytes
 *             the outer map retains. The outer map keeps its 40 entries and
 *             grows in retained bytes (some 700 KiB every step): the gate
 *             fails on it by its bytes (rule growth), once -- not again on
 *             the inner maps, whose bytes are the outer map's. Its entries'
 *             values are the inner maps: shown as map[int64]*Event.
 *   sessions  global map[int64]map[int64]*Attr: every step adds 300
 *             sessions (keys never reused), each an inner map of 2 Attrs
 *             (64-byte blobs) that never changes: 300 .. 1,500 entries. The
 *             leak is the outer map, growing in every interval by 300
 *             entries: the gate fails on it (rule growth), once.
 *   tenant_0, session_0   one inner map of each, followed in the series
 *             with the runtime's figures.
 */
#include "scenario.h"

enum {
    TENANTS = 40,
    EVENTS_STEP = 60,
    EVENT_BLOB = 256,
    SESSIONS_STEP = 300,
    ATTRS = 2,
    ATTR_BLOB = 64,
    STEPS = 5
};

SC_ITEM_TYPE(event_type, Event);
SC_ITEM_TYPE(attr_type, Attr);

static const mr_map_type events_type = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type tenants_type = {"map[int64]map[int64]*Event", MR_KEY_INT64, NULL,
                                         &mr_type_pointer};
static const mr_map_type attrs_type = {"map[int64]*Attr", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type sessions_type = {"map[int64]map[int64]*Attr", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

static mr_map *tenants, *sessions;
MR_GLOBAL(tenants)
MR_GLOBAL(sessions)

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        tenants = mr_map_new(&tenants_type, 0);
        sessions = mr_map_new(&sessions_type, 0);
        for (int64_t t = 0; t < TENANTS; t++)
            *(mr_map **)mr_map_assign_int(tenants, t) = mr_map_new(&events_type, 0);
    }
    for (int64_t t = 0; t < TENANTS; t++) {
        mr_map *inner = *(mr_map **)mr_map_lookup_int(tenants, t);
        sc_fill(inner, &event_type, (int64_t)s * EVENTS_STEP, EVENTS_STEP, EVENT_BLOB);
    }
    for (int64_t k = (int64_t)s * SESSIONS_STEP; k < (int64_t)(s + 1) * SESSIONS_STEP; k++) {
        mr_map *inner = mr_map_new(&attrs_type, 0);
        sc_fill(inner, &attr_type, 0, ATTRS, ATTR_BLOB);
        *(mr_map **)mr_map_assign_int(sessions, k) = inner;
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tenants", tenants);
    sc_truth_map(snapshot, "sessions", sessions);
    sc_truth_map(snapshot, "tenant_0", *(mr_map **)mr_map_lookup_int(tenants, 0));
    sc_truth_map(snapshot, "session_0", *(mr_map **)mr_map_lookup_int(sessions, 0));
}

int main(int argc, char **argv)
{
    return sc_series_main(argc, argv, STEPS, step, truths);
}
