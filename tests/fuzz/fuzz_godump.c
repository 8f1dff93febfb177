/*
 * tests/fuzz/fuzz_godump.c -- libFuzzer target for the Go heap dump reader
 * and the analysis behind `maproot analyze DUMP`: the input is indexed by
 * the reader (from memory, as a mapped file is), and whatever it accepts is
 * loaded into the heap graph (maps recognised, roots, reachability) and
 * analysed in full, with every report format. Built with meson
 * -Dfuzz=true (clang); run with scripts/fuzz. Seed corpus:
 * testdata/fuzz/godump/.
 */
#include "analyze/load_godump.h"
#include "analyze/snapshot_report.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mf_gd_dump *d;
    mf_error err;
    if (mf_gd_open_mem("fuzz.dump", data, size, &d, &err)) return 0;
    mp_graph *g;
    if (mp_load_godump_dump(d, NULL, &g, &err) == 0) {
        mp_snapshot_analysis a;
        memset(&a, 0, sizeof a);
        if (mp_snapshot_analyze_graph(g, NULL, &a, &err) == 0) {
            FILE *null = fopen("/dev/null", "w");
            if (null) {
                mp_snapshot_print_opts o = {.all_entries = true};
                mp_snapshot_print_text(null, &a, &o);
                mp_snapshot_print_json(null, &a, &o, &err);
                mp_snapshot_print_dot(null, &a, &o);
                fclose(null);
            }
            mp_snapshot_analysis_free(&a);
        }
    }
    mf_gd_close(d);
    return 0;
}
