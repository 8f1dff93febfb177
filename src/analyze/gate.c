/* src/analyze/gate.c -- see gate.h. */
#include "analyze/gate.h"

#include "analyze/group_report.h"
#include "analyze/json_text.h"
#include "analyze/map_match.h"
#include "analyze/report.h"
#include "format/text.h"
#include "format/grow.h"
#include "format/names.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"pass", "fail", "suppressed", "baseline"};

const char *mp_check_status_name(unsigned s)
{
    return s < 4 ? status_names[s] : "?";
}

/* "4 -> 9" of two counts, or "9" when they are one. */
static void count_span(char *buf, size_t size, uint32_t a, uint32_t b)
{
    char c1[32], c2[32];
    mf_format_count(c1, sizeof c1, a);
    mf_format_count(c2, sizeof c2, b);
    if (a == b)
        snprintf(buf, size, "%s", c2);
    else
        snprintf(buf, size, "%s -> %s", c1, c2);
}

void mp_gate_members_place(const mp_gate_map *m, const mp_gate_point *a, const mp_gate_point *b,
                           char *buf, size_t size)
{
    if (!m->variable) {
        snprintf(buf, size, "under one holder");
        return;
    }
    char th[80], fr[80] = "";
    const char *noun = m->thread_noun ? m->thread_noun : "thread";
    count_span(th, sizeof th, a->threads, b->threads);
    if (a->tops != a->threads || b->tops != b->threads) {
        count_span(fr, sizeof fr, a->tops, b->tops);
        snprintf(fr + strlen(fr), sizeof fr - strlen(fr), " frames of ");
    }
    snprintf(buf, size, "%s, in %s%s %s%s", m->holder, fr, th, noun,
             a->threads == 1 && b->threads == 1 ? "" : "s");
}

static int nomem(mf_error *err)
{
    mf_error_set(err, "out of memory judging the snapshots");
    return -1;
}

/* Replaces *dst by a copy of src; false when out of memory. */
static bool set_str(char **dst, const char *src)
{
    char *c = strdup(src ? src : "");
    if (!c) return false;
    free(*dst);
    *dst = c;
    return true;
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static bool has_hash(const uint64_t *v, size_t n, uint64_t h)
{
    return n && bsearch(&h, v, n, sizeof *v, cmp_u64) != NULL;
}

void mp_gate_init(mp_gate *gt, const mp_gate_policy *policy)
{
    memset(gt, 0, sizeof *gt);
    gt->policy = policy;
}

static void free_map(mp_gate_map *m)
{
    free(m->type);
    free(m->holder);
    free(m->way);
    free(m->root);
    free(m->root_holder);
    free(m->root_file);
    for (size_t i = 0; i < m->nchain; i++) free(m->chain[i]);
    free(m->chain);
    for (uint32_t i = 0; i < m->nsites; i++) {
        free(m->sites[i].function);
        free(m->sites[i].file);
    }
    for (size_t i = 0; i < m->nframes; i++) free(m->frames[i]);
    free(m->frames);
    free(m->points);
    free(m->base_keys);
    for (size_t i = 0; i < m->nadded; i++) free(m->added[i]);
}

void mp_gate_free(mp_gate *gt)
{
    for (size_t i = 0; i < gt->nsnaps; i++) free(gt->snaps[i].file);
    free(gt->snaps);
    for (size_t i = 0; i < gt->nmaps; i++) free_map(&gt->maps[i]);
    free(gt->maps);
    for (size_t i = 0; i < gt->ntotals; i++) free(gt->totals[i].name);
    free(gt->totals);
    for (size_t i = 0; i < gt->nchecks; i++) {
        free(gt->checks[i].subject);
        free(gt->checks[i].summary);
    }
    free(gt->checks);
    free(gt->sup_uses);
    free(gt->program);
    mp_map_idents_free(gt->prev, gt->nprev);
    free(gt->prev_track);
    mp_map_idents_free(gt->prev_groups, gt->nprev_groups);
    free(gt->prev_group_track);
    free(gt->prev_program);
    memset(gt, 0, sizeof *gt);
}

/* ------------------------------------------------------------ one map --- */

/* The keys of map m of g in its first judged snapshot: sorted hashes. */
static int base_keys(mp_gate_map *t, const mp_graph *g, uint32_t m)
{
    const mp_map *mp = &g->maps[m];
    free(t->base_keys);
    t->nbase_keys = 0;
    if (!(t->base_keys = malloc((mp->nentries ? mp->nentries : 1) * sizeof *t->base_keys)))
        return -1;
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, mp->first_entry);
    mp_entry e;
    size_t n = 0;
    for (char kb[32]; n < mp->nentries && mp_entry_next(&c, &e); n++)
        t->base_keys[n] = hash_text(mp_entry_key(g, &e, kb, sizeof kb));
    mp_entry_cursor_free(&c);
    t->nbase_keys = n;
    qsort(t->base_keys, t->nbase_keys, sizeof *t->base_keys, cmp_u64);
    return 0;
}

/* The keys of map m not in the base: how many, and the smallest few in
 * mf_text_cmp_natural's order (a sample that does not depend on the map's seed). */
static int added_keys(mp_gate_map *t, const mp_graph *g, uint32_t m)
{
    const mp_map *mp = &g->maps[m];
    char *best[MP_GATE_KEY_SAMPLE]; /* copies: a number's key is rendered in kb */
    size_t nb = 0;
    int rc = 0;
    t->keys_added = 0;
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, mp->first_entry);
    mp_entry e;
    char kb[32];
    for (size_t i = 0; i < mp->nentries && mp_entry_next(&c, &e); i++) {
        const char *k = mp_entry_key(g, &e, kb, sizeof kb);
        if (has_hash(t->base_keys, t->nbase_keys, hash_text(k))) continue;
        t->keys_added++;
        /* insertion into the sorted sample, dropping the largest */
        size_t at = nb;
        while (at > 0 && mf_text_cmp_natural(k, best[at - 1]) < 0) at--;
        if (at >= MP_GATE_KEY_SAMPLE) continue;
        char *copy = strdup(k);
        if (!copy) {
            rc = -1;
            break;
        }
        if (nb < MP_GATE_KEY_SAMPLE)
            nb++;
        else
            free(best[nb - 1]);
        memmove(&best[at + 1], &best[at], (nb - 1 - at) * sizeof *best);
        best[at] = copy;
    }
    mp_entry_cursor_free(&c);
    for (size_t i = 0; i < t->nadded; i++) free(t->added[i]);
    for (size_t i = 0; i < nb; i++) t->added[i] = best[i];
    t->nadded = nb;
    return rc;
}

/* Adds "f:NAME" / "F:FILE" once to the map's frame list. */
static int add_frame(mp_gate_map *t, size_t *cap, char tag, const char *s)
{
    if (!*s) return 0;
    for (size_t i = 0; i < t->nframes; i++)
        if (t->frames[i][0] == tag && strcmp(t->frames[i] + 2, s) == 0) return 0;
    if (!MF_GROW(t->frames, *cap, t->nframes + 1, 16)) return -1;
    char *f = mf_asprintf("%c:%s", tag, s);
    if (!f) return -1;
    t->frames[t->nframes++] = f;
    return 0;
}

/* What the report says of a map or group: its root (variable: a group's
 * variable across threads instead, NULL none: then its chain is empty, no
 * thread's), its chain steps[0..n), its
 * sites[0..nsites) and the frames of their stacks (for suppressions), as
 * of this snapshot. */
