/*
 * src/analyze/graph_index.c -- see graph_index.h.
 *
 * File layout (host byte order and struct layout: the layout signature
 * says whose):
 *   header       gi_header (magic, versions, the snapshot's identity)
 *   table        gi_section[nsections]: id, element size, count, offset,
 *                checksum (section_sum of its bytes), flags
 *   sections     each at an offset aligned to SECTION_ALIGN; section 0 holds
 *                the graph's scalar fields as 64-bit values (the scalars
 *                table below), which give the other sections' counts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "analyze/graph_index.h"

#include "analyze/derived_check.h"
#include "analyze/findings.h"
#include "analyze/graph_internal.h"
#include "analyze/parallel.h"
#include "format/bits.h"
#include "format/outfile.h"
#include "format/wire.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "\x89MRINDEX"
/* what a loader puts in the graph, beyond its layout: 2 since snapshots'
 * maps keep their slot sizes (an index of 1 lacks them: stale); 3 since
 * the derived part may keep the findings' figures of every map and entry,
 * and sections are checked by section_sum, not crc32; 4 since a map's
 * table takes in the runtime's objects that keep the overflow buckets of
 * a map without pointers (an index of 3 counts them out: stale); 5 since a
 * map retains what its table objects keep together, not only what each
 * keeps alone (the findings an index of 4 keeps miss that: stale); 6
 * since the words evacuated old buckets still hold are no second holder
 * of an entry's objects (an index of 5 counts those entries shared: stale);
 * 7 since references from under an entry's own objects (a value pointing
 * back at its key, a part of a value at the value) leave those objects the
 * entry's (an index of 6 credits such entries with less: stale); 8 since
 * the derived part leaves out the retained sizes and single roots, which
 * the reader computes from the tree (an index of 7 keeps sections this
 * reader does not expect: stale); 9 since the graph no longer keeps the
 * size of the block of those computed arrays (the layout signature of an
 * index of 8 differs: stale); 10 since a map's record keeps its counts of
 * bucket records and objects in 32 bits, 176 bytes where it was 200 (the
 * layout signature of an index of 9 differs too: stale); 11 since the
 * figures few maps have lie in a section of their own, 136 bytes a map
 * where it was 176 (the layout signature differs: stale) */
#define FORMAT_VERSION 11
#define SECTION_ALIGN 64
#define ENDS_BYTES ((size_t)64 << 10)

typedef struct gi_header {
    char magic[8];
    uint32_t version, layout, signature, nsections;
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint64_t ends;
    uint64_t file_bytes;
    uint32_t table_crc, header_crc; /* header_crc: of the bytes before it */
} gi_header;

typedef struct gi_section {
    uint32_t id, elem;
    uint64_t count, offset;
    uint32_t crc, flags; /* flags: SF_PRESENT */
} gi_section;

#define SF_PRESENT 1u /* the array exists (NULL otherwise) */

/* ------------------------------------------------------------ layout --- */

/* The graph's scalar fields, kept in section 0 as 64-bit values. A new
 * scalar (a count of a new array) is one line here. */
#define SC(f)                                                                                      \
    {                                                                                              \
        offsetof(mp_graph, f), sizeof(((mp_graph *)0)->f)                                          \
    }
static const struct {
    size_t off, size;
} scalars[] = {
    SC(info.program),
    SC(info.build_id),
    SC(info.runtime),
    SC(info.pid),
    SC(info.time_nanos),
    SC(info.gc_cycle),
    SC(info.pointer_size),
    SC(info.profile_rate),
    SC(info.heap_alloc),
    SC(info.unreachable_objects),
    SC(info.unreachable_bytes),
    SC(info.gc_pause_ns),
    SC(nobjects),
    SC(naddr_runs),
    SC(nbig),
    SC(total_bytes),
    SC(nsampled),
    SC(nedges),
    SC(out.nwraps),
    SC(in.nwraps),
    SC(dropped_edges),
    SC(dropped_refs),
    SC(ntypes),
    SC(nroots),
    SC(nmaps),
    SC(nmap_aside),
    SC(nbuckets),
    SC(nentries),
    SC(nframes),
    SC(nstacks),
    SC(strs_len),
    SC(nbucket_by_obj),
    SC(nmap_by_header),
    SC(ntable_objs),
    SC(offsets.nfields),
    SC(offsets.n),
    SC(offsets.nblock),
    SC(offsets.len),
    SC(entries.nfields),
    SC(entries.n),
    SC(entries.nblock),
    SC(entries.len),
};
#define NSCALARS (sizeof scalars / sizeof *scalars)

enum { SEC_SCALARS = 0 };

/* One array of the graph: where its pointer is, its element size and
 * count; for a packed store (pack != NULL) the bytes are the store's. */
typedef struct sect {
    uint32_t id, elem;
    uint64_t count;
    void **ptr;
    const mp_pack *pack;
    const char *name; /* for messages */
    bool cstr;        /* a string: its last byte is its NUL */
} sect;

#define MAX_SECTIONS 40

/* A string the graph points at (info.format, info.thread_noun): its
 * length with the NUL, 0 for NULL. */
static uint64_t cstr_len(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/*
 * The graph's arrays, counted from its scalars (so that a reader, having
 * read section 0, knows what every other section must hold). A new graph
 * array is one line here; an id is never reused for another meaning.
 * Stores' byte counts are their total bytes (offsets.len and entries.len
 * stand for them: a store read back holds all its bytes in memory).
 */
static size_t graph_sections(mp_graph *g, sect *s, bool writing)
{
    size_t n = 0, bits = g->nobjects / 8 + 1;
#define A(ID, FIELD, COUNT)                                                                        \
    s[n++] =                                                                                       \
        (sect){                                                                                    \
            ID,   (uint32_t)sizeof *g->FIELD, (uint64_t)(COUNT), (void **)&g->FIELD, NULL, #FIELD, \
            false}
#define P(ID, PACK)                                                                                \
    s[n++] = (sect)                                                                                \
    {                                                                                              \
        ID, 1, writing ? mp_pack_bytes(&g->PACK) : (uint64_t)g->PACK.len, (void **)&g->PACK.buf,   \
            &g->PACK, #PACK " records", false                                                      \
    }
    s[n++] = (sect){SEC_SCALARS, 8, NSCALARS, NULL, NULL, "scalars", false};
    A(31, addr_lo, g->nobjects);
    A(32, addr_runs, g->naddr_runs);
    A(2, size32, g->nobjects);
    A(3, big, g->nbig);
    A(4, type, g->nobjects);
    A(5, samples, g->nsampled);
    A(6, sampled_bits, bits);
    A(7, out.at, g->nobjects + 1);
    A(8, out.wraps, g->out.nwraps);
    A(9, out.adj, g->nedges);
    A(10, in.at, g->nobjects + 1);
    A(11, in.wraps, g->in.nwraps);
    A(12, in.adj, g->nedges);
    P(13, offsets);
    A(14, offsets.block, g->offsets.nblock);
    A(15, types, g->ntypes);
    A(16, roots, g->nroots);
    A(17, maps, g->nmaps);
    A(33, map_aside, g->nmap_aside);
    A(18, buckets, g->nbuckets);
    P(19, entries);
    A(20, entries.block, g->entries.nblock);
    A(21, frames, g->nframes);
    A(22, stacks, g->nstacks);
    A(23, strs, g->strs_len);
    A(24, bucket_by_obj, g->nbucket_by_obj);
    A(25, bucket_bits, bits);
    A(26, map_by_header, g->nmap_by_header);
    A(27, table_objs, g->ntable_objs);
    A(28, table_bits, bits);
    s[n++] =
        (sect){29, 1, cstr_len(g->info.format), (void **)&g->info.format, NULL, "format", true};
    s[n++] = (sect){
        30,  1, cstr_len(g->info.thread_noun), (void **)&g->info.thread_noun, NULL, "thread noun",
        true};
#undef A
#undef P
    return n;
}

/* A checksum of the layout this build reads and writes: the scalars'
 * places, every section's id and element size, the sizes of the records
 * and MP_GRAPH_LAYOUT for changes of meaning. */
static uint32_t layout_signature(void)
{
    mp_graph g;
    memset(&g, 0, sizeof g);
    sect s[MAX_SECTIONS];
    size_t n = graph_sections(&g, s, false);
    uint64_t words[8 + MAX_SECTIONS * 2 + NSCALARS * 2];
    size_t k = 0;
    words[k++] = 0x0102030405060708u; /* byte order */
    words[k++] = sizeof(mp_graph);
    words[k++] = MP_GRAPH_LAYOUT;
    words[k++] = MP_PACK_BLOCK;
    words[k++] = EF_N;
    words[k++] = sizeof(mp_findings_saved);
    for (size_t i = 0; i < n; i++) {
        words[k++] = s[i].id;
        words[k++] = s[i].elem;
    }
    for (size_t i = 0; i < NSCALARS; i++) {
        words[k++] = scalars[i].off;
        words[k++] = scalars[i].size;
    }
    return (uint32_t)crc32_z(0, (const Bytef *)words, k * sizeof *words);
}

static uint64_t align_up(uint64_t v)
{
    return (v + SECTION_ALIGN - 1) / SECTION_ALIGN * SECTION_ALIGN;
}

static uint64_t get_scalar(const mp_graph *g, size_t i)
{
    const char *p = (const char *)g + scalars[i].off;
    switch (scalars[i].size) {
    case 1:
        return *(const uint8_t *)p;
    case 2:
        return *(const uint16_t *)p;
    case 4:
        return *(const uint32_t *)p;
    default:
        return *(const uint64_t *)p;
    }
}

/* Sets scalar i; false if the value does not fit the field. */
static bool set_scalar(mp_graph *g, size_t i, uint64_t v)
{
    char *p = (char *)g + scalars[i].off;
    switch (scalars[i].size) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        return v <= UINT8_MAX;
    case 2:
        *(uint16_t *)p = (uint16_t)v;
        return v <= UINT16_MAX;
    case 4:
        *(uint32_t *)p = (uint32_t)v;
        return v <= UINT32_MAX;
    default:
        *(uint64_t *)p = v;
        return true;
    }
}

