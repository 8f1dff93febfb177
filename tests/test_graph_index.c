/*
 * tests/test_graph_index.c -- index files of heap graphs
 * (analyze/graph_index.h): a graph read back from its index is the graph
 * that was written, array by array and through every lookup; an index of
 * another snapshot is stale; and an index whose checksums are right but
 * whose content breaks a reference or an order is refused, naming what is
 * wrong (each such index is written from a graph damaged in memory, so its
 * checksums are its own). The same for the derived results an index keeps
 * (paths, dominator tree, the findings' figures): read back as written,
 * appended once (both writers asking for writeback as they go), and when
 * damaged behind right checksums (cycles, references out of range, wrong
 * sums) refused alone, the graph still read; findings taken from an index
 * are the ones computed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "analyze/dominators.h"
#include "analyze/findings.h"
#include "analyze/graph_index.h"
#include "analyze/paths.h"

#include "check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_graph_index.XXXXXX";
static char path[256];
static const mp_gi_ident ident = {1, 2, 300, 4000000000, 0x1234};

/* A heap of six objects: a global holds a struct that holds a map of two
 * entries (one key a string, one a value object), a sampled object and an
 * edge from the value back to the struct. */
static mp_graph *small_graph(void)
{
    mp_graph_builder *b = mp_gb_new("heap.gcstack.gz", "gcstack");
    uint32_t st = mp_gb_type(b, "Holder", 32, MP_TYPE_STRUCT);
    uint32_t hdr_t = mp_gb_type(b, "hmap", 48, MP_TYPE_MAP_HEADER);
    uint32_t holder = mp_gb_object(b, 0x1000, 32, st, MP_NONE);
    uint32_t h = mp_gb_object(b, 0x2000, 48, hdr_t, MP_NONE);
    uint32_t arr = mp_gb_object(b, 0x3000, 208, MP_NONE, MP_NONE);
    mp_gframe f = mp_gb_frame(b, "new_value", "v.c", 12);
    uint32_t stack = mp_gb_stack(b, &f, 1);
    uint32_t v = mp_gb_object(b, 0x4000, 100, MP_NONE, stack);
    mp_gb_object(b, 0x5000, 16, MP_NONE, MP_NONE);
    mp_gb_edge_at(b, holder, h, 8);
    mp_gb_edge_at(b, h, arr, 16);
    mp_gb_edge_at(b, arr, v, 40);
    mp_gb_edge(b, v, holder);
    mp_root r = {.kind = MP_ROOT_GLOBAL,
                 .name = mp_gb_intern(b, "holder"),
                 .file = mp_gb_intern(b, "h.c"),
                 .line = 3,
                 .target = holder};
    mp_gb_root(b, &r, 0);
    mp_map m = {.header = h,
                .B = 0,
                .count = 2,
                .buckets = arr,
                .oldbuckets = MP_NONE,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .type_name = mp_gb_intern(b, "map[string]*V")};
    /* figures the analysis reads only for a sync.Map's (this map is not
     * one), so that the index keeps a record set aside */
    mp_map_aside aside = {.container = mp_gb_intern(b, "main.store"), .sync_read_buckets = 3};
    uint32_t mi = mp_gb_map(b, &m, &aside);
    mp_gb_bucket(b, &(mp_bucket){.map = mi, .obj = arr, .address = 0x3000, .nused = 2}, 0);
    mp_gb_entry(b, &(mp_entry){.map = mi,
                               .bucket_obj = arr,
                               .key = mp_gb_string(b, "user-1", 6),
                               .key_obj = MP_NONE,
                               .value_obj = v});
    mp_gb_entry(b, &(mp_entry){.map = mi,
                               .bucket_obj = arr,
                               .slot = 1,
                               .key = mp_gb_string(b, "user-2", 6),
                               .key_obj = MP_NONE,
                               .value_obj = MP_NONE});
    mp_graph *g;
    mf_error err;
    if (mp_gb_finish(b, &g, &err)) {
        return NULL;
    }
    return g;
}

static bool same_bytes(const void *a, const void *b, size_t n)
{
    return n == 0 || (a && b && memcmp(a, b, n) == 0);
}

