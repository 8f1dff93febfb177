/*
 * bench/peers/gc_boehm.c -- Boehm-Demers-Weiser's collector (libgc) on the
 * linked-list heap of bench/rt_mix.c's "list" group: 5M nodes of
 * {next, a, b} (24 bytes) rooted in one global, and one full collection
 * (GC_gcollect) timed per run. Boehm scans conservatively: a peer for the
 * mark speed of a C collector without type information.
 *
 * usage: gc_boehm [-runs N] list
 * Output as bench/rt_mix.c's: "RESULT gc_full_list_5M ns/op <median>".
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
    double t[MAX_RUNS];
    for (int r = 0; r < nruns; r++) {
        uint64_t t0 = now_ns();
        GC_gcollect();
        t[r] = (double)(now_ns() - t0);
    }
    double m = median(t, nruns);
    printf("INFO boehm list: %d nodes, heap %.1f MiB, %d marker threads\n", LIST_NODES,
           (double)GC_get_heap_size() / 1048576.0, GC_get_parallel() ? 2 : 1);
    printf("RESULT gc_full_list_5M ns/op %.2f\n", m);
    return list_head == NULL;
}
