/*
 * src/format/grow.h -- growing an array by doubling, for every part of
 * maproot that appends to an array of unknown final length (decoders,
 * builders, the collector's tables).
 *
 * Contract:
 *   - An array is a pointer *p to *cap elements of elem bytes each (*p may be
 *     NULL when *cap is 0). The caller keeps the count of used elements.
 *   - mf_grow makes room for at least `need` elements. When *cap already
 *     holds them it does nothing. Otherwise the new capacity is *cap (or
 *     `first` when *cap is 0) doubled until it reaches `need`, so n appends
 *     cost O(n) copies.
 *   - Every size computed (each doubling, capacity * elem) is checked for
 *     overflow; a size that does not fit in size_t fails like an allocation.
 *   - On failure (overflow or realloc returning NULL) it returns false and
 *     changes nothing: *p still points to the old block, still owned by the
 *     caller, and *cap is unchanged. It never prints, exits or sets an error
 *     message: the caller says what ran out of memory, in its own words.
 *   - The block is realloc'd: the caller frees *p with free().
 * No shared state; safe from any thread on arrays that thread owns. Never
 * allocates except through realloc, so the collector may call it.
 */
#ifndef MF_GROW_H
#define MF_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* The capacity mf_grow(p, cap, need, elem, first) would give an array of
 * cap elements: cap when it holds need already, else cap (or first) doubled
 * until at least need. 0 when that capacity times elem overflows size_t.
 * elem and first must not be 0. */
size_t mf_grow_capacity(size_t cap, size_t need, size_t elem, size_t first);

/* Makes *p (of *cap elements of elem bytes) hold at least need elements;
 * true on success, false (nothing changed) on overflow or out of memory. */
bool mf_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);

/* mf_grow for a typed array: room for need elements in arr of capacity cap. */
#define MF_GROW(arr, cap, need, first)                                                             \
    mf_grow((void **)&(arr), &(cap), (need), sizeof *(arr), (first))

#endif
