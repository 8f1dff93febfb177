/*
 * src/collector/map_lists.c -- see map_lists.h.
 *
 * Invariant: every object on the stack has been reported and is in seen[0,
 * nseen); no object is pushed twice. The lists are short (a chunk's size
 * doubles up to a limit, and a map whose overflow buckets pile up grows
 * again at the same size), so a linear search of seen costs less than a set.
 */
#include "collector/map_lists.h"

#include <stdlib.h>

typedef struct lists_walk {
    void **seen;
    size_t nseen, cap, next; /* seen[next, nseen) are still to be walked */
    bool oom;
    void (*fn)(void *obj, size_t size, void *ud);
    void *ud;
} lists_walk;

static bool seen_before(const lists_walk *w, const void *obj)
{
    for (size_t i = 0; i < w->nseen; i++)
        if (w->seen[i] == obj) return true;
    return false;
}

/* mr_walk_edges callback: an edge to a runtime object not seen yet is
 * reported and queued. */
static void lists_edge(void *obj, size_t off, void *to, void *ud)
{
    (void)obj, (void)off;
    lists_walk *w = ud;
    const mr_type *t = mr_object_type(to, NULL);
    if (!t || t->kind != MR_KIND_RUNTIME || w->oom || seen_before(w, to)) return;
    if (w->nseen == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        void **v = realloc(w->seen, cap * sizeof *v);
        if (!v) {
            w->oom = true;
            return;
        }
        w->seen = v;
        w->cap = cap;
    }
    w->seen[w->nseen++] = to;
    w->fn(to, mr_object_size(to), w->ud);
}

int mrc__map_lists_each(const mr_map *m, void (*fn)(void *obj, size_t size, void *ud), void *ud)
{
    if (!m) return 0;
    lists_walk w = {.fn = fn, .ud = ud};
    mr_walk_edges((void *)m, lists_edge, &w);
    while (w.next < w.nseen && !w.oom) mr_walk_edges(w.seen[w.next++], lists_edge, &w);
    free(w.seen);
    return w.oom ? -1 : 0;
}

static void add_size(void *obj, size_t size, void *ud)
{
    (void)obj;
    *(size_t *)ud += size;
}

size_t mrc__map_lists_bytes(const mr_map *m)
{
    size_t n = 0;
    return mrc__map_lists_each(m, add_size, &n) ? 0 : n;
}
