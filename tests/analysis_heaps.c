/*
 * tests/analysis_heaps.c -- heaps shaped to check the answers of the snapshot
 * analysis end to end (tests/test_analyze_e2e.sh runs each and reads
 * `maproot analyze --format json|dot|pprof` of its snapshot). Each heap
 * states what a right answer says:
 *   priority  a map a global holds through two objects, a map a pin holds
 *             through an array, and words of the frame that takes the
 *             snapshot pointing at both headers: the global and the pin are
 *             the roots, the frame is named once as an other holder;
 *   bounded   a bounded 1,000-entry cache (about 1.5% of the heap) that a
 *             stack word also reaches, beside an arena that is no map: no
 *             leak suspect at all;
 *   nested    a map of maps (tenant -> inner map), maps behind an array of
 *             pointers to structs and behind an array of structs, and a map
 *             at the end of a list of 150 nodes: the chains name the outer
 *             bucket, slot and key, and the index of each array element; a
 *             long chain keeps its root and its end;
 *   iface_keys  keys of 16 bytes with two pointer fields (an interface-like
 *             pair: a static descriptor and a 64 KiB buffer): pointer_keys;
 *   names     a global, a pin label and a map type whose names are not
 *             UTF-8: the JSON keeps every one (with the bad bytes escaped);
 *   skewed    a map of 2,000 documents of which five are large (0.5 to 1.5
 *             MiB, "big-0" the largest): the pictures (pprof, dot) show
 *             those keys as nodes of their own;
 *   groups    a list of 2,000 nodes held by a global, each node with a
 *             small map[int64]*Part (one 2 KiB part), every tenth of which
 *             also holds a box with another map of that type: one suspect
 *             group of 2,000 maps (the 200 boxed ones nested, counted in
 *             theirs) whose holder is the list's first node, at the end
 *             of a dominator chain 2,000 nodes deep;
 *   deep      N maps (default 600) in an array at the end of a linked list
 *             of N nodes that a global holds, one entry each but the first,
 *             a suspect of 2,000 entries of 1 KiB: every map's chain is
 *             N + 5 steps long (root, N nodes, array, header, bucket,
 *             slot), so a report that shows chains whole grows as N
 *             squared; `analysis_heaps deep FILE N` sets N;
 *   crowd     a map of 4,000 entries behind one struct that 20 pinned
 *             objects point to, each pin a holder of its own: the report
 *             lists the first 16 holders and says more hold it (17, more);
 *   stale     a map that is garbage, whose address a function just left all
 *             over the stack below the frame that then takes the snapshot:
 *             the collector's own frames reuse that stack, and their words
 *             are none of the program's, so the map is not in the snapshot.
 * usage: analysis_heaps HEAP SNAPSHOT [N] (writes SNAPSHOT with
 * mrc_write_snapshot while the heap is held, then exits 0)
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mr_map_type blobs_type = {"map[int64]*Blob", MR_KEY_INT64, NULL, &mr_type_pointer};

/* A map of n entries, each a blob of `bytes`. */
static mr_map *blob_map(int64_t n, size_t bytes)
{
    mr_map *m = mr_map_new(&blobs_type, 0);
    for (int64_t i = 0; i < n; i++) {
        void *b = mr_alloc_blob(bytes);
        mr_map_set(m, &i, &b);
    }
    return m;
}

/* Takes the snapshot with the headers it is given in its own frame: the
 * stray stack words a program that snapshots in-process always has. */
__attribute__((noinline)) static int snapshot(const char *path, mr_map *volatile a,
                                              mr_map *volatile b)
{
    mr_map *volatile copy_a = a, *volatile copy_b = b;
    int rc = mrc_write_snapshot(path);
    if (rc) fprintf(stderr, "analysis_heaps: %s\n", mrc_last_error());
    (void)copy_a, (void)copy_b;
    return rc;
}

/* ---------------------------------------------------------------- priority */

typedef struct Mid {
    mr_map *m;
} Mid;
MR_TYPE(mid_type, Mid, MR_FIELD(Mid, m));
typedef struct Outer {
    Mid *mid;
} Outer;
MR_TYPE(outer_type, Outer, MR_FIELD(Outer, mid));

static Outer *registry;
MR_GLOBAL(registry)

static int heap_priority(const char *path)
{
    registry = mr_new(&outer_type);
    registry->mid = mr_new(&mid_type);
    registry->mid->m = blob_map(4000, 1024);
    /* the pin holds an array of *Mid in plain C memory */
    Mid **held = mr_new_array(&mr_type_pointer, 4);
    held[2] = mr_new(&mid_type);
    held[2]->m = blob_map(3000, 1024);
    mr_pin(held, "job registry");
    return snapshot(path, registry->mid->m, held[2]->m);
}

