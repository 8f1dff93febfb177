/*
 * tests/scenarios/addr_keys.c -- integer keys (and values) that are heap
 * addresses: a registry keyed by each object's own address, as code that
 * keys by uintptr(unsafe.Pointer(p)) does, and a set of addresses of
 * objects long freed, whose memory new objects of another map now occupy.
 *
 * TRUTH. Three globals:
 *   by_addr  map[int64]*Conn: 2,000 Conns (each with a 512-byte buffer),
 *            each under the key (int64)(uintptr_t) of its own address.
 *            Only grows (a leak, most of the heap): a suspect (large_share)
 *            retaining exactly its objects, through its values; its keys
 *            are numbers, not pointers: they retain nothing
 *            (keys_retained_bytes 0) and are no evidence (no pointer_keys);
 *            each entry retains its Conn and buffer.
 *   seen     map[int64]int64: the addresses of 3,000 earlier Recs (keys)
 *            and of their blobs (values), made and dropped: a collection
 *            frees all but every 16th (kept by a pin); then 3,000 new Recs
 *            of the same sizes are made, and the allocator puts one in every
 *            slot the freed ones left (the program counts how many of seen's
 *            keys are now the address of a live Rec, and of its values that
 *            of a Rec's blob, and fails unless every freed one is). The
 *            pins go once the new Recs are made: the kept ones are garbage
 *            in both snapshots. seen retains exactly its table (its keys and
 *            values are plain words of a pointer-free map), no pointer_keys
 *            evidence, and shares nothing.
 *   live     map[int64]*Rec of those 3,000 Recs (keys 0 .. 2,999, each Rec
 *            with a 96-byte blob): retains exactly its objects; no entry is
 *            shared (seen's words that equal their addresses hold nothing).
 * Snapshots "held" (in-process, from sc_main) and "exit" see the same heap.
 *
 * How the reuse is made certain. The allocator keeps a span per size class
 * and type, and one with no live object goes back to the page heap, where
 * the next span is cut from whichever free run fits best (which depends on
 * the order the background sweeper freed them). So the first Recs are of
 * the new ones' type and every 16th stays pinned across the collection:
 * each of their spans (512 Recs or 85 blobs a span, made in order by one
 * thread) keeps a live object, stays with its type and offers its freed
 * slots before any new span is cut. Fewer free slots than new Recs are in
 * those spans (the freed ones and the never-used tail of the last span), so
 * every freed slot gets one.
 */
#include "scenario.h"

enum { CONNS = 2000, CONN_BUF = 512, TMPS = 3000, TMP_BLOB = 96, KEEP_EVERY = 16 };
/* the earlier Recs a pin keeps across the collection */
enum { KEPT = (TMPS + KEEP_EVERY - 1) / KEEP_EVERY };

SC_ITEM_TYPE(conn_type, Conn);
SC_ITEM_TYPE(rec_type, Rec);

static const mr_map_type by_addr_type = {"map[int64]*Conn", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type seen_type = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};
static const mr_map_type live_type = {"map[int64]*Rec", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *by_addr, *seen, *live;
MR_GLOBAL(by_addr)
MR_GLOBAL(seen)
MR_GLOBAL(live)

static int aliased_keys, aliased_values; /* seen's words that are now live objects */
/* the pins of the earlier Recs (numbers, no roots): all of them while they
 * are made, every KEEP_EVERY-th across the collection */
static mr_pin_handle tmp_pins[TMPS];

/* Makes TMPS Recs on a thread that then exits, recording their addresses
 * in seen; only the pins refer to them, so that no collection on the way
 * frees one and gives its slot to the next. */
static void *make_tmps(void *arg)
{
    (void)arg;
    mr_thread_attach();
    for (int64_t i = 0; i < TMPS; i++) {
        sc_item *t = sc_new_item(&rec_type, i, TMP_BLOB);
        tmp_pins[i] = mr_pin(t, "an earlier Rec");
        *(int64_t *)mr_map_assign_int(seen, (int64_t)(uintptr_t)t) = (int64_t)(uintptr_t)t->blob;
    }
    mr_thread_detach();
    return NULL;
}

static void count_alias(const mr_map_slot *s, void *ud)
{
    const sc_set *recs = ud;
    if (sc_set_has(recs, (uintptr_t) * (const int64_t *)s->key)) aliased_keys++;
    if (sc_set_has(recs, (uintptr_t) * (const int64_t *)s->value)) aliased_values++;
}

__attribute__((noinline)) static void build(void)
{
    by_addr = mr_map_new(&by_addr_type, 0);
    for (int i = 0; i < CONNS; i++) {
        sc_item *c = sc_new_item(&conn_type, i, CONN_BUF);
        *(sc_item **)mr_map_assign_int(by_addr, (int64_t)(uintptr_t)c) = c;
    }
    seen = mr_map_new(&seen_type, TMPS);
    sc_in_dead_thread(make_tmps);
    for (int i = 0; i < TMPS; i++)
        if (i % KEEP_EVERY) mr_unpin(tmp_pins[i]);
    mr_gc();
    mr_gc();
    live = mr_map_new(&live_type, TMPS);
    sc_set recs = {0};
    for (int64_t i = 0; i < TMPS; i++) {
        sc_item *r = sc_new_item(&rec_type, i, TMP_BLOB);
        *(sc_item **)mr_map_assign_int(live, i) = r;
        sc_set_add(&recs, (uintptr_t)r);
        sc_set_add(&recs, (uintptr_t)r->blob);
    }
    sc_walk_slots(seen, count_alias, &recs);
    free(recs.k);
    for (int i = 0; i < TMPS; i += KEEP_EVERY) mr_unpin(tmp_pins[i]);
    /* every freed slot holds a new Rec (see the top) */
    if (aliased_keys != TMPS - KEPT || aliased_values != TMPS - KEPT)
        sc_fail("%d keys and %d values of seen are live objects now, not %d", aliased_keys,
                aliased_values, TMPS - KEPT);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "by_addr", by_addr);
    sc_shape shape; /* each entry retains its Conn and buffer */
    sc_shape_of(by_addr, true, &shape);
    sc_truth_entries(snapshot, "by_addr", &shape.e);
    sc_truth_map(snapshot, "seen", seen);
    sc_truth(snapshot, "seen", "\"aliased_keys\": %d, \"aliased_values\": %d", aliased_keys,
             aliased_values);
    sc_truth_map(snapshot, "live", live);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
