/*
 * src/analyze/radix.h -- sorting arrays of plain unsigned integers (object
 * indices, and pairs of them packed into 64 bits) in linear time.
 *
 * Why: building the graph and judging the maps sort arrays of object
 * indices as large as the heap's map tables and bucket lists; a comparison
 * sort spends a call and a comparison per element per halving, twenty
 * of them at a million, where a least-significant-digit radix sort reads
 * and writes each element once per byte that varies.
 *
 * The result is qsort's with a numeric comparison (equal values cannot be
 * told apart). Memory: a temporary array as large as the input, as the C
 * library's merge sort takes; without it, qsort in place. Threads: any.
 */
#ifndef MP_RADIX_H
#define MP_RADIX_H

#include <stddef.h>
#include <stdint.h>

void mp_sort_u32(uint32_t *v, size_t n);
void mp_sort_u64(uint64_t *v, size_t n);
/* The same for pairs (key << 32 | low) whose low halves never decrease along v
 * (e.g. record indices, made in order): a stable sort by key alone, which
 * gives mp_sort_u64's order with half the passes. */
void mp_sort_u64_high(uint64_t *v, size_t n);

/* Key k (0: the most significant) of record rec, for mp_sort_records. */
typedef uint32_t (*mp_sort_key)(const void *rec, unsigned k, void *ctx);

/*
 * Sorts n records of `size` bytes (at most MP_SORT_RECORD_MAX) by their
 * keys 0 .. nkeys-1 (at most MP_SORT_KEYS_MAX) as unsigned numbers, key
 * 0 first: a comparison sort's order for the records' keys, and stable
 * (records of equal keys keep their order), as a merge sort is. A pass
 * per byte of a key that varies: keys every record shares cost one read.
 * 0 when out of memory (v untouched), 1 sorted. Memory: a copy of the
 * records.
 */
#define MP_SORT_RECORD_MAX 64
#define MP_SORT_KEYS_MAX 8
int mp_sort_records(void *v, size_t n, size_t size, unsigned nkeys, mp_sort_key key, void *ctx);

#endif
