/*
 * bench/leakcheck_bench.c -- what a leak check (mrc_leakcheck_begin/end)
 * costs next to the full collection it is built on.
 *
 * A heap of MAPS maps of ENTRIES entries each (an entry: a small struct
 * and a 32-byte blob), beside OTHER objects in a list that no map holds.
 * Automatic collections are off. It times, RUNS times each, a full
 * collection (mr_gc) and a whole check around an empty block (begin + end:
 * two collections and two censuses), and prints one line of medians:
 *   gc_ms check_ms census_ms (per census: (check - 2 gc) / 2)
 *   census_ns_per_entry collections_per_check
 * usage: leakcheck_bench MAPS ENTRIES OTHER RUNS
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct Entry {
    int64_t id;
    uint8_t *blob;
} Entry;
MR_TYPE(entry_type, Entry, MR_FIELD(Entry, blob));

typedef struct Node {
    struct Node *next;
    int64_t v[2];
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next));

static const mr_map_type entries_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map **maps;
static void *maps_obj;
MR_GLOBAL(maps_obj)
static Node *others;
MR_GLOBAL(others)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: leakcheck_bench MAPS ENTRIES OTHER RUNS\n");
        return 2;
    }
    long nmaps = atol(argv[1]), nentries = atol(argv[2]), nother = atol(argv[3]);
    int runs = atoi(argv[4]);
    if (nmaps < 1 || nentries < 0 || nother < 0 || runs < 1 || runs > 1000) return 2;
    mr_set_gc_percent(-1);
    /* the maps, held by a global array object */
    maps_obj = mr_new_array(&mr_type_pointer, (size_t)nmaps);
    maps = maps_obj;
    for (long m = 0; m < nmaps; m++) {
        maps[m] = mr_map_new(&entries_type, (size_t)nentries);
        for (int64_t k = 0; k < nentries; k++) {
            Entry *e = mr_new(&entry_type);
            e->id = k;
            e->blob = mr_alloc_blob(32);
            mr_map_set(maps[m], &k, &e);
        }
    }
    for (long i = 0; i < nother; i++) {
        Node *n = mr_new(&node_type);
        n->next = others;
        others = n;
    }
    mr_gc();
    double *gc = calloc((size_t)runs, sizeof *gc), *check = calloc((size_t)runs, sizeof *check);
    if (!gc || !check) return 1;
    mr_memstats s0, s1;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        mr_gc();
        double t1 = now_ms();
        mrc_leakcheck lc = {0};
        mrc_leak_report rep;
        mr_read_memstats(&s0);
        if (mrc_leakcheck_begin(&lc) != 0) return 1;
        int st = mrc_leakcheck_end(&lc, &rep);
        double t2 = now_ms();
        mr_read_memstats(&s1);
        if (st != 0) {
            fprintf(stderr, "leakcheck_bench: the empty block was judged a leak:\n%s", rep.text);
            return 1;
        }
        mrc_leak_report_free(&rep);
        gc[r] = t1 - t0;
        check[r] = t2 - t1;
    }
    double g = median(gc, runs), c = median(check, runs);
    double census = (c - 2 * g) / 2;
    double total = (double)nmaps * (double)nentries;
    printf("gc_ms=%.3f check_ms=%.3f census_ms=%.3f census_ns_per_entry=%.2f "
           "collections_per_check=%u entries=%.0f other=%ld\n",
           g, c, census, total > 0 ? census * 1e6 / total : 0, s1.num_gc - s0.num_gc, total,
           nother);
    free(gc);
    free(check);
    return 0;
}
