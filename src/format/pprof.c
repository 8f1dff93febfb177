/* src/format/pprof.c -- the pprof reader (see pprof.h; the writer is
 * pprof_writer.c). The wire format: each field is a varint
 * key (field number << 3 | wire type) followed by a varint (type 0), 8 bytes
 * (1), a varint length and that many bytes (2), or 4 bytes (5). */
#include "format/pprof.h"
#include "format/grow.h"
#include "format/pprof_internal.h"
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
