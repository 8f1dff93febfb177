/*
 * tests/test_json_text.c -- JSON strings from outside bytes: valid UTF-8
 * is kept as it is, every other byte becomes \xNN, and the result is always
 * a string jansson can write.
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

static void test_invalid_bytes_are_escaped(void)
{
    const struct {
        const char *in, *out;
    } cases[] = {
        {"cache\xc3(", "cache\\xc3("},                /* a lead byte without its tail */
        {"caf\xe9.c", "caf\\xe9.c"},                  /* Latin-1 */
        {"\x80x", "\\x80x"},                          /* a lone continuation byte */
        {"\xc0\x80", "\\xc0\\x80"},                   /* overlong NUL */
        {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},          /* overlong '/' */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* a surrogate */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* past U+10FFFF */
        {"\xf5\xff\xfe", "\\xf5\\xff\\xfe"},
        {"ok\xe2\x82", "ok\\xe2\\x82"},            /* cut at the end */
        {"\xe2\x82\xac\xe2", "\xe2\x82\xac\\xe2"}, /* valid, then cut */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[64];
        CHECK(text_of(cases[i].in, strlen(cases[i].in), buf, sizeof buf) == 0);
        CHECK_STR_EQ(buf, cases[i].out);
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
    TEST(test_invalid_bytes_are_escaped);
    TEST(test_every_byte_string_makes_a_string);
    TEST_EXIT();
}