/* ------------------------------------------------------- checksums --- */

/*
 * The checksum of a section's bytes. Every open reads every section's
 * bytes to check them, and every write sums them: with crc32 (about
 * 1 GB/s) that was a quarter of a second analysis's processor time. This
 * sum runs four independent lanes of 64-bit multiply-rotate rounds (the
 * round of xxHash64, whose published constants it uses) over 32-byte
 * stripes, several times faster, then folds the lanes, the length and the
 * tail into 32 bits. It detects damage, not tampering, as crc32 did; the
 * header and the tables keep crc32 (a few bytes). Pieces of any length
 * give the sum of their concatenation.
 */
#define SUM_P1 0x9E3779B185EBCA87u
#define SUM_P2 0xC2B2AE3D27D4EB4Fu
#define SUM_P3 0x165667B19E3779F9u
#define SUM_P4 0x85EBCA77C2B2AE63u
#define SUM_P5 0x27D4EB2F165667C5u

typedef struct sum_state {
    uint64_t v[4];
    uint64_t total;
    uint8_t tail[32]; /* bytes of the stripe under way */
    size_t ntail;
} sum_state;

static uint64_t rotl64(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

static uint64_t sum_round(uint64_t acc, uint64_t in)
{
    return rotl64(acc + in * SUM_P2, 31) * SUM_P1;
}

static void sum_init(sum_state *st)
{
    memset(st, 0, sizeof *st);
    st->v[0] = SUM_P1 + SUM_P2;
    st->v[1] = SUM_P2;
    st->v[2] = 0;
    st->v[3] = 0 - SUM_P1;
}

/* Whole 32-byte stripes at p (n a multiple of 32). */
static void sum_stripes(sum_state *st, const uint8_t *p, size_t n)
{
    uint64_t a = st->v[0], b = st->v[1], c = st->v[2], d = st->v[3];
    for (size_t i = 0; i < n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        a = sum_round(a, w[0]);
        b = sum_round(b, w[1]);
        c = sum_round(c, w[2]);
        d = sum_round(d, w[3]);
    }
    st->v[0] = a, st->v[1] = b, st->v[2] = c, st->v[3] = d;
}

static void sum_add(sum_state *st, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (n == 0) return;
    st->total += n;
    if (st->ntail) {
        size_t k = 32 - st->ntail < n ? 32 - st->ntail : n;
        memcpy(st->tail + st->ntail, p, k);
        st->ntail += k;
        p += k;
        n -= k;
        if (st->ntail < 32) return;
        sum_stripes(st, st->tail, 32);
        st->ntail = 0;
    }
    size_t whole = n / 32 * 32;
    sum_stripes(st, p, whole);
    memcpy(st->tail, p + whole, n - whole);
    st->ntail = n - whole;
}

static uint32_t sum_end(const sum_state *st)
{
    uint64_t h = rotl64(st->v[0], 1) + rotl64(st->v[1], 7) + rotl64(st->v[2], 12) +
                 rotl64(st->v[3], 18);
    for (size_t k = 0; k < 4; k++) h = (h ^ sum_round(0, st->v[k])) * SUM_P1 + SUM_P4;
    h += st->total;
    size_t i = 0;
    for (; i + 8 <= st->ntail; i += 8) {
        uint64_t w;
        memcpy(&w, st->tail + i, 8);
        h = rotl64(h ^ sum_round(0, w), 27) * SUM_P1 + SUM_P4;
    }
    for (; i < st->ntail; i++) h = rotl64(h ^ st->tail[i] * SUM_P5, 11) * SUM_P1;
    h ^= h >> 33;
    h *= SUM_P2;
    h ^= h >> 29;
    h *= SUM_P3;
    h ^= h >> 32;
    return (uint32_t)(h ^ h >> 32);
}

/* The checksum of the n bytes at p. */
static uint32_t section_sum(const void *p, uint64_t n)
{
    sum_state st;
    sum_init(&st);
    sum_add(&st, p, (size_t)n);
    return sum_end(&st);
}

/* --------------------------------------------------------- identity --- */

static uint32_t crc_range(int fd, uint64_t off, size_t n, uint8_t *buf, bool *ok)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    if (got != n) *ok = false;
    return (uint32_t)crc32_z(0, buf, got);
}

int mp_gi_ident_of(const char *path, mp_gi_ident *id, mf_error *err)
{
    memset(id, 0, sizeof *id);
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        mf_error_set(err, "%s: not a regular file", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        mf_error_set(err, "cannot read %s: %s", path, strerror(errno ? errno : EINVAL));
        if (fd >= 0) close(fd);
        return -1;
    }
    uint8_t *buf = malloc(ENDS_BYTES);
    if (!buf) {
        close(fd);
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    size_t head = size < ENDS_BYTES ? (size_t)size : ENDS_BYTES;
    bool ok = true;
    uint64_t a = crc_range(fd, 0, head, buf, &ok);
    uint64_t b = crc_range(fd, size - head, head, buf, &ok);
    free(buf);
    close(fd);
    if (!ok) {
        mf_error_set(err, "cannot read %s: short read", path);
        return -1;
    }
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    id->size = size;
    id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    id->ends = a << 32 | b;
    return 0;
}

char *mp_gi_path_beside(const char *path)
{
    size_t n = strlen(path);
    char *p = malloc(n + sizeof MP_GI_SUFFIX);
    if (!p) return NULL;
    memcpy(p, path, n);
    memcpy(p + n, MP_GI_SUFFIX, sizeof MP_GI_SUFFIX);
    return p;
}

char *mp_gi_path_cache(const char *path)
{
    char *abs = realpath(path, NULL);
    if (!abs) return NULL;
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a of the absolute path */
    for (const char *c = abs; *c; c++) h = (h ^ (uint8_t)*c) * 0x100000001b3u;
    free(abs);
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    const char *base = xdg && *xdg == '/' ? xdg : NULL;
    const char *sub = "/maproot/";
    if (!base) {
        if (!home || !*home) return NULL;
        base = home;
        sub = "/.cache/maproot/";
    }
    size_t n = strlen(base) + strlen(sub) + 16 + sizeof MP_GI_SUFFIX;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s%s%016llx%s", base, sub, (unsigned long long)h, MP_GI_SUFFIX);
    return p;
}

/* ----------------------------------------------------------- writing --- */

/* Calls fn over the bytes of section s of g, in pieces (a spilled store
 * is read back from its file); false if a piece could not be read or fn
 * failed. */
typedef bool (*piece_fn)(void *ud, const void *p, size_t n);
static bool section_pieces(const sect *s, const uint64_t *sc, piece_fn fn, void *ud)
{
    if (s->id == SEC_SCALARS) return fn(ud, sc, NSCALARS * sizeof *sc);
    if (!s->pack) return s->count ? fn(ud, *s->ptr, s->count * s->elem) : true;
    const mp_pack *p = s->pack;
    if (p->file_len) {
        size_t chunk = (size_t)4 << 20;
        uint8_t *b = malloc(chunk);
        if (!b) return false;
        for (uint64_t off = 0; off < p->file_len;) {
            size_t want = p->file_len - off < chunk ? (size_t)(p->file_len - off) : chunk;
            ssize_t k = pread(p->fd, b, want, (off_t)off);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0 || !fn(ud, b, (size_t)k)) {
                free(b);
                return false;
            }
            off += (uint64_t)k;
        }
        free(b);
    }
    return p->len ? fn(ud, p->buf, p->len) : true;
}

