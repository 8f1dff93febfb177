/*
 * tests/test_attach.c -- the attach protocol's frames (src/format/attach.c):
 * round trip of every message, protoc-c's decoder of proto/attach.proto
 * agreeing with what we encode, unknown fields skipped, limits and the
 * direction of each message enforced, every truncation refused, strings
 * made safe for terminals. With --seeds DIR it writes the fuzz target's
 * seed corpus (testdata/fuzz/attach/) instead.
 */
#include "attach.pb-c.h"
#include "check.h"
#include "format/attach.h"
#include "format/wire.h"

#include <stdbool.h>

static mf_at_map sample_maps[2] = {
    {.id = 7,
     .address = 0x7f0000001000,
     .type = "map[string]*Session",
     .count = 120000,
     .first_count = 1000,
     .first_cycle = 3,
     .b = 15,
     .noverflow = 453,
     .bucket_size = 208,
     .growing = true,
     .growth_pc = 0x401234,
     .growth_op = "mr_map_set",
     .growth_function = "lookup_or_login",
     .growth_file = "examples/sessiond.c",
     .growth_line = 74,
     .lists_bytes = 8224},
    {.id = 9, .address = 0x7f0000002000, .type = "map[int64]*Job", .gone = true},
};

/* One frame of every kind, every field set to something but its default. */
static mf_at_frame sample(mf_at_kind k)
{
    mf_at_frame f = {.kind = k, .request_id = 42};
    switch (k) {
    case MF_AT_HELLO:
        f.hello = (mf_at_hello){MF_AT_VERSION, "maproot trace"};
        break;
    case MF_AT_SET_PROFILE_RATE:
        f.profile_rate = 4096;
        break;
    case MF_AT_SNAPSHOT:
        f.snapshot = (mf_at_snapshot){true, true, true};
        break;
    case MF_AT_SUBSCRIBE:
        f.subscribe = (mf_at_subscribe){5000, 64};
        break;
    case MF_AT_WELCOME:
        f.welcome = (mf_at_welcome){.version = 1,
                                    .program = "/srv/sessiond",
                                    .args = "sessiond --port 80",
                                    .build_id = "abcdef",
                                    .maproot_version = "0.1.0",
                                    .pid = 4242,
                                    .start_time_ns = 1700000000000000000,
                                    .last_gc_ns = 1700000000500000000,
                                    .gc_cycle = 311,
                                    .clients = 2,
                                    .live_bytes = 1 << 30,
                                    .live_objects = 1000000,
                                    .next_gc = 2u << 30,
                                    .total_alloc = 5ull << 32,
                                    .pause_total_ns = 123456789,
                                    .profile_rate = 524288};
        break;
    case MF_AT_REPLY:
        f.reply = (mf_at_reply){true, "ok then"};
        break;
    case MF_AT_SNAPSHOT_DONE:
        f.done = (mf_at_done){.ok = true,
                              .forced = true,
                              .message = "fine",
                              .gc_cycle = 312,
                              .snapshot_bytes = 1 << 20,
                              .profile_bytes = 4096,
                              .pause_ns = 800000,
                              .objects = 360000,
                              .maps = 3,
                              .entries = 120003};
        break;
    case MF_AT_CYCLE:
        f.cycle = (mf_at_cycle){.gc_cycle = 313,
                                .maps_omitted = 4,
                                .end_ns = 1700000001000000000,
                                .pause_ns = 3100000,
                                .live_bytes = 400 << 20,
                                .live_objects = 9000,
                                .garbage_bytes = 10 << 20,
                                .next_gc = 800 << 20,
                                .total_alloc = 1ull << 40,
                                .mallocs = 1ull << 30,
                                .profile_rate = 1,
                                .dropped = 2,
                                .census = true,
                                .maps_total = 5,
                                .entries_total = 130000,
                                .agent_ns = 4321,
                                .maps = sample_maps,
                                .nmaps = 2};
        break;
    case MF_AT_GOODBYE:
        f.goodbye.reason = "the program is exiting";
        break;
    default:
        break;
    }
    return f;
}

