/*
 * bench/gen_snapshot.c -- synthetic root snapshots of any size for the
 * analysis benchmarks (bench/run-analyze.sh), written with the format's
 * own writer (src/format/gcstack_writer.h) and no runtime: a heap of 100
 * million objects would need some 20 GB in a program on libmaprt, here it
 * costs nothing but the time to encode it.
 *
 * usage: gen_snapshot SHAPE OBJECTS FILE [LEVEL]
 *   SHAPE   maps     8 maps map[int64]*Item of all the objects, each Item
 *                    pointing to the one added before it to its map: the
 *                    heap bench/snapshot_bench builds on the runtime, whose
 *                    linked chains are an eighth of the heap long;
 *           service  sessions behind 4 big maps map[string]*Session: per
 *                    session its key string, a Session, its name, a state
 *                    blob, an array of 4 events and the events, and one of
 *                    a few thousand shared User objects (many small objects
 *                    behind a few large maps);
 *           chains   4 long linked lists of nodes, each with a payload;
 *           arrays   8 wide arrays of pointers to nodes that point at other
 *                    nodes of their array;
 *           mix      half service, a quarter chains, a quarter arrays.
 *   The shapes below are each built to stress one phase of the analysis
 *   the way a real service's heap may:
 *           onearray one array of pointers to every other object (a slice
 *                    of all the records): one object of N edges to read,
 *                    one node that dominates the heap, one wide BFS level;
 *           tree     a balanced binary tree of nodes (an index): depth
 *                    log2 N, every node dominating its subtree;
 *           bigmap   one map map[int64]*Item of almost every object;
 *           tinymaps a slice of pointers to N/4 tiny maps map[int64]*Item
 *                    of 1, 2 or 3 entries (a map per request or per row);
 *           many     a linked list of holders, each pointing to its own
 *                    tiny map and to the holder made before it, a global
 *                    root on every 50th holder: each map is reached by
 *                    every root made after it (deep and multiply rooted);
 *           roots    goroutine stacks: every 10th object a stack root, the
 *                    head of a list of 10 frames' objects whose last points
 *                    to one of 1,000 shared objects (very many roots, joins
 *                    between them);
 *           deeproots 4 long linked lists of nodes with payloads (chains)
 *                    whose every 10th node is also held by a stack root;
 *           hot      one map map[string]*Config of 2N/3 entries with their
 *                    key strings: the even entries' value is one hot
 *                    Config, the odd ones' value a Config of their own
 *                    that points to the hot one (a value shared by very
 *                    many entries);
 *           cycles   cycles through map values back to their maps: half
 *                    the heap 4 big maps of Items that point back to their
 *                    map's header, half tiny maps (as tinymaps) whose Items
 *                    point back to their own map's header.
 *   OBJECTS about how many objects to write (the shapes round it)
 *   LEVEL   gzip level as MAPROOT_SNAPSHOT_LEVEL (default 0: stored blocks,
 *           the collector's default)
 * Prints one line: objects=N edges=E entries=M file_bytes=B seconds=S.
 *
 * Objects of one kind sit together (as an allocator's spans of one size
 * class do), in an order shuffled within blocks of 64K, so that the graph's
 * edges jump about the heap as a real program's do. Everything is a pure
 * function of the object's index: the writer's two passes (objects, then
 * edges in the same order) recompute it, and nothing of size N is held.
 */
#include "format/gcstack_writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GRANULE 8u
#define MAX_REGIONS 64
#define MAX_EDGES 8
#define SHUFFLE_BLOCK 65536u

/* ----------------------------------------------------- permutations --- */

/* A bijection of [0, n) that keeps blocks of SHUFFLE_BLOCK in place and
 * shuffles within each (an affine map of the next power of two, walked
 * until it lands inside the block: "cycle walking"). */
typedef struct shuffle {
    uint64_t n;
} shuffle;

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t p = 1;
    while (p < n) p <<= 1;
    return p;
}

#define SH_A 0x9e3779b97f4a7c15ull /* odd */
#define SH_C 0x632be59bd9b4e019ull

static uint64_t inv_odd(uint64_t a)
{
    uint64_t x = a; /* Newton's iteration: x = x(2 - ax), 64 bits in 6 steps */
    for (int i = 0; i < 6; i++) x *= 2 - a * x;
    return x;
}

static uint64_t walk(uint64_t j, uint64_t m, uint64_t p2, bool inverse)
{
    uint64_t mask = p2 - 1, ai = inverse ? inv_odd(SH_A) : 0;
    do {
        j = inverse ? ((j - SH_C) * ai) & mask : (j * SH_A + SH_C) & mask;
    } while (j >= m);
    return j;
}

/* logical index -> position, and back */
static uint64_t sh_pos(const shuffle *s, uint64_t j, bool inverse)
{
    uint64_t b = j / SHUFFLE_BLOCK, base = b * SHUFFLE_BLOCK;
    uint64_t m = s->n - base < SHUFFLE_BLOCK ? s->n - base : SHUFFLE_BLOCK;
    if (m <= 1) return j;
    return base + walk(j - base, m, pow2_at_least(m), inverse);
}

