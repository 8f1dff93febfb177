/*
 * tests/scenarios/cycle_register.c -- maps in cycles (map -> value -> back
 * to the map's owner) whose only roots are registers of a parked thread,
 * one of them entering the cycle through a value inside the map.
 *
 * TRUTH. A worker thread (thread 2; main attaches first and is thread 1)
 * builds two Owners, each with a map[int64]*Member of members (each with a
 * 192-byte note) whose every Member points back at its Owner, and parks
 * (blocked, by the blocking rule) inside hold_in_registers (see
 * tests/hold_registers.h), whose registers alone hold, while main writes
 * the snapshot "held":
 *   members  (Owner A's map, 6,000 members): rbx holds Owner A. The root
 *            named is register rbx of thread 2, frame #1 hold_in_registers;
 *            the chain goes rbx -> Owner -> map header. The map retains its
 *            header, buckets, Members and notes, not Owner A (the register
 *            reaches it without the map) though every Member points at it.
 *            A suspect (large_share, stack_frame).
 *   inner    (Owner B's map, 4,000 members): r12 holds member 17 of this
 *            very map, and nothing else holds Owner B: the map is reached
 *            from inside itself (r12 -> Member -> Owner -> map header). The
 *            root named is register r12 of thread 2, frame #1
 *            hold_in_registers; the map retains everything of its own but
 *            member 17 and its note, which the register holds anyway; entry
 *            17 alone retains nothing and is shared, every other entry its
 *            Member and note.
 * Both figures are the runtime's own dominator walks. Main then releases the
 * worker, whose frames return: at exit ("exit") neither map is alive.
 */
#include "hold_registers.h"
#include "scenario.h"

enum { A_MEMBERS = 6000, B_MEMBERS = 4000, NOTE = 192, HELD_MEMBER = 17 };

typedef struct Owner Owner;
typedef struct Member {
    Owner *owner;
    int64_t id;
    uint8_t *note;
} Member;
MR_TYPE(member_type, Member, MR_FIELD(Member, owner), MR_FIELD(Member, note));

struct Owner {
    int64_t id;
    mr_map *members;
};
MR_TYPE(owner_type, Owner, MR_FIELD(Owner, members));

static const mr_map_type members_type = {"map[int64]*Member", MR_KEY_INT64, NULL,
                                         &mr_type_pointer};

/* The maps' addresses, for the truth lines (plain statics are no roots). */
static uintptr_t published[2];
static sc_worker worker;

__attribute__((noinline)) static Owner *make_owner(int which, int64_t n)
{
    Owner *o = mr_new(&owner_type);
    o->id = which;
    o->members = mr_map_new(&members_type, 0);
    for (int64_t k = 0; k < n; k++) {
        Member *m = mr_new(&member_type);
        m->owner = o;
        m->id = k;
        m->note = mr_alloc_blob(NOTE);
        *(Member **)mr_map_assign_int(o->members, k) = m;
    }
    published[which] = (uintptr_t)o->members;
    return o;
}

/* Owner B's member HELD_MEMBER: what r12 keeps. */
static void *make_inner(void)
{
    Owner *o = make_owner(1, B_MEMBERS);
    void **v = mr_map_lookup_int(o->members, HELD_MEMBER);
    if (!v) sc_fail("no member %d", HELD_MEMBER);
    return *v;
}

/* Owner A: what rbx keeps. */
static void *make_outer(void)
{
    return make_owner(0, A_MEMBERS);
}

__attribute__((noinline)) static void park_worker(void)
{
    sc_park(&worker);
}

static void *worker_main(void *arg)
{
    (void)arg;
    mr_thread_attach();
    sc_scrub_stack();
    hold_in_registers(make_inner, make_outer, park_worker);
    mr_thread_detach();
    return NULL;
}

static void on_slot(const mr_map_slot *s, void *ud)
{
    sc_entries *e = ud;
    const Member *m = *(Member *const *)s->value;
    int64_t k = *(const int64_t *)s->key;
    char key[32];
    snprintf(key, sizeof key, "%" PRId64, k);
    sc_entry(e, key, 0,
             k == HELD_MEMBER ? 0 : mr_object_size(m) + mr_object_size(m->note));
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "members", (const mr_map *)published[0]);
    const mr_map *inner = (const mr_map *)published[1];
    sc_truth_map(snapshot, "inner", inner);
    sc_truth_slots(snapshot, "inner", inner, on_slot);
}

int main(int argc, char **argv)
{
    return sc_worker_main(argc, argv, &worker, worker_main, truths);
}
