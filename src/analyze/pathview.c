/*
 * src/analyze/pathview.c -- paths from the roots to objects; see
 * pathview.h.
 */
#include "analyze/pathview.h"

#include "analyze/findings.h"
#include "analyze/json_text.h"
#include "analyze/parallel.h"
#include "analyze/report.h"
#include "analyze/views.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void fmt_bytes(char *buf, size_t size, uint64_t v)
{
    mp_format_value(buf, size, (int64_t)v, "bytes", false);
}

void mp_pathview_free(mp_pathview *v)
{
    for (size_t i = 0; i < v->nrows; i++) free(v->rows[i].objs);
    free(v->rows);
    memset(v, 0, sizeof *v);
}

static int cmp_row(const void *a, const void *b)
{
    const mp_pathrow *x = a, *y = b;
    if (x->length != y->length) return x->length < y->length ? -1 : 1;
    if (x->objects != y->objects) return x->objects > y->objects ? -1 : 1;
    if (x->root != y->root) return x->root < y->root ? -1 : 1;
    return x->object < y->object ? -1 : x->object > y->object;
}

/* The length of the path paths.h keeps to o (0: unreachable). */
static uint32_t bfs_length(const mp_graph *g, const mp_paths *p, uint32_t o)
{
    size_t n = mp_paths_chain(g, p, o, NULL, 0);
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/*
 * Every root that reaches o, each with its shortest path: a breadth-first
 * search backwards from o over the predecessors gives every object its next
 * step towards o (next[]); a root whose target was reached then has its
 * path by following next[] from the target. A holder of several root
 * words (a frame, an iterator: mp_root_holders) is one root, shown by its
 * word with the shortest path, as every report names a holder once.
 */
static int every_root(const mp_graph *g, uint32_t o, size_t top, mp_pathview *v)
{
    size_t n = g->nobjects;
    uint32_t *next = malloc((n ? n : 1) * sizeof *next), *dist = malloc((n ? n : 1) * sizeof *dist);
    uint32_t *queue = malloc((n ? n : 1) * sizeof *queue), *holder = NULL;
    uint8_t *seen = NULL;
    if (!next || !dist || !queue) goto oom;
    for (size_t i = 0; i < n; i++) next[i] = MP_NONE;
    size_t head = 0, tail = 0;
    queue[tail++] = o;
    dist[o] = 1;
    next[o] = o;
    while (head < tail) {
        uint32_t w = queue[head++];
        uint64_t end = mp_in_end(g, w);
        for (uint64_t e = mp_in_begin(g, w); e < end; e++) {
            uint32_t u = g->in.adj[e];
            if (next[u] != MP_NONE) continue;
            next[u] = w;
            dist[u] = dist[w] + 1;
            queue[tail++] = u;
        }
    }
    free(queue), queue = NULL;
    size_t cap = 16;
    v->rows = malloc(cap * sizeof *v->rows);
    if (!v->rows) goto oom;
    for (size_t r = 0; r < g->nroots; r++) {
        uint32_t t = g->roots[r].target;
        if (t == MP_NONE || next[t] == MP_NONE) continue;
        if (v->nrows == cap) {
            mp_pathrow *q = realloc(v->rows, cap * 2 * sizeof *q);
            if (!q) goto oom;
            v->rows = q;
            cap *= 2;
        }
        v->rows[v->nrows++] = (mp_pathrow){.object = o,
                                           .root = (uint32_t)r,
                                           .length = dist[t],
                                           .objects = 1,
                                           .bytes = mp_obj_size(g, o)};
    }
    if (v->nrows > 1) qsort(v->rows, v->nrows, sizeof *v->rows, cmp_row);
    /* each holder once: its first row, the shortest */
    holder = malloc((g->nroots ? g->nroots : 1) * sizeof *holder);
    seen = calloc(g->nroots / 8 + 1, 1);
    if (!holder || !seen || mp_root_holders(g, holder)) goto oom;
    size_t k = 0;
    for (size_t i = 0; i < v->nrows; i++) {
        uint32_t h = holder[v->rows[i].root];
        if (seen[h >> 3] & (1u << (h & 7))) continue;
        seen[h >> 3] |= (uint8_t)(1u << (h & 7));
        v->rows[k++] = v->rows[i];
    }
    v->nrows = v->nrows_all = k;
    if (top && v->nrows > top) v->nrows = top;
    for (size_t i = 0; i < v->nrows; i++) {
        mp_pathrow *row = &v->rows[i];
        row->objs = malloc(row->length * sizeof *row->objs);
        if (!row->objs) goto oom;
        uint32_t x = g->roots[row->root].target;
        for (uint32_t j = 0; j < row->length; j++, x = next[x]) row->objs[j] = x;
    }
    free(next);
    free(dist);
    free(holder);
    free(seen);
    return 0;
oom:
    free(next);
    free(dist);
    free(queue);
    free(holder);
    free(seen);
    return -1;
}

int mp_pathview_object(const mp_graph *g, const mp_paths *p, uint32_t o, bool all, size_t top,
                       mp_pathview *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    out->object = o;
    out->all = all;
    uint32_t len = bfs_length(g, p, o);
    if (!len) {
        out->unreachable = 1;
        return 0;
    }
    out->nobjects = 1;
    out->bytes = mp_obj_size(g, o);
    if (all) {
        if (every_root(g, o, top, out)) {
            mp_pathview_free(out);
            mf_error_set(err, "%s: out of memory searching the roots of an object", g->info.name);
            return -1;
        }
        return 0;
    }
    out->rows = malloc(sizeof *out->rows);
    if (!out->rows) {
        mf_error_set(err, "%s: out of memory", g->info.name);
        return -1;
    }
    out->rows[0] = (mp_pathrow){
        .object = o, .root = p->root[o], .length = len, .objects = 1, .bytes = mp_obj_size(g, o)};
    out->nrows = out->nrows_all = 1;
    return 0;
}

/* The name a path's shape knows a type by: its name string (types of one
 * name are one), or none. */
static uint32_t shape_type(const mp_graph *g, uint32_t o)
{
    uint32_t t = g->type[o];
    return t < g->ntypes ? g->types[t].name : UINT32_MAX;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return (h ^ (h >> 33)) | 1; /* never 0: 0 is "not yet known" */
}

/*
 * Shapes and lengths of paths, for every object on the way to the ones
 * asked about: each object's is its parent's, extended by its type unless
 * the parent's type is the same (a run of one type is one step). Walked
 * up the parents until a known one and filled on the way back down, with
 * an explicit stack: each object is done once, however long its path.
 */
static int shapes(const mp_graph *g, const mp_paths *p, uint32_t o, uint64_t *shape, uint32_t *len,
                  uint32_t **stack, size_t *cap)
{
    size_t sp = 0;
    for (uint32_t u = o; u != MP_NONE && !shape[u]; u = p->parent[u]) {
        if (sp == *cap) {
            size_t nc = *cap ? *cap * 2 : 1024;
            uint32_t *q = realloc(*stack, nc * sizeof *q);
            if (!q) return -1;
            *stack = q;
            *cap = nc;
        }
        (*stack)[sp++] = u;
    }
    while (sp) {
        uint32_t x = (*stack)[--sp], px = p->parent[x];
        if (px == MP_NONE) {
            shape[x] = mix(mix(0x1234567, p->root[x]), shape_type(g, x));
            len[x] = 1;
        } else {
            shape[x] = shape_type(g, x) == shape_type(g, px) ? shape[px]
                                                             : mix(shape[px], shape_type(g, x));
            len[x] = len[px] + 1;
        }
    }
    return 0;
}

typedef struct member {
    uint64_t shape;
    uint32_t len, obj;
} member;

static int cmp_member(const void *a, const void *b)
{
    const member *x = a, *y = b;
    if (x->shape != y->shape) return x->shape < y->shape ? -1 : 1;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->obj < y->obj ? -1 : x->obj > y->obj;
}

int mp_pathview_type(const mp_graph *g, const mp_paths *p, const char *type, bool all, size_t top,
                     mp_pathview *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    out->by_type = true;
    out->type = type;
    out->all = all;
    size_t n = g->nobjects;
    /* the type records of that name */
    uint8_t *want = calloc(g->ntypes + 1, 1);
    uint64_t *shape = NULL;
    uint32_t *len = NULL, *stack = NULL;
    member *m = NULL;
    size_t nm = 0, capm = 0, capstack = 0;
    if (!want) goto oom;
    bool any = false;
    for (size_t t = 0; t < g->ntypes; t++)
        if (strcmp(mp_str(g, g->types[t].name), type) == 0) want[t] = 1, any = true;
    if (!any) {
        free(want);
        return 0;
    }
    shape = calloc(n ? n : 1, sizeof *shape);
    len = malloc((n ? n : 1) * sizeof *len);
    if (!shape || !len) goto oom;
    for (size_t o = 0; o < n; o++) {
        if (g->type[o] >= g->ntypes || !want[g->type[o]]) continue;
        if (p->root[o] == MP_NONE) {
            out->unreachable++;
            continue;
        }
        if (shapes(g, p, (uint32_t)o, shape, len, &stack, &capstack)) goto oom;
        if (nm == capm) {
            size_t nc = capm ? capm * 2 : 1024;
            member *q = realloc(m, nc * sizeof *q);
            if (!q) goto oom;
            m = q;
            capm = nc;
        }
        m[nm++] = (member){all ? o : shape[o], len[o], (uint32_t)o};
        out->nobjects++;
        out->bytes += mp_obj_size(g, (uint32_t)o);
    }
    free(shape), shape = NULL;
    free(len), len = NULL;
    free(stack), stack = NULL;
    free(want), want = NULL;
    if (nm > 1) qsort(m, nm, sizeof *m, cmp_member);
    /* one row per shape (per object with `all`), its shortest path first */
    out->rows = malloc((nm ? nm : 1) * sizeof *out->rows);
    if (!out->rows) goto oom;
    for (size_t i = 0; i < nm;) {
        size_t j = i;
        mp_pathrow r = {.object = m[i].obj, .root = p->root[m[i].obj], .length = m[i].len};
        for (; j < nm && m[j].shape == m[i].shape; j++) {
            r.objects++;
            r.bytes += mp_obj_size(g, m[j].obj);
        }
        out->rows[out->nrows++] = r;
        i = j;
    }
    free(m);
    out->nrows_all = out->nrows;
    if (out->nrows > 1) qsort(out->rows, out->nrows, sizeof *out->rows, cmp_row);
    if (top && out->nrows > top) out->nrows = top;
    return 0;
oom:
    free(want);
    free(shape);
    free(len);
    free(stack);
    free(m);
    mp_pathview_free(out);
    mf_error_set(err, "%s: out of memory grouping the paths to %s", g->info.name, type);
    return -1;
}

/* ----------------------------------------------------------- chains --- */

/* The entry of bucket object v's map whose slot in v holds a pointer to
 * next (its key or value, or what they point to): the first in the map's
 * order, as the paths of every report take (paths.h); MP_NONE none. Reads
 * the map's entries: a path from another root than the one paths.h keeps
 * has no entry of its own remembered. */
static uint32_t entry_through(const mp_graph *g, uint32_t v, uint32_t next, mp_entry *out)
{
    uint32_t bi = mp_graph_bucket_of(g, v);
    if (bi == MP_NONE || g->buckets[bi].aux || g->buckets[bi].map >= g->nmaps) return MP_NONE;
    const mp_map *m = &g->maps[g->buckets[bi].map];
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, m->first_entry);
    mp_entry_reader rd = MP_ENTRY_READER_INIT;
    uint32_t found = MP_NONE;
    mp_entry en;
    for (size_t j = 0; j < m->nentries && found == MP_NONE && mp_entry_next(&c, &en); j++) {
        if (en.bucket_obj != v) continue;
        uint32_t x[MP_ENTRY_MAX_TARGETS];
        size_t nk, nx = mp_entry_targets(g, &rd, &en, x, NULL, &nk);
        for (size_t k = 0; k < nx; k++)
            if (x[k] == next) {
                found = (uint32_t)(m->first_entry + j);
                *out = en;
                break;
            }
    }
    mp_entry_cursor_free(&c);
    mp_entry_reader_free(&rd);
    return found;
}

