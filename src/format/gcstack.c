/* src/format/gcstack.c -- see gcstack.h and proto/gcstack.proto. */
#include "format/gcstack.h"

#include "format/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

/* Record kinds: the fields of proto Record. */
enum {
    R_HEADER = 1,
    R_STRINGS = 2,
    R_TYPE = 3,
    R_SYMBOL = 4,
    R_STACK = 5,
    R_OBJECTS = 6,
    R_EDGES = 7,
    R_ROOT = 8,
    R_MAP = 9,
    R_BUCKETS = 10,
    R_SAMPLES = 11,
    R_FOOTER = 15,
};

/* Largest record a reader accepts (writers flush batches far below this). */
#define MAX_RECORD ((size_t)64 << 20)
/* Batch sizes of the writer: objects per ObjectBatch/EdgeBatch, buckets per
 * BucketBatch, samples per SampleBatch. */
#define OBJ_BATCH 8192
#define BUCKET_BATCH 2048
#define SAMPLE_BATCH 4096

const char *mf_gs_root_kind_name(uint32_t kind)
{
    static const char *const names[] = {"global", "stack",    "register",
                                        "pin",    "iterator", "runtime"};
    return kind < MF_GS_ROOT_NKINDS ? names[kind] : "unknown";
}

const char *mf_gs_type_kind_name(uint32_t kind)
{
    static const char *const names[] = {"struct",     "array",  "blob",   "string",
                                        "map header", "bucket", "runtime"};
    return kind < MF_GS_NKINDS ? names[kind] : "unknown";
}

const char *mf_gs_write_mode_name(uint32_t mode)
{
    return mode == MF_GS_MODE_FORK ? "fork" : mode == MF_GS_MODE_STOPPED ? "stopped" : "unknown";
}

/* ============================================================== writer === */

/* A growable byte column. Growth failures are remembered in the writer. */
typedef struct col {
    uint8_t *p;
    size_t len, cap;
} col;

struct mf_gs_writer {
    char *path, *tmp;
    int fd;
    int level;
    z_stream z;
    bool z_ready;
    uint8_t *stage; /* content not yet given to deflate */
    size_t stage_len;
    uint8_t *zout;
    uint64_t file_bytes;
    uint32_t raw_crc;       /* MF_GS_RAW and level 0: CRC of the content so far */
    uint64_t content_bytes; /* level 0: the content so far */
    bool failed;
    mf_error err;
    col rec; /* the record being built */

    /* string interning: open addressing over copies */
    char **skeys;
    uint32_t *svals;
    size_t scap, sn;
    uint64_t nstrings; /* including the implicit "" */
    col pend_strings;

    mf_gs_footer f; /* running totals */
    int section;    /* 0 objects, 1 edges, 2 the rest */
    uint64_t last_addr;
    uint64_t edge_next; /* objects whose edges were given */
    uint64_t edge_last_addr;

    col o_addr, o_size, o_type, o_run;
    size_t o_n;
    uint64_t o_prev;
    uint64_t run_size, run_n; /* the run of equal size and type being gathered */
    uint32_t run_type;

    col e_count, e_off, e_tgt;
    size_t e_n;
    uint64_t e_first;
    bool eo_open;                    /* an object's edges are being given */
    uint64_t eo_addr, eo_n, eo_prev; /* that object, its edges so far, the last offset */

    bool in_map;
    uint32_t map_index;
    uint64_t map_addr, map_kind, map_buckets_left, map_entries_left;
    uint32_t slots_left; /* entries still owed to the current bucket */
    col b_addr, b_old, b_idx, b_ovf, b_occ, s_top, s_kint, s_ktext, s_kobj, s_vobj;
    size_t b_n;
    uint64_t b_prev, b_cur, b_prev_index;
    bool s_any_kobj; /* some entry of the batch has a key object */

    col m_addr, m_stack;
    size_t m_n;
    uint64_t m_prev;
};

