/*
 * src/rt/roots.c -- the roots: globals, pins, live iterators, thread stacks
 * and saved registers.
 *
 * Globals and pins are precise (the registered word is a heap pointer or
 * NULL). Stacks and registers are conservative: every aligned word that
 * points into an allocated object keeps it alive, since C gives us no stack
 * maps. Iterators are registered per thread; an iterator whose address lies
 * in its thread's stack below the thread's current stack pointer belongs to a
 * frame that has returned and is dropped.
 *
 * The same enumeration serves two masters: marking (a bare callback per
 * word, as fast as possible) and the walk API (a described mr_root per word,
 * with stack words attributed to frames by unwinding with libunwind).
 */
#include "rt/thread.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_ASAN __attribute__((no_sanitize("address")))
#endif
#endif
#if !defined(NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#define NO_ASAN __attribute__((no_sanitize_address))
#endif
#ifndef NO_ASAN
#define NO_ASAN
#endif

/* ---------------------------------------------------------------- globals -- */

typedef struct global_root {
    void **addr;
    const char *name, *file;
    int line;
} global_root;

static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static global_root *globals;
static size_t nglobals, cap_globals;

/* May run from a constructor before main(), before the runtime is initialized. */
void mr_register_global(void **addr, const char *name, const char *file, int line)
{
    pthread_mutex_lock(&roots_lock);
    if (nglobals == cap_globals) {
        cap_globals = cap_globals ? cap_globals * 2 : 64;
        global_root *g = realloc(globals, cap_globals * sizeof *g);
        if (!g) mr__throw("out of memory (global roots)");
        globals = g;
    }
    globals[nglobals++] = (global_root){addr, name, file, line};
    pthread_mutex_unlock(&roots_lock);
}

/* ------------------------------------------------------------------- pins -- */

typedef struct pin {
    void *obj;
    const char *why;
    uint32_t next_free; /* when free: the next free handle + 1 (0 = none) */
    bool used;
} pin;

static pin *pins;
static uint32_t npins, cap_pins, free_pin; /* free_pin: first free handle + 1 */

mr_pin_handle mr_pin(void *obj, const char *why)
{
    mr__me();
    if (obj) {
        void *start;
        if (!mr_object_type(obj, &start) || start != obj)
            mr__throw("mr_pin: %p is not the start of a heap object", obj);
    }
    pthread_mutex_lock(&roots_lock);
    uint32_t h;
    if (free_pin) {
        h = free_pin - 1;
        free_pin = pins[h].next_free;
    } else {
        if (npins == cap_pins) {
            cap_pins = cap_pins ? cap_pins * 2 : 64;
            pin *p = realloc(pins, cap_pins * sizeof *p);
            if (!p) mr__throw("out of memory (pins)");
            pins = p;
        }
        h = npins++;
    }
    pins[h] = (pin){obj, why, 0, true};
    pthread_mutex_unlock(&roots_lock);
    return h + 1; /* 0 is never a valid handle */
}

void mr_unpin(mr_pin_handle h)
{
    pthread_mutex_lock(&roots_lock);
    if (h == 0 || h > npins || !pins[h - 1].used) {
        pthread_mutex_unlock(&roots_lock);
        mr__throw("mr_unpin: %u is not a pinned handle", h);
    }
    pins[h - 1] = (pin){NULL, NULL, free_pin, false};
    free_pin = h;
    pthread_mutex_unlock(&roots_lock);
}

void *mr_pinned(mr_pin_handle h)
{
    pthread_mutex_lock(&roots_lock);
    void *obj = (h && h <= npins && pins[h - 1].used) ? pins[h - 1].obj : NULL;
    pthread_mutex_unlock(&roots_lock);
    return obj;
}

/* -------------------------------------------------------------- iterators -- */

static bool frame_is_gone(const mr_thread *t, const void *p, uintptr_t sp)
{
    uintptr_t a = (uintptr_t)p;
    return a >= t->stack_lo && a < sp;
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
    if (t->niters == t->cap_iters) {
        size_t cap = t->cap_iters ? t->cap_iters * 2 : 8;
        mr_map_iter **a = realloc(t->iters, cap * sizeof *a);
        if (!a) mr__throw("out of memory (iterator registry)");
        t->iters = a;
        t->cap_iters = cap;
    }
    t->iters[t->niters++] = it;
    it->thread_ = t;
}

