/* src/analyze/findings_entries.c -- see findings_entries.h. */
#include "analyze/findings_entries.h"

#include "analyze/parallel.h"
#include "analyze/stale_words.h"
#include "analyze/u32map.h"
#include "format/grow.h"
#include "format/zeroed.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The most stale words pointing at one object that are told apart from
 * other holders; an object more of them point at gets no such allowance. */
#define MAX_STALE 8

/*
 * While the pass runs, owner[x] is a word that says more than who owns x.
 * Below UNOWNED_BIT it is the map whose entry owns x (the pass's result).
 * From UNOWNED_BIT on no entry owns x yet, and the word carries what the
 * pass would otherwise fetch from three other arrays at random for every
 * object an entry points at (a cache line each): DEEP_BIT, x retains
 * more than itself (mp_dom_deep); MULTI_BIT, more than one reference
 * points at x (else x's holders need not be read to know the entry's
 * slot is its only one); and in the low bits (HINT_MASK) the map whose
 * table holds x's immediate dominator -- what tells whether an entry owns
 * x -- or one of the HINT_ values below. The pass fills the words in
 * one sequential sweep before it starts and sets every unowned one back
 * to MP_NONE at its end.
 *
 * The two halves of the pass (entry_halves) read each other's words (the
 * hint of an object the other half may own), so words are loaded and
 * stored whole, relaxed: either value read says the same about another
 * map's object.
 */
#define UNOWNED_BIT MP_ENTRY_MAX_MAPS
#define DEEP_BIT 0x40000000u
#define MULTI_BIT 0x20000000u
#define HINT_MASK 0x0fffffffu
#define HINT_UNKNOWN MP_ENTRY_HINT_UNKNOWN /* a map number too large: read idom */
#define HINT_NO_TABLE (HINT_MASK - 1)      /* idom in no table (or a root, S) */
#define HINT_UNREACHED (HINT_MASK - 2)     /* x unreachable (idom MP_NONE) */
#define HINT_MAPS MP_ENTRY_HINT_MAPS       /* maps 0 .. HINT_MAPS - 1 fit */
_Static_assert(HINT_UNKNOWN == HINT_MASK && HINT_MAPS == HINT_UNREACHED,
               "the hints of maps stop below the hints of other meanings");

static inline uint32_t word(const uint32_t *owner, uint32_t x)
{
    return __atomic_load_n(&owner[x], __ATOMIC_RELAXED);
}

static inline bool unowned(uint32_t w)
{
    return w >= UNOWNED_BIT;
}

/* The hint of word w: HINT_UNKNOWN for an owned object (not kept). */
static inline uint32_t hint(uint32_t w)
{
    return unowned(w) ? w & HINT_MASK : HINT_UNKNOWN;
}

/* Whether object x is reachable (its immediate dominator not MP_NONE),
 * from its word when that tells: an owned object is. */
static inline bool reached(const mp_dom *d, const uint32_t *owner, uint32_t x)
{
    uint32_t w = word(owner, x);
    if (!unowned(w)) return true;
    uint32_t h = w & HINT_MASK;
    return h == HINT_UNKNOWN ? d->idom[x] != MP_NONE : h != HINT_UNREACHED;
}

/* The holders of the stale words of map k pointing at x into hs (room for
 * MAX_STALE); how many, 0 when more than that. */
static size_t stale_holders(const mp_stale_words *stale, uint32_t k, uint32_t x, uint32_t *hs)
{
    size_t n = mp_stale_words_of(stale, k, x, hs, MAX_STALE);
    return n <= MAX_STALE ? n : 0;
}

/* Takes one h off hs[0..*n) when there: whether it was. */
static bool take_holder(uint32_t *hs, size_t *n, uint32_t h)
{
    for (size_t i = 0; i < *n; i++)
        if (hs[i] == h) {
            hs[i] = hs[--*n];
            return true;
        }
    return false;
}

/* Whether every live holder of x but its stale words (held by hs[0..n),
 * one word each) is the object holding e's slot: x is then e's as if the
 * stale words were not there. */
static bool held_by_slot_alone(const mp_graph *g, const mp_dom *d, const mp_entry *e, uint32_t x,
                               uint32_t *hs, size_t n)
{
    for (uint64_t i = mp_in_begin(g, x), end = mp_in_end(g, x); i < end; i++) {
        uint32_t h = g->in.adj[i];
        if (take_holder(hs, &n, h)) continue;
        if (h != e->bucket_obj && d->idom[h] != MP_NONE) return false;
    }
    return true;
}

/* Whether entry e owns object x (see the header for the definition). A
 * growing map's evacuated old buckets still point at the values moved
 * out of them (`stale`); when an iterator holds the old array, such a
 * value is not dominated by the table, yet when no root and nothing but
 * the entry's slot and stale words of its own map hold it, it is the
 * entry's. */
