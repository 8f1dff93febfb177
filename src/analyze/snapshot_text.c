/*
 * src/analyze/snapshot_text.c -- the text rendering of a snapshot
 * analysis: `maproot analyze SNAPSHOT` for people, answer first. Per
 * suspect (maps and groups of maps ranked together by score): the map, its
 * size, its root and chain, its table, the evidence read as sentences
 * ("why"), the largest entries, other holders, and a fix; then the list of
 * maps. The facts come from snapshot_report_internal.h, as the other
 * renderings' do.
 */
#include "analyze/snapshot_report.h"

#include "analyze/group_report.h"
#include "analyze/report.h"
#include "analyze/snapshot_report_internal.h"
#include "format/names.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    const mp_map_rare *x = mp_report_rare(&a->f, r);
    size_t rank = x->inner_map != MP_NONE ? suspect_rank(a, x->inner_map) : 0;
    if (!x->inner_bytes || !rank) {
        if (size) *buf = 0;
        return buf;
    }
    char b[64];
    mp_sr_fmt_bytes(b, sizeof b, x->inner_bytes);
    snprintf(buf, size, "suspect %zu (%s)%s, %s", rank, mp_sr_map_type(a->g, x->inner_map),
             x->inner_bytes > a->f.maps[x->inner_map].retained ? " and others" : "", b);
    return buf;
}

