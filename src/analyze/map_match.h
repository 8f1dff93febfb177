/*
 * src/analyze/map_match.h -- which map of one snapshot is which map of
 * another: the identity `maproot diff` and `maproot gate` both follow maps
 * by.
 *
 * A map's identity is its type, its holder, its way and an ordinal:
 *   - the holder is the root its path starts from (findings.h: path_root,
 *     the highest-priority root that reaches it, so that a stray stack word
 *     does not change it), told by what persists: "global NAME",
 *     "pin LABEL", "stack FUNCTION" (a word of the frame, or a register the
 *     frame owned: which of the two holds the map changes with every
 *     spill), "iterator FUNCTION", "runtime NAME", ...; a frame holder
 *     (stack, register, iterator) is that of one thread: maps held by
 *     frames of two threads are two maps, whatever function the frames
 *     run (a worker that exits and a new one that runs the same function
 *     hold different maps). Thread numbers are the runtime's own (a
 *     goroutine id, libmaprt's serial number), never reused within a
 *     process as an OS thread id is; across runs a deterministic program
 *     numbers its threads alike. Within one run the frame must also be
 *     the same: where both snapshots place it (the lowest address of the
 *     frame, known for a stack word), at one address;
 *   - the way from the holder to the map: the last steps of its path
 *     (mp_map_way), which tell apart maps of one type under one holder,
 *     say in two fields of one struct, whatever order a run made them in;
 *   - a Go sync.Map's map (graph.h: mp_sync_map) is held by the global
 *     that holds the sync.Map ("global main.sessionStore"), its way
 *     "sync.Map": whether it has both its maps, or only its read map
 *     (dirty promoted) or only its dirty map, it is one map of one
 *     identity; a sync.Map no global holds (a field of a struct on the
 *     heap) is held by its path's root, its way the way to that struct
 *     after "sync.Map<";
 *   - the ordinal numbers the maps that share type and holder, in the
 *     order of their header addresses.
 * Two snapshots of one run (same program and pid) keep a live map at one
 * address (the collector never moves objects), so there a map is matched
 * by header address and type first, whatever its holder looks like now --
 * while it keeps its seed: a header freed between the snapshots may be
 * reused by a new map of the same type, which draws a seed of its own, so
 * an address whose seed changed is no proof by itself. A map emptied or
 * cleared draws a new seed too, but keeps its header and its bucket
 * array, where a new map allocates one of its own: at one address, a map
 * whose seed changed is still the map it was when its header points at
 * the same bucket array, of the same size (B), and it holds most of the
 * old map's keys (more than half of those its key sketch,
 * mp_map_ident.keys, can tell; values aside, as a reload puts new ones).
 * This sign is weighed before the way, so maps that trade fields in the
 * step that clears them are each followed. Its guard: a new map the
 * allocator put in a freed map's header and bucket array has entries of
 * its own, and is not taken for the old one (one made there with most
 * of the old one's keys is: nothing recorded tells it from the old map
 * cleared and refilled, and it holds what that held); nor is a map with
 * no keys (emptied, or not yet filled), or one that grew past its old
 * bucket array (a new array), or one whose keys the sketches cannot
 * compare (many times the old map's count): these are matched by
 * identity. The
 * maps left over (and every map of snapshots of different runs) are
 * matched by identity: by type, holder and way first (within each group
 * the i-th of A by address is the i-th of B), then those still left (a
 * map whose way changed, say the list before it grew) by type and holder.
 * A map replaced by a new one under the same root thus matches its
 * predecessor.
 *
 * A map replaced copy-on-write is the exception to the address first.
 * A holder's map X of A (type, holder, way, frame) is succeeded by a map
 * Y of B when
 *   - X's address lives on in B under another holder (a reader that took
 *     X before the reload and still holds it: the map at one address
 *     under one holder, or one that only changed its way, is never
 *     taken from it),
 *   - Y has X's type, holder, way (and frame), and is new to B (no map of
 *     A is matched with it by its address: a map that came from another
 *     holder is not made from X), and
 *   - Y holds most of X's entries (more than half): the same keys with
 *     the same values (for a value that points, the same object), the
 *     proof that Y was copied from X, told from a sample of X's entries
 *     (mp_map_ident.sample); among several such maps of B, the one
 *     holding most of them (then the lowest address).
 * Y is then matched with X -- what holds the configuration is what a user
 * names it by ("global config"), and the old copy in the reader is no
 * longer it -- and the map at X's address is matched by identity as any
 * other map left over. So a map that moved to another holder stays
 * matched by its address when its old holder holds nothing of its type,
 * or a map of other entries (say the same keys with new values: a map
 * rebuilt, or copied deep, is no proof of a copy, and is left to the
 * address). X with no entries has no successor.
 *
 * Memory: the identities own their strings and samples
 * (mp_map_idents_free). Errors:
 * NULL / -1 only when out of memory.
 */
#ifndef MP_MAP_MATCH_H
#define MP_MAP_MATCH_H