/* A piece_fn that adds the bytes to the section sum at ud. */
static bool crc_piece(void *ud, const void *p, size_t n)
{
    sum_add(ud, p, n);
    return true;
}

/* ---------------------------------------------------- derived part --- */

/* The derived part: the analysis results kept with the graph
 * (mp_graph_derived), after the graph part (at its header's file_bytes):
 * a header, a table of sections like the graph's and the sections. It is
 * optional and may be appended later, by the first command that computes
 * what the index lacks; it names the graph part it belongs to by that
 * part's checksums, and is checked (derived_check.h) before it is used. */
#define PART_MAGIC "\x89MRDERIV"
typedef struct gi_part {
    char magic[8];
    uint32_t nsections, table_crc;
    uint64_t graph;      /* the graph part's header_crc << 32 | table_crc */
    uint64_t part_bytes; /* from this header to the end of the file */
    uint32_t reserved, header_crc;
} gi_part;

#define NDERIVED 8
enum { DS_PREORDER = 4, DS_FMAPS, DS_FENTRIES, DS_FBLOCKS };

/* The sections of dv: paths (parent, root, via: one per object), tree
 * (idom: one per node; the preorder) and findings (a record per map; the
 * per-entry store's bytes and block index), each group all present or all
 * absent (count 0). The tree's retained sizes and single roots (ids 5 and
 * 6 once) are not kept: a reader computes them from the tree it checks in
 * less time than it took to read and check them, and they were a third of
 * the part. Writing, a store's byte count is all its bytes (some may be in
 * its spill file). */
static size_t derived_sections(mp_graph_derived *dv, uint64_t nobj, uint64_t nnodes,
                               uint64_t nmaps, bool writing, sect *s)
{
    uint64_t np = dv->parent ? nobj : 0, nt = dv->idom ? nnodes : 0;
    uint64_t nf = dv->fmaps ? nmaps : 0;
    uint64_t fbytes = !dv->fmaps ? 0 : writing ? mp_pack_bytes(&dv->fentries) : dv->fentries.len;
    size_t n = 0;
    s[n++] = (sect){1, 4, np, (void **)&dv->parent, NULL, "path parents", false};
    s[n++] = (sect){2, 4, np, (void **)&dv->root, NULL, "path roots", false};
    s[n++] = (sect){3, 4, np, (void **)&dv->via, NULL, "path steps", false};
    s[n++] = (sect){4, 4, nt, (void **)&dv->idom, NULL, "immediate dominators", false};
    s[n++] = (sect){
        7,    4, dv->idom ? dv->npreorder : 0, (void **)&dv->preorder, NULL, "dominator preorder",
        false};
    s[n++] = (sect){8, sizeof(mp_findings_saved), nf, (void **)&dv->fmaps, NULL, "findings", false};
    s[n++] = (sect){
        9, 1, fbytes, (void **)&dv->fentries.buf, &dv->fentries, "findings' entries", false};
    s[n++] = (sect){10, 8, dv->fmaps ? dv->fentries.nblock : 0, (void **)&dv->fentries.block, NULL,
                    "findings' entry blocks", false};
    assert(n == NDERIVED);
    return n;
}

mp_graph_derived mp_gi_derived_of(const mp_paths *p, const mp_dom *d)
{
    mp_graph_derived dv;
    memset(&dv, 0, sizeof dv);
    if (p && p->parent) {
        dv.parent = p->parent;
        dv.root = p->root;
        dv.via = p->via;
    }
    if (d && d->idom) {
        dv.idom = d->idom;
        dv.retained = d->retained;
        dv.root_of = d->root_of;
        dv.preorder = d->preorder;
        dv.npreorder = d->npreorder;
    }
    return dv;
}

/* Lays out the derived part of dv at file offset start (aligned), for the
 * graph part identified by `graph`: fills ph, tab and s; returns the
 * part's bytes, 0 when dv holds nothing to keep. */
static uint64_t part_layout(const mp_graph *g, mp_graph_derived *dv, uint64_t graph, uint64_t start,
                            gi_part *ph, gi_section *tab, sect *s)
{
    if (g->nobjects == 0 || (!dv->parent && !dv->idom)) return 0;
    /* the findings come with the paths and tree they were computed from */
    if (!dv->parent || !dv->idom || !g->nmaps || mp_pack_failed(&dv->fentries) ||
        dv->fentries.n != g->nentries)
        dv->fmaps = NULL;
    if (!dv->fmaps) memset(&dv->fentries, 0, sizeof dv->fentries);
again:;
    size_t ns = derived_sections(dv, g->nobjects, g->nobjects + g->nroots + 1, g->nmaps, true, s);
    uint64_t off = align_up(start + sizeof *ph + ns * sizeof *tab);
    for (size_t i = 0; i < ns; i++) {
        sum_state sum;
        sum_init(&sum);
        if (!section_pieces(&s[i], NULL, crc_piece, &sum)) {
            /* a spilled store that cannot be read back: keep the rest */
            dv->fmaps = NULL;
            memset(&dv->fentries, 0, sizeof dv->fentries);
            goto again;
        }
        tab[i] = (gi_section){s[i].id,       s[i].elem, s[i].count,
                              off,           sum_end(&sum),
                              s[i].count ? SF_PRESENT : 0};
        off = align_up(off + s[i].count * s[i].elem);
    }
    memset(ph, 0, sizeof *ph);
    memcpy(ph->magic, PART_MAGIC, 8);
    ph->nsections = (uint32_t)ns;
    ph->table_crc = (uint32_t)crc32_z(0, (const Bytef *)tab, ns * sizeof *tab);
    ph->graph = graph;
    ph->part_bytes = off - start;
    ph->header_crc = (uint32_t)crc32_z(0, (const Bytef *)ph, offsetof(gi_part, header_crc));
    return off - start;
}

static const uint8_t zeros[SECTION_ALIGN];

/* Hands the bytes of a laid-out part to fn, from its header to its end. */
static bool part_emit(piece_fn fn, void *ud, const gi_part *ph, const gi_section *tab,
                      const sect *s, uint64_t start)
{
    size_t ns = ph->nsections;
    if (!fn(ud, ph, sizeof *ph) || !fn(ud, tab, ns * sizeof *tab)) return false;
    uint64_t at = start + sizeof *ph + ns * sizeof *tab;
    for (size_t i = 0; i < ns; i++) {
        if (!fn(ud, zeros, (size_t)(tab[i].offset - at)) || !section_pieces(&s[i], NULL, fn, ud))
            return false;
        at = tab[i].offset + tab[i].count * tab[i].elem;
    }
    return fn(ud, zeros, (size_t)(start + ph->part_bytes - at));
}

/*
 * Write-behind. An index is the size of the heap's graph several times
 * over, written in one go after the report: left to the kernel, its pages
 * sit dirty until the dirty limits are reached, and then the writer is
 * stopped while they are written out (or the final sync waits for all of
 * them). Asking for the writeback of each finished window as soon as it
 * is complete keeps the disk busy while the rest is being written. The
 * pages stay in the page cache: the next analysis of the snapshot reads
 * the index from there (dropping them would make it read from the disk).
 */
static uint64_t write_behind_window = (uint64_t)64 << 20;

uint64_t mp_gi_write_behind_window(uint64_t bytes)
{
    uint64_t old = write_behind_window;
    if (bytes) write_behind_window = bytes;
    return old;
}

/* Asks for the writeback of what fd holds from *synced up to at once a
 * window of it is complete; fd -1: nothing (not a regular file). */
static void write_behind(int fd, uint64_t at, uint64_t *synced)
{
#ifdef SYNC_FILE_RANGE_WRITE
    if (fd >= 0 && at - *synced >= write_behind_window) {
        /* a hint: a failure here changes nothing (the commit syncs) */
        (void)sync_file_range(fd, (off_t)*synced, (off_t)(at - *synced), SYNC_FILE_RANGE_WRITE);
        *synced = at;
    }
#else
    (void)fd, (void)at, (void)synced;
#endif
}

typedef struct index_out {
    mf_out *o;
    int fd;          /* the regular file being written; -1: no write-behind */
    uint64_t at;     /* bytes written */
    uint64_t synced; /* bytes whose writeback was asked for */
} index_out;