/* ----------------------------------------------------------- heap --- */

/* A region: count objects of one size and type at base, in shuffled order
 * (position = sh_pos(logical index)). */
typedef struct region {
    const char *name;
    uint64_t base, size, count;
    uint32_t type; /* type index + 1 */
    shuffle sh;
    /* edges of the object of logical index j: up to MAX_EDGES (offset,
     * target address), increasing offsets */
    int (*edges)(const struct region *r, uint64_t j, uint64_t *off, uint64_t *tgt);
    int arg; /* which map, list or array */
    /* instead of edges, for objects of more than MAX_EDGES pointers: writes
     * the pointers of object j at addr to the writer itself */
    int (*big)(mf_gs_writer *w, const struct region *r, uint64_t j, uint64_t addr,
               uint64_t *nedges);
} region;

/* A map: the header object, its bucket array, the logical objects its
 * entries point to (values in region `val`, keys in region `key` or int
 * keys), entry k of the map being object first + k * stride of val. */
typedef struct gmap {
    uint64_t header, buckets; /* addresses */
    uint64_t count, nb, B, slots;
    uint32_t key_kind;
    int val, key; /* region indices; key -1: int keys */
    uint64_t first, stride;
    uint64_t bucket_size, key_size;
    const char *type_name;
    int value_type; /* T_ */
    uint64_t hot;   /* non-zero: the even entries' value, the odd entry k's
                       being object k / 2 of val */
} gmap;

enum {
    T_ITEM,
    T_HDR,
    T_BUCKET,
    T_BARRAY,
    T_PTRS,
    T_SESSION,
    T_STRING,
    T_BLOB,
    T_EVENTS,
    T_EVENT,
    T_USER,
    T_NODE,
    T_NODES,
    T_LNODE,
    T_TREE,
    T_HOLDER,
    T_FRAME,
    T_CONFIG,
    T_NTYPES
};

static region R[MAX_REGIONS];
static int nregions;
static gmap M[16];
static int nmaps;
static uint64_t cursor = 0x7f0000000000ull;
static uint32_t types[32];

static uint64_t addr_of(int r, uint64_t j)
{
    return R[r].base + sh_pos(&R[r].sh, j, false) * R[r].size;
}

static int add_region(const char *name, uint64_t size, uint64_t count, uint32_t type,
                      int (*edges)(const region *, uint64_t, uint64_t *, uint64_t *), int arg)
{
    region *r = &R[nregions];
    size = (size + GRANULE - 1) / GRANULE * GRANULE;
    *r = (region){name, cursor, size, count, type, {count}, edges, arg, NULL};
    cursor += size * count + 4096; /* a gap between spans of classes */
    cursor = (cursor + 4095) & ~(uint64_t)4095;
    return nregions++;
}

/* Slot s of map m holds entry (s * A^-1 mod slots) when that is below the
 * count: entries scattered over the buckets, at most 8 a bucket. */
static uint64_t slot_entry(const gmap *m, uint64_t s)
{
    return (s * inv_odd(SH_A)) & (m->slots - 1);
}

static uint64_t value_of(const gmap *m, uint64_t k)
{
    if (m->hot) return k % 2 ? addr_of(m->val, k / 2) : m->hot;
    return addr_of(m->val, m->first + k * m->stride);
}

/* The bucket array's pointers, slot by slot: key pointers (string keys)
 * then value pointers within each bucket. One call per bucket array:
 * its edges go to the writer in pieces. */
static int write_bucket_array_edges(mf_gs_writer *w, const gmap *m, uint64_t *nedges)
{
    enum { PIECE = 4096 };
    static uint64_t off[PIECE], tgt[PIECE];
    if (mf_gsw_edges_begin(w, m->buckets)) return -1;
    size_t n = 0;
    for (uint64_t b = 0; b < m->nb; b++) {
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 0 && m->key < 0) continue;
            for (uint64_t s = 0; s < 8; s++) {
                uint64_t k = slot_entry(m, b * 8 + s);
                if (k >= m->count) continue;
                uint64_t o =
                    b * m->bucket_size + 8 + (pass ? 8 * m->key_size + 8 * s : m->key_size * s);
                off[n] = o;
                tgt[n] = pass ? value_of(m, k) : addr_of(m->key, m->first + k * m->stride);
                if (++n == PIECE) {
                    if (mf_gsw_edges_add(w, n, off, tgt)) return -1;
                    *nedges += n;
                    n = 0;
                }
            }
        }
    }
    if (n && mf_gsw_edges_add(w, n, off, tgt)) return -1;
    *nedges += n;
    return mf_gsw_edges_end(w);
}

