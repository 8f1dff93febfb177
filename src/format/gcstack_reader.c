/* src/format/gcstack_reader.c -- see gcstack_reader.h and proto/gcstack.proto. */
#include "format/gcstack_reader_int.h"

#include "format/crc32.h"
#include "format/prefault.h"
#include "format/wire.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Every contradiction names the file and the record (1 = the header). */
int mf_gsr_fail(mf_gs_reader *r, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mf_error_set(r->err, "%s: record %" PRIu64 ": %s", r->name, r->recno, what);
    return -1;
}

int mf_gsr_oom(mf_gs_reader *r)
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
            if (!p) return mf_gsr_oom(r);
            r->win = p;
            r->win_cap = want;
        }
        ssize_t k = mf_in_read(r->in, r->win + r->win_len, r->win_cap - r->win_len, r->err);
        if (k < 0) return -1;
        if (k == 0) r->done = true;
        r->win_len += (size_t)k;
    }
}

/* --------------------------------------------------------- messages --- */

/* The next field of a message in [*pp, end); 1 if one was read, 0 at the
 * end, -1 on malformed input. */
int mf_gsr_next_fld(mf_gs_reader *r, const uint8_t **pp, const uint8_t *end, fld *f,
                    const char *msg)
{
    const uint8_t *p = *pp;
    if (p >= end) return 0;
    uint64_t key;
    if (!(p = mf_get_varint(p, end, &key)) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return mf_gsr_fail(r, "malformed %s message (bad field key)", msg);
    f->num = (uint32_t)(key >> 3);
    f->wt = (uint32_t)(key & 7);
    switch (f->wt) {
    case MF_WT_VARINT:
        if (!(p = mf_get_varint(p, end, &f->v)))
            return mf_gsr_fail(r, "malformed %s message (field %u: truncated varint)", msg, f->num);
        break;
    case MF_WT_I64:
        if (end - p < 8)
            return mf_gsr_fail(r, "malformed %s message (field %u truncated)", msg, f->num);
        memcpy(&f->v, p, 8);
        p += 8;
        break;
    case MF_WT_I32: {
        uint32_t v;
        if (end - p < 4)
            return mf_gsr_fail(r, "malformed %s message (field %u truncated)", msg, f->num);
        memcpy(&v, p, 4);
        f->v = v;
        p += 4;
        break;
    }
    case MF_WT_LEN: {
        uint64_t len;
        if (!(p = mf_get_varint(p, end, &len)) || len > (uint64_t)(end - p))
            return mf_gsr_fail(r, "malformed %s message (field %u: length runs past the end)", msg,
                               f->num);
        f->p = p;
        f->len = (size_t)len;
        p += len;
        break;
    }
    default:
        return mf_gsr_fail(r, "malformed %s message (field %u: wire type %u)", msg, f->num, f->wt);
    }
    *pp = p;
    return 1;
}

int mf_gsr_want_v(mf_gs_reader *r, const fld *f, const char *msg)
{
    if (f->wt != MF_WT_VARINT)
        return mf_gsr_fail(r, "%s field %u has wire type %u, expected a varint", msg, f->num,
                           f->wt);
    return 0;
}

int mf_gsr_want_len(mf_gs_reader *r, const fld *f, const char *msg)
{
    if (f->wt != MF_WT_LEN)
        return mf_gsr_fail(r, "%s field %u has wire type %u, expected bytes", msg, f->num, f->wt);
    return 0;
}

/* Appends a repeated varint field (packed or not) to out. */
int mf_gsr_get_col(mf_gs_reader *r, const fld *f, vec64 *out, const char *msg)
{
    bool ok = true;
    if (f->wt == MF_WT_VARINT) {
        VEC_PUSH(*out, f->v, ok);
        return ok ? 0 : mf_gsr_oom(r);
    }
    if (mf_gsr_want_len(r, f, msg)) return -1;
    if (f->len == 0) return 0; /* an empty column: out->v may still be NULL */
    const uint8_t *p = f->p, *end = f->p + f->len;
    /* every varint takes at least one byte: reserve once */
    if (out->cap - out->n < f->len) {
        size_t need = out->n + f->len;
        if (need > SIZE_MAX / 8) return mf_gsr_oom(r);
        uint64_t *v = realloc(out->v, need * sizeof *v);
        if (!v) return mf_gsr_oom(r);
        out->v = v;
        out->cap = need;
    }
    size_t got;
    if (!mf_get_packed_varints(p, end, out->v + out->n, &got))
        return mf_gsr_fail(r, "%s field %u: truncated packed varint", msg, f->num);
    out->n += got;
    return 0;
}

static int check_str(mf_gs_reader *r, uint64_t i, const char *what)
{
    if (i >= r->strings.n)
        return mf_gsr_fail(r, "%s refers to string %" PRIu64 ", but the table has %zu", what, i,
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
    if (r->rank.lines) return mf_addr_rank_find(&r->rank, a);
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
    lo = mf_gsr_upper(v, lo, hi, a);
    if (lo == 0) return MF_GS_NONE;
    lo--;
    return a - v[lo] < r->size.v[lo] ? lo : MF_GS_NONE;
}

static int on_header(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f = {0};
    int k;
    bool magic = false;
    mf_gs_header *h = &r->header;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "Header")) > 0) {
        if (f.num == 1 || f.num == 3 || f.num == 4 || f.num == 13) {
            if (mf_gsr_want_len(r, &f, "Header")) return -1;
            if (f.num == 1) {
                magic = f.len == strlen(MF_GS_MAGIC) && memcmp(f.p, MF_GS_MAGIC, f.len) == 0;
                continue;
            }
            char **dst = f.num == 3 ? &r->h_program : f.num == 4 ? &r->h_build_id : &r->h_writer;
            free(*dst);
            if (!(*dst = dup_bytes(f.p, f.len))) return mf_gsr_oom(r);
        } else if (f.num == 11) {
            if (mf_gsr_want_len(r, &f, "Header")) return -1;
            const uint8_t *q = f.p, *qe = f.p + f.len;
            fld g = {0};
            mf_gs_memstats *m = &h->memstats;
            while ((k = mf_gsr_next_fld(r, &q, qe, &g, "MemStats")) > 0) {
                if (g.num > 12) continue;
                if (mf_gsr_want_v(r, &g, "MemStats")) return -1;
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
        } else if (f.num == 14) {
            if (mf_gsr_want_len(r, &f, "Header")) return -1;
            const uint8_t *q = f.p, *qe = f.p + f.len;
            fld g;
            uint64_t *pv[] = {NULL,
                              &h->pause.pause_ns,
                              &h->pause.stop_ns,
                              &h->pause.sweep_termination_ns,
                              &h->pause.mark_ns,
                              &h->pause.last_pause_ns};
            while ((k = mf_gsr_next_fld(r, &q, qe, &g, "Pause")) > 0) {
                if (g.num > 5) continue;
                if (mf_gsr_want_v(r, &g, "Pause")) return -1;
                *pv[g.num] = g.v;
            }
            if (k < 0) return -1;
        } else if (f.num <= 12) {
            if (mf_gsr_want_v(r, &f, "Header")) return -1;
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
    if (!magic) return mf_gsr_fail(r, "not a gcstack snapshot (the header lacks the magic string)");
    if (h->version == 0 || h->version > MF_GS_VERSION)
        return mf_gsr_fail(r, "format version %u is not supported (this reader knows version %u)",
                           h->version, MF_GS_VERSION);
    if (h->address_granule == 0 || h->address_granule > 4096 ||
        (h->address_granule & (h->address_granule - 1)))
        return mf_gsr_fail(r, "bad address granule %u", h->address_granule);
    h->program = r->h_program ? r->h_program : "";
    h->build_id = r->h_build_id ? r->h_build_id : "";
    h->writer = r->h_writer ? r->h_writer : "";
    return 0;
}

static int on_strings(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f = {0};
    int k;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "StringBatch")) > 0) {
        if (f.num != 1) continue;
        if (mf_gsr_want_len(r, &f, "StringBatch")) return -1;
        char *s = dup_bytes(f.p, f.len);
        bool ok = s != NULL;
        if (ok) VEC_PUSH(r->strings, s, ok);
        if (!ok) {
            free(s);
            return mf_gsr_oom(r);
        }
    }
    return k;
}

