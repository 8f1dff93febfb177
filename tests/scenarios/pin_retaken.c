/*
 * tests/scenarios/pin_retaken.c -- a map behind a pin that is released and
 * taken again between two snapshots (a C library handing its object back
 * and forth), while a map of the same type takes over the released pin's
 * handle.
 *
 * TRUTH. A Registry (kept from malloc'd memory, so only pins keep it) holds
 * the global-free map[int64]*Session `sessions`; a Scratch holds another
 * map[int64]*Session, `scratch`. Both are pinned: the registry first
 * (label "session registry"), then the scratch ("request scratch").
 * Snapshot "before":
 *   sessions  3,000 sessions (keys 0 .. 2,999, 200-byte blobs); root the
 *             pin "session registry", through the Registry; a suspect
 *             (large_share) retaining exactly its own objects.
 *   scratch   400 sessions (keys 100,000 .. 100,399); root the pin
 *             "request scratch".
 * Then the registry is pinned again under the same label (a new handle)
 * and its first pin released; the scratch is dropped (its pin released)
 * and a new Scratch with a new map of 400 sessions (keys 200,000 ..
 * 200,399) is pinned as "request scratch" -- it takes the handle the
 * registry's first pin freed. The registry's map is compacted (replaced by
 * a new map with the same Sessions: the old header is garbage, so only the
 * holder says it is the same map) and 1,500 sessions (keys 3,000 .. 4,499)
 * are added to it. Snapshot "after":
 *   sessions  4,500 sessions; its only root the pin "session registry" (the
 *             new one); retaining exactly its own objects.
 *   fresh     the new scratch map, 400 sessions; root "request scratch".
 * maproot diff before after follows `sessions` by its holder (the pin's
 * label), not by the pin's handle: the same map, +1,500 -0, 3,000 ->
 * 4,500, growing, with the runtime's retained bytes before and after. The
 * map under "request scratch" is not it.
 */
#include "scenario.h"

enum { SESSIONS = 3000, MORE = 1500, SCRATCH = 400, BLOB = 200 };

SC_ITEM_TYPE(session_type, Session);

static const mr_map_type sessions_type = {"map[int64]*Session", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

typedef struct Registry {
    int64_t generation;
    mr_map *sessions;
} Registry;
MR_TYPE(registry_type, Registry, MR_FIELD(Registry, sessions));

typedef struct Scratch {
    int64_t request;
    mr_map *sessions;
} Scratch;
MR_TYPE(scratch_type, Scratch, MR_FIELD(Scratch, sessions));

/* The library's side: malloc'd, invisible to the collector. */
typedef struct library {
    Registry *registry;
    Scratch *scratch;
    mr_pin_handle registry_pin, scratch_pin;
} library;

static library *lib;

__attribute__((noinline)) static Scratch *new_scratch(int64_t first)
{
    Scratch *s = mr_new(&scratch_type);
    s->request = first;
    s->sessions = mr_map_new(&sessions_type, 0);
    sc_fill(s->sessions, &session_type, first, SCRATCH, BLOB);
    return s;
}

__attribute__((noinline)) static void build(void)
{
    lib = calloc(1, sizeof *lib);
    if (!lib) sc_fail("out of memory");
    lib->registry = mr_new(&registry_type);
    lib->registry_pin = mr_pin(lib->registry, "session registry");
    lib->registry->sessions = mr_map_new(&sessions_type, 0);
    sc_fill(lib->registry->sessions, &session_type, 0, SESSIONS, BLOB);
    lib->scratch = new_scratch(100000);
    lib->scratch_pin = mr_pin(lib->scratch, "request scratch");
}

/* A new map with m's entries (the same Sessions), as a library compacts
 * a map it gets back: the old one is garbage. */
__attribute__((noinline)) static mr_map *copy_of(mr_map *m)
{
    mr_map *c = mr_map_new(&sessions_type, 0);
    mr_map_iter it;
    mr_map_iter_init(&it, m);
    while (mr_map_iter_next(&it)) *(void **)mr_map_assign(c, it.key) = *(void **)it.value;
    mr_map_iter_done(&it);
    return c;
}

/* The registry's pin is taken again and the first one released; the
 * scratch is replaced, its new pin taking the freed handle. */
__attribute__((noinline)) static void hand_back(void)
{
    mr_pin_handle old = lib->registry_pin;
    lib->registry_pin = mr_pin(lib->registry, "session registry");
    mr_unpin(lib->scratch_pin);
    mr_unpin(old);
    lib->scratch = new_scratch(200000);
    lib->scratch_pin = mr_pin(lib->scratch, "request scratch");
    if (lib->scratch_pin != old) sc_fail("the new scratch pin is %u, not the freed %u",
                                         lib->scratch_pin, old);
    lib->registry->sessions = copy_of(lib->registry->sessions);
    lib->registry->generation++;
    sc_fill(lib->registry->sessions, &session_type, SESSIONS, MORE, BLOB);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "sessions", lib->registry->sessions);
    sc_truth_map(snapshot, strcmp(snapshot, "before") == 0 ? "scratch" : "fresh",
                 lib->scratch->sessions);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(build());
    SC_SNAPSHOT("before");
    SC_TRUTHS(truths, "before");
    SC_CLEAN(hand_back());
    SC_SNAPSHOT("after");
    SC_TRUTHS(truths, "after");
    return 0;
}
