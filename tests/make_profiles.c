/*
 * tests/make_profiles.c -- writes the small profiles the end-to-end tests and
 * testdata/ use, through the pprof writer (good ones) and protoc-c's code
 * for proto/profile.proto (broken ones the writer refuses to make).
 *
 * usage: make_profiles OUTDIR
 * Writes: heap.pb.gz heap-after.pb.gz heap.pb (raw) cpu.pb.gz heap-inuse.pb.gz
 * (other sample types) and
 * bad-string.pb.gz bad-location.pb.gz zero-id.pb.gz bad-values.pb.gz
 * bad-function.pb.gz.
 */
#include "format/pprof.h"
#include "profile.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const mf_error *e)
{
    fprintf(stderr, "make_profiles: %s: %s\n", what, e ? e->msg : "failed");
    exit(1);
}

/* A heap profile shaped like the collector's: Go's sample types, a mapping
 * with a build ID, functions with files and lines, stacks that go through
 * the runtime's map code and stacks that do not. `scale` grows the map. */
static void write_heap(const char *path, int scale, bool gzip)
{
    mf_pprof_writer *w = mf_pw_new();
    if (!w) die(path, NULL);
    mf_pw_add_sample_type(w, "alloc_objects", "count");
    mf_pw_add_sample_type(w, "alloc_space", "bytes");
    mf_pw_add_sample_type(w, "inuse_objects", "count");
    mf_pw_add_sample_type(w, "inuse_space", "bytes");
    mf_pw_set_period(w, "space", "bytes", 524288);
    mf_pw_set_time(w, 1767225600000000000LL, 0);
    mf_pw_add_comment(w, "producer: maproot collector (tests/make_profiles)");
    mf_pw_mapping m = {0x400000, 0x500000, 0,    "/usr/bin/sessiond", "0123456789abcdef", true,
                       true,     true,     false};
    uint64_t map = mf_pw_add_mapping(w, &m);
    uint64_t f_main = mf_pw_function(w, "main", NULL, "examples/sessiond.c", 100);
    uint64_t f_new = mf_pw_function(w, "new_session", NULL, "examples/sessiond.c", 50);
    uint64_t f_cache = mf_pw_function(w, "cache_put", NULL, "examples/sessiond.c", 70);
    uint64_t f_assign = mf_pw_function(w, "mr_map_assign", NULL, "src/rt/map.c", 300);
    uint64_t f_grow = mf_pw_function(w, "hash_grow", NULL, "src/rt/map.c", 200);
    uint64_t f_alloc = mf_pw_function(w, "mr_alloc", NULL, "src/rt/heap.c", 40);
    uint64_t f_str = mf_pw_function(w, "mr_str_new", NULL, "src/rt/heap.c", 90);
    mf_pw_line l;
    l = (mf_pw_line){f_main, 120};
    uint64_t L_main1 = mf_pw_add_location(w, map, 0x401000, &l, 1);
    l = (mf_pw_line){f_main, 125};
    uint64_t L_main2 = mf_pw_add_location(w, map, 0x401010, &l, 1);
    l = (mf_pw_line){f_new, 58};
    uint64_t L_new = mf_pw_add_location(w, map, 0x402000, &l, 1);
    /* cache_put inlined into main at this address: two lines, callee first */
    mf_pw_line inl[2] = {{f_cache, 75}, {f_main, 130}};
    uint64_t L_cache = mf_pw_add_location(w, map, 0x401020, inl, 2);
    l = (mf_pw_line){f_assign, 320};
    uint64_t L_assign = mf_pw_add_location(w, map, 0x403000, &l, 1);
    l = (mf_pw_line){f_grow, 210};
    uint64_t L_grow = mf_pw_add_location(w, map, 0x403100, &l, 1);
    l = (mf_pw_line){f_alloc, 44};
    uint64_t L_alloc = mf_pw_add_location(w, map, 0x404000, &l, 1);
    l = (mf_pw_line){f_str, 95};
    uint64_t L_str = mf_pw_add_location(w, map, 0x404100, &l, 1);
    uint64_t L_raw = mf_pw_add_location(w, map, 0x4050a0, NULL, 0); /* unsymbolized */

    struct {
        uint64_t stack[6];
        size_t n;
        int64_t size, count;
    } samples[] = {
        {{L_alloc, L_new, L_main1}, 3, 256, 1000},           /* sessions */
        {{L_alloc, L_grow, L_assign, L_cache}, 4, 65536, 4}, /* map growth */
        {{L_alloc, L_assign, L_cache}, 3, 1152, 30},         /* overflow buckets */
        {{L_alloc, L_str, L_main2}, 3, 32, 2000},            /* keys */
        {{L_raw, L_main2}, 2, 64, 10},                       /* unsymbolized */
    };
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        int64_t n = samples[i].count * scale, sz = samples[i].size;
        int64_t v[4] = {n * 2, n * 2 * sz, n, n * sz};
        mf_pw_label lab = {"bytes", NULL, sz, NULL};
        mf_pw_add_sample(w, samples[i].stack, samples[i].n, v, 4, &lab, 1);
    }
    mf_error e;
    if (mf_pw_write(w, path, gzip, &e)) die(path, &e);
    mf_pw_free(w);
}