static int on_type(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f = {0};
    int k;
    mf_gs_type t = {0};
    uint64_t name = 0;
    r->s.c[0].n = 0;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "Type")) > 0) {
        if (f.num == 3) {
            if (mf_gsr_get_col(r, &f, &r->s.c[0], "Type")) return -1;
        } else if (f.num == 1 || f.num == 2 || f.num == 4 || f.num == 5) {
            if (mf_gsr_want_v(r, &f, "Type")) return -1;
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
        return mf_gsr_fail(r, "type %zu: element type %u is not defined before it", r->types.n,
                           t.elem - 1);
    if (r->s.c[0].n > UINT32_MAX)
        return mf_gsr_fail(r, "type %zu: too many pointer offsets", r->types.n);
    t.name = r->strings.v[name];
    t.nptrs = (uint32_t)r->s.c[0].n;
    uint32_t *offs = t.nptrs ? malloc(t.nptrs * sizeof *offs) : NULL;
    if (t.nptrs && !offs) return mf_gsr_oom(r);
    for (uint32_t i = 0; i < t.nptrs; i++) {
        if (r->s.c[0].v[i] > UINT32_MAX || (i && r->s.c[0].v[i] <= r->s.c[0].v[i - 1])) {
            free(offs);
            return mf_gsr_fail(r, "type %zu: pointer offsets out of order", r->types.n);
        }
        offs[i] = (uint32_t)r->s.c[0].v[i];
    }
    t.ptr_offsets = offs;
    bool ok = true;
    VEC_PUSH(r->types, t, ok);
    if (!ok) {
        free(offs);
        return mf_gsr_oom(r);
    }
    return 0;
}

static int on_symbol(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f = {0};
    int k;
    mf_gs_symbol s = {0};
    uint64_t fn = 0, file = 0;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "Symbol")) > 0) {
        if (f.num < 1 || f.num > 4) continue;
        if (mf_gsr_want_v(r, &f, "Symbol")) return -1;
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
    return ok ? 0 : mf_gsr_oom(r);
}

