/*
 * tests/test_gokey.c -- how Go map keys read from a heap dump are shown
 * (src/analyze/gokey.c): struct and array keys field by field by a layout
 * as gobinary.c builds it from the DWARF, strings from the memory a reader
 * finds, long renderings cut with the key's digest.
 */
#include "analyze/gobinary.h"
#include "analyze/gokey.h"
#include "check.h"

#include <stdio.h>

/* The fake program memory: one string at 0x1000. */
static const char heap_text[] = "al\"ice";

/* More of it at 0x2000: a string header (0x2000: "al\"ice"), an int
 * (0x2010: -7), an itab whose _type is int's (0x2018, _type at 0x2020). */
static uint8_t arena[48];

static const uint8_t *reader(const void *ud, uint64_t a, uint64_t n)
{
    (void)ud;
    if (a >= 0x1000 && a - 0x1000 + n <= sizeof heap_text - 1)
        return (const uint8_t *)heap_text + (a - 0x1000);
    if (a >= 0x2000 && a - 0x2000 + n <= sizeof arena) return arena + (a - 0x2000);
    return NULL;
}

/* The program's types by their runtime descriptors. */
static bool types(const void *ud, uint64_t rtype, uint8_t *kind, uint32_t *size,
                  const char **name)
{
    (void)ud;
    static const struct {
        uint64_t rtype;
        uint8_t kind;
        uint32_t size;
        const char *name;
    } known[] = {{0x500, MP_GOKIND_STRING, 16, "string"},
                 {0x600, MP_GOKIND_INT, 8, "int"},
                 {0x700, MP_GOKIND_STRUCT, 24, "main.T"},
                 {0x800, MP_GOKIND_PTR, 8, "*main.T"}};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i].rtype == rtype) {
            *kind = known[i].kind, *size = known[i].size, *name = known[i].name;
            return true;
        }
    return false;
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* Itabs the memory read does not hold (made by the runtime while the
 * program ran), as a dump's itab records give them. */
static uint64_t itab_types(const void *ud, uint64_t itab)
{
    (void)ud;
    return itab == 0x7000 ? 0x600 : itab == 0x7100 ? 0xa00 : 0;
}

/* Names of types the binary does not describe, as a dump's type records
 * give them. */
static bool type_names(const void *ud, uint64_t rtype, char *buf, size_t cap)
{
    (void)ud;
    if (rtype != 0xa00) return false;
    snprintf(buf, cap, "main.Runtime");
    return true;
}

/* struct { Name string; P *T; Tag struct { Zone int16; Hot bool }; Dims [3]uint8; F float64 } */
static const mp_gokeyfield layout[] = {
    {NULL, 0, 48, 5, MP_GOKIND_STRUCT},
    {"Name", 0, 16, 0, MP_GOKIND_STRING},
    {"P", 16, 8, 0, MP_GOKIND_PTR},
    {"Tag", 24, 4, 2, MP_GOKIND_STRUCT},
    {"Zone", 0, 2, 0, 4 /* int16 */},
    {"Hot", 2, 1, 0, MP_GOKIND_BOOL},
    {"Dims", 28, 3, 3, MP_GOKIND_ARRAY},
    {NULL, 0, 1, 0, 8 /* uint8 */},
    {"F", 40, 8, 0, MP_GOKIND_FLOAT64},
};

static size_t render(const mp_gokeyfield *f, uint32_t nf, const uint8_t *k, uint32_t size,
                     char *buf, size_t cap, bool *typed)
{
    mp_keytext t = {buf, cap, 0};
    mp_gokey_env env = {reader, types, itab_types, type_names, NULL, NULL};
    *typed = mp_keytext_typed(&t, f, nf, k, size, &env);
    if (!*typed) mp_keytext_hex(&t, k, size);
    return mp_keytext_end(&t);
}

static void structs_show_their_fields(void)
{
    uint8_t k[48] = {0};
    put64(k, 0x1000);
    put64(k + 8, 6);
    put64(k + 16, 0xc000123456);
    int16_t zone = -42;
    memcpy(k + 24, &zone, 2);
    k[26] = 1;
    k[28] = 1, k[29] = 2, k[30] = 255;
    double nan = __builtin_nan("");
    memcpy(k + 40, &nan, 8);
    char buf[512];
    bool typed;
    render(layout, 9, k, 48, buf, sizeof buf, &typed);
    CHECK(typed);
    CHECK_STR_EQ(buf,
                 "{Name:\"al\\\"ice\" P:0xc000123456 Tag:{Zone:-42 Hot:true} Dims:[1 2 255] F:NaN}");
    /* a string not in the memory read: its length and address; a nil pointer */
    put64(k, 0x9000);
    put64(k + 16, 0);
    double x = 2.5;
    memcpy(k + 40, &x, 8);
    render(layout, 9, k, 48, buf, sizeof buf, &typed);
    CHECK_STR_EQ(buf, "{Name:(string of 6 bytes at 0x9000) P:nil Tag:{Zone:-42 Hot:true} "
                      "Dims:[1 2 255] F:2.5}");
}