static void new_map(uint32_t key_kind, int val, int key, uint64_t first, uint64_t stride,
                    uint64_t count)
{
    gmap *m = &M[nmaps++];
    m->key_kind = key_kind;
    m->val = val;
    m->key = key;
    m->first = first;
    m->stride = stride;
    m->count = count;
    m->B = 0;
    while (count > 8 && (double)count > 6.5 * (double)(1ull << m->B)) m->B++;
    m->nb = 1ull << m->B;
    m->slots = 8 * m->nb;
    m->key_size = key >= 0 ? 16 : 8;
    m->bucket_size = 8 + 8 * m->key_size + 8 * 8 + 8;
    m->type_name = key >= 0 ? "map[string]*Session" : "map[int64]*Item";
    m->value_type = key >= 0 ? T_SESSION : T_ITEM;
    m->hot = 0;
}

/* ---------------------------------------------------------- shapes --- */

static int regions_of_maps[8];
static int r_items = -1, r_sessions = -1, r_events_arr = -1, r_events = -1, r_users = -1,
           r_names = -1, r_states = -1, r_keys = -1, r_lnodes = -1, r_payloads = -1, r_nodes = -1,
           r_arrays = -1;
static uint64_t n_lists = 4, n_wide = 8, array_width;
static bool nodes_peer = true; /* arrays' nodes point to a peer */

/* The tiny maps (tinymaps, many, cycles): map k has 1 + k % 3 int-keyed
 * entries in slots 0.. of its one bucket, header k of r_smh, bucket array
 * k of r_smb, values sm_first(k).. of r_smv; holder k of r_holders (many)
 * or element k of r_slice points to the header. */
static int r_smh = -1, r_smb = -1, r_smv = -1, r_holders = -1, r_slice = -1, r_tree = -1,
           r_frames = -1, r_shared = -1, r_configs = -1, r_hot = -1;
static uint64_t nsm;
static bool values_back; /* the maps' values point back to their map */
/* the stack or global roots of every root_every-th object of region
 * root_region (and its last, for "many") */
static int root_region = -1, root_kind = MF_GS_ROOT_STACK;
static uint64_t root_every, root_phase;
static bool root_last;

#define SM_BUCKET_SIZE 144u /* tophash, 8 int keys, 8 values, overflow */

static uint64_t sm_count(uint64_t k)
{
    return 1 + k % 3;
}

/* the values of maps 0..k-1: 6 to every 3 maps */
static uint64_t sm_first(uint64_t k)
{
    static const uint64_t part[3] = {0, 1, 3};
    return 6 * (k / 3) + part[k % 3];
}

/* the map whose entries value v is of */
static uint64_t sm_map_of(uint64_t v)
{
    static const uint64_t part[6] = {0, 1, 1, 2, 2, 2};
    return 3 * (v / 6) + part[v % 6];
}

static int sm_header_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    off[0] = 16;
    tgt[0] = addr_of(r_smb, j);
    return 1;
}

/* a tiny map's bucket: the value pointers of its occupied slots */
static int sm_bucket_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    int n = (int)sm_count(j);
    for (int s = 0; s < n; s++)
        off[s] = 8 + 8 * 8 + 8 * (uint64_t)s, tgt[s] = addr_of(r_smv, sm_first(j) + (uint64_t)s);
    return n;
}

static int sm_value_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    if (!values_back) return 0;
    off[0] = 0;
    tgt[0] = addr_of(r_smh, sm_map_of(j));
    return 1;
}

/* many: Holder {map, next}: the holder made before this one */
static int holder_list_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    off[0] = 0, tgt[0] = addr_of(r_smh, j);
    if (!j) return 1;
    off[1] = 8, tgt[1] = addr_of(r_holders, j - 1);
    return 2;
}

/* tree: node j's children 2j+1 and 2j+2 */
static int tree_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    int n = 0;
    for (uint64_t c = 2 * j + 1; c <= 2 * j + 2 && c < r->count; c++)
        off[n] = 8 * (uint64_t)n, tgt[n] = addr_of(r_tree, c), n++;
    return n;
}

/* roots: frames in runs of 10, the last of a run to a shared object */
static int frame_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    off[0] = 0;
    if ((j + 1) % 10 && j + 1 < r->count)
        tgt[0] = addr_of(r_frames, j + 1);
    else
        tgt[0] = addr_of(r_shared, (j / 10 * 2654435761u) % R[r_shared].count);
    return 1;
}

/* hot: the odd entries' own Config points to the hot one */
static int config_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r, (void)j;
    off[0] = 0, tgt[0] = addr_of(r_hot, 0);
    return 1;
}

/* maps: item j of map j % 8, pointing to item j - 8; cycles: item j of
 * map j % 4, pointing to its map's header */
static int items_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    if (values_back) {
        off[0] = 0;
        tgt[0] = M[j % (uint64_t)nmaps].header;
        return 1;
    }
    if (j < 8) return 0;
    off[0] = 0;
    tgt[0] = addr_of(r_items, j - 8);
    return 1;
}

/* service: Session {name, state, events, user} */
static int session_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    uint64_t nu = R[r_users].count;
    off[0] = 0, tgt[0] = addr_of(r_names, j);
    off[1] = 8, tgt[1] = addr_of(r_states, j);
    off[2] = 16, tgt[2] = addr_of(r_events_arr, j);
    off[3] = 24, tgt[3] = addr_of(r_users, (j * 2654435761u) % nu);
    return 4;
}

