/*
 * src/analyze/group_report.c -- the suspect groups of maps in the snapshot
 * reports (see group_report.h).
 */
#include "analyze/group_report.h"

#include "analyze/json_text.h"
#include "analyze/map_match.h"
#include "analyze/report.h"
#include "format/text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Whether group gp ranks before map suspect r: growing ones first (a
 * group grows in a comparison of snapshots), then the higher score; a map
 * first on a tie. Both lists are sorted so (findings.c, groups.c): one
 * merge. */
static bool group_first(const mp_group *gp, const mp_map_report *r)
{
    bool gg = gp->evidence & MP_EV_GROWING, rg = r->evidence & MP_EV_GROWING;
    return gg != rg ? gg : gp->score > r->score;
}

size_t mp_report_nsuspects(const mp_snapshot_analysis *a)
{
    return a->f.nsuspects + a->gr.nsuspects;
}

size_t mp_report_map_rank(const mp_snapshot_analysis *a, size_t i)
{
    const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
    size_t before = 0;
    for (size_t j = 0; j < a->gr.nsuspects; j++) before += group_first(&a->gr.groups[j], r);
    return i + 1 + before;
}

size_t mp_report_group_rank(const mp_snapshot_analysis *a, size_t j)
{
    const mp_group *gp = &a->gr.groups[j];
    size_t before = 0;
    for (size_t i = 0; i < a->f.nsuspects; i++)
        before += !group_first(gp, &a->f.maps[a->f.ranked[i]]);
    return j + 1 + before;
}

static void fmt_bytes(char *buf, size_t size, uint64_t v)
{
    mp_format_value(buf, size, (int64_t)v, "bytes", false);
}

const char *mp_group_type(const mp_graph *g, const mp_group *gp)
{
    const char *s = mp_str(g, g->maps[gp->type_map].type_name);
    return *s ? s : "map";
}

uint32_t mp_group_root(const mp_snapshot_analysis *a, const mp_group *gp)
{
    if (gp->root != MP_NONE) return gp->root;
    return gp->holder < a->g->nobjects ? a->p.root[gp->holder] : MP_NONE;
}

/* "N" when a and b are one count, else "A -> B" (was: a is known). */
static void count_since(char *buf, size_t size, bool was, uint32_t a, uint32_t b)
{
    if (was && a != b)
        snprintf(buf, size, "%u -> %u", a, b);
    else
        snprintf(buf, size, "%u", b);
}

bool mp_group_variable_since(const mp_snapshot_analysis *a, const mp_group *gp,
                             const mp_snapshot_analysis *w, const mp_group *was, char *buf,
                             size_t size)
{
    bool here = gp->ntops >= 2, there = was && was->ntops >= 2;
    if (!here && !there) return false;
    char var[400], th[40], fr[40];
    if (here)
        mp_root_variable(a->g, gp->root, var, sizeof var);
    else
        mp_root_variable(w->g, was->root, var, sizeof var);
    const char *noun = a->g->info.thread_noun ? a->g->info.thread_noun : "thread";
    count_since(th, sizeof th, was, was ? was->nthreads : 0, gp->nthreads);
    count_since(fr, sizeof fr, was, was ? was->ntops : 0, gp->ntops);
    if (gp->ntops == gp->nthreads && (!was || was->ntops == was->nthreads))
        snprintf(buf, size, "%s in %s %ss", var, th, noun);
    else
        snprintf(buf, size, "%s in %s frames of %s %ss", var, fr, th, noun);
    return true;
}

bool mp_group_variable(const mp_snapshot_analysis *a, const mp_group *gp, char *buf, size_t size)
{
    return mp_group_variable_since(a, gp, NULL, NULL, buf, size);
}

void mp_group_root_text(const mp_snapshot_analysis *a, const mp_group *gp, char *buf, size_t size)
{
    if (mp_group_variable(a, gp, buf, size)) return;
    char rt[512];
    mp_root_text(a->g, mp_group_root(a, gp), rt, sizeof rt);
    snprintf(buf, size, "%s%s", rt, gp->root == MP_NONE ? " (and other roots)" : "");
}

size_t mp_group_holder_chain(const mp_snapshot_analysis *a, const mp_group *gp, mp_step *s,
                             size_t max)
{
    if (gp->holder < a->g->nobjects) return mp_chain_object(a->g, &a->p, gp->holder, s, max);
    if (!max) return 0;
    s[0] = (mp_step){.kind = MP_STEP_ROOT, .a = gp->holder - (uint32_t)a->g->nobjects};
    return 1;
}

/* The example member's chain (to its largest entry's slot, else its
 * header) and where the part from the holder on starts in it: at the
 * holder's step (which says which element leads on), or after the root's
 * when the holder is a root's node; 0 (the whole chain) when the holder's
 * step was elided. */
