/*
 * src/analyze/load_godump.c -- Go heap dump -> heap graph.
 *
 * Objects are numbered in one space: the dump's heap objects (address
 * order) first, then "frame objects": the hmaps (and their first bucket)
 * that live inside a goroutine frame, cut out of the frame so that a map
 * on a stack is a map like any other. Pointer words are resolved once into
 * a CSR of targets; the reachable set is marked from the roots; maps are
 * recognised among the reachable hmaps; then everything reachable is
 * handed to the graph builder in address order.
 */
#include "analyze/load_godump.h"

#include "analyze/display_path.h"
#include "analyze/gobinary.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define MIN_TOPHASH 5
#define MAX_KV 256 /* key + value slot bytes: each at most 128 (larger ones are indirect) */

/* Go's size classes (runtime/sizeclasses.go); larger objects take whole
 * 8 KiB pages. */
static const uint32_t size_classes[] = {
    8,     16,    24,    32,    48,    64,    80,    96,    112,   128,   144,  160,   176,   192,
    208,   224,   240,   256,   288,   320,   352,   384,   416,   448,   480,  512,   576,   640,
    704,   768,   896,   1024,  1152,  1280,  1408,  1536,  1792,  2048,  2304, 2688,  3072,  3200,
    3456,  4096,  4864,  5376,  6144,  6528,  6784,  6912,  8192,  9472,  9728, 10240, 10880, 12288,
    13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768};

static uint64_t roundupsize(uint64_t size)
{
    if (size <= 32768) {
        size_t lo = 0, hi = sizeof size_classes / sizeof *size_classes;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (size_classes[mid] < size)
                lo = mid + 1;
            else
                hi = mid;
        }
        return size_classes[lo];
    }
    if (size > UINT64_MAX - 8192) return size;
    return (size + 8191) & ~(uint64_t)8191;
}

/* A part of a frame cut out as an object of its own. */
typedef struct fobj {
    uint64_t addr, size;
    uint32_t frame;
    uint64_t off;    /* in the frame's contents */
    bool hmap;       /* else the map's bucket */
    bool listed;     /* its words are in the frame's pointer map: a root of its own */
    uint64_t pat[5]; /* its pointer words (bitset of word indices) */
} fobj;

typedef struct rootw {
    uint8_t kind;    /* mp_root_kind */
    uint8_t segment; /* globals: 0 data, 1 bss */
    uint32_t frame;  /* stack/iterator: frame index, else NONE */
    uint32_t finalizer;
    uint64_t slot, frame_off;
    uint32_t target; /* unified object index */
} rootw;

/* A recognised map and its layout. */
typedef struct gmap {
    uint64_t addr;
    uint32_t obj; /* unified index of the header object */
    uint64_t count, nevacuate, buckets, oldbuckets, extra;
    uint8_t flags, B;
    uint16_t noverflow;
    uint32_t bs, ksize, vsize;
    uint8_t key_kind; /* mp_key_kind */
    uint8_t go_key_kind;
    bool key_signed;
    bool inferred;
    const mp_gomaptype *type;
    uint64_t kpat[5], vpat[5]; /* pointer words of a key / value slot (bitsets) */
    char name[160];
} gmap;

typedef struct loader {
    const mf_gd_dump *d;
    mp_gobin *bin;
    mf_error *err;
    size_t nheap;
    fobj *fobjs;
    size_t nfobjs, cap_fobjs;
    uint32_t *frames_by_sp; /* frame indices sorted by sp */
    /* resolved pointer words, per unified object */
    uint64_t *estart;
    uint32_t *edst;
    uint8_t *reached;
    rootw *roots;
    size_t nroots, cap_roots;
    gmap *maps;
    size_t nmaps, cap_maps;
    struct itype {
        uint64_t h;
        const mp_gomaptype *t;
    } * itypes; /* (hmap, type) of the range iterators, sorted by hmap (with a binary) */
    size_t nitypes;
    struct memo {
        uint64_t addr;
        uint32_t obj;
    } * start_memo;    /* the last heap_start lookup: map checks repeat it */
    uint32_t *scratch; /* field offsets of one block */
    size_t cap_scratch;
    bool oom;
} loader;

static size_t nobj(const loader *L)
{
    return L->nheap + L->nfobjs;
}

static uint64_t obj_addr(const loader *L, uint32_t i)
{
    return i < L->nheap ? L->d->objects[i].addr : L->fobjs[i - L->nheap].addr;
}

static uint64_t obj_size(const loader *L, uint32_t i)
{
    return i < L->nheap ? L->d->objects[i].size : L->fobjs[i - L->nheap].size;
}

/* Go 1.22 and later put an 8-byte type header in front of objects over
 * 512 bytes in small spans: pointers to such an object point past it. */
static uint64_t header_bytes(const loader *L, uint64_t size)
{
    return L->d->params.go_major == 1 && L->d->params.go_minor >= 22 && size > 512 && size <= 32768
               ? 8
               : 0;
}

static int cmp_frame_sp(const void *a, const void *b, void *ud);

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------ reading memory --- */

/* The frame whose contents hold [a, a+n), or NONE. */
static uint32_t frame_at(const loader *L, uint64_t a, uint64_t n)
{
    const mf_gd_dump *d = L->d;
    size_t lo = 0, hi = d->nframes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->frames[L->frames_by_sp[mid]].sp <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return NONE;
    const mf_gd_frame *f = &d->frames[L->frames_by_sp[lo - 1]];
    if (a - f->sp <= f->contents.len && n <= f->contents.len - (a - f->sp))
        return L->frames_by_sp[lo - 1];
    return NONE;
}

/* The dump's bytes for addresses [a, a+n): a heap object's or a frame's;
 * NULL when no one block holds them all. */
static const uint8_t *mem(const loader *L, uint64_t a, uint64_t n)
{
    const mf_gd_dump *d = L->d;
    size_t i = mf_gd_find(d, a);
    if (i != SIZE_MAX) {
        const mf_gd_object *o = &d->objects[i];
        if (n > o->size - (a - o->addr)) return NULL;
        return d->data + o->contents + (a - o->addr);
    }
    uint32_t f = frame_at(L, a, n);
    if (f == NONE) return NULL;
    return d->data + d->frames[f].contents.off + (a - d->frames[f].sp);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* dumps read here are little-endian, as the machine (checked at build) */
}

/* The unified object containing a, or NONE. */
static uint32_t find_obj(const loader *L, uint64_t a)
{
    size_t i = mf_gd_find(L->d, a);
    if (i != SIZE_MAX) return (uint32_t)i;
    size_t lo = 0, hi = L->nfobjs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->fobjs[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && a - L->fobjs[lo - 1].addr < L->fobjs[lo - 1].size)
        return (uint32_t)(L->nheap + lo - 1);
    return NONE;
}

/* The heap object that a points to the start of (after a malloc header). */
static uint32_t heap_start(const loader *L, uint64_t a)
{
    if (L->start_memo->addr == a) return L->start_memo->obj;
    size_t i = mf_gd_find(L->d, a);
    uint32_t r = NONE;
    if (i != SIZE_MAX) {
        const mf_gd_object *o = &L->d->objects[i];
        if (a == o->addr + header_bytes(L, o->size)) r = (uint32_t)i;
    }
    L->start_memo->addr = a;
    L->start_memo->obj = r;
    return r;
}

/* The field offsets of a block (heap object i, or frame f's words in
 * [from, from+len)) relative to `from`, into L->scratch; the count, or
 * SIZE_MAX when out of memory. */
