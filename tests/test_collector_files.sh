#!/usr/bin/env bash
# tests/test_collector_files.sh -- the files a program linked with the
# collector writes, end to end:
#   - the exit profile and the exit snapshot are of one GC cycle;
#   - MAPROOT_PROFILE_EVERY writes whole pairs only (a busy writer moves the
#     pair to a later cycle, both files named after it), and maproot diff
#     works on any two files of the series;
#   - in a sanitizer build a series snapshot forks only while the profile
#     writer waits for work (its allocator is not safe to fork otherwise);
#   - nothing appears after the program ends; the exit snapshot is the last;
#   - a killed snapshot writer leaves no temporary file, and says so;
#   - a write error names the file and the system's reason;
#   - outputs onto a symlink, a FIFO and a device follow the output rule.
# usage: test_collector_files.sh MAPROOT EXAMPLES_DIR WORKDIR
set -uo pipefail
maproot=$1 exdir=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
cycle_of() { "$maproot" analyze "$1" 2>/dev/null | grep -o 'GC cycle [0-9]*' | head -1; }

# --- a series with every cycle due: the forked writer is often busy
# (MR_GOGC=25: about twice the cycles, so that a fast build whose writer is
# busy through most of them still gets a second pair). On a loaded machine
# the writer of the first pair can stay busy through the whole run, so the
# series is run again (three runs at most) until one has two pairs; every
# run's pairs must be whole.
n=0
for run in 1 2 3; do
  rm -f s.*
  MR_GOGC=25 MAPROOT_SNAPSHOT=s.gcstack.gz MAPROOT_PROFILE=s.pb.gz MAPROOT_PROFILE_EVERY=1 \
    "$exdir/sessiond" >/dev/null 2>err.txt || fail "sessiond with a series failed: $(cat err.txt)"
  sleep 0.5 # anything still writing after the end would show now
  n=0
  for p in s.[0-9]*.pb.gz; do
    [ -f "$p" ] || continue
    g=${p%.pb.gz}.gcstack.gz
    [ -f "$g" ] || fail "run $run: $p has no snapshot of its cycle"
    [ "$(cycle_of "$p")" = "$(cycle_of "$g")" ] || fail "run $run: $p and $g are of different cycles"
    n=$((n + 1))
  done
  for g in s.[0-9]*.gcstack.gz; do
    [ -f "$g" ] || continue
    [ -f "${g%.gcstack.gz}.pb.gz" ] || fail "run $run: $g has no profile of its cycle"
  done
  [ $n -ge 2 ] && break
done
[ $n -ge 2 ] || fail "the series has $n pairs in each of 3 runs"
[ "$(cycle_of s.pb.gz)" = "$(cycle_of s.gcstack.gz)" ] ||
  fail "exit pair: profile $(cycle_of s.pb.gz), snapshot $(cycle_of s.gcstack.gz)"
last=$(ls s.[0-9]*.gcstack.gz | sort | tail -1)
lc=$(cycle_of "$last" | tr -dc 0-9)
ec=$(cycle_of s.gcstack.gz | tr -dc 0-9)
[ "$lc" -lt "$ec" ] || fail "a periodic snapshot (cycle $lc) is not older than the exit one ($ec)"
# any two files of the series compare
files=(s.[0-9]*.gcstack.gz s.gcstack.gz)
for a in "${files[0]}" "${files[1]}"; do
  for b in "${files[-1]}" "${files[-2]}"; do
    "$maproot" diff "$a" "$b" >/dev/null 2>&1 || fail "diff $a $b"
  done
