/*
 * tests/scenarios/exact_diff.c -- two snapshots with known differences,
 * entry by entry.
 *
 * TRUTH. Between snapshot "before" and snapshot "after" (both in-process):
 *   inventory  map[string]*Item, 5,000 entries "item-0" .. "item-4999"
 *              before. Exactly 1,234 keys are added ("new-0" ..
 *              "new-1233"), exactly 321 removed ("item-0" .. "item-320"),
 *              and the values of 100 more ("item-1000" .. "item-1099") are
 *              replaced, which adds and removes nothing: +1,234 -321, 5,913
 *              entries after, growing (more entries, more bytes).
 *   stable     map[int64]*Part of 800 entries, untouched: +0 -0, not growing.
 *   fresh      map[int64]*Fresh of 300 entries, made after "before": a new
 *              map.
 *   retired    map[int64]*Retired of 400 entries, dropped after "before":
 *              gone.
 * Retained bytes before and after are the runtime's own figures for each.
 * The snapshot at exit ("exit") sees the heap of "after".
 */
#include "scenario.h"

enum { ITEMS = 5000, ADDED = 1234, REMOVED = 321, REPLACED = 100, PARTS = 800, FRESH = 300 };

SC_ITEM_TYPE(item_type, Item);
SC_ITEM_TYPE(part_type, Part);

static const mr_map_type inventory_type = {"map[string]*Item", MR_KEY_STRING, NULL,
                                           &mr_type_pointer};
static const mr_map_type stable_type = {"map[int64]*Part", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type fresh_type = {"map[int64]*Fresh", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type retired_type = {"map[int64]*Retired", MR_KEY_INT64, NULL,
                                         &mr_type_pointer};

static mr_map *inventory, *stable, *fresh, *retired;
MR_GLOBAL(inventory)
MR_GLOBAL(stable)
MR_GLOBAL(fresh)
MR_GLOBAL(retired)

static void put(const char *fmt, int64_t i)
{
    *(Item **)mr_map_assign_str(inventory, mr_str_printf(fmt, i)) = sc_new_item(&item_type, i, 96);
}

__attribute__((noinline)) static void build(void)
{
    inventory = mr_map_new(&inventory_type, 0);
    for (int64_t i = 0; i < ITEMS; i++) put("item-%" PRId64, i);
    stable = mr_map_new(&stable_type, 0);
    sc_fill(stable, &part_type, 0, PARTS, 64);
    retired = mr_map_new(&retired_type, 0);
    sc_fill(retired, &part_type, 0, 400, 64);
}

__attribute__((noinline)) static void change(void)
{
    for (int64_t i = 0; i < ADDED; i++) put("new-%" PRId64, i);
    for (int64_t i = 0; i < REMOVED; i++)
        mr_map_delete_str(inventory, mr_str_printf("item-%" PRId64, i));
    for (int64_t i = 1000; i < 1000 + REPLACED; i++) put("item-%" PRId64, i);
    fresh = mr_map_new(&fresh_type, 0);
    sc_fill(fresh, &part_type, 0, FRESH, 64);
    retired = NULL;
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "inventory", inventory);
    sc_truth_map(snapshot, "stable", stable);
    if (fresh) sc_truth_map(snapshot, "fresh", fresh);
    if (retired) sc_truth_map(snapshot, "retired", retired);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    build();
    SC_SNAPSHOT("before");
    SC_TRUTHS(truths, "before");
    change();
    SC_SNAPSHOT("after");
    SC_TRUTHS(truths, "after");
    if (mr_map_len(inventory) != ITEMS + ADDED - REMOVED) sc_fail("inventory has the wrong count");
    mr_exiting(); /* from here on as at exit: main's frame is no root */
    SC_TRUTHS(truths, "exit");
    return 0;
}
