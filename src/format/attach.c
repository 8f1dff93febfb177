/*
 * src/format/attach.c -- the attach protocol's frames: see attach.h and
 * proto/attach.proto.
 *
 * Encoding writes proto3 as it is meant: fields at their default value
 * (0, false, "") are left out. A nested message is encoded into a buffer of
 * its own and appended with its length. Decoding walks a message's fields
 * once; a nested message is decoded by the function of its type, so the
 * depth is fixed by the schema (Frame -> body -> MapRecord), never by the
 * input.
 */
#include "format/attach.h"

#include "format/wire.h"

#include <stdlib.h>
#include <string.h>

const char *mf_at_kind_name(mf_at_kind k)
{
    switch (k) {
    case MF_AT_HELLO:
        return "Hello";
    case MF_AT_SET_PROFILE_RATE:
        return "SetProfileRate";
    case MF_AT_SNAPSHOT:
        return "SnapshotRequest";
    case MF_AT_SUBSCRIBE:
        return "Subscribe";
    case MF_AT_DETACH:
        return "Detach";
    case MF_AT_WELCOME:
        return "Welcome";
    case MF_AT_REPLY:
        return "Reply";
    case MF_AT_SNAPSHOT_DONE:
        return "SnapshotDone";
    case MF_AT_CYCLE:
        return "CycleEvent";
    case MF_AT_GOODBYE:
        return "Goodbye";
    default:
        return "none";
    }
}

static bool from_client(mf_at_kind k)
{
    return k >= MF_AT_HELLO && k <= MF_AT_DETACH;
}

static bool from_agent(mf_at_kind k)
{
    return k >= MF_AT_WELCOME && k <= MF_AT_GOODBYE;
}

/* ----------------------------------------------------------- encoding --- */

/* An encoder: appends to a buffer; the first failure sticks. */
typedef struct enc {
    mf_buf *b;
    bool failed;
    mf_error *err;
} enc;

static void put_raw(enc *e, const void *p, size_t n)
{
    if (!e->failed && mf_buf_append(e->b, p, n, e->err)) e->failed = true;
}

static void put_key_varint(enc *e, uint32_t field, int wt, uint64_t v)
{
    uint8_t tmp[2 * MF_VARINT_MAX], *q = tmp;
    q = mf_put_varint(q, (uint64_t)field << 3 | (uint64_t)wt);
    q = mf_put_varint(q, v);
    put_raw(e, tmp, (size_t)(q - tmp));
}

static void put_u64(enc *e, uint32_t field, uint64_t v)
{
    if (v) put_key_varint(e, field, MF_WT_VARINT, v);
}

static void put_i64(enc *e, uint32_t field, int64_t v)
{
    put_u64(e, field, (uint64_t)v);
}

static void put_bool(enc *e, uint32_t field, bool v)
{
    put_u64(e, field, v ? 1 : 0);
}

static void put_bytes(enc *e, uint32_t field, const void *p, size_t n)
{
    put_key_varint(e, field, MF_WT_LEN, n);
    put_raw(e, p, n);
}

static void put_str(enc *e, uint32_t field, const char *s)
{
    if (s && *s) put_bytes(e, field, s, strlen(s));
}

/* A nested message: body() encodes it into a buffer of its own. */
static void put_message(enc *e, uint32_t field, void (*body)(enc *, const void *), const void *m)
{
    mf_buf tmp = {0};
    enc sub = {&tmp, e->failed, e->err};
    body(&sub, m);
    if (sub.failed)
        e->failed = true;
    else
        put_bytes(e, field, tmp.data ? (const void *)tmp.data : (const void *)"", tmp.len);
    mf_buf_free(&tmp);
}

static void enc_hello(enc *e, const void *v)
{
    const mf_at_hello *h = v;
    put_u64(e, 1, h->version);
    put_str(e, 2, h->client);
}

