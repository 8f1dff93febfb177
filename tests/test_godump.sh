#!/usr/bin/env bash
# tests/test_godump.sh -- `maproot analyze` and `maproot diff` of Go heap
# dumps (runtime/debug.WriteHeapDump), end to end.
# usage: test_godump.sh MAPROOT GO_SRC_DIR WORKDIR PART [PATTERN...]
#
# PART is one of: patterns (the PATTERNs given), views, diff, bad-input.
# The parts are separate tests so that they run side by side and each stays
# far from its timeout on a loaded machine; together they are the whole check.
#
# Builds tests/go/godump/leaks.go once with the system Go (no network, no
# modules, caches inside WORKDIR; parts running at the same time wait for
# the one that builds) and runs it once per leak pattern; each
# run writes a dump while its leak is held. For every pattern, the JSON
# analysis with --binary and without must name the retaining root (its ELF
# name with the binary; data+0x.../bss+0x... at the same address, as `go
# tool nm` gives it, without), the entry count, B, every decoded key and the
# finding; both runs must agree on all of it. Then: a diff of two dumps,
# --format pprof read back by go tool pprof, --format dot, and bad input
# (truncated, corrupt, an unsupported Go version, a binary that is not ELF):
# exit status 2 and a message naming the record.
# A fact that waits for a fix of the analysis is printed as PENDING and
# checked (failing the test) only with MAPROOT_PENDING=1 in the environment.
# Exits 77 (skipped) when Go is not installed.
set -u
maproot=$1 src=$2 work=$3 part=${4:-}
shift 4 2>/dev/null || { echo "usage: test_godump.sh MAPROOT GO_SRC_DIR WORKDIR PART [PATTERN...]" >&2; exit 1; }
# every JSON report read below is checked against doc/schema (schema_check.py)
PYTHONPATH="$(cd "$(dirname "$0")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
command -v go >/dev/null || { echo "go not installed: skipped"; exit 77; }
mkdir -p "$work/bin" || exit 1
export GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local
export PPROF_TMPDIR="$work/pprof-tmp-$part" HOME="$work"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
contains() { grep "$@" >/dev/null; }

# The program and its symbols, built once for all parts: under the lock the
# first part builds (or rebuilds when leaks.go changed), the others wait and
# take a copy; a build is renamed into place only when complete.
(
    flock 9 || exit 1
    cd "$work/bin" || exit 1
    [ -x leaks ] && [ -s nm.txt ] && [ leaks -nt "$src/godump/leaks.go" ] && exit 0
    rm -f leaks nm.txt
    go build -o leaks.tmp "$src/godump/leaks.go" || { echo "go build failed" >&2; exit 1; }
    go tool nm leaks.tmp >nm.tmp || { echo "go tool nm failed" >&2; exit 1; }
    mv nm.tmp nm.txt && mv leaks.tmp leaks
) 9>"$work/bin/build.lock" || exit 1
# each test has its own directory: the part, and its patterns if any
dir=$work/$part${*:+-$(IFS=-; echo "$*")}
rm -rf "$dir"
mkdir -p "$dir" || exit 1
cd "$dir" || exit 1
cp "$work/bin/leaks" "$work/bin/nm.txt" . || exit 1

# dump PATTERN: runs the program for one pattern (PATTERN.dump, .out, .err)
dump() {
    [ -s "$1.dump" ] && return 0
    ./leaks "$1" "$1.dump" >"$1.out" 2>"$1.err" || fail "leaks $1: $(head -2 "$1.err")"
}

case $part in
patterns)
patterns="$*"
[ -n "$patterns" ] || { echo "patterns: no pattern given" >&2; exit 1; }
for p in $patterns; do
    dump "$p"
    for mode in plain binary; do
        args=(analyze --format json --all)
        [ "$mode" = binary ] && args+=(--binary ./leaks)
        "$maproot" "${args[@]}" "$p.dump" >"$p.$mode.json" 2>"$p.$mode.err" ||
            fail "$p ($mode): analyze failed: $(head -2 "$p.$mode.err")"
        [ -s "$p.$mode.err" ] && fail "$p ($mode): analyze wrote to stderr: $(head -2 "$p.$mode.err")"
    done
done

# The facts each pattern must show (see leaks.go), checked in both modes.
python3 - "$patterns" <<'PY' || fail "the analyses do not say what they should (above)"
import json, os, re, sys
import schema_check
loaded = {}
def load(path):
    """Each report is read and checked against the schema once."""
    if path not in loaded: loaded[path] = schema_check.load(path)
    return loaded[path]
given = set(sys.argv[1].split())
nm = {}
for line in open("nm.txt"):
    f = line.split()
    if len(f) >= 3: nm[f[2]] = int(f[0], 16)
bad = []
def want(cond, what):
    if not cond: bad.append(what)

def the_map(a, p, root_var):
    """The map a pattern is about: its suspect, or for 'literal' the map of
    main.colors (found by the root's slot, the variable's address)."""
    if root_var:
        for m in a["maps"]:
            if any(r["slot"] == nm[root_var] for r in m["roots"]): return m
        return None
    return a["suspects"][0] if a["suspects"] else None

spec = {
    # pattern: (root kind, variable or function, count, B, keys, evidence, type with binary)
    "global": ("global", "main.sessionCache", 3000, 9, {f'"user-{i}"' for i in range(3000)},
               "large_share", "map[string]*main.Session"),
    "frame": ("stack", "main.frameWorker", 2000, 9, {f'"req-{i}"' for i in range(2000)},
              "stack_frame", "map[string][]uint8"),
    "iterator": ("iterator", "main.rangeWorker", 5000, 10, {f'"user-{i}"' for i in range(5000)},
                 "iterator_only", "map[string]*main.Session"),
    "emptied": ("global", "main.jobTable", 0, 14, set(), "emptied", "map[int64]*main.Job"),
    "pointerkeys": ("global", "main.seenBuffers", 40, 3, None, "pointer_keys",
                    "map[*main.Buffer]bool"),
    "tworoots": ("global", "main.primaryIndex", 1500, 8, {f'"user-{i}"' for i in range(1500)},
                 "several_roots", "map[string]*main.Session"),
    "midgrowth": ("global", "main.growingMap", 6657, 11, {f'"user-{i}"' for i in range(6657)},
                  "old_buckets", "map[string]*main.Session"),
    "pointerfree": ("global", "main.counters", 5000, 10, {str(i * 7) for i in range(5000)},
                    None, "map[int64]int64"),
    "literal": ("global", "main.palette", 4, 0, {'"red"', '"green"', '"blue"', '"alpha"'},
                "large_share", "map[string][]uint8"),
    "structvalues": ("global", "main.assetCache", 20, 2, {str(i) for i in range(20)},
                     "large_share", "map[int64]main.Assets"),
    "mapofmaps": ("global", "main.regions", 3000, 9, {str(i) for i in range(3000)},
                  "large_share", "map[int64]*[2048]uint8"),
    "itergrowth": ("iterator", "main.growRangeWorker", 6661, 11, {str(i) for i in range(6661)},
                   "old_buckets", "map[int64]*[4096]uint8"),
    # typed with the binary by the function's variable at the frame's word,
    # though other map types share its bucket size
    "stackonly": ("stack", "main.parkWorker", 1500, 8, {'"job-%012d"' % i for i in range(1500)},
                  "stack_frame", "map[string]*main.Item"),
    "structkeys": ("global", "main.ownedKeys", 700, 7, None, "pointer_keys",
                   "map[main.OwnedKey]*[512]uint8"),
    # typed with the binary by the parameter of the call inlined into the
    # frame's function that holds it there
    "inlined": ("stack", "main.inlineWorker", 1200, 8, {'"order-%08d"' % i for i in range(1200)},
                "stack_frame", "map[string]*main.Order"),
    # values that are slices of one array the map alone holds
    "subslices": ("global", "main.tokenIndex", 2000, 9, {'"tok-%012d"' % i for i in range(2000)},
                  "large_share", "map[string][]uint8"),
    # 3000 entries under NaN keys, never found again: each is shown
    "nankeys": ("global", "main.priceIndex", 3100, 9, None, "large_share",
                "map[float64]*[256]uint8"),
    "ring": ("global", "main.ring", 900, 8, {str(i) for i in range(900)}, "large_share",
             "map[int]*main.Node"),
    "nestedvalues": ("global", "main.accounts", 3000, 9, {str(i) for i in range(3000)},
                     "large_share", "map[int64]*main.Item"),
    "sparechain": ("global", "main.spareChains", 105, 5, None, "old_buckets",
                   "map[int64]*[1024]uint8"),
}
# Facts that wait for a fix of the analysis: reported as PENDING, checked
# (and failing the test) only with MAPROOT_PENDING=1.
run_pending = os.environ.get("MAPROOT_PENDING") == "1"
def pending(cond, what, waits_for):
    if run_pending:
        want(cond, what)
    elif not cond:
        print(f"PENDING {what} (waits for: {waits_for})")
