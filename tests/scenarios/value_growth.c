/*
 * tests/scenarios/value_growth.c -- maps whose entries stay put while
 * their values grow: a fixed set of connections, each with a log that is
 * only appended to, and a fixed set of shards, each with a slice of items
 * that is only appended to (reallocated, doubling, as append does).
 *
 * TRUTH. Six in-process snapshots "s0" .. "s5", one after each step:
 *   conns   global map[int64]*Conn of exactly 64 connections (keys 0 ..
 *           63, made at step 0, never added to nor removed). Each step
 *           puts 60 new LogRecs (each with a 112-byte blob) at the head
 *           of every Conn's log, a list nothing else refers to. The same
 *           keys in every snapshot, more retained bytes in each: the diff
 *           of any two snapshots says +0 -0, the same count, retained
 *           bytes the runtime's own, and growing (values that grow are
 *           growth, though no key is new); `maproot diff --fail-on
 *           growth` fails on it; the gate fails it on the growth rule (its
 *           retained bytes grow in every interval, by about 0.5 MiB).
 *           Each snapshot: a suspect (large_share) retaining exactly its
 *           objects; every entry listed retains exactly its Conn, its log
 *           and their blobs.
 *   shards  global map[int64]*Shard of exactly 16 shards; each step
 *           appends 200 Items (each with a 112-byte blob) to every Shard's
 *           items, an array of pointers reallocated at twice the size when
 *           full (the old array is garbage). Same truths as conns: its
 *           values grow.
 *   steady  global map[int64]*Entry of exactly 500 entries: each step
 *           replaces the values of 100 keys with new Entries of the same
 *           size (the old ones are garbage). Same keys, the same retained
 *           bytes in every snapshot: not growing, and the gate passes it.
 * The snapshot at exit ("exit") sees the heap of "s5".
 */
#include "scenario.h"

enum { STEPS = 6, CONNS = 64, LOG_STEP = 60, LOG_BLOB = 112 };
enum { SHARDS = 16, ITEM_STEP = 200, ITEM_BLOB = 112, STEADY = 500, REPLACED = 100 };

typedef struct LogRec {
    struct LogRec *next;
    uint8_t *line;
} LogRec;
MR_TYPE(logrec_type, LogRec, MR_FIELD(LogRec, next), MR_FIELD(LogRec, line));

typedef struct Conn {
    int64_t id;
    LogRec *log;
} Conn;
MR_TYPE(conn_type, Conn, MR_FIELD(Conn, log));

typedef struct Shard {
    int64_t id;
    sc_item **items; /* an array object of cap pointers */
    size_t n, cap;
} Shard;
MR_TYPE(shard_type, Shard, MR_FIELD(Shard, items));

SC_ITEM_TYPE(item_type, Item);
SC_ITEM_TYPE(entry_type, Entry);

static const mr_map_type conns_type = {"map[int64]*Conn", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type shards_type = {"map[int64]*Shard", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type steady_type = {"map[int64]*Entry", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *conns, *shards, *steady;
MR_GLOBAL(conns)
MR_GLOBAL(shards)
MR_GLOBAL(steady)

/* Appends it to s's items, reallocating the array at twice its size when
 * it is full, as a slice's append does. */
static void shard_append(Shard *s, sc_item *it)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        sc_item **a = mr_new_array(&mr_type_pointer, cap);
        if (s->n) memcpy(a, s->items, s->n * sizeof *a);
        s->items = a;
        s->cap = cap;
    }
    s->items[s->n++] = it;
}

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    if (s == 0) {
        conns = mr_map_new(&conns_type, 0);
        shards = mr_map_new(&shards_type, 0);
        steady = mr_map_new(&steady_type, 0);
        for (int64_t k = 0; k < CONNS; k++) {
            Conn *c = mr_new(&conn_type);
            c->id = k;
            *(Conn **)mr_map_assign_int(conns, k) = c;
        }
        for (int64_t k = 0; k < SHARDS; k++) {
            Shard *sh = mr_new(&shard_type);
            sh->id = k;
            *(Shard **)mr_map_assign_int(shards, k) = sh;
        }
        sc_fill(steady, &entry_type, 0, STEADY, 96);
    }
    for (int64_t k = 0; k < CONNS; k++) {
        Conn *c = *(Conn **)mr_map_lookup_int(conns, k);
        for (int i = 0; i < LOG_STEP; i++) {
            LogRec *r = mr_new(&logrec_type);
            r->line = mr_alloc_blob(LOG_BLOB);
            r->next = c->log;
            c->log = r;
        }
    }
    for (int64_t k = 0; k < SHARDS; k++) {
        Shard *sh = *(Shard **)mr_map_lookup_int(shards, k);
        for (int i = 0; i < ITEM_STEP; i++)
            shard_append(sh, sc_new_item(&item_type, (int64_t)sh->n, ITEM_BLOB));
    }
    if (s > 0) sc_fill(steady, &entry_type, (int64_t)(s % 5) * REPLACED, REPLACED, 96);
}

/* An entry of conns: its Conn, every LogRec of its log and their blobs. */
static void conn_slot(const mr_map_slot *sl, void *ud)
{
    const Conn *c = *(Conn *const *)sl->value;
    uint64_t bytes = mr_object_size(c);
    for (const LogRec *r = c->log; r; r = r->next)
        bytes += mr_object_size(r) + mr_object_size(r->line);
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)sl->key);
    sc_entry(ud, key, 0, bytes);
}

/* An entry of shards: its Shard, its items array, its Items and blobs. */
static void shard_slot(const mr_map_slot *sl, void *ud)
{
    const Shard *sh = *(Shard *const *)sl->value;
    uint64_t bytes = mr_object_size(sh) + mr_object_size(sh->items);
    for (size_t i = 0; i < sh->n; i++)
        bytes += mr_object_size(sh->items[i]) + mr_object_size(sh->items[i]->blob);
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)sl->key);
    sc_entry(ud, key, 0, bytes);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "conns", conns);
    sc_truth_slots(snapshot, "conns", conns, conn_slot);
    sc_truth_map(snapshot, "shards", shards);
    sc_truth_slots(snapshot, "shards", shards, shard_slot);
    sc_truth_map(snapshot, "steady", steady);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(sc_steps(STEPS, step, truths));
    if (mr_map_len(conns) != CONNS || mr_map_len(shards) != SHARDS || mr_map_len(steady) != STEADY)
        sc_fail("the maps have the wrong counts");
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}
