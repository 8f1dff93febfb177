/*
 * examples/mid_growth.c -- leak pattern 6: a map caught in the middle of
 * growing, with its old bucket array still alive.
 *
 * An order book fills a map[int64]*Order during the trading day. The order
 * that pushes the map past its load factor (6.5 entries per bucket) starts a
 * doubling: a bucket array twice as large is allocated, and the old one is
 * evacuated into it incrementally, a bucket or two per later insert or
 * delete, as in Go. Lookups do not evacuate. The day ends just after the
 * growth started; from then on the map is only read, so the evacuation never
 * finishes and the map keeps both arrays: the new one and the old one it was
 * supposed to release. The program prints the map's internals to show it.
 */
#include "example.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

enum { TARGET_B = 14, WRITES_AFTER_GROWTH = 500 };

typedef struct Order {
    int64_t id;
    int64_t price;
    int64_t quantity;
    struct Order *replaces; /* the order this one amends, if any */
} Order;

MR_TYPE(order_type, Order, MR_FIELD(Order, replaces));

static const mr_map_type order_map_type = {
    .name = "map[int64]*Order",
    .key_kind = MR_KEY_INT64,
    .key_type = NULL,
    .value_type = &mr_type_pointer,
};

/* The order book: order id -> *Order. */
static mr_map *orders;
MR_GLOBAL(orders)

static int64_t next_id = 1;

__attribute__((noinline)) static void place_order(void)
{
    Order *o = mr_new(&order_type);
    o->id = next_id++;
    o->price = 1000 + o->id % 250;
    o->quantity = 1 + o->id % 40;
    mr_map_set(orders, &o->id, &o);
}

static void read_info(mr_map_info *info)
{
    example_map_info(orders, info);
}

/* Counts old buckets (main ones) and the entries still in them. */
typedef struct old_census {
    uint64_t old_buckets, old_entries, new_entries;
} old_census;

static void census_bucket(void *bucket, bool old, uint64_t index, uint32_t overflow, void *ud)
{
    (void)bucket;
    old_census *c = ud;
    if (old && overflow == 0 && index + 1 > c->old_buckets) c->old_buckets = index + 1;
}

static void census_slot(const mr_map_slot *s, void *ud)
{
    old_census *c = ud;
    if (s->old)
        c->old_entries++;
    else
        c->new_entries++;
}

int main(void)
{
    mr_map_info info;
    orders = mr_map_new(&order_map_type, 0);

    /* Fill each bucket array to its load factor and push one entry past it,
     * until the doubling from 2^TARGET_B to 2^(TARGET_B+1) buckets starts. */
    for (;;) {
        read_info(&info);
        if (info.oldbuckets && info.B > TARGET_B) break;
        if (mr_map_len(orders) > (14ull << TARGET_B)) {
            fprintf(stderr, "mid_growth: the map never started growing\n");
            return 1;
        }
        uint64_t threshold = (13ull << info.B) / 2;
        while (mr_map_len(orders) < threshold) place_order();
        place_order();
    }
    size_t at_growth = mr_map_len(orders);

    /* A few more orders (each evacuates a bucket or two), then only reads. */
    for (int i = 0; i < WRITES_AFTER_GROWTH; i++) place_order();
    int64_t volume = 0;
    for (int64_t id = 1; id < next_id; id++) {
        Order *o = NULL;
        if (!mr_map_get(orders, &id, &o) || o->id != id) {
            fprintf(stderr, "mid_growth: order %" PRId64 " lost\n", id);
            return 1;
        }
        volume += o->quantity;
    }
    mr_gc();

    old_census c = {0, 0, 0};
    mr_stop_the_world();
    mr_map_get_info(orders, &info);
    mr_map_walk(orders, census_bucket, census_slot, &c);
    mr_start_the_world();

    printf("mid_growth: growth started at order %zu; %zu orders now, volume %" PRId64 "\n",
           at_growth, mr_map_len(orders), volume);
    printf("mid_growth: B=%u (%" PRIu64 " new buckets, %.1f MiB), oldbuckets %s "
           "(%" PRIu64 " buckets, %.1f MiB)\n",
           info.B, (uint64_t)1 << info.B,
           (double)((uint64_t)info.bucket_size << info.B) / (1 << 20),
           info.oldbuckets ? "still allocated" : "NULL", c.old_buckets,
           (double)(c.old_buckets * info.bucket_size) / (1 << 20));
    printf("mid_growth: nevacuate %" PRIu64 " of %" PRIu64 " old buckets; %" PRIu64
           " entries still in old buckets, %" PRIu64 " in new\n\n",
           info.nevacuate, c.old_buckets, c.old_entries, c.new_entries);
    if (!info.oldbuckets || info.nevacuate >= c.old_buckets || c.old_entries == 0) {
        fprintf(stderr, "mid_growth: the map is not mid-growth any more\n");
        return 1;
    }

    example_report("mid_growth",
                   "The order book map started doubling when an insert pushed it past 6.5 entries "
                   "per bucket, then saw only a few more writes. Growth is incremental: the old "
                   "bucket array is released only after every old bucket has been evacuated, and "
                   "evacuation happens only on inserts and deletes, never on lookups. With the "
                   "writes stopped, nevacuate is stuck far below the old bucket count, so the map "
                   "holds its new array and most of its entries in the old one, and both arrays "
                   "stay in the heap (retained by the global `orders`). Fix: nothing leaks "
                   "forever here, the next writes finish the job; but a map that is built and then "
                   "only read can be sized up front (mr_map_new with a hint) to avoid it.");
    return 0;
}