static void enc_welcome(enc *e, const void *v)
{
    const mf_at_welcome *w = v;
    put_u64(e, 1, w->version);
    put_str(e, 2, w->program);
    put_str(e, 3, w->args);
    put_u64(e, 4, w->pid);
    put_str(e, 5, w->build_id);
    put_str(e, 6, w->maproot_version);
    put_i64(e, 7, w->start_time_ns);
    put_u64(e, 8, w->gc_cycle);
    put_i64(e, 9, w->last_gc_ns);
    put_u64(e, 10, w->live_bytes);
    put_u64(e, 11, w->live_objects);
    put_u64(e, 12, w->next_gc);
    put_u64(e, 13, w->total_alloc);
    put_u64(e, 14, w->pause_total_ns);
    put_u64(e, 15, w->profile_rate);
    put_u64(e, 16, w->clients);
}

static void enc_rate(enc *e, const void *v)
{
    put_u64(e, 1, *(const uint64_t *)v);
}

static void enc_snapshot(enc *e, const void *v)
{
    const mf_at_snapshot *s = v;
    put_bool(e, 1, s->force_gc);
    put_bool(e, 2, s->snapshot);
    put_bool(e, 3, s->profile);
}

static void enc_subscribe(enc *e, const void *v)
{
    const mf_at_subscribe *s = v;
    put_u64(e, 1, s->census_interval_ms);
    put_u64(e, 2, s->max_maps);
}

static void enc_empty(enc *e, const void *v)
{
    (void)e, (void)v;
}

static void enc_reply(enc *e, const void *v)
{
    const mf_at_reply *r = v;
    put_bool(e, 1, r->ok);
    put_str(e, 2, r->message);
}

static void enc_done(enc *e, const void *v)
{
    const mf_at_done *d = v;
    put_bool(e, 1, d->ok);
    put_str(e, 2, d->message);
    put_u64(e, 3, d->gc_cycle);
    put_bool(e, 4, d->forced);
    put_u64(e, 5, d->snapshot_bytes);
    put_u64(e, 6, d->profile_bytes);
    put_u64(e, 7, d->pause_ns);
    put_u64(e, 8, d->objects);
    put_u64(e, 9, d->maps);
    put_u64(e, 10, d->entries);
}

static void enc_map(enc *e, const void *v)
{
    const mf_at_map *m = v;
    put_u64(e, 1, m->id);
    put_u64(e, 2, m->address);
    put_str(e, 3, m->type);
    put_u64(e, 4, m->count);
    put_u64(e, 5, m->first_count);
    put_u64(e, 6, m->first_cycle);
    put_u64(e, 7, m->b);
    put_u64(e, 8, m->noverflow);
    put_u64(e, 9, m->bucket_size);
    put_bool(e, 10, m->growing);
    put_bool(e, 11, m->gone);
    put_u64(e, 12, m->growth_pc);
    put_str(e, 13, m->growth_op);
    put_str(e, 14, m->growth_function);
    put_str(e, 15, m->growth_file);
    put_i64(e, 16, m->growth_line);
    put_u64(e, 17, m->lists_bytes);
}

static void enc_cycle(enc *e, const void *v)
{
    const mf_at_cycle *c = v;
    put_u64(e, 1, c->gc_cycle);
    put_i64(e, 2, c->end_ns);
    put_u64(e, 3, c->pause_ns);
    put_u64(e, 4, c->live_bytes);
    put_u64(e, 5, c->live_objects);
    put_u64(e, 6, c->garbage_bytes);
    put_u64(e, 8, c->next_gc);
    put_u64(e, 9, c->total_alloc);
    put_u64(e, 10, c->mallocs);
    put_u64(e, 11, c->profile_rate);
    put_u64(e, 12, c->dropped);
    put_bool(e, 13, c->census);
    put_u64(e, 14, c->maps_total);
    put_u64(e, 15, c->entries_total);
    put_u64(e, 16, c->maps_omitted);
    for (size_t i = 0; i < c->nmaps; i++) put_message(e, 17, enc_map, &c->maps[i]);
    put_u64(e, 18, c->agent_ns);
}

static void enc_goodbye(enc *e, const void *v)
{
    put_str(e, 1, ((const mf_at_goodbye *)v)->reason);
}

