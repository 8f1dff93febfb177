/* src/analyze/prune.c -- see prune.h. */
#include "analyze/prune.h"

#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { TOUCHED = 1, REMOVED = 2 }; /* what the rule did to a location */

/* Compiles "^(re)$" (pprof anchors the expression so); false if it does not
 * compile or memory runs out. */
static bool compile_whole(regex_t *rx, const char *re)
{
    size_t n = strlen(re);
    char *anchored = malloc(n + 5);
    if (!anchored) return false;
    memcpy(anchored, "^(", 2);
    memcpy(anchored + 2, re, n);
    memcpy(anchored + 2 + n, ")$", 3);
    int rc = regcomp(rx, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    return rc == 0;
}

/* The name pprof matches: without a leading '.' (PPC ELFv1 descriptors) and
 * cut at the first '(' that does not open "(anonymous namespace)" or belong
 * to "operator()", i.e. without a C++ argument list. Written into buf, which
 * holds strlen(name) + 1 bytes. */
static const char *simplified(const char *name, char *buf)
{
    static const char *const reserved[] = {"(anonymous namespace)", "operator()"};
    if (*name == '.') name++;
    size_t j = 0, n = strlen(name);
    while (j < n) {
        size_t skip = 0;
        for (size_t r = 0; r < 2 && !skip; r++)
            if (strncmp(name + j, reserved[r], strlen(reserved[r])) == 0)
                skip = strlen(reserved[r]);
        if (skip) {
            j += skip;
            continue;
        }
        if (name[j] == '(') break;
        j++;
    }
    memcpy(buf, name, j);
    buf[j] = '\0';
    return buf;
}

/* True if function fi (index + 1) is one drop_frames asks to remove. */
static bool dropped(const mf_profile *p, uint32_t fi, const regex_t *drop, const regex_t *keep,
                    char *buf)
{
    if (!fi) return false;
    const char *name = mf_str(p, p->functions[fi - 1].name);
    if (!name[0]) return false;
    const char *s = simplified(name, buf);
    return regexec(drop, s, 0, NULL, 0) == 0 && !(keep && regexec(keep, s, 0, NULL, 0) == 0);
}

int mp_prune_frames(mf_profile *p, const char *name, const char *drop_re, const char *keep_re,
                    mf_error *err)
{
    if (!drop_re || !drop_re[0]) return 0;
    if (!keep_re) keep_re = "";
    regex_t drop, keep;
    if (!compile_whole(&drop, drop_re)) return 0;
    bool has_keep = keep_re[0] && compile_whole(&keep, keep_re);
    size_t longest = 0;
    for (size_t f = 0; f < p->n_functions; f++) {
        size_t n = strlen(mf_str(p, p->functions[f].name));
        if (n > longest) longest = n;
    }
    uint8_t *rule = calloc(p->n_locations + 1, 1);
    char *buf = malloc(longest + 1);
    int rc = -1;
    if (!rule || !buf) {
        mf_error_set(err, "%s: out of memory applying drop_frames", name);
        goto out;
    }

    /* Locations: the outermost matching line and everything inside it go. */
    for (size_t l = 0; l < p->n_locations; l++) {
        mf_location *loc = &p->locations[l];
        uint32_t i = loc->n_lines;
        while (i > 0 && !dropped(p, p->lines[loc->line_start + i - 1].function, &drop,
                                 has_keep ? &keep : NULL, buf))
            i--;
        if (i == 0) continue; /* no line matched */
        rule[l] = TOUCHED;
        if (i == loc->n_lines) {
            rule[l] |= REMOVED; /* its lines stay for stacks the cut spares */
        } else {
            loc->line_start += i;
            loc->n_lines -= i;
        }
    }
    /* Samples (leaf first): cut at the first touched location from the root
     * that has an untouched one above it. */
    for (size_t s = 0; s < p->n_samples; s++) {
        mf_sample *sm = &p->samples[s];
        bool below_user = false;
        for (uint32_t i = sm->n_locs; i-- > 0;) {
            uint8_t r = rule[p->locs[sm->loc_start + i]];
            if (!r) {
                below_user = true;
                continue;
            }
            if (!below_user) continue;
            uint32_t cut = (r & REMOVED) ? i + 1 : i;
            sm->loc_start += cut;
            sm->n_locs -= cut;
            break;
        }
    }
    rc = 0;
out:
    free(rule);
    free(buf);
    regfree(&drop);
    if (has_keep) regfree(&keep);
    return rc;
}
