/*
 * src/format/attach.h -- the attach protocol (proto/attach.proto): frames
 * between a program's agent (libmaproot) and maproot trace / ps, encoded
 * and decoded by hand with wire.h like the other formats, so that neither
 * side needs a protobuf library.
 *
 * A frame on the socket is a 4-byte little-endian length and that many
 * bytes of one Frame message. mf_at_encode appends a whole frame (length
 * included); mf_at_frame_len reads the length of the next one; mf_at_decode
 * decodes the bytes after it. Each side decodes only what the other may
 * send (dir), under that direction's size limit.
 *
 * Decoded strings are copies, NUL-terminated, with control characters
 * (bytes below 0x20 and 0x7f) replaced by '?': they come from another
 * process and end up on terminals. They belong to the frame
 * (mf_at_frame_free).
 *
 * Errors: -1 with err set ("attach frame: field 4 of Welcome: truncated
 * varint (byte 17)"); out of memory is one too. Threads: none; functions
 * touch only their arguments.
 */
#ifndef MF_ATTACH_H
#define MF_ATTACH_H

#include "format/error.h"
#include "format/gz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_AT_VERSION 1
#define MF_AT_MAX_CLIENT_FRAME 4096u
#define MF_AT_MAX_AGENT_FRAME (4u << 20)
#define MF_AT_MAX_MAPS 1024u
#define MF_AT_DEFAULT_MAPS 64u

/* The body of a frame: its field number in Frame. */
typedef enum mf_at_kind {
    MF_AT_NONE = 0,
    MF_AT_HELLO = 2,
    MF_AT_SET_PROFILE_RATE = 3,
    MF_AT_SNAPSHOT = 4,
    MF_AT_SUBSCRIBE = 5,
    MF_AT_DETACH = 6,
    MF_AT_WELCOME = 10,
    MF_AT_REPLY = 11,
    MF_AT_SNAPSHOT_DONE = 12,
    MF_AT_CYCLE = 13,
    MF_AT_GOODBYE = 14,
} mf_at_kind;

/* Who sent the bytes being decoded. */
typedef enum mf_at_dir { MF_AT_FROM_CLIENT, MF_AT_FROM_AGENT } mf_at_dir;

typedef struct mf_at_hello {
    uint32_t version;
    const char *client;
} mf_at_hello;

typedef struct mf_at_welcome {
    uint32_t version;
    const char *program, *args, *build_id, *maproot_version;
    uint64_t pid;
    int64_t start_time_ns, last_gc_ns;
    uint32_t gc_cycle, clients;
    uint64_t live_bytes, live_objects, next_gc, total_alloc, pause_total_ns, profile_rate;
} mf_at_welcome;

typedef struct mf_at_snapshot {
    bool force_gc, snapshot, profile;
} mf_at_snapshot;

typedef struct mf_at_subscribe {
    uint32_t census_interval_ms, max_maps;
} mf_at_subscribe;

typedef struct mf_at_reply {
    bool ok;
    const char *message;
} mf_at_reply;

typedef struct mf_at_done {
    bool ok, forced;
    const char *message;
    uint32_t gc_cycle;
    uint64_t snapshot_bytes, profile_bytes, pause_ns, objects, maps, entries;
} mf_at_done;

typedef struct mf_at_map {
    uint64_t id, address, count, first_count, bucket_size, growth_pc, lists_bytes;
    const char *type, *growth_op, *growth_function, *growth_file;
    int64_t growth_line;
    uint32_t first_cycle, b, noverflow;
    bool growing, gone;
} mf_at_map;

typedef struct mf_at_cycle {
    uint32_t gc_cycle, maps_omitted;
    int64_t end_ns;
    uint64_t pause_ns, live_bytes, live_objects, garbage_bytes, next_gc;
    uint64_t total_alloc, mallocs, profile_rate, dropped;
    bool census;
    uint64_t maps_total, entries_total;
    uint64_t agent_ns; /* the agent's part of this collection's pause */
    mf_at_map *maps;
    size_t nmaps;
} mf_at_cycle;

typedef struct mf_at_goodbye {
    const char *reason;
} mf_at_goodbye;

/*
 * One frame. kind says which body is meant; the others are zero. For
 * encoding, strings may be NULL (sent as ""); decoded ones never are.
 */
typedef struct mf_at_frame {
    mf_at_kind kind;
    uint64_t request_id;
    mf_at_hello hello;
    uint64_t profile_rate; /* MF_AT_SET_PROFILE_RATE */
    mf_at_snapshot snapshot;
    mf_at_subscribe subscribe;
    mf_at_welcome welcome;
    mf_at_reply reply;
    mf_at_done done;
    mf_at_cycle cycle;
    mf_at_goodbye goodbye;
    void *arena_; /* decoded strings and maps (owned) */
} mf_at_frame;

/* The name of a kind, for messages ("Hello", "CycleEvent", ...). */
const char *mf_at_kind_name(mf_at_kind k);

/* Appends frame f to out (length prefix included). -1 with err when out of
 * memory, or when f is too long for its direction (a cycle event with more
 * than MF_AT_MAX_MAPS maps, a client frame over 4096 bytes). */
int mf_at_encode(const mf_at_frame *f, mf_buf *out, mf_error *err);

/* The length of the frame whose first bytes are p[0..n): 0 and *len when
 * the 4 length bytes are there, 1 when more bytes are needed, -1 with err
 * when the length is over the limit of dir (or 0). */
int mf_at_frame_len(const uint8_t *p, size_t n, mf_at_dir dir, uint32_t *len, mf_error *err);

/* Decodes the n bytes of a frame's message (without the length prefix)
 * into *out, which the caller frees with mf_at_frame_free (also after a
 * failure). A body that dir may not send, or none, is an error. */
int mf_at_decode(const uint8_t *p, size_t n, mf_at_dir dir, mf_at_frame *out, mf_error *err);
void mf_at_frame_free(mf_at_frame *f);

#endif
