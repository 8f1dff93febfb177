/*
 * src/analyze/paths.c -- multi-source breadth-first search from the roots.
 */
#include "analyze/paths.h"

#include "analyze/parallel.h"
#include "analyze/u32map.h"

#include "format/grow.h"
#include "format/zeroed.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* What mp_paths_measure knows. Invariant: the objects in `at` are closed
 * under parent (an object's parent is known once it is), so a walk up
 * from any object can stop at the first known one. */
typedef struct path_rec {
    uint32_t depth;    /* objects on the path, the root's target 1 */
    uint32_t slots;    /* steps of the path through a slot */
    uint32_t head_end; /* the object at depth MP_PATH_HEAD, MP_NONE above */
} path_rec;

struct mp_path_memo {
    mp_u32map at; /* object -> index into recs */
    path_rec *recs;
    size_t nrecs, cap;
    uint32_t *walk; /* the objects of one walk up, not yet known */
    size_t walk_cap;
};

/*
 * While it runs the computation keeps two of each object's words side by
 * side, in one block of pairs: during the search its parent and root, then
 * its parent and step (via). At a hundred million objects every scattered
 * touch of an array waits on a page walk as well as a miss, so what costs
 * is the number of distinct lines an object's visit touches: the search
 * writes one line for each object it reaches, where a parent array and a
 * root array took two, and the steps from buckets read one line for each
 * target, where parent[] and via[] took two. The pairs are split into the
 * arrays of the contract (paths.h) in sequential passes: the roots into the
 * queue once the search is done with it, the parents and steps at the end
 * by moving pages (split_pairs), so the memory is what three arrays take.
 */
static inline uint32_t *pair_first(uint32_t *pairs, uint32_t o)
{
    return &pairs[2 * (size_t)o];
}

static inline uint32_t *pair_second(uint32_t *pairs, uint32_t o)
{
    return &pairs[2 * (size_t)o + 1];
}

/* Both words of object o's pair in one store: one line written. */
static inline void pair_put(uint32_t *pairs, uint32_t o, uint32_t first, uint32_t second)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x = (uint64_t)second << 32 | first;
    memcpy(pair_first(pairs, o), &x, sizeof x);
#else
    *pair_first(pairs, o) = first;
    *pair_second(pairs, o) = second;
#endif
}

/*
 * An object a path reaches from the bucket holding an entry is one its key
 * or value slot points to (any of a struct value's pointers): the first
 * such entry names the step. The entries are read a chunk at a time, and
 * the objects of the entries a few places on are fetched while the
 * current ones are looked at: they lie all over the heap.
 *
 * Entries count first to first + count - 1 are looked at here; the rest
 * may be at once on other threads. Only an object whose parent is a bucket
 * takes an entry, and edge_steps leaves every such object's step unset, so
 * each one's step is the lowest entry that names it, whichever thread gets
 * there first: lowered to it atomically, never raised. (An object whose
 * parent is no bucket has its edge's rank from edge_steps, and keeps it:
 * see entry_steps_all for when edge_steps could not give one.)
 *
 * rd is the caller's, kept from one range to the next: the edge offsets
 * of a bucket array are decoded whole when its first entry is looked at,
 * and a map of millions of entries spans many ranges; a reader of its own
 * per range would decode the array again for each of them, the work
 * growing as the square of the map.
 */
