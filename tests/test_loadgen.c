/*
 * tests/test_loadgen.c -- the module generations of heap samples: a
 * generation is recorded only when a module comes or goes, an old one
 * keeps describing a library unloaded since, and threads may take
 * generations while another loads and unloads libraries, also from inside
 * a dl_iterate_phdr callback (no lock of ours is held across a walk).
 *
 * usage: test_loadgen LIB_A LIB_B [threads]
 * (the libraries of tests/dlclose_lib.c; with "threads" only the threaded
 * case runs: suite 'threads', meaningful under ThreadSanitizer)
 */
#include "check.h"
#include "lockorder.h"
#include "collector/loadgen.h"
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *lib_a, *lib_b;

__attribute__((noinline)) static int program_function(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}

/* Does path name the file `want` (both resolved)? */
static bool same_file(const char *path, const char *want)
{
    char a[PATH_MAX], b[PATH_MAX];
    return realpath(path, a) && realpath(want, b) && strcmp(a, b) == 0;
}

static void a_generation_stays_while_no_module_comes_or_goes(void)
{
    mrc_lg *g = mrc_lg_new();
    CHECK(g != NULL);
    uint32_t a = mrc_lg_current(g), b = mrc_lg_current(g);
    CHECK(a != MRC_LG_NONE);
    CHECK_EQ_U64(a, b);
    uintptr_t pc = (uintptr_t)program_function + 1;
    long s = mrc_lg_segment_of(g, a, pc);
    CHECK(s >= 0);
    if (s >= 0) {
        const mrc_lg_segment *sg = mrc_lg_segment_at(g, (size_t)s);
        CHECK(sg->start <= pc && pc < sg->limit);
        CHECK(same_file(mrc_lg_module_of(g, sg)->path, "/proc/self/exe"));
    }
    CHECK(mrc_lg_segment_of(g, a, 16) < 0); /* no module there */
    CHECK(mrc_lg_segment_of(g, MRC_LG_NONE, pc) < 0);
    mrc_lg_destroy(g);
}

/* The module of pc in generation gen of g, or NULL. */
static const mrc_lg_module *module_at(const mrc_lg *g, uint32_t gen, uintptr_t pc)
{
    long s = mrc_lg_segment_of(g, gen, pc);
    return s < 0 ? NULL : mrc_lg_module_of(g, mrc_lg_segment_at(g, (size_t)s));
}

static void an_unloaded_library_stays_in_its_generation(void)
{
    mrc_lg *g = mrc_lg_new();
    CHECK(g != NULL);
    uint32_t before = mrc_lg_current(g);
    void *h = dlopen(lib_a, RTLD_NOW);
    CHECK(h != NULL);
    if (!h) return;
    uintptr_t fn = (uintptr_t)dlsym(h, "lib_a_alloc");
    CHECK(fn != 0);
    Dl_info info;
    CHECK(dladdr((void *)fn, &info) != 0);
    uint32_t loaded = mrc_lg_current(g);
    CHECK(loaded != before && loaded != MRC_LG_NONE);
    CHECK(module_at(g, before, fn) == NULL);
    const mrc_lg_module *m = module_at(g, loaded, fn);
    CHECK(m != NULL);
    if (m) {
        CHECK(same_file(m->path, lib_a));
        CHECK_EQ_U64(m->bias, (uintptr_t)info.dli_fbase);
        CHECK(strlen(m->build_id) >= 16); /* the linker gave the library one */
    }
    dlclose(h);
    uint32_t unloaded = mrc_lg_current(g);
    CHECK(unloaded != loaded && unloaded != MRC_LG_NONE);
    CHECK(module_at(g, unloaded, fn) == NULL);
    CHECK(module_at(g, loaded, fn) == m); /* the old generation still has it */

    /* its twin, perhaps at the same address: a module of its own */
    void *hb = dlopen(lib_b, RTLD_NOW);
    CHECK(hb != NULL);
    uint32_t twin = mrc_lg_current(g);
    const mrc_lg_module *mb = module_at(g, twin, fn);
    if (mb) CHECK(mb != m && same_file(mb->path, lib_b));
    CHECK(module_at(g, loaded, fn) == m);

    /* a copy reads the same, and later generations do not change it */
    mrc_lg *c = mrc_lg_copy(g);
    CHECK(c != NULL);
    if (hb) dlclose(hb);
    CHECK(mrc_lg_current(g) != twin);
    if (c) {
        const mrc_lg_module *cm = module_at(c, loaded, fn);
        CHECK(cm != NULL && cm->bias == m->bias && strcmp(cm->path, m->path) == 0);
        CHECK(mrc_lg_segment_of(c, twin + 1, fn) < 0); /* not in the copy */
        mrc_lg_destroy(c);
    }
    mrc_lg_destroy(g);
}