static void print_why(FILE *out, const mp_snapshot_analysis *a, const mp_map_report *r)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    const mp_map_rare *x = mp_report_rare(&a->f, r);
    const mp_map_aside *aside = mp_map_aside_of(g, m);
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
        mp_sr_fmt_bytes(b1, sizeof b1, (uint64_t)(x->growth_bytes < 0 ? 0 : x->growth_bytes));
        mp_sr_fmt_count(c1, sizeof c1, x->growth_entries);
        WHY("grew by %s entries and %s retained since the earlier snapshot", c1, b1);
    }
    if (r->evidence & MP_EV_LARGE_SHARE) {
        mp_sr_fmt_count(c1, sizeof c1, m->nentries);
        mp_format_pct(b1, sizeof b1, (int64_t)r->score, (int64_t)a->f.heap_bytes);
        mp_sr_fmt_bytes(b2, sizeof b2, r->entries_retained);
        uint64_t together = entries_hold_together(g, r);
        char b3[64];
        if (r->shared_bytes) {
            char with[256];
            mp_sr_fmt_bytes(b3, sizeof b3, r->shared_bytes);
            if (mp_sr_shared_with(a, r, with, sizeof with) != with)
                WHY("it holds %s of the reachable heap, with the other roots that share its "
                    "values: %s entries retaining %s alone and %s shared",
                    b1, c1, b2, b3);
            else
                WHY("it holds %s of the reachable heap, with %s, which reaches its values too: "
                    "%s entries retaining %s alone and %s shared",
                    b1, with, c1, b2, b3);
        } else if (together > r->entries_retained) {
            mp_sr_fmt_bytes(b3, sizeof b3, together);
            WHY("it holds %s of the reachable heap: %s entries retaining %s alone and %s "
                "together (values several entries point to)",
                b1, c1, b2, b3);
        } else if (x->nested_bytes) {
            WHY("it holds %s of the reachable heap besides the %s inside it: %s entries "
                "retaining %s",
                b1, x->nested_bytes == x->inner_bytes ? "suspect maps" : "maps judged on their own",
                c1, b2);
        } else {
            WHY("it holds %s of the reachable heap: %s entries retaining %s", b1, c1, b2);
        }
    }
    if (r->evidence & MP_EV_EMPTIED) {
        mp_sr_fmt_bytes(b1, sizeof b1, m->table_bytes);
        mp_sr_fmt_count(c1, sizeof c1, m->count);
        mp_sr_fmt_count(c2, sizeof c2, m->nmain);
        WHY("a table of %s (%s buckets) for %s entries: the map was emptied, and delete "
            "never shrinks a map",
            b1, c2, c1);
    }
    if (r->evidence & MP_EV_ITERATOR_ONLY) {
        char rt[512] = "";
        for (uint32_t i = 0; i < mp_report_nlisted(r); i++)
            if (g->roots[mp_report_root(&a->f, r, i)].kind == MP_ROOT_ITERATOR) {
                mp_root_text(g, mp_report_root(&a->f, r, i), rt, sizeof rt);
                break;
            }
        WHY("nothing but a live iterator keeps it alive (%s): an iteration left open", rt);
    }
    if (r->evidence & MP_EV_STACK_FRAME) {
        char rt[512];
        mp_root_text(g, r->nroots ? r->root0 : r->root, rt, sizeof rt);
        WHY("held only by a frame that is still running (%s): it lives as long as that "
            "function does",
            rt);
    }
    if (r->evidence & MP_EV_POINTER_KEYS) {
        mp_sr_fmt_bytes(b1, sizeof b1, r->keys_retained);
        WHY("its keys %s: they alone keep %s alive",
            m->key_kind == MP_KEY_PTR ? "are pointers" : "carry pointers", b1);
    }
    if (r->evidence & MP_EV_NAN_KEYS) {
        mp_sr_fmt_count(c1, sizeof c1, aside->nan_keys);
        WHY("%s entries under NaN keys: a NaN equals nothing, itself included, so no lookup or "
            "delete finds them again",
            c1);
    }
    if (r->evidence & MP_EV_SLICE_BUFFERS) {
        mp_sr_fmt_bytes(b1, sizeof b1, x->slice_bytes);
        mp_sr_fmt_count(c1, sizeof c1, x->slice_buffers);
        WHY("its %s are slices of %s larger buffer%s (%s) kept alive by this map: a short "
            "string keeps its whole buffer",
            x->slice_of == MP_SLICE_KEYS     ? "keys"
            : x->slice_of == MP_SLICE_VALUES ? "values"
                                             : "keys and values",
            c1, x->slice_buffers == 1 ? "" : "s", b1);
    }
    if (r->evidence & MP_EV_OLD_BUCKETS) {
        mp_sr_fmt_bytes(b1, sizeof b1, x->old_bytes);
        mp_sr_fmt_count(c1, sizeof c1, aside->nevacuate);
        mp_sr_fmt_count(c2, sizeof c2, aside->noldbuckets);
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
    const char *where =
        aside->container ? mp_str(g, aside->container) : "in a struct the chain reaches";
    if (m->sync_map == MP_SYNC_JOINED)
        fprintf(out,
                "  sync.Map %s: its read and dirty maps as one map, each entry counted once, "
                "the table and bytes of both\n",
                where);
    else if (m->sync_map)
        fprintf(out, "  sync.Map %s: the one map it has now (the other is nil)\n", where);
    if (r->evidence & MP_EV_SHARED_ENTRIES) {
        char with[256];
        mp_sr_fmt_count(c1, sizeof c1, r->shared_entries);
        mp_sr_fmt_bytes(b1, sizeof b1, r->shared_bytes);
        if (mp_sr_shared_with(a, r, with, sizeof with) != with)
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
        size_t no = mp_sr_sharing_roots(a, r, other, 4);
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
    mp_sr_fmt_bytes(b, sizeof b, mp_sr_entry_bytes(a, ei));
    mp_sr_frame_text(g, mp_stack_site(g, mp_entry_stack(g, &a->d, ei)), site, sizeof site);
    const char *key = mp_entry_key(g, e, kb, sizeof kb);
    fprintf(out, "    %-24s %-12s %10s %s  %s\n", *key ? key : "?", mp_sr_entry_value_type(g, e), b,
            shared ? "shared  " : "retained", *site ? site : "(not sampled)");
}

/* The holders of a map other than the root named for it, each once, in
 * priority order: "also held by" lines, at most four named; "or more"
 * when more hold it than its report lists (their number is not counted). */
static void print_other_holders(FILE *out, const mp_snapshot_analysis *a, const mp_map_report *r,
                                uint32_t main_root)
{
    const mp_graph *g = a->g;
    uint32_t mine = main_root < g->nroots ? a->f.holder[main_root] : MP_NONE;
    uint32_t other[MP_MAX_LISTED_ROOTS];
    size_t n = 0;
    bool main_listed = false;
    for (uint32_t i = 0; i < mp_report_nlisted(r); i++) {
        uint32_t x = mp_report_root(&a->f, r, i);
        if (a->f.holder[x] == mine)
            main_listed = true;
        else
            other[n++] = x;
    }
    uint64_t total = r->nroots - (main_listed || r->nroots > MP_MAX_LISTED_ROOTS ? 1 : 0);
    if (total == 0) return;
    char c1[32], rt[512];
    mp_sr_fmt_count(c1, sizeof c1, total);
    fprintf(out, "           also held by %s%s other root%s:", c1,
            r->nroots >= MP_MANY_ROOTS ? " or more" : "", total > 1 ? "s" : "");
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
    mp_sr_fmt_bytes(b1, sizeof b1, r->retained);
    mp_format_pct(b2, sizeof b2, (int64_t)r->retained, (int64_t)a->f.heap_bytes);
    fprintf(out, "LEAK SUSPECT %zu of %zu   %s   ", rank, nsusp, mp_sr_map_type(g, r->map));
    if (r->evidence & MP_EV_EMPTIED) {
        char t[64];
        mp_sr_fmt_bytes(t, sizeof t, m->table_bytes);
        mp_sr_fmt_count(c1, sizeof c1, m->count);
        fprintf(out, "table %s for %s entries\n", t, c1);
    } else if (r->evidence & MP_EV_SHARED_ENTRIES && r->shared_bytes > r->retained) {
        char with[256];
        mp_sr_fmt_bytes(b1, sizeof b1, r->shared_bytes);
        fprintf(out, "shares %s with %s\n", b1, mp_sr_shared_with(a, r, with, sizeof with));
    } else {
        fprintf(out, "retains %s (%s of heap)\n", b1, b2);
    }
    /* root(s) */
    char rt[512];
    uint32_t main_root = mp_sr_named_root(g, &a->f, r);
    mp_root_text(g, main_root, rt, sizeof rt);
    fprintf(out, "  root     %s\n", rt);
    print_other_holders(out, a, r, main_root);
    mp_step s[MP_CHAIN_STEPS];
    print_chain_line(out, g, "chain", s, mp_sr_map_chain(a, r->map, s, MP_CHAIN_STEPS));
    mp_sr_fmt_count(c1, sizeof c1, m->nmain);
    mp_sr_fmt_count(c2, sizeof c2, m->noverflow_walked);
    mp_sr_fmt_bytes(b1, sizeof b1, m->table_bytes);
    fprintf(out, "  table    %s buckets + %s overflow", c1, c2);
    if (m->nold) {
        mp_sr_fmt_count(c3, sizeof c3, m->nold);
        fprintf(out, " + %s old", c3);
    }
    /* a sync.Map's bytes are both maps' tables: so are its buckets */
    if (m->sync_map == MP_SYNC_JOINED) {
        const mp_map_aside *x = mp_map_aside_of(g, m);
        mp_sr_fmt_count(c1, sizeof c1, x->sync_read_buckets);
        mp_sr_fmt_count(c2, sizeof c2, x->sync_read_overflow);
        fprintf(out, ", and the read map's %s + %s overflow", c1, c2);
    }
    fprintf(out, ", %s; load %.1f of 8\n", b1, mp_map_load(m));
    print_why(out, a, r);
    uint32_t nsites = mp_report_nsites(&a->f, r);
    if (nsites) {
        fputs("  sites    sampled allocations under its entries:", out);
        const mp_site_count *rs = mp_report_sites(&a->f, r);
        for (uint32_t i = 0; i < nsites; i++) {
            char site[512];
            mp_sr_frame_text(g, mp_stack_site(g, rs[i].stack), site, sizeof site);
            fprintf(out, "%s %s x%u", i ? "," : "", site, rs[i].samples);
        }
        fputc('\n', out);
    }
    size_t k = mp_sr_top_n(o, m->nentries);
    if (k) {
        mp_sr_fmt_count(c1, sizeof c1, m->nentries);
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
                    size_t cn = mp_sr_entry_chain(a, ix[i], s, MP_CHAIN_STEPS);
                    if (!cn) continue;
                    char kb[32];
                    fprintf(out, "    chain %s: ", mp_sr_key_text(g, ix[i], kb, sizeof kb));
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
    mp_sr_fmt_bytes(b1, sizeof b1, a->f.heap_bytes);
    mp_sr_fmt_count(c1, sizeof c1, a->f.heap_objects);
    const char *prog = mp_str(g, g->info.program);
    const char *rt = mp_str(g, g->info.runtime);
    fprintf(out, "maproot: %s", *prog ? mf_path_base(prog) : "?");
    if (g->info.pid) fprintf(out, " (pid %" PRIu64 ")", g->info.pid);
    if (*rt) fprintf(out, ", %s", rt);
    fprintf(out, ", GC cycle %u, heap %s in %s objects", g->info.gc_cycle, b1, c1);
    if (g->info.gc_pause_ns) fprintf(out, ", GC pause %.1f ms", (double)g->info.gc_pause_ns / 1e6);
    fputc('\n', out);
    mp_sr_fmt_count(c1, sizeof c1, g->nroots);
    mp_sr_fmt_count(c2, sizeof c2, g->nmaps);
    const char *what = strcmp(g->info.format, "godump") == 0 ? "Go heap dump" : "snapshot";
    if (o && o->profile)
        fprintf(out, "  %s %s beside the profile: root tracing on\n", what, a->file);
    else
        fprintf(out, "  %s %s\n", what, a->file);
    if (g->info.unreachable_objects) {
        char u1[32], u2[64];
        mp_sr_fmt_count(u1, sizeof u1, g->info.unreachable_objects);
        mp_sr_fmt_bytes(u2, sizeof u2, g->info.unreachable_bytes);
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
        size_t nm = mp_sr_listed_maps(o, g->nmaps);
        fprintf(out, "MAPS  by retained size\n");
        fprintf(out, "  %10s %10s %10s %6s  %-28s %s\n", "retained", "table", "entries", "B",
                "type", "root");
        for (size_t i = 0; i < nm; i++) {
            const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
            const mp_map *m = &g->maps[r->map];
            char b2[64], rt[512];
            mp_sr_fmt_bytes(b1, sizeof b1, r->retained);
            mp_sr_fmt_bytes(b2, sizeof b2, m->table_bytes);
            mp_sr_fmt_count(c1, sizeof c1, m->count);
            mp_root_text(g, mp_sr_named_root(g, &a->f, r), rt, sizeof rt);
            char in[256];
            inner_text(a, r, in, sizeof in);
            fprintf(out, "  %10s %10s %10s %6u  %-28s %s%s%s%s%s\n", b1, b2, c1, m->B,
                    mp_sr_map_type(g, r->map), rt, r->nroots > 1 ? " (+ others)" : "",
                    *in ? "  [holds " : "", in, *in ? "]" : "");
        }
        if (nm < g->nmaps) {
            mp_sr_fmt_count(c1, sizeof c1, g->nmaps - nm);
            fprintf(out, "  ... %s more map%s (--maps 0 lists every one)\n", c1,
                    g->nmaps - nm == 1 ? "" : "s");
        }
    }
}

/* shared with the group reports */
void mp_snapshot_print_chain(FILE *out, const mp_graph *g, const char *label, const mp_step *s,
                             size_t n)
{
    print_chain_line(out, g, label, s, n);
}
