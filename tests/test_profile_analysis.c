/*
 * tests/test_profile_analysis.c -- src/analyze/profile.c: pprof's flat/cum
 * rules, sample index choice, heap detection, map growth attribution, diff.
 */
#include "analyze/profile.h"
#include "check.h"

/* Builds a profile from stacks of function names (leaf first), one value
 * type inuse_space/bytes (or CPU types when cpu is set). */
typedef struct stk {
    const char *frames[6];
    int64_t value;
} stk;

static mf_profile *build(const stk *stacks, size_t n, bool cpu)
{
    mf_pprof_writer *w = mf_pw_new();
    if (cpu) {
        mf_pw_add_sample_type(w, "samples", "count");
        mf_pw_add_sample_type(w, "cpu", "nanoseconds");
    } else {
        mf_pw_add_sample_type(w, "alloc_space", "bytes");
        mf_pw_add_sample_type(w, "inuse_space", "bytes");
        mf_pw_set_period(w, "space", "bytes", 512);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t ids[6];
        size_t k = 0;
        for (; k < 6 && stacks[i].frames[k]; k++) {
            const char *file =
                strncmp(stacks[i].frames[k], "static_", 7) == 0 ? "/x/src/rt/map.c" : "app.c";
            mf_pw_line l = {mf_pw_function(w, stacks[i].frames[k], NULL, file, 1),
                            (int64_t)(10 + k)};
            ids[k] = mf_pw_add_location(w, 0, 0x1000 * (i + 1) + k, &l, 1);
        }
        int64_t v[2] = {stacks[i].value * 2, stacks[i].value};
        mf_pw_add_sample(w, ids, k, v, 2, NULL, 0);
    }
    mf_buf raw = {0};
    mf_error e;
    mf_profile *p = NULL;
    if (mf_pw_encode(w, &raw, &e) == 0) mf_profile_parse(raw.data, raw.len, "t", &p, &e);
    mf_buf_free(&raw);
    mf_pw_free(w);
    return p;
}

static const mp_site *find_site(const mp_index *ix, const mp_top *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(ix->node_names[t->sites[i].node], name) == 0) return &t->sites[i];
    return NULL;
}

/* Regression (found by fuzz_pprof): unsymbolized locations without a mapping
 * are all named "<unknown>"; building the second name candidate wrote past
 * the name arena when the profile had no mappings. */
static void unsymbolized_frames_without_mappings_share_one_name(void)
{
    mf_pprof_writer *w = mf_pw_new();
    mf_pw_add_sample_type(w, "inuse_space", "bytes");
    mf_pw_set_period(w, "space", "bytes", 512);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) ids[i] = mf_pw_add_location(w, 0, 0x1000 + (uint64_t)i, NULL, 0);
    int64_t v = 64;
    mf_pw_add_sample(w, ids, 3, &v, 1, NULL, 0);
    mf_buf raw = {0};
    mf_error e;
    mf_profile *p = NULL;
    if (mf_pw_encode(w, &raw, &e) == 0) mf_profile_parse(raw.data, raw.len, "t", &p, &e);
    mf_buf_free(&raw);
    mf_pw_free(w);
    CHECK(p != NULL);
    mp_index ix;
    CHECK(mp_index_build(p, "t", &ix, &e) == 0);
    CHECK_EQ_U64(ix.n_nodes, 1);
    CHECK_STR_EQ(ix.node_names[0], "<unknown>");
    mp_index_free(&ix);
    mf_profile_free(p);
}

static void flat_is_leaf_and_cum_counts_recursion_once(void)
{
    stk s[] = {
        {{"leaf", "mid", "main"}, 100},
        {{"mid", "main"}, 30},
        {{"rec", "rec", "rec", "main"}, 5},
        {{"leaf", "main"}, -20},
    };
    mf_profile *p = build(s, 4, false);
    CHECK(p != NULL);
    mp_index ix;
    mp_top t;
    mf_error e;
    CHECK(mp_index_build(p, "t", &ix, &e) == 0);
    CHECK(mp_top_compute(&ix, 1, &t, &e) == 0);
    CHECK_EQ_U64(t.total, 155); /* sum of |values| */
    const mp_site *leaf = find_site(&ix, &t, "leaf"), *mainf = find_site(&ix, &t, "main"),
                  *rec = find_site(&ix, &t, "rec");
    CHECK(leaf && mainf && rec);
    CHECK_EQ_U64(leaf->flat, 80);
    CHECK_EQ_U64(mainf->flat, 0);
    CHECK_EQ_U64(mainf->cum, 115);
    CHECK_EQ_U64(rec->flat, 5);
    CHECK_EQ_U64(rec->cum, 5);
    /* order: |flat| descending, then name */
    CHECK_STR_EQ(ix.node_names[t.sites[0].node], "leaf");
    CHECK_STR_EQ(ix.node_names[t.sites[1].node], "mid");
    CHECK_STR_EQ(ix.node_names[t.sites[t.n - 1].node], "main");
    mp_top_free(&t);
    mp_index_free(&ix);
    mf_profile_free(p);
}

