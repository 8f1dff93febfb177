/*
 * tests/scenarios/callback_registry.c -- leaks held only through a
 * registry of callbacks: an array of 100,000 records stored by value,
 * each with a closure whose environment holds a map, and with a stats
 * struct embedded by value whose field is a map.
 *
 * TRUTH. The global `registry` points at one array object of 100,000
 * Records (56 bytes each, stored inline: id, fn, cb, flags and an embedded
 * Stats {calls, by_code, errors}; by_code at offset 40 of the record). fn
 * is a code pointer (a declared pointer field: no edge). Records 0 .. 9
 * have a Closure (fn, subs, scratch blob) whose subs holds 5 entries and a
 * by_code of 3; every other record has neither, except:
 *   subs     record 70,001's Closure: map[string]*Sub of 20,000 subscribers
 *            ("sub-N", 128-byte blobs), only ever added to (a leak). A
 *            malloc'd event loop also refers to that Closure through the
 *            pin "event loop". Root named: the global registry (globals
 *            before pins, whatever the way); no single root (the global
 *            and the pin both reach the Closure); both listed, once each,
 *            with context several_roots; its chain starts at registry and
 *            names element [70001] of the array, then the Closure, then the
 *            header; the text's root line names the global, its "also held
 *            by" line the pin; `maproot path` agrees. It retains exactly
 *            its objects (the Closure is no part of it).
 *   by_code  record 99,998's embedded Stats.by_code: map[int64]*Sample of
 *            15,000 samples (96-byte blobs), a leak. Root: the global
 *            registry alone; its chain names element [99998] (an element
 *            index past 65,535, of a 56-byte element, the field 40 bytes
 *            into it), then the header. Retains exactly its objects.
 *   small    record 3's Closure's subs (5 entries): no suspect, root the
 *            global registry, chain through element [3] and its Closure.
 * Snapshot "held" is written from sc_main; "exit" at exit.
 */
#include "scenario.h"

enum { RECORDS = 100000, LEAKY_CB = 70001, LEAKY_STATS = 99998, SMALL = 10, SUBS = 20000,
       SAMPLES = 15000 };

SC_ITEM_TYPE(sub_type, Sub);
SC_ITEM_TYPE(sample_type, Sample);

typedef void (*handler_fn)(void);

static void on_event(void) {}
static void on_close(void) {}

typedef struct Closure {
    handler_fn fn;
    mr_map *subs;
    uint8_t *scratch;
} Closure;
MR_TYPE(closure_type, Closure, MR_FIELD(Closure, fn), MR_FIELD(Closure, subs),
        MR_FIELD(Closure, scratch));

typedef struct Stats {
    int64_t calls;
    mr_map *by_code;
    int64_t errors;
} Stats;

typedef struct Record {
    int64_t id;
    handler_fn fn;
    Closure *cb;
    int64_t flags;
    Stats stats;
} Record;
MR_TYPE(record_type, Record, MR_FIELD(Record, fn), MR_FIELD(Record, cb),
        MR_FIELD(Record, stats.by_code));
_Static_assert(sizeof(Record) == 56 && offsetof(Record, stats.by_code) == 40, "Record layout");

static const mr_map_type subs_type = {"map[string]*Sub", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type codes_type = {"map[int64]*Sample", MR_KEY_INT64, NULL,
                                       &mr_type_pointer};

static Record *registry;
MR_GLOBAL(registry)

/* The event loop lives in malloc'd memory: its pointer to the Closure
 * needs the pin. */
typedef struct event_loop {
    Closure *current;
    mr_pin_handle pin;
} event_loop;
static event_loop *loop;

static Closure *new_closure(int64_t subs)
{
    Closure *c = mr_new(&closure_type);
    c->fn = on_event;
    c->scratch = mr_alloc_blob(64);
    c->subs = mr_map_new(&subs_type, 0);
    for (int64_t i = 0; i < subs; i++)
        *(sc_item **)mr_map_assign_str(c->subs, mr_str_printf("sub-%" PRId64, i)) =
            sc_new_item(&sub_type, i, 128);
    return c;
}

__attribute__((noinline)) static void build(void)
{
    registry = mr_new_array(&record_type, RECORDS);
    for (int64_t i = 0; i < RECORDS; i++) {
        registry[i].id = i;
        registry[i].fn = i % 2 ? on_event : on_close;
    }
    for (int64_t i = 0; i < SMALL; i++) {
        registry[i].cb = new_closure(5);
        registry[i].stats.by_code = mr_map_new(&codes_type, 0);
        sc_fill(registry[i].stats.by_code, &sample_type, 200, 3, 96);
    }
    registry[LEAKY_CB].cb = new_closure(SUBS);
    registry[LEAKY_STATS].stats.by_code = mr_map_new(&codes_type, 0);
    sc_fill(registry[LEAKY_STATS].stats.by_code, &sample_type, 0, SAMPLES, 96);
    loop = malloc(sizeof *loop);
    if (!loop) sc_fail("out of memory");
    loop->current = registry[LEAKY_CB].cb;
    loop->pin = mr_pin(loop->current, "event loop");
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "subs", registry[LEAKY_CB].cb->subs);
    sc_truth_map(snapshot, "by_code", registry[LEAKY_STATS].stats.by_code);
    sc_truth_map(snapshot, "small", registry[3].cb->subs);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
