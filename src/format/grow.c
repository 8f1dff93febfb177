/*
 * src/format/grow.c -- growing an array by doubling (see grow.h).
 */
#include "format/grow.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

/* Doubling from the current capacity keeps appends amortised O(1); the
 * checks stop a count taken from input from wrapping into a small block that
 * later writes would overrun. */
size_t mf_grow_capacity(size_t cap, size_t need, size_t elem, size_t first)
{
    assert(elem > 0 && first > 0);
    size_t nc = cap ? cap : first;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return 0;
        nc *= 2;
    }
    return nc > SIZE_MAX / elem ? 0 : nc;
}

bool mf_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    assert(p && cap);
    if (need <= *cap) return true;
    size_t nc = mf_grow_capacity(*cap, need, elem, first);
    if (nc == 0) return false;
    void *q = realloc(*p, nc * elem);
    if (!q) return false;
    /* invariant kept: *cap elements of elem bytes are allocated at *p */
    *p = q;
    *cap = nc;
    return true;
}
