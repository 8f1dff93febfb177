/*
 * src/format/gcstack_batches.c -- the edge and bucket batches of the gcstack
 * reader (see gcstack_reader.h), decoded on several threads.
 *
 * Most of a snapshot is EdgeBatch and BucketBatch records, and most of the
 * time to read one goes to decoding them and resolving their pointers to
 * objects: work that needs nothing but the record and the objects, which
 * are complete before the first of them. So the reader thread frames the
 * records and hands these two kinds to decoding threads (the reader thread
 * decodes too, while it waits for room); each batch is then committed --
 * checked against the batches before it, its callback made -- in file
 * order, by whichever thread finishes it. Every other record waits, before
 * its own callback, until the batches before it are committed (Map records
 * too: bucket batches read the maps). A failure stops everything and the
 * first one in file order is reported, as reading on one thread would.
 *
 * Threads: r->pool's mutex guards the jobs and the commits; decoding
 * touches only its job's scratch and reads the objects and maps. Between
 * a barrier and the next hand-over nothing is in flight: the commits'
 * state is then the reader's own (r->pool_idle), and a heap of millions
 * of tiny maps -- a barrier at every Map record, a small batch after it --
 * is read without taking the lock at all.
 */
#include "format/gcstack_reader_int.h"
#include "format/prefault.h"

#include "format/wire.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The page index (see mf_gsr_index_objects), when it has the memory. */
static void page_index(mf_gs_reader *r)
{
    size_t n = r->addr.n;
    uint64_t base = r->addr.v[0], end = r->addr.v[n - 1] + r->size.v[n - 1];
    if (end <= base) return;
    uint64_t span = end - base;
    unsigned shift = 3;
    while (shift < 63 && (span >> shift) > 2 * (uint64_t)n) shift++;
    size_t np = (size_t)(span >> shift) + 1;
    uint32_t *pf = malloc((np + 1) * sizeof *pf);
    if (!pf) return;
    /* its fresh pages are faulted in from both ends at once: the far half
     * on another thread (prefault.h), while this one fills it in order */
    mf_prefault *ahead = NULL;
    if (r->cb && r->cb->threads > 1 && np >= ((size_t)1 << 21)) {
        void *half = pf + (np + 1) / 2;
        size_t elem = sizeof *pf;
        if ((ahead = mf_prefault_start(&half, &elem, 1, np + 1 - (np + 1) / 2)))
            mf_prefault_upto(ahead, np + 1 - (np + 1) / 2);
    }
    size_t i = 0;
    for (size_t pg = 0; pg <= np; pg++) {
        uint64_t start = base + ((uint64_t)pg << shift);
        while (i < n && r->addr.v[i] < start) i++;
        pf[pg] = (uint32_t)i;
    }
    mf_prefault_stop(ahead);
    r->pg_first = pf;
    r->pg_n = np;
    r->pg_base = base;
    r->pg_end = end;
    r->pg_shift = shift;
}

/*
 * Resolving a pointer by binary search over millions of addresses costs
 * ~20 cache misses, and the reader resolves every edge target: most of its
 * time went there. Once the objects are complete (they never change after
 * the object section) they are indexed. The rank index (addr_rank.h) finds
 * a pointer's object with one cache line read. Where it does not fit (a
 * heap spread thin, odd addresses), a page index narrows each search to
 * the objects of one page: the span of the heap is cut into at most ~2
 * pages per object (pages of at least one granule), so a page holds a few
 * objects where the heap is dense; 4 bytes per page. Without memory for
 * either, the plain binary search is used.
 */
void mf_gsr_index_objects(mf_gs_reader *r)
{
    mf_gsr_objects_done(r);
    size_t n = r->addr.n;
    if (r->rank.lines || r->pg_first || n == 0 || n >= UINT32_MAX) return;
    if (mf_addr_rank_build(&r->rank, r->addr.v, r->size.v, n)) return;
    page_index(r);
}

/* Resolves a pointer value to an object index, or fails naming what. */
int mf_gsr_resolve(mf_gs_reader *r, uint64_t ptr, uint64_t *out, const char *fmt, ...)
{
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
    return mf_gsr_fail(r, "%s points to 0x%" PRIx64 ", which is in no object", what, ptr);
}

/*
 * Resolves n pointer values in place to object indices; returns n, or the
 * index of the first value that lies in no object (values before it are
 * resolved, it and the rest are left as they were).
 *
 * Why batches: edge targets are scattered, so each lookup misses the
 * cache, and resolving edge after edge leaves the processor waiting on
 * memory most of the time. With the rank index a lookup reads one line,
 * asked for RESOLVE_AHEAD values early. With the page index it costs three
 * dependent misses (the page index, then the addresses and sizes of that
 * page): the work is split into stages over the whole batch, each
 * prefetching what a later element of the batch will need. Either way the
 * misses of many lookups are in flight at once. The answer is exactly what
 * mf_gs_find_object gives.
 */
#define RESOLVE_AHEAD 16

