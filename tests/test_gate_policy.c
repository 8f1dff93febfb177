/*
 * tests/test_gate_policy.c -- the policy and baseline files of maproot gate
 * (analyze/gate_policy.c) and the positions of JSON values behind their
 * messages (analyze/json_pos.c): defaults, every key read, refusals that
 * name the file, the line and the key, globs and sizes.
 */
#include "check.h"

#include "analyze/findings.h"
#include "analyze/gate_policy.h"
#include "analyze/json_pos.h"

#include <string.h>

static int parse(const char *text, mp_gate_policy *p, mf_error *err)
{
    return mp_gate_policy_parse(text, strlen(text), "p.json", p, err);
}

static void defaults_from_an_empty_policy(void)
{
    mp_gate_policy p, d;
    mf_error err;
    mp_gate_policy_default(&d);
    CHECK(parse("{}", &p, &err) == 0);
    CHECK(p.growth && p.k == 3 && p.n == 4 && p.min_entries == 1000 && p.min_bytes == 1u << 20);
    CHECK(p.suspect && p.evidence == d.evidence);
    CHECK(!p.heap && p.ncaps == 0 && p.nsups == 0 && p.warmup == 0);
    CHECK(p.spread && p.spread_min_maps == 2 && p.spread_min_entries == 1000 &&
          p.spread_min_bytes == 1u << 20);
    CHECK_STR_EQ(p.file, "p.json");
    mp_gate_policy_free(&p);
}

/* The spread rule: off, its own minimums, or the growth rule's when it
 * names none (whichever order the keys come in). */
static void spread_follows_growth_minimums(void)
{
    mp_gate_policy p;
    mf_error err;
    CHECK(parse("{\"spread\": {\"min_maps\": 5}, \"growth\": {\"min_entries\": 7, "
                "\"min_bytes\": \"2KiB\"}}",
                &p, &err) == 0);
    CHECK(p.spread && p.spread_min_maps == 5 && p.spread_min_entries == 7 &&
          p.spread_min_bytes == 2048);
    mp_gate_policy_free(&p);
    CHECK(parse("{\"spread\": {\"min_entries\": 9, \"min_bytes\": \"1KiB\"}}", &p, &err) == 0);
    CHECK(p.spread_min_maps == 2 && p.spread_min_entries == 9 && p.spread_min_bytes == 1024);
    CHECK(p.min_entries == 1000 && p.min_bytes == 1u << 20); /* growth's own stay */
    mp_gate_policy_free(&p);
    CHECK(parse("{\"spread\": false}", &p, &err) == 0);
    CHECK(!p.spread && p.growth);
    mp_gate_policy_free(&p);
    CHECK(parse("{\"spread\": true}", &p, &err) == 0);
    CHECK(p.spread && p.spread_min_entries == 1000);
    mp_gate_policy_free(&p);
}

static void every_key_is_read(void)
{
    const char *text =
        "{\"version\": 1, \"warmup\": 3,\n"
        " \"growth\": {\"k\": 2, \"n\": 5, \"min_entries\": 7, \"min_bytes\": \"2KiB\"},\n"
        " \"suspect\": {\"evidence\": [\"emptied\", \"stack_frame\"]},\n"
        " \"heap\": {\"max_growth\": 1000, \"max_growth_percent\": 12.5},\n"
        " \"caps\": [{\"map\": \"map[*]*T\", \"max_entries\": 9},\n"
        "          {\"type\": \"T\", \"max_bytes\": \"1M\"}],\n"
        " \"suppressions\": [{\"root\": \"global x\", \"reason\": \"why\",\n"
        "                    \"rules\": [\"cap\"]}],\n"
        " \"baseline\": {\"tolerance_percent\": 3}}";
    mp_gate_policy p;
    mf_error err;
    CHECK(parse(text, &p, &err) == 0);
    CHECK(p.warmup == 3 && p.k == 2 && p.n == 5 && p.min_entries == 7 && p.min_bytes == 2048);
    CHECK(p.evidence == (MP_EV_EMPTIED | MP_EV_STACK_FRAME));
    CHECK(p.heap && p.heap_max_growth == 1000 && p.heap_max_growth_pct == 12.5);
    CHECK(p.ncaps == 2 && p.caps[0].scope == MP_CAP_MAP && p.caps[0].max_count == 9 &&
          p.caps[0].max_bytes == MP_NO_LIMIT && p.caps[0].line == 5);
    CHECK(p.caps[1].scope == MP_CAP_TYPE && p.caps[1].max_bytes == 1u << 20 && p.caps[1].line == 6);
    CHECK(p.nsups == 1 && p.sups[0].line == 7 && p.sups[0].rules == 1u << MP_RULE_CAP);
    CHECK_STR_EQ(p.sups[0].root, "global x");
    CHECK(p.baseline_tolerance_pct == 3);
    mp_gate_policy_free(&p);
    CHECK(parse("{\"growth\": false, \"suspect\": false}", &p, &err) == 0);
    CHECK(!p.growth && !p.suspect);
    mp_gate_policy_free(&p);
}

