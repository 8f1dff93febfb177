/*
 * src/analyze/snapshot_summary.h -- what a root snapshot holds, in brief:
 * the program and cycle, objects and bytes by type, roots by kind with their
 * names, and every map with its entries, buckets, overflow buckets, growth
 * state and bytes. It is built in one streaming pass of the gcstack reader
 * (the full analysis, paths and retained sizes, is src/analyze's next step).
 *
 * Memory: an mp_snap_summary owns everything (mp_snap_summary_free).
 * Errors: -1 with err set (the reader's message: file, record, problem; or
 * out of memory; or an output error for the printers).
 */
#ifndef MP_SNAPSHOT_SUMMARY_H
#define MP_SNAPSHOT_SUMMARY_H

#include "format/error.h"
#include "format/gcstack_reader.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mp_snap_type {
    char *name;
    uint32_t kind;
    uint64_t objects, bytes;
} mp_snap_type;

typedef struct mp_snap_root {
    uint32_t kind;
    char *name; /* global, pin label, register; "" */
    char *file; /* global: declaration file */
    int64_t line;
    uint32_t thread, frame;
    char *function;  /* stack/iterator: function (symbol, else the runtime's name) */
    char *where;     /* stack/iterator: "file:line" of the frame, or "" */
    uint64_t target; /* object address */
    char *target_type;
} mp_snap_root;

typedef struct mp_snap_map {
    uint64_t address;
    char *type_name;
    uint64_t count, B, nbuckets, noverflow_buckets, noldbuckets, nevacuate;
    bool growing, same_size_growth;
    uint64_t table_bytes; /* header + bucket arrays + overflow buckets */
    uint64_t entries;
} mp_snap_map;

typedef struct mp_snap_summary {
    char *file;
    mf_gs_header h; /* strings point into this summary */
    char *program, *build_id, *writer;
    uint64_t objects, bytes, edges, samples;
    mp_snap_type *types; /* sorted by bytes, descending; the untyped last */
    size_t ntypes;
    mp_snap_root *roots;
    size_t nroots;
    uint64_t roots_by_kind[MF_GS_ROOT_NKINDS + 1]; /* [NKINDS]: unknown kinds */
    mp_snap_map *maps;                             /* in file order */
    size_t nmaps;
} mp_snap_summary;

/* Reads the snapshot at path and summarizes it. */
int mp_snap_summarize(const char *path, mp_snap_summary *out, mf_error *err);
/* The same from an input already open (the caller closes it). */
int mp_snap_summarize_in(mf_in *in, mp_snap_summary *out, mf_error *err);
void mp_snap_summary_free(mp_snap_summary *s);

/* Text for people: top_n types (0: all) and every root and map. */
void mp_snap_print_text(FILE *out, const mp_snap_summary *s, size_t top_n);
/* JSON (documented in maproot-gcstack(5)). */
int mp_snap_print_json(FILE *out, const mp_snap_summary *s, mf_error *err);

#endif
