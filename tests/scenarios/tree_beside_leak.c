/*
 * tests/scenarios/tree_beside_leak.c -- the largest retained set of a heap
 * is a tree that holds no map at all, next to a leaking map.
 *
 * TRUTH. The global `tree` holds the root of a complete binary tree of
 * 2,047 TreeNodes (11 levels), each with a 256-byte payload, a pointer to
 * its parent (a cycle with each child) and, for the 1,024 leaves, a
 * pointer to the next leaf left to right. The global `sessions` holds a
 * map[int64]*Session of 600 sessions (each with a 64-byte blob) that is
 * only ever added to: a leak, and a smaller one than the tree. Snapshots
 * "held" and "exit" see the same heap:
 *   dominators  the tree's root first, retaining the whole tree; below it
 *               its left child, retaining the left half. The right child
 *               retains only itself and its payload: the left half's last
 *               leaf points to the right half's leftmost leaf, and from
 *               there the parent pointers lead up to the right child and
 *               all of its half, so that the root dominates them. Then the
 *               map's header, retaining what the map retains.
 *   by type     TreeNode: 2,047 objects retaining the whole tree; Session:
 *               600 objects retaining themselves and their blobs.
 *   path        --type TreeNode: one shape (the global, then a run of
 *               TreeNodes), its example the root itself (1 object); the last
 *               leaf: one root, its shortest way down the parents (11
 *               objects), not along the leaves.
 *   maps        the map is a leak suspect all the same.
 */
#include "scenario.h"

enum {
    LEVELS = 11,
    NODES = (1 << LEVELS) - 1,
    LEAVES = 1 << (LEVELS - 1),
    PAYLOAD = 256,
    SESSIONS = 600,
    SESSION_BLOB = 64
};

typedef struct TreeNode {
    struct TreeNode *left, *right, *parent, *next_leaf;
    uint8_t *payload;
} TreeNode;
MR_TYPE(node_type, TreeNode, MR_FIELD(TreeNode, left), MR_FIELD(TreeNode, right),
        MR_FIELD(TreeNode, parent), MR_FIELD(TreeNode, next_leaf), MR_FIELD(TreeNode, payload));

SC_ITEM_TYPE(session_type, Session);
static const mr_map_type sessions_type = {"map[int64]*Session", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

static TreeNode *tree;
static mr_map *sessions;
MR_GLOBAL(tree)
MR_GLOBAL(sessions)

/* addresses only, in heap order (node i's children are 2i+1, 2i+2) */
static uintptr_t nodes[NODES];
static uintptr_t session_objs[SESSIONS];

__attribute__((noinline)) static void build(void)
{
    for (int i = 0; i < NODES; i++) {
        TreeNode *n = mr_new(&node_type);
        n->payload = mr_alloc_blob(PAYLOAD);
        nodes[i] = (uintptr_t)n;
        if (i > 0) {
            TreeNode *p = (TreeNode *)nodes[(i - 1) / 2];
            n->parent = p;
            if (i % 2)
                p->left = n;
            else
                p->right = n;
        }
        if (i == 0) tree = n;
    }
    for (int i = NODES - LEAVES; i + 1 < NODES; i++)
        ((TreeNode *)nodes[i])->next_leaf = (TreeNode *)nodes[i + 1];
    sessions = mr_map_new(&sessions_type, 0);
    for (int64_t k = 0; k < SESSIONS; k++) {
        sc_item *s = sc_new_item(&session_type, k, SESSION_BLOB);
        *(sc_item **)mr_map_assign_int(sessions, k) = s;
        session_objs[k] = (uintptr_t)s;
    }
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    /* the right half's leftmost leaf: right child (2), then left children */
    int leftmost = 2;
    while (2 * leftmost + 1 < NODES) leftmost = 2 * leftmost + 1;
    sc_truth_object(snapshot, "root", tree);
    sc_truth_object(snapshot, "left", tree->left);
    sc_truth_object(snapshot, "right", tree->right);
    sc_truth_object(snapshot, "right_leftmost", (void *)nodes[leftmost]);
    sc_truth_type(snapshot, "TreeNode", (void *const *)nodes, NODES);
    sc_truth_type(snapshot, "Session", (void *const *)session_objs, SESSIONS);
    sc_truth_map(snapshot, "sessions", sessions);
    sc_truth_reach(snapshot, "last_leaf", (void *)nodes[NODES - 1], 1);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
