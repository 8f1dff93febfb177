/*
 * src/analyze/snapshot_dot.c -- the Graphviz rendering of a snapshot
 * analysis: a picture read in a few seconds. Per suspect (at most
 * DOT_MAX_SUSPECTS): root -> objects -> map header -> the buckets of its
 * largest entries (at most DOT_MAX_ENTRIES) -> those entries, the other
 * holders of the header and of shared entries, and the rest folded into one
 * node. A node shared by several chains is drawn once (its id is made from
 * what it is, not from the chain that reached it).
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
    uint64_t bytes = mp_sr_entry_bytes(a, ei);
    char b[64] = "", kb[32];
    if (bytes) {
        mp_sr_fmt_bytes(b, sizeof b, bytes);
        snprintf(b + strlen(b), sizeof b - strlen(b), " %s", shared ? "shared" : "retained");
    }
    snprintf(buf, size, "%s -> %s%s%s", mp_entry_key(g, e, kb, sizeof kb),
             mp_sr_entry_value_type(g, e), *b ? "\n" : "", b);
}

/* A map header's lines: type, address, geometry, what it retains. */
static void dot_map_label(const mp_snapshot_analysis *a, const mp_map_report *r, size_t rank,
                          char *buf, size_t size)
{
    const mp_graph *g = a->g;
    const mp_map *m = &g->maps[r->map];
    char c1[32], b1[64], b2[64], pct[32];
    mp_sr_fmt_count(c1, sizeof c1, m->count);
    mp_sr_fmt_bytes(b1, sizeof b1, m->table_bytes);
    int n = snprintf(buf, size, "%s header 0x%" PRIx64 "\n%s entries, B=%u, table %s",
                     mp_sr_map_type(g, r->map), m->address, c1, m->B, b1);
    if (n < 0 || (size_t)n >= size) return;
    if (rank) {
        mp_sr_fmt_bytes(b2, sizeof b2,
                        r->shared_bytes > r->retained ? r->shared_bytes : r->retained);
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
        capped |= mp_sr_top_n(o, g->maps[a->f.maps[a->f.ranked[i]].map].nentries) > DOT_MAX_ENTRIES;
    const char *prog = mp_str(g, g->info.program);
    mp_sr_fmt_bytes(b1, sizeof b1, a->f.heap_bytes);
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
        size_t k = mp_sr_top_n(o, m->nentries);
        if (k > DOT_MAX_ENTRIES) k = DOT_MAX_ENTRIES;
        uint32_t *ix = k ? malloc(k * sizeof *ix) : NULL;
        size_t got = ix ? mp_findings_top_entries(g, &a->d, &a->f, r->map, ix, k) : 0;
        if (!got) {
            size_t hn = mp_sr_map_chain(a, r->map, s, MP_CHAIN_STEPS);
            dot_chain(out, a, s, hn, chain++, seen, &indexed);
        }
        uint64_t shown = 0;
        for (size_t c = 0; c < got; c++) {
            size_t cn = mp_sr_entry_chain(a, ix[c], s, MP_CHAIN_STEPS);
            dot_chain(out, a, s, cn < MP_CHAIN_STEPS ? cn : MP_CHAIN_STEPS, chain++, seen,
                      &indexed);
            shown += mp_sr_entry_bytes(a, ix[c]);
        }
        /* the other holders of the header itself: each one node, with an
         * edge to the header (the path from it is not drawn) */
        uint32_t nh = mp_report_nlisted(r);
        for (uint32_t q = 0; q < nh && q < 4; q++) {
            uint32_t h = mp_report_root(&a->f, r, q);
            if (dot_holder_drawn(a, seen, h)) continue;
            mp_root_text(g, h, t, sizeof t);
            snprintf(id, sizeof id, "r%u", h);
            dot_node(out, id, t, ", shape=ellipse, style=bold");
            seen[h] = 1;
            fprintf(out, "  %s -> m%u [style=dashed, label=\"also holds\"];\n", id, r->map);
        }
        /* the other roots that hold the shared values */
        uint32_t other[4];
        size_t no = mp_sr_sharing_roots(a, r, other, 4);
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
            mp_sr_fmt_count(c1, sizeof c1, m->nentries - got);
            n = snprintf(t, sizeof t, "%s %s entr%s", c1, got ? "other" : "",
                         m->nentries - got == 1 ? "y" : "ies");
            if (rest && n > 0 && (size_t)n < sizeof t) {
                mp_sr_fmt_bytes(b1, sizeof b1, rest);
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
