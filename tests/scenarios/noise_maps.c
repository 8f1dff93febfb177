/*
 * tests/scenarios/noise_maps.c -- a service with 500 small maps, each under
 * a global of its own, that now and then gain a few entries: the noise of
 * a healthy service, no leak. Judged together by the spread rule, the few
 * maps that happen to grow in most intervals must not add up to one.
 *
 * TRUTH. Six in-process snapshots "s0" .. "s5", one after each step:
 *   svc_000 .. svc_499   500 globals (registered one by one), each a map
 *            of one of five types, map[int64]*Conf0 .. map[int64]*Conf4
 *            (svc_i of type i % 5; no two maps share a holder, so no group
 *            forms); step 0 puts 20 + i % 30 entries (256-byte blobs) in
 *            svc_i. At every later step each map gains 1 .. 3 entries with
 *            a chance of one in four (a fixed pseudo-random sequence),
 *            else nothing; none is removed. A map thus grows in one of
 *            four intervals, on average, not in most.
 * The program counts, over the gate's window (the last 4 intervals of 5),
 * the maps that by chance grew in at least 3 of them (dozens) and the
 * entries they gained (a few hundred, under the growth rule's minimum of
 * 1,000; their bytes far under 1 MiB), and fails unless that holds: the
 * built-in gate over s0 .. s5 follows 500 maps, none a group, and passes;
 * the spread rule names no violation. With its minimum lowered to 50
 * entries, the spread rule fails: the maps it adds up are real.
 *   svc_000, svc_499   two of them, followed with the runtime's figures.
 */
#include "scenario.h"

enum { NSVC = 500, NTYPES = 5, STEPS = 6, WINDOW = 4, K = 3, BLOB = 256 };

static mr_type conf_types[NTYPES];
static mr_map_type svc_types[NTYPES];
static char conf_names[NTYPES][16], type_names[NTYPES][32], svc_names[NSVC][16];
static mr_map *svcs[NSVC];
static int64_t next_key[NSVC];
static size_t sizes[NSVC][STEPS]; /* entries of each map after each step */
static const uint32_t blob_field[] = {offsetof(sc_item, blob)};
static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* xorshift64: the same sequence in every run. */
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Makes the five types and registers the 500 globals, one by one. */
static void declare(void)
{
    for (int t = 0; t < NTYPES; t++) {
        snprintf(conf_names[t], sizeof conf_names[t], "Conf%d", t);
        snprintf(type_names[t], sizeof type_names[t], "map[int64]*Conf%d", t);
        conf_types[t] =
            (mr_type){conf_names[t], sizeof(sc_item), blob_field, 1, MR_KIND_STRUCT, NULL};
        svc_types[t] = (mr_map_type){type_names[t], MR_KEY_INT64, NULL, &mr_type_pointer};
    }
    for (int i = 0; i < NSVC; i++) {
        snprintf(svc_names[i], sizeof svc_names[i], "svc_%03d", i);
        mr_register_global((void **)&svcs[i], svc_names[i], __FILE__, __LINE__);
    }
}

/* Step s: every map filled at step 0; later, each gains 1 .. 3 entries
 * with a chance of one in four. */
__attribute__((noinline)) static void step(int s)
{
    for (int i = 0; i < NSVC; i++) {
        const mr_type *t = &conf_types[i % NTYPES];
        int64_t n = 0;
        if (s == 0) {
            svcs[i] = mr_map_new(&svc_types[i % NTYPES], 0);
            n = 20 + i % 30;
        } else if (next_random() % 4 == 0) {
            n = 1 + (int64_t)(next_random() % 3);
        }
        sc_fill(svcs[i], t, next_key[i], n, BLOB);
        next_key[i] += n;
        sizes[i][s] = mr_map_len(svcs[i]);
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "svc_000", svcs[0]);
    sc_truth_map(snapshot, "svc_499", svcs[NSVC - 1]);
}

/* The maps that grew in at least K of the last WINDOW intervals, and the
 * entries they gained over them: what the spread rule adds up. */
static void check_noise(void)
{
    int steady = 0;
    size_t gained = 0;
    for (int i = 0; i < NSVC; i++) {
        int grew = 0;
        for (int s = STEPS - WINDOW; s < STEPS; s++) grew += sizes[i][s] > sizes[i][s - 1];
        if (grew < K) continue;
        steady++;
        gained += sizes[i][STEPS - 1] - sizes[i][STEPS - 1 - WINDOW];
    }
    printf("noise: %d maps grew in at least %d of the last %d intervals, +%zu entries\n", steady, K,
           WINDOW, gained);
    if (steady < 10 || gained < 50 || gained >= 1000)
        sc_fail("the noise is not as the truth says: %d steady maps, +%zu entries", steady, gained);
}

int main(int argc, char **argv)
{
    declare();
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    check_noise();
    return rc;
}
