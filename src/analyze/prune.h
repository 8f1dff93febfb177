/*
 * src/analyze/prune.h -- a profile's drop_frames and keep_frames, applied as
 * go tool pprof applies them when it loads a profile.
 *
 * A producer names, in drop_frames, the frames that are not the program's
 * (allocator internals: "malloc|operator new"); pprof removes each sample's
 * frames from the leaf up to the outermost such frame, so that the
 * allocation is charged to the code that asked for it. keep_frames exempts
 * frames drop_frames would match. The rules, pprof's exactly:
 *   - both are regular expressions matched against the whole function name,
 *     with any argument list cut off ("f(int)" is matched as "f");
 *   - in a location, the outermost line whose function matches drop (and not
 *     keep) and every line inside it are removed; a location whose outermost
 *     line matches is removed whole;
 *   - in a sample, scanning from the root, the first location touched by the
 *     rule after at least one untouched one cuts the stack there (the
 *     location itself goes when removed whole); a stack touched from its
 *     root on is left alone, so that no sample loses everything.
 * The expressions are POSIX extended ones here (pprof's are RE2): the
 * alternations and character classes producers write mean the same in both;
 * an expression that does not compile is ignored, as pprof ignores one.
 * pprof -diff_base applies the rules of the profile compared (not those of
 * the base) to both: callers pass the rules apart from the profile.
 */
#ifndef MP_PRUNE_H
#define MP_PRUNE_H

#include "format/pprof.h"

/* Applies the rules drop and keep (NULL or "": none) to p in place:
 * locations lose lines, samples lose leaf locations. Does nothing when drop
 * is empty or does not compile. Returns 0, or -1 with err set (naming the
 * file `name`) when out of memory, p then unchanged. */
int mp_prune_frames(mf_profile *p, const char *name, const char *drop, const char *keep,
                    mf_error *err);

#endif
