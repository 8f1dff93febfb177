/* src/analyze/chain.c -- see chain.h. */
#include "analyze/chain.h"

#include "analyze/findings.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The slot step of entry e (index into the graph's entries), read as en. */
static mp_step slot_step(const mp_entry *en, uint32_t e)
{
    return (mp_step){.kind = MP_STEP_SLOT,
                     .slot = en->slot,
                     .old = en->old,
                     .a = e,
                     .map = en->map,
                     .overflow = en->overflow,
                     .index = en->bucket};
}

/*
 * Collects the steps of a chain into the caller's max slots. A chain longer
 * than that keeps its first steps (a quarter of the slots: where it starts)
 * and its last ones (where it arrives: the map, its bucket and slot), with
 * one ELIDED step between that counts the steps left out. The steps after
 * the first ones go round a ring in the rest of the slots until the end.
 */
typedef struct chain_out {
    mp_step *steps;
    size_t max, head;      /* head: slots for the first steps; the rest a ring */
    size_t total;          /* steps put (or counted, co_skip) */
    size_t gap_lo, gap_hi; /* the steps [gap_lo, gap_hi) were counted, not put */
} chain_out;

static void co_init(chain_out *co, mp_step *steps, size_t max)
{
    co->steps = steps;
    co->max = max;
    co->head = max >= 8 ? max / 4 : max;
    co->total = co->gap_lo = co->gap_hi = 0;
}

/* The slot of the step put `back` steps before the last one, or NULL when
 * it is no longer kept. */
static mp_step *co_at(chain_out *co, size_t back)
{
    if (back >= co->total) return NULL;
    size_t t = co->total - 1 - back, ring = co->max - co->head;
    if (t >= co->gap_lo && t < co->gap_hi) return NULL;
    if (t < co->head) return &co->steps[t];
    if (ring && co->total - t <= ring) return &co->steps[co->head + (t - co->head) % ring];
    return NULL;
}

static void co_put(chain_out *co, mp_step s)
{
    co->total++;
    mp_step *at = co_at(co, 0);
    if (at) *at = s;
}

/* Counts n steps that are left out without putting them: the caller puts
 * at least the ring's worth after them, so none of them is kept. */
static void co_skip(chain_out *co, size_t n)
{
    co->gap_lo = co->total;
    co->total += n;
    co->gap_hi = co->total;
}

static void reverse_steps(mp_step *s, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        mp_step t = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = t;
    }
}

/* Puts the ring in order (a rotation by three reversals) and the ELIDED
 * step over its oldest step; returns the steps kept. */
static size_t co_finish(chain_out *co)
{
    size_t ring = co->max - co->head;
    if (co->total <= co->max || ring < 2) return co->total < co->max ? co->total : co->max;
    mp_step *r = &co->steps[co->head];
    size_t oldest = (co->total - co->head) % ring; /* ring slot of the oldest kept step */
    reverse_steps(r, oldest);
    reverse_steps(r + oldest, ring - oldest);
    reverse_steps(r, ring);
    r[0] = (mp_step){.kind = MP_STEP_ELIDED,
                     .a = MP_NONE,
                     .map = MP_NONE,
                     .index = co->total - co->head - (ring - 1)};
    return co->max;
}

/* Puts the steps of object v of a path whose next object is `next`
 * (MP_NONE at its end); `e` (or NULL) is the entry the chain is for. Where
 * the path goes through a map's bucket to the key or value of an entry (a
 * map of maps, a value that leads on), the entry's slot is a step of its
 * own and names the bucket; where it leaves an array, the step says which
 * element. */
