/*
 * src/collector/loadgen.c -- the generations of the loaded modules.
 *
 * Three append-only tables: modules (path, bias, build ID), their
 * executable segments, and generations, each a run of segment indices in
 * gen_segs sorted by address. Nothing is removed: a generation stays
 * readable as long as a sample may refer to it. The latest generation's
 * counters say when a new one is due. See loadgen.h.
 */
#include "collector/loadgen.h"

#include "format/grow.h"

#include <assert.h>
#include <elf.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct generation {
    uint32_t first, n; /* gen_segs[first, first + n), sorted by start */
} generation;

struct mrc_lg {
    pthread_mutex_t lock;
    bool is_copy; /* strings belong to the original */

    /* the counters when the latest generation was recorded */
    unsigned long long adds, subs;

    mrc_lg_module *mods;
    size_t n_mods, cap_mods;
    mrc_lg_segment *segs;
    size_t n_segs, cap_segs;
    uint32_t *gen_segs;
    size_t n_gen_segs, cap_gen_segs;
    generation *gens;
    size_t n_gens, cap_gens;
    char *program; /* the program's file (dl_iterate_phdr names it "") */
};

/* The one record whose lock pthread_atfork takes (the collector's). */
static mrc_lg *fork_owner;

static void fork_prepare(void)
{
    if (fork_owner) pthread_mutex_lock(&fork_owner->lock);
}

static void fork_after(void)
{
    if (fork_owner) pthread_mutex_unlock(&fork_owner->lock);
}

mrc_lg *mrc_lg_new(void)
{
    mrc_lg *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    pthread_mutex_init(&g->lock, NULL);
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
    g->program = strdup(exe);
    if (!g->program) {
        mrc_lg_destroy(g);
        return NULL;
    }
    /* the first record made takes part in forks (the collector's: one per
     * process; the handlers are registered once and cannot be removed) */
    static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;
    static bool registered;
    pthread_mutex_lock(&owner_lock);
    if (!fork_owner) {
        if (!registered) registered = pthread_atfork(fork_prepare, fork_after, fork_after) == 0;
        fork_owner = g;
    }
    pthread_mutex_unlock(&owner_lock);
    return g;
}

void mrc_lg_destroy(mrc_lg *g)
{
    if (!g) return;
    if (!g->is_copy) {
        if (fork_owner == g) fork_owner = NULL;
        pthread_mutex_destroy(&g->lock);
        for (size_t i = 0; i < g->n_mods; i++) free((char *)g->mods[i].path);
        free(g->program);
    }
    free(g->mods);
    free(g->segs);
    free(g->gen_segs);
    free(g->gens);
    free(g);
}

void mrc_lg_build_id(const struct dl_phdr_info *info, char *out, size_t cap)
{
    assert(cap >= 65);
    (void)cap; /* with NDEBUG */
    out[0] = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (end - p >= (ptrdiff_t)sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
            size_t name = (n->n_namesz + 3) & ~(size_t)3, desc = (n->n_descsz + 3) & ~(size_t)3;
            const uint8_t *q = p + sizeof *n;
            if ((size_t)(end - q) < name + desc) break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(q, "GNU", 4) == 0) {
                /* by hand, not snprintf: this runs for every module each
                 * time a generation is recorded, while a sample waits */
                static const char hex[] = "0123456789abcdef";
                size_t k = 0;
                for (; k < n->n_descsz && k < 32; k++) {
                    out[2 * k] = hex[q[name + k] >> 4];
                    out[2 * k + 1] = hex[q[name + k] & 15];
                }
                out[2 * k] = 0;
                return;
            }
            p = q + name + desc;
        }
    }
}

/* dl_iterate_phdr callback that stops at the first module: the counters. */
static int read_counters(struct dl_phdr_info *info, size_t size, void *ud)
{
    unsigned long long *c = ud;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
    }
    return 1;
}

/*
 * Recording a generation walks the modules with dl_iterate_phdr, which
 * holds the dynamic linker's lock of the module list throughout, and a
 * program may allocate (and be sampled, and so take a generation) inside
 * its own dl_iterate_phdr callback, holding that lock. Were our lock held
 * across the walk, such a thread (linker's lock, then ours) and one
 * recording a generation (ours, then the linker's) would wait for each
 * other for ever. So the walk collects the modules into a list of its own,
 * with no lock of ours held, and the lock is taken only to add what it
 * found to the tables.
 */

/* A module as the walk found it: its path (resolved, owned), bias, build ID. */
typedef struct found_module {
    char *path;
    uintptr_t bias;
    char build_id[65];
} found_module;

/* What one walk found: the modules, their executable segments (module:
 * index into mods), and the linker's counters for that state. */
