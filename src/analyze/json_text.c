/*
 * src/analyze/json_text.c -- JSON strings from bytes that came from outside.
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

json_t *mp_json_textn(const char *s, size_t n)
{
    if (!s) return json_string("");
    const unsigned char *u = (const unsigned char *)s;
    size_t bad = 0; /* bytes to escape */
    for (size_t i = 0; i < n;) {
        size_t k = mp_utf8_seq(u + i, n - i);
        if (k == 0) bad++, k = 1;
        i += k;
    }
    if (bad == 0) return json_stringn_nocheck(s, n);
    /* each bad byte becomes 4 characters */
    if (bad > (SIZE_MAX - n) / 3) return NULL;
    char *out = malloc(n + 3 * bad);
    if (!out) return NULL;
    static const char hex[] = "0123456789abcdef";
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        size_t k = mp_utf8_seq(u + i, n - i);
        if (k == 0) {
            out[j++] = '\\';
            out[j++] = 'x';
            out[j++] = hex[u[i] >> 4];
            out[j++] = hex[u[i] & 15];
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
