/*
 * src/analyze/load_godump_graph.c -- what a Go heap dump's roots reach,
 * handed to the graph builder (graph.h).
 *
 * Reachable objects are added in address order (heap objects, then frame
 * objects), each renumbered to its provisional graph index; then the roots,
 * with the names Go would give them (a global's symbol, a sync.Map's field,
 * a goroutine frame's function); then every map with its table -- buckets,
 * overflow and old buckets, mapextra and its lists, and for a sync.Map the
 * read map and the readOnly box that its dirty map stands for -- and its
 * entries; last, the allocation samples of the memory profile. The
 * loader's state: load_godump_internal.h.
 */
#include "analyze/load_godump.h"

#include "analyze/display_path.h"
#include "analyze/load_godump_internal.h"
#include "format/names.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ graph --- */

typedef struct graphing {
    mp_graph_builder *b;
    uint32_t *newix; /* unified -> provisional graph index, MP_NONE unreachable */
    uint32_t t_hmap, t_bucket, t_extra, t_list, t_frame;
} graphing;

/* The name of a sync.Map's word that holds one of its maps, as Go names
 * the field: "main.sessionStore.dirty", "main.sessionStore.read" (the
 * atomic value's data word); false for any other word. */
static bool sync_map_word(const loader *L, uint64_t slot, char *buf, size_t size)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t dirty_off = ptr_read ? 16 : 24, read_off = ptr_read ? 8 : 16;
    for (size_t i = 0; i < L->npairs; i++) {
        uint64_t base = L->pairs[i].base;
        if (slot != base + dirty_off && slot != base + read_off) continue;
        char name[256];
        if (!L->mem.bin || !mp_gobin_symbol(L->mem.bin, base, name, sizeof name)) return false;
        snprintf(buf, size, "%s.%s", name, slot == base + dirty_off ? "dirty" : "read");
        return true;
    }
    return false;
}

/* The name of a global's address a: the binary's symbol ("main.tables+8"),
 * else its segment and offset ("bss+0x7c8", as `go tool nm` places it). */
static void global_name(const loader *L, uint64_t a, char *buf, size_t size)
{
    const mf_gd_dump *d = L->mem.d;
    if (L->mem.bin && mp_gobin_symbol(L->mem.bin, a, buf, size)) return;
    bool bss = d->bss_seg.present && a - d->bss_seg.start < d->bss_seg.contents.len;
    snprintf(buf, size, "%s+0x%" PRIx64, bss ? "bss" : "data",
             a - (bss ? d->bss_seg.start : d->data_seg.start));
}

static mp_sid root_name(loader *L, mp_graph_builder *b, const rootw *x)
{
    char buf[300];
    const mf_gd_dump *d = L->mem.d;
    if (x->kind == MP_ROOT_GLOBAL || (x->kind == MP_ROOT_RUNTIME && x->frame == NONE)) {
        if (sync_map_word(L, x->slot, buf, sizeof buf)) return mp_gb_intern(b, buf);
        global_name(L, x->slot, buf, sizeof buf);
        return mp_gb_intern(b, buf);
    }
    if (x->kind == MP_ROOT_FINALIZER) {
        const mf_gd_finalizer *f = &d->finalizers[x->finalizer];
        snprintf(buf, sizeof buf, "%sfinalizer of 0x%" PRIx64, f->queued ? "queued " : "", f->obj);
        return mp_gb_intern(b, buf);
    }
    return 0;
}

