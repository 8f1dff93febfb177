#!/usr/bin/env bash
# tests/test_analyze_e2e.sh -- `maproot analyze` and `maproot diff` of root
# snapshots, end to end on the example programs and the real binaries.
# usage: test_analyze_e2e.sh MAPROOT EXAMPLES_DIR WORKDIR ANALYSIS_HEAPS
#
# Each example runs as the README says: a snapshot and a heap profile of
# one GC cycle written at exit (MAPROOT_SNAPSHOT, MAPROOT_PROFILE), its
# leak still held by the program as it exits; the analysis must name the
# leak's root, its chain (root -> map header -> bucket -> ... -> slot), the
# entry count, sizes (exact from the snapshot; the profile's sampled
# figures within sampling error) and the finding (evidence). Then: the
# profile finds its snapshot; --format pprof read by go tool pprof -traces
# shows the chains root at the bottom; --format dot; a diff of two periodic
# snapshots of sessiond shows the cache growing; options and errors. Last,
# the heaps of tests/analysis_heaps.c, each shaped to trip one answer.
set -uo pipefail

# grep -q for a pipe: reads all of its input, so the writer never sees a
# closed pipe (with pipefail, an early exit of grep -q fails the pipeline).
contains() { grep "$@" >/dev/null; }
maproot=$1 exdir=$2 work=$3 heaps=$4
# every JSON report read below is checked against doc/schema (schema_check.py)
PYTHONPATH="$(cd "$(dirname "$0")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# Were the examples built with DWARF (-g)? Without it frames have no file
# or line (DWARF in the checks below).
dwarf=0
# (grep reads all of it: under pipefail an early exit would fail readelf)
readelf -S --wide "$exdir/sessiond" | grep -c '\.debug_info' >/dev/null && dwarf=1

# run EXAMPLE: snapshot and profile at exit
run() {
  rm -f "$1".*
  MAPROOT_SNAPSHOT=$1.gcstack.gz MAPROOT_PROFILE=$1.pb.gz "$exdir/$1" >"$1.out" 2>"$1.err" ||
    fail "$1 exited non-zero: $(head -3 "$1.err")"
  [ -s "$1.gcstack.gz" ] || fail "$1 wrote no snapshot: $(head -3 "$1.err")"
}

# check EXAMPLE PYTHON: runs the assertions (python, `a` is the analysis
# JSON of the snapshot, `s` its first suspect) and prints the text report.
check() {
  local ex=$1 code=$2
  if ! "$maproot" analyze --format json "$ex.gcstack.gz" >"$ex.json" 2>"$ex.jerr"; then
    fail "$ex: analyze --format json failed: $(head -2 "$ex.jerr")"
    return
  fi
  [ -s "$ex.jerr" ] && fail "$ex: analyze wrote to stderr when piped: $(head -2 "$ex.jerr")"
  python3 - "$ex.json" "$ex" "$dwarf" <<PY || fail "$ex: the analysis does not say what it should (above)"
import json, sys
from schema_check import load
a = load(sys.argv[1])
ex = sys.argv[2]
DWARF = sys.argv[3] == "1"
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
def in_file(f, suffix):  # a frame's file, when the build has one to give
    return f.endswith(suffix) if DWARF else f == ""
# file names are shown cleaned, never relative to a build directory
want("../" not in json.dumps(a), "a file name with ../ in it")
if not a["suspects"]:
    print(ex + ": no leak suspect"); sys.exit(1)
s = a["suspects"][0]
r = s["retainer"]
ev = s["evidence"]
ch = s["chain"]
kinds = [c["kind"] for c in ch]
# every chain: root first, through the map header, a bucket, to a slot
if s["count"]:
    want(kinds[0] == "root" and "map" in kinds and kinds[-1] == "slot", "chain root->map->slot: %s" % kinds)
    want(kinds.index("map") < kinds.index("bucket") < kinds.index("slot"), "chain order: %s" % kinds)
    want(all(c["kind"] in ("bucket", "overflow") for c in ch[kinds.index("map") + 1:-1]),
         "only buckets and overflow buckets between header and slot: %s" % kinds)
    for e in s["entries"]:
        ek = [c["kind"] for c in e["chain"]]
        want(ek[0] == "root" and ek[-1] == "slot" and "map" in ek, "entry chain %s" % ek)
    want(len(s["entries"]) == min(10, s["count"]), "10 entries shown by default: %d" % len(s["entries"]))
want(s["rank"] == 1 and s["suspect"], "rank 1")
want(s["fix"], "a fix")
$code
if bad:
    print(ex + ": " + "; ".join(bad))
    print("  suspect: " + json.dumps({k: s[k] for k in ("type", "count", "retained_bytes", "evidence", "retainer")}))
    sys.exit(1)
PY
  "$maproot" analyze "$ex.gcstack.gz" >"$ex.txt" 2>&1 || fail "$ex: analyze (text) failed"
  sed -n '5,9p' "$ex.txt" | cut -c1-160 | sed "s/^/  $ex| /"
}

# ---- global cache never evicted (sessiond)
run sessiond
check sessiond '
want(s["type"] == "map[string]*Session", "type")
want(r["kind"] == "global" and r["name"] == "session_cache", "root global session_cache: %s" % r["text"])
want(a["maps"][0]["path_root"]["name"] == "session_cache", "path root")
want(ch[0]["text"] == "session_cache", "chain starts at session_cache")
want(s["count"] == 120000 and s["entries_walked"] == 120000, "120000 entries")
want("large_share" in ev, "evidence large_share: %s" % ev)
# each session: a 1024..2047-byte state blob, a Session and its key string
state = sum(1024 + (i * 7919) % 1024 for i in range(120000))
want(state <= s["entries_retained_bytes"] <= state * 1.35, "entries retain %d, states %d" % (s["entries_retained_bytes"], state))
want(s["retained_bytes"] >= s["entries_retained_bytes"] + s["table_bytes"] - 4096, "retained covers table and entries")
want(s["retained_bytes"] >= 0.95 * a["heap"]["reachable_bytes"], "retains the heap")
for e in s["entries"]:
    want(e["key"].startswith("user-") and e["key_display"] == "\"%s\"" % e["key"] and e["value_type"] == "Session", "entry %s" % e["key"])
    want(1024 < e["retained_bytes"] < 3072, "entry size %d" % e["retained_bytes"])
want(any(e["site"] and e["site"]["function"] == "new_session" for e in s["entries"]), "an entry allocated in new_session")
want(s["sites"] and s["sites"][0]["function"] == "new_session" and in_file(s["sites"][0]["file"], "/examples/sessiond.c"), "site new_session")
want(r["file"].endswith("examples/sessiond.c") and r["line"] == 44, "global root at examples/sessiond.c:44: %s" % r["text"])
'