static int on_stack(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    fld f = {0};
    int k;
    bool ok = true;
    r->s.c[0].n = 0;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "Stack")) > 0)
        if (f.num == 1 && mf_gsr_get_col(r, &f, &r->s.c[0], "Stack")) return -1;
    if (k < 0) return -1;
    if (r->stack_start.n == 0) VEC_PUSH(r->stack_start, 0, ok);
    for (size_t i = 0; i < r->s.c[0].n && ok; i++) {
        if (r->s.c[0].v[i] >= r->symbols.n)
            return mf_gsr_fail(r, "stack %zu refers to symbol %" PRIu64 ", but the table has %zu",
                               r->stack_start.n - 1, r->s.c[0].v[i], r->symbols.n);
        VEC_PUSH(r->stack_data, (uint32_t)r->s.c[0].v[i], ok);
    }
    if (ok && r->stack_data.n > UINT32_MAX) return mf_gsr_fail(r, "too many stack frames");
    if (ok) VEC_PUSH(r->stack_start, (uint32_t)r->stack_data.n, ok);
    return ok ? 0 : mf_gsr_oom(r);
}

static size_t nstacks(const mf_gs_reader *r)
{
    return r->stack_start.n ? r->stack_start.n - 1 : 0;
}

/* How many objects the object columns are first made room for: the count
 * the header gives (runtime statistics: a hint, never trusted), so that
 * the columns are allocated once instead of copied and remapped at every
 * doubling. The hint is taken only where the input could hold that many
 * objects (each costs at least a byte, before compression), so that a
 * small corrupt file cannot ask for a big reservation. */
#define OBJECTS_PER_GZIP_BYTE 4u
static size_t objects_hint(const mf_gs_reader *r, size_t need)
{
    uint64_t hint = r->header.memstats.heap_objects, bytes = mf_in_size_hint(r->in);
    uint64_t most = mf_in_is_gzip(r->in) ? bytes * OBJECTS_PER_GZIP_BYTE : bytes;
    if (bytes > UINT64_MAX / OBJECTS_PER_GZIP_BYTE) most = bytes;
    if (hint > most) hint = most;
    if (hint >= UINT32_MAX) hint = UINT32_MAX - 1;
    return hint > need ? (size_t)hint : need;
}

/* The object columns are filled in order by this thread alone: their
 * pages are faulted in ahead of it on another (prefault.h), this many
 * objects ahead of the last one read. */
#define PREFAULT_AHEAD ((size_t)1 << 21)

/* Starts faulting in the columns just reserved, when there is a thread to
 * spare and they are big enough to matter. */
static void prefault_objects(mf_gs_reader *r)
{
    assert(!r->objs_pf);
    if (!r->cb || r->cb->threads <= 1 || r->addr.cap < PREFAULT_AHEAD) return;
    void *base[3] = {r->addr.v, r->size.v, r->type.v};
    size_t elem[3] = {sizeof *r->addr.v, sizeof *r->size.v, sizeof *r->type.v};
    r->objs_pf = mf_prefault_start(base, elem, 3, r->addr.cap);
}

void mf_gsr_objects_done(mf_gs_reader *r)
{
    mf_prefault_stop(r->objs_pf);
    r->objs_pf = NULL;
}

/* Makes the three object columns room for exactly c objects (c is at
 * least the objects held): false without memory, the columns that could
 * not be resized left as they were. */
static bool resize_columns(mf_gs_reader *r, size_t c)
{
    assert(c >= r->addr.n && c <= SIZE_MAX / sizeof(uint64_t));
    uint64_t *a = realloc(r->addr.v, c * sizeof *a);
    if (!a) return false;
    r->addr.v = a;
    r->addr.cap = c;
    uint64_t *s = realloc(r->size.v, c * sizeof *s);
    if (!s) return false;
    r->size.v = s;
    r->size.cap = c;
    uint32_t *t = realloc(r->type.v, c * sizeof *t);
    if (!t) return false;
    r->type.v = t;
    r->type.cap = c;
    return true;
}

/* Room for `more` objects in the object columns: first as many as the
 * header says (objects_hint), then grown by doubling. Every edge target and
 * map pointer is resolved against the addresses and sizes at random, and
 * the graph keeps the three columns. */
static bool reserve_objects(mf_gs_reader *r, size_t more)
{
    size_t need = r->addr.n + more;
    if (need < r->addr.n) return false;
    if (need <= r->addr.cap && need <= r->size.cap && need <= r->type.cap) return true;
    mf_prefault_stop(r->objs_pf); /* the columns move */
    r->objs_pf = NULL;
    size_t c = r->addr.cap > 64 ? r->addr.cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2 / sizeof(uint64_t)) return false;
        c *= 2;
    }
    if (r->addr.cap == 0) {
        /* the header's count, or else (no memory for it) what doubling gives */
        size_t h = objects_hint(r, need);
        if (h > c && h <= SIZE_MAX / 2 / sizeof(uint64_t) && resize_columns(r, h)) {
            prefault_objects(r);
            return true;
        }
    }
    return resize_columns(r, c);
}

