/* src/analyze/gate_report.c -- see gate_report.h. */
#include "analyze/gate_report.h"

#include "analyze/json_text.h"
#include "analyze/report.h"
#include "format/names.h"
#include "format/text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA "maproot-gate/1"

int mp_gate_exit_status(const mp_gate *gt)
{
    return gt->violations ? 1 : 0;
}

/* ------------------------------------------------------------ helpers --- */

static void fmt_signed_count(char *buf, size_t size, int64_t v)
{
    char c[32];
    mf_format_count(c, sizeof c, (uint64_t)(v < 0 ? -v : v));
    snprintf(buf, size, "%s%s", v < 0 ? "-" : "+", c);
}

static void fmt_bytes(char *buf, size_t size, int64_t v, bool sign)
{
    mp_format_value(buf, size, v, "bytes", sign);
}

static const char *rule_word(unsigned rule)
{
    static const char *const w[] = {"LEAK", "SUSPECT", "HEAP", "CAP", "SPREAD"};
    return rule < MP_RULE_COUNT ? w[rule] : "?";
}

/* The policy's rule, as the report states it. */
static void rule_text(const mp_gate *gt, const mp_gate_check *c, char *buf, size_t size)
{
    const mp_gate_policy *p = gt->policy;
    char b1[64], c1[32];
    switch (c->rule) {
    case MP_RULE_GROWTH: {
        mf_format_count(c1, sizeof c1, p->min_entries);
        fmt_bytes(b1, sizeof b1, (int64_t)p->min_bytes, false);
        size_t at = (size_t)snprintf(buf, size,
                                     "growth: k=%" PRIu32 " of n=%" PRIu32
                                     " intervals, min_growth %s entries or %s",
                                     p->k, p->n, c1, b1);
        if (c->map >= 0 && gt->maps[c->map].group && at < size) {
            mf_format_count(c1, sizeof c1, p->min_maps);
            snprintf(buf + at, size - at, " or %s maps", c1);
        }
        break;
    }
    case MP_RULE_SPREAD: {
        mf_format_count(c1, sizeof c1, p->spread_min_entries);
        fmt_bytes(b1, sizeof b1, (int64_t)p->spread_min_bytes, false);
        char m1[32];
        mf_format_count(m1, sizeof m1, p->spread_min_maps);
        snprintf(buf, size,
                 "spread: k=%" PRIu32 " of n=%" PRIu32 " intervals, min_growth %s entries or %s "
                 "over at least %s maps together",
                 p->k, p->n, c1, b1, m1);
        break;
    }
    case MP_RULE_SUSPECT: {
        size_t at = (size_t)snprintf(buf, size, "suspect: evidence");
        for (unsigned b = 0; b < MP_EV_COUNT && at < size; b++)
            if (p->evidence & (1u << b))
                at += (size_t)snprintf(buf + at, size - at, " %s", mp_evidence_name(b));
        break;
    }
    case MP_RULE_HEAP: {
        size_t at = (size_t)snprintf(buf, size, "heap:");
        if (p->heap_max_growth != MP_NO_LIMIT && at < size) {
            fmt_bytes(b1, sizeof b1, (int64_t)p->heap_max_growth, false);
            at += (size_t)snprintf(buf + at, size - at, " max_growth %s", b1);
        }
        if (p->heap_max_growth_pct >= 0 && at < size)
            snprintf(buf + at, size - at, " max_growth_percent %g", p->heap_max_growth_pct);
        break;
    }
    case MP_RULE_CAP: {
        const mp_gate_cap *cp = &p->caps[c->cap];
        bool type = cp->scope == MP_CAP_TYPE;
        size_t at =
            (size_t)snprintf(buf, size, "cap %s \"%s\"", mp_cap_scope_name(cp->scope), cp->pattern);
        if (cp->max_count != MP_NO_LIMIT && at < size) {
            mf_format_count(c1, sizeof c1, cp->max_count);
            at += (size_t)snprintf(buf + at, size - at, " %s %s",
                                   type ? "max_objects" : "max_entries", c1);
        }
        if (cp->max_bytes != MP_NO_LIMIT && at < size) {
            fmt_bytes(b1, sizeof b1, (int64_t)cp->max_bytes, false);
            at += (size_t)snprintf(buf + at, size - at, " %s %s",
                                   type ? "max_bytes" : "max_retained", b1);
        }
        if (cp->line && at < size)
            snprintf(buf + at, size - at, " (%s:%d)", p->file ? p->file : "policy", cp->line);
        break;
    }
    default:
        snprintf(buf, size, "?");
    }
}

/* Where a violation points in the source: its first allocation site with a
 * file and line, else its root's declaration or frame. */
static bool location(const mp_gate *gt, const mp_gate_check *c, const char **file, int64_t *line)
{
    /* a spread check's: its largest contributor's */
    int32_t mi = c->rule == MP_RULE_SPREAD && c->ntop ? c->top[0] : c->map;
    if (mi < 0) return false;
    const mp_gate_map *m = &gt->maps[mi];
    for (uint32_t i = 0; i < m->nsites; i++)
        if (*m->sites[i].file && m->sites[i].line > 0) {
            *file = m->sites[i].file;
            *line = m->sites[i].line;
            return true;
        }
    if (*m->root_file) {
        *file = m->root_file;
        *line = m->root_line;
        return true;
    }
    return false;
}

