/*
 * tests/scenarios/iterator_thread.c -- a map kept alive only by an iterator
 * left open by another thread, next to a map that an open iterator and a
 * global both hold.
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * builds a map[int64]*Job of 8,000 jobs (each with a 384-byte input), opens
 * an iterator over it in scan_jobs, takes one entry and parks (blocked, by
 * the blocking rule) with the iterator still open; no variable holds the
 * map any more. Main, meanwhile, ranges over the global `index` (a
 * map[int64]*Entry of 6,000 entries) and stops half-way, its iterator open
 * in main_scan, and writes the snapshot "held":
 *   jobs     held only by the worker's open iterator: the root named is an
 *            iterator of thread 2 in frame #1 scan_jobs (frame #0 is park,
 *            where the worker waits), and every root that
 *            reaches the header is of thread 2; evidence iterator_only; a
 *            suspect retaining exactly its own objects.
 *   index    held by the global and by main's open iterator: the root named
 *            is the global (globals before iterators); an iterator of
 *            thread 1 is among its roots; no iterator_only evidence;
 *            retains exactly its own objects (a suspect: large_share).
 * Then main closes its iterator and releases the worker, which closes its
 * own and exits: at exit ("exit") jobs is gone, index no longer has an
 * iterator among its roots.
 */
#include "scenario.h"

enum { JOBS = 8000, ENTRIES = 6000, PAYLOAD = 384 };

SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(entry_type, Entry);

static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type index_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *index_map;
MR_GLOBAL(index_map)

static uintptr_t jobs_addr; /* the address only: no root */
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_jobs(void)
{
    mr_map *m = mr_map_new(&jobs_type, 0);
    sc_fill(m, &job_type, 0, JOBS, PAYLOAD);
    jobs_addr = (uintptr_t)m;
    return m;
}

/* Parks until main has taken its snapshot and measured (a frame of its
 * own: scan_jobs, which holds the iterator, is frame #1). */
SC_NOCLONE static void park(void)
{
    sc_park(&worker);
}

SC_NOCLONE static int64_t scan_jobs(void)
{
    mr_map_iter it;
    mr_map_iter_init(&it, make_jobs());
    if (!mr_map_iter_next(&it)) sc_fail("no job");
    int64_t first = *(const int64_t *)it.key;
    park();
    mr_map_iter_done(&it);
    return first;
}

static void *worker_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    sc_scrub_stack();
    scan_jobs();
    mr_thread_detach();
    return NULL;
}

static void truths(const char *snapshot)
{
    if (strcmp(snapshot, "held") == 0) sc_truth_map(snapshot, "jobs", (const mr_map *)jobs_addr);
    sc_truth_map(snapshot, "index", index_map);
}

/* Ranges over index_map and stops half-way, the iterator open while the
 * worker parks and main writes the snapshot "held". */
SC_NOCLONE static void main_scan(void)
{
    mr_map_iter it;
    mr_map_iter_init(&it, index_map);
    for (int i = 0; i < ENTRIES / 2; i++)
        if (!mr_map_iter_next(&it)) sc_fail("index ended early");
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    mr_map_iter_done(&it);
    sc_stop_worker(&worker);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    index_map = mr_map_new(&index_type, 0);
    sc_fill(index_map, &entry_type, 0, ENTRIES, PAYLOAD);
    SC_CLEAN(main_scan());
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}
