/*
 * src/analyze/snapshot_json.c -- the JSON rendering of a snapshot analysis:
 * the schema in man/maproot-analyze.1 ("SNAPSHOT JSON") and
 * doc/schema/maproot.schema.json, stable (fields are only ever added).
 * Written as it is made with json_stream.h: the long arrays (maps, entries)
 * are never held whole, each element being built as a jansson value,
 * written and dropped. Chains, roots and frames are built here for the
 * group reports too (mp_snapshot_chain_json and its siblings).
 */
#include "analyze/snapshot_report.h"

#include "analyze/group_report.h"
#include "analyze/json_stream.h"
#include "analyze/json_text.h"
#include "analyze/map_match.h"
#include "analyze/snapshot_report_internal.h"
#include "analyze/views.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- json --- */

static const char *const step_kinds[] = {"root",     "object", "map",   "bucket",
                                         "overflow", "slot",   "elided"};

/* Steals v into obj[field]; -1 when v is NULL or the set fails. */
static int put(json_t *obj, const char *field, json_t *v)
{
    return obj && v && json_object_set_new(obj, field, v) == 0 ? 0 : -1;
}

static const char *const key_kinds[] = {"other", "int", "pointer", "string", "bytes"};

/* A sync.Map's map (graph.h: mp_sync_map): the global that holds it
 * (null when none does: a struct on the heap or a stack does) and whether
 * the report's map is both of its maps; null for other maps. */
