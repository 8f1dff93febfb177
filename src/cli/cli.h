/*
 * src/cli/cli.h -- what the maproot subcommands share: error reporting,
 * option values, loading inputs.
 *
 * Every subcommand is `int cmd_<name>(int argc, char **argv)` (argv[0] is the
 * subcommand's name) and returns the process exit status: 0 success, 1 a leak
 * or threshold found (where a subcommand is asked to fail on them), 2 bad
 * usage or bad input. Errors are one line on stderr starting "maproot: ".
 */
#ifndef MAPROOT_CLI_H
#define MAPROOT_CLI_H

#include "format/outfile.h"
#include "format/pprof.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef MAPROOT_VERSION
#define MAPROOT_VERSION "unknown"
#endif

#define CLI_EXIT_OK 0
#define CLI_EXIT_FOUND 1
#define CLI_EXIT_BAD 2

typedef enum cli_format { CLI_FORMAT_TEXT, CLI_FORMAT_JSON } cli_format;

/* Prints "maproot: <message>" on one line to stderr; returns CLI_EXIT_BAD. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error of subcommand cmd: "maproot CMD: <message> (see maproot CMD
 * --help)"; returns CLI_EXIT_BAD. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses --format's argument; on error prints and returns CLI_EXIT_BAD. */
int cli_parse_format(const char *cmd, const char *arg, cli_format *out);

/* --fail-on: the findings that make a report exit with CLI_EXIT_FOUND. */
#define CLI_FAIL_SUSPECT 1u /* a leak suspect (root tracing) */
#define CLI_FAIL_GROWTH 2u  /* a map that grew between two inputs */
/* Parses --fail-on's argument ("suspect", "growth", or both with a comma)
 * into *out (bits added); on error prints and returns CLI_EXIT_BAD. */
int cli_parse_fail_on(const char *cmd, const char *arg, unsigned *out);
/* A report found what --fail-on asked for: one line on stderr naming it
 * ("maproot diff: 2 maps grew (--fail-on growth)"); returns
 * CLI_EXIT_FOUND. */
int cli_found(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a non-negative count option (e.g. --top); CLI_EXIT_BAD on error. */
int cli_parse_count(const char *cmd, const char *opt, const char *arg, size_t *out);

/* Parses a size option: bytes, or with K, M, G, T (KiB ... TiB; "Ki",
 * "KiB" and "KB" mean the same); 0 only when zero_ok. CLI_EXIT_BAD on
 * error. */
int cli_parse_size(const char *cmd, const char *opt, const char *arg, bool zero_ok, uint64_t *out);

/* Makes directory dir and whatever parents it lacks (mkdir -p); one that is
 * already there is fine. 0, or the errno of the step that failed. With made
 * not NULL, *made is the length of the shortest prefix of dir the call made
 * (those it made are the ones from there down), 0 when it made none. */
int cli_make_dirs(const char *dir, size_t *made);

/* Removes, deepest first, the directories of dir that cli_make_dirs made
 * (made: what it said) and that are still empty: a run that wrote nothing
 * leaves nothing behind. Stops at the first that is not empty. */
void cli_remove_made_dirs(const char *dir, size_t made);

/* The option that sets how reports shorten file names (see
 * analyze/display_path.h); its help line and its getopt value. */
#define CLI_TRIM_PATH_HELP                                                                         \
    "      --trim-path DIR[:DIR...]  show source files under DIR relative to it\n"                 \
    "                             (default: the current directory; \"\" keeps\n"                   \
    "                             every name absolute)\n"
/* getopt values of the shared long options; a command numbers its own
 * after CLI_OPT_LAST */
enum {
    CLI_OPT_TRIM_PATH = 1000,
    CLI_OPT_FAIL_ON,
    CLI_OPT_TIMINGS,
    CLI_OPT_BY,
    CLI_OPT_DOMINATORS,
    CLI_OPT_INDEX,
    CLI_OPT_LAST = CLI_OPT_INDEX
};
/* --index: whether root snapshots are read through index files (input.h). */
#define CLI_INDEX_HELP                                                                             \
    "      --index auto|off|rebuild  root snapshots: read a valid index file of the\n"             \
    "                             snapshot (FILE.mrx) in place of decoding it, and\n"              \
    "                             write one, once the report is out, after a load of\n"            \
    "                             1M+ objects or 4M+ edges (auto, the default); the\n"             \
    "                             index keeps the paths and dominator tree too, once\n"            \
    "                             computed; off: neither; rebuild: read the snapshot\n"            \
    "                             and write its index in any case\n"
/* --timings: each phase's wall and CPU seconds and memory on stderr
 * (analyze/timing.h). */
#define CLI_TIMINGS_HELP                                                                           \
    "      --timings              print the seconds and memory of each phase of\n"                 \
    "                             loading and analysing to stderr\n"
int cli_set_trim_path(const char *cmd, const char *arg);

/* Flushes stdout; a write error (full disk, closed pipe) is reported and
 * turns a success into CLI_EXIT_BAD. */
int cli_finish(int status);

/* A report's output (-o FILE, or standard output for NULL or "-"), written
 * by the rule of outfile.h: a regular file appears only when complete;
 * standard output gets the whole report or nothing of it (mf_out_hold:
 * held in memory up to CLI_HOLD_MEMORY bytes, beyond that in a temporary
 * file, and written at close). */
#define CLI_HOLD_MEMORY ((size_t)4 << 20)
typedef struct cli_output {
    mf_out *out;
    FILE *f;
} cli_output;
/* Opens it; the stream to print to, or NULL after printing why. */
FILE *cli_output_open(cli_output *co, const char *path);
/* Has a write to it failed already? (cli_output_close reports it.) */
bool cli_output_failed(const cli_output *co);
/* Finishes it: on success commits (a write error is reported, once, and
 * turns the status into CLI_EXIT_BAD); after a failure (status not
 * CLI_EXIT_OK) abandons it, leaving no file. Returns the status. */
int cli_output_close(cli_output *co, int status);

/* The command's report is complete (its output closed): flushes standard
 * output and points descriptor 1 at /dev/null, so that a reader of a pipe
 * sees the report end now, not when the process exits after the work
 * that follows it (writing an index). A write error stays in stdout for
 * cli_finish to report; nothing may be printed on standard output after. */
void cli_report_done(void);

/* Monotonic seconds, for the timings of a report. */
double cli_now(void);

/* stderr when it is a terminal (for progress lines), else NULL: nothing
 * but the report when output is piped or logged. */
FILE *cli_progress_stream(void);

int cmd_analyze(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_path(int argc, char **argv);
int cmd_trace(int argc, char **argv); /* live attach: cmd_trace.c, trace_*.c, attach.c */
int cmd_ps(int argc, char **argv);

#endif
