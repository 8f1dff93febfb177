#!/usr/bin/env bash
# tests/test_gate.sh -- `maproot gate`, the CI leak gate, end to end: on the
# examples through scripts/ci-leak-gate (every leaking example fails with the
# right map and root, the bounded cache passes, the JUnit XML validates
# against tests/gate/junit.xsd), and on the programs of tests/gate_heaps.c,
# each shaped for one answer: every rule fires where it should and stays
# quiet on a steady state; suppressions, unused ones, baselines, warm-up,
# the order of a series, policy and baseline errors with their lines,
# JSON, GitHub annotations, exit status; and --fail-on of analyze and diff.
# usage: test_gate.sh MAPROOT EXAMPLES_DIR WORKDIR GATE_HEAPS SRCDIR
set -uo pipefail

maproot=$1 exdir=$2 work=$3 heaps=$4 src=$5
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TMPDIR=$work/tmp # where the gate's runs keep their snapshots
mkdir -p "$TMPDIR"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
xsd=$src/tests/gate/junit.xsd
dwarf=0
# (grep reads all of it: under pipefail an early exit would fail readelf)
readelf -S --wide "$exdir/sessiond" | grep -c '\.debug_info' >/dev/null && dwarf=1

# gate NAME ARGS...: runs maproot gate, stdout to NAME.out, stderr to
# NAME.err; $rc is its exit status. The programs it runs sample every
# allocation (rate 1): the checks of sites, and of suppressions by function
# and file, must not depend on the sampler's draw (at the default rate a
# map of gate_heaps two has no sampled allocation in about one run in 20);
# gate_rate=R before it runs them at rate R instead.
gate() {
  local name=$1
  shift
  MAPROOT_PROFILE_RATE=${gate_rate:-1} "$maproot" gate "$@" >"$name.out" 2>"$name.err"
  rc=$?
}
expect_rc() { # expect_rc NAME WANT
  [ "$rc" -eq "$2" ] || fail "$1: exit $rc, not $2: $(head -c 600 "$1.err")"
}
# json_check NAME PYTHON: assertions on NAME.json (`j`), a failure prints
# what is wrong
json_check() {
  python3 - "$1.json" "$1" <<PY || fail "$1: the JSON report is not what it should be (above)"
import json, sys
j = json.load(open(sys.argv[1]))
bad = []
def want(cond, what):
    if not cond: bad.append(what)
def checks(rule=None, status=None):
    return [c for c in j["checks"] if (rule is None or c["rule"] == rule) and (status is None or c["status"] == status)]
$2
if bad:
    print(sys.argv[2] + ": " + "; ".join(bad)); sys.exit(1)
PY
}
valid_junit() { # valid_junit FILE
  xmllint --noout --schema "$xsd" "$1" 2>"$1.lint" || fail "$1 does not validate against junit.xsd: $(head -5 "$1.lint")"
}

# --------------------------------------------------------------- examples
# Each leaking example fails the gate run by the CI step; the failing
# testcase names the map (type in holder) and the report its root.
ci() { # ci EXAMPLE [ci-leak-gate options]: $rc, EXAMPLE.out, EXAMPLE.xml
  local ex=$1
  shift
  MAPROOT=$maproot "$src/scripts/ci-leak-gate" --junit "$ex.xml" "$@" -- "$exdir/$ex" >"$ex.out" 2>"$ex.err"
  rc=$?
}
leaking() { # leaking EXAMPLE RULE TESTCASE-REGEX ROOT-REGEX [CI-OPTION...] (snapshots kept in EXAMPLE.snaps)
  local ex=$1 rule=$2 tc=$3 root=$4
  shift 4
  ci "$ex" --keep "$ex.snaps" "$@"
  expect_rc "$ex" 1
  [ -s "$ex.xml" ] || { fail "$ex: no JUnit XML"; return; }
  valid_junit "$ex.xml"
  python3 - "$ex.xml" "$rule" "$tc" <<'PY' || fail "$ex: no failing $rule testcase named '$tc' in the JUnit XML"
import re, sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1])
ok = any(re.fullmatch(r"maproot\.gate\.(?:" + sys.argv[2] + ")", tc.get("classname"))
         and re.fullmatch(sys.argv[3], tc.get("name"))
         and tc.find("failure") is not None for tc in t.iter("testcase"))
