/*
 * src/analyze/gate_report.h -- what `maproot gate` reports, four ways:
 *   text    for people, the verdict first, then each violation: its map,
 *           root, the figures the rule saw (growth per interval), chain,
 *           keys added over the run, allocation sites and the rule that
 *           fired; then what was suppressed or accepted by the baseline,
 *           and the suppressions nothing used;
 *   json    for programs: schema "maproot-gate/1" (maproot-gate(1));
 *           fields are only ever added within a version;
 *   junit   JUnit XML as CI systems read it: a testsuite per rule, a
 *           testcase per rule and subject (map, root, type, heap), the
 *           failure carrying the violation's text; suppressed and baselined
 *           checks are skipped testcases; a testsuite of the suppressions,
 *           an unused one skipped;
 *   github  GitHub Actions workflow commands: "::error file=F,line=L,
 *           title=T::MESSAGE" per violation at its allocation site (else
 *           its root's declaration), "::warning" per unused suppression at
 *           its line of the policy.
 * Every text from the input (keys, names) is escaped for its format.
 *
 * Errors: the printers return -1 when out of memory (a write error is the
 * stream's to report).
 */
#ifndef MP_GATE_REPORT_H
#define MP_GATE_REPORT_H

#include "analyze/gate.h"

#include <jansson.h>
#include <stdio.h>

/* "pass" or "fail" and the exit status it means (0, 1). */
int mp_gate_exit_status(const mp_gate *gt);

void mp_gate_print_text(FILE *out, const mp_gate *gt);
/* The JSON report (caller owns it), NULL when out of memory. */
json_t *mp_gate_json(const mp_gate *gt);
int mp_gate_print_junit(FILE *out, const mp_gate *gt);
int mp_gate_print_github(FILE *out, const mp_gate *gt);

#endif