static void test_a_graph_read_back_is_the_graph_written(void)
{
    mp_graph *g = small_graph();
    CHECK(g != NULL);
    uint64_t bytes;
    mf_error err;
    CHECK(mp_gi_write(path, g, &ident, NULL, &bytes, &err) == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == bytes);
    mp_graph *r;
    CHECK(mp_gi_open(path, &ident, "again.gcstack.gz", &r, &err) == MP_GI_OK);
    CHECK(r->mapped != NULL);
    CHECK_STR_EQ(r->info.name, "again.gcstack.gz");
    CHECK_STR_EQ(r->info.format, "gcstack");
    CHECK_EQ_U64(r->nobjects, g->nobjects);
    CHECK_EQ_U64(r->nedges, g->nedges);
    CHECK_EQ_U64(r->total_bytes, g->total_bytes);
    CHECK(same_bytes(r->addr_lo, g->addr_lo, g->nobjects * sizeof *g->addr_lo));
    CHECK_EQ_U64(r->naddr_runs, g->naddr_runs);
    CHECK(same_bytes(r->addr_runs, g->addr_runs, g->naddr_runs * sizeof *g->addr_runs));
    CHECK(same_bytes(r->size32, g->size32, g->nobjects * sizeof *g->size32));
    CHECK(same_bytes(r->out.adj, g->out.adj, g->nedges * sizeof *g->out.adj));
    CHECK(same_bytes(r->in.adj, g->in.adj, g->nedges * sizeof *g->in.adj));
    CHECK(same_bytes(r->strs, g->strs, g->strs_len));
    CHECK_EQ_U64(r->nroots, 1);
    CHECK_STR_EQ(mp_str(r, r->roots[0].name), "holder");
    CHECK_EQ_U64(r->roots[0].target, 0);
    CHECK_EQ_U64(mp_graph_find(r, 0x3010), 2);
    CHECK_STR_EQ(mp_graph_type_name(r, 1), "hmap");
    CHECK_EQ_U64(mp_edge_offset(r, mp_out_begin(r, 2)), 40);
    CHECK_EQ_U64(mp_obj_stack(r, 3), mp_obj_stack(g, 3));
    CHECK(mp_obj_stack(r, 3) != MP_NONE);
    CHECK_EQ_U64(mp_graph_map_of_header(r, 1), 0);
    CHECK_EQ_U64(mp_graph_table_map(r, 2), 0);
    CHECK_EQ_U64(r->nentries, 2);
    mp_entry e;
    char buf[32];
    CHECK(mp_graph_entry(r, 1, &e));
    CHECK_STR_EQ(mp_entry_key(r, &e, buf, sizeof buf), "user-2");
    CHECK(mp_graph_entry(r, 0, &e));
    CHECK_EQ_U64(e.value_obj, 3);
    CHECK_EQ_U64(r->nmap_aside, 1);
    CHECK_STR_EQ(mp_str(r, mp_map_aside_of(r, &r->maps[0])->container), "main.store");
    CHECK_EQ_U64(mp_map_aside_of(r, &r->maps[0])->sync_read_buckets, 3);
    /* another snapshot: stale; no index: missing */
    mp_gi_ident other = ident;
    other.mtime_ns++;
    mp_graph *s;
    CHECK(mp_gi_open(path, &other, "x", &s, &err) == MP_GI_STALE);
    CHECK(s == NULL);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.mrx", dir);
    CHECK(mp_gi_open(missing, &ident, "x", &s, &err) == MP_GI_MISSING);
    /* a graph read from an index writes the same index again */
    uint64_t bytes2;
    char again[300];
    snprintf(again, sizeof again, "%s/again.mrx", dir);
    CHECK(mp_gi_write(again, r, &ident, NULL, &bytes2, &err) == 0);
    CHECK_EQ_U64(bytes2, bytes);
    mp_graph_free(r);
    mp_graph_free(g);
}

/* Writes g as damaged by `damage` (in memory, so the checksums match) and
 * checks that reading it fails with a message holding `words`. */
static bool refused(void (*damage)(mp_graph *), const char *words)
{
    mp_graph *g = small_graph();
    if (!g) return false;
    damage(g);
    uint64_t bytes;
    mf_error err;
    bool ok = mp_gi_write(path, g, &ident, NULL, &bytes, &err) == 0;
    mp_graph_free(g);
    mp_graph *r = NULL;
    ok = ok && mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_BAD && r == NULL;
    if (ok && !strstr(err.msg, words)) {
        fprintf(stderr, "message: %s (wanted %s)\n", err.msg, words);
        ok = false;
    }
    if (ok && strncmp(err.msg, path, strlen(path)) != 0) ok = false;
    return ok;
}

static void edge_beyond(mp_graph *g)
{
    g->out.adj[1] = (uint32_t)g->nobjects;
}
static void reverse_edge_beyond(mp_graph *g)
{
    g->in.adj[0] = 77;
}
static void addresses_unsorted(mp_graph *g)
{
    g->addr_lo[2] = 0x1800;
}
static void address_runs_broken(mp_graph *g)
{
    g->addr_runs[0].first = 1;
}
static void type_beyond(mp_graph *g)
{
    g->type[0] = 9;
}
static void root_kind_beyond(mp_graph *g)
{
    g->roots[0].kind = MP_ROOT_NKINDS;
}
static void root_target_beyond(mp_graph *g)
{
    g->roots[0].target = 6;
}
static void map_entries_beyond(mp_graph *g)
{
    g->maps[0].nentries = 3;
}
static void string_beyond(mp_graph *g)
{
    g->maps[0].type_name = (mp_sid)g->strs_len;
}
static void edge_starts_broken(mp_graph *g)
{
    g->out.at[2] = 0;
}
static void heap_bytes_wrong(mp_graph *g)
{
    g->total_bytes++;
}
static void stack_beyond(mp_graph *g)
{
    g->stacks[0].n = 5;
}

/* The graph's format and thread noun are static strings (graph.h): read
 * from an index they must not point into its image, which goes with the
 * graph, while what was told them (a gate's map, judged across a series)
 * lives on. */
static void test_names_read_back_outlive_the_index_image(void)
{
    mp_graph *g = small_graph();
    CHECK(g != NULL);
    mf_error err;
    uint64_t bytes;
    CHECK(mp_gi_write(path, g, &ident, NULL, &bytes, &err) == 0);
    mp_graph *r;
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK);
    const char *lo = (const char *)r->mapped, *hi = lo + r->mapped_len;
    const char *format = r->info.format, *noun = r->info.thread_noun;
    CHECK(format && !(format >= lo && format < hi));
    CHECK(noun && !(noun >= lo && noun < hi));
    mp_graph_free(r);
    CHECK_STR_EQ(format, "gcstack");
    CHECK_STR_EQ(noun, "thread");
    mp_graph_free(g);
}

