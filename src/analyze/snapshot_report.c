/*
 * src/analyze/snapshot_report.c -- running the snapshot analysis and
 * rendering it as text, JSON, Graphviz and pprof.
 */
#include "analyze/snapshot_report.h"

#include "analyze/group_report.h"
#include "analyze/json_stream.h"
#include "analyze/json_text.h"
#include "analyze/load_gcstack.h"
#include "analyze/map_match.h"
#include "analyze/parallel.h"
#include "analyze/report.h"
#include "analyze/timing.h"
#include "analyze/views.h"
#include "format/names.h"
#include "format/pprof.h"
#include "format/text.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t entry_chain(const mp_snapshot_analysis *a, uint32_t e, mp_step *s, size_t max);
static size_t header_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max);

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

static void fmt_bytes(char *buf, size_t size, uint64_t v)
{
    mp_format_value(buf, size, (int64_t)v, "bytes", false);
}

/* Thousands separators, as people read counts. */
static void fmt_count(char *buf, size_t size, uint64_t v)
{
    mf_format_count(buf, size, v);
}

/* "function (file:line)" of a frame, or "" */
static void frame_text(const mp_graph *g, uint32_t frame, char *buf, size_t size)
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

static const char *map_type(const mp_graph *g, uint32_t m)
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
static const char *entry_value_type(const mp_graph *g, const mp_entry *e)
{
    const mp_map *m = &g->maps[e->map];
    if (m->value_type != MP_NONE && m->value_size > 8 &&
        g->types[m->value_type].size == m->value_size) {
        const char *s = mp_str(g, g->types[m->value_type].name);
        if (*s) return s;
    }
    if (e->value_obj != MP_NONE) {
        uint32_t inner = mp_graph_map_of_header(g, e->value_obj);
        if (inner != MP_NONE && *mp_str(g, g->maps[inner].type_name)) return map_type(g, inner);
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
static size_t map_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max)
{
    uint32_t e = first_entry(a, m);
    size_t n = e != MP_NONE ? entry_chain(a, e, s, max) : 0;
    if (!n && a->g->maps[m].header != MP_NONE) n = header_chain(a, m, s, max);
    return n < max ? n : max;
}

static size_t top_n(const mp_snapshot_print_opts *o, size_t nentries)
{
    if (o && o->all_entries) return nentries;
    size_t n = o && o->top_entries ? o->top_entries : 10;
    return n < nentries ? n : nentries;
}

/* How many maps, of the ranking, are listed. */
static size_t listed_maps(const mp_snapshot_print_opts *o, size_t nmaps)
{
    if (o && o->all_maps) return nmaps;
    size_t n = o && o->top_maps ? o->top_maps : 10;
    return n < nmaps ? n : nmaps;
}

/* The root a report names for a map: its single root; else, for a map
 * only an iterator keeps, that iterator; else the root of its shortest
 * path. */
static uint32_t named_root(const mp_graph *g, const mp_map_report *r)
{
    if (r->root != MP_NONE) return r->root;
    if (r->evidence & MP_EV_ITERATOR_ONLY)
        for (uint32_t i = 0; i < r->nroots && i < MP_MAX_LISTED_ROOTS; i++)
            if (g->roots[r->roots[i]].kind == MP_ROOT_ITERATOR) return r->roots[i];
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
    uint32_t nr = named_root(g, &a->f.maps[m]);
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

static size_t entry_chain(const mp_snapshot_analysis *a, uint32_t e, mp_step *s, size_t max)
{
    size_t n = mp_chain_entry(a->g, &a->p, e, s, max);
    mp_entry en;
    return mp_graph_entry(a->g, e, &en) ? named_start(a, en.map, s, n, max) : n;
}

static size_t header_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max)
{
    if (a->g->maps[m].header == MP_NONE) return 0;
    size_t n = mp_chain_object(a->g, &a->p, a->g->maps[m].header, s, max);
    return named_start(a, m, s, n, max);
}

size_t mp_snapshot_map_chain(const mp_snapshot_analysis *a, uint32_t m, mp_step *s, size_t max)
{
    return map_chain(a, m, s, max);
}

uint32_t mp_snapshot_named_root(const mp_graph *g, const mp_map_report *r)
{
    return named_root(g, r);
}

/* The retained size shown for an entry: what it owns, or for a shared
 * entry what its value keeps alive together with the other roots. */
static uint64_t entry_bytes(const mp_snapshot_analysis *a, uint32_t ei)
{
    mp_entry e;
    bool shared;
    uint64_t ret = mp_findings_entry(&a->f, ei, &shared);
    if (shared && mp_graph_entry(a->g, ei, &e) && e.value_obj != MP_NONE)
        return a->d.retained[e.value_obj];
    return ret;
}

/* An entry's key for people (buf: at least 32 bytes). */
static const char *key_text(const mp_graph *g, uint32_t ei, char *buf, size_t size)
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
static size_t sharing_roots(const mp_snapshot_analysis *a, const mp_map_report *r, uint32_t *out,
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
        for (uint32_t j = 0; j < r->nroots && j < MP_MAX_LISTED_ROOTS && !mine; j++)
            mine = holder[r->roots[j]] == h;
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
    if (sharing_roots(a, r, other, 1)) return MP_NONE;
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
static const char *shared_with(const mp_snapshot_analysis *a, const mp_map_report *r, char *buf,
                               size_t size)
{
    uint32_t o = sharing_object(a, r);
    if (o == MP_NONE) return "other roots";
    snprintf(buf, size, "%s 0x%" PRIx64, mp_graph_type_name(a->g, o), mp_obj_addr(a->g, o));
    return buf;
}

/* ---------------------------------------------------------------- text --- */

static void print_chain_text(FILE *out, const mp_graph *g, const mp_step *s, size_t n,
                             const char *indent)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        char t[512];
        mp_step_text(g, &s[i], t, sizeof t);
        size_t w = strlen(t) + (i ? 4 : 0);
        if (i && col + w > 80) {
            fprintf(out, "\n%s-> %s", indent, t);
            col = strlen(t) + 3;
        } else {
            fprintf(out, "%s%s", i ? " -> " : "", t);
            col += w;
        }
    }
    fputc('\n', out);
}

/* "  LABEL    chain" of a suspect's report: nothing when the chain is empty. */
static void print_chain_line(FILE *out, const mp_graph *g, const char *label, const mp_step *s,
                             size_t n)
{
    if (!n) return;
    fprintf(out, "  %-8s ", label);
    print_chain_text(out, g, s, n, "           ");
}

/* What map r retains beyond its table and what its entries retain one by
 * one: objects that several of its entries point to, which deleting any
 * one entry would not free. */
static uint64_t entries_hold_together(const mp_graph *g, const mp_map_report *r)
{
    uint64_t own = g->maps[r->map].table_bytes + r->entries_retained;
    return r->retained > own ? r->retained - own : 0;
}

/* The rank (1 first) of map k among the suspects, 0 when it is none. */
static size_t suspect_rank(const mp_snapshot_analysis *a, uint32_t k)
{
    for (size_t i = 0; i < a->f.nsuspects; i++)
        if (a->f.ranked[i] == k) return mp_report_map_rank(a, i);
    return 0;
}

