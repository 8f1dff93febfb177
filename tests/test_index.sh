#!/usr/bin/env bash
# tests/test_index.sh -- index files of root snapshots, end to end through
# the real binary: every report (text, JSON, dot, pprof; the analysis, the
# summary, --by type, --dominators, path, diff, a profile with its snapshot
# beside it) is the same bytes with and without an index; an index is used
# only while its snapshot is unchanged; a damaged or truncated index is one
# warning naming it and the snapshot is read instead; an unwritable
# directory sends the index to the cache directory; standard input never
# gets one; --index=off and --index=rebuild do what they say; a small
# snapshot gets none unasked and a snapshot of a million objects gets one.
# The paths, dominator tree and findings' figures the index keeps after its
# graph are added by the first command that computes them, whichever it
# is, and used by any other (the reports the same bytes again); damaged, they are one warning,
# computed again and the index rewritten. The index is written after the
# report is out: a reader of the report has all of it first.
# The thresholds are exact (a million objects or four million edges, not
# one less); the index is a new file renamed into place; with no
# XDG_CACHE_HOME the cache directory is ~/.cache, its index named after the
# snapshot's absolute path; neither a damaged index nor a failed write
# changes --fail-on's exit status. An index larger than --max-memory is
# not used (one of exactly that size is).
# usage: test_index.sh MAPROOT VIEWS_HEAP ANALYSIS_HEAPS GEN_SNAPSHOT EXAMPLES EDGES_HEAP WORKDIR
set -uo pipefail
maproot=$1 views=$2 heaps=$3 gen=$4 exdir=$5 edges=$6 work=$7
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
export XDG_CACHE_HOME=$work/cache

"$views" v.gcstack.gz >/dev/null || { echo "views_heap failed" >&2; exit 1; }
MAPROOT_SNAPSHOT_FORK=0 "$heaps" nested n.gcstack.gz >/dev/null 2>&1 || { echo "analysis_heaps failed" >&2; exit 1; }
"$gen" mix 20000 m.gcstack.gz >/dev/null || { echo "gen_snapshot failed" >&2; exit 1; }
MAPROOT_SNAPSHOT=s.gcstack.gz MAPROOT_PROFILE=s.pb.gz "$exdir/sessiond" >/dev/null 2>&1 ||
  { echo "sessiond failed" >&2; exit 1; }
[ -s s.gcstack.gz ] && [ -s s.pb.gz ] || { echo "sessiond wrote no snapshot" >&2; exit 1; }

# how FILE was loaded, from --timings: "index" or "read"
loaded() {
  "$maproot" analyze --timings "$@" 2>&1 >/dev/null | awk '/timing  (index|read) / { print $3; exit }'
}

