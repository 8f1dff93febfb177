/*
 * src/analyze/parallel.c -- see parallel.h.
 */
#include "analyze/parallel.h"

#include <pthread.h>
#include <stdint.h>
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
