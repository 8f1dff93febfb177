/*
 * src/rt/hash.c -- the byte-string hash of maps (see hash.h).
 */
#include "rt/hash.h"

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * Reads the input 8 bytes at a time and folds each 16-byte block into the
 * state with one multiply. Short inputs (the common case for map keys) take
 * no loop at all: they are read as two possibly overlapping words, which
 * covers every byte exactly for lengths 4..16, and by three byte loads below
 * that. The length is folded in at the end so that inputs that differ only in
 * trailing zero bytes hash differently. Long inputs run three independent
 * lanes so the multiplies overlap in the pipeline.
 */
uint64_t mr__hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t a, b;
    seed ^= mr__mum(seed ^ MR_HASH_K0, MR_HASH_K1);
    if (n <= 16) {
        if (n >= 8) {
            a = load64(p);
            b = load64(p + n - 8);
        } else if (n >= 4) {
            a = load32(p);
            b = load32(p + n - 4);
        } else if (n > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t left = n;
        if (left > 48) {
            uint64_t s1 = seed, s2 = seed;
            do {
                seed = mr__mum(load64(p) ^ MR_HASH_K1, load64(p + 8) ^ seed);
                s1 = mr__mum(load64(p + 16) ^ MR_HASH_K2, load64(p + 24) ^ s1);
                s2 = mr__mum(load64(p + 32) ^ MR_HASH_K3, load64(p + 40) ^ s2);
                p += 48;
                left -= 48;
            } while (left > 48);
            seed ^= s1 ^ s2;
        }
        while (left > 16) {
            seed = mr__mum(load64(p) ^ MR_HASH_K1, load64(p + 8) ^ seed);
            p += 16;
            left -= 16;
        }
        /* The last 16 bytes, overlapping what the loop already consumed. */
        a = load64(p + left - 16);
        b = load64(p + left - 8);
    }
    a ^= MR_HASH_K1;
    b ^= seed;
    uint64_t m = mr__mum(a, b);
    return mr__mum(m ^ MR_HASH_K0 ^ (uint64_t)n, MR_HASH_K1 ^ seed);
}
