/*
 * src/rt/map_iter.c -- iterating over a map, as Go's mapiterinit and
 * mapiternext do.
 *
 * An iterator remembers the bucket array and its size as they were when it
 * started, and walks them from a random bucket and slot offset, so that no
 * program comes to rely on an order. The map may grow meanwhile: the
 * iterator flags the map so that growth keeps old buckets intact for it, an
 * entry whose old slot says it moved (EVAC_X/Y) is looked up again in the
 * current table (it may have been updated or deleted since), and an old
 * bucket not yet evacuated is read instead of its new one, keeping only the
 * entries that belong to the bucket being visited. In a map without
 * pointers the iterator also holds the overflow lists of the arrays it
 * walks, which a growth or a clear drops from the map. The iterator's
 * storage is the program's (mr_map_iter, part of the ABI); collections find
 * it through the runtime's iterator registry. (The data structure:
 * map_internal.h.)
 */
#include "rt/map_internal.h"

#include <stddef.h>
#include <stdint.h>

/* hash_key for the map's key class: the iterator splits an old bucket by
 * hash (see iter_next_slow). */
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

/* -------------------------------------------------------------- iterators -- */

/* Part of the ABI: programs reserve the iterator and read key and value. */
_Static_assert(sizeof(mr_map_iter) == 10 * sizeof(void *) && offsetof(mr_map_iter, value) == 8,
               "mr_map_iter keeps its size and public fields");

enum { ITER_ACTIVE = 1, ITER_DONE = 2 };
/* offset_ holds the slot offset (0..7) in its low bits, read masked, and
 * this flag: the walk has passed the last bucket and begun again at 0. */
#define ITER_WRAPPED 0x80
#define NO_CHECK UINT32_MAX

/* Drops every pointer the iterator holds, so that it keeps nothing alive
 * once finished and starts from nothing when begun. */
static inline void iter_forget(mr_map_iter *it)
{
    it->key = NULL;
    it->value = NULL;
    it->map_ = NULL;
    it->buckets_ = NULL;
    it->bptr_ = NULL;
    it->overflow_ = it->oldoverflow_ = NULL;
}

/* Unregisters first: a detached thread's iterator is read by collections
 * until then, and the thread ending it becomes a mutator doing so. */
static void iter_finish(mr_map_iter *it)
{
    mr__iter_unregister(it);
    it->state_ = ITER_DONE;
    iter_forget(it);
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
    iter_forget(it);
    it->bucket_ = it->start_bucket_ = 0;
    it->offset_ = it->i_ = it->b_ = 0;
    it->check_bucket_ = NO_CHECK;
    it->state_ = ITER_DONE;
    mr__iter_register(it);
    if (m == NULL || m->count == 0) return; /* nothing to see, even if entries come */
    if (m->lay->flat && (m->B > 0 || m->oldbuckets)) {
        it->overflow_ = mr__map_iterator_list(m, caller); /* may collect: m is our argument */
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
                uint8_t *rv = m->count ? mr__map_find_any(m, L, k, &rk) : NULL;
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