static void test_an_index_with_broken_references_is_refused(void)
{
    CHECK(refused(edge_beyond, "out edges: edge 1 points beyond the objects"));
    CHECK(refused(reverse_edge_beyond, "in edges"));
    CHECK(refused(addresses_unsorted, "object addresses out of order"));
    CHECK(refused(address_runs_broken, "address runs out of range"));
    CHECK(refused(type_beyond, "object type out of range"));
    CHECK(refused(root_kind_beyond, "roots"));
    CHECK(refused(root_target_beyond, "roots"));
    CHECK(refused(map_entries_beyond, "maps"));
    CHECK(refused(string_beyond, "maps"));
    CHECK(refused(edge_starts_broken, "out edges: the start of object"));
    CHECK(refused(heap_bytes_wrong, "sum of its objects' sizes"));
    CHECK(refused(stack_beyond, "stacks"));
}

/* An index whose map names a record set aside beyond the records, or
 * whose record names a string beyond the string table, is refused (the
 * report reads both without checking). */
static void test_an_index_of_maps_pointing_past_their_figures_is_refused(void)
{
    for (int bad = 0; bad < 2; bad++) {
        mp_graph *g = small_graph();
        CHECK(g != NULL && g->nmap_aside == 1);
        if (!g || g->nmap_aside != 1) return;
        if (bad == 0)
            g->maps[0].aside = 2;
        else
            g->map_aside[0].container = (mp_sid)g->strs_len + 7;
        uint64_t bytes;
        mf_error err;
        CHECK(mp_gi_write(path, g, &ident, NULL, &bytes, &err) == 0);
        mp_graph_free(g);
        mp_graph *r;
        CHECK(mp_gi_open(path, &ident, "again.gcstack.gz", &r, &err) == MP_GI_BAD);
        CHECK(strstr(err.msg, bad == 0 ? "maps: a reference out of range"
                                       : "figures set aside: a reference out of range") != NULL);
    }
}

static void test_a_damaged_or_truncated_index_is_refused(void)
{
    mp_graph *g = small_graph();
    CHECK(g != NULL);
    uint64_t bytes;
    mf_error err;
    CHECK(mp_gi_write(path, g, &ident, NULL, &bytes, &err) == 0);
    mp_graph_free(g);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    uint8_t *data = malloc(bytes);
    CHECK(data && fread(data, 1, bytes, f) == bytes);
    fclose(f);
    mp_graph *r;
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_OK);
    mp_graph_free(r);
    /* a flipped bit in a key of the string table: its checksum */
    uint8_t *key = memmem(data, bytes, "user-2", 6);
    CHECK(key != NULL);
    key[5] ^= 4;
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_BAD);
    CHECK(strstr(err.msg, "(strs): checksum") != NULL);
    key[5] ^= 4;
    /* truncated */
    CHECK(mp_gi_open_bytes(data, bytes - 64, "i.mrx", &r, &err) == MP_GI_BAD);
    CHECK(strstr(err.msg, "truncated") != NULL);
    CHECK(mp_gi_open_bytes(data, 40, "i.mrx", &r, &err) == MP_GI_BAD);
    CHECK(strstr(err.msg, "not a maproot index") != NULL);
    /* the header */
    data[9] ^= 1;
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_BAD);
    CHECK(strstr(err.msg, "damaged header") != NULL);
    /* resealed, the same change is a version this build does not read */
    mp_gi_reseal(data, bytes);
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_STALE);
    data[9] ^= 1;
    /* an index of the version before this one (its maps' records 176
     * bytes, where this build's are 136), resealed: stale, so rebuilt */
    uint32_t version;
    memcpy(&version, data + 8, sizeof version);
    CHECK(version >= 11 && sizeof(mp_map) == 136);
    version--;
    memcpy(data + 8, &version, sizeof version);
    mp_gi_reseal(data, bytes);
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_STALE);
    version++;
    memcpy(data + 8, &version, sizeof version);
    /* an index of the graph layout before this one (addresses kept whole),
     * resealed: stale, so rebuilt, never read as this layout */
    uint32_t layout = MP_GRAPH_LAYOUT - 1;
    memcpy(data + 12, &layout, sizeof layout);
    mp_gi_reseal(data, bytes);
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_STALE);
    layout = MP_GRAPH_LAYOUT;
    memcpy(data + 12, &layout, sizeof layout);
    mp_gi_reseal(data, bytes);
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_OK);
    mp_graph_free(r);
    free(data);
}

/* ------------------------------------------------- derived results --- */

static bool same_paths(const mp_paths *a, const mp_paths *b, size_t n)
{
    return same_bytes(a->parent, b->parent, n * 4) && same_bytes(a->root, b->root, n * 4) &&
           same_bytes(a->via, b->via, n * 4) && a->nreached == b->nreached &&
           a->reached_bytes == b->reached_bytes;
}

static bool same_dom(const mp_dom *a, const mp_dom *b)
{
    return a->nnodes == b->nnodes && a->super_root == b->super_root &&
           same_bytes(a->idom, b->idom, a->nnodes * 4) &&
           same_bytes(a->retained, b->retained, a->nnodes * 8) &&
           same_bytes(a->root_of, b->root_of, a->nobjects * 4) && a->npreorder == b->npreorder &&
           same_bytes(a->preorder, b->preorder, a->npreorder * 4) &&
           a->nroot_targets == b->nroot_targets &&
           same_bytes(a->root_targets, b->root_targets, a->nroot_targets * 8);
}

