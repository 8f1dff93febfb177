/*
 * src/rt/modules.c -- the loaded modules as the roots see them: a snapshot
 * of every module's loaded segments and static thread-local block, taken
 * again only when the dynamic linker's load or unload counter moved.
 *
 * A module's static block is found from the calling thread: dl_iterate_phdr
 * gives the calling thread's instance of the block (dlpi_tls_data), and its
 * distance from the calling thread's thread pointer is the same in every
 * thread. A block is static when it lies within the static area the C
 * library reserves next to every thread pointer; else the C library
 * allocated it apart, on first use (dynamic TLS), and other threads'
 * instances cannot be found from their thread pointers.
 */
#include "rt/modules.h"

#include "rt/internal.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A loaded segment [lo, hi) of module id. */
typedef struct segment {
    uintptr_t lo, hi;
    mr_module_id id;
} segment;

/* A growable array of n elements of `size` bytes (both tables below). */
typedef struct table {
    void *v;
    size_t n, cap;
} table;

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
/* The snapshot (guarded by modules_lock): taken when the counters were
 * seen_adds and seen_subs (valid once `seen`). */
static table segments, blocks;
static unsigned long long seen_adds, seen_subs;
static bool seen;

static void *table_add(table *t, size_t size)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        void *v = realloc(t->v, cap * size);
        if (!v) mr__throw("out of memory (module table)");
        t->v = v;
        t->cap = cap;
    }
    return (char *)t->v + t->n++ * size;
}

/* FNV-1a: tells two modules loaded at one address apart by their file. */
static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/*
 * The size of the static thread-local area the C library reserves next to
 * every thread pointer (0 if it does not say). The GNU C library's dynamic
 * linker tells it to the thread library; no public interface does.
 */
static size_t tls_static_size;
static void ask_static_tls_size(void)
{
    void (*get)(size_t *, size_t *);
    *(void **)&get = dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    size_t align = 0;
    if (get) get(&tls_static_size, &align);
}

/* Asked once, with no lock of ours held (dlsym takes the linker's lock). */
static size_t static_tls_size(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ask_static_tls_size);
    return tls_static_size;
}

/* What a walk of the modules collects: into tables of its own, as no lock
 * of ours is held while dl_iterate_phdr runs (see mr__modules_update). */
typedef struct rebuild {
    uintptr_t tp;
    size_t static_size;
    unsigned long long adds, subs;
    table segments, blocks;
} rebuild;

static bool has_field(size_t info_size, size_t end)
{
    return info_size >= end;
}

/* dl_iterate_phdr callback: one module's segments and static block. */
static int note_module(struct dl_phdr_info *info, size_t size, void *ud)
{
    rebuild *r = ud;
    if (has_field(size, offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)) {
        r->adds = info->dlpi_adds;
        r->subs = info->dlpi_subs;
    }
    mr_module_id id = {info->dlpi_addr, hash_name(info->dlpi_name)};
    bool tls_known =
        has_field(size, offsetof(struct dl_phdr_info, dlpi_tls_data) + sizeof info->dlpi_tls_data);
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && ph->p_memsz) {
            segment *s = table_add(&r->segments, sizeof *s);
            *s = (segment){info->dlpi_addr + ph->p_vaddr,
                           info->dlpi_addr + ph->p_vaddr + ph->p_memsz, id};
        } else if (ph->p_type == PT_TLS && ph->p_memsz && tls_known && info->dlpi_tls_data) {
            /* static: within the area next to the thread pointer (on either
             * side: below it on x86-64, above it on AArch64) */
            intptr_t off = (intptr_t)((uintptr_t)info->dlpi_tls_data - r->tp);
            intptr_t s = (intptr_t)r->static_size;
            if (!r->tp || off < -s || off >= s) continue;
            mr_tls_block *b = table_add(&r->blocks, sizeof *b);
            *b = (mr_tls_block){off, ph->p_memsz, info->dlpi_name ? info->dlpi_name : ""};
        }
    }
    return 0;
}

/* dl_iterate_phdr callback that stops at the first module: the counters. */
static int read_counters(struct dl_phdr_info *info, size_t size, void *ud)
{
    rebuild *r = ud;
    if (has_field(size, offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)) {
        r->adds = info->dlpi_adds;
        r->subs = info->dlpi_subs;
    }
    return 1;
}

/* t's n elements of `size` bytes in place of dst's (dst's array reused). */
static void table_copy(table *dst, const table *t, size_t size)
{
    dst->n = 0;
    for (size_t i = 0; i < t->n; i++)
        memcpy(table_add(dst, size), (const char *)t->v + i * size, size);
}

/*
 * Invariant kept: the snapshot describes the modules as they were when the
 * counters were (seen_adds, seen_subs). Without counters (a C library that
 * does not keep them) every update takes the snapshot again.
 *
 * dl_iterate_phdr holds the dynamic linker's lock of the module list while
 * it runs, and a program may allocate inside its own dl_iterate_phdr
 * callback: so modules_lock is never held across it (that thread would
 * take the linker's lock, then ours; a walk under ours the reverse). The
 * walk fills tables of its own, copied in under the lock; a walk of an
 * older state than the snapshot's is dropped.
 */
bool mr__modules_update(void)
{
    rebuild r = {mr__thread_pointer(), 0, 0, 0, {0}, {0}};
    dl_iterate_phdr(read_counters, &r);
    pthread_mutex_lock(&modules_lock);
    bool counted = r.adds != 0;
    bool unloaded = !counted || (seen && r.subs != seen_subs);
    bool due = !seen || !counted || r.adds != seen_adds || r.subs != seen_subs;
    pthread_mutex_unlock(&modules_lock);
    if (!due) return unloaded;
    r.static_size = static_tls_size();
    dl_iterate_phdr(note_module, &r); /* its counters: the state walked */
    pthread_mutex_lock(&modules_lock);
    if (!seen || !r.adds || (r.adds >= seen_adds && r.subs >= seen_subs)) {
        table_copy(&segments, &r.segments, sizeof(segment));
        table_copy(&blocks, &r.blocks, sizeof(mr_tls_block));
        seen_adds = r.adds;
        seen_subs = r.subs;
        seen = true;
    }
    pthread_mutex_unlock(&modules_lock);
    free(r.segments.v);
    free(r.blocks.v);
    return unloaded;
}

const mr_tls_block *mr__tls_blocks(size_t *n)
{
    *n = blocks.n;
    return blocks.v;
}

typedef struct lookup {
    uintptr_t addr;
    mr_module_id id;
    bool found;
} lookup;

static int find_module(struct dl_phdr_info *info, size_t size, void *ud)
{
    (void)size;
    lookup *l = ud;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && l->addr >= lo && l->addr - lo < ph->p_memsz) {
            l->id = (mr_module_id){info->dlpi_addr, hash_name(info->dlpi_name)};
            l->found = true;
            return 1;
        }
    }
    return 0;
}

bool mr__module_of(uintptr_t addr, mr_module_id *id)
{
    lookup l = {.addr = addr};
    dl_iterate_phdr(find_module, &l);
    if (l.found) *id = l.id;
    return l.found;
}

bool mr__module_loaded(uintptr_t addr, mr_module_id id)
{
    pthread_mutex_lock(&modules_lock);
    bool loaded = false;
    const segment *s = segments.v;
    for (size_t i = 0; i < segments.n && !loaded; i++)
        loaded = addr >= s[i].lo && addr < s[i].hi && s[i].id.base == id.base &&
                 s[i].id.name_hash == id.name_hash;
    pthread_mutex_unlock(&modules_lock);
    return loaded;
}
