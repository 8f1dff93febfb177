/*
 * src/format/error.h -- the error every maproot parser and writer reports.
 *
 * Library code never exits on bad input: it fills an mf_error and returns -1.
 * The message is one line, without a trailing newline, in the form
 *     FILE: what is wrong (where)
 * e.g. "heap.pb.gz: sample 12 refers to location id 99, which is not defined
 * (decoded byte 4711)". The CLI prints it after "maproot: " and exits 2.
 */
#ifndef MF_ERROR_H
#define MF_ERROR_H

#include <stddef.h>

typedef struct mf_error {
    char msg[512];
} mf_error;

/* Sets err->msg from a printf format (truncated to fit). err may be NULL. */
void mf_error_set(mf_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
