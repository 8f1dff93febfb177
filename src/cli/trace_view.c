/* src/cli/trace_view.c -- see trace_view.h. */
#include "cli/trace_view.h"

#include "analyze/display_path.h"
#include "analyze/json_text.h"
#include "analyze/report.h"
#include "format/names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Collections kept for the timeline and the pause figures. */
#define MAX_GCS 1000000
/* Counts kept per map for the timeline. */
#define MAX_SAMPLES 100000

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Replaces *slot with a copy of s unless it already says that. */
static int set_str(char **slot, const char *s)
{
    if (*slot && strcmp(*slot, s ? s : "") == 0) return 0;
    char *c = dup_or_empty(s);
    if (!c) return -1;
    free(*slot);
    *slot = c;
    return 0;
}

int tv_init(trace_view *v, const mf_at_welcome *w, int64_t now_ns)
{
    memset(v, 0, sizeof *v);
    v->program = dup_or_empty(w->program);
    v->args = dup_or_empty(w->args);
    if (!v->program || !v->args) return -1;
    v->pid = w->pid;
    v->attach_ns = now_ns;
    v->cycle_at_attach = v->cycle = w->gc_cycle;
    v->live_at_attach = v->live_bytes = w->live_bytes;
    v->live_objects = w->live_objects;
    v->next_gc = w->next_gc;
    v->last_gc_ns = w->last_gc_ns;
    v->profile_rate = w->profile_rate;
    v->roots_state = "";
    return 0;
}

void tv_free(trace_view *v)
{
    free(v->program);
    free(v->args);
    free(v->gcs);
    for (size_t i = 0; i < v->nmaps; i++) {
        tv_map *m = &v->maps[i];
        free(m->type);
        free(m->growth_op);
        free(m->growth_function);
        free(m->growth_file);
        free(m->samples);
    }
    free(v->maps);
    for (size_t i = 0; i < v->nroots; i++) free(v->roots[i].root);
    free(v->roots);
    memset(v, 0, sizeof *v);
}

/* The map with this id, added (zeroed but for the id) if new; NULL when
 * out of memory. Keeps v->maps sorted by id. */
static tv_map *map_by_id(trace_view *v, uint64_t id)
{
    size_t lo = 0, hi = v->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->maps[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < v->nmaps && v->maps[lo].id == id) return &v->maps[lo];
    if (v->nmaps == v->capmaps) {
        size_t cap = v->capmaps ? v->capmaps * 2 : 64;
        tv_map *n = realloc(v->maps, cap * sizeof *n);
        if (!n) return NULL;
        v->maps = n;
        v->capmaps = cap;
    }
    memmove(&v->maps[lo + 1], &v->maps[lo], (v->nmaps - lo) * sizeof *v->maps);
    v->nmaps++;
    memset(&v->maps[lo], 0, sizeof v->maps[lo]);
    v->maps[lo].id = id;
    return &v->maps[lo];
}

static int add_sample(tv_map *m, int64_t t, uint64_t count)
{
    if (m->nsamples == MAX_SAMPLES) return 0;
    if (m->nsamples == m->capsamples) {
        size_t cap = m->capsamples ? m->capsamples * 2 : 16;
        tv_sample *s = realloc(m->samples, cap * sizeof *s);
        if (!s) return -1;
        m->samples = s;
        m->capsamples = cap;
    }
    m->samples[m->nsamples++] = (tv_sample){t, count};
    return 0;
}

