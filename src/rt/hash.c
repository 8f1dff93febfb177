/*
 * src/rt/hash.c -- the byte-string hash of maps (see hash.h).
 */
#include "rt/hash.h"

uint64_t mr__hash_long(const uint8_t *p, size_t n, uint64_t seed)
{
    size_t left = n;
    if (left > 48) {
        uint64_t s1 = seed, s2 = seed;
        do {
            seed = mr__mum(mr__load64(p) ^ MR_HASH_K1, mr__load64(p + 8) ^ seed);
            s1 = mr__mum(mr__load64(p + 16) ^ MR_HASH_K2, mr__load64(p + 24) ^ s1);
            s2 = mr__mum(mr__load64(p + 32) ^ MR_HASH_K3, mr__load64(p + 40) ^ s2);
            p += 48;
            left -= 48;
        } while (left > 48);
        seed ^= s1 ^ s2;
    }
    while (left > 16) {
        seed = mr__mum(mr__load64(p) ^ MR_HASH_K1, mr__load64(p + 8) ^ seed);
        p += 16;
        left -= 16;
    }
    /* The last 16 bytes, overlapping what the loop already consumed. */
    uint64_t a = mr__load64(p + left - 16) ^ MR_HASH_K1;
    uint64_t b = mr__load64(p + left - 8) ^ seed;
    uint64_t m = mr__mum(a, b);
    return mr__mum(m ^ MR_HASH_K0 ^ (uint64_t)n, MR_HASH_K1 ^ seed);
}
