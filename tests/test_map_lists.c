/*
 * tests/test_map_lists.c -- the runtime's lists in a map's table (src/
 * collector/map_lists.c): for a map without pointers they are every object
 * of the runtime's own kind the heap holds for it, each counted once; a map
 * with pointers, or none, has none. The census passes their bytes on, and
 * a change of them alone is news for a client.
 */
#include "check.h"
#include "collector/census.h"
#include "collector/map_lists.h"
#include "maproot/rt.h"

#include <stdlib.h>

static const mr_map_type flat_type = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};
static const mr_map_type ptr_type = {"map[int64]*T", MR_KEY_INT64, NULL, &mr_type_pointer};

typedef struct tally {
    size_t bytes, objects;
} tally;

static void runtime_object(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    (void)obj, (void)count;
    tally *n = ud;
    if (t && t->kind == MR_KIND_RUNTIME) n->bytes += size, n->objects++;
}

static void each_list(void *obj, size_t size, void *ud)
{
    tally *n = ud;
    CHECK(size == mr_object_size(obj));
    n->bytes += size, n->objects++;
}

/* A table sized for its entries from the start never grows, so no list is
 * ever dropped: the runtime's objects in the heap are exactly this map's. */
static void test_lists_of_a_map_without_pointers_are_its_runtime_objects(void)
{
    enum { N = 20000 };
    mr_map *m = mr_map_new(&flat_type, N);
    for (int64_t k = 0; k < N; k++) *(int64_t *)mr_map_assign_int(m, k) = k;
    mr_map_info in;
    mr_map_get_info(m, &in);
    CHECK(in.noverflow > 0 && !in.oldbuckets);
    tally heap = {0}, walk = {0};
    mr_stop_the_world();
    mr_walk_objects(false, runtime_object, &heap);
    CHECK(mrc__map_lists_each(m, each_list, &walk) == 0);
    size_t bytes = mrc__map_lists_bytes(m);
    mr_start_the_world();
    CHECK(heap.objects >= 2); /* the extra object and a chunk at least */
    CHECK_EQ_U64(walk.objects, heap.objects);
    CHECK_EQ_U64(walk.bytes, heap.bytes);
    CHECK_EQ_U64(bytes, heap.bytes);
    mr_map_clear(m);
}

static void test_a_map_with_pointers_or_none_has_no_lists(void)
{
    mr_map *m = mr_map_new(&ptr_type, 0);
    for (int64_t k = 0; k < 5000; k++) *(void **)mr_map_assign_int(m, k) = NULL;
    CHECK_EQ_U64(mrc__map_lists_bytes(m), 0);
    CHECK_EQ_U64(mrc__map_lists_bytes(NULL), 0);
}

/* The lists' bytes reach the client, and grow news of their own. */
static void test_census_passes_the_lists_on(void)
{
    mrc_census *c = mrc_census_new();
    mrc_census_map m = {.id = 1, .address = 0x1000, .type = "map[int64]int64", .count = 9,
                        .bucket_size = 144, .b = 1, .lists_bytes = 96};
    mf_at_map *r;
    size_t n;
    uint32_t omitted;
    CHECK(mrc_census_take(c, &m, 1, 1, 64, &r, &n, &omitted) == 0 && n == 0); /* baseline */
    m.count = 10;
    CHECK(mrc_census_take(c, &m, 1, 2, 64, &r, &n, &omitted) == 0 && n == 1);
    CHECK_EQ_U64(r[0].lists_bytes, 96);
    free(r);
    m.lists_bytes = 160;
    CHECK(mrc_census_take(c, &m, 1, 3, 64, &r, &n, &omitted) == 0);
    CHECK(n == 1 && r[0].lists_bytes == 160);
    free(r);
    mrc_census_free(c);
}

int main(void)
{
    TEST(test_lists_of_a_map_without_pointers_are_its_runtime_objects);
    TEST(test_a_map_with_pointers_or_none_has_no_lists);
    TEST(test_census_passes_the_lists_on);
    TEST_EXIT();
}
