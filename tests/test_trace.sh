#!/usr/bin/env bash
# tests/test_trace.sh -- maproot trace and maproot ps against running
# programs, end to end (real binaries, real sockets):
#   - trace --pid sees the growing map with its root and growth site (the
#     root once the snapshot taken at attaching is analysed, however long
#     that takes); two clients at once are both served; Ctrl-C and
#     --duration detach; the program then finishes with its normal output
#     and exit status;
#   - -o DIR: first and last snapshot+profile (diff and analyze work on
#     them) and a Chrome trace-event timeline; --once -o FILE;
#   - the program exits during a trace: reported, what was had is written,
#     exit 0;
#   - in a sanitizer build a snapshot due while the agent's worker first
#     reads the debug information is written with the world stopped;
#   - a snapshot writer that hangs is killed and the failure reported:
#     trace -o says why and exits 2, --once too, nothing is written;
#   - a snapshot writer that waits on its output (a full pipe) longer than
#     the stall limit is slow, not stuck: it finishes, --once succeeds;
#   - an idle program: the view says it waits; --force-gc collects now;
#   - a client that stops reading does not hold the program up; a fifth
#     client is refused with a message; a client (and trace --profile-rate)
#     sets the profiling rate for as long as it stays;
#     a frame over the limit closes its connection, not the program;
#   - another uid (nobody) cannot attach: the directory keeps it out, and
#     where it can reach the socket the agent refuses it and says so;
#   - a stale socket (the program was killed) is removed by maproot ps
#     and by maproot trace --pid;
#   - a wrong pid, a program without the collector: exit 2 and why, and
#     no directory of -o DIR left behind (one that was there stays);
#   - trace -- PROG preloads the collector into a program on libmaprt alone
#     (and LD_PRELOAD=libmaproot.so works by hand), keeping its status;
#   - attaching and detaching many times leaves no thread, descriptor or
#     child process behind in the program.
# The programs run until the test says stop (a file), and every wait is
# for an event (a file, a line, a record, a count), bounded only to end a
# failure, so that no check depends on how fast or loaded this machine is;
# the groups of cases run at once.
# usage: test_trace.sh MAPROOT TARGET TARGET_PLAIN LIBMAPROOT WORKDIR
#        (CASES="case_live ..." runs only those groups)
set -uo pipefail
maproot=$1 target=$2 plain=$3 lib=$4 work=$5
here=$(cd "$(dirname "$0")" && pwd)
stub="$here/attach_stub.py"
rm -rf "$work"
mkdir -p "$work/tmp"
cd "$work" || exit 1
# sockets of this test's programs in a directory of its own; no runtime dir
export TMPDIR=$work/tmp
unset XDG_RUNTIME_DIR
sockdir=$TMPDIR/maproot-$(id -u)
# a build without -g names functions but has no file:line to give
dwarf=0
# (grep reads to the end: with pipefail, grep -q could end readelf by SIGPIPE)
readelf -S --wide "$target" | grep '\.debug_info' >/dev/null && dwarf=1
# each group notes its failures in fails.GROUP
group=main
fail() { echo "FAIL ($group): $*"; echo x >>"$work/fails.$group"; }
has() { grep -q -- "$1" "$2" || fail "$2 lacks '$1': $(head -c 600 "$2")"; }

# How long a wait for an event may take before it is a failure, and how
# long a program of the test may run at most (it stops when the test says;
# this only ends one a failed case left running): a machine loaded many
# times over (other builds) or a sanitizer build makes an idle machine's
# seconds into minutes. The test's own time limit (tests/meson.build) is
# above both.
bound=300 lifetime=900
# wait_until SECONDS CHECK...: until the command CHECK... succeeds, checked every
# 0.05 s; false if it has not after SECONDS. Every wait of this test is for
# an event: SECONDS only bounds a failure (a loaded machine or a sanitizer
# build takes many times longer than an idle one), so it is generous.
wait_until() {
  local end=$((SECONDS + $1))
  shift
  while ! "$@" 2>/dev/null; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.05
  done
}
# start NAME ARGS...: runs the target (ARGS, with -f NAME.stop: it runs
# until stop NAME) in the background, its pid in $pid, its output in
# NAME.out / NAME.err; returns once its endpoint is up
start() {
  local name=$1
  shift
  rm -f "$name.stop"
  "$target" -s $lifetime -g 100 -r 5000 -f "$PWD/$name.stop" "$@" -w >"$name.out" 2>"$name.err" &
  pid=$!
  up() { [ -S "$sockdir/maproot-$pid.sock" ] && grep -q ready "$name.out"; }
  wait_until $bound up || fail "$name: no endpoint appeared"
}
stop() { touch "$1.stop"; }
# finished PID STATUS NAME: the target ended with STATUS and its normal output
finished() {
  local st=0
  wait "$1" || st=$?
  [ "$st" = "$2" ] || fail "$3 ended with status $st, not $2: $(cat "$3.err")"
  grep -q '^trace_target: added [0-9]* sessions, cache holds [0-9]*$' "$3.out" ||
    fail "$3 lacks its normal output: $(cat "$3.out")"
}
# gc_cycles PID: the collections the program has run, as maproot ps sees them
gc_cycles() {
  "$maproot" ps --format json 2>/dev/null | python3 -c '
import json, sys
print(next((p["gc_cycles"] for p in json.load(sys.stdin) if p["pid"] == int(sys.argv[1])), 0))' "$1"
}
# no_children PID: the program has no child (snapshot writer) now
no_children() { [ -z "$(pgrep -P "$1")" ]; }
# settle PID: until the program's snapshot writers (children) are done
settle() { wait_until $bound no_children "$1" || fail "children of $1 stay: $(pgrep -P "$1")"; }
# wait_for FILE TEXT: until TEXT is in FILE
wait_for() { wait_until $bound grep -q -- "$2" "$1" || fail "$1 never said '$2'"; }
# views FILE N: FILE (a trace's text output) holds at least N views
views() { [ "$(grep -c '^maproot trace: ' "$1")" -ge "$2" ]; }
# records FILE CONDITION: some complete JSON record of the trace in FILE
# (r) meets the Python CONDITION
records() {
  python3 -c "import json, sys
sys.exit(0 if any((lambda r: $2)(json.loads(l)) for l in open(sys.argv[1])
                  if l.startswith('{') and l.endswith(chr(10))) else 1)" "$1"
}