static void index_out_init(index_out *w, mf_out *o)
{
    struct stat st;
    w->o = o;
    w->fd = mf_out_fd(o);
    if (w->fd >= 0 && (fstat(w->fd, &st) != 0 || !S_ISREG(st.st_mode))) w->fd = -1;
    w->at = w->synced = 0;
}

static bool out_piece(void *ud, const void *p, size_t n)
{
    index_out *w = ud;
    if (mf_out_write(w->o, p, n)) return false;
    w->at += n;
    write_behind(w->fd, w->at, &w->synced);
    return true;
}

int mp_gi_write(const char *index_path, const mp_graph *g, const mp_gi_ident *id,
                const mp_graph_derived *derived, uint64_t *bytes, mf_error *err)
{
    *bytes = 0;
    if (mp_pack_failed(&g->offsets) || mp_pack_failed(&g->entries)) {
        mf_error_set(err, "cannot write %s: the graph is incomplete", index_path);
        return -1;
    }
    sect s[MAX_SECTIONS];
    size_t ns = graph_sections((mp_graph *)g, s, true);
    uint64_t sc[NSCALARS];
    for (size_t i = 0; i < NSCALARS; i++) sc[i] = get_scalar(g, i);
    /* the stores' byte counts as a reader will hold them: all in memory */
    for (size_t i = 0; i < NSCALARS; i++) {
        if (scalars[i].off == offsetof(mp_graph, offsets.len)) sc[i] = mp_pack_bytes(&g->offsets);
        if (scalars[i].off == offsetof(mp_graph, entries.len)) sc[i] = mp_pack_bytes(&g->entries);
    }
    gi_section tab[MAX_SECTIONS];
    uint64_t off = align_up(sizeof(gi_header) + ns * sizeof(gi_section));
    for (size_t i = 0; i < ns; i++) {
        sum_state sum;
        sum_init(&sum);
        bool absent = s[i].id != SEC_SCALARS && !s[i].pack && !*s[i].ptr;
        if ((absent && s[i].count) || !section_pieces(&s[i], sc, crc_piece, &sum)) {
            mf_error_set(err, "cannot write %s: the graph's %s could not be read back", index_path,
                         s[i].name);
            return -1;
        }
        bool present = s[i].id == SEC_SCALARS || *s[i].ptr != NULL;
        tab[i] = (gi_section){s[i].id,       s[i].elem, s[i].count,
                              off,           sum_end(&sum),
                              present ? SF_PRESENT : 0};
        off = align_up(off + s[i].count * s[i].elem);
    }
    gi_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.version = FORMAT_VERSION;
    h.layout = MP_GRAPH_LAYOUT;
    h.signature = layout_signature();
    h.nsections = (uint32_t)ns;
    h.dev = id->dev;
    h.ino = id->ino;
    h.size = id->size;
    h.mtime_ns = id->mtime_ns;
    h.ends = id->ends;
    h.file_bytes = off;
    h.table_crc = (uint32_t)crc32_z(0, (const Bytef *)tab, ns * sizeof *tab);
    h.header_crc = (uint32_t)crc32_z(0, (const Bytef *)&h, offsetof(gi_header, header_crc));

    mf_out *o = mf_out_open(index_path, err);
    if (!o) return -1;
    index_out w;
    index_out_init(&w, o);
    out_piece(&w, &h, sizeof h);
    out_piece(&w, tab, ns * sizeof *tab);
    uint64_t at = sizeof h + ns * sizeof *tab;
    for (size_t i = 0; i < ns; i++) {
        out_piece(&w, zeros, (size_t)(tab[i].offset - at));
        if (!section_pieces(&s[i], sc, out_piece, &w) && mf_out_error(o, err) == 0) {
            mf_error_set(err, "cannot write %s: the graph's %s could not be read back", index_path,
                         s[i].name);
            mf_out_abort(o);
            return -1;
        }
        at = tab[i].offset + tab[i].count * tab[i].elem;
    }
    out_piece(&w, zeros, (size_t)(off - at));
    mp_graph_derived dv;
    memset(&dv, 0, sizeof dv);
    if (derived) dv = *derived;
    gi_part ph;
    gi_section ptab[NDERIVED];
    sect ps[NDERIVED];
    uint64_t part =
        part_layout(g, &dv, (uint64_t)h.header_crc << 32 | h.table_crc, off, &ph, ptab, ps);
    if (part) part_emit(out_piece, &w, &ph, ptab, ps, off);
    if (mf_out_error(o, err)) {
        mf_out_abort(o);
        return -1;
    }
    if (mf_out_commit(o, err)) return -1;
    *bytes = off + part;
    return 0;
}

typedef struct fd_out {
    int fd;
    uint64_t at;     /* the file's end: where the next piece goes */
    uint64_t synced; /* bytes whose writeback was asked for (or that were there) */
} fd_out;

static bool fd_piece(void *ud, const void *p, size_t n)
{
    fd_out *f = ud;
    for (size_t done = 0; done < n;) {
        ssize_t k = pwrite(f->fd, (const uint8_t *)p + done, n - done, (off_t)(f->at + done));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        done += (size_t)k;
    }
    f->at += n;
    write_behind(f->fd, f->at, &f->synced);
    return true;
}

/* The index is appended to in place, not rewritten: a reader that maps it
 * meanwhile sees either no part or a part whose checks fail (and so does
 * without it); an exclusive lock keeps two writers from appending at once,
 * and a failed write is cut off again. */
int mp_gi_append(const char *index_path, const mp_graph *g, const mp_gi_ident *id,
                 const mp_graph_derived *derived, uint64_t *bytes, mf_error *err)
{
    *bytes = 0;
    int fd = open(index_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        mf_error_set(err, "cannot open %s: %s", index_path, strerror(errno));
        return -1;
    }
    int rc = 1;
    struct stat st;
    gi_header h;
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h.magic, MAGIC, 8) != 0 ||
        h.header_crc != (uint32_t)crc32_z(0, (const Bytef *)&h, offsetof(gi_header, header_crc)) ||
        h.version != FORMAT_VERSION || h.layout != MP_GRAPH_LAYOUT ||
        h.signature != layout_signature() || h.dev != id->dev || h.ino != id->ino ||
        h.size != id->size || h.mtime_ns != id->mtime_ns || h.ends != id->ends ||
        (uint64_t)st.st_size != h.file_bytes || (g->mapped && memcmp(g->mapped, &h, sizeof h) != 0))
        goto done; /* not this snapshot's index, not the one g was read
                      from, or it has a part already */
    mp_graph_derived dv = *derived;
    gi_part ph;
    gi_section tab[NDERIVED];
    sect s[NDERIVED];
    uint64_t part =
        part_layout(g, &dv, (uint64_t)h.header_crc << 32 | h.table_crc, h.file_bytes, &ph, tab, s);
    rc = 0;
    if (!part) goto done;
    fd_out f = {fd, h.file_bytes, h.file_bytes};
    if (!part_emit(fd_piece, &f, &ph, tab, s, h.file_bytes)) {
        mf_error_set(err, "cannot write %s: %s", index_path, strerror(errno ? errno : EIO));
        /* cut back; if even that fails, readers refuse the part (its
         * checks) and a later command writes the index again */
        if (ftruncate(fd, (off_t)h.file_bytes) != 0)
            mf_error_set(err, "cannot write %s (nor cut it back): %s", index_path, strerror(errno));
        rc = -1;
        goto done;
    }
    *bytes = part;
done:
    close(fd); /* and the lock with it */
    return rc;
}

/* ----------------------------------------------------------- reading --- */

/* The checks of one linear pass over a graph whose arrays lie in an index:
 * every reference in range, every order the lookups rely on kept. NULL
 * when sound, else what is wrong. */

static bool sid_ok(const mp_graph *g, mp_sid s)
{
    return s < g->strs_len;
}

static bool obj_ok(const mp_graph *g, uint32_t o)
{
    return o == MP_NONE || o < g->nobjects;
}

static bool byte_bool_ok(const void *b)
{
    uint8_t v;
    memcpy(&v, b, 1);
    return v <= 1;
}