static void test_derived_results_read_back_are_the_ones_written(void)
{
    mp_graph *g = small_graph();
    CHECK(g != NULL);
    mp_paths p;
    mp_dom d;
    mf_error err;
    CHECK(mp_paths_compute(g, &p, &err) == 0 && !p.borrowed);
    CHECK(mp_dom_compute(g, &d, &err) == 0 && !d.borrowed);
    mp_graph_derived dv = mp_gi_derived_of(&p, &d);
    uint64_t bytes;
    CHECK(mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0);
    mp_graph *r;
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK);
    CHECK_STR_EQ(err.msg, "");
    CHECK(r->derived.parent != NULL && r->derived.idom != NULL);
    mp_paths rp;
    mp_dom rd;
    CHECK(mp_paths_compute(r, &rp, &err) == 0 && rp.borrowed);
    CHECK(mp_dom_compute(r, &rd, &err) == 0 && rd.borrowed);
    CHECK(same_paths(&rp, &p, g->nobjects));
    CHECK(same_dom(&rd, &d));
    CHECK_EQ_U64(rp.nreached, 4);
    mp_paths_free(&rp);
    mp_dom_free(&rd);
    mp_graph_free(r);
    /* the paths alone */
    dv = mp_gi_derived_of(&p, NULL);
    CHECK(mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0);
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK);
    CHECK(r->derived.parent != NULL && r->derived.idom == NULL);
    mp_graph_free(r);
    mp_paths_free(&p);
    mp_dom_free(&d);
    mp_graph_free(g);
}

/* The writeback requests the index writer makes, seen here in place of
 * the system's (the writer's call resolves to this definition first). */
static struct {
    int calls;
    int64_t lowest; /* the lowest offset asked for */
} wb;

int sync_file_range(int fd, off_t offset, off_t nbytes, unsigned int flags)
{
    (void)fd, (void)nbytes, (void)flags;
    if (wb.calls++ == 0 || offset < wb.lowest) wb.lowest = offset;
    return 0;
}

static void test_derived_results_are_appended_once(void)
{
    mp_graph *g = small_graph();
    CHECK(g != NULL);
    mp_paths p;
    mp_dom d;
    mf_error err;
    CHECK(mp_paths_compute(g, &p, &err) == 0 && mp_dom_compute(g, &d, &err) == 0);
    uint64_t bytes, added;
    /* both ask for their writeback window by window as they write (a
     * small window here), the append only for its own bytes */
    uint64_t window = mp_gi_write_behind_window(64);
    wb.calls = 0;
    CHECK(mp_gi_write(path, g, &ident, NULL, &bytes, &err) == 0);
    CHECK(wb.calls > 1 && wb.lowest == 0);
    mp_graph_derived dv = mp_gi_derived_of(&p, &d);
    /* not the index of another snapshot */
    mp_gi_ident other = ident;
    other.size++;
    CHECK(mp_gi_append(path, g, &other, &dv, &added, &err) == 1);
    wb.calls = 0;
    CHECK(mp_gi_append(path, g, &ident, &dv, &added, &err) == 0 && added > 128);
    CHECK(wb.calls > 1 && wb.lowest >= (int64_t)bytes);
    mp_gi_write_behind_window(window);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == bytes + added);
    /* once: an index with derived results is rewritten whole to change them */
    CHECK(mp_gi_append(path, g, &ident, &dv, &added, &err) == 1);
    mp_graph *r;
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK);
    CHECK_STR_EQ(err.msg, "");
    mp_paths rp;
    mp_dom rd;
    CHECK(mp_paths_compute(r, &rp, &err) == 0 && rp.borrowed && same_paths(&rp, &p, g->nobjects));
    CHECK(mp_dom_compute(r, &rd, &err) == 0 && rd.borrowed && same_dom(&rd, &d));
    mp_paths_free(&rp);
    mp_dom_free(&rd);
    mp_graph_free(r);
    mp_paths_free(&p);
    mp_dom_free(&d);
    mp_graph_free(g);
}

/* Writes the derived results of the small graph damaged by `damage` (in
 * memory, so the checksums are right) and checks that the graph is read
 * but the derived results are refused with a message holding `words`, and
 * that the paths and the tree computed in their place are the right ones. */
static bool derived_refused(void (*damage)(mp_graph *, mp_paths *, mp_dom *), const char *words)
{
    mp_graph *g = small_graph();
    mp_paths p, good;
    mp_dom d, goodd;
    mf_error err;
    if (!g || mp_paths_compute(g, &p, &err) || mp_dom_compute(g, &d, &err) ||
        mp_paths_compute(g, &good, &err) || mp_dom_compute(g, &goodd, &err))
        return false;
    damage(g, &p, &d);
    mp_graph_derived dv = mp_gi_derived_of(&p, &d);
    uint64_t bytes;
    bool ok = mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0;
    mp_graph *r = NULL;
    ok = ok && mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK && r;
    if (ok && (!strstr(err.msg, words) || strncmp(err.msg, path, strlen(path)) != 0)) {
        fprintf(stderr, "message: %s (wanted %s)\n", err.msg, words);
        ok = false;
    }
    if (ok) {
        mp_paths rp;
        mp_dom rd;
        ok = !r->derived.parent && !r->derived.idom && mp_paths_compute(r, &rp, &err) == 0 &&
             !rp.borrowed && same_paths(&rp, &good, g->nobjects) &&
             mp_dom_compute(r, &rd, &err) == 0 && !rd.borrowed && same_dom(&rd, &goodd);
        mp_paths_free(&rp);
        mp_dom_free(&rd);
    }
    mp_graph_free(r);
    mp_paths_free(&p);
    mp_paths_free(&good);
    mp_dom_free(&d);
    mp_dom_free(&goodd);
    mp_graph_free(g);
    return ok;
}

