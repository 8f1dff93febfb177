/*
 * src/analyze/gokey.c -- the text of a Go map key (see gokey.h).
 *
 * Invariant of mp_keytext: n < cap whenever cap > 0 (room for the NUL);
 * characters past the room are dropped, never written.
 */
#include "analyze/gokey.h"

#include "analyze/gobinary.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A typed rendering longer than this many characters is cut: the text of
 * MP_GOKEY_SHOWN bytes escaped at most, as a string key's. */
#define TYPED_SHOWN (4 * MP_GOKEY_SHOWN)
/* How deep a layout may nest: the builder in gobinary.c keeps below it. */
#define MAX_DEPTH 16

static void put_char(mp_keytext *t, char c)
{
    if (t->n + 1 < t->cap) t->buf[t->n++] = c;
}

static void put_str(mp_keytext *t, const char *s)
{
    for (; *s; s++) put_char(t, *s);
}

size_t mp_keytext_end(mp_keytext *t)
{
    if (t->cap) t->buf[t->n] = 0;
    return t->n;
}

/*
 * What ends a key cut at MP_GOKEY_SHOWN bytes, as maproot's runtime renders
 * it in snapshots: "... (N bytes, #H)", N the key's length and H the FNV-1a
 * 64 of all len bytes at p in 16 hex digits. Keys alike in their first
 * bytes then still render apart, and a report or a diff, which knows keys
 * only by their rendering, tells them apart. p NULL (the bytes are not all
 * in the dump): a bare "...", which says only that the key was cut.
 */
static void put_cut(mp_keytext *t, const uint8_t *p, uint64_t len)
{
    char tmp[64] = "...";
    if (p) {
        uint64_t h = 0xcbf29ce484222325ull;
        for (uint64_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
        snprintf(tmp, sizeof tmp, "... (%" PRIu64 " bytes, #%016" PRIx64 ")", len, h);
    }
    put_str(t, tmp);
}

void mp_keytext_string(mp_keytext *t, uint64_t ptr, uint64_t len, mp_gokey_reader read,
                       const void *ud)
{
    uint64_t shown = len < MP_GOKEY_SHOWN ? len : MP_GOKEY_SHOWN;
    /* the whole string when it is cut, for its digest */
    const uint8_t *all = len > shown ? read(ud, ptr, len) : NULL;
    const uint8_t *s = all ? all : len ? read(ud, ptr, shown) : (const uint8_t *)"";
    if (!s) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "(string of %" PRIu64 " bytes at 0x%" PRIx64 ")", len, ptr);
        put_str(t, tmp);
        return;
    }
    put_char(t, '"');
    for (uint64_t i = 0; i < shown; i++) {
        unsigned char c = s[i];
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if (c == '\t')
            snprintf(esc, sizeof esc, "\\t");
        else if (c == '\r')
            snprintf(esc, sizeof esc, "\\r");
        else if (c < 0x20 || c >= 0x7f)
            snprintf(esc, sizeof esc, "\\x%02x", c);
        else
            esc[0] = (char)c, esc[1] = 0;
        put_str(t, esc);
    }
    put_char(t, '"');
    if (len > shown) put_cut(t, all, len);
}

void mp_keytext_hex(mp_keytext *t, const uint8_t *k, uint32_t size)
{
    if (size == 0) {
        put_char(t, '-');
        return;
    }
    uint32_t shown = size < MP_GOKEY_SHOWN ? size : MP_GOKEY_SHOWN;
    put_str(t, "0x");
    for (uint32_t i = 0; i < shown; i++) {
        put_char(t, "0123456789abcdef"[k[i] >> 4]);
        put_char(t, "0123456789abcdef"[k[i] & 15]);
    }
    if (size > shown) put_cut(t, k, size);
}

/* The node after the subtree of node i (a walk, no recursion). */
static uint32_t skip_subtree(const mp_gokeyfield *f, uint32_t nf, uint32_t i)
{
    uint64_t need = 1;
    while (need && i < nf) {
        need--;
        if (f[i].kind == MP_GOKIND_STRUCT) need += f[i].count;
        if (f[i].kind == MP_GOKIND_ARRAY) need += 1;
        i++;
    }
    return i;
}

static uint64_t rd(const uint8_t *p, uint32_t size)
{
    uint64_t v = 0;
    memcpy(&v, p, size); /* little-endian, as the dumps maproot reads */
    return v;
}

/*
 * A float as Go's %v writes it (strconv 'g', shortest): the fewest digits
 * that read back as the same value (as a float32 for one), in exponent
 * form when the exponent is below -4 or 6 and above ("1e+06", "0.5",
 * "1.234567895e+08"); NaN, +Inf, -Inf.
 */