# reports OUTDIR FILE [OPTIONS]: every report of FILE into OUTDIR (the
# seconds an analysis took are not part of what must be equal)
reports() {
  local d=$1 f=$2
  shift 2
  mkdir -p "$d"
  local ty
  ty=$("$maproot" analyze --index=off --by type --format json "$f" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["types"][0]["type"])')
  for fmt in text json dot pprof; do
    "$maproot" analyze "$@" --format "$fmt" -o "$d/analyze.$fmt" "$f" 2>>"$d/err" || fail "$f: analyze --format $fmt $*"
  done
  "$maproot" analyze "$@" --summary "$f" >"$d/summary.txt" 2>>"$d/err" || fail "$f: --summary $*"
  for fmt in text json; do
    "$maproot" analyze "$@" --by type --format "$fmt" "$f" >"$d/types.$fmt" 2>>"$d/err" || fail "$f: --by type $*"
    "$maproot" analyze "$@" --dominators --format "$fmt" "$f" >"$d/dom.$fmt" 2>>"$d/err" || fail "$f: --dominators $*"
  done
  for fmt in text json dot; do
    "$maproot" path "$@" --type "$ty" --all --format "$fmt" "$f" >"$d/path.$fmt" 2>>"$d/err" || fail "$f: path --type $ty $*"
  done
  sed -i 's/; analysed in [0-9.]*s$//' "$d"/*.text
}
# the JSON of one snapshot read under another name
unnamed() { grep -v '"snapshot": ' "$1"; }

same() { # same DIR1 DIR2 WHAT
  local out
  out=$(diff -r "$1" "$2" 2>&1) || fail "$3: reports differ: $(echo "$out" | head -5)"
}

# ---- the same bytes with and without the index, on four snapshots
for f in v n m s; do
  snap=$f.gcstack.gz
  reports "ref-$f" "$snap" --index=off
  [ -e "$snap.mrx" ] && fail "$snap: --index=off wrote an index"
  [ "$(loaded --index=rebuild "$snap")" = read ] || fail "$snap: --index=rebuild did not read the snapshot"
  [ -s "$snap.mrx" ] || { fail "$snap: --index=rebuild wrote no index"; continue; }
  [ "$(loaded "$snap")" = index ] || fail "$snap: the index was not used"
  reports "idx-$f" "$snap"
  same "ref-$f" "idx-$f" "$snap"
  [ -s "idx-$f/err" ] && fail "$snap: messages with the index: $(head -2 "idx-$f/err")"
  [ "$(loaded --index=off "$snap")" = read ] || fail "$snap: --index=off used the index"
done

# a profile finds its snapshot beside it, and that snapshot's index
"$maproot" analyze --index=off --format json s.pb.gz >ref-prof.json 2>/dev/null || fail "profile: analyze"
[ "$(loaded s.pb.gz)" = index ] || fail "profile: the snapshot beside it was not read through its index"
"$maproot" analyze --format json s.pb.gz 2>/dev/null | cmp -s - ref-prof.json || fail "profile: the report differs"

# diff of two snapshots through their indexes
"$maproot" diff --index=off --format json n.gcstack.gz v.gcstack.gz >ref-diff.json || fail "diff (off)"
"$maproot" diff --format json n.gcstack.gz v.gcstack.gz | cmp -s - ref-diff.json || fail "diff: the report differs"

# ---- a small snapshot gets no index unasked
"$maproot" analyze v.gcstack.gz >/dev/null 2>&1
cp v.gcstack.gz small.gcstack.gz
"$maproot" analyze small.gcstack.gz >/dev/null 2>&1 || fail "small: analyze"
[ -e small.gcstack.gz.mrx ] && fail "small: an index was written for a small snapshot"

# ---- stale: a touched or replaced snapshot is read again
cp -p m.gcstack.gz t.gcstack.gz
"$maproot" analyze --index=rebuild t.gcstack.gz >/dev/null 2>&1
[ "$(loaded t.gcstack.gz)" = index ] || fail "stale: the fresh index was not used"
touch -d '2001-01-01 00:00:01' t.gcstack.gz
[ "$(loaded t.gcstack.gz)" = read ] || fail "stale: the index of a touched snapshot was used"
"$maproot" analyze --index=rebuild t.gcstack.gz >/dev/null 2>&1
cp n.gcstack.gz t2 && touch -r t.gcstack.gz t2 && mv t2 t.gcstack.gz
[ "$(loaded t.gcstack.gz)" = read ] || fail "stale: the index of a replaced snapshot was used"
"$maproot" analyze --index=off --format json t.gcstack.gz >t-off.json
"$maproot" analyze --format json t.gcstack.gz 2>t.err | cmp -s - t-off.json || fail "stale: the report is not the new snapshot's"
[ -s t.err ] && fail "stale: a stale index is not worth a message: $(cat t.err)"

# ---- damaged indexes: one warning naming the index, the snapshot read instead
"$maproot" analyze --index=off --format json m.gcstack.gz >m-off.json
damaged() { # damaged WHAT EXPECTED-WORDS: m.gcstack.gz.mrx has been damaged
  "$maproot" analyze --format json m.gcstack.gz >d.json 2>d.err
  local rc=$?
  [ $rc = 0 ] || fail "$1: exit $rc"
  cmp -s d.json m-off.json || fail "$1: the report differs"
  [ "$(wc -l <d.err)" = 1 ] && grep -q "^maproot: warning: m.gcstack.gz.mrx: .*$2.*; reading the snapshot instead$" d.err ||
    fail "$1: the warning: $(cat d.err)"
}
fresh() { "$maproot" analyze --index=rebuild m.gcstack.gz >/dev/null 2>&1; }
# the bytes of an index's graph part (the header's file_bytes), before the
# derived results
graph_bytes() { od -An -t u8 -j 64 -N 8 "$1" | tr -d ' '; }
fresh
size=$(graph_bytes m.gcstack.gz.mrx)
printf '\xff' | dd of=m.gcstack.gz.mrx bs=1 seek=$((size / 2)) conv=notrunc status=none
damaged "a flipped byte" "checksum"
fresh
truncate -s $((size / 2)) m.gcstack.gz.mrx
damaged "truncated" "truncated"
fresh
truncate -s 100 m.gcstack.gz.mrx
damaged "truncated to its header" "truncated"
printf 'not an index at all, but long enough to hold a header of one, and more than that\n' >m.gcstack.gz.mrx
damaged "not an index" "not a maproot index"
fresh
printf '\x00' | dd of=m.gcstack.gz.mrx bs=1 seek=20 conv=notrunc status=none
damaged "a damaged header" "damaged header"
# ... and replaced by the command that found it (m is below the size that
# gets an index unasked), so the next one uses the index without a word
"$maproot" analyze m.gcstack.gz >/dev/null 2>d.err
[ ! -s d.err ] || fail "a damaged index was not replaced: $(cat d.err)"
[ "$(loaded m.gcstack.gz)" = index ] || fail "the index that replaced a damaged one was not used"
# ... and the exit status is the one without the index: 1 with --fail-on
# suspect on a snapshot with a leak suspect
"$maproot" analyze --index=rebuild s.gcstack.gz >/dev/null 2>&1
truncate -s 100 s.gcstack.gz.mrx
"$maproot" analyze --fail-on suspect s.gcstack.gz >/dev/null 2>fo.err
rc=$?
[ $rc = 1 ] || fail "a damaged index and --fail-on suspect: exit $rc, not 1: $(cat fo.err)"
grep -q '^maproot: warning: s.gcstack.gz.mrx: .*; reading the snapshot instead$' fo.err ||
  fail "a damaged index and --fail-on suspect: no warning: $(cat fo.err)"
"$maproot" analyze --index=rebuild s.gcstack.gz >/dev/null 2>&1
# a damaged index is rewritten by --index=rebuild, and then used
fresh
[ "$(loaded m.gcstack.gz)" = index ] || fail "rebuild: the rewritten index was not used"

# ---- derived results: made by one command, used by another
# (each sequence starts from an index of the graph alone)
graph_only() { # graph_only SNAP: its index, truncated to its graph part
  "$maproot" analyze --index=rebuild "$1" >/dev/null 2>&1
  truncate -s "$(graph_bytes "$1.mrx")" "$1.mrx"
}
ino() { stat -c '%i %s %Y' "$1"; }
ty_m=$("$maproot" analyze --index=off --by type --format json m.gcstack.gz |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["types"][0]["type"])')
"$maproot" path --index=off --type "$ty_m" --all --format json m.gcstack.gz >m-path.json
"$maproot" analyze --index=off --dominators --format json m.gcstack.gz >m-dom.json
"$maproot" analyze --index=off --by type --format json m.gcstack.gz >m-types.json
graph_only m.gcstack.gz
g=$(stat -c %s m.gcstack.gz.mrx)
# path keeps the paths alone; --dominators then needs the tree: rewritten
"$maproot" path --type "$ty_m" --all --format json m.gcstack.gz 2>x.err | cmp -s - m-path.json ||
  fail "results: path (graph only) differs"
p=$(stat -c %s m.gcstack.gz.mrx)
[ "$p" -gt "$g" ] || fail "results: path added nothing to the index ($g -> $p bytes)"
"$maproot" path --type "$ty_m" --all --format json m.gcstack.gz 2>>x.err | cmp -s - m-path.json ||
  fail "results: path (with its paths) differs"
[ "$(stat -c %s m.gcstack.gz.mrx)" = "$p" ] || fail "results: a second path changed the index"
"$maproot" analyze --dominators --format json m.gcstack.gz 2>>x.err | cmp -s - m-dom.json ||
  fail "results: --dominators after path differs"
b=$(stat -c %s m.gcstack.gz.mrx)
[ "$b" -gt "$p" ] || fail "results: --dominators added no tree to the paths ($p -> $b bytes)"
# analyze adds the findings' figures that depend on the graph alone
"$maproot" analyze --format json m.gcstack.gz 2>>x.err | cmp -s - m-off.json || fail "results: analyze after path, --dominators differs"
f=$(stat -c %s m.gcstack.gz.mrx)
[ "$f" -gt "$b" ] || fail "results: analyze added no findings to the paths and tree ($b -> $f bytes)"
before=$(ino m.gcstack.gz.mrx)
"$maproot" analyze --format json m.gcstack.gz 2>>x.err | cmp -s - m-off.json || fail "results: analyze with its findings differs"
"$maproot" analyze --by type --format json m.gcstack.gz 2>>x.err | cmp -s - m-types.json || fail "results: --by type differs"
"$maproot" path --type "$ty_m" --all --format json m.gcstack.gz 2>>x.err | cmp -s - m-path.json || fail "results: path after all differs"
[ "$(ino m.gcstack.gz.mrx)" = "$before" ] || fail "results: an index with every result was written again"
# --by type keeps the tree alone; path then adds the paths
graph_only m.gcstack.gz
"$maproot" analyze --by type --format json m.gcstack.gz 2>>x.err | cmp -s - m-types.json || fail "results: --by type (graph only) differs"
t=$(stat -c %s m.gcstack.gz.mrx)
[ "$t" -gt "$g" ] || fail "results: --by type added nothing to the index"
"$maproot" path --type "$ty_m" --all --format json m.gcstack.gz 2>>x.err | cmp -s - m-path.json || fail "results: path after --by type differs"
[ "$(stat -c %s m.gcstack.gz.mrx)" -gt "$t" ] || fail "results: path added no paths to the tree"
"$maproot" analyze --format json m.gcstack.gz 2>>x.err | cmp -s - m-off.json || fail "results: analyze after --by type, path differs"
# diff keeps both snapshots' results; analyze uses them
graph_only m.gcstack.gz
graph_only n.gcstack.gz
"$maproot" diff --index=off --format json n.gcstack.gz m.gcstack.gz >ref-diff2.json
"$maproot" diff --format json n.gcstack.gz m.gcstack.gz 2>>x.err | cmp -s - ref-diff2.json || fail "results: diff (graph only) differs"
[ "$(stat -c %s m.gcstack.gz.mrx)" -gt "$g" ] || fail "results: diff added nothing to the index"
[ "$(stat -c %s n.gcstack.gz.mrx)" -gt "$(graph_bytes n.gcstack.gz.mrx)" ] || fail "results: diff added nothing to the first index"
"$maproot" diff --format json n.gcstack.gz m.gcstack.gz 2>>x.err | cmp -s - ref-diff2.json || fail "results: diff with results differs"
"$maproot" analyze --format json m.gcstack.gz 2>>x.err | cmp -s - m-off.json || fail "results: analyze after diff differs"
grep -v 'are snapshots of different programs' x.err >x2.err
[ -s x2.err ] && fail "results: messages: $(head -3 x2.err)"

# a command that writes the index writes what it computed with the graph:
# path on a snapshot without one writes the graph and the paths, and then
# reads both
cp -p m.gcstack.gz pth.gcstack.gz
"$maproot" path --index=rebuild --type "$ty_m" --all --format json pth.gcstack.gz 2>pth.err |
  cmp -s <(unnamed -) <(unnamed m-path.json) || fail "results: path writing the index differs"
[ "$(stat -c %s pth.gcstack.gz.mrx)" -gt "$(graph_bytes pth.gcstack.gz.mrx)" ] ||
  fail "results: path wrote an index without its paths"
before=$(ino pth.gcstack.gz.mrx)
"$maproot" path --type "$ty_m" --all --format json pth.gcstack.gz 2>>pth.err |
  cmp -s <(unnamed -) <(unnamed m-path.json) || fail "results: path through its index differs"
[ "$(ino pth.gcstack.gz.mrx)" = "$before" ] || fail "results: path found no paths in the index it wrote"
[ -s pth.err ] && fail "results: path: messages: $(head -3 pth.err)"
rm -f pth.gcstack.gz pth.gcstack.gz.mrx

# damaged results: one warning, the report the same, the index rewritten whole
results_damaged() { # WHAT WORDS: m.gcstack.gz.mrx's results have been damaged
  "$maproot" analyze --format json m.gcstack.gz >d.json 2>d.err || fail "$1: analyze failed"
  cmp -s d.json m-off.json || fail "$1: the report differs"
  [ "$(wc -l <d.err)" = 1 ] &&
    grep -q "^maproot: warning: m.gcstack.gz.mrx: damaged index: derived results.*$2.*; computing them again$" d.err ||
    fail "$1: the warning: $(cat d.err)"
  "$maproot" analyze --format json m.gcstack.gz 2>d.err | cmp -s - m-off.json || fail "$1: the report after differs"
  [ -s d.err ] && fail "$1: the index was not rewritten: $(cat d.err)"
}
fresh
end=$(stat -c %s m.gcstack.gz.mrx)
printf '\xff' | dd of=m.gcstack.gz.mrx bs=1 seek=$((end - 100)) conv=notrunc status=none
results_damaged "a flipped byte in the results" "checksum"
printf '\xff' | dd of=m.gcstack.gz.mrx bs=1 seek=$(($(graph_bytes m.gcstack.gz.mrx) + 3)) conv=notrunc status=none
results_damaged "their header" "damaged header"
truncate -s $((end - 64)) m.gcstack.gz.mrx
results_damaged "cut short" "cut short"

# ---- an unwritable directory: the index goes to the cache directory
if [ "$(id -u)" = 0 ]; then
  as_user() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
else
  as_user() { "$@"; }
fi
if command -v setpriv >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  mkdir -p ro && cp m.gcstack.gz ro/ && chmod 755 ro && chmod 644 ro/m.gcstack.gz
  [ "$(id -u)" = 0 ] || chmod 555 ro
  mkdir -p cache-user && chmod 777 cache-user
  chmod o+x "$work" "$(dirname "$work")" 2>/dev/null
  XDG_CACHE_HOME=$work/cache-user as_user "$maproot" analyze --index=rebuild --format json ro/m.gcstack.gz >ro.json 2>ro.err ||
    fail "unwritable: analyze failed: $(cat ro.err)"
  cmp -s <(unnamed ro.json) <(unnamed m-off.json) || fail "unwritable: the report differs"
  [ -e ro/m.gcstack.gz.mrx ] && fail "unwritable: an index was written into the directory"
  n=$(find cache-user -name '*.mrx' | wc -l)
  [ "$n" = 1 ] || fail "unwritable: $n indexes in the cache directory ($(cat ro.err))"
  got=$(XDG_CACHE_HOME=$work/cache-user as_user "$maproot" analyze --timings ro/m.gcstack.gz 2>&1 >/dev/null |
    awk '/timing  (index|read) / { print $3; exit }')
  [ "$got" = index ] || fail "unwritable: the index in the cache directory was not used"
  # nowhere to write: a warning, and the analysis goes on
  XDG_CACHE_HOME=/proc/no-such-dir as_user "$maproot" analyze --index=rebuild --format json ro/m.gcstack.gz >ro2.json 2>ro2.err ||
    fail "no place for the index: analyze failed"
  cmp -s <(unnamed ro2.json) <(unnamed m-off.json) || fail "no place for the index: the report differs"
  [ "$(wc -l <ro2.err)" = 1 ] && grep -q '^maproot: warning: no index written: ' ro2.err ||
    fail "no place for the index: the warning: $(cat ro2.err)"
  # ... which leaves the exit status as it was: 1 with --fail-on suspect
  cp s.gcstack.gz ro/ && chmod 644 ro/s.gcstack.gz
  XDG_CACHE_HOME=/proc/no-such-dir as_user "$maproot" analyze --index=rebuild --fail-on suspect \
    ro/s.gcstack.gz >/dev/null 2>ro3.err
  rc=$?
  [ $rc = 1 ] && grep -q '^maproot: warning: no index written: ' ro3.err ||
    fail "no place for the index, --fail-on suspect: exit $rc, not 1: $(cat ro3.err)"
  # with no XDG_CACHE_HOME, ~/.cache/maproot; the index is named after the
  # snapshot's absolute path, so the same file by another relative name,
  # from another directory, finds it
  mkdir -p home && chmod 777 home
  (cd ro && as_user env -u XDG_CACHE_HOME HOME="$work/home" "$maproot" analyze --index=rebuild m.gcstack.gz \
    >/dev/null 2>"$work/home.err") || fail "no XDG_CACHE_HOME: analyze failed: $(cat "$work/home.err")"
  n=$(find home/.cache/maproot -name '*.mrx' 2>/dev/null | wc -l)
  [ "$n" = 1 ] || fail "no XDG_CACHE_HOME: $n indexes in \$HOME/.cache/maproot"
  got=$(cd / && as_user env -u XDG_CACHE_HOME HOME="$work/home" "$maproot" analyze --timings \
    "${work#/}/ro/m.gcstack.gz" 2>&1 >/dev/null | awk '/timing  (index|read) / { print $3; exit }')
  [ "$got" = index ] || fail "no XDG_CACHE_HOME: the index was not found by the snapshot's other name"
  chmod 755 ro
else
  echo "unwritable directory: skipped (root without setpriv)"
fi

# ---- standard input never has an index
rm -rf cache
"$maproot" analyze --index=rebuild --format json - <m.gcstack.gz >stdin.json 2>stdin.err || fail "stdin: analyze"
cmp -s <(unnamed stdin.json) <(unnamed m-off.json) || fail "stdin: the report differs"
[ -e cache ] || [ -e ./-.mrx ] && fail "stdin: an index was written"

# ... nor does a FIFO
mkfifo fifo.gcstack.gz
cat m.gcstack.gz >fifo.gcstack.gz &
"$maproot" analyze --index=rebuild --format json fifo.gcstack.gz >fifo.json 2>fifo.err || fail "fifo: analyze"
wait
cmp -s <(unnamed fifo.json) <(unnamed m-off.json) || fail "fifo: the report differs"
[ -e fifo.gcstack.gz.mrx ] || [ -e cache ] && fail "fifo: an index was written"

# ---- on a terminal, the index written is told on stderr (with its size)
if command -v script >/dev/null 2>&1; then
  cp m.gcstack.gz tty.gcstack.gz
  script -qec "'$maproot' analyze --index=rebuild -o tty.txt tty.gcstack.gz" /dev/null >tty.out 2>&1
  grep -q 'maproot: wrote the index tty.gcstack.gz.mrx ([0-9.]* MiB)' tty.out ||
    fail "terminal: no word of the index written: $(cat tty.out)"
  grep -q 'maproot: writing the index of tty.gcstack.gz' tty.out ||
    fail "terminal: no word of the index being written: $(cat tty.out)"
  "$maproot" analyze --index=rebuild -o tty.txt tty.gcstack.gz 2>tty.err
  [ -s tty.err ] && fail "not a terminal: a message: $(cat tty.err)"
fi

# ---- the report comes first: its reader has all of it before the index is
# written. The index here is a FIFO, whose writer waits for a reader: the
# test reads it only once the report is out, so a command that wrote the
# index first would never end its report (the reads time out).
# ends PID WHAT: PID's exit status once it ends (killed after 30 s: a failure)
ends() {
  for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && { kill "$1"; fail "$2: the command did not end"; }
  wait "$1"
}
cp -p m.gcstack.gz late.gcstack.gz
mkfifo late.gcstack.gz.mrx report.fifo
"$maproot" analyze --index=rebuild --format json late.gcstack.gz >report.fifo 2>late.err &
pid=$!
timeout 30 cat report.fifo >late.json || fail "order: the report did not end before the index was written"
cmp -s <(unnamed late.json) <(unnamed m-off.json) || fail "order: the report is not whole at its end"
kill -0 $pid 2>/dev/null || fail "order: the command ended without writing the index"
timeout 30 cat late.gcstack.gz.mrx >late.mrx || fail "order: the index was not written after the report"
ends $pid order || fail "order: analyze failed: $(cat late.err)"
[ -s late.err ] && fail "order: messages: $(head -2 late.err)"
# what the FIFO carried is the index, graph and results, used as such
rm -f late.gcstack.gz.mrx && mv late.mrx late.gcstack.gz.mrx
[ "$(loaded late.gcstack.gz)" = index ] || fail "order: the index written after the report was not used"
"$maproot" analyze --format json late.gcstack.gz 2>late.err | cmp -s <(unnamed -) <(unnamed m-off.json) ||
  fail "order: the report through the index written after the report differs"
[ -s late.err ] && fail "order: the index's results were refused: $(head -2 late.err)"
# -o FILE: the file is in place, whole, before the index is written
rm -f late.gcstack.gz.mrx && mkfifo late.gcstack.gz.mrx
"$maproot" analyze --index=rebuild --format json -o late-o.json late.gcstack.gz 2>late.err &
pid=$!
for _ in $(seq 300); do [ -e late-o.json ] && break; sleep 0.1; done
[ -e late-o.json ] || fail "order: -o FILE was not in place before the index was written"
cmp -s <(unnamed late-o.json) <(unnamed m-off.json) || fail "order: -o FILE is not whole before the index"
kill -0 $pid 2>/dev/null || fail "order: -o FILE: the command ended without writing the index"
timeout 30 cat late.gcstack.gz.mrx >/dev/null || fail "order: -o FILE: no index after the report"
ends $pid "order: -o FILE" || fail "order: -o FILE: analyze failed: $(cat late.err)"
rm -f late.gcstack.gz.mrx
# a snapshot changed after it was read (here while the report is being
# written: the report, far longer than a pipe holds, waits for its reader)
# gets no index, and a warning; the report and status are the same
cp -p m.gcstack.gz chg.gcstack.gz
mkfifo chg.fifo
"$maproot" analyze --index=rebuild --format json chg.gcstack.gz >chg.fifo 2>chg.err &
pid=$!
exec 3<chg.fifo
dd bs=1 count=1 status=none <&3 >/dev/null
touch -d '2001-01-01 00:00:01' chg.gcstack.gz
cat <&3 >/dev/null
exec 3<&-
ends $pid changed || fail "changed: analyze failed: $(cat chg.err)"
[ -e chg.gcstack.gz.mrx ] && fail "changed: an index was written for a snapshot changed since it was read"
[ "$(wc -l <chg.err)" = 1 ] &&
  grep -q '^maproot: warning: chg.gcstack.gz changed while it was read; no index written$' chg.err ||
  fail "changed: the warning: $(cat chg.err)"

# ---- usage
"$maproot" analyze --index=sometimes v.gcstack.gz >/dev/null 2>u.err
[ $? = 2 ] && grep -q 'auto, off or rebuild' u.err || fail "--index=sometimes: $(cat u.err)"

# ---- a million objects: an index unasked
"$gen" maps 1000000 big.gcstack.gz >/dev/null || fail "gen_snapshot maps 1000000"
MAPROOT_THREADS=2 "$maproot" analyze --format json big.gcstack.gz >big1.json 2>big.err ||
  fail "big: analyze"
[ -s big.gcstack.gz.mrx ] || fail "big: no index written for a million objects"
[ "$(loaded big.gcstack.gz)" = index ] || fail "big: the index was not used"
"$maproot" analyze --format json big.gcstack.gz | cmp -s - big1.json || fail "big: the report differs"
# the paths' entry steps and the findings' halves are shared between two
# threads only on heaps this big: one thread must give the same report and
# the same paths (the index holds every object's path step)
cp big.gcstack.gz.mrx big2.mrx
MAPROOT_THREADS=1 "$maproot" analyze --index=rebuild --format json big.gcstack.gz |
  cmp -s - big1.json || fail "big: one thread's report differs from two threads'"
cmp -s big.gcstack.gz.mrx big2.mrx || fail "big: one thread's index differs from two threads'"
rm -f big.gcstack.gz big.gcstack.gz.mrx big2.mrx

# ---- the thresholds, exactly: edges_heap NODES EDGES is a heap of NODES + 1
# objects (the nodes and one array) and EDGES pointer edges
for spec in "999998 999998 no" "999999 999999 yes" "10 3999999 no" "10 4000000 yes"; do
  read -r nodes nedges want <<<"$spec"
  f=thr-$nodes-$nedges.gcstack.gz
  MAPROOT_SNAPSHOT=$f "$edges" "$nodes" "$nedges" || { fail "edges_heap $nodes $nedges"; continue; }
  got=$("$maproot" analyze --index=off --summary --format json "$f" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["objects"], j["edges"])')
  [ "$got" = "$((nodes + 1)) $nedges" ] || fail "$f: $got objects and edges, not $((nodes + 1)) $nedges"
  "$maproot" analyze "$f" >/dev/null 2>&1 || fail "$f: analyze"
  if [ -e "$f.mrx" ]; then has=yes; else has=no; fi
  [ "$has" = "$want" ] || fail "$f ($got objects and edges): index written: $has, not $want"
  rm -f "$f" "$f.mrx"
done

# ---- an index is written to a new file renamed into place: a link to the
# old index keeps the old bytes, and no temporary file is left
cp -p m.gcstack.gz ren.gcstack.gz
"$maproot" analyze --index=rebuild ren.gcstack.gz >/dev/null 2>&1
ln ren.gcstack.gz.mrx ren-old.mrx && cp ren-old.mrx ren-copy.mrx
"$maproot" analyze --index=rebuild ren.gcstack.gz >/dev/null 2>&1
[ "$(stat -c %i ren.gcstack.gz.mrx)" != "$(stat -c %i ren-old.mrx)" ] ||
  fail "rename: the index was rewritten in place"
cmp -s ren-old.mrx ren-copy.mrx || fail "rename: the old index was changed"
[ "$(loaded ren.gcstack.gz)" = index ] || fail "rename: the new index was not used"
left=$(ls -a | grep '\.tmp' | tr '\n' ' ')
[ -z "$left" ] || fail "rename: temporary files left: $left"

# ---- an index larger than --max-memory is not used: the snapshot is read
# in its place (its graph needs less than the index's size here), and the
# index is left as it is; at the index's size exactly it is used
"$maproot" analyze --index=rebuild m.gcstack.gz >/dev/null 2>&1 || fail "m.gcstack.gz: --index=rebuild"
isz=$(stat -c %s m.gcstack.gz.mrx)
[ "$(loaded --max-memory "$isz" m.gcstack.gz)" = index ] ||
  fail "an index of --max-memory bytes exactly was not used"
[ "$(loaded --max-memory "$((isz - 1))" m.gcstack.gz)" = read ] ||
  fail "an index larger than --max-memory was used (or the snapshot not read)"
[ "$(stat -c %s m.gcstack.gz.mrx)" = "$isz" ] || fail "--max-memory below the index changed the index"

# ---- every byte of an index is one maproot wrote
# The same heap must give the same index, so no byte may come from memory
# maproot never set (a hole between a record's fields): under valgrind,
# writing the indexes of snapshots with roots of every kind and maps,
# with the paths, tree and findings after the graph, reports no
# uninitialised byte passed to write(2). (Sanitizer builds cannot run
# under valgrind.)
if [ -z "${MAPROOT_TEST_SANITIZE:-}" ] || [ "$MAPROOT_TEST_SANITIZE" = none ]; then
  if command -v valgrind >/dev/null; then
    for f in s.gcstack.gz n.gcstack.gz v.gcstack.gz; do
      valgrind -q --error-exitcode=9 --leak-check=no "$maproot" analyze --index=rebuild \
        --format json "$f" >/dev/null 2>vg.err ||
        fail "$f: valgrind saw maproot use unset memory while writing an index: $(grep -m1 -A3 'uninitialised' vg.err | tr '\n' ' ')"
    done
  else
    echo "SKIP: no valgrind: the index's bytes are not checked for unset memory"
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "index: all checks passed"