/* The steps of object objs[i] of a path of len objects (1 or 2: the
 * object as a map header, a bucket or an object -- an array element says
 * which --, then the slot of the entry the path leaves a bucket by), as
 * chain.h's chains show them. */
static size_t object_steps(const mp_graph *g, const uint32_t *objs, size_t len, size_t i,
                           mp_step st[2])
{
    uint32_t v = objs[i], next = i + 1 < len ? objs[i + 1] : MP_NONE;
    st[0] = (mp_step){.kind = MP_STEP_OBJECT, .a = v, .map = MP_NONE, .index = UINT64_MAX};
    uint32_t mi = mp_graph_map_of_header(g, v), bi = mp_graph_bucket_of(g, v);
    if (mi != MP_NONE) {
        st[0].kind = MP_STEP_MAP;
        st[0].map = mi;
    } else if (bi != MP_NONE && !g->buckets[bi].aux) {
        const mp_bucket *bk = &g->buckets[bi];
        st[0].map = bk->map;
        st[0].old = bk->old;
        st[0].kind = bk->overflow ? MP_STEP_OVERFLOW : MP_STEP_BUCKET;
        st[0].overflow = bk->overflow;
        st[0].index = bk->overflow ? bk->index : UINT64_MAX;
        if (next == MP_NONE) return 1;
        uint32_t nb = mp_graph_bucket_of(g, next);
        if (!bk->overflow && nb != MP_NONE && !g->buckets[nb].aux &&
            g->buckets[nb].map == bk->map && g->buckets[nb].overflow) {
            st[0].index = g->buckets[nb].index; /* on to that bucket's overflow */
            return 1;
        }
        mp_entry en;
        uint32_t e = entry_through(g, v, next, &en);
        if (e == MP_NONE) return 1;
        if (!bk->overflow) st[0].index = en.bucket;
        st[1] = (mp_step){.kind = MP_STEP_SLOT,
                          .slot = en.slot,
                          .old = en.old,
                          .a = e,
                          .map = en.map,
                          .overflow = en.overflow,
                          .index = en.bucket};
        return 2;
    } else if (next != MP_NONE && g->type[v] < g->ntypes &&
               g->types[g->type[v]].kind == MP_TYPE_ARRAY && g->types[g->type[v]].size) {
        /* which element: the first pointer from v to the next object */
        uint64_t b = mp_out_begin(g, v), e = mp_out_end(g, v);
        for (uint64_t x = b; x < e; x++)
            if (g->out.adj[x] == next) {
                uint32_t off = mp_edge_offset(g, x);
                if (off != MP_NO_OFFSET) st[0].index = off / g->types[g->type[v]].size;
                break;
            }
    }
    return 1;
}

