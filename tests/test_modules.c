/*
 * tests/test_modules.c -- the runtime's view of the loaded modules
 * (src/rt/modules.h): kept up to date as libraries come and go, and never
 * under a lock of ours while the modules are walked, so that a program may
 * ask about a module from inside its own dl_iterate_phdr callback while
 * the view is brought up to date.
 *
 * usage: test_modules LIB_A LIB_B (the libraries of tests/dlclose_lib.c)
 */
#include "check.h"
#include "lockorder.h"
#include "rt/modules.h"

#include <dlfcn.h>

static const char *lib_a, *lib_b;
static int a_global;

/* The view follows a library loaded and unloaded. */
static void the_view_follows_a_library_loaded_and_unloaded(void)
{
    mr__modules_update();
    mr_module_id prog;
    CHECK(mr__module_of((uintptr_t)&a_global, &prog));
    CHECK(mr__module_loaded((uintptr_t)&a_global, prog));
    void *h = dlopen(lib_a, RTLD_NOW);
    CHECK(h != NULL);
    uintptr_t fn = (uintptr_t)dlsym(h, "lib_a_alloc");
    CHECK(fn != 0);
    mr_module_id lib;
    CHECK(mr__module_of(fn, &lib));
    CHECK(!mr__module_loaded(fn, lib)); /* not in the view before an update */
    CHECK(!mr__modules_update());       /* nothing unloaded */
    CHECK(mr__module_loaded(fn, lib));
    dlclose(h);
    CHECK(mr__modules_update()); /* a module went */
    CHECK(!mr__module_loaded(fn, lib));
    CHECK(mr__module_loaded((uintptr_t)&a_global, prog));
}

/* Inside a program's dl_iterate_phdr callback: asks whether the program's
 * global is still loaded (our lock, after the linker's). */
static void ask_inside_callback(void)
{
    mr_module_id id = {0, 0};
    (void)mr__module_loaded((uintptr_t)&a_global, id);
}

static void update_view(void)
{
    (void)mr__modules_update();
}

/* The view's lock is never held across dl_iterate_phdr (lockorder.h): a
 * hang is the failure. */
static void the_view_is_updated_while_a_callback_asks_about_modules(void)
{
    static lockorder lo;
    lo = (lockorder){.inside = ask_inside_callback,
                     .outside = update_view,
                     .lib_a = lib_a,
                     .lib_b = lib_b,
                     .rounds = 100};
    CHECK(lockorder_run(&lo));
    CHECK(atomic_load(&lo.walks) >= 2 * lo.rounds);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_modules LIB_A LIB_B\n");
        return 2;
    }
    lib_a = argv[1];
    lib_b = argv[2];
    TEST(the_view_follows_a_library_loaded_and_unloaded);
    TEST(the_view_is_updated_while_a_callback_asks_about_modules);
    TEST_EXIT();
}
