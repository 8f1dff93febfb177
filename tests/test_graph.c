/*
 * tests/test_graph.c -- the heap graph builder: ordering, resolution,
 * CSR packing, grouping of map records, lookups and errors.
 */
#include "analyze/dominators.h"
#include "analyze/graph.h"
#include "analyze/graph_layout.h"
#include "analyze/load_gcstack.h"
#include "analyze/parallel.h"
#include "analyze/paths.h"
#include "format/gcstack_writer.h"

#include "check.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static mp_root root_of_kind(mp_graph_builder *b, mp_root_kind kind, const char *name)
{
    mp_root r = {.kind = (uint8_t)kind, .name = mp_gb_intern(b, name), .target = MP_NONE};
    return r;
}

/* Adds a root of kind `kind` named `name` pointing at object `target`. */
static void add_root(mp_graph_builder *b, mp_root_kind kind, const char *name, uint32_t target)
{
    mp_root r = root_of_kind(b, kind, name);
    r.target = target;
    mp_gb_root(b, &r, 0);
}

static void test_unsorted_objects_are_renumbered_by_address(void)
{
    mp_graph_builder *b = mp_gb_new("t", "test");
    uint32_t t = mp_gb_type(b, "Node", 32, MP_TYPE_STRUCT);
    uint32_t c = mp_gb_object(b, 0x3000, 32, t, MP_NONE);
    uint32_t a = mp_gb_object(b, 0x1000, 16, MP_NONE, MP_NONE);
    uint32_t bb = mp_gb_object(b, 0x2000, 64, t, MP_NONE);
    mp_gb_edge(b, c, a);
    mp_gb_edge(b, a, bb);
    mp_gb_edge_addr(b, 0x2008, 0x3010); /* interior pointers on both sides */
    mp_gb_edge_addr(b, 0x2000, 0x9000); /* out of the heap: dropped */
    mp_root r = root_of_kind(b, MP_ROOT_GLOBAL, "g");
    mp_gb_root(b, &r, 0x3004);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nobjects, 3);
    CHECK_EQ_U64(mp_obj_addr(g, 0), 0x1000);
    CHECK_EQ_U64(mp_obj_addr(g, 1), 0x2000);
    CHECK_EQ_U64(mp_obj_addr(g, 2), 0x3000);
    CHECK_EQ_U64(mp_obj_size(g, 1), 64);
    CHECK_STR_EQ(mp_graph_type_name(g, 2), "Node");
    CHECK_STR_EQ(mp_graph_type_name(g, 0), "?");
    CHECK_EQ_U64(g->nedges, 3);
    CHECK_EQ_U64(g->dropped_edges, 1);
    /* 0x3000 -> 0x1000, 0x1000 -> 0x2000, 0x2000 -> 0x3000 */
    CHECK_EQ_U64(mp_out_end(g, 0) - mp_out_begin(g, 0), 1);
    CHECK_EQ_U64(g->out.adj[mp_out_begin(g, 0)], 1);
    CHECK_EQ_U64(g->out.adj[mp_out_begin(g, 1)], 2);
    CHECK_EQ_U64(g->out.adj[mp_out_begin(g, 2)], 0);
    CHECK_EQ_U64(g->in.adj[mp_in_begin(g, 0)], 2);
    CHECK_EQ_U64(g->in.adj[mp_in_begin(g, 2)], 1);
    CHECK_EQ_U64(g->roots[0].target, 2);
    CHECK_EQ_U64(g->total_bytes, 112);
    CHECK_EQ_U64(mp_graph_find(g, 0x203f), 1);
    CHECK_EQ_U64(mp_graph_find(g, 0x2040), MP_NONE);
    CHECK_EQ_U64(mp_graph_find(g, 0xfff), MP_NONE);
    mp_graph_free(g);
}

static void test_sorted_input_packs_edges_in_place(void)
{
    mp_graph_builder *b = mp_gb_new("t", "test");
    for (int i = 0; i < 100; i++) mp_gb_object(b, 0x1000 + 16 * (uint64_t)i, 16, MP_NONE, MP_NONE);
    for (uint32_t i = 0; i < 100; i++) {
        mp_gb_edge(b, i, (i + 1) % 100);
        mp_gb_edge(b, i, (i * 7) % 100);
    }
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nedges, 200);
    for (uint32_t i = 0; i < 100; i++) {
        CHECK_EQ_U64(mp_out_end(g, i) - mp_out_begin(g, i), 2);
        CHECK_EQ_U64(g->out.adj[mp_out_begin(g, i)], (i + 1) % 100);
        CHECK_EQ_U64(g->out.adj[mp_out_begin(g, i) + 1], (i * 7) % 100);
    }
    /* every edge appears once in the reverse lists */
    uint64_t sum = 0;
    for (uint32_t v = 0; v < 100; v++)
        for (uint64_t e = mp_in_begin(g, v); e < mp_in_end(g, v); e++)
            sum += g->in.adj[e] * 1000 + v;
    uint64_t want = 0;
    for (uint32_t i = 0; i < 100; i++) want += i * 1000 + (i + 1) % 100 + i * 1000 + (i * 7) % 100;
    CHECK_EQ_U64(sum, want);
    mp_graph_free(g);
}

static void test_roots_are_sorted_by_priority_then_order(void)
{
    mp_graph_builder *b = mp_gb_new("t", "test");
    uint32_t o = mp_gb_object(b, 0x1000, 16, MP_NONE, MP_NONE);
    mp_root r;
    add_root(b, MP_ROOT_REGISTER, "rax", o);
    add_root(b, MP_ROOT_STACK, "s1", o);
    add_root(b, MP_ROOT_GLOBAL, "g", o);
    r = root_of_kind(b, MP_ROOT_STACK, "s2");
    mp_gb_root(b, &r, 0x5000); /* outside: no target */
    add_root(b, MP_ROOT_PIN, "p", o);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nroots, 5);
    CHECK_STR_EQ(mp_str(g, g->roots[0].name), "g");
    CHECK_STR_EQ(mp_str(g, g->roots[1].name), "p");
    CHECK_STR_EQ(mp_str(g, g->roots[2].name), "s1");
    CHECK_STR_EQ(mp_str(g, g->roots[3].name), "s2");
    CHECK_STR_EQ(mp_str(g, g->roots[4].name), "rax");
    CHECK_EQ_U64(g->roots[3].target, MP_NONE);
    CHECK_EQ_U64(g->dropped_refs, 1);
    mp_graph_free(g);
}

static void test_map_records_are_grouped_and_tables_measured(void)
{
    mp_graph_builder *b = mp_gb_new("t", "test");
    uint32_t hdr_t = mp_gb_type(b, "hmap", 48, MP_TYPE_MAP_HEADER);
    uint32_t h1 = mp_gb_object(b, 0x1000, 48, hdr_t, MP_NONE);
    uint32_t arr1 = mp_gb_object(b, 0x2000, 4 * 208, MP_NONE, MP_NONE);
    uint32_t ov1 = mp_gb_object(b, 0x3000, 208, MP_NONE, MP_NONE);
    uint32_t h2 = mp_gb_object(b, 0x4000, 48, hdr_t, MP_NONE);
    uint32_t arr2 = mp_gb_object(b, 0x5000, 208, MP_NONE, MP_NONE);
    uint32_t v = mp_gb_object(b, 0x6000, 100, MP_NONE, MP_NONE);
    mp_map m = {.header = h1,
                .B = 2,
                .count = 2,
                .buckets = arr1,
                .oldbuckets = MP_NONE,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .type_name = mp_gb_intern(b, "map[int]*V")};
    uint32_t m1 = mp_gb_map(b, &m, NULL);
    m.header = h2;
    m.B = 0;
    m.count = 1;
    m.buckets = arr2;
    uint32_t m2 = mp_gb_map(b, &m, NULL);
    /* interleaved records of both maps */
    for (uint64_t i = 0; i < 4; i++)
        mp_gb_bucket(
            b, &(mp_bucket){.map = m1, .obj = arr1, .address = 0x2000 + 208 * i, .index = i}, 0);
    mp_gb_bucket(b, &(mp_bucket){.map = m2, .obj = MP_NONE, .index = 0}, 0x5000);
    mp_gb_bucket(
        b, &(mp_bucket){.map = m1, .obj = ov1, .address = 0x3000, .index = 3, .overflow = 1}, 0);
    mp_gb_entry(b, &(mp_entry){.map = m2,
                               .bucket_obj = arr2,
                               .key = mp_gb_string(b, "7", 1),
                               .key_obj = MP_NONE,
                               .value_obj = v});
    mp_gb_entry(b, &(mp_entry){.map = m1,
                               .bucket_obj = ov1,
                               .bucket = 3,
                               .overflow = 1,
                               .slot = 2,
                               .key_obj = MP_NONE,
                               .value_obj = MP_NONE});
    mp_gb_entry(
        b,
        &(mp_entry){
            .map = m1, .bucket_obj = arr1, .bucket = 1, .key_obj = MP_NONE, .value_obj = MP_NONE});
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nmaps, 2);
    CHECK_EQ_U64(g->maps[0].nbuckets, 5);
    CHECK_EQ_U64(g->maps[0].nmain, 4);
    CHECK_EQ_U64(g->maps[0].noverflow_walked, 1);
    CHECK_EQ_U64(g->maps[0].table_objects, 3);
    CHECK_EQ_U64(g->maps[0].table_bytes, 48 + 4 * 208 + 208);
    CHECK_EQ_U64(g->maps[1].table_bytes, 48 + 208);
    CHECK_EQ_U64(g->maps[0].nentries, 2);
    mp_entry en;
    CHECK(mp_graph_entry(g, g->maps[0].first_entry, &en));
    CHECK_EQ_U64(en.slot, 2); /* order kept within a map */
    CHECK_EQ_U64(g->maps[1].nentries, 1);
    CHECK(mp_graph_entry(g, g->maps[1].first_entry, &en));
    char kb[32];
    CHECK_STR_EQ(mp_entry_key(g, &en, kb, sizeof kb), "7");
    CHECK_EQ_U64(g->buckets[g->maps[1].first_bucket].obj, arr2); /* resolved by address */
    CHECK_EQ_U64(mp_graph_map_of_header(g, h2), 1);
    CHECK_EQ_U64(mp_graph_map_of_header(g, arr1), MP_NONE);
    uint32_t bo = mp_graph_bucket_of(g, ov1);
    CHECK(bo != MP_NONE);
    CHECK_EQ_U64(g->buckets[bo].overflow, 1);
    CHECK_EQ_U64(g->buckets[mp_graph_bucket_of(g, arr1)].map, 0);
    CHECK_EQ_U64(mp_graph_bucket_of(g, v), MP_NONE);
    /* each bucket's own record (and address) among the array's */
    for (uint64_t i = 0; i < 4; i++) {
        uint32_t r = mp_graph_bucket_record(g, arr1, 0, i, 0, false);
        CHECK(r != MP_NONE);
        CHECK_EQ_U64(g->buckets[r].address, 0x2000 + 208 * i);
    }
    CHECK_EQ_U64(g->buckets[mp_graph_bucket_record(g, ov1, 0, 3, 1, false)].address, 0x3000);
    CHECK_EQ_U64(mp_graph_bucket_record(g, arr1, 0, 4, 0, false), MP_NONE);
    CHECK_EQ_U64(mp_graph_bucket_record(g, arr1, 0, 1, 0, true), MP_NONE);  /* not old */
    CHECK_EQ_U64(mp_graph_bucket_record(g, arr1, 1, 1, 0, false), MP_NONE); /* another map */
    CHECK_EQ_U64(mp_graph_bucket_record(g, v, 0, 0, 0, false), MP_NONE);
    mp_graph_free(g);
}