static void print_sites(FILE *out, const mp_gate_map *m)
{
    if (!m->nsites) {
        fputs("  sites    none sampled (MAPROOT_PROFILE_RATE samples allocations)\n", out);
        return;
    }
    fputs("  sites   ", out);
    size_t col = 10;
    for (uint32_t i = 0; i < m->nsites; i++) {
        const mp_gate_site *s = &m->sites[i];
        char site[700], pct[16] = "";
        if (*s->file && s->line > 0)
            snprintf(site, sizeof site, "%s (%s:%" PRId64 ")", *s->function ? s->function : "?",
                     s->file, s->line);
        else
            snprintf(site, sizeof site, "%s", *s->function ? s->function : "?");
        if (m->sampled)
            snprintf(pct, sizeof pct, " %.0f%%", 100.0 * (double)s->samples / (double)m->sampled);
        size_t w = strlen(site) + strlen(pct) + 2;
        if (i && col + w > 100) { /* one site a line once they do not fit */
            fputs(",\n          ", out);
            col = 10;
        } else if (i) {
            fputc(',', out);
        }
        fprintf(out, " %s%s", site, pct);
        col += w;
    }
    fputc('\n', out);
}

/* The chain of a map (label "chain"), or the one to a group's holder. */
static void print_chain_as(FILE *out, const char *label, const mp_gate_map *m)
{
    if (!m->nchain) return;
    size_t col = 11;
    fprintf(out, "  %s", label);
    for (size_t i = 0; i < m->nchain; i++) {
        size_t w = strlen(m->chain[i]) + (i ? 4 : 0);
        if (i && col + w > 100) {
            fprintf(out, "\n           -> %s", m->chain[i]);
            col = 14 + strlen(m->chain[i]);
        } else {
            fprintf(out, "%s%s", i ? " -> " : "", m->chain[i]);
            col += w;
        }
    }
    fputc('\n', out);
}

static void print_keys(FILE *out, const mp_gate_map *m)
{
    if (m->npoints < 2 || m->group) return; /* a group's keys are its members' */
    if (!m->keys_added) {
        fputs("  keys     none added over the run\n", out);
        return;
    }
    char c1[32];
    mf_format_count(c1, sizeof c1, m->keys_added);
    fputs("  keys     added", out);
    for (size_t i = 0; i < m->nadded; i++) fprintf(out, "%s %s", i ? "," : "", m->added[i]);
    fprintf(out, "%s (%s in all)\n", m->keys_added > m->nadded ? ", ..." : "", c1);
}

enum { FIG_MAPS, FIG_ENTRIES, FIG_RETAINED };

static int64_t figure(const mp_gate_point *q, int which)
{
    return which == FIG_MAPS      ? (int64_t)q->maps
           : which == FIG_ENTRIES ? (int64_t)q->entries
                                  : (int64_t)q->retained;
}

/* The change of one figure of m's points in each interval from point
 * `from` on, then what it is. */
static void print_deltas(FILE *out, const mp_gate_map *m, size_t from, int which, const char *what)
{
    if (from) fputs(" ...", out);
    for (size_t i = from + 1; i < m->npoints; i++) {
        char c1[64];
        int64_t d = figure(&m->points[i], which) - figure(&m->points[i - 1], which);
        if (which == FIG_RETAINED)
            fmt_bytes(c1, sizeof c1, d, true);
        else
            fmt_signed_count(c1, sizeof c1, d);
        fprintf(out, " %s", c1);
    }
    fputs(what, out);
}

/* The growth of a map snapshot by snapshot: entries and retained per
 * interval, at most the last 12 (and a group's maps). */
static void print_intervals(FILE *out, const mp_gate *gt, const mp_gate_map *m)
{
    if (m->npoints < 2) return;
    size_t from = m->npoints > 13 ? m->npoints - 13 : 0;
    fputs("  growth  ", out);
    if (m->group) print_deltas(out, m, from, FIG_MAPS, " maps per interval\n          ");
    print_deltas(out, m, from, FIG_ENTRIES, " entries per interval\n          ");
    print_deltas(out, m, from, FIG_RETAINED, " retained");
    fprintf(out, " (GC cycles %" PRIu32 " to %" PRIu32 ")\n", gt->snaps[m->points[from].snap].cycle,
            gt->snaps[m->points[m->npoints - 1].snap].cycle);
}

/* A spread check as text: how many maps, their growth together, and the
 * largest of them, each with its holder and type. */
static void print_spread_block(FILE *out, const mp_gate *gt, const mp_gate_check *c,
                               const char *rule)
{
    char c1[32], c2[32], b1[64];
    mf_format_count(c1, sizeof c1, c->spread_maps);
    mf_format_count(c2, sizeof c2, (uint64_t)c->window_entries);
    fmt_bytes(b1, sizeof b1, c->window_bytes, true);
    fprintf(out,
            "%s  %s maps, each growing too little to fail alone\n"
            "  grew     each in at least %" PRIu32 " of its last %" PRIu32
            " intervals: +%s entries, %s retained together\n",
            rule_word(c->rule), c1, gt->policy->k, gt->policy->n, c2, b1);
    for (uint32_t i = 0; i < c->ntop; i++) {
        const mp_gate_map *m = &gt->maps[c->top[i]];
        mf_format_count(c2, sizeof c2, (uint64_t)c->top_entries[i]);
        fmt_bytes(b1, sizeof b1, c->top_bytes[i], true);
        fprintf(out, "  %-8s %s  root %s: +%s entries, %s\n", i ? "" : "largest", m->type,
                m->root_holder, c2, b1);
    }
    if (c->spread_maps > c->ntop) {
        mf_format_count(c1, sizeof c1, c->spread_maps - c->ntop);
        fprintf(out, "           ... and %s more\n", c1);
    }
    fprintf(out, "  rule     %s\n", rule);
}