static void put_object(const mp_graph *g, const mp_paths *p, uint32_t v, uint32_t next,
                       const mp_entry *e, chain_out *co)
{
    mp_step s = {.kind = MP_STEP_OBJECT, .a = v, .map = MP_NONE, .index = UINT64_MAX};
    uint32_t via = next != MP_NONE ? p->via[next] : MP_NONE; /* how the path leaves v */
    uint32_t through_e = next != MP_NONE ? mp_paths_through(g, p, next) : MP_NONE;
    mp_entry through_buf;
    const mp_entry *through = through_e != MP_NONE && mp_graph_entry(g, through_e, &through_buf)
                                  ? &through_buf
                                  : NULL; /* the entry the path goes on from */
    uint32_t mi = mp_graph_map_of_header(g, v);
    uint32_t bi = mi == MP_NONE ? mp_graph_bucket_of(g, v) : MP_NONE;
    if (bi != MP_NONE && g->buckets[bi].aux) bi = MP_NONE; /* of the table, no bucket */
    if (mi != MP_NONE) {
        s.kind = MP_STEP_MAP;
        s.map = mi;
    } else if (bi != MP_NONE) {
        const mp_bucket *bk = &g->buckets[bi];
        s.map = bk->map;
        s.old = bk->old;
        if (bk->overflow) {
            s.kind = MP_STEP_OVERFLOW;
            s.overflow = bk->overflow;
            s.index = bk->index;
        } else {
            s.kind = MP_STEP_BUCKET;
            /* an array holds many buckets: the entry says which one */
            s.index = through ? through->bucket : e && e->map == bk->map ? e->bucket : UINT64_MAX;
        }
    } else if (via != MP_NONE && g->type[v] != MP_NONE &&
               g->types[g->type[v]].kind == MP_TYPE_ARRAY && g->types[g->type[v]].size) {
        uint32_t off = mp_paths_via_offset(g, p, next);
        if (off != MP_NO_OFFSET) s.index = off / g->types[g->type[v]].size;
    }
    co_put(co, s);
    if (through) {
        /* the bucket of the array the path came through is this entry's */
        mp_step *q;
        for (size_t back = 1; (q = co_at(co, back)) && q->map == through->map; back++) {
            if (q->kind == MP_STEP_BUCKET && q->index == UINT64_MAX) q->index = through->bucket;
            if (q->kind != MP_STEP_OVERFLOW) break;
        }
        co_put(co, slot_step(through, through_e));
    }
}

/* Puts the steps of the objects objs[0..n), next after them `next`; returns
 * how many steps that was. */
static size_t put_objects(const mp_graph *g, const mp_paths *p, const uint32_t *objs, size_t n,
                          uint32_t next, const mp_entry *e, chain_out *co)
{
    size_t before = co->total;
    for (size_t i = 0; i < n; i++) put_object(g, p, objs[i], i + 1 < n ? objs[i + 1] : next, e, co);
    return co->total - before;
}

/* The last n objects of a path up to o (n at most its length), root end
 * first, into buf. */
static void path_end(const mp_paths *p, uint32_t o, uint32_t *buf, size_t n)
{
    for (size_t k = n; k > 0; k--, o = p->parent[o]) buf[k - 1] = o;
}

/*
 * A path too long for the chain to show whole costs only what is shown:
 * its first objects (from the object at depth MP_PATH_HEAD up), its last
 * ones, and the steps between counted from what mp_paths_measure knows of
 * the path instead of walked. Returns false when the measure is not to be
 * had (the caller then walks the path).
 */
