/*
 * tests/trace_target.c -- a program for `maproot trace` to attach to
 * (tests/test_trace.sh, bench/run-trace.sh): it leaks for a while, as a
 * service that caches sessions in a global map and never evicts them, and
 * makes garbage so that it collects often.
 *
 * Its truth, for the checks: the growing map is session_cache, a global
 * map[string]*Session; it grows in add_session (this file), through
 * mr_map_set; a second map, recent_jobs, stays at 64 entries (it is
 * replaced, not grown). At the end it prints
 *   trace_target: added N sessions, cache holds N
 * and exits with the status given by -x.
 *
 * usage: trace_target [-s SECONDS] [-f FILE] [-r SESSIONS_PER_SECOND]
 *                     [-i SECONDS] [-x STATUS] [-h HEAP_OBJECTS] [-w]
 *   -s  how long it runs at most (default 3)
 *   -f  it stops as soon as FILE exists (tests say when, whatever the load)
 *   -r  sessions added per second (default 20000)
 *   -i  first stay idle (no allocation, no collection) this long
 *   -h  first build a heap of this many live objects (for the benchmarks)
 *   -g  also collect every this many milliseconds (a timer-driven
 *       collection, so that collections come however slow the machine)
 *   -w  print "ready" on stdout once set up (and flush)
 * Built twice: linked with the collector, and with libmaprt alone (for
 * LD_PRELOAD=libmaproot.so).
 */
#include "maproot/rt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct Session {
    mr_str user;
    int64_t id;
    uint8_t *state;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, user.ptr), MR_FIELD(Session, state));

typedef struct Node {
    struct Node *next;
    int64_t v[2];
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next));

static const mr_map_type session_map = {"map[string]*Session", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};
static const mr_map_type job_map = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};

static mr_map *session_cache;
MR_GLOBAL(session_cache)
static mr_map *recent_jobs;
MR_GLOBAL(recent_jobs)
static Node *heap_list; /* -h: a big live heap */
MR_GLOBAL(heap_list)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double secs)
{
    struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    mr_blocking_enter();
    nanosleep(&ts, NULL);
    mr_blocking_exit();
}

/* The growth site the checks look for. */
__attribute__((noinline)) static void add_session(int64_t id)
{
    Session *s = mr_new(&session_type);
    s->id = id;
    s->user = mr_str_printf("user-%" PRId64, id);
    s->state = mr_alloc_blob(256);
    mr_map_set(session_cache, &s->user, &s);
}

__attribute__((noinline)) static void churn(int n)
{
    if (!recent_jobs || mr_map_len(recent_jobs) >= 64) recent_jobs = mr_map_new(&job_map, 64);
    for (int i = 0; i < n; i++) {
        mr_alloc_blob(1024);
        *(int64_t *)mr_map_assign_int(recent_jobs, (int64_t)(mr_map_len(recent_jobs) % 64)) = i;
    }
}

int main(int argc, char **argv)
{
    double secs = 3, idle = 0;
    const char *stop_file = NULL;
    long rate = 20000, heap_objects = 0, gc_ms = 0;
    int status = 0, c;
    bool ready = false;
    while ((c = getopt(argc, argv, "s:f:r:i:x:h:g:w")) != -1) {
        switch (c) {
        case 'f':
            stop_file = optarg;
            break;
        case 's':
            secs = atof(optarg);
            break;
        case 'r':
            rate = atol(optarg);
            break;
        case 'i':
            idle = atof(optarg);
            break;
        case 'x':
            status = atoi(optarg);
            break;
        case 'h':
            heap_objects = atol(optarg);
            break;
        case 'w':
            ready = true;
            break;
        case 'g':
            gc_ms = atol(optarg);
            break;
        default:
            fprintf(stderr, "usage: trace_target [-s S] [-f FILE] [-r N] [-i S] [-x STATUS] [-h N] "
                            "[-g MS] [-w]\n");
            return 2;
        }
    }
    session_cache = mr_map_new(&session_map, 0);
    for (long i = 0; i < heap_objects; i++) {
        Node *n = mr_new(&node_type);
        n->next = heap_list;
        heap_list = n;
    }
    if (ready) {
        printf("ready\n");
        fflush(stdout);
    }
    double start = now_s();
    while (idle > 0 && now_s() - start < idle && !(stop_file && access(stop_file, F_OK) == 0))
        nap(0.01);
    start = now_s();
    int64_t added = 0;
    double last_gc = start;
    /* in steps of 10 ms: rate/100 sessions, some garbage */
    while (now_s() - start < secs && !(stop_file && access(stop_file, F_OK) == 0)) {
        for (long i = 0; i < rate / 100; i++) add_session(added++);
        churn(200);
        if (gc_ms && now_s() - last_gc >= (double)gc_ms / 1000) {
            mr_gc();
            last_gc = now_s();
        }
        nap(0.01);
    }
    printf("trace_target: added %" PRId64 " sessions, cache holds %zu\n", added,
           mr_map_len(session_cache));
    return status;
}
