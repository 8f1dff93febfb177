/* src/analyze/gate_policy.c -- see gate_policy.h. */
#include "analyze/gate_policy.h"

#include "analyze/findings.h"
#include "analyze/json_pos.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const rule_names[MP_RULE_COUNT] = {"growth", "suspect", "heap", "cap", "spread"};
static const char *const scope_names[] = {"map", "root", "type"};

const char *mp_gate_rule_name(unsigned rule)
{
    return rule < MP_RULE_COUNT ? rule_names[rule] : "?";
}

const char *mp_cap_scope_name(unsigned scope)
{
    return scope < 3 ? scope_names[scope] : "?";
}

/* The classic matcher with one backtrack point: on a mismatch after a '*',
 * the star takes one more character. Linear in practice, never recursive. */
bool mp_glob(const char *pattern, const char *s)
{
    const char *p = pattern, *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*') p++;
    return *p == 0;
}

int mp_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *name;
        double mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"K", 1024.0},
        {"KB", 1024.0},
        {"KiB", 1024.0},
        {"M", 1048576.0},
        {"MB", 1048576.0},
        {"MiB", 1048576.0},
        {"G", 1073741824.0},
        {"GB", 1073741824.0},
        {"GiB", 1073741824.0},
        {"T", 1099511627776.0},
        {"TB", 1099511627776.0},
        {"TiB", 1099511627776.0},
    };
    const char *p = s;
    if (!(*p >= '0' && *p <= '9')) return -1;
    double v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    if (*p == '.') {
        double scale = 0.1;
        if (!(p[1] >= '0' && p[1] <= '9')) return -1;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) v += (*p - '0') * scale;
    }
    if (*p == ' ') p++;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcmp(p, units[i].name) == 0) {
            double b = v * units[i].mult;
            if (!(b < 1.8e19)) return -1;
            *out = (uint64_t)(b + 0.5);
            return 0;
        }
    return -1;
}

