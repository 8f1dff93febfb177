/*
 * tests/gate_heaps.c -- programs for tests/test_gate.sh, each shaped to make
 * one answer of `maproot gate` right or wrong. Automatic collections are
 * off; the program runs TICKS ticks of work, each ended by a full
 * collection (mr_gc), so a run under `maproot gate --` has one periodic
 * snapshot per tick. Each states what a right gate says:
 *   steady   a server at its steady state: a fixed configuration map, and
 *            per-request maps that are dropped when the request ends: no
 *            violation of any rule;
 *   slow     a global map that grows by 20 small entries a tick: in every
 *            interval, but under the growth rule's minimum: passes the
 *            defaults, fails with min_entries 0 and min_bytes 0;
 *   replace  a global map replaced each tick by a new one of 5,000 entries:
 *            one map followed (the new map is its predecessor, by root), no
 *            growth;
 *   two      two leaks: the global audit_log (map[int64]*Audit, +3,000 a
 *            tick, allocated in record_audit) and the global metrics
 *            (map[string]*Metric, +2,000 a tick, in new_metric); SCALE
 *            (argv[2], default 1) multiplies both, to grow beyond a baseline.
 *   shards   two maps of one type, map[int64]*Blob, in the two fields of
 *            the struct the global `shards` points at: `hot` grows by
 *            3,000 entries a tick (times SCALE), `cold` holds 60,000 from
 *            the start; hot is made first, so it has the lower address;
 *   shards_swapped
 *            the same, cold made first (hot has the higher address): the
 *            fields, not the addresses, say which map is which, and a
 *            baseline of one pairs its maps with the other's by field;
 *   latin1   a global map whose type and values' type are named in Latin-1,
 *            not UTF-8 ("Caf\xe9"): 1,000 values a tick (times SCALE). A
 *            baseline must hold such names, and pair them again.
 *   sessions many small maps: the global `sessions` (an array) gains 200
 *            Sessions a tick (times SCALE), each with its own
 *            map[int64]*Blob of 2 entries, and never drops one. No map
 *            grows; the group of their maps, under the array, does: a
 *            leak (growth) of the group alone.
 * usage: gate_heaps HEAP [SCALE]
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TICKS = 8 };

static const mr_map_type int_blobs = {"map[int64]*Blob", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type str_blobs = {"map[string]*Blob", MR_KEY_STRING, NULL, &mr_type_pointer};

/* ------------------------------------------------------------- steady --- */

static mr_map *config;
MR_GLOBAL(config)

__attribute__((noinline)) static int64_t handle_request(int64_t n)
{
    mr_map *scratch = mr_map_new(&int_blobs, 0); /* dropped when the request ends */
    int64_t sum = 0;
    for (int64_t i = 0; i < 50; i++) {
        void *b = mr_alloc_blob(64);
        mr_map_set(scratch, &i, &b);
    }
    int64_t k = n % 100;
    void *c = NULL;
    if (mr_map_get(config, &k, &c)) sum += (int64_t)mr_map_len(scratch);
    return sum;
}

static void steady(int scale)
{
    (void)scale;
    config = mr_map_new(&int_blobs, 0);
    for (int64_t i = 0; i < 100; i++) {
        void *b = mr_alloc_blob(256);
        mr_map_set(config, &i, &b);
    }
    int64_t sum = 0;
    for (int t = 0; t < TICKS; t++) {
        for (int64_t n = 0; n < 2000; n++) sum += handle_request(n);
        mr_gc();
    }
    printf("steady: %" PRId64 "\n", sum);
}

/* --------------------------------------------------------------- slow --- */

static mr_map *slow_index;
MR_GLOBAL(slow_index)

static void slow(int scale)
{
    (void)scale;
    slow_index = mr_map_new(&int_blobs, 0);
    int64_t k = 0;
    for (int t = 0; t < TICKS; t++) {
        for (int i = 0; i < 20; i++, k++) {
            void *b = mr_alloc_blob(32);
            mr_map_set(slow_index, &k, &b);
        }
        mr_gc();
    }
}

/* ------------------------------------------------------------ replace --- */

static mr_map *window;
MR_GLOBAL(window)

static void replace(int scale)
{
    (void)scale;
    for (int t = 0; t < TICKS; t++) {
        mr_map *next = mr_map_new(&int_blobs, 0);
        for (int64_t i = 0; i < 5000; i++) {
            void *b = mr_alloc_blob(48);
            int64_t k = (int64_t)t * 5000 + i;
            mr_map_set(next, &k, &b);
        }
        window = next; /* the old window is garbage now */
        mr_gc();
    }
}

/* ---------------------------------------------------------------- two --- */

static mr_map *audit_log, *metrics;
MR_GLOBAL(audit_log)
MR_GLOBAL(metrics)

__attribute__((noinline)) static void *record_audit(int64_t n)
{
    uint8_t *b = mr_alloc_blob(128);
    b[0] = (uint8_t)n;
    return b;
}

__attribute__((noinline)) static void *new_metric(int64_t n)
{
    uint8_t *b = mr_alloc_blob(96);
    b[0] = (uint8_t)n;
    return b;
}