static const mf_at_kind all_kinds[] = {
    MF_AT_HELLO,  MF_AT_SET_PROFILE_RATE, MF_AT_SNAPSHOT, MF_AT_SUBSCRIBE,
    MF_AT_DETACH, MF_AT_WELCOME,          MF_AT_REPLY,    MF_AT_SNAPSHOT_DONE,
    MF_AT_CYCLE,  MF_AT_GOODBYE,
};

static mf_at_dir dir_of(mf_at_kind k)
{
    return k < MF_AT_WELCOME ? MF_AT_FROM_CLIENT : MF_AT_FROM_AGENT;
}

static bool same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool same_map(const mf_at_map *a, const mf_at_map *b)
{
    return a->id == b->id && a->address == b->address && same_str(a->type, b->type) &&
           a->count == b->count && a->first_count == b->first_count &&
           a->first_cycle == b->first_cycle && a->b == b->b && a->noverflow == b->noverflow &&
           a->bucket_size == b->bucket_size && a->growing == b->growing && a->gone == b->gone &&
           a->growth_pc == b->growth_pc && same_str(a->growth_op, b->growth_op) &&
           same_str(a->growth_function, b->growth_function) &&
           same_str(a->growth_file, b->growth_file) && a->growth_line == b->growth_line &&
           a->lists_bytes == b->lists_bytes;
}

/* Field by field, the way the encoder sees the frame. */
static bool same(const mf_at_frame *a, const mf_at_frame *b)
{
    if (a->kind != b->kind || a->request_id != b->request_id) return false;
    const mf_at_welcome *w = &a->welcome, *x = &b->welcome;
    const mf_at_cycle *c = &a->cycle, *d = &b->cycle;
    switch (a->kind) {
    case MF_AT_HELLO:
        return a->hello.version == b->hello.version && same_str(a->hello.client, b->hello.client);
    case MF_AT_SET_PROFILE_RATE:
        return a->profile_rate == b->profile_rate;
    case MF_AT_SNAPSHOT:
        return memcmp(&a->snapshot, &b->snapshot, sizeof a->snapshot) == 0;
    case MF_AT_SUBSCRIBE:
        return memcmp(&a->subscribe, &b->subscribe, sizeof a->subscribe) == 0;
    case MF_AT_DETACH:
        return true;
    case MF_AT_WELCOME:
        return w->version == x->version && same_str(w->program, x->program) &&
               same_str(w->args, x->args) && same_str(w->build_id, x->build_id) &&
               same_str(w->maproot_version, x->maproot_version) && w->pid == x->pid &&
               w->start_time_ns == x->start_time_ns && w->last_gc_ns == x->last_gc_ns &&
               w->gc_cycle == x->gc_cycle && w->clients == x->clients &&
               w->live_bytes == x->live_bytes && w->live_objects == x->live_objects &&
               w->next_gc == x->next_gc && w->total_alloc == x->total_alloc &&
               w->pause_total_ns == x->pause_total_ns && w->profile_rate == x->profile_rate;
    case MF_AT_REPLY:
        return a->reply.ok == b->reply.ok && same_str(a->reply.message, b->reply.message);
    case MF_AT_SNAPSHOT_DONE:
        return a->done.ok == b->done.ok && a->done.forced == b->done.forced &&
               same_str(a->done.message, b->done.message) && a->done.gc_cycle == b->done.gc_cycle &&
               a->done.snapshot_bytes == b->done.snapshot_bytes &&
               a->done.profile_bytes == b->done.profile_bytes &&
               a->done.pause_ns == b->done.pause_ns && a->done.objects == b->done.objects &&
               a->done.maps == b->done.maps && a->done.entries == b->done.entries;
    case MF_AT_CYCLE:
        if (c->nmaps != d->nmaps) return false;
        for (size_t i = 0; i < c->nmaps; i++)
            if (!same_map(&c->maps[i], &d->maps[i])) return false;
        return c->gc_cycle == d->gc_cycle && c->maps_omitted == d->maps_omitted &&
               c->end_ns == d->end_ns && c->pause_ns == d->pause_ns &&
               c->live_bytes == d->live_bytes && c->live_objects == d->live_objects &&
               c->garbage_bytes == d->garbage_bytes && c->next_gc == d->next_gc &&
               c->total_alloc == d->total_alloc && c->mallocs == d->mallocs &&
               c->profile_rate == d->profile_rate && c->dropped == d->dropped &&
               c->census == d->census && c->maps_total == d->maps_total &&
               c->entries_total == d->entries_total && c->agent_ns == d->agent_ns;
    case MF_AT_GOODBYE:
        return same_str(a->goodbye.reason, b->goodbye.reason);
    default:
        return false;
    }
}

