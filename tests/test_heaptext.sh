#!/usr/bin/env bash
# tests/test_heaptext.sh -- maproot reads text heap profiles (Go's debug=1
# format) as it reads proto ones.
# usage: test_heaptext.sh MAPROOT GO_SRC_DIR WORKDIR PART
# PART handmade: small profiles written here, with the figures worked out
#   by hand: unsampling (heap_v2, heap, heapprofile), inlined frames as one
#   location, gzip and standard input, diff, gate's refusal, bad input.
# PART go: tests/go/heaptext.go (built with the system Go) writes its heap
#   profile as proto and as text from the same data, with every allocation
#   sampled and with one per 4 KiB; maproot's reports of the two agree
#   exactly, and on the text its totals and top sites agree with go tool
#   pprof's. Exits 77 (skipped)
#   when Go is not installed.
set -u
maproot=$1 src=$2 work=$3 part=$4
mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# json FILE [ARGS...]: maproot analyze's JSON report of FILE.
json() { local f=$1; shift; "$maproot" analyze --format json --top 0 "$@" "$f"; }

# expect_bad FILE MESSAGE: analyze exits 2 with one line holding MESSAGE.
expect_bad() {
    local out rc
    out=$("$maproot" analyze "$1" 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] || fail "$1: exit $rc, not 2 ($out)"
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "$1: not one line: $out"
    grep -qF -- "$2" <<<"$out" || fail "$1: message '$out' lacks '$2'"
}

