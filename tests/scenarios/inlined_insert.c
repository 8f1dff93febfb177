/*
 * tests/scenarios/inlined_insert.c -- a leaking insert inlined into its
 * caller, as optimized builds (and release builds above all) do.
 *
 * TRUTH. The global `audit` is a map[int64]*Audit that only grows (the
 * leak): handle_request, a function of its own in every build, records
 * each request through remember_request, which is always inlined into it
 * (it has no frame and, without debugging information, no symbol of its
 * own): remember_request allocates the Audit (a 512-byte blob besides) and
 * inserts it. 20,000 requests; every allocation of 256 bytes and more is
 * likely sampled (a rate of 4,096).
 *   audit  a suspect (large_share) rooted at global audit, retaining
 *          exactly its own objects; its sampled allocation sites are in
 *          handle_request's code: shown as remember_request where the
 *          program's debugging information tells of the inlining, else as
 *          handle_request -- never as main, which calls handle_request, nor
 *          as an allocator of the runtime. The top sites of the profile
 *          written at exit name the same function.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { REQUESTS = 20000, BLOB = 512 };

SC_ITEM_TYPE(audit_type, Audit);

static const mr_map_type audit_map = {"map[int64]*Audit", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *audit;
MR_GLOBAL(audit)

__attribute__((always_inline)) static inline void remember_request(int64_t id)
{
    sc_item *it = mr_new(&audit_type);
    it->id = id;
    it->blob = mr_alloc_blob(BLOB);
    *(sc_item **)mr_map_assign_int(audit, id) = it;
}

SC_NOCLONE static void handle_request(int64_t id)
{
    remember_request(id);
    __asm__ volatile("" ::: "memory"); /* no tail call: the frame stays */
}

SC_NOCLONE static void build(void)
{
    audit = mr_map_new(&audit_map, 0);
    for (int64_t i = 0; i < REQUESTS; i++) handle_request(i);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "audit", audit);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
