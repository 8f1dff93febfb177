/*
 * src/analyze/godump_mem.c -- reads and lookups over a Go heap dump's
 * memory (see godump_mem.h).
 */
#include "analyze/godump_mem.h"

#include <stdlib.h>

/* Go's size classes (runtime/sizeclasses.go); larger objects take whole
 * 8 KiB pages. */
static const uint32_t size_classes[] = {
    8,     16,    24,    32,    48,    64,    80,    96,    112,   128,   144,  160,   176,   192,
    208,   224,   240,   256,   288,   320,   352,   384,   416,   448,   480,  512,   576,   640,
    704,   768,   896,   1024,  1152,  1280,  1408,  1536,  1792,  2048,  2304, 2688,  3072,  3200,
    3456,  4096,  4864,  5376,  6144,  6528,  6784,  6912,  8192,  9472,  9728, 10240, 10880, 12288,
    13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768};

uint64_t mp_go_roundupsize(uint64_t size)
{
    if (size <= 32768) {
        size_t lo = 0, hi = sizeof size_classes / sizeof *size_classes;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (size_classes[mid] < size)
                lo = mid + 1;
            else
                hi = mid;
        }
        return size_classes[lo];
    }
    if (size > UINT64_MAX - 8192) return size;
    return (size + 8191) & ~(uint64_t)8191;
}

uint64_t mp_go_size_class_below(uint64_t size)
{
    if (size > 32768) return size - 8192;
    uint64_t below = 0;
    for (size_t i = 0; i < sizeof size_classes / sizeof *size_classes; i++)
        if (size_classes[i] < size) below = size_classes[i];
    return below;
}

uint64_t mp_gdmem_header_bytes(const mp_gdmem *M, uint64_t size)
{
    return M->d->params.go_major == 1 && M->d->params.go_minor >= 22 && size > 512 && size <= 32768
               ? 8
               : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

uint32_t mp_gdmem_frame_at(const mp_gdmem *M, uint64_t a, uint64_t n)
{
    const mf_gd_dump *d = M->d;
    size_t lo = 0, hi = d->nframes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->frames[M->frames_by_sp[mid]].sp <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return MP_GD_NONE;
    const mf_gd_frame *f = &d->frames[M->frames_by_sp[lo - 1]];
    if (a - f->sp <= f->contents.len && n <= f->contents.len - (a - f->sp))
        return M->frames_by_sp[lo - 1];
    return MP_GD_NONE;
}

const uint8_t *mp_gdmem_read(const mp_gdmem *M, uint64_t a, uint64_t n)
{
    const mf_gd_dump *d = M->d;
    size_t i = mf_gd_find(d, a);
    if (i != SIZE_MAX) {
        const mf_gd_object *o = &d->objects[i];
        if (n > o->size - (a - o->addr)) return NULL;
        return d->data + o->contents + (a - o->addr);
    }
    uint32_t f = mp_gdmem_frame_at(M, a, n);
    if (f == MP_GD_NONE) return NULL;
    return d->data + d->frames[f].contents.off + (a - d->frames[f].sp);
}

uint32_t mp_gdmem_find(const mp_gdmem *M, uint64_t a)
{
    size_t i = mf_gd_find(M->d, a);
    if (i != SIZE_MAX) return (uint32_t)i;
    size_t lo = 0, hi = M->nfobjs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (M->fobjs[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && a - M->fobjs[lo - 1].addr < M->fobjs[lo - 1].size)
        return (uint32_t)(M->nheap + lo - 1);
    return MP_GD_NONE;
}

uint32_t mp_gdmem_heap_start(const mp_gdmem *M, uint64_t a)
{
    if (M->start_memo->addr == a) return M->start_memo->obj;
    size_t i = mf_gd_find(M->d, a);
    uint32_t r = MP_GD_NONE;
    if (i != SIZE_MAX) {
        const mf_gd_object *o = &M->d->objects[i];
        if (a == o->addr + mp_gdmem_header_bytes(M, o->size)) r = (uint32_t)i;
    }
    M->start_memo->addr = a;
    M->start_memo->obj = r;
    return r;
}

size_t mp_gdmem_block_fields(mp_gdmem *M, uint32_t heap_obj, uint32_t frame, uint64_t from,
                             uint64_t len)
{
    const mf_gd_dump *d = M->d;
    uint64_t pos;
    uint32_t nf;
    if (heap_obj != MP_GD_NONE) {
        pos = d->objects[heap_obj].fields;
        nf = d->objects[heap_obj].nfields;
    } else {
        pos = d->frames[frame].fields;
        nf = d->frames[frame].nfields;
    }
    if (nf > M->cap_scratch) {
        uint32_t *q = realloc(M->scratch, (size_t)nf * sizeof *q);
        if (!q) {
            M->oom = true;
            return SIZE_MAX;
        }
        M->scratch = q;
        M->cap_scratch = nf;
    }
    size_t n = 0;
    for (uint32_t k = 0; k < nf; k++) {
        uint64_t off = mf_gd_next_field(d, &pos);
        if (off < from || off - from >= len || off - from > UINT32_MAX) continue;
        M->scratch[n++] = (uint32_t)(off - from);
    }
    if (heap_obj == MP_GD_NONE && n > 1) { /* frame lists need not be in order */
        bool sorted = true;
        for (size_t i = 1; i < n && sorted; i++) sorted = M->scratch[i - 1] < M->scratch[i];
        if (!sorted) qsort(M->scratch, n, sizeof *M->scratch, cmp_u32);
    }
    return n;
}
