/*
 * tests/test_threads.c -- several mutators, collections stopping them all.
 *
 * Four threads each keep a private map of int64 -> *Item and a linked list,
 * insert, overwrite and delete while collections run (triggered by any of
 * them through the pacer, and explicitly by the main thread), and check
 * after every step that what they can reach is intact. A fifth thread spends
 * its time blocked in a bracketed sleep, which must not stall collections.
 * Built also with ThreadSanitizer (scripts/test's TSan step).
 */
#include "check.h"
#include "wait_child.h"
#include "maproot/rt.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct Item {
    struct Item *next;
    int64_t id;
    int64_t check;
} Item;
MR_TYPE(item_type, Item, MR_FIELD(Item, next));

static const mr_map_type items_map = {"map[int64]*Item", MR_KEY_INT64, NULL, &mr_type_pointer};

enum { NTHREADS = 4, ROUNDS = 30, KEYS = 2000 };
static atomic_int errors;
static atomic_int done_workers;

static void *worker(void *arg)
{
    int64_t seed = (int64_t)(intptr_t)arg;
    mr_map *m = mr_map_new(&items_map, 0);
    Item *list = NULL;
    for (int r = 0; r < ROUNDS; r++) {
        for (int64_t k = 0; k < KEYS; k++) {
            Item *it = mr_new(&item_type);
            it->id = k;
            it->check = k * 31 + seed + r;
            *(Item **)mr_map_assign(m, &k) = it;
            if (k % 7 == 0) {
                Item *l = mr_new(&item_type);
                l->id = k;
                l->next = list;
                list = l;
            }
        }
        for (int64_t k = 0; k < KEYS; k += 3) mr_map_delete(m, &k);
        for (int64_t k = 0; k < KEYS; k++) {
            Item **v = mr_map_lookup(m, &k);
            if (k % 3 == 0) {
                if (v) atomic_fetch_add(&errors, 1);
            } else if (!v || (*v)->id != k || (*v)->check != k * 31 + seed + r) {
                atomic_fetch_add(&errors, 1);
            }
        }
        for (int i = 0; i < 3000; i++) mr_alloc_blob(64); /* garbage to pace collections */
    }
    size_t n = 0;
    for (Item *l = list; l; l = l->next) n++;
    if (n != (size_t)ROUNDS * ((KEYS + 6) / 7)) atomic_fetch_add(&errors, 1);
    atomic_fetch_add(&done_workers, 1);
    return NULL;
}

static atomic_int sleeper_stop;
static atomic_int sleeper_up; /* it has attached and holds its Item */
static void *sleeper(void *arg)
{
    (void)arg;
    Item *mine = mr_new(&item_type);
    mine->id = 4242;
    atomic_store(&sleeper_up, 1);
    while (!atomic_load(&sleeper_stop)) {
        mr_blocking_enter();
        usleep(2000);
        mr_blocking_exit();
        if (mine->id != 4242) atomic_fetch_add(&errors, 1);
    }
    return NULL;
}

static void test_four_mutators_with_collections(void)
{
    pthread_t th[NTHREADS], sl;
    mr_memstats s0, s1;
    mr_read_memstats(&s0);
    pthread_create(&sl, NULL, sleeper, NULL);
    for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    while (atomic_load(&done_workers) < NTHREADS) {
        mr_gc();
        mr_blocking_enter();
        usleep(1000);
        mr_blocking_exit();
    }
    mr_blocking_enter();
    for (int i = 0; i < NTHREADS; i++) pthread_join(th[i], NULL);
    atomic_store(&sleeper_stop, 1);
    pthread_join(sl, NULL);
    mr_blocking_exit();
    mr_read_memstats(&s1);
    CHECK_EQ_U64(atomic_load(&errors), 0);
    CHECK(s1.num_gc > s0.num_gc + 2);
    CHECK(s1.mallocs - s0.mallocs >= (uint64_t)NTHREADS * ROUNDS * KEYS);
    /* Every worker has exited: their maps are garbage now. */
    mr_gc();
    mr_memstats s2;
    mr_read_memstats(&s2);
    CHECK(s2.heap_objects < s1.heap_objects);
}

static void *attach_detach(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++) {
        mr_thread_attach();
        mr_new(&item_type);
        mr_thread_detach();
    }
    return NULL;
}

static void test_threads_attach_and_detach_during_collections(void)
{
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, attach_detach, NULL);
    for (int i = 0; i < 20; i++) mr_gc();
    mr_blocking_enter();
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    mr_blocking_exit();
    mr_gc();
}

/* Globals that a thread which is not attached registers and drops while
 * collections scan the list (as a dlopen constructor on a library's own
 * thread does): the scan must neither read the list as it is reallocated
 * nor lose the globals that stay registered. */
enum { EXTRA_GLOBALS = 300 };
static void *extra_slots[EXTRA_GLOBALS];
static Item *kept;
static atomic_int registering_done;

