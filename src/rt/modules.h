/*
 * src/rt/modules.h -- the loaded modules (the program and its shared
 * libraries) as the roots see them.
 *
 * Two facts about modules matter to the roots:
 *   - where each module's static thread-local storage lies for a thread:
 *     at a fixed offset from the thread's thread pointer, the same for
 *     every thread (the C library lays every thread's static area out
 *     alike), so a collector can find any stopped thread's blocks from
 *     that thread's pointer alone;
 *   - which module an address lies in, so that a registered global of a
 *     library that dlclose has unloaded is dropped instead of read.
 * The view is a snapshot taken by mr__modules_update; the dynamic linker's
 * load and unload counters (dl_iterate_phdr's dlpi_adds and dlpi_subs) say
 * when it is stale, so an update costs one step of dl_iterate_phdr while no
 * module came or went.
 */
#ifndef MR_RT_MODULES_H
#define MR_RT_MODULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One module's static thread-local block: for a thread whose thread
 * pointer is tp, the bytes [tp + off, tp + off + size).
 * module: like the blocks, valid until the next update. */
typedef struct mr_tls_block {
    intptr_t off;
    size_t size;
    const char *module; /* the module's file ("" the program): the dynamic
                           linker's string */
} mr_tls_block;

/* Which loaded module an address belongs to: its load bias and a hash of
 * its file name. Two loads of different files at one address differ. */
typedef struct mr_module_id {
    uintptr_t base;
    uint64_t name_hash;
} mr_module_id;

/*
 * Brings the snapshot up to date if a module was loaded or unloaded since
 * the last update (or a module's block could not be located then). Call
 * from an attached thread with the world stopped (the collector). Returns
 * true if a module was unloaded since the previous update: registrations
 * of globals should then be checked with mr__module_loaded.
 */
bool mr__modules_update(void);

/* The static thread-local blocks of the modules in the snapshot (*n of
 * them). Valid until the next update. Modules whose storage the C library
 * allocates on first use (dynamic TLS: libraries loaded with dlopen, as a
 * rule) are not among them. */
const mr_tls_block *mr__tls_blocks(size_t *n);

/* The module holding addr, asking the dynamic linker now; false (and *id
 * untouched) if addr lies in no loaded module (heap, mmap'ed memory). Safe
 * from any thread, also from a constructor run by dlopen. */
bool mr__module_of(uintptr_t addr, mr_module_id *id);

/* Is addr inside module id in the snapshot (the module is still loaded)? */
bool mr__module_loaded(uintptr_t addr, mr_module_id id);

/* The calling thread's thread pointer (where its descriptor and static
 * thread-local storage are found), 0 where unknown. */
static inline uintptr_t mr__thread_pointer(void)
{
    uintptr_t tp = 0;
#if defined(__x86_64__)
    __asm__("movq %%fs:0, %0" : "=r"(tp)); /* the descriptor's pointer to itself */
#elif defined(__aarch64__)
    __asm__("mrs %0, tpidr_el0" : "=r"(tp));
#endif
    return tp;
}

#endif
