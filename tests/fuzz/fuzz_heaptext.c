/*
 * tests/fuzz/fuzz_heaptext.c -- libFuzzer target for the text heap profile
 * reader: the input goes the way `maproot analyze` takes a text profile,
 * and what the reader builds through every profile analysis
 * (fuzz_profile.h). Built with meson -Dfuzz=true (clang); run with
 * scripts/fuzz. Seed corpus: testdata/fuzz/heaptext/.
 */
#include "format/heaptext.h"
#include "fuzz_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_profile_input(data, size, mf_heaptext_parse);
}