static void add_roots(loader *L, graphing *G)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t i = 0; i < L->nroots; i++) {
        rootw *x = &L->roots[i];
        if (x->kind == MP_ROOT_GLOBAL && L->mem.bin) {
            char buf[300];
            if (mp_gobin_symbol(L->mem.bin, x->slot, buf, sizeof buf) &&
                (strncmp(buf, "runtime.", 8) == 0 || strncmp(buf, "internal/", 9) == 0))
                x->kind = MP_ROOT_RUNTIME;
        }
        mp_root r = {.kind = x->kind, .slot = x->slot, .target = G->newix[x->target]};
        r.name = root_name(L, G->b, x);
        if (x->frame != NONE) {
            const mf_gd_frame *f = &d->frames[x->frame];
            const mf_gd_goroutine *g = &d->goroutines[f->goroutine];
            r.thread = (uint32_t)g->goid;
            r.frame = (uint32_t)f->depth;
            r.has_frame_offset = true;
            r.frame_offset = x->frame_off;
            r.function = mp_gb_string(G->b, (const char *)d->data + f->name.off, f->name.len);
            char st[64];
            if (g->waitreason.len)
                snprintf(st, sizeof st, "%.*s", (int)g->waitreason.len,
                         (const char *)d->data + g->waitreason.off);
            else
                snprintf(st, sizeof st, "%s",
                         g->status == 1   ? "runnable"
                         : g->status == 3 ? "syscall"
                                          : "");
            r.state = mp_gb_intern(G->b, st);
            const char *file;
            int line;
            if (L->mem.bin &&
                mp_gobin_line(L->mem.bin, f->pc > f->entry ? f->pc - 1 : f->pc, &file, &line)) {
                char shown[1024];
                r.file = mp_gb_intern(G->b, mp_display_path(file, shown, sizeof shown));
                r.line = line;
            }
        } else if (x->kind == MP_ROOT_GLOBAL && L->mem.bin) {
            (void)0;
        }
        mp_gb_root(G->b, &r, 0);
    }
}

/* The allocation stacks of the memory profile, and the sampled objects. */
static int add_samples(loader *L, graphing *G)
{
    const mf_gd_dump *d = L->mem.d;
    if (!d->nsamples || !d->nmemprof) return 0;
    /* (bucket address, stack) pairs sorted by address, for the samples */
    struct pair {
        uint64_t addr;
        uint32_t stack;
    } *by = malloc(d->nmemprof * sizeof *by);
    if (!by) return -1;
    mp_gframe fr[64];
    for (size_t i = 0; i < d->nmemprof; i++) {
        const mf_gd_memprof *m = &d->memprof[i];
        uint64_t pos = m->frames;
        size_t k = 0;
        for (uint64_t j = 0; j < m->nstk; j++) {
            mf_gd_bytes fn, file;
            uint64_t line;
            mf_gd_memprof_next(d, &pos, &fn, &file, &line);
            if (k == 64) continue;
            char fb[256], fl[512];
            snprintf(fb, sizeof fb, "%.*s", (int)(fn.len < 255 ? fn.len : 255),
                     (const char *)d->data + fn.off);
            snprintf(fl, sizeof fl, "%.*s", (int)(file.len < 511 ? file.len : 511),
                     (const char *)d->data + file.off);
            char shown[512];
            mp_display_path(fl, shown, sizeof shown);
            fr[k++] = mp_gb_frame(G->b, fb, shown, line <= INT32_MAX ? (int64_t)line : 0);
        }
        by[i].addr = m->addr;
        by[i].stack = mp_gb_stack(G->b, fr, k);
    }
    _Static_assert(offsetof(struct pair, addr) == 0, "sorted by the leading address");
    qsort(by, d->nmemprof, sizeof *by, cmp_u64);
    for (size_t s = 0; s < d->nsamples; s++) {
        size_t lo = 0, hi = d->nmemprof;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (by[mid].addr < d->samples[s].bucket)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == d->nmemprof || by[lo].addr != d->samples[s].bucket) continue;
        size_t o = mf_gd_find(d, d->samples[s].obj);
        if (o == SIZE_MAX || G->newix[o] == MP_NONE || by[lo].stack == MP_NONE) continue;
        mp_gb_object_stack(G->b, G->newix[o], by[lo].stack);
    }
    free(by);
    return 0;
}

/* Types for what the dump leaves untyped: map headers and buckets (the
 * objects holding a recognised map's table), and, with the binary, the
 * objects a map's pointer values point to. */
