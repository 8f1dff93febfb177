/*
 * tests/test_gc.c -- the allocator, types, roots and the collector.
 *
 * Objects are made unreachable by overwriting every copy of their address:
 * with a conservative stack scan a stale copy in a dead stack slot could keep
 * an object alive, so helpers run in noinline frames and the test wipes the
 * stack area below it (clobber_stack) before collecting.
 */
#include "check.h"
#include "hold_registers.h"
#include "maproot/rt.h"
#include "rt/heap.h"
#include "rt/internal.h"
#include "rt/mark.h"
#include "rt/thread.h"
#include "smaps.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct Node {
    struct Node *next;
    int64_t value;
    mr_str name;
} Node;

MR_TYPE(node_type, Node, MR_FIELD(Node, next), MR_FIELD(Node, name));

typedef struct Plain {
    int64_t a, b, c;
} Plain;
MR_TYPE_NOPTR(plain_type, Plain);

static Node *global_list;
MR_GLOBAL(global_list)

/* Overwrites a few KiB of stack below the caller so stale pointers die. */
__attribute__((noinline)) static void clobber_stack(void)
{
    volatile char buf[16384];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = 0;
}

/* On a failed reclamation check: which roots point at p (to tell a real
 * leak from a stale conservative word). */
static void print_root_of(const mr_root *r, void *ud)
{
    if (r->target == ud)
        fprintf(stderr, "  retained by root kind %d slot %p name %s function %s frame %u\n",
                (int)r->kind, r->slot, r->name ? r->name : "-", r->function ? r->function : "-",
                r->frame);
}

static void *explain_target;
static void print_edge_to(void *obj, size_t off, void *to, void *ud)
{
    (void)ud;
    if (to == explain_target) fprintf(stderr, "  referenced from object %p +%zu\n", obj, off);
}
static void edges_of(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    (void)size, (void)t, (void)count;
    mr_walk_edges(obj, print_edge_to, ud);
}

__attribute__((noinline)) static void explain(void *p)
{
    mr_stop_the_world();
    explain_target = p;
    mr_walk_objects(false, edges_of, NULL);
    mr_walk_roots(true, print_root_of, p);
    mr_start_the_world();
}

static uint64_t live_objects(void)
{
    mr_memstats s;
    mr_read_memstats(&s);
    return s.heap_objects;
}

/*
 * Runs fn on a thread of its own and waits for it. A thread that has exited
 * leaves no stack or registers behind, so whatever it allocated and dropped
 * is certainly unreachable: the reliable way to test reclamation under a
 * conservative stack scan (a stale copy of a pointer in a dead slot or a
 * callee-saved register of this thread would otherwise keep it alive).
 */
static void *thread_main(void *arg)
{
    ((void (*)(void))arg)();
    return NULL;
}

static void in_thread(void (*fn)(void))
{
    /* A stack of its own, fresh from the kernel: glibc would otherwise reuse
     * an exited thread's stack, stale words and all. */
    size_t size = 16u << 20;
    void *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) abort();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, size);
    pthread_t th;
    pthread_create(&th, &attr, thread_main, (void *)fn);
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
    pthread_attr_destroy(&attr);
    munmap(stack, size);
}

__attribute__((noinline)) static void collect(void)
{
    clobber_stack();
    mr_gc();
}

static void test_alloc_returns_zeroed_typed_objects(void)
{
    Node *n = mr_new(&node_type);
    CHECK(n != NULL);
    CHECK(n->next == NULL && n->value == 0 && n->name.ptr == NULL);
    void *start;
    CHECK(mr_object_type(n, &start) == &node_type);
    CHECK(start == n);
    CHECK(mr_object_type((char *)n + 8, &start) == &node_type); /* interior */
    CHECK(start == n);
    CHECK(mr_object_size(n) >= sizeof(Node));
    int64_t *arr = mr_new_array(&mr_type_int64, 1000);
    for (int i = 0; i < 1000; i++) CHECK(arr[i] == 0);
    char *big = mr_alloc_blob(1 << 20); /* large object */
    CHECK(big[0] == 0 && big[(1 << 20) - 1] == 0);
    CHECK(mr_object_size(big) >= (1u << 20));
    int x;
    CHECK(mr_object_type(&x, NULL) == NULL);
}

/* The heap's arena is not advised huge pages (heap.c says why: on a
 * virtual machine a fresh huge page costs eight times its small pages). */
static void test_the_heap_asks_for_no_huge_pages(void)
{
    char *big = mr_alloc_blob(8 << 20);
    CHECK(big != NULL);
    int hg = smaps_mapping_has_flag(big, "hg");
    if (hg < 0) fprintf(stderr, "  (no VmFlags in /proc/self/smaps: the advice not checked)\n");
    CHECK(hg <= 0);
}

static void test_strings_are_heap_objects(void)
{
    mr_str s = mr_str_printf("user-%d", 42);
    CHECK(s.len == 7);
    CHECK(memcmp(s.ptr, "user-42", 7) == 0 && s.ptr[7] == 0);
    CHECK(mr_str_eq(s, mr_str_from("user-42")));
    CHECK(!mr_str_eq(s, mr_str_from("user-43")));
    CHECK(mr_object_type(s.ptr, NULL)->kind == MR_KIND_STRING);
}

__attribute__((noinline)) static void make_garbage(int n)
{
    for (int i = 0; i < n; i++) {
        Plain *p = mr_new(&plain_type);
        p->a = i;
    }
}

static void make_100k_garbage(void)
{
    make_garbage(100000);
}

static void test_unreachable_objects_are_reclaimed(void)
{
    collect();
    uint64_t before = live_objects();
    in_thread(make_100k_garbage);
    CHECK(live_objects() >= before + 100000);
    collect();
    CHECK(live_objects() < before + 100);
}

__attribute__((noinline)) static void build_global_list(int n)
{
    for (int i = 0; i < n; i++) {
        Node *x = mr_new(&node_type);
        x->value = i;
        x->name = mr_str_printf("node-%d", i);
        x->next = global_list;
        global_list = x;
    }
}

static void build_50k_list(void)
{
    build_global_list(50000);
}

static int list_intact;

/* Walks global_list checking every node's value and name. */
static void check_list(void)
{
    int64_t expect = 49999;
    int count = 0;
    list_intact = 0;
    for (Node *x = global_list; x; x = x->next, expect--, count++) {
        char want[32];
        snprintf(want, sizeof want, "node-%d", (int)expect);
        if (x->value != expect || strcmp(x->name.ptr, want) != 0) return;
    }
    list_intact = count == 50000;
}

static void test_global_keeps_its_list_alive(void)
{
    in_thread(build_50k_list);
    collect();
    collect();
    in_thread(check_list);
    CHECK(list_intact);
    uint64_t with = live_objects();
    global_list = NULL;
    collect();
    CHECK(live_objects() + 100000 <= with);
}

/* A local variable is a root while its frame is live. */
__attribute__((noinline)) static void local_survives(void)
{
    Node *volatile local = mr_new(&node_type);
    local->value = 77;
    local->name = mr_str_from("local");
    collect();
    collect();
    CHECK(local->value == 77);
    CHECK(strcmp(local->name.ptr, "local") == 0);
    void *start;
    CHECK(mr_object_type(local, &start) == &node_type);
}

static void *saved_address;
__attribute__((noinline)) static void local_then_return(void)
{
    Node *volatile local = mr_new(&node_type);
    local->value = 5;
    saved_address = (void *)((uintptr_t)local ^ 0x5555); /* hidden from the GC */
}

static void test_local_variable_is_a_root_until_its_frame_is_gone(void)
{
    local_survives();
    local_then_return();
    void *p = (void *)((uintptr_t)saved_address ^ 0x5555);
    CHECK(mr_object_type(p, NULL) == &node_type);
    p = NULL;
    collect();
    p = (void *)((uintptr_t)saved_address ^ 0x5555);
    if (EXACT_RECLAIM) CHECK(mr_object_type(p, NULL) == NULL); /* reclaimed */
}

static mr_pin_handle pin_handle;
static int pinned_value;

static void pin_one(void)
{
    Node *n = mr_new(&node_type);
    n->value = 9;
    saved_address = (void *)((uintptr_t)n ^ 0x5555);
    pin_handle = mr_pin(n, "test pin");
}

static void read_pinned(void)
{
    Node *n = mr_pinned(pin_handle);
    pinned_value = n ? (int)n->value : -1;
}

static void test_pin_keeps_object_alive_until_unpinned(void)
{
    in_thread(pin_one);
    collect();
    in_thread(read_pinned);
    CHECK(pinned_value == 9);
    mr_unpin(pin_handle);
    collect();
    void *obj = (void *)((uintptr_t)saved_address ^ 0x5555);
    if (EXACT_RECLAIM && mr_object_type(obj, NULL)) explain(obj);
    if (EXACT_RECLAIM) CHECK(mr_object_type(obj, NULL) == NULL);
}

/*
 * A global whose registration has ended is no root, and a collection does
 * not read it: a library unloaded by dlclose takes its variables (and the
 * names registered with them) out of the address space. The variable here
 * lives in a page of its own, unmapped once its registration has ended; a
 * second registration of the same address outlives the end of the first.
 */
