/*
 * src/analyze/radix.c -- see radix.h.
 */
#include "analyze/radix.h"

#include <stdbool.h>
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

/* Up to this many elements an insertion sort wins: qsort's call and
 * its comparison calls cost more (a sort per map of its few table
 * objects, millions of times on heaps of small maps). */
#define INSERTION_MAX 16

void mp_sort_u32(uint32_t *v, size_t n)
{
    if (n <= INSERTION_MAX) {
        for (size_t i = 1; i < n; i++) {
            uint32_t x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] > x; j--) v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
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

/* Moves record i of from to where byte b of its key k says (at: the next
 * place of each byte value): one stable pass of mp_sort_records. */
static void record_pass(const char *from, char *to, size_t n, size_t size, unsigned k, int b,
                        uint32_t *at, mp_sort_key key, void *ctx)
{
    if (size == 16) { /* the common record: a fixed copy the compiler inlines */
        for (size_t i = 0; i < n; i++) {
            const char *r = from + 16 * i;
            memcpy(to + 16 * (size_t)at[(key(r, k, ctx) >> (8 * b)) & 0xff]++, r, 16);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *r = from + size * i;
        memcpy(to + size * (size_t)at[(key(r, k, ctx) >> (8 * b)) & 0xff]++, r, size);
    }
}

/* Least significant first: the last key's low byte, up to the first key's
 * high byte; each pass stable, so the last one decides ties by the ones
 * before it. */
int mp_sort_records(void *v, size_t n, size_t size, unsigned nkeys, mp_sort_key key, void *ctx)
{
    if (n < 2 || nkeys == 0) return 1;
    if (size == 0 || size > MP_SORT_RECORD_MAX || nkeys > MP_SORT_KEYS_MAX || n > UINT32_MAX)
        return 0;
    uint32_t(*count)[256] = calloc(4 * (size_t)nkeys, sizeof *count);
    if (!count) return 0;
    for (size_t i = 0; i < n; i++) {
        const char *r = (const char *)v + size * i;
        for (unsigned k = 0; k < nkeys; k++) {
            uint32_t x = key(r, k, ctx);
            for (int b = 0; b < 4; b++) count[4 * k + b][(x >> (8 * b)) & 0xff]++;
        }
    }
    /* the copy only when a pass moves something: records whose keys are
     * all one (in order already) cost no memory */
    bool moves[4 * MP_SORT_KEYS_MAX], any = false;
    for (unsigned d = 0; d < 4 * nkeys; d++) any |= moves[d] = starts_of(count[d], n);
    char *tmp = any ? malloc(n * size) : NULL;
    if (any && !tmp) {
        free(count);
        return 0;
    }
    char *from = v, *to = tmp;
    for (unsigned k = nkeys; k-- > 0;)
        for (int b = 0; b < 4; b++) {
            if (!moves[4 * k + b]) continue;
            record_pass(from, to, n, size, k, b, count[4 * k + b], key, ctx);
            char *t = from;
            from = to;
            to = t;
        }
    if (from != (char *)v) memcpy(v, from, n * size);
    free(tmp);
    free(count);
    return 1;
}

/* The passes of the low bytes left out: they are in order already. Out of
 * memory, qsort of the whole values gives the same order (see radix.h). */
void mp_sort_u64_high(uint64_t *v, size_t n)
{
    if (n < RADIX_MIN || n > UINT32_MAX || !radix_u64_high(v, n)) {
        if (n > 1) qsort(v, n, sizeof *v, cmp_u64);
    }
}