# detach_when PID CHECK...: once the command CHECK... succeeds (checked
# every 0.1 s, for at most $bound s), detaches trace PID as Ctrl-C does
detach_when() {
  local tpid=$1
  shift
  local end=$((SECONDS + bound))
  while [ $SECONDS -lt $end ]; do
    "$@" 2>/dev/null && break
    kill -0 "$tpid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -INT "$tpid" 2>/dev/null
}
# a trace's JSON interval record shows the growing map with its root and
# where it grows (seen_def: the test; seen_py: a program that says whether
# any record of the file it is given does)
seen_def='
def seen(r):
    return r["event"] == "interval" and any(
        m["type"] == "map[string]*Session" and m["root"]
        and m["root"].startswith("global session_cache")
        and m["last_growth"]["function"] == "add_session"
        and m["last_growth"]["op"] == "mr_map_set" and m["change"] > 0
        and m["entries"] - m["entries_at_attach"] == m["change"]
        and m["retained_bytes_estimate"] > 0 for m in r["maps"])'
seen_py="import json, sys
$seen_def
sys.exit(0 if any(seen(json.loads(l)) for l in open(sys.argv[1]) if l.endswith(chr(10))) else 1)"
# text_seen FILE: the text view in FILE has shown the same
text_seen() {
  grep -q "^ .*map\[string\]\*Session *global session_cache" "$1" &&
    grep -q "last growth: add_session .*via mr_map_set" "$1"
}

# a live trace; two clients at once; detach; the program goes on
case_live() {
  group=case_live
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start a -x 7
  local apid=$pid
  "$maproot" ps >ps.txt 2>ps.err || fail "ps failed"
  grep -q "^ *$apid  trace_target " ps.txt || fail "ps lacks $apid: $(cat ps.txt)"
  "$maproot" ps --format json >ps.json || fail "ps --format json failed"
  python3 - "$apid" "$sockdir" <<'EOF' || fail "ps json: $(cat ps.json)"
import json, sys
pid, sockdir = int(sys.argv[1]), sys.argv[2]
ps = [p for p in json.load(open("ps.json")) if p["pid"] == pid]
assert len(ps) == 1 and ps[0]["program"].endswith("trace_target"), ps
assert ps[0]["uptime_s"] >= 0 and ps[0]["endpoint"].startswith(sockdir + "/"), ps
EOF
  # two clients at once, each detached (as by Ctrl-C) once it shows the
  # growing map with its root and growth site: the root comes when the
  # snapshot taken at attaching has been written and analysed, which a
  # loaded machine or a sanitizer build can take many intervals to do
  "$maproot" trace --pid "$apid" -i 1s --format json >a.json 2>a.err &
  local t1=$!
  "$maproot" trace --pid "$apid" -i 1s >a.txt 2>a2.err &
  local t2=$!
  detach_when "$t1" python3 -c "$seen_py" a.json &
  detach_when "$t2" text_seen a.txt &
  wait $t1 || fail "trace (json) failed: $(cat a.err)"
  wait $t2 || fail "trace (text, at the same time) failed: $(cat a2.err)"
  python3 - a.json <<EOF || fail "trace json: $(head -c 1500 a.json)"
import json, sys
$seen_def
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs[0]["event"] == "attach" and recs[-1]["event"] == "detach", [r["event"] for r in recs]
assert recs[-1]["reason"] == "detached", recs[-1]["reason"]
intervals = [r for r in recs if r["event"] == "interval"]
# the first record after attaching is a view (how soon it comes is the
# machine's: it waits for nothing but the program's first census)
assert recs[1]["event"] == "interval", recs[1]
assert any(seen(r) for r in intervals), intervals[-3:]
assert intervals[-1]["cycles_since_attach"] > 0 and intervals[-1]["heap_change_bytes"] > 0
# the global map that is replaced, never grown, is not a growing map
for r in intervals:
    assert not any(m["root"] and m["root"].startswith("global recent_jobs")
                   and m["entries_at_attach"] > 0 and m["change"] > 0 for m in r["maps"]), r
EOF
  has "GROWING MAPS since attach" a.txt
  has "global session_cache" a.txt
  if [ $dwarf = 1 ]; then
    has "last growth: add_session (.*trace_target.c:[0-9]*) via mr_map_set" a.txt
  else
    has "last growth: add_session via mr_map_set" a.txt
  fi
  has "^detached: trace_target (pid $apid); it goes on as before" a.txt
  # --duration ends a trace by itself
  "$maproot" trace --pid "$apid" -i 200ms -d 1s --format json >d.json 2>d.err || fail "trace -d: $(cat d.err)"
  tail -1 d.json | grep -q '"reason": *"detached after --duration"' || fail "trace -d: $(tail -c 300 d.json)"
  "$maproot" trace --pid "$apid" -i 200ms -d 1s >d.txt 2>&1 || fail "trace -d (text): $(cat d.txt)"
  has "detached after --duration: trace_target (pid $apid); it goes on as before" d.txt
  stop a
  finished "$apid" 7 a
}

