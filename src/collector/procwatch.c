/*
 * src/collector/procwatch.c -- what another process of ours is doing, from
 * /proc: see procwatch.h.
 */
#include "collector/procwatch.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

/* Reads /proc/PID/NAME into buf (NUL-terminated); false if it cannot. */
static bool read_proc_file(pid_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, name);
    FILE *f = fopen(path, "re");
    if (!f) return false;
    size_t n = fread(buf, 1, cap - 1, f);
    bool ok = !ferror(f) && n > 0;
    fclose(f);
    buf[n] = 0;
    return ok;
}

/* Calls that wait on a futex: a lock or a condition. */
static bool is_futex_call(long nr)
{
    if (nr == SYS_futex) return true;
#ifdef SYS_futex_waitv
    if (nr == SYS_futex_waitv) return true;
#endif
    return false;
}

/* Calls that move data to or from a file or pipe, or open, close, rename or
 * sync one: a process asleep in one waits for a device, a file system or
 * the other end of a pipe, all of which move on by themselves. */
static bool is_io_call(long nr)
{
    static const long calls[] = {
        SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_preadv,
        SYS_pwritev, SYS_fsync, SYS_fdatasync, SYS_sync_file_range, SYS_ftruncate,
        SYS_fallocate, SYS_sendfile, SYS_splice, SYS_tee, SYS_openat, SYS_close,
        SYS_renameat, SYS_unlinkat,
#ifdef SYS_preadv2
        SYS_preadv2, SYS_pwritev2,
#endif
#ifdef SYS_copy_file_range
        SYS_copy_file_range,
#endif
#ifdef SYS_renameat2
        SYS_renameat2,
#endif
#ifdef SYS_open
        SYS_open, SYS_rename, SYS_unlink,
#endif
    };
    for (size_t i = 0; i < sizeof calls / sizeof *calls; i++)
        if (calls[i] == nr) return true;
    return false;
}

/* What a sleeping (state S) process waits for: from the number of the call
 * it sleeps in, else from the kernel function it sleeps in. */
static mrc_proc_wait sleeping_wait(pid_t pid)
{
    char buf[256];
    long nr;
    if (read_proc_file(pid, "syscall", buf, sizeof buf) && sscanf(buf, "%ld", &nr) == 1 &&
        nr >= 0) {
        if (is_futex_call(nr)) return MRC_PROC_LOCK;
        return is_io_call(nr) ? MRC_PROC_IO : MRC_PROC_ASLEEP;
    }
    /* no call named ("-1": asleep outside one, or the file is not ours to
     * read): the kernel function, where it is shown ("0" where not) */
    if (!read_proc_file(pid, "wchan", buf, sizeof buf)) return MRC_PROC_ASLEEP;
    if (strstr(buf, "futex")) return MRC_PROC_LOCK;
    if (strstr(buf, "pipe") || strstr(buf, "write") || strstr(buf, "read") ||
        strstr(buf, "fsync"))
        return MRC_PROC_IO;
    return MRC_PROC_ASLEEP;
}

void mrc__proc_sample(pid_t pid, mrc_proc_sample *s)
{
    char buf[1024];
    s->progress = 0;
    s->wait = MRC_PROC_GONE;
    if (!read_proc_file(pid, "stat", buf, sizeof buf)) return;
    /* after the command's ")": the state (field 3 of proc(5)), then fields
     * 4 to 13, then utime and stime */
    const char *p = strrchr(buf, ')');
    char state = 0;
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &state, &ut,
                     &st) != 3)
        return;
    s->progress = ut + st;
    switch (state) {
    case 'R': s->wait = MRC_PROC_RUNNABLE; break;
    case 'D': s->wait = MRC_PROC_IO; break;
    case 'T':
    case 't': s->wait = MRC_PROC_STOPPED; break;
    case 'S': s->wait = sleeping_wait(pid); break;
    case 'Z':
    case 'X': s->wait = MRC_PROC_GONE; break;
    default: s->wait = MRC_PROC_ASLEEP; break; /* (I, P, W: not of a user process) */
    }
    if (read_proc_file(pid, "io", buf, sizeof buf)) {
        const char *w = strstr(buf, "wchar:");
        unsigned long long n;
        if (w && sscanf(w, "wchar: %llu", &n) == 1) s->progress += n;
    }
}

bool mrc__proc_waits_its_turn(mrc_proc_wait w)
{
    return w == MRC_PROC_RUNNABLE || w == MRC_PROC_IO;
}

const char *mrc__proc_wait_name(mrc_proc_wait w)
{
    switch (w) {
    case MRC_PROC_GONE: return "gone";
    case MRC_PROC_RUNNABLE: return "runnable";
    case MRC_PROC_IO: return "in I/O";
    case MRC_PROC_LOCK: return "asleep on a lock";
    case MRC_PROC_STOPPED: return "stopped";
    case MRC_PROC_ASLEEP: return "asleep";
    }
    return "?";
}
