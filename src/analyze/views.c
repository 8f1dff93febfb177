/*
 * src/analyze/views.c -- objects by type and the dominator tree; see
 * views.h.
 */
#include "analyze/views.h"

#include "analyze/json_text.h"
#include "analyze/parallel.h"
#include "analyze/report.h"
#include "format/names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- helpers --- */

static void fmt_bytes(char *buf, size_t size, uint64_t v)
{
    mp_format_value(buf, size, (int64_t)v, "bytes", false);
}

/* Thousands separators, as people read counts. */
void mp_format_count(char *buf, size_t size, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    size_t j = 0;
    for (int i = 0; i < n && j + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = 0;
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *type_name(const mp_graph *g, uint32_t t)
{
    if (t == MP_NONE || t >= g->ntypes) return "(no type)";
    const char *s = mp_str(g, g->types[t].name);
    return *s ? s : "?";
}

void mp_view_header(FILE *out, const mp_graph *g, uint64_t reachable_bytes,
                    uint64_t reachable_objects, double seconds)
{
    char b[64], c[32], r[32], e[32];
    fmt_bytes(b, sizeof b, reachable_bytes);
    mp_format_count(c, sizeof c, reachable_objects);
    const char *prog = mp_str(g, g->info.program), *rt = mp_str(g, g->info.runtime);
    fprintf(out, "maproot: %s", *prog ? mf_path_base(prog) : "?");
    if (g->info.pid) fprintf(out, " (pid %" PRIu64 ")", g->info.pid);
    if (*rt) fprintf(out, ", %s", rt);
    fprintf(out, ", GC cycle %u, heap %s in %s objects\n", g->info.gc_cycle, b, c);
    const char *what = strcmp(g->info.format, "godump") == 0 ? "Go heap dump" : "snapshot";
    mp_format_count(r, sizeof r, g->nroots);
    mp_format_count(e, sizeof e, g->nedges);
    fprintf(out, "  %s %s\n  %s root%s, %s edges; analysed in %.2fs\n\n", what, g->info.name, r,
            g->nroots == 1 ? "" : "s", e, seconds);
}

void mp_view_json_header(json_t *j, const mp_graph *g, uint64_t reachable_bytes,
                         uint64_t reachable_objects)
{
    json_object_set_new(j, "snapshot", mp_json_text(g->info.name));
    json_object_set_new(j, "format", json_string(g->info.format));
    json_object_set_new(j, "program", mp_json_text(mp_str(g, g->info.program)));
    json_object_set_new(j, "pid", json_integer((json_int_t)g->info.pid));
    json_object_set_new(j, "gc_cycle", json_integer(g->info.gc_cycle));
    json_object_set_new(j, "heap",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "objects", (json_int_t)g->nobjects,
                                  "bytes", (json_int_t)g->total_bytes, "reachable_objects",
                                  (json_int_t)reachable_objects, "reachable_bytes",
                                  (json_int_t)reachable_bytes, "edges", (json_int_t)g->nedges));
}

static const char *step_kind(uint8_t k)
{
    static const char *const names[] = {"root",     "object", "map",   "bucket",
                                        "overflow", "slot",   "elided"};
    return k < sizeof names / sizeof *names ? names[k] : "?";
}

json_t *mp_chain_json(const mp_graph *g, const mp_step *s, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char t[512];
        mp_step_text(g, &s[i], t, sizeof t);
        json_t *j = json_object();
        json_object_set_new(j, "kind", json_string(step_kind(s[i].kind)));
        json_object_set_new(j, "text", mp_json_text(t));
        if (s[i].kind == MP_STEP_OBJECT || s[i].kind == MP_STEP_MAP ||
            s[i].kind == MP_STEP_BUCKET || s[i].kind == MP_STEP_OVERFLOW) {
            if (s[i].a < g->nobjects) {
                json_object_set_new(j, "address", json_integer((json_int_t)mp_obj_addr(g, s[i].a)));
                json_object_set_new(j, "type", mp_json_text(mp_graph_type_name(g, s[i].a)));
            }
        }
        if (s[i].kind == MP_STEP_ROOT && s[i].a < g->nroots) {
            json_object_set_new(j, "root_kind",
                                json_string(mp_root_kind_name(g->roots[s[i].a].kind)));
        }
        json_array_append_new(arr, j);
    }
    return arr;
}