# the program exits during the trace; the files of what was had
case_exits() {
  group=case_exits
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start b
  local bpid=$pid
  "$maproot" trace --pid "$bpid" -i 200ms -o bdir >b.txt 2>b.err &
  local t=$!
  wait_for bdir/first.gcstack.gz . # attached, and the first pair is there
  wait_until $bound test -s bdir/first.pb.gz
  # the timeline shows the map once a census after the first one saw it
  # grow: let at least three collections and three views pass
  local c0 v0
  c0=$(gc_cycles "$bpid")
  v0=$(grep -c '^maproot trace: ' b.txt)
  cycles_past() { [ "$(gc_cycles "$bpid")" -ge $((c0 + 3)) ]; }
  wait_until $bound cycles_past || fail "the program made no three collections"
  wait_until $bound views b.txt $((v0 + 3)) || fail "the trace showed no three views: $(cat b.err)"
  stop b
  wait $t || fail "trace of an exiting program: exit $?: $(cat b.err)"
  has "the program exited: trace_target (pid $bpid)" b.txt
  [ -s bdir/first.gcstack.gz ] && [ -s bdir/first.pb.gz ] || fail "no first pair: $(ls bdir)"
  [ -e bdir/last.gcstack.gz ] && fail "a last snapshot of a program that had exited"
  has "no last snapshot" b.txt
  python3 - <<'EOF' || fail "timeline: $(head -c 800 bdir/trace.json)"
import json
ev = json.load(open("bdir/trace.json"))["traceEvents"]
assert any(e["ph"] == "X" and e["name"].startswith("GC ") and e["dur"] > 0 for e in ev)
assert any(e["ph"] == "C" and e["name"] == "heap" and e["args"]["live"] > 0 for e in ev)
names = [e["name"] for e in ev if e["ph"] == "C"]
assert any(n.startswith("entries: map[string]*Session global session_cache") for n in names), names
assert any(e["ph"] == "M" and e["name"] == "process_name" for e in ev)
EOF
  finished "$bpid" 0 b
}

# -o DIR with a first and a last pair; --once
case_files() {
  group=case_files
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start c
  local cpid=$pid
  "$maproot" trace --pid "$cpid" -i 250ms -d 1s -o cdir >c.txt 2>c.err || fail "trace -o: $(cat c.err)"
  for f in first.gcstack.gz first.pb.gz last.gcstack.gz last.pb.gz trace.json; do
    [ -s "cdir/$f" ] || fail "cdir/$f missing"
  done
  has "compare: maproot diff cdir/first.gcstack.gz cdir/last.gcstack.gz" c.txt
  "$maproot" diff cdir/first.gcstack.gz cdir/last.gcstack.gz >cdiff.txt 2>&1 || fail "diff first last"
  has "GROWING  map\[string\]\*Session   root global session_cache" cdiff.txt
  "$maproot" analyze cdir/last.pb.gz >clast.txt 2>&1 || fail "analyze last.pb.gz"
  has "snapshot cdir/last.gcstack.gz beside the profile" clast.txt
  "$maproot" trace --pid "$cpid" --once -o once.gcstack.gz >once.txt 2>&1 || fail "--once: $(cat once.txt)"
  [ -s once.gcstack.gz ] && [ -s once.pb.gz ] || fail "--once wrote $(ls once* 2>&1)"
  "$maproot" analyze once.pb.gz 2>&1 | grep -q "root     global session_cache" || fail "analyze of --once"
  # -o DIR is made if missing, with its parents
  "$maproot" trace --pid "$cpid" -i 250ms -d 500ms -o deep/er/dir >deep.txt 2>&1 || fail "trace -o deep/er/dir: $(cat deep.txt)"
  [ -s deep/er/dir/first.gcstack.gz ] || fail "trace -o deep/er/dir wrote $(ls -R deep 2>&1)"
  : >afile
  "$maproot" trace --pid "$cpid" -d 500ms -o afile >afile.txt 2>&1 && fail "trace -o onto a file: exit 0"
  has "^maproot: afile: not a directory (-o takes a directory for the trace's files)$" afile.txt
  stop c
  finished "$cpid" 0 c
}