int mp_read_text_file(const char *path, size_t max, char **out, size_t *len, mf_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mf_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    for (;;) {
        if (!b) {
            close(fd);
            mf_error_set(err, "%s: out of memory", path);
            return -1;
        }
        if (n == cap) {
            if (cap >= max) {
                free(b);
                close(fd);
                mf_error_set(err, "%s: larger than %zu bytes", path, max);
                return -1;
            }
            cap = cap * 2 < max ? cap * 2 : max;
            char *nb = realloc(b, cap + 1);
            if (!nb) free(b);
            b = nb;
            continue;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            mf_error_set(err, "%s: read error: %s", path, strerror(errno));
            free(b);
            close(fd);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

void mp_gate_policy_default(mp_gate_policy *p)
{
    memset(p, 0, sizeof *p);
    p->growth = true;
    p->k = 3;
    p->n = 4;
    p->min_entries = 1000;
    p->min_bytes = 1u << 20;
    p->min_maps = 100;
    p->spread = true;
    p->spread_min_maps = 2;
    p->spread_min_entries = p->min_entries;
    p->spread_min_bytes = p->min_bytes;
    p->suspect = true;
    p->evidence = MP_EV_EMPTIED | MP_EV_ITERATOR_ONLY | MP_EV_OLD_BUCKETS | MP_EV_POINTER_KEYS |
                  MP_EV_STACK_FRAME;
    p->heap = false;
    p->heap_max_growth = MP_NO_LIMIT;
    p->heap_max_growth_pct = -1;
    p->baseline_tolerance_pct = 10;
}

void mp_gate_policy_free(mp_gate_policy *p)
{
    free(p->file);
    for (size_t i = 0; i < p->ncaps; i++) free(p->caps[i].pattern);
    free(p->caps);
    for (size_t i = 0; i < p->nsups; i++) {
        mp_gate_suppression *s = &p->sups[i];
        free(s->root);
        free(s->map);
        free(s->function);
        free(s->file);
        free(s->reason);
    }
    free(p->sups);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------ checking --- */

/* What the checks share: the file's name, where its values are, and the
 * first error. */
typedef struct vctx {
    const char *name;
    const mp_json_pos *pos;
    mf_error *err;
} vctx;

/* The line of path, else of the nearest enclosing value that has one. */
static int line_of(const vctx *v, const char *path)
{
    char p[512];
    snprintf(p, sizeof p, "%s", path);
    for (;;) {
        int l = mp_json_pos_line(v->pos, p);
        if (l || !*p) return l;
        char *dot = strrchr(p, '.'), *br = strrchr(p, '[');
        char *cut = dot > br ? dot : br;
        if (!cut) cut = p;
        *cut = 0;
    }
}

/* Sets the error "NAME:LINE: PATH: message"; returns -1. */
static int bad(const vctx *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(const vctx *v, const char *path, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = line_of(v, path);
    char at[32] = "";
    if (line) snprintf(at, sizeof at, "%d:", line);
    mf_error_set(v->err, "%s:%s %s%s%s", v->name, at, path, *path ? ": " : "", msg);
    return -1;
}

/* A value as the file shows it, shortened, for messages. */
static void shown(const json_t *j, char *buf, size_t size)
{
    char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(buf, size, "(a value)");
        return;
    }
    if (strlen(s) > 40)
        snprintf(buf, size, "%.37s...", s);
    else
        snprintf(buf, size, "%s", s);
    free(s);
}

static const char *kind_of(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "a whole number";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true or false";
    default:
        return "null";
    }
}

static void member_path(char *out, size_t size, const char *parent, const char *key)
{
    snprintf(out, size, "%s%s%s", parent, *parent ? "." : "", key);
}

/* Every key of obj must be one of allowed (NULL-terminated). */
static int check_keys(const vctx *v, json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
        if (ok) continue;
        char known[300] = "", p[512];
        for (size_t i = 0; allowed[i]; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     allowed[i]);
        member_path(p, sizeof p, path, key);
        return bad(v, p, "unknown key (%s takes %s)", *path ? path : "the policy", known);
    }
    return 0;
}

/* A whole number in [min, max] at obj.key, if present (*out untouched
 * otherwise). */
static int get_uint(const vctx *v, json_t *obj, const char *path, const char *key, uint64_t min,
                    uint64_t max, uint64_t *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j) return 0;
    char p[512], s[64];
    member_path(p, sizeof p, path, key);
    json_int_t x = json_is_integer(j) ? json_integer_value(j) : -1;
    if (!json_is_integer(j) || x < 0 || (uint64_t)x < min || (uint64_t)x > max) {
        shown(j, s, sizeof s);
        return bad(v, p, "must be a whole number from %" PRIu64 " to %" PRIu64 ", not %s", min, max,
                   s);
    }
    *out = (uint64_t)x;
    return 0;
}

static int get_size(const vctx *v, json_t *obj, const char *path, const char *key, uint64_t *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j) return 0;
    char p[512], s[64];
    member_path(p, sizeof p, path, key);
    if (json_is_integer(j) && json_integer_value(j) >= 0) {
        *out = (uint64_t)json_integer_value(j);
        return 0;
    }
    if (json_is_string(j) && mp_parse_size(json_string_value(j), out) == 0) return 0;
    shown(j, s, sizeof s);
    return bad(v, p,
               "must be a size in bytes: a whole number or a string such as \"64MiB\", not %s", s);
}

static int get_number(const vctx *v, json_t *obj, const char *path, const char *key, double min,
                      double max, double *out)
{
    json_t *j = json_object_get(obj, key);
    if (!j) return 0;
    char p[512], s[64];
    member_path(p, sizeof p, path, key);
    double x = json_number_value(j);
    if (!json_is_number(j) || !(x >= min && x <= max)) {
        shown(j, s, sizeof s);
        return bad(v, p, "must be a number from %g to %g, not %s", min, max, s);
    }
    *out = x;
    return 0;
}

/* A non-empty string at obj.key, copied to *out (NULL when absent). */
/* A string member (NULL when absent); empty_ok: "" is a value too (a map's
 * way), else it is refused like any other non-string. */
