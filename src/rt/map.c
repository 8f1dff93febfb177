/*
 * src/rt/map.c -- Go-style hash maps on the garbage-collected heap.
 *
 * The design is Go's classic map (runtime/map.go as of Go 1.19), so that the
 * retention patterns of Go programs happen here for real:
 *
 *   header (mr_map)  count, flags, B, noverflow, seed, buckets, oldbuckets,
 *                    nevacuate, extra. A heap object whose type lists
 *                    buckets, oldbuckets and extra as its pointer fields.
 *   bucket           tophash[8] | 8 keys | 8 values | overflow pointer.
 *                    A bucket array is one array object of 2^B buckets;
 *                    overflow buckets are single objects. The bucket type is
 *                    built per map type (pointer offsets of every key, value
 *                    and the overflow link), kept in a table by map type.
 *   extra            maps whose keys and values hold no pointers only (Go's
 *                    mapextra): their bucket type lists no pointer at all,
 *                    the overflow link included, so a collection never
 *                    reads their buckets (the allocator puts pointer-free
 *                    objects in spans marking does not scan). What keeps
 *                    their overflow buckets alive is then a list per bucket
 *                    array: extra->overflow lists every overflow bucket
 *                    made for the current array, extra->oldoverflow those
 *                    of the old array while a growth runs. A list is a
 *                    chain of chunks (pointer arrays; word 0 links the next
 *                    chunk), so it grows without copying and whoever holds
 *                    its first chunk sees every bucket added later.
 *
 * tophash bytes below MIN_TOP are states, not hashes: EMPTY_REST (this slot
 * and every later slot of the bucket and its overflow chain are empty),
 * EMPTY_ONE, EVAC_X / EVAC_Y (the entry moved to the X or Y half of the new
 * array), EVAC_EMPTY (empty, and the bucket is evacuated).
 *
 * Growth: when count would exceed 6.5 per bucket the array doubles; when
 * overflow buckets reach 2^min(B,15) it is replaced by one of the same size
 * (that compacts chains left sparse by deletes). Either way growth is
 * incremental: the old array stays in oldbuckets and each assign/delete moves
 * ("evacuates") the old bucket it touches plus the one at nevacuate. Delete
 * never shrinks the array.
 *
 * Invariants kept here:
 *  - an old bucket is evacuated iff its tophash[0] is EVAC_X, EVAC_Y or
 *    EVAC_EMPTY; old buckets below nevacuate are all evacuated;
 *  - an entry is only ever inserted into the new array, and only after the
 *    old bucket that maps onto its new bucket has been evacuated (so the
 *    destination of an evacuation is always still empty);
 *  - every slot whose tophash is not >= MIN_TOP has zeroed key and value
 *    memory in the current array (delete clears them), so a new entry
 *    starts with a zeroed value and dead keys/values are not retained;
 *  - F_WRITING is set exactly while a write operation is in progress;
 *  - in a map without pointers, every overflow bucket reachable from the
 *    current array is on extra->overflow and every one reachable from the
 *    old array on extra->oldoverflow (or on the list of an iterator that
 *    walks that array: it holds the lists it started with).
 *
 * GC safety: a collection may run inside any allocation made here. The
 * collector scans the calling thread's stack conservatively, so every newly
 * allocated object is held in a local variable until it is stored into the
 * map, and the map is consistent (every live entry reachable through the
 * header) whenever an allocation happens.
 */
#include "rt/hash.h"
#include "rt/heap.h"
#include "rt/internal.h"
#include "rt/thread.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

#define BUCKET_CNT 8
#define MAX_INLINE 128 /* keys/values larger than this are stored indirectly */

enum {
    EMPTY_REST = 0,
    EMPTY_ONE = 1,
    EVAC_X = 2,
    EVAC_Y = 3,
    EVAC_EMPTY = 4,
    MIN_TOP = 5,
};

enum {
    F_ITERATOR = 1,     /* an iterator may be using buckets */
    F_OLD_ITERATOR = 2, /* an iterator may be using oldbuckets */
    F_WRITING = 4,      /* a write is in progress */
    F_SAME_SIZE = 8,    /* the current growth is to a table of the same size */
    F_TEST_HASH = 16,   /* test hook: the hash of an 8-byte key is the key itself */
};

/* Key classes: each has its own specialized copy of the hot paths. */
enum {
    KC_64,  /* 8-byte keys compared as one word: int64, pointers, 8-byte BYTES */
    KC_STR, /* mr_str keys, compared by content */
    KC_MEM, /* other fixed-size byte keys (possibly indirect), memcmp */
};

/* The per-map-type layout, built once and kept in the layouts table.
 * Malloc'd, never freed (map types live as long as the program). */
/*
 * The layout of a bucket whose key slots take kslot bytes and whose value
 * slots take 8 (int64, pointers, indirect values), as constants: tophash,
 * keys, values, overflow pointer. A fast path that passes it to the inlined
 * search reads no offset from the map's layout and keeps fewer registers;
 * build_layout asserts that it builds the same.
 */
#define FIXED_LAYOUT(kslot)                                                                        \
    {.bucket_size = BUCKET_CNT * (1 + (kslot) + 8) + 8,                                            \
     .key_slot = (kslot),                                                                          \
     .val_slot = 8,                                                                                \
     .vals_off = BUCKET_CNT * (1 + (kslot)),                                                       \
     .ovf_off = BUCKET_CNT * (1 + (kslot) + 8)}

typedef struct map_layout {
    mr_type bucket_type; /* kind MR_KIND_BUCKET */
    uint32_t bucket_size;
    uint32_t key_slot; /* bytes per key slot (8 when indirect) */
    uint32_t val_slot; /* bytes per value slot (8 when indirect) */
    uint32_t vals_off; /* offset of value slot 0 */
    uint32_t ovf_off;  /* offset of the overflow pointer */
    uint32_t key_size; /* bytes of a key as the user passes it */
    uint32_t val_size; /* bytes of a value as the user sees it */
    uint8_t kc;
    bool key_indirect, val_indirect;
    bool flat; /* keys and values hold no pointers: overflow buckets on lists */
    const mr_type *key_type, *val_type;
    const mr_map_type *type; /* the map type it was built for (one layout each) */
} map_layout;

/* The most buckets an array may have is 2^MAX_B: bucket indices and
 * nevacuate are 32-bit (an array of 2^31 buckets of 80 bytes is already
 * more than the heap arena can hold). */
#define MAX_B 31

typedef struct map_extra map_extra;

/* 64 bytes: a map header takes its size class to the byte. */
struct mr_map {
    void *buckets;    /* array of 2^B buckets; NULL while B == 0 and never written */
    void *oldbuckets; /* during growth: the previous array */
    map_extra *extra; /* lay->flat maps with overflow buckets or iterators, else NULL */
    uint64_t count;
    uint32_t seed;
    uint32_t nevacuate;    /* old buckets below this are evacuated */
    const map_layout *lay; /* and through it the map type (lay->type) */
    uint8_t flags;         /* F_*; accessed with relaxed atomics (iterators OR bits in) */
    uint8_t B;
    uint16_t noverflow; /* approximate number of overflow buckets */
    uint8_t grow_op;    /* OP_* of the last insertion of a new key, OP_NONE before */
    uint8_t listed;     /* on the registry (see below); written with the world stopped
                           or by the thread that made the map, before it is shared */
    /* The program's call that last inserted a new key (see "entry points" in
     * internal.h): where the map last grew. Not a heap pointer. */
    uintptr_t grow_pc;
};
_Static_assert(sizeof(struct mr_map) == 64, "a map header fills its size class");

/* The operations that insert, as mr_map_last_insert names them. */
enum { OP_NONE, OP_ASSIGN, OP_SET };
static const char *const op_names[] = {NULL, "mr_map_assign", "mr_map_set"};

static const uint32_t header_ptr_offsets[] = {
    (uint32_t)offsetof(struct mr_map, buckets),
    (uint32_t)offsetof(struct mr_map, oldbuckets),
    (uint32_t)offsetof(struct mr_map, extra),
};
static const mr_type map_header_type = {
    "map.hdr", sizeof(struct mr_map), header_ptr_offsets, 3, MR_KIND_MAP_HEADER, NULL,
};

/* The overflow lists of a map without pointers (see the top of the file).
 * A chunk is an object of OVF_CHUNK_MIN..OVF_CHUNK_MAX words: word 0
 * is the next chunk (or NULL), the others overflow buckets (NULL past the
 * last one). Its size doubles from chunk to chunk, so a map with one
 * overflow bucket pays 32 bytes and a big one a few chunks of 8 KiB. */
struct map_extra {
    void **overflow;    /* first chunk of the current array's list, or NULL */
    void **last;        /* the list's last chunk, where buckets are added */
    void **oldoverflow; /* during growth: first chunk of the old array's list */
    uint32_t nlast;     /* words of *last in use (word 0 included) */
    uint32_t caplast;   /* words of *last */
};
enum { OVF_CHUNK_MIN = 4, OVF_CHUNK_MAX = 1024 };

static const uint32_t extra_ptr_offsets[] = {
    (uint32_t)offsetof(map_extra, overflow),
    (uint32_t)offsetof(map_extra, last),
    (uint32_t)offsetof(map_extra, oldoverflow),
};
static const mr_type map_extra_type = {
    "map.extra", sizeof(map_extra), extra_ptr_offsets, 3, MR_KIND_RUNTIME, NULL,
};
/* A chunk of each size is an object of a type of its own (not an array of
 * words), so that tools see it as the runtime's, as the extra object. Built
 * once, with the first layout of a map without pointers (under
 * layouts_lock: a map of that type, and so a chunk, comes after). */
enum { OVF_CHUNK_SIZES = 9 }; /* 4, 8, ... 1024 words */
static uint32_t chunk_ptr_offsets[OVF_CHUNK_MAX];
static mr_type chunk_types[OVF_CHUNK_SIZES];

static void init_chunk_types(void)
{
    if (chunk_types[0].size) return;
    for (uint32_t i = 0; i < OVF_CHUNK_MAX; i++)
        chunk_ptr_offsets[i] = i * (uint32_t)sizeof(void *);
    for (uint32_t k = 0; k < OVF_CHUNK_SIZES; k++) {
        uint32_t words = (uint32_t)OVF_CHUNK_MIN << k;
        chunk_types[k] = (mr_type){"map.overflow", words * sizeof(void *), chunk_ptr_offsets,
                                   words,          MR_KIND_RUNTIME,        NULL};
    }
}

