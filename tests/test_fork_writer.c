/*
 * tests/test_fork_writer.c -- a snapshot's forked writer never leaves
 * mrc_write_snapshot waiting for ever.
 *
 * usage: test_fork_writer DIR start | stuck
 *
 * start: the threads the runtime and the collector start (mark helpers,
 * background sweeper, the collector's threads) are past their start-up
 * when the call that started them returns. A new thread's start-up runs
 * the C library's and a sanitizer's code before its own, and that code
 * allocates (glibc's pthread_getattr_np, which AddressSanitizer calls
 * there, reallocs). A writer forked while it does -- the first snapshot
 * may be due milliseconds later, and a loaded machine delays a new
 * thread's first run by as much -- copies an allocator lock held for good
 * in a build whose allocator fork does not lock, and waits for ever at its
 * first allocation of that size. So every such start is its creator's
 * time. This program defines pthread_create (it comes first in the symbol
 * search, before the C library's and a sanitizer's interceptor, which it
 * calls): every thread made in the process gets a slow start-up, START_MS
 * of sleep before its function runs, as a loaded machine gives. Run with
 * MAPROOT_PROFILE and MAPROOT_PROFILE_EVERY set (the collector starts its
 * profile writer at load) and MR_GC_THREADS=3 (two mark helpers). Checked:
 * every thread made so far has started (a) when main begins (the
 * collector's constructor made its threads and initialized the runtime),
 * (b) once the runtime is surely initialized, (c) after a collection (the
 * sweeper); and a snapshot written by a forked writer right after is
 * written.
 *
 * stuck: with MAPROOT_SNAPSHOT_FORK=stop (every writer stops itself, as
 * one stuck on a lock would) and MAPROOT_WRITER_STALL=1, the writer is
 * killed after its second without progress and the snapshot is written
 * with the world stopped: mrc_write_snapshot returns 0, the file is there.
 */
#include "check.h"
#include "maproot/collector.h"
#include "maproot/rt.h"
#include "rt/mark.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { START_MS = 300 };

static atomic_int created, started;

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/* A sanitizer's interceptor, where the build has one (it registers the
 * thread with the sanitizer, then calls the C library's). */
extern create_fn __interceptor_pthread_create __attribute__((weak));

typedef struct start {
    void *(*fn)(void *);
    void *arg;
} start;

static void *slow_start(void *p)
{
    start s = *(start *)p;
    free(p);
    struct timespec ts = {0, START_MS * 1000000L};
    nanosleep(&ts, NULL);
    atomic_fetch_add(&started, 1);
    return s.fn(s.arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    static create_fn *real;
    if (!real) real = __interceptor_pthread_create;
    if (!real) real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
    start *s = malloc(sizeof *s);
    if (!s || !real) abort();
    *s = (start){fn, arg};
    atomic_fetch_add(&created, 1);
    int rc = real(t, attr, slow_start, s);
    if (rc != 0) {
        atomic_fetch_sub(&created, 1);
        free(s);
    }
    return rc;
}

/* Every thread made so far runs its own code. */
static void check_all_started(const char *when)
{
    int c = atomic_load(&created), s = atomic_load(&started);
    if (c != s) fprintf(stderr, "%s: %d threads made, %d past their start-up\n", when, c, s);
    EXPECT(c == s);
}

/* The "start" case (see the top). */
static void thread_starts(const char *path)
{
    /* the collector's constructor has run: its profile writer (and the
     * agent's thread, where attaching is on) */
    EXPECT(atomic_load(&created) >= 1);
    check_all_started("at main");

    mr_thread_attach();
    EXPECT(mr__mark_workers() == 3);
    EXPECT(mr__mark_helpers_up() == mr__mark_workers() - 1);
    check_all_started("after the runtime's initialization");

    void **keep = mr_new_array(&mr_type_pointer, 4096);
    for (int i = 0; i < 4096; i++) keep[i] = mr_alloc_blob(64);
    mr_gc(); /* the sweeper starts after it */
    check_all_started("after a collection");

    /* a forked writer right after: it must not wait for ever */
    EXPECT(mrc_write_snapshot(path) == 0);
    EXPECT(access(path, R_OK) == 0);
    check_all_started("after the snapshot");
    keep[0] = NULL;
}

/* The "stuck" case (see the top). */
static void stuck_writer(const char *path)
{
    mr_thread_attach();
    void **keep = mr_new_array(&mr_type_pointer, 64);
    for (int i = 0; i < 64; i++) keep[i] = mr_alloc_blob(64);
    EXPECT(mrc_write_snapshot(path) == 0);
    EXPECT(access(path, R_OK) == 0);
    mrc_snapshot_info info;
    EXPECT(mrc_last_snapshot_info(&info) == 0);
    EXPECT(info.mode == 2); /* written with the world stopped */
    keep[0] = NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "start") != 0 && strcmp(argv[2], "stuck") != 0)) {
        fprintf(stderr, "usage: test_fork_writer DIR start | stuck\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/fork_writer_%s.gcstack.gz", argv[1], argv[2]);
    unlink(path);
    if (strcmp(argv[2], "start") == 0)
        thread_starts(path);
    else
        stuck_writer(path);
    EXPECT_EXIT();
}
