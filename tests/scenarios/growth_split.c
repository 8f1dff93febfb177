/*
 * tests/scenarios/growth_split.c -- a map caught mid-growth, its entries
 * split between the old bucket array and the new one, and a big map
 * emptied by deletes.
 *
 * TRUTH. Two globals:
 *   book     map[int64]Quote: a Quote (24 bytes, stored in the slot) holds
 *            two pointers to objects of its entry alone: bid (a blob of 40
 *            bytes; NULL for even keys) and ask (a blob of 32 + 8 * (key %
 *            400) bytes). Filled until an insert starts a doubling of the
 *            bucket array, then 40 more inserts evacuate a few old buckets
 *            (each write evacuates one or two), and the map is only read
 *            after. So the map keeps both arrays, and its entries lie some
 *            in old buckets, some in new ones (the program checks both are
 *            there). Every entry the report lists retains exactly its own
 *            bid and ask wherever its slot lies; entries_retained_bytes is
 *            their sum over all entries; count is the number of entries
 *            (none counted twice); the map retains exactly its objects;
 *            a suspect with the evidence old_buckets.
 *   churn    map[int64]ChurnQuote: a sliding window of 3,000 keys (each
 *            insert deletes the key 3,000 older) until overflow buckets
 *            pile up and an insert starts a same-size growth (the bucket
 *            array is replaced by one of the same size), then 40 more
 *            steps of the window. Its entries lie in old buckets (main and
 *            overflow) and new ones: the same truths as book, and the
 *            evidence old_buckets.
 *   tally    map[int64]int64, keys and values without pointers: the
 *            sliding window of churn up to a same-size growth and 40 more
 *            steps. Its buckets hold no pointer; what keeps its overflow
 *            buckets alive (old and new) are the lists its header holds.
 *            The map retains exactly its objects, lists included; its
 *            entries retain nothing, alone or together; the evidence
 *            old_buckets.
 *   drained  map[int64]Quote that held 60,000 entries, every one of them
 *            deleted: count 0, a table of more than 64 KiB that delete
 *            never shrinks, retaining only that table (delete clears the
 *            slots: the blobs of the deleted entries are garbage). A suspect
 *            with the evidence emptied, retaining exactly its table.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { AFTER_GROWTH = 40, DRAINED = 60000, WINDOW = 3000 };

typedef struct Quote {
    int64_t id;
    uint8_t *bid;
    uint8_t *ask;
} Quote;
MR_TYPE(quote_type, Quote, MR_FIELD(Quote, bid), MR_FIELD(Quote, ask));

static const mr_map_type book_type = {"map[int64]Quote", MR_KEY_INT64, NULL, &quote_type};
static const mr_map_type churn_type = {"map[int64]ChurnQuote", MR_KEY_INT64, NULL, &quote_type};
static const mr_map_type drained_type = {"map[int64]DrainedQuote", MR_KEY_INT64, NULL, &quote_type};
static const mr_map_type tally_type = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};

static mr_map *book;
MR_GLOBAL(book)
static mr_map *drained;
MR_GLOBAL(drained)
static mr_map *churn;
MR_GLOBAL(churn)
static mr_map *tally;
MR_GLOBAL(tally)

static void add_quote(mr_map *m, int64_t k)
{
    uint8_t *bid = k % 2 ? mr_alloc_blob(40) : NULL;
    uint8_t *ask = mr_alloc_blob(32 + 8 * (size_t)(k % 400));
    Quote q = {k, bid, ask};
    mr_map_set(m, &k, &q);
}

__attribute__((noinline)) static void build(void)
{
    book = mr_map_new(&book_type, 0);
    mr_map_info info;
    int64_t k = 0;
    for (sc_map_info(book, &info); !info.oldbuckets || info.B < 10; sc_map_info(book, &info)) {
        if (k > 1000000) sc_fail("the book never started growing");
        add_quote(book, k++);
    }
    for (int i = 0; i < AFTER_GROWTH; i++) add_quote(book, k++);
    for (int64_t j = 0; j < k; j++)
        if (!mr_map_lookup_int(book, j)) sc_fail("quote %" PRId64 " lost", j);

    /* a sliding window of keys: the count stays, overflow buckets pile up
     * until an insert starts a same-size growth (flag 8, as Go's) */
    churn = mr_map_new(&churn_type, 0);
    int64_t c = 0;
    for (sc_map_info(churn, &info); !(info.oldbuckets && (info.flags & 8));
         sc_map_info(churn, &info)) {
        if (c > 20000000) sc_fail("the churn map never started a same-size growth");
        add_quote(churn, c);
        if (c >= WINDOW) mr_map_delete_int(churn, c - WINDOW);
        c++;
    }
    for (int i = 0; i < AFTER_GROWTH; i++) {
        add_quote(churn, c);
        mr_map_delete_int(churn, c - WINDOW);
        c++;
    }
    tally = mr_map_new(&tally_type, 0);
    int64_t t = 0;
    for (sc_map_info(tally, &info); !(info.oldbuckets && (info.flags & 8));
         sc_map_info(tally, &info)) {
        if (t > 20000000) sc_fail("the tally map never started a same-size growth");
        *(int64_t *)mr_map_assign_int(tally, t) = t;
        if (t >= WINDOW) mr_map_delete_int(tally, t - WINDOW);
        t++;
    }
    for (int i = 0; i < AFTER_GROWTH; i++, t++) {
        *(int64_t *)mr_map_assign_int(tally, t) = t;
        mr_map_delete_int(tally, t - WINDOW);
    }
    drained = mr_map_new(&drained_type, 0);
    for (int64_t j = 0; j < DRAINED; j++) add_quote(drained, j);
    for (int64_t j = 0; j < DRAINED; j++) mr_map_delete_int(drained, j);
}

/* Per-entry truth of a map mid-growth, and where its entries lie. */
typedef struct entry_truth {
    sc_entries e;
    uint64_t in_old, in_new;
} entry_truth;

static void on_slot(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    const Quote *q = s->value;
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    sc_entry(&t->e, key, 0, (q->bid ? mr_object_size(q->bid) : 0) + mr_object_size(q->ask));
    if (s->old)
        t->in_old++;
    else
        t->in_new++;
}

/* The truth of a map mid-growth: its entries' own bytes, and where they lie
 * (the program fails when the growth is over or holds no entry on one side). */
static void truth_split(const char *snapshot, const char *label, const mr_map *m)
{
    sc_truth_map(snapshot, label, m);
    entry_truth t = {{0}, 0, 0};
    mr_map_info info;
    sc_map_info(m, &info);
    sc_walk_slots(m, on_slot, &t);
    if (!info.oldbuckets || !t.in_old || !t.in_new) sc_fail("%s is not mid-growth", label);
    sc_truth(snapshot, label, "\"in_old\": %" PRIu64 ", \"in_new\": %" PRIu64, t.in_old, t.in_new);
    sc_truth_entries(snapshot, label, &t.e);
}

static void truths(const char *snapshot)
{
    truth_split(snapshot, "book", book);
    truth_split(snapshot, "churn", churn);
    mr_map_info info;
    sc_map_info(tally, &info);
    if (!info.oldbuckets) sc_fail("tally is not mid-growth");
    sc_truth_map(snapshot, "tally", tally);
    sc_truth_map(snapshot, "drained", drained);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
