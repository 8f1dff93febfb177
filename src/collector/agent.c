/*
 * src/collector/agent.c -- the attach agent: see agent.h for what it does
 * and proto/attach.proto for the protocol.
 *
 * Who runs what:
 *   agent thread  never attached to the runtime (so never stopped by a
 *                 collection, and never a root), all signals blocked: it
 *                 accepts and reads connections, answers requests, encodes
 *                 events, writes profiles, reaps snapshot writers. It
 *                 polls; with nobody attached it sleeps until a connection
 *                 comes. It stops the world only for force_gc, by running
 *                 a collection as a briefly attached mutator.
 *   GC hook       mrc__agent_on_gc on the collecting thread, world stopped:
 *                 at MARK_DONE it lists the maps for a census due and takes
 *                 the snapshot a job waits for (fork); at END it queues one
 *                 event per subscribed client and takes a job's profile
 *                 counts. It wakes the thread through an eventfd.
 * Shared between them, under ag.lock: the clients' subscriptions, event
 * queues and census states, and the jobs. The lock is never held across
 * I/O or a call into the runtime, and the thread is never stopped by a
 * collection, so the hook never waits on a blocked thread. Everything else
 * of a client (its socket, buffers, descriptors) is the thread's alone.
 *
 * Invariants: a client's event queue holds at most RING events (one more
 * is dropped and counted); a job is on ag.jobs from its request until its
 * SnapshotDone was queued (or its client is gone and its writer reaped);
 * a job's snapshot descriptor is the job's until the hook hands it to the
 * writer, its profile descriptor until the thread writes into it.
 */
#define UNW_LOCAL_ONLY
#include "collector/agent.h"
#include "collector/loadgen.h"

#include "collector/census.h"
#include "collector/map_lists.h"
#include "collector/forkguard.h"
#include "collector/procwatch.h"
#include "collector/profiler.h"
#include "collector/snapshot.h"
#include "collector/snapshot_image.h"
#include "format/attach.h"
#include "format/attach_endpoint.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAPROOT_VERSION
#define MAPROOT_VERSION "unknown"
#endif

enum {
    RING = 256,            /* events queued per client */
    MAX_FDS = 4,           /* descriptors a client may have passed and not yet used */
    OUT_SOFT = 256 << 10,  /* encode events only while less than this waits to be sent */
    EVENTS_PER_ROUND = 32, /* events moved from a queue per round of the loop */
    SYMBOL_CACHE = 4096,   /* growth sites remembered, then forgotten all at once */
};
#define STALL_NS (60ull * 1000000000ull)     /* a client that takes nothing this long is dropped */
#define EXIT_WAIT_NS (30ull * 1000000000ull) /* the end of the program waits for jobs this long */
#define WRITER_STALL_S 10 /* a snapshot writer that does nothing this long is stuck */

/* MAPROOT_WRITER_STALL: seconds a snapshot writer may go without progress
 * (mrc__writer_stall_s) */
static uint32_t writer_stall_s = WRITER_STALL_S;

/* One collection, for one client. */
typedef struct event {
    mr_gc_cycle gc;
    uint64_t profile_rate;
    uint64_t dropped; /* events lost just before this one */
    bool census;
    uint64_t maps_total, entries_total;
    uint32_t omitted;
    uint64_t agent_ns; /* the agent's part of the collection's pause */
    mf_at_map *maps;   /* owned; growth_function/file not yet filled */
    size_t nmaps;
} event;

typedef struct job job;

typedef struct client {
    int fd;
    unsigned long uid;
    long pid;
    bool greeted, closing;
    char name[64]; /* what the client called itself */
    uint8_t in[4 + MF_AT_MAX_CLIENT_FRAME];
    size_t in_len;
    int fds[MAX_FDS]; /* passed and not yet claimed by a request */
    size_t nfds;
    mf_buf out;
    size_t out_off;
    uint64_t stalled_since; /* monotonic ns; 0 when not waiting to send */
    /* shared with the hook (ag.lock) */
    bool subscribed;
    uint32_t census_ms, max_maps;
    uint64_t next_census_ns;
    mrc_census *census;
    event ring[RING];
    size_t head, count;
    uint64_t dropped;
    job *job; /* its snapshot request in progress */
    /* the profiling rate it set, and the one before, put back when it goes */
    bool rate_set;
    uint64_t rate_mine, rate_before;
} client;

typedef enum job_state { JOB_WAITING, JOB_TAKEN } job_state;

struct job {
    job *next;
    client *cl; /* NULL once the client has gone */
    uint64_t request_id;
    bool want_snap, want_prof, forced;
    int snap_fd, prof_fd;
    job_state state; /* ag.lock */
    uint32_t cycle;
    /* the snapshot: a writer child and its outcome pipe, or an in-place
     * outcome (child -1) */
    pid_t child;
    int rfd;
    uint64_t activity, moved_ns; /* the writer's progress, when it last moved */
    bool snap_done;
    mrc_image_outcome outcome;
    uint64_t pause_ns;
    /* the profile: counts taken at the end of the cycle by the hook, then
     * written by the profile writer thread (prof_* flags: ag.lock) */
    bool prof_taken, prof_busy, prof_done, prof_ok;
    mrc_prof_snapshot prof;
    uint64_t rate;
    uint64_t prof_bytes;
    char prof_msg[512];
};

static struct {
    bool on;
    pid_t owner; /* the process that made the endpoint */
    char path[MF_AT_PATH_MAX];
    int listen_fd, wake_fd;
    int64_t start_ns; /* when the program started, Unix time */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a subscription, a job done, the thread gone */
    pthread_cond_t work;    /* a profile to write or a site to describe: the worker's */
    bool writer_on;         /* the worker thread runs (agent thread's) */
    client *clients[MRC_AGENT_MAX_CLIENTS];
    atomic_int active; /* subscribed clients + jobs: the hook's quick test */
    job *jobs;
    bool forcing; /* the thread runs a collection for a force_gc job */
    bool exiting; /* the program ends: say goodbye, serve no more */
    bool thread_done;
    bool subscribed_once;
    /* the hook's own: the maps listed at MARK_DONE for a census due */
    mrc_census_map *walk;
    size_t nwalk, capwalk;
    uint64_t walk_entries;
    bool walk_ok, census_due;
    uint64_t mark_ns; /* the hook's time at MARK_DONE of mark_cycle */
    uint32_t mark_cycle;
} ag = {.listen_fd = -1,
        .wake_fd = -1,
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .changed = PTHREAD_COND_INITIALIZER};

