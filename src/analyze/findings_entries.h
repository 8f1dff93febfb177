/*
 * src/analyze/findings_entries.h -- the findings' pass over every map
 * entry: which key and value objects each entry owns and owns alone (the
 * definitions are findings.h's), what they retain, which values are
 * shared, which string keys or values keep larger buffers alive, and the
 * map whose entry owns each object. Its records are mp_findings.entry_info
 * (read with mp_findings_entry and the cursor of findings.h).
 *
 * Internal to the findings: findings.c runs the pass and shares the table
 * look-ups below with it. Errors: -1 when out of memory (or when a spilled
 * store cannot be read back); the reports it wrote are then partial.
 */
#ifndef MP_FINDINGS_ENTRIES_H
#define MP_FINDINGS_ENTRIES_H

#include "analyze/findings.h"
#include "analyze/packed.h"

#define KIB 1024u

/* The map whose table holds object o (header, bucket arrays, overflow
 * buckets), or MP_NONE. */
static inline uint32_t table_map(const mp_graph *g, uint32_t o)
{
    return o == MP_NONE ? MP_NONE : mp_graph_table_map(g, o);
}

/* The objects of one span share a bit of a table summary (mp_table_summary). */
#define TABLE_SPAN 64

/* The last table object looked up and its map, and the table summary when
 * there is one. The walks over every entry and every dominator-tree node
 * ask about the same bucket object many times in a row (the objects of one
 * bucket's entries are its children), and each answer is a binary search
 * over all the heap's table objects: at 100M objects that search was a
 * tenth of the analysis. Most objects asked about are in no table, and
 * their bit of table_bits (an eighth of a byte an object: megabytes at
 * 100M) is a scattered read of its own; the summary, a bit per TABLE_SPAN
 * objects, stays in the processor's cache and is clear for them: table
 * objects lie together (an allocator's spans of bucket-sized objects). */
typedef struct table_memo {
    uint32_t obj, map;
    const uint8_t *summary; /* NULL: none */
    const uint32_t *rank;   /* mp_graph_table_rank, NULL: none */
} table_memo;
#define TABLE_MEMO_INIT                                                                            \
    {                                                                                              \
        MP_NONE, MP_NONE, NULL, NULL                                                               \
    }

/* Where the tables lie, for the look-ups of a pass: the summary (below)
 * and the rank directory of g->table_bits, each NULL when out of memory
 * (the look-ups then do without). On heaps of millions of small maps a
 * search over every table object per look-up was seconds. */
typedef struct mp_tables {
    uint8_t *summary;
    uint32_t *rank;
} mp_tables;

/* Memo m looks up with tables t (NULL: without). */
static inline void table_memo_use(table_memo *m, const mp_tables *t)
{
    m->summary = t ? t->summary : NULL;
    m->rank = t ? t->rank : NULL;
}

/* table_map(g, o), remembered; the bit tests first, so that the many
 * objects outside every table leave the memo as it was. */
static inline uint32_t table_map_memo(const mp_graph *g, uint32_t o, table_memo *m)
{
    if (o >= g->nobjects || !g->table_bits) return MP_NONE;
    if (m->summary && !mp_bit(m->summary, o / TABLE_SPAN)) return MP_NONE;
    if (!mp_bit(g->table_bits, o)) return MP_NONE;
    if (o != m->obj) {
        m->obj = o;
        size_t pos = mp_graph_table_pos_ranked(g, m->rank, o);
        m->map = pos == SIZE_MAX ? MP_NONE : (uint32_t)g->table_objs[pos];
    }
    return m->map;
}

/* A bit per TABLE_SPAN objects of g, set when one of them belongs to a
 * map's table (for table_memo.summary); NULL when out of memory (the
 * memo then does without). Free with free(). */
uint8_t *mp_table_summary(const mp_graph *g);

/* Whether a root points at object x (d->root_targets is sorted by target). */
static inline bool root_target(const mp_dom *d, uint32_t x)
{
    size_t lo = 0, hi = d->nroot_targets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint32_t)(d->root_targets[mid] >> 32) < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->nroot_targets && (uint32_t)(d->root_targets[lo] >> 32) == x;
}

/* Every entry's figures into out->maps (entries_retained, keys_retained,
 * shared_entries, shared_bytes, key_pointers, slice_bytes) and one record
 * an entry into out->entry_info, in the graph's order; owner (a slot per
 * object, its contents before unread) gets owner[x] = the map whose entry
 * owns object x, MP_NONE for an object no entry owns. counted: a clear
 * bitmap of an object a bit, left clear. tables: mp_table_summary(g), or
 * NULL. Runs on two threads when there are two. */
int mp_entry_pass(const mp_graph *g, const mp_dom *d, mp_findings *out, uint32_t *owner,
                  uint8_t *counted, const mp_tables *tables);

/* The maps the pass can tell apart: it keeps one 32-bit word per object,
 * whose top bit marks an object no entry owns yet, so map numbers stay
 * below it. mp_findings_compute refuses a graph of MP_ENTRY_MAX_MAPS maps
 * or more with a message saying so (as many objects at least: 2^31). */
#define MP_ENTRY_MAX_MAPS 0x80000000u
/* Whether the pass takes a graph of nmaps maps. */
static inline bool mp_entry_pass_takes(size_t nmaps)
{
    return nmaps < MP_ENTRY_MAX_MAPS;
}

/* What the pass keeps in the word of an object whose immediate dominator
 * lies in map k's table: k itself for maps below MP_ENTRY_HINT_MAPS (2^28
 * - 3: the word's low 28 bits, less three values of other meanings), else
 * MP_ENTRY_HINT_UNKNOWN, for which the pass reads the dominator again (the
 * same answers, a random read more per object of those maps). */
#define MP_ENTRY_HINT_UNKNOWN 0x0fffffffu
#define MP_ENTRY_HINT_MAPS (MP_ENTRY_HINT_UNKNOWN - 2)
uint32_t mp_entry_table_hint(uint32_t k);

/* Readies out->entry_info (empty) for mp_entry_pass. */
void mp_entry_info_init(mp_pack *info);

#endif
