#!/usr/bin/env python3
"""One heap, one answer: run the reports of `maproot analyze` and `maproot
path` on each snapshot in every way the analysis can be run, and fail when
any two ways print different bytes.

The ways: one thread or two (MAPROOT_THREADS: the entries' halves, the
edge and reverse ranges, paths and dominators at once), every store in
memory or spilled to files past a few KiB (MAPROOT_SPILL_BYTES), the index
off, rebuilt, read back in place of the analysis (whole, or grown command
by command from one with the paths only), and, with --other, a second
build of maproot (the release build with link-time optimization against
the plain one). Only the "analysed in" time may differ.

With --series, the snapshots of one run (a gate's series, in GC cycle
order) are compared the same ways as a whole: `maproot gate` over all of
them and `maproot diff` of the first and the last, in text and JSON.

usage: same_answer.py --maproot BIN [--other BIN] --work DIR [--quick]
                      [--series SNAPSHOT...] [SNAPSHOT|DIR...]
A DIR stands for the snapshots in it (NAME.gcstack.gz, NAME.gcstack,
NAME.dump). Exit 0 when every way agrees, 1 when one differs (each
difference is printed with the first differing line), 2 on an error.
"""
import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time

TIME = re.compile(r"analysed in [0-9.]+s")


class Failed(Exception):
    pass


def run(binary, argv, cwd, env_extra):
    env = dict(os.environ)
    env.pop("MAPROOT_THREADS", None)
    env.pop("MAPROOT_SPILL_BYTES", None)
    env.update(env_extra)
    env["TMPDIR"] = cwd
    env["XDG_CACHE_HOME"] = os.path.join(cwd, "cache")
    p = subprocess.run([binary] + argv, cwd=cwd, env=env, capture_output=True, timeout=600)
    return p.returncode, TIME.sub("analysed in -", p.stdout.decode("utf-8", "replace")), \
        p.stderr.decode("utf-8", "replace")


def commands(ref_binary, snap, cwd, quick):
    """The reports compared: analyze in each format and view, and paths to
    the types and objects the heap's own views name first. Each is the
    command's arguments before the snapshot's name."""
    cmds = [["analyze", "-n", "50", "--maps", "0"],
            ["analyze", "--format", "json", "-n", "50", "--maps", "0"],
            ["analyze", "--by", "type", "-n", "0"],
            ["analyze", "--dominators", "--format", "json", "-n", "40"]]
    if not quick:
        cmds += [["analyze", "--all"],
                 ["analyze", "--all", "--format", "json"],
                 ["analyze", "--format", "dot"],
                 ["analyze", "--by", "type", "--format", "json", "-n", "0"],
                 ["analyze", "--dominators", "-n", "40"]]
    rc, out, err = run(ref_binary, ["analyze", "--by", "type", "--format", "json", "-n", "0",
                                    "--index=off", snap], cwd, {"MAPROOT_THREADS": "1"})
    if rc == 2 and not snap.endswith(".gcstack.gz"):
        return None  # not a heap maproot reads (a fuzzer's regression input)
    if rc != 0:
        raise Failed("%s: analyze --by type: exit %d: %s" % (snap, rc, err.strip()))
    types = [t["type"] for t in json.loads(out)["types"]]
    picked = types[:2] + types[-1:] if len(types) > 3 else types
    if quick:
        picked = picked[:1]
    for t in picked:
        cmds.append(["path", "--type", t, "-n", "0"])
        if not quick:
            cmds.append(["path", "--type", t, "--all", "--format", "json", "-n", "200"])
    rc, out, err = run(ref_binary, ["analyze", "--dominators", "--format", "json", "-n", "3",
                                    "--index=off", snap], cwd, {"MAPROOT_THREADS": "1"})
    if rc != 0:
        raise Failed("%s: analyze --dominators: exit %d: %s" % (snap, rc, err.strip()))
    for row in json.loads(out)["dominators"][:3 if not quick else 1]:
        a = str(row["object"]["address"])
        cmds.append(["path", "--object", a, "--all", "-n", "0"])
        if not quick:
            cmds.append(["path", "--object", a, "--format", "json"])
    return cmds


def series_commands(bases):
    """The reports of a series compared (arguments before the names, the
    names): the gate's, whose exit status 1 says it found a leak, and the
    diff of its ends."""
    ends = [bases[0], bases[-1]]
    return [(["gate"], bases), (["gate", "-f", "json"], bases),
            (["diff", "-n", "0"], ends), (["diff", "-f", "json", "-n", "0"], ends)]


