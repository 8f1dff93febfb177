#!/usr/bin/env bash
# tests/test_faults.sh -- every fault, at every point (suite 'faults'):
#   1. the N-th call of write, writev, fsync, rename, linkat, fork or malloc
#      fails (tests/fault_shim.c), for every N a run makes (malloc: spread
#      over its calls), in the CLI's outputs and the collector's writers:
#      the program goes on (the CLI exits 2), one line per failure, every
#      file under a final name is complete (it analyses), no temporary file;
#   2. the program, or its forked snapshot writer, is killed with SIGKILL at
#      a random point, ITERATIONS times: every final file analyses.
# usage: test_faults.sh MAPROOT EXAMPLES_DIR SHIM WORKDIR [ITERATIONS]
set -uo pipefail
maproot=$1 exdir=$2 shim=$3 work=$4 iterations=${5:-100}
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
asan=0
ldd "$maproot" 2>/dev/null | grep libasan >/dev/null && asan=1
nm "$maproot" 2>/dev/null | grep __asan_init >/dev/null && asan=1  # (not -q: with pipefail, an early exit would fail the pipe)
[ $asan = 1 ] && iterations=$((iterations / 10))

MAPROOT_SNAPSHOT=in.gcstack.gz "$exdir/pointer_keys" >/dev/null 2>&1 || fail "no input"

