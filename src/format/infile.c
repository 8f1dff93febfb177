/* src/format/infile.c -- see infile.h. */
#include "format/infile.h"

#include "format/crc32.h"
#include "format/gz.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define RAW_CHUNK ((size_t)1 << 18)

struct mf_in {
    char *name;
    int fd;
    bool is_stdin, started, gz, raw_eof, z_ready, z_end, done;
    z_stream z;
    uint8_t *raw; /* compressed bytes read, not yet inflated */
    size_t raw_cap;
    uint64_t file_off;
    uint8_t *pk; /* decoded bytes peeked, not yet read */
    size_t pk_len, pk_cap;
    uint64_t off; /* decoded bytes handed out */
    /* The CRC-32 of every decoded byte is crc32_combine(crc_prev, crc_mem,
     * len_mem): crc_prev covers the gzip members before the current one,
     * crc_mem and len_mem the current member (or the raw content). Kept for
     * gzip always (the trailers need it), for raw content once tracked. */
    bool track;
    uint32_t crc_prev, crc_mem;
    uint64_t len_mem;
    uint8_t ztail[8]; /* the last 8 compressed bytes inflate consumed */
};

uint64_t mf_default_max_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t lim = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size / 2 : (uint64_t)4 << 30;
    /* under an address-space limit (ulimit -v), stop with the message
     * before malloc fails: half of what the program has not mapped yet
     * (the rest for thread stacks and malloc's arenas) */
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        uint64_t mapped = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long long vm_pages;
        if (f && fscanf(f, "%llu", &vm_pages) == 1 && size > 0) mapped = vm_pages * (uint64_t)size;
        if (f) fclose(f);
        uint64_t room = rl.rlim_cur > mapped ? (rl.rlim_cur - mapped) / 2 : 1;
        if (room < lim) lim = room;
    }
    return lim;
}

/* Sizes as people read them: "1.5 GiB", "300 MiB". */
static void fmt_size(char *buf, size_t n, uint64_t v)
{
    if (v >= (uint64_t)1 << 30)
        snprintf(buf, n, "%.1f GiB", (double)v / (double)((uint64_t)1 << 30));
    else if (v >= (uint64_t)1 << 20)
        snprintf(buf, n, "%" PRIu64 " MiB", (v + ((uint64_t)1 << 20) - 1) >> 20);
    else
        snprintf(buf, n, "%" PRIu64 " KiB", (v + 1023) >> 10);
}

int mf_limit_check(const mf_limits *lim, uint64_t need, const char *name, const char *what,
                   mf_error *err)
{
    if (!mf_limit_passed(lim, need)) return 0;
    char a[32], b[32];
    fmt_size(a, sizeof a, need);
    fmt_size(b, sizeof b, lim->max_memory);
    mf_error_set(err, "%s: needs ~%s of memory for %s; raise --max-memory (now %s)", name, a, what,
                 b);
    return -1;
}

mf_in *mf_in_open(const char *path, mf_error *err)
{
    mf_in *in = calloc(1, sizeof *in);
    if (!in || !(in->name = strdup(path))) {
        free(in);
        mf_error_set(err, "cannot open %s: out of memory", path);
        return NULL;
    }
    in->is_stdin = strcmp(path, "-") == 0;
    in->fd = in->is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in->fd < 0) {
        mf_error_set(err, "cannot open %s: %s", path, strerror(errno));
    } else if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        mf_error_set(err, "cannot read %s: it is a directory", path);
    } else if (!(in->raw = malloc(RAW_CHUNK))) {
        mf_error_set(err, "cannot open %s: out of memory", path);
    } else {
        in->raw_cap = RAW_CHUNK;
        return in;
    }
    mf_in_close(in);
    return NULL;
}

void mf_in_close(mf_in *in)
{
    if (!in) return;
    if (in->fd > STDIN_FILENO || (in->fd == STDIN_FILENO && !in->is_stdin)) close(in->fd);
    if (in->z_ready) inflateEnd(&in->z);
    free(in->raw);
    free(in->pk);
    free(in->name);
    free(in);
}

const char *mf_in_name(const mf_in *in)
{
    return in->name;
}

int mf_in_regular_fd(const mf_in *in)
{
    struct stat st;
    if (!in->started || in->gz || in->is_stdin || fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return in->fd;
}

uint64_t mf_in_size_hint(const mf_in *in)
{
    struct stat st;
    if (fstat(in->fd, &st) != 0 || !S_ISREG(st.st_mode)) return in->off;
    return (uint64_t)st.st_size > in->off ? (uint64_t)st.st_size : in->off;
}

bool mf_in_is_gzip(const mf_in *in)
{
    return in->gz;
}

uint64_t mf_in_file_offset(const mf_in *in)
{
    return in->file_off;
}

uint64_t mf_in_offset(const mf_in *in)
{
    return in->off;
}

/* One read(2) of the file into buf; counts the bytes, names the file on
 * an error. */
static ssize_t read_fd(mf_in *in, uint8_t *buf, size_t n, mf_error *err)
{
    ssize_t k;
    do k = read(in->fd, buf, n);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        mf_error_set(err, "%s: read error at byte %" PRIu64 ": %s", in->name, in->file_off,
                     strerror(errno));
        return -1;
    }
    in->file_off += (uint64_t)k;
    return k;
}

