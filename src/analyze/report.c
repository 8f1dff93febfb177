/* src/analyze/report.c -- see report.h. */
#include "analyze/report.h"

#include "analyze/display_path.h"
#include "analyze/json_text.h"
#include "format/text.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void mp_format_value(char *buf, size_t size, int64_t v, const char *unit, bool sign)
{
    const char *sg = v < 0 ? "-" : (sign && v > 0 ? "+" : "");
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (strcmp(unit, "bytes") == 0 || strcmp(unit, "byte") == 0 || strcmp(unit, "B") == 0) {
        char t[48];
        mf_format_bytes(t, sizeof t, a);
        snprintf(buf, size, "%s%s", sg, t);
        return;
    }
    if (strcmp(unit, "nanoseconds") == 0) {
        double d = (double)a;
        if (a < 1000)
            snprintf(buf, size, "%s%" PRIu64 "ns", sg, a);
        else if (a < 1000000)
            snprintf(buf, size, "%s%.2fus", sg, d / 1e3);
        else if (a < 1000000000)
            snprintf(buf, size, "%s%.2fms", sg, d / 1e6);
        else
            snprintf(buf, size, "%s%.2fs", sg, d / 1e9);
        return;
    }
    snprintf(buf, size, "%s%" PRIu64, sg, a);
}

void mp_format_pct(char *buf, size_t size, int64_t part, int64_t total)
{
    if (total == 0) {
        snprintf(buf, size, "n/a");
        return;
    }
    snprintf(buf, size, "%.2f%%", 100.0 * (double)part / (double)total);
}

static double pct(int64_t part, int64_t total)
{
    return total ? 100.0 * (double)part / (double)total : 0.0;
}

/* ---------------------------------------------------------------- tables --- */

/* A table of preformatted cells: numeric columns right-aligned, columns
 * marked `left` left-aligned; widths are the widest cell. Cells are set with
 * cellf (printf-like) and owned by the table. */
typedef struct table {
    size_t cols, rows, cap;
    const bool *left;
    char **cells;
} table;

static int table_row(table *t)
{
    if (t->rows == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, nc * t->cols * sizeof *p);
        if (!p) return -1;
        t->cells = p;
        t->cap = nc;
    }
    memset(&t->cells[t->rows * t->cols], 0, t->cols * sizeof *t->cells);
    t->rows++;
    return 0;
}

static void cellf(table *t, size_t c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets column c of the last row. */
static void cellf(table *t, size_t c, const char *fmt, ...)
{
    char **slot = &t->cells[(t->rows - 1) * t->cols + c];
    va_list ap;
    va_start(ap, fmt);
    free(*slot);
    if (vasprintf(slot, fmt, ap) < 0) *slot = NULL;
    va_end(ap);
}

static void table_print(FILE *out, const table *t, const char *indent)
{
    size_t w[16] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            const char *s = t->cells[r * t->cols + c];
            size_t n = s ? strlen(s) : 0;
            if (n > w[c]) w[c] = n;
        }
    for (size_t r = 0; r < t->rows; r++) {
        fputs(indent, out);
        for (size_t c = 0; c < t->cols; c++) {
            const char *s = t->cells[r * t->cols + c];
            if (!s) s = "";
            if (c + 1 == t->cols)
                fputs(s, out);
            else
                fprintf(out, t->left[c] ? "%-*s  " : "%*s  ", (int)w[c], s);
        }
        fputc('\n', out);
    }
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->rows * t->cols; i++) free(t->cells[i]);
    free(t->cells);
}

static void header(table *t, const char *const *h)
{
    if (table_row(t)) return;
    for (size_t c = 0; c < t->cols; c++) cellf(t, c, "%s", h[c]);
}

static void fmt_value_cell(table *t, size_t c, int64_t v, const char *unit, bool sign)
{
    char b[64];
    mp_format_value(b, sizeof b, v, unit, sign);
    cellf(t, c, "%s", b);
}

static void fmt_pct_cell(table *t, size_t c, int64_t part, int64_t total)
{
    char b[64];
    mp_format_pct(b, sizeof b, part, total);
    cellf(t, c, "%s", b);
}

