/*
 * src/rt/roots.c -- the roots: globals, pins, live iterators, thread stacks
 * and saved registers.
 *
 * Globals and pins are precise (the registered word is a heap pointer or
 * NULL). Stacks and registers are conservative: every aligned word that
 * points into an allocated object keeps it alive, since C gives us no stack
 * maps. Iterators are registered per thread; an iterator whose address lies
 * in its thread's stack below the thread's current stack pointer belongs to a
 * frame that has returned and is dropped. An iterator kept off its thread's
 * stack outlives the thread: when the thread detaches it joins the orphans,
 * roots of no thread, until some thread ends it.
 *
 * A thread that runs on a fiber stack the program registered (fiber.h) is
 * scanned on that stack from its stack pointer up, and on its own stack
 * from where it left it; a suspended fiber's stack is scanned from where
 * its thread left it. A thread found on a stack the runtime was not told
 * of stops the program: the range to scan is unknown.
 *
 * A thread's static thread-local storage is scanned conservatively too, as
 * its own root: for a thread that pthread_create made the C library keeps it
 * at the top of the stack mapping, scanned with the stack; for the main
 * thread (and threads on stacks of their own) it lies elsewhere, found from
 * the thread pointer and each module's block offset (modules.h).
 *
 * The same enumeration serves two masters: marking (a bare callback per
 * word, as fast as possible) and the walk API (a described mr_root per word,
 * with stack words attributed to frames by unwinding with libunwind). A
 * stack word where a callee saved a callee-saved register belongs to the
 * frame that owned the register, not to the callee whose frame it lies in:
 * libunwind says where each frame's registers were saved.
 */
#include "rt/fiber.h"
#include "rt/handles.h"
#include "rt/modules.h"
#include "rt/thread.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- globals -- */

/* A registered global; in_module: the variable lies in loaded module
 * `module` (else in memory no module owns, which dlclose cannot unmap). */
typedef struct global_root {
    void **addr;
    const char *name, *file;
    int line;
    bool in_module;
    mr_module_id module;
} global_root;

/* Invariant: globals, nglobals, cap_globals and the pins are read and
 * written only under roots_lock. Stopping the world is not enough for the
 * globals: a thread that is not attached (a dlopen constructor, a library's
 * own thread) registers and unregisters them while the world is stopped.
 * A thread never waits for the world while it holds the lock. */
static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static global_root *globals;
static size_t nglobals, cap_globals;

/* A fork while another thread holds roots_lock (the collector forks its
 * snapshot writer, whose child walks the roots) would leave the child's
 * copy locked for ever and the list maybe half-changed: the fork waits
 * until the list is whole, and both sides go on with it unlocked. */
static void roots_fork_prepare(void)
{
    pthread_mutex_lock(&roots_lock);
    mr__fiber_fork_prepare(); /* the fiber stacks are roots too */
}

static void roots_fork_after(void)
{
    mr__fiber_fork_after();
    pthread_mutex_unlock(&roots_lock);
}

static pthread_once_t roots_fork_once = PTHREAD_ONCE_INIT;

static void roots_fork_init(void)
{
    if (pthread_atfork(roots_fork_prepare, roots_fork_after, roots_fork_after) != 0)
        mr__throw("out of memory (fork handlers of the roots)");
}

void mr__roots_fork_order(void)
{
    pthread_once(&roots_fork_once, roots_fork_init);
}

/* Takes roots_lock, first making sure a fork cannot copy it held. */
static void roots_lock_take(void)
{
    mr__roots_fork_order();
    pthread_mutex_lock(&roots_lock);
}

/* May run from a constructor before main(), before the runtime is
 * initialized, or from one that dlopen runs (then the module being loaded
 * is already known to the dynamic linker), on any thread, attached or not,
 * even while the world is stopped. */
void mr_register_global(void **addr, const char *name, const char *file, int line)
{
    global_root g = {addr, name, file, line, false, {0, 0}};
    g.in_module = mr__module_of((uintptr_t)addr, &g.module);
    roots_lock_take();
    if (nglobals == cap_globals) {
        cap_globals = cap_globals ? cap_globals * 2 : 64;
        global_root *v = realloc(globals, cap_globals * sizeof *v);
        if (!v) mr__throw("out of memory (global roots)");
        globals = v;
    }
    globals[nglobals++] = g;
    pthread_mutex_unlock(&roots_lock);
}

/*
 * Drops the registrations of globals whose module dlclose has unloaded
 * (their variables and names are gone from the address space), keeping the
 * others in order. Runs before the globals are read, with the world
 * stopped; costs one step of dl_iterate_phdr unless a module was unloaded
 * since the last look.
 */
static void drop_unloaded_globals(void)
{
    if (!mr__modules_update()) return;
    roots_lock_take();
    size_t j = 0;
    for (size_t i = 0; i < nglobals; i++)
        if (!globals[i].in_module ||
            mr__module_loaded((uintptr_t)globals[i].addr, globals[i].module))
            globals[j++] = globals[i];
    nglobals = j;
    pthread_mutex_unlock(&roots_lock);
}

/*
 * Runs before dlclose unmaps the module that declares the global (or when
 * the program stops using a variable as a root): a collection after that
 * must neither read the variable nor the name and file strings. The latest
 * registration goes, and the others keep their order (roots are listed in
 * the order they were registered). A module unloaded without it loses its
 * registrations at the next collection (drop_unloaded_globals).
 */