int mf_at_encode(const mf_at_frame *f, mf_buf *out, mf_error *err)
{
    if (!from_client(f->kind) && !from_agent(f->kind)) {
        mf_error_set(err, "attach frame: no body to encode (kind %d)", (int)f->kind);
        return -1;
    }
    if (f->kind == MF_AT_CYCLE && f->cycle.nmaps > MF_AT_MAX_MAPS) {
        mf_error_set(err, "attach frame: %zu map records (at most %u)", f->cycle.nmaps,
                     MF_AT_MAX_MAPS);
        return -1;
    }
    size_t start = out->len;
    uint8_t zero[4] = {0};
    enc e = {out, false, err};
    put_raw(&e, zero, sizeof zero);
    put_u64(&e, 1, f->request_id);
    switch (f->kind) {
    case MF_AT_HELLO:
        put_message(&e, MF_AT_HELLO, enc_hello, &f->hello);
        break;
    case MF_AT_SET_PROFILE_RATE:
        put_message(&e, MF_AT_SET_PROFILE_RATE, enc_rate, &f->profile_rate);
        break;
    case MF_AT_SNAPSHOT:
        put_message(&e, MF_AT_SNAPSHOT, enc_snapshot, &f->snapshot);
        break;
    case MF_AT_SUBSCRIBE:
        put_message(&e, MF_AT_SUBSCRIBE, enc_subscribe, &f->subscribe);
        break;
    case MF_AT_DETACH:
        put_message(&e, MF_AT_DETACH, enc_empty, NULL);
        break;
    case MF_AT_WELCOME:
        put_message(&e, MF_AT_WELCOME, enc_welcome, &f->welcome);
        break;
    case MF_AT_REPLY:
        put_message(&e, MF_AT_REPLY, enc_reply, &f->reply);
        break;
    case MF_AT_SNAPSHOT_DONE:
        put_message(&e, MF_AT_SNAPSHOT_DONE, enc_done, &f->done);
        break;
    case MF_AT_CYCLE:
        put_message(&e, MF_AT_CYCLE, enc_cycle, &f->cycle);
        break;
    default:
        put_message(&e, MF_AT_GOODBYE, enc_goodbye, &f->goodbye);
        break;
    }
    if (e.failed) {
        out->len = start;
        return -1;
    }
    size_t n = out->len - start - 4;
    size_t max = from_client(f->kind) ? MF_AT_MAX_CLIENT_FRAME : MF_AT_MAX_AGENT_FRAME;
    if (n > max) {
        out->len = start;
        mf_error_set(err, "attach frame: a %s of %zu bytes is over the limit of %zu",
                     mf_at_kind_name(f->kind), n, max);
        return -1;
    }
    for (int i = 0; i < 4; i++) out->data[start + (size_t)i] = (uint8_t)(n >> (8 * i));
    return 0;
}

int mf_at_frame_len(const uint8_t *p, size_t n, mf_at_dir dir, uint32_t *len, mf_error *err)
{
    if (n < 4) return 1;
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    uint32_t max = dir == MF_AT_FROM_CLIENT ? MF_AT_MAX_CLIENT_FRAME : MF_AT_MAX_AGENT_FRAME;
    if (v == 0 || v > max) {
        mf_error_set(err, "attach frame: length %u is %s", v,
                     v ? "over the limit" : "zero (no message)");
        return -1;
    }
    *len = v;
    return 0;
}

/* ----------------------------------------------------------- decoding --- */

/* What a decoded frame owns: one block for its strings (sized from the
 * message, which bounds their total), and the map records. */
typedef struct arena {
    char *strs;
    size_t used, cap;
    mf_at_map *maps;
    size_t nmaps, capmaps;
} arena;

typedef struct dec {
    const uint8_t *base; /* the frame's first byte, for offsets */
    arena *a;
    mf_error *err;
    const char *msg; /* the message being decoded, for errors */
} dec;

typedef struct field {
    uint32_t no;
    int wt;
    uint64_t v;
    const uint8_t *p;
    size_t len;
} field;

static int fail(dec *d, const uint8_t *at, const char *what, uint32_t no)
{
    if (no)
        mf_error_set(d->err, "attach frame: field %u of %s: %s (byte %zu)", no, d->msg, what,
                     (size_t)(at - d->base));
    else
        mf_error_set(d->err, "attach frame: %s: %s (byte %zu)", d->msg, what,
                     (size_t)(at - d->base));
    return -1;
}

