/*
 * src/format/pprof.h -- pprof profiles (proto/profile.proto): reader and writer.
 *
 * Reader. mf_profile_read() takes a file (gzip or raw, told apart by content)
 * and decodes it with a wire decoder of its own into a few flat arrays: no
 * allocation per message, ids resolved to array indices once, so that tools
 * can walk millions of stack frames by plain indexing. Everything the profile
 * refers to is checked while decoding; a profile that comes back is
 * consistent:
 *   - string_table[0] is "" and every string index is in range;
 *   - mapping, location and function ids are non-zero and unique;
 *   - every id a sample or line refers to is defined, and every line has a
 *     function (go tool pprof refuses a line without one);
 *   - a location's mapping is "none" when its mapping id is 0 or not defined
 *     (go tool pprof accepts both and reads them so);
 *   - every sample has exactly one value per sample type.
 * Anything else is an error naming the file, the problem and where (the
 * record number and the byte offset in the decoded data).
 *
 * Writer. mf_pw_* build a profile piece by piece, in the order a sampling
 * profiler discovers things: strings and functions are interned, locations can
 * be looked up by address before they are symbolized, samples are encoded as
 * they arrive (so the writer never holds them as structures). mf_pw_write()
 * encodes the profile and writes it, gzipped, by the rule of outfile.h
 * (a regular file is replaced only when complete). The writer does its own protobuf encoding; the
 * output decodes with protoc-c's code for proto/profile.proto and with go tool pprof.
 *
 * Memory: an mf_profile owns all its arrays (mf_profile_free). A writer owns
 * copies of every string given to it (mf_pw_free).
 * Threads: neither is thread-safe; a profile may be read by several threads
 * once built.
 */
#ifndef MF_PPROF_H
#define MF_PPROF_H

#include "format/error.h"
#include "format/gz.h"
#include "format/infile.h"
#include "format/outfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------- reader --- */

/* String fields below are indices into mf_profile.strings. */
typedef struct mf_value_type {
    int64_t type, unit;
} mf_value_type;

typedef struct mf_label {
    int64_t key, str, num, num_unit;
} mf_label;

/* A sample: its stack is locs[loc_start .. loc_start + n_locs) (location
 * indices, leaf first); its values are values[i * n_sample_types ...]. */
typedef struct mf_sample {
    uint32_t loc_start, n_locs;
    uint32_t label_start, n_labels;
} mf_sample;

typedef struct mf_mapping {
    uint64_t id, start, limit, offset;
    int64_t filename, build_id;
    bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} mf_mapping;

/* A source line of a location: function is an index + 1 into functions
 * (never 0 in a profile the reader returns). */
typedef struct mf_line {
    uint32_t function;
    int64_t line;
} mf_line;

/* A location: mapping is an index + 1 into mappings (0: none); its lines are
 * lines[line_start .. line_start + n_lines), innermost first. */
typedef struct mf_location {
    uint64_t id, address;
    uint32_t mapping;
    uint32_t line_start, n_lines;
    bool is_folded;
} mf_location;

typedef struct mf_function {
    uint64_t id;
    int64_t name, system_name, filename, start_line;
} mf_function;

typedef struct mf_profile {
    mf_value_type *sample_types;
    size_t n_sample_types;
    mf_sample *samples;
    size_t n_samples;
    uint32_t *locs; /* location indices of all samples' stacks */
    size_t n_locs;
    int64_t *values; /* n_samples * n_sample_types */
    mf_label *labels;
    size_t n_labels;
    mf_mapping *mappings;
    size_t n_mappings;
    mf_location *locations;
    size_t n_locations;
    mf_line *lines;
    size_t n_lines;
    mf_function *functions;
    size_t n_functions;
    const char **strings; /* NUL-terminated copies */
    uint32_t *string_lens;
    size_t n_strings;
    int64_t *comments; /* string indices */
    size_t n_comments;
    int64_t drop_frames, keep_frames;
    int64_t time_nanos, duration_nanos;
    mf_value_type period_type;
    int64_t period;
    int64_t default_sample_type;
    char *string_arena_; /* private */
} mf_profile;

/* Decodes a raw (not gzipped) profile. `name` is used in messages. On success
 * *out is a new profile; on failure *out is NULL and err says why. */
int mf_profile_parse(const uint8_t *data, size_t n, const char *name, mf_profile **out,
                     mf_error *err);

/* Reads a profile file, gzip or raw ("-" is standard input). */
int mf_profile_read(const char *path, mf_profile **out, mf_error *err);
/* Reads a profile from an input already open (its first bytes may have been
 * peeked), within lim (NULL: no limit). Decodes as it inflates: the first
 * byte that cannot belong to a profile's top level stops the read there. */
int mf_profile_read_in(mf_in *in, const mf_limits *lim, mf_profile **out, mf_error *err);
/* True if decoded content starting with these bytes can be a pprof profile
 * (every complete top-level field in the first 64 bytes is a profile's,
 * with its wire type). */
bool mf_profile_sniff_bytes(const uint8_t *p, size_t n);