#define CHUNK 256
#define AHEAD 16 /* entries between a fetch and the look (< CHUNK) */
static void entry_steps(const mp_graph *g, uint32_t *pv, size_t first, size_t count,
                        mp_entry_reader *rd)
{
    size_t n = g->nobjects;
    mp_entry es[CHUNK];
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, first);
    /* es[at..got): the window of entries read, the first of them entry
     * base; each is looked at once AHEAD more are read behind it, or once
     * no more can be */
    size_t left = count, at = 0, got = 0, base = first;
    for (;;) {
        if (got - at <= AHEAD && left) {
            size_t was = at;
            got = mp_entry_window_fill(&c, es, CHUNK, &at, got, &left);
            base += was;
            if (got < CHUNK) left = 0; /* the rest could not be read back */
        }
        if (at == got) break;
        size_t stop = left ? got - AHEAD : got;
        for (size_t j = at; j < stop; j++) {
            if (j + AHEAD < got) {
                uint32_t v = es[j + AHEAD].value_obj, k = es[j + AHEAD].key_obj;
                if (v < n) __builtin_prefetch(pair_first(pv, v));
                if (k < n) __builtin_prefetch(pair_first(pv, k));
            }
            const mp_entry *en = &es[j];
            uint32_t o = en->bucket_obj;
            if (o == MP_NONE || !g->bucket_bits || o >= n || !mp_bit(g->bucket_bits, o)) continue;
            uint32_t x[MP_ENTRY_MAX_TARGETS];
            size_t nk, nx = mp_entry_targets(g, rd, en, x, NULL, &nk);
            uint32_t step = (uint32_t)(base + j);
            for (size_t k = 0; k < nx; k++) {
                if (x[k] >= n || *pair_first(pv, x[k]) != o) continue;
                uint32_t *via = pair_second(pv, x[k]);
                uint32_t was = __atomic_load_n(via, __ATOMIC_RELAXED);
                while (step < was &&
                       !__atomic_compare_exchange_n(via, &was, step, true, __ATOMIC_RELAXED,
                                                    __ATOMIC_RELAXED)) {
                }
            }
        }
        at = stop;
    }
    mp_entry_cursor_free(&c);
}

/* The entries a claim of entry_steps' work takes (entry_job). */
#define ENTRY_CLAIM ((size_t)1 << 16)

/* The entries' steps shared by threads: each claims the next ENTRY_CLAIM
 * entries until none are left. */
typedef struct entry_job {
    const mp_graph *g;
    uint32_t *pv;        /* (parent, step) pairs */
    _Atomic size_t next; /* the first entry no thread has claimed */
} entry_job;

static void entry_part(void *arg, unsigned t, unsigned nt)
{
    (void)t, (void)nt;
    entry_job *j = arg;
    mp_entry_reader rd = MP_ENTRY_READER_INIT; /* this thread's, across its claims */
    for (;;) {
        size_t first = atomic_fetch_add_explicit(&j->next, ENTRY_CLAIM, memory_order_relaxed);
        if (first >= j->g->nentries) break;
        size_t left = j->g->nentries - first;
        entry_steps(j->g, j->pv, first, left < ENTRY_CLAIM ? left : ENTRY_CLAIM, &rd);
    }
    mp_entry_reader_free(&rd);
}

/*
 * The steps of the objects reached from buckets, on every processor: by
 * the time the search and edge_steps are done, the dominators (computed
 * at once on another thread, snapshot_report.c) are mostly done too, and
 * the thread that searched would look at every entry alone. The result
 * does not depend on the number of threads. When edge_steps left some
 * object whose parent is no bucket without its rank (an edge list past
 * 2^32 - 1), an entry may name that object's step: the first entry in
 * order that does so, looked at on this thread alone.
 */
static void entry_steps_all(const mp_graph *g, uint32_t *pv, bool ranks_cut)
{
    size_t n = g->nobjects;
    if (!g->nentries) return;
    if (ranks_cut) {
        mp_entry_cursor c;
        mp_entry_cursor_init(&c, g, 0);
        mp_entry_reader rd = MP_ENTRY_READER_INIT;
        mp_entry en;
        for (size_t j = 0; j < g->nentries && mp_entry_next(&c, &en); j++) {
            if (en.bucket_obj == MP_NONE) continue;
            uint32_t x[MP_ENTRY_MAX_TARGETS];
            size_t nk, nx = mp_entry_targets(g, &rd, &en, x, NULL, &nk);
            for (size_t k = 0; k < nx; k++)
                if (x[k] < n && *pair_first(pv, x[k]) == en.bucket_obj &&
                    *pair_second(pv, x[k]) == MP_NONE)
                    *pair_second(pv, x[k]) = (uint32_t)j;
        }
        mp_entry_cursor_free(&c);
        mp_entry_reader_free(&rd);
        return;
    }
    entry_job j = {.g = g, .pv = pv};
    atomic_init(&j.next, 0);
    unsigned nt = g->nentries > ENTRY_CLAIM && mp_threads() >= 2 ? 2 : 1;
    mp_parallel(nt, entry_part, &j);
}