static bool put_long_path(const mp_graph *g, const mp_paths *p, uint32_t o, const mp_entry *e,
                          chain_out *co)
{
    size_t len, slots;
    uint32_t head_end;
    size_t ring = co->max - co->head;
    uint32_t objs[MP_PATH_HEAD + MP_CHAIN_STEPS_MAX];
    if (co->max > MP_CHAIN_STEPS_MAX || co->head + 1 >= MP_PATH_HEAD ||
        mp_paths_measure(g, p, o, &len, &slots, &head_end) || head_end == MP_NONE ||
        len < MP_PATH_HEAD + ring)
        return false;
    /* the head: enough objects for its steps, and an overflow run it ends
     * in, so that a slot after the run names the run's bucket */
    path_end(p, head_end, objs, MP_PATH_HEAD);
    size_t h = co->head;
    while (h + 1 < MP_PATH_HEAD && mp_graph_bucket_of(g, objs[h - 1]) != MP_NONE) h++;
    co_put(co, (mp_step){.kind = MP_STEP_ROOT, .a = p->root[o]});
    size_t shown = put_objects(g, p, objs, h, objs[h], e, co);
    /* the tail: as many objects as the ring keeps steps, the last one o */
    size_t t = ring < len - MP_PATH_HEAD ? ring : len - MP_PATH_HEAD;
    path_end(p, o, objs, t);
    size_t tail_steps = t;
    for (size_t i = 1; i < t; i++) tail_steps += mp_paths_through(g, p, objs[i]) != MP_NONE;
    size_t all = len + slots; /* the path's steps but the root */
    assert(all >= shown + tail_steps);
    co_skip(co, all - shown - tail_steps);
    put_objects(g, p, objs, t, MP_NONE, e, co);
    return true;
}

/* Puts the steps of the object path from its root to o; `entry` (or
 * MP_NONE) tells which bucket of a bucket array the chain passes through.
 * Returns false when o is unreachable (or out of memory). */
static bool put_path(const mp_graph *g, const mp_paths *p, uint32_t o, uint32_t entry,
                     chain_out *co)
{
    if (o >= g->nobjects || p->root[o] == MP_NONE) return false;
    mp_entry e_buf;
    const mp_entry *e = entry != MP_NONE && mp_graph_entry(g, entry, &e_buf) ? &e_buf : NULL;
    /* a path much longer than what is shown is not walked whole */
    size_t near = 0, far = 2 * co->max + MP_PATH_HEAD;
    uint32_t v = o;
    while (v != MP_NONE && near <= far) v = p->parent[v], near++;
    if (v != MP_NONE && put_long_path(g, p, o, e, co)) return true;
    size_t len = mp_paths_chain(g, p, o, NULL, 0);
    if (!len) return false;
    uint32_t *objs = malloc(len * sizeof *objs);
    if (!objs) return false;
    mp_paths_chain(g, p, o, objs, len);
    co_put(co, (mp_step){.kind = MP_STEP_ROOT, .a = p->root[o]});
    put_objects(g, p, objs, len, MP_NONE, e, co);
    free(objs);
    return true;
}

uint64_t mp_chain_elided(const mp_step *s, size_t n)
{
    uint64_t left = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == MP_STEP_ELIDED) left += s[i].index;
    return left;
}

uint64_t mp_chain_length(const mp_step *s, size_t n)
{
    uint64_t len = n;
    for (size_t i = 0; i < n; i++)
        if (s[i].kind == MP_STEP_ELIDED) len--;
    return len + mp_chain_elided(s, n);
}

size_t mp_chain_object(const mp_graph *g, const mp_paths *p, uint32_t o, mp_step *steps, size_t max)
{
    chain_out co;
    co_init(&co, steps, max);
    return put_path(g, p, o, MP_NONE, &co) ? co_finish(&co) : 0;
}

/* The overflow bucket object at depth j - 1 of the chain that leads to
 * overflow bucket object `cur` (depth j) of bucket `index` of map m: one of
 * cur's predecessors (an overflow bucket has few), or MP_NONE. */
static uint32_t overflow_pred(const mp_graph *g, uint32_t cur, uint32_t m, uint64_t index,
                              uint32_t depth)
{
    uint64_t end = mp_in_end(g, cur);
    for (uint64_t i = mp_in_begin(g, cur); i < end; i++) {
        uint32_t q = g->in.adj[i];
        uint32_t b = mp_graph_bucket_of(g, q);
        if (b == MP_NONE) continue;
        const mp_bucket *bk = &g->buckets[b];
        if (bk->map == m && bk->overflow == depth && bk->index == index) return q;
    }
    return MP_NONE;
}