static int wfail(mf_gs_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first failure sticks: later calls do nothing and finish reports it. */
static int wfail(mf_gs_writer *w, const char *fmt, ...)
{
    if (w->failed) return -1;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mf_error_set(&w->err, "%s: %s", w->path, what);
    w->failed = true;
    return -1;
}

static bool col_grow(mf_gs_writer *w, col *c, size_t more)
{
    if (c->cap - c->len >= more) return true;
    size_t cap = c->cap ? c->cap : 256;
    while (cap - c->len < more) {
        if (cap > SIZE_MAX / 2) return wfail(w, "out of memory"), false;
        cap *= 2;
    }
    uint8_t *p = realloc(c->p, cap);
    if (!p) return wfail(w, "out of memory (%zu bytes)", cap), false;
    c->p = p;
    c->cap = cap;
    return true;
}

static inline void col_varint(mf_gs_writer *w, col *c, uint64_t v)
{
    if (c->cap - c->len < MF_VARINT_MAX && !col_grow(w, c, MF_VARINT_MAX)) return;
    c->len = (size_t)(mf_put_varint(c->p + c->len, v) - c->p);
}

static void col_bytes(mf_gs_writer *w, col *c, const void *p, size_t n)
{
    if (!col_grow(w, c, n)) return;
    if (n) memcpy(c->p + c->len, p, n);
    c->len += n;
}

static void col_free(col *c)
{
    free(c->p);
    memset(c, 0, sizeof *c);
}

/* Field helpers for building one message into a column. */
static void put_key(mf_gs_writer *w, col *c, uint32_t field, uint32_t wt)
{
    col_varint(w, c, (uint64_t)field << 3 | wt);
}

static void put_u(mf_gs_writer *w, col *c, uint32_t field, uint64_t v)
{
    if (!v) return; /* proto3: zero is the default and is not written */
    put_key(w, c, field, MF_WT_VARINT);
    col_varint(w, c, v);
}

static void put_bytes(mf_gs_writer *w, col *c, uint32_t field, const void *p, size_t n)
{
    put_key(w, c, field, MF_WT_LEN);
    col_varint(w, c, n);
    col_bytes(w, c, p, n);
}

static void put_str(mf_gs_writer *w, col *c, uint32_t field, const char *s)
{
    if (s && *s) put_bytes(w, c, field, s, strlen(s));
}

/* A packed repeated field from a column of varints. */
static void put_packed(mf_gs_writer *w, col *c, uint32_t field, const col *v)
{
    if (v->len) put_bytes(w, c, field, v->p, v->len);
}

/* Writes the pieces iov[0..n) to the file (their contents may be changed). */
static int wwritev(mf_gs_writer *w, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t k = writev(w->fd, iov, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return wfail(w, "write error at byte %" PRIu64 ": %s", w->file_bytes,
                         k < 0 ? strerror(errno) : "no progress");
        w->file_bytes += (uint64_t)k;
        size_t left = (size_t)k;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

static int wwrite(mf_gs_writer *w, const void *p, size_t n)
{
    struct iovec v = {(void *)p, n};
    return n ? wwritev(w, &v, 1) : 0;
}

/* Writes the deflate output buffer to the file. */
static int wflush_out(mf_gs_writer *w, size_t n)
{
    return wwrite(w, w->zout, n);
}

#define STAGE_SIZE ((size_t)1 << 17)
#define ZOUT_SIZE ((size_t)1 << 18)
#define STORED_MAX 65535u /* content bytes in one stored deflate block */

/*
 * Level 0: gzip's stored deflate blocks, written by hand (RFC 1951 3.2.4: a
 * byte holding BFINAL and BTYPE 00, then LEN and its complement NLEN, then
 * LEN bytes), straight from the stage. zlib's level 0 would copy every byte
 * twice more (into its window and its output buffer): a tenth of a
 * snapshot's time.
 */
static int wstored(mf_gs_writer *w, const uint8_t *p, size_t n, bool final)
{
    enum { MAXB = STAGE_SIZE / STORED_MAX + 2 };
    struct iovec iov[2 * MAXB];
    uint8_t hdr[MAXB][5];
    int k = 0, nb = 0;
    do {
        size_t m = n > STORED_MAX ? STORED_MAX : n;
        uint8_t *h = hdr[nb++];
        h[0] = final && m == n;
        h[1] = (uint8_t)m;
        h[2] = (uint8_t)(m >> 8);
        h[3] = (uint8_t)~m;
        h[4] = (uint8_t)(~m >> 8);
        iov[k++] = (struct iovec){h, 5};
        if (m) iov[k++] = (struct iovec){(void *)p, m};
        p += m;
        n -= m;
    } while (n);
    return wwritev(w, iov, k);
}

/* Gives the staged content to deflate (or writes it as is, MF_GS_RAW, or in
 * stored blocks, level 0). */
static int wdrain(mf_gs_writer *w, int flush)
{
    if (w->failed) return -1;
    if (w->level <= 0) {
        size_t n = w->stage_len;
        w->raw_crc = (uint32_t)crc32(w->raw_crc, w->stage, (uInt)n);
        w->content_bytes += n;
        w->stage_len = 0;
        if (w->level == MF_GS_RAW) return wwrite(w, w->stage, n);
        if ((n || flush == Z_FINISH) && wstored(w, w->stage, n, flush == Z_FINISH)) return -1;
        if (flush != Z_FINISH) return 0;
        /* the gzip trailer: CRC-32 and size (mod 2^32) of the content */
        uint8_t t[8];
        for (int i = 0; i < 4; i++) {
            t[i] = (uint8_t)(w->raw_crc >> (8 * i));
            t[4 + i] = (uint8_t)(w->content_bytes >> (8 * i));
        }
        return wwrite(w, t, sizeof t);
    }
    w->z.next_in = w->stage;
    w->z.avail_in = (uInt)w->stage_len;
    for (;;) {
        w->z.next_out = w->zout;
        w->z.avail_out = (uInt)ZOUT_SIZE;
        int rc = deflate(&w->z, flush);
        if (rc == Z_STREAM_ERROR) return wfail(w, "deflate failed");
        size_t have = ZOUT_SIZE - w->z.avail_out;
        if (have && wflush_out(w, have)) return -1;
        if (flush == Z_FINISH ? rc == Z_STREAM_END : (w->z.avail_in == 0 && w->z.avail_out != 0))
            break;
    }
    w->stage_len = 0;
    return 0;
}

/* Appends content bytes to the stream. */
static void wcontent(mf_gs_writer *w, const uint8_t *p, size_t n)
{
    while (n && !w->failed) {
        size_t k = STAGE_SIZE - w->stage_len;
        if (k > n) k = n;
        if (k) memcpy(w->stage + w->stage_len, p, k);
        w->stage_len += k;
        p += k;
        n -= k;
        if (w->stage_len == STAGE_SIZE) wdrain(w, Z_NO_FLUSH);
    }
}

static void flush_strings(mf_gs_writer *w);

/* Writes one record of kind `field` whose payload is w->rec. Pending strings
 * go first, so every record sees the strings it refers to. */
static void emit(mf_gs_writer *w, uint32_t field)
{
    if (w->failed) return;
    if (field != R_STRINGS && w->pend_strings.len) {
        col saved = w->rec; /* flush_strings builds its own record */
        w->rec = (col){0};
        flush_strings(w);
        col_free(&w->rec);
        w->rec = saved;
    }
    uint8_t pre[3 * MF_VARINT_MAX];
    uint8_t *q = mf_put_varint(pre + MF_VARINT_MAX, (uint64_t)field << 3 | MF_WT_LEN);
    q = mf_put_varint(q, w->rec.len);
    size_t inner = (size_t)(q - (pre + MF_VARINT_MAX)) + w->rec.len;
    uint8_t lenbuf[MF_VARINT_MAX];
    size_t ll = (size_t)(mf_put_varint(lenbuf, inner) - lenbuf);
    wcontent(w, lenbuf, ll);
    wcontent(w, pre + MF_VARINT_MAX, (size_t)(q - (pre + MF_VARINT_MAX)));
    wcontent(w, w->rec.p, w->rec.len);
    w->rec.len = 0;
    if (field != R_FOOTER) w->f.record_count++;
}

static void flush_strings(mf_gs_writer *w)
{
    if (!w->pend_strings.len) return;
    w->rec.len = 0;
    col_bytes(w, &w->rec, w->pend_strings.p, w->pend_strings.len);
    w->pend_strings.len = 0;
    emit(w, R_STRINGS);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

uint32_t mf_gsw_string(mf_gs_writer *w, const char *s)
{
    if (!s || !*s) return 0;
    if (w->failed) return UINT32_MAX;
    if (w->sn * 2 >= w->scap) {
        size_t cap = w->scap ? w->scap * 2 : 256;
        char **k = calloc(cap, sizeof *k);
        uint32_t *v = malloc(cap * sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            wfail(w, "out of memory");
            return UINT32_MAX;
        }
        for (size_t i = 0; i < w->scap; i++) {
            if (!w->skeys[i]) continue;
            size_t h = hash_str(w->skeys[i]) & (cap - 1);
            while (k[h]) h = (h + 1) & (cap - 1);
            k[h] = w->skeys[i];
            v[h] = w->svals[i];
        }
        free(w->skeys);
        free(w->svals);
        w->skeys = k;
        w->svals = v;
        w->scap = cap;
    }
    size_t h = hash_str(s) & (w->scap - 1);
    while (w->skeys[h]) {
        if (strcmp(w->skeys[h], s) == 0) return w->svals[h];
        h = (h + 1) & (w->scap - 1);
    }
    if (w->nstrings >= UINT32_MAX - 1) return wfail(w, "too many strings"), UINT32_MAX;
    char *copy = strdup(s);
    if (!copy) return wfail(w, "out of memory"), UINT32_MAX;
    w->skeys[h] = copy;
    w->svals[h] = (uint32_t)w->nstrings;
    w->sn++;
    put_str(w, &w->pend_strings, 1, s);
    if (w->pend_strings.len > ((size_t)1 << 16)) flush_strings(w);
    return (uint32_t)w->nstrings++;
}

static void put_memstats(mf_gs_writer *w, col *c, const mf_gs_memstats *m)
{
    put_u(w, c, 1, m->heap_alloc);
    put_u(w, c, 2, m->heap_sys);
    put_u(w, c, 3, m->heap_inuse);
    put_u(w, c, 4, m->heap_objects);
    put_u(w, c, 5, m->total_alloc);
    put_u(w, c, 6, m->mallocs);
    put_u(w, c, 7, m->frees);
    put_u(w, c, 8, m->next_gc);
    put_u(w, c, 9, m->last_gc_ns);
    put_u(w, c, 10, m->pause_total_ns);
    put_u(w, c, 11, m->num_gc);
    put_u(w, c, 12, (uint64_t)(int64_t)m->gc_percent);
}

mf_gs_writer *mf_gsw_open(const char *path, int level, const mf_gs_header *h, mf_error *err)
{
    mf_gs_writer *w = calloc(1, sizeof *w);
    size_t plen = strlen(path);
    if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(plen + 16)) ||
        !(w->stage = malloc(STAGE_SIZE)) || !(w->zout = malloc(ZOUT_SIZE))) {
        mf_error_set(err, "%s: out of memory", path);
        goto fail;
    }
    w->fd = -1;
    w->level = level < 0 ? MF_GS_RAW : level > 9 ? 9 : level;
    w->nstrings = 1;
    w->raw_crc = (uint32_t)crc32(0, NULL, 0);
    snprintf(w->tmp, plen + 16, "%s.tmpXXXXXX", path);
    w->fd = mkstemp(w->tmp);
    if (w->fd < 0) {
        mf_error_set(err, "%s: cannot create a temporary file: %s", path, strerror(errno));
        goto fail;
    }
    if (w->level == 0) {
        /* level 0 (the collector's default) stores the content in gzip's
         * uncompressed blocks (see wstored): on snapshot columns, whose
         * bytes are mostly already dense varints, deflate's fastest matching
         * (level 1, run-length) costs about 14x the time of a stored copy
         * (6.5 vs 0.47 ns per content byte) for about 40% fewer bytes, and
         * even Huffman-only coding costs 7.5 ns per byte. The gzip header
         * (RFC 1952): magic, deflate, no flags, no time, Unix. */
        static const uint8_t gz[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
        if (wwrite(w, gz, sizeof gz)) {
            *err = w->err;
            goto fail;
        }
    } else if (w->level != MF_GS_RAW) {
        /* level 1 uses run-length matches only (about 1.6x faster than the
         * default strategy for about 10% more bytes) */
        int strategy = w->level == 1 ? Z_RLE : Z_DEFAULT_STRATEGY;
        if (deflateInit2(&w->z, w->level, Z_DEFLATED, 15 + 16, 8, strategy) != Z_OK) {
            mf_error_set(err, "%s: cannot start gzip compression", path);
            goto fail;
        }
        w->z_ready = true;
    }
    col *c = &w->rec;
    put_str(w, c, 1, MF_GS_MAGIC);
    put_u(w, c, 2, MF_GS_VERSION); /* the encoding below is this version's */
    put_str(w, c, 3, h->program);
    put_str(w, c, 4, h->build_id);
    put_u(w, c, 5, h->pid);
    put_u(w, c, 6, (uint64_t)h->time_nanos);
    put_u(w, c, 7, h->gc_cycle);
    put_u(w, c, 8, h->pointer_size);
    put_u(w, c, 9, h->profile_rate);
    put_u(w, c, 10, h->write_mode);
    col ms = {0};
    put_memstats(w, &ms, &h->memstats);
    put_packed(w, c, 11, &ms);
    col_free(&ms);
    put_u(w, c, 12, h->address_granule ? h->address_granule : MF_GS_GRANULE);
    put_str(w, c, 13, h->writer);
    emit(w, R_HEADER);
    if (w->failed) {
        *err = w->err;
        mf_gsw_abort(w);
        return NULL;
    }
    return w;
fail:
    if (w) {
        if (w->fd >= 0) {
            close(w->fd);
            unlink(w->tmp);
            w->fd = -1;
        }
        free(w->tmp);
        w->tmp = NULL;
        mf_gsw_abort(w);
    }
    return NULL;
}

uint32_t mf_gsw_type(mf_gs_writer *w, const mf_gs_type *t)
{
    if (w->failed) return UINT32_MAX;
    uint32_t name = mf_gsw_string(w, t->name);
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, name);
    put_u(w, c, 2, t->size);
    if (t->nptrs) {
        col offs = {0};
        for (uint32_t i = 0; i < t->nptrs; i++) col_varint(w, &offs, t->ptr_offsets[i]);
        put_packed(w, c, 3, &offs);
        col_free(&offs);
    }
    put_u(w, c, 4, t->kind);
    put_u(w, c, 5, t->elem);
    emit(w, R_TYPE);
    return w->failed ? UINT32_MAX : (uint32_t)w->f.types++;
}

uint32_t mf_gsw_symbol(mf_gs_writer *w, const mf_gs_symbol *s)
{
    if (w->failed) return UINT32_MAX;
    uint32_t fn = mf_gsw_string(w, s->function), file = mf_gsw_string(w, s->file);
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, s->address);
    put_u(w, c, 2, fn);
    put_u(w, c, 3, file);
    put_u(w, c, 4, (uint64_t)s->line);
    emit(w, R_SYMBOL);
    return w->failed ? UINT32_MAX : (uint32_t)w->f.symbols++;
}

uint32_t mf_gsw_stack(mf_gs_writer *w, const uint32_t *symbols, size_t n)
{
    if (w->failed) return UINT32_MAX;
    col *c = &w->rec;
    c->len = 0;
    col v = {0};
    for (size_t i = 0; i < n; i++) col_varint(w, &v, symbols[i]);
    put_packed(w, c, 1, &v);
    col_free(&v);
    emit(w, R_STACK);
    return w->failed ? UINT32_MAX : (uint32_t)w->f.stacks++;
}

/* Ends the run of objects of equal size and type being gathered. */
static void end_run(mf_gs_writer *w)
{
    if (!w->run_n) return;
    col_varint(w, &w->o_run, w->run_n);
    col_varint(w, &w->o_size, w->run_size);
    col_varint(w, &w->o_type, w->run_type);
    w->run_n = 0;
}

static void flush_objects(mf_gs_writer *w)
{
    if (!w->o_n) return;
    end_run(w);
    col *c = &w->rec;
    c->len = 0;
    put_packed(w, c, 1, &w->o_addr);
    put_packed(w, c, 2, &w->o_size);
    put_packed(w, c, 3, &w->o_type);
    put_packed(w, c, 4, &w->o_run);
    w->o_addr.len = w->o_size.len = w->o_type.len = w->o_run.len = 0;
    w->o_n = 0;
    emit(w, R_OBJECTS);
}

/* Objects come span by span, so neighbours mostly share size and type: those
 * two columns are written once per run of equal objects (version 2). */
int mf_gsw_object(mf_gs_writer *w, uint64_t address, uint64_t size, uint32_t type)
{
    if (w->failed) return -1;
    if (w->section != 0) return wfail(w, "object 0x%" PRIx64 " after the object section", address);
    if (address % MF_GS_GRANULE || (w->f.objects && address <= w->last_addr) || size == 0)
        return wfail(w, "object 0x%" PRIx64 " out of order, misaligned or empty", address);
    col_varint(w, &w->o_addr, (address - w->o_prev) / MF_GS_GRANULE);
    if (w->run_n && (size != w->run_size || type != w->run_type)) end_run(w);
    w->run_size = size;
    w->run_type = type;
    w->run_n++;
    w->o_prev = w->last_addr = address;
    w->f.objects++;
    w->f.object_bytes += size;
    if (++w->o_n == OBJ_BATCH) flush_objects(w);
    return w->failed ? -1 : 0;
}

static void flush_edges(mf_gs_writer *w)
{
    if (!w->e_n) return;
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, w->e_first);
    put_packed(w, c, 2, &w->e_count);
    put_packed(w, c, 3, &w->e_off);
    put_packed(w, c, 4, &w->e_tgt);
    w->e_count.len = w->e_off.len = w->e_tgt.len = 0;
    w->e_first += w->e_n;
    w->e_n = 0;
    emit(w, R_EDGES);
}

int mf_gsw_edges_begin(mf_gs_writer *w, uint64_t address)
{
    if (w->failed) return -1;
    if (w->section == 0) {
        flush_objects(w);
        w->section = 1;
    }
    if (w->section != 1 || w->eo_open || w->edge_next >= w->f.objects ||
        (w->edge_next && address <= w->edge_last_addr))
        return wfail(w, "edges of object 0x%" PRIx64 " out of order", address);
    w->eo_open = true;
    w->eo_addr = address;
    w->eo_n = 0;
    w->eo_prev = 0;
    return 0;
}

/* Version 2: offsets as increments (fields of big arrays are far from the
 * start but close to each other), targets as the granule they lie in (the
 * object containing a pointer contains the start of its granule, objects
 * being granule-aligned) relative to the object's. */
int mf_gsw_edges_add(mf_gs_writer *w, size_t n, const uint64_t *offsets, const uint64_t *targets)
{
    if (w->failed) return -1;
    if (!w->eo_open) return wfail(w, "edges given outside an object");
    if (n > SIZE_MAX / MF_VARINT_MAX - 1) return wfail(w, "out of memory");
    /* (+ 1: a column is never NULL below, even without edges) */
    if (!col_grow(w, &w->e_off, n * MF_VARINT_MAX + 1) ||
        !col_grow(w, &w->e_tgt, n * MF_VARINT_MAX + 1))
        return -1;
    uint8_t *po = w->e_off.p + w->e_off.len, *pt = w->e_tgt.p + w->e_tgt.len;
    uint64_t prev = w->eo_prev, ag = w->eo_addr / MF_GS_GRANULE;
    for (size_t i = 0; i < n; i++) {
        if ((i || w->eo_n) && offsets[i] <= prev)
            return wfail(w, "edges of object 0x%" PRIx64 ": offsets not increasing", w->eo_addr);
        po = mf_put_varint(po, offsets[i] - prev);
        prev = offsets[i];
        pt = mf_put_varint(pt, mf_zigzag((int64_t)(targets[i] / MF_GS_GRANULE - ag)));
    }
    w->e_off.len = (size_t)(po - w->e_off.p);
    w->e_tgt.len = (size_t)(pt - w->e_tgt.p);
    w->eo_prev = prev;
    w->eo_n += n;
    return 0;
}

int mf_gsw_edges_end(mf_gs_writer *w)
{
    if (w->failed) return -1;
    if (!w->eo_open) return wfail(w, "edges ended outside an object");
    w->eo_open = false;
    col_varint(w, &w->e_count, w->eo_n);
    w->edge_last_addr = w->eo_addr;
    w->edge_next++;
    w->f.edges += w->eo_n;
    if (++w->e_n == OBJ_BATCH) flush_edges(w);
    return w->failed ? -1 : 0;
}

int mf_gsw_edges(mf_gs_writer *w, uint64_t address, size_t n, const uint64_t *offsets,
                 const uint64_t *targets)
{
    if (mf_gsw_edges_begin(w, address) || mf_gsw_edges_add(w, n, offsets, targets)) return -1;
    return mf_gsw_edges_end(w);
}

/* The common case of millions of small objects in one call per batch: the
 * per-call checks of begin/add/end would cost as much as the encoding. */
