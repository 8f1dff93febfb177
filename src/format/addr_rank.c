/*
 * src/format/addr_rank.c -- the object holding an address, found with one
 * cache line read (see addr_rank.h).
 */
#include "format/addr_rank.h"
#include "format/bits.h"
#include "format/zeroed.h"

#include <stdlib.h>

/* Sets bits [from, to) of a group's bitmap (to <= MF_RANK_GROUP). */
static void set_bits(uint64_t w[4], uint64_t from, uint64_t to)
{
    while (from < to) {
        unsigned k = (unsigned)(from / 64), b = (unsigned)(from % 64);
        uint64_t n = to - from < 64 - b ? to - from : 64 - b;
        uint64_t ones = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1);
        w[k] |= ones << b;
        from += n;
    }
}

/* The granule: the greatest power of two dividing every object's offset
 * from the first and every size, so that each granule lies wholly in one
 * object or wholly outside all of them. Also checks the objects keep the
 * rules the index relies on; 0 if not. */
static unsigned granule_shift(const uint64_t *addr, const uint64_t *size, size_t n)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (size[i] == 0 || size[i] > UINT64_MAX - addr[i]) return 0;
        if (i + 1 < n && (addr[i + 1] <= addr[i] || addr[i + 1] - addr[i] < size[i])) return 0;
        bits |= (addr[i] - addr[0]) | size[i];
    }
    return (unsigned)__builtin_ctzll(bits) + 1; /* bits has a size: not 0 */
}

/*
 * Each record is written once, whole, in order, so the block needs no
 * zeroing: its pages are faulted in with one system call ahead of the
 * writes (zeroed.h).
 * The bounds come first: a heap spread thin would cost more here than
 * the page index costs (4 bytes a page, about 2 pages an object).
 */
bool mf_addr_rank_build(mf_addr_rank *x, const uint64_t *addr, const uint64_t *size, size_t n)
{
    *x = (mf_addr_rank){0};
    if (n == 0 || n >= UINT32_MAX) return false;
    unsigned shift1 = granule_shift(addr, size, n);
    if (shift1 == 0) return false;
    unsigned shift = shift1 - 1;
    uint64_t base = addr[0], span = addr[n - 1] + size[n - 1] - base;
    uint64_t ngran = span >> shift; /* span is a multiple of the granule */
    uint64_t nlines = ngran / MF_RANK_GROUP + 1;
    if (nlines > ((uint64_t)n + 64) / 8 || nlines > SIZE_MAX / sizeof(mf_rank_line)) return false;
    size_t bytes = (size_t)nlines * sizeof(mf_rank_line);
    void *mem = NULL;
    if (posix_memalign(&mem, sizeof(mf_rank_line), bytes)) return false;
    mf_populate(mem, bytes);
    mf_rank_line *lines = mem;
    size_t i = 0; /* the first object starting at or after the group */
    for (uint64_t ln = 0; ln < nlines; ln++) {
        uint64_t g0 = ln * MF_RANK_GROUP, g1 = g0 + MF_RANK_GROUP;
        mf_rank_line t = {{0}, {0}};
        /* the object before may reach into the group */
        if (i > 0) {
            uint64_t e = (addr[i - 1] + size[i - 1] - base) >> shift;
            if (e > g0) set_bits(t.inside, 0, (e < g1 ? e : g1) - g0);
        }
        t.start[3] = (uint64_t)i << 32;
        for (; i < n; i++) {
            uint64_t s = (addr[i] - base) >> shift;
            if (s >= g1) break;
            uint64_t e = (addr[i] + size[i] - base) >> shift;
            t.start[(s - g0) / 64] |= (uint64_t)1 << ((s - g0) % 64);
            set_bits(t.inside, s - g0, (e < g1 ? e : g1) - g0);
        }
        uint64_t c1 = (uint64_t)mf_popcount64(t.start[0]);
        uint64_t c2 = c1 + (uint64_t)mf_popcount64(t.start[1]);
        uint64_t c3 = c2 + (uint64_t)mf_popcount64(t.start[2]);
        t.inside[3] |= c1 << 40 | c2 << 48 | c3 << 56;
        lines[ln] = t;
    }
    *x = (mf_addr_rank){lines, base, span, shift};
    return true;
}

void mf_addr_rank_free(mf_addr_rank *x)
{
    free(x->lines);
    *x = (mf_addr_rank){0};
}
