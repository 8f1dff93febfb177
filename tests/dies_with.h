/*
 * tests/dies_with.h -- checking that misuse stops the program with a
 * message: the call runs in a child process, whose standard error is read.
 */
#ifndef MR_TEST_DIES_WITH_H
#define MR_TEST_DIES_WITH_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
    while ((r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)r;
    buf[len] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    bool died = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!died || !strstr(buf, message)) fprintf(stderr, "child said: %s\n", buf);
    return died && strstr(buf, message) != NULL;
}

#endif