int mp_chain_length_json(json_t *obj, const mp_step *s, size_t n)
{
    return json_object_set_new(obj, "chain_steps",
                               json_integer((json_int_t)mp_chain_length(s, n))) |
           json_object_set_new(obj, "chain_elided",
                               json_integer((json_int_t)mp_chain_elided(s, n)));
}

/* A chain on one line, its steps joined by arrows. */
static void print_chain(FILE *out, const mp_graph *g, const mp_step *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char t[512];
        mp_step_text(g, &s[i], t, sizeof t);
        fprintf(out, "%s%s", i ? " -> " : "", t);
    }
}

/* ------------------------------------------------------ histogram --- */

static const mp_graph *hist_g_;
static int cmp_row(const void *a, const void *b)
{
    const mp_type_row *x = a, *y = b;
    if (x->retained != y->retained) return x->retained > y->retained ? -1 : 1;
    if (x->shallow != y->shallow) return x->shallow > y->shallow ? -1 : 1;
    int c = strcmp(type_name(hist_g_, x->type), type_name(hist_g_, y->type));
    if (c) return c;
    return x->type < y->type ? -1 : x->type > y->type;
}

static uint32_t *array32(size_t n)
{
    return malloc((n ? n : 1) * sizeof(uint32_t));
}

static int cmp_type_name(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    mp_sid nx = hist_g_->types[x].name, ny = hist_g_->types[y].name;
    if (nx != ny) return nx < ny ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* A row per type name: two type records of one name (two modules that
 * each declare a Node) are one type to a reader, as to maproot path
 * --type. Returns cls[t] = the first type record of t's name (names are
 * interned: one name, one string id), NULL when out of memory. */
static uint32_t *type_classes(const mp_graph *g)
{
    uint32_t *ix = array32(g->ntypes), *cls = array32(g->ntypes);
    if (!ix || !cls) {
        free(ix), free(cls);
        return NULL;
    }
    for (size_t t = 0; t < g->ntypes; t++) ix[t] = (uint32_t)t;
    hist_g_ = g;
    if (g->ntypes > 1) qsort(ix, g->ntypes, sizeof *ix, cmp_type_name);
    hist_g_ = NULL;
    for (size_t i = 0; i < g->ntypes; i++)
        cls[ix[i]] = i > 0 && g->types[ix[i]].name == g->types[ix[i - 1]].name ? cls[ix[i - 1]]
                                                                               : ix[i];
    free(ix);
    return cls;
}

/*
 * The retained bytes of each type need to know, for each object, whether
 * an object of its own type dominates it. In the dominator tree's preorder
 * a subtree is an interval [pre(v), pre(v) + size(v)); walking that order
 * with, per type, the end of the last interval of that type not inside
 * another, an object inside such an interval is covered, and one outside
 * starts a new interval and adds its retained bytes. The preorder numbers
 * come from the subtree sizes without a traversal: the topological order
 * the dominator computation gives (every node after its idom) places each
 * node at its parent's cursor, which then moves on by the node's size.
 */
