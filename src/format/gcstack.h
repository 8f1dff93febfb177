/*
 * src/format/gcstack.h -- root snapshots (proto/gcstack.proto): streaming
 * writer and streaming reader.
 *
 * Writer. mf_gsw_* write one snapshot as the collector walks the heap: tables
 * (strings, types, symbols, stacks) are interned and written before their
 * first use, objects and edges are packed into columnar batches, and the
 * stream is gzipped and written to a temporary file beside the target as it
 * goes; mf_gsw_finish() writes the footer and renames the file into place,
 * mf_gsw_abort() removes it. The writer never holds more than one batch of
 * each kind. The caller must respect the record order of the format: header,
 * all objects (increasing addresses), edges of every object in the same order,
 * then roots, maps with their buckets and samples in any order, finish.
 *
 * Reader. mf_gs_read() inflates the file piece by piece (never the whole
 * content at once) and calls back for each record with everything resolved:
 * pointers become dense object indices (objects are numbered 0.. in address
 * order), table indices become checked indices, map keys are rendered. It
 * keeps only the tables and three arrays per object (address, size, type),
 * which stay available to the caller afterwards (the issue-5 loader builds
 * its graph from them and from the edge callbacks). Unknown fields and record
 * kinds are skipped. Everything contradictory is an error naming the file,
 * the record number (1 = the header) and what is wrong:
 *   - a missing or misplaced header or footer, records after the footer,
 *     a truncated stream, a footer whose counts or CRC disagree;
 *   - objects out of address order, overlapping, or misaligned; edges that do
 *     not cover the objects in order; a pointer (edge target, root, key or
 *     value object, sample) that lies in no object;
 *   - a table index out of range; a map entry outside its bucket array
 *     (an index beyond 2^B, a main bucket that is not where the bucket array
 *     says), a slot that is not occupied, a map whose entries or buckets do not
 *     add up to what its header and Map record say.
 *
 * Memory: the writer owns copies of what it is given; the reader owns all it
 * returns, valid until mf_gs_reader_free (callback arguments: only during the
 * callback). Threads: neither is thread-safe; a finished reader may be read
 * by several threads.
 */
#ifndef MF_GCSTACK_H
#define MF_GCSTACK_H

#include "format/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_GS_MAGIC "maproot.gcstack"
#define MF_GS_VERSION 2u /* written; the reader reads versions 1 and 2 */
#define MF_GS_GRANULE 8u
#define MF_GS_NONE UINT64_MAX /* "no object" in resolved references */

typedef enum mf_gs_write_mode {
    MF_GS_MODE_UNKNOWN = 0,
    MF_GS_MODE_FORK = 1,
    MF_GS_MODE_STOPPED = 2,
} mf_gs_write_mode;

/* proto RootKind, TypeKind and KeyKind: the same numbers as the runtime's
 * mr_root_kind, mr_type_kind and mr_key_kind. */
enum {
    MF_GS_ROOT_GLOBAL,
    MF_GS_ROOT_STACK,
    MF_GS_ROOT_REGISTER,
    MF_GS_ROOT_PIN,
    MF_GS_ROOT_ITERATOR,
    MF_GS_ROOT_RUNTIME,
    MF_GS_ROOT_NKINDS
};
enum {
    MF_GS_KIND_STRUCT,
    MF_GS_KIND_ARRAY,
    MF_GS_KIND_BLOB,
    MF_GS_KIND_STRING,
    MF_GS_KIND_MAP_HEADER,
    MF_GS_KIND_BUCKET,
    MF_GS_KIND_RUNTIME,
    MF_GS_NKINDS
};
enum { MF_GS_KEY_INT64, MF_GS_KEY_PTR, MF_GS_KEY_STRING, MF_GS_KEY_BYTES };

const char *mf_gs_root_kind_name(uint32_t kind);  /* "global", "stack", ... */
const char *mf_gs_type_kind_name(uint32_t kind);  /* "struct", "array", ... */
const char *mf_gs_write_mode_name(uint32_t mode); /* "fork", "stopped", "unknown" */