for p in sys.argv[1].split():
    if p not in spec: continue  # checked on its own below
    kind, var, count, B, keys, ev, typ = spec[p]
    seen = {}
    for mode in ("plain", "binary"):
        a = load(f"{p}.{mode}.json")
        what = f"{p} ({mode})"
        want(a["format"] == "godump" and a["runtime"].startswith("go1."), f"{what}: format/runtime")
        m = the_map(a, p, None)
        if not m:
            bad.append(f"{what}: no suspect"); continue
        r = m["retainer"]
        want(r["kind"] == kind, f"{what}: root kind {r['kind']} != {kind}")
        if kind == "global":
            if p == "tworoots" and r["slot"] == nm.get("main.backupIndex"):
                var = "main.backupIndex"  # either of the two may be named
            want(r["slot"] == nm[var], f"{what}: root slot {r['slot']:#x} != {var} {nm[var]:#x}")
            if mode == "binary":
                want(r["name"] == var, f"{what}: root named {r['name']!r}, not {var}")
            else:
                want(re.fullmatch(r"(data|bss)\+0x[0-9a-f]+", r["name"]), f"{what}: root {r['name']!r}")
        else:
            state = "select" if p == "stackonly" else "chan receive"
            want(r["function"] == var and r["state"] == state and r["thread"] > 1,
                 f"{what}: root {r['text']!r} (function {var}, goroutine waiting: {state})")
            want(r["frame_offset"] is not None, f"{what}: no frame offset")
            if mode == "binary":
                want(r["file"].endswith("/leaks.go") and r["line"] > 0,
                     f"{what}: the frame's source line: {r['file']}:{r['line']}")
        want(m["count"] == count and m["entries_walked"] == count,
             f"{what}: count {m['count']} / walked {m['entries_walked']} != {count}")
        want(m["B"] == B, f"{what}: B {m['B']} != {B}")
        got = {e["key_display"] for e in m["entries"]} if m["suspect"] else None
        if m["suspect"] and m["key_kind"] == "string" and not (p == "literal" and mode == "plain"):
            want(all(e["key_display"] == '"%s"' % e["key"] for e in m["entries"]),
                 f"{what}: keys as data: {[(e['key'], e['key_display']) for e in m['entries'][:3]]}")
        if p == "literal" and mode == "plain":
            # literal keys are in the binary's read-only data, not in the dump
            want(all(re.fullmatch(r"\(string of \d+ bytes at 0x[0-9a-f]+\)", k) for k in got),
                 f"{what}: undecodable literal keys shown as such: {sorted(got)}")
            want(all(e["key"] is None for e in m["entries"]), f"{what}: a key that is not there")
            got = keys
        elif keys is not None and m["suspect"]:
            want(got == keys, f"{what}: keys differ: {sorted(got ^ keys)[:5]}")
        if ev:
            # several_roots and shared_entries are context, listed apart from the evidence
            want(ev in m["evidence"] + m["context"] and m["evidence"],
                 f"{what}: evidence {m['evidence']} (context {m['context']}) lacks {ev}")
            want(m["suspect"] and m["rank"] == 1, f"{what}: not the first suspect")
        if mode == "binary" and typ:
            want(m["type"] == typ and not m["types_inferred"], f"{what}: type {m['type']!r} != {typ}")
        for e in m["entries"][:20]:
            ek = [c["kind"] for c in e["chain"]]
            want(ek[0] == "root" and "map" in ek and ek[-1] == "slot", f"{what}: entry chain {ek}")
        if p in ("structkeys", "nankeys"):
            got = None  # shown by their bytes without the binary, by type with it: below
        # (nan_keys needs the map's type: the binary's alone)
        seen[mode] = (r["slot"], r["kind"], m["count"], m["B"], m["address"],
                      sorted(got) if got is not None else None,
                      sorted(x for x in m["evidence"] if x != "nan_keys"))
    if len(seen) == 2:
        want(seen["plain"] == seen["binary"], f"{p}: with and without --binary differ: "
             f"{seen['plain'][:5]} vs {seen['binary'][:5]}")

# pattern details
# a sync.Map: its dirty map, in the global's field at +24, and its read
# map, behind the atomic.Value at +8 (whose data word is at +16), as large
# as the program says: one map, the sync.Map's, with or without the
# binary (without it, told by the shape of its words, maps and entries):
# the dirty map (every key "sess-N" once: interface keys show their
# dynamic value, a boxed string without the binary too) whose table holds
# the read map's too and the readOnly box; no entry shared with the read
# map, each owning its *entry, the boxed value, the *Item, its 512 bytes
# and its key (8 + 16 + 32 + 512 + 16 + 16 bytes), and retaining the
# table and the entries, no more. Both modes agree on all of it.
if "syncmap" in given:
    sizes = [l.split() for l in open("syncmap.out") if l.startswith("dirty ")]
    want(sizes == [["dirty", "2501", "read", "2500"]], f"syncmap: the program says {sizes}")
    base = nm["main.sessionStore"]
    seen = {}
    for mode in ("plain", "binary"):
        a = load(f"syncmap.{mode}.json")
        mine = [m for m in a["maps"] if any(r["slot"] in (base + 16, base + 24) for r in m["roots"])]
        want(len(mine) == 1, f"syncmap ({mode}): {len(mine)} maps under main.sessionStore, not one")
        if len(mine) != 1: continue
        m = mine[0]
        keys = [e["key_display"] for e in m["entries"]]
        r = m["retainer"]
        if mode == "binary":
            want(m["type"] == "map[interface {}]*sync.entry" and not m["types_inferred"] and
                 r["name"] == "main.sessionStore.dirty", f"syncmap: the map {m['type']!r}, root {r['name']!r}")
            container = "main.sessionStore"
        else:
            # (values *sync.entry: pointers at 8-byte objects)
            want(m["type"] == "map[interface {}]*?(8 bytes)" and m["types_inferred"],
                 f"syncmap (plain): type {m['type']!r}")
            # the container by its segment and offset, as the root is named
            seg, off = r["name"].split("+")
            container = f"{seg}+{int(off, 16) - 24:#x}"
        want((m["count"], m["entries_walked"], m["B"]) == (2501, 2501, 9) and r["slot"] == base + 24,
             f"syncmap ({mode}): {m['count']}/{m['entries_walked']} B={m['B']}, root {r['name']!r}")
        want(len(keys) == 2501 and set(keys) == {'"sess-%011d"' % i for i in range(2501)},
             f"syncmap ({mode}): {len(keys)} keys, {len(set(keys))} distinct: {keys[:3]}")
        # its buckets, as its bytes, are both maps': the dirty map's as a
        # map's, the read map's beside them (B = 9 too)
        sm = m.get("sync_map") or {}
        want(sm.get("container") == container and sm.get("maps") == "read_and_dirty" and
             sm.get("read_buckets") == 512 and m["buckets"] == 512 and
             "sync_map" in m["context"] and "large_share" in m["evidence"],
             f"syncmap ({mode}): sync_map {m.get('sync_map')}, evidence {m['evidence']}, context {m['context']}")
        want(m["suspect"] and m["rank"] == 1 and
             [s["index"] for s in a["suspects"] if s["type"] == m["type"]] == [m["index"]],
             f"syncmap ({mode}): suspects {[(s['type'], s['index']) for s in a['suspects']]}")
        want(m["shared_entries"] == 0 and m["sharing_roots"] == [] and
             all(e["retained_bytes"] == 600 and not e["shared"] for e in m["entries"]),
             f"syncmap ({mode}): shared {m['shared_entries']}, entries retain "
             f"{sorted({e['retained_bytes'] for e in m['entries']})}")
        want((m["entries_retained_bytes"], m["keys_retained_bytes"]) == (2501 * 600, 2501 * 32) and
             m["retained_bytes"] == m["table_bytes"] + 2501 * 600,
             f"syncmap ({mode}): retained {m['retained_bytes']} (entries {m['entries_retained_bytes']}, "
             f"keys {m['keys_retained_bytes']}, table {m['table_bytes']})")
        seen[mode] = (m["address"], m["table_bytes"], m["overflow_buckets"], sm.get("read_overflow_buckets"),
                      m["retained_bytes"], sorted(keys))
    want(len(seen) == 2 and seen["plain"] == seen["binary"],
         f"syncmap: with and without --binary differ: {[v[:5] for v in seen.values()]}")
