/*
 * tests/test_packed.c -- the packed record store (src/analyze/packed.c):
 * every record read back by index and in order, in memory and once moved
 * to its temporary file, across blocks and across the point where the file
 * ends and memory begins, one at a time and a run at a time; a cursor
 * skipping forward lands on the record asked for.
 */
#include "analyze/packed.h"

#include "check.h"

#include <stdbool.h>

/* A record of 3 fields that changes in every way a column can: constant,
 * growing, jumping about (negative deltas), and the full 64 bits. */
static void record(size_t i, uint64_t *f)
{
    f[0] = 7;
    f[1] = i * 3;
    f[2] = (i * 0x9e3779b97f4a7c15ull) ^ (i & 1 ? UINT64_MAX : 0);
}

static int check_store(const mp_pack *p, size_t n)
{
    uint64_t f[3], want[3];
    /* by index, in an order that jumps between blocks */
    for (size_t k = 0; k < n; k++) {
        size_t i = (k * 7919) % n;
        record(i, want);
        if (!mp_pack_get(p, i, f) || memcmp(f, want, sizeof f) != 0) {
            fprintf(stderr, "record %zu read back wrong\n", i);
            return 0;
        }
    }
    if (mp_pack_get(p, n, f)) return 0;
    /* in order, from several starting points */
    size_t starts[] = {0, 1, MP_PACK_BLOCK - 1, MP_PACK_BLOCK, n / 2, n - 1};
    for (size_t s = 0; s < sizeof starts / sizeof *starts; s++) {
        mp_pack_cursor c;
        mp_pack_cursor_init(&c, p, starts[s]);
        size_t i = starts[s];
        while (mp_pack_next(&c, f)) {
            record(i, want);
            if (memcmp(f, want, sizeof f) != 0) {
                fprintf(stderr, "record %zu read in order wrong (from %zu)\n", i, starts[s]);
                mp_pack_cursor_free(&c);
                return 0;
            }
            i++;
        }
        mp_pack_cursor_free(&c);
        if (i != n) {
            fprintf(stderr, "cursor from %zu ended at %zu of %zu\n", starts[s], i, n);
            return 0;
        }
    }
    /* skipping forward: by one, within a block, to a block's first
     * record, over whole blocks; a skip back leaves the cursor where it is */
    mp_pack_cursor c;
    mp_pack_cursor_init(&c, p, 0);
    size_t gaps[] = {0, 1, 2, MP_PACK_BLOCK - 3, MP_PACK_BLOCK, 1, 3 * MP_PACK_BLOCK + 5, 4097};
    size_t i = 0, g = 0;
    for (;; g++) {
        i += gaps[g % (sizeof gaps / sizeof *gaps)] + (g > 0);
        if (i >= n) break;
        if (!mp_pack_cursor_skip(&c, i) || !mp_pack_next(&c, f)) {
            fprintf(stderr, "skip to %zu failed\n", i);
            mp_pack_cursor_free(&c);
            return 0;
        }
        record(i, want);
        if (memcmp(f, want, sizeof f) != 0 ||
            (i > 0 && (!mp_pack_cursor_skip(&c, i - 1) || c.i != i + 1))) {
            fprintf(stderr, "record %zu read wrong after a skip\n", i);
            mp_pack_cursor_free(&c);
            return 0;
        }
    }
    bool past = mp_pack_cursor_skip(&c, n);
    mp_pack_cursor_free(&c);
    if (past || g < 8) return 0;
    return 1;
}

static void records_read_back_from_memory(void)
{
    mp_pack p;
    mp_pack_init(&p, 3);
    size_t n = 100000;
    uint64_t f[3];
    for (size_t i = 0; i < n; i++) record(i, f), mp_pack_add(&p, f);
    CHECK(!mp_pack_failed(&p));
    CHECK_EQ_U64(p.n, n);
    CHECK(p.fd < 0);
    /* packed: far less than 24 bytes a record */
    CHECK(mp_pack_bytes(&p) < n * 16);
    CHECK(check_store(&p, n));
    mp_pack_free(&p);
}

/* Past the spill threshold the records go to a file in pieces; the last
 * ones stay in memory. Reads cross from one to the other. */
static void records_read_back_once_spilled(void)
{
    mp_pack p;
    mp_pack_init(&p, 3);
    mp_pack_spill(&p, 1);
    size_t n = 1500000; /* several spill pieces of 4 MiB */
    uint64_t f[3];
    for (size_t i = 0; i < n; i++) record(i, f), mp_pack_add(&p, f);
    CHECK(!mp_pack_failed(&p));
    CHECK(p.fd >= 0);
    CHECK(p.file_len > 0 && p.len > 0); /* both a file part and a memory part */
    CHECK(mp_pack_memory(&p) < mp_pack_bytes(&p));
    CHECK(check_store(&p, n));
    mp_pack_free(&p);
}