/* The objects a claim of edge_steps' work takes (edge_job). */
#define EDGE_CLAIM ((size_t)1 << 16)

/* The steps out of parents shared by threads: each claims the next
 * EDGE_CLAIM objects (as parents) until none are left, after every pair's
 * root was moved out and its step cleared (the clear of one range must not
 * come after a parent of another range has set its child's step). */
typedef struct edge_job {
    const mp_graph *g;
    uint32_t *pv;           /* (parent, root) pairs, then (parent, step) */
    uint32_t *root;         /* the roots, moved out of the pairs */
    _Atomic size_t next;    /* the first object no thread has claimed */
    _Atomic uint64_t bytes; /* the reached objects' sizes, summed */
    atomic_bool cut;        /* some parent's ranks were cut */
} edge_job;

/* Each pair's root into root[] (the spent queue) and its second word to
 * MP_NONE, the step not known: part t of n in order, in one sequential
 * pass over both arrays. */
static void edge_clear(void *arg, unsigned t, unsigned nt)
{
    edge_job *j = arg;
    size_t n = j->g->nobjects, lo = n / nt * t, hi = t + 1 == nt ? n : n / nt * (t + 1);
    uint32_t *pv = j->pv, *root = j->root;
    for (size_t i = lo; i < hi; i++) {
        root[i] = pv[2 * i + 1];
        pv[2 * i + 1] = MP_NONE;
    }
}

/*
 * The steps out of parents lo .. hi - 1: each reached one that holds no
 * buckets sets, for every child its path takes (parent[w] is it), the rank
 * of its first out edge to the child. Only a child's own parent writes its
 * step, so ranges on different threads write disjoint slots. Returns the
 * bytes of the reached objects among lo .. hi - 1.
 */
static uint64_t edge_range(const mp_graph *g, uint32_t *pv, const uint32_t *root, size_t lo,
                           size_t hi, bool *cut)
{
    uint64_t bytes = 0;
    const uint32_t *adj = g->out.adj;
    for (size_t v = lo; v < hi; v++) {
        if (root[v] == MP_NONE) continue;
        bytes += mp_obj_size(g, (uint32_t)v);
        if (g->bucket_bits && mp_bit(g->bucket_bits, v)) continue;
        uint64_t b = mp_out_begin(g, v), end = mp_out_end(g, v);
        if (end - b > MP_NONE) { /* ranks past 2^32 - 1 are not kept */
            end = b + MP_NONE;
            *cut = true;
        }
        for (uint64_t e = b; e < end; e++) {
            if (e + 16 < end) __builtin_prefetch(pair_first(pv, adj[e + 16]));
            uint32_t w = adj[e];
            if (*pair_first(pv, w) == v && *pair_second(pv, w) == MP_NONE)
                *pair_second(pv, w) = (uint32_t)(e - b);
        }
    }
    return bytes;
}

static void edge_part(void *arg, unsigned t, unsigned nt)
{
    (void)t, (void)nt;
    edge_job *j = arg;
    size_t n = j->g->nobjects;
    uint64_t bytes = 0;
    bool cut = false;
    for (;;) {
        size_t lo = atomic_fetch_add_explicit(&j->next, EDGE_CLAIM, memory_order_relaxed);
        if (lo >= n) break;
        bytes +=
            edge_range(j->g, j->pv, j->root, lo, n - lo < EDGE_CLAIM ? n : lo + EDGE_CLAIM, &cut);
    }
    atomic_fetch_add_explicit(&j->bytes, bytes, memory_order_relaxed);
    if (cut) atomic_store_explicit(&j->cut, true, memory_order_relaxed);
}

