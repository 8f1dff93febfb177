/*
 * src/rt/hash.h -- the seeded hash functions of maps.
 *
 * Maps need a hash whose low bits pick the bucket and whose top byte is the
 * tophash, so every output bit must depend on every input bit. Both functions
 * are built on one primitive, the folded 64x64->128 multiply ("mum": the high
 * and low halves of the product xor-ed together), which mixes a whole word in
 * one multiplication. The seed is per map and random, so an adversary who does
 * not know it cannot choose colliding keys in advance. Not cryptographic.
 *
 * Thread rules: pure functions, callable from any thread.
 */
#ifndef MR_RT_HASH_H
#define MR_RT_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Odd constants with about half of their bits set (from the binary expansions
 * of sqrt(2), sqrt(3), sqrt(5), sqrt(7) fractional parts). */
#define MR_HASH_K0 0x6a09e667f3bcc909ull
#define MR_HASH_K1 0xbb67ae8584caa73bull
#define MR_HASH_K2 0x3c6ef372fe94f82bull
#define MR_HASH_K3 0xa54ff53a5f1d36f1ull

/* The folded product: high half xor low half of a * b. */
static inline uint64_t mr__mum(uint64_t a, uint64_t b)
{
    __uint128_t p = (__uint128_t)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/*
 * Hash of one 8-byte key (int64 and pointer keys). Two folded multiplies: the
 * first spreads the seeded key over 128 bits, the second spreads that again,
 * so that low and high output bits both depend on every key bit (sequential
 * keys land in unrelated buckets with unrelated tophash bytes).
 */
static inline uint64_t mr__hash64(uint64_t key, uint64_t seed)
{
    uint64_t a = mr__mum(key ^ seed ^ MR_HASH_K0, MR_HASH_K1);
    return mr__mum(a ^ MR_HASH_K2, MR_HASH_K3 ^ (seed >> 1));
}

/* Hash of n bytes at p (string and fixed-size byte keys). */
uint64_t mr__hash_bytes(const void *p, size_t n, uint64_t seed);

#endif