# ---- map pinned only by an iterator (iterator_pin)
run iterator_pin
check iterator_pin '
want(s["type"] == "map[int64]*Job", "type")
want("iterator_only" in ev, "evidence iterator_only: %s" % ev)
want(r["kind"] == "iterator" and r["function"] == "worker_loop", "root: iterator in worker_loop: %s" % r["text"])
want(in_file(r["file"], "/examples/iterator_pin.c"), "iterator root file")
want(ch[0]["kind"] == "root" and ch[0]["text"].startswith("iterator: ") and kinds[1] == "map", "chain from the iterator to the header: %s" % ch[0]["text"])
want(s["count"] == 40000, "40000 jobs")
want(s["entries_retained_bytes"] >= 40000 * 1536, "jobs retain their inputs: %d" % s["entries_retained_bytes"])
want(all(1536 <= e["retained_bytes"] < 4096 for e in s["entries"]), "entry sizes")
# the new, empty table of the global `jobs` is no suspect
other = [m for m in a["maps"] if m["retainer"] and m["retainer"]["name"] == "jobs"]
want(other and not other[0]["suspect"] and other[0]["count"] == 0, "the global jobs table is empty and no suspect")
'

# ---- emptied map that never shrinks (emptied_map)
run emptied_map
check emptied_map '
want(s["type"] == "map[int64]Record", "type")
want("emptied" in ev, "evidence emptied: %s" % ev)
want(r["kind"] == "global" and r["name"] == "ingest_buffer", "root global ingest_buffer: %s" % r["text"])
want(s["count"] == 0 and s["entries_walked"] == 0 and s["B"] == 16 and s["buckets"] == 65536, "0 entries in 2^16 buckets")
want(s["table_bytes"] >= 29 << 20, "table >= 29 MiB: %d" % s["table_bytes"])
want(kinds == ["root", "map"], "chain to the header: %s" % kinds)
want("recreat" in s["fix"] or "new one" in s["fix"], "fix: recreate the map")
'

# ---- map held by a long-running function's local (local_map)
run local_map
check local_map '
want(s["type"] == "map[int64]*Request", "type")
want("stack_frame" in ev, "evidence stack_frame: %s" % ev)
want(r["kind"] == "stack" and r["function"] == "worker_loop" and in_file(r["file"], "/examples/local_map.c"),
     "root: stack frame of worker_loop: %s" % r["text"])
want(r["thread"] == 2, "the worker thread: %s" % r["text"])
want(s["count"] == 80000, "80000 requests: %d" % s["count"])
want(s["entries_retained_bytes"] >= 80000 * 512, "requests retain their bodies")
want(all(512 <= e["retained_bytes"] < 1024 for e in s["entries"]), "entry sizes")
'

# ---- pointer-carrying keys pinning buffers (pointer_keys)
run pointer_keys
check pointer_keys '
want(s["type"] == "map[*Buffer]int64", "type")
want("pointer_keys" in ev, "evidence pointer_keys: %s" % ev)
want(r["kind"] == "global" and r["name"] == "bytes_by_buffer", "root global bytes_by_buffer: %s" % r["text"])
want(s["count"] == 2000, "2000 entries: %d" % s["count"])
# every buffer but one: a stale stack word (conservative) may share the last one
want(s["keys_retained_bytes"] >= 1999 * 65536, "keys retain the buffers: %d" % s["keys_retained_bytes"])
want(all(e["key"].startswith("0x") and 65536 <= e["retained_bytes"] < 2 * 65536 for e in s["entries"]), "entries: pointer keys of 64 KiB buffers")
'

# ---- growth in progress (mid_growth)
run mid_growth
check mid_growth '
want(s["type"] == "map[int64]*Order", "type")
want("old_buckets" in ev, "evidence old_buckets: %s" % ev)
want(r["kind"] == "global" and r["name"] == "orders", "root global orders: %s" % r["text"])
want(ch[0]["text"] == "orders", "chain from orders, not a stray stack word: %s" % ch[0]["text"])
want(s["old_buckets"] > 0 and s["old_bytes"] > 0 and s["nevacuate"] < 2 ** (s["B"] - 1), "old buckets, growth unfinished")
want(s["count"] == s["entries_walked"] and s["count"] > 100000, "entries: %d" % s["count"])
'

# ---- entries shared by two roots (shared_entries)
run shared_entries
check shared_entries '
want(s["type"] == "map[int64]*Document", "type")
# sharing is context; the evidence is the share of the heap the map holds with the pin
want("shared_entries" in s["context"] and "large_share" in ev, "context shared_entries, evidence large_share: %s %s" % (s["context"], ev))
want("drop them from every holder" in s["fix"], "fix: drop the values from every holder: %s" % s["fix"])
want(r["kind"] == "global" and r["name"] == "docs_by_id", "root global docs_by_id: %s" % r["text"])
# 5,000 of the 20,000 documents were evicted from the map: the index keeps them
want(s["shared_entries"] == 15000 and s["count"] == 15000, "15000 shared entries: %d" % s["shared_entries"])
want(s["shared_bytes"] >= 15000 * 2048, "shared bytes %d" % s["shared_bytes"])
want(s["entries_retained_bytes"] == 0, "the map alone retains no document")
want(any(x["kind"] == "pin" and x["name"] == "search index" for x in s["sharing_roots"]), "the pin search index is named: %s" % [x["text"] for x in s["sharing_roots"]])
# (most, not all: a stale word on a conservatively scanned stack -- frequent in
# the ASan build -- can make one document look held by a third root)
ok = [e for e in s["entries"] if e["shared"] and 2048 <= e["shared_bytes"] < 4096]
want(len(s["entries"]) >= 5 and len(ok) >= 0.8 * len(s["entries"]), "entries shared: %s" % [(e["shared"], e["shared_bytes"]) for e in s["entries"]])
'
grep -q 'values also held by pin search index' shared_entries.txt || fail "shared_entries: the text does not name the pin"

# ---- the profile finds its snapshot: the full analysis, then the profile
"$maproot" analyze sessiond.pb.gz >pair.txt 2>pair.err || fail "analyze sessiond.pb.gz: $(head -2 pair.err)"
grep -q '^  snapshot sessiond.gcstack.gz beside the profile: root tracing on' pair.txt ||
  fail "the profile did not find its snapshot"