/* Descriptors a forked child must not keep (the endpoint, client
 * connections): closed by the fork handler in the child, so a snapshot
 * writer or a child of the program never holds a connection open.
 * Invariant: every connection the agent holds is in the table from the
 * moment accept returns it (slot ACCEPTING until it has a client's slot),
 * so a fork on another thread in between cannot inherit it. */
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
enum { ACCEPTING = 2 + MRC_AGENT_MAX_CLIENTS };
static int agent_fds[ACCEPTING + 1];
static atomic_bool in_forked_child;

/* MAPROOT_ACCEPT_HOLD_MS (for tests): a pause right after each accept,
 * the window in which a fork must not inherit the new connection. */
static long accept_hold_ms;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "maproot: attach: %s\n", buf);
}

static void wake(void)
{
    uint64_t one = 1;
    if (ag.wake_fd >= 0 && write(ag.wake_fd, &one, sizeof one) < 0) errno = 0;
}

/* -------------------------------------------------------- descriptors --- */

static void fds_set(int slot, int fd)
{
    pthread_mutex_lock(&fds_lock);
    agent_fds[slot] = fd;
    pthread_mutex_unlock(&fds_lock);
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&fds_lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&fds_lock);
}

/* In a forked child: no agent here (its thread did not come along). The
 * table forgets what it closed: the numbers are the child's to reuse (its
 * own snapshot's file), and a child of the child runs this again. */
static void fork_child(void)
{
    atomic_store(&in_forked_child, true);
    for (size_t i = 0; i < sizeof agent_fds / sizeof *agent_fds; i++) {
        if (agent_fds[i] >= 0) close(agent_fds[i]);
        agent_fds[i] = -1;
    }
    pthread_mutex_unlock(&fds_lock);
}

/* ------------------------------------------------------------- frames --- */

/* Queues a frame for c; a frame that cannot be encoded closes c. */
static void send_frame(client *c, const mf_at_frame *f)
{
    mf_error err;
    if (mf_at_encode(f, &c->out, &err) != 0) {
        logf_("client pid %ld: %s; closing", c->pid, err.msg);
        c->closing = true;
    }
}

static void reply(client *c, uint64_t id, bool ok, const char *msg)
{
    mf_at_frame f = {.kind = MF_AT_REPLY, .request_id = id, .reply = {ok, msg}};
    send_frame(c, &f);
}

/* Sends what is queued without blocking; false when c must be closed. */
static bool flush_out(client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t k = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->stalled_since) c->stalled_since = mono_ns();
            return true;
        }
        if (k <= 0) return false; /* the client went away */
        c->out_off += (size_t)k;
        c->stalled_since = 0;
    }
    c->out.len = c->out_off = 0;
    c->stalled_since = 0;
    return true;
}

/* ---------------------------------------------------------- the hello --- */

/* /proc/self/cmdline with spaces between the arguments. */
static void read_args(char *out, size_t cap)
{
    out[0] = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n <= 0) return;
    for (ssize_t i = 0; i < n; i++)
        if (!out[i]) out[i] = ' ';
    while (n > 0 && out[n - 1] == ' ') n--;
    out[n] = 0;
}

/* dl_iterate_phdr's first module is the program: the GNU build ID in its
 * notes, read from memory (no file, no symbolizer: the hello is quick). */
static int program_build_id(struct dl_phdr_info *info, size_t size, void *ud)
{
    (void)size;
    mrc_lg_build_id(info, ud, 128);
    return 1; /* only the program */
}

static void send_welcome(client *c, uint64_t id)
{
    char exe[4096] = "", args[2048], build_id[128];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
    read_args(args, sizeof args);
    build_id[0] = 0;
    dl_iterate_phdr(program_build_id, build_id);
    mr_gc_cycle gc;
    mr_read_gc_cycle(&gc);
    pthread_mutex_lock(&ag.lock);
    uint32_t n = 0;
    for (int i = 0; i < MRC_AGENT_MAX_CLIENTS; i++) n += ag.clients[i] != NULL;
    pthread_mutex_unlock(&ag.lock);
    mf_at_frame f = {.kind = MF_AT_WELCOME, .request_id = id};
    f.welcome = (mf_at_welcome){
        .version = MF_AT_VERSION,
        .program = exe,
        .args = args,
        .pid = (uint64_t)getpid(),
        .build_id = build_id,
        .maproot_version = MAPROOT_VERSION,
        .start_time_ns = ag.start_ns,
        .gc_cycle = gc.cycle,
        .last_gc_ns = (int64_t)gc.end_ns,
        .live_bytes = gc.live_bytes,
        .live_objects = gc.live_objects,
        .next_gc = gc.next_gc,
        .total_alloc = gc.total_alloc,
        .pause_total_ns = gc.pause_total_ns,
        .profile_rate = mrc_profile_rate(),
        .clients = n,
    };
    send_frame(c, &f);
}

/* ---------------------------------------------------------- requests --- */

typedef struct site site;
static void *worker_main(void *arg);

static void active_add(int d)
{
    atomic_fetch_add(&ag.active, d);
}

/* Runs a collection for a force_gc job, as a briefly attached mutator: the
 * only time the agent stops the world itself. */
/* The agent's thread is busy for the fork guard (forkguard.h) whenever it
 * is not waiting in poll(). */
static void work_begin(void)
{
    mrc__fork_busy();
}
static void work_end(void)
{
    mrc__fork_idle();
}

static void force_collection(void)
{
    work_end(); /* the collection may fork a writer on this very thread */
    pthread_mutex_lock(&ag.lock);
    ag.forcing = true;
    pthread_mutex_unlock(&ag.lock);
    mr_thread_attach();
    mr_gc();
    mr_thread_detach();
    pthread_mutex_lock(&ag.lock);
    ag.forcing = false;
    pthread_mutex_unlock(&ag.lock);
    work_begin();
}

/* A passed descriptor for a file to write: a regular file open for
 * writing (a pipe or socket could block the writer). */
static const char *unfit_descriptor(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return "a descriptor that cannot be examined";
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY) return "not open for writing";
    return NULL;
}

static void close_fds(client *c)
{
    for (size_t i = 0; i < c->nfds; i++) close(c->fds[i]);
    c->nfds = 0;
}

/* A SnapshotRequest: a job for the next collection (or one run now).
 * Returns true when a collection is to be forced. */