static int events_arr_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    for (int k = 0; k < 4; k++) off[k] = (uint64_t)k * 8, tgt[k] = addr_of(r_events, j * 4 + k);
    return 4;
}

/* chains: node {next, payload}; list l holds nodes l, l + lists, ... */
static int lnode_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    int n = 0;
    if (j + n_lists < r->count) off[n] = 0, tgt[n++] = addr_of(r_lnodes, j + n_lists);
    off[n] = 8, tgt[n++] = addr_of(r_payloads, j);
    return n;
}

/* arrays: node {peer}: a node of the same array, far from it */
static int node_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    uint64_t a = j / array_width, k = j % array_width;
    uint64_t peer = a * array_width + (k * 40503u + 12345u) % array_width;
    if (peer == j || !nodes_peer) return 0;
    off[0] = 0;
    tgt[0] = addr_of(r_nodes, peer);
    return 1;
}

/* the holder of the maps: an array of pointers to their headers */
static int holder_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r, (void)j;
    for (int k = 0; k < nmaps; k++) off[k] = (uint64_t)k * 8, tgt[k] = M[k].header;
    return nmaps;
}

static int header_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r;
    off[0] = 16;
    tgt[0] = M[j].buckets;
    return 1;
}

static int no_edges(const region *r, uint64_t j, uint64_t *off, uint64_t *tgt)
{
    (void)r, (void)j, (void)off, (void)tgt;
    return 0;
}

static int big_bucket_array(mf_gs_writer *w, const region *r, uint64_t j, uint64_t addr,
                            uint64_t *nedges);
static int big_array(mf_gs_writer *w, const region *r, uint64_t j, uint64_t addr, uint64_t *nedges);
static int big_slice(mf_gs_writer *w, const region *r, uint64_t j, uint64_t addr, uint64_t *nedges);

/* The tiny maps of about n objects (4 to a map on average: header, bucket
 * array, two values), and what holds them: a slice, or a list of holders. */
static void plan_tiny_maps(uint64_t n, bool list)
{
    nsm = n / (list ? 5 : 4);
    if (nsm < 3) nsm = 3;
    if (list)
        r_holders = add_region("holders", 16, nsm, T_HOLDER + 1, holder_list_edges, 0);
    else {
        r_slice = add_region("map slice", 8 * nsm, 1, T_PTRS + 1, NULL, 0);
        R[r_slice].big = big_slice;
    }
    r_smh = add_region("tiny map headers", 48, nsm, T_HDR + 1, sm_header_edges, 0);
    r_smb = add_region("tiny bucket arrays", SM_BUCKET_SIZE, nsm, T_BARRAY + 1, sm_bucket_edges, 0);
    r_smv = add_region("tiny map values", 16, sm_first(nsm), T_ITEM + 1, sm_value_edges, 0);
}

