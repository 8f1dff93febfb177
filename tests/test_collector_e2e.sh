#!/usr/bin/env bash
# tests/test_collector_e2e.sh -- the collector end to end, through the real
# examples, maproot and go tool pprof.
# usage: test_collector_e2e.sh MAPROOT EXAMPLES_DIR WORKDIR
#
# 1. Every example run with MAPROOT_PROFILE (and _EVERY) exits 0 and writes
#    profiles that `go tool pprof -top` and `-raw` accept.
# 2. sessiond's profile shows new_session (with examples/sessiond.c:LINE in
#    -raw and -top -lines when the examples have DWARF) and none of the
#    runtime's or the collector's own frames; the periodic files carry the
#    cycle number.
# 3. `maproot analyze` totals equal go tool pprof's for every sample type,
#    and its flat values per function too.
# 4. The sampled in-use bytes estimate the true retained bytes (the heap
#    after the example's last full collection, heap_alloc) within sampling
#    error: at the default rate (~400 samples: sigma ~5%) within 15%; at
#    rate 32768 (sigma ~1.2%) within 5%.
# 5. The map growth site of sessiond (lookup_or_login via mr_map_set; in a
#    build without DWARF, the program function it was inlined into).
# 6. A bad directory: one line on stderr, exit status 0.
# go tool pprof parts are skipped (not the rest) when Go is not installed.
set -u
maproot=$1 examples=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
export HOME="$work" PPROF_TMPDIR="$work/pprof-tmp" GOFLAGS= GOTOOLCHAIN=local
unset MAPROOT_PROFILE MAPROOT_PROFILE_EVERY MAPROOT_PROFILE_RATE MAPROOT_STACK_DEPTH
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
have_go=0
command -v go >/dev/null && have_go=1
pprof() { go tool pprof -symbolize=none "$@" 2>/dev/null; }
# Were the examples built with DWARF (-g)? Without it there are no files,
# lines nor inlined functions to expect, only the symbol table's names.
dwarf=0
# (grep reads all of it: under pipefail an early exit would fail readelf)
readelf -S --wide "$examples/sessiond" | grep -c '\.debug_info' >/dev/null && dwarf=1
# The allocator's and the collector's functions: never in a profile (a map
# operation's frame stays, with its inlined map code when there is DWARF:
# it is where the map grew).
internals='(on_alloc|mr__[a-z_]*|mrc_[a-z_]*|alloc|alloc_refill|alloc_large|finish_alloc|unw_[a-z_]*|_ULx86_64_[a-z_]*|mr_new|mr_new_array|mr_alloc_blob|mr_str_new|mr_str_from|mr_str_printf|str_new)'

