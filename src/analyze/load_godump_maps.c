/*
 * src/analyze/load_godump_maps.c -- which of a Go heap dump's reachable
 * hmaps are maps, and of what type.
 *
 * An hmap is a map when its bucket arrays check out (godump_maps.c). A
 * dump has no types, so a map's key and value types come from what holds
 * it, read in the binary's DWARF when there is one: the global or frame
 * slot it sits in, the struct field or the slice, or the outer map whose
 * values are maps. A Go sync.Map keeps its entries in two maps, read and
 * dirty, which would look like two suspects sharing everything: they are
 * found (by the binary's types, or without one by their shape) and paired,
 * the pair reported as one map. Last, the maps a range iterator keeps are
 * marked. The loader's state: load_godump_internal.h.
 */
#include "analyze/load_godump.h"

#include "analyze/load_godump_internal.h"
#include "format/grow.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ maps --- */

static int add_map(loader *L, const mp_gomap *m)
{
    if (L->nmaps == L->cap_maps) {
        size_t nc = L->cap_maps ? L->cap_maps * 2 : 64;
        mp_gomap *q = realloc(L->maps, nc * sizeof *q);
        if (!q) return -1;
        L->maps = q;
        L->cap_maps = nc;
    }
    L->maps[L->nmaps++] = *m;
    return 0;
}

/* The exact map type a global gives the hmap object o: the first global
 * of a map type whose word points at it. `typed` holds (object << 32 |
 * root) of every global root, sorted. */
static const mp_gomaptype *typed_by_global(const loader *L, const uint64_t *typed, size_t ntyped,
                                           uint32_t o)
{
    size_t lo = 0, hi = ntyped;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (typed[mid] >> 32 < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ntyped && typed[lo] >> 32 == o; lo++) {
        const rootw *x = &L->roots[(uint32_t)typed[lo]];
        const mf_gd_segment *sg = x->segment ? &L->mem.d->bss_seg : &L->mem.d->data_seg;
        if (mf_gd_word(L->mem.d, sg->contents.off + (x->slot - sg->start)) !=
            mp_gdmem_obj_addr(&L->mem, o))
            continue;
        const mp_gomaptype *t = mp_gobin_global_map(L->mem.bin, x->slot);
        if (t) return t;
    }
    return NULL;
}

static int find_maps(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    /* global words holding a map: their objects, to type those maps */
    uint64_t *typed = NULL;
    size_t ntyped = 0;
    if (L->mem.bin) {
        typed = malloc((L->nroots ? L->nroots : 1) * sizeof *typed);
        if (!typed) return -1;
        for (size_t r = 0; r < L->nroots; r++)
            if (L->roots[r].kind == MP_ROOT_GLOBAL)
                typed[ntyped++] = (uint64_t)L->roots[r].target << 32 | r;
        qsort(typed, ntyped, sizeof *typed, cmp_u64);
    }
    for (size_t i = 0; i < L->mem.nheap; i++) {
        const mf_gd_object *o = &d->objects[i];
        if (!L->reached[i] || o->size != 48 || o->nfields != 3) continue;
        uint64_t pos = o->fields;
        uint64_t f0 = mf_gd_next_field(d, &pos), f1 = mf_gd_next_field(d, &pos),
                 f2 = mf_gd_next_field(d, &pos);
        if (f0 != 16 || f1 != 24 || f2 != 40) continue;
        mp_gomap m;
        const mp_gomaptype *exact =
            L->mem.bin ? typed_by_global(L, typed, ntyped, (uint32_t)i) : NULL;
        if (!exact) exact = mp_gdl_iterator_type(L, o->addr);
        if (!mp_gomap_recognise(&L->mem, o->addr, d->data + o->contents, exact, &m) &&
            !(exact && mp_gomap_recognise(&L->mem, o->addr, d->data + o->contents, NULL, &m)))
            continue;
        m.obj = (uint32_t)i;
        if (add_map(L, &m)) {
            free(typed);
            return -1;
        }
    }
    free(typed);
    for (size_t i = 0; i < L->mem.nfobjs; i++) {
        const mp_gd_fobj *x = &L->mem.fobjs[i];
        if (!x->hmap) continue;
        const uint8_t *h = d->data + d->frames[x->frame].contents.off + x->off;
        mp_gomap m;
        const mp_gomaptype *exact = mp_gdl_iterator_type(L, x->addr);
        if (!mp_gomap_recognise(&L->mem, x->addr, h, exact, &m) &&
            !(exact && mp_gomap_recognise(&L->mem, x->addr, h, NULL, &m)))
            continue;
        m.obj = (uint32_t)(L->mem.nheap + i);
        if (add_map(L, &m)) return -1;
    }
    return L->mem.oom ? -1 : 0;
}

