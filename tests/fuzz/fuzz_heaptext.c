/*
 * tests/fuzz/fuzz_heaptext.c -- libFuzzer target for the text heap profile
 * reader.
 *
 * Feeds the input to the path `maproot analyze` takes for a text profile:
 * gzip is inflated when the magic says so, then the text is parsed; a
 * profile that comes back is indexed and analyzed for every sample type
 * (top, map growth, a diff against itself), so the model the reader builds
 * is exercised by the code that relies on it. Built with meson -Dfuzz=true
 * (clang); run with scripts/fuzz. Seed corpus: testdata/fuzz/heaptext/.
 */
#include "analyze/profile.h"
#include "format/gz.h"
#include "format/heaptext.h"

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
    if (mf_heaptext_parse(p, n, "fuzz", &prof, &err) == 0) {
        mp_index ix;
        if (mp_check_heap(prof, "fuzz", &err)) abort(); /* it always is one */
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
