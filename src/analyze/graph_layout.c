/*
 * src/analyze/graph_layout.c -- see graph_layout.h.
 *
 * Each pass reads and writes the graph's arrays only: the builder's
 * records are behind them by then (graph_build.c), so nothing here depends
 * on the order or the format the records came in.
 */
#include "analyze/graph_layout.h"

#include "analyze/graph_internal.h"
#include "analyze/parallel.h"
#include "analyze/paths.h"
#include "analyze/radix.h"

#include "format/bits.h"
#include "format/prefault.h"
#include "format/zeroed.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/*
 * Sizes into 32 bits (size32), in place in the block of the 64-bit ones,
 * the few of 4 GiB or more aside (big). The block's upper half is then free.
 * It goes back (the block shrunk), or, when the analysis asked
 * (mp_paths_spare_ahead), stays as the paths' spare: every page of it was
 * written by the reader and is in memory, where the search's own fresh
 * array would be faulted in on its thread (paths.h). -1 out of memory.
 */
int mp_gl_pack_sizes(mp_graph *g, uint64_t *size)
{
    size_t n = g->nobjects, nbig = 0;
    for (size_t i = 0; i < n; i++) nbig += size[i] >= MP_BIG_SIZE;
    if (nbig && !(g->big = malloc(nbig * sizeof *g->big))) return -1;
    uint32_t *s32 = (uint32_t *)size; /* s32[i] lies within size[i]: safe going up */
    for (size_t i = 0; i < n; i++) {
        uint64_t v = size[i];
        if (v >= MP_BIG_SIZE) g->big[g->nbig++] = (mp_big_size){.obj = (uint32_t)i, .size = v};
        s32[i] = v >= MP_BIG_SIZE ? MP_BIG_SIZE : (uint32_t)v;
    }
    if (n && mp_paths_spare_wanted() && (g->paths_spare = malloc(sizeof *g->paths_spare))) {
        g->paths_spare->at = s32 + n; /* size[n / 2 ..]: never written above */
        g->size32 = s32;
        return 0;
    }
    uint32_t *shrunk = realloc(s32, (n ? n : 1) * sizeof *shrunk);
    g->size32 = shrunk ? shrunk : s32;
    return 0;
}

/*
 * Addresses into 32 bits (addr_lo), in place in the block of the 64-bit
 * ones, with a run for each change of the high halves (addr_runs): a heap
 * spans few 4 GiB regions, so this halves the addresses' memory. The
 * block's upper half goes back (the block shrunk). Takes addr either way;
 * -1 out of memory (addr then freed).
 */
int mp_gl_pack_addresses(mp_graph *g, uint64_t *addr)
{
    size_t n = g->nobjects, nruns = 0;
    for (size_t i = 0; i < n; i++) nruns += !i || addr[i] >> 32 != addr[i - 1] >> 32;
    g->addr_runs = malloc((nruns ? nruns : 1) * sizeof *g->addr_runs);
    if (!g->addr_runs) {
        free(addr);
        return -1;
    }
    uint32_t *lo = (uint32_t *)addr; /* lo[i] lies within addr[i]: safe going up */
    for (size_t i = 0; i < n; i++) {
        uint64_t a = addr[i];
        if (!i || a >> 32 != (uint64_t)g->addr_runs[g->naddr_runs - 1].high)
            g->addr_runs[g->naddr_runs++] = (mp_addr_run){(uint32_t)i, (uint32_t)(a >> 32)};
        lo[i] = (uint32_t)a;
    }
    assert(g->naddr_runs == nruns);
    uint32_t *shrunk = realloc(lo, (n ? n : 1) * sizeof *shrunk);
    g->addr_lo = shrunk ? shrunk : lo;
    return 0;
}

/* The starts of lists of `count[v]` edges each into c->at (modulo 2^32)
 * and c->wraps; count and c->at may be the same array (n + 1 entries). */