/* the small graph: 0 holder (the global's), 1 map header, 2 bucket array,
 * 3 value, 4 garbage; node 5 the global, 6 the super-root */
static void parent_beyond(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)d;
    p->parent[1] = (uint32_t)g->nobjects + 5;
}
static void parents_in_a_cycle(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)d;
    p->parent[0] = 3, p->via[0] = 0; /* the value's edge back: 0 3 2 1 0 */
}
static void path_step_not_an_edge(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)d;
    p->via[1] = 0, p->parent[1] = 3, p->root[1] = 0; /* 3's first edge goes to 0 */
}
static void garbage_on_a_path(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)d;
    p->root[4] = 0;
    p->parent[4] = 0;
}
static void idoms_in_a_cycle(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)p;
    d->idom[1] = 2;
    d->idom[2] = 1;
}
static void idom_beyond(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)p;
    d->idom[3] = 99;
}
static void preorder_twice(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)p;
    d->preorder[3] = d->preorder[2];
}
static void preorder_child_first(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)p;
    uint32_t t = d->preorder[2];
    d->preorder[2] = d->preorder[3], d->preorder[3] = t;
}
static void garbage_dominated(mp_graph *g, mp_paths *p, mp_dom *d)
{
    (void)g, (void)p;
    d->idom[4] = 0;
}

static void test_damaged_derived_results_are_refused_alone(void)
{
    CHECK(derived_refused(parent_beyond, "parent out of range"));
    CHECK(derived_refused(parents_in_a_cycle, "go round a cycle"));
    CHECK(derived_refused(path_step_not_an_edge, "no such edge"));
    CHECK(derived_refused(garbage_on_a_path, "no such edge"));
    CHECK(derived_refused(idoms_in_a_cycle, "before its idom"));
    CHECK(derived_refused(idom_beyond, "idom out of range"));
    CHECK(derived_refused(preorder_twice, "a node twice"));
    CHECK(derived_refused(preorder_child_first, "before its idom"));
    CHECK(derived_refused(garbage_dominated, "reachable by its path but not"));
}

/* The retained sizes and single roots are not kept in an index: a reader
 * computes them from the tree it has checked, so wrong ones in the memory
 * an index is written from reach no reader, and the tree is read back
 * whole. */
static void test_retained_sizes_and_single_roots_come_from_the_tree(void)
{
    mp_graph *g = small_graph();
    mp_paths p;
    mp_dom d, good;
    mf_error err;
    CHECK(g && mp_paths_compute(g, &p, &err) == 0 && mp_dom_compute(g, &d, &err) == 0 &&
          mp_dom_compute(g, &good, &err) == 0);
    d.retained[2] += 1, d.retained[1] += 16, d.retained[d.super_root] += 1;
    d.root_of[2] = MP_NONE, d.root_of[0] = 3;
    mp_graph_derived dv = mp_gi_derived_of(&p, &d);
    uint64_t bytes;
    CHECK(mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0);
    mp_graph *r = NULL;
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK && r);
    CHECK_STR_EQ(err.msg, "");
    mp_dom rd;
    CHECK(r && r->derived.idom && mp_dom_compute(r, &rd, &err) == 0 && rd.borrowed);
    CHECK(r && same_dom(&rd, &good));
    if (r) mp_dom_free(&rd);
    mp_graph_free(r);
    mp_paths_free(&p);
    mp_dom_free(&d);
    mp_dom_free(&good);
    mp_graph_free(g);
}

/* Byte damage to the derived part of an image: its checksums refuse it,
 * and resealed it reaches the structural checks; the graph is read either
 * way. */
static void test_a_damaged_derived_part_leaves_the_graph(void)
{
    mp_graph *g = small_graph();
    mp_paths p;
    mp_dom d;
    mf_error err;
    CHECK(g && mp_paths_compute(g, &p, &err) == 0 && mp_dom_compute(g, &d, &err) == 0);
    uint64_t graph_bytes, bytes;
    CHECK(mp_gi_write(path, g, &ident, NULL, &graph_bytes, &err) == 0);
    mp_graph_derived dv = mp_gi_derived_of(&p, &d);
    CHECK(mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0 && bytes > graph_bytes);
    FILE *f = fopen(path, "rb");
    uint8_t *data = malloc(bytes);
    CHECK(f && data && fread(data, 1, bytes, f) == bytes);
    fclose(f);
    mp_graph *r;
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_OK && r->derived.idom);
    mp_graph_free(r);
    /* the idom of the bucket array (node 2, after the part's header, table
     * and the three path arrays) made the value's (3): a cycle */
    uint8_t *idom = NULL;
    for (uint64_t at = graph_bytes; at + 4 * 7 <= bytes; at += 4)
        if (memcmp(data + at, d.idom, 4 * 7) == 0) idom = data + at;
    CHECK(idom != NULL);
    uint32_t three = 3;
    memcpy(idom + 2 * 4, &three, 4);
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_OK);
    CHECK(strstr(err.msg, "immediate dominators): checksum") != NULL);
    CHECK(r->derived.idom == NULL && r->nobjects == 5);
    mp_graph_free(r);
    mp_gi_reseal(data, bytes);
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_OK);
    CHECK(strstr(err.msg, "dominators:") != NULL);
    CHECK(r->derived.idom == NULL && r->derived.parent == NULL);
    mp_graph_free(r);
    /* cut short */
    CHECK(mp_gi_open_bytes(data, bytes - 64, "i.mrx", &r, &err) == MP_GI_OK);
    CHECK(strstr(err.msg, "derived results: cut short") != NULL);
    mp_graph_free(r);
    /* a header whose graph part ends off the sections' alignment: the part
     * would be misaligned (the header's file_bytes is its 9th word) */
    uint64_t odd = graph_bytes - 4;
    memcpy(data + 64, &odd, 8);
    mp_gi_reseal(data, bytes);
    CHECK(mp_gi_open_bytes(data, bytes, "i.mrx", &r, &err) == MP_GI_OK);
    CHECK(strstr(err.msg, "derived results: misplaced") != NULL);
    CHECK(r->derived.parent == NULL);
    mp_graph_free(r);
    free(data);
    mp_paths_free(&p);
    mp_dom_free(&d);
    mp_graph_free(g);
}