/* The rank index's loop of mf_gsr_resolve_many, compiled twice: a lookup
 * counts the bits of a word (format/bits.h), a dozen instructions without
 * a target that has the popcnt instruction (the default x86-64 build) and
 * one with it. */
static inline __attribute__((always_inline)) size_t rank_resolve(const mf_addr_rank *x,
                                                                 uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i + RESOLVE_AHEAD < n) mf_addr_rank_prefetch(x, v[i + RESOLVE_AHEAD]);
        uint64_t o = mf_addr_rank_find(x, v[i]);
        if (o == MF_GS_NONE) return i;
        v[i] = o;
    }
    return n;
}

static size_t rank_resolve_plain(const mf_addr_rank *x, uint64_t *v, size_t n)
{
    return rank_resolve(x, v, n);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("popcnt"))) static size_t rank_resolve_popcnt(const mf_addr_rank *x,
                                                                     uint64_t *v, size_t n)
{
    return rank_resolve(x, v, n);
}

/* Decided once: reading it races only with itself, to the same answer. */
static bool have_popcnt(void)
{
    static int known; /* 0 unknown, 1 no, 2 yes */
    int k = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (!k) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("popcnt") ? 2 : 1;
        __atomic_store_n(&known, k, __ATOMIC_RELAXED);
    }
    return k == 2;
}
#else
static size_t rank_resolve_popcnt(const mf_addr_rank *x, uint64_t *v, size_t n)
{
    return rank_resolve(x, v, n);
}
static bool have_popcnt(void)
{
    return false;
}
#endif

static size_t mf_gsr_resolve_many(mf_gs_reader *r, uint64_t *v, size_t n)
{
    if (r->rank.lines)
        return have_popcnt() ? rank_resolve_popcnt(&r->rank, v, n)
                             : rank_resolve_plain(&r->rank, v, n);
    if (!r->pg_first || r->s.c[12].cap < n) {
        uint64_t *q =
            r->pg_first && n <= SIZE_MAX / 8 ? realloc(r->s.c[12].v, n * sizeof *q) : NULL;
        if (!q) { /* no page index or no memory: one at a time */
            for (size_t i = 0; i < n; i++) {
                uint64_t x = mf_gs_find_object(r, v[i]);
                if (x == MF_GS_NONE) return i;
                v[i] = x;
            }
            return n;
        }
        r->s.c[12].v = q;
        r->s.c[12].cap = n;
    }
    const uint32_t *pf = r->pg_first;
    const uint64_t *addr = r->addr.v, *size = r->size.v;
    uint64_t base = r->pg_base, lim = r->pg_end;
    unsigned shift = r->pg_shift;
    size_t nobj = r->addr.n;
    uint64_t *span = r->s.c[12].v; /* per value: lo | hi << 32, the search range */
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
        size_t first = (uint32_t)s, lo = mf_gsr_upper(addr, first, (size_t)(s >> 32), a);
        /* lo is the first candidate above a; when it is the range's first
         * the object before it starts after a too (the index says so) */
        if (lo == first) return i;
        lo--;
        if (a - addr[lo] >= size[lo]) return i;
        v[i] = lo;
    }
    return n;
}

/* A decoded EdgeBatch, waiting for its turn. */
typedef struct edge_batch {
    uint64_t first;
    size_t n, ne;
    bool continues;
    uint32_t *counts; /* in the scratch */
    uint64_t *offsets, *targets;
} edge_batch;

/* Decodes an EdgeBatch: columns, offsets made absolute and checked against
 * the objects' sizes, targets resolved. What depends on the batches before
 * it (that it starts where they left off, that a continued object's
 * offsets go on increasing) is left to commit_edges. Touches nothing but
 * r->s (and reads the objects), so it may run on any thread. */
