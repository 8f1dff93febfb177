/* src/analyze/map_match.c -- see map_match.h. */
#include "analyze/map_match.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mp_root_holder(const mp_graph *g, uint32_t r, char *buf, size_t size)
{
    if (r >= g->nroots) {
        snprintf(buf, size, "(no root)");
        return;
    }
    const mp_root *x = &g->roots[r];
    const char *name = mp_str(g, x->name), *fn = mp_str(g, x->function);
    switch (x->kind) {
    case MP_ROOT_GLOBAL:
        snprintf(buf, size, "global %s", *name ? name : "?");
        break;
    case MP_ROOT_PIN:
        snprintf(buf, size, "pin %s", *name ? name : "(unlabelled)");
        break;
    case MP_ROOT_STACK:
    case MP_ROOT_REGISTER:
        snprintf(buf, size, "stack %s", *fn ? fn : "?");
        break;
    case MP_ROOT_ITERATOR:
        snprintf(buf, size, "iterator %s", *fn ? fn : "?");
        break;
    default:
        snprintf(buf, size, "%s %s", mp_root_kind_name(x->kind), *name ? name : *fn ? fn : "?");
        break;
    }
}

/* The file name of path, without its directories. */
static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Is x a thread-local word known by its module's block, or a frame's word
 * known by its function and offset (mp_root_variable)? */
static bool tls_word(const mp_root *x)
{
    return x->kind == MP_ROOT_RUNTIME && x->tls_module;
}

static bool frame_word(const mp_graph *g, const mp_root *x)
{
    return x->kind == MP_ROOT_STACK && x->has_frame_offset && *mp_str(g, x->function);
}

bool mp_root_variable(const mp_graph *g, uint32_t r, char *buf, size_t size)
{
    if (r >= g->nroots) return false;
    const mp_root *x = &g->roots[r];
    if (tls_word(x)) {
        const char *var = mp_str(g, x->tls_variable);
        if (!buf)
            ;
        else if (*var)
            snprintf(buf, size, "thread-local %s", var);
        else
            snprintf(buf, size, "thread-local word +0x%" PRIx64 " of %s", x->tls_offset,
                     base_name(mp_str(g, x->tls_module)));
        return true;
    }
    if (!frame_word(g, x)) return false;
    if (buf) snprintf(buf, size, "local +0x%" PRIx64 " of %s", x->frame_offset, mp_str(g, x->function));
    return true;
}

/* Orders strings of g by their text (equal ids: equal texts). */
static int cmp_sid(const mp_graph *g, mp_sid a, mp_sid b)
{
    return a == b ? 0 : strcmp(mp_str(g, a), mp_str(g, b));
}

int mp_root_variable_cmp(const mp_graph *g, uint32_t a, uint32_t b)
{
    const mp_root *x = &g->roots[a], *y = &g->roots[b];
    bool tx = tls_word(x), ty = tls_word(y);
    if (tx != ty) return tx ? -1 : 1;
    int c = tx ? cmp_sid(g, x->tls_module, y->tls_module) : cmp_sid(g, x->function, y->function);
    if (!c && !tx) c = cmp_sid(g, x->file, y->file);
    uint64_t ox = tx ? x->tls_offset : x->frame_offset, oy = ty ? y->tls_offset : y->frame_offset;
    return c ? c : (ox > oy) - (ox < oy);
}

void mp_map_idents_free(mp_map_ident *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].type);
        free(v[i].holder);
        free(v[i].way);
        free(v[i].sample);
        free(v[i].keys);
    }
    free(v);
}

/* A hash of entry e of g's key as rendered (mp_entry_key, the text every
 * snapshot gives it), FNV-1a: the first half of entry_hash, and the key
 * sketch's own hash once finished. */
static uint64_t key_hash(const mp_graph *g, const mp_entry *e)
{
    char kb[32];
    uint64_t h = 1469598103934665603ull;
    for (const char *k = mp_entry_key(g, e, kb, sizeof kb); *k; k++)
        h = (h ^ (uint8_t)*k) * 1099511628211ull;
    return h;
}

/* splitmix64's finish: spreads h so that the smallest hashes of a set are
 * a uniform sample of it. */
