#!/usr/bin/env python3
"""profile_cases.py DIR

Writes hand-made pprof heap profiles into DIR, each legal but unusual for
go tool pprof (or illegal to it), with its own protobuf encoder so that
every byte is under control, and DIR/truth.json: for each profile, either
"refuse" (go tool pprof refuses it) or, per sample type ("" for the
default), every function's (flat, cum) worked out by hand from the stacks
below."""
import gzip
import json
import sys

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7f; v >>= 7
        if v: out.append(b | 0x80)
        else: out.append(b); return bytes(out)

def vf(num, v): return varint(num << 3) + varint(v)
def lf(num, data): return varint(num << 3 | 2) + varint(len(data)) + data
def packed(num, vals): return lf(num, b"".join(varint(v) for v in vals))

class P:
    def __init__(s):
        s.strings = [""]; s.body = []
    def s(s, text, reuse=True):
        if reuse and text in s.strings: return s.strings.index(text)
        s.strings.append(text); return len(s.strings) - 1
    def stype(s, t, u): s.body.append(lf(1, vf(1, s.s(t)) + vf(2, s.s(u))))
    def sample(s, locs, vals, labels=(), unpacked=False):
        b = b""
        if unpacked:
            b += b"".join(vf(1, l) for l in locs) + b"".join(vf(2, v) for v in vals)
        else:
            if locs: b += packed(1, locs)
            b += packed(2, vals)
        for (k, sv, nv) in labels:
            lb = vf(1, s.s(k))
            if sv is not None: lb += vf(2, s.s(sv))
            else: lb += vf(3, nv)
            b += lf(3, lb)
        s.body.append(lf(2, b))
    def mapping(s, id, start, limit, off, fname, bid="", hasfn=True):
        b = vf(1, id) + vf(2, start) + vf(3, limit) + vf(4, off) + vf(5, s.s(fname)) + vf(6, s.s(bid))
        if hasfn: b += vf(7, 1) + vf(8, 1) + vf(9, 1)
        s.body.append(lf(3, b))
    def location(s, id, mapping, addr, lines):
        b = vf(1, id) + (vf(2, mapping) if mapping else b"") + vf(3, addr)
        for (fid, line) in lines: b += lf(4, vf(1, fid) + vf(2, line))
        s.body.append(lf(4, b))
    def function(s, id, name, file="x.c", name_idx=None):
        ni = s.s(name) if name_idx is None else name_idx
        s.body.append(lf(5, vf(1, id) + vf(2, ni) + vf(3, ni) + vf(4, s.s(file))))
    def raw(s, b): s.body.append(b)
    def heap_header(s, period=524288):
        for t, u in (("alloc_objects", "count"), ("alloc_space", "bytes"),
                     ("inuse_objects", "count"), ("inuse_space", "bytes")):
            s.stype(t, u)
        s.period = period
    def encode(s, drop=None, keep=None, default=None):
        extra = b""
        if drop is not None: extra += vf(7, s.s(drop))
        if keep is not None: extra += vf(8, s.s(keep))
        if default is not None: extra += vf(14, s.s(default))
        pt = lf(11, vf(1, s.s("space")) + vf(2, s.s("bytes"))) + vf(12, getattr(s, "period", 0))
        strs = b"".join(lf(6, x.encode()) for x in s.strings)
        return b"".join(s.body) + strs + extra + pt

def write(path, data, gz=True):
    with open(path, "wb") as f: f.write(gzip.compress(data) if gz else data)
out = sys.argv[1]
truth = {}

# 1. inline: one location with three lines (leaf inlined into mid inlined into outer)
p = P(); p.heap_header()
p.mapping(1, 0x400000, 0x500000, 0, "/bin/app", "abc")
for i, n in enumerate(["leaf", "mid", "outer", "main"], 1): p.function(i, n)
p.location(1, 1, 0x401000, [(1, 10), (2, 20), (3, 30)])
p.location(2, 1, 0x402000, [(4, 40)])
p.location(3, 1, 0x403000, [(2, 21), (3, 31)])
p.sample([1, 2], [1, 100, 1, 100])
p.sample([3, 2], [2, 200, 2, 200])
write(f"{out}/inline.pb.gz", p.encode())
truth["inline"] = {"inuse_space": {"leaf": (100, 100), "mid": (200, 300), "outer": (0, 300), "main": (0, 300)}}

