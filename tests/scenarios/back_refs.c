/*
 * tests/scenarios/back_refs.c -- entries whose objects point back into
 * the entry: values that are their own keys, values that point back at
 * their keys, parts of a value that point back at the value.
 *
 * TRUTH. Four globals, each a map that only grows (a leak); the first
 * three have pointer keys to objects nothing but the map refers to:
 *   conns  map[*Conn]*Conn: every entry's key and value are the same Conn
 *          (a registry of live connections, keyed by themselves), each
 *          Conn with a 64 KiB buffer; 60 entries. Each entry retains its
 *          Conn and buffer, counted once though two of its words point at
 *          them; its keys retain exactly as much (they own the Conns), and
 *          so do its entries together (entries_retained_bytes is no double
 *          count); no entry is shared.
 *   reqs   map[*Req]*Resp: the key a Req (with a 24 KiB body), the value a
 *          Resp (with a 1 KiB blob) that points back at its Req; 60
 *          entries. An entry retains its Req, body, Resp and blob; its key
 *          the Req and body (the Resp's pointer back at it is inside the
 *          entry: the Req is still the key's own).
 *   subs   map[*Sub]struct{}, a set of subscribers (values of 0 bytes):
 *          each Sub owns an inbox list of 10 Msgs (2,048-byte bodies); 50
 *          entries, each retaining its Sub, Msgs and bodies, all of it
 *          through its key.
 *   trees  map[int64]*TreeDoc: each TreeDoc holds an array of 4 Parts and
 *          a 64-byte blob; every Part (with a 2,048-byte body) points back
 *          at its TreeDoc (a parent pointer); 150 entries. An entry
 *          retains its TreeDoc, array, Parts and bodies: the parent
 *          pointers come from inside the entry, no other holder.
 * Every figure is the runtime's own dominator walk: for an entry, what its
 * key and value objects dominate together; for a key, what its object
 * dominates. Each map is a suspect (the first three with the evidence
 * pointer_keys) retaining exactly its objects. Snapshots "held" (in-process) and "exit"
 * see the same heap.
 */
#include "scenario.h"

enum { CONNS = 60, CONN_BUF = 64 * 1024, REQS = 60, BODY = 24 * 1024, OUT = 1024 };
enum { SUBS = 50, MSGS = 10, MSG_BODY = 2048, TREES = 150, PARTS = 4, PART_BODY = 2048 };

SC_ITEM_TYPE(conn_type, Conn);
SC_ITEM_TYPE(req_type, Req);

typedef struct Resp {
    sc_item *req; /* back at the key */
    uint8_t *out;
} Resp;
MR_TYPE(resp_type, Resp, MR_FIELD(Resp, req), MR_FIELD(Resp, out));

typedef struct Msg {
    struct Msg *next;
    uint8_t *body;
} Msg;
MR_TYPE(msg_type, Msg, MR_FIELD(Msg, next), MR_FIELD(Msg, body));

typedef struct Sub {
    int64_t id;
    Msg *inbox;
} Sub;
MR_TYPE(sub_type, Sub, MR_FIELD(Sub, inbox));

typedef struct TreeDoc {
    struct Part **parts; /* an array object of PARTS pointers */
    uint8_t *meta;
} TreeDoc;
MR_TYPE(tree_type, TreeDoc, MR_FIELD(TreeDoc, parts), MR_FIELD(TreeDoc, meta));

typedef struct Part {
    TreeDoc *parent;
    uint8_t *body;
} Part;
MR_TYPE(part_type, Part, MR_FIELD(Part, parent), MR_FIELD(Part, body));

