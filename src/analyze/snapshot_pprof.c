/*
 * src/analyze/snapshot_pprof.c -- a snapshot analysis as a pprof profile,
 * for the tools that read profiles (go tool pprof, flame graphs): a sample
 * per map entry whose stack is its chain from a root (root outermost), with
 * one frame for all of a map's entries that names its largest keys, and the
 * entry's key and value type at the leaf; values entries/count and
 * retained/bytes. Entries past the first top_entries of a map are folded
 * into one sample per map and each map's table is a sample of its own, so
 * that totals stay exact. Each distinct frame name is one location.
 */
#include "analyze/snapshot_report.h"

#include "analyze/json_text.h"
#include "analyze/snapshot_report_internal.h"
#include "format/pprof.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- pprof --- */

typedef struct locs {
    char **names;
    uint64_t *ids;
    size_t n, cap;
    uint32_t *slots; /* open addressing: index into names + 1, 0 empty */
    size_t nslots;
} locs;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* One location per distinct frame name: roots, types, "bucket",
 * "overflow#k", "slot", and the steps of outer maps and arrays, which name
 * their key or index (as many as there are such chains). */
static uint64_t loc_for(mf_pprof_writer *w, locs *L, const char *name, const char *file,
                        int64_t line)
{
    if (L->n * 2 >= L->nslots) { /* keep the table at most half full */
        size_t ns = L->nslots ? L->nslots * 2 : 256;
        uint32_t *t = calloc(ns, sizeof *t);
        if (!t) return 0;
        for (size_t i = 0; i < L->n; i++) {
            size_t j = name_hash(L->names[i]) & (ns - 1);
            while (t[j]) j = (j + 1) & (ns - 1);
            t[j] = (uint32_t)i + 1;
        }
        free(L->slots);
        L->slots = t;
        L->nslots = ns;
    }
    size_t j = name_hash(name) & (L->nslots - 1);
    for (; L->slots[j]; j = (j + 1) & (L->nslots - 1))
        if (strcmp(L->names[L->slots[j] - 1], name) == 0) return L->ids[L->slots[j] - 1];
    if (L->n == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 64;
        char **nn = realloc(L->names, nc * sizeof *nn);
        if (!nn) return 0;
        L->names = nn;
        uint64_t *ni = realloc(L->ids, nc * sizeof *ni);
        if (!ni) return 0;
        L->ids = ni;
        L->cap = nc;
    }
    uint64_t fid = mf_pw_function(w, name, NULL, file, 0);
    mf_pw_line ln = {fid, line};
    uint64_t id = mf_pw_add_location(w, 0, 0, &ln, 1);
    L->names[L->n] = strdup(name);
    if (!L->names[L->n]) return 0;
    L->ids[L->n++] = id;
    L->slots[j] = (uint32_t)L->n;
    return id;
}

/* The frame name of a chain step in a profile. The steps of the sample's
 * own entry (after the last map header) have names stable across entries,
 * so that samples aggregate: its bucket and slot go to labels. Steps before
 * it (the outer map of a map of maps, an array on the way) name their
 * bucket, slot and key, or element, as the text does. */
static void step_frame(const mp_graph *g, const mp_step *s, bool interior, char *buf, size_t size,
                       const char **file, int64_t *line)
{
    *file = "";
    *line = 0;
    switch (s->kind) {
    case MP_STEP_ROOT: {
        mp_root_text(g, s->a, buf, size);
        const mp_root *r = &g->roots[s->a];
        *file = mp_str(g, r->file);
        *line = r->line;
        /* root text carries "(file:line)": keep the name part only */
        char *paren = strstr(buf, " (");
        if (paren && r->kind == MP_ROOT_GLOBAL) *paren = 0;
        break;
    }
    case MP_STEP_MAP:
        snprintf(buf, size, "%s header", mp_sr_map_type(g, s->map));
        break;
    case MP_STEP_BUCKET:
        if (interior && s->index != UINT64_MAX)
            mp_step_text(g, s, buf, size);
        else
            snprintf(buf, size, "%s", s->old ? "oldbucket" : "bucket");
        break;
    case MP_STEP_OVERFLOW:
        snprintf(buf, size, "overflow#%u", s->overflow);
        break;
    case MP_STEP_SLOT:
        if (interior)
            mp_step_text(g, s, buf, size);
        else
            snprintf(buf, size, "slot");
        break;
    case MP_STEP_ELIDED:
        snprintf(buf, size, "(%" PRIu64 " more steps)", s->index);
        break;
    default:
        if (s->index != UINT64_MAX)
            snprintf(buf, size, "%s [%" PRIu64 "]", mp_graph_type_name(g, s->a), s->index);
        else
            snprintf(buf, size, "%s", mp_graph_type_name(g, s->a));
        break;
    }
}

