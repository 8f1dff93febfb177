/*
 * bench/rt_mix.c -- libmaprt's side of the second runtime workload.
 *
 * A workload unlike bench/rt_bench.c's, so that no tuning to one key set,
 * one size or one access pattern passes for speed. bench/peers/rt_mix.go
 * runs the same operations on the Go runtime (same keys, same order, same
 * counts); bench/run-rt.sh prints the ratios.
 *
 * usage: rt_mix [-runs N] GROUP...   GROUP: sizes | strlen | list
 *   sizes   map[int64]int64 of 8, 1,000, 100,000 and 10,000,000 entries
 *           (keys splitmix64(i)): insert into an empty map, then as many
 *           lookups in a scattered order with one miss in four, then
 *           delete every key; small maps are built again and again so
 *           every size does at least 4M operations
 *   strlen  map[string]int64 of 200,000 keys of 5, 24 and 72 bytes (a
 *           common prefix, then the number in hex): insert, lookup hit and
 *           delete with *other* string objects of the same content (so
 *           comparing keys reads both strings), lookup miss with keys of
 *           the same length that differ in the last digits
 *   list    a 5M-node singly linked list (Node = {next, a, b}, 24 bytes)
 *           rooted in one global: one full collection of it (its wall time,
 *           and as gc_cpu_list_5M its CPU time, every thread), and its live
 *           heap bytes (reported as RESULT list_live_bytes bytes)
 * The map groups run once untimed before their timed runs (the WARM-UP of
 * bench/rt_bench.c), as the Go peer's do.
 * Output as bench/rt_bench.c's: "RESULT <workload> ns/op <median> <run>...",
 * "INFO".
 */
#include "maproot/rt.h"

#include "bench.h" /* after rt.h: its pause helper needs it */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_RUNS = 64, STR_KEYS = 200000, LIST_NODES = 5000000, MIN_OPS = 4000000 };

static int nruns = 5;
static volatile uint64_t sink;

static void result(const char *name, const char *unit, double *v)
{
    bench_result(name, unit, v, nruns);
}

/* ----------------------------------------------------------------- sizes -- */

static const mr_map_type int_map_type = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};
static mr_map *cur_map;
MR_GLOBAL(cur_map)

/* The i-th of n lookups: a scattered present key, or (one in four) a
 * missing one. The stride is odd and n is a power of ten, so i*stride mod
 * n visits every key. */
static inline uint64_t lookup_key(uint64_t i, uint64_t n)
{
    uint64_t j = (i * 2654435761u) % n;
    return (i & 3) == 3 ? splitmix64(n + j) : splitmix64(j);
}

static void bench_sizes(void)
{
    static const uint64_t sizes[] = {8, 1000, 100000, 10000000};
    static const char *names[] = {"8", "1k", "100k", "10M"};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        uint64_t n = sizes[z], reps = n >= MIN_OPS ? 1 : MIN_OPS / n;
        double ins[MAX_RUNS], look[MAX_RUNS], del[MAX_RUNS];
        for (int r = -1; r < nruns; r++) { /* run -1: the untimed warm-up */
            uint64_t ti = 0, tl = 0, td = 0, sum = 0;
            for (uint64_t k = 0; k < reps; k++) {
                uint64_t t0 = now_ns();
                cur_map = mr_map_new(&int_map_type, 0);
                for (uint64_t i = 0; i < n; i++)
                    *(int64_t *)mr_map_assign_int(cur_map, (int64_t)splitmix64(i)) = (int64_t)i;
                uint64_t t1 = now_ns();
                for (uint64_t i = 0; i < n; i++) {
                    const int64_t *v = mr_map_lookup_int(cur_map, (int64_t)lookup_key(i, n));
                    if (v) sum += (uint64_t)*v;
                }
                uint64_t t2 = now_ns();
                for (uint64_t i = 0; i < n; i++) mr_map_delete_int(cur_map, (int64_t)splitmix64(i));
                uint64_t t3 = now_ns();
                if (mr_map_len(cur_map) != 0) {
                    fprintf(stderr, "rt_mix: %zu entries left\n", mr_map_len(cur_map));
                    exit(1);
                }
                ti += t1 - t0;
                tl += t2 - t1;
                td += t3 - t2;
            }
            cur_map = NULL;
            sink += sum;
            if (r < 0) continue;
            double ops = (double)(n * reps);
            ins[r] = (double)ti / ops;
            look[r] = (double)tl / ops;
            del[r] = (double)td / ops;
        }
        char name[64];
        snprintf(name, sizeof name, "mix_int_%s_insert", names[z]);
        result(name, "ns/op", ins);
        snprintf(name, sizeof name, "mix_int_%s_lookup", names[z]);
        result(name, "ns/op", look);
        snprintf(name, sizeof name, "mix_int_%s_delete", names[z]);
        result(name, "ns/op", del);
    }
}

/* ---------------------------------------------------------------- strlen -- */

static const mr_map_type str_map_type = {"map[string]int64", MR_KEY_STRING, NULL, &mr_type_int64};

/* keys[i] (inserted), probes[i] (other objects, same bytes), misses[i]. */
static mr_str *keys, *probes, *misses;
MR_GLOBAL(keys)
MR_GLOBAL(probes)
MR_GLOBAL(misses)

/* The key of number i with length len: 'k's, then i in hex (5 digits for
 * the shortest keys, 6 otherwise). The same as the Go peer's strKey. */
