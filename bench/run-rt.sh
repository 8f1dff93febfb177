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
# THE METHOD. The host this runs on switches between speed regimes for
# seconds at a time (one unchanged process has been seen at 65-72 ns and at
# 93-100 ns per operation), so one run per process, or a median of a few,
# lands anywhere in that band. Each row is therefore measured in pairs: a
# pair is one maproot process and one peer process, started one after the
# other (maproot first in odd pairs, the peer first in even ones, so that
# neither side always runs first); each process runs the workload
# BENCH_REPEATS times (default 5) after an untimed warm-up, and its figure
# is the fastest of those repeats (the one the host disturbed least). The
# table gives, per row and side, the median of the processes' figures, and
# as the ratio the median over the pairs of each pair's ratio maproot/peer,
# which a regime lasting one pair moves no further than one pair; OK/MISS
# is judged on that ratio against the target. Then the ratio of each side's
# fastest repeat over all pairs ("best") and each side's fastest and
# slowest repeat, so that a reader sees how far the noise reaches.
# BENCH_RUNS (default 7) is the number of pairs of the map, allocation, blocking and
# list rows; the collections of the large map heaps (gc, flat) take
# (BENCH_RUNS + 1) / 2 pairs. Targets: 1.0
# for map operations, allocation, live heap bytes and the stop-the-world
# pause (against Go's whole runtime.GC()); 0.8 for a full collection against
# Go's, 0.35 against Boehm's. Environment: BENCH_BUILD (default
# build-bench), BENCH_RUNS, BENCH_REPEATS, and GOMAXPROCS/GOGC, passed on
# to the Go side as usual.
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$root"

bdir=${BENCH_BUILD:-$root/build-bench}
runs=${BENCH_RUNS:-7}
reps=${BENCH_REPEATS:-5}
case "$runs$reps" in
  *[!0-9]* | '') echo "run-rt: BENCH_RUNS and BENCH_REPEATS must be counts" >&2; exit 2 ;;
esac
if ((runs < 1 || reps < 1)); then
  echo "run-rt: BENCH_RUNS and BENCH_REPEATS must be at least 1" >&2
  exit 2
fi

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
echo "GOMAXPROCS=${GOMAXPROCS:-unset (Go uses nproc)}  GOGC=${GOGC:-unset (100)}  MR_GOGC=${MR_GOGC:-unset (100)}"
echo "method: pairs of processes (maproot, peer), order alternated pair by pair; each process"
echo "repeats a workload $reps times after a warm-up and gives its fastest repeat; per row:"
echo "each side's median over the pairs, and ratio = median of the per-pair ratios"
echo "pairs: $runs (maps, alloc, blocking, list), $(((runs + 1) / 2)) (gc, flat)"

# One pair: the maproot side and the peer side, in the order of pair r.
run_c() { "$bdir/bench/rt_bench" "$@" >>"$out_c"; }
run_go() { "$bdir/peers/rt_bench_go" "$@" >>"$out_go"; }
mix_c() { "$bdir/bench/rt_mix" "$@" >>"$out_c"; }
mix_go() { "$bdir/peers/rt_mix_go" "$@" >>"$out_go"; }
pair() { # pair R C-COMMAND GO-COMMAND ARGS...
  local r=$1 c=$2 go=$3
  shift 3
  if ((r % 2)); then "$c" "$@"; "$go" "$@"
  else "$go" "$@"; "$c" "$@"; fi
}
start=$(date +%s)
for ((r = 1; r <= runs; r++)); do
  for g in int str alloc block; do pair "$r" run_c run_go -runs "$reps" "$g"; done
  for g in sizes strlen; do pair "$r" mix_c mix_go -runs "$reps" "$g"; done
done
# The collections build a large heap first, so they take fewer pairs.
gc_pairs=$(((runs + 1) / 2))
for ((r = 1; r <= gc_pairs; r++)); do
  for g in gc flat; do pair "$r" run_c run_go -runs "$reps" "$g"; done
done
# The linked-list heap: maproot, Go and Boehm take turns, a round at a time
# (each builds its list, settles it with one collection, then times
# list_reps collections), so that a busy neighbour falls on all three alike
# rather than on whichever ran last.
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
# maproot figures, one Go process for each maproot process of the gc row.
if [ -z "${GOMAXPROCS:-}" ] || [ "$GOMAXPROCS" != 1 ]; then
  sed -n 's/^RESULT gc_full_5M /RESULT gc_full_5M_go1proc /p' "$out_c" >>"$out_c"
  for ((r = 1; r <= gc_pairs; r++)); do
    GOMAXPROCS=1 "$bdir/peers/rt_bench_go" -runs "$reps" gc |
      sed -n 's/^RESULT gc_full_5M /RESULT gc_full_5M_go1proc /p' >>"$out_go"
  done
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