# sync.Maps that are no globals of their own (see leaks.go, syncfields),
# with and without the binary: the one in a global struct's field, both
# maps, is one map whose container is the field; the one on the heap,
# its read map alone, is one map that no global contains. The two
# structs that look like holders of a sync.Map (one with its very layout)
# keep their four maps apart: their entries are their own.
if "syncfields" in given:
    sizes = [l.split() for l in open("syncfields.out")]
    want(sizes == [["tables", "dirty", "1201", "read", "1200"], ["registry", "dirty", "0", "read", "900"]],
         f"syncfields: the program says {sizes}")
    tb = nm["main.tables"] + 8
    for mode in ("plain", "binary"):
        a = load(f"syncfields.{mode}.json")
        typ = "map[interface {}]*sync.entry" if mode == "binary" else "map[interface {}]*?(8 bytes)"
        t = [m for m in a["maps"] if any(r["slot"] in (tb + 16, tb + 24) for r in m["roots"])]
        want(len(t) == 1 and t[0]["count"] == 1201 and t[0]["type"] == typ and
             t[0]["retainer"]["slot"] == tb + 24 and (t[0]["sync_map"] or {}).get("maps") == "read_and_dirty" and
             {e["key_display"] for e in t[0]["entries"]} ==
             {'"name-%08d"' % i for i in range(1201)},
             f"syncfields ({mode}): tables {[(m['type'], m['count'], m['sync_map']) for m in t]}")
        if len(t) == 1:
            r = t[0]["retainer"]["name"]
            want(t[0]["sync_map"]["container"] ==
                 ("main.tables+8" if mode == "binary" else f"{r.split('+')[0]}+{int(r.split('+')[1], 16) - 24:#x}"),
                 f"syncfields ({mode}): tables container {t[0]['sync_map']['container']!r}")
        g = [m for m in a["maps"] if m["retainer"]["slot"] == nm["main.registry"] and m["count"] == 900]
        want(len(g) == 1 and g[0]["type"] == typ and
             g[0]["sync_map"] == {"container": None, "maps": "one", "read_buckets": 0, "read_overflow_buckets": 0} and
             {e["key_display"] for e in g[0]["entries"]} == {'"reg-%08d"' % i for i in range(900)},
             f"syncfields ({mode}): registry {[(m['type'], m['count'], m['sync_map']) for m in g]}")
        lk = sorted((m["count"], m["sync_map"]) for m in a["maps"]
                    if m["retainer"]["slot"] in (nm["main.lookalike"], nm["main.pair"], nm["main.pair"] + 8))
        want(lk == [(300, None), (300, None), (400, None), (400, None)],
             f"syncfields ({mode}): the lookalikes' maps {lk}")
# interface keys are pointer keys only when their dynamic types are
# pointers: a sync.Map's boxed strings keep their boxes, but the map is not
# keyed by pointers (no pointer_keys, no advice to key it by an id); 40
# *Buffer keys in interfaces are (with the binary, which types the map)
if "syncmap" in given:
    m = [m for m in load("syncmap.binary.json")["maps"]
         if m["retainer"]["name"].startswith("main.sessionStore")]
    want(len(m) == 1 and m[0]["keys_retained_bytes"] > 0 and "pointer_keys" not in m[0]["evidence"]
         and m[0]["key_kind"] != "pointer",
         f"syncmap: interface keys of boxed strings: {[(x['key_kind'], x['evidence']) for x in m]}")
if "anykeys" in given:
    m = [m for m in load("anykeys.binary.json")["maps"] if m["retainer"]["name"] == "main.anyBuffers"]
    want(len(m) == 1 and m[0]["type"] == "map[interface {}]bool" and m[0]["count"] == 40 and
         m[0]["key_kind"] == "pointer" and "pointer_keys" in m[0]["evidence"] and
         m[0]["keys_retained_bytes"] >= 40 * (64 << 10),
         f"anykeys: {[(x['type'], x['count'], x['key_kind'], x['evidence']) for x in m]}")
# interface keys without the binary (see leaks.go, boxedkeys): the dump
# shows interfaces by their shape (a type word in read-only data, a data
# word), and a string boxed in one by its box; 200-byte strings keep 134
# KiB of their own, but no key is a pointer of the program's, so neither
# map is said to be keyed by pointers, with or without the binary. A
# number boxed looks like a pointer to one: not told, not claimed. 40
# *Buffer keys (anykeys) are pointers the binary alone tells.
if "boxedkeys" in given:
    tags = {'"tag-%0196d"' % i for i in range(600)}
    for mode in ("plain", "binary"):
        a = load(f"boxedkeys.{mode}.json")
        for var, count, typ in (("main.tagIndex", 600, "map[interface {}]*[64]uint8"),
                                ("main.idIndex", 20020, "map[interface {}]bool")):
            m = [m for m in a["maps"] if m["retainer"]["slot"] == nm[var]]
            want(len(m) == 1 and m[0]["count"] == count and m[0]["key_kind"] == "other" and
                 "pointer_keys" not in m[0]["evidence"] and
                 (m[0]["type"] == typ if mode == "binary" else m[0]["type"].startswith("map[interface {}]")),
                 f"boxedkeys ({mode}): {var}: {[(x['type'], x['count'], x['key_kind'], x['evidence']) for x in m]}")
            if len(m) == 1 and var == "main.tagIndex":
                keys = [e["key_display"] for e in m[0]["entries"]]
                want(m[0]["keys_retained_bytes"] >= 600 * 224 and len(set(keys)) == 600 and
                     {k.split("...")[0] for k in keys} == {'"tag-' + "0" * 60 + '"'},
                     f"boxedkeys ({mode}): tag keys {keys[:2]}, keys retain {m[0]['keys_retained_bytes']}")
    seen = [sorted(e["key_display"] for m in load(f"boxedkeys.{mode}.json")["maps"]
                   if m["retainer"]["slot"] == nm["main.tagIndex"] for e in m["entries"])
            for mode in ("plain", "binary")]
    want(seen[0] == seen[1], f"boxedkeys: tag keys differ with and without --binary: {seen[0][:1]} {seen[1][:1]}")
if "anykeys" in given:
    m = [m for m in load("anykeys.plain.json")["maps"] if m["retainer"]["slot"] == nm["main.anyBuffers"]]
    want(len(m) == 1 and m[0]["type"] == "map[interface {}]int8" and m[0]["count"] == 40 and
         m[0]["key_kind"] == "other" and "pointer_keys" not in m[0]["evidence"],
         f"anykeys (plain): {[(x['type'], x['count'], x['key_kind'], x['evidence']) for x in m]}")
# interface keys whose itab the runtime made (see leaks.go, itabkeys): with
# the binary each shows its dynamic value, the type found through the
# dump's itab records; without it they are not typed (16 bytes of hex)
for mode in ("binary",) if "itabkeys" in given else ():
    a = load(f"itabkeys.{mode}.json")
    m = [m for m in a["maps"] if m["retainer"]["name"] == "main.handlers"]
    got = {e["key_display"] for e in m[0]["entries"]} if len(m) == 1 else set()
    want(len(m) == 1 and m[0]["type"] == "map[fmt.Stringer]*[256]uint8" and
         got == {str(1000 + i) for i in range(300)},
         f"itabkeys: {[(x['type'], x['count']) for x in m]}, keys {sorted(got)[:3]}")
# 2000 slices of 16 bytes into one 4 MiB array: the map retains the whole
# array (as big as the program says), each entry its 16-byte key only, and
# no entry is shared with a holder outside the map
if "subslices" in given:
    size = [int(l.split()[1]) for l in open("subslices.out") if l.startswith("array ")]
    want(size == [4 << 20], f"subslices: the program's array {size}")
for mode in ("plain", "binary") if "subslices" in given else ():
    s = load(f"subslices.{mode}.json")["suspects"][0]
    want(s["retained_bytes"] == s["table_bytes"] + (4 << 20) + 2000 * 16 and
         s["entries_retained_bytes"] == 2000 * 16 and s["keys_retained_bytes"] == 2000 * 16 and
         all(e["retained_bytes"] == 16 for e in s["entries"]) and s["shared_entries"] == 0,
         f"subslices ({mode}): retains {s['retained_bytes']} (table {s['table_bytes']}, entries "
         f"{s['entries_retained_bytes']}, keys {s['keys_retained_bytes']}, shared "
         f"{s['shared_entries']}), not table + 4 MiB + 2000 x 16")
# float keys, 3000 of them NaN: with the binary every key is shown as the
# program prints it (NaN 3000 times); without it, as the 8 bytes they are
# read as (an int64, inferred); each entry retains its 256 bytes
if "nankeys" in given:
    from collections import Counter
    printed = Counter(l[4:].strip() for l in open("nankeys.out") if l.startswith("key "))
    want(printed["NaN"] == 3000 and sum(printed.values()) == 3100,
         f"nankeys: the program printed {printed.most_common(2)}")
    s = load("nankeys.binary.json")["suspects"][0]
    got = Counter(e["key_display"] for e in s["entries"])
    want(got == printed, f"nankeys (binary): keys differ: {list((got - printed).items())[:3]} "
         f"{list((printed - got).items())[:3]}")
    p = load("nankeys.plain.json")["suspects"][0]
    got = Counter(e["key_display"] for e in p["entries"])
    want(got[str(0x7ff8000000000001)] == 3000 and p["types_inferred"],
         f"nankeys (plain): keys {got.most_common(2)}")