static bool owns(const mp_graph *g, const mp_dom *d, const mp_entry *e, uint32_t x, table_memo *m,
                 const mp_stale_words *stale, const uint32_t *owner)
{
    if (x == MP_NONE || table_map_memo(g, x, m) == e->map) return false;
    uint32_t h = hint(word(owner, x));
    if (h == HINT_UNREACHED) return false;
    if (h == HINT_UNKNOWN) {
        uint32_t i = d->idom[x];
        if (i == MP_NONE) return false;
        if (i < g->nobjects && table_map_memo(g, i, m) == e->map) return true;
    } else if (h != HINT_NO_TABLE && h == e->map) {
        return true;
    }
    uint32_t hs[MAX_STALE];
    size_t n = stale_holders(stale, e->map, x, hs);
    return n && !root_target(d, x) && held_by_slot_alone(g, d, e, x, hs, n);
}

/* How far up the dominator tree under_entry looks for an entry's object. */
#define UNDER_DEPTH 64

/*
 * The objects an entry owns alone, as entry_alone asks about them: obj[0..n),
 * the largest retained size among them (most), and whether any of them
 * dominates more than itself (deep).
 */
typedef struct entry_own {
    const uint32_t *obj;
    size_t n;
    uint64_t most;
    bool deep;
} entry_own;

/*
 * Whether holder h lies in the dominator subtree of one of the objects an
 * entry owns alone (or is one): a reference from there is the entry's own
 * -- a value's part pointing back at the value, a value pointing back at
 * its key -- and deleting the entry frees it with the rest. When none of
 * them dominates more than itself (the common case), h must be one of
 * them, and the tree is not read at all. Else the walk goes up from h: a
 * node under one of them retains no more than the largest, and neither
 * does any node between, so it stops at the first node that retains more
 * (most holders are other objects of the map, one step under its buckets).
 * It is bounded too: past UNDER_DEPTH steps h counts as another holder, so
 * an entry may be credited with less than it keeps, never more.
 */
static bool under_entry(const mp_dom *d, uint32_t h, const entry_own *own)
{
    for (int k = 0; k < UNDER_DEPTH; k++) {
        for (size_t i = 0; i < own->n; i++)
            if (own->obj[i] == h) return true;
        if (!own->deep) return false;
        h = d->idom[h];
        if (h >= d->nobjects || d->retained[h] > own->most) return false;
    }
    return false;
}

/* Whether x, which an entry owns, is its alone (multi: its word's
 * MULTI_BIT, more than one reference to x): no live object holds a
 * reference to x but the entry's refs slot words (mp_entry_targets counts
 * them), the stale words of its map held by hs[0..n), and objects under
 * those the entry owns alone (see under_entry). An object that another entry of the
 * map (or an object under one) refers to as well is the map's, but no
 * entry's: deleting either entry frees nothing. */
static bool entry_alone(const mp_graph *g, const mp_dom *d, uint32_t x, bool multi, uint64_t refs,
                        bool all_live, uint32_t *hs, size_t n, const entry_own *own)
{
    if (!multi && refs >= 1) return true; /* the slot's reference is the one */
    uint64_t b = mp_in_begin(g, x), end = mp_in_end(g, x), live = 0;
    if (end - b <= refs) return true;
    /* every holder live: the slots and the stale words may be all there is */
    if (all_live && (end - b <= refs + n || !own->n)) return end - b <= refs + n;
    for (uint64_t i = b; i < end; i++) {
        uint32_t h = g->in.adj[i];
        if (take_holder(hs, &n, h)) continue;
        if (!all_live && d->idom[h] == MP_NONE) continue; /* garbage */
        if (under_entry(d, h, own)) continue;
        if (++live > refs) return false;
    }
    return true;
}

/* ------------------------------------------------------ slice buffers --- */

/* A string pointing into an object at least this large, and this many
 * times its own length, is a slice of it (SLICE_BUFFERS): a string that
 * owns its bytes lies in an object of its length rounded up to a size
 * class, and small objects are not worth a finding. */
#define SLICE_MIN_OBJECT KIB
#define SLICE_RATIO 8

/* The length of the string key shown as `display`, at most: a quoted key's
 * display is never shorter than its bytes (escapes only lengthen it); a key
 * cut short says its length ("... (N bytes, #H)"), as does one whose bytes
 * were unreadable ("(string of N bytes at 0x...)"); UINT64_MAX when the
 * display does not tell (a cut without a length, from older writers). */
static uint64_t key_length_at_most(const char *display)
{
    size_t n = strlen(display);
    if (strncmp(display, "(string of ", 11) == 0) return strtoull(display + 11, NULL, 10);
    const char *open = strrchr(display, '(');
    if (open && open - display >= 4 && strncmp(open - 4, "... ", 4) == 0 && open[1] >= '0' &&
        open[1] <= '9') {
        char *end;
        uint64_t len = strtoull(open + 1, &end, 10);
        if (strncmp(end, " bytes, #", 9) == 0) return len;
    }
    if (n >= 3 && strcmp(display + n - 3, "...") == 0) return UINT64_MAX;
    return n;
}

