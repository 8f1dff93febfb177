/*
 * tests/scenarios/fiber_stack.c -- maps held by the frames of a fiber: a
 * coroutine run with makecontext/swapcontext on a stack the program
 * mmap'ed, as coroutine libraries and hand-written schedulers do.
 *
 * TRUTH. The fiber "session fiber" (a 1 MiB stack, registered with
 * mr_stack_register; every switch announced with mr_stack_switch) builds
 * map[int64]*FiberJob, 3,000 jobs with a 256-byte blob each, held only by
 * a local of its function fiber_body, and suspends itself back to main.
 *
 *   jobs   snapshot "suspended" (main runs, the fiber waits): the map is
 *          alive, held by nothing but the suspended fiber's frames: its
 *          root is the fiber stack, by its label, and it retains exactly
 *          its own objects. Before the snapshot main collected twice and
 *          allocated over the freed memory; the fiber then finds every job
 *          intact (else the program fails: the map was freed under it).
 *          Snapshot "running" is written from fiber_body itself, resumed
 *          (with a collection run on the fiber stack first): the root is
 *          then thread 1's frame fiber_body, on the fiber, and main's own
 *          frames (waiting on the thread's stack) are roots too.
 *   ranged map[int64]*RangedJob, 1,500 jobs, that the fiber ranges over
 *          and suspends half-way through (the loop is open across the
 *          switch); only the open iterator refers to it. In "suspended"
 *          its root is that iterator (thread 1's, the one that began it),
 *          an iterator_only suspect; the iterator's fields, on the fiber's
 *          stack, are that root and not also words of the fiber.
 *   at exit  the fiber has returned and its stack is unregistered and
 *          unmapped: the map is garbage, and no snapshot reads the stack.
 */
#include "scenario.h"

enum { JOBS = 3000, BLOB = 256 };

SC_ITEM_TYPE(job_type, FiberJob);
SC_ITEM_TYPE(ranged_type, RangedJob);
static const mr_map_type ranged_type_map = {"map[int64]*RangedJob", MR_KEY_INT64, NULL,
                                            &mr_type_pointer};
static const mr_map_type jobs_type = {"map[int64]*FiberJob", MR_KEY_INT64, NULL,
                                      &mr_type_pointer};

static ucontext_t main_ctx;
static sc_fiber fiber;
static uintptr_t jobs_addr; /* its address only: no root */
static const mr_map *jobs_seen;
static uintptr_t ranged_addr; /* its address only: no root */

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "jobs", jobs_seen);
    if (!strcmp(snapshot, "suspended")) sc_truth_map(snapshot, "ranged", (mr_map *)ranged_addr);
}

/* Leaves the fiber for main, telling the runtime first. */
static void yield_to_main(void)
{
    mr_stack_switch(0);
    if (swapcontext(&fiber.ctx, &main_ctx) != 0) sc_fail("swapcontext");
}

/* Fails unless every job of m is there, whole. */
static void check_jobs(mr_map *m)
{
    for (int64_t k = 0; k < JOBS; k++) {
        sc_item **v = mr_map_lookup_int(m, k);
        if (!v || (*v)->id != k || mr_object_size((*v)->blob) < BLOB)
            sc_fail("job %" PRId64 " of the fiber's map was lost", k);
    }
}

SC_NOCLONE static void fiber_snapshot(mr_map *jobs)
{
    jobs_seen = jobs;
    SC_SNAPSHOT("running");
    SC_TRUTHS(truths, "running");
    jobs_seen = NULL;
}

/* Builds the map only an iterator will hold; its pointer is gone after. */
SC_NOCLONE static void begin_range(mr_map_iter *it)
{
    mr_map *m = mr_map_new(&ranged_type_map, 0);
    sc_fill(m, &ranged_type, 0, JOBS / 2, BLOB);
    ranged_addr = (uintptr_t)m;
    mr_map_iter_init(it, m);
    if (!mr_map_iter_next(it)) sc_fail("an empty range");
}

SC_NOCLONE static void fiber_body(void)
{
    mr_map *volatile jobs = mr_map_new(&jobs_type, 0);
    sc_fill(jobs, &job_type, 0, JOBS, BLOB);
    jobs_addr = (uintptr_t)jobs;
    mr_map_iter it;
    SC_CLEAN(begin_range(&it));
    yield_to_main();
    size_t left = 1;
    while (mr_map_iter_next(&it)) left++;
    if (left != JOBS / 2) sc_fail("the range saw %zu of %d entries", left, JOBS / 2);
    check_jobs(jobs);
    mr_gc(); /* a collection run on the fiber's stack */
    check_jobs(jobs);
    SC_CLEAN(fiber_snapshot(jobs));
    yield_to_main();
    mr_stack_switch(0); /* returning: uc_link brings the thread back to main */
}

/* What main allocates while the fiber waits: enough to reuse what a
 * collection would free, written over with non-pointer words. */
SC_NOCLONE static void churn(void)
{
    for (int i = 0; i < 20000; i++) memset(mr_alloc_blob(BLOB), 0x5a, BLOB);
}

SC_NOCLONE static void resume_fiber(void)
{
    mr_stack_switch(fiber.handle);
    if (swapcontext(&main_ctx, &fiber.ctx) != 0) sc_fail("swapcontext");
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    sc_fiber_make(&fiber, "session fiber", fiber_body, &main_ctx);
    SC_CLEAN(resume_fiber()); /* builds the map, suspends */
    mr_gc();
    SC_CLEAN(churn());
    mr_gc();
    SC_CLEAN(churn());
    jobs_seen = (const mr_map *)jobs_addr;
    SC_SNAPSHOT("suspended");
    SC_TRUTHS(truths, "suspended");
    jobs_seen = NULL;
    SC_CLEAN(resume_fiber()); /* checks, collects, snapshots "running", suspends */
    SC_CLEAN(resume_fiber()); /* returns: uc_link brings it back here */
    sc_fiber_free(&fiber);
    sc_truth("any", "gone", "\"address\": %" PRIuPTR, jobs_addr);
    mr_exiting();
    return 0;
}
