#!/usr/bin/env bash
# Runtime benchmark: libmaprt against the Go runtime, two workloads side by
# side -- the project's own (bench/rt_bench.c, bench/peers/rt_bench.go) and a
# second one unlike it (bench/rt_mix.c, bench/peers/rt_mix.go: map sizes from
# 8 to 10M entries, string keys of 5 to 72 bytes looked up through other
# string objects, hit/miss mixes, a 5M-node linked-list heap), full
# collections of a heap that is one big pointer-free map (10M entries, and one
# at the load limit with many overflow buckets) -- and
# Boehm's collector (bench/peers/gc_boehm.c) on the linked-list heap: the
# same nodes built the same way, its marker threads started (libgc starts
# them only with a program's first thread), one settling collection, then
# timed full collections (GC_gcollect, which sweeps and marks the whole heap
# as mr_gc() does). Both list programs also print the collections' CPU time
# (INFO), which a busy neighbour moves far less than the wall time.
#
# Prints one table: workload, maproot and peer figure (median of BENCH_RUNS
# runs, default 7), the ratio maproot/peer, the target ratio and OK/MISS,
# judged on the medians; then the ratio of the fastest runs ("best", which a
# noisy neighbour on a shared machine disturbs less) and each side's
# fastest and slowest run, so that a reader sees how far the noise reaches.
# Every program runs each timed workload once untimed first (a warm-up, so
# that neither side's figures carry the first touch of its heap's pages). Targets: 1.0
# for map operations, allocation, live heap bytes and the stop-the-world
# pause (against Go's whole runtime.GC()); 0.8 for a full collection against
# Go's, 0.35 against Boehm's. The C, Go and Boehm programs alternate run by
# run so that a noisy neighbour hurts every side alike. Environment: BENCH_BUILD
# (default build-bench), BENCH_RUNS, and GOMAXPROCS/GOGC, passed on to the
# Go side as usual.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$root"

bdir=${BENCH_BUILD:-$root/build-bench}
runs=${BENCH_RUNS:-7}

echo "== runtime: libmaprt vs Go (bench/run-rt.sh)"

# Build every side: the C ones with meson (release), the Go ones offline
# with their caches inside the build directory.
if [ ! -f "$bdir/build.ninja" ]; then
  meson setup "$bdir" "$root" -Dbuildtype=release >/dev/null
fi
targets="bench/rt_bench bench/rt_mix"
have_boehm=0
if pkg-config --exists bdw-gc; then targets="$targets bench/gc_boehm"; have_boehm=1; fi
# shellcheck disable=SC2086
ninja -C "$bdir" $targets >"$bdir/rt_bench.log" 2>&1 ||
  { cat "$bdir/rt_bench.log" >&2; echo "run-rt: build of the C benchmarks failed" >&2; exit 1; }
mkdir -p "$bdir/peers" "$bdir/go-cache" "$bdir/go-path"
for peer in rt_bench rt_mix; do
  GOCACHE="$bdir/go-cache" GOPATH="$bdir/go-path" GO111MODULE=off GOPROXY=off GOFLAGS= \
    go build -o "$bdir/peers/${peer}_go" "bench/peers/$peer.go" bench/peers/common.go ||
    { echo "run-rt: go build of bench/peers/$peer.go failed" >&2; exit 1; }
done

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
mix_c() { "$bdir/bench/rt_mix" "$@" >>"$out_c"; }
mix_go() { "$bdir/peers/rt_mix_go" "$@" >>"$out_go"; }
start=$(date +%s)
for ((r = 1; r <= runs; r++)); do
  for g in int str alloc; do
    if ((r % 2)); then run_c -runs 1 "$g"; run_go -runs 1 "$g"
    else run_go -runs 1 "$g"; run_c -runs 1 "$g"; fi
  done
  for g in sizes strlen; do
    if ((r % 2)); then mix_c -runs 1 "$g"; mix_go -runs 1 "$g"
    else mix_go -runs 1 "$g"; mix_c -runs 1 "$g"; fi
  done
done
# The collections build a large heap first, so each runs in two processes
# per side, the repetitions split between them: C then Go, then Go then C,
# so that neither side always runs first (and touches fresh memory first)
# or always runs under whatever load came later.
half1=$(((runs + 1) / 2))
half2=$((runs - half1))
for g in gc flat; do
  run_c -runs "$half1" "$g"; run_go -runs "$half1" "$g"
  if ((half2)); then run_go -runs "$half2" "$g"; run_c -runs "$half2" "$g"; fi
done
# The linked-list heap: maproot, Go and Boehm take turns, a round at a time
# (each builds its list, settles it with one collection, then times
# list_reps), so that a busy neighbour falls on all three alike rather than
# on whichever ran last; the table gives the median over the rounds.
list_reps=3
boehm_c() {
  "$bdir/bench/gc_boehm" "$@" |
    sed -e 's/^RESULT gc_\(full\|cpu\)_list_5M /RESULT gc_\1_list_5M_boehm /' >>"$out_go"
}
for ((r = 1; r <= runs; r++)); do
  if ((r % 2)); then
    mix_c -runs $list_reps list; mix_go -runs $list_reps list
    if [ $have_boehm = 1 ]; then boehm_c -runs $list_reps list; fi
  else
    if [ $have_boehm = 1 ]; then boehm_c -runs $list_reps list; fi
    mix_go -runs $list_reps list; mix_c -runs $list_reps list
  fi