static int get_text(const vctx *v, json_t *obj, const char *path, const char *key, bool empty_ok,
                    char **out)
{
    json_t *j = json_object_get(obj, key);
    *out = NULL;
    if (!j) return 0;
    char p[512], s[64];
    member_path(p, sizeof p, path, key);
    if (!json_is_string(j) || (json_string_length(j) == 0 && !empty_ok) ||
        strlen(json_string_value(j)) != json_string_length(j)) {
        shown(j, s, sizeof s);
        return bad(v, p, "must be a %sstring (without NUL), not %s", empty_ok ? "" : "non-empty ",
                   s);
    }
    if (!(*out = strdup(json_string_value(j)))) {
        mf_error_set(v->err, "%s: out of memory", v->name);
        return -1;
    }
    return 0;
}

static int get_string(const vctx *v, json_t *obj, const char *path, const char *key, char **out)
{
    return get_text(v, obj, path, key, false, out);
}

/* A rule's section: true (its defaults), false (off) or an object of its
 * settings. *on is set; *settings is the object or NULL. */
static int get_section(const vctx *v, json_t *top, const char *key, bool *on, json_t **settings)
{
    json_t *j = json_object_get(top, key);
    *settings = NULL;
    if (!j) return 0;
    if (json_is_boolean(j)) {
        *on = json_is_true(j);
        return 0;
    }
    if (!json_is_object(j))
        return bad(v, key, "must be true, false or an object of settings, not %s", kind_of(j));
    *on = true;
    *settings = j;
    return 0;
}

static int parse_growth(const vctx *v, json_t *g, mp_gate_policy *p)
{
    static const char *const keys[] = {"k", "n", "min_entries", "min_bytes", "min_maps", NULL};
    uint64_t k = p->k, n = p->n;
    if (check_keys(v, g, "growth", keys) || get_uint(v, g, "growth", "k", 1, 1000, &k) ||
        get_uint(v, g, "growth", "n", 1, 1000, &n) ||
        get_uint(v, g, "growth", "min_entries", 0, UINT64_MAX, &p->min_entries) ||
        get_size(v, g, "growth", "min_bytes", &p->min_bytes) ||
        get_uint(v, g, "growth", "min_maps", 0, UINT64_MAX, &p->min_maps))
        return -1;
    if (k > n)
        return bad(v, json_object_get(g, "k") ? "growth.k" : "growth.n",
                   "k (%" PRIu64 ") must not be more than n (%" PRIu64 "): a map grows in at "
                   "least k of its last n intervals",
                   k, n);
    p->k = (uint32_t)k;
    p->n = (uint32_t)n;
    return 0;
}

/* The spread rule's settings; its minimums of entries and bytes are the
 * growth rule's (already read) unless it names its own. */
static int parse_spread(const vctx *v, json_t *s, mp_gate_policy *p)
{
    static const char *const keys[] = {"min_maps", "min_entries", "min_bytes", NULL};
    if (check_keys(v, s, "spread", keys) ||
        get_uint(v, s, "spread", "min_maps", 1, UINT64_MAX, &p->spread_min_maps) ||
        get_uint(v, s, "spread", "min_entries", 0, UINT64_MAX, &p->spread_min_entries) ||
        get_size(v, s, "spread", "min_bytes", &p->spread_min_bytes))
        return -1;
    return 0;
}

