/* src/format/gcstack_reader.c -- see gcstack_reader.h and proto/gcstack.proto. */
#include "format/gcstack_reader.h"

#include "format/wire.h"

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
    mf_in *in;
    bool done;
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
    /* the last EdgeBatch continues object edge_next (EdgeBatch.continues):
     * its edges so far end at offset cont_off1 - 1 (0: it has none yet) */
    bool cont;
    uint64_t cont_off1;
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
        ssize_t k = mf_in_read(r->in, r->win + r->win_len, r->win_cap - r->win_len, r->err);
        if (k < 0) return -1;
        if (k == 0) r->done = true;
        r->win_len += (size_t)k;
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
    fld f = {0};
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
            fld g = {0};
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
    fld f = {0};
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
    fld f = {0};
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
    fld f = {0};
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
    fld f = {0};
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
    fld f = {0};
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
    fld f = {0};
    int k;
    uint64_t first = 0;
    bool continues = false;
    for (int i = 0; i < 3; i++) r->c[i].n = 0;
    while ((k = next_fld(r, &p, end, &f, "EdgeBatch")) > 0) {
        if (f.num == 1 || f.num == 5) {
            if (want_v(r, &f, "EdgeBatch")) return -1;
            if (f.num == 1)
                first = f.v;
            else
                continues = f.v != 0;
        } else if (f.num >= 2 && f.num <= 4) {
            if (get_col(r, &f, &r->c[f.num - 2], "EdgeBatch")) return -1;
        }
    }
    if (k < 0) return -1;
    size_t n = r->c[0].n, ne = r->c[1].n;
    if (first != r->edge_next)
        return rfail(r, "edges start at object %" PRIu64 ", expected object %" PRIu64 "%s", first,
                     r->edge_next, r->cont ? " (whose edges the last batch left unfinished)" : "");
    if (continues && n == 0) return rfail(r, "an empty edge batch continues");
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
        /* the rest of an object the last batch left unfinished: its offsets
         * go on from where that batch's ended */
        bool cont = i == 0 && r->cont;
        for (uint64_t j = 0; j < cnt; j++, e++) {
            uint64_t off = r->c[1].v[e];
            /* version 2: each offset after an object's first in the batch is
             * an increment (made absolute here, for the callback), targets
             * are granules */
            if (v2 && j && __builtin_add_overflow(r->c[1].v[e - 1], off, &off)) off = UINT64_MAX;
            if (v2) r->c[1].v[e] = off;
            if (off >= r->size.v[obj] || (j && off <= r->c[1].v[e - 1]) ||
                (!j && cont && off < r->cont_off1))
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
    r->edge_next += n - continues;
    if (!continues)
        r->cont_off1 = 0;
    else if (counts[n - 1])
        r->cont_off1 = r->c[1].v[ne - 1] + 1; /* < the object's size: no overflow */
    else if (n > 1 || !r->cont)
        r->cont_off1 = 0; /* a new object, with no edges yet */
    r->cont = continues;
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
    if (r->cont)
        return rfail(r, "%s before the rest of the edges of object %" PRIu64, what, r->edge_next);
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
    fld f = {0};
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

/* A bucket array must be what the map's header says: an object starting at
 * the pointer, large enough for its n buckets of bucket_size bytes. (The
 * allocator may round the object up, never down.) */
static int check_array(mf_gs_reader *r, uint64_t mi, const char *what, uint64_t addr, uint64_t obj,
                       uint64_t n, uint64_t bucket_size)
{
    uint64_t bytes;
    if (r->addr.v[obj] != addr)
        return rfail(r, "map %" PRIu64 ": its %s 0x%" PRIx64 " is not the start of an object", mi,
                     what, addr);
    if (bucket_size == 0 || __builtin_mul_overflow(n, bucket_size, &bytes) ||
        bytes > r->size.v[obj])
        return rfail(r,
                     "map %" PRIu64 ": its %s of %" PRIu64 " buckets of %" PRIu64
                     " bytes does not fit its object of %" PRIu64 " bytes",
                     mi, what, n, bucket_size, r->size.v[obj]);
    return 0;
}

static int on_map(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r_enter_rest(r, "a map")) return -1;
    fld f = {0};
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
    if (m.buckets && check_array(r, mi, "bucket array", m.buckets, m.buckets_obj,
                                 (uint64_t)1 << m.B, m.bucket_size))
        return -1;
    if (m.oldbuckets) {
        if (resolve(r, m.oldbuckets, &m.oldbuckets_obj, "map %" PRIu64 " old buckets", mi))
            return -1;
        uint64_t nb = (uint64_t)1 << m.B;
        if (m.B == 0 || (m.noldbuckets != nb && m.noldbuckets != nb / 2))
            return rfail(r, "map %" PRIu64 ": %" PRIu64 " old buckets with B = %u", mi,
                         m.noldbuckets, m.B);
        if (check_array(r, mi, "old bucket array", m.oldbuckets, m.oldbuckets_obj, m.noldbuckets,
                        m.bucket_size))
            return -1;
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
    fld f = {0};
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
    fld f = {0};
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
    fld f = {0};
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
    free(r->win);
    free(r->h_program);
    free(r->h_build_id);
    free(r->h_writer);
    free((void *)r->name);
    free(r);
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
        if (len > MF_GS_MAX_RECORD)
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
            bool known =
                (f.num >= MF_GS_R_HEADER && f.num <= MF_GS_R_SAMPLES) || f.num == MF_GS_R_FOOTER;
            if (!known) continue;
            if (kind) return rfail(r, "record holds two kinds (fields %u and %u)", kind, f.num);
            kind = f.num;
            kp = f.p;
            ke = f.p + f.len;
        }
        if (k < 0) return -1;
        if (r->phase == 0 && kind != MF_GS_R_HEADER)
            return rfail(r, "not a gcstack snapshot (the first record is not a header)");
        if (kind == MF_GS_R_HEADER && r->phase != 0) return rfail(r, "a second header");
        if (kind != MF_GS_R_FOOTER) r->crc = (uint32_t)crc32(r->crc, p, (uInt)(hl + len));
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
            rc = on_edges(r, kp, ke);
            break;
        case MF_GS_R_ROOT:
            rc = on_root(r, kp, ke);
            break;
        case MF_GS_R_MAP:
            rc = on_map(r, kp, ke);
            break;
        case MF_GS_R_BUCKETS:
            rc = on_buckets(r, kp, ke);
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
    bool ok = true;
    char *empty = strdup("");
    if (empty) VEC_PUSH(r->strings, empty, ok);
    if (!empty || !ok) {
        free(empty);
        oom(r);
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
    /* every stack may be empty: then there is no frame array at all */
    return r->stack_data.v ? r->stack_data.v + r->stack_start.v[i] : NULL;
}
size_t mf_gs_nmaps(const mf_gs_reader *r)
{
    return r->maps.n;
}
const mf_gs_map *mf_gs_map_at(const mf_gs_reader *r, uint64_t i)
{
    return &r->maps.v[i];
}
