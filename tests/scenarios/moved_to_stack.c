/*
 * tests/scenarios/moved_to_stack.c -- between two snapshots of one run a
 * map leaves its global for a worker's frame and grows there, and a new map
 * of the same type takes its place in the global.
 *
 * TRUTH. Snapshot "before": the global `pending` holds orders, a
 * map[int64]*Order of 2,000 orders (keys 0 .. 1,999, each with a 256-byte
 * line blob). Then a worker thread takes the map into a local of
 * drain_orders and adds 500 orders (2,000 .. 2,499); main points `pending`
 * at a new map[int64]*Order, backlog, of 300 orders (keys 0 .. 299: the
 * same keys as some of orders'), and writes snapshot "after" while the
 * worker is parked (blocked, by the blocking rule):
 *   orders   the same map throughout (it never stopped living): in the diff
 *            it is one map, "both", +500 -0, 2,000 -> 2,500, growing, its
 *            retained bytes before and after the runtime's own figures, and
 *            the root shown is where it is now: the worker's frame. In
 *            "after" its roots are all drain_orders' (a stack word of the
 *            frame, or a register it owns), the root named its stack word;
 *            evidence stack_frame.
 *   backlog  a new map under the global orders had: "new" in the diff,
 *            300 entries -- not orders shrunk by 2,200 keys.
 * Main then releases the worker: at exit ("exit") orders is gone and
 * backlog is held by `pending`.
 */
#include "scenario.h"

enum { ORDERS = 2000, MORE = 500, BACKLOG = 300, LINE = 256 };

SC_ITEM_TYPE(order_type, Order);

static const mr_map_type orders_type = {"map[int64]*Order", MR_KEY_INT64, NULL,
                                        &mr_type_pointer};

static mr_map *pending;
MR_GLOBAL(pending)

static uintptr_t orders_addr; /* the address only: no root */
static sc_worker worker;

/* Holds orders in a local of its frame, grows it, parks. */
SC_NOCLONE static void drain_orders(void)
{
    mr_map *volatile held = (mr_map *)orders_addr;
    sc_fill(held, &order_type, ORDERS, MORE, LINE);
    sc_park(&worker);
    if (mr_map_len(held) != ORDERS + MORE) sc_fail("orders lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    sc_scrub_stack();
    drain_orders();
    mr_thread_detach();
    return NULL;
}

__attribute__((noinline)) static void build(void)
{
    pending = mr_map_new(&orders_type, 0);
    sc_fill(pending, &order_type, 0, ORDERS, LINE);
    orders_addr = (uintptr_t)pending;
}

/* Hands orders to the worker and puts backlog in its place. */
__attribute__((noinline)) static void move(void)
{
    sc_start_worker(&worker, worker_main); /* it holds orders from here on */
    mr_map *backlog = mr_map_new(&orders_type, 0);
    sc_fill(backlog, &order_type, 0, BACKLOG, LINE);
    pending = backlog;
}

static void truths(const char *snapshot)
{
    if (strcmp(snapshot, "exit") != 0) sc_truth_map(snapshot, "orders", (mr_map *)orders_addr);
    if (strcmp(snapshot, "before") != 0) sc_truth_map(snapshot, "backlog", pending);
}

SC_NOCLONE static void run(void)
{
    SC_CLEAN(build());
    SC_SNAPSHOT("before");
    SC_TRUTHS(truths, "before");
    SC_CLEAN(move());
    SC_SNAPSHOT("after");
    SC_TRUTHS(truths, "after");
    sc_stop_worker(&worker);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(run());
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}