static int parse_suspect(const vctx *v, json_t *s, mp_gate_policy *p)
{
    static const char *const keys[] = {"evidence", NULL};
    if (check_keys(v, s, "suspect", keys)) return -1;
    json_t *ev = json_object_get(s, "evidence");
    if (!ev) return 0;
    if (!json_is_array(ev) || json_array_size(ev) == 0)
        return bad(v, "suspect.evidence",
                   "must be a non-empty array of kinds of evidence, not %s%s",
                   json_is_array(ev) ? "an empty one" : kind_of(ev), "");
    p->evidence = 0;
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        char path[64], s2[64];
        snprintf(path, sizeof path, "suspect.evidence[%zu]", i);
        unsigned bit = MP_EV_COUNT;
        for (unsigned b = 0; b < MP_EV_COUNT && json_is_string(e); b++)
            if ((1u << b) & MP_GATE_EVIDENCE_ALLOWED &&
                strcmp(json_string_value(e), mp_evidence_name(b)) == 0)
                bit = b;
        if (bit == MP_EV_COUNT) {
            char known[200] = "";
            for (unsigned b = 0; b < MP_EV_COUNT; b++)
                if ((1u << b) & MP_GATE_EVIDENCE_ALLOWED)
                    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                             *known ? ", " : "", mp_evidence_name(b));
            shown(e, s2, sizeof s2);
            return bad(v, path, "unknown kind of evidence %s (known: %s)", s2, known);
        }
        p->evidence |= 1u << bit;
    }
    return 0;
}

static int parse_heap(const vctx *v, json_t *h, mp_gate_policy *p)
{
    static const char *const keys[] = {"max_growth", "max_growth_percent", NULL};
    if (!h) return bad(v, "heap", "true says nothing: give max_growth or max_growth_percent");
    if (check_keys(v, h, "heap", keys) ||
        get_size(v, h, "heap", "max_growth", &p->heap_max_growth) ||
        get_number(v, h, "heap", "max_growth_percent", 0, 1e9, &p->heap_max_growth_pct))
        return -1;
    if (p->heap_max_growth == MP_NO_LIMIT && p->heap_max_growth_pct < 0)
        return bad(v, "heap",
                   "give max_growth or max_growth_percent (or turn the rule off: false)");
    return 0;
}

static int parse_caps(const vctx *v, json_t *caps, mp_gate_policy *p)
{
    static const char *const keys[] = {"map",          "root",        "type",      "max_entries",
                                       "max_retained", "max_objects", "max_bytes", NULL};
    if (!json_is_array(caps)) return bad(v, "caps", "must be an array, not %s", kind_of(caps));
    size_t n = json_array_size(caps);
    if (!(p->caps = calloc(n ? n : 1, sizeof *p->caps))) {
        mf_error_set(v->err, "%s: out of memory", v->name);
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(caps, i, c)
    {
        char path[64], lim[512];
        snprintf(path, sizeof path, "caps[%zu]", i);
        if (!json_is_object(c)) return bad(v, path, "must be an object, not %s", kind_of(c));
        if (check_keys(v, c, path, keys)) return -1;
        mp_gate_cap *cap = &p->caps[p->ncaps++];
        cap->max_count = cap->max_bytes = MP_NO_LIMIT;
        cap->line = line_of(v, path);
        int scopes = 0;
        for (unsigned s = 0; s < 3; s++) {
            char *pat;
            if (get_string(v, c, path, scope_names[s], &pat)) return -1;
            if (!pat) continue;
            scopes++;
            if (cap->pattern) {
                free(pat);
                return bad(v, path,
                           "names both %s and %s: a cap is of one map type, one root or "
                           "one object type",
                           scope_names[cap->scope], scope_names[s]);
            }
            cap->pattern = pat;
            cap->scope = (uint8_t)s;
        }
        if (!scopes) return bad(v, path, "names no \"map\", \"root\" or \"type\" to cap");
        bool of_type = cap->scope == MP_CAP_TYPE;
        const char *count_key = of_type ? "max_objects" : "max_entries";
        const char *bytes_key = of_type ? "max_bytes" : "max_retained";
        const char *wrong[2] = {of_type ? "max_entries" : "max_objects",
                                of_type ? "max_retained" : "max_bytes"};
        for (int w = 0; w < 2; w++)
            if (json_object_get(c, wrong[w])) {
                member_path(lim, sizeof lim, path, wrong[w]);
                return bad(v, lim, "is not a limit of a %s cap (it takes %s and %s)",
                           scope_names[cap->scope], count_key, bytes_key);
            }
        if (get_uint(v, c, path, count_key, 0, UINT64_MAX - 1, &cap->max_count) ||
            get_size(v, c, path, bytes_key, &cap->max_bytes))
            return -1;
        if (cap->max_count == MP_NO_LIMIT && cap->max_bytes == MP_NO_LIMIT)
            return bad(v, path, "has no limit: give %s or %s", count_key, bytes_key);
    }
    return 0;
}

static int parse_rules(const vctx *v, json_t *r, const char *path, unsigned *out)
{
    if (!json_is_array(r) || json_array_size(r) == 0)
        return bad(v, path, "must be a non-empty array of rule names (growth, suspect, cap)");
    *out = 0;
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e)
    {
        char p[512], s[64];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        const char *name = json_is_string(e) ? json_string_value(e) : "";
        if (strcmp(name, "heap") == 0 || strcmp(name, "spread") == 0)
            return bad(v, p, "the %s rule is about no one map: raise its %s or turn it off", name,
                       *name == 'h' ? "limit" : "minimums");
        unsigned rule = MP_RULE_COUNT;
        for (unsigned k = 0; k < MP_RULE_COUNT; k++)
            if (strcmp(name, rule_names[k]) == 0) rule = k;
        if (rule == MP_RULE_COUNT) {
            shown(e, s, sizeof s);
            return bad(v, p, "unknown rule %s (growth, suspect or cap)", s);
        }
        *out |= 1u << rule;
    }
    return 0;
}

