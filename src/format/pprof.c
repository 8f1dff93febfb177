/* src/format/pprof.c -- see pprof.h. The wire format: each field is a varint
 * key (field number << 3 | wire type) followed by a varint (type 0), 8 bytes
 * (1), a varint length and that many bytes (2), or 4 bytes (5). */
#include "format/pprof.h"
#include "format/grow.h"
#include "format/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* ------------------------------------------------------ wire decoding --- */

typedef struct field {
    uint32_t num, wt;
    uint64_t v;         /* wire types 0, 1, 5 */
    const uint8_t *ptr; /* wire type 2: the payload */
    size_t len;
    const uint8_t *at; /* where the field's key starts (for messages) */
} field;

typedef struct ctx {
    const uint8_t *base;
    const char *name;
    const char *where; /* "byte" or "decoded byte" */
    mf_error *err;
    mf_profile *p;
    const mf_limits *lim;
} ctx;

static int fail(ctx *c, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every decoding error goes through here so that all of them name the file
 * and the byte offset the same way. */
static int fail(ctx *c, const uint8_t *at, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    mf_error_set(c->err, "%s: %s (%s %zu)", c->name, what, c->where, (size_t)(at - c->base));
    return -1;
}

/* Reads the next field of a message occupying [*pp, end). */
static int next_field(ctx *c, const uint8_t **pp, const uint8_t *end, field *f)
{
    const uint8_t *p = *pp;
    uint64_t key;
    f->at = p;
    if (!(p = mf_get_varint(p, end, &key)))
        return fail(c, f->at, "truncated or overlong field key");
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return fail(c, f->at, "invalid field number %llu", (unsigned long long)(key >> 3));
    f->num = (uint32_t)(key >> 3);
    f->wt = (uint32_t)(key & 7);
    switch (f->wt) {
    case 0:
        if (!(p = mf_get_varint(p, end, &f->v)))
            return fail(c, f->at, "field %u: truncated varint", f->num);
        break;
    case 1:
        if (end - p < 8) return fail(c, f->at, "field %u: truncated 64-bit value", f->num);
        memcpy(&f->v, p, 8);
        p += 8;
        break;
    case 5: {
        uint32_t v32;
        if (end - p < 4) return fail(c, f->at, "field %u: truncated 32-bit value", f->num);
        memcpy(&v32, p, 4);
        f->v = v32;
        p += 4;
        break;
    }
    case 2: {
        uint64_t len;
        if (!(p = mf_get_varint(p, end, &len)))
            return fail(c, f->at, "field %u: truncated length", f->num);
        if (len > (uint64_t)(end - p))
            return fail(c, f->at, "field %u: length %llu runs past the end of its message", f->num,
                        (unsigned long long)len);
        f->ptr = p;
        f->len = (size_t)len;
        p += len;
        break;
    }
    default:
        return fail(c, f->at, "field %u: unsupported wire type %u", f->num, f->wt);
    }
    *pp = p;
    return 0;
}

/* A scalar field must be a varint; returns -1 with a message otherwise. */
static int want_varint(ctx *c, const field *f, const char *what)
{
    if (f->wt != 0) return fail(c, f->at, "%s has wire type %u, expected a varint", what, f->wt);
    return 0;
}

static int want_bytes(ctx *c, const field *f, const char *what)
{
    if (f->wt != 2)
        return fail(c, f->at, "%s has wire type %u, expected a length-delimited field", what,
                    f->wt);
    return 0;
}

static int check_str(ctx *c, const uint8_t *at, int64_t idx, const char *what)
{
    if (idx < 0 || (uint64_t)idx >= c->p->n_strings)
        return fail(c, at, "%s: string index %lld out of range (the table has %zu strings)", what,
                    (long long)idx, c->p->n_strings);
    return 0;
}

/* --------------------------------------------------------- id → index --- */

/* Ids are usually 1, 2, 3, ... in order (every producer we know writes them
 * so), and then the index is id - 1 with no table at all; otherwise an open
 * addressing hash. Both reject 0 and duplicates. */
typedef struct idmap {
    bool dense;
    size_t n, mask;
    uint64_t *keys;
    uint32_t *vals;
} idmap;

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static void idmap_free(idmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Builds the map from ids[i * stride] (i < n); returns the index of a zero or
 * duplicate id in *bad (and -1), or -2 if out of memory. */
static int idmap_build(idmap *m, const uint64_t *ids, size_t stride_words, size_t n, size_t *bad)
{
    memset(m, 0, sizeof *m);
    m->n = n;
    m->dense = true;
    for (size_t i = 0; i < n; i++)
        if (ids[i * stride_words] != i + 1) {
            m->dense = false;
            break;
        }
    if (m->dense) return 0;
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) return -2;
    m->mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ids[i * stride_words];
        if (id == 0) {
            *bad = i;
            return -1;
        }
        size_t h = mix64(id) & m->mask;
        while (m->keys[h]) {
            if (m->keys[h] == id) {
                *bad = i;
                return -1;
            }
            h = (h + 1) & m->mask;
        }
        m->keys[h] = id;
        m->vals[h] = (uint32_t)i;
    }
    return 0;
}

