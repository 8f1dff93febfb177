/*
 * tests/test_heaptext.c -- the profile model the text heap profile reader
 * builds: sample types, period, unsampled values, the "bytes" label, call
 * addresses, symbolized lines, inlined frames as one location, hidden
 * frames left out, memory statistics as comments; and its errors.
 */
#include "check.h"
#include "format/heaptext.h"

static mf_profile *parse(const char *text, mf_error *err)
{
    mf_profile *p = NULL;
    if (mf_heaptext_parse((const uint8_t *)text, strlen(text), "t.txt", &p, err)) return NULL;
    return p;
}

/* The function name of line k of location index loc. */
static const char *line_fn(const mf_profile *p, uint32_t loc, uint32_t k)
{
    const mf_location *l = &p->locations[loc];
    if (k >= l->n_lines || !p->lines[l->line_start + k].function) return "";
    return mf_str(p, p->functions[p->lines[l->line_start + k].function - 1].name);
}

static void sample_types_period_and_unsampling(void)
{
    mf_error err;
    mf_profile *p = parse("heap profile: 3: 3072 [7: 9216] @ heap_v2/524288\n"
                          "1: 1024 [2: 2048] @ 0x401005\n",
                          &err);
    CHECK(p);
    static const char *const types[4][2] = {{"alloc_objects", "count"},
                                            {"alloc_space", "bytes"},
                                            {"inuse_objects", "count"},
                                            {"inuse_space", "bytes"}};
    CHECK_EQ_U64(p->n_sample_types, 4);
    for (size_t i = 0; i < 4; i++) {
        CHECK_STR_EQ(mf_str(p, p->sample_types[i].type), types[i][0]);
        CHECK_STR_EQ(mf_str(p, p->sample_types[i].unit), types[i][1]);
    }
    CHECK_STR_EQ(mf_str(p, p->period_type.type), "space");
    CHECK_STR_EQ(mf_str(p, p->period_type.unit), "bytes");
    CHECK_EQ_U64(p->period, 524288);
    CHECK_EQ_U64(p->n_samples, 1);
    const int64_t *v = mf_sample_values(p, 0);
    /* (2, 2048) and (1, 1024) times 1/(1-exp(-1024/524288)), truncated */
    CHECK_EQ_U64(v[0], 1025);
    CHECK_EQ_U64(v[1], 1049600);
    CHECK_EQ_U64(v[2], 512);
    CHECK_EQ_U64(v[3], 524800);
    /* the allocation size, from the sampled figures */
    CHECK_EQ_U64(p->samples[0].n_labels, 1);
    const mf_label *l = &p->labels[p->samples[0].label_start];
    CHECK_STR_EQ(mf_str(p, l->key), "bytes");
    CHECK_EQ_U64(l->num, 1024);
    /* no comments: the call address, unsymbolized */
    CHECK_EQ_U64(p->n_locations, 1);
    CHECK_EQ_U64(p->locations[0].address, 0x401004);
    CHECK_EQ_U64(p->locations[0].n_lines, 0);
    mf_profile_free(p);
}

static void go_rate_spelling(void)
{
    mf_error err;
    mf_profile *p =
        parse("heap profile: 1: 1 [1: 1] @ heap/1048576\n4: 400 [4: 400] @ 0x10\n", &err);
    CHECK(p);
    CHECK_EQ_U64(p->period, 524288);
    CHECK_EQ_U64(mf_sample_values(p, 0)[2], 20973);
    mf_profile_free(p);
    p = parse("heap profile: 1: 1 [1: 1] @ heap/2\n4: 400 [4: 400] @ 0x10\n", &err);
    CHECK(p);
    CHECK_EQ_U64(mf_sample_values(p, 0)[3], 400);
    mf_profile_free(p);
}