static int decode_edges(mf_gs_reader *r, const uint8_t *p, const uint8_t *end, edge_batch *b)
{
    fld f = {0};
    int k;
    uint64_t first = 0;
    bool continues = false;
    for (int i = 0; i < 3; i++) r->s.c[i].n = 0;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "EdgeBatch")) > 0) {
        if (f.num == 1 || f.num == 5) {
            if (mf_gsr_want_v(r, &f, "EdgeBatch")) return -1;
            if (f.num == 1)
                first = f.v;
            else
                continues = f.v != 0;
        } else if (f.num >= 2 && f.num <= 4) {
            if (mf_gsr_get_col(r, &f, &r->s.c[f.num - 2], "EdgeBatch")) return -1;
        }
    }
    if (k < 0) return -1;
    size_t n = r->s.c[0].n, ne = r->s.c[1].n;
    if (continues && n == 0) return mf_gsr_fail(r, "an empty edge batch continues");
    if (first > r->addr.n || n > r->addr.n - first)
        return mf_gsr_fail(r, "edges for objects %" PRIu64 "..%" PRIu64 ", but there are only %zu",
                           first, first + n - 1, r->addr.n);
    if (r->s.c[2].n != ne)
        return mf_gsr_fail(r, "edge batch: %zu offsets but %zu targets", ne, r->s.c[2].n);
    r->s.c[3].n = 0;
    if (n > r->s.c[3].cap) {
        uint64_t *v = realloc(r->s.c[3].v, n * sizeof *v);
        if (!v) return mf_gsr_oom(r);
        r->s.c[3].v = v;
        r->s.c[3].cap = n;
    }
    uint32_t *counts = (uint32_t *)r->s.c[3].v; /* n uint32s fit in n uint64s */
    size_t e = 0;
    bool v2 = r->header.version >= 2;
    uint64_t tunit = v2 ? r->header.address_granule : 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t obj = first + i, cnt = r->s.c[0].v[i];
        if (cnt > ne - e)
            return mf_gsr_fail(
                r, "object %" PRIu64 " has %" PRIu64 " edges, more than the batch holds", obj, cnt);
        counts[i] = (uint32_t)cnt;
        uint64_t a = r->addr.v[obj];
        for (uint64_t j = 0; j < cnt; j++, e++) {
            uint64_t off = r->s.c[1].v[e];
            /* version 2: each offset after an object's first in the batch is
             * an increment (made absolute here, for the callback), targets
             * are granules */
            if (v2 && j && __builtin_add_overflow(r->s.c[1].v[e - 1], off, &off)) off = UINT64_MAX;
            if (v2) r->s.c[1].v[e] = off;
            if (off >= r->size.v[obj] || (j && off <= r->s.c[1].v[e - 1]))
                return mf_gsr_fail(r,
                                   "edge %" PRIu64 " of object %" PRIu64 " (0x%" PRIx64
                                   "): offset %" PRIu64 " out of order or beyond its %" PRIu64
                                   " bytes",
                                   j, obj, a, off, r->size.v[obj]);
            r->s.c[2].v[e] = a + (uint64_t)mf_unzigzag(r->s.c[2].v[e]) * tunit;
        }
    }
    if (e != ne)
        return mf_gsr_fail(r, "edge batch holds %zu edges but its counts add up to %zu", ne, e);
    size_t bad = mf_gsr_resolve_many(r, r->s.c[2].v, ne);
    if (bad < ne) {
        /* name the edge: find its object and its index there */
        size_t i = 0, at = 0;
        while (at + counts[i] <= bad) at += counts[i++];
        uint64_t obj = first + i;
        uint64_t off = r->s.c[1].v[bad];
        uint64_t t = r->s.c[2].v[bad];
        return mf_gsr_resolve(r, t, &r->s.c[2].v[bad],
                              "edge at offset %" PRIu64 " of object %" PRIu64 " (0x%" PRIx64 ")",
                              off, obj, r->addr.v[obj]);
    }
    *b = (edge_batch){first, n, ne, continues, counts, r->s.c[1].v, r->s.c[2].v};
    return 0;
}

/* A decoded EdgeBatch in its turn: it must start where the last one left
 * off, a continued object's offsets must go on increasing; then the
 * callback. */
static int commit_edges(mf_gs_reader *r, const edge_batch *b)
{
    if (b->first != r->edge_next)
        return mf_gsr_fail(r, "edges start at object %" PRIu64 ", expected object %" PRIu64 "%s",
                           b->first, r->edge_next,
                           r->cont ? " (whose edges the last batch left unfinished)" : "");
    if (r->cont && b->n && b->counts[0] && b->offsets[0] < r->cont_off1)
        return mf_gsr_fail(r,
                           "edge 0 of object %" PRIu64 " (0x%" PRIx64 "): offset %" PRIu64
                           " out of order or beyond its %" PRIu64 " bytes",
                           b->first, r->addr.v[b->first], b->offsets[0], r->size.v[b->first]);
    size_t n = b->n, ne = b->ne;
    r->edge_next += n - b->continues;
    if (!b->continues)
        r->cont_off1 = 0;
    else if (b->counts[n - 1])
        r->cont_off1 = b->offsets[ne - 1] + 1; /* < the object's size: no overflow */
    else if (n > 1 || !r->cont)
        r->cont_off1 = 0; /* a new object, with no edges yet */
    r->cont = b->continues;
    r->seen.edges += ne;
    if (r->cb && r->cb->on_edges &&
        r->cb->on_edges(r->cb->ud, r, b->first, n, b->counts, ne, b->offsets, b->targets, r->err))
        return -1;
    return 0;
}

/* Room for n more bytes of rendered keys. */
static int keybuf_reserve(mf_gs_reader *r, size_t used, size_t n)
{
    if (r->s.keybuf_cap - used >= n) return 0;
    size_t cap = r->s.keybuf_cap ? r->s.keybuf_cap : 4096;
    while (cap - used < n) {
        if (cap > SIZE_MAX / 2) return mf_gsr_oom(r);
        cap *= 2;
    }
    char *p = realloc(r->s.keybuf, cap);
    if (!p) return mf_gsr_oom(r);
    r->s.keybuf = p;
    r->s.keybuf_cap = cap;
    return 0;
}

/* A decoded BucketBatch, waiting for its turn. */
typedef struct bucket_batch {
    uint64_t mi;
    size_t nb, ne;
    mf_gs_bucket *bk; /* in the scratch */
    mf_gs_entry *en;
} bucket_batch;