static void test_overlapping_objects_are_refused(void)
{
    mp_graph_builder *b = mp_gb_new("heap.dump", "test");
    mp_gb_object(b, 0x1000, 32, MP_NONE, MP_NONE);
    mp_gb_object(b, 0x1010, 32, MP_NONE, MP_NONE);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == -1);
    CHECK(g == NULL);
    CHECK(strstr(err.msg, "heap.dump: ") == err.msg);
    CHECK(strstr(err.msg, "overlap") != NULL);
}

static void test_bad_references_are_refused(void)
{
    mp_graph_builder *b = mp_gb_new("x", "test");
    uint32_t o = mp_gb_object(b, 0x1000, 32, MP_NONE, MP_NONE);
    mp_gb_edge(b, o, 7);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == -1);
    CHECK(strstr(err.msg, "edge 0") != NULL);
    b = mp_gb_new("x", "test");
    mp_gb_object(b, 0x1000, 32, MP_NONE, MP_NONE);
    mp_gb_entry(
        b, &(mp_entry){.map = 3, .bucket_obj = MP_NONE, .key_obj = MP_NONE, .value_obj = MP_NONE});
    CHECK(mp_gb_finish(b, &g, &err) == -1);
    CHECK(strstr(err.msg, "entry 0 names map 3") != NULL);
    b = mp_gb_new("x", "test");
    mp_gb_object(b, 0x1000, 32, 5, MP_NONE);
    CHECK(mp_gb_finish(b, &g, &err) == -1);
    CHECK(strstr(err.msg, "type 5") != NULL);
}

static void test_strings_are_interned_and_keys_kept(void)
{
    mp_graph_builder *b = mp_gb_new("x", "test");
    mp_sid a = mp_gb_intern(b, "worker_loop");
    for (int i = 0; i < 2000; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "f%d", i);
        mp_gb_intern(b, buf);
    }
    CHECK_EQ_U64(mp_gb_intern(b, "worker_loop"), a);
    CHECK_EQ_U64(mp_gb_intern(b, ""), 0);
    mp_sid k = mp_gb_string(b, "ab\0cd", 5); /* a NUL ends it */
    mp_gframe fr[2] = {mp_gb_frame(b, "mr_new", "heap.c", 10),
                       mp_gb_frame(b, "new_session", "s.c", 58)};
    uint32_t st = mp_gb_stack(b, fr, 2);
    mp_gb_object(b, 0x1000, 8, MP_NONE, MP_NONE);
    mp_gb_object_stack(b, 0, st);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_STR_EQ(mp_str(g, a), "worker_loop");
    CHECK_STR_EQ(mp_str(g, k), "ab");
    CHECK_EQ_U64(g->nsampled, 1);
    CHECK_EQ_U64(g->stacks[mp_obj_stack(g, 0)].n, 2);
    CHECK_STR_EQ(mp_str(g, g->frames[g->stacks[0].first + 1].function), "new_session");
    mp_graph_free(g);
}

static void test_paths_prefer_shorter_then_higher_priority_roots(void)
{
    /* stack -> A -> B -> C ; global -> D -> C ; pin -> A */
    mp_graph_builder *b = mp_gb_new("x", "test");
    uint32_t A = mp_gb_object(b, 0x1000, 8, MP_NONE, MP_NONE);
    uint32_t B = mp_gb_object(b, 0x2000, 8, MP_NONE, MP_NONE);
    uint32_t C = mp_gb_object(b, 0x3000, 8, MP_NONE, MP_NONE);
    uint32_t D = mp_gb_object(b, 0x4000, 8, MP_NONE, MP_NONE);
    uint32_t E = mp_gb_object(b, 0x5000, 8, MP_NONE, MP_NONE); /* garbage */
    mp_gb_edge(b, A, B);
    mp_gb_edge(b, B, C);
    mp_gb_edge(b, D, C);
    (void)E;
    add_root(b, MP_ROOT_STACK, "s", A);
    add_root(b, MP_ROOT_GLOBAL, "g", D);
    add_root(b, MP_ROOT_PIN, "p", A);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    mp_paths p;
    CHECK(mp_paths_compute(g, &p, &err) == 0);
    CHECK_EQ_U64(p.nreached, 4);
    CHECK_EQ_U64(p.root[C], 0); /* via the global (distance 2 either way; global first) */
    CHECK_EQ_U64(p.parent[C], D);
    CHECK_EQ_U64(p.root[A], 1); /* the pin beats the stack slot */
    CHECK_EQ_U64(p.root[E], MP_NONE);
    uint32_t chain[8];
    CHECK_EQ_U64(mp_paths_chain(g, &p, B, chain, 8), 2);
    CHECK_EQ_U64(chain[0], A);
    CHECK_EQ_U64(chain[1], B);
    CHECK_EQ_U64(mp_paths_chain(g, &p, E, chain, 8), 0);
    CHECK_EQ_U64(mp_paths_chain(g, &p, B, chain, 1), 2); /* truncated: nearest the root */
    CHECK_EQ_U64(chain[0], A);
    mp_paths_free(&p);
    mp_graph_free(g);
}

/*
 * Each object's root is its parent's, however many roots are searched
 * from at once: here more roots than the search keeps runs of one root
 * for (it then reads root[] for what it lost), each one's target with
 * two children and a grandchild both point at (taking the first as
 * parent).
 */
static void test_each_object_takes_its_parents_root_among_many_roots(void)
{
    enum { K = 40000 }; /* roots: more than the runs kept, 2^15 */
    mp_graph_builder *b = mp_gb_new("x", "test");
    /* root r's objects: target 4r, children 4r+1 and 4r+2, grandchild
     * 4r+3 (addresses in that order, so the numbers are kept) */
    for (uint32_t o = 0; o < 4 * K; o++)
        CHECK_EQ_U64(mp_gb_object(b, 0x1000 + 16 * (uint64_t)o, 16, MP_NONE, MP_NONE), o);
    for (uint32_t r = 0; r < K; r++) {
        mp_gb_edge(b, 4 * r, 4 * r + 1);
        mp_gb_edge(b, 4 * r, 4 * r + 2);
        mp_gb_edge(b, 4 * r + 1, 4 * r + 3);
        mp_gb_edge(b, 4 * r + 2, 4 * r + 3);
    }
    for (uint32_t r = 0; r < K; r++) {
        char name[16];
        snprintf(name, sizeof name, "g%u", r);
        add_root(b, MP_ROOT_GLOBAL, name, 4 * r);
    }
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nroots, K);
    mp_paths p;
    CHECK(mp_paths_compute(g, &p, &err) == 0);
    CHECK_EQ_U64(p.nreached, 4 * K);
    size_t bad_root = 0, bad_parent = 0;
    for (uint32_t o = 0; o < 4 * K; o++) {
        uint32_t r = o / 4, want = o % 4 == 0 ? MP_NONE : o % 4 == 3 ? o - 2 : o - o % 4;
        bad_root += p.root[o] != r;
        bad_parent += p.parent[o] != want;
    }
    CHECK_EQ_U64(bad_root, 0);
    CHECK_EQ_U64(bad_parent, 0);
    CHECK_EQ_U64(p.root[4 * (K - 1) + 3], K - 1); /* the last, past the runs kept */
    mp_paths_free(&p);
    mp_graph_free(g);
}

static void test_a_global_at_any_depth_beats_a_stack_word(void)
{
    /* stack -> M ; global -> A -> B -> C -> M ; pin -> D -> M ;
     * register -> X ; stack -> Y -> X */
    mp_graph_builder *b = mp_gb_new("x", "test");
    uint32_t o[9];
    for (int i = 0; i < 9; i++)
        o[i] = mp_gb_object(b, 0x1000 * (uint64_t)(i + 1), 8, MP_NONE, MP_NONE);
    uint32_t M = o[0], A = o[1], B = o[2], C = o[3], D = o[4], X = o[5], Y = o[6];
    mp_gb_edge(b, A, B);
    mp_gb_edge(b, B, C);
    mp_gb_edge(b, C, M);
    mp_gb_edge(b, D, M);
    mp_gb_edge(b, Y, X);
    add_root(b, MP_ROOT_STACK, "s", M);
    add_root(b, MP_ROOT_REGISTER, "rbx", X);
    add_root(b, MP_ROOT_PIN, "p", D);
    add_root(b, MP_ROOT_GLOBAL, "g", A);
    add_root(b, MP_ROOT_STACK, "s2", Y);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    mp_paths p;
    CHECK(mp_paths_compute(g, &p, &err) == 0);
    CHECK_EQ_U64(g->roots[p.root[M]].kind, MP_ROOT_GLOBAL); /* 4 steps beat 1 */
    CHECK_EQ_U64(p.parent[M], C);
    uint32_t chain[8];
    CHECK_EQ_U64(mp_paths_chain(g, &p, M, chain, 8), 4);
    CHECK_EQ_U64(chain[0], A);
    CHECK_EQ_U64(g->roots[p.root[D]].kind, MP_ROOT_PIN);
    CHECK_EQ_U64(g->roots[p.root[X]].kind, MP_ROOT_STACK); /* 2 steps beat a register's 1 */
    CHECK_EQ_U64(p.parent[X], Y);
    CHECK_EQ_U64(p.nreached, 7);
    mp_paths_free(&p);
    mp_graph_free(g);
}

/* The bytes reached and retained are those of reachable objects only, a
 * size of 4 GiB or more counted whole: garbage pointing into the live heap
 * counts for nothing, in the paths' total as in the retained sizes. */
static void test_reached_and_retained_bytes_skip_garbage(void)
{
    mp_graph_builder *b = mp_gb_new("x", "test");
    uint64_t big = (uint64_t)5 << 30;
    uint32_t A = mp_gb_object(b, 0x1000, 64, MP_NONE, MP_NONE);
    uint32_t C = mp_gb_object(b, 0x2000, 1000, MP_NONE, MP_NONE);
    uint32_t B = mp_gb_object(b, 0x10000, big, MP_NONE, MP_NONE);
    mp_gb_edge_at(b, A, B, 0);
    mp_gb_edge_at(b, C, A, 0);
    add_root(b, MP_ROOT_GLOBAL, "g", A);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    mp_paths p;
    CHECK(mp_paths_compute(g, &p, &err) == 0);
    CHECK_EQ_U64(p.nreached, 2);
    CHECK_EQ_U64(p.reached_bytes, 64 + big);
    mp_paths_free(&p);
    mp_dom d;
    CHECK(mp_dom_compute(g, &d, &err) == 0);
    CHECK_EQ_U64(d.retained[B], big);
    CHECK_EQ_U64(d.retained[A], 64 + big);
    CHECK_EQ_U64(d.retained[C], 0);
    CHECK_EQ_U64(d.retained[g->nobjects], 64 + big); /* the root's node */
    CHECK_EQ_U64(d.retained[d.super_root], 64 + big);
    mp_dom_free(&d);
    mp_graph_free(g);
}