static const mr_map_type conns_type = {"map[*Conn]*Conn", MR_KEY_PTR, &conn_type, &mr_type_pointer};
static const mr_map_type reqs_type = {"map[*Req]*Resp", MR_KEY_PTR, &req_type, &mr_type_pointer};
static const mr_map_type subs_type = {"map[*Sub]struct{}", MR_KEY_PTR, &sub_type, NULL};
static const mr_map_type trees_map = {"map[int64]*TreeDoc", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *conns, *reqs, *subs, *trees;
MR_GLOBAL(conns)
MR_GLOBAL(reqs)
MR_GLOBAL(subs)
MR_GLOBAL(trees)

__attribute__((noinline)) static void build(void)
{
    conns = mr_map_new(&conns_type, 0);
    for (int64_t i = 0; i < CONNS; i++) {
        Conn *c = sc_new_item(&conn_type, i, CONN_BUF);
        *(Conn **)mr_map_assign(conns, &c) = c;
    }
    reqs = mr_map_new(&reqs_type, 0);
    for (int64_t i = 0; i < REQS; i++) {
        Req *q = sc_new_item(&req_type, i, BODY);
        Resp *r = mr_new(&resp_type);
        r->req = q;
        r->out = mr_alloc_blob(OUT);
        *(Resp **)mr_map_assign(reqs, &q) = r;
    }
    subs = mr_map_new(&subs_type, 0);
    for (int64_t i = 0; i < SUBS; i++) {
        Sub *s = mr_new(&sub_type);
        s->id = i;
        for (int j = 0; j < MSGS; j++) {
            Msg *m = mr_new(&msg_type);
            m->body = mr_alloc_blob(MSG_BODY);
            m->next = s->inbox;
            s->inbox = m;
        }
        mr_map_assign(subs, &s);
    }
    trees = mr_map_new(&trees_map, 0);
    for (int64_t i = 0; i < TREES; i++) {
        TreeDoc *doc = mr_new(&tree_type);
        doc->meta = mr_alloc_blob(64);
        doc->parts = mr_new_array(&mr_type_pointer, PARTS);
        for (int j = 0; j < PARTS; j++) {
            Part *p = mr_new(&part_type);
            p->parent = doc;
            p->body = mr_alloc_blob(PART_BODY);
            doc->parts[j] = p;
        }
        *(TreeDoc **)mr_map_assign_int(trees, i) = doc;
    }
}

/* What the truth of a map's entries is built from. */
typedef struct slot_truth {
    sc_entries e;
    bool values;   /* its values are pointers (not a set) */
    bool int_keys; /* its keys are int64s, not pointers */
} slot_truth;

/* The truth of each entry: what its key object and value object (if any)
 * dominate together, and what its key object dominates alone. */
static void on_slot(const mr_map_slot *sl, void *ud)
{
    slot_truth *t = ud;
    char key[24];
    if (t->int_keys) { /* no key object: the value's */
        void *v = *(void *const *)sl->value;
        snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)sl->key);
        sc_entry(&t->e, key, 0, sc_dominated_set(&v, 1, NULL));
        return;
    }
    void *objs[2] = {*(void *const *)sl->key, NULL};
    size_t n = 1;
    if (t->values) objs[n++] = *(void *const *)sl->value;
    snprintf(key, sizeof key, "0x%" PRIxPTR, (uintptr_t)objs[0]);
    sc_entry(&t->e, key, sc_dominated_set(objs, 1, NULL), sc_dominated_set(objs, n, NULL));
}

static void truth_entries(const char *snapshot, const char *label, const mr_map *m)
{
    slot_truth t = {.values = mr_map_type_of(m)->value_type != NULL,
                    .int_keys = mr_map_type_of(m)->key_kind == MR_KEY_INT64};
    sc_walk_slots(m, on_slot, &t);
    sc_truth_entries(snapshot, label, &t.e);
}

__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "conns", conns);
    truth_entries(snapshot, "conns", conns);
    sc_truth_map(snapshot, "reqs", reqs);
    truth_entries(snapshot, "reqs", reqs);
    sc_truth_map(snapshot, "subs", subs);
    truth_entries(snapshot, "subs", subs);
    sc_truth_map(snapshot, "trees", trees);
    truth_entries(snapshot, "trees", trees);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