void mf_profile_free(mf_profile *p);

/* The string at index i (the profile guarantees indices it holds are valid;
 * out-of-range i gives ""). */
static inline const char *mf_str(const mf_profile *p, int64_t i)
{
    return (i >= 0 && (uint64_t)i < p->n_strings) ? p->strings[i] : "";
}

/* Values of sample s. */
static inline const int64_t *mf_sample_values(const mf_profile *p, size_t s)
{
    return p->values + s * p->n_sample_types;
}

/* ------------------------------------------------------------- writer --- */

typedef struct mf_pprof_writer mf_pprof_writer;

/* A mapping as /proc/self/maps and the ELF notes describe it. Strings may be
 * NULL (""); build_id is conventionally the GNU build ID in lower-case hex. */
typedef struct mf_pw_mapping {
    uint64_t start, limit, offset;
    const char *filename, *build_id;
    bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
} mf_pw_mapping;

/* One source line of a location: a function id from mf_pw_function(). */
typedef struct mf_pw_line {
    uint64_t function_id;
    int64_t line;
} mf_pw_line;

/* A label: numeric when str is NULL (num, with optional num_unit). */
typedef struct mf_pw_label {
    const char *key, *str;
    int64_t num;
    const char *num_unit;
} mf_pw_label;

/* A new, empty writer, or NULL if out of memory. */
mf_pprof_writer *mf_pw_new(void);
void mf_pw_free(mf_pprof_writer *w);

/*
 * Building. Functions returning an id return 0 when out of memory or given bad
 * arguments; functions returning int return 0 or -1. A failure is sticky: the
 * writer remembers the first one and mf_pw_encode/mf_pw_write report it, so a
 * caller may check once at the end.
 */

/* Interns a string (NULL is ""), returning its string-table index (>= 0), or
 * -1 on failure. Index 0 is always "". */
int64_t mf_pw_string(mf_pprof_writer *w, const char *s);

/* Appends a sample type; samples must then carry one value per type, in the
 * order added. All sample types must be added before the first sample. */
int mf_pw_add_sample_type(mf_pprof_writer *w, const char *type, const char *unit);
/* The sampling period and what it measures (heap: "space", "bytes", rate). */
int mf_pw_set_period(mf_pprof_writer *w, const char *type, const char *unit, int64_t period);
void mf_pw_set_time(mf_pprof_writer *w, int64_t time_nanos, int64_t duration_nanos);
/* The sample type tools show by default (its type name, e.g. "inuse_space"). */
int mf_pw_set_default_sample_type(mf_pprof_writer *w, const char *type);
int mf_pw_add_comment(mf_pprof_writer *w, const char *text);
/* pprof's drop_frames / keep_frames regular expressions. */
int mf_pw_set_drop_frames(mf_pprof_writer *w, const char *regex);
int mf_pw_set_keep_frames(mf_pprof_writer *w, const char *regex);

/* Adds a mapping; returns its id (1, 2, ... in order of addition). */
uint64_t mf_pw_add_mapping(mf_pprof_writer *w, const mf_pw_mapping *m);

/* Interns a function by (name, system_name, filename, start_line); returns its
 * id. system_name NULL means the same as name. */
uint64_t mf_pw_function(mf_pprof_writer *w, const char *name, const char *system_name,
                        const char *filename, int64_t start_line);

/* The id of the location added with this (non-zero) address, or 0. Lets a
 * profiler symbolize each program counter once. */
uint64_t mf_pw_find_location(const mf_pprof_writer *w, uint64_t address);

/* Adds a location: mapping_id 0 for none; lines innermost (inlined) first,
 * n_lines may be 0 for an unsymbolized address. A non-zero address is
 * remembered for mf_pw_find_location (an address added twice keeps the first
 * location). Returns the location's id. */
uint64_t mf_pw_add_location(mf_pprof_writer *w, uint64_t mapping_id, uint64_t address,
                            const mf_pw_line *lines, size_t n_lines);

/* Adds a sample: its stack as location ids, leaf first; exactly one value per
 * sample type; labels may be NULL when n_labels is 0. Ids must have been
 * returned by this writer. */
int mf_pw_add_sample(mf_pprof_writer *w, const uint64_t *location_ids, size_t n_locations,
                     const int64_t *values, size_t n_values, const mf_pw_label *labels,
                     size_t n_labels);

/* Number of samples added so far. */
size_t mf_pw_sample_count(const mf_pprof_writer *w);

/* Encodes the profile (raw protobuf, not gzipped) into out (replaced). The
 * writer stays usable: more samples may be added and it may be encoded again. */
int mf_pw_encode(mf_pprof_writer *w, mf_buf *out, mf_error *err);

/* Encodes, gzips (if gzip) and writes to path (outfile.h; "-" is standard
 * output). */
int mf_pw_write(mf_pprof_writer *w, const char *path, bool gzip, mf_error *err);
/* The same into an output already open (taken over: committed on success,
 * abandoned on failure). */
int mf_pw_write_out(mf_pprof_writer *w, mf_out *o, bool gzip, mf_error *err);

#endif