static void **lib_slot;

static void fill_lib_slot(void)
{
    Node *x = mr_new(&node_type);
    x->value = 31;
    *lib_slot = x;
    saved_address = (void *)((uintptr_t)x ^ 0x5555);
}

static bool lib_slot_intact;

static void check_lib_slot(void)
{
    Node *x = *lib_slot;
    lib_slot_intact = mr_object_type(x, NULL) == &node_type && x->value == 31;
}

static void count_lib_roots(const mr_root *r, void *ud)
{
    if (r->kind == MR_ROOT_GLOBAL && strcmp(r->name, "lib_cache") == 0) ++*(int *)ud;
}

static void test_unregistered_global_is_no_root(void)
{
    lib_slot = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(lib_slot != MAP_FAILED);
    mr_register_global(lib_slot, "lib_cache", "lib.c", 1);
    mr_register_global(lib_slot, "lib_cache", "lib.c", 1);
    in_thread(fill_lib_slot);
    mr_unregister_global(lib_slot); /* the other registration still holds it */
    collect();
    in_thread(check_lib_slot);
    CHECK(lib_slot_intact);
    mr_unregister_global(lib_slot);
    mr_unregister_global(lib_slot); /* no longer registered: nothing happens */
    munmap(lib_slot, 4096);
    collect(); /* reading the unmapped variable would fault */
    void *obj = (void *)((uintptr_t)saved_address ^ 0x5555);
    if (EXACT_RECLAIM) CHECK(mr_object_type(obj, NULL) == NULL);
    int named = 0; /* the walk must not read the variable either */
    mr_stop_the_world();
    mr_walk_roots(false, count_lib_roots, &named);
    mr_start_the_world();
    CHECK(named == 0);
}

/* A 10-million-long chain must be marked without recursion. */
static size_t chain_length;

static void build_chain(void)
{
    Node *head = NULL;
    for (int i = 0; i < 10000000; i++) {
        Node *x = mr_new(&node_type);
        x->next = head;
        head = x;
    }
    global_list = head;
}

static void count_chain(void)
{
    chain_length = 0;
    for (Node *x = global_list; x; x = x->next) chain_length++;
}

static void test_ten_million_long_chain_is_marked(void)
{
    in_thread(build_chain);
    collect();
    in_thread(count_chain);
    CHECK_EQ_U64(chain_length, 10000000);
    global_list = NULL;
    collect();
    uint64_t left = live_objects();
    if (left >= 1000) fprintf(stderr, "live after dropping the chain: %" PRIu64 "\n", left);
    CHECK(left < 10000);
}

/* Chains of one-field links, some into the middle of the next object, some
 * through an object of another type (another span): marking follows a chain
 * inside one span from locals, and must still find each object's start and
 * leave the span when a link does. */
typedef struct Link {
    int64_t value;
    struct Link *next; /* points at next->next, or at a Hop's link field */
} Link;
MR_TYPE(link_type, Link, MR_FIELD(Link, next));
typedef struct Hop {
    int64_t pad[3];
    Link *link; /* points at a Link's start */
} Hop;
MR_TYPE(hop_type, Hop, MR_FIELD(Hop, link));

enum { LINKS = 200000 };
static Link *link_head;
MR_GLOBAL(link_head)
static int64_t links_seen;

/* Link i points into link i+1 (at its next field), except that every 1000th
 * goes through a Hop; the last link's next is NULL. */
static void build_links(void)
{
    Link *head = NULL;
    for (int64_t i = LINKS - 1; i >= 0; i--) {
        Link *x = mr_new(&link_type);
        x->value = i;
        if (head && i % 1000 == 999) {
            Hop *h = mr_new(&hop_type);
            h->link = head;
            x->next = (Link *)&h->link; /* the Hop's interior: read back below */
        } else if (head) {
            x->next = (Link *)&head->next;
        }
        head = x;
    }
    link_head = head;
}

/* The next Link after x, following the interior pointers build_links made. */
static Link *link_after(const Link *x, int64_t i)
{
    if (!x->next) return NULL;
    if (i % 1000 == 999) return *(Link **)x->next;
    return (Link *)((char *)x->next - offsetof(Link, next));
}

static void walk_links(void)
{
    links_seen = 0;
    int64_t i = 0;
    for (const Link *x = link_head; x; x = link_after(x, i), i++) {
        if (x->value != i) return;
        links_seen++;
    }
}

static void fill_freed_links(void)
{
    /* Reused slots come back zeroed: a link marking missed would be reused
     * here and read back as value 0. */
    for (int i = 0; i < LINKS; i++) ((Link *)mr_new(&link_type))->value = -1;
}

static void test_chains_through_interior_links_are_marked(void)
{
    in_thread(build_links);
    collect();
    collect();
    in_thread(fill_freed_links);
    in_thread(walk_links);
    CHECK_EQ_U64((uint64_t)links_seen, LINKS);
    link_head = NULL;
    collect();
}

/* A small heap is marked by the collecting thread alone (its pause must not
 * wait for helper threads to be scheduled); work enough to share, a large
 * array in parts, brings the helpers in. */
static Node *wide_array;
MR_GLOBAL(wide_array)

static void make_wide_array(void)
{
    wide_array = mr_new_array(&node_type, 10000); /* 240 KB: several oblets */
    for (int i = 0; i < 10000; i++) wide_array[i].next = mr_new(&node_type);
}

static void test_helpers_mark_only_heaps_with_work_to_share(void)
{
    if (mr__mark_workers() < 2) {
        fprintf(stderr, "  (one mark worker: nothing to check)\n");
        return;
    }
    collect();
    uint64_t p0 = mr__mark_helper_phases();
    collect();
    collect();
    CHECK_EQ_U64(mr__mark_helper_phases(), p0);
    in_thread(make_wide_array);
    collect();
    CHECK(mr__mark_helper_phases() > p0);
    wide_array = NULL;
    collect();
}

static void test_arrays_are_scanned_element_by_element(void)
{
    Node **arr = mr_new_array(&mr_type_pointer, 5000);
    mr_pin_handle h = mr_pin(arr, "array");
    arr = NULL;
    Node **a = mr_pinned(h);
    for (int i = 0; i < 5000; i++) {
        a[i] = mr_new(&node_type);
        a[i]->value = i;
    }
    a = NULL;
    collect();
    a = mr_pinned(h);
    for (int i = 0; i < 5000; i++) CHECK(a[i]->value == i);
    mr_unpin(h);
}

/*
 * An array larger than the part marking scans at once is scanned in parts
 * that workers share; its 24-byte elements straddle every 64 KiB seam
 * between parts, so an element lost at a seam (or scanned by no part)
 * lets its target be freed, and the node garbage allocated next reuses and
 * zeroes it.
 */
typedef struct Straddle {
    int64_t a, b;
    Node *node;
} Straddle;
MR_TYPE(straddle_type, Straddle, MR_FIELD(Straddle, node));

__attribute__((noinline)) static void make_node_garbage(int n)
{
    for (int i = 0; i < n; i++) {
        Node *x = mr_new(&node_type);
        x->value = -1;
    }
}

static void test_large_arrays_are_scanned_in_parts(void)
{
    enum { N = 100003 }; /* 2.4 MB: 37 parts, the last one short */
    Straddle *arr = mr_new_array(&straddle_type, N);
    mr_pin_handle h = mr_pin(arr, "large array");
    arr = NULL;
    Straddle *a = mr_pinned(h);
    for (int i = 0; i < N; i++) {
        a[i].node = mr_new(&node_type);
        a[i].node->value = i;
    }
    a = NULL;
    collect();
    make_node_garbage(2 * N);
    collect();
    a = mr_pinned(h);
    int wrong = 0;
    for (int i = 0; i < N; i++) wrong += a[i].node->value != i;
    if (wrong) fprintf(stderr, "%d of %d array targets lost\n", wrong, (int)N);
    CHECK(wrong == 0);
    mr_unpin(h);
}

/*
 * A tree whose levels alternate between two types (two sets of spans), every
 * node holding a string and a pointer into the middle of an array (of
 * integers, or of strings that nothing else reaches):
 * marking meets objects with two children (one scanned at once, one put
 * aside), pointers that leave the span the last one was in, pointer-free
 * objects and interior pointers. All of it must survive collections, with
 * garbage allocated in between to reuse anything wrongly freed.
 */
typedef struct TreeA {
    struct TreeB *left, *right;
    mr_str name;
    int64_t *mid;
} TreeA;
typedef struct TreeB {
    int64_t value;
    struct TreeA *left, *right;
    mr_str name;
    mr_str *tags_end; /* points at tags[3] of an array of 4 strings */
} TreeB;
MR_TYPE(tree_a_type, TreeA, MR_FIELD(TreeA, left), MR_FIELD(TreeA, right), MR_FIELD(TreeA, name),
        MR_FIELD(TreeA, mid));
MR_TYPE(tree_b_type, TreeB, MR_FIELD(TreeB, left), MR_FIELD(TreeB, right), MR_FIELD(TreeB, name),
        MR_FIELD(TreeB, tags_end));

enum { TREE_DEPTH = 17 }; /* 2^17 - 1 nodes */
static TreeA *tree_root;
MR_GLOBAL(tree_root)