static int cmp_map_addr(const void *a, const void *b)
{
    const mp_gomap *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const mp_gomap *map_at(const loader *L, uint64_t a)
{
    size_t lo = 0, hi = L->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->maps[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->nmaps && L->maps[lo].addr == a ? &L->maps[lo] : NULL;
}

/* The index in L->maps (sorted by address) of the map at a, or SIZE_MAX. */
static size_t map_index(const loader *L, uint64_t a)
{
    const mp_gomap *m = map_at(L, a);
    return m ? (size_t)(m - L->maps) : SIZE_MAX;
}

/* The maps the values of one map hold, with the exact type each has there
 * (a growing list). */
typedef struct held {
    uint64_t a;
    const mp_gomaptype *type;
} held;

typedef struct inner {
    mp_gdmem *M;
    const mp_gomaptype *outer; /* the type of the map whose values are read */
    held *h;
    size_t n, cap;
    bool oom;
} inner;

static void push_held(inner *in, uint64_t a, const mp_gomaptype *t)
{
    if (!a || !t || in->oom) return;
    if (!MF_GROW(in->h, in->cap, in->n + 1, 64)) {
        in->oom = true;
        return;
    }
    in->h[in->n++] = (held){a, t};
}

/* One value slot: the map it is (a map of maps), and the maps in the
 * fields of the struct it is or points to (words read from the dump; a
 * pointer to nothing the dump holds yields nothing). */
static void collect_inner(void *ud, const uint8_t *value)
{
    inner *in = ud;
    const mp_gomaptype *t = in->outer;
    if (t->value_map) push_held(in, mp_gd_rd64(value), t->value_map);
    uint64_t target = t->ninner ? mp_gd_rd64(value) : 0;
    for (uint32_t i = 0; i < t->ninner; i++) {
        const mp_goinner *x = &t->inner[i];
        if (!x->deref) {
            if ((uint64_t)x->offset + 8 <= t->value_size)
                push_held(in, mp_gd_rd64(value + x->offset), x->map);
            continue;
        }
        const uint8_t *w = target ? mp_gdmem_read(in->M, target + x->offset, 8) : NULL;
        if (w) push_held(in, mp_gd_rd64(w), x->map);
    }
}

/* Map m recognised again with exact type t, kept (true) only if it checks
 * out exactly; else m stays as it was. */
static bool retype(loader *L, mp_gomap *m, const mp_gomaptype *t)
{
    const uint8_t *hdr = mp_gdmem_read(&L->mem, m->addr, 48);
    mp_gomap typed;
    if (!hdr || !mp_gomap_recognise(&L->mem, m->addr, hdr, t, &typed) || typed.inferred)
        return false;
    typed.obj = m->obj;
    *m = typed;
    return true;
}

/* Whether maps of type t hold maps whose types follow from t's. */
static bool holds_maps(const mp_gomaptype *t)
{
    return t->value_map || t->ninner;
}

/* A map whose type is exact knows the type of the maps its values hold,
 * as values (a map of maps) or in the fields of a struct the values are
 * or point to: those were recognised by their bucket sizes alone (a guess
 * when several map types share a bucket size) and are recognised again
 * with that type, then pass it on to theirs. A worklist of the maps newly
 * typed exactly: each map enters it at most once, so a map of maps of
 * maps costs one walk per level, with no recursion. A map that does not
 * check out under the type keeps what it had. */
static int type_inner_maps(loader *L)
{
    size_t *work = malloc((L->nmaps ? L->nmaps : 1) * sizeof *work), nwork = 0;
    inner in = {.M = &L->mem};
    if (!work) return -1;
    for (size_t k = 0; k < L->nmaps; k++)
        if (L->maps[k].type && !L->maps[k].inferred && holds_maps(L->maps[k].type))
            work[nwork++] = k;
    while (nwork && !in.oom) {
        mp_gomap *outer = &L->maps[work[--nwork]];
        /* a value slot as the binary lays it out, or nothing read is sure */
        if (outer->vsize != outer->type->value_size) continue;
        in.outer = outer->type;
        in.n = 0;
        mp_gomap_values(&L->mem, outer, collect_inner, &in);
        for (size_t i = 0; i < in.n && !in.oom; i++) {
            size_t j = map_index(L, in.h[i].a);
            if (j == SIZE_MAX) continue;
            mp_gomap *m = &L->maps[j];
            if (m->type && !m->inferred) continue; /* exact already: typed and queued once */
            const mp_gomaptype *vt = in.h[i].type;
            if (retype(L, m, vt) && holds_maps(vt))
                work[nwork++] = j; /* at most once: it is exact now */
        }
    }
    free(work);
    free(in.h);
    return in.oom || L->mem.oom ? -1 : 0;
}

/* A map a frame's word holds is typed by the function's variable that the
 * binary's DWARF places at that word, when its guessed type was not
 * exact: recognised again with that type (kept only if it checks out).
 * Runs before type_inner_maps, which passes the type on to inner maps. */
static void type_frame_maps(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_STACK || x->frame == NONE || x->target == NONE) continue;
        size_t j = map_index(L, mp_gdmem_obj_addr(&L->mem, x->target));
        if (j == SIZE_MAX || (L->maps[j].type && !L->maps[j].inferred)) continue;
        const mf_gd_frame *f = &d->frames[x->frame];
        const mp_gomaptype *t =
            mp_gobin_frame_map(L->mem.bin, f->pc, f->contents.len, x->frame_off);
        if (t) retype(L, &L->maps[j], t);
    }
}

