/*
 * tests/scenarios/reused_header.c -- between two snapshots of one run, a
 * map is dropped and a new map of the same type is made where its header
 * was, under another root; another map moves from one root to another; a
 * third is cleared and refilled.
 *
 * TRUTH. Between snapshot "before" and snapshot "after" (both in-process):
 *   retired  map[int64]*Entry of 400 entries held by the global
 *            `old_cache`, dropped after "before" and collected: gone.
 *   fresh    map[int64]*Entry of 300 entries, made after the collection
 *            that freed retired's header, in the very memory that header
 *            was (the program checks the address is the same; the
 *            collector never moves objects, and frees what it collects), and
 *            held by the global `new_cache`. A different map of the same
 *            type: new, not retired grown by 300 keys and shrunk by 400. A
 *            header address shows which map is which only while the map
 *            lives.
 *   moved    map[int64]*Lot of 500 entries held by the global `lots_a`
 *            before; after, by `lots_b` only (lots_a is NULL), with 100
 *            more entries: the same map (it never stopped living), +100 -0,
 *            500 -> 600 entries, growing.
 *   cleared  map[int64]*Batch held by the global `batches`: 2,000 entries,
 *            keys 0 .. 1,999, before; cleared with mr_map_clear (which, as
 *            Go's clear, gives the map a new seed) and refilled with keys
 *            1,000 .. 2,999 after: the same map, +1,000 -1,000 (the keys
 *            1,000 .. 1,999 are in both), 2,000 entries before and after.
 * Retained bytes before and after are the runtime's own figures for each.
 * The snapshot at exit ("exit") sees the heap of "after".
 */
#include "scenario.h"

enum { RETIRED = 400, FRESH = 300, LOTS = 500, MORE_LOTS = 100, BATCHES = 2000 };

SC_ITEM_TYPE(entry_type, Entry);
SC_ITEM_TYPE(lot_type, Lot);
SC_ITEM_TYPE(batch_type, Batch);

static const mr_map_type entry_map = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type lot_map = {"map[int64]*Lot", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type batch_map = {"map[int64]*Batch", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *old_cache, *new_cache, *lots_a, *lots_b, *batches;
MR_GLOBAL(old_cache)
MR_GLOBAL(new_cache)
MR_GLOBAL(lots_a)
MR_GLOBAL(lots_b)
MR_GLOBAL(batches)

/* Where retired's header was: a number, no root. */
static uintptr_t retired_at;

SC_NOCLONE static void build(void)
{
    old_cache = mr_map_new(&entry_map, 0);
    sc_fill(old_cache, &entry_type, 0, RETIRED, 120);
    retired_at = (uintptr_t)old_cache;
    lots_a = mr_map_new(&lot_map, 0);
    sc_fill(lots_a, &lot_type, 0, LOTS, 80);
    batches = mr_map_new(&batch_map, 0);
    sc_fill(batches, &batch_type, 0, BATCHES, 48);
}

SC_NOCLONE static void drop(void)
{
    old_cache = NULL;
}

/* Makes maps of retired's type until one lands where retired's header
 * was; the others are dropped (garbage, empty). */
SC_NOCLONE static void remake(void)
{
    for (int tries = 0; tries < 100000; tries++) {
        mr_map *m = mr_map_new(&entry_map, 0);
        if ((uintptr_t)m == retired_at) {
            new_cache = m;
            sc_fill(new_cache, &entry_type, 0, FRESH, 120);
            return;
        }
    }
    sc_fail("no new map header landed where the dropped one was");
}

SC_NOCLONE static void change(void)
{
    lots_b = lots_a;
    lots_a = NULL;
    sc_fill(lots_b, &lot_type, LOTS, MORE_LOTS, 80);
    mr_map_clear(batches);
    sc_fill(batches, &batch_type, BATCHES / 2, BATCHES, 48);
}

SC_NOCLONE static void truths(const char *snapshot)
{
    if (old_cache) sc_truth_map(snapshot, "retired", old_cache);
    if (new_cache) sc_truth_map(snapshot, "fresh", new_cache);
    sc_truth_map(snapshot, "moved", lots_a ? lots_a : lots_b);
    sc_truth_map(snapshot, "cleared", batches);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    build();
    SC_SNAPSHOT("before");
    SC_TRUTHS(truths, "before");
    SC_CLEAN(drop());
    SC_CLEAN(mr_gc());
    SC_CLEAN(mr_gc());
    SC_CLEAN(remake());
    SC_CLEAN(change());
    SC_SNAPSHOT("after");
    SC_TRUTHS(truths, "after");
    mr_exiting(); /* from here on as at exit: main's frame is no root */
    SC_TRUTHS(truths, "exit");
    return 0;
}