static const char *check_csr(const mp_graph *g, const mp_csr *c, const char *what)
{
    static char msg[2][96];
    char *m = msg[c == &g->in];
    if (c->nwraps > (g->nedges >> 32) + 1) {
        snprintf(m, sizeof msg[0], "%s: too many wraps", what);
        return m;
    }
    for (size_t k = 0; k < c->nwraps; k++)
        if (c->wraps[k] > g->nobjects || (k && c->wraps[k] <= c->wraps[k - 1])) {
            snprintf(m, sizeof msg[0], "%s: wrap %zu out of order", what, k);
            return m;
        }
    uint64_t prev = 0, hi = 0;
    size_t k = 0;
    for (size_t v = 0; v <= g->nobjects; v++) {
        while (k < c->nwraps && c->wraps[k] <= v) {
            hi += (uint64_t)1 << 32;
            k++;
        }
        uint64_t s = hi + c->at[v];
        if ((v == 0 && s != 0) || s < prev || s > g->nedges) {
            snprintf(m, sizeof msg[0], "%s: the start of object %zu is out of range", what, v);
            return m;
        }
        prev = s;
    }
    if (prev != g->nedges) {
        snprintf(m, sizeof msg[0], "%s: the edges end at %llu, not %zu", what,
                 (unsigned long long)prev, g->nedges);
        return m;
    }
    for (size_t e = 0; e < g->nedges; e++)
        if (c->adj[e] >= g->nobjects) {
            snprintf(m, sizeof msg[0], "%s: edge %zu points beyond the objects", what, e);
            return m;
        }
    return NULL;
}

/* A store's block index and every record decoded: each block's records
 * end where the next block starts. check(ud, record index, fields) judges
 * the values. */
/* A store's block index and every record decoded: each block's records
 * end where the next block starts. check(ud, record index, fields) judges
 * the values. What is wrong goes to msg (size bytes): checks of two
 * stores may run at once. */
static const char *check_pack(const mp_pack *p, unsigned nfields, const char *what,
                              const char *(*check)(const mp_graph *, uint64_t, const uint64_t *),
                              const mp_graph *g, char *msg, size_t size)
{
    if (p->nfields != nfields || p->nblock != (p->n + MP_PACK_BLOCK - 1) / MP_PACK_BLOCK ||
        (p->n && (!p->buf || !p->block))) {
        snprintf(msg, size, "%s: wrong shape", what);
        return msg;
    }
    for (size_t b = 0; b < p->nblock; b++) {
        uint64_t start = p->block[b], end = b + 1 < p->nblock ? p->block[b + 1] : p->len;
        if ((b == 0 && start != 0) || start > end || end > p->len) {
            snprintf(msg, size, "%s: block %zu out of range", what, b);
            return msg;
        }
        const uint8_t *at = p->buf + start, *lim = p->buf + end;
        uint64_t last[MP_PACK_FIELDS] = {0}, f[MP_PACK_FIELDS];
        size_t nrec = b + 1 < p->nblock ? MP_PACK_BLOCK : p->n - b * MP_PACK_BLOCK;
        for (size_t r = 0; r < nrec; r++) {
            for (unsigned k = 0; k < nfields; k++) {
                uint64_t v;
                if (!(at = mf_get_varint(at, lim, &v))) {
                    snprintf(msg, size, "%s: record %zu cannot be decoded", what,
                             b * MP_PACK_BLOCK + r);
                    return msg;
                }
                last[k] += (uint64_t)mf_unzigzag(v);
                f[k] = last[k];
            }
            const char *bad = check(g, b * MP_PACK_BLOCK + r, f);
            if (bad) {
                snprintf(msg, size, "%s: record %zu: %s", what, b * MP_PACK_BLOCK + r, bad);
                return msg;
            }
        }
        if (at != lim) {
            snprintf(msg, size, "%s: block %zu has bytes to spare", what, b);
            return msg;
        }
    }
    return NULL;
}

static const char *check_offset(const mp_graph *g, uint64_t i, const uint64_t *f)
{
    (void)g, (void)i;
    return f[0] > (uint64_t)UINT32_MAX ? "offset out of range" : NULL;
}

/* Entry i: its fields in range, and within its own map's entries (with
 * the maps' counts summing to the entries', checked with the maps, each
 * map's entries are then its own: the findings rely on it). */
static const char *check_entry(const mp_graph *g, uint64_t i, const uint64_t *f)
{
    for (unsigned k = 0; k < EF_N; k++)
        if (k != EF_KEY && k != EF_BUCKET && f[k] > (uint64_t)UINT32_MAX + 1)
            return "a field out of range";
    mp_entry e;
    mp_unpack_entry(f, &e);
    if (e.map >= g->nmaps) return "map out of range";
    const mp_map *m = &g->maps[e.map];
    if (i < m->first_entry || i - m->first_entry >= m->nentries) return "not among its map's";
    if (!obj_ok(g, e.bucket_obj) || !obj_ok(g, e.key_obj) || !obj_ok(g, e.value_obj))
        return "object out of range";
    if (!g->maps[e.map].key_numeric && e.key >= g->strs_len) return "key out of range";
    return NULL;
}

/* Drops the whole pages of [off, off + n) of a private file mapping from
 * the process: read again from the file when touched. */
static void release_pages(uint8_t *base, uint64_t off, uint64_t n)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t a = (off + page - 1) / page * page, b = (off + n) / page * page;
    if (b > a) madvise(base + a, (size_t)(b - a), MADV_DONTNEED);
}

/* Gives back the pages of an array of g checked already, when g lies in a
 * file mapping (g->mapped is set during the checks only then): the checks
 * read a whole index, and what they have read need not stay in the
 * process at once. */
static void drop(const mp_graph *g, const void *p, uint64_t bytes)
{
    if (g->mapped && p)
        release_pages(g->mapped, (uint64_t)((const uint8_t *)p - (const uint8_t *)g->mapped),
                      bytes);
}

/* Whether o is none or listed among the table objects. Once the bits are
 * known to be the list, a bit says it: no search of the list an object. */
static bool table_object(const mp_graph *g, uint32_t o)
{
    return o == MP_NONE || (o < g->nobjects && mp_bit(g->table_bits, o));
}

/* The table objects (g->table_objs, sorted by object, and g->table_bits,
 * the same set as bits) are derived from the maps when a snapshot is read;
 * an index stores them, and the findings rely on every object of a map's
 * table (header, bucket arrays, buckets) being found there. Invariant
 * checked: the bits are exactly the listed objects, and each map's table
 * objects are among them. Needs table_objs in range and sorted. */
static const char *check_tables(const mp_graph *g)
{
    if (!g->table_bits) return g->ntable_objs ? "table objects: the bits are missing" : NULL;
    size_t set = 0;
    for (size_t i = 0; i < g->nobjects / 8 + 1; i++)
        set += (size_t)mf_popcount64(g->table_bits[i]);
    if (set != g->ntable_objs) return "table objects: the bits and the list differ";
    for (size_t i = 0; i < g->ntable_objs; i++) {
        uint32_t o = (uint32_t)(g->table_objs[i] >> 32);
        if (!mp_bit(g->table_bits, o)) return "table objects: the bits and the list differ";
    }
    for (size_t k = 0; k < g->nmaps; k++) {
        const mp_map *m = &g->maps[k];
        const uint32_t top[3] = {m->header, m->buckets, m->oldbuckets};
        for (int j = 0; j < 3; j++)
            if (!table_object(g, top[j])) return "table objects: a map's table object is missing";
        for (size_t i = 0; i < m->nbuckets; i++)
            if (!table_object(g, g->buckets[m->first_bucket + i].obj))
                return "table objects: a map's table object is missing";
    }
    return NULL;
}

/* The map entries, apart from check_graph so that they can be checked on
 * another thread: they need only the maps' count and key kinds, whatever
 * their other values. */
static const char *check_entries(const mp_graph *g, char *msg, size_t size)
{
    if (g->entries.n != g->nentries) return "entries: wrong count";
    const char *bad = check_pack(&g->entries, EF_N, "entries", check_entry, g, msg, size);
    if (!bad) drop(g, g->entries.buf, g->entries.len);
    return bad;
}