static int describe(mp_gate_map *t, const mp_snapshot_analysis *a, uint32_t root,
                    const char *variable, const mp_step *steps, size_t n,
                    const mp_site_count *sites, uint32_t nsites)
{
    const mp_graph *g = a->g;
    char text[512];
    mp_root_text(g, root, text, sizeof text);
    if (!set_str(&t->root, variable ? variable : text)) return -1;
    /* a variable's holder is the variable, of no thread (its identity) */
    if (!variable || !mp_root_variable(g, root, text, sizeof text))
        mp_root_holder(g, root, text, sizeof text);
    if (!set_str(&t->root_holder, text)) return -1;
    if (!set_str(&t->root_file, root < g->nroots ? mp_str(g, g->roots[root].file) : "")) return -1;
    t->root_line = root < g->nroots ? g->roots[root].line : 0;
    t->chain_steps = mp_chain_length(steps, n);
    t->chain_elided = mp_chain_elided(steps, n);
    for (size_t i = 0; i < t->nchain; i++) free(t->chain[i]);
    t->nchain = 0;
    if (!(t->chain = realloc(t->chain, (n ? n : 1) * sizeof *t->chain))) return -1;
    for (size_t i = 0; i < n; i++) {
        mp_step_text(g, &steps[i], text, sizeof text);
        if (!(t->chain[i] = strdup(text))) return -1;
        t->nchain++;
    }
    for (uint32_t i = 0; i < t->nsites; i++) {
        free(t->sites[i].function);
        free(t->sites[i].file);
    }
    t->nsites = 0;
    for (size_t i = 0; i < t->nframes; i++) free(t->frames[i]);
    t->nframes = 0;
    size_t fcap = 0;
    free(t->frames);
    t->frames = NULL;
    for (uint32_t i = 0; i < nsites; i++) {
        mp_gate_site *s = &t->sites[t->nsites];
        uint32_t f = mp_stack_site(g, sites[i].stack);
        const mp_gframe *fr = f != MP_NONE ? &g->frames[f] : NULL;
        s->function = strdup(fr ? mp_str(g, fr->function) : "");
        s->file = strdup(fr ? mp_str(g, fr->file) : "");
        s->line = fr ? fr->line : 0;
        s->samples = sites[i].samples;
        t->nsites++;
        if (!s->function || !s->file) return -1;
        const mp_stack *st = &g->stacks[sites[i].stack];
        for (uint32_t k = 0; k < st->n; k++) {
            const mp_gframe *x = &g->frames[st->first + k];
            if (add_frame(t, &fcap, 'f', mp_str(g, x->function)) ||
                add_frame(t, &fcap, 'F', mp_str(g, x->file)))
                return -1;
        }
    }
    return 0;
}

/* describe for map m. */
static int describe_map(mp_gate_map *t, const mp_snapshot_analysis *a, uint32_t m)
{
    const mp_map_report *r = &a->f.maps[m];
    mp_step steps[MP_CHAIN_STEPS];
    size_t n = mp_snapshot_map_chain(a, m, steps, MP_CHAIN_STEPS);
    t->sampled = mp_report_rare(&a->f, r)->sampled_objects;
    return describe(t, a, mp_snapshot_named_root(a->g, &a->f, r), NULL, steps, n,
                    mp_report_sites(&a->f, r), mp_report_nsites(&a->f, r));
}

/* Whether the path to map m of g passes an object of another map's table
 * (its header reached through an outer map's buckets, or a value they
 * hold): the map is nested in that map, which retains it. One step per
 * object of the path, as its chain already takes. */
static bool reached_through_a_map(const mp_graph *g, const mp_paths *p, uint32_t m)
{
    uint32_t h = g->maps[m].header;
    if (h == MP_NONE || !g->table_bits) return false;
    size_t steps = 0;
    for (uint32_t o = p->parent[h]; o != MP_NONE && o < g->nobjects && steps < g->nobjects;
         o = p->parent[o], steps++)
        if (mp_bit(g->table_bits, o) && mp_graph_table_map(g, o) != m) return true;
    return false;
}

/* The next point of map t: map m of analysis a in judged snapshot snap;
 * fresh: the map's first. */
static int follow(mp_gate_map *t, const mp_snapshot_analysis *a, uint32_t m, const mp_map_ident *id,
                  uint32_t snap, bool fresh)
{
    const mp_graph *g = a->g;
    const mp_map *mp = &g->maps[m];
    const mp_map_report *r = &a->f.maps[m];
    if (!MF_GROW(t->points, t->cap, t->npoints + 1, 16)) return -1;
    t->points[t->npoints++] = (mp_gate_point){snap, -1, mp->count, r->retained, 0, 0, 0};
    if (!set_str(&t->type, id->type) || !set_str(&t->holder, id->holder) ||
        !set_str(&t->way, id->way))
        return -1;
    t->ordinal = id->ordinal;
    t->address = id->address;
    /* an unfinished growth is evidence only while it makes no progress */
    bool old = r->evidence & MP_EV_OLD_BUCKETS;
    const mp_map_aside *x = mp_map_aside_of(g, mp);
    t->stalled = old && (fresh || (t->nevacuate == x->nevacuate &&
                                   t->noldbuckets == x->noldbuckets && t->npoints > 1));
    t->nevacuate = x->nevacuate;
    t->noldbuckets = x->noldbuckets;
    t->evidence = r->evidence;
    t->nested = reached_through_a_map(g, &a->p, m);
    if (describe_map(t, a, m)) return -1;
    return fresh ? base_keys(t, g, m) : added_keys(t, g, m);
}

/* The next point of group t: group gp of analysis a in judged snapshot
 * snap. Its evidence is that of a suspect group (gate.h); its keys are
 * not kept. */
static int follow_group(mp_gate_map *t, const mp_snapshot_analysis *a, const mp_group *gp,
                        const mp_map_ident *id, uint32_t snap)
{
    if (!MF_GROW(t->points, t->cap, t->npoints + 1, 16)) return -1;
    bool by_var = gp->ntops > 1;
    t->points[t->npoints++] = (mp_gate_point){snap,
                                              -1,
                                              gp->entries,
                                              gp->retained,
                                              gp->nmaps,
                                              by_var ? gp->ntops : 0,
                                              by_var ? gp->nthreads : 0};
    if (!set_str(&t->type, id->type) || !set_str(&t->holder, id->holder) ||
        !set_str(&t->way, id->way))
        return -1;
    t->group = true;
    t->variable = by_var;
    t->thread_noun = a->g->info.thread_noun ? a->g->info.thread_noun : "thread";
    t->ordinal = id->ordinal;
    t->address = id->address;
    t->stalled = false;
    t->evidence = gp->suspect ? gp->evidence : 0;
    t->sampled = gp->header_samples;
    mp_step steps[MP_CHAIN_STEPS];
    char var[512];
    by_var = mp_group_variable(a, gp, var, sizeof var);
    size_t n = by_var ? 0 : mp_group_holder_chain(a, gp, steps, MP_CHAIN_STEPS);
    return describe(t, a, mp_group_root(a, gp), by_var ? var : NULL, steps, n, gp->sites,
                    gp->nsites);
}

/* ------------------------------------------------------------ totals --- */

/* The total of (cap, name), created when new. A linear search: caps of
 * roots and types have few subjects each, and one per snapshot is looked
 * up per name met. */
static mp_gate_total *total_of(mp_gate *gt, uint32_t cap, const char *name)
{
    for (size_t i = 0; i < gt->ntotals; i++)
        if (gt->totals[i].cap == cap && strcmp(gt->totals[i].name, name) == 0)
            return &gt->totals[i];
    if (!MF_GROW(gt->totals, gt->totals_cap, gt->ntotals + 1, 16)) return NULL;
    mp_gate_total *t = &gt->totals[gt->ntotals];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return NULL;
    t->cap = cap;
    t->exceeded_snap = -1;
    gt->ntotals++;
    return t;
}