for mode in ("plain", "binary") if "nankeys" in given else ():
    s = load(f"nankeys.{mode}.json")["suspects"][0]
    want(s["retained_bytes"] == s["table_bytes"] + 3100 * 256 and
         all(e["retained_bytes"] == 256 for e in s["entries"]),
         f"nankeys ({mode}): retains {s['retained_bytes']} (table {s['table_bytes']})")
    # the entries no lookup or delete finds again: evidence, with the
    # binary (whose map type says the keys are floats); without it the
    # keys read as integers and nothing is claimed
    if mode == "binary":
        want(s["nan_keys"] == 3000 and "nan_keys" in s["evidence"] and "NaN" in s["fix"],
             f"nankeys (binary): nan_keys {s['nan_keys']}, evidence {s['evidence']}, fix {s['fix']!r}")
    else:
        want(s["nan_keys"] == 0 and "nan_keys" not in s["evidence"],
             f"nankeys (plain): nan_keys {s['nan_keys']}, evidence {s['evidence']}")
if "inlined" in given:
    printed = [l.split(None, 1)[1].strip() for l in open("inlined.out") if l.startswith("type ")]
    want(printed == [spec["inlined"][6]], f"inlined: the program's map is {printed}")
if "pointerkeys" in given:
    a = load("pointerkeys.binary.json")["suspects"][0]
    want(all(re.fullmatch(r"0x[0-9a-f]+", e["key"]) for e in a["entries"]) and
         len({e["key"] for e in a["entries"]}) == 40, "pointerkeys: 40 distinct pointer keys")
    want(a["keys_retained_bytes"] >= 40 * 65536, f"pointerkeys: keys retain {a['keys_retained_bytes']}")
if "tworoots" in given:
    a = load("tworoots.binary.json")["suspects"][0]
    want(a["nroots"] == 2 and {r["name"] for r in a["roots"]} == {"main.primaryIndex", "main.backupIndex"},
         f"tworoots: roots {[r['name'] for r in a['roots']]}")
if "midgrowth" in given:
    a = load("midgrowth.binary.json")["suspects"][0]
    want(a["old_buckets"] > 0 and a["nevacuate"] < 1024 and a["old_bytes"] > 0 and
         a["old_bytes"] < a["table_bytes"], f"midgrowth: old {a['old_buckets']} nevacuate {a['nevacuate']} "
         f"old_bytes {a['old_bytes']} table {a['table_bytes']}")
    want(any(e["old"] if "old" in e else False for e in a["entries"]) or
         any("oldbucket" in c["text"] for e in a["entries"] for c in e["chain"]),
         "midgrowth: some entries are still in old buckets")
if "pointerfree" in given:
    a = load("pointerfree.plain.json")["suspects"][0]
    want(a["type"] == "map[int64]int64" and a["key_size"] == 8 and a["value_size"] == 8,
         f"pointerfree without --binary: {a['type']} {a['key_size']}/{a['value_size']}")
# a value of three pointers retains all three objects and what they lead
# to: 64 KiB, 32 KiB through an 8-byte *Thumb, 16 KiB; each counted once
for mode in ("plain", "binary") if "structvalues" in given else ():
    a = load(f"structvalues.{mode}.json")["suspects"][0]
    each = (64 << 10) + 8 + (32 << 10) + (16 << 10)
    want(sorted(e["retained_bytes"] for e in a["entries"]) == [each] * 20,
         f"structvalues ({mode}): entries retain {sorted({e['retained_bytes'] for e in a['entries']})}, "
         f"not {each} each")
    want(a["entries_retained_bytes"] == 20 * each and a["keys_retained_bytes"] == 0 and
         a["retained_bytes"] == 20 * each + a["table_bytes"],
         f"structvalues ({mode}): map retains {a['retained_bytes']} (entries "
         f"{a['entries_retained_bytes']}, table {a['table_bytes']})")
# a leak two maps down: the suspect is the innermost map (its holders are
# judged without it), its chain names the slots of "eu" and "z2" (keys
# that are literals: decoded with the binary), and every map below the
# global is typed exactly from the one that holds it: the maps between as
# the maps of maps they are, the nine innermost as map[int64]*[2048]uint8
if "mapofmaps" in given:
    a = load("mapofmaps.binary.json")
    s = a["suspects"][0]
    want(len(a["suspects"]) == 1, f"mapofmaps: {len(a['suspects'])} suspects, not 1")
    want([c["key"] for c in s["chain"] if c["kind"] == "slot"][:2] == ["eu", "z2"],
         f"mapofmaps: chain {' -> '.join(c['text'] for c in s['chain'])}")
    want(s["retained_bytes"] == s["table_bytes"] + 3000 * 2048,
         f"mapofmaps: retains {s['retained_bytes']}, table {s['table_bytes']} + 3000 x 2 KiB")
    three = [m for m in a["maps"] if m["count"] == 3 and m["retainer"]["name"] == "main.regions"]
    outer = [m for m in three if m["type"] == "map[string]map[string]map[int64]*[2048]uint8"]
    want(len(three) == 4 and len(outer) == 1 and not outer[0]["types_inferred"],
         f"mapofmaps: maps of 3 entries under main.regions: {[m['type'] for m in three]}")
    for m in three:
        if m not in outer:
            want(m["type"] == "map[string]map[int64]*[2048]uint8" and not m["types_inferred"],
                 f"mapofmaps (binary): a zones map typed {m['type']!r} "
                 f"(inferred {m['types_inferred']})")
    hosts = [m for m in a["maps"] if m["retainer"]["name"] == "main.regions" and
             m["count"] in (8, 3000)]
    want(len(hosts) == 9 and all(m["type"] == "map[int64]*[2048]uint8" and
                                 not m["types_inferred"] for m in hosts),
         f"mapofmaps (binary): hosts maps typed {[(m['type'], m['types_inferred']) for m in hosts]}")
# a map grown from inside a range loop: the iterator was opened on the
# bucket array that is now the old one, whose evacuated buckets still
# point at their values and at their overflow buckets (the program makes
# sure some exist); the map retains its table, which holds every old
# bucket still reachable (as many as the program counts from the runtime's
# header), and every 4 KiB value (each once), and no entry shares its
# value with another holder
if "itergrowth" in given:
    held, evac = (int(w) for w in open("itergrowth.out").read().split()[1::2])
    want(evac > 0, f"itergrowth: no overflow bucket hangs off an evacuated old bucket")
for mode in ("plain", "binary") if "itergrowth" in given else ():
    s = load(f"itergrowth.{mode}.json")["suspects"][0]
    want("iterator_only" in s["evidence"], f"itergrowth ({mode}): evidence {s['evidence']}")
    want(s["old_buckets"] == held, f"itergrowth ({mode}): {s['old_buckets']} old buckets, not {held}")
    extra = s["retained_bytes"] - s["table_bytes"] - 6661 * 4096
    want(extra == 0, f"itergrowth ({mode}): retains {s['retained_bytes']}, table {s['table_bytes']} "
         f"+ 6661 x 4 KiB + {extra} bytes")
    want(s["shared_entries"] == 0 and s["entries_retained_bytes"] == 6661 * 4096,
         f"itergrowth ({mode}): {s['shared_entries']} entries shared, entries retain "
         f"{s['entries_retained_bytes']}, not 6661 x 4 KiB")
# a map its goroutine's frame alone holds, the goroutine in a select: each
# entry retains its *Item (32 bytes), the Item's 512-byte blob and its
# 16-byte key, and nothing else keeps any of them
for mode in ("plain", "binary") if "stackonly" in given else ():
    s = load(f"stackonly.{mode}.json")["suspects"][0]
    each = 32 + 512 + 16
    want(sorted({e["retained_bytes"] for e in s["entries"]}) == [each] and
         s["keys_retained_bytes"] == 1500 * 16 and s["entries_retained_bytes"] == 1500 * each and
         s["retained_bytes"] == s["table_bytes"] + 1500 * each,
         f"stackonly ({mode}): retains {s['retained_bytes']} (table {s['table_bytes']}, entries "
         f"{s['entries_retained_bytes']}, keys {s['keys_retained_bytes']}), not {each} an entry")
