/*
 * src/analyze/groups.c -- many small maps of one type under one holder,
 * judged together (see groups.h for the definitions).
 */
#include "analyze/groups.h"

#include "analyze/map_match.h"
#include "analyze/radix.h"
#include "format/grow.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The states of an object in a walk's memo (d->root_of, lent): not walked
 * yet, a member's header not walked yet, or walked: the position on the
 * reference chain where its way up meets it, with whether a member's
 * header lies above it (NESTED_BIT) and whether it is one (MEMBER_BIT). */
#define UNSEEN 0xffffffffu
#define UNSEEN_MEMBER 0xfffffffeu
#define NESTED_BIT 0x80000000u
#define MEMBER_BIT 0x40000000u
#define POS_MASK 0x3fffffffu

/* A live map and the node its group is first split by: the root that alone
 * keeps its header (its node), or MP_NONE until its top is found; and its
 * class: the top, or when the top is one thread's instance of a variable
 * (mp_root_variable) the node of the first root of that variable,
 * whichever thread's: maps of one class are grouped. The top is one
 * thread's instance of a variable when it is such a root, or an object
 * that no object points to and only such roots of one thread's frame or
 * storage do (a function that keeps the map in two words of its frame):
 * the least of them by variable stands for it (vroot).
 *
 * The map's header and the rank of its type name are copied in: the
 * passes over the candidates (sorts, walks, tallies) read them for each,
 * and a read of the map's own record (mp_map, 176 bytes) costs a cache
 * line per candidate where a heap holds millions of small maps. */
typedef struct cand {
    uint32_t map;
    uint32_t top;
    uint32_t cls;
    /* the root that stands for its top's variable, MP_NONE none; while
     * the top is MP_NONE, the top find_tops found, or MP_NONE before */
    uint32_t vroot;
    uint32_t header; /* g->maps[map].header */
    uint32_t type;   /* its type name's rank among the candidates' (rank_types) */
} cand;

typedef struct group_ctx {
    const mp_graph *g;
    uint32_t *by_target; /* the roots by target object, made when first needed */
    mp_dom *d;
    const mp_findings *f;
    mp_groups *out;
    bool all;  /* every group of two members or more, whatever its score */
    bool lent; /* d->root_of holds a walk's memo: filled back at the end */
    size_t cap;
    cand *v; /* every candidate */
    size_t nv;
    bool tops_found; /* find_tops has run */
    uint32_t *path; /* a walk's nodes, reused */
    size_t pathcap;
    uint64_t *counts; /* the members' entry counts, reused */
    size_t countcap;
} group_ctx;

static const mp_graph *sort_g_;
/* Orders candidates by type name (their ranks are in name order), then by
 * class, then by top: the runs of one class are the groups. */
static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->type != y->type) return x->type < y->type ? -1 : 1;
    if (x->cls != y->cls) return x->cls < y->cls ? -1 : 1;
    if (x->top != y->top) return x->top < y->top ? -1 : 1;
    return x->map < y->map ? -1 : x->map > y->map;
}

/* The candidates' type names ranked in name order (equal names, one
 * rank): sorts and runs by type compare numbers, not strings. */
typedef struct type_ranks {
    uint64_t *by_sid; /* (name id << 32 | rank), sorted */
    size_t n;
    mp_sid last_sid; /* the last look-up: runs of one type are common */
    uint32_t last_rank;
} type_ranks;

static int cmp_sid_name(const void *a, const void *b)
{
    mp_sid x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(mp_str(sort_g_, x), mp_str(sort_g_, y));
    return c ? c : (x > y) - (x < y);
}

/* Ranks the type names of candidates v[0..n) (in their type, still the
 * name's id) into tr; -1 out of memory. */