sys.exit(0 if ok else 1)
PY
  grep -Eq "^[A-Z]+  [^ ]+  root $root" "$ex.out" ||
    fail "$ex: the report does not name the root '$root': $(grep -m3 '^[A-Z]' "$ex.out")"
  grep -q "ci-leak-gate: FAIL" "$ex.err" || fail "$ex: ci-leak-gate did not say FAIL"
}
leaking sessiond growth 'map\[string\]\*Session in global session_cache' "global session_cache"
# the open iterator's frame: in a sanitizer build, whose frames keep more
# copies of the table's pointer, a word of that frame holds it too, and a
# stale copy in the main thread's frame may as well (a stack word comes
# before an iterator in the root order): the table then also counts as
# growing, since its root is a frame of the main thread. (In other builds
# such a stale copy lay in the closing report's uninitialised statistics,
# 1 run in 4; examples/example.h now zeroes them before collecting.)
if [ -n "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
  leaking iterator_pin 'suspect|growth' \
    'map\[int64\]\*Job in (iterator|stack) (worker_loop|example_report_as)' \
    "(iterator: thread [0-9]+|stack: thread [0-9]+|register [a-z0-9]+ of thread [0-9]+), frame #[0-9] (worker_loop|example_report_as)"
else
  leaking iterator_pin suspect 'map\[int64\]\*Job in (iterator|stack) worker_loop' \
    "(iterator: thread 2|stack: thread 2|register [a-z0-9]+ of thread 2), frame #[0-9] worker_loop"
fi
leaking emptied_map suspect 'map\[int64\]Record in global ingest_buffer' "global ingest_buffer"
leaking local_map growth 'map\[int64\]\*Request in stack worker_loop' \
  "(stack: thread 2|register [a-z0-9]+ of thread 2), frame #[0-9] worker_loop"
leaking pointer_keys suspect 'map\[\*Buffer\]int64 in global bytes_by_buffer' "global bytes_by_buffer"
leaking mid_growth suspect 'map\[int64\]\*Order in global orders' "global orders"
# shared_entries ends its run with a map that shrank (its eviction) while the
# pinned index keeps every document: no growth and none of the default
# evidence; a policy that asks for large_share (a map that holds most of the
# heap, alone or with the roots that share its values) catches it
cat >shared-policy.json <<'EOF'
{"suspect": {"evidence": ["emptied", "iterator_only", "old_buckets", "pointer_keys",
                          "stack_frame", "large_share"]}}
EOF
leaking shared_entries suspect 'map\[int64\]\*Document in global docs_by_id' "global docs_by_id" \
  --policy shared-policy.json
# sessiond's growth report: the keys added, the growth per interval, the site
grep -q 'keys     added "user-' sessiond.out || fail "sessiond: no keys added in the report"
grep -q 'entries per interval' sessiond.out || fail "sessiond: no growth per interval"
if [ "$dwarf" = 1 ]; then
  grep -q 'sites    new_session (.*examples/sessiond.c:[0-9]*)' sessiond.out ||
    fail "sessiond: the allocation site new_session with its line is not named: $(grep sites sessiond.out)"
fi
# the heap rule and the caps fire on sessiond's series too
cat >sessiond-limits.json <<'EOF'
{"growth": false, "suspect": false, "heap": {"max_growth": "64MiB"},
 "caps": [{"map": "map[string]*Session", "max_entries": 100000},
          {"type": "Session", "max_objects": 50000}]}
EOF
gate sl --policy sessiond-limits.json -f json sessiond.snaps/sessiond.0*.gcstack.gz
expect_rc sl 1
mv sl.out sl.json
json_check sl '
f = sorted((c["rule"], c["subject"]) for c in checks(status="fail"))
want(f == [("cap", "map[string]*Session in global session_cache"), ("cap", "type Session"), ("heap", "heap")], f)
# every chain says how long it is whole: shown whole here, short as it is
want(j["maps"] and all(m["chain_steps"] == len(m["chain"]) and m["chain_elided"] == 0 for m in j["maps"]),
     [(m["chain_steps"], m["chain_elided"], len(m["chain"])) for m in j["maps"]])'
# the bounded cache warms up, plateaus, and passes, with every rule on
# once its warm-up is over
ci lru_cache --every 4 --keep lru.snaps
expect_rc lru_cache 0
valid_junit lru_cache.xml
grep -q 'failures="0"' lru_cache.xml || fail "lru_cache: the JUnit XML has failures"
grep -q '^maproot gate: PASS' lru_cache.out || fail "lru_cache: not PASS: $(head -1 lru_cache.out)"
cat >lru-all.json <<'EOF'
{"warmup": 12, "heap": {"max_growth": "4MiB"},
 "suspect": {"evidence": ["emptied", "iterator_only", "old_buckets", "pointer_keys", "stack_frame"]},
 "caps": [{"map": "map[string]*Page", "max_entries": 10000},
          {"root": "global page_cache", "max_retained": "64MiB"}]}
EOF
gate la --policy lru-all.json -f json lru.snaps/lru_cache.0*.gcstack.gz
expect_rc la 0
mv la.out la.json
json_check la '
want(checks("growth") and checks("suspect") and checks("heap") and checks("cap"), "every rule ran")
want(sum(1 for s in j["snapshots"] if not s["warmup"]) >= 4, "4 snapshots judged after the warm-up")
want(not checks(status="fail"), checks(status="fail"))' 

# ---------------------------------------------------------- quiet rules
# a steady state passes every rule, the heap rule and caps included
cat >all.json <<'EOF'
{"version": 1, "heap": {"max_growth": "4MiB"},
 "caps": [{"map": "*", "max_entries": 100000}, {"root": "*", "max_retained": "64MiB"},
          {"type": "*", "max_bytes": "256MiB"}]}
EOF
gate steady --policy all.json -f json -- "$heaps" steady
expect_rc steady 0
mv steady.out steady.json
json_check steady '
want(j["verdict"] == "pass" and j["exit_status"] == 0, "a pass")
want(len(j["snapshots"]) == 8, "8 snapshots, one a tick: %d" % len(j["snapshots"]))
want(checks("heap") and checks("cap") and checks("growth"), "heap, cap and growth checks")
want(not checks(status="fail"), "no failure: %s" % checks(status="fail"))'
# a map that grows a little every interval: under the minimum, then over
gate slow -- "$heaps" slow
expect_rc slow 0
printf '{"growth": {"min_entries": 0, "min_bytes": 0}}\n' >nomin.json
gate slow0 --policy nomin.json -- "$heaps" slow
expect_rc slow0 1
grep -q '^LEAK  map\[int64\]\*Blob  root global slow_index' slow0.out || fail "slow with no minimum: no leak of slow_index"
# a map replaced by a new one under the same root is one map, not growing
gate replace -f json -- "$heaps" replace
expect_rc replace 0
mv replace.out replace.json
json_check replace '
want(len(j["maps"]) == 1, "one map followed: %d" % len(j["maps"]))
want(len(j["maps"][0]["points"]) == 8, "in 8 snapshots")
want(j["maps"][0]["holder"] == "global window", j["maps"][0]["holder"])'

# ------------------------------------------------------ rules that fire
gate two -f json -- "$heaps" two
expect_rc two 1
mv two.out two.json
json_check two '
g = checks("growth", "fail")
want(sorted(c["subject"] for c in g) == ["map[int64]*Blob in global audit_log", "map[string]*Blob in global metrics"], [c["subject"] for c in g])
want(j["schema"] == "maproot-gate/1", "schema")
want(j["counts"]["violations"] == 2 and j["counts"]["growth"] == 2, j["counts"])
m = [x for x in j["maps"] if x["holder"] == "global metrics"][0]
want(m["keys_added"] == 14000, "keys added %d" % m["keys_added"])
want(m["added_keys_sample"][:2] == ["\"metric-2000\"", "\"metric-2001\""], m["added_keys_sample"])
want([p["entries"] for p in m["points"]] == [2000 * (i + 1) for i in range(8)], [p["entries"] for p in m["points"]])'
# heap growth, caps per map, root and type
cat >heap.json <<'EOF'
{"growth": false, "suspect": false, "heap": {"max_growth": "1MiB"}}
EOF
gate heap --policy heap.json -- "$heaps" two
expect_rc heap 1
grep -q '^HEAP  heap' heap.out || fail "heap rule: no HEAP violation: $(head -3 heap.out)"
cat >caps.json <<'EOF'
{
  "growth": false,
  "suspect": false,
  "caps": [
    {"map": "map[string]*Blob", "max_entries": 10000},
    {"root": "global audit_log", "max_retained": "1MiB"},
    {"type": "*", "max_bytes": "1GiB"}
  ]
}
EOF
gate caps --policy caps.json -f json -o caps.json.out -- "$heaps" two
expect_rc caps 1
mv caps.json.out caps.json.rep
cp caps.json.rep capsr.json
json_check capsr '
f = checks("cap", "fail")
want(sorted(c["subject"] for c in f) == ["map[string]*Blob in global metrics", "root global audit_log"], [c["subject"] for c in f])
want(any(c["subject"].startswith("type ") and c["status"] == "pass" for c in checks("cap")), "type caps pass")'

# ----------------------------------------------------------- suppressions
cat >sup.json <<'EOF'
{
  "suppressions": [
    {"function": "record_audit", "reason": "the audit log is rotated by an outside job"},
    {"root": "global nothing_here", "reason": "left over from an old leak"},
    {"map": "map[string]*Blob", "rules": ["suspect"], "reason": "only a suspect"}
  ]
}
EOF
gate sup --policy sup.json --junit sup.xml --github -- "$heaps" two
expect_rc sup 1
valid_junit sup.xml
grep -q '^maproot gate: FAIL  1 violation' sup.out || fail "suppressions: not 1 violation: $(grep -m1 '^maproot' sup.out)"
grep -q '^LEAK  map\[string\]\*Blob  root global metrics' sup.out || fail "suppressions: metrics is not the violation"
grep -q '^suppressed  growth  map\[int64\]\*Blob in global audit_log: sup.json:3 function "record_audit"' sup.out ||
  fail "suppressions: audit_log not shown suppressed by line 3: $(grep suppressed sup.out)"
grep -q '^unused suppression  sup.json:4 root "global nothing_here"' sup.out || fail "the unused suppression is not reported"
grep -q '^unused suppression  sup.json:5 map' sup.out || fail "the suspect-only suppression is not unused"
grep -q 'skipped message="suppressed by sup.json:3: the audit log' sup.xml || fail "JUnit: the suppressed testcase is not skipped"
grep -q 'skipped message="unused suppression' sup.xml || fail "JUnit: the unused suppression is not a skipped testcase"
# GitHub annotations: well formed workflow commands, as maproot-gate(1)'s
# example is
python3 - sup.out "$dwarf" "$src/man/maproot-gate.1" <<'PY' || fail "the GitHub annotations are not well formed (above)"
import re, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("::")]
cmd = re.compile(r"^::(error|warning) (file=[^,:%\n]*(%[0-9A-F]{2}[^,:%\n]*)*(,line=[0-9]+)?,)?title=[^,:\n]*::[^\n]*$")
man = [l for l in open(sys.argv[3]) if l.startswith("::error")]
bad = [l for l in lines + man if not cmd.match(l.rstrip("\n"))]
errs = [l for l in lines if l.startswith("::error")]
warns = [l for l in lines if l.startswith("::warning")]
if bad or len(errs) != 1 or len(warns) != 2 or len(man) != 1:
    print("bad:", bad, "errors:", len(errs), "warnings:", len(warns)); sys.exit(1)