void mr_unregister_global(void **addr)
{
    roots_lock_take();
    for (size_t i = nglobals; i-- > 0;) {
        if (globals[i].addr != addr) continue;
        memmove(&globals[i], &globals[i + 1], (nglobals - i - 1) * sizeof *globals);
        nglobals--;
        break;
    }
    pthread_mutex_unlock(&roots_lock);
}

/* ------------------------------------------------------------------- pins -- */

typedef struct pin {
    void *obj;
    const char *why;
} pin;

static mr_handles pins = MR_HANDLES_INIT(pin, 64);

mr_pin_handle mr_pin(void *obj, const char *why)
{
    mr__me();
    if (obj) {
        void *start;
        if (!mr_object_type(obj, &start) || start != obj)
            mr__throw("mr_pin: %p is not the start of a heap object", obj);
    }
    roots_lock_take();
    uint32_t h = mr__handles_add(&pins);
    if (!h) mr__throw("out of memory (pins)");
    *(pin *)mr__handles_get(&pins, h) = (pin){obj, why};
    pthread_mutex_unlock(&roots_lock);
    return h; /* 0 is never a valid handle */
}

void mr_unpin(mr_pin_handle h)
{
    roots_lock_take();
    if (!mr__handles_get(&pins, h)) {
        pthread_mutex_unlock(&roots_lock);
        mr__throw("mr_unpin: %u is not a pinned handle", h);
    }
    mr__handles_remove(&pins, h);
    pthread_mutex_unlock(&roots_lock);
}

void *mr_pinned(mr_pin_handle h)
{
    roots_lock_take();
    pin *p = mr__handles_get(&pins, h);
    void *obj = p ? p->obj : NULL;
    pthread_mutex_unlock(&roots_lock);
    return obj;
}

/* -------------------------------------------------------------- iterators -- */

/*
 * Has the frame holding iterator p returned? Only a frame on one of t's
 * stacks can have: the stack it runs on, below sp (its stack pointer), or
 * its own stack while it runs on a fiber, below where it left it. An
 * iterator elsewhere (a suspended fiber's stack, memory the program
 * allocated) lives until it is done or its fiber stack is unregistered.
 */
static bool frame_is_gone(const mr_thread *t, const void *p, uintptr_t sp)
{
    uintptr_t a = (uintptr_t)p;
    if (a >= t->cur_lo && a < t->cur_hi) return a < sp;
    return t->fiber && a >= t->stack_lo && a < t->own_sp;
}

/*
 * The upper end of the stack t runs on, after checking that sp (its saved
 * stack pointer) lies in it. A thread that switched to a stack of its own
 * without mr_stack_switch (or runs a signal handler on an alternate stack
 * that calls the runtime) would have the words between that stack and the
 * thread's own scanned, unmapped memory included, and its fiber's frames
 * missed: the runtime stops with a message rather than guess.
 */
static uintptr_t current_stack_top(const mr_thread *t, uintptr_t sp)
{
    if (sp < t->cur_lo || sp > t->cur_hi)
        mr__throw("thread %u runs on a stack the runtime does not know (stack pointer %#lx, "
                  "outside [%#lx, %#lx)): register fiber stacks with mr_stack_register and call "
                  "mr_stack_switch before each switch",
                  t->id, (unsigned long)sp, (unsigned long)t->cur_lo, (unsigned long)t->cur_hi);
    return t->cur_hi;
}

/*
 * Iterators left open by threads that detached (or exited), under
 * roots_lock. An iterator kept in memory of the program's own (malloc'd,
 * a global, a registered fiber stack) outlives the thread that began it:
 * it stays a root that keeps its map alive, belonging to no thread, until
 * some thread ends it (mr_map_iter_done, or the mr_map_iter_next that
 * reaches its end). Without this list, the map it reads could be swept
 * under it. orphans_open mirrors norphans for a check without the lock.
 */
static mr_map_iter **orphans;
static size_t norphans, cap_orphans;
static atomic_size_t orphans_open;

/* Removes it from the orphans if it is one (roots_lock held). */
static bool orphan_remove_locked(const mr_map_iter *it)
{
    for (size_t i = norphans; i-- > 0;) {
        if (orphans[i] == it) {
            orphans[i] = orphans[--norphans];
            atomic_store_explicit(&orphans_open, norphans, memory_order_relaxed);
            return true;
        }
    }
    return false;
}

static bool orphan_remove(const mr_map_iter *it)
{
    if (!atomic_load_explicit(&orphans_open, memory_order_relaxed)) return false;
    roots_lock_take();
    bool found = orphan_remove_locked(it);
    pthread_mutex_unlock(&roots_lock);
    return found;
}

/*
 * Called as t detaches (sched_lock held, no collection running): its open
 * iterators outside its own stack become orphans; those on its stack end
 * with it, as every other word there stops being a root (they are not
 * written: the frames that held them may be gone and their memory reused).
 */
void mr__iters_orphan(mr_thread *t)
{
    roots_lock_take();
    for (size_t i = 0; i < t->niters; i++) {
        uintptr_t a = (uintptr_t)t->iters[i];
        if (a >= t->stack_lo && a < t->stack_hi) continue;
        if (norphans == cap_orphans) {
            size_t cap = cap_orphans ? cap_orphans * 2 : 8;
            mr_map_iter **v = realloc(orphans, cap * sizeof *v);
            if (!v) mr__throw("out of memory (iterator registry)");
            orphans = v;
            cap_orphans = cap;
        }
        orphans[norphans++] = t->iters[i];
    }
    atomic_store_explicit(&orphans_open, norphans, memory_order_relaxed);
    pthread_mutex_unlock(&roots_lock);
    t->niters = 0;
}

