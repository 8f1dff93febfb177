/*
 * src/analyze/report.h -- how heap profile analyses and diffs are printed.
 *
 * Two renderings of the same facts: text for people (aligned columns, values
 * in human units: bytes in B/KiB/MiB/GiB/TiB with powers of 1024, durations in
 * ns/us/ms/s, counts as plain integers), and JSON for programs (exact integer
 * values, field names documented in man/maproot-analyze.1 and
 * man/maproot-diff.1 and kept stable).
 *
 * Memory: nothing returned is owned by the caller. Errors: the printers
 * return -1 with err set only when out of memory or when output fails.
 */
#ifndef MP_REPORT_H
#define MP_REPORT_H

#include "analyze/profile.h"

#include <jansson.h>
#include <stdio.h>

/* A value in human units ("9.06MiB", "1.5ms", "1234"); diff values get a
 * sign when `sign` is true ("+1.20MiB"). */
void mp_format_value(char *buf, size_t size, int64_t v, const char *unit, bool sign);

/* part/total as "12.34%" ("n/a" when total is 0). */
void mp_format_pct(char *buf, size_t size, int64_t part, int64_t total);

typedef struct mp_analysis {
    const char *file;
    const mf_profile *p;
    const mp_index *ix;
    size_t sample_index;
    const mp_top *top;
    const mp_growth *growth;
    size_t top_n; /* sites to show, 0: all */
} mp_analysis;

void mp_print_analysis_text(FILE *out, const mp_analysis *a);
int mp_print_analysis_json(FILE *out, const mp_analysis *a, mf_error *err);
/* The JSON object mp_print_analysis_json prints (caller owns it; NULL when
 * out of memory), for reports that embed the profile's figures. */
json_t *mp_analysis_json(const mp_analysis *a);

typedef struct mp_diff_report {
    const char *before_file, *after_file;
    const mf_profile *before, *after;
    size_t sample_index;
    const mp_diff *diff;
    size_t top_n; /* sites to show, 0: all */
} mp_diff_report;

void mp_print_diff_text(FILE *out, const mp_diff_report *r);
int mp_print_diff_json(FILE *out, const mp_diff_report *r, mf_error *err);

#endif