/* cpu: a CPU profile; otherwise a heap profile with only inuse_space. */
static void write_other(const char *path, bool cpu)
{
    mf_pprof_writer *w = mf_pw_new();
    if (cpu) {
        mf_pw_add_sample_type(w, "samples", "count");
        mf_pw_add_sample_type(w, "cpu", "nanoseconds");
        mf_pw_set_period(w, "cpu", "nanoseconds", 10000000);
    } else {
        mf_pw_add_sample_type(w, "inuse_space", "bytes");
        mf_pw_add_sample_type(w, "inuse_objects", "count");
        mf_pw_set_period(w, "space", "bytes", 524288);
    }
    uint64_t f = mf_pw_function(w, "main", NULL, "main.c", 1);
    mf_pw_line l = {f, 3};
    uint64_t loc = mf_pw_add_location(w, 0, 0x1000, &l, 1);
    int64_t v[2] = {5, 50000000};
    mf_pw_add_sample(w, &loc, 1, v, 2, NULL, 0);
    mf_error e;
    if (mf_pw_write(w, path, true, &e)) die(path, &e);
    mf_pw_free(w);
}

/* A broken profile through protoc-c's structures; `what` picks the defect. */
static void write_bad(const char *path, const char *what)
{
    Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
    Perftools__Profiles__ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    Perftools__Profiles__Sample s = PERFTOOLS__PROFILES__SAMPLE__INIT;
    Perftools__Profiles__Location loc = PERFTOOLS__PROFILES__LOCATION__INIT;
    Perftools__Profiles__Line line = PERFTOOLS__PROFILES__LINE__INIT;
    Perftools__Profiles__Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT;
    char *strings[] = {"", "inuse_space", "bytes", "main"};
    Perftools__Profiles__ValueType *sts[] = {&st};
    Perftools__Profiles__Sample *ss[] = {&s};
    Perftools__Profiles__Location *locs[] = {&loc};
    Perftools__Profiles__Line *lines[] = {&line};
    Perftools__Profiles__Function *fns[] = {&fn};
    uint64_t loc_ids[] = {1};
    int64_t vals[] = {100, 200};
    st.type = 1;
    st.unit = 2;
    fn.id = 1;
    fn.name = 3;
    line.function_id = 1;
    line.line = 7;
    loc.id = 1;
    loc.n_line = 1;
    loc.line = lines;
    s.n_location_id = 1;
    s.location_id = loc_ids;
    s.n_value = 1;
    s.value = vals;
    p.n_sample_type = 1;
    p.sample_type = sts;
    p.n_sample = 1;
    p.sample = ss;
    p.n_location = 1;
    p.location = locs;
    p.n_function = 1;
    p.function = fns;
    p.n_string_table = 4;
    p.string_table = strings;
    if (strcmp(what, "string") == 0)
        fn.name = 99;
    else if (strcmp(what, "location") == 0)
        loc_ids[0] = 42;
    else if (strcmp(what, "zero") == 0)
        loc.id = 0;
    else if (strcmp(what, "values") == 0)
        s.n_value = 2;
    else if (strcmp(what, "function") == 0)
        line.function_id = 7;
    size_t n = perftools__profiles__profile__get_packed_size(&p);
    uint8_t *buf = malloc(n + 1);
    perftools__profiles__profile__pack(&p, buf);
    mf_buf gz = {0};
    mf_error e;
    if (mf_gzip(buf, n, 6, &gz, &e) || mf_write_file(path, gz.data, gz.len, &e))
        die(path, &e);
    mf_buf_free(&gz);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_profiles OUTDIR\n");
        return 2;
    }
    char path[4096];
#define P(name) (snprintf(path, sizeof path, "%s/%s", argv[1], name), path)
    write_heap(P("heap.pb.gz"), 1, true);
    write_heap(P("heap-after.pb.gz"), 3, true);
    write_heap(P("heap.pb"), 1, false);
    write_other(P("cpu.pb.gz"), true);
    write_other(P("heap-inuse.pb.gz"), false);
    write_bad(P("bad-string.pb.gz"), "string");
    write_bad(P("bad-location.pb.gz"), "location");
    write_bad(P("zero-id.pb.gz"), "zero");
    write_bad(P("bad-values.pb.gz"), "values");
    write_bad(P("bad-function.pb.gz"), "function");
    return 0;
}
