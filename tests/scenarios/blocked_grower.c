/*
 * tests/scenarios/blocked_grower.c -- maps whose only references are
 * callee-saved registers of a thread blocked in a system call, while
 * another thread grows them (through memory the collector cannot see).
 *
 * TRUTH. A worker (thread 2) makes two maps in hold_in_registers (frame
 * #1; written in assembly, so no compiler keeps a copy elsewhere): `conns`
 * (map[int64]*Conn, 1,000 conns with 256-byte buffers) kept in r12 and
 * `inbox` (map[string]*Msg, 500 messages with 128-byte bodies) kept in rbx,
 * then blocks in wait_readable (frame #0; blocked, by the blocking rule,
 * as around a read(2)). The maps' addresses are also in a malloc'd feed,
 * which is no root. Snapshot "small":
 *   conns, inbox  their roots are the registers r12 and rbx of thread 2,
 *            frame #1 hold_in_registers (whatever frame saved them), and
 *            nothing else; each retains exactly its own objects.
 * Then main, through the feed, adds 7,000 conns (the table doubles three
 * times: new bucket arrays, the header where it was) and 2,500 messages,
 * and lets go of them; the worker's registers still hold the headers.
 * Snapshot "grown":
 *   conns    8,000 conns, inbox 3,000 messages; roots the same registers
 *            of the same frame; each retains exactly its own objects.
 * maproot diff small grown: conns +7,000 -0 (1,000 -> 8,000), inbox
 * +2,500 -0 (500 -> 3,000), both growing, with the runtime's retained
 * bytes. Main then releases the worker, which returns from its frames and
 * exits: at exit ("exit") both maps are gone.
 */
#include "hold_registers.h"
#include "scenario.h"

enum { CONNS = 1000, MORE_CONNS = 7000, MSGS = 500, MORE_MSGS = 2500 };

SC_ITEM_TYPE(conn_type, Conn);
SC_ITEM_TYPE(msg_type, Msg);

static const mr_map_type conns_type = {"map[int64]*Conn", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type inbox_type = {"map[string]*Msg", MR_KEY_STRING, NULL, &mr_type_pointer};

/* Where main finds the maps: malloc'd, so no root. */
typedef struct feed {
    mr_map *conns, *inbox;
} feed;
static feed *the_feed;
static sc_worker worker;

__attribute__((noinline)) static void add_msgs(mr_map *m, int64_t first, int64_t n)
{
    for (int64_t i = first; i < first + n; i++)
        *(sc_item **)mr_map_assign_str(m, mr_str_printf("msg-%" PRId64, i)) =
            sc_new_item(&msg_type, i, 128);
}

static void *make_conns(void)
{
    mr_map *m = mr_map_new(&conns_type, 0);
    sc_fill(m, &conn_type, 0, CONNS, 256);
    the_feed->conns = m;
    return m;
}

static void *make_inbox(void)
{
    mr_map *m = mr_map_new(&inbox_type, 0);
    add_msgs(m, 0, MSGS);
    the_feed->inbox = m;
    return m;
}

/* Blocks as around a read(2) until main is done; saves r12 in its frame
 * and clears it, so the map is only in that save slot and in rbx. */
__attribute__((noinline)) static void wait_readable(void)
{
    HOLD_SAVE_AND_CLEAR_R12();
    sc_park(&worker);
}

SC_NOCLONE static void *worker_main(void *arg)
{
    (void)arg;
    sc_scrub_stack();
    hold_in_registers(make_conns, make_inbox, wait_readable);
    return NULL;
}

/* Main grows both maps through the feed while the worker is blocked. */
__attribute__((noinline)) static void grow(void)
{
    sc_fill(the_feed->conns, &conn_type, CONNS, MORE_CONNS, 256);
    add_msgs(the_feed->inbox, MSGS, MORE_MSGS);
    if (mr_map_len(the_feed->conns) != CONNS + MORE_CONNS ||
        mr_map_len(the_feed->inbox) != MSGS + MORE_MSGS)
        sc_fail("the maps lost entries");
    for (int64_t k = 0; k < CONNS + MORE_CONNS; k++) {
        sc_item *c = *(sc_item **)mr_map_lookup_int(the_feed->conns, k);
        if (c->id != k) sc_fail("conn %" PRId64 " was freed while its map was live", k);
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "conns", the_feed->conns);
    sc_truth_map(snapshot, "inbox", the_feed->inbox);
}

/* At exit the maps' addresses only: the worker is gone, and the feed that
 * still has them is no root. */
static void gone(const char *snapshot)
{
    sc_truth(snapshot, "conns", "\"address\": %" PRIuPTR, (uintptr_t)the_feed->conns);
    sc_truth(snapshot, "inbox", "\"address\": %" PRIuPTR, (uintptr_t)the_feed->inbox);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    the_feed = calloc(1, sizeof *the_feed);
    if (!the_feed) sc_fail("out of memory");
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("small");
    SC_TRUTHS(truths, "small");
    SC_CLEAN(grow());
    SC_SNAPSHOT("grown");
    SC_TRUTHS(truths, "grown");
    sc_stop_worker(&worker);
    SC_TRUTHS(gone, "exit");
    return 0;
}