/*
 * Ends the iterators that lie in [lo, hi), a fiber stack being unregistered
 * (world stopped): every thread's and the orphans. They are done as far as
 * the runtime knows; the program frees their memory next.
 */
void mr__iters_end_in(uintptr_t lo, uintptr_t hi)
{
    for (mr_thread *t = mr__threads; t; t = t->next) {
        size_t j = 0;
        for (size_t i = 0; i < t->niters; i++) {
            uintptr_t a = (uintptr_t)t->iters[i];
            if (a >= lo && a < hi)
                t->iters[i]->thread_ = NULL;
            else
                t->iters[j++] = t->iters[i];
        }
        t->niters = j;
    }
    roots_lock_take();
    size_t j = 0;
    for (size_t i = 0; i < norphans; i++) {
        uintptr_t a = (uintptr_t)orphans[i];
        if (a >= lo && a < hi)
            orphans[i]->thread_ = NULL;
        else
            orphans[j++] = orphans[i];
    }
    norphans = j;
    atomic_store_explicit(&orphans_open, norphans, memory_order_relaxed);
    pthread_mutex_unlock(&roots_lock);
}

void mr__iter_register(mr_map_iter *it)
{
    mr_thread *t = mr__me();
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    /* Drop iterators of frames that have returned (and any stale entry for
     * this very address), so the list stays as short as the live loops. */
    size_t j = 0;
    for (size_t i = 0; i < t->niters; i++)
        if (!frame_is_gone(t, t->iters[i], sp) && t->iters[i] != it) t->iters[j++] = t->iters[i];
    t->niters = j;
    /* an orphan begun again without being ended is this thread's now */
    if (it->thread_) orphan_remove(it);
    if (t->niters == t->cap_iters) {
        size_t cap = t->cap_iters ? t->cap_iters * 2 : 8;
        mr_map_iter **a = realloc(t->iters, cap * sizeof *a);
        if (!a) mr__throw("out of memory (iterator registry)");
        t->iters = a;
        t->cap_iters = cap;
    }
    t->iters[t->niters++] = it;
    /* the owner by its id, which no thread has again: its record's address
     * may be a later thread's once it detached (an iterator kept in
     * malloc'd memory outlives it), and would take that thread for it */
    it->thread_ = (void *)(uintptr_t)t->id;
}

/*
 * Ends the registration of it. The thread that began it ends it, or any
 * thread once that one has detached: an orphan leaves the orphans, and an
 * iterator that ended with its thread's stack (see mr__iters_orphan) is
 * registered nowhere. Ending an iterator that another attached thread
 * still owns stops the program: that thread may be walking it.
 */
void mr__iter_unregister(mr_map_iter *it)
{
    uintptr_t owner = (uintptr_t)it->thread_;
    if (!owner) return;
    mr_thread *t = mr__self;
    if (t && t->id == owner) {
        for (size_t i = t->niters; i-- > 0;) {
            if (t->iters[i] == it) {
                memmove(&t->iters[i], &t->iters[i + 1], (t->niters - i - 1) * sizeof *t->iters);
                t->niters--;
                break;
            }
        }
    } else {
        /* touching the roots makes the caller a mutator, as any runtime call
         * does: a collection never reads the orphans while it removes one */
        mr__me();
        if (!orphan_remove(it) && mr__thread_id_attached((uint32_t)owner))
            mr__throw("mr_map_iter_done: iterator used by a thread other than its owner "
                      "(thread %lu began it and is still attached)",
                      (unsigned long)owner);
    }
    it->thread_ = NULL;
}

/* The words of an iterator that may hold heap pointers: all before thread_. */
static size_t iter_words(void)
{
    return offsetof(mr_map_iter, thread_) / sizeof(uintptr_t);
}

/* ------------------------------------------------------------- enumeration -- */

/*
 * The registers of a saved context that can hold roots. The context is always
 * saved inside a call (mr__park, mr_blocking_enter, the collector's scan), and
 * at a call boundary only the callee-saved registers carry the callers'
 * values: the others hold dead scratch values, and scanning them would only
 * keep garbage alive.
 */
#if defined(__x86_64__)
static const struct {
    int reg, unw;
    const char *name;
} callee_saved[] = {
    {REG_RBX, UNW_X86_64_RBX, "rbx"}, {REG_RBP, UNW_X86_64_RBP, "rbp"},
    {REG_R12, UNW_X86_64_R12, "r12"}, {REG_R13, UNW_X86_64_R13, "r13"},
    {REG_R14, UNW_X86_64_R14, "r14"}, {REG_R15, UNW_X86_64_R15, "r15"},
};
enum { NCONTEXT_WORDS = sizeof callee_saved / sizeof callee_saved[0], HAVE_SAVE_LOCS = 1 };

static const uintptr_t *context_word(const unw_context_t *ctx, size_t i)
{
    return (const uintptr_t *)&ctx->uc_mcontext.gregs[callee_saved[i].reg];
}

static const char *context_word_name(size_t i)
{
    return callee_saved[i].name;
}

static int context_word_unw(size_t i)
{
    return callee_saved[i].unw;
}
#else
/* Elsewhere: every word of the saved context, conservatively, and no
 * knowledge of where callees save registers. */
enum { NCONTEXT_WORDS = sizeof(unw_context_t) / sizeof(uintptr_t), HAVE_SAVE_LOCS = 0 };

static const uintptr_t *context_word(const unw_context_t *ctx, size_t i)
{
    return (const uintptr_t *)ctx + i;
}

static const char *context_word_name(size_t i)
{
    (void)i;
    return "saved register";
}

static int context_word_unw(size_t i)
{
    (void)i;
    return -1;
}
#endif

