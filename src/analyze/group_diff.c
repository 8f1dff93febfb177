/* src/analyze/group_diff.c -- see group_diff.h. */
#include "analyze/group_diff.h"

#include "analyze/group_report.h"
#include "analyze/json_text.h"
#include "analyze/map_match.h"
#include "analyze/report.h"
#include "format/text.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* What the members of a group that grow on their own account for. */
typedef struct alone {
    uint64_t maps, fresh;
    int64_t entries, retained;
} alone;

/* Does map growth g make its map grow on its own (group_diff.h)? */
static bool grows_alone(const mp_map_growth *g, uint64_t significant)
{
    return g->grew && g->retained > 0 && (uint64_t)g->retained >= significant;
}

/* The figures of record d from its two copies (an absent side counts 0)
 * and whether it grows (group_diff.h), less x (NULL: none);
 * significant: AFTER's yardstick. */
static void compare(mp_group_diff *d, const alone *x, uint64_t significant)
{
    const mp_group *a = d->in_before ? &d->before : NULL, *b = d->in_after ? &d->after : NULL;
    static const alone none = {0, 0, 0, 0};
    if (!x) x = &none;
    d->maps_delta = (int64_t)(b ? b->nmaps : 0) - (int64_t)(a ? a->nmaps : 0);
    d->entries_delta = (int64_t)(b ? b->entries : 0) - (int64_t)(a ? a->entries : 0);
    d->retained_delta = (int64_t)(b ? b->retained : 0) - (int64_t)(a ? a->retained : 0);
    d->alone_maps = x->maps;
    d->alone_entries = x->entries;
    d->alone_retained = x->retained;
    int64_t maps = d->maps_delta - (int64_t)x->fresh, entries = d->entries_delta - x->entries;
    int64_t retained = d->retained_delta - x->retained;
    d->growing =
        b && (maps > 0 || entries > 0) && retained > 0 && (uint64_t)retained >= significant;
}

/* Per group id of B, what its members that grow on their own account
 * for; NULL when out of memory. */
static alone *members_alone(const mp_snapshot_analysis *B, const mp_map_growth *mg)
{
    alone *v = calloc(B->gr.n + 1, sizeof *v);
    if (!v) return NULL;
    for (size_t m = 0; m < B->g->nmaps; m++) {
        uint32_t id = B->gr.member_of[m];
        if (id == MP_NONE || !grows_alone(&mg[m], B->f.significant)) continue;
        assert(id < B->gr.n);
        v[id].maps++;
        v[id].fresh += mg[m].fresh;
        v[id].entries += mg[m].entries;
        v[id].retained += mg[m].retained;
    }
    return v;
}

/* The root a comparison names for group gp of S: its variable across
 * threads, the same in both snapshots whatever threads hold it, else its
 * root. */
static void root_text(const mp_snapshot_analysis *S, const mp_group *gp, char *buf, size_t size)
{
    if (!mp_group_variable(S, gp, buf, size)) mp_root_text(S->g, mp_group_root(S, gp), buf, size);
}

/* The same for the text of record x of a group in both snapshots, with
 * in how many threads before and after ("in 4 -> 9 threads", as the gate
 * says it); of a group on one side only, that side's. */
static void root_text_since(const mp_snapshot_analysis *A, const mp_snapshot_analysis *B,
                            const mp_group_diff *x, char *buf, size_t size)
{
    if (!x->in_after)
        root_text(A, &x->before, buf, size);
    else if (!mp_group_variable_since(B, &x->after, A, x->in_before ? &x->before : NULL, buf,
                                      size))
        mp_root_text(B->g, mp_group_root(B, &x->after), buf, size);
}

/* Growing first, then by retained growth, then by entries' growth, then
 * in the order made (the same bytes for the same inputs). */
