/*
 * tests/lockorder.h -- a lock of ours against the dynamic linker's.
 *
 * dl_iterate_phdr holds the dynamic linker's lock of the module list while
 * its callback runs, and a program may call into us from its own callback.
 * So a walk of the modules must never run under a lock of ours: a thread
 * inside its callback (the linker's lock, then ours) and one walking under
 * ours (ours, then the linker's) would wait for each other for ever.
 *
 * lockorder_run has one thread call `inside` from a dl_iterate_phdr
 * callback (once per module) and another call `outside` (which walks the
 * modules) over and over, while the calling thread loads and unloads two
 * libraries, waiting after each step until both threads have gone on. A
 * hang is the failure, caught by the test's timeout (no timer here). No
 * heap sampling: libunwind keeps a lock of its own across dl_iterate_phdr
 * (libmaproot(3)), which is not what this checks.
 */
#ifndef MR_TEST_LOCKORDER_H
#define MR_TEST_LOCKORDER_H

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct lockorder {
    void (*inside)(void);  /* takes our lock; run inside a callback */
    void (*outside)(void); /* walks the modules as our code does */
    const char *lib_a, *lib_b;
    int rounds;
    atomic_bool stop;
    atomic_long walks, calls; /* progress of the two threads */
    bool failed;              /* a library did not load */
} lockorder;

static int lockorder_callback_(struct dl_phdr_info *info, size_t size, void *ud)
{
    (void)info;
    (void)size;
    ((lockorder *)ud)->inside();
    return 0;
}

static void *lockorder_walker_(void *arg)
{
    lockorder *lo = arg;
    while (!atomic_load(&lo->stop)) {
        dl_iterate_phdr(lockorder_callback_, lo);
        atomic_fetch_add(&lo->walks, 1);
    }
    return NULL;
}

static void *lockorder_caller_(void *arg)
{
    lockorder *lo = arg;
    while (!atomic_load(&lo->stop)) {
        lo->outside();
        atomic_fetch_add(&lo->calls, 1);
    }
    return NULL;
}

/* Waits until both threads have gone on by two steps each (each then saw
 * the modules as they are now). */
static void lockorder_both_go_on_(lockorder *lo)
{
    long w = atomic_load(&lo->walks), c = atomic_load(&lo->calls);
    while (atomic_load(&lo->walks) < w + 2 || atomic_load(&lo->calls) < c + 2) sched_yield();
}

/* Runs the two threads through lo->rounds loads and unloads; returns
 * false if a library did not load or a thread did not start. */
static bool lockorder_run(lockorder *lo)
{
    atomic_store(&lo->stop, false);
    pthread_t w, c;
    if (pthread_create(&w, NULL, lockorder_walker_, lo) != 0) return false;
    if (pthread_create(&c, NULL, lockorder_caller_, lo) != 0) {
        atomic_store(&lo->stop, true);
        pthread_join(w, NULL);
        return false;
    }
    for (int r = 0; r < lo->rounds && !lo->failed; r++) {
        void *h = dlopen(r % 2 ? lo->lib_a : lo->lib_b, RTLD_NOW);
        if (!h) {
            fprintf(stderr, "lockorder: %s\n", dlerror());
            lo->failed = true;
            break;
        }
        lockorder_both_go_on_(lo);
        dlclose(h);
        lockorder_both_go_on_(lo);
    }
    atomic_store(&lo->stop, true);
    pthread_join(w, NULL);
    pthread_join(c, NULL);
    return !lo->failed;
}

#endif