static int on_objects(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r->phase != 1) return mf_gsr_fail(r, "objects after the object section");
    fld f = {0};
    int k;
    /* version 2 adds field 4, run lengths: size and type are then given once
     * per run of consecutive objects */
    int ncols = r->header.version >= 2 ? 4 : 3;
    for (int i = 0; i < 4; i++) r->s.c[i].n = 0;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "ObjectBatch")) > 0)
        if (f.num >= 1 && (int)f.num <= ncols &&
            mf_gsr_get_col(r, &f, &r->s.c[f.num - 1], "ObjectBatch"))
            return -1;
    if (k < 0) return -1;
    size_t n = r->s.c[0].n;
    bool runs = r->s.c[3].n > 0;
    size_t nsz = runs ? r->s.c[3].n : n;
    if (r->s.c[1].n != nsz || r->s.c[2].n != nsz)
        return mf_gsr_fail(r,
                           "object batch columns differ in length (%zu %s, %zu sizes, %zu "
                           "types)",
                           nsz, runs ? "runs" : "addresses", r->s.c[1].n, r->s.c[2].n);
    if (runs) {
        uint64_t sum = 0;
        for (size_t i = 0; i < nsz; i++)
            if (r->s.c[3].v[i] == 0 || __builtin_add_overflow(sum, r->s.c[3].v[i], &sum))
                return mf_gsr_fail(r, "object batch: bad run length %" PRIu64, r->s.c[3].v[i]);
        if (sum != n)
            return mf_gsr_fail(r, "object batch: runs cover %" PRIu64 " objects, the batch has %zu",
                               sum, n);
    }
    if (!reserve_objects(r, n)) return mf_gsr_oom(r);
    mf_prefault_upto(r->objs_pf, r->addr.n + n + PREFAULT_AHEAD);
    uint64_t first = r->addr.n;
    uint64_t g = r->header.address_granule;
    size_t run = 0; /* the run of object i (the sums were checked above) */
    uint64_t run_left = runs ? r->s.c[3].v[0] : 0;
    for (size_t i = 0; i < n; i++) {
        if (runs) {
            if (run_left == 0) run_left = r->s.c[3].v[++run];
            run_left--;
        } else {
            run = i;
        }
        uint64_t idx = r->addr.n, d = r->s.c[0].v[i], size = r->s.c[1].v[run],
                 type = r->s.c[2].v[run];
        uint64_t prev = idx ? r->addr.v[idx - 1] : 0;
        uint64_t a;
        if (d > UINT64_MAX / g || __builtin_add_overflow(prev, d * g, &a))
            return mf_gsr_fail(r, "object %" PRIu64 ": address overflows", idx);
        if (idx && d == 0)
            return mf_gsr_fail(
                r, "object %" PRIu64 ": addresses out of order (0x%" PRIx64 " again)", idx, a);
        if (idx && a - prev < r->size.v[idx - 1])
            return mf_gsr_fail(r,
                               "object %" PRIu64 " at 0x%" PRIx64 " overlaps object %" PRIu64
                               " (0x%" PRIx64 ", %" PRIu64 " bytes)",
                               idx, a, idx - 1, prev, r->size.v[idx - 1]);
        if (size == 0 || size > UINT64_MAX - a)
            return mf_gsr_fail(r, "object %" PRIu64 " at 0x%" PRIx64 ": bad size %" PRIu64, idx, a,
                               size);
        if (type > r->types.n)
            return mf_gsr_fail(
                r, "object %" PRIu64 " at 0x%" PRIx64 " has type %" PRIu64 ", which is not defined",
                idx, a, type - 1);
        r->addr.v[idx] = a; /* (room reserved above) */
        r->size.v[idx] = size;
        r->type.v[idx] = (uint32_t)type;
        r->addr.n = r->size.n = r->type.n = idx + 1;
        r->seen.object_bytes += size;
    }
    r->seen.objects += n;
    if (r->cb && r->cb->on_objects && r->cb->on_objects(r->cb->ud, r, first, n, r->err)) return -1;
    return 0;
}

/* The records after the edges need every object and its edges. */
int mf_gsr_enter_rest(mf_gs_reader *r, const char *what)
{
    if (r->phase == 3) return 0;
    if (r->cont)
        return mf_gsr_fail(r, "%s before the rest of the edges of object %" PRIu64, what,
                           r->edge_next);
    if (r->edge_next != r->addr.n)
        return mf_gsr_fail(r,
                           "%s before the edges of every object (edges cover %" PRIu64 " of %zu "
                           "objects)",
                           what, r->edge_next, r->addr.n);
    r->phase = 3;
    return 0;
}

