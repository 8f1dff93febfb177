/*
 * src/rt/map_inspect.c -- what collections and tools read of the maps of a
 * heap: the registry that lists every map, a map's header fields
 * (mr_map_get_info), a walk over its buckets and occupied slots
 * (mr_map_walk), and the printable form of a key (mr_map_render_key).
 *
 * None of this is on a program's path through a map: the registry costs
 * mr_map_new one predictable branch until someone first asks for the maps,
 * and the rest is meant for a stopped world (the collector's snapshot and
 * leak check), which no map operation can be in the middle of. (The data
 * structure: map_internal.h.)
 */
#include "rt/heap.h"
#include "rt/map_internal.h"
#include "rt/thread.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

atomic_uint_fast64_t mr__maps_created;

/* --------------------------------------------------------------- registry -- */
/*
 * Once a collector asks for the maps of the heap (mr_walk_maps), every map
 * header is listed, so that it can visit them in time proportional to their
 * number, not to the heap. Until then nothing is kept: a program nobody
 * watches pays one predictable branch per mr_map_new. The first walk finds
 * the maps that exist by a walk of the spans of map headers only (spans are
 * typed), and turns the list on, with the world stopped.
 * A new map goes on its thread's own list (no lock: only the owner appends,
 * and only a stopped world reads it); a collection moves those into the
 * global list and drops the headers marking did not reach, before the sweep
 * frees them, so the list never holds a freed header. A thread that
 * detaches hands its list over under sched_lock, when no collection runs.
 * The global list is touched only with the world stopped or, by a
 * detaching thread, under sched_lock outside a collection.
 */
static mr_map_reg *all_maps;
static size_t nall_maps, cap_all_maps;
static atomic_bool registry_on; /* set once, with the world stopped */
static void (*map_test_after_header)(void);
/* registry_on, or the test hook set: mr_map_new's one branch */
atomic_bool mr__map_new_listed;

static void reg_push(mr_map_reg **v, size_t *n, size_t *cap, mr_map_reg r)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        mr_map_reg *a = realloc(*v, c * sizeof *a);
        if (!a) mr__throw("out of memory (map registry)");
        *v = a;
        *cap = c;
    }
    (*v)[(*n)++] = r;
}

/* A map made while the registry is on. One the seed listed already (its
 * maker was stopped in mr_map_new, after the header was allocated, while
 * the first walk ran) keeps the seed's entry. */
static void register_map(mr_thread *t, mr_map *m)
{
    if (m->listed) return;
    m->listed = 1;
    uint64_t id = atomic_fetch_add_explicit(&mr__maps_created, 1, memory_order_relaxed) + 1;
    reg_push(&t->new_maps, &t->nnew_maps, &t->cap_new_maps, (mr_map_reg){m, id});
}

void mr__maps_adopt(mr_thread *t)
{
    for (size_t i = 0; i < t->nnew_maps; i++)
        reg_push(&all_maps, &nall_maps, &cap_all_maps, t->new_maps[i]);
    t->nnew_maps = 0;
}

void mr__maps_prune(void)
{
    if (!atomic_load_explicit(&registry_on, memory_order_relaxed)) return;
    for (mr_thread *t = mr__threads; t; t = t->next) mr__maps_adopt(t);
    size_t j = 0;
    for (size_t i = 0; i < nall_maps; i++)
        if (mr_is_marked(all_maps[i].map)) all_maps[j++] = all_maps[i];
    nall_maps = j;
}

/* mr_map_new's slow path: the test hook, then the registry. A map gets
 * its id when it is listed (here, or by the seed), so that making a map
 * nobody watches takes no locked instruction. */
void mr__new_map_listed(mr_map *m)
{
    if (map_test_after_header) map_test_after_header();
    if (atomic_load_explicit(&registry_on, memory_order_relaxed)) register_map(mr__self, m);
}

void mr__map_test_set_after_header(void (*fn)(void))
{
    map_test_after_header = fn;
    atomic_store(&mr__map_new_listed, fn != NULL || atomic_load(&registry_on));
}

/* The seed: every allocated map header, with a new id each. */
static void seed_one(void *obj, void *ud)
{
    (void)ud;
    ((mr_map *)obj)->listed = 1;
    uint64_t id = atomic_fetch_add_explicit(&mr__maps_created, 1, memory_order_relaxed) + 1;
    reg_push(&all_maps, &nall_maps, &cap_all_maps, (mr_map_reg){obj, id});
}

void mr_walk_maps(void (*fn)(mr_map *m, uint64_t id, void *ud), void *ud)
{
    if (!atomic_load_explicit(&registry_on, memory_order_relaxed)) {
        mr__walk_type(&mr__map_header_type, seed_one, NULL);
        atomic_store_explicit(&registry_on, true, memory_order_relaxed);
        atomic_store_explicit(&mr__map_new_listed, true, memory_order_relaxed);
    }
    /* between marking and the sweep, the seed may list a header that
     * marking did not reach: it is no map of the heap any more */
    bool marks = mr__marks_valid;
    for (size_t i = 0; i < nall_maps; i++)
        if (!marks || mr_is_marked(all_maps[i].map)) fn(all_maps[i].map, all_maps[i].id, ud);
    for (mr_thread *t = mr__threads; t; t = t->next)
        for (size_t i = 0; i < t->nnew_maps; i++) fn(t->new_maps[i].map, t->new_maps[i].id, ud);
}

/* ------------------------------------------------------------- inspection -- */

