/*
 * src/analyze/godump_maps.c -- Go's classic maps in a heap dump: checking
 * an hmap against its bucket arrays, inferring the key/value layout, and
 * handing buckets and entries to the graph builder (see godump_maps.h).
 */
#include "analyze/godump_maps.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_TOPHASH 5
#define MAX_KV 256 /* key + value slot bytes: each at most 128 (larger ones are indirect) */

/* -------------------------------------------------------- map walking --- */

/* Where a map's bucket array lies: a heap object (its payload) or a frame. */
typedef struct array {
    uint64_t addr;     /* first bucket */
    uint64_t nbuckets; /* main buckets */
    uint64_t total;    /* buckets it holds, preallocated overflow ones included */
    uint32_t heap_obj; /* MP_GD_NONE: in a frame */
    uint32_t frame;
} array;

typedef struct walk {
    mp_gomap *m;
    uint32_t bs;
    uint64_t live, overflow, limit;
    int score;
    /* emission (NULL: only count) */
    mp_graph_builder *b;
    const uint32_t *newix;
    uint32_t map;
    uint32_t value_type; /* given to the objects values point to, MP_NONE none */
    /* visiting live values (or keys, when keys) instead (NULL: none) */
    void (*visit)(void *ud, const uint8_t *slot);
    void *ud;
    bool keys;
    mp_gdmem *M;
    /* while emitting an old array with spare buckets: the array, and a bit
     * per spare bucket (index - nbuckets) set once a bucket record names
     * it (NULL: none kept) */
    const array *spares_of;
    uint8_t *spare_seen;
} walk;

/* Locates a bucket array of 2^B main buckets of bs bytes at address a and
 * checks that its size is what makeBucketArray allocates. */
static bool locate_array(const mp_gdmem *M, uint64_t a, unsigned B, uint32_t bs, array *out)
{
    if (B > 40) return false;
    uint64_t nb = 1ull << B;
    out->addr = a;
    out->nbuckets = nb;
    out->heap_obj = mp_gdmem_heap_start(M, a);
    if (out->heap_obj == MP_GD_NONE) { /* a small map's bucket in its frame */
        out->frame = B == 0 ? mp_gdmem_frame_at(M, a, bs) : MP_GD_NONE;
        out->total = 1;
        return out->frame != MP_GD_NONE;
    }
    const mf_gd_object *o = &M->d->objects[out->heap_obj];
    uint64_t payload = o->size - mp_gdmem_header_bytes(M, o->size);
    uint64_t want = nb * bs;
    if (B >= 4) want += (nb >> 4) * bs;
    uint64_t size = want + mp_gdmem_header_bytes(M, want + 8 > 512 ? want + 8 : want);
    if (mp_go_roundupsize(size) != o->size) return false;
    out->total = B >= 4 ? payload / bs : nb;
    return true;
}

/* Whether b is the address of an overflow bucket: a preallocated one of
 * the array, or an object of its own. */
static bool overflow_ok(const mp_gdmem *M, const array *ar, uint64_t b, uint32_t bs)
{
    if (ar->heap_obj != MP_GD_NONE && b >= ar->addr + ar->nbuckets * bs &&
        b < ar->addr + ar->total * bs && (b - ar->addr) % bs == 0)
        return true;
    uint32_t o = mp_gdmem_heap_start(M, b);
    if (o == MP_GD_NONE) return false;
    uint64_t sz = M->d->objects[o].size;
    return mp_go_roundupsize(bs + mp_gdmem_header_bytes(M, bs + 8)) == sz;
}

static void emit_bucket(walk *W, const array *ar, uint64_t b, uint64_t index, uint32_t depth,
                        bool old, const uint8_t *p);

/* Hands the value slot (or key slot) of every live cell of bucket p to
 * the visitor. */
static void visit_values(walk *W, const uint8_t *p)
{
    const mp_gomap *m = W->m;
    for (int s = 0; s < 8; s++)
        if (p[s] >= MIN_TOPHASH)
            W->visit(W->ud, W->keys ? p + 8 + (size_t)s * m->ksize
                                    : p + 8 + 8 * (size_t)m->ksize + (size_t)s * m->vsize);
}

/* Walks the chain of bucket `index` starting at address b: checks every
 * tophash (evacuation marks only in an old bucket's first slot, nothing but
 * empty cells after an emptyRest) and counts live cells. false: not a
 * bucket chain of this layout. */
static bool walk_chain(walk *W, const array *ar, uint64_t index, bool old)
{
    mp_gdmem *M = W->M;
    uint32_t bs = W->bs;
    uint64_t b = ar->addr + index * bs;
    bool rest = false;
    const mf_gd_object *ao = ar->heap_obj != MP_GD_NONE ? &M->d->objects[ar->heap_obj] : NULL;
    for (uint32_t depth = 0;; depth++) {
        /* buckets of the array (preallocated overflow ones too) without a search */
        const uint8_t *p = ao && b >= ar->addr && b - ar->addr < ar->total * bs
                               ? M->d->data + ao->contents + (b - ao->addr)
                               : mp_gdmem_read(M, b, bs);
        if (!p) return false;
        for (int i = 0; i < 8; i++) {
            uint8_t th = p[i];
            if (rest && th != 0) return false;
            if (th == 0) rest = true;
            if (th >= 2 && th < MIN_TOPHASH) return false;
            if (th >= MIN_TOPHASH) W->live++;
        }
        if (W->b) emit_bucket(W, ar, b, index, depth, old, p);
        if (W->visit) visit_values(W, p);
        uint64_t next = mp_gd_rd64(p + bs - 8);
        if (!next) return true;
        if (++W->overflow > W->limit || depth + 1 > MP_BUCKET_MAX_OVERFLOW ||
            !overflow_ok(M, ar, next, bs))
            return false;
        b = next;
    }
}