static void two(int scale)
{
    audit_log = mr_map_new(&int_blobs, 0);
    metrics = mr_map_new(&str_blobs, 0);
    int64_t a = 0, m = 0;
    for (int t = 0; t < TICKS; t++) {
        for (int i = 0; i < 3000 * scale; i++, a++) {
            void *b = record_audit(a);
            mr_map_set(audit_log, &a, &b);
        }
        for (int i = 0; i < 2000 * scale; i++, m++) {
            mr_str k = mr_str_printf("metric-%" PRId64, m);
            void *b = new_metric(m);
            mr_map_set(metrics, &k, &b);
        }
        mr_gc();
    }
}

/* ------------------------------------------------------------- shards --- */

typedef struct Shards {
    mr_map *hot, *cold;
} Shards;
MR_TYPE(shards_type, Shards, MR_FIELD(Shards, hot), MR_FIELD(Shards, cold));

static Shards *shards;
MR_GLOBAL(shards)

/* hot_first: which map is made first, so lies lower (checked: the test
 * means nothing if the addresses do not swap). */
static void run_shards(int scale, bool hot_first)
{
    shards = mr_new(&shards_type);
    mr_map **first = hot_first ? &shards->hot : &shards->cold;
    mr_map **second = hot_first ? &shards->cold : &shards->hot;
    *first = mr_map_new(&int_blobs, 0);
    *second = mr_map_new(&int_blobs, 0);
    if (((uintptr_t)shards->hot < (uintptr_t)shards->cold) != hot_first) {
        fprintf(stderr, "gate_heaps: the maps are not in the order they were made\n");
        exit(3);
    }
    for (int64_t k = 0; k < 60000; k++) {
        void *b = record_audit(k);
        mr_map_set(shards->cold, &k, &b);
    }
    int64_t h = 0;
    for (int t = 0; t < TICKS; t++) {
        for (int i = 0; i < 3000 * scale; i++, h++) {
            void *b = record_audit(h);
            mr_map_set(shards->hot, &h, &b);
        }
        mr_gc();
    }
}

static void shards_hot_first(int scale)
{
    run_shards(scale, true);
}

static void shards_swapped(int scale)
{
    run_shards(scale, false);
}

/* ------------------------------------------------------------- latin1 --- */

typedef struct Cafe {
    int64_t n;
    uint8_t pad[24];
} Cafe;
/* names as a program built from Latin-1 sources would have them */
static const mr_type cafe_type = {"Caf\xe9", sizeof(Cafe), NULL, 0, MR_KIND_STRUCT, NULL};
static const mr_map_type int_cafes = {"map[int64]*Caf\xe9", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *cafes;
MR_GLOBAL(cafes)

static void latin1(int scale)
{
    cafes = mr_map_new(&int_cafes, 0);
    int64_t n = 0;
    for (int t = 0; t < TICKS; t++) {
        for (int i = 0; i < 1000 * scale; i++, n++) {
            Cafe *c = mr_new(&cafe_type);
            c->n = n;
            mr_map_set(cafes, &n, &c);
        }
        mr_gc();
    }
}

/* ----------------------------------------------------------- sessions --- */

typedef struct Session {
    int64_t id;
    mr_map *attrs;
} Session;
MR_TYPE(session_type, Session, MR_FIELD(Session, attrs));

static Session **sessions;
MR_GLOBAL(sessions)

/* Session n, made in a frame of its own: no word of the collecting frame
 * holds one (a stray root would hold it apart from the array). */
__attribute__((noinline)) static void add_session(size_t n)
{
    Session *x = mr_new(&session_type);
    x->id = (int64_t)n;
    x->attrs = mr_map_new(&int_blobs, 0);
    for (int64_t k = 0; k < 2; k++) {
        void *b = mr_alloc_blob(48);
        mr_map_set(x->attrs, &k, &b);
    }
    sessions[n] = x;
}

static void many_sessions(int scale)
{
    size_t n = 0;
    sessions = mr_new_array(&mr_type_pointer, (size_t)TICKS * 200 * (size_t)scale);
    for (int t = 0; t < TICKS; t++) {
        for (int i = 0; i < 200 * scale; i++) add_session(n++);
        mr_gc();
    }
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(int scale);
    } heaps[] = {{"steady", steady},           {"slow", slow},
                 {"replace", replace},         {"two", two},
                 {"shards", shards_hot_first}, {"shards_swapped", shards_swapped},
                 {"latin1", latin1},           {"sessions", many_sessions}};
    if (argc < 2) {
        fprintf(stderr,
                "usage: gate_heaps steady|slow|replace|two|shards|shards_swapped|latin1|sessions "
                "[SCALE]\n");
        return 2;
    }
    int scale = argc > 2 ? atoi(argv[2]) : 1;
    mr_set_gc_percent(-1); /* one collection a tick, no others */
    for (size_t i = 0; i < sizeof heaps / sizeof *heaps; i++)
        if (strcmp(argv[1], heaps[i].name) == 0) {
            heaps[i].run(scale > 0 ? scale : 1);
            return 0;
        }
    fprintf(stderr, "gate_heaps: unknown heap %s\n", argv[1]);
    return 2;
}