int mf_gsw_edges_many(mf_gs_writer *w, size_t nobj, const uint64_t *addresses,
                      const uint32_t *counts, const uint64_t *offsets, const uint64_t *targets)
{
    for (size_t i = 0; i < nobj;) {
        if (w->failed) return -1;
        if (w->section == 0) {
            flush_objects(w);
            w->section = 1;
        }
        if (w->section != 1 || w->eo_open)
            return wfail(w, "edges of object 0x%" PRIx64 " out of order", addresses[i]);
        /* the objects up to the end of the current EdgeBatch */
        size_t m = OBJ_BATCH - w->e_n;
        if (m > nobj - i) m = nobj - i;
        size_t ne = 0;
        for (size_t j = i; j < i + m; j++) ne += counts[j];
        if (ne > SIZE_MAX / MF_VARINT_MAX || m > SIZE_MAX / MF_VARINT_MAX)
            return wfail(w, "out of memory");
        /* (+ 1: a column is never NULL below, even without edges) */
        if (!col_grow(w, &w->e_off, ne * MF_VARINT_MAX + 1) ||
            !col_grow(w, &w->e_tgt, ne * MF_VARINT_MAX + 1) ||
            !col_grow(w, &w->e_count, m * MF_VARINT_MAX + 1))
            return -1;
        uint8_t *po = w->e_off.p + w->e_off.len, *pt = w->e_tgt.p + w->e_tgt.len,
                *pc = w->e_count.p + w->e_count.len;
        for (size_t j = i; j < i + m; j++) {
            uint64_t a = addresses[j];
            if (w->edge_next >= w->f.objects || (w->edge_next && a <= w->edge_last_addr))
                return wfail(w, "edges of object 0x%" PRIx64 " out of order", a);
            uint32_t n = counts[j];
            pc = mf_put_varint(pc, n);
            uint64_t prev = 0, ag = a / MF_GS_GRANULE;
            for (uint32_t k = 0; k < n; k++) {
                if (k && offsets[k] <= prev)
                    return wfail(w, "edges of object 0x%" PRIx64 ": offsets not increasing", a);
                po = mf_put_varint(po, offsets[k] - prev);
                prev = offsets[k];
                pt = mf_put_varint(pt, mf_zigzag((int64_t)(targets[k] / MF_GS_GRANULE - ag)));
            }
            offsets += n;
            targets += n;
            w->edge_last_addr = a;
            w->edge_next++;
            w->f.edges += n;
        }
        w->e_off.len = (size_t)(po - w->e_off.p);
        w->e_tgt.len = (size_t)(pt - w->e_tgt.p);
        w->e_count.len = (size_t)(pc - w->e_count.p);
        w->e_n += m;
        i += m;
        if (w->e_n == OBJ_BATCH) flush_edges(w);
    }
    return w->failed ? -1 : 0;
}

/* Moves on to the records after the edges: every object must have its edges. */
static int enter_rest(mf_gs_writer *w)
{
    if (w->section == 2) return 0;
    if (w->eo_open) return wfail(w, "the edges of object 0x%" PRIx64 " were not ended", w->eo_addr);
    if (w->section == 0) flush_objects(w);
    flush_edges(w);
    if (w->edge_next != w->f.objects)
        return wfail(w, "edges given for %" PRIu64 " of %" PRIu64 " objects", w->edge_next,
                     w->f.objects);
    w->section = 2;
    return w->failed ? -1 : 0;
}

int mf_gsw_root(mf_gs_writer *w, const mf_gs_root *r)
{
    if (w->failed || enter_rest(w)) return -1;
    uint32_t name = mf_gsw_string(w, r->name), file = mf_gsw_string(w, r->file),
             fn = mf_gsw_string(w, r->function);
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, r->kind);
    put_u(w, c, 2, r->target);
    put_u(w, c, 3, r->slot);
    put_u(w, c, 4, name);
    put_u(w, c, 5, file);
    put_u(w, c, 6, (uint64_t)r->line);
    put_u(w, c, 7, r->thread);
    put_u(w, c, 8, r->frame);
    put_u(w, c, 9, r->symbol);
    put_u(w, c, 10, fn);
    emit(w, R_ROOT);
    w->f.roots++;
    return w->failed ? -1 : 0;
}

static void flush_buckets(mf_gs_writer *w)
{
    if (!w->b_n) return;
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, w->map_index);
    put_packed(w, c, 2, &w->b_addr);
    put_packed(w, c, 3, &w->b_old);
    put_packed(w, c, 4, &w->b_idx);
    put_packed(w, c, 5, &w->b_ovf);
    put_packed(w, c, 6, &w->b_occ);
    put_packed(w, c, 7, &w->s_top); /* bytes: one per slot */
    put_packed(w, c, 8, &w->s_kint);
    col_bytes(w, c, w->s_ktext.p, w->s_ktext.len);       /* already tagged strings */
    if (w->s_any_kobj) put_packed(w, c, 10, &w->s_kobj); /* else: no key objects */
    put_packed(w, c, 11, &w->s_vobj);
    w->b_addr.len = w->b_old.len = w->b_idx.len = w->b_ovf.len = w->b_occ.len = 0;
    w->s_top.len = w->s_kint.len = w->s_ktext.len = w->s_kobj.len = w->s_vobj.len = 0;
    w->s_any_kobj = false;
    w->b_n = 0;
    w->b_prev = w->map_addr;
    w->b_prev_index = 0;
    emit(w, R_BUCKETS);
}

/* Ends the current map: everything announced must have been given. */
static int end_map(mf_gs_writer *w)
{
    if (!w->in_map) return 0;
    flush_buckets(w);
    w->in_map = false;
    if (w->map_buckets_left || w->map_entries_left || w->slots_left)
        return wfail(w, "map %u: %" PRIu64 " buckets and %" PRIu64 " entries missing", w->map_index,
                     w->map_buckets_left, w->map_entries_left + w->slots_left);
    return 0;
}

int mf_gsw_map(mf_gs_writer *w, const mf_gs_map *m)
{
    if (w->failed || enter_rest(w) || end_map(w)) return -1;
    uint32_t tn = mf_gsw_string(w, m->type_name);
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, m->address);
    put_u(w, c, 2, tn);
    put_u(w, c, 3, m->key_kind);
    put_u(w, c, 4, m->key_type);
    put_u(w, c, 5, m->value_type);
    put_u(w, c, 6, m->count);
    put_u(w, c, 7, m->flags);
    put_u(w, c, 8, m->B);
    put_u(w, c, 9, m->noverflow);
    put_u(w, c, 10, m->hash0);
    put_u(w, c, 11, m->buckets);
    put_u(w, c, 12, m->oldbuckets);
    put_u(w, c, 13, m->nevacuate);
    put_u(w, c, 14, m->noldbuckets);
    put_u(w, c, 15, m->bucket_size);
    put_u(w, c, 16, m->key_size);
    put_u(w, c, 17, m->value_size);
    put_u(w, c, 18, m->key_indirect);
    put_u(w, c, 19, m->value_indirect);
    put_u(w, c, 20, m->nbuckets_walked);
    put_u(w, c, 21, m->nentries);
    emit(w, R_MAP);
    w->map_index = (uint32_t)w->f.maps++;
    w->in_map = true;
    w->map_addr = w->b_prev = m->address;
    w->b_prev_index = 0;
    w->map_kind = m->key_kind;
    w->map_buckets_left = m->nbuckets_walked;
    w->map_entries_left = m->nentries;
    w->slots_left = 0;
    return w->failed ? -1 : 0;
}

int mf_gsw_bucket(mf_gs_writer *w, uint64_t address, bool old, uint64_t index, uint32_t overflow,
                  uint32_t occupied)
{
    if (w->failed) return -1;
    uint32_t n = occupied & 0xff; /* its popcount, without a libgcc call */
    n = n - ((n >> 1) & 0x55);
    n = (n & 0x33) + ((n >> 2) & 0x33);
    n = (n + (n >> 4)) & 0x0f;
    if (!w->in_map || w->slots_left || !w->map_buckets_left || n > w->map_entries_left ||
        occupied > 0xff || address % MF_GS_GRANULE)
        return wfail(w, "bucket 0x%" PRIx64 " out of order or beyond what its map announced",
                     address);
    if (w->b_n == BUCKET_BATCH) flush_buckets(w);
    /* version 2: addresses in granules, indices as increments */
    col_varint(w, &w->b_addr,
               mf_zigzag((int64_t)(address / MF_GS_GRANULE - w->b_prev / MF_GS_GRANULE)));
    col_varint(w, &w->b_old, old);
    col_varint(w, &w->b_idx, mf_zigzag((int64_t)(index - w->b_prev_index)));
    w->b_prev_index = index;
    col_varint(w, &w->b_ovf, overflow);
    col_varint(w, &w->b_occ, occupied);
    w->b_prev = w->b_cur = address;
    w->b_n++;
    w->map_buckets_left--;
    w->map_entries_left -= n;
    w->slots_left = n;
    w->f.buckets++;
    return w->failed ? -1 : 0;
}

/* Version 2: the granule the pointer lies in, relative to the bucket's. */
static uint64_t obj_ref(uint64_t ptr, uint64_t bucket)
{
    return ptr ? 1 + mf_zigzag((int64_t)(ptr / MF_GS_GRANULE - bucket / MF_GS_GRANULE)) : 0;
}

int mf_gsw_entry(mf_gs_writer *w, const mf_gs_entry *e)
{
    if (w->failed) return -1;
    if (!w->in_map || !w->slots_left) return wfail(w, "map entry without a bucket slot for it");
    if (w->s_top.len == w->s_top.cap && !col_grow(w, &w->s_top, 1)) return -1;
    w->s_top.p[w->s_top.len++] = e->tophash;
    if (w->map_kind == MF_GS_KEY_INT64 || w->map_kind == MF_GS_KEY_PTR) {
        col_varint(w, &w->s_kint, mf_zigzag(e->key_int));
    } else {
        put_bytes(w, &w->s_ktext, 9, e->key_text ? e->key_text : "",
                  e->key_text ? e->key_text_len : 0);
    }
    col_varint(w, &w->s_kobj, obj_ref(e->key_object, w->b_cur));
    if (e->key_object) w->s_any_kobj = true;
    col_varint(w, &w->s_vobj, obj_ref(e->value_object, w->b_cur));
    w->slots_left--;
    w->f.entries++;
    return w->failed ? -1 : 0;
}

static void flush_samples(mf_gs_writer *w)
{
    if (!w->m_n) return;
    col *c = &w->rec;
    c->len = 0;
    put_packed(w, c, 1, &w->m_addr);
    put_packed(w, c, 2, &w->m_stack);
    w->m_addr.len = w->m_stack.len = 0;
    w->m_n = 0;
    w->m_prev = 0;
    emit(w, R_SAMPLES);
}

int mf_gsw_sample(mf_gs_writer *w, uint64_t address, uint32_t stack)
{
    if (w->failed || enter_rest(w) || end_map(w)) return -1;
    col_varint(w, &w->m_addr, mf_zigzag((int64_t)(address - w->m_prev)));
    col_varint(w, &w->m_stack, stack);
    w->m_prev = address;
    w->f.samples++;
    if (++w->m_n == SAMPLE_BATCH) flush_samples(w);
    return w->failed ? -1 : 0;
}

static void writer_free(mf_gs_writer *w)
{
    if (w->z_ready) deflateEnd(&w->z);
    if (w->fd >= 0) close(w->fd);
    for (size_t i = 0; i < w->scap; i++) free(w->skeys[i]);
    free(w->skeys);
    free(w->svals);
    col_free(&w->o_run);
    col *cols[] = {&w->rec,     &w->pend_strings, &w->o_addr, &w->o_size, &w->o_type,
                   &w->e_count, &w->e_off,        &w->e_tgt,  &w->b_addr, &w->b_old,
                   &w->b_idx,   &w->b_ovf,        &w->b_occ,  &w->s_top,  &w->s_kint,
                   &w->s_ktext, &w->s_kobj,       &w->s_vobj, &w->m_addr, &w->m_stack};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++) col_free(cols[i]);
    free(w->stage);
    free(w->zout);
    free(w->path);
    free(w->tmp);
    free(w);
}

void mf_gsw_abort(mf_gs_writer *w)
{
    if (!w) return;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
        if (w->tmp) unlink(w->tmp);
    }
    writer_free(w);
}