static void test_every_message_round_trips(void)
{
    for (size_t i = 0; i < sizeof all_kinds / sizeof *all_kinds; i++) {
        mf_at_frame f = sample(all_kinds[i]), g;
        mf_buf b = {0};
        mf_error err;
        CHECK(mf_at_encode(&f, &b, &err) == 0);
        uint32_t len;
        CHECK(mf_at_frame_len(b.data, b.len, dir_of(f.kind), &len, &err) == 0);
        CHECK_EQ_U64(len + 4, b.len);
        int rc = mf_at_decode(b.data + 4, len, dir_of(f.kind), &g, &err);
        if (rc) fprintf(stderr, "%s: %s\n", mf_at_kind_name(f.kind), err.msg);
        CHECK(rc == 0);
        if (!same(&f, &g)) fprintf(stderr, "%s differs\n", mf_at_kind_name(f.kind));
        CHECK(same(&f, &g));
        mf_at_frame_free(&g);
        mf_buf_free(&b);
    }
}

/* protoc-c's code for proto/attach.proto reads what we write, field for
 * field: the encoder follows the published schema, not just itself. */
static void test_protoc_c_reads_what_we_write(void)
{
    mf_error err;
    mf_at_frame f = sample(MF_AT_CYCLE);
    mf_buf b = {0};
    CHECK(mf_at_encode(&f, &b, &err) == 0);
    Maproot__Attach__Frame *p = maproot__attach__frame__unpack(NULL, b.len - 4, b.data + 4);
    CHECK(p != NULL);
    CHECK(p->body_case == MAPROOT__ATTACH__FRAME__BODY_CYCLE);
    CHECK_EQ_U64(p->request_id, 42);
    CHECK_EQ_U64(p->cycle->gc_cycle, 313);
    CHECK_EQ_U64(p->cycle->live_bytes, 400 << 20);
    CHECK_EQ_U64(p->cycle->n_maps, 2);
    CHECK_STR_EQ(p->cycle->maps[0]->type, "map[string]*Session");
    CHECK_EQ_U64(p->cycle->maps[0]->growth_line, 74);
    CHECK_EQ_U64(p->cycle->maps[0]->lists_bytes, 8224);
    CHECK(p->cycle->maps[1]->gone);
    maproot__attach__frame__free_unpacked(p, NULL);
    mf_buf_free(&b);

    f = sample(MF_AT_WELCOME);
    CHECK(mf_at_encode(&f, &b, &err) == 0);
    p = maproot__attach__frame__unpack(NULL, b.len - 4, b.data + 4);
    CHECK(p != NULL);
    CHECK(p->body_case == MAPROOT__ATTACH__FRAME__BODY_WELCOME);
    CHECK_STR_EQ(p->welcome->program, "/srv/sessiond");
    CHECK_EQ_U64(p->welcome->pid, 4242);
    CHECK_EQ_U64((uint64_t)p->welcome->start_time_ns, 1700000000000000000ull);
    maproot__attach__frame__free_unpacked(p, NULL);
    mf_buf_free(&b);

    /* and we read what protoc-c writes, with a field we do not know */
    Maproot__Attach__Hello h = MAPROOT__ATTACH__HELLO__INIT;
    h.version = 1;
    h.client = "other";
    Maproot__Attach__Frame fr = MAPROOT__ATTACH__FRAME__INIT;
    fr.request_id = 5;
    fr.body_case = MAPROOT__ATTACH__FRAME__BODY_HELLO;
    fr.hello = &h;
    uint8_t buf[256];
    size_t n = maproot__attach__frame__pack(&fr, buf);
    uint8_t *q = mf_put_varint(buf + n, 99 << 3 | MF_WT_VARINT); /* field 99: unknown */
    q = mf_put_varint(q, 7);
    n = (size_t)(q - buf);
    mf_at_frame g;
    CHECK(mf_at_decode(buf, n, MF_AT_FROM_CLIENT, &g, &err) == 0);
    CHECK(g.kind == MF_AT_HELLO && g.request_id == 5 && g.hello.version == 1);
    CHECK_STR_EQ(g.hello.client, "other");
    mf_at_frame_free(&g);
}