/* "suspect 2 (map[int64]*Host), 3.95MiB": the largest suspect map inside
 * r's bytes, whose bytes are its finding and not r's; "" when none. */
static const char *inner_text(const mp_snapshot_analysis *a, const mp_map_report *r, char *buf,
                              size_t size)
{
    size_t rank = r->inner_map != MP_NONE ? suspect_rank(a, r->inner_map) : 0;
    if (!r->inner_bytes || !rank) {
        if (size) *buf = 0;
        return buf;
    }
    char b[64];
    fmt_bytes(b, sizeof b, r->inner_bytes);
    snprintf(buf, size, "suspect %zu (%s)%s, %s", rank, map_type(a->g, r->inner_map),
             r->inner_bytes > a->f.maps[r->inner_map].retained ? " and others" : "", b);
    return buf;
}

static void print_why(FILE *out, const mp_snapshot_analysis *a, const mp_map_report *r)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    char b1[64], b2[64], c1[32], c2[32];
    const char *lead = "  why      ";
    const char *next = "           ";
    const char *p = lead;
#define WHY(...)                                                                                   \
    do {                                                                                           \
        fputs(p, out);                                                                             \
        fprintf(out, __VA_ARGS__);                                                                 \
        fputc('\n', out);                                                                          \
        p = next;                                                                                  \
    } while (0)
    if (r->evidence & MP_EV_GROWING) {
        fmt_bytes(b1, sizeof b1, (uint64_t)(r->growth_bytes < 0 ? 0 : r->growth_bytes));
        fmt_count(c1, sizeof c1, r->growth_entries);
        WHY("grew by %s entries and %s retained since the earlier snapshot", c1, b1);
    }
    if (r->evidence & MP_EV_LARGE_SHARE) {
        fmt_count(c1, sizeof c1, m->nentries);
        mp_format_pct(b1, sizeof b1, (int64_t)r->score, (int64_t)a->f.heap_bytes);
        fmt_bytes(b2, sizeof b2, r->entries_retained);
        uint64_t together = entries_hold_together(g, r);
        char b3[64];
        if (r->shared_bytes) {
            char with[256];
            fmt_bytes(b3, sizeof b3, r->shared_bytes);
            if (shared_with(a, r, with, sizeof with) != with)
                WHY("it holds %s of the reachable heap, with the other roots that share its "
                    "values: %s entries retaining %s alone and %s shared",
                    b1, c1, b2, b3);
            else
                WHY("it holds %s of the reachable heap, with %s, which reaches its values too: "
                    "%s entries retaining %s alone and %s shared",
                    b1, with, c1, b2, b3);
        } else if (together > r->entries_retained) {
            fmt_bytes(b3, sizeof b3, together);
            WHY("it holds %s of the reachable heap: %s entries retaining %s alone and %s "
                "together (values several entries point to)",
                b1, c1, b2, b3);
        } else if (r->nested_bytes) {
            WHY("it holds %s of the reachable heap besides the %s inside it: %s entries "
                "retaining %s",
                b1, r->nested_bytes == r->inner_bytes ? "suspect maps" : "maps judged on their own",
                c1, b2);
        } else {
            WHY("it holds %s of the reachable heap: %s entries retaining %s", b1, c1, b2);
        }
    }
    if (r->evidence & MP_EV_EMPTIED) {
        fmt_bytes(b1, sizeof b1, m->table_bytes);
        fmt_count(c1, sizeof c1, m->count);
        fmt_count(c2, sizeof c2, m->nmain);
        WHY("a table of %s (%s buckets) for %s entries: the map was emptied, and delete "
            "never shrinks a map",
            b1, c2, c1);
    }
    if (r->evidence & MP_EV_ITERATOR_ONLY) {
        char rt[512] = "";
        for (uint32_t i = 0; i < r->nroots && i < MP_MAX_LISTED_ROOTS; i++)
            if (g->roots[r->roots[i]].kind == MP_ROOT_ITERATOR) {
                mp_root_text(g, r->roots[i], rt, sizeof rt);
                break;
            }
        WHY("nothing but a live iterator keeps it alive (%s): an iteration left open", rt);
    }
    if (r->evidence & MP_EV_STACK_FRAME) {
        char rt[512];
        mp_root_text(g, r->nroots ? r->roots[0] : r->root, rt, sizeof rt);
        WHY("held only by a frame that is still running (%s): it lives as long as that "
            "function does",
            rt);
    }
    if (r->evidence & MP_EV_POINTER_KEYS) {
        fmt_bytes(b1, sizeof b1, r->keys_retained);
        WHY("its keys %s: they alone keep %s alive",
            m->key_kind == MP_KEY_PTR ? "are pointers" : "carry pointers", b1);
    }
    if (r->evidence & MP_EV_NAN_KEYS) {
        fmt_count(c1, sizeof c1, m->nan_keys);
        WHY("%s entries under NaN keys: a NaN equals nothing, itself included, so no lookup or "
            "delete finds them again",
            c1);
    }
    if (r->evidence & MP_EV_SLICE_BUFFERS) {
        fmt_bytes(b1, sizeof b1, r->slice_bytes);
        fmt_count(c1, sizeof c1, r->slice_buffers);
        WHY("its %s are slices of %s larger buffer%s (%s) kept alive by this map: a short "
            "string keeps its whole buffer",
            r->slice_of == MP_SLICE_KEYS     ? "keys"
            : r->slice_of == MP_SLICE_VALUES ? "values"
                                             : "keys and values",
            c1, r->slice_buffers == 1 ? "" : "s", b1);
    }
    if (r->evidence & MP_EV_OLD_BUCKETS) {
        fmt_bytes(b1, sizeof b1, r->old_bytes);
        fmt_count(c1, sizeof c1, m->nevacuate);
        fmt_count(c2, sizeof c2, m->noldbuckets);
        WHY("a growth is in progress: the old bucket array (%s) stays until every old bucket "
            "is evacuated (%s of %s so far), which happens only on writes",
            b1, c1, c2);
    }
#undef WHY
    char in[256];
    if (*inner_text(a, r, in, sizeof in))
        fprintf(out, "  inside   it also holds %s: theirs, not counted here\n", in);
    /* context: who else holds what the map holds (the holders of the map
     * itself are on the root lines) */
    const char *where = m->container ? mp_str(g, m->container) : "in a struct the chain reaches";
    if (m->sync_map == MP_SYNC_JOINED)
        fprintf(out,
                "  sync.Map %s: its read and dirty maps as one map, each entry counted once, "
                "the table and bytes of both\n",
                where);
    else if (m->sync_map)
        fprintf(out, "  sync.Map %s: the one map it has now (the other is nil)\n", where);
    if (r->evidence & MP_EV_SHARED_ENTRIES) {
        char with[256];
        fmt_count(c1, sizeof c1, r->shared_entries);
        fmt_bytes(b1, sizeof b1, r->shared_bytes);
        if (shared_with(a, r, with, sizeof with) != with)
            fprintf(out,
                    "  shared   %s entries hold values that other roots reach too (%s): no "
                    "single root retains them\n",
                    c1, b1);
        else
            fprintf(out,
                    "  shared   %s entries hold values that %s reaches too, by another way "
                    "from the same root (%s): the map alone does not retain them\n",
                    c1, with, b1);
        uint32_t other[4];
        size_t no = sharing_roots(a, r, other, 4);
        for (size_t i = 0; i < no; i++) {
            char rt[512];
            mp_root_text(g, other[i], rt, sizeof rt);
            fprintf(out, "           values also held by %s\n", rt);
        }
    }
}