done
p=(s.[0-9]*.pb.gz)
"$maproot" diff "${p[0]}" "${p[-1]}" >/dev/null || fail "diff of two profiles of the series"
ls ./*.tmp* >/dev/null 2>&1 && fail "temporary files left: $(ls ./*.tmp*)"

# --- a series whose profile writer is held busy over each profile (a test
# hook): where the fork guard is on (a sanitizer build, whose allocator a
# fork can leave locked while that thread allocates), a snapshot due
# meanwhile is written with the world stopped; elsewhere every one is
# written by a forked writer
mkdir -p held
(cd held && MR_GOGC=25 MAPROOT_PROFILE_HOLD_MS=1000 MAPROOT_SNAPSHOT=h.gcstack.gz \
  MAPROOT_PROFILE=h.pb.gz MAPROOT_PROFILE_EVERY=1 "$exdir/sessiond" >/dev/null 2>err.txt) ||
  fail "sessiond with a held profile writer failed: $(cat held/err.txt)"
forked=0 stopped=0
for g in held/h.[0-9]*.gcstack.gz; do
  [ -f "${g%.gcstack.gz}.pb.gz" ] || fail "$g has no profile of its cycle"
  how=$("$maproot" analyze --summary "$g" 2>&1 | grep -o 'written by a [a-z]* [a-z]*')
  case $how in
  "written by a forked child") forked=$((forked + 1)) ;;
  "written by a stopped world") stopped=$((stopped + 1)) ;;
  *) fail "$g: how it was written: '$how'" ;;
  esac
done
if [ "${MAPROOT_TEST_SANITIZE:-none}" != none ]; then
  [ $stopped -ge 1 ] || fail "held profile writer: $forked snapshots forked, none in place"
else
  [ $stopped -eq 0 ] || fail "held profile writer: $stopped snapshots in place without the guard"
fi
[ $((forked + stopped)) -ge 2 ] || fail "held profile writer: the series has $((forked + stopped)) pairs"

# --- a killed snapshot writer: no temporary file, one line saying so.
# Every child of the program is killed as it appears; under LeakSanitizer
# that would include the tracer it forks at exit to stop the threads (it
# then waits for it forever), so the leak check is off for this run.
ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 \
  MAPROOT_SNAPSHOT_LEVEL=9 MAPROOT_SNAPSHOT=k.gcstack.gz MAPROOT_PROFILE_EVERY=1 "$exdir/sessiond" \
  >/dev/null 2>kill.txt &
prog=$!
killed=0
for _ in $(seq 400); do
  for c in $(cat /proc/$prog/task/*/children 2>/dev/null); do
    kill -9 "$c" 2>/dev/null && killed=$((killed + 1))
  done
  kill -0 $prog 2>/dev/null || break
  sleep 0.01
done
wait $prog || fail "the program failed when its writer was killed"
if [ $killed -gt 0 ]; then
  grep -q "snapshot writer process died (signal 9)" kill.txt || fail "a killed writer is not reported: $(head -3 kill.txt)"
else
  echo "(no writer was caught running; kill case not exercised)"