/*
 * Calls fn for each static thread-local block of thread t that is not
 * already scanned with its stack, [lo, hi), as word-aligned ranges. The
 * main thread's blocks lie where the dynamic linker put them; those of a
 * thread that pthread_create made lie at the top of its stack mapping,
 * above its frames, and are skipped here.
 */
static void for_each_tls_range(const mr_thread *t, uintptr_t lo, uintptr_t hi,
                               void (*fn)(const mr_thread *t, const uintptr_t *w,
                                          const uintptr_t *end, void *ud),
                               void *ud)
{
    if (!t->tp) return;
    size_t n;
    const mr_tls_block *b = mr__tls_blocks(&n);
    for (size_t i = 0; i < n; i++) {
        uintptr_t start = t->tp + (uintptr_t)b[i].off, end = start + b[i].size;
        if (start >= lo && end <= hi) continue; /* on the scanned stack */
        start = (start + 7) & ~(uintptr_t)7;
        end &= ~(uintptr_t)7;
        if (start < end) fn(t, (const uintptr_t *)start, (const uintptr_t *)end, ud);
    }
}

/* for_each_tls_range callback of marking: ud is the mark function. */
NO_ASAN static void mark_range(const mr_thread *t, const uintptr_t *w, const uintptr_t *end,
                               void *ud)
{
    (void)t;
    void (*mark)(uintptr_t) = *(void (**)(uintptr_t))ud;
    for (; w < end; w++)
        if (*w) mark(*w);
}

/* Marks the words of a stack from sp up to hi and the registers ctx saved. */
NO_ASAN static void mark_stack(uintptr_t sp, uintptr_t hi, const unw_context_t *ctx,
                               void (*mark)(uintptr_t))
{
    const uintptr_t *w = (const uintptr_t *)(sp & ~(uintptr_t)7);
    for (const uintptr_t *end = (const uintptr_t *)hi; w < end; w++)
        if (*w) mark(*w);
    for (size_t i = 0; i < NCONTEXT_WORDS; i++)
        if (*context_word(ctx, i)) mark(*context_word(ctx, i));
}

/* mr__fiber_each_suspended callback of marking: ud is the mark function. */
NO_ASAN static void mark_fiber(const mr_fiber_view *f, void *ud)
{
    mark_stack(f->sp, f->hi, f->ctx, *(void (**)(uintptr_t))ud);
}

/* Marks the words of a registered iterator. */
NO_ASAN static void mark_iterator(const mr_map_iter *it, void (*mark)(uintptr_t))
{
    const uintptr_t *iw = (const uintptr_t *)it;
    for (size_t k = 0; k < iter_words(); k++)
        if (iw[k]) mark(iw[k]);
}

/* Marking: every root word, as fast as possible. */
NO_ASAN void mr__scan_roots(void (*mark)(uintptr_t word))
{
    drop_unloaded_globals();
    /* marking waits for no thread that could hold roots_lock (only for the
     * mark pool's lock, which is never held while roots_lock is wanted), so
     * the list can be held while it is read */
    roots_lock_take();
    for (size_t i = 0; i < nglobals; i++) {
        void *p = *globals[i].addr;
        if (p) mark((uintptr_t)p);
    }
    for (uint32_t h = 1; h < mr__handles_end(&pins); h++) {
        pin *p = mr__handles_get(&pins, h);
        if (p && p->obj) mark((uintptr_t)p->obj);
    }
    pthread_mutex_unlock(&roots_lock);
    for (mr_thread *t = mr__threads; t; t = t->next) {
        if (t->exiting) continue; /* its frames hold nothing of the program's */
        const unw_context_t *ctx;
        uintptr_t sp;
        mr__thread_scan_context(t, &ctx, &sp);
        mark_stack(sp, current_stack_top(t, sp), ctx, mark);
        uintptr_t own_sp = sp;
        if (t->fiber) { /* its own stack's frames wait where it left them */
            own_sp = t->own_sp;
            mark_stack(own_sp, t->stack_hi, &t->own_ctx, mark);
        }
        for_each_tls_range(t, own_sp & ~(uintptr_t)7, t->stack_hi, mark_range, &mark);
        size_t j = 0;
        for (size_t i = 0; i < t->niters; i++) {
            mr_map_iter *it = t->iters[i];
            if (frame_is_gone(t, it, sp)) continue; /* its frame returned */
            t->iters[j++] = it;
            mark_iterator(it, mark);
        }
        t->niters = j;
    }
    roots_lock_take();
    for (size_t i = 0; i < norphans; i++) mark_iterator(orphans[i], mark);
    pthread_mutex_unlock(&roots_lock);
    mr__fiber_each_suspended(mark_fiber, &mark);
}

/* One frame of an unwound stack: [sp, next frame's sp) belongs to it. */
typedef struct frame {
    uintptr_t sp, ip;
    char name[128];
} frame;

/*
 * Where a callee-saved register's value is kept for one frame or more: a
 * stack word where a callee saved it, or the thread's saved context. The
 * value belongs to the owner frame, not to the callee whose frame holds the
 * word. A copy of a value that an outer location also holds is a duplicate:
 * the walk reports the outer one only.
 */
typedef struct saved_reg {
    uintptr_t addr;
    uint32_t owner; /* frame index */
    uint32_t reg;   /* index of the context word (callee_saved) */
    bool dup;
} saved_reg;

