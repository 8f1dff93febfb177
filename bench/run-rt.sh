#!/usr/bin/env bash
# Runtime benchmark: libmaprt against the Go runtime, same workloads side by
# side (bench/rt_bench.c and bench/peers/rt_bench.go; see the top of
# rt_bench.c for what each workload does).
#
# Prints one table: workload, maproot and Go time per operation (median of
# BENCH_RUNS runs, default 7), the ratio maproot/Go, the target ratio (1.2 for
# map operations, 1.0 for the full GC and allocation) and OK/MISS, judged on
# the medians. A last column gives the ratio of the fastest runs, which a
# noisy neighbour on this shared machine disturbs less than the medians.
# The C and Go programs alternate run by run so that a noisy neighbour
# hurts both sides alike. Environment: BENCH_BUILD (default build-bench),
# BENCH_RUNS, and GOMAXPROCS/GOGC, passed on to the Go side as usual.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$root"

bdir=${BENCH_BUILD:-$root/build-bench}
runs=${BENCH_RUNS:-7}

echo "== runtime: libmaprt vs Go (bench/run-rt.sh)"

# Build both sides: the C one with meson (release), the Go one offline with
# its caches inside the build directory.
if [ ! -f "$bdir/build.ninja" ]; then
  meson setup "$bdir" "$root" -Dbuildtype=release >/dev/null
fi
ninja -C "$bdir" bench/rt_bench >"$bdir/rt_bench.log" 2>&1 ||
  { cat "$bdir/rt_bench.log" >&2; echo "run-rt: build of rt_bench failed" >&2; exit 1; }
mkdir -p "$bdir/peers" "$bdir/go-cache" "$bdir/go-path"
GOCACHE="$bdir/go-cache" GOPATH="$bdir/go-path" GO111MODULE=off GOPROXY=off GOFLAGS= \
  go build -o "$bdir/peers/rt_bench_go" bench/peers/rt_bench.go ||
  { echo "run-rt: go build of bench/peers/rt_bench.go failed" >&2; exit 1; }

out_c=$bdir/rt_bench.c.out
out_go=$bdir/rt_bench.go.out
: >"$out_c"
: >"$out_go"

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "machine: nproc=$(nproc) ($cpu), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "GOMAXPROCS=${GOMAXPROCS:-unset (Go uses nproc)}  GOGC=${GOGC:-unset (100)}  MR_GOGC=${MR_GOGC:-unset (100)}  runs=$runs (median)"

# Rounds: each round runs every map and alloc group once per side, in
# alternating order, so that load on this shared machine falls on both sides
# alike; the median over the rounds is reported. The gc group builds a large
# heap first, so it runs once per side with all its repetitions inside.
run_c() { "$bdir/bench/rt_bench" "$@" >>"$out_c"; }
run_go() { "$bdir/peers/rt_bench_go" "$@" >>"$out_go"; }
start=$(date +%s)
for ((r = 1; r <= runs; r++)); do
  for g in int str alloc; do
    if ((r % 2)); then run_c -runs 1 "$g"; run_go -runs 1 "$g"
    else run_go -runs 1 "$g"; run_c -runs 1 "$g"; fi
  done
done
run_c -runs "$runs" gc
run_go -runs "$runs" gc
# Go marks on every P in parallel, libmaprt on the collecting thread only: a
# second row compares with Go held to one P (GOMAXPROCS=1), against the same
# maproot figures.
if [ -z "${GOMAXPROCS:-}" ] || [ "$GOMAXPROCS" != 1 ]; then
  sed -n 's/^RESULT gc_full_5M /RESULT gc_full_5M_go1proc /p' "$out_c" >>"$out_c"
  GOMAXPROCS=1 "$bdir/peers/rt_bench_go" -runs "$runs" gc |
    sed -n 's/^RESULT gc_full_5M /RESULT gc_full_5M_go1proc /p' >>"$out_go"
fi
# Context lines, the first of each kind per side (they repeat every round).
grep -h '^INFO' "$out_c" "$out_go" | sed -E 's/ runs=[0-9]+ / /' |
  awk '!seen[$2 " " $3]++ { sub(/^INFO /, "  "); print }'

# The table: medians per workload and side, in the C side's order.
awk '
  function human(ns) {
    if (ns >= 1e6) return sprintf("%.1f ms", ns / 1e6)
    if (ns >= 1e4) return sprintf("%.1f us", ns / 1e3)
    return sprintf("%.1f ns", ns)
  }
  function median(side, w,    k, j, n, v, x) {
    n = cnt[side, w]
    for (k = 1; k <= n; k++) v[k] = val[side, w, k]
    for (k = 2; k <= n; k++) {
      x = v[k]
      for (j = k - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
      v[j + 1] = x
    }
    lo[side, w] = v[1]
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  FNR == 1 { side = (side == "" ? "go" : "c") }
  $1 == "RESULT" {
    if (side == "c" && !((side, $2) in cnt)) order[++n] = $2
    val[side, $2, ++cnt[side, $2]] = $4
  }
  END {
    printf "%-22s %12s %12s %11s %7s  %-7s %s\n", "workload", "maproot", "Go", "maproot/Go", "target", "result", "best-run ratio"
    ok = 0
    for (i = 1; i <= n; i++) {
      w = order[i]
      target = (w ~ /^map_/) ? 1.2 : 1.0
      mc = median("c", w)
      if (!(("go", w) in cnt)) {
        printf "%-22s %12s %12s %11s %7.1f  %s\n", w, human(mc), "-", "-", target, "MISSING"
        continue
      }
      mg = median("go", w)
      ratio = mc / mg
      best = lo["c", w] / lo["go", w]
      if (w ~ /_go1proc$/) {
        printf "%-22s %12s %12s %11.2f %7s  %-7s %.2f\n", w, human(mc), human(mg), ratio, "-", "info", best
        continue
      }
      judged++
      verdict = (ratio <= target) ? "OK" : "MISS"
      if (verdict == "OK") ok++
      printf "%-22s %12s %12s %11.2f %7.1f  %-7s %.2f\n", w, human(mc), human(mg), ratio, target, verdict, best
    }
    printf "%d of %d workloads within target (time per operation, median; lower ratio is better)\n", ok, judged
  }
' "$out_go" "$out_c"
echo "map_*: time per operation over 1M keys (iterate: per entry); gc_full_5M: one full"
echo "mr_gc() / runtime.GC() of the same 5M-object live heap; alloc_32B: per 32-byte object,"
echo "collections included. Both mark on every CPU (Go: every P; libmaprt: MR_GC_THREADS, default the CPUs); _go1proc is Go on one P."
echo "bench time: $(($(date +%s) - start)) s"
