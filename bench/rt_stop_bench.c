/*
 * bench/rt_stop_bench.c -- what stopping a thread costs the runtime: the
 * brackets a thread passes through and the pause of stopping the world.
 *
 * usage: rt_stop_bench [-runs N] GROUP...   GROUP: call | block | stw
 *   call   mr_call_begin + mr_call_end, as a library's entry point makes
 *          them (a function of its own called by the program), per pair
 *   block  mr_blocking_enter + mr_blocking_exit with nothing between, per pair
 *   stw    mr_stop_the_world + mr_start_the_world with 0, 1 and 3 other
 *          attached threads running a loop of safepoints: the time until
 *          the world stands (the pause a collector's stop costs), per stop.
 *          Between stops the caller waits until every other thread has run
 *          again, so that each stop has running threads to stop.
 * Each runs N times (default 9) after an untimed warm-up; the median is
 * reported as RESULT lines (see bench.h), ns per operation. call and block
 * are timed in CPU time (one thread runs), which a busy neighbour on a
 * shared machine barely moves; stw in wall time, as a pause is felt.
 */
#include "maproot/rt.h"

#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PAIRS = 200000, STOPS = 200, MAX_RUNS = 64, MAX_THREADS = 3 };

static int nruns = 9;

/* A library's entry point, as the collector's are: marks the call, does
 * nothing, unmarks it. */
__attribute__((noinline)) static void library_entry(void)
{
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    __asm__ volatile("" ::: "memory");
    mr_call_end(outer);
}

static void bench_call(void)
{
    double v[MAX_RUNS];
    for (int r = -1; r < nruns; r++) {
        uint64_t t0 = cpu_ns();
        for (size_t i = 0; i < PAIRS; i++) library_entry();
        if (r >= 0) v[r] = (double)(cpu_ns() - t0) / PAIRS;
    }
    bench_result("call_begin_end", "ns/op", v, nruns);
}

static void bench_block(void)
{
    double v[MAX_RUNS];
    for (int r = -1; r < nruns; r++) {
        uint64_t t0 = cpu_ns();
        for (size_t i = 0; i < PAIRS; i++) {
            mr_blocking_enter();
            mr_blocking_exit();
        }
        if (r >= 0) v[r] = (double)(cpu_ns() - t0) / PAIRS;
    }
    bench_result("blocking_enter_exit", "ns/op", v, nruns);
}

static atomic_int spinners_stop;
static atomic_uint_fast64_t spins[MAX_THREADS];

/* A mutator that does nothing but reach safepoints, counting them. */
static void *spinner(void *arg)
{
    atomic_uint_fast64_t *count = arg;
    mr_thread_attach();
    while (!atomic_load_explicit(&spinners_stop, memory_order_relaxed)) {
        mr_safepoint();
        atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
    }
    mr_thread_detach();
    return NULL;
}

static void stw_with(int nthreads)
{
    pthread_t th[MAX_THREADS];
    atomic_store(&spinners_stop, 0);
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&th[i], NULL, spinner, &spins[i]) != 0) abort();
    double pause[MAX_RUNS];
    for (int r = -1; r < nruns; r++) {
        uint64_t stopping = 0;
        for (size_t i = 0; i < STOPS; i++) {
            uint64_t seen[MAX_THREADS];
            for (int k = 0; k < nthreads; k++) seen[k] = atomic_load(&spins[k]);
            for (int k = 0; k < nthreads; k++)
                while (atomic_load(&spins[k]) == seen[k]) sched_yield();
            uint64_t a = now_ns();
            mr_stop_the_world();
            stopping += now_ns() - a;
            mr_start_the_world();
        }
        if (r >= 0) pause[r] = (double)stopping / STOPS;
    }
    atomic_store(&spinners_stop, 1);
    mr_blocking_enter();
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    mr_blocking_exit();
    char name[64];
    snprintf(name, sizeof name, "stw_stop_%dthreads", nthreads);
    bench_result(name, "ns/op", pause, nruns);
}

static void bench_stw(void)
{
    stw_with(0);
    stw_with(1);
    stw_with(MAX_THREADS);
}

int main(int argc, char **argv)
{
    static const bench_group groups[] = {
        {"call", bench_call}, {"block", bench_block}, {"stw", bench_stw}};
    mr_thread_attach();
    return bench_main(argc, argv, "rt_stop_bench", groups, sizeof groups / sizeof *groups, &nruns,
                      MAX_RUNS, NULL);
}
