/*
 * src/analyze/graph.c -- the finished heap graph: its lookups, the packed
 * tables read back, and freeing it. The builder is graph_build.c.
 */
#include "analyze/graph.h"

#include "analyze/dominators.h"
#include "analyze/graph_internal.h"

#include "format/bits.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const char *mp_root_kind_name(unsigned kind)
{
    static const char *const names[] = {"global",   "pin",     "stack",     "iterator",
                                        "register", "runtime", "finalizer", "other"};
    return kind < MP_ROOT_NKINDS ? names[kind] : "?";
}

const char *mp_type_kind_name(unsigned kind)
{
    static const char *const names[] = {"other",  "struct",     "array",  "blob",
                                        "string", "map header", "bucket", "runtime"};
    return kind < MP_TYPE_NKINDS ? names[kind] : "?";
}

bool mp_graph_entry(const mp_graph *g, size_t i, mp_entry *e)
{
    uint64_t f[EF_N];
    bool ok = mp_pack_get(&g->entries, i, f);
    mp_unpack_entry(f, e);
    return ok;
}

void mp_entry_cursor_init(mp_entry_cursor *c, const mp_graph *g, size_t first)
{
    mp_pack_cursor_init(&c->c, &g->entries, first);
}

bool mp_entry_next(mp_entry_cursor *c, mp_entry *e)
{
    uint64_t f[EF_N];
    if (!mp_pack_next(&c->c, f)) return false;
    mp_unpack_entry(f, e);
    return true;
}

/* Entries decoded at a time (mp_pack_next_many) before they are unpacked:
 * a block's worth, 4 KiB of fields on the stack. */
#define ENTRY_RUN MP_PACK_BLOCK

/* The window slides rather than being read afresh each time: a pass that
 * fetches the objects of the entries a few places ahead needs those
 * entries read already, and a window read afresh has nothing ahead of its
 * last entries (and its first ones were fetched by no one). */
size_t mp_entry_window_fill(mp_entry_cursor *c, mp_entry *es, size_t cap, size_t *at, size_t got,
                            size_t *left)
{
    assert(*at <= got && got <= cap);
    size_t keep = got - *at;
    memmove(es, es + *at, keep * sizeof *es);
    *at = 0;
    uint64_t f[ENTRY_RUN * EF_N];
    while (keep < cap && *left) {
        size_t want = cap - keep < *left ? cap - keep : *left;
        size_t got_now = mp_pack_next_many(&c->c, f, want < ENTRY_RUN ? want : ENTRY_RUN);
        for (size_t i = 0; i < got_now; i++) mp_unpack_entry(f + i * EF_N, &es[keep + i]);
        keep += got_now;
        *left -= got_now;
        if (got_now == 0) break;
    }
    return keep;
}

bool mp_entry_cursor_skip(mp_entry_cursor *c, size_t i)
{
    return mp_pack_cursor_skip(&c->c, i);
}

void mp_entry_cursor_free(mp_entry_cursor *c)
{
    mp_pack_cursor_free(&c->c);
}

const char *mp_entry_key(const mp_graph *g, const mp_entry *e, char *buf, size_t size)
{
    const mp_map *m = e->map < g->nmaps ? &g->maps[e->map] : NULL;
    uint8_t kind = m && m->key_numeric ? m->key_kind : MP_KEY_OTHER;
    if (kind == MP_KEY_INT) {
        snprintf(buf, size, "%" PRId64, (int64_t)e->key);
        return buf;
    }
    if (kind == MP_KEY_PTR) {
        snprintf(buf, size, "0x%" PRIx64, e->key);
        return buf;
    }
    return e->key < g->strs_len ? mp_str(g, (mp_sid)e->key) : "";
}

uint64_t mp_spill_bytes(void)
{
    const char *s = getenv("MAPROOT_SPILL_BYTES");
    if (!s || !*s) return MP_SPILL_DEFAULT;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return *end ? MP_SPILL_DEFAULT : (uint64_t)v;
}

/* The search goes by run first (the last whose high half is at most a's),
 * then by low halves within it: an object below a lies in that run or, when
 * a's run starts past a, is the last of the run before. */