static int rank_names(const mp_graph *g, const cand *v, size_t n, type_ranks *tr)
{
    *tr = (type_ranks){.last_sid = MP_NONE};
    uint32_t *sid = malloc((n ? n : 1) * sizeof *sid);
    if (!sid) return -1;
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        mp_sid s = v[i].type;
        if (d == 0 || sid[d - 1] != s) sid[d++] = s;
    }
    mp_sort_u32(sid, d);
    size_t u = 0;
    for (size_t i = 0; i < d; i++)
        if (u == 0 || sid[u - 1] != sid[i]) sid[u++] = sid[i];
    sort_g_ = g;
    qsort(sid, u, sizeof *sid, cmp_sid_name);
    sort_g_ = NULL;
    tr->by_sid = malloc((u ? u : 1) * sizeof *tr->by_sid);
    if (!tr->by_sid) {
        free(sid);
        return -1;
    }
    uint32_t rank = 0;
    for (size_t i = 0; i < u; i++) {
        if (i > 0 && strcmp(mp_str(g, sid[i - 1]), mp_str(g, sid[i])) != 0) rank++;
        tr->by_sid[i] = (uint64_t)sid[i] << 32 | rank;
    }
    free(sid);
    mp_sort_u64(tr->by_sid, u);
    tr->n = u;
    return 0;
}