static bool request_snapshot(client *c, uint64_t id, const mf_at_snapshot *r)
{
    size_t need = (size_t)r->snapshot + (size_t)r->profile;
    if (!need) {
        reply(c, id, false, "a snapshot request must ask for a snapshot, a profile or both");
        close_fds(c);
        return false;
    }
    if (c->nfds != need) {
        char msg[160];
        snprintf(msg, sizeof msg, "the request asks for %zu file(s) but %zu descriptor(s) came",
                 need, c->nfds);
        reply(c, id, false, msg);
        close_fds(c);
        return false;
    }
    for (size_t i = 0; i < need; i++) {
        const char *why = unfit_descriptor(c->fds[i]);
        if (why) {
            char msg[160];
            snprintf(msg, sizeof msg, "descriptor %zu of the request: %s", i + 1, why);
            reply(c, id, false, msg);
            close_fds(c);
            return false;
        }
    }
    if (c->job) {
        reply(c, id, false, "a snapshot is already being taken for this client");
        close_fds(c);
        return false;
    }
    if (r->profile && !ag.writer_on) ag.writer_on = mrc__start_thread(worker_main) == 0;
    job *j = calloc(1, sizeof *j);
    if (!j) {
        reply(c, id, false, "the program is out of memory");
        close_fds(c);
        return false;
    }
    j->cl = c;
    j->request_id = id;
    j->want_snap = r->snapshot;
    j->want_prof = r->profile;
    j->snap_fd = r->snapshot ? c->fds[0] : -1;
    j->prof_fd = r->profile ? c->fds[r->snapshot ? 1 : 0] : -1;
    j->child = -1;
    j->rfd = -1;
    j->state = JOB_WAITING;
    c->nfds = 0;
    pthread_mutex_lock(&ag.lock);
    j->next = ag.jobs;
    ag.jobs = j;
    c->job = j;
    pthread_mutex_unlock(&ag.lock);
    active_add(1);
    reply(c, id, true, r->force_gc ? "collecting now" : "taken at the program's next collection");
    return r->force_gc;
}

static void request_subscribe(client *c, uint64_t id, const mf_at_subscribe *s)
{
    mrc_census *cs = mrc_census_new();
    if (!cs) {
        reply(c, id, false, "the program is out of memory");
        return;
    }
    uint32_t max = s->max_maps ? s->max_maps : MF_AT_DEFAULT_MAPS;
    if (max > MF_AT_MAX_MAPS) max = MF_AT_MAX_MAPS;
    pthread_mutex_lock(&ag.lock);
    bool was = c->subscribed;
    mrc_census_free(c->census);
    c->census = cs; /* a new subscription: a new baseline */
    c->subscribed = true;
    c->census_ms = s->census_interval_ms;
    c->max_maps = max;
    c->next_census_ns = 0;
    ag.subscribed_once = true;
    pthread_cond_broadcast(&ag.changed);
    pthread_mutex_unlock(&ag.lock);
    if (!was) active_add(1);
    if (!ag.writer_on) ag.writer_on = mrc__start_thread(worker_main) == 0;
    reply(c, id, true, "subscribed");
}

/* Handles one decoded frame. Returns true when a collection is to be
 * forced (after the frame's answers are queued). */
static bool handle(client *c, const mf_at_frame *f)
{
    if (!c->greeted && f->kind != MF_AT_HELLO) {
        reply(c, f->request_id, false, "the first frame must be a Hello");
        c->closing = true;
        return false;
    }
    switch (f->kind) {
    case MF_AT_HELLO:
        snprintf(c->name, sizeof c->name, "%s", f->hello.client);
        if (f->hello.version != MF_AT_VERSION) {
            char msg[128];
            snprintf(msg, sizeof msg, "protocol version %" PRIu32 " is not spoken here (%d is)",
                     f->hello.version, MF_AT_VERSION);
            reply(c, f->request_id, false, msg);
            c->closing = true;
            return false;
        }
        c->greeted = true;
        send_welcome(c, f->request_id);
        return false;
    case MF_AT_SET_PROFILE_RATE:
        if (!c->rate_set) c->rate_before = mrc__profile_rate_effective();
        c->rate_set = true;
        c->rate_mine = f->profile_rate;
        mrc__profile_rate_next_cycle(f->profile_rate);
        reply(c, f->request_id, true,
              "the rate takes effect at the next collection, until this client detaches");
        return false;
    case MF_AT_SNAPSHOT:
        return request_snapshot(c, f->request_id, &f->snapshot);
    case MF_AT_SUBSCRIBE:
        request_subscribe(c, f->request_id, &f->subscribe);
        return false;
    case MF_AT_DETACH:
        reply(c, f->request_id, true, "detached");
        c->closing = true;
        return false;
    default:
        reply(c, f->request_id, false, "not a request");
        c->closing = true;
        return false;
    }
}

/* ------------------------------------------------------------ clients --- */

static void free_event(event *e)
{
    free(e->maps);
    e->maps = NULL;
    e->nmaps = 0;
}

/* Takes c out of the shared state and frees it. Its job stays (its writer
 * must be reaped) without a client to report to. */
static void drop_client(client *c, int slot)
{
    if (c->rate_set) mrc__profile_rate_restore(c->rate_mine, c->rate_before);
    pthread_mutex_lock(&ag.lock);
    ag.clients[slot] = NULL;
    if (c->subscribed) active_add(-1);
    for (size_t i = 0; i < c->count; i++) free_event(&c->ring[(c->head + i) % RING]);
    job *cancel = NULL;
    if (c->job && c->job->state == JOB_WAITING) {
        /* not begun: nobody will want it */
        cancel = c->job;
        for (job **pp = &ag.jobs; *pp; pp = &(*pp)->next)
            if (*pp == cancel) {
                *pp = cancel->next;
                break;
            }
    } else if (c->job) {
        c->job->cl = NULL; /* begun: its writer is reaped, its answer dropped */
    }
    mrc_census_free(c->census);
    pthread_mutex_unlock(&ag.lock);
    if (cancel) {
        if (cancel->snap_fd >= 0) close(cancel->snap_fd);
        if (cancel->prof_fd >= 0) close(cancel->prof_fd);
        free(cancel);
        active_add(-1);
    }
    fds_set(2 + slot, -1);
    close(c->fd);
    close_fds(c);
    mf_buf_free(&c->out);
    free(c);
}

/* Closes a connection just accepted that gets no client. */
static void drop_accepted(int fd)
{
    fds_set(ACCEPTING, -1);
    close(fd);
}

