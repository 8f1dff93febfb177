/*
 * src/analyze/u32map.c -- a hash map from 32-bit node numbers to 32-bit
 * values (see the header).
 */
#include "analyze/u32map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX

/* Where k's probe sequence starts: node numbers are dense, so a
 * multiplicative hash spreads neighbours apart. */
static size_t home(const mp_u32map *m, uint32_t k)
{
    return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
}

bool mp_u32map_get(const mp_u32map *m, uint32_t k, uint32_t *v)
{
    if (!m->keys) return false;
    for (size_t i = home(m, k);; i = (i + 1) & m->mask) {
        if (m->keys[i] == k) {
            if (v) *v = m->vals[i];
            return true;
        }
        if (m->keys[i] == EMPTY) return false;
    }
}

/* Doubles the capacity (16 to start with), keeping every pair. */
static int grow(mp_u32map *m)
{
    size_t cap = m->keys ? 2 * (m->mask + 1) : 16;
    mp_u32map t = {malloc(cap * sizeof *t.keys), malloc(cap * sizeof *t.vals), cap - 1, 0};
    if (!t.keys || !t.vals) {
        free(t.keys);
        free(t.vals);
        return -1;
    }
    memset(t.keys, 0xff, cap * sizeof *t.keys);
    for (size_t i = 0; m->keys && i <= m->mask; i++)
        if (m->keys[i] != EMPTY) mp_u32map_put(&t, m->keys[i], m->vals[i]);
    mp_u32map_free(m);
    *m = t;
    return 0;
}

int mp_u32map_put(mp_u32map *m, uint32_t k, uint32_t v)
{
    assert(k != EMPTY);
    /* invariant: at most half full, so every probe meets an empty slot */
    if ((!m->keys || 2 * (m->n + 1) > m->mask + 1) && grow(m)) return -1;
    size_t i = home(m, k);
    while (m->keys[i] != EMPTY && m->keys[i] != k) i = (i + 1) & m->mask;
    int added = m->keys[i] == EMPTY;
    m->keys[i] = k;
    m->vals[i] = v;
    m->n += (size_t)added;
    return added;
}

void mp_u32map_free(mp_u32map *m)
{
    free(m->keys);
    free(m->vals);
    *m = (mp_u32map){0};
}
