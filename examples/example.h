/*
 * examples/example.h -- what every example shares: the closing report.
 *
 * Each example ends the same way: a full collection (so the figures show what
 * is really retained, not garbage waiting for the next cycle), the memory
 * statistics, and a paragraph that says which leak the program showed. Then
 * it exits with the leak still held, as the service it imitates would be
 * holding it, so that the files the collector writes at exit
 * (MAPROOT_PROFILE, MAPROOT_SNAPSHOT) show it. A leak that lives on a
 * worker's stack stays there: the worker is still running, blocked waiting
 * for work, when the program exits (example_worker_idle).
 */
#ifndef MAPROOT_EXAMPLE_H
#define MAPROOT_EXAMPLE_H

#include "maproot/collector.h"
#include "maproot/rt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints text wrapped at 78 columns (words are never split). */
static inline void example_print_wrapped(const char *text)
{
    size_t col = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n == 0) break;
        if (col > 0 && col + 1 + n > 78) {
            putchar('\n');
            col = 0;
        }
        if (col > 0) {
            putchar(' ');
            col++;
        }
        fwrite(p, 1, n, stdout);
        col += n;
        p += n;
    }
    putchar('\n');
}

/* Collects, then prints the statistics and, under `heading`, the
 * explanation of the leak (or of why there is none). */
__attribute__((noinline, unused)) static void
example_report_as(const char *name, const char *heading, const char *explanation)
{
    /* zeroed before the collection, which scans this frame as a root: its
     * 2 KiB would otherwise hold whatever earlier calls left on the stack,
     * a stale pointer to the very map the example leaks among it */
    mr_memstats st;
    memset(&st, 0, sizeof st);
    mr_gc();
    mr_read_memstats(&st);
    printf("== %s: memory statistics after a full collection\n", name);
    mr_print_memstats(stdout, &st);
    printf("\n== %s\n", heading);
    example_print_wrapped(explanation);
    fflush(stdout);
}

/* The closing report of a leak example. noinline: the frame that calls it
 * is the one that holds the leak, and stays on the stack. */
__attribute__((noinline, unused)) static void example_report(const char *name,
                                                             const char *explanation)
{
    example_report_as(name, "the leak", explanation);
}

/* A worker thread that goes idle and waits for work that never comes, and
 * the main thread that waits until it is idle: the worker's frames (and
 * what they hold) stay live while the program reports and exits. */
static pthread_mutex_t example_idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t example_idle_cv = PTHREAD_COND_INITIALIZER;
static bool example_is_idle;

/* Called by the worker, from the frame that holds its leak: says it is
 * idle, then blocks for good (outside the runtime, as the blocking rule
 * asks: collections go on without it). It never returns; it is not
 * declared noreturn so that the caller's frame stays as it is. */
__attribute__((noinline, unused)) static void example_worker_idle(void)
{
    mr_blocking_enter();
    pthread_mutex_lock(&example_idle_mu);
    example_is_idle = true;
    pthread_cond_broadcast(&example_idle_cv);
    for (;;) pthread_cond_wait(&example_idle_cv, &example_idle_mu);
}

/* Called by the main thread (attached to the runtime): waits until the
 * worker is idle. */
static inline void example_wait_idle(void)
{
    mr_blocking_enter();
    pthread_mutex_lock(&example_idle_mu);
    while (!example_is_idle) pthread_cond_wait(&example_idle_cv, &example_idle_mu);
    pthread_mutex_unlock(&example_idle_mu);
    mr_blocking_exit();
}

/* Reads a map's internals (B, count, bucket arrays, evacuation progress).
 * They belong to the walk API, so the world is stopped around the read as
 * that API requires. */
static inline void example_map_info(const mr_map *m, mr_map_info *info)
{
    mr_stop_the_world();
    mr_map_get_info(m, info);
    mr_start_the_world();
}

#endif