uint32_t mp_graph_find(const mp_graph *g, uint64_t a)
{
    if (!g->nobjects) return MP_NONE;
    const mp_addr_run *r = g->addr_runs;
    uint32_t high = (uint32_t)(a >> 32), low = (uint32_t)a;
    size_t k = 0, kh = g->naddr_runs; /* first run with high > a's */
    while (k < kh) {
        size_t mid = k + (kh - k) / 2;
        if (r[mid].high <= high)
            k = mid + 1;
        else
            kh = mid;
    }
    if (k == 0) return MP_NONE; /* below every object */
    size_t run = k - 1, lo = r[run].first;
    size_t hi = run + 1 < g->naddr_runs ? r[run + 1].first : g->nobjects;
    if (r[run].high == high) { /* first object of the run with low half > a's */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (g->addr_lo[mid] <= low)
                lo = mid + 1;
            else
                hi = mid;
        }
    } else {
        lo = hi; /* every object of the run lies below a */
    }
    if (lo == 0) return MP_NONE;
    uint32_t i = (uint32_t)(lo - 1);
    uint64_t sz = mp_obj_size(g, i);
    if (sz == 0) sz = 1; /* a zero-size object still has its address */
    return a - mp_obj_addr(g, i) < sz ? i : MP_NONE;
}

uint64_t mp_obj_size_big(const mp_graph *g, uint32_t o)
{
    size_t lo = 0, hi = g->nbig;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->big[mid].obj < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nbig && g->big[lo].obj == o ? g->big[lo].size : MP_BIG_SIZE;
}

