#!/usr/bin/env bash
# tests/test_snapshot.sh -- root snapshots end to end, on the example
# programs and the real binaries.
# usage: test_snapshot.sh MAPROOT SNAPSHOT_DIGEST EXAMPLES_DIR WORKDIR
#   1. round trip: every example writes a snapshot at exit (forked writer,
#      then stopped-world fallback); the digest of the runtime's own walk at
#      that cycle (MAPROOT_SNAPSHOT_DIGEST) equals the digest of what the
#      reader reads back: objects, edges, roots, maps, buckets, entries, and
#      (forked) the entries met by iterating each map;
#   2. periodic snapshots taken while the examples run: stack roots name the
#      function holding the map (local_map), the iterator is an iterator root
#      (iterator_pin), globals carry their names (sessiond), a map caught
#      growing shows old buckets and evacuation progress (mid_growth);
#   3. maproot analyze --summary: text and JSON, the profile noticing the
#      snapshot beside it;
#   4. corruption: truncated, flipped bytes, missing footer -> exit 2 with a
#      one-line message.
set -uo pipefail

# grep -q for a pipe: reads all of its input, so the writer never sees a
# closed pipe (with pipefail, an early exit of grep -q fails the pipeline).
contains() { grep "$@" >/dev/null; }
maproot=$1 digest=$2 exdir=$3 work=$4
srcdir=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# Were the examples built with DWARF (-g)? Without it frames have no file.
dwarf=0
# (grep reads all of it: under pipefail an early exit would fail readelf)
readelf -S --wide "$exdir/local_map" | grep -c '\.debug_info' >/dev/null && dwarf=1

examples="sessiond iterator_pin emptied_map local_map pointer_keys mid_growth"
for fork in 1 0; do
  for ex in $examples; do
    rm -f "$ex".*
    if ! MAPROOT_SNAPSHOT_FORK=$fork MAPROOT_SNAPSHOT=$ex.gcstack.gz MAPROOT_SNAPSHOT_DIGEST=$ex.dg \
        "$exdir/$ex" >"$ex.out" 2>"$ex.err"; then
      fail "$ex (fork=$fork) exited non-zero: $(head -3 "$ex.err")"
      continue
    fi
    [ -s "$ex.err" ] && fail "$ex (fork=$fork) wrote to stderr: $(head -3 "$ex.err")"
    "$digest" "$ex.gcstack.gz" >"$ex.rd" || { fail "$ex: the reader refused the snapshot"; continue; }
    # the stopped-world writer cannot iterate (no "iter" line): compare what it wrote
    if ! diff <(cat "$ex.dg") <(head -n "$(wc -l <"$ex.dg")" "$ex.rd") >/dev/null; then
      fail "$ex (fork=$fork): read back differs from the runtime's walk"
      diff "$ex.dg" "$ex.rd"
    fi
    mode=$("$maproot" analyze --summary --format json "$ex.gcstack.gz" | grep '"write_mode"')
    want=fork; [ $fork = 0 ] && want=stopped
    echo "$mode" | contains "\"$want\"" || fail "$ex: header says $mode, expected $want"
  done
done
grep -q '^entries 120000 ' sessiond.dg || fail "sessiond: expected 120000 entries: $(cat sessiond.dg)"

# the writer's batched walks: an object with more pointer fields than a
# batch, a long pointer array, keys and values pointing outside the heap
wide=$(dirname "$digest")/snapshot_wide_heap
for fork in 1 0; do
  rm -f wide.*
  if ! MAPROOT_SNAPSHOT_FORK=$fork MAPROOT_SNAPSHOT=wide.gcstack.gz MAPROOT_SNAPSHOT_DIGEST=wide.dg \
      "$wide" >wide.out 2>wide.err || [ -s wide.err ]; then
    fail "snapshot_wide_heap (fork=$fork): $(head -3 wide.err)"
    continue
  fi
  "$digest" wide.gcstack.gz >wide.rd || { fail "wide heap: the reader refused the snapshot"; continue; }
  diff <(cat wide.dg) <(head -n "$(wc -l <wide.dg)" wide.rd) >/dev/null ||
    fail "wide heap (fork=$fork): read back differs from the runtime's walk: $(diff wide.dg wide.rd)"
  grep -q '^entries 9000 ' wide.dg || fail "wide heap: expected 9000 entries: $(cat wide.dg)"
