/*
 * src/analyze/findings.h -- what the paths and dominators say about maps:
 * per map its retaining roots, chain, table figures and entries; and the
 * leak suspects, ranked, each with its evidence.
 *
 * Definitions (all in bytes of objects as the input sizes them):
 *   - the table of a map: its header, bucket arrays (new and old) and
 *     overflow buckets (g->maps[m].table_bytes);
 *   - an entry owns an object its key or value slot points to (any of
 *     the slot's pointers, mp_entry_targets: a struct value may hold
 *     several) when that object's immediate dominator is part of the map's
 *     table (no other path keeps it alive), or when no root and nothing
 *     but the entry's slot and the stale words of the map's evacuated old
 *     buckets point at it (an iterator holding the old bucket array of an
 *     unfinished growth); the entry's retained size is the sum of the
 *     retained sizes of the objects it owns and no other live object
 *     refers to, stale words aside, and references from under the
 *     entry's own such objects aside (a value pointing back at its key, a
 *     part of a value at the value: deleting the entry frees them all);
 *     an object that several entries of the map hold is the map's, but no
 *     entry's (deleting one of them frees nothing); an entry whose value
 *     object (its slot's first pointer) it does not own is "shared"
 *     (another root reaches the value too);
 *   - the retained size of a map: the retained sizes (dominator tree) of
 *     its table objects that no other object of its table dominates: the
 *     header's, plus a bucket array's that a stray root word also reaches
 *     (table and owned entries included);
 *   - significant: retained at least max(64 KiB, 1% of the reachable heap).
 * Evidence of a leak (bits of mp_map_report.evidence):
 *   LARGE_SHARE     retains >= large_share_pct of the reachable heap, alone
 *                   or with other roots (retained + shared_bytes);
 *   EMPTIED         table of >= 64 KiB at most 1/16 full: delete never
 *                   shrinks a map (recreate it);
 *   ITERATOR_ONLY   every root that reaches the header is an iterator, or a
 *                   stack word in the frame of such an iterator (its fields);
 *   STACK_FRAME     significant and held only by stack/register roots;
 *   POINTER_KEYS    keys carry pointers (pointer keys, or keys of a type
 *                   with pointer fields) and the key objects the map owns
 *                   retain >= 64 KiB (or half of the map);
 *   OLD_BUCKETS     an unfinished growth keeps an old bucket array, in a
 *                   map that holds >= 64 KiB (its score);
 *   SLICE_BUFFERS   string keys (or values) are slices of larger objects
 *                   that the map keeps alive (each such object's immediate
 *                   dominator lies in the map's table), of >= 64 KiB
 *                   together (or half of the map): a key points into an
 *                   object of >= 1 KiB and >= 8 times its length; a string
 *                   value, whose length the input does not give, counts
 *                   when two or more entries' values point into one such
 *                   object. The substring retention leak: a few short
 *                   strings keep whole buffers alive;
 *   NAN_KEYS        entries under float NaN keys (mp_map_aside.nan_keys): a NaN
 *                   equals nothing, so no lookup or delete finds them again
 *                   and only clearing or dropping the map frees them;
 *   GROWING         set by the caller from a diff (see mp_findings_mark_growth).
 * Context, shown with a map but no evidence of a leak (MP_EV_CONTEXT):
 *   SHARED_ENTRIES  entries whose values another root also reaches;
 *   SEVERAL_ROOTS   the header itself is reached by more than one holder.
 *   SYNC_MAP        a Go sync.Map (mp_map.sync_map): one map of its read and
 *                   dirty maps, its table both tables, its entries the
 *                   dirty map's, the read map's words to them its own.
 * Suspects inside a map: a suspect map whose header lies in the dominator
 * subtree of a table object of map k, or of a value an entry of k shares,
 * is inside k; its bytes (its header's retained size) are its finding,
 * not k's (inner_bytes: those of the outermost such suspects). It is
 * judged by what it holds of its own: besides the maps nested in it that
 * are judged on their own, the candidates (maps that are suspects by their
 * own bytes), suspect or not in the end (nested_bytes: those of the
 * outermost such candidates).
 * score = retained + bytes retained by its shared entries - nested_bytes;
 * LARGE_SHARE and STACK_FRAME weigh the score. A map is a suspect when it
 * has evidence and its score is significant, or has the EMPTIED or
 * OLD_BUCKETS evidence; suspects are ranked growing first, then by score.
 *
 * Memory: results own their arrays (mp_findings_free). Errors: -1 with err
 * set when out of memory.
 */