grep -q '^LEAK SUSPECT 1 of [0-9]*   map\[string\]\*Session' pair.txt || fail "profile: no suspect"
grep -q '^  root     global session_cache' pair.txt || fail "profile: root not named"
grep -q '^HEAP PROFILE' pair.txt && grep -Eq 'new_session' pair.txt || fail "profile figures missing"
"$maproot" analyze --format json sessiond.pb.gz >pair.json || fail "analyze --format json sessiond.pb.gz"
python3 - pair.json <<'PY' || fail "profile + snapshot JSON"
import json, sys
from schema_check import load
a = load(sys.argv[1])
p = a["profile_analysis"]
assert a["profile"] == "sessiond.pb.gz", a["profile"]
assert p and p["sample_type"] == "inuse_space", p and p["sample_type"]
# the sampled in-use total against the snapshot's exact heap (the profile
# is of the exit-time cycle): about 400 samples of 512 KiB, so the estimate
# is off by 5% (one standard deviation) and by more than 25% (5 of them)
# only in one run of millions
exact = a["heap"]["reachable_bytes"]
assert abs(p["total"] - exact) <= 0.25 * exact, (p["total"], exact)
assert p["top"][0]["function"] == "new_session", p["top"][0]
PY

# ---- options: --top, --all, -o, --summary, formats
n=$("$maproot" analyze --format json --top 3 sessiond.gcstack.gz | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["suspects"][0]["entries"]))')
[ "$n" = 3 ] || fail "--top 3 shows $n entries"
n=$("$maproot" analyze --format json --all pointer_keys.gcstack.gz | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["suspects"][0]["entries"]))')
[ "$n" = 2000 ] || fail "--all shows $n entries of 2000"
[ "$("$maproot" analyze --all pointer_keys.gcstack.gz | grep -c '^    chain 0x')" = 2000 ] || fail "--all text: a chain per entry"
out=$("$maproot" analyze -o rep.txt local_map.gcstack.gz) || fail "-o FILE"
[ -z "$out" ] && grep -q '^LEAK SUSPECT 1' rep.txt || fail "-o FILE: report not in the file only"
"$maproot" analyze --summary local_map.gcstack.gz | contains '^OBJECTS BY TYPE' || fail "--summary"
"$maproot" analyze --format dot sessiond.gcstack.gz >s.dot || fail "--format dot"
head -1 s.dot | contains '^strict digraph' && grep -q 'session_cache' s.dot && grep -q -- '->' s.dot || fail "dot output"
"$maproot" analyze --format pprof sessiond.gcstack.gz >/dev/null 2>&1; [ $? = 2 ] || fail "pprof without -o exits 2"
"$maproot" analyze --format dot "$exdir/../tests/nonexistent.pb.gz" >/dev/null 2>&1; [ $? = 2 ] || fail "missing file exits 2"
MAPROOT_PROFILE=alone.pb.gz "$exdir/pointer_keys" >/dev/null
"$maproot" analyze --format dot alone.pb.gz >/dev/null 2>err; [ $? = 2 ] || fail "dot of a profile without snapshot exits 2"
grep -q 'needs a snapshot' err || fail "dot without snapshot: message: $(cat err)"
"$maproot" analyze alone.pb.gz | contains '^maproot: heap profile alone.pb.gz' || fail "a profile alone: its figures"
"$maproot" analyze --format xml sessiond.gcstack.gz 2>/dev/null; [ $? = 2 ] || fail "bad --format exits 2"
"$maproot" analyze --help | contains -- '--all' || fail "--help lists --all"

# progress: on a terminal only (script gives the command a terminal)
if command -v script >/dev/null; then
  script -qec "'$maproot' analyze -o tty.txt sessiond.gcstack.gz" /dev/null >tty.log 2>&1
  grep -q 'loading sessiond.gcstack.gz' tty.log || fail "no progress on a terminal: $(head -c 200 tty.log)"
fi

# ---- pprof: retention chains as stacks, root at the bottom
"$maproot" analyze --format pprof -o ret.pb.gz sessiond.gcstack.gz || fail "--format pprof -o"
if command -v go >/dev/null; then
  export GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local
  export PPROF_TMPDIR="$work/pprof-tmp" HOME="$work"
  go tool pprof -traces ret.pb.gz >traces.txt 2>traces.err || fail "go tool pprof -traces: $(head -3 traces.err)"
  python3 - traces.txt <<'PY' || fail "pprof traces do not show the chains"
import re, sys
blocks = open(sys.argv[1]).read().split("-----------+")
keyed = []
label = re.compile(r"^\s*(key|map|slot|bucket):")
for b in blocks:
    lines = [l for l in b.splitlines() if l.strip() and not l.strip().startswith("-")]
    if any(l.strip().startswith("key:") for l in lines):
        keyed.append([l.strip() for l in lines if not label.match(l)])
assert len(keyed) >= 10, len(keyed)
for st in keyed:
    # leaf first: value type (with the size), slot, bucket [overflow#k...], header, root last
    assert st[-1] == "global session_cache", st
    assert st[-2] == "map[string]*Session header", st
    assert st[0].endswith("Session") and "slot" in st and "bucket" in st, st
print("pprof: %d entry traces, e.g. %s" % (len(keyed), " <- ".join(keyed[0])))
PY
  go tool pprof -top -sample_index=retained ret.pb.gz >top.txt 2>&1 || fail "go tool pprof -top"
  grep -q 'global session_cache' top.txt || fail "pprof -top lacks the root"
else
  fail "go is not installed (scripts/install-deps installs golang-go)"
fi

# ---- diff: two periodic snapshots of sessiond show the growth
rm -f per.*
MAPROOT_SNAPSHOT_FORK=0 MAPROOT_SNAPSHOT=per.gcstack.gz MAPROOT_PROFILE_EVERY=1 "$exdir/sessiond" >/dev/null 2>per.err ||
  fail "sessiond with periodic snapshots: $(head -2 per.err)"
first=$(ls per.[0-9]*.gcstack.gz 2>/dev/null | sort | sed -n 2p)
last=$(ls per.[0-9]*.gcstack.gz 2>/dev/null | sort | tail -1)
if [ -n "$first" ] && [ -n "$last" ] && [ "$first" != "$last" ]; then
  "$maproot" diff "$first" "$last" >diff.txt || fail "diff of snapshots"
  grep -q '^  GROWING  map\[string\]\*Session   root global session_cache' diff.txt || fail "diff: no growing session_cache: $(head -8 diff.txt)"
  sed -n '1,6p' diff.txt | cut -c1-160 | sed 's/^/  diff| /'
  "$maproot" diff --format json "$first" "$last" | python3 -c '
