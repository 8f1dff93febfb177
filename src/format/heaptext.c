/*
 * src/format/heaptext.c -- text heap profiles into the profile model.
 *
 * The text is read whole (profiles of this format are small: a line per
 * allocation site), split into lines in place, and fed record by record to
 * the profile writer (pprof.h), which interns functions and locations; the
 * encoded result is then decoded by the proto reader. Going through the
 * writer costs an encode and a decode, but it leaves one place that decides
 * what a consistent profile is, so a text profile can never hold what a
 * proto one could not.
 */
#include "format/heaptext.h"

#include "format/grow.h"
#include "format/gz.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A frame named by a stack comment; strings point into the text (made
 * NUL-terminated in place). fn NULL: an address Go could not name. */
typedef struct hframe {
    uint64_t pc;
    uint64_t entry; /* pc less the offset in the function; 0: unknown */
    const char *fn, *file;
    int64_t line;
    size_t lineno; /* where it was written, for messages */
} hframe;

/* The parse: the writer being filled and the record being read.
 * Invariant: frames fr[0..nfr) are the comments written after the record
 * that starts at rec_line, in their order. */
typedef struct parser {
    const char *name;
    mf_error *err;
    mf_pprof_writer *w;
    int64_t rate; /* one sample per rate bytes; <= 1: no scaling */
    bool have;    /* a record is being read */
    bool memstats;
    size_t rec_line;
    int64_t counts[4]; /* in-use objects, bytes; allocated objects, bytes */
    uint64_t *pcs;
    size_t npcs, cap_pcs;
    hframe *fr;
    size_t nfr, cap_fr;
    uint64_t *locs;
    size_t cap_locs;
    mf_pw_line *lines;
    size_t cap_lines;
} parser;

/* Sets the error "NAME: line N: MSG (got "LINE")", the line shortened and
 * its unprintable bytes shown as '?', so that the message stays one line. */
