/*
 * examples/sessiond.c -- leak pattern 1: a cache in a global map that is
 * never evicted.
 *
 * A toy session daemon: every login creates a Session (a small header plus a
 * 1-2 KiB blob of serialized user state) and stores it in the global
 * session_cache, a map[string]*Session keyed by user name, so that later
 * requests of the same user find it. Nothing ever removes a session: the map
 * is the only thing that still refers to sessions of users who left long ago,
 * so the collector must keep every one of them. The heap grows with the number
 * of distinct users ever seen.
 *
 * For maproot this is the classic case: the allocation site of the growth is
 * new_session(), and the retainer is the global session_cache.
 */
#include "example.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum { NUSERS = 120000, REQUESTS_PER_USER = 2 };

typedef struct Session {
    mr_str user; /* the map key, shared with the map */
    int64_t id;
    int64_t created_ns;
    uint8_t *state; /* blob: serialized user state */
    size_t state_len;
} Session;

MR_TYPE(session_type, Session, MR_FIELD(Session, user.ptr), MR_FIELD(Session, state));

static const mr_map_type session_map_type = {
    .name = "map[string]*Session",
    .key_kind = MR_KEY_STRING,
    .key_type = NULL,
    .value_type = &mr_type_pointer,
};

/* The cache: user name -> *Session. Registered as a named root. */
static mr_map *session_cache;
MR_GLOBAL(session_cache)

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Allocates a session and its state blob: the allocation site a heap profile
 * of this program points at. noinline keeps it a frame of its own. */
__attribute__((noinline)) static Session *new_session(int64_t id, mr_str user)
{
    Session *s = mr_new(&session_type);
    s->id = id;
    s->user = user;
    s->created_ns = now_ns();
    s->state_len = 1024 + (size_t)((id * 7919) % 1024);
    s->state = mr_alloc_blob(s->state_len);
    for (size_t i = 0; i < s->state_len; i += 64) s->state[i] = (uint8_t)(id + (int64_t)i);
    return s;
}

/* Finds the user's session, creating (and caching) it on first sight. */
static Session *lookup_or_login(int64_t id)
{
    mr_str user = mr_str_printf("user-%" PRId64, id);
    Session *s = NULL;
    if (mr_map_get(session_cache, &user, &s)) return s;
    s = new_session(id, user);
    mr_map_set(session_cache, &s->user, &s); /* never deleted: the leak */
    return s;
}

/* Serves one request: reads a little of the session state. */
static uint64_t handle_request(int64_t user_id)
{
    Session *s = lookup_or_login(user_id);
    return s->state[0] + s->state_len;
}

int main(void)
{
    session_cache = mr_map_new(&session_map_type, 0);

    /* Each user logs in and makes a couple of requests, then goes away for
     * good; its session stays. */
    uint64_t checksum = 0;
    for (int round = 0; round < REQUESTS_PER_USER; round++)
        for (int64_t u = 0; u < NUSERS; u++) checksum += handle_request(u);

    printf("sessiond: served %d requests for %d users (checksum %" PRIu64 ")\n",
           NUSERS * REQUESTS_PER_USER, NUSERS, checksum);
    printf("sessiond: session_cache holds %zu sessions\n\n", mr_map_len(session_cache));
    if (mr_map_len(session_cache) != NUSERS) return 1;

    example_report(
        "sessiond",
        "session_cache is a global map[string]*Session that is only ever added to: every "
        "user who logged in once still has a Session and its 1-2 KiB state blob in the "
        "heap, although nobody will ask for most of them again. The collector cannot "
        "free them because the global map refers to them, so heap_alloc grows with the "
        "number of distinct users ever seen. The allocation site is new_session(); the "
        "retainer is the global session_cache. Fix: bound the cache (evict the least "
        "recently used, or expire idle sessions with mr_map_delete).");
    return 0;
}
