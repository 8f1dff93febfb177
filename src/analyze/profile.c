/* src/analyze/profile.c -- see profile.h. */
#include "analyze/profile.h"

#include "format/names.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------- string → number --- */

/* An open-addressing table from strings (owned by someone else) to 1-based
 * numbers; callers keep the strings alive as long as the table. */
typedef struct strtab {
    const char **keys;
    uint32_t *vals;
    size_t cap, n;
} strtab;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static int strtab_init(strtab *t, size_t expect)
{
    t->cap = 64;
    while (t->cap < expect * 2) t->cap *= 2;
    t->n = 0;
    t->keys = calloc(t->cap, sizeof *t->keys);
    t->vals = calloc(t->cap, sizeof *t->vals);
    return t->keys && t->vals ? 0 : -1;
}

static void strtab_free(strtab *t)
{
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof *t);
}

/* The number stored for s, or 0. *slot gets where s is, or where to insert
 * it (always set, so that no caller reads it unset). */
static uint32_t strtab_get(const strtab *t, const char *s, size_t *slot)
{
    size_t mask = t->cap - 1, h = str_hash(s) & mask;
    while (t->keys[h] && strcmp(t->keys[h], s) != 0) h = (h + 1) & mask;
    *slot = h;
    return t->keys[h] ? t->vals[h] : 0;
}

static int strtab_put(strtab *t, size_t slot, const char *s, uint32_t v)
{
    t->keys[slot] = s;
    t->vals[slot] = v;
    t->n++;
    if (t->n * 2 <= t->cap) return 0;
    strtab bigger = {0};
    if (strtab_init(&bigger, t->cap)) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i]) continue;
        size_t sl;
        strtab_get(&bigger, t->keys[i], &sl);
        bigger.keys[sl] = t->keys[i];
        bigger.vals[sl] = t->vals[i];
        bigger.n++;
    }
    strtab_free(t);
    *t = bigger;
    return 0;
}

/* ------------------------------------------------------- classification --- */

/* The runtime's maps are src/rt/map.c and the files split off it,
 * src/rt/map_*.c: "src/rt/map" then ".c" or "_<name>.c", the whole path or
 * its tail after a '/'. */
static bool is_runtime_map_file(const char *file)
{
    const char *dir = "src/rt/map";
    size_t dn = strlen(dir);
    for (const char *s = file; (s = strstr(s, dir)) != NULL; s++) {
        if (s != file && s[-1] != '/') continue;
        const char *rest = s + dn;
        if (strcmp(rest, ".c") == 0) return true;
        size_t n = strlen(rest);
        if (rest[0] == '_' && n > 3 && strcmp(rest + n - 2, ".c") == 0 && !strchr(rest, '/'))
            return true;
    }
    return false;
}

