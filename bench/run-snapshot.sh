#!/usr/bin/env bash
# bench/run-snapshot.sh -- the cost of a root snapshot (issue 4 targets):
# a heap of 5M small objects linked from maps, one mrc_write_snapshot.
# Prints the total work per object (forked writer's CPU + the program's
# pause; target <= 150 ns), bytes per object on disk (target <= 24) and the
# program's pause (target < 50 ms), for the default (fork) and the
# stopped-world fallback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" -Dbuildtype=release >/dev/null
ninja -C "$build" -j2 bench/snapshot_bench >/dev/null
n=${SNAPSHOT_BENCH_OBJECTS:-5000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== root snapshot of $n small objects in maps (targets: <= 150 ns/object of work,"
echo "   <= 24 bytes/object on disk, pause < 50 ms)"
for mode in fork stopped; do
  fork=1; [ $mode = stopped ] && fork=0
  line=$(MAPROOT_SNAPSHOT_FORK=$fork "$build/bench/snapshot_bench" "$tmp/s.gcstack.gz" "$n")
  echo "  $mode: $line"
done
echo "  read back: $( { /usr/bin/time -f '%e s, %M KiB peak' "$build/src/cli/maproot" analyze \
  "$tmp/s.gcstack.gz" >/dev/null; } 2>&1 )"
