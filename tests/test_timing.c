/*
 * tests/test_timing.c -- the phase lines of --timings (src/analyze/timing.c).
 *
 * A line names its phase and gives wall, cpu, rss and peak, then the
 * phase's system time and minor page faults: a phase that writes fresh
 * pages must count at least those pages' faults (the kernel zeroes each one
 * it hands over, which is where a phase's system time goes), and a phase
 * that touches nothing new must count few.
 */
#include "check.h"
#include "analyze/timing.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)

typedef struct line {
    char phase[32];
    double wall, cpu, rss, peak, sys;
    long faults;
} line;

/* Parses the last line written to f; the number of fields read. */
static int last_line(FILE *f, line *l)
{
    char buf[512], last[512] = "";
    rewind(f);
    while (fgets(buf, sizeof buf, f)) memcpy(last, buf, sizeof last);
    return sscanf(last,
                  "maproot: timing  %31s wall %lfs  cpu %lfs  rss %lfMiB  peak %lfMiB  sys %lfs"
                  "  faults %ld\n",
                  l->phase, &l->wall, &l->cpu, &l->rss, &l->peak, &l->sys, &l->faults);
}

static void a_phase_counts_the_fresh_pages_it_writes(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    mp_timing_enable(f);
    /* 16 MiB of fresh anonymous memory, small pages, each written once */
    size_t n = 16 * MIB;
    uint8_t *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
#ifdef MADV_NOHUGEPAGE
    madvise(p, n, MADV_NOHUGEPAGE);
#endif
    long ps = sysconf(_SC_PAGESIZE);
    CHECK(ps > 0);
    for (size_t i = 0; i < n; i += (size_t)ps) p[i] = 1;
    mp_timing_mark("touch");
    line l;
    int got = last_line(f, &l);
    CHECK(got == 7);
    CHECK_STR_EQ(l.phase, "touch");
    CHECK(l.faults >= (long)(n / (size_t)ps));
    CHECK(l.sys >= 0 && l.sys <= l.cpu + 0.01);
    /* the next phase writes the same pages again: no fresh ones */
    for (size_t i = 0; i < n; i += (size_t)ps) p[i] = 2;
    mp_timing_mark("again");
    got = last_line(f, &l);
    CHECK(got == 7);
    CHECK_STR_EQ(l.phase, "again");
    CHECK(l.faults < (long)(n / (size_t)ps) / 4);
    munmap(p, n);
    mp_timing_enable(NULL);
    fclose(f);
}

int main(void)
{
    TEST(a_phase_counts_the_fresh_pages_it_writes);
    TEST_EXIT();
}
