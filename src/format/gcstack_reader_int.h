/*
 * src/format/gcstack_reader_int.h -- what the two halves of the gcstack
 * reader share: gcstack_reader.c (the stream of records, the tables, the
 * objects, roots, maps, samples and footer) and gcstack_batches.c (the edge
 * and bucket batches, which are decoded on several threads). Not for use
 * outside the reader.
 */
#ifndef MF_GCSTACK_READER_INT_H
#define MF_GCSTACK_READER_INT_H

#include "format/addr_rank.h"
#include "format/gcstack_reader.h"
#include "format/grow.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* A growable array of T (T a plain type); counts are checked. */
#define VEC(T)                                                                                     \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t n, cap;                                                                             \
    }

typedef VEC(uint64_t) vec64;
typedef VEC(uint32_t) vec32;

/* Appends x to a VEC; okvar becomes false when out of memory. */
#define VEC_PUSH(vec, x, okvar)                                                                    \
    do {                                                                                           \
        if (!MF_GROW((vec).v, (vec).cap, (vec).n + 1, 64)) {                                      \
            okvar = false;                                                                         \
        } else {                                                                                   \
            (vec).v[(vec).n++] = (x);                                                              \
        }                                                                                          \
    } while (0)

/* The first index in [lo, hi) whose address is above a (hi if none):
 * addr is sorted. The object holding a, if any, is the one before it. */
static inline size_t mf_gsr_upper(const uint64_t *addr, size_t lo, size_t hi, uint64_t a)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr[mid] <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* What decoding a batch writes besides its result: its own columns, so that
 * batches decode on several threads at once. c[10] and c[11] gather the
 * pointers of a bucket batch, c[12] is mf_gsr_resolve_many's. */
typedef struct mf_gsr_scratch {
    vec64 c[13];
    VEC(mf_gs_bucket) bk;
    VEC(mf_gs_entry) en;
    VEC(const uint8_t *) texts;
    vec32 text_lens;
    char *keybuf;
    size_t keybuf_cap;
} mf_gsr_scratch;

void mf_gsr_scratch_free(mf_gsr_scratch *s);

/* What the reader keeps of a map past its Map record: what decoding and
 * checking its bucket batches need and what the footer checks, 80 bytes
 * where the record is 160 (a heap of millions of tiny maps holds one per
 * map until the read ends, each written once: fresh memory). Invariant:
 * buckets_seen <= nbuckets_walked and entries_seen <= nentries
 * (commit_buckets refuses a batch past them). */
typedef struct mf_gsr_map {
    uint64_t address, buckets, oldbuckets, bucket_size;
    uint64_t nbuckets_walked, nentries;  /* as its Map record announces */
    uint64_t buckets_seen, entries_seen; /* in the batches committed so far */
    const char *type_name;               /* in the string table (never moves) */
    uint8_t B, key_kind;
    /* the old bucket array's buckets (on_map checked them): 0 none,
     * 1 half of 2^B (a doubling), 2 all of 2^B (a same-size growth) */
    uint8_t old_buckets;
} mf_gsr_map;

/* Map m's count of old buckets, as its Map record gave it. */
static inline uint64_t mf_gsr_noldbuckets(const mf_gsr_map *m)
{
    return m->old_buckets ? ((uint64_t)1 << m->B) >> (m->old_buckets == 1) : 0;
}

/* Map mi as the on_buckets callback sees it (gcstack_reader.h). */
void mf_gsr_map_view(const mf_gsr_map *k, uint64_t mi, mf_gs_map *out);