/* ------------------------------------------------------- findings --- */

/* Whether two findings say the same of every map and entry. */
static bool same_findings(const mp_graph *g, const mp_findings *a, const mp_findings *b)
{
    if (a->nmaps != b->nmaps || a->nsuspects != b->nsuspects || a->heap_bytes != b->heap_bytes ||
        !same_bytes(a->ranked, b->ranked, a->nmaps * sizeof *a->ranked))
        return false;
    for (size_t k = 0; k < a->nmaps; k++) {
        const mp_map_report *x = &a->maps[k], *y = &b->maps[k];
        if (x->retained != y->retained || x->entries_retained != y->entries_retained ||
            x->keys_retained != y->keys_retained || x->shared_entries != y->shared_entries ||
            x->shared_bytes != y->shared_bytes || x->score != y->score || x->root != y->root ||
            x->path_root != y->path_root || x->nroots != y->nroots || x->evidence != y->evidence ||
            x->suspect != y->suspect || x->key_pointers != y->key_pointers)
            return false;
        /* the rare figures, wherever each findings keeps them */
        const mp_map_rare *xr = mp_report_rare(a, x), *yr = mp_report_rare(b, y);
        if (xr->nsites != yr->nsites || xr->sampled_objects != yr->sampled_objects ||
            xr->old_bytes != yr->old_bytes || xr->slice_bytes != yr->slice_bytes ||
            xr->slice_buffers != yr->slice_buffers || xr->slice_of != yr->slice_of ||
            xr->inner_bytes != yr->inner_bytes || xr->nested_bytes != yr->nested_bytes ||
            xr->inner_map != yr->inner_map)
            return false;
        for (uint32_t i = 0; i < mp_report_nlisted(x); i++)
            if (mp_report_root(a, x, i) != mp_report_root(b, y, i)) return false;
        if (xr->nsites && memcmp(mp_report_sites(a, x), mp_report_sites(b, y),
                                 xr->nsites * sizeof(mp_site_count)) != 0)
            return false;
    }
    for (size_t i = 0; i < g->nentries; i++) {
        bool sa, sb;
        if (mp_findings_entry(a, i, &sa) != mp_findings_entry(b, i, &sb) || sa != sb) return false;
    }
    return true;
}

/* dv with the findings f (their records in *saved, malloc'd). */
static void add_findings(const mp_graph *g, const mp_findings *f, mp_graph_derived *dv,
                         mp_findings_saved **saved)
{
    *saved = calloc(g->nmaps, sizeof **saved);
    for (size_t k = 0; *saved && k < g->nmaps; k++) mp_findings_save(f, k, &(*saved)[k]);
    dv->fmaps = *saved;
    dv->fentries = f->entry_info;
}

/* The index keeps the findings' figures; an analysis of the graph read
 * back takes them (the entries' store is the index's) and finds what the
 * analysis of the graph in memory found. */