/* -------------------------------------------------------------- analysis --- */

static const char *type_name(const mf_profile *p, size_t t)
{
    return mf_str(p, p->sample_types[t].type);
}

static const char *type_unit(const mf_profile *p, size_t t)
{
    return mf_str(p, p->sample_types[t].unit);
}

static void format_time(char *buf, size_t size, int64_t nanos)
{
    time_t secs = (time_t)(nanos / 1000000000);
    struct tm tm;
    if (nanos > 0 && gmtime_r(&secs, &tm))
        strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else
        snprintf(buf, size, "unknown");
}

/* "file:line" of a site as reports show files (display_path.h), "?" when
 * the file is unknown. */
static const char *file_line(const char *file, int64_t line, char *buf, size_t size)
{
    char shown[480]; /* callers' buffers hold 512 */
    mp_display_path(file, shown, sizeof shown);
    if (shown[0] && line)
        snprintf(buf, size, "%s:%" PRId64, shown, line);
    else if (shown[0])
        snprintf(buf, size, "%s", shown);
    else
        snprintf(buf, size, "?");
    return buf;
}

static const char *site_file_line(const mp_growth_site *g, char *buf, size_t size)
{
    return file_line(g->file, g->line, buf, size);
}

/* Said once, in place of the map growth sites, for Go's heap profiles:
 * their stacks never show Go's own map frames. */
#define GO_NO_GROWTH                                                                               \
    "\n(No map growth sites: Go's runtime/pprof cuts the runtime's frames off the\n"               \
    "allocation end of each heap stack, so what Go's maps allocate is charged to the\n"            \
    "code that called them, among the sites above. A Go heap dump shows which maps\n"              \
    "hold the memory: see GO HEAP DUMPS in maproot-analyze(1).)\n"