if sys.argv[2] == "1" and not re.search(r"file=[^,]*gate_heaps\.c,line=[0-9]+,", errs[0]):
    print("the error is not at a line of gate_heaps.c:", errs[0][:200]); sys.exit(1)
if "%0A" not in errs[0] or "\n" in errs[0].rstrip("\n"):
    print("the message's lines are not escaped"); sys.exit(1)
if not re.match(r"::warning file=sup\.json,line=4,", warns[0]):
    print("the unused suppression is not at sup.json line 4:", warns[0]); sys.exit(1)
PY
printf '{"suppressions": [{"root": "global *", "reason": "known"}]}\n' >supall.json
gate supall --policy supall.json -- "$heaps" two
expect_rc supall 0
# by the source file of an allocation site (a file is known from DWARF only)
if [ "$dwarf" = 1 ]; then
  cat >supfile.json <<'EOF'
{"suppressions": [{"file": "*/gate_heaps.c", "reason": "the test heaps leak on purpose"},
                  {"file": "*/no_such_file.c", "reason": "an old leak"}]}
EOF
  gate supfile --policy supfile.json -- "$heaps" two
  expect_rc supfile 0
  [ "$(grep -c '^suppressed  growth  .*: supfile.json:1 file "\*/gate_heaps.c"' supfile.out)" = 2 ] ||
    fail "file suppression: both growths not suppressed by the file glob: $(grep -E '^(suppressed|LEAK)' supfile.out)"
  grep -q '^unused suppression  supfile.json:2 file "\*/no_such_file.c"' supfile.out ||
    fail "file suppression: the unused one is not reported: $(grep unused supfile.out)"