/* A global interface whose dynamic type is a struct holding maps (a
 * sync.Map's atomic.Value holds its read map so) types those maps: the
 * interface's data word is a global root pointing at the boxed struct,
 * the word before it the struct's runtime type descriptor. Each such map
 * not yet typed exactly is recognised again with its field's type (kept
 * only if it checks out). Runs before type_inner_maps. */
static void type_boxed_maps(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_GLOBAL || x->target == NONE) continue;
        const mf_gd_segment *sg = x->segment ? &d->bss_seg : &d->data_seg;
        if (x->slot < sg->start + 8 || x->slot + 8 > sg->start + sg->contents.len) continue;
        uint64_t tw = mf_gd_word(d, sg->contents.off + (x->slot - 8 - sg->start));
        mp_goinner in[8];
        size_t n = tw ? mp_gobin_struct_maps(L->mem.bin, tw, in, 8) : 0;
        uint64_t box = mf_gd_word(d, sg->contents.off + (x->slot - sg->start));
        for (size_t i = 0; i < n && i < 8; i++) {
            const uint8_t *w = mp_gdmem_read(&L->mem, box + in[i].offset, 8);
            size_t j = w ? map_index(L, mp_gd_rd64(w)) : SIZE_MAX;
            if (j != SIZE_MAX && !(L->maps[j].type && !L->maps[j].inferred))
                retype(L, &L->maps[j], in[i].map);
        }
    }
}

/* Whether map k is the read map of a sync.Map that has a dirty map too:
 * reported within its dirty map, not as a map of its own. */