/* The rank of name s, one of those ranked. */
static uint32_t type_rank(type_ranks *tr, mp_sid s)
{
    if (s == tr->last_sid) return tr->last_rank;
    size_t lo = 0, hi = tr->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((tr->by_sid[mid] >> 32) < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    assert(lo < tr->n && (tr->by_sid[lo] >> 32) == s);
    tr->last_sid = s;
    tr->last_rank = (uint32_t)tr->by_sid[lo];
    return tr->last_rank;
}

/* Turns the type of candidates v[0..n) from the id of the map's type
 * name into its rank (see cand). -1 out of memory. */
static int rank_types(const mp_graph *g, cand *v, size_t n)
{
    type_ranks tr;
    if (rank_names(g, v, n, &tr)) return -1;
    for (size_t i = 0; i < n; i++) v[i].type = type_rank(&tr, v[i].type);
    free(tr.by_sid);
    return 0;
}

/* cmp_cand's keys of a candidate, most significant first. */
static uint32_t cand_key(const void *rec, unsigned k, void *ctx)
{
    const cand *x = rec;
    (void)ctx;
    switch (k) {
    case 0: return x->type;
    case 1: return x->cls;
    case 2: return x->top;
    default: return x->map;
    }
}

/* Sorts candidates v[0..n) as qsort with cmp_cand does (every candidate
 * is a distinct map: no ties), by a radix sort on the keys: the map key
 * is left out when v is in map order already (the sort is stable). */
static void sort_cands(cand *v, size_t n)
{
    if (n < 2) return;
    bool by_map = true;
    for (size_t i = 1; i < n && by_map; i++) by_map = v[i - 1].map < v[i].map;
    if (mp_sort_records(v, n, sizeof *v, by_map ? 3 : 4, cand_key, NULL) == 1) return;
    qsort(v, n, sizeof *v, cmp_cand); /* out of memory: the comparison sort, in place */
}

/* Whether candidates x and y are maps of one type: one name (a guessed
 * one says what its values point to: mp_gomap_value_name). */
static bool same_type(const cand *x, const cand *y)
{
    return x->type == y->type;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool path_put(group_ctx *c, size_t n, uint32_t x)
{
    if (!MF_GROW(c->path, c->pathcap, n + 1, 64)) return false;
    c->path[n] = x;
    return true;
}

/* Whether bytes could make a suspect group, by the yardsticks of
 * judge_group: significant and a large share. */
static bool could_pass(const mp_findings *f, uint64_t bytes)
{
    return bytes >= f->significant && f->heap_bytes &&
           (double)bytes * 100.0 >= f->share_pct * (double)f->heap_bytes;
}

/* Whether maps that could score bytes together are worth grouping: any
 * in c->all (a group is followed while it is small), else when they
 * could pass. */
static bool worth(const group_ctx *c, uint64_t bytes)
{
    return c->all || could_pass(c->f, bytes);
}

/* What member r of f holds but for the suspect maps inside it (theirs). */
static uint64_t own_bytes(const mp_findings *f, const mp_map_report *r)
{
    uint64_t in = mp_report_rare(f, r)->inner_bytes;
    return r->retained - (in < r->retained ? in : r->retained);
}

/* What maps v[0..n) could score together at most: the score of a group of
 * them before nested members are set apart (which only lowers it). When
 * it cannot pass, no walk is made: e.g. a few large maps that are
 * suspects on their own score nothing together. */
static uint64_t run_score(const group_ctx *c, const cand *v, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        const mp_map_report *r = &c->f->maps[v[i].map];
        if (!r->suspect) s += own_bytes(c->f, r);
    }
    return s;
}

/*
 * The tops (see groups.h: the node right under the super-root above each)
 * of the candidates c->v[i] that several roots keep (top MP_NONE yet),
 * into their vroot (free until their top is set): found once, when the
 * first run needs them, by the dominators' one pass over every object
 * that writes its top in d->root_of (mp_dom_fill_top_of). root_of is
 * given back: filled again from the tops, or, when the holder walks hold
 * it as their memo, cleared as they leave it.
 */
static void find_tops(group_ctx *c)
{
    mp_dom *d = c->d;
    c->tops_found = true;
    mp_dom_fill_top_of(d);
    for (size_t i = 0; i < c->nv; i++) {
        if (c->v[i].top != MP_NONE) continue;
        uint32_t h = c->v[i].header, t = d->root_of[h];
        /* a live header several roots keep: a top, or under one */
        assert(t != MP_NONE && c->v[i].vroot == MP_NONE);
        c->v[i].vroot = t == MP_DOM_TOP ? h : t;
    }
    if (c->lent)
        memset(d->root_of, 0xff, d->nobjects * sizeof *d->root_of);
    else
        mp_dom_root_of_from_tops(d);
}

/* Whether node x lies in the table of a map, or under one in the
 * dominator tree (up to its top): the maps below are then values of that
 * map's entries, its bytes. */
static bool under_a_table(const mp_graph *g, const mp_dom *d, uint32_t x)
{
    for (size_t steps = 0; x < d->nobjects && steps < d->nnodes; steps++) {
        if (g->table_bits && mp_bit(g->table_bits, x) && mp_graph_table_map(g, x) != MP_NONE)
            return true;
        x = d->idom[x];
    }
    return false;
}

/* Counts one sample of `samples` at stack st into the tally t[0..*nt) by
 * site (function, file, line); a tally full of other sites drops it. */
enum { TALLY = 16 };
static void tally_site(const mp_graph *g, mp_site_count *t, uint32_t *site, size_t *nt, uint32_t st,
                       uint32_t samples)
{
    uint32_t s = mp_stack_site(g, st);
    size_t j = 0;
    while (j < *nt && site[j] != s) j++;
    if (j == *nt) {
        if (*nt == TALLY) return;
        site[*nt] = s;
        t[(*nt)++] = (mp_site_count){st, 0};
    }
    t[j].samples += samples;
}

/* The sampled allocation sites of the members' headers into gp (most
 * samples first), tallied by site; when no header was sampled, those of
 * what the members' entries own (their findings' sites). */
static void group_sites(const mp_graph *g, const mp_findings *f, const cand *v, size_t n,
                        const uint8_t *nested, mp_group *gp)
{
    mp_site_count t[TALLY];
    uint32_t site[TALLY];
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t st = nested[i] ? MP_NONE : mp_obj_stack(g, v[i].header);
        if (st == MP_NONE) continue;
        gp->header_samples++;
        tally_site(g, t, site, &nt, st, 1);
    }
    gp->sites_of_entries = nt == 0;
    for (size_t i = 0; i < n && gp->sites_of_entries; i++) {
        const mp_map_report *r = &f->maps[v[i].map];
        const mp_site_count *rs = mp_report_sites(f, r);
        for (uint32_t k = 0, ns = mp_report_nsites(f, r); !nested[i] && k < ns; k++)
            tally_site(g, t, site, &nt, rs[k].stack, rs[k].samples);
    }
    /* the few most sampled, by insertion (at most TALLY) */
    for (size_t i = 1; i < nt; i++)
        for (size_t j = i; j > 0 && t[j].samples > t[j - 1].samples; j--) {
            mp_site_count s = t[j];
            t[j] = t[j - 1];
            t[j - 1] = s;
        }
    gp->nsites = nt < MP_MAX_SITES ? (uint32_t)nt : MP_MAX_SITES;
    memcpy(gp->sites, t, gp->nsites * sizeof *t);
}