/* Builds the tree level by level (no recursion): node i's children are
 * 2i+1 and 2i+2, even levels TreeA, odd levels TreeB. */
static void build_tree(void)
{
    size_t n = ((size_t)1 << TREE_DEPTH) - 1;
    void **nodes = mr_new_array(&mr_type_pointer, n);
    mr_pin_handle h = mr_pin(nodes, "tree nodes");
    int64_t *shared = mr_new_array(&mr_type_int64, 64);
    for (int i = 0; i < 64; i++) shared[i] = i;
    for (size_t i = 0; i < n; i++) {
        int level = 63 - __builtin_clzll((uint64_t)i + 1);
        char buf[32];
        snprintf(buf, sizeof buf, "node %zu", i);
        if (level % 2 == 0) {
            TreeA *a = mr_new(&tree_a_type);
            a->name = mr_str_from(buf);
            a->mid = &shared[i % 64];
            nodes[i] = a;
        } else {
            TreeB *b = mr_new(&tree_b_type);
            b->value = (int64_t)i;
            b->name = mr_str_from(buf);
            mr_str *tags = mr_new_array(&mr_type_str, 4);
            for (int k = 0; k < 4; k++) tags[k] = mr_str_printf("tag %d of %zu", k, i);
            b->tags_end = &tags[3];
            nodes[i] = b;
        }
    }
    for (size_t i = 0; 2 * i + 2 < n; i++) {
        int level = 63 - __builtin_clzll((uint64_t)i + 1);
        if (level % 2 == 0) {
            ((TreeA *)nodes[i])->left = nodes[2 * i + 1];
            ((TreeA *)nodes[i])->right = nodes[2 * i + 2];
        } else {
            ((TreeB *)nodes[i])->left = nodes[2 * i + 1];
            ((TreeB *)nodes[i])->right = nodes[2 * i + 2];
        }
    }
    tree_root = nodes[0];
    memset(nodes, 0, n * sizeof *nodes); /* only the tree's edges keep its nodes */
    mr_unpin(h);
}

static void make_tree_garbage(void)
{
    for (int i = 0; i < 300000; i++) {
        TreeA *a = mr_new(&tree_a_type);
        a->name = mr_str_from("garbage garbage");
        TreeB *b = mr_new(&tree_b_type);
        b->value = -1;
    }
    for (int i = 0; i < 1000; i++) {
        int64_t *x = mr_new_array(&mr_type_int64, 64);
        for (int k = 0; k < 64; k++) x[k] = -1;
    }
}

static size_t tree_nodes_ok;

/* Checks every node's name and value, and the shared array, walking the
 * tree with an explicit stack. */
static void check_tree(void)
{
    size_t n = ((size_t)1 << TREE_DEPTH) - 1, ok = 0, top = 0;
    size_t *stack = malloc(n * sizeof *stack);
    stack[top++] = 0;
    const void **node = malloc(n * sizeof *node);
    node[0] = tree_root;
    while (top) {
        size_t i = stack[--top];
        int level = 63 - __builtin_clzll((uint64_t)i + 1);
        char buf[32];
        snprintf(buf, sizeof buf, "node %zu", i);
        const void *l, *r;
        bool good;
        if (level % 2 == 0) {
            const TreeA *a = node[i];
            good = mr_str_eq(a->name, mr_str_from(buf)) && *a->mid == (int64_t)(i % 64);
            l = a->left, r = a->right;
        } else {
            const TreeB *b = node[i];
            good = mr_str_eq(b->name, mr_str_from(buf)) && b->value == (int64_t)i;
            for (int k = 0; k < 4; k++) {
                snprintf(buf, sizeof buf, "tag %d of %zu", k, i);
                good = good && mr_str_eq(b->tags_end[k - 3], mr_str_from(buf));
            }
            l = b->left, r = b->right;
        }
        ok += good;
        if (2 * i + 2 < n) {
            node[2 * i + 1] = l, node[2 * i + 2] = r;
            stack[top++] = 2 * i + 1;
            stack[top++] = 2 * i + 2;
        }
    }
    free(stack);
    free(node);
    tree_nodes_ok = ok;
}

static void test_tree_of_two_types_survives_collections(void)
{
    in_thread(build_tree);
    for (int round = 0; round < 3; round++) {
        collect();
        in_thread(make_tree_garbage);
    }
    collect();
    in_thread(check_tree);
    CHECK_EQ_U64(tree_nodes_ok, ((uint64_t)1 << TREE_DEPTH) - 1);
    tree_root = NULL;
}

static void on_gc_count(void *ud, mr_gc_event ev, uint32_t cycle)
{
    (void)cycle;
    if (ev == MR_GC_MARK_DONE) ++*(int *)ud;
}

static int sampled, freed_samples;
static mr_alloc_call last_call; /* of the last sample */
static void on_alloc_count(void *ud, void *obj, size_t size, const mr_type *t,
                           const mr_alloc_call *call)
{
    (void)ud, (void)obj, (void)size, (void)t;
    sampled++;
    last_call = *call;
}
static void on_free_count(void *ud, void *obj, size_t size)
{
    (void)ud, (void)obj, (void)size;
    freed_samples++;
}

static void test_hooks_see_samples_frees_and_cycles(void)
{
    int marks = 0;
    mr_hooks h = {.ud = &marks,
                  .sample_rate = 1,
                  .on_alloc = on_alloc_count,
                  .on_free = on_free_count,
                  .on_gc = on_gc_count};
    mr_set_hooks(&h);
    make_garbage(1000);
    CHECK(sampled == 1000);
    collect();
    CHECK(marks == 1);
    if (freed_samples < 990) fprintf(stderr, "freed samples: %d\n", freed_samples);
    CHECK(freed_samples >= 990);
    h.sample_rate = 64 * 1024;
    sampled = 0;
    mr_set_hooks(&h);
    make_garbage(100000); /* 3.2 MB at 32 bytes: about 49 samples expected */
    CHECK(sampled > 15 && sampled < 120);
    mr_set_hooks(NULL);
    sampled = 0;
    make_garbage(1000);
    CHECK(sampled == 0);
}

/* The start of the function holding return address pc, from the unwind
 * tables (there in every build, stripped or not), or 0. */
static uintptr_t function_of(uintptr_t pc)
{
    unw_proc_info_t pi;
    if (!pc || unw_get_proc_info_by_ip(unw_local_addr_space, pc - 1, &pi, NULL) != 0) return 0;
    return pi.start_ip;
}

static void *volatile sink;
static const mr_map_type int_map_type = {"map[int64]int64", MR_KEY_INT64, NULL, &mr_type_int64};

/* One program function per allocating entry point; the store after each
 * call keeps it from being a tail call (which would leave no frame). */
__attribute__((noinline)) static void calls_new(void)
{
    sink = mr_new(&node_type);
}
__attribute__((noinline)) static void calls_new_array(void)
{
    sink = mr_new_array(&node_type, 3);
}
__attribute__((noinline)) static void calls_alloc_blob(void)
{
    sink = mr_alloc_blob(100);
}
__attribute__((noinline)) static void calls_str_new(void)
{
    sink = (void *)mr_str_new("abc", 3).ptr;
}
__attribute__((noinline)) static void calls_str_from(void)
{
    sink = (void *)mr_str_from("abcd").ptr;
}
__attribute__((noinline)) static void calls_str_printf(void)
{
    sink = (void *)mr_str_printf("%d-%s", 42, "x").ptr;
}
__attribute__((noinline)) static void calls_str_printf_long(void)
{
    sink = (void *)mr_str_printf("%300d", 1).ptr; /* past printf's small buffer */
}
__attribute__((noinline)) static void calls_map_new(void)
{
    sink = mr_map_new(&int_map_type, 100); /* the header, then buckets */
}
__attribute__((noinline)) static void calls_map_assign(void)
{
    mr_map *m = mr_map_new(&int_map_type, 0);
    int64_t k = 7;
    *(int64_t *)mr_map_assign(m, &k) = 1; /* the first bucket array */
    sink = m;
}
__attribute__((noinline)) static void calls_map_set(void)
{
    mr_map *m = mr_map_new(&int_map_type, 0);
    int64_t k = 7, v = 1;
    mr_map_set(m, &k, &v);
    sink = m;
}

/* The hook is told the program's call into the runtime: a return address
 * in the program's own function, found without any symbol, for every
 * allocating entry point (also those that call one another inside: map
 * operations allocate with mr_new, mr_str_from goes through the string
 * code), and whether it was a map operation. */