/* A layout that does not match the key's size, or whose fields overrun
 * their struct, is not used: the key shows as its bytes. */
static void layouts_that_do_not_fit_are_refused(void)
{
    uint8_t k[48] = {0xab};
    char buf[512];
    bool typed;
    render(layout, 9, k, 40, buf, sizeof buf, &typed);
    CHECK(!typed);
    CHECK(strncmp(buf, "0xab00", 6) == 0);
    mp_gokeyfield bad[9];
    memcpy(bad, layout, sizeof bad);
    bad[5].offset = 4; /* Hot past its 4-byte Tag */
    render(bad, 9, k, 48, buf, sizeof buf, &typed);
    CHECK(!typed);
    render(layout, 8, k, 48, buf, sizeof buf, &typed); /* a field missing */
    CHECK(!typed);
    mp_gokeyfield arr[2] = {{NULL, 0, 3, 2, MP_GOKIND_ARRAY}, {NULL, 0, 1, 0, 8}};
    render(arr, 2, k, 3, buf, sizeof buf, &typed); /* 3 bytes are not 2 elements */
    CHECK(!typed);
}

/* A rendering longer than a string key's may be is cut and marked with
 * the key's length and digest: keys alike at first still differ. */
static void long_keys_are_cut_with_their_digest(void)
{
    mp_gokeyfield f[2] = {{NULL, 0, 16, 16, MP_GOKIND_ARRAY}, {NULL, 0, 1, 0, 8}};
    uint8_t a[16], b[16];
    for (int i = 0; i < 16; i++) a[i] = b[i] = 200;
    b[15] = 201;
    /* 16 x "200 " is 64 characters: not cut */
    char ba[512], bb[512];
    bool typed;
    render(f, 2, a, 16, ba, sizeof ba, &typed);
    CHECK(typed && strlen(ba) == 2 + 16 * 4 - 1);
    /* 40 fields of 8-digit numbers: cut */
    mp_gokeyfield big[41];
    big[0] = (mp_gokeyfield){NULL, 0, 320, 40, MP_GOKIND_STRUCT};
    for (int i = 0; i < 40; i++) big[i + 1] = (mp_gokeyfield){"Field", 8u * i, 8, 0, 7};
    uint8_t ka[320], kb[320];
    for (int i = 0; i < 320; i++) ka[i] = kb[i] = 0x11;
    kb[319] = 0x12;
    size_t na = render(big, 41, ka, 320, ba, sizeof ba, &typed);
    CHECK(typed);
    render(big, 41, kb, 320, bb, sizeof bb, &typed);
    CHECK(strstr(ba, "... (320 bytes, #") != NULL);
    CHECK(na < 300 && strcmp(ba, bb) != 0 && strncmp(ba, bb, 200) == 0);
    /* a small buffer: cut to fit, always ended */
    char small[8];
    render(layout, 9, ka, 48, small, sizeof small, &typed);
    CHECK(strlen(small) == 7);
}

static const char *float_text(double d, bool single)
{
    static char buf[64];
    mp_gokeyfield f = {NULL, 0, single ? 4 : 8, 0, single ? MP_GOKIND_FLOAT32 : MP_GOKIND_FLOAT64};
    uint8_t k[8];
    float x = (float)d;
    if (single)
        memcpy(k, &x, 4);
    else
        memcpy(k, &d, 8);
    bool typed;
    render(&f, 1, k, f.size, buf, sizeof buf, &typed);
    return typed ? buf : "(untyped)";
}

/* Floats as Go's %v writes them: the shortest digits that read back, in
 * exponent form from 1e+06 and below 1e-04. */
static void floats_as_go_writes_them(void)
{
    CHECK_STR_EQ(float_text(0.1, false), "0.1");
    CHECK_STR_EQ(float_text(0.5, false), "0.5");
    CHECK_STR_EQ(float_text(100000, false), "100000");
    CHECK_STR_EQ(float_text(1e6, false), "1e+06");
    CHECK_STR_EQ(float_text(123456789.5, false), "1.234567895e+08");
    CHECK_STR_EQ(float_text(0.00001, false), "1e-05");
    CHECK_STR_EQ(float_text(0.0001, false), "0.0001");
    CHECK_STR_EQ(float_text(-2.25, false), "-2.25");
    CHECK_STR_EQ(float_text(1.0 / 3, false), "0.3333333333333333");
    CHECK_STR_EQ(float_text(-1.0 / 0.0, false), "-Inf");
    CHECK_STR_EQ(float_text(__builtin_nan(""), false), "NaN");
    CHECK_STR_EQ(float_text(0.1, true), "0.1"); /* a float32: its own shortest digits */
    mp_gokeyfield b = {NULL, 0, 1, 0, MP_GOKIND_BOOL};
    uint8_t one = 1, zero = 0;
    char buf[16];
    bool typed;
    render(&b, 1, &one, 1, buf, sizeof buf, &typed);
    CHECK_STR_EQ(buf, "true");
    render(&b, 1, &zero, 1, buf, sizeof buf, &typed);
    CHECK_STR_EQ(buf, "false");
}