/* Decodes a BucketBatch: its map (maps are not added while batches are
 * decoded: the reader waits for them before a Map record), the geometry
 * of its buckets, its slots and keys, its pointers resolved. The counts
 * against the Map record are left to commit_buckets. Touches nothing but
 * r->s, so it may run on any thread. */
static int decode_buckets(mf_gs_reader *r, const uint8_t *p, const uint8_t *end, bucket_batch *out)
{
    fld f = {0};
    int k;
    uint64_t mi = 0;
    bool v2 = r->header.version >= 2;
    for (int i = 0; i < 10; i++) r->s.c[i].n = 0;
    r->s.texts.n = r->s.text_lens.n = 0;
    bool ok = true;
    while ((k = mf_gsr_next_fld(r, &p, end, &f, "BucketBatch")) > 0) {
        if (f.num == 1) {
            if (mf_gsr_want_v(r, &f, "BucketBatch")) return -1;
            mi = f.v;
        } else if (f.num == 9) {
            if (mf_gsr_want_len(r, &f, "BucketBatch")) return -1;
            VEC_PUSH(r->s.texts, f.p, ok);
            VEC_PUSH(r->s.text_lens, (uint32_t)(f.len > 4096 ? 4096 : f.len), ok);
            if (!ok) return mf_gsr_oom(r);
        } else if (f.num == 7 && v2) {
            /* version 2: tophash is bytes, one per slot */
            if (mf_gsr_want_len(r, &f, "BucketBatch")) return -1;
            vec64 *t = &r->s.c[5];
            if (t->cap - t->n < f.len) {
                size_t need = t->n + f.len;
                uint64_t *v = need <= SIZE_MAX / 8 ? realloc(t->v, need * sizeof *v) : NULL;
                if (!v) return mf_gsr_oom(r);
                t->v = v;
                t->cap = need;
            }
            for (size_t i = 0; i < f.len; i++) t->v[t->n++] = f.p[i];
        } else if (f.num >= 2 && f.num <= 11) {
            if (mf_gsr_get_col(r, &f, &r->s.c[f.num - 2], "BucketBatch")) return -1;
        }
    }
    if (k < 0) return -1;
    if (mi >= r->maps.n)
        return mf_gsr_fail(r, "bucket batch of map %" PRIu64 ", which is not defined", mi);
    const mf_gsr_map *m = &r->maps.v[mi];
    size_t nb = r->s.c[0].n;
    if (r->s.c[1].n != nb || r->s.c[2].n != nb || r->s.c[3].n != nb || r->s.c[4].n != nb)
        return mf_gsr_fail(r, "map %" PRIu64 ": bucket columns differ in length", mi);
    bool int_keys = m->key_kind == MF_GS_KEY_INT64 || m->key_kind == MF_GS_KEY_PTR;
    size_t ns = r->s.c[5].n, nkeys = int_keys ? r->s.c[6].n : r->s.texts.n;
    /* version 2 leaves out the key object column when no key has one */
    bool no_kobj = v2 && r->s.c[8].n == 0;
    if ((r->s.c[8].n != ns && !no_kobj) || r->s.c[9].n != ns || nkeys != ns)
        return mf_gsr_fail(r, "map %" PRIu64 ": slot columns differ in length", mi);
    r->s.bk.n = r->s.en.n = 0;
    if (nb > r->s.bk.cap) {
        mf_gs_bucket *b = realloc(r->s.bk.v, nb * sizeof *b);
        if (!b) return mf_gsr_oom(r);
        r->s.bk.v = b;
        r->s.bk.cap = nb;
    }
    if (ns > r->s.en.cap) {
        mf_gs_entry *e = realloc(r->s.en.v, ns * sizeof *e);
        if (!e) return mf_gsr_oom(r);
        r->s.en.v = e;
        r->s.en.cap = ns;
    }
    uint64_t prev = m->address, s = 0, prev_index = 0;
    size_t kb = 0;
    /* the pointers to resolve, all at once after the loop (resolve_many):
     * c[10] the addresses, c[11] what each is (index << 2 | 0 bucket,
     * 1 key, 2 value; entry index for the last two) */
    size_t nref = nb + 2 * ns;
    for (int j = 10; j < 12; j++) {
        if (r->s.c[j].cap < nref) {
            uint64_t *v = nref <= SIZE_MAX / 8 ? realloc(r->s.c[j].v, nref * sizeof *v) : NULL;
            if (!v) return mf_gsr_oom(r);
            r->s.c[j].v = v;
            r->s.c[j].cap = nref;
        }
        r->s.c[j].n = 0;
    }
    uint64_t *ref_addr = r->s.c[10].v, *ref_tag = r->s.c[11].v;
    size_t nr = 0;
    uint64_t nnew = (uint64_t)1 << m->B;
    /* version 2: bucket addresses and object references in granules,
     * bucket indices as increments */
    uint64_t unit = v2 ? r->header.address_granule : 1;
    for (size_t i = 0; i < nb; i++) {
        mf_gs_bucket *b = &r->s.bk.v[i];
        b->address = prev + (uint64_t)mf_unzigzag(r->s.c[0].v[i]) * unit;
        prev = b->address;
        b->old = r->s.c[1].v[i] != 0;
        b->index = v2 ? prev_index + (uint64_t)mf_unzigzag(r->s.c[2].v[i]) : r->s.c[2].v[i];
        prev_index = b->index;
        b->overflow = r->s.c[3].v[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)r->s.c[3].v[i];
        b->occupied = r->s.c[4].v[i] > 0xff ? 0x100 : (uint32_t)r->s.c[4].v[i];
        b->first_entry = (uint32_t)s;
        const char *arr = b->old ? "old bucket array" : "bucket array";
        uint64_t limit = b->old ? mf_gsr_noldbuckets(m) : nnew, base = b->old ? m->oldbuckets : m->buckets;
        if (b->occupied > 0xff)
            return mf_gsr_fail(r, "map %" PRIu64 ": bucket 0x%" PRIx64 " has bad slot bits", mi,
                               b->address);
        if (b->index >= limit)
            return mf_gsr_fail(r,
                               "map %" PRIu64 ": bucket index %" PRIu64
                               " outside its %s of %" PRIu64 " buckets",
                               mi, b->index, arr, limit);
        ref_addr[nr] = b->address;
        ref_tag[nr++] = (uint64_t)i << 2;
        uint64_t at;
        if (b->overflow == 0 && (!base || __builtin_mul_overflow(b->index, m->bucket_size, &at) ||
                                 __builtin_add_overflow(at, base, &at) || at != b->address))
            return mf_gsr_fail(r,
                               "map %" PRIu64 ": bucket[%" PRIu64 "] at 0x%" PRIx64
                               " is not where its %s 0x%" PRIx64 " puts it",
                               mi, b->index, b->address, arr, base);
        for (uint32_t slot = 0; slot < 8; slot++) {
            if (!(b->occupied >> slot & 1)) continue;
            if (s >= ns)
                return mf_gsr_fail(r, "map %" PRIu64 ": more occupied slots than entries", mi);
            mf_gs_entry *e = &r->s.en.v[s];
            e->bucket = (uint32_t)i;
            e->slot = (uint8_t)slot;
            if (r->s.c[5].v[s] > 0xff)
                return mf_gsr_fail(r, "map %" PRIu64 ": bad tophash %" PRIu64, mi, r->s.c[5].v[s]);
            e->tophash = (uint8_t)r->s.c[5].v[s];
            uint64_t refs[2] = {no_kobj ? 0 : r->s.c[8].v[s], r->s.c[9].v[s]};
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
            if (int_keys && r->cb && r->cb->raw_int_keys) {
                e->key_int = mf_unzigzag(r->s.c[6].v[s]);
                e->key_text = NULL;
                e->key_text_len = 0;
                s++;
                continue;
            }
            if (int_keys) {
                e->key_int = mf_unzigzag(r->s.c[6].v[s]);
                len = (size_t)(m->key_kind == MF_GS_KEY_INT64
                                   ? snprintf(tmp, sizeof tmp, "%" PRId64, e->key_int)
                                   : snprintf(tmp, sizeof tmp, "0x%" PRIx64, (uint64_t)e->key_int));
                src = (const uint8_t *)tmp;
            } else {
                e->key_int = 0;
                src = r->s.texts.v[s];
                len = r->s.text_lens.v[s];
            }
            if (keybuf_reserve(r, kb, len + 1)) return -1;
            if (len) memcpy(r->s.keybuf + kb, src, len);
            r->s.keybuf[kb + len] = 0;
            e->key_text = (const char *)(uintptr_t)kb;
            e->key_text_len = len;
            kb += len + 1;
            s++;
        }
    }
    if (s != ns)
        return mf_gsr_fail(r, "map %" PRIu64 ": %zu entries for %" PRIu64 " occupied slots", mi, ns,
                           s);
    size_t bad = mf_gsr_resolve_many(r, ref_addr, nr);
    for (size_t j = 0; j < nr; j++) {
        uint64_t tag = ref_tag[j], ix = tag >> 2;
        unsigned kind = (unsigned)(tag & 3);
        if (j == bad) { /* the error names the pointer */
            uint64_t dummy;
            if (kind == 0)
                return mf_gsr_resolve(r, ref_addr[j], &dummy, "map %" PRIu64 " bucket %" PRIu64, mi,
                                      r->s.bk.v[ix].index);
            const mf_gs_entry *e = &r->s.en.v[ix];
            return mf_gsr_resolve(r, ref_addr[j], &dummy,
                                  "map %" PRIu64 " bucket[%" PRIu64 "] slot %u %s", mi,
                                  r->s.bk.v[e->bucket].index, e->slot, kind == 2 ? "value" : "key");
        }
        if (kind == 0)
            r->s.bk.v[ix].object = ref_addr[j];
        else if (kind == 1)
            r->s.en.v[ix].key_object = ref_addr[j];
        else
            r->s.en.v[ix].value_object = ref_addr[j];
    }
    if (!(int_keys && r->cb && r->cb->raw_int_keys))
        for (size_t i = 0; i < ns; i++)
            r->s.en.v[i].key_text = r->s.keybuf + (size_t)(uintptr_t)r->s.en.v[i].key_text;
    *out = (bucket_batch){mi, nb, ns, r->s.bk.v, r->s.en.v};
    return 0;
}