# 2. string table reuse: two function ids share one name index; duplicate strings
p = P(); p.heap_header()
p.function(1, "dup", "a.c")
p.strings.append("dup")  # the same text again at a new index
p.function(2, "x", "b.c", name_idx=len(p.strings) - 1)
p.function(3, "caller", "a.c", name_idx=p.s("caller"))
p.function(4, "dup2", "c.c", name_idx=p.s("dup"))  # reuses index of function 1's name
p.location(1, 0, 0x1000, [(1, 1)])
p.location(2, 0, 0x2000, [(2, 2)])
p.location(3, 0, 0x3000, [(3, 3)])
p.location(4, 0, 0x4000, [(4, 4)])
p.sample([1, 3], [1, 10, 1, 10])
p.sample([2, 3], [1, 20, 1, 20])
p.sample([4, 3], [1, 40, 1, 40])
write(f"{out}/strreuse.pb.gz", p.encode())
truth["strreuse"] = {"inuse_space": {"dup": (70, 70), "caller": (0, 70)}}

# 3. mappings unordered, ids not 1..n, locations across them; an unsymbolized one
p = P(); p.heap_header()
p.mapping(7, 0x7f0000, 0x7f1000, 0x1000, "/lib/libz.so", "zz")
p.mapping(3, 0x400000, 0x500000, 0, "/bin/app", "aa")
p.mapping(5, 0x600000, 0x601000, 0, "/lib/libq.so", "qq", hasfn=False)
p.function(9, "zfn"); p.function(2, "main")
p.location(40, 7, 0x7f0010, [(9, 5)])
p.location(10, 3, 0x400010, [(2, 6)])
p.location(25, 5, 0x600010, [])
p.sample([40, 10], [1, 64, 1, 64])
p.sample([25, 10], [1, 32, 1, 32])
write(f"{out}/unordered.pb.gz", p.encode())
truth["unordered"] = {"inuse_space": {"zfn": (64, 64), "main": (0, 96), "[libq.so]": (32, 32)}}

# 4. zero-valued samples, samples with no locations, negative values
p = P(); p.heap_header()
p.function(1, "a"); p.function(2, "b")
p.location(1, 0, 0x10, [(1, 1)]); p.location(2, 0, 0x20, [(2, 2)])
p.sample([1, 2], [0, 0, 0, 0])
p.sample([2], [3, 300, 0, 0])
p.sample([], [1, 50, 1, 50])
p.sample([1], [1, 7, 1, 7], unpacked=True)
write(f"{out}/zeros.pb.gz", p.encode())
truth["zeros"] = {"inuse_space": {"a": (7, 7)}, "alloc_space": {"a": (7, 7), "b": (300, 300)}}

# 5. no samples at all
p = P(); p.heap_header()
write(f"{out}/empty.pb.gz", p.encode())
truth["empty"] = {"inuse_space": {}}

# 6. ungzipped
p = P(); p.heap_header()
p.function(1, "a"); p.location(1, 0, 0x10, [(1, 1)])
p.sample([1], [1, 8, 1, 8])
write(f"{out}/raw.pb", p.encode(), gz=False)
truth["raw"] = {"inuse_space": {"a": (8, 8)}}

# 7. many samples: 200000 samples over 1000 functions
p = P(); p.heap_header()
for f in range(1, 1001): p.function(f, f"fn{f}")
for f in range(1, 1001): p.location(f, 0, 0x1000 + f, [(f, 1)])
exp = {}
for i in range(200000):
    a, b = 1 + i % 1000, 1 + (i * 7) % 1000
    p.sample([a, b], [1, 16, 1, 16])
    fa, fb = f"fn{a}", f"fn{b}"
    fl, cu = exp.get(fa, (0, 0)); exp[fa] = (fl + 16, cu + 16)
    if fb != fa:
        fl, cu = exp.get(fb, (0, 0)); exp[fb] = (fl, cu + 16)
write(f"{out}/many.pb.gz", p.encode())
truth["many"] = {"inuse_space": exp}

