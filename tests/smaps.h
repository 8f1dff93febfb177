/*
 * tests/smaps.h -- what the kernel says of the mapping that holds an
 * address (/proc/self/smaps), for tests of the memory advice a module
 * gives: the VmFlags line lists, as two-letter names, the advice the
 * mapping carries ("hg": huge pages asked for with MADV_HUGEPAGE).
 */
#ifndef MR_TEST_SMAPS_H
#define MR_TEST_SMAPS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 1 when the mapping of this process that holds p carries the VmFlags
 * name flag, 0 when it does not, -1 when that cannot be told (no smaps,
 * no such mapping, a kernel without VmFlags). */
static int smaps_mapping_has_flag(const void *p, const char *flag)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f) return -1;
    char line[1024];
    int found = -1; /* -1: not yet in p's mapping; 0: in it */
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long long lo, hi;
        /* a mapping's first line: "lo-hi perms offset ..." (no field line
         * reads as two hex numbers joined by '-') */
        if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2) {
            if (found == 0) break; /* p's mapping had no VmFlags line */
            if (a >= lo && a < hi) found = 0;
            continue;
        }
        if (found == 0 && strncmp(line, "VmFlags:", 8) == 0) {
            size_t len = strlen(flag);
            int has = 0;
            for (char *t = strtok(line + 8, " \n"); t; t = strtok(NULL, " \n"))
                if (strlen(t) == len && memcmp(t, flag, len) == 0) has = 1;
            fclose(f);
            return has;
        }
    }
    fclose(f);
    return -1;
}

#endif
