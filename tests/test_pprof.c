/*
 * tests/test_pprof.c -- the pprof reader and writer (src/format/pprof.c) and
 * gzip input (src/format/gz.c). Wire compatibility is checked against the
 * protoc-c code generated from proto/profile.proto.
 */
#include "check.h"
#include "format/gz.h"
#include "format/pprof.h"
#include "profile.pb-c.h"

/* A writer with two functions, an inlined location, labels and 3 samples. */
static mf_pprof_writer *small_writer(void)
{
    mf_pprof_writer *w = mf_pw_new();
    mf_pw_add_sample_type(w, "alloc_space", "bytes");
    mf_pw_add_sample_type(w, "inuse_space", "bytes");
    mf_pw_set_period(w, "space", "bytes", 4096);
    mf_pw_set_time(w, 123456789, 1000);
    mf_pw_set_default_sample_type(w, "alloc_space");
    mf_pw_add_comment(w, "producer: test");
    mf_pw_mapping m = {0x1000, 0x9000, 0x100, "/bin/app", "abcd", true, true, true, true};
    uint64_t map = mf_pw_add_mapping(w, &m);
    uint64_t fa = mf_pw_function(w, "alpha", NULL, "a.c", 10);
    uint64_t fb = mf_pw_function(w, "beta", "beta_sys", "b.c", 20);
    mf_pw_line la = {fa, 12}, inl[2] = {{fb, 22}, {fa, 14}};
    uint64_t l1 = mf_pw_add_location(w, map, 0x1100, &la, 1);
    uint64_t l2 = mf_pw_add_location(w, map, 0x1200, inl, 2);
    uint64_t s1[] = {l1}, s2[] = {l2, l1};
    int64_t v1[] = {100, 50}, v2[] = {-7, 1LL << 40};
    mf_pw_label lab = {"bytes", NULL, 64, "bytes"}, slab = {"kind", "map", 0, NULL};
    mf_pw_add_sample(w, s1, 1, v1, 2, &lab, 1);
    mf_pw_add_sample(w, s2, 2, v2, 2, &slab, 1);
    mf_pw_add_sample(w, s2, 2, v1, 2, NULL, 0);
    return w;
}

static void writer_output_reads_back_the_same(void)
{
    mf_pprof_writer *w = small_writer();
    mf_buf raw = {0};
    mf_error e;
    CHECK(mf_pw_encode(w, &raw, &e) == 0);
    mf_profile *p;
    CHECK(mf_profile_parse(raw.data, raw.len, "t", &p, &e) == 0);
    CHECK_EQ_U64(p->n_sample_types, 2);
    CHECK_STR_EQ(mf_str(p, p->sample_types[1].type), "inuse_space");
    CHECK_EQ_U64(p->n_samples, 3);
    CHECK_EQ_U64(p->samples[1].n_locs, 2);
    CHECK_EQ_U64(mf_sample_values(p, 1)[0], (uint64_t)-7);
    CHECK_EQ_U64(mf_sample_values(p, 1)[1], 1ULL << 40);
    CHECK_EQ_U64(p->n_labels, 2);
    CHECK_STR_EQ(mf_str(p, p->labels[0].key), "bytes");
    CHECK_EQ_U64(p->labels[0].num, 64);
    CHECK_STR_EQ(mf_str(p, p->labels[1].str), "map");
    const mf_location *l2 = &p->locations[p->locs[p->samples[1].loc_start]];
    CHECK_EQ_U64(l2->address, 0x1200);
    CHECK_EQ_U64(l2->n_lines, 2);
    const mf_line *ln = &p->lines[l2->line_start];
    CHECK_STR_EQ(mf_str(p, p->functions[ln->function - 1].name), "beta");
    CHECK_STR_EQ(mf_str(p, p->functions[ln->function - 1].system_name), "beta_sys");
    CHECK_EQ_U64(ln->line, 22);
    CHECK_EQ_U64(ln[1].line, 14);
    CHECK_EQ_U64(p->n_mappings, 1);
    CHECK_STR_EQ(mf_str(p, p->mappings[0].build_id), "abcd");
    CHECK(p->mappings[0].has_inline_frames);
    CHECK_EQ_U64(p->period, 4096);
    CHECK_STR_EQ(mf_str(p, p->period_type.type), "space");
    CHECK_EQ_U64(p->time_nanos, 123456789);
    CHECK_EQ_U64(p->duration_nanos, 1000);
    CHECK_STR_EQ(mf_str(p, p->default_sample_type), "alloc_space");
    CHECK_EQ_U64(p->n_comments, 1);
    mf_profile_free(p);
    mf_buf_free(&raw);
    mf_pw_free(w);
}