static void total_point(mp_gate *gt, mp_gate_total *t, uint64_t count, uint64_t bytes,
                        uint32_t snap)
{
    const mp_gate_cap *c = &gt->policy->caps[t->cap];
    if (count > t->peak_count) t->peak_count = count;
    if (bytes > t->peak_bytes) {
        t->peak_bytes = bytes;
        t->peak_snap = snap;
    }
    if (t->exceeded_snap < 0 && (count > c->max_count || bytes > c->max_bytes)) {
        t->exceeded_snap = (int32_t)snap;
        t->count = count;
        t->bytes = bytes;
    } else if (t->exceeded_snap < 0) {
        t->count = count;
        t->bytes = bytes;
    }
    t->last_seen = snap;
}

static int cmp_holder(const void *x, const void *y, void *ids)
{
    const mp_map_ident *v = ids;
    return strcmp(v[*(const uint32_t *)x].holder, v[*(const uint32_t *)y].holder);
}

/* Root caps total the maps each holder holds; type caps the objects of
 * each type they match. */
static int totals_of_snapshot(mp_gate *gt, const mp_snapshot_analysis *a, const mp_map_ident *ids,
                              uint32_t snap)
{
    const mp_gate_policy *p = gt->policy;
    const mp_graph *g = a->g;
    uint64_t *count = NULL, *bytes = NULL;
    uint32_t *by_holder = NULL;
    int rc = -1;
    for (uint32_t c = 0; c < p->ncaps; c++) {
        if (p->caps[c].scope == MP_CAP_ROOT) {
            if (!by_holder) { /* the maps grouped by holder */
                if (!(by_holder = malloc((g->nmaps + 1) * sizeof *by_holder))) goto out;
                for (size_t i = 0; i < g->nmaps; i++) by_holder[i] = (uint32_t)i;
                qsort_r(by_holder, g->nmaps, sizeof *by_holder, cmp_holder, (void *)ids);
            }
            for (size_t i = 0, j; i < g->nmaps; i = j) {
                const char *h = ids[by_holder[i]].holder;
                uint64_t n = 0, b = 0;
                for (j = i; j < g->nmaps && strcmp(ids[by_holder[j]].holder, h) == 0; j++) {
                    n += g->maps[by_holder[j]].count;
                    b += a->f.maps[by_holder[j]].retained;
                }
                if (!mp_glob(p->caps[c].pattern, h)) continue;
                mp_gate_total *t = total_of(gt, c, h);
                if (!t) goto out;
                total_point(gt, t, n, b, snap);
            }
        } else if (p->caps[c].scope == MP_CAP_TYPE) {
            if (!count) {
                count = calloc(g->ntypes + 1, sizeof *count);
                bytes = calloc(g->ntypes + 1, sizeof *bytes);
                if (!count || !bytes) goto out;
                for (size_t o = 0; o < g->nobjects; o++)
                    if (g->type[o] != MP_NONE) {
                        count[g->type[o]]++;
                        bytes[g->type[o]] += mp_obj_size(g, (uint32_t)o);
                    }
            }
            for (size_t ty = 0; ty < g->ntypes; ty++) {
                const char *name = mp_str(g, g->types[ty].name);
                if (!count[ty] || !mp_glob(p->caps[c].pattern, name)) continue;
                /* types of one name (several loaders' descriptors) add up */
                uint64_t n = 0, b = 0;
                bool seen = false;
                for (size_t u = 0; u < g->ntypes && !seen; u++)
                    if (strcmp(mp_str(g, g->types[u].name), name) == 0) {
                        if (u < ty && count[u]) seen = true;
                        n += count[u];
                        b += bytes[u];
                    }
                if (seen) continue;
                mp_gate_total *t = total_of(gt, c, name);
                if (!t) goto out;
                total_point(gt, t, n, b, snap);
            }
        }
    }
    rc = 0;
out:
    free(count);
    free(bytes);
    free(by_holder);
    return rc;
}

/* ----------------------------------------------------------- the series --- */

/* The followed entry of each of a's groups of maps (a new one for a group
 * the previous judged snapshot did not have), each given its point;
 * the groups become the previous ones. -1 when out of memory. */
static int add_groups(mp_gate *gt, const mp_snapshot_analysis *a, uint32_t snap, bool same_run)
{
    size_t n = a->gr.n;
    mp_map_ident *ids = mp_group_idents(a->g, &a->p, &a->gr);
    int32_t *to_prev = malloc((n + 1) * sizeof *to_prev);
    int32_t *track = malloc((n + 1) * sizeof *track);
    if (!ids || !to_prev || !track ||
        mp_group_match(gt->prev_groups, gt->nprev_groups, ids, n, same_run, to_prev))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        int32_t t = to_prev[i] >= 0 ? gt->prev_group_track[to_prev[i]] : -1;
        if (t < 0) {
            if (!MF_GROW(gt->maps, gt->maps_cap, gt->nmaps + 1, 16)) goto oom;
            memset(&gt->maps[gt->nmaps], 0, sizeof *gt->maps);
            t = (int32_t)gt->nmaps++;
        }
        track[i] = t;
        if (follow_group(&gt->maps[t], a, &a->gr.groups[i], &ids[i], snap)) goto oom;
    }
    mp_map_idents_free(gt->prev_groups, gt->nprev_groups);
    free(gt->prev_group_track);
    free(to_prev);
    gt->prev_groups = ids;
    gt->prev_group_track = track;
    gt->nprev_groups = n;
    return 0;
oom:
    mp_map_idents_free(ids, n);
    free(to_prev);
    free(track);
    return -1;
}

/* Marks the point just added to each map of a (map i followed by track
 * map_track[i]) with the group it is a member of (add_groups has made
 * prev_group_track a's): the judge then knows whose growth a group's
 * figures hold. -1 when out of memory. */
static int note_members(mp_gate *gt, const mp_snapshot_analysis *a, const int32_t *map_track)
{
    if (!a->gr.member_of) return 0;
    uint32_t *ix = mp_groups_index_of_ids(&a->gr);
    if (!ix) return -1;
    for (size_t i = 0; i < a->g->nmaps; i++) {
        uint32_t id = a->gr.member_of[i];
        if (id == MP_NONE) continue;
        mp_gate_map *m = &gt->maps[map_track[i]];
        assert(m->npoints > 0 && !m->group);
        m->points[m->npoints - 1].group = gt->prev_group_track[ix[id]];
    }
    free(ix);
    return 0;
}