/* A thread's stack as unwound from its saved context. */
typedef struct unwound {
    frame *f;
    size_t n;
    saved_reg *saved; /* stack words, sorted by addr */
    size_t nsaved, cap_saved;
    uint32_t ctx_owner[NCONTEXT_WORDS]; /* frame owning each context word's value */
    bool ctx_dup[NCONTEXT_WORDS];
    bool ended; /* the unwind reached the outermost frame (no error, no limit) */
} unwound;

static void add_saved(unwound *u, saved_reg s)
{
    if (u->nsaved == u->cap_saved) {
        size_t cap = u->cap_saved ? u->cap_saved * 2 : 64;
        saved_reg *v = realloc(u->saved, cap * sizeof *v);
        if (!v) mr__throw("out of memory (unwinding)");
        u->saved = v;
        u->cap_saved = cap;
    }
    u->saved[u->nsaved++] = s;
}

static int cmp_saved(const void *a, const void *b)
{
    const saved_reg *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * Who owns the values of one callee-saved register (reg). For frame k,
 * libunwind tells where the value the register will have when control
 * returns to k is kept (unw_get_save_loc): in the saved context while no
 * frame inside k has saved it, else in the slot where the innermost such
 * callee pushed it. A frame that does not save a register never changes it,
 * so consecutive frames with one location share one value, and it belongs to
 * the outermost of them: the frame whose callee saved it because that frame
 * was using the register. A frame may also save a register and leave it as it
 * was: then the inner location holds the same value as the outer one, and
 * that value is still the outer owner's. loc is a row of NCONTEXT_WORDS per
 * frame (0: unknown); [ctx_lo, ctx_hi) is the context the cursor started
 * from, [lo, hi) the scanned stack.
 */
NO_ASAN static void assign_owners(unwound *u, uint32_t reg, const uintptr_t *loc, uintptr_t ctx_lo,
                                  uintptr_t ctx_hi, uintptr_t lo, uintptr_t hi)
{
#define LOC(k) loc[(k)*NCONTEXT_WORDS + reg]
    u->ctx_owner[reg] = 0;
    u->ctx_dup[reg] = false;
    /* runs of frames sharing a location, outermost first */
    size_t k = u->n, outer_owner = 0;
    bool have_outer = false;
    uintptr_t outer_value = 0;
    while (k > 0) {
        size_t end = k - 1, start = end;
        while (start > 0 && LOC(start - 1) == LOC(end)) start--;
        uintptr_t l = LOC(end);
        bool in_ctx = l >= ctx_lo && l < ctx_hi, on_stack = l >= lo && l < hi && !(l & 7);
        if (in_ctx || on_stack) {
            uintptr_t v = *(const uintptr_t *)l;
            bool dup = have_outer && v == outer_value;
            size_t owner = dup ? outer_owner : end;
            if (in_ctx && start == 0) {
                u->ctx_owner[reg] = (uint32_t)owner;
                u->ctx_dup[reg] = dup;
            } else if (on_stack) {
                add_saved(u, (saved_reg){l, (uint32_t)owner, reg, dup});
            }
            have_outer = true;
            outer_owner = owner;
            outer_value = v;
        } else {
            have_outer = false; /* unknown or elsewhere: no value to compare */
        }
        k = start;
    }
#undef LOC
}

/*
 * Frame names by instruction pointer. unw_get_proc_name reads
 * /proc/self/maps and maps the object file at every call (a millisecond
 * for a few frames), while the same return addresses come back at every
 * walk. Only the thread that stopped the world walks frames, so the cache
 * needs no lock. A slot is overwritten on a collision: a miss only costs
 * the lookup again.
 */
#define NAME_CACHE_SLOTS 1024
static struct {
    uintptr_t ip;
    char name[sizeof(((frame *)0)->name)];
} name_cache[NAME_CACHE_SLOTS];

static void frame_name(unw_cursor_t *cur, uintptr_t ip, char *name, size_t size)
{
    size_t h = (size_t)((ip * 0x9e3779b97f4a7c15u) >> 54) & (NAME_CACHE_SLOTS - 1);
    if (name_cache[h].ip != ip || !ip) {
        unw_word_t off;
        unw_proc_info_t pi;
        if (unw_get_proc_name(cur, name_cache[h].name, sizeof name_cache[h].name, &off) != 0)
            name_cache[h].name[0] = 0;
        /* the name is that of the nearest symbol before ip: in a stripped
         * program some other function's, which starts before the code
         * the unwind tables say holds ip (no name is better than a wrong
         * one) */
        else if (unw_get_proc_info(cur, &pi) == 0 && pi.start_ip && ip - off < pi.start_ip)
            name_cache[h].name[0] = 0;
        name_cache[h].ip = ip;
    }
    snprintf(name, size, "%s", name_cache[h].name);
}

/*
 * Unwinds a stopped thread from its saved context. The frames from the one
 * that saved the context outwards are intact while the thread stays stopped,
 * so a local unwind from that context is safe from another thread. Also
 * finds the words of the scanned stack [lo, hi) where callees saved their
 * callers' registers, and who owns each.
 */
static void unwind_thread(const unw_context_t *start, uintptr_t lo, uintptr_t hi, unwound *u)
{
    memset(u, 0, sizeof *u);
    size_t cap = 32;
    u->f = malloc(cap * sizeof *u->f);
    uintptr_t *locs = malloc(cap * NCONTEXT_WORDS * sizeof *locs);
    if (!u->f || !locs) mr__throw("out of memory (unwinding)");
    unw_cursor_t cur;
    unw_context_t ctx = *start;
    if (unw_init_local(&cur, &ctx) == 0) {
        do {
            if (u->n == cap) {
                cap *= 2;
                frame *g = realloc(u->f, cap * sizeof *g);
                uintptr_t *l = realloc(locs, cap * NCONTEXT_WORDS * sizeof *l);
                if (g) u->f = g;
                if (l) locs = l;
                if (!g || !l) mr__throw("out of memory (unwinding)");
            }
            frame *f = &u->f[u->n];
            unw_word_t ip = 0, sp = 0;
            unw_get_reg(&cur, UNW_REG_IP, &ip);
            unw_get_reg(&cur, UNW_REG_SP, &sp);
            f->ip = ip;
            f->sp = sp;
            frame_name(&cur, ip, f->name, sizeof f->name);
            for (size_t i = 0; i < NCONTEXT_WORDS; i++) {
                unw_save_loc_t sl;
                uintptr_t *l = &locs[u->n * NCONTEXT_WORDS + i];
                *l = 0;
                if (HAVE_SAVE_LOCS && unw_get_save_loc(&cur, context_word_unw(i), &sl) == 0 &&
                    sl.type == UNW_SLT_MEMORY)
                    *l = (uintptr_t)sl.u.addr;
            }
            u->n++;
            int step = unw_step(&cur);
            if (step <= 0) {
                u->ended = step == 0;
                break;
            }
        } while (u->n < 100000);
    }
    for (size_t i = 0; HAVE_SAVE_LOCS && i < NCONTEXT_WORDS; i++)
        assign_owners(u, (uint32_t)i, locs, (uintptr_t)&ctx, (uintptr_t)(&ctx + 1), lo, hi);
    free(locs);
    if (u->nsaved > 1) qsort(u->saved, u->nsaved, sizeof *u->saved, cmp_saved);
}

static void unwound_free(unwound *u)
{
    free(u->f);
    free(u->saved);
}

/* The saved register at stack address a, or NULL. */
static const saved_reg *saved_at(const unwound *u, uintptr_t a)
{
    size_t lo = 0, hi = u->nsaved;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u->saved[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < u->nsaved && u->saved[lo].addr == a ? &u->saved[lo] : NULL;
}

/* The frame owning stack address a: the innermost frame whose sp <= a. */
static size_t frame_of(const frame *f, size_t n, uintptr_t a)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].sp <= a)
            k = i;
        else
            break;
    }
    return k;
}

