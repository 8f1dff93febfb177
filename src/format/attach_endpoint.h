/*
 * src/format/attach_endpoint.h -- where the attach protocol's sockets live
 * (proto/attach.proto): the agent in a program makes its socket there, and
 * maproot ps / trace look there.
 *
 * A program's agent listens on DIR/maproot-PID.sock, DIR being the first of
 * these that is (or can be made) a private directory of the program's user:
 *   $XDG_RUNTIME_DIR/maproot      when XDG_RUNTIME_DIR is an absolute path;
 *   ${TMPDIR:-/tmp}/maproot-UID
 * Private means: a directory (not a symbolic link to one), owned by that
 * user, not writable by group or others. Made with mode 0700. In a shared
 * /tmp this is what keeps another user from planting a socket or a link
 * where the agent or the client would use it.
 *
 * Errors: -1 with err set, naming the directory and what is wrong.
 * Threads: none; the functions read the environment and the file system.
 */
#ifndef MF_ATTACH_ENDPOINT_H
#define MF_ATTACH_ENDPOINT_H

#include "format/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Room for a socket's path (sun_path holds 108 bytes with its NUL). */
#define MF_AT_PATH_MAX 108

typedef struct mf_at_dirs {
    char dir[2][4096];
    size_t n;
} mf_at_dirs;

/* The candidate directories for user uid under this process's
 * environment, best first. */
void mf_at_endpoint_dirs(uid_t uid, mf_at_dirs *out);

/* Checks (and with create, first makes) dir as a private directory of
 * uid. 0, or -1 with err ("DIR: owned by uid 1001, not 0"). */
int mf_at_endpoint_dir_check(const char *dir, uid_t uid, bool create, mf_error *err);

/* DIR/maproot-PID.sock into buf (MF_AT_PATH_MAX bytes); -1 with err when
 * it does not fit a socket address. */
int mf_at_endpoint_path(const char *dir, pid_t pid, char *buf, mf_error *err);

/* When process pid started (Unix time, ns), from /proc: its start in clock
 * ticks since boot and the boot time; 0 when it cannot be told. For the
 * agent's hello, and for telling a stale socket (older than the process
 * that now has its pid) from one being set up (bound, not yet listening). */
int64_t mf_at_process_start_ns(pid_t pid);

/* The pid of a socket file name (the last component of a path)
 * "maproot-PID.sock", or 0 when the name is not one. */
pid_t mf_at_endpoint_pid(const char *name);

#endif
