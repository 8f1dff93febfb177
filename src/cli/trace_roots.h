/*
 * src/cli/trace_roots.h -- the roots of a traced program's maps, from a
 * root snapshot of it analysed on a thread of its own, so that the live
 * view goes on while a large heap is analysed (the full analysis of
 * src/analyze: paths, dominators, findings).
 *
 * trace_roots_start loads and analyses the snapshot at path on a new
 * thread and writes one byte to notify_fd when done; trace_roots_finish
 * then joins it and hands over the result. One analysis at a time per
 * trace_roots.
 */
#ifndef MAPROOT_CLI_TRACE_ROOTS_H
#define MAPROOT_CLI_TRACE_ROOTS_H

#include "cli/trace_view.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct trace_roots {
    bool running;
    pthread_t thread;
    int notify_fd;
    char path[4096];
    /* the result, the thread's until it notifies */
    int rc;
    char msg[600];
    tv_root *roots;
    size_t nroots;
    uint32_t cycle;
    double seconds;
} trace_roots;

/* Starts the analysis of the snapshot at path; -1 when no thread could be
 * started (msg in tr->msg). */
int trace_roots_start(trace_roots *tr, const char *path, int notify_fd);

/* Joins the thread; 0 with the roots (sorted as the caller wishes; the
 * caller owns them and their strings) or -1 with tr->msg. */
int trace_roots_finish(trace_roots *tr, tv_root **roots, size_t *n, uint32_t *cycle);

#endif