/* Every reference of g but its entries' (check_entries). */
static const char *check_graph(const mp_graph *g)
{
    if (g->strs_len == 0 || g->strs[0] || g->strs[g->strs_len - 1])
        return "string table: a reference out of range or out of order";
    if (!g->info.format) return "format: a reference out of range or out of order";
    if (g->nobjects >= MP_NONE) return "too many objects";
    if (!sid_ok(g, g->info.program) || !sid_ok(g, g->info.build_id) || !sid_ok(g, g->info.runtime))
        return "program strings: a reference out of range or out of order";
    if (g->nobjects && (!g->addr_lo || !g->addr_runs || !g->size32 || !g->type))
        return "objects missing";
    if (g->naddr_runs > g->nobjects || (g->nobjects && g->addr_runs[0].first != 0))
        return "address runs out of range";
    for (size_t k = 1; k < g->naddr_runs; k++)
        if (g->addr_runs[k].first <= g->addr_runs[k - 1].first ||
            g->addr_runs[k].first >= g->nobjects ||
            g->addr_runs[k].high <= g->addr_runs[k - 1].high)
            return "address runs out of order";
    if (!g->out.at || !g->in.at) return "edge starts missing";
    uint64_t total = 0;
    for (size_t i = 0; i < g->nobjects; i++) {
        if (i && mp_obj_addr(g, (uint32_t)i) <= mp_obj_addr(g, (uint32_t)i - 1))
            return "object addresses out of order";
        if (g->size32[i] != MP_BIG_SIZE) total += g->size32[i];
        if (g->type[i] != MP_NONE && g->type[i] >= g->ntypes) return "object type out of range";
    }
    for (size_t i = 0; i < g->nbig; i++) {
        if (g->big[i].obj >= g->nobjects || (i && g->big[i].obj <= g->big[i - 1].obj) ||
            g->size32[g->big[i].obj] != MP_BIG_SIZE)
            return "big sizes: a reference out of range or out of order";
        total += g->big[i].size;
    }
    drop(g, g->addr_lo, g->nobjects * sizeof *g->addr_lo);
    drop(g, g->addr_runs, g->naddr_runs * sizeof *g->addr_runs);
    drop(g, g->size32, g->nobjects * sizeof *g->size32);
    drop(g, g->type, g->nobjects * sizeof *g->type);
    if (total != g->total_bytes) return "the heap's bytes are not the sum of its objects' sizes";
    for (size_t i = 0; i < g->nsampled; i++)
        if ((g->samples[i] >> 32) >= g->nobjects || (uint32_t)g->samples[i] >= g->nstacks ||
            (i && g->samples[i] <= g->samples[i - 1]))
            return "samples: a reference out of range or out of order";
    drop(g, g->samples, g->nsampled * sizeof *g->samples);
    const char *bad;
    const mp_csr *csr[] = {&g->out, &g->in};
    for (int k = 0; k < 2; k++) {
        if ((bad = check_csr(g, csr[k], k ? "in edges" : "out edges"))) return bad;
        drop(g, csr[k]->at, (g->nobjects + 1) * sizeof *csr[k]->at);
        drop(g, csr[k]->adj, g->nedges * sizeof *csr[k]->adj);
    }
    static char msg[96]; /* check_graph runs on one thread at a time */
    if ((bad = check_pack(&g->offsets, 1, "edge offsets", check_offset, g, msg, sizeof msg)))
        return bad;
    drop(g, g->offsets.buf, g->offsets.len);
    if (g->offsets.n > g->nedges) return "edge offsets: too many";
    for (size_t i = 0; i < g->ntypes; i++) {
        const mp_type *t = &g->types[i];
        if (!sid_ok(g, t->name) || t->kind >= MP_TYPE_NKINDS || t->pointers > MP_PTRS_SOME)
            return "types: a reference out of range or out of order";
    }
    for (size_t i = 0; i < g->nroots; i++) {
        const mp_root *r = &g->roots[i];
        if (r->kind >= MP_ROOT_NKINDS || !sid_ok(g, r->name) || !sid_ok(g, r->file) ||
            !sid_ok(g, r->function) || !sid_ok(g, r->state) || !sid_ok(g, r->tls_module) ||
            !sid_ok(g, r->tls_variable) || !obj_ok(g, r->target) ||
            !byte_bool_ok(&r->has_frame_offset))
            return "roots: a reference out of range or out of order";
    }
    uint64_t map_entries = 0;
    for (size_t i = 0; i < g->nmaps; i++) {
        const mp_map *m = &g->maps[i];
        if (m->nentries > g->nentries - map_entries)
            return "maps: their entries are not the entries";
        map_entries += m->nentries;
        if (!obj_ok(g, m->header) || !sid_ok(g, m->type_name) || m->key_kind > MP_KEY_BYTES ||
            (m->key_type != MP_NONE && m->key_type >= g->ntypes) ||
            (m->value_type != MP_NONE && m->value_type >= g->ntypes) || !obj_ok(g, m->buckets) ||
            !obj_ok(g, m->oldbuckets) || !byte_bool_ok(&m->types_inferred) ||
            m->sync_map > MP_SYNC_ALONE || m->aside > g->nmap_aside ||
            m->first_bucket > g->nbuckets || m->nbuckets > g->nbuckets - m->first_bucket ||
            m->first_entry > g->nentries || m->nentries > g->nentries - m->first_entry)
            return "maps: a reference out of range or out of order";
    }
    if (map_entries != g->nentries) return "maps: their entries are not the entries";
    for (size_t i = 0; i < g->nmap_aside; i++)
        if (!sid_ok(g, g->map_aside[i].container))
            return "maps' figures set aside: a reference out of range";
    for (size_t i = 0; i < g->nbuckets; i++)
        if (g->buckets[i].map >= g->nmaps || !obj_ok(g, g->buckets[i].obj))
            return "buckets: a reference out of range or out of order";
    for (size_t i = 0; i < g->nframes; i++)
        if (!sid_ok(g, g->frames[i].function) || !sid_ok(g, g->frames[i].file))
            return "frames: a reference out of range or out of order";
    for (size_t i = 0; i < g->nstacks; i++)
        if (g->stacks[i].first > g->nframes || g->stacks[i].n > g->nframes - g->stacks[i].first)
            return "stacks: a reference out of range or out of order";
    for (size_t i = 0; i < g->nbucket_by_obj; i++)
        if (g->bucket_by_obj[i] >= g->nbuckets)
            return "bucket lookup: a reference out of range or out of order";
    for (size_t i = 0; i < g->nmap_by_header; i++)
        if (g->map_by_header[i] >= g->nmaps)
            return "map lookup: a reference out of range or out of order";
    for (size_t i = 0; i < g->ntable_objs; i++)
        if ((g->table_objs[i] >> 32) >= g->nobjects || (uint32_t)g->table_objs[i] >= g->nmaps ||
            (i > 0 && (g->table_objs[i] >> 32) <= (g->table_objs[i - 1] >> 32)))
            return "table objects: a reference out of range or out of order";
    return check_tables(g);
}

/* An mp_release_fn for arrays in the file mapping at ud. */
static void release_array(void *ud, const void *p, uint64_t bytes)
{
    if (p) release_pages(ud, (uint64_t)((const uint8_t *)p - (const uint8_t *)ud), bytes);
}

/* An entry's findings record: (retained bytes, shared 0 or 1). */
static const char *check_entry_result(const mp_graph *g, uint64_t i, const uint64_t *f)
{
    (void)i;
    if (f[0] > g->total_bytes) return "retained bytes out of range";
    return f[1] > 1 ? "not a flag" : NULL;
}

/* The findings of dv (its fmaps, and fentries' bytes and block index as the
 * table tab says): the store made a read-only store in memory, then every
 * record of it and of the maps checked. NULL when sound. */
static const char *check_findings(const mp_graph *g, mp_graph_derived *dv, const gi_section *tab,
                                  char *why, size_t size)
{
    mp_pack *pk = &dv->fentries;
    uint8_t *buf = pk->buf;
    uint64_t *block = pk->block;
    memset(pk, 0, sizeof *pk);
    pk->nfields = 2;
    pk->n = g->nentries;
    pk->buf = buf;
    pk->len = tab[DS_FENTRIES].count;
    pk->block = block;
    pk->nblock = tab[DS_FBLOCKS].count;
    pk->fd = -1;
    const char *bad = check_pack(pk, 2, "derived results: findings' entries", check_entry_result, g,
                                 why, size);
    if (bad) return bad;
    static const char part[] = "derived results: ";
    if (size <= sizeof part) return "derived results: findings";
    memcpy(why, part, sizeof part - 1);
    return mp_findings_saved_check(g, dv->fmaps, tab[DS_FMAPS].count, why + sizeof part - 1,
                                   size - (sizeof part - 1))
               ? why
               : NULL;
}

/* The checks of a derived part, split over two threads: the checksums of
 * its sections, then the paths and the findings on one; the tree, with
 * the retained sizes and single roots computed from it, on the other.
 * Each check reads only what it was given and is safe on any bytes (the
 * sections' bounds are checked before), so none waits for another; a
 * checksum that fails outranks what the checks found. */
typedef struct part_check {
    mp_graph *g;
    mp_graph_derived *dv;
    const gi_section *tab;
    const sect *s;
    uint8_t *base;
    bool file;
    uint64_t *retained;
    uint32_t *root_of;
    const char *bad_sum, *bad_paths, *bad_tree, *bad_findings;
    char why_sum[160], why_paths[160], why_tree[160], why_findings[160];
} part_check;