int mp_histogram_compute(const mp_graph *g, const mp_dom *d, mp_histogram *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    size_t N = d->nnodes, n = g->nobjects, np = d->npreorder, nt = g->ntypes + 1;
    uint32_t *size = array32(N), *end = array32(N), *order = NULL, *cls = type_classes(g);
    mp_type_row *rows = calloc(nt, sizeof *rows);
    uint32_t *cover = calloc(nt, sizeof *cover);
    if (!size || !end || !rows || !cover || !cls) goto oom;
    /* subtree sizes, children first */
    for (size_t i = 0; i < np; i++) size[d->preorder[i]] = 1;
    for (size_t i = np; i-- > 1;) size[d->idom[d->preorder[i]]] += size[d->preorder[i]];
    /* end[v] = pre(v) + size(v), by the moving cursors */
    end[d->preorder[0]] = 1;
    for (size_t i = 1; i < np; i++) {
        uint32_t v = d->preorder[i], p = d->idom[v];
        uint32_t pre = end[p];
        end[p] += size[v];
        end[v] = pre + 1;
    }
    order = array32(np);
    if (!order) goto oom;
    for (size_t i = 0; i < np; i++) {
        uint32_t v = d->preorder[i];
        order[end[v] - size[v]] = v;
    }
    free(size), size = NULL;
    for (size_t k = 0; k < np; k++) {
        uint32_t v = order[k];
        if (v >= n) continue;
        uint32_t t = g->type[v] < g->ntypes ? cls[g->type[v]] : (uint32_t)g->ntypes;
        mp_type_row *r = &rows[t];
        r->count++;
        r->shallow += mp_obj_size(g, v);
        out->objects++;
        out->bytes += mp_obj_size(g, v);
        if (k < cover[t]) continue; /* inside a subtree of its own type */
        r->retained += d->retained[v];
        cover[t] = end[v];
    }
    size_t k = 0;
    for (size_t t = 0; t < nt; t++) {
        if (!rows[t].count) continue;
        rows[k] = rows[t];
        rows[k].type = t < g->ntypes ? (uint32_t)t : MP_NONE;
        k++;
    }
    hist_g_ = g;
    if (k > 1) qsort(rows, k, sizeof *rows, cmp_row);
    hist_g_ = NULL;
    out->rows = rows;
    out->nrows = k;
    free(end);
    free(order);
    free(cover);
    free(cls);
    return 0;
oom:
    free(size);
    free(end);
    free(order);
    free(rows);
    free(cover);
    free(cls);
    mf_error_set(err, "%s: out of memory counting objects by type", g->info.name);
    return -1;
}

void mp_histogram_free(mp_histogram *h)
{
    free(h->rows);
    memset(h, 0, sizeof *h);
}

void mp_histogram_print_text(FILE *out, const mp_graph *g, const mp_histogram *h, size_t top)
{
    size_t show = top && top < h->nrows ? top : h->nrows;
    char c[32];
    mp_format_count(c, sizeof c, h->nrows);
    fprintf(out, "TYPES  live objects by type, largest retained size first (%zu of %s)\n", show, c);
    fprintf(out, "  %13s %11s %7s %11s %7s  %s\n", "objects", "shallow", "%", "retained", "%",
            "type");
    for (size_t i = 0; i < show; i++) {
        const mp_type_row *r = &h->rows[i];
        char b1[64], b2[64];
        mp_format_count(c, sizeof c, r->count);
        fmt_bytes(b1, sizeof b1, r->shallow);
        fmt_bytes(b2, sizeof b2, r->retained);
        fprintf(out, "  %13s %11s %6.2f%% %11s %6.2f%%  %s\n", c, b1, share(r->shallow, h->bytes),
                b2, share(r->retained, h->bytes), type_name(g, r->type));
    }
    if (show < h->nrows)
        fprintf(out, "  (%zu more type%s: --top 0 shows all)\n", h->nrows - show,
                h->nrows - show == 1 ? "" : "s");
    fprintf(out, "\n");
}

json_t *mp_histogram_json(const mp_graph *g, const mp_histogram *h, size_t top)
{
    size_t show = top && top < h->nrows ? top : h->nrows;
    json_t *arr = json_array();
    for (size_t i = 0; i < show; i++) {
        const mp_type_row *r = &h->rows[i];
        json_t *j = json_object();
        json_object_set_new(j, "type", mp_json_text(type_name(g, r->type)));
        json_object_set_new(
            j, "kind",
            json_string(r->type == MP_NONE ? "none" : mp_type_kind_name(g->types[r->type].kind)));
        json_object_set_new(j, "objects", json_integer((json_int_t)r->count));
        json_object_set_new(j, "shallow_bytes", json_integer((json_int_t)r->shallow));
        json_object_set_new(j, "retained_bytes", json_integer((json_int_t)r->retained));
        json_array_append_new(arr, j);
    }
    return json_pack("{s:o, s:I, s:I, s:I}", "types", arr, "types_total", (json_int_t)h->nrows,
                     "objects", (json_int_t)h->objects, "bytes", (json_int_t)h->bytes);
}

