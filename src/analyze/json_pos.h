/*
 * src/analyze/json_pos.h -- where each value of a JSON text is, by path, so
 * that a check of a document jansson has parsed (jansson keeps no
 * positions) can name the line of what it refuses.
 *
 * Paths: "" is the top value; an object member is "PARENT.KEY" ("KEY" at
 * the top), an array element "PARENT[I]" (I from 0). A member's line is
 * the line of its key, where a person looks for it; an element's the line
 * where it starts. Keys are taken as written between their quotes (escape
 * sequences are not decoded: such a key is not found, and its line is 0).
 *
 * The scan is one pass with an explicit stack (no recursion, whatever the
 * nesting); it never fails on malformed text (it is meant for text that
 * jansson accepted) and never reads past len.
 *
 * Memory: the index owns its paths (mp_json_pos_free).
 */
#ifndef MP_JSON_POS_H
#define MP_JSON_POS_H

#include <stddef.h>

typedef struct mp_json_pos mp_json_pos;

/* Indexes text[0 .. len); NULL when out of memory. */
mp_json_pos *mp_json_pos_index(const char *text, size_t len);
/* The line (from 1) of the value at path, or 0 when there is none. */
int mp_json_pos_line(const mp_json_pos *p, const char *path);
void mp_json_pos_free(mp_json_pos *p);

#endif
