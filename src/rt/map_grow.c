/*
 * src/rt/map_grow.c -- overflow buckets, and the growth of a map's table.
 *
 * Growth: when count would exceed 6.5 per bucket the array doubles; when
 * overflow buckets reach 2^min(B,15) it is replaced by one of the same size
 * (that compacts chains left sparse by deletes). Either way growth is
 * incremental: the old array stays in oldbuckets and each assign/delete moves
 * ("evacuates") the old bucket it touches plus the one at nevacuate. Delete
 * never shrinks the array.
 *
 * Overflow buckets: a chain that is full gets one more bucket. In a map
 * whose keys and values hold no pointers the buckets list none either, so
 * what keeps such a map's overflow buckets alive is a list per bucket array
 * on the map's extra object, kept here (the structures and their invariants:
 * map_internal.h). A growth moves the current array's list to oldoverflow,
 * where it stays until the last old bucket is evacuated; an iterator holds
 * the lists of the arrays it walks, which it may make before any overflow
 * bucket exists.
 */
#include "rt/heap.h"
#include "rt/map_internal.h"

#include <stdint.h>
#include <string.h>

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
 * map_layout.c's layouts_lock: a map of that type, and so a chunk, comes after). */
enum { OVF_CHUNK_SIZES = 9 }; /* 4, 8, ... 1024 words */
static uint32_t chunk_ptr_offsets[OVF_CHUNK_MAX];
static mr_type chunk_types[OVF_CHUNK_SIZES];

void mr__map_init_chunk_types(void)
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
void **mr__map_iterator_list(mr_map *m, uintptr_t caller)
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

/* new_overflow for an assignment (map.c). Evacuation calls new_overflow
 * itself, which the compiler can then inline into its loop. */
uint8_t *mr__map_new_overflow(mr_map *m, const map_layout *L, uint8_t *b, uintptr_t caller)
{
    return new_overflow(m, L, b, caller);
}

/* Starts a growth: doubles the table if it is over the load factor, else
 * starts a same-size growth. The new array is allocated before the header
 * changes, so a collection inside the allocation sees a consistent map. */
void mr__map_hash_grow(mr_map *m, const map_layout *L, uintptr_t caller)
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

/* evacuate_t for the map's key class. */
void mr__map_evacuate(mr_map *m, const map_layout *L, uintptr_t oldbucket, uintptr_t caller)
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