static inline uint32_t idmap_get(const idmap *m, uint64_t id)
{
    if (m->dense) return (id - 1 < m->n) ? (uint32_t)(id - 1) : NONE;
    if (id == 0) return NONE;
    for (size_t h = mix64(id) & m->mask; m->keys[h]; h = (h + 1) & m->mask)
        if (m->keys[h] == id) return m->vals[h];
    return NONE;
}

/* ------------------------------------------------------ message decoders --- */

static int decode_value_type(ctx *c, const field *outer, mf_value_type *vt, const char *what)
{
    const uint8_t *p = outer->ptr, *end = outer->ptr + outer->len;
    field f;
    while (p < end) {
        if (next_field(c, &p, end, &f)) return -1;
        if (f.num == 1 || f.num == 2) {
            if (want_varint(c, &f, what)) return -1;
            if (f.num == 1)
                vt->type = (int64_t)f.v;
            else
                vt->unit = (int64_t)f.v;
        }
    }
    if (check_str(c, outer->at, vt->type, what) || check_str(c, outer->at, vt->unit, what))
        return -1;
    return 0;
}

static int decode_mapping(ctx *c, const field *outer, mf_mapping *m, size_t idx)
{
    const uint8_t *p = outer->ptr, *end = outer->ptr + outer->len;
    field f;
    char what[48];
    snprintf(what, sizeof what, "mapping %zu", idx);
    memset(m, 0, sizeof *m);
    while (p < end) {
        if (next_field(c, &p, end, &f)) return -1;
        if (f.num > 10) continue;
        if (want_varint(c, &f, what)) return -1;
        switch (f.num) {
        case 1:
            m->id = f.v;
            break;
        case 2:
            m->start = f.v;
            break;
        case 3:
            m->limit = f.v;
            break;
        case 4:
            m->offset = f.v;
            break;
        case 5:
            m->filename = (int64_t)f.v;
            break;
        case 6:
            m->build_id = (int64_t)f.v;
            break;
        case 7:
            m->has_functions = f.v != 0;
            break;
        case 8:
            m->has_filenames = f.v != 0;
            break;
        case 9:
            m->has_line_numbers = f.v != 0;
            break;
        case 10:
            m->has_inline_frames = f.v != 0;
            break;
        }
    }
    if (check_str(c, outer->at, m->filename, what) || check_str(c, outer->at, m->build_id, what))
        return -1;
    return 0;
}

static int decode_function(ctx *c, const field *outer, mf_function *fn, size_t idx)
{
    const uint8_t *p = outer->ptr, *end = outer->ptr + outer->len;
    field f;
    char what[48];
    snprintf(what, sizeof what, "function %zu", idx);
    memset(fn, 0, sizeof *fn);
    while (p < end) {
        if (next_field(c, &p, end, &f)) return -1;
        if (f.num > 5) continue;
        if (want_varint(c, &f, what)) return -1;
        switch (f.num) {
        case 1:
            fn->id = f.v;
            break;
        case 2:
            fn->name = (int64_t)f.v;
            break;
        case 3:
            fn->system_name = (int64_t)f.v;
            break;
        case 4:
            fn->filename = (int64_t)f.v;
            break;
        case 5:
            fn->start_line = (int64_t)f.v;
            break;
        }
    }
    if (check_str(c, outer->at, fn->name, what) || check_str(c, outer->at, fn->system_name, what) ||
        check_str(c, outer->at, fn->filename, what))
        return -1;
    return 0;
}