static void test_findings_read_back_are_the_ones_computed(void)
{
    mp_graph *g = small_graph();
    mp_paths p;
    mp_dom d;
    mp_findings f;
    mf_error err;
    CHECK(g && mp_paths_compute(g, &p, &err) == 0 && mp_dom_compute(g, &d, &err) == 0);
    CHECK(mp_findings_compute(g, &p, &d, NULL, &f, &err) == 0 && !f.entry_info_lent);
    CHECK(f.maps[0].entries_retained == 100); /* the value object */
    mp_graph_derived dv = mp_gi_derived_of(&p, &d);
    mp_findings_saved *saved;
    add_findings(g, &f, &dv, &saved);
    uint64_t bytes;
    CHECK(mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0);
    mp_graph *r;
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK);
    CHECK_STR_EQ(err.msg, "");
    CHECK(r->derived.fmaps != NULL && r->derived.fentries.n == g->nentries);
    mp_paths rp;
    mp_dom rd;
    mp_findings rf;
    CHECK(mp_paths_compute(r, &rp, &err) == 0 && mp_dom_compute(r, &rd, &err) == 0);
    CHECK(mp_findings_compute(r, &rp, &rd, NULL, &rf, &err) == 0);
    CHECK(rf.entry_info_lent);
    CHECK(same_findings(g, &f, &rf));
    /* the options' part is judged again: every map a large share at 1% */
    mp_findings_options one = {.large_share_pct = 1.0};
    mp_findings rf1, f1;
    CHECK(mp_findings_compute(r, &rp, &rd, &one, &rf1, &err) == 0 && rf1.entry_info_lent);
    CHECK(mp_findings_compute(g, &p, &d, &one, &f1, &err) == 0);
    CHECK(same_findings(g, &f1, &rf1));
    mp_findings_free(&rf1);
    mp_findings_free(&f1);
    /* paths computed apart from the index's: the figures are computed too */
    mp_paths own;
    CHECK(mp_paths_compute(g, &own, &err) == 0);
    mp_findings rf2;
    CHECK(mp_findings_compute(r, &own, &rd, NULL, &rf2, &err) == 0 && !rf2.entry_info_lent);
    CHECK(same_findings(g, &f, &rf2));
    mp_findings_free(&rf2);
    mp_paths_free(&own);
    mp_findings_free(&rf);
    mp_paths_free(&rp);
    mp_dom_free(&rd);
    mp_graph_free(r);
    /* appended to an index of the graph alone, with the paths and tree */
    CHECK(mp_gi_write(path, g, &ident, NULL, &bytes, &err) == 0);
    uint64_t added;
    dv = mp_gi_derived_of(&p, &d);
    dv.fmaps = saved;
    dv.fentries = f.entry_info;
    CHECK(mp_gi_append(path, g, &ident, &dv, &added, &err) == 0 && added > 0);
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK && r->derived.fmaps);
    mp_graph_free(r);
    /* findings without the tree are not kept */
    dv = mp_gi_derived_of(&p, NULL);
    dv.fmaps = saved;
    dv.fentries = f.entry_info;
    CHECK(mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0);
    CHECK(mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK && r->derived.parent);
    CHECK(r->derived.fmaps == NULL);
    mp_graph_free(r);
    free(saved);
    mp_findings_free(&f);
    mp_paths_free(&p);
    mp_dom_free(&d);
    mp_graph_free(g);
}

/* Writes the small graph's index with its findings damaged by `damage`
 * (records, or the entries' store replaced by `entries` when not NULL)
 * and checks that the graph is read, the derived part refused with a
 * message holding `words`, and the findings computed again right. */
static bool findings_refused(void (*damage)(mp_findings_saved *), const uint64_t *entries,
                             const char *words)
{
    mp_graph *g = small_graph();
    mp_paths p;
    mp_dom d;
    mp_findings f;
    mf_error err;
    if (!g || mp_paths_compute(g, &p, &err) || mp_dom_compute(g, &d, &err) ||
        mp_findings_compute(g, &p, &d, NULL, &f, &err))
        return false;
    mp_graph_derived dv = mp_gi_derived_of(&p, &d);
    mp_findings_saved *saved;
    add_findings(g, &f, &dv, &saved);
    if (damage) damage(saved);
    mp_pack other;
    mp_pack_init(&other, 2);
    if (entries) {
        for (size_t i = 0; i < g->nentries; i++) mp_pack_add(&other, entries + 2 * i);
        dv.fentries = other;
    }
    uint64_t bytes;
    bool ok = mp_gi_write(path, g, &ident, &dv, &bytes, &err) == 0;
    mp_graph *r = NULL;
    ok = ok && mp_gi_open(path, &ident, "x", &r, &err) == MP_GI_OK && r;
    if (ok && !strstr(err.msg, words)) {
        fprintf(stderr, "message: %s (wanted %s)\n", err.msg, words);
        ok = false;
    }
    if (ok) {
        mp_paths rp;
        mp_dom rd;
        mp_findings rf;
        ok = !r->derived.fmaps && mp_paths_compute(r, &rp, &err) == 0 &&
             mp_dom_compute(r, &rd, &err) == 0 &&
             mp_findings_compute(r, &rp, &rd, NULL, &rf, &err) == 0;
        ok = ok && !rf.entry_info_lent && same_findings(g, &f, &rf);
        mp_findings_free(&rf);
        mp_paths_free(&rp);
        mp_dom_free(&rd);
    }
    mp_pack_free(&other);
    free(saved);
    mp_graph_free(r);
    mp_findings_free(&f);
    mp_paths_free(&p);
    mp_dom_free(&d);
    mp_graph_free(g);
    return ok;
}

static void root_beyond(mp_findings_saved *s)
{
    s[0].nroots = 1;
    s[0].roots[0] = 1; /* one root: 0 */
}
static void site_beyond(mp_findings_saved *s)
{
    s[0].nsites = 1;
    s[0].sites[0] = (mp_site_count){7, 1};
}
static void too_many_sites(mp_findings_saved *s)
{
    s[0].nsites = MP_MAX_SITES + 1;
}
static void key_pointers_not_a_flag(mp_findings_saved *s)
{
    s[0].key_pointers = 2;
}
static void more_shared_than_entries(mp_findings_saved *s)
{
    s[0].shared_entries = 3;
}
static void retains_more_than_the_heap(mp_findings_saved *s)
{
    s[0].retained = 1u << 20;
}

