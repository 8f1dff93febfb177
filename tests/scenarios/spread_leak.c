/*
 * tests/scenarios/spread_leak.c -- a leak spread evenly over 200 small maps,
 * each of a type of its own under a global of its own (a service whose
 * every subsystem keeps a little registry that never forgets): no map is
 * large, no two maps form a group, and the heap triples over the series.
 *
 * TRUTH. Five in-process snapshots "s0" .. "s4", one after each step. The
 * globals reg_000 .. reg_199 (registered one by one) each hold a map
 * map[int64]*KindNNN of its own type; step 0 puts 20 entries in each, and
 * every later step 10 more (each value a 16-byte KindNNN with a 1 KiB
 * blob), never removed: 200 maps of 20 .. 60 entries, 4,000 .. 12,000
 * entries and about 4 .. 12 MiB in all, the whole heap. Each map is 0.5%
 * of the heap: no suspect, by the rule of maproot-analyze(1) (1% at
 * least), and no group (each is alone of its type and holder). Each map
 * grows in every interval, by 40 entries and about 42 KiB over the gate's
 * window: far below the growth rule's minimums (1,000 entries, 1 MiB), so
 * each passes. The heap grows by some 8 MiB, all of it in these maps.
 *   reg_000, reg_199   two of them, followed with the runtime's figures.
 * The leak is real: no built-in rule that judges one map or group fails
 * it; the heap rule (off by default) does, and the spread rule (on by
 * default), which adds up the maps that each grow steadily, 8,000 entries
 * and some 8 MiB in all, fails it with one violation.
 */
#include "scenario.h"

enum { NREG = 200, FIRST = 20, STEP = 10, STEPS = 5, BLOB = 1024 };

static mr_type kind_types[NREG];
static mr_map_type reg_types[NREG];
static char kind_names[NREG][16], type_names[NREG][32], reg_names[NREG][16];
static mr_map *regs[NREG];
static const uint32_t blob_field[] = {offsetof(sc_item, blob)};

/* Makes the 200 types and registers the 200 globals, one by one. */
static void declare(void)
{
    for (int i = 0; i < NREG; i++) {
        snprintf(kind_names[i], sizeof kind_names[i], "Kind%03d", i);
        snprintf(type_names[i], sizeof type_names[i], "map[int64]*Kind%03d", i);
        snprintf(reg_names[i], sizeof reg_names[i], "reg_%03d", i);
        kind_types[i] =
            (mr_type){kind_names[i], sizeof(sc_item), blob_field, 1, MR_KIND_STRUCT, NULL};
        reg_types[i] = (mr_map_type){type_names[i], MR_KEY_INT64, NULL, &mr_type_pointer};
        mr_register_global((void **)&regs[i], reg_names[i], __FILE__, __LINE__);
    }
}

/* Step s: 20 entries in every map at step 0, 10 more at every later step. */
__attribute__((noinline)) static void step(int s)
{
    for (int i = 0; i < NREG; i++) {
        if (s == 0) regs[i] = mr_map_new(&reg_types[i], 0);
        int64_t first = s ? FIRST + (int64_t)(s - 1) * STEP : 0;
        sc_fill(regs[i], &kind_types[i], first, s ? STEP : FIRST, BLOB);
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "reg_000", regs[0]);
    sc_truth_map(snapshot, "reg_199", regs[NREG - 1]);
}

int main(int argc, char **argv)
{
    declare();
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    for (int i = 0; i < NREG; i++)
        if (mr_map_len(regs[i]) != FIRST + (STEPS - 1) * STEP) sc_fail("reg_%03d lost entries", i);
    return rc;
}
