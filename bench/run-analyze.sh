#!/usr/bin/env bash
# bench/run-analyze.sh -- the speed and memory of `maproot analyze` on big
# heaps, against the time to merely decompress the same snapshot.
#
# Snapshots are synthetic (bench/gen_snapshot: the format's own writer, no
# runtime, so 100M objects cost no 20 GB heap). For each:
#   - zcat: gzip -dc of the snapshot as the collector writes it (stored
#     deflate blocks, so close to a copy) -- the peer of the ratio;
#   - zcat-1: gzip -dc of the same content recompressed with gzip -1;
#   - analyze: `maproot analyze`, wall and processor (user+sys) seconds,
#     the system part of them apart (page faults: on a virtual machine
#     whose freed memory goes back to its host, the first touch of each
#     page is dear), peak RSS and bytes of peak RSS per object.
# Each time is the median of ANALYZE_BENCH_RUNS runs (default 3; 1 at 10M
# objects and more).
#
# The scaling series (shape "maps", ANALYZE_BENCH_SIZES, default 1M 10M
# 100M) prints the exponent of analysis time against objects + edges between
# its smallest and largest size, of wall and of processor time (the steadier
# one on a loaded machine). A size is left out, said so, when the
# machine's available memory or the disk could not hold it. The shapes that
# look like services (ANALYZE_BENCH_SHAPES: service, chains, arrays, mix and
# the shapes built to stress one phase each, bench/gen_snapshot.c) are run
# at each of ANALYZE_BENCH_SHAPE_SIZES objects (default 1M 10M), and each
# prints the exponent between its smallest and largest size the same way:
# a heap whose analysis grows faster than the heap shows there. An
# analysis that takes more than ANALYZE_BENCH_LIMIT seconds (default 300)
# is stopped and its row says so, with the least exponent it implies (the
# index line below is printed for the shapes at their first size only).
#
# Index files (maproot-analyze(1), INDEX FILES): after the figures above
# (taken with --index=off), each row gets a line with the first open of the
# snapshot (--index=rebuild: read the snapshot, write its index with the
# paths and dominator tree) and the second (the index read in its place,
# the paths and tree with it): the whole command's wall and processor time,
# its load phases alone (from --timings: everything before the paths and
# dominators), peak RSS, and the index's size beside the snapshot's.
#
# Targets: 10M objects <= 5 s, 100M <= 60 s, peak <= 80 bytes per object,
# analysis <= 3x zcat, exponent <= 1.05. The machine's load average is
# printed beside the figures: on a shared machine wall times are noisy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" -Dbuildtype=release >/dev/null
ninja -C "$build" -j2 bench/gen_snapshot src/cli/maproot >/dev/null
sizes=${ANALYZE_BENCH_SIZES:-"1000000 10000000 100000000"}
shapes=${ANALYZE_BENCH_SHAPES:-"service chains arrays mix onearray tree bigmap tinymaps many roots deeproots hot cycles"}
shape_sizes=${ANALYZE_BENCH_SHAPE_SIZES:-${ANALYZE_BENCH_SHAPE_SIZE:-"1000000 10000000"}}
limit=${ANALYZE_BENCH_LIMIT:-300}
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/analyze-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# median_of N CMD...: the median wall time (s), processor time (s), peak
# RSS (KiB) and system time (s) of N runs of CMD (the RSS, processor and
# system time of that run)
median_of() {
  local n=$1
  shift
  : >"$tmp/runs"
  for _ in $(seq "$n"); do
    /usr/bin/time -o "$tmp/time" -f '%e %U %S %M' "$@" >/dev/null 2>&1
    tail -1 "$tmp/time" | awk '{ printf "%s %.2f %s %.2f\n", $1, $2 + $3, $4, $3 }' >>"$tmp/runs"
  done
  sort -n "$tmp/runs" | awk -v n="$n" 'NR == int((n + 1) / 2)'
}

