/*
 * src/analyze/snapshot_report.c -- running the snapshot analysis, and the
 * facts about it that every rendering shows.
 *
 * The analysis is paths, dominators, findings and groups over one heap
 * graph (see snapshot_report.h). Its four renderings live in files of their
 * own -- snapshot_text.c, snapshot_json.c, snapshot_dot.c and
 * snapshot_pprof.c -- and read the analysis through the helpers here
 * (declared in snapshot_report_internal.h), so that a map's type, its
 * chain from a root, the bytes an entry holds, which entries are listed and
 * who else holds a map come out the same in each: one function per fact,
 * not one per format.
 */
#include "analyze/snapshot_report.h"

#include "analyze/load_gcstack.h"
#include "analyze/parallel.h"
#include "analyze/report.h"
#include "analyze/snapshot_report_internal.h"
#include "analyze/timing.h"
#include "format/text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The paths and the dominator tree depend on nothing but the graph: with
 * two processors or more they are computed at once, the paths on a thread
 * of their own, which then helps with the dominators (the longer of the
 * two). */
typedef struct both_job {
    mp_snapshot_analysis *a;
    mp_dom_team *team; /* NULL: each alone */
    int rc[2];
    mf_error err[2];
} both_job;

static void paths_or_dominators(void *arg, unsigned t, unsigned n)
{
    (void)n;
    both_job *j = arg;
    if (t == 0) {
        j->rc[0] = mp_dom_compute_team(j->a->g, &j->a->d, j->team, &j->err[0]);
    } else {
        j->rc[1] = mp_paths_compute(j->a->g, &j->a->p, &j->err[1]);
        mp_dom_help(j->team);
    }
}

int mp_snapshot_analyze_graph(mp_graph *g, const mp_findings_options *opt,
                              mp_snapshot_analysis *out, mf_error *err)
{
    double t0 = now_s();
    out->g = g;
    out->file = g->info.name;
    memset(&out->gr, 0, sizeof out->gr);
    both_job j = {.a = out};
    if (mp_threads() >= 2) {
        j.team = mp_dom_team_new();
        mp_parallel(2, paths_or_dominators, &j);
        mp_dom_team_free(j.team);
        mp_timing_mark("paths+dom");
    } else {
        paths_or_dominators(&j, 1, 1);
        mp_timing_mark("paths");
        if (!j.rc[1]) paths_or_dominators(&j, 0, 1);
        mp_timing_mark("dominators");
    }
    if (j.rc[1] || j.rc[0]) {
        *err = j.rc[1] ? j.err[1] : j.err[0];
        goto fail;
    }
    if (mp_findings_compute(g, &out->p, &out->d, opt, &out->f, err)) goto fail;
    mp_timing_mark("findings");
    if (mp_groups_compute(g, &out->d, &out->f, opt && opt->all_groups, &out->gr, err)) goto fail;
    mp_timing_mark("groups");
    out->analyze_seconds = now_s() - t0;
    return 0;
fail:
    mp_snapshot_analysis_free(out);
    return -1;
}

int mp_snapshot_analyze(const char *path, FILE *progress, const mp_findings_options *opt,
                        mp_snapshot_analysis *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = now_s();
    mp_graph *g;
    if (mp_load_gcstack(path, progress, &g, err)) return -1;
    out->load_seconds = now_s() - t0;
    return mp_snapshot_analyze_graph(g, opt, out, err);
}

void mp_snapshot_analysis_free(mp_snapshot_analysis *a)
{
    mp_groups_free(&a->gr);
    mp_findings_free(&a->f);
    mp_dom_free(&a->d);
    mp_paths_free(&a->p);
    mp_graph_free(a->g);
    a->g = NULL;
}

const char *mp_evidence_fix(uint32_t ev)
{
    if (ev & MP_EV_NAN_KEYS)
        return "never store under a NaN key (check math.IsNaN first): a NaN key is found by no "
               "lookup or delete, and only clearing the map (clear, or a new map) frees its "
               "entries";
    if (ev & MP_EV_ITERATOR_ONLY)
        return "finish (or drop) the iteration left open in that frame: a live iterator keeps "
               "its whole map alive";
    if (ev & MP_EV_EMPTIED)
        return "replace the map with a new one after bulk deletes (delete never shrinks a map)";
    if (ev & MP_EV_POINTER_KEYS)
        return "key the map by an id instead of a pointer, or delete an entry when its object "
               "is done with";
    if (ev & MP_EV_SLICE_BUFFERS)
        return "copy the strings out of their buffers (strdup, strings.Clone) before storing "
               "them in the map: a slice keeps its whole buffer alive";
    if (ev & MP_EV_OLD_BUCKETS)
        return "the growth finishes only as the map is written to: recreate the map, or keep it "
               "smaller";
    if (ev & MP_EV_STACK_FRAME)
        return "scope the map to one unit of work, or prune it: the frame lives as long as its "
               "function runs";
    if (ev & MP_EV_SHARED_ENTRIES)
        return "the values are also held elsewhere: drop them from every holder, not just the map";
    if (ev & (MP_EV_LARGE_SHARE | MP_EV_GROWING))
        return "bound the map (evict, or expire entries); see also: maproot diff";
    return "bound the map (evict, or expire entries); see also: maproot diff";
}

