/*
 * tests/test_gate_spread.c -- the gate's spread rule (analyze/gate.c) on
 * series built by hand: which maps it adds up (those that grow in at
 * least k of their last n intervals, are in the last snapshot, and that
 * the growth rule does not judge on its own), its minimums, and the
 * largest contributors it names.
 */
#include "check.h"

#include "analyze/gate.h"

#include <string.h>

enum { SNAPS = 5 }; /* 4 intervals: the default window, k=3 of n=4 */

/* A gate over SNAPSHOTS judged snapshots, nothing followed yet. */
static void series(mp_gate *gt, const mp_gate_policy *p, size_t snaps)
{
    mp_gate_init(gt, p);
    gt->snaps = calloc(snaps, sizeof *gt->snaps);
    gt->nsnaps = gt->snaps_cap = gt->judged = snaps;
    for (size_t i = 0; i < snaps; i++) {
        gt->snaps[i].file = strdup("s");
        gt->snaps[i].cycle = (uint32_t)i + 1;
    }
}

/* Follows a map (or a group) of type T under "global NAME" from snapshot
 * `from`, at `entries` entries, growing by d[i] in its interval i (npts - 1
 * of them), each entry retaining 100 bytes; its points are members of
 * followed entry `group` (-1 none). Returns its index. */
static int32_t follow(mp_gate *gt, bool group, const char *name, uint32_t from, size_t npts,
                      int64_t entries, const int64_t *d, int32_t grp)
{
    if (gt->nmaps == gt->maps_cap) {
        gt->maps_cap = gt->maps_cap ? 2 * gt->maps_cap : 16;
        gt->maps = realloc(gt->maps, gt->maps_cap * sizeof *gt->maps);
    }
    mp_gate_map *m = &gt->maps[gt->nmaps];
    memset(m, 0, sizeof *m);
    char holder[64];
    snprintf(holder, sizeof holder, "global %s", name);
    m->group = group;
    m->type = strdup("map[int64]*T");
    m->holder = strdup(holder);
    m->way = strdup("");
    m->root = strdup(holder);
    m->root_holder = strdup(holder);
    m->root_file = strdup("");
    m->points = calloc(npts, sizeof *m->points);
    m->npoints = m->cap = npts;
    for (size_t i = 0; i < npts; i++) {
        if (i) entries += d[i - 1];
        m->points[i] = (mp_gate_point){from + (uint32_t)i,
                                       grp,
                                       (uint64_t)entries,
                                       (uint64_t)entries * 100,
                                       group ? 2 : 0,
                                       0,
                                       0};
    }
    return (int32_t)gt->nmaps++;
}

/* n maps named PREFIX_i over the whole series, each growing by d. */
static void follow_many(mp_gate *gt, const char *prefix, int n, const int64_t *d)
{
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s_%d", prefix, i);
        follow(gt, false, name, 0, SNAPS, 100, d, -1);
    }
}

/* The spread check of a judged gate (NULL: none). */
static const mp_gate_check *spread_check(const mp_gate *gt)
{
    for (size_t i = 0; i < gt->nchecks; i++)
        if (gt->checks[i].rule == MP_RULE_SPREAD) return &gt->checks[i];
    return NULL;
}

/* Judges gt by p; its spread check. */
static const mp_gate_check *judge(mp_gate *gt)
{
    mf_error err;
    if (mp_gate_judge(gt, NULL, &err)) {
        fprintf(stderr, "judge: %s\n", err.msg);
        return NULL;
    }
    return spread_check(gt);
}

static const int64_t every[] = {10, 10, 10, 10}; /* grows in 4 of 4 */
static const int64_t three[] = {0, 5, 5, 5};     /* in exactly k=3 of 4 */
static const int64_t two[] = {5, 0, 5, 0};       /* in k-1=2 of 4 */
static const int64_t shrink[] = {-10, -10, -10, -10};

/* 200 maps that each grow by 40 entries (4,000 bytes) fail together, in
 * one violation that names the largest first. */
