#!/usr/bin/env bash
# Heap profiling overhead: bench/profile_bench (an allocation-heavy program
# linking libmaproot; see the top of profile_bench.c) with sampling at the
# default rate (MAPROOT_PROFILE_RATE unset: 524288) against sampling off
# (MAPROOT_PROFILE_RATE=0), in the same run, and at rate 1 (every allocation
# sampled) for information.
#
# The off and default runs alternate, BENCH_RUNS rounds (default 11), so
# that load on this shared machine falls on both alike; medians are compared.
# Two figures per run: the process's CPU time per allocation (the program is
# single-threaded, so it is its wall time minus the time other processes took
# the CPU from it) and the wall time. Judged: the median over the rounds of
# the CPU-time ratio default/off of the two runs of each round.
# Target: the default rate at most 3% slower than off. Rate 1 runs
# BENCH_RUNS_RATE1 times (default 3). Environment: BENCH_BUILD (default
# build-bench).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$root"

bdir=${BENCH_BUILD:-$root/build-bench}
runs=${BENCH_RUNS:-11}
runs1=${BENCH_RUNS_RATE1:-3}

echo "== heap profiling overhead: sampling at the default rate vs off (bench/run-profile-overhead.sh)"
if [ ! -f "$bdir/build.ninja" ]; then
  meson setup "$bdir" "$root" -Dbuildtype=release >/dev/null
fi
ninja -C "$bdir" bench/profile_bench >"$bdir/profile_bench.log" 2>&1 ||
  { cat "$bdir/profile_bench.log" >&2; echo "run-profile-overhead: build failed" >&2; exit 1; }
exe=$bdir/bench/profile_bench
out=$bdir/profile_bench.out
: >"$out"

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: nproc=$(nproc) ($cpu), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs=$runs alternating (rate 1: $runs1), median; MR_GOGC=${MR_GOGC:-unset (100)}"

# one LABEL [env...]: one run, its RESULT tagged with LABEL
one() {
  local label=$1
  shift
  env -u MAPROOT_PROFILE -u MAPROOT_PROFILE_EVERY -u MAPROOT_PROFILE_RATE "$@" "$exe" |
    sed -n "s/^RESULT profile_alloc_\([a-z]*\) ns\/alloc \(.*\)/$label \1 \2 $round/p; s/^INFO /INFO $label /p" >>"$out"
}
start=$(date +%s)
round=0
for ((r = 1; r <= runs; r++)); do
  round=$r
  if ((r % 2)); then one off MAPROOT_PROFILE_RATE=0; one default
  else one default; one off MAPROOT_PROFILE_RATE=0; fi
done
for ((r = 1; r <= runs1; r++)); do round=$r; one rate1 MAPROOT_PROFILE_RATE=1; done
# in one process: pairs of rounds off/default, alternating (the first pair
# is a warm-up and is dropped)
env -u MAPROOT_PROFILE -u MAPROOT_PROFILE_EVERY -u MAPROOT_PROFILE_RATE "$exe" -alternate $((2 * runs + 1)) |
  awk 'NR > 1 && $1 == "PAIR" { print "inproc cpu", $3 / $2, NR }' >>"$out"

grep '^INFO' "$out" | awk '!seen[$2]++ { $1 = " "; print }'
awk '
  function median(k,    i, j, n, v, x) {
    n = cnt[k]
    for (i = 1; i <= n; i++) v[i] = val[k, i]
    for (i = 2; i <= n; i++) {
      x = v[i]
      for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
      v[j + 1] = x
    }
    best[k] = v[1]
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  $1 == "INFO" && $2 == "off" { for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }; if (f["allocations"] > 0) avg = f["bytes"] / f["allocations"] }
  $1 != "INFO" { k = $1 SUBSEP $2; val[k, ++cnt[k]] = $3; byround[$1, $2, $4] = $3 }
  END {
    if (!cnt["off", "cpu"] || !cnt["default", "cpu"]) { print "run-profile-overhead: no results"; exit 1 }
    offc = median("off" SUBSEP "cpu"); offw = median("off" SUBSEP "wall")
    defc = median("default" SUBSEP "cpu"); defw = median("default" SUBSEP "wall")
    bc = best["default", "cpu"] / best["off", "cpu"]
    # the judged figure: the median over rounds of default/off, each pair run
    # back to back, so slow phases of the machine cancel out
    for (i = 1; ("off", "cpu", i) in byround; i++)
      if (("default", "cpu", i) in byround) val["pair", ++cnt["pair"]] = byround["default", "cpu", i] / byround["off", "cpu", i]
    pr = median("pair")
    ip = cnt["inproc", "cpu"] ? median("inproc" SUBSEP "cpu") : 0
    printf "%-27s %9s %8s %9s %8s %7s  %s\n", "configuration", "cpu ns", "vs off", "wall ns", "vs off", "target", "result"
    printf "%-27s %9.1f %8.3f %9.1f %8.3f %7s\n", "profiling off (rate 0)", offc, 1, offw, 1, "-"
    r = defc / offc
    printf "%-27s %9.1f %8.3f %9.1f %8.3f %7.2f  %s (median of paired ratios %.3f; best runs %.3f)\n", "default rate (524288)", defc, r, defw, defw / offw, 1.03, (pr <= 1.03 ? "OK" : "MISS"), pr, bc
    if (cnt["rate1", "cpu"]) {
      r1c = median("rate1" SUBSEP "cpu"); r1w = median("rate1" SUBSEP "wall")
      printf "%-27s %9.1f %8.3f %9.1f %8.3f %7s  info\n", "rate 1 (every allocation)", r1c, r1c / offc, r1w, r1w / offw, "-"
    }
    if (ip) printf "in one process, off/default alternating: median ratio %.3f over %d pairs  %s\n", ip, cnt["inproc", "cpu"], (ip <= 1.03 ? "OK" : "MISS")
    if (cnt["rate1", "cpu"] && avg > 0) {
      # rate 1 samples every allocation: its extra cost is the cost of one
      # sample; the default rate takes avg/524288 samples per allocation
      per = r1c - offc
      printf "cost of one sample %.0f ns; expected at the default rate: %.2f%% (%.5f samples per allocation of %.0f bytes on average)\n", per, 100 * per * (avg / 524288) / offc, avg / 524288, avg
    }
  }
' "$out"
echo "ns per allocation of the workload (collections included), median of the runs; lower is better"
echo "bench time: $(($(date +%s) - start)) s"
