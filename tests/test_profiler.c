/*
 * tests/test_profiler.c -- the heap profiler: its tables (counting, Go's
 * publish-at-GC semantics, frees, scaling), the symbolizer, and the whole
 * collector on the real runtime at rate 1, where every allocation is
 * sampled and the profile's figures must be exact.
 *
 * With argument "threads" only the threaded cases run (suite 'threads',
 * meaningful under ThreadSanitizer).
 */
#include "check.h"
#include "wait_child.h"
#include "collector/heapprof.h"
#include "collector/profiler.h"
#include "collector/symbolize.h"
#include "format/pprof.h"
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

/* ---------------------------------------------------------- the tables --- */

static const uintptr_t stack_a[] = {0x1000, 0x2000, 0x3000};
static const uintptr_t stack_b[] = {0x1000, 0x2000, 0x4000};

static void rec(mrc_prof *p, uintptr_t obj, uint64_t size, const uintptr_t *pcs, size_t n)
{
    mrc_prof_alloc(p, obj, size, 1, pcs, n, 0, mrc_prof_hash_stack(pcs, n));
}

/* The record of (stack, size) in a snapshot, or NULL. */
static const mrc_prof_record *find_rec(const mrc_prof_snapshot *s, const uintptr_t *pcs, size_t n,
                                       uint64_t size)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const mrc_prof_record *r = &s->records[i];
        if (r->size == size && r->n_frames == n &&
            memcmp(s->frames + r->frame_start, pcs, n * sizeof *pcs) == 0)
            return r;
    }
    return NULL;
}

static void allocations_are_pending_until_a_collection_starts(void)
{
    mrc_prof *p = mrc_prof_new();
    CHECK(p != NULL);
    rec(p, 0x10000, 64, stack_a, 3);
    rec(p, 0x10040, 64, stack_a, 3);
    mrc_prof_snapshot s;
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(s.n_records, 0); /* not visible before a collection */
    mrc_prof_snapshot_free(&s);

    mrc_prof_gc_start(p);
    mrc_prof_gc_end(p);
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(s.n_records, 1);
    const mrc_prof_record *r = find_rec(&s, stack_a, 3, 64);
    CHECK(r != NULL);
    CHECK_EQ_U64(r->allocs, 2);
    CHECK_EQ_U64(r->alloc_bytes, 128);
    CHECK_EQ_U64(r->frees, 0);
    mrc_prof_snapshot_free(&s);

    /* allocated after that collection: still the old figures */
    rec(p, 0x10080, 64, stack_a, 3);
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(find_rec(&s, stack_a, 3, 64)->allocs, 2);
    mrc_prof_snapshot_free(&s);
    mrc_prof_destroy(p);
}

static void frees_from_the_sweep_count_at_once(void)
{
    mrc_prof *p = mrc_prof_new();
    CHECK(p != NULL);
    for (uintptr_t i = 0; i < 10; i++) rec(p, 0x20000 + i * 32, 32, stack_b, 3);
    mrc_prof_gc_start(p); /* cycle 1: nothing dies */
    mrc_prof_gc_end(p);
    rec(p, 0x30000, 32, stack_b, 3); /* pending */
    mrc_prof_gc_start(p);            /* cycle 2: publishes 0x30000, sweep frees three */
    mrc_prof_free_obj(p, 0x20000);
    mrc_prof_free_obj(p, 0x20020);
    mrc_prof_free_obj(p, 0x30000);
    mrc_prof_free_obj(p, 0x99999); /* never sampled: ignored */
    mrc_prof_gc_end(p);
    mrc_prof_snapshot s;
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    const mrc_prof_record *r = find_rec(&s, stack_b, 3, 32);
    CHECK(r != NULL);
    CHECK_EQ_U64(r->allocs, 11);
    CHECK_EQ_U64(r->frees, 3);
    CHECK_EQ_U64(r->free_bytes, 96);
    mrc_prof_snapshot_free(&s);
    /* a freed object is forgotten: a second free does not count */
    mrc_prof_gc_start(p);
    mrc_prof_free_obj(p, 0x20000);
    mrc_prof_gc_end(p);
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(find_rec(&s, stack_b, 3, 32)->frees, 3);
    mrc_prof_snapshot_free(&s);
    mrc_prof_destroy(p);
}