static mr_str str_key(size_t len, uint64_t i)
{
    char buf[128];
    int digits = len < 6 ? (int)len : 6;
    memset(buf, 'k', len);
    char tail[16];
    snprintf(tail, sizeof tail, "%0*" PRIx64, digits, i);
    memcpy(buf + len - (size_t)digits, tail, (size_t)digits);
    return mr_str_new(buf, len);
}

static void bench_strlen(void)
{
    static const size_t lens[] = {5, 24, 72};
    const size_t n = STR_KEYS;
    for (size_t z = 0; z < sizeof lens / sizeof *lens; z++) {
        size_t len = lens[z];
        keys = mr_new_array(&mr_type_str, n);
        probes = mr_new_array(&mr_type_str, n);
        misses = mr_new_array(&mr_type_str, n);
        for (size_t i = 0; i < n; i++) keys[i] = str_key(len, i);
        for (size_t i = 0; i < n; i++) misses[i] = str_key(len, n + i);
        for (size_t i = 0; i < n; i++) probes[i] = mr_str_new(keys[i].ptr, keys[i].len);
        mr_gc();
        double ins[MAX_RUNS], hit[MAX_RUNS], miss[MAX_RUNS], del[MAX_RUNS];
        for (int r = -1; r < nruns; r++) { /* run -1: the untimed warm-up */
            uint64_t sum = 0;
            uint64_t t0 = now_ns();
            cur_map = mr_map_new(&str_map_type, 0);
            for (size_t i = 0; i < n; i++)
                *(int64_t *)mr_map_assign_str(cur_map, keys[i]) = (int64_t)i;
            uint64_t t1 = now_ns();
            for (size_t i = 0; i < n; i++) {
                const int64_t *v = mr_map_lookup_str(cur_map, probes[(i * 7919) % n]);
                if (v) sum += (uint64_t)*v;
            }
            uint64_t t2 = now_ns();
            for (size_t i = 0; i < n; i++) {
                const int64_t *v = mr_map_lookup_str(cur_map, misses[i]);
                if (v) sum += (uint64_t)*v;
            }
            uint64_t t3 = now_ns();
            for (size_t i = 0; i < n; i++) mr_map_delete_str(cur_map, probes[i]);
            uint64_t t4 = now_ns();
            if (mr_map_len(cur_map) != 0 || sum != (uint64_t)n * (n - 1) / 2) {
                fprintf(stderr, "rt_mix: strlen %zu: wrong map contents\n", len);
                exit(1);
            }
            cur_map = NULL;
            if (r < 0) continue;
            ins[r] = (double)(t1 - t0) / (double)n;
            hit[r] = (double)(t2 - t1) / (double)n;
            miss[r] = (double)(t3 - t2) / (double)n;
            del[r] = (double)(t4 - t3) / (double)n;
        }
        char name[64];
        snprintf(name, sizeof name, "mix_str%zu_insert", len);
        result(name, "ns/op", ins);
        snprintf(name, sizeof name, "mix_str%zu_hit", len);
        result(name, "ns/op", hit);
        snprintf(name, sizeof name, "mix_str%zu_miss", len);
        result(name, "ns/op", miss);
        snprintf(name, sizeof name, "mix_str%zu_delete", len);
        result(name, "ns/op", del);
        keys = probes = misses = NULL;
    }
}

/* ------------------------------------------------------------------ list -- */

typedef struct Node {
    struct Node *next;
    int64_t a, b;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next));

static Node *list_head;
MR_GLOBAL(list_head)

static void bench_list(void)
{
    double t[MAX_RUNS], cpu[MAX_RUNS], live[MAX_RUNS];
    mr_memstats s0, s1;
    mr_gc();
    mr_read_memstats(&s0);
    Node *prev = NULL;
    for (int64_t i = 0; i < LIST_NODES; i++) {
        Node *n = mr_new(&node_type);
        n->next = prev;
        n->a = i;
        prev = n;
    }
    list_head = prev;
    prev = NULL;
    mr_gc();
    mr_read_memstats(&s1);
    for (int r = 0; r < nruns; r++) {
        uint64_t t0 = now_ns(), c0 = cpu_ns();
        mr_gc();
        t[r] = (double)(now_ns() - t0);
        cpu[r] = (double)(cpu_ns() - c0);
        live[r] = (double)(s1.heap_alloc - s0.heap_alloc);
    }
    printf("INFO maproot list: %d nodes, %.1f MiB live, heap in use %.1f MiB, "
           "collection CPU time %.1f ms\n",
           LIST_NODES, (double)(s1.heap_alloc - s0.heap_alloc) / 1048576.0,
           (double)s1.heap_inuse / 1048576.0, median(cpu, nruns) / 1e6);
    result("gc_full_list_5M", "ns/op", t);
    result("gc_cpu_list_5M", "ns/op", cpu);
    double pauses[MAX_RUNS];
    bench_report_pauses("list", nruns, pauses);
    result("gc_pause_list_5M", "ns/op", pauses);
    result("list_live_bytes", "bytes", live);
    list_head = NULL;
}

int main(int argc, char **argv)
{
    static const bench_group groups[] = {
        {"sizes", bench_sizes}, {"strlen", bench_strlen}, {"list", bench_list}};
    return bench_main(argc, argv, "rt_mix", groups, sizeof groups / sizeof *groups, &nruns,
                      MAX_RUNS, NULL);
}
