#!/usr/bin/env bash
# tests/test_views.sh -- the views of the whole heap, end to end through
# the real binary, on the heap tests/views_heap.c writes, whose every
# figure is known (see its header): `maproot analyze --by type`,
# `maproot analyze --dominators`, `maproot path --type/--object [--all]`,
# in text, JSON and dot, and their errors.
# usage: test_views.sh MAPROOT VIEWS_HEAP WORKDIR
set -uo pipefail
maproot=$1 heap=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$heap" v.gcstack.gz || { echo "views_heap failed" >&2; exit 1; }

# ---- objects by type
"$maproot" analyze --by type --format json v.gcstack.gz >types.json || fail "--by type json"
python3 - types.json <<'PY' || fail "--by type: figures (above)"
import json, sys
j = json.load(open(sys.argv[1]))
want = [("Registry", 1, 64, 2840), ("Session", 2, 192, 2192), ("Blob", 2, 2000, 2000),
        ("Cache", 1, 32, 1592), ("map.hdr", 1, 48, 1560), ("[]bucket", 1, 416, 1512),
        ("List", 1, 16, 88), ("Node", 3, 72, 72), ("User", 1, 40, 40)]
got = [(t["type"], t["objects"], t["shallow_bytes"], t["retained_bytes"]) for t in j["types"]]
ok = got == want and j["objects"] == 13 and j["bytes"] == 2880 and j["types_total"] == 9
ok = ok and j["heap"]["reachable_bytes"] == 2880 and j["heap"]["edges"] == 13
if not ok:
    print("got", got, j["objects"], j["bytes"], j["types_total"], j["heap"], file=sys.stderr)
    sys.exit(1)
PY
"$maproot" analyze --by type --top 2 v.gcstack.gz >types.txt || fail "--by type text"
grep -q '^TYPES  live objects by type, largest retained size first (2 of 9)' types.txt ||
  fail "--by type: the title (got: $(sed -n 5p types.txt))"
grep -Eq '^ +1 +64B +2\.22% +2\.77KiB +98\.61%  Registry$' types.txt ||
  fail "--by type: the Registry row ($(grep Registry types.txt))"
grep -q '(7 more types: --top 0 shows all)' types.txt || fail "--by type: the cut"

# ---- the dominator tree
"$maproot" analyze --dominators --format json v.gcstack.gz >dom.json || fail "--dominators json"
python3 - dom.json <<'PY' || fail "--dominators: the tree (above)"
import json, sys
j = json.load(open(sys.argv[1]))
def rows(nodes, depth=0):
    for n in nodes:
        yield depth, n["object"]["address"], n["retained_bytes"], n["objects"]
        yield from rows(n["children"], depth + 1)
want = [(0, 0x1000, 2840, 12), (1, 0x2000, 1592, 5), (2, 0x4000, 1560, 4), (3, 0x5000, 1512, 3),
        (4, 0x6000, 1096, 2), (1, 0x6100, 1096, 2), (2, 0x7400, 1000, 1), (1, 0x3000, 88, 4),
        (2, 0x8000, 72, 3), (3, 0x8020, 48, 2), (0, 0x9000, 40, 1)]
got = list(rows(j["dominators"]))
top = j["dominators"]
ok = got == want and j["top_total"] == 2 and j["heap_bytes"] == 2880 and j["heap_objects"] == 13
ok = ok and [r["text"] for r in top[0]["roots"]] == ["global registry (heap.c:5)"]
ok = ok and sorted(r["kind"] for r in top[1]["roots"]) == ["global", "stack"]
ok = ok and top[1]["roots_total"] == 2 and top[0]["chain"][0]["kind"] == "root"
ok = ok and top[0]["object"]["type"] == "Registry" and top[0]["children"][0]["children"][0]["object"]["map"] == "map[string]*Session"
if not ok:
    print("got", got, j["top_total"], top[0].get("roots"), top[1].get("roots"), file=sys.stderr)
    sys.exit(1)