/* A new chunk of `words` words (a power of two in the chunk range). */
static void **new_chunk(uint32_t words, uintptr_t caller)
{
    uint32_t k = (uint32_t)__builtin_ctz(words / OVF_CHUNK_MIN);
    return mr__map_new(&chunk_types[k], caller);
}

atomic_uint_fast64_t mr__maps_created;

/* ----------------------------------------------------------------- layout -- */

static void check_descriptor(const mr_map_type *t, const char *what, const mr_type *d)
{
    for (uint32_t i = 0; i < d->nptrs; i++) {
        uint32_t o = d->ptr_offsets[i];
        if (o % 8 != 0 || (size_t)o + 8 > d->size || (i > 0 && o <= d->ptr_offsets[i - 1]))
            mr__throw("mr_map_new: map type %s: %s type %s has a bad pointer offset %" PRIu32,
                      t->name ? t->name : "?", what, d->name ? d->name : "?", o);
    }
}

static uint32_t round8(size_t n)
{
    return (uint32_t)((n + 7) & ~(size_t)7);
}

/*
 * Computes the bucket layout of a map type and builds its bucket descriptor.
 * The pointer offsets are listed in increasing order: the pointer words of
 * keys 0..7, of values 0..7, then the overflow link. Slots are rounded up to
 * 8 bytes so that every pointer word stays aligned.
 */
static map_layout *build_layout(const mr_map_type *t)
{
    const char *name = t->name ? t->name : "map[?]?";
    size_t ksize;
    switch (t->key_kind) {
    case MR_KEY_INT64:
    case MR_KEY_PTR:
        ksize = 8;
        break;
    case MR_KEY_STRING:
        ksize = sizeof(mr_str);
        break;
    case MR_KEY_BYTES:
        if (!t->key_type) mr__throw("mr_map_new: map type %s: MR_KEY_BYTES needs a key_type", name);
        ksize = t->key_type->size;
        check_descriptor(t, "key", t->key_type);
        break;
    default:
        mr__throw("mr_map_new: map type %s: unknown key kind %d", name, (int)t->key_kind);
    }
    size_t vsize = t->value_type ? t->value_type->size : 0;
    if (t->value_type) check_descriptor(t, "value", t->value_type);

    map_layout *L = calloc(1, sizeof *L);
    if (!L) mr__throw("out of memory (map layout)");
    L->key_type = t->key_type;
    L->val_type = t->value_type;
    L->key_size = (uint32_t)(ksize > UINT32_MAX ? UINT32_MAX : ksize);
    L->val_size = (uint32_t)(vsize > UINT32_MAX ? UINT32_MAX : vsize);
    L->key_indirect = ksize > MAX_INLINE;
    L->val_indirect = vsize > MAX_INLINE;
    L->key_slot = L->key_indirect ? 8 : round8(ksize);
    L->val_slot = L->val_indirect ? 8 : round8(vsize);
    L->vals_off = BUCKET_CNT + BUCKET_CNT * L->key_slot;
    L->ovf_off = L->vals_off + BUCKET_CNT * L->val_slot;
    L->bucket_size = L->ovf_off + 8;
    /* what the fast paths take for constants (FIXED_LAYOUT) */
    assert(L->val_slot != 8 || (L->bucket_size == BUCKET_CNT * (1 + L->key_slot + 8) + 8 &&
                                L->vals_off == BUCKET_CNT * (1 + L->key_slot) &&
                                L->ovf_off == L->bucket_size - 8));
    if (t->key_kind == MR_KEY_STRING)
        L->kc = KC_STR;
    else if (ksize == 8)
        L->kc = KC_64;
    else
        L->kc = KC_MEM;

    /* Pointer words of one key and one value, relative to the slot. */
    uint32_t kp_n = 0, vp_n = 0;
    const uint32_t *kp = NULL, *vp = NULL;
    static const uint32_t at_zero[1] = {0};
    if (L->key_indirect || t->key_kind == MR_KEY_PTR || t->key_kind == MR_KEY_STRING) {
        kp = at_zero;
        kp_n = 1;
    } else if (t->key_kind == MR_KEY_BYTES) {
        kp = t->key_type->ptr_offsets;
        kp_n = t->key_type->nptrs;
    }
    if (L->val_indirect) {
        vp = at_zero;
        vp_n = 1;
    } else if (t->value_type) {
        vp = t->value_type->ptr_offsets;
        vp_n = t->value_type->nptrs;
    }
    /* Without key or value pointers the overflow link is not listed either:
     * the bucket type is pointer-free (see "extra" at the top). */
    L->flat = kp_n == 0 && vp_n == 0;
    if (L->flat) init_chunk_types();
    uint32_t n = BUCKET_CNT * (kp_n + vp_n) + 1;
    uint32_t *offs = malloc(n * sizeof *offs);
    size_t name_len = strlen(name) + 16;
    char *bname = malloc(name_len);
    if (!offs || !bname) mr__throw("out of memory (map layout)");
    uint32_t j = 0;
    for (uint32_t i = 0; i < BUCKET_CNT; i++)
        for (uint32_t p = 0; p < kp_n; p++) offs[j++] = BUCKET_CNT + i * L->key_slot + kp[p];
    for (uint32_t i = 0; i < BUCKET_CNT; i++)
        for (uint32_t p = 0; p < vp_n; p++) offs[j++] = L->vals_off + i * L->val_slot + vp[p];
    if (!L->flat) offs[j++] = L->ovf_off;
    /* Go names the bucket of map[K]V "map.bucket[K]V". */
    if (strncmp(name, "map[", 4) == 0)
        snprintf(bname, name_len, "map.bucket%s", name + 3);
    else
        snprintf(bname, name_len, "map.bucket(%s)", name);
    L->bucket_type = (mr_type){bname, L->bucket_size, j ? offs : NULL, j, MR_KIND_BUCKET, NULL};
    if (!j) free(offs);
    return L;
}

/*
 * Layouts by map type: a small open-addressing table keyed by the
 * descriptor's address, so descriptors can be const. Only mr_map_new looks
 * here (a map keeps its layout pointer), under a mutex, unless the layout
 * is the one it found last; layouts are never freed.
 */
static pthread_mutex_t layouts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const mr_map_type *type;
    map_layout *layout;
} * layouts;
static size_t layouts_cap, layouts_len;

static size_t layout_index(const mr_map_type *t, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)t * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & (cap - 1);
}

/* Doubles the table (caller holds layouts_lock). */
static void grow_layouts(void)
{
    size_t cap = layouts_cap ? layouts_cap * 2 : 64;
    __typeof__(layouts) t = calloc(cap, sizeof *t);
    if (!t) mr__throw("out of memory (map layouts)");
    for (size_t i = 0; i < layouts_cap; i++) {
        if (!layouts[i].type) continue;
        size_t j = layout_index(layouts[i].type, cap);
        while (t[j].type) j = (j + 1) & (cap - 1);
        t[j] = layouts[i];
    }
    free(layouts);
    layouts = t;
    layouts_cap = cap;
}

/* The layout mr_map_new found last. A layout is immutable once published
 * and never freed, and names its type, so a reader that sees the pointer
 * sees the whole layout (release/acquire) and can check it is t's: a
 * program making many maps of one type skips the mutex. */
static const map_layout *_Atomic last_layout;

/* The layout of t, built on first use. */
static const map_layout *layout_of(const mr_map_type *t)
{
    const map_layout *last = atomic_load_explicit(&last_layout, memory_order_acquire);
    if (MR_LIKELY(last && last->type == t)) return last;
    pthread_mutex_lock(&layouts_lock);
    if (layouts_len * 2 >= layouts_cap) grow_layouts();
    size_t i = layout_index(t, layouts_cap);
    while (layouts[i].type && layouts[i].type != t) i = (i + 1) & (layouts_cap - 1);
    if (!layouts[i].type) {
        layouts[i].type = t;
        layouts[i].layout = build_layout(t);
        layouts[i].layout->type = t;
        layouts_len++;
    }
    map_layout *L = layouts[i].layout;
    pthread_mutex_unlock(&layouts_lock);
    atomic_store_explicit(&last_layout, L, memory_order_release);
    return L;
}

/* ---------------------------------------------------------------- helpers -- */

#define LSB8 0x0101010101010101ull
#define MSB8 0x8080808080808080ull

INLINE uint8_t flags_get(const mr_map *m)
{
    return __atomic_load_n(&m->flags, __ATOMIC_RELAXED);
}

INLINE void flags_put(mr_map *m, uint8_t f)
{
    __atomic_store_n(&m->flags, f, __ATOMIC_RELAXED);
}

INLINE uint64_t load64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

