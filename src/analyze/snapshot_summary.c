/* src/analyze/snapshot_summary.c -- see snapshot_summary.h. */
#include "analyze/snapshot_summary.h"

#include "analyze/display_path.h"
#include "analyze/json_text.h"
#include "analyze/report.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct acc {
    mp_snap_summary *s;
    uint64_t *tcount, *tbytes; /* by type index + 1 */
    size_t tcap;
    size_t rcap, mcap;
    bool oom;
} acc;

static char *dup(acc *a, const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) a->oom = true;
    return d;
}

static int nomem(mf_error *err)
{
    mf_error_set(err, "out of memory");
    return -1;
}

static int s_header(void *ud, const mf_gs_reader *r, const mf_gs_header *h, mf_error *err)
{
    (void)r;
    acc *a = ud;
    a->s->h = *h;
    a->s->program = dup(a, h->program);
    a->s->build_id = dup(a, h->build_id);
    a->s->writer = dup(a, h->writer);
    return a->oom ? nomem(err) : 0;
}

/* Per-type tallies are indexed by type index + 1 (0: untyped); the table
 * grows as types appear. */
static int s_objects(void *ud, const mf_gs_reader *r, uint64_t first, size_t n, mf_error *err)
{
    acc *a = ud;
    size_t need = mf_gs_ntypes(r) + 1;
    if (need > a->tcap) {
        uint64_t *c = realloc(a->tcount, need * sizeof *c), *b;
        if (!c) return nomem(err);
        a->tcount = c;
        if (!(b = realloc(a->tbytes, need * sizeof *b))) return nomem(err);
        a->tbytes = b;
        memset(a->tcount + a->tcap, 0, (need - a->tcap) * sizeof *c);
        memset(a->tbytes + a->tcap, 0, (need - a->tcap) * sizeof *b);
        a->tcap = need;
    }
    const uint32_t *t = mf_gs_object_types(r);
    const uint64_t *sz = mf_gs_object_sizes(r);
    for (size_t i = first; i < first + n; i++) {
        a->tcount[t[i]]++;
        a->tbytes[t[i]] += sz[i];
        a->s->bytes += sz[i];
    }
    a->s->objects += n;
    return 0;
}

static int s_edges(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                   const uint32_t *counts, size_t ne, const uint64_t *offs, const uint64_t *tg,
                   mf_error *err)
{
    (void)r, (void)first, (void)n, (void)counts, (void)offs, (void)tg, (void)err;
    ((acc *)ud)->s->edges += ne;
    return 0;
}

static const char *type_name_of(const mf_gs_reader *r, uint64_t obj)
{
    uint32_t t = mf_gs_object_types(r)[obj];
    return t ? mf_gs_type_at(r, t - 1)->name : "?";
}

static int s_root(void *ud, const mf_gs_reader *r, const mf_gs_root *rt, mf_error *err)
{
    acc *a = ud;
    mp_snap_summary *s = a->s;
    if (s->nroots == a->rcap) {
        size_t cap = a->rcap ? a->rcap * 2 : 64;
        mp_snap_root *v = realloc(s->roots, cap * sizeof *v);
        if (!v) return nomem(err);
        s->roots = v;
        a->rcap = cap;
    }
    mp_snap_root *o = &s->roots[s->nroots++];
    memset(o, 0, sizeof *o);
    o->kind = rt->kind;
    o->name = dup(a, rt->name);
    char shown[1024];
    o->file = dup(a, mp_display_path(rt->file, shown, sizeof shown));
    o->line = rt->line;
    o->thread = rt->thread;
    o->frame = rt->frame;
    const char *fn = rt->function;
    char where[600] = "";
    if (rt->symbol) {
        const mf_gs_symbol *sy = mf_gs_symbol_at(r, rt->symbol - 1);
        if (sy->function[0]) fn = sy->function;
        if (sy->file[0])
            snprintf(where, sizeof where, "%s:%" PRId64,
                     mp_display_path(sy->file, shown, sizeof shown), sy->line);
    }
    o->function = dup(a, fn);
    o->where = dup(a, where);
    o->target = mf_gs_object_addresses(r)[rt->target];
    o->target_type = dup(a, type_name_of(r, rt->target));
    s->roots_by_kind[rt->kind < MF_GS_ROOT_NKINDS ? rt->kind : MF_GS_ROOT_NKINDS]++;
    return a->oom ? nomem(err) : 0;
}

