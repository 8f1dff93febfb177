/*
 * src/format/text.h -- figures and strings for people, the same in every
 * report maproot writes (the CLI's, the collector's leak checks): counts
 * with thousands separators, byte sizes in powers of 1024, formatted
 * strings allocated to fit.
 *
 * Memory: the formatters write into the caller's buffer (truncated to
 * fit); mf_asprintf's result is the caller's. Errors: mf_asprintf returns
 * NULL when out of memory.
 */
#ifndef MF_TEXT_H
#define MF_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* "120,000" */
void mf_format_count(char *buf, size_t size, uint64_t v);
/* "512B", "1.50KiB", "205.04MiB" (B, KiB, MiB, GiB, TiB, PiB) */
void mf_format_bytes(char *buf, size_t size, uint64_t v);
/* A new string, printf-formatted; NULL when out of memory. */
char *mf_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