static void type_table(loader *L, graphing *G, const mp_gomap *m)
{
    uint32_t objs[3] = {m->obj, NONE, NONE};
    uint32_t types[3] = {G->t_hmap, G->t_bucket, G->t_bucket};
    if (m->buckets) objs[1] = mp_gdmem_find(&L->mem, m->buckets);
    if (m->oldbuckets) objs[2] = mp_gdmem_find(&L->mem, m->oldbuckets);
    for (int i = 0; i < 3; i++)
        if (objs[i] != NONE && G->newix[objs[i]] != MP_NONE)
            mp_gb_object_type(G->b, G->newix[objs[i]], types[i]);
}

/* mapextra and the overflow lists it keeps (pointer-free maps keep their
 * overflow buckets alive through them): part of the table, no buckets. */
static void add_extra(loader *L, graphing *G, const mp_gomap *m, uint32_t map)
{
    if (!m->extra) return;
    uint32_t ex = mp_gdmem_find(&L->mem, m->extra);
    if (ex == NONE || G->newix[ex] == MP_NONE) return;
    uint32_t objs[5] = {ex, NONE, NONE, NONE, NONE};
    size_t n = 1;
    const uint8_t *p = mp_gdmem_read(&L->mem, m->extra, 16);
    for (int j = 0; p && j < 2; j++) { /* overflow, oldoverflow: *[]*bmap */
        uint64_t sl = mp_gd_rd64(p + 8 * j);
        const uint8_t *hdr = sl ? mp_gdmem_read(&L->mem, sl, 8) : NULL;
        uint32_t so = sl ? mp_gdmem_find(&L->mem, sl) : NONE;
        if (so == NONE) continue;
        objs[n++] = so;
        uint32_t arr = hdr && mp_gd_rd64(hdr) ? mp_gdmem_find(&L->mem, mp_gd_rd64(hdr)) : NONE;
        if (arr != NONE) objs[n++] = arr;
    }
    for (size_t i = 0; i < n; i++) {
        if (G->newix[objs[i]] == MP_NONE) continue;
        mp_bucket bk = {.map = map, .obj = G->newix[objs[i]], .index = UINT64_MAX, .aux = 1};
        mp_gb_bucket(G->b, &bk, 0);
        mp_gb_object_type(G->b, G->newix[objs[i]], i == 0 ? G->t_extra : G->t_list);
    }
}

/* An object of map `map`'s table that holds no slots (graph.h: aux). */
static void add_aux(loader *L, graphing *G, uint32_t map, uint64_t a)
{
    uint32_t o = a ? mp_gdmem_find(&L->mem, a) : NONE;
    if (o == NONE || G->newix[o] == MP_NONE) return;
    mp_bucket bk = {.map = map, .obj = G->newix[o], .index = UINT64_MAX, .aux = 1};
    mp_gb_bucket(G->b, &bk, 0);
}

/* The bucket arrays of map r and the overflow buckets chained to them, as
 * objects of another map's table (map): its header the caller adds. A
 * chain goes on through the spare buckets an array holds past its own
 * (already in, with the array) and ends at nil or at the array's start
 * (where Go's last spare bucket points); the hops over all chains of an
 * array are bounded by what a recognised map can have (the dump is not
 * trusted). *nmain: the main buckets of its arrays; *noverflow: the
 * overflow buckets of their chains (spares in an array, or objects of
 * their own), as a map's own are counted. */
static void add_aux_table(loader *L, graphing *G, uint32_t map, const mp_gomap *r, uint64_t *nmain,
                          uint64_t *noverflow)
{
    *nmain = *noverflow = 0;
    uint64_t arrays[2] = {r->buckets, r->oldbuckets};
    uint64_t nb[2] = {1ull << r->B, (r->flags & 8) ? 1ull << r->B : 1ull << (r->B ? r->B - 1 : 0)};
    for (int i = 0; i < 2; i++) {
        if (!arrays[i] || !r->bs) continue;
        add_aux(L, G, map, arrays[i]);
        *nmain += nb[i];
        uint32_t arr = mp_gdmem_find(&L->mem, arrays[i]);
        uint64_t budget = 2 * nb[i] + r->count + r->noverflow + 64;
        for (uint64_t b = 0; b < nb[i] && arr != NONE && budget; b++) {
            for (uint64_t at = arrays[i] + b * r->bs; budget; budget--) {
                const uint8_t *w = mp_gdmem_read(&L->mem, at + r->bs - 8, 8);
                uint64_t next = w ? mp_gd_rd64(w) : 0;
                if (!next || next == arrays[i]) break;
                if (mp_gdmem_find(&L->mem, next) != arr) add_aux(L, G, map, next);
                ++*noverflow;
                at = next;
            }
        }
    }
    if (r->extra) add_aux(L, G, map, r->extra);
}

