/*
 * tests/scenarios/lru_list.c -- LRU caches built as most are: a map from
 * key to a node of a doubly linked list kept in recency order. One evicts
 * nothing (its capacity check is wrong), the other holds exactly its
 * capacity.
 *
 * TRUTH. Two globals, each pointing at an Lru {map, head, tail, len, cap};
 * a Node {prev, next, key, data}, data a blob of 256 bytes. Every get
 * moves its node to the head; an insert past cap evicts the tail (unlinks
 * it and deletes its key).
 *   sessions  the Lru whose eviction never fires: 20,000 nodes, every one
 *             still in map and list (the leak; about 95% of the heap).
 *             Its map, map[int64]*Node, retains exactly its table: every
 *             node is reached through the list as well as through the map,
 *             so deleting the map would free no node (the runtime's
 *             dominator walk says so). Its entries are all shared
 *             (shared_entries 20,000); what they share is every node and
 *             its data (shared_bytes: each node's own dominator figure,
 *             node and data, as the program checks for a sample of nodes).
 *             A suspect (large_share: it holds the nodes with the list);
 *             its root global sessions, its chain through the Lru.
 *   tokens    the Lru that evicts: 6,000 inserts, 1,000 nodes left (its
 *             capacity), about 5% of the heap: no suspect; it retains
 *             exactly its table.
 * The text report says what the shared values are shared with: the list
 * under the same root (the Lru both are reached through), not "other
 * roots": no other root reaches them.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { SESSIONS = 20000, TOKENS = 1000, TOKEN_WRITES = 6000, DATA = 256 };

typedef struct Node {
    struct Node *prev, *next;
    int64_t key;
    uint8_t *data;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, prev), MR_FIELD(Node, next), MR_FIELD(Node, data));

typedef struct Lru {
    mr_map *map;
    Node *head, *tail;
    size_t len, cap;
} Lru;
MR_TYPE(lru_type, Lru, MR_FIELD(Lru, map), MR_FIELD(Lru, head), MR_FIELD(Lru, tail));

static const mr_map_type index_type = {"map[int64]*Node", MR_KEY_INT64, NULL, &mr_type_pointer};

static Lru *sessions, *tokens;
MR_GLOBAL(sessions)
MR_GLOBAL(tokens)

static void lru_unlink(Lru *l, Node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->prev = n->next = NULL;
}

static void lru_push_front(Lru *l, Node *n)
{
    n->next = l->head;
    if (l->head) l->head->prev = n;
    l->head = n;
    if (!l->tail) l->tail = n;
}

static Lru *lru_new(size_t cap)
{
    Lru *l = mr_new(&lru_type);
    l->map = mr_map_new(&index_type, 0);
    l->cap = cap;
    return l;
}

/* Moves key's node to the front; false when absent. */
static bool lru_get(Lru *l, int64_t key)
{
    Node **slot = mr_map_lookup_int(l->map, key);
    if (!slot) return false;
    Node *n = *slot;
    lru_unlink(l, n);
    lru_push_front(l, n);
    return true;
}

/* Inserts key (a new node at the front); evicts the tail past capacity.
 * broken: the capacity check of the leaking cache (len > cap + len). */
static void lru_put(Lru *l, int64_t key, bool broken)
{
    Node *n = mr_new(&node_type);
    n->key = key;
    n->data = mr_alloc_blob(DATA);
    *(Node **)mr_map_assign_int(l->map, key) = n;
    lru_push_front(l, n);
    l->len++;
    if (broken ? l->len > l->cap + l->len : l->len > l->cap) {
        Node *t = l->tail;
        lru_unlink(l, t);
        mr_map_delete_int(l->map, t->key);
        l->len--;
    }
}

__attribute__((noinline)) static void build(void)
{
    sessions = lru_new(1000);
    for (int64_t k = 0; k < SESSIONS; k++) {
        lru_put(sessions, k, true);
        if (k % 7 == 0) lru_get(sessions, k / 2);
    }
    tokens = lru_new(TOKENS);
    for (int64_t k = 0; k < TOKEN_WRITES; k++) {
        lru_put(tokens, k, false);
        if (k % 5 == 0) lru_get(tokens, k - 3);
    }
    if (mr_map_len(sessions->map) != SESSIONS || mr_map_len(tokens->map) != TOKENS)
        sc_fail("the caches have the wrong counts");
}

/* The bytes the nodes of l hold (each node and its data: each node's own
 * dominator figure, checked on a sample of nodes), and their number. */
static void lru_nodes(const Lru *l, uint64_t *bytes, uint64_t *n)
{
    *bytes = *n = 0;
    mr_stop_the_world();
    for (const Node *x = l->head; x; x = x->next) {
        uint64_t own = mr_object_size(x) + mr_object_size(x->data);
        if (*n % 4999 == 0) {
            void *o = (void *)x;
            if (sc_dominated_set(&o, 1, NULL) != own)
                sc_fail("node %" PRIu64 " is not its own", *n);
        }
        *bytes += own;
        (*n)++;
    }
    mr_start_the_world();
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    uint64_t bytes, n;
    sc_truth_map(snapshot, "sessions", sessions->map);
    lru_nodes(sessions, &bytes, &n);
    sc_truth(snapshot, "sessions", "\"shared_entries\": %" PRIu64 ", \"shared_bytes\": %" PRIu64, n,
             bytes);
    sc_truth_map(snapshot, "tokens", tokens->map);
    lru_nodes(tokens, &bytes, &n);
    sc_truth(snapshot, "tokens", "\"shared_entries\": %" PRIu64 ", \"shared_bytes\": %" PRIu64, n,
             bytes);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
