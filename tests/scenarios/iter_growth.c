/*
 * tests/scenarios/iter_growth.c -- a map caught half-way through doubling,
 * kept alive only by an iterator that another thread opened before the
 * growth began.
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * builds a map[int64]*Task of tasks (each with a 200-byte spec), opens an
 * iterator over it in scan_growing, takes three entries, then inserts
 * tasks until the map starts doubling, and three more (each insert
 * evacuates at most two old buckets, so the growth is unfinished: the
 * header still holds its old bucket array, which the iterator points into
 * too, having been opened on it). No variable holds the map any more; the
 * worker parks (blocked, by the blocking rule) with the iterator open while
 * main writes the snapshot "held":
 *   tasks  held only by the worker's open iterator: the root named is an
 *          iterator of thread 2 in frame #1 scan_growing (frame #0 is park),
 *          every root of the header is of thread 2; evidence iterator_only
 *          and old_buckets; a suspect retaining exactly its own objects --
 *          header, both bucket arrays, overflow buckets, tasks and specs
 *          (the runtime's dominator walk over the map's whole table). The
 *          iterator's word into the old bucket array takes nothing from the
 *          map: the header holds that array too. Every entry alone
 *          retains its task and spec, none is shared: the pointers that
 *          evacuated old buckets keep (Go leaves them there while an
 *          iterator may still read the old array) are the map's own.
 * Then main releases the worker, which closes its iterator and exits: at
 * exit ("exit") the map is gone.
 */
#include "scenario.h"

enum { INITIAL = 3000, SPEC = 200, TAKEN = 3, AFTER_GROWTH = 3 };

SC_ITEM_TYPE(task_type, Task);

static const mr_map_type tasks_type = {"map[int64]*Task", MR_KEY_INT64, NULL, &mr_type_pointer};

static uintptr_t tasks_addr; /* the address only: no root */
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_tasks(void)
{
    mr_map *m = mr_map_new(&tasks_type, 0);
    sc_fill(m, &task_type, 0, INITIAL, SPEC);
    tasks_addr = (uintptr_t)m;
    return m;
}

/* True while m is between two bucket arrays. */
static bool growing(const mr_map *m)
{
    mr_map_info info;
    sc_map_info(m, &info);
    return info.oldbuckets != NULL;
}

/* Inserts tasks until the map starts doubling, then a few more: the map is
 * reached through the published address, so that no frame that outlives
 * this call holds it. */
__attribute__((noinline)) static void grow(void)
{
    mr_map *m = (mr_map *)tasks_addr;
    int64_t k = INITIAL;
    while (!growing(m)) {
        if (k > 64 * INITIAL) sc_fail("the map never started growing");
        sc_fill(m, &task_type, k++, 1, SPEC);
    }
    sc_fill(m, &task_type, k, AFTER_GROWTH, SPEC);
    if (!growing(m)) sc_fail("the growth finished early");
}

/* Parks until main has taken its snapshot and measured (a frame of its
 * own: scan_growing, which holds the iterator, is frame #1). */
SC_NOCLONE static void park(void)
{
    sc_park(&worker);
}

SC_NOCLONE static void scan_growing(void)
{
    mr_map_iter it;
    mr_map_iter_init(&it, make_tasks());
    for (int i = 0; i < TAKEN; i++)
        if (!mr_map_iter_next(&it)) sc_fail("the map ended early");
    grow();
    sc_scrub_stack(); /* grow's frames and registers held the map */
    park();
    mr_map_iter_done(&it);
}

static void *worker_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    sc_scrub_stack();
    scan_growing();
    mr_thread_detach();
    return NULL;
}

/* An entry alone retains its task and spec: the stale copy of its pointer
 * that an evacuated old bucket keeps is the same map's, no other root. */
static void on_slot(const mr_map_slot *s, void *ud)
{
    const sc_item *t = *(sc_item *const *)s->value;
    char key[32];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    sc_entry(ud, key, 0, mr_object_size(t) + mr_object_size(t->blob));
}

static void truths(const char *snapshot)
{
    const mr_map *m = (const mr_map *)tasks_addr;
    if (!growing(m)) sc_fail("the map finished growing before the snapshot");
    sc_truth_map(snapshot, "tasks", m);
    sc_truth_slots(snapshot, "tasks", m, on_slot);
}

int main(int argc, char **argv)
{
    return sc_worker_main(argc, argv, &worker, worker_main, truths);
}