static void buckets_are_per_stack_size_and_rate(void)
{
    mrc_prof *p = mrc_prof_new();
    CHECK(p != NULL);
    rec(p, 0x1000, 16, stack_a, 3);
    rec(p, 0x2000, 16, stack_a, 3);
    rec(p, 0x3000, 32, stack_a, 3);
    rec(p, 0x4000, 16, stack_b, 3);
    rec(p, 0x5000, 16, stack_a, 2); /* a prefix is another stack */
    mrc_prof_publish(p);
    mrc_prof_snapshot s;
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(s.n_records, 4);
    CHECK_EQ_U64(find_rec(&s, stack_a, 3, 16)->allocs, 2);
    CHECK_EQ_U64(find_rec(&s, stack_a, 3, 32)->allocs, 1);
    CHECK_EQ_U64(find_rec(&s, stack_b, 3, 16)->allocs, 1);
    CHECK_EQ_U64(find_rec(&s, stack_a, 2, 16)->allocs, 1);
    mrc_prof_snapshot_free(&s);
    /* the same stack and size sampled at another rate: a bucket of its own,
     * which keeps its rate */
    mrc_prof_alloc(p, 0x6000, 16, 4096, stack_a, 3, 0, mrc_prof_hash_stack(stack_a, 3));
    mrc_prof_publish(p);
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(s.n_records, 5);
    size_t at_1 = 0, at_4096 = 0;
    for (size_t i = 0; i < s.n_records; i++)
        if (s.records[i].n_frames == 3 && s.records[i].size == 16 &&
            memcmp(s.frames + s.records[i].frame_start, stack_a, sizeof stack_a) == 0) {
            if (s.records[i].rate == 1) at_1 += s.records[i].allocs;
            if (s.records[i].rate == 4096) at_4096 += s.records[i].allocs;
        }
    CHECK_EQ_U64(at_1, 2);
    CHECK_EQ_U64(at_4096, 1);
    mrc_prof_snapshot_free(&s);
    mrc_prof_destroy(p);
}

/* Many objects over many stacks, half freed in a scattered order: the
 * object table's deletion keeps every survivor findable. */
static void many_objects_and_stacks_keep_exact_counts(void)
{
    mrc_prof *p = mrc_prof_new();
    CHECK(p != NULL);
    enum { N = 200000, STACKS = 500 };
    for (uint64_t i = 0; i < N; i++) {
        uintptr_t pcs[4] = {0x400000 + (i % STACKS) * 16, 0x500000, 0x600000, 0x700000};
        rec(p, 0x10000000 + i * 48, 48, pcs, 4);
    }
    mrc_prof_gc_start(p);
    for (uint64_t k = 0; k < N; k++) {
        uint64_t i = (k * 7919) % N; /* a permutation of 0..N-1 */
        if (i % 2 == 0) mrc_prof_free_obj(p, 0x10000000 + i * 48);
    }
    mrc_prof_gc_end(p);
    mrc_prof_gc_start(p); /* free the odd ones too: each must be found */
    for (uint64_t i = 1; i < N; i += 2) mrc_prof_free_obj(p, 0x10000000 + i * 48);
    mrc_prof_gc_end(p);
    mrc_prof_snapshot s;
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(s.n_records, STACKS);
    uint64_t a = 0, f = 0;
    for (size_t i = 0; i < s.n_records; i++) {
        a += s.records[i].allocs;
        f += s.records[i].frees;
        CHECK_EQ_U64(s.records[i].allocs, N / STACKS);
    }
    CHECK_EQ_U64(a, N);
    CHECK_EQ_U64(f, N);
    mrc_prof_snapshot_free(&s);
    mrc_prof_destroy(p);
}

static void a_reused_address_counts_the_old_object_freed(void)
{
    mrc_prof *p = mrc_prof_new();
    CHECK(p != NULL);
    rec(p, 0x7000, 64, stack_a, 3);
    mrc_prof_publish(p);
    rec(p, 0x7000, 64, stack_b, 3); /* its free was never reported */
    mrc_prof_publish(p);
    mrc_prof_snapshot s;
    CHECK(mrc_prof_snapshot_take(p, true, &s) == 0);
    CHECK_EQ_U64(find_rec(&s, stack_a, 3, 64)->frees, 1);
    CHECK_EQ_U64(find_rec(&s, stack_b, 3, 64)->frees, 0);
    mrc_prof_snapshot_free(&s);
    mrc_prof_destroy(p);
}

