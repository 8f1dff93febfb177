/*
 * tests/scenarios/interior_header.c -- maps whose headers are reached only
 * through words that point into the header, not at its start: a pointer
 * to a field of the header kept in a global, in a worker's frame and in a
 * heap object's field, as code that caches &m->count (or an optimizer that
 * keeps a field's address live in a register) leaves behind.
 *
 * TRUTH. A map header is a 64-byte heap object; its entry count lies 24
 * bytes in (MR_HDR_COUNT below). Three maps, each held by one interior word
 * and nothing else:
 *   tally   map[int64]*Event, 8,000 events (each with a 256-byte blob),
 *           only ever added (a leak). The global `tally_count` points at
 *           its count field. Root: global tally_count, its only one; chain
 *           tally_count -> the map header (no object between: the word is
 *           inside the header). A suspect retaining exactly its objects.
 *   conns   map[string]*Conn, 3,000 conns (each with a 512-byte buffer).
 *           A local of worker_loop (thread 2, frame #1) points 40 bytes
 *           into its header; the worker is blocked. Root: that frame, its
 *           only one. A suspect (stack_frame) retaining exactly its objects.
 *   jobs    map[int64]*Job, 2,000 jobs (each with a 384-byte input). The
 *           `len_at` field of a Stats object points 16 bytes into its
 *           header (a heap object's pointer field, scanned precisely); the
 *           global `stats` holds the Stats. Root: global stats, its only
 *           one; chain stats -> Stats -> the map header. Retains exactly
 *           its objects (not the Stats, which holds it).
 * A fourth map, map[int64]*Scrap of 1,500 scraps (256-byte blobs), is
 * dropped, but the global `stray_slot` keeps pointing at a value slot of
 * its bucket array: the header is garbage (nothing points at it: a bucket
 * has no pointer back to its map), so no map of that type is left to
 * report, though its bucket array and scraps live on.
 * Snapshot "held" (in-process, the worker blocked); at exit ("exit") the
 * worker is gone and so is conns; tally and jobs are as in "held".
 */
#include "scenario.h"

enum { TALLY = 8000, CONNS = 3000, JOBS = 2000, SCRAPS = 1500 };
enum { MR_HDR_COUNT = 24, MR_HDR_SEED = 40, MR_HDR_EXTRA = 16 };

SC_ITEM_TYPE(event_type, Event);
SC_ITEM_TYPE(conn_type, Conn);
SC_ITEM_TYPE(job_type, Job);
SC_ITEM_TYPE(scrap_type, Scrap);

static const mr_map_type tally_type = {"map[int64]*Event", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type conns_type = {"map[string]*Conn", MR_KEY_STRING, NULL, &mr_type_pointer};
static const mr_map_type jobs_type = {"map[int64]*Job", MR_KEY_INT64, NULL, &mr_type_pointer};
static const mr_map_type scraps_type = {"map[int64]*Scrap", MR_KEY_INT64, NULL, &mr_type_pointer};

static void *tally_count; /* &tally->count */
static void *stray_slot;  /* a value slot of a dropped map's bucket array */

/* Figures about a map, kept as a pointer to where they lie. */
typedef struct Stats {
    int64_t reads;
    void *len_at; /* 16 bytes into the jobs map's header */
} Stats;
MR_TYPE(stats_type, Stats, MR_FIELD(Stats, len_at));
static Stats *stats;
MR_GLOBAL(stats)
MR_GLOBAL(tally_count)
MR_GLOBAL(stray_slot)

/* The addresses only: no roots. */
static uintptr_t tally_addr, conns_addr, jobs_addr;
static sc_worker worker;

__attribute__((noinline)) static mr_map *make_conns(void)
{
    mr_map *m = mr_map_new(&conns_type, 0);
    for (int64_t i = 0; i < CONNS; i++)
        *(sc_item **)mr_map_assign_str(m, mr_str_printf("conn-%05" PRId64, i)) =
            sc_new_item(&conn_type, i, 512);
    conns_addr = (uintptr_t)m;
    return m;
}

/* Returns an interior pointer to the new conns map's header: the frame
 * keeps nothing else of it. */
__attribute__((noinline)) static char *conns_field(void)
{
    return (char *)make_conns() + MR_HDR_SEED;
}

/* Blocks until main has taken its snapshot and measured. */
SC_NOCLONE static void wait_for_work(void)
{
    sc_scrub_stack(); /* make_conns' words below this frame are gone */
    sc_park(&worker);
}

SC_NOCLONE static void worker_loop(void)
{
    char *volatile field = conns_field();
    wait_for_work();
    if (mr_map_len((mr_map *)(field - MR_HDR_SEED)) != CONNS) sc_fail("conns lost entries");
}

static void *worker_main(void *arg)
{
    (void)arg;
    worker_loop();
    return NULL;
}

__attribute__((noinline)) static void build(void)
{
    mr_map *m = mr_map_new(&tally_type, 0);
    sc_fill(m, &event_type, 0, TALLY, 256);
    tally_addr = (uintptr_t)m;
    tally_count = (char *)m + MR_HDR_COUNT;

    m = mr_map_new(&jobs_type, 0);
    sc_fill(m, &job_type, 0, JOBS, 384);
    jobs_addr = (uintptr_t)m;
    stats = mr_new(&stats_type);
    stats->len_at = (char *)m + MR_HDR_EXTRA;

    m = mr_map_new(&scraps_type, 0);
    sc_fill(m, &scrap_type, 0, SCRAPS, 256);
    stray_slot = mr_map_lookup_int(m, 77);
    if (!stray_slot) sc_fail("no scrap 77");
}

/* Checks that the interior words are where the program says: inside the
 * header objects, whose starts are the maps. */
__attribute__((noinline)) static void check_words(void)
{
    void *start;
    if (!mr_object_type(tally_count, &start) || (uintptr_t)start != tally_addr)
        sc_fail("tally_count is not inside the tally header");
    if (!mr_object_type(stats->len_at, &start) || (uintptr_t)start != jobs_addr)
        sc_fail("stats->len_at is not inside the jobs header");
    if (mr_object_size((void *)tally_addr) != 64) sc_fail("a map header is not 64 bytes");
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "tally", (const mr_map *)tally_addr);
    sc_truth_map(snapshot, "jobs", (const mr_map *)jobs_addr);
    if (strcmp(snapshot, "held") == 0)
        sc_truth_map(snapshot, "conns", (const mr_map *)conns_addr);
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    SC_CLEAN(build());
    SC_CLEAN(check_words());
    sc_start_worker(&worker, worker_main);
    SC_SNAPSHOT("held");
    SC_TRUTHS(truths, "held");
    sc_stop_worker(&worker);
    mr_exiting();
    SC_TRUTHS(truths, "exit");
    return 0;
}