/* Lays out the regions and maps of a shape for about n objects. */
static int plan(const char *shape, uint64_t n)
{
    bool maps = !strcmp(shape, "maps"), service = !strcmp(shape, "service"),
         chains = !strcmp(shape, "chains"), arrays = !strcmp(shape, "arrays"),
         mix = !strcmp(shape, "mix"), onearray = !strcmp(shape, "onearray"),
         tree = !strcmp(shape, "tree"), bigmap = !strcmp(shape, "bigmap"),
         tinymaps = !strcmp(shape, "tinymaps"), many = !strcmp(shape, "many"),
         roots = !strcmp(shape, "roots"), deeproots = !strcmp(shape, "deeproots"),
         hot = !strcmp(shape, "hot"), cycles = !strcmp(shape, "cycles");
    if (!maps && !service && !chains && !arrays && !mix && !onearray && !tree && !bigmap &&
        !tinymaps && !many && !roots && !deeproots && !hot && !cycles)
        return -1;
    uint64_t n_service = service ? n : mix ? n / 2 : 0;
    uint64_t n_chains = chains || deeproots ? n : mix ? n / 4 : 0;
    uint64_t n_arrays = arrays || onearray ? n : mix ? n / 4 : 0;
    if (onearray) n_wide = 1, nodes_peer = false;
    values_back = cycles;
    /* the maps' headers and bucket arrays first (their sizes are known
     * once the entry counts are) */
    uint64_t sessions = n_service / 9;
    uint64_t items = maps ? n : bigmap ? n - 4 : cycles ? n / 2 : 0;
    uint64_t entries = hot ? n / 3 * 2 : 0;
    int nm = 0;
    if (items) nm = maps ? 8 : bigmap ? 1 : 4;
    if (sessions || entries) nm = sessions ? 4 : 1;
    int holder =
        add_region("holder", 8 * (uint64_t)(nm ? nm : 1), nm ? 1 : 0, T_PTRS + 1, holder_edges, 0);
    (void)holder;
    int hdrs = add_region("map headers", 48, (uint64_t)nm, T_HDR + 1, header_edges, 0);
    if (items)
        r_items =
            add_region("items", 16, items, T_ITEM + 1, maps || cycles ? items_edges : no_edges, 0);
    if (sessions) {
        r_keys = add_region("keys", 16, sessions, T_STRING + 1, no_edges, 0);
        r_sessions = add_region("sessions", 64, sessions, T_SESSION + 1, session_edges, 0);
        r_names = add_region("names", 24, sessions, T_STRING + 1, no_edges, 0);
        r_states = add_region("states", 256, sessions, T_BLOB + 1, no_edges, 0);
        r_events_arr = add_region("events", 32, sessions, T_EVENTS + 1, events_arr_edges, 0);
        r_events = add_region("event", 48, sessions * 4, T_EVENT + 1, no_edges, 0);
        r_users = add_region("users", 96, sessions / 64 + 1, T_USER + 1, no_edges, 0);
    }
    if (entries) {
        r_keys = add_region("keys", 16, entries, T_STRING + 1, no_edges, 0);
        r_configs = add_region("configs", 32, entries / 2, T_CONFIG + 1, config_edges, 0);
        r_hot = add_region("hot config", 32, 1, T_CONFIG + 1, no_edges, 0);
    }
    if (n_chains) {
        r_lnodes = add_region("list nodes", 32, n_chains / 2, T_LNODE + 1, lnode_edges, 0);
        r_payloads = add_region("payloads", 64, n_chains / 2, T_BLOB + 1, no_edges, 0);
        if (deeproots) root_region = r_lnodes, root_every = 10, root_phase = 5;
    }
    if (n_arrays) {
        array_width = onearray ? n - 1 : n_arrays / n_wide;
        r_nodes = add_region("nodes", 24, array_width * n_wide, T_NODE + 1, node_edges, 0);
    }
    if (tree) r_tree = add_region("tree nodes", 16, n, T_TREE + 1, tree_edges, 0);
    if (tinymaps || cycles) plan_tiny_maps(cycles ? n / 2 : n, false);
    if (many) {
        plan_tiny_maps(n, true);
        root_region = r_holders, root_every = 50, root_phase = 49, root_last = true;
        root_kind = MF_GS_ROOT_GLOBAL;
    }
    if (roots) {
        r_frames = add_region("frames", 16, n - 1000, T_FRAME + 1, frame_edges, 0);
        r_shared = add_region("shared", 64, 1000, T_USER + 1, no_edges, 0);
        root_region = r_frames, root_every = 10, root_phase = 0;
    }
    for (int k = 0; k < nm; k++) {
        if (items)
            new_map(MF_GS_KEY_INT64, r_items, -1, (uint64_t)k, (uint64_t)nm,
                    items / (uint64_t)nm + (k < (int)(items % (uint64_t)nm)));
        else if (entries) {
            new_map(MF_GS_KEY_STRING, r_configs, r_keys, 0, 1, entries);
            M[k].type_name = "map[string]*Config";
            M[k].value_type = T_CONFIG;
            M[k].hot = addr_of(r_hot, 0);
        } else
            new_map(MF_GS_KEY_STRING, r_sessions, r_keys, (uint64_t)k, 4,
                    sessions / 4 + (k < (int)(sessions % 4)));
        M[k].header = addr_of(hdrs, (uint64_t)k);
        regions_of_maps[k] =
            add_region("bucket array", M[k].nb * M[k].bucket_size, 1, T_BARRAY + 1, NULL, k);
        R[regions_of_maps[k]].big = big_bucket_array;
        M[k].buckets = R[regions_of_maps[k]].base;
    }
    if (n_arrays) {
        r_arrays = add_region("arrays", 8 * array_width, n_wide, T_NODES + 1, NULL, 0);
        R[r_arrays].big = big_array;
    }
    return 0;
}

/* ---------------------------------------------------------- writing --- */

