/*
 * tests/test_census.c -- the attach agent's map census (src/collector/
 * census.c): the first census is the baseline and says nothing; later ones
 * report maps that changed, were made since, or died; the largest changes
 * go first and the rest stay owed, never lost; a map that died at an
 * address where a new one lives is two maps; memory follows the live maps.
 */
#include "check.h"
#include "collector/census.h"

#include <stdlib.h>

static mrc_census_map map(uint64_t id, uint64_t count)
{
    mrc_census_map m = {.id = id,
                        .address = 0x1000 * id,
                        .type = "map[string]*T",
                        .count = count,
                        .bucket_size = 208,
                        .growth_pc = 0x400000 + id,
                        .growth_op = "mr_map_set",
                        .b = 3};
    return m;
}

/* The record of map id in recs[0..n), or NULL. */
static const mf_at_map *find(const mf_at_map *recs, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].id == id) return &recs[i];
    return NULL;
}

static void test_baseline_then_changes_then_deaths(void)
{
    mrc_census *c = mrc_census_new();
    CHECK(c != NULL);
    mrc_census_map m[3] = {map(1, 100), map(2, 5), map(3, 0)};
    mf_at_map *r;
    size_t n;
    uint32_t omitted;
    CHECK(mrc_census_take(c, m, 3, 10, 64, &r, &n, &omitted) == 0);
    CHECK(n == 0 && r == NULL && omitted == 0); /* the baseline */
    /* map 1 grows, map 4 is new, map 3 dies; map 2 stays */
    m[0].count = 150;
    mrc_census_map m2[3] = {m[0], m[1], map(4, 7)};
    CHECK(mrc_census_take(c, m2, 3, 11, 64, &r, &n, &omitted) == 0);
    CHECK_EQ_U64(n, 2); /* 3 died untold: nothing to say about it */
    const mf_at_map *a = find(r, n, 1), *b = find(r, n, 4);
    CHECK(a && b && !find(r, n, 2) && !find(r, n, 3));
    CHECK_EQ_U64(a->count, 150);
    CHECK_EQ_U64(a->first_count, 100);
    CHECK_EQ_U64(a->first_cycle, 10);
    CHECK_STR_EQ(a->growth_op, "mr_map_set");
    CHECK_EQ_U64(a->growth_pc, 0x400001);
    CHECK_EQ_U64(b->count, 7);
    CHECK_EQ_U64(b->first_count, 0); /* made since attaching */
    CHECK_EQ_U64(b->first_cycle, 11);
    free(r);
    /* nothing changed: nothing said */
    CHECK(mrc_census_take(c, m2, 3, 12, 64, &r, &n, &omitted) == 0);
    CHECK(n == 0);
    /* map 1 dies after being told: a gone record with its last figures */
    mrc_census_map m3[2] = {m2[1], m2[2]};
    CHECK(mrc_census_take(c, m3, 2, 13, 64, &r, &n, &omitted) == 0);
    CHECK_EQ_U64(n, 1);
    CHECK(r[0].id == 1 && r[0].gone && r[0].count == 150 && r[0].address == 0x1000);
    free(r);
    /* and is not told again */
    CHECK(mrc_census_take(c, m3, 2, 14, 64, &r, &n, &omitted) == 0);
    CHECK(n == 0);
    mrc_census_free(c);
}

/* Geometry matters once a map was told: a growth under way is news. */
static void test_geometry_of_a_told_map(void)
{
    mrc_census *c = mrc_census_new();
    mrc_census_map m = map(1, 10);
    mf_at_map *r;
    size_t n;
    uint32_t om;
    CHECK(mrc_census_take(c, &m, 1, 1, 8, &r, &n, &om) == 0 && n == 0);
    m.count = 11;
    CHECK(mrc_census_take(c, &m, 1, 2, 8, &r, &n, &om) == 0 && n == 1);
    free(r);
    m.growing = true;
    m.b = 4;
    CHECK(mrc_census_take(c, &m, 1, 3, 8, &r, &n, &om) == 0 && n == 1);
    CHECK(r[0].growing && r[0].b == 4 && r[0].count == 11);
    free(r);
    mrc_census_free(c);
}

/* More changes than fit: the largest first, the others owed and sent
 * later with their whole change (measured from what was last sent). */
