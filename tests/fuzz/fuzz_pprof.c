/*
 * tests/fuzz/fuzz_pprof.c -- libFuzzer target for the profile reader.
 *
 * Feeds the input to the same path `maproot analyze` takes: gzip is inflated
 * when the magic says so, then the profile is parsed; a profile that parses is
 * indexed and analyzed for every sample type (top, map growth) and diffed
 * against itself, so the consistency the reader promises is exercised by the
 * code that relies on it. Built with meson -Dfuzz=true (clang); run with
 * scripts/fuzz. Seed corpus: testdata/fuzz/pprof/.
 */
#include "analyze/profile.h"
#include "format/gz.h"
#include "format/pprof.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
    if (mf_profile_parse(p, n, "fuzz", &prof, &err) == 0) {
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
    mf_buf_free(&inflated);
    return 0;
}
