/*
 * tests/edges_heap.c -- a heap of a chosen number of objects and pointer
 * edges, for tests/test_index.sh's thresholds (an index is written unasked
 * after a load of 1,000,000 objects or 4,000,000 edges): one array of
 * EDGES pointers, element i pointing at node i % NODES, the nodes holding
 * no pointers. The snapshot (MAPROOT_SNAPSHOT) holds the array, the nodes
 * and whatever the runtime allocates itself, which the test measures.
 * usage: edges_heap NODES EDGES
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct Node {
    int64_t v;
} Node;
MR_TYPE_NOPTR(node_type, Node);

static void **arr;
MR_GLOBAL(arr)

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: edges_heap NODES EDGES\n");
        return 2;
    }
    size_t nodes = strtoull(argv[1], NULL, 10), edges = strtoull(argv[2], NULL, 10);
    if (nodes == 0 || edges < nodes) {
        fprintf(stderr, "edges_heap: NODES must be at least 1 and at most EDGES\n");
        return 2;
    }
    arr = mr_new_array(&mr_type_pointer, edges);
    for (size_t i = 0; i < nodes; i++) {
        Node *n = mr_new(&node_type);
        n->v = (int64_t)i;
        arr[i] = n;
    }
    for (size_t i = nodes; i < edges; i++) arr[i] = arr[i % nodes];
    return 0;
}