static bool seen(uint32_t v)
{
    return v < UNSEEN_MEMBER;
}

static bool member(uint32_t v)
{
    return v == UNSEEN_MEMBER || (seen(v) && (v & MEMBER_BIT));
}

/* Records walked object x in the memo m: position pos, a member above. */
static void remember(uint32_t *m, uint32_t x, uint32_t pos, bool above)
{
    m[x] = pos | (above ? NESTED_BIT : 0) | (member(m[x]) ? MEMBER_BIT : 0);
}

/*
 * The holder of members v[0..n) (one type, one top) into *holder, and
 * which of them are nested, by one walk up from each header. The first
 * member's chain up to the top is the reference: each object remembers the
 * position on it where the way up from the object meets it, and whether a
 * member's header lies above the object. Every later walk stops at the
 * first remembered object (or at the top, a root's node), so each object
 * is visited once; the holder is the reference node at the highest
 * position met. The memo is d->root_of, lent (c->lent: filled back by the
 * caller): no memory beyond the reference chain. *holder is MP_NONE when
 * a walk leaves the top (no common holder). -1 out of memory.
 */
static int holder_walk(group_ctx *c, const cand *v, size_t n, uint8_t *nested, uint32_t *holder)
{
    const mp_dom *d = c->d;
    size_t no = d->nobjects;
    uint32_t *m = d->root_of, *ref = NULL;
    *holder = MP_NONE;
    for (size_t i = 0; i < n; i++) m[v[i].header] = UNSEEN_MEMBER;
    /* the reference chain: from the first header up to the top */
    size_t na = 0;
    uint32_t x = v[0].header;
    for (;;) {
        if (!path_put(c, na++, x)) return -1;
        if (x == v[0].top) break;
        x = d->idom[x];
        if (x == MP_NONE || x == d->super_root || na > POS_MASK) return 0;
    }
    bool above = false;
    for (size_t i = na; i-- > 0;) {
        uint32_t y = c->path[i];
        if (y >= no) continue; /* the top, a root's node: no member */
        bool mem = member(m[y]);
        remember(m, y, (uint32_t)i, above);
        above |= mem;
    }
    ref = malloc(na * sizeof *ref);
    if (!ref) return -1;
    memcpy(ref, c->path, na * sizeof *ref);
    uint32_t lca = 0;
    for (size_t k = 0; k < n; k++) {
        size_t np = 0;
        uint32_t h = v[k].header, got = (uint32_t)(na - 1);
        for (x = h; x < no && !seen(m[x]);) {
            if (!path_put(c, np++, x)) {
                free(ref);
                return -1;
            }
            x = d->idom[x];
            if (x == MP_NONE || x == d->super_root || np > no) {
                free(ref);
                return 0;
            }
        }
        if (x < no)
            got = m[x];
        else if (x != v[0].top) { /* another root's node: not this top */
            free(ref);
            return 0;
        }
        uint32_t pos = got & POS_MASK;
        above = x < no && ((got & NESTED_BIT) || (got & MEMBER_BIT));
        for (size_t i = np; i-- > 0;) {
            bool mem = member(m[c->path[i]]);
            remember(m, c->path[i], pos, above);
            above |= mem;
        }
        /* the header is remembered now, with whether a member lies above */
        nested[k] = (m[h] & NESTED_BIT) != 0;
        if (pos > lca) lca = pos;
    }
    assert(lca < na);
    *holder = ref[lca];
    free(ref);
    return 0;
}

/*
 * Sets every object holder_walk marked for members v[0..n) back to
 * UNSEEN. What a walk marks is, above each member's header, one unbroken
 * run of its dominator chain (the reference chain, and each later walk up
 * to where it met a marked object), so walking up from each header until
 * an UNSEEN object clears them all: the next group's walks start from a
 * clean memo at the cost of this group's nodes, not of the heap.
 */
