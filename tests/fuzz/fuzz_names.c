/*
 * tests/fuzz/fuzz_names.c -- libFuzzer target for file and function name
 * handling: mf_path_clean, mf_function_name_clean (src/format/names.c) and
 * mp_display_path (src/analyze/display_path.c), on names as any producer
 * may write them.
 *
 * The input is "TRIM\nNAME" (no newline: NAME alone, default prefixes); its
 * first byte also picks the size of the display buffer. Each function works
 * on an exact-size copy (ASan sees any access past the end), and what each
 * promises is checked, aborting when broken:
 *   - a cleaned path is no longer than the input, empty only if it was,
 *     absolute iff the input
 *     was, has no empty, "." or (absolute) ".." component, ".." only at the
 *     start, and cleaning it again changes nothing;
 *   - a cleaned function name is a non-empty prefix of the input (or the
 *     input itself) and cleaning it again changes nothing;
 *   - a display form is NUL-terminated inside its buffer and a relative one
 *     does not start with "../".
 * Built with meson -Dfuzz=true (clang); run with scripts/fuzz. Seed corpus:
 * testdata/fuzz/names/.
 */
#include "analyze/display_path.h"
#include "format/names.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MUST(c)                                                                                    \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

static char *copy(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static void check_path(const char *in)
{
    size_t n = strlen(in);
    char *c = malloc(n + 1);
    if (!c) return;
    memcpy(c, in, n + 1);
    mf_path_clean(c);
    size_t m = strlen(c);
    MUST(m <= n);
    MUST((c[0] == '/') == (in[0] == '/'));
    MUST(m > 0 || n == 0);
    bool leading = c[0] != '/';
    for (const char *r = c[0] == '/' ? c + 1 : c; *r;) {
        size_t len = strcspn(r, "/");
        MUST(len > 0 || (c[0] == '/' && m == 1));
        if (len == 1 && r[0] == '.') MUST(m == 1); /* "." alone */
        if (len == 2 && r[0] == '.' && r[1] == '.')
            MUST(leading);
        else
            leading = false;
        r += len;
        if (*r == '/') {
            r++;
            MUST(*r); /* no trailing slash */
        }
    }
    char *again = strdup(c);
    if (again) {
        mf_path_clean(again);
        MUST(strcmp(again, c) == 0);
        free(again);
    }
    free(c);
}

static void check_function(const char *in)
{
    char *c = strdup(in);
    if (!c) return;
    bool cut = mf_function_name_clean(c);
    size_t m = strlen(c);
    MUST(strncmp(c, in, m) == 0);
    MUST(cut == (m != strlen(in)));
    if (cut) MUST(m > 0);
    MUST(!mf_function_name_clean(c));
    free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    size_t bufsize = 1 + data[0] % 96;
    const uint8_t *nl = memchr(data, '\n', size);
    char *trim = nl ? copy(data, (size_t)(nl - data)) : NULL;
    const uint8_t *name_p = nl ? nl + 1 : data;
    char *name = copy(name_p, size - (size_t)(name_p - data));
    if (!name || (nl && !trim)) goto out;
    /* names are C strings: what follows a NUL is not part of them */
    check_path(name);
    check_function(name);
    mp_display_path_trim(nl ? trim : NULL);
    char *buf = malloc(bufsize);
    if (buf) {
        mp_display_path(name, buf, bufsize);
        MUST(memchr(buf, 0, bufsize) != NULL);
        if (buf[0] != '/' && strlen(buf) + 1 < bufsize) MUST(strncmp(buf, "../", 3) != 0);
        free(buf);
    }
out:
    free(trim);
    free(name);
    return 0;
}