PY
"$maproot" analyze --dominators --top 1 v.gcstack.gz >dom.txt || fail "--dominators text"
grep -q 'the largest retained sets: 1 of 2 top subtrees' dom.txt || fail "--dominators: the title"
grep -Eq '^ +2\.77KiB +98\.61% +12  Registry 0x1000, 64B$' dom.txt || fail "--dominators: the top row"
# the root and chain lines: labels under the object column, texts in one column
grep -Eq '^ {37}root  global registry \(heap.c:5\)$' dom.txt || fail "--dominators: its root"
grep -Eq '^ {37}chain registry -> Registry 0x1000$' dom.txt || fail "--dominators: its chain"
grep -Eq '^ +1\.52KiB +54\.17% +4      map header 0x4000 \(B=1, 2 entries\), 48B, map\[string\]\*Session$' dom.txt ||
  fail "--dominators: the map two levels down ($(grep 'map header' dom.txt))"
grep -q '(1 more top subtree: --top 0 shows all)' dom.txt || fail "--dominators: the cut"
if grep -q '0x8040' dom.txt; then fail "--dominators: a node under 1% of the heap is shown"; fi

# ---- paths to a type: the three Nodes share one shape
"$maproot" path --format json v.gcstack.gz --type Node >node.json || fail "path --type json"
python3 - node.json <<'PY' || fail "path --type: the group (above)"
import json, sys
j = json.load(open(sys.argv[1]))
p = j["paths"]
ok = j["objects"] == 3 and j["bytes"] == 72 and j["paths_total"] == 1 and len(p) == 1
ok = ok and p[0]["objects"] == 3 and p[0]["bytes"] == 72 and p[0]["length"] == 3
ok = ok and p[0]["object"]["address"] == 0x8000 and p[0]["root"]["text"] == "global registry (heap.c:5)"
ok = ok and [s["kind"] for s in p[0]["chain"]] == ["root", "object", "object", "object"]
if not ok:
    print(json.dumps(j, indent=1), file=sys.stderr)
    sys.exit(1)
PY
"$maproot" path --all --format json v.gcstack.gz --type Node >nodes.json || fail "path --type --all"
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
got = [(p["object"]["address"], p["length"]) for p in j["paths"]]
sys.exit(0 if got == [(0x8000, 3), (0x8020, 4), (0x8040, 5)] else 1)' nodes.json ||
  fail "path --type --all: one path per Node, shortest first"

# ---- the path to one object: through the map, the shortest from the global
"$maproot" path v.gcstack.gz --object 0x6105 >bob.txt || fail "path --object"
grep -q '^PATHS to Session 0x6100 (96B): the path from the root that explains it' bob.txt ||
  fail "path --object: the title ($(grep PATHS bob.txt))"
grep -q '^PATH 1 of 1   7 steps from global registry (heap.c:5)$' bob.txt || fail "path --object: the header counts the chain's steps, root included"
tr -s ' \n' ' ' <bob.txt |
  grep -qF 'registry -> Registry 0x1000 -> Cache 0x2000 -> map header 0x4000 (B=1, 2 entries) -> bucket[1] -> slot 3 ("bob") -> Session 0x6100' ||
  fail "path --object: the chain ($(sed -n '/chain/,$p' bob.txt))"

# each path's header counts its chain's steps, as JSON's chain_steps does
for args in "--all --object 0x9000" "--all --type Node" "--object 0x6105"; do
  # shellcheck disable=SC2086
  "$maproot" path $args v.gcstack.gz | sed -n 's/^PATH [0-9]* of [0-9]*   \([0-9]*\) steps\? from .*/\1/p' >hdr.txt
  # shellcheck disable=SC2086
  "$maproot" path $args --format json v.gcstack.gz |
    python3 -c 'import json,sys; [print(p["chain_steps"]) for p in json.load(sys.stdin)["paths"]]' >steps.txt
  [ -s hdr.txt ] && cmp -s hdr.txt steps.txt ||
    fail "path $args: the headers' steps ($(tr '\n' ' ' <hdr.txt)) are not the chains' ($(tr '\n' ' ' <steps.txt))"
done