/* The readOnly struct a sync.Map's atomic value boxes its read map in,
 * typed as Go names it. */
static void type_box(loader *L, graphing *G, const struct syncpair *p)
{
    uint32_t o = p->box ? mp_gdmem_find(&L->mem, p->box) : NONE;
    if (o != NONE && G->newix[o] != MP_NONE)
        mp_gb_object_type(G->b, G->newix[o],
                          mp_gb_type(G->b, "sync.readOnly", mp_gdmem_obj_size(&L->mem, o),
                                     MP_TYPE_STRUCT));
}

/* A sync.Map's dirty map (pair p) takes into its table the read map's
 * header, buckets and the readOnly box: one map, its entries the dirty
 * map's (every live key of the read map is there too), its bytes both. */
static void join_read_map(loader *L, graphing *G, uint32_t map, const struct syncpair *p)
{
    const mp_gomap *r = &L->maps[p->read];
    add_aux(L, G, map, p->box);
    type_box(L, G, p);
    add_aux(L, G, map, r->addr);
    uint64_t nmain, noverflow;
    add_aux_table(L, G, map, r, &nmain, &noverflow);
    mp_gb_map_sync_read(G->b, map, nmain, noverflow);
    type_table(L, G, r);
}

/* The key kind of map mi (m) where only its entries tell it: keys of an
 * interface type are pointer keys when every key's dynamic type is a
 * pointer (mp_gomap_key_kind). When they are not, or not all of them
 * could be told, the key type (an interface type, of such maps alone: a
 * map whose keys are pointers is judged by its key kind first) says that
 * keeping a key keeps no pointer of the program's (findings.h,
 * POINTER_KEYS): a boxed string or number is the key's value, as a
 * string key's bytes are. */
static void key_kind_of_entries(graphing *G, const mp_gomap *m, uint32_t mi, uint32_t key_type)
{
    uint8_t kind = mp_gomap_key_kind(m);
    if (kind == m->key_kind) return;
    mp_gb_map_key_kind(G->b, mi, kind);
    if (kind != MP_KEY_PTR && key_type != MP_NONE)
        mp_gb_type_pointers(G->b, key_type, MP_PTRS_NONE);
}