done

# periodic snapshots, every cycle, while the examples run
periodic() { # EXAMPLE: writes EXAMPLE.NNNN.gcstack.gz files; prints the last
  rm -f "$1".*.gcstack.gz
  # stopped-world writes: a forked writer still busy makes later cycles skip
  MAPROOT_SNAPSHOT_FORK=0 MAPROOT_SNAPSHOT=$1.gcstack.gz MAPROOT_PROFILE_EVERY=1 "$exdir/$1" \
      >/dev/null 2>"$1.perr" ||
    fail "$1: periodic run failed: $(head -3 "$1.perr")"
  ls "$1".[0-9]*.gcstack.gz 2>/dev/null | sort | tail -1
}
last=$(periodic local_map)
[ -n "$last" ] || fail "local_map: no periodic snapshot"
found=0
for f in local_map.[0-9]*.gcstack.gz; do
  "$maproot" analyze --summary "$f" >"$f.txt" 2>&1 || fail "$f: analyze failed: $(head -2 "$f.txt")"
  grep -E '^  stack .* -> map.hdr' "$f.txt" | contains 'worker_loop\|frame #[0-9]* [a-z_]*' && found=1
done
[ $found = 1 ] || fail "local_map: no stack root naming a function holds the map"
grep -h '^  stack .* -> map.hdr' local_map.[0-9]*.gcstack.gz.txt | head -3
fn=$(grep -h '^  stack .* -> map.hdr' local_map.[0-9]*.gcstack.gz.txt | grep -o 'frame #[0-9]* [A-Za-z_0-9]*' | sort | uniq -c | sort -rn | head -1)
echo "local_map: map held by stack root at $fn"
[ $dwarf = 0 ] || grep -q "local_map.c" <(grep -h '^  stack .* -> map.hdr' local_map.[0-9]*.gcstack.gz.txt) ||
  fail "local_map: the stack root of the map does not name examples/local_map.c"
# frame 0 is the program's: never the allocator's, the runtime's or the
# collector's (stopped inside them, a thread's roots start at its caller)
grep -h '^  stack ' local_map.[0-9]*.gcstack.gz.txt | grep -Eo 'frame #[0-9]+ [A-Za-z_0-9.]+' |
  grep -E ' (mr_|mrc_|alloc|finish_alloc|collect|park|on_alloc|snapshot)' | head -3 | grep . &&
  fail "local_map: a stack root is attributed to the runtime's or the collector's frame"

periodic iterator_pin >/dev/null
it=0
for f in iterator_pin.[0-9]*.gcstack.gz; do
  "$maproot" analyze --summary "$f" | contains '^  iterator .* -> map.hdr' && it=1
done
[ $it = 1 ] || fail "iterator_pin: no iterator root pins a map"

"$maproot" analyze --summary sessiond.gcstack.gz >sess.txt || fail "analyze sessiond"
grep -q '^  global   session_cache  .*sessiond.c:[0-9]* -> map.hdr' sess.txt ||
  fail "sessiond: the global root lacks its name: $(grep global sess.txt)"
grep -q '120000 entries' sess.txt || fail "sessiond: map entries not shown"
"$maproot" analyze --summary --format json sessiond.gcstack.gz >sess.json || fail "analyze --format json"
grep -q '"name": "session_cache"' sess.json || fail "json lacks the global's name"
# the cycle's stop-the-world pause: in the header, the summary, analyze's first line
grep -Eq '^  pause    world stopped [0-9.]+ ms when the snapshot was taken \(stopping [0-9.]+, sweep termination [0-9.]+, marking [0-9.]+\)' sess.txt ||
  fail "sessiond: the summary lacks the pause: $(grep pause sess.txt)"