/*
 * Adds the overflow buckets of evacuated old bucket `index` (its bytes at
 * p) to the table. Go clears an evacuated bucket's keys, values and
 * overflow word only when no iterator may still be reading the old array;
 * with one open (flag oldIterator), or when the bucket has no pointers at
 * all (then oldoverflow keeps the chain), the chain stays alive, so the
 * table holds it. Its cells carry evacuation marks only: no entries. The
 * walk stops at anything that is not an overflow bucket of this size.
 */
static void emit_evacuated(walk *W, const array *ar, uint64_t index, const uint8_t *p)
{
    uint32_t bs = W->bs;
    for (uint32_t depth = 1; depth <= W->limit && depth <= MP_BUCKET_MAX_OVERFLOW; depth++) {
        uint64_t next = mp_gd_rd64(p + bs - 8);
        if (!next || !overflow_ok(W->M, ar, next, bs)) return;
        p = mp_gdmem_read(W->M, next, bs);
        if (!p) return;
        emit_bucket(W, ar, next, index, depth, true, p);
    }
}

/* Whether all 8 cells of bucket p carry evacuation marks, as evacuate
 * leaves every bucket of a chain it has moved. */
static bool all_evacuated(const uint8_t *p)
{
    for (int i = 0; i < 8; i++)
        if (p[i] < 2 || p[i] >= MIN_TOPHASH) return false;
    return true;
}

/* The index in array ar of a spare bucket (set aside past its main ones)
 * at address b, or UINT64_MAX when b is none. */
static uint64_t spare_index(const array *ar, uint64_t b, uint32_t bs)
{
    if (ar->heap_obj == MP_GD_NONE || b < ar->addr + ar->nbuckets * bs ||
        b >= ar->addr + ar->total * bs || (b - ar->addr) % bs)
        return UINT64_MAX;
    return (b - ar->addr) / bs;
}

/* Whether a bucket record names the spare bucket at b of the old array
 * being emitted (see walk.spare_seen); mark: note that one does now. */
static bool spare_noted(walk *W, uint64_t b, bool mark)
{
    uint64_t i = W->spare_seen ? spare_index(W->spares_of, b, W->bs) : UINT64_MAX;
    if (i == UINT64_MAX) return false;
    uint64_t k = i - W->spares_of->nbuckets;
    if (mark) W->spare_seen[k >> 3] |= (uint8_t)(1u << (k & 7));
    return W->spare_seen[k >> 3] >> (k & 7) & 1;
}

/*
 * Adds to the table the evacuated chains that hang off spare buckets of
 * the old array ar which no chain reached. Go clears the overflow word of
 * an evacuated chain's first bucket only: a spare bucket further down
 * the chain lies in the old array, which the header keeps, so its overflow
 * word still holds the rest of the chain alive. Such a chain holds no
 * entry (every cell an evacuation mark: the walk stops at a bucket that
 * is not so, or not an overflow bucket of this size); its buckets are
 * recorded under the spare's index, as overflow buckets 1, 2, ... since
 * the bucket whose chain it was is no longer known.
 */
static void emit_spare_chains(walk *W, const array *ar)
{
    uint32_t bs = W->bs;
    for (uint64_t i = ar->nbuckets; i < ar->total; i++) {
        uint64_t b = ar->addr + i * bs;
        if (spare_noted(W, b, false)) continue;
        const uint8_t *p = mp_gdmem_read(W->M, b, bs);
        for (uint32_t depth = 1; p && all_evacuated(p) && depth <= MP_BUCKET_MAX_OVERFLOW;
             depth++) {
            emit_bucket(W, ar, b, i, depth, true, p);
            uint64_t next = mp_gd_rd64(p + bs - 8);
            if (!next || !overflow_ok(W->M, ar, next, bs) || spare_noted(W, next, false)) break;
            b = next;
            p = mp_gdmem_read(W->M, b, bs);
        }
    }
}

/* Walks a whole map with bucket size bs: main chains, then the old chains
 * not yet evacuated (when emitting, also what evacuated ones still hold).
 * The live cells counted must be the header's count. */
static bool walk_map(walk *W)
{
    mp_gomap *m = W->m;
    uint32_t bs = W->bs;
    W->live = W->overflow = 0;
    W->score = 0;
    if (!m->buckets) return m->count == 0 && !m->oldbuckets;
    array ar;
    if (!locate_array(W->M, m->buckets, m->B, bs, &ar)) return false;
    W->limit = 2 * ar.total + m->count + 65536;
    for (uint64_t i = 0; i < ar.nbuckets; i++)
        if (!walk_chain(W, &ar, i, false)) return false;
    /* the last preallocated bucket's overflow word points at the array
     * until it is used: a sign the layout is right */
    if (ar.heap_obj != MP_GD_NONE && ar.total > ar.nbuckets) {
        const uint8_t *p = mp_gdmem_read(W->M, ar.addr + ar.total * bs - 8, 8);
        if (p && mp_gd_rd64(p) == ar.addr) W->score += 4;
    }
    if (m->oldbuckets) {
        bool same = m->flags & 8;
        if (!same && m->B == 0) return false;
        array old;
        if (!locate_array(W->M, m->oldbuckets, same ? m->B : m->B - 1u, bs, &old)) return false;
        if (m->nevacuate > old.nbuckets) return false;
        /* emitting: the spare buckets the chains reach are noted, for the
         * chains of the others after */
        bool spares = W->b && old.heap_obj != MP_GD_NONE && old.total > old.nbuckets;
        if (spares) {
            W->spare_seen = calloc((size_t)((old.total - old.nbuckets) / 8 + 1), 1);
            if (W->spare_seen) W->spares_of = &old;
        }
        bool ok = true;
        for (uint64_t j = 0; ok && j < old.nbuckets; j++) {
            const uint8_t *p = mp_gdmem_read(W->M, old.addr + j * bs, bs);
            if (!p) {
                ok = false;
            } else if (p[0] >= 2 && p[0] < MIN_TOPHASH) { /* evacuated */
                if (W->b) emit_evacuated(W, &old, j, p);
            } else {
                ok = walk_chain(W, &old, j, true);
            }
        }
        if (ok && W->spare_seen) emit_spare_chains(W, &old);
        free(W->spare_seen);
        W->spare_seen = NULL;
        W->spares_of = NULL;
        if (!ok) return false;
    }
    return W->live == m->count;
}