/* Each refusal: the message, with file, line and key. */
static void refusals_name_the_line_and_key(void)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"{\n\"grwth\": 1}", "p.json:2: grwth: unknown key (the policy takes version, warmup"},
        {"{\"growth\": {\n\n  \"k\": 0}}",
         "p.json:3: growth.k: must be a whole number from 1 to 1000, not 0"},
        {"{\"growth\": {\"n\": 2}}", "p.json:1: growth.n: k (3) must not be more than n (2)"},
        {"{\"growth\": 3}", "p.json:1: growth: must be true, false or an object of settings"},
        {"{\"suppressions\": [{},\n {\"map\": \"m\"}]}",
         "p.json:1: suppressions[0]: matches no map"},
        {"{\"suppressions\": [\n {\"map\": \"m\", \"reason\": \"\"}]}",
         "p.json:2: suppressions[0].reason: must be a non-empty string"},
        {"{\"suppressions\": [{\"map\": \"m\", \"reason\": \"r\", \"rules\": [\"heap\"]}]}",
         "suppressions[0].rules[0]: the heap rule is about no one map"},
        {"{\"caps\": [{\"max_entries\": 1}]}",
         "caps[0]: names no \"map\", \"root\" or \"type\" to cap"},
        {"{\"caps\": [{\"root\": \"r\"}]}",
         "caps[0]: has no limit: give max_entries or max_retained"},
        {"{\"heap\": true}", "heap: true says nothing"},
        {"{\"spread\": {\"min_maps\": 0}}", "spread.min_maps: must be a whole number from 1 to"},
        {"{\"spread\": {\"k\": 2}}", "spread.k: unknown key (spread takes min_maps, min_entries"},
        {"{\"suppressions\": [{\"map\": \"m\", \"reason\": \"r\", \"rules\": [\"spread\"]}]}",
         "suppressions[0].rules[0]: the spread rule is about no one map: raise its minimums"},
        {"{\"heap\": {}}", "heap: give max_growth or max_growth_percent"},
        {"{\"heap\": {\"max_growth_percent\": -1}}",
         "heap.max_growth_percent: must be a number from 0 to"},
        {"{\"growth\": {\"min_bytes\": \"5 KB/s\"}}", "growth.min_bytes: must be a size in bytes"},
        {"{\"warmup\": -1}", "warmup: must be a whole number from 0 to"},
        {"[]", "p.json:1: a policy is a JSON object, not an array"},
        {"{\"version\": 1", "p.json:1: not valid JSON:"},
        {"", "p.json:1: not valid JSON:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mp_gate_policy p;
        mf_error err;
        CHECK(parse(cases[i].text, &p, &err) == -1);
        if (!strstr(err.msg, cases[i].msg)) {
            fprintf(stderr, "case %zu: \"%s\" does not say \"%s\"\n", i, err.msg, cases[i].msg);
            CHECK(!"message");
        }
    }
}

