/*
 * tests/dlclose_reuse.c -- a heap sample whose stack passes through a
 * library that is unloaded before the profile is written, while another
 * library is loaded at the same address; then the first library loaded
 * again, elsewhere (see test_profile_truth.sh).
 *
 * usage: dlclose_reuse [-remove] LIB_A LIB_B OUT.pb.gz
 * Prints "a SIZE ADDR", "b SIZE ADDR" and "a2 SIZE ADDR": each load's
 * object size and allocating function's address. Every allocation is
 * sampled (rate 1). With -remove, LIB_A (a copy) is deleted once unloaded,
 * so that its names are gone when the profile is written, and is not
 * loaded again.
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void **kept;
MR_GLOBAL(kept)

/* Loads path and calls its allocating function fn, keeping the object in
 * kept[i]; prints its size and where fn lies. Returns the handle. */
static void *load_and_alloc(const char *path, const char *fn, int i, const char *tag)
{
    void *h = dlopen(path, RTLD_NOW);
    void *(*alloc)(void) = h ? (void *(*)(void))dlsym(h, fn) : NULL;
    if (!alloc) {
        fprintf(stderr, "dlclose_reuse: %s: %s\n", path, dlerror());
        return NULL;
    }
    kept[i] = alloc();
    printf("%s %zu %p\n", tag, mr_object_size(kept[i]), (void *)alloc);
    return h;
}

int main(int argc, char **argv)
{
    bool remove = argc > 1 && strcmp(argv[1], "-remove") == 0;
    argv += remove;
    argc -= remove;
    if (argc != 4) {
        fprintf(stderr, "usage: dlclose_reuse [-remove] LIB_A LIB_B OUT\n");
        return 2;
    }
    if (mrc_profile_start(1) != 0) return 1;
    kept = mr_new_array(&mr_type_pointer, 3);
    void *a = load_and_alloc(argv[1], "lib_a_alloc", 0, "a");
    if (!a) return 1;
    dlclose(a);
    if (remove && unlink(argv[1]) != 0) {
        perror(argv[1]);
        return 1;
    }
    if (!load_and_alloc(argv[2], "lib_b_alloc", 1, "b")) return 1;
    /* B holds A's old place: A comes back at another address */
    if (!remove && !load_and_alloc(argv[1], "lib_a_alloc", 2, "a2")) return 1;
    mr_gc();
    if (mrc_write_heap_profile(argv[3]) != 0) {
        fprintf(stderr, "dlclose_reuse: %s\n", mrc_last_error());
        return 1;
    }
    return 0;
}
