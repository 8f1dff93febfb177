/*
 * src/rt/map_internal.h -- what the files of the map implementation share:
 * the map header, the bucket layout, the overflow lists, and the inlined
 * helpers every operation is built from. Nothing outside these files sees it.
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
 * Invariants kept by every file:
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
 * GC safety: a collection may run inside any allocation made by a map. The
 * collector scans the calling thread's stack conservatively, so every newly
 * allocated object is held in a local variable until it is stored into the
 * map, and the map is consistent (every live entry reachable through the
 * header) whenever an allocation happens.
 *
 * The files, one job each:
 *   map.c          making a map; lookup, assignment, delete, clear
 *   map_layout.c   the bucket layout of each map type, built once
 *   map_grow.c     overflow buckets and their lists; growth and evacuation
 *   map_iter.c     iterators
 *   map_inspect.c  what collections and tools read: the registry of maps,
 *                  info, the bucket walk, key rendering
 * The hot paths inline the helpers below; what one file calls in another is
 * declared at the end (mr__map_*), and is never on the common path of a
 * lookup, assignment or delete.
 */
#ifndef MR_RT_MAP_INTERNAL_H
#define MR_RT_MAP_INTERNAL_H

#include "rt/hash.h"
#include "rt/internal.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* ------------------------------------------------- across the map's files -- */

/* map.c: the map header's type (the registry's first walk finds maps by
 * it), and a lookup of any key class, for the iterator, which must
 * re-find moved entries: returns the value, *kout the key bytes, or NULL. */
extern const mr_type mr__map_header_type;
uint8_t *mr__map_find_any(const mr_map *m, const map_layout *L, const void *key, uint8_t **kout);

/* map_layout.c: the layout of map type t, built on first use (it throws
 * on a malformed type). Never freed; safe from any thread. */
const map_layout *mr__map_layout_of(const mr_map_type *t);

/* map_grow.c. mr__map_init_chunk_types builds the types of the overflow
 * lists' chunks (idempotent; called under the layouts' lock, with the
 * first layout of a map without pointers). mr__map_new_overflow appends a
 * new overflow bucket to the chain ending at b and returns it;
 * mr__map_hash_grow starts a growth; mr__map_evacuate moves the entries
 * of old bucket `oldbucket` to the new array (see grow_work below);
 * mr__map_iterator_list returns the first chunk of the current array's
 * overflow list of a map without pointers, made if need be. Each may
 * allocate, and so collect (see "GC safety"). */
void mr__map_init_chunk_types(void);
uint8_t *mr__map_new_overflow(mr_map *m, const map_layout *L, uint8_t *b, uintptr_t caller);
void mr__map_hash_grow(mr_map *m, const map_layout *L, uintptr_t caller);
void mr__map_evacuate(mr_map *m, const map_layout *L, uintptr_t oldbucket, uintptr_t caller);
void **mr__map_iterator_list(mr_map *m, uintptr_t caller);

/* The incremental step of a growth: the old bucket behind the bucket about
 * to be written, and one more so that growth finishes in bounded time.
 * Inlined into the writes, which then call evacuation directly. */
INLINE void grow_work(mr_map *m, const map_layout *L, uintptr_t bucket, uintptr_t caller)
{
    mr__map_evacuate(m, L, bucket & (noldbuckets(m, flags_get(m)) - 1), caller);
    if (m->oldbuckets) mr__map_evacuate(m, L, m->nevacuate, caller);
}

/* map_inspect.c: mr_map_new's one branch (set once the registry is on, or
 * the test hook is), and its slow path, which lists the new map m. */
extern atomic_bool mr__map_new_listed;
void mr__new_map_listed(mr_map *m);

#endif
