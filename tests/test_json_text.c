/*
 * tests/test_json_text.c -- JSON strings from outside bytes: valid UTF-8
 * is kept as it is, every other byte becomes the character of its number
 * (U+0080..U+00FF) with the exact bytes in a _hex sibling, the result is
 * always a string jansson can write; and keys, data apart from display.
 */
#include "analyze/json_text.h"

#include "check.h"

/* What mp_json_textn makes of n bytes, as the string value (into buf). */
static int text_of(const char *s, size_t n, char *buf, size_t size)
{
    json_t *v = mp_json_textn(s, n);
    if (!v || !json_is_string(v)) return -1;
    char *dumped = json_dumps(v, JSON_ENCODE_ANY);
    int ok = dumped != NULL;
    free(dumped);
    size_t len = json_string_length(v);
    if (len >= size) len = size - 1;
    memcpy(buf, json_string_value(v), len);
    buf[len] = 0;
    json_decref(v);
    return ok ? 0 : -1;
}

static void test_valid_utf8_is_kept(void)
{
    const char *ok[] = {"",
                        "session_cache",
                        "caf\xc3\xa9",
                        "\xe2\x82\xac 5",
                        "\xf0\x9f\x98\x80",
                        "\xed\x9f\xbf",
                        "\xf4\x8f\xbf\xbf",
                        "tab\there"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char buf[64];
        CHECK(text_of(ok[i], strlen(ok[i]), buf, sizeof buf) == 0);
        CHECK_STR_EQ(buf, ok[i]);
    }
}

static void test_invalid_bytes_are_mapped(void)
{
    const struct {
        const char *in, *out;
    } cases[] = {
        {"cache\xc3(", "cache\xc3\x83("},                         /* a lead byte without its tail */
        {"caf\xe9.c", "caf\xc3\xa9.c"},                           /* Latin-1 */
        {"\x80x", "\xc2\x80x"},                                   /* a lone continuation byte */
        {"\xc0\x80", "\xc3\x80\xc2\x80"},                         /* overlong NUL */
        {"\xed\xa0\x80", "\xc3\xad\xc2\xa0\xc2\x80"},             /* a surrogate */
        {"\xf4\x90\x80\x80", "\xc3\xb4\xc2\x90\xc2\x80\xc2\x80"}, /* past U+10FFFF */
        {"\xe2\x82\xac\xe2", "\xe2\x82\xac\xc3\xa2"},             /* valid, then cut */
        {"\xff", "\xc3\xbf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        CHECK(text_of(cases[i].in, strlen(cases[i].in), buf, sizeof buf) == 0);
        CHECK_STR_EQ(buf, cases[i].out);
        CHECK(!mp_json_text_exact(cases[i].in, strlen(cases[i].in)));
    }
}

/* A _hex sibling exactly when the string is not the bytes. */
static void test_a_hex_sibling_only_when_the_bytes_were_not_utf8(void)
{
    json_t *o = json_object();
    CHECK(mp_json_set_text(o, "name", "cache\xc3(") == 0);
    CHECK(mp_json_set_text(o, "file", "caf\xc3\xa9.c") == 0);
    CHECK(mp_json_set_text(o, "none", NULL) == 0);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "name_hex")), "6361636865c328");
    CHECK(json_object_get(o, "file_hex") == NULL && json_object_get(o, "none_hex") == NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(o, "file")), "caf\xc3\xa9.c");
    CHECK_STR_EQ(json_string_value(json_object_get(o, "none")), "");
    json_decref(o);
    json_t *r = mp_json_report("snapshot_diff");
    CHECK(json_integer_value(json_object_get(r, "schema_version")) == MP_JSON_SCHEMA_VERSION);
    CHECK_STR_EQ(json_string_value(json_object_get(r, "report")), "snapshot_diff");
    json_decref(r);
}