/* Whether object `from` points to object `to`. */
static bool points_to(const mp_graph *g, uint32_t from, uint32_t to)
{
    uint64_t end = mp_in_end(g, to);
    for (uint64_t i = mp_in_begin(g, to); i < end; i++)
        if (g->in.adj[i] == from) return true;
    return false;
}

/* An entry's chain is the chain to its map's header, then the way through
 * the table to its slot: bucket[i] of the (old) array, each overflow bucket
 * up to the one holding the slot, the slot. Going through the header (not
 * the entry's own shortest path) keeps the chain of every entry consistent
 * with its map's root: a stray stack word pointing into a bucket array is
 * a shorter path, but not the reason the map is alive. Without a reachable
 * header (or bucket records) the entry's own shortest path is used; so
 * too where the buckets do not point to their overflow buckets, as in a
 * map without pointers (Go's, or the runtime's): what keeps an overflow
 * bucket there is a list the header holds, and the chain goes through it. */
size_t mp_chain_entry(const mp_graph *g, const mp_paths *p, uint32_t e, mp_step *steps, size_t max)
{
    mp_entry en_buf;
    if (e >= g->nentries || !mp_graph_entry(g, e, &en_buf)) return 0;
    const mp_entry *en = &en_buf;
    const mp_map *m = &g->maps[en->map];
    uint32_t array = en->old ? m->oldbuckets : m->buckets;
    chain_out co;
    co_init(&co, steps, max);
    bool put = false;
    if (m->header != MP_NONE && en->bucket_obj != MP_NONE && array != MP_NONE &&
        p->root[m->header] != MP_NONE) {
        /* the overflow buckets from the holder back to depth 1 */
        enum { MAX_OVERFLOW = 64 };
        uint32_t ov[MAX_OVERFLOW + 1];
        uint32_t depth = en->overflow, got = 0;
        bool ok = true;
        if (depth > 0) {
            if (depth > MAX_OVERFLOW) ok = false;
            uint32_t cur = en->bucket_obj;
            for (uint32_t j = depth; ok && j >= 1; j--) {
                ov[j] = cur;
                got++;
                if (j > 1) {
                    cur = overflow_pred(g, cur, en->map, en->bucket, j - 1);
                    if (cur == MP_NONE) ok = false;
                }
            }
        } else if (en->bucket_obj != array) {
            ok = false;
        }
        if (ok && depth > 0 && !points_to(g, array, ov[1])) ok = false;
        if (ok && put_path(g, p, m->header, MP_NONE, &co)) {
            put = true;
            co_put(&co, (mp_step){.kind = MP_STEP_BUCKET,
                                  .a = array,
                                  .map = en->map,
                                  .old = en->old,
                                  .index = en->bucket});
            for (uint32_t j = 1; j <= got; j++)
                co_put(&co, (mp_step){.kind = MP_STEP_OVERFLOW,
                                      .a = ov[j],
                                      .map = en->map,
                                      .old = en->old,
                                      .overflow = j,
                                      .index = en->bucket});
        }
    }
    if (!put) {
        uint32_t holder = en->bucket_obj;
        if (holder == MP_NONE) holder = m->header;
        if (holder == MP_NONE) return 0;
        co_init(&co, steps, max);
        if (!put_path(g, p, holder, e, &co)) return 0;
    }
    co_put(&co, slot_step(en, e));
    return co_finish(&co);
}