static void scaling_follows_go(void)
{
    int64_t c, b;
    mrc_scale_heap_sample(10, 10 * 1024, 524288, &c, &b);
    double scale = 1.0 / (1.0 - exp(-1024.0 / 524288.0));
    CHECK_EQ_U64(c, (int64_t)(10 * scale));
    CHECK_EQ_U64(b, (int64_t)(10 * 1024 * scale));
    CHECK(c >= 5000 && c <= 5200);                         /* ~512.5 objects per sample of 1 KiB */
    mrc_scale_heap_sample(3, 3 * 4 << 20, 524288, &c, &b); /* 4 MiB: almost surely sampled */
    CHECK_EQ_U64(c, 3);
    CHECK(b >= 3 * (4 << 20) && b < 3 * (4 << 20) + 16384);
    mrc_scale_heap_sample(7, 700, 1, &c, &b); /* rate 1: as is */
    CHECK_EQ_U64(c, 7);
    CHECK_EQ_U64(b, 700);
    mrc_scale_heap_sample(0, 0, 524288, &c, &b);
    CHECK_EQ_U64(c, 0);
    CHECK_EQ_U64(b, 0);
}

/* --------------------------------------------------------- symbolizer --- */

enum { MARKER_LINE = __LINE__ + 2 };
__attribute__((noinline)) int test_marker_function(int x);
__attribute__((noinline)) int test_marker_function(int x)
{
    __asm__ volatile("" ::: "memory");
    return x * 3 + 1;
}

/* Was this test program built with DWARF (-g)? Without it there are no
 * files, lines nor inlined frames to expect, only the symbol table. */
static bool built_with_dwarf(void)
{
    mrc_symbolizer *s = mrc_sym_new();
    if (!s) return false;
    const mrc_sym_mapping *m;
    mrc_sym_mappings(s, &m);
    long mi = mrc_sym_mapping_of(s, (uintptr_t)&built_with_dwarf);
    bool dw = mi >= 0 && m[mi].has_dwarf;
    mrc_sym_free(s);
    return dw;
}

static void the_symbolizer_finds_function_file_and_line(void)
{
    mrc_symbolizer *s = mrc_sym_new();
    CHECK(s != NULL);
    const mrc_sym_frame *f;
    size_t n = mrc_sym_lookup(s, (uintptr_t)&test_marker_function + 1, &f);
    CHECK(n >= 1);
    CHECK_STR_EQ(f[n - 1].function, "test_marker_function");
    if (!built_with_dwarf()) {
        /* the symbol table's name; no file or line to make up */
        CHECK_STR_EQ(f[n - 1].file, "");
        CHECK_EQ_U64(f[n - 1].line, 0);
        mrc_sym_free(s);
        return;
    }
    const char *file = f[n - 1].file;
    const char *want = "/tests/test_profiler.c";
    size_t len = strlen(file), wl = strlen(want);
    CHECK(len > wl && strcmp(file + len - wl, want) == 0);
    CHECK(file[0] == '/' && strstr(file, "/../") == NULL);
    CHECK_EQ_U64(f[n - 1].start_line, MARKER_LINE);
    CHECK(f[n - 1].line >= MARKER_LINE && f[n - 1].line <= MARKER_LINE + 4);
    /* the executable is the first mapping and has a build ID */
    const mrc_sym_mapping *m;
    size_t nm = mrc_sym_mappings(s, &m);
    CHECK(nm >= 2);
    long mi = mrc_sym_mapping_of(s, (uintptr_t)&test_marker_function);
    CHECK(mi >= 0);
    CHECK(strlen(m[mi].build_id) >= 16);
    CHECK(m[mi].has_dwarf);
    CHECK(mrc_sym_lookup(s, 8, &f) == 0); /* no module there */
    mrc_sym_free(s);
}

/* The hook keeps the program's frames: from the one returning to the
 * program's call into the runtime, with the entry point's frame before it
 * for a map operation, at most depth of them. */
static void program_frames_start_at_the_programs_call(void)
{
    /* hook, runtime, runtime entry, program, program, libc */
    uintptr_t st[] = {0x10, 0x20, 0x30, 0x400, 0x500, 0x600};
    uintptr_t pcs[6];
    memcpy(pcs, st, sizeof st);
    CHECK_EQ_U64(mrc_prof_program_frames(pcs, 6, 0x400, false, 64), 3);
    CHECK(pcs[0] == 0x400 && pcs[1] == 0x500 && pcs[2] == 0x600);
    memcpy(pcs, st, sizeof st);
    CHECK_EQ_U64(mrc_prof_program_frames(pcs, 6, 0x400, true, 64), 4);
    CHECK(pcs[0] == 0x30 && pcs[1] == 0x400);
    memcpy(pcs, st, sizeof st);
    /* more program frames than the depth: cut, and marked so */
    CHECK_EQ_U64(mrc_prof_program_frames(pcs, 6, 0x400, false, 2), 3);
    CHECK(pcs[0] == 0x400 && pcs[1] == 0x500 && pcs[2] == MRC_PROF_TRUNCATED);
    /* exactly the depth: not cut */
    memcpy(pcs, st, sizeof st);
    CHECK_EQ_U64(mrc_prof_program_frames(pcs, 6, 0x400, false, 3), 3);
    CHECK(pcs[2] == 0x600);
    /* the unwinder stopped short of the program: its call alone */
    memcpy(pcs, st, sizeof st);
    CHECK_EQ_U64(mrc_prof_program_frames(pcs, 3, 0x400, true, 64), 1);
    CHECK(pcs[0] == 0x400);
    CHECK_EQ_U64(mrc_prof_program_frames(pcs, 0, 0x400, false, 64), 1);
    CHECK(pcs[0] == 0x400);
    /* unknown call: the stack as captured */
    memcpy(pcs, st, sizeof st);
    CHECK_EQ_U64(mrc_prof_program_frames(pcs, 6, 0, false, 64), 6);
    CHECK(pcs[0] == 0x10);
}