fi
# a map none of whose allocations was sampled has no frames: a suppression by
# function (or file) cannot match it, the report says no site was sampled
printf '{"suppressions": [{"function": "record_audit", "reason": "rotated"}]}\n' >supnone.json
gate_rate=0 gate supnone --policy supnone.json -- "$heaps" two
expect_rc supnone 1
[ "$(grep -c '^  sites    none sampled (MAPROOT_PROFILE_RATE' supnone.out)" = 2 ] ||
  fail "sampling off: the sites are not said to be none sampled: $(grep sites supnone.out)"
grep -q '^unused suppression  supnone.json:1 function "record_audit"' supnone.out ||
  fail "sampling off: the function suppression is not unused: $(grep -E '^(suppressed|unused)' supnone.out)"
grep -q '^unused suppression  supnone.json:1 .* (could not apply to 2 violations of maps with no sampled allocation: MAPROOT_PROFILE_RATE=1 samples every one)$' supnone.out ||
  fail "sampling off: the unused suppression does not say it could not apply: $(grep unused supnone.out)"

# --------------------------------------------------------------- baselines
gate base1 --write-baseline base.json -- "$heaps" two
expect_rc base1 1
python3 -c "import json,sys; b=json.load(open('base.json')); sys.exit(0 if b['maproot_gate_baseline']==2 and len(b['maps'])==2 else 1)" ||
  fail "the baseline written is not one: $(head -c 300 base.json)"
gate base2 --baseline base.json -- "$heaps" two
expect_rc base2 0
grep -q '2 within the baseline base.json' base2.out || fail "baseline: the accepted checks are not said: $(head -4 base2.out)"
gate base3 --baseline base.json -- "$heaps" two 2
expect_rc base3 1
grep -q '^LEAK  map\[int64\]\*Blob  root global audit_log' base3.out || fail "baseline: growth beyond it is not a leak"
# Two maps of one type under one global (the fields hot and cold of the
# struct `shards` points at), made by the checked runs in the other order
# than by the baseline's, so that their addresses swap: the baseline pairs
# each with itself by its way from the root (the field), as `maproot diff`
# pairs the maps of two runs. hot growing as in the baseline's run is
# within it; hot growing twice as much is a leak of hot (within cold's
# 60,000 entries, so that pairing by address order would accept it).
gate sbase --write-baseline shards-base.json -- "$heaps" shards
expect_rc sbase 1
python3 - shards-base.json <<'PY' || fail "the shards baseline does not record each map's way: $(head -c 600 shards-base.json)"
import json, sys
b = json.load(open(sys.argv[1]))
ways = {m["way"]: m["entries"] for m in b["maps"] if m["holder"] == "global shards"}
sys.exit(0 if b["maproot_gate_baseline"] == 2 and ways == {"Shards+0": 24000, "Shards+8": 60000} else 1)
PY
gate sok --baseline shards-base.json -- "$heaps" shards_swapped
expect_rc sok 0
grep -q '^baseline    growth  map\[int64\]\*Blob in global shards via Shards+0: within shards-base.json$' sok.out ||
  fail "shards, hot growing as in the baseline: not accepted as hot: $(grep -E '^(LEAK|baseline) ' sok.out)"
gate sleak --baseline shards-base.json -- "$heaps" shards_swapped 2
expect_rc sleak 1
grep -A8 '^LEAK  map\[int64\]\*Blob  root global shards' sleak.out | grep -q '^  way      Shards+0$' ||
  fail "shards, hot growing beyond the baseline: no leak of hot (Shards+0): $(grep -E -A8 '^(LEAK|baseline) ' sleak.out)"