bool mp_gdl_is_read_of_pair(const loader *L, size_t k)
{
    for (size_t i = 0; i < L->npairs; i++)
        if (L->pairs[i].read == k && L->pairs[i].dirty != SIZE_MAX) return true;
    return false;
}

/* The sync.Map map k is reported as (its dirty map, or the one map it
 * has), or NULL. */
const struct syncpair *mp_gdl_sync_map_of(const loader *L, size_t k)
{
    for (size_t i = 0; i < L->npairs; i++) {
        const struct syncpair *p = &L->pairs[i];
        if (p->dirty != SIZE_MAX ? p->dirty == k : p->read == k) return p;
    }
    return NULL;
}

/* The map a global word at slot holds (its index in maps), or SIZE_MAX:
 * directly (box 0), or through the struct the word points at (box: the
 * struct's address, the map in its first word). */
static size_t map_in_word(const loader *L, uint64_t slot, bool boxed, uint64_t *box)
{
    const mf_gd_dump *d = L->mem.d;
    const mf_gd_segment *sg = NULL;
    if (slot >= d->data_seg.start && slot + 8 <= d->data_seg.start + d->data_seg.contents.len)
        sg = &d->data_seg;
    else if (slot >= d->bss_seg.start && slot + 8 <= d->bss_seg.start + d->bss_seg.contents.len)
        sg = &d->bss_seg;
    if (!sg) return SIZE_MAX;
    uint64_t w = mf_gd_word(d, sg->contents.off + (slot - sg->start));
    if (!boxed) return w ? map_index(L, w) : SIZE_MAX;
    *box = w;
    const uint8_t *m = w ? mp_gdmem_read(&L->mem, w, 8) : NULL;
    return m ? map_index(L, mp_gd_rd64(m)) : SIZE_MAX;
}

/* A Go sync.Map keeps its entries in two maps: the read map, inside a
 * readOnly struct boxed behind an atomic value, and the dirty map, which
 * holds every live entry of the read map too (the same *entry pointers)
 * once a key was stored that the read map lacks. Seen as two maps, one
 * map of entries looks like two suspects that share everything. With the
 * binary a global whose DWARF type is sync.Map says which two words they
 * are: Go 1.19 lays it out mu @0, read atomic.Value @8 (its data word @16
 * points at readOnly{m, amended}), dirty @24; Go 1.20 on, read is an
 * atomic.Pointer @8 and dirty @16. Each sync.Map global with a map is
 * kept: both maps (joined: the dirty map is reported, holding the read
 * map's table), or the one it has (a sync.Map whose dirty map was
 * promoted has a read map alone; one never loaded from, a dirty map
 * alone), so that it is one map under one name either way. Without the
 * binary no word says a sync.Map is there, and its maps stay apart. */
static int find_sync_maps(loader *L)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t offs[2] = {ptr_read ? 16 : 24, ptr_read ? 8 : 16}; /* dirty, read's box */
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_GLOBAL || x->target == NONE) continue;
        for (int i = 0; i < 2; i++) {
            if (x->slot < offs[i]) continue;
            uint64_t base = x->slot - offs[i];
            if (strcmp(mp_gobin_global_type(L->mem.bin, base), "sync.Map") != 0) continue;
            bool seen = false;
            for (size_t k = 0; k < L->npairs; k++) seen |= L->pairs[k].base == base;
            if (seen) continue;
            uint64_t box = 0, none;
            size_t dk = map_in_word(L, base + offs[0], false, &none);
            size_t rk = map_in_word(L, base + offs[1], true, &box);
            if (rk == dk) rk = SIZE_MAX;
            if (dk == SIZE_MAX && rk == SIZE_MAX) continue;
            if (!MF_GROW(L->pairs, L->cap_pairs, L->npairs + 1, 4)) return -1;
            L->pairs[L->npairs++] = (struct syncpair){dk, rk, box, base};
        }
    }
    return 0;
}