int mp_gate_add(mp_gate *gt, const char *file, uint32_t cycle, const mp_snapshot_analysis *a,
                mf_error *err)
{
    if (!MF_GROW(gt->snaps, gt->snaps_cap, gt->nsnaps + 1, 16)) return nomem(err);
    mp_gate_snap *s = &gt->snaps[gt->nsnaps];
    memset(s, 0, sizeof *s);
    if (!(s->file = strdup(file))) return nomem(err);
    s->cycle = a ? a->g->info.gc_cycle : cycle;
    s->warmup = s->cycle <= gt->policy->warmup && gt->policy->warmup > 0;
    uint32_t snap = (uint32_t)gt->nsnaps++;
    if (s->warmup || !a) return 0;
    const mp_graph *g = a->g;
    s->heap_bytes = a->f.heap_bytes;
    gt->judged++;
    const char *prog = mp_str(g, g->info.program);
    if (!gt->program && !(gt->program = strdup(prog))) return nomem(err);
    if (!gt->pid) gt->pid = g->info.pid;

    mp_map_ident *ids = mp_map_idents(g, &a->p, &a->f);
    int32_t *to_prev = malloc((g->nmaps + 1) * sizeof *to_prev);
    int32_t *track = malloc((g->nmaps + 1) * sizeof *track);
    bool same_run = gt->prev_program && g->info.pid && g->info.pid == gt->prev_pid &&
                    strcmp(prog, gt->prev_program) == 0;
    if (!ids || !to_prev || !track ||
        mp_map_match(gt->prev, gt->nprev, ids, g->nmaps, g, same_run, to_prev))
        goto oom;
    for (size_t i = 0; i < g->nmaps; i++) {
        int32_t t = to_prev[i] >= 0 ? gt->prev_track[to_prev[i]] : -1;
        bool fresh = t < 0;
        if (fresh) {
            if (!MF_GROW(gt->maps, gt->maps_cap, gt->nmaps + 1, 16)) goto oom;
            memset(&gt->maps[gt->nmaps], 0, sizeof *gt->maps);
            t = (int32_t)gt->nmaps++;
        }
        track[i] = t;
        if (follow(&gt->maps[t], a, (uint32_t)i, &ids[i], snap, fresh)) goto oom;
    }
    if (totals_of_snapshot(gt, a, ids, snap) || add_groups(gt, a, snap, same_run) ||
        note_members(gt, a, track))
        goto oom;
    mp_map_idents_free(gt->prev, gt->nprev);
    free(gt->prev_track);
    free(to_prev);
    gt->prev = ids;
    gt->prev_track = track;
    gt->nprev = g->nmaps;
    gt->prev_pid = g->info.pid;
    if (!set_str(&gt->prev_program, prog)) return nomem(err);
    return 0;
oom:
    mp_map_idents_free(ids, g->nmaps);
    free(to_prev);
    free(track);
    return nomem(err);
}

void mp_gate_map_peak(const mp_gate_map *m, uint64_t *entries, uint64_t *retained)
{
    *entries = *retained = 0;
    for (size_t i = 0; i < m->npoints; i++) {
        if (m->points[i].entries > *entries) *entries = m->points[i].entries;
        if (m->points[i].retained > *retained) *retained = m->points[i].retained;
    }
}

/* ---------------------------------------------------------------- rules --- */

static mp_gate_check *new_check(mp_gate *gt, size_t *cap, unsigned rule, int32_t map)
{
    if (!MF_GROW(gt->checks, *cap, gt->nchecks + 1, 16)) return NULL;
    mp_gate_check *c = &gt->checks[gt->nchecks++];
    memset(c, 0, sizeof *c);
    c->rule = (uint8_t)rule;
    c->map = map;
    c->total = c->cap = c->suppression = -1;
    return c;
}

/* A map as checks name it: its type and the holder of the root its
 * report names (the identity's holder can be a frame that also reaches an
 * iterator's map); when other maps share its type and holder, also its
 * way ("via Shards+8"), which, unlike its order by address, is the same in
 * every run, so that a check keeps its name (a JUnit testcase's) from run
 * to run; its ordinal ("#2") only where the way does not tell it apart.
 * A group of maps is named so, with "maps" before its members' type. */
static char *map_subject(const mp_gate_map *m)
{
    bool by_way = m->twin && *m->way;
    char ord[24] = "";
    const char *kind = m->group ? "maps " : ""; /* "maps map[int64]*Attr in global sessions" */
    if (m->ordinal && (!by_way || m->twin_way))
        snprintf(ord, sizeof ord, " (#%" PRIu32 ")", m->ordinal + 1);
    if (by_way)
        return mf_asprintf("%s%s in %s via %s%s", kind, m->type, m->root_holder, m->way, ord);
    return mf_asprintf("%s%s in %s%s", kind, m->type, m->root_holder, ord);
}

/* Orders indices into the followed maps by type, holder and way, so that
 * maps that share them are neighbours (qsort_r's context: the maps). */
static int cmp_map_identity(const void *x, const void *y, void *maps)
{
    const mp_gate_map *v = maps, *a = &v[*(const uint32_t *)x], *b = &v[*(const uint32_t *)y];
    int c = (a->group > b->group) - (a->group < b->group);
    if (!c) c = strcmp(a->type, b->type);
    if (!c) c = strcmp(a->holder, b->holder);
    if (!c) c = strcmp(a->way, b->way);
    return c;
}

/* Sets twin and twin_way of every map (see gate.h): sorted by identity,
 * twins are neighbours. -1 when out of memory. */
static int mark_twins(mp_gate *gt)
{
    size_t n = gt->nmaps;
    uint32_t *ix = malloc((n + 1) * sizeof *ix);
    if (!ix) return -1;
    for (size_t i = 0; i < n; i++) ix[i] = (uint32_t)i;
    qsort_r(ix, n, sizeof *ix, cmp_map_identity, gt->maps);
    for (size_t i = 1; i < n; i++) {
        mp_gate_map *a = &gt->maps[ix[i - 1]], *b = &gt->maps[ix[i]];
        if (a->group != b->group || strcmp(a->type, b->type) != 0 ||
            strcmp(a->holder, b->holder) != 0)
            continue;
        a->twin = b->twin = true;
        if (strcmp(a->way, b->way) == 0) a->twin_way = b->twin_way = true;
    }
    free(ix);
    return 0;
}

/* What members of a group account for at one of its points: maps,
 * entries, retained bytes. */
typedef struct apart_fig {
    uint64_t maps, entries, retained;
} apart_fig;

/* The growth of map or group m over its last n intervals into c's
 * figures, each point less apart (a group's members judged on their own,
 * one per point; NULL none); whether the rule fails it. The caller made
 * sure m has k+1 points. */
static bool growth_of(const mp_gate_policy *p, const mp_gate_map *m, const apart_fig *apart,
                      mp_gate_check *c)
{
    size_t w = m->npoints - 1 < p->n ? m->npoints - 1 : p->n;
    size_t last = m->npoints - 1, first = last - w;
    apart_fig none = {0, 0, 0};
    int64_t e[2] = {0, 0}, b[2] = {0, 0}, n[2] = {0, 0};
    c->grew_entries = c->grew_bytes = c->grew_maps = 0;
    for (size_t i = first; i <= last; i++) {
        const mp_gate_point *q = &m->points[i];
        const apart_fig *x = apart ? &apart[i] : &none;
        int64_t ei = (int64_t)q->entries - (int64_t)x->entries;
        int64_t bi = (int64_t)q->retained - (int64_t)x->retained;
        int64_t ni = (int64_t)q->maps - (int64_t)x->maps;
        if (i > first) {
            c->grew_entries += ei > e[1];
            c->grew_bytes += bi > b[1];
            c->grew_maps += ni > n[1];
        } else {
            e[0] = ei, b[0] = bi, n[0] = ni;
        }
        e[1] = ei, b[1] = bi, n[1] = ni;
    }
    c->intervals = (uint32_t)w;
    c->window_entries = e[1] - e[0];
    c->window_bytes = b[1] - b[0];
    c->window_maps = n[1] - n[0];
    bool by_entries = c->grew_entries >= p->k && c->window_entries > (int64_t)p->min_entries;
    bool by_bytes = c->grew_bytes >= p->k && c->window_bytes > (int64_t)p->min_bytes;
    bool by_maps = m->group && c->grew_maps >= p->k && c->window_maps > 0 &&
                   (uint64_t)c->window_maps >= p->min_maps && c->window_bytes > 0;
    return by_entries || by_bytes || by_maps;
}

