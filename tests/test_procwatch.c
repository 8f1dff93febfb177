/*
 * tests/test_procwatch.c -- what /proc says a process is doing
 * (collector/procwatch.h), on real children: one that computes, one that
 * writes into a full pipe, one forked while another thread held a lock it
 * then takes, one stopped, one asleep, one gone. The agent kills a
 * snapshot writer that neither moves nor waits its turn: the first two
 * wait their turn, the rest do not.
 */
#include "collector/procwatch.h"

#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long a child may take to reach the wait it is made for: a bound for a
 * failure only, however loaded the machine. */
enum { SETTLE_S = 60 };

/* Samples pid until it shows the wait want (true), or SETTLE_S passed
 * (false, *last what it showed last). */
static bool shows(pid_t pid, mrc_proc_wait want, mrc_proc_sample *last)
{
    time_t end = time(NULL) + SETTLE_S;
    for (;;) {
        mrc__proc_sample(pid, last);
        if (last->wait == want) return true;
        if (time(NULL) > end) return false;
        usleep(10000);
    }
}

/* Ends and reaps a child of a case. */
static void end_child(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void report(const char *what, const mrc_proc_sample *s)
{
    fprintf(stderr, "  %s: shows %s\n", what, mrc__proc_wait_name(s->wait));
}

static void a_computing_process_is_runnable_and_moves(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        for (volatile unsigned long n = 0;; n++) {}
    mrc_proc_sample a, b;
    bool ok = shows(pid, MRC_PROC_RUNNABLE, &a);
    if (!ok) report("computing child", &a);
    /* it moves: its CPU ticks grow (one tick is 10 ms) */
    time_t end = time(NULL) + SETTLE_S;
    do {
        usleep(50000);
        mrc__proc_sample(pid, &b);
    } while (b.progress == a.progress && time(NULL) <= end);
    end_child(pid);
    CHECK(ok);
    CHECK(mrc__proc_waits_its_turn(a.wait));
    CHECK(b.progress > a.progress);
}

static void a_writer_on_a_full_pipe_waits_its_turn(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        /* at most PIPE_BUF: a write either completes or blocks before its
         * first byte, so a blocked writer has nothing half-counted (with
         * bigger writes, a pipe given one page, as the kernel does when
         * pipes are many, took part of a write and counted it later) */
        static const char block[4096];
        for (;;)
            if (write(fds[1], block, sizeof block) < 0) _exit(1);
    }
    close(fds[1]);
    mrc_proc_sample a, b;
    bool ok = shows(pid, MRC_PROC_IO, &a);
    if (!ok) report("writer on a full pipe", &a);
    /* first seen in I/O, it may still be filling the pipe: from when two
     * samples agree, the pipe is full */
    for (int i = 0; ok && i < 100; i++) {
        mrc_proc_sample c;
        usleep(20000);
        mrc__proc_sample(pid, &c);
        bool settled = c.progress == a.progress && c.wait == MRC_PROC_IO;
        a = c;
        if (settled) break;
    }
    /* blocked, it does not move: only its wait tells it from a stuck one */
    usleep(100000);
    mrc__proc_sample(pid, &b);
    end_child(pid);
    close(fds[0]);
    CHECK(ok);
    CHECK(mrc__proc_waits_its_turn(a.wait));
    CHECK(b.wait == MRC_PROC_IO);
    CHECK_EQ_U64(b.progress, a.progress);
}

/* the lock a thread holds while main forks */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holding, release;

static void *hold_the_lock(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&held);
    atomic_store(&holding, 1);
    while (!atomic_load(&release)) usleep(1000);
    pthread_mutex_unlock(&held);
    return NULL;
}

static void a_child_forked_while_a_lock_was_held_is_asleep_on_it(void)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hold_the_lock, NULL) == 0);
    while (!atomic_load(&holding)) usleep(1000);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(&held); /* its holder is not in this copy */
        _exit(0);
    }
    atomic_store(&release, 1);
    pthread_join(t, NULL);
    CHECK(pid > 0);
    mrc_proc_sample a;
    bool ok = shows(pid, MRC_PROC_LOCK, &a);
    if (!ok) report("child of a held lock", &a);
    end_child(pid);
    CHECK(ok);
    CHECK(!mrc__proc_waits_its_turn(a.wait));
}

/* Forks a child that runs body; true if it comes to show the wait want,
 * which is not one of waiting its turn. */
static bool child_shows_stuck(void (*body)(void), mrc_proc_wait want, const char *what)
{
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        body();
        _exit(0);
    }
    mrc_proc_sample a;
    bool ok = shows(pid, want, &a);
    if (!ok) report(what, &a);
    end_child(pid);
    return ok && !mrc__proc_waits_its_turn(a.wait);
}

static void stop_self(void)
{
    raise(SIGSTOP);
}

static void sleep_in_pause(void)
{
    for (;;) pause();
}

static void a_stopped_process_does_not_wait_its_turn(void)
{
    CHECK(child_shows_stuck(stop_self, MRC_PROC_STOPPED, "stopped child"));
}

static void a_process_asleep_in_pause_does_not_wait_its_turn(void)
{
    CHECK(child_shows_stuck(sleep_in_pause, MRC_PROC_ASLEEP, "child in pause()"));
}

static void a_reaped_process_is_gone(void)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(0);
    CHECK(waitpid(pid, NULL, 0) == pid);
    mrc_proc_sample a;
    mrc__proc_sample(pid, &a);
    CHECK(a.wait == MRC_PROC_GONE);
    CHECK(!mrc__proc_waits_its_turn(a.wait));
}

int main(void)
{
    TEST(a_computing_process_is_runnable_and_moves);
    TEST(a_writer_on_a_full_pipe_waits_its_turn);
    TEST(a_child_forked_while_a_lock_was_held_is_asleep_on_it);
    TEST(a_stopped_process_does_not_wait_its_turn);
    TEST(a_process_asleep_in_pause_does_not_wait_its_turn);
    TEST(a_reaped_process_is_gone);
    TEST_EXIT();
}
