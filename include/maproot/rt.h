/*
 * maproot/rt.h -- libmaprt, a garbage-collected runtime for C with Go-style maps.
 *
 * The contract of the runtime. Programs allocate typed objects, strings, blobs and
 * maps from a garbage-collected heap; the collector is a stop-the-world, non-moving
 * mark-sweep collector that finds live objects from roots:
 *   - globals registered with MR_GLOBAL (precise: the variable holds a pointer),
 *   - pins taken with mr_pin (objects referenced from malloc'd memory),
 *   - the stacks and saved registers of every attached thread (conservative),
 *   - live map iterators (mr_map_iter, see below).
 * Heap objects are scanned precisely from their type's pointer offsets.
 *
 * Threads. Every thread that touches the heap is a mutator. A thread is attached
 * automatically on its first runtime call (or explicitly by mr_thread_attach) and
 * detached when it exits (or by mr_thread_detach). A collection stops every
 * attached thread at a safepoint: each runtime call (allocation, map operation)
 * is one, and mr_safepoint() is one for loops that call nothing else.
 *
 * THE BLOCKING RULE: a mutator that is about to block outside the runtime (sleep,
 * read, join, a lock wait, a condition wait) must bracket the call with
 * mr_blocking_enter() / mr_blocking_exit(), like Go's entersyscall. While inside,
 * the thread counts as stopped: the collector scans the stack it had at
 * mr_blocking_enter and runs without waiting for it. Between the two calls the
 * thread must not touch heap objects (it may hold pointers to them; those stay
 * valid because they are on its scanned stack). A mutator that blocks without
 * the bracket stalls every collection until it wakes up.
 *
 * THE PAUSE. A collection stops every attached thread for the whole of its
 * marking (roots, then every reachable object, on MR_GC_THREADS threads):
 * that stop-the-world pause grows with the live heap (tens to hundreds of
 * milliseconds for millions of objects). Freeing the dead objects is not in
 * it: spans are swept afterwards, lazily when a thread allocates from them,
 * by a background thread, and at the latest when the next collection starts.
 * mr_memstats.pause_ns and MR_GCTRACE report each cycle's pause.
 *
 * Misuse that would corrupt memory (assignment to a nil map, two threads writing
 * one map at once, a pointer that is not a heap object passed to mr_pin) stops
 * the program with a message naming the call, as Go's runtime throws.
 *
 * Environment: MR_GOGC=N (default 100) sets the heap growth percentage that
 * triggers a collection; MR_GOGC=off disables automatic collection.
 * MR_GC_THREADS=N sets the number of threads that mark (default: the online
 * CPUs, at most 8; the others join the collecting thread only once it has
 * work to hand over, so a small heap is marked by one). MR_GCTRACE=1 prints one line per collection to stderr
 * (the stop-the-world pause and its phases, heap before and after), like
 * GODEBUG=gctrace=1.
 */
#ifndef MAPROOT_RT_H
#define MAPROOT_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- types --- */

typedef enum mr_type_kind {
    MR_KIND_STRUCT = 0, /* a C struct described by MR_TYPE */
    MR_KIND_ARRAY,      /* an array object: see mr_new_array; ->elem is the element */
    MR_KIND_BLOB,       /* pointer-free bytes (mr_alloc_blob) */
    MR_KIND_STRING,     /* the immutable bytes behind an mr_str */
    MR_KIND_MAP_HEADER, /* an mr_map */
    MR_KIND_BUCKET,     /* a map bucket (8 slots) */
    MR_KIND_RUNTIME,    /* other runtime-internal objects (overflow lists, etc.) */
} mr_type_kind;

/*
 * A type descriptor: what the collector needs to scan an object precisely and
 * what tools show for it. Descriptors are immutable and must outlive the heap
 * (declare them with static storage, normally with MR_TYPE / MR_TYPE_NOPTR).
 * ptr_offsets lists the byte offset of every pointer-sized field that may hold
 * a heap pointer, in increasing order; each must be 8-byte aligned.
 */
typedef struct mr_type {
    const char *name;
    size_t size;
    const uint32_t *ptr_offsets;
    uint32_t nptrs;
    mr_type_kind kind;
    const struct mr_type *elem; /* arrays: element type; otherwise NULL */
} mr_type;