# a snapshot writer that hangs (MAPROOT_SNAPSHOT_FORK=stop: each one stops
# itself before writing) is killed once it has made no progress for
# MAPROOT_WRITER_STALL; the client says why and exits 2. (In a build whose
# fork guard found the agent busy, a snapshot is written in place: then
# that one is there, and --once succeeds.)
case_stuck_writer() {
  group=case_stuck_writer
  mkdir -p "$work/$group" && cd "$work/$group" || return
  # connections held 200 ms after their accept, and maproot ps connecting
  # meanwhile (below), but not in a sanitizer build: there the worker's
  # warm-up, which the first connection starts, makes the snapshots due
  # meanwhile be written in place, not forked (case_warm_guard)
  local hold=200 lister=""
  nm -D "$target" 2>/dev/null | grep -E ' T __(a|t)san_init$' >/dev/null && hold=0
  export MAPROOT_SNAPSHOT_FORK=stop MAPROOT_WRITER_STALL=1 MAPROOT_ACCEPT_HOLD_MS=$hold
  start k
  unset MAPROOT_SNAPSHOT_FORK MAPROOT_WRITER_STALL MAPROOT_ACCEPT_HOLD_MS
  local kpid=$pid st=0
  # a writer (stopped, past the fork) holds none of the program's sockets:
  # neither its endpoint nor a client's connection (looked at while the
  # trace runs, if one is seen stopped)
  (while :; do
    for w in $(pgrep -P "$kpid"); do
      if [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$w/stat" 2>/dev/null)" = T ]; then
        ls -l "/proc/$w/fd" >writer.fds 2>/dev/null
        exit
      fi
    done
    sleep 0.02
  done) &
  local watcher=$!
  # connections come and go meanwhile (as other users' maproot ps do),
  # each held 200 ms just after its accept until a writer is caught: a
  # writer forked then must not keep the new connection either
  if [ "$hold" != 0 ]; then
    (while [ ! -e writer.fds ]; do "$maproot" ps >/dev/null 2>&1; sleep 0.01; done) &
    lister=$!
  fi
  "$maproot" trace --pid "$kpid" -i 250ms -d 1s -o kdir >kt.txt 2>kt.err || st=$?
  kill "$watcher" $lister 2>/dev/null
  wait "$watcher" $lister 2>/dev/null
  grep -q "socket:" writer.fds && fail "a writer holds a socket of the program: $(cat writer.fds)"
  [ "$st" = 2 ] || fail "trace -o with stuck writers: exit $st, not 2: $(cat kt.err)"
  has "could not write kdir/\(first\|last\).gcstack.gz: snapshot: the snapshot writer process (pid [0-9]*) made no progress for 1 s and was killed (it was stopped)" kt.err
  has "no last snapshot: " kt.txt
  # the first pair failed (its snapshot gave the roots), and the last one
  # took longer: the last view does not wait for the first
  if grep -q "could not write kdir/first.gcstack.gz" kt.err; then
    awk '/^maproot trace: /{v=""} {v=v $0 "\n"} /^detached/{printf "%s", v; exit}' kt.txt >kt.last
    grep -q "(waiting for a snapshot)" kt.last && fail "the view waits for a failed snapshot: $(cat kt.last)"
  fi
  st=0
  "$maproot" trace --pid "$kpid" --once -o konce.gcstack.gz >konce.txt 2>&1 || st=$?
  if [ "$st" = 2 ]; then
    has "made no progress for 1 s and was killed" konce.txt
    [ -e konce.gcstack.gz ] && fail "--once wrote a stuck writer's file"
  elif [ "$st" != 0 ] || [ ! -s konce.gcstack.gz ]; then
    fail "--once with a stuck writer: exit $st: $(cat konce.txt)"
  fi
  # the program reaped its writers, and says what it killed
  [ -z "$(pgrep -P "$kpid")" ] || fail "writers left: $(ps -o pid,stat,args --ppid "$kpid")"
  has "maproot: attach: the snapshot writer process (pid [0-9]*) made no progress" k.err
  stop k
  finished "$kpid" 0 k
}

