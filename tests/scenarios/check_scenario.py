#!/usr/bin/env python3
"""Runs one adversarial scenario and checks maproot's answers against its truth.

usage: check_scenario.py --maproot MAPROOT --program PROGRAM --expect NAME.json
                         --dir DIR [--pending]

The program (see scenario.h) is run as `PROGRAM DIR`, with MAPROOT_SNAPSHOT
set to DIR/exit.gcstack.gz when the expectations use the snapshot written at
exit. It prints its truth, one `truth {json}` line per fact. Then every
snapshot named by the expectations is analysed with the real
`maproot analyze --format json` (and text where a check reads the text), every
pair compared with `maproot diff --format json`, every series a gate check
names judged with `maproot gate --format json`, and each check of NAME.json
is evaluated. A check marked "pending" names a fix the analysis still needs:
it is listed but not run, unless --pending is given (then it counts like any
other). Exit status 0 when every check that ran passed, 1 otherwise, 2 on a
malformed expectations file or a program that failed.

NAME.json:
  {"truth": "...",                      what the program does and why (prose)
   "maps": n,                           how many maps `maproot analyze` lists (its
                                        --maps; default 0, every one): for a heap of
                                        so many maps that listing each is the cost
   "env": {"VAR": "value"},             extra environment for the program
                                        ("{dir}" in a value stands for DIR)
   "checks": [CHECK, ...]}
CHECK:
  {"id": "...", "what": "...",          name and the truth it checks (prose)
   "snapshot": "held" | ["held", "exit"],   or "diff": ["before", "after"]
   "map": "label",                      a map of the program's truth lines
                                        (found by its header address); in a
                                        diff: "map_type" (and "map_root" regex,
                                        "map_count_after" its entries after),
                                        or "group_type" (and "group_root" regex)
                                        for a group of maps of the diff
   "expect": {...},                     see EXPECTATIONS below
   "pending": "the fix it waits for"}   optional

EXPECTATIONS (every key given must hold):
  about a map:
    suspect: bool                       whether it is a leak suspect
    evidence_has / evidence_lacks: [names]
    context_has: [names]                context shown with it (shared_entries, several_roots)
    retainer: ROOT                      the root the report names
    root: ROOT or null                  the single holder keeping its header (null: none,
                                        several holders do)
    roots_include / roots_exclude: [ROOT]   among the roots reaching its header
    roots_all: ROOT                     every root reaching its header matches
    roots_once: true                    no root listed twice
    roots_words_distinct: true          no two roots listed are one root word (slot): a
                                        word is one holder, whatever structure it is part of
    nroots_min: n
    chain: regex                        searched in " -> ".join of its chain's step texts
    chain_has: [STEP]                   its chain's steps include these, in this order
                                        (not necessarily adjacent); a STEP is an object
                                        of step fields (kind, text, key, index, slot,
                                        address, type), each value given must be equal
                                        (or a truth reference, see below)
    chain_lacks: regex
    chain_from_retainer: true           its chain's first step is the root the report names
    chain_objects: n                    objects on its chain, those of elided steps included
    path_agrees: true                   `maproot path --format json --object HEADER` shows first
                                        a path from the root the report names, by the steps of
                                        the report's chain up to the header
    text_root_is_retainer: true         the text report's block of this suspect (found by its
                                        chain's header address) names the same root as the JSON
    retained_bytes / count / keys_retained_bytes / entries_retained_bytes /
    shared_entries / shared_bytes / inner_suspect_bytes / buckets / overflow_buckets /
    slice_buffers / slice_bytes (the buffers its string keys or values are slices of) /
    old_buckets (bucket records by role: new main, new overflow, old):
                                        a number, or "truth" (the truth line's
                                        field), or "truth:FIELD"
    rank: n                             its rank among the suspects (1 first; null none)
    retained_min_share: fraction        retained_bytes >= fraction * reachable heap
    retained_is_table: true             retained_bytes == table_bytes (the map retains
                                        its table and nothing else)
    entries_each: "truth:FIELD"         every entry listed retains exactly the bytes its
                                        key names in the truth's object FIELD ({key: bytes});
                                        a key shown truncated is looked up by its shown
                                        prefix (one key must match)
    entries_shared: bool                every entry listed is shared (or none is)
    entries_value_type: name            every entry listed shows this value type
    entries_keys_distinct: true         no two entries listed show the same key (at least
                                        two are listed)
    sites_include: [function]           among its sampled allocation sites
    entries_sites_exclude: [function]   no entry listed is shown made by these functions
    sites_only: [function]              it has sampled sites, each in one of these functions
  about a snapshot (no "map"):
    suspects: n                         the number of suspects (maps)
    group_suspects: n                   the number of suspect groups of maps
    suspect_labels: [labels]            exactly these maps are suspects
    absent: [labels]                    no map at these labels' addresses
    text_has / text_lacks: [regex]      in `maproot analyze` text output
    text_has_if_lines: [regex]          the same, for a program with line tables (-g)
  about a map of a diff:
    status, entries_added, entries_removed, count_before, count_after,
    growing, retained_before_bytes, retained_after_bytes,
    retained_delta_bytes: a value, or "truth:SNAPSHOT.LABEL.FIELD", or a
    sum of such references ("truth:a.x.f - truth:b.x.f"; snapshot names,
    labels and fields are words: letters, digits, underscores)
    fail_on_growth_exit: n              `maproot diff --fail-on growth` exits with n
  about a group of maps ("group": "label", a truth line with the holder's
  address as "holder" and the group's figures; the group of the report is
  the suspect group whose holder has that address, or with "variable": name
  in the check, the one of that variable across threads):
    suspect: bool                       whether such a suspect group is reported
    maps / entries / min_entries / median_entries / max_entries /
    retained_bytes / nested_maps / rank: a value or a truth reference
    retainer: ROOT                      the root the report names for it
    holder_retained_bytes: a value or a truth reference (a bare "truth": the
                                        label's retained_bytes): what its holder retains
    holder_chain: regex                 in " -> ".join of its holder chain's step texts
    example_chain: regex                in that of its example's chain from the holder on
    type: name                          its map type
A VIEW CHECK reads one of the views of the whole heap of a snapshot (no
"map"): "label" names the truth line that "truth" references refer to.
  {"id": ..., "snapshot": S, "by_type": "T", "label": L, "expect": {...}}
                                        the row of type T of `maproot analyze --by type
                                        --top 0 --format json`:
    objects / shallow_bytes / retained_bytes: a value or a truth reference
    rank: n                             its row (1 first: the most retained bytes)
    kind: name                          its kind (struct, array, blob, map header, ...)
    absent: true                        no row of type T (no live object of it)
  {"id": ..., "snapshot": S, "dominators": N, "expect": {...}}
                                        `maproot analyze --dominators --top N --format json`:
    top: [ROW, ...]                     its first top subtrees are these, in this order
    top_total: n                        top subtrees in all
    heap_bytes: n                       the live bytes the shares are of
  ROW: {"label": L,                     the subtree of the object at L's truth "address";
                                        "truth" in the row refers to L's fields
        "type": T, "retained_bytes": v, "objects": v (objects in its subtree),
        "root_kind": kind               the kind of the root its chain starts from
        "roots": [ROOT],                its roots: each matches one of these, and each of
                                        these exactly one of its roots
        "roots_total": n,
        "chain_has": [STEP],            as a map's chain_has, in its chain
        "children_include": [ROW],      rows right below it (their immediate dominator is
                                        it), in any order
        "children_lack": [L]}           no row below it is the object at L's "address"
  {"id": ..., "snapshot": S, "path": {"type": T} | {"object": ADDRESS}, "all": bool,
   "label": L, "expect": {...}}         `maproot path --format json --top 0` (ADDRESS: a
                                        value or truth reference, e.g. "truth:L.address"):
    objects / bytes / unreachable_objects / paths_total: a value or a truth reference
    lengths: [n, ...]                   every path's length (objects on it), in order
    sorted: true                        shortest first: no path longer than the next
    first_root: ROOT                    the first path starts at this root
    first_length: n                     and has this many objects
    first_chain_steps: n                the steps of its whole chain (the root's included;
                                        a chain too long to show is elided, not cut)
    first_as_default: true              its chain is the one `maproot path --object` (no
                                        --all) shows for the first path's object
    first_steps: [STEP]                 its chain takes these steps, in this order
    first_lacks: [STEP]                 its chain takes none of these
    path_steps: {"N": [STEP]}           path N's (1 first) chain takes these steps, in order
    roots_all: ROOT                     every path's root matches it
    roots_each: [ROOT]                  every path's root matches one of these, and each
                                        of these exactly one path's root (with --all on
                                        an object: exactly the roots that reach it)
TRUTH REFERENCES, wherever a value is expected: "truth" (the field of the
same name in the truth of the map checked, in the snapshot checked),
"truth:FIELD" (another field of it), "truth:LABEL.FIELD" (of another label
in the same snapshot), "truth:SNAPSHOT.LABEL.FIELD"
    new_keys_match: regex               every new key shown matches it (whole; the key
                                        as data: "new-7", not its display "\"new-7\"")
    new_keys_count: n
  about a group of maps of a diff ("group_type"):
    status, maps_before, maps_after, entries_before, entries_after,
    retained_before_bytes, retained_after_bytes, retained_delta_bytes,
    growing, suspect: as for a map of a diff
    alone_maps, alone_entries, alone_bytes: its members growing on their own
    fail_on_growth_stderr: regex        `maproot diff --fail-on growth` exits 1 and
                                        says this on standard error
    text_blocks: [{"section": "MAPS" | "GROUPS", "header": regex, "has": regex,
                   "count": n}]         in `maproot diff` text, n blocks of that section
                                        (a block: a line of two spaces' indent and the
                                        deeper ones below it) have a first line the
                                        header finds and a body the has regex finds
  about every map of a type in a diff ("map_type", with only these keys):
    growing_maps: n                     how many are growing on their own
    in_growing_group: n                 how many grow with their growing group
A GATE CHECK judges snapshots with the real `maproot gate --format json`:
  {"id": ..., "gate": ["s0", "s1", ...],   the snapshots, in any order
   "write_baseline": "NAME",              optional: also record DIR/NAME.baseline.json
   "baseline": "NAME",                    optional: judge against it (a check
                                          before this one wrote it)
   "policy": {...},                       optional: the policy to judge by
                                          (maproot-gate(5)), written to a file
   "expect": {...}}
  gate expectations:
    exit_status: n, verdict: "pass" | "fail"   (exit status 2: a refusal, no report)
    stderr_has: regex                     searched in the gate's standard error
    counts: {name: n}                     these members of the report's counts
    maps_followed: n                      the number of maps followed
    groups_followed: n                    the number of groups of maps followed
    checks: [{"map": "label", "rule": R, "status": S, "subject": regex}]
                                          the map of the truth label (found by type
                                          and holder: see "gate_maps") has a check
                                          of rule R with status S (and a subject
                                          the regex finds, when given)
                                          and, with "figures": {FIELD: VALUE}, those
                                          fields of the check are VALUE (literal or a
                                          truth reference "truth:SNAP.LABEL.FIELD", sums
                                          allowed)
    checks_lack: [{"map": "label", "status": S}]   ... and none with status S
    points: ["label"]                     the map's points (entries, retained bytes),
                                          one per snapshot judged, are the truth's
                                          count and retained_bytes in those snapshots
                                          (a group's: maps, entries and retained_bytes,
                                          and threads when the truth has them)
    outputs_have / outputs_lack: {"text" | "junit" | "github": [regex]}
                                          in the gate's text report, its --junit XML
                                          or its --github annotations (one run)
  "gate_maps" (at the top of NAME.json): {"label": {"type": T, "holder": H}}, with
                                          "group": true for a group of maps (its
                                          members' type, its holder's root), and
                                          "way": W to tell apart maps of one holder
ROOT: {"kind": ..., "name": ..., "function": ..., "frame": n, "thread": n,
       "text": regex}; each given field must match (strings exactly, "text"
       as a regex search; a list means any of its values).
"""

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from schema_check import validate  # noqa: E402  every report read is checked