/* ------------------------------------------- the collector on the runtime --- */

typedef struct Thing {
    struct Thing *next;
    int64_t pad[5];
} Thing; /* 48 bytes: its own size class */
MR_TYPE(thing_type, Thing, MR_FIELD(Thing, next));

static void **kept; /* an array object: kept[i] keeps a Thing alive */
MR_GLOBAL(kept)

enum { NKEPT = 3000, NGARBAGE = 5000 };

__attribute__((noinline)) static void alloc_kept(size_t i)
{
    kept[i] = mr_new(&thing_type);
}

__attribute__((noinline)) static void alloc_garbage(void)
{
    Thing *t = mr_new(&thing_type);
    __asm__ volatile("" : : "r"(t) : "memory");
}

/* Sums values of type t over samples whose innermost frame is `fn`. */
static int64_t site_value(const mf_profile *p, const char *fn, size_t t)
{
    int64_t v = 0;
    for (size_t s = 0; s < p->n_samples; s++) {
        const mf_sample *sm = &p->samples[s];
        if (!sm->n_locs) continue;
        const mf_location *l = &p->locations[p->locs[sm->loc_start]];
        if (!l->n_lines) continue;
        const mf_line *ln = &p->lines[l->line_start];
        if (ln->function && strcmp(mf_str(p, p->functions[ln->function - 1].name), fn) == 0)
            v += mf_sample_values(p, s)[t];
    }
    return v;
}

/* The name of the function of frame i (a location's outermost line) of
 * sample s, or "". */
static const char *frame_name(const mf_profile *p, size_t s, size_t i)
{
    const mf_sample *sm = &p->samples[s];
    const mf_location *l = &p->locations[p->locs[sm->loc_start + i]];
    if (!l->n_lines) return "";
    const mf_line *ln = &p->lines[l->line_start + l->n_lines - 1];
    return ln->function ? mf_str(p, p->functions[ln->function - 1].name) : "";
}

/* Does the profile have function fn? */
static bool has_function(const mf_profile *p, const char *fn)
{
    for (size_t i = 0; i < p->n_functions; i++)
        if (strcmp(mf_str(p, p->functions[i].name), fn) == 0) return true;
    return false;
}

/* Does the profile have a function from a file ending in suffix? */
static bool has_file(const mf_profile *p, const char *suffix)
{
    size_t m = strlen(suffix);
    for (size_t i = 0; i < p->n_functions; i++) {
        const char *f = mf_str(p, p->functions[i].filename);
        size_t n = strlen(f);
        if (n >= m && strcmp(f + n - m, suffix) == 0) return true;
    }
    return false;
}

static mf_profile *write_and_read(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    if (mrc_write_heap_profile(path) != 0) {
        fprintf(stderr, "write failed: %s\n", mrc_last_error());
        return NULL;
    }
    mf_profile *p = NULL;
    mf_error err;
    if (mf_profile_read(path, &p, &err) != 0) fprintf(stderr, "%s\n", err.msg);
    return p;
}

static mr_map_type int_map_type = {
    .name = "map[int64]int64", .key_kind = MR_KEY_INT64, .value_type = &mr_type_int64};

__attribute__((noinline)) static mr_map *grow_a_map(void)
{
    mr_map *m = mr_map_new(&int_map_type, 0);
    for (int64_t i = 0; i < 5000; i++) *(int64_t *)mr_map_assign_int(m, i) = i;
    return m;
}

