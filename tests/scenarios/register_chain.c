/*
 * tests/scenarios/register_chain.c -- three nested frames, each holding its
 * own map in a local the compiler keeps where it likes (a callee-saved
 * register, as an optimizing build does, or a stack slot), across the call
 * to the next: each callee that reuses a callee-saved register saves its
 * caller's value in its own frame, so one frame's words hold another
 * frame's map. Checked in every build type (the release build with LTO
 * included), where the compiler's choices differ.
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * runs outer, which makes map[int64]*OuterEvent (4,000 events) and calls
 * middle, which makes map[int64]*MiddleEvent (3,000) and calls inner, which
 * makes map[int64]*InnerEvent (2,000) and calls wait_here, which parks
 * (blocked, by the blocking rule) while main writes the snapshot "held".
 * Each function uses its map after the call it makes, and none passes it
 * on; each makes that call on a clean stack (SC_CLEAN: the callee's frame
 * lies where make_map's was, and an unoptimized build leaves words of it
 * in the callee's padding, a true holder a conservative scan finds, but
 * not the one this program is about): the only holder of each map is its
 * own function's frame (a stack word or a register that frame owns,
 * wherever a callee saved it).
 *   outer_map   every root is thread 2's frame of outer (not middle, inner
 *               or wait_here, which may hold its register's saved value).
 *   middle_map  every root is the frame of middle.
 *   inner_map   every root is the frame of inner.
 * Each a suspect (large_share, stack_frame) retaining exactly its own
 * objects. Events have 256-byte payloads. Main then releases the worker,
 * whose frames return: at exit ("exit") none of the three maps is alive.
 */
#include "scenario.h"

enum { OUTER = 4000, MIDDLE = 3000, INNER = 2000, PAYLOAD = 256 };

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type outer_type = {"map[int64]*OuterEvent", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};
static const mr_map_type middle_type = {"map[int64]*MiddleEvent", MR_KEY_INT64, NULL,
                                        &mr_type_pointer};
static const mr_map_type inner_type = {"map[int64]*InnerEvent", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};

/* The maps' addresses, for the truth lines (plain statics are no roots). */
static uintptr_t published[3];
static sc_worker worker;

SC_NOCLONE static mr_map *make_map(const mr_map_type *t, int which, int64_t n)
{
    mr_map *m = mr_map_new(t, 0);
    sc_fill(m, &event_type, 0, n, PAYLOAD);
    published[which] = (uintptr_t)m;
    return m;
}

/* Parks until main has written its snapshot. */
SC_NOCLONE static void wait_here(void)
{
    sc_park(&worker);
}

SC_NOCLONE static size_t inner(void)
{
    mr_map *m = make_map(&inner_type, 2, INNER);
    SC_CLEAN(wait_here());
    return mr_map_len(m);
}

SC_NOCLONE static size_t middle(void)
{
    mr_map *m = make_map(&middle_type, 1, MIDDLE);
    size_t n = SC_CLEAN(inner());
    return n + mr_map_len(m);
}

SC_NOCLONE static size_t outer(void)
{
    mr_map *m = make_map(&outer_type, 0, OUTER);
    size_t n = SC_CLEAN(middle());
    return n + mr_map_len(m);
}

static void *worker_main(void *arg)
{
    (void)arg;
    if (outer() != OUTER + MIDDLE + INNER) sc_fail("a map lost entries");
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "outer_map", (const mr_map *)published[0]);
    sc_truth_map(snapshot, "middle_map", (const mr_map *)published[1]);
    sc_truth_map(snapshot, "inner_map", (const mr_map *)published[2]);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(&worker);
    return 0;
}