/* The next field of [*pp, end): 1 with *f, 0 at the end, -1 on error. */
static int next_field(dec *d, const uint8_t **pp, const uint8_t *end, field *f)
{
    const uint8_t *p = *pp;
    if (p == end) return 0;
    uint64_t key;
    if (!(p = mf_get_varint(p, end, &key))) return fail(d, *pp, "truncated field key", 0);
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return fail(d, *pp, "bad field number", 0);
    f->no = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    const uint8_t *at = p;
    switch (f->wt) {
    case MF_WT_VARINT:
        if (!(p = mf_get_varint(p, end, &f->v))) return fail(d, at, "truncated varint", f->no);
        break;
    case MF_WT_I64:
        if (end - p < 8) return fail(d, at, "truncated fixed64", f->no);
        p += 8;
        break;
    case MF_WT_I32:
        if (end - p < 4) return fail(d, at, "truncated fixed32", f->no);
        p += 4;
        break;
    case MF_WT_LEN: {
        uint64_t n;
        if (!(p = mf_get_varint(p, end, &n)) || n > (uint64_t)(end - p))
            return fail(d, at, "length past the end of its message", f->no);
        f->p = p;
        f->len = (size_t)n;
        p += n;
        break;
    }
    default:
        return fail(d, *pp, "unknown wire type", f->no);
    }
    *pp = p;
    return 1;
}

static int want(dec *d, const field *f, int wt)
{
    if (f->wt == wt) return 0;
    return fail(d, f->p ? f->p : d->base, "wrong wire type", f->no);
}

static int get_u64(dec *d, const field *f, uint64_t *out)
{
    if (want(d, f, MF_WT_VARINT)) return -1;
    *out = f->v;
    return 0;
}

static int get_u32(dec *d, const field *f, uint32_t *out)
{
    if (want(d, f, MF_WT_VARINT)) return -1;
    if (f->v > UINT32_MAX) return fail(d, d->base, "value over 32 bits", f->no);
    *out = (uint32_t)f->v;
    return 0;
}

static int get_i64(dec *d, const field *f, int64_t *out)
{
    if (want(d, f, MF_WT_VARINT)) return -1;
    *out = (int64_t)f->v;
    return 0;
}

static int get_bool(dec *d, const field *f, bool *out)
{
    if (want(d, f, MF_WT_VARINT)) return -1;
    *out = f->v != 0;
    return 0;
}

/* A string field: copied into the arena, control characters made '?'. */
static int get_str(dec *d, const field *f, const char **out)
{
    if (want(d, f, MF_WT_LEN)) return -1;
    arena *a = d->a;
    if (f->len + 1 > a->cap - a->used) return fail(d, f->p, "strings larger than the frame", f->no);
    char *s = a->strs + a->used;
    for (size_t i = 0; i < f->len; i++) {
        uint8_t c = f->p[i];
        s[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    s[f->len] = 0;
    a->used += f->len + 1;
    *out = s;
    return 0;
}

/* Decoders of the messages: each walks its fields and skips unknown ones. */
#define FIELDS(d, p, end, f)                                                                       \
    for (int r_; (r_ = next_field((d), &(p), (end), &(f))) != 0;)                                  \
        if (r_ < 0)                                                                                \
            return -1;                                                                             \
        else

static int dec_hello(dec *d, const uint8_t *p, const uint8_t *end, mf_at_hello *h)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        if (f.no == 1)
            rc = get_u32(d, &f, &h->version);
        else if (f.no == 2)
            rc = get_str(d, &f, &h->client);
        if (rc) return -1;
    }
    return 0;
}