static void forget(group_ctx *c, const cand *v, size_t n)
{
    const mp_dom *d = c->d;
    uint32_t *m = d->root_of;
    for (size_t k = 0; k < n; k++) {
        uint32_t x = v[k].header;
        for (size_t steps = 0; x < d->nobjects && m[x] != UNSEEN && steps < d->nnodes; steps++) {
            m[x] = UNSEEN;
            x = d->idom[x];
        }
    }
}

/* holder_walk on a clean memo, left clean: the first walk of an analysis
 * lends d->root_of and clears it (every object UNSEEN); each walk then
 * clears what it marked (forget). */
static int holder_of(group_ctx *c, const cand *v, size_t n, uint8_t *nested, uint32_t *holder)
{
    if (!c->lent) {
        c->lent = true;
        memset(c->d->root_of, 0xff, c->d->nobjects * sizeof *c->d->root_of);
    }
    int rc = holder_walk(c, v, n, nested, holder);
    forget(c, v, n);
    return rc;
}

/* Judges a group by a single map's yardsticks (groups.h). */
static void judge_group(const mp_findings *f, mp_group *gp)
{
    gp->evidence = 0;
    if (f->heap_bytes && (double)gp->score * 100.0 >= f->share_pct * (double)f->heap_bytes)
        gp->evidence |= MP_EV_LARGE_SHARE;
    gp->suspect = (gp->evidence & MP_EV_LARGE_SHARE) && gp->score >= f->significant;
}

/*
 * The holder of members v[0..n) (one type, one class; sorted by top) into
 * *holder, and which are nested, with how many tops and threads they span.
 * One top: holder_of's. Several (one variable of several threads): each
 * top's members are walked apart, for their nested ones, and must each
 * have a holder outside any map's table; the group's holder is then the
 * node of the first top's root (vroot), which stands for the variable, and
 * what it retains (*retained) the sum over the tops: the variable in every
 * thread. MP_NONE when there is none. -1 out of memory.
 */
static int holders_of(group_ctx *c, const cand *v, size_t n, uint8_t *nested, uint32_t *holder,
                      uint32_t *ntops, uint32_t *nthreads, uint64_t *retained)
{
    const mp_dom *d = c->d;
    *ntops = *nthreads = 0;
    *holder = MP_NONE;
    *retained = 0;
    uint32_t *th = NULL;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].top == v[i].top; j++) {
        }
        uint32_t h;
        if (holder_of(c, v + i, j - i, nested + i, &h)) {
            free(th);
            return -1;
        }
        if (i == 0 && j == n) {
            *holder = h;
            *ntops = *nthreads = 1;
            if (h != MP_NONE) *retained = d->retained[h];
            return 0;
        }
        /* a lone member is its own holder: what lies above its header */
        if (h == MP_NONE || under_a_table(c->g, d, j - i == 1 ? d->idom[h] : h)) {
            free(th);
            *holder = MP_NONE;
            return 0;
        }
        assert(v[i].vroot != MP_NONE); /* several tops: each a variable's */
        if (!th && !(th = malloc(n * sizeof *th))) return -1;
        th[(*ntops)++] = c->g->roots[v[i].vroot].thread;
        *retained += d->retained[v[i].top]; /* tops: disjoint subtrees */
    }
    qsort(th, *ntops, sizeof *th, cmp_u32);
    for (size_t k = 0; k < *ntops; k++) *nthreads += k == 0 || th[k] != th[k - 1];
    free(th);
    *holder = (uint32_t)d->nobjects + v[0].vroot;
    return 0;
}

/* Counts spans up to this wide are tallied for the median, not sorted. */
#define MEDIAN_TALLY 4096

/*
 * gp->median_entries: the entry count of the (nmaps / 2)-th member by
 * count, 0-based, among members v[0..n) not nested (gp's min and max
 * entries and nmaps counted already). Members of a group are mostly alike
 * (a map per request): when their counts span less than MEDIAN_TALLY, a
 * tally of each count finds it without an array of every count and its
 * sort. -1 out of memory.
 */
