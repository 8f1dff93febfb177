/*
 * examples/example.h -- what every example shares: the closing report.
 *
 * Each example ends the same way: a full collection (so the figures show what
 * is really retained, not garbage waiting for the next cycle), the memory
 * statistics, and a paragraph that says which leak the program showed. The
 * report must be printed from the frame that still holds the leak (an example
 * whose leak lives on a stack calls it from that frame).
 */
#ifndef MAPROOT_EXAMPLE_H
#define MAPROOT_EXAMPLE_H

#include "maproot/collector.h"
#include "maproot/rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints text wrapped at 78 columns (words are never split). */
static inline void example_print_wrapped(const char *text)
{
    size_t col = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n == 0) break;
        if (col > 0 && col + 1 + n > 78) {
            putchar('\n');
            col = 0;
        }
        if (col > 0) {
            putchar(' ');
            col++;
        }
        fwrite(p, 1, n, stdout);
        col += n;
        p += n;
    }
    putchar('\n');
}

/* Collects, then prints the statistics and, under `heading`, the
 * explanation of the leak (or of why there is none). With
 * MAPROOT_EXAMPLE_SNAPSHOT=PATH it also writes a root snapshot to PATH
 * right here, while the leak is held: some leaks (an open iterator, a
 * running frame's local) are gone by the time the program exits, so an
 * exit-time snapshot (MAPROOT_SNAPSHOT) would not show them. */
__attribute__((noinline, unused)) static void
example_report_as(const char *name, const char *heading, const char *explanation)
{
    mr_memstats st;
    const char *snap = getenv("MAPROOT_EXAMPLE_SNAPSHOT");
    if (snap && *snap && mrc_write_snapshot(snap) != 0)
        fprintf(stderr, "%s: MAPROOT_EXAMPLE_SNAPSHOT: %s\n", name, mrc_last_error());
    mr_gc();
    mr_read_memstats(&st);
    printf("== %s: memory statistics after a full collection\n", name);
    mr_print_memstats(stdout, &st);
    printf("\n== %s\n", heading);
    example_print_wrapped(explanation);
    fflush(stdout);
}

/* The closing report of a leak example. noinline: the frame that calls it
 * is the one that holds the leak, and stays on the stack. */
__attribute__((noinline, unused)) static void example_report(const char *name,
                                                             const char *explanation)
{
    example_report_as(name, "the leak", explanation);
}

/* Reads a map's internals (B, count, bucket arrays, evacuation progress).
 * They belong to the walk API, so the world is stopped around the read as
 * that API requires. */
static inline void example_map_info(const mr_map *m, mr_map_info *info)
{
    mr_stop_the_world();
    mr_map_get_info(m, info);
    mr_start_the_world();
}

#endif
