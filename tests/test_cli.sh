#!/usr/bin/env bash
# tests/test_cli.sh -- end to end: the real maproot binary on real files.
# usage: test_cli.sh MAPROOT MAKE_PROFILES
# Checks help/version, analyze and diff on profiles our writer made (text and
# JSON), and that every kind of bad input exits 2 with one line that names
# the file and the problem.
set -u
maproot=$1
make_profiles=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

"$make_profiles" "$dir" || { echo "make_profiles failed" >&2; exit 1; }

# --- help and version
"$maproot" --help | grep -q "analyze" || fail "maproot --help lists analyze"
"$maproot" --version | grep -Eq '^maproot [0-9]' || fail "maproot --version"
"$maproot" analyze --help | grep -q -- "--sample-index" || fail "analyze --help"
"$maproot" diff --help | grep -q -- "BEFORE AFTER" || fail "diff --help"
"$maproot" help diff | grep -q -- "diff_base" || fail "maproot help diff"
"$maproot" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no command exits 2"
"$maproot" frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown command exits 2"
"$maproot" analyze --bogus "$dir/heap.pb.gz" 2>/dev/null; [ $? -eq 2 ] || fail "unknown option exits 2"
"$maproot" analyze --format xml "$dir/heap.pb.gz" 2>/dev/null; [ $? -eq 2 ] || fail "bad --format exits 2"
"$maproot" analyze --top -1 "$dir/heap.pb.gz" 2>/dev/null; [ $? -eq 2 ] || fail "bad --top exits 2"
"$maproot" diff "$dir/heap.pb.gz" 2>/dev/null; [ $? -eq 2 ] || fail "diff with one file exits 2"

# --- analyze, text: totals, top sites, map growth site with file:line
out=$("$maproot" analyze "$dir/heap.pb.gz") || fail "analyze heap.pb.gz exits 0"
grep -q "maproot collector (tests/make_profiles)" <<<"$out" || fail "analyze shows the producer"
grep -q "617344 bytes" <<<"$out" || fail "analyze shows the inuse_space total"
grep -Eq "602.25KiB +99.90% +99.90% +602.25KiB +99.90% +mr_alloc" <<<"$out" || fail "analyze top row"
# (the profile names the file relative: shown as written, as in JSON)
grep -Eq "cache_put \(examples/sessiond.c:75\) +mr_map_assign" <<<"$out" || fail "analyze map growth site"
# raw (not gzipped) input gives the same report, apart from the file name
raw=$("$maproot" analyze "$dir/heap.pb" | tail -n +2)
[ "$raw" = "$(tail -n +2 <<<"$out")" ] || fail "raw and gzip input read the same"
# standard input
"$maproot" analyze - <"$dir/heap.pb.gz" | grep -q "617344 bytes" || fail "analyze reads stdin"

# --summary is a snapshot's: a profile's report is the same with it, a Go
# heap dump's is refused
[ "$("$maproot" analyze --summary "$dir/heap.pb.gz")" = "$out" ] || fail "--summary changes a profile's report"
"$maproot" analyze --summary "$(dirname "$0")/../testdata/fuzz/godump/global.dump" >/dev/null 2>"$dir/err"
[ $? -eq 2 ] && grep -q "not Go heap dumps" "$dir/err" || fail "--summary of a Go heap dump: $(cat "$dir/err")"

# --- analyze, JSON, sample index by name and number, --top
js=$("$maproot" analyze --format json --sample-index alloc_objects --top 2 "$dir/heap.pb.gz")
python3 - "$js" <<'PY' || fail "analyze JSON"
import json, sys
d = json.loads(sys.argv[1])
assert d["sample_type"] == "alloc_objects" and d["sample_index"] == 0, d["sample_type"]
assert d["total"] == 6088, d["total"]
assert [t["total"] for t in d["sample_types"]] == [6088, 1234688, 3044, 617344]
assert len(d["top"]) == 2 and d["sites_total"] == 8
assert d["top"][0]["function"] == "mr_alloc" and d["top"][0]["flat"] == 6068
assert d["map_growth"][0]["site"] == "cache_put" and d["map_growth"][0]["line"] == 75
assert d["map_growth"][0]["file"] == "examples/sessiond.c", d["map_growth"][0]["file"]
assert d["map_growth"][0]["via"] == "mr_map_assign"
assert d["period"] == 524288 and d["period_type"] == {"type": "space", "unit": "bytes"}
PY
n1=$("$maproot" analyze --format json -i 1 "$dir/heap.pb.gz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sample_type"])')
[ "$n1" = "alloc_space" ] || fail "--sample-index by number"
"$maproot" analyze -i nosuch "$dir/heap.pb.gz" 2>"$dir/err"; [ $? -eq 2 ] || fail "unknown sample type exits 2"
grep -q 'no sample type "nosuch"' "$dir/err" || fail "unknown sample type message"