/* One violation (or a suppressed or baselined check) as text. */
static void print_check_block(FILE *out, const mp_gate *gt, const mp_gate_check *c)
{
    char rule[512], c1[32], c2[40], c3[40], b1[64], b2[64], b3[64];
    rule_text(gt, c, rule, sizeof rule);
    if (c->rule == MP_RULE_SPREAD) {
        print_spread_block(out, gt, c, rule);
        return;
    }
    if (c->map < 0) {
        fprintf(out, "%s  %s\n  seen     %s\n  rule     %s\n", rule_word(c->rule), c->subject,
                c->summary, rule);
        return;
    }
    const mp_gate_map *m = &gt->maps[c->map];
    const mp_gate_point *last = &m->points[m->npoints - 1];
    if (m->group) {
        mf_format_count(c1, sizeof c1, last->maps);
        fprintf(out, "%s  %s maps %s  root %s\n", rule_word(c->rule), c1, m->type, m->root);
    } else {
        fprintf(out, "%s  %s  root %s\n", rule_word(c->rule), m->type, m->root);
    }
    if (c->rule == MP_RULE_GROWTH) {
        const mp_gate_point *first = &m->points[0];
        if (m->group) {
            mf_format_count(c1, sizeof c1, first->maps);
            mf_format_count(c2, sizeof c2, last->maps);
            fmt_signed_count(c3, sizeof c3, (int64_t)last->maps - (int64_t)first->maps);
            char place[512];
            mp_gate_members_place(m, first, last, place, sizeof place);
            if (m->variable) /* named by the variable and its threads, as analyze does */
                fprintf(out, "  maps     %s -> %s (%s) of one type in %s\n", c1, c2, c3, place);
            else
                fprintf(out, "  maps     %s -> %s of one type %s (%s)\n", c1, c2, place, c3);
        }
        mf_format_count(c1, sizeof c1, first->entries);
        mf_format_count(c2, sizeof c2, last->entries);
        fmt_signed_count(c3, sizeof c3, (int64_t)last->entries - (int64_t)first->entries);
        fmt_bytes(b1, sizeof b1, (int64_t)first->retained, false);
        fmt_bytes(b2, sizeof b2, (int64_t)last->retained, false);
        fmt_bytes(b3, sizeof b3, (int64_t)last->retained - (int64_t)first->retained, true);
        unsigned grew = c->grew_entries > c->grew_bytes ? c->grew_entries : c->grew_bytes;
        if (c->grew_maps > grew) grew = c->grew_maps;
        fprintf(out,
                "  grew     in %u of the last %" PRIu32 " intervals: %s -> %s entries (%s),\n"
                "           %s -> %s retained (%s) over %zu snapshots\n",
                grew, c->intervals, c1, c2, c3, b1, b2, b3, m->npoints);
        print_intervals(out, gt, m);
        if (c->alone_maps) {
            mf_format_count(c1, sizeof c1, c->alone_maps);
            fmt_signed_count(c2, sizeof c2, c->alone_entries);
            fmt_bytes(b1, sizeof b1, c->alone_bytes, true);
            fprintf(out,
                    "  apart    %s member%s growing on %s own, judged as map%s: %s entries, %s\n"
                    "           over the window, not counted in the group's growth\n",
                    c1, c->alone_maps == 1 ? "" : "s", c->alone_maps == 1 ? "its" : "their",
                    c->alone_maps == 1 ? "" : "s", c2, b1);
        }
    } else {
        mf_format_count(c1, sizeof c1, last->entries);
        fmt_bytes(b1, sizeof b1, (int64_t)last->retained, false);
        fprintf(out, "  seen     %s\n", c->summary);
        fprintf(out, "  now      %s entries, %s retained (GC cycle %" PRIu32 ")\n", c1, b1,
                gt->snaps[last->snap].cycle);
        if (c->rule == MP_RULE_SUSPECT)
            fprintf(out, "  fix      %s\n", mp_evidence_fix(m->evidence));
    }
    if (m->twin && *m->way) fprintf(out, "  way      %s\n", m->way);
    if (m->group)
        print_chain_as(out, "holder   ", m);
    else
        print_chain_as(out, "chain    ", m);
    print_keys(out, m);
    print_sites(out, m);
    fprintf(out, "  rule     %s\n", rule);
}

static const char *policy_name(const mp_gate *gt)
{
    return gt->policy->file ? gt->policy->file : "built-in defaults";
}

static void print_suppression_ref(FILE *out, const mp_gate *gt, size_t s)
{
    const mp_gate_suppression *x = &gt->policy->sups[s];
    fprintf(out, "%s:%d", policy_name(gt), x->line);
    if (x->root) fprintf(out, " root \"%s\"", x->root);
    if (x->map) fprintf(out, " map \"%s\"", x->map);
    if (x->function) fprintf(out, " function \"%s\"", x->function);
    if (x->file) fprintf(out, " file \"%s\"", x->file);
    fprintf(out, " (reason: %s)", x->reason);
}