uint32_t mp_obj_stack(const mp_graph *g, uint32_t o)
{
    if (o >= g->nobjects || !g->sampled_bits || !mp_bit(g->sampled_bits, o)) return MP_NONE;
    size_t lo = 0, hi = g->nsampled;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((g->samples[mid] >> 32) < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nsampled && (g->samples[lo] >> 32) == o ? (uint32_t)g->samples[lo] : MP_NONE;
}

uint32_t mp_edge_offset(const mp_graph *g, uint64_t e)
{
    uint64_t f;
    if (e >= g->nedges || !mp_pack_get(&g->offsets, (size_t)e, &f) || !f) return MP_NO_OFFSET;
    return (uint32_t)(f - 1);
}

/* The 64 bits of table_bits for objects 64w .. 64w + 63 (bit i: object
 * 64w + i); the bitmap's last word may be shorter than 8 bytes. */
static uint64_t table_word(const mp_graph *g, size_t w)
{
    size_t nbytes = g->nobjects / 8 + 1, at = 8 * w;
    uint64_t x = 0;
    if (at + 8 <= nbytes) {
        memcpy(&x, g->table_bits + at, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        x = __builtin_bswap64(x);
#endif
        return x;
    }
    for (size_t i = 0; at + i < nbytes; i++) x |= (uint64_t)g->table_bits[at + i] << (8 * i);
    return x;
}

uint32_t *mp_graph_table_rank(const mp_graph *g)
{
    if (!g->table_bits) return NULL;
    size_t nw = g->nobjects / 64 + 1;
    uint32_t *r = malloc(nw * sizeof *r);
    if (!r) return NULL;
    /* counts below 2^32: table objects are objects */
    uint32_t before = 0;
    for (size_t w = 0; w < nw; w++) {
        r[w] = before;
        before += (uint32_t)mf_popcount64(table_word(g, w));
    }
    assert(before == g->ntable_objs);
    return r;
}

/* The position by binary search over table_objs, for graphs without a
 * rank directory. */
static size_t table_pos_search(const mp_graph *g, uint32_t o)
{
    size_t lo = 0, hi = g->ntable_objs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((g->table_objs[mid] >> 32) < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->ntable_objs && (g->table_objs[lo] >> 32) == o ? lo : SIZE_MAX;
}

/* With the rank directory: the table objects before o's word, and those
 * of its word below o. */
size_t mp_graph_table_pos_ranked(const mp_graph *g, const uint32_t *rank, uint32_t o)
{
    if (o >= g->nobjects || !g->table_bits || !mp_bit(g->table_bits, o)) return SIZE_MAX;
    if (!rank) return table_pos_search(g, o);
    uint64_t below = table_word(g, o >> 6) & ((UINT64_C(1) << (o & 63)) - 1);
    size_t i = rank[o >> 6] + (size_t)mf_popcount64(below);
    assert(i < g->ntable_objs); /* tests hold it to the search's answer */
    return i;
}

size_t mp_graph_table_pos(const mp_graph *g, uint32_t o)
{
    return mp_graph_table_pos_ranked(g, NULL, o);
}

uint32_t mp_graph_table_map(const mp_graph *g, uint32_t o)
{
    size_t i = mp_graph_table_pos(g, o);
    return i == SIZE_MAX ? MP_NONE : (uint32_t)g->table_objs[i];
}

uint32_t mp_graph_map_of_header(const mp_graph *g, uint32_t o)
{
    size_t lo = 0, hi = g->nmap_by_header;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t h = g->maps[g->map_by_header[mid]].header;
        if (h < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->nmap_by_header && g->maps[g->map_by_header[lo]].header == o)
        return g->map_by_header[lo];
    return MP_NONE;
}

/* The first position in bucket_by_obj of a record of object o (or where
 * one would be). */
static size_t first_bucket_pos(const mp_graph *g, uint32_t o)
{
    size_t lo = 0, hi = g->nbucket_by_obj;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->buckets[g->bucket_by_obj[mid]].obj < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t mp_graph_bucket_of(const mp_graph *g, uint32_t o)
{
    if (g->bucket_bits && (o >= g->nobjects || !(g->bucket_bits[o >> 3] >> (o & 7) & 1)))
        return MP_NONE;
    size_t lo = first_bucket_pos(g, o);
    if (lo < g->nbucket_by_obj && g->buckets[g->bucket_by_obj[lo]].obj == o)
        return g->bucket_by_obj[lo];
    return MP_NONE;
}

uint32_t mp_graph_bucket_record(const mp_graph *g, uint32_t o, uint32_t m, uint64_t index,
                                uint32_t overflow, bool old)
{
    if (mp_graph_bucket_of(g, o) == MP_NONE) return MP_NONE;
    /* the records of o: [lo, end) of bucket_by_obj, in record order */
    size_t lo = first_bucket_pos(g, o), end = first_bucket_pos(g, o + 1);
    /* the first record of index >= `index`, if they come in index order */
    size_t a = lo, b = end;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (g->buckets[g->bucket_by_obj[mid]].index < index)
            a = mid + 1;
        else
            b = mid;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = pass ? lo : a; i < end; i++) {
            const mp_bucket *bk = &g->buckets[g->bucket_by_obj[i]];
            if (!pass && bk->index != index) break;
            if (bk->map == m && bk->index == index && bk->overflow == overflow && bk->old == old &&
                !bk->aux)
                return g->bucket_by_obj[i];
        }
    }
    return MP_NONE;
}

/* The index of x among t[0..n), or n. */
static size_t target_index(const uint32_t *t, size_t n, uint32_t x)
{
    size_t i = 0;
    while (i < n && t[i] != x) i++;
    return i;
}

static bool has_target(const uint32_t *t, size_t n, uint32_t x)
{
    return target_index(t, n, x) < n;
}

/* The edge offsets offsets_of has decoded, every reader on every thread
 * (mp_entry_offsets_decoded). */
static uint64_t offsets_decoded;

uint64_t mp_entry_offsets_decoded(void)
{
    return __atomic_load_n(&offsets_decoded, __ATOMIC_RELAXED);
}

/* The offsets of object o's out edges, decoded once per object (entries
 * come bucket by bucket, and a bucket array holds many; the two objects
 * kept are a bucket array and an overflow bucket met between two of its
 * buckets); NULL when one is not known or out of memory. */
static mp_edge_offsets *offsets_of(const mp_graph *g, mp_entry_reader *r, uint32_t o)
{
    unsigned k = r->c[0].obj == o ? 0 : r->c[1].obj == o ? 1 : r->last ^ 1;
    mp_edge_offsets *rd = &r->c[k];
    r->last = k;
    if (rd->obj == o) return rd->ok ? rd : NULL;
    uint64_t b = mp_out_begin(g, o), n = mp_out_end(g, o) - b;
    rd->obj = o;
    rd->ok = false;
    rd->n = rd->at = 0;
    if (n > SIZE_MAX / sizeof *rd->off) return NULL;
    if (n > rd->cap) {
        uint32_t *p = realloc(rd->off, (size_t)n * sizeof *p);
        if (!p) return NULL;
        rd->off = p;
        rd->cap = (size_t)n;
    }
    mp_pack_cursor c;
    mp_pack_cursor_init(&c, &g->offsets, (size_t)b);
    uint64_t f;
    while (rd->n < n && mp_pack_next(&c, &f) && f) rd->off[rd->n++] = (uint32_t)(f - 1);
    mp_pack_cursor_free(&c);
    __atomic_fetch_add(&offsets_decoded, (uint64_t)rd->n, __ATOMIC_RELAXED);
    rd->ok = rd->n == n;
    return rd->ok ? rd : NULL;
}

/* The first of the object's edges in rd at or past offset lo. Entries
 * come bucket by bucket, and the eight of a bucket ask for the same lo:
 * the answer is where the last one was found or near it, so it is looked
 * for from there, in steps that double, forward or back, and only then by
 * halves between the last two steps (a bucket array of millions of edges
 * would otherwise cost a search of the whole array an entry). */
static size_t first_edge_at(mp_edge_offsets *rd, uint64_t lo)
{
    const uint32_t *off = rd->off;
    size_t n = rd->n, p = rd->at < n ? rd->at : n;
    /* the answer lies in [a, z]: off[a - 1] < lo (or a is 0), and
     * off[z] >= lo (or z is n) */
    size_t a = 0, z = n;
    if (p < n && off[p] < lo) {
        size_t below = p; /* off[below] < lo */
        for (size_t step = 1;; step *= 2) {
            if (step >= n - below) break; /* z stays n */
            if (off[below + step] >= lo) {
                z = below + step;
                break;
            }
            below += step;
        }
        a = below + 1;
    } else {
        z = p; /* off[z] >= lo, or z is n */
        for (size_t step = 1; z > 0; step *= 2) {
            size_t back = z > step ? z - step : 0;
            if (off[back] < lo) {
                a = back + 1;
                break;
            }
            z = back;
        }
    }
    while (a < z) {
        size_t mid = a + (z - a) / 2;
        if (off[mid] < lo)
            a = mid + 1;
        else
            z = mid;
    }
    rd->at = a;
    return a;
}

/* Adds to out[*n..] the targets of o's out edges (from b; offsets in rd,
 * from its edge `from` on, in offset order) whose offsets lie in [lo, hi),
 * each object once, counting in words[] the edges to each. false: more
 * than MP_ENTRY_MAX_TARGETS. */
static bool targets_in(const mp_graph *g, const mp_edge_offsets *rd, uint64_t b, size_t from,
                       uint64_t lo, uint64_t hi, uint32_t *out, uint32_t *words, size_t *n)
{
    size_t i = from;
    while (i < rd->n && rd->off[i] < lo) i++;
    for (; i < rd->n && rd->off[i] < hi; i++) {
        uint32_t t = g->out.adj[b + i];
        size_t k = target_index(out, *n, t);
        if (k == *n) {
            if (*n == MP_ENTRY_MAX_TARGETS) return false;
            out[(*n)++] = t;
            words[k] = 0;
        }
        words[k]++;
    }
    return true;
}

size_t mp_entry_targets(const mp_graph *g, mp_entry_reader *rd, const mp_entry *e, uint32_t *out,
                        uint32_t *words, size_t *nkey)
{
    uint32_t unused[MP_ENTRY_MAX_TARGETS];
    if (!words) words = unused;
    uint32_t o = e->bucket_obj;
    const mp_map *m = e->map < g->nmaps ? &g->maps[e->map] : NULL;
    /* a slot of one word holds one pointer at most: the entry's key and
     * value objects are then all there is, and the bucket's edges need
     * not be read */
    if (m && o < g->nobjects && (m->key_size > 8 || m->value_size > 8) &&
        mp_out_end(g, o) > mp_out_begin(g, o)) {
        /* where the bucket starts in o: a main or old bucket is at its
         * index in its array; others (overflow buckets) as recorded */
        uint64_t start = UINT64_MAX;
        if (!e->overflow && m->bucket_size && o == (e->old ? m->oldbuckets : m->buckets) &&
            e->bucket < mp_obj_size(g, o) / m->bucket_size) {
            start = e->bucket * m->bucket_size;
        } else {
            uint32_t r = mp_graph_bucket_record(g, o, e->map, e->bucket, e->overflow, e->old);
            if (r != MP_NONE && g->buckets[r].address >= mp_obj_addr(g, o))
                start = g->buckets[r].address - mp_obj_addr(g, o);
        }
        mp_edge_offsets *eo = start != UINT64_MAX ? offsets_of(g, rd, o) : NULL;
        if (eo) {
            /* a bucket: tophash[8], 8 keys, 8 values, the overflow pointer */
            uint64_t b = mp_out_begin(g, o), ks = m->key_size, vs = m->value_size;
            uint64_t at = start + 8;
            uint64_t k0 = at + e->slot * ks, v0 = at + 8 * ks + e->slot * vs;
            size_t n = 0, nk, from = first_edge_at(eo, start);
            bool ok = targets_in(g, eo, b, from, k0, k0 + ks, out, words, &n);
            nk = n;
            ok = ok && targets_in(g, eo, b, from, v0, v0 + vs, out, words, &n);
            /* the layout is the loader's when the entry's own key and
             * value objects are among what its slots hold */
            if (ok && (e->key_obj == MP_NONE || has_target(out, nk, e->key_obj)) &&
                (e->value_obj == MP_NONE || has_target(out, n, e->value_obj))) {
                *nkey = nk;
                return n;
            }
        }
    }
    size_t n = 0;
    if (e->key_obj != MP_NONE) words[n] = 1, out[n++] = e->key_obj;
    *nkey = n;
    if (e->value_obj != MP_NONE && e->value_obj == e->key_obj)
        words[0]++;
    else if (e->value_obj != MP_NONE)
        words[n] = 1, out[n++] = e->value_obj;
    return n;
}

void mp_entry_reader_free(mp_entry_reader *rd)
{
    free(rd->c[0].off);
    free(rd->c[1].off);
    *rd = (mp_entry_reader)MP_ENTRY_READER_INIT;
}

const char *mp_graph_type_name(const mp_graph *g, uint32_t o)
{
    if (o >= g->nobjects || g->type[o] == MP_NONE) return "?";
    const char *s = mp_str(g, g->types[g->type[o]].name);
    return *s ? s : "?";
}

const mp_map_aside mp_map_aside_none;

void mp_graph_free(mp_graph *g)
{
    if (!g) return;
    free((char *)g->info.name);
    mp_dom_reserve_free(g->dom_reserve);
    free(g->paths_spare); /* the memory is size32's */
    free(g->computed);
    if (g->mapped) {
        munmap(g->mapped, g->mapped_len);
        free(g);
        return;
    }
    free(g->addr_lo);
    free(g->addr_runs);
    free(g->size32);
    free(g->big);
    free(g->type);
    free(g->samples);
    free(g->sampled_bits);
    mp_csr_free(&g->out);
    mp_csr_free(&g->in);
    mp_pack_free(&g->offsets);
    free(g->types);
    free(g->roots);
    free(g->maps);
    free(g->map_aside);
    free(g->buckets);
    mp_pack_free(&g->entries);
    free(g->frames);
    free(g->stacks);
    free(g->strs);
    free(g->bucket_by_obj);
    free(g->bucket_bits);
    free(g->map_by_header);
    free(g->table_objs);
    free(g->table_bits);
    free(g);
}
