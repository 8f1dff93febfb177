/*
 * tests/scenarios/key_owner.c -- a leak owned by a map's key, and values
 * that are arrays of pointers into another map's values.
 *
 * TRUTH. Globals:
 *   by_tenant  map[*Tenant]*Quota (pointer keys) of 10 tenants. Only the
 *              keys refer to the Tenants: a Tenant {events, name} owns a
 *              map[int64]*Event, `events`, and a name blob. Tenant 3's
 *              events map holds 20,000 events (each with a 200-byte blob),
 *              only ever added (the leak); the others hold 10 each. Each
 *              value, a Quota, is a 48-byte blob of its entry alone.
 *   tenant3    tenant 3's events map: rooted at global by_tenant, through
 *              the key of its entry (the chain passes by_tenant's header,
 *              a bucket, and the Tenant the key points to); a suspect
 *              (large_share) retaining exactly its own objects.
 *   tenant0    a 10-event map of the same type and root: no suspect.
 *   by_tenant  retains exactly its objects (every Tenant, name, events map
 *              and Quota); its keys retain the Tenants, their names and
 *              their events maps, all of them, as do its entries with the
 *              Quotas; evidence pointer_keys; inner_suspect_bytes is what
 *              tenant3 retains.
 *   orders     map[int64]*Order of 5,000 orders (each with a 96-byte blob).
 *   batches    map[int64]*Batch, where a Batch is an array object of 10
 *              pointers: the first at one of 20 rate tables (64 KiB blobs
 *              made by make_rate, which the global array `rates` holds),
 *              8 at orders of the orders map (batch b: orders 8b .. 8b + 7;
 *              600 batches, so orders 0 .. 4,799 are in a batch too) and
 *              the last at a note (a blob of 2,048 + 8 * (b % 16) bytes) of
 *              its entry alone. An entry retains its array and its note,
 *              not the rate table nor the orders (other roots reach them). Its value object, the
 * array, is its own: no entry is shared (the orders the array points at are simply not the
 * entry's). The map retains exactly its objects, a suspect (large_share); so does orders, which no
 * longer retains the orders that batches point at (each has two ways to it), only orders 4,800 ..
 *              4,999 and their blobs.
 * Every allocation of 4 KiB and more is sampled by the heap profiler (a
 * rate of 4,096): the rate tables always, a Batch array hardly ever. Where
 * an entry was made is where its own objects were: no entry of batches is
 * shown allocated by make_rate, whose tables are not the entry's.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum {
    RATES = 20,
    RATE_BYTES = 65536,
    TENANTS = 10,
    LEAKY = 3,
    LEAK = 20000,
    ORDERS = 5000,
    BATCHES = 600,
    PER_BATCH = 8
};

typedef struct Tenant {
    mr_map *events;
    uint8_t *name;
} Tenant;
MR_TYPE(tenant_type, Tenant, MR_FIELD(Tenant, events), MR_FIELD(Tenant, name));
SC_ITEM_TYPE(event_type, Event);
SC_ITEM_TYPE(order_type, Order);

static const mr_map_type tenant_map = {"map[*Tenant]*Quota", MR_KEY_PTR, &tenant_type,
                                       &mr_type_pointer};
static const mr_map_type event_map = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type order_map = {"map[int64]*Order", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type batch_map = {"map[int64]*Batch", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *by_tenant, *orders, *batches;
static void **rates;
MR_GLOBAL(by_tenant)
MR_GLOBAL(rates)
MR_GLOBAL(orders)
MR_GLOBAL(batches)

/* The tenants' events maps, found again by the truths: numbers, no roots
 * (the keys of by_tenant are the only way to them). */
static uintptr_t events_of[TENANTS];

SC_NOCLONE static void *make_rate(void)
{
    uint8_t *t = mr_alloc_blob(RATE_BYTES);
    t[0] = 1; /* no tail call: the frame stays on the allocation stack */
    return t;
}