typedef struct maps {
    idmap mapping, function, location;
    size_t cap_lines, cap_locs, cap_labels;
} maps;

static int decode_location(ctx *c, maps *mp, const field *outer, mf_location *loc, size_t idx)
{
    mf_profile *P = c->p;
    const uint8_t *p = outer->ptr, *end = outer->ptr + outer->len;
    field f;
    char what[48];
    snprintf(what, sizeof what, "location %zu", idx);
    memset(loc, 0, sizeof *loc);
    loc->line_start = (uint32_t)P->n_lines;
    uint64_t mapping_id = 0;
    while (p < end) {
        if (next_field(c, &p, end, &f)) return -1;
        switch (f.num) {
        case 1:
        case 2:
        case 3:
        case 5:
            if (want_varint(c, &f, what)) return -1;
            if (f.num == 1)
                loc->id = f.v;
            else if (f.num == 2)
                mapping_id = f.v;
            else if (f.num == 3)
                loc->address = f.v;
            else
                loc->is_folded = f.v != 0;
            break;
        case 4: {
            if (want_bytes(c, &f, what)) return -1;
            mf_line ln = {0, 0};
            uint64_t fid = 0;
            const uint8_t *q = f.ptr, *qe = f.ptr + f.len;
            field g;
            while (q < qe) {
                if (next_field(c, &q, qe, &g)) return -1;
                if (g.num == 1 || g.num == 2) {
                    if (want_varint(c, &g, what)) return -1;
                    if (g.num == 1)
                        fid = g.v;
                    else
                        ln.line = (int64_t)g.v;
                }
            }
            /* A line names its function: go tool pprof refuses a line
             * without one ("a line with nil function"), so does this. */
            uint32_t fi = fid ? idmap_get(&mp->function, fid) : NONE;
            if (fid == 0)
                return fail(c, f.at, "%s (id %llu): a line has no function (function id 0)", what,
                            (unsigned long long)loc->id);
            if (fi == NONE)
                return fail(c, f.at,
                            "%s (id %llu): line refers to function id %llu, which is not defined",
                            what, (unsigned long long)loc->id, (unsigned long long)fid);
            ln.function = fi + 1;
            if (P->n_lines >= UINT32_MAX - 1) return fail(c, f.at, "too many lines");
            if (!MF_GROW(P->lines, mp->cap_lines, P->n_lines + 1, 64))
                return fail(c, f.at, "out of memory");
            P->lines[P->n_lines++] = ln;
            loc->n_lines++;
            break;
        }
        default:
            break;
        }
    }
    /* A mapping id that is not defined means no mapping, as go tool pprof
     * reads it (it accepts such a profile and shows the location bare). */
    if (mapping_id != 0) {
        uint32_t mi = idmap_get(&mp->mapping, mapping_id);
        loc->mapping = mi == NONE ? 0 : mi + 1;
    }
    return 0;
}

