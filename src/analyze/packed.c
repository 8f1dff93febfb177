/*
 * src/analyze/packed.c -- see packed.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_TMPFILE */
#endif
#include "analyze/packed.h"

#include "format/wire.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Spilled bytes are written in pieces of this size (and read so too):
 * each spilled store keeps one piece in memory, and each cursor reading
 * one a window of its own, all at once while the findings read the
 * entries on two threads, so a piece is kept small; a MiB a system call
 * costs nothing next to the decoding. */
#define SPILL_CHUNK ((size_t)1 << 20)
#define MAX_RECORD (MP_PACK_FIELDS * MF_VARINT_MAX)

void mp_pack_init(mp_pack *p, unsigned nfields)
{
    memset(p, 0, sizeof *p);
    p->nfields = nfields > MP_PACK_FIELDS ? MP_PACK_FIELDS : nfields;
    p->fd = -1;
}

void mp_pack_spill(mp_pack *p, uint64_t bytes)
{
    p->spill_bytes = bytes;
}

void mp_pack_free(mp_pack *p)
{
    free(p->buf);
    free(p->block);
    if (p->fd >= 0) close(p->fd);
    mp_pack_init(p, p->nfields);
}

uint64_t mp_pack_memory(const mp_pack *p)
{
    return p->cap + p->cap_block * sizeof *p->block;
}

uint64_t mp_pack_bytes(const mp_pack *p)
{
    return p->file_len + p->len;
}

/* An unlinked file in the temporary directory: TMPDIR, else /var/tmp
 * (on disk where /tmp is memory), else /tmp. */
static int temp_file(void)
{
    const char *dirs[] = {getenv("TMPDIR"), "/var/tmp", "/tmp"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i] || !*dirs[i]) continue;
        int fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0) return fd;
        char path[4096];
        size_t n = strlen(dirs[i]);
        if (n + 32 > sizeof path) continue;
        memcpy(path, dirs[i], n);
        memcpy(path + n, "/maproot-spill-XXXXXX", sizeof "/maproot-spill-XXXXXX");
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) continue;
        unlink(path);
        return fd;
    }
    return -1;
}

