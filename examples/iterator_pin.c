/*
 * examples/iterator_pin.c -- leak pattern 2: a map kept alive only by an
 * iterator left open on a long-lived stack frame.
 *
 * A job scheduler keeps its pending jobs in a map[int64]*Job reachable from
 * the global `jobs`. Its worker thread looks for the first job it can take
 * by ranging over the map and breaking out of the range as soon as it finds
 * one, without mr_map_iter_done. Then the scheduler swaps in a fresh job
 * table, clearing the last variable pointing at the old one. In Go the
 * compiler would end the range at the break; here the open iterator stays
 * registered for as long as the frame that owns it runs, and a registered
 * iterator is a root that keeps its map (and everything in it) alive. The
 * worker loop runs for the life of the process: when the program exits it
 * is still there, idle, waiting for work, and the old table never died.
 */
#include "example.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

enum { NJOBS = 40000, JOB_INPUT_BYTES = 1536, WORK_ROUNDS = 200000 };

typedef struct Job {
    int64_t id;
    int64_t priority;
    uint8_t *input; /* blob: the job's input */
} Job;

MR_TYPE(job_type, Job, MR_FIELD(Job, input));

static const mr_map_type job_map_type = {
    .name = "map[int64]*Job",
    .key_kind = MR_KEY_INT64,
    .key_type = NULL,
    .value_type = &mr_type_pointer,
};

/* The scheduler's job table. */
static mr_map *jobs;
MR_GLOBAL(jobs)

__attribute__((noinline)) static Job *new_job(int64_t id)
{
    Job *j = mr_new(&job_type);
    j->id = id;
    j->priority = id % 7;
    j->input = mr_alloc_blob(JOB_INPUT_BYTES);
    j->input[0] = (uint8_t)id;
    return j;
}

/* Fills a job table; noinline so no pointer to it lingers in main's frame. */
__attribute__((noinline)) static mr_map *load_jobs(void)
{
    mr_map *m = mr_map_new(&job_map_type, 0);
    for (int64_t id = 1; id <= NJOBS; id++) {
        Job *j = new_job(id);
        mr_map_set(m, &id, &j);
    }
    return m;
}

/* Some work that allocates garbage, standing in for the worker's real job. */
__attribute__((noinline)) static uint64_t do_work(int64_t round)
{
    mr_str s = mr_str_printf("result-%" PRId64, round);
    return s.len;
}

/* The scheduler's side of a job hand-over: the worker has picked its job
 * and says so here; the scheduler then replaces the table. */
static pthread_mutex_t pick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pick_cv = PTHREAD_COND_INITIALIZER;
static int pick_state; /* 1: the worker picked a job; 2: the table was replaced */

/* Waits (outside the runtime, by the blocking rule) until pick_state is at
 * least `want`. */
static void wait_pick(int want)
{
    mr_blocking_enter();
    pthread_mutex_lock(&pick_mu);
    while (pick_state < want) pthread_cond_wait(&pick_cv, &pick_mu);
    pthread_mutex_unlock(&pick_mu);
    mr_blocking_exit();
}

static void set_pick(int state)
{
    pthread_mutex_lock(&pick_mu);
    pick_state = state;
    pthread_cond_broadcast(&pick_cv);
    pthread_mutex_unlock(&pick_mu);
}

/*
 * The worker: picks the first job with priority 0 from the current table,
 * then keeps working, then waits for more work. `it` lives in this frame
 * for as long as the loop runs: for the life of the process.
 */
__attribute__((noinline)) static void *worker_loop(void *arg)
{
    (void)arg;
    mr_map_iter it;
    Job *picked = NULL;

    mr_map_iter_init(&it, jobs);
    while (mr_map_iter_next(&it)) {
        Job *j = *(Job **)it.value;
        if (j->priority == 0) {
            picked = j;
            break; /* the bug: no mr_map_iter_done(&it) before leaving the range */
        }
    }
    printf("iterator_pin: worker picked job %" PRId64 "\n", picked ? picked->id : -1);
    picked = NULL;
    set_pick(1);
    wait_pick(2); /* the scheduler replaces the table meanwhile */

    uint64_t sum = 0;
    for (int64_t round = 0; round < WORK_ROUNDS; round++) sum += do_work(round);
    printf("iterator_pin: worker did %d rounds of work (checksum %" PRIu64 ")\n\n", WORK_ROUNDS,
           sum);
    /* no more work for now: the worker waits, the open iterator in its frame */
    example_worker_idle();
    __asm__ volatile("" : : "r"(&it) : "memory"); /* `it` is this frame's to the end */
    return NULL;
}

int main(void)
{
    pthread_t worker;
    mr_thread_attach();
    jobs = load_jobs();
    if (pthread_create(&worker, NULL, worker_loop, NULL) != 0) return 1;
    wait_pick(1);
    /* The scheduler replaces the table; nothing names the old one any more. */
    jobs = mr_map_new(&job_map_type, 0);
    set_pick(2);
    example_wait_idle();

    mr_memstats st;
    mr_gc();
    mr_read_memstats(&st);
    example_report(
        "iterator_pin",
        "The old job table (a map[int64]*Job of 40,000 jobs with 1.5 KiB of input each) "
        "is no longer referenced by any variable: the global `jobs` now points at a new, "
        "empty table. It is still in the heap because worker_loop broke out of a range "
        "over it without calling mr_map_iter_done, and a registered iterator is a root "
        "that keeps its map alive for as long as its stack frame runs. worker_loop never "
        "returns (the worker is idle now, waiting for work), so the table never dies. "
        "Fix: call mr_map_iter_done before leaving a range early (or keep the range in a "
        "function that returns).");
    printf("\niterator_pin: heap_alloc %" PRIu64 " KiB with the worker's iterator open\n",
           st.heap_alloc >> 10);
    /* The example must show the leak: the pinned table holds every input. */
    if (st.heap_alloc < (uint64_t)NJOBS * JOB_INPUT_BYTES) {
        fprintf(stderr, "iterator_pin: the leak did not reproduce\n");
        return 1;
    }
    return 0; /* the worker is still waiting: its iterator is a root at exit */
}
