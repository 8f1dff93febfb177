/* src/cli/trace_roots.c -- see trace_roots.h. */
#include "cli/trace_roots.h"

#include "analyze/snapshot_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The root text of every map of the analysis: the root its path starts
 * from (see paths.h), as analyze prints it. */
static int roots_of(const mp_snapshot_analysis *a, tv_root **out, size_t *n)
{
    const mp_graph *g = a->g;
    *out = calloc(g->nmaps ? g->nmaps : 1, sizeof **out);
    if (!*out) return -1;
    for (size_t m = 0; m < g->nmaps; m++) {
        const mp_map_report *r = &a->f.maps[m];
        char text[600] = "?";
        if (r->path_root < g->nroots) mp_root_text(g, r->path_root, text, sizeof text);
        tv_root *t = &(*out)[m];
        t->address = g->maps[m].address;
        t->retained = r->retained;
        t->entries = g->maps[m].count;
        if (!(t->root = strdup(text))) {
            for (size_t k = 0; k < m; k++) free((*out)[k].root);
            free(*out);
            return -1;
        }
    }
    *n = g->nmaps;
    return 0;
}

static void *analyse(void *arg)
{
    trace_roots *tr = arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mp_snapshot_analysis a;
    memset(&a, 0, sizeof a);
    mf_error err = {{0}};
    tr->rc = -1;
    if (mp_snapshot_analyze(tr->path, NULL, NULL, &a, &err) != 0) {
        snprintf(tr->msg, sizeof tr->msg, "%s", err.msg);
    } else {
        tr->cycle = a.g->info.gc_cycle;
        if (roots_of(&a, &tr->roots, &tr->nroots) == 0)
            tr->rc = 0;
        else
            snprintf(tr->msg, sizeof tr->msg, "%.500s: out of memory", tr->path);
        mp_snapshot_analysis_free(&a);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tr->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char one = 1;
    /* the pipe is empty but for this byte: a full pipe cannot happen */
    while (write(tr->notify_fd, &one, 1) < 0 && errno == EINTR) {
    }
    return NULL;
}

int trace_roots_start(trace_roots *tr, const char *path, int notify_fd)
{
    if (tr->running) return -1;
    snprintf(tr->path, sizeof tr->path, "%s", path);
    tr->notify_fd = notify_fd;
    tr->roots = NULL;
    tr->nroots = 0;
    int rc = pthread_create(&tr->thread, NULL, analyse, tr);
    if (rc != 0) {
        snprintf(tr->msg, sizeof tr->msg, "cannot start the analysis: %s", strerror(rc));
        return -1;
    }
    tr->running = true;
    return 0;
}

int trace_roots_finish(trace_roots *tr, tv_root **roots, size_t *n, uint32_t *cycle)
{
    if (!tr->running) return -1;
    pthread_join(tr->thread, NULL);
    tr->running = false;
    if (tr->rc) return -1;
    *roots = tr->roots;
    *n = tr->nroots;
    *cycle = tr->cycle;
    tr->roots = NULL;
    return 0;
}