/* protoc-c's decoder is an independent reading of the same .proto. */
static void writer_output_decodes_with_protoc_c(void)
{
    mf_pprof_writer *w = small_writer();
    mf_buf raw = {0};
    mf_error e;
    CHECK(mf_pw_encode(w, &raw, &e) == 0);
    Perftools__Profiles__Profile *pp =
        perftools__profiles__profile__unpack(NULL, raw.len, raw.data);
    CHECK(pp != NULL);
    CHECK_EQ_U64(pp->n_sample, 3);
    CHECK_EQ_U64(pp->n_sample_type, 2);
    CHECK_STR_EQ(pp->string_table[0], "");
    CHECK_STR_EQ(pp->string_table[pp->sample_type[0]->type], "alloc_space");
    CHECK_EQ_U64(pp->sample[1]->value[0], (uint64_t)-7);
    CHECK_EQ_U64(pp->sample[1]->n_location_id, 2);
    CHECK_EQ_U64(pp->n_location, 2);
    CHECK_EQ_U64(pp->location[1]->n_line, 2);
    CHECK_EQ_U64(pp->n_function, 2);
    CHECK_STR_EQ(pp->string_table[pp->function[1]->filename], "b.c");
    CHECK_EQ_U64(pp->function[1]->start_line, 20);
    CHECK_EQ_U64(pp->mapping[0]->memory_limit, 0x9000);
    CHECK_EQ_U64(pp->period, 4096);
    CHECK_EQ_U64(pp->n_comment, 1);
    CHECK_STR_EQ(pp->string_table[pp->default_sample_type], "alloc_space");
    perftools__profiles__profile__free_unpacked(pp, NULL);
    mf_buf_free(&raw);
    mf_pw_free(w);
}

/* And the reader reads protoc-c's encoding, including non-dense ids. */
static void reader_reads_protoc_c_output_with_sparse_ids(void)
{
    Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
    Perftools__Profiles__ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    Perftools__Profiles__Sample s = PERFTOOLS__PROFILES__SAMPLE__INIT;
    Perftools__Profiles__Location loc[2] = {PERFTOOLS__PROFILES__LOCATION__INIT,
                                            PERFTOOLS__PROFILES__LOCATION__INIT};
    char *strings[] = {"", "space", "bytes"};
    Perftools__Profiles__ValueType *sts[] = {&st};
    Perftools__Profiles__Sample *ss[] = {&s};
    Perftools__Profiles__Location *locs[] = {&loc[0], &loc[1]};
    uint64_t ids[] = {1000, 7, 1000};
    int64_t vals[] = {5};
    st.type = 1;
    st.unit = 2;
    loc[0].id = 7;
    loc[1].id = 1000;
    loc[1].address = 0xabc;
    s.n_location_id = 3;
    s.location_id = ids;
    s.n_value = 1;
    s.value = vals;
    p.n_sample_type = 1, p.sample_type = sts, p.n_sample = 1, p.sample = ss;
    p.n_location = 2, p.location = locs, p.n_string_table = 3, p.string_table = strings;
    uint8_t buf[256];
    size_t n = perftools__profiles__profile__pack(&p, buf);
    mf_profile *q;
    mf_error e;
    CHECK(mf_profile_parse(buf, n, "t", &q, &e) == 0);
    CHECK_EQ_U64(q->samples[0].n_locs, 3);
    CHECK_EQ_U64(q->locs[0], 1);
    CHECK_EQ_U64(q->locs[1], 0);
    CHECK_EQ_U64(q->locations[q->locs[2]].address, 0xabc);
    mf_profile_free(q);
}