static void part_check_job(void *arg, unsigned t, unsigned n)
{
    part_check *c = arg;
    mp_release_fn rel = c->file ? release_array : NULL;
    for (unsigned job = t; job < 2; job += n) {
        if (job == 0) {
            for (size_t i = 0; i < NDERIVED && !c->bad_sum; i++) {
                const gi_section *t = &c->tab[i];
                if (t->crc != section_sum(c->base + t->offset, t->count * t->elem)) {
                    snprintf(c->why_sum, sizeof c->why_sum,
                             "derived results: section %zu (%s): checksum", i, c->s[i].name);
                    c->bad_sum = c->why_sum;
                }
            }
            if (!c->bad_sum && c->dv->parent)
                c->bad_paths = mp_derived_check_paths(c->g, c->dv, c->why_paths,
                                                      sizeof c->why_paths, rel, c->base);
            if (!c->bad_sum && !c->bad_paths && c->dv->fmaps)
                c->bad_findings = check_findings(c->g, c->dv, c->tab, c->why_findings,
                                                 sizeof c->why_findings);
        } else if (c->dv->idom) {
            c->bad_tree = mp_derived_tree(c->g, c->dv, c->retained, c->root_of, c->why_tree,
                                          sizeof c->why_tree, rel, c->base);
        }
    }
}

/* Points g->derived into the derived part of the index image at base
 * (after the graph part of header h) once it is checked, with the retained
 * sizes and single roots computed from its tree into g->computed; NULL
 * when it is sound, else what is wrong (g->derived stays empty then). */
static const char *attach_part(uint8_t *base, size_t len, bool file, const gi_header *h,
                               mp_graph *g, char *why, size_t size)
{
    uint64_t start = h->file_bytes, nobj = g->nobjects, N = nobj + g->nroots + 1;
    gi_part ph;
    if (start % SECTION_ALIGN) return "derived results: misplaced";
    if (len - start < sizeof ph) return "derived results: cut short";
    memcpy(&ph, base + start, sizeof ph);
    if (memcmp(ph.magic, PART_MAGIC, 8) != 0 ||
        ph.header_crc != (uint32_t)crc32_z(0, (const Bytef *)&ph, offsetof(gi_part, header_crc)))
        return "derived results: damaged header";
    if (ph.graph != ((uint64_t)h->header_crc << 32 | h->table_crc))
        return "derived results: of another graph";
    if (ph.part_bytes != len - start) return "derived results: cut short";
    const gi_section *tab = (const gi_section *)(base + start + sizeof ph);
    if (ph.nsections != NDERIVED || (len - start - sizeof ph) / sizeof *tab < NDERIVED ||
        ph.table_crc != (uint32_t)crc32_z(0, (const Bytef *)tab, NDERIVED * sizeof *tab))
        return "derived results: the table of sections";
    mp_graph_derived dv;
    memset(&dv, 0, sizeof dv);
    sect s[NDERIVED];
    derived_sections(&dv, nobj, N, g->nmaps, false, s);
    /* a count of 0 or the one given; the preorder and a store's bytes: up
     * to it */
    const uint64_t want[NDERIVED] = {
        nobj, nobj, nobj, N, N, g->nmaps, UINT64_MAX, (g->nentries + MP_PACK_BLOCK - 1) / MP_PACK_BLOCK};
    for (size_t i = 0; i < NDERIVED; i++) {
        const gi_section *t = &tab[i];
        bool fits = t->offset % 8 == 0 && t->offset >= start && t->offset <= len &&
                    t->elem == s[i].elem && t->count <= (len - t->offset) / t->elem;
        bool up_to = i == DS_PREORDER || i == DS_FENTRIES;
        if (t->id != s[i].id || !fits || (t->count && t->count != want[i] && !up_to) ||
            t->count > want[i] || t->flags != (t->count ? SF_PRESENT : 0u)) {
            snprintf(why, size, "derived results: section %zu (%s): bounds or count", i, s[i].name);
            return why;
        }
        *s[i].ptr = t->count ? base + t->offset : NULL;
    }
    dv.npreorder = tab[DS_PREORDER].count;
    if (!dv.parent != !dv.root || !dv.parent != !dv.via || !dv.idom != !dv.preorder)
        return "derived results: a part of the paths or of the tree is missing";
    if (!dv.fmaps && (dv.fentries.buf || dv.fentries.block))
        return "derived results: a part of the findings is missing";
    if (dv.fmaps && (!dv.parent || !dv.idom))
        return "derived results: findings without the paths and tree they come from";
    part_check c = {.g = g, .dv = &dv, .tab = tab, .s = s, .base = base, .file = file};
    void *mem = NULL;
    if (dv.idom) {
        /* the computed arrays, one block. The tree's section holds N
         * words of the image, so the size cannot wrap. */
        size_t bytes = (size_t)(N * sizeof *c.retained + nobj * sizeof *c.root_of);
        mem = malloc(bytes);
        if (!mem) return "derived results: out of memory";
        c.retained = mem;
        c.root_of = (uint32_t *)(c.retained + N);
    }
    mp_parallel(mp_threads() > 1 ? 2 : 1, part_check_job, &c);
    if (file) release_pages(base, 0, len); /* every check has read its part */
    const char *bad = c.bad_sum ? c.bad_sum
                      : c.bad_paths ? c.bad_paths
                      : c.bad_tree  ? c.bad_tree
                                    : c.bad_findings;
    if (bad) {
        free(mem);
        snprintf(why, size, "%s", bad);
        return why;
    }
    if (mem) {
        dv.retained = c.retained;
        dv.root_of = c.root_of;
        g->computed = mem;
    }
    g->derived = dv;
    return NULL;
}

/* Whether the n bytes at p are a name the loaders give (a format, what a
 * thread is called): lower-case ASCII words, ended by their NUL. */
static bool plain_name(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i + 1 < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == ' ' ||
              p[i] == '-' || p[i] == '_'))
            return false;
    return p[n - 1] == 0;
}

/* The checks of the graph part, on two threads: the checksums of its
 * sections, then the map entries, on one; the other references on the
 * other (check_graph; both safe on any bytes once the sections' bounds
 * are known). A checksum that fails
 * outranks what the references' check found: it says the file is damaged,
 * not why its values look wrong. */
typedef struct graph_check {
    const mp_graph *g;
    const gi_section *tab;
    const sect *s;
    size_t ns;
    uint8_t *base;
    bool file;
    const char *bad_sum, *bad_graph, *bad_entries;
    char why_sum[160], why_entries[160];
} graph_check;

static void graph_check_job(void *arg, unsigned t, unsigned n)
{
    graph_check *c = arg;
    for (unsigned job = t; job < 2; job += n) {
        if (job == 1) {
            c->bad_graph = check_graph(c->g);
            continue;
        }
        for (size_t i = 1; i < c->ns && !c->bad_sum; i++) {
            const gi_section *t = &c->tab[i];
            if (t->crc != section_sum(c->base + t->offset, t->count * t->elem)) {
                snprintf(c->why_sum, sizeof c->why_sum, "section %zu (%s): checksum", i,
                         c->s[i].name);
                c->bad_sum = c->why_sum;
            }
            if (c->file) release_pages(c->base, t->offset, t->count * t->elem);
        }
        /* the sums are the lighter half: the entries even it out */
        if (!c->bad_sum)
            c->bad_entries = check_entries(c->g, c->why_entries, sizeof c->why_entries);
    }
}

/* The static string that spells s (graph.h: the graph's format and thread
 * noun are static, and what keeps them may outlive the graph, as a gate
 * keeps a map's thread noun past its snapshot's graph, whose index image
 * is unmapped), or NULL when s is none maproot writes. */
static const char *static_name(const char *s)
{
    static const char *const names[] = {"gcstack", "godump", "thread", "goroutine"};
    for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i])) return names[i];
    return NULL;
}

/* Points the graph's arrays into the index image at base (len bytes; a
 * private mapping of the index file when `file`) after checking it; on
 * MP_GI_OK the graph owns the image (mapped, released by
 * mp_graph_free). */
