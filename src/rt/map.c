/*
 * src/rt/map.c -- Go-style hash maps on the garbage-collected heap: making a
 * map, and the operations a program calls on its entries.
 *
 * The data structure (header, buckets, tophash states, the overflow lists of
 * maps without pointers), the invariants and the rules for collecting inside
 * a map operation are described once, in map_internal.h. This file holds
 * Go's mapaccess, mapassign, mapdelete, mapclear and makemap:
 *
 *   lookup   hashes the key, searches its bucket's chain (or, during growth,
 *            the old bucket that has not been evacuated yet), comparing the
 *            8 tophash bytes of a bucket in one word;
 *   assign   does its share of a running growth first (map_grow.c), starts
 *            one when the insertion would break the load factor or the
 *            overflow limit, then finds the key or takes the first empty
 *            slot of its chain, adding an overflow bucket if none is free;
 *   delete   clears the slot (so it retains nothing) and turns a trailing
 *            run of empty slots into EMPTY_REST, so that lookups stop early;
 *   clear    keeps the table's size, drops overflow buckets and any growth.
 *
 * Every operation has a generic body, inlined once per key class (8-byte
 * words, strings, other byte keys), and the common cases of 8-byte and
 * string keys in a map that is not growing are functions of their own,
 * jumped to from the entry points without a frame: a map operation that
 * misses the cache waits on memory, and the fewer instructions it issues,
 * the more of the program's next operations are in flight meanwhile.
 */
#include "rt/heap.h"
#include "rt/map_internal.h"

#include <stdint.h>
#include <string.h>

/* Those operations' names, for mr_map_last_insert and the messages of a
 * write that finds another under way. */
static const char *const op_names[] = {NULL, "mr_map_assign", "mr_map_set"};

static const uint32_t header_ptr_offsets[] = {
    (uint32_t)offsetof(struct mr_map, buckets),
    (uint32_t)offsetof(struct mr_map, oldbuckets),
    (uint32_t)offsetof(struct mr_map, extra),
};
const mr_type mr__map_header_type = {
    "map.hdr", sizeof(struct mr_map), header_ptr_offsets, 3, MR_KIND_MAP_HEADER, NULL,
};

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
uint8_t *mr__map_find_any(const mr_map *m, const map_layout *L, const void *key, uint8_t **kout)
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
        mr__map_hash_grow(m, L, caller);
        goto again;
    }
    if (!ib) {
        ib = mr__map_new_overflow(m, L, b, caller); /* b is the last bucket of the chain */
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
    const map_layout *L = mr__map_layout_of(t);
    /* Like Go, a hint too large to ever be allocated is ignored. */
    if (hint > ((size_t)1 << 40)) hint = 0;
    uint8_t B = 0;
    while (over_load(hint, B)) B++;
    if (B > MAX_B)
        mr__throw("mr_map_new: map %s: too many buckets for a hint of %zu", t->name ? t->name : "?",
                  hint);
    mr_map *m = mr__map_new(&mr__map_header_type, caller);
    m->lay = L;
    m->seed = (uint32_t)mr__rand64();
    m->B = B;
    if (B != 0) {
        void *nb = mr__map_new_array(&L->bucket_type, (size_t)1 << B, caller);
        m->buckets = nb;
    }
    if (MR_UNLIKELY(atomic_load_explicit(&mr__map_new_listed, memory_order_relaxed)))
        mr__new_map_listed(m);
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