/* key, key_display, key_truncated (and key_hex) from each display form. */
static void test_keys_are_data_apart_from_display(void)
{
    const struct {
        const char *display, *key, *hex; /* key NULL: null; hex NULL: no key_hex */
        bool truncated;
    } cases[] = {
        {"\"user-53038\"", "user-53038", NULL, false},
        {"\"a\\\"b\\\\c\\n\\t\\r\"", "a\"b\\c\n\t\r", NULL, false},
        {"\"caf\\xc3\\xa9\"", "caf\xc3\xa9", NULL, false}, /* escaped UTF-8 is UTF-8 */
        {"\"\\xff\\x00z\"", "\xc3\xbf\xc2\x80z", "ff007a", false},
        {"\"0123456789\"...", "0123456789", NULL, true},
        {"104625", "104625", NULL, false},
        {"-17", "-17", NULL, false},
        {"0x7f3a1c000040", "0x7f3a1c000040", NULL, false},
        {"0x00ff...", "0x00ff", NULL, true},
        /* cut short, with the key's length and digest */
        {"\"0123456789\"... (70 bytes, #0123456789abcdef)", "0123456789", NULL, true},
        {"0x00ff... (96 bytes, #cbf29ce484222325)", "0x00ff", NULL, true},
        /* a Go struct key's rendering cut for length: the text before its mark */
        {"{Name:\"a\" Rank:1 Tag:{Zone:-1... (40 bytes, #0123456789abcdef)",
         "{Name:\"a\" Rank:1 Tag:{Zone:-1", NULL, true},
        {"[1 2 3 4... (96 bytes, #0123456789abcdef)", "[1 2 3 4", NULL, true},
        /* not a cut mark: the display is its own bytes */
        {"\"ab\"... (70 bytes, #0123)", "\"ab\"... (70 bytes, #0123)", NULL, false},
        {"\"ab\"... (bytes, #0123456789abcdef)", "\"ab\"... (bytes, #0123456789abcdef)", NULL,
         false},
        {"-", "", NULL, false},
        {"?", NULL, NULL, false},
        {"(string of 12 bytes at 0x4c1e20)", NULL, NULL, false},
        {"\"unterminated", "\"unterminated", NULL, false},
        {"\"bad\\q\"", "\"bad\\q\"", NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *o = json_object();
        CHECK(mp_json_set_key(o, cases[i].display) == 0);
        json_t *k = json_object_get(o, "key");
        if (cases[i].key == NULL) {
            CHECK(json_is_null(k));
        } else {
            CHECK(json_is_string(k));
            if (cases[i].hex) {
                /* "\x00" is a NUL: compare lengths too */
                CHECK_STR_EQ(json_string_value(json_object_get(o, "key_hex")), cases[i].hex);
            } else {
                CHECK_STR_EQ(json_string_value(k), cases[i].key);
                CHECK(json_object_get(o, "key_hex") == NULL);
            }
        }
        CHECK_STR_EQ(json_string_value(json_object_get(o, "key_display")), cases[i].display);
        CHECK(json_is_true(json_object_get(o, "key_truncated")) == cases[i].truncated);
        json_decref(o);
    }
}

static void test_every_byte_string_makes_a_string(void)
{
    /* every pair of bytes, and a NUL in the middle */
    char in[3], buf[32];
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++) {
            in[0] = (char)a, in[1] = (char)b, in[2] = 'z';
            CHECK(text_of(in, 3, buf, sizeof buf) == 0);
        }
    json_t *v = mp_json_textn("a\0b", 3);
    CHECK(v && json_string_length(v) == 3);
    json_decref(v);
    v = mp_json_text(NULL);
    CHECK(v && json_string_length(v) == 0);
    json_decref(v);
}

int main(void)
{
    TEST(test_valid_utf8_is_kept);
    TEST(test_invalid_bytes_are_mapped);
    TEST(test_a_hex_sibling_only_when_the_bytes_were_not_utf8);
    TEST(test_keys_are_data_apart_from_display);
    TEST(test_every_byte_string_makes_a_string);
    TEST_EXIT();
}
