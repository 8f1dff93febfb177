/*
 * tests/fuzz/fuzz_profile.h -- the path of the profile fuzz targets, one
 * per profile reader: the input is inflated when the gzip magic says so,
 * as `maproot analyze` does, then parsed; a profile the reader accepts is
 * indexed and run through every analysis `maproot analyze` and `maproot
 * diff` run (top, map growth, a diff against itself) for every sample
 * type, so the consistency the readers promise is exercised by the code
 * that relies on it.
 */
#ifndef MR_FUZZ_PROFILE_H
#define MR_FUZZ_PROFILE_H

#include "analyze/profile.h"
#include "format/gz.h"
#include "format/pprof.h"

#include <stdint.h>

static void fuzz_analyze_profile(mf_profile *prof)
{
    mf_error err;
    mp_index ix;
    mp_check_heap(prof, "fuzz", &err);
    if (mp_index_build(prof, "fuzz", &ix, &err) == 0) {
        for (size_t t = 0; t < prof->n_sample_types; t++) {
            mp_top top;
            mp_growth g;
            mp_diff d;
            if (mp_top_compute(&ix, t, &top, &err) == 0) mp_top_free(&top);
            if (mp_growth_compute(&ix, t, &g, &err) == 0) mp_growth_free(&g);
            if (mp_diff_compute(&ix, &ix, t, &d, &err) == 0) mp_diff_free(&d);
        }
        mp_index_free(&ix);
    }
    mf_profile_free(prof);
}

/* A reader's entry point: mf_profile_parse, mf_heaptext_parse. */
typedef int (*fuzz_parse_fn)(const uint8_t *data, size_t n, const char *name, mf_profile **out,
                             mf_error *err);

static int fuzz_profile_input(const uint8_t *data, size_t size, fuzz_parse_fn parse)
{
    mf_buf inflated = {0};
    mf_error err;
    const uint8_t *p = data;
    size_t n = size;
    if (mf_is_gzip(data, size)) {
        if (mf_gunzip(data, size, "fuzz", &inflated, &err)) return 0;
        p = inflated.data;
        n = inflated.len;
    }
    mf_profile *prof = NULL;
    if (parse(p, n, "fuzz", &prof, &err) == 0) fuzz_analyze_profile(prof);
    mf_buf_free(&inflated);
    return 0;
}

#endif
