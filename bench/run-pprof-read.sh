#!/usr/bin/env bash
# bench/run-pprof-read.sh -- reading speed: `maproot analyze` against
# `go tool pprof -top` on the same large heap profile, in the same run.
#
# usage: bench/run-pprof-read.sh [BUILD_DIR]
#   BUILD_DIR defaults to $BENCH_BUILD (set by scripts/bench), else ./build;
#   RUNS=N sets the number of runs (default 3).
# Generates (once, cached in BUILD_DIR/bench/) a profile with bench/gen_profile:
# 300,000 samples, 40,000 functions, stacks up to 24 deep, ~15 MB gzipped.
# Times each tool RUNS times (wall time and peak RSS by /usr/bin/time) and
# prints the medians, the time to only gunzip the file (the floor any reader
# pays), and the ratios. Targets: maproot >= 20x faster in wall time
# and <= 1/5 of go tool pprof's peak memory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-${BENCH_BUILD:-$root/build}}" && pwd)
runs=${RUNS:-3}
maproot=$build/src/cli/maproot
gen=$build/tests/gen_profile
[ -f "$build/build.ninja" ] && ninja -C "$build" src/cli/maproot tests/gen_profile >/dev/null
[ -x "$maproot" ] && [ -x "$gen" ] || { echo "run-pprof-read: build first (ninja -C $build)" >&2; exit 2; }
command -v go >/dev/null || { echo "run-pprof-read: go not installed, no peer to compare with" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "run-pprof-read: /usr/bin/time is needed" >&2; exit 2; }

work=$build/bench/pprof-read
mkdir -p "$work"
prof=$work/large.pb.gz
[ -s "$prof" ] || "$gen" "$prof"
export GOCACHE=$work/gocache GOPATH=$work/gopath HOME=$work PPROF_TMPDIR=$work/tmp GOTOOLCHAIN=local

# measure NAME CMD...: runs CMD $runs times, keeps "seconds maxrss_kb" lines.
measure() {
    local name=$1
    shift
    : >"$work/$name.times"
    for ((i = 0; i < runs; i++)); do
        /usr/bin/time -f "%e %M" -o "$work/$name.one" "$@" >/dev/null 2>"$work/$name.err" ||
            { echo "run-pprof-read: $name failed: $(tail -1 "$work/$name.err")" >&2; exit 1; }
        cat "$work/$name.one" >>"$work/$name.times"
    done
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

go tool pprof -top "$prof" >/dev/null 2>&1 || true # warm the go tool binary cache
measure maproot "$maproot" analyze "$prof"
measure pprof go tool pprof -symbolize=none -top "$prof"
measure gunzip gzip -dc "$prof"

m_t=$(cut -d' ' -f1 "$work/maproot.times" | median); m_m=$(cut -d' ' -f2 "$work/maproot.times" | median)
p_t=$(cut -d' ' -f1 "$work/pprof.times" | median); p_m=$(cut -d' ' -f2 "$work/pprof.times" | median)
g_t=$(cut -d' ' -f1 "$work/gunzip.times" | median)
size=$(stat -c %s "$prof")
awk -v mt="$m_t" -v mm="$m_m" -v pt="$p_t" -v pm="$p_m" -v gt="$g_t" -v size="$size" -v runs="$runs" 'BEGIN {
    if (mt <= 0) mt = 0.005; if (gt <= 0) gt = 0.005
    printf "pprof-read: %.1f MB gzipped heap profile, median of %d runs\n", size / 1e6, runs
    printf "  %-22s %8s %10s\n", "", "wall s", "peak RSS"
    printf "  %-22s %8.2f %7.0f MB\n", "maproot analyze", mt, mm / 1024
    printf "  %-22s %8.2f %7.0f MB\n", "go tool pprof -top", pt, pm / 1024
    printf "  %-22s %8.2f %10s\n", "gunzip only (floor)", gt, "-"
    printf "  speed: maproot %.1fx faster than go tool pprof (target >= 20x): %s\n", pt / mt, (pt / mt >= 20 ? "met" : "MISSED")
    printf "  memory: maproot uses %.3f of go tool pprof peak RSS (target <= 0.2): %s\n", mm / pm, (mm / pm <= 0.2 ? "met" : "MISSED")
    printf "  floor: maproot takes %.2fx the gunzip time\n", mt / gt
}'
