/*
 * src/format/wire.h -- protobuf wire primitives shared by the format modules
 * that encode and decode by hand (gcstack_writer.c, gcstack_reader.c, pprof.c,
 * pprof_writer.c).
 *
 * Varints are little-endian base-128; zigzag maps signed to unsigned so that
 * small negative numbers stay short. Encoders write into a caller-sized
 * buffer (at most 10 bytes per varint); the decoder never reads past `end`.
 * Header-only: every function is a small static inline.
 */
#ifndef MF_WIRE_H
#define MF_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { MF_WT_VARINT = 0, MF_WT_I64 = 1, MF_WT_LEN = 2, MF_WT_I32 = 5 };

/* Longest varint: 10 bytes. */
#define MF_VARINT_MAX 10

static inline uint8_t *mf_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline size_t mf_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint64_t mf_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t mf_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Reads a varint from [p, end); NULL if truncated or longer than 10 bytes. */
static inline const uint8_t *mf_get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (p < end && *p < 0x80) {
        *v = *p;
        return p + 1;
    }
    uint64_t r = 0;
    for (int shift = 0; shift < 70 && p < end; shift += 7) {
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return p;
        }
    }
    return NULL;
}

/* The same with no bound check, for a caller that knows MF_VARINT_MAX bytes
 * follow p: the decoders' loops over long runs of varints, whose check of
 * every byte was a good part of their cost. Same value, same NULL. */
static inline const uint8_t *mf_get_varint_unchecked(const uint8_t *p, uint64_t *v)
{
    uint64_t r = *p++;
    if (r >= 0x80) {
        r &= 0x7f;
        for (int shift = 7;; shift += 7) {
            uint64_t b = *p++;
            r |= (b & 0x7f) << shift;
            if (!(b & 0x80)) break;
            if (shift == 7 * (MF_VARINT_MAX - 1)) return NULL;
        }
    }
    *v = r;
    return p;
}

/* Decodes the packed varints of [p, end) into out (room for end - p values:
 * each takes a byte at least); *n is how many. NULL if one is truncated or
 * longer than MF_VARINT_MAX bytes. Why not mf_get_varint in a loop: most
 * packed columns are runs of one-byte varints (counts, offsets, small
 * deltas), taken here eight at a time, and the rest need no bound check
 * while a whole varint surely fits; only the last bytes are checked. */
static inline const uint8_t *mf_get_packed_varints(const uint8_t *p, const uint8_t *end,
                                                   uint64_t *out, size_t *n)
{
    uint64_t *o = out;
    while (end - p >= 2 * MF_VARINT_MAX) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        if (!(w & 0x8080808080808080ull)) {
            for (int k = 0; k < 8; k++) o[k] = p[k];
            o += 8;
            p += 8;
        } else if (!(p = mf_get_varint_unchecked(p, o++))) {
            return NULL;
        }
    }
    while (p < end)
        if (!(p = mf_get_varint(p, end, o++))) return NULL;
    *n = (size_t)(o - out);
    return p;
}

#endif
