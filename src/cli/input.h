/*
 * src/cli/input.h -- the inputs of the maproot commands: each file (or "-",
 * standard input) is opened once and its kind told from its first decoded
 * bytes by a table of kinds (input.c), never from its name. The same bytes
 * then go to the loader of that kind, so pipes and FIFOs work like files.
 *
 * A kind is a heap graph (a root snapshot, a Go heap dump: a new kind is
 * one line of the table with its sniff and loader) or a profile (a pprof
 * profile, proto or Go's text heap profile, read into the same model). Errors are printed (one
 * line) and turned into CLI_EXIT_BAD.
 */
#ifndef MAPROOT_CLI_INPUT_H
#define MAPROOT_CLI_INPUT_H

#include "analyze/dominators.h"
#include "analyze/findings.h"
#include "analyze/graph.h"
#include "analyze/paths.h"
#include "format/infile.h"
#include "format/pprof.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct cli_kind {
    const char *name; /* "root snapshot", "Go heap dump", "pprof profile", ... */
    bool go_dump;     /* a Go heap dump: --binary applies */
    /* true if decoded content starting with these bytes is of this kind */
    bool (*sniff)(const uint8_t *head, size_t n);
    /* a heap graph: loads it from in, opened from path, with cli_limits
     * and progress on a terminal (NULL for a pprof profile) */
    int (*load_graph)(const char *path, mf_in *in, mp_graph **out, mf_error *err);
    /* a profile (proto or text): reads it from in within lim (NULL for a
     * heap graph) */
    int (*read_profile)(mf_in *in, const mf_limits *lim, mf_profile **out, mf_error *err);
} cli_kind;

typedef struct cli_input {
    const char *path;
    mf_in *in;
    const cli_kind *kind;
} cli_input;

/* --index: how root snapshots use index files (analyze/graph_index.h).
 * AUTO reads a valid index of the snapshot (beside it, FILE.mrx, else in
 * the cache directory) in place of decoding the snapshot, and writes one
 * (cli_index_save) after a load of at least CLI_INDEX_MIN_OBJECTS objects or
 * CLI_INDEX_MIN_EDGES edges; REBUILD never reads one and always writes
 * one; OFF does neither. Standard input, pipes and FIFOs never have one;
 * Go heap dumps are not indexed (their graph depends on --binary). A
 * damaged index is a one-line warning and the snapshot is read instead;
 * an index that cannot be written is a one-line warning. */
typedef enum cli_index_mode { CLI_INDEX_AUTO = 0, CLI_INDEX_OFF, CLI_INDEX_REBUILD } cli_index_mode;
#define CLI_INDEX_MIN_OBJECTS 1000000
#define CLI_INDEX_MIN_EDGES 4000000
extern cli_index_mode cli_index;
/* Parses --index's argument; on error prints and returns CLI_EXIT_BAD. */
int cli_parse_index(const char *cmd, const char *arg);
/* Loads the root snapshot at path, opened as in (closed by the caller),
 * through its index as cli_index says; errors as mp_load_gcstack_in. */
int cli_load_snapshot(const char *path, mf_in *in, mp_graph **out, mf_error *err);
/* Writes the index of g, a graph cli_load_snapshot read from its snapshot,
 * with the paths p and dominator tree d (either NULL) and the findings f
 * computed from them (NULL: none) in one file; or keeps them in the index
 * g was read from when it lacks them. They depend on the graph alone
 * (of the findings, what mp_findings_save keeps), so the next command on
 * the same snapshot reads them instead of computing them. The index is written here, not
 * while loading, so that a command calls this once its report is out
 * (cli_report_done): the user has the answer while the index is written.
 * Call once per graph, before they are freed; a graph without an index
 * (too small, --index off, a Go heap dump) is left alone. On a terminal
 * the write is told on stderr; a failure is a warning, and so is a
 * snapshot that changed since it was read (no index is written then). */
void cli_index_save(const mp_graph *g, const mp_paths *p, const mp_dom *d, const mp_findings *f);

/* The limits of every load (--max-memory); set by the commands. */
extern mf_limits cli_limits;
/* The program that wrote the Go heap dumps being read (--binary), or NULL. */
extern const char *cli_binary;

/* Opens path and tells its kind. On error prints the reason ("cannot open
 * FILE: ...", "FILE: not a maproot snapshot, Go heap dump or pprof profile ...") and
 * returns CLI_EXIT_BAD with nothing to close. */
int cli_input_open(const char *path, cli_input *ci);
void cli_input_close(cli_input *ci);
static inline bool cli_input_is_graph(const cli_input *ci)
{
    return ci->kind->load_graph != NULL;
}

/* Loads a graph input (progress on a terminal); on error prints it and
 * returns CLI_EXIT_BAD. The input is closed either way. */
int cli_input_load_graph(cli_input *ci, mp_graph **out);
/* The same for an input that is not to be fatal: *err gets the message. */
int cli_input_try_graph(cli_input *ci, mp_graph **out, mf_error *err);
/* Loads a pprof input and checks it is a heap profile; closes the input. */
int cli_input_load_profile(cli_input *ci, mf_profile **out);

/* Parses --max-memory's argument (bytes, or with K, M, G, T: KiB ... TiB);
 * on error prints and returns CLI_EXIT_BAD. */
int cli_parse_memory(const char *cmd, const char *arg);

#endif