#include "analyze/findings.h"
#include "analyze/graph.h"
#include "analyze/groups.h"
#include "analyze/paths.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mp_map_ident {
    uint64_t address; /* the header's address */
    char *type;       /* the map's type name ("map" when it has none) */
    char *holder;     /* as above, e.g. "global session_cache" */
    char *way;        /* as above, e.g. "Shards+8" */
    uint32_t ordinal; /* among the maps of its snapshot with this type and holder */
    uint32_t hash0;   /* the map's seed, when hash0_known */
    bool hash0_known;
    /* a frame holder's thread number + 1 (0: the holder is no frame, or
     * its thread is not known), and where its frame lies (0 unknown) */
    uint64_t frame_thread, frame_base;
    /* a uniform sample of the map's entries, to tell a copy of it (see
     * above): of the hashes of its entries (key and value) the at most
     * MP_MAP_SAMPLE smallest, ascending, distinct; none for a group */
    uint64_t *sample;
    uint32_t nsample;
    /* the address of the bucket array the header points at (0 none or
     * unknown) and B, log2 of its bucket count: a map cleared or emptied
     * keeps both */
    uint64_t buckets;
    uint32_t B;
    /* a sketch of the map's keys alone, to tell the map it was after a
     * clear (see above): of the hashes of its keys the at most
     * MP_MAP_SAMPLE smallest, ascending, distinct; none for a group */
    uint64_t *keys;
    uint32_t nkeys;
} mp_map_ident;

#define MP_MAP_SAMPLE 32

/* The identities of the maps of g (one per g->maps, in its order), from
 * the paths p and findings f of g. NULL when out of memory. */
mp_map_ident *mp_map_idents(const mp_graph *g, const mp_paths *p, const mp_findings *f);

/* The way to map m of g on its path, into buf: the steps nearest the map
 * (at most 16), from the map up, each the object left and how: an outer
 * map's entry by its key ("{\"eu-2\"}"; "{*}" for a pointer key, whose
 * value differs between runs), else the object's type and the pointer's
 * offset in it ("Shards+8"; an array's element by its offset too), ending
 * in "<+N" when N more steps lie before them; "" when a root points at the
 * header. */
void mp_map_way(const mp_graph *g, const mp_paths *p, uint32_t m, char *buf, size_t size);
void mp_map_idents_free(mp_map_ident *v, size_t n);

/* The holder text of root r of g (see above) into buf. */
void mp_root_holder(const mp_graph *g, uint32_t r, char *buf, size_t size);

/*
 * Whether root r of g is a variable that each thread has its own of: a
 * word of a thread's static thread-local storage whose module and offset
 * in the module's block are known, or a stack word whose function and
 * offset in its frame are known. The same variable of several threads has
 * the same module and offset, or the same function, source file and frame
 * offset: mp_root_variable_cmp is 0 for them (and orders the others). Its
 * text, the same for each thread's, into buf (when buf): "thread-local
 * cache", "thread-local word +0x10 of tls_caches" (no symbol),
 * "local +0x18 of hold_jobs".
 */
bool mp_root_variable(const mp_graph *g, uint32_t r, char *buf, size_t size);
int mp_root_variable_cmp(const mp_graph *g, uint32_t a, uint32_t b);

/* For each map of B, the index of the map of A it is (b_to_a[i]), or -1.
 * same_run: the two snapshots are of one process (match by address
 * first). gb: the graph b was made from, whose entries tell a
 * copy-on-write successor (see above; NULL: none is looked for). Each map
 * of A is matched at most once. O((na + nb) log), plus the entries of
 * the maps that may succeed a map whose address moved to another holder
 * (at most MP_MAP_SUCCESSORS of them for each). */
int mp_map_match(const mp_map_ident *a, size_t na, const mp_map_ident *b, size_t nb,
                 const mp_graph *gb, bool same_run, int32_t *b_to_a);

#define MP_MAP_SUCCESSORS 16

/* The identities of the groups of maps gr of g (groups.h), one per
 * group in gr's order: a group is its members' type and its holder's
 * place, told as a map's is (the holder as root text and frame of the
 * root its path starts from, the way to the holder object: "" when the
 * holder is a root's node), its address the holder object's (0 for a
 * root's node); no seed. A group of one variable of several threads is
 * that variable (mp_root_variable), of no thread. NULL when out of
 * memory. */
mp_map_ident *mp_group_idents(const mp_graph *g, const mp_paths *p, const mp_groups *gr);

/* For each group of B, the index of the group of A it is (b_to_a[i]), or
 * -1: as mp_map_match, by identity alone -- a holder at one address is no
 * proof within one run (the head of a list that grows at its front is a
 * new object every snapshot, at the same way), while its way is. */
int mp_group_match(const mp_map_ident *a, size_t na, const mp_map_ident *b, size_t nb,
                   bool same_run, int32_t *b_to_a);

/* Are graphs a and b snapshots of one process (program and pid equal,
 * pid known)? */
bool mp_same_run(const mp_graph *a, const mp_graph *b);

#endif
