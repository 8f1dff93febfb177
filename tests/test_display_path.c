/*
 * tests/test_display_path.c -- how reports show file names
 * (src/analyze/display_path.c).
 */
#include "analyze/display_path.h"
#include "check.h"

#include <unistd.h>

static int shows(const char *path, const char *want)
{
    char buf[256];
    mp_display_path(path, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "  \"%s\" shows as \"%s\", want \"%s\"\n", path ? path : "(null)", buf,
                want);
    return strcmp(buf, want) == 0;
}

static void prefixes_are_trimmed(void)
{
    CHECK(mp_display_path_trim("/home/me/app:/usr/src/lib/") == 0);
    CHECK(shows("/home/me/app/src/cache.c", "src/cache.c"));
    CHECK(shows("/home/me/app/build/../src/cache.c", "src/cache.c"));
    CHECK(shows("/usr/src/lib/x.h", "x.h"));
    CHECK(shows("/home/me/apple/a.c", "/home/me/apple/a.c")); /* not under the prefix */
    CHECK(shows("/home/me/app", "/home/me/app"));             /* the prefix itself */
    CHECK(shows("/usr/include/stdio.h", "/usr/include/stdio.h"));
    CHECK(shows("/proc/self/cwd/src/a.c", "src/a.c")); /* bazel's, always */
    /* relative names lose what leads out of their unknown build directory */
    CHECK(shows("../examples/sessiond.c", "examples/sessiond.c"));
    CHECK(shows("../../x/./y.c", "x/y.c"));
    CHECK(shows("a.c", "a.c"));
    CHECK(shows("", ""));
    CHECK(shows(NULL, ""));
    /* "" trims nothing; "/" everything */
    CHECK(mp_display_path_trim("") == 0);
    CHECK(shows("/home/me/app/src/cache.c", "/home/me/app/src/cache.c"));
    CHECK(mp_display_path_trim("/") == 0);
    CHECK(shows("/home/me/app/src/cache.c", "home/me/app/src/cache.c"));
    CHECK(shows("/", "/"));
    /* relative entries are no prefixes */
    CHECK(mp_display_path_trim("rel/dir::/home/me") == 0);
    CHECK(shows("/home/me/a.c", "a.c"));
    CHECK(shows("rel/dir/a.c", "rel/dir/a.c"));
}

/* A build directory outside the source tree: the compiler was given the
 * sources relative to it, and a global's __FILE__ stays so without -g. */
static void relative_names_from_a_build_directory_elsewhere(void)
{
    CHECK(mp_display_path_trim("/work/main") == 0);
    CHECK(shows("../../work/main/tests/gate_heaps.c", "tests/gate_heaps.c")); /* /tmp/b */
    CHECK(shows("../../../work/main/a.c", "a.c"));                          /* deeper */
    CHECK(shows("../main/tests/gate_heaps.c", "tests/gate_heaps.c"));       /* /work/main-build */
    CHECK(shows("../main-old/a.c", "main-old/a.c")); /* a component, not a string prefix */
    CHECK(shows("../../work/main", "work/main"));    /* the prefix itself is no file */
    CHECK(shows("../other/a.c", "other/a.c"));
    CHECK(shows("work/main/a.c", "work/main/a.c")); /* it did not climb: nothing to guess */
    CHECK(shows("/elsewhere/work/main/a.c", "/elsewhere/work/main/a.c"));
    /* the longest tail of the first prefix that has one */
    CHECK(mp_display_path_trim("/srv/app/app:/x") == 0);
    CHECK(shows("../app/app/src/a.c", "src/a.c"));
    CHECK(shows("../app/src/a.c", "src/a.c"));
    CHECK(mp_display_path_trim("/x/lib:/y/lib/sub") == 0);
    CHECK(shows("../lib/sub/a.c", "sub/a.c"));
    CHECK(mp_display_path_trim("/") == 0);
    CHECK(shows("../../work/main/a.c", "work/main/a.c"));
    CHECK(mp_display_path_trim("") == 0);
    CHECK(shows("../../work/main/a.c", "work/main/a.c"));
}

static void the_default_is_the_current_directory(void)
{
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(mp_display_path_trim(NULL) == 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/sub/f.c", cwd);
    CHECK(shows(path, "sub/f.c"));
}

static void long_names_keep_their_end(void)
{
    CHECK(mp_display_path_trim("") == 0);
    char buf[16];
    mp_display_path("/a/very/long/directory/name/file.c", buf, sizeof buf);
    CHECK_STR_EQ(buf, ".../name/file.c"); /* 15 bytes and the NUL */
    mp_display_path("/x.c", buf, 2);
    CHECK_STR_EQ(buf, "c");
}

int main(void)
{
    TEST(prefixes_are_trimmed);
    TEST(relative_names_from_a_build_directory_elsewhere);
    TEST(the_default_is_the_current_directory);
    TEST(long_names_keep_their_end);
    TEST_EXIT();
}
