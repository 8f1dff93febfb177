/*
 * tests/fuzz/fuzz_json_text.c -- libFuzzer target for the JSON strings made
 * of outside bytes (src/analyze/json_text.c): any bytes must give a string
 * jansson writes, byte for byte the input when that was UTF-8, and with
 * each other byte as the character of its number (U+0080..U+00FF), with a
 * _hex sibling then that gives the bytes back; and any display form of a
 * key must give key fields. Built with meson -Dfuzz=true (clang); run with
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
    /* input and output agree: valid sequences copied, a bad byte b as the
     * two bytes of U+00bb */
    const char *out = json_string_value(v);
    size_t olen = json_string_length(v), j = 0;
    for (size_t i = 0; i < size;) {
        size_t k = mp_utf8_seq(data + i, size - i);
        if (k) {
            if (j + k > olen || memcmp(out + j, data + i, k) != 0) abort();
            i += k, j += k;
        } else {
            unsigned char b = data[i];
            if (j + 2 > olen || (unsigned char)out[j] != (0xC0 | b >> 6) ||
                (unsigned char)out[j + 1] != (0x80 | (b & 0x3F)))
                abort();
            i += 1, j += 2;
        }
    }
    if (j != olen) abort();
    /* the _hex sibling, present exactly when the string is not the bytes */
    json_t *o = json_object();
    if (!o || mp_json_set_textn(o, "s", (const char *)data, size)) abort();
    const char *hex = json_string_value(json_object_get(o, "s_hex"));
    if ((hex != NULL) == mp_json_text_exact((const char *)data, size)) abort();
    for (size_t i = 0; hex && i < size; i++) {
        static const char digits[] = "0123456789abcdef";
        if (hex[2 * i] != digits[data[i] >> 4] || hex[2 * i + 1] != digits[data[i] & 15]) abort();
    }
    /* a key of any display form (up to the first NUL) */
    char *display = malloc(size + 1);
    if (!display) abort();
    memcpy(display, data, size);
    display[size] = 0;
    if (mp_json_set_key(o, display) || !json_object_get(o, "key") ||
        !json_is_boolean(json_object_get(o, "key_truncated")))
        abort();
    free(display);
    json_decref(o);
    json_decref(back);
    free(dumped);
    json_decref(v);
    return 0;
}