static void test_hooks_are_told_the_programs_call(void)
{
    static const struct {
        void (*fn)(void);
        const char *name;
        bool map;
    } cases[] = {
        {calls_new, "mr_new", false},
        {calls_new_array, "mr_new_array", false},
        {calls_alloc_blob, "mr_alloc_blob", false},
        {calls_str_new, "mr_str_new", false},
        {calls_str_from, "mr_str_from", false},
        {calls_str_printf, "mr_str_printf", false},
        {calls_str_printf_long, "mr_str_printf (long)", false},
        {calls_map_new, "mr_map_new", true},
        {calls_map_assign, "mr_map_assign", true},
        {calls_map_set, "mr_map_set", true},
    };
    mr_hooks h = {.sample_rate = 1, .on_alloc = on_alloc_count, .on_free = on_free_count};
    mr_set_hooks(&h);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sampled = 0;
        memset(&last_call, 0, sizeof last_call);
        cases[i].fn();
        uintptr_t fn = function_of(last_call.pc);
        if (sampled == 0 || fn != (uintptr_t)cases[i].fn || last_call.map != cases[i].map)
            fprintf(stderr, "  %s: %d samples, call pc %#lx in function %#lx (want %#lx), map %d\n",
                    cases[i].name, sampled, (unsigned long)last_call.pc, (unsigned long)fn,
                    (unsigned long)(uintptr_t)cases[i].fn, last_call.map);
        CHECK(sampled > 0);
        CHECK(fn == (uintptr_t)cases[i].fn);
        CHECK(last_call.map == cases[i].map);
    }
    mr_set_hooks(NULL);
    sink = NULL;
}

static void test_pacing_collects_automatically(void)
{
    mr_memstats s0, s1;
    mr_read_memstats(&s0);
    make_garbage(2000000); /* 64 MB of garbage */
    mr_read_memstats(&s1);
    CHECK(s1.num_gc > s0.num_gc);
    CHECK(s1.heap_alloc < 32u << 20);
    CHECK(s1.next_gc >= 4u << 20);
    CHECK(s1.mallocs - s0.mallocs >= 2000000);
    CHECK(s1.pause_total_ns > 0);
}

static void test_gc_percent_off_disables_automatic_collection(void)
{
    int old = mr_set_gc_percent(-1);
    mr_memstats s0, s1;
    mr_read_memstats(&s0);
    make_garbage(1000000);
    mr_read_memstats(&s1);
    CHECK(s1.num_gc == s0.num_gc);
    mr_set_gc_percent(old);
}

typedef struct root_seen {
    void *target;
    int global, stack;
} root_seen;

static void count_roots(const mr_root *r, void *ud)
{
    root_seen *s = ud;
    if (r->target != s->target) return;
    if (r->kind == MR_ROOT_GLOBAL && strcmp(r->name, "global_list") == 0) s->global++;
    if (r->kind == MR_ROOT_STACK && r->function && strstr(r->function, "stack_root_frame"))
        s->stack++;
}

__attribute__((noinline)) static void stack_root_frame(root_seen *s)
{
    Node *volatile local = mr_new(&node_type);
    global_list = local;
    s->target = local;
    mr_stop_the_world();
    mr_walk_roots(true, count_roots, s);
    mr_start_the_world();
    global_list = NULL;
}

static void test_walk_roots_names_globals_and_frames(void)
{
    root_seen s = {0};
    stack_root_frame(&s);
    CHECK(s.global == 1);
    CHECK(s.stack >= 1);
}

/*
 * A thread-local variable of a thread that pthread_create made lies above
 * the thread's outermost frame, in storage the C library keeps at the top
 * of the thread's stack mapping: the walk names it as that thread's
 * storage (a runtime root), not as a word of the outermost frame.
 */
static __thread Node *volatile tls_node; /* volatile: written only, it would go */
static atomic_int tls_ready, tls_release;
static Node *_Atomic tls_target;

static void *tls_thread(void *arg)
{
    (void)arg;
    tls_node = mr_new(&node_type);
    atomic_store(&tls_target, tls_node);
    mr_blocking_enter();
    atomic_store(&tls_ready, 1);
    while (!atomic_load(&tls_release)) usleep(1000);
    mr_blocking_exit();
    return NULL;
}

typedef struct tls_seen {
    void *target;
    int storage;
} tls_seen;

static void note_tls_root(const mr_root *r, void *ud)
{
    tls_seen *s = ud;
    if (r->target != s->target) return;
    if (r->kind == MR_ROOT_RUNTIME && r->name && strstr(r->name, "thread-local storage of thread"))
        s->storage++;
}

static void test_thread_local_storage_is_no_frame(void)
{
    pthread_t th;
    atomic_store(&tls_ready, 0);
    atomic_store(&tls_release, 0);
    CHECK(pthread_create(&th, NULL, tls_thread, NULL) == 0);
    while (!atomic_load(&tls_ready)) {
        mr_blocking_enter();
        usleep(1000);
        mr_blocking_exit();
    }
    tls_seen s = {atomic_load(&tls_target), 0};
    mr_stop_the_world();
    mr_walk_roots(true, note_tls_root, &s);
    mr_start_the_world();
    CHECK(s.storage == 1);
    atomic_store(&tls_release, 1);
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
}

/*
 * The main thread's thread-local variables lie where the dynamic linker
 * put them, not in its stack: an object only such a variable refers to
 * stays alive through collections (its slot is not handed out again), and
 * the walk names the root as the main thread's storage.
 */
static __thread Node *main_tls_node;

__attribute__((noinline)) static void fill_main_tls(void)
{
    Node *x = mr_new(&node_type);
    x->value = 4242;
    x->name = mr_str_from("main thread-local");
    main_tls_node = x;
}

/* Allocates nodes over whatever the last collection freed. */
__attribute__((noinline)) static void overwrite_free_nodes(void)
{
    for (int i = 0; i < 100000; i++) {
        Node *y = mr_new(&node_type);
        y->value = -1;
    }
}

static void note_main_tls_root(const mr_root *r, void *ud)
{
    tls_seen *s = ud;
    if (r->target == s->target && r->kind == MR_ROOT_RUNTIME && r->thread == mr__self->id &&
        r->name && strstr(r->name, "thread-local storage of thread"))
        s->storage++;
}

static void test_main_thread_local_variable_is_a_root(void)
{
    fill_main_tls();
    for (int i = 0; i < 3; i++) {
        collect();
        overwrite_free_nodes();
    }
    Node *x = main_tls_node;
    void *start = NULL;
    CHECK(mr_object_type(x, &start) == &node_type && start == x);
    CHECK(x->value == 4242);
    CHECK(x->name.ptr && strcmp(x->name.ptr, "main thread-local") == 0);
    tls_seen s = {x, 0};
    mr_stop_the_world();
    mr_walk_roots(true, note_main_tls_root, &s);
    mr_start_the_world();
    CHECK(s.storage == 1);
    main_tls_node = NULL;
}

/* ------------------------------------------------------ register roots -- */

#if HAVE_HOLD_IN_REGISTERS
/* What hold_in_registers keeps in r12 (a) and rbx (b), and what the walk
 * said about them. Plain statics are no roots. */
typedef struct held_seen {
    void *a, *b;
    int a_owned, b_owned; /* roots naming hold_in_registers' register */
    int other;            /* roots of a or b attributed to anything else */
    uint32_t a_frame, b_frame;
} held_seen;

static held_seen held;

static void *make_held_a(void)
{
    return held.a = mr_new(&node_type);
}

static void *make_held_b(void)
{
    return held.b = mr_new(&node_type);
}

static void note_held_root(const mr_root *r, void *ud)
{
    held_seen *s = ud;
    if (!s->a || (r->target != s->a && r->target != s->b)) return;
    bool is_a = r->target == s->a;
    if (r->kind == MR_ROOT_REGISTER && r->name && strcmp(r->name, is_a ? "r12" : "rbx") == 0 &&
        r->function && strcmp(r->function, "hold_in_registers") == 0) {
        *(is_a ? &s->a_owned : &s->b_owned) += 1;
        *(is_a ? &s->a_frame : &s->b_frame) = r->frame;
        return;
    }
    s->other++;
    fprintf(stderr, "  %s also held by root kind %d name %s function %s frame %u\n",
            is_a ? "a" : "b", (int)r->kind, r->name ? r->name : "-",
            r->function ? r->function : "-", r->frame);
}

/* park() of the first case: saves hold_in_registers' r12 in its own frame
 * (and clears the register), then walks the roots with the world stopped. */
__attribute__((noinline)) static void save_r12_and_walk(void)
{
    HOLD_SAVE_AND_CLEAR_R12();
    mr_stop_the_world();
    mr_walk_roots(true, note_held_root, &held);
    mr_start_the_world();
}

/* Both objects were found, only as hold_in_registers' registers, and that
 * is frame #1 (frame #0 being park(), whatever runtime frames lie below). */
static void check_held_by_their_owner(void)
{
    CHECK(held.a != NULL && held.b != NULL);
    CHECK_EQ_U64(held.other, 0);
    CHECK(held.a_owned >= 1);
    CHECK(held.b_owned >= 1);
    CHECK_EQ_U64(held.a_frame, 1);
    CHECK_EQ_U64(held.b_frame, 1);
}

/*
 * A callee that saves a register in its prologue holds its caller's value in
 * that stack slot. The value is the caller's -- the frame that owned the
 * register when it made the call -- and so is the root; so is a value still
 * in the register when the thread's context was saved.
 */
static void test_saved_registers_belong_to_the_frame_that_owns_them(void)
{
    memset(&held, 0, sizeof held);
    hold_in_registers(make_held_a, make_held_b, save_r12_and_walk);
    check_held_by_their_owner();
}