/* Once spilled, a store keeps one piece in memory, not the buffer that
 * grew up to the threshold: at the threshold of the analysis (64 MiB) and
 * three stores, that buffer was most of the memory they were spilled to
 * save. */
static void a_spilled_store_keeps_one_piece_in_memory(void)
{
    mp_pack p;
    mp_pack_init(&p, 3);
    mp_pack_spill(&p, (uint64_t)8 << 20);
    size_t n = 1000000; /* ~13 MB: past the threshold */
    uint64_t f[3];
    for (size_t i = 0; i < n; i++) record(i, f), mp_pack_add(&p, f);
    CHECK(!mp_pack_failed(&p));
    CHECK(p.fd >= 0);
    CHECK(mp_pack_bytes(&p) > ((uint64_t)8 << 20));
    CHECK(mp_pack_memory(&p) < ((uint64_t)6 << 20));
    CHECK(check_store(&p, n));
    mp_pack_free(&p);
}

/* Record i of MP_PACK_FIELDS fields: field k has about k * 7 + i % 7 bits
 * and jumps by the top bit every other pair of records, so its deltas take
 * zigzag varints of every length from 1 to 10 bytes. */
static void wide_record(size_t i, uint64_t *f)
{
    for (unsigned k = 0; k < MP_PACK_FIELDS; k++) {
        unsigned bits = (k * 7 + (unsigned)(i % 7)) % 64;
        f[k] = (i * 0x9e3779b97f4a7c15ull) & ((UINT64_C(1) << bits) - 1 + (bits == 0));
        f[k] ^= (i & 2) ? UINT64_C(0x8000000000000000) : 0;
    }
}

/* Records of the most fields, whose varints take every length up to the
 * longest, read back in order from memory and from the file: a record is
 * decoded without bound checks when a whole record surely fits before the
 * end of what is at hand, with them in the last bytes. */
static void records_of_every_length_read_back_in_order(void)
{
    for (int spilled = 0; spilled < 2; spilled++) {
        mp_pack p;
        mp_pack_init(&p, MP_PACK_FIELDS);
        if (spilled) mp_pack_spill(&p, 1);
        size_t n = 20000;
        uint64_t f[MP_PACK_FIELDS], g[MP_PACK_FIELDS];
        for (size_t i = 0; i < n; i++) {
            wide_record(i, f);
            mp_pack_add(&p, f);
        }
        CHECK(!mp_pack_failed(&p));
        CHECK(spilled ? p.fd >= 0 : p.fd < 0);
        mp_pack_cursor c;
        mp_pack_cursor_init(&c, &p, 0);
        for (size_t i = 0; i < n; i++) {
            wide_record(i, f);
            CHECK(mp_pack_next(&c, g));
            CHECK(memcmp(f, g, sizeof f) == 0);
        }
        CHECK(!mp_pack_next(&c, g));
        mp_pack_cursor_free(&c);
        mp_pack_free(&p);
    }
}

/* mp_pack_next_many from record `first` on, in runs of `run` records,
 * against record-by-record reads of the same store (nf fields). */
static int runs_read_what_records_do(const mp_pack *p, unsigned nf, size_t first, size_t run)
{
    mp_pack_cursor one, many;
    mp_pack_cursor_init(&one, p, first);
    mp_pack_cursor_init(&many, p, first);
    enum { MAX_RUN = 1000 };
    static uint64_t got[MAX_RUN * MP_PACK_FIELDS];
    uint64_t want[MP_PACK_FIELDS];
    size_t i = first;
    int ok = run <= MAX_RUN;
    for (size_t k; ok && (k = mp_pack_next_many(&many, got, run)) > 0; i += k) {
        ok = k == run || i + k == p->n;
        for (size_t j = 0; ok && j < k; j++)
            ok = mp_pack_next(&one, want) && memcmp(want, got + j * nf, nf * sizeof *want) == 0;
        ok = ok && many.i == one.i && many.pos == one.pos;
    }
    ok = ok && i == p->n && !mp_pack_next(&one, want);
    if (!ok) fprintf(stderr, "runs of %zu from %zu: wrong at record %zu of %zu\n", run, first, i, p->n);
    mp_pack_cursor_free(&one);
    mp_pack_cursor_free(&many);
    return ok;
}

/* Records read a run at a time are those read one at a time, for each
 * width with a decoder of its own (eight fields, two, one) and another,
 * in memory and spilled: runs that start anywhere in a block, cross
 * blocks, the end of a spill piece and the end of the file, and end at the
 * end of the store. */