static int starts_from_counts(size_t n, const uint32_t *count, mp_csr *c)
{
    uint64_t sum = 0;
    for (size_t v = 0; v <= n; v++) {
        uint64_t k = v < n ? count[v] : 0;
        while ((sum >> 32) > c->nwraps) {
            uint32_t *w = realloc(c->wraps, (c->nwraps + 1) * sizeof *w);
            if (!w) return -1;
            c->wraps = w;
            w[c->nwraps++] = (uint32_t)v;
        }
        c->at[v] = (uint32_t)sum;
        sum += k;
    }
    return 0;
}

/* CSR from (key, val) pairs by counting sort, m < 2^32 (the general way:
 * the loaders that use it are far below). With vals2, a second value per
 * pair is placed beside the first (into *adj2_out). */
int mp_gl_csr_pairs(size_t n, size_t m, const uint32_t *keys, const uint32_t *vals,
                    const uint32_t *vals2, mp_csr *out, uint32_t **adj2_out)
{
    memset(out, 0, sizeof *out);
    out->at = calloc(n + 1, sizeof *out->at);
    out->adj = malloc((m ? m : 1) * sizeof *out->adj);
    uint32_t *adj2 = vals2 ? malloc((m ? m : 1) * sizeof *adj2) : NULL;
    if (!out->at || !out->adj || (vals2 && !adj2)) {
        free(adj2);
        mp_csr_free(out);
        return -1;
    }
    for (size_t e = 0; e < m; e++) out->at[keys[e] + 1]++;
    for (size_t v = 0; v < n; v++) out->at[v + 1] += out->at[v];
    /* place using at[k] as a cursor, then shift back */
    for (size_t e = 0; e < m; e++) {
        uint32_t at = out->at[keys[e]]++;
        out->adj[at] = vals[e];
        if (adj2) adj2[at] = vals2[e];
    }
    for (size_t v = n; v > 0; v--) out->at[v] = out->at[v - 1];
    out->at[0] = 0;
    if (adj2_out) *adj2_out = adj2;
    return 0;
}

/*
 * The reverse of the out lists: in.adj[in.start(w) ..] are the sources of
 * w's predecessors, in increasing order (as a counting sort over the (dst,
 * src) pairs in source order gives them). in->at holds the in-degrees on
 * entry (n + 1 entries).
 *
 * The in-degrees are counted first, and the placing after them, both
 * spread over the threads by target: each thread reads every out list and
 * counts or writes only the edges whose target falls in its range of
 * objects (for the placing split where the edges do), so the threads never
 * write the same word and the result is the one the sequential loop gives.
 * Counting here rather than as the edges are read keeps a random write per
 * edge off the reading, which is one thread's work. Positions are 32-bit
 * while the edges fit, and at[] is then its own cursor (each list filled
 * from its end down); a graph of 2^32 edges or more takes 64-bit cursors
 * (8 bytes an object for the while).
 */
typedef struct rev_job {
    const mp_graph *g;
    mp_csr *in;
    uint64_t *cur64; /* NULL: at[] is the cursor (fewer than 2^32 edges) */
    uint32_t *lo;    /* per thread: its first target; lo[nthreads] = n */
    bool too_many[8];
} rev_job;

/* The in-degrees of objects lo[t] .. lo[t + 1] - 1; an object with more
 * predecessors than the 32-bit counts hold is noted in too_many[t]. */
static void degree_part(void *arg, unsigned t, unsigned nt)
{
    (void)nt;
    rev_job *j = arg;
    uint32_t lo = j->lo[t], span = j->lo[t + 1] - lo;
    const uint32_t *adj = j->g->out.adj;
    uint32_t *deg = j->in->at;
    for (uint64_t e = 0, m = j->g->nedges; e < m; e++) {
        uint32_t w = adj[e];
        if (w - lo >= span) continue;
        if (deg[w] == UINT32_MAX)
            j->too_many[t] = true;
        else
            deg[w]++;
    }
}

