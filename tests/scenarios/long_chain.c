/*
 * tests/scenarios/long_chain.c -- a leaking map at the end of a linked list
 * of 100,000 nodes.
 *
 * TRUTH. One global, `pipeline`, points at the first Node of a singly
 * linked list of 100,000 Nodes (each: next, and a map pointer that only
 * two nodes set). The list is the only way to the maps:
 *   tail_map  map[int64]*Event of node 99,999 (the last): 6,000 events of
 *             512 bytes each, only ever added (a leak). Root: global
 *             pipeline; its chain starts at the root, passes Nodes (100,000
 *             of them: the path has that many steps, however it is shown)
 *             and ends at the map header. A suspect (large_share),
 *             retaining exactly its own objects.
 *   mid_map   map[int64]*Event of node 50,000: 10 events, no suspect,
 *             retaining exactly its own objects; root: global pipeline.
 * The depth is the program's: an analysis that recursed along paths or the
 * dominator tree would exhaust its stack here, in every build.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { NODES = 100000, MID = 50000, EVENTS = 6000, SMALL = 10, PAYLOAD = 512 };

typedef struct Node {
    struct Node *next;
    mr_map *table;
    int64_t seq;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next), MR_FIELD(Node, table));

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type tail_type = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type mid_type = {"map[int64]*MidEvent", MR_KEY_INT64, NULL, &mr_type_pointer};

static Node *pipeline;
MR_GLOBAL(pipeline)

/* The nodes' maps, for the truth lines (plain statics are no roots). */
static uintptr_t tail_addr, mid_addr;

__attribute__((noinline)) static void build(void)
{
    pipeline = mr_new(&node_type);
    Node *n = pipeline;
    for (int64_t i = 1; i < NODES; i++) {
        n->next = mr_new(&node_type);
        n = n->next;
        n->seq = i;
        if (i == MID) {
            n->table = mr_map_new(&mid_type, 0);
            sc_fill(n->table, &event_type, 0, SMALL, PAYLOAD);
            mid_addr = (uintptr_t)n->table;
        }
    }
    n->table = mr_map_new(&tail_type, 0);
    sc_fill(n->table, &event_type, 0, EVENTS, PAYLOAD);
    tail_addr = (uintptr_t)n->table;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tail_map", (const mr_map *)tail_addr);
    sc_truth_map(snapshot, "mid_map", (const mr_map *)mid_addr);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