# struct keys of a string, a pointer, an int32, a nested struct and a
# 2-byte array (40 bytes with padding): without the binary shown as their
# bytes, the int32 at byte 24 telling them apart; with it field by field,
# exactly as the program prints each key; each key retains its 16-byte
# string and its 2 KiB, its entry that and 512 bytes
for mode in ("plain", "binary") if "structkeys" in given else ():
    s = load(f"structkeys.{mode}.json")["suspects"][0]
    if mode == "binary":
        printed = {l[4:].rstrip("\n") for l in open("structkeys.out") if l.startswith("key ")}
        got = {e["key_display"] for e in s["entries"]}
        want(len(printed) == 700 and got == printed,
             f"structkeys (binary): keys differ from the program's: {sorted(got ^ printed)[:4]}")
    else:
        ranks = set()
        for e in s["entries"]:
            k = e["key_display"]
            if re.fullmatch(r"0x[0-9a-f]{80}", k):
                ranks.add(int.from_bytes(bytes.fromhex(k[2 + 48:2 + 56]), "little"))
        want(ranks == set(range(700)) and len(s["entries"]) == 700,
             f"structkeys ({mode}): keys {[e['key_display'] for e in s['entries'][:2]]}")
    want(s["keys_retained_bytes"] == 700 * (2048 + 16) and
         s["entries_retained_bytes"] == 700 * (2048 + 16 + 512) and
         s["retained_bytes"] == s["table_bytes"] + 700 * (2048 + 16 + 512),
         f"structkeys ({mode}): retains {s['retained_bytes']} (table {s['table_bytes']}, entries "
         f"{s['entries_retained_bytes']}, keys {s['keys_retained_bytes']})")
# values in a ring through the map: each is held by its entry and by the
# value before it, so the map retains all 900 (1008 bytes in 1 KiB slots)
# and no entry retains anything alone; none counts as shared with another
# holder (the ring is the map's own)
for mode in ("plain", "binary") if "ring" in given else ():
    s = load(f"ring.{mode}.json")["suspects"][0]
    what = (f"ring ({mode}): retains {s['retained_bytes']} (table {s['table_bytes']}, entries "
            f"{s['entries_retained_bytes']}, shared {s['shared_entries']})")
    want(s["entries_retained_bytes"] == 0 and all(e["retained_bytes"] == 0 for e in s["entries"])
         and s["shared_entries"] == 0, f"{what}: an entry retains alone, or shares")
    # whatever the hash seed left mid-growth (with some, an overflow bucket
    # that only a spare bucket of the old array still holds), in the table
    want(s["retained_bytes"] == s["table_bytes"] + 900 * 1024, f"{what}, not table + 900 KiB")
# a map mid-growth whose old array's spare buckets hold the rest of an
# evacuated chain (two spares and an overflow bucket of its own): the
# table holds all three, as many old buckets as the program counts from
# the runtime's header; the map retains its table and the 105 values of
# 1 KiB, each its entry's alone
if "sparechain" in given:
    held, spare = (int(w) for w in open("sparechain.out").read().split()[1::2])
    want(spare == 3, f"sparechain: {spare} buckets hang off spares of the old array, not 3")
for mode in ("plain", "binary") if "sparechain" in given else ():
    s = load(f"sparechain.{mode}.json")["suspects"][0]
    what = (f"sparechain ({mode}): retains {s['retained_bytes']} (table {s['table_bytes']}, entries "
            f"{s['entries_retained_bytes']}, shared {s['shared_entries']}), {s['old_buckets']} old buckets")
    want(s["old_buckets"] == held, f"{what}, not {held}")
    want(s["retained_bytes"] == s["table_bytes"] + 105 * 1024 and
         s["entries_retained_bytes"] == 105 * 1024 and s["shared_entries"] == 0,
         f"{what}, not table + 105 KiB, all in entries")
# many small maps under one slice: judged together, one suspect group held
# by the slice's array under main.members, no map alone a suspect
if "smallmaps" in given:
    for mode in ("plain", "binary"):
        a = load(f"smallmaps.{mode}.json")
        gs = a["group_suspects"]
        want(a["suspects"] == [] and len(gs) == 1,
             f"smallmaps ({mode}): {len(a['suspects'])} suspect maps, {len(gs)} groups, not 0 and 1")
        g = gs[0] if gs else {"maps": 0, "entries": 0, "holder_chain": [], "retainer": None}
        want(g["maps"] == 3000 and g["entries"] == 6000,
             f"smallmaps ({mode}): {g['maps']} maps of {g['entries']} entries, not 3000 of 6000")
        want(g["retainer"] and g["retainer"]["slot"] == nm["main.members"],
             f"smallmaps ({mode}): retainer {g['retainer'] and g['retainer']['text']}, not main.members")
        want(len(g["holder_chain"]) == 2 and g["holder_chain"][1]["kind"] == "object",
             f"smallmaps ({mode}): holder chain {[c['text'] for c in g['holder_chain']]}, not the variable and its array")
# two types of small maps under one slice (see leaks.go, twotypes): with
# the binary, one group per type; without it both layouts read as
# map[int64]*?, but their values point at objects of other sizes (Item 32
# bytes, Lot 48), which the guessed names carry: two groups still, never
# one of 3000 maps, and the same two (maps, entries, retained bytes) as
# with the binary; each map has its group's name
if "twotypes" in given:
    seen = {}
    for mode in ("plain", "binary"):
        a = load(f"twotypes.{mode}.json")
        gs = [g for g in a["group_suspects"] if g["retainer"] and g["retainer"]["slot"] == nm["main.depots"]]
        got = sorted((g["type"], g["maps"], g["entries"]) for g in gs)
        types = (["map[int64]*main.Item", "map[int64]*main.Lot"] if mode == "binary" else
                 ["map[int64]*?(32 bytes)", "map[int64]*?(48 bytes)"])
        want(got == [(t, 1500, 3000) for t in types],
             f"twotypes ({mode}): groups under main.depots {got}, not one per type of 1500 maps")
        from collections import Counter
        under = Counter(m["type"] for m in a["maps"] if m["retainer"]["slot"] == nm["main.depots"])
        want(under == {t: 1500 for t in types}, f"twotypes ({mode}): the maps' types {under}")
        seen[mode] = sorted((g["maps"], g["entries"], g["retained_bytes"]) for g in gs)
    want(seen["plain"] == seen["binary"], f"twotypes: groups differ with and without --binary: {seen}")
# an empty sync.Map (see leaks.go, emptysync): a readOnly box of an empty
# map, no dirty map. With no entry to judge there is nothing that tells it
# from a struct of the same words (emptyLookalike): without the binary
# neither is a sync.Map; with it, the global's type says emptyStore is
# one (its one map, empty), and the lookalike still is not
if "emptysync" in given:
    sizes = [l.split() for l in open("emptysync.out")]
    want(sizes == [["emptystore", "dirty", "0", "read", "0"]], f"emptysync: the program says {sizes}")
    for mode in ("plain", "binary"):
        a = load(f"emptysync.{mode}.json")
        st = [m for m in a["maps"] if m["retainer"]["slot"] in (nm["main.emptyStore"] + 16, nm["main.emptyStore"] + 24)]
        lk = [m for m in a["maps"] if m["retainer"]["slot"] == nm["main.emptyLookalike"]]
        want([m["sync_map"] for m in lk] == [None] and [m["count"] for m in lk] == [0],
             f"emptysync ({mode}): the lookalike's maps {[(m['count'], m['sync_map']) for m in lk]}")
        if mode == "plain":
            want([(m["count"], m["sync_map"]) for m in st] == [(0, None)],
                 f"emptysync (plain): emptyStore's maps {[(m['count'], m['sync_map']) for m in st]}")
        else:
            want([(m["count"], m["type"], m["sync_map"]) for m in st] ==
                 [(0, "map[interface {}]*sync.entry",
                   {"container": "main.emptyStore", "maps": "one", "read_buckets": 0, "read_overflow_buckets": 0})],
                 f"emptysync (binary): emptyStore's maps {[(m['count'], m['type'], m['sync_map']) for m in st]}")
# maps in the structs a map's values point to (*Account) or are (Shelf):
# with the binary each is typed from its holder's value type, though other
# map types share its bucket size; the leak is the Items of "acct-7"
if "nestedvalues" in given:
    a = load("nestedvalues.binary.json")
    s = a["suspects"][0]
    want([c["key"] for c in s["chain"] if c["kind"] == "slot"][:1] == ["acct-7"],
         f"nestedvalues: chain {' -> '.join(c['text'] for c in s['chain'])}")
    want(s["retained_bytes"] == s["table_bytes"] + 3000 * (32 + 1024),
         f"nestedvalues: retains {s['retained_bytes']}, table {s['table_bytes']} + 3000 x (32 + 1 KiB)")
    under = lambda var: [m for m in a["maps"] if m["retainer"]["name"] == var]
    got = sorted((m["type"], m["types_inferred"], m["count"]) for m in under("main.accounts"))
    want(got == sorted([("map[int64]*main.Item", False, 5)] * 39 + [("map[int64]*main.Item", False, 3000),
                        ("map[string]*main.Account", False, 40)]),
         f"nestedvalues: maps under main.accounts {sorted(set(got))}")
    got = sorted((m["type"], m["types_inferred"], m["count"]) for m in under("main.shelves"))
    want(got == sorted([("map[string]*main.Item", False, 12)] * 6 + [("map[int64]main.Shelf", False, 6)]),
         f"nestedvalues: maps under main.shelves {sorted(set(got))}")