/*
 * park() of the library cases: a library's entry point, as the collector's
 * are. It saves hold_in_registers' r12 in its own frame (and clears the
 * register), marks the call with mr_call_begin, and walks the roots with
 * the world stopped: the thread's roots start at the program's frame, and
 * the r12 it had at the call is found where the entry point saved it.
 * entry_alloca takes an alloca of a size that changes from call to call,
 * so the distance from its stack pointer to its caller's does too.
 */
static size_t entry_alloca_size;

__attribute__((noinline)) static void library_entry_walk(void)
{
    HOLD_SAVE_AND_CLEAR_R12();
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    mr_stop_the_world();
    mr_walk_roots(true, note_held_root, &held);
    mr_start_the_world();
    mr_call_end(outer);
}

__attribute__((noinline)) static void library_entry_alloca_walk(void)
{
    HOLD_SAVE_AND_CLEAR_R12();
    volatile char *scratch = __builtin_alloca(entry_alloca_size);
    scratch[0] = 0;
    uintptr_t outer = mr_call_begin(__builtin_return_address(0));
    mr_stop_the_world();
    mr_walk_roots(true, note_held_root, &held);
    mr_start_the_world();
    mr_call_end(outer);
    scratch[0] = 1;
}

/* Found only as hold_in_registers' registers, frame #0 of the walk. */
static void check_held_by_the_library_caller(void)
{
    CHECK(held.a != NULL && held.b != NULL);
    CHECK_EQ_U64(held.other, 0);
    CHECK(held.a_owned >= 1);
    CHECK(held.b_owned >= 1);
    CHECK_EQ_U64(held.a_frame, 0);
    CHECK_EQ_U64(held.b_frame, 0);
}

/* Several calls from one place (the first learns the entry point's frame,
 * the later ones reuse that), and from an entry point whose frame changes
 * size between calls. */
static void test_a_library_callers_registers_are_found_where_the_library_saved_them(void)
{
    for (int i = 0; i < 3; i++) {
        memset(&held, 0, sizeof held);
        hold_in_registers(make_held_a, make_held_b, library_entry_walk);
        check_held_by_the_library_caller();
    }
    static const size_t sizes[] = {16, 4096, 16, 200, 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        entry_alloca_size = sizes[i];
        memset(&held, 0, sizeof held);
        hold_in_registers(make_held_a, make_held_b, library_entry_alloca_walk);
        check_held_by_the_library_caller();
    }
}

static atomic_int parker_ready, parker_release;

/* park() of the second case: stays at safepoints until released, so the
 * runtime's own frames (parking) save whatever registers they use. */
__attribute__((noinline)) static void park_at_safepoints(void)
{
    atomic_store(&parker_ready, 1);
    while (!atomic_load(&parker_release)) mr_safepoint();
}

static void *parker_main(void *arg)
{
    (void)arg;
    hold_in_registers(make_held_a, make_held_b, park_at_safepoints);
    return NULL;
}

/* The same for a thread stopped at a safepoint by another thread: its frames
 * below the runtime's are the program's, and so are its registers. */
static void test_parked_thread_registers_belong_to_the_frame_that_owns_them(void)
{
    memset(&held, 0, sizeof held);
    atomic_store(&parker_ready, 0);
    atomic_store(&parker_release, 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, parker_main, NULL) == 0);
    while (!atomic_load(&parker_ready)) mr_safepoint();
    mr_stop_the_world();
    mr_walk_roots(true, note_held_root, &held);
    mr_start_the_world();
    atomic_store(&parker_release, 1);
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
    check_held_by_their_owner();
}

/*
 * void block_in_registers(void *(*make)(void), void (*wait)(void));
 *
 * calls make six times and keeps the results in rbx, rbp, r12, r13, r14 and
 * r15, zeroes 16 KiB of the dead stack below its frame, then calls
 * mr_blocking_enter itself (no frame in between that could save one of the
 * six) and wait, which ends with mr_blocking_exit. While wait runs, each
 * object is held only by one of those registers as they stood at
 * mr_blocking_enter: the thread's saved context is the only place it can be
 * found. In assembly so that no build can keep a copy elsewhere (as
 * hold_in_registers). It names no function of the runtime but
 * mr_blocking_enter, which is never inlined (link-time optimization does
 * not see the references of this assembly, and would drop a function it
 * inlined everywhere else).
 */
void block_in_registers(void *(*make)(void), void (*wait)(void));

/* Entry: rsp = 8 mod 16; eight pushes and 8 bytes make it 0 mod 16. */
__asm__(".text\n"
        ".globl block_in_registers\n"
        ".hidden block_in_registers\n"
        ".type block_in_registers, @function\n"
        "block_in_registers:\n"
        ".cfi_startproc\n"
        "    pushq %rbp\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %rbp, -16\n"
        "    pushq %rbx\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %rbx, -24\n"
        "    pushq %r12\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %r12, -32\n"
        "    pushq %r13\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %r13, -40\n"
        "    pushq %r14\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %r14, -48\n"
        "    pushq %r15\n"
        ".cfi_adjust_cfa_offset 8\n"
        ".cfi_offset %r15, -56\n"
        "    pushq %rsi\n" /* wait: 16(%rsp) */
        ".cfi_adjust_cfa_offset 8\n"
        "    pushq %rdi\n" /* make: 8(%rsp) */
        ".cfi_adjust_cfa_offset 8\n"
        "    subq $8, %rsp\n"
        ".cfi_adjust_cfa_offset 8\n"
        "    call *8(%rsp)\n"
        "    movq %rax, %rbx\n"
        "    call *8(%rsp)\n"
        "    movq %rax, %rbp\n"
        "    call *8(%rsp)\n"
        "    movq %rax, %r12\n"
        "    call *8(%rsp)\n"
        "    movq %rax, %r13\n"
        "    call *8(%rsp)\n"
        "    movq %rax, %r14\n"
        "    call *8(%rsp)\n"
        "    movq %rax, %r15\n" /* the sixth: only in r15 from here on */
        HOLD_ZERO_DEAD_STACK    /* no copy of the six below this frame */
        "    xorl %r8d, %r8d\n"
        "    xorl %r9d, %r9d\n"
        "    xorl %r10d, %r10d\n"
        "    xorl %r11d, %r11d\n"
        "    call mr_blocking_enter@PLT\n"
        "    call *16(%rsp)\n"
        "    addq $24, %rsp\n"
        ".cfi_adjust_cfa_offset -24\n"
        "    popq %r15\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    popq %r14\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    popq %r13\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    popq %r12\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    popq %rbx\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    popq %rbp\n"
        ".cfi_adjust_cfa_offset -8\n"
        "    ret\n"
        ".cfi_endproc\n"
        ".size block_in_registers, .-block_in_registers\n");

/* The objects block_in_registers keeps, in the order of their registers,
 * and the roots the walk gave for each. Plain statics are no roots. */
static const char *const blocked_reg_names[6] = {"rbx", "rbp", "r12", "r13", "r14", "r15"};
static struct {
    void *obj[6];
    int made;
    int owned[6]; /* roots naming the object's register in block_in_registers, frame #0 */
    int other;    /* any other root of one of them */
} blocked;
static atomic_int blocked_ready, blocked_release;

static void *make_blocked(void)
{
    return blocked.obj[blocked.made++] = mr_new(&node_type);
}

/* wait() of block_in_registers: the thread is blocked and touches no heap
 * until released; then it leaves the bracket. */
__attribute__((noinline)) static void wait_blocked(void)
{
    atomic_store(&blocked_ready, 1);
    while (!atomic_load(&blocked_release)) usleep(100);
    mr_blocking_exit();
}

static void *blocker_main(void *arg)
{
    (void)arg;
    block_in_registers(make_blocked, wait_blocked);
    return NULL;
}

static void note_blocked_root(const mr_root *r, void *ud)
{
    (void)ud;
    for (int i = 0; i < 6; i++) {
        if (r->target != blocked.obj[i]) continue;
        if (r->kind == MR_ROOT_REGISTER && r->name && strcmp(r->name, blocked_reg_names[i]) == 0 &&
            r->function && strcmp(r->function, "block_in_registers") == 0 && r->frame == 0) {
            blocked.owned[i]++;
            return;
        }
        blocked.other++;
        fprintf(stderr, "  object of %s also held by root kind %d name %s function %s frame %u\n",
                blocked_reg_names[i], (int)r->kind, r->name ? r->name : "-",
                r->function ? r->function : "-", r->frame);
    }
}

/*
 * A thread blocked (mr_blocking_enter) straight from a frame that keeps its
 * objects in all six callee-saved registers: the context it left holds each
 * register's value at the call, so each object survives a collection as a
 * root of exactly that register of that frame, the program's innermost.
 */
static void test_blocked_thread_keeps_its_callers_registers(void)
{
    memset(&blocked, 0, sizeof blocked);
    atomic_store(&blocked_ready, 0);
    atomic_store(&blocked_release, 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, blocker_main, NULL) == 0);
    while (!atomic_load(&blocked_ready)) mr_safepoint();
    collect();
    mr_stop_the_world();
    mr_walk_roots(true, note_blocked_root, NULL);
    mr_start_the_world();
    atomic_store(&blocked_release, 1);
    mr_blocking_enter();
    pthread_join(th, NULL);
    mr_blocking_exit();
    CHECK_EQ_U64(blocked.made, 6);
    CHECK_EQ_U64(blocked.other, 0);
    for (int i = 0; i < 6; i++) {
        if (blocked.owned[i] != 1)
            fprintf(stderr, "  %s: %d roots\n", blocked_reg_names[i], blocked.owned[i]);
        CHECK_EQ_U64(blocked.owned[i], 1);
    }
}
#endif

