/*
 * src/format/godump.c -- one checking pass over a Go heap dump.
 *
 * The dump is mapped (a regular file) or read into memory (a pipe, or a
 * gzipped dump inflated), then walked record by record. Every record is
 * fully decoded and checked before the next one starts, so an error names
 * the first bad record; the index keeps offsets into the dump, not copies.
 */
#include "format/godump.h"

#include "format/grow.h"
#include "format/gz.h"
#include "format/infile.h"
#include "format/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

const char *mf_gd_tag_name(uint64_t tag)
{
    static const char *const names[MF_GD_NTAGS] = {
        "EOF",         "object",           "other root",   "type",        "goroutine",
        "stack frame", "params",           "finalizer",    "itab",        "OS thread",
        "memstats",    "queued finalizer", "data segment", "bss segment", "defer",
        "panic",       "memprof bucket",   "alloc sample"};
    return tag < MF_GD_NTAGS ? names[tag] : "unknown";
}

int mf_gd_sniff(const uint8_t *p, size_t n)
{
    return n >= MF_GD_MAGIC_LEN && memcmp(p, MF_GD_MAGIC, MF_GD_MAGIC_LEN) == 0;
}

bool mf_gd_sniff_bytes(const uint8_t *p, size_t n)
{
    return mf_gd_sniff(p, n) != 0;
}

/* ------------------------------------------------------------- parsing --- */

typedef struct rd {
    mf_gd_dump *d;
    const uint8_t *p;
    size_t n, pos;
    size_t rec;       /* record number, 1 = first after the header */
    size_t rec_start; /* its byte offset */
    uint64_t tag;
    mf_error *err;
    /* capacities of the growing arrays */
    size_t cap_obj, cap_g, cap_f, cap_fin, cap_mp, cap_s, cap_t, cap_it;
} rd;

static int fail(rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rd *r, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mf_error_set(r->err, "%s: record %zu (%s, at byte %zu): %s", r->d->name, r->rec,
                 mf_gd_tag_name(r->tag), r->rec_start, what);
    return -1;
}

static int u(rd *r, uint64_t *v)
{
    const uint8_t *q = mf_get_varint(r->p + r->pos, r->p + r->n, v);
    if (!q) {
        size_t i = r->pos;
        while (i < r->n && i - r->pos < MF_VARINT_MAX && r->p[i] >= 0x80) i++;
        if (i == r->n)
            return fail(r, "truncated: the dump ends at byte %zu inside the record", r->n);
        return fail(r, "bad number at byte %zu (a varint longer than 10 bytes)", r->pos);
    }
    r->pos = (size_t)(q - r->p);
    return 0;
}

static int flag(rd *r, bool *b)
{
    uint64_t v;
    if (u(r, &v)) return -1;
    if (v > 1) return fail(r, "a boolean of %llu at byte %zu", (unsigned long long)v, r->pos);
    *b = v;
    return 0;
}

/* A length-prefixed byte range (strings and memory contents). */
static int bytes(rd *r, mf_gd_bytes *b)
{
    uint64_t len;
    if (u(r, &len)) return -1;
    if (len > r->n - r->pos)
        return fail(r, "truncated: %llu bytes announced at byte %zu, %zu left in the dump",
                    (unsigned long long)len, r->pos, r->n - r->pos);
    b->off = r->pos;
    b->len = len;
    r->pos += (size_t)len;
    return 0;
}

/* A field list of a block of `limit` bytes: pointer fields whose words lie
 * inside the block, aligned; increasing when `sorted`. */
