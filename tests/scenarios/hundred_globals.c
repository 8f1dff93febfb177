/*
 * tests/scenarios/hundred_globals.c -- a service with a hundred small maps,
 * each under a global of its own, and one medium map that grows: the gate
 * must fail on that one alone.
 *
 * TRUTH. Five in-process snapshots "s0" .. "s4", one after each step:
 *   tiny_00 .. tiny_99   100 globals (registered one by one, as a table of
 *            feature switches would be), each a map[int64]*Flag of 3 + i %
 *            5 flags (32-byte blobs). Every step replaces the values of two
 *            keys of every map (a new Flag each, the old one garbage): no
 *            map gains an entry, and none grows in bytes.
 *   orders   global map[string]*Order: 1,500 new orders ("o-N", 96-byte
 *            blobs) every step, none removed: 1,500 in s0, 7,500 in s4.
 *            About as big as the hundred small maps together in s0, far
 *            bigger by s4; grows in every interval (rule growth).
 * maproot gate over s0 .. s4 follows 101 maps, fails on orders alone (one
 * violation, rule growth), and its figures for orders and for tiny_42, at
 * every snapshot, are the runtime's own.
 */
#include "scenario.h"

enum { STEPS = 5, NTINY = 100, ORDERS_STEP = 1500 };

SC_ITEM_TYPE(flag_type, Flag);
SC_ITEM_TYPE(order_type, Order);

static const mr_map_type tiny_type = {"map[int64]*Flag", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type orders_type = {"map[string]*Order", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};

static mr_map *tiny[NTINY];
static char tiny_names[NTINY][16];
static mr_map *orders;
MR_GLOBAL(orders)

/* Registers tiny[i] as the global tiny_<i>, as MR_GLOBAL would one by one. */
static void register_tiny(void)
{
    for (int i = 0; i < NTINY; i++) {
        snprintf(tiny_names[i], sizeof tiny_names[i], "tiny_%02d", i);
        mr_register_global((void **)&tiny[i], tiny_names[i], __FILE__, __LINE__);
    }
}

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        orders = mr_map_new(&orders_type, 0);
        for (int i = 0; i < NTINY; i++) {
            tiny[i] = mr_map_new(&tiny_type, 0);
            sc_fill(tiny[i], &flag_type, 0, 3 + i % 5, 32);
        }
    } else {
        for (int i = 0; i < NTINY; i++) sc_fill(tiny[i], &flag_type, s % 2, 2, 32);
    }
    for (int64_t k = (int64_t)s * ORDERS_STEP; k < (int64_t)(s + 1) * ORDERS_STEP; k++)
        *(sc_item **)mr_map_assign_str(orders, mr_str_printf("o-%" PRId64, k)) =
            sc_new_item(&order_type, k, 96);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "orders", orders);
    sc_truth_map(snapshot, "tiny_42", tiny[42]);
    sc_truth_map(snapshot, "tiny_0", tiny[0]);
}

int main(int argc, char **argv)
{
    register_tiny();
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(orders) != STEPS * ORDERS_STEP) sc_fail("orders has the wrong count");
    for (int i = 0; i < NTINY; i++)
        if (mr_map_len(tiny[i]) != (size_t)(3 + i % 5)) sc_fail("tiny_%02d grew", i);
    return rc;
}