static uint64_t finish_hash(uint64_t h)
{
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

/* A hash of an entry of g whose key hashed to kh (key_hash) and whose
 * value points to object value_obj (MP_NONE none): a copy holds the same
 * key with a value pointing at the same object. */
static uint64_t entry_hash(const mp_graph *g, uint64_t kh, uint32_t value_obj)
{
    uint64_t v = value_obj < g->nobjects ? mp_obj_addr(g, value_obj) : 0;
    return finish_hash(kh ^ ((v << 29 | v >> 35) + 0x9e3779b97f4a7c15ull));
}

static int cmp_hash(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static bool has_hash(const uint64_t *s, uint32_t n, uint64_t h)
{
    return n && bsearch(&h, s, n, sizeof *s, cmp_hash) != NULL;
}

/* Keeps h among the at most MP_MAP_SAMPLE smallest distinct hashes
 * s[0..*n), ascending: an insertion, dropping the largest when full. */
static void keep_smallest(uint64_t *s, uint32_t *n, uint64_t h)
{
    if ((*n == MP_MAP_SAMPLE && h >= s[*n - 1]) || has_hash(s, *n, h)) return;
    uint32_t at = *n < MP_MAP_SAMPLE ? (*n)++ : *n - 1;
    for (; at > 0 && s[at - 1] > h; at--) s[at] = s[at - 1];
    s[at] = h;
}

/* A copy of the n hashes s into *out (NULL when n is 0); false when out of
 * memory. */
static bool copy_hashes(const uint64_t *s, uint32_t n, uint64_t **out)
{
    if (!n) return true;
    if (!(*out = malloc(n * sizeof *s))) return false;
    memcpy(*out, s, n * sizeof *s);
    return true;
}

/* The sample and the key sketch of map m of g into v (see
 * mp_map_ident.sample and .keys), both from one walk of its entries,
 * whose keys are rendered once. False when out of memory. */
static bool take_sample(const mp_graph *g, uint32_t m, mp_map_ident *v)
{
    const mp_map *mp = &g->maps[m];
    uint64_t s[MP_MAP_SAMPLE], k[MP_MAP_SAMPLE];
    uint32_t n = 0, nk = 0;
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, mp->first_entry);
    mp_entry e;
    for (size_t i = 0; i < mp->nentries && mp_entry_next(&c, &e); i++) {
        uint64_t kh = key_hash(g, &e);
        keep_smallest(s, &n, entry_hash(g, kh, e.value_obj));
        keep_smallest(k, &nk, finish_hash(kh));
    }
    mp_entry_cursor_free(&c);
    v->nsample = n;
    v->nkeys = nk;
    return copy_hashes(s, n, &v->sample) && copy_hashes(k, nk, &v->keys);
}

/* How many of the hashes s[0..n) (a map's sample) map m of g holds an
 * entry of. */
static uint32_t sample_held(const mp_graph *g, uint32_t m, const uint64_t *s, uint32_t n)
{
    const mp_map *mp = &g->maps[m];
    uint32_t held = 0;
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, mp->first_entry);
    mp_entry e;
    for (size_t i = 0; i < mp->nentries && held < n && mp_entry_next(&c, &e); i++)
        held += has_hash(s, n, entry_hash(g, key_hash(g, &e), e.value_obj));
    mp_entry_cursor_free(&c);
    return held;
}

enum { WAY_STEPS = 16 };

/* One step of a way: how the path leaves par for o (see mp_map_way). */
static void way_step(const mp_graph *g, const mp_paths *p, uint32_t par, uint32_t o, char *part,
                     size_t size)
{
    if (mp_graph_bucket_of(g, par) != MP_NONE) {
        mp_entry e;
        char kb[64];
        if (p->via[o] == MP_NONE || !mp_graph_entry(g, p->via[o], &e))
            snprintf(part, size, "{?}");
        else if (g->maps[e.map].key_kind == MP_KEY_PTR)
            snprintf(part, size, "{*}");
        else
            snprintf(part, size, "{%.100s}", mp_entry_key(g, &e, kb, sizeof kb));
        return;
    }
    uint32_t off = mp_paths_via_offset(g, p, o);
    if (off == MP_NO_OFFSET)
        snprintf(part, size, "%.100s+?", mp_graph_type_name(g, par));
    else
        snprintf(part, size, "%.100s+%" PRIu32, mp_graph_type_name(g, par), off);
}

