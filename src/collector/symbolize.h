/*
 * src/collector/symbolize.h -- in-process symbolization with elfutils' libdw.
 *
 * Turns program counters of the running process into functions, source files
 * and lines (with the chain of inlined calls when DWARF has it), and lists the
 * executable mappings of the process with their GNU build IDs, as a pprof
 * profile wants them. libdw does the DWARF work (line tables, inlined
 * subroutine scopes, symbol tables, build-id notes); separate debug files are
 * looked up only locally by build ID (never through debuginfod, which could
 * block a program on the network).
 *
 * File names are made absolute against the compilation directory and cleaned
 * of "." and ".." components ("/src/build/../examples/a.c" becomes
 * "/src/examples/a.c"); names from symbol tables lose the compiler's clone
 * suffixes ("f.constprop.0" is f). Both as src/format/names.h says.
 *
 * Memory: results point into the symbolizer and stay valid until the next
 * call on it (strings: until mrc_sym_free). Threads: not thread-safe; one
 * caller at a time.
 */
#ifndef MRC_SYMBOLIZE_H
#define MRC_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mrc_symbolizer mrc_symbolizer;

/* One function frame of a program counter. */
typedef struct mrc_sym_frame {
    const char *function; /* never NULL; "" when unknown */
    const char *file;     /* source file of the function, "" when unknown */
    int64_t line;         /* line of the pc (or of the inlined call), 0 unknown */
    int64_t start_line;   /* the function's declaration line, 0 unknown */
} mrc_sym_frame;

/* An executable, file-backed mapping of the process. */
typedef struct mrc_sym_mapping {
    uint64_t start, limit, offset;
    const char *path;
    const char *build_id; /* lower-case hex, "" when the file has none */
    bool has_dwarf;       /* the module has DWARF (file names and lines) */
} mrc_sym_mapping;

/* A symbolizer for this process (reads /proc/self/maps), or NULL. */
mrc_symbolizer *mrc_sym_new(void);
void mrc_sym_free(mrc_symbolizer *s);

/*
 * Names the function that holds code address addr, for when no symbol table
 * does (a stripped program that linked the runtime statically): its extent
 * comes from the unwind tables, which stripping keeps. For the few
 * functions whose frames profiles keep and whose names tools look for (the
 * map operations). Returns 0, or -1 when the extent is unknown or out of
 * memory.
 */
int mrc_sym_add_function(mrc_symbolizer *s, uintptr_t addr, const char *name);

/* Rereads /proc/self/maps (for libraries loaded since). Returns 0 or -1. */
int mrc_sym_refresh(mrc_symbolizer *s);

/*
 * The frames of pc (an address inside an instruction: pass a return address
 * minus one), innermost (inlined) first; the last is the function that
 * physically contains pc. Returns their number, 0 when nothing is known.
 * Results are cached per pc.
 */
size_t mrc_sym_lookup(mrc_symbolizer *s, uintptr_t pc, const mrc_sym_frame **frames);

/*
 * The absolute name of a source file named as its compiler was given it
 * (__FILE__, e.g. "../examples/a.c" in a build directory), for code or data
 * at addr: the compilation directory comes from the DWARF unit of addr's
 * module that compiled that file (as its main file or as one it included).
 * Without DWARF, or when no unit did, the name stays relative, cleaned.
 * "" for NULL or "". Interned (valid until mrc_sym_free); NULL when out of
 * memory.
 */
const char *mrc_sym_source_path(mrc_symbolizer *s, uintptr_t addr, const char *file);

/*
 * The thread-local variable at offset off of the thread-local block of the
 * loaded module whose file is path (the symbol of type TLS whose value and
 * size cover off: a symbol's value is its offset in the block). NULL when
 * the module is not mapped or has no symbol table there. Interned.
 */
const char *mrc_sym_tls_variable(mrc_symbolizer *s, const char *path, uint64_t off);

/*
 * For a module no longer loaded (a library unloaded since a sample was
 * taken, its addresses perhaps another module's now): a space in which its
 * file is read as if loaded at bias, once per (path, bias, build_id). The
 * file is read again, not the process, since dlclose took its mapping
 * away; its build ID must be build_id (unless that is ""), else the file
 * was replaced and its names would be wrong. Returns the space (> 0) for
 * mrc_sym_lookup_file, with *has_dwarf; a space whose file cannot be read
 * names nothing; -1 when out of memory.
 */
long mrc_sym_file_space(mrc_symbolizer *s, const char *path, uintptr_t bias, const char *build_id,
                        bool *has_dwarf);

/* As mrc_sym_lookup, in a space of mrc_sym_file_space. */
size_t mrc_sym_lookup_file(mrc_symbolizer *s, long space, uintptr_t pc,
                           const mrc_sym_frame **frames);

/* The executable mappings, sorted by address (as of the last refresh). */
size_t mrc_sym_mappings(mrc_symbolizer *s, const mrc_sym_mapping **out);

/* Index into mrc_sym_mappings() of the mapping containing pc, or -1. */
long mrc_sym_mapping_of(mrc_symbolizer *s, uintptr_t pc);

#endif