static void put_float(mp_keytext *t, double d, bool single)
{
    char tmp[48];
    if (isnan(d) || isinf(d)) {
        put_str(t, isnan(d) ? "NaN" : d < 0 ? "-Inf" : "+Inf");
        return;
    }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        double back = strtod(tmp, NULL);
        if (single ? (float)back == (float)d : back == d) break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
    int exp = atoi(strchr(tmp, 'e') + 1);
    if (exp >= -4 && exp < 6) snprintf(tmp, sizeof tmp, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, d);
    put_str(t, tmp);
}

/* A scalar (bool, number, pointer-like, string) of size bytes at p;
 * false when its kind or size is not one of them. */
static bool put_scalar(mp_keytext *t, uint8_t kind, const uint8_t *p, uint32_t size,
                       const mp_gokey_env *env)
{
    char tmp[48];
    bool word = size == 1 || size == 2 || size == 4 || size == 8;
    if (kind == MP_GOKIND_BOOL && size == 1) {
        put_str(t, p[0] ? "true" : "false");
    } else if (kind >= MP_GOKIND_INT && kind <= MP_GOKIND_INT64 && word) {
        uint64_t v = rd(p, size);
        if (size < 8 && v >> (size * 8 - 1) & 1) v |= ~0ull << (size * 8);
        snprintf(tmp, sizeof tmp, "%" PRId64, (int64_t)v);
        put_str(t, tmp);
    } else if (kind >= MP_GOKIND_UINT && kind <= MP_GOKIND_UINTPTR && word) {
        snprintf(tmp, sizeof tmp, "%" PRIu64, rd(p, size));
        put_str(t, tmp);
    } else if ((kind == MP_GOKIND_FLOAT32 && size == 4) ||
               (kind == MP_GOKIND_FLOAT64 && size == 8)) {
        double d;
        float x;
        if (size == 4)
            memcpy(&x, p, 4), d = x;
        else
            memcpy(&d, p, 8);
        put_float(t, d, size == 4);
    } else if ((kind == MP_GOKIND_PTR || kind == MP_GOKIND_CHAN || kind == MP_GOKIND_UNSAFEPTR) &&
               size == 8) {
        uint64_t v = rd(p, 8);
        if (v)
            snprintf(tmp, sizeof tmp, "0x%" PRIx64, v);
        else
            snprintf(tmp, sizeof tmp, "nil");
        put_str(t, tmp);
    } else if (kind == MP_GOKIND_STRING && size == 16) {
        mp_keytext_string(t, rd(p, 8), rd(p + 8, 8), env->read, env->ud);
    } else {
        return false;
    }
    return true;
}

/* The address of the runtime type descriptor of a non-nil interface's
 * dynamic type (tw its type or itab word), 0 when env cannot tell. */
static uint64_t iface_rtype(bool itab, uint64_t tw, const mp_gokey_env *env)
{
    const uint8_t *it = itab ? env->read(env->ud, tw + 8, 8) : NULL; /* itab._type */
    uint64_t rt = itab ? (it ? rd(it, 8) : 0) : tw;
    if (itab && !rt && env->itab_type) rt = env->itab_type(env->ud, tw);
    return rt;
}

/* Whether values of kind are kept in an interface's data word itself. */
static bool pointer_shaped(uint8_t kind)
{
    return kind == MP_GOKIND_PTR || kind == MP_GOKIND_CHAN || kind == MP_GOKIND_UNSAFEPTR ||
           kind == MP_GOKIND_MAP || kind == 19 /* func */;
}

mp_gokey_dynamic mp_gokey_iface_dynamic(bool itab, const uint8_t *p, const mp_gokey_env *env)
{
    uint64_t tw = rd(p, 8);
    if (!tw) return MP_GOKEY_DYN_NIL;
    uint64_t rt = iface_rtype(itab, tw, env);
    uint8_t kind;
    uint32_t size;
    const char *name;
    bool direct;
    if (rt && env->rtype && env->rtype(env->ud, rt, &kind, &size, &name))
        return pointer_shaped(kind) ? MP_GOKEY_DYN_POINTER : MP_GOKEY_DYN_VALUE;
    if (rt && env->type_direct && env->type_direct(env->ud, rt, &direct))
        return direct ? MP_GOKEY_DYN_POINTER : MP_GOKEY_DYN_VALUE;
    return MP_GOKEY_DYN_UNKNOWN;
}

/* An interface value at p (type or itab word, data word): its dynamic
 * value as mp_keytext_typed says. */