/* Skips the runtime's and the collector's frames at the top of a stopped
 * thread's stack, so that frame 0 is the program's innermost frame: the one
 * that returns to stop_pc, the program's call the thread stopped in (see
 * "entry points" in internal.h). No names are needed, so this holds in
 * stripped and optimized builds alike. 0 if no frame returns there. */
static size_t first_user_frame(const mr_thread *t, const frame *f, size_t n)
{
    if (!t->stop_pc) return 0;
    for (size_t i = 0; i < n; i++)
        if (f[i].ip == t->stop_pc) return i;
    return 0;
}

/* Names frame k of u in r, counting from the first of the program's frames
 * (the runtime's own frames at the top of the stack count as that one).
 * A word that lies in its frame (not a register's value) gets the frame's
 * lowest address too: its place in the frame is the same in every call,
 * what tells the same local of several threads. */
static void attribute(mr_root *r, const unwound *u, size_t k, size_t skip)
{
    if (k < skip) k = skip;
    r->frame = (uint32_t)(k - skip);
    r->ip = u->f[k].ip;
    r->function = u->f[k].name[0] ? u->f[k].name : NULL;
    uintptr_t slot = (uintptr_t)r->slot;
    bool in_frame = r->kind != MR_ROOT_REGISTER && slot >= u->f[k].sp &&
                    (k + 1 == u->n || slot < u->f[k + 1].sp);
    r->frame_sp = in_frame ? u->f[k].sp : 0;
}

/* Which module's static thread-local block of thread t holds word w, into
 * r (tls_module, tls_offset): the same variable has the same module and
 * offset in every thread. Left NULL when no block holds it (the thread's
 * descriptor, or a module the snapshot of modules does not know). */
static void tls_place(const mr_thread *t, const uintptr_t *w, mr_root *r)
{
    size_t n;
    const mr_tls_block *b = mr__tls_blocks(&n);
    uintptr_t a = (uintptr_t)w;
    for (size_t i = 0; t->tp && i < n; i++) {
        uintptr_t start = t->tp + (uintptr_t)b[i].off;
        if (a >= start && a - start < b[i].size) {
            r->tls_module = b[i].module;
            r->tls_offset = a - start;
            return;
        }
    }
}

/*
 * Where the words that are no frame's begin on t's scanned stack, or 0:
 * for a thread pthread_create made, the C library keeps the thread's
 * descriptor and static thread-local storage at the top of its stack
 * mapping, above the stack pointer its outermost frame started with. Only
 * when the unwind reached that frame and the thread pointer lies there (it
 * does not for the main thread, whose storage is elsewhere and reported
 * apart): an unwind cut short must not take frames' words for storage.
 */
static uintptr_t tls_start(const mr_thread *t, const unwound *u)
{
    if (!u->n || !u->ended || !t->tp) return 0;
    uintptr_t outer = u->f[u->n - 1].sp;
    return outer <= t->tp && t->tp < t->stack_hi ? outer : 0;
}

static bool heap_target(uintptr_t w, void **start)
{
    return mr_object_type((const void *)w, start) != NULL;
}

/* What the walk's for_each_tls_range callback reports to. */
typedef struct tls_report {
    void (*fn)(const mr_root *r, void *ud);
    void *ud;
} tls_report;