/* ------------------------------------------------- sync.Maps by shape --- */

/* The word at address a of the program's memory (a global's, a heap
 * object's or a frame's); false when the dump holds none there. */
static bool word_at(const loader *L, uint64_t a, uint64_t *w)
{
    const mf_gd_dump *d = L->mem.d;
    const mf_gd_segment *sg[2] = {&d->data_seg, &d->bss_seg};
    for (int i = 0; i < 2; i++)
        if (sg[i]->present && a >= sg[i]->start && a - sg[i]->start + 8 <= sg[i]->contents.len) {
            *w = mf_gd_word(d, sg[i]->contents.off + (a - sg[i]->start));
            return true;
        }
    const uint8_t *p = mp_gdmem_read(&L->mem, a, 8);
    if (p) *w = mp_gd_rd64(p);
    return p != NULL;
}

/* Whether addresses a and b lie in one block of the dump: one segment,
 * one heap or frame object, or one frame. */
static bool same_block(const loader *L, uint64_t a, uint64_t b)
{
    const mf_gd_dump *d = L->mem.d;
    const mf_gd_segment *sg[2] = {&d->data_seg, &d->bss_seg};
    for (int i = 0; i < 2; i++)
        if (sg[i]->present && a - sg[i]->start < sg[i]->contents.len)
            return b - sg[i]->start < sg[i]->contents.len;
    uint32_t o = mp_gdmem_find(&L->mem, a);
    if (o != NONE) return mp_gdmem_find(&L->mem, b) == o;
    uint32_t f = mp_gdmem_frame_at(&L->mem, a, 1);
    return f != NONE && mp_gdmem_frame_at(&L->mem, b, 1) == f;
}

/* Whether address a is a global's (in the data or bss segment). */
bool mp_gdl_in_globals(const loader *L, uint64_t a)
{
    const mf_gd_dump *d = L->mem.d;
    return (d->data_seg.present && a - d->data_seg.start < d->data_seg.contents.len) ||
           (d->bss_seg.present && a - d->bss_seg.start < d->bss_seg.contents.len);
}

/* The values of a map as sync.Map's *entry pointers: each must point at
 * a heap object of one pointer word; kept (v) when keep. */
typedef struct entries {
    const mp_gdmem *M;
    bool keep, fails, oom;
    uint64_t *v;
    size_t n, cap;
} entries;

static void take_entry(void *ud, const uint8_t *slot)
{
    entries *E = ud;
    uint64_t v = mp_gd_rd64(slot);
    uint32_t o = mp_gdmem_heap_start(E->M, v);
    if (o == NONE || o >= E->M->nheap || E->M->d->objects[o].size != 8 ||
        E->M->d->objects[o].nfields != 1) {
        E->fails = true;
        return;
    }
    if (!E->keep || E->oom) return;
    if (!MF_GROW(E->v, E->cap, E->n + 1, 64)) {
        E->oom = true;
        return;
    }
    E->v[E->n++] = v;
}

/* Whether map m has the shape of a sync.Map's maps: keys interfaces
 * without methods, values pointers to entries (objects of one pointer
 * word). */
static bool sync_shaped(loader *L, mp_gomap *m)
{
    bool itab;
    if (!mp_gomap_interface_keys(m, &itab) || itab || m->vsize != 8 || m->vpat[0] != 1) return false;
    entries E = {.M = &L->mem};
    mp_gomap_values(&L->mem, m, take_entry, &E);
    return !E.fails;
}

/* Whether a read map's entries are what a sync.Map's dirty map leaves
 * them: each one also the dirty map's (the same *entry), or expunged (its
 * pointer the one sentinel every expunged entry holds: a 16-byte object
 * of zeroes, as new(any) is). Two maps that only look alike share no
 * entry. -1: out of memory. */
