/*
 * src/format/zeroed.h -- zeroed arrays whose pages are really there.
 *
 * Why: calloc of a big block (and an anonymous mmap) hands back pages the
 * kernel maps to its one shared zero page until they are first written. A
 * read of such a page is an ordinary load on bare metal, but on a virtual
 * machine that shadows the guest's page tables it can cost a trap, 10 to
 * 16 microseconds, on every read and not just the first: the zero-page
 * mappings do not stay in the shadow. An array read before all of it is
 * written -- a bitmap with a few bits set, a "not yet visited" table, a
 * counter per object -- then spends most of the analysis there (a 12.5 MB
 * bitmap read once per map entry of a 100M-object heap: minutes). Written
 * pages cost what memory costs (tens of nanoseconds per random read).
 *
 * So the arrays the analysis reads before writing every page come from
 * here: zero, with every page faulted in for writing (MADV_POPULATE_WRITE,
 * or a write to each page where the kernel lacks it). The price is memory:
 * the whole array is resident from the start, as it would be once written.
 * Arrays written in full before any read need none of this.
 *
 * No huge pages. Nothing in the analysis asks the kernel for them
 * (MADV_HUGEPAGE), though its arrays are read at random: on a virtual
 * machine whose host takes free guest memory back, a fresh huge page
 * costs about eight times what the same 2 MiB of small pages cost to
 * fault in (2.6-3.1 s against 0.35 s a GiB measured), and the address
 * translation it saves did not show in the processor time of any
 * analysis measured (10M-object heaps of seven shapes: the same user
 * time either way, and 35-50% less wall time without).
 *
 * Thread-safe (but see mf_populate); nothing here changes a result.
 */
#ifndef MF_ZEROED_H
#define MF_ZEROED_H

#include <stddef.h>

/* n elements of size bytes, all zero and every page written, as calloc
 * (free with free); NULL when out of memory or n * size overflows. */
void *mf_zeroed(size_t n, size_t size);
/* Faults in for writing every page that holds a byte of [p, p + len),
 * keeping their contents: for memory that is not from mf_zeroed (an
 * anonymous mapping, a block that is reused). No other thread may write
 * the range meanwhile (without the kernel's help, each page has a byte of
 * the range read and written back). */
void mf_populate(void *p, size_t len);

/*
 * Arrays written in order (appended to as a file is read) fault in their
 * pages one at a time, each first write a trap into the kernel; on a
 * virtual machine the trap costs about as much again as zeroing the page.
 * Faulting them in a stretch at a time (mf_populate, one system call) costs
 * the zeroing alone, some 40% less. An mf_ahead follows one array:
 * call mf_populate_ahead after each growth of what is used, with the
 * array's base (it may have moved), bytes used and bytes allocated; the
 * pages up to a MiB past the bytes used are kept faulted in, never past
 * the allocation, so the memory held is what the array holds and a MiB.
 * Zero-initialize the mf_ahead. Nothing written is changed.
 */
typedef struct mf_ahead {
    const void *base; /* the block last seen */
    size_t cap;       /* its size then */
    size_t done;      /* its bytes [0, done) are faulted in (all of them
                       * when done > cap) */
} mf_ahead;
void mf_populate_ahead_slow(mf_ahead *a, void *base, size_t used, size_t cap);
/* How far ahead of the bytes used the pages are kept faulted in; asked
 * for again once half of that is used. */
#define MF_POPULATE_AHEAD ((size_t)1 << 20)
static inline void mf_populate_ahead(mf_ahead *a, void *base, size_t used, size_t cap)
{
    /* called at every append: the common case is a comparison */
    if (a->base != base || used + MF_POPULATE_AHEAD / 2 > a->done)
        mf_populate_ahead_slow(a, base, used, cap);
}

#endif