/* --------------------------------------------------------- key layout --- */

/* Whether, for a key slot of k bytes (and values of v), the pointer words
 * of bucket 0 (pat, in words from the bucket start) repeat identically in
 * all 8 key slots and all 8 value slots; the slot patterns go to kp/vp. */
static bool split_ok(const uint64_t *pat, uint32_t bs, uint32_t k, uint32_t v, uint64_t *kp,
                     uint64_t *vp)
{
    memset(kp, 0, 5 * sizeof *kp);
    memset(vp, 0, 5 * sizeof *vp);
    unsigned words = bs / 8;
    for (unsigned w = 1; w + 1 < words; w++) { /* between tophash and overflow */
        uint64_t off = (uint64_t)w * 8 - 8;    /* from the first key */
        bool isp = mp_gd_bit_get(pat, w);
        if (off < 8ull * k) {
            if (!isp) continue;
            if (off % k % 8) return false;
            if (off / k == 0) mp_gd_bit_set(kp, (unsigned)(off % k / 8));
        } else {
            off -= 8ull * k;
            if (!isp) continue;
            if (!v || off % v % 8) return false;
            if (off / v == 0) mp_gd_bit_set(vp, (unsigned)(off % v / 8));
        }
    }
    /* every slot has its slot's pattern */
    for (unsigned w = 1; w + 1 < words; w++) {
        uint64_t off = (uint64_t)w * 8 - 8;
        bool isp = mp_gd_bit_get(pat, w);
        bool want;
        if (off < 8ull * k)
            want = off % k % 8 == 0 && mp_gd_bit_get(kp, (unsigned)(off % k / 8));
        else
            want = v && (off - 8ull * k) % v % 8 == 0 &&
                   mp_gd_bit_get(vp, (unsigned)((off - 8ull * k) % v / 8));
        if (isp != want) return false;
    }
    return true;
}

static bool pat_empty(const uint64_t *p)
{
    return !(p[0] | p[1] | p[2] | p[3] | p[4]);
}

static bool pat_only_first(const uint64_t *p)
{
    return p[0] == 1 && !(p[1] | p[2] | p[3] | p[4]);
}

/* Whether every live key of the map, as a (pointer, length) pair, is a
 * plausible Go string. */
static bool keys_are_strings(mp_gdmem *M, mp_gomap *m, const array *ar, uint32_t bs)
{
    uint64_t seen = 0;
    for (uint64_t i = 0; i < ar->nbuckets && seen < 4096; i++) {
        uint64_t b = ar->addr + i * bs;
        for (int depth = 0; depth < 64 && b; depth++) {
            const uint8_t *p = mp_gdmem_read(M, b, bs);
            if (!p) return false;
            for (int s = 0; s < 8; s++) {
                if (p[s] < MIN_TOPHASH) continue;
                uint64_t ptr = mp_gd_rd64(p + 8 + 16 * s), len = mp_gd_rd64(p + 16 + 16 * s);
                if (len > (1ull << 40) || (len && !ptr)) return false;
                if (len) {
                    size_t o = mf_gd_find(M->d, ptr);
                    if (o != SIZE_MAX &&
                        len > M->d->objects[o].size - (ptr - M->d->objects[o].addr))
                        return false;
                }
                seen++;
            }
            b = mp_gd_rd64(p + bs - 8);
            if (b && !overflow_ok(M, ar, b, bs)) break;
        }
    }
    (void)m;
    return true;
}

/* Whether address a is in memory the dump holds: a heap object, a frame
 * object, the data or bss segment. A type descriptor or an itab is not
 * (read-only data, or the runtime's own allocations). */
static bool dumped(const mp_gdmem *M, uint64_t a)
{
    const mf_gd_segment *sg[2] = {&M->d->data_seg, &M->d->bss_seg};
    for (int i = 0; i < 2; i++)
        if (sg[i]->present && a >= sg[i]->start && a - sg[i]->start < sg[i]->contents.len)
            return true;
    return mp_gdmem_find(M, a) != MP_GD_NONE || mp_gdmem_frame_at(M, a, 1) != MP_GD_NONE;
}

/* What an interface's data word d says of a boxed string: 1 it points at
 * one (a 16-byte heap object whose one pointer word is its first, a
 * string header whose bytes fit where they are), 0 it points where no
 * dumped memory is (a literal's header, a static box: it tells nothing),
 * -1 anything else. */
static int boxed_string(const mp_gdmem *M, uint64_t d)
{
    uint32_t o = mp_gdmem_heap_start(M, d);
    if (o == MP_GD_NONE || o >= M->nheap) return dumped(M, d) ? -1 : 0;
    const mf_gd_object *x = &M->d->objects[o];
    if (x->size != 16 || x->nfields != 1) return -1;
    uint64_t pos = x->fields;
    if (mf_gd_next_field(M->d, &pos) != 0) return -1;
    const uint8_t *h = M->d->data + x->contents;
    uint64_t ptr = mp_gd_rd64(h), len = mp_gd_rd64(h + 8);
    if (len > (1ull << 40) || (len && !ptr)) return -1;
    size_t b = len ? mf_gd_find(M->d, ptr) : SIZE_MAX;
    if (b != SIZE_MAX && len > M->d->objects[b].size - (ptr - M->d->objects[b].addr)) return -1;
    return 1;
}

