/*
 * tests/scenarios/aliased_slices.c -- map values that are windows into
 * shared backing arrays (Go's s[4:8] of one array for several entries):
 * a value's pointer points into the middle of an object, and one array is
 * held by several entries of the map, or by one alone.
 *
 * TRUTH. The global `windows`, a map[int64]Window (a Window is a slice
 * header stored in the slot: parts, len, cap). The program makes 750
 * groups; group g has one backing array of 16 pointers to 16 Parts of its
 * own (each Part with a blob of 100 + 8 * (g % 20) bytes), and entries
 * 4g .. 4g + 3, entry 4g + w holding the window parts[4w : 4w + 4] (a
 * pointer 32 * w bytes into the array). Then it deletes entries:
 *   g % 5 == 0   4g + 1 .. 4g + 3 deleted: entry 4g alone holds the array,
 *                by its start: it retains the array, its 16 Parts and
 *                blobs.
 *   g % 5 == 1   4g .. 4g + 2 deleted: entry 4g + 3 alone holds the array,
 *                by a pointer 96 bytes into it: it retains the same.
 *   otherwise    the four entries stay: the array is theirs together, the
 *                map's, and no entry's (each retains nothing).
 * 2,100 entries remain. The map retains exactly its objects (table, the
 * 750 arrays, every Part and blob); no entry is shared; every entry listed
 * retains exactly its truth, and the entries' sum is the runtime's.
 * Snapshots "held" (in-process) and "exit" see the same heap.
 */
#include "scenario.h"

enum { GROUPS = 750, PER = 4, WIDTH = 16 };

SC_ITEM_TYPE(part_type, Part);

typedef struct Window {
    sc_item **parts;
    int64_t len, cap;
} Window;
MR_TYPE(window_type, Window, MR_FIELD(Window, parts));

static const mr_map_type windows_type = {"map[int64]Window", MR_KEY_INT64, NULL, &window_type};

static mr_map *windows;
MR_GLOBAL(windows)

__attribute__((noinline)) static void build(void)
{
    windows = mr_map_new(&windows_type, 0);
    for (int64_t g = 0; g < GROUPS; g++) {
        sc_item **arr = mr_new_array(&mr_type_pointer, WIDTH);
        for (int i = 0; i < WIDTH; i++)
            arr[i] = sc_new_item(&part_type, g * WIDTH + i, 100 + 8 * (size_t)(g % 20));
        for (int w = 0; w < PER; w++) {
            Window v = {arr + WIDTH / PER * w, WIDTH / PER, WIDTH - WIDTH / PER * w};
            *(Window *)mr_map_assign_int(windows, PER * g + w) = v;
        }
    }
    for (int64_t g = 0; g < GROUPS; g++) {
        if (g % 5 == 0)
            for (int w = 1; w < PER; w++) mr_map_delete_int(windows, PER * g + w);
        else if (g % 5 == 1)
            for (int w = 0; w < PER - 1; w++) mr_map_delete_int(windows, PER * g + w);
    }
}

/* An entry that alone holds its group's array retains it, its Parts and
 * their blobs; any other nothing. */
static void on_slot(const mr_map_slot *s, void *ud)
{
    int64_t k = *(const int64_t *)s->key, g = k / PER;
    const Window *v = s->value;
    uint64_t bytes = 0;
    if (g % 5 <= 1) {
        void *start;
        if (!mr_object_type(v->parts, &start)) sc_fail("a window points at no object");
        bytes = mr_object_size(start);
        sc_item *const *arr = start;
        for (int i = 0; i < WIDTH; i++)
            bytes += mr_object_size(arr[i]) + mr_object_size(arr[i]->blob);
    }
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, k);
    sc_entry(ud, key, 0, bytes);
}

static void truths(const char *snapshot)
{
    sc_truth_map(snapshot, "windows", windows);
    sc_truth_slots(snapshot, "windows", windows, on_slot);
}

int main(int argc, char **argv)
{
    return sc_main(argc, argv, build, truths, NULL);
}
