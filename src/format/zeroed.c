/* src/format/zeroed.c -- see zeroed.h. */
#include "format/zeroed.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "format/hugepages.h"

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

void *mf_zeroed(size_t n, size_t size, bool huge)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t len = n * size;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p || len < SMALL) return p;
    if (huge) mf_huge_pages(p, len);
    mf_populate(p, len);
    return p;
}