/* The way to object o on its path (see mp_map_way) into buf. */
static void obj_way(const mp_graph *g, const mp_paths *p, uint32_t o, char *buf, size_t size)
{
    assert(size > 0);
    buf[0] = 0;
    if (o == MP_NONE || o >= g->nobjects) return;
    size_t len = 0, step = 0;
    /* bounded by the object count: a corrupt parent array cannot loop */
    for (; step < g->nobjects && p->parent[o] != MP_NONE; step++, o = p->parent[o]) {
        char part[160];
        if (step == WAY_STEPS) {
            size_t more = 0;
            for (uint32_t x = o; p->parent[x] != MP_NONE && more < g->nobjects; x = p->parent[x])
                more++;
            snprintf(part, sizeof part, "<+%zu", more);
        } else {
            if (step) part[0] = '<';
            way_step(g, p, p->parent[o], o, part + (step > 0), sizeof part - 1);
        }
        size_t n = strlen(part);
        if (len + n >= size) break;
        memcpy(buf + len, part, n + 1);
        len += n;
        if (step == WAY_STEPS) break;
    }
}

void mp_map_way(const mp_graph *g, const mp_paths *p, uint32_t m, char *buf, size_t size)
{
    obj_way(g, p, g->maps[m].header, buf, size);
}

/* The way to a sync.Map that no global holds, whichever of its maps map m
 * is: the way to the struct holding it (the map header's holder, or the
 * read box's, typed sync.readOnly) and "<sync.Map", so that the one map
 * is followed from one form to the other. */
static void sync_map_way(const mp_graph *g, const mp_paths *p, uint32_t m, char *buf,
                         size_t size)
{
    uint32_t o = g->maps[m].header;
    uint32_t up = o != MP_NONE && o < g->nobjects ? p->parent[o] : MP_NONE;
    if (up != MP_NONE && strcmp(mp_graph_type_name(g, up), "sync.readOnly") == 0)
        up = p->parent[up];
    char to[1024];
    obj_way(g, p, up, to, sizeof to);
    snprintf(buf, size, "sync.Map<%s", to);
}

/* Orders of indices into an identity array (qsort_r's context). */
/* Type, holder and the holder's thread: what two maps of one identity
 * share (see map_match.h). */
static int cmp_holder(const mp_map_ident *a, const mp_map_ident *b)
{
    int c = strcmp(a->type, b->type);
    if (!c) c = strcmp(a->holder, b->holder);
    if (!c) c = (a->frame_thread > b->frame_thread) - (a->frame_thread < b->frame_thread);
    return c;
}

static int cmp_identity(const void *x, const void *y, void *base)
{
    const mp_map_ident *v = base, *a = &v[*(const uint32_t *)x], *b = &v[*(const uint32_t *)y];
    int c = cmp_holder(a, b);
    if (!c) c = (a->address > b->address) - (a->address < b->address);
    return c;
}

static int cmp_address(const void *x, const void *y, void *base)
{
    const mp_map_ident *v = base, *a = &v[*(const uint32_t *)x], *b = &v[*(const uint32_t *)y];
    return (a->address > b->address) - (a->address < b->address);
}

static void sort_indices(uint32_t *ix, size_t n, const mp_map_ident *base,
                         int (*cmp)(const void *, const void *, void *))
{
    if (n > 1) qsort_r(ix, n, sizeof *ix, cmp, (void *)base);
}

/* The frame of holder r, when it is one, into v (see map_match.h): its
 * thread, and the frame's lowest address when the root is a stack word
 * whose offset in its frame is known. */
static void frame_of(const mp_graph *g, uint32_t r, mp_map_ident *v)
{
    v->frame_thread = v->frame_base = 0;
    if (r >= g->nroots) return;
    const mp_root *x = &g->roots[r];
    if (x->kind != MP_ROOT_STACK && x->kind != MP_ROOT_REGISTER && x->kind != MP_ROOT_ITERATOR)
        return;
    v->frame_thread = (uint64_t)x->thread + 1;
    if (x->kind != MP_ROOT_REGISTER && x->has_frame_offset && x->slot >= x->frame_offset)
        v->frame_base = x->slot - x->frame_offset;
}

/* The ordinals of v[0..n) (see map_match.h): runs of equal type and
 * holder, by address. Returns v, or frees it and returns NULL when !ok
 * (its making ran out of memory) or when out of memory now. */