static int cmp_diff(const void *x, const void *y)
{
    const mp_group_diff *a = x, *b = y;
    if (a->growing != b->growing) return a->growing ? -1 : 1;
    if (a->retained_delta != b->retained_delta)
        return a->retained_delta > b->retained_delta ? -1 : 1;
    if (a->entries_delta != b->entries_delta) return a->entries_delta > b->entries_delta ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

int mp_group_diff_compute(const mp_snapshot_analysis *A, mp_snapshot_analysis *B,
                          const mp_map_growth *mg, bool *in_group_growth, mp_group_diffs *out,
                          mf_error *err)
{
    memset(out, 0, sizeof *out);
    assert(B->gr.member_of);
    size_t na = A->gr.n, nb = B->gr.n;
    alone *apart = members_alone(B, mg);
    bool *growing_id = calloc(nb + 1, sizeof *growing_id);
    mp_map_ident *ia = mp_group_idents(A->g, &A->p, &A->gr);
    mp_map_ident *ib = mp_group_idents(B->g, &B->p, &B->gr);
    int32_t *b_to_a = malloc((nb + 1) * sizeof *b_to_a);
    bool *used = calloc(na + 1, sizeof *used);
    out->v = calloc(na + nb + 1, sizeof *out->v);
    int rc = -1;
    if (!ia || !ib || !b_to_a || !used || !out->v || !apart || !growing_id ||
        mp_group_match(ia, na, ib, nb, mp_same_run(A->g, B->g), b_to_a))
        goto out;
    for (size_t i = 0; i < nb; i++) {
        mp_group_diff *d = &out->v[out->n];
        d->order = out->n++;
        d->in_after = true;
        d->after = B->gr.groups[i];
        if (b_to_a[i] >= 0) {
            used[b_to_a[i]] = true;
            d->in_before = true;
            d->before = A->gr.groups[b_to_a[i]];
        }
        compare(d, &apart[B->gr.groups[i].id], B->f.significant);
        if (d->growing) {
            growing_id[B->gr.groups[i].id] = true;
            B->gr.groups[i].evidence |= MP_EV_GROWING;
            d->after.evidence |= MP_EV_GROWING;
            d->after.suspect = true;
            out->growing++;
        }
    }
    for (size_t j = 0; j < na; j++)
        if (!used[j]) {
            mp_group_diff *d = &out->v[out->n];
            d->order = out->n++;
            d->in_before = true;
            d->before = A->gr.groups[j];
            compare(d, NULL, B->f.significant);
        }
    for (size_t m = 0; in_group_growth && m < B->g->nmaps; m++) {
        uint32_t id = B->gr.member_of[m];
        in_group_growth[m] =
            id != MP_NONE && growing_id[id] && mg[m].grew && !grows_alone(&mg[m], B->f.significant);
    }
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_diff);
    mp_groups_rerank(&B->gr);
    rc = 0;
out:
    mp_map_idents_free(ia, na);
    mp_map_idents_free(ib, nb);
    free(b_to_a);
    free(used);
    free(apart);
    free(growing_id);
    if (rc) {
        mp_group_diffs_free(out);
        mf_error_set(err, "out of memory comparing the groups of maps of %s and %s",
                     A->g->info.name, B->g->info.name);
    }
    return rc;
}

void mp_group_diffs_free(mp_group_diffs *d)
{
    free(d->v);
    memset(d, 0, sizeof *d);
}

/* The snapshot a record is described from (AFTER when the group is in
 * it) and that side's copy. */
static const mp_group *side(const mp_snapshot_analysis *A, const mp_snapshot_analysis *B,
                            const mp_group_diff *d, const mp_snapshot_analysis **S)
{
    *S = d->in_after ? B : A;
    return d->in_after ? &d->after : &d->before;
}

static const char *status_of(const mp_group_diff *d)
{
    return !d->in_before ? "new" : !d->in_after ? "gone" : "both";
}

/* "BEFORE -> AFTER (+CHANGE)" of a count. */
static void count_change(FILE *out, const char *what, uint64_t a, uint64_t b)
{
    char c1[32], c2[32], c3[32];
    mf_format_count(c1, sizeof c1, a);
    mf_format_count(c2, sizeof c2, b);
    mf_format_count(c3, sizeof c3, b >= a ? b - a : a - b);
    fprintf(out, "%s %s -> %s (%s%s)", what, c1, c2, b >= a ? "+" : "-", c3);
}

/* The line of the members of record x that grow on their own. */
static void print_alone(FILE *out, const mp_group_diff *x)
{
    char c1[32], c2[32], b1[64];
    mf_format_count(c1, sizeof c1, x->alone_maps);
    mf_format_count(c2, sizeof c2,
                    (uint64_t)(x->alone_entries < 0 ? -x->alone_entries : x->alone_entries));
    mp_format_value(b1, sizeof b1, x->alone_retained, "bytes", true);
    fprintf(out,
            "    apart   %s member%s growing on %s own, shown as map%s: %s%s entries, %s; "
            "not counted in the group's growth\n",
            c1, x->alone_maps == 1 ? "" : "s", x->alone_maps == 1 ? "its" : "their",
            x->alone_maps == 1 ? "" : "s", x->alone_entries < 0 ? "-" : "+", c2, b1);
}

