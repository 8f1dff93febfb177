/*
 * tests/scenarios/slice_keys.c -- string keys and values that are slices of
 * a larger buffer (a zero-copy parser's keys): each pins all of its buffer.
 *
 * TRUTH. Five request buffers, blobs of 128 KiB each. Buffer r holds the
 * 8-byte texts "k<r>-00000", "k<r>-00001", ... back to back; a key or value is an
 * mr_str pointing into the middle of its buffer (an interior pointer), not
 * a string of its own.
 *   seen    global map[string]*Hit: buffers 0 .. 3 give 400 keys each, and
 *           buffer 4 one key only ("k4-00000"). Each Hit has a 64-byte blob
 *           of its own. The map retains exactly its objects, the five
 *           buffers included (only its keys point at them); what its
 *           keys own (keys_retained_bytes, each key's own share) is buffer
 *           4 alone: no key of the others owns its buffer; an
 *           entry of buffers 0 .. 3 retains its Hit and blob only (399 other
 *           keys pin its buffer), the entry "k4-00000" retains its Hit, blob
 *           and the whole of buffer 4. The report names the cause: its
 *           keys are slices of five buffers (slice_buffers, slice_bytes)
 *           that the map keeps alive.
 *   names   global map[int64]string: 600 entries whose values are slices of
 *           two more 128 KiB buffers (300 each): the map retains exactly
 *           its objects (its table and both buffers); no entry alone
 *           retains anything. Its values are slices of two buffers.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { BUF = 128 * 1024, KEYS = 400, BUFS = 4, LEN = 8, NAMES = 600 };

SC_ITEM_TYPE(hit_type, Hit);

static const mr_map_type seen_type = {"map[string]*Hit", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type names_type = {"map[int64]string", MR_KEY_INT64, NULL, &mr_type_str};

static mr_map *seen, *names;
MR_GLOBAL(seen)
MR_GLOBAL(names)

/* Text i of buffer r, written into it at offset 8 + i * LEN (never at
 * the start: every key is an interior pointer). */
static mr_str slice(char *buf, int r, int64_t i)
{
    char *p = buf + 8 + i * LEN;
    char tmp[16];
    snprintf(tmp, sizeof tmp, "k%d-%05d", r, (int)i);
    memcpy(p, tmp, LEN);
    return (mr_str){p, LEN};
}

SC_NOCLONE static void build(void)
{
    seen = mr_map_new(&seen_type, 0);
    for (int r = 0; r <= BUFS; r++) {
        char *buf = mr_alloc_blob(BUF);
        int64_t n = r < BUFS ? KEYS : 1;
        for (int64_t i = 0; i < n; i++)
            *(sc_item **)mr_map_assign_str(seen, slice(buf, r, i)) = sc_new_item(&hit_type, i, 64);
    }
    names = mr_map_new(&names_type, 0);
    char *bufs[2] = {mr_alloc_blob(BUF), mr_alloc_blob(BUF)};
    for (int64_t i = 0; i < NAMES; i++) {
        mr_str v = slice(bufs[i % 2], 5 + (int)(i % 2), i / 2);
        *(mr_str *)mr_map_assign_int(names, i) = v;
    }
}

typedef struct entry_truth {
    sc_entries e;
    uint64_t key_bytes;
    sc_set bufs;
} entry_truth;

static void on_seen(const mr_map_slot *s, void *ud)
{
    entry_truth *t = ud;
    const mr_str *k = s->key;
    const sc_item *it = *(sc_item *const *)s->value;
    char key[LEN + 1];
    memcpy(key, k->ptr, LEN);
    key[LEN] = 0;
    void *buf;
    if (!mr_object_type(k->ptr, &buf) || buf == k->ptr) sc_fail("key %s is not a slice", key);
    if (sc_set_add(&t->bufs, (uintptr_t)buf)) t->key_bytes += mr_object_size(buf);
    uint64_t own = key[1] == '0' + BUFS ? mr_object_size(buf) : 0;
    sc_entry(&t->e, key, own, own + mr_object_size(it) + mr_object_size(it->blob));
}

/* The buffers the values of names point into, and their bytes. */
typedef struct buf_truth {
    sc_set bufs;
    uint64_t bytes;
} buf_truth;

static void on_name_value(const mr_map_slot *s, void *ud)
{
    buf_truth *t = ud;
    void *buf;
    const mr_str *v = s->value;
    if (!mr_object_type(v->ptr, &buf) || buf == v->ptr) sc_fail("a value is not a slice");
    if (sc_set_add(&t->bufs, (uintptr_t)buf)) t->bytes += mr_object_size(buf);
}

static void on_name(const mr_map_slot *s, void *ud)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    sc_entry(ud, key, 0, 0);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "seen", seen);
    entry_truth t = {0};
    sc_walk_slots(seen, on_seen, &t);
    if (t.bufs.n != BUFS + 1) sc_fail("the keys point into %zu buffers", t.bufs.n);
    if (t.e.key_bytes != t.key_bytes / (BUFS + 1)) sc_fail("the keys own more than buffer 4");
    sc_truth_entries(snapshot, "seen", &t.e);
    sc_truth(snapshot, "seen", "\"slice_buffers\": %zu, \"slice_bytes\": %" PRIu64, t.bufs.n,
             t.key_bytes);
    free(t.bufs.k);
    sc_truth_map(snapshot, "names", names);
    buf_truth v = {0};
    sc_walk_slots(names, on_name_value, &v);
    sc_truth(snapshot, "names", "\"slice_buffers\": %zu, \"slice_bytes\": %" PRIu64, v.bufs.n,
             v.bytes);
    free(v.bufs.k);
    sc_truth_slots(snapshot, "names", names, on_name);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