# fits N: whether a snapshot of N objects can be written and analysed here
# (~110 bytes of memory and ~25 bytes of disk per object, with room to spare)
fits() {
  local n=$1 avail disk
  avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
  disk=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
  awk -v n="$n" -v m="$avail" -v d="$disk" 'BEGIN { exit !(n * 110 / 1024 < m * 0.8 && n * 50 / 1024 < d) }'
}

# row SHAPE N: generates, measures and prints one line; leaves "objects+edges
# wall" in $tmp/last
row() {
  local shape=$1 n=$2 snap="$tmp/snap.gcstack.gz" r=${ANALYZE_BENCH_RUNS:-3}
  [ "$n" -ge 10000000 ] && [ -z "${ANALYZE_BENCH_RUNS:-}" ] && r=1
  "$build/bench/gen_snapshot" "$shape" "$n" "$snap" >"$tmp/gen.txt" ||
    { echo "  $shape $n: the snapshot could not be written: $(head -2 "$tmp/gen.txt")"; return 1; }
  local objects edges
  objects=$(sed -n 's/.*objects=\([0-9]*\).*/\1/p' "$tmp/gen.txt")
  edges=$(sed -n 's/.*edges=\([0-9]*\).*/\1/p' "$tmp/gen.txt")
  local zc zc1 an cpu rss sys
  # one run first, stopped past the limit: a trap shows without waiting
  # for it three times
  if ! timeout "$limit" "$build/src/cli/maproot" analyze --index=off "$snap" >"$tmp/rep.txt"; then
    echo "  $shape $n: maproot analyze failed or took more than $limit s"
    echo "$((objects + edges)) $limit $limit >" >"$tmp/last"
    rm -f "$snap"
    return 0
  fi
  read -r zc _ _ _ < <(median_of "$r" gzip -dc "$snap")
  gzip -dc "$snap" | gzip -1 >"$tmp/level1.gz"
  read -r zc1 _ _ _ < <(median_of "$r" gzip -dc "$tmp/level1.gz")
  rm -f "$tmp/level1.gz"
  read -r an cpu rss sys < <(median_of "$r" "$build/src/cli/maproot" analyze --index=off "$snap")
  local target=-
  [ "$n" -ge 10000000 ] && target=$(awk -v n="$n" 'BEGIN { printf "%g", (n >= 100000000 ? 60 * n / 1e8 : 5 * n / 1e7) }')
  local bpo ratio ratio1 verdict
  bpo=$(awk -v k="$rss" -v o="$objects" 'BEGIN { printf "%.0f", k * 1024 / o }')
  ratio=$(awk -v a="$an" -v g="$zc" 'BEGIN { printf "%.1f", (g > 0 ? a / g : 0) }')
  ratio1=$(awk -v a="$an" -v g="$zc1" 'BEGIN { printf "%.1f", (g > 0 ? a / g : 0) }')
  verdict=$(awk -v a="$an" -v t="$target" -v r="$ratio" -v b="$bpo" 'BEGIN {
    ok = (t == "-" || a <= t) && r <= 3 && b <= 80
    print ok ? "ok" : "MISSED" }')
  printf '  %-8s %11s %11s %8.1f %7ss %7ss %7ss %7ss %7ss %9.0f %5s %6s %6sx %6sx  %s\n' "$shape" \
    "$objects" "$edges" "$(stat -c %s "$snap" | awk '{ print $1 / 1048576 }')" "$zc" "$zc1" "$an" \
    "$cpu" "$sys" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$bpo" "$target" "$ratio" "$ratio1" \
    "$verdict"
  echo "$((objects + edges)) $an $cpu" >"$tmp/last"
  [ "$index_rows" = yes ] && index_row "$snap" "$r"
  rm -f "$snap" "$snap.mrx"
}

# load_seconds ARGS...: the wall seconds of the load phases of one
# `maproot analyze --timings ARGS` (the phases before paths and dominators)
load_seconds() {
  "$build/src/cli/maproot" analyze --timings "$@" 2>&1 >/dev/null |
    awk '/timing  (paths|dominators)/ { done = 1 } /timing/ && !done { s += $5 } END { printf "%.2f", s }'
}