fi
ls ./*.tmp* >/dev/null 2>&1 && fail "a killed writer left temporary files: $(ls ./*.tmp*)"
for f in k*.gcstack.gz; do
  [ -e "$f" ] || continue
  "$maproot" analyze "$f" >/dev/null 2>&1 || fail "$f does not analyse"
done

# --- a writer still running at exit is waited for, bounded
MAPROOT_EXIT_WAIT=0.001 MAPROOT_SNAPSHOT_LEVEL=9 MAPROOT_SNAPSHOT=w.gcstack.gz \
  MAPROOT_PROFILE_EVERY=1 "$exdir/sessiond" >/dev/null 2>wait.txt
grep -q "still running .* after the program ended; stopped it" wait.txt ||
  echo "(no writer was running at exit; bounded wait not exercised)"
sleep 0.3
ls ./*.tmp* >/dev/null 2>&1 && fail "a stopped writer left temporary files: $(ls ./*.tmp*)"
before=$(ls w.* 2>/dev/null | sort)
sleep 1
[ "$before" = "$(ls w.* 2>/dev/null | sort)" ] || fail "files appeared after the program ended"

# --- outputs: a device of our own, a symlink, a FIFO
if mknod full c 1 7 2>/dev/null; then
  MAPROOT_SNAPSHOT=full MAPROOT_PROFILE=full "$exdir/pointer_keys" >/dev/null 2>full.txt ||
    fail "pointer_keys failed writing to a full device"
  grep -q "cannot write snapshot: cannot write full: No space left on device" full.txt ||
    fail "snapshot to a full device: $(cat full.txt)"
  grep -q "cannot write heap profile: cannot write full: No space left on device" full.txt ||
    fail "profile to a full device: $(cat full.txt)"
  [ -c full ] || fail "the device was replaced"
fi
touch real.pb.gz real.gcstack.gz
chmod 604 real.pb.gz
ln -s real.pb.gz link.pb.gz
ln -s real.gcstack.gz link.gcstack.gz
MAPROOT_SNAPSHOT=link.gcstack.gz MAPROOT_PROFILE=link.pb.gz "$exdir/pointer_keys" >/dev/null 2>&1
[ -L link.pb.gz ] && [ -L link.gcstack.gz ] || fail "the collector replaced a symlink"
"$maproot" analyze link.pb.gz >/dev/null || fail "the profile was not written through the symlink"
[ "$(stat -c %a real.pb.gz)" = 604 ] || fail "the profile's mode was not kept"
mkfifo f.gcstack.gz
cat f.gcstack.gz >from-fifo.gcstack.gz &
MAPROOT_SNAPSHOT=f.gcstack.gz timeout 30 "$exdir/pointer_keys" >/dev/null 2>&1 || fail "snapshot to a FIFO"
wait
[ -p f.gcstack.gz ] || fail "the FIFO was replaced"
"$maproot" analyze from-fifo.gcstack.gz >/dev/null || fail "the snapshot through a FIFO does not analyse"

ls ./*.tmp* >/dev/null 2>&1 && fail "temporary files left: $(ls ./*.tmp*)"

# --- a setting out of its range (libmaproot(3) ENVIRONMENT): one line that
# gives the range the page gives, and the default is used
env_says() { # VAR=VALUE WANT
  env "$1" "$exdir/leakcheck_test" bounded >/dev/null 2>env.txt || fail "$1: the program failed"
  [ "$(cat env.txt)" = "maproot: $1 $2" ] || fail "$1: said \"$(cat env.txt)\", not \"maproot: $1 $2\""
}
env_says MAPROOT_STACK_DEPTH=0 "is not a number from 1 to 256; using 64"
env_says MAPROOT_STACK_DEPTH=257 "is not a number from 1 to 256; using 64"
env_says MAPROOT_STACK_DEPTH=x "is not a number from 1 to 256; using 64"
env_says MAPROOT_PROFILE_RATE=-1 "is not a number from 0 to 4294967295; using 524288"
env_says MAPROOT_PROFILE_EVERY=often "is not a number from 0 to 4294967295; using 0"
env "MAPROOT_STACK_DEPTH=256" "$exdir/leakcheck_test" bounded >/dev/null 2>env.txt
[ ! -s env.txt ] || fail "MAPROOT_STACK_DEPTH=256: said $(cat env.txt)"
# and the runtime's (libmaprt(3) ENVIRONMENT): a value it cannot take is
# ignored with one line; never more than 8 marking threads
MR_GC_THREADS=0 "$exdir/leakcheck_test" bounded >/dev/null 2>env.txt
[ "$(cat env.txt)" = "maproot runtime: ignoring MR_GC_THREADS=0" ] || fail "MR_GC_THREADS=0: said $(cat env.txt)"
MR_GOGC=-5 "$exdir/leakcheck_test" bounded >/dev/null 2>env.txt
grep -q "^maproot runtime: ignoring MR_GOGC=-5" env.txt || fail "MR_GOGC=-5: said $(cat env.txt)"
MR_GC_THREADS=100 MR_GCTRACE=yes "$exdir/leakcheck_test" bounded >/dev/null 2>env.txt
grep -q "^gc 1: .* on 8 threads" env.txt || fail "MR_GC_THREADS=100 MR_GCTRACE=yes: $(head -2 env.txt)"
MR_GCTRACE=0 "$exdir/leakcheck_test" bounded >/dev/null 2>env.txt
[ ! -s env.txt ] || fail "MR_GCTRACE=0: said $(head -2 env.txt)"

[ $fails -eq 0 ] && echo "test_collector_files: all passed"
exit $((fails > 0))