static void define_types(mf_gs_writer *w)
{
    static const uint32_t p0[] = {0}, p01[] = {0, 8}, sess[] = {0, 8, 16, 24};
    static const uint32_t ev4[] = {0, 8, 16, 24};
    mf_gs_type ptr = {"*", 8, p0, 1, MF_GS_KIND_STRUCT, 0};
    uint32_t tp = mf_gsw_type(w, &ptr);
    mf_gs_type t[T_NTYPES] = {
        [T_ITEM] = {"Item", 16, p0, 1, MF_GS_KIND_STRUCT, 0},
        [T_HDR] = {"map.hdr", 48, (const uint32_t[]){16, 24}, 2, MF_GS_KIND_MAP_HEADER, 0},
        [T_BUCKET] = {"bucket", 144, NULL, 0, MF_GS_KIND_BUCKET, 0},
        [T_BARRAY] = {"[]bucket", 144, NULL, 0, MF_GS_KIND_ARRAY, 0},
        [T_PTRS] = {"[]*", 8, NULL, 0, MF_GS_KIND_ARRAY, tp + 1},
        [T_SESSION] = {"Session", 64, sess, 4, MF_GS_KIND_STRUCT, 0},
        [T_STRING] = {"string", 1, NULL, 0, MF_GS_KIND_STRING, 0},
        [T_BLOB] = {"[]byte", 1, NULL, 0, MF_GS_KIND_BLOB, 0},
        [T_EVENTS] = {"[4]*Event", 32, ev4, 4, MF_GS_KIND_STRUCT, 0},
        [T_EVENT] = {"Event", 48, NULL, 0, MF_GS_KIND_STRUCT, 0},
        [T_USER] = {"User", 96, NULL, 0, MF_GS_KIND_STRUCT, 0},
        [T_NODE] = {"Node", 24, p0, 1, MF_GS_KIND_STRUCT, 0},
        [T_NODES] = {"[]*Node", 8, NULL, 0, MF_GS_KIND_ARRAY, tp + 1},
        [T_LNODE] = {"ListNode", 32, p01, 2, MF_GS_KIND_STRUCT, 0},
        [T_TREE] = {"TreeNode", 16, p01, 2, MF_GS_KIND_STRUCT, 0},
        [T_HOLDER] = {"Holder", 16, p01, 2, MF_GS_KIND_STRUCT, 0},
        [T_FRAME] = {"Frame", 16, p0, 1, MF_GS_KIND_STRUCT, 0},
        [T_CONFIG] = {"Config", 32, p0, 1, MF_GS_KIND_STRUCT, 0},
    };
    for (int i = 0; i < T_NTYPES; i++) {
        if (i == T_BARRAY) t[i].elem = types[T_BUCKET];
        types[i] = mf_gsw_type(w, &t[i]) + 1;
    }
    /* the regions were planned with type indices + 1 in order: remap */
    for (int r = 0; r < nregions; r++) R[r].type = types[R[r].type - 1];
}

/* The elements of wide array a: pointers to its nodes, in pieces. */
static int write_array_edges(mf_gs_writer *w, uint64_t a, uint64_t addr, uint64_t *nedges)
{
    enum { PIECE = 4096 };
    static uint64_t off[PIECE], tgt[PIECE];
    if (mf_gsw_edges_begin(w, addr)) return -1;
    for (uint64_t k = 0; k < array_width; k += PIECE) {
        size_t m = array_width - k < PIECE ? (size_t)(array_width - k) : PIECE;
        for (size_t i = 0; i < m; i++) {
            off[i] = (k + i) * 8;
            tgt[i] = addr_of(r_nodes, a * array_width + k + i);
        }
        if (mf_gsw_edges_add(w, m, off, tgt)) return -1;
        *nedges += m;
    }
    return mf_gsw_edges_end(w);
}

static int big_array(mf_gs_writer *w, const region *r, uint64_t j, uint64_t addr, uint64_t *nedges)
{
    (void)r;
    return write_array_edges(w, j, addr, nedges);
}

static int big_bucket_array(mf_gs_writer *w, const region *r, uint64_t j, uint64_t addr,
                            uint64_t *nedges)
{
    (void)j, (void)addr;
    return write_bucket_array_edges(w, &M[r->arg], nedges);
}

/* tinymaps, cycles: the slice of pointers to every tiny map's header */
static int big_slice(mf_gs_writer *w, const region *r, uint64_t j, uint64_t addr, uint64_t *nedges)
{
    enum { PIECE = 4096 };
    static uint64_t off[PIECE], tgt[PIECE];
    (void)r, (void)j;
    if (mf_gsw_edges_begin(w, addr)) return -1;
    for (uint64_t k = 0; k < nsm; k += PIECE) {
        size_t m = nsm - k < PIECE ? (size_t)(nsm - k) : PIECE;
        for (size_t i = 0; i < m; i++) off[i] = (k + i) * 8, tgt[i] = addr_of(r_smh, k + i);
        if (mf_gsw_edges_add(w, m, off, tgt)) return -1;
        *nedges += m;
    }
    return mf_gsw_edges_end(w);
}

enum { BATCH = 4096 };
static uint64_t b_addr[BATCH], b_off[BATCH * MAX_EDGES], b_tgt[BATCH * MAX_EDGES];
static uint32_t b_cnt[BATCH];
static size_t b_n, b_ne;

static int flush_batch(mf_gs_writer *w)
{
    int rc = b_n ? mf_gsw_edges_many(w, b_n, b_addr, b_cnt, b_off, b_tgt) : 0;
    b_n = b_ne = 0;
    return rc;
}

static int write_edges(mf_gs_writer *w, uint64_t *nedges)
{
    for (int r = 0; r < nregions; r++) {
        region *g = &R[r];
        for (uint64_t p = 0; p < g->count; p++) {
            uint64_t a = g->base + p * g->size, j = sh_pos(&g->sh, p, true);
            if (!g->edges) {
                if (flush_batch(w) || g->big(w, g, j, a, nedges)) return -1;
                continue;
            }
            int k = g->edges(g, j, b_off + b_ne, b_tgt + b_ne);
            b_addr[b_n] = a;
            b_cnt[b_n++] = (uint32_t)k;
            b_ne += (size_t)k;
            *nedges += (uint64_t)k;
            if (b_n == BATCH && flush_batch(w)) return -1;
        }
    }
    return flush_batch(w);
}

