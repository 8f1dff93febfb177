/* src/cli/attach.c -- see attach.h. */
#include "cli/attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ERR(...) snprintf(msg, cap, __VA_ARGS__)

/* -------------------------------------------------------- endpoints --- */

static int by_pid(const void *a, const void *b)
{
    const cli_endpoint *x = a, *y = b;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * The listening sockets of /proc/net/unix named maproot-PID.sock: a line
 * is "Num RefCount Protocol Flags Type St Inode Path"; a listening socket
 * has the accept flag (0x10000) in Flags. Each path once.
 */
static int listening(cli_endpoint **out, size_t *n, char *msg, size_t cap)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen("/proc/net/unix", "re");
    if (!f) {
        ERR("cannot read /proc/net/unix: %s", strerror(errno));
        return -1;
    }
    char line[1024];
    size_t cap_eps = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long flags;
        int off = 0;
        if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags, &off) != 1 || !off) continue;
        if (!(flags & 0x10000)) continue;
        char *path = line + off;
        path[strcspn(path, "\n")] = 0;
        pid_t pid = mf_at_endpoint_pid(path);
        if (!pid || path[0] != '/' || strlen(path) >= MF_AT_PATH_MAX) continue;
        bool seen = false;
        for (size_t i = 0; i < *n && !seen; i++) seen = strcmp((*out)[i].path, path) == 0;
        if (seen) continue;
        if (*n == cap_eps) {
            cap_eps = cap_eps ? cap_eps * 2 : 16;
            cli_endpoint *v = realloc(*out, cap_eps * sizeof *v);
            if (!v) {
                fclose(f);
                free(*out);
                *out = NULL;
                ERR("out of memory");
                return -1;
            }
            *out = v;
        }
        (*out)[*n].pid = pid;
        snprintf((*out)[*n].path, sizeof(*out)[*n].path, "%s", path);
        (*n)++;
    }
    fclose(f);
    return 0;
}

/*
 * Has process pid ended: no such process, or a zombie (killed, not yet
 * waited for)? Either way its agent serves nobody any more, even if a
 * child it forked still holds its listening socket open.
 */
static bool process_gone(pid_t pid)
{
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    const char *st = strrchr(buf, ')'); /* the name may hold ')' */
    return st && st[1] == ' ' && (st[2] == 'Z' || st[2] == 'X');
}

int cli_at_list(cli_endpoint **out, size_t *n, char *msg, size_t cap)
{
    if (listening(out, n, msg, cap)) return -1;
    uid_t me = geteuid();
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        struct stat st;
        if (lstat((*out)[i].path, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        if (me != 0 && st.st_uid != me) continue;
        if (process_gone((*out)[i].pid)) continue; /* a child of it holds the socket */
        (*out)[k++] = (*out)[i];
    }
    *n = k;
    qsort(*out, *n, sizeof **out, by_pid);
    return 0;
}

/*
 * Is nobody listening on the socket file at path, made by live process
 * pid (its pid may be someone else's now)? A socket made after
 * /proc/net/unix was read is live, hence the check of the file itself; and
 * one bound but not yet listening refuses connections too: a socket
 * younger than the process that has its pid is being set up, not stale.
 * (btime is whole seconds: a second of slack.)
 */
static bool stale(const char *path, const struct stat *st, pid_t pid)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path) return false; /* no agent made that */
    memcpy(sa.sun_path, path, n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool refused = connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno == ECONNREFUSED;
    close(fd);
    int64_t made = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    int64_t started = mf_at_process_start_ns(pid);
    return refused && started && made < started - 1000000000;
}

size_t cli_at_clean_stale(void)
{
    cli_endpoint *live = NULL;
    size_t nlive = 0;
    char msg[256];
    if (listening(&live, &nlive, msg, sizeof msg)) return 0;
    mf_at_dirs dirs;
    mf_at_endpoint_dirs(geteuid(), &dirs);
    size_t removed = 0;
    for (size_t d = 0; d < dirs.n; d++) {
        mf_error err;
        if (mf_at_endpoint_dir_check(dirs.dir[d], geteuid(), false, &err)) continue;
        DIR *dir = opendir(dirs.dir[d]);
        struct dirent *e;
        while (dir && (e = readdir(dir))) {
            pid_t pid = mf_at_endpoint_pid(e->d_name);
            if (!pid) continue;
            char path[MF_AT_PATH_MAX + 256];
            snprintf(path, sizeof path, "%s/%s", dirs.dir[d], e->d_name);
            bool is_live = false;
            for (size_t i = 0; i < nlive && !is_live; i++)
                is_live = strcmp(live[i].path, path) == 0;
            /* a socket still listed as listening is stale all the same
             * when its process has ended: a child of the program (one it
             * forked, that did not close the socket) holds it open */
            struct stat st;
            if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
                continue;
            if (!process_gone(pid) && (is_live || !stale(path, &st, pid))) continue;
            if (unlink(path) == 0) removed++;
        }
        if (dir) closedir(dir);
    }
    free(live);
    return removed;
}

