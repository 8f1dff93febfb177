/*
 * tests/scenarios/small_maps_bounded.c -- a bounded set of small maps of
 * one type under one holder, a small share of the heap: no leak.
 *
 * TRUTH. The global `profiles` is an array of 50 Profile objects, written
 * once, each with its own map[int64]*Pref of 1 to 3 entries (a 1 KiB blob
 * each): about 150 KiB, more than the 64 KiB a finding needs, but a few
 * percent of the heap, most of which is a 4 MiB buffer held by the global
 * `buffer` (in no map).
 *   profiles  the 50 maps, judged together as a group under the array:
 *             their share is far below a leak's (10%): no suspect, no
 *             suspect group. A grouping that judged many maps by their
 *             number, or by bytes alone, would call this a leak.
 *   first     the last profile's map: alone no suspect.
 *
 * Snapshot "held" is written from sc_main; "exit" at exit.
 */
#include "scenario.h"

enum { PROFILES = 50, BLOB = 1024, BUFFER = 4 << 20 };

SC_ITEM_TYPE(pref_type, Pref);
static const mr_map_type prefs_type = {"map[int64]*Pref", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct Profile {
    int64_t id;
    mr_map *prefs;
} Profile;
MR_TYPE(profile_type, Profile, MR_FIELD(Profile, prefs));

static Profile **profiles;
MR_GLOBAL(profiles)
static uint8_t *buffer;
MR_GLOBAL(buffer)

__attribute__((noinline)) static void build(void)
{
    buffer = mr_alloc_blob(BUFFER);
    profiles = mr_new_array(&mr_type_pointer, PROFILES);
    for (int64_t i = 0; i < PROFILES; i++) {
        Profile *p = mr_new(&profile_type);
        p->id = i;
        p->prefs = mr_map_new(&prefs_type, 0);
        sc_fill(p->prefs, &pref_type, 0, 1 + i % 3, BLOB);
        profiles[i] = p;
    }
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "first", profiles[PROFILES - 1]->prefs);
    static mr_map *all[PROFILES];
    for (int i = 0; i < PROFILES; i++) all[i] = profiles[i]->prefs;
    sc_truth_group(snapshot, "profiles", all, PROFILES, profiles);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
