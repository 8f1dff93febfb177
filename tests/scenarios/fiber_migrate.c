/*
 * tests/scenarios/fiber_migrate.c -- a fiber that migrates between threads,
 * as a work-stealing scheduler moves coroutines: started on the main
 * thread, resumed and suspended by a worker thread that then exits, and
 * finished on the main thread again.
 *
 * TRUTH. The fiber "stolen fiber" (a registered 1 MiB stack, every
 * switch announced with mr_stack_switch) runs fiber_body, whose locals
 * hold two maps and nothing else does:
 *   early  map[int64]*Early, 2,000 items (256-byte blobs), made while the
 *          fiber first ran on main (thread 1), which it then left.
 *   late   map[int64]*Late, 1,500 items (384-byte blobs), made after a
 *          worker (thread 2) resumed the fiber.
 * Snapshot "on_worker" is written from fiber_body running on thread 2:
 * both maps are rooted at thread 2's frame of fiber_body (a stack word or a
 * register of it), every root reaching them is thread 2's. The fiber then
 * suspends back to the worker, which exits; main collects twice and
 * allocates over what was freed. Snapshot "migrated" (main runs, the fiber
 * suspended, its last thread gone): both maps alive, every root reaching
 * them the fiber stack by its label; each retains exactly its objects.
 * Main then resumes the fiber, which checks both maps whole and returns;
 * the stack is unregistered and unmapped: at exit both are garbage.
 */
#include "scenario.h"

enum { EARLY = 2000, EARLY_BLOB = 256, LATE = 1500, LATE_BLOB = 384 };

SC_ITEM_TYPE(early_type, Early);
SC_ITEM_TYPE(late_type, Late);
static const mr_map_type early_map = {"map[int64]*Early", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type late_map = {"map[int64]*Late", MR_KEY_INT64, NULL, &mr_type_pointer};

static ucontext_t main_ctx, worker_ctx;
static ucontext_t *back_ctx; /* where the fiber returns to: its resumer's */
static sc_fiber fiber;
static uintptr_t early_addr, late_addr; /* the addresses only: no roots */

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "early", (const mr_map *)early_addr);
    sc_truth_map(snapshot, "late", (const mr_map *)late_addr);
    sc_truth(snapshot, "gone", "\"address\": %" PRIuPTR, early_addr);
}

static void yield_back(void)
{
    mr_stack_switch(0);
    if (swapcontext(&fiber.ctx, back_ctx) != 0) sc_fail("swapcontext");
}

/* Resumes the fiber from the calling thread, whose context is at ctx. */
SC_NOCLONE static void resume_fiber(ucontext_t *ctx)
{
    back_ctx = ctx;
    mr_stack_switch(fiber.handle);
    if (swapcontext(ctx, &fiber.ctx) != 0) sc_fail("swapcontext");
}

__attribute__((noinline)) static mr_map *make_map(const mr_map_type *mt, const mr_type *t, int n,
                                                  size_t blob, uintptr_t *addr)
{
    mr_map *m = mr_map_new(mt, 0);
    sc_fill(m, t, 0, n, blob);
    *addr = (uintptr_t)m;
    return m;
}

/* Fails unless m holds keys 0 .. n-1 with blobs of blob bytes. */
static void check_whole(mr_map *m, int n, size_t blob)
{
    for (int64_t k = 0; k < n; k++) {
        sc_item **v = mr_map_lookup_int(m, k);
        if (!v || (*v)->id != k || mr_object_size((*v)->blob) < blob)
            sc_fail("item %" PRId64 " of the fiber's map was lost", k);
    }
}

SC_NOCLONE static void snapshot_on_worker(void)
{
    SC_SNAPSHOT("on_worker");
    SC_TRUTHS(truths, "on_worker");
}

SC_NOCLONE static void fiber_body(void)
{
    mr_map *volatile early =
        SC_CLEAN(make_map(&early_map, &early_type, EARLY, EARLY_BLOB, &early_addr));
    sc_scrub_stack();
    yield_back(); /* to main; the worker resumes it */
    mr_map *volatile late = SC_CLEAN(make_map(&late_map, &late_type, LATE, LATE_BLOB, &late_addr));
    SC_CLEAN(snapshot_on_worker());
    sc_scrub_stack();
    yield_back(); /* to the worker, which exits; main resumes it */
    check_whole(early, EARLY, EARLY_BLOB);
    check_whole(late, LATE, LATE_BLOB);
    mr_stack_switch(0); /* returning: uc_link brings the thread back to main */
}

static void *worker_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    SC_CLEAN(resume_fiber(&worker_ctx));
    mr_thread_detach();
    return NULL;
}

/* What main allocates while the fiber waits: enough to reuse what a
 * collection would free, written over with non-pointer words. */
SC_NOCLONE static void churn(void)
{
    for (int i = 0; i < 20000; i++) memset(mr_alloc_blob(EARLY_BLOB), 0x5a, EARLY_BLOB);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    sc_fiber_make(&fiber, "stolen fiber", fiber_body, &main_ctx);
    SC_CLEAN(resume_fiber(&main_ctx)); /* makes early, suspends */
    sc_in_dead_thread(worker_main);    /* makes late, snapshots, suspends; the worker exits */
    mr_gc();
    SC_CLEAN(churn());
    mr_gc();
    SC_CLEAN(churn());
    SC_SNAPSHOT("migrated");
    SC_TRUTHS(truths, "migrated");
    SC_CLEAN(resume_fiber(&main_ctx)); /* checks both maps, returns */
    sc_fiber_free(&fiber);
    mr_exiting();
    return 0;
}