static void print_entry_line(FILE *out, const mp_snapshot_analysis *a, uint32_t ei)
{
    const mp_graph *g = a->g;
    mp_entry en;
    const mp_entry *e = &en;
    mp_graph_entry(g, ei, &en);
    char b[64], site[512], kb[32];
    bool shared;
    mp_findings_entry(&a->f, ei, &shared);
    fmt_bytes(b, sizeof b, entry_bytes(a, ei));
    frame_text(g, mp_stack_site(g, mp_entry_stack(g, &a->d, ei)), site, sizeof site);
    const char *key = mp_entry_key(g, e, kb, sizeof kb);
    fprintf(out, "    %-24s %-12s %10s %s  %s\n", *key ? key : "?", entry_value_type(g, e), b,
            shared ? "shared  " : "retained", *site ? site : "(not sampled)");
}

/* The holders of a map other than the root named for it, each once, in
 * priority order: "also held by" lines, at most four named. */
static void print_other_holders(FILE *out, const mp_snapshot_analysis *a, const mp_map_report *r,
                                uint32_t main_root)
{
    const mp_graph *g = a->g;
    uint32_t mine = main_root < g->nroots ? a->f.holder[main_root] : MP_NONE;
    uint32_t other[MP_MAX_LISTED_ROOTS];
    size_t n = 0;
    bool main_listed = false;
    for (uint32_t i = 0; i < r->nroots && i < MP_MAX_LISTED_ROOTS; i++) {
        if (a->f.holder[r->roots[i]] == mine)
            main_listed = true;
        else
            other[n++] = r->roots[i];
    }
    uint64_t total = r->nroots - (main_listed || r->nroots > MP_MAX_LISTED_ROOTS ? 1 : 0);
    if (total == 0) return;
    char c1[32], rt[512];
    fmt_count(c1, sizeof c1, total);
    fprintf(out, "           also held by %s other root%s:", c1, total > 1 ? "s" : "");
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < 4; i++, shown++) {
        mp_root_text(g, other[i], rt, sizeof rt);
        fprintf(out, "%s %s", shown ? ";" : "", rt);
    }
    fprintf(out, "%s\n", total > shown ? "; ..." : "");
}

static void print_suspect(FILE *out, const mp_snapshot_analysis *a, size_t rank, size_t nsusp,
                          const mp_map_report *r, const mp_snapshot_print_opts *o)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    char b1[64], b2[64], c1[32], c2[32], c3[32];
    fmt_bytes(b1, sizeof b1, r->retained);
    mp_format_pct(b2, sizeof b2, (int64_t)r->retained, (int64_t)a->f.heap_bytes);
    fprintf(out, "LEAK SUSPECT %zu of %zu   %s   ", rank, nsusp, map_type(g, r->map));
    if (r->evidence & MP_EV_EMPTIED) {
        char t[64];
        fmt_bytes(t, sizeof t, m->table_bytes);
        fmt_count(c1, sizeof c1, m->count);
        fprintf(out, "table %s for %s entries\n", t, c1);
    } else if (r->evidence & MP_EV_SHARED_ENTRIES && r->shared_bytes > r->retained) {
        char with[256];
        fmt_bytes(b1, sizeof b1, r->shared_bytes);
        fprintf(out, "shares %s with %s\n", b1, shared_with(a, r, with, sizeof with));
    } else {
        fprintf(out, "retains %s (%s of heap)\n", b1, b2);
    }
    /* root(s) */
    char rt[512];
    uint32_t main_root = named_root(g, r);
    mp_root_text(g, main_root, rt, sizeof rt);
    fprintf(out, "  root     %s\n", rt);
    print_other_holders(out, a, r, main_root);
    mp_step s[MP_CHAIN_STEPS];
    print_chain_line(out, g, "chain", s, map_chain(a, r->map, s, MP_CHAIN_STEPS));
    fmt_count(c1, sizeof c1, m->nmain);
    fmt_count(c2, sizeof c2, m->noverflow_walked);
    fmt_bytes(b1, sizeof b1, m->table_bytes);
    fprintf(out, "  table    %s buckets + %s overflow", c1, c2);
    if (m->nold) {
        fmt_count(c3, sizeof c3, m->nold);
        fprintf(out, " + %s old", c3);
    }
    /* a sync.Map's bytes are both maps' tables: so are its buckets */
    if (m->sync_map == MP_SYNC_JOINED) {
        fmt_count(c1, sizeof c1, m->sync_read_buckets);
        fmt_count(c2, sizeof c2, m->sync_read_overflow);
        fprintf(out, ", and the read map's %s + %s overflow", c1, c2);
    }
    fprintf(out, ", %s; load %.1f of 8\n", b1, r->load);
    print_why(out, a, r);
    if (r->nsites) {
        fputs("  sites    sampled allocations under its entries:", out);
        for (uint32_t i = 0; i < r->nsites; i++) {
            char site[512];
            frame_text(g, mp_stack_site(g, r->sites[i].stack), site, sizeof site);
            fprintf(out, "%s %s x%u", i ? "," : "", site, r->sites[i].samples);
        }
        fputc('\n', out);
    }
    size_t k = top_n(o, m->nentries);
    if (k) {
        fmt_count(c1, sizeof c1, m->nentries);
        if (k < m->nentries)
            fprintf(out, "  entries  largest of %s (--all for every one):\n", c1);
        else
            fprintf(out, "  entries  all %s:\n", c1);
        uint32_t *ix = malloc(k * sizeof *ix);
        if (ix) {
            size_t got = mp_findings_top_entries(g, &a->d, &a->f, r->map, ix, k);
            for (size_t i = 0; i < got; i++) print_entry_line(out, a, ix[i]);
            if (o && o->all_entries) {
                /* with --all each entry's chain as well */
                for (size_t i = 0; i < got; i++) {
                    size_t cn = entry_chain(a, ix[i], s, MP_CHAIN_STEPS);
                    if (!cn) continue;
                    char kb[32];
                    fprintf(out, "    chain %s: ", key_text(g, ix[i], kb, sizeof kb));
                    print_chain_text(out, g, s, cn < MP_CHAIN_STEPS ? cn : MP_CHAIN_STEPS,
                                     "      ");
                }
            }
            free(ix);
        }
    }
    fprintf(out, "  fix      %s\n\n", mp_evidence_fix(r->evidence));
}