/* Whether type t is a string (a pointer and a length): of the string kind,
 * or named "string" (a runtime's string header, typed as a struct). */
static bool string_type(const mp_graph *g, uint32_t t)
{
    return t != MP_NONE && (g->types[t].kind == MP_TYPE_STRING ||
                            strcmp(mp_str(g, g->types[t].name), "string") == 0);
}

/*
 * The objects the string keys and values of one map are slices of, as the
 * entry pass meets them: object -> bit 0 (a key is a slice of it) and,
 * above it, how many values point into it (counted up to 2). Only objects
 * of SLICE_MIN_OBJECT or more that the map keeps alive are put in, so the
 * tally stays small and costs nothing for maps of short strings that own
 * their bytes (the object size is looked at first).
 */
typedef struct slice_tally {
    mp_u32map m;
} slice_tally;

/* Whether x, pointed into by a string of map k, is an object large enough
 * to be a buffer that the map keeps alive (its immediate dominator lies in
 * the map's table). */
static bool slice_candidate(const mp_graph *g, const mp_dom *d, uint32_t x, uint32_t k,
                            table_memo *memo)
{
    return x != MP_NONE && mp_obj_size(g, x) >= SLICE_MIN_OBJECT && d->idom[x] != MP_NONE &&
           table_map_memo(g, d->idom[x], memo) == k;
}

/* Notes entry e of map k (string keys, or string values: vals) in t; -1
 * out of memory. */
static int slice_note(const mp_graph *g, const mp_dom *d, const mp_entry *e, bool vals,
                      table_memo *memo, slice_tally *t)
{
    const mp_map *m = &g->maps[e->map];
    uint32_t ko = e->key_obj, vo = e->value_obj;
    if (m->key_kind == MP_KEY_STRING && !m->key_indirect &&
        slice_candidate(g, d, ko, e->map, memo)) {
        char buf[32];
        uint64_t len = key_length_at_most(mp_entry_key(g, e, buf, sizeof buf));
        if (len != UINT64_MAX && mp_obj_size(g, ko) / SLICE_RATIO >= len) {
            uint32_t v = 0;
            mp_u32map_get(&t->m, ko, &v);
            if (!(v & 1) && mp_u32map_put(&t->m, ko, v | 1) < 0) return -1;
        }
    }
    if (vals && vo != ko && slice_candidate(g, d, vo, e->map, memo)) {
        uint32_t v = 0;
        mp_u32map_get(&t->m, vo, &v);
        if ((v >> 1) < 2 && mp_u32map_put(&t->m, vo, v + 2) < 0) return -1;
    }
    return 0;
}

/* The slices of one map that has some (its rare figures, findings.h):
 * found by a thread of the entry pass, given to the map's report once the
 * threads are done (the rare figures are one array of the findings). */
typedef struct slice_found {
    uint64_t bytes;
    uint32_t map, buffers;
    uint8_t of;
} slice_found;

typedef struct slice_list {
    slice_found *v;
    size_t n, cap;
} slice_list;

/* Sums the buffers of t (a key's, or one that two values or more point
 * into) into a record of map k in l, when there are some, and empties t
 * for the next map. 0, -1 out of memory. */
static int slice_close(const mp_graph *g, slice_tally *t, uint32_t k, slice_list *l)
{
    slice_found f = {0, k, 0, 0};
    for (size_t i = 0; t->m.n && i <= t->m.mask; i++) {
        uint32_t x = t->m.keys[i], v = t->m.vals[i];
        if (x == UINT32_MAX || !((v & 1) || (v >> 1) >= 2)) continue;
        f.buffers++;
        f.bytes += mp_obj_size(g, x);
        f.of |= (v & 1) ? MP_SLICE_KEYS : MP_SLICE_VALUES;
    }
    mp_u32map_free(&t->m);
    memset(&t->m, 0, sizeof t->m);
    if (!f.buffers) return 0;
    if (!MF_GROW(l->v, l->cap, l->n + 1, 16)) return -1;
    l->v[l->n++] = f;
    return 0;
}

/* Gives the slices of l to their maps' reports in out (rare figures) and
 * frees l. 0, -1 out of memory. */
static int slice_give(mp_findings *out, slice_list *l)
{
    int rc = 0;
    for (size_t i = 0; i < l->n && !rc; i++) {
        mp_map_rare *x = mp_report_rare_w(out, &out->maps[l->v[i].map]);
        if (!x) {
            rc = -1;
            break;
        }
        x->slice_bytes = l->v[i].bytes;
        x->slice_buffers = l->v[i].buffers;
        x->slice_of = l->v[i].of;
    }
    free(l->v);
    memset(l, 0, sizeof *l);
    return rc;
}