/* ----------------------------------------------------------------- bounded */

static mr_map *lru;
MR_GLOBAL(lru)
static void **arena;
MR_GLOBAL(arena)

static int heap_bounded(const char *path)
{
    lru = blob_map(1000, 100);
    arena = mr_new_array(&mr_type_pointer, 120);
    for (int i = 0; i < 120; i++) arena[i] = mr_alloc_blob(80000);
    return snapshot(path, lru, NULL);
}

/* ------------------------------------------------------------------ nested */

static const mr_map_type tenants_type = {"map[string]map[int64]*Blob", MR_KEY_STRING, NULL,
                                         &mr_type_pointer};
typedef struct Shard {
    int64_t id;
    mr_map *m;
} Shard;
MR_TYPE(shard_type, Shard, MR_FIELD(Shard, m));

static mr_map *tenants;
MR_GLOBAL(tenants)
static Shard **shards; /* an array of *Shard */
MR_GLOBAL(shards)
static Shard *slab; /* an array of Shard */
MR_GLOBAL(slab)

typedef struct Node {
    struct Node *next;
    mr_map *m;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next), MR_FIELD(Node, m));
static Node *backlog; /* a list of 150 nodes, a map at its end */
MR_GLOBAL(backlog)

static int heap_nested(const char *path)
{
    tenants = mr_map_new(&tenants_type, 0);
    for (int t = 0; t < 40; t++) {
        mr_str k = mr_str_printf("tenant-%d", t);
        mr_map *in = blob_map(t == 7 ? 3000 : 10, 1024);
        *(mr_map **)mr_map_assign(tenants, &k) = in;
    }
    shards = mr_new_array(&mr_type_pointer, 8);
    for (int s = 0; s < 8; s++) {
        shards[s] = mr_new(&shard_type);
        shards[s]->m = blob_map(s == 5 ? 2000 : 5, 1024);
    }
    slab = mr_new_array(&shard_type, 6);
    for (int s = 0; s < 6; s++) slab[s].m = blob_map(s == 4 ? 2500 : 5, 1024);
    Node *n = backlog = mr_new(&node_type);
    for (int i = 1; i < 150; i++) n = n->next = mr_new(&node_type);
    n->m = blob_map(1500, 1024);
    return snapshot(path, NULL, NULL);
}

/* ------------------------------------------------------------------ groups */

static const mr_map_type parts_type = {"map[int64]*Part", MR_KEY_INT64, NULL, &mr_type_pointer};
typedef struct Box {
    mr_map *m;
} Box;
MR_TYPE(box_type, Box, MR_FIELD(Box, m));
static Node *parts_list; /* 2,000 nodes, a small map each */
MR_GLOBAL(parts_list)

static mr_map *parts_map(int64_t id)
{
    mr_map *m = mr_map_new(&parts_type, 0);
    void *b = mr_alloc_blob(2048);
    mr_map_set(m, &id, &b);
    return m;
}

static int heap_groups(const char *path)
{
    Node *n = NULL;
    for (int64_t i = 0; i < 2000; i++) {
        Node *x = mr_new(&node_type);
        x->m = parts_map(i);
        if (i % 10 == 0) {
            Box *box = mr_new(&box_type);
            box->m = parts_map(-i);
            int64_t k = 1 << 20;
            void *v = box;
            mr_map_set(x->m, &k, &v);
        }
        if (n)
            n = n->next = x;
        else
            n = parts_list = x;
    }
    return snapshot(path, NULL, NULL);
}

/* -------------------------------------------------------------- iface_keys */

typedef struct Iface {
    const void *desc; /* a static descriptor: no heap object */
    void *data;
} Iface;
MR_TYPE(iface_type, Iface, MR_FIELD(Iface, desc), MR_FIELD(Iface, data));
static const mr_map_type seen_type = {"map[any]int64", MR_KEY_BYTES, &iface_type, &mr_type_int64};
static const int buffer_desc = 1;
static mr_map *seen;
MR_GLOBAL(seen)

static int heap_iface_keys(const char *path)
{
    seen = mr_map_new(&seen_type, 0);
    for (int64_t i = 0; i < 300; i++) {
        Iface k = {&buffer_desc, mr_alloc_blob(65536)};
        mr_map_set(seen, &k, &i);
    }
    return snapshot(path, NULL, NULL);
}

