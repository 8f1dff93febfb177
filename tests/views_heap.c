/*
 * tests/views_heap.c -- a small heap built to know every answer of the
 * views (`maproot analyze --by type`, `--dominators`, `maproot path`),
 * written with the snapshot writer itself. tests/test_views.sh checks the
 * figures below exactly.
 *
 *   global registry -> Registry 0x1000 (64) -> Cache 0x2000 (32)
 *                                             -> map header 0x4000 (48)
 *                                             -> []bucket 0x5000 (416)
 *                                                  "alice" -> Session 0x6000 (96)
 *                                                  "bob"   -> Session 0x6100 (96)
 *                      Registry -> List 0x3000 (16) -> Node 0x8000 (24)
 *                                  -> Node 0x8020 -> Node 0x8040 -> Session 0x6100
 *   Session 0x6000 -> Blob 0x7000 (1000), User 0x9000 (40)
 *   Session 0x6100 -> Blob 0x7400 (1000)
 *   stack: thread 1, frame #0 main -> User 0x9000 (two words of the frame:
 *          one root, which the views name once)
 *
 * Heap 2880 bytes in 13 objects. Retained: Registry 2840 (all but the
 * User, which the stack word keeps too), Cache 1592, the map header 1560,
 * the bucket array 1512, each Session 1096 (the second is reached through
 * the list as well: Registry dominates it), List 88, the Nodes 72, 48, 24.
 *
 * usage: views_heap FILE
 */