static void test_path_steps_name_the_first_edge_taken(void)
{
    /* global -> A; A's edges in order: B, C, B, D; C -> D; D -> A (seen
     * already). B's step is A's first edge to it (rank 0, not 2), C's
     * rank 1, D's rank 3 (its parent is A, one step from the root, not C);
     * the root's target has no step. */
    mp_graph_builder *b = mp_gb_new("x", "test");
    uint32_t A = mp_gb_object(b, 0x1000, 64, MP_NONE, MP_NONE);
    uint32_t B = mp_gb_object(b, 0x2000, 8, MP_NONE, MP_NONE);
    uint32_t C = mp_gb_object(b, 0x3000, 8, MP_NONE, MP_NONE);
    uint32_t D = mp_gb_object(b, 0x4000, 8, MP_NONE, MP_NONE);
    mp_gb_edge_at(b, A, B, 0);
    mp_gb_edge_at(b, A, C, 8);
    mp_gb_edge_at(b, A, B, 16);
    mp_gb_edge_at(b, A, D, 24);
    mp_gb_edge_at(b, C, D, 0);
    mp_gb_edge_at(b, D, A, 0);
    add_root(b, MP_ROOT_GLOBAL, "g", A);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    mp_paths p;
    CHECK(mp_paths_compute(g, &p, &err) == 0);
    CHECK_EQ_U64(p.nreached, 4);
    CHECK_EQ_U64(p.reached_bytes, 88);
    CHECK_EQ_U64(p.via[A], MP_NONE);
    CHECK_EQ_U64(p.parent[B], A);
    CHECK_EQ_U64(p.via[B], 0);
    CHECK_EQ_U64(p.via[C], 1);
    CHECK_EQ_U64(p.parent[D], A);
    CHECK_EQ_U64(p.via[D], 3);
    CHECK_EQ_U64(mp_paths_via_offset(g, &p, D), 24);
    CHECK_EQ_U64(mp_paths_via_offset(g, &p, A), MP_NO_OFFSET);
    mp_paths_free(&p);
    mp_graph_free(g);
}

static void test_thread_roots_sort_by_thread_then_outer_frame(void)
{
    /* added interleaved: (thread 2, frame 0), (1, 0), (2, 3), (1, 2); the
     * order must not depend on the order they came in */
    mp_graph_builder *b = mp_gb_new("t", "test");
    uint32_t o = mp_gb_object(b, 0x1000, 16, MP_NONE, MP_NONE);
    const struct {
        uint32_t thread, frame;
        const char *name;
    } in[] = {{2, 0, "t2f0"}, {1, 0, "t1f0"}, {2, 3, "t2f3"}, {1, 2, "t1f2"}};
    for (int i = 0; i < 4; i++) {
        mp_root r = root_of_kind(b, MP_ROOT_STACK, in[i].name);
        r.thread = in[i].thread;
        r.frame = in[i].frame;
        r.target = o;
        mp_gb_root(b, &r, 0);
    }
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_STR_EQ(mp_str(g, g->roots[0].name), "t1f2");
    CHECK_STR_EQ(mp_str(g, g->roots[1].name), "t1f0");
    CHECK_STR_EQ(mp_str(g, g->roots[2].name), "t2f3");
    CHECK_STR_EQ(mp_str(g, g->roots[3].name), "t2f0");
    mp_graph_free(g);
}

/* A runtime that lists an open iterator's fields both as the iterator and
 * as the stack words they are: one word, one root, the iterator. A stack
 * word of the same address on another thread, or without an address, is
 * kept; so is a stack word next to the iterator. */
static void test_a_stack_word_that_is_an_iterator_root_is_the_iterator(void)
{
    mp_graph_builder *b = mp_gb_new("it", "test");
    uint32_t m = mp_gb_object(b, 0x1000, 48, MP_NONE, MP_NONE);
    uint32_t x = mp_gb_object(b, 0x2000, 16, MP_NONE, MP_NONE);
    const struct {
        mp_root_kind kind;
        uint32_t thread;
        uint64_t slot;
        uint32_t target;
        const char *name;
    } in[] = {{MP_ROOT_STACK, 2, 0x7000, m, "field"}, /* the iterator's own word */
              {MP_ROOT_STACK, 2, 0x7008, m, "next"},  /* a word beside it */
              {MP_ROOT_STACK, 3, 0x7000, x, "other"}, /* another thread's */
              {MP_ROOT_STACK, 2, 0, x, "unknown"},    /* no address known */
              {MP_ROOT_ITERATOR, 2, 0x7000, m, "iter"}, {MP_ROOT_ITERATOR, 2, 0, x, "iter0"}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        mp_root r = root_of_kind(b, in[i].kind, in[i].name);
        r.thread = in[i].thread;
        r.slot = in[i].slot;
        r.target = in[i].target;
        mp_gb_root(b, &r, 0);
    }
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nroots, 5);
    for (size_t i = 0; i < g->nroots; i++) CHECK(strcmp(mp_str(g, g->roots[i].name), "field") != 0);
    mp_paths p;
    CHECK(mp_paths_compute(g, &p, &err) == 0);
    /* the stack word beside the iterator still comes first for m */
    CHECK_STR_EQ(mp_str(g, g->roots[p.root[m]].name), "next");
    mp_paths_free(&p);
    mp_graph_free(g);
}

/* Edges gathered for mp_gb_edges_batch: objects first, first + 1, ... */
typedef struct edge_batch_buf {
    uint32_t first, counts[64];
    size_t n, ne;
    uint64_t tg[64 * 6], off[64 * 6];
} edge_batch_buf;

static void batch_add(mp_graph_builder *b, edge_batch_buf *bb, uint32_t v, size_t k,
                      const uint64_t *tg, const uint64_t *off)
{
    if (bb->n == 64) {
        mp_gb_edges_batch(b, bb->first, bb->n, bb->counts, bb->tg, bb->off);
        bb->n = bb->ne = 0;
    }
    if (bb->n == 0) bb->first = v;
    bb->counts[bb->n++] = (uint32_t)k;
    memcpy(bb->tg + bb->ne, tg, k * sizeof *tg);
    memcpy(bb->off + bb->ne, off, k * sizeof *off);
    bb->ne += k;
}

/* Whether direct_graph_rooted gives its edges in batches
 * (mp_gb_edges_batch) rather than object by object. */
static bool direct_batched;

/* A graph of n objects given the fast way (mp_gb_edges_begin/of), every
 * object's list in two calls (a list that goes on), edges pseudo-random;
 * with an entry per object of one map. Batched, a batch ends amid an
 * object's list now and then, and the next one goes on with it. */
static mp_graph *direct_graph_rooted(size_t n, size_t nroots, mf_error *err)
{
    mp_graph_builder *b = mp_gb_new("direct", "test");
    uint64_t *addr = malloc(n * sizeof *addr), *size = malloc(n * sizeof *size);
    uint32_t *type = malloc(n * sizeof *type);
    mp_gb_edges_begin(b, n);
    uint64_t tg[6], off[6];
    edge_batch_buf bb = {0};
    for (size_t v = 0; v < n; v++) {
        addr[v] = 0x10000 + 64 * (uint64_t)v;
        size[v] =
            v == n / 2 ? ((uint64_t)5 << 30) : 48; /* one object of 5 GiB (no overlap: last) */
        type[v] = MP_NONE;
        size_t k = v % 5;
        for (size_t j = 0; j < k; j++) {
            tg[j] = (v * 2654435761u + j * 40503u) % n;
            off[j] = 8 * j;
        }
        if (!direct_batched) {
            mp_gb_edges_of(b, (uint32_t)v, k / 2, tg, off);
            mp_gb_edges_of(b, (uint32_t)v, k - k / 2, tg + k / 2, off + k / 2);
        } else if (v % 7 == 3) { /* split across two batches */
            batch_add(b, &bb, (uint32_t)v, k / 2, tg, off);
            mp_gb_edges_batch(b, bb.first, bb.n, bb.counts, bb.tg, bb.off);
            bb.n = bb.ne = 0;
            batch_add(b, &bb, (uint32_t)v, k - k / 2, tg + k / 2, off + k / 2);
        } else {
            batch_add(b, &bb, (uint32_t)v, k, tg, off);
        }
    }
    if (bb.n) mp_gb_edges_batch(b, bb.first, bb.n, bb.counts, bb.tg, bb.off);
    size[n - 1] = (uint64_t)5 << 30;
    size[n / 2] = 48;
    mp_gb_adopt_objects(b, addr, size, type, n);
    mp_map m = {.header = 0,
                .address = addr[0],
                .key_kind = MP_KEY_INT,
                .key_numeric = 1,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .buckets = MP_NONE,
                .oldbuckets = MP_NONE};
    uint32_t mi = mp_gb_map(b, &m, NULL);
    for (size_t v = 0; v < n; v++) {
        mp_entry e = {.map = mi,
                      .bucket_obj = MP_NONE,
                      .bucket = v / 8,
                      .slot = (uint8_t)(v % 8),
                      .key = (uint64_t)(int64_t)(v * 31 - 1000),
                      .key_obj = MP_NONE,
                      .value_obj = (uint32_t)((v * 7) % n)};
        mp_gb_entry(b, &e);
    }
    for (size_t r = 0; r < nroots; r++) {
        mp_root rt = {.kind = (uint8_t)(r % MP_ROOT_NKINDS),
                      .target = (uint32_t)((r * 40503u + 7) % n)};
        mp_gb_root(b, &rt, 0);
    }
    mp_graph *g;
    return mp_gb_finish(b, &g, err) ? NULL : g;
}

static mp_graph *direct_graph(size_t n, mf_error *err)
{
    return direct_graph_rooted(n, 0, err);
}

/* The reverse lists of a graph, as one checksum and their exact order. */
static uint64_t reverse_digest(const mp_graph *g)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t v = 0; v < g->nobjects; v++)
        for (uint64_t e = mp_in_begin(g, v); e < mp_in_end(g, v); e++)
            h = (h ^ (g->in.adj[e] + v * 0x100000001ull)) * 1099511628211ull;
    return h;
}

/* Edges given object by object land in the graph's lists as they came
 * (a list given in two calls is one list), with their offsets; the reverse
 * lists are the same whatever the number of threads that place them, and
 * each lists its sources in increasing order. Edges given in batches
 * (every other run) give the same graph. */
static void test_edges_given_in_order_pack_directly_and_reverse_alike(void)
{
    size_t n = 20000;
    uint64_t digest[4];
    for (int t = 1; t <= 4; t++) {
        char v[8];
        snprintf(v, sizeof v, "%d", t);
        setenv("MAPROOT_THREADS", v, 1);
        direct_batched = t % 2 == 0;
        mf_error err;
        mp_graph *g = direct_graph(n, &err);
        if (!g) fprintf(stderr, "%s\n", err.msg);
        CHECK(g != NULL);
        digest[t - 1] = reverse_digest(g);
        uint64_t edges = 0;
        for (size_t u = 0; u < n; u++) {
            size_t k = u % 5;
            CHECK_EQ_U64(mp_out_end(g, u) - mp_out_begin(g, u), k);
            for (size_t j = 0; j < k; j++) {
                uint64_t e = mp_out_begin(g, u) + j;
                CHECK_EQ_U64(g->out.adj[e], (u * 2654435761u + j * 40503u) % n);
                CHECK_EQ_U64(mp_edge_offset(g, e), 8 * j);
            }
            for (uint64_t e = mp_in_begin(g, u); e + 1 < mp_in_end(g, u); e++)
                CHECK(g->in.adj[e] <= g->in.adj[e + 1]);
            edges += k;
        }
        CHECK_EQ_U64(g->nedges, edges);
        CHECK_EQ_U64(mp_in_end(g, n - 1), edges);
        /* a size of 4 GiB or more is kept aside */
        CHECK_EQ_U64(mp_obj_size(g, (uint32_t)(n - 1)), (uint64_t)5 << 30);
        CHECK_EQ_U64(mp_obj_size(g, (uint32_t)(n / 2)), 48);
        CHECK_EQ_U64(mp_graph_find(g, 0x10000 + 64 * (uint64_t)(n - 1) + ((uint64_t)4 << 30)),
                     n - 1);
        mp_graph_free(g);
    }
    unsetenv("MAPROOT_THREADS");
    direct_batched = false;
    for (int t = 1; t < 4; t++) CHECK_EQ_U64(digest[t], digest[0]);
}

/* The reverse lists placed in a block made ahead of the pass (its pages
 * faulted in meanwhile) are the ones the pass places in its own: a room
 * for the graph's edge count is taken (the lists are in its block, the
 * room left empty), a room for another count is not (the pass makes its
 * own block; the room's owner frees it). */