static void gzip_round_trip_and_detection(void)
{
    const char *text = "hello, hello, hello, maproot";
    mf_buf gz = {0}, back = {0};
    mf_error e;
    CHECK(mf_gzip((const uint8_t *)text, strlen(text), 6, &gz, &e) == 0);
    CHECK(mf_is_gzip(gz.data, gz.len));
    CHECK(!mf_is_gzip((const uint8_t *)text, strlen(text)));
    CHECK(mf_gunzip(gz.data, gz.len, "x", &back, &e) == 0);
    CHECK_EQ_U64(back.len, strlen(text));
    CHECK(memcmp(back.data, text, back.len) == 0);
    /* truncated: every prefix fails cleanly */
    for (size_t cut = 2; cut < gz.len; cut++) {
        mf_buf b2 = {0};
        CHECK(mf_gunzip(gz.data, cut, "cut.gz", &b2, &e) == -1);
        CHECK(strncmp(e.msg, "cut.gz: ", 8) == 0);
        CHECK(b2.data == NULL);
    }
    CHECK(mf_gunzip(gz.data, gz.len - 3, "t.gz", &back, &e) == -1);
    CHECK(strstr(e.msg, "truncated") != NULL);
    mf_buf_free(&gz);
    mf_buf_free(&back);
}

/* A gzip stream cut inside its 8-byte trailer has all its content: the
 * message names the trailer and how much of it is there; cut before it,
 * the compressed data. Both for deflated and for stored blocks. */
static void gzip_cut_in_its_trailer_says_so(void)
{
    char text[3000];
    for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    for (int level = 0; level <= 9; level += 9) {
        mf_buf gz = {0}, back = {0};
        mf_error e;
        CHECK(mf_gzip((const uint8_t *)text, sizeof text, level, &gz, &e) == 0);
        for (size_t cut = gz.len - 12; cut < gz.len; cut++) {
            CHECK(mf_gunzip(gz.data, cut, "c.gz", &back, &e) == -1);
            char want[200];
            if (cut >= gz.len - 8)
                snprintf(want, sizeof want,
                         "c.gz: truncated gzip data (input ends at compressed byte %zu inside "
                         "the gzip trailer, the content's CRC-32 and length: %zu of its 8 bytes)",
                         cut, 8 - (gz.len - cut));
            else
                snprintf(want, sizeof want,
                         "c.gz: truncated gzip data (input ends at compressed byte %zu)", cut);
            CHECK_STR_EQ(e.msg, want);
        }
        mf_buf_free(&gz);
        mf_buf_free(&back);
    }
}

/* Parses bytes and expects failure with `want` in the message. */
static int parse_fails_with(const uint8_t *data, size_t n, const char *want)
{
    mf_profile *p = NULL;
    mf_error e;
    if (mf_profile_parse(data, n, "bad.pb", &p, &e) == 0) {
        mf_profile_free(p);
        fprintf(stderr, "  parsed, expected \"%s\"\n", want);
        return 0;
    }
    if (p || strncmp(e.msg, "bad.pb: ", 8) != 0 || !strstr(e.msg, want) || strchr(e.msg, '\n')) {
        fprintf(stderr, "  message \"%s\", expected \"%s\"\n", e.msg, want);
        return 0;
    }
    return 1;
}

