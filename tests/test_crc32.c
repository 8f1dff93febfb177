/* tests/test_crc32.c -- mf_crc32 is zlib's crc32 at every length and
 * alignment, and mf_crc32_uncombine undoes crc32_combine. */
#include "check.h"
#include "format/crc32.h"

#include <stdint.h>
#include <zlib.h>

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 23);
    }
}

/* Every length up to a few folds, at every alignment, from a few starting
 * values; then long runs (where the 64-byte folding does the work). */
static void crc32_is_zlibs_at_every_length_and_alignment(void)
{
    enum { N = 1 << 20 };
    static uint8_t b[N + 64];
    fill(b, sizeof b, 1);
    const uint32_t starts[] = {0, 1, 0xffffffff, 0x12345678};
    for (size_t s = 0; s < 4; s++)
        for (size_t al = 0; al < 16; al++)
            for (size_t n = 0; n <= 700; n++)
                CHECK_EQ_U64(mf_crc32(starts[s], b + al, n), crc32(starts[s], b + al, (uInt)n));
    const size_t lens[] = {4096, 65536 + 13, N - 1, N};
    for (size_t i = 0; i < 4; i++)
        for (size_t al = 0; al < 3; al++)
            CHECK_EQ_U64(mf_crc32(7, b + al, lens[i]), crc32(7, b + al, (uInt)lens[i]));
    /* all zeros and all ones: no lane may cancel another */
    memset(b, 0, N);
    CHECK_EQ_U64(mf_crc32(0, b, N), crc32(0, b, N));
    memset(b, 0xff, N);
    CHECK_EQ_U64(mf_crc32(0, b, N), crc32(0, b, N));
}

static void uncombine_undoes_crc32_combine(void)
{
    uint8_t b[3000];
    fill(b, sizeof b, 7);
    const size_t cuts[] = {0, 1, 7, 8, 1000, 2999, 3000};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        size_t a = cuts[i];
        uint32_t ca = (uint32_t)crc32(0, b, (uInt)a);
        uint32_t cb = (uint32_t)crc32(0, b + a, (uInt)(sizeof b - a));
        uint32_t cab = (uint32_t)crc32(0, b, sizeof b);
        CHECK_EQ_U64(mf_crc32_uncombine(cab, cb, sizeof b - a), ca);
    }
    /* a length past 4 GiB: combine and uncombine agree */
    uint64_t big = ((uint64_t)5 << 30) + 3;
    uint32_t c = (uint32_t)crc32_combine(0x12345678, 0x9abcdef0, (z_off_t)big);
    CHECK_EQ_U64(mf_crc32_uncombine(c, 0x9abcdef0, big), 0x12345678);
}

int main(void)
{
    TEST(crc32_is_zlibs_at_every_length_and_alignment);
    TEST(uncombine_undoes_crc32_combine);
    TEST_EXIT();
}