/* The hot loop: a 300,000-sample profile has millions of location ids. */
static int decode_sample(ctx *c, maps *mp, const field *outer, size_t idx)
{
    mf_profile *P = c->p;
    mf_sample *s = &P->samples[idx];
    const uint8_t *p = outer->ptr, *end = outer->ptr + outer->len;
    size_t nt = P->n_sample_types, nv = 0;
    int64_t *vals = P->values + idx * nt;
    field f;
    s->loc_start = (uint32_t)P->n_locs;
    s->n_locs = 0;
    s->label_start = (uint32_t)P->n_labels;
    s->n_labels = 0;
    while (p < end) {
        if (next_field(c, &p, end, &f)) return -1;
        if (f.num == 1) {
            const uint8_t *q, *qe;
            uint64_t one = 0;
            if (f.wt == 2) {
                q = f.ptr;
                qe = f.ptr + f.len;
            } else if (f.wt == 0) {
                one = f.v;
                q = qe = NULL;
            } else {
                return fail(c, f.at, "sample %zu: location_id has wire type %u", idx, f.wt);
            }
            /* Reserve for the most ids the field can hold (one per byte). */
            size_t most = f.wt == 2 ? f.len : 1;
            if (P->n_locs + most >= UINT32_MAX) return fail(c, f.at, "too many stack frames");
            if (!MF_GROW(P->locs, mp->cap_locs, P->n_locs + most, 64))
                return fail(c, f.at, "out of memory");
            uint32_t *out = P->locs ? P->locs + P->n_locs : NULL; /* NULL: nothing to add */
            size_t k = 0;
            for (;;) {
                uint64_t id;
                if (f.wt == 2) {
                    if (q >= qe) break;
                    const uint8_t *at = q;
                    if (!(q = mf_get_varint(q, qe, &id)))
                        return fail(c, at, "sample %zu: truncated location id", idx);
                } else {
                    id = one;
                }
                uint32_t li = idmap_get(&mp->location, id);
                if (li == NONE)
                    return fail(c, f.at, "sample %zu: location id %llu is %s", idx,
                                (unsigned long long)id, id ? "not defined" : "zero");
                out[k++] = li;
                if (f.wt == 0) break;
            }
            P->n_locs += k;
            s->n_locs += (uint32_t)k;
        } else if (f.num == 2) {
            if (f.wt == 2) {
                const uint8_t *q = f.ptr, *qe = f.ptr + f.len;
                while (q < qe) {
                    uint64_t v;
                    const uint8_t *at = q;
                    if (!(q = mf_get_varint(q, qe, &v)))
                        return fail(c, at, "sample %zu: truncated value", idx);
                    if (nv < nt) vals[nv] = (int64_t)v;
                    nv++;
                }
            } else if (f.wt == 0) {
                if (nv < nt) vals[nv] = (int64_t)f.v;
                nv++;
            } else {
                return fail(c, f.at, "sample %zu: value has wire type %u", idx, f.wt);
            }
        } else if (f.num == 3) {
            char what[48];
            snprintf(what, sizeof what, "sample %zu label", idx);
            if (want_bytes(c, &f, what)) return -1;
            mf_label lb = {0, 0, 0, 0};
            const uint8_t *q = f.ptr, *qe = f.ptr + f.len;
            field g;
            while (q < qe) {
                if (next_field(c, &q, qe, &g)) return -1;
                if (g.num > 4) continue;
                if (want_varint(c, &g, what)) return -1;
                if (g.num == 1)
                    lb.key = (int64_t)g.v;
                else if (g.num == 2)
                    lb.str = (int64_t)g.v;
                else if (g.num == 3)
                    lb.num = (int64_t)g.v;
                else
                    lb.num_unit = (int64_t)g.v;
            }
            if (check_str(c, f.at, lb.key, what) || check_str(c, f.at, lb.str, what) ||
                check_str(c, f.at, lb.num_unit, what))
                return -1;
            if (P->n_labels >= UINT32_MAX - 1) return fail(c, f.at, "too many labels");
            if (!MF_GROW(P->labels, mp->cap_labels, P->n_labels + 1, 64))
                return fail(c, f.at, "out of memory");
            P->labels[P->n_labels++] = lb;
            s->n_labels++;
        }
    }
    if (nv != nt)
        return fail(c, outer->at, "sample %zu has %zu values but the profile has %zu sample types",
                    idx, nv, nt);
    return 0;
}

/* ------------------------------------------------------------ the passes --- */

enum {
    F_SAMPLE_TYPE = 1,
    F_SAMPLE,
    F_MAPPING,
    F_LOCATION,
    F_FUNCTION,
    F_STRING,
    F_DROP,
    F_KEEP,
    F_TIME,
    F_DURATION,
    F_PERIOD_TYPE,
    F_PERIOD,
    F_COMMENT,
    F_DEFAULT_TYPE
};

static const char *const field_names[] = {"",
                                          "sample_type",
                                          "sample",
                                          "mapping",
                                          "location",
                                          "function",
                                          "string_table",
                                          "drop_frames",
                                          "keep_frames",
                                          "time_nanos",
                                          "duration_nanos",
                                          "period_type",
                                          "period",
                                          "comment",
                                          "default_sample_type"};

