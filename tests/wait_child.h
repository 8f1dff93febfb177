/*
 * tests/wait_child.h -- waiting for a child process of a test, bounded: a
 * child that hangs (a lock its copy holds for ever, a runtime that
 * deadlocks in children of threaded programs) is reported in seconds with
 * what it was doing -- its state and the call it sleeps in, and its stacks
 * where gdb is installed -- then killed, instead of holding the test until
 * its time limit says only "timeout".
 */
#ifndef MR_TEST_WAIT_CHILD_H
#define MR_TEST_WAIT_CHILD_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Prints /proc/PID/NAME (its first line) to stderr, labelled. */
static void wait_child_show_proc(pid_t pid, const char *name)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
    FILE *f = fopen(path, "re");
    if (!f) return;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        fprintf(stderr, "  %s: %s\n", name, line);
    }
    fclose(f);
}

/* What a hung child is doing: its /proc state, and its threads' stacks
 * when gdb is there to read them (bounded too). */
static void wait_child_describe(pid_t pid)
{
    wait_child_show_proc(pid, "stat");
    wait_child_show_proc(pid, "wchan");
    wait_child_show_proc(pid, "syscall");
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "command -v gdb >/dev/null && timeout 60 gdb -p %ld -batch -nx "
             "-ex 'thread apply all bt' </dev/null 2>&1 | grep -E '^(Thread|#)' | head -80 >&2",
             (long)pid);
    fflush(stderr);
    if (system(cmd) == -1) fprintf(stderr, "  (no stacks: cannot run a shell)\n");
}

/* Sleeps until pid (a child) has ended or ms passed, whichever is first:
 * on a descriptor of the process where the kernel has them, else in short
 * naps. */
static void wait_child_nap(pid_t pid, int ms)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        struct pollfd p = {fd, POLLIN, 0};
        (void)poll(&p, 1, ms);
        close(fd);
        return;
    }
#endif
    (void)pid;
    struct timespec ts = {0, 2 * 1000 * 1000};
    if (ms < 2) ts.tv_nsec = (long)ms * 1000 * 1000;
    nanosleep(&ts, NULL);
}

/*
 * Waits up to limit_s seconds for child pid to end, its status in *status.
 * Returns true when it ended; false when it did not: then it has been
 * described on stderr (what names it), killed and reaped.
 *
 * The caller may be in a blocking section of the runtime, whose frame a
 * collection on another thread scans meanwhile: *status must then not be
 * on that frame (a global will do), and this function is never inlined,
 * so that its own locals (the clocks, the poll) are written below the
 * scanned part of the stack, not in the caller's frame.
 */
__attribute__((unused, noinline)) static bool wait_child(pid_t pid, int *status, int limit_s,
                                                         const char *what)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid) return true;
        if (w < 0 && errno != EINTR) {
            fprintf(stderr, "waitpid(%ld) for %s: %s\n", (long)pid, what, strerror(errno));
            return false;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited_ms >= (long)limit_s * 1000) break;
        long left = (long)limit_s * 1000 - waited_ms;
        wait_child_nap(pid, left < 100 ? (int)left : 100);
    }
    fprintf(stderr, "%s: child %ld has not ended after %d s; what it is doing:\n", what,
            (long)pid, limit_s);
    wait_child_describe(pid);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
    return false;
}

#endif
