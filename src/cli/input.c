/* src/cli/input.c -- see input.h. */
#include "cli/input.h"

#include "analyze/graph_index.h"
#include "analyze/load_gcstack.h"
#include "analyze/load_godump.h"
#include "analyze/profile.h"
#include "analyze/timing.h"
#include "cli/cli.h"
#include "format/gcstack_reader.h"
#include "format/heaptext.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mf_limits cli_limits;
const char *cli_binary;
cli_index_mode cli_index;

int cli_parse_index(const char *cmd, const char *arg)
{
    static const char *const names[] = {"auto", "off", "rebuild"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(arg, names[i]) == 0) {
            cli_index = (cli_index_mode)i;
            return 0;
        }
    return cli_usage(cmd, "--index wants auto, off or rebuild, not \"%s\"", arg);
}

/* Creates the directories above path (the cache directory); failures show
 * when the file itself cannot be written. */
static void make_parents(const char *path)
{
    char *p = strdup(path);
    if (!p) return;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = 0;
        mkdir(p, 0700);
        *c = '/';
    }
    free(p);
}

/*
 * The snapshots loaded by this command whose index is still to be written,
 * or may still gain the derived results (paths, dominator tree) once the
 * command has computed them: the graph, the snapshot's identity when it
 * was read, and the index it was read from or, when fresh, the places to
 * write it (beside the snapshot, else in the cache directory). Few (diff
 * loads two, gate a series).
 */
typedef struct pending {
    const mp_graph *g;
    mp_gi_ident id;
    char *index;
    char *cache; /* fresh only: where to write when index cannot be */
    char *path;
    bool fresh; /* read from the snapshot: no index yet */
} pending;
static pending *pend;
static size_t npend;

static void forget(pending *x)
{
    free(x->index);
    free(x->cache);
    free(x->path);
}

static void remember(const mp_graph *g, const char *path, const mp_gi_ident *id, const char *index,
                     const char *cache, bool fresh)
{
    /* a graph at the same address is a new one: the old one is gone */
    for (size_t i = 0; i < npend; i++)
        if (pend[i].g == g) {
            forget(&pend[i]);
            pend[i--] = pend[--npend];
        }
    pending *p = realloc(pend, (npend + 1) * sizeof *pend);
    if (!p) return;
    pend = p;
    pend[npend] =
        (pending){g, *id, strdup(index), cache ? strdup(cache) : NULL, strdup(path), fresh};
    if (pend[npend].index && pend[npend].path && (!cache || pend[npend].cache))
        npend++;
    else
        forget(&pend[npend]);
}

/* Tells the new (or grown) index on a terminal. */
static void tell(const char *what, const char *index, uint64_t bytes)
{
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "maproot: %s the index %s (%.1f MiB)\n", what, index,
                (double)bytes / (1024.0 * 1024.0));
}

/* Whether the snapshot at path still has identity id (else its index must
 * not be written: it would describe another file). */
static bool unchanged(const char *path, const mp_gi_ident *id)
{
    mf_error err;
    mp_gi_ident now;
    if (mp_gi_ident_of(path, &now, &err) == 0 && memcmp(&now, id, sizeof now) == 0) return true;
    fprintf(stderr, "maproot: warning: %s changed while it was read; no index written\n", path);
    return false;
}

/* Writes the index of g (loaded from the snapshot at path, which had
 * identity id before it was read) with the derived results dv: beside the
 * snapshot, else in the cache directory. A failure is a warning. */
static void write_index(const char *path, const mp_gi_ident *id, const mp_graph *g,
                        const mp_graph_derived *dv, const char *beside, const char *cache)
{
    mf_error err, err2;
    if (!unchanged(path, id)) return;
    if (isatty(STDERR_FILENO)) fprintf(stderr, "maproot: writing the index of %s\n", path);
    uint64_t bytes;
    const char *written = beside;
    if (mp_gi_write(beside, g, id, dv, &bytes, &err)) {
        written = cache;
        if (cache) make_parents(cache);
        if (!cache || mp_gi_write(cache, g, id, dv, &bytes, &err2)) {
            fprintf(stderr, "maproot: warning: no index written: %s%s%s\n", err.msg,
                    cache ? "; " : "", cache ? err2.msg : "");
            return;
        }
    }
    tell("wrote", written, bytes);
}

