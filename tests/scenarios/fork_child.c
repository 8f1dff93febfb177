/*
 * tests/scenarios/fork_child.c -- a program that forks while a worker
 * thread holds a map in its frame, and writes a snapshot in the child.
 *
 * TRUTH. main (thread 1) fills the global registry, a map[int64]*Entry of
 * 1,000 entries (each with a 64-byte blob). A worker thread runs
 * hold_batch, which keeps batch, a map[int64]*Task of 2,000 tasks (each
 * with a 256-byte blob), in a local and parks (blocked) there. Then:
 *   "parent"  main writes a snapshot: registry held by the global, batch
 *             by the worker's frame of hold_batch only (a suspect:
 *             stack_frame).
 *   "child"   main forks; the child, whose only thread is the one that
 *             called fork (the worker did not come along: POSIX), writes
 *             a snapshot and exits. Its heap is a copy of the parent's,
 *             but no thread of the child holds batch: it is garbage there,
 *             in no map of the snapshot, and the child's registry is the
 *             parent's, retaining the same bytes. The snapshot is written
 *             at all: a collection must not wait for a thread that does
 *             not exist.
 * The parent waits for the child (exit status 0), releases the worker,
 * and at exit ("exit") only registry is left.
 */
#include "scenario.h"

#include <sys/wait.h>

enum { ENTRIES = 1000, TASKS = 2000 };

SC_ITEM_TYPE(entry_type, Entry);
SC_ITEM_TYPE(task_type, Task);

static const mr_map_type registry_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type batch_type = {"map[int64]*Task", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *registry;
MR_GLOBAL(registry)

static sc_worker worker;
static uintptr_t batch_addr; /* its address only: no root */

SC_NOCLONE static void wait_here(void)
{
    sc_scrub_stack();
    sc_park(&worker);
}

SC_NOCLONE static void hold_batch(void)
{
    mr_map *volatile batch = mr_map_new(&batch_type, 0);
    sc_fill(batch, &task_type, 0, TASKS, 256);
    batch_addr = (uintptr_t)batch;
    wait_here();
    if (mr_map_len(batch) != TASKS) sc_fail("the batch lost tasks");
}

static void *worker_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    hold_batch();
    return NULL;
}

static void truths_parent(const char *snapshot)
{
    sc_truth_map(snapshot, "registry", registry);
    sc_truth_map(snapshot, "batch", (const mr_map *)batch_addr);
}

/* In the child the runtime's own walk cannot be the truth about batch
 * (whether it sees the worker is what is checked): the registry's figures
 * are the parent's, and batch is stated absent by the JSON. */
static void truths_child(const char *snapshot)
{
    sc_truth_map(snapshot, "registry", registry);
    sc_truth(snapshot, "batch", "\"address\": %" PRIuPTR, batch_addr);
}

static void truths_exit(const char *snapshot)
{
    sc_truth_map(snapshot, "registry", registry);
    sc_truth(snapshot, "batch", "\"address\": %" PRIuPTR, batch_addr);
}

SC_NOCLONE static void in_child(void)
{
    SC_SNAPSHOT("child");
    SC_TRUTHS(truths_child, "child");
    fflush(stdout);
    _exit(0);
}

SC_NOCLONE static void run(void)
{
    registry = mr_map_new(&registry_type, 0);
    sc_fill(registry, &entry_type, 0, ENTRIES, 64);
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("parent");
    SC_TRUTHS(truths_parent, "parent");
    fflush(stdout);
    fflush(stderr);
    mr_blocking_enter(); /* fork is a system call: no collection waits on it */
    pid_t pid = fork();
    if (pid < 0) sc_fail("fork");
    if (pid == 0) {
        mr_blocking_exit();
        SC_CLEAN(in_child());
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) sc_fail("waitpid");
    mr_blocking_exit();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) sc_fail("the child failed (%d)", status);
    sc_stop_worker(&worker);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(run());
    mr_exiting();
    SC_TRUTHS(truths_exit, "exit");
    return 0;
}