static void positions_of_nested_values(void)
{
    const char *t = "{\"a\": {\"b\": [1,\n 2, {\"c\":\n\n true}]},\n \"d\": \"x\\\"y\"}";
    mp_json_pos *p = mp_json_pos_index(t, strlen(t));
    CHECK(p != NULL);
    CHECK(mp_json_pos_line(p, "") == 1);
    CHECK(mp_json_pos_line(p, "a") == 1);
    CHECK(mp_json_pos_line(p, "a.b[0]") == 1);
    CHECK(mp_json_pos_line(p, "a.b[1]") == 2);
    CHECK(mp_json_pos_line(p, "a.b[2].c") == 2); /* a member is where its key is */
    CHECK(mp_json_pos_line(p, "d") == 5);
    CHECK(mp_json_pos_line(p, "e") == 0);
    mp_json_pos_free(p);
    /* malformed text never stops the index, nor reads past the end */
    const char *bad = "{\"a\": [}}]]\"";
    p = mp_json_pos_index(bad, strlen(bad));
    CHECK(p != NULL);
    mp_json_pos_free(p);
}

static void globs_and_sizes(void)
{
    CHECK(mp_glob("map[string]*Session", "map[string]*Session"));
    CHECK(mp_glob("map[string]*", "map[string]*Session"));
    CHECK(!mp_glob("map[string]*", "map[int64]*Session"));
    CHECK(mp_glob("global *_cache", "global session_cache"));
    CHECK(mp_glob("src/*.c", "src/a/b.c")); /* '*' crosses '/' */
    CHECK(mp_glob("?", "x") && !mp_glob("?", "") && !mp_glob("?", "xy"));
    CHECK(mp_glob("*", "") && mp_glob("**a*", "bab") && !mp_glob("a*b", "acbd"));
    uint64_t v;
    CHECK(mp_parse_size("64MiB", &v) == 0 && v == 64u << 20);
    CHECK(mp_parse_size("1.5 K", &v) == 0 && v == 1536);
    CHECK(mp_parse_size("12", &v) == 0 && v == 12);
    CHECK(mp_parse_size("2GB", &v) == 0 && v == 2ull << 30);
    CHECK(mp_parse_size("", &v) == -1 && mp_parse_size("1.", &v) == -1);
    CHECK(mp_parse_size("-1", &v) == -1 && mp_parse_size("1 parsec", &v) == -1);
    CHECK(mp_parse_size("99999999999 TiB", &v) == -1);
}

static void baselines_are_checked(void)
{
    const char *ok =
        "{\"maproot_gate_baseline\": 1, \"program\": \"p\",\n"
        " \"maps\": [{\"type\": \"m\", \"holder\": \"global g\", \"ordinal\": 1,\n"
        "           \"entries\": 5, \"retained_bytes\": 6}],\n"
        " \"roots\": [{\"holder\": \"global g\", \"entries\": 1, \"retained_bytes\": 2}],\n"
        " \"types\": [{\"type\": \"T\", \"objects\": 3, \"bytes\": 4}],\n"
        " \"heap\": {\"growth_bytes\": 7},\n"
        " \"spread\": {\"entries\": 8, \"retained_bytes\": 9}}";
    mp_gate_baseline b;
    mf_error err;
    CHECK(mp_gate_baseline_parse(ok, strlen(ok), "b.json", &b, &err) == 0);
    CHECK(b.n == 5 && b.v[0].kind == MP_BASE_MAP && b.v[0].ordinal == 1 && b.v[0].count == 5);
    CHECK(b.v[3].kind == MP_BASE_HEAP && b.v[3].bytes == 7);
    CHECK(b.v[4].kind == MP_BASE_SPREAD && b.v[4].count == 8 && b.v[4].bytes == 9);
    mp_gate_baseline_free(&b);
    const char *no_bytes = "{\"maproot_gate_baseline\": 2,\n \"spread\": {\"entries\": 8, "
                           "\"bytes\": 9}}";
    CHECK(mp_gate_baseline_parse(no_bytes, strlen(no_bytes), "b.json", &b, &err) == -1);
    CHECK(strstr(err.msg, "b.json:2: spread.bytes: unknown key") != NULL);
    const char *bad =
        "{\"maproot_gate_baseline\": 1,\n \"maps\": [{\"type\": \"m\", \"ordinal\": 2}]}";
    CHECK(mp_gate_baseline_parse(bad, strlen(bad), "b.json", &b, &err) == -1);
    CHECK(strstr(err.msg, "b.json:2: maps[0]: needs \"type\" and \"holder\"") != NULL);
    const char *policy = "{\"growth\": false}";
    CHECK(mp_gate_baseline_parse(policy, strlen(policy), "b.json", &b, &err) == -1);
    CHECK(strstr(err.msg, "unknown key") != NULL);
}