static void reverse_part(void *arg, unsigned t, unsigned nt)
{
    (void)nt;
    rev_job *j = arg;
    const mp_graph *g = j->g;
    uint32_t lo = j->lo[t], hi = j->lo[t + 1];
    if (lo >= hi) return;
    const uint32_t *adj = g->out.adj;
    uint32_t *in = j->in->adj;
    size_t n = g->nobjects;
    if (!j->cur64) {
        /* in->at[w] holds w's end: placed from the last edge back, each
         * list fills from its end down and at[w] ends at w's start */
        uint32_t *at = j->in->at;
        uint64_t e = g->nedges;
        for (size_t v = n; v-- > 0;) {
            uint64_t begin = mp_out_begin(g, v);
            while (e > begin) {
                uint32_t w = adj[--e];
                if (w >= lo && w < hi) in[--at[w]] = (uint32_t)v;
            }
        }
        return;
    }
    uint64_t e = 0;
    for (size_t v = 0; v < n; v++) {
        uint64_t end = mp_out_end(g, v);
        for (; e < end; e++) {
            uint32_t w = adj[e];
            if (w < lo || w >= hi) continue;
            in[j->cur64[w]++] = (uint32_t)v;
        }
    }
}

/* Blocks under this size are not worth a thread. */
#define ROOM_MIN ((size_t)4 << 20)

void mp_gl_in_room_start(mp_gl_in_room *r, uint64_t m)
{
    *r = (mp_gl_in_room){.m = m};
    if (m > SIZE_MAX / sizeof *r->adj || m * sizeof *r->adj < ROOM_MIN || mp_threads() < 2)
        return;
    if (!(r->adj = malloc(m * sizeof *r->adj))) return;
    void *const base[] = {r->adj};
    const size_t elem[] = {sizeof *r->adj};
    r->pf = mf_prefault_start(base, elem, 1, m);
    if (!r->pf) { /* nothing gained by holding the memory early */
        free(r->adj);
        r->adj = NULL;
        return;
    }
    /* the pass runs on every processor: the faulting takes only the gaps
     * the build leaves, one thread's work until then */
    mf_prefault_when_idle(r->pf);
    mf_prefault_upto(r->pf, m);
}

void mp_gl_in_room_free(mp_gl_in_room *r)
{
    mf_prefault_stop(r->pf);
    free(r->adj);
    *r = (mp_gl_in_room){0};
}

int mp_gl_build_reverse(mp_graph *g, mp_gl_in_room *room, mf_error *err)
{
    size_t n = g->nobjects;
    uint64_t m = g->nedges;
    mp_csr *in = &g->in;
    rev_job j = {.g = g, .in = in};
    unsigned nt = mp_threads();
    if (nt > 8) nt = 8;
    uint32_t lo[9];
    j.lo = lo;
    /* the in-degrees (turned into starts below), counted by equal ranges
     * of objects */
    in->at = calloc(n + 1, sizeof *in->at);
    if (!in->at) goto oom;
    uint32_t *deg = in->at;
    for (unsigned t = 0; t <= nt; t++) lo[t] = (uint32_t)(n * t / nt);
    mp_parallel(nt, degree_part, &j);
    for (unsigned t = 0; t < nt; t++)
        if (j.too_many[t]) {
            mf_error_set(err, "%s: an object has more than %u predecessors", g->info.name,
                         UINT32_MAX);
            return -1;
        }
    /* split the targets where the edges are halved (or cut in nt) */
    lo[0] = 0;
    {
        uint64_t sum = 0;
        unsigned t = 1;
        for (size_t v = 0; v < n && t < nt; v++) {
            sum += deg[v];
            while (t < nt && sum * nt >= m * t) lo[t++] = (uint32_t)(v + 1);
        }
        while (t < nt) lo[t++] = (uint32_t)n;
        lo[nt] = (uint32_t)n;
    }
    if (m < ((uint64_t)1 << 32)) {
        /* the positions are exact: each list's end is its cursor, kept in
         * at[] itself (reverse_part walks it down to the start), so no
         * second array of n + 1 cursors is faulted in */
        if (starts_from_counts(n, deg, in)) goto oom;
        for (size_t v = 0; v < n; v++) in->at[v] = in->at[v + 1];
    } else {
        j.cur64 = malloc((n + 1) * sizeof *j.cur64);
        if (!j.cur64) goto oom;
        uint64_t sum = 0;
        for (size_t v = 0; v <= n; v++) {
            uint64_t k = v < n ? deg[v] : 0;
            j.cur64[v] = sum;
            sum += k;
        }
        if (starts_from_counts(n, deg, in)) goto oom;
    }
    if (room && room->adj && room->m == m) {
        mf_prefault_stop(room->pf); /* what it has not reached, the pass faults in */
        in->adj = room->adj;
        *room = (mp_gl_in_room){0};
    } else {
        in->adj = malloc((m ? m : 1) * sizeof *in->adj);
        if (!in->adj) goto oom;
    }
    mp_parallel(nt, reverse_part, &j);
    free(j.cur64);
    return 0;
oom:
    free(j.cur64);
    mf_error_set(err, "%s: out of memory building the reverse edges of %zu objects", g->info.name,
                 n);
    return -1;
}

