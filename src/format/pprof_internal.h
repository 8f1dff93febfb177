/*
 * src/format/pprof_internal.h -- what the pprof reader (pprof.c) and writer
 * (pprof_writer.c) share: the hash that both of their open-addressing
 * tables (ids to indices; interned strings, functions and addresses) spread
 * keys with. The format itself, and what each side promises, is pprof.h.
 */
#ifndef MF_PPROF_INTERNAL_H
#define MF_PPROF_INTERNAL_H

#include <stdint.h>

/* The finalizer of MurmurHash3's 64-bit hash: every input bit moves about
 * half the output bits, so that ids and addresses that differ only in high
 * bits still land apart under a power-of-two mask. */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

#endif