INLINE void *load_ptr(const void *p)
{
    void *v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void store_ptr(void *p, const void *v)
{
    memcpy(p, &v, sizeof v);
}

/* The bytes of the word that are zero get their top bit set; the lowest set
 * flag is exact, higher ones may be false positives (borrow), which callers
 * either tolerate (they re-check the byte) or avoid (they take the lowest). */
INLINE uint64_t zero_bytes(uint64_t v)
{
    return (v - LSB8) & ~v & MSB8;
}

INLINE uint64_t tophash_word(const uint8_t *b)
{
    return load64(b);
}

INLINE unsigned first_byte(uint64_t mask)
{
    return (unsigned)__builtin_ctzll(mask) >> 3;
}

INLINE uint8_t tophash(uint64_t hash)
{
    uint8_t top = (uint8_t)(hash >> 56);
    return top < MIN_TOP ? (uint8_t)(top + MIN_TOP) : top;
}

INLINE bool evacuated(const uint8_t *b)
{
    return b[0] > EMPTY_ONE && b[0] < MIN_TOP;
}

INLINE uintptr_t bucket_mask(uint8_t B)
{
    return ((uintptr_t)1 << B) - 1;
}

/* Go's load factor 6.5: more than 8 entries and more than 6.5 per bucket. */
INLINE bool over_load(uint64_t count, uint8_t B)
{
    return count > BUCKET_CNT && count > 13 * (((uint64_t)1 << B) / 2);
}

/* Go's same-size growth trigger: about as many overflow buckets as buckets. */
INLINE bool too_many_overflow(uint16_t noverflow, uint8_t B)
{
    if (B > 15) B = 15;
    return noverflow >= (uint16_t)1 << B;
}

INLINE uintptr_t noldbuckets(const mr_map *m, uint8_t f)
{
    uintptr_t n = (uintptr_t)1 << m->B;
    return (f & F_SAME_SIZE) ? n : n >> 1;
}

INLINE uint32_t key_slot(const map_layout *L, int kc)
{
    return kc == KC_64 ? 8 : kc == KC_STR ? (uint32_t)sizeof(mr_str) : L->key_slot;
}

INLINE uint8_t *key_at(const map_layout *L, int kc, uint8_t *b, unsigned i)
{
    return b + BUCKET_CNT + i * key_slot(L, kc);
}

INLINE uint8_t *val_at(const map_layout *L, int kc, uint8_t *b, unsigned i)
{
    uint32_t off = kc == KC_64    ? BUCKET_CNT + 8 * BUCKET_CNT
                   : kc == KC_STR ? BUCKET_CNT + (uint32_t)sizeof(mr_str) * BUCKET_CNT
                                  : L->vals_off;
    return b + off + i * L->val_slot;
}

/* The key bytes of a slot (following an indirect key). */
INLINE uint8_t *key_deref(const map_layout *L, int kc, uint8_t *k)
{
    return (kc == KC_MEM && L->key_indirect) ? load_ptr(k) : k;
}

INLINE uint8_t *val_deref(const map_layout *L, uint8_t *v)
{
    return L->val_indirect ? load_ptr(v) : v;
}

INLINE uint8_t *overflow_of(const map_layout *L, const uint8_t *b)
{
    return load_ptr(b + L->ovf_off);
}

/*
 * Asks for every cache line of bucket b at once, before its tophash word is
 * read. The slot of a key is known only once that word has been matched, so
 * without this the key and value lines of a bucket that is not in the cache
 * are fetched one after the other, each a full memory latency behind the
 * tophash line; requested together, the whole bucket costs about one. (Go's
 * loops read every key slot at addresses known up front and get the same
 * overlap from out-of-order execution.) A bucket of up to 4 lines is
 * covered: 208 bytes, a string-keyed bucket with 8-byte values, spans 4
 * lines at any 16-byte offset.
 */
INLINE void prefetch_bucket(const uint8_t *b, uint32_t bs)
{
    __builtin_prefetch(b + 64);
    if (bs > 128) __builtin_prefetch(b + 128);
    if (bs > 64) __builtin_prefetch(b + bs - 1);
}

INLINE uint64_t hash_key(const mr_map *m, const map_layout *L, int kc, const void *key, uint8_t f)
{
    if (kc == KC_64) {
        uint64_t k = load64(key);
        if (MR_UNLIKELY(f & F_TEST_HASH)) return k;
        return mr__hash64(k, m->seed);
    }
    if (kc == KC_STR) {
        const mr_str *s = key;
        return mr__hash_mixed(s->ptr, s->len, m->seed); /* the seed is random */
    }
    return mr__hash_mixed(key, L->key_size, m->seed);
}

/*
 * Equal string bytes. Most keys are short: up to 32 bytes they compare with
 * overlapping loads (reading only the n bytes), no call; the rest with
 * memcmp.
 */
INLINE bool str_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n > 16 && n <= 32)
        return ((mr__load64(a) ^ mr__load64(b)) | (mr__load64(a + 8) ^ mr__load64(b + 8)) |
                (mr__load64(a + n - 16) ^ mr__load64(b + n - 16)) |
                (mr__load64(a + n - 8) ^ mr__load64(b + n - 8))) == 0;
    if (n >= 8 && n <= 16)
        return ((mr__load64(a) ^ mr__load64(b)) |
                (mr__load64(a + n - 8) ^ mr__load64(b + n - 8))) == 0;
    if (n >= 4 && n < 8)
        return ((mr__load32(a) ^ mr__load32(b)) |
                (mr__load32(a + n - 4) ^ mr__load32(b + n - 4))) == 0;
    return n == 0 || memcmp(a, b, n) == 0;
}

/* key: as the user passes it; slot_key: the key bytes in the map. */
INLINE bool key_eq(const map_layout *L, int kc, const void *key, const void *slot_key)
{
    if (kc == KC_64) return load64(key) == load64(slot_key);
    if (kc == KC_STR) {
        const mr_str *a = key, *b = slot_key;
        return a->len == b->len &&
               (a->ptr == b->ptr ||
                str_bytes_eq((const uint8_t *)a->ptr, (const uint8_t *)b->ptr, a->len));
    }
    return L->key_size == 0 || memcmp(key, slot_key, L->key_size) == 0;
}

/* Copies a slot's worth of bytes; the common sizes avoid a memcpy call. */
INLINE void copy_slot(void *dst, const void *src, uint32_t n)
{
    if (n == 8)
        memcpy(dst, src, 8);
    else if (n == 16)
        memcpy(dst, src, 16);
    else if (n != 0)
        memcpy(dst, src, n);
}

INLINE void clear_slot(void *dst, uint32_t n)
{
    if (n == 8)
        memset(dst, 0, 8);
    else if (n == 16)
        memset(dst, 0, 16);
    else if (n != 0)
        memset(dst, 0, n);
}

static uint64_t hash_any(const mr_map *m, const map_layout *L, const void *key, uint8_t f)
{
    switch (L->kc) {
    case KC_64:
        return hash_key(m, L, KC_64, key, f);
    case KC_STR:
        return hash_key(m, L, KC_STR, key, f);
    default:
        return hash_key(m, L, KC_MEM, key, f);
    }
}

/* ----------------------------------------------------------------- lookup -- */

/*
 * Finds key: returns its value (after following an indirect value) and sets
 * *kout to its key bytes, or returns NULL. During growth the old bucket is
 * searched if it has not been evacuated yet. The tophash bytes of a bucket
 * are compared all at once (one word); the chain ends at a bucket holding an
 * EMPTY_REST byte, since nothing can follow one.
 * growing: the map may have an old array (else the caller saw none, and
 * the copy it inlines does not look for one).
 */
INLINE uint8_t *find_t(const mr_map *m, const map_layout *L, int kc, const void *key, uint64_t hash,
                       uint8_t f, bool growing, uint8_t **kout)
{
    uint32_t bs = L->bucket_size;
    uintptr_t mask = bucket_mask(m->B);
    uint8_t *b = (uint8_t *)m->buckets + (hash & mask) * bs;
    uint8_t *old = growing ? m->oldbuckets : NULL;
    if (MR_UNLIKELY(old != NULL)) {
        if (!(f & F_SAME_SIZE)) mask >>= 1;
        uint8_t *ob = old + (hash & mask) * bs;
        if (!evacuated(ob)) b = ob;
    }
    prefetch_bucket(b, bs);
    uint8_t top = tophash(hash);
    uint64_t pattern = LSB8 * top;
    do {
        uint64_t tw = tophash_word(b);
        for (uint64_t mm = zero_bytes(tw ^ pattern); mm; mm &= mm - 1) {
            unsigned i = first_byte(mm);
            if (b[i] != top) continue;
            uint8_t *k = key_deref(L, kc, key_at(L, kc, b, i));
            if (key_eq(L, kc, key, k)) {
                *kout = k;
                return val_deref(L, val_at(L, kc, b, i));
            }
        }
        if (zero_bytes(tw)) break; /* an EMPTY_REST: the chain ends here */
        b = overflow_of(L, b);
    } while (b);
    return NULL;
}

INLINE uint8_t *lookup_t(mr_map *m, const map_layout *L, int kc, const void *key)
{
    uint8_t f = flags_get(m);
    if (MR_UNLIKELY(f & F_WRITING)) mr__throw("concurrent map read and map write (mr_map_lookup)");
    uint8_t *k;
    return find_t(m, L, kc, key, hash_key(m, L, kc, key, f), f, true, &k);
}

/* Any key class; for the iterator, which must re-find moved entries. */
static uint8_t *find_any(const mr_map *m, const map_layout *L, const void *key, uint8_t **kout)
{
    uint8_t f = flags_get(m);
    switch (L->kc) {
    case KC_64:
        return find_t(m, L, KC_64, key, hash_key(m, L, KC_64, key, f), f, true, kout);
    case KC_STR:
        return find_t(m, L, KC_STR, key, hash_key(m, L, KC_STR, key, f), f, true, kout);
    default:
        return find_t(m, L, KC_MEM, key, hash_key(m, L, KC_MEM, key, f), f, true, kout);
    }
}

/*
 * Go's one-bucket lookup of an 8-byte key (mapaccess1_fast64 when B == 0):
 * a table of one bucket that is not growing holds at most 8 entries and no
 * overflow bucket (an insertion that would need one grows the table
 * instead), so the key is compared with each occupied slot's, no hash. The
 * chain is followed all the same, should one ever hang there.
 */
INLINE uint8_t *find_small64(const mr_map *m, const map_layout *L, const void *key)
{
    uint8_t f = flags_get(m);
    if (MR_UNLIKELY(f & F_WRITING)) mr__throw("concurrent map read and map write (mr_map_lookup)");
    uint64_t k = load64(key);
    for (uint8_t *b = m->buckets; b; b = overflow_of(L, b))
        for (unsigned i = 0; i < BUCKET_CNT; i++)
            if (load64(b + BUCKET_CNT + i * 8) == k && b[i] >= MIN_TOP)
                return val_deref(L, b + BUCKET_CNT + 8 * BUCKET_CNT + i * L->val_slot);
    return NULL;
}

/* Inlined into both entry points that find a key: a call here would cost
 * the lookup benchmark a frame. */
INLINE void *lookup(mr_map *m, const void *key)
{
    if (m == NULL || m->count == 0) return NULL;
    const map_layout *L = m->lay;
    if (L->kc == KC_64 && m->B == 0 && m->oldbuckets == NULL) return find_small64(m, L, key);
    switch (L->kc) {
    case KC_64:
        return lookup_t(m, L, KC_64, key);
    case KC_STR:
        return lookup_t(m, L, KC_STR, key);
    default:
        return lookup_t(m, L, KC_MEM, key);
    }
}