/* Pass 1 counts every repeated field so the arrays are allocated once, and
 * checks wire types so that the later passes can trust them. */
static int count_pass(ctx *c, const uint8_t *p, const uint8_t *end, size_t counts[15],
                      size_t *string_bytes, size_t *sample_bytes)
{
    field f;
    while (p < end) {
        if (next_field(c, &p, end, &f)) return -1;
        if (f.num > F_DEFAULT_TYPE) continue;
        switch (f.num) {
        case F_SAMPLE:
            if (want_bytes(c, &f, field_names[f.num])) return -1;
            counts[f.num]++;
            *sample_bytes += f.len;
            break;
        case F_SAMPLE_TYPE:
        case F_MAPPING:
        case F_LOCATION:
        case F_FUNCTION:
        case F_PERIOD_TYPE:
            if (want_bytes(c, &f, field_names[f.num])) return -1;
            counts[f.num]++;
            break;
        case F_STRING:
            if (want_bytes(c, &f, field_names[f.num])) return -1;
            counts[f.num]++;
            *string_bytes += f.len + 1;
            break;
        case F_COMMENT:
            if (f.wt == 2) {
                for (size_t i = 0; i < f.len; i++) counts[f.num] += f.ptr[i] < 0x80;
            } else {
                if (want_varint(c, &f, field_names[f.num])) return -1;
                counts[f.num]++;
            }
            break;
        default:
            if (want_varint(c, &f, field_names[f.num])) return -1;
        }
    }
    return 0;
}