static int parse_suppressions(const vctx *v, json_t *sups, mp_gate_policy *p)
{
    static const char *const keys[] = {"root", "map", "function", "file", "reason", "rules", NULL};
    if (!json_is_array(sups))
        return bad(v, "suppressions", "must be an array, not %s", kind_of(sups));
    size_t n = json_array_size(sups);
    if (!(p->sups = calloc(n ? n : 1, sizeof *p->sups))) {
        mf_error_set(v->err, "%s: out of memory", v->name);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(sups, i, e)
    {
        char path[64];
        snprintf(path, sizeof path, "suppressions[%zu]", i);
        if (!json_is_object(e)) return bad(v, path, "must be an object, not %s", kind_of(e));
        if (check_keys(v, e, path, keys)) return -1;
        mp_gate_suppression *s = &p->sups[p->nsups++];
        s->line = line_of(v, path);
        s->rules = (1u << MP_RULE_GROWTH) | (1u << MP_RULE_SUSPECT) | (1u << MP_RULE_CAP);
        if (get_string(v, e, path, "root", &s->root) || get_string(v, e, path, "map", &s->map) ||
            get_string(v, e, path, "function", &s->function) ||
            get_string(v, e, path, "file", &s->file) ||
            get_string(v, e, path, "reason", &s->reason))
            return -1;
        if (!s->root && !s->map && !s->function && !s->file)
            return bad(v, path, "matches no map: give root, map, function or file (globs)");
        if (!s->reason) return bad(v, path, "has no \"reason\": say why this leak is accepted");
        json_t *r = json_object_get(e, "rules");
        char rp[96];
        snprintf(rp, sizeof rp, "%s.rules", path);
        if (r && parse_rules(v, r, rp, &s->rules)) return -1;
    }
    return 0;
}

static int parse_top(const vctx *v, json_t *top, mp_gate_policy *p)
{
    static const char *const keys[] = {"version", "warmup", "growth",       "spread",   "suspect",
                                       "heap",    "caps",   "suppressions", "baseline", NULL};
    if (!json_is_object(top)) return bad(v, "", "a policy is a JSON object, not %s", kind_of(top));
    if (check_keys(v, top, "", keys)) return -1;
    uint64_t version = 1;
    if (get_uint(v, top, "", "version", 0, UINT64_MAX, &version)) return -1;
    if (version != 1)
        return bad(v, "version", "this maproot reads policies of version 1, not %" PRIu64, version);
    if (get_uint(v, top, "", "warmup", 0, UINT32_MAX, &p->warmup)) return -1;
    json_t *s;
    if (get_section(v, top, "growth", &p->growth, &s) || (s && parse_growth(v, s, p))) return -1;
    p->spread_min_entries = p->min_entries;
    p->spread_min_bytes = p->min_bytes;
    if (get_section(v, top, "spread", &p->spread, &s) || (s && parse_spread(v, s, p))) return -1;
    if (get_section(v, top, "suspect", &p->suspect, &s) || (s && parse_suspect(v, s, p))) return -1;
    if (get_section(v, top, "heap", &p->heap, &s)) return -1;
    if (p->heap && parse_heap(v, s, p)) return -1;
    json_t *caps = json_object_get(top, "caps"), *sups = json_object_get(top, "suppressions");
    if (caps && parse_caps(v, caps, p)) return -1;
    if (sups && parse_suppressions(v, sups, p)) return -1;
    json_t *b = json_object_get(top, "baseline");
    if (b) {
        static const char *const bkeys[] = {"tolerance_percent", NULL};
        if (!json_is_object(b)) return bad(v, "baseline", "must be an object, not %s", kind_of(b));
        if (check_keys(v, b, "baseline", bkeys) ||
            get_number(v, b, "baseline", "tolerance_percent", 0, 1e6, &p->baseline_tolerance_pct))
            return -1;
    }
    return 0;
}

/* Parses a document and indexes where its values are; -1 with err set
 * (invalid JSON names its line and column). */
static int load_doc(const char *text, size_t len, const char *name, json_t **top, mp_json_pos **pos,
                    mf_error *err)
{
    json_error_t je;
    if (!(*top = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je))) {
        mf_error_set(err, "%s:%d: not valid JSON: %s (column %d)", name, je.line, je.text,
                     je.column);
        return -1;
    }
    if (!(*pos = mp_json_pos_index(text, len))) {
        json_decref(*top);
        mf_error_set(err, "%s: out of memory", name);
        return -1;
    }
    return 0;
}