int mf_gsw_finish(mf_gs_writer *w, uint64_t *bytes_out, mf_error *err)
{
    enter_rest(w);
    end_map(w);
    flush_samples(w);
    flush_strings(w);
    /* The footer's CRC covers everything before it: drain the stage so that
     * deflate has read all of it; zlib keeps the running CRC-32 of a gzip
     * stream's input in z.adler (documented in zlib.h). */
    wdrain(w, Z_NO_FLUSH);
    mf_gs_footer f = w->f;
    f.strings = w->nstrings;
    f.crc32 = w->level <= 0 ? w->raw_crc : (uint32_t)w->z.adler;
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, f.record_count);
    put_u(w, c, 2, f.objects);
    put_u(w, c, 3, f.edges);
    put_u(w, c, 4, f.roots);
    put_u(w, c, 5, f.maps);
    put_u(w, c, 6, f.buckets);
    put_u(w, c, 7, f.entries);
    put_u(w, c, 8, f.samples);
    put_u(w, c, 9, f.object_bytes);
    put_u(w, c, 10, f.crc32);
    put_u(w, c, 11, f.strings);
    put_u(w, c, 12, f.types);
    put_u(w, c, 13, f.symbols);
    put_u(w, c, 14, f.stacks);
    emit(w, R_FOOTER);
    wdrain(w, Z_FINISH);
    if (!w->failed) {
        mode_t mask = umask(0);
        umask(mask);
        (void)fchmod(w->fd, 0666 & ~mask);
        int rc = close(w->fd);
        w->fd = -1;
        if (rc != 0) {
            wfail(w, "write error on close: %s", strerror(errno));
            unlink(w->tmp);
        } else if (rename(w->tmp, w->path) != 0) {
            wfail(w, "cannot rename the temporary file: %s", strerror(errno));
            unlink(w->tmp);
        }
    }
    if (w->failed) {
        if (err) *err = w->err;
        mf_gsw_abort(w);
        return -1;
    }
    if (bytes_out) *bytes_out = w->file_bytes;
    writer_free(w);
    return 0;
}

/* ============================================================== reader === */

/* A growable array of T (T a plain type); counts are checked. */
#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

typedef VEC(uint64_t) vec64;
typedef VEC(uint32_t) vec32;

/* Grows a VEC so that one more element fits; false when out of memory. */
static bool vec_grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t c = *cap ? *cap * 2 : 64;
    if (c > SIZE_MAX / elem) return false;
    void *p = realloc(*v, c * elem);
    if (!p) return false;
    *v = p;
    *cap = c;
    return true;
}
#define VEC_PUSH(vec, x, okvar)                                                                    \
    do {                                                                                           \
        if (!vec_grow((void **)&(vec).v, &(vec).cap, (vec).n, sizeof *(vec).v)) {                  \
            okvar = false;                                                                         \
        } else {                                                                                   \
            (vec).v[(vec).n++] = (x);                                                              \
        }                                                                                          \
    } while (0)

struct mf_gs_reader {
    const char *name;
    mf_error *err;
    const mf_gs_callbacks *cb;
    /* input */
    int fd;
    bool gz, z_ready, in_eof, z_end, done;
    z_stream z;
    uint8_t *in;
    size_t in_cap;
    uint64_t in_total;
    uint8_t *win; /* decompressed content window */
    size_t win_len, win_pos, win_cap;
    uint64_t content_off; /* content offset of win[win_pos] */
    /* state */
    uint64_t recno;
    int phase; /* 0 before header, 1 objects, 2 edges, 3 rest, 4 after footer */
    uint32_t crc;
    mf_gs_header header;
    char *h_program, *h_build_id, *h_writer;
    mf_gs_footer footer, seen;
    /* tables */
    VEC(char *) strings;
    VEC(mf_gs_type) types;
    VEC(mf_gs_symbol) symbols;
    vec32 stack_data;
    VEC(uint32_t) stack_start; /* n + 1 entries once any stack is read */
    VEC(mf_gs_map) maps;
    vec64 map_buckets_seen, map_entries_seen;
    /* objects */
    vec64 addr, size;
    vec32 type;
    /* page index over the object addresses (built once the objects are
     * complete, see build_page_index): pg_first[p] is the first object
     * starting at or after pg_base + (p << pg_shift); pg_n + 1 entries */
    uint32_t *pg_first;
    size_t pg_n;
    uint64_t pg_base, pg_end;
    unsigned pg_shift;
    uint64_t edge_next;
    /* scratch for decoding batches; c[10] and c[11] gather the pointers of
     * a bucket batch, c[12] is resolve_many's */
    vec64 c[13];
    VEC(mf_gs_bucket) bk;
    VEC(mf_gs_entry) en;
    VEC(const uint8_t *) texts;
    vec32 text_lens;
    char *keybuf;
    size_t keybuf_cap;
};

static int rfail(mf_gs_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Every contradiction names the file and the record (1 = the header). */
static int rfail(mf_gs_reader *r, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mf_error_set(r->err, "%s: record %" PRIu64 ": %s", r->name, r->recno, what);
    return -1;
}

static int oom(mf_gs_reader *r)
{
    mf_error_set(r->err, "%s: out of memory", r->name);
    return -1;
}

/* ---------------------------------------------------------- input --- */

#define IN_CHUNK ((size_t)1 << 18)

/* Makes at least `need` unread content bytes available in the window, unless
 * the content ends first. Returns the bytes available, or -1 on error. */
static ssize_t rfill(mf_gs_reader *r, size_t need)
{
    for (;;) {
        size_t have = r->win_len - r->win_pos;
        if (have >= need || r->done) return (ssize_t)have;
        /* make room: slide the unread bytes to the front, grow if needed */
        if (r->win_pos) {
            if (have) memmove(r->win, r->win + r->win_pos, have);
            r->win_len = have;
            r->win_pos = 0;
        }
        size_t want = (need > IN_CHUNK ? need : IN_CHUNK) + IN_CHUNK;
        if (r->win_cap < want) {
            uint8_t *p = realloc(r->win, want);
            if (!p) return oom(r);
            r->win = p;
            r->win_cap = want;
        }
        if (!r->gz || (r->z.avail_in == 0 && !r->in_eof)) {
            uint8_t *dst = r->gz ? r->in : r->win + r->win_len;
            size_t cap = r->gz ? r->in_cap : r->win_cap - r->win_len;
            ssize_t k = read(r->fd, dst, cap);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                mf_error_set(r->err, "%s: read error: %s", r->name, strerror(errno));
                return -1;
            }
            r->in_total += (uint64_t)k;
            if (k == 0) r->in_eof = true;
            if (!r->gz) {
                r->win_len += (size_t)k;
                if (k == 0) r->done = true;
                continue;
            }
            r->z.next_in = r->in;
            r->z.avail_in = (uInt)k;
        }
        if (r->z_end) {
            /* another gzip member may follow (concatenated files) */
            if (r->z.avail_in == 0) {
                if (r->in_eof) r->done = true;
                continue;
            }
            if (inflateReset(&r->z) != Z_OK) return oom(r);
            r->z_end = false;
        }
        if (r->z.avail_in == 0 && r->in_eof) {
            mf_error_set(r->err,
                         "%s: truncated gzip stream (the file ends at byte %" PRIu64
                         " inside compressed data)",
                         r->name, r->in_total);
            return -1;
        }
        r->z.next_out = r->win + r->win_len;
        r->z.avail_out = (uInt)(r->win_cap - r->win_len);
        int rc = inflate(&r->z, Z_NO_FLUSH);
        r->win_len = r->win_cap - r->z.avail_out;
        if (rc == Z_STREAM_END) {
            r->z_end = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            mf_error_set(r->err, "%s: corrupt gzip data near compressed byte %" PRIu64 " (%s)",
                         r->name, r->in_total - r->z.avail_in,
                         r->z.msg ? r->z.msg : "inflate error");
            return -1;
        }
    }
}

/* --------------------------------------------------------- messages --- */

typedef struct fld {
    uint32_t num, wt;
    uint64_t v;
    const uint8_t *p;
    size_t len;
} fld;

/* The next field of a message in [*pp, end); 1 if one was read, 0 at the
 * end, -1 on malformed input. */
