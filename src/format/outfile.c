/* src/format/outfile.c -- see outfile.h. */
#include "format/outfile.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef enum out_kind {
    OUT_REPLACE, /* a temporary file renamed over target at commit */
    OUT_DEVICE,  /* a character device, written straight into */
    OUT_FIFO,    /* a FIFO, opened at the first write */
    OUT_STDOUT,  /* "-" */
} out_kind;

struct mf_out {
    out_kind kind;
    char *path;   /* as given */
    char *target; /* the file replaced or written (symlinks followed) */
    char *temp;   /* OUT_REPLACE: the temporary name (see named) */
    bool named;   /* the temporary file exists under temp (else unnamed) */
    int fd;
    uint64_t bytes;
    bool failed;
    mf_error err;
    FILE *stream;
    /* a file that was replaced keeps these */
    bool had_target;
    struct stat st;
    /* held standard output (mf_out_hold): the first hold_cap bytes in
     * memory (hbuf), all of them in the temporary file hfd once they
     * outgrow it; start: standard output's offset when it was held, -1
     * when it is not a regular file (then it cannot be cut back) */
    bool held;
    uint8_t *hbuf;
    size_t hlen, hsize, hold_cap;
    int hfd;
    off_t start;
};

/* Bytes copied from the held output per write at commit. */
#define HOLD_CHUNK (64 * 1024)

/* Messages call standard output by its name, files by theirs. */
static const char *shown(const mf_out *o)
{
    return o->kind == OUT_STDOUT ? "standard output" : o->path;
}

static int ofail(mf_out *o, const char *what, int e)
{
    if (!o->failed) {
        o->failed = true;
        if (o->bytes)
            mf_error_set(&o->err, "cannot %s %s: %s (at byte %llu)", what, shown(o), strerror(e),
                         (unsigned long long)o->bytes);
        else
            mf_error_set(&o->err, "cannot %s %s: %s", what, shown(o), strerror(e));
    }
    errno = e;
    return -1;
}

/* dir/NAME.tmpXXXXXX for target dir/NAME, with fresh random letters. */
static char *temp_name(const char *target)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = strlen(target);
    char *t = malloc(n + sizeof ".tmpXXXXXX");
    if (!t) return NULL;
    memcpy(t, target, n);
    memcpy(t + n, ".tmp", 4);
    unsigned char r[6];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        /* no entropy yet: the time and pid are enough to avoid our own
         * collisions, and O_EXCL catches the rest */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 12;
        for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005u + 1442695040888963407u)
            r[i] = (unsigned char)(x >> 56);
    }
    for (size_t i = 0; i < 6; i++) t[n + 4 + i] = abc[r[i] % (sizeof abc - 1)];
    t[n + 10] = 0;
    return t;
}

/* The directory part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s) return strdup(".");
    if (s == path) return strdup("/");
    return strndup(path, (size_t)(s - path));
}

/*
 * Follows path through symbolic links to what is finally there. Sets
 * *exists and *st for it. Returns the final path (malloc'd), or NULL with
 * errno set. A loop is ELOOP after 40 links, as the kernel counts.
 */
static char *resolve(const char *path, bool *exists, struct stat *st)
{
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        if (lstat(cur, st) != 0) {
            if (errno != ENOENT) break;
            *exists = false;
            return cur;
        }
        if (!S_ISLNK(st->st_mode)) {
            *exists = true;
            return cur;
        }
        if (hops == 40) {
            errno = ELOOP;
            break;
        }
        char link[PATH_MAX];
        ssize_t k = readlink(cur, link, sizeof link - 1);
        if (k < 0) break;
        link[k] = 0;
        char *next;
        if (link[0] == '/') {
            next = strdup(link);
        } else {
            char *d = dir_of(cur);
            size_t m = d ? strlen(d) + (size_t)k + 2 : 0;
            next = d ? malloc(m) : NULL;
            if (next) snprintf(next, m, "%s/%s", d, link);
            free(d);
        }
        free(cur);
        cur = next;
        if (!cur) errno = ENOMEM;
    }
    int e = errno;
    free(cur);
    errno = e;
    return NULL;
}

/* Can a file with no name be linked in later? Only through /proc (or with
 * a privilege we do not count on). */
static bool can_link_unnamed(void)
{
    return access("/proc/self/fd", X_OK) == 0;
}

