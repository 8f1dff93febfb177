/*
 * tests/fuzz/fuzz_attach.c -- libFuzzer target for the attach protocol
 * (src/format/attach.c), both directions: what an agent decodes from a
 * client and what maproot trace decodes from an agent.
 *
 * The input's first byte picks the direction (even: from a client, odd:
 * from an agent); the rest is read as a stream of frames, as both sides
 * read their socket: a length (mf_at_frame_len), then that frame
 * (mf_at_decode) on an exact-size copy, so ASan sees any read past it.
 * What is promised is checked, aborting when broken:
 *   - a decoded frame is of a kind its direction may send, its strings are
 *     never NULL and hold no control characters, it has at most
 *     MF_AT_MAX_MAPS map records;
 *   - encoding it succeeds, and decoding and encoding that again gives the
 *     same bytes (the encoding of a decoded frame is canonical).
 * Built with meson -Dfuzz=true (clang); run with scripts/fuzz. Seed corpus:
 * testdata/fuzz/attach/ (made by tests/test_attach --seeds DIR).
 */
#include "format/attach.h"

#include <stdlib.h>
#include <string.h>

#define MUST(c)                                                                                    \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

static void check_str(const char *s)
{
    MUST(s != NULL);
    for (; *s; s++) MUST((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void check_frame(const mf_at_frame *f, mf_at_dir dir)
{
    if (dir == MF_AT_FROM_CLIENT)
        MUST(f->kind >= MF_AT_HELLO && f->kind <= MF_AT_DETACH);
    else
        MUST(f->kind >= MF_AT_WELCOME && f->kind <= MF_AT_GOODBYE);
    check_str(f->hello.client);
    check_str(f->welcome.program);
    check_str(f->welcome.args);
    check_str(f->welcome.build_id);
    check_str(f->welcome.maproot_version);
    check_str(f->reply.message);
    check_str(f->done.message);
    check_str(f->goodbye.reason);
    MUST(f->cycle.nmaps <= MF_AT_MAX_MAPS);
    for (size_t i = 0; i < f->cycle.nmaps; i++) {
        const mf_at_map *m = &f->cycle.maps[i];
        check_str(m->type);
        check_str(m->growth_op);
        check_str(m->growth_function);
        check_str(m->growth_file);
    }
}

/* Encodes f; decodes and encodes that again: the bytes must agree. */
static void check_round_trip(const mf_at_frame *f, mf_at_dir dir)
{
    mf_buf a = {0}, b = {0};
    mf_error err;
    MUST(mf_at_encode(f, &a, &err) == 0);
    uint32_t len;
    MUST(mf_at_frame_len(a.data, a.len, dir, &len, &err) == 0 && len + 4 == a.len);
    mf_at_frame g;
    MUST(mf_at_decode(a.data + 4, len, dir, &g, &err) == 0);
    MUST(mf_at_encode(&g, &b, &err) == 0);
    MUST(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    mf_at_frame_free(&g);
    mf_buf_free(&a);
    mf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    mf_at_dir dir = data[0] & 1 ? MF_AT_FROM_AGENT : MF_AT_FROM_CLIENT;
    const uint8_t *p = data + 1, *end = data + size;
    for (int frames = 0; frames < 64; frames++) {
        uint32_t len;
        mf_error err;
        if (mf_at_frame_len(p, (size_t)(end - p), dir, &len, &err) != 0) break;
        p += 4;
        if (len > (size_t)(end - p)) break;
        uint8_t *copy = malloc(len);
        if (!copy) break;
        memcpy(copy, p, len);
        p += len;
        mf_at_frame f;
        if (mf_at_decode(copy, len, dir, &f, &err) == 0) {
            check_frame(&f, dir);
            check_round_trip(&f, dir);
        } else {
            MUST(strncmp(err.msg, "attach frame: ", 14) == 0);
        }
        mf_at_frame_free(&f);
        free(copy);
    }
    return 0;
}
