/*
 * tests/test_zeroed.c -- zeroed arrays whose pages are really there
 * (src/format/zeroed.c).
 *
 * What is checked is what the kernel counts: a page still mapped to the
 * shared zero page is not in the resident set, a page faulted in for
 * writing is. So a zeroed array must add its size to the resident set at
 * once (plain calloc adds nothing until written), read as zero, and
 * mf_populate must keep what a mapping holds. An array filled in order
 * (mf_populate_ahead) must have the pages just ahead of what is written
 * resident, and no more than a MiB of them, never past its allocation.
 * And no array is advised huge pages (the mapping's VmFlags).
 */
#include "check.h"
#include "format/zeroed.h"
#include "smaps.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

/* The resident set of this process, in bytes (SIZE_MAX when unknown). */
static size_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, res = 0;
    int got = f ? fscanf(f, "%llu %llu", &size, &res) : 0;
    if (f) fclose(f);
    long ps = sysconf(_SC_PAGESIZE);
    return got == 2 && ps > 0 ? (size_t)res * (size_t)ps : SIZE_MAX;
}

/* Whether [p, p + n) holds only zero bytes. */
static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static void a_big_array_is_resident_and_zero_at_once(void)
{
    size_t n = 48 * MIB, before = resident_bytes();
    uint8_t *p = mf_zeroed(n / 4, 4);
    size_t after = resident_bytes();
    CHECK(p != NULL);
    CHECK(before != SIZE_MAX && after != SIZE_MAX);
    /* all of it, less a little for whatever else moved meanwhile */
    CHECK(after > before && after - before >= n - n / 16);
    CHECK(all_zero(p, n));
    free(p);
}

/* A big array is not advised huge pages (zeroed.h says why: on a virtual
 * machine a fresh huge page costs eight times its small pages). */
static void a_big_array_asks_for_no_huge_pages(void)
{
    size_t n = 24 * MIB;
    uint64_t *p = mf_zeroed(n / 8, 8);
    CHECK(p != NULL);
    int hg = smaps_mapping_has_flag(p, "hg");
    if (hg < 0) fprintf(stderr, "  (no VmFlags in /proc/self/smaps: the advice not checked)\n");
    CHECK(hg <= 0);
    p[n / 8 - 1] = 7; /* the last element is the block's own */
    CHECK_EQ_U64(p[n / 8 - 1], 7);
    free(p);
}

static void small_and_empty_arrays_are_zero(void)
{
    uint8_t *a = mf_zeroed(100, 1), *b = mf_zeroed(0, 8);
    CHECK(a != NULL && b != NULL);
    CHECK(all_zero(a, 100));
    free(a);
    free(b);
}

static void a_size_past_the_address_space_fails(void)
{
    CHECK(mf_zeroed(SIZE_MAX / 2 + 2, 2) == NULL);
    CHECK(mf_zeroed(SIZE_MAX, SIZE_MAX) == NULL);
}

/* An anonymous mapping, part written, part never: populating a range that
 * starts and ends inside pages brings them all in and changes no byte. */
static void populating_a_mapping_keeps_its_contents(void)
{
    size_t n = 16 * MIB;
    uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    for (size_t i = 0; i < n; i += 3 * MIB) m[i] = (uint8_t)(1 + i / MIB);
    size_t before = resident_bytes();
    mf_populate(m + 100, n - 200);
    size_t after = resident_bytes();
    CHECK(after > before && after - before >= n - n / 8);
    for (size_t i = 0; i < n; i++)
        if (m[i] != (i % (3 * MIB) == 0 ? (uint8_t)(1 + i / MIB) : 0)) {
            CHECK(!"a byte changed");
            break;
        }
    mf_populate(NULL, 10); /* nothing to do */
    mf_populate(m, 0);
    munmap(m, n);
}

/* How many of the pages of [p, p + n) (p page-aligned) are resident. */
static size_t resident_pages(const uint8_t *p, size_t n)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), np = (n + ps - 1) / ps, k = 0;
    unsigned char *v = malloc(np ? np : 1);
    if (!v || mincore((void *)p, n, v) != 0) {
        free(v);
        return SIZE_MAX;
    }
    for (size_t i = 0; i < np; i++) k += v[i] & 1;
    free(v);
    return k;
}

/* An array of 6 MiB in a mapping of 8, written 64 KiB at a time: after
 * each step the pages of half a MiB to a MiB past what is written are in,
 * none past the 6 MiB, and what was written stays. */
static void pages_ahead_of_an_array_filled_in_order(void)
{
    size_t n = 8 * MIB, cap = 6 * MIB, ps = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    mf_ahead a = {0};
    for (size_t used = 0; used <= cap; used += 64 << 10) {
        for (size_t i = used >= (64 << 10) ? used - (64 << 10) : 0; i < used; i++)
            m[i] = (uint8_t)(i * 7 + 1);
        mf_populate_ahead(&a, m, used, cap);
        size_t in = resident_pages(m, cap);
        size_t least = used + MIB / 2 < cap ? used + MIB / 2 : cap;
        size_t most = used + MIB < cap ? used + MIB : cap;
        CHECK(in != SIZE_MAX && in >= least / ps && in <= (most + ps - 1) / ps);
        CHECK_EQ_U64(resident_pages(m + cap, n - cap), 0);
    }
    for (size_t i = 0; i < cap; i++)
        if (m[i] != (uint8_t)(i * 7 + 1)) {
            CHECK(!"a byte changed");
            break;
        }
    /* the same array moved: what is used there counts as in, the rest
     * ahead of it is faulted in anew */
    uint8_t *moved = m + 7 * MIB;
    mf_populate_ahead(&a, moved, 0, MIB);
    CHECK_EQ_U64(resident_pages(moved, MIB), MIB / ps);
    munmap(m, n);
}

/* A small array is left as it is: the system call would cost more. */
static void small_arrays_are_not_populated_ahead(void)
{
    size_t n = 32 << 10;
    uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    mf_ahead a = {0};
    mf_populate_ahead(&a, m, 0, n);
    mf_populate_ahead(&a, m, 100, n);
    CHECK_EQ_U64(resident_pages(m, n), 0);
    munmap(m, n);
}

int main(void)
{
    TEST(a_big_array_is_resident_and_zero_at_once);
    TEST(a_big_array_asks_for_no_huge_pages);
    TEST(small_and_empty_arrays_are_zero);
    TEST(a_size_past_the_address_space_fails);
    TEST(populating_a_mapping_keeps_its_contents);
    TEST(pages_ahead_of_an_array_filled_in_order);
    TEST(small_arrays_are_not_populated_ahead);
    TEST_EXIT();
}