static int dec_welcome(dec *d, const uint8_t *p, const uint8_t *end, mf_at_welcome *w)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        switch (f.no) {
        case 1:
            rc = get_u32(d, &f, &w->version);
            break;
        case 2:
            rc = get_str(d, &f, &w->program);
            break;
        case 3:
            rc = get_str(d, &f, &w->args);
            break;
        case 4:
            rc = get_u64(d, &f, &w->pid);
            break;
        case 5:
            rc = get_str(d, &f, &w->build_id);
            break;
        case 6:
            rc = get_str(d, &f, &w->maproot_version);
            break;
        case 7:
            rc = get_i64(d, &f, &w->start_time_ns);
            break;
        case 8:
            rc = get_u32(d, &f, &w->gc_cycle);
            break;
        case 9:
            rc = get_i64(d, &f, &w->last_gc_ns);
            break;
        case 10:
            rc = get_u64(d, &f, &w->live_bytes);
            break;
        case 11:
            rc = get_u64(d, &f, &w->live_objects);
            break;
        case 12:
            rc = get_u64(d, &f, &w->next_gc);
            break;
        case 13:
            rc = get_u64(d, &f, &w->total_alloc);
            break;
        case 14:
            rc = get_u64(d, &f, &w->pause_total_ns);
            break;
        case 15:
            rc = get_u64(d, &f, &w->profile_rate);
            break;
        case 16:
            rc = get_u32(d, &f, &w->clients);
            break;
        default:
            break;
        }
        if (rc) return -1;
    }
    return 0;
}

static int dec_rate(dec *d, const uint8_t *p, const uint8_t *end, uint64_t *rate)
{
    field f;
    FIELDS(d, p, end, f)
    {
        if (f.no == 1 && get_u64(d, &f, rate)) return -1;
    }
    return 0;
}

static int dec_snapshot(dec *d, const uint8_t *p, const uint8_t *end, mf_at_snapshot *s)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        if (f.no == 1)
            rc = get_bool(d, &f, &s->force_gc);
        else if (f.no == 2)
            rc = get_bool(d, &f, &s->snapshot);
        else if (f.no == 3)
            rc = get_bool(d, &f, &s->profile);
        if (rc) return -1;
    }
    return 0;
}

static int dec_subscribe(dec *d, const uint8_t *p, const uint8_t *end, mf_at_subscribe *s)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        if (f.no == 1)
            rc = get_u32(d, &f, &s->census_interval_ms);
        else if (f.no == 2)
            rc = get_u32(d, &f, &s->max_maps);
        if (rc) return -1;
    }
    return 0;
}

static int dec_empty(dec *d, const uint8_t *p, const uint8_t *end)
{
    field f;
    FIELDS(d, p, end, f) {}
    return 0;
}

static int dec_reply(dec *d, const uint8_t *p, const uint8_t *end, mf_at_reply *r)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        if (f.no == 1)
            rc = get_bool(d, &f, &r->ok);
        else if (f.no == 2)
            rc = get_str(d, &f, &r->message);
        if (rc) return -1;
    }
    return 0;
}

static int dec_done(dec *d, const uint8_t *p, const uint8_t *end, mf_at_done *o)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        switch (f.no) {
        case 1:
            rc = get_bool(d, &f, &o->ok);
            break;
        case 2:
            rc = get_str(d, &f, &o->message);
            break;
        case 3:
            rc = get_u32(d, &f, &o->gc_cycle);
            break;
        case 4:
            rc = get_bool(d, &f, &o->forced);
            break;
        case 5:
            rc = get_u64(d, &f, &o->snapshot_bytes);
            break;
        case 6:
            rc = get_u64(d, &f, &o->profile_bytes);
            break;
        case 7:
            rc = get_u64(d, &f, &o->pause_ns);
            break;
        case 8:
            rc = get_u64(d, &f, &o->objects);
            break;
        case 9:
            rc = get_u64(d, &f, &o->maps);
            break;
        case 10:
            rc = get_u64(d, &f, &o->entries);
            break;
        default:
            break;
        }
        if (rc) return -1;
    }
    return 0;
}

