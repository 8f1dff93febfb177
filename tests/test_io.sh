#!/usr/bin/env bash
# tests/test_io.sh -- what maproot does with what is already at an output
# path and with inputs that are not plain files, end to end:
#   -o onto a symlink (written through), a FIFO and a character device
#   (written into, never replaced), a directory (refused), an existing file
#   (replaced, its mode kept), '-' (standard output, every format);
#   inputs from pipes, FIFOs and /dev/stdin, read once; a FIFO beside a
#   profile does not hang it; endless or inflating inputs stop at their
#   first bad byte; --max-memory; neither-kind inputs; warnings.
# Device nodes and FIFOs are made here, in the work directory.
# usage: test_io.sh MAPROOT EXAMPLES_DIR WORKDIR
set -uo pipefail
maproot=$1 exdir=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# one_line FILE WHAT: stderr had exactly one line
one_line() { [ "$(wc -l <"$1")" -eq 1 ] || fail "$2: expected one line on stderr, got: $(cat "$1")"; }

MAPROOT_SNAPSHOT=s.gcstack.gz MAPROOT_PROFILE=s.pb.gz "$exdir/pointer_keys" >/dev/null 2>&1 ||
  fail "pointer_keys failed"
MAPROOT_SNAPSHOT=o.gcstack.gz "$exdir/emptied_map" >/dev/null 2>&1 || fail "emptied_map failed"
[ -s s.gcstack.gz ] && [ -s s.pb.gz ] && [ -s o.gcstack.gz ] || { echo "no inputs"; exit 1; }
"$maproot" analyze s.gcstack.gz >ref.txt 2>/dev/null || fail "analyze s.gcstack.gz"

