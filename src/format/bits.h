/*
 * src/format/bits.h -- counting the bits of a word.
 *
 * Built for a baseline x86-64 (no POPCNT), __builtin_popcountll is a call
 * into libgcc per word, and the analysis counts bits in its inner loops
 * (rank bitmaps, the address index). The arithmetic count below is a
 * dozen inline instructions; GCC recognises it, and where the target has
 * the POPCNT instruction (-mpopcnt, or a function built for that target,
 * as gcstack_batches.c's rank lookup is) emits that one instruction.
 *
 * Thread rules: none; pure functions.
 */
#ifndef MF_BITS_H
#define MF_BITS_H

#include <stdint.h>

/* The number of bits set in x. */
static inline unsigned mf_popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}

#endif