static int parse(ctx *c, const uint8_t *data, size_t n)
{
    mf_profile *P = c->p;
    const uint8_t *end = data + n;
    size_t counts[15] = {0}, string_bytes = 0, sample_bytes = 0;
    maps mp;
    memset(&mp, 0, sizeof mp);
    int rc = -1;
    field f;
    const uint8_t *p;

    if (count_pass(c, data, end, counts, &string_bytes, &sample_bytes)) return -1;
    if (counts[F_STRING] == 0)
        return fail(c, end, "no string table: not a pprof profile (or an empty one)");
    /* Every sample carries one value per sample type, each at least a byte:
     * more values than the samples' bytes can hold is a lie that would
     * otherwise size an allocation. */
    size_t nvals;
    if (__builtin_mul_overflow(counts[F_SAMPLE], counts[F_SAMPLE_TYPE], &nvals) ||
        nvals > sample_bytes)
        return fail(c, data,
                    "%zu samples of %zu sample types need more values than their %zu bytes hold",
                    counts[F_SAMPLE], counts[F_SAMPLE_TYPE], sample_bytes);
    /* What the arrays below and those grown while decoding will hold, at
     * most: each is sized by counts that the bytes just counted carry. */
    uint64_t need = (uint64_t)n + string_bytes + counts[F_STRING] * 12u +
                    counts[F_SAMPLE_TYPE] * sizeof(mf_value_type) +
                    counts[F_SAMPLE] * sizeof(mf_sample) + counts[F_MAPPING] * sizeof(mf_mapping) +
                    counts[F_LOCATION] * (sizeof(mf_location) + 24) +
                    counts[F_FUNCTION] * (sizeof(mf_function) + 24) + counts[F_COMMENT] * 8u +
                    (uint64_t)nvals * 8u + (uint64_t)sample_bytes * 4u;
    if (mf_limit_check(c->lim, need, c->name, "the profile", c->err)) return -1;

    /* Allocate what pass 1 counted. Each item takes at least two input bytes,
     * so no count can overflow the size computations below. */
    P->sample_types = calloc(counts[F_SAMPLE_TYPE] + 1, sizeof *P->sample_types);
    P->samples = calloc(counts[F_SAMPLE] + 1, sizeof *P->samples);
    P->mappings = calloc(counts[F_MAPPING] + 1, sizeof *P->mappings);
    P->locations = calloc(counts[F_LOCATION] + 1, sizeof *P->locations);
    P->functions = calloc(counts[F_FUNCTION] + 1, sizeof *P->functions);
    P->strings = calloc(counts[F_STRING], sizeof *P->strings);
    P->string_lens = calloc(counts[F_STRING], sizeof *P->string_lens);
    P->string_arena_ = malloc(string_bytes + 1);
    P->comments = calloc(counts[F_COMMENT] + 1, sizeof *P->comments);
    if (!P->sample_types || !P->samples || !P->mappings || !P->locations || !P->functions ||
        !P->strings || !P->string_lens || !P->string_arena_ || !P->comments)
        return fail(c, data, "out of memory");

    /* Pass 2: strings first (everything else refers to them). */
    char *arena = P->string_arena_;
    for (p = data; p < end;) {
        next_field(c, &p, end, &f);
        if (f.num != F_STRING) continue;
        if (f.len > UINT32_MAX) return fail(c, f.at, "string %zu too long", P->n_strings);
        if (f.len) memcpy(arena, f.ptr, f.len);
        arena[f.len] = '\0';
        P->strings[P->n_strings] = arena;
        P->string_lens[P->n_strings++] = (uint32_t)f.len;
        arena += f.len + 1;
    }
    if (P->string_lens[0] != 0) return fail(c, data, "string_table[0] is not the empty string");

    /* Pass 3: everything but locations and samples. */
    for (p = data; p < end;) {
        next_field(c, &p, end, &f);
        switch (f.num) {
        case F_SAMPLE_TYPE: {
            char what[48];
            snprintf(what, sizeof what, "sample_type %zu", P->n_sample_types);
            if (decode_value_type(c, &f, &P->sample_types[P->n_sample_types++], what)) return -1;
            break;
        }
        case F_MAPPING:
            if (decode_mapping(c, &f, &P->mappings[P->n_mappings], P->n_mappings)) return -1;
            P->n_mappings++;
            break;
        case F_FUNCTION:
            if (decode_function(c, &f, &P->functions[P->n_functions], P->n_functions)) return -1;
            P->n_functions++;
            break;
        case F_PERIOD_TYPE:
            if (decode_value_type(c, &f, &P->period_type, "period_type")) return -1;
            break;
        case F_COMMENT:
            if (f.wt == 2) {
                const uint8_t *q = f.ptr, *qe = f.ptr + f.len;
                while (q < qe) {
                    uint64_t v;
                    const uint8_t *at = q;
                    if (!(q = mf_get_varint(q, qe, &v)))
                        return fail(c, at, "truncated comment index");
                    if (check_str(c, at, (int64_t)v, "comment")) return -1;
                    P->comments[P->n_comments++] = (int64_t)v;
                }
            } else {
                if (check_str(c, f.at, (int64_t)f.v, "comment")) return -1;
                P->comments[P->n_comments++] = (int64_t)f.v;
            }
            break;
        case F_DROP:
        case F_KEEP:
        case F_DEFAULT_TYPE:
            if (check_str(c, f.at, (int64_t)f.v, field_names[f.num])) return -1;
            if (f.num == F_DROP)
                P->drop_frames = (int64_t)f.v;
            else if (f.num == F_KEEP)
                P->keep_frames = (int64_t)f.v;
            else
                P->default_sample_type = (int64_t)f.v;
            break;
        case F_TIME:
            P->time_nanos = (int64_t)f.v;
            break;
        case F_DURATION:
            P->duration_nanos = (int64_t)f.v;
            break;
        case F_PERIOD:
            P->period = (int64_t)f.v;
            break;
        default:
            break;
        }
    }

    size_t bad = 0;
    int r =
        idmap_build(&mp.mapping, &P->mappings[0].id, sizeof(mf_mapping) / 8, P->n_mappings, &bad);
    if (r == -1) {
        fail(c, data, "mapping %zu has %s id %llu", bad,
             P->mappings[bad].id ? "a duplicate" : "a zero",
             (unsigned long long)P->mappings[bad].id);
        goto out;
    }
    r = r ? r
          : idmap_build(&mp.function, &P->functions[0].id, sizeof(mf_function) / 8, P->n_functions,
                        &bad);
    if (r == -1) {
        fail(c, data, "function %zu has %s id %llu", bad,
             P->functions[bad].id ? "a duplicate" : "a zero",
             (unsigned long long)P->functions[bad].id);
        goto out;
    }
    if (r == -2) {
        fail(c, data, "out of memory");
        goto out;
    }

    /* Pass 4: locations (they refer to mappings and functions). */
    for (p = data; p < end;) {
        next_field(c, &p, end, &f);
        if (f.num != F_LOCATION) continue;
        if (decode_location(c, &mp, &f, &P->locations[P->n_locations], P->n_locations)) goto out;
        P->n_locations++;
    }
    r = idmap_build(&mp.location, &P->locations[0].id, sizeof(mf_location) / 8, P->n_locations,
                    &bad);
    if (r == -1) {
        fail(c, data, "location %zu has %s id %llu", bad,
             P->locations[bad].id ? "a duplicate" : "a zero",
             (unsigned long long)P->locations[bad].id);
        goto out;
    }
    if (r == -2) {
        fail(c, data, "out of memory");
        goto out;
    }

    /* Pass 5: samples (nvals was checked against their bytes above). */
    P->values = malloc((nvals + 1) * sizeof *P->values);
    if (!P->values) {
        fail(c, data, "out of memory");
        goto out;
    }
    for (p = data; p < end;) {
        next_field(c, &p, end, &f);
        if (f.num != F_SAMPLE) continue;
        if (decode_sample(c, &mp, &f, P->n_samples)) goto out;
        P->n_samples++;
    }
    rc = 0;
out:
    idmap_free(&mp.mapping);
    idmap_free(&mp.function);
    idmap_free(&mp.location);
    return rc;
}