/*
 * Which of an entry's targets t[0..nt) that it owns (own[i]) are its
 * alone (alone[i], see entry_alone): the references from under the
 * targets that are its alone do not count, and a target is its alone only
 * if the references to it come from the entry's slots and from there. So
 * the set is found from the top: every owned target at first, then those
 * found alone, until it no longer shrinks (it only shrinks: at most nt
 * rounds, and one when no target is held from elsewhere).
 */
static void entry_targets_alone(const mp_graph *g, const mp_dom *d, const mp_stale_words *stale,
                                const uint32_t *owner, uint32_t map, bool all_live,
                                const uint32_t *t, const uint32_t *words, const bool *own,
                                size_t nt, bool *alone)
{
    uint32_t mine[MP_ENTRY_MAX_TARGETS];
    size_t nmine = 0;
    for (size_t i = 0; i < nt; i++)
        if (own[i]) mine[nmine++] = t[i];
    for (;;) {
        size_t kept = 0;
        entry_own eo = {mine, nmine, 0, false};
        /* the bits first (in owner[], read already: mine are unowned);
         * the largest size matters only when one of them is deep */
        for (size_t i = 0; i < nmine && !eo.deep; i++) eo.deep = word(owner, mine[i]) & DEEP_BIT;
        for (size_t i = 0; i < nmine && eo.deep; i++)
            if (d->retained[mine[i]] > eo.most) eo.most = d->retained[mine[i]];
        for (size_t i = 0; i < nt; i++) {
            alone[i] = false;
            if (!own[i]) continue;
            uint32_t hs[MAX_STALE];
            size_t nhs = stale_holders(stale, map, t[i], hs);
            bool multi = word(owner, t[i]) & MULTI_BIT;
            alone[i] = entry_alone(g, d, t[i], multi, words[i], all_live, hs, nhs, &eo);
            kept += alone[i];
        }
        if (kept == nmine) return; /* every one of mine is alone: the set holds */
        assert(kept < nmine);
        nmine = 0;
        for (size_t i = 0; i < nt; i++)
            if (alone[i]) mine[nmine++] = t[i];
    }
}

/*
 * Asks for what the entry pass will read of value v, once its word (asked
 * for before) has come in: when an entry of map k owns v by its immediate
 * dominator (the common case), v's retained size when it is likely to be
 * read -- when nothing but the slot holds v (it is then the entry's alone)
 * or v retains more than itself (its size then bounds the walk of
 * under_entry) -- and, when more than one reference points at v, where
 * its holders' offset lies (holders_at reads it later). A value held
 * from elsewhere too (a list's next object, a shared value) is seldom
 * alone, and its size is left in memory until asked for.
 */
static inline void prefetch_value(const mp_graph *g, const mp_dom *d, const uint32_t *owner,
                                  uint32_t v, uint32_t k)
{
    uint32_t w = word(owner, v);
    if (!unowned(w) || (w & HINT_MASK) >= HINT_MAPS || (w & HINT_MASK) != k) return;
    if (w & MULTI_BIT) __builtin_prefetch(&g->in.at[v]);
    if (!(w & MULTI_BIT) || (w & DEEP_BIT)) __builtin_prefetch(&d->retained[v]);
}

/* Asks for the holders of value v, prefetch_value's offset of them having
 * come in, when prefetch_value asked for it. */
static inline void prefetch_holders(const mp_graph *g, const uint32_t *owner, uint32_t v, uint32_t k)
{
    uint32_t w = word(owner, v);
    if (!unowned(w) || (w & HINT_MASK) >= HINT_MAPS || (w & HINT_MASK) != k || !(w & MULTI_BIT))
        return;
    __builtin_prefetch(&g->in.adj[mp_in_begin(g, v)]);
}

/* Asks for the sizes slice_note reads of entry e's string key and value:
 * objects all over the heap, one a string. (The string type is told by its
 * kind alone here; a fetch is only a hint.) */
MP_FETCH_ONLY void prefetch_string_sizes(const mp_graph *g, const mp_entry *e)
{
    if (e->map >= g->nmaps) return;
    const mp_map *m = &g->maps[e->map];
    if (e->key_obj != MP_NONE && m->key_kind == MP_KEY_STRING && !m->key_indirect)
        __builtin_prefetch(&g->size32[e->key_obj]);
    if (e->value_obj != MP_NONE && e->value_obj != e->key_obj && m->value_type < g->ntypes &&
        g->types[m->value_type].kind == MP_TYPE_STRING)
        __builtin_prefetch(&g->size32[e->value_obj]);
}

