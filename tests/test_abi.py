#!/usr/bin/env python3
"""The ABI of the installed shared libraries, checked against what is promised.

For each library: its soname carries the ABI version (libNAME.so.0); the
symbols it exports are exactly the committed list (tests/abi/NAME.symbols),
so an internal function never leaks into the interface by accident and a
public one never disappears unnoticed; and every function and object that
its public header declares is in that list, and named in its man page.

usage: test_abi.py CC SRCDIR LIB.so:HEADER:LIST:MANPAGE ...
"""
import re
import subprocess
import sys


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] == "A":  # version nodes are absolute symbols
            continue
        names.add(parts[2].split("@")[0])
    return names


def soname(lib):
    out = subprocess.run(["readelf", "-d", lib], check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else None


def declared(cc, srcdir, header):
    """The external functions and objects a public header declares: its text
    after the preprocessor, without static inline bodies, split into
    top-level declarations."""
    text = subprocess.run([cc, "-E", "-P", "-I", srcdir + "/include", "-x", "c", "-"],
                          input='#include "%s"\n' % header, check=True,
                          capture_output=True, text=True).stdout
    # Drop bodies: a function's (static inline helpers) ends its declaration,
    # a struct's or enum's is part of one (typedef struct ... { } name;).
    flat, depth = [], 0
    for ch in text:
        if ch == "{":
            if depth == 0:
                flat.append(";" if "".join(flat).rstrip().endswith(")") else " ")
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            flat.append(ch)
    names = set()
    for decl in "".join(flat).split(";"):
        decl = " ".join(decl.split())
        if not decl or decl.startswith(("typedef", "static")):
            continue
        # the declared name: the identifier before the parameter list, or the
        # last identifier of an object declaration
        m = re.search(r"\b([A-Za-z_]\w*)\s*\((?:[^()]|\([^()]*\))*\)\s*(?:__attribute__.*)?$", decl)
        if not m:
            m = re.search(r"\b([A-Za-z_]\w*)\s*$", decl)
        if m and re.match(r"mrc?_[a-z]", m.group(1)):
            names.add(m.group(1))
    return names


def main():
    cc, srcdir, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = 0
    for spec in specs:
        lib, header, listfile, manpage = spec.split(":")
        name = lib.rsplit("/", 1)[-1].split(".so")[0]
        want_soname = name + ".so.0"
        got = soname(lib)
        if got != want_soname:
            print(f"FAIL {lib}: soname is {got}, expected {want_soname}")
            failures += 1
        have = exported(lib)
        with open(listfile) as f:
            committed = {l.strip() for l in f if l.strip() and not l.startswith("#")}
        for s in sorted(have - committed):
            print(f"FAIL {name}: exports {s}, which is not in {listfile} "
                  f"(internal? hide it; public? add it to the list and the header)")
            failures += 1
        for s in sorted(committed - have):
            print(f"FAIL {name}: does not export {s}, listed in {listfile}")
            failures += 1
        decl = declared(cc, srcdir, header)
        if not decl:
            print(f"FAIL {header}: found no declarations (the parser is broken)")
            failures += 1
        for s in sorted(decl - have):
            print(f"FAIL {name}: {header} declares {s} but the library does not export it "
                  f"(add it to the library's version script)")
            failures += 1
        with open(manpage) as f:
            page = f.read().replace("\\-", "-")
        for s in sorted(decl):
            if not re.search(r"\b%s\b" % re.escape(s), page):
                print(f"FAIL {name}: {header} declares {s}, which {manpage} does not document")
                failures += 1
        print(f"{name}: soname {got}, {len(have)} exported symbols, {len(decl)} declared")
    sys.exit(1 if failures else 0)


main()
