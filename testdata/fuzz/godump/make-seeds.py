#!/usr/bin/env python3
# Writes the seed corpus of fuzz_godump: small Go heap dumps made by hand
# (real ones start at ~300 KB, too big to fuzz well), each a valid dump in
# the go1.7 format with what the loader looks for: a global holding a map
# (string keys, pointer values, one overflow bucket), a pointer-free map,
# a goroutine whose frame holds a range iterator over a map on its stack,
# a finalizer, memory profile buckets and samples.
# usage: make-seeds.py DIR
import struct, sys

def uv(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7f | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)

def s(b):
    return uv(len(b)) + b

def fields(offs):
    return b"".join(uv(1) + uv(o) for o in offs) + uv(0)

def w(*vals):
    return b"".join(struct.pack("<Q", v) for v in vals)

def params(version=b"go1.19.8"):
    return uv(6) + uv(0) + uv(8) + uv(0xc000000000) + uv(0xc004000000) + s(b"amd64") + s(version) + uv(2)

def obj(addr, data, offs):
    return uv(1) + uv(addr) + s(bytes(data)) + fields(offs)

def memstats(heap):
    vals = [heap, heap, heap * 2, 0, 10, 2, heap, heap * 2, 0, heap, 0, 8] + [0] * 12
    return uv(10) + b"".join(uv(v) for v in vals) + b"".join(uv(0) for _ in range(256)) + uv(3)

def bucket_string_ptr(keys, vals, overflow=0):
    # bucket<string,*T>: tophash[8], keys [8]string, values [8]*T, overflow: 208 bytes
    b = bytearray(208)
    for i, ((p, n), v) in enumerate(zip(keys, vals)):
        b[i] = 5 + i
        b[8 + 16 * i:24 + 16 * i] = w(p, n)
        b[136 + 8 * i:144 + 8 * i] = w(v)
    b[200:208] = w(overflow)
    return b

def dump_global():
    H, A, OV, S, V = 0xc000010000, 0xc000020000, 0xc000022000, 0xc000030000, 0xc000040000
    ptr_fields = [8 + 16 * i for i in range(8)] + [136 + 8 * i for i in range(8)] + [200]
    hm = w(10) + bytes([0, 0, 1, 0]) + struct.pack("<I", 0x1234) + w(A, 0, 0, 0)
    text = b"user-0user-1user-2user-3user-4user-5user-6user-7user-8user-9"
    keys = [(S + 6 * i, 6) for i in range(10)]
    vals = [V + 32 * i for i in range(10)]
    out = bytearray(b"go1.7 heap dump\n")
    out += params()
    out += uv(3) + uv(0x4a0000) + uv(48) + s(b"main.Session") + uv(1)
    out += uv(8) + uv(0x4b0000) + uv(0x4a0000)
    out += obj(H, hm, [16, 24, 40])
    out += obj(A, bucket_string_ptr(keys[:8], vals[:8], OV), ptr_fields)
    out += obj(OV, bucket_string_ptr(keys[8:], vals[8:]), ptr_fields)
    out += obj(S, text + bytes(64 - len(text)), [])
    for i in range(10):
        out += obj(V + 32 * i, w(i, S + 6 * i, 6, 0), [8])
    out += obj(0xc000050000, w(0, 0), [])  # garbage
    # a goroutine parked on a channel, its frame holding the map too
    out += uv(4) + uv(0xc000001000) + uv(0xc000060000) + uv(18) + uv(0x401000) + uv(4) + uv(0) + uv(0)
    out += uv(0) + s(b"chan receive") + uv(0) + uv(0) + uv(0) + uv(0)
    out += uv(5) + uv(0xc000060000) + uv(0) + uv(0) + s(w(H, 7)) + uv(0x401000) + uv(0x401020)
    out += uv(0x401020) + s(b"main.worker") + fields([0])
    out += uv(14) + b"".join(uv(v) for v in (0xc000002000, 0xc000001000, 0xc000060000, 0x401000, 0, 0, 0))
    out += uv(9) + uv(0xc000003000) + uv(1) + uv(4242)
    out += uv(12) + uv(0x500000) + s(w(H, 0)) + fields([0])
    out += uv(13) + uv(0x510000) + s(w(V, 0)) + fields([0, 8])
    out += uv(7) + uv(V) + uv(0x4c0000) + uv(0x401100) + uv(0) + uv(0)
    out += memstats(2048)
    out += uv(16) + uv(0x600000) + uv(32) + uv(2) + s(b"main.newSession") + s(b"/src/main.go") + uv(12)
    out += s(b"main.main") + s(b"/src/main.go") + uv(30) + uv(10) + uv(0)
    out += uv(17) + uv(V) + uv(0x600000) + uv(17) + uv(V + 64) + uv(0x600000)
    out += uv(0)
    return bytes(out)

def dump_pointerfree_iterator():
    H, A, SP = 0xc000010000, 0xc000020000, 0xc000060000
    b = bytearray(144)  # bucket<int64,int64>
    for i in range(3):
        b[i] = 7 + i
        b[8 + 8 * i:16 + 8 * i] = w(100 + i)
        b[72 + 8 * i:80 + 8 * i] = w(i * i)
    # the hmap lives in the frame at SP+96 (a stack object); a range
    # iterator at SP+0 points at it
    hm = w(3) + bytes([0, 0, 0, 0]) + struct.pack("<I", 0x99) + w(A, 0, 0, 0)
    it = w(A + 8, A + 72, 0x4a1000, SP + 96, A, A, 0, 0, 0, 0, 0, 0)
    frame = it + hm
    out = bytearray(b"go1.7 heap dump\n")
    out += params()
    out += obj(A, b, [])
    out += uv(4) + uv(0xc000001000) + uv(SP) + uv(7) + uv(0x401000) + uv(4) + uv(0) + uv(0)
    out += uv(0) + s(b"sleep") + uv(0) + uv(0) + uv(0) + uv(0)
    out += uv(5) + uv(SP) + uv(0) + uv(0) + s(frame) + uv(0x401000) + uv(0x401040)
    out += uv(0x401040) + s(b"main.ranger") + fields([0, 8, 16, 24, 32, 40, 48, 56])
    out += uv(12) + uv(0x500000) + s(w(0)) + fields([0])
    out += memstats(144)
    out += uv(0)
    return bytes(out)

def main():
    d = sys.argv[1]
    seeds = {
        "global.dump": dump_global(),
        "pointerfree-iterator.dump": dump_pointerfree_iterator(),
        "swiss.dump": dump_global().replace(b"go1.19.8", b"go1.24.0"),
    }
    for name, data in seeds.items():
        open(f"{d}/{name}", "wb").write(data)

main()
