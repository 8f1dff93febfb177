/*
 * src/analyze/stale_words.h -- the pointers evacuated old buckets still hold.
 *
 * Why: a map half-way through a growth keeps its old bucket array while an
 * iterator opened before the growth may still read it. A bucket that has
 * been evacuated keeps its key and value words (and its overflow chain,
 * whose buckets keep theirs): every value moved to the new array is then
 * pointed at twice, by its live slot and by the stale one. The stale word
 * keeps nothing the map does not keep already, so the questions "does this
 * entry own its value" and "is the value its alone" must not count it as
 * another holder.
 *
 * What: for each map with an old bucket array, one (target, holder) pair
 * per word of an evacuated old bucket -- one the input records with no
 * used slot, or does not record at all -- and of the overflow buckets
 * chained to it: those of their own that hold no used slot, and those set
 * aside in the old array past its buckets that no record gives a used
 * slot. The holder is the object holding the word. Words of unknown offset
 * are left out (which bucket holds them is not known).
 * A Go sync.Map's table (mp_map.sync_map) holds its read map, whose slots
 * point at the keys and entries its dirty map's slots point at: each word
 * of those objects is a pair too, for the same reason.
 * Memory: the set owns its arrays (mp_stale_words_free); a zeroed struct is
 * an empty set. Threads: built by one, then read-only.
 */
#ifndef MP_STALE_WORDS_H
#define MP_STALE_WORDS_H

#include "analyze/graph.h"

#include <stddef.h>
#include <stdint.h>

typedef struct mp_stale_words {
    /* map k's words are w[first[k] .. first[k + 1]), (target << 32 |
     * holder), sorted; first is NULL when no map has an old array */
    uint64_t *w;
    size_t *first;
    size_t nmaps;
} mp_stale_words;

/* The stale words of every map of g into *s (left empty first); -1 when
 * out of memory (s then empty). */
int mp_stale_words_build(const mp_graph *g, mp_stale_words *s);

/* The holders of the stale words of map k that point at object x, one per
 * word, the first `max` of them into holders; returns how many there are. */
size_t mp_stale_words_of(const mp_stale_words *s, uint32_t k, uint32_t x, uint32_t *holders,
                         size_t max);

void mp_stale_words_free(mp_stale_words *s);

#endif