static int on_root(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (mf_gsr_enter_rest(r, "a root")) return -1;
    fld f = {0};
    int k;
    mf_gs_root rt = {0};
    uint64_t name = 0, file = 0, fn = 0, sym = 0, mod = 0, var = 0;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "Root")) > 0) {
        if (f.num < 1 || f.num > 14) continue;
        if (mf_gsr_want_v(r, &f, "Root")) return -1;
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
        case 11:
            rt.frame_offset = f.v;
            break;
        case 12:
            mod = f.v;
            break;
        case 13:
            rt.tls_offset = f.v;
            break;
        case 14:
            var = f.v;
            break;
        }
    }
    if (k < 0 || check_str(r, name, "root") || check_str(r, file, "root") ||
        check_str(r, fn, "root") || check_str(r, mod, "root") || check_str(r, var, "root"))
        return -1;
    if (!mod) rt.tls_offset = var = 0; /* an offset in no module's block */
    if (sym > r->symbols.n)
        return mf_gsr_fail(r, "root refers to symbol %" PRIu64 ", but the table has %zu", sym - 1,
                           r->symbols.n);
    rt.symbol = (uint32_t)sym;
    rt.name = r->strings.v[name];
    rt.file = r->strings.v[file];
    rt.function = r->strings.v[fn];
    rt.tls_module = r->strings.v[mod];
    rt.tls_variable = r->strings.v[var];
    if (mf_gsr_resolve(r, rt.target, &rt.target, "%s root %s", mf_gs_root_kind_name(rt.kind),
                       rt.name))
        return -1;
    r->seen.roots++;
    if (r->cb && r->cb->on_root && r->cb->on_root(r->cb->ud, r, &rt, r->err)) return -1;
    return 0;
}

/* Whether object obj, the one holding address a, starts at a. With the
 * rank index the answer is in the line the lookup of a just read: a map's
 * header and bucket arrays are checked so, on a heap of millions of small
 * maps, without a cache miss into the object columns for each. */
static bool object_starts(const mf_gs_reader *r, uint64_t obj, uint64_t a)
{
    if (r->rank.lines) return mf_addr_rank_starts(&r->rank, a);
    return r->addr.v[obj] == a;
}

/* Whether object obj, which starts at a, is at least `bytes` bytes long
 * (bytes >= 1): with the rank index, whether its last byte lies in obj,
 * most often a granule of the same line as a's. */
static bool object_holds(const mf_gs_reader *r, uint64_t obj, uint64_t a, uint64_t bytes)
{
    assert(bytes >= 1);
    if (r->rank.lines)
        return bytes - 1 <= UINT64_MAX - a && mf_addr_rank_find(&r->rank, a + bytes - 1) == obj;
    return bytes <= r->size.v[obj];
}

/* A bucket array must be what the map's header says: an object starting at
 * the pointer, large enough for its n buckets of bucket_size bytes. (The
 * allocator may round the object up, never down.) */
static int check_array(mf_gs_reader *r, uint64_t mi, const char *what, uint64_t addr, uint64_t obj,
                       uint64_t n, uint64_t bucket_size)
{
    uint64_t bytes;
    if (!object_starts(r, obj, addr))
        return mf_gsr_fail(r, "map %" PRIu64 ": its %s 0x%" PRIx64 " is not the start of an object",
                           mi, what, addr);
    if (bucket_size == 0 || __builtin_mul_overflow(n, bucket_size, &bytes) ||
        !object_holds(r, obj, addr, bytes))
        return mf_gsr_fail(r,
                           "map %" PRIu64 ": its %s of %" PRIu64 " buckets of %" PRIu64
                           " bytes does not fit its object of %" PRIu64 " bytes",
                           mi, what, n, bucket_size, r->size.v[obj]);
    return 0;
}