/* The violating maps that suppression s could not be matched against: it
 * names a function or file, and those come from sampled allocation stacks,
 * which a map with no sampled allocation lacks. */
static size_t unsampled_violations(const mp_gate *gt, size_t s)
{
    const mp_gate_suppression *sup = &gt->policy->sups[s];
    if (!sup->function && !sup->file) return 0;
    size_t n = 0;
    for (size_t i = 0; i < gt->nchecks; i++) {
        const mp_gate_check *c = &gt->checks[i];
        if (c->status == MP_CHECK_FAIL && c->map >= 0 && gt->maps[c->map].nframes == 0 &&
            (sup->rules & (1u << c->rule)))
            n++;
    }
    return n;
}

/* Why an unused suppression may have matched nothing: said so that a gate
 * that fails only in some runs is not read as a policy that is wrong. */
static void print_unsampled_note(FILE *out, const mp_gate *gt, size_t s)
{
    size_t n = unsampled_violations(gt, s);
    if (n)
        fprintf(out,
                " (could not apply to %zu violation%s of map%s with no sampled allocation: "
                "MAPROOT_PROFILE_RATE=1 samples every one)",
                n, n == 1 ? "" : "s", n == 1 ? "" : "s");
}

/* -------------------------------------------------------------- text --- */

void mp_gate_print_text(FILE *out, const mp_gate *gt)
{
    const mp_gate_policy *p = gt->policy;
    size_t warm = gt->nsnaps - gt->judged;
    fprintf(out,
            "maproot gate: %s  %zu violation%s: %zu leak%s, %s%zu suspect%s, %zu cap%s, %zu heap "
            "(policy: %s)\n",
            gt->violations ? "FAIL" : "PASS", gt->violations, gt->violations == 1 ? "" : "s",
            gt->fails[MP_RULE_GROWTH], gt->fails[MP_RULE_GROWTH] == 1 ? "" : "s",
            gt->fails[MP_RULE_SPREAD] ? "1 spread leak, " : "", gt->fails[MP_RULE_SUSPECT],
            gt->fails[MP_RULE_SUSPECT] == 1 ? "" : "s", gt->fails[MP_RULE_CAP],
            gt->fails[MP_RULE_CAP] == 1 ? "" : "s", gt->fails[MP_RULE_HEAP], policy_name(gt));
    const char *prog = gt->program && *gt->program ? gt->program : "?";
    const char *base = mf_path_base(prog);
    fprintf(out, "  %s", *base ? base : prog);
    if (gt->pid) fprintf(out, " (pid %" PRIu64 ")", gt->pid);
    size_t groups = 0;
    for (size_t i = 0; i < gt->nmaps; i++) groups += gt->maps[i].group;
    size_t maps = gt->nmaps - groups;
    fprintf(out,
            ": %zu snapshot%s, GC cycles %" PRIu32 " to %" PRIu32
            ", %zu of warm-up; %zu map%s followed",
            gt->nsnaps, gt->nsnaps == 1 ? "" : "s", gt->snaps[0].cycle,
            gt->snaps[gt->nsnaps - 1].cycle, warm, maps, maps == 1 ? "" : "s");
    if (groups) fprintf(out, ", and %zu group%s of maps", groups, groups == 1 ? "" : "s");
    fputc('\n', out);
    if (gt->suppressed || gt->baselined) {
        fprintf(out, "  %zu suppressed", gt->suppressed);
        if (gt->baseline_file)
            fprintf(out, ", %zu within the baseline %s", gt->baselined, gt->baseline_file);
        fputc('\n', out);
    }
    fputc('\n', out);
    /* violations: leaks first (a spread one after those of one map or
     * group), then suspects, caps, heap; within a rule the largest map
     * first */
    static const unsigned order[] = {MP_RULE_GROWTH, MP_RULE_SPREAD, MP_RULE_SUSPECT, MP_RULE_CAP,
                                     MP_RULE_HEAP};
    for (size_t o = 0; o < MP_RULE_COUNT; o++) {
        size_t n = 0;
        for (size_t i = 0; i < gt->nchecks; i++)
            n += gt->checks[i].rule == order[o] && gt->checks[i].status == MP_CHECK_FAIL;
        if (!n) continue;
        const mp_gate_check **v = malloc(n * sizeof *v);
        if (!v) continue;
        n = 0;
        for (size_t i = 0; i < gt->nchecks; i++)
            if (gt->checks[i].rule == order[o] && gt->checks[i].status == MP_CHECK_FAIL)
                v[n++] = &gt->checks[i];
        for (size_t i = 1; i < n; i++) /* insertion sort by the map's last retained */
            for (size_t j = i; j > 0; j--) {
                const mp_gate_check *a = v[j - 1], *b = v[j];
                uint64_t ra = a->map >= 0
                                  ? gt->maps[a->map].points[gt->maps[a->map].npoints - 1].retained
                                  : 0;
                uint64_t rb = b->map >= 0
                                  ? gt->maps[b->map].points[gt->maps[b->map].npoints - 1].retained
                                  : 0;
                if (ra >= rb) break;
                v[j - 1] = b;
                v[j] = a;
            }
        for (size_t i = 0; i < n; i++) {
            print_check_block(out, gt, v[i]);
            fputc('\n', out);
        }
        free(v);
    }
    if (!gt->violations)
        fputs("No violations: no map, root, type or heap broke the policy.\n\n", out);
    for (size_t i = 0; i < gt->nchecks; i++) {
        const mp_gate_check *c = &gt->checks[i];
        if (c->status == MP_CHECK_SUPPRESSED) {
            fprintf(out, "suppressed  %s  %s: ", mp_gate_rule_name(c->rule), c->subject);
            print_suppression_ref(out, gt, (size_t)c->suppression);
            fputc('\n', out);
        } else if (c->status == MP_CHECK_BASELINE) {
            fprintf(out, "baseline    %s  %s: within %s\n", mp_gate_rule_name(c->rule), c->subject,
                    gt->baseline_file);
        }
    }
    for (size_t s = 0; s < p->nsups; s++)
        if (!gt->sup_uses[s]) {
            fputs("unused suppression  ", out);
            print_suppression_ref(out, gt, s);
            print_unsampled_note(out, gt, s);
            fputc('\n', out);
        }
}

