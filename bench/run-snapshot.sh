#!/usr/bin/env bash
# bench/run-snapshot.sh -- the cost of a root snapshot against its targets
# targets: a heap of 5M small objects linked from maps, one
# mrc_write_snapshot, repeated SNAPSHOT_BENCH_RUNS times (default 5); prints
# the medians of
#   work per object  the forked writer's CPU time (user + system, from
#                    wait4) plus the program's pause, per live object
#                    (target <= 150 ns)
#   bytes per object the file's size per live object (target <= 24)
#   pause            the program's own pause for the snapshot (target < 50 ms)
# each with its target and OK or MISS, then one stopped-world run (the
# fallback when fork is refused: the whole write is the pause) and the time
# to read the file back. Built with buildtype=release in BENCH_BUILD.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" -Dbuildtype=release >/dev/null
ninja -C "$build" -j2 bench/snapshot_bench src/cli/maproot >/dev/null
n=${SNAPSHOT_BENCH_OBJECTS:-5000000}
runs=${SNAPSHOT_BENCH_RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# field NAME LINE: the value of NAME=VALUE in a snapshot_bench output line
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# verdict VALUE OP LIMIT: OK when VALUE OP LIMIT holds, else MISS
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {ok = op == "<" ? v < l : v <= l; print ok ? "OK" : "MISS"}'; }

echo "== root snapshot of $n small objects in maps (forked writer, median of $runs runs)"
: >"$tmp/lines"
for _ in $(seq "$runs"); do
  MAPROOT_SNAPSHOT_FORK=1 "$build/bench/snapshot_bench" "$tmp/s.gcstack.gz" "$n" >>"$tmp/lines"
done
work=$(while read -r l; do field work_ns_per_object "$l"; done <"$tmp/lines" | median)
bytes=$(while read -r l; do field bytes_per_object "$l"; done <"$tmp/lines" | median)
pause=$(while read -r l; do field pause_ms "$l"; done <"$tmp/lines" | median)
objects=$(field objects "$(head -1 "$tmp/lines")")
all_work=$(while read -r l; do field work_ns_per_object "$l"; done <"$tmp/lines" | tr '\n' ' ')
printf '  %-18s %9.1f ns   target <= 150 ns  %s   (runs: %s)\n' "work per object" "$work" \
  "$(verdict "$work" '<=' 150)" "${all_work% }"
printf '  %-18s %9.2f B    target <= 24 B    %s\n' "bytes per object" "$bytes" "$(verdict "$bytes" '<=' 24)"
printf '  %-18s %9.2f ms   target < 50 ms    %s\n' "program pause" "$pause" "$(verdict "$pause" '<' 50)"
echo "  ($objects live objects; gzip with stored blocks, MAPROOT_SNAPSHOT_LEVEL=${MAPROOT_SNAPSHOT_LEVEL:-0})"
gunzip -t "$tmp/s.gcstack.gz" || echo "  gunzip refuses the snapshot"
line=$(MAPROOT_SNAPSHOT_FORK=0 "$build/bench/snapshot_bench" "$tmp/s.gcstack.gz" "$n")
printf '  stopped-world fallback: %.1f ns/object of work, pause %.0f ms (the whole write)\n' \
  "$(field work_ns_per_object "$line")" "$(field pause_ms "$line")"
echo "  read back: $( { /usr/bin/time -f '%e s, %M KiB peak' "$build/src/cli/maproot" analyze \
  "$tmp/s.gcstack.gz" >/dev/null; } 2>&1 )"