/* (Go's linker puts .rodata, the type descriptors and static itabs
 * there, before .data; the runtime's own itabs are off the heap and in
 * the dump's itab records.) */
bool mp_gomap_type_word(const mp_gdmem *M, uint64_t w)
{
    const mf_gd_dump *d = M->d;
    if (mf_gd_itab_type(d, w) || mf_gd_find_type(d, w)) return true;
    return d->data_seg.present && w % 8 == 0 && w < d->data_seg.start &&
           d->data_seg.start - w < (1ull << 30) && !dumped(M, w);
}

/* The keys of a map seen as interfaces (see mp_gomap.iface_shape). */
typedef struct keyscan {
    const mp_gdmem *M;
    bool fails;
    uint64_t nonnil, itabs;
    struct {
        uint64_t tw;
        uint64_t strings, others;
    } t[8];
    unsigned nt;
} keyscan;

static void scan_key(void *ud, const uint8_t *k)
{
    keyscan *S = ud;
    uint64_t tw = mp_gd_rd64(k), dw = mp_gd_rd64(k + 8);
    if (S->fails) return;
    if (!tw) {
        S->fails |= dw != 0; /* a nil interface has both words nil */
        return;
    }
    if (!mp_gomap_type_word(S->M, tw)) {
        S->fails = true;
        return;
    }
    S->nonnil++;
    if (mf_gd_itab_type(S->M->d, tw)) S->itabs++;
    unsigned i = 0;
    while (i < S->nt && S->t[i].tw != tw) i++;
    if (i == S->nt) {
        if (S->nt == 8) return; /* more types than kept: none of them told */
        S->t[S->nt++].tw = tw;
    }
    int b = boxed_string(S->M, dw);
    if (b > 0) S->t[i].strings++;
    if (b < 0) S->t[i].others++;
}

static bool walk_map(walk *W);

/* Whether the keys of a map whose layout is guessed look like interfaces
 * (mp_gomap.iface_shape): a 16-byte key whose second word alone is a
 * pointer word (the collector never scans an interface's first), and
 * every live key's first word nil (with the second) or a type word; then
 * which of the type words are boxed strings'. */
static void scan_interface_keys(mp_gdmem *M, mp_gomap *m)
{
    if (m->ksize != 16 || m->kpat[0] != 2 || (m->kpat[1] | m->kpat[2] | m->kpat[3] | m->kpat[4]))
        return;
    keyscan S = {.M = M};
    walk W = {.m = m, .bs = m->bs, .M = M, .visit = scan_key, .ud = &S, .keys = true};
    if (!walk_map(&W) || S.fails || !S.nonnil || (S.itabs && S.itabs != S.nonnil)) return;
    m->iface_shape = true;
    m->iface_itab = S.itabs > 0;
    for (unsigned i = 0; i < S.nt; i++)
        if (S.t[i].strings && !S.t[i].others) m->string_types[m->nstring_types++] = S.t[i].tw;
}

/* Whether tw is a type word of m's whose keys box strings. */
static bool string_type(const mp_gomap *m, uint64_t tw)
{
    for (unsigned i = 0; i < m->nstring_types; i++)
        if (m->string_types[i] == tw) return true;
    return false;
}

static const char *int_name(uint32_t size)
{
    switch (size) {
    case 1:
        return "int8";
    case 2:
        return "int16";
    case 4:
        return "int32";
    default:
        return "int64";
    }
}

/* Names a slot by its inferred layout: "string", "*?", "int64", "[12]byte". */
void mp_gomap_slot_name(char *buf, size_t size, uint32_t bytes, const uint64_t *pat, bool string)
{
    if (string)
        snprintf(buf, size, "string");
    else if (bytes == 0)
        snprintf(buf, size, "struct {}");
    else if (bytes == 8 && pat_only_first(pat))
        snprintf(buf, size, "*?");
    else if (bytes == 24 && pat_only_first(pat))
        snprintf(buf, size, "[]?");
    else if (pat_empty(pat) && (bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8))
        snprintf(buf, size, "%s", int_name(bytes));
    else
        snprintf(buf, size, "[%u]byte", bytes);
}

/* Names the value slot of a guessed layout, pointers with what they point
 * at: the name that tells two pointer types of one layout apart. */
void mp_gomap_value_name(char *buf, size_t size, const mp_gomap *m)
{
    mp_gomap_slot_name(buf, size, m->vsize, m->vpat, false);
    if (m->pointee_size && strcmp(buf, "*?") == 0)
        snprintf(buf, size, "*?(%" PRIu64 " bytes)", m->pointee_size);
}

/* What first_pointee looks for: the first value that points at an object. */
typedef struct pointee {
    mp_gdmem *M;
    uint64_t size;
} pointee;

/* A visitor of a map's values: notes the size of the object the first of
 * them that points at one points to (into, for an element of an array). */
static void first_pointee(void *ud, const uint8_t *value)
{
    pointee *P = ud;
    if (P->size) return;
    uint64_t a = mp_gd_rd64(value);
    uint32_t o = a ? mp_gdmem_find(P->M, a) : MP_GD_NONE;
    if (o != MP_GD_NONE) P->size = mp_gdmem_obj_size(P->M, o);
}

/* Chooses the key/value split of a map whose bucket size is known: from
 * the binary's map type when one fits, else from the pointer layout and
 * the keys themselves. */