static void test_reverse_lists_fill_a_room_made_ahead(void)
{
    setenv("MAPROOT_THREADS", "2", 1);
    mf_error err;
    mp_graph *g = direct_graph(600000, &err); /* 1.2M edges: a block of 4.8 MB */
    CHECK(g != NULL);
    uint64_t want = reverse_digest(g);
    for (int fits = 0; fits < 2; fits++) {
        free(g->in.at);
        free(g->in.adj);
        CHECK(g->in.wraps == NULL); /* the reverse lists' starts are 32-bit */
        memset(&g->in, 0, sizeof g->in);
        mp_gl_in_room room;
        mp_gl_in_room_start(&room, fits ? g->nedges : g->nedges + 1);
        uint32_t *block = room.adj;
        CHECK(block != NULL);
        CHECK(mp_gl_build_reverse(g, &room, &err) == 0);
        CHECK_EQ_U64(reverse_digest(g), want);
        CHECK(fits ? g->in.adj == block : g->in.adj != block);
        CHECK(fits ? room.adj == NULL : room.adj == block);
        mp_gl_in_room_free(&room);
        CHECK(room.adj == NULL);
    }
    mp_graph_free(g);
    unsetenv("MAPROOT_THREADS");
}

/* The edge starts are 32-bit with the objects where they pass a multiple
 * of 2^32 noted: the accessor puts them together. */
static void test_edge_starts_past_four_billion_are_whole(void)
{
    uint32_t at[] = {0, 0xfffffff0u, 5, 10, 0xfffffffeu, 3};
    uint32_t wraps[] = {2, 5};
    mp_csr c = {.at = at, .wraps = wraps, .nwraps = 2};
    CHECK_EQ_U64(mp_csr_start(&c, 0), 0);
    CHECK_EQ_U64(mp_csr_start(&c, 1), 0xfffffff0u);
    CHECK_EQ_U64(mp_csr_start(&c, 2), ((uint64_t)1 << 32) + 5);
    CHECK_EQ_U64(mp_csr_start(&c, 4), ((uint64_t)1 << 32) + 0xfffffffeu);
    CHECK_EQ_U64(mp_csr_start(&c, 5), ((uint64_t)2 << 32) + 3);
}

/* Whether two entries say the same, field by field (their padding is
 * anything: memcmp would tell what the stack held before). */
static bool same_entry(const mp_entry *a, const mp_entry *b)
{
    return a->map == b->map && a->bucket_obj == b->bucket_obj && a->bucket == b->bucket &&
           a->overflow == b->overflow && a->slot == b->slot && a->old == b->old &&
           a->key == b->key && a->key_obj == b->key_obj && a->value_obj == b->value_obj;
}

/* Entries and offsets moved to the temporary file read back as they were
 * kept in memory. */
static void test_packed_tables_spilled_to_disk_read_back_alike(void)
{
    size_t n = 50000;
    mf_error err;
    mp_graph *mem = direct_graph(n, &err);
    CHECK(mem != NULL);
    setenv("MAPROOT_SPILL_BYTES", "1", 1);
    mp_graph *disk = direct_graph(n, &err);
    unsetenv("MAPROOT_SPILL_BYTES");
    CHECK(disk != NULL);
    CHECK(mem->entries.fd < 0 && disk->entries.fd >= 0);
    CHECK_EQ_U64(disk->nentries, n);
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, disk, 0);
    mp_entry a, b;
    char ka[32], kb[32];
    for (size_t i = 0; i < n; i++) {
        CHECK(mp_graph_entry(mem, i, &a));
        CHECK(mp_entry_next(&c, &b));
        CHECK(same_entry(&a, &b));
        CHECK_STR_EQ(mp_entry_key(mem, &a, ka, sizeof ka), mp_entry_key(disk, &b, kb, sizeof kb));
    }
    CHECK(!mp_entry_next(&c, &b));
    mp_entry_cursor_free(&c);
    CHECK(mp_graph_entry(disk, 123, &b));
    CHECK_STR_EQ(mp_entry_key(disk, &b, kb, sizeof kb), "2813"); /* 123 * 31 - 1000 */
    for (uint64_t e = 0; e < mem->nedges; e += 97)
        CHECK_EQ_U64(mp_edge_offset(mem, e), mp_edge_offset(disk, e));
    mp_graph_free(mem);
    mp_graph_free(disk);
}

/* A sliding window of entries hands every entry of a range over once, in
 * order: the entries not yet looked at move to the front, the window reads
 * on behind them and never past the count it was given (the next map's
 * entries stay with the cursor). Looked at here a few at a time, in steps
 * that do not divide the window, as the passes that fetch ahead do. */
static void test_entry_window_slides_over_a_range_once_in_order(void)
{
    size_t n = 1000;
    mf_error err;
    mp_graph *g = direct_graph(n, &err);
    CHECK(g != NULL);
    enum { CAP = 64, AHEAD = 5 };
    mp_entry es[CAP], want;
    memset(es, 0, sizeof es);
    mp_entry_cursor c;
    mp_entry_cursor_init(&c, g, 100);
    size_t left = 700, at = 0, got = 0, seen = 0, fills = 0;
    for (;;) {
        if (got - at <= AHEAD && left) {
            size_t pending = got - at;
            mp_entry first = es[at];
            got = mp_entry_window_fill(&c, es, CAP, &at, got, &left);
            fills++;
            CHECK_EQ_U64(at, 0);
            CHECK(got == CAP || !left);
            if (pending) CHECK(same_entry(&es[0], &first));
        }
        if (at == got) break;
        size_t stop = left ? got - AHEAD : got;
        for (size_t j = at; j < stop && j < at + 7; j++, seen++) {
            CHECK(mp_graph_entry(g, 100 + seen, &want));
            CHECK(same_entry(&es[j], &want));
        }
        at = at + 7 < stop ? at + 7 : stop;
    }
    CHECK_EQ_U64(seen, 700);
    CHECK_EQ_U64(left, 0);
    CHECK(fills > 700 / CAP);
    /* the cursor stopped where the range ends */
    CHECK(mp_entry_next(&c, &want));
    CHECK_EQ_U64(want.key, (uint64_t)(int64_t)(800 * 31 - 1000));
    mp_entry_cursor_free(&c);
    mp_graph_free(g);
}

/* The fast way refuses what it cannot pack: a list that goes back to an
 * earlier object, a target beyond the objects announced, a count of
 * objects that is not the one announced. */
static void test_edges_given_out_of_order_are_refused(void)
{
    for (int bad = 0; bad < 3; bad++) {
        mp_graph_builder *b = mp_gb_new("t", "test");
        uint64_t *addr = malloc(4 * sizeof *addr), *size = malloc(4 * sizeof *size);
        uint32_t *type = malloc(4 * sizeof *type);
        for (int i = 0; i < 4; i++)
            addr[i] = 0x1000 + 16 * (uint64_t)i, size[i] = 16, type[i] = MP_NONE;
        mp_gb_edges_begin(b, bad == 2 ? 5 : 4);
        uint64_t t[1] = {bad == 1 ? 9 : 1}, o[1] = {0};
        mp_gb_edges_of(b, 2, 1, t, o);
        if (bad == 0) mp_gb_edges_of(b, 0, 1, t, o); /* back to object 0 */
        mp_gb_adopt_objects(b, addr, size, type, 4);
        mp_graph *g;
        mf_error err;
        CHECK(mp_gb_finish(b, &g, &err) != 0);
    }
}

/* A map map[int64]V of header h and bucket array arr, its values of
 * value_size bytes (a bucket: tophash, 8 keys, 8 values, overflow). */
static uint32_t int_key_map(mp_graph_builder *b, uint32_t h, uint32_t arr, uint32_t B,
                            uint64_t count, uint32_t value_size)
{
    mp_map m = {.header = h,
                .B = B,
                .count = count,
                .buckets = arr,
                .oldbuckets = MP_NONE,
                .key_type = MP_NONE,
                .value_type = MP_NONE,
                .key_kind = MP_KEY_INT,
                .key_numeric = 1,
                .bucket_size = 8 + 8 * 8 + 8 * (uint64_t)value_size + 8,
                .key_size = 8,
                .value_size = value_size,
                .type_name = mp_gb_intern(b, "map[int64]V")};
    return mp_gb_map(b, &m, NULL);
}

/* A map of struct values with three pointer words (map[int64]struct{a, b,
 * c *T}: key slots of 8 bytes, value slots of 24) in one bucket array of
 * two 272-byte buckets; with_offsets: whether its edges say where they are. */
static mp_graph *struct_value_map(bool with_offsets, uint32_t *obj)
{
    mp_graph_builder *b = mp_gb_new("t", "test");
    uint32_t hdr_t = mp_gb_type(b, "hmap", 48, MP_TYPE_MAP_HEADER);
    uint32_t h = mp_gb_object(b, 0x1000, 48, hdr_t, MP_NONE);
    uint32_t arr = mp_gb_object(b, 0x2000, 2 * 272, MP_NONE, MP_NONE);
    for (int i = 0; i < 4; i++)
        obj[i] = mp_gb_object(b, 0x6000 + 0x1000 * (uint64_t)i, 64, MP_NONE, MP_NONE);
    uint32_t X = obj[0], Y = obj[1], Z = obj[2], W = obj[3];
    mp_gb_edge_at(b, h, arr, 16);
    /* bucket 0 slot 0: {Z, nil, nil}; bucket 1 slot 0: {X, Y, Z}; bucket 1
     * slot 1: {W, nil, X}. Values start 8 + 8 * 8 bytes into a bucket. */
    const struct {
        uint64_t off;
        uint32_t to;
    } e[] = {{72, Z}, {272 + 72, X}, {272 + 80, Y}, {272 + 88, Z}, {272 + 96, W}, {272 + 112, X}};
    for (size_t i = 0; i < sizeof e / sizeof *e; i++)
        if (with_offsets)
            mp_gb_edge_at(b, arr, e[i].to, e[i].off);
        else
            mp_gb_edge(b, arr, e[i].to);
    uint32_t mi = int_key_map(b, h, arr, 1, 3, 24); /* buckets of 272 bytes */
    for (uint64_t i = 0; i < 2; i++)
        mp_gb_bucket(
            b, &(mp_bucket){.map = mi, .obj = arr, .address = 0x2000 + 272 * i, .index = i}, 0);
    mp_entry en = {.map = mi, .bucket_obj = arr, .key_obj = MP_NONE};
    en.value_obj = Z;
    mp_gb_entry(b, &en);
    en.bucket = 1, en.value_obj = X;
    mp_gb_entry(b, &en);
    en.slot = 1, en.value_obj = W;
    mp_gb_entry(b, &en);
    mp_graph *g;
    mf_error err;
    return mp_gb_finish(b, &g, &err) ? NULL : g;
}

/* An entry holds every pointer of its value slot, each object once, when
 * the bucket's edges carry offsets; otherwise its value object alone. */
static void test_an_entry_holds_every_pointer_of_its_slots(void)
{
    for (int with = 1; with >= 0; with--) {
        uint32_t o[4];
        mp_graph *g = struct_value_map(with, o);
        CHECK(g != NULL);
        mp_entry_reader rd = MP_ENTRY_READER_INIT;
        uint32_t t[MP_ENTRY_MAX_TARGETS];
        size_t nk, n;
        const uint32_t want[3][3] = {{o[2]}, {o[0], o[1], o[2]}, {o[3], o[0]}};
        const size_t nwant[3] = {1, 3, 2};
        for (size_t i = 0; i < 3; i++) {
            mp_entry e;
            CHECK(mp_graph_entry(g, i, &e));
            n = mp_entry_targets(g, &rd, &e, t, NULL, &nk);
            CHECK_EQ_U64(nk, 0);
            CHECK_EQ_U64(n, with ? nwant[i] : 1);
            for (size_t k = 0; k < n; k++) CHECK_EQ_U64(t[k], want[i][k]);
        }
        /* a slot that does not hold the entry's own value: not this layout */
        mp_entry e;
        CHECK(mp_graph_entry(g, 1, &e));
        e.value_obj = o[3];
        n = mp_entry_targets(g, &rd, &e, t, NULL, &nk);
        CHECK_EQ_U64(n, 1);
        CHECK_EQ_U64(t[0], o[3]);
        mp_entry_reader_free(&rd);
        mp_graph_free(g);
    }
}