/* The point of group track t at snapshot snap (points are in snapshot
 * order), or SIZE_MAX when it has none there. */
static size_t point_at(const mp_gate_map *t, uint32_t snap)
{
    size_t lo = 0, hi = t->npoints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->points[mid].snap == snap) return mid;
        if (t->points[mid].snap < snap)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* For each group followed, what its members that fail the growth rule on
 * their own hold at each of its points (apart[t], one per point; NULL for
 * a map), so that a group's growth is judged without them (gate.h). A
 * member is taken out of every point it is a member at: the group is
 * judged as if that map were not in it. -1 when out of memory. */
static int members_apart(const mp_gate *gt, apart_fig **apart)
{
    const mp_gate_policy *p = gt->policy;
    for (size_t t = 0; t < gt->nmaps; t++)
        if (gt->maps[t].group && !(apart[t] = calloc(gt->maps[t].npoints + 1, sizeof *apart[t])))
            return -1;
    for (size_t i = 0; i < gt->nmaps; i++) {
        const mp_gate_map *m = &gt->maps[i];
        mp_gate_check c;
        if (m->group || m->npoints < (size_t)p->k + 1 || !growth_of(p, m, NULL, &c)) continue;
        for (size_t k = 0; k < m->npoints; k++) {
            const mp_gate_point *q = &m->points[k];
            if (q->group < 0) continue;
            size_t at = point_at(&gt->maps[q->group], q->snap);
            if (at == SIZE_MAX) continue;
            apart_fig *x = &apart[q->group][at];
            x->maps++;
            x->entries += q->entries;
            x->retained += q->retained;
        }
    }
    return 0;
}

/* The growth rule over the last n intervals of one map or group (apart:
 * its members judged on their own, members_apart; NULL for a map). */
static int judge_growth(mp_gate *gt, size_t *cap, int32_t mi, const apart_fig *apart)
{
    const mp_gate_policy *p = gt->policy;
    const mp_gate_map *m = &gt->maps[mi];
    if (m->npoints < (size_t)p->k + 1) return 0; /* too few intervals to judge */
    mp_gate_check *c = new_check(gt, cap, MP_RULE_GROWTH, mi);
    if (!c) return -1;
    bool fails = growth_of(p, m, apart, c);
    if (apart && apart[m->npoints - 1].maps) {
        mp_gate_check whole;
        growth_of(p, m, NULL, &whole);
        c->alone_maps = apart[m->npoints - 1].maps;
        c->alone_entries = whole.window_entries - c->window_entries;
        c->alone_bytes = whole.window_bytes - c->window_bytes;
    }
    c->status = fails ? MP_CHECK_FAIL : MP_CHECK_PASS;
    size_t w = c->intervals;
    const mp_gate_point *last = &m->points[m->npoints - 1], *first = last - w;
    char e1[32], e2[32], b1[64], b2[64], m1[32], m2[32], apart_text[256] = "";
    mf_format_count(e1, sizeof e1, first->entries);
    mf_format_count(e2, sizeof e2, last->entries);
    mf_format_count(m1, sizeof m1, first->maps);
    mf_format_count(m2, sizeof m2, last->maps);
    mp_format_value(b1, sizeof b1, (int64_t)first->retained, "bytes", false);
    mp_format_value(b2, sizeof b2, (int64_t)last->retained, "bytes", false);
    if (c->alone_maps) {
        char a1[32], a2[32], a3[64];
        mf_format_count(a1, sizeof a1, c->alone_maps);
        mf_format_count(a2, sizeof a2,
                        (uint64_t)(c->alone_entries < 0 ? -c->alone_entries : c->alone_entries));
        mp_format_value(a3, sizeof a3, c->alone_bytes, "bytes", true);
        snprintf(apart_text, sizeof apart_text,
                 "; less %s member%s that grow%s on %s own (%s%s entries, %s)", a1,
                 c->alone_maps == 1 ? "" : "s", c->alone_maps == 1 ? "s" : "",
                 c->alone_maps == 1 ? "its" : "their", c->alone_entries < 0 ? "-" : "+", a2, a3);
    }
    c->subject = map_subject(m);
    char where[512], place[600] = "";
    if (m->variable) { /* " in thread-local cache, in 4 -> 9 threads" */
        mp_gate_members_place(m, first, last, where, sizeof where);
        snprintf(place, sizeof place, " in %s", where);
    }
    if (m->group)
        c->summary = mf_asprintf("maps grew in %" PRIu32 ", entries in %" PRIu32
                                 " and retained bytes in %" PRIu32 " of the last %" PRIu32
                                 " intervals: %s -> %s maps%s, %s -> %s entries, %s -> %s%s",
                                 c->grew_maps, c->grew_entries, c->grew_bytes, c->intervals, m1, m2,
                                 place, e1, e2, b1, b2, apart_text);
    else
        c->summary = mf_asprintf("entries grew in %" PRIu32 " and retained bytes in %" PRIu32
                                 " of the last %" PRIu32 " intervals: %s -> %s entries, %s -> %s",
                                 c->grew_entries, c->grew_bytes, c->intervals, e1, e2, b1, b2);
    return c->subject && c->summary ? 0 : -1;
}

/* Whether map m is judged by the growth rule on its own: it fails the
 * rule, or it is a member of a group that does (at any of its points;
 * group_fails: per followed entry). Its growth is put in c either way. */
static bool grows_alone(const mp_gate_policy *p, const mp_gate_map *m, const bool *group_fails,
                        mp_gate_check *c)
{
    if (growth_of(p, m, NULL, c)) return true;
    for (size_t i = 0; i < m->npoints; i++)
        if (m->points[i].group >= 0 && group_fails[m->points[i].group]) return true;
    return false;
}

/* Puts map mi, grown by e entries and b bytes, among c's largest
 * contributors if it is one: by bytes, then entries, then its place. */
static void note_contributor(mp_gate_check *c, int32_t mi, int64_t e, int64_t b)
{
    uint32_t at = c->ntop;
    while (at > 0 &&
           (b > c->top_bytes[at - 1] || (b == c->top_bytes[at - 1] && e > c->top_entries[at - 1])))
        at--;
    if (at >= MP_GATE_SPREAD_TOP) return;
    uint32_t n = c->ntop < MP_GATE_SPREAD_TOP ? c->ntop + 1 : MP_GATE_SPREAD_TOP;
    for (uint32_t i = n - 1; i > at; i--) {
        c->top[i] = c->top[i - 1];
        c->top_entries[i] = c->top_entries[i - 1];
        c->top_bytes[i] = c->top_bytes[i - 1];
    }
    c->top[at] = mi;
    c->top_entries[at] = e;
    c->top_bytes[at] = b;
    c->ntop = n;
}

/* The spread rule (gate.h): the maps that grow steadily but each too
 * little for the growth rule, taken together, so that a leak spread
 * evenly over many maps of their own types and holders (no group) fails
 * as one would in one map. Only maps in the last judged snapshot count:
 * one that is gone holds nothing now; nor a nested map, whose growth is
 * its outer map's (judged by that map's bytes, alone or here: counted
 * twice otherwise). apart: as for judge_growth. */
