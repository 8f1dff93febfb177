/*
 * tests/test_addr_rank.c -- the rank index over object addresses
 * (src/format/addr_rank.c): on pseudo-random heaps of every granule, with
 * gaps, objects spanning many groups and pointers at every boundary, it
 * answers what a walk of the objects answers; heaps spread too thin for
 * it, and objects that break its rules, get no index. Its bit count
 * (format/bits.h) is checked word by word against a plain loop.
 */
#include "check.h"
#include "format/addr_rank.h"

#include <stdbool.h>

/* The truth: the object holding a (UINT64_MAX if none), walking the
 * sorted objects from object i, which the pointer is near. */
static uint64_t holder(const uint64_t *addr, const uint64_t *size, size_t n, size_t i, uint64_t a)
{
    while (i > 0 && addr[i] > a) i--;
    while (i + 1 < n && addr[i + 1] <= a) i++;
    return addr[i] <= a && a - addr[i] < size[i] ? i : UINT64_MAX;
}

static uint64_t rng = 88172645463325252u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* What a heap of the test looks like. */
typedef struct shape {
    uint64_t base;
    uint64_t unit;     /* sizes and gaps are multiples of it */
    uint64_t max_size; /* in units */
    int gap_pct;       /* chance of a gap before an object */
    uint64_t max_gap;  /* in units */
    int big_pct;       /* chance of an object of hundreds of units */
} shape;

/* Fills n objects of the shape. */
static void make_heap(const shape *s, uint64_t *addr, uint64_t *size, size_t n)
{
    uint64_t a = s->base;
    for (size_t i = 0; i < n; i++) {
        if ((int)(next() % 100) < s->gap_pct) a += (1 + next() % s->max_gap) * s->unit;
        uint64_t units = 1 + next() % s->max_size;
        if ((int)(next() % 100) < s->big_pct) units = 200 + next() % 1000;
        addr[i] = a;
        size[i] = units * s->unit;
        a += size[i];
    }
}

/* Every pointer an index could answer wrongly for: around each
 * object's first and last byte, around its end, and at random. */
static int agrees(const mf_addr_rank *x, const uint64_t *addr, const uint64_t *size, size_t n)
{
    uint64_t probes[] = {0,
                         1,
                         addr[0] - 1,
                         UINT64_MAX,
                         UINT64_MAX - 1,
                         addr[n - 1] + size[n - 1],
                         addr[n - 1] + size[n - 1] + 4096};
    for (size_t k = 0; k < sizeof probes / sizeof *probes; k++)
        if (mf_addr_rank_find(x, probes[k]) != holder(addr, size, n, 0, probes[k])) {
            fprintf(stderr, "0x%" PRIx64 ": %" PRIu64 " != %" PRIu64 "\n", probes[k],
                    mf_addr_rank_find(x, probes[k]), holder(addr, size, n, 0, probes[k]));
            return 0;
        }
    for (size_t i = 0; i < n; i++) {
        uint64_t e = addr[i] + size[i];
        uint64_t at[] = {addr[i] - 1,
                         addr[i],
                         addr[i] + 1,
                         addr[i] + size[i] / 2,
                         e - 2,
                         e - 1,
                         e,
                         e + 1,
                         addr[i] + next() % (size[i] + 64)};
        for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
            uint64_t want = holder(addr, size, n, i, at[k]), got = mf_addr_rank_find(x, at[k]);
            if (got != want) {
                fprintf(stderr,
                        "0x%" PRIx64 " (object %zu at 0x%" PRIx64 ", %" PRIu64 " bytes): %" PRIu64
                        " != %" PRIu64 "\n",
                        at[k], i, addr[i], size[i], got, want);
                return 0;
            }
        }
    }
    return 1;
}

enum { N = 20000 };
static uint64_t addr[N], size[N];

/* Dense heaps of every granule from a byte to 64 bytes, with and without
 * gaps, some with objects spanning many groups: every answer is the
 * truth. */
static void every_pointer_finds_the_object_holding_it(void)
{
    const shape shapes[] = {
        {0xc000000000, 8, 12, 0, 1, 0},      /* Go-like: 8-byte granules, no gaps */
        {0xc000000000, 8, 12, 30, 20, 0},    /* gaps */
        {0xc000000008, 16, 6, 10, 4, 1},     /* 16-byte granules, big objects */
        {0x1000, 1, 40, 20, 50, 0},          /* odd sizes: byte granules */
        {0x7fff0000, 64, 3, 50, 3, 2},       /* coarse granules, big objects */
        {0xfffffffff0000000, 8, 12, 5, 5, 0} /* near the top of the address space */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        for (size_t n = 1; n <= N; n = n * 7 + 3) {
            make_heap(&shapes[s], addr, size, n);
            mf_addr_rank x;
            if (!mf_addr_rank_build(&x, addr, size, n)) {
                fprintf(stderr, "shape %zu, %zu objects: no index\n", s, n);
                CHECK(0);
            }
            int ok = agrees(&x, addr, size, n);
            mf_addr_rank_free(&x);
            if (!ok) fprintf(stderr, "shape %zu, %zu objects\n", s, n);
            CHECK(ok);
            CHECK(x.lines == NULL);
        }
    }
}