/*
 * Each entry's slots are found among the edges of a bucket array of
 * thousands, whatever order the entries are asked for in: on from the
 * last one, back from it, near or far (the reader starts its search where
 * it last stopped). 512 buckets of map[int64]struct{a, b, c *T}, two
 * slots in each, a slot's first word always a pointer and the others
 * pointers by a pattern.
 */
static void test_entry_slots_are_found_asked_in_any_order(void)
{
    enum { NB = 512, NOBJ = 97, BS = 272 };
    mp_graph_builder *b = mp_gb_new("t", "test");
    uint32_t hdr_t = mp_gb_type(b, "hmap", 48, MP_TYPE_MAP_HEADER);
    uint32_t h = mp_gb_object(b, 0x1000, 48, hdr_t, MP_NONE);
    uint32_t arr = mp_gb_object(b, 0x100000, (uint64_t)NB * BS, MP_NONE, MP_NONE);
    uint32_t obj[NOBJ];
    for (int i = 0; i < NOBJ; i++)
        obj[i] = mp_gb_object(b, 0x800000 + 0x100 * (uint64_t)i, 64, MP_NONE, MP_NONE);
    mp_gb_edge_at(b, h, arr, 16);
    /* the slots of bucket i, the pointers of each: in offset order */
    static uint32_t want[NB * 2][3];
    static size_t nwant[NB * 2];
    for (size_t i = 0; i < NB; i++)
        for (size_t k = 0; k < 2; k++) {
            size_t slot = k ? 4 + i % 4 : i % 4, x = 2 * i + k;
            for (size_t w = 0; w < 3; w++) {
                if (w && (i + slot + w) % 3 == 0) continue;
                uint32_t to = obj[(i * 7 + slot * 3 + w) % NOBJ];
                mp_gb_edge_at(b, arr, to, i * BS + 72 + slot * 24 + w * 8);
                bool seen = false;
                for (size_t j = 0; j < nwant[x]; j++) seen |= want[x][j] == to;
                if (!seen) want[x][nwant[x]++] = to;
            }
        }
    uint32_t mi = int_key_map(b, h, arr, 9, 2 * NB, 24);
    for (uint64_t i = 0; i < NB; i++)
        mp_gb_bucket(
            b, &(mp_bucket){.map = mi, .obj = arr, .address = 0x100000 + BS * i, .index = i}, 0);
    for (size_t x = 0; x < 2 * NB; x++) {
        size_t i = x / 2, slot = x % 2 ? 4 + i % 4 : i % 4;
        mp_gb_entry(b, &(mp_entry){.map = mi,
                                   .bucket_obj = arr,
                                   .bucket = (uint32_t)i,
                                   .slot = (uint8_t)slot,
                                   .key_obj = MP_NONE,
                                   .value_obj = want[x][0]});
    }
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nentries, 2 * NB);
    mp_entry_reader rd = MP_ENTRY_READER_INIT;
    /* on, back, and by strides that jump both ways */
    for (int order = 0; order < 3; order++)
        for (size_t q = 0; q < 2 * NB; q++) {
            size_t x = order == 0 ? q : order == 1 ? 2 * NB - 1 - q : q * 389 % (2 * NB);
            mp_entry e;
            CHECK(mp_graph_entry(g, x, &e));
            CHECK_EQ_U64(e.bucket, x / 2);
            uint32_t t[MP_ENTRY_MAX_TARGETS];
            size_t nk, n = mp_entry_targets(g, &rd, &e, t, NULL, &nk);
            CHECK_EQ_U64(nk, 0);
            CHECK_EQ_U64(n, nwant[x]);
            for (size_t k = 0; k < n && k < nwant[x]; k++) CHECK_EQ_U64(t[k], want[x][k]);
        }
    mp_entry_reader_free(&rd);
    mp_graph_free(g);
}

/* The paths of a and b (of the same graph) are the same, array by array. */
static void check_same_paths(const mp_graph *g, const mp_paths *a, const mp_paths *b)
{
    size_t n = g->nobjects;
    CHECK(memcmp(a->parent, b->parent, n * sizeof *a->parent) == 0);
    CHECK(memcmp(a->root, b->root, n * sizeof *a->root) == 0);
    CHECK(memcmp(a->via, b->via, n * sizeof *a->via) == 0);
    CHECK_EQ_U64(a->nreached, b->nreached);
    CHECK_EQ_U64(a->reached_bytes, b->reached_bytes);
}

/* The paths' steps out of parents and bytes reached as a plain walk finds
 * them: an object's step is the rank of its parent's first out edge to it
 * (none at a root, none unreached), and the bytes are those of every
 * reached object. The graph holds no buckets (no entry steps). */
static void check_steps_by_walk(const mp_graph *g, const mp_paths *p)
{
    uint64_t bytes = 0;
    size_t reached = 0;
    for (size_t o = 0; o < g->nobjects; o++) {
        uint32_t want = MP_NONE, v = p->parent[o];
        if (p->root[o] != MP_NONE) {
            reached++;
            bytes += mp_obj_size(g, (uint32_t)o);
        }
        if (v != MP_NONE) {
            uint64_t b = mp_out_begin(g, v);
            for (uint64_t e = b; e < mp_out_end(g, v) && want == MP_NONE; e++)
                if (g->out.adj[e] == o) want = (uint32_t)(e - b);
            CHECK(want != MP_NONE); /* a parent has an edge to its child */
        }
        CHECK_EQ_U64(p->via[o], want);
    }
    CHECK_EQ_U64(p->nreached, reached);
    CHECK_EQ_U64(p->reached_bytes, bytes);
}

/* The steps out of parents are set by object ranges shared among threads
 * once the search is done: on one thread and on two, over a graph of
 * several ranges, each step is its parent's first edge to the child, the
 * bytes reached are exact, and the paths are the same array for array. */
static void test_path_steps_in_ranges_on_threads_are_a_walks(void)
{
    mf_error err;
    mp_graph *g = direct_graph_rooted(300000, 40, &err);
    CHECK(g != NULL);
    mp_paths one, two;
    CHECK(setenv("MAPROOT_THREADS", "1", 1) == 0);
    CHECK(mp_paths_compute(g, &one, &err) == 0);
    CHECK(setenv("MAPROOT_THREADS", "2", 1) == 0);
    CHECK(mp_paths_compute(g, &two, &err) == 0);
    CHECK(unsetenv("MAPROOT_THREADS") == 0);
    CHECK(one.nreached > 50000); /* reached objects all over the ranges */
    check_steps_by_walk(g, &one);
    check_steps_by_walk(g, &two);
    check_same_paths(g, &one, &two);
    mp_paths_free(&one);
    mp_paths_free(&two);
    mp_graph_free(g);
}

/* One map of `entries` entries whose values are structs of two words
 * (each entry's targets are read from its bucket's edge offsets), every
 * value an object of its own, a root on the header; *nedges: the bucket
 * array's edges. */
static mp_graph *wide_struct_value_map(uint32_t entries, uint64_t *nedges)
{
    enum { BUCKET = 8 + 8 * 8 + 8 * 16 + 8 };
    uint32_t B = 0;
    while ((8u << B) < entries) B++;
    mp_graph_builder *b = mp_gb_new("t", "test");
    uint32_t hdr_t = mp_gb_type(b, "hmap", 48, MP_TYPE_MAP_HEADER);
    uint32_t h = mp_gb_object(b, 0x1000, 48, hdr_t, MP_NONE);
    uint32_t arr = mp_gb_object(b, 0x10000, (uint64_t)BUCKET << B, MP_NONE, MP_NONE);
    uint64_t vals = 0x10000 + ((uint64_t)BUCKET << B) + 0x1000;
    for (uint32_t i = 0; i < entries; i++)
        mp_gb_object(b, vals + 32 * (uint64_t)i, 32, MP_NONE, MP_NONE);
    mp_gb_edge_at(b, h, arr, 16);
    /* entry i: slot i % 8 of bucket i / 8, its value's first word */
    for (uint32_t i = 0; i < entries; i++)
        mp_gb_edge_at(b, arr, 2 + i, (uint64_t)BUCKET * (i / 8) + 72 + 16 * (i % 8));
    *nedges = entries;
    uint32_t mi = int_key_map(b, h, arr, B, entries, 16);
    for (uint32_t k = 0; k < (entries + 7) / 8; k++)
        mp_gb_bucket(
            b,
            &(mp_bucket){
                .map = mi, .obj = arr, .address = 0x10000 + (uint64_t)BUCKET * k, .index = k},
            0);
    for (uint32_t i = 0; i < entries; i++) {
        mp_entry en = {.map = mi,
                       .bucket_obj = arr,
                       .bucket = i / 8,
                       .slot = (uint8_t)(i % 8),
                       .key = i,
                       .key_obj = MP_NONE,
                       .value_obj = 2 + i};
        mp_gb_entry(b, &en);
    }
    add_root(b, MP_ROOT_GLOBAL, "cache", h);
    mp_graph *g;
    mf_error err;
    return mp_gb_finish(b, &g, &err) ? NULL : g;
}

/* The paths' steps from a map's entries decode the edge offsets of its
 * bucket array once per thread, however many ranges of entries the
 * threads take in turn: a map of millions of entries would otherwise be
 * decoded whole once per range, the work growing as the square of the
 * map. Every value's step is its entry's. */
static void test_entry_steps_decode_a_bucket_array_once_a_thread(void)
{
    mf_error err;
    uint64_t nedges;
    uint32_t entries = 300000; /* several ranges of entries */
    mp_graph *g = wide_struct_value_map(entries, &nedges);
    CHECK(g != NULL);
    for (unsigned threads = 1; threads <= 2; threads++) {
        CHECK(setenv("MAPROOT_THREADS", threads == 1 ? "1" : "2", 1) == 0);
        mp_paths p;
        uint64_t was = mp_entry_offsets_decoded();
        CHECK(mp_paths_compute(g, &p, &err) == 0);
        uint64_t decoded = mp_entry_offsets_decoded() - was;
        CHECK(decoded >= nedges);
        CHECK(decoded <= threads * nedges);
        for (uint32_t i = 0; i < entries; i += 997) {
            CHECK_EQ_U64(p.parent[2 + i], 1);
            CHECK_EQ_U64(p.via[2 + i], i);
        }
        mp_paths_free(&p);
    }
    CHECK(unsetenv("MAPROOT_THREADS") == 0);
    mp_graph_free(g);
}

/* The same graph built twice, once keeping the upper half of its 64-bit
 * size block for the paths (mp_paths_spare_ahead), once not. The spare is
 * kept (past the packed sizes, which are the same), the first search takes
 * it for one of its arrays, and its paths are the other graph's; a second
 * search makes arrays of its own. A graph whose spare no search took, and
 * paths freed before their graph, leak nothing (ASan). */
