/*
 * tests/scenarios/spike_cleared.c -- a map that a traffic spike blows up,
 * that the program then empties, and that it refills to its usual size:
 * the entries come back to normal, the table does not (delete never
 * shrinks a map).
 *
 * TRUTH. The global `sessions`, a map[int64]*Session (each Session with a
 * 192-byte blob), and the global `config`, a map[string]*Setting of 40
 * entries written once (never a suspect), and the global `buffers`, an
 * array of 40 pointers to 32 KiB blobs (the heap a service has besides its
 * maps). Six in-process snapshots "s0" ..
 * "s5", one after each step:
 *   s0, s1  sessions holds keys 0 .. 299 (s1 replaces every value): 300
 *           entries in a table sized for them, a few percent of the heap:
 *           no suspect.
 *   s2      a spike: keys 300 .. 59,999 added (60,000 entries; the table
 *           grows to 16,384 buckets, B=14).
 *   s3      every key deleted, one by one (count 0; a new seed): the table
 *           stays. A suspect with the evidence emptied: it retains exactly
 *           its table (header, bucket array, overflow buckets), and the text
 *           says the map was emptied and that delete never shrinks a map.
 *   s4, s5  keys 0 .. 299 again (new Sessions): 300 entries in the table
 *           of 60,000, less than a sixteenth full: still a suspect with the
 *           evidence emptied (the table is the leak, not the entries). s5
 *           replaces every value.
 * maproot diff s2 s3: +0 -60,000, 60,000 -> 0, not growing, its retained
 *   bytes falling by the runtime's figures (the same map, though its seed
 *   changed: its global says so).
 * maproot diff s3 s4: +300 -0, 0 -> 300, growing.
 * maproot diff s1 s4: the same 300 keys (+0 -0), 300 -> 300: not growing
 *   by entries, though it retains the runtime's far larger figure.
 * maproot gate s0 .. s5: entries grew in two intervals of five (no growth
 *   leak by the k-of-n rule); sessions fails the suspect rule with the
 *   evidence emptied (its last snapshot holds 300 entries in a table for
 *   60,000); config passes. Each map's points are the runtime's figures.
 * Every count and retained figure is the runtime's own.
 */
#include "scenario.h"

enum { STEPS = 6, USUAL = 300, SPIKE = 60000, BLOB = 192, SETTINGS = 40, BUFFERS = 40,
       BUFFER = 32768, SPIKE_B = 14 };

SC_ITEM_TYPE(session_type, Session);
SC_ITEM_TYPE(setting_type, Setting);

static const mr_map_type sessions_type = {"map[int64]*Session", MR_KEY_INT64, NULL,
                                          &mr_type_pointer};
static const mr_map_type config_type = {"map[string]*Setting", MR_KEY_STRING, NULL,
                                        &mr_type_pointer};

static mr_map *sessions, *config;
static uint8_t **buffers;
MR_GLOBAL(sessions)
MR_GLOBAL(config)
MR_GLOBAL(buffers)

/* Step s of the program: what it does before snapshot s. */
__attribute__((noinline)) static void step(int s)
{
    switch (s) {
    case 0:
        sessions = mr_map_new(&sessions_type, 0);
        config = mr_map_new(&config_type, 0);
        for (int i = 0; i < SETTINGS; i++)
            *(sc_item **)mr_map_assign_str(config, mr_str_printf("setting-%d", i)) =
                sc_new_item(&setting_type, i, 48);
        buffers = mr_new_array(&mr_type_pointer, BUFFERS);
        for (int i = 0; i < BUFFERS; i++) buffers[i] = mr_alloc_blob(BUFFER);
        sc_fill(sessions, &session_type, 0, USUAL, BLOB);
        break;
    case 1:
    case 4:
    case 5:
        sc_fill(sessions, &session_type, 0, USUAL, BLOB);
        break;
    case 2:
        sc_fill(sessions, &session_type, USUAL, SPIKE - USUAL, BLOB);
        break;
    case 3: {
        mr_map_info info;
        sc_map_info(sessions, &info);
        if (info.B != SPIKE_B) sc_fail("the spike's table has B=%u", (unsigned)info.B);
        for (int64_t k = 0; k < SPIKE; k++) mr_map_delete_int(sessions, k);
        break;
    }
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "sessions", sessions);
    sc_truth_map(snapshot, "config", config);
}

int main(int argc, char **argv)
{
    int rc = sc_series_main(argc, argv, STEPS, step, truths);
    if (mr_map_len(sessions) != USUAL || mr_map_len(config) != SETTINGS)
        sc_fail("the maps have the wrong counts");
    return rc;
}
