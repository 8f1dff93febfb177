/*
 * tests/scenarios/inlined_holder.c -- a map held by a local of a function
 * that is inlined into its caller (as release builds inline a small
 * handler into its loop): the function has no frame of its own, and the
 * frame holding the map is the caller's.
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * runs worker_main, into which handle_batch is always inlined; handle_batch
 * builds a map[int64]*Batch of 4,000 batches (each with a 384-byte blob)
 * in a volatile local and calls wait_for_work (a function of its own),
 * which blocks (by the blocking rule) while main writes the snapshot
 * "held". The worker's frames are #0 wait_for_work, #1 worker_main.
 *   batch  held only by the worker's frame #1: the root named is a stack
 *          word of thread 2, frame #1, named after worker_main (whose frame
 *          it is: handle_batch has none), with the line of worker_main's
 *          call into handle_batch (CALL_LINE, printed as the truth's
 *          call_line, and named in the .json's text check), every root
 *          thread 2's frame #1; a suspect (large_share and stack_frame)
 *          retaining exactly its own objects.
 * Main then releases the worker: at exit ("exit") the map is gone.
 */
#include "scenario.h"

enum { BATCHES = 4000, BLOB = 384 };

SC_ITEM_TYPE(batch_type, Batch);

static const mr_map_type batch_map = {"map[int64]*Batch", MR_KEY_INT64, NULL, &mr_type_pointer};

static uintptr_t batch_addr; /* the address only: no root */
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_batch(void)
{
    mr_map *m = mr_map_new(&batch_map, 0);
    sc_fill(m, &batch_type, 0, BATCHES, BLOB);
    batch_addr = (uintptr_t)m;
    return m;
}

SC_NOCLONE static void wait_for_work(void)
{
    sc_park(&worker);
}

__attribute__((always_inline)) static inline void handle_batch(void)
{
    mr_map *volatile batch = make_batch();
    sc_scrub_stack(); /* make_batch's words below this frame are gone */
    wait_for_work();
    if (mr_map_len(batch) != BATCHES) sc_fail("batch lost entries");
}

enum { CALL_LINE = __LINE__ + 6 }; /* the line of worker_main's call to handle_batch */

SC_NOCLONE static void *worker_main(void *arg)
{
    (void)arg;
    sc_scrub_stack();
    handle_batch();
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "batch", (const mr_map *)batch_addr);
    sc_truth(snapshot, "batch", "\"call_line\": %d", CALL_LINE);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(&worker);
    mr_exiting();
    return 0;
}