/*
 * Steps for a path given as its objects (root's target first): the root,
 * then each object's steps (object_steps). A chain of more than max steps
 * keeps its first max/4 and its last ones around an ELIDED step, as
 * chain.h's do; the steps are counted first, so that only those kept are
 * stored (max at least 8).
 */
static size_t list_chain(const mp_graph *g, uint32_t root, const uint32_t *objs, size_t len,
                         mp_step *s, size_t max)
{
    mp_step st[2];
    size_t total = 1;
    for (size_t i = 0; i < len; i++) total += object_steps(g, objs, len, i, st);
    size_t head = total <= max ? total : max / 4;
    size_t tail = total <= max ? 0 : max - head - 1; /* steps kept after the ELIDED one */
    size_t k = 0, at = 1;                            /* steps stored, steps passed */
    s[k++] = (mp_step){.kind = MP_STEP_ROOT, .a = root, .map = MP_NONE, .index = UINT64_MAX};
    for (size_t i = 0; i < len; i++) {
        size_t n = object_steps(g, objs, len, i, st);
        for (size_t j = 0; j < n; j++, at++) {
            if (at < head || at >= total - tail) s[k++] = st[j];
            if (at == head && tail)
                s[k++] = (mp_step){.kind = MP_STEP_ELIDED,
                                   .a = MP_NONE,
                                   .map = MP_NONE,
                                   .index = total - head - tail};
        }
    }
    assert(k <= max);
    return k;
}