/* ------------------------------------------------- dominator tree --- */

/* Larger retained first, then lower object index. */
static bool dr_before(const mp_domrow *x, const mp_domrow *y)
{
    return x->retained != y->retained ? x->retained > y->retained : x->object < y->object;
}

static int cmp_domrow(const void *a, const void *b)
{
    const mp_domrow *x = a, *y = b;
    return dr_before(x, y) ? -1 : dr_before(y, x) ? 1 : 0;
}

/* A bounded selection: keeps the `max` rows that come first (heap with the
 * one that comes last at its root). */
typedef struct pick {
    mp_domrow *r;
    size_t n, max;
} pick;

static void pick_down(pick *p, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->n && dr_before(&p->r[m], &p->r[l])) m = l;
        if (r < p->n && dr_before(&p->r[m], &p->r[r])) m = r;
        if (m == i) return;
        mp_domrow t = p->r[i];
        p->r[i] = p->r[m];
        p->r[m] = t;
        i = m;
    }
}

static void pick_add(pick *p, mp_domrow x)
{
    if (p->n < p->max) {
        p->r[p->n++] = x;
        if (p->n == p->max)
            for (size_t i = p->n / 2; i-- > 0;) pick_down(p, i);
        return;
    }
    if (p->max && dr_before(&x, &p->r[0])) {
        p->r[0] = x;
        pick_down(p, 0);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Level by level: the top subtrees are the objects whose immediate
 * dominator is no object; each next level, one scan over the objects picks
 * those big enough whose immediate dominator is a row of the level above,
 * the largest `children` for each. The rows end up depth-first.
 */
int mp_domtree_compute(const mp_graph *g, const mp_dom *d, size_t top, double min_share,
                       size_t children, unsigned depth, mp_domtree *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    size_t n = g->nobjects, N = d->nnodes;
    out->heap_bytes = d->retained[d->super_root];
    out->min_share = min_share;
    uint32_t *cnt = array32(N);
    mp_domrow *rows = NULL, *level = NULL;
    uint64_t *ix = NULL; /* the level above: (object << 32 | row), sorted */
    size_t nrows = 0, caprows = 0;
    if (!cnt) goto oom;
    /* objects in each subtree, children first */
    for (size_t i = 0; i < d->npreorder; i++) {
        uint32_t v = d->preorder[i];
        cnt[v] = v < n;
    }
    for (size_t i = d->npreorder; i-- > 1;) cnt[d->idom[d->preorder[i]]] += cnt[d->preorder[i]];
    out->heap_objects = cnt[d->super_root];
    /* the top subtrees */
    size_t cap = top && top < n ? top : n;
    pick p = {malloc((cap ? cap : 1) * sizeof(mp_domrow)), 0, cap};
    if (!p.r) goto oom;
    for (size_t v = 0; v < n; v++) {
        uint32_t id = d->idom[v];
        if (id == MP_NONE || id < n) continue;
        out->ntop_all++;
        pick_add(&p, (mp_domrow){(uint32_t)v, MP_NONE, 0, d->retained[v], cnt[v]});
    }
    if (p.n > 1) qsort(p.r, p.n, sizeof *p.r, cmp_domrow);
    out->ntop = p.n;
    level = p.r;
    size_t nlevel = p.n;
    /* all rows, in levels; rows[i].parent indexes rows */
    caprows = nlevel + 64;
    rows = malloc(caprows * sizeof *rows);
    if (!rows) goto oom;
    memcpy(rows, level, nlevel * sizeof *rows);
    nrows = nlevel;
    free(level), level = NULL;
    uint64_t thr = (uint64_t)(min_share * (double)out->heap_bytes);
    if (thr == 0) thr = 1;
    size_t first = 0; /* the level above: rows[first .. nrows) */
    for (unsigned lv = 1; lv <= depth && first < nrows && children; lv++) {
        size_t na = nrows - first;
        ix = malloc(na * sizeof *ix);
        if (!ix) goto oom;
        for (size_t i = 0; i < na; i++)
            ix[i] = (uint64_t)rows[first + i].object << 32 | (first + i);
        qsort(ix, na, sizeof *ix, cmp_u64);
        /* the candidates of each row above, in one pick each */
        pick *picks = calloc(na, sizeof *picks);
        if (!picks) goto oom;
        for (size_t v = 0; v < n; v++) {
            if (d->retained[v] < thr) continue;
            uint32_t id = d->idom[v];
            if (id >= n) continue;
            size_t lo = 0, hi = na;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if ((ix[mid] >> 32) < id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == na || (ix[lo] >> 32) != id) continue;
            size_t prow = (uint32_t)ix[lo];
            pick *pk = &picks[prow - first];
            if (!pk->r) {
                pk->max = children;
                if (!(pk->r = malloc(children * sizeof *pk->r))) continue;
            }
            pick_add(pk, (mp_domrow){(uint32_t)v, (uint32_t)prow, lv, d->retained[v], cnt[v]});
        }
        size_t above_end = nrows;
        for (size_t i = 0; i < na; i++) {
            pick *pk = &picks[i];
            if (pk->n > 1) qsort(pk->r, pk->n, sizeof *pk->r, cmp_domrow);
            if (nrows + pk->n > caprows) {
                size_t nc = (nrows + pk->n) * 2;
                mp_domrow *q = realloc(rows, nc * sizeof *q);
                if (!q) {
                    for (size_t j = i; j < na; j++) free(picks[j].r);
                    free(picks);
                    goto oom;
                }
                rows = q;
                caprows = nc;
            }
            if (pk->n) memcpy(rows + nrows, pk->r, pk->n * sizeof *pk->r);
            nrows += pk->n;
            free(pk->r);
        }
        free(picks);
        free(ix), ix = NULL;
        first = above_end;
    }
    free(cnt), cnt = NULL;
    /* depth-first order: each row, then its children (already sorted by
     * size within a parent, and the parents' children come in the order
     * of the parents) */
    mp_domrow *dfs = malloc((nrows ? nrows : 1) * sizeof *dfs);
    uint32_t *newix = malloc((nrows ? nrows : 1) * sizeof *newix);
    uint32_t *stack = malloc((nrows ? nrows : 1) * sizeof *stack);
    uint32_t *kid_start = calloc(nrows + 1, sizeof *kid_start);
    uint32_t *kids = malloc((nrows ? nrows : 1) * sizeof *kids);
    if (!dfs || !newix || !stack || !kid_start || !kids) {
        free(dfs), free(newix), free(stack), free(kid_start), free(kids);
        goto oom;
    }
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].parent != MP_NONE) kid_start[rows[i].parent + 1]++;
    for (size_t i = 0; i < nrows; i++) kid_start[i + 1] += kid_start[i];
    {
        uint32_t *cur = malloc((nrows ? nrows : 1) * sizeof *cur);
        if (!cur) {
            free(dfs), free(newix), free(stack), free(kid_start), free(kids);
            goto oom;
        }
        memcpy(cur, kid_start, nrows * sizeof *cur);
        for (size_t i = 0; i < nrows; i++)
            if (rows[i].parent != MP_NONE) kids[cur[rows[i].parent]++] = (uint32_t)i;
        free(cur);
    }
    size_t k = 0;
    for (size_t t = out->ntop; t-- > 0;) stack[k++] = (uint32_t)t;
    size_t w = 0;
    while (k) {
        uint32_t r = stack[--k];
        newix[r] = (uint32_t)w;
        dfs[w++] = rows[r];
        for (uint32_t j = kid_start[r + 1]; j-- > kid_start[r];) stack[k++] = kids[j];
    }
    for (size_t i = 0; i < w; i++)
        if (dfs[i].parent != MP_NONE) dfs[i].parent = newix[dfs[i].parent];
    free(rows);
    free(newix), free(stack), free(kid_start), free(kids);
    out->rows = dfs;
    out->nrows = w;
    return 0;
oom:
    free(cnt);
    free(rows);
    free(level);
    free(ix);
    mf_error_set(err, "%s: out of memory listing dominator subtrees", g->info.name);
    return -1;
}