/* Reports the heap pointers of a range of t's thread-local storage. */
NO_ASAN static void report_range(const mr_thread *t, const uintptr_t *w, const uintptr_t *end,
                                 void *ud)
{
    const tls_report *rep = ud;
    void *target;
    for (; w < end; w++) {
        if (!*w || !heap_target(*w, &target)) continue;
        mr_root r = {.kind = MR_ROOT_RUNTIME,
                     .target = target,
                     .slot = w,
                     .name = t->tls_name,
                     .thread = t->id};
        tls_place(t, w, &r);
        rep->fn(&r, rep->ud);
    }
}

/* One stack of a thread to report: [sp, hi) and the registers ctx saved,
 * unwound into u (when frames are attributed), its frames numbered from
 * base after skipping skip; tls: where the words no frame's begin (0: none). */
typedef struct stack_seg {
    const mr_thread *t;
    const unw_context_t *ctx;
    uintptr_t sp, hi, tls;
    unwound u;
    size_t skip;
    uint32_t base;
    uintptr_t scan_sp; /* the thread's stack pointer as the collection saw it */
} stack_seg;

/*
 * Whether stack word w is a field of an iterator of t that the walk reports
 * (registered, its frame not returned): the word is then reported once, as
 * that iterator's root. Reported as a stack word too, it would stand for a
 * second holder of the map -- the same frame, the same word -- and, stack
 * words coming before iterators in the analysis' order, take the place of
 * the iterator that really holds it.
 */
static bool iterator_field(const mr_thread *t, uintptr_t sp, const uintptr_t *w)
{
    uintptr_t a = (uintptr_t)w;
    for (size_t i = 0; i < t->niters; i++) {
        uintptr_t it = (uintptr_t)t->iters[i];
        if (a >= it && a < it + iter_words() * sizeof(uintptr_t) &&
            !frame_is_gone(t, t->iters[i], sp))
            return true;
    }
    return false;
}

/* Reports the heap pointers of one stack of a thread, attributed to frames. */
NO_ASAN static void report_stack(const stack_seg *s, void (*fn)(const mr_root *r, void *ud),
                                 void *ud)
{
    const unwound *u = &s->u;
    void *target;
    mr_root r;
    for (const uintptr_t *w = (const uintptr_t *)s->sp; w < (const uintptr_t *)s->hi; w++) {
        if (!*w || !heap_target(*w, &target) || iterator_field(s->t, s->scan_sp, w)) continue;
        r = (mr_root){.kind = MR_ROOT_STACK, .target = target, .slot = w, .thread = s->t->id};
        if (s->tls && (uintptr_t)w >= s->tls) { /* no frame's: the thread's own storage */
            r.kind = MR_ROOT_RUNTIME;
            r.name = s->t->tls_name;
            tls_place(s->t, w, &r);
        } else if (u->n) {
            const saved_reg *sr = saved_at(u, (uintptr_t)w);
            if (sr && sr->dup) continue; /* an outer location reports it */
            if (sr) {
                r.kind = MR_ROOT_REGISTER;
                r.name = context_word_name(sr->reg);
            }
            attribute(&r, u, sr ? sr->owner : frame_of(u->f, u->n, (uintptr_t)w), s->skip);
            r.frame += s->base;
        }
        fn(&r, ud);
    }
    for (size_t i = 0; i < NCONTEXT_WORDS; i++) {
        const uintptr_t *cw = context_word(s->ctx, i);
        if (!*cw || !heap_target(*cw, &target) || (u->n && u->ctx_dup[i])) continue;
        r = (mr_root){.kind = MR_ROOT_REGISTER,
                      .target = target,
                      .slot = cw,
                      .name = context_word_name(i),
                      .thread = s->t->id};
        if (u->n) {
            attribute(&r, u, u->ctx_owner[i], s->skip);
            r.frame += s->base;
        }
        fn(&r, ud);
    }
}

/* What the walk's mr__fiber_each_suspended callback reports to. */
typedef struct fiber_report {
    void (*fn)(const mr_root *r, void *ud);
    void *ud;
} fiber_report;

/* Whether stack word w is a field of a live iterator (a thread's or an
 * orphan): it is reported as that iterator's root, as the loop holding it
 * (world stopped; the orphans change only under a running thread). */
static bool in_live_iterator(const uintptr_t *w)
{
    uintptr_t a = (uintptr_t)w;
    for (const mr_thread *t = mr__threads; t; t = t->next)
        for (size_t i = 0; i < t->niters; i++) {
            uintptr_t it = (uintptr_t)t->iters[i];
            if (a >= it && a < it + iter_words() * sizeof(uintptr_t)) return true;
        }
    for (size_t i = 0; i < norphans; i++) {
        uintptr_t it = (uintptr_t)orphans[i];
        if (a >= it && a < it + iter_words() * sizeof(uintptr_t)) return true;
    }
    return false;
}

/* Reports the heap pointers of a suspended fiber's stack and saved
 * registers: runtime roots named by the fiber's label (no thread runs
 * it), but for the fields of the iterators open on it (an open loop of
 * the fiber is its iterator's root, as on a thread's stack). */
NO_ASAN static void report_fiber(const mr_fiber_view *f, void *ud)
{
    const fiber_report *rep = ud;
    void *target;
    for (const uintptr_t *w = (const uintptr_t *)f->sp; w < (const uintptr_t *)f->hi; w++) {
        if (!*w || !heap_target(*w, &target) || in_live_iterator(w)) continue;
        mr_root r = {.kind = MR_ROOT_RUNTIME, .target = target, .slot = w, .name = f->name};
        rep->fn(&r, rep->ud);
    }
    for (size_t i = 0; i < NCONTEXT_WORDS; i++) {
        const uintptr_t *cw = context_word(f->ctx, i);
        if (!*cw || !heap_target(*cw, &target)) continue;
        mr_root r = {.kind = MR_ROOT_RUNTIME, .target = target, .slot = cw, .name = f->name};
        rep->fn(&r, rep->ud);
    }
}