static mp_map_ident *set_ordinals(mp_map_ident *v, size_t n, bool ok)
{
    uint32_t *ix = ok ? malloc((n ? n : 1) * sizeof *ix) : NULL;
    if (!ix) {
        mp_map_idents_free(v, n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) ix[i] = (uint32_t)i;
    sort_indices(ix, n, v, cmp_identity);
    for (size_t i = 0; i < n; i++) {
        const mp_map_ident *p = i ? &v[ix[i - 1]] : NULL, *c = &v[ix[i]];
        bool same = p && strcmp(p->type, c->type) == 0 && strcmp(p->holder, c->holder) == 0;
        v[ix[i]].ordinal = same ? p->ordinal + 1 : 0;
    }
    free(ix);
    return v;
}

/* The texts of identity v, copied ("map" for a type without a name);
 * false when out of memory. */
static bool set_texts(mp_map_ident *v, const char *type, const char *holder, const char *way)
{
    v->type = strdup(*type ? type : "map");
    v->holder = strdup(holder);
    v->way = strdup(way);
    return v->type && v->holder && v->way;
}

/* The address of the bucket array map m points at, 0 when it has none
 * (or the object is unknown). */
static uint64_t bucket_array_address(const mp_graph *g, const mp_map *m)
{
    return m->buckets < g->nobjects ? mp_obj_addr(g, m->buckets) : 0;
}

mp_map_ident *mp_map_idents(const mp_graph *g, const mp_paths *p, const mp_findings *f)
{
    size_t n = g->nmaps;
    mp_map_ident *v = calloc(n ? n : 1, sizeof *v);
    bool ok = v != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        char holder[512], way[1024];
        mp_root_holder(g, f->maps[i].path_root, holder, sizeof holder);
        mp_map_way(g, p, (uint32_t)i, way, sizeof way);
        mp_sid container = mp_map_aside_of(g, &g->maps[i])->container;
        if (g->maps[i].sync_map && container) { /* held by its own word: dirty, or read's box */
            snprintf(holder, sizeof holder, "global %s", mp_str(g, container));
            snprintf(way, sizeof way, "sync.Map");
        } else if (g->maps[i].sync_map) {
            sync_map_way(g, p, (uint32_t)i, way, sizeof way);
        }
        v[i].address = g->maps[i].address;
        v[i].hash0 = g->maps[i].hash0;
        v[i].hash0_known = g->maps[i].hash0_known;
        v[i].buckets = bucket_array_address(g, &g->maps[i]);
        v[i].B = g->maps[i].B;
        frame_of(g, f->maps[i].path_root, &v[i]);
        ok = set_texts(&v[i], mp_str(g, g->maps[i].type_name), holder, way) &&
             take_sample(g, (uint32_t)i, &v[i]);
    }
    return v ? set_ordinals(v, n, ok) : NULL;
}

mp_map_ident *mp_group_idents(const mp_graph *g, const mp_paths *p, const mp_groups *gr)
{
    size_t n = gr->n;
    mp_map_ident *v = calloc(n ? n : 1, sizeof *v);
    bool ok = v != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const mp_group *gp = &gr->groups[i];
        bool obj = gp->holder < g->nobjects;
        uint32_t r = obj ? p->root[gp->holder] : gp->holder - (uint32_t)g->nobjects;
        char holder[512], way[1024] = "";
        /* one variable of several threads: the variable, whichever threads */
        bool var = gp->ntops > 1 && mp_root_variable(g, r, holder, sizeof holder);
        if (!var) mp_root_holder(g, r, holder, sizeof holder);
        if (obj) obj_way(g, p, gp->holder, way, sizeof way);
        v[i].address = obj ? mp_obj_addr(g, gp->holder) : 0;
        if (!var) frame_of(g, r, &v[i]);
        ok = set_texts(&v[i], mp_str(g, g->maps[gp->type_map].type_name), holder, way);
    }
    return v ? set_ordinals(v, n, ok) : NULL;
}

bool mp_same_run(const mp_graph *a, const mp_graph *b)
{
    return a->info.pid != 0 && a->info.pid == b->info.pid &&
           strcmp(mp_str(a, a->info.program), mp_str(b, b->info.program)) == 0;
}

/* Identity orders with the way (qsort_r's context). */
static int cmp_identity_way(const void *x, const void *y, void *base)
{
    const mp_map_ident *v = base, *a = &v[*(const uint32_t *)x], *b = &v[*(const uint32_t *)y];
    int c = cmp_holder(a, b);
    if (!c) c = strcmp(a->way, b->way);
    if (!c) c = (a->address > b->address) - (a->address < b->address);
    return c;
}