# a snapshot writer that waits on its output is slow, not stuck
# (MAPROOT_SNAPSHOT_FORK=slow:9: each one first writes 256 KiB into fd 9, a
# pipe this test drains only once the writer has waited there several
# times MAPROOT_WRITER_STALL): it is left to finish, and --once succeeds.
# (In a sanitizer build the snapshot may be written in place: then no
# writer waits, and --once succeeds all the same.)
case_slow_writer() {
  group=case_slow_writer
  mkdir -p "$work/$group" && cd "$work/$group" || return
  local sanitized=0
  nm -D "$target" 2>/dev/null | grep -E ' T __(a|t)san_init$' >/dev/null && sanitized=1
  mkfifo slow.pipe
  exec 8<>slow.pipe # the reader (opened first: the program's open waits for one)
  export MAPROOT_SNAPSHOT_FORK=slow:9 MAPROOT_WRITER_STALL=1
  start s 9>slow.pipe
  unset MAPROOT_SNAPSHOT_FORK MAPROOT_WRITER_STALL
  local spid=$pid st=0
  "$maproot" trace --pid "$spid" --once -o sonce.gcstack.gz >sonce.txt 2>&1 &
  local tpid=$!
  # a writer asleep on the full pipe: let it wait 4 stall limits, then drain
  blocked() {
    local w
    for w in $(pgrep -P "$spid"); do
      [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$w/stat" 2>/dev/null)" = S ] && return 0
    done
    return 1
  }
  local waited=0
  while kill -0 "$tpid" 2>/dev/null; do
    if blocked; then
      sleep 4
      if blocked; then
        waited=1
        timeout "$bound" head -c 262144 <&8 >/dev/null
      fi
      break
    fi
    sleep 0.05
  done
  wait "$tpid" || st=$?
  exec 8<&-
  [ "$st" = 0 ] || fail "--once with a slow writer: exit $st: $(cat sonce.txt)"
  [ -s sonce.gcstack.gz ] || fail "--once with a slow writer wrote nothing: $(cat sonce.txt)"
  "$maproot" analyze sonce.gcstack.gz >sonce.analyze 2>&1 ||
    fail "analyze of a slow writer's snapshot: $(head -c 600 sonce.analyze)"
  [ "$sanitized" = 1 ] || [ "$waited" = 1 ] || fail "no writer waited on the pipe"
  grep -q "made no progress" s.err && fail "a slow writer was killed: $(cat s.err)"
  stop s
  finished "$spid" 0 s
}

# an idle program: the view waits; --force-gc collects now
case_idle() {
  group=case_idle
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start d -i 120
  local dpid=$pid
  # each trace detached (as by Ctrl-C) once it has shown a view
  "$maproot" trace --pid "$dpid" -i 300ms --format json >d.json 2>d.err &
  local t=$!
  detach_when "$t" records d.json 'r["event"] == "interval"'
  wait "$t" || fail "trace idle: $(cat d.err)"
  python3 - <<'EOF' || fail "idle: not waiting: $(head -c 600 d.json)"
import json
r = [json.loads(l) for l in open("d.json")]
iv = [x for x in r if x["event"] == "interval"]
assert iv and all(x["waiting_for_gc"] and x["cycles_since_attach"] == 0 for x in iv), iv
EOF
  "$maproot" trace --pid "$dpid" -i 300ms >d.txt 2>&1 &
  t=$!
  detach_when "$t" grep -q "waiting for the program's" d.txt
  wait "$t" || fail "trace idle (text): $(cat d.txt)"
  has "waiting for the program's" d.txt
  "$maproot" trace --pid "$dpid" --once --force-gc -o forced.gcstack.gz >forced.txt 2>&1 || fail "--once --force-gc: $(cat forced.txt)"
  [ -s forced.gcstack.gz ] && [ -s forced.pb.gz ] || fail "--force-gc wrote nothing"
  # the program is still idle: the collection was the one forced
  kill -0 "$dpid" || fail "the idle program is gone"
  stop d
  finished "$dpid" 0 d
}

# a client that stops reading; a fifth client
case_clients() {
  group=case_clients
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start e
  local epid=$pid sock=$sockdir/maproot-$pid.sock
  # four clients; one that is refused (a maproot ps of another group may
  # hold a place for a moment) tries again
  local stall="" holds=() k since
  for k in stall hold1 hold2 hold3; do
    for _ in $(seq 50); do
      python3 "$stub" "$sock" "${k%[0-9]}" $lifetime >"$k.out" 2>&1 &
      local p=$!
      wait_until $bound grep -q "welcome\|refused" "$k.out"
      grep -q welcome "$k.out" && break
      wait $p
    done
    if [ "$k" = stall ]; then stall=$p since=$SECONDS; else holds+=("$p"); fi
  done
  "$maproot" trace --pid "$epid" --once -o fifth.gcstack.gz >fifth.txt 2>&1 && fail "a fifth client was served"
  has "too many clients are attached to this program already" fifth.txt
  # the program collects on while one of them reads nothing, and ends
  sleep 1
  stop e
  finished "$epid" 0 e
  kill -0 "$stall" 2>/dev/null || fail "the client that does not read is gone before the program"
  # the program keeps it attached for the 60 s a client may take nothing
  # for (this case lasts far less, unless the machine is loaded many times
  # over: then a close after them is the rule, not an early one)
  grep -q "took nothing" e.err && [ $((SECONDS - since)) -lt 60 ] &&
    fail "the client that does not read was closed early: $(cat e.err)"
  kill "$stall" "${holds[@]}" 2>/dev/null
  wait
}

