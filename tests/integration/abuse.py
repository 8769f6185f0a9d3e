#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Protocol abuse against a running netdump-server, over raw UDP.

usage: abuse.py SERVER-PORT NET OUTDIR

Speaks netdump by hand from 127.0.NET.x:20024 and checks what is acked:
malformed datagrams, unknown types, data beyond max_dump_size (the server
must be configured with max_dump_size = 1M), small objects out of range,
datagrams from another source port, over-long HERALD paths, netdumpd's own
client style (HERALD and FINISHED with seqno 0) and a burst of random
datagrams. Writes the vmcore bytes of each complete dump to OUTDIR/<addr>.
Exits non-zero with a message on the first failed check.
"""
import os
import random
import socket
import struct
import sys
import time

HERALD, FINISHED, VMCORE, KDH, EKCD_KEY = 1, 2, 3, 4, 5
HDR = struct.Struct(">IIQII")
SERVER = "127.0.0.1"
SILENCE = 0.5
MIB = 1 << 20


def die(what):
    print("abuse.py: FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def note(what):
    print("abuse.py: ok: " + what, flush=True)


def msg(mtype, seq, off=0, payload=b"", length=None):
    if length is None:
        length = len(payload)
    return HDR.pack(mtype, seq, off, length, 0) + payload


def kdh(dumplength, hostname=b"abuse"):
    """A valid v4 kernel dump header (big-endian, parity over 128 words)."""
    b = bytearray(512)
    b[0:20] = b"FreeBSD Kernel Dump".ljust(20, b"\0")
    b[20:32] = b"amd64".ljust(12, b"\0")
    struct.pack_into(">IIQQII", b, 32, 4, 2, dumplength, int(time.time()),
                     0, 4096)
    b[64:64 + len(hostname)] = hostname
    vs = b"FreeBSD 14.1-RELEASE abuse.py\n"
    b[128:128 + len(vs)] = vs
    ps = b"abuse.py panic"
    b[320:320 + len(ps)] = ps
    b[495] = 0
    struct.pack_into(">Q", b, 496, dumplength)
    x = 0
    for i in range(0, 508, 4):
        x ^= struct.unpack_from(">I", b, i)[0]
    struct.pack_into(">I", b, 508, x)
    return bytes(b)


class Client:
    def __init__(self, addr, port, cport=20024):
        self.addr = addr
        self.herald_port = port
        self.sport = None
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((addr, cport))

    def to_herald(self, data):
        self.s.sendto(data, (SERVER, self.herald_port))

    def to_session(self, data):
        self.s.sendto(data, (SERVER, self.sport))

    def recv(self, timeout):
        self.s.settimeout(timeout)
        try:
            return self.s.recvfrom(65536)
        except socket.timeout:
            return None, None

    def ack(self, seq, what, timeout=5.0, port=None):
        """Wait for the 4-byte ack of seq; returns the port it came from."""
        data, src = self.recv(timeout)
        if data is None:
            die("%s: no ack for seq %d within %.1f s" % (what, seq, timeout))
        if len(data) != 4:
            die("%s: a %d-byte reply, not a 4-byte ack" % (what, len(data)))
        got = struct.unpack(">I", data)[0]
        if got != seq:
            die("%s: ack for seq %d, expected %d" % (what, got, seq))
        if src[0] != SERVER:
            die("%s: ack from %s" % (what, src[0]))
        if port is not None and src[1] != port:
            die("%s: ack from port %d, expected %d" % (what, src[1], port))
        return src[1]

    def silence(self, what, timeout=SILENCE):
        data, src = self.recv(timeout)
        if data is not None:
            extra = ""
            if len(data) == 4:
                extra = " (ack for seq %d)" % struct.unpack(">I", data)[0]
            die("%s: answered with %d bytes from %s%s; expected no reply"
                % (what, len(data), src, extra))
        note(what + ": not acked")

    def herald(self, seq=1, path=b""):
        self.to_herald(msg(HERALD, seq, 0, path))
        self.sport = self.ack(seq, "HERALD")
        if self.sport == self.herald_port:
            die("HERALD answered from the herald port, not a session port")
        return self.sport


def main():
    if len(sys.argv) != 4:
        die("usage: abuse.py SERVER-PORT NET OUTDIR")
    port, net, outdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rnd = random.Random(20231)

    def addr(i):
        return "127.0.%d.%d" % (net, i)

    # ---------------------------------------------------------- client 1
    a = Client(addr(1), port)
    a.to_herald(b"\0" * 10)
    a.silence("runt (10 bytes) at the herald port")
    a.to_herald(msg(HERALD, 1, 0, b"abc\0", length=40))
    a.silence("HERALD whose mh_len does not match at the herald port")
    a.to_herald(msg(VMCORE, 1, 0, b"x" * 100))
    a.silence("VMCORE at the herald port")
    a.to_herald(msg(9, 1, 0, b""))
    a.silence("unknown type 9 at the herald port")

    sport = a.herald(1)
    note("HERALD seq 1 acked from session port %d" % sport)
    image = rnd.randbytes(3 * 1448)
    a.to_session(msg(VMCORE, 2, 0, image[0:1448]))
    a.ack(2, "VMCORE seq 2 offset 0", port=sport)
    note("valid VMCORE acked")

    a.to_session(b"\1" * 10)
    a.silence("runt (10 bytes) at the session port")
    a.to_session(msg(VMCORE, 3, 1448, image[1448:1498], length=100))
    a.silence("VMCORE with mh_len 100 but 50 payload bytes")
    a.to_session(msg(VMCORE, 3, 1448, image[1448:1648], length=100))
    a.silence("VMCORE with mh_len 100 but 200 payload bytes")
    a.to_session(msg(9, 3, 0, b"\0" * 16))
    a.silence("unknown type 9")
    a.to_session(msg(0, 3, 0, b""))
    a.silence("type 0")
    a.to_session(msg(VMCORE, 4, 2 * MIB, b"\xaa" * 1448))
    a.silence("VMCORE at offset 2M, beyond max_dump_size 1M")
    a.to_session(msg(VMCORE, 4, MIB - 100, b"\xaa" * 1448))
    a.silence("VMCORE straddling max_dump_size")
    a.to_session(msg(VMCORE, 4, (1 << 64) - 100, b"\xaa" * 1448))
    a.silence("VMCORE whose offset + len wraps around 2^64")
    a.to_session(msg(KDH, 4, 400, b"\0" * 200))
    a.silence("KDH bytes beyond 512")
    a.to_session(msg(EKCD_KEY, 4, 65536, b"\0" * 10))
    a.silence("EKCD_KEY bytes beyond the key size limit")
    garbage = 0
    for _ in range(1000):
        n = rnd.randrange(0, 200)
        d = rnd.randbytes(n)
        if n >= 24 and HDR.unpack_from(d)[3] == n - 24:
            continue
        a.to_session(d)
        garbage += 1
    a.silence("%d random malformed datagrams at the session port" % garbage,
              1.0)

    a.to_session(msg(VMCORE, 5, 1448, image[1448:2896]))
    a.ack(5, "VMCORE seq 5 offset 1448 after the abuse", port=sport)
    note("the session still acks valid data")

    # The same source address from another port: the session socket is
    # connected to <client>:20024, so this never reaches it.
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.bind((addr(1), 0))
    b.settimeout(SILENCE)
    b.sendto(msg(VMCORE, 6, 2896, image[2896:]), (SERVER, sport))
    b.sendto(msg(FINISHED, 6, 0, b""), (SERVER, sport))
    try:
        data, src = b.recvfrom(65536)
        die("a datagram from port %d was answered: %r from %s"
            % (b.getsockname()[1], data, src))
    except socket.timeout:
        pass
    a.silence("VMCORE and FINISHED from another source port (checked at "
              "port 20024 too)", 0.2)
    b.close()

    # A spoofed HERALD from another port of the same address in the middle
    # of the dump (a real kernel heralds from 20024 only) must neither
    # abort the running dump nor be answered (it would take a dump slot).
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.bind((addr(1), 0))
    b.sendto(msg(HERALD, 1, 0, b""), (SERVER, port))
    b.close()
    data, src = a.recv(SILENCE)
    if data is not None:
        die("spoofed HERALD from another port was answered: %r from %s"
            % (data, src))
    note("spoofed HERALD from another port: not answered")

    a.to_session(msg(VMCORE, 6, 2896, image[2896:]))
    a.ack(6, "VMCORE seq 6 offset 2896 after a spoofed HERALD", port=sport)
    # A duplicate is acked again, harmlessly.
    a.to_session(msg(VMCORE, 6, 2896, image[2896:]))
    a.ack(6, "duplicate VMCORE seq 6", port=sport)
    a.to_session(msg(KDH, 7, 0, kdh(len(image))))
    a.ack(7, "KDH", port=sport)
    a.to_session(msg(FINISHED, 8, 0, b""))
    a.ack(8, "FINISHED", port=sport)
    a.to_session(msg(FINISHED, 8, 0, b""))
    a.ack(8, "repeated FINISHED (grace)", port=sport)
    note("FINISHED and its repetition acked")
    a.to_session(msg(VMCORE, 9, 0, image[0:1448]))
    a.silence("VMCORE after the dump ended")
    with open(os.path.join(outdir, addr(1)), "wb") as f:
        f.write(image)

    # ---------------------------------------------------------- client 2
    # netdumpd's own test client: HERALD and FINISHED with seqno 0, data
    # numbered from 1, one packet at a time.
    c = Client(addr(2), port)
    sport = c.herald(0)
    body = rnd.randbytes(8192)
    for i in range(0, len(body), 4096):
        seq = 1 + i // 4096
        c.to_session(msg(VMCORE, seq, i, body[i:i + 4096]))
        c.ack(seq, "netdumpd-style VMCORE seq %d" % seq, port=sport)
    c.to_session(msg(KDH, 3, 0, kdh(len(body))))
    c.ack(3, "netdumpd-style KDH", port=sport)
    c.to_session(msg(FINISHED, 0, 0, b""))
    c.ack(0, "netdumpd-style FINISHED seq 0", port=sport)
    note("a netdumpd-style client (seqno 0 HERALD and FINISHED) is served")
    with open(os.path.join(outdir, addr(2)), "wb") as f:
        f.write(body)

    # ---------------------------------------------------------- client 3/4
    # Over-long and unterminated HERALD paths: answered or not, the
    # server must go on; if answered, close the dump cleanly.
    for i, path, what in ((3, b"p" * 1999 + b"\0", "2000-byte HERALD path"),
                          (4, b"no-nul", "HERALD path without a NUL")):
        d = Client(addr(i), port)
        d.to_herald(msg(HERALD, 1, 0, path))
        data, src = d.recv(2.0)
        if data is not None:
            if data != struct.pack(">I", 1):
                die("%s: odd reply %r" % (what, data))
            d.sport = src[1]
            d.to_session(msg(FINISHED, 2, 0, b""))
            d.ack(2, what + ": FINISHED")
            note(what + ": answered (default path), closed")
        else:
            note(what + ": not answered")

    # ---------------------------------------------------------- burst
    e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    e.bind((addr(5), 0))
    sent = 0
    for k in range(10000):
        kind = k % 4
        if kind == 0:
            # a well-formed header of another type, or a wrong length
            t = rnd.choice((FINISHED, VMCORE, KDH, EKCD_KEY, 0, 7, 0xffffffff))
            p = rnd.randbytes(rnd.randrange(0, 64))
            d = msg(t, rnd.getrandbits(32), rnd.getrandbits(64), p)
        elif kind == 1:
            p = rnd.randbytes(rnd.randrange(0, 64))
            d = msg(HERALD, rnd.getrandbits(32), 0, p,
                    length=len(p) + rnd.randrange(1, 1 << 20))
        else:
            d = rnd.randbytes(rnd.randrange(0, 1500))
        try:
            e.sendto(d, (SERVER, port))
            sent += 1
        except OSError:
            time.sleep(0.001)
    e.close()
    note("burst of %d random datagrams sent to the herald port" % sent)


if __name__ == "__main__":
    main()