static int dec_map(dec *d, const uint8_t *p, const uint8_t *end, mf_at_map *m)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        switch (f.no) {
        case 1:
            rc = get_u64(d, &f, &m->id);
            break;
        case 2:
            rc = get_u64(d, &f, &m->address);
            break;
        case 3:
            rc = get_str(d, &f, &m->type);
            break;
        case 4:
            rc = get_u64(d, &f, &m->count);
            break;
        case 5:
            rc = get_u64(d, &f, &m->first_count);
            break;
        case 6:
            rc = get_u32(d, &f, &m->first_cycle);
            break;
        case 7:
            rc = get_u32(d, &f, &m->b);
            break;
        case 8:
            rc = get_u32(d, &f, &m->noverflow);
            break;
        case 9:
            rc = get_u64(d, &f, &m->bucket_size);
            break;
        case 10:
            rc = get_bool(d, &f, &m->growing);
            break;
        case 11:
            rc = get_bool(d, &f, &m->gone);
            break;
        case 12:
            rc = get_u64(d, &f, &m->growth_pc);
            break;
        case 13:
            rc = get_str(d, &f, &m->growth_op);
            break;
        case 14:
            rc = get_str(d, &f, &m->growth_function);
            break;
        case 15:
            rc = get_str(d, &f, &m->growth_file);
            break;
        case 16:
            rc = get_i64(d, &f, &m->growth_line);
            break;
        case 17:
            rc = get_u64(d, &f, &m->lists_bytes);
            break;
        default:
            break;
        }
        if (rc) return -1;
    }
    return 0;
}

static const char empty[] = "";

static void map_defaults(mf_at_map *m)
{
    memset(m, 0, sizeof *m);
    m->type = m->growth_op = m->growth_function = m->growth_file = empty;
}

/* A map record of a cycle event, appended to the arena's list. */
static int add_map(dec *d, const field *f)
{
    if (want(d, f, MF_WT_LEN)) return -1;
    arena *a = d->a;
    if (a->nmaps == MF_AT_MAX_MAPS) return fail(d, f->p, "more map records than allowed", f->no);
    if (a->nmaps == a->capmaps) {
        size_t cap = a->capmaps ? a->capmaps * 2 : 16;
        mf_at_map *v = realloc(a->maps, cap * sizeof *v);
        if (!v) return fail(d, f->p, "out of memory", f->no);
        a->maps = v;
        a->capmaps = cap;
    }
    mf_at_map *m = &a->maps[a->nmaps];
    map_defaults(m);
    const char *outer = d->msg;
    d->msg = "MapRecord";
    int rc = dec_map(d, f->p, f->p + f->len, m);
    d->msg = outer;
    if (rc) return -1;
    a->nmaps++;
    return 0;
}

static int dec_cycle(dec *d, const uint8_t *p, const uint8_t *end, mf_at_cycle *c)
{
    field f;
    FIELDS(d, p, end, f)
    {
        int rc = 0;
        switch (f.no) {
        case 1:
            rc = get_u32(d, &f, &c->gc_cycle);
            break;
        case 2:
            rc = get_i64(d, &f, &c->end_ns);
            break;
        case 3:
            rc = get_u64(d, &f, &c->pause_ns);
            break;
        case 4:
            rc = get_u64(d, &f, &c->live_bytes);
            break;
        case 5:
            rc = get_u64(d, &f, &c->live_objects);
            break;
        case 6:
            rc = get_u64(d, &f, &c->garbage_bytes);
            break;
        case 8:
            rc = get_u64(d, &f, &c->next_gc);
            break;
        case 9:
            rc = get_u64(d, &f, &c->total_alloc);
            break;
        case 10:
            rc = get_u64(d, &f, &c->mallocs);
            break;
        case 11:
            rc = get_u64(d, &f, &c->profile_rate);
            break;
        case 12:
            rc = get_u64(d, &f, &c->dropped);
            break;
        case 13:
            rc = get_bool(d, &f, &c->census);
            break;
        case 14:
            rc = get_u64(d, &f, &c->maps_total);
            break;
        case 15:
            rc = get_u64(d, &f, &c->entries_total);
            break;
        case 16:
            rc = get_u32(d, &f, &c->maps_omitted);
            break;
        case 17:
            rc = add_map(d, &f);
            break;
        case 18:
            rc = get_u64(d, &f, &c->agent_ns);
            break;
        default:
            break;
        }
        if (rc) return -1;
    }
    return 0;
}

static int dec_goodbye(dec *d, const uint8_t *p, const uint8_t *end, mf_at_goodbye *g)
{
    field f;
    FIELDS(d, p, end, f)
    {
        if (f.no == 1 && get_str(d, &f, &g->reason)) return -1;
    }
    return 0;
}