int tv_on_cycle(trace_view *v, const mf_at_cycle *c)
{
    v->have_cycle = true;
    v->cycle = c->gc_cycle;
    v->last_gc_ns = c->end_ns;
    v->live_bytes = c->live_bytes;
    v->live_objects = c->live_objects;
    v->next_gc = c->next_gc;
    v->profile_rate = c->profile_rate;
    v->dropped += c->dropped;
    if (v->ngcs < MAX_GCS) {
        if (v->ngcs == v->capgcs) {
            size_t cap = v->capgcs ? v->capgcs * 2 : 256;
            tv_gc *g = realloc(v->gcs, cap * sizeof *g);
            if (!g) return -1;
            v->gcs = g;
            v->capgcs = cap;
        }
        v->gcs[v->ngcs++] = (tv_gc){.end_ns = c->end_ns,
                                    .pause_ns = c->pause_ns,
                                    .live_bytes = c->live_bytes,
                                    .next_gc = c->next_gc,
                                    .garbage_bytes = c->garbage_bytes,
                                    .agent_ns = c->agent_ns,
                                    .cycle = c->gc_cycle};
    } else {
        v->gcs_truncated = true;
    }
    if (!c->census) return 0;
    v->census_seen = true;
    v->maps_total = c->maps_total;
    v->entries_total = c->entries_total;
    v->omitted = c->maps_omitted;
    for (size_t i = 0; i < c->nmaps; i++) {
        const mf_at_map *r = &c->maps[i];
        tv_map *m = map_by_id(v, r->id);
        if (!m) return -1;
        m->address = r->address;
        m->count = r->count;
        m->first_count = r->first_count;
        m->first_cycle = r->first_cycle;
        m->b = r->b;
        m->noverflow = r->noverflow;
        m->bucket_size = r->bucket_size;
        m->lists_bytes = r->lists_bytes;
        m->growing = r->growing;
        m->gone = r->gone;
        /* the agent names a site once its symbolizer has: until then a
         * record has the pc alone, and the name known for it stays */
        bool named = r->growth_function[0] || r->growth_file[0];
        if (named || r->growth_pc != m->growth_pc) {
            m->growth_line = r->growth_line;
            if (set_str(&m->growth_function, r->growth_function) ||
                set_str(&m->growth_file, r->growth_file))
                return -1;
        }
        m->growth_pc = r->growth_pc;
        if (set_str(&m->type, r->type) || set_str(&m->growth_op, r->growth_op) ||
            add_sample(m, c->end_ns, r->count))
            return -1;
    }
    return 0;
}

