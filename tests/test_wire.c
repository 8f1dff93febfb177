/*
 * tests/test_wire.c -- the varint decoders of src/format/wire.h: the
 * unchecked one and the packed-column one give what the checked
 * mf_get_varint gives, for varints of every length, at every distance from
 * the end of the input (where the packed decoder changes from eight bytes
 * at a time to unchecked to checked), and refuse what it refuses.
 */
#include "check.h"
#include "format/wire.h"

#include <stdint.h>
#include <stdlib.h>

/* A value whose varint takes exactly len bytes (1..10). */
static uint64_t value_of_len(unsigned len, uint64_t salt)
{
    if (len >= MF_VARINT_MAX) return (UINT64_C(1) << 63) | salt;
    uint64_t lo = len == 1 ? 0 : UINT64_C(1) << (7 * (len - 1));
    uint64_t span = (UINT64_C(1) << (7 * len)) - lo;
    return lo + salt % span;
}

static void unchecked_decoding_matches_the_checked_one(void)
{
    uint8_t buf[32];
    for (unsigned len = 1; len <= MF_VARINT_MAX; len++)
        for (uint64_t salt = 0; salt < 1000; salt++) {
            uint64_t v = value_of_len(len, salt * 0x9e3779b97f4a7c15ull), a = 0, b = 1;
            uint8_t *e = mf_put_varint(buf, v);
            CHECK((size_t)(e - buf) == len);
            const uint8_t *p = mf_get_varint(buf, e, &a), *q = mf_get_varint_unchecked(buf, &b);
            CHECK(p == e && q == e);
            CHECK_EQ_U64(a, v);
            CHECK_EQ_U64(b, v);
        }
    /* eleven bytes with their continuation bits: refused by both */
    for (int i = 0; i < 11; i++) buf[i] = 0x81;
    buf[11] = 0;
    uint64_t x;
    CHECK(mf_get_varint(buf, buf + 12, &x) == NULL);
    CHECK(mf_get_varint_unchecked(buf, &x) == NULL);
}

/* Columns of n values: runs of one-byte varints broken by longer ones, so
 * that the eight-at-a-time path, the unchecked path and the checked tail
 * all see every kind of value at every offset from the end. */
static void packed_columns_decode_as_varint_by_varint(void)
{
    enum { MAXN = 80 };
    uint8_t buf[MAXN * MF_VARINT_MAX];
    uint64_t want[MAXN], got[MAXN * MF_VARINT_MAX];
    for (size_t n = 0; n <= MAXN; n++)
        for (unsigned seed = 0; seed < 60; seed++) {
            uint8_t *e = buf;
            for (size_t i = 0; i < n; i++) {
                uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed * 0xbf58476d1ce4e5b9ull;
                /* mostly one byte; every length now and then */
                unsigned len = (h >> 60) < 11 ? 1 : 1 + (unsigned)((h >> 8) % MF_VARINT_MAX);
                if (seed % 3 == 0) len = 1 + (unsigned)((i + seed) % MF_VARINT_MAX);
                want[i] = value_of_len(len, h);
                e = mf_put_varint(e, want[i]);
            }
            size_t k = SIZE_MAX;
            const uint8_t *end = mf_get_packed_varints(buf, e, got, &k);
            CHECK(end == e);
            CHECK_EQ_U64(k, n);
            for (size_t i = 0; i < n; i++) CHECK_EQ_U64(got[i], want[i]);
            /* cut inside the last varint (when it has more than one byte):
             * refused, as mf_get_varint refuses it */
            if (n && e - buf >= 2 && (e[-2] & 0x80)) {
                size_t m;
                CHECK(mf_get_packed_varints(buf, e - 1, got, &m) == NULL);
            }
        }
}

/* An overlong varint far from the end (on the unchecked path) and near it
 * (on the checked one) is refused. */
static void packed_columns_refuse_an_overlong_varint(void)
{
    uint8_t buf[64];
    uint64_t out[64];
    for (size_t at = 0; at + 11 <= sizeof buf; at++) {
        memset(buf, 1, sizeof buf);
        for (size_t i = 0; i < 11; i++) buf[at + i] = 0x80;
        size_t n;
        CHECK(mf_get_packed_varints(buf, buf + sizeof buf, out, &n) == NULL);
    }
}

int main(void)
{
    TEST(unchecked_decoding_matches_the_checked_one);
    TEST(packed_columns_decode_as_varint_by_varint);
    TEST(packed_columns_refuse_an_overlong_varint);
    TEST_EXIT();
}