static void test_paths_in_the_size_block_change_nothing(void)
{
    mf_error err;
    size_t n = 300000;
    mp_graph *plain = direct_graph_rooted(n, 40, &err);
    mp_paths_spare_ahead(true);
    mp_graph *g = direct_graph_rooted(n, 40, &err), *untaken = direct_graph_rooted(1000, 3, &err);
    mp_paths_spare_ahead(false);
    CHECK(plain && g && untaken);
    CHECK(!plain->paths_spare);
    CHECK(g->paths_spare && g->paths_spare->at == g->size32 + n);
    CHECK(untaken->paths_spare && untaken->paths_spare->at);
    CHECK(memcmp(g->size32, plain->size32, n * sizeof *g->size32) == 0);
    CHECK_EQ_U64(g->nbig, plain->nbig);
    mp_paths want, p, again;
    CHECK(mp_paths_compute(plain, &want, &err) == 0);
    CHECK(!want.lent);
    CHECK(want.nreached > 1000); /* paths of many steps to compare */
    CHECK(mp_paths_compute(g, &p, &err) == 0);
    CHECK(p.lent && p.lent == p.root && !g->paths_spare->at);
    check_same_paths(g, &p, &want);
    CHECK(mp_paths_compute(g, &again, &err) == 0);
    CHECK(!again.lent);
    check_same_paths(g, &again, &want);
    mp_paths_free(&again);
    mp_paths_free(&p);
    CHECK(!p.lent);
    mp_paths_free(&want);
    mp_graph_free(plain);
    mp_graph_free(g);
    mp_graph_free(untaken);
}

/* The parents and roots a plain breadth-first search gives, one kind of
 * root after another in the graph's order (paths.h): parent and root are
 * filled for the graph's n objects. */
static void paths_by_plain_search(const mp_graph *g, uint32_t *parent, uint32_t *root)
{
    size_t n = g->nobjects, head = 0, tail = 0;
    uint32_t *queue = malloc((n ? n : 1) * sizeof *queue);
    CHECK(queue != NULL);
    for (size_t i = 0; i < n; i++) parent[i] = root[i] = MP_NONE;
    for (size_t r = 0; r < g->nroots;) {
        uint8_t kind = g->roots[r].kind;
        for (; r < g->nroots && g->roots[r].kind == kind; r++) {
            uint32_t t = g->roots[r].target;
            if (t == MP_NONE || root[t] != MP_NONE) continue;
            root[t] = (uint32_t)r;
            queue[tail++] = t;
        }
        while (head < tail) {
            uint32_t v = queue[head++];
            for (uint64_t e = mp_out_begin(g, v); e < mp_out_end(g, v); e++) {
                uint32_t w = g->out.adj[e];
                if (root[w] != MP_NONE) continue;
                root[w] = root[v];
                parent[w] = v;
                queue[tail++] = w;
            }
        }
    }
    free(queue);
}

/* The search keeps each object's parent beside its root, then beside its
 * step, and splits the pairs into the arrays by 2 MiB pages (524,288
 * objects a page) at the end: over a graph of two whole pages and part of
 * a third, on one thread and on two, every parent and root is a plain
 * search's and every step its parent's first edge to it; the parent and
 * via arrays are whole pages of the search's own, the root array the
 * graph's spare, and freeing them leaks nothing (ASan). */
static void test_paths_split_from_pairs_by_pages_are_a_plain_search(void)
{
    mf_error err;
    size_t page = ((size_t)2 << 20) / sizeof(uint32_t), n = 2 * page + 1234;
    mp_paths_spare_ahead(true);
    mp_graph *g = direct_graph_rooted(n, 40, &err);
    mp_paths_spare_ahead(false);
    CHECK(g != NULL);
    uint32_t *parent = malloc(n * sizeof *parent), *root = malloc(n * sizeof *root);
    CHECK(parent && root);
    paths_by_plain_search(g, parent, root);
    const char *threads[2] = {"1", "2"};
    for (int t = 0; t < 2; t++) {
        mp_paths p;
        CHECK(setenv("MAPROOT_THREADS", threads[t], 1) == 0);
        CHECK(mp_paths_compute(g, &p, &err) == 0);
        CHECK(p.nreached > n / 4); /* reached objects on every page */
        CHECK_EQ_U64(p.mapped, 3 * ((size_t)2 << 20));
        CHECK(t == 0 ? p.lent == p.root : !p.lent); /* the spare: the first search's */
        CHECK(memcmp(p.parent, parent, n * sizeof *parent) == 0);
        CHECK(memcmp(p.root, root, n * sizeof *root) == 0);
        check_steps_by_walk(g, &p);
        mp_paths_free(&p);
        CHECK(!p.parent && !p.root && !p.via && !p.mapped);
    }
    CHECK(unsetenv("MAPROOT_THREADS") == 0);
    free(parent);
    free(root);
    mp_graph_free(g);
}

/* Addresses are kept in halves: the low ones per object, the high ones by
 * runs. Objects on both sides of several 4 GiB lines (one across a line)
 * keep their addresses, and lookups find them from either side, over
 * objects given one at a time and handed over whole; the low halves take
 * 4 bytes an object, in a block shrunk to fit. */
static void test_addresses_across_4gib_lines_are_kept_in_halves(void)
{
    static const uint64_t at[] = {0xfffff000,  0xffffffe0,  0x100000100,
                                  0x2fffffff0, 0x300000000, 0x7ffff0000000ull};
    static const uint64_t sz[] = {16, 0x40, 8, 8, 0x20, 64};
    size_t k = sizeof at / sizeof *at;
    for (int adopt = 0; adopt < 2; adopt++) {
        mp_graph_builder *b = mp_gb_new("t", "test");
        if (adopt) {
            uint64_t *addr = malloc(k * sizeof *addr), *size = malloc(k * sizeof *size);
            uint32_t *type = malloc(k * sizeof *type);
            for (size_t i = 0; i < k; i++) addr[i] = at[i], size[i] = sz[i], type[i] = MP_NONE;
            mp_gb_adopt_objects(b, addr, size, type, k);
        } else {
            for (size_t i = k; i-- > 0;) mp_gb_object(b, at[i], sz[i], MP_NONE, MP_NONE);
        }
        mp_gb_edge_addr(b, 0x100000010, 0x300000008); /* interior, above the lines */
        mp_graph *g;
        mf_error err;
        CHECK(mp_gb_finish(b, &g, &err) == 0);
        CHECK_EQ_U64(g->nobjects, k);
        CHECK_EQ_U64(g->naddr_runs, 5); /* high halves 0, 1, 2, 3 and 0x7fff */
        for (size_t i = 0; i < k; i++) {
            CHECK_EQ_U64(mp_obj_addr(g, (uint32_t)i), at[i]);
            CHECK_EQ_U64(mp_graph_find(g, at[i]), i);
            CHECK_EQ_U64(mp_graph_find(g, at[i] + sz[i] - 1), i);
        }
        CHECK_EQ_U64(mp_graph_find(g, 0x100000000), 1); /* the object across the line */
        CHECK_EQ_U64(mp_graph_find(g, 0x100000020), MP_NONE);
        CHECK_EQ_U64(mp_graph_find(g, 0x200000000), MP_NONE); /* a region with no object */
        CHECK_EQ_U64(mp_graph_find(g, 0x300000020), MP_NONE);
        CHECK_EQ_U64(mp_graph_find(g, 0xffffefff), MP_NONE);
        CHECK_EQ_U64(mp_graph_find(g, 0x10), MP_NONE);
        CHECK_EQ_U64(mp_graph_find(g, UINT64_MAX), MP_NONE);
        CHECK_EQ_U64(g->nedges, 1);
        CHECK_EQ_U64(g->out.adj[mp_out_begin(g, 1)], 4);
        mp_graph_free(g);
    }
    /* many objects in one region: 4 bytes each, the 64-bit block given back */
    size_t n = 1 << 16;
    mp_graph_builder *b = mp_gb_new("t", "test");
    for (size_t i = 0; i < n; i++) mp_gb_object(b, 0x500000000 + 64 * i, 64, MP_NONE, MP_NONE);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->naddr_runs, 1);
    CHECK(malloc_usable_size(g->addr_lo) < n * sizeof(uint64_t) * 3 / 4);
    CHECK_EQ_U64(mp_obj_addr(g, (uint32_t)n - 1), 0x500000000 + 64 * (n - 1));
    CHECK_EQ_U64(mp_graph_find(g, 0x500000000 + 64 * 1000 + 3), 1000);
    mp_graph_free(g);
}

/* Writes a snapshot of one map whose second bucket record is overflow
 * bucket `depth` of bucket 0 (tmp file `path`); 0 or -1. */
