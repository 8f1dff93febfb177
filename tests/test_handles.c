/*
 * tests/test_handles.c -- handle tables (src/rt/handles.h): handles from
 * 1, freed handles reused last-freed first with zeroed records, records
 * kept across growth, stale handles refused, and a failed allocation that
 * leaves the table as it was.
 *
 * handles.c is compiled into the test with realloc wrapped
 * (-Wl,--wrap=realloc) so that growth can be made to fail.
 */
#include "check.h"
#include "rt/handles.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static int fail_after = -1; /* reallocs left before one fails (-1: never) */

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_after == 0) return NULL;
    if (fail_after > 0) fail_after--;
    return __real_realloc(p, n);
}

typedef struct rec {
    uint64_t value;
    const char *name;
} rec;

static void release(mr_handles *t)
{
    free(t->recs);
    free(t->link);
}

/* Handles are 1, 2, 3, ...; 0 and handles never handed out name nothing. */
static void test_handles_count_from_one(void)
{
    mr_handles t = MR_HANDLES_INIT(rec, 4);
    CHECK(mr__handles_get(&t, 0) == NULL);
    CHECK(mr__handles_get(&t, 1) == NULL);
    for (uint32_t i = 1; i <= 10; i++) {
        CHECK_EQ_U64(mr__handles_add(&t), i);
        rec *r = mr__handles_get(&t, i);
        CHECK(r && r->value == 0 && r->name == NULL);
        r->value = i * 7;
    }
    CHECK(mr__handles_get(&t, 11) == NULL);
    CHECK(mr__handles_get(&t, UINT32_MAX) == NULL);
    CHECK_EQ_U64(mr__handles_end(&t), 11);
    for (uint32_t i = 1; i <= 10; i++) CHECK_EQ_U64(((rec *)mr__handles_get(&t, i))->value, i * 7);
    release(&t);
}

/* A freed handle names nothing until it is handed out again, last freed
 * first, with its record zeroed; the table does not grow meanwhile. */
static void test_freed_handles_are_reused_zeroed(void)
{
    mr_handles t = MR_HANDLES_INIT(rec, 4);
    for (int i = 0; i < 8; i++) ((rec *)mr__handles_get(&t, mr__handles_add(&t)))->value = 99;
    uint32_t cap = t.cap;
    mr__handles_remove(&t, 3);
    mr__handles_remove(&t, 6);
    CHECK(mr__handles_get(&t, 3) == NULL);
    CHECK(mr__handles_get(&t, 6) == NULL);
    CHECK(mr__handles_get(&t, 5) != NULL);
    CHECK_EQ_U64(mr__handles_add(&t), 6);
    CHECK_EQ_U64(((rec *)mr__handles_get(&t, 6))->value, 0);
    CHECK_EQ_U64(mr__handles_add(&t), 3);
    CHECK_EQ_U64(mr__handles_add(&t), 9);
    CHECK_EQ_U64(cap, 8);
    CHECK_EQ_U64(t.cap, 16); /* 9 records: one doubling */
    /* many pins and unpins: the table holds no more than were live at once */
    for (int round = 0; round < 1000; round++) {
        uint32_t a = mr__handles_add(&t), b = mr__handles_add(&t);
        mr__handles_remove(&t, a);
        mr__handles_remove(&t, b);
    }
    CHECK_EQ_U64(mr__handles_end(&t), 12);
    release(&t);
}

/* Iteration over 1 .. end - 1 sees exactly the live records. */
static void test_iteration_skips_freed_records(void)
{
    mr_handles t = MR_HANDLES_INIT(rec, 2);
    for (uint32_t i = 1; i <= 100; i++) ((rec *)mr__handles_get(&t, mr__handles_add(&t)))->value = i;
    for (uint32_t i = 1; i <= 100; i += 3) mr__handles_remove(&t, i);
    uint64_t sum = 0, n = 0;
    for (uint32_t h = 1; h < mr__handles_end(&t); h++) {
        rec *r = mr__handles_get(&t, h);
        if (!r) continue;
        CHECK_EQ_U64(r->value, h);
        sum += r->value;
        n++;
    }
    CHECK_EQ_U64(n, 66);
    CHECK_EQ_U64(sum, 5050 - (1 + 100) * 34 / 2);
    release(&t);
}

/* When growth fails the add returns 0 and every handle still names its
 * record; a later add, with memory again, succeeds. */
static void test_failed_growth_leaves_the_table_whole(void)
{
    for (int fail = 0; fail < 2; fail++) { /* the records' array, then the links' */
        mr_handles t = MR_HANDLES_INIT(rec, 4);
        for (uint32_t i = 1; i <= 4; i++) ((rec *)mr__handles_get(&t, mr__handles_add(&t)))->value = i;
        fail_after = fail;
        CHECK_EQ_U64(mr__handles_add(&t), 0);
        fail_after = -1;
        CHECK_EQ_U64(mr__handles_end(&t), 5);
        CHECK_EQ_U64(t.cap, 4);
        for (uint32_t i = 1; i <= 4; i++) CHECK_EQ_U64(((rec *)mr__handles_get(&t, i))->value, i);
        CHECK_EQ_U64(mr__handles_add(&t), 5);
        CHECK_EQ_U64(t.cap, 8);
        release(&t);
    }
}

int main(void)
{
    TEST(test_handles_count_from_one);
    TEST(test_freed_handles_are_reused_zeroed);
    TEST(test_iteration_skips_freed_records);
    TEST(test_failed_growth_leaves_the_table_whole);
    TEST_EXIT();
}
