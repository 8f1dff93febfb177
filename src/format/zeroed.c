/* src/format/zeroed.c -- see zeroed.h. */
#include "format/zeroed.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Blocks under this size are left as calloc gives them: a few pages read
 * while zero-mapped cost less than the system call. */
#define SMALL ((size_t)64 << 10)

static uintptr_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (uintptr_t)ps : 4096;
}

/* The whole pages that hold [p, p + len) are asked for at once; a kernel
 * without MADV_POPULATE_WRITE (before 5.14) or one that refuses gets a
 * write to a byte of each page instead. The byte written is one of the
 * range's own, and a write of what it holds, so the contents stay and
 * nothing outside the range is written. MADV_POPULATE_WRITE keeps the
 * contents of every page it faults in, the block's neighbours' included. */
void mf_populate(void *p, size_t len)
{
    if (!p || !len) return;
    uintptr_t page = page_size();
    uintptr_t a = (uintptr_t)p, e = a + len;
#ifdef MADV_POPULATE_WRITE
    uintptr_t pa = a & ~(page - 1), pe = (e + page - 1) & ~(page - 1);
    if (madvise((void *)pa, pe - pa, MADV_POPULATE_WRITE) == 0) return;
#endif
    for (uintptr_t q = a; q < e; q = (q & ~(page - 1)) + page) {
        volatile uint8_t *b = (volatile uint8_t *)q;
        *b = *b;
    }
}

/* mf_populate_ahead, when the pages ahead may fall short. Once the whole
 * block is faulted in (or it is too small to bother), done is set half a
 * stretch past its end, so that the inline test passes until it grows. */
void mf_populate_ahead_slow(mf_ahead *a, void *base, size_t used, size_t cap)
{
    if (a->base != base) {
        /* a new block (or the old one moved): what is used is there */
        a->base = base;
        a->done = used;
    } else if (a->cap != cap && a->done > a->cap) {
        a->done = a->cap; /* grown where it was: the old end is the real one */
    }
    a->cap = cap;
    size_t end = cap - used > MF_POPULATE_AHEAD ? used + MF_POPULATE_AHEAD : cap;
    size_t from = a->done > used ? a->done : used;
    if (base && cap >= SMALL && end > from) mf_populate((uint8_t *)base + from, end - from);
    a->done = end == cap || cap < SMALL ? cap + MF_POPULATE_AHEAD / 2 : end;
}

void *mf_zeroed(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t len = n * size;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p || len < SMALL) return p;
    mf_populate(p, len);
    return p;
}