int mp_gate_policy_parse(const char *text, size_t len, const char *name, mp_gate_policy *out,
                         mf_error *err)
{
    mp_gate_policy_default(out);
    json_t *top;
    mp_json_pos *pos;
    if (load_doc(text, len, name, &top, &pos, err)) return -1;
    vctx v = {name, pos, err};
    int rc = -1;
    if (parse_top(&v, top, out) == 0) { /* else err says why */
        if ((out->file = strdup(name)))
            rc = 0;
        else
            mf_error_set(err, "%s: out of memory", name);
    }
    json_decref(top);
    mp_json_pos_free(pos);
    if (rc) mp_gate_policy_free(out);
    return rc;
}

int mp_gate_policy_read(const char *path, mp_gate_policy *out, mf_error *err)
{
    char *text;
    size_t len;
    if (mp_read_text_file(path, 16u << 20, &text, &len, err)) return -1;
    int rc = mp_gate_policy_parse(text, len, path, out, err);
    free(text);
    return rc;
}

/* ------------------------------------------------------------ baseline --- */

void mp_gate_baseline_free(mp_gate_baseline *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].name);
        free(b->v[i].holder);
        free(b->v[i].way);
    }
    free(b->v);
    free(b->file);
    memset(b, 0, sizeof *b);
}

/* One array of a baseline: its elements' keys, which name the subject
 * (name_key, holder_key, and for a map of version 2 "way") and which give
 * its figures. */
typedef struct base_list {
    const char *key;
    uint8_t kind;
    const char *name_key, *holder_key, *count_key, *bytes_key;
} base_list;

