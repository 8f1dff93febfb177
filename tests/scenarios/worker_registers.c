/*
 * tests/scenarios/worker_registers.c -- maps held only by a worker thread:
 * by a local of its function's frame, and by callee-saved registers.
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * builds three maps of 3,000 events (each with a 256-byte payload) and
 * parks, blocked as the blocking rule says, while main writes the snapshot
 * "held". Its frames are then: #0 park_worker, #1 hold_in_registers,
 * #2 worker_main.
 *
 *   frame_map  map[int64]*FrameEvent  a volatile local of worker_main: held
 *              only by worker_main's frame (its stack word, and any of its
 *              registers that a callee saved). The root named is that stack
 *              word: stack: thread 2, frame #2 worker_main.
 *   saved_map  map[int64]*SavedEvent  only in r12 of hold_in_registers (an
 *              assembly function: nothing else can hold a copy, see
 *              tests/hold_registers.h). park_worker saves r12 on its own
 *              stack in its prologue and clears the register, so the pointer
 *              lies in park_worker's frame -- but the value is
 *              hold_in_registers' register: the root is register r12 of
 *              thread 2, frame #1 hold_in_registers, and no root names
 *              park_worker.
 *   live_map   map[int64]*LiveEvent  only in rbx of hold_in_registers, which
 *              the frames inside it save or leave alone: register rbx of
 *              thread 2, frame #1 hold_in_registers.
 *
 * Each map retains a third of the heap: all three are suspects, with the
 * evidence large_share and stack_frame (held only by a running frame), and
 * each retains exactly its own objects (header, buckets, events, payloads).
 * Main then releases the worker, whose frames return: at exit (snapshot
 * "exit") none of the three maps is alive.
 */
#include "hold_registers.h"
#include "scenario.h"

enum { NEVENTS = 3000, PAYLOAD = 256 };

SC_ITEM_TYPE(event_type, Event);

static const mr_map_type frame_map_type = {"map[int64]*FrameEvent", MR_KEY_INT64, NULL,
                                           &mr_type_pointer};
static const mr_map_type saved_map_type = {"map[int64]*SavedEvent", MR_KEY_INT64, NULL,
                                           &mr_type_pointer};
static const mr_map_type live_map_type = {"map[int64]*LiveEvent", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};

/* The maps' addresses, for main's truth lines (plain statics are no roots). */
static mr_map *published[3];
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_map(const mr_map_type *t, int which)
{
    mr_map *m = mr_map_new(t, 0);
    sc_fill(m, &event_type, 0, NEVENTS, PAYLOAD);
    published[which] = m;
    return m;
}

static void *make_saved_map(void)
{
    return make_map(&saved_map_type, 1);
}

static void *make_live_map(void)
{
    return make_map(&live_map_type, 2);
}

/* Saves hold_in_registers' r12 in its own frame, clears the register and
 * blocks until main has taken its snapshot. */
__attribute__((noinline)) static void park_worker(void)
{
    HOLD_SAVE_AND_CLEAR_R12();
    sc_park(&worker);
}

SC_NOCLONE static void *worker_main(void *arg)
{
    (void)arg;
    mr_map *volatile frame_map = make_map(&frame_map_type, 0);
    hold_in_registers(make_saved_map, make_live_map, park_worker);
    if (mr_map_len(frame_map) != NEVENTS) sc_fail("frame_map lost entries");
    return NULL;
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "frame_map", published[0]);
    sc_truth_map(snapshot, "saved_map", published[1]);
    sc_truth_map(snapshot, "live_map", published[2]);
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