/* Packs a small valid profile after `tweak` changes one field. */
static size_t pack_tweaked(uint8_t *buf, int tweak)
{
    Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
    Perftools__Profiles__ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    Perftools__Profiles__Sample s = PERFTOOLS__PROFILES__SAMPLE__INIT;
    Perftools__Profiles__Location loc = PERFTOOLS__PROFILES__LOCATION__INIT;
    Perftools__Profiles__Line line = PERFTOOLS__PROFILES__LINE__INIT;
    Perftools__Profiles__Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT;
    Perftools__Profiles__Mapping mp = PERFTOOLS__PROFILES__MAPPING__INIT;
    char *strings[] = {"", "inuse_space", "bytes", "main"};
    Perftools__Profiles__ValueType *sts[] = {&st};
    Perftools__Profiles__Sample *ss[] = {&s};
    Perftools__Profiles__Location *locs[] = {&loc};
    Perftools__Profiles__Line *lines[] = {&line};
    Perftools__Profiles__Function *fns[] = {&fn, &fn};
    Perftools__Profiles__Mapping *mps[] = {&mp};
    uint64_t loc_ids[] = {1};
    int64_t vals[] = {100, 200};
    st.type = 1, st.unit = 2;
    fn.id = 1, fn.name = 3;
    line.function_id = 1, line.line = 7;
    loc.id = 1, loc.n_line = 1, loc.line = lines, loc.mapping_id = 1;
    mp.id = 1;
    s.n_location_id = 1, s.location_id = loc_ids, s.n_value = 1, s.value = vals;
    p.n_sample_type = 1, p.sample_type = sts, p.n_sample = 1, p.sample = ss;
    p.n_location = 1, p.location = locs, p.n_function = 1, p.function = fns;
    p.n_mapping = 1, p.mapping = mps;
    p.n_string_table = 4, p.string_table = strings;
    switch (tweak) {
    case 1:
        fn.name = 4;
        break;
    case 2:
        loc_ids[0] = 9;
        break;
    case 3:
        loc_ids[0] = 0;
        break;
    case 4:
        s.n_value = 2;
        break;
    case 5:
        line.function_id = 3;
        break;
    case 6:
        loc.mapping_id = 2;
        break;
    case 7:
        p.n_function = 2;
        break; /* the same function twice: duplicate id */
    case 8:
        st.unit = -1;
        break;
    case 9:
        strings[0] = "x";
        break;
    case 10:
        fn.id = 0;
        break;
    case 11:
        line.function_id = 0;
        break;
    }
    return perftools__profiles__profile__pack(&p, buf);
}

static void reader_rejects_inconsistent_profiles(void)
{
    uint8_t buf[512];
    mf_profile *p;
    mf_error e;
    size_t n = pack_tweaked(buf, 0);
    CHECK(mf_profile_parse(buf, n, "ok.pb", &p, &e) == 0);
    mf_profile_free(p);
    n = pack_tweaked(buf, 1);
    CHECK(parse_fails_with(buf, n, "string index 4 out of range"));
    n = pack_tweaked(buf, 2);
    CHECK(parse_fails_with(buf, n, "location id 9 is not defined"));
    n = pack_tweaked(buf, 3);
    CHECK(parse_fails_with(buf, n, "location id 0 is zero"));
    n = pack_tweaked(buf, 4);
    CHECK(parse_fails_with(buf, n, "sample 0 has 2 values but the profile has 1 sample types"));
    n = pack_tweaked(buf, 5);
    CHECK(parse_fails_with(buf, n, "function id 3, which is not defined"));
    n = pack_tweaked(buf, 11);
    CHECK(parse_fails_with(buf, n, "location 0 (id 1): a line has no function (function id 0)"));
    /* an undefined mapping id reads as no mapping, as go tool pprof reads it */
    n = pack_tweaked(buf, 6);
    CHECK(mf_profile_parse(buf, n, "nomap.pb", &p, &e) == 0);
    CHECK(p->n_locations == 1 && p->locations[0].mapping == 0);
    mf_profile_free(p);
    n = pack_tweaked(buf, 7);
    CHECK(parse_fails_with(buf, n, "function 1 has a duplicate id 1"));
    n = pack_tweaked(buf, 8);
    CHECK(parse_fails_with(buf, n, "string index -1 out of range"));
    n = pack_tweaked(buf, 9);
    CHECK(parse_fails_with(buf, n, "string_table[0] is not the empty string"));
    n = pack_tweaked(buf, 10);
    CHECK(parse_fails_with(buf, n, "function 0 has a zero id"));
}