# index_row SNAPSHOT RUNS: first and second open through an index file
index_row() {
  local snap=$1 r=$2 w1 c1 rss1 w2 c2 rss2 l1 l2
  read -r w1 c1 rss1 _ < <(median_of "$r" "$build/src/cli/maproot" analyze --index=rebuild "$snap")
  l1=$(load_seconds --index=rebuild "$snap")
  read -r w2 c2 rss2 _ < <(median_of "$r" "$build/src/cli/maproot" analyze "$snap")
  l2=$(load_seconds "$snap")
  local same=same
  cmp -s <("$build/src/cli/maproot" analyze "$snap" | sed 's/; analysed in [0-9.]*s$//') \
    <(sed 's/; analysed in [0-9.]*s$//' "$tmp/rep.txt") || same=DIFFERENT
  printf '  %-8s index: first open %ss (cpu %ss, load %ss, peak %.0f MiB), second %ss (cpu %ss, load %ss, peak %.0f MiB): %sx, cpu %sx, load %sx; index %.1f MiB beside %.1f MiB; report %s\n' \
    "" "$w1" "$c1" "$l1" "$(awk -v k="$rss1" 'BEGIN { print k / 1024 }')" "$w2" "$c2" "$l2" \
    "$(awk -v k="$rss2" 'BEGIN { print k / 1024 }')" \
    "$(awk -v a="$w2" -v b="$w1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
    "$(awk -v a="$c2" -v b="$c1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
    "$(awk -v a="$l2" -v b="$l1" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')" \
    "$(stat -c %s "$snap.mrx" | awk '{ print $1 / 1048576 }')" \
    "$(stat -c %s "$snap" | awk '{ print $1 / 1048576 }')" "$same"
}

echo "== maproot analyze of big heaps (targets: 10M objects <= 5 s, 100M <= 60 s,"
echo "   <= 80 bytes of peak RSS per object, <= 3x zcat, exponent <= 1.05)"
echo "   $(nproc) processors, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
header() { printf '  %-8s %11s %11s %8s %8s %8s %8s %8s %8s %9s %5s %6s %7s %7s  %s\n' shape objects \
  edges "MiB" zcat zcat-1 analyze cpu sys "peak MiB" "B/obj" target ratio "ratio-1" verdict; }
header
# series SHAPE SIZES...: a row per size that fits, then the exponent of
# analysis time in objects + edges between the first and the last
series() {
  local shape=$1 first="" last="" n
  shift
  index_rows=yes
  for n in "$@"; do
    if ! fits "$n"; then
      printf '  %-8s %s objects: left out (not enough available memory or disk)\n' "$shape" "$n"
      continue
    fi
    row "$shape" "$n"
    # the shapes' index line at their first size only (the time it takes)
    [ "$shape" = maps ] || index_rows=no
    [ -z "$first" ] && first=$(cat "$tmp/last")
    last=$(cat "$tmp/last")
  done
  [ -n "$first" ] && [ "$first" != "$last" ] || return 0
  local label="$shape "
  [ "$shape" = maps ] && label=""
  awk -v a="$first" -v b="$last" -v s="$label" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    if (x[2] <= 0 || x[3] <= 0 || y[1] == x[1]) exit
    e = log(y[2] / x[2]) / log(y[1] / x[1])
    c = log(y[3] / x[3]) / log(y[1] / x[1])
    printf "  exponent of analysis time in objects + edges, %s%d to %d: %s%.2f wall, %s%.2f cpu", s, x[1], y[1], y[4], e, y[4], c
    printf " (target <= 1.05, judged on cpu): %s\n", (c <= 1.05 && y[4] == "" ? "ok" : "MISSED") }'
}

# shellcheck disable=SC2086 # the sizes are words
series maps $sizes
for s in $shapes; do
  # shellcheck disable=SC2086
  series "$s" $shape_sizes
done
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
