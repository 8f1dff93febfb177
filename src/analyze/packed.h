/*
 * src/analyze/packed.h -- a store of many small records, packed, that may
 * live on disk.
 *
 * Records of up to MP_PACK_FIELDS unsigned 64-bit fields are appended and
 * then read back by index or in order. Each field is kept as the zigzag
 * varint of its difference from the same field of the record before (the
 * first record of each block of MP_PACK_BLOCK from zero), so a column that
 * changes little (a map index, a bucket, a struct field's offset) costs a
 * byte; a block index makes any record a short decode away.
 *
 * Why: the heap graph has records that only reports and a few passes over
 * them need -- every map entry, every edge's field offset -- and holding
 * them unpacked would cost more than the graph the analysis walks. Packed,
 * they take a fraction; past `spill_bytes` (mp_pack_spill) they move to an
 * unlinked temporary file, and only the block index (8 bytes per block)
 * stays in memory: the out-of-core part of the analysis. Reads then go to
 * the file (the page cache keeps what is read often).
 *
 * Memory: the store owns its buffers and its file (mp_pack_free). Errors:
 * appends never fail one by one; a store that ran out of memory says so in
 * mp_pack_failed. A spill that cannot be written keeps the records in
 * memory. Threads: appends from one thread; once complete, any number of
 * threads may read (mp_pack_get, each with its own cursors).
 */
#ifndef MP_PACKED_H
#define MP_PACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/zeroed.h"

#define MP_PACK_FIELDS 8
#define MP_PACK_BLOCK 64

typedef struct mp_pack {
    unsigned nfields;
    size_t n;                      /* records */
    uint64_t last[MP_PACK_FIELDS]; /* the record before (delta base) */
    uint8_t *buf;                  /* bytes not in the file: all of them until spilled */
    size_t len, cap;
    mf_ahead ahead;       /* buf's pages faulted in ahead of len (zeroed.h) */
    int fd;               /* the spill file, -1 none */
    uint64_t file_len;    /* bytes in the file (the first ones) */
    uint64_t spill_bytes; /* move to a file past this many bytes; 0 never */
    uint64_t *block;      /* byte offset of each block's first record */
    size_t nblock, cap_block;
    bool failed;
} mp_pack;

/* An empty store of records of nfields fields (at most MP_PACK_FIELDS). */
void mp_pack_init(mp_pack *p, unsigned nfields);
/* Moves the records to a temporary file once they pass `bytes` bytes (0:
 * never; the default). Call before the first append. */
void mp_pack_spill(mp_pack *p, uint64_t bytes);
void mp_pack_add(mp_pack *p, const uint64_t *fields);
/* Appends n records of a one-field store (v[i] each): the same bytes as n
 * calls of mp_pack_add, in a fraction of the time. */
void mp_pack_add_column(mp_pack *p, const uint64_t *v, size_t n);
/* Whether an append ran out of memory (the store is then incomplete). */
static inline bool mp_pack_failed(const mp_pack *p)
{
    return p->failed;
}
/* Bytes the store holds in memory, and in all. */
uint64_t mp_pack_memory(const mp_pack *p);
uint64_t mp_pack_bytes(const mp_pack *p);
void mp_pack_free(mp_pack *p);

/* Record i into fields; false when i is beyond the store (or the file could
 * not be read: fields are then zero). */
bool mp_pack_get(const mp_pack *p, size_t i, uint64_t *fields);

/* Reads records in order from `first` on. */
typedef struct mp_pack_cursor {
    const mp_pack *p;
    size_t i;     /* the next record */
    uint64_t pos; /* its first byte in the store */
    uint64_t last[MP_PACK_FIELDS];
    uint8_t *win; /* bytes of the file being read (spilled stores) */
    size_t win_len;
    uint64_t win_off; /* store offset of win[0] */
} mp_pack_cursor;

void mp_pack_cursor_init(mp_pack_cursor *c, const mp_pack *p, size_t first);
/* The next record, or false at the end (or on a read error). */
bool mp_pack_next(mp_pack_cursor *c, uint64_t *fields);
/* Up to max next records into fields (nfields each, one record after
 * another); how many, fewer only at the end (or on a read error). The same
 * records as as many calls of mp_pack_next, for a fraction of the time:
 * a pass over many records pays for the checks once a run. */
size_t mp_pack_next_many(mp_pack_cursor *c, uint64_t *fields, size_t max);
/* Moves the cursor on to record i (not back: a cursor past i stays where
 * it is), so that the next mp_pack_next reads record i. Whole blocks
 * between are jumped over, not decoded: a pass that wants a few records
 * scattered over millions pays at most a block's decoding for each.
 * False at the end (or on a read error). */
bool mp_pack_cursor_skip(mp_pack_cursor *c, size_t i);
void mp_pack_cursor_free(mp_pack_cursor *c);

#endif