/* Every step of a path of `length` objects: its root and each object, and
 * at most a slot step after each (where it goes through a map's bucket). */
static size_t whole_steps(size_t length)
{
    return length < (SIZE_MAX - 2) / 2 ? 2 * length + 2 : 0;
}

size_t mp_pathview_chain(const mp_graph *g, const mp_paths *p, const mp_pathview *v,
                         const mp_pathrow *r, mp_step **buf, size_t *cap)
{
    size_t max = v->steps ? v->steps : MP_CHAIN_STEPS;
    if (max == SIZE_MAX) max = whole_steps(r->length);
    if (max < 8) max = 8; /* room for both ends and the elided step */
    if (max > *cap) {
        mp_step *b = max <= SIZE_MAX / sizeof *b ? realloc(*buf, max * sizeof *b) : NULL;
        if (!b) return 0;
        *buf = b;
        *cap = max;
    }
    if (r->objs) return list_chain(g, r->root, r->objs, r->length, *buf, max);
    return mp_chain_object(g, p, r->object, *buf, max);
}

/* ------------------------------------------------------------ text --- */

static void object_text(const mp_graph *g, uint32_t o, char *buf, size_t size)
{
    char b[64];
    fmt_bytes(b, sizeof b, mp_obj_size(g, o));
    snprintf(buf, size, "%s 0x%" PRIx64 " (%s)", mp_graph_type_name(g, o), mp_obj_addr(g, o), b);
}