typedef struct mf_gs_memstats {
    uint64_t heap_alloc, heap_sys, heap_inuse, heap_objects, total_alloc, mallocs, frees, next_gc,
        last_gc_ns, pause_total_ns;
    uint32_t num_gc;
    int32_t gc_percent;
} mf_gs_memstats;

/* Strings are NUL-terminated; the writer copies them. */
typedef struct mf_gs_header {
    uint32_t version;
    const char *program, *build_id, *writer;
    uint64_t pid;
    int64_t time_nanos;
    uint32_t gc_cycle;
    uint32_t pointer_size;
    uint64_t profile_rate;
    uint32_t write_mode; /* mf_gs_write_mode */
    uint32_t address_granule;
    mf_gs_memstats memstats;
} mf_gs_header;

/* A type table entry. Reader: name is the resolved string; elem is a type
 * index + 1 (0 none). */
typedef struct mf_gs_type {
    const char *name;
    uint64_t size;
    const uint32_t *ptr_offsets;
    uint32_t nptrs;
    uint32_t kind;
    uint32_t elem;
} mf_gs_type;

typedef struct mf_gs_symbol {
    uint64_t address;
    const char *function, *file;
    int64_t line;
} mf_gs_symbol;

/* A root. Writer: target is the pointer value; symbol is a symbol index + 1
 * (0 none). Reader: target is the resolved object index. */
typedef struct mf_gs_root {
    uint32_t kind;
    uint64_t target;
    uint64_t slot;
    const char *name, *file; /* never NULL in the reader ("" unknown) */
    int64_t line;
    uint32_t thread, frame;
    uint32_t symbol;
    const char *function;
} mf_gs_root;

/* A map header and its geometry. Writer: address, buckets, oldbuckets are
 * addresses. Reader: index is the map's number; object, buckets_obj and
 * oldbuckets_obj are resolved object indices (MF_GS_NONE when absent) and
 * the raw addresses stay in address/buckets/oldbuckets. */
typedef struct mf_gs_map {
    uint64_t index;
    uint64_t address;
    const char *type_name;
    uint32_t key_kind;
    uint32_t key_type, value_type; /* type index + 1, 0 none */
    uint64_t count;
    uint32_t flags, B, noverflow, hash0;
    uint64_t buckets, oldbuckets, nevacuate, noldbuckets;
    uint64_t bucket_size;
    uint32_t key_size, value_size;
    bool key_indirect, value_indirect;
    uint64_t nbuckets_walked, nentries;
    uint64_t object, buckets_obj, oldbuckets_obj; /* reader only */
} mf_gs_map;

/* One bucket object of a map. Reader: object is its resolved index; its slots
 * are entries[first_entry .. first_entry + popcount(occupied)). */
typedef struct mf_gs_bucket {
    uint64_t address;
    uint64_t object;
    bool old;
    uint64_t index;
    uint32_t overflow;
    uint32_t occupied;
    uint32_t first_entry;
} mf_gs_bucket;

/* One map entry. Writer: key_object/value_object are pointer values (0 none;
 * kept to the granule, as edge targets);
 * key_int is used for KEY_INT64/KEY_PTR maps, key_text (bytes, key_text_len
 * long) for the others. Reader: key_object/value_object are object indices
 * (MF_GS_NONE none), key_text is the key rendered for people, always set. */
typedef struct mf_gs_entry {
    uint32_t bucket; /* reader: index into the callback's bucket array */
    uint8_t slot, tophash;
    int64_t key_int;
    const char *key_text;
    size_t key_text_len;
    uint64_t key_object, value_object;
} mf_gs_entry;

typedef struct mf_gs_footer {
    uint64_t record_count, objects, edges, roots, maps, buckets, entries, samples, object_bytes;
    uint64_t strings, types, symbols, stacks;
    uint32_t crc32;
} mf_gs_footer;

/* ------------------------------------------------------------- writer --- */

typedef struct mf_gs_writer mf_gs_writer;

/* Creates a temporary file beside path and writes the header. level is the
 * gzip level: 0 stores the content in uncompressed gzip blocks (the fastest
 * real gzip file), 1 uses zlib's fast run-length strategy, 2-9 deflate's
 * default one; MF_GS_RAW writes the content without gzip framing. NULL with
 * *err set on failure. */