# --- diff
js=$("$maproot" diff --format json "$dir/heap.pb.gz" "$dir/heap-after.pb.gz")
python3 - "$js" <<'PY' || fail "diff JSON"
import json, sys
d = json.loads(sys.argv[1])
assert d["base_total"] == 617344 and d["after_total"] == 1852032 and d["delta"] == 1234688
assert d["sites"][0]["function"] == "mr_alloc" and d["sites"][0]["flat_delta"] == 1233408
assert abs(d["delta_pct"] - 200.0) < 1e-9
assert d["map_growth"][0]["site"] == "cache_put" and d["map_growth"][0]["delta"] == 593408
assert d["map_growth"][0]["file"] == "examples/sessiond.c", d["map_growth"][0]["file"]
PY
"$maproot" diff "$dir/heap.pb.gz" "$dir/heap-after.pb.gz" | grep -q "change   +1.18MiB" || fail "diff text"

# --- bad input: exit 2, exactly one line on stderr naming the file and problem
expect_bad() { # FILE PATTERN [command...]
    local file=$1 pattern=$2
    shift 2
    "$maproot" "${@:-analyze}" "$file" >"$dir/out" 2>"$dir/err"
    local rc=$?
    [ $rc -eq 2 ] || fail "$file: exit $rc, expected 2"
    [ "$(wc -l <"$dir/err")" -eq 1 ] || fail "$file: expected one line on stderr, got: $(cat "$dir/err")"
    grep -q "^maproot: $file: .*$pattern" "$dir/err" || fail "$file: message \"$(cat "$dir/err")\" lacks \"$pattern\""
    [ ! -s "$dir/out" ] || fail "$file: wrote to stdout"
}
: >"$dir/empty.pb.gz"
expect_bad "$dir/empty.pb.gz" "empty file"
head -c 100 "$dir/heap.pb.gz" >"$dir/truncated.pb.gz"
expect_bad "$dir/truncated.pb.gz" "truncated gzip data"
# a gzip file of nothing is not an empty file, and says so
gzip -c </dev/null >"$dir/nothing.pb.gz"
expect_bad "$dir/nothing.pb.gz" "the gzip data is empty inside"
# a snapshot whose gzip trailer (CRC and length, 8 bytes) is cut, in part
# or whole: the content may be complete, the file is not, and the message
# says it is the trailer that is cut and how much of it is there; a cut
# one byte further is inside the compressed data. A profile says the same.
snap="$(dirname "$0")"/../testdata/fuzz/gcstack/iterator_pin.gcstack.gz
size=$(wc -c <"$snap")
for cut in 1 4 8; do
    head -c $((size - cut)) "$snap" >"$dir/trailer$cut.gcstack.gz"
    expect_bad "$dir/trailer$cut.gcstack.gz" \
        "truncated gzip data (the file ends at byte $((size - cut)) inside the gzip trailer, the content's CRC-32 and length: $((8 - cut)) of its 8 bytes)$"
done
head -c $((size - 9)) "$snap" >"$dir/trailer9.gcstack.gz"
expect_bad "$dir/trailer9.gcstack.gz" "truncated gzip data (the file ends at byte $((size - 9)) inside compressed data)$"
psize=$(wc -c <"$dir/heap.pb.gz")
head -c $((psize - 3)) "$dir/heap.pb.gz" >"$dir/trailer3.pb.gz"
expect_bad "$dir/trailer3.pb.gz" \
    "truncated gzip data (the file ends at byte $((psize - 3)) inside the gzip trailer, the content's CRC-32 and length: 5 of its 8 bytes)$"