#ifndef MP_FINDINGS_H
#define MP_FINDINGS_H

#include "analyze/chain.h"
#include "analyze/dominators.h"
#include "analyze/graph.h"
#include "analyze/paths.h"

#include <math.h>

enum {
    MP_EV_LARGE_SHARE = 1u << 0,
    MP_EV_EMPTIED = 1u << 1,
    MP_EV_ITERATOR_ONLY = 1u << 2,
    MP_EV_STACK_FRAME = 1u << 3,
    MP_EV_POINTER_KEYS = 1u << 4,
    MP_EV_OLD_BUCKETS = 1u << 5,
    MP_EV_SHARED_ENTRIES = 1u << 6,
    MP_EV_SEVERAL_ROOTS = 1u << 7,
    MP_EV_GROWING = 1u << 8,
    MP_EV_SLICE_BUFFERS = 1u << 9,
    MP_EV_NAN_KEYS = 1u << 10,
    MP_EV_SYNC_MAP = 1u << 11,
};
#define MP_EV_COUNT 12
_Static_assert(MP_EV_COUNT <= 16, "mp_map_report.evidence holds 16 bits");
/* mp_map_rare.slice_of */
enum { MP_SLICE_KEYS = 1, MP_SLICE_VALUES = 2 };
/* The bits that are context, not evidence of a leak. */
#define MP_EV_CONTEXT (MP_EV_SHARED_ENTRIES | MP_EV_SEVERAL_ROOTS | MP_EV_SYNC_MAP)
/* Stable short names ("large_share", "emptied", ...) for JSON and tests. */
const char *mp_evidence_name(unsigned bit_index);

#define MP_MAX_LISTED_ROOTS 16
/* The most mp_map_report.nroots says: that many means more holders reach
 * the map than a report lists, how many more not counted (the count is a
 * transitive closure's, quadratic on a long list of holders). */
#define MP_MANY_ROOTS (MP_MAX_LISTED_ROOTS + 1)
#define MP_MAX_SITES 3

/* An allocation site (a frame's function, file and line: see
 * mp_stack_site) and the sampled objects allocated there; stack is one of
 * the stacks of that site. */
typedef struct mp_site_count {
    uint32_t stack;
    uint32_t samples;
} mp_site_count;

/*
 * The figures of a map that few maps have: sampled allocations under its
 * entries, an unfinished growth's old buckets, slices of buffers, suspect
 * maps inside it, a growth a diff found. They lie out of
 * line (mp_findings.rare), so that the report of each of millions of tiny
 * maps stays small; mp_report_rare reads them (all zero, inner_map
 * MP_NONE, for a map that has none), mp_report_rare_w makes them.
 */
typedef struct mp_map_rare {
    uint64_t sampled_objects; /* sampled allocations its entries own */
    uint64_t old_bytes;       /* old bucket array(s) of an unfinished growth */
    uint64_t slice_bytes;     /* see slice_buffers */
    /* bytes of suspect maps whose headers lie in what it retains or shares
     * (a map of maps, a value holding a map): theirs, not its; inner_map:
     * the largest of them, MP_NONE none */
    uint64_t inner_bytes;
    /* bytes of the maps nested in it that are judged on their own (the
     * outermost candidates inside it, suspect or not): what its score
     * leaves out, see attribute_inner */
    uint64_t nested_bytes;
    uint64_t growth_entries; /* set by mp_findings_mark_growth: entries added since before */
    int64_t growth_bytes;
    int64_t inner_growth; /* set by mp_findings_rerank: the growth_bytes of growing
                             suspects whose headers its table objects dominate */
    uint32_t inner_map;
    /* SLICE_BUFFERS: the distinct objects its string keys and values are
     * slices of, and their bytes (slice_bytes); slice_of: whose slices
     * they are, MP_SLICE_KEYS | MP_SLICE_VALUES */
    uint32_t slice_buffers;
    uint32_t sites_at; /* where its sites start in the findings' site_counts */
    uint8_t nsites;    /* sampled allocation sites of owned objects (at most
                          MP_MAX_SITES, most samples first): mp_report_sites */
    uint8_t slice_of;
} mp_map_rare;