static size_t block_fields(loader *L, uint32_t heap_obj, uint32_t frame, uint64_t from,
                           uint64_t len)
{
    const mf_gd_dump *d = L->d;
    uint64_t pos;
    uint32_t nf;
    if (heap_obj != NONE) {
        pos = d->objects[heap_obj].fields;
        nf = d->objects[heap_obj].nfields;
    } else {
        pos = d->frames[frame].fields;
        nf = d->frames[frame].nfields;
    }
    if (nf > L->cap_scratch) {
        uint32_t *q = realloc(L->scratch, (size_t)nf * sizeof *q);
        if (!q) {
            L->oom = true;
            return SIZE_MAX;
        }
        L->scratch = q;
        L->cap_scratch = nf;
    }
    size_t n = 0;
    for (uint32_t k = 0; k < nf; k++) {
        uint64_t off = mf_gd_next_field(d, &pos);
        if (off < from || off - from >= len || off - from > UINT32_MAX) continue;
        L->scratch[n++] = (uint32_t)(off - from);
    }
    if (heap_obj == NONE && n > 1) { /* frame lists need not be in order */
        bool sorted = true;
        for (size_t i = 1; i < n && sorted; i++) sorted = L->scratch[i - 1] < L->scratch[i];
        if (!sorted) qsort(L->scratch, n, sizeof *L->scratch, cmp_u32);
    }
    return n;
}

/* ------------------------------------------------------------- bitsets --- */

static void bit_set(uint64_t *s, unsigned i)
{
    s[i >> 6] |= 1ull << (i & 63);
}

static bool bit_get(const uint64_t *s, unsigned i)
{
    return s[i >> 6] >> (i & 63) & 1;
}

/* -------------------------------------------------------- map walking --- */

/* Where a map's bucket array lies: a heap object (its payload) or a frame. */
typedef struct array {
    uint64_t addr;     /* first bucket */
    uint64_t nbuckets; /* main buckets */
    uint64_t total;    /* buckets it holds, preallocated overflow ones included */
    uint32_t heap_obj; /* NONE: in a frame */
    uint32_t frame;
} array;

typedef struct walk {
    gmap *m;
    uint32_t bs;
    uint64_t live, overflow, limit;
    int score;
    /* emission (NULL: only count) */
    mp_graph_builder *b;
    const uint32_t *newix;
    uint32_t map;
    uint32_t value_type; /* given to the objects values point to, MP_NONE none */
    loader *L;
} walk;

/* Locates a bucket array of 2^B main buckets of bs bytes at address a and
 * checks that its size is what makeBucketArray allocates. */
static bool locate_array(const loader *L, uint64_t a, unsigned B, uint32_t bs, array *out)
{
    if (B > 40) return false;
    uint64_t nb = 1ull << B;
    out->addr = a;
    out->nbuckets = nb;
    out->heap_obj = heap_start(L, a);
    if (out->heap_obj == NONE) { /* a small map's bucket in its frame */
        out->frame = B == 0 ? frame_at(L, a, bs) : NONE;
        out->total = 1;
        return out->frame != NONE;
    }
    const mf_gd_object *o = &L->d->objects[out->heap_obj];
    uint64_t payload = o->size - header_bytes(L, o->size);
    uint64_t want = nb * bs;
    if (B >= 4) want += (nb >> 4) * bs;
    uint64_t size = want + header_bytes(L, want + 8 > 512 ? want + 8 : want);
    if (roundupsize(size) != o->size) return false;
    out->total = B >= 4 ? payload / bs : nb;
    return true;
}

/* Whether b is the address of an overflow bucket: a preallocated one of
 * the array, or an object of its own. */
static bool overflow_ok(const loader *L, const array *ar, uint64_t b, uint32_t bs)
{
    if (ar->heap_obj != NONE && b >= ar->addr + ar->nbuckets * bs &&
        b < ar->addr + ar->total * bs && (b - ar->addr) % bs == 0)
        return true;
    uint32_t o = heap_start(L, b);
    if (o == NONE) return false;
    uint64_t sz = L->d->objects[o].size;
    return roundupsize(bs + header_bytes(L, bs + 8)) == sz;
}

static void emit_bucket(walk *W, const array *ar, uint64_t b, uint64_t index, uint32_t depth,
                        bool old, const uint8_t *p);

/* Walks the chain of bucket `index` starting at address b: checks every
 * tophash (evacuation marks only in an old bucket's first slot, nothing but
 * empty cells after an emptyRest) and counts live cells. false: not a
 * bucket chain of this layout. */
static bool walk_chain(walk *W, const array *ar, uint64_t index, bool old)
{
    loader *L = W->L;
    uint32_t bs = W->bs;
    uint64_t b = ar->addr + index * bs;
    bool rest = false;
    const mf_gd_object *ao = ar->heap_obj != NONE ? &L->d->objects[ar->heap_obj] : NULL;
    for (uint32_t depth = 0;; depth++) {
        /* buckets of the array (preallocated overflow ones too) without a search */
        const uint8_t *p = ao && b >= ar->addr && b - ar->addr < ar->total * bs
                               ? L->d->data + ao->contents + (b - ao->addr)
                               : mem(L, b, bs);
        if (!p) return false;
        for (int i = 0; i < 8; i++) {
            uint8_t th = p[i];
            if (rest && th != 0) return false;
            if (th == 0) rest = true;
            if (th >= 2 && th < MIN_TOPHASH) return false;
            if (th >= MIN_TOPHASH) W->live++;
        }
        if (W->b) emit_bucket(W, ar, b, index, depth, old, p);
        uint64_t next = rd64(p + bs - 8);
        if (!next) return true;
        if (++W->overflow > W->limit || !overflow_ok(L, ar, next, bs)) return false;
        b = next;
    }
}

/* Walks a whole map with bucket size bs: main chains, then the old chains
 * not yet evacuated. The live cells counted must be the header's count. */