/* Groups records of `elem` bytes by their map field (stable counting
 * sort); each map's first record and count go into maps[k].first_bucket
 * and .nbuckets. Loaders usually give each map's records together, in map
 * order: one walk of the maps and the records side by side then sets both
 * and finds the records grouped. Otherwise the maps' own words serve as
 * the counts and then the cursors, so no array of a word per map is
 * faulted in for them. */
int mp_gl_group_by_map(void *recs, size_t n, size_t elem, size_t map_off, mp_map *maps,
                       size_t nmaps)
{
    char *r = recs;
    size_t i = 0;
    for (size_t k = 0; k < nmaps; k++) {
        maps[k].first_bucket = i;
        for (uint32_t m; i < n && (memcpy(&m, r + i * elem + map_off, sizeof m), m == k);) i++;
        maps[k].nbuckets = i - maps[k].first_bucket;
    }
    if (i == n) return 0; /* in the order the stable sort gives: no copy */
    for (size_t k = 0; k < nmaps; k++) maps[k].nbuckets = 0;
    for (i = 0; i < n; i++) {
        uint32_t m;
        memcpy(&m, r + i * elem + map_off, sizeof m);
        assert(m < nmaps);
        maps[m].nbuckets++;
    }
    size_t sum = 0;
    for (size_t k = 0; k < nmaps; k++) {
        maps[k].first_bucket = sum;
        sum += maps[k].nbuckets;
    }
    char *tmp = malloc((n ? n : 1) * elem);
    if (!tmp) return -1;
    /* first_bucket is each map's cursor, at its end once placed */
    for (i = 0; i < n; i++) {
        uint32_t m;
        memcpy(&m, r + i * elem + map_off, sizeof m);
        memcpy(tmp + maps[m].first_bucket++ * elem, r + i * elem, elem);
    }
    for (size_t k = 0; k < nmaps; k++) maps[k].first_bucket -= maps[k].nbuckets;
    if (n) memcpy(recs, tmp, n * elem);
    free(tmp);
    return 0;
}

/*
 * The places of objects among a set of them, in object order: a bitmap
 * over the objects and the count of bits set before each 64-bit word of
 * it, so that an object's place is a lookup and a popcount. It orders
 * records keyed by object in two linear passes (mark, then place), where a
 * radix sort of (key, index) pairs made four or more over twice the
 * memory, fresh: 12 bytes per 64 objects.
 */
typedef struct obj_ranks {
    uint64_t *bits;
    uint32_t *before; /* bits set in the words below each word */
    size_t nwords;
} obj_ranks;

static void ranks_free(obj_ranks *r)
{
    free(r->bits);
    free(r->before);
}

/* Room for nobjects objects, none marked; on failure (-1) r holds nothing. */
static int ranks_init(obj_ranks *r, size_t nobjects)
{
    r->nwords = nobjects / 64 + 1;
    r->bits = calloc(r->nwords, sizeof *r->bits);
    r->before = malloc(r->nwords * sizeof *r->before);
    if (r->bits && r->before) return 0;
    ranks_free(r);
    r->bits = NULL; /* nothing for the caller to free */
    r->before = NULL;
    return -1;
}