static int next_fld(mf_gs_reader *r, const uint8_t **pp, const uint8_t *end, fld *f,
                    const char *msg)
{
    const uint8_t *p = *pp;
    if (p >= end) return 0;
    uint64_t key;
    if (!(p = mf_get_varint(p, end, &key)) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return rfail(r, "malformed %s message (bad field key)", msg);
    f->num = (uint32_t)(key >> 3);
    f->wt = (uint32_t)(key & 7);
    switch (f->wt) {
    case MF_WT_VARINT:
        if (!(p = mf_get_varint(p, end, &f->v)))
            return rfail(r, "malformed %s message (field %u: truncated varint)", msg, f->num);
        break;
    case MF_WT_I64:
        if (end - p < 8) return rfail(r, "malformed %s message (field %u truncated)", msg, f->num);
        memcpy(&f->v, p, 8);
        p += 8;
        break;
    case MF_WT_I32: {
        uint32_t v;
        if (end - p < 4) return rfail(r, "malformed %s message (field %u truncated)", msg, f->num);
        memcpy(&v, p, 4);
        f->v = v;
        p += 4;
        break;
    }
    case MF_WT_LEN: {
        uint64_t len;
        if (!(p = mf_get_varint(p, end, &len)) || len > (uint64_t)(end - p))
            return rfail(r, "malformed %s message (field %u: length runs past the end)", msg,
                         f->num);
        f->p = p;
        f->len = (size_t)len;
        p += len;
        break;
    }
    default:
        return rfail(r, "malformed %s message (field %u: wire type %u)", msg, f->num, f->wt);
    }
    *pp = p;
    return 1;
}

static int want_v(mf_gs_reader *r, const fld *f, const char *msg)
{
    if (f->wt != MF_WT_VARINT)
        return rfail(r, "%s field %u has wire type %u, expected a varint", msg, f->num, f->wt);
    return 0;
}

static int want_len(mf_gs_reader *r, const fld *f, const char *msg)
{
    if (f->wt != MF_WT_LEN)
        return rfail(r, "%s field %u has wire type %u, expected bytes", msg, f->num, f->wt);
    return 0;
}

/* Appends a repeated varint field (packed or not) to out. */
static int get_col(mf_gs_reader *r, const fld *f, vec64 *out, const char *msg)
{
    bool ok = true;
    if (f->wt == MF_WT_VARINT) {
        VEC_PUSH(*out, f->v, ok);
        return ok ? 0 : oom(r);
    }
    if (want_len(r, f, msg)) return -1;
    const uint8_t *p = f->p, *end = f->p + f->len;
    /* every varint takes at least one byte: reserve once */
    if (out->cap - out->n < f->len) {
        size_t need = out->n + f->len;
        if (need > SIZE_MAX / 8) return oom(r);
        uint64_t *v = realloc(out->v, need * sizeof *v);
        if (!v) return oom(r);
        out->v = v;
        out->cap = need;
    }
    while (p < end) {
        uint64_t x;
        if (!(p = mf_get_varint(p, end, &x)))
            return rfail(r, "%s field %u: truncated packed varint", msg, f->num);
        out->v[out->n++] = x;
    }
    return 0;
}

static int check_str(mf_gs_reader *r, uint64_t i, const char *what)
{
    if (i >= r->strings.n)
        return rfail(r, "%s refers to string %" PRIu64 ", but the table has %zu", what, i,
                     r->strings.n);
    return 0;
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        if (n) memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

uint64_t mf_gs_find_object(const mf_gs_reader *r, uint64_t a)
{
    size_t lo = 0, hi = r->addr.n; /* first index with addr > a */
    const uint64_t *v = r->addr.v;
    if (r->pg_first) {
        /* only the objects starting in a's page, and the one before them */
        if (a < r->pg_base || a >= r->pg_end) return MF_GS_NONE;
        uint64_t pg = (a - r->pg_base) >> r->pg_shift;
        lo = r->pg_first[pg];
        lo = lo ? lo - 1 : 0;
        hi = r->pg_first[pg + 1];
        if (hi < r->addr.n) hi++;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return MF_GS_NONE;
    lo--;
    return a - v[lo] < r->size.v[lo] ? lo : MF_GS_NONE;
}

static int on_header(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f;
    int k;
    bool magic = false;
    mf_gs_header *h = &r->header;
    while ((k = next_fld(r, &p, end, &f, "Header")) > 0) {
        if (f.num == 1 || f.num == 3 || f.num == 4 || f.num == 13) {
            if (want_len(r, &f, "Header")) return -1;
            if (f.num == 1) {
                magic = f.len == strlen(MF_GS_MAGIC) && memcmp(f.p, MF_GS_MAGIC, f.len) == 0;
                continue;
            }
            char **dst = f.num == 3 ? &r->h_program : f.num == 4 ? &r->h_build_id : &r->h_writer;
            free(*dst);
            if (!(*dst = dup_bytes(f.p, f.len))) return oom(r);
        } else if (f.num == 11) {
            if (want_len(r, &f, "Header")) return -1;
            const uint8_t *q = f.p, *qe = f.p + f.len;
            fld g;
            mf_gs_memstats *m = &h->memstats;
            while ((k = next_fld(r, &q, qe, &g, "MemStats")) > 0) {
                if (g.num > 12) continue;
                if (want_v(r, &g, "MemStats")) return -1;
                uint64_t *dst[] = {NULL,           &m->heap_alloc,    &m->heap_sys,
                                   &m->heap_inuse, &m->heap_objects,  &m->total_alloc,
                                   &m->mallocs,    &m->frees,         &m->next_gc,
                                   &m->last_gc_ns, &m->pause_total_ns};
                if (g.num <= 10)
                    *dst[g.num] = g.v;
                else if (g.num == 11)
                    m->num_gc = (uint32_t)g.v;
                else
                    m->gc_percent = (int32_t)g.v;
            }
            if (k < 0) return -1;
        } else if (f.num <= 12) {
            if (want_v(r, &f, "Header")) return -1;
            switch (f.num) {
            case 2:
                h->version = (uint32_t)f.v;
                break;
            case 5:
                h->pid = f.v;
                break;
            case 6:
                h->time_nanos = (int64_t)f.v;
                break;
            case 7:
                h->gc_cycle = (uint32_t)f.v;
                break;
            case 8:
                h->pointer_size = (uint32_t)f.v;
                break;
            case 9:
                h->profile_rate = f.v;
                break;
            case 10:
                h->write_mode = (uint32_t)f.v;
                break;
            case 12:
                h->address_granule = (uint32_t)f.v;
                break;
            }
        }
    }
    if (k < 0) return -1;
    if (!magic) return rfail(r, "not a gcstack snapshot (the header lacks the magic string)");
    if (h->version == 0 || h->version > MF_GS_VERSION)
        return rfail(r, "format version %u is not supported (this reader knows version %u)",
                     h->version, MF_GS_VERSION);
    if (h->address_granule == 0 || h->address_granule > 4096 ||
        (h->address_granule & (h->address_granule - 1)))
        return rfail(r, "bad address granule %u", h->address_granule);
    h->program = r->h_program ? r->h_program : "";
    h->build_id = r->h_build_id ? r->h_build_id : "";
    h->writer = r->h_writer ? r->h_writer : "";
    return 0;
}

static int on_strings(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f;
    int k;
    while ((k = next_fld(r, &p, end, &f, "StringBatch")) > 0) {
        if (f.num != 1) continue;
        if (want_len(r, &f, "StringBatch")) return -1;
        char *s = dup_bytes(f.p, f.len);
        bool ok = s != NULL;
        if (ok) VEC_PUSH(r->strings, s, ok);
        if (!ok) {
            free(s);
            return oom(r);
        }
    }
    return k;
}

static int on_type(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f;
    int k;
    mf_gs_type t = {0};
    uint64_t name = 0;
    r->c[0].n = 0;
    while ((k = next_fld(r, &p, end, &f, "Type")) > 0) {
        if (f.num == 3) {
            if (get_col(r, &f, &r->c[0], "Type")) return -1;
        } else if (f.num == 1 || f.num == 2 || f.num == 4 || f.num == 5) {
            if (want_v(r, &f, "Type")) return -1;
            if (f.num == 1)
                name = f.v;
            else if (f.num == 2)
                t.size = f.v;
            else if (f.num == 4)
                t.kind = (uint32_t)f.v;
            else
                t.elem = f.v > UINT32_MAX ? UINT32_MAX : (uint32_t)f.v;
        }
    }
    if (k < 0 || check_str(r, name, "type")) return -1;
    if (t.elem > r->types.n)
        return rfail(r, "type %zu: element type %u is not defined before it", r->types.n,
                     t.elem - 1);
    if (r->c[0].n > UINT32_MAX) return rfail(r, "type %zu: too many pointer offsets", r->types.n);
    t.name = r->strings.v[name];
    t.nptrs = (uint32_t)r->c[0].n;
    uint32_t *offs = t.nptrs ? malloc(t.nptrs * sizeof *offs) : NULL;
    if (t.nptrs && !offs) return oom(r);
    for (uint32_t i = 0; i < t.nptrs; i++) {
        if (r->c[0].v[i] > UINT32_MAX || (i && r->c[0].v[i] <= r->c[0].v[i - 1])) {
            free(offs);
            return rfail(r, "type %zu: pointer offsets out of order", r->types.n);
        }
        offs[i] = (uint32_t)r->c[0].v[i];
    }
    t.ptr_offsets = offs;
    bool ok = true;
    VEC_PUSH(r->types, t, ok);
    if (!ok) {
        free(offs);
        return oom(r);
    }
    return 0;
}

static int on_symbol(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f;
    int k;
    mf_gs_symbol s = {0};
    uint64_t fn = 0, file = 0;
    while ((k = next_fld(r, &p, end, &f, "Symbol")) > 0) {
        if (f.num < 1 || f.num > 4) continue;
        if (want_v(r, &f, "Symbol")) return -1;
        if (f.num == 1)
            s.address = f.v;
        else if (f.num == 2)
            fn = f.v;
        else if (f.num == 3)
            file = f.v;
        else
            s.line = (int64_t)f.v;
    }
    if (k < 0 || check_str(r, fn, "symbol") || check_str(r, file, "symbol")) return -1;
    s.function = r->strings.v[fn];
    s.file = r->strings.v[file];
    bool ok = true;
    VEC_PUSH(r->symbols, s, ok);
    return ok ? 0 : oom(r);
}

static int on_stack(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f;
    int k;
    bool ok = true;
    r->c[0].n = 0;
    while ((k = next_fld(r, &p, end, &f, "Stack")) > 0)
        if (f.num == 1 && get_col(r, &f, &r->c[0], "Stack")) return -1;
    if (k < 0) return -1;
    if (r->stack_start.n == 0) VEC_PUSH(r->stack_start, 0, ok);
    for (size_t i = 0; i < r->c[0].n && ok; i++) {
        if (r->c[0].v[i] >= r->symbols.n)
            return rfail(r, "stack %zu refers to symbol %" PRIu64 ", but the table has %zu",
                         r->stack_start.n - 1, r->c[0].v[i], r->symbols.n);
        VEC_PUSH(r->stack_data, (uint32_t)r->c[0].v[i], ok);
    }
    if (ok && r->stack_data.n > UINT32_MAX) return rfail(r, "too many stack frames");
    if (ok) VEC_PUSH(r->stack_start, (uint32_t)r->stack_data.n, ok);
    return ok ? 0 : oom(r);
}

static size_t nstacks(const mf_gs_reader *r)
{
    return r->stack_start.n ? r->stack_start.n - 1 : 0;
}

static int on_objects(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r->phase != 1) return rfail(r, "objects after the object section");
    fld f;
    int k;
    /* version 2 adds field 4, run lengths: size and type are then given once
     * per run of consecutive objects */
    int ncols = r->header.version >= 2 ? 4 : 3;
    for (int i = 0; i < 4; i++) r->c[i].n = 0;
    while ((k = next_fld(r, &p, end, &f, "ObjectBatch")) > 0)
        if (f.num >= 1 && (int)f.num <= ncols && get_col(r, &f, &r->c[f.num - 1], "ObjectBatch"))
            return -1;
    if (k < 0) return -1;
    size_t n = r->c[0].n;
    bool runs = r->c[3].n > 0;
    size_t nsz = runs ? r->c[3].n : n;
    if (r->c[1].n != nsz || r->c[2].n != nsz)
        return rfail(r,
                     "object batch columns differ in length (%zu %s, %zu sizes, %zu "
                     "types)",
                     nsz, runs ? "runs" : "addresses", r->c[1].n, r->c[2].n);
    if (runs) {
        uint64_t sum = 0;
        for (size_t i = 0; i < nsz; i++)
            if (r->c[3].v[i] == 0 || __builtin_add_overflow(sum, r->c[3].v[i], &sum))
                return rfail(r, "object batch: bad run length %" PRIu64, r->c[3].v[i]);
        if (sum != n)
            return rfail(r, "object batch: runs cover %" PRIu64 " objects, the batch has %zu", sum,
                         n);
    }
    uint64_t first = r->addr.n;
    uint64_t g = r->header.address_granule;
    size_t run = 0; /* the run of object i (the sums were checked above) */
    uint64_t run_left = runs ? r->c[3].v[0] : 0;
    for (size_t i = 0; i < n; i++) {
        if (runs) {
            if (run_left == 0) run_left = r->c[3].v[++run];
            run_left--;
        } else {
            run = i;
        }
        uint64_t idx = r->addr.n, d = r->c[0].v[i], size = r->c[1].v[run], type = r->c[2].v[run];
        uint64_t prev = idx ? r->addr.v[idx - 1] : 0;
        uint64_t a;
        if (d > UINT64_MAX / g || __builtin_add_overflow(prev, d * g, &a))
            return rfail(r, "object %" PRIu64 ": address overflows", idx);
        if (idx && d == 0)
            return rfail(r, "object %" PRIu64 ": addresses out of order (0x%" PRIx64 " again)", idx,
                         a);
        if (idx && a - prev < r->size.v[idx - 1])
            return rfail(r,
                         "object %" PRIu64 " at 0x%" PRIx64 " overlaps object %" PRIu64
                         " (0x%" PRIx64 ", %" PRIu64 " bytes)",
                         idx, a, idx - 1, prev, r->size.v[idx - 1]);
        if (size == 0 || size > UINT64_MAX - a)
            return rfail(r, "object %" PRIu64 " at 0x%" PRIx64 ": bad size %" PRIu64, idx, a, size);
        if (type > r->types.n)
            return rfail(
                r, "object %" PRIu64 " at 0x%" PRIx64 " has type %" PRIu64 ", which is not defined",
                idx, a, type - 1);
        bool ok = true;
        VEC_PUSH(r->addr, a, ok);
        VEC_PUSH(r->size, size, ok);
        VEC_PUSH(r->type, (uint32_t)type, ok);
        if (!ok) return oom(r);
        r->seen.object_bytes += size;
    }
    r->seen.objects += n;
    if (r->cb && r->cb->on_objects && r->cb->on_objects(r->cb->ud, r, first, n, r->err)) return -1;
    return 0;
}

/*
 * Resolving a pointer by binary search over millions of addresses costs
 * ~20 cache misses, and the reader resolves every edge target: most of its
 * time went there. Once the objects are complete (they never change after
 * the object section), a page index narrows each search to the objects of
 * one page: the span of the heap is cut into at most ~2 pages per object
 * (pages of at least one granule), so a page holds a few objects where the
 * heap is dense. 4 bytes per page; without memory the plain binary search
 * is used.
 */
static void build_page_index(mf_gs_reader *r)
{
    size_t n = r->addr.n;
    if (r->pg_first || n == 0 || n >= UINT32_MAX) return;
    uint64_t base = r->addr.v[0], end = r->addr.v[n - 1] + r->size.v[n - 1];
    if (end <= base) return;
    uint64_t span = end - base;
    unsigned shift = 3;
    while (shift < 63 && (span >> shift) > 2 * (uint64_t)n) shift++;
    size_t np = (size_t)(span >> shift) + 1;
    uint32_t *pf = malloc((np + 1) * sizeof *pf);
    if (!pf) return;
    size_t i = 0;
    for (size_t pg = 0; pg <= np; pg++) {
        uint64_t start = base + ((uint64_t)pg << shift);
        while (i < n && r->addr.v[i] < start) i++;
        pf[pg] = (uint32_t)i;
    }
    r->pg_first = pf;
    r->pg_n = np;
    r->pg_base = base;
    r->pg_end = end;
    r->pg_shift = shift;
}

/* Resolves a pointer value to an object index, or fails naming what. */
static int resolve(mf_gs_reader *r, uint64_t ptr, uint64_t *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int resolve(mf_gs_reader *r, uint64_t ptr, uint64_t *out, const char *fmt, ...)
{
    if (!r->pg_first && r->phase >= 2) build_page_index(r);
    uint64_t i = mf_gs_find_object(r, ptr);
    if (i != MF_GS_NONE) {
        *out = i;
        return 0;
    }
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rfail(r, "%s points to 0x%" PRIx64 ", which is in no object", what, ptr);
}

/*
 * Resolves n pointer values in place to object indices; returns n, or the
 * index of the first value that lies in no object (values before it are
 * resolved, it and the rest are left as they were).
 *
 * Why batches: one lookup costs three dependent cache misses on a big heap
 * (the page index, then the addresses and sizes of that page), and edge
 * targets are scattered, so resolving edge after edge leaves the processor
 * waiting on memory most of the time. Here the work is split into stages
 * over the whole batch, each prefetching what a later element of the batch
 * will need: the misses of many lookups are in flight at once. The answer
 * is exactly what mf_gs_find_object gives.
 */
#define RESOLVE_AHEAD 16
static size_t resolve_many(mf_gs_reader *r, uint64_t *v, size_t n)
{
    if (!r->pg_first) build_page_index(r);
    if (!r->pg_first || r->c[12].cap < n) {
        uint64_t *q = r->pg_first && n <= SIZE_MAX / 8 ? realloc(r->c[12].v, n * sizeof *q) : NULL;
        if (!q) { /* no page index or no memory: one at a time */
            for (size_t i = 0; i < n; i++) {
                uint64_t x = mf_gs_find_object(r, v[i]);
                if (x == MF_GS_NONE) return i;
                v[i] = x;
            }
            return n;
        }
        r->c[12].v = q;
        r->c[12].cap = n;
    }
    const uint32_t *pf = r->pg_first;
    const uint64_t *addr = r->addr.v, *size = r->size.v;
    uint64_t base = r->pg_base, lim = r->pg_end;
    unsigned shift = r->pg_shift;
    size_t nobj = r->addr.n;
    uint64_t *span = r->c[12].v; /* per value: lo | hi << 32, the search range */
    /* stage 1: the page of each value and its range of candidate objects */
    for (size_t i = 0; i < n; i++) {
        if (i + RESOLVE_AHEAD < n) {
            uint64_t a = v[i + RESOLVE_AHEAD];
            if (a >= base && a < lim) __builtin_prefetch(&pf[(a - base) >> shift]);
        }
        uint64_t a = v[i];
        if (a < base || a >= lim) {
            span[i] = 0; /* empty range: in no object */
            continue;
        }
        uint64_t pg = (a - base) >> shift;
        size_t lo = pf[pg], hi = pf[pg + 1];
        lo = lo ? lo - 1 : 0;
        if (hi < nobj) hi++;
        span[i] = (uint64_t)lo | (uint64_t)hi << 32;
    }
    /* stage 2: the search among those few objects */
    for (size_t i = 0; i < n; i++) {
        if (i + RESOLVE_AHEAD < n) {
            uint64_t s = span[i + RESOLVE_AHEAD];
            uint32_t l = (uint32_t)s;
            if (l < (uint32_t)(s >> 32)) {
                __builtin_prefetch(&addr[l]);
                __builtin_prefetch(&addr[l + 1]);
                __builtin_prefetch(&size[l]);
                __builtin_prefetch(&size[l + 1]);
            }
        }
        uint64_t a = v[i], s = span[i];
        size_t lo = (uint32_t)s, hi = (size_t)(s >> 32), first = lo;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (addr[mid] <= a)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* lo is the first candidate above a; when it is the range's first
         * the object before it starts after a too (the index says so) */
        if (lo == first) return i;
        lo--;
        if (a - addr[lo] >= size[lo]) return i;
        v[i] = lo;
    }
    return n;
}

static int on_edges(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r->phase == 1) r->phase = 2;
    if (r->phase != 2) return rfail(r, "edges after the edge section");
    fld f;
    int k;
    uint64_t first = 0;
    for (int i = 0; i < 3; i++) r->c[i].n = 0;
    while ((k = next_fld(r, &p, end, &f, "EdgeBatch")) > 0) {
        if (f.num == 1) {
            if (want_v(r, &f, "EdgeBatch")) return -1;
            first = f.v;
        } else if (f.num >= 2 && f.num <= 4) {
            if (get_col(r, &f, &r->c[f.num - 2], "EdgeBatch")) return -1;
        }
    }
    if (k < 0) return -1;
    size_t n = r->c[0].n, ne = r->c[1].n;
    if (first != r->edge_next)
        return rfail(r, "edges start at object %" PRIu64 ", expected object %" PRIu64, first,
                     r->edge_next);
    if (n > r->addr.n - first)
        return rfail(r, "edges for objects %" PRIu64 "..%" PRIu64 ", but there are only %zu", first,
                     first + n - 1, r->addr.n);
    if (r->c[2].n != ne) return rfail(r, "edge batch: %zu offsets but %zu targets", ne, r->c[2].n);
    r->c[3].n = 0;
    if (n > r->c[3].cap) {
        uint64_t *v = realloc(r->c[3].v, n * sizeof *v);
        if (!v) return oom(r);
        r->c[3].v = v;
        r->c[3].cap = n;
    }
    uint32_t *counts = (uint32_t *)r->c[3].v; /* n uint32s fit in n uint64s */
    size_t e = 0;
    bool v2 = r->header.version >= 2;
    uint64_t tunit = v2 ? r->header.address_granule : 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t obj = first + i, cnt = r->c[0].v[i];
        if (cnt > ne - e)
            return rfail(r, "object %" PRIu64 " has %" PRIu64 " edges, more than the batch holds",
                         obj, cnt);
        counts[i] = (uint32_t)cnt;
        uint64_t a = r->addr.v[obj];
        for (uint64_t j = 0; j < cnt; j++, e++) {
            uint64_t off = r->c[1].v[e];
            /* version 2: each offset after an object's first is an increment
             * (made absolute here, for the callback), targets are granules */
            if (v2 && j && __builtin_add_overflow(r->c[1].v[e - 1], off, &off)) off = UINT64_MAX;
            if (v2) r->c[1].v[e] = off;
            if (off >= r->size.v[obj] || (j && off <= r->c[1].v[e - 1]))
                return rfail(r,
                             "edge %" PRIu64 " of object %" PRIu64 " (0x%" PRIx64
                             "): offset %" PRIu64 " out of order or beyond its %" PRIu64 " bytes",
                             j, obj, a, off, r->size.v[obj]);
            r->c[2].v[e] = a + (uint64_t)mf_unzigzag(r->c[2].v[e]) * tunit;
        }
    }
    if (e != ne) return rfail(r, "edge batch holds %zu edges but its counts add up to %zu", ne, e);
    size_t bad = resolve_many(r, r->c[2].v, ne);
    if (bad < ne) {
        /* name the edge: find its object and its index there */
        size_t i = 0, at = 0;
        while (at + counts[i] <= bad) at += counts[i++];
        uint64_t obj = first + i;
        uint64_t off = r->c[1].v[bad];
        uint64_t t = r->c[2].v[bad];
        return resolve(r, t, &r->c[2].v[bad],
                       "edge at offset %" PRIu64 " of object %" PRIu64 " (0x%" PRIx64 ")", off, obj,
                       r->addr.v[obj]);
    }
    r->edge_next += n;
    r->seen.edges += ne;
    if (r->cb && r->cb->on_edges &&
        r->cb->on_edges(r->cb->ud, r, first, n, counts, ne, r->c[1].v, r->c[2].v, r->err))
        return -1;
    return 0;
}

/* The records after the edges need every object and its edges. */
static int r_enter_rest(mf_gs_reader *r, const char *what)
{
    if (r->phase == 3) return 0;
    if (r->edge_next != r->addr.n)
        return rfail(r,
                     "%s before the edges of every object (edges cover %" PRIu64 " of %zu "
                     "objects)",
                     what, r->edge_next, r->addr.n);
    r->phase = 3;
    return 0;
}

static int on_root(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r_enter_rest(r, "a root")) return -1;
    fld f;
    int k;
    mf_gs_root rt = {0};
    uint64_t name = 0, file = 0, fn = 0, sym = 0;
    while ((k = next_fld(r, &p, end, &f, "Root")) > 0) {
        if (f.num < 1 || f.num > 10) continue;
        if (want_v(r, &f, "Root")) return -1;
        switch (f.num) {
        case 1:
            rt.kind = (uint32_t)f.v;
            break;
        case 2:
            rt.target = f.v;
            break;
        case 3:
            rt.slot = f.v;
            break;
        case 4:
            name = f.v;
            break;
        case 5:
            file = f.v;
            break;
        case 6:
            rt.line = (int64_t)f.v;
            break;
        case 7:
            rt.thread = (uint32_t)f.v;
            break;
        case 8:
            rt.frame = (uint32_t)f.v;
            break;
        case 9:
            sym = f.v;
            break;
        case 10:
            fn = f.v;
            break;
        }
    }
    if (k < 0 || check_str(r, name, "root") || check_str(r, file, "root") ||
        check_str(r, fn, "root"))
        return -1;
    if (sym > r->symbols.n)
        return rfail(r, "root refers to symbol %" PRIu64 ", but the table has %zu", sym - 1,
                     r->symbols.n);
    rt.symbol = (uint32_t)sym;
    rt.name = r->strings.v[name];
    rt.file = r->strings.v[file];
    rt.function = r->strings.v[fn];
    if (resolve(r, rt.target, &rt.target, "%s root %s", mf_gs_root_kind_name(rt.kind), rt.name))
        return -1;
    r->seen.roots++;
    if (r->cb && r->cb->on_root && r->cb->on_root(r->cb->ud, r, &rt, r->err)) return -1;
    return 0;
}

