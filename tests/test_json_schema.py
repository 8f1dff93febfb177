#!/usr/bin/env python3
"""tests/test_json_schema.py -- every kind of JSON report maproot writes
follows doc/schema/maproot.schema.json, is the same bytes when run twice,
and is documented.

usage: test_json_schema.py MAPROOT EXAMPLES_DIR ANALYSIS_HEAPS SOURCE_ROOT WORKDIR

Inputs: snapshots and profiles of the examples (written at exit, as the
README says), periodic snapshots for a diff, the heaps of
tests/analysis_heaps.c whose names are not UTF-8 (names) or that nest maps
(nested), the Go heap dumps and profiles under testdata/. Every report of
analyze (snapshot, profile with its snapshot, profile alone, Go heap dump,
--summary, --all, --timings, --by type, --dominators), of diff (snapshots,
dumps, profiles) and of path (--type, --object) is
validated, run a second time and compared byte for byte (only --timings
may differ). Then the checks of the rules the schema cannot state: keys as
data apart from their display, the _hex siblings of names that are not
UTF-8, a bucket step's own address; and every field the schema names is
documented in maproot-analyze(1) or maproot-diff(1).
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import schema_check  # noqa: E402

maproot, exdir, heaps, src, work = [os.path.abspath(a) for a in sys.argv[1:6]]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
os.chdir(work)
fails = []


def fail(what):
    print("FAIL: " + what)
    fails.append(what)


def run(argv, env=None, ok=(0,)):
    p = subprocess.run(argv, capture_output=True, env=dict(os.environ, **(env or {})), timeout=600)
    if p.returncode not in ok:
        fail("%s exited %d: %s" % (" ".join(argv), p.returncode, p.stderr.decode()[:300]))
    return p.stdout


reports = {}  # kind -> a report of it, for the rejections below


def agree(doc, what):
    """The two validators (schema_check.py) say the same of doc: the fast one
    stands for jsonschema in the other tests."""
    fast = schema_check.fast_errors(doc)
    if fast is not None and bool(fast) != bool(schema_check.errors(doc)):
        fail("%s: fastjsonschema says %s, jsonschema %s" % (what, fast or "valid",
                                                            schema_check.errors(doc) or "valid"))


def report(args, kind, what=None, deterministic=True):
    """Runs maproot ARGS (a JSON report of `kind`), validates it, runs it again
    and compares the bytes; returns the report."""
    what = what or "maproot " + " ".join(args)
    out = run([maproot] + args)
    try:
        doc = json.loads(out)
    except ValueError as e:
        fail("%s: not JSON: %s" % (what, e))
        return None
    try:
        schema_check.validate(doc, what)
    except AssertionError as e:
        fail(str(e))
    agree(doc, what)
    reports.setdefault(kind, doc)
    if doc.get("schema_version") != 1 or doc.get("report") != kind:
        fail("%s: schema_version %r, report %r (wanted 1, %s)" % (what, doc.get("schema_version"),
                                                                 doc.get("report"), kind))
    if deterministic:
        if run([maproot] + args) != out:
            fail("%s: a second run gives other bytes" % what)
        if "seconds" in json.dumps(doc):
            fail("%s: wall-clock seconds without --timings" % what)
    return doc


# ---- inputs
for ex in ["sessiond", "iterator_pin", "local_map", "shared_entries", "pointer_keys"]:
    run([os.path.join(exdir, ex)], env={"MAPROOT_PROFILE": ex + ".pb.gz",
                                         "MAPROOT_SNAPSHOT": ex + ".gcstack.gz"})
    os.makedirs("alone", exist_ok=True)
    shutil.copy(ex + ".pb.gz", os.path.join("alone", ex + ".pb.gz"))
run([os.path.join(exdir, "pointer_keys")],
    env={"MAPROOT_SNAPSHOT": "per.gcstack.gz", "MAPROOT_PROFILE_EVERY": "1",
         "MAPROOT_SNAPSHOT_FORK": "0"})
periodic = sorted(glob.glob("per.[0-9]*.gcstack.gz"))
for h in ["names", "nested"]:
    run([heaps, h, "h-%s.gcstack.gz" % h], env={"MAPROOT_SNAPSHOT_FORK": "0"})  # (test_analyze_e2e.sh)
dumps = [os.path.join(src, "testdata", "fuzz", "godump", d)
         for d in ("global.dump", "pointerfree-iterator.dump")]
profiles = os.path.join(src, "testdata", "profiles")

# ---- every kind of report
snaps = {}
for ex in ["sessiond", "iterator_pin", "local_map", "shared_entries", "pointer_keys"]:
    snaps[ex] = report(["analyze", "--format", "json", ex + ".gcstack.gz"], "snapshot_analysis")
    report(["analyze", "--summary", "--format", "json", ex + ".gcstack.gz"], "snapshot_summary")
    both = report(["analyze", "--format", "json", ex + ".pb.gz"], "snapshot_analysis")
    if both and not (both["profile"] == ex + ".pb.gz" and both["profile_analysis"]):
        fail("%s.pb.gz: the profile's figures are not in the report" % ex)
    report(["analyze", "--format", "json", os.path.join("alone", ex + ".pb.gz")],
           "profile_analysis")
report(["analyze", "--format", "json", "--all", "pointer_keys.gcstack.gz"], "snapshot_analysis")
report(["analyze", "--format", "json", "--maps", "0", "h-nested.gcstack.gz"], "snapshot_analysis")
timed = report(["analyze", "--format", "json", "--timings", "sessiond.gcstack.gz"],
               "snapshot_analysis", deterministic=False)
if timed and not isinstance(timed.get("seconds", {}).get("analyze"), float):
    fail("--timings: no seconds in the report")
names = report(["analyze", "--format", "json", "h-names.gcstack.gz"], "snapshot_analysis")
nsum = report(["analyze", "--summary", "--format", "json", "h-names.gcstack.gz"],
              "snapshot_summary")
report(["diff", "--format", "json", "h-names.gcstack.gz", "h-names.gcstack.gz"], "snapshot_diff")
if len(periodic) >= 2:
    d = report(["diff", "--format", "json", periodic[0], periodic[-1]], "snapshot_diff")
    if d and not any(m["new_keys"] for m in d["maps"]):
        fail("diff of periodic snapshots: no new keys to check")
else:
    fail("pointer_keys wrote %d periodic snapshots" % len(periodic))
for dump in dumps:
    report(["analyze", "--format", "json", dump], "snapshot_analysis")
report(["diff", "--format", "json"] + dumps, "snapshot_diff")
for f in ["go-after.pb.gz", "maproot-heap.pb.gz"]:
    report(["analyze", "--format", "json", "--top", "0", os.path.join(profiles, f)],
           "profile_analysis")
for a, b in [("go-before.pb.gz", "go-after.pb.gz"),
             ("maproot-heap.pb.gz", "maproot-heap-after.pb.gz")]:
    report(["diff", "--format", "json", os.path.join(profiles, a), os.path.join(profiles, b)],
           "profile_diff")

# the views of the whole heap and the paths (snapshots, names that are not
# UTF-8, Go heap dumps)
for heap in ["sessiond.gcstack.gz", "h-names.gcstack.gz", dumps[0]]:
    report(["analyze", "--by", "type", "--format", "json", heap], "heap_types")
    report(["analyze", "--dominators", "--format", "json", heap], "dominator_tree")
p = report(["path", "--type", "Session", "--all", "--format", "json", "sessiond.gcstack.gz"],
           "paths")
if p and p["paths"]:
    report(["path", "--object", str(p["paths"][0]["object"]["address"]), "--all", "--format",
            "json", "sessiond.gcstack.gz"], "paths")
else:
    fail("path --type Session: no path to check --object with")
report(["path", "--type", "main.Session", "--format", "json", dumps[0]], "paths")

# ---- the jq lines of the man pages' EXAMPLES find what they name, on the
# files those examples write (heap.pb.gz with heap.gcstack.gz beside it: the
# sessiond pair here; heap.dump, whose report has the same form, the
# sessiond snapshot too, without --binary: the dumps here have no suspect)
def jq_path(doc, expr):
    """The values of a jq path of .name, [N] and [] steps."""
    vals = [doc]
    for name, index in re.findall(r"\.(\w+)|\[(\d*)\]", expr):
        nxt = []
        for v in vals:
            if name and isinstance(v, dict) and name in v:
                nxt.append(v[name])
            elif not name and isinstance(v, list):
                nxt.extend(v if index == "" else v[int(index):int(index) + 1])
        vals = nxt
    return vals


jq_lines = 0
for page in ["maproot-analyze.1", "maproot-diff.1", "maproot-path.1", "maproot-gate.1"]:
    text = open(os.path.join(src, "man", page), encoding="utf-8").read().replace("\\-", "-")
    for line in re.findall(r"^maproot (.*\| ?jq .*)$", text, re.M):
        cmd, expr = line.split("|", 1)
        expr = re.sub(r"^ ?jq (-r )?", "", expr).strip().strip("'")
        args = shlex.split(cmd.replace("--binary ./service ", ""))
        files = {"heap.gcstack.gz": "sessiond.gcstack.gz", "heap.pb.gz": "sessiond.pb.gz",
                 "heap.dump": "sessiond.gcstack.gz"}
        args = [files.get(a, a) for a in args]
        jq_lines += 1
        out = run([maproot] + args)
        got = jq_path(json.loads(out), expr) if out else []
        if not got or all(v in (None, [], {}) for v in got):
            fail("%s EXAMPLES: maproot %s | jq %s finds nothing" % (page, " ".join(args), expr))
if jq_lines < 5:
    fail("only %d jq lines in the man pages' EXAMPLES" % jq_lines)

# ---- keys as data, apart from their display
s = snaps.get("sessiond")
if s and s["suspects"]:
    for e in s["suspects"][0]["entries"]:
        if not (re.fullmatch(r"user-\d+", e["key"]) and e["key_display"] == '"%s"' % e["key"]
                and e["key_truncated"] is False and "key_hex" not in e):
            fail("sessiond entry key %r / display %r" % (e["key"], e["key_display"]))
    slot = s["suspects"][0]["chain"][-1]
    if not (slot["kind"] == "slot" and slot["key"] == s["suspects"][0]["entries"][0]["key"]):
        fail("the chain's slot step does not carry the key: %r" % slot)
    # a bucket step is the bucket's own: its address is index buckets of 208
    # bytes (8 tophash, 8 string keys, 8 pointer values, the overflow word)
    # into the array that holds it
    for st in s["suspects"][0]["chain"]:
        if st["kind"] == "bucket" and st["address"] - st["object_address"] != 208 * st["index"]:
            fail("bucket step %r: not the bucket's own address" % st)
for ex, pattern in [("iterator_pin", r"\d+"), ("pointer_keys", r"0x[0-9a-f]+")]:
    a = snaps.get(ex)
    if a and a["suspects"]:
        m = a["suspects"][0]
        ok = all(re.fullmatch(pattern, e["key"]) and e["key"] == e["key_display"]
                 for e in m["entries"])
        if not ok or m["key_kind"] != {"iterator_pin": "int", "pointer_keys": "pointer"}[ex]:
            fail("%s: keys %r, key_kind %s" % (ex, [e["key"] for e in m["entries"][:3]],
                                               m["key_kind"]))

# ---- names that are not UTF-8: the bytes in a _hex sibling, the rest as is
if names:
    m = [m for m in names["maps"] if m["count"] == 3000]
    r = m[0]["retainer"] if m else None
    want = {"name": ("cache\u00c3(", b"cache\xc3(".hex()),
            "file": ("/src/caf\u00e9.c", b"/src/caf\xe9.c".hex())}
    for f, (text, hexed) in want.items():
        if not r or r.get(f) != text or r.get(f + "_hex") != hexed:
            fail("names: retainer %s %r / %s_hex %r" % (f, r and r.get(f), f, r and r.get(f + "_hex")))
    if m and (m[0].get("type_hex") != b"map[int64]*\xff\xfeBlob".hex() or
              m[0]["type"] != "map[int64]*\u00ff\u00feBlob"):
        fail("names: map type %r" % (m and m[0].get("type")))
    if r and "function_hex" in r:
        fail("names: a _hex sibling for a field that is UTF-8")
if nsum:
    pins = [x for x in nsum["roots"] if x["kind"] == "pin"]
    if not pins or pins[0].get("name_hex") != b"pin \xed\xa0\x80 label".hex():
        fail("names summary: the pin label's bytes: %r" % pins)

# ---- a report that breaks the schema is rejected, by either validator
# (a field of an unknown kind, a required one missing, one the schema does
# not list, a chain without its counts), and both say so
def broken(kind, what, change):
    doc = json.loads(json.dumps(reports.get(kind)))
    if doc is None:
        fail("no %s report to break" % kind)
        return
    try:
        change(doc)
    except (LookupError, TypeError) as e:
        fail("%s: the report has no such part to break: %r" % (what, e))
        return
    try:
        schema_check.validate(doc, what)
        fail("%s: accepted" % what)
    except AssertionError:
        pass
    if schema_check.fast_errors(doc) == []:
        fail("%s: fastjsonschema accepts it" % what)
    if not schema_check.errors(doc):
        fail("%s: jsonschema accepts it" % what)


def first_step(doc):
    return next(m for m in doc["maps"] if m["entries"])["entries"][0]["chain"][0]


def first_chain_row(row):
    if "chain" in row:
        return row
    for c in row["children"]:
        r = first_chain_row(c)
        if r:
            return r
    return None


broken("snapshot_analysis", "a chain step of an unknown kind",
       lambda d: first_step(d).update(kind="nonsense"))
broken("snapshot_analysis", "a map without its count", lambda d: d["maps"][0].pop("count"))
broken("snapshot_analysis", "a field the schema does not list",
       lambda d: d["maps"][0].update(no_such_field=1))
broken("snapshot_analysis", "a negative entry count", lambda d: d["maps"][0].update(count=-1))
broken("dominator_tree", "a chain without chain_steps (dependentRequired)",
       lambda d: first_chain_row({"children": d["dominators"]}).pop("chain_steps"))

# ---- every field of the schema is documented
man = ""
for page in ["maproot-analyze.1", "maproot-diff.1", "maproot-path.1"]:
    man += open(os.path.join(src, "man", page), encoding="utf-8").read().replace("\\-", "-")
fields = set()


def collect(node):
    if isinstance(node, dict):
        for k, v in node.get("properties", {}).items():
            fields.add(k)
        for v in node.values():
            collect(v)
    elif isinstance(node, list):
        for v in node:
            collect(v)


collect(schema_check.schema())
undocumented = sorted(f for f in fields if not re.search(r"(?<![\w])%s(?![\w])" % re.escape(f), man))
if undocumented:
    fail("fields of the schema that maproot-analyze(1), -diff(1) and -path(1) do not name: " +
         ", ".join(undocumented))

print("%d failures" % len(fails))
sys.exit(1 if fails else 0)
