/*
 * tests/scenarios/worker_relay.c -- a worker thread that exits between two
 * snapshots while its frame held maps, and another that runs the same
 * function after it.
 *
 * TRUTH. Worker A (thread 2; main attaches first and is thread 1) runs
 * handle_batch, which holds two maps in locals and parks (blocked, by the
 * blocking rule) while main writes snapshot "before":
 *   batch_a  map[int64]*Job of 2,000 jobs (keys 0 .. 1,999, each with a
 *            256-byte input): every root is thread 2's frame of
 *            handle_batch; a suspect (stack_frame).
 *   result   map[int64]*Outcome of 1,000 outcomes (each with a 64-byte
 *            blob), also in a local of handle_batch.
 * Main releases A: handle_batch stores result in the global `done` and
 * returns, and thread 2 exits (main waits for it). Then worker B (a new
 * thread) runs handle_batch on a batch of its own and parks while main
 * writes snapshot "after":
 *   batch_a  garbage: the thread whose frame held it is gone. In no later
 *            snapshot, and no suspect of "after" is it.
 *   result   the same map (it never stopped living: one address, one
 *            seed), now held by the global done: in the diff "both", +0
 *            -0, 1,000 -> 1,000, not growing, its retained bytes the
 *            runtime's; every root of it in "after" is the global.
 *   batch_b  map[int64]*Job of 500 jobs (keys 10,000 .. 10,499), held by
 *            B's frame of handle_batch (every root: that thread's frame of
 *            handle_batch); its result map, a new one of 50 outcomes,
 *            too. Another thread's frame is another holder, though it runs
 *            the same function: batch_b is a new map in the diff (+500,
 *            0 -> 500), not batch_a's successor, and batch_a is gone
 *            (-2,000, 2,000 -> 0, not growing) (maproot-diff(1)).
 * Main then releases B: at exit ("exit") batch_b is gone, result is held
 * by done.
 */
#include "scenario.h"

enum { BATCH_A = 2000, RESULT = 1000, BATCH_B = 500, B_FIRST = 10000, RESULT_B = 50 };

SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(outcome_type, Outcome);

static const mr_map_type batch_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type result_type = {"map[int64]*Outcome", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *done;
MR_GLOBAL(done)

/* What each run of handle_batch is asked to do, and the maps it made (the
 * addresses only: plain statics are no roots). */
typedef struct job_spec {
    int64_t first, n, results;
    bool hand_off;
    sc_worker w;
    uintptr_t batch, result;
} job_spec;
static job_spec run_a = {0, BATCH_A, RESULT, true, {0}, 0, 0};
static job_spec run_b = {B_FIRST, BATCH_B, RESULT_B, false, {0}, 0, 0};
static job_spec *current;

SC_NOCLONE static mr_map *make(const mr_map_type *t, const mr_type *it, int64_t first, int64_t n,
                               size_t blob, uintptr_t *addr)
{
    mr_map *m = mr_map_new(t, 0);
    sc_fill(m, it, first, n, blob);
    *addr = (uintptr_t)m;
    return m;
}

SC_NOCLONE static void wait_here(job_spec *s)
{
    sc_scrub_stack();
    sc_park(&s->w);
}

SC_NOCLONE static void handle_batch(job_spec *s)
{
    mr_map *volatile batch = make(&batch_type, &job_type, s->first, s->n, 256, &s->batch);
    mr_map *volatile result = make(&result_type, &outcome_type, 0, s->results, 64, &s->result);
    wait_here(s);
    if ((int64_t)mr_map_len(batch) != s->n) sc_fail("the batch lost jobs");
    if (s->hand_off) done = result;
}

static void *worker_main(void *arg)
{
    (void)arg;
    handle_batch(current);
    return NULL;
}

static void truths_before(const char *snapshot)
{
    sc_truth_map(snapshot, "batch_a", (const mr_map *)run_a.batch);
    sc_truth_map(snapshot, "result", (const mr_map *)run_a.result);
}

static void truths_after(const char *snapshot)
{
    sc_truth_map(snapshot, "result", done);
    if (run_b.w.th && !atomic_load(&run_b.w.release))
        sc_truth_map(snapshot, "batch_b", (const mr_map *)run_b.batch);
}

SC_NOCLONE static void run(void)
{
    current = &run_a;
    sc_start_worker(&run_a.w, worker_main);
    SC_SNAPSHOT("before");
    SC_TRUTHS(truths_before, "before");
    sc_stop_worker(&run_a.w);
    if (done == NULL) sc_fail("the result was not handed off");
    current = &run_b;
    sc_start_worker(&run_b.w, worker_main);
    SC_SNAPSHOT("after");
    SC_TRUTHS(truths_after, "after");
    sc_stop_worker(&run_b.w);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(run());
    mr_exiting();
    SC_TRUTHS(truths_after, "exit");
    return 0;
}