void mp_domtree_free(mp_domtree *t)
{
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* The roots that keep a top subtree alive: the one root node above it, or
 * every root reaching it, each holder once (its first word: holder, from
 * mp_root_holders) -- up to max of them into roots; the count of holders
 * in all. all (room for g->nroots) is the caller's scratch. */
static size_t subtree_roots(const mp_graph *g, const mp_dom *d, uint32_t o, uint32_t *roots,
                            size_t max, uint8_t *mark, const uint32_t *holder, uint32_t *all)
{
    uint32_t id = d->idom[o];
    if (id != d->super_root && id != MP_NONE && id >= g->nobjects) {
        if (max) roots[0] = holder[id - (uint32_t)g->nobjects];
        return 1;
    }
    size_t n = mark && all ? mp_dom_roots_reaching(g, d, o, all, g->nroots, mark) : 0;
    if (n > g->nroots) n = g->nroots;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++) dup = all[j] == holder[all[i]];
        if (!dup) all[k++] = holder[all[i]];
    }
    for (size_t i = 0; i < k && i < max; i++) roots[i] = all[i];
    return k;
}

/* The scratch subtree_roots needs: a mark bit per object, each root's
 * holder, and room for every root. False when out of memory (*mark, *holder
 * and *all are then NULL and the views list no roots). */
