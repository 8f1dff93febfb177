/*
 * src/collector/loadgen.h -- the generations of the loaded modules, so that
 * a heap sample's return addresses can be read against the modules that
 * were loaded when it was taken.
 *
 * A profile symbolizes its samples when it is written, which may be long
 * after they were taken: a library may have been unloaded since and another
 * loaded at its address. So each sample is tagged with a generation: the
 * list of modules (path, load bias, GNU build ID, executable segments) as
 * the dynamic linker had them when the sample was taken. A new generation
 * is recorded only when the linker's load or unload counter (dl_iterate_phdr's
 * dlpi_adds and dlpi_subs) moved since the last one, so tagging a sample
 * costs one step of dl_iterate_phdr and a compare while no module comes or
 * goes. Modules and segments are shared between the generations that hold
 * them (a module is the same while its path, bias and build ID are).
 *
 * Why a generation read after the stack was captured is right: a frame of
 * the sampling thread's stack lies in a module that cannot be unloaded
 * while that thread runs in it, so every generation seen from the capture
 * to the tag holds the modules of all the stack's frames.
 *
 * Threads: mrc_lg_current may run on many threads at once (one mutex; a
 * fork while another thread holds it leaves the child a usable copy:
 * pthread_atfork handlers take it around fork). A copy (mrc_lg_copy) is
 * read without locks by one thread.
 */
#ifndef MRC_LOADGEN_H
#define MRC_LOADGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct mrc_lg mrc_lg;

/* No generation: the modules are unknown (out of memory); a sample tagged
 * so is read against the modules loaded when the profile is written. */
#define MRC_LG_NONE UINT32_MAX

/* A module as loaded: its file (absolute when it could be resolved), its
 * load bias (dlpi_addr) and its GNU build ID in lower-case hex ("" none). */
typedef struct mrc_lg_module {
    const char *path;
    uintptr_t bias;
    char build_id[65];
} mrc_lg_module;

/* An executable segment of a module, page-aligned as the kernel maps it:
 * [start, limit) in memory, from file offset `offset`. */
typedef struct mrc_lg_segment {
    uintptr_t start, limit;
    uint64_t offset;
    uint32_t module;
} mrc_lg_segment;

/* An empty record, or NULL when out of memory. */
mrc_lg *mrc_lg_new(void);
void mrc_lg_destroy(mrc_lg *g);

/*
 * The generation of the modules loaded now, recorded if new: its index, or
 * MRC_LG_NONE when out of memory. Cheap while no module was loaded or
 * unloaded since the last call (see above).
 */
uint32_t mrc_lg_current(mrc_lg *g);

/* A copy of everything recorded so far, for one reader without locks (the
 * profile writer), or NULL when out of memory. Its strings belong to g,
 * which must outlive it. Free it with mrc_lg_destroy. */
mrc_lg *mrc_lg_copy(mrc_lg *g);

/* The segment of generation gen that holds pc: its index, or -1 (none, or
 * gen is MRC_LG_NONE or unknown). On a copy (or with the caller the only
 * user). */
long mrc_lg_segment_of(const mrc_lg *g, uint32_t gen, uintptr_t pc);

/* Segment i and its module (i from mrc_lg_segment_of). */
const mrc_lg_segment *mrc_lg_segment_at(const mrc_lg *g, size_t i);
const mrc_lg_module *mrc_lg_module_of(const mrc_lg *g, const mrc_lg_segment *s);

/* The number of segments recorded (for tables indexed by segment). */
size_t mrc_lg_n_segments(const mrc_lg *g);

/* The GNU build ID of a loaded module, read from its notes in memory, in
 * lower-case hex into out (at least 2 * 32 + 1 bytes; "" when it has none).
 * info is dl_iterate_phdr's description of the module. */
struct dl_phdr_info;
void mrc_lg_build_id(const struct dl_phdr_info *info, char *out, size_t cap);

#endif
