/*
 * tests/scenarios/worker_frame.c -- a map held by a blocked worker's stack
 * frame, checked in the build as made and in a copy of it stripped of every
 * symbol (strip --strip-all).
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * builds a map[int64]*Task of 5,000 tasks (each with a 640-byte input) in a
 * volatile local of worker_loop, then blocks in wait_for_work (by the
 * blocking rule) while main writes the snapshot "held". Its frames are then
 * #0 wait_for_work, #1 worker_loop.
 *   tasks  held only by worker_loop's frame: the root named is a stack word
 *          of thread 2, frame #1; with symbols the frame is named
 *          worker_loop; stripped of every symbol it is shown as the
 *          module and its offset (scenario_worker_frame_stripped+0x...),
 *          and no function of the program is named. A suspect
 *          (large_share and stack_frame), retaining exactly its own objects.
 * Main then releases the worker, whose frames return: at exit ("exit") the
 * map is gone.
 */
#include "scenario.h"

enum { TASKS = 5000, INPUT = 640 };

SC_ITEM_TYPE(task_type, Task);

static const mr_map_type tasks_type = {"map[int64]*Task", MR_KEY_INT64, NULL, &mr_type_pointer};

static uintptr_t tasks_addr; /* the address only: no root */
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_tasks(void)
{
    mr_map *m = mr_map_new(&tasks_type, 0);
    sc_fill(m, &task_type, 0, TASKS, INPUT);
    tasks_addr = (uintptr_t)m;
    return m;
}

/* Blocks until main has taken its snapshot and measured. */
SC_NOCLONE static void wait_for_work(void)
{
    sc_scrub_stack(); /* make_tasks' words below this frame are gone */
    sc_park(&worker);
}

SC_NOCLONE static void worker_loop(void)
{
    mr_map *volatile tasks = make_tasks();
    wait_for_work();
    if (mr_map_len(tasks) != TASKS) sc_fail("tasks lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    worker_loop();
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tasks", (const mr_map *)tasks_addr);
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