static int on_map(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (mf_gsr_enter_rest(r, "a map")) return -1;
    fld f = {0};
    int k;
    mf_gs_map m = {0};
    uint64_t tn = 0;
    m.index = r->maps.n;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "Map")) > 0) {
        if (f.num < 1 || f.num > 21) continue;
        if (mf_gsr_want_v(r, &f, "Map")) return -1;
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
        return mf_gsr_fail(r, "map %" PRIu64 ": unknown key kind %u", mi, m.key_kind);
    if (m.key_type > r->types.n || m.value_type > r->types.n)
        return mf_gsr_fail(r, "map %" PRIu64 ": key or value type not defined", mi);
    if (m.B > 56) return mf_gsr_fail(r, "map %" PRIu64 ": B = %u is impossible", mi, m.B);
    if (mf_gsr_resolve(r, m.address, &m.object, "map %" PRIu64 " header", mi)) return -1;
    if (!object_starts(r, m.object, m.address))
        return mf_gsr_fail(r, "map %" PRIu64 ": header 0x%" PRIx64 " is not the start of an object",
                           mi, m.address);
    m.buckets_obj = m.oldbuckets_obj = MF_GS_NONE;
    if (m.buckets && mf_gsr_resolve(r, m.buckets, &m.buckets_obj, "map %" PRIu64 " buckets", mi))
        return -1;
    if (m.buckets && check_array(r, mi, "bucket array", m.buckets, m.buckets_obj,
                                 (uint64_t)1 << m.B, m.bucket_size))
        return -1;
    if (m.oldbuckets) {
        if (mf_gsr_resolve(r, m.oldbuckets, &m.oldbuckets_obj, "map %" PRIu64 " old buckets", mi))
            return -1;
        uint64_t nb = (uint64_t)1 << m.B;
        if (m.B == 0 || (m.noldbuckets != nb && m.noldbuckets != nb / 2))
            return mf_gsr_fail(r, "map %" PRIu64 ": %" PRIu64 " old buckets with B = %u", mi,
                               m.noldbuckets, m.B);
        if (check_array(r, mi, "old bucket array", m.oldbuckets, m.oldbuckets_obj, m.noldbuckets,
                        m.bucket_size))
            return -1;
        if (m.nevacuate > m.noldbuckets)
            return mf_gsr_fail(r,
                               "map %" PRIu64 ": evacuation progress %" PRIu64
                               " beyond its %" PRIu64 " old buckets",
                               mi, m.nevacuate, m.noldbuckets);
    } else if (m.noldbuckets) {
        return mf_gsr_fail(r, "map %" PRIu64 ": %" PRIu64 " old buckets but no old bucket array",
                           mi, m.noldbuckets);
    }
    bool ok = true;
    /* the old buckets are none, or half or all of 2^B (checked above) */
    uint8_t old_buckets = !m.oldbuckets ? 0 : m.noldbuckets == (uint64_t)1 << m.B ? 2 : 1;
    mf_gsr_map kept = {.address = m.address,
                       .buckets = m.buckets,
                       .oldbuckets = m.oldbuckets,
                       .bucket_size = m.bucket_size,
                       .nbuckets_walked = m.nbuckets_walked,
                       .nentries = m.nentries,
                       .type_name = m.type_name,
                       .B = (uint8_t)m.B,
                       .key_kind = (uint8_t)m.key_kind,
                       .old_buckets = old_buckets};
    assert(mf_gsr_noldbuckets(&kept) == m.noldbuckets);
    VEC_PUSH(r->maps, kept, ok);
    if (!ok) return mf_gsr_oom(r);
    mf_gsr_maps_changed(r);
    if (m.nbuckets_walked || m.nentries) r->maps_listing++;
    if (m.count != m.nentries && r->count_bad_map == UINT64_MAX) {
        r->count_bad_map = mi;
        r->count_bad = m.count;
    }
    if (r->cb && r->cb->on_map && r->cb->on_map(r->cb->ud, r, &m, r->err)) return -1;
    return 0;
}

static int on_samples(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (mf_gsr_enter_rest(r, "a sample batch")) return -1;
    fld f = {0};
    int k;
    r->s.c[0].n = r->s.c[1].n = 0;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "SampleBatch")) > 0)
        if ((f.num == 1 || f.num == 2) && mf_gsr_get_col(r, &f, &r->s.c[f.num - 1], "SampleBatch"))
            return -1;
    if (k < 0) return -1;
    size_t n = r->s.c[0].n;
    if (r->s.c[1].n != n) return mf_gsr_fail(r, "sample batch columns differ in length");
    uint32_t *stacks = (uint32_t *)r->s.c[1].v; /* narrowed in place */
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t a = prev + (uint64_t)mf_unzigzag(r->s.c[0].v[i]), st = r->s.c[1].v[i];
        prev = a;
        if (mf_gsr_resolve(r, a, &r->s.c[0].v[i], "sample %zu", i)) return -1;
        if (st >= nstacks(r))
            return mf_gsr_fail(
                r, "sample of object 0x%" PRIx64 " has stack %" PRIu64 ", but the table has %zu", a,
                st, nstacks(r));
        stacks[i] = (uint32_t)st;
    }
    r->seen.samples += n;
    if (r->cb && r->cb->on_samples &&
        r->cb->on_samples(r->cb->ud, r, n, r->s.c[0].v, stacks, r->err))
        return -1;
    return 0;
}

/* The CRC-32 of the content from where the reader began up to the footer
 * record (which starts at win[win_pos]), from the input's CRC of all it
 * handed out: the window's bytes from the footer on are taken off the end,
 * the bytes before the reader began off the front. */
static uint32_t crc_before_footer(const mf_gs_reader *r)
{
    size_t tail = r->win_len - r->win_pos;
    uint64_t footer_off = mf_in_offset(r->in) - tail;
    uint32_t upto =
        mf_crc32_uncombine(mf_in_crc(r->in), mf_crc32(0, r->win + r->win_pos, tail), tail);
    return upto ^ (uint32_t)crc32_combine(r->crc_base, 0, (z_off_t)(footer_off - r->crc_base_off));
}