void mp_snapshot_print_text(FILE *out, const mp_snapshot_analysis *a,
                            const mp_snapshot_print_opts *o)
{
    const mp_graph *g = a->g;
    char b1[64], c1[32], c2[32];
    fmt_bytes(b1, sizeof b1, a->f.heap_bytes);
    fmt_count(c1, sizeof c1, a->f.heap_objects);
    const char *prog = mp_str(g, g->info.program);
    const char *rt = mp_str(g, g->info.runtime);
    fprintf(out, "maproot: %s", *prog ? mf_path_base(prog) : "?");
    if (g->info.pid) fprintf(out, " (pid %" PRIu64 ")", g->info.pid);
    if (*rt) fprintf(out, ", %s", rt);
    fprintf(out, ", GC cycle %u, heap %s in %s objects", g->info.gc_cycle, b1, c1);
    if (g->info.gc_pause_ns) fprintf(out, ", GC pause %.1f ms", (double)g->info.gc_pause_ns / 1e6);
    fputc('\n', out);
    fmt_count(c1, sizeof c1, g->nroots);
    fmt_count(c2, sizeof c2, g->nmaps);
    const char *what = strcmp(g->info.format, "godump") == 0 ? "Go heap dump" : "snapshot";
    if (o && o->profile)
        fprintf(out, "  %s %s beside the profile: root tracing on\n", what, a->file);
    else
        fprintf(out, "  %s %s\n", what, a->file);
    if (g->info.unreachable_objects) {
        char u1[32], u2[64];
        fmt_count(u1, sizeof u1, g->info.unreachable_objects);
        fmt_bytes(u2, sizeof u2, g->info.unreachable_bytes);
        fprintf(out, "  %s unreachable objects (%s, garbage since the last collection) left out\n",
                u1, u2);
    }
    fprintf(out, "  %s root%s, %s map%s, %zu sampled allocation stack%s; analysed in %.2fs\n\n", c1,
            g->nroots == 1 ? "" : "s", c2, g->nmaps == 1 ? "" : "s", g->nsampled,
            g->nsampled == 1 ? "" : "s", a->load_seconds + a->analyze_seconds);
    size_t ns = a->f.nsuspects, total = mp_report_nsuspects(a);
    if (total == 0) fprintf(out, "No leak suspects: no map shows the evidence of a leak.\n\n");
    /* maps and groups of maps in one ranking (group_report.h) */
    for (size_t i = 0, j = 0; i < ns || j < a->gr.nsuspects;) {
        size_t ri = i < ns ? mp_report_map_rank(a, i) : SIZE_MAX;
        size_t rj = j < a->gr.nsuspects ? mp_report_group_rank(a, j) : SIZE_MAX;
        if (ri < rj) {
            print_suspect(out, a, ri, total, &a->f.maps[a->f.ranked[i]], o);
            i++;
        } else {
            mp_group_print_text(out, a, &a->gr.groups[j], rj, total);
            j++;
        }
    }
    if (g->nmaps > 0) {
        size_t nm = listed_maps(o, g->nmaps);
        fprintf(out, "MAPS  by retained size\n");
        fprintf(out, "  %10s %10s %10s %6s  %-28s %s\n", "retained", "table", "entries", "B",
                "type", "root");
        for (size_t i = 0; i < nm; i++) {
            const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
            const mp_map *m = &g->maps[r->map];
            char b2[64], rt[512];
            fmt_bytes(b1, sizeof b1, r->retained);
            fmt_bytes(b2, sizeof b2, m->table_bytes);
            fmt_count(c1, sizeof c1, m->count);
            mp_root_text(g, named_root(g, r), rt, sizeof rt);
            char in[256];
            inner_text(a, r, in, sizeof in);
            fprintf(out, "  %10s %10s %10s %6u  %-28s %s%s%s%s%s\n", b1, b2, c1, m->B,
                    map_type(g, r->map), rt, r->nroots > 1 ? " (+ others)" : "",
                    *in ? "  [holds " : "", in, *in ? "]" : "");
        }
        if (nm < g->nmaps) {
            fmt_count(c1, sizeof c1, g->nmaps - nm);
            fprintf(out, "  ... %s more map%s (--maps 0 lists every one)\n", c1,
                    g->nmaps - nm == 1 ? "" : "s");
        }
    }
}

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
    if (!o ||
        (m->container ? mp_json_set_text(o, "container", mp_str(g, m->container))
                      : json_object_set_new(o, "container", json_null())) ||
        json_object_set_new(o, "maps", json_string(joined ? "read_and_dirty" : "one")) ||
        json_object_set_new(o, "read_buckets",
                            json_integer(joined ? (json_int_t)m->sync_read_buckets : 0)) ||
        json_object_set_new(o, "read_overflow_buckets",
                            json_integer(joined ? (json_int_t)m->sync_read_overflow : 0))) {
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
                   mp_json_set_key(j, key_text(g, s[i].a, kb, sizeof kb));
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
    int bad = mp_json_set_key(je, mp_entry_key(g, e, kb, sizeof kb)) |
              mp_json_set_text(je, "value_type", entry_value_type(g, e)) |
              put(je, "retained_bytes", json_integer((json_int_t)ret)) |
              put(je, "shared", json_boolean(shared)) |
              put(je, "shared_bytes", json_integer(shared ? (json_int_t)entry_bytes(a, ei) : 0)) |
              put(je, "bucket", json_integer((json_int_t)e->bucket)) |
              put(je, "overflow", json_integer(e->overflow)) |
              put(je, "slot", json_integer(e->slot)) |
              put(je, "site", frame_json(g, mp_stack_site(g, mp_entry_stack(g, &a->d, ei))));
    size_t cn = entry_chain(a, ei, s, MP_CHAIN_STEPS);
    if (cn > MP_CHAIN_STEPS) cn = MP_CHAIN_STEPS;
    bad |= put(je, "chain", chain_json(g, s, cn)) | mp_chain_length_json(je, s, cn);
    if (bad) {
        json_decref(je);
        return NULL;
    }
    return je;
}