static int parse_base_list(const vctx *v, json_t *arr, const base_list *l, mp_gate_baseline *b)
{
    /* groups came with ways: a baseline of version 1 rewritten by hand
     * keeps them */
    bool ways = (l->kind == MP_BASE_MAP && b->version >= 2) || l->kind == MP_BASE_GROUP;
    if (!json_is_array(arr)) return bad(v, l->key, "must be an array, not %s", kind_of(arr));
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", l->key, i);
        const char *keys[] = {l->name_key,
                              l->count_key,
                              l->bytes_key,
                              l->holder_key,
                              l->holder_key ? "ordinal" : NULL,
                              ways ? "way" : NULL,
                              NULL};
        if (!json_is_object(e)) return bad(v, path, "must be an object, not %s", kind_of(e));
        if (check_keys(v, e, path, keys)) return -1;
        mp_gate_base_entry *x = &b->v[b->n++];
        uint64_t ord = 0;
        x->kind = l->kind;
        if (get_string(v, e, path, l->name_key, &x->name) ||
            (l->holder_key && get_string(v, e, path, l->holder_key, &x->holder)) ||
            (l->holder_key && get_uint(v, e, path, "ordinal", 0, UINT32_MAX, &ord)) ||
            (ways && get_text(v, e, path, "way", true, &x->way)) ||
            get_uint(v, e, path, l->count_key, 0, UINT64_MAX, &x->count) ||
            get_uint(v, e, path, l->bytes_key, 0, UINT64_MAX, &x->bytes))
            return -1;
        x->ordinal = (uint32_t)ord;
        if (!x->name || (l->holder_key && !x->holder) || (ways && !x->way))
            return bad(v, path, "needs \"%s\"%s%s%s%s", l->name_key,
                       l->holder_key ? (ways ? ", \"" : " and \"") : "",
                       l->holder_key ? l->holder_key : "", l->holder_key ? "\"" : "",
                       ways ? " and \"way\"" : "");
    }
    return 0;
}

/* Orders indices into a baseline's entries by type and holder, then by
 * place in the file, so that twins are neighbours and the later one is
 * the one named (qsort_r's context: the entries). */
static int cmp_base_subject(const void *x, const void *y, void *base)
{
    const mp_gate_base_entry *v = base;
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    int c = strcmp(v[i].name, v[j].name);
    if (!c) c = strcmp(v[i].holder, v[j].holder);
    return c ? c : (i > j) - (i < j);
}

/* A baseline of version 1 names a map by type, holder and ordinal alone;
 * two maps of one type under one holder would be paired with a later
 * run's by the order of their addresses, which differs from run to run
 * (two fields of one struct made in another order), so that the baseline
 * could accept a leak in one for the figures of the other. Such a baseline
 * is refused, to be written again (version 2 records the way to each
 * map); one without such maps pairs them as it always did. Its maps are
 * b->v[0 ..] (the first list parsed, in file order). */
static int refuse_v1_twins(const vctx *v, const mp_gate_baseline *b)
{
    size_t n = 0;
    while (n < b->n && b->v[n].kind == MP_BASE_MAP) n++;
    uint32_t *ix = malloc((n + 1) * sizeof *ix);
    if (!ix) {
        mf_error_set(v->err, "%s: out of memory", v->name);
        return -1;
    }
    for (size_t i = 0; i < n; i++) ix[i] = (uint32_t)i;
    qsort_r(ix, n, sizeof *ix, cmp_base_subject, b->v);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++) {
        const mp_gate_base_entry *x = &b->v[ix[i - 1]], *y = &b->v[ix[i]];
        if (strcmp(x->name, y->name) != 0 || strcmp(x->holder, y->holder) != 0) continue;
        char path[64];
        snprintf(path, sizeof path, "maps[%" PRIu32 "]", ix[i]);
        rc = bad(v, path,
                 "has the type and holder of maps[%" PRIu32 "]: a baseline of version 1 cannot "
                 "tell such maps apart from run to run; write it again with maproot gate "
                 "--write-baseline",
                 ix[i - 1]);
    }
    free(ix);
    return rc;
}

/* A baseline's figures of the whole run under key (optional): the heap's
 * growth, {growth_bytes}; the spread rule's maps' growth together, {entries,
 * retained_bytes}. An entry of kind is added to b when present (b->v has
 * room for it). */
