/*
 * bench/profile_bench.c -- an allocation-heavy program for the heap profiling
 * overhead benchmark (bench/run-profile-overhead.sh).
 *
 * It links libmaproot, so the profiler is configured from the environment
 * like in any program (MAPROOT_PROFILE_RATE=0 turns it off; unset means the
 * default rate 524288). The workload, run `rounds` times (default 4):
 *   - 1M allocations of mixed kinds and sizes: Records (48 bytes, two
 *     pointer fields), blobs of 16..2047 bytes and small arrays, each stored
 *     in a ring of 64K slots of a global array (so the collector always has a
 *     live heap to mark and the ring's previous occupant becomes garbage);
 *   - a map[int64]*Record filled with 200k entries (growth allocates bucket
 *     arrays and overflow buckets), then dropped.
 * Sizes come from a fixed-seed generator, so every run allocates the same.
 *
 * Output: RESULT profile_alloc_cpu ns/alloc <figure> and RESULT
 * profile_alloc_wall ns/alloc <figure>: the CPU time (user + system, the
 * whole process) and the wall time of the workload (collections included,
 * program start and exit excluded) divided by the number of allocations.
 * The program is single-threaded, so on an idle machine both agree; on a
 * shared one the CPU time is the steadier figure.
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { RING = 65536, ALLOCS_PER_ROUND = 1000000, MAP_ENTRIES = 200000 };

typedef struct Record {
    struct Record *next;
    void *data;
    int64_t id, stamp, pad[2];
} Record;
MR_TYPE(record_type, Record, MR_FIELD(Record, next), MR_FIELD(Record, data));

static mr_map_type record_map_type = {
    .name = "map[int64]*Record", .key_kind = MR_KEY_INT64, .value_type = &mr_type_pointer};

static void **ring; /* a global array object of RING pointers */
MR_GLOBAL(ring)

static volatile uint64_t sink;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Distinct allocation sites, as a real program has them. */
__attribute__((noinline)) static void *make_record(int64_t id, void *data)
{
    Record *r = mr_new(&record_type);
    r->id = id;
    r->data = data;
    return r;
}

__attribute__((noinline)) static void *make_blob(size_t n)
{
    uint8_t *b = mr_alloc_blob(n);
    b[0] = (uint8_t)n;
    return b;
}

__attribute__((noinline)) static void *make_array(size_t n)
{
    return mr_new_array(&mr_type_int64, n);
}

__attribute__((noinline)) static void churn(uint64_t *seed)
{
    for (int i = 0; i < ALLOCS_PER_ROUND; i++) {
        uint64_t r = xorshift(seed);
        void *p;
        switch (r & 3) {
        case 0:
        case 1:
            p = make_blob(16 + (size_t)((r >> 8) % 2032));
            break;
        case 2:
            p = make_record((int64_t)i, ring[(r >> 20) % RING]);
            break;
        default:
            p = make_array(1 + (size_t)((r >> 8) % 32));
            break;
        }
        ring[(r >> 32) % RING] = p;
    }
}

__attribute__((noinline)) static size_t fill_map(void)
{
    mr_map *m = mr_map_new(&record_map_type, 0);
    for (int64_t k = 0; k < MAP_ENTRIES; k++) {
        Record *r = make_record(k, NULL);
        mr_map_set(m, &k, &r);
    }
    return mr_map_len(m);
}

/*
 * -alternate N: in one process, N pairs of one round each, sampling off
 * (mrc_profile_stop: the hooks stay installed, allocation only decrements
 * the countdown) and at the default rate, in alternating order, each timed
 * in CPU time. Pairs close together in time see the same machine, so on a
 * shared machine their ratios scatter far less than whole processes do.
 * Prints PAIR <off ns/alloc> <default ns/alloc> per pair.
 */
static int alternate(int pairs)
{
    ring = mr_new_array(&mr_type_pointer, RING);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < pairs; i++) {
        double ns[2];
        for (int k = 0; k < 2; k++) {
            int on = (i + k) % 2; /* alternate which goes first */
            if (on)
                mrc_profile_start(MRC_DEFAULT_PROFILE_RATE);
            else
                mrc_profile_stop();
            mr_gc();
            mr_memstats a, b;
            mr_read_memstats(&a);
            uint64_t c0 = cpu_ns();
            churn(&seed);
            sink += fill_map();
            uint64_t c1 = cpu_ns();
            mr_read_memstats(&b);
            ns[on] = (double)(c1 - c0) / (double)(b.mallocs - a.mallocs);
        }
        printf("PAIR %.2f %.2f\n", ns[0], ns[1]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "-alternate") == 0) return alternate(atoi(argv[2]));
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    if (rounds < 1) rounds = 1;
    ring = mr_new_array(&mr_type_pointer, RING);
    mr_memstats st0, st1;
    mr_read_memstats(&st0);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    uint64_t t0 = now_ns(), c0 = cpu_ns();
    for (int r = 0; r < rounds; r++) {
        churn(&seed);
        sink += fill_map();
    }
    uint64_t t1 = now_ns(), c1 = cpu_ns();
    mr_read_memstats(&st1);
    uint64_t n = st1.mallocs - st0.mallocs;
    printf("INFO rate=%" PRIu64 " allocations=%" PRIu64 " bytes=%" PRIu64 " gcs=%u\n",
           mrc_profile_rate(), n, st1.total_alloc - st0.total_alloc, st1.num_gc - st0.num_gc);
    printf("RESULT profile_alloc_cpu ns/alloc %.2f\n", (double)(c1 - c0) / (double)(n ? n : 1));
    printf("RESULT profile_alloc_wall ns/alloc %.2f\n", (double)(t1 - t0) / (double)(n ? n : 1));
    return 0;
}