if "global" in given:
    a = load("global.binary.json")["suspects"][0]
    want(all(e["value_type"] == "main.Session" for e in a["entries"]), "global: values are main.Session")
    want(a["sites"] and any(s["function"] in ("main.fillCache", "main.newSession") for s in a["sites"]),
         f"global: allocation sites {a['sites'][:2]}")
if bad:
    print("\n".join(bad[:30]), file=sys.stderr)
    sys.exit(1)
PY

# the text says why entries under NaN keys are a leak
if [[ " $patterns " == *" nankeys "* ]]; then
    "$maproot" analyze --binary ./leaks nankeys.dump >nankeys.txt || fail "nankeys: text"
    contains -E '^ +(why +)?3,000 entries under NaN keys: a NaN equals nothing' nankeys.txt ||
        fail "nankeys: text: $(grep -m3 -E '^  (why|fix) ' nankeys.txt)"
fi

# the text shows a sync.Map as one suspect under its variable's name
if [[ " $patterns " == *" syncmap "* ]]; then
    "$maproot" analyze --binary ./leaks syncmap.dump >syncmap.txt || fail "syncmap: text"
    [ "$(grep -c -E '^LEAK SUSPECT .*sync\.entry' syncmap.txt)" = 1 ] &&
        [ "$(grep -c -E '^ +[0-9.]+[KMG]?i?B .* map\[interface \{\}\]\*sync\.entry +global ' syncmap.txt)" = 1 ] &&
        contains -E '^LEAK SUSPECT 1 of [0-9]+   map\[interface \{\}\]\*sync\.entry   retains ' syncmap.txt &&
        contains -E '^  root     global main\.sessionStore\.dirty$' syncmap.txt &&
        contains -E '^  sync\.Map main\.sessionStore: its read and dirty maps as one map, each entry counted once' syncmap.txt &&
        contains -E '^  table    512 buckets \+ [0-9]+ overflow, and the read map.s 512 \+ [0-9]+ overflow, ' syncmap.txt &&
        ! contains -E 'instead of a pointer|its keys (are|carry) pointers' syncmap.txt ||
        fail "syncmap: text: $(grep -E -A12 '^LEAK SUSPECT' syncmap.txt | grep -E '^(LEAK|  (root|sync|table|fix))| keys ')"
fi

# the guessed names of twotypes' maps, told apart by what their values
# point to, are the same in the text of analyze, of diff and in the gate's
# report (which follows the groups by them)
if [[ " $patterns " == *" twotypes "* ]]; then
    "$maproot" analyze twotypes.dump >twotypes.txt || fail "twotypes: text"
    for size in 32 48; do
        contains -E "^LEAK SUSPECT [12] of 2   1,500 maps map\[int64\]\*\?\($size bytes\)   retain " twotypes.txt ||
            fail "twotypes: text: no group of *?($size bytes): $(grep '^LEAK SUSPECT' twotypes.txt)"
    done
    "$maproot" diff twotypes.dump twotypes.dump >twotypes-diff.txt || fail "twotypes: diff"
    for size in 32 48; do
        contains -E "^  map\[int64\]\*\?\($size bytes\) maps +root global " twotypes-diff.txt ||
            fail "twotypes: diff text: no group of *?($size bytes): $(grep -m4 'map\[int64\]' twotypes-diff.txt)"
    done
    # the gate needs five snapshots; the one dump five times grows nothing
    "$maproot" gate --format json twotypes.dump twotypes.dump twotypes.dump twotypes.dump \
        twotypes.dump >twotypes-gate.json || fail "twotypes: gate"
    python3 - <<'PY' || fail "twotypes: the gate's names of the groups"
import json
from collections import Counter
d = json.load(open("twotypes-gate.json"))
got = Counter((m["group"], m["type"]) for m in d["maps"] if m["type"].startswith("map[int64]"))
want = {(g, t): 1 if g else 1500 for g in (True, False)
        for t in ("map[int64]*?(32 bytes)", "map[int64]*?(48 bytes)")}
assert got == want, got
PY
fi

# the path to a value of the ring: through its own entry, not around the ring
if [[ " $patterns " == *" ring "* ]]; then
    read -r _ node <ring.out
    "$maproot" path -O "$node" -f json ring.dump >ring-path.json || fail "ring: path -O $node"
    python3 - "$node" <<'PY' || fail "ring: the path to entry 450's value: $(head -c 600 ring-path.json)"
import json, sys
c = json.load(open("ring-path.json"))["paths"][0]["chain"]
assert [s["kind"] for s in c[:4]] == ["root", "map", "bucket", "slot"], c
assert c[3]["text"].endswith(" (450)") and [s["address"] for s in c[4:]] == [int(sys.argv[1], 16)], c
PY
fi
;;

views)
# the path to what a value's second pointer leads to goes through its entry
for p in structvalues literal global iterator tworoots; do dump "$p"; done
read -r _ icon _ thumb _ pixels _ meta <structvalues.out
for obj in "$icon" "$thumb" "$pixels" "$meta"; do
    "$maproot" path -O "$obj" -f json structvalues.dump >path.json || fail "structvalues: path -O $obj"
    python3 - "$obj" "$thumb" "$pixels" <<'PY' || fail "structvalues: the path to $obj: $(head -c 600 path.json)"
import json, sys
obj, thumb, pixels = (int(a, 16) for a in sys.argv[1:4])
c = json.load(open("path.json"))["paths"][0]["chain"]
# root, map header, bucket, the slot of key 7, then the objects
assert [s["kind"] for s in c[:4]] == ["root", "map", "bucket", "slot"], c
assert c[3]["text"].endswith(" (7)"), c
assert [s["address"] for s in c[4:]] == ([thumb, pixels] if obj == pixels else [obj]), c
PY
done
"$maproot" analyze --binary ./leaks --format dot literal.dump | contains '\\"red\\" -> ' ||
    fail "literal: dot shows the decoded key"
"$maproot" analyze --all --binary ./leaks global.dump >global.txt || fail "global: text with --all"
contains -E '^  root     global main\.sessionCache' global.txt || fail "global: text names main.sessionCache"
contains -E 'chain    main\.sessionCache -> map header 0x[0-9a-f]+ \(B=9, 3000 entries\) -> bucket\[' global.txt ||
    fail "global: text chain: $(grep -m1 chain global.txt)"
"$maproot" analyze iterator.dump >iterator.txt || fail "iterator: text"
contains -E 'root     iterator: goroutine [0-9]+ \[chan receive\], frame #[0-9]+ main\.rangeWorker' iterator.txt ||
    fail "iterator: text root: $(grep -m1 'root ' iterator.txt)"

