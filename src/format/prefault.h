/*
 * src/format/prefault.h -- faulting in the pages of arrays that are about
 * to be written, on a thread of its own.
 *
 * Why: the first write to a fresh page of a big array costs a page fault
 * and the kernel's zeroing of the page; on a virtual machine whose memory
 * the host has not backed yet (or took back) that costs milliseconds per
 * MiB. A reader that fills arrays in order, alone on its thread, pays that
 * on its critical path. A prefaulter asks the kernel (MADV_POPULATE_WRITE)
 * to fault the pages in a little ahead of the writer, on another core: the
 * same work, off the path. The contents are not touched; no result changes.
 *
 * Memory: the pages faulted are those of the first `upto` elements the
 * owner allows (mf_prefault_upto); an owner allows a bounded stretch ahead
 * of what it has written, so no more memory is held than it will use soon.
 *
 * Threads: one owner thread calls every function. The arrays must neither
 * move nor be freed until mf_prefault_stop has returned.
 */
#ifndef MF_PREFAULT_H
#define MF_PREFAULT_H

#include <stddef.h>

#define MF_PREFAULT_MAX 4

typedef struct mf_prefault mf_prefault;

/* A prefaulter for the n arrays at base[i] (elements of elem[i] bytes,
 * room for cap elements each), on a thread of its own; NULL where the
 * kernel cannot populate pages, memory or a thread is lacking: the caller
 * then does without. */
mf_prefault *mf_prefault_start(void *const *base, const size_t *elem, size_t n, size_t cap);
/* Allows the pages of elements [0, upto) (at most cap) of every array to
 * be faulted in. Never blocks on the faulting. */
void mf_prefault_upto(mf_prefault *pf, size_t upto);
/* Stops the thread (what it is faulting in finishes) and frees pf. NULL is
 * fine. */
void mf_prefault_stop(mf_prefault *pf);

#endif
