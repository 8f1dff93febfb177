/*
 * bench/snapshot_bench.c -- the cost of a root snapshot (run by
 * bench/run-snapshot.sh). Builds a heap of N small objects (default 5M)
 * linked from maps: 8 maps map[int64]*Item, each Item 16 bytes with a
 * pointer to the next item of its map. Then writes a snapshot with
 * mrc_write_snapshot and prints one line of figures:
 *   objects=N work_ns_per_object=X bytes_per_object=Y pause_ms=Z mode=M
 * usage: snapshot_bench FILE [N]
 */
#include "maproot/collector.h"
#include "maproot/rt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct item {
    struct item *next;
    int64_t v;
} item;
MR_TYPE(item_type, item, MR_FIELD(item, next));

static const mr_map_type items_map = {"map[int64]*Item", MR_KEY_INT64, NULL, &mr_type_pointer};

static mr_map *maps[8];
static void **holder; /* an array of the 8 maps: the one root */
MR_GLOBAL(holder)

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: snapshot_bench FILE [N]\n");
        return 2;
    }
    size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 5000000;
    mr_set_gc_percent(-1);
    holder = mr_new_array(&mr_type_pointer, 8);
    for (int m = 0; m < 8; m++) {
        maps[m] = mr_map_new(&items_map, n / 8);
        holder[m] = maps[m];
    }
    item *prev[8] = {0};
    for (size_t i = 0; i < n; i++) {
        int m = (int)(i & 7);
        item *it = mr_new(&item_type);
        it->v = (int64_t)i;
        it->next = prev[m];
        prev[m] = it;
        *(item **)mr_map_assign_int(maps[m], (int64_t)i) = it;
    }
    for (int m = 0; m < 8; m++) maps[m] = NULL;
    mr_gc();
    if (mrc_write_snapshot(argv[1]) != 0) {
        fprintf(stderr, "snapshot_bench: %s\n", mrc_last_error());
        return 1;
    }
    mrc_snapshot_info in;
    mrc_last_snapshot_info(&in);
    printf("objects=%" PRIu64 " items=%zu work_ns_per_object=%.1f bytes_per_object=%.2f "
           "pause_ms=%.2f writer_wall_ms=%.1f file_bytes=%" PRIu64 " mode=%s\n",
           in.objects, n, (double)in.work_ns / (double)in.objects,
           (double)in.file_bytes / (double)in.objects, (double)in.pause_ns / 1e6,
           (double)in.wall_ns / 1e6, in.file_bytes, in.mode == 1 ? "fork" : "stopped");
    return 0;
}