static int on_footer(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (mf_gsr_enter_rest(r, "the footer")) return -1;
    fld f = {0};
    int k;
    mf_gs_footer *t = &r->footer;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "Footer")) > 0) {
        if (f.num < 1 || f.num > 14) continue;
        if (mf_gsr_want_v(r, &f, "Footer")) return -1;
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
            return mf_gsr_fail(r, "footer counts %" PRIu64 " %s, but the file holds %" PRIu64,
                               want[i], names[i], got[i]);
    if (r->in_crc) r->crc = crc_before_footer(r);
    if (t->crc32 != r->crc)
        return mf_gsr_fail(r,
                           "checksum mismatch (footer CRC-32 %08x, content %08x): the file is "
                           "corrupt or spliced",
                           t->crc32, r->crc);
    /* the maps in order, the first wrong one named: the maps before the
     * first whose count is wrong (count_bad_map) have theirs right; none
     * is wrong when every map has its batches and no count is wrong */
    bool some_wrong = r->maps_full != r->maps_listing || r->count_bad_map != UINT64_MAX;
    for (size_t i = 0; some_wrong && i < r->maps.n; i++) {
        const mf_gsr_map *m = &r->maps.v[i];
        if (m->buckets_seen != m->nbuckets_walked || m->entries_seen != m->nentries)
            return mf_gsr_fail(r,
                               "map %zu (%s at 0x%" PRIx64 "): %" PRIu64 " buckets and %" PRIu64
                               " entries listed, its Map record says %" PRIu64 " and %" PRIu64,
                               i, m->type_name, m->address, m->buckets_seen, m->entries_seen,
                               m->nbuckets_walked, m->nentries);
        if (i == r->count_bad_map)
            return mf_gsr_fail(r,
                               "map %zu (%s at 0x%" PRIx64 "): its header counts %" PRIu64
                               " entries but its buckets hold %" PRIu64,
                               i, m->type_name, m->address, r->count_bad, m->nentries);
    }
    r->phase = 4;
    if (r->cb && r->cb->on_footer && r->cb->on_footer(r->cb->ud, r, t, r->err)) return -1;
    return 0;
}

/* ----------------------------------------------------------- driver --- */

void mf_gs_reader_free(mf_gs_reader *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->strings.n; i++) free(r->strings.v[i]);
    free(r->strings.v);
    for (size_t i = 0; i < r->types.n; i++) free((void *)r->types.v[i].ptr_offsets);
    free(r->types.v);
    free(r->symbols.v);
    free(r->stack_data.v);
    free(r->stack_start.v);
    free(r->maps.v);
    mf_gsr_objects_done(r);
    free(r->addr.v);
    free(r->size.v);
    free(r->type.v);
    free(r->pg_first);
    mf_gsr_pool_stop(r);
    mf_addr_rank_free(&r->rank);
    mf_gsr_scratch_free(&r->s);
    free(r->win);
    free(r->h_program);
    free(r->h_build_id);
    free(r->h_writer);
    free((void *)r->name);
    free(r);
}

/* Reads records until the footer and the end of the content. */
static int rloop_records(mf_gs_reader *r)
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
        if (r->phase == 4) return mf_gsr_fail(r, "data after the footer");
        const uint8_t *p = r->win + r->win_pos, *pend = p + avail;
        uint64_t len;
        const uint8_t *body = mf_get_varint(p, pend, &len);
        if (!body) {
            if ((size_t)avail < MF_VARINT_MAX)
                return mf_gsr_fail(r, "truncated record length (the content ends; missing footer)");
            return mf_gsr_fail(r, "bad record length");
        }
        size_t hl = (size_t)(body - p);
        if (len > MF_GS_MAX_RECORD)
            return mf_gsr_fail(r, "record length %" PRIu64 " is beyond the limit (corrupt file?)",
                               len);
        avail = rfill(r, hl + (size_t)len);
        if (avail < 0) return -1;
        if ((size_t)avail < hl + len)
            return mf_gsr_fail(r,
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
        while ((k = mf_gsr_next_fld(r, &q, end, &f, "Record")) > 0) {
            if (f.wt != MF_WT_LEN) continue;
            bool known =
                (f.num >= MF_GS_R_HEADER && f.num <= MF_GS_R_SAMPLES) || f.num == MF_GS_R_FOOTER;
            if (!known) continue;
            if (kind)
                return mf_gsr_fail(r, "record holds two kinds (fields %u and %u)", kind, f.num);
            kind = f.num;
            kp = f.p;
            ke = f.p + f.len;
        }
        if (k < 0) return -1;
        if (r->phase == 0 && kind != MF_GS_R_HEADER)
            return mf_gsr_fail(r, "not a gcstack snapshot (the first record is not a header)");
        if (kind == MF_GS_R_HEADER && r->phase != 0) return mf_gsr_fail(r, "a second header");
        if (kind != MF_GS_R_FOOTER && !r->in_crc) r->crc = mf_crc32(r->crc, p, hl + (size_t)len);
        /* these call back or add a map: the batches before them first */
        if ((kind == MF_GS_R_ROOT || kind == MF_GS_R_MAP || kind == MF_GS_R_SAMPLES ||
             kind == MF_GS_R_FOOTER) &&
            mf_gsr_barrier(r))
            return -1;
        int rc = 0;
        switch (kind) {
        case MF_GS_R_HEADER:
            rc = on_header(r, kp, ke);
            r->phase = 1;
            if (!rc && r->cb && r->cb->on_header)
                rc = r->cb->on_header(r->cb->ud, r, &r->header, r->err);
            break;
        case MF_GS_R_STRINGS:
            rc = on_strings(r, kp, ke);
            break;
        case MF_GS_R_TYPE:
            rc = on_type(r, kp, ke);
            break;
        case MF_GS_R_SYMBOL:
            rc = on_symbol(r, kp, ke);
            break;
        case MF_GS_R_STACK:
            rc = on_stack(r, kp, ke);
            break;
        case MF_GS_R_OBJECTS:
            rc = on_objects(r, kp, ke);
            break;
        case MF_GS_R_EDGES:
            rc = mf_gsr_edges(r, kp, ke);
            break;
        case MF_GS_R_ROOT:
            rc = on_root(r, kp, ke);
            break;
        case MF_GS_R_MAP:
            rc = on_map(r, kp, ke);
            break;
        case MF_GS_R_BUCKETS:
            rc = mf_gsr_buckets(r, kp, ke);
            break;
        case MF_GS_R_SAMPLES:
            rc = on_samples(r, kp, ke);
            break;
        case MF_GS_R_FOOTER:
            rc = on_footer(r, kp, ke);
            break;
        default:
            break; /* a record kind of a newer writer */
        }
        if (rc) return -1;
        r->win_pos += hl + (size_t)len;
    }
}