/* Reads more of the file after the unconsumed compressed bytes; 0 at the
 * end of the file, -1 on error. */
static ssize_t read_raw(mf_in *in, mf_error *err)
{
    size_t have = in->z.avail_in;
    if (have && in->z.next_in != in->raw) memmove(in->raw, in->z.next_in, have);
    ssize_t k = read_fd(in, in->raw + have, in->raw_cap - have, err);
    if (k < 0) return -1;
    in->z.next_in = in->raw;
    in->z.avail_in = (uInt)(have + (size_t)k);
    if (k == 0) in->raw_eof = true;
    return k;
}

/* Why zlib does not check the gzip trailer: it would compute the CRC-32 of
 * the content, and a reader with a checksum of its own (a snapshot's
 * footer) would compute it a second time. decode() keeps the one CRC-32
 * (crc_mem) that both checks use, and member_end compares it with the
 * trailer as zlib would. A member whose header carries its own CRC (FHCRC)
 * is left to zlib entirely: with validation off zlib skips that check too.
 * Called with the member's first bytes in in->z (at least 2 of them). */
static int member_begin(mf_in *in, mf_error *err)
{
    while (in->z.avail_in < 4 && !in->raw_eof)
        if (read_raw(in, err) < 0) return -1;
#if ZLIB_VERNUM >= 0x1290 /* inflateValidate; before it zlib checks all */
    bool hcrc = in->z.avail_in < 4 || (in->z.next_in[3] & 0x02);
    inflateValidate(&in->z, hcrc);
#endif
    in->crc_prev = (uint32_t)crc32_combine(in->crc_prev, in->crc_mem, (z_off_t)in->len_mem);
    in->crc_mem = 0;
    in->len_mem = 0;
    return 0;
}

/* Remembers the last 8 compressed bytes consumed (the trailer, once a
 * member ends): the raw buffer may have been refilled since. */
static void note_consumed(mf_in *in, const uint8_t *from, size_t n)
{
    if (n >= 8) {
        memcpy(in->ztail, from + n - 8, 8);
    } else if (n) {
        memmove(in->ztail, in->ztail + n, 8 - n);
        memcpy(in->ztail + 8 - n, from, n);
    }
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A gzip member ended (inflate consumed its trailer, the last 8 bytes in
 * ztail): its CRC-32 and length (mod 2^32) must be those of its content.
 * The messages and byte offsets are zlib's own: the CRC is found wrong
 * once its 4 bytes are read, the length once all 8 are. */
static int member_end(mf_in *in, mf_error *err)
{
    uint64_t at = in->file_off - in->z.avail_in;
    const char *what = NULL;
    if (get_le32(in->ztail) != in->crc_mem) {
        what = "incorrect data check";
        at -= 4;
    } else if (get_le32(in->ztail + 4) != (uint32_t)in->len_mem) {
        what = "incorrect length check";
    }
    if (!what) return 0;
    mf_error_set(err, "%s: corrupt gzip data: %s (compressed byte %" PRIu64 ")", in->name, what,
                 at);
    return -1;
}

/* The first read decides gzip or raw from the first two bytes. */
static int start(mf_in *in, mf_error *err)
{
    in->started = true;
    while (in->z.avail_in < 2 && !in->raw_eof)
        if (read_raw(in, err) < 0) return -1;
    in->gz = in->z.avail_in >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b;
    if (in->gz) {
        if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK) {
            mf_error_set(err, "%s: cannot initialize zlib", in->name);
            return -1;
        }
        in->z_ready = true;
        return member_begin(in, err);
    }
    return 0;
}

