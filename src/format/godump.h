/*
 * src/format/godump.h -- reading Go heap dumps (runtime/debug.WriteHeapDump).
 *
 * The file is 16 bytes "go1.7 heap dump\n" and then records, each a uvarint
 * tag and its fields (uvarints, length-prefixed strings and byte ranges,
 * field lists of pointer offsets), up to an EOF record. mf_gd_open maps the
 * file (or reads a pipe, or inflates a gzipped dump, into memory) and makes
 * one pass over it that checks every record and indexes it in flat arrays:
 * nothing is copied out of the dump but the numbers; contents, names and
 * field lists are offsets into the mapped bytes, read on demand. Objects are
 * sorted by address afterwards (the runtime writes them span by span) and
 * must not overlap.
 *
 * What is checked (each failure is an error naming the file, the record
 * number -- 1 is the first record after the header -- its kind and byte
 * offset): the header; known tags; no truncated field; varints of at most
 * 10 bytes; field lists of pointer fields only, offsets increasing, aligned
 * to the pointer size and inside the object, frame or segment; parameters
 * (little-endian, 8-byte pointers) before anything that depends on them;
 * frames, defers and panics after a goroutine; an EOF record with nothing
 * after it.
 *
 * The format is the same from Go 1.7 on; what it describes (maps, malloc
 * headers) changed with later runtimes: params.go_minor tells which.
 *
 * Memory: the dump owns everything (mf_gd_close); pointers into it stay
 * valid until then. Threads: a finished dump is read-only.
 */
#ifndef MF_GODUMP_H
#define MF_GODUMP_H

#include "format/error.h"
#include "format/infile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_GD_MAGIC "go1.7 heap dump\n"
#define MF_GD_MAGIC_LEN 16

/* Record tags. */
enum {
    MF_GD_EOF = 0,
    MF_GD_OBJECT = 1,
    MF_GD_OTHER_ROOT = 2,
    MF_GD_TYPE = 3,
    MF_GD_GOROUTINE = 4,
    MF_GD_FRAME = 5,
    MF_GD_PARAMS = 6,
    MF_GD_FINALIZER = 7,
    MF_GD_ITAB = 8,
    MF_GD_OSTHREAD = 9,
    MF_GD_MEMSTATS = 10,
    MF_GD_QUEUED_FINALIZER = 11,
    MF_GD_DATA = 12,
    MF_GD_BSS = 13,
    MF_GD_DEFER = 14,
    MF_GD_PANIC = 15,
    MF_GD_MEMPROF = 16,
    MF_GD_ALLOC_SAMPLE = 17,
    MF_GD_NTAGS
};

/* A byte range of the dump: bytes [off, off + len) of mf_gd_dump.data. */
typedef struct mf_gd_bytes {
    uint64_t off, len;
} mf_gd_bytes;

typedef struct mf_gd_params {
    bool big_endian;
    uint32_t ptr_size;
    uint64_t arena_start, arena_end;
    mf_gd_bytes goarch, version; /* "amd64", "go1.19.8" */
    uint64_t ncpu;
    int go_major, go_minor; /* parsed from version; 0 when it is not "goX.Y..." */
} mf_gd_params;

/* A heap object: the whole size-class slot. Its field list holds the
 * offsets of its pointer words (nil or not). */
typedef struct mf_gd_object {
    uint64_t addr, size;
    uint64_t contents; /* offset of its size bytes in the dump */
    uint64_t fields;   /* offset of its field list */
    uint32_t nfields;
    uint32_t record;
} mf_gd_object;

typedef struct mf_gd_goroutine {
    uint64_t addr, sp, goid, gopc, status, waitsince, ctxt, m, defer_, panic_;
    bool system, background;
    mf_gd_bytes waitreason;        /* "chan receive", "sleep", "" while runnable */
    uint32_t first_frame, nframes; /* its frames in mf_gd_dump.frames, innermost first */
    uint32_t record;
} mf_gd_goroutine;

/* A stack frame: contents are the bytes sp .. fp; field offsets are
 * relative to sp. */
typedef struct mf_gd_frame {
    uint64_t sp, depth, child_sp, entry, pc, continpc;
    mf_gd_bytes contents, name;
    uint64_t fields;
    uint32_t nfields;
    uint32_t goroutine; /* index into mf_gd_dump.goroutines */
    uint32_t record;
} mf_gd_frame;

/* The data or bss segment of the main module (pointer-free .noptrdata and
 * .noptrbss are not dumped). */
typedef struct mf_gd_segment {
    bool present;
    uint64_t start;
    mf_gd_bytes contents;
    uint64_t fields;
    uint32_t nfields;
    uint32_t record;
} mf_gd_segment;

typedef struct mf_gd_finalizer {
    uint64_t obj, fn, fnfn, fint, ot;
    bool queued; /* in the queue of finalizers ready to run */
    uint32_t record;
} mf_gd_finalizer;