/* ------------------------------------------------------------ map roots -- */

static const mr_map_type node_map = {"map[int64]*Node", MR_KEY_INT64, NULL, &mr_type_pointer};
static mr_map *global_map;
MR_GLOBAL(global_map)

static uint64_t map_objects_before;
static int map_check_ok;

static void fill_global_map(void)
{
    global_map = mr_map_new(&node_map, 0);
    for (int64_t k = 0; k < 20000; k++) {
        Node *n = mr_new(&node_type);
        n->value = k * 3;
        *(Node **)mr_map_assign(global_map, &k) = n;
    }
}

static void check_global_map(void)
{
    map_check_ok = mr_map_len(global_map) == 20000;
    for (int64_t k = 0; k < 20000 && map_check_ok; k++) {
        Node **v = mr_map_lookup(global_map, &k);
        map_check_ok = v && (*v)->value == k * 3;
    }
}

static void test_global_keeps_its_map_alive(void)
{
    collect();
    map_objects_before = live_objects();
    in_thread(fill_global_map);
    collect();
    collect();
    in_thread(check_global_map);
    CHECK(map_check_ok);
    global_map = NULL;
    collect();
    CHECK(live_objects() < map_objects_before + 100);
}

static int iter_roots_seen;
static void count_iterator_roots(const mr_root *r, void *ud)
{
    if (r->kind == MR_ROOT_ITERATOR && r->target == ud) iter_roots_seen++;
}

/*
 * Starts a range over the global map, clears the global, and keeps the
 * iterator open across collections: the iterator alone must keep the map.
 */
__attribute__((noinline)) static void iterate_after_clearing_the_global(void)
{
    mr_map_iter it;
    mr_map_iter_init(&it, global_map);
    void *map_addr = global_map;
    global_map = NULL;
    collect();
    collect();
    iter_roots_seen = 0;
    mr_stop_the_world();
    mr_walk_roots(true, count_iterator_roots, map_addr);
    mr_start_the_world();
    size_t n = 0;
    int64_t sum = 0;
    while (mr_map_iter_next(&it)) {
        n++;
        sum += (*(Node **)it.value)->value;
    }
    map_check_ok = n == 20000 && sum == 3 * (int64_t)20000 * 19999 / 2 && iter_roots_seen >= 1;
}

/* Leaves an iterator registered in a frame that returns without done. */
__attribute__((noinline)) static void abandon_iterator(void)
{
    mr_map_iter it;
    mr_map_iter_init(&it, global_map);
    mr_map_iter_next(&it);
    global_map = NULL;
}

static uint64_t live_after_abandon;
static void abandon_then_collect(void)
{
    abandon_iterator();
    collect();
    live_after_abandon = live_objects();
}

static void test_iterator_keeps_its_map_alive_until_its_frame_returns(void)
{
    collect();
    map_objects_before = live_objects();
    in_thread(fill_global_map);
    in_thread(iterate_after_clearing_the_global);
    CHECK(map_check_ok);
    CHECK(iter_roots_seen >= 1);
    /* The iterator is done (next returned false): the map is garbage now. */
    collect();
    CHECK(live_objects() < map_objects_before + 100);
    /* An iterator abandoned in a frame that has returned is dropped, not a
     * root, while its thread goes on. */
    in_thread(fill_global_map);
    in_thread(abandon_then_collect);
    if (EXACT_RECLAIM) CHECK(live_after_abandon < map_objects_before + 100);
}

/*
 * Each case runs on a fresh thread, so stale copies of pointers that one case
 * leaves in its frames or registers cannot keep another case's objects alive.
 */
/* ------------------------------------------------- the maps of the heap -- */

/* Map addresses kept hidden (xor'ed), so that the test's own words do not
 * keep the maps alive under the conservative stack scan. */
#define HIDE(p) ((uintptr_t)(p) ^ (uintptr_t)0x5a5a5a5a5a5a5a5aULL)

typedef struct map_seen {
    uintptr_t want[3]; /* HIDE()n */
    uint64_t ids[3];
    int found[3];
} map_seen;

static void note_map(mr_map *m, uint64_t id, void *ud)
{
    map_seen *s = ud;
    for (int i = 0; i < 3; i++)
        if (s->want[i] == HIDE(m)) {
            s->found[i]++;
            s->ids[i] = id;
        }
}

static uintptr_t kept_hidden, thread_hidden, dropped_hidden;

__attribute__((noinline)) static map_seen walk_for_the_maps(void)
{
    map_seen s = {.want = {kept_hidden, thread_hidden, dropped_hidden}};
    mr_stop_the_world();
    mr_walk_maps(note_map, &s);
    mr_start_the_world();
    return s;
}

static mr_map *kept_map, *kept_by_thread;
MR_GLOBAL(kept_map)
MR_GLOBAL(kept_by_thread)

static void make_maps_in_a_thread(void)
{
    kept_by_thread = mr_map_new(&node_map, 0);
    thread_hidden = HIDE(kept_by_thread);
    /* its thread ends: nothing holds this one */
    dropped_hidden = HIDE(mr_map_new(&node_map, 0));
}

static mr_map *made_after;
MR_GLOBAL(made_after)

/* The walk lists every map made, on any thread (one that has ended too),
 * until a collection finds it unreachable: then it is gone from the walk
 * before its header is freed. The first walk finds the maps made before
 * it (by their size class); maps made after it are listed as they are
 * made, numbered after those. Ids are unique. */
static void test_walk_maps_lists_exactly_the_live_maps(void)
{
    kept_map = mr_map_new(&node_map, 0);
    kept_hidden = HIDE(kept_map);
    in_thread(make_maps_in_a_thread);
    map_seen s = walk_for_the_maps(); /* the first: the seed */
    CHECK(s.found[0] == 1 && s.found[1] == 1 && s.found[2] == 1);
    CHECK(s.ids[0] != s.ids[1] && s.ids[1] != s.ids[2] && s.ids[0] != s.ids[2]);
    CHECK(s.ids[2] <= atomic_load(&mr__maps_created));
    uint64_t seeded_max = s.ids[0] > s.ids[1] ? s.ids[0] : s.ids[1];
    if (s.ids[2] > seeded_max) seeded_max = s.ids[2];
    made_after = mr_map_new(&node_map, 0); /* listed as it is made */
    uintptr_t after_hidden = HIDE(made_after);
    map_seen again = walk_for_the_maps();
    CHECK(again.ids[0] == s.ids[0] && again.ids[1] == s.ids[1]); /* ids stay */
    map_seen late = {.want = {after_hidden}};
    mr_stop_the_world();
    mr_walk_maps(note_map, &late);
    mr_start_the_world();
    CHECK(late.found[0] == 1 && late.ids[0] > seeded_max);
    collect();
    s = walk_for_the_maps();
    CHECK(s.found[0] == 1 && s.found[1] == 1);
    CHECK(s.found[2] == 0);
    kept_map = kept_by_thread = made_after = NULL;
    collect();
    s = walk_for_the_maps();
    CHECK(s.found[0] == 0 && s.found[1] == 0 && s.found[2] == 0);
}

__attribute__((noinline)) static void set_in_one_place(mr_map *m, int64_t k)
{
    Node *n = mr_new(&node_type);
    mr_map_set(m, &k, &n);
    sink = m;
}
__attribute__((noinline)) static void assign_in_another(mr_map *m, int64_t k)
{
    *(Node **)mr_map_assign(m, &k) = mr_new(&node_type);
    sink = m;
}

/* A map remembers where the program last added a key to it (not where it
 * last updated one), without symbols, as the allocation hook is told. */
static void test_last_insert_names_the_programs_call(void)
{
    mr_map *m = mr_map_new(&node_map, 0);
    const char *op = "x";
    CHECK(mr_map_last_insert(m, &op) == 0 && op == NULL);
    set_in_one_place(m, 1);
    uintptr_t pc = mr_map_last_insert(m, &op);
    CHECK(function_of(pc) == (uintptr_t)set_in_one_place);
    CHECK_STR_EQ(op, "mr_map_set");
    assign_in_another(m, 1); /* an update: the map did not grow */
    CHECK(mr_map_last_insert(m, &op) == pc);
    assign_in_another(m, 2);
    CHECK(function_of(mr_map_last_insert(m, &op)) == (uintptr_t)assign_in_another);
    CHECK_STR_EQ(op, "mr_map_assign");
    CHECK(mr_map_last_insert(NULL, &op) == 0 && op == NULL);
}

static mr_gc_cycle cycle_at_end;
static uint32_t cycle_of_end_event;
static int rate_set_at_start;
static void on_gc_cycle(void *ud, mr_gc_event ev, uint32_t cycle)
{
    (void)ud;
    if (ev == MR_GC_START && rate_set_at_start) {
        mr_set_sample_rate(1); /* the world is stopped: no stop of its own */
        rate_set_at_start = 0;
    }
    if (ev == MR_GC_END) {
        mr_read_gc_cycle(&cycle_at_end);
        cycle_of_end_event = cycle;
    }
}