/* The offset of a pointer field, for MR_TYPE's list. */
#define MR_FIELD(ctype, field) ((uint32_t)offsetof(ctype, field))

/* Declares `const mr_type var` for struct type `ctype`; the rest are MR_FIELD()s. */
#define MR_TYPE(var, ctype, ...)                                                                   \
    static const uint32_t var##_ptr_offsets_[] = {__VA_ARGS__};                                    \
    const mr_type var = {#ctype,                                                                   \
                         sizeof(ctype),                                                            \
                         var##_ptr_offsets_,                                                       \
                         (uint32_t)(sizeof(var##_ptr_offsets_) / sizeof(uint32_t)),                \
                         MR_KIND_STRUCT,                                                           \
                         NULL}

/* Declares `const mr_type var` for a struct type without heap pointers. */
#define MR_TYPE_NOPTR(var, ctype)                                                                  \
    const mr_type var = {#ctype, sizeof(ctype), NULL, 0, MR_KIND_STRUCT, NULL}

/* Built-in descriptors for common value layouts. */
extern const mr_type mr_type_pointer; /* one heap pointer (8 bytes) */
extern const mr_type mr_type_int64;   /* 8 pointer-free bytes */
extern const mr_type mr_type_str;     /* an mr_str (pointer + length) */
extern const mr_type mr_type_blob;    /* the descriptor of blob objects */
extern const mr_type mr_type_string;  /* the descriptor of string data objects */

/* ----------------------------------------------------------- allocation --- */

/* A zeroed object of type t. Never returns NULL (out of memory stops the program). */
void *mr_new(const mr_type *t);

/* A zeroed array of n elements of type elem (an object of kind MR_KIND_ARRAY). */
void *mr_new_array(const mr_type *elem, size_t n);

/* n zeroed pointer-free bytes; the collector never looks inside. */
void *mr_alloc_blob(size_t n);

/*
 * An immutable string: ptr points at len bytes (followed by a NUL for
 * convenience) inside a heap object of kind MR_KIND_STRING. Pass and store it by
 * value; the pointer keeps the bytes alive wherever the collector scans it.
 */
typedef struct mr_str {
    const char *ptr;
    size_t len;
} mr_str;

mr_str mr_str_new(const char *bytes, size_t len);
mr_str mr_str_from(const char *cstr);
mr_str mr_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool mr_str_eq(mr_str a, mr_str b);

/* The size the allocator actually reserved for obj (its size class), or 0 if
 * obj is not the start of a live heap object. */
size_t mr_object_size(const void *obj);

/* The type of the heap object containing p (interior pointers allowed) and its
 * start, or NULL if p does not point into an allocated object. */
const mr_type *mr_object_type(const void *p, void **start);

/* --------------------------------------------------------------- roots --- */

/* A registered global: the variable at addr holds one heap pointer (or NULL).
 * name and file are kept, not copied: they must live as long as the
 * registration. Thread-safe, also on a thread that is not attached and while
 * a collection runs (the collection waits for the list to be whole). */
void mr_register_global(void **addr, const char *name, const char *file, int line);

/* Ends the registration of the global at addr (the latest one, if it was
 * registered more than once; nothing if it is not registered): from now on
 * it is no root, and no collection reads it. A library that registers
 * globals and may be unloaded should end their registrations before
 * dlclose unmaps the variables and their names (MR_UNREGISTER_GLOBAL), not
 * from a destructor: at exit those run before the exit-time snapshot and
 * profile are written, which would then miss the globals. If it does not,
 * the registration goes with the library: a registration remembers which
 * loaded module holds addr (by load address and file name), and the next
 * collection or root walk drops those of modules dlclose has unloaded,
 * without reading them. (Only the same file loaded again at the same
 * address before then keeps the old registration, which then names the new
 * copy's variable.) A collection running while another thread is inside
 * dlclose (blocking, see mr_blocking_enter) may still read a variable being
 * unmapped: where that can happen, end the registrations first. Addresses
 * in no module (heap, mmap'ed memory) stay registered until ended.
 * Thread-safe. */
void mr_unregister_global(void **addr);

/*
 * MR_GLOBAL(var): at file scope, after `static T *var;`, registers var as a root
 * with its name, file and line before main() runs (or when the shared library
 * that declares it is loaded). MR_UNREGISTER_GLOBAL(var) ends the registration.
 */
#define MR_GLOBAL(var)                                                                             \
    __attribute__((constructor)) static void mr_register_global_##var##_(void)                     \
    {                                                                                              \
        mr_register_global((void **)&(var), #var, __FILE__, __LINE__);                             \
    }
#define MR_UNREGISTER_GLOBAL(var) mr_unregister_global((void **)&(var))

/* Pins obj (a heap object, or NULL) so it stays alive while referenced from
 * memory the collector cannot see; returns a handle for mr_unpin. `why` is a
 * static label shown by tools (may be NULL). Thread-safe. */
typedef uint32_t mr_pin_handle;
mr_pin_handle mr_pin(void *obj, const char *why);
void mr_unpin(mr_pin_handle h);
void *mr_pinned(mr_pin_handle h);

/*
 * Fiber stacks: stacks the program allocates itself (malloc, mmap) and
 * runs code on (makecontext/swapcontext, a coroutine library). The runtime
 * cannot find them: the words of a suspended fiber's frames are roots only
 * if its stack is registered, and a thread that runs on a fiber must say
 * so, or a collection would scan from the fiber's stack pointer up to the
 * thread's own stack (the runtime stops with a message instead).
 *
 * mr_stack_register registers [lo, lo + size) (at least 4096 bytes, not
 * overlapping another registered stack or the caller's own) and returns
 * its handle (never 0). `name` is a static label, kept not copied, that
 * tools show as the root of what a suspended fiber's frames keep alive
 * (NULL: "fiber stack"). mr_stack_switch(to), called right before each
 * switch, says the calling thread now goes to the registered stack `to`
 * (0: back to its own): the runtime records where the stack being left
 * stands, its caller's frame and registers, and from then on scans it
 * from there up; a stack no thread has yet run on holds no roots. The
 * caller's callee-saved registers are recorded: a pointer the code loads
 * between this call and the switch is not. An iterator begun on a fiber
 * must be ended on the thread that began it. mr_stack_unregister ends a
 * registration before the program frees the stack (no thread may run on
 * it): its words are no roots any more, and iterators begun on it end.
 * A thread must be back on its own stack to detach. Threads must be
 * attached; registering and unregistering are thread-safe. Under
 * ThreadSanitizer mr_stack_switch also switches TSan to the stack's fiber:
 * the program switches right after it, and a fiber's function ends with
 * a switch, not by returning through uc_link (libmaprt(3)).
 */
typedef uint32_t mr_stack_handle;
mr_stack_handle mr_stack_register(void *lo, size_t size, const char *name);
void mr_stack_unregister(mr_stack_handle h);
void mr_stack_switch(mr_stack_handle to);

/* -------------------------------------------------------------- threads --- */

void mr_thread_attach(void);
void mr_thread_detach(void);
/* Is the calling thread attached (a mutator)? Never attaches it. */
bool mr_thread_is_attached(void);
void mr_safepoint(void);
void mr_blocking_enter(void);
void mr_blocking_exit(void);

/*
 * For exit handlers (atexit, destructors): declares that the calling thread's
 * frames no longer hold program state -- main() has returned, and its old
 * frames' words linger in the exit machinery's stack. From now on the
 * thread's stack, registers and thread-local storage are not roots, so a
 * last collection (e.g.
 * before an exit-time profile or snapshot) sees what globals, pins and other
 * threads keep alive. The thread may still allocate and collect.
 */
void mr_exiting(void);

/* ------------------------------------------------------------------- gc --- */

/* Runs a full collection now and returns when it is complete, sweep
 * included (like Go's runtime.GC()): the world is stopped while marking; the
 * calling thread sweeps after the world restarts. */
void mr_gc(void);

/* Sets the GOGC percentage (negative = off); returns the previous one. */
int mr_set_gc_percent(int percent);

/* Statistics modelled on Go's runtime.MemStats. Byte counts are of objects
 * (size classes included); "sys" counts what the heap took from the OS.
 * Objects that died are counted as freed when their span is swept. A pause
 * is a collection's stop-the-world time, from the request to stop every
 * thread to their restart (stopping, sweep termination, marking, hooks). */
typedef struct mr_memstats {
    uint64_t heap_alloc;     /* bytes of allocated heap objects (live + not yet swept) */
    uint64_t heap_sys;       /* bytes of heap memory obtained from the OS */
    uint64_t heap_inuse;     /* bytes in spans that hold at least one object */
    uint64_t heap_objects;   /* number of allocated heap objects */
    uint64_t total_alloc;    /* cumulative bytes allocated */
    uint64_t mallocs;        /* cumulative count of allocated objects */
    uint64_t frees;          /* cumulative count of freed objects */
    uint64_t next_gc;        /* heap_alloc target of the next automatic collection */
    uint64_t last_gc_ns;     /* end of the last collection, ns since the Unix epoch */
    uint64_t pause_total_ns; /* cumulative stop-the-world pause (Go's PauseTotalNs) */
    uint64_t pause_ns[256];  /* recent pauses, circular, most recent at (num_gc+255)%256 */
    uint32_t num_gc;         /* completed collections */
    int32_t gc_percent;      /* current GOGC (-1 = off) */
} mr_memstats;

void mr_read_memstats(mr_memstats *out);

/* The figures of the last completed collection (all 0 before the first). */
typedef struct mr_gc_cycle {
    uint32_t cycle;          /* its number (num_gc after it) */
    uint64_t end_ns;         /* when its pause ended, ns since the Unix epoch */
    uint64_t pause_ns;       /* its stop-the-world pause */
    uint64_t live_bytes;     /* bytes of the objects it found reachable */
    uint64_t live_objects;   /* and their number */
    uint64_t garbage_bytes;  /* bytes of the heap it found unreachable (the sweep
                                that follows the pause frees them) */
    uint64_t next_gc;        /* heap goal of the next automatic collection */
    uint64_t total_alloc;    /* cumulative bytes allocated, as of its start */
    uint64_t mallocs;        /* cumulative objects allocated, as of its start */
    uint64_t pause_total_ns; /* cumulative pause, this one included */
} mr_gc_cycle;

/*
 * Reads the figures of the last completed collection without stopping the
 * world or attaching the calling thread (unlike mr_read_memstats): for a
 * collector's own threads, and for on_gc at MR_GC_END, where they are
 * already those of the collection that is ending (its pause so far).
 */
void mr_read_gc_cycle(mr_gc_cycle *out);

/* Prints the main figures of *s to stderr-like stream f (a FILE *), one line each. */
void mr_print_memstats(void *file, const mr_memstats *s);

/* ------------------------------------------------------------------ maps --- */

typedef enum mr_key_kind {
    MR_KEY_INT64 = 0, /* int64_t keys */
    MR_KEY_PTR,       /* pointer keys, compared by address; the key keeps its target alive */
    MR_KEY_STRING,    /* mr_str keys, compared by content */
    MR_KEY_BYTES,     /* fixed-size keys of key_type->size bytes, compared with memcmp */
} mr_key_kind;

/*
 * A map type: how keys are hashed and compared, and the layout of keys and
 * values. key_type is required for MR_KEY_BYTES (it also says which key bytes
 * are pointers); for the other kinds it is optional and informational
 * (e.g. the pointee type of pointer keys). value_type describes a value
 * (e.g. &mr_type_pointer for map[K]*T). Keys and values up to 128 bytes are
 * stored inline in buckets, larger ones in separate objects ("indirect").
 * Declare map types with static storage (const is fine); the runtime keeps
 * the bucket layout it derives from each one on the side.
 */
typedef struct mr_map_type {
    const char *name; /* as tools show it, e.g. "map[string]*Session" */
    mr_key_kind key_kind;
    const mr_type *key_type;
    const mr_type *value_type;
} mr_map_type;

typedef struct mr_map mr_map;

/* A new empty map sized for about `hint` entries. As in Go, the buckets of a
 * map whose keys and values hold no pointers (e.g. map[int64]int64) are
 * pointer-free objects a collection never reads; their overflow buckets are
 * kept alive by a list the map holds (an object of kind MR_KIND_RUNTIME
 * that its header points to), so collecting such a map costs time in
 * proportion to its overflow buckets, not to its size. */
mr_map *mr_map_new(const mr_map_type *t, size_t hint);

/*
 * The slot of key's value, inserting the key with a zeroed value if absent
 * (Go's mapassign). Store into it at once: the next operation on the map may
 * move it. m == NULL stops the program ("assignment to entry in nil map").
 */
void *mr_map_assign(mr_map *m, const void *key);

/* Copies the value of key into *value_out (if not NULL); false if absent. */
bool mr_map_get(mr_map *m, const void *key, void *value_out);

/* Pointer to key's value inside the map, or NULL (valid until the next write). */
void *mr_map_lookup(mr_map *m, const void *key);

/* Sets key to *value (value_type->size bytes). */
void mr_map_set(mr_map *m, const void *key, const void *value);

/* Removes key if present; the bucket array never shrinks. */
void mr_map_delete(mr_map *m, const void *key);

/* Removes every entry; the bucket array is kept (Go's clear). */
void mr_map_clear(mr_map *m);

size_t mr_map_len(const mr_map *m);
const mr_map_type *mr_map_type_of(const mr_map *m);

/*
 * An iterator, normally on the caller's stack. While registered (from
 * mr_map_iter_init until mr_map_iter_done or until mr_map_iter_next returns
 * false) it is a root that keeps its map alive, like an open range loop in Go;
 * one whose stack frame has returned is dropped at the next collection.
 * It belongs to the thread that began it, and no other thread may end it
 * while that thread is attached. One kept off that thread's stack (malloc'd
 * memory, a global, a fiber stack) outlives the thread's detach or exit: it
 * stays a root, its map alive, and any one thread at a time may walk it on
 * and end it; one on the thread's stack ends with the thread.
 * Iteration starts at a random bucket and offset, survives growth of the map,
 * and sees every entry present throughout exactly once. Starting one on a
 * map whose keys and values hold no pointers may allocate (the list of
 * overflow buckets the iterator holds, see mr_map_new).
 * The fields after `value` are private: their layout may change between
 * versions, the size of the struct and the offsets of key and value do not.
 */
typedef struct mr_map_iter {
    const void *key; /* the current entry (valid after next returned true) */
    void *value;
    mr_map *map_; /* private from here on */
    void *buckets_;
    void *bptr_;
    void *overflow_; /* a map without pointers: what keeps the overflow buckets */
    void *oldoverflow_;
    uint32_t bucket_;
    uint32_t start_bucket_;
    uint32_t check_bucket_;
    uint8_t offset_;
    uint8_t i_;
    uint8_t b_;
    uint8_t state_;
    void *thread_; /* the owning thread's id while registered (not a pointer) */
} mr_map_iter;

void mr_map_iter_init(mr_map_iter *it, mr_map *m);
bool mr_map_iter_next(mr_map_iter *it);
void mr_map_iter_done(mr_map_iter *it);

/* Convenience forms for the common key kinds. */
static inline void *mr_map_assign_int(mr_map *m, int64_t k)
{
    return mr_map_assign(m, &k);
}
static inline void *mr_map_lookup_int(mr_map *m, int64_t k)
{
    return mr_map_lookup(m, &k);
}
static inline void mr_map_delete_int(mr_map *m, int64_t k)
{
    mr_map_delete(m, &k);
}
static inline void *mr_map_assign_str(mr_map *m, mr_str k)
{
    return mr_map_assign(m, &k);
}
static inline void *mr_map_lookup_str(mr_map *m, mr_str k)
{
    return mr_map_lookup(m, &k);
}
static inline void mr_map_delete_str(mr_map *m, mr_str k)
{
    mr_map_delete(m, &k);
}

/* ---------------------------------------------- hooks (for the collector) --- */

typedef enum mr_gc_event {
    MR_GC_START,     /* world stopped, before marking */
    MR_GC_MARK_DONE, /* world stopped, marking finished: reachability is exact and
                        the walk API below sees exactly the live objects */
    MR_GC_END,       /* pause over, world about to restart (the sweep follows it) */
} mr_gc_event;

/*
 * The stop-the-world pause of the collection under way, so far: from on_gc
 * (world stopped), or the last collection's whole pause otherwise.
 */
typedef struct mr_gc_pause {
    uint32_t cycle;
    uint64_t start_ns;      /* CLOCK_MONOTONIC when the world was asked to stop */
    uint64_t stop_ns;       /* until every thread had stopped */
    uint64_t sweep_term_ns; /* finishing the previous cycle's sweep */
    uint64_t mark_ns;       /* marking, the packing of the marks included */
    uint64_t hooks_ns;      /* on_gc hooks (MR_GC_START, MR_GC_MARK_DONE) */
    uint64_t pause_ns;      /* since start_ns: until now, or the whole pause */
} mr_gc_pause;

void mr_gc_pause_now(mr_gc_pause *out);

/*
 * The program's call into the runtime behind a sampled allocation, so that a
 * collector can show the program's frames and none of the runtime's (nor its
 * own), in any build: the runtime's entry points know the return address of
 * the program's call, without symbols or debug information.
 *   pc   the return address in the program of its call into the runtime:
 *        the program's innermost frame on the stack is the one returning to
 *        it (a stack walk finds it by this exact address);
 *   map  the call was a map operation (mr_map_new, mr_map_assign,
 *        mr_map_set, mr_map_delete evacuating a growing map, or
 *        mr_map_iter_init on a map without pointers): the allocation is
 *        the map's own (header, buckets, overflow buckets and the lists
 *        that keep them, indirect keys or values), so the frame of that
 *        operation is worth keeping as the place where the map grew.
 */
typedef struct mr_alloc_call {
    uintptr_t pc;
    bool map;
} mr_alloc_call;

/*
 * Hooks for a collector library. Only one set is installed at a time. With
 * none installed, each costs the runtime one predictable branch.
 *   on_alloc  is called for sampled allocations: the runtime keeps a per-thread
 *             countdown of bytes drawn from an exponential distribution with
 *             mean sample_rate (1 = every allocation) and calls on_alloc when it
 *             runs out. The object is then flagged so that on_free is called
 *             in the collection that finds it dead. Runs on the allocating thread; it must
 *             not allocate from the heap nor block on anything a stopped thread
 *             could hold. call says where the program called the runtime.
 *   on_free   is called for flagged objects that died, after MR_GC_MARK_DONE
 *             and before MR_GC_END (world stopped); their memory is
 *             reused only after the sweep that follows.
 *   on_gc     is called at each event of a collection, world stopped, on the
 *             thread that runs the collection.
 */
typedef struct mr_hooks {
    void *ud;
    uint64_t sample_rate;
    void (*on_alloc)(void *ud, void *obj, size_t size, const mr_type *t, const mr_alloc_call *call);
    void (*on_free)(void *ud, void *obj, size_t size);
    void (*on_gc)(void *ud, mr_gc_event ev, uint32_t cycle);
} mr_hooks;

/* Installs *h (copied), or removes the hooks when h is NULL. */
void mr_set_hooks(const mr_hooks *h);

/*
 * Changes the sampling rate of the installed hooks (0: no sampling) without
 * stopping the world: only while it is stopped, i.e. from on_gc or between
 * mr_stop_the_world() and mr_start_the_world(). Every thread draws its next
 * gap with the new rate. Does nothing when no hooks are installed.
 */
void mr_set_sample_rate(uint64_t rate);

/*
 * For a library on the runtime (the collector) whose own public functions
 * call the runtime: brackets such a function, so that what the runtime does
 * inside it (allocations, stops, collections, stack roots of the calling
 * thread) is charged to the program's call of that function, whose return
 * address is `caller` (__builtin_return_address(0) in a function that is
 * never inlined, which calls mr_call_begin itself). Calls nest; the
 * outermost one counts. On a thread that is not attached it does nothing.
 * mr_call_end takes what mr_call_begin returned.
 * Inside the bracket the thread's stack roots are the program's frames and
 * registers as they will be when the library's function returns: the
 * library's own frames are not scanned (they hold stale words of earlier
 * calls), so such a library must keep no heap pointer in them that it needs
 * kept alive.
 */
uintptr_t mr_call_begin(const void *caller);
void mr_call_end(uintptr_t outer);

/* ------------------------------------------------------------ walk API --- */
/*
 * The walk API shows the heap as the collector sees it. Its functions may only
 * be called while the world is stopped: from on_gc (MR_GC_START, MR_GC_MARK_DONE)
 * or inside mr_stop_the_world() ... mr_start_the_world().
 */

void mr_stop_the_world(void);
void mr_start_the_world(void);

typedef enum mr_root_kind {
    MR_ROOT_GLOBAL = 0,
    MR_ROOT_STACK,
    MR_ROOT_REGISTER,
    MR_ROOT_PIN,
    MR_ROOT_ITERATOR,
    MR_ROOT_RUNTIME,
} mr_root_kind;

/* One root word and what it points at. Strings belong to the runtime. */
typedef struct mr_root {
    mr_root_kind kind;
    void *target;     /* start of the heap object the root points into */
    const void *slot; /* address of the root word (stack slot, global, ...) */
    const char *name; /* global: its name; pin: its label; register: its name */
    const char *file; /* global: where it is declared */
    int line;
    uint32_t thread;      /* stack/register/iterator: the runtime's thread number */
    uint32_t frame;       /* stack/register/iterator: frame index, 0 = innermost */
    uintptr_t ip;         /* stack/register/iterator: the frame's instruction pointer */
    const char *function; /* stack/register/iterator: the frame's function, if known */
    uintptr_t frame_sp;   /* stack/iterator: the frame's lowest address (its stack
                             pointer), 0 unknown: slot - frame_sp is the word's place
                             in its frame, the same in every call of the function */
    /* runtime, a word of a thread's static thread-local storage: the file of
     * the module whose block holds it ("" the program itself), and the word's
     * offset in that block -- the same variable of every thread; NULL none */
    const char *tls_module;
    size_t tls_offset;
} mr_root;

/*
 * Calls fn for every root word that points into a heap object. With
 * attribute_frames, stack and register roots are attributed to frames by
 * unwinding with libunwind (slower); otherwise frame/ip/function are 0/NULL.
 * The frame of a register is the one that owned its value: a callee-saved
 * register still live in the thread's saved context, or a stack word where
 * a callee saved it (then reported as a register, MR_ROOT_REGISTER, of the
 * frame it was saved for, not as a word of the callee's frame; where a callee
 * saved a value and left the register as it was, the value is reported
 * once). The words of a registered iterator are reported once, as
 * MR_ROOT_ITERATOR, wherever it lies: on a thread's stack they are not also
 * stack words of its frame. A thread's static thread-local storage (its __thread variables
 * and those of the libraries loaded with the program) is scanned
 * conservatively and reported as MR_ROOT_RUNTIME named "thread-local
 * storage of thread N", for every thread, the main thread included: for a
 * thread pthread_create made, the C library keeps it in the thread's stack
 * mapping above its outermost frame, and every word there (no frame's) is
 * reported so; the main thread's lies where the dynamic linker put it.
 * The thread-local variables of a library loaded later with dlopen are no
 * promised roots: the C library allocates their storage apart, on first
 * use (dynamic TLS), and such storage is not scanned; an object only they
 * refer to must be pinned. The calling thread's
 * stack roots are those of the code that
 * stopped the world (the caller of mr_stop_the_world, or of the collection),
 * not the runtime's own frames; frame 0 is the program's innermost frame.
 */
void mr_walk_roots(bool attribute_frames, void (*fn)(const mr_root *r, void *ud), void *ud);

/* Calls fn for every allocated object, in increasing address order; with
 * live_only (valid at MR_GC_MARK_DONE) only for the objects marked reachable.
 * count is the number of elements for arrays, 1 otherwise. */
void mr_walk_objects(bool live_only,
                     void (*fn)(void *obj, size_t size, const mr_type *t, size_t count, void *ud),
                     void *ud);

/* Calls fn for each non-NULL heap pointer in obj: offset is the byte offset of
 * the field, to the start of the target object. */
void mr_walk_edges(void *obj, void (*fn)(void *obj, size_t offset, void *to, void *ud), void *ud);

/* Is the object containing p marked in the current cycle (only meaningful
 * between MR_GC_MARK_DONE and MR_GC_END). */
bool mr_is_marked(const void *p);

/* mr_is_marked for many pointers at once, for tools that check every pointer
 * field of the heap: starts[i] = the start of the marked object containing
 * ptrs[i], or 0 (NULL, no heap object, not marked). Much faster per pointer
 * than one call each (it prefetches). ptrs and starts may be the same array. */
void mr_resolve_marked(const uintptr_t *ptrs, size_t n, uintptr_t *starts);

/* Map internals, for tools. */
typedef struct mr_map_info {
    const mr_map_type *type;
    uint64_t count;
    uint8_t flags;
    uint8_t B;                   /* log2 of the number of buckets */
    uint16_t noverflow;          /* approximate number of overflow buckets (Go's rule) */
    uint32_t hash0;              /* the seed */
    void *buckets;               /* array object of 2^B buckets */
    void *oldbuckets;            /* during growth: the previous array, else NULL */
    uint64_t nevacuate;          /* old buckets below this index are evacuated */
    size_t bucket_size;          /* bytes of one bucket */
    size_t key_size, value_size; /* as stored in the slot (8 when indirect) */
    bool key_indirect, value_indirect;
} mr_map_info;

void mr_map_get_info(const mr_map *m, mr_map_info *out);

/* One occupied slot of a map, as the walk finds it. */
typedef struct mr_map_slot {
    bool old;          /* in oldbuckets (not yet evacuated) */
    uint64_t bucket;   /* index in its bucket array */
    uint32_t overflow; /* 0 = the bucket itself, k = k-th overflow bucket */
    uint8_t slot;      /* 0..7 */
    uint8_t tophash;
    void *bucket_obj; /* the bucket object (heap) holding the slot */
    const void *key;  /* the key bytes (after following an indirect key) */
    void *value;      /* the value bytes (after following an indirect value) */
} mr_map_slot;

/* Calls on_bucket for every bucket object (main and overflow, new and old) and
 * on_slot for every occupied slot. Either may be NULL. The lists that keep
 * the overflow buckets of a map without pointers are not buckets: they are
 * the objects of kind MR_KIND_RUNTIME the header reaches (mr_walk_edges). */
void mr_map_walk(const mr_map *m,
                 void (*on_bucket)(void *bucket, bool old, uint64_t index, uint32_t overflow,
                                   void *ud),
                 void (*on_slot)(const mr_map_slot *s, void *ud), void *ud);

/*
 * Calls fn for every map whose header is allocated, with the map's id (a
 * number unique to it for the life of the process: maps made after the
 * first walk are numbered on from those before, in the order they were
 * made). At MR_GC_MARK_DONE these are exactly the live maps. The first walk
 * finds the maps in the heap's spans of map headers, then the runtime keeps
 * a list of its maps: later walks cost time in proportion to the number of
 * maps, not to the size of the heap. Until the first walk, keeping no list
 * costs mr_map_new one branch.
 */
void mr_walk_maps(void (*fn)(mr_map *m, uint64_t id, void *ud), void *ud);

/*
 * Where map m last grew: the return address in the program of the call that
 * last inserted a new key (as mr_alloc_call.pc), or 0 if none ever did; *op
 * (if op is not NULL) gets that operation's name ("mr_map_assign",
 * "mr_map_set"), or NULL.
 */
uintptr_t mr_map_last_insert(const mr_map *m, const char **op);

/* Renders a key for people: strings quoted and escaped, cut at 64 bytes;
 * integers in decimal; pointers and other bytes in hex (cut at 64 bytes). A
 * key cut short ends in "... (N bytes, #H)": its length and the FNV-1a 64
 * of all its bytes in 16 hex digits, so that keys alike in their first 64
 * bytes still render apart. At most 320 bytes. Returns the length that was
 * needed (snprintf semantics). */
size_t mr_map_render_key(const mr_map_type *t, const void *key, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