static int fail(parser *P, size_t lineno, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(parser *P, size_t lineno, const char *text, const char *fmt, ...)
{
    char msg[256], got[48];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (; text && text[n] && n < 40; n++)
        got[n] = text[n] == '\t' ? ' ' : (text[n] >= 0x20 && text[n] < 0x7f) ? text[n] : '?';
    got[n] = 0;
    if (text)
        mf_error_set(P->err, "%s: line %zu: %s (got \"%s%s\")", P->name, lineno, msg, got,
                     text[n] ? "..." : "");
    else
        mf_error_set(P->err, "%s: line %zu: %s", P->name, lineno, msg);
    return -1;
}

static int oom(parser *P, size_t lineno)
{
    mf_error_set(P->err, "%s: out of memory at line %zu", P->name, lineno);
    return -1;
}

static inline bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static const char *skip_blank(const char *p)
{
    while (is_blank(*p)) p++;
    return p;
}

/* A decimal number up to INT64_MAX: 0, or -1 when there is no digit, -2
 * when it is too large. */
static int read_int(const char **pp, int64_t *v)
{
    const char *p = *pp;
    if (*p < '0' || *p > '9') return -1;
    uint64_t x = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (x > ((uint64_t)INT64_MAX - (uint64_t)(*p - '0')) / 10) return -2;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = (int64_t)x;
    *pp = p;
    return 0;
}

/* "0x" and hex digits, up to 64 bits: 0, -1 when absent, -2 too large. */
static int read_hex(const char **pp, uint64_t *v)
{
    const char *p = *pp;
    if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X')) return -1;
    p += 2;
    uint64_t x = 0;
    int nd = 0;
    for (;; p++, nd++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            break;
        if (x >> 60) return -2;
        x = x << 4 | (uint64_t)d;
    }
    if (nd == 0) return -1;
    *v = x;
    *pp = p;
    return 0;
}

/* Reads "N: M [N2: M2] @" (blanks allowed around each part), the counts of
 * a record and of the header, into c (in-use pair, allocated pair). */
static int read_counts(parser *P, size_t lineno, const char *line, const char **pp, int64_t c[4])
{
    static const char seps[4] = {':', '[', ':', ']'};
    const char *p = skip_blank(*pp);
    for (int i = 0; i < 4; i++) {
        int rc = read_int(&p, &c[i]);
        if (rc == -2) return fail(P, lineno, line, "count beyond 2^63-1");
        if (rc) return fail(P, lineno, line, "expected \"N: M [N2: M2] @ ...\"");
        p = skip_blank(p);
        if (*p != seps[i]) return fail(P, lineno, line, "expected \"N: M [N2: M2] @ ...\"");
        p = skip_blank(p + 1);
    }
    if (*p != '@') return fail(P, lineno, line, "expected \"@\" after the counts");
    *pp = p + 1;
    return 0;
}

/* The header: "heap profile: A: B [C: D] @ KIND[/RATE]". Sets the rate
 * the values were sampled at, by the rule pprof reads each kind with. */
static int read_header(parser *P, size_t lineno, const char *line)
{
    static const char magic[] = "heap profile:";
    const char *p = skip_blank(line);
    if (strncmp(p, magic, sizeof magic - 1) != 0)
        return fail(P, lineno, line, "expected \"heap profile: ...\"");
    p += sizeof magic - 1;
    int64_t totals[4];
    if (read_counts(P, lineno, line, &p, totals)) return -1;
    p = skip_blank(p);
    const char *kind = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') p++;
    size_t klen = (size_t)(p - kind);
    int64_t rate = 0;
    if (*p == '/') {
        p++;
        int rc = read_int(&p, &rate);
        if (rc == -2) return fail(P, lineno, line, "sampling rate beyond 2^63-1");
        /* "heap/" without digits: no rate, as pprof reads it */
    }
    if (*skip_blank(p)) return fail(P, lineno, line, "unexpected text after the sampling");
#define KIND_IS(s) (klen == sizeof s - 1 && memcmp(kind, s, klen) == 0)
    if (KIND_IS("heap_v2") || KIND_IS("heapz_v2"))
        P->rate = rate;
    else if (KIND_IS("heap"))
        P->rate = rate / 2; /* Go writes twice its MemProfileRate */
    else if (KIND_IS("heapprofile"))
        P->rate = 1;
    else
        return fail(P, lineno, line,
                    "unsupported profile kind (expected heap, heap_v2, heapz_v2 or heapprofile)");
#undef KIND_IS
    return mf_pw_set_period(P->w, "space", "bytes", P->rate);
}

/* Undoes the sampling of one (objects, bytes) pair: a sampled allocation of
 * average size s stands for 1/(1-exp(-s/rate)) allocations. Truncated, as
 * Go's proto writer and pprof's text reader do, so the figures agree. */
static int unsample(parser *P, int64_t objects, int64_t bytes, int64_t *o, int64_t *b)
{
    if (objects == 0 || bytes == 0) {
        *o = *b = 0;
        return 0;
    }
    if (P->rate <= 1) {
        *o = objects;
        *b = bytes;
        return 0;
    }
    double avg = (double)bytes / (double)objects;
    double scale = 1 / (1 - exp(-avg / (double)P->rate));
    double so = (double)objects * scale, sb = (double)bytes * scale;
    /* 2^63: the first double beyond int64 (also catches inf and nan) */
    if (!(so < 9223372036854775808.0) || !(sb < 9223372036854775808.0))
        return fail(P, P->rec_line, NULL, "the record's unsampled size is beyond 2^63-1");
    *o = (int64_t)so;
    *b = (int64_t)sb;
    return 0;
}

/* Can frame b be one more inlined frame of the location a starts? As Go's
 * proto writer decides: the same function entry (b's frame runs inside the
 * function a was inlined into) and another function (the same one would be
 * recursion, which is never inlined). */
static bool same_location(const hframe *a, const hframe *b)
{
    return a->fn && b->fn && a->entry && a->entry == b->entry && strcmp(a->fn, b->fn) != 0;
}

/* The location of frames fr[from..to) (one call site, innermost first) at
 * address addr: the one already made for that address, else a new one. */
static uint64_t location(parser *P, uint64_t addr, size_t from, size_t to)
{
    uint64_t id = addr ? mf_pw_find_location(P->w, addr) : 0;
    if (id) return id;
    size_t n = 0;
    for (size_t k = from; k < to; k++) {
        if (!P->fr[k].fn) continue;
        uint64_t fid = mf_pw_function(P->w, P->fr[k].fn, NULL, P->fr[k].file, 0);
        P->lines[n++] = (mf_pw_line){fid, P->fr[k].line};
    }
    return mf_pw_add_location(P->w, 0, addr, P->lines, n);
}

/* The stack of the record as location ids into P->locs; *n their number.
 * Without comments every address is a location of its own at the call
 * address. With comments, each address takes the comments written for it
 * (their address is the call address, or the address itself at a function
 * entry), the addresses without one are left out (as Go's proto writer
 * leaves them), and inlined frames share a location. A comment that
 * belongs to no address of the stack is an error. */
static int stack(parser *P, size_t *n)
{
    *n = 0;
    if (!MF_GROW(P->locs, P->cap_locs, P->npcs, 16) || !MF_GROW(P->lines, P->cap_lines, P->nfr, 16))
        return oom(P, P->rec_line);
    if (P->nfr == 0) {
        for (size_t i = 0; i < P->npcs; i++) {
            uint64_t addr = P->pcs[i] ? P->pcs[i] - 1 : 0;
            P->locs[(*n)++] = location(P, addr, 0, 0);
        }
        return 0;
    }
    size_t j = 0, start = 0; /* comments taken; the open location's first */
    bool open = false;
    for (size_t i = 0; i < P->npcs && j < P->nfr; i++) {
        uint64_t pc = P->pcs[i];
        size_t k = j;
        while (k < P->nfr && (P->fr[k].pc == pc - 1 || P->fr[k].pc == pc)) k++;
        if (k == j) continue;
        if (open && !same_location(&P->fr[j - 1], &P->fr[j])) {
            P->locs[(*n)++] = location(P, P->fr[start].pc, start, j);
            open = false;
        }
        if (!open) start = j, open = true;
        j = k;
    }
    if (open) P->locs[(*n)++] = location(P, P->fr[start].pc, start, j);
    if (j < P->nfr)
        return fail(P, P->fr[j].lineno, NULL,
                    "stack comment for 0x%llx, which is not in the stack of the record at line "
                    "%zu (or out of its order)",
                    (unsigned long long)P->fr[j].pc, P->rec_line);
    return 0;
}

/* Adds the record read so far as a sample (nothing when there is none). */
static int flush(parser *P)
{
    if (!P->have) return 0;
    P->have = false;
    int64_t v[4];
    const int64_t *c = P->counts;
    if (unsample(P, c[2], c[3], &v[0], &v[1]) || unsample(P, c[0], c[1], &v[2], &v[3])) return -1;
    size_t n;
    if (stack(P, &n)) return -1;
    /* the size of the allocations, as Go's proto writer labels them */
    int64_t block = c[2] > 0 ? c[3] / c[2] : 0;
    mf_pw_label label = {"bytes", NULL, block, NULL};
    if (mf_pw_add_sample(P->w, P->locs, n, v, 4, &label, block ? 1 : 0)) return oom(P, P->rec_line);
    return 0;
}

/* A record line: its counts and its stack. */
static int read_record(parser *P, size_t lineno, const char *line)
{
    if (flush(P)) return -1;
    const char *p = line;
    if (read_counts(P, lineno, line, &p, P->counts)) return -1;
    const int64_t *c = P->counts;
    if (c[0] == 0 && c[1] != 0)
        return fail(P, lineno, line, "0 objects in use but %lld bytes", (long long)c[1]);
    if (c[2] == 0 && c[3] != 0)
        return fail(P, lineno, line, "0 objects allocated but %lld bytes", (long long)c[3]);
    P->npcs = P->nfr = 0;
    for (;;) {
        p = skip_blank(p);
        if (!*p) break;
        uint64_t pc;
        int rc = read_hex(&p, &pc);
        if (rc == -2) return fail(P, lineno, line, "address beyond 64 bits");
        if (rc || (*p && !is_blank(*p)))
            return fail(P, lineno, line, "expected addresses 0x... after \"@\"");
        if (!MF_GROW(P->pcs, P->cap_pcs, P->npcs + 1, 16)) return oom(P, lineno);
        P->pcs[P->npcs++] = pc;
    }
    P->have = true;
    P->rec_line = lineno;
    return 0;
}

/* A stack comment "#\t0xPC[\tNAME+0xOFF\tFILE:LINE]" after a record (p is
 * past the '#'); cuts NAME and FILE in place. */
static int read_frame(parser *P, size_t lineno, char *line, char *p)
{
    if (!P->have) return fail(P, lineno, line, "stack comment before any record");
    hframe f = {0};
    f.lineno = lineno;
    const char *q = p;
    int rc = read_hex(&q, &f.pc);
    if (rc == -2) return fail(P, lineno, line, "address beyond 64 bits");
    if (rc || (*q && !is_blank(*q)))
        return fail(P, lineno, line, "expected an address 0x... after \"#\"");
    p = (char *)skip_blank(q);
    if (*p) {
        /* NAME+0xOFF (a Go function name has no blank), then FILE:LINE,
         * the file up to the last ':'; checked before anything is cut */
        char *name = p;
        while (*p && !is_blank(*p)) p++;
        char *name_end = p;
        char *file = (char *)skip_blank(p);
        char *end = file + strlen(file);
        while (end > file && is_blank(end[-1])) end--;
        char *colon = end;
        while (colon > file && colon[-1] != ':') colon--;
        const char *d = colon;
        if (colon == file || read_int(&d, &f.line) || d != end)
            return fail(P, lineno, line, "expected \"# 0xPC FUNCTION+0xOFF FILE:LINE\"");
        *end = 0;
        colon[-1] = 0;
        *name_end = 0;
        char *plus = NULL;
        for (char *s = strstr(name, "+0x"); s; s = strstr(s + 1, "+0x")) plus = s; /* the last */
        if (plus) {
            uint64_t off;
            const char *o = plus + 1;
            if (read_hex(&o, &off) == 0 && !*o && off <= f.pc) {
                f.entry = f.pc - off;
                *plus = 0;
            }
        }
        f.fn = name;
        f.file = file;
    }
    if (!MF_GROW(P->fr, P->cap_fr, P->nfr + 1, 16)) return oom(P, lineno);
    P->fr[P->nfr++] = f;
    return 0;
}

/* A comment line (p is past the '#'): a stack comment, the start of the
 * memory statistics, one of them (the heap's are kept), or anything else
 * (skipped, as pprof skips it). */
static int read_comment(parser *P, size_t lineno, char *line, char *p)
{
    p = (char *)skip_blank(p);
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        if (P->memstats) return 0;
        return read_frame(P, lineno, line, p);
    }
    if (strncmp(p, "runtime.MemStats", 16) == 0 && !*skip_blank(p + 16)) {
        if (flush(P)) return -1;
        P->memstats = true;
        return 0;
    }
    if (!P->memstats) return 0;
    static const char *const kept[] = {"HeapAlloc", "HeapInuse", "HeapObjects", "NumGC"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        size_t k = strlen(kept[i]);
        if (strncmp(p, kept[i], k) != 0) continue;
        const char *q = skip_blank(p + k);
        if (*q != '=') continue;
        int64_t v;
        q = skip_blank(q + 1);
        if (read_int(&q, &v) || *skip_blank(q)) continue;
        char text[64];
        snprintf(text, sizeof text, "runtime.MemStats %s = %lld", kept[i], (long long)v);
        if (mf_pw_add_comment(P->w, text)) return oom(P, lineno);
    }
    return 0;
}