void mp_pathview_print_text(FILE *out, const mp_graph *g, const mp_paths *p, const mp_pathview *v)
{
    char c[32], b[64], t[600];
    if (v->by_type) {
        mp_format_count(c, sizeof c, v->nobjects);
        fmt_bytes(b, sizeof b, v->bytes);
        fprintf(out, "PATHS to the %s live objects of type %s (%s): ", c, v->type, b);
        if (v->all)
            fprintf(out, "one path each, shortest first\n");
        else
            fprintf(out, "%zu shape%s of path, shortest first\n", v->nrows_all,
                    v->nrows_all == 1 ? "" : "s");
    } else {
        object_text(g, v->object, t, sizeof t);
        fprintf(out, "PATHS to %s: ", t);
        if (v->all)
            fprintf(out, "%zu root%s reach%s it, shortest path first\n", v->nrows_all,
                    v->nrows_all == 1 ? "" : "s", v->nrows_all == 1 ? "es" : "");
        else
            fprintf(out, "the path from the root that explains it (--all: from every root)\n");
    }
    if (v->unreachable) {
        mp_format_count(c, sizeof c, v->unreachable);
        fprintf(out, "  (%s object%s no root reaches: no path)\n", c,
                v->unreachable == 1 ? "" : "s");
    }
    mp_step *s = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < v->nrows; i++) {
        const mp_pathrow *r = &v->rows[i];
        char rt[512];
        mp_root_text(g, r->root, rt, sizeof rt);
        fprintf(out, "\nPATH %zu of %zu   ", i + 1, v->nrows_all);
        if (v->by_type && !v->all) {
            mp_format_count(c, sizeof c, r->objects);
            fmt_bytes(b, sizeof b, r->bytes);
            fprintf(out, "%s object%s (%s), ", c, r->objects == 1 ? "" : "s", b);
        }
        /* the header counts the chain's steps, the root's and those left
         * out included (JSON's chain_steps), not the objects (length) */
        size_t n = mp_pathview_chain(g, p, v, r, &s, &cap);
        uint64_t steps = mp_chain_length(s, n);
        fprintf(out, "%" PRIu64 " step%s from %s\n", steps, steps == 1 ? "" : "s", rt);
        if (v->by_type) {
            object_text(g, r->object, t, sizeof t);
            fprintf(out, "  %-6s %s\n", v->all ? "object" : "e.g.", t);
        }
        fprintf(out, "  chain  ");
        for (size_t k = 0; k < n; k++) {
            mp_step_text(g, &s[k], t, sizeof t);
            fprintf(out, "%s%s", k ? (k % 3 == 0 ? "\n         -> " : " -> ") : "", t);
        }
        fprintf(out, "\n");
    }
    free(s);
    if (v->nrows < v->nrows_all)
        fprintf(out, "\n(%zu more path%s: --top 0 shows all)\n", v->nrows_all - v->nrows,
                v->nrows_all - v->nrows == 1 ? "" : "s");
    fprintf(out, "\n");
}