typedef struct walk {
    const char *program; /* the program's file, for the module named "" */
    found_module *mods;
    size_t n_mods, cap_mods;
    mrc_lg_segment *segs;
    size_t n_segs, cap_segs;
    unsigned long long adds, subs;
    bool failed;
} walk;

static void walk_free(walk *w)
{
    for (size_t i = 0; i < w->n_mods; i++) free(w->mods[i].path);
    free(w->mods);
    free(w->segs);
}

/* dl_iterate_phdr callback: one module and its executable segments into the
 * walk. A relative name (dlopen("./lib.so")) is made absolute, as the
 * profile is written elsewhere and later; an absolute one is kept as it is. */
static int note_module(struct dl_phdr_info *info, size_t size, void *ud)
{
    walk *w = ud;
    read_counters(info, size, &w->adds); /* the counters of the state walked */
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    /* the program (""), or a file: not the vDSO, which has no file */
    if (*name && *name != '/' && !strchr(name, '/')) return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    bool added = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || !ph->p_memsz) continue;
        if (!added) {
            char abs[PATH_MAX];
            const char *path = !*name                ? w->program
                               : *name == '/'        ? name
                               : realpath(name, abs) ? abs
                                                     : name;
            char *copy = MF_GROW(w->mods, w->cap_mods, w->n_mods + 1, 16) ? strdup(path) : NULL;
            if (!copy) {
                w->failed = true;
                return 1;
            }
            found_module *m = &w->mods[w->n_mods++];
            m->path = copy;
            m->bias = info->dlpi_addr;
            mrc_lg_build_id(info, m->build_id, sizeof m->build_id);
            added = true;
        }
        if (!MF_GROW(w->segs, w->cap_segs, w->n_segs + 1, 32)) {
            w->failed = true;
            return 1;
        }
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        w->segs[w->n_segs++] =
            (mrc_lg_segment){lo & ~(page - 1), (lo + ph->p_memsz + page - 1) & ~(page - 1),
                             ph->p_offset & ~(uint64_t)(page - 1), (uint32_t)(w->n_mods - 1)};
    }
    return 0;
}

/* The module (path, bias, build ID), added if new; -1 when out of memory.
 * Lock held. A linear search: modules are few, and this runs only when a
 * generation is recorded. */
static long intern_module(mrc_lg *g, const found_module *f)
{
    for (size_t i = g->n_mods; i-- > 0;) {
        const mrc_lg_module *m = &g->mods[i];
        if (m->bias == f->bias && strcmp(m->build_id, f->build_id) == 0 &&
            strcmp(m->path, f->path) == 0)
            return (long)i;
    }
    if (!MF_GROW(g->mods, g->cap_mods, g->n_mods + 1, 16)) return -1;
    char *copy = strdup(f->path);
    if (!copy) return -1;
    mrc_lg_module *m = &g->mods[g->n_mods];
    m->path = copy;
    m->bias = f->bias;
    snprintf(m->build_id, sizeof m->build_id, "%s", f->build_id);
    return (long)g->n_mods++;
}

/* The segment (start, limit, offset) of module mod, added if new; -1 when
 * out of memory. Lock held; a linear search, as for modules. */
static long intern_segment(mrc_lg *g, uint32_t mod, const mrc_lg_segment *f)
{
    for (size_t i = g->n_segs; i-- > 0;) {
        const mrc_lg_segment *s = &g->segs[i];
        if (s->module == mod && s->start == f->start && s->limit == f->limit &&
            s->offset == f->offset)
            return (long)i;
    }
    if (!MF_GROW(g->segs, g->cap_segs, g->n_segs + 1, 32)) return -1;
    g->segs[g->n_segs] = (mrc_lg_segment){f->start, f->limit, f->offset, mod};
    return (long)g->n_segs++;
}

static int by_start(const void *a, const void *b, void *ud)
{
    const mrc_lg *g = ud;
    uintptr_t x = g->segs[*(const uint32_t *)a].start, y = g->segs[*(const uint32_t *)b].start;
    return (x > y) - (x < y);
}

/* Records the modules a walk found as a new generation. Lock held. Returns
 * its index, or MRC_LG_NONE when out of memory (nothing recorded). */