/* A new connection: its peer must be this process's user or root. The
 * accept and the table entry happen under fds_lock, so no fork falls
 * between them (see agent_fds). */
static void accept_one(void)
{
    pthread_mutex_lock(&fds_lock);
    int fd = accept4(ag.listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    agent_fds[ACCEPTING] = fd;
    pthread_mutex_unlock(&fds_lock);
    if (fd < 0) return;
    mrc__hold_ms(accept_hold_ms);
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        logf_("cannot read the credentials of a connection (%s); closed it", strerror(errno));
        drop_accepted(fd);
        return;
    }
    if (cr.uid != geteuid() && cr.uid != 0) {
        logf_("refused a connection from uid %lu (pid %ld): only uid %lu and root may attach",
              (unsigned long)cr.uid, (long)cr.pid, (unsigned long)geteuid());
        drop_accepted(fd);
        return;
    }
    int slot = -1;
    pthread_mutex_lock(&ag.lock);
    for (int i = 0; i < MRC_AGENT_MAX_CLIENTS && slot < 0; i++)
        if (!ag.clients[i]) slot = i;
    pthread_mutex_unlock(&ag.lock);
    client *c = slot >= 0 ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        /* the socket is fresh: a short answer fits its buffer */
        mf_at_frame f = {.kind = MF_AT_REPLY,
                         .reply = {false, slot < 0 ? "too many clients are attached to this "
                                                     "program already (at most 4)"
                                                   : "the program is out of memory"}};
        mf_buf b = {0};
        mf_error err;
        if (mf_at_encode(&f, &b, &err) == 0 && send(fd, b.data, b.len, MSG_NOSIGNAL) < 0) errno = 0;
        mf_buf_free(&b);
        drop_accepted(fd);
        return;
    }
    c->fd = fd;
    c->uid = cr.uid;
    c->pid = cr.pid;
    pthread_mutex_lock(&ag.lock);
    ag.clients[slot] = c;
    pthread_mutex_unlock(&ag.lock);
    fds_set(2 + slot, fd);
    fds_set(ACCEPTING, -1);
}

/* Reads what c sent (bytes and descriptors) and handles whole frames.
 * Returns false when c must be closed now; sets *force for force_gc. */
static bool read_client(client *c, bool *force)
{
    for (;;) {
        size_t room = sizeof c->in - c->in_len;
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        } ctl;
        struct iovec iov = {c->in + c->in_len, room};
        struct msghdr m = {.msg_iov = &iov,
                           .msg_iovlen = 1,
                           .msg_control = ctl.buf,
                           .msg_controllen = sizeof ctl.buf};
        ssize_t k = room ? recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) : 0;
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (k <= 0) return false; /* closed by the client (or an error) */
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
            if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
            size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int *fds = (int *)(void *)CMSG_DATA(h);
            for (size_t i = 0; i < n; i++) {
                if (c->nfds < MAX_FDS)
                    c->fds[c->nfds++] = fds[i];
                else
                    close(fds[i]); /* more than a request uses: it will not match */
            }
        }
        if (m.msg_flags & MSG_CTRUNC) {
            logf_("client pid %ld passed more descriptors than a request uses; closing", c->pid);
            return false;
        }
        c->in_len += (size_t)k;
        /* whole frames */
        for (;;) {
            uint32_t len;
            mf_error err;
            int r = mf_at_frame_len(c->in, c->in_len, MF_AT_FROM_CLIENT, &len, &err);
            if (r < 0) {
                logf_("client pid %ld: %s; closing", c->pid, err.msg);
                return false;
            }
            if (r > 0 || c->in_len < 4 + (size_t)len) break;
            mf_at_frame f;
            if (mf_at_decode(c->in + 4, len, MF_AT_FROM_CLIENT, &f, &err) != 0) {
                logf_("client pid %ld: %s; closing", c->pid, err.msg);
                mf_at_frame_free(&f);
                return false;
            }
            if (handle(c, &f)) *force = true;
            mf_at_frame_free(&f);
            memmove(c->in, c->in + 4 + len, c->in_len - 4 - len);
            c->in_len -= 4 + (size_t)len;
            if (c->closing) return true;
        }
    }
}

/* --------------------------------------------------------- the events --- */

/*
 * Growth sites: pc -> function, file, line. The symbolizer may take
 * seconds the first time (it reads DWARF), so the agent's thread never
 * symbolizes: it looks a site up and, for one not seen yet, queues it for
 * the worker thread; records go out with the pc alone until the worker has
 * described it (a growing map is sent again at the next census, named
 * then). Entries are only ever added, at most SYMBOL_CACHE of them, and a
 * described entry never changes, so its strings stay valid while the
 * agent's thread encodes. Under ag.lock.
 */
typedef struct site {
    uintptr_t pc;
    char *fn, *file;
    int64_t line;
    bool ready, busy;
} site;
static site sites[SYMBOL_CACHE];
static size_t nsites;

/* The described site of pc, or NULL (then queued, if new). ag.lock held. */
static const site *site_of(uintptr_t pc)
{
    for (size_t i = 0; i < nsites; i++)
        if (sites[i].pc == pc) return sites[i].ready ? &sites[i] : NULL;
    if (nsites < SYMBOL_CACHE) {
        sites[nsites++] = (site){.pc = pc};
        pthread_cond_signal(&ag.work);
    }
    return NULL;
}

/* A site waiting to be described, marked busy; NULL if none. ag.lock. */
static site *next_site(void)
{
    for (size_t i = 0; i < nsites; i++)
        if (!sites[i].ready && !sites[i].busy) {
            sites[i].busy = true;
            return &sites[i];
        }
    return NULL;
}

/* The worker's part: describes s (outside the lock), then publishes it. */
static void describe_site(site *s)
{
    char fn[512], file[1024];
    int64_t line;
    mrc__describe_pc(s->pc, fn, sizeof fn, file, sizeof file, &line);
    char *f = strdup(fn), *p = strdup(file);
    pthread_mutex_lock(&ag.lock);
    if (f && p) {
        s->fn = f;
        s->file = p;
        s->line = line;
    } else {
        free(f);
        free(p);
        s->fn = s->file = (char *)""; /* out of memory: known, nameless */
    }
    s->ready = true;
    s->busy = false;
    pthread_mutex_unlock(&ag.lock);
}