static void rate_one_profiles_are_exact(void)
{
    CHECK(mrc_profile_start(1) == 0);
    CHECK_EQ_U64(mrc_profile_rate(), 1);
    kept = mr_new_array(&mr_type_pointer, NKEPT);
    for (size_t i = 0; i < NKEPT; i++) alloc_kept(i);
    for (size_t i = 0; i < NGARBAGE; i++) alloc_garbage();

    /* before any collection: nothing is visible yet (Go's semantics) */
    mf_profile *p = write_and_read("before.pb.gz");
    CHECK(p != NULL);
    CHECK_EQ_U64(site_value(p, "alloc_kept", 0), 0);
    CHECK_EQ_U64(p->n_sample_types, 4);
    CHECK_STR_EQ(mf_str(p, p->sample_types[0].type), "alloc_objects");
    CHECK_STR_EQ(mf_str(p, p->sample_types[1].type), "alloc_space");
    CHECK_STR_EQ(mf_str(p, p->sample_types[2].type), "inuse_objects");
    CHECK_STR_EQ(mf_str(p, p->sample_types[3].type), "inuse_space");
    CHECK_STR_EQ(mf_str(p, p->sample_types[3].unit), "bytes");
    CHECK_STR_EQ(mf_str(p, p->period_type.type), "space");
    CHECK_EQ_U64(p->period, 1);
    mf_profile_free(p);

    mr_gc();
    p = write_and_read("after.pb.gz");
    CHECK(p != NULL);
    size_t sz = mr_object_size(kept[0]);
    CHECK(sz >= sizeof(Thing));
    CHECK_EQ_U64(site_value(p, "alloc_kept", 0), NKEPT);
    CHECK_EQ_U64(site_value(p, "alloc_kept", 1), NKEPT * sz);
    CHECK_EQ_U64(site_value(p, "alloc_kept", 2), NKEPT);
    CHECK_EQ_U64(site_value(p, "alloc_kept", 3), NKEPT * sz);
    CHECK_EQ_U64(site_value(p, "alloc_garbage", 0), NGARBAGE);
    /* a conservative stack scan may keep the odd stale one alive */
    if (EXACT_RECLAIM) CHECK(site_value(p, "alloc_garbage", 2) <= 4);
    /* the runtime's and the collector's frames are dropped */
    static const char *const not_program[] = {"mr_new", "on_alloc", "mr__sample_alloc",
                                              "alloc_refill", "unw_backtrace"};
    for (size_t i = 0; i < sizeof not_program / sizeof *not_program; i++)
        CHECK(!has_function(p, not_program[i]));
    /* the caller (inlined into main in an optimized build) */
    CHECK(has_function(p, built_with_dwarf() ? "rate_one_profiles_are_exact" : "main"));
    /* the bytes label is the object size */
    bool label_ok = false;
    for (size_t i = 0; i < p->n_labels; i++)
        if (strcmp(mf_str(p, p->labels[i].key), "bytes") == 0 && p->labels[i].num == (int64_t)sz)
            label_ok = true;
    CHECK(label_ok);
    mf_profile_free(p);

    /* the kept objects die: the next collection's sweep frees them */
    kept = NULL;
    mr_gc();
    p = write_and_read("freed.pb.gz");
    CHECK(p != NULL);
    CHECK_EQ_U64(site_value(p, "alloc_kept", 0), NKEPT);
    if (EXACT_RECLAIM) CHECK(site_value(p, "alloc_kept", 2) <= 4);
    mf_profile_free(p);
}

/* Sampled sites: objects of one size class, at sites of their own. */
static void **sampled; /* sampled[i] keeps an object alive */
MR_GLOBAL(sampled)

enum { NSMALL = 100000, SMALL_WORDS = 32, NBIG = 200, BIG_WORDS = 8192, NFIRST = 2000 };

__attribute__((noinline)) static void alloc_sampled_small(size_t i)
{
    sampled[i] = mr_new_array(&mr_type_int64, SMALL_WORDS);
}

__attribute__((noinline)) static void alloc_sampled_big(size_t i)
{
    sampled[i] = mr_new_array(&mr_type_int64, BIG_WORDS);
}

/* (a size of its own, or identical code folding may merge it with the
 * small site's function) */
__attribute__((noinline)) static void alloc_before_the_rate_changed(size_t i)
{
    sampled[i] = mr_new_array(&mr_type_int64, 6);
}

/*
 * At rate R each object of s bytes is sampled with probability
 * q = 1 - exp(-s/R), independently (the gap between samples is exponential,
 * hence memoryless), and every sample is scaled by 1/q. With N objects the
 * estimate of N*s has a relative standard deviation of sqrt((1-q)/(N*q)):
 * 100000 objects of 256 bytes at rate 4096 (q = 0.0606) give 1.25%; the
 * check allows 6 of them (7.5%), which a correct profiler misses about
 * once in 500 million runs. Objects much larger than the rate are all
 * sampled (q = 1 - exp(-16) for 64 KiB at 4096), so their figures are exact
 * to a part in a million.
 */