/*
 * What the analysis finds for one map. A heap may hold millions of maps, most
 * of them tiny, so the record is kept small: the fields in decreasing size
 * (no padding but at the end), the holders listed past the first, the
 * allocation sites and the rare figures (mp_map_rare) out of line, in arrays
 * of the findings that only the maps having them use (mp_report_root,
 * mp_report_sites, mp_report_rare read them); the load and fill of its
 * table are the map's (mp_map_load, mp_map_fill).
 */
typedef struct mp_map_report {
    uint64_t retained;
    uint64_t entries_retained; /* by the entries it owns */
    uint64_t keys_retained;    /* by owned key objects */
    uint64_t shared_entries, shared_bytes;
    uint64_t score; /* retained + shared_bytes - nested_bytes: what it is judged by */
    uint32_t map;
    uint32_t root;       /* the single holder that keeps the header alive (its first
                            root word), MP_NONE if several/none */
    uint32_t path_root;  /* the root the path to the header starts from (see paths.h) */
    uint32_t nroots;     /* holders reaching the header (a frame's or a global's
                            several words count once), up to MP_MANY_ROOTS; the first
                            mp_report_nlisted of them are listed, by priority
                            (each holder's first root word): mp_report_root */
    uint32_t root0;      /* the first listed holder (nroots >= 1) */
    uint32_t roots_more; /* where the listed holders after the first start in
                            the findings' more_roots (nroots >= 2) */
    uint32_t rare;       /* 1 + the index of its rare figures in the findings' rare, 0 none */
    uint16_t evidence;   /* MP_EV_* bits: MP_EV_COUNT of them */
    bool suspect;
    bool key_pointers; /* a key of it points at an object (POINTER_KEYS) */
} mp_map_report;

typedef struct mp_findings_options {
    double large_share_pct; /* default 10 */
    bool all_groups;        /* every group of maps (groups.h), not only those that could pass */
} mp_findings_options;

/* A suspect map inside another map's bytes (see above): through a table
 * object of outer (shared 0) or a value outer shares (shared 1). */
typedef struct mp_inner_pair {
    uint32_t outer, inner;
    uint32_t shared;
} mp_inner_pair;

typedef struct mp_findings {
    uint64_t heap_bytes; /* reachable bytes */
    uint64_t heap_objects;
    uint64_t significant; /* max(64 KiB, 1% of heap_bytes): the yardstick of a score */
    double share_pct;     /* the large_share_pct the maps were judged by */
    mp_map_report *maps;  /* one per g->maps, in g's order */
    size_t nmaps;
    uint32_t *ranked; /* suspects first (ranked), then other maps by retained */
    size_t nsuspects;
    /* per entry of the graph: (retained, shared: 1 if its value is not
     * owned), packed (mp_findings_entry reads it); written once, in
     * order, and read by map or a few entries at a time, it moves to a
     * temporary file past a MiB (mp_spill_bytes, when lower, rules) */
    mp_pack entry_info;
    bool entry_info_lent; /* entry_info lies in g's index: not freed */
    uint32_t *holder;     /* per g->roots: the first root word of its holder */
    /* the listed holders of every map after its first, a map's together
     * (mp_map_report.roots_more): most maps have one holder, and list
     * none here */
    uint32_t *more_roots;
    size_t nmore_roots, cap_more_roots;
    /* the allocation sites of every map that has some, a map's together
     * (mp_map_rare.sites_at) */
    mp_site_count *site_counts;
    size_t nsite_counts, cap_site_counts;
    mp_inner_pair *inner; /* every suspect inside a map, once per map */
    size_t ninner;
    /* the rare figures of the maps that have some (mp_map_report.rare) */
    mp_map_rare *rare;
    size_t nrare, cap_rare;
} mp_findings;

/* How many of the holders reaching r's header it lists: nroots, at most
 * MP_MAX_LISTED_ROOTS. */
