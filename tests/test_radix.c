/*
 * tests/test_radix.c -- the linear-time sorts (src/analyze/radix.c) put
 * the values in order: on arrays too short for the radix passes and on long
 * ones; on values spread over every byte, on values that share their high
 * bytes (object indices of a small heap: passes skipped), on pairs packed
 * into 64 bits, with duplicates, already sorted and reversed.
 */
#include "analyze/radix.h"

#include "check.h"

#include <stdlib.h>

/* A mix of x's bits: the sum of it over an array tells its values apart
 * from another array's, whatever their order. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ x >> 27) * 0x94d049bb133111ebull;
    return x ^ x >> 31;
}

/* A reproducible stream of 64-bit values (xorshift). */
static uint64_t next_value(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The i-th of n values of kind k: spread, masked to a few low bits
 * (duplicates, high bytes shared), sorted, reversed, an index pair. */
static uint64_t value(int k, size_t i, size_t n, uint64_t *s)
{
    switch (k) {
    case 0: return next_value(s);
    case 1: return next_value(s) & 0xfff;
    case 2: return i * 3;
    case 3: return (n - i) * 0x10001;
    default: return (next_value(s) % 1000) << 32 | i;
    }
}

/* The one numeric order of a multiset is qsort's: the sorted array must
 * be in order and hold the values it held. */
static void sorts_put_the_values_in_order(void)
{
    size_t sizes[] = {0, 1, 2, 255, 256, 257, 1000, 100003};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        size_t n = sizes[z];
        for (int k = 0; k < 5; k++) {
            uint64_t *a = malloc((n + 1) * sizeof *a);
            uint32_t *c = malloc((n + 1) * sizeof *c);
            CHECK(a && c);
            uint64_t s = 0x9e3779b97f4a7c15ull + (uint64_t)k, sum_a = 0, sum_c = 0;
            for (size_t i = 0; i < n; i++) {
                a[i] = value(k, i, n, &s);
                c[i] = (uint32_t)(a[i] >> (k == 4 ? 16 : 0));
                sum_a += mix(a[i]);
                sum_c += mix(c[i]);
            }
            mp_sort_u64(a, n);
            mp_sort_u32(c, n);
            for (size_t i = 0; i < n; i++) {
                CHECK(i == 0 || (a[i - 1] <= a[i] && c[i - 1] <= c[i]));
                sum_a -= mix(a[i]);
                sum_c -= mix(c[i]);
            }
            CHECK(sum_a == 0 && sum_c == 0);
            free(a), free(c);
        }
    }
}

/* Pairs (key << 32 | index) made in index order, keys with duplicates
 * and spread over every byte of the high half: the sort by the high half
 * alone gives the full sort's order, the same array value for value. */
static void sort_by_high_half_matches_the_full_sort(void)
{
    size_t sizes[] = {0, 1, 2, 255, 256, 257, 1000, 100003};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        size_t n = sizes[z];
        for (int k = 0; k < 3; k++) {
            uint64_t *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
            CHECK(a && b);
            uint64_t s = 0x2545f4914f6cdd1dull + (uint64_t)k;
            for (size_t i = 0; i < n; i++) {
                uint64_t key = k == 0 ? next_value(&s) >> 32 : k == 1 ? next_value(&s) % 97 : n - i;
                /* the low half never decreases: repeated indices too */
                a[i] = b[i] = key << 32 | (i / 2);
            }
            mp_sort_u64_high(a, n);
            mp_sort_u64(b, n);
            for (size_t i = 0; i < n; i++) CHECK(a[i] == b[i]);
            free(a), free(b);
        }
    }
}

int main(void)
{
    TEST(sorts_put_the_values_in_order);
    TEST(sort_by_high_half_matches_the_full_sort);
    TEST_EXIT();
}