/* ------------------------------------------------------------------- names */

static const mr_map_type odd_type = {"map[int64]*\xff\xfe"
                                     "Blob",
                                     MR_KEY_INT64, NULL, &mr_type_pointer};
static mr_map *odd;

static int heap_names(const char *path)
{
    mr_register_global((void **)&odd, "cache\xc3(", "/src/caf\xe9.c", 7);
    odd = mr_map_new(&odd_type, 0);
    for (int64_t i = 0; i < 3000; i++) {
        void *b = mr_alloc_blob(1000);
        mr_map_set(odd, &i, &b);
    }
    void **held = mr_new_array(&mr_type_pointer, 1);
    held[0] = mr_alloc_blob(100);
    mr_pin(held, "pin \xed\xa0\x80 label"); /* an encoded surrogate: not UTF-8 */
    return snapshot(path, NULL, NULL);
}

/* ------------------------------------------------------------------ skewed */

static const mr_map_type docs_type = {"map[string]*Blob", MR_KEY_STRING, NULL, &mr_type_pointer};
static mr_map *docs;
MR_GLOBAL(docs)

static int heap_skewed(const char *path)
{
    docs = mr_map_new(&docs_type, 0);
    for (int i = 0; i < 2000; i++) {
        mr_str k = i < 5 ? mr_str_printf("big-%d", i) : mr_str_printf("doc-%d", i);
        *(void **)mr_map_assign(docs, &k) = mr_alloc_blob(i < 5 ? (size_t)(6 - i) << 18 : 1024);
    }
    return snapshot(path, NULL, NULL);
}

/* -------------------------------------------------------------------- deep */

typedef struct Link {
    struct Link *next;
    mr_map **tail; /* the last link's: an array of maps */
} Link;
MR_TYPE(link_type, Link, MR_FIELD(Link, next), MR_FIELD(Link, tail));
static Link *chain_head;
MR_GLOBAL(chain_head)
static size_t deep_n = 600;

static int heap_deep(const char *path)
{
    Link *l = chain_head = mr_new(&link_type);
    for (size_t i = 1; i < deep_n; i++) l = l->next = mr_new(&link_type);
    l->tail = mr_new_array(&mr_type_pointer, deep_n);
    for (size_t i = 0; i < deep_n; i++) l->tail[i] = i ? blob_map(1, 64) : blob_map(2000, 1024);
    return snapshot(path, NULL, NULL);
}

/* ------------------------------------------------------------------ stale */

/* Makes a map of 500 entries and leaves its address in 512 words of its
 * frame; returns nothing, so no live frame of the program holds it. */
__attribute__((noinline)) static void leave_stale_words(void)
{
    mr_map *volatile words[512];
    mr_map *m = blob_map(500, 64);
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) words[i] = m;
}

__attribute__((noinline)) static int heap_stale(const char *path)
{
    leave_stale_words();
    int rc = mrc_write_snapshot(path); /* its frames go where the words are */
    if (rc) fprintf(stderr, "analysis_heaps: %s\n", mrc_last_error());
    return rc;
}

/* ------------------------------------------------------------------- crowd */

static int heap_crowd(const char *path)
{
    Mid *mid = mr_new(&mid_type);
    mid->m = blob_map(4000, 256);
    static char labels[20][32]; /* a pin keeps its label's pointer */
    for (int i = 0; i < 20; i++) {
        Outer *o = mr_new(&outer_type);
        o->mid = mid;
        snprintf(labels[i], sizeof labels[i], "connection %02d", i);
        mr_pin(o, labels[i]);
    }
    return snapshot(path, mid->m, NULL);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(const char *path);
    } heaps[] = {{"priority", heap_priority}, {"bounded", heap_bounded},
                 {"nested", heap_nested},     {"iface_keys", heap_iface_keys},
                 {"names", heap_names},       {"skewed", heap_skewed},
                 {"groups", heap_groups},     {"stale", heap_stale},
                 {"deep", heap_deep},         {"crowd", heap_crowd}};
    if (argc == 4) deep_n = strtoul(argv[3], NULL, 10);
    if ((argc == 3 || argc == 4) && deep_n > 0)
        for (size_t i = 0; i < sizeof heaps / sizeof *heaps; i++)
            if (strcmp(argv[1], heaps[i].name) == 0) return heaps[i].run(argv[2]) ? 1 : 0;
    fprintf(
        stderr,
        "usage: analysis_heaps "
        "priority|bounded|nested|iface_keys|names|skewed|groups|stale|deep|crowd SNAPSHOT [N]\n");
    return 2;
}