static int on_map(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r_enter_rest(r, "a map")) return -1;
    fld f;
    int k;
    mf_gs_map m = {0};
    uint64_t tn = 0;
    m.index = r->maps.n;
    while ((k = next_fld(r, &p, end, &f, "Map")) > 0) {
        if (f.num < 1 || f.num > 21) continue;
        if (want_v(r, &f, "Map")) return -1;
        uint64_t v = f.v;
        uint32_t v32 = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        switch (f.num) {
        case 1:
            m.address = v;
            break;
        case 2:
            tn = v;
            break;
        case 3:
            m.key_kind = v32;
            break;
        case 4:
            m.key_type = v32;
            break;
        case 5:
            m.value_type = v32;
            break;
        case 6:
            m.count = v;
            break;
        case 7:
            m.flags = v32;
            break;
        case 8:
            m.B = v32;
            break;
        case 9:
            m.noverflow = v32;
            break;
        case 10:
            m.hash0 = v32;
            break;
        case 11:
            m.buckets = v;
            break;
        case 12:
            m.oldbuckets = v;
            break;
        case 13:
            m.nevacuate = v;
            break;
        case 14:
            m.noldbuckets = v;
            break;
        case 15:
            m.bucket_size = v;
            break;
        case 16:
            m.key_size = v32;
            break;
        case 17:
            m.value_size = v32;
            break;
        case 18:
            m.key_indirect = v != 0;
            break;
        case 19:
            m.value_indirect = v != 0;
            break;
        case 20:
            m.nbuckets_walked = v;
            break;
        case 21:
            m.nentries = v;
            break;
        }
    }
    if (k < 0 || check_str(r, tn, "map")) return -1;
    m.type_name = r->strings.v[tn];
    uint64_t mi = m.index;
    if (m.key_kind > MF_GS_KEY_BYTES)
        return rfail(r, "map %" PRIu64 ": unknown key kind %u", mi, m.key_kind);
    if (m.key_type > r->types.n || m.value_type > r->types.n)
        return rfail(r, "map %" PRIu64 ": key or value type not defined", mi);
    if (m.B > 56) return rfail(r, "map %" PRIu64 ": B = %u is impossible", mi, m.B);
    if (resolve(r, m.address, &m.object, "map %" PRIu64 " header", mi)) return -1;
    if (r->addr.v[m.object] != m.address)
        return rfail(r, "map %" PRIu64 ": header 0x%" PRIx64 " is not the start of an object", mi,
                     m.address);
    m.buckets_obj = m.oldbuckets_obj = MF_GS_NONE;
    if (m.buckets && resolve(r, m.buckets, &m.buckets_obj, "map %" PRIu64 " buckets", mi))
        return -1;
    if (m.oldbuckets) {
        if (resolve(r, m.oldbuckets, &m.oldbuckets_obj, "map %" PRIu64 " old buckets", mi))
            return -1;
        uint64_t nb = (uint64_t)1 << m.B;
        if (m.noldbuckets != nb && m.noldbuckets != nb / 2)
            return rfail(r, "map %" PRIu64 ": %" PRIu64 " old buckets with B = %u", mi,
                         m.noldbuckets, m.B);
        if (m.nevacuate > m.noldbuckets)
            return rfail(r,
                         "map %" PRIu64 ": evacuation progress %" PRIu64 " beyond its %" PRIu64
                         " old buckets",
                         mi, m.nevacuate, m.noldbuckets);
    } else if (m.noldbuckets) {
        return rfail(r, "map %" PRIu64 ": %" PRIu64 " old buckets but no old bucket array", mi,
                     m.noldbuckets);
    }
    bool ok = true;
    VEC_PUSH(r->maps, m, ok);
    VEC_PUSH(r->map_buckets_seen, 0, ok);
    VEC_PUSH(r->map_entries_seen, 0, ok);
    if (!ok) return oom(r);
    if (r->cb && r->cb->on_map && r->cb->on_map(r->cb->ud, r, &m, r->err)) return -1;
    return 0;
}

