/* src/format/gcstack_writer.c -- see gcstack_writer.h and proto/gcstack.proto. */
#include "format/gcstack_writer.h"

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

/* Batch sizes of the writer: objects per ObjectBatch/EdgeBatch, buckets per
 * BucketBatch, samples per SampleBatch. Edge and bucket batches are also
 * flushed once their columns hold MF_GSW_BATCH_BYTES (gcstack_writer.h), so
 * that no record comes near MF_GS_MAX_RECORD whatever the objects hold. */
#define OBJ_BATCH 8192
#define BUCKET_BATCH 2048
#define SAMPLE_BATCH 4096

/* A growable byte column. Growth failures are remembered in the writer. */
typedef struct col {
    uint8_t *p;
    size_t len, cap;
} col;

struct mf_gs_writer {
    mf_out *out;
    int level;
    z_stream z;
    bool z_ready;
    uint8_t *stage; /* content not yet given to deflate */
    size_t stage_len;
    uint8_t *zout;
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
    uint64_t eo_bn;                  /* its edges in the current batch */

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
    mf_error_set(&w->err, "%s: %s", mf_out_path(w->out), what);
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

/* The length of the first at most max of a string's n bytes, cut before a
 * UTF-8 continuation byte so that a character is never split. */
static size_t cut_len(const char *s, size_t n, size_t max)
{
    if (n <= max) return n;
    size_t k = max;
    for (int back = 0; back < 3 && k > 0 && ((uint8_t)s[k] & 0xc0) == 0x80; back++) k--;
    return k;
}

static void put_str(mf_gs_writer *w, col *c, uint32_t field, const char *s)
{
    if (s && *s) put_bytes(w, c, field, s, cut_len(s, strlen(s), MF_GS_MAX_STRING));
}

/* A packed repeated field from a column of varints. */
static void put_packed(mf_gs_writer *w, col *c, uint32_t field, const col *v)
{
    if (v->len) put_bytes(w, c, field, v->p, v->len);
}

/* Writes the pieces iov[0..n) to the file (their contents may be changed).
 * A failure is the output's, with the system's reason. */
static int wwritev(mf_gs_writer *w, struct iovec *iov, int n)
{
    if (w->failed) return -1;
    if (mf_out_writev(w->out, iov, n) == 0) return 0;
    mf_error e;
    mf_out_error(w->out, &e);
    w->err = e;
    w->failed = true;
    return -1;
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
    if (field != MF_GS_R_STRINGS && w->pend_strings.len) {
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
    /* the batches are flushed far below the limit and strings are cut: this
     * is the last guard, so that no reader is ever given a record it must
     * refuse */
    if (inner > MF_GS_MAX_RECORD) {
        wfail(w, "a record of kind %u would be %zu bytes, beyond the format's limit of %zu", field,
              inner, MF_GS_MAX_RECORD);
        return;
    }
    uint8_t lenbuf[MF_VARINT_MAX];
    size_t ll = (size_t)(mf_put_varint(lenbuf, inner) - lenbuf);
    wcontent(w, lenbuf, ll);
    wcontent(w, pre + MF_VARINT_MAX, (size_t)(q - (pre + MF_VARINT_MAX)));
    wcontent(w, w->rec.p, w->rec.len);
    w->rec.len = 0;
    if (field != MF_GS_R_FOOTER) w->f.record_count++;
}

static void flush_strings(mf_gs_writer *w)
{
    if (!w->pend_strings.len) return;
    w->rec.len = 0;
    col_bytes(w, &w->rec, w->pend_strings.p, w->pend_strings.len);
    w->pend_strings.len = 0;
    emit(w, MF_GS_R_STRINGS);
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
    size_t len = strlen(s);
    if (len > MF_GS_MAX_STRING) {
        /* stored cut (interned as cut: two long names that share the first
         * MF_GS_MAX_STRING bytes read back alike anyway) */
        char *cut = malloc(MF_GS_MAX_STRING + 1);
        if (!cut) return wfail(w, "out of memory"), UINT32_MAX;
        size_t k = cut_len(s, len, MF_GS_MAX_STRING);
        memcpy(cut, s, k);
        cut[k] = 0;
        uint32_t id = mf_gsw_string(w, cut);
        free(cut);
        return id;
    }
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
    mf_out *o = mf_out_open(path, err);
    return o ? mf_gsw_open_out(o, level, h, err) : NULL;
}

mf_gs_writer *mf_gsw_open_out(mf_out *out, int level, const mf_gs_header *h, mf_error *err)
{
    mf_gs_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->stage = malloc(STAGE_SIZE)) || !(w->zout = malloc(ZOUT_SIZE))) {
        mf_error_set(err, "cannot write %s: out of memory", mf_out_path(out));
        if (w) w->out = out;
        goto fail;
    }
    w->out = out;
    w->level = level < 0 ? MF_GS_RAW : level > 9 ? 9 : level;
    w->nstrings = 1;
    w->raw_crc = (uint32_t)crc32(0, NULL, 0);
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
            mf_error_set(err, "%s: cannot start gzip compression", mf_out_path(out));
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
    if (h->pause.pause_ns) {
        col pc = {0};
        const uint64_t *pv = &h->pause.pause_ns;
        for (uint32_t i = 0; i < 5; i++) put_u(w, &pc, i + 1, pv[i]);
        put_packed(w, c, 14, &pc);
        col_free(&pc);
    }
    emit(w, MF_GS_R_HEADER);
    if (w->failed) {
        *err = w->err;
        mf_gsw_abort(w);
        return NULL;
    }
    return w;
fail:
    if (w)
        mf_gsw_abort(w);
    else
        mf_out_abort(out);
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
    emit(w, MF_GS_R_TYPE);
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
    emit(w, MF_GS_R_SYMBOL);
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
    emit(w, MF_GS_R_STACK);
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
    emit(w, MF_GS_R_OBJECTS);
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

/* Content bytes the edge batch being gathered holds so far. */
static size_t edge_bytes(const mf_gs_writer *w)
{
    return w->e_count.len + w->e_off.len + w->e_tgt.len;
}

/* Writes the edge batch gathered so far. With `continues`, the open
 * object's edges in this batch (counted last in e_count) are only the first
 * of its edges: the next batch starts at that object again. */
static void flush_edges(mf_gs_writer *w, bool continues)
{
    if (!w->e_n && !continues) return;
    col *c = &w->rec;
    c->len = 0;
    put_u(w, c, 1, w->e_first);
    put_packed(w, c, 2, &w->e_count);
    put_packed(w, c, 3, &w->e_off);
    put_packed(w, c, 4, &w->e_tgt);
    put_u(w, c, 5, continues);
    w->e_count.len = w->e_off.len = w->e_tgt.len = 0;
    w->e_first += w->e_n; /* a continued object is the next batch's first */
    w->e_n = 0;
    emit(w, MF_GS_R_EDGES);
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
    w->eo_n = w->eo_bn = 0;
    w->eo_prev = 0;
    return 0;
}

/* Version 2: offsets as increments (fields of big arrays are far from the
 * start but close to each other), targets as the granule they lie in (the
 * object containing a pointer contains the start of its granule, objects
 * being granule-aligned) relative to the object's. An object's first edge
 * in each batch has its offset in full, so that a batch decodes alone.
 *
 * The edges go in pieces that surely fit what is left of the batch's
 * MF_GSW_BATCH_BYTES (every edge counted at its longest); when the batch is
 * full, it is written and the object goes on in the next one. */
int mf_gsw_edges_add(mf_gs_writer *w, size_t n, const uint64_t *offsets, const uint64_t *targets)
{
    if (w->failed) return -1;
    if (!w->eo_open) return wfail(w, "edges given outside an object");
    const size_t per_edge = 2 * MF_VARINT_MAX;
    uint64_t ag = w->eo_addr / MF_GS_GRANULE;
    while (n) {
        size_t used = edge_bytes(w) + MF_VARINT_MAX; /* and the object's count */
        size_t k = used < MF_GSW_BATCH_BYTES ? (MF_GSW_BATCH_BYTES - used) / per_edge : 0;
        if (k == 0) {
            /* the batch is full: write it, ending with what the object has
             * in it so far */
            if (w->eo_bn) col_varint(w, &w->e_count, w->eo_bn);
            flush_edges(w, w->eo_bn != 0);
            w->eo_bn = 0;
            if (w->failed) return -1;
            continue;
        }
        if (k > n) k = n;
        /* (+ 1: a column is never NULL below, even without edges) */
        if (!col_grow(w, &w->e_off, k * MF_VARINT_MAX + 1) ||
            !col_grow(w, &w->e_tgt, k * MF_VARINT_MAX + 1))
            return -1;
        uint8_t *po = w->e_off.p + w->e_off.len, *pt = w->e_tgt.p + w->e_tgt.len;
        uint64_t prev = w->eo_prev;
        for (size_t i = 0; i < k; i++) {
            if ((i || w->eo_n) && offsets[i] <= prev)
                return wfail(w, "edges of object 0x%" PRIx64 ": offsets not increasing",
                             w->eo_addr);
            po = mf_put_varint(po, offsets[i] - (i || w->eo_bn ? prev : 0));
            prev = offsets[i];
            pt = mf_put_varint(pt, mf_zigzag((int64_t)(targets[i] / MF_GS_GRANULE - ag)));
        }
        w->e_off.len = (size_t)(po - w->e_off.p);
        w->e_tgt.len = (size_t)(pt - w->e_tgt.p);
        w->eo_prev = prev;
        w->eo_n += k;
        w->eo_bn += k;
        offsets += k;
        targets += k;
        n -= k;
    }
    return 0;
}

int mf_gsw_edges_end(mf_gs_writer *w)
{
    if (w->failed) return -1;
    if (!w->eo_open) return wfail(w, "edges ended outside an object");
    w->eo_open = false;
    col_varint(w, &w->e_count, w->eo_bn);
    w->edge_last_addr = w->eo_addr;
    w->edge_next++;
    w->f.edges += w->eo_n;
    if (++w->e_n == OBJ_BATCH || edge_bytes(w) >= MF_GSW_BATCH_BYTES) flush_edges(w, false);
    return w->failed ? -1 : 0;
}

int mf_gsw_edges(mf_gs_writer *w, uint64_t address, size_t n, const uint64_t *offsets,
                 const uint64_t *targets)
{
    if (mf_gsw_edges_begin(w, address) || mf_gsw_edges_add(w, n, offsets, targets)) return -1;
    return mf_gsw_edges_end(w);
}

/* The common case of millions of small objects in one call per batch: the
 * per-call checks of begin/add/end would cost as much as the encoding. The
 * objects go in runs that surely fit the current batch (counted at their
 * longest); an object that does not fit what is left goes through
 * mf_gsw_edges, which splits it where it must. */
int mf_gsw_edges_many(mf_gs_writer *w, size_t nobj, const uint64_t *addresses,
                      const uint32_t *counts, const uint64_t *offsets, const uint64_t *targets)
{
    const size_t per_edge = 2 * MF_VARINT_MAX;
    for (size_t i = 0; i < nobj;) {
        if (w->failed) return -1;
        if (w->section == 0) {
            flush_objects(w);
            w->section = 1;
        }
        if (w->section != 1 || w->eo_open)
            return wfail(w, "edges of object 0x%" PRIx64 " out of order", addresses[i]);
        /* the objects up to the end of the current EdgeBatch that surely
         * fit its bytes */
        size_t used = edge_bytes(w),
               room = used < MF_GSW_BATCH_BYTES ? MF_GSW_BATCH_BYTES - used : 0;
        size_t m = 0, ne = 0, bytes = 0, lim = OBJ_BATCH - w->e_n;
        if (lim > nobj - i) lim = nobj - i;
        while (m < lim) {
            size_t b = MF_VARINT_MAX + (size_t)counts[i + m] * per_edge;
            if (bytes + b > room) break;
            bytes += b;
            ne += counts[i + m++];
        }
        if (m == 0) {
            uint32_t n = counts[i];
            if (mf_gsw_edges(w, addresses[i], n, offsets, targets)) return -1;
            offsets += n;
            targets += n;
            i++;
            continue;
        }
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
        if (w->e_n == OBJ_BATCH || edge_bytes(w) >= MF_GSW_BATCH_BYTES) flush_edges(w, false);
    }
    return w->failed ? -1 : 0;
}

/* Moves on to the records after the edges: every object must have its edges. */
static int enter_rest(mf_gs_writer *w)
{
    if (w->section == 2) return 0;
    if (w->eo_open) return wfail(w, "the edges of object 0x%" PRIx64 " were not ended", w->eo_addr);
    if (w->section == 0) flush_objects(w);
    flush_edges(w, false);
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
             fn = mf_gsw_string(w, r->function), mod = mf_gsw_string(w, r->tls_module),
             var = mf_gsw_string(w, r->tls_variable);
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
    put_u(w, c, 11, r->frame_offset);
    put_u(w, c, 12, mod);
    put_u(w, c, 13, mod ? r->tls_offset : 0);
    put_u(w, c, 14, mod ? var : 0);
    emit(w, MF_GS_R_ROOT);
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
    emit(w, MF_GS_R_BUCKETS);
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
    emit(w, MF_GS_R_MAP);
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
    size_t bytes = w->b_addr.len + w->b_old.len + w->b_idx.len + w->b_ovf.len + w->b_occ.len +
                   w->s_top.len + w->s_kint.len + w->s_ktext.len + w->s_kobj.len + w->s_vobj.len;
    if (w->b_n == BUCKET_BATCH || bytes >= MF_GSW_BATCH_BYTES) flush_buckets(w);
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
                  e->key_text ? cut_len(e->key_text, e->key_text_len, MF_GS_MAX_KEY_TEXT) : 0);
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
    emit(w, MF_GS_R_SAMPLES);
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
    free(w);
}

void mf_gsw_abort(mf_gs_writer *w)
{
    if (!w) return;
    mf_out_abort(w->out);
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
    emit(w, MF_GS_R_FOOTER);
    wdrain(w, Z_FINISH);
    uint64_t bytes = mf_out_bytes(w->out);
    if (w->failed) {
        if (err) *err = w->err;
        mf_gsw_abort(w);
        return -1;
    }
    mf_out *o = w->out;
    w->out = NULL;
    writer_free(w);
    if (mf_out_commit(o, err)) return -1;
    if (bytes_out) *bytes_out = bytes;
    return 0;
}

const char *mf_gsw_error(const mf_gs_writer *w)
{
    return w->failed ? w->err.msg : NULL;
}
