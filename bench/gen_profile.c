/*
 * bench/gen_profile.c -- writes a large, realistic-looking heap profile
 * through maproot's pprof writer, for the reading-speed benchmark.
 *
 * usage: gen_profile OUT.pb.gz [SAMPLES [FUNCTIONS]]
 * Defaults: 300,000 samples, 40,000 functions, 3 call sites per function,
 * stacks 8 to 24 frames deep along a random call tree (so callers repeat as
 * in real programs), Go's four heap sample types, a bytes label per sample.
 * Deterministic: the same arguments give the same file.
 */
#include "format/pprof.h"

#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: gen_profile OUT.pb.gz [SAMPLES [FUNCTIONS]]\n");
        return 2;
    }
    size_t n_samples = argc > 2 ? strtoull(argv[2], NULL, 10) : 300000;
    size_t n_funcs = argc > 3 ? strtoull(argv[3], NULL, 10) : 40000;
    if (n_funcs < 2) n_funcs = 2;
    const size_t sites = 3;
    mf_pprof_writer *w = mf_pw_new();
    if (!w) return 1;
    mf_pw_add_sample_type(w, "alloc_objects", "count");
    mf_pw_add_sample_type(w, "alloc_space", "bytes");
    mf_pw_add_sample_type(w, "inuse_objects", "count");
    mf_pw_add_sample_type(w, "inuse_space", "bytes");
    mf_pw_set_period(w, "space", "bytes", 524288);
    mf_pw_set_time(w, 1767225600000000000LL, 0);
    mf_pw_add_comment(w, "producer: maproot bench/gen_profile");
    mf_pw_mapping m = {0x400000,
                       0x400000 + n_funcs * 4096,
                       0,
                       "/usr/bin/bigservice",
                       "feedfacecafebeef",
                       true,
                       true,
                       true,
                       false};
    uint64_t map = mf_pw_add_mapping(w, &m);

    /* Functions and their call sites (locations). */
    uint64_t *locs = malloc(n_funcs * sites * sizeof *locs);
    size_t *parent = malloc(n_funcs * sizeof *parent);
    if (!locs || !parent) return 1;
    char name[128], file[96];
    for (size_t f = 0; f < n_funcs; f++) {
        snprintf(name, sizeof name, "service/pkg%zu.(*Handler%zu).method%zu", f % 97, f % 1013, f);
        snprintf(file, sizeof file, "/src/service/pkg%zu/handler%zu.go", f % 97, f % 1013);
        uint64_t fid = mf_pw_function(w, name, NULL, file, (int64_t)(10 + f % 500));
        for (size_t s = 0; s < sites; s++) {
            mf_pw_line l = {fid, (int64_t)(20 + f % 500 + s * 7)};
            locs[f * sites + s] = mf_pw_add_location(w, map, 0x400000 + f * 4096 + s * 16, &l, 1);
        }
        /* a random call tree: each function's caller has a somewhat smaller
         * number, so chains are long enough for 24-deep stacks */
        size_t back = f < 64 ? f : 64;
        parent[f] = f ? f - 1 - (size_t)(next() % back) : 0;
    }
    uint64_t stack[24];
    for (size_t i = 0; i < n_samples; i++) {
        size_t depth = 8 + (size_t)(next() % 17), n = 0;
        size_t f = (size_t)(next() % n_funcs);
        while (n < depth) {
            stack[n++] = locs[f * sites + next() % sites];
            if (f == 0) break;
            f = parent[f];
        }
        int64_t size = (int64_t)(16 << (next() % 12)) + (int64_t)(next() % 64) * 8;
        int64_t objs = 1 + (int64_t)(next() % 200);
        int64_t inuse = (int64_t)(next() % (uint64_t)(objs + 1));
        int64_t v[4] = {objs, objs * size, inuse, inuse * size};
        mf_pw_label lab = {"bytes", NULL, size, NULL};
        if (mf_pw_add_sample(w, stack, n, v, 4, &lab, 1)) break;
    }
    mf_error e;
    if (mf_pw_write(w, argv[1], true, &e)) {
        fprintf(stderr, "gen_profile: %s\n", e.msg);
        return 1;
    }
    mf_pw_free(w);
    free(locs);
    free(parent);
    return 0;
}
