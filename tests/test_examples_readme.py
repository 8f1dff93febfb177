#!/usr/bin/env python3
"""tests/test_examples_readme.py -- the README's examples, run as written.

usage: test_examples_readme.py MAPROOT EXAMPLES_DIR SOURCE_ROOT WORKDIR

README.md's section "The examples" has, for every example program, a block:
lines starting with "$ " are commands (environment assignments, then a
program: build/examples/NAME or build/src/cli/maproot, run here from the
build under test, as are such programs named in its arguments), the other lines are what the last command must print.
Each expected line must match a line of that output, where

  - a line ending in "..." matches any output line that starts with the rest;
  - a size or a percentage ("205.04MiB", "100.00%") matches any size or
    percentage, and an address ("0x7f3a...") any address: they vary from
    run to run; every other character, counts included, must be there.

Every example of examples/meson.build must have its block.

Two other sections are run too: "Whole-heap views" (its first block's
commands, each must succeed, and its second block is what one of them
prints) and "Leak gates in CI" (its first block's command, the gate over
an example, must fail the gate, exit 1). There `maproot` is the build's
maproot and build/bench/NAME its benchmark tools.
"""
import os
import re
import shlex
import subprocess
import sys

FIGURE = r"\d[\d,]*(?:\.\d+)?(?:B|KiB|MiB|GiB|TiB|%)|0x[0-9a-f]+"


def blocks(readme):
    """(name, [commands], [expected lines]) of each example block."""
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"^## The examples\n(.*?)(?=^## )", text, re.M | re.S)
    if not m:
        sys.exit("README.md has no section 'The examples'")
    out = []
    for name, body in re.findall(r"^### `(\w+)`.*?\n```\n(.*?)```", m.group(1), re.M | re.S):
        lines = body.rstrip("\n").split("\n")
        cmds = [l[2:] for l in lines if l.startswith("$ ")]
        want = [l for l in lines if not l.startswith("$ ")]
        out.append((name, cmds, want))
    return out


def pattern(line):
    prefix = line.endswith("...")
    if prefix:
        line = line[:-3].rstrip()
    parts = re.split("(" + FIGURE + ")", line)
    rx = "".join("(?:" + FIGURE + ")" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return re.compile("(?:" + rx + ")" + ("" if prefix else r"\s*$"))


def run(cmd, maproot, exdir, cwd):
    argv = shlex.split(cmd)
    env = dict(os.environ)
    while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):
        k, v = argv.pop(0).split("=", 1)
        env[k] = v
    if not argv or (argv[0] not in ("build/src/cli/maproot", "maproot")
                    and not argv[0].startswith(("build/examples/", "build/bench/"))):
        sys.exit("README: a command that is neither an example nor maproot: " + cmd)
    # the programs named anywhere in the command (maproot gate -- PROG) are
    # the build's under test
    for i, a in enumerate(argv):
        if a == "build/src/cli/maproot" or (i == 0 and a == "maproot"):
            argv[i] = maproot
        elif a.startswith("build/examples/"):
            argv[i] = os.path.join(exdir, a[len("build/examples/"):])
        elif a.startswith("build/bench/"):
            argv[i] = os.path.join(os.path.dirname(exdir), "bench", a[len("build/bench/"):])
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return p


def section_blocks(readme, title):
    """The code blocks of a section of the README, each a list of lines."""
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), text, re.M | re.S)
    if not m:
        sys.exit("README.md has no section '%s'" % title)
    return [b.rstrip("\n").split("\n") for b in re.findall(r"^```\n(.*?)```", m.group(1), re.M | re.S)]


def commands(block):
    """A block's commands, each without its comment."""
    return [re.sub(r"\s+#.*$", "", l) for l in block if l.strip()]


def other_sections(readme, maproot, exdir, work):
    fails = []
    views = section_blocks(readme, "Whole-heap views")
    cwd = os.path.join(work, "views")
    os.makedirs(cwd, exist_ok=True)
    outs = []
    for cmd in commands(views[0]):
        p = run(cmd, maproot, exdir, cwd)
        if p.returncode != 0:
            fails.append("views: `%s` exited %d: %s" % (cmd, p.returncode, p.stderr.strip()[:300]))
        outs.append(p.stdout.split("\n"))
    want = [l for l in views[1] if l.strip()]
    if not any(all(any(pattern(w).match(l) for l in out) for w in want) for out in outs):
        fails.append("views: no command says\n%s" % "\n".join("    " + w for w in want))
    else:
        print("views: %d commands run, %d lines as the README says" % (len(outs), len(want)))
    gate = section_blocks(readme, "Leak gates in CI")
    cwd = os.path.join(work, "gate")
    os.makedirs(cwd, exist_ok=True)
    for cmd in commands(gate[0]):
        p = run(cmd, maproot, exdir, cwd)
        if p.returncode != 1 or "maproot gate: FAIL" not in p.stdout:
            fails.append("gate: `%s` exited %d, not 1 with a failed gate: %s" % (
                cmd, p.returncode, (p.stdout + p.stderr).strip()[:300]))
        else:
            print("gate: `%s` fails the gate, as the README says" % cmd)
    return fails


def main():
    maproot, exdir, src, work = sys.argv[1:5]
    maproot = os.path.abspath(maproot)
    exdir = os.path.abspath(exdir)
    names = re.findall(r"'(\w+)'",
                       re.search(r"example_names = \[(.*?)\]",
                                 open(os.path.join(src, "examples", "meson.build")).read(),
                                 re.S).group(1))
    found = blocks(os.path.join(src, "README.md"))
    fails = []
    missing = set(names) - {b[0] for b in found}
    if missing:
        fails.append("README.md lists no block for " + ", ".join(sorted(missing)))
    for name, cmds, want in found:
        cwd = os.path.join(work, name)
        os.makedirs(cwd, exist_ok=True)
        for f in os.listdir(cwd):
            os.unlink(os.path.join(cwd, f))
        out = ""
        for cmd in cmds:
            p = run(cmd, maproot, exdir, cwd)
            if p.returncode != 0:
                fails.append("%s: `%s` exited %d: %s" % (name, cmd, p.returncode,
                                                         p.stderr.strip()[:300]))
                break
            out = p.stdout
        else:
            lines = out.split("\n")
            for w in want:
                rx = pattern(w)
                if not any(rx.match(l) for l in lines):
                    fails.append("%s: maproot does not say\n    %s\n  it says:\n%s" % (
                        name, w, "\n".join("    " + l for l in lines[:14])))
            print("%s: %d lines as the README says" % (name, len(want)))
    fails += other_sections(os.path.join(src, "README.md"), maproot, exdir, work)
    for f in fails:
        print("FAIL: " + f)
    sys.exit(1 if fails else 0)


main()