/* Decodes up to n bytes into buf; 0 only at the end of the content. */
static ssize_t decode(mf_in *in, uint8_t *buf, size_t n, mf_error *err)
{
    if (!in->started && start(in, err)) return -1;
    if (n == 0 || in->done) return 0;
    if (n > UINT32_MAX) n = UINT32_MAX;
    if (!in->gz) {
        ssize_t k;
        if (in->z.avail_in) { /* the bytes read to tell the kind */
            k = in->z.avail_in < n ? in->z.avail_in : n;
            memcpy(buf, in->z.next_in, (size_t)k);
            in->z.next_in += k;
            in->z.avail_in -= (uInt)k;
        } else {
            k = read_fd(in, buf, n, err);
            if (k == 0) in->done = true;
        }
        if (k > 0 && in->track) {
            in->crc_mem = mf_crc32(in->crc_mem, buf, (size_t)k);
            in->len_mem += (uint64_t)k;
        }
        return k;
    }
    for (;;) {
        if (in->z_end) {
            /* a gzip member ended: another may follow (concatenated files);
             * anything else after it is an error */
            if (in->z.avail_in < 2 && !in->raw_eof && read_raw(in, err) < 0) return -1;
            if (in->z.avail_in == 0 && in->raw_eof) {
                in->done = true;
                return 0;
            }
            if (in->z.avail_in < 2 || in->z.next_in[0] != 0x1f || in->z.next_in[1] != 0x8b) {
                mf_error_set(
                    err, "%s: trailing data after the gzip stream (compressed byte %" PRIu64 ")",
                    in->name, in->file_off - in->z.avail_in);
                return -1;
            }
            inflateReset(&in->z);
            in->z_end = false;
            if (member_begin(in, err)) return -1;
        }
        if (in->z.avail_in == 0 && !in->raw_eof && read_raw(in, err) < 0) return -1;
        if (in->z.avail_in == 0 && in->raw_eof) {
            int had = mf_gz_trailer_had(&in->z);
            if (had >= 0)
                mf_error_set(err,
                             "%s: truncated gzip data (the file ends at byte %" PRIu64
                             " inside the gzip trailer, the content's CRC-32 and length: %d of"
                             " its 8 bytes)",
                             in->name, in->file_off, had);
            else
                mf_error_set(err,
                             "%s: truncated gzip data (the file ends at byte %" PRIu64
                             " inside compressed data)",
                             in->name, in->file_off);
            return -1;
        }
        in->z.next_out = buf;
        in->z.avail_out = (uInt)n;
        const uint8_t *from = in->z.next_in;
        int rc = inflate(&in->z, Z_NO_FLUSH);
        size_t got = n - in->z.avail_out;
        note_consumed(in, from, (size_t)(in->z.next_in - from));
        if (got) {
            in->crc_mem = mf_crc32(in->crc_mem, buf, got);
            in->len_mem += got;
        }
        if (rc == Z_STREAM_END) {
            in->z_end = true;
            if (member_end(in, err)) return -1;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            mf_error_set(err, "%s: corrupt gzip data: %s (compressed byte %" PRIu64 ")", in->name,
                         in->z.msg ? in->z.msg : "inflate failed", in->file_off - in->z.avail_in);
            return -1;
        }
        if (got) return (ssize_t)got;
    }
}

int mf_in_peek(mf_in *in, size_t n, const uint8_t **p, size_t *got, mf_error *err)
{
    if (in->pk_cap < n) {
        uint8_t *q = realloc(in->pk, n);
        if (!q) {
            mf_error_set(err, "%s: out of memory", in->name);
            return -1;
        }
        in->pk = q;
        in->pk_cap = n;
    }
    while (in->pk_len < n) {
        ssize_t k = decode(in, in->pk + in->pk_len, n - in->pk_len, err);
        if (k < 0) return -1;
        if (k == 0) break;
        in->pk_len += (size_t)k;
    }
    *p = in->pk;
    *got = in->pk_len < n ? in->pk_len : n;
    return 0;
}

ssize_t mf_in_read(mf_in *in, void *buf, size_t n, mf_error *err)
{
    ssize_t k;
    if (in->pk_len) {
        size_t m = in->pk_len < n ? in->pk_len : n;
        memcpy(buf, in->pk, m);
        memmove(in->pk, in->pk + m, in->pk_len - m);
        in->pk_len -= m;
        k = (ssize_t)m;
    } else {
        k = decode(in, buf, n, err);
    }
    if (k > 0) in->off += (uint64_t)k;
    return k;
}

bool mf_in_track_crc(mf_in *in)
{
    if (in->track || (in->started && in->gz)) return true;
    if (in->off) return false; /* raw bytes handed out unchecked */
    /* only peeked bytes were decoded so far, if any */
    in->track = true;
    in->crc_mem = mf_crc32(0, in->pk, in->pk_len);
    in->len_mem = in->pk_len;
    return true;
}

uint32_t mf_in_crc(const mf_in *in)
{
    assert(in->track || in->gz);
    uint32_t all = (uint32_t)crc32_combine(in->crc_prev, in->crc_mem, (z_off_t)in->len_mem);
    if (!in->pk_len) return all;
    return mf_crc32_uncombine(all, mf_crc32(0, in->pk, in->pk_len), in->pk_len);
}
