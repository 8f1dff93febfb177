/*
 * src/analyze/json_text.h -- what every JSON report of maproot shares: its
 * header, and one rule for the strings that came from outside.
 *
 * Header. Every report is one object that starts with "schema_version"
 * (MP_JSON_SCHEMA_VERSION: raised when a field changes meaning or goes
 * away; fields may be added within a version) and "report", its kind
 * ("snapshot_analysis", "profile_analysis", "snapshot_summary",
 * "snapshot_diff", "profile_diff"). Its schema is doc/schema/REPORT.schema.json.
 *
 * Strings. Names in a snapshot, a dump or a profile (globals, pin labels,
 * functions, files, types, map keys), and file names given on the command
 * line, are bytes: nothing makes them UTF-8, and a JSON string must be.
 * The rule, everywhere: a string field holds the bytes as they are where
 * they are valid UTF-8, and each byte that is not part of a valid UTF-8
 * sequence as the character of the same number (U+0080 to U+00FF: byte
 * 0xff is "\u00ff"); and when that happened, and only then, a sibling field
 * of the same name plus "_hex" holds every byte of the original in hex
 * ("name_hex": "6361636865c328"). A field without its _hex sibling is the
 * bytes exactly. (jansson refuses bytes that are not UTF-8: json_string
 * returns NULL, and json_object_set_new drops the field without a word;
 * these never fail but for memory.)
 *
 * Keys. A map entry's key is data and display apart (mp_json_set_key):
 * "key" the key itself (a string key's bytes, by the rule above; an
 * integer key's decimal digits; a pointer key's or another key's bytes in
 * hex, "0x..."), null when the input does not hold the key's bytes;
 * "key_display" the key as the text report shows it (strings quoted and
 * escaped; a key cut short ends in "... (N bytes, #H)", its length and
 * digest, which tell apart keys alike in their first bytes);
 * "key_truncated" true when the input kept only the key's first bytes (64
 * of a longer string key), which "key" then holds.
 *
 * Memory: the caller owns the references returned (as with json_string).
 * Errors: NULL or -1 only when out of memory.
 */
#ifndef MP_JSON_TEXT_H
#define MP_JSON_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MP_JSON_SCHEMA_VERSION 1

/* A new report object: {"schema_version": MP_JSON_SCHEMA_VERSION,
 * "report": kind}. */
json_t *mp_json_report(const char *kind);

/* The string of n bytes of s by the rule (a NUL byte is kept: \u0000);
 * s may be NULL (""). */
json_t *mp_json_textn(const char *s, size_t n);
json_t *mp_json_text(const char *s);
/* Whether n bytes are valid UTF-8 (their string is then exactly them). */
bool mp_json_text_exact(const char *s, size_t n);
/* n bytes in lower-case hex ("" for none). */
json_t *mp_json_hex(const char *s, size_t n);

/* obj[field] = the string of s by the rule, and obj[field + "_hex"] when s
 * is not valid UTF-8. s may be NULL (""). */
int mp_json_set_text(json_t *obj, const char *field, const char *s);
int mp_json_set_textn(json_t *obj, const char *field, const char *s, size_t n);

/* The key fields of an entry from its display form (as maproot renders
 * keys: see mr_map_render_key): key (and key_hex), key_display (and
 * key_display_hex), key_truncated. */
int mp_json_set_key(json_t *obj, const char *display);

/* A key's bytes from its display form, into out (at least strlen(display)
 * + 1 bytes): the length, with *truncated set when the display ends in a
 * cut mark ("...", or "... (N bytes, #H)", which also ends a struct, array
 * or interface key's rendering cut for length: key is then the text before
 * it); SIZE_MAX when the display holds no bytes of the key ("?",
 * "(string of N bytes at 0x...)"). A quoted string is unescaped (\" \\ \n
 * \t \r \xNN); a display that is not one of maproot's forms is its own
 * bytes. */
size_t mp_key_bytes(const char *display, char *out, bool *truncated);

/* The length of the valid UTF-8 sequence at s (of at most n bytes): 1 to 4,
 * or 0 when the bytes there are not one (overlong forms, surrogates and
 * code points past U+10FFFF are not). */
size_t mp_utf8_seq(const unsigned char *s, size_t n);

#endif