static bool roots_scratch(const mp_graph *g, uint8_t **mark, uint32_t **holder, uint32_t **all)
{
    *mark = calloc(g->nobjects / 8 + 1, 1);
    *holder = malloc((g->nroots ? g->nroots : 1) * sizeof **holder);
    *all = malloc((g->nroots ? g->nroots : 1) * sizeof **all);
    if (*mark && *holder && *all && mp_root_holders(g, *holder) == 0) return true;
    free(*mark), free(*holder), free(*all);
    *mark = NULL, *holder = NULL, *all = NULL;
    return false;
}

#define DOM_ROOTS_SHOWN 4
/* A top subtree's root and chain lines: their labels under the object
 * column (after "  retained %  objects  "), their texts in one column. */
#define DOM_LABEL_COL 37

void mp_domtree_print_text(FILE *out, const mp_graph *g, const mp_dom *d, const mp_paths *p,
                           const mp_domtree *t)
{
    char c[32];
    mp_format_count(c, sizeof c, t->ntop_all);
    fprintf(out,
            "DOMINATOR TREE  the largest retained sets: %zu of %s top subtrees, largest first;\n"
            "  below each, the subtrees of %.2g%% of the heap or more\n",
            t->ntop, c, 100.0 * t->min_share);
    fprintf(out, "  %11s %7s %13s  %s\n", "retained", "%", "objects", "object");
    uint8_t *mark;
    uint32_t *holder, *all;
    bool rooted = roots_scratch(g, &mark, &holder, &all);
    mp_step steps[MP_CHAIN_STEPS];
    for (size_t i = 0; i < t->nrows; i++) {
        const mp_domrow *r = &t->rows[i];
        char b[64], s[64], line[600];
        fmt_bytes(b, sizeof b, r->retained);
        mp_format_count(c, sizeof c, r->objects);
        fmt_bytes(s, sizeof s, mp_obj_size(g, r->object));
        mp_step st = {.kind = MP_STEP_OBJECT, .a = r->object, .map = MP_NONE, .index = UINT64_MAX};
        uint32_t mi = mp_graph_map_of_header(g, r->object);
        if (mi != MP_NONE) st.kind = MP_STEP_MAP, st.map = mi;
        mp_step_text(g, &st, line, sizeof line);
        fprintf(out, "  %11s %6.2f%% %13s  %*s%s, %s", b, share(r->retained, t->heap_bytes), c,
                (int)(2 * r->depth), "", line, s);
        if (mi != MP_NONE) fprintf(out, ", %s", mp_str(g, g->maps[mi].type_name));
        fprintf(out, "\n");
        if (r->depth) continue;
        uint32_t roots[DOM_ROOTS_SHOWN];
        size_t nr =
            rooted ? subtree_roots(g, d, r->object, roots, DOM_ROOTS_SHOWN, mark, holder, all) : 0;
        for (size_t k = 0; k < nr && k < DOM_ROOTS_SHOWN; k++) {
            char rt[512];
            mp_root_text(g, roots[k], rt, sizeof rt);
            fprintf(out, "%*s%-6s%s\n", DOM_LABEL_COL, "", k ? "" : "root", rt);
        }
        if (nr > DOM_ROOTS_SHOWN)
            fprintf(out, "%*s      (%zu roots in all)\n", DOM_LABEL_COL, "", nr);
        size_t n = p ? mp_chain_object(g, p, r->object, steps, MP_CHAIN_STEPS) : 0;
        if (n) {
            fprintf(out, "%*schain ", DOM_LABEL_COL, "");
            print_chain(out, g, steps, n);
            fprintf(out, "\n");
        }
    }
    free(mark), free(holder), free(all);
    if (t->ntop < t->ntop_all)
        fprintf(out, "  (%zu more top subtree%s: --top 0 shows all)\n", t->ntop_all - t->ntop,
                t->ntop_all - t->ntop == 1 ? "" : "s");
    fprintf(out, "\n");
}

