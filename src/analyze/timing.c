/*
 * src/analyze/timing.c -- see timing.h.
 */
#include "analyze/timing.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static FILE *timing_out;
static double last_wall, last_cpu, last_sys;
static long last_minflt;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The process's system time (all threads) and minor page faults so far:
 * a phase's faults are the fresh pages it touched, each zeroed by the
 * kernel, which is most of its system time. */
static void sys_now(double *sys, long *minflt)
{
    struct rusage ru;
    *sys = 0;
    *minflt = 0;
    if (getrusage(RUSAGE_SELF, &ru)) return;
    *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    *minflt = ru.ru_minflt;
}

/* VmRSS and VmHWM from /proc/self/status, in KiB (0 when unknown). */
static void rss_kib(unsigned long *now, unsigned long *peak)
{
    *now = *peak = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) *now = strtoul(line + 6, NULL, 10);
        if (strncmp(line, "VmHWM:", 6) == 0) *peak = strtoul(line + 6, NULL, 10);
    }
    fclose(f);
}

void mp_timing_enable(FILE *out)
{
    timing_out = out;
    last_wall = wall_now();
    last_cpu = cpu_now();
    sys_now(&last_sys, &last_minflt);
}

void mp_timing_mark(const char *name)
{
    if (!timing_out) return;
    double w = wall_now(), c = cpu_now(), sys;
    long minflt;
    sys_now(&sys, &minflt);
    unsigned long now, peak;
    rss_kib(&now, &peak);
    fprintf(timing_out,
            "maproot: timing  %-10s wall %7.3fs  cpu %7.3fs  rss %9.1fMiB  peak %9.1fMiB"
            "  sys %7.3fs  faults %9ld\n",
            name, w - last_wall, c - last_cpu, (double)now / 1024, (double)peak / 1024,
            sys - last_sys, minflt - last_minflt);
    fflush(timing_out);
    last_wall = w;
    last_cpu = c;
    last_sys = sys;
    last_minflt = minflt;
}
