/*
 * src/format/addr_rank.h -- the object holding an address, found with one
 * cache line read.
 *
 * Why: a snapshot reader resolves every pointer of the heap (each edge
 * target, each map bucket and entry) to the index of the object holding it.
 * A search over the sorted addresses, even narrowed by an index of pages,
 * reads the index, then the addresses, then the sizes: three dependent
 * cache misses a pointer on a heap of millions of objects, and the misses
 * are most of the time. Here the span of the heap is cut into granules (the
 * greatest power of two dividing every object's offset from the first and
 * every size, so a granule never holds parts of two objects or of an object
 * and a gap), and each group of MF_RANK_GROUP granules gets one 64-byte,
 * line-aligned record: a bit per granule "an object starts here", a bit per
 * granule "this is inside an object", and the rank of the group -- the
 * index of the first object starting at or after it. A pointer's object is
 * then its group's rank, plus the objects starting in the group up to its
 * granule, minus one; no address or size is read.
 *
 * Memory: 64 bytes per MF_RANK_GROUP granules of span. A sparse heap (few
 * objects scattered over a wide span, or addresses with odd offsets, which
 * make granules of a byte) would need more than the page index it replaces
 * (about 8 bytes an object): then no index is built and the caller keeps
 * its own way.
 *
 * Threads: built on one thread; once built, any number may read it.
 */
#ifndef MF_ADDR_RANK_H
#define MF_ADDR_RANK_H

#include "format/bits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Granules per record: two bitmaps of this many bits and a 32-bit rank
 * fill a cache line. */
#define MF_RANK_GROUP 224

/* One group's record. Invariant: bit j of start (j < MF_RANK_GROUP) is set
 * iff an object starts in the group's granule j; bit j of inside iff an
 * object holds that granule; start[3] >> 32 is the index of the first
 * object starting at or after the group's first granule; byte 4 + w of
 * inside[3] (w < 4) counts the objects starting in start[0 .. w - 1], so
 * a lookup counts the bits of one word only. */
typedef struct mf_rank_line {
    uint64_t start[4];
    uint64_t inside[4];
} mf_rank_line;

typedef struct mf_addr_rank {
    mf_rank_line *lines; /* NULL: no index */
    uint64_t base, span; /* the first object's address; to the last one's end */
    unsigned shift;      /* a granule is 1 << shift bytes */
} mf_addr_rank;

/* Builds the index over n objects, addr increasing, objects [addr[i],
 * addr[i] + size[i]) not overlapping, sizes at least 1, n < UINT32_MAX.
 * false, x left without an index, when the objects break those rules, when
 * the index would take more than 8 bytes an object (sparse heaps, see
 * above) or memory is lacking. */
bool mf_addr_rank_build(mf_addr_rank *x, const uint64_t *addr, const uint64_t *size, size_t n);
/* Frees the index; x is then without one. */
void mf_addr_rank_free(mf_addr_rank *x);

/* The index of the object holding address a (UINT64_MAX if none): what a
 * search of the objects x was built over would answer. x has an index. */
static inline uint64_t mf_addr_rank_find(const mf_addr_rank *x, uint64_t a)
{
    uint64_t off = a - x->base; /* wraps far out of the span below base */
    if (off >= x->span) return UINT64_MAX;
    uint64_t g = off >> x->shift;
    const mf_rank_line *l = &x->lines[g / MF_RANK_GROUP];
    unsigned j = (unsigned)(g % MF_RANK_GROUP), w = j / 64;
    uint64_t bit = (uint64_t)1 << (j % 64);
    if (!(l->inside[w] & bit)) return UINT64_MAX;
    /* the objects starting in the group up to granule j: those of the
     * words before w, kept, and those of word w (start[3]'s upper half,
     * the rank, lies past granule 223 and is never counted) */
    uint64_t c = (l->inside[3] >> (32 + 8 * w)) & 0xff;
    c += (uint64_t)mf_popcount64(l->start[w] & (bit | (bit - 1)));
    return (l->start[3] >> 32) + c - 1; /* c or the rank >= 1: a is inside */
}

/* Whether an object starts exactly at address a: what comparing a with
 * the start of the object holding it would answer, from the line
 * mf_addr_rank_find(x, a) reads (an object starts at a granule's first
 * byte, and a granule holds a part of one object at most). x has an
 * index. */
static inline bool mf_addr_rank_starts(const mf_addr_rank *x, uint64_t a)
{
    uint64_t off = a - x->base;
    if (off >= x->span || (off & (((uint64_t)1 << x->shift) - 1))) return false;
    uint64_t g = off >> x->shift;
    const mf_rank_line *l = &x->lines[g / MF_RANK_GROUP];
    unsigned j = (unsigned)(g % MF_RANK_GROUP);
    return (l->start[j / 64] >> (j % 64)) & 1;
}
/* Asks for the line mf_addr_rank_find(x, a) will read: for callers that
 * resolve many pointers, to have several misses in flight at once. */
static inline void mf_addr_rank_prefetch(const mf_addr_rank *x, uint64_t a)
{
    uint64_t off = a - x->base;
    if (off < x->span) __builtin_prefetch(&x->lines[(off >> x->shift) / MF_RANK_GROUP]);
}

#endif