static void put_iface(mp_keytext *t, bool itab, const uint8_t *p, const mp_gokey_env *env)
{
    uint64_t tw = rd(p, 8), data = rd(p + 8, 8);
    if (!tw) {
        put_str(t, "nil");
        return;
    }
    uint64_t rt = iface_rtype(itab, tw, env);
    uint8_t kind;
    uint32_t size;
    const char *name;
    char tmp[48];
    if (!rt || !env->rtype || !env->rtype(env->ud, rt, &kind, &size, &name)) {
        /* by the type's name alone, else said unknown (never the raw words:
         * the same key would read as data in one report, a type in another) */
        char known[160];
        bool named = rt && env->type_name && env->type_name(env->ud, rt, known, sizeof known);
        put_char(t, '(');
        put_str(t, named ? known : "unknown type");
        snprintf(tmp, sizeof tmp, " at 0x%" PRIx64 ")", data);
        put_str(t, tmp);
        return;
    }
    /* pointer-shaped types are stored in the data word itself */
    if (pointer_shaped(kind)) {
        put_scalar(t, MP_GOKIND_PTR, p + 8, 8, env);
        return;
    }
    const uint8_t *v = size && size <= 16 ? env->read(env->ud, data, size) : NULL;
    if (v && kind != MP_GOKIND_INTERFACE && put_scalar(t, kind, v, size, env)) return;
    put_char(t, '(');
    put_str(t, name);
    snprintf(tmp, sizeof tmp, " at 0x%" PRIx64 ")", data);
    put_str(t, tmp);
}

/* Node i of the layout, the value at p (the layout fits: checked by
 * mp_keytext_typed); returns the node after its subtree. Recursion is
 * bounded by MAX_DEPTH. */
static uint32_t put_node(mp_keytext *t, const mp_gokeyfield *f, uint32_t nf, uint32_t i,
                         const uint8_t *p, int depth, const mp_gokey_env *env)
{
    assert(i < nf);
    const mp_gokeyfield *n = &f[i];
    if (depth >= MAX_DEPTH) {
        mp_keytext_hex(t, p, n->size);
        return skip_subtree(f, nf, i);
    }
    if (n->kind == MP_GOKIND_STRUCT) {
        uint32_t j = i + 1;
        put_char(t, '{');
        for (uint32_t k = 0; k < n->count && j < nf; k++) {
            if (k) put_char(t, ' ');
            if (f[j].name) put_str(t, f[j].name), put_char(t, ':');
            j = put_node(t, f, nf, j, p + f[j].offset, depth + 1, env);
        }
        put_char(t, '}');
        return j;
    }
    if (n->kind == MP_GOKIND_ARRAY) {
        uint32_t next = skip_subtree(f, nf, i + 1), es = n->count ? n->size / n->count : 0;
        put_char(t, '[');
        for (uint32_t k = 0; k < n->count && i + 1 < nf; k++) {
            if (k) put_char(t, ' ');
            put_node(t, f, nf, i + 1, p + (size_t)k * es, depth + 1, env);
        }
        put_char(t, ']');
        return next;
    }
    if (n->kind == MP_GOKIND_INTERFACE && n->size == 16)
        put_iface(t, n->count != 0, p, env);
    else if (!put_scalar(t, n->kind, p, n->size, env))
        mp_keytext_hex(t, p, n->size);
    return i + 1;
}

/* Whether every node of the layout lies inside its parent and the root
 * fills size bytes: what put_node relies on to read only the key. */
static bool layout_fits(const mp_gokeyfield *f, uint32_t nf, uint32_t size)
{
    if (nf == 0 || f[0].size != size) return false;
    /* each node's extent, kept by an explicit stack of open parents */
    struct {
        uint32_t size, left; /* the parent's bytes (an element's, for an array); nodes still due */
    } open[MAX_DEPTH + 1];
    int sp = 0;
    for (uint32_t i = 0; i < nf; i++) {
        const mp_gokeyfield *n = &f[i];
        if (i > 0) {
            while (sp > 0 && open[sp - 1].left == 0) sp--;
            if (sp == 0) return false; /* nodes past the root's subtree */
            open[sp - 1].left--;
            if (n->offset > open[sp - 1].size || n->size > open[sp - 1].size - n->offset)
                return false;
        }
        if (n->kind == MP_GOKIND_STRUCT || n->kind == MP_GOKIND_ARRAY) {
            if (sp == MAX_DEPTH) return false;
            bool arr = n->kind == MP_GOKIND_ARRAY;
            if (arr && (n->count == 0 || n->size % n->count)) return false;
            open[sp].size = arr ? n->size / n->count : n->size;
            open[sp++].left = arr ? 1 : n->count;
        }
    }
    while (sp > 0 && open[sp - 1].left == 0) sp--;
    return sp == 0;
}

bool mp_keytext_typed(mp_keytext *t, const mp_gokeyfield *f, uint32_t nf, const uint8_t *k,
                      uint32_t size, const mp_gokey_env *env)
{
    if (!layout_fits(f, nf, size)) return false;
    char whole[TYPED_SHOWN + 256];
    mp_keytext w = {whole, sizeof whole, 0};
    put_node(&w, f, nf, 0, k, 0, env);
    if (w.n <= TYPED_SHOWN) {
        for (size_t i = 0; i < w.n; i++) put_char(t, whole[i]);
        return true;
    }
    for (size_t i = 0; i < TYPED_SHOWN; i++) put_char(t, whole[i]);
    put_cut(t, k, size);
    return true;
}