static int write_maps(mf_gs_writer *w)
{
    for (int k = 0; k < nmaps; k++) {
        gmap *m = &M[k];
        mf_gs_map mp = {.address = m->header,
                        .type_name = m->type_name,
                        .key_kind = m->key_kind,
                        .value_type = types[m->value_type],
                        .count = m->count,
                        .B = (uint32_t)m->B,
                        .hash0 = 0x1234u + (uint32_t)k,
                        .buckets = m->buckets,
                        .bucket_size = m->bucket_size,
                        .key_size = (uint32_t)m->key_size,
                        .value_size = 8,
                        .nbuckets_walked = m->nb,
                        .nentries = m->count};
        if (mf_gsw_map(w, &mp)) return -1;
        for (uint64_t b = 0; b < m->nb; b++) {
            uint32_t occ = 0;
            uint64_t ks[8];
            for (uint64_t s = 0; s < 8; s++) {
                ks[s] = slot_entry(m, b * 8 + s);
                if (ks[s] < m->count) occ |= 1u << s;
            }
            if (mf_gsw_bucket(w, m->buckets + b * m->bucket_size, false, b, 0, occ)) return -1;
            for (uint32_t s = 0; s < 8; s++) {
                if (!(occ >> s & 1)) continue;
                uint64_t kk = ks[s], j = m->first + kk * m->stride;
                char text[48];
                mf_gs_entry e = {.slot = (uint8_t)s,
                                 .tophash = (uint8_t)(5 + (j * 131) % 250),
                                 .value_object = value_of(m, kk)};
                if (m->key < 0) {
                    e.key_int = (int64_t)j;
                } else {
                    int n = snprintf(text, sizeof text, "\"user-%" PRIu64 "\"", j);
                    e.key_text = text;
                    e.key_text_len = (size_t)n;
                    e.key_object = addr_of(m->key, j);
                }
                if (mf_gsw_entry(w, &e)) return -1;
            }
        }
    }
    for (uint64_t k = 0; k < nsm; k++) {
        uint64_t c = sm_count(k), first = sm_first(k), buckets = addr_of(r_smb, k);
        mf_gs_map mp = {.address = addr_of(r_smh, k),
                        .type_name = "map[int64]*Item",
                        .key_kind = MF_GS_KEY_INT64,
                        .value_type = types[T_ITEM],
                        .count = c,
                        .B = 0,
                        .hash0 = (uint32_t)(k * 2654435761u),
                        .buckets = buckets,
                        .bucket_size = SM_BUCKET_SIZE,
                        .key_size = 8,
                        .value_size = 8,
                        .nbuckets_walked = 1,
                        .nentries = c};
        if (mf_gsw_map(w, &mp) || mf_gsw_bucket(w, buckets, false, 0, 0, (1u << c) - 1)) return -1;
        for (uint32_t s = 0; s < c; s++) {
            mf_gs_entry e = {.slot = (uint8_t)s,
                             .tophash = (uint8_t)(5 + ((first + s) * 131) % 250),
                             .value_object = addr_of(r_smv, first + s),
                             .key_int = (int64_t)(first + s)};
            if (mf_gsw_entry(w, &e)) return -1;
        }
    }
    return 0;
}