static int parse_base_figures(const vctx *v, json_t *top, uint8_t kind, const char *key,
                              const char *count_key, const char *bytes_key, mp_gate_baseline *b)
{
    json_t *o = json_object_get(top, key);
    if (!o) return 0;
    const char *const keys[] = {bytes_key, count_key, NULL};
    mp_gate_base_entry *x = &b->v[b->n];
    x->kind = kind;
    if (!json_is_object(o)) return bad(v, key, "must be an object, not %s", kind_of(o));
    if (check_keys(v, o, key, keys) ||
        (count_key && get_uint(v, o, key, count_key, 0, UINT64_MAX, &x->count)) ||
        get_uint(v, o, key, bytes_key, 0, UINT64_MAX, &x->bytes))
        return -1;
    b->n++;
    return 0;
}

int mp_gate_baseline_parse(const char *text, size_t len, const char *name, mp_gate_baseline *out,
                           mf_error *err)
{
    static const char *const keys[] = {"maproot_gate_baseline",
                                       "program",
                                       "maps",
                                       "groups",
                                       "roots",
                                       "types",
                                       "heap",
                                       "spread",
                                       NULL};
    static const base_list lists[] = {
        {"maps", MP_BASE_MAP, "type", "holder", "entries", "retained_bytes"},
        {"groups", MP_BASE_GROUP, "type", "holder", "entries", "retained_bytes"},
        {"roots", MP_BASE_ROOT, "holder", NULL, "entries", "retained_bytes"},
        {"types", MP_BASE_TYPE, "type", NULL, "objects", "bytes"},
    };
    memset(out, 0, sizeof *out);
    json_t *top;
    mp_json_pos *pos;
    if (load_doc(text, len, name, &top, &pos, err)) return -1;
    vctx v = {name, pos, err};
    int rc = -1;
    uint64_t version = 0;
    if (!json_is_object(top)) {
        bad(&v, "", "a baseline is a JSON object, not %s", kind_of(top));
        goto out;
    }
    if (check_keys(&v, top, "", keys) ||
        get_uint(&v, top, "", "maproot_gate_baseline", 0, UINT64_MAX, &version))
        goto out;
    if (version < 1 || version > MP_GATE_BASELINE_VERSION) {
        bad(&v, "maproot_gate_baseline",
            "not a baseline of version 1 or %d (written by maproot gate --write-baseline)",
            MP_GATE_BASELINE_VERSION);
        goto out;
    }
    out->version = (uint32_t)version;
    json_t *prog = json_object_get(top, "program");
    if (prog && !json_is_string(prog)) {
        bad(&v, "program", "must be a string, not %s", kind_of(prog));
        goto out;
    }
    size_t n = 2; /* heap, spread */
    size_t nlists = sizeof lists / sizeof *lists;
    for (size_t i = 0; i < nlists; i++) n += json_array_size(json_object_get(top, lists[i].key));
    if (!(out->v = calloc(n, sizeof *out->v)) || !(out->file = strdup(name))) {
        mf_error_set(err, "%s: out of memory", name);
        goto out;
    }
    for (size_t i = 0; i < nlists; i++) {
        json_t *arr = json_object_get(top, lists[i].key);
        if (arr && parse_base_list(&v, arr, &lists[i], out)) goto out;
    }
    if (out->version == 1 && refuse_v1_twins(&v, out)) goto out;
    if (parse_base_figures(&v, top, MP_BASE_HEAP, "heap", NULL, "growth_bytes", out) ||
        parse_base_figures(&v, top, MP_BASE_SPREAD, "spread", "entries", "retained_bytes", out))
        goto out;
    rc = 0;
out:
    json_decref(top);
    mp_json_pos_free(pos);
    if (rc) mp_gate_baseline_free(out);
    return rc;
}

int mp_gate_baseline_read(const char *path, mp_gate_baseline *out, mf_error *err)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    if (mp_read_text_file(path, 256u << 20, &text, &len, err)) return -1;
    int rc = mp_gate_baseline_parse(text, len, path, out, err);
    free(text);
    return rc;
}