static int cmp_group(const mp_map_ident *x, const mp_map_ident *y, bool way)
{
    int c = cmp_holder(x, y);
    if (!c && way) c = strcmp(x->way, y->way);
    return c;
}

/* Whether x and y, of one identity in two snapshots of one run, may be
 * one map's place: not when both say where their frames lie and the
 * frames lie apart (the function returned, and the thread called it
 * again elsewhere). */
static bool same_frame(const mp_map_ident *x, const mp_map_ident *y)
{
    return !x->frame_base || !y->frame_base || x->frame_base == y->frame_base;
}

/* The maps of a and b not matched yet, by type and holder (and way, with
 * way): within each such group the i-th of A (by address) is the i-th of
 * B. Marks the maps of A it matches in used_a. */
static int match_by_identity(const mp_map_ident *a, size_t na, const mp_map_ident *b, size_t nb,
                             bool way, bool same_run, bool *used_a, int32_t *b_to_a)
{
    uint32_t *la = malloc((na ? na : 1) * sizeof *la), *lb = malloc((nb ? nb : 1) * sizeof *lb);
    if (!la || !lb) {
        free(la);
        free(lb);
        return -1;
    }
    size_t ka = 0, kb = 0;
    for (size_t i = 0; i < na; i++)
        if (!used_a[i]) la[ka++] = (uint32_t)i;
    for (size_t i = 0; i < nb; i++)
        if (b_to_a[i] < 0) lb[kb++] = (uint32_t)i;
    sort_indices(la, ka, a, way ? cmp_identity_way : cmp_identity);
    sort_indices(lb, kb, b, way ? cmp_identity_way : cmp_identity);
    size_t i = 0, j = 0;
    while (i < ka && j < kb) {
        int c = cmp_group(&a[la[i]], &b[lb[j]], way);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            if (!same_run || same_frame(&a[la[i]], &b[lb[j]])) {
                b_to_a[lb[j]] = (int32_t)la[i];
                used_a[la[i]] = true;
            }
            i++;
            j++;
        }
    }
    free(la);
    free(lb);
    return 0;
}

/* Does y hold most of x's keys (more than half), as far as their key
 * sketches tell? Each sketch holds every key of its map whose hash is at
 * most its largest (all of them when it is not full), so of x's sketched
 * keys those up to y's largest are the ones y's sketch decides: y holds
 * such a key exactly when its sketch has it. None decided (a map without
 * keys, or y so much larger that x's sketch lies above y's): no. */
static bool keeps_most_keys(const mp_map_ident *x, const mp_map_ident *y)
{
    if (!x->nkeys || !y->nkeys) return false;
    uint64_t reach = y->nkeys < MP_MAP_SAMPLE ? UINT64_MAX : y->keys[y->nkeys - 1];
    uint32_t decided = 0, held = 0;
    for (uint32_t i = 0; i < x->nkeys && x->keys[i] <= reach; i++) {
        decided++;
        held += has_hash(y->keys, y->nkeys, x->keys[i]);
    }
    return decided && held > decided / 2;
}

/* Are x and y, at one address in two snapshots of one run, one map? The
 * type must agree, and the seed where both snapshots know it: a new map
 * made where a freed header was draws a seed of its own. A map cleared or
 * emptied draws a new seed too, but keeps its bucket array: a changed
 * seed is the same map's when the header points at the same bucket array
 * of the same size and y holds most of x's keys -- a new map that the
 * allocator put in the old one's header and bucket array has its own
 * entries (map_match.h). */
static bool same_map(const mp_map_ident *x, const mp_map_ident *y)
{
    assert(x->address == y->address);
    if (strcmp(x->type, y->type) != 0) return false;
    if (!x->hash0_known || !y->hash0_known || x->hash0 == y->hash0) return true;
    return x->buckets && x->buckets == y->buckets && x->B == y->B && keeps_most_keys(x, y);
}

/* The map of B that succeeds map x of A copy-on-write (map_match.h), or
 * -1: of B's maps lb[0..kb) (those not matched by address, in
 * cmp_identity_way's order) not yet taken, those of x's type, holder, way
 * and frame, the one that holds most of x's sample, more than half of it
 * (the first of the group by address on a tie), looking at no more than
 * MP_MAP_SUCCESSORS of them. */
