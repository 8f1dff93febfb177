/*
 * tests/scenarios/jumped_iterator.c -- iterations left by longjmp: an
 * error found half-way through ranging over a map jumps out of the loop
 * (and of the function holding the iterator), which never calls
 * mr_map_iter_done.
 *
 * TRUTH. A worker (thread 2) ranges over two maps in validate(), which
 * longjmps back to worker_loop on the first entry:
 *   config   map[int64]*Setting, 3,000 settings (160-byte blobs), held by
 *            the global `config`: after the jump its only root is the
 *            global; no iterator is open, so no root is an iterator.
 *   scratch  map[int64]*Scratch, 2,000 entries, referenced only by the
 *            iterator of the jumped-out frame: it is garbage, absent from
 *            the snapshot.
 * The worker then blocks in wait_deep, whose frame lies deeper than the
 * abandoned iterators' (the stack pointer the collection sees is below
 * them), after zeroing the words below it: nothing of the old frames is
 * left but what the runtime itself remembers.
 */
#include "scenario.h"

#include <setjmp.h>

enum { SETTINGS = 3000, SCRATCH = 2000, BLOB = 160 };

SC_ITEM_TYPE(setting_type, Setting);
SC_ITEM_TYPE(scratch_type, Scratch);
static const mr_map_type config_type = {"map[int64]*Setting", MR_KEY_INT64, NULL,
                                        &mr_type_pointer};
static const mr_map_type scratch_map_type = {"map[int64]*Scratch", MR_KEY_INT64, NULL,
                                             &mr_type_pointer};

static mr_map *config;
MR_GLOBAL(config)

static uintptr_t scratch_addr; /* its address only: no root */
static sc_worker worker;
static jmp_buf failed;

/* Ranges over m and gives up on its first entry, by longjmp. */
SC_NOCLONE static void validate(mr_map *m)
{
    mr_map_iter it;
    mr_map_iter_init(&it, m);
    if (mr_map_iter_next(&it)) longjmp(failed, 1);
}

SC_NOCLONE static void validate_scratch(void)
{
    mr_map *m = mr_map_new(&scratch_map_type, 0);
    sc_fill(m, &scratch_type, 0, SCRATCH, BLOB);
    scratch_addr = (uintptr_t)m;
    validate(m);
}

/* Blocks in a frame deeper than validate's was, with its words gone. */
SC_NOCLONE static void wait_deep(void)
{
    volatile uintptr_t pad[512];
    for (size_t i = 0; i < 512; i++) pad[i] = 0;
    sc_scrub_stack();
    sc_park(&worker);
    (void)pad[0];
}

SC_NOCLONE static void worker_loop(void)
{
    if (!setjmp(failed)) validate(config);
    if (!setjmp(failed)) SC_CLEAN(validate_scratch());
    SC_CLEAN(wait_deep());
}

static void *worker_main(void *arg)
{
    (void)arg;
    worker_loop();
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "config", config);
    sc_truth(snapshot, "scratch", "\"address\": %" PRIuPTR, scratch_addr);
}

SC_NOCLONE static void build(void)
{
    config = mr_map_new(&config_type, 0);
    sc_fill(config, &setting_type, 0, SETTINGS, BLOB);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(build());
    return SC_CLEAN(sc_worker_main(argc, argv, &worker, worker_main, truths));
}
