/*
 * tests/scenarios/inlined_frame.c -- a map held by the frame of a function
 * whose current code is another function inlined into it.
 *
 * TRUTH. A worker thread (thread 2) builds a map[int64]*Job of 4,000 jobs
 * (each with a 512-byte payload) in a volatile local of hold_and_park, then
 * blocks in sc_park, which is always inlined: the worker's innermost frame
 * (#0) is hold_and_park's own, though the code it is stopped in is
 * sc_park's. The stack word holding the map is in that frame.
 *   jobs  held only by hold_and_park's frame: the root named is a stack
 *         word of thread 2, frame #0, named after the function that owns
 *         the frame, hold_and_park (never after sc_park, which has no frame
 *         of its own); a suspect (large_share and stack_frame), retaining
 *         exactly its own objects.
 * Main then releases the worker: at exit ("exit") the map is gone.
 */
#include "scenario.h"

enum { JOBS = 4000, PAYLOAD = 512 };

SC_ITEM_TYPE(job_type, Job);

static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};

static uintptr_t jobs_addr; /* the address only: no root */
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_jobs(void)
{
    mr_map *m = mr_map_new(&jobs_type, 0);
    sc_fill(m, &job_type, 0, JOBS, PAYLOAD);
    jobs_addr = (uintptr_t)m;
    return m;
}

SC_NOCLONE static void hold_and_park(void)
{
    mr_map *volatile jobs = make_jobs();
    sc_scrub_stack(); /* make_jobs' words below this frame are gone */
    sc_park(&worker);
    if (mr_map_len(jobs) != JOBS) sc_fail("jobs lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    hold_and_park();
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "jobs", (const mr_map *)jobs_addr);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(&worker);
    return 0;
}