# a bare client: it sets the profiling rate (from the program's next
# collection on); a frame over the limit is refused unread
case_requests() {
  group=case_requests
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start r
  local rpid=$pid
  # the rate the program says it samples at (its welcome's profile_rate);
  # asked of it alone, not through ps, which would take a place at every
  # program of the other groups
  rate_is() {
    [ "$(python3 "$stub" "$sockdir/maproot-$rpid.sock" welcome 15 2>&1)" = "$1" ]
  }
  rate_is 524288 || fail "the program does not start at the default rate"
  # it lasts while the client stays, and goes with it
  python3 "$stub" "$sockdir/maproot-$rpid.sock" rate 4096 $lifetime >rate.out 2>&1 &
  local holder=$!
  wait_for rate.out "reply ok: the rate takes effect at the next collection"
  wait_until $bound rate_is 4096 || fail "the rate is not 4096 after the program's next collections"
  kill "$holder"
  wait "$holder" 2>/dev/null
  wait_until $bound rate_is 524288 || fail "the program's rate did not come back when the client left"
  # maproot trace --profile-rate: the records show it (detached once one
  # does), detaching undoes it
  "$maproot" trace --pid "$rpid" --profile-rate 8K -i 500ms --format json \
    >rate.json 2>rate.err &
  local t=$!
  detach_when "$t" records rate.json 'r["profile_rate"] == 8192'
  wait "$t" || fail "trace --profile-rate failed: $(cat rate.err)"
  python3 - rate.json <<'EOF' || fail "trace --profile-rate: $(head -c 1500 rate.json)"
import json, sys
rates = [json.loads(l)["profile_rate"] for l in open(sys.argv[1])]
assert rates[0] == 524288 and 8192 in rates, rates
EOF
  wait_until $bound rate_is 524288 || fail "the program's rate did not come back after trace --profile-rate"
  local st=0
  "$maproot" trace --pid "$rpid" --profile-rate 8X >bad.out 2>bad.err || st=$?
  [ "$st" = 2 ] || fail "--profile-rate 8X: status $st"
  has "--profile-rate wants a size such as 512K, 64M or 8G, not \"8X\"" bad.err
  # a frame over the limit: the agent reads none of it and hangs up
  python3 "$stub" "$sockdir/maproot-$rpid.sock" huge 1073741824 >huge.out 2>&1 ||
    fail "a huge frame: $(cat huge.out)"
  has "^closed" huge.out
  wait_for r.err "attach frame: length 1073741824 is over the limit; closing"
  kill -0 "$rpid" || fail "a huge frame ended the program"
  stop r
  finished "$rpid" 0 r
}

# another uid
case_other_uid() {
  group=case_other_uid
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start f
  local fpid=$pid
  chmod o+x "$work" "$TMPDIR" "$work/$group"
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$maproot" trace --pid "$fpid" --once \
    -o /dev/null >nobody1.txt 2>&1 && fail "nobody attached through a private directory"
  has "Permission denied" nobody1.txt
  # where nobody can reach the socket, the agent refuses it
  chmod 755 "$sockdir" && chmod 666 "$sockdir/maproot-$fpid.sock"
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$maproot" trace --pid "$fpid" -d 500ms \
    >nobody2.txt 2>&1 && fail "nobody attached through an open socket"
  has "closed the connection before saying hello" nobody2.txt
  wait_for f.err "maproot: attach: refused a connection from uid $(id -u nobody)"
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$maproot" ps >nobody3.txt 2>&1
  grep -q "^ *$fpid " nobody3.txt && fail "nobody's ps lists root's program"
  chmod 700 "$sockdir"
  stop f
  finished "$fpid" 0 f
}

# a snapshot due while the agent's worker first reads the program's debug
# information (held long by a test hook): where the fork guard is on (a
# sanitizer build, whose allocator a fork can leave locked), it is written
# with the world stopped; elsewhere by a forked writer as always
case_warm_guard() {
  group=case_warm_guard
  mkdir -p "$work/$group" && cd "$work/$group" || return
  local want="forked child"
  nm -D "$target" 2>/dev/null | grep -E ' T __(a|t)san_init$' >/dev/null && want="stopped world"
  # (held long enough that the snapshot below comes while it lasts, on a
  # machine loaded many times over too)
  MAPROOT_WARM_HOLD_MS=60000 start w
  local wpid=$pid
  # the first client starts the worker, which then holds for 15 s
  "$maproot" trace --pid "$wpid" -i 100ms -d 300ms >first.txt 2>&1 || fail "first attach: $(cat first.txt)"
  "$maproot" trace --pid "$wpid" --once -o w.gcstack.gz >w.txt 2>&1 || fail "--once: $(cat w.txt w.err)"
  "$maproot" analyze --summary w.gcstack.gz >sum.txt 2>&1 || fail "summary: $(cat sum.txt)"
  has "written by a $want" sum.txt
  stop w
  finished "$wpid" 0 w
}

