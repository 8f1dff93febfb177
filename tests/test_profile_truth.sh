#!/usr/bin/env bash
# tests/test_profile_truth.sh -- maproot's reading of heap profiles against
# their known truth and against go tool pprof.
# usage: test_profile_truth.sh MAPROOT GO_SRC_DIR WORKDIR [DLCLOSE_REUSE LIB_A LIB_B]
#
# 1. Hand-made profiles (profile_cases.py: inline frames, reused and
#    duplicated strings, unordered mapping ids, zero and empty samples, no
#    samples, raw protobuf, 200000 samples, recursion, drop_frames and
#    keep_frames, undefined mapping ids, nameless functions): every
#    function's flat and cum in `maproot analyze` equal the ones worked out
#    by hand; a profile go tool pprof refuses is refused in one line naming
#    the file, exit 2. Needs no Go.
# 2. With Go installed: go tool pprof agrees with maproot on each of them,
#    for every sample type, and refuses the same ones; maproot diff agrees
#    with pprof -diff_base on pairs of them; and on Go's own
#    profiles: tests/go/labelled.go (goroutines under pprof labels, at
#    MemProfileRate 1, where its retained bytes are known, and at Go's
#    default rate) and `go test -memprofile` (tests/go/memtest).
# 3. Our writer, given a sample whose stack passed through a library since
#    unloaded, with its twin loaded at the same address and the library
#    loaded again elsewhere (dlclose_reuse.c): no byte of the unloaded
#    library's allocation is charged to the twin, and both of the library's
#    allocations are charged to its function, by maproot and (with Go) by
#    go tool pprof. Again with the library's file deleted once unloaded:
#    its allocation is charged to its mapping, unnamed, not to the twin.
set -u
maproot=$1 src=$2 work=$3 dlclose_reuse=${4:-} lib_a=${5:-} lib_b=${6:-}
here=$(dirname "$0")
mkdir -p "$work"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
have_go=false
command -v go >/dev/null && have_go=true
export GOCACHE="$work/gocache" GOPATH="$work/gopath" GO111MODULE=off GOFLAGS= GOTOOLCHAIN=local
export PPROF_TMPDIR="$work/pprof-tmp" HOME="$work"
types="alloc_objects alloc_space inuse_objects inuse_space"
# hand-made profiles: one count and one bytes type, one alloc and one inuse
# (they differ by value only; Go's profiles get all four)
some_types="alloc_objects inuse_space"

# ---- 1. hand-made profiles against their truth
python3 "$here/profile_cases.py" "$work" || { echo "profile_cases.py failed" >&2; exit 1; }
cases=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' "$work/truth.json")
for c in $cases; do
    f="$work/$c.pb.gz"
    [ -e "$f" ] || f="$work/$c.pb"
    if python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))[sys.argv[2]] != "refuse")' \
        "$work/truth.json" "$c"; then
        "$maproot" analyze "$f" >"$work/out.txt" 2>"$work/err.txt"
        rc=$?
        [ $rc -eq 2 ] || fail "$c: exit $rc, want 2 (refused)"
        [ ! -s "$work/out.txt" ] || fail "$c: output on a refused profile"
        [ "$(wc -l <"$work/err.txt")" -eq 1 ] && grep -q "$f" "$work/err.txt" ||
            fail "$c: not a one-line error naming the file: $(cat "$work/err.txt")"
        if $have_go && go tool pprof -symbolize=none -top "$f" >/dev/null 2>&1; then
            fail "$c: go tool pprof accepts what maproot refuses"
        fi
        continue
    fi
    python3 - "$maproot" "$f" "$work/truth.json" "$c" <<'PY' || fail "$c against its truth"
import json, subprocess, sys
maproot, f, truth, case = sys.argv[1:5]
bad = []
for stype, want in json.load(open(truth))[case].items():
    cmd = [maproot, "analyze", "--format", "json", "--top", "0", f] + (["-i", stype] if stype else [])
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        bad.append(f"{stype}: exit {run.returncode}: {run.stderr.strip()}")
        continue
    got = {s["function"]: [s["flat"], s["cum"]] for s in json.loads(run.stdout)["top"]}
    for fn in sorted(set(got) | set(want)):
        if got.get(fn, [0, 0]) != list(want.get(fn, [0, 0])):
            bad.append(f"{stype or 'default'} {fn}: (flat, cum) {got.get(fn)} != {want.get(fn)}")