static json_t *map_json(const mp_snapshot_analysis *a, const mp_map_report *r, size_t rank,
                        const mp_snapshot_print_opts *o)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    json_t *j = json_object();
    int bad =
        put(j, "index", json_integer(r->map)) | mp_json_set_text(j, "type", map_type(g, r->map)) |
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
        put(j, "nevacuate", json_integer((json_int_t)m->nevacuate)) |
        put(j, "table_bytes", json_integer((json_int_t)m->table_bytes)) |
        put(j, "retained_bytes", json_integer((json_int_t)r->retained)) |
        put(j, "entries_retained_bytes", json_integer((json_int_t)r->entries_retained)) |
        put(j, "keys_retained_bytes", json_integer((json_int_t)r->keys_retained)) |
        put(j, "shared_entries", json_integer((json_int_t)r->shared_entries)) |
        put(j, "shared_bytes", json_integer((json_int_t)r->shared_bytes)) |
        put(j, "old_bytes", json_integer((json_int_t)r->old_bytes)) |
        put(j, "slice_buffers", json_integer((json_int_t)r->slice_buffers)) |
        put(j, "nan_keys", json_integer((json_int_t)m->nan_keys)) |
        put(j, "sync_map", sync_map_json(g, m)) |
        put(j, "slice_bytes", json_integer((json_int_t)r->slice_bytes)) |
        put(j, "slice_of",
            json_string(r->slice_of == MP_SLICE_KEYS     ? "keys"
                        : r->slice_of == MP_SLICE_VALUES ? "values"
                        : r->slice_of                    ? "keys_and_values"
                                                         : "none")) |
        put(j, "load", json_real(r->load)) | put(j, "fill", json_real(r->fill));
    json_t *ev = json_array(), *ctx = json_array();
    for (unsigned b = 0; b < MP_EV_COUNT; b++)
        if (r->evidence & (1u << b))
            bad |= json_array_append_new((1u << b) & MP_EV_CONTEXT ? ctx : ev,
                                         json_string(mp_evidence_name(b)));
    bad |=
        put(j, "evidence", ev) | put(j, "context", ctx) |
        put(j, "fix", r->suspect ? json_string(mp_evidence_fix(r->evidence)) : json_null()) |
        put(j, "inner_suspect_bytes", json_integer((json_int_t)r->inner_bytes)) |
        put(j, "inner_suspect",
            r->inner_bytes && r->inner_map != MP_NONE ? json_integer(r->inner_map) : json_null()) |
        put(j, "growth_entries", json_integer((json_int_t)r->growth_entries)) |
        put(j, "growth_bytes", json_integer((json_int_t)r->growth_bytes)) |
        put(j, "root", root_json(g, r->root)) | put(j, "retainer", root_json(g, named_root(g, r)));
    uint32_t other[MP_MAX_LISTED_ROOTS];
    size_t no = sharing_roots(a, r, other, MP_MAX_LISTED_ROOTS);
    json_t *sr = json_array();
    for (size_t i = 0; i < no; i++) bad |= json_array_append_new(sr, root_json(g, other[i]));
    bad |= put(j, "sharing_roots", sr) | put(j, "path_root", root_json(g, r->path_root));
    json_t *roots = json_array();
    for (uint32_t i = 0; i < r->nroots && i < MP_MAX_LISTED_ROOTS; i++)
        bad |= json_array_append_new(roots, root_json(g, r->roots[i]));
    bad |= put(j, "roots", roots) | put(j, "nroots", json_integer(r->nroots));
    mp_step s[MP_CHAIN_STEPS];
    size_t n = map_chain(a, r->map, s, MP_CHAIN_STEPS);
    bad |= put(j, "chain", chain_json(g, s, n)) | mp_chain_length_json(j, s, n);
    json_t *sites = json_array();
    for (uint32_t i = 0; i < r->nsites; i++) {
        json_t *f = frame_json(g, mp_stack_site(g, r->sites[i].stack));
        if (json_is_object(f)) bad |= put(f, "samples", json_integer(r->sites[i].samples));
        bad |= json_array_append_new(sites, f);
    }
    bad |= put(j, "sites", sites);
    json_t *entries = json_array();
    size_t k = r->suspect ? top_n(o, m->nentries) : 0;
    uint32_t *ix = k ? malloc(k * sizeof *ix) : NULL;
    if (k && !ix) bad = 1;
    size_t got = ix ? mp_findings_top_entries(g, &a->d, &a->f, r->map, ix, k) : 0;
    for (size_t i = 0; i < got && !bad; i++)
        bad |= json_array_append_new(entries, entry_json(a, ix[i]));
    free(ix);
    bad |= put(j, "entries", entries);
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
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
    size_t nm = listed_maps(o, g->nmaps);
    mp_js_open_array(&js, "suspects");
    for (size_t i = 0; i < g->nmaps && !js.failed; i++) {
        const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
        if (!r->suspect && i >= nm) break;
        if (r->suspect) mp_js_element(&js, map_json(a, r, mp_report_map_rank(a, i), o));
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
        mp_js_element(&js, map_json(a, r, r->suspect ? mp_report_map_rank(a, i) : 0, o));
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

/* ----------------------------------------------------------------- dot --- */

#define DOT_MAX_SUSPECTS 10 /* maps drawn */
#define DOT_MAX_ENTRIES 50  /* entries drawn per map, whatever --top or --all asks */

/* A quoted dot string: quotes and backslashes escaped, a newline as dot's
 * \n (a centered line break). */
static void dot_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", out);
            continue;
        }
        if (*s == '"' || *s == '\\') fputc('\\', out);
        fputc(*s, out);
    }
}

/* A node: id [label="..."attrs]; the label's lines are joined by \n. */
static void dot_node(FILE *out, const char *id, const char *label, const char *attrs)
{
    fprintf(out, "  %s [label=\"", id);
    dot_escape(out, label);
    fprintf(out, "\"%s];\n", attrs);
}

/* The id of a chain step's node. Roots, objects and map headers are one
 * node each; a bucket is one node per bucket of its array (and depth of
 * its overflow chain), not one per array object; an entry is its own. */
static void dot_id(const mp_step *s, size_t chain, char *id, size_t size)
{
    switch (s->kind) {
    case MP_STEP_ROOT:
        snprintf(id, size, "r%u", s->a);
        break;
    case MP_STEP_MAP:
        snprintf(id, size, "m%u", s->map);
        break;
    case MP_STEP_BUCKET:
    case MP_STEP_OVERFLOW:
        if (s->index == UINT64_MAX)
            snprintf(id, size, "o%u", s->a);
        else
            snprintf(id, size, "b%u_%u_%" PRIu64 "_%u", s->map, s->old, s->index,
                     s->kind == MP_STEP_OVERFLOW ? s->overflow : 0);
        break;
    case MP_STEP_SLOT:
        snprintf(id, size, "e%u", s->a);
        break;
    case MP_STEP_ELIDED:
        snprintf(id, size, "x%zu", chain);
        break;
    default:
        if (s->index != UINT64_MAX)
            snprintf(id, size, "o%u_%" PRIu64, s->a, s->index);
        else
            snprintf(id, size, "o%u", s->a);
    }
}

/* An entry's lines: its key, the value type, and what it keeps alive (a
 * shared entry: what its value keeps alive with the other roots; nothing
 * said of an entry that keeps nothing beyond its slot). */
static void dot_entry_label(const mp_snapshot_analysis *a, uint32_t ei, char *buf, size_t size)
{
    const mp_graph *g = a->g;
    mp_entry en;
    const mp_entry *e = &en;
    mp_graph_entry(g, ei, &en);
    bool shared;
    mp_findings_entry(&a->f, ei, &shared);
    uint64_t bytes = entry_bytes(a, ei);
    char b[64] = "", kb[32];
    if (bytes) {
        fmt_bytes(b, sizeof b, bytes);
        snprintf(b + strlen(b), sizeof b - strlen(b), " %s", shared ? "shared" : "retained");
    }
    snprintf(buf, size, "%s -> %s%s%s", mp_entry_key(g, e, kb, sizeof kb), entry_value_type(g, e),
             *b ? "\n" : "", b);
}

/* A map header's lines: type, address, geometry, what it retains. */
static void dot_map_label(const mp_snapshot_analysis *a, const mp_map_report *r, size_t rank,
                          char *buf, size_t size)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    char c1[32], b1[64], b2[64], pct[32];
    fmt_count(c1, sizeof c1, m->count);
    fmt_bytes(b1, sizeof b1, m->table_bytes);
    int n = snprintf(buf, size, "%s header 0x%" PRIx64 "\n%s entries, B=%u, table %s",
                     map_type(g, r->map), m->address, c1, m->B, b1);
    if (n < 0 || (size_t)n >= size) return;
    if (rank) {
        fmt_bytes(b2, sizeof b2, r->shared_bytes > r->retained ? r->shared_bytes : r->retained);
        mp_format_pct(pct, sizeof pct,
                      (int64_t)(r->shared_bytes > r->retained ? r->shared_bytes : r->retained),
                      (int64_t)a->f.heap_bytes);
        snprintf(buf + n, size - (size_t)n, "\nleak suspect %zu: %s %s (%s of heap)", rank,
                 r->shared_bytes > r->retained ? "shares" : "retains", b2, pct);
    }
}