static const char *iface_text(bool itab, uint64_t type_word, uint64_t data)
{
    static char buf[128];
    mp_gokeyfield f = {NULL, 0, 16, itab, MP_GOKIND_INTERFACE};
    uint8_t k[16];
    put64(k, type_word);
    put64(k + 8, data);
    bool typed;
    render(&f, 1, k, 16, buf, sizeof buf, &typed);
    return typed ? buf : "(untyped)";
}

/* Interface keys (sync.Map's, map[any]V) by their dynamic type: strings
 * and numbers read where the data word points, pointers as themselves. */
static void interfaces_show_their_dynamic_value(void)
{
    memset(arena, 0, sizeof arena);
    put64(arena, 0x1000);
    put64(arena + 8, 6);
    put64(arena + 16, (uint64_t)-7);
    put64(arena + 32, 0x600); /* the itab at 0x2018: its _type */
    CHECK_STR_EQ(iface_text(false, 0x500, 0x2000), "\"al\\\"ice\"");
    CHECK_STR_EQ(iface_text(false, 0x600, 0x2010), "-7");
    CHECK_STR_EQ(iface_text(true, 0x2018, 0x2010), "-7"); /* through the itab */
    CHECK_STR_EQ(iface_text(false, 0x800, 0xc000001000), "0xc000001000");
    CHECK_STR_EQ(iface_text(false, 0x700, 0xc000002000), "(main.T at 0xc000002000)");
    CHECK_STR_EQ(iface_text(false, 0x600, 0x9999), "(int at 0x9999)"); /* its value not held */
    CHECK_STR_EQ(iface_text(false, 0, 0), "nil");
    /* an itab the memory read does not hold: its type from the itab records */
    CHECK_STR_EQ(iface_text(true, 0x7000, 0x2010), "-7");
    /* a type known by its name alone */
    CHECK_STR_EQ(iface_text(true, 0x7100, 0x2010), "(main.Runtime at 0x2010)");
    /* a type nothing describes: said so, never the raw words */
    CHECK_STR_EQ(iface_text(false, 0x900, 0x2000), "(unknown type at 0x2000)");
    CHECK_STR_EQ(iface_text(true, 0x7200, 0x2010), "(unknown type at 0x2010)");
}

/* Whether types the binary does not describe are pointer-shaped, as a
 * dump's type records say (0xa00: main.Runtime, boxed; 0xb00: a pointer). */
static bool type_direct(const void *ud, uint64_t rtype, bool *direct)
{
    (void)ud;
    if (rtype != 0xa00 && rtype != 0xb00) return false;
    *direct = rtype == 0xb00;
    return true;
}

/* An interface key is a pointer only when its dynamic type is
 * pointer-shaped: a boxed string or int is not, and a type nothing
 * describes is not claimed either way. */
static void interface_dynamic_types_tell_pointers(void)
{
    mp_gokey_env env = {reader, types, itab_types, type_names, NULL, type_direct};
    uint8_t k[16] = {0};
    CHECK(mp_gokey_iface_dynamic(false, k, &env) == MP_GOKEY_DYN_NIL);
    put64(k + 8, 0x2000);
    put64(k, 0x500); /* interface{} holding a string */
    CHECK(mp_gokey_iface_dynamic(false, k, &env) == MP_GOKEY_DYN_VALUE);
    put64(k, 0x800); /* a *main.T */
    CHECK(mp_gokey_iface_dynamic(false, k, &env) == MP_GOKEY_DYN_POINTER);
    put64(k, 0xb00); /* a pointer type the dump's record alone describes */
    CHECK(mp_gokey_iface_dynamic(false, k, &env) == MP_GOKEY_DYN_POINTER);
    put64(k, 0x900); /* a type nothing describes */
    CHECK(mp_gokey_iface_dynamic(false, k, &env) == MP_GOKEY_DYN_UNKNOWN);
    /* itabs: one in memory (0x2018, its _type int's), runtime-made ones
     * known by the dump's records alone */
    put64(arena + 0x20, 0x600);
    put64(k, 0x2018);
    CHECK(mp_gokey_iface_dynamic(true, k, &env) == MP_GOKEY_DYN_VALUE);
    put64(k, 0x7100); /* main.Runtime: boxed, by its record */
    CHECK(mp_gokey_iface_dynamic(true, k, &env) == MP_GOKEY_DYN_VALUE);
    env.type_direct = NULL;
    CHECK(mp_gokey_iface_dynamic(true, k, &env) == MP_GOKEY_DYN_UNKNOWN);
}

int main(void)
{
    TEST(interface_dynamic_types_tell_pointers);
    TEST(interfaces_show_their_dynamic_value);
    TEST(floats_as_go_writes_them);
    TEST(structs_show_their_fields);
    TEST(layouts_that_do_not_fit_are_refused);
    TEST(long_keys_are_cut_with_their_digest);
    TEST_EXIT();
}