#include "format/gcstack_writer.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: views_heap FILE\n");
        return 2;
    }
    mf_gs_header h = {.program = "/usr/bin/views", .pid = 7, .gc_cycle = 3, .pointer_size = 8};
    mf_error err;
    mf_gs_writer *w = mf_gsw_open(argv[1], 1, &h, &err);
    if (!w) {
        fprintf(stderr, "views_heap: %s\n", err.msg);
        return 1;
    }
    static const uint32_t p0[] = {0}, p01[] = {0, 8}, p8[] = {8}, p16[] = {16};
    mf_gs_type bucket = {"bucket", 208, NULL, 0, MF_GS_KIND_BUCKET, 0};
    uint32_t tb = mf_gsw_type(w, &bucket);
    mf_gs_type types[] = {{"Registry", 64, p01, 2, MF_GS_KIND_STRUCT, 0},
                          {"Cache", 32, p0, 1, MF_GS_KIND_STRUCT, 0},
                          {"map.hdr", 48, p16, 1, MF_GS_KIND_MAP_HEADER, 0},
                          {"[]bucket", 208, NULL, 0, MF_GS_KIND_ARRAY, tb + 1},
                          {"Session", 96, p01, 2, MF_GS_KIND_STRUCT, 0},
                          {"Blob", 1, NULL, 0, MF_GS_KIND_BLOB, 0},
                          {"List", 16, p0, 1, MF_GS_KIND_STRUCT, 0},
                          {"Node", 24, p01, 2, MF_GS_KIND_STRUCT, 0},
                          {"User", 40, NULL, 0, MF_GS_KIND_STRUCT, 0},
                          /* another module's Node: one type of the views */
                          {"Node", 24, p8, 1, MF_GS_KIND_STRUCT, 0}};
    enum { REGISTRY, CACHE, HDR, ARRAY, SESSION, BLOB, LIST, NODE, USER, NODE2, NT };
    uint32_t t[NT];
    for (int i = 0; i < NT; i++) t[i] = mf_gsw_type(w, &types[i]) + 1;
    struct {
        uint64_t addr, size;
        uint32_t type;
    } objs[] = {{0x1000, 64, t[REGISTRY]}, {0x2000, 32, t[CACHE]},  {0x3000, 16, t[LIST]},
                {0x4000, 48, t[HDR]},      {0x5000, 416, t[ARRAY]}, {0x6000, 96, t[SESSION]},
                {0x6100, 96, t[SESSION]},  {0x7000, 1000, t[BLOB]}, {0x7400, 1000, t[BLOB]},
                {0x8000, 24, t[NODE]},     {0x8020, 24, t[NODE]},   {0x8040, 24, t[NODE2]},
                {0x9000, 40, t[USER]}};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        mf_gsw_object(w, objs[i].addr, objs[i].size, objs[i].type);
    /* edges, object by object in address order */
    uint64_t o_reg[] = {0, 8}, t_reg[] = {0x2000, 0x3000};
    uint64_t o0[] = {0}, t_cache[] = {0x4000}, t_list[] = {0x8000};
    uint64_t o16[] = {16}, t_hdr[] = {0x5000};
    uint64_t o_arr[] = {136, 368},
             t_arr[] = {0x6000, 0x6100}; /* bucket 0 slot 0, bucket 1 slot 3 */
    uint64_t o_s1[] = {0, 8}, t_s1[] = {0x7000, 0x9000};
    uint64_t t_s2[] = {0x7400};
    uint64_t t_n1[] = {0x8020}, t_n2[] = {0x8040};
    uint64_t o_n3[] = {8}, t_n3[] = {0x6100};
    mf_gsw_edges(w, 0x1000, 2, o_reg, t_reg);
    mf_gsw_edges(w, 0x2000, 1, o0, t_cache);
    mf_gsw_edges(w, 0x3000, 1, o0, t_list);
    mf_gsw_edges(w, 0x4000, 1, o16, t_hdr);
    mf_gsw_edges(w, 0x5000, 2, o_arr, t_arr);
    mf_gsw_edges(w, 0x6000, 2, o_s1, t_s1);
    mf_gsw_edges(w, 0x6100, 1, o0, t_s2);
    mf_gsw_edges(w, 0x7000, 0, NULL, NULL);
    mf_gsw_edges(w, 0x7400, 0, NULL, NULL);
    mf_gsw_edges(w, 0x8000, 1, o0, t_n1);
    mf_gsw_edges(w, 0x8020, 1, o0, t_n2);
    mf_gsw_edges(w, 0x8040, 1, o_n3, t_n3);
    mf_gsw_edges(w, 0x9000, 0, NULL, NULL);
    mf_gs_symbol sy = {0x401000, "main", "heap.c", 30};
    uint32_t sym = mf_gsw_symbol(w, &sy);
    mf_gs_root global = {.kind = MF_GS_ROOT_GLOBAL,
                         .target = 0x1000,
                         .slot = 0x600000,
                         .name = "registry",
                         .file = "heap.c",
                         .line = 5};
    mf_gs_root stack = {.kind = MF_GS_ROOT_STACK,
                        .target = 0x9000,
                        .slot = 0x7ffc0000,
                        .thread = 1,
                        .frame = 0,
                        .symbol = sym + 1,
                        .function = "main"};
    mf_gs_root stack2 = stack; /* a second word of the same frame: one root still */
    stack2.slot = 0x7ffc0008;
    mf_gsw_root(w, &global);
    mf_gsw_root(w, &stack);
    mf_gsw_root(w, &stack2);
    mf_gs_map m = {.address = 0x4000,
                   .type_name = "map[string]*Session",
                   .key_kind = MF_GS_KEY_STRING,
                   .value_type = t[SESSION],
                   .count = 2,
                   .B = 1,
                   .buckets = 0x5000,
                   .bucket_size = 208,
                   .key_size = 16,
                   .value_size = 8,
                   .nbuckets_walked = 2,
                   .nentries = 2};
    mf_gsw_map(w, &m);
    mf_gsw_bucket(w, 0x5000, false, 0, 0, 0x01);
    mf_gs_entry alice = {.slot = 0,
                         .tophash = 9,
                         .key_text = "\"alice\"",
                         .key_text_len = 7,
                         .value_object = 0x6000};
    mf_gsw_entry(w, &alice);
    mf_gsw_bucket(w, 0x50d0, false, 1, 0, 0x08);
    mf_gs_entry bob = {
        .slot = 3, .tophash = 10, .key_text = "\"bob\"", .key_text_len = 5, .value_object = 0x6100};
    mf_gsw_entry(w, &bob);
    if (mf_gsw_finish(w, NULL, &err)) {
        fprintf(stderr, "views_heap: %s\n", err.msg);
        return 1;
    }
    return 0;
}
