/*
 * tests/fuzz/fuzz_pprof.c -- libFuzzer target for the profile reader.
 *
 * Feeds the input to the same path `maproot analyze` takes: gzip is inflated
 * when the magic says so, then the profile is parsed; a profile that parses is
 * indexed and analyzed for every sample type (top, map growth) and diffed
 * against itself (fuzz_profile.h), so the consistency the reader promises is
 * exercised by the code that relies on it. Built with meson -Dfuzz=true
 * (clang); run with scripts/fuzz. Seed corpus: testdata/fuzz/pprof/.
 */
#include "format/pprof.h"
#include "fuzz_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_profile_input(data, size, mf_profile_parse);
}
