/*
 * tests/scenarios/interior_roots.c -- roots that point into the middle of
 * objects, and a map reached from two globals by two different ways.
 *
 * TRUTH. Globals:
 *   cursor    points at the `tasks` field in the middle of a Holder (16
 *             bytes in), not at its start; nothing else refers to the
 *             Holder. The Holder's map[int64]*Task of 8,000 tasks (each with
 *             a 300-byte input) is a suspect (large_share) rooted at global
 *             cursor; its chain: cursor -> Holder -> the map header; it
 *             retains exactly its own objects.
 *   billing, shipping   point at a Billing and a Shipping struct, each of
 *             which points at the same map[int64]*Order of 12,000 orders
 *             (each with a 200-byte note). Neither struct dominates the map:
 *             both globals are among its roots (once each), the root named
 *             is one of them, and the chain shown starts at the root named
 *             and goes through that root's struct. The map retains exactly
 *             its own objects.
 *   hot       points into the middle of the bucket array of the global map
 *             `sessions` (map[int64]*Session of 6,000 sessions, each with a
 *             500-byte blob): the value slot of key 42, as mr_map_lookup
 *             returned it (the map is not written again, so the slot stays
 *             where it is). The word keeps the bucket array alive, but the
 *             array is the map's: the map still retains its whole table and
 *             every session (exactly its objects), and its root is global
 *             sessions. The bucket word is no root of the header.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

#include <stddef.h>

enum { TASKS = 8000, ORDERS = 12000, SESSIONS = 6000 };

SC_ITEM_TYPE(task_type, Task);
SC_ITEM_TYPE(order_type, Order);
SC_ITEM_TYPE(session_type, Session);

typedef struct Holder {
    int64_t id;
    int64_t generation;
    mr_map *tasks;
    int64_t spare;
} Holder;
MR_TYPE(holder_type, Holder, MR_FIELD(Holder, tasks));

typedef struct Billing {
    int64_t account;
    mr_map *orders;
} Billing;
MR_TYPE(billing_type, Billing, MR_FIELD(Billing, orders));

typedef struct Shipping {
    int64_t depot;
    int64_t route;
    mr_map *orders;
} Shipping;
MR_TYPE(shipping_type, Shipping, MR_FIELD(Shipping, orders));

static const mr_map_type tasks_type = {"map[int64]*Task", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type orders_type = {"map[int64]*Order", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type sessions_type = {"map[int64]*Session", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

static mr_map **cursor;
MR_GLOBAL(cursor)
static Billing *billing;
MR_GLOBAL(billing)
static Shipping *shipping;
MR_GLOBAL(shipping)
static mr_map *sessions;
MR_GLOBAL(sessions)
static void *hot;
MR_GLOBAL(hot)

__attribute__((noinline)) static void build(void)
{
    Holder *h = mr_new(&holder_type);
    h->tasks = mr_map_new(&tasks_type, 0);
    sc_fill(h->tasks, &task_type, 0, TASKS, 300);
    cursor = &h->tasks;
    if ((uintptr_t)cursor - (uintptr_t)h != offsetof(Holder, tasks)) sc_fail("layout");

    mr_map *orders = mr_map_new(&orders_type, 0);
    sc_fill(orders, &order_type, 0, ORDERS, 200);
    billing = mr_new(&billing_type);
    billing->orders = orders;
    shipping = mr_new(&shipping_type);
    shipping->orders = orders;

    sessions = mr_map_new(&sessions_type, 0);
    sc_fill(sessions, &session_type, 0, SESSIONS, 500);
    int64_t k = 42;
    hot = mr_map_lookup(sessions, &k);
    void *start;
    if (!hot || !mr_object_type(hot, &start) || start == hot) sc_fail("hot is no interior word");
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tasks", *cursor);
    sc_truth_map(snapshot, "orders", billing->orders);
    sc_truth_map(snapshot, "sessions", sessions);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
