/*
 * src/format/pprof_writer.c -- the pprof writer (see pprof.h; the reader is
 * pprof.c).
 *
 * A profile is built piece by piece, in the order a sampling profiler
 * discovers things: strings, functions and locations are interned in
 * open-addressing sets of item numbers over the writer's own arrays (a
 * location can be found by address before it is symbolized), and each
 * sample is encoded into protobuf bytes as it is added, so that the writer
 * never holds samples as structures. mf_pw_encode then writes the profile
 * message around them, fields in field-number order as protobuf encoders do,
 * with an encoder of its own (format/wire.h's varints); mf_pw_write sends it
 * out, gzipped or not, by the rule of outfile.h. A failure (out of memory, a
 * call out of order) is kept, the first one only, and reported by the
 * encoding, so that the calls that build a profile need no error checks
 * each.
 */
#include "format/grow.h"
#include "format/pprof.h"
#include "format/pprof_internal.h"
#include "format/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct w_mapping {
    uint64_t start, limit, offset;
    int64_t filename, build_id;
    bool flags[4];
} w_mapping;

typedef struct w_function {
    int64_t name, system_name, filename, start_line;
} w_function;

typedef struct w_location {
    uint64_t mapping_id, address;
    size_t line_start, n_lines;
} w_location;

/* An open-addressing set of 1-based item numbers; 0 marks an empty slot.
 * The items themselves live in the writer's arrays, which the hash and
 * equality callbacks read. */
typedef struct w_set {
    uint32_t *slots;
    size_t cap; /* power of two, or 0 */
    size_t n;
} w_set;

struct mf_pprof_writer {
    char failure[256]; /* first failure, "" if none */
    /* strings: NUL-terminated in `chars`, item i at str_off[i] */
    mf_buf chars;
    size_t *str_off;
    size_t n_str, cap_str;
    w_set str_set;
    mf_value_type *st;
    size_t n_st, cap_st;
    mf_value_type period_type;
    int64_t period, time_nanos, duration_nanos, default_st, drop, keep;
    int64_t *comments;
    size_t n_comments, cap_comments;
    w_mapping *maps;
    size_t n_maps, cap_maps;
    w_function *fns;
    size_t n_fns, cap_fns;
    w_set fn_set;
    w_location *locs;
    size_t n_locs, cap_locs;
    mf_pw_line *lines;
    size_t n_lines, cap_lines;
    w_set addr_set;
    mf_buf samples; /* encoded Sample messages, each with its field key */
    size_t n_samples;
};

