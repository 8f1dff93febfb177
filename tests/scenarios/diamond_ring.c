/*
 * tests/scenarios/diamond_ring.c -- two ways to one object, one of them
 * shorter, and a ring of objects longer than a chain shows whole.
 *
 * TRUTH. The global `start` holds a Hub with two Links: the short way
 * (Link b -> the Target) and the long way (Link c -> Link e -> the same
 * Target). The Target has a 32 KiB blob; each Link a 1 KiB one; Link e is
 * made with another descriptor named Link (larger, as another module's may
 * be): one type for the views all the same. The global
 * `ring` holds Ring r0 of a ring of 40 Rings (r39 points back to r0),
 * each with a 512-byte blob. Two more Rings point at each other and at
 * nothing else: garbage, no live object. Snapshots "held" and "exit" see
 * the same heap:
 *   path        the Target: one root, the short way (hub, b, target: 3
 *               objects), not through c or e. r39: one root, 40 objects
 *               round the ring, a chain of 41 steps shown elided, the same
 *               with --all as without.
 *   dominators  the hub's subtree holds the whole diamond, the Target
 *               right below the hub (neither Link keeps it alone), and the
 *               ring's r0 holds the whole ring, r1 right below it.
 *   by type     Ring: the 40 live Rings (not the garbage pair), retaining
 *               the ring; Link: 3 objects (one row, both descriptors),
 *               retaining themselves and their blobs, not the Target.
 */
#include "scenario.h"

enum { RINGS = 40, RING_BLOB = 512, LINK_BLOB = 1024, TARGET_BLOB = 32 * 1024 };

typedef struct Node {
    struct Node *next, *other;
    uint8_t *blob;
} Node;
/* one layout under four names, as reports show them */
typedef Node Hub, Link, Target, Ring;
MR_TYPE(hub_type, Hub, MR_FIELD(Hub, next), MR_FIELD(Hub, other), MR_FIELD(Hub, blob));
MR_TYPE(link_type, Link, MR_FIELD(Link, next), MR_FIELD(Link, other), MR_FIELD(Link, blob));
MR_TYPE(target_type, Target, MR_FIELD(Target, next), MR_FIELD(Target, other),
        MR_FIELD(Target, blob));
MR_TYPE(ring_type, Ring, MR_FIELD(Ring, next), MR_FIELD(Ring, other), MR_FIELD(Ring, blob));
/* Link e's: another module's descriptor of a Link, larger, of the same name */
typedef struct OtherLink {
    Node node;
    int64_t hits;
} OtherLink;
static const uint32_t other_link_ptrs[] = {offsetof(Node, next), offsetof(Node, other),
                                           offsetof(Node, blob)};
static const mr_type other_link_type = {"Link", sizeof(OtherLink), other_link_ptrs,
                                        3,      MR_KIND_STRUCT,    NULL};

static Hub *start;
static Ring *ring;
MR_GLOBAL(start)
MR_GLOBAL(ring)

/* addresses only: no roots */
static uintptr_t hub, link_b, link_c, link_e, target, rings[RINGS];

static Node *new_node(const mr_type *t, size_t blob)
{
    Node *n = mr_new(t);
    n->blob = mr_alloc_blob(blob);
    return n;
}

/* Two Rings that only point at each other: garbage once this returns. */
__attribute__((noinline)) static void *make_garbage_pair(void *arg)
{
    (void)arg;
    mr_thread_attach();
    Ring *x = new_node(&ring_type, RING_BLOB), *y = new_node(&ring_type, RING_BLOB);
    x->next = y;
    y->next = x;
    mr_thread_detach();
    return NULL;
}

__attribute__((noinline)) static void build(void)
{
    Hub *h = new_node(&hub_type, 16);
    Link *b = new_node(&link_type, LINK_BLOB), *c = new_node(&link_type, LINK_BLOB),
         *e = new_node(&other_link_type, LINK_BLOB);
    Target *t = new_node(&target_type, TARGET_BLOB);
    h->next = b;
    h->other = c;
    b->next = t;
    c->next = e;
    e->next = t;
    start = h;
    hub = (uintptr_t)h, link_b = (uintptr_t)b, link_c = (uintptr_t)c, link_e = (uintptr_t)e;
    target = (uintptr_t)t;
    Ring *prev = NULL;
    for (int i = 0; i < RINGS; i++) {
        Ring *r = new_node(&ring_type, RING_BLOB);
        rings[i] = (uintptr_t)r;
        if (prev) prev->next = r;
        prev = r;
    }
    prev->next = (Ring *)rings[0];
    ring = (Ring *)rings[0];
    sc_in_dead_thread(make_garbage_pair);
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    uintptr_t links[3] = {link_b, link_c, link_e};
    sc_truth_object(snapshot, "hub", (void *)hub);
    sc_truth_object(snapshot, "link_b", (void *)link_b);
    sc_truth_object(snapshot, "link_c", (void *)link_c);
    sc_truth_object(snapshot, "link_e", (void *)link_e);
    sc_truth_object(snapshot, "target", (void *)target);
    sc_truth_object(snapshot, "r0", (void *)rings[0]);
    sc_truth_object(snapshot, "r1", (void *)rings[1]);
    sc_truth_type(snapshot, "Link", (void *const *)links, 3);
    sc_truth_type(snapshot, "Ring", (void *const *)rings, RINGS);
    sc_truth_reach(snapshot, "target_ways", (void *)target, 1);
    sc_truth_reach(snapshot, "r39_ways", (void *)rings[RINGS - 1], 1);
    sc_truth(snapshot, "r39", "\"address\": %" PRIuPTR ", \"chain_steps\": %d", rings[RINGS - 1],
             RINGS + 1);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
