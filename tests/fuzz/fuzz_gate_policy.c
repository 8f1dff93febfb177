/*
 * tests/fuzz/fuzz_gate_policy.c -- libFuzzer target for the inputs of
 * `maproot gate` that are files of the user: the policy (JSON, every key
 * checked, messages with lines) and the baseline. Any bytes must be either
 * refused with a one-line message that names the input, or accepted as a
 * policy whose numbers are within their stated bounds; never a crash, a
 * leak or a read past the input; a baseline accepted has a way for each
 * map exactly when of version 2. The position index of JSON values is run
 * on the same bytes with paths taken from the input. Built with meson
 * -Dfuzz=true (clang); run with scripts/fuzz. Seed corpus:
 * testdata/fuzz/gate_policy/.
 */
#include "analyze/findings.h"
#include "analyze/gate_policy.h"
#include "analyze/json_pos.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    mf_error err;
    mp_gate_policy p;
    if (mp_gate_policy_parse(text, size, "fuzz.json", &p, &err) == 0) {
        if (p.k < 1 || p.k > p.n || p.n > 1000) abort();
        if (p.evidence & ~(uint32_t)MP_GATE_EVIDENCE_ALLOWED) abort();
        for (size_t i = 0; i < p.nsups; i++)
            if (!p.sups[i].reason || !*p.sups[i].reason || !p.sups[i].rules) abort();
        for (size_t i = 0; i < p.ncaps; i++)
            if (!p.caps[i].pattern || p.caps[i].scope > MP_CAP_TYPE ||
                (p.caps[i].max_count == MP_NO_LIMIT && p.caps[i].max_bytes == MP_NO_LIMIT))
                abort();
        for (size_t i = 0; i < p.nsups; i++) /* the globs of a policy on some text */
            if (p.sups[i].root) (void)mp_glob(p.sups[i].root, "global session_cache");
        mp_gate_policy_free(&p);
    } else if (strncmp(err.msg, "fuzz.json:", 10) != 0 || strchr(err.msg, '\n')) {
        abort();
    }
    mp_gate_baseline b;
    if (mp_gate_baseline_parse(text, size, "fuzz.json", &b, &err) == 0) {
        /* a map has a way exactly in version 2; a version 1 baseline
         * accepted has no two maps of one type and holder */
        if (b.version < 1 || b.version > MP_GATE_BASELINE_VERSION) abort();
        for (size_t i = 0; i < b.n; i++) {
            const mp_gate_base_entry *e = &b.v[i];
            if (e->kind != MP_BASE_MAP) continue;
            if (!e->name || !e->holder || (e->way != NULL) != (b.version >= 2)) abort();
            for (size_t j = 0; b.version == 1 && j < i && j < 64; j++)
                if (b.v[j].kind == MP_BASE_MAP && strcmp(b.v[j].name, e->name) == 0 &&
                    strcmp(b.v[j].holder, e->holder) == 0)
                    abort();
        }
        mp_gate_baseline_free(&b);
    } else if (strncmp(err.msg, "fuzz.json:", 10) != 0 || strchr(err.msg, '\n')) {
        abort();
    }
    /* positions: look up paths made of the input's own bytes */
    mp_json_pos *pos = mp_json_pos_index(text, size);
    if (pos) {
        char path[64];
        size_t n = size < sizeof path - 1 ? size : sizeof path - 1;
        memcpy(path, text, n);
        path[n] = 0;
        int line = mp_json_pos_line(pos, path);
        if (line < 0) abort();
        (void)mp_json_pos_line(pos, "");
        mp_json_pos_free(pos);
    }
    /* sizes and globs of the same bytes */
    char s[64];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, text, n);
    s[n] = 0;
    uint64_t v;
    (void)mp_parse_size(s, &v);
    (void)mp_glob(s, "map[string]*Session");
    return 0;
}
