/*
 * src/collector/snapshot_digest.c -- the runtime's own account of a snapshot,
 * for the round-trip tests (MAPROOT_SNAPSHOT_DIGEST=PATH).
 *
 * Right after a snapshot is written, in the same image (the forked child, or
 * the stopped world), this walks the heap again with the runtime's walk API
 * alone -- mr_walk_objects, mr_walk_edges (which resolves every target with
 * mr_object_type), mr_map_walk, and in a forked child also
 * iteration with mr_map_iter -- and writes counts and order-independent
 * digests of the sets. tests/snapshot_digest.c computes the same lines from
 * what the reader reads back; the two must be equal. The functions of the
 * snapshot writer itself are not used here, so a mistake in either shows.
 */
#include "collector/snapshot_digest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static inline uint64_t dmix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t mrc__digest_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return dmix(h);
}

uint64_t mrc__digest_object(uint64_t addr, uint64_t size)
{
    return dmix(addr * 31 + dmix(size));
}

uint64_t mrc__digest_edge(uint64_t from, uint64_t off, uint64_t to)
{
    return dmix(from ^ dmix(off + 7) ^ dmix(dmix(to)));
}

uint64_t mrc__digest_root(uint32_t kind, uint64_t target, uint64_t slot)
{
    return dmix(dmix(kind + 1) ^ target ^ dmix(slot));
}

uint64_t mrc__digest_bucket(uint64_t map, uint64_t addr, bool old, uint64_t index, uint32_t ovf)
{
    return dmix(map ^ dmix(addr) ^ dmix(index * 2 + old) ^ dmix(dmix(ovf + 3)));
}

uint64_t mrc__digest_entry(uint64_t map, uint64_t bucket_addr, uint32_t slot, uint32_t tophash,
                           uint64_t key_hash, uint64_t value_obj)
{
    return dmix(map ^ dmix(bucket_addr + slot) ^ dmix(tophash + 256 * (uint64_t)slot) ^ key_hash ^
                dmix(dmix(value_obj + 1)));
}

uint64_t mrc__digest_iter(uint64_t map, uint64_t key_hash)
{
    return dmix(map ^ key_hash);
}

typedef struct dg {
    uint64_t n[7], h[7]; /* objects edges roots maps buckets entries iter */
    uint64_t cur_obj, cur_map;
    const mr_map_type *mt;
    bool value_indirect;
} dg;

static void d_edge(void *obj, size_t offset, void *to, void *ud)
{
    dg *d = ud;
    d->n[1]++;
    d->h[1] += mrc__digest_edge((uint64_t)(uintptr_t)obj, offset, (uint64_t)(uintptr_t)to);
}

static void d_object(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    (void)count;
    dg *d = ud;
    d->n[0]++;
    d->h[0] += mrc__digest_object((uint64_t)(uintptr_t)obj, size);
    mr_walk_edges(obj, d_edge, d);
    if (t && t->kind == MR_KIND_MAP_HEADER) {
        d->n[3]++;
        d->h[3] += dmix((uint64_t)(uintptr_t)obj);
    }
}

static void d_root(const mr_root *r, void *ud)
{
    dg *d = ud;
    d->n[2]++;
    d->h[2] += mrc__digest_root((uint32_t)r->kind, (uint64_t)(uintptr_t)r->target,
                                (uint64_t)(uintptr_t)r->slot);
}

static void d_bucket(void *b, bool old, uint64_t index, uint32_t ovf, void *ud)
{
    dg *d = ud;
    d->n[4]++;
    d->h[4] += mrc__digest_bucket(d->cur_map, (uint64_t)(uintptr_t)b, old, index, ovf);
}

/* The object a value refers to, as the runtime resolves it: the indirect
 * object, else the target of the value's first heap pointer field. */
static uint64_t value_object(const dg *d, void *value)
{
    void *start = NULL;
    if (d->value_indirect) return mr_object_type(value, &start) ? (uint64_t)(uintptr_t)start : 0;
    const mr_type *vt = d->mt ? d->mt->value_type : NULL;
    if (!vt) return 0;
    for (uint32_t k = 0; k < vt->nptrs; k++) {
        void *p;
        memcpy(&p, (char *)value + vt->ptr_offsets[k], sizeof p);
        if (p && mr_object_type(p, &start)) return (uint64_t)(uintptr_t)start;
    }
    return 0;
}

static uint64_t key_hash(const mr_map_type *mt, const void *key)
{
    char buf[400];
    size_t n = mr_map_render_key(mt, key, buf, sizeof buf);
    if (n >= sizeof buf) n = sizeof buf - 1;
    return mrc__digest_str(buf, n);
}

static void d_slot(const mr_map_slot *s, void *ud)
{
    dg *d = ud;
    d->n[5]++;
    d->h[5] += mrc__digest_entry(d->cur_map, (uint64_t)(uintptr_t)s->bucket_obj, s->slot,
                                 s->tophash, key_hash(d->mt, s->key), value_object(d, s->value));
}

static void d_map(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    (void)size, (void)count;
    dg *d = ud;
    if (!t || t->kind != MR_KIND_MAP_HEADER) return;
    mr_map_info in;
    mr_map_get_info(obj, &in);
    d->cur_map = (uint64_t)(uintptr_t)obj;
    d->mt = in.type;
    d->value_indirect = in.value_indirect;
    mr_map_walk(obj, d_bucket, d_slot, d);
}

/* Maps found by the first walk, for iteration once the world runs. */
typedef struct maplist {
    mr_map **v;
    size_t n, cap;
} maplist;

static void d_collect_map(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    (void)size, (void)count;
    maplist *l = ud;
    if (!t || t->kind != MR_KIND_MAP_HEADER) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        mr_map **v = realloc(l->v, cap * sizeof *v);
        if (!v) return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = obj;
}

int mrc__write_digest(const char *path, const mrc_root_list *roots, bool can_iterate)
{
    dg d;
    memset(&d, 0, sizeof d);
    mr_walk_objects(true, d_object, &d);
    for (size_t i = 0; i < roots->n; i++) d_root(&roots->v[i], &d);
    mr_walk_objects(true, d_map, &d);
    maplist l = {0};
    if (can_iterate) {
        /* Only in the forked child: no other thread exists there, so the
         * private world can run while the maps are iterated. */
        mr_walk_objects(true, d_collect_map, &l);
        mr_start_the_world();
        for (size_t i = 0; i < l.n; i++) {
            mr_map_iter it;
            const mr_map_type *mt = mr_map_type_of(l.v[i]);
            for (mr_map_iter_init(&it, l.v[i]); mr_map_iter_next(&it);) {
                d.n[6]++;
                d.h[6] += mrc__digest_iter((uint64_t)(uintptr_t)l.v[i], key_hash(mt, it.key));
            }
        }
        free(l.v);
    }
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    static const char *const names[] = {"objects", "edges",   "roots", "maps",
                                        "buckets", "entries", "iter"};
    for (int i = 0; i < (can_iterate ? 7 : 6); i++)
        fprintf(f, "%s %" PRIu64 " %016" PRIx64 "\n", names[i], d.n[i], d.h[i]);
    return fclose(f) == 0 ? 0 : -1;
}
