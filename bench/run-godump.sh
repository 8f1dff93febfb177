#!/usr/bin/env bash
# bench/run-godump.sh -- `maproot analyze` of Go heap dumps from 0.1 to 1 GB,
# and what `go tool pprof` can tell about the same heap.
#
# bench/peers/godump_gen.go builds a session-cache leak of N entries (each a
# key, a *Session with a 1.5 KiB buffer and a small map: about 7 objects and
# 2.2 KB) and writes, at one moment, a heap dump and a runtime/pprof heap
# profile. For each size: the dump's size and objects, the wall and CPU time
# and peak RSS of `maproot analyze --binary` (GNU time; best of
# GODUMP_BENCH_RUNS, default 3), and how time and memory grow with size.
# Targets: a ~119 MB, ~356k-object dump (GODUMP_BENCH_TARGET entries,
# default 54000) analysed in <= 1 s and <= 4x the dump's size in peak memory.
# With 2 cores shared by many jobs, wall time is noisy: the verdict uses CPU
# time (user + system), the wall time is shown beside it.
# Then the peer, on the target heap: `go tool pprof -top` of the profile
# written with the dump (its time, and what it names), against maproot's
# answer (the retaining root, its chain and keys), which pprof cannot give.
# GODUMP_BENCH_SIZES overrides the entry counts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" -Dbuildtype=release >/dev/null
ninja -C "$build" -j2 src/cli/maproot >/dev/null
maproot=$build/src/cli/maproot
target=${GODUMP_BENCH_TARGET:-54000}
sizes=${GODUMP_BENCH_SIZES:-"45000 $target 110000 220000 440000"}
runs=${GODUMP_BENCH_RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v go >/dev/null || { echo "== Go heap dumps: go not installed, skipped"; exit 0; }
export GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local
export PPROF_TMPDIR="$tmp/pprof" HOME="$tmp"
go build -o "$tmp/gen" "$root/bench/peers/godump_gen.go"

# best_of N CMD...: "wall cpu rss_kib" of the run with the least CPU time
best_of() {
    local n=$1 best="" line=""
    shift
    for _ in $(seq "$n"); do
        /usr/bin/time -o "$tmp/time" -f '%e %U %S %M' "$@" >/dev/null 2>&1
        local w u s m
        read -r w u s m <"$tmp/time"
        local cpu
        cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
        if [ -z "$best" ] || awk -v a="$cpu" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$cpu line="$w $cpu $m"
        fi
    done
    echo "$line"
}

echo "== maproot analyze of Go heap dumps (target: ~119 MB / ~356k objects in <= 1 s,"
echo "   peak memory <= 4x the dump; verdict on CPU time, wall time beside it)"
printf '  %8s %10s %9s %8s %8s %10s %8s %9s %9s  %s\n' entries dump objects wall cpu "peak RSS" \
    "RSS/dump" "s/100MB" "MB RSS/MB" verdict
first_cpu="" first_mb=""
for n in $sizes; do
    if ! "$tmp/gen" "$n" "$tmp/d.dump" "$tmp/d.pb.gz" 2>"$tmp/gen.err"; then
        echo "  $n: the dump could not be written: $(head -2 "$tmp/gen.err")"
        exit 1
    fi
    bytes=$(stat -c %s "$tmp/d.dump")
    "$maproot" analyze --format json --top 1 --binary "$tmp/gen" "$tmp/d.dump" >"$tmp/a.json" ||
        { echo "  $n: maproot analyze failed"; exit 1; }
    objects=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["heap"]; print(h["objects"] + h["unreachable_objects"])' "$tmp/a.json")
    read -r wall cpu rss < <(best_of "$runs" "$maproot" analyze --binary "$tmp/gen" "$tmp/d.dump")
    mb=$(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1e6 }')
    awk -v n="$n" -v mb="$mb" -v obj="$objects" -v w="$wall" -v c="$cpu" -v k="$rss" -v b="$bytes" \
        -v t="$target" 'BEGIN {
        ratio = k * 1024 / b
        ok = (ratio <= 4) && (n != t || c <= 1)
        printf "  %8d %8s MB %9d %7ss %7ss %7.0f MiB %7.2fx %8.3fs %9.2f  %s\n", n, mb, obj, w, c,
            k / 1024, ratio, c / (b / 1e8), k * 1024 / b, (n == t ? (ok ? "ok (target)" : "MISSED (target)") : (ok ? "ok" : "MISSED"))
    }'
    if [ "$n" = "$target" ]; then
        cp "$tmp/d.dump" "$tmp/target.dump"
        cp "$tmp/d.pb.gz" "$tmp/target.pb.gz"
    fi
    rm -f "$tmp/d.dump"
done
echo "  (growth: s/100MB and RSS/dump stay flat when time and memory grow linearly)"

[ -f "$tmp/target.dump" ] || exit 0
echo
echo "== the same heap, $target entries: what go tool pprof says (allocation sites) and what"
echo "   maproot says (who retains them); pprof reads the heap profile written with the dump"
read -r pw pc _ < <(best_of "$runs" go tool pprof -top -nodecount=5 "$tmp/target.pb.gz")
read -r mw mc _ < <(best_of "$runs" "$maproot" analyze --binary "$tmp/gen" "$tmp/target.dump")
# the profile is sampled (MemProfileRate): small, and read in a blink
echo "  go tool pprof -top of the $(stat -c %s "$tmp/target.pb.gz")-byte profile: ${pw}s wall," \
    "${pc}s CPU; maproot analyze of the $(($(stat -c %s "$tmp/target.dump") / 1000000)) MB dump:" \
    "${mw}s wall, ${mc}s CPU"
echo "  go tool pprof -top -sample_index=inuse_space:"
go tool pprof -top -nodecount=4 -sample_index=inuse_space "$tmp/target.pb.gz" 2>/dev/null |
    sed -n '/flat%/,$p' | sed 's/^/    /'
echo "  maproot analyze --binary:"
"$maproot" analyze --top 3 --binary "$tmp/gen" "$tmp/target.dump" |
    sed -n '/^LEAK SUSPECT 1/,/^  fix/p' | grep -E 'LEAK|root |chain|->|^    "' | cut -c1-110 |
    sed 's/^/    /'
python3 - "$tmp/target.pb.gz" <<'PY'
import gzip, sys
# what pprof cannot name: the root and the keys are in maproot's answer only
raw = gzip.open(sys.argv[1]).read()
has_root = b"sessionCache" in raw
has_key = b"user-1" in raw
print("  the profile holds the root's name: %s; a key: %s (maproot names both)" %
      ("yes" if has_root else "no", "yes" if has_key else "no"))
PY