/* An entry's "key" label: the key as data ("user-53038", as in JSON), its
 * bytes other than printable ASCII, and the quote and backslash, as \xNN:
 * go tool pprof writes label values into its Graphviz output unescaped,
 * and -tagfocus key=user-53038 should need no quoting. */
static void key_label(const char *display, char *buf, size_t size)
{
    size_t n = strlen(display);
    char *bytes = malloc(n + 1);
    bool truncated;
    size_t len = bytes ? mp_key_bytes(display, bytes, &truncated) : SIZE_MAX;
    const char *k = len == SIZE_MAX ? display : bytes;
    if (len == SIZE_MAX) len = n;
    size_t j = 0;
    for (size_t i = 0; i < len && j + 5 < size; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
        else
            buf[j++] = (char)c;
    }
    buf[j] = 0;
    free(bytes);
}

/* Adds one sample: chain steps (root first), a frame `entries` right
 * after the sample's own map header when given, and a leaf frame. */
static int add_chain_sample(mf_pprof_writer *w, locs *L, const mp_graph *g, const mp_step *s,
                            size_t n, const char *entries, const char *leaf, int64_t count,
                            int64_t bytes, const mf_pw_label *labels, size_t nl)
{
    uint64_t ids[MP_CHAIN_STEPS + 2];
    size_t k = 0, last_map = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == MP_STEP_MAP) last_map = i;
    if (leaf) ids[k++] = loc_for(w, L, leaf, "", 0);
    for (size_t i = n; i-- > 0;) {
        if (entries && i == last_map) ids[k++] = loc_for(w, L, entries, "", 0);
        char name[512];
        const char *file;
        int64_t line;
        step_frame(g, &s[i], i < last_map, name, sizeof name, &file, &line);
        ids[k++] = loc_for(w, L, name, file, line);
    }
    for (size_t i = 0; i < k; i++)
        if (!ids[i]) return -1;
    int64_t v[2] = {count, bytes};
    return mf_pw_add_sample(w, ids, k, v, 2, labels, nl);
}

