/*
 * tests/fuzz/fuzz_json_text.c -- libFuzzer target for the JSON strings made
 * of outside bytes (src/analyze/json_text.c): any bytes must give a string
 * jansson writes, byte for byte the input when that was UTF-8, and with
 * each other byte as \xNN. Built with meson -Dfuzz=true (clang); run with
 * scripts/fuzz. Seed corpus: testdata/fuzz/json_text/.
 */
#include "analyze/json_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = mp_json_textn((const char *)data, size);
    if (!v || !json_is_string(v)) abort();
    char *dumped = json_dumps(v, JSON_ENCODE_ANY);
    if (!dumped) abort();
    /* the escaped text read back is the same string */
    json_error_t jerr;
    json_t *back = json_loads(dumped, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!back || !json_equal(back, v)) abort();
    /* input and output agree: valid sequences copied, bad bytes 4 for 1 */
    const char *out = json_string_value(v);
    size_t olen = json_string_length(v), j = 0;
    for (size_t i = 0; i < size;) {
        size_t k = mp_utf8_seq(data + i, size - i);
        if (k) {
            if (j + k > olen || memcmp(out + j, data + i, k) != 0) abort();
            i += k, j += k;
        } else {
            if (j + 4 > olen || out[j] != '\\' || out[j + 1] != 'x') abort();
            i += 1, j += 4;
        }
    }
    if (j != olen) abort();
    json_decref(back);
    free(dumped);
    json_decref(v);
    return 0;
}
