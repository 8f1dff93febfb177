/*
 * tests/test_forkguard.c -- the fork guard (src/collector/forkguard.h):
 * a fork waits for the collector's busy threads, at most MRC_FORK_QUIET_MS,
 * and says so when one stays busy; a thread does not begin work while a
 * fork is being made; with the guard off nothing waits.
 */
#include "check.h"
#include "collector/forkguard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static atomic_int stage; /* the worker's progress: 1 busy, 2 idle again */
static atomic_bool release;

/* Busy until told to stop. */
static void *busy_worker(void *arg)
{
    (void)arg;
    mrc__fork_busy();
    atomic_store(&stage, 1);
    while (!atomic_load(&release)) sleep_ms(1);
    mrc__fork_idle();
    atomic_store(&stage, 2);
    return NULL;
}

/* Begins work (which must wait while a fork is being made), then stops. */
static void *late_worker(void *arg)
{
    (void)arg;
    atomic_store(&stage, 1);
    mrc__fork_busy();
    atomic_store(&stage, 2);
    mrc__fork_idle();
    return NULL;
}

int main(void)
{
    mrc__fork_guard_set(true);

    /* nobody busy: quiet at once */
    uint64_t t0 = now_ms();
    EXPECT(mrc__fork_quiet());
    mrc__fork_done();
    EXPECT(now_ms() - t0 < 1000);

    /* a thread that stays busy: the fork gives up after its bounded wait,
     * and a thread blocked by that attempt is not left waiting */
    pthread_t t;
    atomic_store(&stage, 0);
    atomic_store(&release, false);
    pthread_create(&t, NULL, busy_worker, NULL);
    while (atomic_load(&stage) != 1) sleep_ms(1);
    t0 = now_ms();
    EXPECT(!mrc__fork_quiet());
    uint64_t waited = now_ms() - t0;
    EXPECT(waited >= MRC_FORK_QUIET_MS - 1);
    /* the busy thread finishes: then the fork goes ahead */
    atomic_store(&release, true);
    pthread_join(t, NULL);
    EXPECT(atomic_load(&stage) == 2);
    EXPECT(mrc__fork_quiet());
    mrc__fork_done();

    /* a thread that begins work during a fork waits for its end */
    EXPECT(mrc__fork_quiet());
    atomic_store(&stage, 0);
    pthread_create(&t, NULL, late_worker, NULL);
    while (atomic_load(&stage) < 1) sleep_ms(1);
    sleep_ms(50);
    EXPECT(atomic_load(&stage) == 1); /* still waiting */
    mrc__fork_done();
    pthread_join(t, NULL);
    EXPECT(atomic_load(&stage) == 2);

    /* off: a busy thread does not hold a fork */
    mrc__fork_guard_set(false);
    atomic_store(&stage, 0);
    atomic_store(&release, false);
    pthread_create(&t, NULL, busy_worker, NULL);
    while (atomic_load(&stage) != 1) sleep_ms(1);
    EXPECT(mrc__fork_quiet());
    mrc__fork_done();
    atomic_store(&release, true);
    pthread_join(t, NULL);

    EXPECT_EXIT();
}