void mp_print_analysis_text(FILE *out, const mp_analysis *a)
{
    const mf_profile *p = a->p;
    size_t si = a->sample_index;
    const char *unit = type_unit(p, si);
    char buf[512], v1[64], v2[64];

    fprintf(out, "maproot: heap profile %s\n", a->file);
    mp_producer(p, buf, sizeof buf);
    fprintf(out, "  producer      %s\n", buf);
    format_time(buf, sizeof buf, p->time_nanos);
    fprintf(out, "  time          %s\n", buf);
    if (p->duration_nanos) {
        mp_format_value(v1, sizeof v1, p->duration_nanos, "nanoseconds", false);
        fprintf(out, "  duration      %s\n", v1);
    }
    fprintf(out, "  period        %" PRId64 " (%s/%s)\n", p->period, mf_str(p, p->period_type.type),
            mf_str(p, p->period_type.unit));
    fprintf(out, "  contents      %zu samples, %zu locations, %zu functions, %zu mappings\n",
            p->n_samples, p->n_locations, p->n_functions, p->n_mappings);
    if (p->drop_frames) fprintf(out, "  drop frames   %s\n", mf_str(p, p->drop_frames));
    for (size_t i = 0; i < p->n_comments; i++)
        fprintf(out, "  comment       %s\n", mf_str(p, p->comments[i]));
    fprintf(out, "  sample types  (totals; * is the one shown below)\n");
    static const bool left_types[] = {true, false, false};
    table tt = {3, 0, 0, left_types, NULL};
    for (size_t t = 0; t < p->n_sample_types; t++) {
        if (table_row(&tt)) break;
        int64_t tot = mp_total(p, t);
        cellf(&tt, 0, "%s %s", t == si ? "*" : " ", type_name(p, t));
        fmt_value_cell(&tt, 1, tot, type_unit(p, t), false);
        cellf(&tt, 2, "%" PRId64 " %s", tot, type_unit(p, t));
    }
    table_print(out, &tt, "    ");
    table_free(&tt);

    const mp_top *top = a->top;
    size_t shown = a->top_n && a->top_n < top->n ? a->top_n : top->n;
    mp_format_value(v1, sizeof v1, top->total, unit, false);
    fprintf(out, "\nTop %zu of %zu sites by %s (flat and cumulative, by function), total %s:\n",
            shown, top->n, type_name(p, si), v1);
    static const bool left_top[] = {false, false, false, false, false, true};
    table t = {6, 0, 0, left_top, NULL};
    static const char *const h_t[] = {"flat", "flat%", "sum%", "cum", "cum%", "function"};
    header(&t, h_t);
    int64_t sum = 0;
    for (size_t i = 0; i < shown; i++) {
        const mp_site *s = &top->sites[i];
        if (table_row(&t)) break;
        sum += s->flat;
        fmt_value_cell(&t, 0, s->flat, unit, false);
        fmt_pct_cell(&t, 1, s->flat, top->total);
        fmt_pct_cell(&t, 2, sum, top->total);
        fmt_value_cell(&t, 3, s->cum, unit, false);
        fmt_pct_cell(&t, 4, s->cum, top->total);
        cellf(&t, 5, "%s", a->ix->node_names[s->node]);
    }
    table_print(out, &t, "  ");
    table_free(&t);

    const mp_growth *g = a->growth;
    if (g->n == 0) {
        if (mp_profile_is_go(p))
            fputs(GO_NO_GROWTH, out);
        else
            fprintf(out,
                    "\nMap growth sites: none (no %s sample passes through a map "
                    "implementation)\n",
                    type_name(p, si));
        return;
    }
    mp_format_value(v1, sizeof v1, g->total, unit, false);
    mp_format_pct(v2, sizeof v2, g->total, top->total);
    fprintf(out,
            "\nMap growth sites by %s: %s (%s of the total) allocated inside map code,\n"
            "attributed to the first caller outside it:\n",
            type_name(p, si), v1, v2);
    static const bool left_g[] = {false, false, false, true, true};
    table gt = {5, 0, 0, left_g, NULL};
    static const char *const h_gt[] = {"value", "%", "samples", "site", "via"};
    header(&gt, h_gt);
    size_t gshown = a->top_n && a->top_n < g->n ? a->top_n : g->n;
    for (size_t i = 0; i < gshown; i++) {
        const mp_growth_site *s = &g->sites[i];
        if (table_row(&gt)) break;
        fmt_value_cell(&gt, 0, s->value, unit, false);
        fmt_pct_cell(&gt, 1, s->value, top->total);
        cellf(&gt, 2, "%zu", s->samples);
        cellf(&gt, 3, "%s (%s)", a->ix->node_names[s->site], site_file_line(s, buf, sizeof buf));
        cellf(&gt, 4, "%s", a->ix->node_names[s->via]);
    }
    table_print(out, &gt, "  ");
    table_free(&gt);
    if (gshown < g->n) fprintf(out, "  ... %zu more (--top 0 shows all)\n", g->n - gshown);
}

/* Adds a key to an object, stealing the value; returns -1 if anything failed. */
static int put(json_t *obj, const char *key, json_t *v)
{
    return (obj && v && json_object_set_new(obj, key, v) == 0) ? 0 : -1;
}

