/*
 * src/cli/cmd_snapshot.c -- root tracing in the CLI: `maproot analyze` of a
 * snapshot and `maproot diff` of two snapshots.
 */
#include "cli/cmd_snapshot.h"

#include "analyze/group_diff.h"
#include "analyze/group_report.h"
#include "analyze/json_text.h"
#include "analyze/map_match.h"
#include "analyze/parallel.h"
#include "analyze/report.h"
#include "analyze/snapshot_report.h"
#include "analyze/timing.h"
#include "analyze/views.h"
#include "cli/cli.h"
#include "cli/input.h"
#include "format/text.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The end of an analysis whose report is out (status its outcome): the
 * verdict of --fail-on, said first, then the index of the graph written or
 * completed (the user has the answer meanwhile), then the analysis freed. */
static int analyzed(const mp_graph *g, mp_snapshot_analysis *a, const cli_snap_opts *o, int status)
{
    size_t ns = mp_report_nsuspects(a); /* maps and groups of maps */
    if (status == CLI_EXIT_OK && (o->fail_on & CLI_FAIL_SUSPECT) && ns)
        status =
            cli_found("analyze", "%zu leak suspect%s (--fail-on suspect)", ns, ns == 1 ? "" : "s");
    cli_report_done();
    cli_index_save(g, &a->p, &a->d, &a->f);
    mp_snapshot_analysis_free(a);
    return status;
}

int cli_analyze_snapshot(const char *path, mp_graph *g, const cli_snap_opts *o)
{
    const char *fmt = o->format ? o->format : "text";
    mp_snapshot_analysis a;
    mf_error err;
    memset(&a, 0, sizeof a);
    a.load_seconds = o->load_seconds;
    if (mp_snapshot_analyze_graph(g, NULL, &a, &err)) return cli_fail("%s", err.msg);
    mp_snapshot_print_opts po = {.top_entries = o->top_entries,
                                 .all_entries = o->all,
                                 .top_maps = o->top_maps,
                                 .all_maps = o->all_maps,
                                 .profile = o->profile,
                                 .timings = o->timings};
    int status = CLI_EXIT_OK;
    if (strcmp(fmt, "pprof") == 0) {
        if (mp_snapshot_write_pprof(o->output, &a, &po, &err)) status = cli_fail("%s", err.msg);
        return analyzed(g, &a, o, status);
    }
    cli_output co;
    FILE *out = cli_output_open(&co, o->output);
    if (!out) return analyzed(g, &a, o, CLI_EXIT_BAD);
    if (strcmp(fmt, "json") == 0) {
        json_t *pj = o->profile_analysis ? mp_analysis_json(o->profile_analysis) : json_null();
        if (mp_snapshot_write_json(out, &a, &po, "profile_analysis", pj, &err) != 0) {
            /* a write error is reported once, when the output is closed;
             * a report cut short leaves no file (cli_output_close) */
            status = cli_output_failed(&co)
                         ? CLI_EXIT_BAD
                         : cli_fail("%s: out of memory writing the JSON report", path);
        }
    } else if (strcmp(fmt, "dot") == 0) {
        mp_snapshot_print_dot(out, &a, &po);
    } else {
        mp_snapshot_print_text(out, &a, &po);
        if (o->profile_analysis) {
            fputs("\nHEAP PROFILE  who allocated the memory in use (sampled)\n", out);
            mp_print_analysis_text(out, o->profile_analysis);
        }
    }
    return analyzed(g, &a, o, cli_output_close(&co, status));
}

/* ---------------------------------------------------------------- views --- */

/* The dominator tree and, for the dominator view, the paths (for each
 * subtree's chain): at once on two processors. */
typedef struct view_job {
    const mp_graph *g;
    mp_dom d;
    mp_paths p;
    bool want_paths;
    mp_dom_team *team; /* NULL: the dominators on one thread */
    int rc[2];
    mf_error err[2];
} view_job;

/* Thread 0 computes the dominators; thread 1 the paths when wanted, and
 * then helps with the dominators. */
static void view_part(void *arg, unsigned t, unsigned n)
{
    (void)n;
    view_job *j = arg;
    if (t == 0) {
        j->rc[0] = mp_dom_compute_team(j->g, &j->d, j->team, &j->err[0]);
        return;
    }
    if (j->want_paths) j->rc[1] = mp_paths_compute(j->g, &j->p, &j->err[1]);
    mp_dom_help(j->team);
}