static void sample_index_by_default_name_and_number(void)
{
    stk s[] = {{{"a"}, 1}};
    mf_profile *p = build(s, 1, false);
    size_t si;
    mf_error e;
    CHECK(mp_sample_index(p, "t", NULL, &si, &e) == 0);
    CHECK_EQ_U64(si, 1); /* the last type, like pprof */
    CHECK(mp_sample_index(p, "t", "alloc_space", &si, &e) == 0);
    CHECK_EQ_U64(si, 0);
    CHECK(mp_sample_index(p, "t", "1", &si, &e) == 0);
    CHECK_EQ_U64(si, 1);
    CHECK(mp_sample_index(p, "t", "2", &si, &e) == -1);
    CHECK(mp_sample_index(p, "t", "inuse_objects", &si, &e) == -1);
    CHECK(strstr(e.msg, "no sample type \"inuse_objects\"") != NULL);
    mf_profile_free(p);
}

static void cpu_profile_is_not_a_heap_profile(void)
{
    stk s[] = {{{"a"}, 1}};
    mf_profile *p = build(s, 1, true), *h = build(s, 1, false);
    mf_error e;
    CHECK(mp_check_heap(p, "cpu.pb.gz", &e) == -1);
    CHECK_STR_EQ(e.msg, "cpu.pb.gz: not a heap profile: sample types samples/count, "
                        "cpu/nanoseconds, none in bytes (a CPU profile)");
    CHECK(mp_check_heap(h, "h", &e) == 0);
    CHECK(mp_check_comparable(h, "h", p, "cpu.pb.gz", &e) == -1);
    CHECK(strstr(e.msg, "cpu.pb.gz: sample types (samples/count, cpu/nanoseconds) differ") ==
          e.msg);
    mf_profile_free(p);
    mf_profile_free(h);
}

static void map_growth_is_attributed_to_the_first_caller_outside(void)
{
    stk s[] = {
        {{"mr_alloc", "static_grow", "mr_map_assign", "cache_put", "main"}, 1000},
        {{"runtime.mallocgc", "runtime.makeBucketArray", "runtime.hashGrow",
          "runtime.mapassign_faststr", "main.addSessions", "main.main"},
         300},
        {{"mr_alloc", "mr_map_assign", "cache_put", "main"}, 24},
        {{"mr_alloc", "new_session", "main"}, 5000},
        {{"mr_map_new"}, 7},
    };
    mf_profile *p = build(s, 5, false);
    mp_index ix;
    mp_growth g;
    mf_error e;
    CHECK(mp_index_build(p, "t", &ix, &e) == 0);
    CHECK(mp_growth_compute(&ix, 1, &g, &e) == 0);
    CHECK_EQ_U64(g.n, 4);
    CHECK_EQ_U64(g.total, 1331);
    CHECK_STR_EQ(ix.node_names[g.sites[0].site], "cache_put");
    CHECK_STR_EQ(ix.node_names[g.sites[0].via], "mr_map_assign");
    CHECK_EQ_U64(g.sites[0].value, 1000);
    CHECK_EQ_U64(g.sites[0].line, 13); /* the frame's line: 10 + depth 3 */
    CHECK_STR_EQ(ix.node_names[g.sites[1].site], "main.addSessions");
    CHECK_STR_EQ(ix.node_names[g.sites[1].via], "runtime.mapassign_faststr");
    CHECK_STR_EQ(ix.node_names[g.sites[2].site], "cache_put");
    CHECK_EQ_U64(g.sites[2].value, 24);
    CHECK_STR_EQ(ix.node_names[g.sites[3].site], "mr_map_new"); /* only map frames */
    mp_growth_free(&g);
    mp_index_free(&ix);
    mf_profile_free(p);
}