handmade() {
    local d=$work/handmade
    mkdir -p "$d"
    # Two records sampled one per 512 KiB. Unsampled as Go and pprof do:
    # (objects, bytes) * 1/(1-exp(-(bytes/objects)/524288)), truncated:
    #   (1, 1024) -> (512, 524800)    (2, 2048) -> (1025, 1049600)
    #   (5, 7168) -> (1831, 2625025)
    # The second record's first two frames were inlined into one function
    # (same entry 0x405000): one location for both.
    cat >"$d/v2.txt" <<'EOF'
heap profile: 3: 3072 [7: 9216] @ heap_v2/524288
1: 1024 [2: 2048] @ 0x401005 0x402010 0x403020
#	0x401004	main.leaf+0x4	/src/a.go:10
#	0x40200f	main.mid+0xf	/src/a.go:20
#	0x40301f	main.main+0x1f	/src/a.go:30

2: 2048 [5: 7168] @ 0x405010 0x405020 0x403020
#	0x40500f	main.inl+0xf	/src/b.go:5
#	0x40501f	main.outer+0x1f	/src/b.go:9
#	0x40301f	main.main+0x1f	/src/a.go:30

# runtime.MemStats
# HeapInuse = 4096
# NumGC = 3
EOF
    json "$d/v2.txt" -i inuse_space | python3 -c '
import json, sys
a = json.load(sys.stdin)
tot = {t["type"]: t["total"] for t in a["sample_types"]}
assert tot == {"alloc_objects": 2856, "alloc_space": 3674625,
               "inuse_objects": 1537, "inuse_space": 1574400}, tot
assert [t["type"] for t in a["sample_types"]][-1] == "inuse_space"
assert a["sample_type"] == "inuse_space" and a["period"] == 524288, a["period"]
top = {s["function"]: (s["flat"], s["cum"]) for s in a["top"]}
assert top == {"main.inl": (1049600, 1049600), "main.leaf": (524800, 524800),
               "main.main": (0, 1574400), "main.mid": (0, 524800),
               "main.outer": (0, 1049600)}, top
assert a["counts"] == {"samples": 2, "locations": 4, "functions": 5, "mappings": 0}, a["counts"]
assert "runtime.MemStats HeapInuse = 4096" in a["comments"], a["comments"]
assert "runtime.MemStats NumGC = 3" in a["comments"], a["comments"]
' || fail "heap_v2 text profile: figures"
    "$maproot" analyze "$d/v2.txt" | grep -q "main.inl" || fail "text report names main.inl"

    # Go's own spelling: heap/2 is a rate of 1 (nothing to unsample), and
    # the same for heapprofile; no comments: unsymbolized addresses.
    printf 'heap profile: 3: 300 [4: 400] @ heap/2\n3: 300 [4: 400] @ 0x1001 0x2002\n' >"$d/rate1.txt"
    printf 'heap profile: 3: 300 [4: 400] @ heapprofile\n3: 300 [4: 400] @ 0x1001 0x2002' >"$d/noeol.txt"
    for f in rate1 noeol; do
        json "$d/$f.txt" | python3 -c '
import json, sys
a = json.load(sys.stdin)
tot = {t["type"]: t["total"] for t in a["sample_types"]}
assert tot == {"alloc_objects": 4, "alloc_space": 400, "inuse_objects": 3, "inuse_space": 300}, tot
assert a["counts"]["locations"] == 2, a["counts"]
' || fail "$f: unscaled figures"
    done
    # heap/1048576 is heap_v2/524288: (4, 400) -> (20973, 2097352)
    printf 'heap profile: 4: 400 [4: 400] @ heap/1048576\n4: 400 [4: 400] @ 0x1001\n' >"$d/heap.txt"
    json "$d/heap.txt" -i inuse_objects | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert a["total"] == 20973 and a["period"] == 524288, (a["total"], a["period"])
' || fail "heap/RATE is unsampled at RATE/2"

    # gzip and standard input, told by content
    gzip -c "$d/v2.txt" >"$d/v2.txt.gz"
    [ "$(json "$d/v2.txt.gz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" = 1574400 ] ||
        fail "gzipped text profile"
    [ "$("$maproot" analyze --format json - <"$d/v2.txt.gz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" = 1574400 ] ||
        fail "text profile on standard input"

    # diff of two text profiles: main.inl grew by one sampled record
    sed 's/^2: 2048 \[5: 7168\]/4: 4096 [7: 9216]/' "$d/v2.txt" >"$d/v2-after.txt"
    "$maproot" diff --format json --top 0 "$d/v2.txt" "$d/v2-after.txt" | python3 -c '
import json, sys
a = json.load(sys.stdin)
# (4, 4096) -> (2050, 2099200); before (2, 2048) -> (1025, 1049600)
assert a["base_total"] == 1574400 and a["delta"] == 1049600, (a["base_total"], a["delta"])
sites = {s["function"]: s["flat_delta"] for s in a["sites"]}
assert sites.get("main.inl") == 1049600 and not sites.get("main.leaf"), sites
' || fail "diff of two text profiles"
    # a text and a proto profile are both profiles: diff takes them
    "$maproot" diff "$d/v2.txt" "$d/v2-after.txt" >/dev/null || fail "diff text text exit"

    # gate judges snapshots: it names what a text profile is
    out=$("$maproot" gate "$d/v2.txt" "$d/v2-after.txt" 2>&1)
    [ $? -eq 2 ] && grep -q "text heap profile" <<<"$out" || fail "gate on text profiles: $out"

    # bad input: one line naming the file, the line and what is wrong
    local h='heap profile: 1: 1 [1: 1] @ heap_v2/1'
    printf '%s\n1: 1 [1: 1] @ 0x1 zz\n' "$h" >"$d/bad-addr.txt"
    expect_bad "$d/bad-addr.txt" "bad-addr.txt: line 2: expected addresses 0x... after \"@\""
    printf '%s\n99999999999999999999: 1 [1: 1] @ 0x1\n' "$h" >"$d/huge.txt"
    expect_bad "$d/huge.txt" "huge.txt: line 2: count beyond 2^63-1"
    printf '%s\n1: 1 [1: 1]\n' "$h" >"$d/noat.txt"
    expect_bad "$d/noat.txt" "noat.txt: line 2: expected \"@\" after the counts"
    printf '%s\n1: 1 [1:\n' "$h" >"$d/short.txt"
    expect_bad "$d/short.txt" "short.txt: line 2: expected \"N: M [N2: M2] @ ...\""
    printf '%s\n1: 1 [1: 1] @ 0x11111111111111111\n' "$h" >"$d/wide.txt"
    expect_bad "$d/wide.txt" "wide.txt: line 2: address beyond 64 bits"
    printf 'heap profile: 1: 1 [1: 1] @ growthz\n' >"$d/growthz.txt"
    expect_bad "$d/growthz.txt" "growthz.txt: line 1: unsupported profile kind"
    printf '%s\n0: 5 [1: 1] @ 0x1\n' "$h" >"$d/zero.txt"
    expect_bad "$d/zero.txt" "zero.txt: line 2: 0 objects in use but 5 bytes"
    printf '%s\n1: 5 [1: 5] @ 0x10\n#\t0x20\tmain.f+0x1\t/a.go:1\n' "$h" >"$d/stray.txt"
    expect_bad "$d/stray.txt" "stray.txt: line 3: stack comment for 0x20, which is not in the stack of the record at line 2"
    printf '%s\n1: 5 [1: 5] @ 0x10\n#\t0xf\tmain.f+0x1\t/a.go\n' "$h" >"$d/noline.txt"
    expect_bad "$d/noline.txt" "noline.txt: line 3: expected \"# 0xPC FUNCTION+0xOFF FILE:LINE\" (got \"# 0xf main.f+0x1 /a.go\")"
    printf '%s\n1: 5 [1: 5] @ 0x10\0\n' "$h" >"$d/nul.txt"
    expect_bad "$d/nul.txt" "nul.txt: line 2: a NUL byte"
    printf 'heap profile: 1: 1 [1: 1] @ heap_v2/2\n1: 9223372036854775807 [1: 1] @ 0x10\n' >"$d/scaled.txt"
    expect_bad "$d/scaled.txt" "scaled.txt: line 2: the record's unsampled size is beyond 2^63-1"
    # an overlong line (a million addresses) is read, not cut
    python3 -c "print('$h'); print('1: 1 [1: 1] @' + ' 0x10' * 1000000 + ' zz')" >"$d/long.txt"
    expect_bad "$d/long.txt" "long.txt: line 2: expected addresses 0x... after \"@\""
    python3 -c "print('$h'); print('1: 1 [1: 1] @' + ' 0x10' * 1000000)" >"$d/long-ok.txt"
    [ "$(json "$d/long-ok.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" = 1 ] ||
        fail "a record with a million addresses"
}

go_part() {
    command -v go >/dev/null || { echo "go not installed: skipped"; exit 77; }
    local d=$work/go
    mkdir -p "$d"
    export GOCACHE="$d/gocache" GOPATH="$d/gopath" GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local
    export PPROF_TMPDIR="$d/pprof-tmp" HOME="$d"
    go build -o "$d/heaptext" "$src/heaptext.go" || { echo "go build failed" >&2; exit 1; }
    # every allocation sampled (rate 1: the figures are exact), then one per
    # 4 KiB (unsampled by the same formula from the same records)
    for rate in 1 4096; do go_rate "$d" $rate; done
}

# go_rate DIR RATE: the checks on heaptext's two profiles at one rate.
go_rate() {
    local d=$1/rate-$2 bin=$1/heaptext
    mkdir -p "$d"
    (cd "$d" && "$bin" "$2" heap.pb.gz heap.txt) || { echo "heaptext failed" >&2; exit 1; }
    head -1 "$d/heap.txt" | grep -q "^heap profile: .* @ heap/$((2 * $2))\$" ||
        fail "Go wrote no debug=1 text profile at rate $2"

    # The same data as proto and as text: every sample type's total and
    # every site's flat and cum agree exactly (Go's proto writer unsamples
    # the same records by the same formula), the top sites first.
    for t in alloc_objects alloc_space inuse_objects inuse_space; do
        python3 - "$(json "$d/heap.pb.gz" -i $t)" "$(json "$d/heap.txt" -i $t)" <<'PY' ||
import json, sys
p, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert p["total"] == t["total"] > 0, (p["total"], t["total"])
rows = lambda a: [(s["function"], s["flat"], s["cum"]) for s in a["top"]]
assert rows(p) == rows(t), (rows(p)[:5], rows(t)[:5])
assert rows(t)[0][0] == "main.grow", rows(t)[0]
PY
            fail "proto and text profile of the same moment differ (rate $2, $t)"
    done
    "$maproot" analyze "$d/heap.txt" | grep -q "producer      Go runtime/pprof" || fail "text: producer is Go"
    "$maproot" analyze "$d/heap.txt" | grep -q "runtime.MemStats HeapInuse = " || fail "text: MemStats"

    # go tool pprof reads the same text file (symbolized with the binary):
    # the same totals and the same flat figures of the program's own top
    # sites. Only main's: pprof names a text profile's frames through the
    # binary's symbol table, which gives an inlined call's frame the name of
    # the function it was inlined into (errors.New inside internal/poll.init
    # shows as internal/poll.init), where maproot, like Go's proto writer,
    # names it from the profile's own frame lines; which of the runtime's
    # one-object sites reach pprof's top five varies from run to run.
    for t in alloc_objects alloc_space inuse_objects inuse_space; do
        go tool pprof -top -unit=B -nodefraction=0 -nodecount=5 -sample_index=$t \
            "$bin" "$d/heap.txt" >"$d/pprof-$t.txt" 2>/dev/null
        python3 - "$d/pprof-$t.txt" "$(json "$d/heap.txt" -i $t)" <<'PY' ||
import json, re, sys
text = open(sys.argv[1]).read()
ours = json.loads(sys.argv[2])
m = re.search(r"of (\d+)B? total", text)
assert m and int(m.group(1)) == ours["total"], (m and m.group(1), ours["total"])
flat = {s["function"]: s["flat"] for s in ours["top"]}
rows = 0
for line in text.splitlines():
    f = line.split()
    if len(f) == 6 and f[1].endswith("%") and f[4].endswith("%"):
        rows += 1
        v = int(re.sub(r"[^0-9]", "", f[0]))
        if v and f[5].startswith("main."): assert flat.get(f[5]) == v, (f[5], v, flat.get(f[5]))
assert rows, "no rows in pprof -top"
PY
            fail "pprof and maproot differ on the text profile (rate $2, $t)"
    done

    # diff: text against text, and text against proto of the same moment
    "$maproot" diff --format json "$d/heap.txt" "$d/heap.txt" |
        python3 -c 'import json,sys; a=json.load(sys.stdin); assert a["delta"] == 0 and a["base_total"] > 0' ||
        fail "diff text text (rate $2)"
    "$maproot" diff --format json "$d/heap.pb.gz" "$d/heap.txt" |
        python3 -c 'import json,sys; a=json.load(sys.stdin); assert a["delta"] == 0' ||
        fail "diff proto text of the same data (rate $2)"
}

case $part in
handmade) handmade ;;
go) go_part ;;
*) echo "usage: test_heaptext.sh MAPROOT GO_SRC_DIR WORKDIR handmade|go" >&2; exit 2 ;;
esac
[ $fails -eq 0 ] && echo "test_heaptext $part: all passed"
exit $((fails > 0))
