/*
 * bench/rt_bench.c -- libmaprt's side of the runtime benchmark.
 *
 * bench/peers/rt_bench.go runs the same workloads on the Go runtime; the two
 * programs must stay in step (same key sets, same operation order, same
 * object shapes), since bench/run-rt.sh prints the ratio of their figures.
 *
 * usage: rt_bench [-runs N] GROUP...   GROUP: int | str | gc | flat | alloc | block
 *   int    insert, lookup hit, lookup miss, iterate, delete on 1M int64 keys
 *          (map[int64]int64; keys are splitmix64(i), misses splitmix64(N+i))
 *   str    the same on 1M string keys "key-<i>" (map[string]int64; misses
 *          are "key-<N+i>"), all keys built before timing
 *   gc     one full collection of a heap of 5M small objects linked from maps:
 *          50 maps of 100k entries map[int64]*Node, Node = {next, val}, each
 *          node's next pointing at the previous node of its map
 *   flat   one full collection of a heap that is one pointer-free map
 *          (map[int64]int64, keys splitmix64(i), value i): 10M entries
 *          (2^21 buckets, few overflow buckets), then 6,815,744 entries
 *          (2^20 buckets at Go's load limit of 6.5 per bucket: about one
 *          bucket in five has an overflow bucket)
 *   alloc  allocation of 32-byte objects with one pointer field, each stored
 *          in a ring of 1024 slots (so all but the last 1024 are garbage)
 *   block  a getpid system call bracketed as the blocking rule asks
 *          (mr_blocking_enter, getpid, mr_blocking_exit), against Go's
 *          syscall.Syscall, which brackets it with entersyscall/exitsyscall;
 *          and (INFO) the bracket alone, enter and exit with nothing between
 * Each workload runs N times (default 5); the median is reported.
 *
 * WARM-UP. The map and alloc workloads run once untimed before their N
 * timed runs, as the Go peer's do: the first run of a process is the first
 * to touch its heap's pages, and on a virtual machine a page the host took
 * back costs tens of microseconds to touch again -- a cost that would fall
 * on whichever side happened to touch fresh memory, not on the operations
 * measured. After the warm-up both heaps have grown to what the workload
 * needs and their pages have been touched.
 *
 * Output, one line per figure, the same as the Go peer's:
 *   RESULT <workload> <unit> <median> <run>...   (unit: ns/op; runs ascending)
 *   INFO <text>                             (context, not compared)
 */
#include "maproot/rt.h"

#include "bench.h" /* after rt.h: its pause helper needs it */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
    MAP_KEYS = 1000000,
    GC_MAPS = 50,
    GC_ENTRIES = 100000,
    FLAT_ENTRIES = 10000000,
    FLAT_OVF_ENTRIES = 13 << 19, /* 6.5 per bucket in 2^20 buckets: no doubling yet */
    ALLOC_COUNT = 10000000,
    ALLOC_RING = 1024,
    BLOCK_COUNT = 200000,
    MAX_RUNS = 64,
};

static int nruns = 5;

/* Results are folded into this so that no timed loop can be optimized away. */
static volatile uint64_t sink;

static void result(const char *name, double *samples)
{
    bench_result(name, "ns/op", samples, nruns);
}

/* ------------------------------------------------------------------ maps -- */

static const mr_map_type int_map_type = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};
static const mr_map_type str_map_type = {"map[string]int64", MR_KEY_STRING, NULL, &mr_type_int64};

/* The map under test and the string keys: globals, so they are precise roots. */
static mr_map *bench_map;
MR_GLOBAL(bench_map)
static mr_str *str_keys;
MR_GLOBAL(str_keys)

/* Per-workload samples of one group, in ns per operation. */
typedef struct map_samples {
    double insert[MAX_RUNS], hit[MAX_RUNS], miss[MAX_RUNS], iterate[MAX_RUNS], del[MAX_RUNS];
} map_samples;

/*
 * One run of the five map workloads over keys (2*MAP_KEYS of key_size bytes:
 * the first half present, the second half absent). Why one function for both
 * key kinds: the timed loops are then identical, as they are in Go where only
 * the map's key type differs.
 */