static int median_entries(group_ctx *c, const cand *v, size_t n, const uint8_t *nested,
                          mp_group *gp)
{
    const mp_graph *g = c->g;
    size_t want = (size_t)gp->nmaps / 2;
    uint64_t lo = gp->min_entries, span = gp->max_entries - lo;
    if (span < MEDIAN_TALLY) {
        uint64_t tally[MEDIAN_TALLY];
        memset(tally, 0, (span + 1) * sizeof *tally); /* a small group: few bytes */
        for (size_t i = 0; i < n; i++)
            if (!nested[i]) tally[g->maps[v[i].map].count - lo]++;
        uint64_t below = 0;
        for (uint64_t x = 0; x <= span; x++) {
            below += tally[x];
            if (below > want) {
                gp->median_entries = lo + x;
                return 0;
            }
        }
        assert(0 && "the tally holds every member");
    }
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (nested[i]) continue;
        if (!MF_GROW(c->counts, c->countcap, nc + 1, 64)) return -1;
        c->counts[nc++] = g->maps[v[i].map].count;
    }
    mp_sort_u64(c->counts, nc);
    gp->median_entries = c->counts[want];
    return 0;
}

/* Makes the group of members v[0..n) (one type, one class), when it is
 * one (groups.h); 0 also when it is not, -1 out of memory. */
static int build_group(group_ctx *c, const cand *v, size_t n)
{
    const mp_graph *g = c->g;
    const mp_findings *f = c->f;
    uint8_t *nested = calloc(n, 1);
    if (!nested) return -1;
    uint32_t holder, ntops, nthreads;
    uint64_t holder_retained;
    int rc = holders_of(c, v, n, nested, &holder, &ntops, &nthreads, &holder_retained);
    if (!rc && holder == MP_NONE) {
        free(nested);
        return 0;
    }
    mp_group gp = {.holder = holder,
                   .holder_retained = holder_retained,
                   .example = MP_NONE,
                   .min_entries = UINT64_MAX,
                   .ntops = ntops,
                   .nthreads = nthreads};
    for (size_t i = 0; i < n && !rc; i++) {
        const mp_map_report *r = &f->maps[v[i].map];
        if (nested[i]) {
            gp.nested++;
            continue;
        }
        uint64_t cnt = g->maps[v[i].map].count;
        gp.nmaps++;
        gp.entries += cnt;
        if (cnt < gp.min_entries) gp.min_entries = cnt;
        if (cnt > gp.max_entries) gp.max_entries = cnt;
        gp.retained += r->retained;
        if (r->suspect)
            gp.suspect_members++;
        else
            gp.score += own_bytes(f, r);
        if (gp.example == MP_NONE || r->retained > f->maps[gp.example].retained)
            gp.example = v[i].map;
    }
    if (rc || gp.nmaps < 2 || !worth(c, gp.score) || under_a_table(g, c->d, holder)) {
        free(nested);
        return rc;
    }
    if (median_entries(c, v, n, nested, &gp)) {
        free(nested);
        return -1;
    }
    gp.type_map = v[0].map;
    gp.id = (uint32_t)c->out->n;
    for (size_t i = 0; c->out->member_of && i < n; i++)
        if (!nested[i]) c->out->member_of[v[i].map] = gp.id;
    /* the single root keeping the holder: the top's, when the top is a
     * root's node (d->root_of is the walks' memo now) */
    gp.root = ntops > 1                    ? v[0].vroot
              : v[0].top >= c->d->nobjects ? v[0].top - (uint32_t)c->d->nobjects
                                           : MP_NONE;
    group_sites(g, f, v, n, nested, &gp);
    free(nested);
    judge_group(f, &gp);
    if (!MF_GROW(c->out->groups, c->cap, c->out->n + 1, 8)) return -1;
    c->out->groups[c->out->n++] = gp;
    return 0;
}

/* Orders candidates (indices into cand_v_) by the variable of their
 * vroot, then by that root: the first of each run names the variable. */
static const cand *cand_v_;
static int cmp_variable(const void *a, const void *b)
{
    const mp_graph *g = sort_g_;
    uint32_t ra = cand_v_[*(const uint32_t *)a].vroot, rb = cand_v_[*(const uint32_t *)b].vroot;
    int c = mp_root_variable_cmp(g, ra, rb);
    return c ? c : (ra > rb) - (ra < rb);
}