static int read_within_dirty(loader *L, mp_gomap *r, mp_gomap *d)
{
    entries R = {.M = &L->mem, .keep = true}, D = {.M = &L->mem, .keep = true};
    mp_gomap_values(&L->mem, r, take_entry, &R);
    mp_gomap_values(&L->mem, d, take_entry, &D);
    int ok = R.oom || D.oom ? -1 : !R.fails && !D.fails;
    if (ok > 0 && D.n > 1) qsort(D.v, D.n, sizeof *D.v, cmp_u64);
    uint64_t expunged = 0;
    for (size_t i = 0; ok > 0 && i < R.n; i++) {
        if (bsearch(&R.v[i], D.v, D.n, sizeof *D.v, cmp_u64)) continue;
        uint64_t p;
        const uint8_t *z = word_at(L, R.v[i], &p) ? mp_gdmem_read(&L->mem, p, 16) : NULL;
        uint32_t o = z ? mp_gdmem_heap_start(&L->mem, p) : NONE;
        ok = o != NONE && o < L->mem.nheap && L->mem.d->objects[o].size == 16 &&
             mp_gd_rd64(z) == 0 && mp_gd_rd64(z + 8) == 0 && (!expunged || p == expunged);
        expunged = p;
    }
    free(R.v);
    free(D.v);
    return ok;
}

/* Whether map k is already a sync.Map's, or base already one. */
static bool paired(const loader *L, size_t k, uint64_t base)
{
    for (size_t i = 0; i < L->npairs; i++)
        if (L->pairs[i].base == base || (k != SIZE_MAX && (L->pairs[i].dirty == k || L->pairs[i].read == k)))
            return true;
    return false;
}

/*
 * Whether a sync.Map is at base: its words as Go lays them out (see
 * find_sync_maps), the dirty map nil or a map of a sync.Map's shape, the
 * read box nil or a 16-byte object whose one pointer word is the read
 * map (nil or of that shape) and whose second says amended exactly when
 * there is a dirty map (Go keeps it so); Go 1.19: the atomic value's type
 * word nil exactly when the box is, else a type word. With both maps,
 * the read map's entries are the dirty map's or expunged. Kept in pairs.
 * -1: out of memory.
 */
static int try_sync_map(loader *L, uint64_t base, const uint8_t *shaped)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t dw, bw, tw = 0, hdr[2];
    /* the mutex to the misses counter, in one block */
    if (!same_block(L, base, base + (ptr_read ? 31 : 39))) return 0;
    if (!word_at(L, base + (ptr_read ? 16 : 24), &dw) || !word_at(L, base + (ptr_read ? 8 : 16), &bw))
        return 0;
    if (!ptr_read && (!word_at(L, base + 8, &tw) || !tw != !bw || (tw && !mp_gomap_type_word(&L->mem, tw))))
        return 0;
    size_t dk = dw ? map_index(L, dw) : SIZE_MAX, rk = SIZE_MAX;
    if (dw && (dk == SIZE_MAX || !shaped[dk])) return 0;
    if (bw) {
        uint32_t o = mp_gdmem_heap_start(&L->mem, bw);
        const mf_gd_object *x = o != NONE && o < L->mem.nheap ? &L->mem.d->objects[o] : NULL;
        if (!x || x->size != 16 || x->nfields != 1) return 0;
        uint64_t pos = x->fields;
        if (mf_gd_next_field(L->mem.d, &pos) != 0) return 0;
        hdr[0] = mp_gd_rd64(L->mem.d->data + x->contents);
        hdr[1] = mp_gd_rd64(L->mem.d->data + x->contents + 8);
        if ((uint8_t)hdr[1] != (dk != SIZE_MAX)) return 0; /* amended; padding after it */
        rk = hdr[0] ? map_index(L, hdr[0]) : SIZE_MAX;
        if (hdr[0] && (rk == SIZE_MAX || !shaped[rk])) return 0;
    }
    if ((dk == SIZE_MAX && rk == SIZE_MAX) || dk == rk || paired(L, dk, base) || paired(L, rk, base))
        return 0;
    if (dk != SIZE_MAX && rk != SIZE_MAX) {
        int ok = read_within_dirty(L, &L->maps[rk], &L->maps[dk]);
        if (ok <= 0) return ok;
    }
    if (!MF_GROW(L->pairs, L->cap_pairs, L->npairs + 1, 4)) return -1;
    L->pairs[L->npairs++] = (struct syncpair){dk, rk, bw, base};
    return 0;
}

