/*
 * src/analyze/json_text.h -- JSON strings from bytes that came from outside.
 *
 * Names in a snapshot or a profile (globals, pin labels, functions, files,
 * type names, map keys) are bytes the program chose: nothing makes them
 * UTF-8, and a JSON string must be. jansson refuses such bytes (json_string
 * returns NULL), and a NULL handed to json_object_set_new drops the field
 * without a word. These make a string of any bytes instead: valid UTF-8
 * sequences as they are, and every byte that is not part of one as the four
 * characters \xNN (backslash, x, two lower-case hex digits), the way
 * Python's "backslashreplace" writes them. A string that was valid UTF-8
 * comes out unchanged.
 *
 * Memory: the caller owns the reference returned (as with json_string).
 * Errors: NULL only when out of memory.
 */
#ifndef MP_JSON_TEXT_H
#define MP_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

/* s may be NULL (""). */
json_t *mp_json_text(const char *s);
/* n bytes of s; a NUL byte is kept (JSON writes it \u0000). */
json_t *mp_json_textn(const char *s, size_t n);

/* The length of the valid UTF-8 sequence at s (of at most n bytes): 1 to 4,
 * or 0 when the bytes there are not one (overlong forms, surrogates and
 * code points past U+10FFFF are not). */
size_t mp_utf8_seq(const unsigned char *s, size_t n);

#endif