/* The records, then the batches still being decoded: a failure among them
 * comes before any the reading thread met later in the file. */
static int rloop(mf_gs_reader *r)
{
    int rc = rloop_records(r);
    mf_gsr_objects_done(r);
    if (mf_gsr_barrier(r)) rc = -1;
    mf_gsr_pool_stop(r);
    return rc;
}

int mf_gs_read(const char *path, const mf_gs_callbacks *cb, mf_gs_reader **out, mf_error *err)
{
    if (out) *out = NULL;
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    int rc = mf_gs_read_in(in, cb, out, err);
    mf_in_close(in);
    return rc;
}

int mf_gs_read_in(mf_in *in, const mf_gs_callbacks *cb, mf_gs_reader **out, mf_error *err)
{
    if (out) *out = NULL;
    const char *path = mf_in_name(in);
    mf_gs_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(path))) {
        free(r);
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    r->err = err;
    r->cb = cb;
    r->in = in;
    r->count_bad_map = UINT64_MAX;
    if ((r->in_crc = mf_in_track_crc(in))) {
        r->crc_base = mf_in_crc(in);
        r->crc_base_off = mf_in_offset(in);
    }
    bool ok = true;
    char *empty = strdup("");
    if (empty) VEC_PUSH(r->strings, empty, ok);
    if (!empty || !ok) {
        free(empty);
        mf_gsr_oom(r);
        mf_gs_reader_free(r);
        return -1;
    }
    int rc = rloop(r);
    r->cb = NULL;
    r->err = NULL;
    r->in = NULL;
    if (rc || !out) {
        mf_gs_reader_free(r);
        return rc ? -1 : 0;
    }
    free(r->win);
    r->win = NULL;
    *out = r;
    return 0;
}

bool mf_gs_sniff_bytes(const uint8_t *p, size_t n)
{
    /* The header's magic field comes first in every file this writer makes
     * (after the record's length and key bytes), but a header with fields
     * in another order is found too as long as the magic is near the start. */
    const size_t ml = strlen(MF_GS_MAGIC);
    for (size_t i = 0; i + ml <= n && i < 16; i++)
        if (memcmp(p + i, MF_GS_MAGIC, ml) == 0) return true;
    return false;
}

int mf_gs_sniff(const char *path, mf_error *err)
{
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    const uint8_t *p;
    size_t n;
    int rc = mf_in_peek(in, MF_GS_SNIFF_BYTES, &p, &n, err) ? -1 : mf_gs_sniff_bytes(p, n);
    mf_in_close(in);
    return rc;
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
    mf_gsr_objects_done(r);
    size_t n = r->addr.n;
    *addr = r->addr.v;
    *size = r->size.v;
    *type = r->type.v;
    r->addr = (vec64){0};
    r->size = (vec64){0};
    r->type = (vec32){0};
    free(r->pg_first); /* the indexes of the objects just given away */
    r->pg_first = NULL;
    r->pg_n = 0;
    mf_addr_rank_free(&r->rank);
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
    /* every stack may be empty: then there is no frame array at all */
    return r->stack_data.v ? r->stack_data.v + r->stack_start.v[i] : NULL;
}
size_t mf_gs_nmaps(const mf_gs_reader *r)
{
    return r->maps.n;
}
void mf_gsr_map_view(const mf_gsr_map *k, uint64_t mi, mf_gs_map *out)
{
    *out = (mf_gs_map){.index = mi,
                       .address = k->address,
                       .type_name = k->type_name,
                       .key_kind = k->key_kind,
                       .B = k->B,
                       .buckets = k->buckets,
                       .oldbuckets = k->oldbuckets,
                       .noldbuckets = mf_gsr_noldbuckets(k),
                       .bucket_size = k->bucket_size,
                       .nbuckets_walked = k->nbuckets_walked,
                       .nentries = k->nentries,
                       .object = MF_GS_NONE,
                       .buckets_obj = MF_GS_NONE,
                       .oldbuckets_obj = MF_GS_NONE};
}