static int s_map(void *ud, const mf_gs_reader *r, const mf_gs_map *m, mf_error *err)
{
    acc *a = ud;
    mp_snap_summary *s = a->s;
    if (s->nmaps == a->mcap) {
        size_t cap = a->mcap ? a->mcap * 2 : 16;
        mp_snap_map *v = realloc(s->maps, cap * sizeof *v);
        if (!v) return nomem(err);
        s->maps = v;
        a->mcap = cap;
    }
    mp_snap_map *o = &s->maps[s->nmaps++];
    memset(o, 0, sizeof *o);
    const uint64_t *sz = mf_gs_object_sizes(r);
    o->address = m->address;
    o->type_name = dup(a, m->type_name);
    o->count = m->count;
    o->B = m->B;
    o->nbuckets = (uint64_t)1 << m->B;
    o->noldbuckets = m->noldbuckets;
    o->nevacuate = m->nevacuate;
    o->growing = m->oldbuckets != 0;
    o->same_size_growth = o->growing && m->noldbuckets == o->nbuckets;
    o->table_bytes = sz[m->object];
    if (m->buckets_obj != MF_GS_NONE) o->table_bytes += sz[m->buckets_obj];
    if (m->oldbuckets_obj != MF_GS_NONE) o->table_bytes += sz[m->oldbuckets_obj];
    return a->oom ? nomem(err) : 0;
}

static int s_buckets(void *ud, const mf_gs_reader *r, const mf_gs_map *m, const mf_gs_bucket *b,
                     size_t nb, const mf_gs_entry *e, size_t ne, mf_error *err)
{
    (void)e, (void)err;
    acc *a = ud;
    mp_snap_map *o = &a->s->maps[m->index];
    const uint64_t *sz = mf_gs_object_sizes(r);
    for (size_t i = 0; i < nb; i++)
        if (b[i].overflow) {
            o->noverflow_buckets++;
            o->table_bytes += sz[b[i].object];
        }
    o->entries += ne;
    return 0;
}

static int s_samples(void *ud, const mf_gs_reader *r, size_t n, const uint64_t *objs,
                     const uint32_t *stacks, mf_error *err)
{
    (void)r, (void)objs, (void)stacks, (void)err;
    ((acc *)ud)->s->samples += n;
    return 0;
}

static int cmp_type(const void *x, const void *y)
{
    const mp_snap_type *a = x, *b = y;
    if (a->bytes != b->bytes) return a->bytes < b->bytes ? 1 : -1;
    return strcmp(a->name, b->name);
}

int mp_snap_summarize(const char *path, mp_snap_summary *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    mf_in *in = mf_in_open(path, err);
    if (!in) return -1;
    int rc = mp_snap_summarize_in(in, out, err);
    mf_in_close(in);
    return rc;
}