# --format pprof: go tool pprof reads the retention chains, root at the bottom
"$maproot" analyze --binary ./leaks -f pprof -o chains.pb.gz global.dump || fail "pprof output"
go tool pprof -traces chains.pb.gz 2>/dev/null >traces.txt || fail "go tool pprof rejected chains.pb.gz"
contains -E '^ +global main\.sessionCache$' traces.txt || fail "pprof traces end at the global"
contains 'key:  user-' traces.txt || fail "pprof traces carry the keys"
"$maproot" analyze -f dot global.dump >global.dot || fail "dot output"
contains -E 'label="global bss\+0x[0-9a-f]+"' global.dot || fail "dot names the root by address"
if command -v dot >/dev/null; then
    # the pictures as drawn (tests/svg_nodes.py: a node's id and text): the
    # frame of all entries names the largest keys where no entry is large
    # enough for pprof's graph to keep its node
    go tool pprof -svg chains.pb.gz >chains.svg 2>/dev/null || fail "go tool pprof -svg rejected chains.pb.gz"
    python3 -m svg_nodes chains.svg |
        contains $'\t3,000 entries, largest "user-[0-9]*", "user-[0-9]*", "user-[0-9]*" |' ||
        fail "pprof -svg: the largest keys are not in the picture"
    # dot: the global, the map header, a node per bucket of the ten largest
    # entries, the entries with key, type and size, the rest in one node.
    # All entries are the same size here, so the ten are taken in bucket
    # order and may share as few as one bucket and its overflow.
    "$maproot" analyze --binary ./leaks -f dot global.dump >gb.dot && dot -Tsvg gb.dot >gb.svg ||
        fail "dot -Tsvg: global"
    python3 -m svg_nodes gb.svg >gb.nodes
    contains $'^r[0-9]*\tglobal main\.sessionCache$' gb.nodes || fail "dot: no root node: $(head -3 gb.nodes)"
    contains $'^m[0-9]*\tmap\[string\]\*main\.Session header 0x[0-9a-f]* | 3,000 entries, B=9' gb.nodes ||
        fail "dot: no map header node"
    [ "$(grep -c $'^b[0-9_]*\tbucket\[[0-9]*\]$' gb.nodes)" -ge 1 ] || fail "dot: not a node per bucket"
    [ "$(grep -Ec $'^e[0-9]+\t"user-[0-9]+" -> main\.Session \\| [0-9.]+[KM]?i?B retained$' gb.nodes)" = 10 ] ||
        fail "dot: the ten largest entries with key and size: $(grep -m2 '^e' gb.nodes)"
    contains -E $'^f[0-9]*\t2,990 other entries \\| [0-9.]+KiB$' gb.nodes || fail "dot: the rest folded: $(grep '^f' gb.nodes)"
    contains '(0B)\| 0B' gb.dot && fail "dot: a size of 0B"
    # -n 0: at most 50 entries, and the picture says so
    "$maproot" analyze --binary ./leaks -f dot -n 0 global.dump >gb-all.dot || fail "dot -n 0"
    [ "$(grep -c '^  e[0-9]* \[' gb-all.dot)" = 50 ] && contains 'at most 50 entries of a map are drawn' gb-all.dot &&
        contains 'label="2,950 other entries' gb-all.dot || fail "dot -n 0: $(grep -c '^  e' gb-all.dot) entries"
    # a map two globals hold: both are drawn, the second one's edge dashed
    "$maproot" analyze --binary ./leaks -f dot tworoots.dump >tw.dot && dot -Tsvg tw.dot >tw.svg ||
        fail "dot -Tsvg: tworoots"
    python3 -m svg_nodes tw.svg >tw.nodes
    contains $'^r[0-9]*\tglobal main\.primaryIndex$' tw.nodes && contains $'^r[0-9]*\tglobal main\.backupIndex$' tw.nodes &&
        contains -E '^  r[0-9]+ -> m[0-9]+ \[style=dashed, label="also holds"\];$' tw.dot ||
        fail "dot: tworoots lacks one of its globals: $(grep '^r' tw.nodes)"
else
    fail "graphviz is not installed (scripts/install-deps installs it)"
fi

;;

diff)
# diff of two dumps of one program
./leaks diff before.dump after.dump 2>/dev/null || fail "leaks diff"
"$maproot" diff --binary ./leaks before.dump after.dump >diff.txt || fail "diff failed"
contains -E 'GROWING  map\[string\]\*main\.Session   root global main\.sessionCache' diff.txt ||
    fail "diff: the cache grows: $(head -6 diff.txt)"
contains -E 'entries 1000 -> 2500 \(\+1500 added, -0 removed\)' diff.txt || fail "diff: +1500 entries"
"$maproot" diff --format json before.dump after.dump | python3 -c '
import json, sys
from schema_check import validate
d = validate(json.load(sys.stdin), "diff of dumps")
m = d["maps"][0]
assert m["growing"] and m["entries_added"] == 1500 and m["count_after"] == 2500, m
assert all(k["key"].startswith("user-") and k["key_display"] == "\"%s\"" % k["key"] for k in m["new_keys"]), m["new_keys"]' || fail "diff json"

# many small maps that accumulate (see leaks.go, smallmapsdiff): no map
# grows, the group of the accounts' maps under var members does: 1,000 ->
# 2,500 maps, 1,999 -> 4,999 entries (1 to 3 a map), a suspect of the after
# dump; --fail-on growth counts it, and its new maps only in it (one growth,
# named once)
./leaks smallmapsdiff sm-before.dump sm-after.dump 2>/dev/null || fail "leaks smallmapsdiff"
"$maproot" diff --binary ./leaks sm-before.dump sm-after.dump >sm-diff.txt || fail "smallmapsdiff: diff failed"
contains -E '^  GROWING  map\[int64\]\*[^ ]* maps   root global main\.members' sm-diff.txt ||
    fail "smallmapsdiff: the group grows: $(grep -A3 GROUPS sm-diff.txt)"
contains -E '^    maps 1,000 -> 2,500 \(\+1,500\); entries 1,999 -> 4,999 \(\+3,000\); retained ' sm-diff.txt ||
    fail "smallmapsdiff: the group's figures: $(grep -A3 GROUPS sm-diff.txt)"
"$maproot" diff --binary ./leaks --format json sm-before.dump sm-after.dump | python3 -c '
import json, sys
from schema_check import validate
d = validate(json.load(sys.stdin), "diff of dumps")
g = [g for g in d["groups"] if g["root"].startswith("global main.members")]
assert len(g) == 1, d["groups"]
g = g[0]
assert g["type"].startswith("map[int64]*"), g
assert (g["status"], g["maps_before"], g["maps_after"], g["entries_before"], g["entries_after"]) == \
    ("both", 1000, 2500, 1999, 4999), g
assert g["growing"] and g["suspect"] and g["retained_after_bytes"] > 2 * g["retained_before_bytes"], g
assert g["retained_delta_bytes"] == g["retained_after_bytes"] - g["retained_before_bytes"], g' ||
    fail "smallmapsdiff: diff json"
"$maproot" diff --binary ./leaks --fail-on growth sm-before.dump sm-after.dump >/dev/null 2>sm-fo.err
[ $? -eq 1 ] && contains -E '^maproot diff: 1 group of maps grew \(--fail-on growth\)$' sm-fo.err ||
    fail "smallmapsdiff: --fail-on growth: $(cat sm-fo.err)"

# many small maps that each gain 3 entries, none new (see leaks.go,
# smallmapsswell): the group of the accounts' maps grows, 2,000 -> 2,000
# maps, 3,999 -> 9,999 entries; none of its maps is a growing map of its
# own (each grew by a few KiB: the growth is the group's, named once)
./leaks smallmapsswell ss-before.dump ss-after.dump 2>/dev/null || fail "leaks smallmapsswell"
"$maproot" diff --binary ./leaks --format json ss-before.dump ss-after.dump | python3 -c '
import json, sys
from schema_check import validate
d = validate(json.load(sys.stdin), "diff of dumps")
g = [g for g in d["groups"] if g["root"].startswith("global main.members")]
assert len(g) == 1, d["groups"]
g = g[0]
assert (g["status"], g["maps_before"], g["maps_after"], g["entries_before"], g["entries_after"],
        g["alone_maps"]) == ("both", 2000, 2000, 3999, 9999, 0), g
assert g["growing"] and g["suspect"] and g["retained_delta_bytes"] > 6000 * 1024, g
members = [m for m in d["maps"] if m["type"] == g["type"]]
assert len(members) == 2000 and not any(m["growing"] for m in members), \
    [m for m in members if m["growing"]][:2]
assert all(m["in_growing_group"] for m in members), [m for m in members if not m["in_growing_group"]][:2]' ||
    fail "smallmapsswell: diff json"
"$maproot" diff --binary ./leaks --fail-on growth ss-before.dump ss-after.dump >/dev/null 2>ss-fo.err
[ $? -eq 1 ] && contains -E '1 group of maps grew \(--fail-on growth\)$' ss-fo.err ||
    fail "smallmapsswell: --fail-on growth: $(cat ss-fo.err)"

# sync_map_diff SELECT BEFORE AFTER KEY_PREFIX CHECK: the diff JSON on stdin
# has one map for which the Python expression SELECT (of m) holds: in both
# dumps, grown from BEFORE to AFTER entries by adding, none removed, its new
# keys starting with KEY_PREFIX, and CHECK (of m) holds
sync_map_diff() {
    python3 -c '
import json, sys
from schema_check import validate
sel, before, after, prefix, check = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
d = validate(json.load(sys.stdin), "diff of dumps")
m = [m for m in d["maps"] if eval(sel)]
assert len(m) == 1, m
m = m[0]
assert (m["status"], m["count_before"], m["count_after"], m["entries_added"], m["entries_removed"]) == \
    ("both", before, after, after - before, 0), m
assert m["growing"] and eval(check), m
assert all(k["key"].startswith(prefix) for k in m["new_keys"]), m["new_keys"]' "$@"
}