bool mp_is_map_function(const char *name, const char *file)
{
    static const char *const prefixes[] = {
        "mr_map_",
        "mr__map",
        "runtime.mapassign",
        "runtime.mapaccess",
        "runtime.mapdelete",
        "runtime.mapclear",
        "runtime.mapiter",
        "runtime.makemap",
        "runtime.hashGrow",
        "runtime.growWork",
        "runtime.evacuate",
        "runtime.makeBucketArray",
        "runtime.newoverflow",
        "runtime.(*hmap).",
        "runtime.(*bmap).",
        "internal/runtime/maps.",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return file && is_runtime_map_file(file);
}

int mp_check_heap(const mf_profile *p, const char *name, mf_error *err)
{
    if (strcmp(mf_str(p, p->period_type.type), "space") == 0) return 0;
    for (size_t i = 0; i < p->n_sample_types; i++)
        if (strcmp(mf_str(p, p->sample_types[i].unit), "bytes") == 0) return 0;
    char types[256] = "";
    size_t len = 0;
    bool cpu = false;
    for (size_t i = 0; i < p->n_sample_types && len < sizeof types - 1; i++) {
        const char *t = mf_str(p, p->sample_types[i].type), *u = mf_str(p, p->sample_types[i].unit);
        int k = snprintf(types + len, sizeof types - len, "%s%s/%s", i ? ", " : "", t, u);
        if (k > 0) len += (size_t)k;
        if (strcmp(t, "cpu") == 0 || strcmp(t, "samples") == 0) cpu = true;
    }
    if (len >= sizeof types) len = sizeof types - 1;
    if (p->n_sample_types == 0)
        mf_error_set(err, "%s: not a heap profile: it has no sample types", name);
    else
        mf_error_set(err, "%s: not a heap profile: sample types %s, none in bytes%s", name, types,
                     cpu ? " (a CPU profile)" : "");
    return -1;
}

int mp_sample_index(const mf_profile *p, const char *name, const char *spec, size_t *out,
                    mf_error *err)
{
    if (p->n_sample_types == 0) {
        mf_error_set(err, "%s: the profile has no sample types", name);
        return -1;
    }
    if (!spec) {
        const char *def = mf_str(p, p->default_sample_type);
        *out = p->n_sample_types - 1;
        if (def[0])
            for (size_t i = 0; i < p->n_sample_types; i++)
                if (strcmp(mf_str(p, p->sample_types[i].type), def) == 0) *out = i;
        return 0;
    }
    for (size_t i = 0; i < p->n_sample_types; i++)
        if (strcmp(mf_str(p, p->sample_types[i].type), spec) == 0) {
            *out = i;
            return 0;
        }
    char *end;
    unsigned long long n = strtoull(spec, &end, 10);
    if (*spec >= '0' && *spec <= '9' && *end == '\0' && n < p->n_sample_types) {
        *out = (size_t)n;
        return 0;
    }
    char types[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < p->n_sample_types && len < sizeof types - 1; i++) {
        int k = snprintf(types + len, sizeof types - len, "%s%s", i ? ", " : "",
                         mf_str(p, p->sample_types[i].type));
        if (k > 0) len += (size_t)k;
    }
    mf_error_set(err, "%s: no sample type \"%s\" (it has %s, or an index 0-%zu)", name, spec, types,
                 p->n_sample_types - 1);
    return -1;
}

bool mp_profile_is_go(const mf_profile *p)
{
    for (size_t i = 0; i < p->n_comments; i++)
        if (strncmp(mf_str(p, p->comments[i]), "producer:", 9) == 0) return false;
    for (size_t i = 0; i < p->n_functions; i++) {
        const char *n = mf_str(p, p->functions[i].name);
        if (strcmp(n, "runtime.main") == 0 || strcmp(n, "runtime.goexit") == 0 ||
            strncmp(n, "runtime/pprof.", 14) == 0)
            return true;
    }
    return false;
}

void mp_producer(const mf_profile *p, char *buf, size_t size)
{
    for (size_t i = 0; i < p->n_comments; i++) {
        const char *c = mf_str(p, p->comments[i]);
        if (strncmp(c, "producer:", 9) == 0) {
            c += 9;
            while (*c == ' ') c++;
            snprintf(buf, size, "%s", c);
            return;
        }
    }
    const char *binary = p->n_mappings ? mf_str(p, p->mappings[0].filename) : "";
    const char *who = mp_profile_is_go(p) ? "Go runtime/pprof" : "unknown producer";
    if (binary[0])
        snprintf(buf, size, "%s (binary %s)", who, binary);
    else
        snprintf(buf, size, "%s", who);
}

int64_t mp_total(const mf_profile *p, size_t t)
{
    int64_t total = 0;
    for (size_t s = 0; s < p->n_samples; s++) {
        int64_t v = mf_sample_values(p, s)[t];
        total += v < 0 ? -v : v;
    }
    return total;
}

/* ----------------------------------------------------------------- index --- */

/* Where the names of frames without a function name are built: the table
 * of node names, the arena they are copied into, and a scratch buffer. */
typedef struct bare_names {
    strtab *names;
    mp_index *ix;
    char *arena, *arena_end;
    char *cand;
    size_t cand_size;
} bare_names;

/* The node of a frame that has no function name (an unsymbolized location,
 * or a line whose function is nameless): pprof's name for it at function
 * granularity is the mapping's base name in brackets, else "<unknown>".
 * Returns UINT32_MAX when out of memory. */
static uint32_t bare_node(bare_names *b, const mf_location *loc)
{
    const mf_profile *p = b->ix->p;
    const char *mfile = loc->mapping ? mf_str(p, p->mappings[loc->mapping - 1].filename) : "";
    const char *mbase = mf_path_base(mfile);
    if (mbase[0])
        snprintf(b->cand, b->cand_size, "[%s]", mbase);
    else
        strcpy(b->cand, "<unknown>");
    size_t slot;
    uint32_t v = strtab_get(b->names, b->cand, &slot);
    if (v) return v - 1;
    size_t need = strlen(b->cand) + 1;
    if (need > (size_t)(b->arena_end - b->arena)) return UINT32_MAX;
    memcpy(b->arena, b->cand, need);
    v = (uint32_t)++b->ix->n_nodes;
    b->ix->node_names[v - 1] = b->arena;
    if (strtab_put(b->names, slot, b->arena, v)) return UINT32_MAX;
    b->arena += need;
    return v - 1;
}

/* Why an index: a profile refers to frames through locations and lines, and
 * pprof's sites are function *names*. Resolving each location to its node
 * numbers once makes every later pass over millions of stack entries a pair
 * of array reads. */
int mp_index_build(const mf_profile *p, const char *name, mp_index *ix, mf_error *err)
{
    memset(ix, 0, sizeof *ix);
    ix->p = p;
    ix->name = name;
    strtab names = {0};
    uint32_t *fn_node = NULL;
    char *cand = NULL;
    size_t n_frames = 0;
    for (size_t l = 0; l < p->n_locations; l++)
        n_frames += p->locations[l].n_lines ? p->locations[l].n_lines : 1;
    /* nodes: one per function name, one per mapping for frames named after
     * it, and "<unknown>" */
    size_t max_nodes = p->n_functions + p->n_mappings + 2;
    ix->frames = malloc((n_frames + 1) * sizeof *ix->frames);
    ix->frame_start = malloc((p->n_locations + 1) * sizeof *ix->frame_start);
    ix->frame_n = malloc((p->n_locations + 1) * sizeof *ix->frame_n);
    ix->node_names = malloc(max_nodes * sizeof *ix->node_names);
    ix->node_is_map = calloc(max_nodes, sizeof *ix->node_is_map);
    /* Unsymbolized frames are named per mapping; the arena holds the names
     * of all mappings plus "<unknown>", each at most a base name + 3 bytes. */
    size_t arena = 16, longest = 0;
    for (size_t m = 0; m < p->n_mappings; m++) {
        size_t len = strlen(mf_str(p, p->mappings[m].filename)) + 3;
        arena += len;
        if (len > longest) longest = len;
    }
    arena += longest; /* a candidate name is written before it is looked up */
    ix->owned_names_ = malloc(arena);
    fn_node = malloc((p->n_functions + 1) * sizeof *fn_node);
    if (!ix->frames || !ix->frame_start || !ix->frame_n || !ix->node_names || !ix->node_is_map ||
        !ix->owned_names_ || !fn_node || strtab_init(&names, max_nodes))
        goto oom;

    /* Functions to nodes, by name (a function without a name gets its
     * node from each location it appears in: UINT32_MAX here). */
    for (size_t f = 0; f < p->n_functions; f++) {
        const char *nm = mf_str(p, p->functions[f].name);
        if (!nm[0]) {
            fn_node[f] = UINT32_MAX;
            continue;
        }
        size_t slot;
        uint32_t v = strtab_get(&names, nm, &slot);
        if (!v) {
            v = (uint32_t)++ix->n_nodes;
            ix->node_names[v - 1] = nm;
            if (strtab_put(&names, slot, nm, v)) goto oom;
        }
        fn_node[f] = v - 1;
        if (mp_is_map_function(nm, mf_str(p, p->functions[f].filename)))
            ix->node_is_map[v - 1] = true;
    }
    /* A candidate name is built in `cand` and copied into the arena only when
     * it is new, so the arena holds each distinct name once and its size
     * bound (every mapping's name, plus "<unknown>") is never passed. */
    bare_names bn = {&names, ix, ix->owned_names_, ix->owned_names_ + arena, NULL, longest + 16};
    bn.cand = cand = malloc(longest + 16);
    if (!cand) goto oom;
    size_t k = 0;
    for (size_t l = 0; l < p->n_locations; l++) {
        const mf_location *loc = &p->locations[l];
        ix->frame_start[l] = (uint32_t)k;
        if (loc->n_lines == 0) {
            uint32_t node = bare_node(&bn, loc);
            if (node == UINT32_MAX) goto oom;
            ix->frames[k++] = (mp_frame){node, 0, 0};
        }
        for (uint32_t i = 0; i < loc->n_lines; i++) {
            const mf_line *ln = &p->lines[loc->line_start + i];
            /* a line without a function, or whose function has no name, is
             * named as pprof names it: after the location's mapping */
            uint32_t node = ln->function ? fn_node[ln->function - 1] : UINT32_MAX;
            if (node == UINT32_MAX) node = bare_node(&bn, loc);
            if (node == UINT32_MAX) goto oom;
            ix->frames[k++] = (mp_frame){node, ln->function, ln->line};
        }
        ix->frame_n[l] = (uint32_t)(k - ix->frame_start[l]);
    }
    ix->n_frames_ = k;
    free(fn_node);
    free(cand);
    strtab_free(&names);
    return 0;
oom:
    free(fn_node);
    free(cand);
    strtab_free(&names);
    mp_index_free(ix);
    mf_error_set(err, "%s: out of memory indexing the profile", name);
    return -1;
}

void mp_index_free(mp_index *ix)
{
    free(ix->frames);
    free(ix->frame_start);
    free(ix->frame_n);
    free(ix->node_names);
    free(ix->node_is_map);
    free(ix->owned_names_);
    memset(ix, 0, sizeof *ix);
}

/* ------------------------------------------------------------------- top --- */

static inline int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* Flat and cum per node for one sample type. Cum counts a node once per
 * sample even when recursion puts it on the stack several times: the stamp
 * array remembers the last sample that counted each node. */
static int flat_cum(const mp_index *ix, size_t t, int64_t **flat_out, int64_t **cum_out)
{
    const mf_profile *p = ix->p;
    size_t nn = ix->n_nodes + 1;
    int64_t *flat = calloc(nn, sizeof *flat), *cum = calloc(nn, sizeof *cum);
    uint32_t *stamp = calloc(nn, sizeof *stamp);
    if (!flat || !cum || !stamp) {
        free(flat);
        free(cum);
        free(stamp);
        return -1;
    }
    size_t nt = p->n_sample_types;
    for (size_t s = 0; s < p->n_samples; s++) {
        int64_t v = p->values[s * nt + t];
        if (v == 0) continue;
        const mf_sample *sm = &p->samples[s];
        const uint32_t *locs = p->locs ? p->locs + sm->loc_start : NULL; /* NULL: no frames */
        uint32_t mark = (uint32_t)s + 1;
        bool leaf = true;
        for (uint32_t i = 0; i < sm->n_locs; i++) {
            uint32_t l = locs[i];
            const mp_frame *fr = ix->frames + ix->frame_start[l];
            for (uint32_t j = 0, nf = ix->frame_n[l]; j < nf; j++) {
                uint32_t nd = fr[j].node;
                if (leaf) {
                    flat[nd] += v;
                    leaf = false;
                }
                if (stamp[nd] != mark) {
                    stamp[nd] = mark;
                    cum[nd] += v;
                }
            }
        }
    }
    free(stamp);
    *flat_out = flat;
    *cum_out = cum;
    return 0;
}

static const mp_index *sort_ix; /* qsort has no context argument in C11 */

static int cmp_site(const void *a, const void *b)
{
    const mp_site *x = a, *y = b;
    if (abs64(x->flat) != abs64(y->flat)) return abs64(x->flat) > abs64(y->flat) ? -1 : 1;
    int c = strcmp(sort_ix->node_names[x->node], sort_ix->node_names[y->node]);
    if (c) return c;
    if (abs64(x->cum) != abs64(y->cum)) return abs64(x->cum) > abs64(y->cum) ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

int mp_top_compute(const mp_index *ix, size_t t, mp_top *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    int64_t *flat, *cum;
    if (flat_cum(ix, t, &flat, &cum)) goto oom;
    out->sites = malloc((ix->n_nodes + 1) * sizeof *out->sites);
    if (!out->sites) {
        free(flat);
        free(cum);
        goto oom;
    }
    for (size_t nd = 0; nd < ix->n_nodes; nd++)
        if (flat[nd] || cum[nd]) out->sites[out->n++] = (mp_site){(uint32_t)nd, flat[nd], cum[nd]};
    free(flat);
    free(cum);
    sort_ix = ix;
    if (out->n > 1) qsort(out->sites, out->n, sizeof *out->sites, cmp_site);
    out->total = mp_total(ix->p, t);
    return 0;
oom:
    mf_error_set(err, "%s: out of memory", ix->name);
    return -1;
}

void mp_top_free(mp_top *t)
{
    free(t->sites);
    memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------- map growth --- */

static int cmp_growth(const void *a, const void *b)
{
    const mp_growth_site *x = a, *y = b;
    if (abs64(x->value) != abs64(y->value)) return abs64(x->value) > abs64(y->value) ? -1 : 1;
    int c = strcmp(sort_ix->node_names[x->site], sort_ix->node_names[y->site]);
    if (c) return c;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return strcmp(sort_ix->node_names[x->via], sort_ix->node_names[y->via]);
}

/* Finds, for one sample, the first frame outside the map implementation
 * after the innermost map frame; returns false if the stack has no map frame.
 * A stack made only of map frames is attributed to its outermost frame. */
static bool growth_site_of(const mp_index *ix, const mf_sample *sm, const mp_frame **site,
                           const mp_frame **via)
{
    const mf_profile *p = ix->p;
    const uint32_t *locs = p->locs ? p->locs + sm->loc_start : NULL; /* NULL: no frames */
    const mp_frame *last_map = NULL;
    for (uint32_t i = 0; i < sm->n_locs; i++) {
        uint32_t l = locs[i];
        const mp_frame *fr = ix->frames + ix->frame_start[l];
        for (uint32_t j = 0, nf = ix->frame_n[l]; j < nf; j++) {
            bool is_map = ix->node_is_map[fr[j].node];
            if (is_map) {
                last_map = &fr[j];
            } else if (last_map) {
                *site = &fr[j];
                *via = last_map;
                return true;
            }
        }
    }
    if (!last_map) return false;
    *site = *via = last_map;
    return true;
}

int mp_growth_compute(const mp_index *ix, size_t t, mp_growth *out, mf_error *err)
{
    const mf_profile *p = ix->p;
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    /* Sites are few; a linear probe over a small hash of (site, line, via). */
    size_t hcap = 1024;
    uint32_t *slots = calloc(hcap, sizeof *slots);
    if (!slots) goto oom;
    for (size_t s = 0; s < p->n_samples; s++) {
        int64_t v = mf_sample_values(p, s)[t];
        if (v == 0) continue;
        const mp_frame *site, *via;
        if (!growth_site_of(ix, &p->samples[s], &site, &via)) continue;
        const char *file =
            site->function ? mf_str(p, p->functions[site->function - 1].filename) : "";
        uint64_t h = ((uint64_t)site->node * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)site->line << 17) ^
                     ((uint64_t)via->node * 0xc2b2ae3d27d4eb4fULL);
        h ^= h >> 31;
        size_t i = h & (hcap - 1);
        mp_growth_site *g = NULL;
        for (; slots[i]; i = (i + 1) & (hcap - 1)) {
            mp_growth_site *c = &out->sites[slots[i] - 1];
            if (c->site == site->node && c->line == site->line && c->via == via->node &&
                strcmp(c->file, file) == 0) {
                g = c;
                break;
            }
        }
        if (!g) {
            if (out->n + 1 > cap) {
                size_t nc = cap ? cap * 2 : 64;
                mp_growth_site *ns = realloc(out->sites, nc * sizeof *ns);
                if (!ns) goto oom;
                out->sites = ns;
                cap = nc;
            }
            g = &out->sites[out->n++];
            *g = (mp_growth_site){site->node, via->node, file, site->line, 0, 0};
            slots[i] = (uint32_t)out->n;
            if (out->n * 2 > hcap) { /* rehash into a table twice the size */
                size_t nh = hcap * 2;
                uint32_t *ns = calloc(nh, sizeof *ns);
                if (!ns) goto oom;
                for (size_t k = 0; k < out->n; k++) {
                    const mp_growth_site *c = &out->sites[k];
                    uint64_t hh = ((uint64_t)c->site * 0x9e3779b97f4a7c15ULL) ^
                                  ((uint64_t)c->line << 17) ^
                                  ((uint64_t)c->via * 0xc2b2ae3d27d4eb4fULL);
                    hh ^= hh >> 31;
                    size_t j = hh & (nh - 1);
                    while (ns[j]) j = (j + 1) & (nh - 1);
                    ns[j] = (uint32_t)(k + 1);
                }
                free(slots);
                slots = ns;
                hcap = nh;
            }
        }
        g->value += v;
        g->samples++;
        out->total += abs64(v);
    }
    free(slots);
    sort_ix = ix;
    if (out->n) qsort(out->sites, out->n, sizeof *out->sites, cmp_growth);
    return 0;
oom:
    free(slots);
    mp_growth_free(out);
    mf_error_set(err, "%s: out of memory", ix->name);
    return -1;
}

void mp_growth_free(mp_growth *g)
{
    free(g->sites);
    memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------------ diff --- */

static void describe_types(const mf_profile *p, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_sample_types && len + 1 < size; i++) {
        int k = snprintf(buf + len, size - len, "%s%s/%s", i ? ", " : "",
                         mf_str(p, p->sample_types[i].type), mf_str(p, p->sample_types[i].unit));
        if (k > 0) len += (size_t)k;
    }
    if (!buf[0]) snprintf(buf, size, "none");
}

int mp_check_comparable(const mf_profile *a, const char *an, const mf_profile *b, const char *bn,
                        mf_error *err)
{
    bool same = a->n_sample_types == b->n_sample_types;
    for (size_t i = 0; same && i < a->n_sample_types; i++)
        same =
            strcmp(mf_str(a, a->sample_types[i].type), mf_str(b, b->sample_types[i].type)) == 0 &&
            strcmp(mf_str(a, a->sample_types[i].unit), mf_str(b, b->sample_types[i].unit)) == 0;
    if (!same) {
        char ta[200], tb[200];
        describe_types(a, ta, sizeof ta);
        describe_types(b, tb, sizeof tb);
        mf_error_set(err, "%s: sample types (%s) differ from those of %s (%s): cannot compare them",
                     bn, tb, an, ta);
        return -1;
    }
    if (strcmp(mf_str(a, a->period_type.type), mf_str(b, b->period_type.type)) != 0 ||
        strcmp(mf_str(a, a->period_type.unit), mf_str(b, b->period_type.unit)) != 0) {
        mf_error_set(err, "%s: period type %s/%s differs from %s/%s of %s: cannot compare them", bn,
                     mf_str(b, b->period_type.type), mf_str(b, b->period_type.unit),
                     mf_str(a, a->period_type.type), mf_str(a, a->period_type.unit), an);
        return -1;
    }
    return 0;
}

static int cmp_diff_site(const void *a, const void *b)
{
    const mp_diff_site *x = a, *y = b;
    int64_t dx = x->flat_after - x->flat_before, dy = y->flat_after - y->flat_before;
    if (dx != dy) return dx > dy ? -1 : 1;
    int64_t cx = x->cum_after - x->cum_before, cy = y->cum_after - y->cum_before;
    if (cx != cy) return cx > cy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_diff_growth(const void *a, const void *b)
{
    const mp_diff_growth *x = a, *y = b;
    int64_t dx = x->after - x->before, dy = y->after - y->before;
    if (dx != dy) return dx > dy ? -1 : 1;
    int c = strcmp(x->site, y->site);
    if (c) return c;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return strcmp(x->via, y->via);
}

/* Sites are matched across the two profiles by name (function names are the
 * only identity two runs of a program share: ids and addresses differ). */
int mp_diff_compute(const mp_index *bi, const mp_index *ai, size_t t, mp_diff *out, mf_error *err)
{
    memset(out, 0, sizeof *out);
    mp_top tb = {0}, ta = {0};
    mp_growth gb = {0}, ga = {0};
    strtab names = {0};
    if (mp_top_compute(bi, t, &tb, err) || mp_top_compute(ai, t, &ta, err) ||
        mp_growth_compute(bi, t, &gb, err) || mp_growth_compute(ai, t, &ga, err))
        goto fail;
    if (strtab_init(&names, tb.n + ta.n + 1)) goto oom;
    out->sites = calloc(tb.n + ta.n + 1, sizeof *out->sites);
    if (!out->sites) goto oom;
    for (int side = 0; side < 2; side++) {
        const mp_top *tp = side ? &ta : &tb;
        const mp_index *ix = side ? ai : bi;
        for (size_t i = 0; i < tp->n; i++) {
            const char *nm = ix->node_names[tp->sites[i].node];
            size_t slot;
            uint32_t v = strtab_get(&names, nm, &slot);
            if (!v) {
                v = (uint32_t)++out->n;
                out->sites[v - 1].name = nm;
                if (strtab_put(&names, slot, nm, v)) goto oom;
            }
            mp_diff_site *d = &out->sites[v - 1];
            if (side) {
                d->flat_after += tp->sites[i].flat;
                d->cum_after += tp->sites[i].cum;
            } else {
                d->flat_before += tp->sites[i].flat;
                d->cum_before += tp->sites[i].cum;
            }
        }
    }
    if (out->n > 1) qsort(out->sites, out->n, sizeof *out->sites, cmp_diff_site);

    /* Growth sites: few, matched by a linear scan. */
    out->growth = calloc(gb.n + ga.n + 1, sizeof *out->growth);
    if (!out->growth) goto oom;
    for (int side = 0; side < 2; side++) {
        const mp_growth *gp = side ? &ga : &gb;
        const mp_index *ix = side ? ai : bi;
        for (size_t i = 0; i < gp->n; i++) {
            const mp_growth_site *g = &gp->sites[i];
            const char *site = ix->node_names[g->site], *via = ix->node_names[g->via];
            mp_diff_growth *d = NULL;
            for (size_t k = 0; k < out->n_growth && !d; k++) {
                mp_diff_growth *c = &out->growth[k];
                if (c->line == g->line && strcmp(c->site, site) == 0 && strcmp(c->via, via) == 0 &&
                    strcmp(c->file, g->file) == 0)
                    d = c;
            }
            if (!d) {
                d = &out->growth[out->n_growth++];
                *d = (mp_diff_growth){site, via, g->file, g->line, 0, 0};
            }
            if (side)
                d->after += g->value;
            else
                d->before += g->value;
        }
    }
    if (out->n_growth > 1) qsort(out->growth, out->n_growth, sizeof *out->growth, cmp_diff_growth);

    out->base_total = tb.total;
    out->after_total = ta.total;
    int64_t sa = 0, sb = 0;
    const mf_profile *pa = ai->p, *pb = bi->p;
    for (size_t s = 0; s < pa->n_samples; s++) sa += mf_sample_values(pa, s)[t];
    for (size_t s = 0; s < pb->n_samples; s++) sb += mf_sample_values(pb, s)[t];
    out->delta = sa - sb;
    mp_top_free(&tb);
    mp_top_free(&ta);
    mp_growth_free(&gb);
    mp_growth_free(&ga);
    strtab_free(&names);
    return 0;
oom:
    mf_error_set(err, "%s: out of memory", ai->name);
fail:
    mp_top_free(&tb);
    mp_top_free(&ta);
    mp_growth_free(&gb);
    mp_growth_free(&ga);
    strtab_free(&names);
    mp_diff_free(out);
    return -1;
}

void mp_diff_free(mp_diff *d)
{
    free(d->sites);
    free(d->growth);
    memset(d, 0, sizeof *d);
}