/* mr_read_gc_cycle agrees with mr_read_memstats, and already describes the
 * ending collection in its MR_GC_END event; mr_set_sample_rate changes the
 * rate from inside a collection. */
static void test_gc_cycle_figures_and_rate_change_inside_a_collection(void)
{
    mr_hooks h = {.sample_rate = 0, .on_alloc = on_alloc_count, .on_gc = on_gc_cycle};
    mr_set_hooks(&h);
    sampled = 0;
    make_garbage(1000);
    CHECK(sampled == 0);
    rate_set_at_start = 1;
    collect();
    mr_gc_cycle c;
    mr_read_gc_cycle(&c);
    mr_memstats ms;
    mr_read_memstats(&ms);
    CHECK_EQ_U64(c.cycle, ms.num_gc);
    CHECK_EQ_U64(cycle_of_end_event, ms.num_gc);
    CHECK_EQ_U64(cycle_at_end.cycle, ms.num_gc);
    CHECK_EQ_U64(c.pause_ns, ms.pause_ns[(ms.num_gc + 255) % 256]);
    CHECK_EQ_U64(c.pause_total_ns, ms.pause_total_ns);
    CHECK_EQ_U64(c.live_bytes, ms.heap_alloc); /* nothing allocated since */
    CHECK_EQ_U64(c.end_ns, ms.last_gc_ns);
    CHECK_EQ_U64(c.next_gc, ms.next_gc);
    CHECK(c.mallocs <= ms.mallocs && c.mallocs > 1000 && c.total_alloc <= ms.total_alloc);
    CHECK(c.garbage_bytes > 0);
    make_garbage(100);
    CHECK(sampled == 100);
    mr_set_hooks(NULL);
}