/*
 * The fetches go a group of ENTRY_GROUP entries at a time, in three
 * stages a group apart: the words of the entries three groups ahead, the
 * sizes and holders' offsets of those two ahead (their words in by then),
 * the holders of the next group (their offsets in). Each stage is a short
 * loop of fetches and little else. A fetch whose address misses the
 * processor's TLB waits for the page walk before it completes, and at
 * 100M objects (gigabytes read at random) nearly every one misses and
 * its walk misses the cache too: with the fetches spread one an entry
 * among the entry's own work, the reorder window held one or two of them
 * and the walks ran one after the other; bunched, a group's walks overlap.
 */
#define ENTRY_GROUP 16
#define ENTRY_AHEAD (4 * ENTRY_GROUP) /* entries read ahead of the look (< ENTRY_CHUNK) */

/*
 * The fetches for the groups ahead of the one starting at es[j] (the
 * window holds es[..got), of this map and the next ones): the holders of
 * the next group, the sizes and holders' offsets of the one after, the
 * words of the third (see ENTRY_GROUP). The stages go from the nearest
 * group to the farthest, so that each reads what the stage before asked
 * for a group's time ago.
 */
static void prefetch_groups(const mp_graph *g, const mp_dom *d, const uint32_t *owner,
                            const mp_entry *es, size_t j, size_t got)
{
    size_t a = j + ENTRY_GROUP, b = a + ENTRY_GROUP, c = b + ENTRY_GROUP, e = c + ENTRY_GROUP;
    for (size_t i = a; i < b && i < got; i++)
        if (es[i].value_obj != MP_NONE) prefetch_holders(g, owner, es[i].value_obj, es[i].map);
    for (size_t i = b; i < c && i < got; i++) {
        if (es[i].value_obj != MP_NONE) prefetch_value(g, d, owner, es[i].value_obj, es[i].map);
        if (es[i].key_obj != MP_NONE && es[i].key_obj != es[i].value_obj)
            prefetch_value(g, d, owner, es[i].key_obj, es[i].map);
        prefetch_string_sizes(g, &es[i]);
    }
    /* their words: whether their entry owns them, and what else it reads
     * about them */
    for (size_t i = c; i < e && i < got; i++) {
        if (es[i].value_obj != MP_NONE) __builtin_prefetch(&owner[es[i].value_obj]);
        if (es[i].key_obj != MP_NONE) __builtin_prefetch(&owner[es[i].key_obj]);
    }
}

/*
 * One pass over the entries of maps k0..k1-1, map by map, in the graph's
 * order: which key and value objects each entry owns, what they retain,
 * which values are shared, and whether keys point at objects; each entry's
 * record appended to `info`. The entries are read a chunk at a time (they
 * are packed, perhaps on disk) so that the objects of the next ones can be
 * fetched while the current ones wait on memory: entries point all over
 * the heap.
 *
 * Two passes over disjoint ranges of maps may run at once (mp_entry_pass):
 * each writes the reports of its own maps, its own `counted` bitmap and
 * `info`, and owner[x] only for an x it owns. An entry owns x only when x's
 * immediate dominator lies in the table of the entry's map, or nothing but
 * the entry's slot and stale words of its map hold x, so no other map's
 * entry ever owns x: owner[x] is written by one pass alone, and what the
 * other learns from it (that its own entries do not own x by its
 * dominator, that x is reachable) is the same before and after the write
 * (see UNOWNED_BIT).
 */
#define ENTRY_CHUNK 256
_Static_assert(ENTRY_AHEAD < ENTRY_CHUNK, "a window holds the entries fetched ahead and more");
typedef struct entry_range {
    const mp_graph *g;
    const mp_dom *d;
    mp_findings *out;
    uint32_t *owner;
    uint8_t *counted;            /* clear; left clear */
    size_t k0, k1;               /* the maps */
    mp_pack *info;               /* where the entries' records go */
    const mp_stale_words *stale; /* built before the passes, read by both */
    const mp_tables *tables;     /* or NULL; read by both */
    int rc;
    slice_list slices; /* of its maps, in map order: slice_give */
} entry_range;

