/*
 * src/analyze/godump_maps.h -- Go's classic maps (hmap, Go 1.7 to 1.23)
 * found in a heap dump.
 *
 * A dump has no types: a 48-byte object with pointer words at +16, +24 and
 * +40 may be an hmap. It is one when some bucket size makes the whole
 * table check out: the bucket array is what makeBucketArray allocates for
 * 2^B buckets of that size, every bucket chain's tophash bytes are valid
 * (evacuation marks only in an old bucket's first slot, nothing after an
 * emptyRest), overflow buckets are preallocated ones or objects of a
 * bucket's size, and the live cells counted are the header's count. The
 * key/value split then comes from the program's map types of that bucket
 * size when a binary is given (exact when one fits), else from the pointer
 * layout repeated in every slot and from the keys themselves (a pointer
 * and a length that fit a string).
 *
 * Memory: nothing is allocated here but through the graph builder.
 * Errors: recognition fails quietly (not a map); out of memory while
 * reading fields sets M->oom.
 */
#ifndef MP_GODUMP_MAPS_H
#define MP_GODUMP_MAPS_H

#include "analyze/godump_mem.h"
#include "analyze/graph.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A recognised map and its layout. */
typedef struct mp_gomap {
    uint64_t addr;
    uint32_t obj; /* unified index of the header object (set by the caller) */
    uint64_t count, nevacuate, buckets, oldbuckets, extra;
    uint8_t flags, B;
    uint16_t noverflow;
    uint32_t hash0;
    uint32_t bs, ksize, vsize; /* bucket, key slot and value slot bytes */
    uint8_t key_kind;          /* mp_key_kind */
    uint8_t go_key_kind;
    bool key_signed;
    bool inferred; /* the layout and name were guessed, not read from the binary */
    const mp_gomaptype *type;
    uint64_t kpat[5], vpat[5]; /* pointer words of a key / value slot (bitsets) */
    uint64_t nan_keys;         /* live entries under a float NaN key (by mp_gomap_emit) */
    /* of a map whose exact type says its keys are interfaces: its live
     * keys by dynamic type (mp_gokey_dynamic: unknown, nil, pointer-shaped,
     * boxed), by mp_gomap_emit; all 0 for other maps */
    uint64_t iface_keys[4];
    /* of a map whose layout was guessed: its keys look like interfaces
     * (16 bytes, the second word a pointer word, the first nil with the
     * second or a type word: in the read-only data below the data segment
     * or named by the dump's records; itab: every one an itab the dump's
     * records name), and the
     * type words whose every key's data word points at a boxed string (a
     * 16-byte object holding a string header whose bytes fit) */
    bool iface_shape, iface_itab;
    uint8_t nstring_types;
    uint64_t string_types[8];
    /* of a map whose layout was guessed and whose values are pointers:
     * the size of the object the first value that points at one points
     * to (0: none does), part of its name ("map[int64]*?(48 bytes)"), so
     * that two types the layout cannot tell apart (*Item, *Order) are not
     * one name */
    uint64_t pointee_size;
    char name[160];            /* "map[string]*main.Session", or inferred "map[string]*?" */
} mp_gomap;

/* Whether the hmap at addr (its 48 header bytes at hdr) is a map whose
 * tables check out; fills *m. exact: the map type a typed root or a range
 * iterator gives it, or NULL. */
bool mp_gomap_recognise(mp_gdmem *M, uint64_t addr, const uint8_t *hdr, const mp_gomaptype *exact,
                        mp_gomap *m);

/* Walks a recognised map again and adds its buckets (mp_gb_bucket: those
 * of every chain, and the overflow buckets that evacuated old buckets
 * still hold, which an open iterator keeps alive) and
 * live entries (mp_gb_entry, keys rendered for people as gokey.h says:
 * strings quoted and escaped, integers in decimal, pointers in hex, struct
 * and array keys field by field when the map's exact type gives their
 * layout, other bytes in hex; long keys cut with their digest) to builder
 * b as map number `map`. newix maps unified object indices to the
 * builder's (MP_NONE: not in the graph); value_type, unless MP_NONE, is
 * given to the objects the values point to. */
void mp_gomap_emit(mp_gdmem *M, mp_gomap *m, mp_graph_builder *b, const uint32_t *newix,
                   uint32_t map, uint32_t value_type);
/* (mp_gomap_emit also counts m->nan_keys: entries whose key, of a float
 * type by the map's exact type, is a NaN, and m->iface_keys.) */

/* The key kind of a map whose keys are interfaces (by its exact type, or
 * m->iface_shape), once emitted: pointer keys (MP_KEY_PTR) only when the
 * dynamic type of every key was told and is pointer-shaped (a sync.Map
 * keyed by strings boxes them: its keys keep the boxes, but no pointer of
 * the program's is a key); MP_KEY_OTHER when any is boxed or could not be
 * told; m->key_kind for other maps. Without the binary a dynamic type is
 * told by the dump's type record (written for the types of itabs only),
 * or as a string by the boxes of m->string_types; a number boxed, a struct
 * boxed and a pointer to either look alike, so they are not told. */
uint8_t mp_gomap_key_kind(const mp_gomap *m);

/* Whether the keys of map m are interfaces (by its exact type, or its
 * keys' shape); *itab: interfaces with methods. */
bool mp_gomap_interface_keys(const mp_gomap *m, bool *itab);

/* Whether word w can be an interface's type word (or itab word): an itab
 * or a type the dump's records name, or an aligned address in the
 * program's read-only data, below its data segment and not dumped. */
bool mp_gomap_type_word(const mp_gdmem *M, uint64_t w);

/* Hands visit(ud, slot) the value slot (m->vsize bytes) of every live
 * entry of a recognised map: its buckets' and those of the old buckets not
 * yet evacuated, as mp_gomap_emit walks them. */
void mp_gomap_values(mp_gdmem *M, mp_gomap *m, void (*visit)(void *ud, const uint8_t *value),
                     void *ud);

/* Names a slot by its inferred layout: "string", "*?", "int64", "[12]byte". */
void mp_gomap_slot_name(char *buf, size_t size, uint32_t bytes, const uint64_t *pat, bool string);
/* Names the value slot of a map whose layout was guessed: its slot name,
 * and for pointers the size of what they point to ("*?(48 bytes)"). */
void mp_gomap_value_name(char *buf, size_t size, const mp_gomap *m);

/* The pointer words of a bucket of map m (a bitset of word indices): each
 * slot's key and value words, and the overflow word when there are any. */
void mp_gomap_bucket_pattern(const mp_gomap *m, uint64_t *pat);

#endif