/* The class of each candidate v[0..n) (see cand): its top, or the node of
 * the first root of its vroot's variable. A sort of the candidates that
 * have a vroot. -1 out of memory. */
static int set_classes(const mp_graph *g, const mp_dom *d, cand *v, size_t n)
{
    uint32_t *ix = malloc((n ? n : 1) * sizeof *ix);
    if (!ix) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].cls = v[i].top;
        if (v[i].vroot != MP_NONE) ix[m++] = (uint32_t)i;
    }
    sort_g_ = g;
    cand_v_ = v;
    if (m > 1) qsort(ix, m, sizeof *ix, cmp_variable);
    sort_g_ = NULL;
    cand_v_ = NULL;
    for (size_t i = 0, j; i < m; i = j) {
        uint32_t first = v[ix[i]].vroot;
        for (j = i; j < m && mp_root_variable_cmp(g, first, v[ix[j]].vroot) == 0; j++)
            v[ix[j]].cls = (uint32_t)d->nobjects + first;
    }
    free(ix);
    return 0;
}

static const mp_graph *by_target_g_;
static int cmp_root_target(const void *a, const void *b)
{
    const mp_root *x = &by_target_g_->roots[*(const uint32_t *)a],
                  *y = &by_target_g_->roots[*(const uint32_t *)b];
    if (x->target != y->target) return x->target < y->target ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/*
 * The root that stands for object top as one thread's instance of a
 * variable (see cand), or MP_NONE: no object points to top, and every root
 * that does is a variable's, of one thread (then the least by variable).
 * The roots by target are sorted once, on first use. *oom set when out of
 * memory.
 */
static uint32_t frame_vroot(group_ctx *c, uint32_t top, bool *oom)
{
    const mp_graph *g = c->g;
    if (mp_csr_start(&g->in, top + 1) != mp_csr_start(&g->in, top) || !g->nroots) return MP_NONE;
    if (!c->by_target) {
        if (!(c->by_target = malloc(g->nroots * sizeof *c->by_target))) {
            *oom = true;
            return MP_NONE;
        }
        for (size_t i = 0; i < g->nroots; i++) c->by_target[i] = (uint32_t)i;
        by_target_g_ = g;
        qsort(c->by_target, g->nroots, sizeof *c->by_target, cmp_root_target);
        by_target_g_ = NULL;
    }
    size_t lo = 0, hi = g->nroots; /* the first root whose target is >= top */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->roots[c->by_target[mid]].target < top)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t best = MP_NONE;
    for (size_t i = lo; i < g->nroots && g->roots[c->by_target[i]].target == top; i++) {
        uint32_t r = c->by_target[i];
        if (!mp_root_variable(g, r, NULL, 0) ||
            (best != MP_NONE && g->roots[r].thread != g->roots[best].thread))
            return MP_NONE;
        if (best == MP_NONE || mp_root_variable_cmp(g, r, best) < 0) best = r;
    }
    return best;
}

/* The runs of v[0..n) (one type) by class, each a group when it is one.
 * The candidates that several roots keep have no top yet: found here, with
 * the variable their top may be one thread's instance of (their class). */
static int split_by_top(group_ctx *c, cand *v, size_t n)
{
    bool sorted = true, oom = false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].top != MP_NONE) continue;
        if (!c->tops_found) find_tops(c);
        v[i].top = v[i].cls = v[i].vroot;
        v[i].vroot = v[i].top < c->d->nobjects ? frame_vroot(c, v[i].top, &oom) : MP_NONE;
        sorted = false;
    }
    if (oom || (!sorted && set_classes(c->g, c->d, v, n))) return -1;
    if (!sorted) sort_cands(v, n);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && v[j].cls == v[i].cls; j++) {
        }
        if (j - i >= 2 && worth(c, run_score(c, v + i, j - i)) && build_group(c, v + i, j - i))
            return -1;
    }
    return 0;
}