/*
 * The roots out of the search's pairs (into `root`), then how each
 * object's path leaves its parent, in the pairs' second words: the rank of the parent's first
 * out edge to it (the one the search followed, as it takes a parent's
 * edges in order and the first reaches the child), MP_NONE from a bucket
 * (entry_steps says which entry) or at a root. One pass over the edges in
 * object order, each child set by its own parent only, so the objects
 * split into ranges among the processors: the thread that searched would
 * walk every edge alone while the dominators' thread (snapshot_report.c),
 * done first on big heaps, waits. The bytes reached are summed on the way
 * (an exact sum in any order): the sizes are read in a stream, where the
 * search's order would read each one from a different place. Returns
 * whether some parent's ranks were cut (a list past 2^32 - 1 edges). The
 * result does not depend on the number of threads.
 */
static bool edge_steps(const mp_graph *g, uint32_t *pv, mp_paths *out)
{
    edge_job j = {.g = g, .pv = pv, .root = out->root};
    atomic_init(&j.next, 0);
    atomic_init(&j.bytes, 0);
    atomic_init(&j.cut, false);
    unsigned nt = g->nobjects > EDGE_CLAIM && mp_threads() >= 2 ? 2 : 1;
    mp_parallel(nt, edge_clear, &j);
    mp_parallel(nt, edge_part, &j);
    out->reached_bytes += atomic_load(&j.bytes);
    return atomic_load(&j.cut);
}

static bool spare_wanted; /* mp_paths_spare_ahead */

/* Off by default (paths.h): the builder then gives the memory back. */
void mp_paths_spare_ahead(bool on)
{
    spare_wanted = on;
}

bool mp_paths_spare_wanted(void)
{
    return spare_wanted;
}

/* The graph's spare memory for one array of the search, taken (NULL when
 * there is none left): it lies in the graph's size block, in memory
 * already, so the search's first writes to it fault nothing in. */
static uint32_t *take_spare(const mp_graph *g)
{
    mp_paths_spare *s = g->paths_spare;
    if (!s || !s->at) return NULL;
    uint32_t *at = s->at;
    s->at = NULL;
    return at;
}

/* The unit the pair block's pages are moved in (split_pairs): 2 MiB, the
 * size of a huge page, so that where the kernel backs the block with huge
 * pages of its own accord (transparent huge pages "always") they move
 * whole rather than being split. */
#define MOVE_BYTES ((size_t)2 << 20)
/* Objects whose parents (or steps) fill one unit. */
#define SPLIT (MOVE_BYTES / sizeof(uint32_t))

/* `bytes` (a multiple of MOVE_BYTES) of fresh memory, mapped at a unit's
 * boundary so that its pages can be moved a unit at a time; NULL when
 * none. Not advised huge pages (zeroed.h says why). */