/* Creates the temporary file for o->target: unnamed when the file system
 * can, else under o->temp with O_EXCL (a fresh name on a collision). */
static int create_temp(mf_out *o)
{
    if (!(o->temp = temp_name(o->target))) return ofail(o, "create", ENOMEM);
    char *dir = dir_of(o->target);
    if (!dir) return ofail(o, "create", ENOMEM);
    o->fd = -1;
    int e = 0; /* why there is no unnamed file (0: not tried) */
#ifdef O_TMPFILE
    if (can_link_unnamed() && (o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666)) < 0)
        e = errno;
#endif
    free(dir);
    if (o->fd >= 0) {
        o->named = false;
    } else {
        /* O_TMPFILE unknown to this file system or kernel: a named file;
         * any other reason (no directory, no permission) is the answer */
        if (e && e != EOPNOTSUPP && e != EISDIR && e != EINVAL) return ofail(o, "create", e);
        for (int tries = 0; o->fd < 0 && tries < 100; tries++) {
            o->fd = open(o->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (o->fd >= 0 || errno != EEXIST) break;
            free(o->temp);
            if (!(o->temp = temp_name(o->target))) return ofail(o, "create", ENOMEM);
        }
        if (o->fd < 0) return ofail(o, "create", errno);
        o->named = true;
    }
    if (o->had_target) {
        /* the replacement keeps what the file was: its mode, its owner
         * where we may set it (a failure there is no reason to fail) */
        if ((o->st.st_uid != geteuid() || o->st.st_gid != getegid()) &&
            fchown(o->fd, o->st.st_uid, o->st.st_gid) != 0)
            errno = 0; /* not ours to give */
        if (fchmod(o->fd, o->st.st_mode & 07777) != 0) return ofail(o, "create", errno);
    }
    return 0;
}

mf_out *mf_out_open(const char *path, mf_error *err)
{
    mf_out *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        mf_error_set(err, "cannot create %s: out of memory", path);
        return NULL;
    }
    o->fd = -1;
    o->hfd = -1;
    if (strcmp(path, "-") == 0) {
        o->kind = OUT_STDOUT;
        o->fd = STDOUT_FILENO;
        return o;
    }
    bool exists = false;
    o->target = resolve(path, &exists, &o->st);
    if (!o->target) {
        ofail(o, "create", errno);
        goto fail;
    }
    if (!exists || S_ISREG(o->st.st_mode)) {
        o->kind = OUT_REPLACE;
        o->had_target = exists;
        if (create_temp(o)) goto fail;
    } else if (S_ISCHR(o->st.st_mode)) {
        o->kind = OUT_DEVICE;
        o->fd = open(o->target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (o->fd < 0) {
            ofail(o, "open", errno);
            goto fail;
        }
    } else if (S_ISFIFO(o->st.st_mode)) {
        o->kind = OUT_FIFO; /* opened at the first write: a FIFO without a
                             * reader would block the open */
    } else {
        const char *what = S_ISDIR(o->st.st_mode)    ? "a directory"
                           : S_ISBLK(o->st.st_mode)  ? "a block device"
                           : S_ISSOCK(o->st.st_mode) ? "a socket"
                                                     : "not a regular file";
        mf_error_set(&o->err,
                     "cannot write %s: it is %s (maproot writes regular files, character "
                     "devices and FIFOs)",
                     path, what);
        goto fail;
    }
    return o;
fail:
    if (err) *err = o->err;
    mf_out_abort(o);
    return NULL;
}

mf_out *mf_out_fdopen(int fd, const char *name, mf_error *err)
{
    mf_out *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(name))) {
        free(o);
        close(fd);
        mf_error_set(err, "cannot write %s: out of memory", name);
        return NULL;
    }
    o->kind = OUT_DEVICE;
    o->fd = fd;
    o->hfd = -1;
    return o;
}

int mf_out_fd(const mf_out *o)
{
    return o->failed ? -1 : o->fd;
}