static int judge_spread(mp_gate *gt, size_t *cap, apart_fig *const *apart)
{
    const mp_gate_policy *p = gt->policy;
    uint32_t last_snap = 0;
    for (size_t i = 0; i < gt->nsnaps; i++)
        if (!gt->snaps[i].warmup) last_snap = (uint32_t)i;
    bool *group_fails = calloc(gt->nmaps + 1, sizeof *group_fails);
    mp_gate_check *c = group_fails ? new_check(gt, cap, MP_RULE_SPREAD, -1) : NULL;
    if (!c) {
        free(group_fails);
        return -1;
    }
    for (size_t t = 0; t < gt->nmaps; t++) {
        const mp_gate_map *g = &gt->maps[t];
        mp_gate_check x;
        group_fails[t] =
            g->group && g->npoints >= (size_t)p->k + 1 && growth_of(p, g, apart[t], &x);
    }
    for (int32_t i = 0; i < (int32_t)gt->nmaps; i++) {
        const mp_gate_map *m = &gt->maps[i];
        mp_gate_check x;
        if (m->group || m->nested || m->npoints < (size_t)p->k + 1 ||
            m->points[m->npoints - 1].snap != last_snap || grows_alone(p, m, group_fails, &x))
            continue;
        int64_t e = x.grew_entries >= p->k && x.window_entries > 0 ? x.window_entries : 0;
        int64_t b = x.grew_bytes >= p->k && x.window_bytes > 0 ? x.window_bytes : 0;
        if (!e && !b) continue; /* not steadily */
        c->spread_maps++;
        c->window_entries += e;
        c->window_bytes += b;
        note_contributor(c, i, e, b);
    }
    free(group_fails);
    bool fails = c->spread_maps >= p->spread_min_maps &&
                 (c->window_entries > (int64_t)p->spread_min_entries ||
                  c->window_bytes > (int64_t)p->spread_min_bytes);
    c->status = fails ? MP_CHECK_FAIL : MP_CHECK_PASS;
    c->intervals = p->n;
    char n1[32], e1[32], b1[64], top[800] = "";
    mf_format_count(n1, sizeof n1, c->spread_maps);
    mf_format_count(e1, sizeof e1, (uint64_t)c->window_entries);
    mp_format_value(b1, sizeof b1, c->window_bytes, "bytes", true);
    for (uint32_t k = 0; k < c->ntop && k < 3; k++) {
        char *name = map_subject(&gt->maps[c->top[k]]);
        char e2[32], b2[64];
        if (!name) return -1;
        mf_format_count(e2, sizeof e2, (uint64_t)c->top_entries[k]);
        mp_format_value(b2, sizeof b2, c->top_bytes[k], "bytes", true);
        snprintf(top + strlen(top), sizeof top - strlen(top), "%s%s (+%s entries, %s)",
                 k ? "; " : "; largest: ", name, e2, b2);
        free(name);
    }
    c->subject = strdup("maps together");
    c->summary = mf_asprintf("%s map%s grew in at least %" PRIu32 " of %s last %" PRIu32
                             " intervals, each too little to fail alone: +%s entries and %s "
                             "together%s",
                             n1, c->spread_maps == 1 ? "" : "s", p->k,
                             c->spread_maps == 1 ? "its" : "their", p->n, e1, b1, top);
    return c->subject && c->summary ? 0 : -1;
}

static int judge_suspect(mp_gate *gt, size_t *cap, int32_t mi)
{
    const mp_gate_map *m = &gt->maps[mi];
    uint32_t ev = m->evidence & gt->policy->evidence;
    if (!m->stalled) ev &= ~(uint32_t)MP_EV_OLD_BUCKETS;
    mp_gate_check *c = new_check(gt, cap, MP_RULE_SUSPECT, mi);
    if (!c) return -1;
    c->status = ev ? MP_CHECK_FAIL : MP_CHECK_PASS;
    char names[200] = "";
    for (unsigned b = 0; b < MP_EV_COUNT; b++)
        if (ev & (1u << b))
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     *names ? ", " : "", mp_evidence_name(b));
    c->subject = map_subject(m);
    c->summary = ev ? mf_asprintf("evidence in its last snapshot: %s", names)
                    : strdup("no evidence of the kinds the policy names");
    return c->subject && c->summary ? 0 : -1;
}

static int judge_map_cap(mp_gate *gt, size_t *cap, uint32_t ci, int32_t mi)
{
    const mp_gate_cap *cp = &gt->policy->caps[ci];
    const mp_gate_map *m = &gt->maps[mi];
    if (m->group || !mp_glob(cp->pattern, m->type)) return 0; /* a cap is on one map */
    uint64_t e, r;
    mp_gate_map_peak(m, &e, &r);
    mp_gate_check *c = new_check(gt, cap, MP_RULE_CAP, mi);
    if (!c) return -1;
    c->cap = (int32_t)ci;
    c->status = e > cp->max_count || r > cp->max_bytes ? MP_CHECK_FAIL : MP_CHECK_PASS;
    char e1[32], b1[64];
    mf_format_count(e1, sizeof e1, e);
    mp_format_value(b1, sizeof b1, (int64_t)r, "bytes", false);
    c->subject = map_subject(m);
    c->summary = mf_asprintf("peak %s entries and %s retained", e1, b1);
    return c->subject && c->summary ? 0 : -1;
}

static int judge_total(mp_gate *gt, size_t *cap, int32_t ti)
{
    const mp_gate_total *t = &gt->totals[ti];
    const mp_gate_cap *cp = &gt->policy->caps[t->cap];
    mp_gate_check *c = new_check(gt, cap, MP_RULE_CAP, -1);
    if (!c) return -1;
    c->cap = (int32_t)t->cap;
    c->total = ti;
    c->status = t->exceeded_snap >= 0 ? MP_CHECK_FAIL : MP_CHECK_PASS;
    char e1[32], b1[64];
    mf_format_count(e1, sizeof e1, t->exceeded_snap >= 0 ? t->count : t->peak_count);
    mp_format_value(b1, sizeof b1, (int64_t)(t->exceeded_snap >= 0 ? t->bytes : t->peak_bytes),
                    "bytes", false);
    bool type = cp->scope == MP_CAP_TYPE;
    c->subject = mf_asprintf("%s %s", type ? "type" : "root", t->name);
    if (t->exceeded_snap >= 0)
        c->summary =
            mf_asprintf("%s %s and %s %s at GC cycle %" PRIu32, e1, type ? "objects" : "entries",
                        b1, type ? "in the heap" : "retained", gt->snaps[t->exceeded_snap].cycle);
    else
        c->summary = mf_asprintf("peak %s %s and %s", e1, type ? "objects" : "entries", b1);
    return c->subject && c->summary ? 0 : -1;
}

static int judge_heap(mp_gate *gt, size_t *cap)
{
    const mp_gate_policy *p = gt->policy;
    const mp_gate_snap *first = NULL, *last = NULL;
    for (size_t i = 0; i < gt->nsnaps; i++)
        if (!gt->snaps[i].warmup) {
            if (!first) first = &gt->snaps[i];
            last = &gt->snaps[i];
        }
    mp_gate_check *c = new_check(gt, cap, MP_RULE_HEAP, -1);
    if (!c) return -1;
    int64_t growth = (int64_t)last->heap_bytes - (int64_t)first->heap_bytes;
    double pct = first->heap_bytes ? 100.0 * (double)growth / (double)first->heap_bytes : 0;
    bool over = (p->heap_max_growth != MP_NO_LIMIT && growth > (int64_t)p->heap_max_growth) ||
                (p->heap_max_growth_pct >= 0 && growth > 0 && pct > p->heap_max_growth_pct);
    c->status = over ? MP_CHECK_FAIL : MP_CHECK_PASS;
    c->window_bytes = growth;
    char b1[64], b2[64], b3[64];
    mp_format_value(b1, sizeof b1, (int64_t)first->heap_bytes, "bytes", false);
    mp_format_value(b2, sizeof b2, (int64_t)last->heap_bytes, "bytes", false);
    mp_format_value(b3, sizeof b3, growth, "bytes", true);
    c->subject = strdup("heap");
    c->summary =
        mf_asprintf("reachable heap %s -> %s (%s, %+.1f%%) from GC cycle %" PRIu32 " to %" PRIu32,
                    b1, b2, b3, pct, first->cycle, last->cycle);
    return c->subject && c->summary ? 0 : -1;
}