static uint32_t *map_aligned(size_t bytes)
{
    size_t all = bytes + MOVE_BYTES;
    char *p = mmap(NULL, all, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    uintptr_t a = ((uintptr_t)p + MOVE_BYTES - 1) & ~(uintptr_t)(MOVE_BYTES - 1);
    size_t head = a - (uintptr_t)p;
    if (head) munmap(p, head);
    munmap((char *)a + bytes, all - head - bytes);
    return (uint32_t *)a;
}

/* The bytes of the parent (or step) array the paths map for n objects:
 * whole units, at least one. */
static size_t mapped_bytes(size_t n)
{
    size_t pages = n ? (n + SPLIT - 1) / SPLIT : 1;
    return pages * MOVE_BYTES;
}

/* The pairs' split shared by threads: each claims the next SPLIT objects
 * until none are left. */
typedef struct split_job {
    size_t n;
    uint32_t *pv, *parent, *via;
    _Atomic size_t next;
} split_job;

/*
 * Objects lo .. lo + SPLIT - 1 (those below n) of the pairs into their
 * parents and steps. Their pairs fill two units of the pair block;
 * they are rearranged in place, the parents into the first unit and the
 * steps into the second (buf holds the steps meanwhile), and the two units
 * then move to their places in the parent and via arrays: the kernel moves
 * page table entries, so no page is faulted in, zeroed or copied, and the
 * memory stays what it was. Where the move fails (no mremap, or the kernel
 * refuses) the unit is copied instead, into memory faulted in then.
 */
static void split_one(split_job *j, size_t lo, uint32_t *buf)
{
    size_t m = j->n - lo < SPLIT ? j->n - lo : SPLIT;
    uint32_t *from = j->pv + 2 * lo;
    for (size_t i = 0; i < m; i++) buf[i] = from[2 * i + 1];
    for (size_t i = 0; i < m; i++) from[i] = from[2 * i]; /* i <= 2i: read before written */
    memcpy(from + SPLIT, buf, m * sizeof *buf);
    uint32_t *to[2] = {j->parent + lo, j->via + lo};
    for (int h = 0; h < 2; h++) {
#if defined(__linux__) && defined(MREMAP_FIXED)
        if (mremap(from + h * SPLIT, MOVE_BYTES, MOVE_BYTES, MREMAP_MAYMOVE | MREMAP_FIXED,
                   to[h]) != MAP_FAILED)
            continue;
#endif
        memcpy(to[h], from + h * SPLIT, m * sizeof *buf);
    }
}

static void split_part(void *arg, unsigned t, unsigned nt)
{
    (void)t, (void)nt;
    split_job *j = arg;
    /* a mapping of its own, not malloc's: given back whole when done */
    uint32_t *buf =
        mmap(NULL, MOVE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) buf = NULL;
    for (;;) {
        size_t lo = atomic_fetch_add_explicit(&j->next, SPLIT, memory_order_relaxed);
        if (lo >= j->n) break;
        if (buf) {
            split_one(j, lo, buf);
        } else { /* no room to rearrange in: word by word */
            size_t m = j->n - lo < SPLIT ? j->n - lo : SPLIT;
            for (size_t i = lo; i < lo + m; i++) {
                j->parent[i] = j->pv[2 * i];
                j->via[i] = j->pv[2 * i + 1];
            }
        }
    }
    if (buf) munmap(buf, MOVE_BYTES);
}

/*
 * The (parent, step) pairs at pv (mapped_bytes(n) of each, the pairs
 * mapped) into out->parent and out->via, mapped here; the pair block is
 * unmapped. On both processors: the dominators' thread is done or nearly.
 * -1 when the arrays could not be mapped (pv then left as it was).
 */
static int split_pairs(size_t n, uint32_t *pv, mp_paths *out)
{
    size_t bytes = mapped_bytes(n);
    uint32_t *parent = map_aligned(bytes), *via = parent ? map_aligned(bytes) : NULL;
    if (!via) {
        if (parent) munmap(parent, bytes);
        return -1;
    }
    split_job j = {.n = n, .pv = pv, .parent = parent, .via = via};
    atomic_init(&j.next, 0);
    mp_parallel(n > SPLIT && mp_threads() >= 2 ? 2 : 1, split_part, &j);
    munmap(pv, 2 * bytes); /* what was not moved away */
    out->parent = parent;
    out->via = via;
    out->mapped = bytes;
    return 0;
}

/*
 * The roots of the queue's objects, by runs: the objects the search
 * enqueues while visiting one object take that object's root, so the
 * queue from head to tail is a few runs of one root each, which this ring
 * keeps (oldest first) for the search to read instead of root[] at each
 * object's turn: root[] lies all over memory, and at a hundred million
 * objects each such read waits on a page walk as well as a miss, where
 * the ring is read and written at its two ends. Bounded: when it is full
 * its newest run takes on what comes and says "look in root[]" (a root no
 * object has), so the answers are always root[]'s, at worst read from it.
 * Each run is (end << 32 | root): its positions run from the previous
 * run's end (or before head) up to end, excluded.
 */
#define RUNS_MAX ((size_t)1 << 15)
#define RUN_UNKNOWN MP_NONE
typedef struct root_runs {
    uint64_t *r;
    size_t mask; /* the capacity, a power of two, less one */
    size_t first, count;
} root_runs;

/* The queue positions from the end of the newest run up to `end`
 * (excluded; the new tail) take root `rt`. */
static inline void runs_push(root_runs *q, size_t end, uint32_t rt)
{
    if (q->count) {
        uint64_t *last = &q->r[(q->first + q->count - 1) & q->mask];
        uint32_t was = (uint32_t)*last;
        if (was == rt || q->count > q->mask) {
            *last = (uint64_t)end << 32 | (was == rt ? rt : RUN_UNKNOWN);
            return;
        }
    }
    q->r[(q->first + q->count++) & q->mask] = (uint64_t)end << 32 | rt;
}

/* The root of queue position `at`, one pushed already and no lower than
 * any asked before (the runs it is past are dropped); RUN_UNKNOWN when
 * the ring did not keep it. */
static inline uint32_t runs_at(root_runs *q, size_t at)
{
    while ((q->r[q->first] >> 32) <= at) {
        q->first = (q->first + 1) & q->mask;
        q->count--;
    }
    return (uint32_t)q->r[q->first];
}

/* The search's failure for want of memory: what it holds is let go (the
 * pair block pv, of `bytes`, NULL none). */
static int search_out_of_memory(const mp_graph *g, mp_paths *out, uint32_t *pv, size_t bytes,
                                mf_error *err)
{
    if (pv) munmap(pv, bytes);
    mp_paths_free(out);
    mf_error_set(err, "%s: out of memory searching paths from roots", g->info.name);
    return -1;
}

/* An object is visited once its root is set. The queue is one array of n
 * slots since each object enters it at most once: the root array, which
 * the search does not need while the roots sit in the pairs, and which
 * takes them from the pairs once the queue is spent (edge_steps), so the
 * search costs no memory beyond its result.
 *
 * The search runs once per root kind, in priority order, each one seeded
 * with the roots of that kind and going on from every object earlier kinds
 * left unvisited: whatever a global reaches is explained by a global, at
 * any depth, before a stack word (which conservative scanning makes easy to
 * come by) gets a say. Each object still enters the queue once and each
 * edge is looked at once, so this costs what one search from every root
 * would. */
int mp_paths_compute(const mp_graph *g, mp_paths *out, mf_error *err)
{
    size_t n = g->nobjects;
    if (g->derived.parent) {
        *out = (mp_paths){.parent = (uint32_t *)g->derived.parent,
                          .root = (uint32_t *)g->derived.root,
                          .via = (uint32_t *)g->derived.via,
                          .nreached = g->derived.nreached,
                          .reached_bytes = g->derived.reached_bytes,
                          .borrowed = true,
                          .memo = calloc(1, sizeof *out->memo)};
        return 0;
    }
    out->memo = calloc(1, sizeof *out->memo); /* without it chains walk their paths */
    out->borrowed = false;
    out->parent = out->via = NULL;
    out->mapped = 0;
    out->lent = take_spare(g);
    out->root = out->lent ? out->lent : malloc((n ? n : 1) * sizeof *out->root);
    out->nreached = 0;
    out->reached_bytes = 0;
    size_t pair_bytes = 2 * mapped_bytes(n);
    uint32_t *pv = map_aligned(pair_bytes); /* (parent, root) pairs */
    if (!out->root || !pv) return search_out_of_memory(g, out, pv, pair_bytes, err);
    memset(pv, 0xff, 2 * n * sizeof *pv); /* every parent and root MP_NONE */
    /* the visited set as one bit an object besides the pairs' roots (which
     * say the same): the search asks it at every edge, and the bits of a
     * heap of 100M objects (12 MB) mostly answer from the cache where the
     * pairs (800 MB) would wait on memory; the pairs are then only
     * written, once an object, which the processor waits for less */
    uint8_t *seen = mf_zeroed(n / 8 + 1, 1);
    /* the ring's capacity: no more runs than objects are ever queued */
    root_runs runs = {.mask = 0};
    while (runs.mask + 1 < RUNS_MAX && runs.mask + 1 < n) runs.mask = runs.mask << 1 | 1;
    runs.r = malloc((runs.mask + 1) * sizeof *runs.r);
    if (!seen || !runs.r) {
        free(seen);
        free(runs.r);
        return search_out_of_memory(g, out, pv, pair_bytes, err);
    }
    uint32_t *queue = out->root;
    const uint32_t *adj = g->out.adj;
    size_t head = 0, tail = 0;
    for (size_t r = 0; r < g->nroots;) {
        /* seed the roots of one kind (g->roots is sorted by kind) */
        uint8_t kind = g->roots[r].kind;
        for (; r < g->nroots && g->roots[r].kind == kind; r++) {
            uint32_t t = g->roots[r].target;
            if (t == MP_NONE || mp_bit(seen, t)) continue;
            seen[t >> 3] |= (uint8_t)(1u << (t & 7));
            *pair_second(pv, t) = (uint32_t)r;
            queue[tail++] = t;
            runs_push(&runs, tail, (uint32_t)r);
        }
        /* The queue visits objects scattered over the heap: each step
         * would wait on memory three times (edge range, edges, the root
         * it passes on). Prefetching for the objects a few places further
         * in the queue, in the same order the loop will need them,
         * overlaps those waits; the visiting order and so the result are
         * unchanged. An object without out edges (most of a heap: the
         * keys, values and blobs at the ends of paths) has no list to
         * fetch: its start points into some other object's list, a line
         * and a page walk for nothing (its own start, fetched eight turns
         * before, says so). Within a long edge list (a bucket array holds
         * a map's every entry) the targets' bits are fetched a few edges
         * ahead.
         * The root passed on comes from the runs (root_runs), root[] read
         * only where they lost it. */
        while (head < tail) {
            uint32_t rv = runs_at(&runs, head);
            if (head + 16 < tail) __builtin_prefetch(&g->out.at[queue[head + 16]]);
            if (head + 8 < tail) {
                uint32_t u = queue[head + 8];
                uint64_t ub = mp_out_begin(g, u);
                if (ub != mp_out_end(g, u)) __builtin_prefetch(&adj[ub]);
                if (rv == RUN_UNKNOWN) __builtin_prefetch(pair_second(pv, u));
            }
            if (head + 4 < tail) {
                uint32_t u = queue[head + 4];
                uint64_t b = mp_out_begin(g, u), e = mp_out_end(g, u);
                for (uint64_t k = b; k < e && k < b + 8; k++)
                    __builtin_prefetch(&seen[adj[k] >> 3]);
            }
            uint32_t v = queue[head++];
            if (rv == RUN_UNKNOWN) rv = *pair_second(pv, v);
            size_t queued = tail;
            uint64_t b = mp_out_begin(g, v), end = mp_out_end(g, v);
            for (uint64_t e = b; e < end; e++) {
                if (e + 16 < end) __builtin_prefetch(&seen[adj[e + 16] >> 3]);
                uint32_t w = adj[e];
                if (mp_bit(seen, w)) continue;
                seen[w >> 3] |= (uint8_t)(1u << (w & 7));
                pair_put(pv, w, v, rv);
                queue[tail++] = w;
            }
            if (tail > queued) runs_push(&runs, tail, rv); /* v's children, all at once */
        }
    }
    free(runs.r);
    free(seen);
    out->nreached = tail;
    bool ranks_cut = edge_steps(g, pv, out);
    entry_steps_all(g, pv, ranks_cut);
    if (split_pairs(n, pv, out)) return search_out_of_memory(g, out, pv, pair_bytes, err);
    return 0;
}

uint32_t mp_paths_via_offset(const mp_graph *g, const mp_paths *p, uint32_t o)
{
    if (o >= g->nobjects || p->parent[o] == MP_NONE || p->via[o] == MP_NONE) return MP_NO_OFFSET;
    uint32_t v = p->parent[o];
    if (g->bucket_bits && mp_bit(g->bucket_bits, v)) return MP_NO_OFFSET;
    return mp_edge_offset(g, mp_out_begin(g, v) + p->via[o]);
}

static void memo_free(struct mp_path_memo *m)
{
    if (!m) return;
    mp_u32map_free(&m->at);
    free(m->recs);
    free(m->walk);
    free(m);
}

void mp_paths_free(mp_paths *p)
{
    memo_free(p->memo);
    p->memo = NULL;
    if (!p->borrowed && p->mapped) {
        if (p->parent) munmap(p->parent, p->mapped);
        if (p->via) munmap(p->via, p->mapped);
    } else if (!p->borrowed) {
        if (p->parent != p->lent) free(p->parent);
        if (p->via != p->lent) free(p->via);
    }
    if (!p->borrowed && p->root != p->lent) free(p->root);
    p->borrowed = false;
    p->mapped = 0;
    p->lent = NULL;
    p->parent = p->root = p->via = NULL;
}

size_t mp_paths_chain(const mp_graph *g, const mp_paths *p, uint32_t o, uint32_t *buf, size_t max)
{
    if (o >= g->nobjects || p->root[o] == MP_NONE) return 0;
    size_t len = 0;
    for (uint32_t v = o; v != MP_NONE && len <= g->nobjects; v = p->parent[v]) len++;
    /* fill from the far end: position len-1-k holds the k-th step back from o */
    size_t k = 0;
    for (uint32_t v = o; v != MP_NONE && k < len; v = p->parent[v], k++) {
        size_t pos = len - 1 - k;
        if (pos < max) buf[pos] = v;
    }
    return len;
}

uint32_t mp_paths_through(const mp_graph *g, const mp_paths *p, uint32_t o)
{
    if (o >= g->nobjects) return MP_NONE;
    uint32_t v = p->parent[o], via = p->via[o];
    if (v == MP_NONE || via == MP_NONE || via >= g->nentries) return MP_NONE;
    if (mp_graph_map_of_header(g, v) != MP_NONE) return MP_NONE;
    uint32_t bi = mp_graph_bucket_of(g, v);
    if (bi == MP_NONE || g->buckets[bi].aux) return MP_NONE;
    mp_entry e;
    if (!mp_graph_entry(g, via, &e) || e.map != g->buckets[bi].map || e.bucket_obj != v)
        return MP_NONE;
    return via;
}

static int memo_add(struct mp_path_memo *m, uint32_t o, path_rec r)
{
    if (!MF_GROW(m->recs, m->cap, m->nrecs + 1, 256)) return -1;
    if (m->nrecs >= UINT32_MAX || mp_u32map_put(&m->at, o, (uint32_t)m->nrecs) < 0) return -1;
    m->recs[m->nrecs++] = r;
    return 0;
}

int mp_paths_measure(const mp_graph *g, const mp_paths *p, uint32_t o, size_t *objects,
                     size_t *slots, uint32_t *head_end)
{
    struct mp_path_memo *m = p->memo;
    if (!m || o >= g->nobjects || p->root[o] == MP_NONE) return -1;
    /* up from o to the first object known (or past the root's target) */
    size_t n = 0;
    uint32_t v = o, at;
    while (v != MP_NONE && !mp_u32map_get(&m->at, v, &at)) {
        if (n >= g->nobjects || !MF_GROW(m->walk, m->walk_cap, n + 1, 256))
            return -1; /* (n past the object count: a cycle, corrupt parents) */
        m->walk[n++] = v;
        v = p->parent[v];
    }
    path_rec r = v == MP_NONE ? (path_rec){0, 0, MP_NONE} : m->recs[at];
    /* then down again, each object one deeper than its parent */
    while (n > 0) {
        uint32_t x = m->walk[--n];
        r.depth++;
        if (mp_paths_through(g, p, x) != MP_NONE) r.slots++;
        if (r.depth == MP_PATH_HEAD) r.head_end = x;
        if (memo_add(m, x, r)) return -1;
    }
    *objects = r.depth;
    *slots = r.slots;
    *head_end = r.head_end;
    return 0;
}