static void sampled_profiles_estimate_the_heap(void)
{
    enum { RATE = 4096 };
    CHECK(mrc_profile_start(RATE) == 0);
    sampled = mr_new_array(&mr_type_pointer, NSMALL);
    for (size_t i = 0; i < NSMALL; i++) alloc_sampled_small(i);
    size_t small = mr_object_size(sampled[0]);
    mr_gc();
    mf_profile *p = write_and_read("sampled.pb.gz");
    CHECK(p != NULL);
    CHECK_EQ_U64(p->period, RATE);
    double truth = (double)NSMALL * (double)small;
    double q = 1.0 - exp(-(double)small / RATE);
    double bound = 6.0 * sqrt((1.0 - q) / (NSMALL * q));
    double est = (double)site_value(p, "alloc_sampled_small", 3);
    if (fabs(est / truth - 1.0) > bound)
        fprintf(stderr, "inuse_space estimate %.0f of %.0f: off by %.2f%% (bound %.2f%%)\n", est,
                truth, 100.0 * fabs(est / truth - 1.0), 100.0 * bound);
    CHECK(fabs(est / truth - 1.0) <= bound);
    double objs = (double)site_value(p, "alloc_sampled_small", 2);
    CHECK(fabs(objs / NSMALL - 1.0) <= bound);
    mf_profile_free(p);

    /* larger than the rate: every one sampled, the figures exact */
    sampled = mr_new_array(&mr_type_pointer, NBIG);
    for (size_t i = 0; i < NBIG; i++) alloc_sampled_big(i);
    size_t big = mr_object_size(sampled[0]);
    mr_gc();
    p = write_and_read("sampled-big.pb.gz");
    CHECK(p != NULL);
    truth = (double)NBIG * (double)big;
    est = (double)site_value(p, "alloc_sampled_big", 3);
    CHECK(fabs(est / truth - 1.0) < 1e-6);
    CHECK_EQ_U64(site_value(p, "alloc_sampled_big", 2), NBIG);
    /* the small ones died with their array: allocated, no longer in use */
    CHECK(fabs((double)site_value(p, "alloc_sampled_small", 1) / (NSMALL * (double)small) - 1.0) <=
          bound);
    if (EXACT_RECLAIM) CHECK(site_value(p, "alloc_sampled_small", 3) <= 4 * (int64_t)small / q);
    mf_profile_free(p);
    sampled = NULL;
    mr_gc();
    CHECK(mrc_profile_start(1) == 0);
}

/* Samples keep the rate they were taken at: objects sampled one by one
 * (rate 1) before the rate went up still stand for themselves alone, not
 * for the 1/(1 - exp(-s/rate)) objects a sample at the new rate stands for. */
static void a_new_rate_leaves_earlier_samples_exact(void)
{
    CHECK(mrc_profile_start(1) == 0);
    sampled = mr_new_array(&mr_type_pointer, NFIRST);
    for (size_t i = 0; i < NFIRST; i++) alloc_before_the_rate_changed(i);
    size_t sz = mr_object_size(sampled[0]);
    mr_gc();
    CHECK(mrc_profile_start(1 << 20) == 0);
    mr_gc();
    mf_profile *p = write_and_read("rate-change.pb.gz");
    CHECK(p != NULL);
    CHECK_EQ_U64(p->period, 1 << 20);
    CHECK_EQ_U64(site_value(p, "alloc_before_the_rate_changed", 2), NFIRST);
    CHECK_EQ_U64(site_value(p, "alloc_before_the_rate_changed", 3), NFIRST * sz);
    mf_profile_free(p);
    sampled = NULL;
    mr_gc();
    CHECK(mrc_profile_start(1) == 0);
}

static void map_growth_frames_are_kept(void)
{
    CHECK(mrc_profile_start(1) == 0);
    mr_map *m = grow_a_map();
    mr_gc();
    mf_profile *p = write_and_read("map.pb.gz");
    CHECK(p != NULL);
    /* the map operation's frame stays (where the map grew), the allocator's
     * frames below it go */
    CHECK(has_function(p, "mr_map_assign"));
    CHECK(!has_function(p, "mr_new_array"));
    CHECK(!has_function(p, "mr_new"));
    CHECK(!has_function(p, "on_alloc"));
    CHECK(has_function(p, "grow_a_map"));
    if (built_with_dwarf()) {
        CHECK(has_file(p, "/src/rt/map.c"));
        CHECK(!has_file(p, "/src/rt/heap.c"));
    }
    mf_profile_free(p);
    __asm__ volatile("" : : "r"(m) : "memory");
}

