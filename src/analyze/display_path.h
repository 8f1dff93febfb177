/*
 * src/analyze/display_path.h -- how reports show source file names.
 *
 * Profiles and snapshots carry file names as their producer wrote them:
 * maproot's collector writes absolute names (made so with the compilation
 * directory that DWARF records), except the file of a global in a program
 * built without debug information, which stays as the compiler was given
 * it, relative to a build directory nobody knows any more. Reports show
 * every name in one shorter form, the same in text, JSON, pprof and dot
 * output, like pprof's -trim_path:
 *   - the name is cleaned lexically ("a/./b/../c.c" is "a/c.c");
 *   - an absolute name loses the first trim prefix it lies under (default:
 *     the current directory, so that run in a project's top directory
 *     "/home/me/app/src/cache.c" shows as "src/cache.c"), and
 *     "/proc/self/cwd/" (bazel's builds) in any case;
 *   - a relative name loses its leading ".." components: they lead out of
 *     that unknown build directory ("../examples/a.c" is "examples/a.c");
 *     when the name then goes down through the last components of a trim
 *     prefix, it is taken to lie under that prefix and loses them too: a
 *     build directory at /tmp/b or /work/app-build for sources in
 *     /work/app gives "../../work/app/src/a.c" or "../app/src/a.c", and
 *     with the prefix /work/app both show as "src/a.c".
 *
 * State: one process-wide list of prefixes, set before reports are made
 * (not thread-safe to set while reports run).
 */
#ifndef MP_DISPLAY_PATH_H
#define MP_DISPLAY_PATH_H

#include <stddef.h>

/*
 * Sets the trim prefixes: a colon-separated list of absolute directories
 * ("" trims nothing; NULL restores the default, the current directory).
 * Relative entries and empty ones are ignored. Returns 0, or -1 when out of
 * memory (the previous list stays).
 */
int mp_display_path_trim(const char *prefixes);

/*
 * The display form of `path` in buf (size > 0), NUL-terminated; a form
 * longer than buf keeps its end, after "...". "" for NULL or "". Returns
 * buf.
 */
const char *mp_display_path(const char *path, char *buf, size_t size);

#endif
