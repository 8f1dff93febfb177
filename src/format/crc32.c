/* src/format/crc32.c -- see crc32.h. */
#include "format/crc32.h"

#include <assert.h>
#include <stdbool.h>
#include <zlib.h>

/* zlib's crc32 takes at most 4 GiB - 1 bytes a call (uInt). */
static uint32_t zlib_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n) {
        uInt k = n > 0x40000000 ? 0x40000000 : (uInt)n;
        crc = (uint32_t)crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define FOLD_TARGET __attribute__((target("pclmul,sse4.1")))

/*
 * The folding of Gopal et al., "Fast CRC Computation for Generic Polynomials
 * Using PCLMULQDQ Instruction" (Intel, 2009), in the bit-reflected domain of
 * zlib's CRC-32. Four 128-bit lanes each stand for a polynomial that still
 * has to be reduced; multiplying a lane's two halves by x^(512+64) and
 * x^512 modulo P (the constants, bit-reflected and pre-shifted) moves it 64
 * bytes on, where the next 64 bytes are added. The lanes are then folded
 * into one (x^128 steps), the last 128 bits to 64 and 32, and a Barrett
 * reduction gives the remainder. `c` is the CRC register (zlib's value
 * inverted); n is a multiple of 16 and at least 64.
 */
FOLD_TARGET static uint32_t fold_pclmul(uint32_t c, const uint8_t *p, size_t n)
{
    const __m128i k512 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k128 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k64 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i barrett = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(-1, 0, -1, 0);

    __m128i lane[4];
    for (int i = 0; i < 4; i++) lane[i] = _mm_loadu_si128((const __m128i *)(p + 16 * i));
    lane[0] = _mm_xor_si128(lane[0], _mm_cvtsi32_si128((int)c));
    p += 64;
    n -= 64;
    for (; n >= 64; p += 64, n -= 64)
        for (int i = 0; i < 4; i++) {
            __m128i lo = _mm_clmulepi64_si128(lane[i], k512, 0x00);
            __m128i hi = _mm_clmulepi64_si128(lane[i], k512, 0x11);
            __m128i next = _mm_loadu_si128((const __m128i *)(p + 16 * i));
            lane[i] = _mm_xor_si128(_mm_xor_si128(lo, hi), next);
        }
    /* four lanes into one, then the 16-byte blocks left */
    __m128i x = lane[0];
    for (int i = 1; i < 4; i++) {
        __m128i lo = _mm_clmulepi64_si128(x, k128, 0x00);
        __m128i hi = _mm_clmulepi64_si128(x, k128, 0x11);
        x = _mm_xor_si128(_mm_xor_si128(lo, hi), lane[i]);
    }
    for (; n >= 16; p += 16, n -= 16) {
        __m128i lo = _mm_clmulepi64_si128(x, k128, 0x00);
        __m128i hi = _mm_clmulepi64_si128(x, k128, 0x11);
        x = _mm_xor_si128(_mm_xor_si128(lo, hi), _mm_loadu_si128((const __m128i *)p));
    }
    assert(n == 0);
    /* 128 bits to 64: the low half times x^128 onto the high half */
    __m128i t = _mm_clmulepi64_si128(x, k128, 0x10);
    x = _mm_xor_si128(_mm_srli_si128(x, 8), t);
    /* 64 to 32: the low 32 bits times x^64 onto the rest */
    t = _mm_srli_si128(x, 4);
    x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, low32), k64, 0x00), t);
    /* Barrett: the quotient by mu, back times P, leaves the remainder */
    t = _mm_clmulepi64_si128(_mm_and_si128(x, low32), barrett, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
    x = _mm_xor_si128(x, t);
    return (uint32_t)_mm_extract_epi32(x, 1);
}

/* Decided once: reading it races only with itself, to the same answer. */
static bool have_pclmul(void)
{
    static int known; /* 0 unknown, 1 no, 2 yes */
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (!k) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1") ? 2 : 1;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k == 2;
}
#else
static bool have_pclmul(void)
{
    return false;
}
static uint32_t fold_pclmul(uint32_t c, const uint8_t *p, size_t n)
{
    (void)p, (void)n;
    return c;
}
#endif

/* Folding starts on a 16-byte boundary (zlib takes the bytes before it),
 * takes whole 16-byte blocks, and leaves the last few bytes to zlib. Below
 * 256 bytes zlib alone is as fast. */
uint32_t mf_crc32(uint32_t crc, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    if (n < 256 || !have_pclmul()) return zlib_crc32(crc, p, n);
    size_t head = (size_t)(-(uintptr_t)p & 15);
    crc = zlib_crc32(crc, p, head);
    p += head;
    n -= head;
    size_t body = n & ~(size_t)15;
    crc = ~fold_pclmul(~crc, p, body);
    return zlib_crc32(crc, p + body, n - body);
}

/* Why a solve: crc32_combine(a, b, n) is M(a) ^ b for a linear map M of
 * the 32 bits of a (multiplication by x^(8n) modulo the CRC polynomial),
 * and M is invertible (the polynomial's constant term is 1). Its columns
 * are M of each single bit; Gaussian elimination over GF(2) finds a. */
uint32_t mf_crc32_uncombine(uint32_t crc_ab, uint32_t crc_b, uint64_t len_b)
{
    /* img[k], when set: M of the bit combination src[k], whose highest
     * set bit is k (a basis of M's image, in echelon form) */
    uint32_t img[32] = {0}, src[32] = {0};
    for (int i = 0; i < 32; i++) {
        uint32_t v = (uint32_t)crc32_combine((uLong)1 << i, 0, (z_off_t)len_b);
        uint32_t c = (uint32_t)1 << i;
        for (int k = 31; k >= 0 && v; k--) {
            if (!(v >> k & 1)) continue;
            if (!img[k]) {
                img[k] = v;
                src[k] = c;
                v = 0;
                break;
            }
            v ^= img[k];
            c ^= src[k];
        }
        assert(v == 0); /* M is invertible: no column depends on the others */
    }
    uint32_t t = crc_ab ^ crc_b, a = 0;
    for (int k = 31; k >= 0; k--)
        if (t >> k & 1) {
            t ^= img[k];
            a ^= src[k];
        }
    assert(t == 0);
    return a;
}
