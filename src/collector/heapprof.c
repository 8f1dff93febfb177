/*
 * src/collector/heapprof.c -- a pprof heap profile from a profiler snapshot.
 *
 * The profiler's stacks hold the program's frames only (see profiler.h).
 * Here each is cut to the depth limit (which may have been lowered since it
 * was recorded) and symbolized; a stack that lost outer frames, when it was
 * captured or here, ends with a frame of its own, MRC_HEAPPROF_TRUNCATED, so that
 * its bytes are not silently charged to its outermost kept frame as if that
 * were the root; buckets whose cut stacks and sizes coincide
 * are merged before unsampling, since Go's buckets are keyed by exactly
 * (stack, size). Buckets sampled at different rates stay apart: each is
 * unsampled with its own rate (a profile may hold samples from before and
 * after a rate change; the profile's period is the latest rate).
 *
 * Each address is read against the modules of its sample's generation
 * (loadgen.h). A frame whose module is still mapped where it was (same
 * build ID, else same file) is symbolized in the process, as the live
 * mappings say; a frame whose module was unloaded since (its address
 * perhaps another module's now) is symbolized from the module's file read
 * at its old bias, and belongs to a mapping of its own for that old
 * segment. The names of an unloaded library are read from its file at
 * write time rather than resolved when it is unloaded: nothing in the
 * process says when a library is about to go (dlclose is the program's
 * call, and the linker runs no hook of ours), and the file is where the
 * live symbolizer reads them from too. A file replaced since (another
 * build ID) gives no names, never wrong ones.
 */
#include "collector/heapprof.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MAPROOT_VERSION
#define MAPROOT_VERSION "0"
#endif

/* A merged bucket: a cut stack (pcs in the snapshot's frames, with the
 * place of each in `where`), a size and the rate its samples were taken
 * at. */
typedef struct merged {
    uint64_t hash;
    uint32_t start, n; /* snap->frames[start, start + n), where[start, ...) */
    bool truncated;    /* outer frames are missing */
    uint64_t size, rate;
    uint64_t allocs, alloc_bytes, frees, free_bytes;
} merged;

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

/* What the profile knows of a segment of the module generations. */
typedef struct seg_info {
    enum { SEG_UNSEEN, SEG_LIVE, SEG_UNLOADED } state;
    long space;          /* SEG_UNLOADED: the symbolizer's space of its file */
    bool has_dwarf;      /* SEG_UNLOADED */
    bool unnamed;        /* SEG_UNLOADED: a location in it got no name */
    uint64_t mapping_id; /* SEG_UNLOADED: its mapping, once added */
} seg_info;

/* A location already added, by (where, address). */
typedef struct loc_ent {
    uint64_t addr, id; /* id 0 = empty */
    uint32_t where;
} loc_ent;

/* The state of one build. where[] gives, per frame of the snapshot, 0 for
 * an address read in the process, or 1 + the segment (of lg) of a module
 * unloaded since. */
typedef struct build {
    const mrc_prof_snapshot *snap;
    mrc_symbolizer *sym;
    const mrc_lg *lg;
    mf_pprof_writer *w;
    uint32_t *where;
    seg_info *segs;
    loc_ent *locs;
    size_t loc_mask;
} build;

/* Is segment i of lg mapped now as it was (same file where it was)? The
 * symbolizer's mapping at its start must be of the same build ID, or of
 * the same file when either has none. */
static bool segment_live(build *b, size_t i)
{
    const mrc_lg_segment *sg = mrc_lg_segment_at(b->lg, i);
    const mrc_lg_module *md = mrc_lg_module_of(b->lg, sg);
    long m = mrc_sym_mapping_of(b->sym, sg->start);
    if (m < 0) return false;
    const mrc_sym_mapping *maps;
    mrc_sym_mappings(b->sym, &maps);
    if (*md->build_id && *maps[m].build_id) return strcmp(md->build_id, maps[m].build_id) == 0;
    return strcmp(md->path, maps[m].path) == 0;
}

/* The place of return address pc of generation gen (see `build`). */
static uint32_t where_of(build *b, uint32_t gen, uintptr_t pc)
{
    long i = b->lg && pc ? mrc_lg_segment_of(b->lg, gen, pc - 1) : -1;
    if (i < 0 || i >= (long)UINT32_MAX) return 0;
    seg_info *si = &b->segs[i];
    if (si->state == SEG_UNSEEN) {
        si->state = segment_live(b, (size_t)i) ? SEG_LIVE : SEG_UNLOADED;
        if (si->state == SEG_UNLOADED) {
            const mrc_lg_module *md = mrc_lg_module_of(b->lg, mrc_lg_segment_at(b->lg, (size_t)i));
            si->space =
                mrc_sym_file_space(b->sym, md->path, md->bias, md->build_id, &si->has_dwarf);
        }
    }
    return si->state == SEG_LIVE ? 0 : (uint32_t)i + 1;
}