void mp_root_text(const mp_graph *g, uint32_t root, char *buf, size_t size)
{
    if (root >= g->nroots) {
        snprintf(buf, size, "(no root)");
        return;
    }
    const mp_root *r = &g->roots[root];
    const char *name = mp_str(g, r->name), *fn = mp_str(g, r->function), *file = mp_str(g, r->file);
    char where[300] = "";
    if (*file && r->line > 0)
        snprintf(where, sizeof where, " (%s:%" PRId64 ")", file, r->line);
    else if (*file)
        snprintf(where, sizeof where, " (%s)", file);
    switch (r->kind) {
    case MP_ROOT_GLOBAL:
        snprintf(buf, size, "global %s%s", *name ? name : "?", where);
        break;
    case MP_ROOT_PIN:
        snprintf(buf, size, "pin %s", *name ? name : "(unlabelled)");
        break;
    case MP_ROOT_STACK:
    case MP_ROOT_ITERATOR: {
        const char *st = mp_str(g, r->state);
        char state[80] = "";
        if (*st) snprintf(state, sizeof state, " [%s]", st);
        snprintf(buf, size, "%s: %s %u%s, frame #%u %s%s",
                 r->kind == MP_ROOT_STACK ? "stack" : "iterator",
                 g->info.thread_noun ? g->info.thread_noun : "thread", r->thread, state, r->frame,
                 *fn ? fn : "?", where);
        break;
    }
    case MP_ROOT_REGISTER: {
        const char *noun = g->info.thread_noun ? g->info.thread_noun : "thread";
        /* the frame that owned the register, when the snapshot knows it */
        if (*fn)
            snprintf(buf, size, "register %s of %s %u, frame #%u %s%s", *name ? name : "?", noun,
                     r->thread, r->frame, fn, where);
        else
            snprintf(buf, size, "register %s of %s %u", *name ? name : "?", noun, r->thread);
        break;
    }
    default:
        snprintf(buf, size, "%s root %s", mp_root_kind_name(r->kind), *name ? name : "");
        break;
    }
}

void mp_step_text(const mp_graph *g, const mp_step *s, char *buf, size_t size)
{
    switch (s->kind) {
    case MP_STEP_ROOT: {
        const mp_root *r = s->a < g->nroots ? &g->roots[s->a] : NULL;
        if (r && r->kind == MP_ROOT_GLOBAL && r->name)
            snprintf(buf, size, "%s", mp_str(g, r->name));
        else
            mp_root_text(g, s->a, buf, size);
        break;
    }
    case MP_STEP_MAP: {
        const mp_map *m = &g->maps[s->map];
        snprintf(buf, size, "map header 0x%" PRIx64 " (B=%u, %" PRIu64 " entries)",
                 mp_obj_addr(g, s->a), m->B, m->count);
        break;
    }
    case MP_STEP_BUCKET:
        if (s->index == UINT64_MAX)
            snprintf(buf, size, "%s", s->old ? "oldbuckets" : "buckets");
        else
            snprintf(buf, size, "%s[%" PRIu64 "]", s->old ? "oldbucket" : "bucket", s->index);
        break;
    case MP_STEP_OVERFLOW:
        snprintf(buf, size, "overflow#%u", s->overflow);
        break;
    case MP_STEP_ELIDED:
        snprintf(buf, size, "... %" PRIu64 " more steps ...", s->index);
        break;
    case MP_STEP_SLOT: {
        mp_entry en;
        char kb[32];
        const char *key = s->a < g->nentries && mp_graph_entry(g, s->a, &en)
                              ? mp_entry_key(g, &en, kb, sizeof kb)
                              : "";
        if (*key)
            snprintf(buf, size, "slot %u (%s)", s->slot, key);
        else
            snprintf(buf, size, "slot %u", s->slot);
        break;
    }
    default:
        if (s->index != UINT64_MAX)
            snprintf(buf, size, "%s 0x%" PRIx64 " [%" PRIu64 "]", mp_graph_type_name(g, s->a),
                     mp_obj_addr(g, s->a), s->index);
        else
            snprintf(buf, size, "%s 0x%" PRIx64, mp_graph_type_name(g, s->a), mp_obj_addr(g, s->a));
        break;
    }
}
