/*
 * src/format/gcstack_reader.h -- the streaming reader of root snapshots.
 *
 * mf_gs_read() inflates the file piece by piece (never the whole
 * content at once) and calls back for each record with everything resolved:
 * pointers become dense object indices (objects are numbered 0.. in address
 * order), table indices become checked indices, map keys are rendered. It
 * keeps only the tables and three arrays per object (address, size, type),
 * which stay available to the caller afterwards (the heap graph loader builds
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
 * Memory: the reader owns all it returns, valid until mf_gs_reader_free
 * (callback arguments: only during the callback). Threads: a reader is used
 * by one thread while reading; a finished reader may be read by several.
 */
#ifndef MF_GCSTACK_READER_H
#define MF_GCSTACK_READER_H

#include "format/gcstack.h"
#include "format/infile.h"

typedef struct mf_gs_reader mf_gs_reader;

/*
 * Callbacks; any may be NULL. Each returns 0 to go on, or non-zero after
 * setting *err to stop the read (mf_gs_read then returns -1 with that error).
 * on_edges: for objects [first, first + n), counts[i] edges each; offsets and
 *   targets (object indices) have one entry per edge, in object order. The
 *   edges of an object with very many come over several calls: its last
 *   part's call is the one after which the next call starts at a later
 *   object (each call's first object may be the last one of the call
 *   before, continued; offsets keep increasing).
 * on_buckets: nb buckets of map m with their ne entries. m names the map
 *   (index, address, type_name, key_kind) and gives its geometry (B,
 *   buckets, oldbuckets, noldbuckets, bucket_size) and its announced
 *   nbuckets_walked and nentries; its other fields are zero (object
 *   indices MF_GS_NONE): what else a caller needs it keeps from on_map.
 *   (The reader does not keep whole Map records: a heap of millions of
 *   small maps would hold them all until the read ends.)
 *   A map's type_name is the entry of the reader's string table that its
 *   Map record names, valid until the reader is freed: while the reader
 *   lives a pointer stands for one string, so a caller may keep what it
 *   made of a name by its pointer.
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
    /* Threads that decode edge and bucket batches (0 or 1: the reading
     * thread alone). With more, on_edges and on_buckets are called from
     * any of them -- one at a time, in file order -- and every other
     * callback from the reading thread once the batches before it are done. */
    unsigned threads;
    /* Integer and pointer keys (MF_GS_KEY_INT64, MF_GS_KEY_PTR) are left in
     * key_int, not rendered: key_text NULL. */
    bool raw_int_keys;
} mf_gs_callbacks;

/* Reads the snapshot at path (gzip or raw, "-" standard input) calling cb
 * (may be NULL: just check the file). On success *out (may be NULL) is the
 * reader with its tables and object arrays; free it with mf_gs_reader_free.
 * On failure *out is NULL and err names the file, the record and the
 * problem. */
int mf_gs_read(const char *path, const mf_gs_callbacks *cb, mf_gs_reader **out, mf_error *err);
/* The same from an input already open (infile.h; its first bytes may have
 * been peeked). The input stays the caller's to close. */
int mf_gs_read_in(mf_in *in, const mf_gs_callbacks *cb, mf_gs_reader **out, mf_error *err);
void mf_gs_reader_free(mf_gs_reader *r);

/* True if decoded content starting with these bytes is a gcstack snapshot
 * (MF_GS_SNIFF_BYTES of them are enough, fewer at the end of a file). */
#define MF_GS_SNIFF_BYTES 64
bool mf_gs_sniff_bytes(const uint8_t *p, size_t n);
/* The same for a file's content (gzip or raw). Returns 1 yes, 0 no, -1 if
 * the file cannot be read (err set). */
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
/* The object containing address a (interior pointers allowed), or
 * MF_GS_NONE. */
uint64_t mf_gs_find_object(const mf_gs_reader *r, uint64_t a);

#endif