/* A FIFO's open, at the first write. */
static int ensure_open(mf_out *o)
{
    if (o->fd >= 0) return 0;
    if (o->failed) return -1;
    do o->fd = open(o->target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    while (o->fd < 0 && errno == EINTR);
    return o->fd < 0 ? ofail(o, "open", errno) : 0;
}

/* An unnamed temporary file for held output, in $TMPDIR or /tmp; -1 with
 * errno set. */
static int hold_file(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
    size_t n = strlen(dir) + sizeof "/maproot-out.XXXXXX";
    char *name = malloc(n);
    if (!name) return errno = ENOMEM, -1;
    snprintf(name, n, "%s/maproot-out.XXXXXX", dir);
    fd = mkostemp(name, O_CLOEXEC);
    if (fd >= 0) unlink(name);
    int e = errno;
    free(name);
    errno = e;
    return fd;
}

/* Writes n bytes at p to descriptor fd whole; 0, or an errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : EIO;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* Holds n bytes of held output: in memory while they fit hold_cap, else
 * in the temporary file (what memory held is moved there first). */
static int hold_bytes(mf_out *o, const uint8_t *p, size_t n)
{
    int e;
    if (o->hfd < 0 && n <= o->hold_cap - o->hlen) {
        if (o->hlen + n > o->hsize) {
            size_t ns = o->hsize ? o->hsize : 4096;
            while (ns < o->hlen + n) ns = ns > o->hold_cap / 2 ? o->hold_cap : ns * 2;
            uint8_t *b = realloc(o->hbuf, ns);
            if (!b) return ofail(o, "write", ENOMEM);
            o->hbuf = b, o->hsize = ns;
        }
        memcpy(o->hbuf + o->hlen, p, n);
        o->hlen += n;
        o->bytes += n;
        return 0;
    }
    if (o->hfd < 0) {
        if ((o->hfd = hold_file()) < 0) return ofail(o, "write", errno);
        if ((e = write_all(o->hfd, o->hbuf, o->hlen))) return ofail(o, "write", e);
        free(o->hbuf);
        o->hbuf = NULL;
        o->hlen = o->hsize = 0;
    }
    if ((e = write_all(o->hfd, p, n))) return ofail(o, "write", e);
    o->bytes += n;
    return 0;
}

void mf_out_hold(mf_out *o, size_t in_memory)
{
    assert(!o->bytes && !o->held);
    if (o->kind != OUT_STDOUT) return;
    o->held = true;
    o->hold_cap = in_memory;
    struct stat st;
    o->start = fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode) ? lseek(o->fd, 0, SEEK_CUR) : -1;
}