import json, sys
from schema_check import validate
d = validate(json.load(sys.stdin), "diff of periodic snapshots")
m = d["maps"][0]
assert m["type"] == "map[string]*Session" and m["growing"] and m["status"] == "both", m
assert m["entries_added"] == m["count_after"] - m["count_before"] > 0 and m["entries_removed"] == 0, m
assert m["retained_delta_bytes"] > 1024 * m["entries_added"], m
assert len(m["new_keys"]) == 5 and all(k["key"].startswith("user-") for k in m["new_keys"]), m["new_keys"]
' || fail "diff JSON"
  "$maproot" diff "$first" sessiond.pb.gz >/dev/null 2>&1; [ $? = 2 ] || fail "snapshot vs profile exits 2"
else
  fail "sessiond wrote fewer than two periodic snapshots"
fi

# ---- heaps shaped to check one answer each (tests/analysis_heaps.c)
# They are written in place with the world stopped (MAPROOT_SNAPSHOT_FORK=0):
# what they check is the analysis, and in an AddressSanitizer build (clang 14)
# a forked writer can wait for ever in the sanitizer's allocator, which the
# fork does not lock (src/collector/forkguard.h): 2 of 40 runs of the bounded
# heap under load hung so, the child in its first allocation.
export MAPROOT_SNAPSHOT_FORK=0
# heap NAME PYTHON: writes the heap's snapshot, then runs the assertions
# (python: `a` is the analysis JSON, `maps` its maps by type and count).
heap() {
  local name=$1 code=$2
  rm -f "h-$name".*
  "$heaps" "$name" "h-$name.gcstack.gz" >"h-$name.err" 2>&1 || { fail "heap $name: $(head -3 "h-$name.err")"; return; }
  if ! "$maproot" analyze --format json "h-$name.gcstack.gz" >"h-$name.json" 2>"h-$name.jerr"; then
    fail "heap $name: analyze --format json failed: $(head -2 "h-$name.jerr")"
    return
  fi
  "$maproot" analyze "h-$name.gcstack.gz" >"h-$name.txt" 2>&1 || fail "heap $name: analyze (text) failed"
  python3 - "h-$name.json" "h-$name.txt" <<PY || fail "heap $name: the analysis does not say what it should (above)"
import json, re, sys
from schema_check import load
a = load(sys.argv[1])
text = open(sys.argv[2], encoding="utf-8", errors="replace").read()
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
def the_map(count):
    m = [m for m in a["maps"] if m["count"] == count]
    want(len(m) == 1, "one map of %d entries" % count)
    return m[0] if m else {"chain": [], "roots": [], "evidence": [], "context": [], "retainer": None}
def unique_roots(m):
    t = [r["text"] for r in m["roots"]]
    want(len(t) == len(set(t)), "each root listed once: %s" % t)
$code
if bad:
    print("heap $name: " + "; ".join(bad))
    sys.exit(1)
PY
}

# a global (two objects away) and a pin (an array and a struct away) beat
# the words of the frame that takes the snapshot, which point at the headers
heap priority '
g = the_map(4000)
want(g["retainer"] and g["retainer"]["kind"] == "global" and g["retainer"]["name"] == "registry", "retainer global registry: %s" % g["retainer"])
want(g["path_root"]["kind"] == "global", "path from the global: %s" % g["path_root"]["text"])
kinds = [c["kind"] for c in g["chain"]]
want(kinds[:4] == ["root", "object", "object", "map"] and g["chain"][0]["text"] == "registry", "chain registry -> Outer -> Mid -> map: %s" % [c["text"] for c in g["chain"]])
want(g["roots"][0]["kind"] == "global" and any(r["kind"] == "stack" for r in g["roots"]), "the global first, the frame that took the snapshot among the others: %s" % [r["text"] for r in g["roots"]])
want(g["nroots"] == len(g["roots"]), "nroots %d for %d roots" % (g["nroots"], len(g["roots"])))
unique_roots(g)
want("several_roots" in g["context"] and "several_roots" not in g["evidence"], "several roots is context")
p = the_map(3000)
want(p["retainer"] and p["retainer"]["kind"] == "pin" and p["retainer"]["name"] == "job registry", "retainer pin job registry: %s" % p["retainer"])
want([c["kind"] for c in p["chain"]][:4] == ["root", "object", "object", "map"], "chain pin -> []* -> Mid -> map: %s" % [c["text"] for c in p["chain"]])
unique_roots(p)
want("  root     global registry" in text, "text names the global")
want("  root     pin job registry" in text, "text names the pin")
for line in text.splitlines():
    if "also held by" in line:
        parts = line.split(":", 1)[1].split(";")
        want(len(parts) == len(set(parts)), "each other holder once: %s" % line)
'

# twenty holders of one map: the first 16 listed, the rest not counted
heap crowd '
g = the_map(4000)
want(g["nroots"] == 17 and g["nroots_more"] is True, "nroots 17 and more: %s %s" % (g["nroots"], g["nroots_more"]))
want(len(g["roots"]) == 16 and g["roots"][0]["kind"] == "pin" and g["roots"][0]["name"] == "connection 00", "the first 16 holders, connection 00 first: %s" % [r["text"] for r in g["roots"]])
unique_roots(g)
want("several_roots" in g["context"], "several roots")
want(all(not m["nroots_more"] for m in a["maps"] if m["count"] != 4000), "no other map has more")
line = [l for l in text.splitlines() if "also held by" in l]
want(len(line) == 1 and "also held by 16 or more other roots: pin connection 01;" in line[0], "also held by 16 or more: %s" % line)
'

# a bounded cache is no suspect because a stack word also reaches it
heap bounded '
want(a["suspects"] == [], "no suspect: %s" % [(s["type"], s["evidence"]) for s in a["suspects"]])
c = the_map(1000)
want(c["retained_bytes"] * 100 >= a["heap"]["reachable_bytes"], "the cache is at least 1%% of the heap: %d of %d" % (c["retained_bytes"], a["heap"]["reachable_bytes"]))
want(c["evidence"] == [] and not c["suspect"] and c["fix"] is None, "no evidence: %s" % c["evidence"])
want(c["retainer"]["name"] == "lru", "retainer lru")
want("No leak suspects" in text, "the text says there is none")
'

# maps of maps and maps behind arrays: every slot and element on the way
heap nested '
def texts(m):
    return [c["text"] for c in m["chain"]]
