/*
 * tests/scenarios/iterator_kept.c -- objects that only an open iterator
 * keeps alive, beside a map a global holds.
 *
 * TRUTH. A worker thread (thread 2) builds a map[int64]*Job of 300 jobs
 * (each with a 1 KiB input), opens an iterator over it in scan_jobs, takes
 * one entry and blocks (in wait_for_scan) with the iterator open; no
 * variable holds the map. The global `index` holds a map[int64]*Entry of
 * 100 entries (each with a 256-byte blob). Main writes the snapshot
 * "held":
 *   by type     Job: 300 objects, retaining themselves and their inputs.
 *   path        every Job's path starts at the iterator of thread 2 in
 *               frame #1 scan_jobs; so do all the paths to the first Job
 *               (--all), each root a word of that iterator.
 *   dominators  the jobs' table (its header and bucket array, reached
 *               from several words of the iterator) and each Job below it
 *               retain the jobs: the largest top subtree is the one that
 *               holds the Jobs, its roots the iterator's words; the index
 *               map's header comes after it, retaining its map.
 * Then the worker ends its iterator and exits: at exit ("exit") there is
 * no Job left.
 */
#include "scenario.h"

enum { JOBS = 300, INPUT = 1024, ENTRIES = 100, ENTRY_BLOB = 256 };

SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(entry_type, Entry);

static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type index_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *index_map;
MR_GLOBAL(index_map)

/* addresses only: no roots */
static uintptr_t jobs_addr, job_objs[JOBS];
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_jobs(void)
{
    mr_map *m = mr_map_new(&jobs_type, 0);
    for (int64_t k = 0; k < JOBS; k++) {
        sc_item *j = sc_new_item(&job_type, k, INPUT);
        *(sc_item **)mr_map_assign_int(m, k) = j;
        job_objs[k] = (uintptr_t)j;
    }
    jobs_addr = (uintptr_t)m;
    return m;
}

/* Blocks until main has taken its snapshot and measured (a frame of its
 * own: scan_jobs, which holds the iterator, is frame #1). */
SC_NOCLONE static void wait_for_scan(void)
{
    sc_scrub_stack();
    sc_park(&worker);
}

/* Opens it on a new map of jobs and reads the first key, in a frame of its
 * own: no word of scan_jobs's frame but the iterator's points at the map
 * (a sanitizer's build would keep the map or key pointer in a spill slot). */
SC_NOCLONE static int64_t open_scan(mr_map_iter *it)
{
    mr_map_iter_init(it, make_jobs());
    if (!mr_map_iter_next(it)) sc_fail("no job");
    return *(const int64_t *)it->key;
}

SC_NOCLONE static int64_t scan_jobs(void)
{
    mr_map_iter it;
    int64_t first = open_scan(&it);
    wait_for_scan();
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
    if (strcmp(snapshot, "held") == 0) {
        sc_truth_type(snapshot, "Job", (void *const *)job_objs, JOBS);
        sc_truth_map(snapshot, "jobs", (const mr_map *)jobs_addr);
        sc_truth_object(snapshot, "job0", (void *)job_objs[0]);
        sc_truth_object(snapshot, "jobs_header", (void *)jobs_addr);
        sc_truth_reach(snapshot, "job0_ways", (void *)job_objs[0], 1);
    }
    sc_truth_map(snapshot, "index", index_map);
    sc_truth_reach(snapshot, "index_ways", index_map, 1);
}

/* Builds the index in a frame of its own: main's registers never hold it. */
__attribute__((noinline)) static void build_index(void)
{
    index_map = mr_map_new(&index_type, 0);
    sc_fill(index_map, &entry_type, 0, ENTRIES, ENTRY_BLOB);
}

int main(int argc, char **argv)
{
    return sc_worker_exit_main(argc, argv, build_index, &worker, worker_main, truths);
}