# --- outputs: a symlink is written through and stays a link
echo old >target.txt
chmod 640 target.txt
ln -s target.txt link.txt
"$maproot" analyze -o link.txt s.gcstack.gz || fail "analyze -o link"
[ -L link.txt ] || fail "-o replaced the symlink"
cmp -s <(grep -v "analysed in" target.txt) <(grep -v "analysed in" ref.txt) || fail "-o link did not write the target"
[ "$(stat -c %a target.txt)" = 640 ] || fail "-o changed the target's mode: $(stat -c %a target.txt)"
ln -s made.json dangling.json
"$maproot" analyze -f json -o dangling.json s.gcstack.gz || fail "analyze -o dangling link"
[ -L dangling.json ] && [ -s made.json ] || fail "a dangling link's target is created"
ls ./*.tmp* >/dev/null 2>&1 && fail "temporary files left: $(ls ./*.tmp*)"

# a FIFO is written into, for every format
mkfifo out.fifo
for f in text json dot pprof; do
  cat out.fifo >fifo.$f &
  reader=$!
  timeout 20 "$maproot" analyze -f $f -o out.fifo s.gcstack.gz || fail "-f $f -o FIFO"
  wait $reader
  [ -p out.fifo ] || fail "-f $f: the FIFO was replaced"
  [ -s fifo.$f ] || fail "-f $f: nothing came through the FIFO"
done
cmp -s <(grep -v "analysed in" fifo.text) <(grep -v "analysed in" ref.txt) || fail "text through a FIFO differs"
gzip -t fifo.pprof || fail "pprof through a FIFO is not gzip"

# a character device of our own (the null device's numbers) is written
# into, never replaced; the full device's error is one line with the reason
if mknod null c 1 3 2>/dev/null && mknod full c 1 7; then
  for f in text json dot pprof; do
    "$maproot" analyze -f $f -o null s.gcstack.gz || fail "-f $f -o device"
    [ -c null ] || fail "-f $f: the device node was replaced by a file"
  done
  "$maproot" diff -o null s.gcstack.gz s.gcstack.gz || fail "diff -o device"
  for f in text json; do
    "$maproot" analyze -f $f -o full s.gcstack.gz 2>err.txt
    [ $? = 2 ] || fail "-f $f -o full: exit status"
    one_line err.txt "-f $f -o full"
    grep -q "cannot write full: No space left on device" err.txt || fail "-f $f -o full: $(cat err.txt)"
  done
  "$maproot" analyze -f pprof -o full s.gcstack.gz 2>err.txt
  [ $? = 2 ] && grep -q "No space left on device" err.txt || fail "pprof -o full: $(cat err.txt)"
  [ -c full ] || fail "the full device node was replaced"
  # standard output on a full device: one line
  "$maproot" analyze -f json s.gcstack.gz >full 2>err.txt
  [ $? = 2 ] || fail "JSON to a full stdout: exit status"
  one_line err.txt "JSON to a full standard output"
  grep -q "standard output: No space left on device" err.txt || fail "full stdout: $(cat err.txt)"
else
  echo "(no mknod here: device cases skipped)"
fi

# a directory is refused, with a message naming it
mkdir outdir
"$maproot" analyze -o outdir s.gcstack.gz 2>err.txt
[ $? = 2 ] || fail "-o directory exits 2"
one_line err.txt "-o directory"
grep -q "cannot write outdir: it is a directory" err.txt || fail "-o directory: $(cat err.txt)"
[ -d outdir ] || fail "-o replaced the directory"

# '-' is standard output for every format; pprof too
"$maproot" analyze -f pprof -o - s.gcstack.gz >chains.pb.gz || fail "-f pprof -o -"
gzip -t chains.pb.gz && "$maproot" analyze chains.pb.gz >/dev/null ||
  fail "pprof on stdout is not a profile maproot reads"
if command -v go >/dev/null; then
  go tool pprof -raw chains.pb.gz >/dev/null 2>&1 || fail "go tool pprof rejects pprof from -o -"
fi
"$maproot" analyze -f pprof s.gcstack.gz >/dev/null 2>err.txt
[ $? = 2 ] && grep -q -- "-o - for standard output" err.txt || fail "pprof without -o: $(cat err.txt)"
# diff -o, and a failed analysis leaves no output file
"$maproot" diff -f json -o d.json s.gcstack.gz s.gcstack.gz || fail "diff -o"
python3 -c 'import json,sys; json.load(open("d.json"))' || fail "diff -o wrote no JSON"
"$maproot" diff -o d2.txt s.pb.gz s.pb.gz || fail "diff of profiles -o"
grep -q "heap profile diff" d2.txt || fail "diff -o of profiles: $(head -2 d2.txt)"
"$maproot" analyze -o never.txt nonexistent.gcstack.gz 2>/dev/null
[ -e never.txt ] && fail "a failed analysis left its output file"

# --- standard output gets a whole report or nothing: a write error (a full
# device, a reader gone) is one line and exit 2, not a death by SIGPIPE
for f in json text; do
  "$maproot" analyze -f $f --all s.gcstack.gz >/dev/full 2>full.err
  rc=$?
  [ $rc = 2 ] && grep -q "^maproot: cannot write standard output: No space left on device" full.err ||
    fail "-f $f >/dev/full: exit $rc, $(cat full.err)"
  one_line full.err "-f $f >/dev/full"
  "$maproot" analyze -f $f --all s.gcstack.gz 2>pipe.err | head -c 1 >/dev/null
  rc=${PIPESTATUS[0]}
  [ $rc = 2 ] && grep -q "^maproot: cannot write standard output: Broken pipe" pipe.err ||
    fail "-f $f | head -c 1: exit $rc, $(cat pipe.err)"
  one_line pipe.err "-f $f | head -c 1"
done

# --- inputs: pipes, FIFOs, /dev/stdin are read once, snapshots included
cat s.gcstack.gz | "$maproot" analyze - >pipe.txt || fail "snapshot through a pipe"
cmp -s <(tail -n +5 pipe.txt) <(tail -n +5 ref.txt) || fail "snapshot through a pipe reads the same"
gunzip -c s.gcstack.gz | "$maproot" analyze /dev/stdin >/dev/null || fail "raw snapshot on /dev/stdin"
mkfifo in.fifo
(cat s.gcstack.gz >in.fifo &)
timeout 20 "$maproot" analyze in.fifo >/dev/null || fail "snapshot from a FIFO"
(cat s.pb.gz >in.fifo &)
timeout 20 "$maproot" analyze --summary in.fifo 2>/dev/null >/dev/null # a profile: no summary
(cat s.gcstack.gz >in.fifo &)
timeout 20 "$maproot" analyze --summary in.fifo | grep -q "OBJECTS BY TYPE" || fail "--summary from a FIFO"
cat o.gcstack.gz | timeout 20 "$maproot" diff - s.gcstack.gz >/dev/null 2>&1 || fail "diff with stdin"
"$maproot" diff - - </dev/null 2>err.txt
[ $? = 2 ] && grep -q "only one of" err.txt || fail "diff - -: $(cat err.txt)"

# a FIFO named like the profile's snapshot must not hang the profile
cp s.pb.gz p.pb.gz
mkfifo p.gcstack.gz
timeout 20 "$maproot" analyze p.pb.gz >p.txt 2>err.txt
[ $? = 0 ] || fail "a FIFO beside the profile: exit $?"
grep -q "p.gcstack.gz beside the profile is not a regular file" err.txt || fail "FIFO beside: $(cat err.txt)"
grep -q "inuse_space" p.txt || fail "the profile was not analysed beside a FIFO"
# a corrupt snapshot beside the profile: a warning, the profile analysed
rm p.gcstack.gz
head -c 3000 s.gcstack.gz >p.gcstack.gz
"$maproot" analyze p.pb.gz >p.txt 2>err.txt || fail "a corrupt snapshot beside the profile fails it"
grep -q "warning: .*p.gcstack.gz.*analysed without it" err.txt || fail "corrupt beside: $(cat err.txt)"
grep -q "inuse_space" p.txt || fail "the profile was not analysed beside a corrupt snapshot"
"$maproot" analyze -f dot p.pb.gz >/dev/null 2>err.txt
[ $? = 2 ] || fail "dot needs the snapshot beside: a corrupt one is an error"
# an unreadable one is warned about too (a directory cannot be read)
rm p.gcstack.gz
mkdir p.gcstack.gz
"$maproot" analyze p.pb.gz >/dev/null 2>err.txt || fail "a directory beside the profile fails it"
grep -q "p.gcstack.gz" err.txt || fail "a directory beside the profile is not warned about"

# --- unbounded inputs stop at their first bad byte, fast
timeout 10 "$maproot" analyze /dev/zero 2>err.txt
[ $? = 2 ] && grep -q "not a maproot snapshot, Go heap dump or pprof profile" err.txt || fail "/dev/zero: $(cat err.txt)"
head -c 200000000 /dev/zero | gzip -1 >zeros.gz
start=$(date +%s%N)
timeout 10 "$maproot" analyze zeros.gz 2>err.txt
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ $rc = 2 ] || fail "a gzip of zeros: exit $rc"
[ $ms -lt 2000 ] || fail "a gzip of zeros took ${ms} ms: inflated before looking"
# a valid profile start followed by an endless stream of one field
timeout 10 "$maproot" analyze --max-memory 64M <(head -c 20 s.pb.gz | gunzip -c 2>/dev/null; cat /dev/zero) 2>err.txt
[ $? = 2 ] || fail "endless input: exit status"
# a snapshot within a limit too small for it: the message says how much
"$maproot" analyze --max-memory 100K s.gcstack.gz >/dev/null 2>err.txt
[ $? = 2 ] || fail "--max-memory 100K: exit status"
one_line err.txt "--max-memory"
grep -Eq "s.gcstack.gz: needs ~[0-9.]+ (KiB|MiB|GiB) of memory for .*; raise --max-memory \(now 100 KiB\)" err.txt ||
  fail "--max-memory message: $(cat err.txt)"
"$maproot" analyze --max-memory 2K s.pb.gz 2>err.txt
[ $? = 2 ] && grep -q "raise --max-memory" err.txt || fail "--max-memory on a profile: $(cat err.txt)"
"$maproot" analyze --max-memory lots s.gcstack.gz 2>/dev/null
[ $? = 2 ] || fail "a bad --max-memory exits 2"
# without --max-memory a limit holds too: under an address-space limit
# (ulimit -v), half of what is left of it, so the message comes before
# malloc fails (not under a sanitizer, whose shadow memory needs more)
if [ -z "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
  MAPROOT_SNAPSHOT=big.gcstack.gz "$exdir/sessiond" >/dev/null 2>&1 || fail "sessiond failed"
  (ulimit -v 40000 && exec "$maproot" analyze big.gcstack.gz) >/dev/null 2>err.txt
  [ $? = 2 ] || fail "under ulimit -v 40000: exit status"
  one_line err.txt "the default limit"
  grep -Eq "big.gcstack.gz: needs ~[0-9.]+ MiB of memory for .*; raise --max-memory" err.txt ||
    fail "the default limit under ulimit -v: $(cat err.txt)"
fi

# --- a snapshot with a damaged magic is neither kind
gunzip -c s.gcstack.gz | python3 -c '
import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d.replace(b"maproot.gcstack", b"maproot.gcstacK", 1))' >damaged.gcstack
"$maproot" analyze damaged.gcstack 2>err.txt
[ $? = 2 ] && grep -q "not a maproot snapshot, Go heap dump or pprof profile" err.txt || fail "damaged magic: $(cat err.txt)"

# --- diff of snapshots of two different programs warns
"$maproot" diff o.gcstack.gz s.gcstack.gz >/dev/null 2>err.txt || fail "diff of two programs"
grep -q "warning: .*different programs" err.txt || fail "diff of two programs: no warning: $(cat err.txt)"
"$maproot" diff s.gcstack.gz s.gcstack.gz >/dev/null 2>err.txt
[ -s err.txt ] && fail "diff of one program warns: $(cat err.txt)"

ls ./*.tmp* >/dev/null 2>&1 && fail "temporary files left: $(ls ./*.tmp*)"
[ $fails -eq 0 ] && echo "test_io: all passed"
exit $((fails > 0))
