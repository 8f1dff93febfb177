/*
 * examples/leakcheck_test.c -- a leak check in a C test suite: the same test
 * of two session stores, one that evicts and one that does not.
 *
 * The code under test is a session store in a global map[string]*Session:
 * login() adds the user's session, and a store with a capacity evicts the
 * oldest session once it is full. Each test serves a batch of logins inside
 * MRC_LEAKCHECK (libmaproot, maproot/collector.h): the block runs once to
 * warm up (the store fills to its capacity), then once more between two
 * censuses of the heap's maps, and fails when a map grew. The test of the
 * bounded store passes; the test of the unbounded store fails, and its
 * report says which map grew, which root holds it, which keys were added
 * and where their values were allocated -- as `maproot gate` would.
 *
 * usage: leakcheck_test            both tests, showing the failing one's
 *                                  report; exits 0 when the bounded store
 *                                  passes and the unbounded one fails
 *        leakcheck_test bounded    one test, as a test suite runs it: an
 *        leakcheck_test unbounded  assert that fails (abort) on a leak
 * Run it with MAPROOT_PROFILE_RATE=1 so that every allocation is sampled and
 * the report names the line that allocated the leaked values.
 */
#undef NDEBUG /* the asserts are the tests */
#include "example.h"

#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { CAPACITY = 2000, LOGINS = 3000 };

typedef struct Session {
    mr_str user;
    uint8_t *state; /* blob */
} Session;

MR_TYPE(session_type, Session, MR_FIELD(Session, user.ptr), MR_FIELD(Session, state));

static const mr_map_type sessions_type = {"map[string]*Session", MR_KEY_STRING, NULL,
                                          &mr_type_pointer};

/* ------------------------------------------------------ the code under test */

static mr_map *sessions;
MR_GLOBAL(sessions)
static size_t capacity; /* 0: unbounded */
static int64_t next_user, oldest_user;

__attribute__((noinline)) static Session *new_session(mr_str user)
{
    Session *s = mr_new(&session_type);
    s->user = user;
    s->state = mr_alloc_blob(256);
    return s;
}

static void login(void)
{
    if (capacity && mr_map_len(sessions) >= capacity) {
        mr_str old = mr_str_printf("user-%" PRId64, oldest_user++);
        mr_map_delete(sessions, &old);
    }
    Session *s = new_session(mr_str_printf("user-%" PRId64, next_user++));
    mr_map_set(sessions, &s->user, &s);
}

static void store_open(size_t cap)
{
    sessions = mr_map_new(&sessions_type, 0);
    capacity = cap;
    next_user = oldest_user = 0;
}

/* ------------------------------------------------------------- the tests */

/* Serves LOGINS logins under a leak check; returns its verdict (the
 * report printed when it failed). */
static int logins_under_leakcheck(void)
{
    mrc_leakcheck lc = {.warmups = 1};
    mrc_leak_report r;
    MRC_LEAKCHECK(&lc, &r)
    {
        for (int i = 0; i < LOGINS; i++) login();
    }
    if (r.status != 0) fputs(r.text, stdout);
    int status = r.status;
    mrc_leak_report_free(&r);
    return status;
}

static void test_bounded_store_does_not_leak(void)
{
    store_open(CAPACITY);
    assert(logins_under_leakcheck() == 0);
    printf("test_bounded_store_does_not_leak: ok\n");
}

static void test_unbounded_store_does_not_leak(void)
{
    store_open(0);
    assert(logins_under_leakcheck() == 0); /* fails: the store keeps every session */
    printf("test_unbounded_store_does_not_leak: ok\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bounded") == 0) {
        test_bounded_store_does_not_leak();
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "unbounded") == 0) {
        test_unbounded_store_does_not_leak();
        return 0;
    }
    /* both, as a demonstration: the second check must fail */
    test_bounded_store_does_not_leak();
    store_open(0);
    printf("\nthe same test of a store without eviction:\n");
    int status = logins_under_leakcheck();
    printf("test_unbounded_store_does_not_leak: %s\n\n", status == 1 ? "FAIL (as it should)" : "?");
    if (status != 1) return 1;
    example_report_as(
        "leakcheck_test", "what the checks showed",
        "The leak check took a census of the heap's maps before and after the judged run of "
        "each test block: the bounded store's map stayed at its capacity, the unbounded "
        "store's map gained every session of the run, and its report named the map, the "
        "global that holds it, the keys it gained and where their values were allocated. "
        "In a test suite, assert on the check's status; meson test then fails the test.");
    return 0;
}