static void map_functions_by_name_and_file(void)
{
    CHECK(mp_is_map_function("runtime.mapassign_fast64", ""));
    CHECK(mp_is_map_function("runtime.growWork_faststr", ""));
    CHECK(mp_is_map_function("runtime.(*hmap).newoverflow", ""));
    CHECK(mp_is_map_function("internal/runtime/maps.(*Map).growToTable", ""));
    CHECK(mp_is_map_function("evacuate_bucket", "/home/x/maproot/src/rt/map.c"));
    CHECK(mp_is_map_function("evacuate_bucket", "src/rt/map.c"));
    CHECK(!mp_is_map_function("evacuate_bucket", "src/rt/heap.c"));
    /* the runtime's map is several files: every src/rt/map_*.c is one */
    CHECK(mp_is_map_function("evacuate", "/home/x/maproot/src/rt/map_grow.c"));
    CHECK(mp_is_map_function("iter_next_slow", "src/rt/map_iter.c"));
    CHECK(!mp_is_map_function("evacuate", "src/rt/map_grow.h"));
    CHECK(!mp_is_map_function("evacuate", "src/rt/mapper.c"));
    CHECK(!mp_is_map_function("evacuate", "/x/mysrc/rt/map.c"));
    CHECK(!mp_is_map_function("evacuate", "src/rt/map_/x.c"));
    CHECK(!mp_is_map_function("runtime.mallocgc", ""));
    CHECK(!mp_is_map_function("main.mapper", "x/mymap.c"));
}

static void diff_is_after_minus_before_with_growth_first(void)
{
    stk b[] = {
        {{"a", "main"}, 100}, {{"b", "main"}, 50}, {{"mr_alloc", "mr_map_assign", "put"}, 10}};
    stk a[] = {{{"a", "main"}, 40},
               {{"b", "main"}, 500},
               {{"c", "main"}, 7},
               {{"mr_alloc", "mr_map_assign", "put"}, 90}};
    mf_profile *pb = build(b, 3, false), *pa = build(a, 4, false);
    mp_index bi, ai;
    mp_diff d;
    mf_error e;
    CHECK(mp_check_comparable(pb, "b", pa, "a", &e) == 0);
    CHECK(mp_index_build(pb, "b", &bi, &e) == 0 && mp_index_build(pa, "a", &ai, &e) == 0);
    CHECK(mp_diff_compute(&bi, &ai, 1, &d, &e) == 0);
    CHECK_EQ_U64(d.base_total, 160);
    CHECK_EQ_U64(d.after_total, 637);
    CHECK_EQ_U64(d.delta, 477);
    CHECK_STR_EQ(d.sites[0].name, "b");
    CHECK_EQ_U64(d.sites[0].flat_after - d.sites[0].flat_before, 450);
    CHECK_STR_EQ(d.sites[d.n - 1].name, "a"); /* shrinkage last */
    CHECK_EQ_U64(d.sites[d.n - 1].flat_after - d.sites[d.n - 1].flat_before, (uint64_t)-60);
    for (size_t i = 0; i < d.n; i++)
        if (strcmp(d.sites[i].name, "main") == 0)
            CHECK_EQ_U64(d.sites[i].cum_after - d.sites[i].cum_before, 397);
    CHECK_EQ_U64(d.n_growth, 1);
    CHECK_STR_EQ(d.growth[0].site, "put");
    CHECK_EQ_U64(d.growth[0].after - d.growth[0].before, 80);
    mp_diff_free(&d);
    mp_index_free(&bi);
    mp_index_free(&ai);
    mf_profile_free(pb);
    mf_profile_free(pa);
}

int main(void)
{
    TEST(flat_is_leaf_and_cum_counts_recursion_once);
    TEST(unsymbolized_frames_without_mappings_share_one_name);
    TEST(sample_index_by_default_name_and_number);
    TEST(cpu_profile_is_not_a_heap_profile);
    TEST(map_growth_is_attributed_to_the_first_caller_outside);
    TEST(map_functions_by_name_and_file);
    TEST(diff_is_after_minus_before_with_growth_first);
    TEST_EXIT();
}
