/*
 * tests/dies_with.h -- checking that misuse stops the program with a
 * message: the call runs in a child process, whose standard error is read.
 */
#ifndef MR_TEST_DIES_WITH_H
#define MR_TEST_DIES_WITH_H

#include "wait_child.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long the child may take to die: a bound for a failure (a child that
 * hangs instead) only, however loaded the machine. */
enum { DIES_WITH_LIMIT_S = 60 };

/* Runs fn in a child process; returns true if it died with `message` on stderr. */
__attribute__((unused)) static bool dies_with(void (*fn)(void), const char *message)
{
    int fds[2];
    if (pipe(fds) != 0) return false;
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    char buf[1024];
    size_t len = 0;
    ssize_t r;
    /* its stderr until it closes (the child ended), for at most the limit */
    time_t end = time(NULL) + DIES_WITH_LIMIT_S;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            r = read(fds[0], buf + len, sizeof buf - 1 - len);
            if (r <= 0) break;
            len += (size_t)r;
        }
        if (time(NULL) > end || len == sizeof buf - 1) break;
    }
    buf[len] = 0;
    close(fds[0]);
    int status = 0;
    if (!wait_child(pid, &status, DIES_WITH_LIMIT_S, message)) return false;
    bool died = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!died || !strstr(buf, message)) fprintf(stderr, "child said: %s\n", buf);
    return died && strstr(buf, message) != NULL;
}

#endif
