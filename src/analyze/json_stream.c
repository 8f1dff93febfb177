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

static void indent(FILE *out, int level)
{
    fprintf(out, "%*s", level * INDENT, "");
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

typedef struct shifted {
    FILE *out;
    int level;
} shifted;

/* json_dump_callback's writer: the text with each new line indented. */
static int write_shifted(const char *buf, size_t n, void *ud)
{
    shifted *s = ud;
    while (n) {
        const char *nl = memchr(buf, '\n', n);
        size_t k = nl ? (size_t)(nl - buf) + 1 : n;
        fwrite(buf, 1, k, s->out);
        if (nl) indent(s->out, s->level);
        buf += k;
        n -= k;
    }
    return 0;
}

/* v dumped at the innermost container's level of indent; v released. */
static void put_value(mp_jstream *js, json_t *v)
{
    shifted s = {js->out, js->depth};
    if (json_dump_callback(v, write_shifted, &s, FLAGS) != 0) js->failed = true;
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