/* -------------------------------------------------- suppressions, baseline --- */

static bool frames_match(const mp_gate_map *m, char tag, const char *glob)
{
    for (size_t i = 0; i < m->nframes; i++)
        if (m->frames[i][0] == tag && mp_glob(glob, m->frames[i] + 2)) return true;
    return false;
}

/* Whether a root glob matches map m's root: by a holder text or as the
 * report names the root (with its file and line). */
static bool root_matches(const char *glob, const mp_gate_map *m)
{
    return mp_glob(glob, m->holder) || mp_glob(glob, m->root_holder) || mp_glob(glob, m->root);
}

/* Whether a root glob matches the holder of a root cap's total: by its
 * name, or as the report names the root of a map that holder holds (a
 * suppression written from a map's report names the root so). */
static bool total_root_matches(const mp_gate *gt, const char *glob, const char *holder)
{
    if (mp_glob(glob, holder)) return true;
    for (size_t i = 0; i < gt->nmaps; i++)
        if (strcmp(gt->maps[i].holder, holder) == 0 && root_matches(glob, &gt->maps[i]))
            return true;
    return false;
}

static bool suppresses(const mp_gate *gt, const mp_gate_suppression *s, const mp_gate_check *c)
{
    if (!(s->rules & (1u << c->rule))) return false;
    if (c->map >= 0) {
        const mp_gate_map *m = &gt->maps[c->map];
        if (s->root && !root_matches(s->root, m)) return false;
        if (s->map && !mp_glob(s->map, m->type)) return false;
        if (s->function && !frames_match(m, 'f', s->function)) return false;
        if (s->file && !frames_match(m, 'F', s->file)) return false;
        return true;
    }
    /* a root's total: only by root */
    if (c->total >= 0 && gt->policy->caps[c->cap].scope == MP_CAP_ROOT)
        return s->root && !s->map && !s->function && !s->file &&
               total_root_matches(gt, s->root, gt->totals[c->total].name);
    return false;
}

/* The entry of a root, an object type (by name), the heap or the spread
 * rule's maps in a baseline; maps are paired by pair_with_baseline. */
static const mp_gate_base_entry *base_find(const mp_gate_baseline *b, unsigned kind,
                                           const char *name)
{
    assert(kind != MP_BASE_MAP && kind != MP_BASE_GROUP);
    for (size_t i = 0; i < b->n; i++) {
        const mp_gate_base_entry *e = &b->v[i];
        if (e->kind != kind) continue;
        if (kind == MP_BASE_HEAP || kind == MP_BASE_SPREAD || strcmp(e->name, name) == 0) return e;
    }
    return NULL;
}

/* s as a baseline file holds it: JSON text keeps valid UTF-8 only, so a
 * baseline writes each byte that is not as the character of its number
 * (json_text.h), and a run's text is compared in that form. malloc'd;
 * NULL when out of memory. */
static char *as_written(const char *s)
{
    json_t *j = mp_json_text(s);
    char *c = j ? strdup(json_string_value(j)) : NULL;
    json_decref(j);
    return c;
}

/* For each map of the run, the baseline entry that is that map (base_of[i],
 * an index into b->v) or -1, paired as `maproot diff` pairs the maps of two
 * runs (mp_map_match across processes): by type, holder and way, then by
 * type and holder, in order within each group -- the baseline's maps by
 * their ordinals (then their place in the file), the run's by address.
 * A baseline of version 1 records no ways: both sides are then paired with
 * every way empty, by type, holder and order alone. Groups of maps are
 * paired likewise, with the baseline's groups (group: which of the two
 * kinds is paired; the others' base_of is left alone). -1 when out of
 * memory. */
static int pair_kind(const mp_gate *gt, const mp_gate_baseline *b, bool group, int32_t *base_of)
{
    static char no_way[] = "";
    bool ways = b->version >= 2;
    uint8_t kind = group ? MP_BASE_GROUP : MP_BASE_MAP;
    size_t nb = 0, nr = gt->nmaps;
    for (size_t i = 0; i < b->n; i++) nb += b->v[i].kind == kind;
    mp_map_ident *bi = calloc(nb ? nb : 1, sizeof *bi), *ri = calloc(nr ? nr : 1, sizeof *ri);
    uint32_t *entry = malloc((nb ? nb : 1) * sizeof *entry);
    int32_t *to = malloc((nr ? nr : 1) * sizeof *to);
    int rc = -1;
    if (!bi || !ri || !entry || !to) goto out;
    /* the baseline's identities borrow its strings */
    for (size_t i = 0, k = 0; i < b->n; i++) {
        const mp_gate_base_entry *e = &b->v[i];
        if (e->kind != kind) continue;
        assert(!ways || e->way);
        bi[k] = (mp_map_ident){.address = (uint64_t)e->ordinal << 32 | k,
                               .type = e->name,
                               .holder = e->holder,
                               .way = ways ? e->way : no_way};
        entry[k++] = (uint32_t)i;
    }
    /* the run's entries of the other kind stay out of the pairing: no type */
    for (size_t i = 0; i < nr; i++) {
        const mp_gate_map *m = &gt->maps[i];
        bool mine = m->group == group;
        ri[i].address = m->address;
        ri[i].type = as_written(mine ? m->type : "");
        ri[i].holder = as_written(m->holder);
        ri[i].way = as_written(ways ? m->way : "");
        if (!ri[i].type || !ri[i].holder || !ri[i].way) goto out;
    }
    if (mp_map_match(bi, nb, ri, nr, NULL, false, to)) goto out;
    for (size_t i = 0; i < nr; i++)
        if (gt->maps[i].group == group) base_of[i] = to[i] >= 0 ? (int32_t)entry[to[i]] : -1;
    rc = 0;
out:
    free(bi);
    mp_map_idents_free(ri, nr);
    free(entry);
    free(to);
    return rc;
}

static int pair_with_baseline(const mp_gate *gt, const mp_gate_baseline *b, int32_t *base_of)
{
    return pair_kind(gt, b, false, base_of) || pair_kind(gt, b, true, base_of) ? -1 : 0;
}

/* Within the baseline's figure: at most the tolerance above it, and never
 * less than the growth rule's minimum. */
static bool within(uint64_t now, uint64_t base, double pct, uint64_t minimum)
{
    double slack = (double)base * pct / 100.0;
    if (slack < (double)minimum) slack = (double)minimum;
    return (double)now <= (double)base + slack;
}

/* Whether the baseline accepts failed check c; base_of: the baseline entry
 * of each map (pair_with_baseline). */