void mr_map_get_info(const mr_map *m, mr_map_info *out)
{
    memset(out, 0, sizeof *out);
    if (m == NULL) return;
    const map_layout *L = m->lay;
    out->type = m->lay->type;
    out->count = m->count;
    out->flags = flags_get(m);
    out->B = m->B;
    out->noverflow = m->noverflow;
    out->hash0 = (uint32_t)m->seed;
    out->buckets = m->buckets;
    out->oldbuckets = m->oldbuckets;
    out->nevacuate = m->nevacuate;
    out->bucket_size = L->bucket_size;
    out->key_size = L->key_slot;
    out->value_size = L->val_slot;
    out->key_indirect = L->key_indirect;
    out->value_indirect = L->val_indirect;
}

static void walk_array(const mr_map *m, uint8_t *arr, uintptr_t n, bool old,
                       void (*on_bucket)(void *, bool, uint64_t, uint32_t, void *),
                       void (*on_slot)(const mr_map_slot *, void *), void *ud)
{
    const map_layout *L = m->lay;
    for (uintptr_t i = 0; i < n; i++) {
        uint32_t depth = 0;
        for (uint8_t *b = arr + i * L->bucket_size; b; b = overflow_of(L, b), depth++) {
            if (on_bucket) on_bucket(b, old, i, depth, ud);
            if (!on_slot) continue;
            for (unsigned s = 0; s < BUCKET_CNT; s++) {
                if (b[s] < MIN_TOP) continue;
                uint8_t *k = b + BUCKET_CNT + s * L->key_slot;
                mr_map_slot sl = {
                    .old = old,
                    .bucket = i,
                    .overflow = depth,
                    .slot = (uint8_t)s,
                    .tophash = b[s],
                    .bucket_obj = b,
                    .key = L->key_indirect ? load_ptr(k) : k,
                    .value = val_deref(L, b + L->vals_off + s * L->val_slot),
                };
                on_slot(&sl, ud);
            }
        }
    }
}

/* Old buckets that are evacuated hold no occupied slot (their tophash bytes
 * are all EVAC_*), so every entry is reported exactly once. */
void mr_map_walk(const mr_map *m,
                 void (*on_bucket)(void *bucket, bool old, uint64_t index, uint32_t overflow,
                                   void *ud),
                 void (*on_slot)(const mr_map_slot *s, void *ud), void *ud)
{
    if (m == NULL) return;
    if (m->buckets) walk_array(m, m->buckets, (uintptr_t)1 << m->B, false, on_bucket, on_slot, ud);
    if (m->oldbuckets)
        walk_array(m, m->oldbuckets, noldbuckets(m, flags_get(m)), true, on_bucket, on_slot, ud);
}

/* snprintf-like output into a bounded buffer. */
typedef struct outbuf {
    char *buf;
    size_t cap, len;
} outbuf;

static void out_char(outbuf *o, char c)
{
    if (o->len + 1 < o->cap) o->buf[o->len] = c;
    o->len++;
}

static void out_str(outbuf *o, const char *s)
{
    while (*s) out_char(o, *s++);
}

static void out_hex(outbuf *o, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out_char(o, digits[p[i] >> 4]);
        out_char(o, digits[p[i] & 15]);
    }
}

#define RENDER_MAX 64

/*
 * What follows the "..." of a key cut at RENDER_MAX bytes: " (N bytes,
 * #H)", N the key's length and H the FNV-1a 64 of all its bytes in 16 hex
 * digits. Keys that differ only past the cut are then still told apart,
 * wherever keys are compared or shown by their rendering (a snapshot keeps
 * nothing else of them).
 */
static void out_cut(outbuf *o, const void *key, size_t n)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "... (%zu bytes, #%016" PRIx64 ")", n, h);
    out_str(o, tmp);
}

size_t mr_map_render_key(const mr_map_type *t, const void *key, char *buf, size_t cap)
{
    outbuf o = {buf, cap, 0};
    char tmp[32];
    if (t == NULL || key == NULL) {
        out_str(&o, "?");
    } else {
        switch (t->key_kind) {
        case MR_KEY_INT64: {
            int64_t v;
            memcpy(&v, key, 8);
            snprintf(tmp, sizeof tmp, "%" PRId64, v);
            out_str(&o, tmp);
            break;
        }
        case MR_KEY_PTR: {
            uintptr_t v;
            memcpy(&v, key, sizeof v);
            snprintf(tmp, sizeof tmp, "0x%" PRIxPTR, v);
            out_str(&o, tmp);
            break;
        }
        case MR_KEY_STRING: {
            const mr_str *s = key;
            size_t n = s->len < RENDER_MAX ? s->len : RENDER_MAX;
            out_char(&o, '"');
            for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s->ptr[i];
                switch (c) {
                case '"':
                    out_str(&o, "\\\"");
                    break;
                case '\\':
                    out_str(&o, "\\\\");
                    break;
                case '\n':
                    out_str(&o, "\\n");
                    break;
                case '\t':
                    out_str(&o, "\\t");
                    break;
                case '\r':
                    out_str(&o, "\\r");
                    break;
                default:
                    if (c < 0x20 || c >= 0x7f) {
                        out_str(&o, "\\x");
                        out_hex(&o, &c, 1);
                    } else {
                        out_char(&o, (char)c);
                    }
                }
            }
            out_char(&o, '"');
            if (s->len > RENDER_MAX) out_cut(&o, s->ptr, s->len);
            break;
        }
        case MR_KEY_BYTES: {
            size_t size = t->key_type ? t->key_type->size : 0;
            size_t n = size < RENDER_MAX ? size : RENDER_MAX;
            out_str(&o, "0x");
            out_hex(&o, key, n);
            if (size > RENDER_MAX) out_cut(&o, key, size);
            break;
        }
        default:
            out_str(&o, "?");
        }
    }
    if (cap > 0) buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len;
}