# KiB of heap_alloc in an example's closing statistics, as bytes
heap_alloc_bytes() { awk '$1 == "heap_alloc" { printf "%d\n", $2 * 1024 }' "$1"; }
# total of a sample type in maproot's JSON
total_of() { "$maproot" analyze --format json -i "$2" "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

# ---- 1. every example
for exe in "$examples"/*; do
    [ -x "$exe" ] && [ -f "$exe" ] || continue
    name=$(basename "$exe")
    dir="$work/$name"
    mkdir -p "$dir"
    MAPROOT_PROFILE="$dir/heap.pb.gz" MAPROOT_PROFILE_EVERY=2 "$exe" >"$dir/out.txt" 2>"$dir/err.txt" ||
        { fail "$name exited $? with MAPROOT_PROFILE set"; cat "$dir/err.txt" >&2; continue; }
    [ -s "$dir/heap.pb.gz" ] || { fail "$name wrote no $dir/heap.pb.gz"; continue; }
    "$maproot" analyze "$dir/heap.pb.gz" >/dev/null || fail "maproot analyze rejected $name's profile"
    if [ $have_go = 1 ]; then
        pprof -top "$dir/heap.pb.gz" >"$dir/top.txt" && grep -q "flat%" "$dir/top.txt" ||
            fail "go tool pprof -top rejected $name's profile"
        pprof -raw "$dir/heap.pb.gz" >"$dir/raw.txt" && grep -q "^Locations" "$dir/raw.txt" ||
            fail "go tool pprof -raw rejected $name's profile"
        grep -Eq "^[0-9]+: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ .*/$name [0-9a-f]{40}" "$dir/raw.txt" ||
            fail "$name: -raw shows no main mapping with a build ID"
    fi
done

s="$work/sessiond"
[ -s "$s/heap.pb.gz" ] || { echo "no sessiond profile: stopping" >&2; exit 1; }

# ---- 2. file:line, periodic files
ls "$s"/heap.0*.pb.gz >/dev/null 2>&1 || fail "MAPROOT_PROFILE_EVERY=2 wrote no heap.NNNN.pb.gz"
for f in "$s"/heap.0*.pb.gz; do
    n=$(basename "$f" | sed -E 's/heap\.0*([0-9]+)\.pb\.gz/\1/')
    [ $((n % 2)) -eq 0 ] || fail "$f: cycle $n is not a multiple of 2"
    "$maproot" analyze "$f" | grep -q "GC cycle $n\$" || fail "$f does not say it is of GC cycle $n"
done
if [ $have_go = 1 ]; then
    if [ $dwarf = 1 ]; then
        grep -Eq "new_session [^ ]*examples/sessiond\.c:[0-9]+" "$s/raw.txt" ||
            fail "pprof -raw shows new_session with examples/sessiond.c:LINE"
        grep -Eq "mr_map_set [^ ]*src/rt/map\.c:[0-9]+" "$s/raw.txt" ||
            fail "pprof -raw shows the map's frames (mr_map_set src/rt/map.c:LINE)"
        pprof -top -lines "$s/heap.pb.gz" | grep -Eq "new_session [^ ]*examples/sessiond\.c:[0-9]+" ||
            fail "pprof -top -lines shows new_session with file:line"
    else
        grep -Eq "M=[0-9]+ new_session " "$s/raw.txt" || fail "pprof -raw shows new_session"
        grep -Eq "M=[0-9]+ mr_map_set " "$s/raw.txt" || fail "pprof -raw shows the map operation mr_map_set"
    fi
    # a location's lines: "N: 0xADDR M=N function file:line s=N", inlined
    # callers on the lines below it
    raw_fn="(M=[0-9]+| {8,}) $internals [^ ]*:-?[0-9]+ s="
    grep -Eq "$raw_fn" "$s/raw.txt" &&
        fail "pprof -raw shows the runtime's or the collector's frames: $(grep -E "$raw_fn" "$s/raw.txt" | head -3)"
    pprof -top -nodecount=1000 "$s/heap.pb.gz" >"$s/top-all.txt"
    grep -Eq "% +$internals\$" "$s/top-all.txt" &&
        fail "pprof -top shows the runtime's or the collector's frames: $(grep -E "% +$internals\$" "$s/top-all.txt" | head -3)"
    awk '/flat%/ {getline; print $NF; exit}' "$s/top-all.txt" | grep -qx new_session ||
        fail "pprof -top: the largest flat site is not new_session"

    # ---- 3. the same totals and flat values as go tool pprof, type by type
    for t in alloc_objects alloc_space inuse_objects inuse_space; do
        pprof -top -unit=B -nodefraction=0 -nodecount=1000000 -sample_index=$t "$s/heap.pb.gz" >"$s/top-$t.txt"
        "$maproot" analyze --format json --top 0 -i $t "$s/heap.pb.gz" >"$s/ours-$t.json"
        python3 - "$s/top-$t.txt" "$s/ours-$t.json" "$t" <<'PY' || fail "maproot and go tool pprof disagree on $t"
import json, re, sys
text = open(sys.argv[1]).read()
ours = json.load(open(sys.argv[2]))
m = re.search(r"Showing nodes accounting for (-?\d+)B?, .* of (-?\d+)B? total", text)
assert m, "no totals line in go tool pprof's output"
bad = []
if ours["total"] != int(m.group(2)): bad.append(f"total {ours['total']} != {m.group(2)}")
flat = {}
for line in text.splitlines():
    f = line.split(None, 5)
    if len(f) == 6 and f[1].endswith("%") and f[4].endswith("%"):
        name = f[5].replace(" (inline)", "")
        flat[name] = flat.get(name, 0) + int(re.sub(r"[^0-9-]", "", f[0]) or 0)
mine = {s["function"]: s["flat"] for s in ours["top"]}
for name, v in flat.items():
    if v != mine.get(name, 0): bad.append(f"{name}: flat {mine.get(name, 0)} != {v}")
if not flat: bad.append("no rows")
if bad:
    print(sys.argv[3] + ": " + "; ".join(bad[:6]), file=sys.stderr)
    sys.exit(1)
PY
    done

    # ... and `maproot diff` of two of its periodic profiles equals -diff_base's
    first=$(ls "$s"/heap.0*.pb.gz | head -1)
    for t in alloc_space inuse_space inuse_objects; do
        pprof -top -unit=B -nodefraction=0 -sample_index=$t -diff_base="$first" "$s/heap.pb.gz" >"$s/diff-$t.txt"
        "$maproot" diff --format json --top 0 -i $t "$first" "$s/heap.pb.gz" >"$s/diff-$t.json"
        python3 - "$s/diff-$t.txt" "$s/diff-$t.json" <<'PY' || fail "maproot diff and go tool pprof -diff_base disagree on $t"
import json, re, sys
m = re.search(r"Showing nodes accounting for (-?\d+)B?, .* of (-?\d+)B? total", open(sys.argv[1]).read())
d = json.load(open(sys.argv[2]))
assert m and d["base_total"] == int(m.group(2)) and d["delta"] == int(m.group(1)), (m and m.groups(), d["base_total"], d["delta"])
PY
    done
fi

# ---- 4. in-use estimate against the true retained bytes
check_estimate() { # FILE OUT.TXT TOLERANCE_PCT LABEL
    local est true_b
    est=$(total_of "$1" inuse_space)
    true_b=$(heap_alloc_bytes "$2")
    [ -n "$true_b" ] && [ "$true_b" -gt 0 ] || { fail "$4: no heap_alloc in the example's output"; return; }
    python3 - "$est" "$true_b" "$3" "$4" <<'PY' || fail "$4: in-use estimate out of tolerance"
import sys
est, true, tol, label = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
err = 100.0 * (est - true) / true
print(f"{label}: inuse_space estimate {est / 2**20:.1f} MiB, retained {true / 2**20:.1f} MiB, error {err:+.2f}% (tolerance {tol}%)")
sys.exit(0 if abs(err) <= tol else 1)
PY
}
check_estimate "$s/heap.pb.gz" "$s/out.txt" 15 "sessiond, rate 524288"
MAPROOT_PROFILE_RATE=32768 MAPROOT_PROFILE="$s/r32k.pb.gz" "$examples/sessiond" >"$s/out-r32k.txt" ||
    fail "sessiond at rate 32768 failed"
check_estimate "$s/r32k.pb.gz" "$s/out-r32k.txt" 5 "sessiond, rate 32768"

# ---- 5. the map growth site
"$maproot" analyze --format json "$s/heap.pb.gz" | python3 -c '
import json, sys
g = json.load(sys.stdin)["map_growth"]
dwarf = sys.argv[1] == "1"
if dwarf:
    assert any(x["site"] == "lookup_or_login" and x["file"].endswith("examples/sessiond.c") and x["via"] == "mr_map_set" for x in g), g
else:  # inlined: the physical function that holds the call
    assert any(x["site"] in ("lookup_or_login", "handle_request", "main") and x["via"] == "mr_map_set" for x in g), g
' "$dwarf" || fail "maproot analyze shows lookup_or_login (examples/sessiond.c) as sessiond's map growth site"

# ---- 6. a bad directory: one line, the program goes on
MAPROOT_PROFILE="$work/no/such/dir/heap.pb.gz" "$examples/sessiond" >/dev/null 2>"$work/bad.txt"
rc=$?
[ $rc -eq 0 ] || fail "sessiond exited $rc when the profile could not be written"
[ "$(wc -l <"$work/bad.txt")" -eq 1 ] || fail "a failed write printed $(wc -l <"$work/bad.txt") lines"
grep -q "^maproot: cannot write heap profile: .*no/such/dir/heap.pb.gz" "$work/bad.txt" ||
    fail "the failed write's line names the file: $(cat "$work/bad.txt")"
# ... and a bad setting is one line too, with the default used
MAPROOT_PROFILE_RATE=lots MAPROOT_PROFILE="$work/badrate.pb.gz" "$examples/sessiond" >/dev/null 2>"$work/badrate.txt" ||
    fail "sessiond failed with MAPROOT_PROFILE_RATE=lots"
[ "$(wc -l <"$work/badrate.txt")" -eq 1 ] && grep -q "MAPROOT_PROFILE_RATE=lots" "$work/badrate.txt" ||
    fail "a bad MAPROOT_PROFILE_RATE is not one line naming it"
"$maproot" analyze "$work/badrate.pb.gz" | grep -Eq "period +524288 " ||
    fail "a bad MAPROOT_PROFILE_RATE does not fall back to 524288"

# ---- rate 0: profiling off, the exit profile is written and empty
MAPROOT_PROFILE_RATE=0 MAPROOT_PROFILE="$work/off.pb.gz" "$examples/sessiond" >/dev/null ||
    fail "sessiond failed with MAPROOT_PROFILE_RATE=0"
[ "$(total_of "$work/off.pb.gz" alloc_objects)" = 0 ] || fail "rate 0 sampled allocations"

[ $fails -eq 0 ] && echo "test_collector_e2e: all passed"
exit $((fails > 0))