/* mr_map_lookup's every case but the common one: a safepoint to park at, a
 * nil or empty map, a growing one, keys of other classes. Out of line, so
 * that the entry point's own path makes no call. */
static __attribute__((noinline)) void *lookup_slow(mr_map *m, const void *key, uintptr_t caller)
{
    mr__poll(caller);
    return lookup(m, key);
}

/* The common lookup of an 8-byte key (Go's mapaccess1_fast64): a map
 * that is not growing, not being written and hashes its keys. Jumped to
 * as lookup_faststr is (see there). */
static __attribute__((noinline)) void *lookup_fast64(mr_map *m, const map_layout *L,
                                                     const void *key)
{
    if (m->B == 0) return m->count ? find_small64(m, L, key) : NULL;
    uint8_t *k;
    return find_t(m, L, KC_64, key, mr__hash64(load64(key), m->seed), 0, false, &k);
}

/*
 * The common lookup of a string key (Go's mapaccess1_faststr): a map that
 * is not growing, not being written and not empty (so its bucket array
 * exists). A function of its own that mr_map_lookup jumps to, as the
 * common deletes are: it neither parks nor allocates, so it needs no frame
 * of the entry, and the registers it needs are not saved on the 8-byte
 * path, nor the safepoint poll and key-class dispatch of lookup_slow paid.
 */
static __attribute__((noinline)) void *lookup_faststr(mr_map *m, const map_layout *L,
                                                      const void *key)
{
    uint8_t *k;
    return find_t(m, L, KC_STR, key, hash_key(m, L, KC_STR, key, 0), 0, false, &k);
}

/*
 * The common lookups, an 8-byte or a string key in a map that is not
 * growing, make no call on their path: the entry checks the map and jumps
 * to lookup_fast64 or lookup_faststr, saving no register and keeping no
 * frame of its own. A lookup that misses the cache and the TLB waits on
 * memory; the fewer instructions each one issues, the more of the
 * program's following lookups the processor can have in flight meanwhile.
 * Everything else, and a pending safepoint, goes to lookup_slow.
 */
MR_ENTRY void *mr_map_lookup(mr_map *m, const void *key)
{
    if (MR_LIKELY(!atomic_load_explicit(&mr__stop_requested, memory_order_relaxed) && m != NULL &&
                  m->oldbuckets == NULL)) {
        const map_layout *L = m->lay;
        uint8_t f = flags_get(m);
        if (MR_LIKELY(L->kc == KC_64 && !(f & (F_WRITING | F_TEST_HASH))))
            return lookup_fast64(m, L, key);
        if (L->kc == KC_STR && !(f & F_WRITING) && m->count != 0)
            return lookup_faststr(m, L, key);
    }
    void *v = lookup_slow(m, key, MR_CALLER);
    /* no tail call: a park in lookup_slow keeps this frame, as mr__poll would */
    __asm__ volatile("" : : "r"(v));
    return v;
}

MR_ENTRY bool mr_map_get(mr_map *m, const void *key, void *value_out)
{
    mr__poll(MR_CALLER);
    void *v = lookup(m, key);
    if (!v) return false;
    if (value_out && m->lay->val_size) memcpy(value_out, v, m->lay->val_size);
    return true;
}

/* mr_map_len and mr_map_type_of make no safepoint poll: each reads one
 * header word and cannot block or allocate. A loop that calls nothing but
 * them must poll with mr_safepoint, like any loop without runtime calls.
 * The lookups do poll (one load and a branch): a loop of lookups is a common
 * hot loop and must not stall a collection. The inspection functions
 * (get_info, walk, render_key) are meant for a stopped world. */
size_t mr_map_len(const mr_map *m)
{
    return m ? (size_t)m->count : 0;
}

const mr_map_type *mr_map_type_of(const mr_map *m)
{
    return m ? m->lay->type : NULL;
}

/* ----------------------------------------------------------------- growth -- */

/* Go's approximate count: exact below B = 16, then incremented with
 * probability 2^-(B-15) so that it still reaches 2^15 at about as many
 * overflow buckets as buckets. Saturates instead of wrapping. */
static void incr_noverflow(mr_map *m)
{
    if (m->B >= 16) {
        uint64_t mask = ((uint64_t)1 << (m->B - 15)) - 1;
        if ((mr__rand64() & mask) != 0) return;
    }
    if (m->noverflow != UINT16_MAX) m->noverflow++;
}

/* The map's extra, made on first use (a collection may run inside). */
static map_extra *extra_of(mr_map *m, uintptr_t caller)
{
    if (m->extra == NULL) {
        map_extra *x = mr__map_new(&map_extra_type, caller);
        m->extra = x;
    }
    return m->extra;
}

/* Makes sure the current array of a flat map has a list (its first chunk),
 * so that an iterator can hold it before any overflow bucket exists; returns
 * that chunk. Threads that read a map may start iterators on it at once, so
 * the extra object and the chunk are published with compare-and-swap (the
 * loser's object is garbage); the writer, alone with the map, finishes
 * the list's bookkeeping (list_overflow). */
static void **iterator_list(mr_map *m, uintptr_t caller)
{
    map_extra *x = __atomic_load_n(&m->extra, __ATOMIC_ACQUIRE);
    if (x == NULL) {
        map_extra *nx = mr__map_new(&map_extra_type, caller), *none = NULL;
        x = __atomic_compare_exchange_n(&m->extra, &none, nx, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)
                ? nx
                : none;
    }
    void **c = __atomic_load_n(&x->overflow, __ATOMIC_ACQUIRE);
    if (c == NULL) {
        void **nc = new_chunk(OVF_CHUNK_MIN, caller), **none = NULL;
        c = __atomic_compare_exchange_n(&x->overflow, &none, nc, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)
                ? nc
                : none;
    }
    return c;
}

/* Puts overflow bucket ovf on the current array's list (a flat map): the
 * list is all that keeps it alive. ovf is held here while the list may
 * allocate. A first chunk an iterator made has no bookkeeping yet. */
static __attribute__((noinline)) void list_overflow(mr_map *m, void *ovf, uintptr_t caller)
{
    map_extra *x = extra_of(m, caller);
    if (x->overflow == NULL) {
        void **c = new_chunk(OVF_CHUNK_MIN, caller);
        x->overflow = c;
        x->last = NULL;
    }
    if (x->last == NULL) {
        x->last = x->overflow;
        x->nlast = 1;
        x->caplast = OVF_CHUNK_MIN;
    }
    if (x->nlast == x->caplast) {
        uint32_t cap = x->caplast < OVF_CHUNK_MAX ? 2 * x->caplast : OVF_CHUNK_MAX;
        void **c = new_chunk(cap, caller);
        x->last[0] = c;
        x->last = c;
        x->nlast = 1;
        x->caplast = cap;
    }
    x->last[x->nlast++] = ovf;
}

/* Appends a new overflow bucket to the chain ending at b (GC may run inside
 * the allocation: b stays reachable through the map). */
static uint8_t *new_overflow(mr_map *m, const map_layout *L, uint8_t *b, uintptr_t caller)
{
    uint8_t *ovf = mr__map_new(&L->bucket_type, caller);
    if (L->flat) list_overflow(m, ovf, caller);
    incr_noverflow(m);
    store_ptr(b + L->ovf_off, ovf);
    return ovf;
}

/* Starts a growth: doubles the table if it is over the load factor, else
 * starts a same-size growth. The new array is allocated before the header
 * changes, so a collection inside the allocation sees a consistent map. */
static void hash_grow(mr_map *m, const map_layout *L, uintptr_t caller)
{
    unsigned bigger = over_load(m->count + 1, m->B) ? 1 : 0;
    if (m->B + bigger > MAX_B) mr__throw("map %s: too many buckets", m->lay->type->name);
    void *nb = mr__map_new_array(&L->bucket_type, (size_t)1 << (m->B + bigger), caller);
    uint8_t f = flags_get(m);
    uint8_t nf = f & (uint8_t) ~(F_ITERATOR | F_OLD_ITERATOR | F_SAME_SIZE);
    if (f & F_ITERATOR) nf |= F_OLD_ITERATOR;
    if (!bigger) nf |= F_SAME_SIZE;
    m->oldbuckets = m->buckets;
    m->buckets = nb;
    m->B = (uint8_t)(m->B + bigger);
    m->nevacuate = 0;
    m->noverflow = 0;
    map_extra *x = m->extra;
    if (x) {
        /* the old array's overflow buckets stay alive until it is dropped
         * (no growth starts while one runs: oldoverflow is NULL) */
        x->oldoverflow = x->overflow;
        x->overflow = x->last = NULL;
        x->nlast = x->caplast = 0;
    }
    flags_put(m, nf);
}

/* Drops the old array (and in a map without pointers the list that kept
 * its overflow buckets): every old bucket is evacuated. Out of line, so
 * that evacuation's loop, which it ends, keeps its registers. */
static __attribute__((noinline)) void growth_done(mr_map *m)
{
    m->oldbuckets = NULL;
    if (m->extra) m->extra->oldoverflow = NULL;
    flags_put(m, flags_get(m) & (uint8_t)~F_SAME_SIZE);
}

/* Moves nevacuate past every evacuated old bucket (looking at most 1024
 * ahead, as Go does, to bound the work per operation); when all are done the
 * old array is dropped. */
static void advance_evacuation_mark(mr_map *m, const map_layout *L, uintptr_t newbit)
{
    m->nevacuate++;
    uintptr_t stop = (uintptr_t)m->nevacuate + 1024;
    if (stop > newbit) stop = newbit;
    while (m->nevacuate != stop &&
           evacuated((uint8_t *)m->oldbuckets + (uintptr_t)m->nevacuate * L->bucket_size))
        m->nevacuate++;
    if (m->nevacuate == newbit) growth_done(m);
}