static int fieldlist(rd *r, uint64_t limit, bool sorted, uint64_t *start, uint32_t *count)
{
    uint64_t ps = r->d->params.ptr_size, prev = 0;
    uint32_t n = 0;
    *start = r->pos;
    for (;;) {
        uint64_t kind, off;
        if (u(r, &kind)) return -1;
        if (kind == 0) break;
        if (kind != 1)
            return fail(r, "field kind %llu at byte %zu (only pointer fields, kind 1, exist)",
                        (unsigned long long)kind, r->pos);
        if (u(r, &off)) return -1;
        if (off % ps || off > limit || limit - off < ps)
            return fail(r, "pointer field at offset %llu of a %llu-byte block (byte %zu)",
                        (unsigned long long)off, (unsigned long long)limit, r->pos);
        if (sorted && n > 0 && off <= prev)
            return fail(r, "pointer field offsets out of order (%llu after %llu, byte %zu)",
                        (unsigned long long)off, (unsigned long long)prev, r->pos);
        if (n == UINT32_MAX - 1) return fail(r, "too many pointer fields");
        prev = off;
        n++;
    }
    *count = n;
    return 0;
}

/* Room for one more record in arr (n of cap used); out of memory fails the
 * parse. */
#define GROW(r, arr, n, cap)                                                                       \
    do {                                                                                           \
        if (!MF_GROW((arr), (cap), (n) + 1, 256))                                                  \
            return fail(r, "out of memory indexing the dump");                                     \
    } while (0)

static void parse_version(mf_gd_params *p, const uint8_t *s, size_t n)
{
    /* "go1.19.8", "devel go1.24-abc...": the first "go<major>.<minor>" */
    for (size_t i = 0; i + 2 < n; i++) {
        if (s[i] != 'g' || s[i + 1] != 'o' || s[i + 2] < '0' || s[i + 2] > '9') continue;
        size_t j = i + 2;
        int major = 0, minor = 0;
        while (j < n && s[j] >= '0' && s[j] <= '9' && major < 1000)
            major = major * 10 + s[j++] - '0';
        if (j >= n || s[j] != '.') continue;
        j++;
        if (j >= n || s[j] < '0' || s[j] > '9') continue;
        while (j < n && s[j] >= '0' && s[j] <= '9' && minor < 1000)
            minor = minor * 10 + s[j++] - '0';
        p->go_major = major;
        p->go_minor = minor;
        return;
    }
}

static int need_params(rd *r)
{
    if (!r->d->has_params) return fail(r, "comes before the params record");
    return 0;
}

static int rec_params(rd *r)
{
    mf_gd_params *p = &r->d->params;
    if (r->d->has_params) return fail(r, "a second params record");
    uint64_t ps;
    if (flag(r, &p->big_endian) || u(r, &ps) || u(r, &p->arena_start) || u(r, &p->arena_end) ||
        bytes(r, &p->goarch) || bytes(r, &p->version) || u(r, &p->ncpu))
        return -1;
    if (p->big_endian || ps != 8)
        return fail(r,
                    "a %s dump with %llu-byte pointers: only little-endian 64-bit dumps are "
                    "read",
                    p->big_endian ? "big-endian" : "little-endian", (unsigned long long)ps);
    p->ptr_size = 8;
    parse_version(p, r->p + p->version.off, (size_t)p->version.len);
    r->d->has_params = true;
    return 0;
}

static int rec_object(rd *r)
{
    mf_gd_dump *d = r->d;
    mf_gd_object o = {.record = (uint32_t)r->rec};
    mf_gd_bytes c = {0}; /* set by bytes() before use; LTO cannot see it */
    if (need_params(r) || u(r, &o.addr) || bytes(r, &c)) return -1;
    o.size = c.len;
    o.contents = c.off;
    if (o.addr == 0 || o.addr + o.size < o.addr)
        return fail(r, "object at 0x%llx of %llu bytes", (unsigned long long)o.addr,
                    (unsigned long long)o.size);
    if (fieldlist(r, o.size, true, &o.fields, &o.nfields)) return -1;
    if (d->nobjects >= UINT32_MAX - 2) return fail(r, "more than 2^32 objects");
    GROW(r, d->objects, d->nobjects, r->cap_obj);
    d->objects[d->nobjects++] = o;
    d->object_bytes += o.size;
    return 0;
}

