/*
 * tests/scenarios/tls_root.c -- maps held only by thread-local variables:
 * of a blocked worker, and of the main thread.
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * puts a map[int64]*Job of 5,000 jobs (each with a 256-byte input) in the
 * thread-local variable `tls_jobs` (static __thread), and another,
 * map[int64]*Note of 3,000 notes (each with a 256-byte blob), in a
 * volatile local of park_worker; then it blocks there (frame #0,
 * park_worker) while main writes the snapshot "held".
 *   tls_jobs  held by the worker's thread-local storage, which is no
 *             frame's: the C library keeps it above the thread's outermost
 *             frame. The root named is the thread-local storage of thread
 *             2 (a runtime root), not a stack word of some frame, and the
 *             map is no "held by a running frame" case (no stack_frame
 *             evidence): it lives as long as the thread. A suspect
 *             (large_share) retaining exactly its own objects.
 *   notes     held by park_worker's frame: stack: thread 2, frame #0
 *             park_worker, with the stack_frame evidence.
 *   main_tasks  a map[int64]*Task of 4,000 tasks (each with a 256-byte
 *             input) that main put in its own thread-local variable
 *             (static __thread) before starting the worker. The main
 *             thread's storage lies where the dynamic linker put it, not in
 *             its stack, and is a root all the same: the thread-local
 *             storage of thread 1, no frame's, no stack_frame evidence.
 * Main then releases the worker, which exits, and declares itself exiting
 * (its stack, registers and thread-local storage are no roots any more):
 * at exit ("exit") the three maps are gone.
 */
#include "scenario.h"

enum { JOBS = 5000, NOTES = 3000, TASKS = 4000, INPUT = 256 };

SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(note_type, Note);
SC_ITEM_TYPE(task_type, Task);

static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type notes_type = {"map[int64]*Note", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type tasks_type = {"map[int64]*Task", MR_KEY_INT64, NULL, &mr_type_pointer};

static __thread mr_map *tls_jobs;
static __thread mr_map *main_tasks;                 /* main's */
static uintptr_t jobs_addr, notes_addr, tasks_addr; /* the addresses only: no roots */
static sc_worker worker;

__attribute__((noinline)) static void make_jobs(void)
{
    tls_jobs = mr_map_new(&jobs_type, 0);
    sc_fill(tls_jobs, &job_type, 0, JOBS, INPUT);
    jobs_addr = (uintptr_t)tls_jobs;
}

__attribute__((noinline)) static void make_tasks(void)
{
    main_tasks = mr_map_new(&tasks_type, 0);
    sc_fill(main_tasks, &task_type, 0, TASKS, INPUT);
    tasks_addr = (uintptr_t)main_tasks;
}

__attribute__((noinline)) static mr_map *make_notes(void)
{
    mr_map *m = mr_map_new(&notes_type, 0);
    sc_fill(m, &note_type, 0, NOTES, INPUT);
    notes_addr = (uintptr_t)m;
    return m;
}

SC_NOCLONE static void park_worker(void)
{
    mr_map *volatile notes = make_notes();
    sc_scrub_stack(); /* the words of make_jobs and make_notes are gone */
    sc_park(&worker);
    if (mr_map_len(notes) != NOTES || mr_map_len(tls_jobs) != JOBS) sc_fail("lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    make_jobs();
    sc_scrub_stack(); /* park_worker's frame lies where make_jobs' was */
    park_worker();
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tls_jobs", (const mr_map *)jobs_addr);
    sc_truth_map(snapshot, "notes", (const mr_map *)notes_addr);
    sc_truth_map(snapshot, "main_tasks", (const mr_map *)tasks_addr);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(make_tasks());
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(&worker);
    mr_exiting();
    SC_SNAPSHOT("exit");
    return 0;
}
