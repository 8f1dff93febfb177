#!/usr/bin/env python3
"""tests/test_docs.py -- what --help, the man pages and the binary say of the
options agree, for every command.

usage: test_docs.py MAPROOT SOURCE_ROOT

The commands are those `maproot --help` lists. For each one:

  - the options of `maproot CMD --help` (long name and short letter), the
    options of its man page's OPTIONS section (maproot-CMD.1; ps is in
    maproot-trace.1, whose options it shares) and the option table of
    src/cli/cmd_CMD.c are the same set, short letters included: an option
    added to the code, the help or the page alone fails here;
  - every option the help lists is taken by the binary (never "unknown
    option"), and one that wants a value says so when it has none;
  - each command has its man page, named in maproot(1), and an entry of its
    own in maproot(1)'s COMMANDS; `maproot help CMD` prints what
    `maproot CMD --help` does;
  - the exit statuses the help's "Exit status:" sentence lists are those of
    the man page's EXIT STATUS section;
  - what the SYNOPSIS of the page names, the help lists; the help's option
    lines share one layout ("  -x, --name", "      --name");
  - every "(default N)" of a count option in the help is the page's
    default for it;
  - every phase --timings names (analyze, its views and path, with and
    without an index, writing one) is one PERFORMANCE in
    maproot-analyze(1) lists.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

maproot, src = sys.argv[1:3]
fails = []
checked = {"options": 0, "defaults": 0}


def fail(what):
    print("FAIL: " + what)
    fails.append(what)


def run(args):
    p = subprocess.run([maproot] + args, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def help_options(text):
    """{long: short or None} of the option lines of a --help text."""
    opts = {}
    for line in text.split("\n"):
        m = re.match(r"^ {2,}(?:-(\w), )?--([a-z][a-z-]*)", line)
        if m:
            opts[m.group(2)] = m.group(1)
    return opts


def roff_plain(line):
    """A man page line without its font requests and escapes."""
    line = re.sub(r"^\.[A-Z]+\s*", "", line)
    line = line.replace("\\-", "-").replace('"', "")
    return re.sub(r"\\f[BIRP]", "", line)


def section(page, name):
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH |\Z)" % re.escape(name), page, re.M | re.S)
    return m.group(1) if m else ""


def man_options(page):
    """{long: short or None} of the tagged paragraphs of OPTIONS."""
    opts = {}
    lines = section(page, "OPTIONS").split("\n")
    for prev, line in zip(lines, lines[1:]):
        if prev not in (".TP", ".TQ"):
            continue
        m = re.match(r"^(?:-(\w)\s*,\s*)?--([a-z][a-z-]*)", roff_plain(line))
        if m:
            opts[m.group(2)] = m.group(1)
    return opts


def code_options(path):
    """{long: short or None} of the struct option table of a command's
    source, the short letter being the one its getopt string takes."""
    text = open(path, encoding="utf-8").read()
    short = re.search(r'getopt_long\([^"]*"\+?:?([^"]*)"', text)
    letters = set(re.sub(r"[:+]", "", short.group(1))) if short else set()
    opts = {}
    for name, val in re.findall(r'\{"([a-z][a-z-]*)", \w+_argument, NULL, (\'.\'|\w+)\}', text):
        c = val.strip("'") if val.startswith("'") else None
        opts[name] = c if c in letters else None
    return opts


def exit_codes(text):
    """The exit statuses a sentence or section lists: each digit that opens
    a clause (at its start, or after a comma, semicolon or 'when')."""
    text = re.sub(r"\s+", " ", text)
    return set(re.findall(r"(?:^|[,;:.] |\bor |\band )([0-9])\b(?! ?[%a-zA-Z]*[0-9])", text))


rc, top, _ = run(["--help"])
commands = re.findall(r"^  ([a-z]+)  +\S", top.split("Commands:")[1], re.M) if rc == 0 else []
if len(commands) < 6:
    fail("maproot --help lists only %r" % commands)
man1 = open(os.path.join(src, "man", "maproot.1"), encoding="utf-8").read().replace("\\-", "-")

for cmd in commands:
    rc, text, err = run([cmd, "--help"])
    if rc != 0 or not text.startswith("usage: maproot " + cmd):
        fail("maproot %s --help: exit %d, %s" % (cmd, rc, (text or err)[:80]))
        continue
    if run(["help", cmd])[1] != text:
        fail("maproot help %s differs from maproot %s --help" % (cmd, cmd))
    own = os.path.join(src, "man", "maproot-%s.1" % cmd)
    page_path = own if os.path.exists(os.path.join(src, "man", "maproot-%s.1" % cmd)) else None
    page = open(own, encoding="utf-8").read() if page_path else ""
    if page.startswith(".so "):  # ps: an alias of the trace page
        page_path = os.path.join(src, "man", page.split()[1].split("/")[-1])
        page = open(page_path, encoding="utf-8").read()
    if not page:
        fail("%s: no man page maproot-%s.1" % (cmd, cmd))
        continue
    ref = os.path.basename(page_path)[:-2]
    if "%s (1)" % ref not in man1 and "%s(1)" % ref not in man1:
        fail("maproot(1) does not name %s(1)" % ref)
    if not re.search(r"^\.TP\n\.B %s\n" % cmd, section(man1, "COMMANDS"), re.M):
        fail("maproot(1) has no COMMANDS entry (.TP, .B %s) for maproot %s" % (cmd, cmd))

    hopts = help_options(text)
    # one layout for option lines: "  -x, --name" or "      --name"
    options = text.split("\nOptions:\n", 1)[-1].split("\n\n", 1)[0]
    for line in options.split("\n"):
        if re.match(r"^ {1,5}-", line) and not re.match(r"^(  -\w, |      )--[a-z]", line):
            fail("%s --help: an option line out of the layout: %r" % (cmd, line))
    mopts = man_options(page)
    copts = code_options(os.path.join(src, "src", "cli", "cmd_%s.c" % cmd))
    name = os.path.basename(page_path)
    shared_page = name != "maproot-%s.1" % cmd
    for o in sorted(set(hopts) | set(copts) | (set() if shared_page else set(mopts))):
        where = {"--help": hopts, name: mopts, "cmd_%s.c" % cmd: copts}
        missing = [w for w, s in where.items() if o not in s]
        if missing:
            fail("%s --%s: not in %s" % (cmd, o, ", ".join(missing)))
            continue
        letters = {w: s[o] for w, s in where.items()}
        if len(set(letters.values())) != 1:
            fail("%s --%s: short options differ: %r" % (cmd, o, letters))

    # what the SYNOPSIS of the command's page names, it takes
    synopsis = section(page, "SYNOPSIS").replace("\\-", "-")
    for block in re.split(r"^\.B maproot ", synopsis, flags=re.M)[1:]:
        if not block.startswith(cmd):
            continue
        for short, long in re.findall(r"(?<![\w-])-(\w)\b|--([a-z][a-z-]*)", block):
            known = long in hopts if long else short in hopts.values()
            if not known:
                fail("%s: the SYNOPSIS of %s names -%s, which --help does not list" % (
                    cmd, name, long and "-" + long or short))

    # the binary takes every option the help lists
    for o in hopts:
        checked["options"] += 1
        if o == "help":
            continue
        rc, _, err = run([cmd, "--" + o])
        if "unknown option" in err:
            fail("%s --%s: listed by --help but refused: %s" % (cmd, o, err.strip()))
        wants = re.search(r"^ {2,}(?:-\w, )?--%s[ =](\S)" % re.escape(o), text, re.M)
        if wants and not o.startswith("index") and "needs a value" not in err:
            fail("%s --%s: wants a value, but without one says: %s" % (cmd, o, err.strip()))

    # exit statuses
    m = re.search(r"^Exit status:(.*?)(?:See maproot|\Z)", text, re.M | re.S)
    hcodes = exit_codes(m.group(1).strip()) if m else set()
    status = section(page, "EXIT STATUS")
    mcodes = set(re.findall(r"^\.B ([0-9])$", status, re.M)) | exit_codes(
        " ".join(roff_plain(l) for l in status.split("\n") if not l.startswith(".TP")).strip())
    if not hcodes:
        fail("%s --help: no Exit status sentence" % cmd)
    elif not shared_page and hcodes != mcodes:
        fail("%s: --help lists exit statuses %s, %s EXIT STATUS %s" % (
            cmd, sorted(hcodes), name, sorted(mcodes)))

    # the default of each count option
    for o, n in re.findall(r"^ {2,}(?:-\w, )?--([a-z-]+) N .*?\(default (\d+)", text, re.M | re.S):
        opts_text = "\n".join(roff_plain(l) for l in section(page, "OPTIONS").split("\n"))
        m = re.search(r"--%s [^\n]*N\n(.*?)(?=\n\n|\Z)" % re.escape(o), opts_text, re.S)
        if not m:
            fail("%s --%s: %s does not describe it" % (cmd, o, name))
        checked["defaults"] += 1
        if m and not re.search(r"\b[Dd]efault:? %s\b" % n, m.group(1)):
            fail("%s --%s: --help says default %s, %s says: %s" % (
                cmd, o, n, name, " ".join(m.group(1).split())[:120]))

# the phases of --timings: those PERFORMANCE lists
page = open(os.path.join(src, "man", "maproot-analyze.1"), encoding="utf-8").read()
perf = " ".join(roff_plain(l) for l in section(page, "PERFORMANCE").split("\n"))
listed = perf[perf.find("--timings"):]
with tempfile.TemporaryDirectory() as tmp:
    snap = os.path.join(tmp, "n.gcstack.gz")
    shutil.copy(os.path.join(src, "testdata", "fuzz", "gcstack", "nested_maps.gcstack.gz"), snap)
    phases = set()
    for args in (["analyze", "--index=rebuild"], ["analyze"], ["analyze", "--index=off"],
                 ["analyze", "--by", "type"], ["analyze", "--dominators"],
                 ["path", "--type", "map.hdr"], ["analyze", "--index=off", "--by", "type"]):
        rc, _, err = run(args + ["--timings", "-o", os.devnull, snap])
        if rc != 0:
            fail("%s --timings: exit %d: %s" % (" ".join(args), rc, err.strip()[:200]))
        phases |= set(re.findall(r"^maproot: timing  (\S+)", err, re.M))
    for ph in sorted(phases):
        if not re.search(r"(?<![\w+-])%s(?![\w+-])" % re.escape(ph), listed):
            fail("--timings prints phase %s, which maproot-analyze(1) PERFORMANCE does not list" % ph)
    if len(phases) < 8:
        fail("--timings: only the phases %s" % sorted(phases))

print("%d commands, %d options, %d defaults checked; %d failures" % (
    len(commands), checked["options"], checked["defaults"], len(fails)))
sys.exit(1 if fails else 0)