static inline uint32_t mp_report_nlisted(const mp_map_report *r)
{
    return r->nroots < MP_MAX_LISTED_ROOTS ? r->nroots : MP_MAX_LISTED_ROOTS;
}

/* The i-th listed holder (i < mp_report_nlisted(r)) of r, a report of f:
 * a root index of the graph. */
static inline uint32_t mp_report_root(const mp_findings *f, const mp_map_report *r, uint32_t i)
{
    return i == 0 ? r->root0 : f->more_roots[r->roots_more + i - 1];
}

/* Counts `root` as the next holder reaching r's header (nroots + 1) and
 * lists it while fewer than MP_MAX_LISTED_ROOTS are listed. The holders of
 * one report are added in one run, no other report's in between (those
 * after its first lie together in f->more_roots). Returns 0, -1 when out
 * of memory or when another report's holders were added in between (a
 * misuse); r is then left as it was. */
int mp_report_add_root(mp_findings *f, mp_map_report *r, uint32_t root);

/* What mp_report_rare gives for a map without rare figures. */
extern const mp_map_rare mp_no_rare;

/* The rare figures of r, a report of f (mp_no_rare when it has none). */
static inline const mp_map_rare *mp_report_rare(const mp_findings *f, const mp_map_report *r)
{
    return r->rare ? &f->rare[r->rare - 1] : &mp_no_rare;
}

/* The rare figures of r, a report of f, to write: made (as mp_no_rare)
 * when it has none. NULL when out of memory. The pointer holds until the
 * next call for a map that had none (f->rare may move). */
mp_map_rare *mp_report_rare_w(mp_findings *f, mp_map_report *r);

/* Entries per main bucket (of 8 slots) of map m. */
static inline double mp_map_load(const mp_map *m)
{
    return m->B < 64 ? (double)m->count / ldexp(1.0, (int)m->B) : 0;
}

/* Entries / slots of every bucket walked (main + overflow) of map m. */
static inline double mp_map_fill(const mp_map *m)
{
    uint64_t slots = 8 * (m->nmain + m->noverflow_walked);
    return slots ? (double)m->count / (double)slots : 0;
}

/* How many allocation sites r, a report of f, has (at most MP_MAX_SITES). */
static inline uint32_t mp_report_nsites(const mp_findings *f, const mp_map_report *r)
{
    return mp_report_rare(f, r)->nsites;
}

/* The mp_report_nsites allocation sites of r, a report of f, most samples
 * first (NULL when it has none). */
static inline const mp_site_count *mp_report_sites(const mp_findings *f, const mp_map_report *r)
{
    const mp_map_rare *x = mp_report_rare(f, r);
    return x->nsites ? f->site_counts + x->sites_at : NULL;
}

/* Gives r (which has none yet) the n <= MP_MAX_SITES sites s. Returns 0,
 * -1 when out of memory (r left without). */
int mp_report_set_sites(mp_findings *f, mp_map_report *r, const mp_site_count *s, uint32_t n);

/* The findings of every map. d->root_of is lent to the computation as
 * scratch and holds its values again on return (mp_dom_fill_root_of),
 * success or not: d is otherwise only read. When g was read from an index
 * that keeps the figures of a map that depend on the graph alone
 * (g->derived.fmaps, below) and p and d are the paths and tree of that
 * index, those figures are taken from it and not computed again. */
int mp_findings_compute(const mp_graph *g, const mp_paths *p, mp_dom *d,
                        const mp_findings_options *opt, mp_findings *out, mf_error *err);
/* Entry i's retained bytes (what it owns) and whether its value is shared
 * (not owned). */
uint64_t mp_findings_entry(const mp_findings *f, size_t i, bool *shared);
/* Reading the entries' figures in order from entry `first` on: what
 * mp_findings_entry gives, without finding each record again (the store
 * is packed, and may lie in a temporary file). */
typedef struct mp_findings_cursor {
    mp_pack_cursor c;
} mp_findings_cursor;
void mp_findings_cursor_init(mp_findings_cursor *c, const mp_findings *f, size_t first);
/* The next entry's retained bytes into *ret and whether its value is
 * shared; false past the last entry (or when the store cannot be read). */