static void test_damaged_findings_are_refused_alone(void)
{
    CHECK(findings_refused(root_beyond, NULL, "findings: map 0"));
    CHECK(findings_refused(site_beyond, NULL, "findings: map 0"));
    CHECK(findings_refused(too_many_sites, NULL, "findings: map 0"));
    CHECK(findings_refused(key_pointers_not_a_flag, NULL, "findings: map 0"));
    CHECK(findings_refused(more_shared_than_entries, NULL, "findings: map 0"));
    CHECK(findings_refused(retains_more_than_the_heap, NULL, "findings: map 0"));
    const uint64_t not_a_flag[] = {100, 0, 0, 2}, too_big[] = {1u << 20, 0, 0, 0};
    CHECK(findings_refused(NULL, not_a_flag, "findings' entries: record 1: not a flag"));
    CHECK(findings_refused(NULL, too_big, "findings' entries: record 0: retained bytes"));
}

static void test_index_places(void)
{
    char *p = mp_gi_path_beside("dir/heap.gcstack.gz");
    CHECK_STR_EQ(p, "dir/heap.gcstack.gz.mrx");
    free(p);
    setenv("XDG_CACHE_HOME", "/var/cache/u", 1);
    p = mp_gi_path_cache(path);
    CHECK(p && strncmp(p, "/var/cache/u/maproot/", 21) == 0 && strlen(p) == 21 + 16 + 4);
    free(p);
    mp_gi_ident id;
    mf_error err;
    CHECK(mp_gi_ident_of("-", &id, &err) == -1);
    CHECK(mp_gi_ident_of("/dev/null", &id, &err) == -1);
    CHECK(mp_gi_ident_of(path, &id, &err) == 0);
}

/* The fuzz target of index files starts from the seeds in
 * testdata/fuzz/index/: a seed of an older format is refused at its header,
 * and the fuzzer then explores nothing behind it. Every seed must be read
 * whole, derived results included, by this build's reader. */
static const char *seed_dir;
static void test_the_index_fuzz_seeds_are_of_this_format(void)
{
    if (!seed_dir) return;
    DIR *d = opendir(seed_dir);
    CHECK(d != NULL);
    if (!d) return;
    int seen = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".mrx") != 0) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", seed_dir, e->d_name);
        FILE *f = fopen(p, "rb");
        CHECK(f != NULL);
        if (!f) continue;
        uint8_t *data = NULL;
        size_t n = 0, cap = 0;
        for (size_t got = 1; got > 0; n += got) {
            if (n == cap && !(data = realloc(data, cap = cap ? 2 * cap : 65536))) abort();
            got = fread(data + n, 1, cap - n, f);
        }
        fclose(f);
        mp_graph *r;
        mf_error err;
        int rc = mp_gi_open_bytes(data, n, e->d_name, &r, &err);
        if (rc != MP_GI_OK) fprintf(stderr, "%s: %s\n", p, err.msg);
        CHECK(rc == MP_GI_OK);
        if (rc == MP_GI_OK) {
            CHECK(r->derived.idom != NULL); /* the seeds carry their derived results */
            mp_graph_free(r);
        }
        free(data);
        seen++;
    }
    closedir(d);
    CHECK(seen > 0);
}

/* Whether the regression index `name` of the seed directory, resealed
 * (its checksums right), is refused with a message holding `words`. */
static bool regress_refused(const char *name, const char *words)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", seed_dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return false;
    uint8_t data[65536];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    mp_gi_reseal(data, n);
    mp_graph *r;
    mf_error err;
    int rc = mp_gi_open_bytes(data, n, "r.mrx", &r, &err);
    if (rc == MP_GI_OK) mp_graph_free(r);
    return rc == MP_GI_BAD && strstr(err.msg, words) != NULL;
}

/* An index whose checksums are right but whose table objects leave out an
 * object of a map's table (found by the fuzzer): the findings look every
 * table object up there, so the reader must refuse it, not pass it on.
 * The input is the iterator_pin.mrx seed with one bit of its table bits
 * flipped (the fuzzer's find reduced to the one byte that mattered). */
static void test_an_index_missing_a_table_object_is_refused(void)
{
    if (seed_dir) CHECK(regress_refused("regress-table_objects", "table objects"));
}

/* An index whose entries are in range but whose maps' ranges of entries
 * hold another map's entries (found by the fuzzer): the findings read each
 * map's entries from its range and assert they are its own, so the reader
 * must refuse it. */
static void test_an_index_whose_map_holds_another_maps_entries_is_refused(void)
{
    if (seed_dir) CHECK(regress_refused("regress-entry_map", "not among its map's"));
}

int main(int argc, char **argv)
{
    seed_dir = argc > 1 ? argv[1] : NULL;
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/heap.mrx", dir);
    TEST(test_a_graph_read_back_is_the_graph_written);
    TEST(test_an_index_with_broken_references_is_refused);
    TEST(test_a_damaged_or_truncated_index_is_refused);
    TEST(test_an_index_of_maps_pointing_past_their_figures_is_refused);
    TEST(test_derived_results_read_back_are_the_ones_written);
    TEST(test_derived_results_are_appended_once);
    TEST(test_damaged_derived_results_are_refused_alone);
    TEST(test_retained_sizes_and_single_roots_come_from_the_tree);
    TEST(test_a_damaged_derived_part_leaves_the_graph);
    TEST(test_findings_read_back_are_the_ones_computed);
    TEST(test_damaged_findings_are_refused_alone);
    TEST(test_index_places);
    TEST(test_the_index_fuzz_seeds_are_of_this_format);
    TEST(test_an_index_missing_a_table_object_is_refused);
    TEST(test_an_index_whose_map_holds_another_maps_entries_is_refused);
    TEST(test_names_read_back_outlive_the_index_image);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    TEST_EXIT();
}
