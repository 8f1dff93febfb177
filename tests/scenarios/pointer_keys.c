/*
 * tests/scenarios/pointer_keys.c -- maps whose keys carry pointers: a
 * fixed-size struct key with a pointer field, and plain pointer keys.
 *
 * TRUTH.
 *   iface_keys  a map[Iface]int64 whose keys are 16-byte interface-like
 *               structs {type tag, data pointer} (MR_KEY_BYTES, the key
 *               type's pointer map names the data field). 200 keys, each
 *               pointing at its own 64 KiB buffer; the values are counters.
 *               The keys retain 99.9% of what the map retains (every
 *               buffer: exactly the sum of their sizes): evidence
 *               pointer_keys, and large_share.
 *   conn_keys   a map[*Conn]int64 (MR_KEY_PTR) of 100 keys, each a 64 KiB
 *               connection buffer: pointer_keys and large_share too.
 * Both are rooted at their globals and retain exactly their own objects.
 * Snapshots "held" (in-process, from main) and "exit" see the same heap.
 */
#include "scenario.h"

enum { IFACES = 200, CONNS = 100, BUFFER = 64 * 1024 };

typedef struct Iface {
    uint64_t tag; /* a type tag, no pointer */
    void *data;
} Iface;
MR_TYPE(iface_type, Iface, MR_FIELD(Iface, data));

static const mr_map_type iface_map_type = {"map[Iface]int64", MR_KEY_BYTES, &iface_type,
                                           &mr_type_int64};
static const mr_map_type conn_map_type = {"map[*Conn]int64", MR_KEY_PTR, &mr_type_blob,
                                          &mr_type_int64};

static mr_map *iface_keys, *conn_keys;
MR_GLOBAL(iface_keys)
MR_GLOBAL(conn_keys)

/* The bytes of the objects the keys point to (each referenced by its key
 * alone), measured by the runtime. */
static uint64_t iface_key_bytes, conn_key_bytes;

__attribute__((noinline)) static void build(void)
{
    iface_keys = mr_map_new(&iface_map_type, 0);
    for (int i = 0; i < IFACES; i++) {
        Iface k = {(uint64_t)(i % 7), mr_alloc_blob(BUFFER)};
        iface_key_bytes += mr_object_size(k.data);
        *(int64_t *)mr_map_assign(iface_keys, &k) = i;
    }
    conn_keys = mr_map_new(&conn_map_type, 0);
    for (int i = 0; i < CONNS; i++) {
        void *conn = mr_alloc_blob(BUFFER);
        conn_key_bytes += mr_object_size(conn);
        *(int64_t *)mr_map_assign(conn_keys, &conn) = i;
    }
}

/* The map's truth, and the bytes its keys keep alive. */
__attribute__((noinline)) static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "iface_keys", iface_keys);
    sc_truth(snapshot, "iface_keys", "\"keys_retained_bytes\": %" PRIu64, iface_key_bytes);
    sc_truth_map(snapshot, "conn_keys", conn_keys);
    sc_truth(snapshot, "conn_keys", "\"keys_retained_bytes\": %" PRIu64, conn_key_bytes);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