class Malformed(Exception):
    pass


# Each command this script runs gets less time than meson gives the whole
# check (300 s), so that a command that hangs is named, with its stacks,
# before meson kills everything silently. (SCENARIO_COMMAND_TIMEOUT: another
# bound, in seconds, to see the report.)
COMMAND_TIMEOUT = int(os.environ.get("SCENARIO_COMMAND_TIMEOUT", "240"))


def session_pids(sid):
    """The processes of session sid (the command and what it forked)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid:  # state ppid pgrp session
            pids.append(int(d))
    return sorted(pids)


def report_hang(argv, proc):
    """Prints which command hung and every thread's stack of each of its
    processes (with gdb, where there is one)."""
    print("HUNG    %s: still running after %d s" % (" ".join(argv), COMMAND_TIMEOUT))
    for pid in session_pids(proc.pid):
        try:
            with open("/proc/%d/cmdline" % pid) as f:
                cmd = f.read().replace("\0", " ").strip()
        except OSError:
            continue
        print("=== pid %d: %s" % (pid, cmd))
        try:
            g = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                               capture_output=True, text=True, timeout=60)
            print(g.stdout)
        except (OSError, subprocess.TimeoutExpired) as e:
            print("(no stacks: %s)" % e)
    sys.stdout.flush()


def run_bounded(argv, env=None):
    """subprocess.run(argv, capture_output=True, text=True) in a session of
    its own, bounded by COMMAND_TIMEOUT: a command still running then is
    reported (report_hang), killed with what it forked, and a Malformed."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        report_hang(argv, proc)
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        sys.stderr.write(err)
        raise Malformed("%s hung (no end after %d s): stacks above" %
                        (" ".join(argv), COMMAND_TIMEOUT))
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def load_truth(stdout):
    """The program's truth lines, keyed (snapshot, label); the fields of
    several lines about one label add up to one record."""
    truth = {}
    for line in stdout.splitlines():
        if not line.startswith("truth "):
            continue
        rec = json.loads(line[len("truth "):])
        truth.setdefault((rec["snapshot"], rec["label"]), {}).update(rec)
    return truth