/* A message only goes one way: the agent never takes a Welcome, the client
 * never a SnapshotRequest. */
static void test_each_side_takes_only_the_others_messages(void)
{
    for (size_t i = 0; i < sizeof all_kinds / sizeof *all_kinds; i++) {
        mf_at_frame f = sample(all_kinds[i]), g;
        mf_buf b = {0};
        mf_error err;
        CHECK(mf_at_encode(&f, &b, &err) == 0);
        mf_at_dir wrong =
            dir_of(f.kind) == MF_AT_FROM_CLIENT ? MF_AT_FROM_AGENT : MF_AT_FROM_CLIENT;
        CHECK(mf_at_decode(b.data + 4, b.len - 4, wrong, &g, &err) == -1);
        CHECK(strstr(err.msg, "may not come from") != NULL);
        mf_at_frame_free(&g);
        mf_buf_free(&b);
    }
}

/* Every prefix of a frame is refused with a message (or, where the cut
 * falls between fields, decodes to fewer fields), never read past. */
static void test_truncations_are_refused_cleanly(void)
{
    mf_at_frame f = sample(MF_AT_CYCLE);
    mf_buf b = {0};
    mf_error err;
    CHECK(mf_at_encode(&f, &b, &err) == 0);
    size_t refused = 0;
    for (size_t n = 0; n < b.len - 4; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees a read past */
        memcpy(copy, b.data + 4, n);
        mf_at_frame g;
        err.msg[0] = 0;
        if (mf_at_decode(copy, n, MF_AT_FROM_AGENT, &g, &err) != 0) {
            refused++;
            CHECK(strncmp(err.msg, "attach frame: ", 14) == 0);
        }
        mf_at_frame_free(&g);
        free(copy);
    }
    CHECK(refused > (b.len - 4) / 2);
    mf_buf_free(&b);
}

