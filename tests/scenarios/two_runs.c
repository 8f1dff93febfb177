/*
 * tests/scenarios/two_runs.c -- two maps of one type under one global,
 * compared between two runs of the program that made them in opposite
 * orders.
 *
 * TRUTH. The global `shards` points at a Shards struct with two fields of
 * the same map type, map[int64]*Item: `hot` (keys 0 .. n-1) and `cold`
 * (keys 5,000 .. 5,999, 1,000 entries in both runs). Each Item has a
 * 96-byte blob.
 *   run 1 (the program as started): makes hot, then cold; hot holds 1,000
 *          entries. Snapshot "run1".
 *   run 2 (the program runs itself again, a process of its own, and waits
 *          for it): makes cold first, then hot; hot holds 3,000 entries
 *          (keys 0 .. 2,999). Snapshot "run2".
 * Between "run1" and "run2" (different processes: no address says which
 * map is which), hot is hot: +2,000 -0, 1,000 -> 3,000 entries, growing;
 * cold is cold: +0 -0, 1,000 -> 1,000. The order in which a run made its
 * maps (hence their addresses) is no part of their identity: the field of
 * Shards that holds each one is.
 */
#include "scenario.h"

#include <sys/wait.h>

enum { COLD_FIRST_KEY = 5000, COLD = 1000, HOT_RUN1 = 1000, HOT_RUN2 = 3000 };

SC_ITEM_TYPE(item_type, Item);

typedef struct Shards {
    mr_map *hot, *cold;
} Shards;
MR_TYPE(shards_type, Shards, MR_FIELD(Shards, hot), MR_FIELD(Shards, cold));

static const mr_map_type item_map = {"map[int64]*Item", MR_KEY_INT64, NULL, &mr_type_pointer};

static Shards *shards;
MR_GLOBAL(shards)

SC_NOCLONE static void build(bool second)
{
    shards = mr_new(&shards_type);
    if (second) {
        shards->cold = mr_map_new(&item_map, 0);
        shards->hot = mr_map_new(&item_map, 0);
    } else {
        shards->hot = mr_map_new(&item_map, 0);
        shards->cold = mr_map_new(&item_map, 0);
    }
    if (((uintptr_t)shards->hot < (uintptr_t)shards->cold) == second)
        sc_fail("the maps are not in the order this run makes them");
    sc_fill(shards->cold, &item_type, COLD_FIRST_KEY, COLD, 96);
    sc_fill(shards->hot, &item_type, 0, second ? HOT_RUN2 : HOT_RUN1, 96);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "hot", shards->hot);
    sc_truth_map(snapshot, "cold", shards->cold);
}

/* Runs this program again as run 2 and waits for it. */
static void run_second(char **argv)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) sc_fail("fork");
    if (pid == 0) {
        char *args[] = {"/proc/self/exe", argv[1], "second", NULL};
        execv(args[0], args);
        _exit(127);
    }
    int status;
    mr_blocking_enter();
    pid_t w = waitpid(pid, &status, 0);
    mr_blocking_exit();
    if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) sc_fail("run 2 failed");
}

int main(int argc, char **argv)
{
    sc_init(argc, argv);
    bool second = argc > 2 && strcmp(argv[2], "second") == 0;
    const char *name = second ? "run2" : "run1";
    build(second);
    SC_SNAPSHOT(name);
    SC_TRUTHS(truths, name);
    if (!second) run_second(argv);
    return 0;
}
