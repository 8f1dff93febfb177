#!/usr/bin/env bash
# bench/run-leakcheck.sh -- the cost of a leak check (mrc_leakcheck_begin +
# mrc_leakcheck_end around an empty block) against the full collection it
# is built on, measured in the same run. The contract: a check is two full
# collections plus two censuses, and a census costs in proportion to the
# live maps (a walk of the heap's objects to find the map headers, then a
# walk of every map and of two levels of objects under its entries).
# Prints, with medians of LEAKCHECK_BENCH_RUNS runs (default 7) per heap:
#   collections per check  target: 2
#   the check, and one census, in full collections of the same heap
#   census per map entry   ns (the census divided by the live map entries)
#   2x map entries         the census's growth; target <= x2.3 (linear)
#   2x other objects       the census's growth when only objects no map
#                          holds double (only the object walk grows)
# Built with buildtype=release in BENCH_BUILD.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD:-$root/build-bench}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" -Dbuildtype=release >/dev/null
ninja -C "$build" -j2 bench/leakcheck_bench >/dev/null
runs=${LEAKCHECK_BENCH_RUNS:-7}
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {ok = op == "<" ? v < l : v <= l; print ok ? "OK" : "MISS"}'; }

maps=100 entries=5000 other=1000000
base=$("$build/bench/leakcheck_bench" $maps $entries $other "$runs")
more=$("$build/bench/leakcheck_bench" $maps $((entries * 2)) $other "$runs")
wide=$("$build/bench/leakcheck_bench" $maps $entries $((other * 2)) "$runs")
gc=$(field gc_ms "$base")
check=$(field check_ms "$base")
census=$(field census_ms "$base")
echo "== leak check: $((maps * entries)) map entries in $maps maps, $other other objects (median of $runs runs)"
cpc=$(field collections_per_check "$base")
grow=$(ratio "$(field census_ms "$more")" "$census")
printf '  %-24s %9s       target 2       %s\n' "collections per check" "$cpc" \
  "$( [ "$cpc" = 2 ] && echo OK || echo MISS)"
printf '  %-24s %9.2f ms\n' "full collection" "$gc"
printf '  %-24s %9.2f ms = %s collections (2 collections + 2 censuses)\n' "check (begin + end)" \
  "$check" "$(ratio "$check" "$gc")"
printf '  %-24s %9.2f ms = %s collections\n' "one census" "$census" "$(ratio "$census" "$gc")"
printf '  %-24s %9.2f ns\n' "census per map entry" "$(field census_ns_per_entry "$base")"
printf '  %-24s %9s       target <= x2.3 %s (census %.2f -> %.2f ms)\n' "2x map entries" "x$grow" \
  "$(verdict "$grow" '<=' 2.3)" "$census" "$(field census_ms "$more")"
printf '  %-24s %9s       (census %.2f -> %.2f ms: only the object walk grows)\n' "2x other objects" \
  "x$(ratio "$(field census_ms "$wide")" "$census")" "$census" "$(field census_ms "$wide")"