static void *register_unattached(void *arg)
{
    (void)arg;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < EXTRA_GLOBALS; i++)
            mr_register_global(&extra_slots[i], "extra", __FILE__, __LINE__);
        for (int i = EXTRA_GLOBALS; i-- > 0;) mr_unregister_global(&extra_slots[i]);
    }
    atomic_store(&registering_done, 1);
    return NULL;
}

static void test_globals_registered_off_the_runtime_during_collections(void)
{
    kept = mr_new(&item_type);
    kept->id = 42;
    kept->check = ~42;
    mr_register_global((void **)&kept, "kept", __FILE__, __LINE__);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, register_unattached, NULL) == 0);
    int collections = 0;
    while (!atomic_load(&registering_done) || collections < 5) {
        for (int i = 0; i < 64; i++) mr_new(&item_type); /* garbage to sweep */
        mr_gc();
        collections++;
    }
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
    mr_gc();
    CHECK(kept->id == 42 && kept->check == ~42);
    MR_UNREGISTER_GLOBAL(kept);
}

/*
 * An iterator kept in malloc'd memory outlives the thread that began it: it
 * stays a root, so its map (held by nothing else) lives on, and any thread
 * may walk it on and end it. The thread hides the map's address from the
 * scan (complemented) so that only the iterator can keep the map.
 */
enum { ORPHAN_KEYS = 500 };
static uintptr_t orphan_map_hidden;
static int64_t orphan_first_key;

static void *begin_iteration_and_exit(void *arg)
{
    mr_map_iter *iter = arg;
    mr_map *m = mr_map_new(&items_map, 0);
    for (int64_t k = 0; k < ORPHAN_KEYS; k++) {
        Item *it = mr_new(&item_type);
        it->id = k;
        it->check = k * 7 + 1;
        *(Item **)mr_map_assign(m, &k) = it;
    }
    orphan_map_hidden = ~(uintptr_t)m;
    mr_map_iter_init(iter, m);
    orphan_first_key = mr_map_iter_next(iter) ? *(const int64_t *)iter->key : -1;
    return NULL; /* the thread exits with the iterator open */
}

/* Maps and items like the orphan's, with other contents, to take the place
 * of the orphan's map if a collection frees it. */
static void churn_and_collect(void)
{
    for (int round = 0; round < 3; round++) {
        mr_map *m = mr_map_new(&items_map, 0);
        for (int64_t k = 0; k < ORPHAN_KEYS; k++) {
            Item *it = mr_new(&item_type);
            it->id = -1;
            it->check = -1;
            *(Item **)mr_map_assign(m, &k) = it;
        }
        mr_gc();
    }
}

static void count_roots_of_orphan(const mr_root *r, void *ud)
{
    if (r->kind == MR_ROOT_ITERATOR && (uintptr_t)r->target == ~orphan_map_hidden) ++*(int *)ud;
}

static int iterator_roots_of_orphan(void)
{
    int n = 0;
    mr_stop_the_world();
    mr_walk_roots(false, count_roots_of_orphan, &n);
    mr_start_the_world();
    return n;
}

/* Runs begin_iteration_and_exit on a thread of its own, to its exit. */
static bool orphan_iterator(mr_map_iter *iter)
{
    pthread_t th;
    if (pthread_create(&th, NULL, begin_iteration_and_exit, iter) != 0) return false;
    mr_blocking_enter(); /* its collections must not wait for us */
    int rc = pthread_join(th, NULL);
    mr_blocking_exit();
    return rc == 0 && orphan_first_key >= 0;
}

static void test_an_iterator_outlives_its_thread(void)
{
    mr_map_iter *iter = malloc(sizeof *iter);
    CHECK(iter && orphan_iterator(iter));
    churn_and_collect();
    CHECK_EQ_U64(iterator_roots_of_orphan(), 1); /* the map, through the iterator */
    /* Walked on by another thread: every other entry, intact, once. */
    static bool seen[ORPHAN_KEYS];
    memset(seen, 0, sizeof seen);
    seen[orphan_first_key] = true;
    size_t n = 1, bad = 0;
    while (mr_map_iter_next(iter)) {
        int64_t k = *(const int64_t *)iter->key;
        Item *it = *(Item **)iter->value;
        if (k < 0 || k >= ORPHAN_KEYS || seen[k] || it->id != k || it->check != k * 7 + 1) {
            bad++;
            continue;
        }
        seen[k] = true;
        n++;
    }
    CHECK_EQ_U64(bad, 0);
    CHECK_EQ_U64(n, ORPHAN_KEYS);
    /* Reaching the end ended it: no root any more. */
    CHECK_EQ_U64(iterator_roots_of_orphan(), 0);

    /* Ended by another thread without walking it: the same. */
    CHECK(orphan_iterator(iter));
    mr_gc();
    CHECK_EQ_U64(iterator_roots_of_orphan(), 1);
    mr_map_iter_done(iter);
    mr_map_iter_done(iter); /* twice is harmless, as for any iterator */
    CHECK_EQ_U64(iterator_roots_of_orphan(), 0);
    free(iter);
}

