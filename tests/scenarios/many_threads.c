/*
 * tests/scenarios/many_threads.c -- 64 blocked threads, each holding a map
 * of its own in a stack frame.
 *
 * TRUTH. Main (thread 1) starts 64 workers one after another; worker w (w =
 * 0 .. 63) is thread w + 2 (each attaches and parks before the next is
 * started). Worker w builds a map[int64]*Job of 200 + 37 * w jobs (each
 * with a 96-byte input) in a volatile local of hold_jobs and parks there
 * (sc_park is inlined: frame #0 is hold_jobs). Main then writes the
 * snapshot "held":
 *   jobs_W  held only by hold_jobs' frame of thread W + 2: the root named
 *           is a stack word of that thread, frame #0 hold_jobs, and every
 *           root that reaches its header is that thread's -- no map is
 *           credited to a neighbour's stack. Each retains exactly its own
 *           objects (they differ in size, so a swap between threads shows).
 * Together the maps are one group: one local of hold_jobs in 64 threads
 * (the same function, the same offset in its frame). The group is no
 * suspect of "held": 48 of its maps are suspects on their own, and the
 * 16 smallest, all the group is judged by, hold less than 10% of the heap.
 * Main then releases the workers: at exit ("exit") no map is left, and the
 * group is gone.
 */
#include "scenario.h"

enum { WORKERS = 64, JOBS = 200, STEP = 37, INPUT = 96 };

SC_ITEM_TYPE(job_type, Job);

static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};

static sc_worker workers[WORKERS];
static uintptr_t jobs_addr[WORKERS]; /* the addresses only: no roots */
static atomic_int next_worker;

__attribute__((noinline)) static mr_map *make_jobs(int w)
{
    mr_map *m = mr_map_new(&jobs_type, 0);
    sc_fill(m, &job_type, 0, JOBS + STEP * w, INPUT);
    jobs_addr[w] = (uintptr_t)m;
    return m;
}

SC_NOCLONE static void hold_jobs(int w)
{
    mr_map *volatile jobs = make_jobs(w);
    sc_scrub_stack(); /* make_jobs' words below this frame are gone */
    sc_park(&workers[w]);
    if (mr_map_len(jobs) != (size_t)(JOBS + STEP * w)) sc_fail("jobs lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    hold_jobs(atomic_fetch_add(&next_worker, 1));
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_maps(snapshot, "jobs", jobs_addr, WORKERS);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    for (int w = 0; w < WORKERS; w++) sc_start_worker(&workers[w], worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    for (int w = 0; w < WORKERS; w++) sc_stop_worker(&workers[w]);
    mr_exiting();
    SC_SNAPSHOT("exit");
    return 0;
}