/* ------------------------------------------------------------- helpers --- */

void mp_sr_fmt_bytes(char *buf, size_t size, uint64_t v)
{
    mp_format_value(buf, size, (int64_t)v, "bytes", false);
}

/* Thousands separators, as people read counts. */
void mp_sr_fmt_count(char *buf, size_t size, uint64_t v)
{
    mf_format_count(buf, size, v);
}

/* "function (file:line)" of a frame, or "" */
void mp_sr_frame_text(const mp_graph *g, uint32_t frame, char *buf, size_t size)
{
    if (frame == MP_NONE) {
        snprintf(buf, size, "%s", "");
        return;
    }
    const mp_gframe *f = &g->frames[frame];
    const char *fn = mp_str(g, f->function), *file = mp_str(g, f->file);
    if (*file && f->line > 0)
        snprintf(buf, size, "%s (%s:%" PRId64 ")", *fn ? fn : "?", file, f->line);
    else
        snprintf(buf, size, "%s", *fn ? fn : "?");
}

const char *mp_sr_map_type(const mp_graph *g, uint32_t m)
{
    const char *s = mp_str(g, g->maps[m].type_name);
    return *s ? s : "map";
}

/* The type an entry's value is shown as: a struct stored in the slot is
 * that struct (its pointers' targets are its parts); a pointer, or a value
 * stored in an object of its own, is the type of the object it leads to --
 * for an inner map's header, the inner map's type, as the program wrote
 * it (map[string]map[int64]*Event's entries are map[int64]*Event), not
 * the runtime's name for every header. */
const char *mp_sr_entry_value_type(const mp_graph *g, const mp_entry *e)
{
    const mp_map *m = &g->maps[e->map];
    if (m->value_type != MP_NONE && m->value_size > 8 &&
        g->types[m->value_type].size == m->value_size) {
        const char *s = mp_str(g, g->types[m->value_type].name);
        if (*s) return s;
    }
    if (e->value_obj != MP_NONE) {
        uint32_t inner = mp_graph_map_of_header(g, e->value_obj);
        if (inner != MP_NONE && *mp_str(g, g->maps[inner].type_name))
            return mp_sr_map_type(g, inner);
    }
    if (e->value_obj != MP_NONE && (g->type[e->value_obj] != MP_NONE || m->value_type == MP_NONE))
        return mp_graph_type_name(g, e->value_obj);
    if (m->value_type != MP_NONE) {
        const char *s = mp_str(g, g->types[m->value_type].name);
        if (*s) return s;
    }
    return "-";
}

/* The largest entry of a map (for its chain), or MP_NONE. */
static uint32_t first_entry(const mp_snapshot_analysis *a, uint32_t m)
{
    uint32_t e;
    return mp_findings_top_entries(a->g, &a->d, &a->f, m, &e, 1) ? e : MP_NONE;
}

/* The chain shown for a map: to its largest entry's slot, else its header. */
size_t mp_sr_map_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max)
{
    uint32_t e = first_entry(a, m);
    size_t n = e != MP_NONE ? mp_sr_entry_chain(a, e, s, max) : 0;
    if (!n && a->g->maps[m].header != MP_NONE) n = mp_sr_header_chain(a, m, s, max);
    return n < max ? n : max;
}

size_t mp_sr_top_n(const mp_snapshot_print_opts *o, size_t nentries)
{
    if (o && o->all_entries) return nentries;
    size_t n = o && o->top_entries ? o->top_entries : 10;
    return n < nentries ? n : nentries;
}

/* How many maps, of the ranking, are listed. */
size_t mp_sr_listed_maps(const mp_snapshot_print_opts *o, size_t nmaps)
{
    if (o && o->all_maps) return nmaps;
    size_t n = o && o->top_maps ? o->top_maps : 10;
    return n < nmaps ? n : nmaps;
}