/* A word at address a holds the object t (unified index, at address w):
 * a sync.Map is tried where t would be its dirty map or its read box. */
static int sync_map_candidate(loader *L, uint64_t a, uint64_t w, uint32_t t, const uint8_t *shaped)
{
    bool ptr_read = L->mem.d->params.go_minor >= 20;
    uint64_t dirty_off = ptr_read ? 16 : 24, box_off = ptr_read ? 8 : 16;
    if (t == NONE || mp_gdmem_obj_addr(&L->mem, t) != w) return 0;
    uint64_t size = mp_gdmem_obj_size(&L->mem, t);
    if (size == 48) {
        size_t k = map_index(L, w);
        return k != SIZE_MAX && shaped[k] && a >= dirty_off ? try_sync_map(L, a - dirty_off, shaped) : 0;
    }
    if (size != 16 || t >= L->mem.nheap || L->mem.d->objects[t].nfields != 1) return 0;
    const uint8_t *box = mp_gdmem_read(&L->mem, w, 8);
    size_t k = box ? map_index(L, mp_gd_rd64(box)) : SIZE_MAX;
    return k != SIZE_MAX && shaped[k] && a >= box_off ? try_sync_map(L, a - box_off, shaped) : 0;
}

/* sync.Maps wherever they are (a global, a field of a global struct or of
 * one on the heap, a frame's word), by their shape, without the binary's
 * types: every word that holds a map of a sync.Map's shape, or a box
 * holding one, is tried as the sync.Map's dirty map or read box (see
 * try_sync_map). */
static int find_sync_shapes(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    uint8_t *shaped = calloc(L->nmaps ? L->nmaps : 1, 1);
    bool any = false;
    if (!shaped) return -1;
    for (size_t k = 0; k < L->nmaps; k++) any |= shaped[k] = sync_shaped(L, &L->maps[k]);
    int rc = 0;
    for (size_t r = 0; any && !rc && r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        uint64_t w;
        if (x->target != NONE && word_at(L, x->slot, &w))
            rc = sync_map_candidate(L, x->slot, w, x->target, shaped);
    }
    for (size_t i = 0; any && !rc && i < L->mem.nheap; i++) {
        const mf_gd_object *o = &d->objects[i];
        if (!L->reached[i]) continue;
        uint64_t pos = o->fields, e = L->estart[i];
        for (uint32_t k = 0; !rc && k < o->nfields; k++, e++) {
            uint64_t off = mf_gd_next_field(d, &pos);
            if (L->edst[e] == NONE || off + 8 > o->size) continue;
            rc = sync_map_candidate(L, o->addr + off, mp_gd_rd64(d->data + o->contents + off),
                                    L->edst[e], shaped);
        }
    }
    free(shaped);
    return rc;
}

/* A global slice of structs, or of pointers to structs, that hold maps
 * in their fields ([]*Depot, each Depot with two maps) types those maps:
 * the binary knows the element type, the dump holds the slice's array
 * and elements. Each map not yet typed exactly is recognised again with
 * its field's type (kept only if it checks out): maps of two types that
 * share a bucket layout are no longer a guess. Runs before
 * type_inner_maps, which passes the types on. */