#define MF_GS_RAW (-1)
mf_gs_writer *mf_gsw_open(const char *path, int level, const mf_gs_header *h, mf_error *err);

/*
 * Building. Functions returning an index return UINT32_MAX on failure;
 * functions returning int return 0 or -1. Failures are sticky (out of memory,
 * a write error, a call out of order): mf_gsw_finish reports the first.
 */

/* Interns a string (NULL is ""); returns its string index. */
uint32_t mf_gsw_string(mf_gs_writer *w, const char *s);
/* Appends a type (strings copied); returns its index. Types are not
 * interned: the caller keeps its own map from its type descriptors. */
uint32_t mf_gsw_type(mf_gs_writer *w, const mf_gs_type *t);
/* Appends a symbol; returns its index. */
uint32_t mf_gsw_symbol(mf_gs_writer *w, const mf_gs_symbol *s);
/* Appends a stack of symbol indices, innermost first; returns its index. */
uint32_t mf_gsw_stack(mf_gs_writer *w, const uint32_t *symbols, size_t n);

/* The next live object: addresses strictly increasing, multiples of the
 * granule; type is a type index + 1 (0 none). */
int mf_gsw_object(mf_gs_writer *w, uint64_t address, uint64_t size, uint32_t type);
/* The edges of the next object, at `address` (objects in the order they were
 * given, each once); the first call ends the object section. Offsets
 * increasing; targets are pointer values (the file keeps the granule each
 * lies in, which is in the same object: object starts are the best values).
 * n may be 0. */
int mf_gsw_edges(mf_gs_writer *w, uint64_t address, size_t n, const uint64_t *offsets,
                 const uint64_t *targets);
/* The same in pieces, for objects with very many edges: begin, add (any
 * number of times; offsets keep increasing across calls), end. Nothing else
 * may be called between begin and end. */
int mf_gsw_edges_begin(mf_gs_writer *w, uint64_t address);
int mf_gsw_edges_add(mf_gs_writer *w, size_t n, const uint64_t *offsets, const uint64_t *targets);
int mf_gsw_edges_end(mf_gs_writer *w);
/* The edges of nobj consecutive objects at once: counts[i] edges of the
 * object at addresses[i], their offsets and targets one after the other. */
int mf_gsw_edges_many(mf_gs_writer *w, size_t nobj, const uint64_t *addresses,
                      const uint32_t *counts, const uint64_t *offsets, const uint64_t *targets);

int mf_gsw_root(mf_gs_writer *w, const mf_gs_root *r);

/* Starts a map (nbuckets_walked and nentries must be what the following
 * bucket calls give); returns 0 or -1. Its buckets follow with
 * mf_gsw_bucket, each followed by the entries of its occupied slots in slot
 * order with mf_gsw_entry. */
int mf_gsw_map(mf_gs_writer *w, const mf_gs_map *m);
int mf_gsw_bucket(mf_gs_writer *w, uint64_t address, bool old, uint64_t index, uint32_t overflow,
                  uint32_t occupied);
int mf_gsw_entry(mf_gs_writer *w, const mf_gs_entry *e);

/* A sampled live object and its allocation stack (a stack index). */
int mf_gsw_sample(mf_gs_writer *w, uint64_t address, uint32_t stack);

/* Writes the footer, closes and renames the file into place. Returns the
 * first error of the whole write, if any (then nothing is left behind). The
 * writer is freed either way. *bytes_out (may be NULL) gets the file size. */
int mf_gsw_finish(mf_gs_writer *w, uint64_t *bytes_out, mf_error *err);
/* Gives up: removes the temporary file and frees the writer. */
void mf_gsw_abort(mf_gs_writer *w);

/* ------------------------------------------------------------- reader --- */

typedef struct mf_gs_reader mf_gs_reader;

/*
 * Callbacks; any may be NULL. Each returns 0 to go on, or non-zero after
 * setting *err to stop the read (mf_gs_read then returns -1 with that error).
 * on_edges: for objects [first, first + n), counts[i] edges each; offsets and
 *   targets (object indices) have one entry per edge, in object order.
 * on_buckets: nb buckets of map m with their ne entries.
 * on_samples: object indices and stack indices.
 */