/* ------------------------------------------------------------ JSON --- */

json_t *mp_pathview_json(const mp_graph *g, const mp_paths *p, const mp_pathview *v)
{
    json_t *j = json_object();
    json_t *target = json_object();
    if (v->by_type)
        json_object_set_new(target, "type", mp_json_text(v->type));
    else
        json_object_set_new(target, "object", mp_object_json(g, v->object));
    json_object_set_new(target, "all", json_boolean(v->all));
    json_object_set_new(j, "target", target);
    json_object_set_new(j, "objects", json_integer((json_int_t)v->nobjects));
    json_object_set_new(j, "bytes", json_integer((json_int_t)v->bytes));
    json_object_set_new(j, "unreachable_objects", json_integer((json_int_t)v->unreachable));
    json_object_set_new(j, "paths_total", json_integer((json_int_t)v->nrows_all));
    json_t *arr = json_array();
    mp_step *s = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < v->nrows; i++) {
        const mp_pathrow *r = &v->rows[i];
        size_t n = mp_pathview_chain(g, p, v, r, &s, &cap);
        json_t *row = json_pack("{s:o, s:I, s:I, s:I, s:o, s:o}", "root", mp_root_json(g, r->root),
                                "length", (json_int_t)r->length, "objects", (json_int_t)r->objects,
                                "bytes", (json_int_t)r->bytes, "object",
                                mp_object_json(g, r->object), "chain", mp_chain_json(g, s, n));
        if (row) mp_chain_length_json(row, s, n);
        json_array_append_new(arr, row);
    }
    free(s);
    json_object_set_new(j, "paths", arr);
    return j;
}

/* ------------------------------------------------------------- dot --- */

/* Graphviz: every path shown, merged where paths share steps (an object
 * is one node however many paths pass it). */
void mp_pathview_print_dot(FILE *out, const mp_graph *g, const mp_paths *p, const mp_pathview *v)
{
    fprintf(out, "strict digraph paths {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n");
    mp_step *s = NULL;
    size_t cap = 0;
    /* a node's identity: r<root>, o<object>, x<row>_<step> for elisions */
    for (size_t i = 0; i < v->nrows; i++) {
        const mp_pathrow *r = &v->rows[i];
        size_t n = mp_pathview_chain(g, p, v, r, &s, &cap);
        char prev[48] = "";
        for (size_t k = 0; k < n; k++) {
            char id[48], t[600], esc[1300];
            if (s[k].kind == MP_STEP_ROOT)
                snprintf(id, sizeof id, "r%u", s[k].a);
            else if (s[k].kind == MP_STEP_ELIDED)
                snprintf(id, sizeof id, "x%zu_%zu", i, k);
            else if (s[k].kind == MP_STEP_SLOT)
                snprintf(id, sizeof id, "e%u", s[k].a);
            else if (s[k].index != UINT64_MAX)
                snprintf(id, sizeof id, "o%u_%" PRIu64, s[k].a, s[k].index);
            else
                snprintf(id, sizeof id, "o%u", s[k].a);
            mp_step_text(g, &s[k], t, sizeof t);
            size_t e = 0;
            for (const char *q = t; *q && e + 3 < sizeof esc; q++) {
                if (*q == '"' || *q == '\\') esc[e++] = '\\';
                esc[e++] = *q;
            }
            esc[e] = 0;
            const char *shape = s[k].kind == MP_STEP_ROOT     ? ", shape=ellipse"
                                : s[k].kind == MP_STEP_ELIDED ? ", shape=plaintext"
                                                              : "";
            fprintf(out, "  %s [label=\"%s\"%s];\n", id, esc, shape);
            if (*prev) fprintf(out, "  %s -> %s;\n", prev, id);
            snprintf(prev, sizeof prev, "%s", id);
        }
    }
    free(s);
    fprintf(out, "}\n");
}
