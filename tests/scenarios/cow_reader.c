/*
 * tests/scenarios/cow_reader.c -- a configuration reloaded copy-on-write
 * while a reader holds an old copy across two snapshots, and a map that
 * moves to another global while its old global gets a map of other keys.
 *
 * TRUTH. Five in-process snapshots "s0" .. "s4", one after each step:
 *   config   global map[string]*Setting. Every step copies the current map
 *            into a new one (the same Settings) and adds 300 new settings
 *            ("opt-N", 96-byte blobs), and stores the copy in the global:
 *            300 entries in s0, 1,500 in s4. As a user sees it, one
 *            configuration that grows in every interval: maproot gate
 *            fails on it (rule growth), following it as one map, its
 *            figures at every snapshot those of the copy the global holds.
 *   stale    before the reload of step 2 a reader (parked in read_options)
 *            takes the copy of s1 and holds it in a local through s2 and
 *            s3 (it is released in step 4): in s2 and s3 the same map,
 *            600 entries, rooted in the reader's frame, unchanged (+0 -0
 *            from s2 to s3).
 *   jobs     map[int64]*Job of 500 jobs (keys 0 .. 499, 64-byte blobs)
 *            held by the global `jobs` in s0 and s1; in step 2 it is handed
 *            to the global `draining` (the same map, never changed) and
 *            `jobs` gets a new map, backlog, of 200 jobs (keys 10,000 ..
 *            10,199: none of jobs' keys).
 *   backlog  from s2 on under the global `jobs`: a new map, not jobs
 *            changed (jobs, under `draining`, is the map at its address).
 * maproot diff s1 s3: the global's config is the copy of the copy of s1's
 * map, +600 -0, 600 -> 1,200, growing, though s1's map lives on in the
 * reader (in s3 that reader's map is "new": it holds no configuration the
 * diff follows). maproot diff s3 s4 (the reader gone): config +300 -0,
 * growing. maproot diff s1 s2: jobs is one map, +0 -0, under `draining`;
 * backlog under `jobs` is new.
 */
#include "scenario.h"

enum { STEPS = 5, ADDED = 300, JOBS = 500, BACKLOG = 200 };
enum { HAND_STEP = 2, READER_STEP = 2, RELEASE_STEP = 4 };

SC_ITEM_TYPE(setting_type, Setting);
SC_ITEM_TYPE(job_type, Job);

static const mr_map_type config_type = {"map[string]*Setting", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};
static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *config, *jobs, *draining;
MR_GLOBAL(config)
MR_GLOBAL(jobs)
MR_GLOBAL(draining)

static uintptr_t stale_addr; /* the copy the reader holds: the address only */
static sc_worker reader;

/* Blocks until main has taken its snapshots and released the reader. */
SC_NOCLONE static void wait_for_release(void)
{
    sc_scrub_stack();
    sc_park(&reader);
}

/* A reader that took the configuration before a reload and still reads
 * it, two reloads later. */
SC_NOCLONE static void read_options(void)
{
    mr_map *volatile cfg = (mr_map *)stale_addr;
    wait_for_release();
    if (mr_map_len(cfg) != READER_STEP * ADDED) sc_fail("the reader's copy changed");
}

static void *reader_main(void *arg)
{
    (void)arg;
    read_options();
    return NULL;
}

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == READER_STEP) {
        stale_addr = (uintptr_t)config;
        sc_start_worker(&reader, reader_main);
    }
    if (s == RELEASE_STEP) sc_stop_worker(&reader);
    mr_map *c = sc_copy_map(&config_type, config, ADDED);
    for (int64_t k = (int64_t)s * ADDED; k < (int64_t)(s + 1) * ADDED; k++)
        *(sc_item **)mr_map_assign_str(c, mr_str_printf("opt-%" PRId64, k)) =
            sc_new_item(&setting_type, k, 96);
    config = c;
    if (s == 0) {
        jobs = mr_map_new(&jobs_type, JOBS);
        sc_fill(jobs, &job_type, 0, JOBS, 64);
    }
    if (s == HAND_STEP) {
        draining = jobs;
        mr_map *b = mr_map_new(&jobs_type, BACKLOG);
        sc_fill(b, &job_type, 10000, BACKLOG, 64);
        jobs = b;
    }
}

static void truths(const char *snapshot)
{
    int s = snapshot[1] - '0';
    sc_truth_map(snapshot, "config", config);
    sc_truth_map(snapshot, "jobs", s < HAND_STEP ? jobs : draining);
    if (s >= HAND_STEP) sc_truth_map(snapshot, "backlog", jobs);
    if (s >= READER_STEP && s < RELEASE_STEP)
        sc_truth_map(snapshot, "stale", (const mr_map *)stale_addr);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(config) != STEPS * ADDED) sc_fail("config has the wrong count");
    return rc;
}