static void symbols_inlining_and_hidden_frames(void)
{
    mf_error err;
    /* the first address is the runtime's (no comment: hidden), the last is
     * runtime.goexit (hidden); inl was inlined into outer (same entry) */
    mf_profile *p = parse("heap profile: 1: 8 [1: 8] @ heap_v2/1\n"
                          "1: 8 [1: 8] @ 0x40d7ce 0x405010 0x405020 0x403020 0x461301\n"
                          "#\t0x40500f\tmain.inl+0xf\t\t/src/b.go:5\n"
                          "#\t0x40501f\tmain.outer+0x1f\t/src/b.go:9\n"
                          "#\t0x40301f\tmain.main+0x1f\t/src/a.go:30\n"
                          "\n"
                          "# runtime.MemStats\n"
                          "# HeapInuse = 4096\n"
                          "# Sys = 1\n",
                          &err);
    CHECK(p);
    CHECK_EQ_U64(p->samples[0].n_locs, 2);
    uint32_t l0 = p->locs[p->samples[0].loc_start], l1 = p->locs[p->samples[0].loc_start + 1];
    CHECK_EQ_U64(p->locations[l0].address, 0x40500f);
    CHECK_EQ_U64(p->locations[l0].n_lines, 2);
    CHECK_STR_EQ(line_fn(p, l0, 0), "main.inl");
    CHECK_STR_EQ(line_fn(p, l0, 1), "main.outer");
    CHECK_EQ_U64(p->lines[p->locations[l0].line_start + 1].line, 9);
    CHECK_EQ_U64(p->locations[l1].address, 0x40301f);
    CHECK_STR_EQ(line_fn(p, l1, 0), "main.main");
    const mf_function *f = &p->functions[p->lines[p->locations[l1].line_start].function - 1];
    CHECK_STR_EQ(mf_str(p, f->filename), "/src/a.go");
    CHECK_EQ_U64(p->n_comments, 1);
    CHECK_STR_EQ(mf_str(p, p->comments[0]), "runtime.MemStats HeapInuse = 4096");
    mf_profile_free(p);
}

static void recursion_is_not_inlining(void)
{
    mf_error err;
    mf_profile *p = parse("heap profile: 1: 8 [1: 8] @ heap_v2/1\n"
                          "1: 8 [1: 8] @ 0x401010 0x401020\n"
                          "#\t0x40100f\tmain.rec+0xf\t/a.go:5\n"
                          "#\t0x40101f\tmain.rec+0x1f\t/a.go:6\n",
                          &err);
    CHECK(p);
    CHECK_EQ_U64(p->samples[0].n_locs, 2);
    mf_profile_free(p);
}

static void errors_name_file_and_line(void)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"nothing\n", "t.txt: line 1: expected \"heap profile: ...\" (got \"nothing\")"},
        {"\n\n", "t.txt: line 1: no \"heap profile:\" header"},
        {"heap profile: 1: 1 [1: 1] @ heap_v2/1\n\n1: 1 [1: 1] @ 0x1 0x\n",
         "t.txt: line 3: expected addresses 0x... after \"@\""},
        {"heap profile: 1: 1 [1: 1] @ heap_v2/1\n1: 1 [0: 3] @ 0x1\n",
         "t.txt: line 2: 0 objects allocated but 3 bytes"},
        {"heap profile: 1: 1 [1: 1] @ heap_v2/1\n1: 1 [1: 1] @ 0x1\n# runtime.MemStats\n"
         "1: 1 [1: 1] @ 0x1\n",
         "t.txt: line 4: a record after the memory statistics"},
        {"heap profile: 1: 1 [1: 1] @ heap_v2/1\n1: 1 [1: 1] @ 0x10\n#\t0xf\tf+0x1\tb.go:x\n",
         "t.txt: line 3: expected \"# 0xPC FUNCTION+0xOFF FILE:LINE\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mf_error err = {{0}};
        mf_profile *p = parse(cases[i].text, &err);
        if (p || !strstr(err.msg, cases[i].msg))
            fprintf(stderr, "case %zu: got \"%s\"\n", i, err.msg);
        CHECK(!p);
        CHECK(strstr(err.msg, cases[i].msg));
    }
}

static void sniff(void)
{
    CHECK(mf_heaptext_sniff_bytes((const uint8_t *)"\n heap profile: 1", 17));
    CHECK(!mf_heaptext_sniff_bytes((const uint8_t *)"heap prof", 9));
    CHECK(!mf_heaptext_sniff_bytes((const uint8_t *)"x heap profile:", 15));
}

int main(void)
{
    TEST(sample_types_period_and_unsampling);
    TEST(go_rate_spelling);
    TEST(symbols_inlining_and_hidden_frames);
    TEST(recursion_is_not_inlining);
    TEST(errors_name_file_and_line);
    TEST(sniff);
    TEST_EXIT();
}