void mp_group_diff_print_text(FILE *out, const mp_snapshot_analysis *A,
                              const mp_snapshot_analysis *B, const mp_group_diffs *d,
                              mp_group_members_fn members, void *ctx)
{
    fprintf(out, "GROUPS  maps of one type under one holder or in one variable of several "
                 "threads, growing first\n");
    if (!d->n) fprintf(out, "  none: no two maps of one type under one holder or in one variable\n");
    for (size_t i = 0; i < d->n; i++) {
        const mp_group_diff *x = &d->v[i];
        const mp_snapshot_analysis *S;
        const mp_group *gp = side(A, B, x, &S);
        char rt[512], st[512], b1[64], b2[64], b3[64];
        root_text_since(A, B, x, rt, sizeof rt);
        fprintf(out, "  %s%s maps   root %s%s\n", x->growing ? "GROWING  " : "",
                mp_group_type(S->g, gp), rt,
                !x->in_before  ? "   (new group)"
                : !x->in_after ? "   (gone)"
                               : "");
        mp_step s[MP_CHAIN_STEPS];
        /* one variable of several threads: the root names it, no thread's */
        size_t n = gp->ntops > 1 ? 0 : mp_group_holder_chain(S, gp, s, MP_CHAIN_STEPS);
        if (n) fputs("    holder  ", out);
        for (size_t k = 0; k < n; k++) {
            mp_step_text(S->g, &s[k], st, sizeof st);
            fprintf(out, "%s%s", k ? " -> " : "", st);
        }
        fputs(n ? "\n    " : "    ", out);
        count_change(out, "maps", x->in_before ? x->before.nmaps : 0,
                     x->in_after ? x->after.nmaps : 0);
        count_change(out, "; entries", x->in_before ? x->before.entries : 0,
                     x->in_after ? x->after.entries : 0);
        mp_format_value(b1, sizeof b1, x->in_before ? (int64_t)x->before.retained : 0, "bytes",
                        false);
        mp_format_value(b2, sizeof b2, x->in_after ? (int64_t)x->after.retained : 0, "bytes",
                        false);
        mp_format_value(b3, sizeof b3, x->retained_delta, "bytes", true);
        fprintf(out, "; retained %s -> %s (%s)\n", b1, b2, b3);
        if (x->alone_maps) print_alone(out, x);
        if (members) members(out, x, ctx);
    }
    fputc('\n', out);
}

/* Steals v into obj[field]; -1 when v is NULL or the set fails. */
static int put(json_t *obj, const char *field, json_t *v)
{
    return obj && v && json_object_set_new(obj, field, v) == 0 ? 0 : -1;
}

/* A count of the instances of a group's variable on one side (g: its copy
 * there, NULL absent: 0) when the group is one variable of several
 * threads on either side (var), else null: field ntops or nthreads. */
static json_t *variable_count(const mp_group *g, bool var, bool threads)
{
    if (!var) return json_null();
    return json_integer(!g ? 0 : threads ? g->nthreads : g->ntops);
}

json_t *mp_group_diff_json(const mp_snapshot_analysis *A, const mp_snapshot_analysis *B,
                           const mp_group_diffs *d)
{
    json_t *arr = json_array();
    int bad = !arr;
    for (size_t i = 0; i < d->n && !bad; i++) {
        const mp_group_diff *x = &d->v[i];
        const mp_snapshot_analysis *S;
        const mp_group *gp = side(A, B, x, &S);
        char rt[512];
        root_text(S, gp, rt, sizeof rt);
        mp_step s[MP_CHAIN_STEPS];
        size_t n = mp_group_holder_chain(S, gp, s, MP_CHAIN_STEPS);
        const mp_group *a = x->in_before ? &x->before : NULL, *b = x->in_after ? &x->after : NULL;
        bool var = (a && a->ntops > 1) || (b && b->ntops > 1);
        json_t *j = json_object();
        bad |= mp_json_set_text(j, "type", mp_group_type(S->g, gp)) |
               mp_json_set_text(j, "root", rt) |
               put(j, "holder_chain", mp_snapshot_chain_json(S->g, s, n)) |
               put(j, "status", json_string(status_of(x))) |
               put(j, "roots_before", variable_count(a, var, false)) |
               put(j, "roots_after", variable_count(b, var, false)) |
               put(j, "threads_before", variable_count(a, var, true)) |
               put(j, "threads_after", variable_count(b, var, true)) |
               put(j, "maps_before", json_integer(a ? (json_int_t)a->nmaps : 0)) |
               put(j, "maps_after", json_integer(b ? (json_int_t)b->nmaps : 0)) |
               put(j, "entries_before", json_integer(a ? (json_int_t)a->entries : 0)) |
               put(j, "entries_after", json_integer(b ? (json_int_t)b->entries : 0)) |
               put(j, "retained_before_bytes", json_integer(a ? (json_int_t)a->retained : 0)) |
               put(j, "retained_after_bytes", json_integer(b ? (json_int_t)b->retained : 0)) |
               put(j, "retained_delta_bytes", json_integer(x->retained_delta)) |
               put(j, "alone_maps", json_integer((json_int_t)x->alone_maps)) |
               put(j, "alone_entries", json_integer(x->alone_entries)) |
               put(j, "alone_bytes", json_integer(x->alone_retained)) |
               put(j, "growing", json_boolean(x->growing)) |
               put(j, "suspect", json_boolean(b && b->suspect)) | json_array_append_new(arr, j);
    }
    if (bad) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}
