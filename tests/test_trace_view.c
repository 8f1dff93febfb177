/*
 * tests/test_trace_view.c -- what maproot trace shows of a map
 * (src/cli/trace_view.c): its table bytes are its buckets, overflow
 * buckets and old array as B, the overflow count and the bucket size give
 * them, plus the overflow lists of a map without pointers, which the agent
 * measures (as a snapshot's analysis counts a table).
 */
#include "check.h"
#include "cli/trace_view.h"

#include <jansson.h>

/* The table_bytes of the one map of a record after one census. */
static json_int_t table_bytes_of(const mf_at_map *rec)
{
    mf_at_welcome w = {.program = "p", .args = "", .pid = 1, .gc_cycle = 1};
    trace_view v;
    if (tv_init(&v, &w, 1000000000)) return -1;
    mf_at_map m = *rec;
    mf_at_cycle c = {.gc_cycle = 2, .end_ns = 2000000000, .census = true, .maps = &m, .nmaps = 1};
    json_int_t bytes = -1;
    if (tv_on_cycle(&v, &c) == 0) {
        tv_render r = {.now_ns = 3000000000, .interval_ms = 1000, .top = 10};
        json_t *j = tv_record_json(&v, &r, "interval");
        json_t *maps = j ? json_object_get(j, "maps") : NULL;
        if (json_array_size(maps) == 1)
            bytes = json_integer_value(json_object_get(json_array_get(maps, 0), "table_bytes"));
        json_decref(j);
    }
    tv_free(&v);
    return bytes;
}

static void test_table_bytes_take_in_the_overflow_lists(void)
{
    mf_at_map m = {.id = 7, .address = 0x1000, .type = "map[int64]int64", .count = 100,
                   .b = 4, .noverflow = 3, .bucket_size = 144, .growth_op = "mr_map_set",
                   .growth_function = "", .growth_file = ""};
    CHECK_EQ_U64(table_bytes_of(&m), (16 + 3) * 144);
    m.lists_bytes = 48 + 32;
    CHECK_EQ_U64(table_bytes_of(&m), (16 + 3) * 144 + 48 + 32);
    m.growing = true; /* and the old array of 8 buckets */
    CHECK_EQ_U64(table_bytes_of(&m), (16 + 3 + 8) * 144 + 48 + 32);
}

int main(void)
{
    TEST(test_table_bytes_take_in_the_overflow_lists);
    TEST_EXIT();
}