gate sleakj --baseline shards-base.json -f json -- "$heaps" shards_swapped 2
expect_rc sleakj 1
mv sleakj.out sleakj.json
json_check sleakj '
bad_ = checks(status="fail")
want(len(bad_) == 1 and bad_[0]["rule"] == "growth", "one failed check, of growth: %s" % bad_)
want(bad_ and bad_[0]["subject"] == "map[int64]*Blob in global shards via Shards+0", bad_ and bad_[0]["subject"])
m = j["maps"][bad_[0]["map"]] if bad_ else {}
want(m.get("way") == "Shards+0" and m["points"][-1]["entries"] == 48000, "the failed map is hot: %s" % m.get("way"))
want(not checks(status="baseline"), "nothing accepted: %s" % checks(status="baseline"))'
# a baseline of version 1 (no ways) with two such maps is refused, to be
# written again; one without them is still read
python3 - shards-base.json base.json <<'PY'
import json, sys
for f in sys.argv[1:]:
    b = json.load(open(f))
    b["maproot_gate_baseline"] = 1
    for m in b["maps"]: del m["way"]
    json.dump(b, open(f.replace(".json", "-v1.json"), "w"), indent=2)
PY
gate sv1 --baseline shards-base-v1.json -- "$heaps" shards_swapped 2
expect_rc sv1 2
grep -Eq '^maproot: shards-base-v1\.json:[0-9]+: maps\[1\]: has the type and holder of maps\[0\]: a baseline of version 1 .* write it again with maproot gate --write-baseline$' sv1.err ||
  fail "a version 1 baseline with two maps of one type and holder: $(cat sv1.err)"
gate bv1 --baseline base-v1.json -- "$heaps" two
expect_rc bv1 0
# names that are not UTF-8 (a type named in Latin-1): the baseline holds
# them as JSON can, for a map and for a type cap, and pairs them again
printf '{"caps": [{"type": "Caf*", "max_objects": 100}]}\n' >latin.json
gate lat1 --policy latin.json --write-baseline latin-base.json -- "$heaps" latin1
expect_rc lat1 1
python3 - latin-base.json <<'PY' || fail "the Latin-1 names are not in the baseline: $(cat lat1.err; head -c 600 latin-base.json)"
import json, sys
b = json.load(open(sys.argv[1]))
assert [m["type"] for m in b["maps"]] == ["map[int64]*Caf\u00e9"], b["maps"]
assert [(t["type"], t["objects"]) for t in b["types"]] == [("Caf\u00e9", 8000)], b["types"]
PY
gate lat2 --policy latin.json --baseline latin-base.json -- "$heaps" latin1
expect_rc lat2 0
grep -q '2 within the baseline latin-base.json' lat2.out ||
  fail "Latin-1 names: the baseline does not accept the same run: $(grep -E '^(LEAK|CAP|baseline|[0-9])' lat2.out)"
gate lat3 --policy latin.json --baseline latin-base.json -- "$heaps" latin1 2
expect_rc lat3 1
grep -aq '^CAP  type Caf' lat3.out || fail "Latin-1 names: a type beyond the baseline is not over its cap: $(grep -aE '^(LEAK|CAP|baseline) ' lat3.out)"

# -------------------------------------------------- warm-up and the series
gate keep --dir kept -- "$heaps" two
expect_rc keep 1
ls kept/gate_heaps.0008.gcstack.gz >/dev/null 2>&1 || fail "--dir: the snapshots are not kept"
# --dir is made if missing, with its parents; a file in its way is named
gate deep --dir deep/er/kept -- "$heaps" two
expect_rc deep 1
ls deep/er/kept/gate_heaps.0008.gcstack.gz >/dev/null 2>&1 || fail "--dir deep/er/kept: $(cat deep.err)"
: >afile
gate notdir --dir afile -- "$heaps" two
expect_rc notdir 2
grep -q '^maproot: cannot make the directory afile: Not a directory$' notdir.err || fail "--dir onto a file: $(cat notdir.err)"
gate keep2 --dir kept -- "$heaps" two
expect_rc keep2 2
grep -q 'already holds snapshots of gate_heaps' keep2.err || fail "--dir with old snapshots: $(cat keep2.err)"
# a gate that fails to run removes the directories it made for --dir and
# wrote nothing into, and only those: one that was there before stays
gate gone --dir made/for/it -- ./no-such-program
expect_rc gone 2
[ ! -e made ] || fail "--dir made/for/it of a run that failed is left behind: $(find made)"
mkdir -p there
gate gone2 --dir there/new -- ./no-such-program
expect_rc gone2 2
[ -d there ] && [ ! -e there/new ] || fail "--dir there/new of a run that failed: $(find there)"
printf '{"warmup": 3}\n' >warm.json
gate warm --policy warm.json -f json kept/gate_heaps.00*.gcstack.gz
expect_rc warm 1
mv warm.out warm.json
json_check warm '
want([s["warmup"] for s in j["snapshots"]] == [True] * 3 + [False] * 5, [s["warmup"] for s in j["snapshots"]])
m = [x for x in j["maps"] if x["holder"] == "global metrics"][0]
want(m["points"][0]["gc_cycle"] == 4 and m["keys_added"] == 8000, (m["points"][0], m["keys_added"]))'
# given in any order, the series is put in GC cycle order
gate rev -f json $(ls kept/gate_heaps.00*.gcstack.gz | sort -r)
mv rev.out rev.json
json_check rev 'want([s["gc_cycle"] for s in j["snapshots"]] == list(range(1, 9)), [s["gc_cycle"] for s in j["snapshots"]])'
# one moment given twice (every snapshot and a copy of it: intervals in
# which nothing grew, which would let the leak pass) is refused
for f in kept/gate_heaps.00*.gcstack.gz; do cp "$f" "twice-${f#kept/}"; done
gate twice kept/gate_heaps.00*.gcstack.gz twice-gate_heaps.00*.gcstack.gz
expect_rc twice 2
grep -q 'kept/gate_heaps.0001.gcstack.gz and twice-gate_heaps.0001.gcstack.gz are both GC cycle 1 of one run' twice.err ||
  fail "one cycle twice: $(cat twice.err)"