inner = the_map(3000)
ch = inner["chain"]
kinds = [c["kind"] for c in ch]
want(kinds.count("map") == 2 and kinds.count("slot") == 2, "two maps, two slots: %s" % texts(inner))
outer_slot = ch[kinds.index("slot")]
want(outer_slot["key"] == "tenant-7" and outer_slot["key_display"] == "\"tenant-7\"" and outer_slot["text"].endswith("(\"tenant-7\")"), "the outer slot names its key: %s" % outer_slot)
b = ch[kinds.index("slot") - 1]
want(b["kind"] in ("bucket", "overflow") and "index" in b and b["index"] == outer_slot["bucket"], "the outer bucket has its index: %s" % b)
want(all("index" in c for c in ch if c["kind"] == "bucket"), "every bucket step has an index: %s" % texts(inner))
want(inner["retainer"]["name"] == "tenants", "retainer tenants")
ptrs = the_map(2000)
want([c["text"].split(" ")[0] for c in ptrs["chain"][:3]] == ["shards", "[]*", "Shard"], "shards -> []* -> Shard: %s" % texts(ptrs))
want(ptrs["chain"][1].get("index") == 5, "element 5 of shards: %s" % ptrs["chain"][1])
slab = the_map(2500)
want(slab["chain"][1].get("index") == 4 and slab["chain"][1]["text"].endswith("[4]"), "element 4 of slab: %s" % texts(slab))
want("-> slot" in text and "(\"tenant-7\")" in text and "[5]" in text, "the text shows the key and the index")
deep = the_map(1500)
dk = [c["kind"] for c in deep["chain"]]
# (the entry shown may sit in an overflow bucket: the seed of the map decides)
tail = [k for k in dk[-4:] if k != "overflow"]
want(deep["chain"][0]["text"] == "backlog" and tail[-3:] == ["map", "bucket", "slot"] and dk.count("elided") == 1, "a long chain keeps both ends: %s" % dk)
want(len(dk) - 1 + deep["chain"][dk.index("elided")]["steps"] == 1 + 150 + 3 + dk.count("overflow"), "the elided steps are counted: %s" % dk)
'
# 56 maps: the list of maps is capped like the entries, and says so
python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["maps_total"] == 56 and len(a["maps"]) == 10, (a["maps_total"], len(a["maps"]))
' h-nested.json || fail "nested: the JSON lists 10 of 56 maps by default"
[ "$(sed -n '/^MAPS  by retained size/,$p' h-nested.txt | grep -c '^ *[0-9.]*[KMG]*i*B ')" = 10 ] &&
  grep -q '^  \.\.\. 46 more maps (--maps 0 lists every one)$' h-nested.txt ||
  fail "nested: the text lists 10 maps and says 46 more: $(sed -n '/^MAPS/,$p' h-nested.txt | tail -3)"
for opt in --all "--maps 0" "--maps 60"; do
  # shellcheck disable=SC2086
  "$maproot" analyze $opt h-nested.gcstack.gz | sed -n '/^MAPS  by retained size/,$p' >h-nested-all.txt
  [ "$(grep -c '^ *[0-9.]*[KMG]*i*B ' h-nested-all.txt)" = 56 ] && ! grep -q 'more maps' h-nested-all.txt ||
    fail "nested: $opt lists every map"
done
[ "$("$maproot" analyze --maps 3 h-nested.gcstack.gz | sed -n '/^MAPS  by retained size/,$p' | grep -c '^ *[0-9.]*[KMG]*i*B ')" = 3 ] ||
  fail "nested: --maps 3 lists 3 maps"
n=$("$maproot" analyze --format json --all h-nested.gcstack.gz | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["maps"]))')
[ "$n" = 56 ] || fail "nested: --all JSON lists $n maps of 56"
"$maproot" analyze --format dot h-nested.gcstack.gz >h-nested.dot || fail "nested: --format dot"
grep -q '\\"tenant-7\\" -> ' h-nested.dot && grep -q '\[5\]' h-nested.dot ||
  fail "nested: the dot output lacks the outer slot or the element"
if command -v dot >/dev/null; then dot -Tsvg h-nested.dot >/dev/null || fail "nested: dot rejects the graph"; fi
"$maproot" analyze --format pprof -o h-nested.pb.gz h-nested.gcstack.gz || fail "nested: --format pprof"
if command -v go >/dev/null; then
  go tool pprof -traces h-nested.pb.gz >h-nested.traces 2>&1 || fail "nested: go tool pprof -traces: $(head -3 h-nested.traces)"
  grep -q '^ *slot [0-9]* ("tenant-7")$' h-nested.traces && grep -q '^ *bucket\[[0-9]*\]$' h-nested.traces &&
    grep -q '^ *\[\]\* \[5\]$' h-nested.traces ||
    fail "nested: the pprof chains lack the outer bucket, slot or element"
  # bucket and slot are numbers with a unit: pprof keeps the value 0 (it
  # drops numeric labels of 0 without a unit)
  go tool pprof -tags h-nested.pb.gz 2>/dev/null | python3 -c '
import re, sys
tags, cur = {}, None
for line in sys.stdin:
    m = re.match(r"^ (\w+): Total", line)
    if m:
        cur = tags.setdefault(m.group(1), [])
    elif cur is not None and line.strip():
        cur.append(line.rsplit(":", 1)[1].strip())
assert "0" in tags.get("bucket", []) and "0" in tags.get("slot", []), tags.get("bucket", [])[:3]
assert tags.get("key") and not any(k.startswith("\"") for k in tags["key"]), tags.get("key", [])[:3]
' || fail "nested: go tool pprof -tags lacks bucket 0 or slot 0, or keys as data"
fi

# 16-byte keys of a type with two pointer fields pin 64 KiB buffers
heap iface_keys '
m = the_map(300)
want("pointer_keys" in m["evidence"], "evidence pointer_keys: %s" % m["evidence"])
# (the last keys built may linger in stack slots, conservative roots that
# then share their buffers: a few of the 300 are not held by keys alone)
want(m["keys_retained_bytes"] >= 290 * 65536, "the keys retain the buffers: %d" % m["keys_retained_bytes"])
want(m["suspect"] and "key the map by an id" in m["fix"], "fix: key by an id: %s" % m["fix"])
want("its keys carry pointers" in text, "the text says the keys carry pointers")
'