/* ------------------------------------------------------------ threads --- */

enum { TAKERS = 3, ROUNDS = 200 };

static mrc_lg *shared;
static atomic_bool stop;

/* Takes generations as the allocation hook does, and checks that the one
 * it gets holds its own code. */
static void *taker(void *arg)
{
    (void)arg;
    long bad = 0;
    while (!atomic_load(&stop)) {
        uint32_t gen = mrc_lg_current(shared);
        mrc_lg *c = mrc_lg_copy(shared);
        if (gen == MRC_LG_NONE || !c) {
            bad++;
        } else if (mrc_lg_segment_of(c, gen, (uintptr_t)program_function + 1) < 0) {
            bad++;
        }
        mrc_lg_destroy(c);
    }
    return (void *)bad;
}

static void threads_take_generations_while_libraries_come_and_go(void)
{
    shared = mrc_lg_new();
    CHECK(shared != NULL);
    pthread_t t[TAKERS];
    for (int i = 0; i < TAKERS; i++) CHECK(pthread_create(&t[i], NULL, taker, NULL) == 0);
    for (int r = 0; r < ROUNDS; r++) {
        void *h = dlopen(r % 2 ? lib_a : lib_b, RTLD_NOW);
        CHECK(h != NULL);
        if (h) dlclose(h);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < TAKERS; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        CHECK_EQ_U64((uintptr_t)bad, 0);
    }
    mrc_lg_destroy(shared);
}

/* ------------------------------------------------------- lock order --- */

/* Inside a program's dl_iterate_phdr callback, as a sampled allocation
 * there would: takes a generation, and a copy (our lock, after the
 * linker's). */
static void take_inside_callback(void)
{
    (void)mrc_lg_current(shared);
    mrc_lg_destroy(mrc_lg_copy(shared));
}

static void take_generation(void)
{
    (void)mrc_lg_current(shared);
}

/* The generations' lock is never held across dl_iterate_phdr
 * (lockorder.h): a hang is the failure. */
static void generations_are_recorded_while_a_callback_takes_them(void)
{
    shared = mrc_lg_new();
    CHECK(shared != NULL);
    static lockorder lo;
    lo = (lockorder){.inside = take_inside_callback,
                     .outside = take_generation,
                     .lib_a = lib_a,
                     .lib_b = lib_b,
                     .rounds = 100};
    CHECK(lockorder_run(&lo));
    CHECK(atomic_load(&lo.walks) >= 2 * lo.rounds);
    mrc_lg_destroy(shared);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_loadgen LIB_A LIB_B [threads]\n");
        return 2;
    }
    lib_a = argv[1];
    lib_b = argv[2];
    if (!(argc > 3 && strcmp(argv[3], "threads") == 0)) {
        TEST(a_generation_stays_while_no_module_comes_or_goes);
        TEST(an_unloaded_library_stays_in_its_generation);
    }
    TEST(threads_take_generations_while_libraries_come_and_go);
    TEST(generations_are_recorded_while_a_callback_takes_them);
    TEST_EXIT();
}
