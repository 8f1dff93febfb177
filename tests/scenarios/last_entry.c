/*
 * tests/scenarios/last_entry.c -- maps whose every entry but one was
 * deleted, the one left holding a huge value.
 *
 * TRUTH. Two globals, each a map[int64]*Doc that held 60,000 documents
 * (each with a 64-byte blob) of which all but key 31,337 were deleted
 * (delete never shrinks a map: the table stays, over 64 KiB):
 *   archive  its last document holds a 4 MiB blob no one else refers to:
 *            count 1, a suspect with evidence emptied; it retains exactly
 *            its table, the document and the 4 MiB blob; its one entry
 *            retains the document and the blob (entries_retained_bytes),
 *            not shared.
 *   drafts   its last document (a 2 MiB blob) is also held by the global
 *            pinned_doc: the entry is shared (shared_entries 1, context
 *            shared_entries), retains nothing alone; the map retains
 *            exactly its table and is a suspect (emptied).
 * The deleted documents are garbage: no map retains them. Snapshots "held"
 * (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { DOCS = 60000, KEEP = 31337 };

SC_ITEM_TYPE(doc_type, Doc);

static const mr_map_type archive_type = {"map[int64]*Doc", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type drafts_type = {"map[int64]*DraftDoc", MR_KEY_INT64, NULL,
                                        &mr_type_pointer};

static mr_map *archive, *drafts;
static sc_item *pinned_doc;
MR_GLOBAL(archive)
MR_GLOBAL(drafts)
MR_GLOBAL(pinned_doc)

/* A map of DOCS documents, every one deleted but KEEP, which gets a blob
 * of big bytes; returns that document. */
SC_NOCLONE static sc_item *drain(mr_map **m, const mr_map_type *t, size_t big)
{
    *m = mr_map_new(t, 0);
    sc_fill(*m, &doc_type, 0, DOCS, 64);
    for (int64_t k = 0; k < DOCS; k++)
        if (k != KEEP) mr_map_delete_int(*m, k);
    sc_item *d = *(sc_item **)mr_map_lookup_int(*m, KEEP);
    d->blob = mr_alloc_blob(big);
    return d;
}

SC_NOCLONE static void build(void)
{
    drain(&archive, &archive_type, 4u << 20);
    pinned_doc = drain(&drafts, &drafts_type, 2u << 20);
}

static void on_archive(const mr_map_slot *s, void *ud)
{
    const sc_item *d = *(sc_item *const *)s->value;
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    sc_entry(ud, key, 0, mr_object_size(d) + mr_object_size(d->blob));
}

static void on_drafts(const mr_map_slot *s, void *ud)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    sc_entry(ud, key, 0, 0);
}

static void truths(const char *snapshot)
{
    if (mr_map_len(archive) != 1 || mr_map_len(drafts) != 1) sc_fail("more than one entry left");
    sc_truth_map(snapshot, "archive", archive);
    sc_truth_slots(snapshot, "archive", archive, on_archive);
    sc_truth_map(snapshot, "drafts", drafts);
    sc_truth_slots(snapshot, "drafts", drafts, on_drafts);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