static int rec_goroutine(rd *r)
{
    mf_gd_dump *d = r->d;
    mf_gd_goroutine g = {.record = (uint32_t)r->rec};
    if (u(r, &g.addr) || u(r, &g.sp) || u(r, &g.goid) || u(r, &g.gopc) || u(r, &g.status) ||
        flag(r, &g.system) || flag(r, &g.background) || u(r, &g.waitsince) ||
        bytes(r, &g.waitreason) || u(r, &g.ctxt) || u(r, &g.m) || u(r, &g.defer_) ||
        u(r, &g.panic_))
        return -1;
    if (d->ngoroutines >= UINT32_MAX - 2) return fail(r, "too many goroutines");
    g.first_frame = (uint32_t)d->nframes;
    GROW(r, d->goroutines, d->ngoroutines, r->cap_g);
    d->goroutines[d->ngoroutines++] = g;
    return 0;
}

static int rec_frame(rd *r)
{
    mf_gd_dump *d = r->d;
    mf_gd_frame f = {.record = (uint32_t)r->rec};
    if (need_params(r)) return -1;
    if (!d->ngoroutines) return fail(r, "a stack frame before any goroutine");
    if (u(r, &f.sp) || u(r, &f.depth) || u(r, &f.child_sp) || bytes(r, &f.contents) ||
        u(r, &f.entry) || u(r, &f.pc) || u(r, &f.continpc) || bytes(r, &f.name))
        return -1;
    /* the outgoing-arguments part of a frame may be listed conservatively:
     * offsets are checked for range, not order */
    if (fieldlist(r, f.contents.len, false, &f.fields, &f.nfields)) return -1;
    if (d->nframes >= UINT32_MAX - 2) return fail(r, "too many stack frames");
    mf_gd_goroutine *g = &d->goroutines[d->ngoroutines - 1];
    if (g->first_frame + g->nframes != d->nframes)
        return fail(r, "a stack frame of goroutine %llu after other records",
                    (unsigned long long)g->goid);
    f.goroutine = (uint32_t)(d->ngoroutines - 1);
    GROW(r, d->frames, d->nframes, r->cap_f);
    d->frames[d->nframes++] = f;
    g->nframes++;
    return 0;
}

static int rec_segment(rd *r, mf_gd_segment *s)
{
    if (need_params(r)) return -1;
    if (s->present) return fail(r, "a second %s record", mf_gd_tag_name(r->tag));
    if (u(r, &s->start) || bytes(r, &s->contents)) return -1;
    if (fieldlist(r, s->contents.len, true, &s->fields, &s->nfields)) return -1;
    s->present = true;
    s->record = (uint32_t)r->rec;
    return 0;
}

static int rec_finalizer(rd *r, bool queued)
{
    mf_gd_dump *d = r->d;
    mf_gd_finalizer f = {.queued = queued, .record = (uint32_t)r->rec};
    if (u(r, &f.obj) || u(r, &f.fn) || u(r, &f.fnfn) || u(r, &f.fint) || u(r, &f.ot)) return -1;
    GROW(r, d->finalizers, d->nfinalizers, r->cap_fin);
    d->finalizers[d->nfinalizers++] = f;
    return 0;
}

static int rec_memprof(rd *r)
{
    mf_gd_dump *d = r->d;
    mf_gd_memprof m = {.record = (uint32_t)r->rec};
    if (u(r, &m.addr) || u(r, &m.size) || u(r, &m.nstk)) return -1;
    m.frames = r->pos;
    for (uint64_t i = 0; i < m.nstk; i++) {
        mf_gd_bytes fn, file;
        uint64_t line;
        if (bytes(r, &fn) || bytes(r, &file) || u(r, &line)) return -1;
    }
    if (u(r, &m.allocs) || u(r, &m.frees)) return -1;
    GROW(r, d->memprof, d->nmemprof, r->cap_mp);
    d->memprof[d->nmemprof++] = m;
    return 0;
}

static int skip_ints(rd *r, int n)
{
    uint64_t v;
    for (int i = 0; i < n; i++)
        if (u(r, &v)) return -1;
    return 0;
}