printf '{"warmup": 100}\n' >warm100.json
gate warm100 --policy warm100.json kept/gate_heaps.00*.gcstack.gz
expect_rc warm100 2
grep -q 'no snapshot to judge' warm100.err || fail "all warm-up: $(cat warm100.err)"
gate short kept/gate_heaps.0001.gcstack.gz kept/gate_heaps.0002.gcstack.gz
expect_rc short 2
grep -q 'the growth rule needs 4 snapshots after the warm-up' short.err || fail "too short a series: $(cat short.err)"
MAPROOT_SNAPSHOT_FORK=0 MAPROOT_SNAPSHOT=other.gcstack.gz MAPROOT_PROFILE_EVERY=8 "$heaps" two
gate runs kept/gate_heaps.0001.gcstack.gz other.0008.gcstack.gz kept/gate_heaps.0003.gcstack.gz
expect_rc runs 2
grep -q 'are snapshots of different runs' runs.err || fail "two runs in one series: $(cat runs.err)"
# --every takes GC cycles from 1: whatever it refuses, one message says so
for v in x 0 -1 99999999999; do
  gate every$v --every "$v" -- "$heaps" two
  expect_rc every$v 2
  [ "$(cat "every$v.err")" = "maproot gate: --every wants a number of GC cycles from 1, not \"$v\" (see maproot gate --help)" ] ||
    fail "--every $v: $(cat "every$v.err")"
done

# every rule with every kind of suppression, the root named as the report
# names it (with its file and line): each suppresses the check of the map
# it names, but a root cap, which only a root suppression can suppress
gate kinds0 --trim-path "$src" -f json kept/gate_heaps.00*.gcstack.gz
audit_root=$(python3 -c 'import json,sys; print([m["root"] for m in json.load(open(sys.argv[1]))["maps"] if m["holder"] == "global audit_log"][0])' kinds0.out)
case $audit_root in "global audit_log (tests/gate_heaps.c:"*) ;; *) fail "the report names audit_log's root $audit_root" ;; esac
for rule in growth suspect mapcap rootcap; do
  case $rule in
  growth) judge='' ;;
  suspect) judge='"growth": false, "suspect": {"evidence": ["large_share"]},' ;;
  mapcap) judge='"growth": false, "caps": [{"map": "map[int64]*Blob", "max_entries": 10}],' ;;
  rootcap) judge='"growth": false, "caps": [{"root": "global audit_log", "max_entries": 10}],' ;;
  esac
  for kind in root holder map function file; do
    [ "$kind" = file ] && [ "$dwarf" = 0 ] && continue
    case $kind in
    root) sup="\"root\": \"$audit_root\"" ;;
    holder) sup='"root": "global audit_*"' ;;
    map) sup='"map": "map[int64]*Blob"' ;;
    function) sup='"function": "record_audit"' ;;
    file) sup='"file": "tests/gate_heaps.c"' ;;
    esac
    printf '{%s "suppressions": [{%s, "reason": "known"}]}\n' "$judge" "$sup" >"k-$rule-$kind.json"
    gate "k-$rule-$kind" --trim-path "$src" --policy "k-$rule-$kind.json" -f json kept/gate_heaps.00*.gcstack.gz
    want=suppressed
    # root caps are suppressed by root alone
    [ "$rule" = rootcap ] && [ "$kind" != root ] && [ "$kind" != holder ] && want=fail
    python3 - "k-$rule-$kind.out" "$want" <<'PY' || fail "suppression by $kind of the $rule check of audit_log is not $want (above)"
import json, sys
j = json.load(open(sys.argv[1]))
got = [c["status"] for c in j["checks"] if "audit_log" in c["subject"] and c["status"] != "pass"]
if got != [sys.argv[2]]:
    print(sys.argv[1], "audit_log's failed checks:", got, [c["subject"] for c in j["checks"] if c["status"] == "fail"])
    sys.exit(1)
PY
  done
done

# the policy of maproot-gate(5)'s EXAMPLE is one
sed -n '/^\.SH EXAMPLE$/,/^\.fi/p' "$src/man/maproot-gate.5" | sed -e '1,2d' -e '$d' -e 's/\\-/-/g' >manex.json
gate manex --policy manex.json kept/gate_heaps.00*.gcstack.gz
[ "$rc" -le 1 ] || fail "the policy of maproot-gate(5)'s example is refused: $(cat manex.err)"
grep -q 'policy: manex.json' manex.out || fail "the man page's example policy was not used"

# Go heap dumps are a series too (in the order given); --binary is theirs
d=$src/testdata/fuzz/godump/global.dump
gate godump -f json "$d" "$d" "$d" "$d"
expect_rc godump 0
mv godump.out godump.json
json_check godump 'want(len(j["snapshots"]) == 4 and len(j["maps"]) == 1 and len(j["maps"][0]["points"]) == 4, (len(j["snapshots"]), len(j["maps"])))'
gate gsbinary --binary /bin/true kept/gate_heaps.00*.gcstack.gz
expect_rc gsbinary 2
grep -q -- '--binary is for Go heap dumps' gsbinary.err || fail "--binary with snapshots: $(cat gsbinary.err)"