int cli_view_snapshot(const char *path, mp_graph *g, const cli_snap_opts *o)
{
    (void)path;
    double t0 = cli_now();
    view_job j = {.g = g, .want_paths = o->view == CLI_VIEW_DOMINATORS};
    unsigned nt = mp_threads() >= 2 ? 2 : 1;
    if (nt == 2) j.team = mp_dom_team_new();
    mp_parallel(nt, view_part, &j);
    mp_dom_team_free(j.team);
    if (nt == 1 && j.want_paths) view_part(&j, 1, 2);
    mp_timing_mark(j.want_paths ? "paths+dom" : "dominators");
    int status = CLI_EXIT_BAD;
    mp_histogram h = {0};
    mp_domtree t = {0};
    if (j.rc[0] || j.rc[1]) {
        cli_fail("%s", j.rc[0] ? j.err[0].msg : j.err[1].msg);
        goto out;
    }
    mf_error err;
    if (o->view == CLI_VIEW_BY_TYPE ? mp_histogram_compute(g, &j.d, &h, &err)
                                    : mp_domtree_compute(g, &j.d, o->top, 0.01, 5, 4, &t, &err)) {
        cli_fail("%s", err.msg);
        goto out;
    }
    mp_timing_mark("view");
    uint64_t reach_bytes = j.d.retained[j.d.super_root];
    uint64_t reach_objects = o->view == CLI_VIEW_BY_TYPE ? h.objects : t.heap_objects;
    cli_output co;
    FILE *out = cli_output_open(&co, o->output);
    if (!out) goto out;
    status = CLI_EXIT_OK;
    if (o->format && strcmp(o->format, "json") == 0) {
        json_t *v = o->view == CLI_VIEW_BY_TYPE ? mp_histogram_json(g, &h, o->top)
                                                : mp_domtree_json(g, &j.d, &j.p, &t);
        json_t *root =
            mp_json_report(o->view == CLI_VIEW_BY_TYPE ? "heap_types" : "dominator_tree");
        if (root) mp_view_json_header(root, g, reach_bytes, reach_objects);
        if (!v || !root || json_object_update(root, v) ||
            json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
            status = cli_output_failed(&co)
                         ? CLI_EXIT_BAD
                         : cli_fail("%s: out of memory writing the JSON report", g->info.name);
        else
            fputc('\n', out);
        json_decref(v);
        json_decref(root);
    } else {
        mp_view_header(out, g, reach_bytes, reach_objects, o->load_seconds + cli_now() - t0);
        if (o->view == CLI_VIEW_BY_TYPE)
            mp_histogram_print_text(out, g, &h, o->top);
        else
            mp_domtree_print_text(out, g, &j.d, &j.p, &t);
    }
    status = cli_output_close(&co, status);
out:
    cli_report_done();
    cli_index_save(g, &j.p, &j.d, NULL);
    mp_histogram_free(&h);
    mp_domtree_free(&t);
    mp_dom_free(&j.d);
    if (j.want_paths) mp_paths_free(&j.p);
    mp_graph_free(g);
    return status;
}

/* ---------------------------------------------------------------- diff --- */

typedef struct map_diff {
    int32_t before, after; /* map indices, -1 absent */
    uint64_t added, removed;
    int64_t retained_delta, count_delta;
    int64_t beyond_delta; /* of the retained bytes beyond the map's table */
    int64_t held_delta;   /* of the bytes retained or shared (mp_map_report.score's) */
    uint32_t new_keys[5];
    size_t nnew;
    bool in_group; /* it grew, and its growth is that of its growing group (group_diff.h) */
} map_diff;

/*
 * Whether a map grew between the snapshots: more entries and more retained
 * bytes, or the same keys (none added, none removed) retaining more bytes
 * beyond the map's table. Values that only grow (a list or a slice per
 * entry, under a fixed set of keys) are a leak as much as keys that pile
 * up, and a diff that looked at entries alone would pass them; the table
 * is left out of that measure, since the same keys in another run (or
 * after deletes and inserts) may lie in a table of other overflow buckets.
 * A map whose keys changed without adding to their number is churn, not
 * growth, whatever its bytes did. Bytes its entries share with another
 * holder count as its own do (what its score counts): a copy-on-write
 * successor shares its values with the old copy a reader still holds,
 * and retains fewer bytes than that copy did alone, yet grew.
 */
static bool map_grew(const map_diff *d)
{
    if (d->retained_delta <= 0 && d->held_delta <= 0) return false;
    if (d->count_delta > 0) return true;
    return d->before >= 0 && d->after >= 0 && d->count_delta == 0 && d->added == 0 &&
           d->removed == 0 && d->beyond_delta > 0;
}

/* Whether the diff names a map as growing: it grew, and its group does
 * not name that growth (one growth, named once). */
static bool map_growing(const map_diff *d)
{
    return map_grew(d) && !d->in_group;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The key texts of a map's entries in the map's order (pointers into the
 * graph, or into *arena for keys rendered from numbers); NULL when out of
 * memory. */
static const char **map_keys(const mp_graph *g, uint32_t m, char **arena)
{
    const mp_map *mp = &g->maps[m];
    enum { KEY_TEXT = 24 }; /* "-9223372036854775808" and "0x..." fit */
    const char **k = malloc((mp->nentries ? mp->nentries : 1) * sizeof *k);
    *arena = malloc((mp->nentries ? mp->nentries : 1) * KEY_TEXT);
    if (!k || !*arena) {
        free(k);
        free(*arena);
        *arena = NULL;
        return NULL;
    }
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, mp->first_entry);
    mp_entry e;
    size_t i = 0;
    for (; i < mp->nentries && mp_entry_next(&c, &e); i++)
        k[i] = mp_entry_key(g, &e, *arena + i * KEY_TEXT, KEY_TEXT);
    mp_entry_cursor_free(&c);
    for (; i < mp->nentries; i++) k[i] = ""; /* (could not be read back) */
    return k;
}

/* The same, sorted. */
static const char **sorted_keys(const mp_graph *g, uint32_t m, char **arena)
{
    const char **k = map_keys(g, m, arena);
    if (k) qsort(k, g->maps[m].nentries, sizeof *k, cmp_str);
    return k;
}

/* Entry ei's key for people (kt: 32 bytes). */
static const char *entry_key(const mp_graph *g, uint32_t ei, char *kt)
{
    mp_entry e;
    return mp_graph_entry(g, ei, &e) ? mp_entry_key(g, &e, kt, 32) : "";
}

static bool has_key(const char **keys, size_t n, const char *k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(keys[mid], k);
        if (c == 0) return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int cmp_diff(const void *a, const void *b)
{
    const map_diff *x = a, *y = b;
    if (x->retained_delta != y->retained_delta)
        return x->retained_delta > y->retained_delta ? -1 : 1;
    if (x->count_delta != y->count_delta) return x->count_delta > y->count_delta ? -1 : 1;
    return x->after < y->after ? -1 : x->after > y->after;
}

static void compare_map(const mp_snapshot_analysis *A, const mp_snapshot_analysis *B, map_diff *d)
{
    const mp_graph *ga = A->g, *gb = B->g;
    char *arena_a = NULL, *arena_b = NULL, *arena_o = NULL;
    const char **ka = d->before >= 0 ? sorted_keys(ga, (uint32_t)d->before, &arena_a) : NULL;
    const char **kb = d->after >= 0 ? sorted_keys(gb, (uint32_t)d->after, &arena_b) : NULL;
    size_t na = d->before >= 0 ? ga->maps[d->before].nentries : 0;
    size_t nb = d->after >= 0 ? gb->maps[d->after].nentries : 0;
    const char **ko = d->after >= 0 ? map_keys(gb, (uint32_t)d->after, &arena_o) : NULL;
    if (d->after >= 0 && ko) {
        const mp_map *m = &gb->maps[d->after];
        for (size_t i = 0; i < m->nentries; i++) {
            const char *k = ko[i];
            if (ka && has_key(ka, na, k)) continue;
            if (!ka && d->before >= 0) continue; /* out of memory: no sample */
            d->added++;
            if (d->nnew < 5) d->new_keys[d->nnew++] = (uint32_t)(m->first_entry + i);
        }
    }
    if (d->before >= 0 && kb) {
        for (size_t i = 0; i < na; i++)
            if (!has_key(kb, nb, ka ? ka[i] : "")) d->removed++;
    } else if (d->before >= 0) {
        d->removed = na;
    }
    int64_t ra = d->before >= 0 ? (int64_t)A->f.maps[d->before].retained : 0;
    int64_t rb = d->after >= 0 ? (int64_t)B->f.maps[d->after].retained : 0;
    int64_t ca = d->before >= 0 ? (int64_t)ga->maps[d->before].count : 0;
    int64_t cb = d->after >= 0 ? (int64_t)gb->maps[d->after].count : 0;
    int64_t ta = d->before >= 0 ? (int64_t)ga->maps[d->before].table_bytes : 0;
    int64_t tb = d->after >= 0 ? (int64_t)gb->maps[d->after].table_bytes : 0;
    d->retained_delta = rb - ra;
    d->count_delta = cb - ca;
    d->beyond_delta = (rb - tb) - (ra - ta);
    int64_t sa = d->before >= 0 ? (int64_t)A->f.maps[d->before].shared_bytes : 0;
    int64_t sb = d->after >= 0 ? (int64_t)B->f.maps[d->after].shared_bytes : 0;
    d->held_delta = (rb + sb) - (ra + sa);
    free(ka);
    free(kb);
    free(ko);
    free(arena_a);
    free(arena_b);
    free(arena_o);
}

/* The members of the groups of AFTER that do not grow on their own, and
 * the maps of the groups of BEFORE that are gone (none of their maps is
 * left): the text shows them in their group's block, not in the list of
 * maps (a group of thousands of maps that each gain or churn a few
 * entries, or that all went away with their threads, would otherwise
 * print thousands of blocks that each say a little of what the group's
 * block says once). Sorted by side (AFTER's groups first) and group id
 * of that side, then those whose growth is the group's, then those that
 * changed, then the unchanged, then the gone, the largest (retained in
 * AFTER, in BEFORE for a gone one) first within each, then map order. */
enum { MEMBER_GREW, MEMBER_CHANGED, MEMBER_SAME, MEMBER_GONE, MEMBER_KINDS };
typedef struct folded_member {
    uint32_t group; /* B->gr.member_of[d->after], or A->gr.member_of[d->before] when gone */
    uint32_t kind;  /* MEMBER_* */
    uint64_t retained;
    const map_diff *d;
} folded_member;

typedef struct folded_members {
    folded_member *v;
    size_t n;
    const mp_snapshot_analysis *A, *B;
    bool *gone; /* per group id of A: the group is gone (mp_group_diffs) */
} folded_members;

/* How many members a group's block names with their figures. */
enum { FOLDED_SHOWN = 3 };

static int cmp_folded(const void *a, const void *b)
{
    const folded_member *x = a, *y = b;
    bool gx = x->kind == MEMBER_GONE, gy = y->kind == MEMBER_GONE;
    if (gx != gy) return gx ? 1 : -1;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    if (x->retained != y->retained) return x->retained > y->retained ? -1 : 1;
    if (x->d->after != y->d->after) return x->d->after < y->d->after ? -1 : 1;
    return x->d->before < y->d->before ? -1 : x->d->before > y->d->before;
}

/* Whether the text shows map d in its group's block (see folded_member):
 * a member of a group of AFTER that does not grow on its own, or a map
 * gone with its whole group. */
static bool folded(const folded_members *fm, const map_diff *d)
{
    if (d->after < 0) {
        uint32_t id = fm->A->gr.member_of[d->before];
        return id != MP_NONE && fm->gone[id];
    }
    return fm->B->gr.member_of[d->after] != MP_NONE && !map_growing(d);
}

/* The folded members of diffs[0..nd), gd the groups compared; -1 when out
 * of memory. */
static int fold_members(const mp_snapshot_analysis *A, const mp_snapshot_analysis *B,
                        const map_diff *diffs, size_t nd, const mp_group_diffs *gd,
                        folded_members *fm)
{
    fm->A = A;
    fm->B = B;
    fm->n = 0;
    fm->v = malloc((nd + 1) * sizeof *fm->v);
    fm->gone = calloc(A->gr.n + 1, sizeof *fm->gone);
    if (!fm->v || !fm->gone) return -1;
    for (size_t i = 0; i < gd->n; i++)
        if (!gd->v[i].in_after) fm->gone[gd->v[i].before.id] = true;
    for (size_t i = 0; i < nd; i++) {
        const map_diff *d = &diffs[i];
        if (!folded(fm, d)) continue;
        if (d->after < 0) {
            fm->v[fm->n++] = (folded_member){A->gr.member_of[d->before], MEMBER_GONE,
                                             A->f.maps[d->before].retained, d};
            continue;
        }
        uint32_t kind = d->in_group ? MEMBER_GREW
                        : d->added || d->removed || d->retained_delta || d->before < 0
                            ? MEMBER_CHANGED
                            : MEMBER_SAME;
        fm->v[fm->n++] =
            (folded_member){B->gr.member_of[d->after], kind, B->f.maps[d->after].retained, d};
    }
    qsort(fm->v, fm->n, sizeof *fm->v, cmp_folded);
    return 0;
}

/* One map's new keys, as a list (", ..." when more were added). */
static void print_new_keys(FILE *out, const mp_graph *g, const map_diff *d)
{
    for (size_t k = 0; k < d->nnew; k++) {
        char kt[32];
        fprintf(out, "%s%s", k ? ", " : "", entry_key(g, d->new_keys[k], kt));
    }
    fputs(d->added > d->nnew ? ", ..." : "", out);
}

/* A map's figures, before and after: entries (added, removed) and
 * retained bytes, after indent. */
static void print_map_figures(FILE *out, const char *indent, const mp_snapshot_analysis *A,
                              const mp_snapshot_analysis *B, const map_diff *d)
{
    char b1[64], b2[64], b3[64];
    uint64_t ca = d->before >= 0 ? A->g->maps[d->before].count : 0;
    uint64_t cb = d->after >= 0 ? B->g->maps[d->after].count : 0;
    mp_format_value(b1, sizeof b1, d->before >= 0 ? (int64_t)A->f.maps[d->before].retained : 0,
                    "bytes", false);
    mp_format_value(b2, sizeof b2, d->after >= 0 ? (int64_t)B->f.maps[d->after].retained : 0,
                    "bytes", false);
    mp_format_value(b3, sizeof b3, d->retained_delta, "bytes", true);
    fprintf(out,
            "%sentries %" PRIu64 " -> %" PRIu64 " (+%" PRIu64 " added, -%" PRIu64
            " removed); retained %s -> %s (%s)\n",
            indent, ca, cb, d->added, d->removed, b1, b2, b3);
}

/* ", N WHAT" into out when n is not 0. */
static void member_count(FILE *out, bool *first, size_t n, const char *what)
{
    if (!n) return;
    char c1[32];
    mf_format_count(c1, sizeof c1, n);
    fprintf(out, "%s%s %s", *first ? "" : ", ", c1, what);
    *first = false;
}

/* Whether folded member m sorts before the first member of the group of
 * id on the side gone says (cmp_folded's order). */
static bool folded_before(const folded_member *m, bool gone, uint32_t id)
{
    bool mg = m->kind == MEMBER_GONE;
    return mg != gone ? !mg : m->group < id;
}

/* The members of a group of AFTER that do not grow on their own, or the
 * maps of a group that is gone (mp_group_members_fn): how many, by what
 * they did (grew with the group, changed, unchanged, gone), the largest
 * few of those that grew, changed or went with their figures and new keys
 * (named by their own root for one variable of several threads, whose
 * members each have a thread's, else by their header), and how many
 * more. */
static void print_group_members(FILE *out, const mp_group_diff *x, void *ctx)
{
    const folded_members *fm = ctx;
    bool gone = !x->in_after;
    const mp_snapshot_analysis *S = gone ? fm->A : fm->B;
    const mp_graph *g = S->g;
    const mp_group *gp = gone ? &x->before : &x->after;
    uint32_t id = gp->id;
    size_t lo = 0, hi = fm->n;
    while (lo < hi) { /* the first of group id */
        size_t mid = lo + (hi - lo) / 2;
        if (folded_before(&fm->v[mid], gone, id))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo, by_kind[MEMBER_KINDS] = {0};
    for (; end < fm->n && fm->v[end].group == id && (fm->v[end].kind == MEMBER_GONE) == gone; end++)
        by_kind[fm->v[end].kind]++;
    if (end == lo) return;
    char c1[32];
    mf_format_count(c1, sizeof c1, end - lo);
    fprintf(out, "    members %s not listed under MAPS: ", c1);
    bool first = true;
    member_count(out, &first, by_kind[MEMBER_GREW], "grew with it");
    member_count(out, &first, by_kind[MEMBER_CHANGED], "changed without growing");
    member_count(out, &first, by_kind[MEMBER_SAME], "unchanged");
    member_count(out, &first, by_kind[MEMBER_GONE], "gone");
    size_t shown = end - lo - by_kind[MEMBER_SAME];
    fputs(shown ? "; the largest first:\n" : "\n", out);
    if (shown > FOLDED_SHOWN) shown = FOLDED_SHOWN;
    for (size_t i = lo; i < lo + shown; i++) {
        const map_diff *d = fm->v[i].d;
        int32_t m = gone ? d->before : d->after;
        const mp_map_report *r = &S->f.maps[m];
        const char *status = d->before < 0 ? "   (new map)" : d->after < 0 ? "   (gone)" : "";
        if (gp->ntops > 1) {
            char rt[512];
            mp_root_text(g, r->root != MP_NONE ? r->root : r->path_root, rt, sizeof rt);
            fprintf(out, "      root %s%s\n", rt, status);
        } else {
            fprintf(out, "      map header 0x%" PRIx64 "%s\n", g->maps[m].address, status);
        }
        print_map_figures(out, "        ", fm->A, fm->B, d);
        if (d->nnew) {
            fputs("        new keys: ", out);
            print_new_keys(out, g, d);
            fputc('\n', out);
        }
    }
    if (shown && end - lo > shown) {
        mf_format_count(c1, sizeof c1, end - lo - shown);
        fprintf(out, "      ... and %s more (every map: --format json)\n", c1);
    }
}

/* Steals v into obj[field]; -1 when v is NULL or the set fails. */
static int put(json_t *obj, const char *field, json_t *v)
{
    return obj && v && json_object_set_new(obj, field, v) == 0 ? 0 : -1;
}

/* The comparison for scripts (maproot-diff(1), SNAPSHOT DIFF JSON); NULL
 * when out of memory. */
static json_t *diff_json(const char *before, const mp_snapshot_analysis *A, const char *after,
                         const mp_snapshot_analysis *B, const map_diff *diffs, size_t nd,
                         const mp_group_diffs *gd)
{
    json_t *root = mp_json_report("snapshot_diff");
    int bad = !root;
    bad |= mp_json_set_text(root, "before", before) | mp_json_set_text(root, "after", after) |
           put(root, "before_gc_cycle", json_integer(A->g->info.gc_cycle)) |
           put(root, "after_gc_cycle", json_integer(B->g->info.gc_cycle)) |
           put(root, "heap_before_bytes", json_integer((json_int_t)A->f.heap_bytes)) |
           put(root, "heap_after_bytes", json_integer((json_int_t)B->f.heap_bytes));
    json_t *arr = json_array();
    for (size_t i = 0; i < nd && !bad; i++) {
        const map_diff *d = &diffs[i];
        const mp_snapshot_analysis *S = d->after >= 0 ? B : A;
        uint32_t m = (uint32_t)(d->after >= 0 ? d->after : d->before);
        const mp_map_report *r = &S->f.maps[m];
        char rt[512];
        mp_root_text(S->g, r->root != MP_NONE ? r->root : r->path_root, rt, sizeof rt);
        json_t *j = json_object();
        bad |= mp_json_set_text(j, "type", mp_str(S->g, S->g->maps[m].type_name)) |
               mp_json_set_text(j, "root", rt) |
               put(j, "status",
                   json_string(d->before < 0  ? "new"
                               : d->after < 0 ? "gone"
                                              : "both")) |
               put(j, "count_before",
                   json_integer(d->before >= 0 ? (json_int_t)A->g->maps[d->before].count : 0)) |
               put(j, "count_after",
                   json_integer(d->after >= 0 ? (json_int_t)B->g->maps[d->after].count : 0)) |
               put(j, "entries_added", json_integer((json_int_t)d->added)) |
               put(j, "entries_removed", json_integer((json_int_t)d->removed)) |
               put(j, "retained_before_bytes",
                   json_integer(d->before >= 0 ? (json_int_t)A->f.maps[d->before].retained : 0)) |
               put(j, "retained_after_bytes",
                   json_integer(d->after >= 0 ? (json_int_t)B->f.maps[d->after].retained : 0)) |
               put(j, "retained_delta_bytes", json_integer(d->retained_delta)) |
               put(j, "growing", json_boolean(map_growing(d))) |
               put(j, "in_growing_group", json_boolean(d->in_group));
        json_t *nk = json_array();
        for (size_t k = 0; k < d->nnew && !bad; k++) {
            json_t *key = json_object();
            char kt[32];
            bad |= mp_json_set_key(key, entry_key(B->g, d->new_keys[k], kt)) |
                   json_array_append_new(nk, key);
        }
        bad |= put(j, "new_keys", nk) | json_array_append_new(arr, j);
    }
    bad |= put(root, "maps", arr) | put(root, "groups", mp_group_diff_json(A, B, gd));
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int cli_diff_snapshots(const char *before, mp_graph *ga, const char *after, mp_graph *gb,
                       const cli_snap_opts *o)
{
    const char *fmt = o->format ? o->format : "text";
    mp_snapshot_analysis A, B;
    mf_error err;
    memset(&A, 0, sizeof A);
    memset(&B, 0, sizeof B);
    /* every group of maps: one is followed from when it is small */
    const mp_findings_options fo = {.all_groups = true};
    if (mp_snapshot_analyze_graph(ga, &fo, &A, &err)) {
        mp_graph_free(gb);
        return cli_fail("%s", err.msg);
    }
    if (mp_snapshot_analyze_graph(gb, &fo, &B, &err)) {
        mp_snapshot_analysis_free(&A);
        return cli_fail("%s", err.msg);
    }
    const char *pa = mp_str(A.g, A.g->info.program), *pb = mp_str(B.g, B.g->info.program);
    const char *ba = mp_str(A.g, A.g->info.build_id), *bb = mp_str(B.g, B.g->info.build_id);
    if (strcmp(pa, pb) != 0 || (*ba && *bb && strcmp(ba, bb) != 0))
        fprintf(stderr,
                "maproot: warning: %s and %s are snapshots of different programs (%s%s%s; "
                "%s%s%s): maps are matched by type and root only\n",
                before, after, pa, *ba ? " build " : "", ba, pb, *bb ? " build " : "", bb);
    cli_output co = {0};
    /* which map of A each map of B is (map_match.h) */
    size_t na = A.g->nmaps, nb = B.g->nmaps;
    mp_map_ident *ids_a = mp_map_idents(A.g, &A.p, &A.f), *ids_b = mp_map_idents(B.g, &B.p, &B.f);
    int32_t *b_to_a = malloc((nb + 1) * sizeof *b_to_a);
    bool *used = calloc(na + 1, sizeof *used);
    map_diff *diffs = calloc(na + nb + 1, sizeof *diffs);
    mp_group_diffs gd = {0};
    mp_map_growth *mg = NULL;
    bool *in_group = NULL;
    folded_members fm = {0};
    int status = CLI_EXIT_BAD;
    if (!ids_a || !ids_b || !b_to_a || !used || !diffs ||
        mp_map_match(ids_a, na, ids_b, nb, B.g, mp_same_run(A.g, B.g), b_to_a)) {
        cli_fail("out of memory comparing %s and %s", before, after);
        goto out;
    }
    size_t nd = 0;
    for (size_t i = 0; i < nb; i++) {
        map_diff d = {.before = b_to_a[i], .after = (int32_t)i};
        if (d.before >= 0) used[d.before] = true;
        compare_map(&A, &B, &d);
        diffs[nd++] = d;
    }
    for (size_t j = 0; j < na; j++)
        if (!used[j]) {
            map_diff d = {.before = (int32_t)j, .after = -1};
            compare_map(&A, &B, &d);
            diffs[nd++] = d;
        }
    qsort(diffs, nd, sizeof *diffs, cmp_diff);
    /* the groups first: a map whose growth is its group's is not growing
     * on its own */
    if (!(mg = calloc(nb + 1, sizeof *mg)) || !(in_group = calloc(nb + 1, sizeof *in_group))) {
        cli_fail("out of memory comparing %s and %s", before, after);
        goto out;
    }
    for (size_t i = 0; i < nd; i++)
        if (diffs[i].after >= 0)
            mg[diffs[i].after] = (mp_map_growth){diffs[i].count_delta, diffs[i].retained_delta,
                                                 map_grew(&diffs[i]), diffs[i].before < 0};
    if (mp_group_diff_compute(&A, &B, mg, in_group, &gd, &err)) {
        cli_fail("%s", err.msg);
        goto out;
    }
    /* growth feeds the ranking of the after snapshot */
    for (size_t i = 0; i < nd; i++) {
        if (diffs[i].after < 0) continue;
        diffs[i].in_group = in_group[diffs[i].after];
        mp_map_report *r = &B.f.maps[diffs[i].after];
        if (diffs[i].added || diffs[i].retained_delta) {
            mp_map_rare *x = mp_report_rare_w(&B.f, r);
            if (!x) {
                cli_fail("out of memory comparing %s and %s", before, after);
                goto out;
            }
            x->growth_entries = diffs[i].added;
            x->growth_bytes = diffs[i].retained_delta;
        }
        if (map_growing(&diffs[i])) r->evidence |= MP_EV_GROWING;
    }
    mp_findings_rerank(&B.f);

    char b1[64], b2[64], b3[64];
    int64_t heap_delta = (int64_t)B.f.heap_bytes - (int64_t)A.f.heap_bytes;
    if (strcmp(fmt, "json") != 0 && fold_members(&A, &B, diffs, nd, &gd, &fm)) {
        cli_fail("out of memory comparing %s and %s", before, after);
        goto out;
    }
    FILE *out = cli_output_open(&co, o->output);
    if (!out) goto out;
    if (strcmp(fmt, "json") == 0) {
        json_t *root = diff_json(before, &A, after, &B, diffs, nd, &gd);
        if (!root || json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
            /* a write error is reported once, when the output is closed */
            if (!cli_output_failed(&co))
                cli_fail("%s: out of memory writing the JSON comparison", after);
            json_decref(root);
            status = cli_output_close(&co, CLI_EXIT_BAD);
            goto out;
        }
        fputc('\n', out);
        json_decref(root);
    } else {
        mp_format_value(b1, sizeof b1, (int64_t)A.f.heap_bytes, "bytes", false);
        mp_format_value(b2, sizeof b2, (int64_t)B.f.heap_bytes, "bytes", false);
        mp_format_value(b3, sizeof b3, heap_delta, "bytes", true);
        fprintf(out, "maproot diff: %s (GC cycle %u) -> %s (GC cycle %u)\n", before,
                A.g->info.gc_cycle, after, B.g->info.gc_cycle);
        fprintf(out, "  heap %s -> %s (%s)\n\n", b1, b2, b3);
        fprintf(out, "MAPS  growing first\n");
        for (size_t i = 0; i < nd; i++) {
            const map_diff *d = &diffs[i];
            if (folded(&fm, d)) continue; /* its group's block shows it (fold_members) */
            const mp_snapshot_analysis *S = d->after >= 0 ? &B : &A;
            uint32_t m = (uint32_t)(d->after >= 0 ? d->after : d->before);
            const mp_map_report *r = &S->f.maps[m];
            char rt[512];
            mp_root_text(S->g, r->root != MP_NONE ? r->root : r->path_root, rt, sizeof rt);
            bool growing = map_growing(d);
            fprintf(out, "  %s%s   root %s%s\n", growing ? "GROWING  " : "",
                    mp_str(S->g, S->g->maps[m].type_name), rt,
                    d->before < 0  ? "   (new map)"
                    : d->after < 0 ? "   (gone)"
                                   : "");
            print_map_figures(out, "    ", &A, &B, d);
            if (d->nnew) {
                fputs("    new keys: ", out);
                print_new_keys(out, B.g, d);
                fputc('\n', out);
            }
        }
        if (fm.n) {
            char c1[32];
            mf_format_count(c1, sizeof c1, fm.n);
            fprintf(out, "  and %s map%s of groups, none growing on %s own: see GROUPS\n", c1,
                    fm.n == 1 ? "" : "s", fm.n == 1 ? "its" : "their");
        }
        fprintf(out, "\n");
        mp_group_diff_print_text(out, &A, &B, &gd, print_group_members, &fm);
    }
    status = cli_output_close(&co, CLI_EXIT_OK);
    if (status == CLI_EXIT_OK && o->fail_on) {
        size_t grew = 0;
        for (size_t i = 0; i < nd; i++) grew += map_growing(&diffs[i]);
        char maps[64] = "", groups[64] = "";
        if (grew) snprintf(maps, sizeof maps, "%zu map%s", grew, grew == 1 ? "" : "s");
        if (gd.growing)
            snprintf(groups, sizeof groups, "%s%zu group%s of maps", grew ? " and " : "",
                     gd.growing, gd.growing == 1 ? "" : "s");
        if ((o->fail_on & CLI_FAIL_GROWTH) && grew + gd.growing)
            status = cli_found("diff", "%s%s grew (--fail-on growth)", maps, groups);
        else if ((o->fail_on & CLI_FAIL_SUSPECT) && mp_report_nsuspects(&B))
            status =
                cli_found("diff", "%zu leak suspect%s in %s (--fail-on suspect)",
                          mp_report_nsuspects(&B), mp_report_nsuspects(&B) == 1 ? "" : "s", after);
    }
out:
    mp_map_idents_free(ids_a, na);
    mp_map_idents_free(ids_b, nb);
    free(b_to_a);
    free(used);
    free(diffs);
    free(mg);
    free(in_group);
    free(fm.v);
    free(fm.gone);
    mp_group_diffs_free(&gd);
    cli_report_done();
    cli_index_save(A.g, &A.p, &A.d, &A.f);
    cli_index_save(B.g, &B.p, &B.d, &B.f);
    mp_snapshot_analysis_free(&A);
    mp_snapshot_analysis_free(&B);
    return status;
}