/*
 * Moves every entry of old bucket `oldbucket` (and its overflow chain) to the
 * new array: to bucket X (same index) or, when doubling, to bucket Y (index +
 * old size) according to the hash bit that the doubling adds. The old slots
 * are marked EVAC_X / EVAC_Y so that iterators still walking the old array
 * know to look the key up in the new one. The destination slot is made
 * (allocating an overflow bucket, which may run a GC) before the source is
 * marked, so the entry is visible in one place or the other at every
 * allocation. Without iterators on the old array, the old bucket's keys and
 * values are cleared afterwards so they no longer retain anything -- in a
 * map with pointers only: in a map without them there is nothing to let
 * go, and its old overflow buckets live on (on extra->oldoverflow) until
 * the growth ends, so they stay on their chain, where the walk finds them
 * (as Go leaves them).
 */
INLINE void evacuate_t(mr_map *m, const map_layout *L, int kc, uintptr_t oldbucket,
                       uintptr_t caller)
{
    uint32_t bs = L->bucket_size;
    uint8_t *b = (uint8_t *)m->oldbuckets + oldbucket * bs;
    uint8_t f = flags_get(m);
    uintptr_t newbit = noldbuckets(m, f);
    if (!evacuated(b)) {
        bool same = (f & F_SAME_SIZE) != 0;
        uint8_t *dst_b[2];
        unsigned dst_i[2] = {0, 0};
        dst_b[0] = (uint8_t *)m->buckets + oldbucket * bs;
        dst_b[1] = same ? NULL : (uint8_t *)m->buckets + (oldbucket + newbit) * bs;
        uint32_t ks = key_slot(L, kc), vs = L->val_slot;
        for (uint8_t *ob = b; ob; ob = overflow_of(L, ob)) {
            for (unsigned i = 0; i < BUCKET_CNT; i++) {
                uint8_t top = ob[i];
                if (top < MIN_TOP) {
                    if (top > EMPTY_ONE) mr__throw("map %s: bad map state", m->lay->type->name);
                    ob[i] = EVAC_EMPTY;
                    continue;
                }
                uint8_t *k = key_at(L, kc, ob, i);
                unsigned y = 0;
                if (!same) {
                    uint64_t h = hash_key(m, L, kc, key_deref(L, kc, k), f);
                    y = (h & newbit) != 0;
                }
                if (dst_i[y] == BUCKET_CNT) {
                    dst_b[y] = new_overflow(m, L, dst_b[y], caller);
                    dst_i[y] = 0;
                }
                uint8_t *d = dst_b[y];
                unsigned di = dst_i[y]++;
                copy_slot(key_at(L, kc, d, di), k, ks);
                copy_slot(val_at(L, kc, d, di), val_at(L, kc, ob, i), vs);
                d[di] = top;
                ob[i] = (uint8_t)(EVAC_X + y);
            }
        }
        if (!L->flat && !(flags_get(m) & F_OLD_ITERATOR))
            memset(b + BUCKET_CNT, 0, bs - BUCKET_CNT);
    }
    if (oldbucket == m->nevacuate) advance_evacuation_mark(m, L, newbit);
}

static void evacuate(mr_map *m, const map_layout *L, uintptr_t oldbucket, uintptr_t caller)
{
    switch (L->kc) {
    case KC_64:
        evacuate_t(m, L, KC_64, oldbucket, caller);
        break;
    case KC_STR:
        evacuate_t(m, L, KC_STR, oldbucket, caller);
        break;
    default:
        evacuate_t(m, L, KC_MEM, oldbucket, caller);
        break;
    }
}

/* The incremental step of a growth: the old bucket behind the bucket about
 * to be written, and one more so that growth finishes in bounded time. */
static void grow_work(mr_map *m, const map_layout *L, uintptr_t bucket, uintptr_t caller)
{
    evacuate(m, L, bucket & (noldbuckets(m, flags_get(m)) - 1), caller);
    if (m->oldbuckets) evacuate(m, L, m->nevacuate, caller);
}

/* ----------------------------------------------------------------- assign -- */

/* The table of a map made without a size hint, made by its first
 * insertion (as Go's makemap_small leaves it for mapassign): one bucket.
 * Apart so that assign_fast64 can then take that insertion too. */
static __attribute__((noinline)) void first_bucket(mr_map *m, const map_layout *L, uintptr_t caller)
{
    void *nb = mr__map_new_array(&L->bucket_type, 1, caller);
    if (m->buckets == NULL) m->buckets = nb; /* else a concurrent write made one: it throws */
}

INLINE uint8_t begin_write(mr_map *m, const char *who)
{
    uint8_t f = flags_get(m);
    if (MR_UNLIKELY(f & F_WRITING)) mr__throw("concurrent map writes (%s)", who);
    flags_put(m, f | F_WRITING);
    return f;
}

INLINE void end_write(mr_map *m, const char *who)
{
    uint8_t f = flags_get(m);
    if (MR_UNLIKELY(!(f & F_WRITING))) mr__throw("concurrent map writes (%s)", who);
    flags_put(m, f & (uint8_t)~F_WRITING);
}

/*
 * Go's mapassign: find key, or insert it into the first empty slot of its
 * chain (allocating an overflow bucket when the chain is full), growing the
 * table first if the insertion would break the load factor or the overflow
 * limit. Strings keys are overwritten on update, as Go does, so the map
 * retains the newest key string rather than the first one.
 */
INLINE void *assign_t(mr_map *m, const map_layout *L, int kc, const void *key, uint8_t op,
                      uintptr_t caller)
{
    const char *who = op_names[op];
    uint8_t f = begin_write(m, who);
    uint64_t hash = hash_key(m, L, kc, key, f);
    if (MR_UNLIKELY(m->buckets == NULL)) first_bucket(m, L, caller);
    uint8_t top = tophash(hash);
    uint64_t pattern = LSB8 * top;
    uint8_t *vs;
again:;
    uintptr_t bucket = hash & bucket_mask(m->B);
    if (m->oldbuckets) grow_work(m, L, bucket, caller);
    uint8_t *b = (uint8_t *)m->buckets + bucket * L->bucket_size;
    uint8_t *ib = NULL;
    unsigned ii = 0;
    for (;;) {
        uint64_t tw = tophash_word(b);
        for (uint64_t mm = zero_bytes(tw ^ pattern); mm; mm &= mm - 1) {
            unsigned i = first_byte(mm);
            if (b[i] != top) continue;
            uint8_t *kslot = key_at(L, kc, b, i);
            if (key_eq(L, kc, key, key_deref(L, kc, kslot))) {
                if (kc == KC_STR) memcpy(kslot, key, sizeof(mr_str));
                vs = val_at(L, kc, b, i);
                goto done;
            }
        }
        uint64_t em = zero_bytes(tw & ~LSB8); /* EMPTY_REST or EMPTY_ONE */
        if (!ib && em) {
            ib = b;
            ii = first_byte(em);
        }
        if (zero_bytes(tw)) break;
        uint8_t *ovf = overflow_of(L, b);
        if (!ovf) break;
        b = ovf;
    }
    if (!m->oldbuckets &&
        (over_load(m->count + 1, m->B) || too_many_overflow(m->noverflow, m->B))) {
        hash_grow(m, L, caller);
        goto again;
    }
    if (!ib) {
        ib = new_overflow(m, L, b, caller); /* b is the last bucket of the chain */
        ii = 0;
    }
    uint8_t *ks = key_at(L, kc, ib, ii);
    vs = val_at(L, kc, ib, ii);
    if (kc == KC_MEM && L->key_indirect) {
        void *ko = mr__map_new(L->key_type, caller);
        store_ptr(ks, ko);
        ks = ko;
    }
    if (L->val_indirect) {
        void *vo = mr__map_new(L->val_type, caller);
        store_ptr(vs, vo);
    }
    if (kc == KC_64)
        memcpy(ks, key, 8);
    else if (kc == KC_STR)
        memcpy(ks, key, sizeof(mr_str));
    else if (L->key_size)
        memcpy(ks, key, L->key_size);
    ib[ii] = top;
    m->count++;
    m->grow_pc = caller;
    m->grow_op = op;
done:
    end_write(m, who);
    return val_deref(L, vs);
}

/*
 * The common assignment of an 8-byte key, as Go's mapassign_fast64 is:
 * the table exists and is not growing, and the key is in its bucket, or
 * the bucket (ending its chain) has a free slot and one more entry needs
 * no growth. It allocates nothing and calls nothing, so it
 * needs few registers. Returns the value slot, or NULL having changed
 * nothing: then assign_t does all of it.
 */
INLINE uint8_t *assign_fast64(mr_map *m, const map_layout *L, const void *key, uint8_t op,
                              uintptr_t caller)
{
    uint8_t f = flags_get(m);
    uint8_t *b = m->buckets;
    if (MR_UNLIKELY((f & F_WRITING) || b == NULL || m->oldbuckets != NULL)) return NULL;
    uint64_t k = load64(key);
    uint64_t hash = hash_key(m, L, KC_64, key, f);
    b += (hash & bucket_mask(m->B)) * L->bucket_size;
    uint8_t top = tophash(hash);
    uint64_t tw = tophash_word(b);
    unsigned i;
    uint64_t mm = zero_bytes(tw ^ LSB8 * top);
    for (; mm; mm &= mm - 1) {
        i = first_byte(mm);
        if (b[i] == top && load64(b + BUCKET_CNT + i * 8) == k) goto found;
    }
    uint64_t em = zero_bytes(tw & ~LSB8); /* EMPTY_REST or EMPTY_ONE */
    /* The key may still be in an overflow bucket, unless the chain ends here. */
    if (!em || (!zero_bytes(tw) && overflow_of(L, b)) || over_load(m->count + 1, m->B) ||
        too_many_overflow(m->noverflow, m->B))
        return NULL;
    i = first_byte(em);
    flags_put(m, f | F_WRITING);
    memcpy(b + BUCKET_CNT + i * 8, &k, 8);
    b[i] = top;
    m->count++;
    m->grow_pc = caller;
    m->grow_op = op;
    end_write(m, op_names[op]);
    return b + L->vals_off + i * L->val_slot;
found:
    return b + L->vals_off + i * L->val_slot;
}

/* assign_t for the map's key class. */
static __attribute__((noinline)) void *assign_any(mr_map *m, const map_layout *L, const void *key,
                                                  uint8_t op, uintptr_t caller)
{
    switch (L->kc) {
    case KC_64:
        return assign_t(m, L, KC_64, key, op, caller);
    case KC_STR:
        return assign_t(m, L, KC_STR, key, op, caller);
    default:
        return assign_t(m, L, KC_MEM, key, op, caller);
    }
}