if bad:
    print(f"{case}: " + "; ".join(bad[:6]), file=sys.stderr)
    sys.exit(1)
PY
    if $have_go; then
        for t in $some_types; do python3 "$here/pprof_agree.py" "$maproot" "$f" "$t" || fail "$c $t"; done
    fi
done

# maproot diff against pprof -diff_base, which cuts both profiles' stacks by
# the drop_frames of the profile compared. (Not with a base whose samples
# have no locations, or no samples: pprof's "shown" then leaves out what no
# function holds and its total falls back to the compared profile's, where
# maproot's delta and base_total are the true change and base total.)
if $have_go; then
    for pair in "dropframes keepframes" "prune dropframes" "keepframes prune" "inline recursion" \
                "noname nameless" "strreuse default"; do
        set -- $pair
        for t in $some_types; do
            python3 "$here/pprof_agree.py" "$maproot" "$work/$2.pb.gz" "$t" "$work/$1.pb.gz" ||
                fail "diff $1 $2 $t"
        done
    done
fi

# against an empty base (no samples, total 0) the percentages are of the
# after total, as pprof -diff_base falls back to the total of all samples:
# each site's flat% and cum% as pprof prints them
"$maproot" diff --format json --top 0 -i inuse_space "$work/empty.pb.gz" "$work/inline.pb.gz" \
    >"$work/empty-diff.json" || fail "diff against an empty base"
python3 - "$work/empty-diff.json" <<'PY' || fail "diff against an empty base: percentages (above)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["base_total"] == 0 and d["after_total"] == 300 and d["delta_pct"] == 100.0, d
PY
if $have_go; then
    go tool pprof -symbolize=none -top -unit=B -nodefraction=0 -sample_index=inuse_space \
        -diff_base="$work/empty.pb.gz" "$work/inline.pb.gz" >"$work/empty-diff.txt" 2>/dev/null ||
        fail "pprof -diff_base=empty"
    python3 - "$work/empty-diff.json" "$work/empty-diff.txt" <<'PY' || fail "diff against an empty base: not pprof's percentages (above)"
import json, re, sys
d = json.load(open(sys.argv[1]))
ours = {s["function"]: ("%.2f" % s["flat_delta_pct"], "%.2f" % s["cum_delta_pct"]) for s in d["sites"]}
rows = {}
for line in open(sys.argv[2]):
    f = line.split(None, 5)
    if len(f) == 6 and f[1].endswith("%") and f[4].endswith("%"):
        pc = lambda s: "%.2f" % float(s.rstrip("%"))
        rows[re.sub(r" \((partial-)?inline\)$", "", f[5].strip())] = (pc(f[1]), pc(f[4]))
assert rows and rows == ours, (rows, ours)
PY
fi

# ---- 3. a library unloaded and replaced at its address
if [ -n "$dlclose_reuse" ]; then
    (cd "$work" && "$dlclose_reuse" "$lib_a" "$lib_b" dlclose.pb.gz >dlclose.txt) ||
        fail "dlclose_reuse failed"
    mkdir -p "$work/removed" && cp "$lib_a" "$work/removed/" &&
        (cd "$work" && "$dlclose_reuse" -remove "removed/$(basename "$lib_a")" "$lib_b" \
            dlclose-removed.pb.gz >dlclose-removed.txt) || fail "dlclose_reuse -remove failed"
    for f in dlclose dlclose-removed; do
        python3 - "$maproot" "$work/$f.pb.gz" "$work/$f.txt" <<'PY' || fail "$f: bytes charged to the wrong library"
import json, subprocess, sys
maproot, prof, facts = sys.argv[1:4]
seen = dict((l.split()[0], l.split()[1:]) for l in open(facts))
out = subprocess.run([maproot, "analyze", "--format", "json", "--top", "0", "-i", "inuse_space", prof],
                     capture_output=True, text=True, check=True).stdout