# names that are not UTF-8: every field is kept, the bad bytes escaped
# many small maps of one type under a long list: one suspect group, held by
# the list's first node, the boxed maps nested in theirs (counted once)
heap groups '
want(a["suspects"] == [], "no map alone is a suspect: %s" % [s["type"] for s in a["suspects"]])
gs = a["group_suspects"]
want(len(gs) == 1, "one suspect group: %d" % len(gs))
g = gs[0] if gs else {"holder": {}, "holder_chain": [], "example": {"chain_from_holder": []}, "retainer": {}}
# (a few of the last nodes built may also be seen from stale words in the
# frames of an unoptimized build, conservative roots that take their maps
# out of the group of the list: the sanitizer build shows 11 of 2,200 so)
want(g.get("type") == "map[int64]*Part" and 1980 <= g.get("maps", 0) <= 2000 and 195 <= g.get("nested_maps", 0) <= 200, "2,000 maps map[int64]*Part, 200 nested: %s %s %s" % (g.get("type"), g.get("maps"), g.get("nested_maps")))
want(2175 <= g.get("entries", 0) <= 2200 and g.get("min_entries") == 1 and g.get("median_entries") == 1 and g.get("max_entries") == 2, "2,200 entries, 1 to 2 a map, median 1")
want(g["holder"].get("kind") == "object" and g["holder"].get("type") == "Node", "the holder is a Node: %s" % g["holder"])
want([c["text"].split(" ")[0] for c in g["holder_chain"]] == ["parts_list", "Node"], "holder chain parts_list -> Node: %s" % [c["text"] for c in g["holder_chain"]])
want(g["holder_chain"] and g["holder_chain"][-1].get("address") == g["holder"].get("address"), "the holder chain ends at the holder")
want(g["retainer"] and g["retainer"].get("name") == "parts_list", "retainer parts_list")
ex = g["example"]["chain_from_holder"]
want(ex and ex[0].get("address") == g["holder"].get("address") and any(c["kind"] == "map" for c in ex), "the example chain starts at the holder and reaches a map header: %s" % [c["text"] for c in ex])
want(g.get("rank") == 1 and g.get("retained_bytes", 0) * 10 >= a["heap"]["reachable_bytes"] * 9, "rank 1, 90%% of the heap or more")
want(re.search(r"LEAK SUSPECT 1 of 1   [12],[0-9]{3} maps map\[int64\]\*Part", text), "the text names the group")
'
"$maproot" analyze --fail-on suspect h-groups.gcstack.gz >/dev/null 2>&1
[ $? = 1 ] || fail "groups: --fail-on suspect counts a suspect group (exit 1)"

# stale words in the collector's own frames keep nothing: the garbage map
# whose address lies all over the stack the snapshot call reuses is gone
heap stale '
want([m["count"] for m in a["maps"]] == [], "no map: %s" % [(m["count"], m["root"]) for m in a["maps"]])
want(a["heap"]["reachable_bytes"] == 0, "no heap: %d bytes" % a["heap"]["reachable_bytes"])
'

heap names '
m = the_map(3000)
# (the rule for bytes that are not UTF-8: each as the character of its
# number, and every byte in a _hex field beside it)
want(m["type"] == "map[int64]*\u00ff\u00feBlob" and m["type_hex"] == b"map[int64]*\xff\xfeBlob".hex(), "type kept: %r" % m.get("type"))
r = m["retainer"]
want(r and r["kind"] == "global" and r["name"] == "cache\u00c3(" and r["name_hex"] == b"cache\xc3(".hex() and r["file"] == "/src/caf\u00e9.c", "retainer kept: %r" % r)
# (a stale stack word may hold the map too: conservative scanning, more so in sanitizer builds)
want(m["path_root"] and m["roots"] and m["roots"][0]["name"] == r["name"] and len(m["roots"]) == m["nroots"], "roots kept: %d of %d" % (len(m["roots"]), m["nroots"]))
want(m["chain"] and m["chain"][0]["kind"] == "root" and m["chain"][0]["text"] == "cache\u00c3(" and m["chain"][0]["text_hex"] == b"cache\xc3(".hex(), "chain from its root: %s" % [c["kind"] for c in m["chain"]])
want(a["roots"]["pin"] == 1, "the pin counted")
'
"$maproot" analyze --summary --format json h-names.gcstack.gz >h-names-summary.json 2>h-names-summary.err ||
  fail "names: --summary --format json: $(head -2 h-names-summary.err)"
python3 -c '
import json, sys
from schema_check import load
s = load(sys.argv[1])
names = [bytes.fromhex(r["name_hex"]) if "name_hex" in r else r["name"].encode() for r in s["roots"]]
assert b"cache\xc3(" in names and b"pin \xed\xa0\x80 label" in names, names
' h-names-summary.json || fail "names: the summary JSON lost a root name"
"$maproot" diff --format json h-names.gcstack.gz h-names.gcstack.gz >h-names-diff.json 2>h-names-diff.err ||
  fail "names: diff --format json: $(head -2 h-names-diff.err)"
python3 -c '
import json, sys
from schema_check import load
d = load(sys.argv[1])
m = [m for m in d["maps"] if m["count_after"] == 3000]
assert m and m[0]["type"] == "map[int64]*\u00ff\u00feBlob" and m[0]["root"].startswith("global cache\u00c3("), m
assert bytes.fromhex(m[0]["root_hex"]).startswith(b"global cache\xc3("), m
' h-names-diff.json || fail "names: the diff JSON lost a name"