static bool write_all(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* Moves the bytes in memory to the file; on failure the store stays in
 * memory for good. */
static void spill_now(mp_pack *p)
{
    if (p->fd < 0 && (p->fd = temp_file()) < 0) {
        p->spill_bytes = 0;
        return;
    }
    if (!write_all(p->fd, p->buf, p->len)) {
        /* what was written stays; the rest is kept in memory: reads below
         * take the file up to file_len, which only counts what was fully
         * written before */
        if (ftruncate(p->fd, (off_t)p->file_len) != 0) {
            /* the file keeps some garbage past file_len: never read */
        }
        p->spill_bytes = 0;
        return;
    }
    p->file_len += p->len;
    p->len = 0;
    /* From now on the bytes go to the file a chunk at a time: the buffer
     * that held everything up to the threshold would stay resident for
     * nothing (tens of MiB per store), so it shrinks to one chunk. */
    if (p->cap > SPILL_CHUNK + MAX_RECORD) {
        uint8_t *q = realloc(p->buf, SPILL_CHUNK + MAX_RECORD);
        if (q) {
            p->buf = q;
            p->cap = SPILL_CHUNK + MAX_RECORD;
        }
    }
}

/* Before the record that opens a block (n a multiple of MP_PACK_BLOCK):
 * the block's offset goes into the index and the deltas start from zero.
 * Then room for one record of the widest kind. False (failed set) when out
 * of memory. */
static bool before_record(mp_pack *p)
{
    if (p->n % MP_PACK_BLOCK == 0) {
        if (p->nblock == p->cap_block) {
            size_t nc = p->cap_block ? p->cap_block * 2 : 64;
            uint64_t *q = realloc(p->block, nc * sizeof *q);
            if (!q) return !(p->failed = true);
            p->block = q;
            p->cap_block = nc;
        }
        p->block[p->nblock++] = mp_pack_bytes(p);
        memset(p->last, 0, sizeof p->last);
        /* the pages the next blocks fill, faulted in a stretch at a time */
        size_t used = p->len + MP_PACK_BLOCK * MAX_RECORD;
        if (used <= p->cap) mf_populate_ahead(&p->ahead, p->buf, used, p->cap);
    }
    if (p->cap - p->len < MAX_RECORD) {
        size_t nc = p->cap ? p->cap * 2 : 4096;
        uint8_t *q = realloc(p->buf, nc);
        if (!q) return !(p->failed = true);
        p->buf = q;
        p->cap = nc;
    }
    return true;
}

/* After records: written to the file in pieces of SPILL_CHUNK (smaller
 * under a small threshold) once past the threshold. */
static void after_records(mp_pack *p)
{
    if (p->spill_bytes && mp_pack_bytes(p) > p->spill_bytes &&
        p->len >= (p->spill_bytes < SPILL_CHUNK ? (p->spill_bytes < 4096 ? 4096 : p->spill_bytes)
                                                : SPILL_CHUNK))
        spill_now(p);
}

/* One record's fields at w, each the zigzag varint of its delta from
 * last, which takes the record's values; the end of what was written.
 * Unrolled where nf is a constant (mp_pack_add). */
static inline uint8_t *encode_fields(uint8_t *w, uint64_t *last, const uint64_t *fields,
                                     unsigned nf)
{
#pragma GCC unroll 8
    for (unsigned k = 0; k < nf; k++) {
        w = mf_put_varint(w, mf_zigzag((int64_t)(fields[k] - last[k])));
        last[k] = fields[k];
    }
    return w;
}

void mp_pack_add(mp_pack *p, const uint64_t *fields)
{
    if (p->failed || !before_record(p)) return;
    uint8_t *w = p->buf + p->len;
    switch (p->nfields) {
    case MP_PACK_FIELDS: w = encode_fields(w, p->last, fields, MP_PACK_FIELDS); break;
    case 2: w = encode_fields(w, p->last, fields, 2); break;
    default: w = encode_fields(w, p->last, fields, p->nfields); break;
    }
    p->len = (size_t)(w - p->buf);
    p->n++;
    after_records(p);
}

/* Why runs: mp_pack_add's checks (a block's start, room, the spill) cost
 * more than encoding one field. Between two checks go as many records as
 * fit the room before_record makes (MAX_RECORD bytes, MP_PACK_FIELDS
 * one-field records) and the block allows; the bytes are mp_pack_add's. */
void mp_pack_add_column(mp_pack *p, const uint64_t *v, size_t n)
{
    assert(p->nfields == 1);
    size_t i = 0;
    while (i < n && !p->failed && before_record(p)) {
        size_t run = MP_PACK_BLOCK - p->n % MP_PACK_BLOCK;
        if (run > MP_PACK_FIELDS) run = MP_PACK_FIELDS;
        if (run > n - i) run = n - i;
        uint8_t *w = p->buf + p->len;
        uint64_t last = p->last[0];
        for (size_t k = i; k < i + run; k++) {
            w = mf_put_varint(w, mf_zigzag((int64_t)(v[k] - last)));
            last = v[k];
        }
        p->last[0] = last;
        p->len = (size_t)(w - p->buf);
        p->n += run;
        i += run;
        after_records(p);
    }
}

/* Copies store bytes [off, off + n) to dst: from the file, from memory or
 * both. False on a read error. */
static bool read_range(const mp_pack *p, uint64_t off, size_t n, uint8_t *dst)
{
    while (n && off < p->file_len) {
        size_t k = p->file_len - off < n ? (size_t)(p->file_len - off) : n;
        ssize_t got = pread(p->fd, dst, k, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        dst += got;
        off += (uint64_t)got;
        n -= (size_t)got;
    }
    if (n) memcpy(dst, p->buf + (off - p->file_len), n);
    return true;
}

/* Decodes one record at *at (never past end) into fields, from last. */
static const uint8_t *decode(const uint8_t *at, const uint8_t *end, unsigned nf, uint64_t *last,
                             uint64_t *fields)
{
    for (unsigned k = 0; k < nf; k++) {
        uint64_t v;
        if (!(at = mf_get_varint(at, end, &v))) return NULL;
        last[k] += (uint64_t)mf_unzigzag(v);
        fields[k] = last[k];
    }
    return at;
}

/* decode without the bound checks, for a record with MAX_RECORD bytes
 * after it (a record never takes more): the cursors read most records this
 * way, and the checks of every byte were most of their cost. */
static inline const uint8_t *decode_unchecked(const uint8_t *at, unsigned nf, uint64_t *last,
                                              uint64_t *fields)
{
    /* unrolled where nf is a constant (next_run): no loop to count */
#pragma GCC unroll 8
    for (unsigned k = 0; k < nf; k++) {
        uint64_t v;
        if (!(at = mf_get_varint_unchecked(at, &v))) return NULL;
        uint64_t x = last[k] + (uint64_t)mf_unzigzag(v);
        last[k] = x;
        fields[k] = x;
    }
    return at;
}

bool mp_pack_get(const mp_pack *p, size_t i, uint64_t *fields)
{
    memset(fields, 0, p->nfields * sizeof *fields);
    if (i >= p->n) return false;
    size_t b = i / MP_PACK_BLOCK;
    uint64_t start = p->block[b], end = b + 1 < p->nblock ? p->block[b + 1] : mp_pack_bytes(p);
    uint8_t tmp[MP_PACK_BLOCK * MAX_RECORD];
    const uint8_t *at;
    if (start >= p->file_len) {
        at = p->buf + (start - p->file_len);
    } else {
        if (!read_range(p, start, (size_t)(end - start), tmp)) return false;
        at = tmp;
    }
    const uint8_t *lim = at + (end - start);
    uint64_t last[MP_PACK_FIELDS] = {0};
    for (size_t k = b * MP_PACK_BLOCK; k <= i; k++)
        if (!(at = decode(at, lim, p->nfields, last, fields))) return false;
    return true;
}

void mp_pack_cursor_init(mp_pack_cursor *c, const mp_pack *p, size_t first)
{
    memset(c, 0, sizeof *c);
    c->p = p;
    if (first >= p->n) {
        c->i = p->n;
        return;
    }
    /* the block of `first`, decoded up to it */
    size_t b = first / MP_PACK_BLOCK;
    c->i = b * MP_PACK_BLOCK;
    c->pos = p->block[b];
    uint64_t skip[MP_PACK_FIELDS];
    while (c->i < first && mp_pack_next(c, skip)) {
    }
}

bool mp_pack_next(mp_pack_cursor *c, uint64_t *fields)
{
    const mp_pack *p = c->p;
    if (c->i >= p->n) return false;
    if (c->i % MP_PACK_BLOCK == 0) memset(c->last, 0, sizeof c->last);
    const uint8_t *at, *end;
    if (c->pos >= p->file_len) {
        at = p->buf + (c->pos - p->file_len);
        end = p->buf + p->len;
    } else {
        /* from the file, through a window (which may reach into memory) */
        uint64_t total = mp_pack_bytes(p);
        if (c->pos < c->win_off ||
            (c->pos + MAX_RECORD > c->win_off + c->win_len && c->win_off + c->win_len < total)) {
            if (!c->win && !(c->win = malloc(SPILL_CHUNK))) return false;
            size_t n = total - c->pos < SPILL_CHUNK ? (size_t)(total - c->pos) : SPILL_CHUNK;
            if (!read_range(p, c->pos, n, c->win)) return false;
            c->win_off = c->pos;
            c->win_len = n;
        }
        at = c->win + (c->pos - c->win_off);
        end = c->win + c->win_len;
    }
    const uint8_t *next = end - at >= (ptrdiff_t)MAX_RECORD
                              ? decode_unchecked(at, p->nfields, c->last, fields)
                              : decode(at, end, p->nfields, c->last, fields);
    if (!next) return false;
    c->pos += (uint64_t)(next - at);
    c->i++;
    return true;
}

/* Up to max records of the block the cursor is in, from bytes at `at`
 * with at least MAX_RECORD more after the last record read (lim: the
 * first byte of the store, in memory or in the window, that can no longer
 * start a record read unchecked); nf a constant where inlined. Returns
 * how many, the cursor moved past them. */
static inline __attribute__((always_inline)) size_t
next_run(mp_pack_cursor *c, const uint8_t *at, const uint8_t *lim, unsigned nf, uint64_t *fields,
         size_t max)
{
    size_t in_block = MP_PACK_BLOCK - c->i % MP_PACK_BLOCK, n = 0;
    if (max > in_block) max = in_block;
    const uint8_t *from = at;
    uint64_t last[MP_PACK_FIELDS];
    memcpy(last, c->last, sizeof last);
    while (n < max && at < lim) {
        const uint8_t *next = decode_unchecked(at, nf, last, fields + n * nf);
        if (!next) break;
        at = next;
        n++;
    }
    memcpy(c->last, last, sizeof last);
    c->pos += (uint64_t)(at - from);
    c->i += n;
    return n;
}

/* Runs of next_run between the records mp_pack_next takes one at a time:
 * a block's first (its deltas start afresh), those near the end of the
 * bytes at hand, and those whose bytes a spilled store's window does not
 * hold yet (mp_pack_next reads them in). */
size_t mp_pack_next_many(mp_pack_cursor *c, uint64_t *fields, size_t max)
{
    const mp_pack *p = c->p;
    unsigned nf = p->nfields;
    size_t n = 0;
    while (n < max && c->i < p->n) {
        const uint8_t *at = NULL, *end = NULL;
        if (c->i % MP_PACK_BLOCK == 0) {
            /* at = NULL: one at a time */
        } else if (c->pos >= p->file_len) {
            at = p->buf + (c->pos - p->file_len);
            end = p->buf + p->len;
        } else if (c->win && c->pos >= c->win_off && c->pos < c->win_off + c->win_len) {
            at = c->win + (c->pos - c->win_off);
            end = c->win + c->win_len;
        }
        size_t k = 0;
        if (at && end - at > (ptrdiff_t)MAX_RECORD) {
            const uint8_t *lim = end - MAX_RECORD;
            uint64_t *f = fields + n * nf;
            switch (nf) {
            case MP_PACK_FIELDS: k = next_run(c, at, lim, MP_PACK_FIELDS, f, max - n); break;
            case 2: k = next_run(c, at, lim, 2, f, max - n); break;
            case 1: k = next_run(c, at, lim, 1, f, max - n); break;
            default: k = next_run(c, at, lim, nf, f, max - n); break;
            }
            n += k;
        }
        if (k == 0) {
            if (!mp_pack_next(c, fields + n * nf)) break;
            n++;
        }
    }
    return n;
}

/* A record starts a block when its index is a multiple of MP_PACK_BLOCK:
 * its fields are deltas from zero and the block index gives its offset,
 * so the cursor may land there with nothing before it decoded. The window
 * of a spilled store is kept: mp_pack_next reads the file again only when
 * the record lies outside it. */
bool mp_pack_cursor_skip(mp_pack_cursor *c, size_t i)
{
    const mp_pack *p = c->p;
    if (i >= p->n) {
        c->i = p->n;
        return false;
    }
    size_t b = i / MP_PACK_BLOCK;
    if (c->i < b * MP_PACK_BLOCK) {
        c->i = b * MP_PACK_BLOCK;
        c->pos = p->block[b];
    }
    uint64_t skip[MP_PACK_FIELDS];
    while (c->i < i)
        if (!mp_pack_next(c, skip)) return false;
    return true;
}

void mp_pack_cursor_free(mp_pack_cursor *c)
{
    free(c->win);
    c->win = NULL;
}