"$maproot" analyze sessiond.gcstack.gz >sess-analysis.txt &&
  head -1 sess-analysis.txt | contains -E ', GC pause [0-9.]+ ms$' ||
  fail "sessiond: analyze's first line lacks the GC pause"
"$maproot" analyze --format json sessiond.gcstack.gz >sess-analysis.json &&
  grep -Eq '"gc_pause_ns": [1-9][0-9]*' sess-analysis.json ||
  fail "sessiond: analyze --format json lacks gc_pause_ns"

periodic mid_growth >/dev/null
grow=0
for f in mid_growth.[0-9]*.gcstack.gz; do
  "$maproot" analyze --summary "$f" | contains 'growth, [0-9]* of [0-9]* old buckets evacuated' && grow=1
done
[ $grow = 1 ] || fail "mid_growth: no snapshot shows a growing map with old buckets"
# the file name pairing with profiles: NAME.NNNN.gcstack.gz
ls mid_growth.0001.gcstack.gz >/dev/null 2>&1 || fail "periodic snapshot names: $(ls mid_growth.* | head -3)"

# a profile notices its snapshot
if MAPROOT_PROFILE=pair.pb.gz MAPROOT_SNAPSHOT=pair.gcstack.gz "$exdir/sessiond" >/dev/null 2>pair.err; then
  "$maproot" analyze pair.pb.gz >pair.txt 2>&1 || fail "analyze pair.pb.gz: $(head -2 pair.txt)"
  grep -q 'snapshot pair.gcstack.gz beside the profile' pair.txt || fail "the profile did not notice its snapshot"
else
  fail "sessiond with profile and snapshot: $(head -2 pair.err)"
fi

# the default file is gzip that gunzip reads (stored blocks); a version 1
# file (written before the encoding of version 2) still reads
gunzip -t pointer_keys.gcstack.gz || fail "gunzip refuses the default snapshot"
for v1 in "$srcdir"/testdata/fuzz/gcstack/iterator_pin.gcstack.gz \
  "$srcdir"/testdata/fuzz/gcstack/iterator_pin_raw.gcstack; do
  "$maproot" analyze "$v1" >/dev/null || fail "the version 1 file $v1 no longer reads"
done

# corruption: exit 2, one line naming the file
bad() { # FILE WHAT
  out=$("$maproot" analyze "$1" 2>&1 >/dev/null)
  rc=$?
  [ $rc = 2 ] || fail "$2: exit status $rc, expected 2"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$2: message is not one line: $out"
  case $out in "maproot: $1"*) ;; *) fail "$2: message does not name the file: $out" ;; esac
}
MAPROOT_SNAPSHOT=raw.gcstack MAPROOT_SNAPSHOT_LEVEL=raw "$exdir/pointer_keys" >/dev/null
size=$(stat -c %s raw.gcstack)
for cut in 1 100 $((size / 2)) $((size - 3)); do
  head -c "$cut" raw.gcstack >cut.gcstack
  bad cut.gcstack "truncated at $cut"
done
for at in 40 $((size / 3)) $((size - 20)); do
  cp raw.gcstack flip.gcstack
  printf '\x5a' | dd of=flip.gcstack bs=1 seek="$at" conv=notrunc status=none
  bad flip.gcstack "flipped byte at $at"
done
zsize=$(stat -c %s pointer_keys.gcstack.gz)
head -c $((zsize * 2 / 3)) pointer_keys.gcstack.gz >cutz.gcstack.gz
bad cutz.gcstack.gz "truncated gzip"
echo "$fails failures"
[ $fails = 0 ]
