/*
 * src/cli/attach.h -- the client side of the attach protocol, for
 * `maproot trace` and `maproot ps`: finding a program's endpoint,
 * connecting, saying hello, sending requests (with descriptors) and reading
 * the agent's frames.
 *
 * Endpoints are found through the kernel's list of Unix sockets
 * (/proc/net/unix): a listening socket DIR/maproot-PID.sock is the agent of
 * process PID wherever DIR is, so a program started with another TMPDIR or
 * XDG_RUNTIME_DIR is found too. Socket files in this user's own directories
 * that no process listens on any more (the program crashed) are stale:
 * cli_at_clean_stale removes them.
 *
 * Errors: -1 with msg set to one line for "maproot: ..." (no prefix), e.g.
 * "process 4242 (sessiond) has no maproot endpoint: ...". Threads: a
 * connection is used by one thread.
 */
#ifndef MAPROOT_CLI_ATTACH_H
#define MAPROOT_CLI_ATTACH_H

#include "format/attach.h"
#include "format/attach_endpoint.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct cli_endpoint {
    pid_t pid;
    char path[MF_AT_PATH_MAX];
} cli_endpoint;

/* The endpoints listening now whose socket file belongs to this user (to
 * any user for root) and whose process has not ended, sorted by pid. *out
 * is malloc'd (free()); -1 when /proc/net/unix cannot be read. */
int cli_at_list(cli_endpoint **out, size_t *n, char *msg, size_t cap);

/* Removes this user's socket files that nobody listens on, or whose
 * process has ended (or is a zombie: a child it forked may still hold the
 * socket open); returns how many. */
size_t cli_at_clean_stale(void);

/* The endpoint of process pid; -1 with msg saying why there is none (no
 * such process; one without the collector, and how to get it). */
int cli_at_find(pid_t pid, cli_endpoint *out, char *msg, size_t cap);

/* Has e gone away since it was listed: its process ended (or is a
 * zombie), or it listens no more? (A connection to it that failed then
 * says nothing worth reporting.) */
bool cli_at_ended(const cli_endpoint *e);

typedef struct cli_attach {
    int fd;
    pid_t pid;
    uint8_t *in; /* bytes received and not yet decoded */
    size_t in_len, in_cap;
    uint64_t next_id;
    mf_at_frame welcome; /* kind MF_AT_WELCOME once connected */
} cli_attach;

/* Connects to e, checks that the process listening is e->pid, says hello
 * as `client` and waits up to timeout_ms for the welcome. */
int cli_at_connect(cli_attach *a, const cli_endpoint *e, const char *client, int timeout_ms,
                   char *msg, size_t cap);
void cli_at_close(cli_attach *a);

/* Sends request f (its request_id is set to a new one, returned) with the
 * descriptors fds[0..nfds) passed along; 0 with msg on failure. */
uint64_t cli_at_send(cli_attach *a, mf_at_frame *f, const int *fds, size_t nfds, char *msg,
                     size_t cap);

/* The next frame from the agent, waiting at most timeout_ms (0: only what
 * has arrived; -1: no limit): 1 with *f (free it with mf_at_frame_free),
 * 0 none yet, -1 the connection ended (*eof: closed by the agent) or a bad
 * frame (msg). */
int cli_at_next(cli_attach *a, mf_at_frame *f, int timeout_ms, bool *eof, char *msg, size_t cap);

#endif
