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
 * Processor time: the thread competes for it as any other. An owner whose
 * own threads keep the processors busy meanwhile (a parallel pass, a
 * reader with its decoders) asks for idle time only (mf_prefault_when_idle):
 * the faulting would otherwise take the time from the very threads it
 * means to spare, which fault their pages in themselves anyway when they
 * get there first.
 *
 * Threads: one owner thread calls every function. The arrays must neither
 * move nor be freed until mf_prefault_stop has returned.
 */
#ifndef MF_PREFAULT_H
#define MF_PREFAULT_H

#include <stdbool.h>
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
/* From now on pf's thread runs only on processor time no other thread of
 * the machine wants (SCHED_IDLE where the system has it). NULL is fine. */
void mf_prefault_when_idle(mf_prefault *pf);
/* Whether pf's thread runs on idle processor time only (false for NULL,
 * or where the system refused). */
bool mf_prefault_idle(const mf_prefault *pf);
/* Stops the thread (what it is faulting in finishes) and frees pf. NULL is
 * fine. */
void mf_prefault_stop(mf_prefault *pf);

#endif
