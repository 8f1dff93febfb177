/*
 * examples/pointer_keys.c -- leak pattern 5: a map whose keys carry pointers
 * that pin large buffers.
 *
 * An upload handler reads each upload into a 64 KiB Buffer, processes it and
 * drops it. For monitoring, it also counts the bytes processed per buffer in
 * a global map[*Buffer]int64 (pointer keys, MR_KEY_PTR). The counter looks
 * tiny (an 8-byte key and an 8-byte value per entry), but a pointer key is a
 * reference like any other: each key keeps its Buffer, and the Buffer its
 * 64 KiB of data, alive for as long as the entry exists. Nobody deletes the
 * entries, so every buffer ever used stays in the heap.
 */
#include "example.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

enum { NUPLOADS = 2000, BUFFER_BYTES = 64 * 1024 };

typedef struct Buffer {
    uint8_t *data; /* blob of BUFFER_BYTES */
    size_t len;
    int64_t upload_id;
} Buffer;

MR_TYPE(buffer_type, Buffer, MR_FIELD(Buffer, data));

static const mr_map_type stats_map_type = {
    .name = "map[*Buffer]int64",
    .key_kind = MR_KEY_PTR,
    .key_type = &buffer_type, /* informational: what the keys point at */
    .value_type = &mr_type_int64,
};

/* Bytes processed, per buffer: the innocent-looking statistics map. */
static mr_map *bytes_by_buffer;
MR_GLOBAL(bytes_by_buffer)

__attribute__((noinline)) static Buffer *new_buffer(int64_t upload_id)
{
    Buffer *b = mr_new(&buffer_type);
    b->data = mr_alloc_blob(BUFFER_BYTES);
    b->upload_id = upload_id;
    return b;
}

/* Fills the buffer as a read would, and returns how much it read. */
static size_t read_upload(Buffer *b)
{
    b->len = BUFFER_BYTES / 2 + (size_t)(b->upload_id * 131) % (BUFFER_BYTES / 2);
    for (size_t i = 0; i < b->len; i += 256) b->data[i] = (uint8_t)(i + (size_t)b->upload_id);
    return b->len;
}

/* Handles one upload; the buffer is dropped when it returns, except for the
 * reference the statistics map keeps. */
__attribute__((noinline)) static uint64_t handle_upload(int64_t id)
{
    Buffer *b = new_buffer(id);
    size_t n = read_upload(b);
    int64_t *count = mr_map_assign(bytes_by_buffer, &b);
    *count += (int64_t)n;
    return b->data[0];
}

int main(void)
{
    bytes_by_buffer = mr_map_new(&stats_map_type, 0);
    uint64_t sum = 0;
    for (int64_t id = 0; id < NUPLOADS; id++) sum += handle_upload(id);
    printf("pointer_keys: handled %d uploads (checksum %" PRIu64 "), bytes_by_buffer has %zu "
           "entries\n\n",
           NUPLOADS, sum, mr_map_len(bytes_by_buffer));
    if (mr_map_len(bytes_by_buffer) != NUPLOADS) return 1;

    example_report(
        "pointer_keys",
        "bytes_by_buffer is a global map[*Buffer]int64 used for statistics; its entries "
        "are only 16 bytes each, yet it retains about 128 MiB: each key is a pointer to "
        "a Buffer, and a pointer key keeps its target alive exactly like a pointer value "
        "does. Every upload's 64 KiB buffer therefore survives the handler that used it. "
        "Fix: key the map by something that carries no pointer (the upload id), or "
        "delete the entry when the buffer is released.");
    return 0;
}