/* The ids of the indexed nodes drawn (buckets, array elements: many per
 * object), few enough in a bounded picture to be looked up in a line. */
typedef struct dot_ids {
    char (*id)[64];
    size_t n, cap;
} dot_ids;

/* Whether id is new (then it is added); a full or failed set says new. */
static bool dot_ids_add(dot_ids *d, const char *id)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->id[i], id) == 0) return false;
    if (d->n == d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 64;
        char(*q)[64] = realloc(d->id, nc * sizeof *q);
        if (!q) return true;
        d->id = q;
        d->cap = nc;
    }
    snprintf(d->id[d->n++], sizeof *d->id, "%s", id);
    return true;
}

/* Draws one chain: its nodes the first time they appear (a tree of paths
 * gives each node one edge into it), and the edges between them. */
static void dot_chain(FILE *out, const mp_snapshot_analysis *a, const mp_step *s, size_t n,
                      size_t chain, uint8_t *seen, dot_ids *indexed)
{
    const mp_graph *g = a->g;
    char prev[64] = "";
    for (size_t j = 0; j < n; j++) {
        char id[64], t[512];
        dot_id(&s[j], chain, id, sizeof id);
        /* seen: roots, then objects, then entries, then map headers */
        size_t at = SIZE_MAX;
        if (s[j].kind == MP_STEP_ROOT)
            at = s[j].a;
        else if (s[j].kind == MP_STEP_SLOT)
            at = g->nroots + g->nobjects + s[j].a;
        else if (s[j].kind == MP_STEP_MAP)
            at = g->nroots + g->nobjects + g->nentries + s[j].map;
        else if (s[j].kind == MP_STEP_OBJECT && s[j].index == UINT64_MAX)
            at = g->nroots + s[j].a;
        /* seen[at]: 1 the node is drawn, 2 an edge into it is; an indexed
         * node has its edge from the one node that holds it */
        bool fresh = at == SIZE_MAX ? dot_ids_add(indexed, id) : !(seen[at] & 1);
        bool edge_in = at == SIZE_MAX ? fresh : !(seen[at] & 2);
        if (at != SIZE_MAX) seen[at] |= *prev ? 3 : 1;
        if (fresh) {
            const char *attrs = "";
            switch (s[j].kind) {
            case MP_STEP_ROOT:
                mp_root_text(g, s[j].a, t, sizeof t);
                attrs = ", shape=ellipse, style=bold";
                break;
            case MP_STEP_MAP:
                dot_map_label(a, &a->f.maps[s[j].map], 0, t, sizeof t);
                attrs = ", style=filled, fillcolor=\"#ffdddd\"";
                break;
            case MP_STEP_SLOT:
                dot_entry_label(a, s[j].a, t, sizeof t);
                attrs = ", style=rounded";
                break;
            default:
                mp_step_text(g, &s[j], t, sizeof t);
            }
            dot_node(out, id, t, attrs);
        }
        if (*prev && edge_in) fprintf(out, "  %s -> %s;\n", prev, id);
        snprintf(prev, sizeof prev, "%s", id);
    }
}

/* Whether a root of h's holder (a frame's or a global's several words are
 * one holder) is drawn already: O(roots), for a few holders per suspect. */
static bool dot_holder_drawn(const mp_snapshot_analysis *a, const uint8_t *seen, uint32_t h)
{
    for (size_t x = 0; x < a->g->nroots; x++)
        if ((seen[x] & 1) && a->f.holder[x] == a->f.holder[h]) return true;
    return false;
}

/* The picture of the leak suspects: for each (at most DOT_MAX_SUSPECTS),
 * the chain from its root through the objects on the way to the map
 * header (described in its node), the buckets (and overflow buckets) that
 * hold its largest entries, those entries (key, value type, what each
 * keeps alive; at most DOT_MAX_ENTRIES), the other holders of its
 * header, the other roots that hold its shared entries' values too, and one node for the rest, with
 * their count and size. What is left out is said in the graph's label. */