static bool walk_map(walk *W)
{
    gmap *m = W->m;
    uint32_t bs = W->bs;
    W->live = W->overflow = 0;
    W->score = 0;
    if (!m->buckets) return m->count == 0 && !m->oldbuckets;
    array ar;
    if (!locate_array(W->L, m->buckets, m->B, bs, &ar)) return false;
    W->limit = 2 * ar.total + m->count + 65536;
    for (uint64_t i = 0; i < ar.nbuckets; i++)
        if (!walk_chain(W, &ar, i, false)) return false;
    /* the last preallocated bucket's overflow word points at the array
     * until it is used: a sign the layout is right */
    if (ar.heap_obj != NONE && ar.total > ar.nbuckets) {
        const uint8_t *p = mem(W->L, ar.addr + ar.total * bs - 8, 8);
        if (p && rd64(p) == ar.addr) W->score += 4;
    }
    if (m->oldbuckets) {
        bool same = m->flags & 8;
        if (!same && m->B == 0) return false;
        array old;
        if (!locate_array(W->L, m->oldbuckets, same ? m->B : m->B - 1u, bs, &old)) return false;
        if (m->nevacuate > old.nbuckets) return false;
        for (uint64_t j = 0; j < old.nbuckets; j++) {
            const uint8_t *p = mem(W->L, old.addr + j * bs, bs);
            if (!p) return false;
            if (p[0] >= 2 && p[0] < MIN_TOPHASH) continue; /* evacuated */
            if (!walk_chain(W, &old, j, true)) return false;
        }
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
        bool isp = bit_get(pat, w);
        if (off < 8ull * k) {
            if (!isp) continue;
            if (off % k % 8) return false;
            if (off / k == 0) bit_set(kp, (unsigned)(off % k / 8));
        } else {
            off -= 8ull * k;
            if (!isp) continue;
            if (!v || off % v % 8) return false;
            if (off / v == 0) bit_set(vp, (unsigned)(off % v / 8));
        }
    }
    /* every slot has its slot's pattern */
    for (unsigned w = 1; w + 1 < words; w++) {
        uint64_t off = (uint64_t)w * 8 - 8;
        bool isp = bit_get(pat, w);
        bool want;
        if (off < 8ull * k)
            want = off % k % 8 == 0 && bit_get(kp, (unsigned)(off % k / 8));
        else
            want = v && (off - 8ull * k) % v % 8 == 0 &&
                   bit_get(vp, (unsigned)((off - 8ull * k) % v / 8));
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
static bool keys_are_strings(loader *L, gmap *m, const array *ar, uint32_t bs)
{
    uint64_t seen = 0;
    for (uint64_t i = 0; i < ar->nbuckets && seen < 4096; i++) {
        uint64_t b = ar->addr + i * bs;
        for (int depth = 0; depth < 64 && b; depth++) {
            const uint8_t *p = mem(L, b, bs);
            if (!p) return false;
            for (int s = 0; s < 8; s++) {
                if (p[s] < MIN_TOPHASH) continue;
                uint64_t ptr = rd64(p + 8 + 16 * s), len = rd64(p + 16 + 16 * s);
                if (len > (1ull << 40) || (len && !ptr)) return false;
                if (len) {
                    size_t o = mf_gd_find(L->d, ptr);
                    if (o != SIZE_MAX &&
                        len > L->d->objects[o].size - (ptr - L->d->objects[o].addr))
                        return false;
                }
                seen++;
            }
            b = rd64(p + bs - 8);
            if (b && !overflow_ok(L, ar, b, bs)) break;
        }
    }
    (void)m;
    return true;
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
static void slot_name(char *buf, size_t size, uint32_t bytes, const uint64_t *pat, bool string)
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

/* Chooses the key/value split of a map whose bucket size is known: from
 * the binary's map type when one fits, else from the pointer layout and
 * the keys themselves. */
static void choose_split(loader *L, gmap *m, const uint64_t *pat, bool pointerful)
{
    uint32_t bs = m->bs, t = (bs - 16) / 8;
    array ar = {0};
    bool have_array = m->buckets && locate_array(L, m->buckets, m->B, bs, &ar);
    const mp_gomaptype *ty = m->type;
    if (!ty && L->bin) {
        /* the program's map types of this bucket size whose split fits */
        const mp_gomaptype *c[64];
        size_t nc = mp_gobin_maps_of_bucket(L->bin, bs, c, 64), fit = 0;
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
        case 18: /* chan */
        case 26: /* unsafe.Pointer */
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
            have_array && keys_are_strings(L, m, &ar, bs)) {
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
    if (string_keys)
        m->key_kind = MP_KEY_STRING;
    else if (!pat_empty(m->kpat))
        m->key_kind = MP_KEY_PTR;
    else if (m->ksize == 8 || m->ksize == 4 || m->ksize == 2 || m->ksize == 1)
        m->key_kind = MP_KEY_INT, m->key_signed = true;
    else
        m->key_kind = MP_KEY_BYTES;
    char kn[40], vn[40];
    slot_name(kn, sizeof kn, m->ksize, m->kpat, string_keys);
    slot_name(vn, sizeof vn, m->vsize, m->vpat, false);
    snprintf(m->name, sizeof m->name, "map[%s]%s", kn, vn);
}

/* Recognises a map from its header fields (read at hdr, 48 bytes): the
 * bucket size that makes the whole table check out, then the key/value
 * split. exact: the map type a typed root gives, or NULL. */
static bool recognise(loader *L, uint64_t addr, const uint8_t *hdr, const mp_gomaptype *exact,
                      gmap *m)
{
    memset(m, 0, sizeof *m);
    m->addr = addr;
    m->count = rd64(hdr);
    m->flags = hdr[8];
    m->B = hdr[9];
    m->noverflow = (uint16_t)(hdr[10] | hdr[11] << 8);
    m->buckets = rd64(hdr + 16);
    m->oldbuckets = rd64(hdr + 24);
    m->nevacuate = rd64(hdr + 32);
    m->extra = rd64(hdr + 40);
    if (m->flags >= 16 || m->B > 40 || (!m->buckets && m->count)) return false;
    if (m->B < 63 && m->count > (8ull << m->B) * 64) return false;
    if (m->extra && heap_start(L, m->extra) == NONE) return false;
    if (m->oldbuckets && heap_start(L, m->oldbuckets) == NONE) return false;
    if (!m->buckets) { /* an empty map that never had a bucket */
        if (exact) {
            m->bs = exact->bucket_size;
            m->type = exact;
        }
        choose_split(L, m, (uint64_t[5]){0}, false);
        return true;
    }
    uint32_t ao = heap_start(L, m->buckets);
    bool pointerful;
    if (ao != NONE)
        pointerful = L->d->objects[ao].nfields > 0;
    else {
        uint32_t f = m->B == 0 ? frame_at(L, m->buckets, 16) : NONE;
        if (f == NONE) return false;
        pointerful = true; /* decided per candidate below */
    }
    walk W = {.m = m, .L = L};
    uint32_t best = 0;
    int best_score = -1;
    uint64_t best_pat[5] = {0};
    bool best_ptr = false;
    /* a heap array of S bytes holds between (the size class below S) and S
     * bytes of buckets: only the bucket sizes in that range are tried */
    uint32_t kmin = 0, kmax = MAX_KV;
    if (ao != NONE && m->B <= 40) {
        uint64_t S = L->d->objects[ao].size, below = 0;
        if (S > 32768)
            below = S - 8192;
        else
            for (size_t i = 0; i < sizeof size_classes / sizeof *size_classes; i++)
                if (size_classes[i] < S) below = size_classes[i];
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
        if (!locate_array(L, m->buckets, m->B, bs, &ar)) continue;
        uint64_t pat[5] = {0};
        bool ptrs = pointerful;
        if (ao != NONE && pointerful) {
            /* pointer words: those of bucket 0, repeated in every bucket,
             * the last one the last bucket's overflow pointer */
            uint64_t hb = header_bytes(L, L->d->objects[ao].size);
            size_t nf = block_fields(L, ao, NONE, 0, UINT64_MAX);
            if (nf == SIZE_MAX) return false;
            size_t in0 = 0;
            bool ok = nf > 0;
            for (size_t i = 0; ok && i < nf; i++) {
                uint64_t off = L->scratch[i];
                if (off < hb || off - hb >= ar.total * bs) {
                    ok = false;
                    break;
                }
                off -= hb;
                if (off < bs) {
                    bit_set(pat, (unsigned)(off / 8));
                    in0++;
                } else if (!bit_get(pat, (unsigned)(off % bs / 8)) || off % 8) {
                    ok = false;
                }
            }
            if (!ok || !bit_get(pat, bs / 8 - 1) || nf != ar.total * in0 ||
                L->scratch[nf - 1] - hb != ar.total * bs - 8)
                continue;
        } else if (ao == NONE) {
            size_t nf = block_fields(L, NONE, ar.frame, m->buckets - L->d->frames[ar.frame].sp, bs);
            if (nf == SIZE_MAX) return false;
            for (size_t i = 0; i < nf; i++) bit_set(pat, L->scratch[i] / 8);
            ptrs = nf > 0;
            if (ptrs && !bit_get(pat, bs / 8 - 1)) continue;
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
    choose_split(L, m, best_pat, best_ptr);
    return true;
}

/* ------------------------------------------------------------ emission --- */

static uint32_t ref(const walk *W, uint64_t a)
{
    uint32_t o = find_obj(W->L, a);
    return o == NONE ? MP_NONE : W->newix[o];
}

static void put_char(char *buf, size_t cap, size_t *n, char c)
{
    if (*n + 1 < cap) buf[(*n)++] = c;
}

/* A key for people, as maproot renders keys everywhere: strings quoted
 * and escaped (64 bytes at most, then "..."), integers in decimal,
 * pointers in hex, other keys as hex bytes. */
static size_t render_key(const walk *W, const uint8_t *k, char *buf, size_t cap)
{
    const gmap *m = W->m;
    size_t n = 0;
    if (m->key_kind == MP_KEY_STRING && m->ksize == 16) {
        uint64_t ptr = rd64(k), len = rd64(k + 8);
        uint64_t shown = len < 64 ? len : 64;
        const uint8_t *s = shown ? mem(W->L, ptr, shown) : (const uint8_t *)"";
        if (!s && W->L->bin) s = mp_gobin_read(W->L->bin, ptr, (size_t)shown);
        if (!s)
            return (size_t)snprintf(buf, cap, "(string of %" PRIu64 " bytes at 0x%" PRIx64 ")", len,
                                    ptr);
        put_char(buf, cap, &n, '"');
        for (uint64_t i = 0; i < shown; i++) {
            unsigned char c = s[i];
            char esc[8];
            if (c == '"' || c == '\\')
                snprintf(esc, sizeof esc, "\\%c", c);
            else if (c == '\n')
                snprintf(esc, sizeof esc, "\\n");
            else if (c == '\t')
                snprintf(esc, sizeof esc, "\\t");
            else if (c == '\r')
                snprintf(esc, sizeof esc, "\\r");
            else if (c < 0x20 || c >= 0x7f)
                snprintf(esc, sizeof esc, "\\x%02x", c);
            else
                esc[0] = (char)c, esc[1] = 0;
            for (const char *e = esc; *e; e++) put_char(buf, cap, &n, *e);
        }
        put_char(buf, cap, &n, '"');
        if (len > shown)
            for (int i = 0; i < 3; i++) put_char(buf, cap, &n, '.');
        if (cap) buf[n] = 0;
        return n;
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
        return (size_t)snprintf(buf, cap, "0x%" PRIx64, rd64(k));
    uint32_t shown = m->ksize < 64 ? m->ksize : 64;
    put_char(buf, cap, &n, '0');
    put_char(buf, cap, &n, 'x');
    for (uint32_t i = 0; i < shown; i++) {
        put_char(buf, cap, &n, "0123456789abcdef"[k[i] >> 4]);
        put_char(buf, cap, &n, "0123456789abcdef"[k[i] & 15]);
    }
    if (m->ksize > shown)
        for (int i = 0; i < 3; i++) put_char(buf, cap, &n, '.');
    if (n == 2) n = 0, put_char(buf, cap, &n, '-'); /* struct{} keys */
    if (cap) buf[n] = 0;
    return n;
}

/* The object the first pointer word of a slot points to. */
static uint32_t slot_target(const walk *W, const uint8_t *slot, uint32_t size, const uint64_t *pat)
{
    for (uint32_t w = 0; w < size / 8 && w < 320; w++)
        if (bit_get(pat, w)) {
            uint64_t v = rd64(slot + 8 * w);
            if (v) return ref(W, v);
        }
    return MP_NONE;
}

static void emit_bucket(walk *W, const array *ar, uint64_t b, uint64_t index, uint32_t depth,
                        bool old, const uint8_t *p)
{
    (void)ar;
    gmap *m = W->m;
    uint8_t used = 0;
    for (int i = 0; i < 8; i++) used += p[i] >= MIN_TOPHASH;
    uint32_t holder = ref(W, b);
    mp_bucket bk = {
        .map = W->map, .obj = holder, .index = index, .overflow = depth, .old = old, .nused = used};
    mp_gb_bucket(W->b, &bk, 0);
    for (int s = 0; s < 8; s++) {
        if (p[s] < MIN_TOPHASH) continue;
        const uint8_t *k = p + 8 + (size_t)s * m->ksize;
        const uint8_t *v = p + 8 + 8 * (size_t)m->ksize + (size_t)s * m->vsize;
        char text[300];
        size_t n = render_key(W, k, text, sizeof text);
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

/* ------------------------------------------------------------ roots --- */

static int add_root(loader *L, const rootw *r)
{
    if (L->nroots == L->cap_roots) {
        size_t nc = L->cap_roots ? L->cap_roots * 2 : 1024;
        rootw *q = realloc(L->roots, nc * sizeof *q);
        if (!q) return -1;
        L->roots = q;
        L->cap_roots = nc;
    }
    L->roots[L->nroots++] = *r;
    return 0;
}

static int cmp_fobj(const void *a, const void *b)
{
    const fobj *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* A range iterator (hiter) in a frame: 8 pointer words in a row (key,
 * elem, t, h, buckets, bptr, overflow, oldoverflow) followed by a word that
 * is not one. Offsets are the sorted pointer words of the frame. */
static bool iterator_at(const uint32_t *offs, size_t n, size_t k)
{
    if (k + 8 > n || offs[k + 7] != offs[k] + 56) return false;
    return k + 8 == n || offs[k + 8] != offs[k] + 64;
}

static int cmp_itype(const void *a, const void *b)
{
    const struct itype *x = a, *y = b;
    return x->h < y->h ? -1 : x->h > y->h;
}

/* With the binary, a range iterator's t names its map's exact type: the
 * (h, type) pairs of every iterator, to type the maps they reach. */
static int collect_iterator_types(loader *L)
{
    const mf_gd_dump *d = L->d;
    size_t cap = 0;
    if (!L->bin) return 0;
    for (size_t fi = 0; fi < d->nframes; fi++) {
        const mf_gd_frame *f = &d->frames[fi];
        size_t nf = block_fields(L, NONE, (uint32_t)fi, 0, f->contents.len);
        if (nf == SIZE_MAX) return -1;
        for (size_t k = 0; k < nf; k++) {
            if (!iterator_at(L->scratch, nf, k)) continue;
            const uint8_t *p = d->data + f->contents.off + L->scratch[k];
            const mp_gomaptype *t = mp_gobin_map_of_rtype(L->bin, rd64(p + 16));
            if (!t) continue;
            if (L->nitypes == cap) {
                size_t nc = cap ? cap * 2 : 16;
                struct itype *q = realloc(L->itypes, nc * sizeof *q);
                if (!q) return -1;
                L->itypes = q;
                cap = nc;
            }
            L->itypes[L->nitypes++] = (struct itype){rd64(p + 24), t};
            k += 7;
        }
    }
    if (L->nitypes > 1) qsort(L->itypes, L->nitypes, sizeof *L->itypes, cmp_itype);
    return 0;
}

static const mp_gomaptype *iterator_type(const loader *L, uint64_t h)
{
    size_t lo = 0, hi = L->nitypes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->itypes[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->nitypes && L->itypes[lo].h == h ? L->itypes[lo].t : NULL;
}

static int add_fobj(loader *L, const fobj *x)
{
    if (L->nfobjs == L->cap_fobjs) {
        size_t nc = L->cap_fobjs ? L->cap_fobjs * 2 : 16;
        fobj *q = realloc(L->fobjs, nc * sizeof *q);
        if (!q) return -1;
        L->fobjs = q;
        L->cap_fobjs = nc;
    }
    L->fobjs[L->nfobjs++] = *x;
    return 0;
}

/* The pointer words of a bucket of map m (a bitset of word indices): each
 * slot's key and value words, and the overflow word when there are any. */
static void bucket_pattern(const gmap *m, uint64_t *pat)
{
    memset(pat, 0, 5 * sizeof *pat);
    bool any = false;
    for (uint32_t w = 1; w + 1 < m->bs / 8 && w < 320; w++) {
        uint64_t off = 8ull * w - 8;
        bool isp;
        if (off < 8ull * m->ksize)
            isp = off % m->ksize % 8 == 0 && bit_get(m->kpat, (unsigned)(off % m->ksize / 8));
        else
            isp = m->vsize && (off - 8ull * m->ksize) % m->vsize % 8 == 0 &&
                  bit_get(m->vpat, (unsigned)((off - 8ull * m->ksize) % m->vsize / 8));
        if (isp) bit_set(pat, w), any = true;
    }
    if (any && m->bs / 8 - 1 < 320) bit_set(pat, m->bs / 8 - 1);
}

/*
 * The frame objects. A map that does not escape keeps its hmap (and, while
 * small, its one bucket) in its function's frame. Those are stack objects
 * for Go's collector: the frame's pointer map does not list their words,
 * they live as long as a live frame word points at them (the map variable,
 * or a range iterator's h). An hmap that is a plain local instead has its
 * pointer words in the frame's map (at +16, +24 and +40 of a 48-byte window
 * with no other). Both are candidates (a pointed-to address is flagged by
 * its low bit in the list): a 48-byte hmap there that checks out with its
 * buckets becomes an object of its own, with the hmap's pointer words
 * (buckets, oldbuckets, extra) as its edges, and a root of its own when
 * the frame lists it. Frame objects are sorted by address, never overlap.
 */
static int find_frame_maps(loader *L)
{
    const mf_gd_dump *d = L->d;
    uint64_t *cand = NULL;
    size_t nc = 0, cap = 0;
    for (size_t fi = 0; fi < d->nframes; fi++) {
        const mf_gd_frame *f = &d->frames[fi];
        size_t nf = block_fields(L, NONE, (uint32_t)fi, 0, f->contents.len);
        if (nf == SIZE_MAX) break;
        for (size_t k = 0; k < nf; k++) {
            uint64_t o = L->scratch[k], v;
            if (k + 2 < nf && o >= 16 && L->scratch[k + 1] == o + 8 &&
                L->scratch[k + 2] == o + 24 && (k == 0 || L->scratch[k - 1] < o - 16) &&
                (k + 3 == nf || L->scratch[k + 3] >= o + 32) && o + 32 <= f->contents.len)
                v = f->sp + o - 16; /* a listed window */
            else if ((v = mf_gd_word(d, f->contents.off + o)) % 8 == 0 && v &&
                     frame_at(L, v, 48) != NONE)
                v |= 1; /* pointed to */
            else
                continue;
            if (nc == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                uint64_t *q = realloc(cand, ncap * sizeof *q);
                if (!q) {
                    free(cand);
                    return -1;
                }
                cand = q;
                cap = ncap;
            }
            cand[nc++] = v;
        }
    }
    if (nc > 1) qsort(cand, nc, sizeof *cand, cmp_u64);
    uint64_t end = 0; /* of the last frame object: they must not overlap */
    for (size_t i = 0; i < nc; i++) {
        uint64_t a = cand[i] & ~(uint64_t)1;
        bool listed = !(cand[i] & 1); /* sorts before the pointed-to flag */
        if (a < end) continue;
        uint32_t fi = frame_at(L, a, 48);
        const mf_gd_frame *f = &d->frames[fi];
        gmap m;
        const mp_gomaptype *exact = iterator_type(L, a);
        if (!recognise(L, a, mem(L, a, 48), exact, &m) &&
            !(exact && recognise(L, a, mem(L, a, 48), NULL, &m))) {
            if (L->oom) break;
            continue;
        }
        fobj h = {
            .addr = a, .size = 48, .frame = fi, .off = a - f->sp, .hmap = true, .listed = listed};
        bit_set(h.pat, 2), bit_set(h.pat, 3), bit_set(h.pat, 5);
        if (add_fobj(L, &h)) break;
        end = a + 48;
        uint32_t bf = m.buckets ? frame_at(L, m.buckets, m.bs) : NONE;
        if (bf != NONE && (m.buckets >= end || m.buckets + m.bs <= a)) {
            fobj b = {
                .addr = m.buckets, .size = m.bs, .frame = bf, .off = m.buckets - d->frames[bf].sp};
            bucket_pattern(&m, b.pat);
            if (add_fobj(L, &b)) break;
            if (m.buckets + m.bs > end) end = m.buckets + m.bs;
        }
    }
    free(cand);
    if (L->nfobjs > 1) qsort(L->fobjs, L->nfobjs, sizeof *L->fobjs, cmp_fobj);
    return L->oom ? -1 : 0;
}

/* Whether the frame word at address a lies inside a frame object. */
static bool in_fobj(const loader *L, uint64_t a)
{
    uint32_t o = find_obj(L, a);
    return o != NONE && o >= L->nheap;
}

static int collect_roots(loader *L)
{
    const mf_gd_dump *d = L->d;
    const mf_gd_segment *segs[2] = {&d->data_seg, &d->bss_seg};
    for (int s = 0; s < 2; s++) {
        const mf_gd_segment *sg = segs[s];
        if (!sg->present) continue;
        uint64_t pos = sg->fields;
        for (uint32_t k = 0; k < sg->nfields; k++) {
            uint64_t off = mf_gd_next_field(d, &pos);
            uint64_t v = mf_gd_word(d, sg->contents.off + off);
            uint32_t t = v ? find_obj(L, v) : NONE;
            if (t == NONE) continue;
            rootw r = {.kind = MP_ROOT_GLOBAL,
                       .segment = (uint8_t)s,
                       .frame = NONE,
                       .slot = sg->start + off,
                       .target = t};
            if (add_root(L, &r)) return -1;
        }
    }
    for (size_t fi = 0; fi < d->nframes; fi++) {
        const mf_gd_frame *f = &d->frames[fi];
        const mf_gd_goroutine *g = &d->goroutines[f->goroutine];
        uint8_t kind = g->system ? MP_ROOT_RUNTIME : MP_ROOT_STACK;
        for (size_t i = 0; i < L->nfobjs; i++) /* a local hmap: the frame holds it */
            if (L->fobjs[i].frame == fi && L->fobjs[i].listed) {
                rootw r = {.kind = kind,
                           .frame = (uint32_t)fi,
                           .slot = L->fobjs[i].addr,
                           .frame_off = L->fobjs[i].off,
                           .target = (uint32_t)(L->nheap + i)};
                if (add_root(L, &r)) return -1;
            }
        uint64_t pos = f->fields;
        for (uint32_t k = 0; k < f->nfields; k++) {
            uint64_t off = mf_gd_next_field(d, &pos);
            if (L->nfobjs && in_fobj(L, f->sp + off)) continue;
            uint64_t v = mf_gd_word(d, f->contents.off + off);
            uint32_t t = v ? find_obj(L, v) : NONE;
            if (t == NONE) continue;
            rootw r = {.kind = kind,
                       .frame = (uint32_t)fi,
                       .slot = f->sp + off,
                       .frame_off = off,
                       .target = t};
            if (add_root(L, &r)) return -1;
        }
    }
    /* finalizers: a registered one keeps its function and what its object
     * points to (not the object); a queued one the object as well */
    for (size_t i = 0; i < d->nfinalizers; i++) {
        const mf_gd_finalizer *fz = &d->finalizers[i];
        rootw r = {.kind = MP_ROOT_FINALIZER, .frame = NONE, .finalizer = (uint32_t)i};
        uint32_t fn = fz->fn ? find_obj(L, fz->fn) : NONE;
        if (fn != NONE) {
            r.target = fn;
            if (add_root(L, &r)) return -1;
        }
        uint32_t o = fz->obj ? find_obj(L, fz->obj) : NONE;
        if (o == NONE) continue;
        if (fz->queued) {
            r.target = o;
            if (add_root(L, &r)) return -1;
            continue;
        }
        for (uint64_t e = L->estart[o]; e < L->estart[o + 1]; e++) {
            if (L->edst[e] == NONE) continue;
            r.target = L->edst[e];
            if (add_root(L, &r)) return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ edges --- */

/* Every pointer word of every object resolved to the object it points
 * into (NONE: nil, or outside every object). */
static int resolve_edges(loader *L)
{
    const mf_gd_dump *d = L->d;
    size_t n = nobj(L);
    L->estart = malloc((n + 1) * sizeof *L->estart);
    if (!L->estart) return -1;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        L->estart[i] = total;
        if (i < L->nheap) {
            total += d->objects[i].nfields;
        } else {
            const fobj *x = &L->fobjs[i - L->nheap];
            for (int w = 0; w < 5; w++) total += (uint64_t)__builtin_popcountll(x->pat[w]);
        }
    }
    L->estart[n] = total;
    L->edst = malloc((total ? total : 1) * sizeof *L->edst);
    if (!L->edst) return -1;
    uint64_t e = 0;
    uint32_t last = NONE; /* neighbouring words often point into one object */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *base;
        if (i < L->nheap) {
            const mf_gd_object *o = &d->objects[i];
            base = d->data + o->contents;
            uint64_t pos = o->fields;
            for (uint32_t k = 0; k < o->nfields; k++) {
                uint64_t v = rd64(base + mf_gd_next_field(d, &pos));
                uint32_t t = NONE;
                if (v) {
                    if (last != NONE && last < L->nheap &&
                        v - d->objects[last].addr < d->objects[last].size)
                        t = last;
                    else
                        t = find_obj(L, v);
                }
                if (t != NONE) last = t;
                L->edst[e++] = t;
            }
        } else {
            const fobj *x = &L->fobjs[i - L->nheap];
            const mf_gd_frame *f = &d->frames[x->frame];
            base = d->data + f->contents.off + x->off;
            for (unsigned w = 0; w < 320 && 8ull * w + 8 <= x->size; w++) {
                if (!bit_get(x->pat, w)) continue;
                uint64_t v = rd64(base + 8 * w);
                L->edst[e++] = v ? find_obj(L, v) : NONE;
            }
        }
    }
    return 0;
}

static int mark(loader *L, uint64_t *nreached)
{
    size_t n = nobj(L);
    L->reached = calloc(n ? n : 1, 1);
    uint32_t *stack = malloc((n ? n : 1) * sizeof *stack);
    if (!L->reached || !stack) {
        free(stack);
        return -1;
    }
    size_t sp = 0;
    *nreached = 0;
    for (size_t r = 0; r < L->nroots; r++) {
        uint32_t t = L->roots[r].target;
        if (L->reached[t]) continue;
        L->reached[t] = 1;
        stack[sp++] = t;
        while (sp) { /* every object enters the stack once: it never overflows */
            uint32_t v = stack[--sp];
            (*nreached)++;
            for (uint64_t e = L->estart[v]; e < L->estart[v + 1]; e++) {
                uint32_t w = L->edst[e];
                if (w == NONE || L->reached[w]) continue;
                L->reached[w] = 1;
                stack[sp++] = w;
            }
        }
    }
    free(stack);
    return 0;
}

static int cmp_frame_sp(const void *a, const void *b, void *ud)
{
    const mf_gd_dump *d = ud;
    uint64_t x = d->frames[*(const uint32_t *)a].sp, y = d->frames[*(const uint32_t *)b].sp;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ maps --- */

static int add_map(loader *L, const gmap *m)
{
    if (L->nmaps == L->cap_maps) {
        size_t nc = L->cap_maps ? L->cap_maps * 2 : 64;
        gmap *q = realloc(L->maps, nc * sizeof *q);
        if (!q) return -1;
        L->maps = q;
        L->cap_maps = nc;
    }
    L->maps[L->nmaps++] = *m;
    return 0;
}

/* The exact map type a global gives the hmap object o: the first global
 * of a map type whose word points at it. `typed` holds (object << 32 |
 * root) of every global root, sorted. */
static const mp_gomaptype *typed_by_global(const loader *L, const uint64_t *typed, size_t ntyped,
                                           uint32_t o)
{
    size_t lo = 0, hi = ntyped;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (typed[mid] >> 32 < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ntyped && typed[lo] >> 32 == o; lo++) {
        const rootw *x = &L->roots[(uint32_t)typed[lo]];
        const mf_gd_segment *sg = x->segment ? &L->d->bss_seg : &L->d->data_seg;
        if (mf_gd_word(L->d, sg->contents.off + (x->slot - sg->start)) != obj_addr(L, o)) continue;
        const mp_gomaptype *t = mp_gobin_global_map(L->bin, x->slot);
        if (t) return t;
    }
    return NULL;
}

static int find_maps(loader *L)
{
    const mf_gd_dump *d = L->d;
    /* global words holding a map: their objects, to type those maps */
    uint64_t *typed = NULL;
    size_t ntyped = 0;
    if (L->bin) {
        typed = malloc((L->nroots ? L->nroots : 1) * sizeof *typed);
        if (!typed) return -1;
        for (size_t r = 0; r < L->nroots; r++)
            if (L->roots[r].kind == MP_ROOT_GLOBAL)
                typed[ntyped++] = (uint64_t)L->roots[r].target << 32 | r;
        qsort(typed, ntyped, sizeof *typed, cmp_u64);
    }
    for (size_t i = 0; i < L->nheap; i++) {
        const mf_gd_object *o = &d->objects[i];
        if (!L->reached[i] || o->size != 48 || o->nfields != 3) continue;
        uint64_t pos = o->fields;
        uint64_t f0 = mf_gd_next_field(d, &pos), f1 = mf_gd_next_field(d, &pos),
                 f2 = mf_gd_next_field(d, &pos);
        if (f0 != 16 || f1 != 24 || f2 != 40) continue;
        gmap m;
        const mp_gomaptype *exact = L->bin ? typed_by_global(L, typed, ntyped, (uint32_t)i) : NULL;
        if (!exact) exact = iterator_type(L, o->addr);
        if (!recognise(L, o->addr, d->data + o->contents, exact, &m) &&
            !(exact && recognise(L, o->addr, d->data + o->contents, NULL, &m)))
            continue;
        m.obj = (uint32_t)i;
        if (add_map(L, &m)) {
            free(typed);
            return -1;
        }
    }
    free(typed);
    for (size_t i = 0; i < L->nfobjs; i++) {
        const fobj *x = &L->fobjs[i];
        if (!x->hmap) continue;
        const uint8_t *h = d->data + d->frames[x->frame].contents.off + x->off;
        gmap m;
        const mp_gomaptype *exact = iterator_type(L, x->addr);
        if (!recognise(L, x->addr, h, exact, &m) && !(exact && recognise(L, x->addr, h, NULL, &m)))
            continue;
        m.obj = (uint32_t)(L->nheap + i);
        if (add_map(L, &m)) return -1;
    }
    return L->oom ? -1 : 0;
}

static int cmp_map_addr(const void *a, const void *b)
{
    const gmap *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const gmap *map_at(const loader *L, uint64_t a)
{
    size_t lo = 0, hi = L->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->maps[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->nmaps && L->maps[lo].addr == a ? &L->maps[lo] : NULL;
}

/* Range iterators: 8 pointer words in a row of a frame (key, elem, t, h,
 * buckets, bptr, overflow, oldoverflow) whose h is a recognised map and
 * whose t points outside the heap (the map type, in read-only data). Their
 * words become iterator roots. */
static void mark_iterators(loader *L)
{
    const mf_gd_dump *d = L->d;
    for (size_t r = 0; r < L->nroots; r++) {
        rootw *x = &L->roots[r];
        if ((x->kind != MP_ROOT_STACK && x->kind != MP_ROOT_RUNTIME) || x->frame == NONE) continue;
        const mf_gd_frame *f = &d->frames[x->frame];
        /* x may be any of the 8 words: try each position */
        for (unsigned w = 0; w < 8; w++) {
            if (x->frame_off < 8ull * w) break;
            uint64_t it = x->frame_off - 8ull * w;
            if (it + 96 > f->contents.len) continue;
            const uint8_t *p = d->data + f->contents.off + it;
            uint64_t t = rd64(p + 16), h = rd64(p + 24);
            if (!t || !h || mf_gd_find(d, t) != SIZE_MAX || !map_at(L, h)) continue;
            uint8_t B = p[74];
            if (B != map_at(L, h)->B && !map_at(L, h)->oldbuckets) continue;
            x->kind = MP_ROOT_ITERATOR;
            break;
        }
    }
}

/* ------------------------------------------------------------ graph --- */

typedef struct graphing {
    mp_graph_builder *b;
    uint32_t *newix; /* unified -> provisional graph index, MP_NONE unreachable */
    uint32_t t_hmap, t_bucket, t_extra, t_list, t_frame;
} graphing;

static mp_sid root_name(loader *L, mp_graph_builder *b, const rootw *x)
{
    char buf[300];
    const mf_gd_dump *d = L->d;
    if (x->kind == MP_ROOT_GLOBAL || (x->kind == MP_ROOT_RUNTIME && x->frame == NONE)) {
        if (L->bin && mp_gobin_symbol(L->bin, x->slot, buf, sizeof buf))
            return mp_gb_intern(b, buf);
        const mf_gd_segment *sg = x->segment ? &d->bss_seg : &d->data_seg;
        snprintf(buf, sizeof buf, "%s+0x%" PRIx64, x->segment ? "bss" : "data",
                 x->slot - sg->start);
        return mp_gb_intern(b, buf);
    }
    if (x->kind == MP_ROOT_FINALIZER) {
        const mf_gd_finalizer *f = &d->finalizers[x->finalizer];
        snprintf(buf, sizeof buf, "%sfinalizer of 0x%" PRIx64, f->queued ? "queued " : "", f->obj);
        return mp_gb_intern(b, buf);
    }
    return 0;
}

static void add_roots(loader *L, graphing *G)
{
    const mf_gd_dump *d = L->d;
    for (size_t i = 0; i < L->nroots; i++) {
        rootw *x = &L->roots[i];
        if (x->kind == MP_ROOT_GLOBAL && L->bin) {
            char buf[300];
            if (mp_gobin_symbol(L->bin, x->slot, buf, sizeof buf) &&
                (strncmp(buf, "runtime.", 8) == 0 || strncmp(buf, "internal/", 9) == 0))
                x->kind = MP_ROOT_RUNTIME;
        }
        mp_root r = {.kind = x->kind, .slot = x->slot, .target = G->newix[x->target]};
        r.name = root_name(L, G->b, x);
        if (x->frame != NONE) {
            const mf_gd_frame *f = &d->frames[x->frame];
            const mf_gd_goroutine *g = &d->goroutines[f->goroutine];
            r.thread = (uint32_t)g->goid;
            r.frame = (uint32_t)f->depth;
            r.has_frame_offset = true;
            r.frame_offset = x->frame_off;
            r.function = mp_gb_string(G->b, (const char *)d->data + f->name.off, f->name.len);
            char st[64];
            if (g->waitreason.len)
                snprintf(st, sizeof st, "%.*s", (int)g->waitreason.len,
                         (const char *)d->data + g->waitreason.off);
            else
                snprintf(st, sizeof st, "%s",
                         g->status == 1   ? "runnable"
                         : g->status == 3 ? "syscall"
                                          : "");
            r.state = mp_gb_intern(G->b, st);
            const char *file;
            int line;
            if (L->bin &&
                mp_gobin_line(L->bin, f->pc > f->entry ? f->pc - 1 : f->pc, &file, &line)) {
                char shown[1024];
                r.file = mp_gb_intern(G->b, mp_display_path(file, shown, sizeof shown));
                r.line = line;
            }
        } else if (x->kind == MP_ROOT_GLOBAL && L->bin) {
            (void)0;
        }
        mp_gb_root(G->b, &r, 0);
    }
}

/* The allocation stacks of the memory profile, and the sampled objects. */
static int add_samples(loader *L, graphing *G)
{
    const mf_gd_dump *d = L->d;
    if (!d->nsamples || !d->nmemprof) return 0;
    /* (bucket address, stack) pairs sorted by address, for the samples */
    struct pair {
        uint64_t addr;
        uint32_t stack;
    } *by = malloc(d->nmemprof * sizeof *by);
    if (!by) return -1;
    mp_gframe fr[64];
    for (size_t i = 0; i < d->nmemprof; i++) {
        const mf_gd_memprof *m = &d->memprof[i];
        uint64_t pos = m->frames;
        size_t k = 0;
        for (uint64_t j = 0; j < m->nstk; j++) {
            mf_gd_bytes fn, file;
            uint64_t line;
            mf_gd_memprof_next(d, &pos, &fn, &file, &line);
            if (k == 64) continue;
            char fb[256], fl[512];
            snprintf(fb, sizeof fb, "%.*s", (int)(fn.len < 255 ? fn.len : 255),
                     (const char *)d->data + fn.off);
            snprintf(fl, sizeof fl, "%.*s", (int)(file.len < 511 ? file.len : 511),
                     (const char *)d->data + file.off);
            char shown[512];
            mp_display_path(fl, shown, sizeof shown);
            fr[k++] = mp_gb_frame(G->b, fb, shown, line <= INT32_MAX ? (int64_t)line : 0);
        }
        by[i].addr = m->addr;
        by[i].stack = mp_gb_stack(G->b, fr, k);
    }
    _Static_assert(offsetof(struct pair, addr) == 0, "sorted by the leading address");
    qsort(by, d->nmemprof, sizeof *by, cmp_u64);
    for (size_t s = 0; s < d->nsamples; s++) {
        size_t lo = 0, hi = d->nmemprof;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (by[mid].addr < d->samples[s].bucket)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == d->nmemprof || by[lo].addr != d->samples[s].bucket) continue;
        size_t o = mf_gd_find(d, d->samples[s].obj);
        if (o == SIZE_MAX || G->newix[o] == MP_NONE || by[lo].stack == MP_NONE) continue;
        mp_gb_object_stack(G->b, G->newix[o], by[lo].stack);
    }
    free(by);
    return 0;
}

/* Types for what the dump leaves untyped: map headers and buckets (the
 * objects holding a recognised map's table), and, with the binary, the
 * objects a map's pointer values point to. */
static void type_table(loader *L, graphing *G, const gmap *m)
{
    uint32_t objs[3] = {m->obj, NONE, NONE};
    uint32_t types[3] = {G->t_hmap, G->t_bucket, G->t_bucket};
    if (m->buckets) objs[1] = find_obj(L, m->buckets);
    if (m->oldbuckets) objs[2] = find_obj(L, m->oldbuckets);
    for (int i = 0; i < 3; i++)
        if (objs[i] != NONE && G->newix[objs[i]] != MP_NONE)
            mp_gb_object_type(G->b, G->newix[objs[i]], types[i]);
}

/* mapextra and the overflow lists it keeps (pointer-free maps keep their
 * overflow buckets alive through them): part of the table, no buckets. */
static void add_extra(loader *L, graphing *G, const gmap *m, uint32_t map)
{
    if (!m->extra) return;
    uint32_t ex = find_obj(L, m->extra);
    if (ex == NONE || G->newix[ex] == MP_NONE) return;
    uint32_t objs[5] = {ex, NONE, NONE, NONE, NONE};
    size_t n = 1;
    const uint8_t *p = mem(L, m->extra, 16);
    for (int j = 0; p && j < 2; j++) { /* overflow, oldoverflow: *[]*bmap */
        uint64_t sl = rd64(p + 8 * j);
        const uint8_t *hdr = sl ? mem(L, sl, 8) : NULL;
        uint32_t so = sl ? find_obj(L, sl) : NONE;
        if (so == NONE) continue;
        objs[n++] = so;
        uint32_t arr = hdr && rd64(hdr) ? find_obj(L, rd64(hdr)) : NONE;
        if (arr != NONE) objs[n++] = arr;
    }
    for (size_t i = 0; i < n; i++) {
        if (G->newix[objs[i]] == MP_NONE) continue;
        mp_bucket bk = {.map = map, .obj = G->newix[objs[i]], .index = UINT64_MAX, .aux = 1};
        mp_gb_bucket(G->b, &bk, 0);
        mp_gb_object_type(G->b, G->newix[objs[i]], i == 0 ? G->t_extra : G->t_list);
    }
}

static int add_maps(loader *L, graphing *G)
{
    for (size_t k = 0; k < L->nmaps; k++) {
        gmap *m = &L->maps[k];
        if (G->newix[m->obj] == MP_NONE) continue;
        mp_map x = {.header = G->newix[m->obj],
                    .address = m->addr,
                    .type_name = mp_gb_intern(G->b, m->name),
                    .key_kind = m->key_kind,
                    .key_type = MP_NONE,
                    .value_type = MP_NONE,
                    .count = m->count,
                    .B = m->B,
                    .flags = m->flags,
                    .noverflow = m->noverflow,
                    .buckets = MP_NONE,
                    .oldbuckets = MP_NONE,
                    .nevacuate = m->nevacuate,
                    .bucket_size = m->bs,
                    .key_size = m->ksize,
                    .value_size = m->vsize,
                    .types_inferred = m->inferred};
        uint32_t o;
        if (m->buckets && (o = find_obj(L, m->buckets)) != NONE) x.buckets = G->newix[o];
        if (m->oldbuckets && (o = find_obj(L, m->oldbuckets)) != NONE) {
            x.oldbuckets = G->newix[o];
            x.noldbuckets = (m->flags & 8) ? 1ull << m->B : 1ull << (m->B ? m->B - 1 : 0);
        }
        /* the value type: what the objects values point to are (with the
         * binary), else the value slot's type */
        if (m->type && !m->inferred) {
            const char *vn = m->type->value_name;
            if (m->type->value_kind == MP_GOKIND_PTR && vn[0] == '*')
                x.value_type = mp_gb_type(G->b, vn + 1, 0, MP_TYPE_STRUCT);
            else
                x.value_type = mp_gb_type(G->b, vn, m->vsize, MP_TYPE_OTHER);
            x.key_type = mp_gb_type(G->b, m->type->key_name, m->type->key_size,
                                    m->key_kind == MP_KEY_STRING ? MP_TYPE_STRING : MP_TYPE_OTHER);
        } else if (m->bs) {
            char vn[40];
            slot_name(vn, sizeof vn, m->vsize, m->vpat, false);
            x.value_type = mp_gb_type(G->b, vn, m->vsize, MP_TYPE_OTHER);
        }
        uint32_t mi = mp_gb_map(G->b, &x);
        if (mi == MP_NONE) return -1;
        type_table(L, G, m);
        walk W = {.m = m,
                  .bs = m->bs,
                  .L = L,
                  .b = G->b,
                  .newix = G->newix,
                  .map = mi,
                  .value_type = m->type && !m->inferred && m->type->value_kind == MP_GOKIND_PTR
                                    ? x.value_type
                                    : MP_NONE};
        if (m->buckets) walk_map(&W);
        add_extra(L, G, m, mi);
    }
    return 0;
}

/* Every reachable object, heap and frame objects merged in address order,
 * with its edges; newix maps unified indices to the builder's. */
static int add_objects(loader *L, graphing *G, size_t nreached)
{
    const mf_gd_dump *d = L->d;
    size_t n = nobj(L);
    G->newix = malloc((n ? n : 1) * sizeof *G->newix);
    uint64_t *addr = malloc((nreached ? nreached : 1) * sizeof *addr);
    uint64_t *size = malloc((nreached ? nreached : 1) * sizeof *size);
    uint32_t *type = malloc((nreached ? nreached : 1) * sizeof *type);
    uint32_t *order = malloc((nreached ? nreached : 1) * sizeof *order);
    if (!G->newix || !addr || !size || !type || !order) {
        free(addr), free(size), free(type), free(order);
        return -1;
    }
    size_t k = 0, h = 0, f = 0;
    while (h < L->nheap || f < L->nfobjs) {
        bool take_heap = f == L->nfobjs || (h < L->nheap && d->objects[h].addr < L->fobjs[f].addr);
        uint32_t u = take_heap ? (uint32_t)h++ : (uint32_t)(L->nheap + f++);
        if (!L->reached[u]) {
            G->newix[u] = MP_NONE;
            continue;
        }
        G->newix[u] = (uint32_t)k;
        order[k] = u;
        addr[k] = obj_addr(L, u);
        size[k] = obj_size(L, u);
        type[k] = u >= L->nheap ? G->t_frame : MP_NONE;
        k++;
    }
    mp_gb_adopt_objects(G->b, addr, size, type, k);
    for (size_t i = 0; i < k; i++) {
        uint32_t u = order[i];
        for (uint64_t e = L->estart[u]; e < L->estart[u + 1]; e++)
            if (L->edst[e] != NONE) mp_gb_edge(G->b, (uint32_t)i, G->newix[L->edst[e]]);
    }
    free(order);
    return 0;
}

static int load(loader *L, const char *binary, mp_graph **out)
{
    const mf_gd_dump *d = L->d;
    mf_error *err = L->err;
    const mf_gd_params *pm = &d->params;
    char version[64];
    snprintf(version, sizeof version, "%.*s", (int)(pm->version.len < 63 ? pm->version.len : 63),
             (const char *)d->data + pm->version.off);
    if (pm->go_major != 1 || pm->go_minor < 7) {
        mf_error_set(err,
                     "%s: written by an unknown Go version \"%s\": maps of Go 1.7 to 1.23 "
                     "are read",
                     d->name, version);
        return -1;
    }
    if (pm->go_minor >= 24) {
        mf_error_set(err,
                     "%s: written by %s: Go 1.24 and later keep maps as Swiss tables, "
                     "which maproot does not read yet (Go 1.7 to 1.23 are read)",
                     d->name, version);
        return -1;
    }
    if (binary && mp_gobin_open(binary, &L->bin, err)) return -1;
    L->frames_by_sp = malloc((d->nframes ? d->nframes : 1) * sizeof *L->frames_by_sp);
    if (!L->frames_by_sp) goto oom;
    for (size_t i = 0; i < d->nframes; i++) L->frames_by_sp[i] = (uint32_t)i;
    qsort_r(L->frames_by_sp, d->nframes, sizeof *L->frames_by_sp, cmp_frame_sp, (void *)d);
    uint64_t nreached;
    if (collect_iterator_types(L) || find_frame_maps(L) || resolve_edges(L) || collect_roots(L) ||
        mark(L, &nreached) || find_maps(L))
        goto oom;
    if (L->nmaps > 1) qsort(L->maps, L->nmaps, sizeof *L->maps, cmp_map_addr);
    mark_iterators(L);

    graphing G = {.b = mp_gb_new(d->name, "godump")};
    if (!G.b) goto oom;
    uint64_t unreached_bytes = 0;
    for (size_t i = 0; i < nobj(L); i++)
        if (!L->reached[i]) unreached_bytes += obj_size(L, (uint32_t)i);
    const char *prog = binary ? strrchr(binary, '/') : NULL;
    mp_gb_set_info(G.b,
                   prog     ? prog + 1
                   : binary ? binary
                            : "",
                   0, 0, (uint32_t)d->num_gc, 8, 0, d->memstats[MF_GD_MS_HEAP_ALLOC]);
    mp_gb_set_origin(G.b, "goroutine", version, nobj(L) - nreached, unreached_bytes);
    G.t_hmap = mp_gb_type(G.b, "runtime.hmap", 48, MP_TYPE_MAP_HEADER);
    G.t_bucket = mp_gb_type(G.b, "runtime.bmap", 0, MP_TYPE_BUCKET);
    G.t_extra = mp_gb_type(G.b, "runtime.mapextra", 24, MP_TYPE_RUNTIME);
    G.t_list = mp_gb_type(G.b, "[]*runtime.bmap", 0, MP_TYPE_RUNTIME);
    G.t_frame = G.t_hmap;
    if (add_objects(L, &G, nreached)) {
        mp_gb_free(G.b);
        free(G.newix);
        goto oom;
    }
    /* frame objects that are buckets, not headers */
    for (size_t i = 0; i < L->nfobjs; i++)
        if (!L->fobjs[i].hmap && G.newix[L->nheap + i] != MP_NONE)
            mp_gb_object_type(G.b, G.newix[L->nheap + i], G.t_bucket);
    add_roots(L, &G);
    if (add_maps(L, &G) || add_samples(L, &G) || L->oom) {
        mp_gb_free(G.b);
        free(G.newix);
        goto oom;
    }
    free(G.newix);
    return mp_gb_finish(G.b, out, err);
oom:
    mf_error_set(err, "%s: out of memory loading the dump (%zu objects)", d->name, d->nobjects);
    return -1;
}

int mp_load_godump_dump(const mf_gd_dump *d, const char *binary, mp_graph **out, mf_error *err)
{
    *out = NULL;
    struct memo memo = {0, NONE};
    loader L = {.d = d, .err = err, .nheap = d->nobjects, .start_memo = &memo};
    int rc = load(&L, binary, out);
    mp_gobin_close(L.bin);
    free(L.fobjs);
    free(L.frames_by_sp);
    free(L.estart);
    free(L.edst);
    free(L.reached);
    free(L.roots);
    free(L.maps);
    free(L.itypes);
    free(L.scratch);
    return rc;
}

int mp_load_godump_in(mf_in *in, const mf_limits *lim, const char *binary, FILE *progress,
                      mp_graph **out, mf_error *err)
{
    *out = NULL;
    mf_gd_dump *d;
    if (progress) {
        fprintf(progress, "\rmaproot: reading %s", mf_in_name(in));
        fflush(progress);
    }
    int rc = mf_gd_open_in(in, lim, &d, err);
    if (!rc) {
        rc = mp_load_godump_dump(d, binary, out, err);
        mf_gd_close(d);
    }
    if (progress) {
        fprintf(progress, "\r\033[K");
        fflush(progress);
    }
    return rc;
}