static bool accepted(const mp_gate *gt, const mp_gate_baseline *b, const int32_t *base_of,
                     const mp_gate_check *c)
{
    const mp_gate_policy *p = gt->policy;
    double tol = p->baseline_tolerance_pct;
    const mp_gate_base_entry *e;
    if (c->map >= 0) {
        const mp_gate_map *m = &gt->maps[c->map];
        if (base_of[c->map] < 0) return false;
        e = &b->v[base_of[c->map]];
        uint64_t n, r;
        mp_gate_map_peak(m, &n, &r);
        return within(n, e->count, tol, p->min_entries) && within(r, e->bytes, tol, p->min_bytes);
    }
    if (c->total >= 0) {
        const mp_gate_total *t = &gt->totals[c->total];
        bool type = p->caps[t->cap].scope == MP_CAP_TYPE;
        char *name = as_written(t->name);
        e = name ? base_find(b, type ? MP_BASE_TYPE : MP_BASE_ROOT, name) : NULL;
        free(name);
        if (!e) return false; /* (out of memory: not accepted, the safe side) */
        return within(t->peak_count, e->count, tol, p->min_entries) &&
               within(t->peak_bytes, e->bytes, tol, p->min_bytes);
    }
    if (c->rule == MP_RULE_HEAP) {
        if (!(e = base_find(b, MP_BASE_HEAP, NULL))) return false;
        return c->window_bytes <= 0 ||
               within((uint64_t)c->window_bytes, e->bytes, tol, p->min_bytes);
    }
    if (c->rule == MP_RULE_SPREAD) { /* the maps' growth together stayed within it */
        if (!(e = base_find(b, MP_BASE_SPREAD, NULL))) return false;
        return within((uint64_t)c->window_entries, e->count, tol, p->spread_min_entries) &&
               within((uint64_t)c->window_bytes, e->bytes, tol, p->spread_min_bytes);
    }
    return false;
}

int mp_gate_judge(mp_gate *gt, const mp_gate_baseline *base, mf_error *err)
{
    const mp_gate_policy *p = gt->policy;
    if (gt->judged == 0) {
        mf_error_set(err,
                     "no snapshot to judge: %zu snapshot%s, all within the warm-up (GC "
                     "cycles up to %" PRIu64 ")",
                     gt->nsnaps, gt->nsnaps == 1 ? "" : "s", p->warmup);
        return -1;
    }
    if (p->growth && gt->judged < (size_t)p->k + 1) {
        mf_error_set(err,
                     "the growth rule needs %" PRIu32 " snapshots after the warm-up (k=%" PRIu32
                     " intervals) but the series has %zu: run longer, take snapshots more often, "
                     "or lower growth.k",
                     p->k + 1, p->k, gt->judged);
        return -1;
    }
    size_t cap = 0;
    gt->baseline_file = base ? base->file : NULL;
    if (!(gt->sup_uses = calloc(p->nsups + 1, sizeof *gt->sup_uses)) || mark_twins(gt))
        return nomem(err);
    apart_fig **apart = calloc(gt->nmaps + 1, sizeof *apart);
    int rc = !apart || ((p->growth || p->spread) && members_apart(gt, apart));
    for (int32_t i = 0; i < (int32_t)gt->nmaps && !rc; i++) {
        if (p->growth && judge_growth(gt, &cap, i, apart[i])) rc = -1;
        if (!rc && p->suspect && judge_suspect(gt, &cap, i)) rc = -1;
        for (uint32_t c = 0; c < p->ncaps && !rc; c++)
            if (p->caps[c].scope == MP_CAP_MAP && judge_map_cap(gt, &cap, c, i)) rc = -1;
    }
    if (!rc && p->spread && judge_spread(gt, &cap, apart)) rc = -1;
    for (size_t i = 0; apart && i < gt->nmaps; i++) free(apart[i]);
    free(apart);
    if (rc) return nomem(err);
    for (int32_t i = 0; i < (int32_t)gt->ntotals; i++)
        if (judge_total(gt, &cap, i)) return nomem(err);
    if (p->heap && judge_heap(gt, &cap)) return nomem(err);
    int32_t *base_of = NULL;
    if (base && (!(base_of = malloc((gt->nmaps + 1) * sizeof *base_of)) ||
                 pair_with_baseline(gt, base, base_of))) {
        free(base_of);
        return nomem(err);
    }
    for (size_t i = 0; i < gt->nchecks; i++) {
        mp_gate_check *c = &gt->checks[i];
        if (c->status != MP_CHECK_FAIL) continue;
        for (size_t s = 0; s < p->nsups; s++)
            if (suppresses(gt, &p->sups[s], c)) {
                c->status = MP_CHECK_SUPPRESSED;
                c->suppression = (int32_t)s;
                gt->sup_uses[s]++;
                gt->suppressed++;
                break;
            }
        if (c->status == MP_CHECK_FAIL && base && accepted(gt, base, base_of, c)) {
            c->status = MP_CHECK_BASELINE;
            gt->baselined++;
        }
        if (c->status == MP_CHECK_FAIL) {
            gt->violations++;
            gt->fails[c->rule]++;
        }
    }
    free(base_of);
    return 0;
}

/* ------------------------------------------------------------- baseline --- */

json_t *mp_gate_baseline_json(const mp_gate *gt)
{
    json_t *root = json_object(), *maps = json_array(), *roots = json_array(),
           *types = json_array(), *groups = json_array();
    if (!root || !maps || !roots || !types || !groups) goto oom;
    json_object_set_new(root, "maproot_gate_baseline", json_integer(MP_GATE_BASELINE_VERSION));
    json_object_set_new(root, "program", json_string(gt->program ? gt->program : ""));
    for (size_t i = 0; i < gt->nmaps; i++) {
        const mp_gate_map *m = &gt->maps[i];
        uint64_t e, r;
        mp_gate_map_peak(m, &e, &r);
        /* texts as JSON can hold them: pair_with_baseline compares so */
        json_t *j = json_pack("{s:o, s:o, s:o, s:I, s:I, s:I}", "type", mp_json_text(m->type),
                              "holder", mp_json_text(m->holder), "way", mp_json_text(m->way),
                              "ordinal", (json_int_t)m->ordinal, "entries", (json_int_t)e,
                              "retained_bytes", (json_int_t)r);
        if (!j || json_array_append_new(m->group ? groups : maps, j)) goto oom;
    }
    for (size_t i = 0; i < gt->ntotals; i++) {
        const mp_gate_total *t = &gt->totals[i];
        bool type = gt->policy->caps[t->cap].scope == MP_CAP_TYPE;
        json_t *j = type ? json_pack("{s:o, s:I, s:I}", "type", mp_json_text(t->name), "objects",
                                     (json_int_t)t->peak_count, "bytes", (json_int_t)t->peak_bytes)
                         : json_pack("{s:o, s:I, s:I}", "holder", mp_json_text(t->name), "entries",
                                     (json_int_t)t->peak_count, "retained_bytes",
                                     (json_int_t)t->peak_bytes);
        if (!j || json_array_append_new(type ? types : roots, j)) goto oom;
    }
    json_object_set_new(root, "maps", maps);
    json_object_set_new(root, "groups", groups);
    json_object_set_new(root, "roots", roots);
    json_object_set_new(root, "types", types);
    maps = roots = types = groups = NULL;
    for (size_t i = 0; i < gt->nchecks; i++)
        if (gt->checks[i].rule == MP_RULE_HEAP) {
            int64_t g = gt->checks[i].window_bytes;
            json_object_set_new(root, "heap",
                                json_pack("{s:I}", "growth_bytes", (json_int_t)(g > 0 ? g : 0)));
        } else if (gt->checks[i].rule == MP_RULE_SPREAD) {
            const mp_gate_check *c = &gt->checks[i];
            json_object_set_new(root, "spread",
                                json_pack("{s:I, s:I}", "entries", (json_int_t)c->window_entries,
                                          "retained_bytes", (json_int_t)c->window_bytes));
        }
    return root;
oom:
    json_decref(root);
    json_decref(maps);
    json_decref(roots);
    json_decref(types);
    json_decref(groups);
    return NULL;
}