void mp_snapshot_print_dot(FILE *out, const mp_snapshot_analysis *a,
                           const mp_snapshot_print_opts *o)
{
    const mp_graph *g = a->g;
    char b1[64], c1[32], t[1024];
    size_t ns = a->f.nsuspects, nd = ns < DOT_MAX_SUSPECTS ? ns : DOT_MAX_SUSPECTS;
    bool capped = false;
    for (size_t i = 0; i < nd; i++)
        capped |= top_n(o, g->maps[a->f.maps[a->f.ranked[i]].map].nentries) > DOT_MAX_ENTRIES;
    const char *prog = mp_str(g, g->info.program);
    fmt_bytes(b1, sizeof b1, a->f.heap_bytes);
    int n = snprintf(t, sizeof t, "maproot: %s, GC cycle %u, heap %s: %zu leak suspect%s",
                     *prog ? mf_path_base(prog) : a->file, g->info.gc_cycle, b1, ns,
                     ns == 1 ? "" : "s");
    if (n > 0 && (size_t)n < sizeof t && ns > nd)
        n += snprintf(t + n, sizeof t - (size_t)n, " (the first %zu drawn)", nd);
    if (n > 0 && (size_t)n < sizeof t && capped)
        snprintf(t + n, sizeof t - (size_t)n,
                 "\nat most %d entries of a map are drawn; the rest are counted in one node",
                 DOT_MAX_ENTRIES);
    fprintf(out, "strict digraph maproot {\n  rankdir=LR;\n  labelloc=t;\n  label=\"");
    dot_escape(out, t);
    fprintf(out, "\";\n  node [shape=box, fontname=\"monospace\"];\n");
    if (ns == 0) {
        dot_node(out, "none", "no leak suspects: no map shows the evidence of a leak", "");
        fprintf(out, "}\n");
        return;
    }
    uint8_t *seen = calloc(g->nroots + g->nobjects + g->nentries + g->nmaps + 1, 1);
    dot_ids indexed = {0};
    mp_step s[MP_CHAIN_STEPS];
    size_t chain = 0;
    for (size_t i = 0; i < nd && seen; i++) {
        const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
        const mp_map *m = &g->maps[r->map];
        /* the header first, described as a suspect */
        char id[64];
        snprintf(id, sizeof id, "m%u", r->map);
        dot_map_label(a, r, mp_report_map_rank(a, i), t, sizeof t);
        dot_node(out, id, t, ", style=filled, fillcolor=\"#ffdddd\"");
        seen[g->nroots + g->nobjects + g->nentries + r->map] = 1;
        size_t k = top_n(o, m->nentries);
        if (k > DOT_MAX_ENTRIES) k = DOT_MAX_ENTRIES;
        uint32_t *ix = k ? malloc(k * sizeof *ix) : NULL;
        size_t got = ix ? mp_findings_top_entries(g, &a->d, &a->f, r->map, ix, k) : 0;
        if (!got) {
            size_t hn = map_chain(a, r->map, s, MP_CHAIN_STEPS);
            dot_chain(out, a, s, hn, chain++, seen, &indexed);
        }
        uint64_t shown = 0;
        for (size_t c = 0; c < got; c++) {
            size_t cn = entry_chain(a, ix[c], s, MP_CHAIN_STEPS);
            dot_chain(out, a, s, cn < MP_CHAIN_STEPS ? cn : MP_CHAIN_STEPS, chain++, seen,
                      &indexed);
            shown += entry_bytes(a, ix[c]);
        }
        /* the other holders of the header itself: each one node, with an
         * edge to the header (the path from it is not drawn) */
        size_t nh = r->nroots < MP_MAX_LISTED_ROOTS ? r->nroots : MP_MAX_LISTED_ROOTS;
        for (size_t q = 0; q < nh && q < 4; q++) {
            uint32_t h = r->roots[q];
            if (dot_holder_drawn(a, seen, h)) continue;
            mp_root_text(g, h, t, sizeof t);
            snprintf(id, sizeof id, "r%u", h);
            dot_node(out, id, t, ", shape=ellipse, style=bold");
            seen[h] = 1;
            fprintf(out, "  %s -> m%u [style=dashed, label=\"also holds\"];\n", id, r->map);
        }
        /* the other roots that hold the shared values */
        uint32_t other[4];
        size_t no = sharing_roots(a, r, other, 4);
        for (size_t q = 0; q < no; q++) {
            snprintf(id, sizeof id, "r%u", other[q]);
            if (!seen[other[q]]) {
                mp_root_text(g, other[q], t, sizeof t);
                dot_node(out, id, t, ", shape=ellipse, style=bold");
                seen[other[q]] = 1;
            }
            bool said = false; /* "also holds" on the first such edge only */
            for (size_t c = 0; c < got; c++) {
                bool shared;
                mp_findings_entry(&a->f, ix[c], &shared);
                if (shared) {
                    fprintf(out, "  %s -> e%u [style=dashed%s];\n", id, ix[c],
                            said ? "" : ", label=\"also holds\"");
                    said = true;
                }
            }
        }
        /* the rest, in one node */
        if (got < m->nentries) {
            uint64_t all = r->entries_retained + (r->shared_bytes ? r->shared_bytes : 0);
            uint64_t rest = all > shown ? all - shown : 0;
            fmt_count(c1, sizeof c1, m->nentries - got);
            n = snprintf(t, sizeof t, "%s %s entr%s", c1, got ? "other" : "",
                         m->nentries - got == 1 ? "y" : "ies");
            if (rest && n > 0 && (size_t)n < sizeof t) {
                fmt_bytes(b1, sizeof b1, rest);
                snprintf(t + n, sizeof t - (size_t)n, "\n%s", b1);
            }
            snprintf(id, sizeof id, "f%u", r->map);
            dot_node(out, id, t, ", style=dashed");
            fprintf(out, "  m%u -> %s [style=dashed];\n", r->map, id);
        }
        free(ix);
    }
    free(seen);
    free(indexed.id);
    fprintf(out, "}\n");
}

/* --------------------------------------------------------------- pprof --- */

typedef struct locs {
    char **names;
    uint64_t *ids;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index into names + 1, 0 empty */
    size_t nslots;
} locs;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* One location per distinct frame name: roots, types, "bucket",
 * "overflow#k", "slot", and the steps of outer maps and arrays, which name
 * their key or index (as many as there are such chains). */
static uint64_t loc_for(mf_pprof_writer *w, locs *L, const char *name, const char *file,
                        int64_t line)
{
    if (L->n * 2 >= L->nslots) { /* keep the table at most half full */
        size_t ns = L->nslots ? L->nslots * 2 : 256;
        uint32_t *t = calloc(ns, sizeof *t);
        if (!t) return 0;
        for (size_t i = 0; i < L->n; i++) {
            size_t j = name_hash(L->names[i]) & (ns - 1);
            while (t[j]) j = (j + 1) & (ns - 1);
            t[j] = (uint32_t)i + 1;
        }
        free(L->slots);
        L->slots = t;
        L->nslots = ns;
    }
    size_t j = name_hash(name) & (L->nslots - 1);
    for (; L->slots[j]; j = (j + 1) & (L->nslots - 1))
        if (strcmp(L->names[L->slots[j] - 1], name) == 0) return L->ids[L->slots[j] - 1];
    if (L->n == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 64;
        char **nn = realloc(L->names, nc * sizeof *nn);
        if (!nn) return 0;
        L->names = nn;
        uint64_t *ni = realloc(L->ids, nc * sizeof *ni);
        if (!ni) return 0;
        L->ids = ni;
        L->cap = nc;
    }
    uint64_t fid = mf_pw_function(w, name, NULL, file, 0);
    mf_pw_line ln = {fid, line};
    uint64_t id = mf_pw_add_location(w, 0, 0, &ln, 1);
    L->names[L->n] = strdup(name);
    if (!L->names[L->n]) return 0;
    L->ids[L->n++] = id;
    L->slots[j] = (uint32_t)L->n;
    return id;
}

/* The frame name of a chain step in a profile. The steps of the sample's
 * own entry (after the last map header) have names stable across entries,
 * so that samples aggregate: its bucket and slot go to labels. Steps before
 * it (the outer map of a map of maps, an array on the way) name their
 * bucket, slot and key, or element, as the text does. */
static void step_frame(const mp_graph *g, const mp_step *s, bool interior, char *buf, size_t size,
                       const char **file, int64_t *line)
{
    *file = "";
    *line = 0;
    switch (s->kind) {
    case MP_STEP_ROOT: {
        mp_root_text(g, s->a, buf, size);
        const mp_root *r = &g->roots[s->a];
        *file = mp_str(g, r->file);
        *line = r->line;
        /* root text carries "(file:line)": keep the name part only */
        char *paren = strstr(buf, " (");
        if (paren && r->kind == MP_ROOT_GLOBAL) *paren = 0;
        break;
    }
    case MP_STEP_MAP:
        snprintf(buf, size, "%s header", map_type(g, s->map));
        break;
    case MP_STEP_BUCKET:
        if (interior && s->index != UINT64_MAX)
            mp_step_text(g, s, buf, size);
        else
            snprintf(buf, size, "%s", s->old ? "oldbucket" : "bucket");
        break;
    case MP_STEP_OVERFLOW:
        snprintf(buf, size, "overflow#%u", s->overflow);
        break;
    case MP_STEP_SLOT:
        if (interior)
            mp_step_text(g, s, buf, size);
        else
            snprintf(buf, size, "slot");
        break;
    case MP_STEP_ELIDED:
        snprintf(buf, size, "(%" PRIu64 " more steps)", s->index);
        break;
    default:
        if (s->index != UINT64_MAX)
            snprintf(buf, size, "%s [%" PRIu64 "]", mp_graph_type_name(g, s->a), s->index);
        else
            snprintf(buf, size, "%s", mp_graph_type_name(g, s->a));
        break;
    }
}

/* An entry's "key" label: the key as data ("user-53038", as in JSON), its
 * bytes other than printable ASCII, and the quote and backslash, as \xNN:
 * go tool pprof writes label values into its Graphviz output unescaped,
 * and -tagfocus key=user-53038 should need no quoting. */