/* The root a report names for a map: its single root; else, for a map
 * only an iterator keeps, that iterator; else the root of its shortest
 * path. */
uint32_t mp_sr_named_root(const mp_graph *g, const mp_findings *f, const mp_map_report *r)
{
    if (r->root != MP_NONE) return r->root;
    if (r->evidence & MP_EV_ITERATOR_ONLY)
        for (uint32_t i = 0; i < mp_report_nlisted(r); i++) {
            uint32_t x = mp_report_root(f, r, i);
            if (g->roots[x].kind == MP_ROOT_ITERATOR) return x;
        }
    return r->path_root;
}

/* A chain starts at the root its map's report names when that root points
 * at the header itself (an iterator of an iterator_only map, say), rather
 * than at another root whose path happens to be as short: chain and root
 * then tell one story. */
static size_t named_start(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t n,
                          size_t max)
{
    const mp_graph *g = a->g;
    uint32_t nr = mp_sr_named_root(g, &a->f, &a->f.maps[m]);
    if (n < 2 || n > max || nr == MP_NONE || s[0].kind != MP_STEP_ROOT || s[0].a == nr ||
        g->roots[nr].target != g->maps[m].header)
        return n;
    size_t h = 1;
    while (h < n && s[h].kind != MP_STEP_MAP) h++;
    if (h == n) return n;
    memmove(&s[1], &s[h], (n - h) * sizeof *s);
    s[0].a = nr;
    return n - (h - 1);
}

size_t mp_sr_entry_chain(const mp_snapshot_analysis *a, uint32_t e, mp_step *s, size_t max)
{
    size_t n = mp_chain_entry(a->g, &a->p, e, s, max);
    mp_entry en;
    return mp_graph_entry(a->g, e, &en) ? named_start(a, en.map, s, n, max) : n;
}

size_t mp_sr_header_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max)
{
    if (a->g->maps[m].header == MP_NONE) return 0;
    size_t n = mp_chain_object(a->g, &a->p, a->g->maps[m].header, s, max);
    return named_start(a, m, s, n, max);
}

size_t mp_snapshot_map_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max)
{
    return mp_sr_map_chain(a, m, s, max);
}

uint32_t mp_snapshot_named_root(const mp_graph *g, const mp_findings *f, const mp_map_report *r)
{
    return mp_sr_named_root(g, f, r);
}

/* The retained size shown for an entry: what it owns, or for a shared
 * entry what its value keeps alive together with the other roots. */
uint64_t mp_sr_entry_bytes(const mp_snapshot_analysis *a, uint32_t ei)
{
    mp_entry e;
    bool shared;
    uint64_t ret = mp_findings_entry(&a->f, ei, &shared);
    if (shared && mp_graph_entry(a->g, ei, &e) && e.value_obj != MP_NONE)
        return a->d.retained[e.value_obj];
    return ret;
}

/* An entry's key for people (buf: at least 32 bytes). */
const char *mp_sr_key_text(const mp_graph *g, uint32_t ei, char *buf, size_t size)
{
    mp_entry e;
    return mp_graph_entry(g, ei, &e) ? mp_entry_key(g, &e, buf, size) : "";
}

/* The values of up to three shared entries spread over map r (objects,
 * into values[3]); how many. */
static size_t shared_samples(const mp_snapshot_analysis *a, const mp_map_report *r,
                             uint32_t *values)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    size_t nv = 0;
    if (!r->shared_entries) return 0;
    for (size_t q = 0; q < 3; q++) {
        size_t start = m->nentries * q / 3;
        mp_findings_cursor fc;
        mp_findings_cursor_init(&fc, &a->f, m->first_entry + start);
        uint64_t ret;
        bool shared;
        for (size_t i = start; i < m->nentries && mp_findings_next(&fc, &ret, &shared); i++) {
            uint32_t ei = (uint32_t)(m->first_entry + i);
            mp_entry e;
            if (shared && mp_graph_entry(g, ei, &e) && e.value_obj != MP_NONE) {
                if (!nv || values[nv - 1] != e.value_obj) values[nv++] = e.value_obj;
                break;
            }
        }
        mp_findings_cursor_free(&fc);
    }
    return nv;
}

/* The roots other than the map's own that reach its first shared entry's
 * value (indices into g->roots, at most max); 0 when none or out of
 * memory. */