NO_ASAN __attribute__((noinline)) void
mr_walk_roots(bool attribute_frames, void (*fn)(const mr_root *r, void *ud), void *ud)
{
    if (mr__self && !mr__self->has_entry_ctx) SAVE_CONTEXT(mr__self); /* misuse: not stopped */
    drop_unloaded_globals();
    mr_root r;
    void *target;
    /* fn may do anything, so the lock is held only to read one entry; an
     * entry removed meanwhile may be passed over, as if removed before */
    for (size_t i = 0;; i++) {
        roots_lock_take();
        bool more = i < nglobals;
        global_root g = more ? globals[i] : (global_root){0};
        pthread_mutex_unlock(&roots_lock);
        if (!more) break;
        uintptr_t p = (uintptr_t)*g.addr;
        if (!p || !heap_target(p, &target)) continue;
        r = (mr_root){.kind = MR_ROOT_GLOBAL,
                      .target = target,
                      .slot = g.addr,
                      .name = g.name,
                      .file = g.file,
                      .line = g.line};
        fn(&r, ud);
    }
    for (uint32_t h = 1;; h++) {
        roots_lock_take();
        bool more = h < mr__handles_end(&pins);
        pin *p = more ? mr__handles_get(&pins, h) : NULL;
        pin pn = p ? *p : (pin){0};
        void **slot = p ? &p->obj : NULL;
        pthread_mutex_unlock(&roots_lock);
        if (!more) break;
        if (!slot || !pn.obj || !heap_target((uintptr_t)pn.obj, &target)) continue;
        r = (mr_root){.kind = MR_ROOT_PIN,
                      .target = target,
                      .slot = slot,
                      .name = pn.why ? pn.why : "pin",
                      .line = (int)h};
        fn(&r, ud);
    }
    for (mr_thread *t = mr__threads; t; t = t->next) {
        if (t->exiting) continue;
        const unw_context_t *ctx;
        uintptr_t sp;
        mr__thread_scan_context(t, &ctx, &sp);
        uintptr_t hi = current_stack_top(t, sp);
        stack_seg cur = {.t = t, .ctx = ctx, .sp = sp & ~(uintptr_t)7, .hi = hi, .scan_sp = sp};
        if (attribute_frames) unwind_thread(ctx, cur.sp, hi, &cur.u);
        cur.skip = attribute_frames ? first_user_frame(t, cur.u.f, cur.u.n) : 0;
        if (!t->fiber) cur.tls = tls_start(t, &cur.u);
        report_stack(&cur, fn, ud);
        /* on a fiber, the thread's own frames are outer to the fiber's */
        stack_seg own = {.t = t,
                         .ctx = &t->own_ctx,
                         .sp = t->own_sp & ~(uintptr_t)7,
                         .hi = t->stack_hi,
                         .scan_sp = sp};
        if (t->fiber) {
            if (attribute_frames) unwind_thread(own.ctx, own.sp, own.hi, &own.u);
            own.base = cur.u.n > cur.skip ? (uint32_t)(cur.u.n - cur.skip) : 0;
            own.tls = tls_start(t, &own.u);
            report_stack(&own, fn, ud);
        }
        tls_report rep = {fn, ud};
        for_each_tls_range(t, t->fiber ? own.sp : cur.sp, t->stack_hi, report_range, &rep);
        for (size_t i = 0; i < t->niters; i++) {
            mr_map_iter *it = t->iters[i];
            if (frame_is_gone(t, it, sp)) continue;
            const uintptr_t *iw = (const uintptr_t *)it;
            uintptr_t a = (uintptr_t)it;
            const stack_seg *on = a >= t->cur_lo && a < t->cur_hi                      ? &cur
                                  : t->fiber && a >= t->stack_lo && a < t->stack_hi ? &own
                                                                                     : NULL;
            for (size_t k = 0; k < iter_words(); k++) {
                if (!iw[k] || !heap_target(iw[k], &target)) continue;
                r = (mr_root){.kind = MR_ROOT_ITERATOR,
                              .target = target,
                              .slot = &iw[k],
                              .name = "map iterator",
                              .thread = t->id};
                if (on && on->u.n) {
                    attribute(&r, &on->u, frame_of(on->u.f, on->u.n, a), on->skip);
                    r.frame += on->base;
                }
                fn(&r, ud);
            }
        }
        unwound_free(&cur.u);
        unwound_free(&own.u);
    }
    /* fn may do anything: the lock is held only to read one entry */
    for (size_t i = 0;; i++) {
        roots_lock_take();
        const mr_map_iter *it = i < norphans ? orphans[i] : NULL;
        pthread_mutex_unlock(&roots_lock);
        if (!it) break;
        const uintptr_t *iw = (const uintptr_t *)it;
        for (size_t k = 0; k < iter_words(); k++) {
            if (!iw[k] || !heap_target(iw[k], &target)) continue;
            r = (mr_root){.kind = MR_ROOT_ITERATOR,
                          .target = target,
                          .slot = &iw[k],
                          .name = "map iterator of a thread that has detached",
                          .thread = (uint32_t)(uintptr_t)it->thread_};
            fn(&r, ud);
        }
    }
    fiber_report rep = {fn, ud};
    mr__fiber_each_suspended(report_fiber, &rep);
}