static int record(rd *r)
{
    mf_gd_dump *d = r->d;
    switch (r->tag) {
    case MF_GD_OBJECT:
        return rec_object(r);
    case MF_GD_OTHER_ROOT: {
        mf_gd_bytes desc;
        return bytes(r, &desc) || skip_ints(r, 1) ? -1 : 0;
    }
    case MF_GD_TYPE: {
        mf_gd_type t;
        if (u(r, &t.addr) || u(r, &t.size) || bytes(r, &t.name) || flag(r, &t.indirect)) return -1;
        GROW(r, d->types, d->ntypes, r->cap_t);
        d->types[d->ntypes++] = t;
        return 0;
    }
    case MF_GD_GOROUTINE:
        return rec_goroutine(r);
    case MF_GD_FRAME:
        return rec_frame(r);
    case MF_GD_PARAMS:
        return rec_params(r);
    case MF_GD_FINALIZER:
    case MF_GD_QUEUED_FINALIZER:
        return rec_finalizer(r, r->tag == MF_GD_QUEUED_FINALIZER);
    case MF_GD_ITAB: {
        mf_gd_itab it;
        if (u(r, &it.itab) || u(r, &it.type)) return -1;
        GROW(r, d->itabs, d->nitabs, r->cap_it);
        d->itabs[d->nitabs++] = it;
        return 0;
    }
    case MF_GD_OSTHREAD:
        return skip_ints(r, 3);
    case MF_GD_MEMSTATS:
        for (int i = 0; i < MF_GD_NMEMSTATS; i++)
            if (u(r, &d->memstats[i])) return -1;
        if (skip_ints(r, 256) || u(r, &d->num_gc)) return -1;
        d->has_memstats = true;
        return 0;
    case MF_GD_DATA:
        return rec_segment(r, &d->data_seg);
    case MF_GD_BSS:
        return rec_segment(r, &d->bss_seg);
    case MF_GD_DEFER:
        if (!d->ngoroutines) return fail(r, "a defer record before any goroutine");
        return skip_ints(r, 7);
    case MF_GD_PANIC:
        if (!d->ngoroutines) return fail(r, "a panic record before any goroutine");
        return skip_ints(r, 6);
    case MF_GD_MEMPROF:
        return rec_memprof(r);
    case MF_GD_ALLOC_SAMPLE: {
        mf_gd_sample s;
        if (u(r, &s.obj) || u(r, &s.bucket)) return -1;
        GROW(r, d->samples, d->nsamples, r->cap_s);
        d->samples[d->nsamples++] = s;
        return 0;
    }
    default:
        return fail(r, "unknown record tag %llu", (unsigned long long)r->tag);
    }
}

static int cmp_type(const void *a, const void *b)
{
    uint64_t x = ((const mf_gd_type *)a)->addr, y = ((const mf_gd_type *)b)->addr;
    return (x > y) - (x < y);
}

static int cmp_itab(const void *a, const void *b)
{
    uint64_t x = ((const mf_gd_itab *)a)->itab, y = ((const mf_gd_itab *)b)->itab;
    return (x > y) - (x < y);
}

/* The first of n records of `size` bytes at base, sorted by the uint64_t
 * each begins with (a type's address, an itab's), whose key is >= key. */
_Static_assert(offsetof(mf_gd_type, addr) == 0 && offsetof(mf_gd_itab, itab) == 0,
               "the records searched begin with their key");

