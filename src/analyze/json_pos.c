/* src/analyze/json_pos.c -- see json_pos.h. */
#include "analyze/json_pos.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pos_entry {
    char *path;
    int line;
} pos_entry;

struct mp_json_pos {
    pos_entry *v;
    size_t n, cap;
};

typedef struct frame {
    bool object;
    bool expect_key;
    size_t saved_len; /* the path's length before this container's own name */
    size_t index;     /* arrays: the next element's index */
} frame;

typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static bool buf_append(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return false;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
    return true;
}

static bool record(mp_json_pos *p, const char *path, int line)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 32;
        pos_entry *v = realloc(p->v, cap * sizeof *v);
        if (!v) return false;
        p->v = v;
        p->cap = cap;
    }
    if (!(p->v[p->n].path = strdup(path))) return false;
    p->v[p->n++].line = line;
    return true;
}

static int cmp_entry(const void *a, const void *b)
{
    const pos_entry *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* The scan's state: the containers open around the current point, the
 * path of the innermost one, and the last key read in an object. */
typedef struct scan {
    mp_json_pos *p;
    frame *stack;
    size_t depth, cap;
    buf path, key;
    int key_line;
} scan;

/* A value starts at line: records its path; a container becomes the
 * innermost one. */
static bool value_start(scan *s, int line, bool container, bool object)
{
    size_t saved = s->path.len;
    int at = line;
    if (s->depth) {
        frame *f = &s->stack[s->depth - 1];
        char idx[32];
        if (f->object) {
            if (s->path.len && !buf_append(&s->path, ".", 1)) return false;
            if (!buf_append(&s->path, s->key.s ? s->key.s : "", s->key.len)) return false;
            at = s->key_line;
        } else {
            int n = snprintf(idx, sizeof idx, "[%zu]", f->index++);
            if (!buf_append(&s->path, idx, (size_t)n)) return false;
        }
    } else if (!buf_append(&s->path, "", 0)) {
        return false;
    }
    if (!record(s->p, s->path.s, at)) return false;
    if (!container) {
        s->path.len = saved;
        s->path.s[saved] = 0;
        return true;
    }
    if (s->depth == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        frame *v = realloc(s->stack, cap * sizeof *v);
        if (!v) return false;
        s->stack = v;
        s->cap = cap;
    }
    s->stack[s->depth++] = (frame){.object = object, .expect_key = object, .saved_len = saved};
    return true;
}

mp_json_pos *mp_json_pos_index(const char *t, size_t len)
{
    mp_json_pos *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    scan s = {.p = p};
    int line = 1;
    bool ok = true;
    for (size_t i = 0; i < len && ok;) {
        char c = t[i];
        frame *top = s.depth ? &s.stack[s.depth - 1] : NULL;
        if (c == '\n') {
            line++;
            i++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == ':') {
            i++;
        } else if (c == '{' || c == '[') {
            ok = value_start(&s, line, true, c == '{');
            i++;
        } else if (c == '}' || c == ']') {
            if (top) {
                s.path.len = top->saved_len;
                if (s.path.s) s.path.s[s.path.len] = 0;
                s.depth--;
            }
            i++;
        } else if (c == ',') {
            if (top && top->object) top->expect_key = true;
            i++;
        } else if (c == '"') {
            size_t start = ++i;
            int at = line;
            while (i < len && t[i] != '"') {
                if (t[i] == '\n') line++;
                i += t[i] == '\\' && i + 1 < len ? 2 : 1;
            }
            size_t end = i < len ? i : len;
            i = end + 1;
            if (top && top->object && top->expect_key) {
                s.key.len = 0;
                ok = buf_append(&s.key, t + start, end - start);
                s.key_line = at;
                top->expect_key = false;
            } else {
                ok = value_start(&s, at, false, false);
            }
        } else {
            ok = value_start(&s, line, false, false);
            while (i < len && !strchr(",:{}[]\" \t\r\n", t[i])) i++;
            if (i < len && t[i] == 0) i++; /* a NUL byte: never stop on it */
        }
    }
    free(s.stack);
    free(s.path.s);
    free(s.key.s);
    if (!ok) {
        mp_json_pos_free(p);
        return NULL;
    }
    if (p->n > 1) qsort(p->v, p->n, sizeof *p->v, cmp_entry);
    return p;
}

int mp_json_pos_line(const mp_json_pos *p, const char *path)
{
    size_t lo = 0, hi = p ? p->n : 0;
    while (lo < hi) { /* the first entry of path: the earliest line */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(p->v[mid].path, path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return p && lo < p->n && strcmp(p->v[lo].path, path) == 0 ? p->v[lo].line : 0;
}

void mp_json_pos_free(mp_json_pos *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) free(p->v[i].path);
    free(p->v);
    free(p);
}