/* -------------------------------------------------------------- json --- */

static json_t *policy_json(const mp_gate_policy *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "file", p->file ? mp_json_text(p->file) : json_null());
    json_object_set_new(j, "warmup", json_integer((json_int_t)p->warmup));
    json_object_set_new(j, "growth",
                        p->growth ? json_pack("{s:i, s:i, s:I, s:I, s:I}", "k", (int)p->k, "n",
                                              (int)p->n, "min_entries", (json_int_t)p->min_entries,
                                              "min_bytes", (json_int_t)p->min_bytes, "min_maps",
                                              (json_int_t)p->min_maps)
                                  : json_false());
    json_object_set_new(j, "spread",
                        p->spread ? json_pack("{s:I, s:I, s:I}", "min_maps",
                                              (json_int_t)p->spread_min_maps, "min_entries",
                                              (json_int_t)p->spread_min_entries, "min_bytes",
                                              (json_int_t)p->spread_min_bytes)
                                  : json_false());
    json_t *ev = json_array();
    for (unsigned b = 0; b < MP_EV_COUNT; b++)
        if (p->evidence & (1u << b)) json_array_append_new(ev, json_string(mp_evidence_name(b)));
    json_object_set_new(j, "suspect",
                        p->suspect ? json_pack("{s:o}", "evidence", ev) : json_false());
    if (!p->suspect) json_decref(ev);
    if (p->heap) {
        json_t *h = json_object();
        if (p->heap_max_growth != MP_NO_LIMIT)
            json_object_set_new(h, "max_growth", json_integer((json_int_t)p->heap_max_growth));
        if (p->heap_max_growth_pct >= 0)
            json_object_set_new(h, "max_growth_percent", json_real(p->heap_max_growth_pct));
        json_object_set_new(j, "heap", h);
    } else {
        json_object_set_new(j, "heap", json_false());
    }
    json_object_set_new(j, "baseline_tolerance_percent", json_real(p->baseline_tolerance_pct));
    return j;
}

static json_t *suppression_json(const mp_gate *gt, size_t s)
{
    const mp_gate_suppression *x = &gt->policy->sups[s];
    json_t *j = json_object(), *rules = json_array();
    json_object_set_new(j, "line", json_integer(x->line));
    json_object_set_new(j, "root", x->root ? mp_json_text(x->root) : json_null());
    json_object_set_new(j, "map", x->map ? mp_json_text(x->map) : json_null());
    json_object_set_new(j, "function", x->function ? mp_json_text(x->function) : json_null());
    json_object_set_new(j, "file", x->file ? mp_json_text(x->file) : json_null());
    json_object_set_new(j, "reason", mp_json_text(x->reason));
    for (unsigned r = 0; r < MP_RULE_COUNT; r++)
        if (x->rules & (1u << r)) json_array_append_new(rules, json_string(mp_gate_rule_name(r)));
    json_object_set_new(j, "rules", rules);
    json_object_set_new(j, "used", json_integer(gt->sup_uses ? gt->sup_uses[s] : 0));
    return j;
}