/* The name of process pid (its comm), or "" */
static void comm_of(pid_t pid, char *out, size_t cap)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/comm", (long)pid);
    out[0] = 0;
    FILE *f = fopen(p, "re");
    if (f && fgets(out, (int)cap, f)) out[strcspn(out, "\n")] = 0;
    if (f) fclose(f);
}

/* Does process pid's environment set NAME=VALUE? (false when unreadable) */
static bool env_has(pid_t pid, const char *entry)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/environ", (long)pid);
    FILE *f = fopen(p, "re");
    if (!f) return false;
    char buf[8192];
    size_t n, len = strlen(entry);
    bool found = false;
    /* entries are NUL-separated; one that straddles two reads is missed,
     * which only makes the message less specific */
    while (!found && (n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i + len <= n && !found; i++)
            found = (i == 0 || buf[i - 1] == 0) && memcmp(buf + i, entry, len) == 0 &&
                    (i + len == n || buf[i + len] == 0);
    fclose(f);
    return found;
}

/* Does process pid map a file whose name contains what? */
static bool maps_library(pid_t pid, const char *what)
{
    char p[64], line[1024];
    snprintf(p, sizeof p, "/proc/%ld/maps", (long)pid);
    FILE *f = fopen(p, "re");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, what) != NULL;
    if (f) fclose(f);
    return found;
}

int cli_at_find(pid_t pid, cli_endpoint *out, char *msg, size_t cap)
{
    if (pid <= 0 || process_gone(pid)) {
        ERR("no process %ld", (long)pid);
        return -1;
    }
    cli_endpoint *eps;
    size_t n;
    if (listening(&eps, &n, msg, cap)) return -1;
    for (size_t i = 0; i < n; i++)
        if (eps[i].pid == pid) {
            *out = eps[i];
            free(eps);
            return 0;
        }
    free(eps);
    char comm[64];
    comm_of(pid, comm, sizeof comm);
    if (env_has(pid, "MAPROOT_ATTACH=0")) {
        ERR("process %ld (%s) runs with MAPROOT_ATTACH=0: its collector opened no endpoint; "
            "restart it without that to attach",
            (long)pid, comm);
    } else if (maps_library(pid, "libmaprt.so") && !maps_library(pid, "libmaproot.so")) {
        ERR("process %ld (%s) runs on libmaprt without the collector, so it cannot be attached "
            "to: link it with -lmaproot, or start it with LD_PRELOAD=libmaproot.so.0 "
            "(maproot trace -- PROG does that)",
            (long)pid, comm);
    } else {
        ERR("process %ld (%s) has no maproot endpoint: it does not link libmaproot (link it with "
            "-lmaproot, or start it with LD_PRELOAD=libmaproot.so.0 if it links libmaprt "
            "dynamically), or its collector could not open one (see its standard error)",
            (long)pid, comm);
    }
    return -1;
}

bool cli_at_ended(const cli_endpoint *e)
{
    if (process_gone(e->pid)) return true;
    cli_endpoint *eps;
    size_t n;
    char msg[256];
    if (listening(&eps, &n, msg, sizeof msg)) return false;
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) found = strcmp(eps[i].path, e->path) == 0;
    free(eps);
    return !found;
}

/* ------------------------------------------------------- connection --- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_at_connect(cli_attach *a, const cli_endpoint *e, const char *client, int timeout_ms,
                   char *msg, size_t cap)
{
    memset(a, 0, sizeof *a);
    a->pid = e->pid;
    a->next_id = 1;
    a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->fd < 0) {
        ERR("cannot make a socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", e->path);
    if (connect(a->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int er = errno;
        struct stat st;
        if (er == EACCES && stat(e->path, &st) == 0)
            ERR("cannot connect to %s: %s (the program runs as uid %lu: attach as that user or "
                "as root)",
                e->path, strerror(er), (unsigned long)st.st_uid);
        else
            ERR("cannot connect to %s: %s", e->path, strerror(er));
        cli_at_close(a);
        return -1;
    }
    /* the process listening must be the one asked for */
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(a->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || cr.pid != e->pid) {
        ERR("%s is not served by process %ld", e->path, (long)e->pid);
        cli_at_close(a);
        return -1;
    }
    mf_at_frame h = {.kind = MF_AT_HELLO, .hello = {MF_AT_VERSION, client}};
    /* a refusal may be waiting already (an agent that serves enough
     * clients says so and closes): the hello then cannot be sent, and the
     * refusal is the answer */
    bool sent = cli_at_send(a, &h, NULL, 0, msg, cap) != 0;
    if (!sent && errno != EPIPE && errno != ECONNRESET) {
        cli_at_close(a);
        return -1;
    }
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        mf_at_frame f;
        bool eof = false;
        int left = (int)(deadline - now_ms());
        int r = cli_at_next(a, &f, left > 0 ? left : 0, &eof, msg, cap);
        if (r == 1 && f.kind == MF_AT_WELCOME) {
            a->welcome = f;
            return 0;
        }
        if (r == 1 && f.kind == MF_AT_REPLY && !f.reply.ok) {
            ERR("process %ld refused: %s", (long)e->pid, f.reply.message);
            mf_at_frame_free(&f);
        } else if (r == 1) {
            mf_at_frame_free(&f);
            continue; /* an event before the welcome cannot come; skip it */
        } else if (r == 0) {
            ERR("process %ld did not answer within %d ms", (long)e->pid, timeout_ms);
        } else if (eof) {
            ERR("process %ld closed the connection before saying hello (its agent serves only "
                "its own user and root; see the program's standard error)",
                (long)e->pid);
        }
        cli_at_close(a);
        return -1;
    }
}

