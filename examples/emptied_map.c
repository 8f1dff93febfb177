/*
 * examples/emptied_map.c -- leak pattern 3: a map that grew large, was
 * emptied, and never shrinks.
 *
 * An ingest service buffers incoming records in a map[int64]Record keyed by
 * sequence number until they are flushed; records are stored by value (a
 * 48-byte struct, inline in the buckets). A burst at startup put 400,000
 * records in the buffer; the flusher then deleted every one of them. Like Go's
 * maps, ours never shrink on delete: the bucket array sized for the burst
 * stays allocated for the life of the map, although the map is empty. In a
 * long-running service that one burst costs its peak table size forever.
 */
#include "example.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

enum { BURST = 400000 };

typedef struct Record {
    int64_t seq;
    int64_t timestamp_ns;
    int64_t source;
    int64_t length;
    int64_t checksum;
    int64_t flags;
} Record;

MR_TYPE_NOPTR(record_type, Record);

static const mr_map_type buffer_map_type = {
    .name = "map[int64]Record",
    .key_kind = MR_KEY_INT64,
    .key_type = NULL,
    .value_type = &record_type,
};

/* The ingest buffer: sequence number -> Record. */
static mr_map *ingest_buffer;
MR_GLOBAL(ingest_buffer)

static void receive(int64_t seq)
{
    Record *r = mr_map_assign(ingest_buffer, &seq);
    r->seq = seq;
    r->timestamp_ns = seq * 1000;
    r->source = seq % 16;
    r->length = 100 + seq % 900;
    r->checksum = seq * 2654435761;
}

/* Writes out every buffered record and removes it from the buffer. */
static int64_t flush_all(int64_t first, int64_t last)
{
    int64_t sum = 0;
    for (int64_t seq = first; seq <= last; seq++) {
        Record r;
        if (mr_map_get(ingest_buffer, &seq, &r)) sum += r.length;
        mr_map_delete(ingest_buffer, &seq);
    }
    return sum;
}

static void print_info(const char *when)
{
    mr_map_info info;
    example_map_info(ingest_buffer, &info);
    uint64_t nbuckets = (uint64_t)1 << info.B;
    printf("emptied_map: %-14s len %7" PRIu64 "  B=%2u  %7" PRIu64
           " buckets x %zu bytes = %6.1f MiB"
           "%s\n",
           when, info.count, info.B, nbuckets, info.bucket_size,
           (double)(nbuckets * info.bucket_size) / (1 << 20), info.oldbuckets ? "  (growing)" : "");
}

int main(void)
{
    ingest_buffer = mr_map_new(&buffer_map_type, 0);
    for (int64_t seq = 1; seq <= BURST; seq++) receive(seq);
    print_info("after burst:");
    int64_t bytes = flush_all(1, BURST);
    print_info("after flush:");
    printf("emptied_map: flushed %d records (%" PRId64 " payload bytes)\n\n", BURST, bytes);

    mr_map_info info;
    example_map_info(ingest_buffer, &info);
    if (info.count != 0 || info.B < 15) return 1; /* the example must show the leak */

    example_report(
        "emptied_map",
        "ingest_buffer is empty (len 0), yet its bucket array still has room for 400,000 "
        "records: a burst grew the map to 2^B buckets and deleting every entry did not "
        "give any of them back, because a map never shrinks on delete (the same holds "
        "for mr_map_clear, and for Go's maps). Almost all of heap_alloc above is that "
        "empty table, retained by the global ingest_buffer. Fix: after a bulk delete, "
        "replace the map with a new one (ingest_buffer = mr_map_new(...)) so the old "
        "table becomes garbage.");
    return 0;
}