def ways(other, quick):
    """(name, binary key, environment, index option, directory) of each way;
    the ways that share a directory run in this order, so an index written
    by one is there for the next. Quick: the ways least alike."""
    if quick:
        w = [("one thread", "plain", {"MAPROOT_THREADS": "1"}, "off", "off"),
             ("spilled, two threads", "plain",
              {"MAPROOT_THREADS": "2", "MAPROOT_SPILL_BYTES": "4096"}, "off", "off"),
             ("index rebuilt", "plain", {"MAPROOT_THREADS": "2"}, "rebuild", "index"),
             ("index read, spilled, one thread", "plain",
              {"MAPROOT_THREADS": "1", "MAPROOT_SPILL_BYTES": "4096"}, "auto", "index"),
             ("index grown from the paths", "plain", {"MAPROOT_THREADS": "2"}, "grow", "grow")]
        if other:
            w += [("other build, two threads", "other", {"MAPROOT_THREADS": "2"}, "off", "off"),
                  ("other build, index rebuilt", "other", {"MAPROOT_THREADS": "2"}, "rebuild",
                   "oindex"),
                  ("plain build, other's index", "plain", {"MAPROOT_THREADS": "2"}, "auto",
                   "oindex")]
        return w
    w = [("one thread", "plain", {"MAPROOT_THREADS": "1"}, "off", "off"),
         ("two threads", "plain", {"MAPROOT_THREADS": "2"}, "off", "off"),
         ("three threads", "plain", {"MAPROOT_THREADS": "3"}, "off", "off"),
         ("spilled, one thread", "plain",
          {"MAPROOT_THREADS": "1", "MAPROOT_SPILL_BYTES": "4096"}, "off", "off"),
         ("spilled, two threads", "plain",
          {"MAPROOT_THREADS": "2", "MAPROOT_SPILL_BYTES": "4096"}, "off", "off"),
         ("spilled past a byte, three threads", "plain",
          {"MAPROOT_THREADS": "3", "MAPROOT_SPILL_BYTES": "1"}, "off", "off"),
         ("never spilled, sixteen threads", "plain",
          {"MAPROOT_THREADS": "16", "MAPROOT_SPILL_BYTES": "0"}, "off", "off"),
         ("index rebuilt", "plain", {"MAPROOT_THREADS": "2"}, "rebuild", "index"),
         ("index read, two threads", "plain", {"MAPROOT_THREADS": "2"}, "auto", "index"),
         ("index read, one thread", "plain", {"MAPROOT_THREADS": "1"}, "auto", "index"),
         ("index read, spilled", "plain",
          {"MAPROOT_THREADS": "2", "MAPROOT_SPILL_BYTES": "4096"}, "auto", "index"),
         ("index grown from the paths", "plain", {"MAPROOT_THREADS": "2"}, "grow", "grow"),
         ("index grown, read", "plain", {"MAPROOT_THREADS": "2"}, "auto", "grow")]
    if other:
        w += [("other build, two threads", "other", {"MAPROOT_THREADS": "2"}, "off", "off"),
              ("other build, spilled", "other",
               {"MAPROOT_THREADS": "1", "MAPROOT_SPILL_BYTES": "4096"}, "off", "off"),
              ("other build, index rebuilt", "other", {"MAPROOT_THREADS": "2"}, "rebuild",
               "oindex"),
              ("other build, index read", "other", {"MAPROOT_THREADS": "2"}, "auto", "oindex"),
              ("plain build, other's index", "plain", {"MAPROOT_THREADS": "1"}, "auto",
               "oindex")]
    return w


