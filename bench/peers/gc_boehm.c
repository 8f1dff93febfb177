/*
 * bench/peers/gc_boehm.c -- Boehm-Demers-Weiser's collector (libgc) on the
 * linked-list heap of bench/rt_mix.c's "list" group, built the same way:
 * 5M nodes of {next, a, b} (24 bytes; libgc rounds them to 32) allocated one
 * after the other, each pointing at the one made before, the last rooted in
 * one global. Boehm scans conservatively: a peer for the mark speed of a C
 * collector without type information.
 *
 * What is measured, so that both sides do the same work:
 *   - marker threads: libgc starts its parallel markers only when the
 *     program makes its first thread, which this one never does; it starts
 *     them explicitly (GC_start_mark_threads), so that Boehm, like
 *     libmaprt (MR_GC_THREADS, default the CPUs), marks on as many threads
 *     as it would by default: GC_MARKERS, else one per CPU. A chain gives
 *     parallel markers nothing to share, so the figure barely moves either
 *     way; the INFO line names the number used.
 *   - the heap: no GC_INITIAL_HEAP_SIZE; the heap grows while the list is
 *     built, then one untimed GC_gcollect settles it, so every timed
 *     collection sees the same heap of the same shape (the list alone).
 *   - a timed run is one GC_gcollect: a full stop-the-world collection. It
 *     first finishes the lazy sweep of the previous cycle (all of it: a
 *     full collection does not start with blocks left to reclaim), then
 *     marks from the roots: a sweep of the whole heap and a mark of the
 *     whole list, as a timed mr_gc() does.
 * Results: the median wall time of the timed runs, and their median CPU
 * time (every thread of the process), which a busy neighbour on a shared
 * machine disturbs far less.
 *
 * usage: gc_boehm [-runs N] list
 * Output as bench/rt_mix.c's: "RESULT gc_full_list_5M ns/op <median>" and
 * "RESULT gc_cpu_list_5M ns/op <median>".
 */
#include "../bench.h"

#define GC_THREADS
#include <gc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LIST_NODES = 5000000, MAX_RUNS = 64 };

typedef struct Node {
    struct Node *next;
    int64_t a, b;
} Node;

static Node *list_head;

int main(int argc, char **argv)
{
    int nruns = 5, first = 1;
    if (argc > 2 && strcmp(argv[1], "-runs") == 0) {
        nruns = atoi(argv[2]);
        first = 3;
    }
    if (nruns < 1 || nruns > MAX_RUNS || first >= argc || strcmp(argv[first], "list") != 0) {
        fprintf(stderr, "usage: gc_boehm [-runs N (1..%d)] list\n", MAX_RUNS);
        return 2;
    }
    GC_INIT();
    GC_start_mark_threads();
    Node *prev = NULL;
    for (int64_t i = 0; i < LIST_NODES; i++) {
        Node *n = GC_MALLOC(sizeof *n);
        n->next = prev;
        n->a = i;
        prev = n;
    }
    list_head = prev;
    prev = NULL;
    GC_gcollect();
    double t[MAX_RUNS], cpu[MAX_RUNS];
    for (int r = 0; r < nruns; r++) {
        uint64_t t0 = now_ns(), c0 = cpu_ns();
        GC_gcollect();
        t[r] = (double)(now_ns() - t0);
        cpu[r] = (double)(cpu_ns() - c0);
    }
    double mc = median(cpu, nruns);
    printf("INFO boehm list: %d nodes, heap %.1f MiB, %d marker threads, "
           "collection CPU time %.1f ms\n",
           LIST_NODES, (double)GC_get_heap_size() / 1048576.0, GC_get_parallel() + 1, mc / 1e6);
    bench_result("gc_full_list_5M", "ns/op", t, nruns);
    bench_result("gc_cpu_list_5M", "ns/op", cpu, nruns);
    return list_head == NULL;
}