/* caller: the program's call of the map operation (see "entry points" in
 * internal.h); the map's allocations and a park here are charged to it. */
INLINE void *assign(mr_map *m, const void *key, uint8_t op, uintptr_t caller)
{
    mr__poll(caller);
    if (MR_UNLIKELY(m == NULL)) mr__throw("assignment to entry in nil map (%s)", op_names[op]);
    const map_layout *L = m->lay;
    if (L->kc == KC_64 && !L->val_indirect) {
        if (MR_UNLIKELY(m->buckets == NULL)) first_bucket(m, L, caller);
        uint8_t *v = assign_fast64(m, L, key, op, caller);
        if (MR_LIKELY(v != NULL)) return v;
    }
    return assign_any(m, L, key, op, caller);
}

MR_ENTRY void *mr_map_assign(mr_map *m, const void *key)
{
    void *v = assign(m, key, OP_ASSIGN, MR_CALLER);
    /* no tail call: this frame is the one profiles keep where maps grow */
    __asm__ volatile("" : : "r"(v));
    return v;
}

MR_ENTRY void mr_map_set(mr_map *m, const void *key, const void *value)
{
    void *v = assign(m, key, OP_SET, MR_CALLER);
    uint32_t n = m->lay->val_size;
    if (n) memcpy(v, value, n);
}

/* ----------------------------------------------------------------- delete -- */

/* A delete emptied the map: it gets a new seed (as Go's mapdelete draws
 * one), and the write ends. Out of line, and called last, so that the
 * common deletes make no call of their own. */
static __attribute__((noinline)) void reseed_and_end(mr_map *m)
{
    m->seed = (uint32_t)mr__rand64();
    end_write(m, "mr_map_delete");
}

/*
 * Go's mapdelete. The slot's key and value are cleared (so they retain
 * nothing) and its tophash becomes EMPTY_ONE; if it was the last occupied
 * slot of its chain, it and the EMPTY_ONE run before it become EMPTY_REST so
 * that lookups stop early. Returns true if the map became empty: then the
 * write is still on, and the caller ends it with reseed_and_end.
 * growing: the map may have an old array (else the caller saw none, and
 * the copy it inlines does no growth work, so it makes no call on the way
 * to the slot and needs few registers).
 */
INLINE bool delete_t(mr_map *m, const map_layout *L, int kc, const void *key, uintptr_t caller,
                     bool growing)
{
    uint8_t f = begin_write(m, "mr_map_delete");
    uint64_t hash = hash_key(m, L, kc, key, f);
    uintptr_t bucket = hash & bucket_mask(m->B);
    if (growing && m->oldbuckets) grow_work(m, L, bucket, caller);
    uint8_t *b0 = (uint8_t *)m->buckets + bucket * L->bucket_size;
    prefetch_bucket(b0, L->bucket_size);
    uint8_t top = tophash(hash);
    uint64_t pattern = LSB8 * top;
    for (uint8_t *b = b0; b; b = overflow_of(L, b)) {
        uint64_t tw = tophash_word(b);
        for (uint64_t mm = zero_bytes(tw ^ pattern); mm; mm &= mm - 1) {
            unsigned i = first_byte(mm);
            if (b[i] != top) continue;
            uint8_t *ks = key_at(L, kc, b, i);
            if (!key_eq(L, kc, key, key_deref(L, kc, ks))) continue;
            clear_slot(ks, key_slot(L, kc));
            clear_slot(val_at(L, kc, b, i), L->val_slot);
            b[i] = EMPTY_ONE;
            bool last;
            if (i == BUCKET_CNT - 1) {
                uint8_t *ovf = overflow_of(L, b);
                last = ovf == NULL || ovf[0] == EMPTY_REST;
            } else {
                last = b[i + 1] == EMPTY_REST;
            }
            if (last) {
                for (;;) {
                    b[i] = EMPTY_REST;
                    if (i == 0) {
                        if (b == b0) break;
                        uint8_t *c = b;
                        for (b = b0; overflow_of(L, b) != c; b = overflow_of(L, b)) {
                        }
                        i = BUCKET_CNT - 1;
                    } else {
                        i--;
                    }
                    if (b[i] != EMPTY_ONE) break;
                }
            }
            if (MR_UNLIKELY(--m->count == 0)) return true;
            goto out;
        }
        if (zero_bytes(tw)) break;
    }
out:
    end_write(m, "mr_map_delete");
    return false;
}

/* delete_t for any map: a growing one, or keys of other classes. */
static __attribute__((noinline)) void delete_any(mr_map *m, const map_layout *L, const void *key,
                                                 uintptr_t caller)
{
    bool emptied;
    switch (L->kc) {
    case KC_64:
        emptied = delete_t(m, L, KC_64, key, caller, true);
        break;
    case KC_STR:
        emptied = delete_t(m, L, KC_STR, key, caller, true);
        break;
    default:
        emptied = delete_t(m, L, KC_MEM, key, caller, true);
        break;
    }
    if (emptied) reseed_and_end(m);
}

/* The common deletes, as Go's mapdelete_fast64 and mapdelete_faststr: a
 * map that is not growing, with 8-byte or string keys. Each is a function
 * of its own that mr_map_delete jumps to, so that the registers one needs
 * are not saved for the other, nor for the rare cases. */
static __attribute__((noinline)) void delete_fast64(mr_map *m, const map_layout *L, const void *key)
{
    bool emptied;
    if (L->val_slot == 8) { /* 8-byte values, the common case */
        const map_layout c = FIXED_LAYOUT(8);
        emptied = delete_t(m, &c, KC_64, key, 0, false);
    } else {
        emptied = delete_t(m, L, KC_64, key, 0, false);
    }
    if (emptied) reseed_and_end(m);
}

static __attribute__((noinline)) void delete_faststr(mr_map *m, const map_layout *L,
                                                     const void *key)
{
    if (delete_t(m, L, KC_STR, key, 0, false)) reseed_and_end(m);
}

/* mr_map_delete's other cases: a safepoint to park at, a nil or empty map,
 * a growing one (evacuating may allocate), keys of other classes. */
static __attribute__((noinline)) void delete_slow(mr_map *m, const void *key, uintptr_t caller)
{
    mr__poll(caller);
    if (m == NULL || m->count == 0) return;
    delete_any(m, m->lay, key, caller);
}

/* A delete waits on memory like a lookup (see mr_map_lookup): the fewer
 * instructions the common one issues, the more of the program's next
 * deletes are in flight meanwhile. It makes no call here (the fast paths
 * are jumped to: they neither park nor allocate, so no frame of this
 * entry is needed); the rest goes to delete_slow, which keeps it. */
MR_ENTRY void mr_map_delete(mr_map *m, const void *key)
{
    if (MR_LIKELY(!atomic_load_explicit(&mr__stop_requested, memory_order_relaxed) && m != NULL &&
                  m->count != 0 && m->oldbuckets == NULL)) {
        const map_layout *L = m->lay;
        if (L->kc == KC_64) {
            delete_fast64(m, L, key);
            return;
        }
        if (L->kc == KC_STR) {
            delete_faststr(m, L, key);
            return;
        }
    }
    delete_slow(m, key, MR_CALLER);
    /* no tail call: a park in delete_slow keeps this frame, as mr__poll would */
    __asm__ volatile("");
}

/* Empties every bucket object reachable from chain head b other than b
 * itself (its overflow buckets), so an iterator still holding one sees no
 * entries and retains nothing. */
static void empty_chain(const map_layout *L, uint8_t *b, bool include_head)
{
    uint8_t *o = include_head ? b : overflow_of(L, b);
    while (o) {
        uint8_t *next = overflow_of(L, o);
        memset(o, 0, L->bucket_size);
        o = next;
    }
}

/*
 * Go 1.19's mapclear: the table keeps its size (B and the bucket array, now
 * zeroed); overflow buckets and any growth in progress are dropped, and the
 * map gets a new seed. If iterators may be running, the dropped bucket
 * objects are emptied too: an iterator that holds one then sees no entries
 * (Go 1.19 could still return cleared entries from them).
 */
MR_ENTRY void mr_map_clear(mr_map *m)
{
    mr__poll(MR_CALLER);
    if (m == NULL || m->count == 0) return;
    const map_layout *L = m->lay;
    uint8_t f = begin_write(m, "mr_map_clear");
    uintptr_t n = (uintptr_t)1 << m->B;
    if (f & (F_ITERATOR | F_OLD_ITERATOR)) {
        for (uintptr_t i = 0; i < n; i++)
            empty_chain(L, (uint8_t *)m->buckets + i * L->bucket_size, false);
        if (m->oldbuckets) {
            uintptr_t on = noldbuckets(m, f);
            for (uintptr_t i = 0; i < on; i++)
                empty_chain(L, (uint8_t *)m->oldbuckets + i * L->bucket_size, true);
        }
    }
    m->oldbuckets = NULL;
    m->nevacuate = 0;
    m->noverflow = 0;
    m->count = 0;
    m->seed = (uint32_t)mr__rand64();
    map_extra *x = m->extra;
    if (x) { /* the overflow buckets are gone: so are their lists */
        x->overflow = x->last = x->oldoverflow = NULL;
        x->nlast = x->caplast = 0;
    }
    flags_put(m, flags_get(m) & (uint8_t)~F_SAME_SIZE);
    memset(m->buckets, 0, n * L->bucket_size);
    end_write(m, "mr_map_clear");
}

/* --------------------------------------------------------------- registry -- */
/*
 * Once a collector asks for the maps of the heap (mr_walk_maps), every map
 * header is listed, so that it can visit them in time proportional to their
 * number, not to the heap. Until then nothing is kept: a program nobody
 * watches pays one predictable branch per mr_map_new. The first walk finds
 * the maps that exist by a walk of the spans of map headers only (spans are
 * typed), and turns the list on, with the world stopped.
 * A new map goes on its thread's own list (no lock: only the owner appends,
 * and only a stopped world reads it); a collection moves those into the
 * global list and drops the headers marking did not reach, before the sweep
 * frees them, so the list never holds a freed header. A thread that
 * detaches hands its list over under sched_lock, when no collection runs.
 * The global list is touched only with the world stopped or, by a
 * detaching thread, under sched_lock outside a collection.
 */