static json_t *map_json(const mp_gate *gt, const mp_gate_map *m)
{
    json_t *j = json_object(), *a;
    json_object_set_new(j, "group", json_boolean(m->group));
    json_object_set_new(j, "variable", json_boolean(m->variable));
    json_object_set_new(j, "type", mp_json_text(m->type));
    json_object_set_new(j, "holder", mp_json_text(m->holder));
    json_object_set_new(j, "way", mp_json_text(m->way));
    json_object_set_new(j, "ordinal", json_integer(m->ordinal));
    json_object_set_new(j, "root", mp_json_text(m->root));
    json_object_set_new(j, "root_holder", mp_json_text(m->root_holder));
    json_object_set_new(j, "root_file", mp_json_text(m->root_file));
    json_object_set_new(j, "root_line", json_integer(m->root_line));
    a = json_array();
    for (size_t i = 0; i < m->nchain; i++) json_array_append_new(a, mp_json_text(m->chain[i]));
    json_object_set_new(j, "chain", a);
    json_object_set_new(j, "chain_steps", json_integer((json_int_t)m->chain_steps));
    json_object_set_new(j, "chain_elided", json_integer((json_int_t)m->chain_elided));
    a = json_array();
    for (size_t i = 0; i < m->npoints; i++) {
        json_t *pt = json_pack(
            "{s:i, s:I, s:I}", "gc_cycle", (int)gt->snaps[m->points[i].snap].cycle, "entries",
            (json_int_t)m->points[i].entries, "retained_bytes", (json_int_t)m->points[i].retained);
        if (m->group) json_object_set_new(pt, "maps", json_integer((json_int_t)m->points[i].maps));
        if (m->variable) {
            json_object_set_new(pt, "roots", json_integer(m->points[i].tops));
            json_object_set_new(pt, "threads", json_integer(m->points[i].threads));
        }
        json_array_append_new(a, pt);
    }
    json_object_set_new(j, "points", a);
    json_object_set_new(j, "keys_added", json_integer((json_int_t)m->keys_added));
    a = json_array();
    for (size_t i = 0; i < m->nadded; i++) json_array_append_new(a, mp_json_text(m->added[i]));
    json_object_set_new(j, "added_keys_sample", a);
    a = json_array();
    for (uint32_t i = 0; i < m->nsites; i++) {
        const mp_gate_site *s = &m->sites[i];
        json_t *x = json_object();
        json_object_set_new(x, "function", mp_json_text(s->function));
        json_object_set_new(x, "file", mp_json_text(s->file));
        json_object_set_new(x, "line", json_integer(s->line));
        json_object_set_new(x, "samples", json_integer(s->samples));
        json_array_append_new(a, x);
    }
    json_object_set_new(j, "sites", a);
    json_object_set_new(j, "sampled_objects", json_integer((json_int_t)m->sampled));
    a = json_array();
    for (unsigned b = 0; b < MP_EV_COUNT; b++)
        if (m->evidence & (1u << b)) json_array_append_new(a, json_string(mp_evidence_name(b)));
    json_object_set_new(j, "evidence", a);
    return j;
}

json_t *mp_gate_json(const mp_gate *gt)
{
    json_t *root = json_object();
    if (!root) return NULL;
    json_object_set_new(root, "schema", json_string(SCHEMA));
    json_object_set_new(root, "verdict", json_string(gt->violations ? "fail" : "pass"));
    json_object_set_new(root, "exit_status", json_integer(mp_gate_exit_status(gt)));
    json_object_set_new(root, "program", mp_json_text(gt->program));
    json_object_set_new(root, "pid", json_integer((json_int_t)gt->pid));
    json_object_set_new(root, "policy", policy_json(gt->policy));
    json_object_set_new(root, "baseline",
                        gt->baseline_file ? mp_json_text(gt->baseline_file) : json_null());
    json_t *counts = json_object();
    json_object_set_new(counts, "violations", json_integer((json_int_t)gt->violations));
    for (unsigned r = 0; r < MP_RULE_COUNT; r++)
        json_object_set_new(counts, mp_gate_rule_name(r), json_integer((json_int_t)gt->fails[r]));
    json_object_set_new(counts, "suppressed", json_integer((json_int_t)gt->suppressed));
    json_object_set_new(counts, "baselined", json_integer((json_int_t)gt->baselined));
    json_object_set_new(root, "counts", counts);
    json_t *a = json_array();
    for (size_t i = 0; i < gt->nsnaps; i++) {
        const mp_gate_snap *s = &gt->snaps[i];
        json_t *x = json_object();
        json_object_set_new(x, "file", mp_json_text(s->file));
        json_object_set_new(x, "gc_cycle", json_integer(s->cycle));
        json_object_set_new(x, "warmup", json_boolean(s->warmup));
        json_object_set_new(x, "heap_bytes",
                            s->warmup ? json_null() : json_integer((json_int_t)s->heap_bytes));
        json_array_append_new(a, x);
    }
    json_object_set_new(root, "snapshots", a);
    a = json_array();
    for (size_t i = 0; i < gt->nmaps; i++) json_array_append_new(a, map_json(gt, &gt->maps[i]));
    json_object_set_new(root, "maps", a);
    a = json_array();
    for (size_t i = 0; i < gt->nchecks; i++) {
        const mp_gate_check *c = &gt->checks[i];
        json_t *x = json_object();
        json_object_set_new(x, "rule", json_string(mp_gate_rule_name(c->rule)));
        json_object_set_new(x, "status", json_string(mp_check_status_name(c->status)));
        json_object_set_new(x, "subject", mp_json_text(c->subject));
        json_object_set_new(x, "summary", mp_json_text(c->summary));
        json_object_set_new(x, "map", c->map >= 0 ? json_integer(c->map) : json_null());
        json_object_set_new(x, "cap", c->cap >= 0 ? json_integer(c->cap) : json_null());
        json_object_set_new(x, "suppression",
                            c->suppression >= 0 ? json_integer(c->suppression) : json_null());
        const char *file;
        int64_t line;
        if (location(gt, c, &file, &line))
            json_object_set_new(
                x, "location",
                json_pack("{s:o, s:I}", "file", mp_json_text(file), "line", (json_int_t)line));
        else
            json_object_set_new(x, "location", json_null());
        if (c->rule == MP_RULE_GROWTH) {
            json_object_set_new(x, "intervals", json_integer(c->intervals));
            json_object_set_new(x, "grew_entries", json_integer(c->grew_entries));
            json_object_set_new(x, "grew_bytes", json_integer(c->grew_bytes));
            json_object_set_new(x, "window_entries", json_integer(c->window_entries));
            json_object_set_new(x, "window_bytes", json_integer(c->window_bytes));
            if (c->map >= 0 && gt->maps[c->map].group) {
                json_object_set_new(x, "grew_maps", json_integer(c->grew_maps));
                json_object_set_new(x, "window_maps", json_integer(c->window_maps));
                json_object_set_new(x, "alone_maps", json_integer((json_int_t)c->alone_maps));
                json_object_set_new(x, "alone_entries", json_integer(c->alone_entries));
                json_object_set_new(x, "alone_bytes", json_integer(c->alone_bytes));
            }
        }
        if (c->rule == MP_RULE_HEAP)
            json_object_set_new(x, "growth_bytes", json_integer(c->window_bytes));
        if (c->rule == MP_RULE_SPREAD) {
            json_object_set_new(x, "maps", json_integer((json_int_t)c->spread_maps));
            json_object_set_new(x, "window_entries", json_integer(c->window_entries));
            json_object_set_new(x, "window_bytes", json_integer(c->window_bytes));
            json_t *top = json_array();
            for (uint32_t k = 0; k < c->ntop; k++) {
                const mp_gate_map *m = &gt->maps[c->top[k]];
                json_array_append_new(
                    top, json_pack("{s:i, s:o, s:o, s:I, s:I}", "map", (int)c->top[k], "type",
                                   mp_json_text(m->type), "holder", mp_json_text(m->root_holder),
                                   "window_entries", (json_int_t)c->top_entries[k], "window_bytes",
                                   (json_int_t)c->top_bytes[k]));
            }
            json_object_set_new(x, "largest", top);
        }
        json_array_append_new(a, x);
    }
    json_object_set_new(root, "checks", a);
    a = json_array();
    json_t *unused = json_array();
    for (size_t s = 0; s < gt->policy->nsups; s++) {
        json_array_append_new(a, suppression_json(gt, s));
        if (!gt->sup_uses[s]) json_array_append_new(unused, json_integer((json_int_t)s));
    }
    json_object_set_new(root, "suppressions", a);
    json_object_set_new(root, "unused_suppressions", unused);
    return root;
}

