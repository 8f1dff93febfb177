#!/usr/bin/env bash
# tests/test_go_compat.sh -- maproot and go tool pprof agree on the same files.
# usage: test_go_compat.sh MAPROOT MAKE_PROFILES GO_SRC_DIR WORKDIR
#
# 1. Builds tests/go/mapgrow.go with the system Go (no network, no modules,
#    caches inside WORKDIR) and runs it: it fills a map and writes
#    runtime/pprof heap profiles before and after.
# 2. For those and for profiles made by maproot's own writer: for every sample
#    type, the total and every function's flat and cum in `maproot analyze`
#    equal `go tool pprof -top`'s (exact units: -unit=B, all nodes).
# 3. `maproot diff` base total, change and per-function deltas equal
#    `go tool pprof -diff_base`'s.
# 4. go tool pprof -raw accepts maproot's profiles and shows the functions
#    with file:line.
# Exits 77 (skipped) when Go is not installed.
set -u
maproot=$1 make_profiles=$2 src=$3 work=$4
agree=$(dirname "$0")/pprof_agree.py
command -v go >/dev/null || { echo "go not installed: skipped"; exit 77; }
mkdir -p "$work"
export GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local
export PPROF_TMPDIR="$work/pprof-tmp" HOME="$work"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

go build -o "$work/mapgrow" "$src/mapgrow.go" || { echo "go build failed" >&2; exit 1; }
(cd "$work" && ./mapgrow go-before.pb.gz go-after.pb.gz) || { echo "mapgrow failed" >&2; exit 1; }
"$make_profiles" "$work" || exit 1

pprof() { go tool pprof -symbolize=none "$@" 2>/dev/null; }

# compare FILE TYPE [BEFORE]: pprof's -top against maproot's JSON (a diff when BEFORE).
compare() {
    python3 "$agree" "$maproot" "$@" || fail "$*"
}

types="alloc_objects alloc_space inuse_objects inuse_space"
for f in go-before.pb.gz go-after.pb.gz heap.pb.gz heap-after.pb.gz heap.pb; do
    for t in $types; do compare "$work/$f" "$t"; done
done
for t in $types; do
    compare "$work/go-after.pb.gz" "$t" "$work/go-before.pb.gz"
    compare "$work/heap-after.pb.gz" "$t" "$work/heap.pb.gz"
done

# The Go profile shows Go's own function names and files in maproot's report.
"$maproot" analyze "$work/go-after.pb.gz" | grep -Eq "main.addSessions" || fail "analyze shows main.addSessions"
"$maproot" analyze "$work/go-after.pb.gz" | grep -q "Go runtime/pprof" || fail "analyze names the Go producer"

# A Go heap profile never shows Go's map frames (runtime/pprof cuts the
# runtime's frames off the allocation end): no empty "Map growth sites"
# section, one note why instead; maproot's own profiles keep the section.
for out in "$("$maproot" analyze "$work/go-after.pb.gz")" \
           "$("$maproot" diff "$work/go-before.pb.gz" "$work/go-after.pb.gz")"; do
    grep -q '^Map growth sites' <<<"$out" && fail "a Go profile's report has a map growth section"
    [ "$(grep -c "^(No map growth sites: Go's runtime/pprof" <<<"$out")" = 1 ] ||
        fail "a Go profile's report does not say once why it has no map growth sites"
done
"$maproot" analyze --format json "$work/go-after.pb.gz" |
    python3 -c 'import json,sys; a=json.load(sys.stdin); assert a["map_frames_hidden"] is True and a["map_growth"] == []' ||
    fail "Go profile JSON: map_frames_hidden"
"$maproot" analyze --format json "$work/heap.pb.gz" |
    python3 -c 'import json,sys; a=json.load(sys.stdin); assert a["map_frames_hidden"] is False and a["map_growth"]' ||
    fail "maproot profile JSON: map_frames_hidden false, growth sites"
"$maproot" analyze "$work/heap.pb.gz" | grep -q '^Map growth sites by' || fail "maproot profile: map growth sites"

# Our writer's profile: go tool pprof -raw accepts it and shows names with file:line.
pprof -raw "$work/heap.pb.gz" >"$work/raw.txt" || fail "pprof -raw rejected heap.pb.gz"
grep -Eq "cache_put examples/sessiond.c:75" "$work/raw.txt" || fail "pprof -raw shows cache_put with file:line"
grep -Eq "mr_map_assign src/rt/map.c:320" "$work/raw.txt" || fail "pprof -raw shows mr_map_assign with file:line"
grep -q "0123456789abcdef" "$work/raw.txt" || fail "pprof -raw shows the build ID"
# -raw's sample values sum to maproot's totals, type by type
ours=$("$maproot" analyze --format json "$work/heap.pb.gz" | python3 -c 'import json,sys; print(" ".join(str(t["total"]) for t in json.load(sys.stdin)["sample_types"]))')
theirs=$(awk '/^Samples:/{s=1;next} /^Locations/{s=0} s && $NF ~ /^[0-9 ]*$/ && /:/ {split($0,a,":"); n=split(a[1],v," "); for(i=1;i<=n;i++) t[i]+=v[i]} END{print t[1], t[2], t[3], t[4]}' "$work/raw.txt")
[ "$ours" = "$theirs" ] || fail "pprof -raw totals ($theirs) != maproot's ($ours)"

[ $fails -eq 0 ] && echo "test_go_compat: all passed"
exit $((fails > 0))