/* A memory profile bucket: an allocation stack of nstk frames, stored at
 * `frames` as (function, file, line) triples (read with mf_gd_memprof_next). */
typedef struct mf_gd_memprof {
    uint64_t addr, size, nstk, allocs, frees;
    uint64_t frames;
    uint32_t record;
} mf_gd_memprof;

typedef struct mf_gd_sample {
    uint64_t obj, bucket;
} mf_gd_sample;

typedef struct mf_gd_type {
    uint64_t addr, size;
    mf_gd_bytes name;
    /* its values are boxed: an interface's data word points to one (false:
     * pointer-shaped, the data word is the value) */
    bool indirect;
} mf_gd_type;

/* An itab and the dynamic type it is for (the type's record comes first).
 * Itabs the runtime made while the program ran live outside the heap and
 * the binary: this record is all that says their type. */
typedef struct mf_gd_itab {
    uint64_t itab, type;
} mf_gd_itab;

#define MF_GD_NMEMSTATS 24
enum { /* indices into mf_gd_dump.memstats, MemStats order */
       MF_GD_MS_ALLOC = 0,
       MF_GD_MS_HEAP_ALLOC = 6,
       MF_GD_MS_HEAP_OBJECTS = 11,
       MF_GD_MS_LAST_GC = 22,
};

typedef struct mf_gd_dump {
    char *name; /* the file, for messages */
    const uint8_t *data;
    size_t len;
    mf_gd_params params;
    bool has_params, has_memstats;
    mf_gd_object *objects; /* sorted by address, never overlapping */
    size_t nobjects;
    uint64_t object_bytes;
    mf_gd_goroutine *goroutines;
    size_t ngoroutines;
    mf_gd_frame *frames;
    size_t nframes;
    mf_gd_segment data_seg, bss_seg;
    mf_gd_finalizer *finalizers;
    size_t nfinalizers;
    mf_gd_memprof *memprof;
    size_t nmemprof;
    mf_gd_sample *samples;
    size_t nsamples;
    mf_gd_type *types; /* sorted by address */
    size_t ntypes;
    mf_gd_itab *itabs; /* sorted by itab address */
    size_t nitabs;
    uint64_t memstats[MF_GD_NMEMSTATS];
    uint64_t num_gc;
    size_t nrecords;
    /* private */
    void *map_base;
    size_t map_len;
    uint8_t *owned;
} mf_gd_dump;

/* 1 if the bytes start like a Go heap dump, else 0. */
int mf_gd_sniff(const uint8_t *p, size_t n);

/* The same, for the table of input kinds. */
bool mf_gd_sniff_bytes(const uint8_t *p, size_t n);

/* Reads the dump from an input opened and peeked by its caller: a raw
 * regular file is mapped, anything else (gzip, pipes, standard input) is
 * read into memory. The memory the dump and its analysis will need is
 * checked against lim (NULL: no limit) before it is spent. The input stays
 * the caller's and may be closed once this returns. */
int mf_gd_open_in(mf_in *in, const mf_limits *lim, mf_gd_dump **out, mf_error *err);
/* The same for the file at path ("-" standard input), without a limit. */
int mf_gd_open(const char *path, mf_gd_dump **out, mf_error *err);
/* Indexes a dump already in memory (kept by the caller until mf_gd_close). */
int mf_gd_open_mem(const char *name, const uint8_t *data, size_t len, mf_gd_dump **out,
                   mf_error *err);
void mf_gd_close(mf_gd_dump *d);

/* The field offsets of a field list that the reader has checked: call with
 * *pos = the list's offset, n times. */
uint64_t mf_gd_next_field(const mf_gd_dump *d, uint64_t *pos);

/* The frames of a memprof bucket, innermost first: call with *pos =
 * m->frames, m->nstk times. Strings are ranges of the dump (no NUL). */
void mf_gd_memprof_next(const mf_gd_dump *d, uint64_t *pos, mf_gd_bytes *function,
                        mf_gd_bytes *file, uint64_t *line);

/* The object containing address a (interior pointers allowed), or SIZE_MAX. */
size_t mf_gd_find(const mf_gd_dump *d, uint64_t a);

/* A little-endian word of an object/frame/segment's contents (offset
 * checked by the caller). */
static inline uint64_t mf_gd_word(const mf_gd_dump *d, uint64_t off)
{
    const uint8_t *p = d->data + off;
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

/* The name of a record tag ("object", "stack frame", ...). */
const char *mf_gd_tag_name(uint64_t tag);

/* The type record of the type at addr / the type of the itab at itab;
 * NULL when the dump has none. */
const mf_gd_type *mf_gd_find_type(const mf_gd_dump *d, uint64_t addr);
const mf_gd_type *mf_gd_itab_type(const mf_gd_dump *d, uint64_t itab);

#endif