# a sync.Map that had its read map alone, then a dirty map beside it (see
# leaks.go, syncmapdiff): with the binary one map under its variable's
# name, matched from the one form to the other: 1,000 -> 2,500 entries
./leaks syncmapdiff smd-before.dump smd-after.dump >smd.out 2>/dev/null || fail "leaks syncmapdiff"
[ "$(cat smd.out)" = $'dirty 0 read 1000\ndirty 2500 read 1000' ] || fail "syncmapdiff: the program says $(cat smd.out)"
"$maproot" diff --binary ./leaks --format json smd-before.dump smd-after.dump |
    sync_map_diff 'm["type"] == "map[interface {}]*sync.entry"' 1000 2500 sess- \
        'm["root"] == "global main.sessionStore.dirty"' ||
    fail "syncmapdiff: diff json"

# a sync.Map on the heap (see leaks.go, syncfields): without the binary,
# its read map alone in one dump and both its maps in the other are one
# map followed from the one form to the other: 900 -> 1,500 entries
./leaks syncfields sfd-before.dump sfd-after.dump >sfd.out 2>/dev/null || fail "leaks syncfields"
[ "$(grep registry sfd.out)" = $'registry dirty 0 read 900\nregistry dirty 1500 read 900' ] ||
    fail "syncfields: the program says $(cat sfd.out)"
"$maproot" diff --format json sfd-before.dump sfd-after.dump |
    sync_map_diff 'm["count_before"] == 900 or m["count_after"] == 1500' 900 1500 reg- \
        'm["type"] == "map[interface {}]*?(8 bytes)"' ||
    fail "syncfields: diff json of a sync.Map on the heap"

# a map replaced by a new one between the dumps (see leaks.go, swapped): the
# variable's map is compared, its old keys removed and the new ones added
./leaks swapped sw-before.dump sw-after.dump 2>/dev/null || fail "leaks swapped"
"$maproot" diff --binary ./leaks sw-before.dump sw-after.dump >sw-diff.txt || fail "swapped: diff failed"
grep -A1 -E '^  map\[string\]\*main\.Item +root global main\.swapCache$' sw-diff.txt |
    contains -E 'entries 1000 -> 600 \(\+600 added, -1000 removed\)' ||
    fail "swapped: the variable's new map: $(grep -A1 swapCache sw-diff.txt)"
"$maproot" diff --binary ./leaks --format json sw-before.dump sw-after.dump | python3 -c '
import json, sys
from schema_check import validate
d = validate(json.load(sys.stdin), "diff of dumps")
m = [m for m in d["maps"] if m["root"] == "global main.swapCache"]
assert len(m) == 1 and not m[0]["growing"] and m[0]["status"] == "both", m
m = m[0]
assert (m["count_before"], m["count_after"], m["entries_added"], m["entries_removed"]) == (1000, 600, 600, 1000), m
assert m["retained_after_bytes"] < m["retained_before_bytes"], m
assert m["new_keys"] and all(k["key"].startswith("new-") for k in m["new_keys"]), m["new_keys"]' ||
    fail "swapped: diff json"

# keys alike in their first 64 bytes (see leaks.go, longkeys): a key cut
# short renders with its length and the FNV-1a 64 of all its bytes, as in
# our snapshots, so the diff counts the keys added and removed and the
# entries of a report are told apart
./leaks longkeys lk-before.dump lk-after.dump 2>/dev/null || fail "leaks longkeys"
"$maproot" diff lk-before.dump lk-after.dump >lk-diff.txt || fail "longkeys: diff failed"
contains -E 'entries 300 -> 350 \(\+100 added, -50 removed\)' lk-diff.txt ||
    fail "longkeys: the diff without --binary misses string keys: $(grep -m2 entries lk-diff.txt)"
"$maproot" diff --binary ./leaks --format json lk-before.dump lk-after.dump >lk-diff.json ||
    fail "longkeys: diff --format json failed"
"$maproot" analyze --binary ./leaks --format json --all lk-after.dump >lk-after.json ||
    fail "longkeys: analyze failed"
python3 - <<'PY' || fail "longkeys: keys that differ past their first 64 bytes (above)"
from schema_check import load
def fnv(b):
    h = 0xcbf29ce484222325
    for c in b: h = ((h ^ c) * 0x100000001b3) & (1 << 64) - 1
    return h
route = lambda i: b"/api/v2/organisations/northwind-traders/projects/platform/objects/key-%05d" % i
digest = lambda i: bytes(0xa0 + j % 16 for j in range(88)) + bytes([i & 255, i >> 8]) + bytes(6)
want = {  # map type: (root, added, removed, its keys after, the key as data)
    "map[string]*main.Session": ("global main.routeIndex", 100, 50,
        {'"%s"... (75 bytes, #%016x)' % (route(i)[:64].decode(), fnv(route(i))) for i in range(50, 400)},
        lambda d: d[1:65]),
    "map[main.Digest]int64": ("global main.digestIndex", 40, 20,
        {"0x%s... (96 bytes, #%016x)" % (digest(i)[:64].hex(), fnv(digest(i))) for i in range(20, 240)},
        lambda d: d[:130]),
}
bad = []
d = load("lk-diff.json")
for typ, (root, added, removed, keys, _) in want.items():
    m = [m for m in d["maps"] if m["type"] == typ and m["root"] == root]
    if len(m) != 1 or (m[0]["entries_added"], m[0]["entries_removed"]) != (added, removed):
        bad.append(f"diff {typ}: {m[0]['entries_added'] if m else '?'} added, "
                   f"{m[0]['entries_removed'] if m else '?'} removed, not {added} and {removed}")
    elif not m[0]["new_keys"] or not all(k["key_truncated"] and k["key_display"] in keys
                                         for k in m[0]["new_keys"]):
        bad.append(f"diff {typ}: new keys {m[0]['new_keys'][:2]}")
a = load("lk-after.json")
for typ, (root, _, _, keys, data) in want.items():
    m = [m for m in a["maps"] if m["type"] == typ and "global " + m["retainer"]["name"] == root]
    got = [e["key_display"] for e in m[0]["entries"]] if len(m) == 1 else []
    if set(got) != keys or len(got) != len(keys):
        bad.append(f"analyze {typ}: {len(set(got))} distinct keys of {len(got)}, not the {len(keys)} "
                   f"expected: {sorted(set(got) ^ keys)[:2]}")
    elif not all(e["key_truncated"] and e["key"] == data(e["key_display"]) for e in m[0]["entries"]):
        bad.append(f"analyze {typ}: the key as data: {m[0]['entries'][0]}")
if bad:
    print("\n".join(bad))
    raise SystemExit(1)
PY

;;

bad-input)
# bad input: exit status 2 and one line naming the file and the record
dump global
expect_bad() { # expect_bad FILE PATTERN [ARGS...]
    local f=$1 pat=$2
    shift 2
    local out
    out=$("$maproot" analyze "$@" "$f" 2>&1 >/dev/null)
    local rc=$?
    [ $rc -eq 2 ] || fail "$f: exit $rc, not 2 ($out)"
    echo "$out" | contains -E "$pat" || fail "$f: message \"$out\" lacks /$pat/"
    [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "$f: more than one line: $out"
}
size=$(stat -c %s global.dump)
for cut in 17 4096 $((size / 3)) $((size / 2)) $((size - 200)) $((size - 1)); do
    head -c "$cut" global.dump >cut.dump
    expect_bad cut.dump "^maproot: cut\.dump: (record [0-9]+ \(.*\): truncated|truncated after record [0-9]+)"
done
python3 - <<'PY'
d = bytearray(open("global.dump", "rb").read())
bad = bytearray(d); bad[16] = 99                      # the first record's tag
open("tag.dump", "wb").write(bad)
i = d.index(b"go1.19")                               # the params' version string
new = bytearray(d); new[i:i + 6] = b"go1.24"
open("swiss.dump", "wb").write(new)
odd = bytearray(d); odd[i:i + 6] = b"gox.yz"
open("version.dump", "wb").write(odd)
PY
expect_bad tag.dump '^maproot: tag\.dump: record 1 \(unknown, at byte 16\): unknown record tag 99$'
expect_bad swiss.dump 'written by go1\.24[.0-9]*: Go 1\.24 and later keep maps as Swiss tables.*refused rather than misread'
expect_bad version.dump 'unknown Go version'
gzip -c global.dump >global.dump.gz
"$maproot" analyze --binary ./leaks global.dump.gz | contains 'root     global main.sessionCache' ||
    fail "a gzipped dump is read"
expect_bad global.dump 'not an ELF' --binary nm.txt
"$maproot" analyze --binary ./leaks -f pprof -o chains.pb.gz global.dump || fail "pprof output"
out=$("$maproot" analyze --binary ./leaks chains.pb.gz 2>&1)
[ $? -eq 2 ] && echo "$out" | contains -- '--binary' || fail "--binary on a non-dump: $out"

;;

*)
    echo "test_godump.sh: unknown part '$part' (patterns, views, diff, bad-input)" >&2
    exit 1
    ;;
esac

[ $fails -eq 0 ] && echo "test_godump $part${*:+ $*}: all passed"
exit $((fails > 0))