static void reader_rejects_garbage_and_truncation(void)
{
    uint8_t buf[512];
    size_t n = pack_tweaked(buf, 0);
    CHECK(parse_fails_with(buf, 0, "empty file"));
    /* every proper prefix of a valid profile is rejected or parses cleanly */
    for (size_t cut = 1; cut < n; cut++) {
        mf_profile *p = NULL;
        mf_error e;
        if (mf_profile_parse(buf, cut, "cut.pb", &p, &e) == 0)
            mf_profile_free(p);
        else
            CHECK(strncmp(e.msg, "cut.pb: ", 8) == 0);
    }
    const uint8_t text[] = "this is not a profile\n";
    mf_profile *p = NULL;
    mf_error e;
    CHECK(mf_profile_parse(text, sizeof text - 1, "t.txt", &p, &e) == -1);
    CHECK(strstr(e.msg, "(byte ") != NULL);
    /* a deterministic stream of random bytes */
    uint64_t x = 88172645463325252ULL;
    uint8_t rnd[4096];
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof rnd; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            rnd[i] = (uint8_t)x;
        }
        size_t len = 1 + (size_t)(x % sizeof rnd);
        if (mf_profile_parse(rnd, len, "rnd", &p, &e) == 0) mf_profile_free(p);
    }
    const uint8_t overlong[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(parse_fails_with(overlong, sizeof overlong, "truncated varint"));
    const uint8_t group[] = {0x0b};
    CHECK(parse_fails_with(group, sizeof group, "unsupported wire type 3"));
    const uint8_t longlen[] = {0x32, 0x10, 'a'};
    CHECK(parse_fails_with(longlen, sizeof longlen, "runs past the end"));
}

static void writer_refuses_bad_samples_and_reports_once(void)
{
    mf_pprof_writer *w = mf_pw_new();
    mf_pw_add_sample_type(w, "inuse_space", "bytes");
    int64_t v[2] = {1, 2};
    uint64_t bogus = 5;
    CHECK(mf_pw_add_sample(w, NULL, 0, v, 2, NULL, 0) == -1);
    CHECK(mf_pw_add_sample(w, &bogus, 1, v, 1, NULL, 0) == -1);
    mf_buf out = {0};
    mf_error e;
    CHECK(mf_pw_encode(w, &out, &e) == -1);
    CHECK(strstr(e.msg, "sample 0 has 2 values, expected 1") != NULL);
    mf_pw_free(w);
}

static void writer_interns_strings_functions_and_locations(void)
{
    mf_pprof_writer *w = mf_pw_new();
    CHECK_EQ_U64(mf_pw_string(w, ""), 0);
    CHECK_EQ_U64(mf_pw_string(w, NULL), 0);
    int64_t a = mf_pw_string(w, "a");
    CHECK_EQ_U64(mf_pw_string(w, "a"), a);
    char name[32];
    for (int i = 0; i < 5000; i++) { /* grows the tables several times */
        snprintf(name, sizeof name, "fn%d", i);
        CHECK_EQ_U64(mf_pw_function(w, name, NULL, "f.c", i), (uint64_t)i + 1);
    }
    CHECK_EQ_U64(mf_pw_function(w, "fn77", NULL, "f.c", 77), 78);
    CHECK(mf_pw_function(w, "fn77", NULL, "g.c", 77) != 78);
    mf_pw_line l = {1, 1};
    uint64_t id = mf_pw_add_location(w, 0, 0xdead, &l, 1);
    CHECK_EQ_U64(mf_pw_find_location(w, 0xdead), id);
    CHECK_EQ_U64(mf_pw_find_location(w, 0xbeef), 0);
    CHECK_EQ_U64(mf_pw_add_location(w, 3, 0x1, NULL, 0), 0); /* no such mapping */
    mf_pw_free(w);
}

static void atomic_write_leaves_nothing_on_failure(void)
{
    mf_error e;
    const uint8_t d[] = "x";
    CHECK(mf_write_file("/nonexistent-dir/x.pb.gz", d, 1, &e) == -1);
    CHECK(strcmp(e.msg, "cannot create /nonexistent-dir/x.pb.gz: No such file or directory") == 0);
    mf_pprof_writer *w = small_writer();
    CHECK(mf_pw_write(w, "/nonexistent-dir/y.pb.gz", true, &e) == -1);
    mf_pw_free(w);
}

int main(void)
{
    TEST(writer_output_reads_back_the_same);
    TEST(writer_output_decodes_with_protoc_c);
    TEST(reader_reads_protoc_c_output_with_sparse_ids);
    TEST(gzip_round_trip_and_detection);
    TEST(gzip_cut_in_its_trailer_says_so);
    TEST(reader_rejects_inconsistent_profiles);
    TEST(reader_rejects_garbage_and_truncation);
    TEST(writer_refuses_bad_samples_and_reports_once);
    TEST(writer_interns_strings_functions_and_locations);
    TEST(atomic_write_leaves_nothing_on_failure);
    TEST_EXIT();
}