/* The idmap reads ids with a stride of whole 64-bit words from the first
 * member: that holds because each struct starts with its uint64_t id. */
_Static_assert(sizeof(mf_mapping) % 8 == 0 && sizeof(mf_function) % 8 == 0 &&
                   sizeof(mf_location) % 8 == 0,
               "id stride");

static int parse_named(const uint8_t *data, size_t n, const char *name, bool inflated,
                       const mf_limits *lim, mf_profile **out, mf_error *err)
{
    *out = NULL;
    mf_profile *P = calloc(1, sizeof *P);
    if (!P) {
        mf_error_set(err, "%s: out of memory", name);
        return -1;
    }
    if (n == 0) {
        mf_error_set(err, "%s: %s", name,
                     inflated ? "the gzip data is empty inside" : "empty file");
        free(P);
        return -1;
    }
    ctx c = {data, name, inflated ? "decoded byte" : "byte", err, P, lim};
    if (parse(&c, data, n)) {
        mf_profile_free(P);
        return -1;
    }
    *out = P;
    return 0;
}

int mf_profile_parse(const uint8_t *data, size_t n, const char *name, mf_profile **out,
                     mf_error *err)
{
    return parse_named(data, n, name, false, NULL, out, err);
}

/* Does a varint start at p with all its bytes before end? */
static bool varint_complete(const uint8_t *p, const uint8_t *end)
{
    for (; p < end; p++)
        if (!(*p & 0x80)) return true;
    return false;
}

/*
 * Checks the top-level fields of data[*pos, len) as they arrive: a key that
 * cannot start a profile's field (field 0, a wire type pprof never uses, a
 * known field with the wrong wire type) fails at once, before more is read
 * or inflated. Stops at the first field not complete yet (eof: the data is
 * all there). *pos is where the next field starts; a length-delimited
 * field's payload is skipped, so *pos may lie beyond len.
 */