#define TEST_IN_THREAD(fn)                                                                         \
    do {                                                                                           \
        check_case_failed_ = 0;                                                                    \
        in_thread(fn);                                                                             \
        if (check_case_failed_) check_failed_cases_++;                                             \
        fprintf(stderr, "%s %s\n", check_case_failed_ ? "FAIL" : "ok  ", #fn);                     \
    } while (0)

/* ---- the bulk walk helpers: mr_resolve_marked, ordered mr_walk_objects ---- */

static void *big_dropped;
static void make_big_garbage(void)
{
    big_dropped = mr_alloc_blob(1u << 20);
    big_dropped = NULL;
}

typedef struct walk_order {
    uintptr_t last;
    size_t n, out_of_order;
    uintptr_t *ptrs; /* probes: starts, interiors, header words */
    size_t np, cap;
} walk_order;

static void record_order(void *obj, size_t size, const mr_type *t, size_t count, void *ud)
{
    (void)t, (void)count;
    walk_order *w = ud;
    uintptr_t a = (uintptr_t)obj;
    if (w->n && a <= w->last) w->out_of_order++;
    w->last = a;
    w->n++;
    if (w->np + 3 <= w->cap) {
        w->ptrs[w->np++] = a;
        w->ptrs[w->np++] = a + size - 1;
        w->ptrs[w->np++] = a - 8; /* the slot's header word */
    }
}

/*
 * The snapshot writer relies on both: objects come in address order even
 * after page runs were split and reused (which puts later-made span records
 * at lower addresses), and the bulk resolver answers exactly what
 * mr_is_marked and mr_object_type answer, for live objects, interior
 * pointers, headers, freed slots and pointers outside the heap.
 */
static void test_walk_is_ordered_and_bulk_resolve_matches_is_marked(void)
{
    in_thread(make_big_garbage);
    void *small = mr_alloc_blob(64u << 10); /* pages after the big blob */
    collect();                              /* the big blob's pages become a free run */
    void *c = mr_alloc_blob(256u << 10);    /* split: reuses the run's record */
    void *d = mr_alloc_blob(256u << 10);    /* the rest: a record made after `small` */
    build_global_list(2000);
    in_thread(make_100k_garbage);
    collect();
    static uintptr_t probes[40000], got[40000];
    walk_order w = {.ptrs = probes, .cap = 39000};
    mr_stop_the_world();
    mr_walk_objects(true, record_order, &w);
    /* freed slots (the garbage), NULL, a static, the stack, past the heap */
    int local = 0;
    probes[w.np++] = 0;
    probes[w.np++] = (uintptr_t)&w;
    probes[w.np++] = (uintptr_t)&local;
    probes[w.np++] = (uintptr_t)probes;
    probes[w.np++] = UINTPTR_MAX - 7;
    mr_resolve_marked(probes, w.np, got);
    size_t mismatches = 0, live = 0;
    for (size_t i = 0; i < w.np; i++) {
        void *start = NULL;
        bool marked = mr_is_marked((const void *)probes[i]);
        if (marked) mr_object_type((const void *)probes[i], &start);
        if (got[i] != (uintptr_t)start) mismatches++;
        live += got[i] != 0;
    }
    /* resolving in place gives the same */
    static uintptr_t again[40000];
    memcpy(again, probes, w.np * sizeof *probes);
    mr_resolve_marked(again, w.np, again);
    bool same = memcmp(again, got, w.np * sizeof *got) == 0;
    mr_start_the_world();
    CHECK(w.n > 2000);
    CHECK_EQ_U64(w.out_of_order, 0);
    CHECK_EQ_U64(mismatches, 0);
    CHECK(live >= 3 * 2000);
    CHECK(same);
    CHECK(c != NULL && d != NULL && small != NULL);
    global_list = NULL;
}

/* ---- typed spans: no per-object header; types that share a size class ---- */

typedef struct Triple {
    struct Triple *next;
    int64_t a, b;
} Triple; /* 24 bytes, like Plain, but with a pointer */
MR_TYPE(triple_type, Triple, MR_FIELD(Triple, next));

static Triple **many;
MR_GLOBAL(many)

/* The heap holds an object in exactly its size class: a 24-byte object
 * takes 24 bytes, not 24 plus a header word. */
static void test_objects_take_their_size_class_and_no_more(void)
{
    enum { N = 100000 };
    collect();
    mr_memstats s0, s1;
    mr_read_memstats(&s0);
    many = mr_new_array(&mr_type_pointer, N);
    for (size_t i = 0; i < N; i++) many[i] = mr_new(&triple_type);
    collect();
    mr_read_memstats(&s1);
    CHECK_EQ_U64(mr_object_size(many[0]), 24);
    CHECK(mr_object_size(many) >= (uint64_t)N * 8); /* large: whole pages */
    /* the objects, the array, and less than a page of other runtime objects */
    CHECK(s1.heap_alloc - s0.heap_alloc <= (uint64_t)N * 24 + mr_object_size(many) + 8192);
    many = NULL;
}

/* The pages the heap has handed out that do not map to the span or free
 * run covering them (to a spare record, say). Called with the world stopped
 * (no sweep under way). */
static size_t misplaced_pages(void)
{
    uint64_t sys, inuse;
    mr__heap_sizes(&sys, &inuse);
    size_t npages = (size_t)(sys >> MR_PAGE_SHIFT), bad = 0;
    for (size_t i = 0; i < npages; i++) {
        uintptr_t page = mr__arena_lo + i * MR_PAGE_SIZE;
        mr_span *s = mr__pagemap[i];
        if (!s || page < s->base || page >= s->base + s->npages * MR_PAGE_SIZE) bad++;
    }
    return bad;
}

static void make_300k_garbage(void)
{
    make_garbage(300000);
}

/* Drops many[k] for every k with k % step == phase. */
__attribute__((noinline)) static void drop_some(size_t n, size_t step, size_t phase)
{
    for (size_t k = phase; k < n; k += step) many[k] = NULL;
}

/*
 * The page heap cuts spans from free runs and merges freed spans with their
 * free neighbours, remapping only the pages that change hands. After rounds
 * of large objects of assorted page counts and small objects taking pages
 * from runs that collections emptied, then freed in a scattered order (so
 * that runs merge on either side), every page still names its owner, and
 * every page of a live large object resolves to it.
 */
static void test_page_map_follows_runs_cut_and_merged(void)
{
    enum { N = 600 };
    in_thread(make_300k_garbage);
    collect(); /* a long run of empty pages */
    many = mr_new_array(&mr_type_pointer, N);
    static const size_t pages[] = {5, 9, 6, 17, 5, 33, 7}; /* large: > 32 KiB */
    for (int round = 0; round < 4; round++) {
        for (size_t k = 0; k < N; k++) {
            if (many[k]) continue;
            if (k % 3 == 0)
                many[k] = mr_new(&triple_type);
            else
                many[k] = mr_alloc_blob(pages[(k + round) % 7] * MR_PAGE_SIZE - 64);
        }
        drop_some(N, 2 + round % 3, round % 2);
        collect();
        mr_stop_the_world();
        size_t bad = misplaced_pages();
        mr_start_the_world();
        CHECK_EQ_U64(bad, 0);
        for (size_t k = 0; k < N; k++) {
            if (!many[k] || k % 3 == 0) continue;
            char *b = (char *)many[k];
            size_t size = mr_object_size(b);
            void *start;
            for (size_t off = 0; off < size; off += MR_PAGE_SIZE) {
                CHECK(mr_object_type(b + off, &start) == &mr_type_blob);
                CHECK(start == b);
            }
        }
    }
    many = NULL;
}

/* Objects of two types of one size class, allocated alternately, keep their
 * types; the one with a pointer keeps its target alive, the pointer-free one
 * does not (its bytes are never read as pointers). */
static void test_types_sharing_a_size_class_keep_their_types(void)
{
    enum { N = 5000 };
    many = mr_new_array(&mr_type_pointer, 2 * N);
    for (size_t i = 0; i < N; i++) {
        Triple *t = mr_new(&triple_type);
        Plain *p = mr_new(&plain_type);
        t->next = mr_new(&triple_type);
        p->a = (int64_t)(uintptr_t)mr_new(&triple_type); /* not a pointer field */
        many[2 * i] = t;
        many[2 * i + 1] = (Triple *)p;
    }
    collect();
    size_t freed = 0;
    for (size_t i = 0; i < N; i++) {
        void *start;
        CHECK(mr_object_type(many[2 * i], &start) == &triple_type && start == many[2 * i]);
        CHECK(mr_object_type(many[2 * i + 1], NULL) == &plain_type);
        CHECK(mr_object_type(many[2 * i]->next, NULL) == &triple_type);
        Plain *p = (Plain *)many[2 * i + 1];
        if (!mr_object_type((void *)(uintptr_t)p->a, NULL)) freed++;
    }
    CHECK(freed > N / 2); /* (a slot may have been reused by then) */
    many = NULL;
}

/*
 * Two types whose spans share a way of the thread's allocation cache, taking
 * turns: each allocation hands the other type's span back and caches its
 * own again. The pacer must count what was allocated, not a span's worth of
 * free slots per turn: far below the goal, nothing is collected.
 */
static mr_type way_types[MR_TCACHE_WAYS + 1]; /* more than ways: two share one */

static void test_types_sharing_a_cache_way_do_not_make_the_pacer_collect(void)
{
    enum { N = 20000 };
    int cls = 1;
    while (mr__classes[cls].size < 24) cls++;
    size_t a = 0, b = 0, way_of[MR_TCACHE_WAYS];
    for (size_t i = 0; i < MR_TCACHE_WAYS; i++) way_of[i] = SIZE_MAX;
    for (size_t i = 0; i <= MR_TCACHE_WAYS; i++) {
        way_types[i] = (mr_type){"way", 24, NULL, 0, MR_KIND_STRUCT, NULL};
        size_t w = mr__tcache_way((uintptr_t)&way_types[i] | (uintptr_t)cls << 56);
        if (way_of[w] != SIZE_MAX) {
            a = way_of[w], b = i;
            break;
        }
        way_of[w] = i;
    }
    CHECK(a != b);
    collect();
    mr_memstats s0, s1;
    mr_read_memstats(&s0);
    uint64_t est0 = atomic_load(&mr__heap_live_estimate);
    for (size_t i = 0; i < N; i++) {
        mr_new(&way_types[a]);
        mr_new(&way_types[b]);
    }
    uint64_t est1 = atomic_load(&mr__heap_live_estimate);
    mr_read_memstats(&s1);
    /* 2N objects of 24 bytes (960 KB), each type's last span counted whole */
    uint64_t span = (uint64_t)mr__classes[cls].npages * MR_PAGE_SIZE;
    CHECK(est1 - est0 <= (uint64_t)2 * N * 24 + 2 * span);
    CHECK_EQ_U64(s1.num_gc, s0.num_gc); /* the goal is at least 4 MiB above */
}

/* ---- the pause: recorded per cycle, and the sweep is not in it ---- */

static void *garbage_probe; /* hidden (xor) address of a dead object */
static int probe_present_at_end = -1;

static void probe_on_gc(void *ud, mr_gc_event ev, uint32_t cycle)
{
    (void)ud, (void)cycle;
    if (ev != MR_GC_END) return;
    void *p = (void *)((uintptr_t)garbage_probe ^ 0x5555);
    probe_present_at_end = mr_object_type(p, NULL) != NULL;
}

__attribute__((noinline)) static void make_probe(void)
{
    Node *n = mr_new(&node_type);
    garbage_probe = (void *)((uintptr_t)n ^ 0x5555);
}

static void test_sweep_runs_after_the_pause_and_mr_gc_waits_for_it(void)
{
    make_probe();
    clobber_stack();
    mr_hooks h = {0};
    h.on_gc = probe_on_gc;
    mr_set_hooks(&h);
    collect();
    mr_set_hooks(NULL);
    void *p = (void *)((uintptr_t)garbage_probe ^ 0x5555);
    /* still allocated (unswept) when the world restarts ... */
    CHECK(probe_present_at_end == 1);
    /* ... and swept by the time mr_gc() returns */
    if (EXACT_RECLAIM) CHECK(mr_object_type(p, NULL) == NULL);
}

static void test_each_cycle_records_its_pause(void)
{
    mr_memstats s0, s1;
    mr_read_memstats(&s0);
    uint64_t sum = 0;
    for (int i = 0; i < 3; i++) {
        collect();
        mr_gc_pause gp;
        mr_gc_pause_now(&gp);
        mr_memstats s;
        mr_read_memstats(&s);
        CHECK_EQ_U64(gp.cycle, s.num_gc);
        CHECK(gp.pause_ns > 0);
        CHECK(gp.pause_ns >= gp.stop_ns + gp.sweep_term_ns + gp.mark_ns + gp.hooks_ns);
        CHECK_EQ_U64(s.pause_ns[(s.num_gc + 255) % 256], gp.pause_ns);
        sum += gp.pause_ns;
    }
    mr_read_memstats(&s1);
    CHECK_EQ_U64(s1.num_gc, s0.num_gc + 3);
    CHECK_EQ_U64(s1.pause_total_ns - s0.pause_total_ns, sum);
}

int main(void)
{
    TEST_IN_THREAD(test_alloc_returns_zeroed_typed_objects);
    TEST_IN_THREAD(test_the_heap_asks_for_no_huge_pages);
    TEST_IN_THREAD(test_strings_are_heap_objects);
    TEST_IN_THREAD(test_helpers_mark_only_heaps_with_work_to_share);
    TEST_IN_THREAD(test_unreachable_objects_are_reclaimed);
    TEST_IN_THREAD(test_global_keeps_its_list_alive);
    TEST_IN_THREAD(test_local_variable_is_a_root_until_its_frame_is_gone);
    TEST_IN_THREAD(test_pin_keeps_object_alive_until_unpinned);
    TEST_IN_THREAD(test_unregistered_global_is_no_root);
    TEST_IN_THREAD(test_arrays_are_scanned_element_by_element);
    TEST_IN_THREAD(test_large_arrays_are_scanned_in_parts);
    TEST_IN_THREAD(test_ten_million_long_chain_is_marked);
    TEST_IN_THREAD(test_chains_through_interior_links_are_marked);
    TEST_IN_THREAD(test_tree_of_two_types_survives_collections);
    TEST_IN_THREAD(test_hooks_see_samples_frees_and_cycles);
    TEST_IN_THREAD(test_hooks_are_told_the_programs_call);
    TEST_IN_THREAD(test_pacing_collects_automatically);
    TEST_IN_THREAD(test_gc_percent_off_disables_automatic_collection);
    TEST_IN_THREAD(test_walk_roots_names_globals_and_frames);
    TEST_IN_THREAD(test_thread_local_storage_is_no_frame);
#if HAVE_HOLD_IN_REGISTERS
    TEST_IN_THREAD(test_saved_registers_belong_to_the_frame_that_owns_them);
    TEST_IN_THREAD(test_parked_thread_registers_belong_to_the_frame_that_owns_them);
    TEST_IN_THREAD(test_a_library_callers_registers_are_found_where_the_library_saved_them);
    TEST_IN_THREAD(test_blocked_thread_keeps_its_callers_registers);
#endif
    TEST_IN_THREAD(test_global_keeps_its_map_alive);
    TEST_IN_THREAD(test_iterator_keeps_its_map_alive_until_its_frame_returns);
    TEST_IN_THREAD(test_walk_is_ordered_and_bulk_resolve_matches_is_marked);
    TEST_IN_THREAD(test_objects_take_their_size_class_and_no_more);
    TEST_IN_THREAD(test_types_sharing_a_size_class_keep_their_types);
    TEST_IN_THREAD(test_page_map_follows_runs_cut_and_merged);
    TEST_IN_THREAD(test_types_sharing_a_cache_way_do_not_make_the_pacer_collect);
    TEST_IN_THREAD(test_sweep_runs_after_the_pause_and_mr_gc_waits_for_it);
    TEST_IN_THREAD(test_each_cycle_records_its_pause);
    TEST_IN_THREAD(test_walk_maps_lists_exactly_the_live_maps);
    TEST_IN_THREAD(test_last_insert_names_the_programs_call);
    TEST_IN_THREAD(test_gc_cycle_figures_and_rate_change_inside_a_collection);
    TEST(test_main_thread_local_variable_is_a_root); /* on the main thread */
    TEST_EXIT();
}