static void send_event(client *c, event *e)
{
    pthread_mutex_lock(&ag.lock);
    for (size_t i = 0; i < e->nmaps; i++) {
        mf_at_map *m = &e->maps[i];
        const site *s = m->growth_pc ? site_of(m->growth_pc) : NULL;
        if (s) {
            m->growth_function = s->fn;
            m->growth_file = s->file;
            m->growth_line = s->line;
        }
    }
    pthread_mutex_unlock(&ag.lock);
    mf_at_frame f = {.kind = MF_AT_CYCLE};
    f.cycle = (mf_at_cycle){
        .gc_cycle = e->gc.cycle,
        .end_ns = (int64_t)e->gc.end_ns,
        .pause_ns = e->gc.pause_ns,
        .live_bytes = e->gc.live_bytes,
        .live_objects = e->gc.live_objects,
        .garbage_bytes = e->gc.garbage_bytes,
        .next_gc = e->gc.next_gc,
        .total_alloc = e->gc.total_alloc,
        .mallocs = e->gc.mallocs,
        .profile_rate = e->profile_rate,
        .dropped = e->dropped,
        .census = e->census,
        .maps_total = e->maps_total,
        .entries_total = e->entries_total,
        .maps_omitted = e->omitted,
        .agent_ns = e->agent_ns,
        .maps = e->maps,
        .nmaps = e->nmaps,
    };
    send_frame(c, &f);
}

/* Moves c's queued events into its output while little waits there. */
static void pump_events(client *c)
{
    while (c->out.len - c->out_off < OUT_SOFT) {
        event ev[EVENTS_PER_ROUND];
        size_t n = 0;
        pthread_mutex_lock(&ag.lock);
        while (n < EVENTS_PER_ROUND && c->count) {
            ev[n++] = c->ring[c->head];
            c->head = (c->head + 1) % RING;
            c->count--;
        }
        pthread_mutex_unlock(&ag.lock);
        if (!n) return;
        for (size_t i = 0; i < n; i++) {
            if (!c->closing) send_event(c, &ev[i]);
            free_event(&ev[i]);
        }
    }
}

/* ------------------------------------------------------------- jobs --- */