top = json.loads(out)["top"]
def charged(prefix, lib):
    return sum(s["flat"] for s in top if s["function"].startswith(prefix) or s["function"] == lib)
bad = []
twin, size_b = charged("lib_b_", "[libdlclose_b.so]"), int(seen["b"][0])
if twin != size_b: bad.append(f"library B charged {twin} bytes, allocated {size_b}")
# named from its file, or (the file deleted: -remove) by its mapping only
mine, size_a = charged("lib_a_alloc", "[libdlclose_a.so]"), sum(int(seen[k][0]) for k in ("a", "a2") if k in seen)
if mine != size_a: bad.append(f"library A (unloaded, then loaded again or deleted) charged {mine} bytes, allocated {size_a}")
if bad:
    print(f"{prof}: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
        if $have_go; then
            python3 "$here/pprof_agree.py" "$maproot" "$work/$f.pb.gz" inuse_space ||
                fail "$f inuse_space"
        fi
    done
fi

if ! $have_go; then
    echo "go not installed: comparisons with go tool pprof skipped"
    [ $fails -eq 0 ] && echo "test_profile_truth: all passed"
    exit $((fails > 0))
fi

# ---- 2. Go's own profiles
go build -o "$work/labelled" "$src/labelled.go" || { echo "go build failed" >&2; exit 1; }
"$work/labelled" 1 "$work/labelled-1.pb.gz" || { echo "labelled failed" >&2; exit 1; }
"$work/labelled" 0 "$work/labelled-default.pb.gz" || { echo "labelled failed" >&2; exit 1; }
rm -rf "$work/memtest" && cp -r "$src/memtest" "$work/memtest"
(cd "$work/memtest" && go test -memprofile ../gotest.pb -memprofilerate=1 . >/dev/null) ||
    { echo "go test -memprofile failed" >&2; exit 1; }
for f in labelled-1.pb.gz labelled-default.pb.gz gotest.pb; do
    for t in $types; do python3 "$here/pprof_agree.py" "$maproot" "$work/$f" "$t" || fail "$f $t"; done
done
# go test's profile shows alloc_space by default, as pprof does
python3 "$here/pprof_agree.py" "$maproot" "$work/gotest.pb" alloc_space || fail "gotest default"

# At MemProfileRate 1 the profile holds the known heap (labelled.go). The
# runtime may charge an odd small object of its own (96 bytes, allocated on
# the goroutine's behalf with the runtime's frames cut off) to a site: the
# bound allows up to 512 bytes of those per site.
python3 - "$maproot" "$work/labelled-1.pb.gz" "$work/gotest.pb" <<'PY' || fail "Go profiles at rate 1 against their truth"
import json, subprocess, sys
maproot, labelled, gotest = sys.argv[1:4]
def sites(f, t):
    out = subprocess.run([maproot, "analyze", "--format", "json", "--top", "0", "-i", t, f],
                         capture_output=True, text=True, check=True).stdout
    return {s["function"]: (s["flat"], s["cum"]) for s in json.loads(out)["top"]}
bad = []
def near(what, got, want, slack=512):
    if not want <= got <= want + slack: bad.append(f"{what}: {got}, want {want} (+{slack})")
inuse, alloc = sites(labelled, "inuse_space"), sites(labelled, "alloc_space")
near("retainPages inuse flat", inuse["main.retainPages"][0], 1000 * 4096)
near("retainSmall inuse flat", inuse["main.retainSmall"][0], 3000 * 48)
near("callerOne inuse cum", inuse["main.callerOne"][1], 1500 * 48)
near("callerTwo inuse cum", inuse["main.callerTwo"][1], 1500 * 48)
near("churn inuse", inuse.get("main.churn", (0, 0))[0], 0)
near("churn alloc", alloc["main.churn"][0], 2000 * 1024)
objs = sites(labelled, "inuse_objects")
near("retainPages inuse objects", objs["main.retainPages"][0], 1000, 8)
g = sites(gotest, "inuse_space")
near("keepBlocks inuse", [v for k, v in g.items() if k.endswith(".keepBlocks")][0][0], 500 * 2048)
if bad:
    print("; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY

[ $fails -eq 0 ] && echo "test_profile_truth: all passed"
exit $((fails > 0))