static void map_run(const mr_map_type *t, const char *keys, size_t key_size, map_samples *s, int r)
{
    const size_t n = MAP_KEYS;
    uint64_t sum = 0, t0;

    bench_map = mr_map_new(t, 0);
    t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        *(int64_t *)mr_map_assign(bench_map, keys + i * key_size) = (int64_t)i;
    s->insert[r] = (double)(now_ns() - t0) / (double)n;

    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        const int64_t *v = mr_map_lookup(bench_map, keys + i * key_size);
        if (v) sum += (uint64_t)*v;
    }
    s->hit[r] = (double)(now_ns() - t0) / (double)n;

    t0 = now_ns();
    for (size_t i = n; i < 2 * n; i++) {
        const int64_t *v = mr_map_lookup(bench_map, keys + i * key_size);
        if (v) sum += (uint64_t)*v;
    }
    s->miss[r] = (double)(now_ns() - t0) / (double)n;

    size_t seen = 0;
    mr_map_iter it;
    t0 = now_ns();
    mr_map_iter_init(&it, bench_map);
    while (mr_map_iter_next(&it)) {
        sum += (uint64_t) * (const int64_t *)it.value;
        seen++;
    }
    s->iterate[r] = (double)(now_ns() - t0) / (double)n;
    if (seen != n || mr_map_len(bench_map) != n) {
        fprintf(stderr, "rt_bench: map has %zu entries, iteration saw %zu, want %zu\n",
                mr_map_len(bench_map), seen, n);
        exit(1);
    }

    t0 = now_ns();
    for (size_t i = 0; i < n; i++) mr_map_delete(bench_map, keys + i * key_size);
    s->del[r] = (double)(now_ns() - t0) / (double)n;
    if (mr_map_len(bench_map) != 0) {
        fprintf(stderr, "rt_bench: %zu entries left after deleting all\n", mr_map_len(bench_map));
        exit(1);
    }
    bench_map = NULL;
    sink += sum;
}

static void report_maps(const char *suffix, map_samples *s)
{
    char name[64];
    snprintf(name, sizeof name, "map_insert_%s", suffix);
    result(name, s->insert);
    snprintf(name, sizeof name, "map_lookup_hit_%s", suffix);
    result(name, s->hit);
    snprintf(name, sizeof name, "map_lookup_miss_%s", suffix);
    result(name, s->miss);
    snprintf(name, sizeof name, "map_iterate_%s", suffix);
    result(name, s->iterate);
    snprintf(name, sizeof name, "map_delete_%s", suffix);
    result(name, s->del);
}

static void bench_int(void)
{
    int64_t *keys = malloc(2 * MAP_KEYS * sizeof *keys);
    map_samples *s = calloc(1, sizeof *s);
    if (!keys || !s) abort();
    for (size_t i = 0; i < 2 * (size_t)MAP_KEYS; i++) keys[i] = (int64_t)splitmix64(i);
    /* One untimed run first (its figures are overwritten): see WARM-UP in
     * the header. */
    map_run(&int_map_type, (const char *)keys, sizeof *keys, s, 0);
    for (int r = 0; r < nruns; r++) map_run(&int_map_type, (const char *)keys, sizeof *keys, s, r);
    report_maps("int", s);
    free(keys);
    free(s);
}

static void bench_str(void)
{
    map_samples *s = calloc(1, sizeof *s);
    if (!s) abort();
    str_keys = mr_new_array(&mr_type_str, 2 * (size_t)MAP_KEYS);
    for (size_t i = 0; i < 2 * (size_t)MAP_KEYS; i++) str_keys[i] = mr_str_printf("key-%zu", i);
    mr_gc(); /* start every group from a collected heap, as the Go peer does */
    map_run(&str_map_type, (const char *)str_keys, sizeof *str_keys, s, 0); /* warm-up */
    for (int r = 0; r < nruns; r++)
        map_run(&str_map_type, (const char *)str_keys, sizeof *str_keys, s, r);
    report_maps("str", s);
    str_keys = NULL;
    free(s);
}

/* -------------------------------------------------------------------- gc -- */

typedef struct Node {
    struct Node *next;
    int64_t val;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next));

static const mr_map_type node_map_type = {"map[int64]*Node", MR_KEY_INT64, NULL, &mr_type_pointer};

/* The maps of the gc workload, in one array object. */
static mr_map **gc_maps;
MR_GLOBAL(gc_maps)

static void bench_gc(void)
{
    double samples[MAX_RUNS];
    gc_maps = mr_new_array(&mr_type_pointer, GC_MAPS);
    for (int64_t m = 0; m < GC_MAPS; m++) {
        gc_maps[m] = mr_map_new(&node_map_type, 0);
        Node *prev = NULL;
        for (int64_t i = 0; i < GC_ENTRIES; i++) {
            Node *n = mr_new(&node_type);
            n->next = prev;
            n->val = m * GC_ENTRIES + i;
            *(Node **)mr_map_assign(gc_maps[m], &n->val) = n;
            prev = n;
        }
    }
    mr_gc(); /* warm-up: everything allocated is now swept and counted */
    for (int r = 0; r < nruns; r++) {
        uint64_t t0 = now_ns();
        mr_gc();
        samples[r] = (double)(now_ns() - t0);
    }
    mr_memstats st;
    mr_read_memstats(&st);
    printf("INFO maproot gc heap: %" PRIu64 " objects, %.1f MiB live in %.1f MiB of spans\n",
           st.heap_objects, (double)st.heap_alloc / (1 << 20), (double)st.heap_inuse / (1 << 20));
    result("gc_full_5M", samples);
    double pauses[MAX_RUNS];
    bench_report_pauses("gc", nruns, pauses);
    result("gc_pause_5M", pauses);
    gc_maps = NULL;
}

/* ------------------------------------------------------------------ flat -- */

/* The map of the flat workload: a global, so a precise root. */
static mr_map *flat_map;
MR_GLOBAL(flat_map)