/* Room for n more bytes of rendered keys. */
static int keybuf_reserve(mf_gs_reader *r, size_t used, size_t n)
{
    if (r->keybuf_cap - used >= n) return 0;
    size_t cap = r->keybuf_cap ? r->keybuf_cap : 4096;
    while (cap - used < n) {
        if (cap > SIZE_MAX / 2) return oom(r);
        cap *= 2;
    }
    char *p = realloc(r->keybuf, cap);
    if (!p) return oom(r);
    r->keybuf = p;
    r->keybuf_cap = cap;
    return 0;
}

static int on_buckets(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r_enter_rest(r, "a bucket batch")) return -1;
    fld f;
    int k;
    uint64_t mi = 0;
    bool v2 = r->header.version >= 2;
    for (int i = 0; i < 10; i++) r->c[i].n = 0;
    r->texts.n = r->text_lens.n = 0;
    bool ok = true;
    while ((k = next_fld(r, &p, end, &f, "BucketBatch")) > 0) {
        if (f.num == 1) {
            if (want_v(r, &f, "BucketBatch")) return -1;
            mi = f.v;
        } else if (f.num == 9) {
            if (want_len(r, &f, "BucketBatch")) return -1;
            VEC_PUSH(r->texts, f.p, ok);
            VEC_PUSH(r->text_lens, (uint32_t)(f.len > 4096 ? 4096 : f.len), ok);
            if (!ok) return oom(r);
        } else if (f.num == 7 && v2) {
            /* version 2: tophash is bytes, one per slot */
            if (want_len(r, &f, "BucketBatch")) return -1;
            vec64 *t = &r->c[5];
            if (t->cap - t->n < f.len) {
                size_t need = t->n + f.len;
                uint64_t *v = need <= SIZE_MAX / 8 ? realloc(t->v, need * sizeof *v) : NULL;
                if (!v) return oom(r);
                t->v = v;
                t->cap = need;
            }
            for (size_t i = 0; i < f.len; i++) t->v[t->n++] = f.p[i];
        } else if (f.num >= 2 && f.num <= 11) {
            if (get_col(r, &f, &r->c[f.num - 2], "BucketBatch")) return -1;
        }
    }
    if (k < 0) return -1;
    if (mi >= r->maps.n)
        return rfail(r, "bucket batch of map %" PRIu64 ", which is not defined", mi);
    mf_gs_map *m = &r->maps.v[mi];
    size_t nb = r->c[0].n;
    if (r->c[1].n != nb || r->c[2].n != nb || r->c[3].n != nb || r->c[4].n != nb)
        return rfail(r, "map %" PRIu64 ": bucket columns differ in length", mi);
    bool int_keys = m->key_kind == MF_GS_KEY_INT64 || m->key_kind == MF_GS_KEY_PTR;
    size_t ns = r->c[5].n, nkeys = int_keys ? r->c[6].n : r->texts.n;
    /* version 2 leaves out the key object column when no key has one */
    bool no_kobj = v2 && r->c[8].n == 0;
    if ((r->c[8].n != ns && !no_kobj) || r->c[9].n != ns || nkeys != ns)
        return rfail(r, "map %" PRIu64 ": slot columns differ in length", mi);
    r->bk.n = r->en.n = 0;
    if (nb > r->bk.cap) {
        mf_gs_bucket *b = realloc(r->bk.v, nb * sizeof *b);
        if (!b) return oom(r);
        r->bk.v = b;
        r->bk.cap = nb;
    }
    if (ns > r->en.cap) {
        mf_gs_entry *e = realloc(r->en.v, ns * sizeof *e);
        if (!e) return oom(r);
        r->en.v = e;
        r->en.cap = ns;
    }
    uint64_t prev = m->address, s = 0, prev_index = 0;
    size_t kb = 0;
    /* the pointers to resolve, all at once after the loop (resolve_many):
     * c[10] the addresses, c[11] what each is (index << 2 | 0 bucket,
     * 1 key, 2 value; entry index for the last two) */
    size_t nref = nb + 2 * ns;
    for (int j = 10; j < 12; j++) {
        if (r->c[j].cap < nref) {
            uint64_t *v = nref <= SIZE_MAX / 8 ? realloc(r->c[j].v, nref * sizeof *v) : NULL;
            if (!v) return oom(r);
            r->c[j].v = v;
            r->c[j].cap = nref;
        }
        r->c[j].n = 0;
    }
    uint64_t *ref_addr = r->c[10].v, *ref_tag = r->c[11].v;
    size_t nr = 0;
    uint64_t nnew = (uint64_t)1 << m->B;
    /* version 2: bucket addresses and object references in granules,
     * bucket indices as increments */
    uint64_t unit = v2 ? r->header.address_granule : 1;
    for (size_t i = 0; i < nb; i++) {
        mf_gs_bucket *b = &r->bk.v[i];
        b->address = prev + (uint64_t)mf_unzigzag(r->c[0].v[i]) * unit;
        prev = b->address;
        b->old = r->c[1].v[i] != 0;
        b->index = v2 ? prev_index + (uint64_t)mf_unzigzag(r->c[2].v[i]) : r->c[2].v[i];
        prev_index = b->index;
        b->overflow = r->c[3].v[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)r->c[3].v[i];
        b->occupied = r->c[4].v[i] > 0xff ? 0x100 : (uint32_t)r->c[4].v[i];
        b->first_entry = (uint32_t)s;
        const char *arr = b->old ? "old bucket array" : "bucket array";
        uint64_t limit = b->old ? m->noldbuckets : nnew, base = b->old ? m->oldbuckets : m->buckets;
        if (b->occupied > 0xff)
            return rfail(r, "map %" PRIu64 ": bucket 0x%" PRIx64 " has bad slot bits", mi,
                         b->address);
        if (b->index >= limit)
            return rfail(r,
                         "map %" PRIu64 ": bucket index %" PRIu64 " outside its %s of %" PRIu64
                         " buckets",
                         mi, b->index, arr, limit);
        ref_addr[nr] = b->address;
        ref_tag[nr++] = (uint64_t)i << 2;
        uint64_t at;
        if (b->overflow == 0 && (!base || __builtin_mul_overflow(b->index, m->bucket_size, &at) ||
                                 __builtin_add_overflow(at, base, &at) || at != b->address))
            return rfail(r,
                         "map %" PRIu64 ": bucket[%" PRIu64 "] at 0x%" PRIx64
                         " is not where its %s 0x%" PRIx64 " puts it",
                         mi, b->index, b->address, arr, base);
        for (uint32_t slot = 0; slot < 8; slot++) {
            if (!(b->occupied >> slot & 1)) continue;
            if (s >= ns) return rfail(r, "map %" PRIu64 ": more occupied slots than entries", mi);
            mf_gs_entry *e = &r->en.v[s];
            e->bucket = (uint32_t)i;
            e->slot = (uint8_t)slot;
            if (r->c[5].v[s] > 0xff)
                return rfail(r, "map %" PRIu64 ": bad tophash %" PRIu64, mi, r->c[5].v[s]);
            e->tophash = (uint8_t)r->c[5].v[s];
            uint64_t refs[2] = {no_kobj ? 0 : r->c[8].v[s], r->c[9].v[s]};
            uint64_t *outs[2] = {&e->key_object, &e->value_object};
            for (int j = 0; j < 2; j++) {
                *outs[j] = MF_GS_NONE;
                if (!refs[j]) continue;
                ref_addr[nr] = b->address + (uint64_t)mf_unzigzag(refs[j] - 1) * unit;
                ref_tag[nr++] = s << 2 | (uint64_t)(j + 1);
            }
            /* keys are rendered into keybuf; pointers are fixed up below */
            const uint8_t *src;
            char tmp[32];
            size_t len;
            if (int_keys) {
                e->key_int = mf_unzigzag(r->c[6].v[s]);
                len = (size_t)(m->key_kind == MF_GS_KEY_INT64
                                   ? snprintf(tmp, sizeof tmp, "%" PRId64, e->key_int)
                                   : snprintf(tmp, sizeof tmp, "0x%" PRIx64, (uint64_t)e->key_int));
                src = (const uint8_t *)tmp;
            } else {
                e->key_int = 0;
                src = r->texts.v[s];
                len = r->text_lens.v[s];
            }
            if (keybuf_reserve(r, kb, len + 1)) return -1;
            if (len) memcpy(r->keybuf + kb, src, len);
            r->keybuf[kb + len] = 0;
            e->key_text = (const char *)(uintptr_t)kb;
            e->key_text_len = len;
            kb += len + 1;
            s++;
        }
    }
    if (s != ns)
        return rfail(r, "map %" PRIu64 ": %zu entries for %" PRIu64 " occupied slots", mi, ns, s);
    size_t bad = resolve_many(r, ref_addr, nr);
    for (size_t j = 0; j < nr; j++) {
        uint64_t tag = ref_tag[j], ix = tag >> 2;
        unsigned kind = (unsigned)(tag & 3);
        if (j == bad) { /* the error names the pointer */
            uint64_t dummy;
            if (kind == 0)
                return resolve(r, ref_addr[j], &dummy, "map %" PRIu64 " bucket %" PRIu64, mi,
                               r->bk.v[ix].index);
            const mf_gs_entry *e = &r->en.v[ix];
            return resolve(r, ref_addr[j], &dummy, "map %" PRIu64 " bucket[%" PRIu64 "] slot %u %s",
                           mi, r->bk.v[e->bucket].index, e->slot, kind == 2 ? "value" : "key");
        }
        if (kind == 0)
            r->bk.v[ix].object = ref_addr[j];
        else if (kind == 1)
            r->en.v[ix].key_object = ref_addr[j];
        else
            r->en.v[ix].value_object = ref_addr[j];
    }
    for (size_t i = 0; i < ns; i++)
        r->en.v[i].key_text = r->keybuf + (size_t)(uintptr_t)r->en.v[i].key_text;
    r->map_buckets_seen.v[mi] += nb;
    r->map_entries_seen.v[mi] += ns;
    if (r->map_buckets_seen.v[mi] > m->nbuckets_walked || r->map_entries_seen.v[mi] > m->nentries)
        return rfail(r,
                     "map %" PRIu64 ": more buckets or entries than its Map record announces "
                     "(%" PRIu64 " buckets, %" PRIu64 " entries)",
                     mi, m->nbuckets_walked, m->nentries);
    r->seen.buckets += nb;
    r->seen.entries += ns;
    if (r->cb && r->cb->on_buckets &&
        r->cb->on_buckets(r->cb->ud, r, m, r->bk.v, nb, r->en.v, ns, r->err))
        return -1;
    return 0;
}

static int on_samples(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r_enter_rest(r, "a sample batch")) return -1;
    fld f;
    int k;
    r->c[0].n = r->c[1].n = 0;
    while ((k = next_fld(r, &p, end, &f, "SampleBatch")) > 0)
        if ((f.num == 1 || f.num == 2) && get_col(r, &f, &r->c[f.num - 1], "SampleBatch"))
            return -1;
    if (k < 0) return -1;
    size_t n = r->c[0].n;
    if (r->c[1].n != n) return rfail(r, "sample batch columns differ in length");
    uint32_t *stacks = (uint32_t *)r->c[1].v; /* narrowed in place */
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a = prev + (uint64_t)mf_unzigzag(r->c[0].v[i]), st = r->c[1].v[i];
        prev = a;
        if (resolve(r, a, &r->c[0].v[i], "sample %zu", i)) return -1;
        if (st >= nstacks(r))
            return rfail(
                r, "sample of object 0x%" PRIx64 " has stack %" PRIu64 ", but the table has %zu", a,
                st, nstacks(r));
        stacks[i] = (uint32_t)st;
    }
    r->seen.samples += n;
    if (r->cb && r->cb->on_samples && r->cb->on_samples(r->cb->ud, r, n, r->c[0].v, stacks, r->err))
        return -1;
    return 0;
}

