/*
 * tests/scenarios/token_roots.c -- objects of one type behind a chain
 * through a thread's stack and another through a pin, one of them behind
 * both.
 *
 * TRUTH. A worker thread (thread 2) holds in a volatile local of
 * hold_list a list of 12 Nodes, node i holding token i (a Token with a
 * 2,048-byte blob), and blocks in wait_in_list while main writes the
 * snapshot "held". A Holder, referred to from malloc'd memory through the
 * pin "token holder", holds an array ([]*) of 20 Tokens of its own (each
 * with a 512-byte blob) and token 5 of the list, whose blob is 4,096 bytes.
 * Main builds it all, so that no thread's frames hold more than that.
 *   path --type Token   32 objects in two shapes: the stack's (the list's
 *                       11 other tokens, token 0 the shortest: its node and
 *                       itself, 2 objects) first, then the pin's (21
 *                       tokens, 3 objects: holder, array, token); token 5
 *                       is the pin's, pins coming before stacks.
 *   path --object token 5 --all   two roots: the pin (3 objects) first,
 *                       then hold_list's stack word (nodes 0..5, token 5:
 *                       7 objects).
 *   dominators          node 0 (its root the stack word of hold_list; the
 *                       list and its tokens but token 5), the holder (its
 *                       root the pin; the array and its 20 tokens), then
 *                       token 5, which neither keeps alone: both roots.
 *   by type             Token: 32 objects, retaining every token and its
 *                       blob; Node: 12 objects retaining the list and the
 *                       tokens of the list but token 5.
 * At exit ("exit") the worker is gone: the list is garbage, and every
 * Token left (21) has the pin's path.
 */
#include "scenario.h"

enum { NODES = 12, PINNED = 20, SHARED = 5, LIST_BLOB = 2048, PIN_BLOB = 512, SHARED_BLOB = 4096 };

typedef struct Token {
    int64_t id;
    uint8_t *data;
} Token;
MR_TYPE(token_type, Token, MR_FIELD(Token, data));

typedef struct Node {
    struct Node *next;
    Token *token;
} Node;
MR_TYPE(node_type, Node, MR_FIELD(Node, next), MR_FIELD(Node, token));

typedef struct Holder {
    int64_t n;
    Token **tokens;
} Holder;
MR_TYPE(holder_type, Holder, MR_FIELD(Holder, tokens));

/* addresses only: no roots */
static uintptr_t nodes[NODES], tokens[NODES + PINNED], holder_addr;
static sc_worker worker;

static Token *new_token(int64_t id, size_t blob)
{
    Token *t = mr_new(&token_type);
    t->id = id;
    t->data = mr_alloc_blob(blob);
    return t;
}

__attribute__((noinline)) static void build(void)
{
    Node *next = NULL;
    for (int i = NODES - 1; i >= 0; i--) {
        Node *n = mr_new(&node_type);
        n->next = next;
        n->token = new_token(i, i == SHARED ? SHARED_BLOB : LIST_BLOB);
        nodes[i] = (uintptr_t)n;
        tokens[i] = (uintptr_t)n->token;
        next = n;
    }
    Holder *h = mr_new(&holder_type);
    h->n = PINNED + 1;
    h->tokens = mr_new_array(&mr_type_pointer, PINNED + 1);
    for (int i = 0; i < PINNED; i++) {
        h->tokens[i] = new_token(100 + i, PIN_BLOB);
        tokens[NODES + i] = (uintptr_t)h->tokens[i];
    }
    h->tokens[PINNED] = (Token *)tokens[SHARED];
    holder_addr = (uintptr_t)h;
    mr_pin(h, "token holder");
}

/* Blocks until main has taken its snapshot and measured. */
SC_NOCLONE static void wait_in_list(void)
{
    sc_scrub_stack();
    sc_park(&worker);
}

SC_NOCLONE static void hold_list(void)
{
    Node *volatile head = (Node *)nodes[0];
    wait_in_list();
    if (head->token->id != 0) sc_fail("the list moved");
}

static void *worker_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    sc_scrub_stack();
    hold_list();
    mr_thread_detach();
    return NULL;
}

static void truths(const char *snapshot)
{
    bool held = strcmp(snapshot, "held") == 0;
    if (held) {
        sc_truth_type(snapshot, "Token", (void *const *)tokens, NODES + PINNED);
        sc_truth_type(snapshot, "Node", (void *const *)nodes, NODES);
        sc_truth_object(snapshot, "node0", (void *)nodes[0]);
        sc_truth_object(snapshot, "token0", (void *)tokens[0]);
        sc_truth_reach(snapshot, "shared_ways", (void *)tokens[SHARED], 2);
    } else {
        uintptr_t left[PINNED + 1]; /* the holder's: its own and token 5 */
        memcpy(left, &tokens[NODES], PINNED * sizeof *left);
        left[PINNED] = tokens[SHARED];
        sc_truth_type(snapshot, "Token", (void *const *)left, PINNED + 1);
    }
    sc_truth_object(snapshot, "holder", (void *)holder_addr);
    sc_truth_object(snapshot, "shared", (void *)tokens[SHARED]);
}

int main(int argc, char **argv)
{
    return sc_worker_exit_main(argc, argv, build, &worker, worker_main, truths);
}