# a stale socket, a wrong pid, programs without the collector
case_refusals() {
  group=case_refusals
  mkdir -p "$work/$group" && cd "$work/$group" || return
  # an endpoint directory of its own: the other cases' maproot ps and trace
  # clean stale sockets too, and would race with the checks below
  export TMPDIR=$work/$group/tmp
  mkdir -p "$TMPDIR"
  sockdir=$TMPDIR/maproot-$(id -u)
  start g
  local gpid=$pid
  kill -9 "$gpid"
  wait "$gpid" 2>/dev/null
  [ -S "$sockdir/maproot-$gpid.sock" ] || fail "the killed program left no socket to clean up"
  "$maproot" ps >/dev/null 2>&1
  [ -e "$sockdir/maproot-$gpid.sock" ] && fail "ps left the stale socket of $gpid"
  # an endpoint whose process ended while a child of it holds the socket
  # open (listening still): stale all the same; ps removes it, says nothing
  # of it and does not wait for it
  python3 - "$sockdir" >held.pids <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("%s/maproot-%d.sock" % (sys.argv[1], os.getpid()))
s.listen(8)
child = os.fork()
if child == 0:
    os.close(1)
    time.sleep(60)
    os._exit(0)
print(os.getpid(), child)
EOF
  local hpid hchild
  read -r hpid hchild <held.pids
  grep -q " 00010000 .*maproot-$hpid.sock" /proc/net/unix || fail "the held socket is not listening"
  "$maproot" ps >held.out 2>held.err || fail "ps with a held endpoint failed"
  [ -e "$sockdir/maproot-$hpid.sock" ] && fail "ps left the socket of $hpid that its child holds"
  # (ps lists the other groups' programs too: one serving four clients
  # already refuses it, and says so)
  grep -q "process $hpid \|maproot-$hpid.sock" held.err && fail "ps on an ended process's endpoint: $(cat held.err)"
  grep -q "^ *$hpid " held.out && fail "ps lists the ended process $hpid"
  kill "$hchild"
  # trace --pid cleans up too, whatever pid it is given
  start g2
  local g2pid=$pid
  kill -9 "$g2pid"
  wait "$g2pid" 2>/dev/null
  [ -S "$sockdir/maproot-$g2pid.sock" ] || fail "the killed program left no socket to clean up"
  "$maproot" trace --pid "$g2pid" >stale.txt 2>&1
  [ $? = 2 ] || fail "a dead pid: exit not 2"
  has "maproot: no process $g2pid" stale.txt
  [ -e "$sockdir/maproot-$g2pid.sock" ] && fail "trace --pid left the stale socket of $g2pid"
  "$maproot" trace --pid 2147483000 -o wrong/out/dir >wrong.txt 2>&1
  [ $? = 2 ] || fail "a wrong pid: exit not 2"
  has "maproot: no process 2147483000" wrong.txt
  [ -e wrong ] && fail "a failed attach left -o's directories: $(find wrong)"
  "$plain" -s $lifetime -f "$PWD/plain.stop" -w >plain.out 2>&1 &
  local ppid=$!
  wait_for plain.out ready
  mkdir -p kept
  "$maproot" trace --pid "$ppid" -o kept/new/ >plain.txt 2>&1
  [ $? = 2 ] || fail "a program without the collector: exit not 2"
  [ -d kept ] && [ ! -e kept/new ] || fail "a failed attach: -o kept/new/ left $(find kept), or not kept"
  has "runs on libmaprt without the collector, so it cannot be attached to: link it with -lmaproot, or start it with LD_PRELOAD=libmaproot.so.0 (maproot trace -- PROG does that)" plain.txt
  touch plain.stop
  sleep 30 &
  local spid=$!
  "$maproot" trace --pid $spid -o "$PWD/sleep-out" >sleep.txt 2>&1
  [ $? = 2 ] || fail "sleep: exit not 2"
  [ -e sleep-out ] && fail "a failed attach left -o $PWD/sleep-out"
  has "has no maproot endpoint: it does not link libmaproot" sleep.txt
  kill $spid
  wait
}

# the collector preloaded into a program on libmaprt alone
case_preload() {
  group=case_preload
  mkdir -p "$work/$group" && cd "$work/$group" || return
  # the program stops once the trace has shown its map with the root (a
  # sanitizer build on a loaded machine may take a minute to get there)
  (wait_until $bound grep -q 'global session_cache' h.json
   sleep 0.5
   touch h.stop) &
  MAPROOT_PRELOAD=$lib "$maproot" trace -i 300ms --format json -- "$plain" -s $lifetime -g 100 \
    -f "$PWD/h.stop" -x 5 >h.json 2>h.err
  local st=$?
  [ $st = 5 ] || fail "trace -- PROG: status $st, not the program's 5: $(cat h.err)"
  grep -q '^trace_target: added' h.json || fail "trace -- PROG: the program's output is missing"
  # a program that cannot be started: maproot's own status, 2, one line
  "$maproot" trace -- "$PWD/no-such-program" >nsp.out 2>nsp.err
  st=$?
  [ $st = 2 ] && [ "$(wc -l <nsp.err)" = 1 ] &&
    grep -q "^maproot: cannot run $PWD/no-such-program: No such file or directory$" nsp.err ||
    fail "trace -- a missing program: status $st: $(cat nsp.err)"
  grep '^{' h.json | python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
assert recs[0]["event"] == "attach" and recs[0]["cycle"] == 0, recs[0]
assert recs[-1]["reason"] == "the program exited", recs[-1]
assert any(m["type"] == "map[string]*Session" and m["root"] and "session_cache" in m["root"]
           for r in recs for m in r["maps"]), recs
' || fail "trace -- PROG records: $(head -c 1000 h.json)"
  LD_PRELOAD=$lib "$plain" -s $lifetime -g 100 -f "$PWD/h2.stop" -w >h2.out 2>h2.err &
  local hpid=$!
  wait_for h2.out ready
  "$maproot" trace --pid "$hpid" --once -o pre.gcstack.gz >pre.txt 2>&1 || fail "LD_PRELOAD by hand: $(cat pre.txt h2.err)"
  touch h2.stop
  wait "$hpid" || fail "the preloaded program failed: $(cat h2.err)"
  wait
}

