/*
 * tests/fuzz/fuzz_index.c -- libFuzzer target for the index file reader
 * (analyze/graph_index.h). Each input is tried twice: as it is (the
 * checksums of a mutated index stop most of it at the first section), and
 * resealed -- its checksums recomputed -- so that mutations reach the
 * bounds and reference checks behind them, the derived results' (paths,
 * dominator tree: cycles, references out of range, wrong sums; the
 * findings' records and per-entry store) as well as the graph's. Whatever
 * the reader accepts is then analysed in full -- with the derived results
 * it kept, in place of computing them -- and
 * printed in every format, so that an index that passes the checks cannot
 * crash the analysis. Built with meson
 * -Dfuzz=true (clang); run with scripts/fuzz. Seed corpus:
 * testdata/fuzz/index/.
 */
#include "analyze/graph_index.h"
#include "analyze/snapshot_report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void try_index(const uint8_t *data, size_t size)
{
    mp_graph *g;
    mf_error err;
    if (mp_gi_open_bytes(data, size, "fuzz.mrx", &g, &err) != MP_GI_OK) return;
    mp_snapshot_analysis a;
    if (mp_snapshot_analyze_graph(g, NULL, &a, &err) == 0) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            mp_snapshot_print_opts o = {.all_entries = true};
            mp_snapshot_print_text(null, &a, &o);
            if (mp_snapshot_print_json(null, &a, &o, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                abort();
            }
            mp_snapshot_print_dot(null, &a, &o);
            fclose(null);
        }
        mp_snapshot_analysis_free(&a);
    } /* else the analysis freed the graph it took over */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_index(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    mp_gi_reseal(copy, size);
    try_index(copy, size);
    free(copy);
    return 0;
}