static int write_deep_overflow(const char *path, uint32_t depth)
{
    mf_gs_header h = {.program = "/bin/prog", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(path, 1, &h, &err);
    if (!w) return -1;
    mf_gs_type hdr = {"hmap", 48, NULL, 0, MF_GS_KIND_STRUCT, 0};
    mf_gs_type bk = {"bucket", 64, NULL, 0, MF_GS_KIND_BUCKET, 0};
    uint32_t th = mf_gsw_type(w, &hdr), tb = mf_gsw_type(w, &bk);
    mf_gsw_object(w, 0x1000, 48, th + 1);
    mf_gsw_object(w, 0x2000, 64, tb + 1);
    mf_gsw_object(w, 0x3000, 64, tb + 1);
    uint64_t o[] = {16}, t[] = {0x2000};
    mf_gsw_edges(w, 0x1000, 1, o, t);
    mf_gsw_edges(w, 0x2000, 0, NULL, NULL);
    mf_gsw_edges(w, 0x3000, 0, NULL, NULL);
    mf_gs_root r = {.kind = MF_GS_ROOT_GLOBAL, .target = 0x1000, .slot = 0x600000, .name = "m"};
    mf_gsw_root(w, &r);
    mf_gs_map m = {.address = 0x1000,
                   .type_name = "map[int64]int64",
                   .key_kind = MF_GS_KEY_INT64,
                   .B = 0,
                   .buckets = 0x2000,
                   .bucket_size = 64,
                   .key_size = 8,
                   .value_size = 8,
                   .nbuckets_walked = 2,
                   .nentries = 0};
    mf_gsw_map(w, &m);
    mf_gsw_bucket(w, 0x2000, false, 0, 0, 0);
    mf_gsw_bucket(w, 0x3000, false, 0, depth, 0);
    uint64_t bytes;
    return mf_gsw_finish(w, &bytes, &err);
}

/* Bucket records take 28 bytes, their small fields in one word: the
 * deepest overflow bucket a record holds reads back whole, and a snapshot
 * naming a deeper one is refused with a message, never cut short. */
static void test_bucket_records_keep_overflow_depths_or_refuse_them(void)
{
    CHECK(sizeof(mp_bucket) == 28);
    char path[] = "/tmp/test_graph_deep_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(write_deep_overflow(path, MP_BUCKET_MAX_OVERFLOW) == 0);
    mp_graph *g;
    mf_error err;
    CHECK(mp_load_gcstack(path, NULL, &g, &err) == 0);
    CHECK_EQ_U64(g->nbuckets, 2);
    CHECK_EQ_U64(g->buckets[1].overflow, MP_BUCKET_MAX_OVERFLOW);
    CHECK_EQ_U64(g->buckets[1].obj, 2);
    CHECK_EQ_U64(g->buckets[1].address, 0x3000);
    CHECK(!g->buckets[1].old && !g->buckets[1].aux && g->buckets[1].nused == 0);
    mp_graph_free(g);
    CHECK(write_deep_overflow(path, MP_BUCKET_MAX_OVERFLOW + 1) == 0);
    CHECK(mp_load_gcstack(path, NULL, &g, &err) != 0);
    CHECK(strstr(err.msg, "is overflow bucket 67108864 of its chain, beyond 67108863") != NULL);
    unlink(path);
}

/* Each map keeps its own type name when the names come in runs and
 * come back: the loader keeps the last name it interned, and a name seen
 * before, then another, then the first again must not take the other's. */
/* The figures few maps have are set aside for those maps alone: a map
 * given none (or all 0) writes no record, one given some keeps them, and
 * one told them later (nan_keys) has them, or 0 when told 0 again. */
static void test_rare_map_figures_are_set_aside_for_their_maps_alone(void)
{
    enum { N = 6 };
    mp_graph_builder *b = mp_gb_new("aside", "gcstack");
    uint32_t k_of[N];
    for (uint32_t k = 0; k < N; k++) {
        uint32_t h = mp_gb_object(b, 0x1000 + k * 0x200, 48, MP_NONE, MP_NONE);
        uint32_t arr = mp_gb_object(b, 0x1100 + k * 0x200, 144, MP_NONE, MP_NONE);
        mp_gb_edge(b, h, arr);
        if (k < 4) {
            k_of[k] = int_key_map(b, h, arr, 0, 0, 8);
            continue;
        }
        mp_map m = {.header = h,
                    .buckets = arr,
                    .oldbuckets = MP_NONE,
                    .key_type = MP_NONE,
                    .value_type = MP_NONE,
                    .bucket_size = 144};
        mp_map_aside growing = {.nevacuate = 1, .noldbuckets = 2}, none = {0};
        k_of[k] = mp_gb_map(b, &m, k == 4 ? &growing : &none);
    }
    mp_gb_map_nan_keys(b, k_of[1], 0);
    mp_gb_map_nan_keys(b, k_of[2], 5);
    mp_gb_map_nan_keys(b, k_of[3], 2);
    mp_gb_map_nan_keys(b, k_of[3], 0);
    mp_graph *g;
    mf_error err;
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK_EQ_U64(g->nmaps, N);
    CHECK_EQ_U64(g->nmap_aside, 3);
    if (g->nmaps == N) {
        CHECK_EQ_U64(g->maps[0].aside, 0);
        CHECK_EQ_U64(g->maps[1].aside, 0);
        CHECK_EQ_U64(g->maps[5].aside, 0);
        CHECK(mp_map_aside_of(g, &g->maps[0]) == &mp_map_aside_none);
        CHECK_EQ_U64(mp_map_aside_of(g, &g->maps[2])->nan_keys, 5);
        CHECK(g->maps[3].aside != 0);
        CHECK_EQ_U64(mp_map_aside_of(g, &g->maps[3])->nan_keys, 0);
        CHECK_EQ_U64(mp_map_aside_of(g, &g->maps[4])->nevacuate, 1);
        CHECK_EQ_U64(mp_map_aside_of(g, &g->maps[4])->noldbuckets, 2);
        CHECK_EQ_U64(mp_map_aside_of(g, &g->maps[4])->nan_keys, 0);
        CHECK_EQ_U64(mp_map_aside_of(g, &g->maps[5])->noldbuckets, 0);
    }
    mp_graph_free(g);
}

static void test_map_type_names_in_runs_stay_each_maps_own(void)
{
    static const char *const names[] = {"map[int64]int64", "map[int64]int64", "map[string]*T",
                                        "map[int64]int64", "map[uint8]bool",  "map[uint8]bool",
                                        "map[string]*T"};
    enum { N = sizeof names / sizeof *names };
    char path[] = "/tmp/test_graph_names_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    mf_gs_header h = {.program = "/bin/prog", .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(path, 1, &h, &err);
    CHECK(w != NULL);
    for (uint64_t k = 0; k < N; k++) {
        mf_gsw_object(w, 0x1000 + k * 0x100, 48, 0);
        mf_gsw_object(w, 0x1040 + k * 0x100, 144, 0);
    }
    for (uint64_t k = 0; k < N; k++) {
        uint64_t o[] = {16}, t[] = {0x1040 + k * 0x100};
        mf_gsw_edges(w, 0x1000 + k * 0x100, 1, o, t);
        mf_gsw_edges(w, 0x1040 + k * 0x100, 0, NULL, NULL);
    }
    for (uint64_t k = 0; k < N; k++) {
        mf_gs_map m = {.address = 0x1000 + k * 0x100,
                       .type_name = names[k],
                       .key_kind = MF_GS_KEY_INT64,
                       .buckets = 0x1040 + k * 0x100,
                       .bucket_size = 144,
                       .key_size = 8,
                       .value_size = 8};
        mf_gsw_map(w, &m);
    }
    uint64_t bytes;
    CHECK(mf_gsw_finish(w, &bytes, &err) == 0);
    mp_graph *g;
    CHECK(mp_load_gcstack(path, NULL, &g, &err) == 0);
    CHECK_EQ_U64(g->nmaps, N);
    for (size_t k = 0; k < N && k < g->nmaps; k++)
        CHECK_STR_EQ(mp_str(g, g->maps[k].type_name), names[k]);
    CHECK_EQ_U64(g->nmap_aside, 0); /* maps not growing: nothing set aside */
    mp_graph_free(g);
    unlink(path);
}

/* The table positions of a graph of n objects whose table objects are
 * those with set(o): with the rank directory (mp_graph_table_rank) as
 * by the search over table_objs without it, for every object and past
 * the last. */
static void check_table_positions(size_t n, bool (*set)(size_t o, size_t n))
{
    mp_graph g = {.nobjects = n};
    g.table_bits = calloc(n / 8 + 1, 1);
    g.table_objs = malloc((n + 1) * sizeof *g.table_objs);
    CHECK(g.table_bits && g.table_objs);
    for (size_t o = 0; o < n; o++)
        if (set(o, n)) {
            g.table_bits[o >> 3] |= (uint8_t)(1u << (o & 7));
            g.table_objs[g.ntable_objs++] = (uint64_t)o << 32 | (o % 5);
        }
    size_t *want = malloc((n + 2) * sizeof *want);
    CHECK(want);
    for (size_t o = 0; o <= n; o++) want[o] = mp_graph_table_pos(&g, (uint32_t)o);
    uint32_t *rank = mp_graph_table_rank(&g);
    CHECK(rank != NULL);
    size_t found = 0;
    for (size_t o = 0; o <= n; o++) {
        CHECK(mp_graph_table_pos_ranked(&g, rank, (uint32_t)o) == want[o]);
        CHECK(mp_graph_table_pos_ranked(&g, NULL, (uint32_t)o) == want[o]);
        found += want[o] != SIZE_MAX;
        if (o < n && set(o, n)) CHECK(mp_graph_table_map(&g, (uint32_t)o) == o % 5);
    }
    CHECK(found == g.ntable_objs);
    CHECK(mp_graph_table_pos_ranked(&g, rank, MP_NONE) == SIZE_MAX);
    free(want);
    free(rank);
    free(g.table_objs);
    free(g.table_bits);
}

static bool none_set(size_t o, size_t n) { return (void)o, (void)n, false; }
static bool all_set(size_t o, size_t n) { return (void)o, (void)n, true; }
static bool first_set(size_t o, size_t n) { return (void)n, o == 0; }
static bool last_set(size_t o, size_t n) { return o + 1 == n; }
static bool word_edges_set(size_t o, size_t n) { return (void)n, o % 64 == 63 || o % 64 == 0; }
static bool odd_set(size_t o, size_t n) { return (void)n, o & 1; }
static bool sparse_set(size_t o, size_t n) { return (void)n, (o * 2654435761u) % 97 < 3; }

/* The rank directory answers as the search it replaces: no table object,
 * one (first, last), on the edges of its 64-object words, all of them,
 * every other one, a few scattered; heaps of one object, a word less one,
 * one, one more, two, and a bitmap whose last word is short. */
static void test_table_positions_by_rank_match_the_search(void)
{
    bool (*sets[])(size_t, size_t) = {none_set, all_set,  first_set, last_set,
                                      word_edges_set, odd_set, sparse_set};
    size_t sizes[] = {1, 7, 8, 63, 64, 65, 127, 128, 129, 1000, 4099};
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++)
        for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) check_table_positions(sizes[z], sets[k]);
    mp_graph empty = {0}; /* no objects, no bitmap: nothing to rank */
    CHECK(mp_graph_table_rank(&empty) == NULL);
    CHECK(mp_graph_table_pos_ranked(&empty, NULL, 0) == SIZE_MAX);
}

/* The records of keys[i * stride] ordered by (key, index), as a stable
 * sort gives them: the reference for mp_gl_order_by_key. */
static size_t order_by_reference(const uint32_t *keys, size_t stride, size_t n, uint32_t *ix)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (keys[i * stride] != MP_NONE) ix[m++] = (uint32_t)i;
    for (size_t i = 1; i < m; i++) { /* insertion: stable */
        uint32_t x = ix[i];
        size_t j = i;
        for (; j > 0 && keys[ix[j - 1] * stride] > keys[x * stride]; j--) ix[j] = ix[j - 1];
        ix[j] = x;
    }
    return m;
}

/* Records keyed by object are placed by their keys' ranks when every key
 * names a different object, and sorted otherwise (a key named twice, one
 * past the objects): either way the order is a stable sort's, records
 * without a key left out, and the bits are those of the keys. A rank off
 * by one, or the wrong record of two with one key first, fails here. */
static void test_records_ordered_by_key_as_a_sort_orders_them(void)
{
    enum { N = 3000, STRIDE = 3, NOBJ = 5000 };
    uint32_t *keys = malloc(N * STRIDE * sizeof *keys), *ix = malloc(N * sizeof *ix),
             *want = malloc(N * sizeof *want);
    uint8_t *bits = malloc(NOBJ / 8 + 1), *want_bits = malloc(NOBJ / 8 + 1);
    CHECK(keys && ix && want && bits && want_bits);
    for (int form = 0; form < 4; form++) {
        uint32_t x = 12345;
        for (size_t i = 0; i < N; i++) {
            x = x * 1103515245u + 12345u;
            /* distinct: a permutation of the objects 0, 1 .. (i * 7 mod NOBJ) */
            keys[i * STRIDE] = (uint32_t)(i * 1667 % NOBJ);
            keys[i * STRIDE + 1] = keys[i * STRIDE + 2] = x; /* other fields */
            if (i % 5 == 0) keys[i * STRIDE] = MP_NONE;
        }
        if (form == 1) keys[7 * STRIDE] = keys[2999 * STRIDE];     /* a key twice */
        if (form == 2) keys[11 * STRIDE] = NOBJ + 3;               /* not an object */
        if (form == 3) keys[3 * STRIDE] = keys[13 * STRIDE] = 17; /* twice, below */
        size_t m = 7;
        memset(bits, 0, NOBJ / 8 + 1);
        memset(want_bits, 0, NOBJ / 8 + 1);
        for (size_t i = 0; i < N; i++) {
            uint32_t o = keys[i * STRIDE];
            if (o < NOBJ) want_bits[o >> 3] |= (uint8_t)(1u << (o & 7));
        }
        CHECK(mp_gl_order_by_key(keys, STRIDE, N, NOBJ, ix, &m, bits) == 0);
        size_t wm = order_by_reference(keys, STRIDE, N, want);
        CHECK_EQ_U64(m, wm);
        CHECK(memcmp(ix, want, wm * sizeof *ix) == 0);
        CHECK(memcmp(bits, want_bits, NOBJ / 8 + 1) == 0);
        CHECK(mp_gl_order_by_key(keys, STRIDE, N, NOBJ, ix, &m, NULL) == 0);
        CHECK(memcmp(ix, want, wm * sizeof *ix) == 0);
    }
    free(keys), free(ix), free(want), free(bits), free(want_bits);
}

typedef struct rec3 {
    uint32_t tag, map, seq;
} rec3;

/* Records grouped by map, stably, each map's first record and count set
 * in its own words: records given in map order (maps without records
 * among them) are left in place, records out of order are moved; every
 * map's first and count match a count of its records. */