/* Every string of every body starts as "", so a decoded frame never has
 * a NULL string. */
static void defaults(mf_at_frame *f)
{
    f->hello.client = empty;
    mf_at_welcome *w = &f->welcome;
    w->program = w->args = w->build_id = w->maproot_version = empty;
    f->reply.message = empty;
    f->done.message = empty;
    f->goodbye.reason = empty;
}

/* Decodes the body of kind k at [p, end) into out. */
static int dec_body(dec *d, mf_at_kind k, const uint8_t *p, const uint8_t *end, mf_at_frame *out)
{
    d->msg = mf_at_kind_name(k);
    switch (k) {
    case MF_AT_HELLO:
        return dec_hello(d, p, end, &out->hello);
    case MF_AT_SET_PROFILE_RATE:
        return dec_rate(d, p, end, &out->profile_rate);
    case MF_AT_SNAPSHOT:
        return dec_snapshot(d, p, end, &out->snapshot);
    case MF_AT_SUBSCRIBE:
        return dec_subscribe(d, p, end, &out->subscribe);
    case MF_AT_DETACH:
        return dec_empty(d, p, end);
    case MF_AT_WELCOME:
        return dec_welcome(d, p, end, &out->welcome);
    case MF_AT_REPLY:
        return dec_reply(d, p, end, &out->reply);
    case MF_AT_SNAPSHOT_DONE:
        return dec_done(d, p, end, &out->done);
    case MF_AT_CYCLE:
        return dec_cycle(d, p, end, &out->cycle);
    default:
        return dec_goodbye(d, p, end, &out->goodbye);
    }
}

int mf_at_decode(const uint8_t *p, size_t n, mf_at_dir dir, mf_at_frame *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    defaults(out);
    size_t max = dir == MF_AT_FROM_CLIENT ? MF_AT_MAX_CLIENT_FRAME : MF_AT_MAX_AGENT_FRAME;
    if (n > max) {
        mf_error_set(err, "attach frame: %zu bytes, over the limit of %zu", n, max);
        return -1;
    }
    arena *a = calloc(1, sizeof *a);
    if (a) a->strs = malloc(n + 1);
    if (!a || !a->strs) {
        free(a);
        mf_error_set(err, "attach frame: out of memory");
        return -1;
    }
    a->cap = n + 1;
    out->arena_ = a;
    dec d = {p, a, err, "Frame"};
    const uint8_t *q = p, *end = p + n;
    field f;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    for (int r; (r = next_field(&d, &q, end, &f)) != 0;) {
        if (r < 0) return -1;
        if (f.no == 1) {
            if (get_u64(&d, &f, &out->request_id)) return -1;
        } else if ((from_client((mf_at_kind)f.no) || from_agent((mf_at_kind)f.no))) {
            if (want(&d, &f, MF_WT_LEN)) return -1;
            if (out->kind != MF_AT_NONE && out->kind != (mf_at_kind)f.no)
                return fail(&d, f.p, "a second body in one frame", f.no);
            if (out->kind == (mf_at_kind)f.no) return fail(&d, f.p, "the body given twice", f.no);
            out->kind = (mf_at_kind)f.no;
            body = f.p;
            body_len = f.len;
        }
    }
    if (out->kind == MF_AT_NONE) return fail(&d, p, "no body", 0);
    bool allowed = dir == MF_AT_FROM_CLIENT ? from_client(out->kind) : from_agent(out->kind);
    if (!allowed) {
        mf_error_set(err, "attach frame: a %s may not come from %s", mf_at_kind_name(out->kind),
                     dir == MF_AT_FROM_CLIENT ? "a client" : "the agent");
        return -1;
    }
    if (dec_body(&d, out->kind, body, body + body_len, out)) return -1;
    out->cycle.maps = a->maps;
    out->cycle.nmaps = a->nmaps;
    return 0;
}

void mf_at_frame_free(mf_at_frame *f)
{
    arena *a = f->arena_;
    if (a) {
        free(a->strs);
        free(a->maps);
        free(a);
    }
    memset(f, 0, sizeof *f);
}