json_t *mp_root_json(const mp_graph *g, uint32_t r)
{
    char t[512];
    mp_root_text(g, r, t, sizeof t);
    return json_pack("{s:s, s:o, s:o}", "kind", mp_root_kind_name(g->roots[r].kind), "name",
                     mp_json_text(mp_str(g, g->roots[r].name)), "text", mp_json_text(t));
}

json_t *mp_object_json(const mp_graph *g, uint32_t o)
{
    json_t *j =
        json_pack("{s:I, s:o, s:I}", "address", (json_int_t)mp_obj_addr(g, o), "type",
                  mp_json_text(mp_graph_type_name(g, o)), "size", (json_int_t)mp_obj_size(g, o));
    uint32_t mi = mp_graph_map_of_header(g, o);
    if (mi != MP_NONE)
        json_object_set_new(j, "map", mp_json_text(mp_str(g, g->maps[mi].type_name)));
    return j;
}

json_t *mp_domtree_json(const mp_graph *g, const mp_dom *d, const mp_paths *p, const mp_domtree *t)
{
    json_t *top = json_array();
    json_t **node = calloc(t->nrows ? t->nrows : 1, sizeof *node);
    uint8_t *mark;
    uint32_t *holder, *all;
    bool rooted = roots_scratch(g, &mark, &holder, &all);
    mp_step steps[MP_CHAIN_STEPS];
    for (size_t i = 0; node && i < t->nrows; i++) {
        const mp_domrow *r = &t->rows[i];
        json_t *j = json_object();
        json_object_set_new(j, "object", mp_object_json(g, r->object));
        json_object_set_new(j, "retained_bytes", json_integer((json_int_t)r->retained));
        json_object_set_new(j, "objects", json_integer((json_int_t)r->objects));
        if (r->depth == 0) {
            uint32_t roots[MP_MAX_LISTED_ROOTS];
            size_t nr = rooted ? subtree_roots(g, d, r->object, roots, MP_MAX_LISTED_ROOTS, mark,
                                               holder, all)
                               : 0;
            json_t *ra = json_array();
            for (size_t k = 0; k < nr && k < MP_MAX_LISTED_ROOTS; k++)
                json_array_append_new(ra, mp_root_json(g, roots[k]));
            json_object_set_new(j, "roots", ra);
            json_object_set_new(j, "roots_total", json_integer((json_int_t)nr));
            size_t n = p ? mp_chain_object(g, p, r->object, steps, MP_CHAIN_STEPS) : 0;
            json_object_set_new(j, "chain", mp_chain_json(g, steps, n));
            mp_chain_length_json(j, steps, n);
        }
        json_object_set_new(j, "children", json_array());
        node[i] = j;
        if (r->parent == MP_NONE)
            json_array_append_new(top, j);
        else
            json_array_append_new(json_object_get(node[r->parent], "children"), j);
    }
    free(node);
    free(mark), free(holder), free(all);
    return json_pack("{s:o, s:I, s:I, s:I, s:f}", "dominators", top, "top_total",
                     (json_int_t)t->ntop_all, "heap_bytes", (json_int_t)t->heap_bytes,
                     "heap_objects", (json_int_t)t->heap_objects, "min_share", t->min_share);
}