/* Adds dv to the index g was read from, x, when it lacks them. */
static void add_results(const pending *x, const mp_graph *g, mp_graph_derived dv)
{
    bool more = (dv.parent && !g->derived.parent) || (dv.idom && !g->derived.idom) ||
                (dv.fmaps && !g->derived.fmaps);
    if (!more || !unchanged(x->path, &x->id)) return;
    /* what was computed, and what the index had (borrowed) */
    mp_graph_derived had = g->derived;
    if (!dv.parent) dv.parent = had.parent, dv.root = had.root, dv.via = had.via;
    if (!dv.idom)
        dv.idom = had.idom, dv.retained = had.retained, dv.root_of = had.root_of,
        dv.preorder = had.preorder, dv.npreorder = had.npreorder;
    if (!dv.fmaps) dv.fmaps = had.fmaps, dv.fentries = had.fentries;
    mf_error err;
    uint64_t bytes;
    int rc = mp_gi_append(x->index, g, &x->id, &dv, &bytes, &err);
    if (rc == 0 && bytes)
        tell("added the analysis results to", x->index, bytes);
    else if (rc == 1 && mp_gi_write(x->index, g, &x->id, &dv, &bytes, &err) == 0)
        tell("rewrote", x->index, bytes);
    else if (rc != 0)
        fprintf(stderr, "maproot: warning: the index keeps no analysis results: %s\n", err.msg);
    mp_timing_mark("save-index");
}

/* Puts the findings f, computed from the paths and tree in dv, into dv:
 * their records (returned, malloc'd: the caller frees them) and the
 * per-entry store, lent. NULL (dv as it was) when there are none to keep
 * or no memory for them: the index is then written without them. */
static mp_findings_saved *with_findings(const mp_graph *g, const mp_findings *f,
                                        mp_graph_derived *dv)
{
    if (!f || !f->maps || f->nmaps != g->nmaps || !g->nmaps || !dv->parent || !dv->idom)
        return NULL;
    mp_findings_saved *s = malloc(g->nmaps * sizeof *s);
    if (!s) return NULL;
    for (size_t k = 0; k < g->nmaps; k++) mp_findings_save(f, k, &s[k]);
    dv->fmaps = s;
    dv->fentries = f->entry_info;
    return s;
}

void cli_index_save(const mp_graph *g, const mp_paths *p, const mp_dom *d, const mp_findings *f)
{
    size_t i = 0;
    while (i < npend && pend[i].g != g) i++;
    if (i == npend) return;
    pending x = pend[i];
    pend[i] = pend[--npend];
    mp_graph_derived dv = mp_gi_derived_of(p, d);
    mp_findings_saved *fs = with_findings(g, f, &dv);
    if (x.fresh) {
        write_index(x.path, &x.id, g, &dv, x.index, x.cache);
        mp_timing_mark("write-index");
    } else {
        add_results(&x, g, dv);
    }
    free(fs);
    forget(&x);
}

int cli_load_snapshot(const char *path, mf_in *in, mp_graph **out, mf_error *err)
{
    *out = NULL;
    mp_gi_ident id;
    mf_error e;
    bool indexed = cli_index != CLI_INDEX_OFF && mp_gi_ident_of(path, &id, &e) == 0;
    char *beside = indexed ? mp_gi_path_beside(path) : NULL;
    char *cache = indexed ? mp_gi_path_cache(path) : NULL;
    bool damaged = false; /* an index was there but refused: write a good one */
    if (indexed && cli_index == CLI_INDEX_AUTO) {
        const char *where[] = {beside, cache};
        for (size_t i = 0; i < 2; i++) {
            struct stat ist;
            /* a mapped index counts against --max-memory as the graph would */
            if (!where[i] || (cli_limits.max_memory && stat(where[i], &ist) == 0 &&
                              (uint64_t)ist.st_size > cli_limits.max_memory))
                continue;
            mp_gi_status st = mp_gi_open(where[i], &id, mf_in_name(in), out, &e);
            if (st == MP_GI_OK) {
                if (e.msg[0])
                    fprintf(stderr, "maproot: warning: %s; computing them again\n", e.msg);
                mp_timing_mark("index");
                remember(*out, path, &id, where[i], NULL, false);
                free(beside);
                free(cache);
                return 0;
            }
            if (st == MP_GI_BAD) {
                fprintf(stderr, "maproot: warning: %s; reading the snapshot instead\n", e.msg);
                damaged = true;
            }
        }
    }
    int rc = mp_load_gcstack_in(in, &cli_limits, cli_progress_stream(), out, err);
    if (rc == 0 && beside &&
        (cli_index == CLI_INDEX_REBUILD || damaged || (*out)->nobjects >= CLI_INDEX_MIN_OBJECTS ||
         (*out)->nedges >= CLI_INDEX_MIN_EDGES)) {
        /* written once the command's report is out (cli_index_save); a
         * damaged index is replaced whatever the snapshot's size, or it
         * would be warned about on every run */
        remember(*out, path, &id, beside, cache, true);
    }
    free(beside);
    free(cache);
    return rc;
}

