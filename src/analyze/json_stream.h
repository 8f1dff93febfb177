/*
 * src/analyze/json_stream.h -- a JSON report written as it is produced.
 *
 * A report whose arrays are long (a snapshot's maps and suspects) would
 * take many times its own size in memory as one jansson tree. Here the
 * report's outer object and its long arrays are written piece by piece,
 * each element a small tree dumped and freed at once, and the text is the
 * very text jansson writes for the whole tree with JSON_INDENT(2) |
 * JSON_PRESERVE_ORDER: members and elements each on a line, indented two
 * spaces a level, ", " never, ": " after a key; "[]" and "{}" when empty;
 * one newline after the last brace.
 *
 * Errors: every call after a failure (out of memory building a value, a
 * value that cannot be dumped) does nothing; mp_js_end says whether one
 * happened. A write error is the stream's (ferror), as with fprintf.
 * Nesting: objects and arrays up to MP_JS_MAX_DEPTH deep.
 */
#ifndef MP_JSON_STREAM_H
#define MP_JSON_STREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define MP_JS_MAX_DEPTH 8

typedef struct mp_jstream {
    FILE *out;
    int depth;                   /* containers open */
    bool empty[MP_JS_MAX_DEPTH]; /* nothing written yet into each */
    char close[MP_JS_MAX_DEPTH]; /* '}' or ']' */
    bool failed;
} mp_jstream;

/* Begins the report's outer object on out. */
void mp_js_begin(mp_jstream *js, FILE *out);
/* Closes what is open, and the newline: 0, or -1 if any call failed. */
int mp_js_end(mp_jstream *js);

/* A member of the open object: key and v (taken over; NULL is a failure,
 * as a constructor out of memory returns). */
void mp_js_member(mp_jstream *js, const char *key, json_t *v);
/* A member of the open object whose value is an array written element
 * by element (mp_js_element), until mp_js_close. */
void mp_js_open_array(mp_jstream *js, const char *key);
/* An element of the open array (v taken over; NULL is a failure). */
void mp_js_element(mp_jstream *js, json_t *v);
/* An element of the open array that is an object written member by member
 * (mp_js_member, mp_js_open_array), until mp_js_close: for an element
 * that holds a long array itself. */
void mp_js_open_object(mp_jstream *js);
/* Closes the innermost open array or object. */
void mp_js_close(mp_jstream *js);

#endif
