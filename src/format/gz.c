/* src/format/gz.c -- see gz.h. */
#include "format/gz.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void mf_buf_free(mf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int mf_buf_reserve(mf_buf *b, size_t more, mf_error *err)
{
    if (more <= b->cap - b->len) return 0;
    if (more > SIZE_MAX / 2 - b->len) {
        mf_error_set(err, "buffer size overflow");
        return -1;
    }
    size_t need = b->len + more;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        mf_error_set(err, "out of memory (%zu bytes)", cap);
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int mf_buf_append(mf_buf *b, const void *p, size_t n, mf_error *err)
{
    if (mf_buf_reserve(b, n, err)) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

bool mf_is_gzip(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int mf_read_file(const char *path, mf_buf *out, mf_error *err)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mf_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    out->len = 0;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        mf_error_set(err, "%s: is a directory", path);
        goto fail;
    }
    /* A regular file's size is a good first guess; pipes grow as they go. */
    size_t want = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
                      ? (size_t)st.st_size + 1
                      : 65536;
    for (;;) {
        if (mf_buf_reserve(out, want, err)) {
            mf_error_set(err, "%s: out of memory reading the file", path);
            goto fail;
        }
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
        if (r < 0) {
            if (errno == EINTR) continue;
            mf_error_set(err, "%s: read error at byte %zu: %s", path, out->len, strerror(errno));
            goto fail;
        }
        if (r == 0) break;
        out->len += (size_t)r;
        want = 65536;
    }
    if (fd != STDIN_FILENO) close(fd);
    return 0;
fail:
    if (fd != STDIN_FILENO) close(fd);
    mf_buf_free(out);
    return -1;
}

/* Why one call over the whole buffer rather than a stream: the parser wants
 * the decoded bytes contiguous anyway, and sizing the output from the gzip
 * trailer (ISIZE, the length mod 2^32) usually makes a single allocation. The
 * trailer is only a hint: the buffer still grows if the data says otherwise. */
int mf_gunzip(const uint8_t *in, size_t n, const char *name, mf_buf *out, mf_error *err)
{
    mf_buf_free(out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        mf_error_set(err, "%s: cannot initialize zlib", name);
        return -1;
    }
    size_t hint = n < SIZE_MAX / 4 ? n * 4 : n;
    if (n >= 18) {
        size_t isize = (size_t)in[n - 4] | (size_t)in[n - 3] << 8 | (size_t)in[n - 2] << 16 |
                       (size_t)in[n - 1] << 24;
        /* deflate cannot expand more than ~1032:1; ignore implausible trailers. */
        if (isize >= n / 2 && isize / 1032 <= n) hint = isize + 64;
    }
    if (hint > ((size_t)1 << 30)) hint = (size_t)1 << 30;
    if (hint < 4096) hint = 4096;
    if (mf_buf_reserve(out, hint, err)) goto fail_msg;

    size_t pos = 0; /* compressed bytes consumed */
    for (;;) {
        if (out->len == out->cap) {
            if (out->cap >= MF_MAX_DECODED) {
                mf_error_set(err,
                             "%s: decompressed data larger than %zu bytes (at compressed byte %zu)",
                             name, (size_t)MF_MAX_DECODED, pos);
                goto fail;
            }
            if (mf_buf_reserve(out, out->cap, err)) goto fail_msg;
        }
        size_t in_chunk = n - pos > UINT32_MAX ? UINT32_MAX : n - pos;
        size_t out_chunk = out->cap - out->len > UINT32_MAX ? UINT32_MAX : out->cap - out->len;
        zs.next_in = (Bytef *)(in + pos);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)out_chunk;
        int rc = inflate(&zs, Z_NO_FLUSH);
        pos += in_chunk - zs.avail_in;
        out->len += out_chunk - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (pos == n) break;
            if (mf_is_gzip(in + pos, n - pos)) { /* another member follows */
                inflateReset(&zs);
                continue;
            }
            mf_error_set(err, "%s: trailing data after the gzip stream (compressed byte %zu)", name,
                         pos);
            goto fail;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR && pos == n) {
            int had = mf_gz_trailer_had(&zs);
            if (had >= 0)
                mf_error_set(
                    err,
                    "%s: truncated gzip data (input ends at compressed byte %zu inside "
                    "the gzip trailer, the content's CRC-32 and length: %d of its 8 bytes)",
                    name, pos, had);
            else
                mf_error_set(err, "%s: truncated gzip data (input ends at compressed byte %zu)",
                             name, pos);
            goto fail;
        }
        if (rc == Z_BUF_ERROR) continue; /* output full; grown above */
        mf_error_set(err, "%s: corrupt gzip data: %s (compressed byte %zu)", name,
                     zs.msg ? zs.msg : "inflate failed", pos);
        goto fail;
    }
    inflateEnd(&zs);
    return 0;