/* Suspects first, growing ones first among them, then by score, then by
 * their first member (stable). */
static int cmp_group(const void *a, const void *b)
{
    const mp_group *x = a, *y = b;
    if (x->suspect != y->suspect) return x->suspect ? -1 : 1;
    bool gx = x->evidence & MP_EV_GROWING, gy = y->evidence & MP_EV_GROWING;
    if (gx != gy) return gx ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->type_map < y->type_map ? -1 : x->type_map > y->type_map;
}

int mp_groups_compute(const mp_graph *g, mp_dom *d, const mp_findings *f, bool all, mp_groups *out,
                      mf_error *err)
{
    memset(out, 0, sizeof *out);
    group_ctx c = {.g = g, .d = d, .f = f, .out = out, .all = all};
    cand *v = malloc((g->nmaps ? g->nmaps : 1) * sizeof *v);
    if (!v) goto oom;
    if (all) {
        if (!(out->member_of = malloc((g->nmaps ? g->nmaps : 1) * sizeof *out->member_of)))
            goto oom;
        for (size_t k = 0; k < g->nmaps; k++) out->member_of[k] = MP_NONE;
    }
    size_t nv = 0;
    for (size_t k = 0; k < g->nmaps; k++) {
        uint32_t h = g->maps[k].header;
        if (h == MP_NONE || d->idom[h] == MP_NONE) continue;
        uint32_t r = d->root_of[h];
        bool var = r != MP_NONE && mp_root_variable(g, r, NULL, 0);
        v[nv++] = (cand){.map = (uint32_t)k,
                         .top = r == MP_NONE ? MP_NONE : (uint32_t)d->nobjects + r,
                         .vroot = var ? r : MP_NONE,
                         .header = h,
                         .type = g->maps[k].type_name}; /* ranked below */
    }
    if (rank_types(g, v, nv) || set_classes(g, d, v, nv)) goto oom;
    sort_cands(v, nv);
    c.v = v;
    c.nv = nv;
    /* runs of one type; within one, the runs of one top (the maps that
     * several roots keep last: MP_NONE sorts after every node) */
    for (size_t i = 0, j; i < nv; i = j) {
        for (j = i + 1; j < nv && same_type(&v[i], &v[j]); j++) {
        }
        if (j - i >= 2 && worth(&c, run_score(&c, v + i, j - i)) && split_by_top(&c, v + i, j - i))
            goto oom;
    }
    free(v);
    free(c.by_target);
    free(c.path);
    free(c.counts);
    if (c.lent) mp_dom_fill_root_of(d);
    if (out->n > 1) qsort(out->groups, out->n, sizeof *out->groups, cmp_group);
    for (size_t i = 0; i < out->n; i++) out->nsuspects += out->groups[i].suspect;
    return 0;
oom:
    if (c.lent) mp_dom_fill_root_of(d);
    free(v);
    free(c.by_target);
    free(c.path);
    free(c.counts);
    mp_groups_free(out);
    mf_error_set(err, "%s: out of memory grouping %zu maps", g->info.name, g->nmaps);
    return -1;
}

void mp_groups_rerank(mp_groups *gr)
{
    gr->nsuspects = 0;
    for (size_t i = 0; i < gr->n; i++) {
        if (gr->groups[i].evidence & MP_EV_GROWING) gr->groups[i].suspect = true;
        gr->nsuspects += gr->groups[i].suspect;
    }
    if (gr->n > 1) qsort(gr->groups, gr->n, sizeof *gr->groups, cmp_group);
}

uint32_t *mp_groups_index_of_ids(const mp_groups *gr)
{
    uint32_t *ix = malloc((gr->n ? gr->n : 1) * sizeof *ix);
    if (!ix) return NULL;
    for (size_t i = 0; i < gr->n; i++) {
        assert(gr->groups[i].id < gr->n); /* ids are 0 .. n-1, each once */
        ix[gr->groups[i].id] = (uint32_t)i;
    }
    return ix;
}

void mp_groups_free(mp_groups *gr)
{
    free(gr->groups);
    free(gr->member_of);
    memset(gr, 0, sizeof *gr);
}
