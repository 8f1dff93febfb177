/*
 * tests/scenarios/array_of_structs.c -- maps behind arrays: inside the
 * structs of an array, and behind an array of pointers to structs.
 *
 * TRUTH. Two globals:
 *   shards   an array object of 16 Shard structs (stored inline); each
 *            Shard has a map[int64]*Doc index of 10 docs, except shards[11],
 *            whose index keeps every doc ever written: 20,000 docs of 128
 *            bytes (a leak).
 *   workers  an array object of 8 pointers to Worker structs; each Worker
 *            has a map[int64]*Job queue of 10 jobs, except workers[5], whose
 *            queue is never drained: 15,000 jobs (a leak).
 *
 *   shard11   root: global shards. Chain: shards -> the array, element [11]
 *             -> the map header. A suspect (large_share); retains exactly
 *             its own objects.
 *   worker5   root: global workers. Chain: workers -> the array, element [5]
 *             -> Worker -> the map header. A suspect (large_share).
 *   shard0, worker0   10-entry maps: no suspects.
 *
 * Snapshots "held" (in-process, from main) and "exit" see the same heap.
 */
#include "scenario.h"

enum { NSHARDS = 16, NWORKERS = 8, SMALL = 10, DOCS = 20000, JOBS = 15000, BODY = 128 };

SC_ITEM_TYPE(doc_type, Doc);
SC_ITEM_TYPE(job_type, Job);

typedef struct Shard {
    int64_t id;
    mr_map *index;
    mr_str name;
} Shard;
MR_TYPE(shard_type, Shard, MR_FIELD(Shard, index), MR_FIELD(Shard, name));

typedef struct Worker {
    int64_t id;
    mr_map *queue;
} Worker;
MR_TYPE(worker_type, Worker, MR_FIELD(Worker, queue));

static const mr_map_type index_type = {"map[int64]*Doc", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type queue_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};

static Shard *shards;
MR_GLOBAL(shards)
static Worker **workers;
MR_GLOBAL(workers)

__attribute__((noinline)) static void build(void)
{
    shards = mr_new_array(&shard_type, NSHARDS);
    for (int i = 0; i < NSHARDS; i++) {
        shards[i].id = i;
        shards[i].name = mr_str_printf("shard-%d", i);
        shards[i].index = mr_map_new(&index_type, 0);
        sc_fill(shards[i].index, &doc_type, 0, i == 11 ? DOCS : SMALL, BODY);
    }
    workers = mr_new_array(&mr_type_pointer, NWORKERS);
    for (int i = 0; i < NWORKERS; i++) {
        Worker *w = mr_new(&worker_type);
        w->id = i;
        w->queue = mr_map_new(&queue_type, 0);
        workers[i] = w;
        sc_fill(w->queue, &job_type, 0, i == 5 ? JOBS : SMALL, BODY);
    }
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "shard11", shards[11].index);
    sc_truth_map(snapshot, "shard0", shards[0].index);
    sc_truth_map(snapshot, "worker5", workers[5]->queue);
    sc_truth_map(snapshot, "worker0", workers[0]->queue);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
