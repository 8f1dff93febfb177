/*
 * tests/scenarios/small_maps_two_holders.c -- small maps of one type under
 * two unrelated holders, only one of which leaks.
 *
 * TRUTH. Users carry a map[int64]*Attr of 1 to 3 entries (a 1 KiB blob
 * each). Two arrays of users, each held by two globals (so that no single
 * root keeps either array, and its maps' retaining roots are the same two
 * globals):
 *   live      3,000 users, an array only ever appended to (the leak),
 *             held by the globals `live` and `live_index`; nearly the
 *             whole heap: one suspect group, exactly these 3,000 maps,
 *             held by this array.
 *   staff     200 users, written once, held by the globals `staff` and
 *             `staff_index`: about 6% of the heap. Not lumped with the
 *             live users' maps (another holder, other roots): no suspect
 *             group at this array.
 * No map alone is a suspect.
 *
 * Snapshot "held" is written from sc_main; "exit" at exit.
 */
#include "scenario.h"

enum { LIVE = 3000, STAFF = 200, BLOB = 1024 };

SC_ITEM_TYPE(attr_type, Attr);
static const mr_map_type attrs_type = {"map[int64]*Attr", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct User {
    int64_t id;
    mr_map *attrs;
} User;
MR_TYPE(user_type, User, MR_FIELD(User, attrs));

static User **live, **live_index, **staff, **staff_index;
MR_GLOBAL(live)
MR_GLOBAL(live_index)
MR_GLOBAL(staff)
MR_GLOBAL(staff_index)

static User **users(int64_t n, int64_t first)
{
    User **a = mr_new_array(&mr_type_pointer, (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        User *u = mr_new(&user_type);
        u->id = first + i;
        u->attrs = mr_map_new(&attrs_type, 0);
        sc_fill(u->attrs, &attr_type, 0, 1 + i % 3, BLOB);
        a[i] = u;
    }
    return a;
}

__attribute__((noinline)) static void build(void)
{
    staff = staff_index = users(STAFF, 0);
    live = live_index = users(LIVE, STAFF);
}

static void truths(const char *snapshot)
{
    static mr_map *all[LIVE];
    for (int i = 0; i < LIVE; i++) all[i] = live[i]->attrs;
    sc_truth_group(snapshot, "live", all, LIVE, live);
    for (int i = 0; i < STAFF; i++) all[i] = staff[i]->attrs;
    sc_truth_group(snapshot, "staff", all, STAFF, staff);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
