/*
 * tests/scenarios/tls_closure.c -- maps reached only through an object:
 * one a worker keeps in a thread-local context struct, one a callback's
 * closure holds, and one in the thread-local context of a worker that has
 * exited.
 *
 * TRUTH. A worker thread (thread 3: main attaches first and is thread 1,
 * the short-lived worker below thread 2; the runtime never reuses a
 * thread's number) stores in its thread-local variable `tls_ctx` (static __thread) a
 * pointer to a WorkerCtx, whose `seen` is a map[int64]*Job of 5,000 jobs
 * (each with a 256-byte input), and blocks in park_worker (holding nothing
 * in its frame) while main writes the snapshot "held". Main, before,
 * registered callbacks: the global `handlers` is an array object of 8
 * Handler structs {fn, ctx}, each ctx a Closure {name, hits}; handler 5's
 * closure counts every event it is called with in its hits, a
 * map[string]*Hit of 8,000 hits (each with a 128-byte blob) -- the leak;
 * the others' hold 10. A third map, map[int64]*Scratch (2,000 entries),
 * was in the thread-local context of a worker (thread 2) that has exited
 * (joined before the snapshot): no root.
 *   seen     the root named is the thread-local storage of thread 3 (a
 *            runtime root, no frame's: no stack_frame evidence), every
 *            root reaching it is that; its chain goes from that root
 *            through the WorkerCtx to the header. A suspect (large_share)
 *            retaining exactly its objects (not the WorkerCtx, which
 *            holds it).
 *   hits5    rooted at global handlers; chain handlers -> the array,
 *            element [5] -> the Closure -> the header. A suspect
 *            (large_share) retaining exactly its objects.
 *   hits0    a 10-entry map of the same type and root: no suspect.
 *   scratch  absent: an exited thread's thread-local storage is no root.
 * Main then releases the worker, which exits: at exit ("exit") seen is
 * gone too, and hits5 is still held by handlers.
 */
#include "scenario.h"

enum { JOBS = 5000, HANDLERS = 8, LEAKY = 5, HITS = 8000, SCRATCH = 2000 };

SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(hit_type, Hit);
SC_ITEM_TYPE(scratch_type, Scratch);

typedef struct WorkerCtx {
    int64_t id;
    mr_map *seen;
} WorkerCtx;
MR_TYPE(ctx_type, WorkerCtx, MR_FIELD(WorkerCtx, seen));

typedef struct Closure {
    mr_str name;
    mr_map *hits;
} Closure;
MR_TYPE(closure_type, Closure, MR_FIELD(Closure, name.ptr), MR_FIELD(Closure, hits));

typedef struct Handler {
    void (*fn)(Closure *c, const char *event); /* code, no heap pointer */
    Closure *ctx;
} Handler;
MR_TYPE(handler_type, Handler, MR_FIELD(Handler, ctx));

static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type hits_type = {"map[string]*Hit", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type scratch_map = {"map[int64]*Scratch", MR_KEY_INT64, NULL, &mr_type_pointer};

static Handler *handlers;
MR_GLOBAL(handlers)
static __thread WorkerCtx *tls_ctx;
static uintptr_t seen_addr, scratch_addr; /* the addresses only: no roots */
static sc_worker worker;

/* A callback: counts the event in its closure's map. */
static void count_hit(Closure *c, const char *event)
{
    mr_str k = mr_str_from(event);
    Hit **h = mr_map_lookup_str(c->hits, k);
    if (h) {
        (*h)->id++;
        return;
    }
    *(Hit **)mr_map_assign_str(c->hits, k) = sc_new_item(&hit_type, 1, 128);
}

__attribute__((noinline)) static void register_handlers(void)
{
    handlers = mr_new_array(&handler_type, HANDLERS);
    for (int i = 0; i < HANDLERS; i++) {
        Closure *c = mr_new(&closure_type);
        c->name = mr_str_printf("handler-%d", i);
        c->hits = mr_map_new(&hits_type, 0);
        handlers[i].fn = count_hit;
        handlers[i].ctx = c;
    }
}

/* Every handler sees events ev-0 .. ev-9; handler LEAKY sees every event
 * id (request ids, as a careless metric label does). */
__attribute__((noinline)) static void dispatch(void)
{
    char ev[32];
    for (int i = 0; i < HITS; i++) {
        snprintf(ev, sizeof ev, "req-%d", i);
        handlers[LEAKY].fn(handlers[LEAKY].ctx, ev);
    }
    for (int h = 0; h < HANDLERS; h++)
        for (int i = 0; i < 10; i++) {
            if (h == LEAKY) continue;
            snprintf(ev, sizeof ev, "ev-%d", i);
            handlers[h].fn(handlers[h].ctx, ev);
        }
}

__attribute__((noinline)) static void make_ctx(void)
{
    WorkerCtx *c = mr_new(&ctx_type);
    c->seen = mr_map_new(&jobs_type, 0);
    sc_fill(c->seen, &job_type, 0, JOBS, 256);
    seen_addr = (uintptr_t)c->seen;
    tls_ctx = c;
}

SC_NOCLONE static void park_worker(void)
{
    sc_park(&worker);
    if (mr_map_len(tls_ctx->seen) != JOBS) sc_fail("lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    make_ctx();
    sc_scrub_stack(); /* park_worker's frame lies where make_ctx's was */
    park_worker();
    return NULL;
}

/* A worker that fills its own thread-local context and exits. */
static void *short_worker(void *arg)
{
    (void)arg;
    WorkerCtx *c = mr_new(&ctx_type);
    c->seen = mr_map_new(&scratch_map, 0);
    sc_fill(c->seen, &scratch_type, 0, SCRATCH, 64);
    scratch_addr = (uintptr_t)c->seen;
    tls_ctx = c;
    sc_scrub_stack();
    return NULL;
}

static void truths(const char *snapshot)
{
    if (strcmp(snapshot, "held") == 0) sc_truth_map(snapshot, "seen", (const mr_map *)seen_addr);
    sc_truth_map(snapshot, "hits5", handlers[LEAKY].ctx->hits);
    sc_truth_map(snapshot, "hits0", handlers[0].ctx->hits);
    sc_truth(snapshot, "scratch", "\"address\": %" PRIuPTR, scratch_addr);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(register_handlers());
    SC_CLEAN(dispatch());
    SC_CLEAN(sc_in_dead_thread(short_worker));
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(&worker);
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}