fail_msg : {
    char tmp[sizeof err->msg];
    snprintf(tmp, sizeof tmp, "%s", err ? err->msg : "");
    mf_error_set(err, "%s: %s", name, tmp);
}
fail:
    inflateEnd(&zs);
    mf_buf_free(out);
    return -1;
}

/*
 * Why a probe on a copy: zlib does not say which part of a member it was
 * reading when its input ends. A complete deflate stream followed by k of
 * the trailer's 8 bytes ends at Z_STREAM_END after 8 - k more bytes,
 * whatever they are (the copy checks neither CRC nor length); a deflate
 * stream that is not complete needs at least one byte more to end, and 8
 * after that, so 8 bytes fed to it never end the member. The copy is fed
 * 8 zero bytes and the bytes it leaves unread give k.
 */
int mf_gz_trailer_had(struct z_stream_s *z)
{
    z_stream c;
    if (inflateCopy(&c, z) != Z_OK) return -1;
#if ZLIB_VERNUM >= 0x1290
    inflateValidate(&c, 0); /* a member with a header CRC checks its trailer */
#endif
    uint8_t zeros[8] = {0}, out[64];
    c.next_in = zeros;
    c.avail_in = sizeof zeros;
    int rc;
    do {
        c.next_out = out;
        c.avail_out = sizeof out;
        rc = inflate(&c, Z_NO_FLUSH);
    } while (rc == Z_OK && (c.avail_in > 0 || c.avail_out == 0));
    int had = rc == Z_STREAM_END ? (int)c.avail_in : -1;
    inflateEnd(&c);
    assert(had < 8);
    return had;
}

int mf_read_input(const char *path, mf_buf *out, bool *was_gzip, mf_error *err)
{
    mf_buf raw = {0};
    if (mf_read_file(path, &raw, err)) return -1;
    bool gz = mf_is_gzip(raw.data, raw.len);
    if (was_gzip) *was_gzip = gz;
    if (!gz) {
        *out = raw;
        return 0;
    }
    int rc = mf_gunzip(raw.data, raw.len, path, out, err);
    mf_buf_free(&raw);
    return rc;
}

int mf_gzip(const uint8_t *in, size_t n, int level, mf_buf *out, mf_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        mf_error_set(err, "cannot initialize zlib");
        return -1;
    }
    out->len = 0;
    size_t pos = 0;
    int rc;
    do {
        if (mf_buf_reserve(out, n / 4 + 4096, err)) {
            deflateEnd(&zs);
            return -1;
        }
        size_t in_chunk = n - pos > UINT32_MAX ? UINT32_MAX : n - pos;
        size_t out_chunk = out->cap - out->len > UINT32_MAX ? UINT32_MAX : out->cap - out->len;
        zs.next_in = (Bytef *)(in + pos);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)out_chunk;
        rc = deflate(&zs, pos + in_chunk == n ? Z_FINISH : Z_NO_FLUSH);
        pos += in_chunk - zs.avail_in;
        out->len += out_chunk - zs.avail_out;
        if (rc == Z_STREAM_ERROR) {
            deflateEnd(&zs);
            mf_error_set(err, "zlib deflate failed");
            return -1;
        }
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
    return 0;
}