# ----------------------------------------------------------- bad input
policy_error() { # policy_error NAME 'JSON' 'expected message (grep -E)'
  printf '%s\n' "$2" >"$1.json"
  gate "$1" --policy "$1.json" kept/gate_heaps.00*.gcstack.gz
  expect_rc "$1" 2
  grep -Eq -- "$3" "$1.err" || fail "policy $1: the message is not '$3': $(cat "$1.err")"
}
policy_error p_key '{"version": 1,
  "growht": {"k": 2}}' '^maproot: p_key.json:2: growht: unknown key \(the policy takes version, warmup, growth'
policy_error p_k '{"growth": {
  "k": "three"}}' '^maproot: p_k.json:2: growth.k: must be a whole number from 1 to 1000, not "three"$'
policy_error p_kn '{"growth": {"k": 5, "n": 4}}' 'p_kn.json:1: growth.k: k \(5\) must not be more than n \(4\)'
policy_error p_reason '{"suppressions": [
  {"root": "global x"}]}' 'p_reason.json:2: suppressions\[0\]: has no "reason"'
policy_error p_json '{"growth":
  {"k": 2,}}' 'p_json.json:2: not valid JSON'
policy_error p_both '{"caps": [{"map": "m", "root": "r", "max_entries": 1}]}' 'caps\[0\]: names both map and root'
policy_error p_size '{"growth": {"min_bytes": "12 parsecs"}}' 'growth.min_bytes: must be a size in bytes'
policy_error p_ev '{"suspect": {"evidence": ["growing"]}}' 'suspect.evidence\[0\]: unknown kind of evidence "growing" \(known: large_share, emptied'
policy_error p_limit '{"caps": [{"type": "T", "max_entries": 5}]}' 'caps\[0\].max_entries: is not a limit of a type cap'
policy_error p_version '{"version": 2}' 'p_version.json:1: version: this maproot reads policies of version 1, not 2'
policy_error p_dup '{"warmup": 1,
"warmup": 2}' 'p_dup.json:2: not valid JSON: duplicate object key'
printf '{"maproot_gate_baseline": 1, "maps": [{"type": "m", "entries": 1}]}\n' >b_bad.json
gate b_bad --baseline b_bad.json kept/gate_heaps.00*.gcstack.gz
expect_rc b_bad 2
grep -q 'b_bad.json:1: maps\[0\]: needs "type" and "holder"' b_bad.err || fail "a bad baseline: $(cat b_bad.err)"
gate nopolicy --policy no-such.json kept/gate_heaps.0001.gcstack.gz
expect_rc nopolicy 2
grep -q 'cannot open no-such.json' nopolicy.err || fail "a missing policy: $(cat nopolicy.err)"
printf 'junk' >junk.gcstack.gz
gate junk junk.gcstack.gz
expect_rc junk 2
gate prog -- false
expect_rc prog 2
grep -q 'false exited with status 1' prog.err || fail "a failing program: $(cat prog.err)"
gate noprog -- ./no-such-program
expect_rc noprog 2
grep -q 'cannot run ./no-such-program: No such file or directory' noprog.err || fail "a missing program: $(cat noprog.err)"
gate gh_json --format json --github kept/gate_heaps.0001.gcstack.gz
expect_rc gh_json 2
# every run's temporary directory is gone, whatever the run came to; the
# programs' attach endpoints too (their user's directory of endpoints stays)
epdir=maproot-$(id -u)
left=$(ls -A "$TMPDIR" | grep -vx "$epdir")
[ -z "$left" ] || fail "temporary directories left behind: $left"
[ -z "$(ls -A "$TMPDIR/$epdir" 2>/dev/null)" ] || fail "attach endpoints left behind: $(ls "$TMPDIR/$epdir")"

# ------------------------------------------------------ many small maps
# sessions: no map grows, the group of their maps does: the gate fails on
# the group alone, named by its type and holder, in every output; a
# baseline records the group and accepts it; diff --fail-on growth counts it
gate grp --dir grp --format json --junit grp.xml -- "$heaps" sessions
expect_rc grp 1
valid_junit grp.xml
mv grp.out grp.json
json_check grp '
g = [m for m in j["maps"] if m["group"]]
want(len(g) == 1, "one group followed: %d" % len(g))
want(g and (g[0]["type"], g[0]["holder"]) == ("map[int64]*Blob", "global sessions"), g[:1])
want(g and [p["maps"] for p in g[0]["points"]] == [200 * i for i in range(1, 9)],
     g and [p["maps"] for p in g[0]["points"]])
want(g and [p["entries"] for p in g[0]["points"]] == [400 * i for i in range(1, 9)],
     g and [p["entries"] for p in g[0]["points"]])
