/*
 * src/format/gcstack.h -- root snapshots (proto/gcstack.proto): what the
 * writer (gcstack_writer.h) and the reader (gcstack_reader.h) share: the
 * record kinds, the limits every writer keeps and every reader checks, and
 * the plain structures of the format's records.
 *
 * A snapshot is a sequence of length-prefixed Record messages (usually
 * gzipped): the header, the objects in address order, the edges of every
 * object in the same order, then roots, maps with their buckets and samples
 * in any order, and a footer with counts and a CRC of the content.
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

/* Record kinds: the fields of proto Record. */
enum {
    MF_GS_R_HEADER = 1,
    MF_GS_R_STRINGS = 2,
    MF_GS_R_TYPE = 3,
    MF_GS_R_SYMBOL = 4,
    MF_GS_R_STACK = 5,
    MF_GS_R_OBJECTS = 6,
    MF_GS_R_EDGES = 7,
    MF_GS_R_ROOT = 8,
    MF_GS_R_MAP = 9,
    MF_GS_R_BUCKETS = 10,
    MF_GS_R_SAMPLES = 11,
    MF_GS_R_FOOTER = 15,
};

/* The largest record a reader accepts. A writer never writes a bigger one:
 * its batches are flushed by size far below it (an object with more edges
 * than fit goes on in the next EdgeBatch), strings and map keys are cut to
 * the lengths below, and a type or stack too big for one record is refused
 * (the write fails) rather than written. */
#define MF_GS_MAX_RECORD ((size_t)64 << 20)
/* The longest string (a name, a file, a type name) a writer stores: longer
 * ones are cut, at a character boundary. */
#define MF_GS_MAX_STRING ((size_t)1 << 20)
/* The longest rendered map key (Entry.key_text) a writer stores; longer
 * ones are cut, at a character boundary. */
#define MF_GS_MAX_KEY_TEXT ((size_t)4096)

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

/* The cycle's stop-the-world pause as of the snapshot (Header.pause);
 * all 0 when unknown. */
typedef struct mf_gs_pause {
    uint64_t pause_ns, stop_ns, sweep_termination_ns, mark_ns, last_pause_ns;
} mf_gs_pause;

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
    mf_gs_pause pause;
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
    uint64_t frame_offset; /* the word's offset in its frame + 1, 0 unknown */
    /* a word of a thread's static thread-local storage: the module whose
     * block holds it ("" none: then tls_offset is 0), the offset there, and
     * the variable's symbol ("" unknown); the writer takes NULL for "" */
    const char *tls_module, *tls_variable;
    uint64_t tls_offset;
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

#endif
