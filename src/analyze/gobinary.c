/*
 * src/analyze/gobinary.c -- ELF symbols, DWARF map types and read-only data
 * of a Go executable.
 *
 * Everything is read once at open: the data/bss object symbols sorted by
 * address, the global variables (DW_OP_addr) with their type DIEs, and
 * every DWARF map type (a typedef of Go kind map) resolved to its bucket
 * struct. Lookups are then binary searches.
 */
#include "analyze/gobinary.h"

#include "format/grow.h"
#include "format/gz.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DW_AT_go_kind 0x2900
#define DW_AT_go_key 0x2901
#define DW_AT_go_elem 0x2902
#define DW_AT_go_runtime_type 0x2904

typedef struct sym {
    uint64_t addr, size;
    const char *name; /* in the ELF string table */
} sym;

typedef struct gvar {
    uint64_t addr;
    Dwarf_Off type; /* DIE offset of its type, 0 none */
    const char *type_name;
    int32_t map; /* index into maps, -1 not a map */
} gvar;

typedef struct rtinfo {
    uint64_t rtype; /* address of its runtime type descriptor */
    Dwarf_Off die;  /* its DIE */
    uint32_t size;
    uint8_t kind;
    const char *name;
} rtinfo;

typedef struct sect {
    uint64_t addr, size, off;
} sect;

struct mp_gobin {
    char *path;
    mf_buf file;
    Elf *elf;
    Dwarf *dw;
    sym *syms;
    size_t nsyms;
    gvar *vars;
    size_t nvars;
    mp_gomaptype *maps; /* sorted by bucket size */
    size_t nmaps;
    uint64_t types_base; /* the address of runtime.types, 0 unknown */
    sect *sects;
    size_t nsects;
    mp_goinner *inners;       /* every map type's inner maps, each type's in a run */
    const char **inner_names; /* the inner maps' type names, as in inners */
    size_t ninners, inners_cap;
    rtinfo *rtypes; /* every type with a runtime descriptor, sorted by its address */
    size_t nrtypes;
    mp_gokeyfield *kfields; /* every map type's key layout, each type's in a run */
    size_t nkfields, kfields_cap;
    char *names; /* owned copies of the map type names */
    size_t names_len, names_cap;
};