/* The frames of return address pc at its place. */
static size_t frames_of(build *b, uint32_t where, uintptr_t pc, const mrc_sym_frame **f)
{
    uint64_t addr = pc ? pc - 1 : 0;
    if (!where) return mrc_sym_lookup(b->sym, addr, f);
    return mrc_sym_lookup_file(b->sym, b->segs[where - 1].space, addr, f);
}

/* Adds (or finds) the location of return address pc at its place; 0 on
 * failure. */
static uint64_t location_of(build *b, uint32_t where, uintptr_t pc)
{
    uint64_t addr = pc ? pc - 1 : 0;
    size_t j = (size_t)mix(addr, where) & b->loc_mask;
    for (; b->locs[j].id; j = (j + 1) & b->loc_mask)
        if (b->locs[j].addr == addr && b->locs[j].where == where) return b->locs[j].id;
    const mrc_sym_frame *f;
    size_t n = frames_of(b, where, pc, &f);
    mf_pw_line lines[64];
    if (n > 64) n = 64;
    for (size_t i = 0; i < n; i++) {
        lines[i].function_id =
            mf_pw_function(b->w, f[i].function, NULL, f[i].file, f[i].start_line);
        lines[i].line = f[i].line;
    }
    uint64_t mapping = 0;
    if (where) {
        mapping = b->segs[where - 1].mapping_id;
    } else {
        long m = mrc_sym_mapping_of(b->sym, addr);
        mapping = m < 0 ? 0 : (uint64_t)m + 1;
    }
    uint64_t id = mf_pw_add_location(b->w, mapping, addr, lines, n);
    b->locs[j] = (loc_ent){addr, id, where};
    return id;
}

/* Adds a mapping for each segment of an unloaded module that a frame lies
 * in (after the live ones). */
static void add_unloaded_mappings(build *b)
{
    size_t n = b->lg ? mrc_lg_n_segments(b->lg) : 0;
    for (size_t i = 0; i < n; i++) {
        seg_info *si = &b->segs[i];
        if (si->state != SEG_UNLOADED) continue;
        const mrc_lg_segment *sg = mrc_lg_segment_at(b->lg, i);
        const mrc_lg_module *md = mrc_lg_module_of(b->lg, sg);
        mf_pw_mapping pm = {sg->start,    sg->limit,     sg->offset,    md->path,     md->build_id,
                            !si->unnamed, si->has_dwarf, si->has_dwarf, si->has_dwarf};
        si->mapping_id = mf_pw_add_mapping(b->w, &pm);
    }
}