static int add_maps(loader *L, graphing *G)
{
    for (size_t k = 0; k < L->nmaps; k++) {
        mp_gomap *m = &L->maps[k];
        if (G->newix[m->obj] == MP_NONE || mp_gdl_is_read_of_pair(L, k)) continue;
        const struct syncpair *pair = mp_gdl_sync_map_of(L, k);
        bool joined = pair && pair->dirty != SIZE_MAX && pair->read != SIZE_MAX;
        mp_map x = {.header = G->newix[m->obj],
                    .address = m->addr,
                    .type_name = mp_gb_intern(G->b, m->name),
                    .key_kind = m->key_kind,
                    .key_type = MP_NONE,
                    .value_type = MP_NONE,
                    .count = m->count,
                    .B = m->B,
                    .flags = m->flags,
                    .noverflow = m->noverflow,
                    .hash0 = m->hash0,
                    .hash0_known = true,
                    .buckets = MP_NONE,
                    .oldbuckets = MP_NONE,
                    .bucket_size = m->bs,
                    .key_size = m->ksize,
                    .value_size = m->vsize,
                    .types_inferred = m->inferred,
                    .sync_map = !pair ? MP_SYNC_NONE : joined ? MP_SYNC_JOINED : MP_SYNC_ALONE};
        mp_map_aside aside = {.nevacuate = m->nevacuate};
        if (pair && mp_gdl_in_globals(L, pair->base)) { /* else on the heap or a stack: no name */
            char name[300];
            global_name(L, pair->base, name, sizeof name);
            aside.container = mp_gb_intern(G->b, name);
        }
        uint32_t o;
        if (m->buckets && (o = mp_gdmem_find(&L->mem, m->buckets)) != NONE) x.buckets = G->newix[o];
        if (m->oldbuckets && (o = mp_gdmem_find(&L->mem, m->oldbuckets)) != NONE) {
            x.oldbuckets = G->newix[o];
            aside.noldbuckets = (m->flags & 8) ? 1ull << m->B : 1ull << (m->B ? m->B - 1 : 0);
        }
        /* the value type: what the objects values point to are (with the
         * binary), else the value slot's type */
        if (m->type && !m->inferred) {
            const char *vn = m->type->value_name;
            if (m->type->value_kind == MP_GOKIND_PTR && vn[0] == '*')
                x.value_type = mp_gb_type(G->b, vn + 1, 0, MP_TYPE_STRUCT);
            else
                x.value_type = mp_gb_type(G->b, vn, m->vsize, MP_TYPE_OTHER);
            x.key_type = mp_gb_type(G->b, m->type->key_name, m->type->key_size,
                                    m->key_kind == MP_KEY_STRING ? MP_TYPE_STRING : MP_TYPE_OTHER);
        } else if (m->bs) {
            char vn[40];
            mp_gomap_value_name(vn, sizeof vn, m);
            x.value_type = mp_gb_type(G->b, vn, m->vsize, MP_TYPE_OTHER);
            bool itab;
            if (mp_gomap_interface_keys(m, &itab)) /* told by their shape */
                x.key_type = mp_gb_type(G->b, itab ? "interface {...}" : "interface {}", 16,
                                        MP_TYPE_OTHER);
        }
        uint32_t mi = mp_gb_map(G->b, &x, &aside);
        if (mi == MP_NONE) return -1;
        type_table(L, G, m);
        mp_gomap_emit(&L->mem, m, G->b, G->newix, mi,
                      m->type && !m->inferred && m->type->value_kind == MP_GOKIND_PTR ? x.value_type
                                                                                      : MP_NONE);
        mp_gb_map_nan_keys(G->b, mi, m->nan_keys);
        key_kind_of_entries(G, m, mi, x.key_type);
        add_extra(L, G, m, mi);
        if (joined)
            join_read_map(L, G, mi, pair);
        else if (pair)
            type_box(L, G, pair);
    }
    return 0;
}

/* Every reachable object, heap and frame objects merged in address order,
 * with its edges; newix maps unified indices to the builder's. */
