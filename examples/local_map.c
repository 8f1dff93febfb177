/*
 * examples/local_map.c -- leak pattern 4: a map held by a long-running
 * function's local variable.
 *
 * A worker thread deduplicates incoming requests: worker_loop keeps a local
 * map[int64]*Request of every request it has processed, so that a retry of
 * the same request id is answered from it. The map lives in worker_loop's
 * stack frame, and worker_loop only returns when the service shuts down, so
 * every request ever processed (with its 512-byte body) stays reachable.
 * When the program exits the worker is still there, idle, waiting for
 * requests. No global names the map: a heap profile shows the allocations,
 * and only the stack of the worker thread explains why they are alive.
 */
#include "example.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

enum { NREQUESTS = 100000, BODY_BYTES = 512 };

typedef struct Request {
    int64_t id;
    int64_t client;
    uint8_t *body; /* blob */
} Request;

MR_TYPE(request_type, Request, MR_FIELD(Request, body));

static const mr_map_type seen_map_type = {
    .name = "map[int64]*Request",
    .key_kind = MR_KEY_INT64,
    .key_type = NULL,
    .value_type = &mr_type_pointer,
};

/* Stands in for reading a request from the network. */
__attribute__((noinline)) static Request *receive_request(int64_t n)
{
    Request *r = mr_new(&request_type);
    r->id = n % 5 == 4 ? n - 1 : n; /* every fifth request is a retry */
    r->client = n % 97;
    r->body = mr_alloc_blob(BODY_BYTES);
    r->body[0] = (uint8_t)n;
    return r;
}

/*
 * The worker: processes requests, remembering each in `seen` (a local), then
 * waits for more. The frame that holds the map stays for as long as the
 * worker runs: for the life of the process.
 */
__attribute__((noinline)) static void *worker_loop(void *arg)
{
    int *status = arg;
    mr_map *seen = mr_map_new(&seen_map_type, 0);
    int64_t retries = 0;

    for (int64_t n = 0; n < NREQUESTS; n++) {
        Request *r = receive_request(n);
        if (mr_map_lookup(seen, &r->id)) {
            retries++; /* answered from the map */
            continue;
        }
        mr_map_set(seen, &r->id, &r); /* never removed: the leak */
    }
    printf("local_map: worker processed %d requests (%" PRId64 " retries), `seen` holds %zu\n\n",
           NREQUESTS, retries, mr_map_len(seen));
    *status = mr_map_len(seen) == (size_t)(NREQUESTS - retries) ? 0 : 1;
    /* A loop that runs until shutdown keeps its locals in its frame; this
     * volatile slot is that frame's copy of `seen` while the worker waits. */
    mr_map *volatile seen_in_frame = seen;
    example_worker_idle(); /* no more requests for now */
    __asm__ volatile("" : : "r"(seen_in_frame) : "memory");
    return NULL;
}

int main(void)
{
    pthread_t worker;
    int status = 1;
    mr_thread_attach();
    if (pthread_create(&worker, NULL, worker_loop, &status) != 0) return 1;
    example_wait_idle();
    example_report("local_map",
                   "worker_loop keeps a local map[int64]*Request `seen` of every request it has "
                   "processed, to answer retries. Nothing global refers to it: the map and the "
                   "80,000 requests in it (each with a 512-byte body) are alive only because the "
                   "worker thread's stack frame of worker_loop holds the map, and that function "
                   "runs until shutdown (the worker is idle now, waiting for requests). Fix: bound "
                   "the dedup window (remember only recent ids, or delete an id once its retries "
                   "can no longer arrive).");
    return status; /* the worker is still waiting: its frame is a root at exit */
}