static uint32_t record_generation(mrc_lg *g, const walk *w)
{
    if (w->failed || w->n_segs > UINT32_MAX || g->n_gens >= UINT32_MAX - 1 ||
        !MF_GROW(g->gens, g->cap_gens, g->n_gens + 1, 16) ||
        !MF_GROW(g->gen_segs, g->cap_gen_segs, g->n_gen_segs + w->n_segs, 64))
        return MRC_LG_NONE;
    size_t first = g->n_gen_segs;
    long mod = -1;
    for (size_t i = 0; i < w->n_segs; i++) {
        const mrc_lg_segment *f = &w->segs[i];
        /* a module's segments are consecutive in the walk */
        if (i == 0 || f->module != w->segs[i - 1].module)
            mod = intern_module(g, &w->mods[f->module]);
        long seg = mod < 0 ? -1 : intern_segment(g, (uint32_t)mod, f);
        if (seg < 0) {
            g->n_gen_segs = first;
            return MRC_LG_NONE;
        }
        g->gen_segs[g->n_gen_segs++] = (uint32_t)seg;
    }
    qsort_r(g->gen_segs + first, g->n_gen_segs - first, sizeof *g->gen_segs, by_start, g);
    g->gens[g->n_gens] = (generation){(uint32_t)first, (uint32_t)(g->n_gen_segs - first)};
    g->adds = w->adds;
    g->subs = w->subs;
    return (uint32_t)g->n_gens++;
}

/* The latest generation when it describes the state of counters c (adds,
 * subs), else MRC_LG_NONE. Lock held. Without counters (a C library that
 * does not keep them: both read 0) there is none. */
static uint32_t latest_for(const mrc_lg *g, const unsigned long long *c)
{
    if (g->n_gens && c[0] && c[0] == g->adds && c[1] == g->subs) return (uint32_t)g->n_gens - 1;
    return MRC_LG_NONE;
}

/*
 * Invariant kept: the latest generation describes the modules as they were
 * when the counters were (adds, subs). Without counters every call records
 * a generation, which is correct, only slower. No lock of ours is held
 * while dl_iterate_phdr runs (see above).
 */
uint32_t mrc_lg_current(mrc_lg *g)
{
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(read_counters, c);
    pthread_mutex_lock(&g->lock);
    uint32_t gen = latest_for(g, c);
    pthread_mutex_unlock(&g->lock);
    if (gen != MRC_LG_NONE) return gen;
    walk w = {.program = g->program};
    dl_iterate_phdr(note_module, &w);
    pthread_mutex_lock(&g->lock);
    /* another thread may have recorded the same state meanwhile */
    gen = latest_for(g, &w.adds);
    if (gen == MRC_LG_NONE) gen = record_generation(g, &w);
    pthread_mutex_unlock(&g->lock);
    walk_free(&w);
    return gen;
}

/* Copies n elements of `size` bytes from src into a new array (of at
 * least one element, so that an empty table is not mistaken for out of
 * memory). */
static void *dup_array(const void *src, size_t n, size_t size)
{
    void *d = malloc((n ? n : 1) * size);
    if (d && n) memcpy(d, src, n * size);
    return d;
}

mrc_lg *mrc_lg_copy(mrc_lg *g)
{
    mrc_lg *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->is_copy = true;
    pthread_mutex_lock(&g->lock);
    c->adds = g->adds;
    c->subs = g->subs;
    c->n_mods = c->cap_mods = g->n_mods;
    c->n_segs = c->cap_segs = g->n_segs;
    c->n_gen_segs = c->cap_gen_segs = g->n_gen_segs;
    c->n_gens = c->cap_gens = g->n_gens;
    c->mods = dup_array(g->mods, g->n_mods, sizeof *g->mods);
    c->segs = dup_array(g->segs, g->n_segs, sizeof *g->segs);
    c->gen_segs = dup_array(g->gen_segs, g->n_gen_segs, sizeof *g->gen_segs);
    c->gens = dup_array(g->gens, g->n_gens, sizeof *g->gens);
    pthread_mutex_unlock(&g->lock);
    if (!c->mods || !c->segs || !c->gen_segs || !c->gens) {
        mrc_lg_destroy(c);
        return NULL;
    }
    return c;
}

long mrc_lg_segment_of(const mrc_lg *g, uint32_t gen, uintptr_t pc)
{
    if (gen >= g->n_gens) return -1;
    const uint32_t *v = g->gen_segs + g->gens[gen].first;
    size_t lo = 0, hi = g->gens[gen].n; /* the last segment starting at or below pc */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->segs[v[mid]].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || pc >= g->segs[v[lo - 1]].limit) return -1;
    return (long)v[lo - 1];
}

const mrc_lg_segment *mrc_lg_segment_at(const mrc_lg *g, size_t i)
{
    assert(i < g->n_segs);
    return &g->segs[i];
}

const mrc_lg_module *mrc_lg_module_of(const mrc_lg *g, const mrc_lg_segment *s)
{
    assert(s->module < g->n_mods);
    return &g->mods[s->module];
}

size_t mrc_lg_n_segments(const mrc_lg *g)
{
    return g->n_segs;
}