static int add_objects(loader *L, graphing *G, size_t nreached)
{
    const mf_gd_dump *d = L->mem.d;
    size_t n = mp_gdmem_nobj(&L->mem);
    G->newix = malloc((n ? n : 1) * sizeof *G->newix);
    uint64_t *addr = malloc((nreached ? nreached : 1) * sizeof *addr);
    uint64_t *size = malloc((nreached ? nreached : 1) * sizeof *size);
    uint32_t *type = malloc((nreached ? nreached : 1) * sizeof *type);
    uint32_t *order = malloc((nreached ? nreached : 1) * sizeof *order);
    if (!G->newix || !addr || !size || !type || !order) {
        free(addr), free(size), free(type), free(order);
        return -1;
    }
    size_t k = 0, h = 0, f = 0;
    while (h < L->mem.nheap || f < L->mem.nfobjs) {
        bool take_heap =
            f == L->mem.nfobjs || (h < L->mem.nheap && d->objects[h].addr < L->mem.fobjs[f].addr);
        uint32_t u = take_heap ? (uint32_t)h++ : (uint32_t)(L->mem.nheap + f++);
        if (!L->reached[u]) {
            G->newix[u] = MP_NONE;
            continue;
        }
        G->newix[u] = (uint32_t)k;
        order[k] = u;
        addr[k] = mp_gdmem_obj_addr(&L->mem, u);
        size[k] = mp_gdmem_obj_size(&L->mem, u);
        type[k] = u >= L->mem.nheap ? G->t_frame : MP_NONE;
        k++;
    }
    mp_gb_adopt_objects(G->b, addr, size, type, k);
    /* each edge with its offset (the fields in the order resolve_edges
     * took them): what a map entry holds is the bucket's pointers in its
     * key and value slots */
    for (size_t i = 0; i < k; i++) {
        uint32_t u = order[i];
        uint64_t e = L->estart[u];
        if (u < L->mem.nheap) {
            const mf_gd_object *o = &d->objects[u];
            uint64_t pos = o->fields;
            for (uint32_t f2 = 0; f2 < o->nfields; f2++, e++) {
                uint64_t off = mf_gd_next_field(d, &pos);
                if (L->edst[e] != NONE) mp_gb_edge_at(G->b, (uint32_t)i, G->newix[L->edst[e]], off);
            }
        } else {
            const mp_gd_fobj *x = &L->mem.fobjs[u - L->mem.nheap];
            for (unsigned w = 0; w < 320 && 8ull * w + 8 <= x->size; w++) {
                if (!mp_gd_bit_get(x->pat, w)) continue;
                if (L->edst[e] != NONE)
                    mp_gb_edge_at(G->b, (uint32_t)i, G->newix[L->edst[e]], 8ull * w);
                e++;
            }
        }
    }
    free(order);
    return 0;
}

/* The graph of what the dump's roots reach: objects (heap and frame
 * objects) in address order, roots, maps with their tables and entries,
 * and the allocation samples. */
int mp_gdl_graph(loader *L, const char *binary, const char *version, uint64_t nreached,
                 mp_graph **out)
{
    const mf_gd_dump *d = L->mem.d;
    graphing G = {.b = mp_gb_new(d->name, "godump")};
    if (!G.b) return mp_gdl_oom(L);
    uint64_t unreached_bytes = 0;
    for (size_t i = 0; i < mp_gdmem_nobj(&L->mem); i++)
        if (!L->reached[i]) unreached_bytes += mp_gdmem_obj_size(&L->mem, (uint32_t)i);
    mp_gb_set_info(G.b, binary ? mf_path_base(binary) : "", 0, 0, (uint32_t)d->num_gc, 8, 0,
                   d->memstats[MF_GD_MS_HEAP_ALLOC]);
    mp_gb_set_origin(G.b, "goroutine", version, mp_gdmem_nobj(&L->mem) - nreached, unreached_bytes);
    G.t_hmap = mp_gb_type(G.b, "runtime.hmap", 48, MP_TYPE_MAP_HEADER);
    G.t_bucket = mp_gb_type(G.b, "runtime.bmap", 0, MP_TYPE_BUCKET);
    G.t_extra = mp_gb_type(G.b, "runtime.mapextra", 24, MP_TYPE_RUNTIME);
    G.t_list = mp_gb_type(G.b, "[]*runtime.bmap", 0, MP_TYPE_RUNTIME);
    G.t_frame = G.t_hmap;
    if (add_objects(L, &G, nreached)) {
        mp_gb_free(G.b);
        free(G.newix);
        return mp_gdl_oom(L);
    }
    /* frame objects that are buckets, not headers */
    for (size_t i = 0; i < L->mem.nfobjs; i++)
        if (!L->mem.fobjs[i].hmap && G.newix[L->mem.nheap + i] != MP_NONE)
            mp_gb_object_type(G.b, G.newix[L->mem.nheap + i], G.t_bucket);
    add_roots(L, &G);
    if (add_maps(L, &G) || add_samples(L, &G) || L->mem.oom) {
        mp_gb_free(G.b);
        free(G.newix);
        return mp_gdl_oom(L);
    }
    free(G.newix);
    return mp_gb_finish(G.b, out, L->err);
}
