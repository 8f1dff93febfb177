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

/* A merged bucket: a cut stack (pcs in the snapshot's frames), a size and
 * the rate its samples were taken at. */
typedef struct merged {
    uint64_t hash;
    uint32_t start, n; /* snap->frames[start, start + n) */
    bool truncated;    /* outer frames are missing */
    uint64_t size, rate;
    uint64_t allocs, alloc_bytes, frees, free_bytes;
} merged;

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

/* Adds (or finds) the location of return address pc; 0 on failure. */
static uint64_t location_of(mf_pprof_writer *w, mrc_symbolizer *sym, uintptr_t pc)
{
    uint64_t addr = pc ? pc - 1 : 0;
    uint64_t id = mf_pw_find_location(w, addr);
    if (id) return id;
    const mrc_sym_frame *f;
    size_t n = mrc_sym_lookup(sym, addr, &f);
    mf_pw_line lines[64];
    if (n > 64) n = 64;
    for (size_t i = 0; i < n; i++) {
        lines[i].function_id = mf_pw_function(w, f[i].function, NULL, f[i].file, f[i].start_line);
        lines[i].line = f[i].line;
    }
    long m = mrc_sym_mapping_of(sym, addr);
    return mf_pw_add_location(w, m < 0 ? 0 : (uint64_t)m + 1, addr, lines, n);
}

int mrc_heapprof_build(const mrc_prof_snapshot *snap, const mrc_heapprof_opts *o,
                       mrc_symbolizer *sym, mf_pprof_writer *w, mf_error *err)
{
    int rc = -1;
    merged *ms = NULL;
    uint32_t *slots = NULL;
    uint64_t *locs = NULL;
    size_t nm = 0, cap = 1;
    while (cap < 2 * snap->n_records + 2) cap *= 2;
    ms = calloc(snap->n_records ? snap->n_records : 1, sizeof *ms);
    slots = calloc(cap, sizeof *slots);
    locs = calloc((size_t)o->max_depth + 1, sizeof *locs);
    if (!ms || !slots || !locs) goto oom;

    /* 1. cut each stack to the depth; merge */
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
        for (uint32_t k = 0; k < n; k++) h = mix(h, fr[i + k]);
        size_t j = h & (cap - 1);
        merged *m = NULL;
        for (; slots[j]; j = (j + 1) & (cap - 1)) {
            merged *c = &ms[slots[j] - 1];
            if (c->hash == h && c->size == rec->size && c->rate == rec->rate && c->n == n &&
                c->truncated == truncated &&
                memcmp(snap->frames + c->start, fr + i, n * sizeof *fr) == 0) {
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

    /* 3. mappings, in /proc/self/maps order (the main executable first). A
     * mapping says it has functions only if every location in it got a
     * name: go tool pprof then leaves it alone, else it may symbolize the
     * addresses itself (a stripped program, given its unstripped twin). */
    const mrc_sym_mapping *maps;
    size_t nmaps = mrc_sym_mappings(sym, &maps);
    bool *unnamed = calloc(nmaps ? nmaps : 1, sizeof *unnamed);
    if (!unnamed) goto oom;
    for (size_t k = 0; k < nm; k++)
        for (uint32_t i = 0; i < ms[k].n; i++) {
            uintptr_t pc = snap->frames[ms[k].start + i];
            const mrc_sym_frame *f;
            size_t nf = mrc_sym_lookup(sym, pc ? pc - 1 : 0, &f);
            long m = mrc_sym_mapping_of(sym, pc ? pc - 1 : 0);
            if (m >= 0 && (nf == 0 || !*f[nf - 1].function)) unnamed[m] = true;
        }
    for (size_t i = 0; i < nmaps; i++) {
        mf_pw_mapping pm = {maps[i].start,     maps[i].limit,     maps[i].offset,
                            maps[i].path,      maps[i].build_id,  !unnamed[i],
                            maps[i].has_dwarf, maps[i].has_dwarf, maps[i].has_dwarf};
        mf_pw_add_mapping(w, &pm);
    }
    free(unnamed);

    /* 4. samples */
    uint64_t truncated_loc = 0; /* the root-side frame of cut stacks */
    for (size_t k = 0; k < nm; k++) {
        const merged *m = &ms[k];
        for (uint32_t i = 0; i < m->n; i++)
            locs[i] = location_of(w, sym, snap->frames[m->start + i]);
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
    return rc;
}