/* Version 2 names each map by its way too ("" when a root points at its
 * header); version 1 has none, and is refused where two of its maps share
 * type and holder (which of them is which depended on their addresses). */
static void baseline_versions_and_ways(void)
{
    mp_gate_baseline b;
    mf_error err;
    const char *v2 =
        "{\"maproot_gate_baseline\": 2,\n"
        " \"maps\": [{\"type\": \"m\", \"holder\": \"global s\", \"way\": \"S+8\", \"ordinal\": "
        "1,\n"
        "           \"entries\": 5, \"retained_bytes\": 6},\n"
        "          {\"type\": \"m\", \"holder\": \"global s\", \"way\": \"\", \"ordinal\": 0,\n"
        "           \"entries\": 1, \"retained_bytes\": 2}]}";
    CHECK(mp_gate_baseline_parse(v2, strlen(v2), "b.json", &b, &err) == 0);
    CHECK(b.version == 2 && b.n == 2 && strcmp(b.v[0].way, "S+8") == 0 && *b.v[1].way == 0);
    mp_gate_baseline_free(&b);
    const char *no_way =
        "{\"maproot_gate_baseline\": 2,\n \"maps\": [{\"type\": \"m\", \"holder\": "
        "\"global s\", \"entries\": 1, \"retained_bytes\": 2}]}";
    CHECK(mp_gate_baseline_parse(no_way, strlen(no_way), "b.json", &b, &err) == -1);
    CHECK(strstr(err.msg, "b.json:2: maps[0]: needs \"type\", \"holder\" and \"way\"") != NULL);
    const char *way_v1 =
        "{\"maproot_gate_baseline\": 1,\n \"maps\": [{\"type\": \"m\", \"holder\": "
        "\"global s\", \"way\": \"S+0\", \"entries\": 1, \"retained_bytes\": 2}]}";
    CHECK(mp_gate_baseline_parse(way_v1, strlen(way_v1), "b.json", &b, &err) == -1);
    CHECK(strstr(err.msg, "unknown key") != NULL);
    const char *twins_v1 =
        "{\"maproot_gate_baseline\": 1, \"maps\": [\n"
        " {\"type\": \"m\", \"holder\": \"global s\", \"entries\": 1, \"retained_bytes\": 2},\n"
        " {\"type\": \"m\", \"holder\": \"global t\", \"entries\": 1, \"retained_bytes\": 2},\n"
        " {\"type\": \"m\", \"holder\": \"global s\", \"ordinal\": 1, \"entries\": 3,\n"
        "  \"retained_bytes\": 4}]}";
    CHECK(mp_gate_baseline_parse(twins_v1, strlen(twins_v1), "b.json", &b, &err) == -1);
    CHECK(strstr(err.msg, "b.json:4: maps[2]: has the type and holder of maps[0]") != NULL);
    CHECK(strstr(err.msg, "write it again") != NULL && !strchr(err.msg, '\n'));
    const char *v3 = "{\"maproot_gate_baseline\": 3}";
    CHECK(mp_gate_baseline_parse(v3, strlen(v3), "b.json", &b, &err) == -1);
    CHECK(strstr(err.msg, "not a baseline of version 1 or 2") != NULL);
}

int main(void)
{
    TEST(defaults_from_an_empty_policy);
    TEST(every_key_is_read);
    TEST(spread_follows_growth_minimums);
    TEST(refusals_name_the_line_and_key);
    TEST(positions_of_nested_values);
    TEST(globs_and_sizes);
    TEST(baselines_are_checked);
    TEST(baseline_versions_and_ways);
    TEST_EXIT();
}