static void test_limits(void)
{
    mf_error err;
    mf_buf b = {0};
    /* a client frame over 4096 bytes is not sent */
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    mf_at_frame f = {.kind = MF_AT_HELLO, .hello = {1, big}};
    CHECK(mf_at_encode(&f, &b, &err) == -1);
    CHECK(strstr(err.msg, "over the limit") != NULL);
    CHECK_EQ_U64(b.len, 0);
    /* nor a cycle event with too many maps */
    mf_at_frame c = {.kind = MF_AT_CYCLE, .cycle = {.maps = sample_maps, .nmaps = 2000}};
    CHECK(mf_at_encode(&c, &b, &err) == -1);
    /* the length word: over the limit, zero, not yet there */
    uint8_t len5k[4] = {0x88, 0x13, 0, 0}, zero[4] = {0}, over[4] = {0, 0, 0x41, 0};
    uint32_t len;
    CHECK(mf_at_frame_len(len5k, 4, MF_AT_FROM_CLIENT, &len, &err) == -1);
    CHECK(mf_at_frame_len(len5k, 4, MF_AT_FROM_AGENT, &len, &err) == 0 && len == 5000);
    CHECK(mf_at_frame_len(over, 4, MF_AT_FROM_AGENT, &len, &err) == -1);
    CHECK(mf_at_frame_len(zero, 4, MF_AT_FROM_AGENT, &len, &err) == -1);
    CHECK(mf_at_frame_len(zero, 3, MF_AT_FROM_AGENT, &len, &err) == 1);
    /* a frame without a body, and one with two */
    uint8_t nobody[] = {0x08, 0x01};
    mf_at_frame g;
    CHECK(mf_at_decode(nobody, sizeof nobody, MF_AT_FROM_CLIENT, &g, &err) == -1);
    CHECK(strstr(err.msg, "no body") != NULL);
    mf_at_frame_free(&g);
    uint8_t two[] = {0x12, 0x00, 0x32, 0x00}; /* Hello and Detach */
    CHECK(mf_at_decode(two, sizeof two, MF_AT_FROM_CLIENT, &g, &err) == -1);
    mf_at_frame_free(&g);
    mf_buf_free(&b);
}

/* Names from another process reach terminals: no escape sequences. */
static void test_control_characters_are_replaced(void)
{
    mf_at_frame f = sample(MF_AT_WELCOME), g;
    f.welcome.program = "/bin/\x1b[2Jevil\n";
    mf_buf b = {0};
    mf_error err;
    CHECK(mf_at_encode(&f, &b, &err) == 0);
    CHECK(mf_at_decode(b.data + 4, b.len - 4, MF_AT_FROM_AGENT, &g, &err) == 0);
    CHECK_STR_EQ(g.welcome.program, "/bin/?[2Jevil?");
    CHECK_STR_EQ(g.welcome.args, "sessiond --port 80");
    mf_at_frame_free(&g);
    /* absent strings decode as "" */
    mf_at_frame r = {.kind = MF_AT_REPLY, .reply = {true, NULL}};
    b.len = 0;
    CHECK(mf_at_encode(&r, &b, &err) == 0);
    CHECK(mf_at_decode(b.data + 4, b.len - 4, MF_AT_FROM_AGENT, &g, &err) == 0);
    CHECK(g.reply.message != NULL && g.reply.message[0] == 0 && g.reply.ok);
    mf_at_frame_free(&g);
    mf_buf_free(&b);
}

/* test_attach --seeds DIR: writes one seed of the fuzz target per message
 * kind (its direction byte, then the frame) into DIR. */
static int write_seeds(const char *dir)
{
    for (size_t i = 0; i < sizeof all_kinds / sizeof *all_kinds; i++) {
        mf_at_frame f = sample(all_kinds[i]);
        mf_buf b = {0};
        mf_error err;
        uint8_t d = dir_of(f.kind) == MF_AT_FROM_AGENT;
        if (mf_buf_append(&b, &d, 1, &err) || mf_at_encode(&f, &b, &err)) return 1;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.frame", dir, mf_at_kind_name(f.kind));
        FILE *o = fopen(path, "wb");
        if (!o || fwrite(b.data, 1, b.len, o) != b.len || fclose(o) != 0) return 1;
        mf_buf_free(&b);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0) return write_seeds(argv[2]);
    TEST(test_every_message_round_trips);
    TEST(test_protoc_c_reads_what_we_write);
    TEST(test_each_side_takes_only_the_others_messages);
    TEST(test_truncations_are_refused_cleanly);
    TEST(test_limits);
    TEST(test_control_characters_are_replaced);
    TEST_EXIT();
}
