#!/usr/bin/env bash
# bench/run-trace.sh -- live attach (maproot trace, the attach agent) against
# its targets: the dormant agent costs nothing measurable (instructions,
# callgrind: <= 0.5%); attached at the default interval, an allocation
# benchmark runs within 5% of not attached; attach to first view <= 1 s on
# a 1M-object heap; the agent adds <= 1 ms per interval to the program's
# pauses; 1000 attach/detach cycles leave nothing behind. See the top of
# bench/trace_bench.py for how each is measured. Built with buildtype=release
# in BENCH_BUILD; TRACE_BENCH_PAIRS (default 5) alternating runs per figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" -Dbuildtype=release >/dev/null
ninja -C "$build" -j2 bench/profile_bench tests/trace_target src/cli/maproot >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== live attach: maproot trace and the attach agent (bench/run-trace.sh)"
echo "machine: nproc=$(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
python3 "$root/bench/trace_bench.py" "$build/src/cli/maproot" "$build/bench/profile_bench" \
  "$build/tests/trace_target" "$root/tests" "$work" "$@"
echo "bench time: $(($(date +%s) - start)) s"