static void a_bad_directory_is_an_error_not_a_crash(void)
{
    CHECK(mrc_write_heap_profile("/nonexistent-maproot-dir/x/heap.pb.gz") == -1);
    CHECK(strstr(mrc_last_error(), "/nonexistent-maproot-dir/x/heap.pb.gz") != NULL);
    CHECK(mrc_write_heap_profile(NULL) == -1);
    CHECK(mrc_set_stack_depth(0) == -1);
    CHECK(mrc_set_stack_depth(MRC_MAX_STACK_DEPTH + 1) == -1);
}

static void stack_depth_limits_frames(void)
{
    CHECK(mrc_set_stack_depth(2) == 0);
    kept = mr_new_array(&mr_type_pointer, 1);
    alloc_kept(0);
    mr_gc();
    mf_profile *p = write_and_read("depth.pb.gz");
    CHECK(mrc_set_stack_depth(MRC_DEFAULT_STACK_DEPTH) == 0);
    CHECK(p != NULL);
    /* two frames, and the mark of the cut on the root side */
    for (size_t s = 0; s < p->n_samples; s++) {
        const mf_sample *sm = &p->samples[s];
        CHECK(sm->n_locs <= 3);
        if (sm->n_locs == 3) CHECK(strcmp(frame_name(p, s, 2), MRC_HEAPPROF_TRUNCATED) == 0);
    }
    mf_profile_free(p);
    kept = NULL;
}

enum { RECURSION = 100 };

__attribute__((noinline)) static void *alloc_at_the_bottom(void)
{
    void *b = mr_alloc_blob(72);
    __asm__ volatile("" : : "r"(b) : "memory"); /* not a tail call */
    return b;
}

__attribute__((noinline)) static void *recurse(int n)
{
    void *r = n ? recurse(n - 1) : alloc_at_the_bottom();
    __asm__ volatile("" : : "r"(n) : "memory"); /* not a tail call */
    return r;
}

/* Recursion deeper than the depth limit: the stack keeps its innermost
 * frames (the allocating function, then recurse) and says it was cut, so
 * that no tool charges the bytes to recurse as if it were the root, and
 * the shallow stacks beside it carry no such mark. */
static void deep_recursion_is_marked_truncated(void)
{
    CHECK(mrc_profile_start(1) == 0);
    kept = mr_new_array(&mr_type_pointer, 2);
    kept[0] = recurse(RECURSION);
    alloc_kept(1);
    mr_gc();
    mf_profile *p = write_and_read("recursion.pb.gz");
    CHECK(p != NULL);
    size_t deep = 0, shallow = 0;
    for (size_t s = 0; s < p->n_samples; s++) {
        const mf_sample *sm = &p->samples[s];
        if (!sm->n_locs) continue;
        const char *leaf = frame_name(p, s, 0);
        if (strcmp(leaf, "alloc_at_the_bottom") == 0) {
            deep++;
            CHECK_EQ_U64(sm->n_locs, MRC_DEFAULT_STACK_DEPTH + 1);
            if (built_with_dwarf()) CHECK(strcmp(frame_name(p, s, 1), "recurse") == 0);
            CHECK(strcmp(frame_name(p, s, sm->n_locs - 1), MRC_HEAPPROF_TRUNCATED) == 0);
        } else if (strcmp(leaf, "alloc_kept") == 0 && sm->n_locs > 3) {
            /* (not the one stack_depth_limits_frames cut to 2) */
            CHECK(strcmp(frame_name(p, s, sm->n_locs - 1), MRC_HEAPPROF_TRUNCATED) != 0);
            shallow++;
        }
    }
    CHECK_EQ_U64(deep, 1);
    CHECK(shallow >= 1);
    mf_profile_free(p);
    kept = NULL;
}

/* ------------------------------------------------------------ threads --- */

enum { NTHREADS = 4, PER_THREAD = 20000 };
static atomic_int writers_stop;

__attribute__((noinline)) static void thread_alloc_site(void)
{
    void *t = mr_alloc_blob(40); /* differs from alloc_garbage: no code folding */
    __asm__ volatile("" : : "r"(t) : "memory");
}

static void *mutator(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) thread_alloc_site();
    mr_thread_detach();
    return NULL;
}

/* An unattached thread writing profiles while mutators allocate and the
 * runtime collects. */
static void *profile_writer(void *arg)
{
    (void)arg;
    char path[512];
    snprintf(path, sizeof path, "%s/threads.pb.gz", tmpdir);
    while (!atomic_load(&writers_stop)) {
        if (mrc_write_heap_profile(path) != 0) {
            fprintf(stderr, "%s\n", mrc_last_error());
            return (void *)1;
        }
    }
    return NULL;
}