# 8. recursion: a -> b -> a -> b -> a (cum once per sample)
p = P(); p.heap_header()
p.function(1, "a"); p.function(2, "b"); p.function(3, "main")
p.location(1, 0, 0x10, [(1, 1)]); p.location(2, 0, 0x20, [(2, 2)]); p.location(3, 0, 0x30, [(3, 3)])
p.location(4, 0, 0x11, [(1, 5), (2, 6), (1, 7)])  # inlined recursion in one location
p.sample([1, 2, 1, 2, 1, 3], [1, 100, 1, 100])
p.sample([4, 3], [1, 10, 1, 10])
write(f"{out}/recursion.pb.gz", p.encode())
truth["recursion"] = {"inuse_space": {"a": (110, 110), "b": (0, 110), "main": (0, 110)}}

# 9. drop_frames: pprof drops frames matching it and everything on the leaf side
p = P(); p.heap_header()
for i, n in enumerate(["malloc", "operator new", "alloc_node", "main"], 1): p.function(i, n)
for i in range(1, 5): p.location(i, 0, 0x10 * i, [(i, i)])
p.sample([1, 2, 3, 4], [1, 64, 1, 64])
p.sample([3, 4], [1, 32, 1, 32])
write(f"{out}/dropframes.pb.gz", p.encode(drop="malloc|operator new"))
truth["dropframes"] = {"inuse_space": {"alloc_node": (96, 96), "main": (0, 96)}}

# 10. keep_frames rescues a frame drop_frames would drop
p = P(); p.heap_header()
for i, n in enumerate(["je_malloc", "my_malloc_wrapper", "main"], 1): p.function(i, n)
for i in range(1, 4): p.location(i, 0, 0x10 * i, [(i, i)])
p.sample([1, 2, 3], [1, 64, 1, 64])
write(f"{out}/keepframes.pb.gz", p.encode(drop=".*malloc.*", keep="my_malloc_wrapper"))
truth["keepframes"] = {"inuse_space": {"my_malloc_wrapper": (64, 64), "main": (0, 64)}}

# 11. location whose mapping id is not defined (pprof: no mapping)
p = P(); p.heap_header()
p.mapping(1, 0x400000, 0x500000, 0, "/bin/app")
p.function(1, "a")
p.location(1, 9, 0x10, [(1, 1)])
p.sample([1], [1, 8, 1, 8])
write(f"{out}/nomapping.pb.gz", p.encode())
truth["nomapping"] = {"inuse_space": {"a": (8, 8)}}

# 12. a line with function id 0: pprof refuses the profile
p = P(); p.heap_header()
p.function(1, "a")
p.location(1, 0, 0x10, [(0, 1), (1, 2)])
p.sample([1], [1, 8, 1, 8])
write(f"{out}/nofunction.pb.gz", p.encode())
truth["nofunction"] = "refuse"

# 13. default sample type alloc_space; two functions with the same name in different files
p = P(); p.heap_header()
p.function(1, "init", "a.c"); p.function(2, "init", "b.c"); p.function(3, "main")
p.location(1, 0, 0x10, [(1, 1)]); p.location(2, 0, 0x20, [(2, 2)]); p.location(3, 0, 0x30, [(3, 3)])
p.sample([1, 3], [1, 10, 0, 0]); p.sample([2, 3], [1, 20, 1, 20])
write(f"{out}/default.pb.gz", p.encode(default="alloc_space"))
truth["default"] = {"": {"init": (30, 30), "main": (0, 30)}, "inuse_space": {"init": (20, 20), "main": (0, 20)}}

# 14. function with empty name; location with mapping and no lines and no mapping file
p = P(); p.heap_header()
p.mapping(1, 0x400000, 0x500000, 0, "", hasfn=False)
p.function(1, ""); p.function(2, "main")
p.location(1, 1, 0x400100, [(1, 1)]); p.location(2, 0, 0x20, [(2, 2)]); p.location(3, 1, 0x400200, [])
p.sample([1, 2], [1, 10, 1, 10]); p.sample([3, 2], [1, 20, 1, 20])
write(f"{out}/noname.pb.gz", p.encode())
truth["noname"] = {"inuse_space": {"<unknown>": (30, 30), "main": (0, 30)}}