static int entry_maps(entry_range *er)
{
    const mp_graph *g = er->g;
    const mp_dom *d = er->d;
    const mp_stale_words *stale = er->stale;
    mp_findings *out = er->out;
    uint32_t *owner = er->owner;
    uint8_t *counted = er->counted;
    mp_entry *es = malloc(ENTRY_CHUNK * sizeof *es);
    uint32_t *marked = NULL; /* values marked in `counted` for the current map */
    size_t nmarked = 0, capmarked = 0;
    if (!es) return -1;
    /* es[at..got): the window of entries read, of this map and the next
     * ones (a heap of millions of maps of an entry or two would otherwise
     * fetch nothing ahead); each one is looked at once ENTRY_AHEAD more
     * are read behind it (or the last ones are), so that the fetches for
     * the entries ahead never stop at a window's end. The maps' entries
     * follow one another in the graph's order: the range's are those from
     * its first map's on to the next range's. */
    size_t first = er->k0 < g->nmaps ? g->maps[er->k0].first_entry : 0;
    size_t end = er->k1 < g->nmaps ? g->maps[er->k1].first_entry : g->nentries;
    size_t at = 0, got = 0, seen = 0, left = end > first ? end - first : 0;
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, first);
    /* every object reached: an in-edge is a live reference, unchecked */
    bool all_live = out->heap_objects == g->nobjects;
    table_memo memo = TABLE_MEMO_INIT;
    table_memo_use(&memo, er->tables);
    mp_entry_reader rd = MP_ENTRY_READER_INIT;
    slice_tally slices = {{0}};
    int rc = 0;
    for (size_t k = er->k0; k < er->k1 && !rc; k++) {
        const mp_map *m = &g->maps[k];
        mp_map_report *r = &out->maps[k];
        size_t mine = m->nentries; /* of the map's, not looked at yet */
        bool str_vals = mine && string_type(g, m->value_type);
        bool slices_asked = str_vals || (m->key_kind == MP_KEY_STRING && !m->key_indirect);
        while (mine && !rc) {
            if (got - at <= ENTRY_AHEAD && left) {
                got = mp_entry_window_fill(&c, es, ENTRY_CHUNK, &at, got, &left);
                if (got < ENTRY_CHUNK && left) {
                    rc = -1; /* the packed entries could not be read back */
                    break;
                }
            }
            if (at == got) {
                rc = -1; /* fewer entries than the maps say */
                break;
            }
            size_t stop = left ? got - ENTRY_AHEAD : got;
            if (stop - at > mine) stop = at + mine;
            mine -= stop - at;
            for (size_t j = at; j < stop; j++) {
                const mp_entry *e = &es[j];
                assert(e->map == k);
                if (seen++ % ENTRY_GROUP == 0) prefetch_groups(g, d, owner, es, j, got);
                /* a key points at an object: its key_obj, or for a key
                 * stored in an object of its own, whatever that object
                 * points to */
                uint32_t ko = e->key_obj;
                if (ko != MP_NONE && (!m->key_indirect || mp_out_end(g, ko) > mp_out_begin(g, ko)))
                    r->key_pointers = true;
                bool key_owned = owns(g, d, e, e->key_obj, &memo, stale, owner);
                bool val_owned =
                    e->value_obj != e->key_obj && owns(g, d, e, e->value_obj, &memo, stale, owner);
                /* what the entry retains: every object its key and value
                 * slots point to that it owns (a struct value's second and
                 * third pointers too), each counted once */
                uint32_t t[MP_ENTRY_MAX_TARGETS], words[MP_ENTRY_MAX_TARGETS];
                size_t nk, nt = mp_entry_targets(g, &rd, e, t, words, &nk);
                bool own[MP_ENTRY_MAX_TARGETS], alone[MP_ENTRY_MAX_TARGETS];
                for (size_t i = 0; i < nt; i++)
                    own[i] = owns(g, d, e, t[i], &memo, stale, owner) && unowned(word(owner, t[i]));
                entry_targets_alone(g, d, stale, owner, (uint32_t)k, all_live, t, words, own, nt,
                                    alone);
                uint64_t ret = 0;
                for (size_t i = 0; i < nt; i++) {
                    if (!own[i]) continue;
                    __atomic_store_n(&owner[t[i]], (uint32_t)k, __ATOMIC_RELAXED);
                    if (!alone[i]) continue;
                    ret += d->retained[t[i]];
                    if (i < nk) r->keys_retained += d->retained[t[i]];
                }
                r->entries_retained += ret;
                uint32_t v = e->value_obj;
                bool shared = false;
                if (v != MP_NONE && !val_owned && !(key_owned && v == e->key_obj) &&
                    table_map_memo(g, v, &memo) != e->map && reached(d, owner, v)) {
                    shared = true;
                    r->shared_entries++;
                    if (!mp_bit(counted, v)) {
                        r->shared_bytes += d->retained[v];
                        if (nmarked == capmarked) {
                            size_t nc = capmarked ? capmarked * 2 : 256;
                            uint32_t *q = realloc(marked, nc * sizeof *q);
                            if (!q) {
                                rc = -1;
                                break;
                            }
                            marked = q;
                            capmarked = nc;
                        }
                        marked[nmarked++] = v;
                        counted[v >> 3] |= (uint8_t)(1u << (v & 7));
                    }
                }
                uint64_t info[2] = {ret, shared};
                mp_pack_add(er->info, info);
                if (slices_asked && slice_note(g, d, e, str_vals, &memo, &slices) < 0) {
                    rc = -1;
                    break;
                }
            }
            at = stop;
        }
        for (size_t i = 0; i < nmarked; i++) counted[marked[i] >> 3] = 0;
        nmarked = 0;
        if (slice_close(g, &slices, (uint32_t)k, &er->slices)) rc = -1;
    }
    mp_entry_reader_free(&rd);
    mp_entry_cursor_free(&c);
    free(es);
    free(marked);
    if (mp_pack_failed(er->info)) rc = -1;
    return rc;
}

