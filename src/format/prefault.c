/* src/format/prefault.c -- see prefault.h. */
#include "format/prefault.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Pages are faulted in pieces of this many bytes per array, so that a stop
 * waits for one piece at most. */
#define PIECE ((size_t)2 << 20)

struct mf_prefault {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t more;
    /* under mu: elements allowed, whether to stop */
    size_t upto;
    bool stop;
    /* fixed at the start */
    uintptr_t base[MF_PREFAULT_MAX];
    size_t elem[MF_PREFAULT_MAX], n, cap;
    uintptr_t page;
};

/* Faults in the pages of elements [from, to) of every array: whole pages
 * only inside each array's room (its first page may be shared with the
 * allocator's header, which is mapped already). A failure is ignored: the
 * writer then faults the pages itself. */
static void populate(const mf_prefault *pf, size_t from, size_t to)
{
#ifdef MADV_POPULATE_WRITE
    for (size_t i = 0; i < pf->n; i++) {
        uintptr_t a = (pf->base[i] + from * pf->elem[i]) & ~(pf->page - 1);
        uintptr_t e = pf->base[i] + to * pf->elem[i];
        uintptr_t lim = (pf->base[i] + pf->cap * pf->elem[i]) & ~(pf->page - 1);
        if (e > lim) e = lim;
        if (e > a) madvise((void *)a, e - a, MADV_POPULATE_WRITE);
    }
#else
    (void)pf, (void)from, (void)to;
#endif
}

/* The thread: faults in up to what is allowed, a piece at a time, then
 * waits for more. */
static void *run(void *arg)
{
    mf_prefault *pf = arg;
    size_t done = 0, step = PIECE / pf->elem[0];
    for (size_t i = 1; i < pf->n; i++)
        if (PIECE / pf->elem[i] < step) step = PIECE / pf->elem[i];
    if (step == 0) step = 1;
    pthread_mutex_lock(&pf->mu);
    for (;;) {
        while (!pf->stop && done >= pf->upto) pthread_cond_wait(&pf->more, &pf->mu);
        if (pf->stop) break;
        size_t to = pf->upto - done > step ? done + step : pf->upto;
        pthread_mutex_unlock(&pf->mu);
        populate(pf, done, to);
        done = to;
        pthread_mutex_lock(&pf->mu);
    }
    pthread_mutex_unlock(&pf->mu);
    return NULL;
}

/* Linux's SCHED_IDLE: the thread runs only when a processor has nothing
 * else to run. When it waits for one while it holds the address space's
 * lock (a piece faulting in), a thread that needs the lock to map or unmap
 * sleeps, which frees a processor for it: the wait is a piece's. Where the
 * policy is refused the thread runs as any other. */
void mf_prefault_when_idle(mf_prefault *pf)
{
#ifdef SCHED_IDLE
    struct sched_param sp = {.sched_priority = 0};
    if (pf) (void)pthread_setschedparam(pf->th, SCHED_IDLE, &sp);
#else
    (void)pf;
#endif
}

bool mf_prefault_idle(const mf_prefault *pf)
{
#ifdef SCHED_IDLE
    int policy;
    struct sched_param sp;
    return pf && pthread_getschedparam(pf->th, &policy, &sp) == 0 && policy == SCHED_IDLE;
#else
    (void)pf;
    return false;
#endif
}

mf_prefault *mf_prefault_start(void *const *base, const size_t *elem, size_t n, size_t cap)
{
#ifdef MADV_POPULATE_WRITE
    assert(n > 0 && n <= MF_PREFAULT_MAX);
    long ps = sysconf(_SC_PAGESIZE);
    if (ps <= 0 || n == 0 || n > MF_PREFAULT_MAX) return NULL;
    /* a kernel without MADV_POPULATE_WRITE says so on an empty request */
    if (madvise((void *)((uintptr_t)base[0] & ~((uintptr_t)ps - 1)), (size_t)ps,
                MADV_POPULATE_WRITE) != 0)
        return NULL;
    mf_prefault *pf = calloc(1, sizeof *pf);
    if (!pf) return NULL;
    for (size_t i = 0; i < n; i++) {
        assert(elem[i] > 0);
        pf->base[i] = (uintptr_t)base[i];
        pf->elem[i] = elem[i];
    }
    pf->n = n;
    pf->cap = cap;
    pf->page = (uintptr_t)ps;
    if (pthread_mutex_init(&pf->mu, NULL)) {
        free(pf);
        return NULL;
    }
    if (pthread_cond_init(&pf->more, NULL)) {
        pthread_mutex_destroy(&pf->mu);
        free(pf);
        return NULL;
    }
    if (pthread_create(&pf->th, NULL, run, pf)) {
        pthread_cond_destroy(&pf->more);
        pthread_mutex_destroy(&pf->mu);
        free(pf);
        return NULL;
    }
    return pf;
#else
    (void)base, (void)elem, (void)n, (void)cap;
    return NULL;
#endif
}

void mf_prefault_upto(mf_prefault *pf, size_t upto)
{
    if (!pf) return;
    if (upto > pf->cap) upto = pf->cap;
    pthread_mutex_lock(&pf->mu);
    if (upto > pf->upto) {
        pf->upto = upto;
        pthread_cond_signal(&pf->more);
    }
    pthread_mutex_unlock(&pf->mu);
}

/* A thread on idle processor time alone waits for a processor as long as
 * the machine is busy -- a second and more on a loaded host, however
 * little is left to do -- and a join waits with it: the thread is given
 * back the normal policy to finish its piece and exit. */
void mf_prefault_stop(mf_prefault *pf)
{
    if (!pf) return;
#ifdef SCHED_IDLE
    if (mf_prefault_idle(pf)) {
        struct sched_param sp = {.sched_priority = 0};
        (void)pthread_setschedparam(pf->th, SCHED_OTHER, &sp);
    }
#endif
    pthread_mutex_lock(&pf->mu);
    pf->stop = true;
    pthread_cond_signal(&pf->more);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->th, NULL);
    pthread_cond_destroy(&pf->more);
    pthread_mutex_destroy(&pf->mu);
    free(pf);
}
