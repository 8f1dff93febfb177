/*
 * tests/scenarios/func_values.c -- maps of function values: handler tables
 * whose slots hold pointers into code and into static data next to heap
 * pointers, as a dispatch table or a map[string]func() does.
 *
 * TRUTH. Two globals, each a map that only grows (a leak):
 *   handlers  map[string]Handler, 3,000 entries ("route-N"); a Handler (24
 *            bytes, stored in the slot) is {fn, conf, state}: fn a pointer
 *            to one of four functions of the program, conf a pointer to a
 *            static (non-heap) struct, state a pointer to a heap blob of 64
 *            + 8 * (N % 50) bytes of the entry alone. All three are
 *            declared pointer fields, so the collector reads them; only
 *            state leads to a heap object. Every entry retains exactly its
 *            key string and state blob (keys_retained_bytes: the keys'),
 *            entries_retained_bytes is their sum, no entry is
 *            shared, and the map retains exactly its objects: code and
 *            static data are no objects and make no edge.
 *   callbacks map[int64]*Callback with 2,000 entries; a Callback (a heap
 *            object) holds fn (a code pointer, a declared pointer field) and
 *            arg (a 96-byte blob). Each entry retains its Callback and blob.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { HANDLERS = 3000, CALLBACKS = 2000 };

typedef struct Handler {
    void (*fn)(void);
    const void *conf;
    uint8_t *state;
} Handler;
MR_TYPE(handler_type, Handler, MR_FIELD(Handler, fn), MR_FIELD(Handler, conf),
        MR_FIELD(Handler, state));

typedef struct Callback {
    void (*fn)(void);
    uint8_t *arg;
} Callback;
MR_TYPE(callback_type, Callback, MR_FIELD(Callback, fn), MR_FIELD(Callback, arg));

static const mr_map_type handlers_type = {"map[string]Handler", MR_KEY_STRING, NULL,
                                          &handler_type};
static const mr_map_type callbacks_type = {"map[int64]*Callback", MR_KEY_INT64, NULL,
                                           &mr_type_pointer};

static mr_map *handlers, *callbacks;
MR_GLOBAL(handlers)
MR_GLOBAL(callbacks)

static void on_get(void) {}
static void on_put(void) {}
static void on_delete(void) {}
static void on_list(void) {}
static void (*const fns[4])(void) = {on_get, on_put, on_delete, on_list};
static const struct { int timeout_ms, retries; } confs[3] = {{100, 1}, {500, 3}, {2000, 5}};

__attribute__((noinline)) static void build(void)
{
    handlers = mr_map_new(&handlers_type, 0);
    for (int64_t i = 0; i < HANDLERS; i++) {
        Handler *h = mr_map_assign_str(handlers, mr_str_printf("route-%" PRId64, i));
        h->fn = fns[i % 4];
        h->conf = &confs[i % 3];
        h->state = mr_alloc_blob(64 + 8 * (size_t)(i % 50));
    }
    callbacks = mr_map_new(&callbacks_type, 0);
    for (int64_t i = 0; i < CALLBACKS; i++) {
        Callback *c = mr_new(&callback_type);
        c->fn = fns[(i + 1) % 4];
        c->arg = mr_alloc_blob(96);
        *(Callback **)mr_map_assign_int(callbacks, i) = c;
    }
}

static void handler_slot(const mr_map_slot *s, void *ud)
{
    const Handler *h = s->value;
    mr_str k = *(const mr_str *)s->key;
    char key[32];
    snprintf(key, sizeof key, "%.*s", (int)k.len, k.ptr);
    void *kobj;
    if (!mr_object_type(k.ptr, &kobj)) sc_fail("a key is not on the heap");
    uint64_t kb = mr_object_size(kobj);
    sc_entry(ud, key, kb, kb + mr_object_size(h->state));
}

static void callback_slot(const mr_map_slot *s, void *ud)
{
    const Callback *c = *(Callback *const *)s->value;
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, *(const int64_t *)s->key);
    sc_entry(ud, key, 0, mr_object_size(c) + mr_object_size(c->arg));
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "handlers", handlers);
    sc_truth_slots(snapshot, "handlers", handlers, handler_slot);
    sc_truth_map(snapshot, "callbacks", callbacks);
    sc_truth_slots(snapshot, "callbacks", callbacks, callback_slot);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