size_t mp_sr_sharing_roots(const mp_snapshot_analysis *a, const mp_map_report *r, uint32_t *out,
                           size_t max)
{
    const mp_graph *g = a->g;
    /* the roots common to up to three shared entries spread over the map:
     * a stray stack word that happens to point at one value is not named */
    uint32_t values[3];
    size_t nv = shared_samples(a, r, values);
    if (!nv) return 0;
    uint8_t *mark = calloc(g->nobjects / 8 + 1, 1);
    if (!mark) return 0;
    uint32_t common[MP_MAX_LISTED_ROOTS], roots[MP_MAX_LISTED_ROOTS];
    size_t nc = mp_dom_roots_reaching(g, &a->d, values[0], common, MP_MAX_LISTED_ROOTS, mark);
    if (nc > MP_MAX_LISTED_ROOTS) nc = MP_MAX_LISTED_ROOTS;
    for (size_t v = 1; v < nv; v++) {
        size_t n = mp_dom_roots_reaching(g, &a->d, values[v], roots, MP_MAX_LISTED_ROOTS, mark);
        if (n > MP_MAX_LISTED_ROOTS) n = MP_MAX_LISTED_ROOTS;
        size_t k = 0;
        for (size_t i = 0; i < nc; i++)
            for (size_t j = 0; j < n; j++)
                if (common[i] == roots[j]) {
                    common[k++] = common[i];
                    break;
                }
        nc = k;
    }
    free(mark);
    nc = mp_findings_distinct_holders(&a->f, common, nc);
    const uint32_t *holder = a->f.holder;
    size_t k = 0;
    for (size_t i = 0; i < nc && k < max; i++) {
        uint32_t h = holder[common[i]];
        bool mine = (r->root != MP_NONE && h == holder[r->root]) ||
                    (r->path_root != MP_NONE && h == holder[r->path_root]);
        for (uint32_t j = 0; j < mp_report_nlisted(r) && !mine; j++)
            mine = holder[mp_report_root(&a->f, r, j)] == h;
        if (!mine) out[k++] = common[i];
    }
    return k;
}

/* How far up the dominator tree sharing_object looks. */
#define SHARER_DEPTH 256

/*
 * The object through which a map's shared values are reached besides the
 * map, when no other root reaches them: the lowest object that dominates
 * the sampled shared values (an LRU cache's struct, holding the map and a
 * list that threads the values). The values are then shared with that
 * object's other paths under the map's own root, not with other roots.
 * MP_NONE when other roots reach them, when the values' lowest common
 * dominator is a root or lies above SHARER_DEPTH steps, or when there is
 * none.
 */
static uint32_t sharing_object(const mp_snapshot_analysis *a, const mp_map_report *r)
{
    const mp_graph *g = a->g;
    const mp_dom *d = &a->d;
    uint32_t other[1];
    if (mp_sr_sharing_roots(a, r, other, 1)) return MP_NONE;
    uint32_t values[3], up[SHARER_DEPTH];
    size_t nv = shared_samples(a, r, values), nup = 0;
    if (!nv) return MP_NONE;
    /* the first value's dominators, nearest first */
    for (uint32_t x = d->idom[values[0]]; x < g->nobjects && nup < SHARER_DEPTH; x = d->idom[x])
        up[nup++] = x;
    size_t low = 0; /* up[low] dominates every value seen so far */
    for (size_t v = 1; v < nv && low < nup; v++) {
        size_t k = 0;
        uint32_t x = d->idom[values[v]];
        for (; k < SHARER_DEPTH && x < g->nobjects; k++, x = d->idom[x]) {
            size_t i = low;
            while (i < nup && up[i] != x) i++;
            if (i < nup) {
                low = i;
                break;
            }
        }
        if (k == SHARER_DEPTH || x >= g->nobjects) return MP_NONE;
    }
    return low < nup ? up[low] : MP_NONE;
}

/* Whom a map's shared values are shared with, for people: an object of
 * the same root (sharing_object) as "Lru 0x7f3a1c000040", else "other
 * roots". */
const char *mp_sr_shared_with(const mp_snapshot_analysis *a, const mp_map_report *r, char *buf,
                              size_t size)
{
    uint32_t o = sharing_object(a, r);
    if (o == MP_NONE) return "other roots";
    snprintf(buf, size, "%s 0x%" PRIx64, mp_graph_type_name(a->g, o), mp_obj_addr(a->g, o));
    return buf;
}

/* ---------------------------------------- shared with the group reports --- */

void mp_snapshot_frame_text(const mp_graph *g, uint32_t frame, char *buf, size_t size)
{
    mp_sr_frame_text(g, frame, buf, size);
}