static mr_map_reg *all_maps;
static size_t nall_maps, cap_all_maps;
static atomic_bool registry_on; /* set once, with the world stopped */
static void (*map_test_after_header)(void);
/* registry_on, or the test hook set: mr_map_new's one branch */
static atomic_bool map_new_listed;

static void reg_push(mr_map_reg **v, size_t *n, size_t *cap, mr_map_reg r)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        mr_map_reg *a = realloc(*v, c * sizeof *a);
        if (!a) mr__throw("out of memory (map registry)");
        *v = a;
        *cap = c;
    }
    (*v)[(*n)++] = r;
}

/* A map made while the registry is on. One the seed listed already (its
 * maker was stopped in mr_map_new, after the header was allocated, while
 * the first walk ran) keeps the seed's entry. */
static void register_map(mr_thread *t, mr_map *m)
{
    if (m->listed) return;
    m->listed = 1;
    uint64_t id = atomic_fetch_add_explicit(&mr__maps_created, 1, memory_order_relaxed) + 1;
    reg_push(&t->new_maps, &t->nnew_maps, &t->cap_new_maps, (mr_map_reg){m, id});
}

void mr__maps_adopt(mr_thread *t)
{
    for (size_t i = 0; i < t->nnew_maps; i++)
        reg_push(&all_maps, &nall_maps, &cap_all_maps, t->new_maps[i]);
    t->nnew_maps = 0;
}

void mr__maps_prune(void)
{
    if (!atomic_load_explicit(&registry_on, memory_order_relaxed)) return;
    for (mr_thread *t = mr__threads; t; t = t->next) mr__maps_adopt(t);
    size_t j = 0;
    for (size_t i = 0; i < nall_maps; i++)
        if (mr_is_marked(all_maps[i].map)) all_maps[j++] = all_maps[i];
    nall_maps = j;
}

/* mr_map_new's slow path: the test hook, then the registry. A map gets
 * its id when it is listed (here, or by the seed), so that making a map
 * nobody watches takes no locked instruction. */
static void new_map_listed(mr_map *m)
{
    if (map_test_after_header) map_test_after_header();
    if (atomic_load_explicit(&registry_on, memory_order_relaxed)) register_map(mr__self, m);
}

void mr__map_test_set_after_header(void (*fn)(void))
{
    map_test_after_header = fn;
    atomic_store(&map_new_listed, fn != NULL || atomic_load(&registry_on));
}

/* The seed: every allocated map header, with a new id each. */
static void seed_one(void *obj, void *ud)
{
    (void)ud;
    ((mr_map *)obj)->listed = 1;
    uint64_t id = atomic_fetch_add_explicit(&mr__maps_created, 1, memory_order_relaxed) + 1;
    reg_push(&all_maps, &nall_maps, &cap_all_maps, (mr_map_reg){obj, id});
}

void mr_walk_maps(void (*fn)(mr_map *m, uint64_t id, void *ud), void *ud)
{
    if (!atomic_load_explicit(&registry_on, memory_order_relaxed)) {
        mr__walk_type(&map_header_type, seed_one, NULL);
        atomic_store_explicit(&registry_on, true, memory_order_relaxed);
        atomic_store_explicit(&map_new_listed, true, memory_order_relaxed);
    }
    /* between marking and the sweep, the seed may list a header that
     * marking did not reach: it is no map of the heap any more */
    bool marks = mr__marks_valid;
    for (size_t i = 0; i < nall_maps; i++)
        if (!marks || mr_is_marked(all_maps[i].map)) fn(all_maps[i].map, all_maps[i].id, ud);
    for (mr_thread *t = mr__threads; t; t = t->next)
        for (size_t i = 0; i < t->nnew_maps; i++) fn(t->new_maps[i].map, t->new_maps[i].id, ud);
}

uintptr_t mr_map_last_insert(const mr_map *m, const char **op)
{
    if (op) *op = m ? op_names[m->grow_op] : NULL;
    return m ? m->grow_pc : 0;
}

/* -------------------------------------------------------------------- new -- */

MR_ENTRY mr_map *mr_map_new(const mr_map_type *t, size_t hint)
{
    uintptr_t caller = MR_CALLER;
    mr__poll(caller);
    if (t == NULL) mr__throw("mr_map_new: NULL map type");
    const map_layout *L = layout_of(t);
    /* Like Go, a hint too large to ever be allocated is ignored. */
    if (hint > ((size_t)1 << 40)) hint = 0;
    uint8_t B = 0;
    while (over_load(hint, B)) B++;
    if (B > MAX_B)
        mr__throw("mr_map_new: map %s: too many buckets for a hint of %zu", t->name ? t->name : "?",
                  hint);
    mr_map *m = mr__map_new(&map_header_type, caller);
    m->lay = L;
    m->seed = (uint32_t)mr__rand64();
    m->B = B;
    if (B != 0) {
        void *nb = mr__map_new_array(&L->bucket_type, (size_t)1 << B, caller);
        m->buckets = nb;
    }
    if (MR_UNLIKELY(atomic_load_explicit(&map_new_listed, memory_order_relaxed))) new_map_listed(m);
    return m;
}

void mr__map_test_identity_hash(mr_map *m)
{
    if (m == NULL || m->count != 0 || m->lay->kc != KC_64)
        mr__throw("mr__map_test_identity_hash: needs an empty map with 8-byte keys");
    flags_put(m, flags_get(m) | F_TEST_HASH);
}

void mr__map_test_set_writing(mr_map *m, bool on)
{
    uint8_t f = flags_get(m);
    flags_put(m, on ? (uint8_t)(f | F_WRITING) : (uint8_t)(f & ~F_WRITING));
}

/* -------------------------------------------------------------- iterators -- */

/* Part of the ABI: programs reserve the iterator and read key and value. */
_Static_assert(sizeof(mr_map_iter) == 10 * sizeof(void *) && offsetof(mr_map_iter, value) == 8,
               "mr_map_iter keeps its size and public fields");

enum { ITER_ACTIVE = 1, ITER_DONE = 2 };
/* offset_ holds the slot offset (0..7) in its low bits, read masked, and
 * this flag: the walk has passed the last bucket and begun again at 0. */
#define ITER_WRAPPED 0x80
#define NO_CHECK UINT32_MAX

/* Unregisters first: a detached thread's iterator is read by collections
 * until then, and the thread ending it becomes a mutator doing so. */
static void iter_finish(mr_map_iter *it)
{
    mr__iter_unregister(it);
    it->state_ = ITER_DONE;
    it->key = NULL;
    it->value = NULL;
    it->map_ = NULL;
    it->buckets_ = NULL;
    it->bptr_ = NULL;
    it->overflow_ = it->oldoverflow_ = NULL;
}

/*
 * Go's mapiterinit: remembers the bucket array and its size as they are now,
 * picks a random start bucket and slot offset, and flags the map so that
 * growth keeps old buckets intact for us. In a map without pointers the
 * overflow buckets of the arrays it may walk are kept alive by their lists
 * only, which a growth or a clear drops from the map: the iterator holds
 * them (the current array's list is made now if it does not exist yet, as
 * buckets may be added to it during the walk). A table of one bucket not
 * growing has no overflow bucket and gets none before it grows.
 */
MR_ENTRY void mr_map_iter_init(mr_map_iter *it, mr_map *m)
{
    uintptr_t caller = MR_CALLER;
    mr__poll(caller);
    it->key = NULL;
    it->value = NULL;
    it->map_ = NULL;
    it->buckets_ = NULL;
    it->bptr_ = NULL;
    it->overflow_ = it->oldoverflow_ = NULL;
    it->bucket_ = it->start_bucket_ = 0;
    it->offset_ = it->i_ = it->b_ = 0;
    it->check_bucket_ = NO_CHECK;
    it->state_ = ITER_DONE;
    mr__iter_register(it);
    if (m == NULL || m->count == 0) return; /* nothing to see, even if entries come */
    if (m->lay->flat && (m->B > 0 || m->oldbuckets)) {
        it->overflow_ = iterator_list(m, caller); /* may collect: m is our argument */
        it->oldoverflow_ = m->extra->oldoverflow;
    }
    it->state_ = ITER_ACTIVE;
    it->map_ = m;
    it->b_ = m->B;
    it->buckets_ = m->buckets;
    uint64_t r = mr__rand64();
    it->start_bucket_ = it->bucket_ = (uint32_t)(r & bucket_mask(m->B));
    it->offset_ = (uint8_t)((r >> m->B) & (BUCKET_CNT - 1));
    uint8_t f = flags_get(m);
    if ((f & (F_ITERATOR | F_OLD_ITERATOR)) != (F_ITERATOR | F_OLD_ITERATOR))
        __atomic_fetch_or(&m->flags, (uint8_t)(F_ITERATOR | F_OLD_ITERATOR), __ATOMIC_RELAXED);
}

/*
 * The iterator's next bucket (of its array, in walk order) into *bucket,
 * advancing its position past it; false once the walk is back at its
 * start bucket.
 */
INLINE bool iter_take_bucket(mr_map_iter *it, uintptr_t *bucket)
{
    uintptr_t b = it->bucket_;
    if (b == it->start_bucket_ && (it->offset_ & ITER_WRAPPED)) return false;
    *bucket = b++;
    if (b == ((uintptr_t)1 << it->b_)) {
        b = 0;
        it->offset_ |= ITER_WRAPPED;
    }
    it->bucket_ = (uint32_t)b;
    return true;
}

/*
 * Go's mapiternext, from slot i of the iterator's bucket on. Walks the
 * bucket array of the iterator's start; if the map has grown since then,
 * entries whose old slot says they moved (EVAC_X/Y) are looked up in the
 * current table (they may have been updated or deleted). If the iterator
 * started during a doubling that is still running, an old bucket that is not
 * yet evacuated is read instead of its new bucket, keeping only the entries
 * that belong to the new bucket being visited.
 */