# every final file in DIR analyses; no temporary file is left
check_files() {
  local d=$1 what=$2 f
  ls "$d"/*.tmp* >/dev/null 2>&1 && fail "$what: temporary files left: $(ls "$d"/*.tmp*)"
  for f in "$d"/*.gz "$d"/*.json; do
    [ -e "$f" ] || continue
    case $f in
      *.json) python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null ||
                fail "$what: $(basename "$f") is not whole JSON" ;;
      *) "$maproot" analyze "$f" >/dev/null 2>&1 || fail "$what: $(basename "$f") does not analyse" ;;
    esac
  done
}

# sweep NAME FN STRIDE MAXRUNS EXPECT CMD...: runs CMD with the N-th call of
# FN failing, for N = 1, 1+STRIDE, ... up to the calls a clean run makes.
# EXPECT: cli (exit 0 or 2, at most one line on stderr), cli-stdout (cli,
# and standard output, a regular file, holds the whole JSON report on exit
# 0 and nothing on exit 2) or program (exit 0, every stderr line a
# "maproot:" line).
sweep() {
  local name=$1 fn=$2 stride=$3 maxruns=$4 expect=$5
  shift 5
  local top=$PWD
  local dir
  dir=$(mktemp -d "$top/sweep.XXXXXX")
  cd "$dir" || return
  rm -rf run && mkdir run
  (cd run && MAPROOT_FAULT=$fn:0 MAPROOT_FAULT_COUNT=../count LD_PRELOAD=$shim "$@" >/dev/null 2>&1)
  local total
  total=$(cat count 2>/dev/null || echo 0)
  [ "$total" -gt 0 ] || { cd "$top"; return 0; }
  if [ $((total / stride)) -gt "$maxruns" ]; then stride=$((total / maxruns + 1)); fi
  local n rc
  for ((n = 1; n <= total; n += stride)); do
    rm -rf run && mkdir run
    (cd run && MAPROOT_FAULT=$fn:$n LD_PRELOAD=$shim "$@" >out.txt 2>err.txt)
    rc=$?
    if [ $expect = cli ] || [ $expect = cli-stdout ]; then
      [ $rc = 0 ] || [ $rc = 2 ] || fail "$name $fn:$n: exit $rc"
      [ "$(wc -l <run/err.txt)" -le 1 ] || fail "$name $fn:$n: more than one line: $(cat run/err.txt)"
      [ $rc = 2 ] && ! grep -q "^maproot: " run/err.txt && fail "$name $fn:$n: no message"
      if [ $expect = cli-stdout ] && [ $rc = 2 ] && [ -s run/out.txt ]; then
        fail "$name $fn:$n: exit 2 and $(wc -c <run/out.txt) bytes on standard output"
      elif [ $expect = cli-stdout ] && [ $rc = 0 ] &&
        ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' run/out.txt 2>/dev/null; then
        fail "$name $fn:$n: exit 0 and standard output is not whole JSON"
      fi
    else
      [ $rc = 0 ] || fail "$name $fn:$n: the program exited $rc: $(head -3 run/err.txt)"
      # (out of memory in the forked writer, libdw and the runtime's
      # unwinder may abort the child with a line of their own; the parent
      # still reports it in one line and removes its file)
      [ $expect = program ] && grep -v "^maproot: " run/err.txt | grep -q . &&
        fail "$name $fn:$n: stray output: $(grep -v "^maproot: " run/err.txt | head -3)"
    fi
    sleep 0.02 # a forked writer may still be finishing
    check_files run "$name $fn:$n"
  done
  echo "  $name: $fn failed at each of $(((total + stride - 1) / stride)) of its $total calls"
  cd "$top" || return
  rm -rf "$dir"
}

# Sweeps spend most of their time waiting for programs and their forked
# writers, so two run at once (each in its own directory); a sweep's
# failures are counted in its own subshell and summed from these files.
sweeps_running=0
run_sweep() {
  (fails=0; sweep "$@"; echo $fails >"sweep-fails.$BASHPID") &
  sweeps_running=$((sweeps_running + 1))
  if [ $sweeps_running -ge 2 ]; then
    wait -n
    sweeps_running=$((sweeps_running - 1))
  fi
}
sweeps_done() {
  wait
  local f
  for f in sweep-fails.*; do
    [ -e "$f" ] || continue
    fails=$((fails + $(cat "$f")))
    rm -f "$f"
  done
}

if [ $asan = 0 ]; then
  in=$PWD/in.gcstack.gz
  for fn in writev fsync rename linkat malloc; do
    run_sweep "analyze -f json -o" $fn 1 25 cli "$maproot" analyze -f json -o out.json "$in"
    run_sweep "analyze -f pprof -o" $fn 1 25 cli "$maproot" analyze -f pprof -o out.pb.gz "$in"
  done
  # a JSON report to standard output: whole or nothing, whether the report
  # is cut short (malloc; --all: 5 MiB, held in a temporary file past its
  # first 4 MiB: write) or its copy out fails (writev to standard output)
  run_sweep "analyze -f json >stdout" malloc 1 25 cli-stdout "$maproot" analyze -f json "$in"
  run_sweep "analyze -f json --all >stdout" write 1 25 cli-stdout "$maproot" analyze -f json --all "$in"
  MAPROOT_FAULT_STDOUT=1 run_sweep "analyze -f json --all >stdout" writev 1 25 cli-stdout \
    "$maproot" analyze -f json --all "$in"
  for fn in writev write fsync rename linkat fork; do
    run_sweep "collector" $fn 1 30 program env MAPROOT_SNAPSHOT=s.gcstack.gz MAPROOT_PROFILE=s.pb.gz \
      MAPROOT_PROFILE_EVERY=2 "$exdir/mid_growth"
  done
  for fn in writev fsync linkat rename malloc; do
    expect=program
    [ $fn = malloc ] && expect=program-oom
    MAPROOT_FAULT_CHILD=1 run_sweep "collector's forked writer" $fn 1 20 $expect env \
      MAPROOT_SNAPSHOT=s.gcstack.gz MAPROOT_PROFILE_EVERY=2 "$exdir/mid_growth"
  done
  sweeps_done
else
  echo "  (sanitized build: no LD_PRELOAD shim; $iterations kill runs)"
fi

# --- kill -9 of the program or of its writer at random points. Two lanes
# run at once, each with its own directory and its own name for the
# program (a link), so that pgrep finds the lane's program and its forked
# writer, which keeps the command line it was forked with.
kill_lane() {
  local lane=$1 runs=$2 i kids prog
  local dir=$PWD/lane$lane
  mkdir -p "$dir" && ln -sf "$exdir/mid_growth" "$dir/mid_growth"
  local killed_writer=0 killed_program=0 lane_fails=0
  for ((i = 0; i < runs; i++)); do
    rm -rf "$dir/k" && mkdir "$dir/k"
    # (LeakSanitizer's exit-time tracer is a child of the program too, and
    # killing it would hang the program: no leak check in these runs)
    (cd "$dir/k" && exec env ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
      MAPROOT_SNAPSHOT=s.gcstack.gz MAPROOT_PROFILE=s.pb.gz \
      MAPROOT_PROFILE_EVERY=1 "$dir/mid_growth" >/dev/null 2>&1) &
    prog=$!
    sleep "0.$((RANDOM % 25))"
    kids=$(cat /proc/$prog/task/*/children 2>/dev/null)
    if [ -n "$kids" ] && [ $((RANDOM % 2)) = 0 ]; then
      kill -9 $kids 2>/dev/null && killed_writer=$((killed_writer + 1))
    else
      kill -9 $prog 2>/dev/null && killed_program=$((killed_program + 1))
    fi
    wait $prog 2>/dev/null
    # an orphaned writer finishes its file by itself: wait for it
    for _ in $(seq 100); do
      pgrep -f "$dir/mid_growth" >/dev/null || break
      sleep 0.05
    done
    for f in "$dir"/k/*.gz; do
      [ -e "$f" ] || continue
      if ! "$maproot" analyze "$f" >/dev/null 2>&1; then
        echo "FAIL: kill run $lane.$i: $(basename "$f") does not analyse"
        lane_fails=$((lane_fails + 1))
      fi
    done
  done
  echo "$lane_fails $killed_program $killed_writer" >"$dir/result"
}
kill_lane 1 $((iterations / 2)) &
kill_lane 2 $((iterations - iterations / 2))
wait
killed_program=0 killed_writer=0
for lane in 1 2; do
  read -r lf kp kw <"lane$lane/result"
  fails=$((fails + lf))
  killed_program=$((killed_program + kp))
  killed_writer=$((killed_writer + kw))
done
echo "  kill -9: $iterations runs, $killed_program programs and $killed_writer writers killed"

[ $fails -eq 0 ] && echo "test_faults: all passed"
exit $((fails > 0))