static bool map_sentinel(const char *p)
{
    p = skip_blank(p);
    return strncmp(p, "MAPPED_LIBRARIES:", 17) == 0 || strncmp(p, "--- Memory map: ---", 19) == 0;
}

/* Reads every line of text (n bytes, text[n] writable) into P->w. */
static int read_lines(parser *P, char *text, size_t n)
{
    static const char *const types[4][2] = {{"alloc_objects", "count"},
                                            {"alloc_space", "bytes"},
                                            {"inuse_objects", "count"},
                                            {"inuse_space", "bytes"}};
    for (size_t i = 0; i < 4; i++)
        if (mf_pw_add_sample_type(P->w, types[i][0], types[i][1])) return oom(P, 1);
    bool header = false;
    char *p = text, *end = text + n;
    *end = 0;
    for (size_t lineno = 1; p < end; lineno++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *line = p, *eol = nl ? nl : end;
        p = nl ? nl + 1 : end;
        if (memchr(line, 0, (size_t)(eol - line)))
            return fail(P, lineno, NULL, "a NUL byte: not a text profile");
        *eol = 0;
        char *s = (char *)skip_blank(line);
        if (!*s) continue;
        if (!header) {
            if (read_header(P, lineno, line)) return -1;
            header = true;
        } else if (*s == '#') {
            if (read_comment(P, lineno, line, s + 1)) return -1;
        } else if (map_sentinel(s)) {
            break;
        } else if (P->memstats) {
            return fail(P, lineno, line, "a record after the memory statistics");
        } else if (read_record(P, lineno, s)) {
            return -1;
        }
    }
    if (!header) return fail(P, 1, NULL, "no \"heap profile:\" header");
    return flush(P);
}

