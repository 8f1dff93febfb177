/* src/format/hugepages.c -- see hugepages.h. */
#include "format/hugepages.h"

#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* The whole block is advised, to its first and last page, not just the
 * huge-page-aligned middle: a big block is a mapping of its own, and
 * advice on part of it splits the mapping in two or three, which mremap
 * cannot move. realloc of such a block then copies it into fresh memory
 * (faulted in and zeroed by the kernel) instead of moving its pages, and
 * an array grown by doubling pays that at every step. The kernel uses huge
 * pages only on the aligned 2 MiB stretches in any case. */
void mf_huge_pages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || n < 2 * huge) return;
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
    size_t all = malloc_usable_size(p);
    if (all < n) all = n;
    uintptr_t a = (uintptr_t)p & ~(page - 1), e = ((uintptr_t)p + all + page - 1) & ~(page - 1);
    madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}
