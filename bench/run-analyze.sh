#!/usr/bin/env bash
# bench/run-analyze.sh -- the speed of `maproot analyze` on big snapshots
# (its targets below): snapshots of 1M and 10M objects written by a program on
# the runtime (bench/snapshot_bench: 8 maps of small linked items), then
#   - the time to merely gunzip the snapshot (gzip -dc >/dev/null: the peer);
#     the collector now writes stored gzip blocks (for the writer's speed), which
#     makes that a mere copy, so the time to gunzip the same content
#     compressed with gzip -1 (the format's earlier default) is shown too,
#   - `maproot analyze` of it, wall time and peak RSS (GNU time),
# and the ratios. Targets: <= 2 s for 1M objects, <= 20 s and <= 3 GB peak
# for 10M, and analysis <= 3x the gunzip time. Each figure is the best of
# ANALYZE_BENCH_RUNS runs (default 3; 1 for 10M to keep the run short).
# ANALYZE_BENCH_SIZES overrides the object counts (e.g. "1000000").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" -Dbuildtype=release >/dev/null
ninja -C "$build" -j2 bench/snapshot_bench src/cli/maproot >/dev/null
sizes=${ANALYZE_BENCH_SIZES:-"1000000 10000000"}
runs=${ANALYZE_BENCH_RUNS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# best_of N CMD...: the smallest wall time (s) and its peak RSS (KiB) of N runs
best_of() {
  local n=$1 best="" rss=""
  shift
  for _ in $(seq "$n"); do
    /usr/bin/time -o "$tmp/time" -f '%e %M' "$@" >/dev/null 2>&1
    local t w m
    t=$(tail -1 "$tmp/time")
    w=${t% *} m=${t#* }
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$w rss=$m
    fi
  done
  echo "$best $rss"
}

echo "== maproot analyze of big snapshots (targets: 1M objects <= 2 s; 10M <= 20 s and"
echo "   <= 3 GB peak; analysis <= 3x the time to gunzip the same snapshot)"
printf '  %-10s %10s %9s %10s %10s %10s %7s %9s %7s  %s\n' objects "file" gunzip analyze "peak RSS" \
  "target" ratio "gunzip-1" ratio verdict
for n in $sizes; do
  snap="$tmp/s$n.gcstack.gz"
  if ! MAPROOT_SNAPSHOT_FORK=0 "$build/bench/snapshot_bench" "$snap" "$n" >"$tmp/gen.txt" 2>&1; then
    echo "  $n: the snapshot could not be written: $(head -2 "$tmp/gen.txt")"
    exit 1
  fi
  objects=$(sed -n 's/.*objects=\([0-9]*\).*/\1/p' "$tmp/gen.txt")
  r=$runs
  [ "$n" -ge 5000000 ] && [ -z "${ANALYZE_BENCH_RUNS:-}" ] && r=1
  read -r gz _ < <(best_of "$r" gzip -dc "$snap")
  read -r an rss < <(best_of "$r" "$build/src/cli/maproot" analyze "$snap")
  gzip -dc "$snap" | gzip -1 >"$tmp/level1.gz"
  read -r gz1 _ < <(best_of "$r" gzip -dc "$tmp/level1.gz")
  rm -f "$tmp/level1.gz"
  ratio1=$(awk -v a="$an" -v g="$gz1" 'BEGIN { printf "%.2f", (g > 0 ? a / g : 0) }')
  "$build/src/cli/maproot" analyze "$snap" >"$tmp/rep.txt" ||
    { echo "  $n: maproot analyze failed"; exit 1; }
  target=2
  [ "$n" -gt 1000000 ] && target=$((20 * n / 10000000))
  [ "$target" -lt 2 ] && target=2
  ratio=$(awk -v a="$an" -v g="$gz" 'BEGIN { printf "%.2f", (g > 0 ? a / g : 0) }')
  mb=$(awk -v k="$rss" 'BEGIN { printf "%.0f MiB", k / 1024 }')
  size=$(awk -v b="$(stat -c %s "$snap")" 'BEGIN { printf "%.1f MiB", b / 1048576 }')
  verdict=$(awk -v a="$an" -v t="$target" -v r="$ratio" -v k="$rss" -v n="$n" 'BEGIN {
    ok = a <= t && r <= 3 && (n < 10000000 || k <= 3 * 1024 * 1024)
    print ok ? "ok" : "MISSED" }')
  printf '  %-10s %10s %8ss %9ss %10s %9ss %6sx %8ss %6sx  %s\n' "$objects" "$size" "$gz" "$an" \
    "$mb" "$target" "$ratio" "$gz1" "$ratio1" "$verdict"
  grep -m1 '^  [0-9,]* roots' "$tmp/rep.txt" | sed 's/^ */             report: /'
  rm -f "$snap"
done