static json_t *sync_map_json(const mp_graph *g, const mp_map *m)
{
    if (!m->sync_map) return json_null();
    json_t *o = json_object();
    bool joined = m->sync_map == MP_SYNC_JOINED;
    const mp_map_aside *x = mp_map_aside_of(g, m);
    if (!o ||
        (x->container ? mp_json_set_text(o, "container", mp_str(g, x->container))
                      : json_object_set_new(o, "container", json_null())) ||
        json_object_set_new(o, "maps", json_string(joined ? "read_and_dirty" : "one")) ||
        json_object_set_new(o, "read_buckets",
                            json_integer(joined ? (json_int_t)x->sync_read_buckets : 0)) ||
        json_object_set_new(o, "read_overflow_buckets",
                            json_integer(joined ? (json_int_t)x->sync_read_overflow : 0))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A bucket step's own bucket: its address (the object's, where the input
 * does not say), and the object that holds it (a bucket array holds many). */
static int bucket_json(json_t *j, const mp_graph *g, const mp_step *s)
{
    uint32_t bi =
        s->index == UINT64_MAX
            ? MP_NONE
            : mp_graph_bucket_record(g, s->a, s->map, s->index,
                                     s->kind == MP_STEP_OVERFLOW ? s->overflow : 0, s->old);
    uint64_t own =
        bi != MP_NONE && g->buckets[bi].address ? g->buckets[bi].address : mp_obj_addr(g, s->a);
    return put(j, "address", json_integer((json_int_t)own)) |
           put(j, "object_address", json_integer((json_int_t)mp_obj_addr(g, s->a)));
}

static json_t *chain_json(const mp_graph *g, const mp_step *s, size_t n)
{
    json_t *arr = json_array();
    int bad = !arr;
    for (size_t i = 0; !bad && i < n; i++) {
        char t[512];
        mp_step_text(g, &s[i], t, sizeof t);
        json_t *j = json_object();
        bad |= put(j, "kind", json_string(step_kinds[s[i].kind])) | mp_json_set_text(j, "text", t);
        if (s[i].kind == MP_STEP_ROOT) {
            bad |= put(j, "root", json_integer(s[i].a));
        } else if (s[i].kind == MP_STEP_ELIDED) {
            bad |= put(j, "steps", json_integer((json_int_t)s[i].index));
        } else if (s[i].kind != MP_STEP_SLOT) {
            if (s[i].kind == MP_STEP_BUCKET || s[i].kind == MP_STEP_OVERFLOW)
                bad |= bucket_json(j, g, &s[i]);
            else
                bad |= put(j, "address", json_integer((json_int_t)mp_obj_addr(g, s[i].a)));
            bad |= mp_json_set_text(j, "type", mp_graph_type_name(g, s[i].a));
        }
        /* buckets and array elements: which one; slots: where, and the key */
        if ((s[i].kind == MP_STEP_OBJECT || s[i].kind == MP_STEP_BUCKET ||
             s[i].kind == MP_STEP_OVERFLOW) &&
            s[i].index != UINT64_MAX)
            bad |= put(j, "index", json_integer((json_int_t)s[i].index));
        if (s[i].kind == MP_STEP_OVERFLOW) bad |= put(j, "overflow", json_integer(s[i].overflow));
        if (s[i].kind == MP_STEP_SLOT) {
            char kb[32];
            bad |= put(j, "slot", json_integer(s[i].slot)) |
                   put(j, "bucket", json_integer((json_int_t)s[i].index)) |
                   put(j, "overflow", json_integer(s[i].overflow)) |
                   mp_json_set_key(j, mp_sr_key_text(g, s[i].a, kb, sizeof kb));
        }
        bad |= json_array_append_new(arr, j);
    }
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static json_t *frame_json(const mp_graph *g, uint32_t f)
{
    if (f == MP_NONE) return json_null();
    json_t *j = json_object();
    if (mp_json_set_text(j, "function", mp_str(g, g->frames[f].function)) |
        mp_json_set_text(j, "file", mp_str(g, g->frames[f].file)) |
        put(j, "line", json_integer((json_int_t)g->frames[f].line))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *root_json(const mp_graph *g, uint32_t r)
{
    if (r >= g->nroots) return json_null();
    const mp_root *x = &g->roots[r];
    char t[512], var[512];
    mp_root_text(g, r, t, sizeof t);
    bool is_var = mp_root_variable(g, r, var, sizeof var);
    json_t *j = json_object();
    int bad = put(j, "index", json_integer((json_int_t)r)) |
              put(j, "kind", json_string(mp_root_kind_name(x->kind))) |
              mp_json_set_text(j, "name", mp_str(g, x->name)) |
              mp_json_set_text(j, "function", mp_str(g, x->function)) |
              mp_json_set_text(j, "file", mp_str(g, x->file)) |
              put(j, "line", json_integer((json_int_t)x->line)) |
              put(j, "thread", json_integer((json_int_t)x->thread)) |
              put(j, "frame", json_integer((json_int_t)x->frame)) | mp_json_set_text(j, "text", t) |
              put(j, "slot", json_integer((json_int_t)x->slot)) |
              mp_json_set_text(j, "state", mp_str(g, x->state)) |
              put(j, "frame_offset",
                  x->has_frame_offset ? json_integer((json_int_t)x->frame_offset) : json_null()) |
              (is_var ? mp_json_set_text(j, "variable", var) : put(j, "variable", json_null()));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *entry_json(const mp_snapshot_analysis *a, uint32_t ei)
{
    const mp_graph *g = a->g;
    mp_entry en;
    const mp_entry *e = &en;
    mp_graph_entry(g, ei, &en);
    bool shared;
    uint64_t ret = mp_findings_entry(&a->f, ei, &shared);
    char kb[32];
    mp_step s[MP_CHAIN_STEPS];
    json_t *je = json_object();
    int bad =
        mp_json_set_key(je, mp_entry_key(g, e, kb, sizeof kb)) |
        mp_json_set_text(je, "value_type", mp_sr_entry_value_type(g, e)) |
        put(je, "retained_bytes", json_integer((json_int_t)ret)) |
        put(je, "shared", json_boolean(shared)) |
        put(je, "shared_bytes", json_integer(shared ? (json_int_t)mp_sr_entry_bytes(a, ei) : 0)) |
        put(je, "bucket", json_integer((json_int_t)e->bucket)) |
        put(je, "overflow", json_integer(e->overflow)) | put(je, "slot", json_integer(e->slot)) |
        put(je, "site", frame_json(g, mp_stack_site(g, mp_entry_stack(g, &a->d, ei))));
    size_t cn = mp_sr_entry_chain(a, ei, s, MP_CHAIN_STEPS);
    if (cn > MP_CHAIN_STEPS) cn = MP_CHAIN_STEPS;
    bad |= put(je, "chain", chain_json(g, s, cn)) | mp_chain_length_json(je, s, cn);
    if (bad) {
        json_decref(je);
        return NULL;
    }
    return je;
}

/* A map's object but its entries (the last member, write_map's). */
static json_t *map_json(const mp_snapshot_analysis *a, const mp_map_report *r, size_t rank)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    const mp_map_rare *x = mp_report_rare(&a->f, r);
    json_t *j = json_object();
    int bad =
        put(j, "index", json_integer(r->map)) |
        mp_json_set_text(j, "type", mp_sr_map_type(g, r->map)) |
        put(j, "key_kind",
            json_string(m->key_kind < sizeof key_kinds / sizeof *key_kinds ? key_kinds[m->key_kind]
                                                                           : "other")) |
        put(j, "address", json_integer((json_int_t)m->address)) |
        put(j, "suspect", json_boolean(r->suspect)) |
        put(j, "rank", rank ? json_integer((json_int_t)rank) : json_null()) |
        put(j, "count", json_integer((json_int_t)m->count)) |
        put(j, "entries_walked", json_integer((json_int_t)m->nentries)) |
        put(j, "key_size", json_integer(m->key_size)) |
        put(j, "value_size", json_integer(m->value_size)) |
        put(j, "types_inferred", json_boolean(m->types_inferred)) |
        put(j, "B", json_integer(m->B)) | put(j, "buckets", json_integer((json_int_t)m->nmain)) |
        put(j, "overflow_buckets", json_integer((json_int_t)m->noverflow_walked)) |
        put(j, "old_buckets", json_integer((json_int_t)m->nold)) |
        put(j, "nevacuate", json_integer((json_int_t)mp_map_aside_of(g, m)->nevacuate)) |
        put(j, "table_bytes", json_integer((json_int_t)m->table_bytes)) |
        put(j, "retained_bytes", json_integer((json_int_t)r->retained)) |
        put(j, "entries_retained_bytes", json_integer((json_int_t)r->entries_retained)) |
        put(j, "keys_retained_bytes", json_integer((json_int_t)r->keys_retained)) |
        put(j, "shared_entries", json_integer((json_int_t)r->shared_entries)) |
        put(j, "shared_bytes", json_integer((json_int_t)r->shared_bytes)) |
        put(j, "old_bytes", json_integer((json_int_t)x->old_bytes)) |
        put(j, "slice_buffers", json_integer((json_int_t)x->slice_buffers)) |
        put(j, "nan_keys", json_integer((json_int_t)mp_map_aside_of(g, m)->nan_keys)) |
        put(j, "sync_map", sync_map_json(g, m)) |
        put(j, "slice_bytes", json_integer((json_int_t)x->slice_bytes)) |
        put(j, "slice_of",
            json_string(x->slice_of == MP_SLICE_KEYS     ? "keys"
                        : x->slice_of == MP_SLICE_VALUES ? "values"
                        : x->slice_of                    ? "keys_and_values"
                                                         : "none")) |
        put(j, "load", json_real(mp_map_load(m))) | put(j, "fill", json_real(mp_map_fill(m)));
    json_t *ev = json_array(), *ctx = json_array();
    for (unsigned b = 0; b < MP_EV_COUNT; b++)
        if (r->evidence & (1u << b))
            bad |= json_array_append_new((1u << b) & MP_EV_CONTEXT ? ctx : ev,
                                         json_string(mp_evidence_name(b)));
    bad |=
        put(j, "evidence", ev) | put(j, "context", ctx) |
        put(j, "fix", r->suspect ? json_string(mp_evidence_fix(r->evidence)) : json_null()) |
        put(j, "inner_suspect_bytes", json_integer((json_int_t)x->inner_bytes)) |
        put(j, "inner_suspect",
            x->inner_bytes && x->inner_map != MP_NONE ? json_integer(x->inner_map) : json_null()) |
        put(j, "growth_entries", json_integer((json_int_t)x->growth_entries)) |
        put(j, "growth_bytes", json_integer((json_int_t)x->growth_bytes)) |
        put(j, "root", root_json(g, r->root)) |
        put(j, "retainer", root_json(g, mp_sr_named_root(g, &a->f, r)));
    uint32_t other[MP_MAX_LISTED_ROOTS];
    size_t no = mp_sr_sharing_roots(a, r, other, MP_MAX_LISTED_ROOTS);
    json_t *sr = json_array();
    for (size_t i = 0; i < no; i++) bad |= json_array_append_new(sr, root_json(g, other[i]));
    bad |= put(j, "sharing_roots", sr) | put(j, "path_root", root_json(g, r->path_root));
    json_t *roots = json_array();
    for (uint32_t i = 0; i < mp_report_nlisted(r); i++)
        bad |= json_array_append_new(roots, root_json(g, mp_report_root(&a->f, r, i)));
    bad |= put(j, "roots", roots) | put(j, "nroots", json_integer(r->nroots)) |
           put(j, "nroots_more", json_boolean(r->nroots >= MP_MANY_ROOTS));
    mp_step s[MP_CHAIN_STEPS];
    size_t n = mp_sr_map_chain(a, r->map, s, MP_CHAIN_STEPS);
    bad |= put(j, "chain", chain_json(g, s, n)) | mp_chain_length_json(j, s, n);
    json_t *sites = json_array();
    const mp_site_count *rs = mp_report_sites(&a->f, r);
    for (uint32_t i = 0, ns = mp_report_nsites(&a->f, r); i < ns; i++) {
        json_t *f = frame_json(g, mp_stack_site(g, rs[i].stack));
        if (json_is_object(f)) bad |= put(f, "samples", json_integer(rs[i].samples));
        bad |= json_array_append_new(sites, f);
    }
    bad |= put(j, "sites", sites);
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/*
 * A map's object as an element of the open array, its entries written one
 * by one: with --all a map of millions of entries has a report of
 * gigabytes, which as one tree would take several times that in memory.
 */
static void write_map(mp_jstream *js, const mp_snapshot_analysis *a, const mp_map_report *r,
                      size_t rank, const mp_snapshot_print_opts *o)
{
    json_t *j = map_json(a, r, rank);
    if (!j) {
        mp_js_element(js, NULL); /* fails the stream */
        return;
    }
    mp_js_open_object(js);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) mp_js_member(js, key, json_incref(v));
    json_decref(j);
    mp_js_open_array(js, "entries");
    size_t k = r->suspect ? mp_sr_top_n(o, a->g->maps[r->map].nentries) : 0;
    uint32_t *ix = k ? malloc(k * sizeof *ix) : NULL;
    if (k && !ix) mp_js_element(js, NULL);
    size_t got = ix ? mp_findings_top_entries(a->g, &a->d, &a->f, r->map, ix, k) : 0;
    for (size_t i = 0; i < got && !js->failed; i++) mp_js_element(js, entry_json(a, ix[i]));
    free(ix);
    mp_js_close(js);
    mp_js_close(js);
}

/* The report's heap figures (an object). */
static json_t *heap_json(const mp_snapshot_analysis *a)
{
    const mp_graph *g = a->g;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "objects", (json_int_t)g->nobjects,
                     "bytes", (json_int_t)g->total_bytes, "reachable_objects",
                     (json_int_t)a->f.heap_objects, "reachable_bytes", (json_int_t)a->f.heap_bytes,
                     "edges", (json_int_t)g->nedges, "sampled_objects", (json_int_t)g->nsampled,
                     "unreachable_objects", (json_int_t)g->info.unreachable_objects,
                     "unreachable_bytes", (json_int_t)g->info.unreachable_bytes);
}

/* The roots counted by kind (an object). */
static json_t *root_kinds_json(const mp_graph *g)
{
    json_t *rk = json_object();
    size_t per[MP_ROOT_NKINDS] = {0};
    for (size_t i = 0; i < g->nroots; i++) per[g->roots[i].kind]++;
    for (unsigned k = 0; rk && k < MP_ROOT_NKINDS; k++)
        if (put(rk, mp_root_kind_name(k), json_integer((json_int_t)per[k]))) {
            json_decref(rk);
            return NULL;
        }
    return rk;
}

/* A text field as mp_json_set_text writes it (with its _hex sibling when
 * the bytes are not UTF-8): through a one-field object, so that the rule
 * stays in one place. */
static void text_member(mp_jstream *js, const char *field, const char *text)
{
    json_t *o = json_object();
    if (!o || mp_json_set_text(o, field, text)) {
        json_decref(o);
        mp_js_member(js, field, NULL); /* fails the stream */
        return;
    }
    char hex[64];
    snprintf(hex, sizeof hex, "%s_hex", field);
    json_t *h = json_object_get(o, hex);
    mp_js_member(js, field, json_incref(json_object_get(o, field)));
    if (h) mp_js_member(js, hex, json_incref(h));
    json_decref(o);
}

/*
 * The report is written as it is made (json_stream.h): the suspects and
 * the maps are the long arrays (every suspect map, each with its roots,
 * entries and chains), so each map's object is made, written and freed in
 * turn, and a suspect among the maps listed is made twice rather than
 * kept. The text is the one jansson writes for the whole tree.
 */
int mp_snapshot_write_json(FILE *out, const mp_snapshot_analysis *a,
                           const mp_snapshot_print_opts *o, const char *tail_key, json_t *tail,
                           mf_error *err)
{
    const mp_graph *g = a->g;
    mp_jstream js;
    mp_js_begin(&js, out);
    mp_js_member(&js, "schema_version", json_integer(MP_JSON_SCHEMA_VERSION));
    mp_js_member(&js, "report", json_string("snapshot_analysis"));
    text_member(&js, "snapshot", a->file);
    mp_js_member(&js, "format", json_string(g->info.format));
    text_member(&js, "runtime", mp_str(g, g->info.runtime));
    if (o && o->profile)
        text_member(&js, "profile", o->profile);
    else
        mp_js_member(&js, "profile", json_null());
    text_member(&js, "program", mp_str(g, g->info.program));
    mp_js_member(&js, "pid", json_integer((json_int_t)g->info.pid));
    mp_js_member(&js, "gc_cycle", json_integer(g->info.gc_cycle));
    mp_js_member(&js, "time_nanos", json_integer(g->info.time_nanos));
    mp_js_member(&js, "gc_pause_ns", json_integer((json_int_t)g->info.gc_pause_ns));
    mp_js_member(&js, "heap", heap_json(a));
    mp_js_member(&js, "roots", root_kinds_json(g));
    /* every suspect (they lead the ranking); then the first maps of the
     * ranking, suspects first */
    size_t nm = mp_sr_listed_maps(o, g->nmaps);
    mp_js_open_array(&js, "suspects");
    for (size_t i = 0; i < g->nmaps && !js.failed; i++) {
        const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
        if (!r->suspect && i >= nm) break;
        if (r->suspect) write_map(&js, a, r, mp_report_map_rank(a, i), o);
    }
    mp_js_close(&js);
    mp_js_open_array(&js, "group_suspects");
    for (size_t j = 0; j < a->gr.nsuspects && !js.failed; j++)
        mp_js_element(&js, mp_group_json(a, &a->gr.groups[j], mp_report_group_rank(a, j)));
    mp_js_close(&js);
    mp_js_member(&js, "maps_total", json_integer((json_int_t)g->nmaps));
    mp_js_open_array(&js, "maps");
    for (size_t i = 0; i < nm && !js.failed; i++) {
        const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
        write_map(&js, a, r, r->suspect ? mp_report_map_rank(a, i) : 0, o);
    }
    mp_js_close(&js);
    if (o && o->timings)
        mp_js_member(
            &js, "seconds",
            json_pack("{s:f, s:f}", "load", a->load_seconds, "analyze", a->analyze_seconds));
    if (tail_key) mp_js_member(&js, tail_key, tail);
    if (mp_js_end(&js)) {
        mf_error_set(err, "%s: out of memory writing the JSON report", a->file);
        return -1;
    }
    return 0;
}

int mp_snapshot_print_json(FILE *out, const mp_snapshot_analysis *a,
                           const mp_snapshot_print_opts *o, mf_error *err)
{
    return mp_snapshot_write_json(out, a, o, NULL, NULL, err);
}

/* ----------------------------------------- shared with the group reports --- */

json_t *mp_snapshot_chain_json(const mp_graph *g, const mp_step *s, size_t n)
{
    return chain_json(g, s, n);
}

json_t *mp_snapshot_root_json(const mp_graph *g, uint32_t r)
{
    return root_json(g, r);
}

json_t *mp_snapshot_frame_json(const mp_graph *g, uint32_t f)
{
    return frame_json(g, f);
}