static void entry_part(void *arg, unsigned t, unsigned n)
{
    (void)n;
    entry_range *er = (entry_range *)arg + t;
    er->rc = entry_maps(er);
}

/* The first map of the second half of the entries (by count), or 0 when
 * the entries do not split in two: a single map, or maps whose entries do
 * not follow one another in the graph's order. */
static size_t entry_split(const mp_graph *g)
{
    size_t at = 0, half = g->nentries / 2, best = 0, best_gap = SIZE_MAX;
    for (size_t k = 0; k < g->nmaps; k++) {
        if (g->maps[k].first_entry != at) return 0;
        size_t gap = at > half ? at - half : half - at;
        if (k > 0 && gap < best_gap) best = k, best_gap = gap;
        at += g->maps[k].nentries;
    }
    return at == g->nentries ? best : 0;
}

/* The bytes of the second half's records kept in memory before they go
 * to a file (then a few MiB at a time): the store only waits for the first
 * half to end. */
#define SECOND_HALF_SPILL ((uint64_t)1 << 20)
/* The same for every entry's records (mp_findings.entry_info): a few bytes
 * an entry, tens of MiB at 10M entries, that the analysis adds on top of
 * the graph, its paths and tree just when the process is at its largest,
 * though they are only read by map (a cursor) or a few at a time. */
#define ENTRY_INFO_SPILL ((uint64_t)1 << 20)

/* The spill threshold of a store the findings keep: `bytes`, or the
 * user's lower one (mp_spill_bytes); 0 when the user keeps every store in
 * memory. */
static uint64_t spill_at_most(uint64_t bytes)
{
    uint64_t spill = mp_spill_bytes();
    return spill < bytes ? spill : bytes;
}

/*
 * Every entry's figures (entry_maps), into out->entry_info in the graph's
 * order. With two processors and entries in more than one map, the maps
 * split in two halves of about as many entries, run at once; the second's
 * records are kept in a store of their own (spilled to a file past a few
 * MiB, to keep the peak memory) and appended after the first's.
 * `counted` is a clear bitmap of an object a bit; the second half takes one
 * of its own. er[0] and er[1] (zero) receive the halves' ranges, with the
 * slices each found.
 */
static int entry_run(const mp_graph *g, const mp_dom *d, mp_findings *out, uint32_t *owner,
                     uint8_t *counted, const mp_stale_words *stale, const mp_tables *tables,
                     entry_range *er)
{
    er[0] = (entry_range){.g = g,
                          .d = d,
                          .out = out,
                          .owner = owner,
                          .counted = counted,
                          .k1 = g->nmaps,
                          .info = &out->entry_info,
                          .stale = stale,
                          .tables = tables};
    size_t split = mp_threads() >= 2 ? entry_split(g) : 0;
    if (!split) return entry_maps(&er[0]);
    mp_pack second;
    mp_pack_init(&second, 2);
    mp_pack_spill(&second, spill_at_most(SECOND_HALF_SPILL));
    uint8_t *counted2 = mf_zeroed(g->nobjects / 8 + 1, 1);
    if (!counted2) {
        mp_pack_free(&second);
        return entry_maps(&er[0]);
    }
    er[0].k1 = split;
    er[1] = (entry_range){.g = g,
                          .d = d,
                          .out = out,
                          .owner = owner,
                          .counted = counted2,
                          .k0 = split,
                          .k1 = g->nmaps,
                          .info = &second,
                          .stale = stale,
                          .tables = tables};
    mp_parallel(2, entry_part, er);
    int rc = er[0].rc || er[1].rc ? -1 : 0;
    if (!rc) {
        mp_pack_cursor c;
        mp_pack_cursor_init(&c, &second, 0);
        uint64_t rec[2 * MP_PACK_BLOCK];
        size_t n = 0;
        for (size_t got; (got = mp_pack_next_many(&c, rec, MP_PACK_BLOCK)) > 0;)
            for (size_t i = 0; i < got; i++, n++) mp_pack_add(&out->entry_info, rec + 2 * i);
        mp_pack_cursor_free(&c);
        if (n != second.n) rc = -1; /* the spill could not be read back */
    }
    free(counted2);
    mp_pack_free(&second);
    return rc;
}

/* entry_run, then the slices found given to their maps' reports, the
 * first half's maps first (map order). */
