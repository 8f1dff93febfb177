/* tests/test_infile.c -- the input's one CRC-32: the content's checksum that
 * gzip's trailers and a reader's own footer share, and the trailer checks
 * it takes over from zlib. */
#include "check.h"
#include "format/gz.h"
#include "format/infile.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include <zlib.h>

static char path[512];

static void put_file(const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(p, 1, n, f);
    fclose(f);
}

/* Content that deflate does not shrink to nothing: a few kinds of bytes. */
static void fill(uint8_t *b, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(i % 7 == 0 ? seed >> 24 : i & 0x3f);
    }
}

/* Reads the whole input in small pieces after a peek; the CRC the input
 * kept must be that of the content at every step. */
static int read_all_checking_crc(size_t n, const uint8_t *want, bool peek_first)
{
    mf_error err;
    mf_in *in = mf_in_open(path, &err);
    if (!in) return 0;
    int ok = 1;
    if (peek_first) {
        const uint8_t *p;
        size_t got;
        ok = mf_in_peek(in, 100, &p, &got, &err) == 0;
    }
    ok = ok && mf_in_track_crc(in);
    uint8_t buf[777];
    size_t off = 0;
    ssize_t k;
    while (ok && (k = mf_in_read(in, buf, sizeof buf, &err)) > 0) {
        ok = off + (size_t)k <= n && memcmp(buf, want + off, (size_t)k) == 0;
        off += (size_t)k;
        ok = ok && mf_in_crc(in) == (uint32_t)crc32(0, want, (uInt)off);
    }
    ok = ok && off == n;
    mf_in_close(in);
    return ok;
}

/* The CRC is kept for gzip (one member or two) and, once asked for, for
 * raw content, also when the first bytes were peeked before asking. */
static void the_input_keeps_the_content_crc(void)
{
    enum { N = 50000 };
    static uint8_t b[N];
    fill(b, N, 3);
    put_file(b, N);
    CHECK(read_all_checking_crc(N, b, false));
    CHECK(read_all_checking_crc(N, b, true));
    mf_buf z1 = {0}, z2 = {0};
    mf_error err;
    CHECK(mf_gzip(b, 20000, 1, &z1, &err) == 0);
    CHECK(mf_gzip(b + 20000, N - 20000, 0, &z2, &err) == 0);
    put_file(z1.data, z1.len);
    mf_in *in = mf_in_open(path, &err);
    CHECK(in != NULL);
    const uint8_t *p;
    size_t got;
    CHECK(mf_in_peek(in, 10, &p, &got, &err) == 0 && got == 10);
    CHECK(mf_in_track_crc(in)); /* gzip: kept from the start */
    mf_in_close(in);
    CHECK(mf_buf_append(&z1, z2.data, z2.len, &err) == 0);
    put_file(z1.data, z1.len);
    CHECK(read_all_checking_crc(N, b, false));
    CHECK(read_all_checking_crc(N, b, true));
    mf_buf_free(&z1);
    mf_buf_free(&z2);
    /* raw bytes read before asking cannot be checked: refused, unchanged */
    put_file(b, N);
    in = mf_in_open(path, &err);
    CHECK(in != NULL);
    uint8_t x[10];
    CHECK(mf_in_read(in, x, sizeof x, &err) == 10);
    bool tracked = mf_in_track_crc(in);
    mf_in_close(in);
    CHECK(!tracked);
}

/* What reading the whole input gives: 0, or -1 with the message. */
static int read_through(mf_error *err)
{
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    uint8_t buf[4096];
    ssize_t k;
    while ((k = mf_in_read(in, buf, sizeof buf, err)) > 0) {
    }
    mf_in_close(in);
    return k < 0 ? -1 : 0;
}

/* Any byte of either member's trailer changed: refused with the message
 * and byte offset zlib gives when it checks the trailer itself. */
static void a_wrong_trailer_is_refused_as_zlib_refuses_it(void)
{
    enum { N = 9000 };
    static uint8_t b[N];
    fill(b, N, 11);
    mf_buf z = {0}, z2 = {0};
    mf_error err;
    CHECK(mf_gzip(b, 4000, 6, &z, &err) == 0);
    size_t first = z.len;
    CHECK(mf_gzip(b + 4000, N - 4000, 0, &z2, &err) == 0);
    CHECK(mf_buf_append(&z, z2.data, z2.len, &err) == 0);
    size_t ends[] = {first, z.len};
    for (int m = 0; m < 2; m++)
        for (size_t at = ends[m] - 8; at < ends[m]; at++) {
            z.data[at] ^= 0x10;
            put_file(z.data, z.len);
            mf_buf out = {0};
            mf_error zerr = {{0}}, ierr = {{0}};
            int zrc = mf_gunzip(z.data, z.len, path, &out, &zerr);
            mf_buf_free(&out);
            int irc = read_through(&ierr);
            z.data[at] ^= 0x10;
            CHECK(zrc == -1 && irc == -1);
            if (strcmp(zerr.msg, ierr.msg) != 0)
                fprintf(stderr, "byte %zu: zlib \"%s\", input \"%s\"\n", at, zerr.msg, ierr.msg);
            CHECK_STR_EQ(ierr.msg, zerr.msg);
        }
    put_file(z.data, z.len);
    CHECK(read_through(&err) == 0);
    mf_buf_free(&z);
    mf_buf_free(&z2);
}

/* A member whose header has its own CRC (FHCRC): checked, a wrong one
 * refused as zlib refuses it. */
static void a_header_crc_is_still_checked(void)
{
    uint8_t data[300];
    fill(data, sizeof data, 5);
    uint8_t g[1024];
    const uint8_t head[10] = {0x1f, 0x8b, 8, 0x02, 0, 0, 0, 0, 0, 3};
    memcpy(g, head, 10);
    uint32_t hc = (uint32_t)crc32(0, head, 10);
    g[10] = (uint8_t)hc;
    g[11] = (uint8_t)(hc >> 8);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    zs.next_in = data;
    zs.avail_in = sizeof data;
    zs.next_out = g + 12;
    zs.avail_out = sizeof g - 20;
    int rc = deflate(&zs, Z_FINISH);
    size_t n = 12 + zs.total_out;
    deflateEnd(&zs);
    CHECK(rc == Z_STREAM_END);
    uint32_t c = (uint32_t)crc32(0, data, sizeof data);
    for (int i = 0; i < 4; i++) g[n++] = (uint8_t)(c >> (8 * i));
    for (int i = 0; i < 4; i++) g[n++] = (uint8_t)(sizeof data >> (8 * i));
    put_file(g, n);
    mf_error err = {{0}};
    CHECK(read_through(&err) == 0);
    g[10] ^= 1;
    put_file(g, n);
    CHECK(read_through(&err) == -1);
    CHECK(strstr(err.msg, "header crc mismatch") != NULL);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/test_infile.%d", (int)getpid());
    TEST(the_input_keeps_the_content_crc);
    TEST(a_wrong_trailer_is_refused_as_zlib_refuses_it);
    TEST(a_header_crc_is_still_checked);
    unlink(path);
    TEST_EXIT();
}