int mrc_heapprof_build(const mrc_prof_snapshot *snap, const mrc_heapprof_opts *o,
                       mrc_symbolizer *sym, const mrc_lg *lg, mf_pprof_writer *w, mf_error *err)
{
    int rc = -1;
    merged *ms = NULL;
    uint32_t *slots = NULL;
    uint64_t *locs = NULL;
    size_t nm = 0, cap = 1, lcap = 1;
    while (cap < 2 * snap->n_records + 2) cap *= 2;
    while (lcap < 2 * snap->n_frames + 2) lcap *= 2;
    build b = {snap, sym, lg, w, NULL, NULL, NULL, lcap - 1};
    ms = calloc(snap->n_records ? snap->n_records : 1, sizeof *ms);
    slots = calloc(cap, sizeof *slots);
    locs = calloc((size_t)o->max_depth + 1, sizeof *locs);
    b.where = calloc(snap->n_frames ? snap->n_frames : 1, sizeof *b.where);
    b.segs = calloc(lg && mrc_lg_n_segments(lg) ? mrc_lg_n_segments(lg) : 1, sizeof *b.segs);
    b.locs = calloc(lcap, sizeof *b.locs);
    if (!ms || !slots || !locs || !b.where || !b.segs || !b.locs) goto oom;

    /* 1. cut each stack to the depth; place each frame; merge (the same
     * addresses at the same places are the same locations) */
    for (size_t r = 0; r < snap->n_records; r++) {
        const mrc_prof_record *rec = &snap->records[r];
        const uintptr_t *fr = snap->frames + rec->frame_start;
        uint32_t i = 0;
        uint32_t n = rec->n_frames;
        bool truncated = n && fr[n - 1] == MRC_PROF_TRUNCATED;
        if (truncated) n--;
        if (n > (uint32_t)o->max_depth) {
            n = (uint32_t)o->max_depth;
            truncated = true;
        }
        uint64_t h = mix(mix(mix(0x12345, rec->size), rec->rate), truncated);
        uint32_t *wh = b.where + rec->frame_start;
        for (uint32_t k = 0; k < n; k++) {
            wh[i + k] = where_of(&b, rec->gen, fr[i + k]);
            h = mix(mix(h, fr[i + k]), wh[i + k]);
        }
        size_t j = h & (cap - 1);
        merged *m = NULL;
        for (; slots[j]; j = (j + 1) & (cap - 1)) {
            merged *c = &ms[slots[j] - 1];
            if (c->hash == h && c->size == rec->size && c->rate == rec->rate && c->n == n &&
                c->truncated == truncated &&
                memcmp(snap->frames + c->start, fr + i, n * sizeof *fr) == 0 &&
                memcmp(b.where + c->start, wh + i, n * sizeof *wh) == 0) {
                m = c;
                break;
            }
        }
        if (!m) {
            m = &ms[nm++];
            *m = (merged){h, rec->frame_start + i, n, truncated, rec->size, rec->rate, 0, 0, 0, 0};
            slots[j] = (uint32_t)nm;
        }
        m->allocs += rec->allocs;
        m->alloc_bytes += rec->alloc_bytes;
        m->frees += rec->frees;
        m->free_bytes += rec->free_bytes;
    }

    /* 2. the header */
    mf_pw_add_sample_type(w, "alloc_objects", "count");
    mf_pw_add_sample_type(w, "alloc_space", "bytes");
    mf_pw_add_sample_type(w, "inuse_objects", "count");
    mf_pw_add_sample_type(w, "inuse_space", "bytes");
    mf_pw_set_period(w, "space", "bytes", (int64_t)o->rate);
    int64_t t = o->time_nanos;
    if (!t) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    mf_pw_set_time(w, t, 0);
    char comment[512];
    extern char *program_invocation_short_name;
    snprintf(comment, sizeof comment, "producer: maproot collector %s, %s (pid %ld), GC cycle %u",
             MAPROOT_VERSION, program_invocation_short_name, (long)getpid(), o->gc_cycle);
    mf_pw_add_comment(w, comment);
    if (snap->dropped) {
        snprintf(comment, sizeof comment, "maproot: %llu samples were dropped (out of memory)",
                 (unsigned long long)snap->dropped);
        mf_pw_add_comment(w, comment);
    }

    /* 3. mappings, in /proc/self/maps order (the main executable first),
     * then those of unloaded modules' segments. A mapping says it has
     * functions only if every location in it got a name: go tool pprof
     * then leaves it alone, else it may symbolize the addresses itself (a
     * stripped program, given its unstripped twin). */
    const mrc_sym_mapping *maps;
    size_t nmaps = mrc_sym_mappings(sym, &maps);
    bool *unnamed = calloc(nmaps ? nmaps : 1, sizeof *unnamed);
    if (!unnamed) goto oom;
    for (size_t k = 0; k < nm; k++)
        for (uint32_t i = 0; i < ms[k].n; i++) {
            uintptr_t pc = snap->frames[ms[k].start + i];
            uint32_t where = b.where[ms[k].start + i];
            const mrc_sym_frame *f;
            size_t nf = frames_of(&b, where, pc, &f);
            bool named = nf && *f[nf - 1].function;
            long m = where ? -1 : mrc_sym_mapping_of(sym, pc ? pc - 1 : 0);
            if (m >= 0 && !named) unnamed[m] = true;
            if (where && !named) b.segs[where - 1].unnamed = true;
        }
    for (size_t i = 0; i < nmaps; i++) {
        mf_pw_mapping pm = {maps[i].start,     maps[i].limit,     maps[i].offset,
                            maps[i].path,      maps[i].build_id,  !unnamed[i],
                            maps[i].has_dwarf, maps[i].has_dwarf, maps[i].has_dwarf};
        mf_pw_add_mapping(w, &pm);
    }
    free(unnamed);
    add_unloaded_mappings(&b);

    /* 4. samples */
    uint64_t truncated_loc = 0; /* the root-side frame of cut stacks */
    for (size_t k = 0; k < nm; k++) {
        const merged *m = &ms[k];
        for (uint32_t i = 0; i < m->n; i++)
            locs[i] = location_of(&b, b.where[m->start + i], snap->frames[m->start + i]);
        if (m->truncated && !truncated_loc) {
            mf_pw_line line = {mf_pw_function(w, MRC_HEAPPROF_TRUNCATED, NULL, NULL, 0), 0};
            truncated_loc = mf_pw_add_location(w, 0, 0, &line, 1);
        }
        int64_t v[4];
        mrc_scale_heap_sample(m->allocs, m->alloc_bytes, m->rate, &v[0], &v[1]);
        mrc_scale_heap_sample(m->allocs - m->frees, m->alloc_bytes - m->free_bytes, m->rate, &v[2],
                              &v[3]);
        mf_pw_label label = {"bytes", NULL, (int64_t)(m->alloc_bytes / m->allocs), NULL};
        if (m->truncated) locs[m->n] = truncated_loc;
        mf_pw_add_sample(w, locs, m->n + m->truncated, v, 4, &label, 1);
    }
    rc = 0;
    goto out;
oom:
    mf_error_set(err, "out of memory building a heap profile (%zu buckets)", snap->n_records);
out:
    free(ms);
    free(slots);
    free(locs);
    free(b.where);
    free(b.segs);
    free(b.locs);
    return rc;
}