/* Marks object o; false when it was marked already. */
static inline bool ranks_mark(obj_ranks *r, uint32_t o)
{
    uint64_t bit = (uint64_t)1 << (o & 63), *w = &r->bits[o >> 6];
    bool was = *w & bit;
    *w |= bit;
    return !was;
}

/* Once every object is marked: the counts before each word; returns the
 * objects marked. */
static size_t ranks_count(obj_ranks *r)
{
    size_t sum = 0;
    for (size_t i = 0; i < r->nwords; i++) {
        r->before[i] = (uint32_t)sum;
        sum += (size_t)mf_popcount64(r->bits[i]);
    }
    return sum;
}

/* The place of marked object o among the marked ones (from 0). */
static inline uint32_t ranks_at(const obj_ranks *r, uint32_t o)
{
    uint64_t below = r->bits[o >> 6] & (((uint64_t)1 << (o & 63)) - 1);
    return r->before[o >> 6] + (uint32_t)mf_popcount64(below);
}

/* The marks into bits, a byte per 8 objects (nobjects / 8 + 1 bytes,
 * zero): the same bit of the same byte for each object. */
static void ranks_bits(const obj_ranks *r, uint8_t *bits, size_t nobjects)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(bits, r->bits, nobjects / 8 + 1); /* r->nwords words hold as many */
#else
    for (size_t o = 0; o < nobjects; o++)
        if (r->bits[o >> 6] >> (o & 63) & 1) bits[o >> 3] |= (uint8_t)(1u << (o & 7));
#endif
}

/* ix[i] = the i-th of n records ordered by (key(record), record index),
 * by a sort of (key, index) pairs: keys are object indices, so one
 * 64-bit sort key holds both. The way when keys repeat. */
static int order_by_sort(const uint32_t *keys, size_t stride_u32, size_t n, size_t nobjects,
                         uint32_t *ix, size_t *nout, uint8_t *bits)
{
    uint64_t *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = keys[i * stride_u32];
        if (key != MP_NONE) k[m++] = (uint64_t)key << 32 | i;
    }
    mp_sort_u64_high(k, m); /* made in record order */
    for (size_t i = 0; i < m; i++) ix[i] = (uint32_t)k[i];
    free(k);
    *nout = m;
    if (bits)
        for (size_t i = 0; i < n; i++) {
            uint32_t o = keys[i * stride_u32];
            if (o < nobjects) bits[o >> 3] |= (uint8_t)(1u << (o & 7));
        }
    return 0;
}

/* The keys are objects, and nearly always each names a different one (a
 * bucket array, a map header): each record's place is then its key's
 * rank among the keys (obj_ranks), written straight into ix. A key named
 * twice, or not an object, takes the sort. */
int mp_gl_order_by_key(const uint32_t *keys, size_t stride_u32, size_t n, size_t nobjects,
                       uint32_t *ix, size_t *nout, uint8_t *bits)
{
    obj_ranks r;
    if (n < 2 || nobjects >= MP_NONE || ranks_init(&r, nobjects))
        return order_by_sort(keys, stride_u32, n, nobjects, ix, nout, bits);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = keys[i * stride_u32];
        if (key == MP_NONE) continue;
        if (key >= nobjects || !ranks_mark(&r, key)) {
            ranks_free(&r);
            return order_by_sort(keys, stride_u32, n, nobjects, ix, nout, bits);
        }
        m++;
    }
    size_t marked = ranks_count(&r);
    assert(marked == m);
    (void)marked;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = keys[i * stride_u32];
        if (key != MP_NONE) ix[ranks_at(&r, key)] = (uint32_t)i;
    }
    if (bits) ranks_bits(&r, bits, nobjects);
    ranks_free(&r);
    *nout = m;
    return 0;
}

static bool is_runtime_object(const mp_graph *g, uint32_t o)
{
    uint32_t t = g->type[o];
    return t != MP_NONE && t < g->ntypes && g->types[t].kind == MP_TYPE_RUNTIME;
}