/* ------------------------------------------------------------- junit --- */

/* Text for XML: markup characters as entities; control characters and
 * bytes that are not UTF-8 (XML 1.0 allows neither) as U+FFFD. */
static void xml_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '&')
            fputs("&amp;", out);
        else if (c == '<')
            fputs("&lt;", out);
        else if (c == '>')
            fputs("&gt;", out);
        else if (c == '"')
            fputs("&quot;", out);
        else if (c == '\'')
            fputs("&apos;", out);
        else if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
            fputs("\xef\xbf\xbd", out);
        else if (c < 0x80)
            fputc(c, out);
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = mp_utf8_seq(p + i, n - i);
        /* U+FFFE and U+FFFF are not XML characters either */
        if (k == 3 && p[i] == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe) k = 0;
        if (k) {
            fwrite(p + i, 1, k, out);
            i += k;
        } else {
            fputs("\xef\xbf\xbd", out);
            i++;
        }
    }
}

/* A check's text block in a malloc'd string (NULL when out of memory). */
static char *block_text(const mp_gate *gt, const mp_gate_check *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    print_check_block(f, gt, c);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int mp_gate_print_junit(FILE *out, const mp_gate *gt)
{
    const mp_gate_policy *p = gt->policy;
    size_t total = gt->nchecks + p->nsups, skipped = gt->suppressed + gt->baselined;
    for (size_t s = 0; s < p->nsups; s++) skipped += !gt->sup_uses[s];
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fprintf(out,
            "<testsuites name=\"maproot gate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "skipped=\"%zu\">\n",
            total, gt->violations, skipped);
    static const unsigned order[] = {MP_RULE_GROWTH, MP_RULE_SPREAD, MP_RULE_SUSPECT, MP_RULE_CAP,
                                     MP_RULE_HEAP};
    bool props_done = false;
    for (size_t o = 0; o < MP_RULE_COUNT; o++) {
        unsigned rule = order[o];
        size_t n = 0, f = 0, sk = 0;
        for (size_t i = 0; i < gt->nchecks; i++) {
            const mp_gate_check *c = &gt->checks[i];
            if (c->rule != rule) continue;
            n++;
            f += c->status == MP_CHECK_FAIL;
            sk += c->status == MP_CHECK_SUPPRESSED || c->status == MP_CHECK_BASELINE;
        }
        if (!n) continue;
        fprintf(out,
                "  <testsuite name=\"maproot.gate.%s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                "skipped=\"%zu\">\n",
                mp_gate_rule_name(rule), n, f, sk);
        if (!props_done) { /* the run's facts, once */
            props_done = true;
            fputs("    <properties>\n", out);
            fputs("      <property name=\"policy\" value=\"", out);
            xml_text(out, policy_name(gt));
            fputs("\"/>\n      <property name=\"program\" value=\"", out);
            xml_text(out, gt->program ? gt->program : "");
            fprintf(out,
                    "\"/>\n      <property name=\"snapshots\" value=\"%zu\"/>\n    </properties>\n",
                    gt->nsnaps);
        }
        for (size_t i = 0; i < gt->nchecks; i++) {
            const mp_gate_check *c = &gt->checks[i];
            if (c->rule != rule) continue;
            fprintf(out, "    <testcase classname=\"maproot.gate.%s\" name=\"",
                    mp_gate_rule_name(rule));
            xml_text(out, c->subject);
            fputs("\"", out);
            if (c->status == MP_CHECK_PASS) {
                fputs("/>\n", out);
                continue;
            }
            fputs(">\n", out);
            if (c->status == MP_CHECK_FAIL) {
                char *b = block_text(gt, c);
                if (!b) return -1;
                fprintf(out, "      <failure type=\"%s\" message=\"", mp_gate_rule_name(rule));
                xml_text(out, c->summary);
                fputs("\">", out);
                xml_text(out, b);
                fputs("</failure>\n", out);
                free(b);
            } else if (c->status == MP_CHECK_SUPPRESSED) {
                const mp_gate_suppression *s = &p->sups[c->suppression];
                char msg[1024];
                snprintf(msg, sizeof msg, "suppressed by %s:%d: %s", policy_name(gt), s->line,
                         s->reason);
                fputs("      <skipped message=\"", out);
                xml_text(out, msg);
                fputs("\"/>\n", out);
            } else {
                fputs("      <skipped message=\"within the baseline ", out);
                xml_text(out, gt->baseline_file ? gt->baseline_file : "");
                fputs("\"/>\n", out);
            }
            fputs("    </testcase>\n", out);
        }
        fputs("  </testsuite>\n", out);
    }
    if (p->nsups) {
        size_t unused = 0;
        for (size_t s = 0; s < p->nsups; s++) unused += !gt->sup_uses[s];
        fprintf(out,
                "  <testsuite name=\"maproot.gate.suppressions\" tests=\"%zu\" failures=\"0\" "
                "errors=\"0\" skipped=\"%zu\">\n",
                p->nsups, unused);
        for (size_t s = 0; s < p->nsups; s++) {
            char *t = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&t, &len);
            if (!f) return -1;
            print_suppression_ref(f, gt, s);
            if (fclose(f) != 0) {
                free(t);
                return -1;
            }
            fputs("    <testcase classname=\"maproot.gate.suppressions\" name=\"", out);
            xml_text(out, t);
            free(t);
            if (gt->sup_uses[s])
                fprintf(out,
                        "\">\n      <system-out>suppressed %" PRIu32
                        " violation%s</system-out>\n    </testcase>\n",
                        gt->sup_uses[s], gt->sup_uses[s] == 1 ? "" : "s");
            else
                fputs("\">\n      <skipped message=\"unused suppression: it matched no "
                      "violation\"/>\n    </testcase>\n",
                      out);
        }
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
    return 0;
}

/* ------------------------------------------------------------ github --- */

/* A workflow command's data (message): %, CR, LF escaped; a property
 * value also escapes : and ,. */
static void gh_escape(FILE *out, const char *s, bool property)
{
    for (; *s; s++) {
        if (*s == '%')
            fputs("%25", out);
        else if (*s == '\r')
            fputs("%0D", out);
        else if (*s == '\n')
            fputs("%0A", out);
        else if (property && *s == ':')
            fputs("%3A", out);
        else if (property && *s == ',')
            fputs("%2C", out);
        else
            fputc(*s, out);
    }
}

int mp_gate_print_github(FILE *out, const mp_gate *gt)
{
    for (size_t i = 0; i < gt->nchecks; i++) {
        const mp_gate_check *c = &gt->checks[i];
        if (c->status != MP_CHECK_FAIL) continue;
        char *b = block_text(gt, c);
        if (!b) return -1;
        size_t n = strlen(b);
        while (n && b[n - 1] == '\n') b[--n] = 0;
        fputs("::error ", out);
        const char *file;
        int64_t line;
        if (location(gt, c, &file, &line)) {
            fputs("file=", out);
            gh_escape(out, file, true);
            if (line > 0) fprintf(out, ",line=%" PRId64, line);
            fputc(',', out);
        }
        char title[600];
        snprintf(title, sizeof title, "maproot gate: %s %s", mp_gate_rule_name(c->rule),
                 c->subject);
        fputs("title=", out);
        gh_escape(out, title, true);
        fputs("::", out);
        gh_escape(out, b, false);
        fputc('\n', out);
        free(b);
    }
    const mp_gate_policy *p = gt->policy;
    for (size_t s = 0; s < p->nsups; s++) {
        if (gt->sup_uses[s]) continue;
        fputs("::warning ", out);
        if (p->file) {
            fputs("file=", out);
            gh_escape(out, p->file, true);
            fprintf(out, ",line=%d,", p->sups[s].line);
        }
        fputs("title=maproot gate%3A unused suppression::", out);
        char *t = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&t, &len);
        if (!f) return -1;
        fputs("unused suppression: ", f);
        print_suppression_ref(f, gt, s);
        print_unsampled_note(f, gt, s);
        if (fclose(f) != 0) {
            free(t);
            return -1;
        }
        gh_escape(out, t, false);
        free(t);
        fputc('\n', out);
    }
    return 0;
}
