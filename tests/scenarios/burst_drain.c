/*
 * tests/scenarios/burst_drain.c -- a series in which one map grows in a
 * single interval (a bulk load) and then holds still, another only drains
 * (deletes: its table stays), and a third grows in every interval.
 *
 * TRUTH. Five in-process snapshots "s0" .. "s4", one after each step:
 *   burst    global map[int64]*Record: 2,000 records (128-byte blobs) in s0
 *            and s1; between s1 and s2 a bulk load adds 6,000 more; 8,000
 *            in s2, s3 and s4. It grew in one interval of four: no leak by
 *            the growth rule (it plateaued).
 *   drain    global map[int64]*Job: 10,000 jobs (96-byte inputs) in s0;
 *            each later step deletes 2,000 (the oldest keys): 8,000, 6,000,
 *            4,000, 2,000. Its bucket array never shrinks, but it gains no
 *            entry and its retained bytes fall: it never grows.
 *   leak     global map[string]*Event: 800 new keys every step ("e-N",
 *            64-byte blobs): 800 in s0 .. 4,000 in s4. Grows in every
 *            interval: the one leak (rule growth).
 * maproot diff s1 s2 says burst grew (+6,000 -0) and drain did not
 * (+0 -2,000); diff s2 s3 says burst is still (+0 -0). maproot gate over
 * s0 .. s4 fails on leak alone, and its figures for each map, at every
 * snapshot, are the runtime's.
 */
#include "scenario.h"

enum { STEPS = 5, BURST = 2000, LOAD = 6000, JOBS = 10000, DELETED = 2000, EVENTS = 800 };

SC_ITEM_TYPE(record_type, Record);
SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(event_type, Event);

static const mr_map_type burst_type = {"map[int64]*Record", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};
static const mr_map_type drain_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type leak_type = {"map[string]*Event", MR_KEY_STRING, NULL,
                                      &mr_type_pointer};

static mr_map *burst, *drain, *leak;
MR_GLOBAL(burst)
MR_GLOBAL(drain)
MR_GLOBAL(leak)

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        burst = mr_map_new(&burst_type, 0);
        drain = mr_map_new(&drain_type, 0);
        leak = mr_map_new(&leak_type, 0);
        sc_fill(burst, &record_type, 0, BURST, 128);
        sc_fill(drain, &job_type, 0, JOBS, 96);
    }
    if (s == 2) sc_fill(burst, &record_type, BURST, LOAD, 128);
    if (s > 0)
        for (int64_t k = (int64_t)(s - 1) * DELETED; k < (int64_t)s * DELETED; k++)
            mr_map_delete_int(drain, k);
    for (int64_t i = (int64_t)s * EVENTS; i < (int64_t)(s + 1) * EVENTS; i++)
        *(sc_item **)mr_map_assign_str(leak, mr_str_printf("e-%" PRId64, i)) =
            sc_new_item(&event_type, i, 64);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "burst", burst);
    sc_truth_map(snapshot, "drain", drain);
    sc_truth_map(snapshot, "leak", leak);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(burst) != BURST + LOAD || mr_map_len(drain) != JOBS - 4 * DELETED ||
        mr_map_len(leak) != STEPS * EVENTS)
        sc_fail("the maps have the wrong counts");
    return rc;
}
