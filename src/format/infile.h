/*
 * src/format/infile.h -- every input maproot reads: a file, a FIFO or
 * standard input ("-"), gzip or raw, opened once and read as a stream.
 *
 * Why a stream: a FIFO or a pipe can be read only once, so the kind of an
 * input is told from the first bytes that are read anyway (mf_in_peek), and
 * the reader that then takes it gets those same bytes again. Gzip is
 * inflated as the reader asks for content, never ahead of it, so a reader
 * that finds a bad byte stops the inflating there: a decompression bomb
 * costs what was read before the first bad byte, not its inflated size.
 *
 * Memory: every reader is given an mf_limits; what it keeps (and what the
 * analysis of it will need, as far as it can tell) is checked against
 * max_memory as it grows, and the error then says how much is needed:
 * "needs ~N GiB of memory ...; raise --max-memory".
 *
 * Errors: 0 on success, -1 with *err set: "cannot open FILE: REASON",
 * "FILE: read error at byte N: REASON", "FILE: corrupt gzip data ...".
 * Threads: an mf_in is used by one thread.
 */
#ifndef MF_INFILE_H
#define MF_INFILE_H

#include "format/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What a reader may use. max_memory 0 means no limit. */
typedef struct mf_limits {
    uint64_t max_memory;
} mf_limits;

/* The default limit: half of this machine's physical memory (or 4 GiB when
 * that cannot be known), and under an address-space limit (RLIMIT_AS) at
 * most half of what is left of it. */
uint64_t mf_default_max_memory(void);

/* Whether `need` bytes pass the limit: cheap, for callers that would
 * otherwise write the message of mf_limit_check at every step. */
static inline bool mf_limit_passed(const mf_limits *lim, uint64_t need)
{
    return lim && lim->max_memory && need > lim->max_memory;
}

/* Checks that `need` bytes (an estimate of what reading and analysing the
 * input will hold) fit the limit; else sets *err to "NAME: needs ~N of
 * memory for WHAT; raise --max-memory (now M)" and returns -1. */
int mf_limit_check(const mf_limits *lim, uint64_t need, const char *name, const char *what,
                   mf_error *err);

typedef struct mf_in mf_in;

/* Opens path ("-": standard input) for reading. Nothing is read yet. */
mf_in *mf_in_open(const char *path, mf_error *err);
void mf_in_close(mf_in *in);
/* The name used in messages (the path as given). */
const char *mf_in_name(const mf_in *in);

/* The first up to n decoded bytes (inflated when the input is gzip),
 * without consuming them: *p is valid until the next call. *got < n only at
 * the end of the content. */
int mf_in_peek(mf_in *in, size_t n, const uint8_t **p, size_t *got, mf_error *err);

/* Reads up to n decoded bytes; returns how many (0 at the end), or -1. */
ssize_t mf_in_read(mf_in *in, void *buf, size_t n, mf_error *err);

/* The descriptor of a regular file whose content is raw (not gzip), for a
 * reader that would rather map it than stream it; -1 for anything else
 * (pipes, FIFOs, standard input, gzip). Known after the first peek. The
 * descriptor stays the input's. */
int mf_in_regular_fd(const mf_in *in);
/* The size of a regular file's content (raw) or of what was decoded so
 * far plus what a regular gzip file holds compressed: a lower bound of the
 * content's size for memory estimates. 0 when nothing can be told. */
uint64_t mf_in_size_hint(const mf_in *in);

/* The CRC-32 of the content, computed once as it is decoded: gzip input
 * needs it for the trailers anyway, so a reader whose format has a
 * checksum of its own (a snapshot's footer) asks for it rather than
 * computing it a second time. mf_in_track_crc starts it for raw content
 * too; it returns false (and changes nothing) if raw bytes were already
 * read without it, true otherwise. mf_in_crc, once tracking, is the
 * CRC-32 of the decoded bytes handed out by mf_in_read so far (the first
 * mf_in_offset bytes). */
bool mf_in_track_crc(mf_in *in);
uint32_t mf_in_crc(const mf_in *in);

/* Was the input gzip? (Known after the first peek or read.) */
bool mf_in_is_gzip(const mf_in *in);
/* Bytes of the file consumed so far (compressed bytes for gzip). */
uint64_t mf_in_file_offset(const mf_in *in);
/* Decoded bytes handed out by mf_in_read so far. */
uint64_t mf_in_offset(const mf_in *in);

#endif