void cli_at_close(cli_attach *a)
{
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    free(a->in);
    a->in = NULL;
    a->in_len = a->in_cap = 0;
    mf_at_frame_free(&a->welcome);
}

uint64_t cli_at_send(cli_attach *a, mf_at_frame *f, const int *fds, size_t nfds, char *msg,
                     size_t cap)
{
    f->request_id = a->next_id++;
    mf_buf b = {0};
    mf_error err;
    if (mf_at_encode(f, &b, &err) != 0) {
        ERR("%s", err.msg);
        return 0;
    }
    size_t off = 0;
    bool fds_sent = nfds == 0;
    while (off < b.len) {
        struct iovec iov = {b.data + off, b.len - off};
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * 4)];
        } ctl;
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        if (!fds_sent) {
            if (nfds > 4) nfds = 4;
            memset(&ctl, 0, sizeof ctl);
            m.msg_control = ctl.buf;
            m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
            struct cmsghdr *h = CMSG_FIRSTHDR(&m);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
            memcpy(CMSG_DATA(h), fds, sizeof(int) * nfds);
        }
        ssize_t k = sendmsg(a->fd, &m, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EPIPE;
            ERR("cannot send to process %ld: %s", (long)a->pid, strerror(e));
            mf_buf_free(&b);
            errno = e;
            return 0;
        }
        fds_sent = true;
        off += (size_t)k;
    }
    mf_buf_free(&b);
    return f->request_id;
}

int cli_at_next(cli_attach *a, mf_at_frame *f, int timeout_ms, bool *eof, char *msg, size_t cap)
{
    *eof = false;
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        uint32_t len;
        mf_error err;
        int r = mf_at_frame_len(a->in, a->in_len, MF_AT_FROM_AGENT, &len, &err);
        if (r < 0) {
            ERR("process %ld: %s", (long)a->pid, err.msg);
            return -1;
        }
        if (r == 0 && a->in_len >= 4 + (size_t)len) {
            int rc = mf_at_decode(a->in + 4, len, MF_AT_FROM_AGENT, f, &err);
            memmove(a->in, a->in + 4 + len, a->in_len - 4 - len);
            a->in_len -= 4 + (size_t)len;
            if (rc) {
                mf_at_frame_free(f);
                ERR("process %ld: %s", (long)a->pid, err.msg);
                return -1;
            }
            return 1;
        }
        if (a->fd < 0) {
            *eof = true;
            ERR("the connection to process %ld is closed", (long)a->pid);
            return -1;
        }
        int wait = 0;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            wait = left > 0 ? (int)left : 0;
        } else {
            wait = -1;
        }
        struct pollfd p = {a->fd, POLLIN, 0};
        int pr = poll(&p, 1, wait);
        if (pr < 0 && errno == EINTR) return 0;
        if (pr == 0) return 0;
        if (a->in_cap - a->in_len < 65536) {
            size_t ncap = a->in_cap ? a->in_cap * 2 : 131072;
            uint8_t *v = realloc(a->in, ncap);
            if (!v) {
                ERR("out of memory");
                return -1;
            }
            a->in = v;
            a->in_cap = ncap;
        }
        ssize_t k = recv(a->fd, a->in + a->in_len, a->in_cap - a->in_len, MSG_DONTWAIT);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (k <= 0) {
            *eof = true;
            if (k < 0)
                ERR("reading from process %ld: %s", (long)a->pid, strerror(errno));
            else
                ERR("process %ld closed the connection", (long)a->pid);
            close(a->fd);
            a->fd = -1;
            if (a->in_len) continue; /* frames that came before the end */
            return -1;
        }
        a->in_len += (size_t)k;
        if (deadline >= 0 && now_ms() >= deadline && timeout_ms == 0) continue;
    }
}
