/*
 * tests/dlclose_lib.c -- a library that tests/dlclose_reuse.c loads,
 * allocates from, unloads and replaces with its twin. Built twice: without
 * LIB_B (lib_a_alloc, 200 bytes) and with it (a filler function first, so
 * that lib_b_alloc lies further in, then lib_b_alloc, 104 bytes): loaded at
 * the same address, A's allocating call lies inside B's filler.
 */
#include "maproot/rt.h"

#ifdef LIB_B
__attribute__((noinline)) int lib_b_filler(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x * 3 + 1;
}

__attribute__((noinline)) void *lib_b_alloc(void)
{
    void *p = mr_alloc_blob(104);
    __asm__ volatile("" : : "r"(p) : "memory"); /* not a tail call */
    return p;
}
#else
__attribute__((noinline)) void *lib_a_alloc(void)
{
    void *p = mr_alloc_blob(200);
    __asm__ volatile("" : : "r"(p) : "memory"); /* not a tail call */
    return p;
}
#endif