# fewest_channels PID: the fewest descriptors PID has in a few looks that
# are not files of the file system (sockets, pipes, event descriptors). The
# maproot ps of other groups lists every program, and a connection of theirs
# to this one comes and goes at any time; files are left out because the
# agent's symbolizer opens the program's executable and libraries when it
# first needs each, which may be at any attach, and keeps them for the
# program's life
fewest_channels() {
  local least="" n
  for _ in 1 2 3 4 5; do
    n=$(ls -l /proc/"$1"/fd | awk 'NR > 1 && $NF !~ /^\// { n++ } END { print n + 0 }')
    if [ -z "$least" ] || [ "$n" -lt "$least" ]; then least=$n; fi
    sleep 0.05
  done
  echo "$least"
}

# many attaches and detaches leave nothing behind
case_leftovers() {
  group=case_leftovers
  mkdir -p "$work/$group" && cd "$work/$group" || return
  start i
  local ipid=$pid
  # the first attaches make what stays for the program's life (the agent's
  # symbolizer and the files it keeps open); after them, nothing may grow
  "$maproot" trace --pid "$ipid" --once -o i0.gcstack.gz >/dev/null 2>&1 || fail "once 0"
  "$maproot" trace --pid "$ipid" -i 100ms -d 500ms >/dev/null 2>&1 || fail "attach 0"
  settle "$ipid"
  ls -l /proc/"$ipid"/fd | sed 's/.* [0-9][0-9]:[0-9][0-9] //' | sort >fds0.txt
  local threads0 fds0 threads1 fds1
  threads0=$(ls /proc/"$ipid"/task | wc -l)
  fds0=$(fewest_channels "$ipid")
  for k in $(seq 8); do
    "$maproot" trace --pid "$ipid" -i 100ms -d 200ms >/dev/null 2>&1 || fail "attach $k"
    "$maproot" ps >/dev/null 2>&1
  done
  for k in 1 2; do "$maproot" trace --pid "$ipid" --once -o "i$k.gcstack.gz" >/dev/null 2>&1 || fail "once $k"; done
  settle "$ipid"
  # (a thread of the agent's that has finished its work may take a moment
  # to be gone on a loaded machine, and so may a descriptor of it)
  threads_back() { threads1=$(ls /proc/"$ipid"/task | wc -l) && [ "$threads1" -le "$threads0" ]; }
  fds_back() { fds1=$(fewest_channels "$ipid") && [ "$fds1" -le "$fds0" ]; }
  wait_until $bound threads_back
  wait_until $bound fds_back
  [ "$threads1" = "$threads0" ] || fail "threads $threads0 -> $threads1 after attaching and detaching"
  ls -l /proc/"$ipid"/fd | sed 's/.* [0-9][0-9]:[0-9][0-9] //' | sort >fds1.txt
  [ "$fds1" -le "$fds0" ] || fail "sockets, pipes and the like $fds0 -> $fds1: $(diff fds0.txt fds1.txt)"
  # a file the symbolizer keeps is opened once, however many attaches need it
  local twice
  twice=$(awk '$3 ~ /^\// { n[$3]++; if (FILENAME == "fds0.txt") was[$3]++ }
    END { for (f in n) if (n[f] - was[f] > (was[f] ? was[f] : 1)) print f }' fds0.txt fds1.txt)
  [ -z "$twice" ] || fail "files open more than once after attaching and detaching: $twice"
  [ -z "$(pgrep -P "$ipid")" ] || fail "children left: $(pgrep -P "$ipid")"
  stop i
  finished "$ipid" 0 i
  [ -e "$sockdir/maproot-$ipid.sock" ] && fail "the endpoint stayed after the program ended"
}

for c in ${CASES:-case_live case_exits case_files case_stuck_writer case_slow_writer case_idle \
  case_clients case_requests case_other_uid case_refusals case_preload case_leftovers case_warm_guard}; do
  "$c" &
done
wait
n=$(cat "$work"/fails.* 2>/dev/null | wc -l)
echo "$n failures"
[ "$n" = 0 ]