static void test_largest_first_and_the_rest_owed(void)
{
    enum { N = 100 };
    mrc_census *c = mrc_census_new();
    mrc_census_map m[N];
    for (int i = 0; i < N; i++) m[i] = map((uint64_t)i + 1, 1000);
    mf_at_map *r;
    size_t n;
    uint32_t om;
    CHECK(mrc_census_take(c, m, N, 1, 10, &r, &n, &om) == 0 && n == 0);
    for (int i = 0; i < N; i++) m[i].count = 1000 + (uint64_t)i; /* map i+1 grew by i */
    CHECK(mrc_census_take(c, m, N, 2, 10, &r, &n, &om) == 0);
    CHECK_EQ_U64(n, 10);
    CHECK_EQ_U64(om, 89); /* 99 changed (map 1 did not) */
    for (size_t i = 0; i < n; i++) CHECK_EQ_U64(r[i].id, (uint64_t)(N - i));
    free(r);
    /* nothing new changes: the owed ones come, largest first */
    size_t seen = 10;
    for (int round = 0; round < 20 && seen < 99; round++) {
        CHECK(mrc_census_take(c, m, N, 3 + (uint32_t)round, 10, &r, &n, &om) == 0);
        for (size_t i = 0; i < n; i++) CHECK_EQ_U64(r[i].count, r[i].id - 1 + 1000);
        seen += n;
        free(r);
    }
    CHECK_EQ_U64(seen, 99);
    CHECK(mrc_census_take(c, m, N, 40, 10, &r, &n, &om) == 0 && n == 0 && om == 0);
    mrc_census_free(c);
}

/* A map that died and a new one at its address are two maps (ids). */
static void test_a_new_map_at_a_dead_ones_address(void)
{
    mrc_census *c = mrc_census_new();
    mrc_census_map m = map(1, 50);
    mf_at_map *r;
    size_t n;
    uint32_t om;
    CHECK(mrc_census_take(c, &m, 1, 1, 8, &r, &n, &om) == 0);
    m.count = 60;
    CHECK(mrc_census_take(c, &m, 1, 2, 8, &r, &n, &om) == 0 && n == 1);
    free(r);
    mrc_census_map other = map(2, 3);
    other.address = m.address;
    CHECK(mrc_census_take(c, &other, 1, 3, 8, &r, &n, &om) == 0);
    CHECK_EQ_U64(n, 2);
    const mf_at_map *dead = find(r, n, 1), *born = find(r, n, 2);
    CHECK(dead && dead->gone && born && !born->gone);
    CHECK(born->first_count == 0 && born->count == 3);
    free(r);
    mrc_census_free(c);
}

/* Many maps come and go (the table grows, entries shift back as others
 * are removed): every live map keeps its baseline through it all. */
static void test_churn_keeps_every_baseline(void)
{
    enum { N = 5000 };
    mrc_census *c = mrc_census_new();
    mrc_census_map *m = calloc(N, sizeof *m);
    CHECK(m != NULL);
    for (int i = 0; i < N; i++) m[i] = map((uint64_t)i + 1, (uint64_t)i);
    mf_at_map *r;
    size_t n;
    uint32_t om;
    CHECK(mrc_census_take(c, m, N, 1, 1024, &r, &n, &om) == 0 && n == 0);
    /* odd ids die, new maps come, even ids grow by one */
    size_t k = 0;
    for (int i = 0; i < N; i++)
        if (i % 2 == 0) {
            m[k] = m[i];
            m[k].count++;
            k++;
        }
    for (int i = 0; i < N / 2; i++) m[k++] = map((uint64_t)N + (uint64_t)i + 1, 1);
    CHECK(mrc_census_take(c, m, k, 2, 1024, &r, &n, &om) == 0);
    free(r);
    /* drain what is owed, then one more change of every grown map */
    for (int round = 0; round < 20 && om; round++) {
        CHECK(mrc_census_take(c, m, k, 3, 1024, &r, &n, &om) == 0);
        free(r);
    }
    CHECK(om == 0);
    for (size_t i = 0; i < k; i++) m[i].count += 1;
    size_t told = 0;
    for (int round = 0; round < 20; round++) {
        CHECK(mrc_census_take(c, m, k, 4, 1024, &r, &n, &om) == 0);
        for (size_t i = 0; i < n; i++) {
            uint64_t id = r[i].id;
            CHECK(!r[i].gone);
            if (id <= N)
                CHECK_EQ_U64(r[i].first_count, id - 1); /* the baseline, kept */
            else
                CHECK_EQ_U64(r[i].first_count, 0);
        }
        told += n;
        free(r);
        if (!om) break;
    }
    CHECK_EQ_U64(told, k);
    free(m);
    mrc_census_free(c);
}

int main(void)
{
    TEST(test_baseline_then_changes_then_deaths);
    TEST(test_geometry_of_a_told_map);
    TEST(test_largest_first_and_the_rest_owed);
    TEST(test_a_new_map_at_a_dead_ones_address);
    TEST(test_churn_keeps_every_baseline);
    TEST_EXIT();
}
