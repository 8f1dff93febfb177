/*
 * tests/snapshot_digest.c -- reads a gcstack snapshot with the streaming
 * reader and prints the digest lines that MAPROOT_SNAPSHOT_DIGEST makes the
 * writer compute from the runtime's own walk (see
 * src/collector/snapshot_digest.h), so a test can compare the two.
 * usage: snapshot_digest FILE.gcstack.gz
 */
#include "collector/snapshot_digest.h"
#include "format/gcstack_reader.h"

#include <inttypes.h>
#include <stdio.h>

typedef struct dg {
    uint64_t n[7], h[7];
} dg;

static int on_objects(void *ud, const mf_gs_reader *r, uint64_t first, size_t n, mf_error *err)
{
    (void)err;
    dg *d = ud;
    const uint64_t *a = mf_gs_object_addresses(r), *s = mf_gs_object_sizes(r);
    const uint32_t *t = mf_gs_object_types(r);
    for (size_t i = first; i < first + n; i++) {
        d->n[0]++;
        d->h[0] += mrc__digest_object(a[i], s[i]);
        if (t[i] && mf_gs_type_at(r, t[i] - 1)->kind == MF_GS_KIND_MAP_HEADER) d->n[3]++;
    }
    return 0;
}

static int on_edges(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                    const uint32_t *counts, size_t ne, const uint64_t *offs, const uint64_t *tg,
                    mf_error *err)
{
    (void)err, (void)ne;
    dg *d = ud;
    const uint64_t *a = mf_gs_object_addresses(r);
    size_t e = 0;
    for (size_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < counts[i]; j++, e++) {
            d->n[1]++;
            d->h[1] += mrc__digest_edge(a[first + i], offs[e], a[tg[e]]);
        }
    return 0;
}

static int on_root(void *ud, const mf_gs_reader *r, const mf_gs_root *rt, mf_error *err)
{
    (void)err;
    dg *d = ud;
    d->n[2]++;
    d->h[2] += mrc__digest_root(rt->kind, mf_gs_object_addresses(r)[rt->target], rt->slot);
    return 0;
}

static uint64_t dmix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static int on_map(void *ud, const mf_gs_reader *r, const mf_gs_map *m, mf_error *err)
{
    (void)r, (void)err;
    ((dg *)ud)->h[3] += dmix(m->address);
    return 0;
}

static int on_buckets(void *ud, const mf_gs_reader *r, const mf_gs_map *m, const mf_gs_bucket *b,
                      size_t nb, const mf_gs_entry *e, size_t ne, mf_error *err)
{
    (void)err;
    dg *d = ud;
    const uint64_t *a = mf_gs_object_addresses(r);
    for (size_t i = 0; i < nb; i++) {
        d->n[4]++;
        d->h[4] +=
            mrc__digest_bucket(m->address, b[i].address, b[i].old, b[i].index, b[i].overflow);
    }
    for (size_t i = 0; i < ne; i++) {
        uint64_t kh = mrc__digest_str(e[i].key_text, e[i].key_text_len);
        uint64_t vo = e[i].value_object == MF_GS_NONE ? 0 : a[e[i].value_object];
        d->n[5]++;
        d->h[5] +=
            mrc__digest_entry(m->address, b[e[i].bucket].address, e[i].slot, e[i].tophash, kh, vo);
        d->n[6]++;
        d->h[6] += mrc__digest_iter(m->address, kh);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: snapshot_digest FILE\n");
        return 2;
    }
    dg d = {{0}, {0}};
    mf_gs_callbacks cb = {.ud = &d,
                          .on_objects = on_objects,
                          .on_edges = on_edges,
                          .on_root = on_root,
                          .on_map = on_map,
                          .on_buckets = on_buckets};
    mf_error err;
    if (mf_gs_read(argv[1], &cb, NULL, &err)) {
        fprintf(stderr, "snapshot_digest: %s\n", err.msg);
        return 2;
    }
    static const char *const names[] = {"objects", "edges",   "roots", "maps",
                                        "buckets", "entries", "iter"};
    for (int i = 0; i < 7; i++) printf("%s %" PRIu64 " %016" PRIx64 "\n", names[i], d.n[i], d.h[i]);
    return 0;
}