static mp_gi_status attach(uint8_t *base, size_t len, bool file, const mp_gi_ident *id,
                           const char *ipath, const char *name, mp_graph **out, mf_error *err)
{
    *out = NULL;
    gi_header h;
    if (len < sizeof h || memcmp(base, MAGIC, 8) != 0) {
        mf_error_set(err, "%s: not a maproot index", ipath);
        return MP_GI_BAD;
    }
    memcpy(&h, base, sizeof h);
    if (h.header_crc != (uint32_t)crc32_z(0, base, offsetof(gi_header, header_crc))) {
        mf_error_set(err, "%s: damaged header", ipath);
        return MP_GI_BAD;
    }
    if (h.version != FORMAT_VERSION || h.layout != MP_GRAPH_LAYOUT ||
        h.signature != layout_signature())
        return MP_GI_STALE;
    if (id && (h.dev != id->dev || h.ino != id->ino || h.size != id->size ||
               h.mtime_ns != id->mtime_ns || h.ends != id->ends))
        return MP_GI_STALE;
    if (h.file_bytes > len) {
        mf_error_set(err, "%s: %zu bytes where the header says %llu (truncated?)", ipath, len,
                     (unsigned long long)h.file_bytes);
        return MP_GI_BAD;
    }
    mp_graph *g = calloc(1, sizeof *g);
    if (!g) {
        mf_error_set(err, "%s: out of memory", ipath);
        return MP_GI_BAD;
    }
    sect s[MAX_SECTIONS];
    size_t ns = graph_sections(g, s, false);
    const gi_section *tab = (const gi_section *)(base + sizeof h);
    const char *bad = NULL;
    char why[160];
    if (h.nsections != ns || (len - sizeof h) / sizeof *tab < ns)
        bad = "the table of sections";
    else if (h.table_crc != (uint32_t)crc32_z(0, (const Bytef *)tab, ns * sizeof *tab))
        bad = "the table of sections (checksum)";
    for (size_t i = 0; !bad && i < ns; i++) {
        if (i == 1) {
            /* the scalars are known: count the other sections again */
            const uint64_t *sc = (const uint64_t *)(base + tab[0].offset);
            for (size_t k = 0; k < NSCALARS && !bad; k++)
                if (!set_scalar(g, k, sc[k])) bad = "scalars (a value out of range)";
            if (bad) break;
            graph_sections(g, s, false);
        }
        const gi_section *t = &tab[i];
        if (t->id != s[i].id || t->elem != s[i].elem || (!s[i].cstr && t->count != s[i].count) ||
            t->offset % 8 || t->offset > len || t->count > (len - t->offset) / t->elem ||
            (t->flags & ~SF_PRESENT) || (t->count && !(t->flags & SF_PRESENT))) {
            snprintf(why, sizeof why, "section %zu (%s): bounds or count", i, s[i].name);
            bad = why;
            break;
        }
        if (i == 0) {
            /* the scalars count the rest: sound before they are used */
            if (t->crc != section_sum(base + t->offset, t->count * t->elem)) {
                snprintf(why, sizeof why, "section 0 (%s): checksum", s[i].name);
                bad = why;
            }
            continue;
        }
        if (s[i].cstr && t->count && !plain_name(base + t->offset, t->count)) {
            snprintf(why, sizeof why, "section %zu (%s): not a name", i, s[i].name);
            bad = why;
            break;
        }
        *s[i].ptr = t->flags & SF_PRESENT ? base + t->offset : NULL;
    }
    if (!bad) {
        /* the stores hold all their bytes in memory, read-only */
        mp_pack *packs[] = {&g->offsets, &g->entries};
        for (size_t k = 0; k < 2; k++) {
            packs[k]->fd = -1;
            packs[k]->file_len = 0;
            packs[k]->cap = 0;
            packs[k]->cap_block = 0;
            packs[k]->spill_bytes = 0;
        }
        g->mapped = file ? base : NULL; /* for drop() */
        graph_check c = {.g = g, .tab = tab, .s = s, .ns = ns, .base = base, .file = file};
        mp_parallel(mp_threads() > 1 ? 2 : 1, graph_check_job, &c);
        g->mapped = NULL;
        if (file) release_pages(base, 0, h.file_bytes); /* the rest of it */
        const char *what = c.bad_sum ? c.bad_sum : c.bad_graph ? c.bad_graph : c.bad_entries;
        if (what) {
            snprintf(why, sizeof why, "%s", what);
            bad = why;
        }
    }
    if (!bad &&
        (!(g->info.format = static_name(g->info.format)) ||
         (g->info.thread_noun && !(g->info.thread_noun = static_name(g->info.thread_noun)))))
        bad = "format or thread noun: not one maproot knows";
    if (!bad && !(g->info.name = strdup(name))) bad = "out of memory";
    if (bad) {
        mf_error_set(err, "%s: damaged index: %s", ipath, bad);
        free(g);
        return MP_GI_BAD;
    }
    g->mapped = base;
    g->mapped_len = len;
    if (err) err->msg[0] = 0;
    if (len > h.file_bytes) {
        char pwhy[160];
        const char *pbad = attach_part(base, len, file, &h, g, pwhy, sizeof pwhy);
        if (pbad) mf_error_set(err, "%s: damaged index: %s", ipath, pbad);
    }
    /* Every page was read by the checks above; what the analysis needs it
     * reads again, from the page cache. Until then the pages go back to
     * the page cache, so that a graph read from an index weighs on the
     * process no more than one built in memory. (The mapping is private
     * but nothing wrote to it: dropping its pages loses nothing.) */
    if (file) release_pages(base, 0, len);
    *out = g;
    return MP_GI_OK;
}

mp_gi_status mp_gi_open(const char *index_path, const mp_gi_ident *id, const char *name,
                        mp_graph **out, mf_error *err)
{
    *out = NULL;
    int fd = open(index_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return MP_GI_MISSING;
        mf_error_set(err, "cannot read %s: %s", index_path, strerror(errno));
        return MP_GI_BAD;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        mf_error_set(err, "%s: not a regular file", index_path);
        return MP_GI_BAD;
    }
    if ((uint64_t)st.st_size < sizeof(gi_header) || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        mf_error_set(err, "%s: not a maproot index (%lld bytes)", index_path,
                     (long long)st.st_size);
        return MP_GI_BAD;
    }
    size_t len = (size_t)st.st_size;
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED) {
        mf_error_set(err, "cannot map %s: %s", index_path, strerror(errno));
        return MP_GI_BAD;
    }
    mp_gi_status st2 = attach(base, len, true, id, index_path, name, out, err);
    if (st2 != MP_GI_OK) munmap(base, len);
    return st2;
}

mp_gi_status mp_gi_open_bytes(const void *data, size_t len, const char *name, mp_graph **out,
                              mf_error *err)
{
    *out = NULL;
    if (len == 0) {
        mf_error_set(err, "%s: not a maproot index", name);
        return MP_GI_BAD;
    }
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        mf_error_set(err, "%s: out of memory", name);
        return MP_GI_BAD;
    }
    memcpy(base, data, len);
    mp_gi_status st = attach(base, len, false, NULL, name, name, out, err);
    if (st != MP_GI_OK) munmap(base, len);
    return st;
}

void mp_gi_reseal(void *data, size_t len)
{
    uint8_t *base = data;
    gi_header h;
    if (len < sizeof h) return;
    memcpy(&h, base, sizeof h);
    if (h.nsections > MAX_SECTIONS || (len - sizeof h) / sizeof(gi_section) < h.nsections) return;
    gi_section *tab = (gi_section *)(base + sizeof h);
    for (size_t i = 0; i < h.nsections; i++) {
        gi_section *t = &tab[i];
        if (t->elem && t->offset <= len && t->count <= (len - t->offset) / t->elem)
            t->crc = section_sum(base + t->offset, t->count * t->elem);
    }
    h.table_crc = (uint32_t)crc32_z(0, (const Bytef *)tab, h.nsections * sizeof *tab);
    memcpy(base, &h, sizeof h);
    h.header_crc = (uint32_t)crc32_z(0, base, offsetof(gi_header, header_crc));
    memcpy(base, &h, sizeof h);
    /* the derived part, if there is one where the header says */
    gi_part ph;
    uint64_t start = h.file_bytes;
    if (start > len || start % SECTION_ALIGN || len - start < sizeof ph) return;
    memcpy(&ph, base + start, sizeof ph);
    if (memcmp(ph.magic, PART_MAGIC, 8) != 0 || ph.nsections > NDERIVED ||
        (len - start - sizeof ph) / sizeof(gi_section) < ph.nsections)
        return;
    gi_section *ptab = (gi_section *)(base + start + sizeof ph);
    for (size_t i = 0; i < ph.nsections; i++) {
        gi_section *t = &ptab[i];
        if (t->elem && t->offset <= len && t->count <= (len - t->offset) / t->elem)
            t->crc = section_sum(base + t->offset, t->count * t->elem);
    }
    ph.table_crc = (uint32_t)crc32_z(0, (const Bytef *)ptab, ph.nsections * sizeof *ptab);
    ph.graph = (uint64_t)h.header_crc << 32 | h.table_crc;
    ph.header_crc = (uint32_t)crc32_z(0, (const Bytef *)&ph, offsetof(gi_part, header_crc));
    memcpy(base + start, &ph, sizeof ph);
}