static int scan_top(ctx *c, const uint8_t *data, size_t len, size_t *pos, bool eof)
{
    while (*pos < len) {
        const uint8_t *p = data + *pos, *end = data + len;
        if (!eof && !varint_complete(p, end) && end - p < MF_VARINT_MAX) return 0;
        field f = {.at = p};
        uint64_t key;
        const uint8_t *q = mf_get_varint(p, end, &key);
        if (!q) return fail(c, p, "truncated or overlong field key");
        if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
            return fail(c, p, "invalid field number %llu", (unsigned long long)(key >> 3));
        f.num = (uint32_t)(key >> 3);
        f.wt = (uint32_t)(key & 7);
        if (f.wt != 0 && f.wt != 1 && f.wt != 2 && f.wt != 5)
            return fail(c, p, "field %u: unsupported wire type %u", f.num, f.wt);
        if (f.num <= F_DEFAULT_TYPE) {
            const char *what = field_names[f.num];
            int bad;
            if (f.num == F_COMMENT) /* packed or not */
                bad = f.wt != 0 && f.wt != 2 ? want_varint(c, &f, what) : 0;
            else if (f.num <= F_STRING || f.num == F_PERIOD_TYPE)
                bad = want_bytes(c, &f, what);
            else
                bad = want_varint(c, &f, what);
            if (bad) return -1;
        }
        uint64_t v;
        switch (f.wt) {
        case 0:
        case 2:
            if (!eof && !varint_complete(q, end) && end - q < MF_VARINT_MAX) return 0;
            if (!(q = mf_get_varint(q, end, &v)))
                return fail(c, p, "field %u: truncated %s", f.num, f.wt ? "length" : "varint");
            if (f.wt == 2) {
                if (v > MF_MAX_DECODED)
                    return fail(c, p, "field %u: length %llu is beyond any profile", f.num,
                                (unsigned long long)v);
                q += v; /* may lie beyond what has arrived: checked at the end */
            }
            break;
        default:
            q += f.wt == 1 ? 8 : 4;
        }
        *pos = (size_t)(q - data);
    }
    return 0;
}

int mf_profile_read_in(mf_in *in, const mf_limits *lim, mf_profile **out, mf_error *err)
{
    *out = NULL;
    const char *name = mf_in_name(in);
    mf_buf buf = {0};
    size_t pos = 0;
    ctx c = {NULL, name, "decoded byte", err, NULL, lim};
    for (;;) {
        size_t chunk = (size_t)1 << 18;
        if (mf_buf_reserve(&buf, chunk, err)) {
            mf_error_set(err, "%s: out of memory reading %zu bytes", name, buf.len);
            goto fail;
        }
        ssize_t k = mf_in_read(in, buf.data + buf.len, buf.cap - buf.len, err);
        if (k < 0) goto fail;
        if (buf.len + (size_t)k > MF_MAX_DECODED) {
            mf_error_set(err, "%s: content larger than %zu bytes: not a profile", name,
                         (size_t)MF_MAX_DECODED);
            goto fail;
        }
        buf.len += (size_t)k;
        if (mf_limit_check(lim, buf.len, name, "its content", err)) goto fail;
        c.base = buf.data;
        c.where = mf_in_is_gzip(in) ? "decoded byte" : "byte";
        if (scan_top(&c, buf.data, buf.len, &pos, k == 0)) goto fail;
        if (k == 0) break;
    }
    int rc = parse_named(buf.data, buf.len, name, mf_in_is_gzip(in), lim, out, err);
    mf_buf_free(&buf);
    return rc;
fail:
    mf_buf_free(&buf);
    return -1;
}

int mf_profile_read(const char *path, mf_profile **out, mf_error *err)
{
    *out = NULL;
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    int rc = mf_profile_read_in(in, NULL, out, err);
    mf_in_close(in);
    return rc;
}

bool mf_profile_sniff_bytes(const uint8_t *p, size_t n)
{
    /* every complete top-level field in the first 64 bytes is one a
     * profile has, with its wire type: enough to tell a profile from other
     * content, while a profile that goes bad later gets the parser's
     * precise message */
    if (n > 64) n = 64;
    mf_profile P = {0};
    mf_error e;
    ctx c = {p, "", "byte", &e, &P, NULL};
    size_t pos = 0;
    return n > 0 && scan_top(&c, p, n, &pos, false) == 0;
}

void mf_profile_free(mf_profile *p)
{
    if (!p) return;
    free(p->sample_types);
    free(p->samples);
    free(p->locs);
    free(p->values);
    free(p->labels);
    free(p->mappings);
    free(p->locations);
    free(p->lines);
    free(p->functions);
    free(p->strings);
    free(p->string_lens);
    free(p->comments);
    free(p->string_arena_);
    free(p);
}

/* ------------------------------------------------------------- writer --- */

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