static void count_overflow(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)bucket, (void)old, (void)index;
    if (overflow) (*(uint64_t *)ud)++;
}

/* Builds a map[int64]int64 of n entries and times full collections of a
 * heap that holds nothing else: the buckets of a pointer-free map hold no
 * pointer a collection needs to read. */
static void flat_run(const char *name, size_t n)
{
    double samples[MAX_RUNS];
    flat_map = mr_map_new(&int_map_type, 0);
    for (size_t i = 0; i < n; i++) {
        int64_t k = (int64_t)splitmix64(i);
        *(int64_t *)mr_map_assign(flat_map, &k) = (int64_t)i;
    }
    mr_gc(); /* warm-up, as in the gc workload */
    for (int r = 0; r < nruns; r++) {
        uint64_t t0 = now_ns();
        mr_gc();
        samples[r] = (double)(now_ns() - t0);
    }
    mr_map_info info;
    uint64_t overflow = 0;
    mr_stop_the_world();
    mr_map_get_info(flat_map, &info);
    mr_map_walk(flat_map, count_overflow, NULL, &overflow);
    mr_start_the_world();
    printf("INFO maproot %s: %zu entries, B=%u, %" PRIu64 " overflow buckets\n", name,
           mr_map_len(flat_map), info.B, overflow);
    result(name, samples);
    flat_map = NULL;
    mr_gc();
}

static void bench_flat(void)
{
    flat_run("gc_full_flat_10M", FLAT_ENTRIES);
    flat_run("gc_full_flat_ovf", FLAT_OVF_ENTRIES);
}

/* ----------------------------------------------------------------- alloc -- */

typedef struct Obj {
    struct Obj *next;
    int64_t a, b, c;
} Obj;
MR_TYPE(obj_type, Obj, MR_FIELD(Obj, next));

/* Anchors (long-lived targets of the pointer field) and the ring of the most
 * recent objects. Pointing at anchors rather than at older ring objects keeps
 * the live set bounded. */
static Obj **anchors;
MR_GLOBAL(anchors)
static Obj **ring;
MR_GLOBAL(ring)

static void bench_alloc(void)
{
    double samples[MAX_RUNS];
    anchors = mr_new_array(&mr_type_pointer, ALLOC_RING);
    ring = mr_new_array(&mr_type_pointer, ALLOC_RING);
    for (int i = 0; i < ALLOC_RING; i++) anchors[i] = mr_new(&obj_type);
    mr_gc();
    for (int r = -1; r < nruns; r++) { /* run -1: the untimed warm-up */
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < ALLOC_COUNT; i++) {
            Obj *o = mr_new(&obj_type);
            o->next = anchors[i % ALLOC_RING];
            o->a = (int64_t)i;
            ring[i % ALLOC_RING] = o;
        }
        if (r >= 0) samples[r] = (double)(now_ns() - t0) / ALLOC_COUNT;
    }
    mr_memstats st;
    mr_read_memstats(&st);
    printf("INFO maproot alloc: %u collections during the alloc workload\n", st.num_gc);
    result("alloc_32B", samples);
    anchors = ring = NULL;
}

/* -------------------------------------------------------------- blocking -- */

/* The price of the blocking rule, per system call and per bracket. */
static void bench_block(void)
{
    double sys[MAX_RUNS], bare[MAX_RUNS], fastest = 1e300;
    uint64_t sum = 0;
    for (int r = -1; r < nruns; r++) { /* run -1: the untimed warm-up */
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < BLOCK_COUNT; i++) {
            mr_blocking_enter();
            sum += (uint64_t)syscall(SYS_getpid);
            mr_blocking_exit();
        }
        uint64_t t1 = now_ns();
        for (size_t i = 0; i < BLOCK_COUNT; i++) {
            mr_blocking_enter();
            mr_blocking_exit();
        }
        uint64_t t2 = now_ns();
        if (r >= 0) {
            sys[r] = (double)(t1 - t0) / BLOCK_COUNT;
            bare[r] = (double)(t2 - t1) / BLOCK_COUNT;
            if (bare[r] < fastest) fastest = bare[r];
        }
    }
    sink += sum;
    printf("INFO maproot blocking: mr_blocking_enter + mr_blocking_exit alone %.1f ns a pair "
           "(median; fastest run %.1f)\n",
           median(bare, nruns), fastest);
    result("blocking_getpid", sys);
}

static void print_settings(void)
{
    mr_memstats st;
    mr_read_memstats(&st);
    printf("INFO maproot runs=%d gogc=%d\n", nruns, st.gc_percent);
}

int main(int argc, char **argv)
{
    static const bench_group groups[] = {{"int", bench_int},
                                         {"str", bench_str},
                                         {"gc", bench_gc},
                                         {"flat", bench_flat},
                                         {"alloc", bench_alloc},
                                         {"block", bench_block}};
    return bench_main(argc, argv, "rt_bench", groups, sizeof groups / sizeof *groups, &nruns,
                      MAX_RUNS, print_settings);
}