static int load_godump(const char *path, mf_in *in, mp_graph **out, mf_error *err)
{
    (void)path; /* not indexed: the graph depends on --binary */
    return mp_load_godump_in(in, &cli_limits, cli_binary, cli_progress_stream(), out, err);
}

/* The kinds of input, most specific first: the first whose sniff accepts
 * an input's first bytes takes it. */
static const cli_kind kinds[] = {
    {"root snapshot", false, mf_gs_sniff_bytes, cli_load_snapshot, NULL},
    {"Go heap dump", true, mf_gd_sniff_bytes, load_godump, NULL},
    {"text heap profile", false, mf_heaptext_sniff_bytes, NULL, mf_heaptext_read_in},
    {"pprof profile", false, mf_profile_sniff_bytes, NULL, mf_profile_read_in},
};

/* Bytes looked at to tell the kind: enough for every sniff above. */
#define SNIFF_BYTES 4096

int cli_input_open(const char *path, cli_input *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->path = path;
    mf_error err;
    if (!(ci->in = mf_in_open(path, &err))) return cli_fail("%s", err.msg);
    const uint8_t *p;
    size_t n;
    if (mf_in_peek(ci->in, SNIFF_BYTES, &p, &n, &err)) {
        cli_input_close(ci);
        return cli_fail("%s", err.msg);
    }
    if (n == 0) {
        /* a gzip file of nothing is not an empty file: say which it is */
        bool gz = mf_in_is_gzip(ci->in);
        cli_input_close(ci);
        return cli_fail("%s: %s", path, gz ? "the gzip data is empty inside" : "empty file");
    }
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (kinds[i].sniff(p, n)) {
            ci->kind = &kinds[i];
            return 0;
        }
    char hex[3 * 8 + 1] = "";
    for (size_t i = 0; i < n && i < 8; i++) snprintf(hex + 3 * i, 4, " %02x", p[i]);
    cli_input_close(ci);
    return cli_fail("%s: not a maproot snapshot, Go heap dump or pprof profile (its content "
                    "starts with%s%s)",
                    path, hex, n > 8 ? " ..." : "");
}

void cli_input_close(cli_input *ci)
{
    mf_in_close(ci->in);
    ci->in = NULL;
}

int cli_input_try_graph(cli_input *ci, mp_graph **out, mf_error *err)
{
    int rc = ci->kind->load_graph(ci->path, ci->in, out, err);
    cli_input_close(ci);
    return rc;
}

int cli_input_load_graph(cli_input *ci, mp_graph **out)
{
    mf_error err;
    return cli_input_try_graph(ci, out, &err) ? cli_fail("%s", err.msg) : 0;
}

int cli_input_load_profile(cli_input *ci, mf_profile **out)
{
    mf_error err;
    int rc = ci->kind->read_profile(ci->in, &cli_limits, out, &err);
    cli_input_close(ci);
    if (rc) return cli_fail("%s", err.msg);
    if (mp_check_heap(*out, ci->path, &err)) {
        mf_profile_free(*out);
        *out = NULL;
        return cli_fail("%s", err.msg);
    }
    return 0;
}

int cli_parse_memory(const char *cmd, const char *arg)
{
    return cli_parse_size(cmd, "--max-memory", arg, false, &cli_limits.max_memory);
}
