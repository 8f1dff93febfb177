/*
 * src/analyze/json_stream.c -- see json_stream.h.
 *
 * Invariant: js->depth containers are open, the innermost last; each has
 * had a member or element written unless empty[] says so. A value dumped
 * whole (a member's or an element's) is indented by jansson as if it stood
 * alone; its every line but the first is then moved right by the indent
 * of the level it stands at, which is what jansson would have written for
 * it inside the whole tree (its strings hold no raw newline: JSON escapes
 * them).
 */
#include "analyze/json_stream.h"

#include <assert.h>
#include <string.h>

enum { INDENT = 2, FLAGS = JSON_INDENT(INDENT) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY };

/* The indent of the deepest level, written from here rather than with a
 * format: a report of every entry has one on each of its lines. */
static const char spaces[] = "                ";
_Static_assert(sizeof spaces - 1 >= MP_JS_MAX_DEPTH * INDENT, "a row of spaces for every level");

static void indent(FILE *out, int level)
{
    assert(level >= 0 && level <= MP_JS_MAX_DEPTH);
    fwrite(spaces, 1, (size_t)level * INDENT, out);
}

/* The start of a member or element in the innermost container: the comma
 * after the one before, a new line, the indent of its level. */
static void next_item(mp_jstream *js)
{
    assert(js->depth > 0);
    if (!js->empty[js->depth - 1]) fputc(',', js->out);
    js->empty[js->depth - 1] = false;
    fputc('\n', js->out);
    indent(js->out, js->depth);
}

/* What json_dump_callback hands over comes in pieces of a token or two;
 * it is gathered here, each new line indented, and written in large
 * pieces: a report of every entry is mostly such values. */
typedef struct shifted {
    FILE *out;
    int level;
    size_t len;
    char buf[16384];
} shifted;

static void flush_shifted(shifted *s)
{
    fwrite(s->buf, 1, s->len, s->out);
    s->len = 0;
}

static void put_shifted(shifted *s, const char *p, size_t n)
{
    if (n > sizeof s->buf - s->len) flush_shifted(s);
    if (n >= sizeof s->buf) {
        fwrite(p, 1, n, s->out);
        return;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

/* json_dump_callback's writer: the text with each new line indented. */
static int write_shifted(const char *buf, size_t n, void *ud)
{
    shifted *s = ud;
    while (n) {
        const char *nl = memchr(buf, '\n', n);
        size_t k = nl ? (size_t)(nl - buf) + 1 : n;
        put_shifted(s, buf, k);
        if (nl) put_shifted(s, spaces, (size_t)s->level * INDENT);
        buf += k;
        n -= k;
    }
    return 0;
}

/* v dumped at the innermost container's level of indent; v released. */
static void put_value(mp_jstream *js, json_t *v)
{
    shifted s;
    s.out = js->out;
    s.level = js->depth;
    s.len = 0;
    assert(s.level <= MP_JS_MAX_DEPTH);
    if (json_dump_callback(v, write_shifted, &s, FLAGS) != 0) js->failed = true;
    flush_shifted(&s);
    json_decref(v);
}

/* "key": as jansson writes a key (escaped as any string). */
static bool put_key(mp_jstream *js, const char *key)
{
    json_t *k = json_string(key);
    if (!k) return false;
    next_item(js);
    put_value(js, k);
    fputs(": ", js->out);
    return true;
}

static void open_container(mp_jstream *js, char open, char close)
{
    if (js->depth >= MP_JS_MAX_DEPTH) {
        js->failed = true;
        return;
    }
    fputc(open, js->out);
    js->empty[js->depth] = true;
    js->close[js->depth] = close;
    js->depth++;
}

void mp_js_begin(mp_jstream *js, FILE *out)
{
    memset(js, 0, sizeof *js);
    js->out = out;
    open_container(js, '{', '}');
}

void mp_js_member(mp_jstream *js, const char *key, json_t *v)
{
    if (js->failed || !v || !put_key(js, key)) {
        js->failed = true;
        json_decref(v);
        return;
    }
    assert(js->close[js->depth - 1] == '}');
    put_value(js, v);
}

void mp_js_open_array(mp_jstream *js, const char *key)
{
    if (js->failed || !put_key(js, key)) {
        js->failed = true;
        return;
    }
    open_container(js, '[', ']');
}

void mp_js_element(mp_jstream *js, json_t *v)
{
    if (js->failed || !v) {
        js->failed = true;
        json_decref(v);
        return;
    }
    assert(js->close[js->depth - 1] == ']');
    next_item(js);
    put_value(js, v);
}

void mp_js_open_object(mp_jstream *js)
{
    if (js->failed) return;
    assert(js->close[js->depth - 1] == ']');
    next_item(js);
    open_container(js, '{', '}');
}

void mp_js_close(mp_jstream *js)
{
    if (js->failed) return;
    assert(js->depth > 0);
    js->depth--;
    if (!js->empty[js->depth]) {
        fputc('\n', js->out);
        indent(js->out, js->depth);
    }
    fputc(js->close[js->depth], js->out);
}

int mp_js_end(mp_jstream *js)
{
    while (!js->failed && js->depth > 0) mp_js_close(js);
    if (js->failed) return -1;
    fputc('\n', js->out);
    return 0;
}