static void threads_sample_write_and_collect_at_once(void)
{
    CHECK(mrc_profile_start(1) == 0);
    mr_gc();
    mf_profile *p = write_and_read("threads-before.pb.gz");
    CHECK(p != NULL);
    int64_t before = site_value(p, "thread_alloc_site", 0);
    mf_profile_free(p);

    pthread_t w, t[NTHREADS];
    atomic_store(&writers_stop, 0);
    CHECK(pthread_create(&w, NULL, profile_writer, NULL) == 0);
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_create(&t[i], NULL, mutator, NULL) == 0);
    mr_blocking_enter();
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    atomic_store(&writers_stop, 1);
    void *wr;
    pthread_join(w, &wr);
    mr_blocking_exit();
    CHECK(wr == NULL);

    mr_gc();
    p = write_and_read("threads-after.pb.gz");
    CHECK(p != NULL);
    CHECK_EQ_U64(site_value(p, "thread_alloc_site", 0) - before, NTHREADS * PER_THREAD);
    if (EXACT_RECLAIM) CHECK(site_value(p, "thread_alloc_site", 2) <= 4 * NTHREADS);
    mf_profile_free(p);
}

/*
 * fork while another thread records samples: the child has only the
 * forking thread, and had the other held the tables' lock at that moment,
 * the child's first sampled allocation would wait for ever. The children
 * allocate (every allocation sampled) and exit; one that has not after
 * CHILD_LIMIT_S (a bound for a failure only: a child takes milliseconds) is
 * described, with its stacks, and killed, and the test fails at once.
 */
enum { FORKS = 400, CHILD_LIMIT_S = 30 };

__attribute__((noinline)) static void hammer_alloc_site(void)
{
    void *t = mr_alloc_blob(48);
    __asm__ volatile("" : : "r"(t) : "memory");
}

static void *hammer(void *arg)
{
    (void)arg;
    while (!atomic_load(&writers_stop)) hammer_alloc_site();
    mr_thread_detach();
    return NULL;
}

/* waitpid's status: written while the collector may scan this thread's
 * stack (a blocking section), so not on it */
static int child_status;

static void a_fork_while_another_thread_samples_leaves_the_child_a_profiler(void)
{
    CHECK(mrc_profile_start(1) == 0);
    atomic_store(&writers_stop, 0);
    pthread_t h;
    CHECK(pthread_create(&h, NULL, hammer, NULL) == 0);
    int bad = 0;
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < FORKS; i++) {
        mr_blocking_enter();
        pid_t pid = fork();
        if (pid == 0) {
            mr_blocking_exit();
            for (int k = 0; k < 64; k++) thread_alloc_site();
            _exit(0);
        }
        bool ended = pid > 0 && wait_child(pid, &child_status, CHILD_LIMIT_S, "a forked child");
        mr_blocking_exit();
        if (!ended || !WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0) {
            fprintf(stderr, "fork %d of %d: the child %s\n", i + 1, (int)FORKS,
                    !ended ? "hung" : "failed");
            bad++;
            break;
        }
    }
    atomic_store(&writers_stop, 1);
    mr_blocking_enter();
    pthread_join(h, NULL);
    mr_blocking_exit();
    CHECK(bad == 0);
}

int main(int argc, char **argv)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_profiler.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    bool threads_only = argc > 1 && strcmp(argv[1], "threads") == 0;
    if (!threads_only) {
        TEST(allocations_are_pending_until_a_collection_starts);
        TEST(frees_from_the_sweep_count_at_once);
        TEST(buckets_are_per_stack_size_and_rate);
        TEST(many_objects_and_stacks_keep_exact_counts);
        TEST(a_reused_address_counts_the_old_object_freed);
        TEST(scaling_follows_go);
        TEST(the_symbolizer_finds_function_file_and_line);
        TEST(program_frames_start_at_the_programs_call);
        TEST(rate_one_profiles_are_exact);
        TEST(map_growth_frames_are_kept);
        TEST(sampled_profiles_estimate_the_heap);
        TEST(a_new_rate_leaves_earlier_samples_exact);
        TEST(a_bad_directory_is_an_error_not_a_crash);
        TEST(stack_depth_limits_frames);
        TEST(deep_recursion_is_marked_truncated);
    }
    TEST(threads_sample_write_and_collect_at_once);
    TEST(a_fork_while_another_thread_samples_leaves_the_child_a_profiler);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (getenv("TEST_PROFILER_KEEP"))
        fprintf(stderr, "profiles kept in %s\n", tmpdir);
    else if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_EXIT();
}