/* A decoded BucketBatch in its turn: no more buckets or entries than its
 * Map record announces; then the callback. */
static int commit_buckets(mf_gs_reader *r, const bucket_batch *b)
{
    uint64_t mi = b->mi;
    mf_gsr_map *m = &r->maps.v[mi];
    if (b->nb > m->nbuckets_walked - m->buckets_seen || b->ne > m->nentries - m->entries_seen)
        return mf_gsr_fail(r,
                           "map %" PRIu64 ": more buckets or entries than its Map record announces "
                           "(%" PRIu64 " buckets, %" PRIu64 " entries)",
                           mi, m->nbuckets_walked, m->nentries);
    bool was_open = m->buckets_seen != m->nbuckets_walked || m->entries_seen != m->nentries;
    m->buckets_seen += b->nb;
    m->entries_seen += b->ne;
    if (was_open && m->buckets_seen == m->nbuckets_walked && m->entries_seen == m->nentries)
        r->maps_full++;
    r->seen.buckets += b->nb;
    r->seen.entries += b->ne;
    if (r->cb && r->cb->on_buckets) {
        mf_gs_map view;
        mf_gsr_map_view(m, mi, &view);
        if (r->cb->on_buckets(r->cb->ud, r, &view, b->bk, b->nb, b->en, b->ne, r->err)) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- threads --- */

/* A record handed to the decoding threads. */
typedef struct job {
    int state;     /* J_FREE, J_READY (to decode), J_BUSY, J_DONE */
    uint32_t kind; /* MF_GS_R_EDGES or MF_GS_R_BUCKETS */
    uint64_t recno, seq;
    uint8_t *buf; /* the record's message */
    size_t len, cap;
    mf_gsr_scratch s;
    int rc;
    mf_error err;
    edge_batch eb;
    bucket_batch bb;
} job;

enum { J_FREE, J_READY, J_BUSY, J_DONE };

/*
 * The threads never read the reader itself, which the reader thread goes
 * on changing: they read `tmpl`, a copy made when the threads start (and
 * brought up to date, lock held, when a Map record has added a map, no
 * batch being decoded then). What commits change -- where the edges are,
 * what was seen -- lives in the pool while the threads run and goes back
 * to the reader at each barrier.
 */
struct mf_gsr_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job became READY, or stop */
    pthread_cond_t done; /* a job was committed */
    job *jobs;
    size_t njobs;
    uint64_t next_seq, next_commit;
    bool stop, failed;
    mf_error err; /* the first failure, in file order */
    mf_gs_reader tmpl;
    /* the commits' state */
    uint64_t edge_next, cont_off1;
    bool cont;
    uint64_t seen_edges, seen_buckets, seen_entries, maps_full;
    pthread_t th[16];
    unsigned nth;
};

void mf_gsr_scratch_free(mf_gsr_scratch *s)
{
    for (int i = 0; i < 13; i++) free(s->c[i].v);
    free(s->bk.v);
    free(s->en.v);
    free(s->texts.v);
    free(s->text_lens.v);
    free(s->keybuf);
    memset(s, 0, sizeof *s);
}

/* Commits the jobs that are done, in order (lock held), on a copy of the
 * template that carries the commits' state, the job's record number (for
 * its messages) and the job's error. */
static void commit_ready(struct mf_gsr_pool *pl)
{
    for (;;) {
        job *j = &pl->jobs[pl->next_commit % pl->njobs];
        if (j->state != J_DONE || j->seq != pl->next_commit) return;
        if (!pl->failed) {
            int rc = j->rc;
            if (!rc) {
                mf_gs_reader w = pl->tmpl;
                w.recno = j->recno;
                w.err = &j->err;
                w.edge_next = pl->edge_next;
                w.cont = pl->cont;
                w.cont_off1 = pl->cont_off1;
                w.seen.edges = pl->seen_edges;
                w.seen.buckets = pl->seen_buckets;
                w.seen.entries = pl->seen_entries;
                w.maps_full = pl->maps_full;
                rc = j->kind == MF_GS_R_EDGES ? commit_edges(&w, &j->eb)
                                              : commit_buckets(&w, &j->bb);
                pl->edge_next = w.edge_next;
                pl->cont = w.cont;
                pl->cont_off1 = w.cont_off1;
                pl->seen_edges = w.seen.edges;
                pl->seen_buckets = w.seen.buckets;
                pl->seen_entries = w.seen.entries;
                pl->maps_full = w.maps_full;
            }
            if (rc) {
                pl->failed = true;
                pl->err = j->err;
            }
        }
        j->state = J_FREE;
        pl->next_commit++;
        pthread_cond_broadcast(&pl->done);
    }
}

/* Takes the oldest job waiting to be decoded, decodes it unlocked (on a
 * copy of the template with the job's scratch, record number and error),
 * then commits what can be. Lock held on entry and on return; false when
 * there was nothing to take. */
static bool work_one(struct mf_gsr_pool *pl)
{
    job *j = NULL;
    for (size_t i = 0; i < pl->njobs; i++) {
        job *x = &pl->jobs[i];
        if (x->state == J_READY && (!j || x->seq < j->seq)) j = x;
    }
    if (!j) return false;
    j->state = J_BUSY;
    mf_gs_reader w = pl->tmpl;
    bool skip = pl->failed;
    pthread_mutex_unlock(&pl->mu);
    if (!skip) {
        w.s = j->s;
        w.err = &j->err;
        w.recno = j->recno;
        const uint8_t *p = j->buf, *end = j->buf + j->len;
        j->rc = j->kind == MF_GS_R_EDGES ? decode_edges(&w, p, end, &j->eb)
                                         : decode_buckets(&w, p, end, &j->bb);
        j->s = w.s;
    }
    pthread_mutex_lock(&pl->mu);
    j->state = J_DONE;
    commit_ready(pl);
    return true;
}

static void *worker(void *arg)
{
    struct mf_gsr_pool *pl = arg;
    pthread_mutex_lock(&pl->mu);
    while (!pl->stop)
        if (!work_one(pl)) pthread_cond_wait(&pl->work, &pl->mu);
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* Starts the decoding threads (r->cb->threads - 1 of them besides the
 * reader thread, at most 15), or leaves r->pool NULL to decode on this
 * thread alone. */
static void pool_start(mf_gs_reader *r)
{
    unsigned want = r->cb ? r->cb->threads : 0;
    if (want <= 1) return;
    if (want > 16) want = 16;
    struct mf_gsr_pool *pl = calloc(1, sizeof *pl);
    if (!pl) return;
    pl->njobs = 2 * (size_t)want + 2;
    pl->jobs = calloc(pl->njobs, sizeof *pl->jobs);
    if (!pl->jobs || pthread_mutex_init(&pl->mu, NULL)) {
        free(pl->jobs);
        free(pl);
        return;
    }
    pthread_cond_init(&pl->work, NULL);
    pthread_cond_init(&pl->done, NULL);
    pl->tmpl = *r;
    memset(&pl->tmpl.s, 0, sizeof pl->tmpl.s);
    r->pool = pl;
    r->pool_idle = true; /* the commits' state goes over with the first batch */
    pthread_mutex_lock(&pl->mu);
    for (unsigned i = 0; i + 1 < want; i++) {
        if (pthread_create(&pl->th[pl->nth], NULL, worker, pl)) break;
        pl->nth++;
    }
    pthread_mutex_unlock(&pl->mu);
}

void mf_gsr_pool_stop(mf_gs_reader *r)
{
    struct mf_gsr_pool *pl = r->pool;
    if (!pl) return;
    pthread_mutex_lock(&pl->mu);
    pl->stop = true;
    pthread_cond_broadcast(&pl->work);
    pthread_mutex_unlock(&pl->mu);
    for (unsigned i = 0; i < pl->nth; i++) pthread_join(pl->th[i], NULL);
    for (size_t i = 0; i < pl->njobs; i++) {
        free(pl->jobs[i].buf);
        mf_gsr_scratch_free(&pl->jobs[i].s);
    }
    pthread_cond_destroy(&pl->work);
    pthread_cond_destroy(&pl->done);
    pthread_mutex_destroy(&pl->mu);
    free(pl->jobs);
    free(pl);
    r->pool = NULL;
}

/* The commits' state goes to the pool before a batch is handed over (lock
 * held, nothing in flight), with what the template must see anew: the
 * maps (a Map record may have added one) and the phase. */
static void pool_take_state(mf_gs_reader *r, struct mf_gsr_pool *pl)
{
    pl->edge_next = r->edge_next;
    pl->cont = r->cont;
    pl->cont_off1 = r->cont_off1;
    pl->seen_edges = r->seen.edges;
    pl->seen_buckets = r->seen.buckets;
    pl->seen_entries = r->seen.entries;
    pl->maps_full = r->maps_full;
    pl->tmpl.maps = r->maps;
    pl->tmpl.phase = r->phase;
    r->pool_idle = false;
}

/* ... and comes back to the reader once every batch is committed. */
static void pool_give_state(mf_gs_reader *r, const struct mf_gsr_pool *pl)
{
    r->edge_next = pl->edge_next;
    r->cont = pl->cont;
    r->cont_off1 = pl->cont_off1;
    r->seen.edges = pl->seen_edges;
    r->seen.buckets = pl->seen_buckets;
    r->seen.entries = pl->seen_entries;
    r->maps_full = pl->maps_full;
    r->pool_idle = true;
}

int mf_gsr_barrier(mf_gs_reader *r)
{
    struct mf_gsr_pool *pl = r->pool;
    /* idle: nothing was handed over since the last barrier, which found
     * no failure (a failure stops the reading) */
    if (!pl || r->pool_idle) return 0;
    pthread_mutex_lock(&pl->mu);
    while (pl->next_commit < pl->next_seq)
        if (!work_one(pl)) pthread_cond_wait(&pl->done, &pl->mu);
    bool failed = pl->failed;
    if (failed)
        *r->err = pl->err;
    else
        pool_give_state(r, pl); /* nothing is decoded now */
    pthread_mutex_unlock(&pl->mu);
    return failed ? -1 : 0;
}

/* A batch of at most this many bytes is decoded on the reader thread as
 * soon as it is handed over, not by a decoding thread (see hand_over). */
#define INLINE_JOB_BYTES 4096

/* Hands a batch to the decoding threads: waits for its slot (decoding what
 * is waiting meanwhile), copies the record in. A small batch (the buckets
 * of a map of a few entries) the reader thread decodes itself at once:
 * every Map record waits for the batches before it (mf_gsr_barrier), so a
 * heap of millions of tiny maps would otherwise wake a thread and wait
 * for it twice a map, for less work than the waking. Decoded here or
 * there, the batches commit in file order alike. -1 when an earlier batch
 * failed (its error in r->err) or out of memory. */
static int hand_over(mf_gs_reader *r, uint32_t kind, const uint8_t *p, const uint8_t *end)
{
    struct mf_gsr_pool *pl = r->pool;
    pthread_mutex_lock(&pl->mu);
    if (r->pool_idle) pool_take_state(r, pl);
    job *j = &pl->jobs[pl->next_seq % pl->njobs];
    while (j->state != J_FREE && !pl->failed)
        if (!work_one(pl)) pthread_cond_wait(&pl->done, &pl->mu);
    if (pl->failed) {
        *r->err = pl->err;
        pthread_mutex_unlock(&pl->mu);
        return -1;
    }
    /* the slot is ours until it is READY */
    size_t len = (size_t)(end - p);
    if (j->cap < len) {
        uint8_t *q = realloc(j->buf, len);
        if (!q) {
            pthread_mutex_unlock(&pl->mu);
            return mf_gsr_oom(r);
        }
        j->buf = q;
        j->cap = len;
    }
    memcpy(j->buf, p, len);
    j->len = len;
    j->kind = kind;
    j->recno = r->recno;
    j->seq = pl->next_seq++;
    j->state = J_READY;
    if (len <= INLINE_JOB_BYTES)
        while (j->state == J_READY && work_one(pl)) {
        }
    else
        pthread_cond_signal(&pl->work);
    pthread_mutex_unlock(&pl->mu);
    return 0;
}

/* A barrier that does not wait: when the batches handed over since the
 * last barrier are all committed (and none failed), the commits' state
 * comes back to the reader, idle again, so that a small batch is read on
 * it without the lock; else nothing changes. */
static void idle_if_done(mf_gs_reader *r)
{
    struct mf_gsr_pool *pl = r->pool;
    pthread_mutex_lock(&pl->mu);
    if (!pl->failed && pl->next_commit == pl->next_seq) pool_give_state(r, pl);
    pthread_mutex_unlock(&pl->mu);
}

int mf_gsr_edges(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    if (r->phase == 1) {
        /* the objects are complete: index them, start the threads */
        r->phase = 2;
        mf_gsr_index_objects(r);
        pool_start(r);
    }
    if (r->phase != 2) return mf_gsr_fail(r, "edges after the edge section");
    if (r->pool) return hand_over(r, MF_GS_R_EDGES, p, end);
    edge_batch b;
    return decode_edges(r, p, end, &b) || commit_edges(r, &b) ? -1 : 0;
}

int mf_gsr_buckets(mf_gs_reader *r, const uint8_t *p, const uint8_t *end)
{
    /* the edges must all be in: every edge batch committed */
    if (r->phase != 3 && mf_gsr_barrier(r)) return -1;
    if (mf_gsr_enter_rest(r, "a bucket batch")) return -1;
    mf_gsr_index_objects(r);
    /* a small batch (the buckets of a map of a few entries) is read on
     * the reader as without threads when it holds the commits' state:
     * neither the copy into a job nor the two copies of the template a
     * job costs (the template learns the phase at a hand-over) */
    bool small = (size_t)(end - p) <= INLINE_JOB_BYTES;
    if (r->pool && small && !r->pool_idle) idle_if_done(r);
    if (r->pool && !(small && r->pool_idle)) return hand_over(r, MF_GS_R_BUCKETS, p, end);
    bucket_batch b;
    return decode_buckets(r, p, end, &b) || commit_buckets(r, &b) ? -1 : 0;
}

void mf_gsr_maps_changed(mf_gs_reader *r)
{
    struct mf_gsr_pool *pl = r->pool;
    if (!pl || r->pool_idle) return; /* the next hand-over tells them */
    pthread_mutex_lock(&pl->mu);
    pl->tmpl.maps = r->maps;
    pthread_mutex_unlock(&pl->mu);
}
