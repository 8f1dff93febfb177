/*
 * src/analyze/gobinary.h -- what a Go program's executable tells about its
 * heap dump: the names of its globals, the exact types of its maps, the
 * bytes of its read-only data, and the source line of a code address.
 *
 * A heap dump carries no names for globals and no types; the executable
 * that wrote it does (`maproot analyze --binary PROG`):
 *   - the ELF symbol table names every data and bss word
 *     ("main.sessionCache", "runtime/pprof.profiles+8");
 *   - the DWARF Go's linker emits names the static type of each global
 *     ("map[string]*main.Session") and describes each map type's bucket
 *     struct (bucket<K,V>: tophash, keys, values, overflow), from which the
 *     key and value slot sizes follow exactly;
 *   - string keys that are literals in the source point into .rodata.
 * Read with elfutils (libelf, libdw); compressed DWARF sections included.
 *
 * Memory: the binary owns everything it returns (mp_gobin_close). Errors:
 * mp_gobin_open returns -1 with err naming the file (not an ELF file, no
 * symbol table). A binary without DWARF still names globals.
 */
#ifndef MP_GOBINARY_H
#define MP_GOBINARY_H

#include "analyze/gokey.h"
#include "format/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Go's reflect.Kind values (DW_AT_go_kind) that the analysis tells apart. */
enum {
    MP_GOKIND_BOOL = 1,
    MP_GOKIND_INT = 2,
    MP_GOKIND_INT64 = 6,
    MP_GOKIND_UINT = 7,
    MP_GOKIND_UINT64 = 11,
    MP_GOKIND_UINTPTR = 12,
    MP_GOKIND_FLOAT32 = 13,
    MP_GOKIND_FLOAT64 = 14,
    MP_GOKIND_ARRAY = 17,
    MP_GOKIND_CHAN = 18,
    MP_GOKIND_INTERFACE = 20,
    MP_GOKIND_MAP = 21,
    MP_GOKIND_PTR = 22,
    MP_GOKIND_SLICE = 23,
    MP_GOKIND_STRING = 24,
    MP_GOKIND_STRUCT = 25,
    MP_GOKIND_UNSAFEPTR = 26,
};

/* A map type as the DWARF describes it. Sizes are of the slots in a
 * bucket: a key or value larger than 128 bytes is stored as a pointer. */
typedef struct mp_gomaptype {
    const char *name;       /* "map[string]*main.Session" */
    const char *key_name;   /* "string" */
    const char *value_name; /* "*main.Session" */
    uint32_t bucket_size, key_size, value_size;
    uint8_t key_kind, value_kind; /* MP_GOKIND_*, 0 unknown */
    bool key_indirect, value_indirect;
    bool key_has_pointers;
    /* the key's layout when it is a struct, an array, a float, a bool or
     * an interface stored in its slot (gokey.h), nkey_fields nodes; NULL otherwise or
     * when too large */
    const mp_gokeyfield *key_fields;
    uint32_t nkey_fields;
    uint64_t rtype; /* address of its runtime type descriptor (maptype), 0 unknown */
    /* the map type of its values when they are maps ("map[int64]*T" for
     * map[string]map[int64]*T), NULL otherwise or when the DWARF lacks it */
    const struct mp_gomaptype *value_map;
    /* the maps its values hold in struct fields: in the value slot itself
     * (a struct value), or in the struct a pointer value points to (the
     * pointer at the slot's start: *T, or a value over 128 bytes stored
     * as a pointer); ninner of them, NULL when none */
    const struct mp_goinner *inner;
    uint32_t ninner;
} mp_gomaptype;

/* A map held in a field of a map's values: the hmap pointer is the word at
 * `offset` bytes into the value slot (deref false) or into the object the
 * slot's first word points to (deref true); map is its exact type. */
typedef struct mp_goinner {
    uint32_t offset;
    bool deref;
    const mp_gomaptype *map;
} mp_goinner;

typedef struct mp_gobin mp_gobin;

int mp_gobin_open(const char *path, mp_gobin **out, mf_error *err);
void mp_gobin_close(mp_gobin *b);

/* The symbol holding address a, as "name" or "name+off"; false if none. */
bool mp_gobin_symbol(const mp_gobin *b, uint64_t a, char *buf, size_t size);

/* The map type of the global variable at address a (exactly a), or NULL. */
const mp_gomaptype *mp_gobin_global_map(const mp_gobin *b, uint64_t a);

/* The type name of the global variable at address a ("" unknown). */
const char *mp_gobin_global_type(const mp_gobin *b, uint64_t a);

/* The map types whose bucket is bs bytes: up to max written to out; the
 * return value is how many there are. */
size_t mp_gobin_maps_of_bucket(const mp_gobin *b, uint64_t bs, const mp_gomaptype **out,
                               size_t max);

/* The map type whose runtime type descriptor is at address rtype (what a
 * range iterator's t points to), or NULL. */
const mp_gomaptype *mp_gobin_map_of_rtype(const mp_gobin *b, uint64_t rtype);

/* The map type of the variable or parameter of the function running at
 * code address pc (or of a call inlined into it whose code holds pc)
 * whose word lies `off` bytes into that function's frame
 * of frame_size bytes (from its stack pointer up to the caller's, the
 * call frame address), as the DWARF locates it at pc; NULL when none. */
const mp_gomaptype *mp_gobin_frame_map(mp_gobin *b, uint64_t pc, uint64_t frame_size, uint64_t off);

/* n bytes at address a of the program's loaded, initialised data
 * (.rodata, .data, ...), or NULL when a..a+n is not there. */
const uint8_t *mp_gobin_read(const mp_gobin *b, uint64_t a, size_t n);

/* The type whose runtime type descriptor is at address rtype (what an
 * interface's type word points to): its kind (MP_GOKIND_*), size and
 * name; false when the DWARF has none there. */
bool mp_gobin_rtype(const mp_gobin *b, uint64_t rtype, uint8_t *kind, uint32_t *size,
                    const char **name);

/* The maps in the fields of the struct type whose runtime type descriptor
 * is at rtype (nested structs included, not through pointers): what a
 * boxed struct in an interface holds, as a sync.Map's atomic.Value holds
 * its read map. Up to max written to out (deref false); how many. */
size_t mp_gobin_struct_maps(const mp_gobin *b, uint64_t rtype, mp_goinner *out, size_t max);

/* The maps in the elements of the global slice at address a (exactly a):
 * for a global of type []T or []*T whose T is a struct holding maps in
 * its fields (nested structs included, not through further pointers),
 * each field's offset in T and map type, deref true when the elements
 * are pointers to T; *elem_size the bytes of an element. Up to max
 * written to out; how many (0 for any other global). */
size_t mp_gobin_slice_maps(const mp_gobin *b, uint64_t a, uint64_t *elem_size, mp_goinner *out,
                           size_t max);

/* The source file and line of code address pc; false if unknown. */
bool mp_gobin_line(mp_gobin *b, uint64_t pc, const char **file, int *line);

/* The program's file name as given. */
const char *mp_gobin_path(const mp_gobin *b);

#endif
