/*
 * src/format/names.h -- source file and function names as profiles and
 * snapshots carry them.
 *
 * The collector writes names it gets from DWARF and ELF symbol tables; the
 * CLI reads names written by any producer. Both clean them the same way:
 *   - file names lexically ("/src/build/../examples/a.c" is
 *     "/src/examples/a.c"), so that one file has one name;
 *   - function names from symbol tables lose the suffixes compilers give to
 *     the copies they make of a function ("new_session.constprop.0",
 *     "main.cold", "f.isra.0.part.0"), so that a function is named as its
 *     author wrote it whatever the optimizer did.
 *
 * Both work in place (the result is never longer than the input), never read
 * past the terminating NUL and accept any bytes.
 */
#ifndef MF_NAMES_H
#define MF_NAMES_H

#include <stdbool.h>

/*
 * Cleans a path lexically, in place: removes "." components, repeated and
 * trailing slashes, and "x/.." pairs; ".." at the start of an absolute path
 * is dropped ("/.." is "/"), at the start of a relative one kept. A fully
 * cancelled relative path becomes "."; an empty one stays empty (the result
 * is never longer than the path). Like Go's path.Clean otherwise.
 */
void mf_path_clean(char *path);

/*
 * Removes the clone suffixes of GCC and Clang from a symbol name, in place:
 * any run of ".constprop", ".isra", ".part", ".cold", ".lto_priv",
 * ".localalias", ".clone", ".llvm", ".specialized" at the end, each
 * optionally followed by ".N" (digits). A name that is nothing but such a
 * suffix is left alone. Returns whether anything was removed.
 */
bool mf_function_name_clean(char *name);

/*
 * Orders texts as people count (map keys in a report's sample): runs of
 * digits compare as numbers ("user-9" before "user-10"; leading zeros do
 * not count, a sign is a byte like any other), everything else byte by
 * byte. Like strcmp, negative, zero or positive.
 */
int mf_text_cmp_natural(const char *a, const char *b);

/*
 * The last component of a path: what follows its last '/', or the path
 * itself when it has none ("/usr/bin/app" is "app", "app" is "app"). Empty
 * when the path ends in '/'. Points into path; nothing is cleaned.
 */
const char *mf_path_base(const char *path);

#endif