/* A stack or register root of a thread other than *ud counts into ud[1]. */
static void count_foreign_frames(const mr_root *r, void *ud)
{
    uint32_t *t = ud;
    if ((r->kind == MR_ROOT_STACK || r->kind == MR_ROOT_REGISTER) && r->thread != t[0]) t[1]++;
}

/* A stack root of the calling thread, to learn its number. */
static void own_thread(const mr_root *r, void *ud)
{
    uint32_t *t = ud;
    if (r->kind == MR_ROOT_STACK && t[0] == 0) t[0] = r->thread;
}

/*
 * After fork only the forking thread exists in the child: a collection
 * there must not wait for the other attached threads or the mark helpers
 * (it hung), and their frames are no roots of the child. The child reports
 * through its exit status; one that hangs is described and killed
 * (wait_child.h).
 */
/* how long the child may take: a bound for a failure only */
enum { CHILD_LIMIT_S = 30 };

static void test_a_forked_child_collects_alone(void)
{
    atomic_store(&sleeper_stop, 0);
    atomic_store(&sleeper_up, 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, sleeper, NULL) == 0);
    /* the fork below must leave an attached thread behind */
    mr_blocking_enter();
    while (!atomic_load(&sleeper_up)) usleep(1000);
    mr_blocking_exit();
    Item *volatile mine = mr_new(&item_type);
    mine->id = 7;
    mr_gc();
    fflush(stdout);
    fflush(stderr);
    mr_blocking_enter();
    pid_t pid = fork();
    if (pid == 0) {
        mr_blocking_exit();
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 1000; k++) mr_new(&item_type);
            mr_gc();
        }
        uint32_t t[2] = {0, 0};
        mr_stop_the_world();
        mr_walk_roots(false, own_thread, t);
        mr_walk_roots(false, count_foreign_frames, t);
        mr_start_the_world();
        _exit(mine->id == 7 && t[0] != 0 && t[1] == 0 ? 0 : 3);
    }
    static int status; /* written in a blocking section: not on this frame (wait_child.h) */
    status = 0;
    bool ended = pid > 0 && wait_child(pid, &status, CHILD_LIMIT_S, "the forked child");
    mr_blocking_exit();
    atomic_store(&sleeper_stop, 1);
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
    CHECK(ended);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Walks the calling thread's stack to its end with libunwind, as the
 * runtime does when a thread enters a blocking section or parks; the
 * number of frames. */
__attribute__((noinline)) static int unwind_own_stack(void)
{
    unw_context_t ctx;
    unw_cursor_t cur;
    int frames = 0;
    unw_getcontext(&ctx);
    if (unw_init_local(&cur, &ctx) != 0) return 0;
    while (unw_step(&cur) > 0) frames++;
    return frames;
}

static atomic_int unwinder_stop;

/* Collects without pause until told to stop (each collection unwinds
 * from its caller's frame first), emptying libunwind's cache of unwind
 * rules each time: the unwind then reads the rules anew at every step,
 * all the while holding the cache's lock. */
static void *unwinder(void *arg)
{
    (void)arg;
    mr_thread_attach();
    while (!atomic_load(&unwinder_stop)) {
        unw_flush_cache(unw_local_addr_space, 0, 0);
        mr_gc();
    }
    mr_thread_detach();
    return NULL;
}

/*
 * A fork while another thread of the runtime unwinds leaves the child able
 * to unwind: libunwind's locks are not handed over at fork, the other
 * thread often held one at the fork, and the child's first unwind (its
 * first blocking section or collection) waited on it for ever. The other
 * thread does nothing but collect, and each collection starts with an
 * unwind.
 */
enum { UNWIND_FORKS = 200 };

static void test_a_fork_while_another_thread_unwinds_leaves_the_child_unwinding(void)
{
    mr_gc(); /* the runtime is up: its choice of unwind cache is made */
    atomic_store(&unwinder_stop, 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, unwinder, NULL) == 0);
    static int status; /* written in a blocking section: not on this frame (wait_child.h) */
    int bad = 0;
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < UNWIND_FORKS && !bad; i++) {
        mr_blocking_enter();
        pid_t pid = fork();
        if (pid == 0) {
            int frames = unwind_own_stack();
            mr_blocking_exit();
            for (int k = 0; k < 100; k++) mr_new(&item_type);
            mr_gc();
            _exit(frames > 0 ? 0 : 3);
        }
        status = 0;
        bool ended = pid > 0 && wait_child(pid, &status, CHILD_LIMIT_S, "the forked child");
        mr_blocking_exit();
        if (!ended || !WIFEXITED(status) || WEXITSTATUS(status) != 0) bad++;
    }
    atomic_store(&unwinder_stop, 1);
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
    CHECK(bad == 0);
}

int main(void)
{
    TEST(test_four_mutators_with_collections);
    TEST(test_threads_attach_and_detach_during_collections);
    TEST(test_globals_registered_off_the_runtime_during_collections);
    TEST(test_an_iterator_outlives_its_thread);
    TEST(test_a_forked_child_collects_alone);
    TEST(test_a_fork_while_another_thread_unwinds_leaves_the_child_unwinding);
    TEST_EXIT();
}
