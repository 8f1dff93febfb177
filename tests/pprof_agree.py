#!/usr/bin/env python3
"""pprof_agree.py MAPROOT FILE TYPE [BASE]

Runs `go tool pprof -top -unit=B` (all nodes) and `maproot analyze --format
json` on FILE for sample TYPE (or, with BASE, pprof -diff_base=BASE and
maproot diff BASE FILE) and checks that maproot says what pprof says: the
total, the shown sum, and every function's flat and cum (pprof's "(inline)"
and "(partial-inline)" marks dropped from names). Exits 1 naming the first differences, or
when pprof refuses the file."""
import json
import re
import subprocess
import sys

maproot, file, stype = sys.argv[1:4]
base = sys.argv[4] if len(sys.argv) > 4 else None
what = f"{file} {stype}" + (f" diff_base={base}" if base else "")
cmd = ["go", "tool", "pprof", "-symbolize=none", "-top", "-unit=B", "-nodefraction=0",
       "-nodecount=1000000", "-sample_index=" + stype]
cmd += (["-diff_base=" + base] if base else []) + [file]
text = subprocess.run(cmd, capture_output=True, text=True).stdout
mine_cmd = [maproot, "diff", "--format", "json", "--top", "0", "-i", stype, base, file] if base \
    else [maproot, "analyze", "--format", "json", "--top", "0", "-i", stype, file]
run = subprocess.run(mine_cmd, capture_output=True, text=True)
if run.returncode != 0:
    print(f"{what}: maproot failed: {run.stderr.strip()}", file=sys.stderr)
    sys.exit(1)
ours = json.loads(run.stdout)
num = lambda s: int(re.sub(r"[^0-9-]", "", s) or 0)
m = re.search(r"Showing nodes accounting for (-?\d+)B?, .* of (-?\d+)B? total", text)
if not m:
    print(what + ": go tool pprof refused it or printed no totals", file=sys.stderr)
    sys.exit(1)
shown, total = int(m.group(1)), int(m.group(2))
rows = {}
for line in text.splitlines():
    f = line.split(None, 5)
    if len(f) == 6 and f[1].endswith("%") and f[2].endswith("%") and f[4].endswith("%"):
        name = re.sub(r" \((partial-)?inline\)$", "", f[5])
        fl, cu = rows.get(name, (0, 0))
        rows[name] = (fl + num(f[0]), max(cu, num(f[3]), key=abs))
bad = []
diff = "base_total" in ours
if diff:
    if ours["base_total"] != total: bad.append(f"base total {ours['base_total']} != {total}")
    if ours["delta"] != shown: bad.append(f"delta {ours['delta']} != {shown}")
    mine = {s["function"]: (s["flat_delta"], s["cum_delta"]) for s in ours["sites"]}
else:
    if ours["total"] != total: bad.append(f"total {ours['total']} != {total}")
    if sum(s["flat"] for s in ours["top"]) != shown: bad.append("flat sum != pprof's")
    mine = {s["function"]: (s["flat"], s["cum"]) for s in ours["top"]}
for name, (fl, cu) in rows.items():
    if (fl, cu) == (0, 0) and name not in mine: continue
    if mine.get(name, (0, 0))[0] != fl: bad.append(f"{name}: flat {mine.get(name)} != pprof ({fl}, {cu})")
    elif not diff and mine.get(name, (0, 0))[1] != cu: bad.append(f"{name}: cum {mine.get(name)} != pprof ({fl}, {cu})")
for name, (fl, cu) in mine.items():
    if (fl or cu) and name not in rows and not diff: bad.append(f"{name} missing in pprof")
if not rows and total != 0: bad.append("no rows parsed")
if bad:
    print(what + ": " + "; ".join(bad[:8]), file=sys.stderr)
    sys.exit(1)