# ---- deep: N maps at the end of a list of N nodes (tests/analysis_heaps.c).
# Every report shows the same 24 steps of each chain -- the root and 5
# nodes, one elided step that counts what it stands for, the last 17 steps
# -- the text and dot as the JSON does, and the JSON says how long the whole
# chain is; maproot path --steps 0 shows one whole. The reports grow as the
# maps do, not as maps times the list's length: their size per map is the
# same for a list 4 times as long.
deep() {
  local n=$1
  rm -f d$n.*
  "$heaps" deep d$n.gcstack.gz $n >d$n.err 2>&1 || { fail "deep $n: $(head -3 d$n.err)"; return; }
  "$maproot" analyze --format json --maps 0 d$n.gcstack.gz >d$n.json 2>d$n.jerr || fail "deep $n: analyze --format json: $(head -2 d$n.jerr)"
  "$maproot" analyze d$n.gcstack.gz >d$n.txt 2>&1 || fail "deep $n: analyze"
  "$maproot" analyze --format dot d$n.gcstack.gz >d$n.dot 2>&1 || fail "deep $n: analyze --format dot"
  local hdr
  hdr=$(python3 -c 'import json,sys; print([m for m in json.load(open(sys.argv[1]))["maps"] if m["count"] == 1][0]["address"])' d$n.json) ||
    { fail "deep $n: no map of one entry"; return; }
  "$maproot" path d$n.gcstack.gz --object "$hdr" >d$n.path.txt 2>&1 || fail "deep $n: path"
  "$maproot" path -f json d$n.gcstack.gz --object "$hdr" >d$n.path.json 2>&1 || fail "deep $n: path --format json"
  "$maproot" path -f dot d$n.gcstack.gz --object "$hdr" >d$n.path.dot 2>&1 || fail "deep $n: path --format dot"
  "$maproot" path -f json --steps 0 d$n.gcstack.gz --object "$hdr" >d$n.whole.json 2>&1 || fail "deep $n: path --steps 0"
  printf '{"growth": false}\n' >d$n.policy.json
  "$maproot" gate --policy d$n.policy.json -f json d$n.gcstack.gz >d$n.gate.json 2>&1 || fail "deep $n: gate: $(head -2 d$n.gate.json)"
  python3 - $n d$n <<'PY' || fail "deep $n: the chains are not shown as they should be (above)"
import json, re, sys
from schema_check import load
n, base = int(sys.argv[1]), sys.argv[2]
a = load(base + ".json")
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
def texts(ch):
    return [s["text"] for s in ch]
def unwrap(lines):
    """A chain the text wraps over lines, on one line."""
    return re.sub(r"\n\s*-> ", " -> ", lines).strip()
want(len(a["maps"]) == n and a["maps_total"] == n, "every map listed: %d of %d" % (len(a["maps"]), n))
for m in a["maps"]:
    ch = m["chain"]
    kinds = [s["kind"] for s in ch]
    over = kinds.count("overflow")  # the suspect's largest entry may sit in an overflow bucket
    whole = 1 + n + 1 + 1 + 1 + over + 1  # root, nodes, array, header, bucket, overflow, slot
    want(len(ch) == 24 and kinds[:7] == ["root"] + ["object"] * 5 + ["elided"] and
         kinds[-4 - over:] == ["object", "map", "bucket"] + ["overflow"] * over + ["slot"] and
         kinds[7:-4 - over] == ["object"] * (13 - over), "map %d: 24 steps, both ends: %s" % (m["index"], kinds))
    want(ch[0]["text"] == "chain_head" and all(s["type"] == "Link" for s in ch[1:6] + ch[7:-4 - over]),
         "map %d: from chain_head over Link nodes: %s" % (m["index"], texts(ch)[:8]))
    want(ch[-4 - over]["type"] == "[]*" and "index" in ch[-4 - over],
         "map %d: the array element before the header: %s" % (m["index"], ch[-4 - over]))
    want(m["chain_steps"] == whole and m["chain_elided"] == whole - 23 and ch[6]["steps"] == whole - 23 and
         ch[6]["text"] == "... %d more steps ..." % (whole - 23),
         "map %d: %d steps in all, %d elided: %s %s %s" % (m["index"], whole, whole - 23, m["chain_steps"], m["chain_elided"], ch[6]))
# gate: each map's chain as step texts, the same 24, and the same length
gate = {[t for t in m["chain"] if t.startswith("map header")][0]: m
        for m in json.load(open(base + ".gate.json"))["maps"] if not m["group"]}
for m in a["maps"]:
    gm = gate.get([x["text"] for x in m["chain"] if x["kind"] == "map"][0])
    want(gm and gm["chain"] == texts(m["chain"]) and gm["chain_steps"] == m["chain_steps"] and
         gm["chain_elided"] == m["chain_elided"], "gate shows map %d's chain as analyze does: %s" % (m["index"], gm and gm["chain"][:8]))
# the suspect: its text chain is the JSON's, step for step
s = a["suspects"][0] if a["suspects"] else None
want(s is not None and s["count"] == 2000, "the map of 2,000 entries is the suspect")
if s:
    txt = open(base + ".txt", encoding="utf-8").read()
    m = re.search(r"\n  chain    (.*?)\n  table", txt, re.S)
    want(m and unwrap(m.group(1)) == " -> ".join(texts(s["chain"])), "the text shows the JSON's chain: %s" % (m and m.group(1)))
    dot = open(base + ".dot", encoding="utf-8").read()
    # (the map's chain and its entries', each node drawn once: the entries'
    # chains may go through an overflow bucket, one node more of the 24)
    want(dot.count('label="Link 0x') in (17, 18) and
         dot.count('label="... %d more steps ..."' % s["chain_elided"]) >= 1,
         "the dot draws the same steps: %d nodes" % dot.count('label="Link 0x'))
# maproot path: the chain to a header (root, nodes, array, header), its whole with --steps 0
p = load(base + ".path.json")["paths"][0]
pk = [x["kind"] for x in p["chain"]]
want(len(p["chain"]) == 24 and p["chain_steps"] == n + 3 and p["chain_elided"] == n - 20 and
     pk == ["root"] + ["object"] * 5 + ["elided"] + ["object"] * 16 + ["map"], "path: 24 of %d steps: %s" % (n + 3, pk))
ptxt = open(base + ".path.txt", encoding="utf-8").read()
m = re.search(r"\n  chain  (.*?)\n\n", ptxt, re.S)
want(m and unwrap(m.group(1)) == " -> ".join(texts(p["chain"])), "path text shows the JSON's chain: %s" % (m and m.group(1)))
pdot = open(base + ".path.dot", encoding="utf-8").read()
want(pdot.count('label="Link 0x') == 20 and pdot.count('label="... %d more steps ..."' % (n - 20)) == 1, "path dot: 20 nodes and the elided step")
w = load(base + ".whole.json")["paths"][0]
wk = [x["kind"] for x in w["chain"]]
want(w["chain_steps"] == n + 3 and w["chain_elided"] == 0 and wk == ["root"] + ["object"] * (n + 1) + ["map"] and
     texts(w["chain"])[:6] == texts(p["chain"])[:6] and texts(w["chain"])[-17:] == texts(p["chain"])[-17:],
     "path --steps 0: every step, the same ends")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
}
deep 300
deep 1200
# the JSON report is written as it is made: at its peak it takes about the
# memory the text report does (built whole, it took nine times as much at
# 1,200 maps), and its bytes are the text jansson writes for the whole tree.
# Not in a sanitizer build: its allocator holds freed memory in quarantine,
# so the peak measures the sanitizer, not the report (105 MB against 23 MB).
if [ -x /usr/bin/time ] && [ "${MAPROOT_TEST_SANITIZE:-none}" = none ]; then
  /usr/bin/time -f %M -o d1200.json.rss "$maproot" analyze --format json --maps 0 d1200.gcstack.gz >/dev/null 2>&1
  /usr/bin/time -f %M -o d1200.txt.rss "$maproot" analyze --maps 0 d1200.gcstack.gz >/dev/null 2>&1
  jr=$(tail -1 d1200.json.rss) tr=$(tail -1 d1200.txt.rss)
  [ "$jr" -le $((tr * 2 + 8192)) ] || fail "deep 1200: the JSON report peaks at $jr KB, the text at $tr KB"