SC_NOCLONE static void build(void)
{
    rates = mr_new_array(&mr_type_pointer, RATES);
    for (int r = 0; r < RATES; r++) rates[r] = make_rate();
    by_tenant = mr_map_new(&tenant_map, 0);
    for (int t = 0; t < TENANTS; t++) {
        Tenant *tn = mr_new(&tenant_type);
        tn->name = mr_alloc_blob(24 + 8 * (size_t)t);
        tn->events = mr_map_new(&event_map, 0);
        events_of[t] = (uintptr_t)tn->events;
        uint8_t *quota = mr_alloc_blob(48);
        mr_map_set(by_tenant, &tn, &quota);
    }
    for (int64_t i = 0; i < LEAK; i++) {
        for (int t = 0; t < TENANTS; t++) {
            if (t != LEAKY && i >= 10) continue;
            sc_fill((mr_map *)events_of[t], &event_type, i, 1, 200);
        }
    }
    orders = mr_map_new(&order_map, 0);
    sc_fill(orders, &order_type, 0, ORDERS, 96);
    batches = mr_map_new(&batch_map, 0);
    for (int64_t b = 0; b < BATCHES; b++) {
        void **arr = mr_new_array(&mr_type_pointer, PER_BATCH + 2);
        arr[0] = rates[b % RATES];
        for (int i = 0; i < PER_BATCH; i++) {
            int64_t k = PER_BATCH * b + i;
            arr[1 + i] = *(void **)mr_map_lookup_int(orders, k);
        }
        arr[PER_BATCH + 1] = mr_alloc_blob(2048 + 8 * (size_t)(b % 16));
        mr_map_set(batches, &b, &arr);
    }
}

/* Per-entry truths: the bytes each entry (its key's and its value's
 * objects together) dominates. */
typedef struct per_entry {
    sc_entries e;
    bool keys_are_pointers;
} per_entry;

static void on_slot(const mr_map_slot *s, void *ud)
{
    per_entry *p = ud;
    void *objs[2];
    size_t n = 0;
    char key[40];
    if (p->keys_are_pointers) {
        objs[n++] = *(void *const *)s->key;
        snprintf(key, sizeof key, "0x%" PRIxPTR, *(const uintptr_t *)s->key);
    } else {
        snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    }
    objs[n++] = *(void *const *)s->value;
    uint64_t key_bytes = p->keys_are_pointers ? sc_dominated_set(objs, 1, NULL) : 0;
    sc_entry(&p->e, key, key_bytes, sc_dominated_set(objs, n, NULL));
}

static void entries_truth(const char *snapshot, const char *label, const mr_map *m, bool ptr_keys)
{
    per_entry p = {{0}, ptr_keys};
    sc_walk_slots(m, on_slot, &p);
    sc_truth_entries(snapshot, label, &p.e);
}

/* The keys of by_tenant together: every Tenant. */
static void on_key(const mr_map_slot *s, void *ud)
{
    sc_table *t = ud;
    sc_add_bucket(*(void *const *)s->key, false, 0, 0, t);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tenant3", (const mr_map *)events_of[LEAKY]);
    sc_truth_map(snapshot, "tenant0", (const mr_map *)events_of[0]);
    sc_truth_map(snapshot, "by_tenant", by_tenant);
    entries_truth(snapshot, "by_tenant", by_tenant, true);
    sc_table keys = {0};
    sc_walk_slots(by_tenant, on_key, &keys);
    mr_stop_the_world();
    uint64_t keys_bytes = sc_dominated_set(keys.v, keys.n, NULL);
    mr_start_the_world();
    free(keys.v);
    sc_truth(snapshot, "by_tenant", "\"all_keys_retained_bytes\": %" PRIu64, keys_bytes);
    sc_truth_map(snapshot, "orders", orders);
    sc_truth_map(snapshot, "batches", batches);
    entries_truth(snapshot, "batches", batches, false);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