static void choose_split(mp_gdmem *M, mp_gomap *m, const uint64_t *pat, bool pointerful)
{
    uint32_t bs = m->bs, t = (bs - 16) / 8;
    array ar = {0};
    bool have_array = m->buckets && locate_array(M, m->buckets, m->B, bs, &ar);
    const mp_gomaptype *ty = m->type;
    if (!ty && M->bin) {
        /* the program's map types of this bucket size whose split fits */
        const mp_gomaptype *c[64];
        size_t nc = mp_gobin_maps_of_bucket(M->bin, bs, c, 64), fit = 0;
        const mp_gomaptype *first = NULL;
        bool same_split = true, same_name = true;
        for (size_t i = 0; i < nc && i < 64; i++) {
            uint64_t kp[5], vp[5];
            if (pointerful && !split_ok(pat, bs, c[i]->key_size, c[i]->value_size, kp, vp))
                continue;
            if (!pointerful && c[i]->key_has_pointers) continue;
            if (!first)
                first = c[i];
            else {
                same_split &=
                    first->key_size == c[i]->key_size && first->key_kind == c[i]->key_kind;
                same_name &= strcmp(first->name, c[i]->name) == 0;
            }
            fit++;
        }
        if (first && same_split) {
            ty = first;
            m->inferred = !(fit == 1 || same_name);
        }
    }
    if (ty) {
        m->ksize = ty->key_size;
        m->vsize = ty->value_size;
        m->go_key_kind = ty->key_indirect ? MP_GOKIND_PTR : ty->key_kind;
        m->type = ty;
        if (!pointerful || !split_ok(pat, bs, m->ksize, m->vsize, m->kpat, m->vpat)) {
            memset(m->kpat, 0, sizeof m->kpat);
            memset(m->vpat, 0, sizeof m->vpat);
            if (ty->key_indirect || ty->key_kind == MP_GOKIND_PTR ||
                ty->key_kind == MP_GOKIND_STRING)
                m->kpat[0] = 1;
            if (ty->value_indirect || ty->value_kind == MP_GOKIND_PTR) m->vpat[0] = 1;
        }
        switch (m->go_key_kind) {
        case MP_GOKIND_STRING:
            m->key_kind = MP_KEY_STRING;
            break;
        case MP_GOKIND_PTR:
        case MP_GOKIND_CHAN:
        case MP_GOKIND_UNSAFEPTR:
            m->key_kind = MP_KEY_PTR;
            break;
        default:
            if (m->go_key_kind >= MP_GOKIND_INT && m->go_key_kind <= MP_GOKIND_UINTPTR) {
                m->key_kind = MP_KEY_INT;
                m->key_signed = m->go_key_kind <= MP_GOKIND_INT64;
            } else {
                m->key_kind = ty->key_has_pointers ? MP_KEY_PTR : MP_KEY_BYTES;
            }
        }
        snprintf(m->name, sizeof m->name, "%s", ty->name);
        if (m->inferred)
            snprintf(m->name, sizeof m->name, "map[%s]%s", ty->key_name, ty->value_name);
        return;
    }
    m->inferred = true;
    if (bs < 16) { /* an empty map without buckets: nothing to infer from */
        m->bs = m->ksize = m->vsize = 0;
        m->key_kind = MP_KEY_OTHER;
        snprintf(m->name, sizeof m->name, "map[?]?");
        return;
    }
    bool string_keys = false;
    if (pointerful) {
        static const uint32_t prefs[] = {16, 8, 4, 24, 32, 12, 2, 1, 40, 48, 56, 64};
        bool found = false;
        if (t >= 16 && split_ok(pat, bs, 16, t - 16, m->kpat, m->vpat) && pat_only_first(m->kpat) &&
            have_array && keys_are_strings(M, m, &ar, bs)) {
            m->ksize = 16;
            string_keys = found = true;
        }
        for (size_t i = 0; !found && i < sizeof prefs / sizeof *prefs; i++)
            if (prefs[i] <= t && split_ok(pat, bs, prefs[i], t - prefs[i], m->kpat, m->vpat)) {
                m->ksize = prefs[i];
                found = true;
            }
        for (uint32_t k = 0; !found && k <= t; k++)
            if (split_ok(pat, bs, k, t - k, m->kpat, m->vpat)) {
                m->ksize = k;
                found = true;
            }
        if (!found) { /* cannot be: bucket 0 repeats some split */
            m->ksize = t;
            memset(m->kpat, 0, sizeof m->kpat);
            memset(m->vpat, 0, sizeof m->vpat);
        }
    } else {
        /* no pointers: the commonest keys are 8-byte integers */
        m->ksize = t >= 8 ? 8 : t;
    }
    m->vsize = t - m->ksize;
    if (pointerful && have_array && !string_keys) scan_interface_keys(M, m);
    if (string_keys)
        m->key_kind = MP_KEY_STRING;
    else if (!pat_empty(m->kpat))
        m->key_kind = MP_KEY_PTR;
    else if (m->ksize == 8 || m->ksize == 4 || m->ksize == 2 || m->ksize == 1)
        m->key_kind = MP_KEY_INT, m->key_signed = true;
    else
        m->key_kind = MP_KEY_BYTES;
    char kn[40], vn[40];
    mp_gomap_slot_name(kn, sizeof kn, m->ksize, m->kpat, string_keys);
    if (m->iface_shape) snprintf(kn, sizeof kn, "%s", m->iface_itab ? "interface {...}" : "interface {}");
    if (have_array && m->vsize == 8 && pat_only_first(m->vpat)) {
        pointee P = {.M = M};
        walk W = {.m = m, .bs = m->bs, .M = M, .visit = first_pointee, .ud = &P};
        if (walk_map(&W)) m->pointee_size = P.size;
    }
    mp_gomap_value_name(vn, sizeof vn, m);
    snprintf(m->name, sizeof m->name, "map[%s]%s", kn, vn);
}

/* Recognises a map from its header fields (read at hdr, 48 bytes): the
 * bucket size that makes the whole table check out, then the key/value
 * split. exact: the map type a typed root gives, or NULL. */
