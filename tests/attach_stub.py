#!/usr/bin/env python3
"""A bare client of the attach protocol (proto/attach.proto), for the cases
maproot itself never makes: a client that stops reading, clients that only
hold a connection. tests/test_trace.sh runs it.

usage: attach_stub.py SOCKET stall SECONDS   hello, subscribe to a census at
                                             every collection, then read
                                             nothing for SECONDS
       attach_stub.py SOCKET hold SECONDS    hello, then keep the connection
                                             (reading) for SECONDS
       attach_stub.py SOCKET rate BYTES [HOLD]
                                             hello, set the profiling rate,
                                             print the agent's reply; then keep
                                             the connection for HOLD seconds
       attach_stub.py SOCKET welcome FIELD   hello; print the welcome's field
                                             number FIELD (a number)
       attach_stub.py SOCKET huge LENGTH     hello, then a frame header of
                                             LENGTH bytes; prints "closed" when
                                             the agent hangs up
Prints "welcome" once the agent said hello (or "refused: MESSAGE" and exits 1).
"""
import socket
import struct
import sys
import time


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def fvar(no, v):
    return varint(no << 3) + varint(v)


def fbytes(no, b):
    return varint(no << 3 | 2) + varint(len(b)) + b


def frame(rid, kind, body):
    msg = fvar(1, rid) + fbytes(kind, body)
    return struct.pack("<I", len(msg)) + msg


def read_frame(s):
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (n,) = struct.unpack("<I", head)
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def fields(buf):
    """(field number, wire type, value) of a message's top-level fields."""
    i = 0
    while i < len(buf):
        key, shift = 0, 0
        while True:
            b = buf[i]
            i += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        no, wt = key >> 3, key & 7
        if wt == 0:
            v, shift = 0, 0
            while True:
                b = buf[i]
                i += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            yield no, wt, v
        elif wt == 2:
            n, shift = 0, 0
            while True:
                b = buf[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            yield no, wt, buf[i:i + n]
            i += n
        else:
            raise ValueError("unexpected wire type %d" % wt)


def main():
    path, mode, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(frame(1, 2, fvar(1, 1) + fbytes(2, b"attach_stub")))
    f = read_frame(s)
    if f is None:
        print("refused: connection closed")
        return 1
    kinds = {no: v for no, _, v in fields(f)}
    if 10 not in kinds:
        msg = dict((no, v) for no, _, v in fields(kinds.get(11, b""))).get(2, b"")
        print("refused: " + msg.decode(errors="replace"))
        return 1
    if mode == "welcome":
        print(dict((no, v) for no, _, v in fields(kinds[10])).get(int(sys.argv[3]), 0))
        return 0
    print("welcome", flush=True)
    if mode == "rate":
        s.sendall(frame(2, 3, fvar(1, int(sys.argv[3]))))
        while True:
            f = read_frame(s)
            if f is None:
                print("no reply: connection closed")
                return 1
            top = dict((no, v) for no, _, v in fields(f))
            if top.get(1) == 2 and 11 in top:
                reply = dict((no, v) for no, _, v in fields(top[11]))
                print("reply %s: %s" % ("ok" if reply.get(1) else "refused",
                                        reply.get(2, b"").decode(errors="replace")),
                      flush=True)
                if not reply.get(1):
                    return 1
                break
        secs = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    if mode == "huge":
        s.sendall(struct.pack("<I", int(sys.argv[3])) + b"\0" * 64)
        s.settimeout(300)  # the agent's close, however loaded the machine
        while True:
            f = read_frame(s)
            if f is None:
                print("closed")
                return 0
    if mode == "stall":
        s.sendall(frame(2, 5, fvar(2, 1024)))  # census at every collection
        time.sleep(secs)
    else:
        s.settimeout(0.2)
        end = time.time() + secs
        while time.time() < end:
            try:
                if not s.recv(65536):
                    break
            except socket.timeout:
                pass
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
