/*
 * tests/test_json_stream.c -- a JSON report written as it is made has the
 * bytes jansson writes for the whole tree, objects within arrays written
 * member by member included.
 */
#include "analyze/json_stream.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

/* What the stream wrote into f, as a string (the caller frees it). */
static char *contents(FILE *f)
{
    long n = ftell(f);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) return NULL;
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    return s;
}

/* f (closed here) holds the text jansson writes for whole (released here)
 * with JSON_INDENT(2) | JSON_PRESERVE_ORDER, and one newline after it. */
static void check_wrote_whole(FILE *f, json_t *whole)
{
    char *want = json_dumps(whole, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *got = contents(f);
    CHECK(want != NULL && got != NULL);
    size_t wl = strlen(want);
    CHECK(strlen(got) == wl + 1 && got[wl] == '\n');
    got[wl] = 0;
    CHECK(strcmp(got, want) == 0);
    free(want);
    free(got);
    json_decref(whole);
    fclose(f);
}

/* {"n": 1, "maps": [{"i": 0, "e": [{"k": 0}, {"k": 1}]}, {"i": 1, "e": []}], "z": {}}
 * written with each map an object opened in the array and its entries one
 * by one, then dumped whole by jansson: the same text. */
static void test_an_object_opened_in_an_array_writes_what_jansson_does(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    mp_jstream js;
    mp_js_begin(&js, f);
    mp_js_member(&js, "n", json_integer(1));
    mp_js_open_array(&js, "maps");
    json_t *whole = json_pack("{s:i}", "n", 1), *maps = json_array();
    for (int i = 0; i < 2; i++) {
        mp_js_open_object(&js);
        mp_js_member(&js, "i", json_integer(i));
        mp_js_open_array(&js, "e");
        json_t *m = json_pack("{s:i}", "i", i), *e = json_array();
        for (int k = 0; k < 2 - 2 * i; k++) {
            mp_js_element(&js, json_pack("{s:i}", "k", k));
            json_array_append_new(e, json_pack("{s:i}", "k", k));
        }
        mp_js_close(&js);
        mp_js_close(&js);
        json_object_set_new(m, "e", e);
        json_array_append_new(maps, m);
    }
    mp_js_close(&js);
    mp_js_member(&js, "z", json_object());
    CHECK(mp_js_end(&js) == 0);
    json_object_set_new(whole, "maps", maps);
    json_object_set_new(whole, "z", json_object());
    check_wrote_whole(f, whole);
}

/* Values dumped whole whose text is longer than the writer gathers at
 * once: a string of 40,000 characters (and one with escapes), an element
 * of 3,000 lines, written three levels down: the same text as jansson's
 * for the whole tree, every line indented where it should be. */
static void test_values_longer_than_a_write_keep_their_indent(void)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    char *big = malloc(40001), *esc = malloc(40001);
    CHECK(big != NULL && esc != NULL);
    for (int i = 0; i < 40000; i++) {
        big[i] = (char)('a' + i % 26);
        esc[i] = i % 7 == 0 ? '\n' : i % 11 == 0 ? '"' : 'x';
    }
    big[40000] = esc[40000] = 0;
    json_t *whole = json_object(), *maps = json_array(), *m = json_object(), *e = json_array();
    mp_jstream js;
    mp_js_begin(&js, f);
    mp_js_open_array(&js, "maps");
    mp_js_open_object(&js);
    mp_js_open_array(&js, "e");
    for (int k = 0; k < 4; k++) {
        json_t *v = json_array();
        for (int i = 0; i < (k == 1 ? 3000 : 2); i++)
            json_array_append_new(v, json_pack("{s:i,s:s}", "i", i, "s", k == 2 ? big : esc));
        mp_js_element(&js, json_deep_copy(v));
        json_array_append_new(e, v);
    }
    mp_js_close(&js);
    mp_js_close(&js);
    mp_js_close(&js);
    CHECK(mp_js_end(&js) == 0);
    json_object_set_new(m, "e", e);
    json_array_append_new(maps, m);
    json_object_set_new(whole, "maps", maps);
    check_wrote_whole(f, whole);
    free(big);
    free(esc);
}

int main(void)
{
    TEST(test_an_object_opened_in_an_array_writes_what_jansson_does);
    TEST(test_values_longer_than_a_write_keep_their_indent);
    TEST_EXIT();
}
