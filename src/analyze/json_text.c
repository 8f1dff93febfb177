/*
 * src/analyze/json_text.c -- the header of every JSON report, and strings
 * and keys from bytes that came from outside (see json_text.h).
 */
#include "analyze/json_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3629's table: the second byte's range depends on the first (that is
 * what rules out overlong forms, surrogates and code points past U+10FFFF);
 * later bytes are 0x80..0xBF. */
size_t mp_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0) return 0;
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c == 0xE0)
        len = 3, lo = 0xA0;
    else if (c == 0xED)
        len = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF)
        len = 3;
    else if (c == 0xF0)
        len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        len = 4;
    else if (c == 0xF4)
        len = 4, hi = 0x8F;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

bool mp_json_text_exact(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; s && i < n;) {
        size_t k = mp_utf8_seq(u + i, n - i);
        if (k == 0) return false;
        i += k;
    }
    return true;
}

/* Each byte that is not part of a valid sequence becomes the character of
 * its number, U+0080..U+00FF (two bytes of UTF-8: 0xC2 or 0xC3, then the
 * low six bits). Only bytes 0x80 and up can be invalid. */
json_t *mp_json_textn(const char *s, size_t n)
{
    if (!s) return json_string("");
    if (mp_json_text_exact(s, n)) return json_stringn_nocheck(s, n);
    const unsigned char *u = (const unsigned char *)s;
    if (n > SIZE_MAX / 2) return NULL;
    char *out = malloc(2 * n + 1);
    if (!out) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        size_t k = mp_utf8_seq(u + i, n - i);
        if (k == 0) {
            out[j++] = (char)(0xC0 | u[i] >> 6);
            out[j++] = (char)(0x80 | (u[i] & 0x3F));
            i++;
        } else {
            memcpy(out + j, s + i, k);
            j += k;
            i += k;
        }
    }
    json_t *v = json_stringn_nocheck(out, j);
    free(out);
    return v;
}

json_t *mp_json_text(const char *s)
{
    return mp_json_textn(s, s ? strlen(s) : 0);
}

json_t *mp_json_hex(const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (n > (SIZE_MAX - 1) / 2) return NULL;
    char *out = malloc(2 * n + 1);
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[u[i] >> 4];
        out[2 * i + 1] = hex[u[i] & 15];
    }
    json_t *v = json_stringn_nocheck(out, 2 * n);
    free(out);
    return v;
}

/* Steals v into obj[field]; -1 when v is NULL or the set fails. */
static int put(json_t *obj, const char *field, json_t *v)
{
    return v && json_object_set_new(obj, field, v) == 0 ? 0 : -1;
}

int mp_json_set_textn(json_t *obj, const char *field, const char *s, size_t n)
{
    if (!s) s = "", n = 0;
    if (put(obj, field, mp_json_textn(s, n))) return -1;
    if (mp_json_text_exact(s, n)) return 0;
    size_t len = strlen(field);
    char *hexname = malloc(len + sizeof "_hex");
    if (!hexname) return -1;
    memcpy(hexname, field, len);
    memcpy(hexname + len, "_hex", sizeof "_hex");
    int rc = put(obj, hexname, mp_json_hex(s, n));
    free(hexname);
    return rc;
}

int mp_json_set_text(json_t *obj, const char *field, const char *s)
{
    return mp_json_set_textn(obj, field, s, s ? strlen(s) : 0);
}

json_t *mp_json_report(const char *kind)
{
    return json_pack("{s:i, s:s}", "schema_version", MP_JSON_SCHEMA_VERSION, "report", kind);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Whether p is what ends a key cut short: "...", then nothing (older
 * snapshots) or " (N bytes, #H)", H 16 hex digits (mr_map_render_key). */
static bool cut_mark(const char *p)
{
    if (strncmp(p, "...", 3) != 0) return false;
    p += 3;
    if (!*p) return true;
    if (strncmp(p, " (", 2) != 0 || !(*(p += 2) >= '0' && *p <= '9')) return false;
    while (*p >= '0' && *p <= '9') p++;
    if (strncmp(p, " bytes, #", 9) != 0) return false;
    p += 9;
    for (int i = 0; i < 16; i++, p++)
        if (!*p || hexval(*p) < 0) return false;
    return strcmp(p, ")") == 0;
}

/* A quoted string key: its bytes into out, or SIZE_MAX when d is not one
 * of maproot's quoted forms ("...", then nothing or a cut mark). */
static size_t unquote(const char *d, char *out, bool *truncated)
{
    size_t j = 0;
    const char *p = d + 1;
    for (;; p++) {
        if (!*p) return SIZE_MAX; /* no closing quote */
        if (*p == '"') break;
        if (*p != '\\') {
            out[j++] = *p;
            continue;
        }
        switch (*++p) {
        case '"':
        case '\\':
            out[j++] = *p;
            break;
        case 'n':
            out[j++] = '\n';
            break;
        case 't':
            out[j++] = '\t';
            break;
        case 'r':
            out[j++] = '\r';
            break;
        case 'x': {
            int hi = p[1] ? hexval(p[1]) : -1, lo = hi >= 0 && p[2] ? hexval(p[2]) : -1;
            if (lo < 0) return SIZE_MAX;
            out[j++] = (char)(hi << 4 | lo);
            p += 2;
            break;
        }
        default:
            return SIZE_MAX;
        }
    }
    p++;
    if (cut_mark(p))
        *truncated = true;
    else if (*p)
        return SIZE_MAX;
    return j;
}

size_t mp_key_bytes(const char *d, char *out, bool *truncated)
{
    *truncated = false;
    size_t n = strlen(d);
    if (d[0] == '"') {
        size_t k = unquote(d, out, truncated);
        if (k != SIZE_MAX) return k;
        *truncated = false;
    } else if (strcmp(d, "?") == 0 || strncmp(d, "(string of ", 11) == 0) {
        return SIZE_MAX;
    } else if (strcmp(d, "-") == 0) { /* a key of no bytes (struct{}) */
        return 0;
    } else if (n > 5 && strncmp(d, "0x", 2) == 0 && strstr(d, "...") &&
               cut_mark(strstr(d, "..."))) {
        *truncated = true;
        n = (size_t)(strstr(d, "...") - d);
    } else {
        /* a rendering cut for length (a struct or array key shown field by
         * field, an interface): the text before its mark, which carries the
         * key's length and digest (the bare "..." is a hex key's alone) */
        const char *mark = NULL;
        for (const char *p = strstr(d, "... ("); p; p = strstr(p + 1, "... (")) mark = p;
        if (mark && mark > d && cut_mark(mark)) {
            *truncated = true;
            n = (size_t)(mark - d);
        }
    }
    memcpy(out, d, n);
    return n;
}

int mp_json_set_key(json_t *obj, const char *display)
{
    if (!display) display = "";
    char *bytes = malloc(strlen(display) + 1);
    if (!bytes) return -1;
    bool truncated;
    size_t n = mp_key_bytes(display, bytes, &truncated);
    int rc = n == SIZE_MAX ? put(obj, "key", json_null()) : mp_json_set_textn(obj, "key", bytes, n);
    free(bytes);
    rc |= mp_json_set_text(obj, "key_display", display);
    rc |= put(obj, "key_truncated", json_boolean(truncated));
    return rc ? -1 : 0;
}