static void type_slice_maps(loader *L)
{
    for (size_t r = 0; r < L->nroots; r++) {
        const rootw *x = &L->roots[r];
        if (x->kind != MP_ROOT_GLOBAL || x->target == NONE) continue;
        mp_goinner in[16];
        uint64_t es = 0, array, len;
        size_t n = mp_gobin_slice_maps(L->mem.bin, x->slot, &es, in, 16);
        if (!n || !word_at(L, x->slot, &array) || !word_at(L, x->slot + 8, &len) || !array)
            continue;
        for (uint64_t i = 0; i < len; i++) {
            uint64_t elem = array + i * es, first;
            if (!word_at(L, elem, &first)) break; /* past what the dump holds */
            if (in[0].deref) elem = first;
            for (size_t k = 0; elem && k < n; k++) {
                uint64_t w;
                size_t j = word_at(L, elem + in[k].offset, &w) ? map_index(L, w) : SIZE_MAX;
                if (j != SIZE_MAX && !(L->maps[j].type && !L->maps[j].inferred))
                    retype(L, &L->maps[j], in[k].map);
            }
        }
    }
}

/* With the binary, the maps of a sync.Map found by its shape that no
 * typed word typed exactly (one on the heap) take the program's type of
 * a sync.Map's maps, kept only if they check out under it. */
static void type_sync_maps(loader *L)
{
    for (size_t i = 0; i < L->npairs; i++) {
        size_t ks[2] = {L->pairs[i].dirty, L->pairs[i].read};
        for (int j = 0; j < 2; j++) {
            mp_gomap *m = ks[j] != SIZE_MAX ? &L->maps[ks[j]] : NULL;
            if (!m || (m->type && !m->inferred)) continue;
            const mp_gomaptype *c[64];
            size_t nc = mp_gobin_maps_of_bucket(L->mem.bin, m->bs, c, 64);
            for (size_t k = 0; k < nc && k < 64; k++)
                if (strcmp(c[k]->name, "map[interface {}]*sync.entry") == 0) retype(L, m, c[k]);
        }
    }
}

/* Range iterators: 8 pointer words in a row of a frame (key, elem, t, h,
 * buckets, bptr, overflow, oldoverflow) whose h is a recognised map and
 * whose t points outside the heap (the map type, in read-only data). Their
 * words become iterator roots. */
static void mark_iterators(loader *L)
{
    const mf_gd_dump *d = L->mem.d;
    for (size_t r = 0; r < L->nroots; r++) {
        rootw *x = &L->roots[r];
        if ((x->kind != MP_ROOT_STACK && x->kind != MP_ROOT_RUNTIME) || x->frame == NONE) continue;
        const mf_gd_frame *f = &d->frames[x->frame];
        /* x may be any of the 8 words: try each position */
        for (unsigned w = 0; w < 8; w++) {
            if (x->frame_off < 8ull * w) break;
            uint64_t it = x->frame_off - 8ull * w;
            if (it + 96 > f->contents.len) continue;
            const uint8_t *p = d->data + f->contents.off + it;
            uint64_t t = mp_gd_rd64(p + 16), h = mp_gd_rd64(p + 24);
            if (!t || !h || mf_gd_find(d, t) != SIZE_MAX || !map_at(L, h)) continue;
            uint8_t B = p[74];
            if (B != map_at(L, h)->B && !map_at(L, h)->oldbuckets) continue;
            x->kind = MP_ROOT_ITERATOR;
            break;
        }
    }
}

/* Which reachable hmaps are maps, in address order, and of what type:
 * those found by their words, typed by what holds them when the binary is
 * known; then the sync.Maps among them, and the maps that iterators keep. */
int mp_gdl_find_maps(loader *L)
{
    if (find_maps(L)) return -1;
    if (L->nmaps > 1) qsort(L->maps, L->nmaps, sizeof *L->maps, cmp_map_addr);
    if (L->mem.bin) type_frame_maps(L);
    if (L->mem.bin) type_boxed_maps(L);
    if (L->mem.bin) type_slice_maps(L);
    if (L->mem.bin && (type_inner_maps(L) || find_sync_maps(L))) return -1;
    if (find_sync_shapes(L)) return -1;
    if (L->mem.bin) type_sync_maps(L);
    mark_iterators(L);
    return 0;
}