def fresh_dirs(work, snaps):
    """A clean directory per way of holding index files, each with a copy
    of snaps; {name: path}."""
    dirs = {}
    for d in ("off", "index", "grow", "oindex"):
        dirs[d] = os.path.join(work, d)
        os.makedirs(dirs[d], exist_ok=True)
        for f in os.listdir(dirs[d]):
            p = os.path.join(dirs[d], f)
            if os.path.isdir(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        for snap in snaps:
            shutil.copyfile(snap, os.path.join(dirs[d], os.path.basename(snap)))
    return dirs


def compare_one(args, snap, work):
    """The differences of one snapshot, as lines to print."""
    base = os.path.basename(snap)
    dirs = fresh_dirs(work, [snap])
    cmds = commands(args.maproot, base, dirs["off"], args.quick)
    if cmds is None:
        return None
    return compare_ways(args, snap, dirs, [(c, [base]) for c in cmds], (0,), base)


def compare_series(args, snaps, work):
    """The differences of a series of snapshots, as lines to print."""
    bases = [os.path.basename(s) for s in snaps]
    dirs = fresh_dirs(work, snaps)
    return compare_ways(args, "the series " + " ".join(bases), dirs, series_commands(bases),
                        (0, 1), bases[0])


def compare_ways(args, what, dirs, cmds, ok, grow_base):
    """Runs each command (arguments, file names) of cmds in every way and
    returns the differences, as lines to print; an exit status outside ok
    in the first way is one too. grow_base is the snapshot whose index the
    "grown" ways start from."""
    binaries = {"plain": args.maproot, "other": args.other}
    snap = what
    ref = {}
    bad = []
    grown = False
    for name, bkey, env, index, d in ways(args.other, args.quick):
        cwd = dirs[d]
        if index == "grow" and not grown:
            # an index with the graph and the paths only, which the later
            # commands complete
            rc, _, err = run(binaries[bkey], ["path", "--type", "map.hdr", "--index=rebuild",
                                              grow_base], cwd, env)
            if rc not in (0, 2):
                raise Failed("%s: path --index=rebuild: exit %d: %s" % (snap, rc, err.strip()))
            grown = True
        opt = "--index=" + ("auto" if index == "grow" else index)
        order = cmds
        if index == "rebuild":
            # the last rebuild writes the whole index: an analyze
            order = cmds[1:] + cmds[:1]
        for c, files in order:
            rc, out, err = run(binaries[bkey], c + [opt] + files, cwd, env)
            warn = [l for l in err.splitlines() if l.strip()]
            key = tuple(c)
            got = (rc, out, "\n".join(warn))
            if key not in ref:
                ref[key] = (name, got)
                if rc not in ok:  # failing the same way every way is no answer
                    bad.append("%s: maproot %s: %s: exit status %d: %s" %
                               (snap, " ".join(c), name, rc, got[2][:300]))
                continue
            rname, want = ref[key]
            if got == want:
                continue
            what = "exit status %d, not %d" % (got[0], want[0]) if got[0] != want[0] else \
                ("output" if got[1] != want[1] else "messages")
            i = 1 if got[1] != want[1] else 2
            delta = [l for l in difflib.unified_diff(want[i].splitlines(), got[i].splitlines(),
                                                     rname, name, n=0, lineterm="")][2:8]
            bad.append("%s: maproot %s: %s differs from %s: %s" %
                       (snap, " ".join(c), name, rname, what))
            bad += ["    " + l[:200] for l in delta]
    return bad


def snapshots(items):
    out = []
    for it in items:
        if os.path.isdir(it):
            for f in sorted(os.listdir(it)):
                if f.endswith((".gcstack.gz", ".gcstack", ".dump")):
                    out.append(os.path.join(it, f))
        else:
            out.append(it)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--maproot", required=True)
    ap.add_argument("--other", help="a second build of maproot, to agree with the first")
    ap.add_argument("--work", required=True, help="scratch directory")
    ap.add_argument("--quick", action="store_true", help="fewer reports per snapshot")
    ap.add_argument("--series", nargs="+", default=[],
                    help="snapshots of one run, in GC cycle order, compared as a whole")
    ap.add_argument("inputs", nargs="*")
    args = ap.parse_args()
    failed = 0
    snaps = snapshots(args.inputs)
    if not snaps and not args.series:
        ap.error("no snapshot to compare")
    jobs = [(s, lambda w, s=s: compare_one(args, s, w)) for s in snaps]
    if args.series:
        jobs.append(("series of %d" % len(args.series),
                     lambda w: compare_series(args, args.series, w)))
    try:
        for i, (s, job) in enumerate(jobs):
            t0 = time.monotonic()
            bad = job(os.path.join(args.work, "s%d" % i))
            took = " (%.1fs)" % (time.monotonic() - t0)
            if bad is None:
                print("unread  %s%s" % (s, took))
            elif bad:
                failed += 1
                print("DIFFERS %s%s" % (s, took))
                for l in bad:
                    print(l)
            else:
                print("same    %s%s" % (s, took))
            sys.stdout.flush()
    except (Failed, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
        print("ERROR   %s" % e)
        return 2
    print("%d snapshots%s, %d differ" % (len(snaps), ", 1 series" if args.series else "", failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