static int32_t successor(const mp_map_ident *x, const mp_map_ident *b, const uint32_t *lb,
                         size_t kb, const bool *taken, const mp_graph *gb)
{
    size_t lo = 0, hi = kb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_group(&b[lb[mid]], x, true) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int32_t best = -1;
    uint32_t most = x->nsample / 2;
    for (size_t j = lo, seen = 0;
         j < kb && seen < MP_MAP_SUCCESSORS && cmp_group(&b[lb[j]], x, true) == 0; j++) {
        uint32_t y = lb[j];
        if (taken[y] || !same_frame(x, &b[y])) continue;
        seen++;
        uint32_t held = sample_held(gb, y, x->sample, x->nsample);
        if (held > most) {
            most = held;
            best = (int32_t)y;
        }
    }
    return best;
}

/* After the matching by address: each map of A matched with a map of B
 * under another holder gives way to its copy-on-write successor, when B
 * has one (map_match.h). Marks nothing new in A: its map is still
 * matched, with the successor. -1 when out of memory. */
static int prefer_successors(const mp_map_ident *a, const mp_map_ident *b, size_t nb,
                             const mp_graph *gb, int32_t *b_to_a)
{
    assert(nb == gb->nmaps);
    uint32_t *lb = malloc((nb ? nb : 1) * sizeof *lb);
    bool *taken = calloc(nb ? nb : 1, sizeof *taken);
    if (!lb || !taken) {
        free(lb);
        free(taken);
        return -1;
    }
    size_t kb = 0;
    for (size_t i = 0; i < nb; i++)
        if (b_to_a[i] < 0) lb[kb++] = (uint32_t)i;
    sort_indices(lb, kb, b, cmp_identity_way);
    for (size_t z = 0; z < nb && kb; z++) {
        int32_t xa = b_to_a[z];
        if (xa < 0 || !a[xa].nsample || cmp_holder(&a[xa], &b[z]) == 0) continue;
        int32_t y = successor(&a[xa], b, lb, kb, taken, gb);
        if (y < 0) continue;
        b_to_a[y] = xa;
        b_to_a[z] = -1;
        taken[y] = true;
    }
    free(lb);
    free(taken);
    return 0;
}

/* mp_map_match, and mp_group_match without the matching by address. */
static int match(const mp_map_ident *a, size_t na, const mp_map_ident *b, size_t nb,
                 const mp_graph *gb, bool same_run, bool by_address, int32_t *b_to_a)
{
    for (size_t i = 0; i < nb; i++) b_to_a[i] = -1;
    bool *used = calloc(na ? na : 1, sizeof *used);
    if (!used) return -1;
    if (same_run && by_address) {
        uint32_t *la = malloc((na ? na : 1) * sizeof *la), *lb = malloc((nb ? nb : 1) * sizeof *lb);
        if (!la || !lb) {
            free(la);
            free(lb);
            free(used);
            return -1;
        }
        for (size_t i = 0; i < na; i++) la[i] = (uint32_t)i;
        for (size_t i = 0; i < nb; i++) lb[i] = (uint32_t)i;
        sort_indices(la, na, a, cmp_address);
        sort_indices(lb, nb, b, cmp_address);
        for (size_t i = 0, j = 0; i < na && j < nb;) {
            const mp_map_ident *x = &a[la[i]], *y = &b[lb[j]];
            if (x->address < y->address) {
                i++;
            } else if (x->address > y->address) {
                j++;
            } else {
                if (same_map(x, y)) {
                    b_to_a[lb[j]] = (int32_t)la[i];
                    used[la[i]] = true;
                }
                i++;
                j++;
            }
        }
        free(la);
        free(lb);
        if (gb && prefer_successors(a, b, nb, gb, b_to_a)) {
            free(used);
            return -1;
        }
    }
    int rc = match_by_identity(a, na, b, nb, true, same_run, used, b_to_a);
    if (!rc) rc = match_by_identity(a, na, b, nb, false, same_run, used, b_to_a);
    free(used);
    return rc;
}

int mp_map_match(const mp_map_ident *a, size_t na, const mp_map_ident *b, size_t nb,
                 const mp_graph *gb, bool same_run, int32_t *b_to_a)
{
    return match(a, na, b, nb, gb, same_run, true, b_to_a);
}

int mp_group_match(const mp_map_ident *a, size_t na, const mp_map_ident *b, size_t nb,
                   bool same_run, int32_t *b_to_a)
{
    return match(a, na, b, nb, NULL, same_run, false, b_to_a);
}