int mp_snapshot_write_pprof(const char *path, const mp_snapshot_analysis *a,
                            const mp_snapshot_print_opts *o, mf_error *err)
{
    const mp_graph *g = a->g;
    mf_pprof_writer *w = mf_pw_new();
    if (!w) {
        mf_error_set(err, "%s: out of memory", path);
        return -1;
    }
    locs L = {0};
    int rc = -1;
    mf_pw_add_sample_type(w, "entries", "count");
    mf_pw_add_sample_type(w, "retained", "bytes");
    mf_pw_set_default_sample_type(w, "retained");
    mf_pw_set_time(w, g->info.time_nanos, 0);
    char comment[512];
    snprintf(comment, sizeof comment, "maproot retention profile of %s (GC cycle %u)", a->file,
             g->info.gc_cycle);
    mf_pw_add_comment(w, comment);
    mp_step s[MP_CHAIN_STEPS + 1];
    for (size_t i = 0; i < g->nmaps; i++) {
        const mp_map_report *r = &a->f.maps[a->f.ranked[i]];
        const mp_map *m = &g->maps[r->map];
        if (m->header == MP_NONE || a->d.idom[m->header] == MP_NONE) continue;
        size_t hn = mp_sr_header_chain(a, r->map, s, MP_CHAIN_STEPS);
        if (hn > MP_CHAIN_STEPS) hn = MP_CHAIN_STEPS;
        const char *mt = mp_sr_map_type(g, r->map);
        mf_pw_label ml[1] = {{"map", mt, 0, NULL}};
        /* the table itself, and what the header dominates beyond entries */
        uint64_t rest = r->retained > r->entries_retained ? r->retained - r->entries_retained : 0;
        if (add_chain_sample(w, &L, g, s, hn, NULL, "(map table)", 0, (int64_t)rest, ml, 1))
            goto out;
        /* A suspect's largest entries each get a frame of their own, named
         * by key and value type, under a frame that holds all its entries
         * and names the largest keys: graph views leave out nodes under
         * 0.5% of the total, and where no single entry is that large, that
         * frame still shows which keys the map holds. The rest of the
         * entries are one frame. */
        size_t k = r->suspect ? mp_sr_top_n(o, m->nentries) : 0;
        uint32_t *ix = k ? malloc(k * sizeof *ix) : NULL;
        size_t got = ix ? mp_findings_top_entries(g, &a->d, &a->f, r->map, ix, k) : 0;
        char entries[512], c1[32], c2[32];
        mp_sr_fmt_count(c1, sizeof c1, m->nentries);
        int en = snprintf(entries, sizeof entries, "%s entr%s", c1, m->nentries == 1 ? "y" : "ies");
        for (size_t j = 0; j < got && j < 3 && en > 0 && (size_t)en < sizeof entries; j++)
            en += snprintf(entries + en, sizeof entries - (size_t)en, "%s%.60s",
                           j ? ", " : ", largest ", mp_sr_key_text(g, ix[j], c2, sizeof c2));
        uint64_t shown_bytes = 0;
        for (size_t j = 0; j < got; j++) {
            mp_entry en;
            const mp_entry *e = &en;
            mp_graph_entry(g, ix[j], &en);
            uint64_t ret = mp_findings_entry(&a->f, ix[j], NULL);
            char kb[32];
            size_t n = mp_sr_entry_chain(a, ix[j], s, MP_CHAIN_STEPS);
            if (n > MP_CHAIN_STEPS) n = MP_CHAIN_STEPS;
            char key[256];
            const char *kt = mp_entry_key(g, e, kb, sizeof kb);
            key_label(kt, key, sizeof key);
            mf_pw_label lb[4] = {{"key", key, 0, NULL},
                                 {"map", mt, 0, NULL},
                                 {"bucket", NULL, (int64_t)e->bucket, "index"},
                                 {"slot", NULL, e->slot, "index"}};
            char leaf[512];
            snprintf(leaf, sizeof leaf, "%s -> %s", kt, mp_sr_entry_value_type(g, e));
            if (add_chain_sample(w, &L, g, s, n, entries, leaf, 1, (int64_t)ret, lb, 4)) {
                free(ix);
                goto out;
            }
            shown_bytes += ret;
        }
        free(ix);
        if (got < m->nentries) {
            uint64_t left =
                r->entries_retained > shown_bytes ? r->entries_retained - shown_bytes : 0;
            char fold[64];
            mp_sr_fmt_count(c1, sizeof c1, m->nentries - got);
            snprintf(fold, sizeof fold, "(%s %sentr%s)", c1, got ? "other " : "",
                     m->nentries - got == 1 ? "y" : "ies");
            hn = mp_sr_header_chain(a, r->map, s, MP_CHAIN_STEPS);
            if (hn > MP_CHAIN_STEPS) hn = MP_CHAIN_STEPS;
            if (add_chain_sample(w, &L, g, s, hn, entries, fold, (int64_t)(m->nentries - got),
                                 (int64_t)left, ml, 1))
                goto out;
        }
    }
    rc = mf_pw_write(w, path, true, err);
    goto done;
out:
    mf_error_set(err, "%s: out of memory building the retention profile", path);
done:
    for (size_t i = 0; i < L.n; i++) free(L.names[i]);
    free(L.names);
    free(L.ids);
    free(L.slots);
    mf_pw_free(w);
    return rc;
}
