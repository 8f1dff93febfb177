/*
 * src/analyze/display_path.c -- the display form of file names (see
 * display_path.h).
 */
#include "analyze/display_path.h"

#include "format/names.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The trim prefixes, cleaned, without a trailing slash ("/" stays "/");
 * `set` is false until the first use or mp_display_path_trim. */
static struct {
    char **v;
    size_t n;
    bool set;
} trim;

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Appends a cleaned copy of the absolute directory [s, s+len) to *v. */
static int add_prefix(char ***v, size_t *n, const char *s, size_t len)
{
    if (len == 0 || s[0] != '/') return 0;
    char *p = malloc(len + 1);
    char **nv = realloc(*v, (*n + 1) * sizeof **v);
    if (!p || !nv) {
        free(p);
        if (nv) *v = nv;
        return -1;
    }
    memcpy(p, s, len);
    p[len] = 0;
    mf_path_clean(p);
    *v = nv;
    (*v)[(*n)++] = p;
    return 0;
}

int mp_display_path_trim(const char *prefixes)
{
    char **v = NULL;
    size_t n = 0;
    if (!prefixes) {
        char *cwd = getcwd(NULL, 0);
        int rc = cwd ? add_prefix(&v, &n, cwd, strlen(cwd)) : 0;
        free(cwd);
        if (rc) {
            free_list(v, n);
            return -1;
        }
    } else {
        for (const char *s = prefixes;;) {
            size_t len = strcspn(s, ":");
            if (add_prefix(&v, &n, s, len)) {
                free_list(v, n);
                return -1;
            }
            if (!s[len]) break;
            s += len + 1;
        }
    }
    free_list(trim.v, trim.n);
    trim.v = v;
    trim.n = n;
    trim.set = true;
    return 0;
}

/* The part of the cleaned absolute path p after prefix, or NULL when p
 * does not lie under it. The prefix itself is no file: it is not trimmed
 * to nothing. */
static const char *under(const char *p, const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 1) return p[1] ? p + 1 : NULL; /* "/" */
    if (strncmp(p, prefix, n) != 0 || p[n] != '/' || !p[n + 1]) return NULL;
    return p + n + 1;
}

/*
 * A relative name that climbed out of its build directory ("../" removed)
 * goes on down into a directory the build directory lies beside or under,
 * and nothing records which. When it goes on down through the last
 * components of a trim prefix ("work/main/tests/a.c", "main/tests/a.c" for
 * the prefix "/work/main": a build directory at /tmp/b or /work/main-build),
 * it is taken to be under that prefix, and the part after them is shown.
 * The longest such tail of the first prefix that has one wins; the rest
 * must not be empty. Returns rest (past the tail) or rest itself.
 */
static const char *past_prefix_tail(const char *rest)
{
    for (size_t i = 0; i < trim.n; i++) {
        const char *p = trim.v[i];
        for (const char *slash = strchr(p, '/'); slash && slash[1]; slash = strchr(slash + 1, '/')) {
            const char *tail = slash + 1;
            size_t n = strlen(tail);
            if (strncmp(rest, tail, n) == 0 && rest[n] == '/' && rest[n + 1]) return rest + n + 1;
        }
    }
    return rest;
}

const char *mp_display_path(const char *path, char *buf, size_t size)
{
    buf[0] = 0;
    if (!path || !*path) return buf;
    if (!trim.set && mp_display_path_trim(NULL) != 0) trim.set = true; /* none, then */
    char *c = strdup(path);
    if (!c) {
        snprintf(buf, size, "%s", path);
        return buf;
    }
    mf_path_clean(c);
    const char *show = c;
    if (c[0] == '/') {
        static const char bazel[] = "/proc/self/cwd/";
        if (strncmp(c, bazel, sizeof bazel - 1) == 0 && c[sizeof bazel - 1])
            show = c + sizeof bazel - 1;
        for (size_t i = 0; i < trim.n && show == c; i++) {
            const char *rest = under(c, trim.v[i]);
            if (rest) show = rest;
        }
    } else {
        bool climbed = false;
        while (show[0] == '.' && show[1] == '.' && show[2] == '/') {
            show += 3;
            climbed = true;
        }
        if (climbed) show = past_prefix_tail(show);
    }
    size_t n = strlen(show);
    if (n < size)
        memcpy(buf, show, n + 1);
    else if (size > 4)
        snprintf(buf, size, "...%s", show + n - (size - 4));
    else
        snprintf(buf, size, "%s", show + n - (size - 1));
    free(c);
    return buf;
}