done
# Go marks on every P in parallel, libmaprt on MR_GC_THREADS threads: a
# second row compares with Go held to one P (GOMAXPROCS=1), against the same
# maproot figures.
if [ -z "${GOMAXPROCS:-}" ] || [ "$GOMAXPROCS" != 1 ]; then
  sed -n 's/^RESULT gc_full_5M /RESULT gc_full_5M_go1proc /p' "$out_c" >>"$out_c"
  GOMAXPROCS=1 "$bdir/peers/rt_bench_go" -runs "$runs" gc |
    sed -n 's/^RESULT gc_full_5M /RESULT gc_full_5M_go1proc /p' >>"$out_go"
fi
# Boehm's collector on the linked-list heap (run in the rounds above): its
# row compares the same maproot figures with Boehm's full collections; an
# info row compares the collections' CPU time (every thread of each
# process), which only the two C collectors report.
if [ $have_boehm = 1 ]; then
  sed -n 's/^RESULT gc_full_list_5M /RESULT gc_full_list_5M_boehm /p' "$out_c" >>"$out_c"
  sed -i 's/^RESULT gc_cpu_list_5M /RESULT gc_cpu_list_5M_boehm /' "$out_c"
else
  sed -i '/^RESULT gc_cpu_list_5M /d' "$out_c"
fi
# Context lines, the first of each kind per side (they repeat every round).
grep -h '^INFO' "$out_c" "$out_go" | sed -E 's/ runs=[0-9]+ / /' |
  awk '!seen[$2 " " $3 " " $4]++ { sub(/^INFO /, "  "); print }'

# The table: per workload and side, the median over every run of every
# process (a RESULT line gives its median, then each run's figure), in the
# C side's order, and the spread: the fastest and slowest run of each side.
awk '
  function human(ns, unit) {
    if (unit == "bytes") return sprintf("%.1fMiB", ns / 1048576)
    if (ns >= 1e6) return sprintf("%.1fms", ns / 1e6)
    if (ns >= 1e4) return sprintf("%.1fus", ns / 1e3)
    return sprintf("%.1fns", ns)
  }
  function spread(side, w) {
    return human(lo[side, w], unit[w]) "-" human(hi[side, w], unit[w])
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
    hi[side, w] = v[n]
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  FNR == 1 { side = (side == "" ? "go" : "c") }
  $1 == "RESULT" {
    if (side == "c" && !((side, $2) in cnt)) order[++n] = $2
    if (NF == 4) val[side, $2, ++cnt[side, $2]] = $4
    for (k = 5; k <= NF; k++) val[side, $2, ++cnt[side, $2]] = $k
    unit[$2] = $3
  }
  END {
    printf "%-22s %9s %9s %6s %6s  %-7s %5s  %-17s %-17s\n", "workload", "maproot", "Go", "ratio", "target", "result", "best", "maproot min-max", "Go min-max"
    ok = 0
    for (i = 1; i <= n; i++) {
      w = order[i]
      target = (w ~ /_boehm$/) ? 0.35 : (w ~ /^gc_full_/) ? 0.8 : 1.0
      mc = median("c", w)
      if (!(("go", w) in cnt)) {
        printf "%-22s %9s %9s %6s %6.1f  %s\n", w, human(mc, unit[w]), "-", "-", target, "MISSING"
        continue
      }
      mg = median("go", w)
      ratio = mc / mg
      best = lo["c", w] / lo["go", w]
      if (w ~ /_go1proc$/ || w ~ /^gc_cpu_/) {
        verdict = "info"
        tgt = "-"
      } else {
        judged++
        verdict = (ratio <= target) ? "OK" : "MISS"
        if (verdict == "OK") ok++
        tgt = sprintf("%.2f", target)
      }
      printf "%-22s %9s %9s %6.2f %6s  %-7s %5.2f  %-17s %-17s\n", w, human(mc, unit[w]), human(mg, unit[w]), ratio, tgt, verdict, best, spread("c", w), spread("go", w)
    }
    printf "%d of %d workloads within target (time per operation, median over all runs; lower ratio is better)\n", ok, judged
  }
' "$out_go" "$out_c"
echo "map_*: time per operation over 1M keys (iterate: per entry); mix_*: per operation of"
echo "the second workload (see bench/rt_mix.c); gc_full_*: one full mr_gc() / runtime.GC()"
echo "(sweep included) of the same 5M-object live heap (maps, or a linked list); gc_pause_*:"
echo "libmaprt's stop-the-world pause of that collection against Go's whole runtime.GC();"
echo "list_live_bytes: live heap of the list; alloc_32B: per 32-byte object, collections"
echo "included. Both mark on every CPU (Go: every P; libmaprt: MR_GC_THREADS, default the"
echo "CPUs); _go1proc is Go on one P; _boehm is Boehm-Demers-Weiser's libgc; gc_cpu_*: the"
echo "CPU time of those collections (every thread), the figure a busy machine moves least."
echo "bench time: $(($(date +%s) - start)) s"
