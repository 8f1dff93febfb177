/*
 * src/format/hugepages.h -- asking the kernel for huge pages under a big
 * array.
 *
 * Why: the reader resolves every pointer of a snapshot against the object
 * addresses, and the analysis walks the heap graph, touching memory at
 * random; with 4 KiB pages most of that time goes to address translation
 * (TLB misses and page walks). Arrays written once in order and then read
 * in order gain nothing and are better left alone: a fresh huge page costs
 * the kernel a 2 MiB block found free and zeroed at once.
 *
 * A hint: it never fails and changes no result. Thread-safe.
 */
#ifndef MF_HUGEPAGES_H
#define MF_HUGEPAGES_H

#include <stddef.h>

/* Advises the block malloc returned at p (n bytes at least) to be backed
 * by huge pages where it can; blocks under 4 MiB are left alone. Call it
 * before the block is first written: pages already touched stay small. */
void mf_huge_pages(void *p, size_t n);

#endif
