/*
 * tests/scenarios/shared_records.c -- objects of one type that no single
 * holder keeps alive: two maps and a global hold every one of them.
 *
 * TRUTH. The global `registry` holds a Registry with two maps, by_id and
 * by_slot (map[int64]*Record), each of the same 240 Records; the global
 * `recent` holds an array ([]*) of them all as well. Each Record has a
 * note of its own (a 256-byte blob; record 0's is 96 KiB) and shares a
 * 1,024-byte pair blob with its twin (records 2k and 2k+1). Snapshots
 * "held" and "exit" see the same heap:
 *   by type     Record: 240 objects; they retain themselves and their notes,
 *               not the pair blobs (only two of them keep each alive
 *               together). Registry: one object retaining itself and the
 *               two maps' tables, and no Record (`recent` holds them too).
 *   dominators  no object dominates a Record: both globals reach each, and
 *               each is a top subtree of its own with both globals as its
 *               roots. The largest top subtree is record 0 (its note),
 *               then the registry (with each map's table a subtree below
 *               it), then the array.
 *   path        record 0 has two roots: `recent` (the array, then the
 *               record: 2 objects) first, then `registry` (the registry,
 *               a map header, its bucket array, the record).
 */
#include "scenario.h"

enum { RECORDS = 240, NOTE = 256, BIG_NOTE = 96 * 1024, PAIR = 1024 };

typedef struct Record {
    int64_t id;
    uint8_t *note, *pair;
} Record;
MR_TYPE(record_type, Record, MR_FIELD(Record, note), MR_FIELD(Record, pair));

typedef struct Registry {
    mr_map *by_id, *by_slot;
} Registry;
MR_TYPE(registry_type, Registry, MR_FIELD(Registry, by_id), MR_FIELD(Registry, by_slot));

static const mr_map_type records_type = {"map[int64]*Record", MR_KEY_INT64, NULL, &mr_type_pointer};

static Registry *registry;
static Record **recent;
MR_GLOBAL(registry)
MR_GLOBAL(recent)

static uintptr_t records[RECORDS]; /* addresses only: no root */

__attribute__((noinline)) static void build(void)
{
    registry = mr_new(&registry_type);
    registry->by_id = mr_map_new(&records_type, 0);
    registry->by_slot = mr_map_new(&records_type, 0);
    recent = mr_new_array(&mr_type_pointer, RECORDS);
    uint8_t *pair = NULL;
    for (int64_t i = 0; i < RECORDS; i++) {
        Record *r = mr_new(&record_type);
        r->id = i;
        r->note = mr_alloc_blob(i == 0 ? BIG_NOTE : NOTE);
        if (i % 2 == 0) pair = mr_alloc_blob(PAIR);
        r->pair = pair;
        *(Record **)mr_map_assign_int(registry->by_id, i) = r;
        *(Record **)mr_map_assign_int(registry->by_slot, RECORDS - 1 - i) = r;
        recent[i] = r;
        records[i] = (uintptr_t)r;
    }
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_type(snapshot, "Record", (void *const *)records, RECORDS);
    void *reg = registry;
    sc_truth_type(snapshot, "Registry", &reg, 1);
    sc_truth_object(snapshot, "registry", registry);
    sc_truth_object(snapshot, "record0", (void *)records[0]);
    sc_truth_object(snapshot, "recent", recent);
    sc_truth_map(snapshot, "by_id", registry->by_id);
    sc_truth_map(snapshot, "by_slot", registry->by_slot);
    sc_truth_reach(snapshot, "record0_ways", (void *)records[0], 2);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
