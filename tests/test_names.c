/*
 * tests/test_names.c -- cleaning of file and function names (src/format/names.c).
 */
#include "check.h"
#include "format/names.h"

#include <stdlib.h>
#include <string.h>

/* Cleans a copy of in that is exactly as long as it (so that ASan sees any
 * access past the NUL) and checks the result and that nothing after the
 * result's end was written. */
static int clean_case(const char *in, const char *want)
{
    size_t n = strlen(in);
    char *buf = malloc(n + 1);
    if (!buf) return 0;
    memcpy(buf, in, n + 1);
    mf_path_clean(buf);
    int ok = strcmp(buf, want) == 0;
    if (!ok) fprintf(stderr, "  mf_path_clean(\"%s\") = \"%s\", want \"%s\"\n", in, buf, want);
    free(buf);
    return ok;
}

static void paths_are_cleaned(void)
{
    static const char *const cases[][2] = {
        {"/a/b/../c.c", "/a/c.c"},
        {"/a/./b//c.c", "/a/b/c.c"},
        {"/a/b/../../../c", "/c"},
        {"../x/./y.c", "../x/y.c"},
        {"a/../../b", "../b"},
        {"./a.c", "a.c"},
        {"/w/build/../src/rt/map.c", "/w/src/rt/map.c"},
        {"a/..", "."},
        {"", ""},
        {".", "."},
        {"/..", "/"},
        {"//", "/"},
        {"../a/..", ".."},
        {"a/b/../../..", ".."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(clean_case(cases[i][0], cases[i][1]));
}

/* A path with nothing to clean (every absolute source path) must come out
 * as it went in: the cleaner once wrote a '/' over the NUL and went on
 * reading what lay behind it ("cache.c/<garbage>"). */
static void clean_paths_are_left_as_they_are(void)
{
    static const char *const cases[] = {
        "/home/me/app/cache.c", "cache.c", "/a", "/", "a/b", "../../a", "/usr/include/stdio.h",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) CHECK(clean_case(cases[i], cases[i]));
    /* and nothing past the end is touched */
    char buf[32];
    memset(buf, 'X', sizeof buf);
    memcpy(buf, "/a/b.c", 7);
    mf_path_clean(buf);
    CHECK_STR_EQ(buf, "/a/b.c");
    for (size_t i = 7; i < sizeof buf; i++) CHECK(buf[i] == 'X');
}

static void trailing_slashes_go(void)
{
    CHECK(clean_case("/a/b/", "/a/b"));
    CHECK(clean_case("a/b//", "a/b"));
}

static void clone_suffixes_are_removed(void)
{
    static const char *const cases[][2] = {
        {"new_session.constprop.0", "new_session"},
        {"main.cold", "main"},
        {"f.isra.0.part.0", "f"},
        {"g.constprop.0.isra.0", "g"},
        {"h.lto_priv.0", "h"},
        {"k.cold.12", "k"},
        {"run.localalias", "run"},
        {"x.llvm.123456789", "x"},
        /* not clone suffixes: kept */
        {"plain", "plain"},
        {"runtime.mallocgc", "runtime.mallocgc"},
        {"a.b.c", "a.b.c"},
        {"f.123", "f.123"},
        {".cold", ".cold"},
        {"", ""},
        {"cold", "cold"},
        {"f.part", "f"},
        {"f.part.x", "f.part.x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[i][0]);
        bool cut = mf_function_name_clean(buf);
        CHECK_STR_EQ(buf, cases[i][1]);
        CHECK(cut == (strcmp(cases[i][0], cases[i][1]) != 0));
    }
}

static void keys_sort_as_people_count(void)
{
    CHECK(mf_text_cmp_natural("user-9", "user-10") < 0);
    CHECK(mf_text_cmp_natural("user-10", "user-9") > 0);
    CHECK(mf_text_cmp_natural("user-007", "user-7") == 0); /* leading zeros do not count */
    CHECK(mf_text_cmp_natural("\"user-2000\"", "\"user-10000\"") < 0);
    CHECK(mf_text_cmp_natural("a", "b") < 0);
    CHECK(mf_text_cmp_natural("abc", "ab") > 0);
    CHECK(mf_text_cmp_natural("", "") == 0);
    CHECK(mf_text_cmp_natural("x12y", "x12z") < 0);
    CHECK(mf_text_cmp_natural("99999999999999999999999", "100000000000000000000000") < 0);
}

/* A program or module is named by its last path component, whatever the
 * directories before it. */
static void a_path_is_named_by_its_last_component(void)
{
    CHECK(strcmp(mf_path_base("/usr/bin/sessiond"), "sessiond") == 0);
    CHECK(strcmp(mf_path_base("sessiond"), "sessiond") == 0);
    CHECK(strcmp(mf_path_base("./a/b.so.0"), "b.so.0") == 0);
    CHECK(strcmp(mf_path_base("/"), "") == 0);
    CHECK(strcmp(mf_path_base("dir/"), "") == 0);
    CHECK(strcmp(mf_path_base(""), "") == 0);
}

int main(void)
{
    TEST(paths_are_cleaned);
    TEST(clean_paths_are_left_as_they_are);
    TEST(trailing_slashes_go);
    TEST(clone_suffixes_are_removed);
    TEST(keys_sort_as_people_count);
    TEST(a_path_is_named_by_its_last_component);
    TEST_EXIT();
}