static int write_roots(mf_gs_writer *w)
{
    mf_gs_symbol sy = {0x401000, "serve", "svc.c", 120};
    uint32_t sym = mf_gsw_symbol(w, &sy);
    int rc = 0;
    if (nmaps) {
        mf_gs_root g = {.kind = MF_GS_ROOT_GLOBAL,
                        .target = R[0].base,
                        .slot = 0x600000,
                        .name = "holder",
                        .file = "svc.c",
                        .line = 10};
        rc |= mf_gsw_root(w, &g);
    }
    for (uint64_t l = 0; r_lnodes >= 0 && l < n_lists && l < R[r_lnodes].count; l++) {
        char name[32];
        snprintf(name, sizeof name, "list_%" PRIu64, l);
        mf_gs_root g = {.kind = MF_GS_ROOT_GLOBAL,
                        .target = addr_of(r_lnodes, l),
                        .slot = 0x600100 + 8 * l,
                        .name = name,
                        .file = "svc.c",
                        .line = 20};
        rc |= mf_gsw_root(w, &g);
    }
    for (uint64_t a = 0; r_arrays >= 0 && a < n_wide; a++) {
        char name[32];
        snprintf(name, sizeof name, "table_%" PRIu64, a);
        mf_gs_root g = {.kind = MF_GS_ROOT_GLOBAL,
                        .target = R[r_arrays].base + a * R[r_arrays].size,
                        .slot = 0x600200 + 8 * a,
                        .name = name,
                        .file = "svc.c",
                        .line = 30};
        rc |= mf_gsw_root(w, &g);
    }
    if (r_slice >= 0) {
        mf_gs_root g = {.kind = MF_GS_ROOT_GLOBAL,
                        .target = R[r_slice].base,
                        .slot = 0x600300,
                        .name = "requests",
                        .file = "svc.c",
                        .line = 40};
        rc |= mf_gsw_root(w, &g);
    }
    if (r_tree >= 0) {
        mf_gs_root g = {.kind = MF_GS_ROOT_GLOBAL,
                        .target = addr_of(r_tree, 0),
                        .slot = 0x600308,
                        .name = "index",
                        .file = "svc.c",
                        .line = 50};
        rc |= mf_gsw_root(w, &g);
    }
    /* the roots of every root_every-th object: globals (many) or the words
     * of goroutine stacks, 64 frames a thread */
    for (uint64_t j = root_phase, i = 0; root_region >= 0 && j < R[root_region].count;
         j += root_every, i++) {
        mf_gs_root g = {.kind = (uint32_t)root_kind,
                        .target = addr_of(root_region, j),
                        .slot = 0x10000000 + 8 * i,
                        .name = "holders",
                        .file = "svc.c",
                        .line = 60};
        if (root_kind == MF_GS_ROOT_STACK)
            g = (mf_gs_root){.kind = MF_GS_ROOT_STACK,
                             .target = addr_of(root_region, j),
                             .slot = 0x7ff000000000 + 8 * i,
                             .thread = (uint32_t)(i / 64 + 2),
                             .frame = (uint32_t)(i % 64),
                             .symbol = sym + 1,
                             .function = "serve"};
        rc |= mf_gsw_root(w, &g);
    }
    if (root_last && (R[root_region].count - 1) % root_every != root_phase) {
        mf_gs_root g = {.kind = MF_GS_ROOT_GLOBAL,
                        .target = addr_of(root_region, R[root_region].count - 1),
                        .slot = 0x600310,
                        .name = "newest",
                        .file = "svc.c",
                        .line = 70};
        rc |= mf_gsw_root(w, &g);
    }
    /* a stray stack word, as conservative scanning finds them */
    if (nregions > 2 && R[nregions - 1].count) {
        mf_gs_root st = {.kind = MF_GS_ROOT_STACK,
                         .target = R[2].base,
                         .slot = 0x7ffc0000,
                         .thread = 1,
                         .frame = 0,
                         .symbol = sym + 1,
                         .function = "serve"};
        rc |= mf_gsw_root(w, &st);
    }
    return rc;
}

/* One sampled object in 4096 of every region, with one of a few stacks. */
static int write_samples(mf_gs_writer *w)
{
    const char *fns[] = {"new_item", "new_session", "append_node", "grow_table"};
    uint32_t stacks[4];
    for (int i = 0; i < 4; i++) {
        mf_gs_symbol sy = {0x402000 + 64u * (unsigned)i, fns[i], "svc.c", 200 + i};
        uint32_t s = mf_gsw_symbol(w, &sy);
        stacks[i] = mf_gsw_stack(w, &s, 1);
    }
    for (int r = 0; r < nregions; r++)
        for (uint64_t p = 0; p < R[r].count; p += 4096)
            if (mf_gsw_sample(w, R[r].base + p * R[r].size, stacks[r % 4])) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: gen_snapshot maps|service|chains|arrays|mix|onearray|tree|bigmap|"
                        "tinymaps|many|roots|deeproots|hot|cycles OBJECTS FILE [LEVEL]\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], NULL, 10);
    int level = argc > 4 ? atoi(argv[4]) : 0;
    if (n < 64 || plan(argv[1], n)) {
        fprintf(stderr, "gen_snapshot: unknown shape %s or too few objects\n", argv[1]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mf_gs_header h = {.program = "/usr/bin/svc",
                      .pid = 4242,
                      .gc_cycle = 9,
                      .pointer_size = 8,
                      .profile_rate = 524288,
                      .write_mode = MF_GS_MODE_FORK,
                      .writer = "gen_snapshot"};
    uint64_t objects = 0, edges = 0, entries = 0;
    for (int r = 0; r < nregions; r++) objects += R[r].count;
    for (int k = 0; k < nmaps; k++) entries += M[k].count;
    entries += sm_first(nsm);
    h.memstats.heap_objects = objects;
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(argv[3], level, &h, &err);
    if (!w) {
        fprintf(stderr, "gen_snapshot: %s\n", err.msg);
        return 1;
    }
    define_types(w);
    for (int r = 0; r < nregions; r++)
        for (uint64_t p = 0; p < R[r].count; p++)
            mf_gsw_object(w, R[r].base + p * R[r].size, R[r].size, R[r].type);
    write_edges(w, &edges);
    write_roots(w);
    write_maps(w);
    write_samples(w);
    uint64_t bytes;
    if (mf_gsw_finish(w, &bytes, &err)) {
        fprintf(stderr, "gen_snapshot: %s\n", err.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("objects=%" PRIu64 " edges=%" PRIu64 " entries=%" PRIu64 " file_bytes=%" PRIu64
           " seconds=%.2f\n",
           objects, edges, entries, bytes,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