/*
 * Puts into *objs (from index n on, growing it) the objects of the
 * runtime's own kind that the map header reaches through others of that
 * kind: what keeps the overflow buckets of a map without pointers alive
 * (the runtime's extra object and its chunked lists, Go's mapextra and its
 * slices). They belong to the table though no bucket record names them.
 * Returns the new count, or SIZE_MAX out of memory. An explicit stack: a
 * list is a chain of chunks as long as the map makes it.
 */
static size_t table_runtime_objects(const mp_graph *g, uint32_t header, uint8_t *seen,
                                    uint32_t **objs, size_t *cap, size_t n)
{
    size_t first = n;
    uint32_t cur = header;
    for (size_t next = n;;) {
        for (uint64_t e = mp_out_begin(g, cur); e < mp_out_end(g, cur); e++) {
            uint32_t v = g->out.adj[e];
            if (v == header || !is_runtime_object(g, v) || mp_bit(seen, v)) continue;
            seen[v >> 3] |= (uint8_t)(1u << (v & 7));
            if (n == *cap) {
                size_t c = *cap ? *cap * 2 : 16;
                uint32_t *q = realloc(*objs, c * sizeof *q);
                if (!q) return SIZE_MAX;
                *objs = q;
                *cap = c;
            }
            (*objs)[n++] = v;
        }
        if (next == n) break;
        cur = (*objs)[next++];
    }
    for (size_t i = first; i < n; i++) seen[(*objs)[i] >> 3] = 0; /* clear for the next map */
    return n;
}

/*
 * g->table_objs and g->table_bits from tab, the (object << 32 | map) of
 * each map's table objects in map order (freed when owned). Sorted by
 * object, an object in two maps' tables (never in a well-formed heap)
 * counting with the first: each entry's place is its object's rank among
 * the table objects (obj_ranks), placed from the last entry back so that
 * the first map's entry is the one left. Linear, where a sort of the pairs
 * made four passes over them and a fresh copy. -1 out of memory.
 */
static int table_objs_by_object(mp_graph *g, uint64_t *tab, size_t ntab, bool owned)
{
    obj_ranks r;
    uint64_t *out = NULL;
    if (ranks_init(&r, g->nobjects)) goto oom;
    for (size_t i = 0; i < ntab; i++) (void)ranks_mark(&r, (uint32_t)(tab[i] >> 32));
    size_t w = ranks_count(&r);
    out = malloc((w ? w : 1) * sizeof *out);
    if (!out) goto oom;
    for (size_t i = ntab; i-- > 0;) out[ranks_at(&r, (uint32_t)(tab[i] >> 32))] = tab[i];
    if (owned) free(tab);
    g->table_objs = out;
    g->ntable_objs = w;
    /* read for every key and value, written for a few table objects: its
     * pages are populated, not left on the zero page (zeroed.h) */
    g->table_bits = mf_zeroed(g->nobjects / 8 + 1, 1);
    if (!g->table_bits) {
        ranks_free(&r);
        return -1;
    }
    ranks_bits(&r, g->table_bits, g->nobjects);
    ranks_free(&r);
    return 0;
oom:
    if (r.bits) ranks_free(&r);
    free(out);
    if (owned) free(tab);
    return -1;
}

/* Maps on a heap of many small ones have a few table objects each,
 * scattered over the heap: fetched for map k + TABLE_AHEAD are the header's
 * edge range and the sizes of the header and bucket array, and for map k +
 * TABLE_AHEAD / 2 the header's first edges, so that map k's turn finds
 * them in the cache. Only the order of the reads changes. */
