/*
 * tests/test_hash.c -- the seeded hash functions of maps (src/rt/hash.h).
 *
 * The map takes the bucket from the low bits and the tophash from the top
 * byte, so both ends must be well mixed even for sequential keys.
 */
#include "check.h"
#include "rt/hash.h"

/* Chi-square of n values spread over `cells` cells, divided by the degrees of
 * freedom: about 1 for a uniform spread, far above for a biased one. */
static double chi2_ratio(const uint32_t *counts, size_t cells, size_t n)
{
    double expect = (double)n / (double)cells, chi = 0;
    for (size_t i = 0; i < cells; i++) {
        double d = counts[i] - expect;
        chi += d * d / expect;
    }
    return chi / (double)(cells - 1);
}

static void test_hash64_is_deterministic_and_seeded(void)
{
    CHECK(mr__hash64(12345, 1) == mr__hash64(12345, 1));
    CHECK(mr__hash64(12345, 1) != mr__hash64(12345, 2));
    CHECK(mr__hash64(0, 0) != mr__hash64(1, 0));
    size_t same = 0;
    for (uint64_t k = 0; k < 10000; k++) same += mr__hash64(k, 7) == mr__hash64(k, 8);
    CHECK(same == 0);
}

static void test_sequential_keys_spread_over_buckets_and_tophash(void)
{
    enum { N = 1 << 20, CELLS = 1 << 12 };
    static uint32_t low[CELLS], top[256];
    memset(low, 0, sizeof low);
    memset(top, 0, sizeof top);
    for (uint64_t k = 0; k < N; k++) {
        uint64_t h = mr__hash64(k, 0x1234);
        low[h & (CELLS - 1)]++;
        top[h >> 56]++;
    }
    double lo = chi2_ratio(low, CELLS, N), hi = chi2_ratio(top, 256, N);
    CHECK(lo < 1.3 && lo > 0.7);
    CHECK(hi < 1.5 && hi > 0.5);
    /* strided keys (multiples of 4096, like aligned pointers) too */
    memset(low, 0, sizeof low);
    for (uint64_t k = 0; k < N; k++) low[mr__hash64(k << 12, 99) & (CELLS - 1)]++;
    lo = chi2_ratio(low, CELLS, N);
    CHECK(lo < 1.3 && lo > 0.7);
}

/* Flipping one input bit flips each output bit about half of the time. */
static void test_avalanche(void)
{
    enum { TRIALS = 2000 };
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int bit = 0; bit < 64; bit++) {
        uint32_t flips[64] = {0};
        for (int t = 0; t < TRIALS; t++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint64_t d = mr__hash64(x, 5) ^ mr__hash64(x ^ (1ull << bit), 5);
            for (int o = 0; o < 64; o++) flips[o] += (d >> o) & 1;
        }
        for (int o = 0; o < 64; o++) {
            double p = flips[o] / (double)TRIALS;
            if (p < 0.40 || p > 0.60) {
                fprintf(stderr, "input bit %d -> output bit %d flips with p=%.3f\n", bit, o, p);
                CHECK(0);
            }
        }
    }
}

static void test_bytes_every_length_and_trailing_zeros(void)
{
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 37 + 11);
    uint64_t prev = 0;
    for (size_t n = 0; n <= 200; n++) {
        uint64_t h = mr__hash_bytes(buf, n, 3);
        CHECK(h == mr__hash_bytes(buf, n, 3));
        CHECK(h != mr__hash_bytes(buf, n, 4));
        CHECK(n == 0 || h != prev);
        prev = h;
        /* every byte matters */
        for (size_t i = 0; i < n; i++) {
            buf[i] ^= 1;
            uint64_t h2 = mr__hash_bytes(buf, n, 3);
            buf[i] ^= 1;
            if (h2 == h) {
                fprintf(stderr, "byte %zu of %zu does not change the hash\n", i, n);
                CHECK(0);
            }
        }
    }
    uint8_t z[32] = {0};
    for (size_t n = 1; n < 32; n++) CHECK(mr__hash_bytes(z, n, 0) != mr__hash_bytes(z, n + 1, 0));
    CHECK(mr__hash_bytes(NULL, 0, 1) == mr__hash_bytes(buf, 0, 1));
}

/* Keys of 17 to 32 bytes hash inline, to the value of the out-of-line loop
 * (so hashing does not depend on which path a caller took). */
static void test_mid_length_inline_hash_is_the_loop_hash(void)
{
    uint8_t buf[32];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 37 + 11);
    for (uint64_t seed = 1; seed < 1000000; seed = seed * 7 + 3)
        for (size_t n = 17; n <= 32; n++)
            CHECK_EQ_U64(mr__hash_mixed(buf, n, seed), mr__hash_long(buf, n, seed));
}

static void test_similar_strings_spread(void)
{
    enum { N = 1 << 18, CELLS = 1 << 10 };
    static uint32_t low[CELLS], top[256];
    memset(low, 0, sizeof low);
    memset(top, 0, sizeof top);
    char s[32];
    for (int i = 0; i < N; i++) {
        int n = snprintf(s, sizeof s, "user-%d", i);
        uint64_t h = mr__hash_bytes(s, (size_t)n, 77);
        low[h & (CELLS - 1)]++;
        top[h >> 56]++;
    }
    double lo = chi2_ratio(low, CELLS, N), hi = chi2_ratio(top, 256, N);
    CHECK(lo < 1.3 && lo > 0.7);
    CHECK(hi < 1.5 && hi > 0.5);
}

int main(void)
{
    TEST(test_hash64_is_deterministic_and_seeded);
    TEST(test_sequential_keys_spread_over_buckets_and_tophash);
    TEST(test_avalanche);
    TEST(test_bytes_every_length_and_trailing_zeros);
    TEST(test_mid_length_inline_hash_is_the_loop_hash);
    TEST(test_similar_strings_spread);
    TEST_EXIT();
}
