/*
 * tests/fault_shim.c -- an LD_PRELOAD library that makes the N-th call of
 * one system function fail, so that the suite can check how maproot and
 * the collector behave at every fault: the program goes on (or the CLI
 * exits 2), one clear line, no file under its final name unless complete,
 * no temporary file left.
 *
 *   MAPROOT_FAULT=FN:N       fail the N-th call of FN (write, writev, fsync,
 *                            rename, linkat, fork, malloc) with the errno
 *                            it would give on a full disk or without memory;
 *                            N = 0 only counts
 *   MAPROOT_FAULT_CHILD=1    count (and fail) only in forked children: the
 *                            collector's snapshot writer, not the program
 *   MAPROOT_FAULT_COUNT=FILE at exit, write how many calls of FN were made
 *   MAPROOT_FAULT_STDOUT=1   write and writev to standard output count (and
 *                            fail) too; without it only other descriptors'
 *
 * Only for tests: it is built with the suite and never installed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);

static char fn_name[16];
static long fail_at = -1, calls;
static bool child_only, in_child, ready, with_stdout;

__attribute__((constructor)) static void shim_init(void)
{
    const char *f = getenv("MAPROOT_FAULT");
    if (!f) return;
    const char *colon = strchr(f, ':');
    if (!colon || (size_t)(colon - f) >= sizeof fn_name) return;
    memcpy(fn_name, f, (size_t)(colon - f));
    fail_at = atol(colon + 1);
    const char *c = getenv("MAPROOT_FAULT_CHILD");
    child_only = c && *c == '1';
    const char *so = getenv("MAPROOT_FAULT_STDOUT");
    with_stdout = so && *so == '1';
    ready = true;
}

/* Writes the count to MAPROOT_FAULT_COUNT (at exit; in a forked child,
 * which leaves by _exit, at every call). */
static void save_count(void)
{
    const char *out = getenv("MAPROOT_FAULT_COUNT");
    if (!ready || !out) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", calls);
    int fd = (int)syscall(SYS_openat, AT_FDCWD, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (syscall(SYS_write, fd, buf, (size_t)n) < 0) { /* nothing to do */
        }
        syscall(SYS_close, fd);
    }
}

__attribute__((destructor)) static void shim_fini(void)
{
    if (!child_only) save_count();
}

/* Should this call of fn fail? Counts it. */
static bool hit(const char *fn)
{
    if (!ready || strcmp(fn, fn_name) != 0 || (child_only && !in_child)) return false;
    ++calls;
    if (child_only && fail_at == 0) save_count();
    return calls == fail_at;
}

#define REAL(ret, name, args) static ret(*real_##name) args

ssize_t write(int fd, const void *p, size_t n)
{
    REAL(ssize_t, write, (int, const void *, size_t));
    if (!real_write) real_write = dlsym(RTLD_NEXT, "write");
    if ((fd > 2 || (fd == 1 && with_stdout)) && hit("write")) return errno = ENOSPC, -1;
    return real_write(fd, p, n);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    REAL(ssize_t, writev, (int, const struct iovec *, int));
    if (!real_writev) real_writev = dlsym(RTLD_NEXT, "writev");
    if ((fd > 2 || (fd == 1 && with_stdout)) && hit("writev")) return errno = ENOSPC, -1;
    return real_writev(fd, iov, n);
}

int fsync(int fd)
{
    REAL(int, fsync, (int));
    if (!real_fsync) real_fsync = dlsym(RTLD_NEXT, "fsync");
    if (hit("fsync")) return errno = EIO, -1;
    return real_fsync(fd);
}

int rename(const char *a, const char *b)
{
    REAL(int, rename, (const char *, const char *));
    if (!real_rename) real_rename = dlsym(RTLD_NEXT, "rename");
    if (hit("rename")) return errno = ENOSPC, -1;
    return real_rename(a, b);
}

int linkat(int d1, const char *a, int d2, const char *b, int flags)
{
    REAL(int, linkat, (int, const char *, int, const char *, int));
    if (!real_linkat) real_linkat = dlsym(RTLD_NEXT, "linkat");
    if (hit("linkat")) return errno = ENOSPC, -1;
    return real_linkat(d1, a, d2, b, flags);
}

pid_t fork(void)
{
    REAL(pid_t, fork, (void));
    if (!real_fork) real_fork = dlsym(RTLD_NEXT, "fork");
    if (hit("fork")) return errno = EAGAIN, -1;
    pid_t p = real_fork();
    if (p == 0) in_child = true;
    return p;
}

void *malloc(size_t n)
{
    if (hit("malloc")) return errno = ENOMEM, NULL;
    return __libc_malloc(n);
}
