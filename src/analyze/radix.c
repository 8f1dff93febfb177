/*
 * src/analyze/radix.c -- see radix.h.
 */
#include "analyze/radix.h"

#include <stdlib.h>
#include <string.h>

/* Below this many elements qsort wins: the histograms cost more. */
#define RADIX_MIN 256

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Turns the counts of one byte's values into the first place of each
 * value; false when one value holds all n (the pass would move nothing). */
static int starts_of(uint32_t *count, size_t n)
{
    uint32_t sum = 0;
    for (int d = 0; d < 256; d++) {
        uint32_t c = count[d];
        if (c == n) return 0;
        count[d] = sum;
        sum += c;
    }
    return 1;
}

/*
 * NAME(v, n): the radix sort of n elements of type T, BYTES bytes wide, by
 * their bytes FIRST.. (stable: elements equal in those keep their order); 0
 * when out of memory (v untouched). One pass counts every byte at once;
 * then a stable pass per byte, least significant first, skipping the bytes
 * every element shares (the high bytes of indices into a smaller heap).
 * The passes move the elements between v and tmp; an odd number leaves
 * them in tmp, copied back. Counts are 32-bit: n < 2^32, as every array
 * of object indices is.
 */
#define DEFINE_RADIX(NAME, T, FIRST, BYTES)                                                        \
    static int NAME(T *v, size_t n)                                                                \
    {                                                                                              \
        uint32_t(*count)[256] = calloc(BYTES, sizeof *count);                                      \
        T *tmp = count ? malloc(n * sizeof *tmp) : NULL;                                           \
        if (!tmp) {                                                                                \
            free(count);                                                                           \
            return 0;                                                                              \
        }                                                                                          \
        for (size_t i = 0; i < n; i++)                                                             \
            for (int b = (FIRST); b < (BYTES); b++) count[b][(v[i] >> (8 * b)) & 0xff]++;          \
        T *from = v, *to = tmp;                                                                    \
        for (int b = (FIRST); b < (BYTES); b++) {                                                  \
            if (!starts_of(count[b], n)) continue;                                                 \
            uint32_t *at = count[b];                                                               \
            for (size_t i = 0; i < n; i++) to[at[(from[i] >> (8 * b)) & 0xff]++] = from[i];        \
            T *t = from;                                                                           \
            from = to;                                                                             \
            to = t;                                                                                \
        }                                                                                          \
        if (from != v) memcpy(v, from, n * sizeof *v);                                             \
        free(tmp);                                                                                 \
        free(count);                                                                               \
        return 1;                                                                                  \
    }

DEFINE_RADIX(radix_u32, uint32_t, 0, 4)
DEFINE_RADIX(radix_u64, uint64_t, 0, 8)
DEFINE_RADIX(radix_u64_high, uint64_t, 4, 8)

void mp_sort_u32(uint32_t *v, size_t n)
{
    if (n < RADIX_MIN || n > UINT32_MAX || !radix_u32(v, n)) {
        if (n > 1) qsort(v, n, sizeof *v, cmp_u32);
    }
}

void mp_sort_u64(uint64_t *v, size_t n)
{
    if (n < RADIX_MIN || n > UINT32_MAX || !radix_u64(v, n)) {
        if (n > 1) qsort(v, n, sizeof *v, cmp_u64);
    }
}

/* The passes of the low bytes left out: they are in order already. Out of
 * memory, qsort of the whole values gives the same order (see radix.h). */
void mp_sort_u64_high(uint64_t *v, size_t n)
{
    if (n < RADIX_MIN || n > UINT32_MAX || !radix_u64_high(v, n)) {
        if (n > 1) qsort(v, n, sizeof *v, cmp_u64);
    }
}
