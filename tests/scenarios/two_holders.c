/*
 * tests/scenarios/two_holders.c -- maps that no single root keeps: one held
 * by a global and by a worker's frame (through the same owner object), one
 * held only by the frames of two worker threads.
 *
 * TRUTH. Main (thread 1) builds, then starts two workers (threads 2 and 3)
 * that park (blocked, by the blocking rule) while main writes the snapshot
 * "held":
 *   jobs    a map[int64]*Job of 8,000 jobs (each with a 320-byte input)
 *           in the Owner that the global `registry` points at; worker 2
 *           holds the same Owner in a local of hold_owner. Neither root
 *           dominates the map: the report has no single root for it
 *           ("root" null), names the global (globals before stacks) and
 *           lists both holders, once each; context several_roots (sharing
 *           is no evidence of a leak). The map
 *           still retains exactly its own objects (header, buckets, jobs,
 *           inputs: no root reaches them but through the header), not the
 *           Owner.
 *   shared  a map[int64]*Chunk of 5,000 chunks (each with a 512-byte body),
 *           held only by a local of hold_map in worker 2 and one of
 *           hold_map in worker 3 (no global). No single root; the root named
 *           is a stack word, the roots are those two frames' (threads 2 and
 *           3, function hold_map); evidence stack_frame, context several_roots;
 *           it retains exactly its own objects.
 * Main then releases the workers and drops `registry`: at exit ("exit")
 * neither map is alive.
 */
#include "scenario.h"

enum { JOBS = 8000, INPUT = 320, CHUNKS = 5000, BODY = 512 };

SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(chunk_type, Chunk);

typedef struct Owner {
    int64_t id;
    mr_map *jobs;
} Owner;
MR_TYPE(owner_type, Owner, MR_FIELD(Owner, jobs));

static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type chunks_type = {"map[int64]*Chunk", MR_KEY_INT64, NULL,
                                        &mr_type_pointer};

static Owner *registry;
MR_GLOBAL(registry)

/* Addresses only (plain statics are no roots): what the workers pick up
 * and the truth lines measure. */
static uintptr_t owner_addr, shared_addr;
static sc_worker first, second;

__attribute__((noinline)) static void build(void)
{
    registry = mr_new(&owner_type);
    registry->id = 1;
    registry->jobs = mr_map_new(&jobs_type, 0);
    sc_fill(registry->jobs, &job_type, 0, JOBS, INPUT);
    owner_addr = (uintptr_t)registry;
    mr_map *m = mr_map_new(&chunks_type, 0);
    sc_fill(m, &chunk_type, 0, CHUNKS, BODY);
    shared_addr = (uintptr_t)m;
}

/* Parks worker w with the chunks map in a local of its frame. */
SC_NOCLONE static void hold_map(sc_worker *w)
{
    mr_map *volatile held = (mr_map *)shared_addr;
    sc_park(w);
    if (mr_map_len(held) != CHUNKS) sc_fail("the chunks map lost entries");
}

/* Worker 2 also holds the Owner, in a frame above. */
SC_NOCLONE static void hold_owner(void)
{
    Owner *volatile held = (Owner *)owner_addr;
    hold_map(&first);
    if (held->id != 1) sc_fail("the owner changed");
}

static void *first_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    sc_scrub_stack();
    hold_owner();
    mr_thread_detach();
    return NULL;
}

static void *second_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    sc_scrub_stack();
    hold_map(&second);
    mr_thread_detach();
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "jobs", ((const Owner *)owner_addr)->jobs);
    sc_truth_map(snapshot, "shared", (const mr_map *)shared_addr);
}

SC_NOCLONE static void run(void)
{
    build();
    sc_start_worker(&first, first_main);
    sc_start_worker(&second, second_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(&first);
    sc_stop_worker(&second);
    registry = NULL;
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(run());
    mr_exiting();
    return 0;
}