# 15. a nameless function in a named mapping is named after the mapping
p = P(); p.heap_header()
p.mapping(1, 0x400000, 0x500000, 0, "/opt/lib/libfoo.so.1", hasfn=False)
p.function(1, ""); p.function(2, "main")
p.location(1, 1, 0x400100, [(1, 1)]); p.location(2, 0, 0x20, [(2, 2)]); p.location(3, 1, 0x400200, [])
p.sample([1, 2], [1, 10, 1, 10]); p.sample([3, 2], [1, 20, 1, 20])
write(f"{out}/nameless.pb.gz", p.encode())
truth["nameless"] = {"inuse_space": {"[libfoo.so.1]": (30, 30), "main": (0, 30)}}

# 16. drop_frames, the hard parts: C++ argument lists and reserved names,
# a match inside an inlined location (only the lines inside it go), a
# stack matching from its root (left alone), a match below the root.
p = P(); p.heap_header()
names = ["operator new(unsigned long)", "(anonymous namespace)::pool::get()", "Node::make(int)",
         "main", "tc_malloc", "start", "inl_helper"]
for i, n in enumerate(names, 1): p.function(i, n)
for i in range(1, 8): p.location(i, 0, 0x10 * i, [(i, i)])
p.location(8, 0, 0x80, [(7, 1), (5, 2), (3, 3)])  # inl_helper inlined in tc_malloc inlined in Node::make
p.sample([1, 2, 3, 4], [1, 100, 1, 100])      # -> Node::make, main
p.sample([5, 6], [1, 10, 1, 10])              # root tc_malloc matches? no: start is the root
p.sample([1, 5], [1, 1, 1, 1])                # matches from the root on: left alone
p.sample([8, 4], [1, 1000, 1, 1000])          # location 8 keeps Node::make only
write(f"{out}/prune.pb.gz", p.encode(drop="operator new|tc_malloc|\\(anonymous namespace\\)::pool::get"))
truth["prune"] = {"inuse_space": {"Node::make(int)": (1100, 1100), "main": (0, 1100), "start": (10, 10),
                                   "operator new(unsigned long)": (1, 1), "tc_malloc": (0, 1)}}

# 17. negative values (a profile pprof -diff_base would write, or any tool):
# flat and cum are signed sums, the total the sum of absolute values; and
# bare addresses outside any mapping are all one "<unknown>" site
p = P(); p.heap_header()
p.function(1, "grow"); p.function(2, "shrink"); p.function(3, "main")
p.location(1, 0, 0x10, [(1, 1)]); p.location(2, 0, 0x20, [(2, 2)]); p.location(3, 0, 0x30, [(3, 3)])
p.location(4, 0, 0x9000, []); p.location(5, 0, 0x9100, [])
p.sample([1, 3], [2, 200, 2, 200])
p.sample([2, 3], [-1 & (2**64 - 1), -300 & (2**64 - 1), -1 & (2**64 - 1), -300 & (2**64 - 1)])
p.sample([4, 3], [1, 16, 1, 16]); p.sample([5, 4, 3], [1, 8, 1, 8])
write(f"{out}/negative.pb.gz", p.encode())
truth["negative"] = {"inuse_space": {"grow": (200, 200), "shrink": (-300, -300), "<unknown>": (24, 24),
                                     "main": (0, -76)}}

# 18. gzip in two members (concatenated .gz files read as one stream), and
# gzip followed by zero padding (refused by both)
p = P(); p.heap_header()
p.function(1, "a"); p.function(2, "b")
p.location(1, 0, 0x10, [(1, 1)]); p.location(2, 0, 0x20, [(2, 2)])
p.sample([1, 2], [1, 8, 1, 8])
data = p.encode()
with open(f"{out}/members.pb.gz", "wb") as f:
    f.write(gzip.compress(data[:-10]) + gzip.compress(data[-10:]))
truth["members"] = {"inuse_space": {"a": (8, 8), "b": (0, 8)}}
with open(f"{out}/padded.pb.gz", "wb") as f:
    f.write(gzip.compress(data) + bytes(16))
truth["padded"] = "refuse"

with open(f"{out}/truth.json", "w") as f:
    json.dump(truth, f)
