/*
 * tests/scenarios/cycles.c -- a leaking map inside cycles, and a map kept
 * only by a cycle that nothing reaches.
 *
 * TRUTH. The global `ring` points at node 0 of a doubly linked ring of 64
 * Nodes. Node 40 has a map[int64]*Packet of 20,000 packets (a leak: they
 * are never removed); every Packet points back at node 40 (its owner) and
 * at the map's own header, and owns a 256-byte payload.
 *
 *   packets  root: global ring. Chain: ring -> node 0 -> 24 more nodes,
 *            going backwards round the ring (0, 63, 62, ..., 40: the
 *            shortest way) -> the map header. A suspect (large_share). It
 *            retains its header, buckets, packets and payloads -- not the
 *            nodes its packets point back to, which the ring reaches anyway.
 *   garbage  a second ring of 16 nodes with a map of 5,000 packets, built
 *            by a thread that has exited: only the cycle refers to it, so it
 *            is garbage and no snapshot has it.
 *
 * Snapshots "held" (in-process, from main) and "exit" see the same heap.
 */
#include "scenario.h"

enum { NODES = 64, HOLDER = 40, PACKETS = 20000, GARBAGE_NODES = 16, GARBAGE_PACKETS = 5000 };

typedef struct Node {
    struct Node *next, *prev;
    int64_t id;
    mr_map *packets;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next), MR_FIELD(Node, prev), MR_FIELD(Node, packets));

typedef struct Packet {
    int64_t seq;
    Node *owner;
    mr_map *home;
    uint8_t *payload;
} Packet;
MR_TYPE(packet_type, Packet, MR_FIELD(Packet, owner), MR_FIELD(Packet, home),
        MR_FIELD(Packet, payload));

static const mr_map_type packets_type = {"map[int64]*Packet", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type garbage_type = {"map[int64]*GarbagePacket", MR_KEY_INT64, NULL,
                                         &mr_type_pointer};

static Node *ring;
MR_GLOBAL(ring)

/* A ring of n nodes whose node `holder` has a map of npackets; returns node
 * 0, and the map in *map. */
static Node *make_ring(int n, int holder, const mr_map_type *t, int npackets, mr_map **map)
{
    Node *first = NULL, *last = NULL;
    for (int i = 0; i < n; i++) {
        Node *x = mr_new(&node_type);
        x->id = i;
        if (!first) first = x;
        if (last) {
            last->next = x;
            x->prev = last;
        }
        last = x;
    }
    last->next = first;
    first->prev = last;
    Node *h = first;
    for (int i = 0; i < holder; i++) h = h->next;
    h->packets = mr_map_new(t, 0);
    for (int64_t k = 0; k < npackets; k++) {
        Packet *p = mr_new(&packet_type);
        p->seq = k;
        p->owner = h;
        p->home = h->packets;
        p->payload = mr_alloc_blob(256);
        *(Packet **)mr_map_assign_int(h->packets, k) = p;
    }
    *map = h->packets;
    return first;
}

static uintptr_t garbage_map; /* its address only: no root */

static void *make_garbage(void *arg)
{
    (void)arg;
    mr_map *m;
    make_ring(GARBAGE_NODES, 3, &garbage_type, GARBAGE_PACKETS, &m);
    garbage_map = (uintptr_t)m;
    return NULL;
}

static mr_map *packets;

__attribute__((noinline)) static void build(void)
{
    ring = make_ring(NODES, HOLDER, &packets_type, PACKETS, &packets);
    sc_in_dead_thread(make_garbage);
    sc_truth("any", "garbage", "\"address\": %" PRIuPTR, garbage_map);
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "packets", packets);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