f = checks("growth", "fail")
want([c["subject"] for c in f] == ["maps map[int64]*Blob in global sessions"], [c["subject"] for c in f])
want(f and f[0]["grew_maps"] == 4 and f[0]["window_maps"] == 800, f[:1])
want(j["counts"]["violations"] == 1, j["counts"])'
grep -q 'name="maps map\[int64\]\*Blob in global sessions"' grp.xml || fail "JUnit: no testcase of the group: $(grep -c testcase grp.xml)"
gate grp_text grp/gate_heaps.00*.gcstack.gz
expect_rc grp_text 1
grep -q '^LEAK  1,600 maps map\[int64\]\*Blob  root global sessions' grp_text.out || fail "group text: $(head -20 grp_text.out)"
grep -q '^  maps     200 -> 1,600 of one type under one holder (+1,400)$' grp_text.out || fail "group text maps: $(head -20 grp_text.out)"
grep -q '^  holder   sessions -> ' grp_text.out || fail "group text holder: $(head -20 grp_text.out)"
gate grp_gh --github grp/gate_heaps.00*.gcstack.gz
expect_rc grp_gh 1
[ "$(grep -c '^::error ' grp_gh.out)" -eq 1 ] &&
  grep -q '^::error file=[^,]*gate_heaps\.c,line=[0-9]*,title=maproot gate%3A growth maps map\[int64\]\*Blob in global sessions::' grp_gh.out ||
  fail "GitHub annotation of the group: $(grep '^::' grp_gh.out | head -3)"
gate grp_base --write-baseline grp.base.json grp/gate_heaps.00*.gcstack.gz
expect_rc grp_base 1
python3 -c "import json,sys; b=json.load(open('grp.base.json')); sys.exit(0 if [(g['type'], g['holder'], g['entries']) for g in b['groups']] == [('map[int64]*Blob', 'global sessions', 3200)] else 1)" ||
  fail "the baseline's groups: $(cat grp.base.json)"
gate grp_ok --baseline grp.base.json grp/gate_heaps.00*.gcstack.gz
expect_rc grp_ok 0
"$maproot" diff --fail-on growth grp/gate_heaps.0002.gcstack.gz grp/gate_heaps.0006.gcstack.gz >grp_diff.out 2>grp_diff.err
[ $? -eq 1 ] || fail "diff --fail-on growth of a growing group: not 1: $(cat grp_diff.err)"
# the new maps are the group's growth, named once: by the group alone
grep -q '^maproot diff: 1 group of maps grew (--fail-on growth)$' grp_diff.err || fail "diff --fail-on, a group: $(cat grp_diff.err)"
grep -Eq '^  GROWING  map\[int64\]\*Blob maps   root global sessions( \(.*\))?$' grp_diff.out || fail "diff text, a group: $(grep -A3 GROUPS grp_diff.out)"
grep -q '^    maps 400 -> 1,200 (+800); entries 800 -> 2,400 (+1,600); retained ' grp_diff.out || fail "diff text, the group's figures: $(grep -A3 GROUPS grp_diff.out)"

# -------------------------------------------------- analyze and diff --fail-on
k=kept/gate_heaps
MAPROOT_SNAPSHOT_FORK=0 MAPROOT_SNAPSHOT=steady.gcstack.gz MAPROOT_PROFILE_EVERY=4 "$heaps" steady >/dev/null
"$maproot" analyze --fail-on suspect steady.0008.gcstack.gz >/dev/null 2>fo2.err
[ $? -eq 0 ] || fail "analyze --fail-on suspect of a steady state: not 0: $(cat fo2.err)"
"$maproot" diff --fail-on growth steady.0004.gcstack.gz steady.0008.gcstack.gz >/dev/null 2>fo3.err
[ $? -eq 0 ] || fail "diff --fail-on growth of a steady state: not 0: $(cat fo3.err)"
"$maproot" diff --fail-on growth $k.0002.gcstack.gz $k.0006.gcstack.gz >/dev/null 2>fo4.err
[ $? -eq 1 ] || fail "diff --fail-on growth of two leaks: not 1"
grep -q '^maproot diff: 2 maps grew (--fail-on growth)$' fo4.err || fail "diff --fail-on: $(cat fo4.err)"
"$maproot" analyze --fail-on suspect "$src/testdata/fuzz/gcstack/emptied_map.gcstack.gz" >/dev/null 2>fo5.err
[ $? -eq 1 ] || fail "analyze --fail-on suspect of emptied_map: not 1"
grep -q '^maproot analyze: 1 leak suspect (--fail-on suspect)$' fo5.err || fail "analyze --fail-on: $(cat fo5.err)"
"$maproot" analyze --fail-on growth $k.0002.gcstack.gz >/dev/null 2>&1
[ $? -eq 2 ] || fail "analyze --fail-on growth: not a usage error"
"$maproot" analyze --fail-on suspect "$src/testdata/profiles/maproot-heap.pb.gz" >/dev/null 2>&1
[ $? -eq 2 ] || fail "analyze --fail-on suspect of a profile alone: not 2"
"$maproot" diff --fail-on growth "$src/testdata/profiles/maproot-heap.pb.gz" "$src/testdata/profiles/maproot-heap-after.pb.gz" >/dev/null 2>fo6.err
[ $? -eq 1 ] || fail "diff --fail-on growth of profiles whose map growth sites grew: not 1: $(cat fo6.err)"
"$maproot" diff --fail-on suspect "$src/testdata/profiles/maproot-heap.pb.gz" "$src/testdata/profiles/maproot-heap-after.pb.gz" >/dev/null 2>&1
[ $? -eq 2 ] || fail "diff --fail-on suspect of profiles: not a usage error"
"$maproot" diff --fail-on grow $k.0002.gcstack.gz $k.0006.gcstack.gz >/dev/null 2>&1
[ $? -eq 2 ] || fail "diff --fail-on grow: not a usage error"

if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "gate: all checks passed"
