/*
 * src/rt/handles.c -- handle tables (see handles.h for the design and its
 * invariants).
 */
#include "rt/handles.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define HANDLE_LIVE UINT32_MAX /* larger than any handle: n < UINT32_MAX */

/* Doubles the arrays (first_cap records the first time). Fails, leaving
 * the table as it was, on exhausted memory or handle space. */
static int grow(mr_handles *t)
{
    assert(t->size > 0 && t->first_cap > 0);
    uint64_t cap = t->cap ? (uint64_t)t->cap * 2 : t->first_cap;
    if (cap >= HANDLE_LIVE) cap = HANDLE_LIVE - 1;
    if (cap <= t->cap || cap > SIZE_MAX / t->size) return 0;
    unsigned char *recs = realloc(t->recs, (size_t)cap * t->size);
    if (!recs) return 0;
    t->recs = recs; /* kept even if link fails: it holds the same records */
    uint32_t *link = realloc(t->link, (size_t)cap * sizeof *link);
    if (!link) return 0;
    t->link = link;
    t->cap = (uint32_t)cap;
    return 1;
}

uint32_t mr__handles_add(mr_handles *t)
{
    uint32_t h;
    if (t->free_head) {
        h = t->free_head;
        t->free_head = t->link[h - 1];
    } else {
        if (t->n == t->cap && !grow(t)) return 0;
        h = ++t->n;
    }
    t->link[h - 1] = HANDLE_LIVE;
    memset(t->recs + (size_t)(h - 1) * t->size, 0, t->size);
    return h;
}

void *mr__handles_get(const mr_handles *t, uint32_t h)
{
    if (h == 0 || h > t->n || t->link[h - 1] != HANDLE_LIVE) return NULL;
    return t->recs + (size_t)(h - 1) * t->size;
}

void mr__handles_remove(mr_handles *t, uint32_t h)
{
    assert(mr__handles_get(t, h));
    t->link[h - 1] = t->free_head;
    t->free_head = h;
}