int mp_snap_summarize_in(mf_in *in, mp_snap_summary *out, mf_error *err)
{
    const char *path = mf_in_name(in);
    memset(out, 0, sizeof *out);
    acc a = {.s = out};
    mf_gs_callbacks cb = {.ud = &a,
                          .on_header = s_header,
                          .on_objects = s_objects,
                          .on_edges = s_edges,
                          .on_root = s_root,
                          .on_map = s_map,
                          .on_buckets = s_buckets,
                          .on_samples = s_samples};
    mf_gs_reader *r = NULL;
    int rc = -1;
    if (!(out->file = strdup(path))) {
        nomem(err);
        goto out;
    }
    if (mf_gs_read_in(in, &cb, &r, err)) goto out;
    out->h.program = out->program;
    out->h.build_id = out->build_id;
    out->h.writer = out->writer;
    size_t nt = 0;
    for (size_t i = 0; i < a.tcap; i++) nt += a.tcount[i] != 0;
    out->types = calloc(nt ? nt : 1, sizeof *out->types);
    if (!out->types) {
        nomem(err);
        goto out;
    }
    for (size_t i = 0; i < a.tcap; i++) {
        if (!a.tcount[i]) continue;
        mp_snap_type *t = &out->types[out->ntypes++];
        const mf_gs_type *ty = i ? mf_gs_type_at(r, (uint32_t)(i - 1)) : NULL;
        t->name = dup(&a, ty ? ty->name : "(no type)");
        t->kind = ty ? ty->kind : MF_GS_KIND_RUNTIME;
        t->objects = a.tcount[i];
        t->bytes = a.tbytes[i];
    }
    if (a.oom) {
        nomem(err);
        goto out;
    }
    if (out->ntypes > 1) qsort(out->types, out->ntypes, sizeof *out->types, cmp_type);
    rc = 0;
out:
    mf_gs_reader_free(r);
    free(a.tcount);
    free(a.tbytes);
    if (rc) mp_snap_summary_free(out);
    return rc;
}