static int cmp_sym(const void *a, const void *b)
{
    const sym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_var(const void *a, const void *b)
{
    const gvar *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_rtype(const void *a, const void *b)
{
    const rtinfo *x = a, *y = b;
    return x->rtype < y->rtype ? -1 : x->rtype > y->rtype;
}

static int cmp_map(const void *a, const void *b)
{
    const mp_gomaptype *x = a, *y = b;
    if (x->bucket_size != y->bucket_size) return x->bucket_size < y->bucket_size ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_map_name(const void *a, const void *b)
{
    const mp_gomaptype *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* The map type called name among n sorted by name (cmp_map_name), or
 * NULL: the DWARF names each map type by its Go spelling, which is how a
 * variable's type and a map's element type refer to it. */
static const mp_gomaptype *map_named(const mp_gomaptype *const *by_name, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(by_name[mid]->name, name);
        if (c == 0) return by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Symbols of objects in allocated, writable sections: the globals. */
static int read_symbols(mp_gobin *b)
{
    Elf_Scn *scn = NULL;
    size_t cap = 0;
    while ((scn = elf_nextscn(b->elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        if ((sh.sh_flags & SHF_ALLOC) && sh.sh_type == SHT_PROGBITS && sh.sh_size) {
            sect *q = realloc(b->sects, (b->nsects + 1) * sizeof *q);
            if (!q) return -1;
            b->sects = q;
            b->sects[b->nsects++] = (sect){sh.sh_addr, sh.sh_size, sh.sh_offset};
        }
        if (sh.sh_type != SHT_SYMTAB || !sh.sh_entsize) continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data) continue;
        size_t n = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; i < n; i++) {
            GElf_Sym s;
            if (!gelf_getsym(data, (int)i, &s)) continue;
            if (GELF_ST_TYPE(s.st_info) != STT_OBJECT || s.st_shndx == SHN_UNDEF) continue;
            const char *name = elf_strptr(b->elf, sh.sh_link, s.st_name);
            if (!name || !*name) continue;
            if (b->nsyms == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                sym *q = realloc(b->syms, nc * sizeof *q);
                if (!q) return -1;
                b->syms = q;
                cap = nc;
            }
            b->syms[b->nsyms++] = (sym){s.st_value, s.st_size, name};
            if (strcmp(name, "runtime.types") == 0) b->types_base = s.st_value;
        }
    }
    if (b->nsyms > 1) qsort(b->syms, b->nsyms, sizeof *b->syms, cmp_sym);
    return 0;
}

static const char *copy_name(mp_gobin *b, const char *s)
{
    /* offsets while the arena grows; turned into pointers at the end */
    size_t n = strlen(s) + 1;
    if (b->names_len + n > b->names_cap) {
        size_t nc = b->names_cap ? b->names_cap * 2 : 4096;
        while (nc < b->names_len + n) nc *= 2;
        char *q = realloc(b->names, nc);
        if (!q) return NULL;
        b->names = q;
        b->names_cap = nc;
    }
    memcpy(b->names + b->names_len, s, n);
    size_t off = b->names_len;
    b->names_len += n;
    return (const char *)(uintptr_t)(off + 1); /* 0 stays NULL */
}

static uint64_t attr_udata(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute a;
    Dwarf_Word w = 0;
    Dwarf_Addr ad = 0;
    if (!dwarf_attr(die, name, &a)) return 0;
    if (dwarf_formudata(&a, &w) == 0) return w;
    return dwarf_formaddr(&a, &ad) == 0 ? ad : 0; /* Go writes its runtime type as an address */
}

static bool attr_die(Dwarf_Die *die, unsigned name, Dwarf_Die *out)
{
    Dwarf_Attribute a;
    return dwarf_attr(die, name, &a) && dwarf_formref_die(&a, out) != NULL;
}

/* Whether values of a type hold pointers: an explicit walk over struct
 * members and array elements (bounded, no recursion). */
static bool has_pointers(Dwarf_Die *type)
{
    Dwarf_Die stack[64];
    int sp = 0, steps = 0;
    stack[sp++] = *type;
    while (sp > 0 && steps++ < 4096) {
        Dwarf_Die t = stack[--sp];
        for (int hops = 0; dwarf_tag(&t) == DW_TAG_typedef && hops < 16; hops++)
            if (!attr_die(&t, DW_AT_type, &t)) break;
        uint64_t kind = attr_udata(&t, DW_AT_go_kind);
        switch (dwarf_tag(&t)) {
        case DW_TAG_pointer_type:
            return true;
        case DW_TAG_structure_type: {
            if (kind == MP_GOKIND_STRING || kind == MP_GOKIND_INTERFACE || kind == 23) return true;
            Dwarf_Die m;
            if (dwarf_child(&t, &m) != 0) break;
            do {
                Dwarf_Die mt;
                if (dwarf_tag(&m) == DW_TAG_member && attr_die(&m, DW_AT_type, &mt) && sp < 64)
                    stack[sp++] = mt;
            } while (dwarf_siblingof(&m, &m) == 0);
            break;
        }
        case DW_TAG_array_type: {
            Dwarf_Die et;
            if (attr_die(&t, DW_AT_type, &et) && sp < 64) stack[sp++] = et;
            break;
        }
        default:
            if (kind == MP_GOKIND_MAP || kind == MP_GOKIND_PTR || kind == 18 || kind == 19 ||
                kind == 26)
                return true;
        }
    }
    return false;
}

static uint64_t die_size(Dwarf_Die *d)
{
    Dwarf_Die t = *d;
    for (int hops = 0; dwarf_tag(&t) == DW_TAG_typedef && hops < 16; hops++)
        if (!attr_die(&t, DW_AT_type, &t)) break;
    Dwarf_Word w;
    if (dwarf_aggregate_size(&t, &w) == 0) return w;
    return attr_udata(&t, DW_AT_byte_size);
}

static Dwarf_Die *skip_typedefs(Dwarf_Die *t)
{
    for (int hops = 0; dwarf_tag(t) == DW_TAG_typedef && hops < 16; hops++)
        if (attr_die(t, DW_AT_type, t) == false) break;
    return t;
}

/* The Go kind of a type: that of the first DIE on its typedef chain that
 * has one. A named type (main.OwnedKey) is a typedef without a kind, but
 * `interface {}` is a typedef of kind interface over runtime.eface, a
 * struct. */
static uint64_t kind_of(Dwarf_Die *type)
{
    Dwarf_Die t = *type;
    for (int hops = 0; hops < 16; hops++) {
        uint64_t k = attr_udata(&t, DW_AT_go_kind);
        if (k || dwarf_tag(&t) != DW_TAG_typedef || !attr_die(&t, DW_AT_type, &t)) return k;
    }
    return 0;
}

/* Whether t (typedefs skipped) is a Go struct: strings, slices and
 * interfaces are DWARF structures too, with kinds of their own. */
static bool is_go_struct(Dwarf_Die *t)
{
    return dwarf_tag(t) == DW_TAG_structure_type &&
           attr_udata(t, DW_AT_go_kind) == MP_GOKIND_STRUCT;
}

static int add_inner(mp_gobin *b, uint64_t offset, bool deref, const char *name)
{
    if (offset > UINT32_MAX) return 0;
    if (b->ninners == b->inners_cap) {
        size_t nc = b->inners_cap ? b->inners_cap * 2 : 64;
        mp_goinner *q = realloc(b->inners, nc * sizeof *q);
        if (!q) return -1;
        b->inners = q;
        const char **qn = realloc(b->inner_names, nc * sizeof *qn);
        if (!qn) return -1;
        b->inner_names = qn;
        b->inners_cap = nc;
    }
    const char *n = copy_name(b, name);
    if (!n) return -1;
    b->inners[b->ninners] = (mp_goinner){(uint32_t)offset, deref, NULL};
    b->inner_names[b->ninners++] = n;
    return 0;
}

/* Hands found(ud, offset, type name) each field of map type in struct st,
 * nested structs included (not through pointers), up to 64 of them; stops
 * at found's first nonzero answer, which it returns. An explicit stack,
 * bounded. */
static int walk_struct_maps(Dwarf_Die *st0, int (*found)(void *ud, uint64_t off, const char *name),
                            void *ud)
{
    struct {
        Dwarf_Die die;
        uint64_t base;
    } stack[16];
    int sp = 0, nfound = 0;
    stack[sp].die = *st0;
    stack[sp++].base = 0;
    while (sp > 0 && nfound < 64) {
        Dwarf_Die st = stack[--sp].die, m;
        uint64_t base = stack[sp].base;
        if (dwarf_child(&st, &m) != 0) continue;
        do {
            Dwarf_Die mt;
            if (dwarf_tag(&m) != DW_TAG_member || !attr_die(&m, DW_AT_type, &mt)) continue;
            uint64_t off = base + attr_udata(&m, DW_AT_data_member_location);
            const char *mn = dwarf_diename(&mt);
            if (attr_udata(&mt, DW_AT_go_kind) == MP_GOKIND_MAP && mn) {
                int r = found(ud, off, mn);
                if (r) return r;
                nfound++;
                continue;
            }
            skip_typedefs(&mt);
            if (is_go_struct(&mt) && sp < 16) {
                stack[sp].die = mt;
                stack[sp++].base = off;
            }
        } while (dwarf_siblingof(&m, &m) == 0 && nfound < 64);
    }
    return 0;
}

typedef struct inner_ctx {
    mp_gobin *b;
    bool deref;
} inner_ctx;

/* A map field of a map's value type: kept as an inner map (named until
 * every map type is read). */
static int inner_found(void *ud, uint64_t off, const char *name)
{
    inner_ctx *c = ud;
    return add_inner(c->b, off, c->deref, name);
}

/* The maps a map's values hold in struct fields, appended to b->inners:
 * the fields of the value's struct (deref false), or of the struct a
 * pointer value points to, or of a value too large for its slot (deref
 * true), nested structs included. One pointer hop only: what lies further
 * is typed from the inner map in turn. */
static int collect_inner(mp_gobin *b, Dwarf_Die *elem, bool indirect)
{
    Dwarf_Die t = *elem;
    skip_typedefs(&t);
    bool deref = indirect;
    if (!indirect && dwarf_tag(&t) == DW_TAG_pointer_type) {
        if (!attr_die(&t, DW_AT_type, &t)) return 0;
        skip_typedefs(&t);
        deref = true;
    }
    if (!is_go_struct(&t)) return 0;
    inner_ctx c = {b, deref};
    return walk_struct_maps(&t, inner_found, &c);
}

/* How large a key layout may be: nodes in all, nesting, and the longest
 * array shown element by element (a longer one shows as its bytes). */
#define KEY_NODES 128
#define KEY_DEPTH 8
#define KEY_ARRAY 16

/* The number of elements of an array type DIE, 0 unknown. */
static uint64_t array_count(Dwarf_Die *t)
{
    Dwarf_Die sr;
    if (dwarf_child(t, &sr) != 0) return 0;
    do {
        if (dwarf_tag(&sr) != DW_TAG_subrange_type) continue;
        Dwarf_Attribute a;
        if (dwarf_attr(&sr, DW_AT_count, &a)) return attr_udata(&sr, DW_AT_count);
        if (dwarf_attr(&sr, DW_AT_upper_bound, &a)) return attr_udata(&sr, DW_AT_upper_bound) + 1;
    } while (dwarf_siblingof(&sr, &sr) == 0);
    return 0;
}

/*
 * Appends the layout (gokey.h) of a value of type `type`, a field called
 * name (NULL: none) at offset, to b->kfields: a struct's fields and an
 * array's element after it. The run of this key starts at index first.
 * Returns 0, 1 when the layout outgrows KEY_NODES or KEY_DEPTH (the
 * caller drops it: the key then shows as bytes), -1 out of memory.
 * Recursion is bounded by KEY_DEPTH.
 */
static int key_node(mp_gobin *b, Dwarf_Die *type, const char *name, uint64_t offset, int depth,
                    size_t first)
{
    if (b->nkfields - first >= KEY_NODES || depth > KEY_DEPTH) return 1;
    Dwarf_Die t = *type;
    uint64_t kind = kind_of(&t);
    skip_typedefs(&t);
    uint64_t size = die_size(&t);
    if (size > UINT32_MAX || offset > UINT32_MAX) return 1;
    if (!MF_GROW(b->kfields, b->kfields_cap, b->nkfields + 1, 256)) return -1;
    const char *n = NULL;
    if (name && !(n = copy_name(b, name))) return -1;
    size_t me = b->nkfields++;
    b->kfields[me] = (mp_gokeyfield){.name = n, .offset = (uint32_t)offset, .size = (uint32_t)size};
    if (kind == MP_GOKIND_STRUCT && dwarf_tag(&t) == DW_TAG_structure_type) {
        b->kfields[me].kind = MP_GOKIND_STRUCT;
        Dwarf_Die m;
        uint32_t count = 0;
        if (dwarf_child(&t, &m) == 0) do {
                Dwarf_Die mt;
                if (dwarf_tag(&m) != DW_TAG_member || !attr_die(&m, DW_AT_type, &mt)) continue;
                int r = key_node(b, &mt, dwarf_diename(&m) ? dwarf_diename(&m) : "?",
                                 attr_udata(&m, DW_AT_data_member_location), depth + 1, first);
                if (r) return r;
                count++;
            } while (dwarf_siblingof(&m, &m) == 0);
        b->kfields[me].count = count;
        return 0;
    }
    if (dwarf_tag(&t) == DW_TAG_array_type) {
        uint64_t count = array_count(&t);
        Dwarf_Die et;
        if (count == 0 || count > KEY_ARRAY || size % count || !attr_die(&t, DW_AT_type, &et))
            return 0; /* shown as its bytes */
        b->kfields[me].kind = MP_GOKIND_ARRAY;
        b->kfields[me].count = (uint32_t)count;
        return key_node(b, &et, NULL, 0, depth + 1, first);
    }
    b->kfields[me].kind = kind <= MP_GOKIND_UNSAFEPTR ? (uint8_t)kind : 0;
    if (kind == MP_GOKIND_INTERFACE) { /* count 1: its type word points to an itab */
        Dwarf_Die m;
        const char *mn;
        b->kfields[me].count = dwarf_child(&t, &m) == 0 && (mn = dwarf_diename(&m)) &&
                               strcmp(mn, "tab") == 0;
    }
    return 0;
}

/* The bucket struct bucket<K,V> of a map typedef: via its *hash<K,V>'s
 * buckets member. */
static bool map_bucket(Dwarf_Die *typedef_die, Dwarf_Die *bucket)
{
    Dwarf_Die p, h, m;
    if (!attr_die(typedef_die, DW_AT_type, &p) || !attr_die(&p, DW_AT_type, &h)) return false;
    if (dwarf_child(&h, &m) != 0) return false;
    do {
        const char *n = dwarf_diename(&m);
        Dwarf_Die bp;
        if (n && strcmp(n, "buckets") == 0 && attr_die(&m, DW_AT_type, &bp))
            return attr_die(&bp, DW_AT_type, bucket);
    } while (dwarf_siblingof(&m, &m) == 0);
    return false;
}

static int add_map(mp_gobin *b, Dwarf_Die *td, size_t *cap)
{
    Dwarf_Die bucket, key, elem, m;
    if (!map_bucket(td, &bucket) || !attr_die(td, DW_AT_go_key, &key) ||
        !attr_die(td, DW_AT_go_elem, &elem))
        return 0;
    mp_gomaptype t = {0};
    t.bucket_size = (uint32_t)attr_udata(&bucket, DW_AT_byte_size);
    if (dwarf_child(&bucket, &m) != 0) return 0;
    do {
        const char *n = dwarf_diename(&m);
        Dwarf_Die at;
        if (!n || !attr_die(&m, DW_AT_type, &at)) continue;
        uint64_t sz = die_size(&at);
        if (strcmp(n, "keys") == 0) t.key_size = (uint32_t)(sz / 8);
        if (strcmp(n, "values") == 0 || strcmp(n, "elems") == 0) t.value_size = (uint32_t)(sz / 8);
    } while (dwarf_siblingof(&m, &m) == 0);
    if (!t.bucket_size || t.bucket_size != 16 + 8 * (t.key_size + t.value_size)) return 0;
    uint64_t ks = die_size(&key), vs = die_size(&elem);
    t.key_indirect = ks > 128;
    t.value_indirect = vs > 128;
    /* a named key type (main.OwnedKey, main.ID) is a typedef without a
     * kind of its own: the kind is the underlying type's */
    Dwarf_Die kt = key;
    t.key_kind = (uint8_t)kind_of(&kt);
    t.value_kind = (uint8_t)attr_udata(&elem, DW_AT_go_kind);
    t.key_has_pointers = t.key_indirect || has_pointers(&key);
    t.rtype = attr_udata(td, DW_AT_go_runtime_type); /* an offset until the base is known */
    const char *kn = dwarf_diename(&key), *vn = dwarf_diename(&elem), *nn = dwarf_diename(td);
    t.name = copy_name(b, nn ? nn : "map");
    t.key_name = copy_name(b, kn ? kn : "?");
    t.value_name = copy_name(b, vn ? vn : "?");
    if (!t.name || !t.key_name || !t.value_name) return -1;
    /* its inner maps: a run of b->inners, kept as an index until all are read */
    size_t first = b->ninners;
    if (t.value_kind != MP_GOKIND_MAP && collect_inner(b, &elem, t.value_indirect)) return -1;
    t.ninner = (uint32_t)(b->ninners - first);
    t.inner = t.ninner ? (const mp_goinner *)(uintptr_t)(first + 1) : NULL;
    /* a struct, array, float, bool or interface key in its slot (the kinds
     * not shown as strings, integers or pointers): its layout, as an
     * index into b->kfields until all are read */
    if (!t.key_indirect &&
        (t.key_kind == MP_GOKIND_STRUCT || t.key_kind == MP_GOKIND_ARRAY ||
         t.key_kind == MP_GOKIND_FLOAT32 || t.key_kind == MP_GOKIND_FLOAT64 ||
         t.key_kind == MP_GOKIND_BOOL || t.key_kind == MP_GOKIND_INTERFACE)) {
        size_t kf = b->nkfields;
        int r = key_node(b, &key, NULL, 0, 0, kf);
        if (r < 0) return -1;
        if (r > 0 || b->kfields[kf].size != t.key_size) b->nkfields = kf;
        t.nkey_fields = (uint32_t)(b->nkfields - kf);
        t.key_fields = t.nkey_fields ? (const mp_gokeyfield *)(uintptr_t)(kf + 1) : NULL;
    }
    if (!MF_GROW(b->maps, *cap, b->nmaps + 1, 64)) return -1;
    b->maps[b->nmaps++] = t;
    return 0;
}

/* Appends a global variable (a struct global's map fields are variables
 * of their own, so that a root's slot finds its map type). */
static int add_var(mp_gobin *b, gvar v, size_t *cap)
{
    if (!MF_GROW(b->vars, *cap, b->nvars + 1, 1024)) return -1;
    b->vars[b->nvars++] = v;
    return 0;
}

/* A type DIE with a runtime type descriptor (DW_AT_go_runtime_type, an
 * offset from runtime.types): what an interface's type word points to. */
static int add_rtype(mp_gobin *b, Dwarf_Die *d, size_t *cap)
{
    uint64_t off = attr_udata(d, DW_AT_go_runtime_type);
    const char *n = dwarf_diename(d);
    if (!off || !b->types_base || !n) return 0;
    Dwarf_Die t = *d;
    uint64_t size = die_size(skip_typedefs(&t));
    if (size > UINT32_MAX) return 0;
    if (!MF_GROW(b->rtypes, *cap, b->nrtypes + 1, 1024)) return -1;
    const char *cn = copy_name(b, n);
    if (!cn) return -1;
    b->rtypes[b->nrtypes++] = (rtinfo){b->types_base + off, dwarf_dieoffset(&t), (uint32_t)size,
                                       (uint8_t)kind_of(d), cn};
    return 0;
}

/* Global variables and map types: the top-level DIEs of every unit. */
static int read_dwarf(mp_gobin *b)
{
    b->dw = dwarf_begin_elf(b->elf, DWARF_C_READ, NULL);
    if (!b->dw) return 0; /* stripped of DWARF: names only */
    size_t capv = 0, capm = 0, capr = 0;
    Dwarf_Off off = 0, next;
    size_t hsize;
    while (dwarf_nextcu(b->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu, d;
        if (dwarf_offdie(b->dw, off + hsize, &cu) && dwarf_child(&cu, &d) == 0) {
            do {
                int tag = dwarf_tag(&d);
                if (tag == DW_TAG_typedef && attr_udata(&d, DW_AT_go_kind) == MP_GOKIND_MAP) {
                    if (add_map(b, &d, &capm)) return -1;
                    continue;
                }
                if (tag != DW_TAG_variable) {
                    if (add_rtype(b, &d, &capr)) return -1;
                    continue;
                }
                if (tag != DW_TAG_variable) continue;
                /* Go writes a global's location as a DW_FORM_block1 holding
                 * DW_OP_addr, which dwarf_getlocation refuses in a DWARF 4
                 * unit: the block is read as it is */
                Dwarf_Attribute la;
                Dwarf_Block blk;
                if (!dwarf_attr(&d, DW_AT_location, &la) || dwarf_formblock(&la, &blk) != 0 ||
                    blk.length != 9 || blk.data[0] != DW_OP_addr)
                    continue;
                uint64_t addr = 0;
                for (int i = 8; i >= 1; i--) addr = addr << 8 | blk.data[i];
                gvar v = {.addr = addr, .map = -1};
                Dwarf_Die t;
                if (attr_die(&d, DW_AT_type, &t)) {
                    v.type = dwarf_dieoffset(&t);
                    const char *tn = dwarf_diename(&t);
                    v.type_name = tn ? copy_name(b, tn) : NULL;
                }
                if (add_var(b, v, &capv)) return -1;
                /* the maps in a struct global's fields (a sync.Map's dirty
                 * map): each a variable of its own at its field's address */
                size_t first = b->ninners;
                if (v.type && collect_inner(b, &t, false)) return -1;
                for (size_t i = first; i < b->ninners; i++)
                    if (!b->inners[i].deref &&
                        add_var(b, (gvar){addr + b->inners[i].offset, 0, b->inner_names[i], -1},
                                &capv))
                        return -1;
                b->ninners = first;
            } while (dwarf_siblingof(&d, &d) == 0);
        }
        off = next;
    }
    /* names: arena offsets to pointers, now that the arena stays put */
    for (size_t i = 0; i < b->nmaps; i++) {
        mp_gomaptype *t = &b->maps[i];
        t->name = b->names + ((uintptr_t)t->name - 1);
        t->key_name = b->names + ((uintptr_t)t->key_name - 1);
        t->value_name = b->names + ((uintptr_t)t->value_name - 1);
    }
    for (size_t i = 0; i < b->nvars; i++)
        if (b->vars[i].type_name)
            b->vars[i].type_name = b->names + ((uintptr_t)b->vars[i].type_name - 1);
    for (size_t i = 0; i < b->nrtypes; i++)
        b->rtypes[i].name = b->names + ((uintptr_t)b->rtypes[i].name - 1);
    if (b->nrtypes > 1) qsort(b->rtypes, b->nrtypes, sizeof *b->rtypes, cmp_rtype);
    /* DW_AT_go_runtime_type is an offset from runtime.types */
    for (size_t i = 0; i < b->nmaps; i++)
        b->maps[i].rtype = b->types_base && b->maps[i].rtype ? b->types_base + b->maps[i].rtype : 0;
    /* a global's map type, and a map's values' map type: the map type of
     * the same name */
    if (b->nmaps > 1) qsort(b->maps, b->nmaps, sizeof *b->maps, cmp_map);
    const mp_gomaptype **by_name = malloc((b->nmaps ? b->nmaps : 1) * sizeof *by_name);
    if (!by_name) return -1;
    for (size_t i = 0; i < b->nmaps; i++) by_name[i] = &b->maps[i];
    if (b->nmaps > 1) qsort(by_name, b->nmaps, sizeof *by_name, cmp_map_name);
    for (size_t i = 0; i < b->nvars; i++) {
        gvar *v = &b->vars[i];
        if (!v->type_name || strncmp(v->type_name, "map[", 4) != 0) continue;
        const mp_gomaptype *t = map_named(by_name, b->nmaps, v->type_name);
        if (t) v->map = (int32_t)(t - b->maps);
    }
    for (size_t i = 0; i < b->nmaps; i++)
        if (b->maps[i].value_kind == MP_GOKIND_MAP && !b->maps[i].value_indirect)
            b->maps[i].value_map = map_named(by_name, b->nmaps, b->maps[i].value_name);
    /* inner maps: names to map types (a name the DWARF lacks types nothing) */
    for (size_t i = 0; i < b->ninners; i++)
        b->inners[i].map =
            map_named(by_name, b->nmaps, b->names + ((uintptr_t)b->inner_names[i] - 1));
    for (size_t i = 0; i < b->nmaps; i++)
        if (b->maps[i].ninner) b->maps[i].inner = b->inners + ((uintptr_t)b->maps[i].inner - 1);
    for (size_t i = 0; i < b->nkfields; i++)
        if (b->kfields[i].name) b->kfields[i].name = b->names + ((uintptr_t)b->kfields[i].name - 1);
    for (size_t i = 0; i < b->nmaps; i++)
        if (b->maps[i].nkey_fields)
            b->maps[i].key_fields = b->kfields + ((uintptr_t)b->maps[i].key_fields - 1);
    free(by_name);
    if (b->nvars > 1) qsort(b->vars, b->nvars, sizeof *b->vars, cmp_var);
    return 0;
}

int mp_gobin_open(const char *path, mp_gobin **out, mf_error *err)
{
    *out = NULL;
    mp_gobin *b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(path))) {
        free(b);
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    if (mf_read_file(path, &b->file, err)) {
        mp_gobin_close(b);
        return -1;
    }
    elf_version(EV_CURRENT);
    b->elf = elf_memory((char *)b->file.data, b->file.len);
    GElf_Ehdr eh;
    if (!b->elf || elf_kind(b->elf) != ELF_K_ELF || !gelf_getehdr(b->elf, &eh)) {
        mf_error_set(err,
                     "%s: not an ELF executable (--binary wants the program that wrote "
                     "the dump)",
                     path);
        mp_gobin_close(b);
        return -1;
    }
    if (read_symbols(b) || read_dwarf(b)) {
        mf_error_set(err, "%s: out of memory reading its symbols", path);
        mp_gobin_close(b);
        return -1;
    }
    if (!b->nsyms) {
        mf_error_set(err, "%s: no symbol table (a stripped binary cannot name globals)", path);
        mp_gobin_close(b);
        return -1;
    }
    *out = b;
    return 0;
}

void mp_gobin_close(mp_gobin *b)
{
    if (!b) return;
    if (b->dw) dwarf_end(b->dw);
    if (b->elf) elf_end(b->elf);
    mf_buf_free(&b->file);
    free(b->syms);
    free(b->vars);
    free(b->maps);
    free(b->inners);
    free(b->inner_names);
    free(b->kfields);
    free(b->rtypes);
    free(b->sects);
    free(b->names);
    free(b->path);
    free(b);
}

const char *mp_gobin_path(const mp_gobin *b)
{
    return b->path;
}

bool mp_gobin_symbol(const mp_gobin *b, uint64_t a, char *buf, size_t size)
{
    size_t lo = 0, hi = b->nsyms; /* first symbol above a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->syms[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* symbols may nest (a zero-size label inside a sized one): look back a little */
    for (size_t i = lo; i-- > 0 && lo - i <= 4;) {
        const sym *s = &b->syms[i];
        if (a - s->addr < (s->size ? s->size : 1)) {
            if (a == s->addr)
                snprintf(buf, size, "%s", s->name);
            else
                snprintf(buf, size, "%s+%llu", s->name, (unsigned long long)(a - s->addr));
            return true;
        }
    }
    return false;
}

static const gvar *find_var(const mp_gobin *b, uint64_t a)
{
    size_t lo = 0, hi = b->nvars;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->vars[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->nvars && b->vars[lo].addr == a ? &b->vars[lo] : NULL;
}

const mp_gomaptype *mp_gobin_global_map(const mp_gobin *b, uint64_t a)
{
    /* a struct global and the map in its first field share an address */
    for (const gvar *v = find_var(b, a); v && v < b->vars + b->nvars && v->addr == a; v++)
        if (v->map >= 0) return &b->maps[v->map];
    return NULL;
}

const char *mp_gobin_global_type(const mp_gobin *b, uint64_t a)
{
    const gvar *v = find_var(b, a);
    return v && v->type_name ? v->type_name : "";
}

size_t mp_gobin_maps_of_bucket(const mp_gobin *b, uint64_t bs, const mp_gomaptype **out, size_t max)
{
    size_t lo = 0, hi = b->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->maps[mid].bucket_size < bs)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < b->nmaps && b->maps[i].bucket_size == bs; i++, n++)
        if (n < max) out[n] = &b->maps[i];
    return n;
}

const uint8_t *mp_gobin_read(const mp_gobin *b, uint64_t a, size_t n)
{
    for (size_t i = 0; i < b->nsects; i++) {
        const sect *s = &b->sects[i];
        if (a >= s->addr && a - s->addr <= s->size && n <= s->size - (a - s->addr)) {
            uint64_t off = s->off + (a - s->addr);
            if (off > b->file.len || n > b->file.len - off) return NULL;
            return b->file.data + off;
        }
    }
    return NULL;
}

/* The compilation unit holding code address pc. */
static bool unit_of(mp_gobin *b, uint64_t pc, Dwarf_Die *cu)
{
    if (!b->dw) return false;
    if (dwarf_addrdie(b->dw, pc, cu)) return true;
    /* Go writes no .debug_aranges: look through the units' ranges */
    Dwarf_Off off = 0, next;
    size_t hsize;
    while (dwarf_nextcu(b->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
        if (dwarf_offdie(b->dw, off + hsize, cu) && dwarf_haspc(cu, pc) > 0) return true;
        off = next;
    }
    return false;
}

/* The frame offset of variable v at pc: its location there must be one
 * DW_OP_fbreg (the frame base is the call frame address, frame_size
 * bytes above the frame's stack pointer). -1: elsewhere or unknown. */
static int64_t var_frame_offset(Dwarf_Die *v, uint64_t pc, uint64_t frame_size)
{
    Dwarf_Attribute a;
    Dwarf_Op *ops;
    size_t nops;
    if (!dwarf_attr(v, DW_AT_location, &a)) return -1;
    if (dwarf_getlocation_addr(&a, pc, &ops, &nops, 1) != 1 || nops != 1 ||
        ops[0].atom != DW_OP_fbreg)
        return -1;
    int64_t o = (int64_t)frame_size + (int64_t)ops[0].number;
    return o >= 0 && (uint64_t)o < frame_size ? o : -1;
}

/* The map type named like the type of variable v (its own DW_AT_type, or
 * that of the abstract variable it is a concrete copy of), or NULL. */
static const mp_gomaptype *var_map(const mp_gobin *b, Dwarf_Die *v)
{
    Dwarf_Attribute a;
    Dwarf_Die t;
    const char *tn;
    if (!dwarf_attr_integrate(v, DW_AT_type, &a) || !dwarf_formref_die(&a, &t) ||
        attr_udata(&t, DW_AT_go_kind) != MP_GOKIND_MAP || !(tn = dwarf_diename(&t)))
        return NULL;
    for (size_t i = 0; i < b->nmaps; i++) /* few map types: a scan is enough */
        if (strcmp(b->maps[i].name, tn) == 0) return &b->maps[i];
    return NULL;
}

/*
 * The function running at pc knows the types of its variables: a map its
 * frame alone holds is typed by the variable whose stack word holds it
 * there. Variables of the lexical blocks around pc count, and those of
 * the calls inlined into the function whose code holds pc (at any depth):
 * an inlined call's variables and parameters live in the frame too, their
 * locations relative to the same frame base, their names and types in the
 * abstract copy of the inlined function. An explicit stack, bounded.
 */
const mp_gomaptype *mp_gobin_frame_map(mp_gobin *b, uint64_t pc, uint64_t frame_size, uint64_t off)
{
    Dwarf_Die cu, fn;
    if (!unit_of(b, pc, &cu) || dwarf_child(&cu, &fn) != 0) return NULL;
    while (dwarf_tag(&fn) != DW_TAG_subprogram || dwarf_haspc(&fn, pc) <= 0)
        if (dwarf_siblingof(&fn, &fn) != 0) return NULL;
    Dwarf_Die stack[16];
    int sp = 0;
    stack[sp++] = fn;
    while (sp > 0) {
        Dwarf_Die scope = stack[--sp], v;
        if (dwarf_child(&scope, &v) != 0) continue;
        do {
            int tag = dwarf_tag(&v);
            if ((tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) && sp < 16 &&
                dwarf_haspc(&v, pc) > 0)
                stack[sp++] = v;
            if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter) continue;
            const mp_gomaptype *t;
            if (var_frame_offset(&v, pc, frame_size) == (int64_t)off && (t = var_map(b, &v)))
                return t;
        } while (dwarf_siblingof(&v, &v) == 0);
    }
    return NULL;
}

/* The type of descriptor rtype (any of its DIEs when several units
 * describe it: they agree), or NULL. */
static const rtinfo *find_rtype(const mp_gobin *b, uint64_t rtype)
{
    rtinfo key = {.rtype = rtype};
    return b->nrtypes ? bsearch(&key, b->rtypes, b->nrtypes, sizeof *b->rtypes, cmp_rtype) : NULL;
}

typedef struct boxed_ctx {
    const mp_gobin *b;
    mp_goinner *out;
    size_t n, max;
    bool deref; /* the struct is reached through a pointer */
} boxed_ctx;

/* A map field of a boxed struct: its map type, found by name now that
 * every map type is read. */
static int boxed_found(void *ud, uint64_t off, const char *name)
{
    boxed_ctx *c = ud;
    for (size_t j = 0; j < c->b->nmaps && c->n < c->max && off <= UINT32_MAX; j++)
        if (strcmp(c->b->maps[j].name, name) == 0) { /* few map types: a scan */
            c->out[c->n++] = (mp_goinner){(uint32_t)off, c->deref, &c->b->maps[j]};
            break;
        }
    return 0;
}

/* Read when asked: few values are boxed structs holding maps. */
size_t mp_gobin_struct_maps(const mp_gobin *b, uint64_t rtype, mp_goinner *out, size_t max)
{
    const rtinfo *r = find_rtype(b, rtype);
    Dwarf_Die t;
    if (!r || r->kind != MP_GOKIND_STRUCT || !b->dw || !dwarf_offdie(b->dw, r->die, &t) ||
        !is_go_struct(&t))
        return 0;
    boxed_ctx c = {b, out, 0, max, false};
    walk_struct_maps(&t, boxed_found, &c);
    return c.n;
}

/* Read when asked, as a boxed struct's: few globals are slices of structs
 * holding maps, and the loader asks once per global root. */
size_t mp_gobin_slice_maps(const mp_gobin *b, uint64_t a, uint64_t *elem_size, mp_goinner *out,
                           size_t max)
{
    const gvar *v = find_var(b, a);
    Dwarf_Die t, elem;
    if (!v || !v->type || !b->dw || !dwarf_offdie(b->dw, v->type, &t) ||
        kind_of(&t) != MP_GOKIND_SLICE)
        return 0;
    skip_typedefs(&t);
    if (!attr_die(&t, DW_AT_go_elem, &elem)) return 0;
    *elem_size = die_size(&elem);
    skip_typedefs(&elem);
    bool deref = false;
    if (dwarf_tag(&elem) == DW_TAG_pointer_type) {
        if (!attr_die(&elem, DW_AT_type, &elem)) return 0;
        skip_typedefs(&elem);
        deref = true;
    }
    if (!*elem_size || !is_go_struct(&elem)) return 0;
    boxed_ctx c = {b, out, 0, max, deref};
    walk_struct_maps(&elem, boxed_found, &c);
    return c.n;
}

bool mp_gobin_rtype(const mp_gobin *b, uint64_t rtype, uint8_t *kind, uint32_t *size,
                    const char **name)
{
    const rtinfo *r = find_rtype(b, rtype);
    if (!r) return false;
    *kind = r->kind;
    *size = r->size;
    *name = r->name;
    return true;
}

bool mp_gobin_line(mp_gobin *b, uint64_t pc, const char **file, int *line)
{
    Dwarf_Die cu;
    if (!unit_of(b, pc, &cu)) return false;
    Dwarf_Line *ln = dwarf_getsrc_die(&cu, pc);
    if (!ln) return false;
    *file = dwarf_linesrc(ln, NULL, NULL);
    return *file && dwarf_lineno(ln, line) == 0;
}

const mp_gomaptype *mp_gobin_map_of_rtype(const mp_gobin *b, uint64_t rtype)
{
    if (!rtype) return NULL;
    for (size_t i = 0; i < b->nmaps; i++) /* few map types: a scan is enough */
        if (b->maps[i].rtype == rtype) return &b->maps[i];
    return NULL;
}
