/*
 * tests/fuzz/fuzz_gcstack.c -- libFuzzer target for the gcstack snapshot
 * reader and the analysis behind `maproot analyze`. The input is written to
 * a memory file (the reader streams from a file descriptor, as the CLI does),
 * summarized, and then analysed in full -- graph loader, paths, dominators,
 * findings, and every report format -- so that whatever the reader accepts,
 * the analysis survives. Built with meson
 * -Dfuzz=true (clang); run with scripts/fuzz. Seed corpus:
 * testdata/fuzz/gcstack/.
 */
#include "analyze/snapshot_report.h"
#include "analyze/snapshot_summary.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("fuzz_gcstack", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    mp_snap_summary s;
    mf_error err;
    if (mp_snap_summarize(path, &s, &err) == 0) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            mp_snap_print_text(null, &s, 0);
            /* JSON is whole or an error: names of any bytes are no error */
            if (mp_snap_print_json(null, &s, &err)) abort();
            fclose(null);
        }
        mp_snap_summary_free(&s);
    }
    mp_snapshot_analysis a;
    if (mp_snapshot_analyze(path, NULL, NULL, &a, &err) == 0) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            mp_snapshot_print_opts o = {.all_entries = true};
            mp_snapshot_print_text(null, &a, &o);
            if (mp_snapshot_print_json(null, &a, &o, &err)) abort();
            mp_snapshot_print_dot(null, &a, &o);
            fclose(null);
        }
        mp_snapshot_analysis_free(&a);
    }
    return 0;
}