struct mf_gs_reader {
    const char *name;
    mf_error *err;
    const mf_gs_callbacks *cb;
    /* input */
    mf_in *in;
    bool done;
    uint8_t *win; /* decompressed content window */
    size_t win_len, win_pos, win_cap;
    uint64_t content_off; /* content offset of win[win_pos] */
    /* state */
    uint64_t recno;
    int phase; /* 0 before header, 1 objects, 2 edges, 3 rest, 4 after footer */
    uint32_t crc;
    /* in_crc: the input keeps the CRC-32 of the content (mf_in_crc), and
     * crc is worked out from it at the footer rather than computed record
     * by record; crc_base is the input's CRC at crc_base_off, where the
     * reader began */
    bool in_crc;
    uint32_t crc_base;
    uint64_t crc_base_off;
    mf_gs_header header;
    char *h_program, *h_build_id, *h_writer;
    mf_gs_footer footer, seen;
    /* tables */
    VEC(char *) strings;
    VEC(mf_gs_type) types;
    VEC(mf_gs_symbol) symbols;
    vec32 stack_data;
    VEC(uint32_t) stack_start; /* n + 1 entries once any stack is read */
    VEC(mf_gsr_map) maps;
    /* the first map whose header's count is not its entries' (checked at
     * the footer, after its buckets and entries): UINT64_MAX none */
    uint64_t count_bad_map, count_bad;
    /* the maps whose Map records announce buckets or entries, and those of
     * them whose batches so far hold all (commit state, like seen.buckets):
     * the footer looks for a wrong map only when the two differ or a count
     * is wrong (a walk over every map costs a cache miss for each on a heap
     * of millions of small maps). Invariant: maps_full <= maps_listing. */
    uint64_t maps_listing, maps_full;
    /* objects */
    vec64 addr, size;
    vec32 type;
    /* faults in the columns' pages ahead of on_objects, NULL when not
     * running (prefault.h); stopped before the columns move or are done */
    struct mf_prefault *objs_pf;
    /* the index over the objects, built once they are complete (see
     * mf_gsr_index_objects): the rank index (addr_rank.h) where it fits,
     * else the page index: pg_first[p] is the first object starting at or
     * after pg_base + (p << pg_shift); pg_n + 1 entries */
    mf_addr_rank rank;
    uint32_t *pg_first;
    size_t pg_n;
    uint64_t pg_base, pg_end;
    unsigned pg_shift;
    uint64_t edge_next;
    /* the last EdgeBatch continues object edge_next (EdgeBatch.continues):
     * its edges so far end at offset cont_off1 - 1 (0: it has none yet) */
    bool cont;
    uint64_t cont_off1;
    /* scratch of the batches decoded on this thread */
    mf_gsr_scratch s;
    /* the threads that decode edge and bucket batches (gcstack_batches.c),
     * NULL while none is running */
    struct mf_gsr_pool *pool;
    /* Nothing handed to the threads is in flight, and the commits' state
     * (edge_next, cont, cont_off1, seen, maps_full) is this reader's, not
     * the pool's: true from a barrier to the next hand-over. Read and
     * written by the reader thread alone. */
    bool pool_idle;
};

/* One field of a message. */
typedef struct fld {
    uint32_t num, wt;
    uint64_t v;
    const uint8_t *p;
    size_t len;
} fld;

/* Errors name the file and the record (r->recno; 1 = the header). */
int mf_gsr_fail(mf_gs_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mf_gsr_oom(mf_gs_reader *r);
/* The next field of a message in [*pp, end); 1 if one was read, 0 at the
 * end, -1 on malformed input. */
int mf_gsr_next_fld(mf_gs_reader *r, const uint8_t **pp, const uint8_t *end, fld *f,
                    const char *msg);
int mf_gsr_want_v(mf_gs_reader *r, const fld *f, const char *msg);
int mf_gsr_want_len(mf_gs_reader *r, const fld *f, const char *msg);
/* Appends a repeated varint field (packed or not) to out. */
int mf_gsr_get_col(mf_gs_reader *r, const fld *f, vec64 *out, const char *msg);
/* The records after the edges need every object and its edges. */
int mf_gsr_enter_rest(mf_gs_reader *r, const char *what);

/* The object columns are complete, or about to move or go: stops faulting
 * in their pages ahead (r->objs_pf). */
void mf_gsr_objects_done(mf_gs_reader *r);

/* gcstack_batches.c: the index over the objects (once they are
 * complete; nothing when there is one), resolving pointers, and the edge
 * and bucket batches. */
void mf_gsr_index_objects(mf_gs_reader *r);
int mf_gsr_resolve(mf_gs_reader *r, uint64_t ptr, uint64_t *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An EdgeBatch or BucketBatch record (its message in [p, end)): decoded at
 * once, or handed to the decoding threads when they run (their callbacks
 * then come in file order, from whichever thread finishes a batch). */
int mf_gsr_edges(mf_gs_reader *r, const uint8_t *p, const uint8_t *end);
int mf_gsr_buckets(mf_gs_reader *r, const uint8_t *p, const uint8_t *end);
/* Waits until every batch handed over is done and its callback made;
 * -1 (with the first failure, in file order, in r->err) if any failed. */
int mf_gsr_barrier(mf_gs_reader *r);
/* Stops the decoding threads (after a barrier or a failure). */
void mf_gsr_pool_stop(mf_gs_reader *r);
/* After a Map record (which came after a barrier): the threads see the
 * new map. */
void mf_gsr_maps_changed(mf_gs_reader *r);

#endif