head -c $((psize - 9)) "$dir/heap.pb.gz" >"$dir/trailer9.pb.gz"
expect_bad "$dir/trailer9.pb.gz" "truncated gzip data (the file ends at byte $((psize - 9)) inside compressed data)$"
# a text heap profile with CRLF line ends (written on Windows) reads as
# the same profile with LF ends
ht="$(dirname "$0")"/../testdata/fuzz/heaptext/go-debug1.txt
sed 's/$/\r/' "$ht" >"$dir/crlf.txt"
cp "$ht" "$dir/lf.txt"
"$maproot" analyze --format json "$dir/lf.txt" | grep -v '"file":' >"$dir/lf.json" || fail "analyze LF heap text"
"$maproot" analyze --format json "$dir/crlf.txt" 2>"$dir/err" | grep -v '"file":' >"$dir/crlf.json"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "analyze CRLF heap text: $(cat "$dir/err")"
cmp -s "$dir/lf.json" "$dir/crlf.json" || fail "a CRLF heap text profile reads differently from its LF form"
head -c 3000 /dev/urandom >"$dir/random.bin"
printf '\x0b' | cat - "$dir/random.bin" >"$dir/random.pb"   # starts with a bad wire type
expect_bad "$dir/random.pb" "not a maproot snapshot, Go heap dump or pprof profile"
# a profile that goes bad after a good start: the reader says where
cut=$(python3 - "$dir/heap.pb" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
def varint(i):
    v = s = 0
    while True:
        b = d[i]; i += 1; v |= (b & 0x7f) << s; s += 7
        if b < 0x80: return v, i
i = 0
while i < 100:  # the first top-level field boundary past the sniffed bytes
    k, i = varint(i)
    if k & 7 == 2:
        n, i = varint(i); i += n
    else:
        _, i = varint(i)
print(i)
PY
)
{ head -c "$cut" "$dir/heap.pb"; printf '\x0b'; cat "$dir/random.bin"; } >"$dir/badtail.pb"
expect_bad "$dir/badtail.pb" "field 1: unsupported wire type 3 (byte $cut)"
head -c 3000 /dev/urandom >"$dir/random2.pb"
"$maproot" analyze "$dir/random2.pb" >/dev/null 2>"$dir/err"; [ $? -eq 2 ] || fail "random bytes exit 2"
echo "this is text, not a profile" | gzip >"$dir/text.gz"
expect_bad "$dir/text.gz" "not a maproot snapshot, Go heap dump or pprof profile (its content starts with 74 68"
expect_bad "$dir/bad-string.pb.gz" "string index 99 out of range"
expect_bad "$dir/bad-location.pb.gz" "location id 42 is not defined"
expect_bad "$dir/bad-function.pb.gz" "function id 7, which is not defined"
expect_bad "$dir/zero-id.pb.gz" "zero id"
expect_bad "$dir/bad-values.pb.gz" "has 2 values but the profile has 1 sample types"
expect_bad "$dir/cpu.pb.gz" "not a heap profile.*(a CPU profile)"
"$maproot" analyze "$dir/missing.pb.gz" 2>"$dir/err"; [ $? -eq 2 ] || fail "missing file exits 2"
[ "$(cat "$dir/err")" = "maproot: cannot open $dir/missing.pb.gz: No such file or directory" ] ||
    fail "missing file message: $(cat "$dir/err")"
"$maproot" analyze "$dir" 2>"$dir/err"; [ $? -eq 2 ] || fail "directory exits 2"
grep -q "^maproot: cannot read $dir: it is a directory$" "$dir/err" || fail "directory message: $(cat "$dir/err")"
# diff refuses profiles of different kinds, naming both
"$maproot" diff "$dir/heap.pb.gz" "$dir/cpu.pb.gz" 2>"$dir/err"; [ $? -eq 2 ] || fail "diff heap cpu exits 2"
grep -q "cpu.pb.gz: not a heap profile" "$dir/err" || fail "diff heap cpu message: $(cat "$dir/err")"

"$maproot" diff "$dir/heap.pb.gz" "$dir/heap-inuse.pb.gz" 2>"$dir/err"; [ $? -eq 2 ] || fail "diff of different sample types exits 2"
grep -q "^maproot: $dir/heap-inuse.pb.gz: sample types (inuse_space/bytes, inuse_objects/count) differ from those of $dir/heap.pb.gz (alloc_objects/count, .*): cannot compare them$" "$dir/err" ||
    fail "diff of different sample types message: $(cat "$dir/err")"

# --- inputs that once crashed a reader (found by scripts/fuzz): exit 0 or 2,
# never a crash (this suite also runs under ASan+UBSan)
for f in "$(dirname "$0")"/../testdata/fuzz/*/regress-*; do
    [ -e "$f" ] || continue
    "$maproot" analyze "$f" >/dev/null 2>&1
    rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 2 ] || fail "$(basename "$f"): exit $rc"
done

# --- the snapshot seeds of scripts/fuzz stay within its 10 s timeout: the
# target reports every entry of every map with its chain, in text, JSON and
# DOT, under the sanitizers, so its time grows with that report, which
# --all's JSON measures without a clock (0.15 s of CPU a MB; a 50 MB seed took 34 s
# on a loaded machine, 5 MB takes under 5)
for f in "$(dirname "$0")"/../testdata/fuzz/gcstack/*; do
    case "$(basename "$f")" in regress-*) continue ;; esac
    "$maproot" analyze --index=off --all --format json "$f" >"$dir/seed.json" 2>/dev/null ||
        fail "fuzz seed $(basename "$f"): analyze failed"
    n=$(wc -c <"$dir/seed.json")
    [ "$n" -le 8000000 ] || fail "fuzz seed $(basename "$f"): a report of $n bytes, too slow to fuzz"
done

[ $fails -eq 0 ] && echo "test_cli: all passed"
exit $((fails > 0))