static void runs_of_records_read_back_in_order(void)
{
    unsigned widths[] = {MP_PACK_FIELDS, 2, 1, 3};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        for (int spilled = 0; spilled < 2; spilled++) {
            unsigned nf = widths[w];
            mp_pack p;
            mp_pack_init(&p, nf);
            if (spilled) mp_pack_spill(&p, 4096);
            size_t n = 30000;
            uint64_t f[MP_PACK_FIELDS];
            for (size_t i = 0; i < n; i++) wide_record(i, f), mp_pack_add(&p, f);
            CHECK(!mp_pack_failed(&p));
            CHECK(spilled ? p.fd >= 0 && p.file_len > 0 && p.len > 0 : p.fd < 0);
            size_t firsts[] = {0, 1, MP_PACK_BLOCK - 1, MP_PACK_BLOCK + 5, n - 70, n - 1, n};
            size_t runs[] = {1, 2, 7, MP_PACK_BLOCK, MP_PACK_BLOCK + 1, 1000};
            for (size_t a = 0; a < sizeof firsts / sizeof *firsts; a++)
                for (size_t r = 0; r < sizeof runs / sizeof *runs; r++)
                    CHECK(runs_read_what_records_do(&p, nf, firsts[a], runs[r]));
            mp_pack_free(&p);
        }
    }
}

/* Every record, by index and in order, of two one-field stores. */
static int same_records(const mp_pack *a, const mp_pack *b)
{
    if (a->n != b->n || mp_pack_bytes(a) != mp_pack_bytes(b)) return 0;
    mp_pack_cursor ca, cb;
    mp_pack_cursor_init(&ca, a, 0);
    mp_pack_cursor_init(&cb, b, 0);
    uint64_t x, y;
    size_t n = 0;
    int ok = 1;
    while (ok && mp_pack_next(&ca, &x)) ok = mp_pack_next(&cb, &y) && x == y && ++n;
    ok = ok && n == a->n && !mp_pack_next(&cb, &y);
    mp_pack_cursor_free(&ca);
    mp_pack_cursor_free(&cb);
    for (size_t i = 0; ok && i < a->n; i += 97)
        ok = mp_pack_get(a, i, &x) && mp_pack_get(b, i, &y) && x == y;
    return ok;
}

/* A column appended in runs of every length, starting anywhere in a block,
 * in memory and spilled, gives the bytes record-by-record appends give. */
static void a_column_appends_what_records_do(void)
{
    for (int spill = 0; spill < 2; spill++) {
        mp_pack a, b;
        mp_pack_init(&a, 1);
        mp_pack_init(&b, 1);
        if (spill) mp_pack_spill(&a, 1), mp_pack_spill(&b, 1);
        enum { N = 700000 };
        static uint64_t v[N];
        for (size_t i = 0; i < N; i++)
            v[i] = i % 5 == 0 ? 0 : (i * 0x9e3779b97f4a7c15ull) >> (i % 64);
        for (size_t i = 0; i < N; i++) mp_pack_add(&a, &v[i]);
        for (size_t i = 0, len = 0; i < N; i += len) {
            len = (i * 31 + 7) % 300;
            if (len > N - i) len = N - i;
            if (len % 7 == 1) {
                mp_pack_add(&b, &v[i]);
                len = 1;
            } else {
                mp_pack_add_column(&b, v + i, len);
            }
        }
        CHECK(!mp_pack_failed(&a) && !mp_pack_failed(&b));
        CHECK(!spill || (b.fd >= 0 && b.file_len > 0));
        CHECK(same_records(&a, &b));
        mp_pack_free(&a);
        mp_pack_free(&b);
    }
}

static void an_empty_store_reads_nothing(void)
{
    mp_pack p;
    mp_pack_init(&p, 2);
    uint64_t f[2] = {1, 1};
    CHECK(!mp_pack_get(&p, 0, f));
    CHECK(f[0] == 0 && f[1] == 0);
    mp_pack_cursor c;
    mp_pack_cursor_init(&c, &p, 0);
    CHECK(!mp_pack_next(&c, f));
    mp_pack_cursor_free(&c);
    mp_pack_free(&p);
}

int main(void)
{
    TEST(records_read_back_from_memory);
    TEST(records_read_back_once_spilled);
    TEST(a_spilled_store_keeps_one_piece_in_memory);
    TEST(records_of_every_length_read_back_in_order);
    TEST(runs_of_records_read_back_in_order);
    TEST(a_column_appends_what_records_do);
    TEST(an_empty_store_reads_nothing);
    TEST_EXIT();
}