# ---- every root that reaches the User: the stack word first (shorter)
"$maproot" path --all --format json v.gcstack.gz --object 0x9000 >user.json || fail "path --all"
python3 - user.json <<'PY' || fail "path --all: the roots (above)"
import json, sys
j = json.load(open(sys.argv[1]))
got = [(p["root"]["kind"], p["length"]) for p in j["paths"]]
ok = got == [("stack", 1), ("global", 6)] and j["paths_total"] == 2
# a path from another root than the report's says the bucket and slot it
# goes through, as the report's chains do
ok = ok and [s.get("address") for s in j["paths"][1]["chain"][1:]] == [0x1000, 0x2000, 0x4000, 0x5000, None, 0x6000, 0x9000]
ok = ok and [s["text"] for s in j["paths"][1]["chain"][4:6]] == ["bucket[0]", 'slot 0 ("alice")']
if not ok:
    print(got, json.dumps(j["paths"], indent=1), file=sys.stderr)
    sys.exit(1)
PY

# ---- dot: one graph, nodes merged where paths share them
"$maproot" path --format dot v.gcstack.gz --type Session >s.dot || fail "path dot"
head -1 s.dot | grep -q '^strict digraph paths {$' || fail "path dot: the header"
grep -q '"registry", shape=ellipse' s.dot || fail "path dot: the root node"
[ "$(grep -c '^  o1 ' s.dot)" -ge 1 ] || fail "path dot: the Cache node"
if command -v dot >/dev/null; then dot -Tsvg s.dot >/dev/null || fail "path dot: Graphviz refuses it"; fi

# ---- nothing to show, and errors (one line, exit 2)
"$maproot" path v.gcstack.gz --type Nothing >none.txt; [ $? -eq 0 ] || fail "path of an absent type: status"
grep -q 'PATHS to the 0 live objects of type Nothing' none.txt || fail "path of an absent type: text"
expect_bad() {
  local what=$1 want=$2
  shift 2
  "$@" >out.txt 2>err.txt
  local rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, expected 2"
  [ "$(wc -l <err.txt)" -eq 1 ] && grep -q -- "$want" err.txt || fail "$what: message $(cat err.txt)"
}
expect_bad "no object there" "no object at 0x100" "$maproot" path v.gcstack.gz --object 0x100
expect_bad "a bad address" "wants an address" "$maproot" path v.gcstack.gz --object zz
expect_bad "both targets" "one of --type" "$maproot" path v.gcstack.gz --object 0x1000 --type Node
expect_bad "no target" "one of --type" "$maproot" path v.gcstack.gz
expect_bad "--by something" 'unknown --by "site"' "$maproot" analyze --by site v.gcstack.gz
expect_bad "--by with pprof" "print text or json" "$maproot" analyze --dominators --format pprof -o x.pb.gz v.gcstack.gz
expect_bad "both views" "two views: give one" "$maproot" analyze --by type --dominators v.gcstack.gz
expect_bad "both views" "two views: give one" "$maproot" analyze --dominators --by type v.gcstack.gz
printf 'not a heap' >bad.bin
expect_bad "a bad file" "bad.bin" "$maproot" path bad.bin --type Node

# ---- the analysis's environment (maproot-analyze(1) ENVIRONMENT): values
# that are not numbers are ignored without a word, and no setting changes
# the answer, the spilled tables' included
"$maproot" analyze --index=off --dominators v.gcstack.gz >want.txt
for env in MAPROOT_THREADS=abc MAPROOT_THREADS=0 MAPROOT_THREADS=1 MAPROOT_SPILL_BYTES=xyz \
           MAPROOT_SPILL_BYTES=0 MAPROOT_SPILL_BYTES=1 "MAPROOT_SPILL_BYTES=1 TMPDIR=/nonexistent"; do
  env $env "$maproot" analyze --index=off --dominators v.gcstack.gz >got.txt 2>err.txt ||
    fail "$env: exit $?"
  diff <(sed 1,3d want.txt) <(sed 1,3d got.txt) >/dev/null || fail "$env: another report"
  [ ! -s err.txt ] || fail "$env: said $(cat err.txt)"
done

[ "$failures" -eq 0 ] && echo "views: all checks passed"
exit $((failures > 0))
