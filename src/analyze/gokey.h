/*
 * src/analyze/gokey.h -- the text of a Go map key, as maproot shows keys
 * everywhere: strings quoted and escaped, integers in decimal, pointers in
 * hex, other bytes in hex; a long key cut after KEY_SHOWN bytes with a
 * mark "... (N bytes, #H)" (its length and the FNV-1a 64 of all its bytes)
 * so that keys alike in their first bytes still render apart.
 *
 * With the program's DWARF a key of struct or array type is known field
 * by field and renders as Go writes such a value, field names included:
 * {Name:"alice" ID:42 P:0xc000123456}, nested structs and small arrays
 * ([1 2 3]) in place; its strings are read where the caller's reader finds
 * their bytes (else shown as their length and address); an interface by
 * its dynamic value.
 *
 * Memory: nothing is allocated; the text goes into the caller's buffer,
 * always NUL-terminated and cut to fit. Errors: none (what cannot be read
 * is shown as such).
 */
#ifndef MP_GOKEY_H
#define MP_GOKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bytes of a key rendering shows before its cut mark. */
#define MP_GOKEY_SHOWN 64

/* One node of a key type's layout. A layout is a tree kept in preorder:
 * a struct node (kind MP_GOKIND_STRUCT) is followed by its `count` fields,
 * each with its subtree; an array node (MP_GOKIND_ARRAY) by the one
 * subtree of its element type, which repeats `count` times every
 * size/count bytes. offset: from the start of the enclosing struct (0 for
 * the root and array elements). kind 0: shown as its bytes in hex. */
typedef struct mp_gokeyfield {
    const char *name; /* the field's name, NULL for the root and array elements */
    uint32_t offset, size, count;
    uint8_t kind; /* MP_GOKIND_* (gobinary.h), 0 opaque */
} mp_gokeyfield;

/* n bytes at address a of the program's memory, or NULL when not held. */
typedef const uint8_t *(*mp_gokey_reader)(const void *ud, uint64_t a, uint64_t n);

/* Where a rendering reads what a key points to: read (the program's
 * memory), rtype (the kind, size and name of the type whose runtime type
 * descriptor is at an address, what an interface's type word points to;
 * NULL or false: unknown), itab_type (the type descriptor's address of an
 * itab that read does not find, such as one the runtime made while the
 * program ran; 0 unknown) and type_name (the name of a type rtype does not
 * know, into buf of cap bytes; false unknown), all given ud; any may be
 * NULL but read. type_direct: whether a type rtype does not know is
 * pointer-shaped (its value is an interface's data word itself, not boxed
 * behind it), as a Go heap dump's type record says; false unknown. */
typedef struct mp_gokey_env {
    mp_gokey_reader read;
    bool (*rtype)(const void *ud, uint64_t rtype, uint8_t *kind, uint32_t *size, const char **name);
    uint64_t (*itab_type)(const void *ud, uint64_t itab);
    bool (*type_name)(const void *ud, uint64_t rtype, char *buf, size_t cap);
    const void *ud;
    bool (*type_direct)(const void *ud, uint64_t rtype, bool *direct);
} mp_gokey_env;

/* The dynamic type of an interface value, as far as its env tells. */
typedef enum mp_gokey_dynamic {
    MP_GOKEY_DYN_UNKNOWN = 0,
    MP_GOKEY_DYN_NIL,
    MP_GOKEY_DYN_POINTER, /* pointer-shaped: a pointer, map, chan, func, unsafe.Pointer */
    MP_GOKEY_DYN_VALUE,   /* boxed: a string, number, struct, ... behind the data word */
} mp_gokey_dynamic;

/* Which of those the interface value at p (16 bytes: its type word, or
 * itab word when itab, then its data word) holds: what a map keyed by an
 * interface keeps alive through a key is a pointer only when the key's
 * dynamic type is pointer-shaped. */
mp_gokey_dynamic mp_gokey_iface_dynamic(bool itab, const uint8_t *p, const mp_gokey_env *env);

/* The output of a rendering: buf of cap bytes, n of them written. */
typedef struct mp_keytext {
    char *buf;
    size_t cap, n;
} mp_keytext;

/* A string of len bytes at address ptr, quoted and escaped, cut after
 * MP_GOKEY_SHOWN bytes; "(string of N bytes at 0x...)" when read finds
 * none of them. */
void mp_keytext_string(mp_keytext *t, uint64_t ptr, uint64_t len, mp_gokey_reader read,
                       const void *ud);

/* size bytes at k in hex ("0x0a1b..."), cut after MP_GOKEY_SHOWN bytes;
 * "-" when size is 0 (a struct{} key). */
void mp_keytext_hex(mp_keytext *t, const uint8_t *k, uint32_t size);

/* The key at k (size bytes) by its layout f (nf nodes, f[0] the key's
 * type); a rendering longer than the text of MP_GOKEY_SHOWN escaped bytes
 * is cut and followed by the key's cut mark. An interface (a node of kind
 * MP_GOKIND_INTERFACE, count 0 for interface{}, 1 for one with methods,
 * whose type word points to an itab) shows its dynamic value when env
 * knows its type: a string, number or bool read where data points, a
 * pointer-shaped value as the pointer; else "(TYPE at 0xDATA)" (TYPE the
 * dynamic type's name where env finds it, "unknown type" where not), nil
 * when empty. False when the layout does not fit size (nothing written
 * then). */
bool mp_keytext_typed(mp_keytext *t, const mp_gokeyfield *f, uint32_t nf, const uint8_t *k,
                      uint32_t size, const mp_gokey_env *env);

/* Ends the text: buf NUL-terminated; returns its length. */
size_t mp_keytext_end(mp_keytext *t);

#endif