/* One object; objects whose span ends exactly at a group's end (the last
 * record is whole); a first object reaching over whole groups. */
static void edges_of_the_span(void)
{
    uint64_t a1[] = {0x1000}, s1[] = {8};
    mf_addr_rank x;
    CHECK(mf_addr_rank_build(&x, a1, s1, 1));
    CHECK(agrees(&x, a1, s1, 1));
    mf_addr_rank_free(&x);
    /* 224 granules of 8 bytes in 28 objects of 64 bytes: one group exactly */
    for (size_t i = 0; i < 28; i++) addr[i] = 0x10000 + i * 64, size[i] = 64;
    CHECK(mf_addr_rank_build(&x, addr, size, 28));
    CHECK(agrees(&x, addr, size, 28));
    mf_addr_rank_free(&x);
    /* the first object spans three groups, the next ones start in its last */
    addr[0] = 0x10000, size[0] = 8 * (2 * MF_RANK_GROUP + 10);
    for (size_t i = 1; i < 200; i++) addr[i] = addr[i - 1] + size[i - 1], size[i] = 8;
    CHECK(mf_addr_rank_build(&x, addr, size, 200));
    CHECK(agrees(&x, addr, size, 200));
    mf_addr_rank_free(&x);
}

/* A heap spread thin (objects far apart, or a few in mappings gigabytes
 * apart) gets no index rather than gigabytes of one; nor do objects that
 * overlap, repeat an address, go down or have no size. */
static void sparse_heaps_and_broken_rules_get_no_index(void)
{
    mf_addr_rank x;
    for (size_t i = 0; i < 1000; i++) addr[i] = 0xc000000000 + i * 4096, size[i] = 16;
    CHECK(!mf_addr_rank_build(&x, addr, size, 1000));
    CHECK(x.lines == NULL);
    for (size_t i = 0; i < 1000; i++)
        addr[i] = 0x10000 + (i / 500) * ((uint64_t)1 << 40) + (i % 500) * 16, size[i] = 16;
    CHECK(!mf_addr_rank_build(&x, addr, size, 1000));
    /* a dense heap fits: the bound is what was refused above */
    for (size_t i = 0; i < 1000; i++) addr[i] = 0x10000 + i * 16, size[i] = 16;
    CHECK(mf_addr_rank_build(&x, addr, size, 1000));
    mf_addr_rank_free(&x);
    size[10] = 17; /* overlaps the next */
    CHECK(!mf_addr_rank_build(&x, addr, size, 1000));
    size[10] = 16;
    addr[11] = addr[10];
    CHECK(!mf_addr_rank_build(&x, addr, size, 1000));
    addr[11] = addr[10] - 16;
    CHECK(!mf_addr_rank_build(&x, addr, size, 1000));
    addr[11] = addr[10] + 16;
    size[999] = 0;
    CHECK(!mf_addr_rank_build(&x, addr, size, 1000));
    CHECK(!mf_addr_rank_build(&x, addr, size, 0));
}

/* The inline bit count the index and the analysis use counts what a loop
 * over the bits counts: on single bits, runs, the extremes and random words. */
static void bits_are_counted_as_a_loop_counts_them(void)
{
    uint64_t words[64 * 3 + 2 + 2000];
    size_t n = 0;
    for (int b = 0; b < 64; b++) {
        words[n++] = (uint64_t)1 << b;
        words[n++] = ((uint64_t)1 << b) - 1;
        words[n++] = ~((uint64_t)1 << b);
    }
    words[n++] = 0;
    words[n++] = UINT64_MAX;
    while (n < sizeof words / sizeof *words) words[n++] = next() & next();
    for (size_t i = 0; i < n; i++) {
        unsigned c = 0;
        for (uint64_t w = words[i]; w; w &= w - 1) c++;
        CHECK(mf_popcount64(words[i]) == c);
    }
}

int main(void)
{
    TEST(bits_are_counted_as_a_loop_counts_them);
    TEST(every_pointer_finds_the_object_holding_it);
    TEST(edges_of_the_span);
    TEST(sparse_heaps_and_broken_rules_get_no_index);
    TEST_EXIT();
}