void mr__iter_unregister(mr_map_iter *it)
{
    mr_thread *t = it->thread_;
    if (!t) return;
    if (t != mr__self)
        mr__throw("mr_map_iter_done: iterator used by a thread other than its owner");
    for (size_t i = t->niters; i-- > 0;) {
        if (t->iters[i] == it) {
            memmove(&t->iters[i], &t->iters[i + 1], (t->niters - i - 1) * sizeof *t->iters);
            t->niters--;
            break;
        }
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
    int reg;
    const char *name;
} callee_saved[] = {
    {REG_RBX, "rbx"}, {REG_RBP, "rbp"}, {REG_R12, "r12"},
    {REG_R13, "r13"}, {REG_R14, "r14"}, {REG_R15, "r15"},
};
enum { NCONTEXT_WORDS = sizeof callee_saved / sizeof callee_saved[0] };

static const uintptr_t *context_word(const unw_context_t *ctx, size_t i)
{
    return (const uintptr_t *)&ctx->uc_mcontext.gregs[callee_saved[i].reg];
}

static const char *context_word_name(size_t i)
{
    return callee_saved[i].name;
}
#else
/* Elsewhere: every word of the saved context, conservatively. */
enum { NCONTEXT_WORDS = sizeof(unw_context_t) / sizeof(uintptr_t) };

static const uintptr_t *context_word(const unw_context_t *ctx, size_t i)
{
    return (const uintptr_t *)ctx + i;
}

static const char *context_word_name(size_t i)
{
    (void)i;
    return "saved register";
}
#endif

/* Marking: every root word, as fast as possible. */
NO_ASAN void mr__scan_roots(void (*mark)(uintptr_t word))
{
    for (size_t i = 0; i < nglobals; i++) {
        void *p = *globals[i].addr;
        if (p) mark((uintptr_t)p);
    }
    for (uint32_t i = 0; i < npins; i++)
        if (pins[i].used && pins[i].obj) mark((uintptr_t)pins[i].obj);
    for (mr_thread *t = mr__threads; t; t = t->next) {
        if (t->exiting) continue; /* its frames hold nothing of the program's */
        const unw_context_t *ctx;
        uintptr_t sp;
        mr__thread_scan_context(t, &ctx, &sp);
        const uintptr_t *w = (const uintptr_t *)(sp & ~(uintptr_t)7);
        const uintptr_t *end = (const uintptr_t *)t->stack_hi;
        for (; w < end; w++)
            if (*w) mark(*w);
        for (size_t i = 0; i < NCONTEXT_WORDS; i++)
            if (*context_word(ctx, i)) mark(*context_word(ctx, i));
        size_t j = 0;
        for (size_t i = 0; i < t->niters; i++) {
            mr_map_iter *it = t->iters[i];
            if (frame_is_gone(t, it, sp)) continue; /* its frame returned */
            t->iters[j++] = it;
            const uintptr_t *iw = (const uintptr_t *)it;
            for (size_t k = 0; k < iter_words(); k++)
                if (iw[k]) mark(iw[k]);
        }
        t->niters = j;
    }
}

/* One frame of an unwound stack: [sp, next frame's sp) belongs to it. */
typedef struct frame {
    uintptr_t sp, ip;
    char name[128];
} frame;

/*
 * Unwinds a stopped thread from its saved context. The frames from the one
 * that saved the context outwards are intact while the thread stays stopped,
 * so a local unwind from that context is safe from another thread.
 */
static size_t unwind_thread(const unw_context_t *start, frame **out)
{
    size_t n = 0, cap = 32;
    frame *f = malloc(cap * sizeof *f);
    if (!f) mr__throw("out of memory (unwinding)");
    unw_cursor_t cur;
    unw_context_t ctx = *start;
    if (unw_init_local(&cur, &ctx) == 0) {
        do {
            if (n == cap) {
                cap *= 2;
                frame *g = realloc(f, cap * sizeof *g);
                if (!g) mr__throw("out of memory (unwinding)");
                f = g;
            }
            unw_word_t ip = 0, sp = 0, off;
            unw_get_reg(&cur, UNW_REG_IP, &ip);
            unw_get_reg(&cur, UNW_REG_SP, &sp);
            f[n].ip = ip;
            f[n].sp = sp;
            if (unw_get_proc_name(&cur, f[n].name, sizeof f[n].name, &off) != 0) f[n].name[0] = 0;
            n++;
        } while (unw_step(&cur) > 0 && n < 100000);
    }
    *out = f;
    return n;
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

static bool heap_target(uintptr_t w, void **start)
{
    return mr_object_type((const void *)w, start) != NULL;
}

NO_ASAN __attribute__((noinline)) void
mr_walk_roots(bool attribute_frames, void (*fn)(const mr_root *r, void *ud), void *ud)
{
    if (mr__self && !mr__self->has_entry_ctx) SAVE_CONTEXT(mr__self); /* misuse: not stopped */
    mr_root r;
    void *target;
    for (size_t i = 0; i < nglobals; i++) {
        uintptr_t p = (uintptr_t)*globals[i].addr;
        if (!p || !heap_target(p, &target)) continue;
        r = (mr_root){.kind = MR_ROOT_GLOBAL,
                      .target = target,
                      .slot = globals[i].addr,
                      .name = globals[i].name,
                      .file = globals[i].file,
                      .line = globals[i].line};
        fn(&r, ud);
    }
    for (uint32_t i = 0; i < npins; i++) {
        if (!pins[i].used || !pins[i].obj || !heap_target((uintptr_t)pins[i].obj, &target))
            continue;
        r = (mr_root){.kind = MR_ROOT_PIN,
                      .target = target,
                      .slot = &pins[i].obj,
                      .name = pins[i].why ? pins[i].why : "pin",
                      .line = (int)(i + 1)};
        fn(&r, ud);
    }
    for (mr_thread *t = mr__threads; t; t = t->next) {
        if (t->exiting) continue;
        const unw_context_t *ctx;
        uintptr_t sp;
        mr__thread_scan_context(t, &ctx, &sp);
        frame *frames = NULL;
        size_t nf = attribute_frames ? unwind_thread(ctx, &frames) : 0;
        size_t skip = attribute_frames ? first_user_frame(t, frames, nf) : 0;
        const uintptr_t *w = (const uintptr_t *)(sp & ~(uintptr_t)7);
        const uintptr_t *end = (const uintptr_t *)t->stack_hi;
        for (; w < end; w++) {
            if (!*w || !heap_target(*w, &target)) continue;
            r = (mr_root){.kind = MR_ROOT_STACK, .target = target, .slot = w, .thread = t->id};
            if (nf) {
                size_t k = frame_of(frames, nf, (uintptr_t)w);
                if (k < skip) k = skip;
                r.frame = (uint32_t)(k - skip);
                r.ip = frames[k].ip;
                r.function = frames[k].name[0] ? frames[k].name : NULL;
            }
            fn(&r, ud);
        }
        for (size_t i = 0; i < NCONTEXT_WORDS; i++) {
            const uintptr_t *cw = context_word(ctx, i);
            if (!*cw || !heap_target(*cw, &target)) continue;
            r = (mr_root){.kind = MR_ROOT_REGISTER,
                          .target = target,
                          .slot = cw,
                          .name = context_word_name(i),
                          .thread = t->id};
            fn(&r, ud);
        }
        for (size_t i = 0; i < t->niters; i++) {
            mr_map_iter *it = t->iters[i];
            if (frame_is_gone(t, it, sp)) continue;
            const uintptr_t *iw = (const uintptr_t *)it;
            for (size_t k = 0; k < iter_words(); k++) {
                if (!iw[k] || !heap_target(iw[k], &target)) continue;
                r = (mr_root){.kind = MR_ROOT_ITERATOR,
                              .target = target,
                              .slot = &iw[k],
                              .name = "map iterator",
                              .thread = t->id};
                if (nf && (uintptr_t)it >= t->stack_lo && (uintptr_t)it < t->stack_hi) {
                    size_t f = frame_of(frames, nf, (uintptr_t)it);
                    if (f < skip) f = skip;
                    r.frame = (uint32_t)(f - skip);
                    r.ip = frames[f].ip;
                    r.function = frames[f].name[0] ? frames[f].name : NULL;
                }
                fn(&r, ud);
            }
        }
        free(frames);
    }
}