static size_t first_at_or_after(const void *base, size_t n, size_t size, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k;
        memcpy(&k, (const char *)base + mid * size, sizeof k);
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const mf_gd_type *mf_gd_find_type(const mf_gd_dump *d, uint64_t addr)
{
    size_t i = first_at_or_after(d->types, d->ntypes, sizeof *d->types, addr);
    return i < d->ntypes && d->types[i].addr == addr ? &d->types[i] : NULL;
}

const mf_gd_type *mf_gd_itab_type(const mf_gd_dump *d, uint64_t itab)
{
    size_t i = first_at_or_after(d->itabs, d->nitabs, sizeof *d->itabs, itab);
    return i < d->nitabs && d->itabs[i].itab == itab ? mf_gd_find_type(d, d->itabs[i].type) : NULL;
}

static int cmp_obj(const void *a, const void *b)
{
    const mf_gd_object *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int index_dump(mf_gd_dump *d, mf_error *err)
{
    rd r = {.d = d, .p = d->data, .n = d->len, .err = err};
    if (!mf_gd_sniff(d->data, d->len)) {
        mf_error_set(err, "%s: not a Go heap dump (it does not start with \"go1.7 heap dump\")",
                     d->name);
        return -1;
    }
    r.pos = MF_GD_MAGIC_LEN;
    for (;;) {
        r.rec++;
        r.rec_start = r.pos;
        r.tag = MF_GD_NTAGS; /* "unknown" until read */
        if (r.pos >= r.n) {
            mf_error_set(err,
                         "%s: truncated after record %zu (byte %zu): the dump ends without its "
                         "EOF record",
                         d->name, r.rec - 1, r.pos);
            return -1;
        }
        if (u(&r, &r.tag)) return -1;
        if (r.tag == MF_GD_EOF) break;
        if (record(&r)) return -1;
    }
    d->nrecords = r.rec;
    if (r.pos != r.n) {
        mf_error_set(err, "%s: %zu bytes after the EOF record (record %zu, byte %zu)", d->name,
                     r.n - r.pos, r.rec, r.rec_start);
        return -1;
    }
    if (!d->has_params) {
        mf_error_set(err, "%s: no params record before the EOF record (record %zu)", d->name,
                     r.rec);
        return -1;
    }
    if (d->ntypes > 1) qsort(d->types, d->ntypes, sizeof *d->types, cmp_type);
    if (d->nitabs > 1) qsort(d->itabs, d->nitabs, sizeof *d->itabs, cmp_itab);
    bool sorted = true;
    for (size_t i = 1; i < d->nobjects && sorted; i++)
        sorted = d->objects[i - 1].addr < d->objects[i].addr;
    if (!sorted) qsort(d->objects, d->nobjects, sizeof *d->objects, cmp_obj);
    for (size_t i = 1; i < d->nobjects; i++) {
        const mf_gd_object *a = &d->objects[i - 1], *b = &d->objects[i];
        if (a->addr + a->size > b->addr) {
            mf_error_set(err,
                         "%s: record %u (object 0x%llx, %llu bytes) overlaps record %u (object "
                         "0x%llx)",
                         d->name, a->record, (unsigned long long)a->addr,
                         (unsigned long long)a->size, b->record, (unsigned long long)b->addr);
            return -1;
        }
    }
    return 0;
}

/* -------------------------------------------------------------- opening --- */

int mf_gd_open_mem(const char *name, const uint8_t *data, size_t len, mf_gd_dump **out,
                   mf_error *err)
{
    *out = NULL;
    mf_gd_dump *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name ? name : ""))) {
        free(d);
        mf_error_set(err, "%s: out of memory", name);
        return -1;
    }
    d->data = data;
    d->len = len;
    if (index_dump(d, err)) {
        mf_gd_close(d);
        return -1;
    }
    *out = d;
    return 0;
}

/* Peak memory of reading and analysing a dump, per byte of the dump: the
 * loader's flat arrays stay below its size (measured 1.75x-1.85x in all
 * from 0.1 to 1 GB dumps), on top of the dump itself when it is read into
 * memory rather than mapped. */
#define DUMP_MEMORY_FACTOR 2

/* Reads the rest of a stream into memory, within the limit. */
static int slurp(mf_in *in, const mf_limits *lim, mf_buf *buf, mf_error *err)
{
    const char *name = mf_in_name(in);
    for (;;) {
        if (mf_buf_reserve(buf, (size_t)1 << 20, err)) return -1;
        ssize_t k = mf_in_read(in, buf->data + buf->len, buf->cap - buf->len, err);
        if (k < 0) return -1;
        if (k == 0) return 0;
        buf->len += (size_t)k;
        if (mf_limit_check(lim, (uint64_t)buf->len * (DUMP_MEMORY_FACTOR + 1), name,
                           "the Go heap dump read so far", err))
            return -1;
    }
}

