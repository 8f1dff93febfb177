/*
 * tests/scenarios/shared_values.c -- two maps that share their values, one
 * of them keyed by pointers, and a map header held by two globals.
 *
 * TRUTH. 2,000 Sessions (each with a 1,024-byte blob of state) are in two
 * maps at once, so neither map alone retains any Session:
 *   by_id    global map[int64]Handle: a Handle (16 bytes, stored in the
 *            slot) holds the Session (its first pointer: another map
 *            reaches it, so the entry is shared) and a scratch blob of
 *            64 + 8 * (id % 100) bytes of its own. An entry retains its
 *            scratch blob only and is shared; shared_entries is 2,000,
 *            shared_bytes the Sessions' retained bytes (each Session and
 *            its state blob, counted once).
 *   by_conn  global map[*Conn]*Session: each key a Conn (a blob of 2,048
 *            bytes) that only this map refers to, the value the same
 *            Session. An entry retains its Conn and is shared; the keys
 *            retain every Conn: the evidence pointer_keys.
 *   alias    a map[int64]*Event of 5,000 events reachable from two globals,
 *            `primary` and `alias` (the same header): both are among its
 *            roots (once each), and it retains exactly its own objects.
 *   plan_of  global map[int64]*Plan of 3,000 tenants, whose values are 4
 *            Plans (each with a 512 KiB blob), every Plan the value of 750
 *            entries: the map retains the Plans (exactly its objects), but
 *            no entry alone does -- deleting any one of them frees nothing:
 *            every entry listed retains 0 bytes, and none is shared with
 *            another root.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum {
    SESSIONS = 2000,
    STATE = 1024,
    CONN = 2048,
    EVENTS = 5000,
    PAYLOAD = 256,
    TENANTS = 3000,
    PLANS = 4,
    PLAN = 512 * 1024
};

typedef struct Session {
    int64_t id;
    uint8_t *state;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, state));

typedef struct Handle {
    Session *session;
    uint8_t *scratch;
} Handle;
MR_TYPE(handle_type, Handle, MR_FIELD(Handle, session), MR_FIELD(Handle, scratch));

SC_ITEM_TYPE(event_type, Event);
SC_ITEM_TYPE(plan_type, Plan);

static const mr_map_type by_id_type = {"map[int64]Handle", MR_KEY_INT64, NULL, &handle_type};
static const mr_map_type by_conn_type = {"map[*Conn]*Session", MR_KEY_PTR, &mr_type_blob,
                                         &mr_type_pointer};
static const mr_map_type events_type = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *by_id;
MR_GLOBAL(by_id)
static mr_map *by_conn;
MR_GLOBAL(by_conn)
static const mr_map_type plans_type = {"map[int64]*Plan", MR_KEY_INT64, NULL, &mr_type_pointer};
static mr_map *plan_of;
MR_GLOBAL(plan_of)
static mr_map *primary;
MR_GLOBAL(primary)
static mr_map *alias;
MR_GLOBAL(alias)

__attribute__((noinline)) static void build(void)
{
    by_id = mr_map_new(&by_id_type, 0);
    by_conn = mr_map_new(&by_conn_type, 0);
    for (int64_t i = 0; i < SESSIONS; i++) {
        Session *s = mr_new(&session_type);
        s->id = i;
        s->state = mr_alloc_blob(STATE);
        Handle h = {s, mr_alloc_blob(64 + 8 * (size_t)(i % 100))};
        mr_map_set(by_id, &i, &h);
        void *conn = mr_alloc_blob(CONN);
        mr_map_set(by_conn, &conn, &s);
    }
    plan_of = mr_map_new(&plans_type, 0);
    sc_item *plans[PLANS];
    for (int i = 0; i < PLANS; i++) plans[i] = sc_new_item(&plan_type, i, PLAN);
    for (int64_t t = 0; t < TENANTS; t++)
        *(sc_item **)mr_map_assign_int(plan_of, t) = plans[t % PLANS];
    primary = mr_map_new(&events_type, 0);
    sc_fill(primary, &event_type, 0, EVENTS, PAYLOAD);
    alias = primary;
}

/* Per-entry truth: what each entry alone holds, and the Sessions it
 * shares. */
typedef struct entry_truth {
    const mr_map *m;
    sc_entries e;
    uint64_t shared;
} entry_truth;

static void on_slot(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    char key[32];
    if (t->m == plan_of) { /* another entry holds the same Plan: nothing is its own */
        snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
        sc_entry(&t->e, key, 0, 0);
        return;
    }
    const Session *session;
    if (t->m == by_id) {
        const Handle *h = s->value;
        session = h->session;
        snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
        sc_entry(&t->e, key, 0, mr_object_size(h->scratch));
    } else {
        void *conn = *(void *const *)s->key;
        session = *(Session *const *)s->value;
        snprintf(key, sizeof key, "0x%" PRIxPTR, (uintptr_t)conn); /* a pointer key's display */
        sc_entry(&t->e, key, mr_object_size(conn), mr_object_size(conn));
    }
    t->shared += mr_object_size(session) + mr_object_size(session->state);
}

static void truth_entries(const char *snapshot, const char *label, const mr_map *m)
{
    sc_truth_map(snapshot, label, m);
    entry_truth t = {m, {0}, 0};
    sc_walk_slots(m, on_slot, &t);
    sc_truth(snapshot, label, "\"shared_bytes\": %" PRIu64, t.shared);
    sc_truth_entries(snapshot, label, &t.e);
}

static void truths(const char *snapshot)
{
    truth_entries(snapshot, "by_id", by_id);
    truth_entries(snapshot, "by_conn", by_conn);
    sc_truth_map(snapshot, "alias", alias);
    truth_entries(snapshot, "plan_of", plan_of);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
