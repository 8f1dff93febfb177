/*
 * tests/snapshot_wide_heap.c -- a heap shaped to reach every path of the
 * snapshot writer's batched walks (src/collector/snapshot.c), for
 * tests/test_snapshot.sh, which runs it with MAPROOT_SNAPSHOT and
 * MAPROOT_SNAPSHOT_DIGEST like the examples and compares the runtime's own
 * walk with what the reader reads back:
 *   - one object with more pointer fields than an edge batch (a struct of
 *     WIDE fields, so the big-object path must move on inside one element)
 *     and a pointer array longer than a batch, holding live pointers,
 *     interior pointers, NULLs and pointers outside the heap;
 *   - maps whose keys and values point at objects or not: string keys,
 *     pointer keys, values that are NULL or point outside the heap (the map
 *     pass must check those itself, the edge pass having found no edge),
 *     and values too big to be stored inline (indirect).
 * usage: snapshot_wide_heap (writes its snapshot at exit)
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { WIDE = 9000, LONG = 20000, NODES = 3000 };

typedef struct Node {
    struct Node *next;
    int64_t v;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next));

/* WIDE pointer fields, listed at run time (before the first allocation) */
static uint32_t wide_offsets[WIDE];
static mr_type wide_type = {"Wide", WIDE * sizeof(void *), wide_offsets,
                            WIDE,   MR_KIND_STRUCT,        NULL};

typedef struct Big {
    Node *owner;
    char pad[200]; /* > 128 bytes: stored indirectly */
} Big;
MR_TYPE(big_type, Big, MR_FIELD(Big, owner));

static const mr_map_type by_name_type = {"map[string]*Node", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type by_node_type = {"map[*Node]int64", MR_KEY_PTR, &node_type, &mr_type_int64};
static const mr_map_type big_type_map = {"map[int64]Big", MR_KEY_INT64, NULL, &big_type};

static int outside_heap[4]; /* pointers here are no edges */

static void **root; /* [wide object, long array, 3 maps] */
MR_GLOBAL(root)

int main(void)
{
    for (uint32_t i = 0; i < WIDE; i++) wide_offsets[i] = i * (uint32_t)sizeof(void *);
    root = mr_new_array(&mr_type_pointer, 5);
    Node **nodes = mr_new_array(&mr_type_pointer, NODES); /* keeps the nodes alive */
    root[1] = nodes;
    for (int i = 0; i < NODES; i++) {
        nodes[i] = mr_new(&node_type);
        nodes[i]->v = i;
        nodes[i]->next = i ? nodes[i - 1] : NULL;
    }
    void **wide = mr_new(&wide_type);
    root[0] = wide;
    for (int i = 0; i < WIDE; i++) {
        switch (i % 4) {
        case 0:
            wide[i] = nodes[(i * 7) % NODES];
            break;
        case 1:
            wide[i] = (char *)nodes[(i * 13) % NODES] + 8;
            break; /* interior */
        case 2:
            wide[i] = NULL;
            break;
        default:
            wide[i] = &outside_heap[i % 4];
            break;
        }
    }
    void **longarr = mr_new_array(&mr_type_pointer, LONG);
    wide[2] = longarr; /* reachable through the wide object */
    for (int i = 0; i < LONG; i++)
        longarr[i] = i % 3 == 0 ? (void *)nodes[i % NODES] : i % 3 == 1 ? NULL : outside_heap;
    mr_map *by_name = mr_map_new(&by_name_type, 0);
    mr_map *by_node = mr_map_new(&by_node_type, 0);
    mr_map *bigs = mr_map_new(&big_type_map, 0);
    root[2] = by_name;
    root[3] = by_node;
    root[4] = bigs;
    for (int i = 0; i < NODES; i++) {
        mr_str k = mr_str_printf("node-%d", i);
        void *v = i % 3 == 0 ? (void *)nodes[i] : i % 3 == 1 ? NULL : (void *)outside_heap;
        *(void **)mr_map_assign_str(by_name, k) = v;
        Node *key = nodes[i];
        *(int64_t *)mr_map_assign(by_node, &key) = i;
        Big *b = mr_map_assign_int(bigs, i);
        b->owner = i % 2 ? nodes[i] : NULL;
    }
    nodes = NULL;
    wide = longarr = NULL;
    by_name = by_node = bigs = NULL;
    printf("wide heap: %d nodes, %d+%d pointer fields\n", NODES, WIDE, LONG);
    return 0;
}