bool mp_gomap_recognise(mp_gdmem *M, uint64_t addr, const uint8_t *hdr, const mp_gomaptype *exact,
                        mp_gomap *m)
{
    memset(m, 0, sizeof *m);
    m->addr = addr;
    m->count = mp_gd_rd64(hdr);
    m->flags = hdr[8];
    m->B = hdr[9];
    m->noverflow = (uint16_t)(hdr[10] | hdr[11] << 8);
    m->hash0 = (uint32_t)hdr[12] | (uint32_t)hdr[13] << 8 | (uint32_t)hdr[14] << 16 |
               (uint32_t)hdr[15] << 24;
    m->buckets = mp_gd_rd64(hdr + 16);
    m->oldbuckets = mp_gd_rd64(hdr + 24);
    m->nevacuate = mp_gd_rd64(hdr + 32);
    m->extra = mp_gd_rd64(hdr + 40);
    if (m->flags >= 16 || m->B > 40 || (!m->buckets && m->count)) return false;
    if (m->B < 63 && m->count > (8ull << m->B) * 64) return false;
    if (m->extra && mp_gdmem_heap_start(M, m->extra) == MP_GD_NONE) return false;
    if (m->oldbuckets && mp_gdmem_heap_start(M, m->oldbuckets) == MP_GD_NONE) return false;
    if (!m->buckets) { /* an empty map that never had a bucket */
        if (exact) {
            m->bs = exact->bucket_size;
            m->type = exact;
        }
        choose_split(M, m, (uint64_t[5]){0}, false);
        return true;
    }
    uint32_t ao = mp_gdmem_heap_start(M, m->buckets);
    bool pointerful;
    if (ao != MP_GD_NONE)
        pointerful = M->d->objects[ao].nfields > 0;
    else {
        uint32_t f = m->B == 0 ? mp_gdmem_frame_at(M, m->buckets, 16) : MP_GD_NONE;
        if (f == MP_GD_NONE) return false;
        pointerful = true; /* decided per candidate below */
    }
    walk W = {.m = m, .M = M};
    uint32_t best = 0;
    int best_score = -1;
    uint64_t best_pat[5] = {0};
    bool best_ptr = false;
    /* a heap array of S bytes holds between (the size class below S) and S
     * bytes of buckets: only the bucket sizes in that range are tried */
    uint32_t kmin = 0, kmax = MAX_KV;
    if (ao != MP_GD_NONE && m->B <= 40) {
        uint64_t S = M->d->objects[ao].size, below = mp_go_size_class_below(S);
        uint64_t nb = 1ull << m->B, units = m->B >= 4 ? nb + (nb >> 4) : nb;
        uint64_t lo = below / units, hi = S / units; /* bs in (lo - slack, hi] */
        kmin = lo > 16 + 8 + 8 ? (uint32_t)((lo - 16 - 8) / 8 > MAX_KV ? MAX_KV + 1 : (lo - 24) / 8)
                               : 0;
        kmax = hi < 16 ? 0 : (hi - 16) / 8 > MAX_KV ? MAX_KV : (uint32_t)((hi - 16) / 8);
        if (hi < 16) kmin = 1, kmax = 0;
    }
    for (uint32_t k = kmin; k <= kmax; k++) {
        uint32_t bs = 16 + 8 * k;
        if (exact && bs != exact->bucket_size) continue;
        array ar;
        if (!locate_array(M, m->buckets, m->B, bs, &ar)) continue;
        uint64_t pat[5] = {0};
        bool ptrs = pointerful;
        if (ao != MP_GD_NONE && pointerful) {
            /* pointer words: those of bucket 0, repeated in every bucket,
             * the last one the last bucket's overflow pointer */
            uint64_t hb = mp_gdmem_header_bytes(M, M->d->objects[ao].size);
            size_t nf = mp_gdmem_block_fields(M, ao, MP_GD_NONE, 0, UINT64_MAX);
            if (nf == SIZE_MAX) return false;
            size_t in0 = 0;
            bool ok = nf > 0;
            for (size_t i = 0; ok && i < nf; i++) {
                uint64_t off = M->scratch[i];
                if (off < hb || off - hb >= ar.total * bs) {
                    ok = false;
                    break;
                }
                off -= hb;
                if (off < bs) {
                    mp_gd_bit_set(pat, (unsigned)(off / 8));
                    in0++;
                } else if (!mp_gd_bit_get(pat, (unsigned)(off % bs / 8)) || off % 8) {
                    ok = false;
                }
            }
            if (!ok || !mp_gd_bit_get(pat, bs / 8 - 1) || nf != ar.total * in0 ||
                M->scratch[nf - 1] - hb != ar.total * bs - 8)
                continue;
        } else if (ao == MP_GD_NONE) {
            size_t nf = mp_gdmem_block_fields(M, MP_GD_NONE, ar.frame,
                                              m->buckets - M->d->frames[ar.frame].sp, bs);
            if (nf == SIZE_MAX) return false;
            for (size_t i = 0; i < nf; i++) mp_gd_bit_set(pat, M->scratch[i] / 8);
            ptrs = nf > 0;
            if (ptrs && !mp_gd_bit_get(pat, bs / 8 - 1)) continue;
        }
        W.bs = bs;
        if (!walk_map(&W)) continue;
        int score = W.score + (k % 8 == 0 ? 2 : 0);
        if (score > best_score || (score == best_score && bs > best)) {
            best = bs;
            best_score = score;
            memcpy(best_pat, pat, sizeof pat);
            best_ptr = ptrs;
        }
    }
    if (!best) return false;
    m->bs = best;
    if (exact) m->type = exact;
    choose_split(M, m, best_pat, best_ptr);
    return true;
}