static void many_small_growers_fail_together(void)
{
    mp_gate_policy p;
    mp_gate_policy_default(&p);
    mp_gate gt;
    series(&gt, &p, SNAPS);
    follow_many(&gt, "reg", 199, every);
    static const int64_t more[] = {20, 20, 20, 20};
    int32_t big = follow(&gt, false, "big", 0, SNAPS, 20, more, -1);
    const mp_gate_check *c = judge(&gt);
    CHECK(c != NULL);
    CHECK(c->status == MP_CHECK_FAIL && c->map == -1);
    CHECK_EQ_U64(c->spread_maps, 200);
    CHECK_EQ_U64(c->window_entries, 199 * 40 + 80);
    CHECK_EQ_U64(c->window_bytes, (199 * 40 + 80) * 100);
    CHECK(c->ntop == MP_GATE_SPREAD_TOP && c->top[0] == big && c->top_entries[0] == 80);
    CHECK(c->top_entries[1] == 40);
    CHECK(strstr(c->summary, "200 maps grew in at least 3 of their last 4 intervals") != NULL);
    CHECK(strstr(c->summary, "largest: map[int64]*T in global big (+80 entries") != NULL);
    CHECK_EQ_U64(gt.violations, 1);
    CHECK_EQ_U64(gt.fails[MP_RULE_SPREAD], 1);
    CHECK_EQ_U64(gt.fails[MP_RULE_GROWTH], 0);
    mp_gate_free(&gt);
}

/* One map alone is no spread, however its growth compares with the
 * minimums; with min_maps 1 and lower minimums it is judged. */
static void one_map_only(void)
{
    mp_gate_policy p;
    mp_gate_policy_default(&p);
    mp_gate gt;
    series(&gt, &p, SNAPS);
    static const int64_t most[] = {240, 240, 240, 240}; /* 960: under 1,000 alone */
    follow(&gt, false, "one", 0, SNAPS, 20, most, -1);
    p.spread_min_entries = 100;
    p.spread_min_bytes = 1000;
    const mp_gate_check *c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_PASS && c->spread_maps == 1);
    CHECK(c->window_entries == 960 && c->ntop == 1);
    mp_gate_free(&gt);
    p.spread_min_maps = 1;
    series(&gt, &p, SNAPS);
    follow(&gt, false, "one", 0, SNAPS, 20, most, -1);
    c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_FAIL && c->spread_maps == 1);
    mp_gate_free(&gt);
}

/* Maps that shrink add nothing, and take nothing away from those that
 * grow. */
static void shrinking_maps_neither_add_nor_offset(void)
{
    mp_gate_policy p;
    mp_gate_policy_default(&p);
    mp_gate gt;
    series(&gt, &p, SNAPS);
    follow_many(&gt, "gone", 300, shrink);
    const mp_gate_check *c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_PASS && c->spread_maps == 0 && c->ntop == 0);
    CHECK(c->window_entries == 0 && c->window_bytes == 0);
    mp_gate_free(&gt);
    series(&gt, &p, SNAPS);
    follow_many(&gt, "gone", 300, shrink);
    follow_many(&gt, "reg", 30, every); /* 1,200 entries */
    c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_FAIL && c->spread_maps == 30);
    CHECK_EQ_U64(c->window_entries, 1200);
    mp_gate_free(&gt);
}

/* Growth in exactly k of the last n intervals counts; in k - 1 it does
 * not, however many maps; the minimums are exceeded, not reached. */
static void k_of_n_boundary(void)
{
    mp_gate_policy p;
    mp_gate_policy_default(&p);
    mp_gate gt;
    series(&gt, &p, SNAPS);
    follow_many(&gt, "reg", 67, three); /* 67 * 15 = 1,005 entries, 100,500 bytes */
    const mp_gate_check *c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_FAIL && c->spread_maps == 67);
    CHECK_EQ_U64(c->window_entries, 1005);
    mp_gate_free(&gt);
    series(&gt, &p, SNAPS);
    follow_many(&gt, "reg", 1000, two); /* 10,000 entries, each in 2 of 4 */
    c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_PASS && c->spread_maps == 0);
    mp_gate_free(&gt);
    series(&gt, &p, SNAPS);
    static const int64_t eight[] = {2, 2, 2, 2};
    follow_many(&gt, "reg", 125, eight); /* exactly 1,000 entries, 100,000 bytes */
    c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_PASS && c->spread_maps == 125);
    CHECK_EQ_U64(c->window_entries, 1000);
    mp_gate_free(&gt);
    /* the window is the last n intervals: growth before it does not count */
    series(&gt, &p, SNAPS + 2);
    static const int64_t early[] = {10, 10, 10, 0, 0, 10};
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "old_%d", i);
        follow(&gt, false, name, 0, SNAPS + 2, 20, early, -1);
    }
    c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_PASS && c->spread_maps == 0);
    mp_gate_free(&gt);
}

/* A map the growth rule fails on its own, a member of a group that fails
 * it, a map nested in another (its bytes are the outer map's) and a map
 * gone before the last snapshot are not added up; a map in fewer than
 * k + 1 snapshots is not judged. */