class Run:
    def __init__(self, args, spec):
        self.args = args
        self.spec = spec
        self.analyses = {}
        self.texts = {}
        self.diffs = {}
        self.paths = {}
        self.views = {}
        self.truth = {}

    def path(self, snapshot):
        return os.path.join(self.args.dir, snapshot + ".gcstack.gz")

    def run_program(self):
        os.makedirs(self.args.dir, exist_ok=True)
        for f in os.listdir(self.args.dir):
            if f.endswith(".gcstack.gz") or f.endswith(".pb.gz"):
                os.unlink(os.path.join(self.args.dir, f))
        env = dict(os.environ)
        env["MAPROOT_SNAPSHOT"] = self.path("exit")
        for k, v in self.spec.get("env", {}).items():
            env[k] = v.replace("{dir}", self.args.dir)
        p = run_bounded([self.args.program, self.args.dir], env=env)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr)
        if p.returncode != 0:
            raise Malformed("%s exited with status %d" % (self.args.program, p.returncode))
        self.truth = load_truth(p.stdout)

    def maproot(self, *argv):
        p = run_bounded([self.args.maproot] + list(argv))
        if p.returncode != 0:
            raise Malformed("maproot %s: exit status %d: %s" %
                            (" ".join(argv), p.returncode, p.stderr.strip()))
        return p.stdout

    def analysis(self, snapshot):
        if snapshot not in self.analyses:
            self.analyses[snapshot] = validate(json.loads(
                self.maproot("analyze", "--format", "json", "--maps",
                             str(self.spec.get("maps", 0)), self.path(snapshot))),
                "analyze " + snapshot)
        return self.analyses[snapshot]

    def has_lines(self):
        """Whether the program carries DWARF line tables (a build with -g):
        only then can frames be named with their file and line."""
        p = subprocess.run(["readelf", "-S", "-W", self.args.program], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise Malformed("readelf -S %s: %s" % (self.args.program, p.stderr.strip()))
        return ".debug_line" in p.stdout

    def text(self, snapshot):
        if snapshot not in self.texts:
            self.texts[snapshot] = self.maproot("analyze", self.path(snapshot))
        return self.texts[snapshot]

    def object_path(self, snapshot, address):
        """`maproot path --format json` to the object at address."""
        key = (snapshot, address)
        if key not in self.paths:
            self.paths[key] = validate(json.loads(
                self.maproot("path", "--format", "json", "--object", str(address),
                             self.path(snapshot))), "path %s %d" % key)
        return self.paths[key]

    def view(self, snapshot, *argv):
        """A view's JSON report (`maproot analyze|path ... --format json`)."""
        key = (snapshot,) + argv
        if key not in self.views:
            self.views[key] = validate(json.loads(
                self.maproot(*(argv + ("--format", "json", self.path(snapshot))))),
                " ".join(argv[:2]) + " " + snapshot)
        return self.views[key]

    def diff_status(self, before, after, *flags):
        """The exit status of `maproot diff FLAGS BEFORE AFTER` (0 or 1)."""
        argv = [self.args.maproot, "diff"] + list(flags) + [self.path(before), self.path(after)]
        p = run_bounded(argv)
        if p.returncode not in (0, 1):
            raise Malformed("maproot %s: exit status %d: %s" %
                            (" ".join(argv[1:]), p.returncode, p.stderr.strip()))
        return p.returncode

    def diff_text(self, before, after):
        key = ("text", before, after)
        if key not in self.diffs:
            self.diffs[key] = self.maproot("diff", self.path(before), self.path(after))
        return self.diffs[key]

    def diff(self, before, after):
        key = (before, after)
        if key not in self.diffs:
            self.diffs[key] = validate(json.loads(
                self.maproot("diff", "--format", "json", self.path(before), self.path(after))),
                "diff %s %s" % key)
        return self.diffs[key]

    def gate(self, snapshots, extra):
        """The gate's JSON report on snapshots, and its exit status."""
        argv = [self.args.maproot, "gate", "--format", "json"] + extra + [
            self.path(s) for s in snapshots]
        p = run_bounded(argv)
        if p.returncode == 2:  # refused: no report, the reason on stderr
            return None, 2, p.stderr
        if p.returncode != 1 and p.returncode != 0:
            raise Malformed("maproot %s: exit status %d: %s" %
                            (" ".join(argv[1:]), p.returncode, p.stderr.strip()))
        return json.loads(p.stdout), p.returncode, p.stderr

    def gate_outputs(self, snapshots, extra):
        """The gate's text report, its JUnit XML and its GitHub annotations
        on snapshots: {"text": ..., "junit": ..., "github": ...}."""
        junit = os.path.join(self.args.dir, "gate.junit.xml")
        argv = [self.args.maproot, "gate", "--junit", junit, "--github"] + extra + [
            self.path(s) for s in snapshots]
        p = run_bounded(argv)
        if p.returncode not in (0, 1):
            raise Malformed("maproot %s: exit status %d: %s" %
                            (" ".join(argv[1:]), p.returncode, p.stderr.strip()))
        lines = p.stdout.splitlines(True)
        with open(junit) as f:
            out = {"text": "".join(l for l in lines if not l.startswith("::")),
                   "github": "".join(l for l in lines if l.startswith("::")),
                   "junit": f.read()}
        os.unlink(junit)
        return out

    def baseline_path(self, name):
        return os.path.join(self.args.dir, name + ".baseline.json")

    def truth_of(self, snapshot, label):
        rec = self.truth.get((snapshot, label))
        if rec is None:
            raise Malformed("the program printed no truth for %s in snapshot %s" %
                            (label, snapshot))
        return rec

    def value(self, want, snapshot, label, field):
        """An expected value: a literal, or a reference to the truth."""
        if want == "truth":
            return self.truth_of(snapshot, label)[field]
        if isinstance(want, str) and want.startswith("truth:"):
            total = 0
            for sign, ref in re.findall(r"([+-]?)\s*truth:([^\s+-]+)", want):
                parts = ref.split(".")
                if len(parts) == 1:
                    v = self.truth_of(snapshot, label)[parts[0]]
                elif len(parts) == 2:
                    v = self.truth_of(snapshot, parts[0])[parts[1]]
                elif len(parts) == 3:
                    v = self.truth_of(parts[0], parts[1])[parts[2]]
                else:
                    raise Malformed("bad truth reference %r" % ref)
                if not isinstance(v, (int, float)):
                    return v  # an object of the truth, referred to whole
                total += -v if sign == "-" else v
            return total
        return want


def match_field(want, got):
    if isinstance(want, list):
        return any(match_field(w, got) for w in want)
    return want == got


def root_matches(pattern, root):
    if root is None:
        return False
    for k, want in pattern.items():
        if k == "text":
            if not re.search(want, root.get("text", "")):
                return False
        elif not match_field(want, root.get(k)):
            return False
    return True


def chain_text(m):
    return " -> ".join(step.get("text", "") for step in m.get("chain", []))


def find_map(analysis, address):
    for m in analysis["maps"]:
        if m["address"] == address:
            return m
    return None


def check_entries(truth, m):
    """Yields the failures of the entries listed against truth {key: bytes}."""
    if not m.get("entries"):
        yield "no entries listed"
    for e in m.get("entries", []):
        key = e["key"]
        if key is None:
            yield "an entry without a key: %s" % e["key_display"]
            continue
        if e["key_truncated"]:
            names = [k for k in truth if k.startswith(key)]
        else:
            names = [key] if key in truth else []
        if len(names) != 1:
            yield "entry %s matches %d keys of the truth" % (e["key_display"][:80], len(names))
            continue
        if e["retained_bytes"] != truth[names[0]]:
            yield "entry %s retains %d, the truth is %d" % (
                e["key_display"][:80], e["retained_bytes"], truth[names[0]])


def check_path(run, snapshot, m):
    """Yields where `maproot path` to m's header disagrees with m's report:
    its first path must start at the root the report names and take the
    steps of the report's chain up to the header."""
    rows = run.object_path(snapshot, m["address"])["paths"]
    if not rows:
        yield "maproot path shows no path to the header"
        return
    named = (m.get("retainer") or {}).get("text")
    if rows[0]["root"]["text"] != named:
        yield "maproot path starts at %r, the report names %r" % (rows[0]["root"]["text"], named)
    steps = m.get("chain", [])
    ends = [i for i, st in enumerate(steps)
            if st["kind"] == "map" and st.get("address") == m["address"]]
    if not ends:
        yield "the report's chain %r does not pass the header" % chain_text(m)
        return
    want = steps[:ends[-1] + 1]
    got = rows[0]["chain"]
    if not same_way(got, rows[0]["chain_elided"], want, m.get("chain_elided", 0)):
        yield "maproot path goes %r, the report's chain %r" % (
            " -> ".join(st.get("text", "") for st in got),
            " -> ".join(st.get("text", "") for st in want))


def same_way(a, a_elided, b, b_elided):
    """Whether two chains (lists of steps, each with the number of steps its
    elided step stands for) show one way. A chain too long to show whole
    elides its middle; two views of one way may elide different stretches:
    then they must agree in length, in the steps before the elision, and in
    the steps both show after it."""
    def split(c, n):
        i = next((k for k, st in enumerate(c) if st["kind"] == "elided"), None)
        if i is None:
            return [st.get("text", "") for st in c], 0, []
        return ([st.get("text", "") for st in c[:i]], n,
                [st.get("text", "") for st in c[i + 1:]])
    (ha, na, ta), (hb, nb, tb) = split(a, a_elided), split(b, b_elided)
    if not na and not nb:
        return ha == hb
    if len(ha) + na + len(ta) != len(hb) + nb + len(tb):
        return False
    h = min(len(ha), len(hb))
    t = min(len(ta), len(tb))
    return ha[:h] == hb[:h] and ta[len(ta) - t:] == tb[len(tb) - t:]


def check_text_root(run, snapshot, m):
    """Yields where the text report's block of suspect m (the one whose chain,
    perhaps wrapped over several lines, passes m's header) names another
    root than the JSON report's retainer."""
    header = "map header 0x%x " % m["address"]
    blocks = [b for b in re.split(r"\n(?=LEAK SUSPECT )", run.text(snapshot))
              if b.startswith("LEAK SUSPECT ") and header in b.split("\n\n")[0]]
    if len(blocks) != 1:
        yield "%d suspect blocks of the text report show %s" % (len(blocks), header.strip())
        return
    root = re.search(r"^  root +(.*)$", blocks[0], re.M)
    named = (m.get("retainer") or {}).get("text")
    if not root or root.group(1) != named:
        yield "the text report names %r, the JSON %r" % (root and root.group(1), named)


def check_map(run, snapshot, label, expect, m, heap_bytes):
    """Yields the failures of expect on map report m."""
    for key, want in expect.items():
        if key == "suspect":
            if m["suspect"] != want:
                yield "suspect is %s, expected %s (evidence %s)" % (m["suspect"], want,
                                                                   m["evidence"])
        elif key == "evidence_has":
            missing = [e for e in want if e not in m["evidence"]]
            if missing:
                yield "evidence %s lacks %s" % (m["evidence"], missing)
        elif key == "evidence_lacks":
            extra = [e for e in want if e in m["evidence"]]
            if extra:
                yield "evidence %s has %s" % (m["evidence"], extra)
        elif key == "context_has":
            missing = [c for c in want if c not in m["context"]]
            if missing:
                yield "context %s lacks %s" % (m["context"], missing)
        elif key == "retainer":
            if not root_matches(want, m.get("retainer")):
                yield "retainer is %r, expected %s" % (
                    (m.get("retainer") or {}).get("text"), json.dumps(want))
        elif key == "root":
            # null: no single holder keeps the header alive
            if want is None and m.get("root") is not None:
                yield "a single root %r, expected none" % m["root"].get("text")
            elif want is not None and not root_matches(want, m.get("root")):
                yield "root is %r, expected %s" % ((m.get("root") or {}).get("text"),
                                                  json.dumps(want))
        elif key == "roots_include":
            for pat in want:
                if not any(root_matches(pat, r) for r in m["roots"]):
                    yield "no root matching %s among %s" % (
                        json.dumps(pat), [r["text"] for r in m["roots"]])
        elif key == "roots_exclude":
            for pat in want:
                bad = [r["text"] for r in m["roots"] if root_matches(pat, r)]
                if bad:
                    yield "roots %s match %s" % (bad, json.dumps(pat))
        elif key == "roots_all":
            bad = [r["text"] for r in m["roots"] if not root_matches(want, r)]
            if bad or not m["roots"]:
                yield "roots %s do not match %s" % (bad or "(none)", json.dumps(want))
        elif key == "roots_once":
            texts = [r["text"] for r in m["roots"]]
            dups = sorted(set(t for t in texts if texts.count(t) > 1))
            if want and dups:
                yield "roots listed more than once: %s" % dups
        elif key == "roots_words_distinct":
            # one root word is one holder, listed once whatever it is part of
            slots = [r["slot"] for r in m["roots"] if r.get("slot")]
            dups = sorted(set(s for s in slots if slots.count(s) > 1))
            if want and dups:
                yield "roots %s are one word listed as several roots" % [
                    r["text"] for r in m["roots"] if r.get("slot") in dups]
        elif key == "nroots_min":
            if m["nroots"] < want:
                yield "nroots %d < %d" % (m["nroots"], want)
        elif key == "chain":
            if not re.search(want, chain_text(m)):
                yield "chain %r does not match %r" % (chain_text(m), want)
        elif key == "chain_has":
            yield from steps_in_order(run, snapshot, label, m.get("chain", []), want)
        elif key == "chain_objects":
            steps = m.get("chain", [])
            n = sum(1 for st in steps if st["kind"] == "object") + sum(
                st.get("steps", 0) for st in steps if st["kind"] == "elided")
            v = run.value(want, snapshot, label, key)
            if n != v:
                yield "the chain has %d objects, the truth is %d" % (n, v)
        elif key == "chain_from_retainer":
            steps = m.get("chain", [])
            r = m.get("retainer") or {}
            first = steps[0] if steps else {}
            same = first.get("kind") == "root" and first.get("root") == r.get("index")
            if want and not same:
                yield "the chain starts at %r, the root named is %r" % (
                    first.get("text"), r.get("text"))
        elif key == "path_agrees":
            if want:
                yield from check_path(run, snapshot, m)
        elif key == "text_root_is_retainer":
            if want:
                yield from check_text_root(run, snapshot, m)
        elif key == "chain_lacks":
            if re.search(want, chain_text(m)):
                yield "chain %r matches %r" % (chain_text(m), want)
        elif key == "rank":
            if m["rank"] != want:
                yield "rank is %s, expected %s" % (m["rank"], want)
        elif key in ("retained_bytes", "count", "keys_retained_bytes",
                     "entries_retained_bytes", "shared_entries", "shared_bytes",
                     "inner_suspect_bytes", "buckets", "overflow_buckets", "old_buckets",
                     "slice_buffers", "slice_bytes"):
            v = run.value(want, snapshot, label, key)
            if m[key] != v:
                yield "%s is %d, the truth is %d" % (key, m[key], v)
        elif key == "retained_is_table":
            if want and m["retained_bytes"] != m["table_bytes"]:
                yield "retains %d bytes, its table is %d" % (m["retained_bytes"], m["table_bytes"])
        elif key == "retained_min_share":
            if m["retained_bytes"] < want * heap_bytes:
                yield "retains %d of %d reachable bytes, expected at least %.0f%%" % (
                    m["retained_bytes"], heap_bytes, 100 * want)
        elif key == "entries_each":
            yield from check_entries(run.value(want, snapshot, label, None), m)
        elif key == "entries_shared":
            bad = [e["key_display"][:80] for e in m.get("entries", []) if e["shared"] != want]
            if bad or not m.get("entries"):
                yield "entries %s are not shared=%s" % (bad or "(none listed)", want)
        elif key == "entries_keys_distinct":
            shown = [e["key_display"] for e in m.get("entries", [])]
            dups = sorted(set(k[:80] for k in shown if shown.count(k) > 1))
            if want and (dups or len(shown) < 2):
                yield "entries shown alike: %s" % (dups or "(fewer than two entries listed)")
        elif key == "entries_value_type":
            bad = sorted(set(e["value_type"] for e in m.get("entries", [])) - {want})
            if bad or not m.get("entries"):
                yield "entries' value types %s, expected %s" % (bad or "(no entries)", want)
        elif key == "entries_sites_exclude":
            bad = ["%s (%s)" % (e["key_display"][:80], (e.get("site") or {}).get("function"))
                   for e in m.get("entries", [])
                   if (e.get("site") or {}).get("function") in want]
            if bad or not m.get("entries"):
                yield "entries shown made by %s: %s" % (want, bad or "(no entries listed)")
        elif key == "sites_only":
            fns = [s["function"] for s in m.get("sites", [])]
            if not fns or any(f not in want for f in fns):
                yield "sites %s are not all among %s" % (fns or "(none)", want)
        elif key == "sites_include":
            fns = [s["function"] for s in m.get("sites", [])]
            for f in want:
                if f not in fns:
                    yield "sites %s lack %s" % (fns, f)
        else:
            raise Malformed("unknown map expectation %r" % key)


def check_snapshot(run, snapshot, expect):
    a = run.analysis(snapshot)
    for key, want in expect.items():
        if key == "suspects":
            if len(a["suspects"]) != want:
                yield "%d suspects (%s), expected %d" % (
                    len(a["suspects"]), [s["type"] for s in a["suspects"]], want)
        elif key == "group_suspects":
            if len(a["group_suspects"]) != want:
                yield "%d suspect groups (%s), expected %d" % (
                    len(a["group_suspects"]),
                    [(g["type"], g["holder"]["type"]) for g in a["group_suspects"]], want)
        elif key == "suspect_labels":
            addrs = {run.truth_of(snapshot, l)["address"]: l for l in want}
            got = {s["address"] for s in a["suspects"]}
            missing = [addrs[x] for x in addrs if x not in got]
            extra = [s["type"] for s in a["suspects"] if s["address"] not in addrs]
            if missing or extra:
                yield "suspects: missing %s, unexpected %s" % (missing, extra)
        elif key == "absent":
            for label in want:
                # the map's address from any snapshot's truth
                recs = [r for (s, l), r in run.truth.items() if l == label]
                if not recs:
                    raise Malformed("no truth for %s" % label)
                if find_map(a, recs[0]["address"]) is not None:
                    yield "map %s is still reported" % label
        elif key == "text_has" or (key == "text_has_if_lines" and run.has_lines()):
            for rx in want:
                if not re.search(rx, run.text(snapshot), re.M):
                    yield "text output lacks %r" % rx
        elif key == "text_has_if_lines":
            pass  # a program without line tables: frames are named without lines
        elif key == "text_lacks":
            for rx in want:
                if re.search(rx, run.text(snapshot), re.M):
                    yield "text output has %r" % rx
        else:
            raise Malformed("unknown snapshot expectation %r" % key)


def text_blocks(text, section):
    """The blocks of a section of `maproot diff` text: (first line, body)."""
    blocks, inside = [], False
    for line in text.splitlines():
        if line and not line.startswith(" "):
            inside = line.split()[0] == section
        elif inside and re.match(r"  \S", line):
            blocks.append([line, ""])
        elif inside and blocks and line.startswith("    "):
            blocks[-1][1] += line + "\n"
    return blocks


def check_diff_text(run, before, after, want):
    text = run.diff_text(before, after)
    for b in want:
        n = sum(1 for head, body in text_blocks(text, b["section"])
                if re.search(b["header"], head) and re.search(b["has"], body, re.M))
        if n != b["count"]:
            yield "%d %s blocks of the diff text match %r with %r, expected %d" % (
                n, b["section"], b["header"], b["has"], b["count"])


def check_diff_group(run, before, after, check):
    d = run.diff(before, after)
    cands = [g for g in d["groups"] if g["type"] == check["group_type"] and
             re.search(check.get("group_root", ""), g["root"])]
    if len(cands) != 1:
        yield "%d groups of type %s in the diff" % (len(cands), check["group_type"])
        return
    g = cands[0]
    for key, want in check["expect"].items():
        if key == "fail_on_growth_stderr":
            p = run_bounded([run.args.maproot, "diff", "--fail-on", "growth",
                             run.path(before), run.path(after)])
            if p.returncode != 1 or not re.search(want, p.stderr):
                yield "maproot diff --fail-on growth: exit %d, stderr %r; expected 1 and %r" % (
                    p.returncode, p.stderr.strip(), want)
            continue
        if key == "text_blocks":
            yield from check_diff_text(run, before, after, want)
            continue
        if key not in g or key in ("type", "root", "holder_chain"):
            raise Malformed("unknown diff group expectation %r" % key)
        v = run.value(want, after, None, key)
        if g[key] != v:
            yield "%s is %r, expected %r" % (key, g[key], v)


def check_diff(run, before, after, check):
    if "group_type" in check:
        yield from check_diff_group(run, before, after, check)
        return
    d = run.diff(before, after)
    cands = [m for m in d["maps"] if m["type"] == check["map_type"] and
             re.search(check.get("map_root", ""), m.get("root") or "") and
             m["count_after"] == check.get("map_count_after", m["count_after"])]
    counted = {"growing_maps": "growing", "in_growing_group": "in_growing_group"}
    if set(check["expect"]) <= set(counted):  # counts over every map of the type
        for key, want in check["expect"].items():
            n = sum(1 for m in cands if m[counted[key]])
            if n != want:
                yield "%d of %d maps of type %s are %s, expected %d" % (
                    n, len(cands), check["map_type"], counted[key], want)
        return
    if len(cands) != 1:
        yield "%d maps of type %s in the diff" % (len(cands), check["map_type"])
        return
    m = cands[0]
    for key, want in check["expect"].items():
        if key == "new_keys_match":
            bad = [k["key"] for k in m["new_keys"] if not re.fullmatch(want, k["key"] or "")]
            if bad:
                yield "new keys %s do not match %r" % (bad, want)
        elif key == "new_keys_count":
            if len(m["new_keys"]) != want:
                yield "%d new keys shown, expected %d" % (len(m["new_keys"]), want)
        elif key == "fail_on_growth_exit":
            status = run.diff_status(before, after, "--fail-on", "growth")
            if status != want:
                yield "maproot diff --fail-on growth exits %d, expected %d" % (status, want)
        elif key in m:
            v = run.value(want, after, None, key)
            if m[key] != v:
                yield "%s is %r, expected %r" % (key, m[key], v)
        else:
            raise Malformed("unknown diff expectation %r" % key)


def gate_map(run, report, label):
    """The index of the map of the gate's report that label names."""
    ident = run.spec.get("gate_maps", {}).get(label)
    if ident is None:
        raise Malformed("no gate_maps entry for %s" % label)
    found = [i for i, m in enumerate(report["maps"])
             if m["type"] == ident["type"] and m["holder"] == ident["holder"] and
             m["group"] == ident.get("group", False) and
             m["way"] == ident.get("way", m["way"])]
    return found[0] if len(found) == 1 else None, len(found)


def check_gate(run, check):
    extra = []
    if "write_baseline" in check:
        extra += ["--write-baseline", run.baseline_path(check["write_baseline"])]
    if "baseline" in check:
        extra += ["--baseline", run.baseline_path(check["baseline"])]
    if "policy" in check:
        policy = os.path.join(run.args.dir, check["id"] + ".policy.json")
        with open(policy, "w") as f:
            json.dump(check["policy"], f)
        extra += ["--policy", policy]
    report, status, stderr = run.gate(check["gate"], extra)
    if report is None:
        if check["expect"].get("exit_status") != 2:
            yield "refused (exit status 2): %s" % stderr.strip()
        elif not re.search(check["expect"].get("stderr_has", ""), stderr):
            yield "stderr %r lacks %r" % (stderr.strip(), check["expect"]["stderr_has"])
        return
    if report.get("schema") != "maproot-gate/1":
        raise Malformed("gate %s: schema %r" % (check["id"], report.get("schema")))
    judged = [s for s in report["snapshots"] if not s["warmup"]]
    for key, want in check["expect"].items():
        if key == "stderr_has":
            if not re.search(want, stderr):
                yield "stderr %r lacks %r" % (stderr.strip(), want)
        elif key == "exit_status":
            if status != want:
                yield "exit status %d, expected %d" % (status, want)
        elif key == "verdict":
            if report["verdict"] != want:
                yield "verdict %s, expected %s" % (report["verdict"], want)
        elif key == "counts":
            for k, v in want.items():
                if report["counts"][k] != v:
                    yield "counts.%s is %d, expected %d" % (k, report["counts"][k], v)
        elif key in ("maps_followed", "groups_followed"):
            followed = [m for m in report["maps"] if m["group"] == (key == "groups_followed")]
            if len(followed) != want:
                yield "%d %s (%s), expected %d" % (
                    len(followed), key.replace("_", " "),
                    [(m["type"], m["holder"]) for m in followed], want)
        elif key in ("checks", "checks_lack"):
            for pat in want:
                i, n = gate_map(run, report, pat["map"])
                if i is None:
                    yield "%d maps of the gate are %s" % (n, pat["map"])
                    continue
                hits = [c for c in report["checks"] if c["map"] == i and
                        c["status"] == pat["status"] and c["rule"] == pat.get("rule", c["rule"])
                        and re.search(pat.get("subject", ""), c["subject"])]
                if key == "checks" and not hits:
                    yield "%s has no %s check with status %s (its checks: %s)" % (
                        pat["map"], pat.get("rule"), pat["status"],
                        [(c["rule"], c["status"]) for c in report["checks"] if c["map"] == i])
                for field, fwant in pat.get("figures", {}).items():
                    v = run.value(fwant, None, pat["map"], field)
                    for c in hits:
                        if c.get(field) != v:
                            yield "%s: %s check's %s is %r, expected %r (%s)" % (
                                pat["map"], c["rule"], field, c.get(field), v, c["summary"])
                if key == "checks_lack" and hits:
                    yield "%s has checks with status %s: %s" % (
                        pat["map"], pat["status"], [c["summary"] for c in hits])
        elif key in ("outputs_have", "outputs_lack"):
            outs = run.gate_outputs(check["gate"], extra)
            for fmt, rxs in want.items():
                for rx in rxs:
                    found = re.search(rx, outs[fmt], re.M) is not None
                    if found != (key == "outputs_have"):
                        yield "the gate's %s output %s %r" % (
                            fmt, "lacks" if key == "outputs_have" else "has", rx)
        elif key == "points":
            for label in want:
                i, n = gate_map(run, report, label)
                if i is None:
                    yield "%d maps of the gate are %s" % (n, label)
                    continue
                pts = report["maps"][i]["points"]
                snaps = [os.path.basename(s["file"]).split(".")[0] for s in judged]
                if len(pts) != len(snaps):
                    yield "%s has %d points over %d snapshots" % (label, len(pts), len(snaps))
                    continue
                for snap, pt in zip(snaps, pts):
                    t = run.truth_of(snap, label)
                    if report["maps"][i]["group"]:
                        got = (pt["maps"], pt["entries"], pt["retained_bytes"])
                        want_pt = (t["maps"], t["entries"], t["retained_bytes"])
                        if "threads" in t and pt.get("threads") != t["threads"]:
                            yield "%s in %s: its maps in %s threads; the truth is %d" % (
                                label, snap, pt.get("threads"), t["threads"])
                        if got != want_pt:
                            yield "%s in %s: %d maps, %d entries, %d bytes; the truth is " \
                                  "%d, %d, %d" % ((label, snap) + got + want_pt)
                    elif (pt["entries"], pt["retained_bytes"]) != (t["count"],
                                                                   t["retained_bytes"]):
                        yield "%s in %s: %d entries, %d bytes; the truth is %d, %d" % (
                            label, snap, pt["entries"], pt["retained_bytes"], t["count"],
                            t["retained_bytes"])
        else:
            raise Malformed("unknown gate expectation %r" % key)


def find_group(analysis, holder, variable=None):
    """The suspect group whose holder has that address, or with variable
    (a group of one variable of several threads: its holder is a root) the
    one of that variable."""
    for g in analysis["group_suspects"]:
        if variable is not None:
            if (g["variable"] or {}).get("name") == variable:
                return g
        elif g["holder"]["address"] == holder:
            return g
    return None


GROUP_FIGURES = ("maps", "entries", "min_entries", "median_entries", "max_entries",
                 "retained_bytes", "nested_maps", "rank")


def check_group(run, snapshot, label, expect, g):
    """Yields the failures of expect on group report g (None: no suspect
    group at the label's holder)."""
    if "suspect" in expect and (g is not None) != expect["suspect"]:
        yield "a suspect group at the holder: %s, expected %s" % (g is not None,
                                                                  expect["suspect"])
    if g is None:
        if "suspect" not in expect:  # figures of a group the report lacks
            yield "no suspect group at the holder"
        return
    for key, want in expect.items():
        if key == "suspect":
            continue
        if key in GROUP_FIGURES:
            v = run.value(want, snapshot, label, key)
            if g[key] != v:
                yield "%s is %s, expected %s" % (key, g[key], v)
        elif key == "holder_retained_bytes":
            v = run.value(want, snapshot, label, "retained_bytes")
            if g["holder"]["retained_bytes"] != v:
                yield "its holder retains %s, expected %s" % (g["holder"]["retained_bytes"], v)
        elif key == "type":
            if g["type"] != want:
                yield "type is %s, expected %s" % (g["type"], want)
        elif key == "retainer":
            if not root_matches(want, g.get("retainer")):
                yield "retainer is %r, expected %s" % (
                    (g.get("retainer") or {}).get("text"), json.dumps(want))
        elif key in ("holder_chain", "example_chain"):
            steps = g["holder_chain"] if key == "holder_chain" else \
                g["example"]["chain_from_holder"]
            text = " -> ".join(st.get("text", "") for st in steps)
            if not re.search(want, text):
                yield "%s %r does not match %r" % (key, text, want)
        else:
            raise Malformed("unknown group expectation %r" % key)


def steps_in_order(run, snapshot, label, steps, want):
    """Yields a failure when the steps of a chain do not include each STEP
    of want, in this order (not necessarily adjacent)."""
    i = 0
    for pat in want:
        want_step = {k: run.value(v, snapshot, label, k) for k, v in pat.items()}
        while i < len(steps) and not all(steps[i].get(k) == v for k, v in want_step.items()):
            i += 1
        if i == len(steps):
            yield "chain %r has no step %s after the previous ones" % (
                " -> ".join(st.get("text", "") for st in steps), json.dumps(want_step))
            return
        i += 1


def roots_each(got, want):
    """Yields where the roots got (each {kind, name, text}) and the ROOT
    patterns want do not match one to one."""
    for pat in want:
        n = sum(1 for r in got if root_matches(pat, r))
        if n != 1:
            yield "%d roots match %s (roots %s)" % (n, json.dumps(pat), [r["text"] for r in got])
    stray = [r["text"] for r in got if not any(root_matches(p, r) for p in want)]
    if stray:
        yield "roots %s match none of %s" % (stray, [json.dumps(p) for p in want])


def check_by_type(run, snapshot, check):
    rows = run.view(snapshot, "analyze", "--by", "type", "--top", "0")["types"]
    found = [(i, r) for i, r in enumerate(rows) if r["type"] == check["by_type"]]
    expect, label = check["expect"], check.get("label")
    if expect.get("absent"):
        if found:
            yield "a row of type %s: %s" % (check["by_type"], found[0][1])
        return
    if len(found) != 1:
        yield "%d rows of type %s" % (len(found), check["by_type"])
        return
    i, row = found[0]
    for key, want in expect.items():
        if key in ("objects", "shallow_bytes", "retained_bytes"):
            v = run.value(want, snapshot, label, key)
            if row[key] != v:
                yield "%s: %s is %d, the truth is %d" % (check["by_type"], key, row[key], v)
        elif key == "rank":
            if i + 1 != want:
                yield "%s is row %d, expected %d (rows %s)" % (
                    check["by_type"], i + 1, want, [r["type"] for r in rows[:want + 2]])
        elif key == "kind":
            if row["kind"] != want:
                yield "%s: kind %s, expected %s" % (check["by_type"], row["kind"], want)
        else:
            raise Malformed("unknown by_type expectation %r" % key)


def rows_below(row):
    """Every row below a row of the dominator view, at any depth."""
    below, todo = [], list(row["children"])
    while todo:
        r = todo.pop()
        below.append(r)
        todo += r["children"]
    return below


def check_domrow(run, snapshot, row, want, where):
    """Yields the failures of ROW want on a row of the dominator view."""
    label = want.get("label")
    if label is not None:
        addr = run.truth_of(snapshot, label)["address"]
        if row["object"]["address"] != addr:
            yield "%s is %s 0x%x, expected %s at 0x%x" % (
                where, row["object"]["type"], row["object"]["address"], label, addr)
            return
    for key, v in want.items():
        if key == "label":
            continue
        if key == "type":
            if row["object"]["type"] != v:
                yield "%s: type %s, expected %s" % (where, row["object"]["type"], v)
        elif key in ("retained_bytes", "objects", "roots_total"):
            v = run.value(v, snapshot, label, key)
            if row.get(key) != v:
                yield "%s (%s): %s is %s, the truth is %s" % (
                    where, row["object"]["type"], key, row.get(key), v)
        elif key == "root_kind":
            chain = row.get("chain") or [{}]
            if chain[0].get("root_kind") != v:
                yield "%s: its chain starts at a root of kind %s, expected %s" % (
                    where, chain[0].get("root_kind"), v)
        elif key == "roots":
            for f in roots_each(row.get("roots", []), v):
                yield "%s: %s" % (where, f)
        elif key == "chain_has":
            for f in steps_in_order(run, snapshot, label, row.get("chain", []), v):
                yield "%s: %s" % (where, f)
        elif key == "children_lack":
            for lw in v:
                addr = run.truth_of(snapshot, lw)["address"]
                if any(r["object"]["address"] == addr for r in rows_below(row)):
                    yield "%s: %s is a row below it" % (where, lw)
        elif key == "children_include":
            below = row["children"]
            for cw in v:
                addr = run.truth_of(snapshot, cw["label"])["address"] if "label" in cw else None
                cands = [r for r in below if addr is None or r["object"]["address"] == addr]
                if not cands:
                    yield "%s: no row below it is %s" % (where, cw.get("label", cw))
                    continue
                fails = [list(check_domrow(run, snapshot, r, cw, "%s, below" % where))
                         for r in cands]
                if all(fails):
                    yield from fails[0]
        else:
            raise Malformed("unknown dominator row expectation %r" % key)


def check_dominators(run, snapshot, check):
    d = run.view(snapshot, "analyze", "--dominators", "--top", str(check["dominators"]))
    for key, want in check["expect"].items():
        if key == "top":
            rows = d["dominators"]
            if len(rows) < len(want):
                yield "%d top subtrees, expected at least %d" % (len(rows), len(want))
            for k, (row, w) in enumerate(zip(rows, want)):
                yield from check_domrow(run, snapshot, row, w, "top subtree %d" % (k + 1))
        elif key in ("top_total", "heap_bytes"):
            v = run.value(want, snapshot, check.get("label"), key)
            if d[key] != v:
                yield "%s is %d, the truth is %d" % (key, d[key], v)
        else:
            raise Malformed("unknown dominators expectation %r" % key)


def check_pathview(run, snapshot, check):
    label = check.get("label")
    target = check["path"]
    if "type" in target:
        argv = ("path", "--type", target["type"])
    else:
        argv = ("path", "--object", str(run.value(target["object"], snapshot, label, None)))
    argv += ("--top", "0") + (("--all",) if check.get("all") else ())
    v = run.view(snapshot, *argv)
    paths = v["paths"]
    first = paths[0] if paths else None
    for key, want in check["expect"].items():
        if key in ("objects", "bytes", "unreachable_objects", "paths_total"):
            w = run.value(want, snapshot, label, key)
            if v[key] != w:
                yield "%s is %d, the truth is %d" % (key, v[key], w)
        elif key == "lengths":
            got = [p["length"] for p in paths]
            if got != want:
                yield "the paths' lengths are %s, expected %s" % (got, want)
        elif key == "sorted":
            got = [p["length"] for p in paths]
            if want and got != sorted(got):
                yield "the paths' lengths %s are not shortest first" % got
        elif first is None:
            yield "no path shown"
        elif key == "first_root":
            if not root_matches(want, first["root"]):
                yield "the first path starts at %r, expected %s" % (first["root"]["text"],
                                                                   json.dumps(want))
        elif key == "first_length":
            w = run.value(want, snapshot, label, key)
            if first["length"] != w:
                yield "the first path has %d objects, expected %d" % (first["length"], w)
        elif key == "first_chain_steps":
            w = run.value(want, snapshot, label, key)
            shown = len(first["chain"]) - sum(1 for st in first["chain"] if st["kind"] == "elided")
            if first["chain_steps"] != w or shown + first["chain_elided"] != w:
                yield "the first chain has %d steps (%d shown, %d elided), expected %d" % (
                    first["chain_steps"], shown, first["chain_elided"], w)
        elif key == "first_as_default":
            d = run.view(snapshot, "path", "--object", str(first["object"]["address"]))
            got = [st["text"] for st in first["chain"]]
            dflt = [st["text"] for st in d["paths"][0]["chain"]] if d["paths"] else []
            if want and (got != dflt or first["chain_elided"] != d["paths"][0]["chain_elided"]):
                yield "the first chain %r, without --all %r" % (" -> ".join(got),
                                                                " -> ".join(dflt))
        elif key == "path_steps":
            for n, steps in want.items():
                if int(n) > len(paths):
                    yield "no path %s (%d shown)" % (n, len(paths))
                    continue
                for f in steps_in_order(run, snapshot, label, paths[int(n) - 1]["chain"], steps):
                    yield "path %s: %s" % (n, f)
        elif key == "first_steps":
            yield from steps_in_order(run, snapshot, label, first["chain"], want)
        elif key == "first_lacks":
            for pat in want:
                w = {k: run.value(x, snapshot, label, k) for k, x in pat.items()}
                hit = [st["text"] for st in first["chain"]
                       if all(st.get(k) == x for k, x in w.items())]
                if hit:
                    yield "the first path takes %s" % hit
        elif key == "roots_each":
            yield from roots_each([p["root"] for p in paths], want)
        elif key == "roots_all":
            bad = [p["root"]["text"] for p in paths if not root_matches(want, p["root"])]
            if bad:
                yield "paths start at %s, not %s" % (bad, json.dumps(want))
        else:
            raise Malformed("unknown path expectation %r" % key)


VIEW_CHECKS = {"by_type": check_by_type, "dominators": check_dominators, "path": check_pathview}


def run_check(run, check):
    """Yields the failures of one check."""
    if "gate" in check:
        yield from check_gate(run, check)
        return
    if "diff" in check:
        before, after = check["diff"]
        yield from check_diff(run, before, after, check)
        return
    snaps = check["snapshot"]
    for snapshot in snaps if isinstance(snaps, list) else [snaps]:
        views = [k for k in VIEW_CHECKS if k in check]
        if views:
            for f in VIEW_CHECKS[views[0]](run, snapshot, check):
                yield "%s: %s" % (snapshot, f)
            continue
        if "group" in check:
            label = check["group"]
            g = find_group(run.analysis(snapshot), run.truth_of(snapshot, label)["holder"],
                           check.get("variable"))
            for f in check_group(run, snapshot, label, check["expect"], g):
                yield "%s: %s: %s" % (snapshot, label, f)
            continue
        if "map" not in check:
            for f in check_snapshot(run, snapshot, check["expect"]):
                yield "%s: %s" % (snapshot, f)
            continue
        label = check["map"]
        a = run.analysis(snapshot)
        m = find_map(a, run.truth_of(snapshot, label)["address"])
        if m is None:
            yield "%s: map %s is not in the report" % (snapshot, label)
            continue
        for f in check_map(run, snapshot, label, check["expect"], m,
                           a["heap"]["reachable_bytes"]):
            yield "%s: %s: %s" % (snapshot, label, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maproot", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pending", action="store_true",
                    help="also run the checks that wait for a fix")
    args = ap.parse_args()
    name = os.path.basename(args.expect).rsplit(".", 1)[0]
    try:
        with open(args.expect) as f:
            spec = json.load(f)
        run = Run(args, spec)
        run.run_program()
        failed = passed = pending = 0
        for check in spec["checks"]:
            cid = "%s/%s" % (name, check["id"])
            if check.get("pending") and not args.pending:
                pending += 1
                print("PENDING %s (not run; waits for: %s)" % (cid, check["pending"]))
                continue
            fails = list(run_check(run, check))
            if fails:
                failed += 1
                note = " (pending: %s)" % check["pending"] if check.get("pending") else ""
                print("FAIL    %s%s: %s" % (cid, note, check.get("what", "")))
                for f in fails:
                    print("          " + f)
            else:
                passed += 1
                print("ok      %s" % cid)
    except (Malformed, KeyError, ValueError, OSError, subprocess.TimeoutExpired) as e:
        print("ERROR   %s: %s" % (name, e))
        return 2
    print("%s: %d passed, %d failed, %d pending" % (name, passed, failed, pending))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
