/*
 * src/format/names.c -- cleaning of file and function names (see names.h).
 */

#include "format/names.h"

#include <string.h>

/*
 * One pass over the components with a read pointer r and a write pointer w.
 * Invariant: w <= r, and when anything has been written, w < r (a separator
 * was read after the last component written), so the separator written
 * before the next component never overtakes the unread input and the copy of
 * the component only moves it towards the start (memmove: they may overlap).
 */
void mf_path_clean(char *path)
{
    if (!path[0]) return; /* "" has no room for "." */
    bool abs = path[0] == '/';
    char *out = path + (abs ? 1 : 0);
    char *w = out;
    const char *r = out;
    size_t popable = 0; /* components written that a ".." may remove */
    for (;;) {
        while (*r == '/') r++;
        if (!*r) break;
        size_t n = strcspn(r, "/");
        if (n == 1 && r[0] == '.') {
            /* skip */
        } else if (n == 2 && r[0] == '.' && r[1] == '.') {
            if (popable > 0) {
                while (w > out && w[-1] != '/') w--;
                if (w > out) w--; /* the separator before it */
                popable--;
            } else if (!abs) {
                if (w > out) *w++ = '/';
                w[0] = w[1] = '.'; /* r already holds ".." here, at or after w */
                w += 2;
            }
        } else {
            if (w > out) *w++ = '/';
            memmove(w, r, n);
            w += n;
            popable++;
        }
        r += n;
    }
    if (w == out && !abs) *w++ = '.';
    *w = 0;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Is [s, s+n) one of the compilers' clone markers? */
static bool clone_word(const char *s, size_t n)
{
    static const char *const words[] = {"constprop",  "isra",  "part", "cold",       "lto_priv",
                                        "localalias", "clone", "llvm", "specialized"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strlen(words[i]) == n && memcmp(words[i], s, n) == 0) return true;
    return false;
}

/* Cuts one ".word" or ".word.N" off the end; the name keeps at least one
 * byte before it. */
bool mf_function_name_clean(char *name)
{
    bool cut = false;
    size_t len = strlen(name);
    for (;;) {
        char *dot = memrchr(name, '.', len);
        if (!dot || dot == name) break;
        size_t tail = len - (size_t)(dot - name) - 1;
        char *word = dot;
        size_t wlen = tail;
        if (all_digits(dot + 1, tail)) {
            /* ".N": the word is the segment before it */
            char *prev = memrchr(name, '.', (size_t)(dot - name));
            if (!prev || prev == name) break;
            word = prev;
            wlen = (size_t)(dot - prev) - 1;
        }
        if (!clone_word(word + 1, wlen)) break;
        *word = 0;
        len = (size_t)(word - name);
        cut = true;
    }
    return cut;
}

int mf_text_cmp_natural(const char *a, const char *b)
{
    while (*a && *b) {
        bool da = *a >= '0' && *a <= '9', db = *b >= '0' && *b <= '9';
        if (da && db) {
            while (*a == '0' && a[1] >= '0' && a[1] <= '9') a++;
            while (*b == '0' && b[1] >= '0' && b[1] <= '9') b++;
            size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
            if (na != nb) return na < nb ? -1 : 1;
            int c = strncmp(a, b, na);
            if (c) return c;
            a += na;
            b += nb;
            continue;
        }
        if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

const char *mf_path_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}