int mf_out_writev(mf_out *o, struct iovec *iov, int n)
{
    if (o->failed) return -1;
    if (o->held) {
        for (int i = 0; i < n; i++)
            if (iov[i].iov_len && hold_bytes(o, iov[i].iov_base, iov[i].iov_len)) return -1;
        return 0;
    }
    if (ensure_open(o)) return -1;
    while (n > 0 && iov->iov_len == 0) iov++, n--;
    while (n > 0) {
        ssize_t k = writev(o->fd, iov, n > IOV_MAX ? IOV_MAX : n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return ofail(o, "write", errno);
        if (k == 0) return ofail(o, "write", EIO);
        o->bytes += (uint64_t)k;
        size_t left = (size_t)k;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

int mf_out_write(mf_out *o, const void *p, size_t n)
{
    struct iovec v = {(void *)p, n};
    return n ? mf_out_writev(o, &v, 1) : (o->failed ? -1 : 0);
}

uint64_t mf_out_bytes(const mf_out *o)
{
    return o->bytes;
}

int mf_out_error(const mf_out *o, mf_error *err)
{
    if (!o->failed) return 0;
    if (err) *err = o->err;
    return -1;
}

const char *mf_out_path(const mf_out *o)
{
    return o->path;
}

/* stdio on top of an mf_out: errors stay o's, with their errno text. */
static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    return mf_out_write(c, buf, n) ? -1 : (ssize_t)n;
}

FILE *mf_out_stream(mf_out *o)
{
    if (!o->stream) {
        cookie_io_functions_t io = {.write = cookie_write};
        o->stream = fopencookie(o, "w", io);
    }
    return o->stream;
}

/* Closes the stream (flushing it into o); its errors are already o's. */
static void close_stream(mf_out *o)
{
    if (!o->stream) return;
    if (fclose(o->stream) != 0 && !o->failed) ofail(o, "write", errno ? errno : EIO);
    o->stream = NULL;
}

/* Gives the unnamed temporary file the name o->temp (a fresh one if that
 * is taken). */
static int link_temp(mf_out *o)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
    for (int tries = 0; tries < 100; tries++) {
        if (linkat(AT_FDCWD, proc, AT_FDCWD, o->temp, AT_SYMLINK_FOLLOW) == 0) {
            o->named = true;
            return 0;
        }
        if (errno != EEXIST) return ofail(o, "write", errno);
        free(o->temp);
        if (!(o->temp = temp_name(o->target))) return ofail(o, "write", ENOMEM);
    }
    return ofail(o, "write", EEXIST);
}

/* A copy of held output that failed after `done` bytes: standard output
 * cut back to where it was held, when it is a regular file that holds
 * exactly what was copied after it (a shell's `> FILE`; nothing else wrote
 * there meanwhile). */
static void cut_back(const mf_out *o, uint64_t done)
{
    struct stat st;
    if (o->start < 0 || fstat(o->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size != (uint64_t)o->start + done)
        return;
    if (ftruncate(o->fd, o->start) == 0) lseek(o->fd, o->start, SEEK_SET);
}

/* Writes the held output to standard output: memory, or the temporary
 * file from its start. A failure is o's ("at byte N": what was copied). */
static void release_held(mf_out *o)
{
    uint64_t total = o->bytes;
    o->held = false;
    o->bytes = 0;
    if (o->hfd < 0) {
        if (o->hlen) mf_out_write(o, o->hbuf, o->hlen);
    } else if (lseek(o->hfd, 0, SEEK_SET) != 0) {
        ofail(o, "write", errno);
    } else {
        uint8_t *buf = malloc(HOLD_CHUNK);
        if (!buf) ofail(o, "write", ENOMEM);
        while (buf && !o->failed && o->bytes < total) {
            ssize_t k = read(o->hfd, buf, HOLD_CHUNK);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                ofail(o, "write", k < 0 ? errno : EIO);
                break;
            }
            mf_out_write(o, buf, (size_t)k);
        }
        free(buf);
    }
    if (o->failed) cut_back(o, o->bytes);
}

int mf_out_commit(mf_out *o, mf_error *err)
{
    close_stream(o);
    if (o->held && !o->failed) release_held(o);
    if (o->kind == OUT_FIFO && !o->failed) ensure_open(o); /* an empty output */
    if (!o->failed && o->kind == OUT_REPLACE) {
        if (fsync(o->fd) != 0)
            ofail(o, "write", errno);
        else if (!o->named)
            link_temp(o);
    }
    if (o->fd >= 0 && o->kind != OUT_STDOUT) {
        if (close(o->fd) != 0 && !o->failed) ofail(o, "write", errno);
        o->fd = -1;
    }
    if (!o->failed && o->kind == OUT_REPLACE && rename(o->temp, o->target) != 0)
        ofail(o, "write", errno); /* the temporary file is removed below */
    else if (!o->failed && o->kind == OUT_REPLACE)
        o->named = false; /* it is the file now */
    int rc = o->failed ? -1 : 0;
    if (rc && err) *err = o->err;
    mf_out_abort(o);
    return rc;
}

void mf_out_abort(mf_out *o)
{
    if (!o) return;
    if (o->stream) {
        /* nothing more may reach the file: fail the writes, then close */
        o->failed = true;
        fclose(o->stream);
    }
    if (o->fd >= 0 && o->kind != OUT_STDOUT) close(o->fd);
    if (o->named && o->temp) unlink(o->temp);
    if (o->hfd >= 0) close(o->hfd);
    free(o->hbuf);
    free(o->path);
    free(o->target);
    free(o->temp);
    free(o);
}

char *mf_out_detach(mf_out *o)
{
    char *t = NULL;
    if (o->kind == OUT_REPLACE && o->temp) t = strdup(o->temp);
    if (o->fd >= 0 && o->kind != OUT_STDOUT) close(o->fd);
    o->fd = -1;
    o->named = false; /* the child's to remove or rename */
    o->stream = NULL;
    mf_out_abort(o);
    return t;
}

void mf_out_remove_temp(const char *temp_name)
{
    if (temp_name) unlink(temp_name);
}

int mf_write_file(const char *path, const void *data, size_t n, mf_error *err)
{
    mf_out *o = mf_out_open(path, err);
    if (!o) return -1;
    mf_out_write(o, data, n);
    return mf_out_commit(o, err);
}
