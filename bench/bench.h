/*
 * bench/bench.h -- what the C benchmark programs share: a clock, the key
 * generator their Go peers use too, and the median they report.
 */
#ifndef MR_BENCH_H
#define MR_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the whole process (every thread: a collector's helpers
 * included), which a busy neighbour on a shared machine barely moves. */
static inline uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The same generator as the Go peers': a bijection, so hits and misses never
 * collide. */
static inline uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Prints "RESULT <name> <unit> <median> <sample>..." (sorts v): the median
 * first, as every reader of these lines expects, then each run's figure in
 * ascending order, so that bench/run-rt.sh can pool the runs of several
 * processes and show their spread, not just a median that hides it.
 */
static inline void bench_result(const char *name, const char *unit, double *v, int n)
{
    printf("RESULT %s %s %.2f", name, unit, median(v, n));
    for (int i = 0; i < n; i++) printf(" %.2f", v[i]);
    printf("\n");
    fflush(stdout);
}

#ifdef MAPROOT_RT_H
/*
 * Prints the stop-the-world pauses of the last n collections (n <= 64) as an
 * INFO line, and stores them in pauses[0..n) (ns) for a RESULT median.
 */
static inline void bench_report_pauses(const char *what, int n, double *pauses)
{
    mr_memstats st;
    mr_read_memstats(&st);
    printf("INFO maproot %s pauses (ms, stop-the-world, per cycle):", what);
    for (int i = 0; i < n; i++) {
        uint64_t p = st.pause_ns[(st.num_gc + 256 - (uint32_t)n + (uint32_t)i) % 256];
        pauses[i] = (double)p;
        printf(" %.1f", (double)p / 1e6);
    }
    printf("\n");
}
#endif

typedef struct bench_group {
    const char *name;
    void (*run)(void);
} bench_group;

/*
 * The command line every C benchmark takes: "[-runs N] GROUP...". Sets
 * *nruns (1..max_runs), calls start (if any) once, then runs each group
 * named; returns the exit status (2 on bad usage).
 */
static inline int bench_main(int argc, char **argv, const char *prog, const bench_group *groups,
                             size_t ngroups, int *nruns, int max_runs, void (*start)(void))
{
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-runs") == 0) {
        *nruns = atoi(argv[2]);
        first = 3;
    }
    if (*nruns < 1 || *nruns > max_runs || first >= argc) {
        fprintf(stderr, "usage: %s [-runs N (1..%d)] GROUP...; groups:", prog, max_runs);
        for (size_t g = 0; g < ngroups; g++) fprintf(stderr, " %s", groups[g].name);
        fputc('\n', stderr);
        return 2;
    }
    if (start) start();
    for (int i = first; i < argc; i++) {
        size_t g = 0;
        while (g < ngroups && strcmp(argv[i], groups[g].name) != 0) g++;
        if (g == ngroups) {
            fprintf(stderr, "%s: unknown group '%s'\n", prog, argv[i]);
            return 2;
        }
        groups[g].run();
    }
    return 0;
}

#endif