int mf_gd_open_in(mf_in *in, const mf_limits *lim, mf_gd_dump **out, mf_error *err)
{
    *out = NULL;
    const char *name = mf_in_name(in);
    const uint8_t *head;
    size_t nhead;
    if (mf_in_peek(in, MF_GD_MAGIC_LEN, &head, &nhead, err)) return -1;
    void *base = NULL;
    size_t maplen = 0;
    mf_buf buf = {0};
    int fd = mf_in_regular_fd(in);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
        /* a raw file on disk is mapped, not copied */
        maplen = (size_t)st.st_size;
        if (mf_limit_check(lim, (uint64_t)maplen * DUMP_MEMORY_FACTOR, name, "the Go heap dump",
                           err))
            return -1;
        base = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0);
        if (base == MAP_FAILED) base = NULL;
    }
    if (!base && slurp(in, lim, &buf, err)) {
        mf_buf_free(&buf);
        return -1;
    }
    const uint8_t *data = base ? base : buf.data;
    size_t len = base ? maplen : buf.len;
    if (base) madvise(base, maplen, MADV_SEQUENTIAL);
    if (mf_gd_open_mem(name, data ? data : (const uint8_t *)"", len, out, err)) {
        if (base) munmap(base, maplen);
        mf_buf_free(&buf);
        return -1;
    }
    (*out)->map_base = base;
    (*out)->map_len = maplen;
    (*out)->owned = buf.data;
    if (base) madvise(base, maplen, MADV_RANDOM);
    return 0;
}

int mf_gd_open(const char *path, mf_gd_dump **out, mf_error *err)
{
    *out = NULL;
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    int rc = mf_gd_open_in(in, NULL, out, err);
    mf_in_close(in);
    return rc;
}

void mf_gd_close(mf_gd_dump *d)
{
    if (!d) return;
    if (d->map_base) munmap(d->map_base, d->map_len);
    free(d->owned);
    free(d->name);
    free(d->objects);
    free(d->goroutines);
    free(d->frames);
    free(d->finalizers);
    free(d->memprof);
    free(d->samples);
    free(d->types);
    free(d->itabs);
    free(d);
}

/* ------------------------------------------------------------- reading --- */

uint64_t mf_gd_next_field(const mf_gd_dump *d, uint64_t *pos)
{
    uint64_t kind = 0, off = 0;
    const uint8_t *p = d->data + *pos, *end = d->data + d->len;
    p = mf_get_varint(p, end, &kind); /* checked when indexed: never NULL here */
    p = mf_get_varint(p, end, &off);
    *pos = (uint64_t)(p - d->data);
    return off;
}

void mf_gd_memprof_next(const mf_gd_dump *d, uint64_t *pos, mf_gd_bytes *function,
                        mf_gd_bytes *file, uint64_t *line)
{
    const uint8_t *p = d->data + *pos, *end = d->data + d->len;
    uint64_t n = 0;
    p = mf_get_varint(p, end, &n);
    function->off = (uint64_t)(p - d->data);
    function->len = n;
    p += n;
    p = mf_get_varint(p, end, &n);
    file->off = (uint64_t)(p - d->data);
    file->len = n;
    p += n;
    p = mf_get_varint(p, end, line);
    *pos = (uint64_t)(p - d->data);
}

size_t mf_gd_find(const mf_gd_dump *d, uint64_t a)
{
    size_t lo = 0, hi = d->nobjects; /* first object with addr > a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->objects[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return SIZE_MAX;
    const mf_gd_object *o = &d->objects[lo - 1];
    return a - o->addr < (o->size ? o->size : 1) ? lo - 1 : SIZE_MAX;
}