static void test_records_grouped_by_map_in_the_maps_own_words(void)
{
    enum { NMAPS = 40, N = 300 };
    mp_map *maps = calloc(NMAPS, sizeof *maps);
    rec3 *r = malloc(N * sizeof *r);
    CHECK(maps && r);
    for (int shuffled = 0; shuffled < 2; shuffled++) {
        for (size_t i = 0; i < N; i++) {
            /* maps 0, 3, 6 .. have none; shuffled: map order broken */
            uint32_t m = (uint32_t)(i * NMAPS / N);
            if (m % 3 == 0) m = m ? m - 1 : 1;
            if (shuffled) m = (uint32_t)((i * 7) % NMAPS) | 1;
            r[i] = (rec3){.tag = 0xabc, .map = m, .seq = (uint32_t)i};
            maps[i % NMAPS].first_bucket = maps[i % NMAPS].nbuckets = 999; /* stale */
        }
        CHECK(mp_gl_group_by_map(r, N, sizeof *r, offsetof(rec3, map), maps, NMAPS) == 0);
        size_t at = 0;
        for (size_t k = 0; k < NMAPS; k++) {
            CHECK_EQ_U64(maps[k].first_bucket, at);
            for (size_t i = 0; i < maps[k].nbuckets; i++) {
                CHECK_EQ_U64(r[at + i].map, k);
                CHECK(i == 0 || r[at + i].seq > r[at + i - 1].seq); /* stable */
            }
            at += maps[k].nbuckets;
        }
        CHECK_EQ_U64(at, N);
    }
    free(maps);
    free(r);
}

/* Maps whose headers lie in no order of theirs, two of them sharing a
 * bucket array: the table objects come out sorted by object, each once,
 * with the first map whose table holds it, and the table bits are theirs.
 * With the paths' spare as the builder's scratch the same, and the paths
 * searched after over the spare are a plain search's. */
static void test_map_tables_in_map_order_come_out_by_object(void)
{
    enum { NMAPS = 600 };
    for (int spare = 0; spare < 2; spare++) {
        mp_paths_spare_ahead(spare);
        mp_graph_builder *b = mp_gb_new("t", "test");
        uint32_t hdr_t = mp_gb_type(b, "hmap", 48, MP_TYPE_MAP_HEADER);
        uint32_t hdr[NMAPS], arr[NMAPS];
        for (size_t k = 0; k < NMAPS; k++) {
            size_t slot = (k * 389) % NMAPS; /* headers scattered over the heap */
            hdr[k] = mp_gb_object(b, 0x100000 + 0x100 * slot, 48, hdr_t, MP_NONE);
            arr[k] = mp_gb_object(b, 0x900000 + 0x400 * k, 208 + k, MP_NONE, MP_NONE);
        }
        uint32_t g0 = mp_gb_object(b, 0x10, 8, MP_NONE, MP_NONE);
        add_root(b, MP_ROOT_GLOBAL, "g", g0);
        mp_gb_edge(b, g0, hdr[5]);
        for (size_t k = 0; k < NMAPS; k++) {
            mp_gb_edge(b, hdr[k], arr[k]);
            if (k + 1 < NMAPS) mp_gb_edge(b, arr[k], hdr[k + 1]);
        }
        for (size_t k = 0; k < NMAPS; k++) {
            /* maps 10 and 20 share map 300's bucket array */
            uint32_t a = k == 10 || k == 20 ? arr[300] : arr[k];
            mp_map m = {.header = hdr[k],
                        .buckets = a,
                        .oldbuckets = MP_NONE,
                        .key_type = MP_NONE,
                        .value_type = MP_NONE,
                        .type_name = mp_gb_intern(b, "map[int]int")};
            uint32_t mi = mp_gb_map(b, &m, NULL);
            mp_gb_bucket(b, &(mp_bucket){.map = mi, .obj = a, .index = 0}, 0);
        }
        mp_graph *g;
        mf_error err;
        CHECK(mp_gb_finish(b, &g, &err) == 0);
        mp_paths_spare_ahead(false);
        CHECK(!spare || g->paths_spare);
        /* the first map of each object, by a walk of the maps in order */
        uint32_t *first = malloc(g->nobjects * sizeof *first);
        CHECK(first != NULL);
        for (size_t o = 0; o < g->nobjects; o++) first[o] = MP_NONE;
        for (size_t k = 0; k < g->nmaps; k++) {
            uint32_t os[2] = {g->maps[k].header, g->maps[k].buckets};
            for (int i = 0; i < 2; i++)
                if (first[os[i]] == MP_NONE) first[os[i]] = (uint32_t)k;
        }
        size_t at = 0;
        for (size_t o = 0; o < g->nobjects; o++) {
            CHECK_EQ_U64(mp_bit(g->table_bits, o), first[o] != MP_NONE);
            if (first[o] == MP_NONE) continue;
            CHECK(at < g->ntable_objs);
            CHECK_EQ_U64(g->table_objs[at] >> 32, o);
            CHECK_EQ_U64((uint32_t)g->table_objs[at], first[o]);
            CHECK_EQ_U64(mp_graph_table_map(g, (uint32_t)o), first[o]);
            at++;
        }
        CHECK_EQ_U64(at, g->ntable_objs);
        CHECK_EQ_U64(g->ntable_objs, 2 * NMAPS - 2); /* arr[10], arr[20] in no table */
        CHECK_EQ_U64(g->maps[20].table_objects, 2);
        CHECK_EQ_U64(g->maps[20].table_bytes, 48 + 208 + 300);
        for (size_t k = 0; k < g->nmaps; k++) {
            CHECK_EQ_U64(mp_graph_map_of_header(g, g->maps[k].header), k);
            CHECK(mp_graph_bucket_of(g, g->maps[k].buckets) != MP_NONE);
        }
        uint32_t *parent = malloc(g->nobjects * sizeof *parent),
                 *root = malloc(g->nobjects * sizeof *root);
        CHECK(parent && root);
        paths_by_plain_search(g, parent, root);
        mp_paths p;
        CHECK(mp_paths_compute(g, &p, &err) == 0);
        CHECK(!spare || p.lent);
        CHECK(memcmp(p.parent, parent, g->nobjects * sizeof *parent) == 0);
        CHECK(memcmp(p.root, root, g->nobjects * sizeof *root) == 0);
        mp_paths_free(&p);
        free(parent), free(root), free(first);
        mp_graph_free(g);
    }
}

/* Maps and bucket records given after the fast way's start
 * (mp_gb_edges_begin) are written into room for half the objects
 * announced, taken at once (the records then never move, which a virtual
 * machine makes a large block pay for); more than that grow the blocks as
 * before, and every map comes out as given either way. Under an
 * address-space limit no room is taken. */
static void test_maps_fill_room_taken_at_the_start_then_grow(void)
{
    enum { N = 1000, NMAPS = 700 };
    struct rlimit rl;
    bool limited = getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
    mp_graph_builder *b = mp_gb_new("maps-room", "test");
    CHECK(b);
    mp_gb_edges_begin(b, N);
    if (!limited) CHECK(mp_gb_map_room(b) >= N / 2 && mp_gb_bucket_room(b) >= N / 2);
    size_t room = mp_gb_map_room(b), broom = mp_gb_bucket_room(b);
    uint64_t *addr = malloc(N * sizeof *addr), *size = malloc(N * sizeof *size);
    uint32_t *type = malloc(N * sizeof *type);
    CHECK(addr && size && type);
    for (size_t v = 0; v < N; v++) {
        addr[v] = 0x10000 + 64 * (uint64_t)v;
        size[v] = 48;
        type[v] = MP_NONE;
    }
    for (size_t k = 0; k < NMAPS; k++) {
        mp_map m = {.header = (uint32_t)k,
                    .address = addr[k],
                    .count = k * 3,
                    .B = (uint32_t)(k % 9),
                    .key_type = MP_NONE,
                    .value_type = MP_NONE,
                    .buckets = (uint32_t)(N - 1 - k),
                    .oldbuckets = MP_NONE};
        CHECK(mp_gb_map(b, &m, NULL) == k);
        /* within the room the block is not grown */
        if (k + 1 <= room) CHECK(mp_gb_map_room(b) == room);
    }
    CHECK(mp_gb_map_room(b) >= NMAPS);
    /* a bucket record per map, its bucket array; within the room the
     * block stays, past it it grows */
    for (size_t k = 0; k < NMAPS; k++) {
        mp_bucket bk = {.map = (uint32_t)k, .obj = (uint32_t)(N - 1 - k), .nused = 1};
        mp_gb_bucket(b, &bk, 0);
        if (k + 1 <= broom) CHECK(mp_gb_bucket_room(b) == broom);
    }
    CHECK(mp_gb_bucket_room(b) >= NMAPS);
    mp_gb_adopt_objects(b, addr, size, type, N);
    mp_graph *g;
    mf_error err = {0};
    CHECK(mp_gb_finish(b, &g, &err) == 0);
    CHECK(g->nmaps == NMAPS);
    for (size_t k = 0; k < NMAPS; k++) {
        CHECK(g->maps[k].header == k && g->maps[k].address == 0x10000 + 64 * (uint64_t)k);
        CHECK(g->maps[k].count == k * 3 && g->maps[k].B == k % 9);
        CHECK(g->maps[k].buckets == N - 1 - k && g->maps[k].oldbuckets == MP_NONE);
        CHECK(g->maps[k].table_objects == 2 && g->maps[k].table_bytes == 96);
        CHECK(g->map_by_header[k] == k);
        CHECK(g->maps[k].nbuckets == 1 && g->buckets[g->maps[k].first_bucket].obj == N - 1 - k);
        CHECK(g->maps[k].nmain == 1);
    }
    mp_graph_free(g);
}

int main(void)
{
    TEST(test_unsorted_objects_are_renumbered_by_address);
    TEST(test_sorted_input_packs_edges_in_place);
    TEST(test_roots_are_sorted_by_priority_then_order);
    TEST(test_map_records_are_grouped_and_tables_measured);
    TEST(test_overlapping_objects_are_refused);
    TEST(test_bad_references_are_refused);
    TEST(test_strings_are_interned_and_keys_kept);
    TEST(test_paths_prefer_shorter_then_higher_priority_roots);
    TEST(test_a_global_at_any_depth_beats_a_stack_word);
    TEST(test_each_object_takes_its_parents_root_among_many_roots);
    TEST(test_path_steps_name_the_first_edge_taken);
    TEST(test_reached_and_retained_bytes_skip_garbage);
    TEST(test_thread_roots_sort_by_thread_then_outer_frame);
    TEST(test_a_stack_word_that_is_an_iterator_root_is_the_iterator);
    TEST(test_edges_given_in_order_pack_directly_and_reverse_alike);
    TEST(test_reverse_lists_fill_a_room_made_ahead);
    TEST(test_edge_starts_past_four_billion_are_whole);
    TEST(test_packed_tables_spilled_to_disk_read_back_alike);
    TEST(test_entry_window_slides_over_a_range_once_in_order);
    TEST(test_edges_given_out_of_order_are_refused);
    TEST(test_an_entry_holds_every_pointer_of_its_slots);
    TEST(test_entry_slots_are_found_asked_in_any_order);
    TEST(test_paths_in_the_size_block_change_nothing);
    TEST(test_path_steps_in_ranges_on_threads_are_a_walks);
    TEST(test_entry_steps_decode_a_bucket_array_once_a_thread);
    TEST(test_paths_split_from_pairs_by_pages_are_a_plain_search);
    TEST(test_addresses_across_4gib_lines_are_kept_in_halves);
    TEST(test_bucket_records_keep_overflow_depths_or_refuse_them);
    TEST(test_table_positions_by_rank_match_the_search);
    TEST(test_maps_fill_room_taken_at_the_start_then_grow);
    TEST(test_records_ordered_by_key_as_a_sort_orders_them);
    TEST(test_records_grouped_by_map_in_the_maps_own_words);
    TEST(test_map_tables_in_map_order_come_out_by_object);
    TEST(test_map_type_names_in_runs_stay_each_maps_own);
    TEST(test_rare_map_figures_are_set_aside_for_their_maps_alone);
    TEST_EXIT();
}