fi
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' d1200.json || fail "deep 1200: the JSON does not parse"
# a report's size grows as its maps, not as maps times the length of their chains
python3 - d300.json d1200.json d300.path.json d1200.path.json <<'PY' || fail "deep: the reports grow faster than their maps"
import os, sys
per = [os.path.getsize(sys.argv[1]) / 300, os.path.getsize(sys.argv[2]) / 1200]
path = [os.path.getsize(sys.argv[3]), os.path.getsize(sys.argv[4])]
print("bytes per map: %.0f, %.0f; path: %d, %d" % (per[0], per[1], path[0], path[1]))
assert per[1] < per[0] * 1.1 and path[1] < path[0] * 1.1, (per, path)
PY

# ---- pictures: Graphviz draws --format dot, go tool pprof the retention profile
# svg_nodes SVG: one line per node of a Graphviz SVG (tests/svg_nodes.py)
svg_nodes() { python3 -m svg_nodes "$1"; }
heap skewed 'want(a["suspects"] and a["suspects"][0]["entries"][0]["key"] == "big-0", "the largest entry is big-0")'
if command -v dot >/dev/null; then
  # sessiond: root, map header, the buckets of the ten largest entries, the
  # entries (key, type, size), the rest in one node with its count
  dot -Tsvg s.dot >s.svg || fail "dot -Tsvg rejects sessiond's picture"
  svg_nodes s.svg >s.nodes
  grep -q $'^r[0-9]*\tglobal session_cache' s.nodes || fail "dot: no root node: $(head -3 s.nodes)"
  grep -q $'^m[0-9]*\tmap\[string\]\*Session header 0x[0-9a-f]* | 120,000 entries, B=15' s.nodes ||
    fail "dot: no map header node"
  [ "$(grep -c $'^b[0-9_]*\tbucket\[[0-9]*\]$' s.nodes)" -ge 5 ] || fail "dot: not a node per bucket: $(grep -c bucket s.nodes)"
  [ "$(grep -Ec $'^e[0-9]+\t"user-[0-9]+" -> Session \| [0-9.]+KiB retained$' s.nodes)" = 10 ] ||
    fail "dot: the ten largest entries with key and size: $(grep -m2 '^e' s.nodes)"
  grep -Eq $'^f[0-9]*\t119,990 other entries \\| 19[0-9]\.[0-9]+MiB$' s.nodes || fail "dot: the rest folded: $(grep '^f' s.nodes)"
  grep -q '(0B)\| 0B' s.dot && fail "dot: a size of 0B"
  # shared_entries: the pin that also holds the values, the shared sizes
  "$maproot" analyze --format dot shared_entries.gcstack.gz >sh.dot && dot -Tsvg sh.dot >sh.svg ||
    fail "dot: shared_entries"
  svg_nodes sh.svg >sh.nodes
  grep -q $'^r[0-9]*\tpin search index$' sh.nodes || fail "dot: the other root of shared entries is missing"
  grep -q 'label="also holds"' sh.dot || fail "dot: no edge from the pin to the entries"
  [ "$(grep -Ec $'^e[0-9]+\t[0-9]+ -> Document \| 2.[0-9]+KiB shared$' sh.nodes)" = 10 ] ||
    fail "dot: shared entries with their shared size: $(grep -m2 '^e' sh.nodes)"
  # -n 0 asks for every entry: the picture stays small and says so
  "$maproot" analyze --format dot -n 0 sessiond.gcstack.gz >all.dot || fail "dot -n 0"
  [ "$(wc -l <all.dot)" -lt 1000 ] && grep -q 'at most 50 entries of a map are drawn' all.dot &&
    grep -q 'label="119,950 other entries' all.dot || fail "dot -n 0: $(wc -l <all.dot) lines"
  dot -Tsvg all.dot >/dev/null || fail "dot -Tsvg rejects the -n 0 picture"
  # skewed: the large entries are nodes of their own
  "$maproot" analyze --format dot h-skewed.gcstack.gz >sk.dot && dot -Tsvg sk.dot >sk.svg || fail "dot: skewed"
  svg_nodes sk.svg | contains $'^e[0-9]*\t"big-0" -> \[\]byte | 1.5[0-9]MiB retained$' || fail "dot: skewed: no node of big-0"
else
  fail "graphviz is not installed (scripts/install-deps installs it)"
fi
if command -v go >/dev/null && command -v dot >/dev/null; then
  # the retention profile drawn by go tool pprof: the top key's own node
  # where it is large, and the frame that names the largest keys where no
  # entry is (pprof leaves out nodes under 0.5% of the total)
  "$maproot" analyze --format pprof -o sk.pb.gz h-skewed.gcstack.gz || fail "pprof: skewed"
  go tool pprof -svg sk.pb.gz >sk-pprof.svg 2>sk-pprof.err || fail "go tool pprof -svg: $(head -2 sk-pprof.err)"
  svg_nodes sk-pprof.svg >sk-pprof.nodes
  grep -q $'\t"big-0" -> \[\]byte |' sk-pprof.nodes || fail "pprof -svg: no node of the top key: $(cut -f2 sk-pprof.nodes | head -8)"
  grep -q $'\t2,000 entries, largest "big-0", "big-1", "big-2" |' sk-pprof.nodes || fail "pprof -svg: no node naming the largest keys"
  go tool pprof -svg ret.pb.gz >ret.svg 2>/dev/null || fail "go tool pprof -svg of sessiond's"
  svg_nodes ret.svg | contains $'\t120,000 entries, largest "user-[0-9]*", "user-[0-9]*", "user-[0-9]*" |' ||
    fail "pprof -svg: sessiond's keys are not in the picture: $(svg_nodes ret.svg | cut -f2 | head -8)"
  go tool pprof -png sk.pb.gz >sk.png 2>/dev/null && [ "$(head -c 4 sk.png | od -An -c | tr -d ' ')" = "211PNG" ] ||
    fail "go tool pprof -png does not draw the retention profile"
  go tool pprof -traces sk.pb.gz 2>/dev/null | contains '^ *[0-9.]*[kMG]*B *"big-0" -> \[\]byte$' ||
    fail "pprof -traces: the key's frame"
fi

echo "$fails failures"
[ $fails = 0 ]
