/*
 * examples/shared_entries.c -- leak pattern 7: map entries kept alive by two
 * roots at once.
 *
 * A document store keeps its documents in the global map docs_by_id
 * (map[int64]*Document). A search index written in plain C memory also
 * refers to every document; since the collector cannot see malloc'd memory,
 * the index holds its documents through a pinned array (mr_pin), as C code
 * that keeps heap pointers must. When the store evicts a document it deletes
 * it from the map only, so evicting does not free anything: the pinned index
 * still holds every document. Neither root alone retains the documents: the
 * map's entries are shared with the pin, and the memory only goes when both
 * let go. The program evicts the oldest quarter of the documents, shows
 * that this freed nothing, and exits with the store and the index as they
 * are.
 *
 * For maproot: the map's entries are "shared" (another root reaches their
 * values), no single root dominates the documents, and both roots are
 * named: the global docs_by_id and the pin "search index".
 */
#include "example.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { NDOCS = 20000, NEVICTED = 5000, BODY_BYTES = 2048 };

typedef struct Document {
    int64_t id;
    uint8_t *body; /* blob: the document's text */
    size_t len;
} Document;

MR_TYPE(document_type, Document, MR_FIELD(Document, body));

static const mr_map_type doc_map_type = {
    .name = "map[int64]*Document",
    .key_kind = MR_KEY_INT64,
    .key_type = NULL,
    .value_type = &mr_type_pointer,
};

/* The store: id -> *Document. */
static mr_map *docs_by_id;
MR_GLOBAL(docs_by_id)

/* The search index lives in malloc'd memory; its heap pointers are kept in
 * one pinned array of *Document. */
typedef struct search_index {
    Document **docs; /* a pinned heap array */
    mr_pin_handle pin;
    size_t n;
} search_index;

static search_index *index_of_store; /* the store's index, for the life of the process */

__attribute__((noinline)) static Document *new_document(int64_t id)
{
    Document *d = mr_new(&document_type);
    d->id = id;
    d->len = BODY_BYTES;
    d->body = mr_alloc_blob(BODY_BYTES);
    d->body[0] = (uint8_t)id;
    return d;
}

/* Stores a document and indexes it. */
__attribute__((noinline)) static void add_document(search_index *ix, int64_t id)
{
    Document *d = new_document(id);
    mr_map_set(docs_by_id, &id, &d);
    ix->docs[ix->n++] = d;
}

int main(void)
{
    docs_by_id = mr_map_new(&doc_map_type, 0);
    search_index *ix = index_of_store = calloc(1, sizeof *ix);
    if (!ix) return 1;
    ix->docs = mr_new_array(&mr_type_pointer, NDOCS);
    ix->pin = mr_pin(ix->docs, "search index");
    for (int64_t id = 1; id <= NDOCS; id++) add_document(ix, id);
    if (mr_map_len(docs_by_id) != NDOCS) return 1;

    /* The store evicts its oldest documents: from the map only. */
    mr_memstats before, after;
    mr_gc();
    mr_read_memstats(&before);
    for (int64_t id = 1; id <= NEVICTED; id++) mr_map_delete(docs_by_id, &id);
    mr_gc();
    mr_read_memstats(&after);
    printf("shared_entries: %zu documents in docs_by_id, %zu in the search index\n",
           mr_map_len(docs_by_id), ix->n);
    printf("shared_entries: heap_alloc %" PRIu64 " KiB before evicting %d documents from the map, "
           "%" PRIu64 " KiB after\n\n",
           before.heap_alloc >> 10, NEVICTED, after.heap_alloc >> 10);

    example_report("shared_entries",
                   "Every Document (with its 2 KiB body) is referred to twice: by the global map "
                   "docs_by_id and by a search index in malloc'd memory that holds them through a "
                   "pinned array. The map's entries are shared: neither root alone keeps them "
                   "alive, so deleting a document from the map (the store's eviction) frees "
                   "nothing while the index still holds it: evicting the oldest 5,000 freed "
                   "nothing. Fix: evict from every holder (remove the document from the index "
                   "too), or let the index hold ids instead of pointers.");

    /* The leak must show: evicting from the map alone freed no document. */
    if (after.heap_alloc < (uint64_t)NDOCS * BODY_BYTES) {
        fprintf(stderr, "shared_entries: the leak did not reproduce\n");
        return 1;
    }
    return 0; /* the store and its index, as they are, at exit */
}
