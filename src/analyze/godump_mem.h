/*
 * src/analyze/godump_mem.h -- a Go heap dump's memory as the loader
 * addresses it.
 *
 * One space of "unified" object indices: the dump's heap objects first (in
 * address order, indices [0, nheap)), then the frame objects (hmaps, and a
 * small map's one bucket, that live inside a goroutine frame and are cut
 * out of it, indices [nheap, nheap + nfobjs), sorted by address and never
 * overlapping). On top of it: the bytes at any address a heap object or a
 * frame holds, the object or frame that holds an address, and Go's
 * allocation sizes (size classes, malloc headers), which tell whether an
 * object can be what a map header says it is.
 *
 * Memory: the mp_gdmem is the loader's (load_godump.c fills and frees it);
 * nothing here allocates except block fields' scratch array. Errors: out
 * of memory sets M->oom. Threads: one loader, one thread.
 */
#ifndef MP_GODUMP_MEM_H
#define MP_GODUMP_MEM_H

#include "analyze/gobinary.h"
#include "format/godump.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MP_GD_NONE UINT32_MAX

/* A part of a frame cut out as an object of its own. */
typedef struct mp_gd_fobj {
    uint64_t addr, size;
    uint32_t frame;
    uint64_t off;    /* in the frame's contents */
    bool hmap;       /* else the map's bucket */
    bool listed;     /* its words are in the frame's pointer map: a root of its own */
    uint64_t pat[5]; /* its pointer words (bitset of word indices) */
} mp_gd_fobj;

/* The last heap_start lookup: map checks repeat the same address often. */
typedef struct mp_gd_memo {
    uint64_t addr;
    uint32_t obj;
} mp_gd_memo;

typedef struct mp_gdmem {
    const mf_gd_dump *d;
    mp_gobin *bin; /* the program that wrote the dump, or NULL */
    size_t nheap;  /* the dump's heap objects */
    mp_gd_fobj *fobjs;
    size_t nfobjs, cap_fobjs;
    uint32_t *frames_by_sp; /* frame indices sorted by sp */
    mp_gd_memo *start_memo; /* (a pointer: lookups through a const view update it) */
    uint32_t *scratch;      /* field offsets of one block (mp_gdmem_block_fields) */
    size_t cap_scratch;
    bool oom;
} mp_gdmem;

static inline uint64_t mp_gd_rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* dumps read here are little-endian, as the machine (checked at build) */
}

/* Bitsets of up to 320 word indices (an object of up to 2,560 bytes). */
static inline void mp_gd_bit_set(uint64_t *s, unsigned i)
{
    s[i >> 6] |= 1ull << (i & 63);
}

static inline bool mp_gd_bit_get(const uint64_t *s, unsigned i)
{
    return s[i >> 6] >> (i & 63) & 1;
}

static inline size_t mp_gdmem_nobj(const mp_gdmem *M)
{
    return M->nheap + M->nfobjs;
}

static inline uint64_t mp_gdmem_obj_addr(const mp_gdmem *M, uint32_t i)
{
    return i < M->nheap ? M->d->objects[i].addr : M->fobjs[i - M->nheap].addr;
}

static inline uint64_t mp_gdmem_obj_size(const mp_gdmem *M, uint32_t i)
{
    return i < M->nheap ? M->d->objects[i].size : M->fobjs[i - M->nheap].size;
}

/* The size Go's allocator gives a request of `size` bytes (its size
 * classes; larger objects take whole 8 KiB pages), and the largest size
 * class below `size` (0 if none; for a large object, size minus a page). */
uint64_t mp_go_roundupsize(uint64_t size);
uint64_t mp_go_size_class_below(uint64_t size);

/* Go 1.22 and later put an 8-byte type header in front of objects over
 * 512 bytes in small spans: pointers to such an object point past it. */
uint64_t mp_gdmem_header_bytes(const mp_gdmem *M, uint64_t size);

/* The frame whose contents hold [a, a+n), or MP_GD_NONE. */
uint32_t mp_gdmem_frame_at(const mp_gdmem *M, uint64_t a, uint64_t n);
/* The dump's bytes for addresses [a, a+n): a heap object's or a frame's;
 * NULL when no one block holds them all. */
const uint8_t *mp_gdmem_read(const mp_gdmem *M, uint64_t a, uint64_t n);
/* The unified object containing a, or MP_GD_NONE. */
uint32_t mp_gdmem_find(const mp_gdmem *M, uint64_t a);
/* The heap object that a points to the start of (after a malloc header),
 * or MP_GD_NONE. */
uint32_t mp_gdmem_heap_start(const mp_gdmem *M, uint64_t a);
/* The field offsets of a block (heap object heap_obj, or, when that is
 * MP_GD_NONE, frame's words in [from, from+len)) relative to `from`, into
 * M->scratch (a frame's sorted, a heap object's in the dump's order); the
 * count, or SIZE_MAX when out of memory (M->oom set). */
size_t mp_gdmem_block_fields(mp_gdmem *M, uint32_t heap_obj, uint32_t frame, uint64_t from,
                             uint64_t len);

#endif