typedef struct mf_gs_callbacks {
    void *ud;
    int (*on_header)(void *ud, const mf_gs_reader *r, const mf_gs_header *h, mf_error *err);
    int (*on_objects)(void *ud, const mf_gs_reader *r, uint64_t first, size_t n, mf_error *err);
    int (*on_edges)(void *ud, const mf_gs_reader *r, uint64_t first, size_t n,
                    const uint32_t *counts, size_t nedges, const uint64_t *offsets,
                    const uint64_t *targets, mf_error *err);
    int (*on_root)(void *ud, const mf_gs_reader *r, const mf_gs_root *root, mf_error *err);
    int (*on_map)(void *ud, const mf_gs_reader *r, const mf_gs_map *m, mf_error *err);
    int (*on_buckets)(void *ud, const mf_gs_reader *r, const mf_gs_map *m, const mf_gs_bucket *b,
                      size_t nb, const mf_gs_entry *e, size_t ne, mf_error *err);
    int (*on_samples)(void *ud, const mf_gs_reader *r, size_t n, const uint64_t *objects,
                      const uint32_t *stacks, mf_error *err);
    int (*on_footer)(void *ud, const mf_gs_reader *r, const mf_gs_footer *f, mf_error *err);
} mf_gs_callbacks;

/* Reads the snapshot at path (gzip or raw, "-" standard input) calling cb
 * (may be NULL: just check the file). On success *out (may be NULL) is the
 * reader with its tables and object arrays; free it with mf_gs_reader_free.
 * On failure *out is NULL and err names the file, the record and the
 * problem. */
int mf_gs_read(const char *path, const mf_gs_callbacks *cb, mf_gs_reader **out, mf_error *err);
void mf_gs_reader_free(mf_gs_reader *r);

/* True if the file's content (gzip or raw) starts like a gcstack snapshot.
 * Returns 1 yes, 0 no, -1 if the file cannot be read (err set). */
int mf_gs_sniff(const char *path, mf_error *err);

/* Accessors (valid during callbacks and after a successful read). Indices
 * are unchecked beyond what the reader verified while reading. */
const mf_gs_header *mf_gs_header_of(const mf_gs_reader *r);
const mf_gs_footer *mf_gs_footer_of(const mf_gs_reader *r); /* zeroed until read */
size_t mf_gs_nobjects(const mf_gs_reader *r);
const uint64_t *mf_gs_object_addresses(const mf_gs_reader *r); /* increasing */
const uint64_t *mf_gs_object_sizes(const mf_gs_reader *r);
const uint32_t *mf_gs_object_types(const mf_gs_reader *r); /* type index + 1 */
/* Hands the object arrays over to the caller (after a successful read), who
 * frees each with free(): a loader that keeps them needs no copy. The reader
 * has no objects afterwards. Returns their count; the arrays may be NULL
 * when it is 0. */
size_t mf_gs_take_objects(mf_gs_reader *r, uint64_t **addr, uint64_t **size, uint32_t **type);
size_t mf_gs_nstrings(const mf_gs_reader *r);
const char *mf_gs_string(const mf_gs_reader *r, uint32_t i);
size_t mf_gs_ntypes(const mf_gs_reader *r);
const mf_gs_type *mf_gs_type_at(const mf_gs_reader *r, uint32_t i);
size_t mf_gs_nsymbols(const mf_gs_reader *r);
const mf_gs_symbol *mf_gs_symbol_at(const mf_gs_reader *r, uint32_t i);
size_t mf_gs_nstacks(const mf_gs_reader *r);
/* Stack i's symbol indices, innermost first. */
const uint32_t *mf_gs_stack_at(const mf_gs_reader *r, uint32_t i, size_t *n);
size_t mf_gs_nmaps(const mf_gs_reader *r);
const mf_gs_map *mf_gs_map_at(const mf_gs_reader *r, uint64_t i);
/* The object containing address a (interior pointers allowed), or
 * MF_GS_NONE. */
uint64_t mf_gs_find_object(const mf_gs_reader *r, uint64_t a);

#endif
