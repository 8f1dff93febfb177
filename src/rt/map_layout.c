/*
 * src/rt/map_layout.c -- the bucket layout of each map type.
 *
 * A map type (mr_map_type: key kind, key and value descriptors) fixes where
 * everything sits in a bucket: 8 tophash bytes, 8 key slots, 8 value slots,
 * the overflow link, each slot rounded up to 8 bytes so that pointer words
 * stay aligned, keys and values over MAX_INLINE bytes stored indirectly.
 * From that follows the bucket's own type descriptor, which tells the
 * collector every pointer word of a bucket, and the key class whose
 * specialised copy of the hot paths the map's operations take. A layout is
 * built once per map type, on the first mr_map_new of that type, kept in a
 * table by type and never freed; a map keeps a pointer to its layout, and
 * through it to its type. (The data structure itself: map_internal.h.)
 */
#include "rt/map_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
     * the bucket type is pointer-free (see "extra" in map_internal.h). */
    L->flat = kp_n == 0 && vp_n == 0;
    if (L->flat) mr__map_init_chunk_types();
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
const map_layout *mr__map_layout_of(const mr_map_type *t)
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