static json_t *value_types_json(const mf_profile *p, bool totals)
{
    json_t *arr = json_array();
    for (size_t t = 0; arr && t < p->n_sample_types; t++) {
        json_t *o = json_object();
        int bad = mp_json_set_text(o, "type", type_name(p, t)) |
                  mp_json_set_text(o, "unit", type_unit(p, t));
        if (totals) bad |= put(o, "total", json_integer(mp_total(p, t)));
        if (bad || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int dump(FILE *out, json_t *root, mf_error *err)
{
    if (!root || json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        json_decref(root);
        mf_error_set(err, "cannot write the JSON report (out of memory or output error)");
        return -1;
    }
    fputc('\n', out);
    json_decref(root);
    return 0;
}

/* Fills root with the profile analysis; NULL (root released) when out of
 * memory. */
static json_t *analysis_json(const mp_analysis *a, json_t *root)
{
    const mf_profile *p = a->p;
    size_t si = a->sample_index;
    char buf[512];
    int bad = !root;
    bad |= mp_json_set_text(root, "file", a->file);
    mp_producer(p, buf, sizeof buf);
    bad |= mp_json_set_text(root, "producer", buf);
    bad |= put(root, "time_nanos", json_integer(p->time_nanos));
    bad |= put(root, "duration_nanos", json_integer(p->duration_nanos));
    bad |= put(root, "period", json_integer(p->period));
    json_t *pt = json_object();
    bad |= mp_json_set_text(pt, "type", mf_str(p, p->period_type.type));
    bad |= mp_json_set_text(pt, "unit", mf_str(p, p->period_type.unit));
    bad |= put(root, "period_type", pt);
    json_t *counts = json_object();
    bad |= put(counts, "samples", json_integer((json_int_t)p->n_samples));
    bad |= put(counts, "locations", json_integer((json_int_t)p->n_locations));
    bad |= put(counts, "functions", json_integer((json_int_t)p->n_functions));
    bad |= put(counts, "mappings", json_integer((json_int_t)p->n_mappings));
    bad |= put(root, "counts", counts);
    /* the text rule for an array: "comments_hex" beside it when a comment
     * is not UTF-8, its hex there (null for the others) */
    json_t *comments = json_array(), *hex = json_array();
    bool lossy = false;
    for (size_t i = 0; comments && hex && i < p->n_comments; i++) {
        const char *c = mf_str(p, p->comments[i]);
        bool exact = mp_json_text_exact(c, strlen(c));
        lossy |= !exact;
        bad |= json_array_append_new(comments, mp_json_text(c)) |
               json_array_append_new(hex, exact ? json_null() : mp_json_hex(c, strlen(c)));
    }
    bad |= put(root, "comments", comments);
    if (lossy)
        bad |= put(root, "comments_hex", hex);
    else
        json_decref(hex);
    bad |= mp_json_set_text(root, "drop_frames", mf_str(p, p->drop_frames));
    bad |= put(root, "sample_types", value_types_json(p, true));
    bad |= put(root, "sample_index", json_integer((json_int_t)si));
    bad |= mp_json_set_text(root, "sample_type", type_name(p, si));
    bad |= mp_json_set_text(root, "unit", type_unit(p, si));
    bad |= put(root, "total", json_integer(a->top->total));

    const mp_top *top = a->top;
    size_t shown = a->top_n && a->top_n < top->n ? a->top_n : top->n;
    bad |= put(root, "sites_total", json_integer((json_int_t)top->n));
    json_t *arr = json_array();
    int64_t sum = 0;
    for (size_t i = 0; arr && i < shown; i++) {
        const mp_site *s = &top->sites[i];
        sum += s->flat;
        json_t *o = json_object();
        bad |= mp_json_set_text(o, "function", a->ix->node_names[s->node]);
        bad |= put(o, "flat", json_integer(s->flat));
        bad |= put(o, "flat_pct", json_real(pct(s->flat, top->total)));
        bad |= put(o, "sum_pct", json_real(pct(sum, top->total)));
        bad |= put(o, "cum", json_integer(s->cum));
        bad |= put(o, "cum_pct", json_real(pct(s->cum, top->total)));
        bad |= json_array_append_new(arr, o);
    }
    bad |= put(root, "top", arr);

    const mp_growth *g = a->growth;
    size_t gshown = a->top_n && a->top_n < g->n ? a->top_n : g->n;
    bad |= put(root, "map_growth_total", json_integer(g->total));
    bad |= put(root, "map_frames_hidden", json_boolean(mp_profile_is_go(p) && g->n == 0));
    json_t *garr = json_array();
    for (size_t i = 0; garr && i < gshown; i++) {
        const mp_growth_site *s = &g->sites[i];
        json_t *o = json_object();
        bad |= mp_json_set_text(o, "site", a->ix->node_names[s->site]);
        char shown[1024];
        bad |= mp_json_set_text(o, "file", mp_display_path(s->file, shown, sizeof shown));
        bad |= put(o, "line", json_integer(s->line));
        bad |= mp_json_set_text(o, "via", a->ix->node_names[s->via]);
        bad |= put(o, "value", json_integer(s->value));
        bad |= put(o, "pct", json_real(pct(s->value, top->total)));
        bad |= put(o, "samples", json_integer((json_int_t)s->samples));
        bad |= json_array_append_new(garr, o);
    }
    bad |= put(root, "map_growth", garr);
    if (bad) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

json_t *mp_analysis_json(const mp_analysis *a)
{
    return analysis_json(a, json_object());
}

int mp_print_analysis_json(FILE *out, const mp_analysis *a, mf_error *err)
{
    return dump(out, analysis_json(a, mp_json_report("profile_analysis")), err);
}

/* ------------------------------------------------------------------ diff --- */

/* What a diff's percentages are of: the before total, or, when that is 0
 * (an empty base), the after total, as go tool pprof -diff_base falls back
 * to the total of all samples when the base's is 0. */
static int64_t pct_total(const mp_diff *d)
{
    return d->base_total ? d->base_total : d->after_total;
}

void mp_print_diff_text(FILE *out, const mp_diff_report *r)
{
    const mp_diff *d = r->diff;
    const mf_profile *p = r->after;
    size_t si = r->sample_index;
    const char *unit = type_unit(p, si);
    char v1[64], v2[64];

    fprintf(out, "maproot: heap profile diff of %s, after minus before\n", type_name(p, si));
    mp_format_value(v1, sizeof v1, d->base_total, unit, false);
    fprintf(out, "  before   %s  total %s (%" PRId64 " %s)\n", r->before_file, v1, d->base_total,
            unit);
    mp_format_value(v1, sizeof v1, d->after_total, unit, false);
    fprintf(out, "  after    %s  total %s (%" PRId64 " %s)\n", r->after_file, v1, d->after_total,
            unit);
    mp_format_value(v1, sizeof v1, d->delta, unit, true);
    mp_format_pct(v2, sizeof v2, d->delta, pct_total(d));
    const char *of = d->base_total ? "the before total" : "the after total (the before total is 0)";
    fprintf(out, "  change   %s (%+" PRId64 " %s), %s of %s\n", v1, d->delta, unit, v2, of);

    size_t shown = r->top_n && r->top_n < d->n ? r->top_n : d->n;
    fprintf(out, "\nTop %zu of %zu sites by change (growth first); %% of %s:\n", shown, d->n, of);
    static const bool left[] = {false, false, false, false, false, false, true};
    table t = {7, 0, 0, left, NULL};
    static const char *const h_t[] = {"flat",        "flat%",      "cum",     "cum%",
                                      "flat before", "flat after", "function"};
    header(&t, h_t);
    for (size_t i = 0; i < shown; i++) {
        const mp_diff_site *s = &d->sites[i];
        if (table_row(&t)) break;
        int64_t df = s->flat_after - s->flat_before, dc = s->cum_after - s->cum_before;
        fmt_value_cell(&t, 0, df, unit, true);
        fmt_pct_cell(&t, 1, df, pct_total(d));
        fmt_value_cell(&t, 2, dc, unit, true);
        fmt_pct_cell(&t, 3, dc, pct_total(d));
        fmt_value_cell(&t, 4, s->flat_before, unit, false);
        fmt_value_cell(&t, 5, s->flat_after, unit, false);
        cellf(&t, 6, "%s", s->name);
    }
    table_print(out, &t, "  ");
    table_free(&t);

    if (d->n_growth == 0) {
        if (mp_profile_is_go(r->before) && mp_profile_is_go(r->after))
            fputs(GO_NO_GROWTH, out);
        else
            fprintf(out, "\nMap growth sites: none in either profile\n");
        return;
    }
    fprintf(out, "\nMap growth sites by change (first caller outside the map implementation):\n");
    static const bool gleft[] = {false, false, false, false, true, true};
    table gt = {6, 0, 0, gleft, NULL};
    static const char *const h_gt[] = {"change", "%", "before", "after", "site", "via"};
    header(&gt, h_gt);
    size_t gshown = r->top_n && r->top_n < d->n_growth ? r->top_n : d->n_growth;
    for (size_t i = 0; i < gshown; i++) {
        const mp_diff_growth *g = &d->growth[i];
        if (table_row(&gt)) break;
        fmt_value_cell(&gt, 0, g->after - g->before, unit, true);
        fmt_pct_cell(&gt, 1, g->after - g->before, pct_total(d));
        fmt_value_cell(&gt, 2, g->before, unit, false);
        fmt_value_cell(&gt, 3, g->after, unit, false);
        char where[512];
        cellf(&gt, 4, "%s (%s)", g->site, file_line(g->file, g->line, where, sizeof where));
        cellf(&gt, 5, "%s", g->via);
    }
    table_print(out, &gt, "  ");
    table_free(&gt);
}

int mp_print_diff_json(FILE *out, const mp_diff_report *r, mf_error *err)
{
    const mp_diff *d = r->diff;
    const mf_profile *p = r->after;
    size_t si = r->sample_index;
    json_t *root = mp_json_report("profile_diff");
    int bad = !root;
    bad |= mp_json_set_text(root, "before", r->before_file);
    bad |= mp_json_set_text(root, "after", r->after_file);
    bad |= put(root, "sample_types", value_types_json(p, false));
    bad |= put(root, "sample_index", json_integer((json_int_t)si));
    bad |= mp_json_set_text(root, "sample_type", type_name(p, si));
    bad |= mp_json_set_text(root, "unit", type_unit(p, si));
    bad |= put(root, "base_total", json_integer(d->base_total));
    bad |= put(root, "after_total", json_integer(d->after_total));
    bad |= put(root, "delta", json_integer(d->delta));
    bad |= put(root, "delta_pct", json_real(pct(d->delta, pct_total(d))));
    size_t shown = r->top_n && r->top_n < d->n ? r->top_n : d->n;
    bad |= put(root, "sites_total", json_integer((json_int_t)d->n));
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < shown; i++) {
        const mp_diff_site *s = &d->sites[i];
        json_t *o = json_object();
        bad |= mp_json_set_text(o, "function", s->name);
        bad |= put(o, "flat_before", json_integer(s->flat_before));
        bad |= put(o, "flat_after", json_integer(s->flat_after));
        bad |= put(o, "flat_delta", json_integer(s->flat_after - s->flat_before));
        bad |=
            put(o, "flat_delta_pct", json_real(pct(s->flat_after - s->flat_before, pct_total(d))));
        bad |= put(o, "cum_before", json_integer(s->cum_before));
        bad |= put(o, "cum_after", json_integer(s->cum_after));
        bad |= put(o, "cum_delta", json_integer(s->cum_after - s->cum_before));
        bad |= put(o, "cum_delta_pct", json_real(pct(s->cum_after - s->cum_before, pct_total(d))));
        bad |= json_array_append_new(arr, o);
    }
    bad |= put(root, "sites", arr);
    bad |= put(root, "map_frames_hidden",
               json_boolean(d->n_growth == 0 && mp_profile_is_go(r->before) &&
                            mp_profile_is_go(r->after)));
    json_t *garr = json_array();
    size_t gshown = r->top_n && r->top_n < d->n_growth ? r->top_n : d->n_growth;
    for (size_t i = 0; garr && i < gshown; i++) {
        const mp_diff_growth *g = &d->growth[i];
        json_t *o = json_object();
        bad |= mp_json_set_text(o, "site", g->site);
        char shown[1024];
        bad |= mp_json_set_text(o, "file", mp_display_path(g->file, shown, sizeof shown));
        bad |= put(o, "line", json_integer(g->line));
        bad |= mp_json_set_text(o, "via", g->via);
        bad |= put(o, "before", json_integer(g->before));
        bad |= put(o, "after", json_integer(g->after));
        bad |= put(o, "delta", json_integer(g->after - g->before));
        bad |= json_array_append_new(garr, o);
    }
    bad |= put(root, "map_growth", garr);
    if (bad) {
        json_decref(root);
        root = NULL;
    }
    return dump(out, root, err);
}