static size_t example_chain(const mp_snapshot_analysis *a, const mp_group *gp, mp_step *s,
                            size_t max, size_t *below)
{
    size_t n = mp_snapshot_map_chain(a, gp->example, s, max);
    *below = 0;
    for (size_t i = 0; i < n; i++) {
        bool root = s[i].kind == MP_STEP_ROOT;
        if ((root && gp->holder >= a->g->nobjects) ||
            (!root && s[i].kind != MP_STEP_SLOT && s[i].kind != MP_STEP_ELIDED &&
             s[i].a == gp->holder))
            *below = root ? i + 1 : i;
    }
    if (*below > n) *below = n;
    return n;
}

/* The fix of group gp: a structure to bound, or with one variable of
 * several threads, each thread's map. */
static const char *group_fix(const mp_group *gp)
{
    if (gp->ntops > 1)
        return "bound the map each thread keeps in this variable (evict, or drop it when the "
               "thread is done with it): each map is small, together they are not";
    return "bound the structure that holds them (drop an element, and the map it carries, when "
           "done with it): each map is small, together they are not";
}

void mp_group_print_text(FILE *out, const mp_snapshot_analysis *a, const mp_group *gp, size_t rank,
                         size_t total)
{
    const mp_graph *g = a->g;
    char b1[64], b2[64], c1[32], c2[32], c3[32], c4[32], rt[512];
    fmt_bytes(b1, sizeof b1, gp->retained);
    mp_format_pct(b2, sizeof b2, (int64_t)gp->retained, (int64_t)a->f.heap_bytes);
    mf_format_count(c1, sizeof c1, gp->nmaps);
    fprintf(out, "LEAK SUSPECT %zu of %zu   %s maps %s   retain %s (%s of heap)\n", rank, total, c1,
            mp_group_type(g, gp), b1, b2);
    mp_group_root_text(a, gp, rt, sizeof rt);
    fprintf(out, "  root     %s\n", rt);
    mp_step s[MP_CHAIN_STEPS];
    /* one variable of several threads: the root line names it, no thread's */
    if (gp->ntops < 2)
        mp_snapshot_print_chain(out, g, "holder", s, mp_group_holder_chain(a, gp, s, MP_CHAIN_STEPS));
    mf_format_count(c2, sizeof c2, gp->entries);
    mf_format_count(c3, sizeof c3, gp->min_entries);
    mf_format_count(c4, sizeof c4, gp->max_entries);
    fprintf(out, "  maps     %s of one type under this %s, %s entries: %s to %s a map", c1,
            gp->ntops > 1 ? "variable" : "holder", c2, c3, c4);
    mf_format_count(c2, sizeof c2, gp->median_entries);
    fprintf(out, " (median %s)", c2);
    if (gp->nested) {
        mf_format_count(c3, sizeof c3, gp->nested);
        fprintf(out, "; %s more inside them", c3);
    }
    fputc('\n', out);
    size_t below, n = example_chain(a, gp, s, MP_CHAIN_STEPS, &below);
    mp_snapshot_print_chain(out, g, "example", s + below, n - below);
    mp_format_pct(b2, sizeof b2, (int64_t)gp->score, (int64_t)a->f.heap_bytes);
    fmt_bytes(b1, sizeof b1, a->f.maps[gp->example].retained);
    fprintf(out, "  why      together they hold %s of the reachable heap; the largest alone %s\n",
            b2, b1);
    if (gp->score < gp->retained) {
        fmt_bytes(b1, sizeof b1, gp->retained - gp->score);
        mf_format_count(c3, sizeof c3, gp->suspect_members);
        fprintf(out, "  inside   %s of it is suspect maps' own (%s of the members are suspects)\n",
                b1, c3);
    }
    if (gp->nsites) {
        fprintf(out, "  sites    sampled allocations %s:",
                gp->sites_of_entries ? "under their entries" : "of the maps");
        for (uint32_t i = 0; i < gp->nsites; i++) {
            char site[512];
            mp_snapshot_frame_text(g, mp_stack_site(g, gp->sites[i].stack), site, sizeof site);
            fprintf(out, "%s %s x%u", i ? "," : "", site, gp->sites[i].samples);
        }
        fputc('\n', out);
    }
    fprintf(out, "  fix      %s\n\n", group_fix(gp));
}

/* Steals v into obj[field]; -1 when v is NULL or the set fails. */
static int put(json_t *obj, const char *field, json_t *v)
{
    return obj && v && json_object_set_new(obj, field, v) == 0 ? 0 : -1;
}

