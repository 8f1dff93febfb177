/*
 * src/collector/forkguard.c -- see forkguard.h.
 *
 * State under g.lock: busy counts the collector threads at work, forking
 * says a fork is being made (no thread starts work then). A busy thread
 * that waits for the fork never holds anything a fork needs: it has not
 * begun.
 */
#include "collector/forkguard.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GUARD_DEFAULT true
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GUARD_DEFAULT true
#endif
#endif
#ifndef GUARD_DEFAULT
#define GUARD_DEFAULT false
#endif

static struct {
    atomic_bool on;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int busy;
    bool forking;
} g = {GUARD_DEFAULT, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};

/* Each thread's own: whether its busy counted (the guard may be turned on
 * or off between its busy and its idle). */
static _Thread_local bool counted;

bool mrc__fork_guard_on(void)
{
    return atomic_load(&g.on);
}

void mrc__fork_guard_set(bool on)
{
    atomic_store(&g.on, on);
}

void mrc__fork_busy(void)
{
    assert(!counted);
    if (!atomic_load(&g.on)) return;
    pthread_mutex_lock(&g.lock);
    while (g.forking) pthread_cond_wait(&g.changed, &g.lock);
    g.busy++;
    counted = true;
    pthread_mutex_unlock(&g.lock);
}

void mrc__fork_idle(void)
{
    if (!counted) return;
    pthread_mutex_lock(&g.lock);
    assert(g.busy > 0);
    g.busy--;
    counted = false;
    if (g.busy == 0) pthread_cond_broadcast(&g.changed);
    pthread_mutex_unlock(&g.lock);
}

bool mrc__fork_quiet(void)
{
    if (!atomic_load(&g.on)) return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += MRC_FORK_QUIET_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&g.lock);
    assert(!g.forking);
    g.forking = true; /* no thread begins work now: the wait is for those at it */
    int rc = 0;
    while (g.busy > 0 && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&g.changed, &g.lock, &until);
    bool quiet = g.busy == 0;
    if (!quiet) {
        g.forking = false;
        pthread_cond_broadcast(&g.changed);
    }
    pthread_mutex_unlock(&g.lock);
    return quiet;
}

void mrc__fork_done(void)
{
    pthread_mutex_lock(&g.lock);
    g.forking = false;
    pthread_cond_broadcast(&g.changed);
    pthread_mutex_unlock(&g.lock);
}