static int on_footer(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r_enter_rest(r, "the footer")) return -1;
    fld f;
    int k;
    mf_gs_footer *t = &r->footer;
    while ((k = next_fld(r, &p, end, &f, "Footer")) > 0) {
        if (f.num < 1 || f.num > 14) continue;
        if (want_v(r, &f, "Footer")) return -1;
        uint64_t *dst[] = {NULL,     &t->record_count, &t->objects, &t->edges,   &t->roots,
                           &t->maps, &t->buckets,      &t->entries, &t->samples, &t->object_bytes,
                           NULL,     &t->strings,      &t->types,   &t->symbols, &t->stacks};
        if (f.num == 10)
            t->crc32 = (uint32_t)f.v;
        else
            *dst[f.num] = f.v;
    }
    if (k < 0) return -1;
    mf_gs_footer *s = &r->seen;
    s->record_count = r->recno - 1;
    s->maps = r->maps.n;
    s->strings = r->strings.n;
    s->types = r->types.n;
    s->symbols = r->symbols.n;
    s->stacks = nstacks(r);
    const char *names[] = {"records", "objects", "edges",   "roots",        "maps",
                           "buckets", "entries", "samples", "object bytes", "strings",
                           "types",   "symbols", "stacks"};
    uint64_t want[] = {t->record_count, t->objects, t->edges,   t->roots,        t->maps,
                       t->buckets,      t->entries, t->samples, t->object_bytes, t->strings,
                       t->types,        t->symbols, t->stacks};
    uint64_t got[] = {s->record_count, s->objects, s->edges,   s->roots,        s->maps,
                      s->buckets,      s->entries, s->samples, s->object_bytes, s->strings,
                      s->types,        s->symbols, s->stacks};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (want[i] != got[i])
            return rfail(r, "footer counts %" PRIu64 " %s, but the file holds %" PRIu64, want[i],
                         names[i], got[i]);
    if (t->crc32 != r->crc)
        return rfail(r,
                     "checksum mismatch (footer CRC-32 %08x, content %08x): the file is "
                     "corrupt or spliced",
                     t->crc32, r->crc);
    for (size_t i = 0; i < r->maps.n; i++) {
        const mf_gs_map *m = &r->maps.v[i];
        if (r->map_buckets_seen.v[i] != m->nbuckets_walked ||
            r->map_entries_seen.v[i] != m->nentries)
            return rfail(r,
                         "map %zu (%s at 0x%" PRIx64 "): %" PRIu64 " buckets and %" PRIu64
                         " entries listed, its Map record says %" PRIu64 " and %" PRIu64,
                         i, m->type_name, m->address, r->map_buckets_seen.v[i],
                         r->map_entries_seen.v[i], m->nbuckets_walked, m->nentries);
        if (m->nentries != m->count)
            return rfail(r,
                         "map %zu (%s at 0x%" PRIx64 "): its header counts %" PRIu64
                         " entries but its buckets hold %" PRIu64,
                         i, m->type_name, m->address, m->count, m->nentries);
    }
    r->phase = 4;
    if (r->cb && r->cb->on_footer && r->cb->on_footer(r->cb->ud, r, t, r->err)) return -1;
    return 0;
}

/* ----------------------------------------------------------- driver --- */

void mf_gs_reader_free(mf_gs_reader *r)
{
    if (!r) return;
    if (r->z_ready) inflateEnd(&r->z);
    for (size_t i = 0; i < r->strings.n; i++) free(r->strings.v[i]);
    free(r->strings.v);
    for (size_t i = 0; i < r->types.n; i++) free((void *)r->types.v[i].ptr_offsets);
    free(r->types.v);
    free(r->symbols.v);
    free(r->stack_data.v);
    free(r->stack_start.v);
    free(r->maps.v);
    free(r->map_buckets_seen.v);
    free(r->map_entries_seen.v);
    free(r->addr.v);
    free(r->size.v);
    free(r->type.v);
    free(r->pg_first);
    for (int i = 0; i < 13; i++) free(r->c[i].v);
    free(r->bk.v);
    free(r->en.v);
    free(r->texts.v);
    free(r->text_lens.v);
    free(r->keybuf);
    free(r->in);
    free(r->win);
    free(r->h_program);
    free(r->h_build_id);
    free(r->h_writer);
    free((void *)r->name);
    free(r);
}

/* Opens path and decides gzip or raw from its first two bytes. */
static int ropen(mf_gs_reader *r, const char *path)
{
    r->fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        mf_error_set(r->err, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    r->in_cap = IN_CHUNK;
    if (!(r->in = malloc(r->in_cap))) return oom(r);
    /* peek: read up to 2 bytes into the input buffer */
    size_t got = 0;
    while (got < 2) {
        ssize_t k = read(r->fd, r->in + got, 2 - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            mf_error_set(r->err, "%s: read error: %s", path, strerror(errno));
            return -1;
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    r->in_total = got;
    r->gz = (got >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b);
    if (r->gz) {
        if (inflateInit2(&r->z, 15 + 16) != Z_OK) return oom(r);
        r->z_ready = true;
        r->z.next_in = r->in;
        r->z.avail_in = (uInt)got;
        if (got < 2) r->in_eof = true;
    } else {
        r->win_cap = IN_CHUNK * 2;
        if (!(r->win = malloc(r->win_cap))) return oom(r);
        if (got) memcpy(r->win, r->in, got);
        r->win_len = got;
    }
    return 0;
}

static int rclose(mf_gs_reader *r)
{
    if (r->fd > STDIN_FILENO) close(r->fd);
    r->fd = -1;
    return 0;
}

/* Reads records until the footer and the end of the content. */
static int rloop(mf_gs_reader *r)
{
    r->crc = (uint32_t)crc32(0, NULL, 0);
    for (;;) {
        ssize_t avail = rfill(r, MF_VARINT_MAX);
        if (avail < 0) return -1;
        if (avail == 0) {
            if (r->phase == 4) return 0;
            if (r->recno == 0) {
                mf_error_set(r->err, "%s: empty file, not a gcstack snapshot", r->name);
                return -1;
            }
            mf_error_set(r->err,
                         "%s: missing footer: the content ends after record %" PRIu64
                         " (truncated file?)",
                         r->name, r->recno);
            return -1;
        }
        r->recno++;
        if (r->phase == 4) return rfail(r, "data after the footer");
        const uint8_t *p = r->win + r->win_pos, *pend = p + avail;
        uint64_t len;
        const uint8_t *body = mf_get_varint(p, pend, &len);
        if (!body) {
            if ((size_t)avail < MF_VARINT_MAX)
                return rfail(r, "truncated record length (the content ends; missing footer)");
            return rfail(r, "bad record length");
        }
        size_t hl = (size_t)(body - p);
        if (len > MAX_RECORD)
            return rfail(r, "record length %" PRIu64 " is beyond the limit (corrupt file?)", len);
        avail = rfill(r, hl + (size_t)len);
        if (avail < 0) return -1;
        if ((size_t)avail < hl + len)
            return rfail(r,
                         "truncated: the record needs %" PRIu64 " bytes, the content ends "
                         "after %zd (missing footer)",
                         len, avail - (ssize_t)hl);
        p = r->win + r->win_pos;
        body = p + hl;
        const uint8_t *end = body + len;
        /* which kind? */
        uint32_t kind = 0;
        const uint8_t *kp = NULL, *ke = NULL;
        fld f;
        int k;
        const uint8_t *q = body;
        while ((k = next_fld(r, &q, end, &f, "Record")) > 0) {
            if (f.wt != MF_WT_LEN) continue;
            bool known = (f.num >= R_HEADER && f.num <= R_SAMPLES) || f.num == R_FOOTER;
            if (!known) continue;
            if (kind) return rfail(r, "record holds two kinds (fields %u and %u)", kind, f.num);
            kind = f.num;
            kp = f.p;
            ke = f.p + f.len;
        }
        if (k < 0) return -1;
        if (r->phase == 0 && kind != R_HEADER)
            return rfail(r, "not a gcstack snapshot (the first record is not a header)");
        if (kind == R_HEADER && r->phase != 0) return rfail(r, "a second header");
        if (kind != R_FOOTER) r->crc = (uint32_t)crc32(r->crc, p, (uInt)(hl + len));
        int rc = 0;
        switch (kind) {
        case R_HEADER:
            rc = on_header(r, kp, ke);
            r->phase = 1;
            if (!rc && r->cb && r->cb->on_header)
                rc = r->cb->on_header(r->cb->ud, r, &r->header, r->err);
            break;
        case R_STRINGS:
            rc = on_strings(r, kp, ke);
            break;
        case R_TYPE:
            rc = on_type(r, kp, ke);
            break;
        case R_SYMBOL:
            rc = on_symbol(r, kp, ke);
            break;
        case R_STACK:
            rc = on_stack(r, kp, ke);
            break;
        case R_OBJECTS:
            rc = on_objects(r, kp, ke);
            break;
        case R_EDGES:
            rc = on_edges(r, kp, ke);
            break;
        case R_ROOT:
            rc = on_root(r, kp, ke);
            break;
        case R_MAP:
            rc = on_map(r, kp, ke);
            break;
        case R_BUCKETS:
            rc = on_buckets(r, kp, ke);
            break;
        case R_SAMPLES:
            rc = on_samples(r, kp, ke);
            break;
        case R_FOOTER:
            rc = on_footer(r, kp, ke);
            break;
        default:
            break; /* a record kind of a newer writer */
        }
        if (rc) return -1;
        r->win_pos += hl + (size_t)len;
    }
}

int mf_gs_read(const char *path, const mf_gs_callbacks *cb, mf_gs_reader **out, mf_error *err)
{
    if (out) *out = NULL;
    mf_gs_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(path))) {
        free(r);
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    r->err = err;
    r->cb = cb;
    r->fd = -1;
    bool ok = true;
    char *empty = strdup("");
    if (empty) VEC_PUSH(r->strings, empty, ok);
    if (!empty || !ok) {
        free(empty);
        oom(r);
        mf_gs_reader_free(r);
        return -1;
    }
    int rc = ropen(r, path);
    if (!rc) rc = rloop(r);
    rclose(r);
    r->cb = NULL;
    r->err = NULL;
    if (rc || !out) {
        mf_gs_reader_free(r);
        return rc ? -1 : 0;
    }
    if (r->z_ready) inflateEnd(&r->z);
    r->z_ready = false;
    free(r->in);
    free(r->win);
    r->in = r->win = NULL;
    *out = r;
    return 0;
}

int mf_gs_sniff(const char *path, mf_error *err)
{
    /* Reads just the start of the first record: its header's magic field
     * comes first in every file this writer makes, but a header with fields
     * in another order is found too as long as it starts the content. */
    mf_gs_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(path))) {
        free(r);
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    r->err = err;
    r->fd = -1;
    int result = -1;
    if (ropen(r, path) == 0) {
        mf_error tmp;
        r->err = &tmp;
        ssize_t avail = rfill(r, 64);
        result = 0;
        if (avail > 0) {
            const uint8_t *p = r->win + r->win_pos, *end = p + avail;
            const size_t ml = strlen(MF_GS_MAGIC);
            for (const uint8_t *q = p; q + ml <= end && q < p + 16; q++)
                if (memcmp(q, MF_GS_MAGIC, ml) == 0) result = 1;
        }
    }
    rclose(r);
    mf_gs_reader_free(r);
    return result;
}

const mf_gs_header *mf_gs_header_of(const mf_gs_reader *r)
{
    return &r->header;
}
const mf_gs_footer *mf_gs_footer_of(const mf_gs_reader *r)
{
    return &r->footer;
}
size_t mf_gs_nobjects(const mf_gs_reader *r)
{
    return r->addr.n;
}
const uint64_t *mf_gs_object_addresses(const mf_gs_reader *r)
{
    return r->addr.v;
}
const uint64_t *mf_gs_object_sizes(const mf_gs_reader *r)
{
    return r->size.v;
}
const uint32_t *mf_gs_object_types(const mf_gs_reader *r)
{
    return r->type.v;
}
size_t mf_gs_take_objects(mf_gs_reader *r, uint64_t **addr, uint64_t **size, uint32_t **type)
{
    size_t n = r->addr.n;
    *addr = r->addr.v;
    *size = r->size.v;
    *type = r->type.v;
    r->addr = (vec64){0};
    r->size = (vec64){0};
    r->type = (vec32){0};
    free(r->pg_first); /* indexes the objects just given away */
    r->pg_first = NULL;
    r->pg_n = 0;
    return n;
}
size_t mf_gs_nstrings(const mf_gs_reader *r)
{
    return r->strings.n;
}
const char *mf_gs_string(const mf_gs_reader *r, uint32_t i)
{
    return i < r->strings.n ? r->strings.v[i] : "";
}
size_t mf_gs_ntypes(const mf_gs_reader *r)
{
    return r->types.n;
}
const mf_gs_type *mf_gs_type_at(const mf_gs_reader *r, uint32_t i)
{
    return &r->types.v[i];
}
size_t mf_gs_nsymbols(const mf_gs_reader *r)
{
    return r->symbols.n;
}
const mf_gs_symbol *mf_gs_symbol_at(const mf_gs_reader *r, uint32_t i)
{
    return &r->symbols.v[i];
}
size_t mf_gs_nstacks(const mf_gs_reader *r)
{
    return nstacks(r);
}
const uint32_t *mf_gs_stack_at(const mf_gs_reader *r, uint32_t i, size_t *n)
{
    *n = r->stack_start.v[i + 1] - r->stack_start.v[i];
    return r->stack_data.v + r->stack_start.v[i];
}
size_t mf_gs_nmaps(const mf_gs_reader *r)
{
    return r->maps.n;
}
const mf_gs_map *mf_gs_map_at(const mf_gs_reader *r, uint64_t i)
{
    return &r->maps.v[i];
}