/* Parses text[0..n) (text[n] writable: the parse cuts strings in place). */
static int parse_owned(char *text, size_t n, const char *name, mf_profile **out, mf_error *err)
{
    *out = NULL;
    parser P = {0};
    P.name = name;
    P.err = err;
    P.w = mf_pw_new();
    if (!P.w) {
        mf_error_set(err, "%s: out of memory", name);
        return -1;
    }
    mf_buf enc = {0};
    int rc = read_lines(&P, text, n);
    if (rc == 0) rc = mf_pw_encode(P.w, &enc, err);
    if (rc == 0) rc = mf_profile_parse(enc.data, enc.len, name, out, err);
    mf_buf_free(&enc);
    mf_pw_free(P.w);
    free(P.pcs);
    free(P.fr);
    free(P.locs);
    free(P.lines);
    return rc;
}

bool mf_heaptext_sniff_bytes(const uint8_t *p, size_t n)
{
    static const char magic[] = "heap profile:";
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
    return n - i >= sizeof magic - 1 && memcmp(p + i, magic, sizeof magic - 1) == 0;
}

int mf_heaptext_parse(const uint8_t *data, size_t n, const char *name, mf_profile **out,
                      mf_error *err)
{
    *out = NULL;
    char *text = malloc(n + 1);
    if (!text) {
        mf_error_set(err, "%s: out of memory for %zu bytes", name, n);
        return -1;
    }
    if (n) memcpy(text, data, n);
    int rc = parse_owned(text, n, name, out, err);
    free(text);
    return rc;
}

int mf_heaptext_read_in(mf_in *in, const mf_limits *lim, mf_profile **out, mf_error *err)
{
    *out = NULL;
    const char *name = mf_in_name(in);
    mf_buf buf = {0};
    for (;;) {
        if (mf_buf_reserve(&buf, (size_t)1 << 18, err)) goto fail;
        ssize_t k = mf_in_read(in, buf.data + buf.len, buf.cap - buf.len - 1, err);
        if (k < 0) goto fail;
        if (k == 0) break;
        buf.len += (size_t)k;
        if (buf.len > MF_MAX_DECODED) {
            mf_error_set(err, "%s: content larger than %zu bytes: not a text heap profile", name,
                         (size_t)MF_MAX_DECODED);
            goto fail;
        }
        /* the text, and the profile built from it (about its size again) */
        if (mf_limit_check(lim, 2 * (uint64_t)buf.len, name, "its content", err)) goto fail;
    }
    int rc = parse_owned((char *)buf.data, buf.len, name, out, err);
    mf_buf_free(&buf);
    return rc;
fail:
    mf_buf_free(&buf);
    return -1;
}