static json_t *holder_json(const mp_snapshot_analysis *a, const mp_group *gp)
{
    const mp_graph *g = a->g;
    bool obj = gp->holder < g->nobjects;
    json_t *j = json_object();
    int bad = put(j, "kind", json_string(obj ? "object" : "root")) |
              put(j, "address", obj ? json_integer((json_int_t)mp_obj_addr(g, gp->holder)) : json_null()) |
              (obj ? mp_json_set_text(j, "type", mp_graph_type_name(g, gp->holder))
                   : put(j, "type", json_null())) |
              put(j, "retained_bytes", json_integer((json_int_t)gp->holder_retained));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *example_json(const mp_snapshot_analysis *a, const mp_group *gp)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[gp->example];
    mp_step s[MP_CHAIN_STEPS];
    size_t below, n = example_chain(a, gp, s, MP_CHAIN_STEPS, &below);
    json_t *j = json_object();
    int bad = put(j, "index", json_integer(gp->example)) |
              put(j, "address", json_integer((json_int_t)m->address)) |
              put(j, "count", json_integer((json_int_t)m->count)) |
              put(j, "retained_bytes", json_integer((json_int_t)a->f.maps[gp->example].retained)) |
              put(j, "chain", mp_snapshot_chain_json(g, s, n)) |
              put(j, "chain_from_holder", mp_snapshot_chain_json(g, s + below, n - below));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* {name, roots, threads} of a group whose members hang from one variable
 * of several threads, else null. */
static json_t *variable_json(const mp_snapshot_analysis *a, const mp_group *gp)
{
    char var[512];
    if (gp->ntops < 2 || !mp_root_variable(a->g, gp->root, var, sizeof var)) return json_null();
    json_t *j = json_object();
    if (mp_json_set_text(j, "name", var) | put(j, "roots", json_integer(gp->ntops)) |
        put(j, "threads", json_integer(gp->nthreads))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

json_t *mp_group_json(const mp_snapshot_analysis *a, const mp_group *gp, size_t rank)
{
    const mp_graph *g = a->g;
    mp_step s[MP_CHAIN_STEPS];
    size_t n = mp_group_holder_chain(a, gp, s, MP_CHAIN_STEPS);
    json_t *j = json_object();
    int bad = put(j, "rank", rank ? json_integer((json_int_t)rank) : json_null()) |
              mp_json_set_text(j, "type", mp_group_type(g, gp)) |
              put(j, "maps", json_integer((json_int_t)gp->nmaps)) |
              put(j, "nested_maps", json_integer((json_int_t)gp->nested)) |
              put(j, "entries", json_integer((json_int_t)gp->entries)) |
              put(j, "min_entries", json_integer((json_int_t)gp->min_entries)) |
              put(j, "median_entries", json_integer((json_int_t)gp->median_entries)) |
              put(j, "max_entries", json_integer((json_int_t)gp->max_entries)) |
              put(j, "retained_bytes", json_integer((json_int_t)gp->retained)) |
              put(j, "score_bytes", json_integer((json_int_t)gp->score)) |
              put(j, "heap_share",
                  json_real(a->f.heap_bytes ? (double)gp->retained / (double)a->f.heap_bytes : 0)) |
              put(j, "suspect_members", json_integer((json_int_t)gp->suspect_members)) |
              put(j, "suspect", json_boolean(gp->suspect));
    json_t *ev = json_array();
    for (unsigned b = 0; b < MP_EV_COUNT; b++)
        if (gp->evidence & (1u << b))
            bad |= json_array_append_new(ev, json_string(mp_evidence_name(b)));
    bad |= put(j, "evidence", ev) | put(j, "holder", holder_json(a, gp)) |
           put(j, "root", mp_snapshot_root_json(g, gp->root)) |
           put(j, "retainer", mp_snapshot_root_json(g, mp_group_root(a, gp))) |
           put(j, "variable", variable_json(a, gp)) |
           put(j, "holder_chain", mp_snapshot_chain_json(g, s, n)) |
           put(j, "example", example_json(a, gp));
    json_t *sites = json_array();
    for (uint32_t i = 0; i < gp->nsites; i++) {
        json_t *f = mp_snapshot_frame_json(g, mp_stack_site(g, gp->sites[i].stack));
        if (json_is_object(f)) bad |= put(f, "samples", json_integer(gp->sites[i].samples));
        bad |= json_array_append_new(sites, f);
    }
    bad |= put(j, "sites", sites) |
           put(j, "sites_of", json_string(gp->sites_of_entries ? "entries" : "maps")) |
           put(j, "headers_sampled", json_integer((json_int_t)gp->header_samples)) |
           put(j, "fix", gp->suspect ? json_string(group_fix(gp)) : json_null());
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}