void mp_snap_summary_free(mp_snap_summary *s)
{
    free(s->file);
    free(s->program);
    free(s->build_id);
    free(s->writer);
    for (size_t i = 0; i < s->ntypes; i++) free(s->types[i].name);
    free(s->types);
    for (size_t i = 0; i < s->nroots; i++) {
        mp_snap_root *r = &s->roots[i];
        free(r->name);
        free(r->file);
        free(r->function);
        free(r->where);
        free(r->target_type);
    }
    free(s->roots);
    for (size_t i = 0; i < s->nmaps; i++) free(s->maps[i].type_name);
    free(s->maps);
    memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------ text --- */

static const char *growth_state(const mp_snap_map *m, char *buf, size_t n)
{
    if (!m->growing) return "not growing";
    snprintf(buf, n, "%s growth, %" PRIu64 " of %" PRIu64 " old buckets evacuated",
             m->same_size_growth ? "same-size" : "doubling", m->nevacuate, m->noldbuckets);
    return buf;
}

static void root_label(const mp_snap_root *r, char *buf, size_t n)
{
    switch (r->kind) {
    case MF_GS_ROOT_GLOBAL:
        if (r->file[0])
            snprintf(buf, n, "%s  %s:%" PRId64, r->name, r->file, r->line);
        else
            snprintf(buf, n, "%s", r->name);
        break;
    case MF_GS_ROOT_STACK:
    case MF_GS_ROOT_ITERATOR:
        snprintf(buf, n, "thread %u, frame #%u %s%s%s%s", r->thread, r->frame,
                 r->function[0] ? r->function : "?", r->where[0] ? " (" : "", r->where,
                 r->where[0] ? ")" : "");
        break;
    case MF_GS_ROOT_REGISTER:
        if (r->function[0])
            snprintf(buf, n, "thread %u, register %s, frame #%u %s%s%s%s", r->thread, r->name,
                     r->frame, r->function, r->where[0] ? " (" : "", r->where,
                     r->where[0] ? ")" : "");
        else
            snprintf(buf, n, "thread %u, register %s", r->thread, r->name);
        break;
    default:
        snprintf(buf, n, "%s", r->name[0] ? r->name : "-");
    }
}

void mp_snap_print_text(FILE *out, const mp_snap_summary *s, size_t top_n)
{
    char b1[64], b2[64];
    mp_format_value(b1, sizeof b1, (int64_t)s->bytes, "bytes", false);
    fprintf(out, "maproot: snapshot %s\n", s->file);
    fprintf(out, "  program  %s (pid %" PRIu64 ")%s%s\n", s->program[0] ? s->program : "?",
            s->h.pid, s->build_id[0] ? ", build ID " : "", s->build_id);
    fprintf(out, "  cycle    GC cycle %u, written by a %s (%s)\n", s->h.gc_cycle,
            s->h.write_mode == MF_GS_MODE_FORK ? "forked child" : "stopped world",
            mf_gs_write_mode_name(s->h.write_mode));
    fprintf(out,
            "  heap     %s in %" PRIu64 " live objects, %" PRIu64 " pointer edges, %" PRIu64
            " sampled allocation stacks\n",
            b1, s->objects, s->edges, s->samples);
    const mf_gs_pause *p = &s->h.pause;
    if (p->pause_ns) {
        fprintf(out,
                "  pause    world stopped %.3f ms when the snapshot was taken (stopping %.3f, "
                "sweep termination %.3f, marking %.3f)",
                (double)p->pause_ns / 1e6, (double)p->stop_ns / 1e6,
                (double)p->sweep_termination_ns / 1e6, (double)p->mark_ns / 1e6);
        if (p->last_pause_ns)
            fprintf(out, "; previous cycle %.3f ms", (double)p->last_pause_ns / 1e6);
        fputc('\n', out);
    }

    fprintf(out, "\nOBJECTS BY TYPE%s\n", top_n && s->ntypes > top_n ? " (largest first)" : "");
    fprintf(out, "  %12s %12s %8s  %s\n", "objects", "bytes", "share", "type");
    size_t nt = top_n && top_n < s->ntypes ? top_n : s->ntypes;
    for (size_t i = 0; i < nt; i++) {
        const mp_snap_type *t = &s->types[i];
        mp_format_value(b1, sizeof b1, (int64_t)t->bytes, "bytes", false);
        mp_format_pct(b2, sizeof b2, (int64_t)t->bytes, (int64_t)s->bytes);
        fprintf(out, "  %12" PRIu64 " %12s %8s  %s (%s)\n", t->objects, b1, b2, t->name,
                mf_gs_type_kind_name(t->kind));
    }
    if (nt < s->ntypes) fprintf(out, "  ... %zu more types (--top 0 shows all)\n", s->ntypes - nt);

    fprintf(out, "\nROOTS  %zu:", s->nroots);
    for (int k = 0; k <= MF_GS_ROOT_NKINDS; k++)
        if (s->roots_by_kind[k])
            fprintf(out, " %" PRIu64 " %s", s->roots_by_kind[k], mf_gs_root_kind_name((uint32_t)k));
    fputc('\n', out);
    for (int k = 0; k <= MF_GS_ROOT_NKINDS; k++) {
        for (size_t i = 0; i < s->nroots; i++) {
            const mp_snap_root *r = &s->roots[i];
            if ((int)(r->kind < MF_GS_ROOT_NKINDS ? r->kind : MF_GS_ROOT_NKINDS) != k) continue;
            char lab[1200];
            root_label(r, lab, sizeof lab);
            fprintf(out, "  %-8s %s -> %s 0x%" PRIx64 "\n", mf_gs_root_kind_name(r->kind), lab,
                    r->target_type, r->target);
        }
    }

    fprintf(out, "\nMAPS  %zu\n", s->nmaps);
    for (size_t i = 0; i < s->nmaps; i++) {
        const mp_snap_map *m = &s->maps[i];
        char g[128];
        mp_format_value(b1, sizeof b1, (int64_t)m->table_bytes, "bytes", false);
        fprintf(out, "  %s at 0x%" PRIx64 "\n", m->type_name, m->address);
        fprintf(out,
                "    %" PRIu64 " entries, B=%" PRIu64 ": %" PRIu64 " buckets + %" PRIu64
                " overflow, %s; table %s\n",
                m->count, m->B, m->nbuckets, m->noverflow_buckets, growth_state(m, g, sizeof g),
                b1);
    }
}

/* ------------------------------------------------------------ json --- */

static int put(json_t *o, const char *k, json_t *v)
{
    return (o && v && json_object_set_new(o, k, v) == 0) ? 0 : -1;
}

int mp_snap_print_json(FILE *out, const mp_snap_summary *s, mf_error *err)
{
    json_t *root = json_object(), *types = json_array(), *roots = json_array(),
           *maps = json_array(), *byk = json_object();
    int bad = !root || !types || !roots || !maps || !byk;
    bad |= put(root, "file", mp_json_text(s->file)) | put(root, "format", mp_json_text("gcstack")) |
           put(root, "version", json_integer(s->h.version)) |
           put(root, "program", mp_json_text(s->program)) |
           put(root, "build_id", mp_json_text(s->build_id)) |
           put(root, "pid", json_integer((json_int_t)s->h.pid)) |
           put(root, "time_nanos", json_integer(s->h.time_nanos)) |
           put(root, "gc_cycle", json_integer(s->h.gc_cycle)) |
           put(root, "write_mode", mp_json_text(mf_gs_write_mode_name(s->h.write_mode))) |
           put(root, "profile_rate", json_integer((json_int_t)s->h.profile_rate)) |
           put(root, "objects", json_integer((json_int_t)s->objects)) |
           put(root, "bytes", json_integer((json_int_t)s->bytes)) |
           put(root, "edges", json_integer((json_int_t)s->edges)) |
           put(root, "samples", json_integer((json_int_t)s->samples));
    for (size_t i = 0; i < s->ntypes && !bad; i++) {
        json_t *t = json_object();
        bad |= put(t, "type", mp_json_text(s->types[i].name)) |
               put(t, "kind", mp_json_text(mf_gs_type_kind_name(s->types[i].kind))) |
               put(t, "objects", json_integer((json_int_t)s->types[i].objects)) |
               put(t, "bytes", json_integer((json_int_t)s->types[i].bytes));
        bad |= !t || json_array_append_new(types, t);
    }
    for (int k = 0; k <= MF_GS_ROOT_NKINDS && !bad; k++)
        if (s->roots_by_kind[k])
            bad |= put(byk, mf_gs_root_kind_name((uint32_t)k),
                       json_integer((json_int_t)s->roots_by_kind[k]));
    for (size_t i = 0; i < s->nroots && !bad; i++) {
        const mp_snap_root *r = &s->roots[i];
        json_t *o = json_object();
        bad |= put(o, "kind", mp_json_text(mf_gs_root_kind_name(r->kind))) |
               put(o, "name", mp_json_text(r->name)) | put(o, "file", mp_json_text(r->file)) |
               put(o, "line", json_integer(r->line)) | put(o, "thread", json_integer(r->thread)) |
               put(o, "frame", json_integer(r->frame)) |
               put(o, "function", mp_json_text(r->function)) |
               put(o, "where", mp_json_text(r->where)) |
               put(o, "target", json_integer((json_int_t)r->target)) |
               put(o, "target_type", mp_json_text(r->target_type));
        bad |= !o || json_array_append_new(roots, o);
    }
    for (size_t i = 0; i < s->nmaps && !bad; i++) {
        const mp_snap_map *m = &s->maps[i];
        json_t *o = json_object();
        bad |= put(o, "type", mp_json_text(m->type_name)) |
               put(o, "address", json_integer((json_int_t)m->address)) |
               put(o, "count", json_integer((json_int_t)m->count)) |
               put(o, "B", json_integer((json_int_t)m->B)) |
               put(o, "buckets", json_integer((json_int_t)m->nbuckets)) |
               put(o, "overflow_buckets", json_integer((json_int_t)m->noverflow_buckets)) |
               put(o, "growing", json_boolean(m->growing)) |
               put(o, "same_size_growth", json_boolean(m->same_size_growth)) |
               put(o, "old_buckets", json_integer((json_int_t)m->noldbuckets)) |
               put(o, "evacuated", json_integer((json_int_t)m->nevacuate)) |
               put(o, "table_bytes", json_integer((json_int_t)m->table_bytes));
        bad |= !o || json_array_append_new(maps, o);
    }
    if (!bad) {
        bad |= put(root, "types", types);
        types = NULL;
        bad |= put(root, "roots_by_kind", byk);
        byk = NULL;
        bad |= put(root, "roots", roots);
        roots = NULL;
        bad |= put(root, "maps", maps);
        maps = NULL;
    }
    json_decref(types);
    json_decref(byk);
    json_decref(roots);
    json_decref(maps);
    if (bad || json_dumpf(root, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF) {
        json_decref(root);
        mf_error_set(err, "cannot produce the JSON output");
        return -1;
    }
    json_decref(root);
    return 0;
}