bool mp_findings_next(mp_findings_cursor *c, uint64_t *ret, bool *shared);
void mp_findings_cursor_free(mp_findings_cursor *c);
void mp_findings_free(mp_findings *f);

/*
 * What the findings of a map take from the graph alone (its paths and
 * dominator tree are the graph's too), not from the options: the pass over
 * every entry (ownership, retained and shared bytes), the allocation sites
 * of what the entries own, what the map retains and the holders reaching
 * its header. An index keeps one per map and the per-entry results
 * (mp_findings.entry_info) with the paths and tree, so that a second
 * analysis of the same snapshot skips that work (graph_index.h). Integers
 * only, no padding left undefined: the bytes are a file's.
 */
typedef struct mp_findings_saved {
    uint64_t retained, entries_retained, keys_retained;
    uint64_t shared_entries, shared_bytes, sampled_objects;
    uint32_t nroots, roots[MP_MAX_LISTED_ROOTS];
    uint32_t nsites;
    mp_site_count sites[MP_MAX_SITES];
    uint32_t key_pointers; /* 0 or 1 */
    uint32_t zero;         /* padding, 0 */
    uint64_t slice_bytes;
    uint32_t slice_buffers;
    uint32_t slice_of; /* MP_SLICE_KEYS | MP_SLICE_VALUES */
} mp_findings_saved;

/* Map k's figures of f, to keep. */
void mp_findings_save(const mp_findings *f, size_t k, mp_findings_saved *out);
/* Whether the n records at s (one per map of g) are ones mp_findings_save
 * could have made for g: every reference in range, every figure within
 * what g holds. NULL when sound, else what is wrong (in buf, size bytes).
 * (The per-entry results' store is the reader's to check.) */
const char *mp_findings_saved_check(const mp_graph *g, const mp_findings_saved *s, size_t n,
                                    char *buf, size_t size);

/* holder[r] (room for g->nroots) = the first root record (in priority
 * order) of root r's holder: the words of one frame of one thread, of one
 * global, one pin or one iterator are one holder, which every report and
 * view names once. Returns 0, -1 when out of memory. */
int mp_root_holders(const mp_graph *g, uint32_t *holder);

/* Keeps the first root word of each holder in roots[0 .. n) (a short
 * list: O(n^2)), in order; returns how many are left. */
size_t mp_findings_distinct_holders(const mp_findings *f, uint32_t *roots, size_t n);

/* Re-ranks after the caller set growth_entries/growth_bytes and
 * MP_EV_GROWING on maps that grew: growing maps become suspects, first,
 * by their growth less that of the growing suspects their tables hold
 * (f->inner). */
void mp_findings_rerank(mp_findings *f);

/* The entries of map m ordered by retained size, largest first (ties: in
 * the map's order, except that at the cut, entries with a sampled
 * allocation stack come first among the first 4096 tied ones); writes up
 * to max entry indices (into g->entries) and returns how many were
 * written. One read of the map's figures (f->entry_info, perhaps in a
 * file); O(n log (max + 4096)). */
size_t mp_findings_top_entries(const mp_graph *g, const mp_dom *d, const mp_findings *f, uint32_t m,
                               uint32_t *out, size_t max);
/* How many per-entry records mp_findings_top_entries has read, all calls of
 * the process together (a statistic the tests check; any thread). */
uint64_t mp_findings_top_reads(void);

/* The allocation stack that tells where entry e (index into g->entries)
 * was made: its value's, else its key's, else that of an object the value
 * (or key) points to directly and dominates (a value's large parts, e.g. a
 * blob, are the likelier to be sampled; an object another root reaches too
 * was made for something else, whatever the value points at); MP_NONE
 * when none of them was sampled. d: the dominator tree of g. */
uint32_t mp_entry_stack(const mp_graph *g, const mp_dom *d, uint32_t e);
/* The same for an entry already read. */
uint32_t mp_entry_stack_of(const mp_graph *g, const mp_dom *d, const mp_entry *e);

/* The allocation site of a stack: the index (into g->frames) of its first
 * frame outside the allocator (functions named mr_*, mrc_*, malloc, calloc,
 * runtime.mallocgc/newobject/... are allocator frames), or MP_NONE. */
uint32_t mp_stack_site(const mp_graph *g, uint32_t stack);

#endif