static void what_is_judged_elsewhere_is_left_out(void)
{
    mp_gate_policy p;
    mp_gate_policy_default(&p);
    mp_gate gt;
    series(&gt, &p, SNAPS);
    static const int64_t huge[] = {1000, 1000, 1000, 1000};
    follow(&gt, false, "leak", 0, SNAPS, 20, huge, -1);
    follow_many(&gt, "reg", 20, every); /* 800 entries */
    /* a group of 2 maps growing by 150 entries each per interval: 1,200 */
    static const int64_t grp[] = {300, 300, 300, 300};
    static const int64_t mem[] = {150, 150, 150, 150};
    int32_t g = follow(&gt, true, "pool", 0, SNAPS, 40, grp, -1);
    follow(&gt, false, "pool_a", 0, SNAPS, 20, mem, g);
    follow(&gt, false, "pool_b", 0, SNAPS, 20, mem, g);
    /* 100 maps gone after snapshot 3, and 100 new in the last two */
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof name, "gone_%d", i);
        follow(&gt, false, name, 0, SNAPS - 1, 20, every, -1);
        snprintf(name, sizeof name, "new_%d", i);
        follow(&gt, false, name, SNAPS - 2, 2, 20, every, -1);
        snprintf(name, sizeof name, "inner_%d", i);
        int32_t inner = follow(&gt, false, name, 0, SNAPS, 20, every, -1);
        gt.maps[inner].nested = true; /* (follow may move the maps) */
    }
    const mp_gate_check *c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_PASS);
    CHECK_EQ_U64(c->spread_maps, 20);
    CHECK_EQ_U64(c->window_entries, 800);
    CHECK_EQ_U64(gt.fails[MP_RULE_GROWTH], 2); /* leak, and the group */
    CHECK_EQ_U64(gt.violations, 2);
    mp_gate_free(&gt);
}

/* Off, the rule makes no check; with the growth rule off it still judges
 * (by growth's k and n). */
static void off_and_alone(void)
{
    mp_gate_policy p;
    mp_gate_policy_default(&p);
    p.spread = false;
    mp_gate gt;
    series(&gt, &p, SNAPS);
    follow_many(&gt, "reg", 200, every);
    CHECK(judge(&gt) == NULL && gt.violations == 0);
    mp_gate_free(&gt);
    p.spread = true;
    p.growth = false;
    series(&gt, &p, SNAPS);
    follow_many(&gt, "reg", 200, every);
    const mp_gate_check *c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_FAIL && c->spread_maps == 200);
    CHECK_EQ_U64(gt.nchecks, 1 + 200); /* spread, and suspect per map */
    mp_gate_free(&gt);
}

/* A baseline written by a run records the maps' growth together; it
 * accepts a later spread violation while that stays within it, and not
 * once it grows past the tolerance (and the minimums). */
static void baseline_accepts_until_it_grows(void)
{
    mp_gate_policy p;
    mp_gate_policy_default(&p);
    mp_gate gt;
    series(&gt, &p, SNAPS);
    follow_many(&gt, "reg", 200, every); /* 8,000 entries, 800,000 bytes */
    const mp_gate_check *c = judge(&gt);
    CHECK(c != NULL && c->status == MP_CHECK_FAIL);
    json_t *j = mp_gate_baseline_json(&gt);
    char *text = j ? json_dumps(j, 0) : NULL;
    json_decref(j);
    mp_gate_free(&gt);
    CHECK(text != NULL);
    CHECK(strstr(text, "\"spread\": {\"entries\": 8000, \"retained_bytes\": 800000}") != NULL);
    mp_gate_baseline base;
    mf_error err;
    CHECK(mp_gate_baseline_parse(text, strlen(text), "b.json", &base, &err) == 0);
    free(text);
    for (int round = 0; round < 2; round++) {
        /* the same run, then one whose maps grew by 2,000 entries more */
        series(&gt, &p, SNAPS);
        follow_many(&gt, "reg", round ? 250 : 200, every);
        if (mp_gate_judge(&gt, &base, &err)) CHECK(!"judged");
        c = spread_check(&gt);
        CHECK(c != NULL);
        CHECK(c->status == (round ? MP_CHECK_FAIL : MP_CHECK_BASELINE));
        CHECK_EQ_U64(gt.violations, round ? 1 : 0);
        mp_gate_free(&gt);
    }
    mp_gate_baseline_free(&base);
}

int main(void)
{
    TEST(many_small_growers_fail_together);
    TEST(one_map_only);
    TEST(shrinking_maps_neither_add_nor_offset);
    TEST(k_of_n_boundary);
    TEST(what_is_judged_elsewhere_is_left_out);
    TEST(off_and_alone);
    TEST(baseline_accepts_until_it_grows);
    TEST_EXIT();
}