#define TABLE_AHEAD 8
MP_FETCH_ONLY void prefetch_table(const mp_graph *g, size_t k)
{
    if (k + TABLE_AHEAD < g->nmaps) {
        const mp_map *a = &g->maps[k + TABLE_AHEAD];
        if (a->header < g->nobjects) {
            __builtin_prefetch(&g->out.at[a->header]);
            __builtin_prefetch(&g->size32[a->header]);
        }
        if (a->buckets < g->nobjects) __builtin_prefetch(&g->size32[a->buckets]);
    }
    if (k + TABLE_AHEAD / 2 < g->nmaps) {
        uint32_t h = g->maps[k + TABLE_AHEAD / 2].header;
        if (h < g->nobjects && mp_out_begin(g, h) < mp_out_end(g, h))
            __builtin_prefetch(&g->out.adj[mp_out_begin(g, h)]);
    }
}

/* The paths' spare as room for *cap 64-bit words, NULL when the graph has
 * none: the builder's scratch until the paths take it (graph.h). */
static uint64_t *spare_pairs(const mp_graph *g, size_t *cap)
{
    *cap = 0;
    if (!g->paths_spare || !g->paths_spare->at) return NULL;
    uint32_t *at = g->paths_spare->at;
    size_t words = g->nobjects;
    if ((uintptr_t)at % sizeof(uint64_t)) at++, words--;
    if (words < 2) return NULL;
    *cap = words / 2;
    return (uint64_t *)(void *)at;
}

/* Bucket and entry bookkeeping per map: role counts, the distinct objects
 * of its table and their bytes; and the table objects of every map for
 * mp_graph_table_map. */
int mp_gl_map_tables(mp_graph *g)
{
    size_t cap = 0, ntab = 0, captab = 0;
    uint32_t *objs = NULL;
    /* the pairs are read once, into g->table_objs: they go first into the
     * paths' spare (in memory already, graph.h) while it holds them */
    uint64_t *tab = spare_pairs(g, &captab);
    bool tab_owned = !tab;
    uint8_t *seen = g->nmaps ? calloc(g->nobjects / 8 + 1, 1) : NULL;
    if (g->nmaps && !seen) return -1;
    for (size_t k = 0; k < g->nmaps; k++) {
        prefetch_table(g, k);
        mp_map *m = &g->maps[k];
        size_t need = m->nbuckets + 3;
        if (need > cap) {
            uint32_t *q = realloc(objs, need * sizeof *q);
            if (!q) goto oom;
            objs = q;
            cap = need;
        }
        size_t n = 0;
        if (m->header != MP_NONE) {
            n = table_runtime_objects(g, m->header, seen, &objs, &cap, 0);
            if (n == SIZE_MAX) goto oom;
            if (n + need > cap) {
                uint32_t *q = realloc(objs, (n + need) * sizeof *q);
                if (!q) goto oom;
                objs = q;
                cap = n + need;
            }
            objs[n++] = m->header;
        }
        if (m->buckets != MP_NONE) objs[n++] = m->buckets;
        if (m->oldbuckets != MP_NONE) objs[n++] = m->oldbuckets;
        for (size_t i = 0; i < m->nbuckets; i++) {
            const mp_bucket *bk = &g->buckets[m->first_bucket + i];
            m->nold += !bk->aux && bk->old;
            m->noverflow_walked += !bk->aux && !bk->old && bk->overflow;
            m->nmain += !bk->aux && !bk->old && !bk->overflow;
            if (bk->obj != MP_NONE) objs[n++] = bk->obj;
        }
        mp_sort_u32(objs, n);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && objs[i] == objs[i - 1]) continue;
            m->table_objects++;
            m->table_bytes += mp_obj_size(g, objs[i]);
            if (ntab == captab) {
                size_t nc = captab ? captab * 2 : 64;
                uint64_t *q = tab_owned ? realloc(tab, nc * sizeof *q) : malloc(nc * sizeof *q);
                if (!q) goto oom;
                if (!tab_owned && ntab) memcpy(q, tab, ntab * sizeof *q);
                tab = q;
                tab_owned = true;
                captab = nc;
            }
            tab[ntab++] = (uint64_t)objs[i] << 32 | k;
        }
    }
    free(objs);
    free(seen);
    return table_objs_by_object(g, tab, ntab, tab_owned); /* tab taken */
oom:
    free(objs);
    if (tab_owned) free(tab);
    free(seen);
    return -1;
}
