/*
 * tests/test_prefault.c -- faulting in pages ahead of a writer
 * (src/format/prefault.c).
 *
 * What is checked is what the kernel shows (mincore): the pages allowed
 * come in, the ones not allowed stay out, and what the arrays held is
 * left as it was.
 */
#include "check.h"
#include "format/prefault.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

/* How many of the pages of [p, p + n) are resident. */
static size_t resident(const void *p, size_t n)
{
    size_t ps = page_size(), np = n / ps, k = 0;
    unsigned char vec[4096];
    if (np > sizeof vec || mincore((void *)p, np * ps, vec) != 0) return SIZE_MAX;
    for (size_t i = 0; i < np; i++) k += vec[i] & 1;
    return k;
}

/* Waits, up to ten seconds, for the pages of [p, p + n) to come in. */
static bool all_resident_soon(const void *p, size_t n)
{
    for (int i = 0; i < 1000; i++) {
        if (resident(p, n) == n / page_size()) return true;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return false;
}

/* Two arrays of different element sizes: the first `upto` elements of
 * each come in, the rest of their room stays out, and what was written
 * before is kept. */
static void allowed_pages_come_in_and_no_others(void)
{
    size_t ps = page_size(), cap = 64 * ps; /* elements */
    uint64_t *a = mmap(NULL, cap * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t *b = mmap(NULL, cap * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED && b != MAP_FAILED);
    madvise(a, cap * 8, MADV_NOHUGEPAGE); /* page by page, as mincore counts */
    madvise(b, cap * 4, MADV_NOHUGEPAGE);
    a[0] = 42, b[0] = 7;
    CHECK_EQ_U64(resident(a, cap * 8), 1);
    void *base[2] = {a, b};
    size_t elem[2] = {8, 4};
    mf_prefault *pf = mf_prefault_start(base, elem, 2, cap);
    if (!pf) {
        /* a kernel without MADV_POPULATE_WRITE: nothing to check */
        printf("SKIP: no MADV_POPULATE_WRITE\n");
        munmap(a, cap * 8), munmap(b, cap * 4);
        return;
    }
    size_t upto = 16 * ps; /* 32 pages of a, 16 of b */
    mf_prefault_upto(pf, upto);
    CHECK(all_resident_soon(a, upto * 8));
    CHECK(all_resident_soon(b, upto * 4));
    mf_prefault_stop(pf);
    CHECK_EQ_U64(resident(a, cap * 8), upto * 8 / ps);
    CHECK_EQ_U64(resident(b, cap * 4), upto * 4 / ps);
    CHECK_EQ_U64(a[0], 42);
    CHECK_EQ_U64(b[0], 7);
    CHECK_EQ_U64(a[upto - 1], 0);
    munmap(a, cap * 8), munmap(b, cap * 4);
}

/* Allowing past the room faults in the room and no further; stopping a
 * prefaulter that was never allowed anything, or none at all, is fine. */
static void room_bounds_the_pages(void)
{
    size_t ps = page_size(), cap = 8 * ps;
    uint8_t *m = mmap(NULL, 2 * cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    madvise(m, 2 * cap, MADV_NOHUGEPAGE);
    void *base[1] = {m};
    size_t elem[1] = {1};
    mf_prefault *pf = mf_prefault_start(base, elem, 1, cap);
    if (pf) {
        mf_prefault_upto(pf, 100 * cap);
        CHECK(all_resident_soon(m, cap));
        mf_prefault_stop(pf);
        CHECK_EQ_U64(resident(m, 2 * cap), 8);
    }
    mf_prefault_stop(mf_prefault_start(base, elem, 1, cap));
    mf_prefault_stop(NULL);
    munmap(m, 2 * cap);
}

/* A prefaulter runs as any thread until asked to take idle processor
 * time only; then it does (SCHED_IDLE, where the system has it), stops as
 * any other, and has left what the array held as it was. (Whether it
 * faults anything in depends on idle processors, which a test cannot
 * promise.) */
static void idle_time_only_when_asked(void)
{
    size_t ps = page_size(), cap = 64 * ps;
    uint8_t *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    m[0] = 9, m[cap - 1] = 11;
    void *base[1] = {m};
    size_t elem[1] = {1};
    mf_prefault *pf = mf_prefault_start(base, elem, 1, cap);
    CHECK(!mf_prefault_idle(NULL));
    mf_prefault_when_idle(NULL);
    if (!pf) {
        printf("SKIP: no MADV_POPULATE_WRITE\n");
        munmap(m, cap);
        return;
    }
    CHECK(!mf_prefault_idle(pf));
    mf_prefault_when_idle(pf);
#ifdef SCHED_IDLE
    CHECK(mf_prefault_idle(pf));
#endif
    mf_prefault_upto(pf, cap);
    mf_prefault_stop(pf);
    CHECK_EQ_U64(m[0], 9);
    CHECK_EQ_U64(m[1], 0);
    CHECK_EQ_U64(m[cap - 1], 11);
    munmap(m, cap);
}

static volatile bool spinning;

static void *spin(void *arg)
{
    (void)arg;
    while (spinning) {
    }
    return NULL;
}

/* Stopping an idle-time prefaulter on a processor that another thread
 * keeps busy takes no longer than the piece it is faulting in: the thread
 * is given a normal share to exit, rather than waiting for idle time that
 * a busy machine may not have for seconds. */
static void stop_on_a_busy_processor_is_prompt(void)
{
    cpu_set_t old, one;
    CHECK(sched_getaffinity(0, sizeof old, &old) == 0);
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &old)) cpu++;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0); /* threads made now inherit it */
    size_t cap = (size_t)64 << 20; /* pieces enough to be at one when stopped */
    uint8_t *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    void *base[1] = {m};
    size_t elem[1] = {1};
    mf_prefault *pf = mf_prefault_start(base, elem, 1, cap);
    if (!pf) {
        printf("SKIP: no MADV_POPULATE_WRITE\n");
    } else {
        mf_prefault_when_idle(pf);
        spinning = true;
        pthread_t th[3];
        for (int i = 0; i < 3; i++) CHECK(pthread_create(&th[i], NULL, spin, NULL) == 0);
        mf_prefault_upto(pf, cap);
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        mf_prefault_stop(pf);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        spinning = false;
        for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("stopped in %.3f s\n", s);
        CHECK(s < 0.25);
    }
    munmap(m, cap);
    CHECK(sched_setaffinity(0, sizeof old, &old) == 0);
}

int main(void)
{
    TEST(allowed_pages_come_in_and_no_others);
    TEST(room_bounds_the_pages);
    TEST(idle_time_only_when_asked);
    TEST(stop_on_a_busy_processor_is_prompt);
    TEST_EXIT();
}
