/*
 * src/analyze/parallel.c -- see parallel.h.
 */
#include "analyze/parallel.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

unsigned mp_threads(void)
{
    const char *s = getenv("MAPROOT_THREADS");
    long n = 0;
    if (s && *s) {
        char *end;
        n = strtol(s, &end, 10);
        if (*end) n = 0;
    }
    if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = 1;
    return n > MP_THREADS_MAX ? MP_THREADS_MAX : (unsigned)n;
}

/* The whole block is advised, to its first and last page, not just the
 * huge-page-aligned middle: a big block is a mapping of its own, and
 * advice on part of it splits the mapping in two or three, which mremap
 * cannot move. realloc of such a block then copies it into fresh memory
 * (faulted in and zeroed by the kernel) instead of moving its pages, and
 * an array grown by doubling pays that at every step. The kernel uses huge
 * pages only on the aligned 2 MiB stretches in any case. */
void mp_huge_pages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    if (!p || n < 2 * huge) return;
    long ps = sysconf(_SC_PAGESIZE);
    uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
    size_t all = malloc_usable_size(p);
    if (all < n) all = n;
    uintptr_t a = (uintptr_t)p & ~(page - 1), e = ((uintptr_t)p + all + page - 1) & ~(page - 1);
    madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p, (void)n;
#endif
}

typedef struct part {
    void (*fn)(void *, unsigned, unsigned);
    void *arg;
    unsigned t, n;
} part;

static void *run_part(void *p)
{
    part *x = p;
    x->fn(x->arg, x->t, x->n);
    return NULL;
}

void mp_parallel(unsigned n, void (*fn)(void *arg, unsigned t, unsigned n), void *arg)
{
    if (n <= 1) {
        fn(arg, 0, 1);
        return;
    }
    if (n > MP_THREADS_MAX) n = MP_THREADS_MAX;
    pthread_t th[MP_THREADS_MAX];
    part parts[MP_THREADS_MAX];
    bool started[MP_THREADS_MAX] = {false};
    for (unsigned t = 1; t < n; t++) {
        parts[t] = (part){fn, arg, t, n};
        started[t] = pthread_create(&th[t], NULL, run_part, &parts[t]) == 0;
    }
    fn(arg, 0, n);
    for (unsigned t = 1; t < n; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            fn(arg, t, n); /* no thread: run its part here */
    }
}