static void w_fail(mf_pprof_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void w_fail(mf_pprof_writer *w, const char *fmt, ...)
{
    if (w->failure[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->failure, sizeof w->failure, fmt, ap);
    va_end(ap);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
    return mix64(h);
}

static uint64_t hash_function(const w_function *f)
{
    return mix64((uint64_t)f->name * 0x9e3779b97f4a7c15ULL ^ mix64((uint64_t)f->system_name) ^
                 mix64((uint64_t)f->filename + 0x51) ^ ((uint64_t)f->start_line << 20));
}

/* Doubles a set's table; rehash() gives each stored item's hash. */
static int set_grow(w_set *s, uint64_t (*rehash)(const mf_pprof_writer *, uint32_t),
                    const mf_pprof_writer *w)
{
    size_t cap = s->cap ? s->cap * 2 : 256;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < s->cap; i++) {
        uint32_t it = s->slots[i];
        if (!it) continue;
        size_t h = rehash(w, it) & (cap - 1);
        while (slots[h]) h = (h + 1) & (cap - 1);
        slots[h] = it;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return 0;
}

static uint64_t rehash_str(const mf_pprof_writer *w, uint32_t it)
{
    const char *s = (const char *)w->chars.data + w->str_off[it - 1];
    return hash_bytes(s, strlen(s));
}

static uint64_t rehash_fn(const mf_pprof_writer *w, uint32_t it)
{
    return hash_function(&w->fns[it - 1]);
}

static uint64_t rehash_addr(const mf_pprof_writer *w, uint32_t it)
{
    return mix64(w->locs[it - 1].address);
}

mf_pprof_writer *mf_pw_new(void)
{
    mf_pprof_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    if (mf_pw_string(w, "") != 0) {
        mf_pw_free(w);
        return NULL;
    }
    return w;
}

void mf_pw_free(mf_pprof_writer *w)
{
    if (!w) return;
    mf_buf_free(&w->chars);
    free(w->str_off);
    free(w->str_set.slots);
    free(w->st);
    free(w->comments);
    free(w->maps);
    free(w->fns);
    free(w->fn_set.slots);
    free(w->locs);
    free(w->lines);
    free(w->addr_set.slots);
    mf_buf_free(&w->samples);
    free(w);
}

int64_t mf_pw_string(mf_pprof_writer *w, const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s);
    if (w->str_set.n * 2 >= w->str_set.cap && set_grow(&w->str_set, rehash_str, w)) goto oom;
    size_t mask = w->str_set.cap - 1, h = hash_bytes(s, n) & mask;
    for (uint32_t it; (it = w->str_set.slots[h]); h = (h + 1) & mask) {
        const char *t = (const char *)w->chars.data + w->str_off[it - 1];
        if (strcmp(t, s) == 0) return it - 1;
    }
    if (w->n_str >= UINT32_MAX - 1) goto oom;
    if (!MF_GROW(w->str_off, w->cap_str, w->n_str + 1, 64)) goto oom;
    size_t off = w->chars.len;
    if (mf_buf_append(&w->chars, s, n + 1, NULL)) goto oom;
    w->str_off[w->n_str++] = off;
    w->str_set.slots[h] = (uint32_t)w->n_str;
    w->str_set.n++;
    return (int64_t)w->n_str - 1;
oom:
    w_fail(w, "out of memory interning a string");
    return -1;
}

int mf_pw_add_sample_type(mf_pprof_writer *w, const char *type, const char *unit)
{
    if (w->n_samples) {
        w_fail(w, "sample type %s added after the first sample", type ? type : "");
        return -1;
    }
    int64_t t = mf_pw_string(w, type), u = mf_pw_string(w, unit);
    if (t < 0 || u < 0) return -1;
    if (!MF_GROW(w->st, w->cap_st, w->n_st + 1, 64)) {
        w_fail(w, "out of memory");
        return -1;
    }
    w->st[w->n_st++] = (mf_value_type){t, u};
    return 0;
}

int mf_pw_set_period(mf_pprof_writer *w, const char *type, const char *unit, int64_t period)
{
    int64_t t = mf_pw_string(w, type), u = mf_pw_string(w, unit);
    if (t < 0 || u < 0) return -1;
    w->period_type = (mf_value_type){t, u};
    w->period = period;
    return 0;
}

void mf_pw_set_time(mf_pprof_writer *w, int64_t time_nanos, int64_t duration_nanos)
{
    w->time_nanos = time_nanos;
    w->duration_nanos = duration_nanos;
}

int mf_pw_set_default_sample_type(mf_pprof_writer *w, const char *type)
{
    int64_t t = mf_pw_string(w, type);
    if (t < 0) return -1;
    w->default_st = t;
    return 0;
}

int mf_pw_add_comment(mf_pprof_writer *w, const char *text)
{
    int64_t t = mf_pw_string(w, text);
    if (t < 0) return -1;
    if (!MF_GROW(w->comments, w->cap_comments, w->n_comments + 1, 64)) {
        w_fail(w, "out of memory");
        return -1;
    }
    w->comments[w->n_comments++] = t;
    return 0;
}

int mf_pw_set_drop_frames(mf_pprof_writer *w, const char *regex)
{
    int64_t t = mf_pw_string(w, regex);
    if (t < 0) return -1;
    w->drop = t;
    return 0;
}

int mf_pw_set_keep_frames(mf_pprof_writer *w, const char *regex)
{
    int64_t t = mf_pw_string(w, regex);
    if (t < 0) return -1;
    w->keep = t;
    return 0;
}

uint64_t mf_pw_add_mapping(mf_pprof_writer *w, const mf_pw_mapping *m)
{
    int64_t fname = mf_pw_string(w, m->filename), bid = mf_pw_string(w, m->build_id);
    if (fname < 0 || bid < 0) return 0;
    if (!MF_GROW(w->maps, w->cap_maps, w->n_maps + 1, 64)) {
        w_fail(w, "out of memory");
        return 0;
    }
    w->maps[w->n_maps++] = (w_mapping){
        m->start,  m->limit,
        m->offset, fname,
        bid,       {m->has_functions, m->has_filenames, m->has_line_numbers, m->has_inline_frames}};
    return w->n_maps;
}

uint64_t mf_pw_function(mf_pprof_writer *w, const char *name, const char *system_name,
                        const char *filename, int64_t start_line)
{
    w_function f = {mf_pw_string(w, name), mf_pw_string(w, system_name ? system_name : name),
                    mf_pw_string(w, filename), start_line};
    if (f.name < 0 || f.system_name < 0 || f.filename < 0) return 0;
    if (w->fn_set.n * 2 >= w->fn_set.cap && set_grow(&w->fn_set, rehash_fn, w)) goto oom;
    size_t mask = w->fn_set.cap - 1, h = hash_function(&f) & mask;
    for (uint32_t it; (it = w->fn_set.slots[h]); h = (h + 1) & mask) {
        const w_function *g = &w->fns[it - 1];
        if (g->name == f.name && g->system_name == f.system_name && g->filename == f.filename &&
            g->start_line == f.start_line)
            return it;
    }
    if (w->n_fns >= UINT32_MAX - 1) goto oom;
    if (!MF_GROW(w->fns, w->cap_fns, w->n_fns + 1, 64)) goto oom;
    w->fns[w->n_fns++] = f;
    w->fn_set.slots[h] = (uint32_t)w->n_fns;
    w->fn_set.n++;
    return w->n_fns;
oom:
    w_fail(w, "out of memory adding a function");
    return 0;
}

uint64_t mf_pw_find_location(const mf_pprof_writer *w, uint64_t address)
{
    if (!address || !w->addr_set.cap) return 0;
    size_t mask = w->addr_set.cap - 1;
    for (size_t h = mix64(address) & mask; w->addr_set.slots[h]; h = (h + 1) & mask)
        if (w->locs[w->addr_set.slots[h] - 1].address == address) return w->addr_set.slots[h];
    return 0;
}

uint64_t mf_pw_add_location(mf_pprof_writer *w, uint64_t mapping_id, uint64_t address,
                            const mf_pw_line *lines, size_t n_lines)
{
    if (mapping_id > w->n_maps) {
        w_fail(w, "location refers to mapping id %llu, which was not added",
               (unsigned long long)mapping_id);
        return 0;
    }
    for (size_t i = 0; i < n_lines; i++)
        if (lines[i].function_id > w->n_fns) {
            w_fail(w, "location line refers to function id %llu, which was not added",
                   (unsigned long long)lines[i].function_id);
            return 0;
        }
    if (w->n_locs >= UINT32_MAX - 1 || !MF_GROW(w->locs, w->cap_locs, w->n_locs + 1, 64) ||
        !MF_GROW(w->lines, w->cap_lines, w->n_lines + n_lines, 64))
        goto oom;
    if (n_lines) memcpy(w->lines + w->n_lines, lines, n_lines * sizeof *lines);
    w->locs[w->n_locs] = (w_location){mapping_id, address, w->n_lines, n_lines};
    w->n_lines += n_lines;
    w->n_locs++;
    uint64_t id = w->n_locs;
    if (address && !mf_pw_find_location(w, address)) {
        if (w->addr_set.n * 2 >= w->addr_set.cap && set_grow(&w->addr_set, rehash_addr, w))
            goto oom;
        size_t mask = w->addr_set.cap - 1, h = mix64(address) & mask;
        while (w->addr_set.slots[h]) h = (h + 1) & mask;
        w->addr_set.slots[h] = (uint32_t)id;
        w->addr_set.n++;
    }
    return id;
oom:
    w_fail(w, "out of memory adding a location");
    return 0;
}

/* ------------------------------------------------------ wire encoding --- */

/* Size of a varint field (key + value), 0 when the value is the default. */
static inline size_t vfield_size(uint32_t num, uint64_t v)
{
    return v ? mf_varint_len((uint64_t)num << 3) + mf_varint_len(v) : 0;
}

static inline uint8_t *put_vfield(uint8_t *p, uint32_t num, uint64_t v)
{
    if (!v) return p;
    p = mf_put_varint(p, (uint64_t)num << 3);
    return mf_put_varint(p, v);
}

static inline uint8_t *put_lenkey(uint8_t *p, uint32_t num, size_t len)
{
    p = mf_put_varint(p, (uint64_t)num << 3 | 2);
    return mf_put_varint(p, len);
}

static inline size_t lenfield_size(uint32_t num, size_t len)
{
    return mf_varint_len((uint64_t)num << 3 | 2) + mf_varint_len(len) + len;
}

static size_t label_size(mf_pprof_writer *w, const mf_pw_label *l, int64_t idx[3])
{
    idx[0] = mf_pw_string(w, l->key);
    idx[1] = l->str ? mf_pw_string(w, l->str) : 0;
    idx[2] = l->num_unit ? mf_pw_string(w, l->num_unit) : 0;
    return vfield_size(1, (uint64_t)idx[0]) + vfield_size(2, (uint64_t)idx[1]) +
           (l->str ? 0 : vfield_size(3, (uint64_t)l->num)) + vfield_size(4, (uint64_t)idx[2]);
}

int mf_pw_add_sample(mf_pprof_writer *w, const uint64_t *location_ids, size_t n_locations,
                     const int64_t *values, size_t n_values, const mf_pw_label *labels,
                     size_t n_labels)
{
    if (n_values != w->n_st) {
        w_fail(w, "sample %zu has %zu values, expected %zu (one per sample type)", w->n_samples,
               n_values, w->n_st);
        return -1;
    }
    size_t locs_len = 0, vals_len = 0, labels_len = 0;
    for (size_t i = 0; i < n_locations; i++) {
        if (location_ids[i] == 0 || location_ids[i] > w->n_locs) {
            w_fail(w, "sample %zu refers to location id %llu, which was not added", w->n_samples,
                   (unsigned long long)location_ids[i]);
            return -1;
        }
        locs_len += mf_varint_len(location_ids[i]);
    }
    for (size_t i = 0; i < n_values; i++) vals_len += mf_varint_len((uint64_t)values[i]);
    int64_t lidx[16][3];
    for (size_t i = 0; i < n_labels; i++) {
        int64_t tmp[3];
        size_t ls = label_size(w, &labels[i], i < 16 ? lidx[i] : tmp);
        labels_len += lenfield_size(3, ls);
    }
    if (w->failure[0]) return -1;
    size_t msg = (n_locations ? lenfield_size(1, locs_len) : 0) +
                 (n_values ? lenfield_size(2, vals_len) : 0) + labels_len;
    if (mf_buf_reserve(&w->samples, lenfield_size(2, msg), NULL)) {
        w_fail(w, "out of memory adding a sample");
        return -1;
    }
    uint8_t *p = w->samples.data + w->samples.len;
    p = put_lenkey(p, 2, msg);
    if (n_locations) {
        p = put_lenkey(p, 1, locs_len);
        for (size_t i = 0; i < n_locations; i++) p = mf_put_varint(p, location_ids[i]);
    }
    if (n_values) {
        p = put_lenkey(p, 2, vals_len);
        for (size_t i = 0; i < n_values; i++) p = mf_put_varint(p, (uint64_t)values[i]);
    }
    for (size_t i = 0; i < n_labels; i++) {
        int64_t tmp[3], *ix = i < 16 ? lidx[i] : tmp;
        if (i >= 16) label_size(w, &labels[i], tmp); /* interned above: same indices */
        const mf_pw_label *l = &labels[i];
        size_t ls = vfield_size(1, (uint64_t)ix[0]) + vfield_size(2, (uint64_t)ix[1]) +
                    (l->str ? 0 : vfield_size(3, (uint64_t)l->num)) +
                    vfield_size(4, (uint64_t)ix[2]);
        p = put_lenkey(p, 3, ls);
        p = put_vfield(p, 1, (uint64_t)ix[0]);
        p = put_vfield(p, 2, (uint64_t)ix[1]);
        if (!l->str) p = put_vfield(p, 3, (uint64_t)l->num);
        p = put_vfield(p, 4, (uint64_t)ix[2]);
    }
    w->samples.len = (size_t)(p - w->samples.data);
    w->n_samples++;
    return 0;
}

size_t mf_pw_sample_count(const mf_pprof_writer *w)
{
    return w->n_samples;
}

static size_t value_type_size(mf_value_type vt)
{
    return vfield_size(1, (uint64_t)vt.type) + vfield_size(2, (uint64_t)vt.unit);
}

static uint8_t *put_value_type(uint8_t *p, uint32_t num, mf_value_type vt)
{
    p = put_lenkey(p, num, value_type_size(vt));
    p = put_vfield(p, 1, (uint64_t)vt.type);
    return put_vfield(p, 2, (uint64_t)vt.unit);
}

/* Room for one more small message or field: every piece below is bounded by
 * this except strings and samples, which reserve their own length. */
#define PIECE 512

/* Why a hand-written encoder: the samples are already encoded as they came
 * in, and everything else is a handful of flat arrays; building protobuf-c
 * structures would double the memory for nothing. Fields are written in
 * field-number order, as protobuf encoders do. */
int mf_pw_encode(mf_pprof_writer *w, mf_buf *out, mf_error *err)
{
    if (w->failure[0]) {
        mf_error_set(err, "%s", w->failure);
        return -1;
    }
    out->len = 0;
    mf_error e2;
#define RESERVE(n)                                                                                 \
    do {                                                                                           \
        if (mf_buf_reserve(out, (n), &e2)) goto oom;                                               \
        p = out->data + out->len;                                                                  \
    } while (0)
#define DONE() (out->len = (size_t)(p - out->data))
    uint8_t *p;
    for (size_t i = 0; i < w->n_st; i++) {
        RESERVE(PIECE);
        p = put_value_type(p, 1, w->st[i]);
        DONE();
    }
    RESERVE(w->samples.len);
    if (w->samples.len) memcpy(p, w->samples.data, w->samples.len); /* data may be NULL */
    p += w->samples.len;
    DONE();
    for (size_t i = 0; i < w->n_maps; i++) {
        const w_mapping *m = &w->maps[i];
        size_t len = vfield_size(1, i + 1) + vfield_size(2, m->start) + vfield_size(3, m->limit) +
                     vfield_size(4, m->offset) + vfield_size(5, (uint64_t)m->filename) +
                     vfield_size(6, (uint64_t)m->build_id);
        for (int k = 0; k < 4; k++) len += vfield_size(7 + k, m->flags[k]);
        RESERVE(PIECE);
        p = put_lenkey(p, 3, len);
        p = put_vfield(p, 1, i + 1);
        p = put_vfield(p, 2, m->start);
        p = put_vfield(p, 3, m->limit);
        p = put_vfield(p, 4, m->offset);
        p = put_vfield(p, 5, (uint64_t)m->filename);
        p = put_vfield(p, 6, (uint64_t)m->build_id);
        for (int k = 0; k < 4; k++) p = put_vfield(p, 7 + (uint32_t)k, m->flags[k]);
        DONE();
    }
    for (size_t i = 0; i < w->n_locs; i++) {
        const w_location *l = &w->locs[i];
        size_t len =
            vfield_size(1, i + 1) + vfield_size(2, l->mapping_id) + vfield_size(3, l->address);
        for (size_t k = 0; k < l->n_lines; k++) {
            const mf_pw_line *ln = &w->lines[l->line_start + k];
            len += lenfield_size(4, vfield_size(1, ln->function_id) +
                                        vfield_size(2, (uint64_t)ln->line));
        }
        RESERVE(PIECE + len);
        p = put_lenkey(p, 4, len);
        p = put_vfield(p, 1, i + 1);
        p = put_vfield(p, 2, l->mapping_id);
        p = put_vfield(p, 3, l->address);
        for (size_t k = 0; k < l->n_lines; k++) {
            const mf_pw_line *ln = &w->lines[l->line_start + k];
            p = put_lenkey(p, 4,
                           vfield_size(1, ln->function_id) + vfield_size(2, (uint64_t)ln->line));
            p = put_vfield(p, 1, ln->function_id);
            p = put_vfield(p, 2, (uint64_t)ln->line);
        }
        DONE();
    }
    for (size_t i = 0; i < w->n_fns; i++) {
        const w_function *f = &w->fns[i];
        size_t len = vfield_size(1, i + 1) + vfield_size(2, (uint64_t)f->name) +
                     vfield_size(3, (uint64_t)f->system_name) +
                     vfield_size(4, (uint64_t)f->filename) +
                     vfield_size(5, (uint64_t)f->start_line);
        RESERVE(PIECE);
        p = put_lenkey(p, 5, len);
        p = put_vfield(p, 1, i + 1);
        p = put_vfield(p, 2, (uint64_t)f->name);
        p = put_vfield(p, 3, (uint64_t)f->system_name);
        p = put_vfield(p, 4, (uint64_t)f->filename);
        p = put_vfield(p, 5, (uint64_t)f->start_line);
        DONE();
    }
    for (size_t i = 0; i < w->n_str; i++) {
        const char *s = (const char *)w->chars.data + w->str_off[i];
        size_t n = strlen(s);
        RESERVE(lenfield_size(6, n));
        p = put_lenkey(p, 6, n);
        if (n) memcpy(p, s, n);
        p += n;
        DONE();
    }
    RESERVE(PIECE);
    p = put_vfield(p, 7, (uint64_t)w->drop);
    p = put_vfield(p, 8, (uint64_t)w->keep);
    p = put_vfield(p, 9, (uint64_t)w->time_nanos);
    p = put_vfield(p, 10, (uint64_t)w->duration_nanos);
    if (w->period_type.type || w->period_type.unit) p = put_value_type(p, 11, w->period_type);
    p = put_vfield(p, 12, (uint64_t)w->period);
    DONE();
    if (w->n_comments) {
        size_t len = 0;
        for (size_t i = 0; i < w->n_comments; i++) len += mf_varint_len((uint64_t)w->comments[i]);
        RESERVE(PIECE + len);
        p = put_lenkey(p, 13, len);
        for (size_t i = 0; i < w->n_comments; i++) p = mf_put_varint(p, (uint64_t)w->comments[i]);
        DONE();
    }
    RESERVE(PIECE);
    p = put_vfield(p, 14, (uint64_t)w->default_st);
    DONE();
    return 0;
#undef RESERVE
#undef DONE
oom:
    mf_error_set(err, "out of memory encoding the profile");
    return -1;
}

int mf_pw_write_out(mf_pprof_writer *w, mf_out *o, bool gzip, mf_error *err)
{
    const char *path = mf_out_path(o);
    mf_buf raw = {0}, gz = {0};
    int rc = -1;
    if (mf_pw_encode(w, &raw, err)) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err ? err->msg : "");
        mf_error_set(err, "%s: %s", path, tmp);
        mf_out_abort(o);
        goto out;
    }
    if (gzip && mf_gzip(raw.data, raw.len, 6, &gz, err)) {
        mf_error_set(err, "%s: gzip failed", path);
        mf_out_abort(o);
        goto out;
    }
    const mf_buf *b = gzip ? &gz : &raw;
    mf_out_write(o, b->data, b->len);
    rc = mf_out_commit(o, err);
out:
    mf_buf_free(&raw);
    mf_buf_free(&gz);
    return rc;
}

int mf_pw_write(mf_pprof_writer *w, const char *path, bool gzip, mf_error *err)
{
    mf_out *o = mf_out_open(path, err);
    return o ? mf_pw_write_out(w, o, gzip, err) : -1;
}