static void key_label(const char *display, char *buf, size_t size)
{
    size_t n = strlen(display);
    char *bytes = malloc(n + 1);
    bool truncated;
    size_t len = bytes ? mp_key_bytes(display, bytes, &truncated) : SIZE_MAX;
    const char *k = len == SIZE_MAX ? display : bytes;
    if (len == SIZE_MAX) len = n;
    size_t j = 0;
    for (size_t i = 0; i < len && j + 5 < size; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
        else
            buf[j++] = (char)c;
    }
    buf[j] = 0;
    free(bytes);
}

/* Adds one sample: chain steps (root first), a frame `entries` right
 * after the sample's own map header when given, and a leaf frame. */
static int add_chain_sample(mf_pprof_writer *w, locs *L, const mp_graph *g, const mp_step *s,
                            size_t n, const char *entries, const char *leaf, int64_t count,
                            int64_t bytes, const mf_pw_label *labels, size_t nl)
{
    uint64_t ids[MP_CHAIN_STEPS + 2];
    size_t k = 0, last_map = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == MP_STEP_MAP) last_map = i;
    if (leaf) ids[k++] = loc_for(w, L, leaf, "", 0);
    for (size_t i = n; i-- > 0;) {
        if (entries && i == last_map) ids[k++] = loc_for(w, L, entries, "", 0);
        char name[512];
        const char *file;
        int64_t line;
        step_frame(g, &s[i], i < last_map, name, sizeof name, &file, &line);
        ids[k++] = loc_for(w, L, name, file, line);
    }
    for (size_t i = 0; i < k; i++)
        if (!ids[i]) return -1;
    int64_t v[2] = {count, bytes};
    return mf_pw_add_sample(w, ids, k, v, 2, labels, nl);
}

int mp_snapshot_write_pprof(const char *path, const mp_snapshot_analysis *a,
                            const mp_snapshot_print_opts *o, mf_error *err)
{
    const mp_graph *g = a->g;
    mf_pprof_writer *w = mf_pw_new();
    if (!w) {
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    locs L = {0};
    int rc = -1;
    mf_pw_add_sample_type(w, "entries", "count");
    mf_pw_add_sample_type(w, "retained", "bytes");
    mf_pw_set_default_sample_type(w, "retained");
    mf_pw_set_time(w, g->info.time_nanos, 0);
    char comment[512];
    snprintf(comment, sizeof comment, "maproot retention profile of %s (GC cycle %u)", a->file,
             g->info.gc_cycle);
    mf_pw_add_comment(w, comment);
    mp_step s[MP_CHAIN_STEPS + 1];
    for (size_t i = 0; i < g->nmaps; i++) {
        const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
        const mp_map *m = &g->maps[r->map];
        if (m->header == MP_NONE || a->d.idom[m->header] == MP_NONE) continue;
        size_t hn = header_chain(a, r->map, s, MP_CHAIN_STEPS);
        if (hn > MP_CHAIN_STEPS) hn = MP_CHAIN_STEPS;
        const char *mt = map_type(g, r->map);
        mf_pw_label ml[1] = {{"map", mt, 0, NULL}};
        /* the table itself, and what the header dominates beyond entries */
        uint64_t rest = r->retained > r->entries_retained ? r->retained - r->entries_retained : 0;
        if (add_chain_sample(w, &L, g, s, hn, NULL, "(map table)", 0, (int64_t)rest, ml, 1))
            goto out;
        /* A suspect's largest entries each get a frame of their own, named
         * by key and value type, under a frame that holds all its entries
         * and names the largest keys: graph views leave out nodes under
         * 0.5% of the total, and where no single entry is that large, that
         * frame still shows which keys the map holds. The rest of the
         * entries are one frame. */
        size_t k = r->suspect ? top_n(o, m->nentries) : 0;
        uint32_t *ix = k ? malloc(k * sizeof *ix) : NULL;
        size_t got = ix ? mp_findings_top_entries(g, &a->d, &a->f, r->map, ix, k) : 0;
        char entries[512], c1[32], c2[32];
        fmt_count(c1, sizeof c1, m->nentries);
        int en = snprintf(entries, sizeof entries, "%s entr%s", c1, m->nentries == 1 ? "y" : "ies");
        for (size_t j = 0; j < got && j < 3 && en > 0 && (size_t)en < sizeof entries; j++)
            en += snprintf(entries + en, sizeof entries - (size_t)en, "%s%.60s",
                           j ? ", " : ", largest ", key_text(g, ix[j], c2, sizeof c2));
        uint64_t shown_bytes = 0;
        for (size_t j = 0; j < got; j++) {
            mp_entry en;
            const mp_entry *e = &en;
            mp_graph_entry(g, ix[j], &en);
            uint64_t ret = mp_findings_entry(&a->f, ix[j], NULL);
            char kb[32];
            size_t n = entry_chain(a, ix[j], s, MP_CHAIN_STEPS);
            if (n > MP_CHAIN_STEPS) n = MP_CHAIN_STEPS;
            char key[256];
            const char *kt = mp_entry_key(g, e, kb, sizeof kb);
            key_label(kt, key, sizeof key);
            mf_pw_label lb[4] = {{"key", key, 0, NULL},
                                 {"map", mt, 0, NULL},
                                 {"bucket", NULL, (int64_t)e->bucket, "index"},
                                 {"slot", NULL, e->slot, "index"}};
            char leaf[512];
            snprintf(leaf, sizeof leaf, "%s -> %s", kt, entry_value_type(g, e));
            if (add_chain_sample(w, &L, g, s, n, entries, leaf, 1, (int64_t)ret, lb, 4)) {
                free(ix);
                goto out;
            }
            shown_bytes += ret;
        }
        free(ix);
        if (got < m->nentries) {
            uint64_t left =
                r->entries_retained > shown_bytes ? r->entries_retained - shown_bytes : 0;
            char fold[64];
            fmt_count(c1, sizeof c1, m->nentries - got);
            snprintf(fold, sizeof fold, "(%s %sentr%s)", c1, got ? "other " : "",
                     m->nentries - got == 1 ? "y" : "ies");
            hn = header_chain(a, r->map, s, MP_CHAIN_STEPS);
            if (hn > MP_CHAIN_STEPS) hn = MP_CHAIN_STEPS;
            if (add_chain_sample(w, &L, g, s, hn, entries, fold, (int64_t)(m->nentries - got),
                                 (int64_t)left, ml, 1))
                goto out;
        }
    }
    rc = mf_pw_write(w, path, true, err);
    goto done;
out:
    mf_error_set(err, "%s: out of memory building the retention profile", path);
done:
    for (size_t i = 0; i < L.n; i++) free(L.names[i]);
    free(L.names);
    free(L.ids);
    free(L.slots);
    mf_pw_free(w);
    return rc;
}

/* ---------------------------------------- shared with the group reports --- */

void mp_snapshot_frame_text(const mp_graph *g, uint32_t frame, char *buf, size_t size)
{
    frame_text(g, frame, buf, size);
}

void mp_snapshot_print_chain(FILE *out, const mp_graph *g, const char *label, const mp_step *s,
                             size_t n)
{
    print_chain_line(out, g, label, s, n);
}

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