# The table. A RESULT line is one process: its median, then each repeat,
# ascending, so its fastest repeat is its first repeat. The k-th process of
# a row on one side is paired with the k-th on the other (the pairs above
# append them in the same order on both sides).
awk '
  function human(ns, unit) {
    if (unit == "bytes") return sprintf("%.1fMiB", ns / 1048576)
    if (ns >= 1e6) return sprintf("%.1fms", ns / 1e6)
    if (ns >= 1e4) return sprintf("%.1fus", ns / 1e3)
    return sprintf("%.1fns", ns)
  }
  function median(a, n,    k, j, x) { # sorts a[1..n]
    for (k = 2; k <= n; k++) {
      x = a[k]
      for (j = k - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]
      a[j + 1] = x
    }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function side_median(side, w,    k, v) {
    for (k = 1; k <= cnt[side, w]; k++) v[k] = fig[side, w, k]
    return median(v, cnt[side, w])
  }
  FNR == 1 { side = (side == "" ? "go" : "c") }
  $1 == "RESULT" {
    if (side == "c" && !((side, $2) in cnt)) order[++n] = $2
    first = NF >= 5 ? 5 : 4
    fig[side, $2, ++cnt[side, $2]] = $first
    for (k = first; k <= NF; k++) {
      if (!((side, $2) in lo) || $k < lo[side, $2]) lo[side, $2] = $k
      if (!((side, $2) in hi) || $k > hi[side, $2]) hi[side, $2] = $k
    }
    unit[$2] = $3
  }
  END {
    printf "%-22s %9s %9s %6s %6s  %-7s %5s %5s  %-17s %-17s\n", "workload", "maproot", "Go", "ratio", "target", "result", "pairs", "best", "maproot min-max", "Go min-max"
    ok = 0
    for (i = 1; i <= n; i++) {
      w = order[i]
      target = (w ~ /_boehm$/) ? 0.35 : (w ~ /^gc_full_/) ? 0.8 : 1.0
      mc = side_median("c", w)
      if (!(("go", w) in cnt)) {
        printf "%-22s %9s %9s %6s %6.1f  %s\n", w, human(mc, unit[w]), "-", "-", target, "MISSING"
        continue
      }
      mg = side_median("go", w)
      np = cnt["c", w] < cnt["go", w] ? cnt["c", w] : cnt["go", w]
      delete pr
      for (k = 1; k <= np; k++) pr[k] = fig["c", w, k] / fig["go", w, k]
      ratio = median(pr, np)
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
      if (cnt["c", w] != cnt["go", w]) verdict = verdict "?" # unpaired processes
      printf "%-22s %9s %9s %6.2f %6s  %-7s %5d %5.2f  %-17s %-17s\n", w, human(mc, unit[w]), human(mg, unit[w]), ratio, tgt, verdict, np, best, human(lo["c", w], unit[w]) "-" human(hi["c", w], unit[w]), human(lo["go", w], unit[w]) "-" human(hi["go", w], unit[w])
    }
    printf "%d of %d workloads within target (ratio: median of per-pair ratios; lower is better)\n", ok, judged
  }
' "$out_go" "$out_c"
echo "map_*: time per operation over 1M keys (iterate: per entry); mix_*: per operation of"
echo "the second workload (see bench/rt_mix.c); gc_full_*: one full mr_gc() / runtime.GC()"
echo "(sweep included) of the same 5M-object live heap (maps, or a linked list); gc_pause_*:"
echo "libmaprt's stop-the-world pause of that collection against Go's whole runtime.GC();"
echo "list_live_bytes: live heap of the list; alloc_32B: per 32-byte object, collections"
echo "included; blocking_getpid: a getpid system call bracketed by mr_blocking_enter/exit,"
echo "against Go's syscall.Syscall (entersyscall/exitsyscall around the same call). Both"
echo "mark on every CPU (Go: every P; libmaprt: MR_GC_THREADS, default the CPUs); _go1proc"
echo "is Go on one P; _boehm is Boehm-Demers-Weiser's libgc; gc_cpu_*: the CPU time of those"
echo "collections (every thread), the figure a busy machine moves least."
echo "bench time: $(($(date +%s) - start)) s"
