/* src/format/attach_endpoint.c -- see attach_endpoint.h. */
#include "format/attach_endpoint.h"

#include "format/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mf_at_endpoint_dirs(uid_t uid, mf_at_dirs *out)
{
    out->n = 0;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/' &&
        (size_t)snprintf(out->dir[out->n], sizeof out->dir[0], "%s/maproot", xdg) <
            sizeof out->dir[0])
        out->n++;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/') tmp = "/tmp";
    if ((size_t)snprintf(out->dir[out->n], sizeof out->dir[0], "%s/maproot-%lu", tmp,
                         (unsigned long)uid) < sizeof out->dir[0])
        out->n++;
}

int mf_at_endpoint_dir_check(const char *dir, uid_t uid, bool create, mf_error *err)
{
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        mf_error_set(err, "%s: cannot make the directory: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) != 0) {
        mf_error_set(err, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode)) {
        mf_error_set(err, "%s: is a symbolic link, not a private directory", dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        mf_error_set(err, "%s: is not a directory", dir);
        return -1;
    }
    if (st.st_uid != uid) {
        mf_error_set(err, "%s: owned by uid %lu, not %lu", dir, (unsigned long)st.st_uid,
                     (unsigned long)uid);
        return -1;
    }
    if (st.st_mode & 022) {
        mf_error_set(err, "%s: writable by %s (mode %03o)", dir,
                     st.st_mode & 002 ? "others" : "its group", (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

int mf_at_endpoint_path(const char *dir, pid_t pid, char *buf, mf_error *err)
{
    int n = snprintf(buf, MF_AT_PATH_MAX, "%s/maproot-%ld.sock", dir, (long)pid);
    if (n < 0 || n >= MF_AT_PATH_MAX) {
        mf_error_set(err, "%s: too long a directory for a socket (%d bytes; at most %d)", dir, n,
                     MF_AT_PATH_MAX - 1);
        return -1;
    }
    return 0;
}

pid_t mf_at_endpoint_pid(const char *name)
{
    name = mf_path_base(name);
    if (strncmp(name, "maproot-", 8) != 0) return 0;
    const char *p = name + 8;
    long v = 0;
    if (*p < '1' || *p > '9') return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > 0x7fffffff) return 0;
    }
    return strcmp(p, ".sock") == 0 ? (pid_t)v : 0;
}

int64_t mf_at_process_start_ns(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    if (!p) return 0;
    unsigned long long start = 0;
    /* after ")": state is field 3; starttime is field 22 */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
               "%*d %*d %llu",
               &start) != 1)
        return 0;
    FILE *f = fopen("/proc/stat", "re");
    unsigned long long btime = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "btime %llu", &btime) == 1) break;
    if (f) fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (!btime || hz <= 0) return 0;
    return (int64_t)btime * 1000000000 + (int64_t)(start * (1000000000ull / (unsigned long)hz));
}
