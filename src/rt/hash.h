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

#define MR_HASH_LIKELY(x) __builtin_expect(!!(x), 1)

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
/* The hash of n > 16 bytes with a mixed seed (see mr__hash_mixed). */
uint64_t mr__hash_long(const uint8_t *p, size_t n, uint64_t mixed);

static inline uint64_t mr__load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t mr__load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * The hash of n bytes under a seed that is already well mixed (a map's
 * random seed is). Keys of up to 16 bytes -- most string keys -- take two
 * overlapping loads and two folded multiplies, inline; keys of 17 to 32
 * bytes one more multiply, inline too (the same value mr__hash_long gives:
 * its loop runs once); longer ones go through mr__hash_long. Reads only the
 * n bytes.
 */
static inline uint64_t mr__hash_mixed(const void *data, size_t n, uint64_t mixed)
{
    const uint8_t *p = data;
    uint64_t a, b;
    if (MR_HASH_LIKELY(n <= 16)) {
        if (n >= 8) {
            a = mr__load64(p);
            b = mr__load64(p + n - 8);
        } else if (n >= 4) {
            a = mr__load32(p);
            b = mr__load32(p + n - 4);
        } else if (n > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
        uint64_t m = mr__mum(a ^ MR_HASH_K1, b ^ mixed);
        return mr__mum(m ^ MR_HASH_K0 ^ (uint64_t)n, MR_HASH_K1 ^ mixed);
    }
    if (n <= 32) {
        uint64_t s = mr__mum(mr__load64(p) ^ MR_HASH_K1, mr__load64(p + 8) ^ mixed);
        uint64_t m = mr__mum(mr__load64(p + n - 16) ^ MR_HASH_K1, mr__load64(p + n - 8) ^ s);
        return mr__mum(m ^ MR_HASH_K0 ^ (uint64_t)n, MR_HASH_K1 ^ s);
    }
    return mr__hash_long(p, n, mixed);
}

/* The hash of n bytes under any seed (its bits are mixed first). */
static inline uint64_t mr__hash_bytes(const void *p, size_t n, uint64_t seed)
{
    return mr__hash_mixed(p, n, seed ^ mr__mum(seed ^ MR_HASH_K0, MR_HASH_K1));
}

#endif
