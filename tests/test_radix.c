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
#include <string.h>

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
    size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 255, 256, 257, 1000, 100003};
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

/* A record of the sorts below: three keys and where it came from. */
typedef struct rec {
    uint32_t k[3];
    uint32_t at;
} rec;

static uint32_t rec_key(const void *r, unsigned k, void *ctx)
{
    (void)ctx;
    return ((const rec *)r)->k[k];
}

/* The oracle: the keys, then the place each record came from (a stable
 * comparison sort's order). */
static int cmp_rec(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    for (int k = 0; k < 3; k++)
        if (x->k[k] != y->k[k]) return x->k[k] < y->k[k] ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/* Key k of record i of kind `kind`: all alike (nothing moves), one byte
 * varying at a time, values across the bytes' edges (255/256, 65535/
 * 65536, the top bit), few values (many ties, kept in order), spread. */
static uint32_t rec_value(int kind, unsigned k, size_t i, uint64_t *s)
{
    static const uint32_t edges[] = {0, 1, 255, 256, 65535, 65536, 0x7fffffffu, 0x80000000u,
                                     0xffffffffu};
    switch (kind) {
    case 0: return 7;
    case 1: return k == 1 ? (uint32_t)(next_value(s) & 0xff) << 16 : 3;
    case 2: return edges[next_value(s) % (sizeof edges / sizeof *edges)];
    case 3: return (uint32_t)(next_value(s) % 3);
    default: return (uint32_t)next_value(s) ^ (uint32_t)i;
    }
}

/* mp_sort_records orders by the keys, first most, and keeps records of
 * equal keys in the order they came, as the merge sort it replaces; a
 * record of any size; nothing for no keys. */
static void records_sort_by_their_keys_stably(void)
{
    size_t sizes[] = {0, 1, 2, 3, 255, 256, 257, 5000};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        size_t n = sizes[z];
        for (int kind = 0; kind < 5; kind++) {
            for (unsigned nkeys = 1; nkeys <= 3; nkeys++) {
                rec *a = malloc((n + 1) * sizeof *a), *o = malloc((n + 1) * sizeof *o);
                CHECK(a && o);
                uint64_t s = 0x2545f4914f6cdd1dull + (uint64_t)(kind * 7 + (int)nkeys);
                for (size_t i = 0; i < n; i++) {
                    for (unsigned k = 0; k < 3; k++) a[i].k[k] = rec_value(kind, k, i, &s);
                    for (unsigned k = nkeys; k < 3; k++) a[i].k[k] = 0; /* not a key */
                    a[i].at = (uint32_t)i;
                    o[i] = a[i];
                }
                CHECK(mp_sort_records(a, n, sizeof *a, nkeys, rec_key, NULL) == 1);
                if (n > 1) qsort(o, n, sizeof *o, cmp_rec);
                for (size_t i = 0; i < n; i++)
                    CHECK(memcmp(&a[i], &o[i], sizeof *a) == 0);
                free(a), free(o);
            }
        }
    }
    /* 12-byte records (the copy of any size), and no keys: left as they are */
    uint32_t t[3 * 300];
    for (size_t i = 0; i < 300; i++) t[3 * i] = (uint32_t)(299 - i), t[3 * i + 1] = (uint32_t)i;
    CHECK(mp_sort_records(t, 300, 12, 0, rec_key, NULL) == 1 && t[0] == 299);
    CHECK(mp_sort_records(t, 300, 12, 1, rec_key, NULL) == 1);
    for (size_t i = 0; i < 300; i++) CHECK(t[3 * i] == i && t[3 * i + 1] == 299 - i);
    /* past the limits: refused, untouched */
    CHECK(mp_sort_records(t, 300, MP_SORT_RECORD_MAX + 1, 1, rec_key, NULL) == 0);
    CHECK(mp_sort_records(t, 300, 12, MP_SORT_KEYS_MAX + 1, rec_key, NULL) == 0 && t[0] == 0);
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
    TEST(records_sort_by_their_keys_stably);
    TEST(sort_by_high_half_matches_the_full_sort);
    TEST_EXIT();
}