static int by_address(const void *a, const void *b)
{
    const tv_root *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

void tv_set_roots(trace_view *v, tv_root *roots, size_t n, uint32_t cycle)
{
    for (size_t i = 0; i < v->nroots; i++) free(v->roots[i].root);
    free(v->roots);
    qsort(roots, n, sizeof *roots, by_address);
    v->roots = roots;
    v->nroots = n;
    v->roots_cycle = cycle;
    v->roots_failed = false;
}

const tv_root *tv_root_of(const trace_view *v, const tv_map *m)
{
    if (!v->roots_cycle || m->first_cycle > v->roots_cycle) return NULL;
    tv_root key = {.address = m->address};
    return bsearch(&key, v->roots, v->nroots, sizeof *v->roots, by_address);
}

static int64_t change_of(const tv_map *m)
{
    return (int64_t)m->count - (int64_t)m->first_count;
}

static const trace_view *rank_view; /* qsort has no context argument */

static int by_growth(const void *a, const void *b)
{
    const tv_map *x = &rank_view->maps[*(const size_t *)a],
                 *y = &rank_view->maps[*(const size_t *)b];
    int64_t cx = change_of(x), cy = change_of(y);
    if (cx != cy) return cx > cy ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

size_t tv_ranked(const trace_view *v, size_t max, size_t **out)
{
    *out = malloc((v->nmaps ? v->nmaps : 1) * sizeof **out);
    if (!*out) return 0;
    size_t n = 0;
    for (size_t i = 0; i < v->nmaps; i++)
        if (!v->maps[i].gone && change_of(&v->maps[i]) > 0) (*out)[n++] = i;
    rank_view = v;
    qsort(*out, n, sizeof **out, by_growth);
    return max && n > max ? max : n;
}

/* ------------------------------------------------------------ figures --- */

static double elapsed_s(const trace_view *v, const tv_render *r)
{
    double s = (double)(r->now_ns - v->attach_ns) / 1e9;
    return s > 0.001 ? s : 0.001;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of the pauses seen since attaching. */
static uint64_t pause_pct(const trace_view *v, double p)
{
    if (!v->ngcs) return 0;
    uint64_t *a = malloc(v->ngcs * sizeof *a);
    if (!a) return 0;
    for (size_t i = 0; i < v->ngcs; i++) a[i] = v->gcs[i].pause_ns;
    qsort(a, v->ngcs, sizeof *a, cmp_u64);
    size_t k = (size_t)(p / 100.0 * (double)(v->ngcs - 1) + 0.5);
    uint64_t r = a[k < v->ngcs ? k : v->ngcs - 1];
    free(a);
    return r;
}

/* The bytes of a map's table: its buckets and overflow buckets, the old
 * array while it grows, and the lists that keep the overflow buckets of a
 * map without pointers (as a snapshot's analysis counts a table). */
static uint64_t table_bytes(const tv_map *m)
{
    uint64_t buckets = (m->b < 63 ? (uint64_t)1 << m->b : 0) + m->noverflow;
    if (m->growing && m->b > 0) buckets += (uint64_t)1 << (m->b - 1);
    return buckets * m->bucket_size + m->lists_bytes;
}

/* What a map retains now, estimated from the snapshot: the bytes per entry
 * then times its entries now. Sets *exact when nothing changed since. */
static bool retained_now(const tv_map *m, const tv_root *rt, uint64_t *out, bool *exact)
{
    if (!rt) return false;
    *exact = rt->entries == m->count;
    if (*exact || !rt->entries) {
        *out = rt->retained;
        return true;
    }
    *out = (uint64_t)((double)rt->retained / (double)rt->entries * (double)m->count);
    return true;
}

/* 1234567 -> "1,234,567"; with sign "+1,234" / "-5" */
static void fmt_int(char *buf, size_t cap, int64_t v, bool sign)
{
    char digits[32];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = snprintf(digits, sizeof digits, "%" PRIu64, u);
    char tmp[48];
    size_t k = 0;
    if (v < 0)
        tmp[k++] = '-';
    else if (sign)
        tmp[k++] = '+';
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) tmp[k++] = ',';
        tmp[k++] = digits[i];
    }
    tmp[k] = 0;
    snprintf(buf, cap, "%s", tmp);
}

static void fmt_clock(char *buf, size_t cap, double secs)
{
    uint64_t s = secs > 0 ? (uint64_t)secs : 0;
    if (s >= 3600)
        snprintf(buf, cap, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, cap, "%02" PRIu64 ":%02" PRIu64, s / 60, s % 60);
}

/* "lookup_or_login (examples/sessiond.c:74)" */
static void fmt_site(char *buf, size_t cap, const tv_map *m)
{
    if (!m->growth_function[0] && !m->growth_file[0]) {
        if (m->growth_pc)
            snprintf(buf, cap, "0x%" PRIx64 " (not named yet)", m->growth_pc);
        else
            snprintf(buf, cap, "(unknown)");
        return;
    }
    char path[1024];
    const char *file = m->growth_file[0] ? mp_display_path(m->growth_file, path, sizeof path) : "";
    if (file[0] && m->growth_line)
        snprintf(buf, cap, "%s (%s:%" PRId64 ")", m->growth_function[0] ? m->growth_function : "?",
                 file, m->growth_line);
    else if (file[0])
        snprintf(buf, cap, "%s (%s)", m->growth_function, file);
    else
        snprintf(buf, cap, "%s", m->growth_function);
}

/* Is the view waiting for a collection: none since attaching, or none for
 * two intervals? *secs: since the last one (-1: the program never
 * collected). */
static bool waiting(const trace_view *v, const tv_render *r, double *secs)
{
    *secs = v->last_gc_ns ? (double)(r->now_ns - v->last_gc_ns) / 1e9 : -1;
    return !v->have_cycle || *secs > 2.0 * r->interval_ms / 1000.0;
}

/* --------------------------------------------------------------- text --- */

void tv_print_text(FILE *out, const trace_view *v, const tv_render *r)
{
    double el = elapsed_s(v, r);
    char t[32], iv[32], c1[48], c2[48], c3[48];
    fmt_clock(t, sizeof t, el);
    if (r->interval_ms % 1000 == 0)
        snprintf(iv, sizeof iv, "%" PRIu32 "s", r->interval_ms / 1000);
    else
        snprintf(iv, sizeof iv, "%" PRIu32 "ms", r->interval_ms);
    fprintf(out,
            "maproot trace: %s (pid %" PRIu64 "), attached %s, interval %s, cycle %" PRIu32
            " (+%" PRIu32 ")\n",
            mf_path_base(v->program), v->pid, t, iv, v->cycle, v->cycle - v->cycle_at_attach);
    int64_t dh = (int64_t)v->live_bytes - (int64_t)v->live_at_attach;
    mp_format_value(c1, sizeof c1, (int64_t)v->live_bytes, "bytes", false);
    mp_format_value(c2, sizeof c2, dh, "bytes", true);
    mp_format_value(c3, sizeof c3, (int64_t)((double)dh / el), "bytes", true);
    fprintf(out, "  heap %s (%s since attach, %s/s)", c1, c2, c3);
    if (v->ngcs) {
        char p99[32];
        mp_format_value(p99, sizeof p99, (int64_t)pause_pct(v, 99), "nanoseconds", false);
        fprintf(out, "   GC %.1f/s, pause p99 %s", (double)(v->cycle - v->cycle_at_attach) / el,
                p99);
    }
    fputc('\n', out);
    double since;
    if (waiting(v, r, &since)) {
        if (since < 0)
            fprintf(out,
                    "  waiting for the program's first collection (--force-gc collects now)\n");
        else if (!v->have_cycle)
            fprintf(out,
                    "  waiting for the program's next collection (none since attaching, the last "
                    "%.0fs ago; --force-gc collects now)\n",
                    since);
        else
            fprintf(out,
                    "  waiting for the program's next collection (none for %.0fs; --force-gc "
                    "collects now)\n",
                    since);
    }
    size_t *rank;
    size_t n = tv_ranked(v, r->top, &rank);
    fmt_int(c1, sizeof c1, (int64_t)v->maps_total, false);
    fmt_int(c2, sizeof c2, (int64_t)v->entries_total, false);
    fprintf(out, "\n  GROWING MAPS since attach (%s maps, %s entries in all)\n", c1, c2);
    if (!n) {
        fprintf(out, "  no map has grown since attaching\n");
    } else {
        fprintf(out, "  %11s %11s %8s %11s   %-22s %s\n", "entries", "change", "per s", "retained",
                "type", "root");
        for (size_t i = 0; i < n; i++) {
            const tv_map *m = &v->maps[rank[i]];
            const tv_root *rt = tv_root_of(v, m);
            char e[32], ch[32], ps[32], ret[48] = "?";
            fmt_int(e, sizeof e, (int64_t)m->count, false);
            fmt_int(ch, sizeof ch, change_of(m), true);
            fmt_int(ps, sizeof ps, (int64_t)((double)change_of(m) / el), true);
            uint64_t rb;
            bool exact;
            if (retained_now(m, rt, &rb, &exact)) {
                char b[40];
                mp_format_value(b, sizeof b, (int64_t)rb, "bytes", false);
                snprintf(ret, sizeof ret, "%s%s", exact ? "" : "~", b);
            }
            char root[600];
            if (rt)
                snprintf(root, sizeof root, "%s", rt->root);
            else if (v->roots_cycle && m->first_cycle > v->roots_cycle)
                snprintf(root, sizeof root, "(made after the snapshot of cycle %" PRIu32 ")",
                         v->roots_cycle);
            else
                snprintf(root, sizeof root, "%s",
                         v->roots_cycle    ? "?"
                         : v->roots_failed ? "(no snapshot: the program could not take it)"
                                           : "(waiting for a snapshot)");
            fprintf(out, "  %11s %11s %8s %11s   %-22s %s\n", e, ch, ps, ret, m->type, root);
        }
        const tv_map *top = &v->maps[rank[0]];
        char site[1200];
        fmt_site(site, sizeof site, top);
        fprintf(out, "  last growth: %s%s%s\n", site, top->growth_op[0] ? " via " : "",
                top->growth_op);
    }
    free(rank);
    if (v->roots_state[0]) fprintf(out, "  roots: %s\n", v->roots_state);
    if (v->dropped)
        fprintf(out, "  (%" PRIu64 " events dropped by the program: maproot fell behind)\n",
                v->dropped);
    if (v->omitted)
        fprintf(out, "  (%" PRIu32 " changed maps wait for the next census)\n", v->omitted);
    if (r->note) fprintf(out, "  %s\n", r->note);
    if (r->keys) {
        if (r->out_dir)
            fprintf(out, "  q quit   d snapshot now   Ctrl-C detach (writes first/last to %s)\n",
                    r->out_dir);
        else
            fprintf(out, "  q quit   d snapshot now   Ctrl-C detach\n");
    }
}

/* --------------------------------------------------------------- json --- */

static json_t *map_json(const trace_view *v, const tv_map *m, double el)
{
    const tv_root *rt = tv_root_of(v, m);
    char addr[32];
    snprintf(addr, sizeof addr, "0x%" PRIx64, m->address);
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "id", json_integer((json_int_t)m->id));
    json_object_set_new(o, "address", json_string(addr));
    json_object_set_new(o, "type", mp_json_text(m->type));
    json_object_set_new(o, "root", rt ? mp_json_text(rt->root) : json_null());
    json_object_set_new(o, "entries", json_integer((json_int_t)m->count));
    json_object_set_new(o, "entries_at_attach", json_integer((json_int_t)m->first_count));
    json_object_set_new(o, "change", json_integer(change_of(m)));
    json_object_set_new(o, "per_s", json_real((double)change_of(m) / el));
    uint64_t rb;
    bool exact;
    if (retained_now(m, rt, &rb, &exact)) {
        json_object_set_new(o, "retained_bytes_estimate", json_integer((json_int_t)rb));
        json_object_set_new(o, "retained_bytes_at_snapshot",
                            json_integer((json_int_t)rt->retained));
        json_object_set_new(o, "entries_at_snapshot", json_integer((json_int_t)rt->entries));
    } else {
        json_object_set_new(o, "retained_bytes_estimate", json_null());
    }
    json_object_set_new(o, "table_bytes", json_integer((json_int_t)table_bytes(m)));
    json_object_set_new(o, "B", json_integer(m->b));
    json_object_set_new(o, "overflow_buckets", json_integer(m->noverflow));
    json_object_set_new(o, "growing", json_boolean(m->growing));
    json_t *g = json_object();
    if (g) {
        json_object_set_new(g, "function", mp_json_text(m->growth_function));
        json_object_set_new(g, "file", mp_json_text(m->growth_file));
        json_object_set_new(g, "line", json_integer(m->growth_line));
        json_object_set_new(g, "op", mp_json_text(m->growth_op));
        char pc[32];
        snprintf(pc, sizeof pc, "0x%" PRIx64, m->growth_pc);
        json_object_set_new(g, "pc", json_string(pc));
        json_object_set_new(o, "last_growth", g);
    }
    return o;
}