static __attribute__((noinline)) bool iter_next_slow(mr_map_iter *it, unsigned i)
{
    mr_map *m = it->map_;
    const map_layout *L = m->lay;
    uint8_t f = flags_get(m);
    uint8_t *b = it->bptr_;
    const unsigned off = it->offset_;
    uint32_t check = it->check_bucket_;
    for (;;) {
        if (b == NULL) {
            uintptr_t bucket;
            uint32_t bs = L->bucket_size;
            if (!iter_take_bucket(it, &bucket)) {
                iter_finish(it);
                return false;
            }
            if (m->oldbuckets && it->b_ == m->B) {
                uintptr_t oldbucket = bucket & (noldbuckets(m, f) - 1);
                b = (uint8_t *)m->oldbuckets + oldbucket * bs;
                if (!evacuated(b)) {
                    check = (uint32_t)bucket;
                } else {
                    b = (uint8_t *)it->buckets_ + bucket * bs;
                    check = NO_CHECK;
                }
            } else {
                b = (uint8_t *)it->buckets_ + bucket * bs;
                check = NO_CHECK;
            }
            i = 0;
        }
        for (; i < BUCKET_CNT; i++) {
            unsigned oi = (i + off) & (BUCKET_CNT - 1);
            uint8_t top = b[oi];
            if (top <= EMPTY_ONE || top == EVAC_EMPTY) continue;
            uint8_t *k = b + BUCKET_CNT + oi * L->key_slot;
            if (L->key_indirect) k = load_ptr(k);
            if (check != NO_CHECK && !(f & F_SAME_SIZE)) {
                /* An old bucket splits into two new ones: keep the half
                 * that belongs to the new bucket being visited. */
                if ((hash_any(m, L, k, f) & bucket_mask(it->b_)) != check) continue;
            }
            if (top != EVAC_X && top != EVAC_Y) {
                it->key = k;
                it->value = val_deref(L, b + L->vals_off + oi * L->val_slot);
            } else {
                uint8_t *rk;
                uint8_t *rv = m->count ? find_any(m, L, k, &rk) : NULL;
                if (rv == NULL) continue; /* deleted since */
                it->key = rk;
                it->value = rv;
            }
            it->bptr_ = b;
            it->i_ = (uint8_t)(i + 1);
            it->check_bucket_ = check;
            return true;
        }
        b = overflow_of(L, b);
        i = 0;
    }
}

/*
 * The common case of mapiternext inline: a map with no doubling under way
 * and an iterator not reading an old bucket, whose next live entry has not
 * moved. The rest (a growth, a moved entry, the end) is iter_next_slow's,
 * which takes over where this stopped. Written so that it needs no saved
 * registers: this is the per-entry cost of a loop over a map.
 */
MR_ENTRY bool mr_map_iter_next(mr_map_iter *it)
{
    mr__poll(MR_CALLER);
    if (MR_UNLIKELY(it->state_ != ITER_ACTIVE)) {
        iter_finish(it);
        return false;
    }
    mr_map *m = it->map_;
    if (MR_UNLIKELY(flags_get(m) & F_WRITING))
        mr__throw("concurrent map iteration and map write (mr_map_iter_next)");
    uint8_t *b = it->bptr_;
    unsigned i = it->i_;
    if (MR_UNLIKELY(it->check_bucket_ != NO_CHECK || m->oldbuckets != NULL))
        return iter_next_slow(it, i);
    const map_layout *L = m->lay;
    const unsigned off = it->offset_;
    for (;;) {
        if (b == NULL) {
            uintptr_t bucket;
            if (!iter_take_bucket(it, &bucket)) break; /* the end */
            b = (uint8_t *)it->buckets_ + bucket * L->bucket_size;
            i = 0;
        }
        for (; i < BUCKET_CNT; i++) {
            unsigned oi = (i + off) & (BUCKET_CNT - 1);
            uint8_t top = b[oi];
            if (top < MIN_TOP) {
                if (top == EVAC_X || top == EVAC_Y) goto slow; /* moved */
                continue;
            }
            uint8_t *k = b + BUCKET_CNT + oi * L->key_slot;
            it->key = L->key_indirect ? load_ptr(k) : k;
            it->value = val_deref(L, b + L->vals_off + oi * L->val_slot);
            it->bptr_ = b;
            it->i_ = (uint8_t)(i + 1);
            return true;
        }
        b = overflow_of(L, b);
        i = 0;
    }
slow:
    it->bptr_ = b;
    return iter_next_slow(it, i);
}

void mr_map_iter_done(mr_map_iter *it)
{
    iter_finish(it);
}

/* ------------------------------------------------------------- inspection -- */

void mr_map_get_info(const mr_map *m, mr_map_info *out)
{
    memset(out, 0, sizeof *out);
    if (m == NULL) return;
    const map_layout *L = m->lay;
    out->type = m->lay->type;
    out->count = m->count;
    out->flags = flags_get(m);
    out->B = m->B;
    out->noverflow = m->noverflow;
    out->hash0 = (uint32_t)m->seed;
    out->buckets = m->buckets;
    out->oldbuckets = m->oldbuckets;
    out->nevacuate = m->nevacuate;
    out->bucket_size = L->bucket_size;
    out->key_size = L->key_slot;
    out->value_size = L->val_slot;
    out->key_indirect = L->key_indirect;
    out->value_indirect = L->val_indirect;
}

static void walk_array(const mr_map *m, uint8_t *arr, uintptr_t n, bool old,
                       void (*on_bucket)(void *, bool, uint64_t, uint32_t, void *),
                       void (*on_slot)(const mr_map_slot *, void *), void *ud)
{
    const map_layout *L = m->lay;
    for (uintptr_t i = 0; i < n; i++) {
        uint32_t depth = 0;
        for (uint8_t *b = arr + i * L->bucket_size; b; b = overflow_of(L, b), depth++) {
            if (on_bucket) on_bucket(b, old, i, depth, ud);
            if (!on_slot) continue;
            for (unsigned s = 0; s < BUCKET_CNT; s++) {
                if (b[s] < MIN_TOP) continue;
                uint8_t *k = b + BUCKET_CNT + s * L->key_slot;
                mr_map_slot sl = {
                    .old = old,
                    .bucket = i,
                    .overflow = depth,
                    .slot = (uint8_t)s,
                    .tophash = b[s],
                    .bucket_obj = b,
                    .key = L->key_indirect ? load_ptr(k) : k,
                    .value = val_deref(L, b + L->vals_off + s * L->val_slot),
                };
                on_slot(&sl, ud);
            }
        }
    }
}

/* Old buckets that are evacuated hold no occupied slot (their tophash bytes
 * are all EVAC_*), so every entry is reported exactly once. */
void mr_map_walk(const mr_map *m,
                 void (*on_bucket)(void *bucket, bool old, uint64_t index, uint32_t overflow,
                                   void *ud),
                 void (*on_slot)(const mr_map_slot *s, void *ud), void *ud)
{
    if (m == NULL) return;
    if (m->buckets) walk_array(m, m->buckets, (uintptr_t)1 << m->B, false, on_bucket, on_slot, ud);
    if (m->oldbuckets)
        walk_array(m, m->oldbuckets, noldbuckets(m, flags_get(m)), true, on_bucket, on_slot, ud);
}

/* snprintf-like output into a bounded buffer. */
typedef struct outbuf {
    char *buf;
    size_t cap, len;
} outbuf;

static void out_char(outbuf *o, char c)
{
    if (o->len + 1 < o->cap) o->buf[o->len] = c;
    o->len++;
}

static void out_str(outbuf *o, const char *s)
{
    while (*s) out_char(o, *s++);
}

static void out_hex(outbuf *o, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out_char(o, digits[p[i] >> 4]);
        out_char(o, digits[p[i] & 15]);
    }
}

#define RENDER_MAX 64

/*
 * What follows the "..." of a key cut at RENDER_MAX bytes: " (N bytes,
 * #H)", N the key's length and H the FNV-1a 64 of all its bytes in 16 hex
 * digits. Keys that differ only past the cut are then still told apart,
 * wherever keys are compared or shown by their rendering (a snapshot keeps
 * nothing else of them).
 */
static void out_cut(outbuf *o, const void *key, size_t n)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "... (%zu bytes, #%016" PRIx64 ")", n, h);
    out_str(o, tmp);
}

size_t mr_map_render_key(const mr_map_type *t, const void *key, char *buf, size_t cap)
{
    outbuf o = {buf, cap, 0};
    char tmp[32];
    if (t == NULL || key == NULL) {
        out_str(&o, "?");
    } else {
        switch (t->key_kind) {
        case MR_KEY_INT64: {
            int64_t v;
            memcpy(&v, key, 8);
            snprintf(tmp, sizeof tmp, "%" PRId64, v);
            out_str(&o, tmp);
            break;
        }
        case MR_KEY_PTR: {
            uintptr_t v;
            memcpy(&v, key, sizeof v);
            snprintf(tmp, sizeof tmp, "0x%" PRIxPTR, v);
            out_str(&o, tmp);
            break;
        }
        case MR_KEY_STRING: {
            const mr_str *s = key;
            size_t n = s->len < RENDER_MAX ? s->len : RENDER_MAX;
            out_char(&o, '"');
            for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s->ptr[i];
                switch (c) {
                case '"':
                    out_str(&o, "\\\"");
                    break;
                case '\\':
                    out_str(&o, "\\\\");
                    break;
                case '\n':
                    out_str(&o, "\\n");
                    break;
                case '\t':
                    out_str(&o, "\\t");
                    break;
                case '\r':
                    out_str(&o, "\\r");
                    break;
                default:
                    if (c < 0x20 || c >= 0x7f) {
                        out_str(&o, "\\x");
                        out_hex(&o, &c, 1);
                    } else {
                        out_char(&o, (char)c);
                    }
                }
            }
            out_char(&o, '"');
            if (s->len > RENDER_MAX) out_cut(&o, s->ptr, s->len);
            break;
        }
        case MR_KEY_BYTES: {
            size_t size = t->key_type ? t->key_type->size : 0;
            size_t n = size < RENDER_MAX ? size : RENDER_MAX;
            out_str(&o, "0x");
            out_hex(&o, key, n);
            if (size > RENDER_MAX) out_cut(&o, key, size);
            break;
        }
        default:
            out_str(&o, "?");
        }
    }
    if (cap > 0) buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len;
}