/* Reads a finished writer's outcome and reaps it. */
static void reap_writer(job *j)
{
    ssize_t got;
    do got = read(j->rfd, &j->outcome, sizeof j->outcome);
    while (got < 0 && errno == EINTR);
    int status = 0;
    pid_t r;
    do r = waitpid(j->child, &status, 0);
    while (r < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof j->outcome) {
        memset(&j->outcome, 0, sizeof j->outcome);
        snprintf(j->outcome.msg, sizeof j->outcome.msg, "the snapshot writer process died (%s %d)",
                 WIFSIGNALED(status) ? "signal" : "status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    j->outcome.msg[sizeof j->outcome.msg - 1] = 0;
    close(j->rfd);
    j->rfd = -1;
    j->child = -1;
    j->snap_done = true;
}

/*
 * A writer that has made no progress (no CPU time, no byte written) for
 * writer_stall_s while it did not wait its turn is stuck -- a child forked
 * while another thread held a lock it needs waits on it for ever -- and
 * would hold its client (and the end of the program) for ever: it is
 * killed and reaped, and the job fails saying so. One that waits its turn
 * (runnable but given no CPU, or in I/O: a loaded machine, a slow disk, a
 * full pipe) is slow, not stuck, and is left to finish (procwatch.h).
 */
static void watch_writer(job *j, uint64_t now)
{
    mrc_proc_sample s;
    mrc__proc_sample(j->child, &s);
    if (s.progress != j->activity || mrc__proc_waits_its_turn(s.wait)) {
        j->activity = s.progress;
        j->moved_ns = now;
        return;
    }
    if (now - j->moved_ns < (uint64_t)writer_stall_s * 1000000000u) return;
    pid_t pid = j->child;
    kill(pid, SIGKILL);
    reap_writer(j);
    j->outcome.ok = 0;
    snprintf(j->outcome.msg, sizeof j->outcome.msg,
             "the snapshot writer process (pid %ld) made no progress for %" PRIu32
             " s and was killed (it was %s)",
             (long)pid, writer_stall_s, mrc__proc_wait_name(s.wait));
    logf_("%s", j->outcome.msg);
}

/* Writes a job's profile into its descriptor. It symbolizes, which may
 * take long the first time (DWARF is read): the profile writer's work, so
 * that neither a collection nor the agent's events wait for it. */
static void write_job_profile(job *j)
{
    int fd = j->prof_fd, probe = dup(fd);
    j->prof_fd = -1;
    mf_error err = {{0}};
    mf_out *o = mf_out_fdopen(fd, "the profile", &err);
    bool ok = o && mrc__write_profile_into(&j->prof, o, j->rate, j->cycle, &err) == 0;
    struct stat st;
    uint64_t bytes = probe >= 0 && fstat(probe, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (probe >= 0) close(probe);
    mrc_prof_snapshot_free(&j->prof);
    pthread_mutex_lock(&ag.lock);
    j->prof_ok = ok;
    if (!ok) snprintf(j->prof_msg, sizeof j->prof_msg, "%s", err.msg);
    j->prof_bytes = bytes;
    j->prof_done = true;
    pthread_mutex_unlock(&ag.lock);
}

/* A profile waiting to be written, marked busy; NULL if none. ag.lock. */
static job *next_profile(void)
{
    for (job *j = ag.jobs; j; j = j->next)
        if (j->state == JOB_TAKEN && j->want_prof && j->prof_taken && !j->prof_done &&
            !j->prof_busy) {
            j->prof_busy = true;
            return j;
        }
    return NULL;
}

static site *next_site(void);
static void describe_site(site *s);

/* The worker thread: writes the jobs' profiles as the hook takes their
 * counts, and describes growth sites, both of which symbolize. A job is
 * not freed while its profile is being written (it is not finished before
 * prof_done). */
static void *worker_main(void *arg)
{
    (void)arg;
    /* before the first site or profile is due. Reading the program's
     * debug information is the worker's one long burst of allocation, and
     * it begins just as a client's first snapshot is due: a writer forked
     * meanwhile in a build whose allocator is not fork-safe could hang, so
     * for the fork guard the worker is busy while it warms (such a
     * snapshot is written in place instead; forkguard.h) */
    mrc__fork_busy();
    mrc__symbolizer_warm();
    const char *hold = getenv("MAPROOT_WARM_HOLD_MS"); /* (for tests: a slow warm-up) */
    if (hold && *hold) mrc__hold_ms(strtol(hold, NULL, 10));
    mrc__fork_idle();
    for (;;) {
        pthread_mutex_lock(&ag.lock);
        job *j = NULL;
        site *st = NULL;
        while (!(j = next_profile()) && !(st = next_site())) pthread_cond_wait(&ag.work, &ag.lock);
        pthread_mutex_unlock(&ag.lock);
        if (j) {
            write_job_profile(j);
            wake();
        } else {
            describe_site(st);
        }
    }
    return NULL;
}

/* A job is finished when what it asked for is written (or failed). */
static bool job_finished(const job *j)
{
    return (j->snap_done || !j->want_snap) && (j->prof_done || !j->want_prof);
}

/* Unlinks a finished job, answers its client (if still there), frees it. */
static void finish_job(job *j)
{
    pthread_mutex_lock(&ag.lock);
    for (job **pp = &ag.jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    client *c = j->cl;
    if (c) c->job = NULL;
    pthread_cond_broadcast(&ag.changed);
    pthread_mutex_unlock(&ag.lock);
    active_add(-1);
    if (c && !c->closing) {
        bool snap_ok = !j->want_snap || j->outcome.ok;
        bool ok = snap_ok && (!j->want_prof || j->prof_ok);
        char msg[1100] = "";
        if (!snap_ok)
            snprintf(msg, sizeof msg, "snapshot: %s", j->outcome.msg);
        else if (!ok)
            snprintf(msg, sizeof msg, "profile: %s", j->prof_msg);
        mf_at_frame f = {.kind = MF_AT_SNAPSHOT_DONE, .request_id = j->request_id};
        f.done = (mf_at_done){.ok = ok,
                              .message = msg,
                              .gc_cycle = j->cycle,
                              .forced = j->forced,
                              .snapshot_bytes = j->outcome.file_bytes,
                              .profile_bytes = j->prof_bytes,
                              .pause_ns = j->pause_ns,
                              .objects = j->outcome.objects,
                              .maps = j->outcome.maps,
                              .entries = j->outcome.entries};
        send_frame(c, &f);
    }
    free(j);
}

/*
 * Advances the jobs a collection has taken: profiles to write, writers to
 * reap (their outcome pipes in pf[0..npf), as poll() left them), answers
 * to send. Only this thread removes jobs, so the pointers taken under the
 * lock stay valid; a taken job's snapshot and profile fields are no longer
 * touched by the hook once it set them.
 */
static void run_jobs(const struct pollfd *pf, size_t npf)
{
    uint64_t now = mono_ns();
    job *taken[64];
    size_t n = 0;
    pthread_mutex_lock(&ag.lock);
    for (job *j = ag.jobs; j && n < sizeof taken / sizeof *taken; j = j->next)
        if (j->state == JOB_TAKEN) taken[n++] = j;
    pthread_mutex_unlock(&ag.lock);
    for (size_t k = 0; k < n; k++) {
        job *j = taken[k];
        for (size_t i = 0; i < npf && j->rfd >= 0; i++)
            if (pf[i].fd == j->rfd && pf[i].revents) reap_writer(j);
        if (j->rfd >= 0) watch_writer(j, now);
        if (!ag.writer_on) {
            /* no worker thread: write here */
            pthread_mutex_lock(&ag.lock);
            bool mine = j->want_prof && j->prof_taken && !j->prof_done;
            pthread_mutex_unlock(&ag.lock);
            if (mine) write_job_profile(j);
        }
        pthread_mutex_lock(&ag.lock);
        bool finished = job_finished(j);
        pthread_mutex_unlock(&ag.lock);
        if (finished) finish_job(j);
    }
}

/* ------------------------------------------------------------ the hook --- */

static void note_map(mr_map *m, uint64_t id, void *ud)
{
    (void)ud;
    if (!ag.walk_ok) return;
    if (ag.nwalk == ag.capwalk) {
        size_t cap = ag.capwalk ? ag.capwalk * 2 : 256;
        mrc_census_map *v = realloc(ag.walk, cap * sizeof *v);
        if (!v) {
            ag.walk_ok = false;
            return;
        }
        ag.walk = v;
        ag.capwalk = cap;
    }
    mr_map_info in;
    mr_map_get_info(m, &in);
    const char *op;
    uintptr_t pc = mr_map_last_insert(m, &op);
    ag.walk[ag.nwalk++] = (mrc_census_map){
        .id = id,
        .address = (uintptr_t)m,
        .type = in.type && in.type->name ? in.type->name : "map[?]?",
        .count = in.count,
        .bucket_size = in.bucket_size,
        .lists_bytes = mrc__map_lists_bytes(m),
        .growth_pc = pc,
        .growth_op = op,
        .noverflow = in.noverflow,
        .b = in.B,
        .growing = in.oldbuckets != NULL,
    };
    ag.walk_entries += in.count;
}

/* Takes job j's snapshot at this MARK_DONE (forked writer, or in place). */
static void take_job(job *j, uint32_t cycle)
{
    j->state = JOB_TAKEN;
    j->cycle = cycle;
    j->forced = ag.forcing;
    if (!j->want_snap) return;
    uint64_t t0 = mono_ns();
    mf_error err;
    mf_out *o = mf_out_fdopen(j->snap_fd, "the snapshot", &err);
    j->snap_fd = -1;
    if (!o) {
        snprintf(j->outcome.msg, sizeof j->outcome.msg, "%s", err.msg);
        j->snap_done = true;
        return;
    }
    if (mrc__snapshot_take_into(o, cycle, &j->child, &j->rfd, &j->outcome) != 0 || j->child < 0)
        j->snap_done = true; /* written in place, or failed: the outcome says */
    j->moved_ns = mono_ns(); /* (the writer's progress is sampled by the thread) */
    j->pause_ns = j->moved_ns - t0;
}

/* MARK_DONE: the census walk if one is due, the snapshots jobs wait for. */
static void at_mark_done(uint32_t cycle)
{
    uint64_t now = mono_ns();
    ag.census_due = false;
    for (int i = 0; i < MRC_AGENT_MAX_CLIENTS; i++) {
        client *c = ag.clients[i];
        if (c && c->subscribed && now >= c->next_census_ns && c->count < RING) ag.census_due = true;
    }
    if (ag.census_due) {
        ag.nwalk = 0;
        ag.walk_entries = 0;
        ag.walk_ok = true;
        mr_walk_maps(note_map, NULL);
    }
    /* every job that waits is of this collection (a writer each: clients
     * rarely ask at once, and each must get its files) */
    for (job *j = ag.jobs; j; j = j->next)
        if (j->state == JOB_WAITING) take_job(j, cycle);
}

/* END: an event per subscribed client, the profile counts of jobs of
 * this cycle. */
static void at_end(uint32_t cycle, uint64_t t0)
{
    uint64_t before = ag.mark_cycle == cycle ? ag.mark_ns : 0;
    mr_gc_cycle gc;
    mr_read_gc_cycle(&gc);
    uint64_t now = mono_ns(), rate = mrc_profile_rate();
    for (int i = 0; i < MRC_AGENT_MAX_CLIENTS; i++) {
        client *c = ag.clients[i];
        if (!c || !c->subscribed) continue;
        if (c->count == RING) {
            c->dropped++;
            continue;
        }
        event e = {.gc = gc, .profile_rate = rate, .dropped = c->dropped};
        if (ag.census_due && ag.walk_ok && now >= c->next_census_ns &&
            mrc_census_take(c->census, ag.walk, ag.nwalk, cycle, c->max_maps, &e.maps, &e.nmaps,
                            &e.omitted) == 0) {
            e.census = true;
            e.maps_total = ag.nwalk;
            e.entries_total = ag.walk_entries;
            c->next_census_ns = now + (uint64_t)c->census_ms * 1000000u;
        }
        c->dropped = 0;
        e.agent_ns = before + (mono_ns() - t0);
        c->ring[(c->head + c->count) % RING] = e;
        c->count++;
    }
    ag.census_due = false;
    mrc_prof *prof = mrc__prof();
    for (job *j = ag.jobs; j; j = j->next) {
        if (j->state != JOB_TAKEN || j->cycle != cycle || !j->want_prof || j->prof_taken) continue;
        j->rate = mrc__profile_sample_rate();
        if (!prof || mrc_prof_snapshot_take(prof, false, &j->prof) != 0) {
            snprintf(j->prof_msg, sizeof j->prof_msg, "out of memory taking the profile");
            j->prof_done = true;
            close(j->prof_fd);
            j->prof_fd = -1;
        }
        j->prof_taken = true;
        pthread_cond_signal(&ag.work);
    }
}

void mrc__agent_on_gc(mr_gc_event ev, uint32_t cycle)
{
    if (atomic_load_explicit(&ag.active, memory_order_relaxed) == 0) return;
    if (atomic_load(&in_forked_child) || ev == MR_GC_START) return;
    uint64_t t0 = mono_ns();
    pthread_mutex_lock(&ag.lock);
    if (ev == MR_GC_MARK_DONE) {
        at_mark_done(cycle);
        ag.mark_cycle = cycle;
        ag.mark_ns = mono_ns() - t0;
    } else {
        at_end(cycle, t0);
    }
    pthread_mutex_unlock(&ag.lock);
    if (ev == MR_GC_END) wake();
}

/* --------------------------------------------------------- the thread --- */

/* Says goodbye to every client (the program ends) and closes them,
 * waiting at most until deadline for their sockets to take it. */
static void say_goodbye(uint64_t deadline)
{
    for (int i = 0; i < MRC_AGENT_MAX_CLIENTS; i++) {
        client *c = ag.clients[i];
        if (!c) continue;
        pump_events(c);
        mf_at_frame f = {.kind = MF_AT_GOODBYE, .goodbye = {"the program is exiting"}};
        send_frame(c, &f);
        while (flush_out(c) && c->out.len && mono_ns() < deadline) {
            struct pollfd p = {c->fd, POLLOUT, 0};
            poll(&p, 1, 50);
        }
        drop_client(c, i);
    }
}

static void *agent_main(void *arg)
{
    (void)arg;
    struct pollfd pf[2 + 2 * MRC_AGENT_MAX_CLIENTS + 8];
    work_begin();
    for (;;) {
        pthread_mutex_lock(&ag.lock);
        bool exiting = ag.exiting;
        pthread_mutex_unlock(&ag.lock);
        if (exiting) {
            say_goodbye(mono_ns() + 1000000000ull);
            pthread_mutex_lock(&ag.lock);
            ag.thread_done = true;
            pthread_cond_broadcast(&ag.changed);
            pthread_mutex_unlock(&ag.lock);
            work_end();
            return NULL;
        }
        size_t n = 0;
        pf[n++] = (struct pollfd){ag.wake_fd, POLLIN, 0};
        pf[n++] = (struct pollfd){ag.listen_fd, POLLIN, 0};
        int timeout = -1;
        for (int i = 0; i < MRC_AGENT_MAX_CLIENTS; i++) {
            client *c = ag.clients[i];
            if (!c) continue;
            short evs = POLLIN;
            if (c->out.len > c->out_off) {
                evs |= POLLOUT;
                timeout = 1000; /* to notice a client that stopped reading */
            }
            pf[n++] = (struct pollfd){c->fd, evs, 0};
        }
        size_t first_job = n;
        pthread_mutex_lock(&ag.lock);
        for (job *j = ag.jobs; j && n < sizeof pf / sizeof *pf; j = j->next)
            if (j->rfd >= 0) pf[n++] = (struct pollfd){j->rfd, POLLIN, 0};
        pthread_mutex_unlock(&ag.lock);
        if (n > first_job && (timeout < 0 || timeout > 1000))
            timeout = 1000; /* to watch the writers' progress */
        work_end();
        int polled = poll(pf, n, timeout);
        work_begin();
        if (polled < 0 && errno != EINTR) {
            logf_("poll failed (%s); the agent stops", strerror(errno));
            work_end();
            return NULL;
        }
        if (pf[0].revents) {
            uint64_t v;
            if (read(ag.wake_fd, &v, sizeof v) < 0) errno = 0;
        }
        if (pf[1].revents & POLLIN) accept_one();
        bool force = false;
        uint64_t now = mono_ns();
        size_t k = 2;
        for (int i = 0; i < MRC_AGENT_MAX_CLIENTS; i++) {
            client *c = ag.clients[i];
            if (!c) continue;
            /* a client accepted just now has no entry in this round's set */
            short rev = k < first_job && pf[k].fd == c->fd ? pf[k++].revents : 0;
            bool ok = true;
            if (rev & (POLLIN | POLLHUP | POLLERR)) ok = read_client(c, &force);
            if (ok) pump_events(c);
            if (ok) ok = flush_out(c);
            /* a client that stalled in this very round has stalled_since
             * after now: it has waited nothing yet */
            if (ok && c->stalled_since && now > c->stalled_since &&
                now - c->stalled_since > STALL_NS) {
                logf_("client pid %ld took nothing for 60 s; closing it", c->pid);
                ok = false;
            }
            if (!ok || (c->closing && c->out.len == 0)) drop_client(c, i);
        }
        run_jobs(pf + first_job, n - first_job);
        /* answers of jobs just done */
        for (int i = 0; i < MRC_AGENT_MAX_CLIENTS; i++) {
            client *c = ag.clients[i];
            if (c && !flush_out(c)) drop_client(c, i);
        }
        if (force) force_collection();
    }
}

/* ------------------------------------------------------- start and end --- */

/* The listening socket at path (a stale one of a dead process with our
 * pid is replaced); -1 with one line on stderr. Between bind and listen a
 * client would be refused: maproot's cleanup of stale sockets tells this
 * case by the socket being newer than the process (attach_endpoint.h). */
static int listen_at(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        logf_("cannot make a socket: %s; attaching is off", strerror(errno));
        return -1;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 && errno == EADDRINUSE) {
        /* our pid, so whoever made it is gone, unless another copy of the
         * collector in this very process made it */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&a, sizeof a) == 0;
        if (probe >= 0) close(probe);
        if (live) {
            logf_("%s is served by another copy of the collector in this process; this one "
                  "stays off",
                  path);
            close(fd);
            return -1;
        }
        unlink(path);
        rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    }
    if (rc == 0 && (chmod(path, 0600) != 0 || listen(fd, 8) != 0)) {
        int e = errno;
        unlink(path);
        errno = e;
        rc = -1;
    }
    if (rc != 0) {
        logf_("cannot listen on %s: %s; attaching is off", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * At exit: a snapshot a client waits for is taken now, from a last
 * collection (the exiting thread's frames are no roots any more), and
 * waited for; then every client is told goodbye and the endpoint removed.
 * Not in a forked child: the endpoint is its parent's.
 */
static void agent_exit(void)
{
    if (getpid() != ag.owner || atomic_load(&in_forked_child)) return;
    pthread_mutex_lock(&ag.lock);
    bool waiting = false;
    for (job *j = ag.jobs; j; j = j->next) waiting |= j->state == JOB_WAITING && j->cl;
    pthread_mutex_unlock(&ag.lock);
    if (waiting) {
        mr_exiting();
        mr_gc();
    }
    bool attached = mr_thread_is_attached();
    if (attached) mr_blocking_enter();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += EXIT_WAIT_NS / 1000000000ull;
    pthread_mutex_lock(&ag.lock);
    while (ag.jobs && pthread_cond_timedwait(&ag.changed, &ag.lock, &until) == 0) {
    }
    ag.exiting = true;
    pthread_mutex_unlock(&ag.lock);
    wake();
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&ag.lock);
    while (!ag.thread_done && pthread_cond_timedwait(&ag.changed, &ag.lock, &until) == 0) {
    }
    pthread_mutex_unlock(&ag.lock);
    if (attached) mr_blocking_exit();
    unlink(ag.path);
}

static void read_writer_stall(void)
{
    const char *stall = getenv("MAPROOT_WRITER_STALL");
    if (stall && *stall) {
        char *end;
        unsigned long v = strtoul(stall, &end, 10);
        if (*end || v == 0 || v > 86400)
            logf_("MAPROOT_WRITER_STALL=%s is not a number of seconds (1 to 86400); using %d", stall,
                  WRITER_STALL_S);
        else
            writer_stall_s = (uint32_t)v;
    }
}

uint32_t mrc__writer_stall_s(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_writer_stall);
    return writer_stall_s;
}

bool mrc__agent_init(void)
{
    const char *e = getenv("MAPROOT_ATTACH");
    if (e && strcmp(e, "0") == 0) return false;
    for (size_t i = 0; i < sizeof agent_fds / sizeof *agent_fds; i++) agent_fds[i] = -1;
    const char *ah = getenv("MAPROOT_ACCEPT_HOLD_MS");
    if (ah && *ah) accept_hold_ms = strtol(ah, NULL, 10);
    uid_t uid = geteuid();
    mf_at_dirs dirs;
    mf_at_endpoint_dirs(uid, &dirs);
    mf_error err = {{0}}, first = {{0}};
    bool found = false;
    for (size_t i = 0; i < dirs.n && !found; i++) {
        if (mf_at_endpoint_dir_check(dirs.dir[i], uid, true, &err) == 0 &&
            mf_at_endpoint_path(dirs.dir[i], getpid(), ag.path, &err) == 0)
            found = true;
        else if (!first.msg[0])
            first = err;
    }
    if (!found) {
        logf_("no private directory for the endpoint (%s); attaching is off", first.msg);
        return false;
    }
    ag.listen_fd = listen_at(ag.path);
    if (ag.listen_fd < 0) return false;
    ag.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ag.wake_fd < 0) {
        logf_("cannot make an eventfd: %s; attaching is off", strerror(errno));
        close(ag.listen_fd);
        unlink(ag.path);
        return false;
    }
    (void)mrc__writer_stall_s(); /* a wrong value is told now, not at the first stall */
    ag.owner = getpid();
    ag.start_ns = mf_at_process_start_ns(getpid());
    agent_fds[0] = ag.listen_fd;
    agent_fds[1] = ag.wake_fd;
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    int rc = mrc__start_thread(agent_main);
    if (rc != 0) {
        logf_("cannot start the agent thread: %s; attaching is off", strerror(rc));
        close(ag.listen_fd);
        close(ag.wake_fd);
        unlink(ag.path);
        return false;
    }
    ag.on = true;
    atexit(agent_exit);
    return true;
}

void mrc__agent_wait_for_client(void)
{
    const char *env = getenv("MAPROOT_ATTACH_WAIT");
    if (!env || !*env) return;
    char w[64];
    snprintf(w, sizeof w, "%s", env);
    unsetenv("MAPROOT_ATTACH_WAIT"); /* for this process only, not its children */
    char *end;
    double secs = strtod(w, &end);
    if (*end || !(secs > 0)) {
        logf_("MAPROOT_ATTACH_WAIT=%s is not a positive number of seconds; not waiting", w);
        return;
    }
    if (!ag.on) return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)secs;
    until.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
    if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
    pthread_mutex_lock(&ag.lock);
    while (!ag.subscribed_once && pthread_cond_timedwait(&ag.changed, &ag.lock, &until) == 0) {
    }
    bool got = ag.subscribed_once;
    pthread_mutex_unlock(&ag.lock);
    if (!got) logf_("no client subscribed within %s s (MAPROOT_ATTACH_WAIT); going on", w);
}
