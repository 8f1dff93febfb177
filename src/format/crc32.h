/*
 * src/format/crc32.h -- CRC-32 (the gzip polynomial, as zlib's crc32) at
 * memory speed, and its arithmetic.
 *
 * Why not zlib's alone: a snapshot's content is checksummed in full on every
 * read (gzip's trailer and the snapshot footer share the one pass), and
 * zlib's table-driven CRC runs at ~1.2 GB/s here, a sizeable part of reading
 * a stored (level 0) snapshot. Where the processor multiplies carry-less
 * (x86-64 PCLMULQDQ), 64-byte blocks are folded with it; everything else,
 * and the few bytes at either end, goes to zlib. The value is zlib's in
 * every case.
 *
 * Threads: none; functions touch only their arguments.
 */
#ifndef MF_CRC32_H
#define MF_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* zlib's crc32(crc, p, n): the CRC-32 of the bytes before (crc) followed
 * by p[0..n). mf_crc32(0, NULL, 0) is 0, the CRC of nothing. */
uint32_t mf_crc32(uint32_t crc, const void *p, size_t n);

/* The CRC-32 of A from that of A followed by B, B's CRC-32 and length:
 * zlib's crc32_combine undone. */
uint32_t mf_crc32_uncombine(uint32_t crc_ab, uint32_t crc_b, uint64_t len_b);

#endif
