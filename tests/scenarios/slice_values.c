/*
 * tests/scenarios/slice_values.c -- maps whose values are slices of
 * pointers (a slice header stored in the slot, its backing array an object
 * of its own) to parts that other maps, other entries and another root
 * also hold: what each entry, and each map, retains.
 *
 * TRUTH. Parts are objects {id, blob}. Three globals that are maps and one
 * that is an array:
 *   orders   map[int64]Batch, 2,000 entries (keys 0 .. 1,999). A Batch (24
 *            bytes in the slot: parts, len, cap, as a Go []*Part) points at
 *            a backing array of 4 pointers, the entry's alone:
 *              [0] a Part that a slice of by_sku also holds;
 *              [1] a Part of the entry alone (blob 96 + 8 * (i % 10) bytes);
 *              [2] a Part of the catalog (catalog part i % 500);
 *              [3] by i % 4: 0, a Part that the global array `recent` also
 *                  holds; 1 and 2, a Part that orders i and i + 1 share (two
 *                  entries of the same map: the map's, neither entry's);
 *                  3, a Part of the entry alone (blob 200 + 16 * (i % 7)).
 *            An entry retains its backing array and the Parts (and blobs)
 *            of its own, nothing else; no entry is shared (its value
 *            object, the backing array, is its own). The map retains its
 *            table, the arrays, its entries' own Parts and the pair Parts.
 *   by_sku   map[int64]PartSlice, 500 entries: sku j's slice (a backing
 *            array of 4 pointers) holds part [0] of orders j, j + 500,
 *            j + 1,000 and j + 1,500. An entry retains its backing array
 *            only; no entry is shared; the map retains its table and arrays.
 *   catalog  map[int64]*Part, 500 entries, each Part (blob 512 bytes) also
 *            held by 4 orders' arrays: every entry is shared and retains
 *            nothing; the map retains exactly its table; its shared bytes
 *            are its Parts and their blobs.
 *   recent   an array of 500 pointers to the [3] Parts of orders 0, 4, 8 ...
 * Retained figures are the runtime's (the scenario's dominator walk); each
 * entry's, the bytes of the objects the program made for it alone.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { ORDERS = 2000, SKUS = 500, CATALOG = 500, WIDTH = 4, RECENT = ORDERS / 4 };

SC_ITEM_TYPE(part_type, Part);

/* A Go slice of pointers: its backing array, length and capacity. */
typedef struct Batch {
    sc_item **parts;
    int64_t len, cap;
} Batch;
MR_TYPE(batch_type, Batch, MR_FIELD(Batch, parts));
typedef Batch PartSlice;
MR_TYPE(slice_type, PartSlice, MR_FIELD(PartSlice, parts));

static const mr_map_type orders_type = {"map[int64]Batch", MR_KEY_INT64, NULL, &batch_type};
static const mr_map_type sku_type = {"map[int64][]*Part", MR_KEY_INT64, NULL, &slice_type};
static const mr_map_type catalog_type = {"map[int64]*Part", MR_KEY_INT64, NULL,
                                         &mr_type_pointer};

static mr_map *orders, *by_sku, *catalog;
static sc_item **recent;
MR_GLOBAL(orders)
MR_GLOBAL(by_sku)
MR_GLOBAL(catalog)
MR_GLOBAL(recent)

static Batch new_batch(void)
{
    Batch b = {mr_new_array(&mr_type_pointer, WIDTH), WIDTH, WIDTH};
    return b;
}

__attribute__((noinline)) static void build(void)
{
    catalog = mr_map_new(&catalog_type, 0);
    for (int64_t c = 0; c < CATALOG; c++)
        *(sc_item **)mr_map_assign_int(catalog, c) = sc_new_item(&part_type, 100000 + c, 512);
    recent = mr_new_array(&mr_type_pointer, RECENT);
    orders = mr_map_new(&orders_type, 0);
    sc_item *pair = NULL;
    for (int64_t i = 0; i < ORDERS; i++) {
        Batch b = new_batch();
        b.parts[0] = sc_new_item(&part_type, 10 * i, 80);
        b.parts[1] = sc_new_item(&part_type, 10 * i + 1, 96 + 8 * (size_t)(i % 10));
        sc_item *c;
        if (!mr_map_get(catalog, &(int64_t){i % CATALOG}, &c)) sc_fail("no catalog part");
        b.parts[2] = c;
        switch (i % 4) {
        case 0:
            b.parts[3] = recent[i / 4] = sc_new_item(&part_type, 10 * i + 3, 144);
            break;
        case 1:
            b.parts[3] = pair = sc_new_item(&part_type, 10 * i + 3, 160);
            break;
        case 2:
            b.parts[3] = pair;
            break;
        default:
            b.parts[3] = sc_new_item(&part_type, 10 * i + 3, 200 + 16 * (size_t)(i % 7));
        }
        *(Batch *)mr_map_assign_int(orders, i) = b;
    }
    by_sku = mr_map_new(&sku_type, 0);
    for (int64_t j = 0; j < SKUS; j++) {
        PartSlice s = new_batch();
        for (int w = 0; w < WIDTH; w++) {
            Batch b;
            if (!mr_map_get(orders, &(int64_t){j + (int64_t)w * SKUS}, &b)) sc_fail("no order");
            s.parts[w] = b.parts[0];
        }
        *(PartSlice *)mr_map_assign_int(by_sku, j) = s;
    }
}

/* An entry of orders retains its array, part [1], and part [3] when
 * i % 4 == 3; one of by_sku its array; one of catalog nothing. */
typedef struct entry_truth {
    const mr_map *m;
    sc_entries e;
    uint64_t shared_bytes;
} entry_truth;

static void on_slot(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    int64_t k = *(const int64_t *)s->key;
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, k);
    if (t->m == catalog) {
        const sc_item *p = *(sc_item *const *)s->value;
        t->shared_bytes += mr_object_size(p) + mr_object_size(p->blob);
        sc_entry(&t->e, key, 0, 0);
        return;
    }
    const Batch *b = s->value;
    uint64_t bytes = mr_object_size(b->parts);
    if (t->m == orders) {
        bytes += mr_object_size(b->parts[1]) + mr_object_size(b->parts[1]->blob);
        if (k % 4 == 3) bytes += mr_object_size(b->parts[3]) + mr_object_size(b->parts[3]->blob);
    }
    sc_entry(&t->e, key, 0, bytes);
}

static void truth_entries(const char *snapshot, const char *label, const mr_map *m)
{
    sc_truth_map(snapshot, label, m);
    entry_truth t = {m, {0}, 0};
    sc_walk_slots(m, on_slot, &t);
    sc_truth(snapshot, label, "\"shared_bytes\": %" PRIu64, t.shared_bytes);
    sc_truth_entries(snapshot, label, &t.e);
}

static void truths(const char *snapshot)
{
    truth_entries(snapshot, "orders", orders);
    truth_entries(snapshot, "by_sku", by_sku);
    truth_entries(snapshot, "catalog", catalog);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