/* ------------------------------------------------------------ emission --- */

static uint32_t ref(const walk *W, uint64_t a)
{
    uint32_t o = mp_gdmem_find(W->M, a);
    return o == MP_GD_NONE ? MP_NONE : W->newix[o];
}

/* The n bytes of a string at a, in the dump or else in the binary's
 * read-only data; NULL when neither holds them all. */
static const uint8_t *string_bytes(const void *ud, uint64_t a, uint64_t n)
{
    const walk *W = ud;
    if (n == 0) return (const uint8_t *)"";
    const uint8_t *s = mp_gdmem_read(W->M, a, n);
    if (!s && W->M->bin) s = mp_gobin_read(W->M->bin, a, (size_t)n);
    return s;
}

/* The type whose runtime descriptor is at rtype, from the binary. */
static bool type_of(const void *ud, uint64_t rtype, uint8_t *kind, uint32_t *size,
                    const char **name)
{
    const walk *W = ud;
    return mp_gobin_rtype(W->M->bin, rtype, kind, size, name);
}

/* The type of an itab the binary does not hold (made by the runtime while
 * the program ran), from the dump's itab record. */
static uint64_t itab_type_of(const void *ud, uint64_t itab)
{
    const walk *W = ud;
    const mf_gd_type *t = mf_gd_itab_type(W->M->d, itab);
    return t ? t->addr : 0;
}

/* The name of a type from the dump's type record (the dump writes one for
 * every type an itab is for). */
static bool type_name_of(const void *ud, uint64_t rtype, char *buf, size_t cap)
{
    const walk *W = ud;
    const mf_gd_type *t = mf_gd_find_type(W->M->d, rtype);
    if (!t || !t->name.len || cap == 0) return false;
    size_t n = t->name.len < cap - 1 ? (size_t)t->name.len : cap - 1;
    memcpy(buf, W->M->d->data + t->name.off, n);
    buf[n] = 0;
    return true;
}

/* Whether a type the binary does not know is pointer-shaped, from the
 * dump's type record (written for every type an itab is for). */
static bool type_direct_of(const void *ud, uint64_t rtype, bool *direct)
{
    const walk *W = ud;
    const mf_gd_type *t = mf_gd_find_type(W->M->d, rtype);
    if (!t) return false;
    *direct = !t->indirect;
    return true;
}

/* Where a key's rendering reads what the key points to and its types. */
static mp_gokey_env key_env(const walk *W)
{
    return (mp_gokey_env){string_bytes, W->M->bin ? type_of : NULL, itab_type_of, type_name_of, W,
                          type_direct_of};
}

/* Whether the map's exact type says its keys are interfaces (the layout's
 * root an interface of 16 bytes), or their shape does; *itab: one with
 * methods. */
bool mp_gomap_interface_keys(const mp_gomap *m, bool *itab)
{
    const mp_gomaptype *ty = m->type;
    if (m->inferred && m->iface_shape) {
        *itab = m->iface_itab;
        return true;
    }
    if (!ty || m->inferred || m->ksize != 16 || ty->key_indirect || !ty->nkey_fields ||
        ty->key_fields[0].kind != MP_GOKIND_INTERFACE)
        return false;
    *itab = ty->key_fields[0].count != 0;
    return true;
}

uint8_t mp_gomap_key_kind(const mp_gomap *m)
{
    bool itab;
    if (!mp_gomap_interface_keys(m, &itab)) return m->key_kind;
    const uint64_t *n = m->iface_keys;
    return n[MP_GOKEY_DYN_POINTER] && !n[MP_GOKEY_DYN_VALUE] && !n[MP_GOKEY_DYN_UNKNOWN]
               ? MP_KEY_PTR
               : MP_KEY_OTHER;
}

/* A key for people, as maproot renders keys everywhere (gokey.h): strings
 * quoted and escaped, integers in decimal, pointers in hex, structs and
 * arrays field by field when the binary gives their layout, other keys as
 * hex bytes. */
static size_t render_key(const walk *W, const uint8_t *k, char *buf, size_t cap)
{
    const mp_gomap *m = W->m;
    mp_keytext t = {buf, cap, 0};
    /* struct and array keys: only the exact type gives their layout */
    const mp_gomaptype *ty = m->type;
    mp_gokey_env env = key_env(W);
    if (ty && !m->inferred && ty->nkey_fields &&
        mp_keytext_typed(&t, ty->key_fields, ty->nkey_fields, k, m->ksize, &env))
        return mp_keytext_end(&t);
    /* interfaces by their shape: a boxed string as the string, others as
     * far as the dump's type records (or the binary's) tell */
    if (m->inferred && m->iface_shape) {
        const uint8_t *box = string_type(m, mp_gd_rd64(k)) ? mp_gdmem_read(W->M, mp_gd_rd64(k + 8), 16)
                                                           : NULL;
        mp_gokeyfield f = {.size = 16, .count = m->iface_itab, .kind = MP_GOKIND_INTERFACE};
        if (box)
            mp_keytext_string(&t, mp_gd_rd64(box), mp_gd_rd64(box + 8), string_bytes, W);
        else
            mp_keytext_typed(&t, &f, 1, k, 16, &env);
        return mp_keytext_end(&t);
    }
    if (m->key_kind == MP_KEY_STRING && m->ksize == 16) {
        mp_keytext_string(&t, mp_gd_rd64(k), mp_gd_rd64(k + 8), string_bytes, W);
        return mp_keytext_end(&t);
    }
    if (m->key_kind == MP_KEY_INT && m->ksize <= 8 && m->ksize) {
        uint64_t v = 0;
        memcpy(&v, k, m->ksize);
        if (m->key_signed && m->ksize < 8 && v >> (m->ksize * 8 - 1) & 1)
            v |= ~0ull << (m->ksize * 8);
        if (m->key_signed) return (size_t)snprintf(buf, cap, "%" PRId64, (int64_t)v);
        return (size_t)snprintf(buf, cap, "%" PRIu64, v);
    }
    if (m->key_kind == MP_KEY_PTR && m->ksize == 8)
        return (size_t)snprintf(buf, cap, "0x%" PRIx64, mp_gd_rd64(k));
    mp_keytext_hex(&t, k, m->ksize);
    return mp_keytext_end(&t);
}

