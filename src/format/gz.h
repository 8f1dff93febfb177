/*
 * src/format/gz.h -- whole-file input and output, gzip or raw.
 *
 * maproot's inputs are small enough to hold in memory once (a 15 MB gzipped
 * profile inflates to about 60 MB) and every parser wants random access, so a
 * file is read into one buffer and, when its first bytes are the gzip magic
 * (1f 8b), inflated into another. The type is decided by content, never by
 * the file name. Outputs go through outfile.h.
 *
 * Errors: every function returns 0 on success and -1 with *err set (one line,
 * naming the file) on failure. Buffers are owned by the caller (mf_buf_free).
 * Thread rules: none; functions touch only their arguments.
 */
#ifndef MF_GZ_H
#define MF_GZ_H

#include "format/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. A zeroed mf_buf is empty and valid. */
typedef struct mf_buf {
    uint8_t *data;
    size_t len, cap;
} mf_buf;

/* Largest decompressed input accepted (a guard against gzip bombs). */
#define MF_MAX_DECODED ((size_t)4 << 30)

void mf_buf_free(mf_buf *b);
/* Makes room for at least `more` further bytes; -1 (err set) if out of memory. */
int mf_buf_reserve(mf_buf *b, size_t more, mf_error *err);
/* Appends n bytes; -1 (err set) if out of memory. */
int mf_buf_append(mf_buf *b, const void *p, size_t n, mf_error *err);

/* True if the bytes start with the gzip magic number. */
bool mf_is_gzip(const uint8_t *p, size_t n);

/* Reads the file's bytes as they are ("-" reads standard input). */
int mf_read_file(const char *path, mf_buf *out, mf_error *err);

/* Inflates gzip data (one or more concatenated members) into out (which is
 * replaced). `name` is used in messages. Truncated or corrupt data, trailing
 * garbage and outputs above MF_MAX_DECODED are errors. */
int mf_gunzip(const uint8_t *in, size_t n, const char *name, mf_buf *out, mf_error *err);

/* Reads a file and returns its content, inflated if it is gzip.
 * *was_gzip (may be NULL) tells which. */
int mf_read_input(const char *path, mf_buf *out, bool *was_gzip, mf_error *err);

struct z_stream_s;
/* For a gzip stream whose input ran out before its member ended: how many
 * bytes of the member's 8-byte trailer (the content's CRC-32 and length)
 * the stream had consumed, 0 to 7, when its deflate data was complete, so
 * that only the trailer is cut; -1 when the deflate data itself is cut (or
 * that cannot be told). Leaves z as it was. */
int mf_gz_trailer_had(struct z_stream_s *z);

/* Compresses data into a gzip stream (level 1-9, or -1 for zlib's default). */
int mf_gzip(const uint8_t *in, size_t n, int level, mf_buf *out, mf_error *err);

#endif
