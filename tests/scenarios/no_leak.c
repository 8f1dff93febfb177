/*
 * tests/scenarios/no_leak.c -- a program with maps and no leak at all.
 *
 * TRUTH. Most of the heap is an array of 2,000 orders (each with a 1 KiB
 * blob) held by the global `store`, in no map. Beside it:
 *   config    a map[string]*Setting of 50 settings, written once.
 *   recent    a map[int64]*Order of the last 500 orders (older ones are
 *             deleted as new ones come: 5,000 writes), about 6% of the heap.
 *   emptied   a map[int64]*Order that held 100 orders, all deleted: its
 *             table is small (well under 64 KiB).
 * Per-request maps are made and dropped (garbage), and an iteration over
 * `recent` runs to its end before each snapshot. Nothing grows, nothing is
 * held by a running frame or an open iterator, nothing is large: no map is
 * a suspect, in the snapshot written in-process ("held") or at exit.
 */
#include "scenario.h"

enum { ORDERS = 2000, SETTINGS = 50, RECENT = 500, WRITES = 5000, EMPTIED = 100 };

SC_ITEM_TYPE(order_type, Order);
SC_ITEM_TYPE(setting_type, Setting);

static const mr_map_type config_type = {"map[string]*Setting", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};
static const mr_map_type recent_type = {"map[int64]*Order", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type emptied_type = {"map[int64]*PastOrder", MR_KEY_INT64, NULL,
                                         &mr_type_pointer};
static const mr_map_type request_type = {"map[string]int64", MR_KEY_STRING, NULL, &mr_type_int64};

static Order **store;
MR_GLOBAL(store)
static mr_map *config, *recent, *emptied;
MR_GLOBAL(config)
MR_GLOBAL(recent)
MR_GLOBAL(emptied)

/* A request's scratch map: garbage as soon as the request is done. */
__attribute__((noinline)) static int64_t handle_request(int64_t n)
{
    mr_map *scratch = mr_map_new(&request_type, 0);
    for (int i = 0; i < 20; i++)
        *(int64_t *)mr_map_assign_str(scratch, mr_str_printf("h%d", i)) = n;
    return (int64_t)mr_map_len(scratch);
}

/* A complete iteration: the iterator is done when the loop ends. */
__attribute__((noinline)) static int64_t sum_recent(void)
{
    mr_map_iter it;
    int64_t sum = 0;
    mr_map_iter_init(&it, recent);
    while (mr_map_iter_next(&it)) sum += (*(Order **)it.value)->id;
    return sum;
}

__attribute__((noinline)) static void build(void)
{
    store = mr_new_array(&mr_type_pointer, ORDERS);
    for (int64_t i = 0; i < ORDERS; i++) store[i] = sc_new_item(&order_type, i, 1024);
    config = mr_map_new(&config_type, 0);
    for (int i = 0; i < SETTINGS; i++)
        *(Setting **)mr_map_assign_str(config, mr_str_printf("setting-%d", i)) =
            sc_new_item(&setting_type, i, 48);
    recent = mr_map_new(&recent_type, 0);
    for (int64_t w = 0; w < WRITES; w++) {
        if (w >= RECENT) mr_map_delete_int(recent, w - RECENT);
        *(Order **)mr_map_assign_int(recent, w) = sc_new_item(&order_type, w, 256);
        handle_request(w);
    }
    emptied = mr_map_new(&emptied_type, 0);
    sc_fill(emptied, &order_type, 0, EMPTIED, 64);
    for (int64_t k = 0; k < EMPTIED; k++) mr_map_delete_int(emptied, k);
    if (sum_recent() <= 0) sc_fail("no recent orders");
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "config", config);
    sc_truth_map(snapshot, "recent", recent);
    sc_truth_map(snapshot, "emptied", emptied);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