/* Whether the key at k is a float NaN: the map's exact type says its keys
 * are floats (a layout guessed from the dump cannot tell a float from an
 * integer). Such an entry is never found again: NaN != NaN. */
static bool nan_key(const mp_gomap *m, const uint8_t *k)
{
    if (!m->type || m->inferred) return false;
    if (m->go_key_kind == MP_GOKIND_FLOAT64 && m->ksize == 8) {
        double d;
        memcpy(&d, k, 8);
        return isnan(d);
    }
    if (m->go_key_kind == MP_GOKIND_FLOAT32 && m->ksize == 4) {
        float f;
        memcpy(&f, k, 4);
        return isnan(f);
    }
    return false;
}

/* The object the first pointer word of a slot points to. */
static uint32_t slot_target(const walk *W, const uint8_t *slot, uint32_t size, const uint64_t *pat)
{
    for (uint32_t w = 0; w < size / 8 && w < 320; w++)
        if (mp_gd_bit_get(pat, w)) {
            uint64_t v = mp_gd_rd64(slot + 8 * w);
            if (v) return ref(W, v);
        }
    return MP_NONE;
}

static void emit_bucket(walk *W, const array *ar, uint64_t b, uint64_t index, uint32_t depth,
                        bool old, const uint8_t *p)
{
    (void)ar;
    mp_gomap *m = W->m;
    uint8_t used = 0;
    for (int i = 0; i < 8; i++) used += p[i] >= MIN_TOPHASH;
    uint32_t holder = ref(W, b);
    mp_bucket bk = {.map = W->map,
                    .obj = holder,
                    .address = b,
                    .index = index,
                    .overflow = depth,
                    .old = old,
                    .nused = used};
    mp_gb_bucket(W->b, &bk, 0);
    spare_noted(W, b, true);
    for (int s = 0; s < 8; s++) {
        if (p[s] < MIN_TOPHASH) continue;
        const uint8_t *k = p + 8 + (size_t)s * m->ksize;
        const uint8_t *v = p + 8 + 8 * (size_t)m->ksize + (size_t)s * m->vsize;
        char text[320]; /* the longest rendering: 256 bytes escaped and a cut mark */
        size_t n = render_key(W, k, text, sizeof text);
        if (nan_key(m, k)) m->nan_keys++;
        bool itab;
        if (mp_gomap_interface_keys(m, &itab)) {
            mp_gokey_env env = key_env(W);
            mp_gokey_dynamic dyn = mp_gokey_iface_dynamic(itab, k, &env);
            if (dyn == MP_GOKEY_DYN_UNKNOWN && string_type(m, mp_gd_rd64(k)))
                dyn = MP_GOKEY_DYN_VALUE;
            m->iface_keys[dyn]++;
        }
        if (n >= sizeof text) n = sizeof text - 1;
        mp_entry e = {.map = W->map,
                      .bucket_obj = holder,
                      .bucket = index,
                      .overflow = depth,
                      .slot = (uint8_t)s,
                      .old = old,
                      .key = mp_gb_string(W->b, text, n),
                      .key_obj = slot_target(W, k, m->ksize, m->kpat),
                      .value_obj = slot_target(W, v, m->vsize, m->vpat)};
        mp_gb_entry(W->b, &e);
        if (W->value_type != MP_NONE && e.value_obj != MP_NONE)
            mp_gb_object_type(W->b, e.value_obj, W->value_type);
    }
}

/* The pointer words of a bucket of map m (a bitset of word indices): each
 * slot's key and value words, and the overflow word when there are any. */
void mp_gomap_bucket_pattern(const mp_gomap *m, uint64_t *pat)
{
    memset(pat, 0, 5 * sizeof *pat);
    bool any = false;
    for (uint32_t w = 1; w + 1 < m->bs / 8 && w < 320; w++) {
        uint64_t off = 8ull * w - 8;
        bool isp;
        if (off < 8ull * m->ksize)
            isp = off % m->ksize % 8 == 0 && mp_gd_bit_get(m->kpat, (unsigned)(off % m->ksize / 8));
        else
            isp = m->vsize && (off - 8ull * m->ksize) % m->vsize % 8 == 0 &&
                  mp_gd_bit_get(m->vpat, (unsigned)((off - 8ull * m->ksize) % m->vsize / 8));
        if (isp) mp_gd_bit_set(pat, w), any = true;
    }
    if (any && m->bs / 8 - 1 < 320) mp_gd_bit_set(pat, m->bs / 8 - 1);
}

void mp_gomap_emit(mp_gdmem *M, mp_gomap *m, mp_graph_builder *b, const uint32_t *newix,
                   uint32_t map, uint32_t value_type)
{
    walk W = {
        .m = m, .bs = m->bs, .M = M, .b = b, .newix = newix, .map = map, .value_type = value_type};
    m->nan_keys = 0;
    memset(m->iface_keys, 0, sizeof m->iface_keys);
    if (m->buckets) walk_map(&W);
}

void mp_gomap_values(mp_gdmem *M, mp_gomap *m, void (*visit)(void *ud, const uint8_t *value),
                     void *ud)
{
    walk W = {.m = m, .bs = m->bs, .M = M, .visit = visit, .ud = ud};
    if (m->buckets && m->bs) walk_map(&W);
}
