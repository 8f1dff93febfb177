/*
 * src/analyze/paths.h -- the path from a root to every object.
 *
 * A breadth-first search from the roots by priority: first from every
 * global at once, then from every pin over what the globals left
 * unreached, then stack frames (outer frames of a thread first),
 * iterators, registers, runtime and other roots (the order the graph keeps
 * its roots in). Every reachable object gets its parent on the path and the
 * root that path starts from: the root of the highest-priority kind that
 * reaches it at all, whatever the length of its path, and among those the
 * shortest path (ties: the root that comes first). A stack word that
 * points right at an object a global reaches through ten others does not
 * explain it: the global does. Unreachable objects (garbage a snapshot may
 * still list) have no root. Linear in objects and edges.
 *
 * With each step of a path the search keeps how it leaves the object before
 * it (`via`), so that a chain can say which element of an array, or which
 * entry of a map, it goes through.
 *
 * Memory: 12 bytes per object (parent, root and via arrays, the parent
 * and via arrays rounded up to whole 2 MiB pages), owned by the result
 * (mp_paths_free) but for the root array, which the graph may lend (see
 * mp_paths_spare_ahead), and nothing more while searching (the queue
 * lives in the root array while the roots sit beside the parents). Errors:
 * -1 with err set only when out of memory.
 */
#ifndef MP_PATHS_H
#define MP_PATHS_H

#include "analyze/graph.h"

typedef struct mp_paths {
    uint32_t *parent; /* previous object on the path, MP_NONE at its root (or unreachable) */
    uint32_t *root;   /* the root the path starts from (index into g->roots), MP_NONE unreachable */
    /* how the path goes from parent[o] to o: when the parent holds map
     * buckets, the entry (index into the graph's entries) whose key or
     * value o is; otherwise which of the parent's out edges it takes (its
     * rank in the parent's list: mp_paths_via_offset gives the pointer's
     * byte offset); MP_NONE when not known (or at a root) */
    uint32_t *via;
    size_t nreached;
    uint64_t reached_bytes;
    bool borrowed;             /* the arrays are the graph's (g->derived): not freed */
    uint32_t *lent;            /* the one of parent, root and via that lies in the
                                  graph's memory (mp_paths_spare_ahead), NULL none:
                                  not freed here; the paths go before the graph */
    size_t mapped;             /* the bytes of each of parent and via when both are
                                  mappings of the search's own (unmapped when freed),
                                  0 when they are malloc's blocks */
    struct mp_path_memo *memo; /* what mp_paths_measure learnt of long
                                  paths; NULL when it could not be had */
} mp_paths;

/* The paths of g: those its index holds (g->derived, borrowed) when it
 * holds them, else computed. */
int mp_paths_compute(const mp_graph *g, mp_paths *out, mf_error *err);
/* The byte offset in parent[o] of the pointer the path takes to o, when the
 * parent holds no buckets and the offset is known; else MP_NO_OFFSET. */
uint32_t mp_paths_via_offset(const mp_graph *g, const mp_paths *p, uint32_t o);
void mp_paths_free(mp_paths *p);

/*
 * Memory the search needs not fault in. Its arrays are written whole from
 * the start, and the first write to each fresh page costs a fault and the
 * kernel's zeroing of the page: on a virtual machine a good part of the
 * search's time, all of it on the search's thread. The graph builder frees
 * as much memory, already in, just before: half of the block the objects'
 * 64-bit sizes were read into, once they are packed to 32 bits.
 * mp_paths_spare_ahead(true) (the analysis asks, once, before the graph is
 * built) has the builder keep that half (mp_graph.paths_spare) rather than
 * give it back, and the first mp_paths_compute of the graph takes it for
 * its root array. The memory is the graph's: the paths must be freed
 * before the graph (as they always are: they describe it). Off by default:
 * a command that searches no paths would hold the memory for nothing.
 */
void mp_paths_spare_ahead(bool on);
bool mp_paths_spare_wanted(void);

/* The path to object o, root target first, o last: writes up to max object
 * indices into buf (the ones nearest the root when it is longer) and returns
 * the path's full length (0 if o is unreachable). The loop is bounded by the
 * object count, so a corrupt parent array cannot hang it. */
size_t mp_paths_chain(const mp_graph *g, const mp_paths *p, uint32_t o, uint32_t *buf, size_t max);

/* The entry through whose slot the path enters o: when o's parent is a
 * bucket of a map's table (not the header, not a table's auxiliary
 * object) and the path leaves it by an entry of that bucket (o is its key
 * or value, or what they point to), that entry (index into the graph's
 * entries); else MP_NONE. A chain shows a slot step there. */
uint32_t mp_paths_through(const mp_graph *g, const mp_paths *p, uint32_t o);

/* Objects at the root end of a path that mp_paths_measure gives. */
#define MP_PATH_HEAD 64

/*
 * The shape of o's path without walking it each time: its length in
 * objects, how many of its steps go through a slot (mp_paths_through), and
 * when it is longer than MP_PATH_HEAD the object at that depth (whose path
 * is o's first MP_PATH_HEAD objects), else MP_NONE. Reports of heaps where
 * many objects lie at the end of one long list ask this of each: the
 * first question walks the path once and remembers every object on it,
 * later ones stop at the first object already known, so all the questions
 * together cost time in proportion to the objects their paths cover, not
 * to the sum of their lengths. Memory: 12 bytes per object remembered (and
 * a hash table), owned by the paths. Returns 0, or -1 when o is
 * unreachable or memory ran out (the answer is then unknown: walk).
 * Threads: one at a time per mp_paths.
 */
int mp_paths_measure(const mp_graph *g, const mp_paths *p, uint32_t o, size_t *objects,
                     size_t *slots, uint32_t *head_end);

#endif