json_t *tv_record_json(const trace_view *v, const tv_render *r, const char *event)
{
    double el = elapsed_s(v, r);
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "time_ns", json_integer(r->now_ns));
    json_object_set_new(o, "elapsed_s", json_real((double)(r->now_ns - v->attach_ns) / 1e9));
    json_object_set_new(o, "program", mp_json_text(v->program));
    json_object_set_new(o, "pid", json_integer((json_int_t)v->pid));
    json_object_set_new(o, "cycle", json_integer(v->cycle));
    json_object_set_new(o, "cycles_since_attach", json_integer(v->cycle - v->cycle_at_attach));
    json_object_set_new(o, "heap_bytes", json_integer((json_int_t)v->live_bytes));
    int64_t dh = (int64_t)v->live_bytes - (int64_t)v->live_at_attach;
    json_object_set_new(o, "heap_change_bytes", json_integer(dh));
    json_object_set_new(o, "heap_bytes_per_s", json_real((double)dh / el));
    json_object_set_new(o, "heap_goal_bytes", json_integer((json_int_t)v->next_gc));
    json_object_set_new(o, "profile_rate", json_integer((json_int_t)v->profile_rate));
    json_object_set_new(o, "gc_per_s", json_real((double)(v->cycle - v->cycle_at_attach) / el));
    json_object_set_new(o, "pause_p99_ns", json_integer((json_int_t)pause_pct(v, 99)));
    json_object_set_new(o, "pause_max_ns", json_integer((json_int_t)pause_pct(v, 100)));
    /* what the agent's work added to the program's pauses: in the last
     * interval, and at most in one collection since attaching */
    uint64_t agent_last = 0, agent_max = 0;
    int64_t window = r->now_ns - (int64_t)r->interval_ms * 1000000;
    for (size_t i = 0; i < v->ngcs; i++) {
        if (v->gcs[i].end_ns >= window) agent_last += v->gcs[i].agent_ns;
        if (v->gcs[i].agent_ns > agent_max) agent_max = v->gcs[i].agent_ns;
    }
    json_object_set_new(o, "agent_pause_last_interval_ns", json_integer((json_int_t)agent_last));
    json_object_set_new(o, "agent_pause_max_ns", json_integer((json_int_t)agent_max));
    double since;
    bool w = waiting(v, r, &since);
    json_object_set_new(o, "waiting_for_gc", json_boolean(w));
    json_object_set_new(o, "seconds_since_gc", since >= 0 ? json_real(since) : json_null());
    json_object_set_new(o, "dropped_events", json_integer((json_int_t)v->dropped));
    json_object_set_new(o, "maps_total", json_integer((json_int_t)v->maps_total));
    json_object_set_new(o, "entries_total", json_integer((json_int_t)v->entries_total));
    json_object_set_new(o, "roots_cycle",
                        v->roots_cycle ? json_integer(v->roots_cycle) : json_null());
    json_t *maps = json_array();
    size_t *rank;
    size_t n = tv_ranked(v, r->top, &rank);
    for (size_t i = 0; maps && i < n; i++) {
        json_t *m = map_json(v, &v->maps[rank[i]], el);
        if (m) json_array_append_new(maps, m);
    }
    free(rank);
    json_object_set_new(o, "maps", maps ? maps : json_null());
    return o;
}