static int entry_halves(const mp_graph *g, const mp_dom *d, mp_findings *out, uint32_t *owner,
                        uint8_t *counted, const mp_stale_words *stale, const mp_tables *tables)
{
    entry_range er[2];
    memset(er, 0, sizeof er);
    int rc = entry_run(g, d, out, owner, counted, stale, tables, er);
    if (slice_give(out, &er[0].slices)) rc = -1;
    if (slice_give(out, &er[1].slices)) rc = -1;
    return rc;
}

uint8_t *mp_table_summary(const mp_graph *g)
{
    uint8_t *s = calloc(g->nobjects / TABLE_SPAN / 8 + 1, 1);
    if (!s) return NULL;
    for (size_t i = 0; i < g->ntable_objs; i++) {
        size_t c = (uint32_t)(g->table_objs[i] >> 32) / TABLE_SPAN;
        s[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    return s;
}

void mp_entry_info_init(mp_pack *info)
{
    mp_pack_init(info, 2);
    mp_pack_spill(info, spill_at_most(ENTRY_INFO_SPILL));
}

uint32_t mp_entry_table_hint(uint32_t k)
{
    return k < HINT_MAPS ? k : HINT_UNKNOWN;
}

/* The words of objects x0..x1-1 before the pass (see UNOWNED_BIT). */
typedef struct word_range {
    const mp_graph *g;
    const mp_dom *d;
    uint32_t *owner;
    const mp_tables *tables;
} word_range;

static void fill_words(void *arg, unsigned t, unsigned nt)
{
    const word_range *wr = arg;
    const mp_graph *g = wr->g;
    const mp_dom *d = wr->d;
    size_t n = g->nobjects, x0 = n / nt * t, x1 = t + 1 == nt ? n : n / nt * (t + 1);
    table_memo memo = TABLE_MEMO_INIT;
    table_memo_use(&memo, wr->tables);
    for (size_t x = x0; x < x1; x++) {
        uint32_t i = d->idom[x], h = HINT_NO_TABLE;
        if (i == MP_NONE)
            h = HINT_UNREACHED;
        else if (i < n) {
            uint32_t k = table_map_memo(g, i, &memo);
            if (k != MP_NONE) h = mp_entry_table_hint(k);
        }
        /* the starts modulo 2^32: their difference is the count */
        uint32_t refs = g->in.at[x + 1] - g->in.at[x];
        wr->owner[x] = UNOWNED_BIT | (mp_dom_deep(g, d, (uint32_t)x) ? DEEP_BIT : 0) |
                       (refs > 1 ? MULTI_BIT : 0) | h;
    }
}

/* Sets the words of the objects no entry owns back to MP_NONE. */
static void clear_words(void *arg, unsigned t, unsigned nt)
{
    const word_range *wr = arg;
    size_t n = wr->g->nobjects, x0 = n / nt * t, x1 = t + 1 == nt ? n : n / nt * (t + 1);
    for (size_t x = x0; x < x1; x++)
        if (unowned(wr->owner[x])) wr->owner[x] = MP_NONE;
}

/* entry_halves, with the stale words of the maps' old bucket arrays
 * gathered first, once, for both halves to read, and the objects' words
 * (UNOWNED_BIT) filled in owner before and cleared after. Map numbers
 * must stay below UNOWNED_BIT, where the words of unowned objects start:
 * a graph of 2^31 maps or more (as many objects at least) is refused. */
int mp_entry_pass(const mp_graph *g, const mp_dom *d, mp_findings *out, uint32_t *owner,
                  uint8_t *counted, const mp_tables *tables)
{
    if (!mp_entry_pass_takes(g->nmaps)) return -1;
    mp_stale_words stale;
    if (mp_stale_words_build(g, &stale) < 0) return -1;
    word_range wr = {g, d, owner, tables};
    mp_parallel(mp_threads() >= 2 ? 2 : 1, fill_words, &wr);
    int rc = entry_halves(g, d, out, owner, counted, &stale, tables);
    mp_parallel(mp_threads() >= 2 ? 2 : 1, clear_words, &wr);
    mp_stale_words_free(&stale);
    return rc;
}

uint64_t mp_findings_entry(const mp_findings *f, size_t i, bool *shared)
{
    uint64_t info[2];
    mp_pack_get(&f->entry_info, i, info);
    if (shared) *shared = info[1] != 0;
    return info[0];
}

void mp_findings_cursor_init(mp_findings_cursor *c, const mp_findings *f, size_t first)
{
    mp_pack_cursor_init(&c->c, &f->entry_info, first);
}

bool mp_findings_next(mp_findings_cursor *c, uint64_t *ret, bool *shared)
{
    uint64_t info[2];
    if (!mp_pack_next(&c->c, info)) return false;
    *ret = info[0];
    *shared = info[1] != 0;
    return true;
}

void mp_findings_cursor_free(mp_findings_cursor *c)
{
    mp_pack_cursor_free(&c->c);
}
