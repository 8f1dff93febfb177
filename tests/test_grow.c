/*
 * tests/test_grow.c -- growing arrays by doubling (src/format/grow.c).
 *
 * The test is linked with realloc wrapped (-Wl,--wrap=realloc), so that it
 * can count the helper's allocations and make one of them fail.
 */
#include "check.h"
#include "format/grow.h"

#include <stdint.h>

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static size_t reallocs;  /* calls made through the wrapper */
static bool fail_next;   /* the next call returns NULL */
static size_t last_size; /* bytes asked for by the last call */

/* Counts every realloc of the code under test and fails one on request,
 * as the C library does when memory runs out (the old block is kept). */
void *__wrap_realloc(void *p, size_t n)
{
    reallocs++;
    last_size = n;
    if (fail_next) {
        fail_next = false;
        return NULL;
    }
    return __real_realloc(p, n);
}

/* The first allocation takes `first`, later ones double, and an array
 * that already holds what is needed is not touched. */
static void arrays_grow_by_doubling(void)
{
    uint32_t *a = NULL;
    size_t cap = 0;
    reallocs = 0;
    CHECK(MF_GROW(a, cap, 1, 16));
    CHECK_EQ_U64(cap, 16);
    CHECK_EQ_U64(last_size, 16 * sizeof *a);
    for (uint32_t i = 0; i < 16; i++) a[i] = i;
    CHECK(MF_GROW(a, cap, 16, 16));
    CHECK_EQ_U64(reallocs, 1);
    CHECK(MF_GROW(a, cap, 17, 16));
    CHECK_EQ_U64(cap, 32);
    CHECK(MF_GROW(a, cap, 100, 16));
    CHECK_EQ_U64(cap, 128);
    CHECK_EQ_U64(reallocs, 3);
    for (uint32_t i = 0; i < 16; i++) CHECK_EQ_U64(a[i], i);
    free(a);
    /* a count of 0 needs nothing */
    char *c = NULL;
    size_t cc = 0;
    CHECK(MF_GROW(c, cc, 0, 8));
    CHECK(c == NULL && cc == 0);
}

/* One append at a time costs O(log n) reallocations. */
static void appends_are_amortised(void)
{
    uint64_t *a = NULL;
    size_t n = 0, cap = 0;
    reallocs = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        CHECK(MF_GROW(a, cap, n + 1, 64));
        a[n++] = i;
    }
    CHECK(reallocs <= 12);
    for (size_t i = 0; i < n; i++) CHECK_EQ_U64(a[i], i);
    free(a);
}

/* A count from input whose byte size would wrap fails before any
 * allocation, instead of getting a small block that writes would overrun. */
static void sizes_that_overflow_fail(void)
{
    uint64_t *a = NULL;
    size_t cap = 0;
    reallocs = 0;
    CHECK(!MF_GROW(a, cap, SIZE_MAX / sizeof *a + 1, 64));
    CHECK(!MF_GROW(a, cap, SIZE_MAX / 2, 64));
    CHECK(!MF_GROW(a, cap, SIZE_MAX, 64));
    CHECK(a == NULL && cap == 0);
    CHECK_EQ_U64(reallocs, 0);
    /* the doubling itself would wrap */
    CHECK_EQ_U64(mf_grow_capacity(SIZE_MAX / 2 + 1, SIZE_MAX, 1, 1), 0);
    CHECK_EQ_U64(mf_grow_capacity(SIZE_MAX / 4 + 1, SIZE_MAX / 2 + 2, 1, 1), 0);
    /* capacity fits but capacity * elem does not */
    CHECK_EQ_U64(mf_grow_capacity(0, (size_t)1 << 40, (size_t)1 << 30, 64), 0);
    /* the largest that fits is given */
    CHECK_EQ_U64(mf_grow_capacity(0, SIZE_MAX / 2 + 1, 1, 1), SIZE_MAX / 2 + 1);
    CHECK_EQ_U64(mf_grow_capacity(64, 65, 8, 16), 128);
    CHECK_EQ_U64(mf_grow_capacity(64, 64, 8, 16), 64);
}

/* When realloc fails the caller still owns the old block, with its
 * contents and capacity unchanged, and can report and free it. */
static void out_of_memory_keeps_the_array(void)
{
    uint32_t *a = NULL;
    size_t cap = 0;
    CHECK(MF_GROW(a, cap, 8, 8));
    for (uint32_t i = 0; i < 8; i++) a[i] = 7 * i;
    uint32_t *before = a;
    fail_next = true;
    CHECK(!MF_GROW(a, cap, 9, 8));
    CHECK(a == before);
    CHECK_EQ_U64(cap, 8);
    for (uint32_t i = 0; i < 8; i++) CHECK_EQ_U64(a[i], 7 * i);
    /* and a later try can still succeed */
    CHECK(MF_GROW(a, cap, 9, 8));
    CHECK_EQ_U64(cap, 16);
    for (uint32_t i = 0; i < 8; i++) CHECK_EQ_U64(a[i], 7 * i);
    free(a);
    /* a failed first allocation leaves the array empty */
    char *c = NULL;
    size_t cc = 0;
    fail_next = true;
    CHECK(!MF_GROW(c, cc, 1, 32));
    CHECK(c == NULL && cc == 0);
}

int main(void)
{
    TEST(arrays_grow_by_doubling);
    TEST(appends_are_amortised);
    TEST(sizes_that_overflow_fail);
    TEST(out_of_memory_keeps_the_array);
    TEST_EXIT();
}
