#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Purpose-built netdump senders for the fault matrix (tests/faults).

usage:
  ndfault.py dump PORT ADDR OUT [options]     a kernel-like dump with faults
  ndfault.py herald-flood PORT NET SECONDS N  HERALDs from N addresses
  ndfault.py session-flood PORT NET OUT SIZE  a dump while others flood its port
  ndfault.py spoof PORT NET OUT SIZE          a dump while 127.0.NET.9 spoofs it
  ndfault.py check STORED SENT MANIFEST       stored = sent outside the gaps
  ndfault.py far PORT ADDR OFFSET             HERALD, one byte at OFFSET, FINISHED
  ndfault.py fragments PORT ADDR OUT          1-byte pieces at descending offsets
  ndfault.py conflict PORT ADDR OUT CASE      a dump that contradicts itself
  ndfault.py spoof-herald PORT ADDR N         HERALDs forged from ADDR:20024 (raw)
                                              [--path P] [--sport S] [--ports K]
                                              [--dst D]
  ndfault.py hog PORT ADDR SECONDS            a loop of small dumps from ADDR:20024
  ndfault.py session-loop PORT NET SECONDS    HERALD, data, FINISHED from many ports
  ndfault.py heralds PORT NET N               one HERALD (and data) from N addresses
  ndfault.py announce PORT NET FIRST N        Linux crash announcements from N addresses
  ndfault.py bounce PORT ADDR OUT N           N packets, every ack refused (ICMP)

Every command speaks netdump by hand over UDP to 127.0.0.1:PORT, checks
what is (and is not) answered, and exits non-zero with "FAIL: ..." on the
first failed check. OUT receives the vmcore bytes the real client sent.
"""
import argparse
import json
import os
import random
import resource
import select
import socket
import struct
import sys
import time

HERALD, FINISHED, VMCORE, KDH, EKCD_KEY = 1, 2, 3, 4, 5
HDR = struct.Struct(">IIQII")
SERVER = "127.0.0.1"
CLIENT_PORT = 20024
PAYLOAD = 1448			# MTU 1500
CALL = 64 * 1024		# the kernel's data call


def die(what):
    print("ndfault.py: FAIL: " + what, file=sys.stderr, flush=True)
    sys.exit(1)


def note(what):
    print("ndfault.py: " + what, flush=True)


def msg(mtype, seq, off=0, payload=b"", length=None):
    if length is None:
        length = len(payload)
    return HDR.pack(mtype, seq, off, length, 0) + payload


def kdh(dumplength, keysize=0, hostname=b"ndfault", compression=0):
    """A valid v4 kernel dump header (big-endian, parity over the words)."""
    b = bytearray(512)
    b[0:20] = b"FreeBSD Kernel Dump".ljust(20, b"\0")
    b[20:32] = b"amd64".ljust(12, b"\0")
    struct.pack_into(">IIQQII", b, 32, 4, 2, dumplength, int(time.time()),
                     keysize, 4096)
    b[64:64 + len(hostname)] = hostname
    vs = b"FreeBSD 14.1-RELEASE ndfault.py\n"
    b[128:128 + len(vs)] = vs
    ps = b"ndfault.py panic"
    b[320:320 + len(ps)] = ps
    b[495] = compression	# 0 none, 1 gzip, 2 zstd
    struct.pack_into(">Q", b, 496, dumplength)
    x = 0
    for i in range(0, 508, 4):
        x ^= struct.unpack_from(">I", b, i)[0]
    struct.pack_into(">I", b, 508, x)
    return bytes(b)


def image(size, seed):
    """A memory-like image: random pages and zero pages."""
    rnd = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        n = min(4096, size - len(out))
        out += bytes(n) if rnd.random() < 0.3 else rnd.randbytes(n)
    return bytes(out)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Client:
    """The real client: 20024 on its own address, a kernel-like sender."""

    def __init__(self, addr, port, timeout=0.05, retries=100):
        self.addr = addr
        self.herald_port = port
        self.sport = None
        self.seq = 1
        self.timeout = timeout
        self.retries = retries
        self.sent_seqs = set()	# every seqno this client has sent
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((addr, CLIENT_PORT))

    def drain(self, wait, want=None):
        """Acks that arrive within wait seconds, as a list of seqnos; if
        want is given, returns as soon as all of it was acked."""
        got = []
        end = time.monotonic() + wait
        while True:
            if want is not None and want <= set(got):
                return got
            left = end - time.monotonic()
            r, _, _ = select.select([self.s], [], [], max(left, 0))
            if not r:
                return got
            data, src = self.s.recvfrom(65536)
            if len(data) != 4 or src[0] != SERVER:
                die("%s: odd reply %r from %s" % (self.addr, data, src))
            if self.sport is not None and src[1] != self.sport:
                die("%s: ack from port %d, not the session port %d"
                    % (self.addr, src[1], self.sport))
            seq = struct.unpack(">I", data)[0]
            if seq not in self.sent_seqs:
                die("%s: ack for seqno %d, which this client never sent "
                    "(a spoofed datagram was accepted)" % (self.addr, seq))
            got.append(seq)

    def herald(self, path=b""):
        seq = self.seq
        self.seq += 1
        self.sent_seqs.add(seq)
        for _ in range(self.retries):
            self.s.sendto(msg(HERALD, seq, 0, path),
                          (SERVER, self.herald_port))
            r, _, _ = select.select([self.s], [], [], 1.0)
            if r:
                data, src = self.s.recvfrom(65536)
                if data != struct.pack(">I", seq):
                    die("HERALD: odd reply %r" % data)
                self.sport = src[1]
                return self.sport
        die("%s: HERALD never acked" % self.addr)

    def packets(self, mtype, data, off0):
        """Cut a call into (seqno, datagram, offset, payload)."""
        out = []
        n = max(1, (len(data) + PAYLOAD - 1) // PAYLOAD)
        for i in range(n):
            p = data[i * PAYLOAD:(i + 1) * PAYLOAD]
            out.append((self.seq + i, msg(mtype, self.seq + i,
                        off0 + i * PAYLOAD, p), off0 + i * PAYLOAD, p))
        self.seq += n
        return out

    def call(self, mtype, data, off0=0, skip=(), before=None):
        """One call: send every packet, retransmit the unacked ones.
        skip: packet indexes never sent (the kernel believes them acked).
        before(pkts): runs before the first transmission."""
        if not self.try_call(mtype, data, off0, self.retries, skip, before):
            die("%s: packets of a call at offset %d never acked"
                % (self.addr, off0))

    def try_call(self, mtype, data, off0=0, rounds=3, skip=(), before=None):
        """One call that may go unanswered: True if every packet was acked
        within rounds transmissions, False if not (no retry after that)."""
        pkts = self.packets(mtype, data, off0)
        if before is not None:
            before(pkts)
        want = {p[0] for k, p in enumerate(pkts) if k not in skip}
        for _ in range(rounds):
            for seq, dgram, _, _ in pkts:
                if seq in want:
                    self.sent_seqs.add(seq)
                    self.s.sendto(dgram, (SERVER, self.sport))
            end = time.monotonic() + self.timeout
            while want and time.monotonic() < end:
                want -= set(self.drain(end - time.monotonic(), want))
            if not want:
                return True
        return False

    def finished(self):
        self.call(FINISHED, b"")

    def dump(self, body, call=CALL, before=None, skip=None):
        for off in range(0, len(body), call):
            sk = skip(off) if skip else ()
            self.call(VMCORE, body[off:off + call], off, sk, before)


# ------------------------------------------------------------------ dump

def forge_finished(a, c, body):
    """With --forge-finished: a before() hook that, before the second
    call, sends a KDH and a FINISHED forged (IP_HDRINCL) from the
    client's own address and port to its session's port, as anyone can
    (the port is found by trying them all); with --forge-seqno, messages
    numbered far ahead and a FINISHED numbered next after them; with
    --forge-walk, numbers walked up within reach, then FINISHED; with
    --forge-far OFF, the image's byte at OFF. None without any."""
    if (not a.forge_finished and not a.forge_seqno and not a.forge_walk
            and a.forge_far is None):
        return None
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    calls = [0]
    first = []

    def before(pkts):
        calls[0] += 1
        if calls[0] == 1:
            first.append(pkts[0])
        if calls[0] == 2 and a.forge_far is not None:
            # One byte far ahead, the very byte the client will send
            # there (no conflict to see), numbered in the client's call.
            off = a.forge_far
            raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport,
                              msg(VMCORE, pkts[0][0], off,
                                  body[off:off + 1])), (SERVER, 0))
            time.sleep(0.2)
            note("forged one byte at %d to port %d" % (off, c.sport))
        elif calls[0] == 2 and a.forge_walk:
            # Numbers walked up 64 at a time, each in a copy of the
            # client's first packet (taken: the same bytes), then
            # FINISHED numbered next: every number within one call of
            # the last, as a kernel's are. With --forge-walk-fresh, each
            # in one byte new to the dump instead: the next bytes of the
            # stream (the very ones the client will send: no conflict).
            _, _, off0, p0 = first[0]
            seq = pkts[0][0] - 1	# the highest number taken so far
            for k in range(16):
                seq += 64
                m = msg(VMCORE, seq, off0, p0)
                if a.forge_walk_fresh:
                    off = pkts[0][2] + k
                    m = msg(VMCORE, seq, off, body[off:off + 1])
                raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport, m),
                           (SERVER, 0))
                c.sent_seqs.add(seq)
                time.sleep(0.005)
            if a.forge_walk_kdh is not None:
                # A valid KDH of its own (anyone can make one), and with
                # --forge-key, that many bytes of a key of its own.
                seq += 1
                raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport,
                                  msg(KDH, seq, 0, kdh(
                                      a.forge_walk_kdh,
                                      keysize=a.forge_keysize,
                                      compression=a.forge_compression))),
                           (SERVER, 0))
                c.sent_seqs.add(seq)
                time.sleep(0.005)
                if a.forge_key:
                    seq += 1
                    raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport,
                                      msg(EKCD_KEY, seq, 0,
                                          bytes(range(a.forge_key)))),
                               (SERVER, 0))
                    c.sent_seqs.add(seq)
                    time.sleep(0.005)
            raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport,
                              msg(FINISHED, seq + 1)), (SERVER, 0))
            c.sent_seqs.add(seq + 1)
            time.sleep(0.2)
            note("forged numbers walked to %d and FINISHED to port %d"
                 % (seq, c.sport))
        elif calls[0] == 2 and a.forge_seqno:
            # The forger picks the numbers: a VMCORE the server drops
            # (beyond max_dump_size), a copy of the client's first
            # packet (the same bytes: taken), then FINISHED numbered
            # next after them. A kernel never numbers 1000 past what it
            # had acked (debugnet_send sends 64 at most, then waits).
            x = c.seq + 1000
            _, _, off0, p0 = first[0]
            for m in (msg(VMCORE, x, 1 << 62, b"x"),
                      msg(VMCORE, x + 1, off0, p0),
                      msg(FINISHED, x + 2)):
                raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport, m),
                           (SERVER, 0))
            # Their acks reach the client too: not its own, not a fault.
            c.sent_seqs |= {x, x + 1, x + 2}
            time.sleep(0.2)
            note("forged numbers %d-%d and FINISHED to port %d"
                 % (x, x + 1, c.sport))
        elif calls[0] == 2:
            # A whole KDH first (anyone can make one), then FINISHED:
            # neither numbered next after what the client sent.
            for m in (msg(KDH, c.seq - 1, 0, kdh(1 << 20)),
                      msg(FINISHED, c.seq - 1)):
                raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport, m),
                           (SERVER, 0))
            note("forged a KDH and a FINISHED to port %d" % c.sport)
    return before


def repeat_first(a, c):
    """With --repeat S: a before() hook that, before the second call,
    sends a copy of the first packet (acked already: nothing new, as a
    kernel's resend after a lost ack) every 0.25 s for S seconds. None
    without it."""
    if not a.repeat:
        return None
    calls = [0]
    first = []

    def before(pkts):
        calls[0] += 1
        if calls[0] == 1:
            first.append(pkts[0][1])
        elif calls[0] == 2:
            end = time.monotonic() + a.repeat
            while time.monotonic() < end:
                c.s.sendto(first[0], (SERVER, c.sport))
                c.drain(0.25)
            note("repeated the first packet for %g s" % a.repeat)
    return before


def cmd_dump(a):
    """A dump with the defects the options ask for."""
    body = image(a.size, a.seed)
    c = Client(a.addr, a.port, a.timeout, a.retries)
    # netdump_start() in sys/netinet/netdump/netdump_client.c sends the
    # path with its NUL (strlen + 1), or nothing.
    c.herald(a.path.encode() + b"\0" if a.path else b"")
    if a.forge_first or a.forge_first_kdh:
        # FINISHED forged before any data, numbered next after the
        # HERALD: a kernel's HERALD is number 1 (debugnet_connect()
        # in sys/net/debugnet.c), so anyone can number it right. With
        # --forge-first-kdh, a valid KDH announcing nothing before it.
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                            socket.IPPROTO_RAW)
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        seq = c.seq
        if a.forge_first_kdh:
            raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport,
                              msg(KDH, seq, 0, kdh(0))), (SERVER, 0))
            c.sent_seqs.add(seq)
            seq += 1
        raw.sendto(forged(c.addr, CLIENT_PORT, SERVER, c.sport,
                          msg(FINISHED, seq)), (SERVER, 0))
        c.sent_seqs.add(seq)	# its ack reaches the client too
        time.sleep(0.5)
        note("forged FINISHED %d before the data to port %d"
             % (seq, c.sport))
    if a.wait_for:
        # Heralded and held until the test says go: its dump begins after
        # whatever the test does in between.
        note("heralded; waiting for %s" % a.wait_for)
        end = time.monotonic() + 60
        while not os.path.exists(a.wait_for):
            if time.monotonic() > end:
                die("%s never appeared" % a.wait_for)
            time.sleep(0.01)
    if a.think:
        # A kernel gets ready to write between the HERALD and the data
        # (and a remote one is a round trip away).
        time.sleep(a.think / 1000)
    holes = []
    for h in a.hole or []:
        s, e = (int(x) for x in h.split("-"))
        holes.append((s, e))

    def skip(off):
        # Packets wholly inside a hole are never sent.
        out = set()
        for k in range(0, (min(CALL, a.size - off) + PAYLOAD - 1) // PAYLOAD):
            ps = off + k * PAYLOAD
            pe = min(ps + PAYLOAD, off + CALL, a.size)
            if any(s <= ps and pe <= e for s, e in holes):
                out.add(k)
        return out

    if a.key_first and a.key_bytes:
        c.call(EKCD_KEY, random.Random(a.seed + 1).randbytes(a.key_bytes))
    if not a.no_data and a.late:
        # Calls within [s, e) go last, after everything beyond them: what
        # arrives behind the point where the stream has moved on.
        s, e = (int(x) for x in a.late.split("-"))
        late = [off for off in range(0, a.size, CALL) if s <= off < e]
        for off in range(0, a.size, CALL):
            if off not in late:
                c.call(VMCORE, body[off:off + CALL], off, skip(off))
            if off == a.late_after:
                # Right behind a call that jumped past them: they reach
                # the server while the stream still holds back the hole
                # it skipped, in a block not yet whole.
                for loff in late:
                    c.call(VMCORE, body[loff:loff + CALL], loff,
                           skip(loff))
                late = []
        for off in late:
            c.call(VMCORE, body[off:off + CALL], off, skip(off))
    elif not a.no_data:
        hooks = [h for h in (forge_finished(a, c, body), repeat_first(a, c))
                 if h is not None]
        c.dump(body, skip=skip,
               before=(lambda pkts: [h(pkts) for h in hooks]) if hooks
               else None)
    if not a.no_kdh:
        dl = a.dumplength if a.dumplength is not None else a.size
        c.call(KDH, kdh(dl, a.keysize, compression=a.compression))
    if not a.key_first and a.key_bytes:
        c.call(EKCD_KEY, random.Random(a.seed + 1).randbytes(a.key_bytes))
    if not a.no_finished:
        c.finished()
    if a.late_copy and not a.no_data:
        # The network's copy of the first data message (numbered 2, after
        # the HERALD), delivered after all the rest.
        c.s.sendto(msg(VMCORE, 2, 0, body[:PAYLOAD]), (SERVER, c.sport))
    with open(a.out, "wb") as f:
        f.write(b"" if a.no_data else body)
    if a.gaps_out:
        # The ranges never sent, merged, as the manifest lists its gaps.
        gaps = []
        for off in range(0, a.size, CALL):
            for k in sorted(skip(off)):
                ps = off + k * PAYLOAD
                pe = min(ps + PAYLOAD, off + CALL, a.size)
                if gaps and gaps[-1][1] == ps:
                    gaps[-1][1] = pe
                else:
                    gaps.append([ps, pe])
        dl = a.dumplength if a.dumplength is not None else a.size
        if a.no_data:
            gaps = [[0, dl]] if dl else []
        elif dl > a.size:
            if gaps and gaps[-1][1] == a.size:
                gaps[-1][1] = dl
            else:
                gaps.append([a.size, dl])
        with open(a.gaps_out, "w") as f:
            json.dump(gaps, f)
    note("dump from %s: %d bytes, holes %s, sent" % (a.addr, a.size, holes))


# ------------------------------------------------------------------ herald flood

def cmd_herald_flood(a):
    """HERALDs from N addresses 127.NET.b.c:20024, as fast as we can, for
    SECONDS; never any data. Prints a JSON summary."""
    raise_nofile()
    socks = []
    for i in range(a.n):
        addr = "127.%d.%d.%d" % (a.net, 1 + i // 250, 1 + i % 250)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as e:
            # Out of file descriptors: flood from as many as we have.
            print("ndfault.py: herald-flood: %d addresses only: %s" % (i, e),
                  file=sys.stderr)
            break
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setblocking(False)
        s.bind((addr, CLIENT_PORT))
        socks.append(s)
    if len(socks) < 256:
        die("herald-flood: could open only %d sockets" % len(socks))
    dgram = msg(HERALD, 1, 0, b"")
    sent = acks = errors = 0
    rounds = 0
    end = time.monotonic() + a.seconds
    start = time.monotonic()
    while time.monotonic() < end:
        rounds += 1
        for s in socks:
            if a.rate:
                # Paced: the next HERALD is due at start + sent / rate.
                due = start + sent / a.rate
                now = time.monotonic()
                if now >= end:
                    break
                if due > now:
                    time.sleep(due - now)
            try:
                s.sendto(dgram, (SERVER, a.port))
                sent += 1
            except OSError:
                errors += 1
        for s in socks:
            while True:
                try:
                    s.recv(64)
                    acks += 1
                except BlockingIOError:
                    break
                except OSError:
                    break
    for s in socks:
        s.close()
    print(json.dumps({"addresses": len(socks), "rounds": rounds, "sent": sent,
                      "acks": acks, "send_errors": errors}), flush=True)


# ------------------------------------------------------------------ session flood

def session_attackers(net, client_addr):
    """Sockets that are not the client: its address at other ports, other
    addresses at 20024 and at ephemeral ports."""
    out = []
    for addr, port in ((client_addr, 0), (client_addr, CLIENT_PORT + 1),
                       ("127.0.%d.2" % net, CLIENT_PORT),
                       ("127.0.%d.3" % net, 0),
                       ("127.0.%d.9" % net, CLIENT_PORT)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setblocking(False)
        s.bind((addr, port))
        out.append(s)
    return out


def assert_unanswered(socks, what):
    time.sleep(0.2)
    for s in socks:
        while True:
            try:
                data, src = s.recvfrom(65536)
            except BlockingIOError:
                break
            except OSError:
                # An ICMP error on a socket is no answer from the server.
                continue
            die("%s: %s was answered: %r from %s"
                % (what, s.getsockname(), data, src))


def cmd_session_flood(a):
    rnd = random.Random(a.seed)
    body = image(a.size, a.seed)
    c = Client("127.0.%d.1" % a.net, a.port)
    sport = c.herald()
    note("HERALD acked from session port %d" % sport)
    atk = session_attackers(a.net, c.addr)
    per_call = max(1, a.count // ((a.size + CALL - 1) // CALL))
    stats = {"random": 0, "wellformed": 0}

    def flood(pkts):
        # Random datagrams and the coming packets, well-formed, with their
        # seqnos and offsets and other bytes, before the client sends them.
        for k in range(per_call):
            s = atk[k % len(atk)]
            n = rnd.randrange(0, 1600)
            try:
                s.sendto(rnd.randbytes(n), (SERVER, sport))
                stats["random"] += 1
            except OSError:
                pass
        for seq, _, off, p in pkts:
            s = atk[seq % len(atk)]
            fake = msg(VMCORE, seq, off, bytes(x ^ 0x5a for x in p))
            try:
                s.sendto(fake, (SERVER, sport))
                stats["wellformed"] += 1
            except OSError:
                pass
        fin = msg(FINISHED, pkts[-1][0] + 1)
        atk[0].sendto(fin, (SERVER, sport))
        # Anything the server acked now would reach the client first.
        c.drain(0.002)

    c.dump(body, before=flood)
    assert_unanswered(atk, "a flooding socket")
    for s in atk:
        s.sendto(msg(KDH, c.seq, 0, kdh(a.size, hostname=b"spoofed")),
                 (SERVER, sport))
    c.drain(0.1)
    c.call(KDH, kdh(a.size))
    c.finished()
    assert_unanswered(atk, "a flooding socket")
    with open(a.out, "wb") as f:
        f.write(body)
    note("dump of %d bytes complete; %d random and %d well-formed datagrams "
         "from %d other sockets: none answered"
         % (a.size, stats["random"], stats["wellformed"], len(atk)))


# ------------------------------------------------------------------ spoof

def cmd_spoof(a):
    """A spoofer at 127.0.NET.9 (20024 and another port) sends valid
    messages for the client's session: same seqnos, same offsets, other
    bytes; its own KDH, key and FINISHED; before the client's data, in the
    middle and after the end. None may be answered or stored."""
    body = image(a.size, a.seed)
    c = Client("127.0.%d.1" % a.net, a.port)
    sport = c.herald()
    sp = []
    for port in (CLIENT_PORT, 0):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setblocking(False)
        s.bind(("127.0.%d.9" % a.net, port))
        sp.append(s)

    def spoof(dgram):
        for s in sp:
            s.sendto(dgram, (SERVER, sport))

    # Before any data: a whole spoofed first call would start the dump.
    first = c.seq
    for i in range(0, CALL, PAYLOAD):
        spoof(msg(VMCORE, first + i // PAYLOAD, i,
                  b"\xee" * min(PAYLOAD, CALL - i)))
    spoof(msg(KDH, first, 0, kdh(a.size, hostname=b"spoofed")))
    spoof(msg(EKCD_KEY, first, 0, b"\x01" * 256))
    c.drain(0.3)
    assert_unanswered(sp, "spoofed data before the first real data")

    def before(pkts):
        for seq, _, off, p in pkts:
            spoof(msg(VMCORE, seq, off, b"\xee" * len(p)))
        spoof(msg(FINISHED, pkts[-1][0] + 1))
        c.drain(0.005)

    c.dump(body, before=before)
    assert_unanswered(sp, "spoofed data and FINISHED during the dump")
    spoof(msg(KDH, c.seq, 0, kdh(a.size // 2, keysize=256,
                                 hostname=b"spoofed")))
    c.drain(0.2)
    c.call(KDH, kdh(a.size))
    spoof(msg(FINISHED, c.seq))
    c.drain(0.2)
    c.finished()
    # After the end (the session lingers to re-ack FINISHED).
    spoof(msg(VMCORE, c.seq, 0, b"\xee" * PAYLOAD))
    spoof(msg(FINISHED, c.seq))
    c.drain(0.3)
    assert_unanswered(sp, "spoofed data and FINISHED after the end")
    with open(a.out, "wb") as f:
        f.write(body)
    note("%d bytes sent by the client; 127.0.%d.9 spoofed every packet, "
         "KDH, key and FINISHED: never answered" % (a.size, a.net))


# ------------------------------------------------------------------ check

def cmd_check(a):
    """The stored vmcore equals the sent image outside the manifest's gaps
    and reads as zeros inside them; a gap may run past the end of the file
    (a tail that never arrived), the file never past the image."""
    stored = open(a.stored, "rb").read()
    sent = open(a.sent, "rb").read()
    gaps = json.load(open(a.manifest))["coverage"]["gaps"]
    if len(stored) > len(sent):
        die("stored %d bytes, more than the %d sent" % (len(stored), len(sent)))
    pos = 0
    for start, end in gaps:
        if not pos <= start < end:
            die("bad gap [%d, %d)" % (start, end))
        end = min(end, len(stored))
        start = min(start, len(stored))
        if stored[pos:start] != sent[pos:start]:
            die("bytes differ in [%d, %d)" % (pos, start))
        if stored[start:end] != bytes(end - start):
            die("gap [%d, %d) is not zeros" % (start, end))
        pos = end
    if stored[pos:] != sent[pos:len(stored)]:
        die("bytes differ after offset %d" % pos)
    note("check: %d bytes as sent outside %d gaps" % (len(stored), len(gaps)))


# ------------------------------------------------------------------ far

def cmd_far(a):
    """HERALD, one byte of vmcore at OFFSET (a few rounds; it may go
    unanswered), FINISHED. Prints whether the byte was acked."""
    c = Client(a.addr, a.port, a.timeout, a.retries)
    c.herald()
    acked = c.try_call(VMCORE, bytes([a.byte]), a.offset, a.rounds)
    c.finished()
    print(json.dumps({"offset": a.offset, "acked": acked}), flush=True)


# ------------------------------------------------------------------ fragments

def cmd_fragments(a):
    """1-byte VMCORE pieces at TOP, TOP - STEP, ... 0, each its own
    message, WINDOW at a time, each window resent until acked. Stops at
    the first window the server leaves unanswered for ROUNDS rounds (with
    --finished, sends FINISHED if none was). OUT gets {"sent": n,
    "acked": [[offset, byte], ...], "stopped": ..., "finished": ...}."""
    c = Client(a.addr, a.port, a.timeout, a.retries)
    c.herald()
    offs = list(range(a.top, -1, -a.step))
    acked = []
    sent = 0
    stopped = False
    t0 = time.monotonic()
    for i in range(0, len(offs), a.window):
        want = {}
        for off in offs[i:i + a.window]:
            b = 1 + (off // a.step) % 255
            want[c.seq] = (off, b, msg(VMCORE, c.seq, off, bytes([b])))
            c.sent_seqs.add(c.seq)
            c.seq += 1
        sent += len(want)
        for _ in range(a.rounds):
            for seq in sorted(want):
                c.s.sendto(want[seq][2], (SERVER, c.sport))
            end = time.monotonic() + a.timeout
            while want and time.monotonic() < end:
                for seq in c.drain(end - time.monotonic(), set(want)):
                    if seq in want:
                        acked.append(want.pop(seq)[:2])
            if not want:
                break
        if want:
            stopped = True
            break
    finished = False
    if not stopped and a.finished:
        finished = c.try_call(FINISHED, b"", 0, a.rounds)
    with open(a.out, "w") as f:
        json.dump({"sent": sent, "acked": acked, "stopped": stopped,
                   "finished": finished}, f)
    note("fragments from %s: %d sent, %d acked, %s after %.1f s"
         % (a.addr, sent, len(acked),
            "then no more answers" if stopped else "all answered",
            time.monotonic() - t0))


# ------------------------------------------------------------------ conflict

def cmd_conflict(a):
    """A dump whose sender contradicts itself; OUT gets the vmcore bytes
    the server must keep (the first copy of everything).
      data      packet 1 (offset 1448) again, other bytes, after the
                first call: acked, the first copy stays
      same      packet 1 again with the same bytes, and the KDH twice:
                a retransmission, no conflict
      kdh       KDH compression = zstd: a KDH saying dumplength 4096,
                then the real one (both acked)
      key       an encrypted dump whose 256-byte key comes twice, the
                second time with other bytes (OUT.key: the first)"""
    body = image(a.size, a.seed)
    c = Client(a.addr, a.port, a.timeout, a.retries)
    c.herald()
    comp = 0
    keysize = 0
    if a.case == "key":
        keysize = 256
        rnd = random.Random(a.seed + 1)
        key = rnd.randbytes(keysize)
        with open(a.out + ".key", "wb") as f:
            f.write(key)
        c.call(EKCD_KEY, key)
        c.call(EKCD_KEY, rnd.randbytes(keysize))
    first = body[:CALL]
    c.call(VMCORE, first, 0)
    if a.case in ("data", "same"):
        p = body[PAYLOAD:2 * PAYLOAD]
        if a.case == "data":
            p = bytes(x ^ 0xa5 for x in p)
        if not c.try_call(VMCORE, p, PAYLOAD, 5):
            die("the second copy of offset %d was not acked" % PAYLOAD)
    for off in range(CALL, len(body), CALL):
        c.call(VMCORE, body[off:off + CALL], off)
    if a.case == "kdh":
        comp = 2
        c.call(KDH, kdh(4096, hostname=b"forged", compression=comp))
    c.call(KDH, kdh(a.size, keysize, compression=comp))
    if a.case == "same":
        c.call(KDH, kdh(a.size, keysize, compression=comp))
    c.finished()
    with open(a.out, "wb") as f:
        f.write(body)
    note("conflict %s from %s: %d bytes, every message acked"
         % (a.case, a.addr, a.size))


# ------------------------------------------------------------------ spoof-herald

def udp_checksum(src, dst, udp):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
        ">BBH", 0, socket.IPPROTO_UDP, len(udp))
    data = pseudo + udp + (b"\0" if len(udp) % 2 else b"")
    x = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while x >> 16:
        x = (x & 0xffff) + (x >> 16)
    x = ~x & 0xffff
    return x or 0xffff


def forged(src, sport, dst, dport, payload):
    """An IPv4/UDP datagram from src:sport, header and all (IP_HDRINCL)."""
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    udp = udp[:6] + struct.pack(">H", udp_checksum(src, dst, udp)) + udp[8:]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp),
                     random.randrange(1, 65536), 0, 64, socket.IPPROTO_UDP,
                     0, socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp


def cmd_spoof_herald(a):
    """N HERALDs forged from ADDR:20024 (a raw socket writes the IP
    header), INTERVAL seconds apart. With --probe P, first one forged from
    P:20024, where a socket listens: its ack proves that forged HERALDs
    reach the server as HERALDs from that address."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    if a.probe:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.probe, CLIENT_PORT))
        for _ in range(10):
            raw.sendto(forged(a.probe, CLIENT_PORT, SERVER, a.port,
                              msg(HERALD, 4242)), (SERVER, 0))
            r, _, _ = select.select([s], [], [], 0.5)
            if r:
                data, src = s.recvfrom(64)
                if data != struct.pack(">I", 4242):
                    die("probe: odd answer %r" % data)
                break
        else:
            die("probe: a HERALD forged from %s:%d was never answered"
                % (a.probe, CLIENT_PORT))
        s.close()
        note("probe: a HERALD forged from %s:%d was answered"
             % (a.probe, CLIENT_PORT))
    path = a.path.encode() + b"\0" if a.path else b""
    for i in range(a.n):
        raw.sendto(forged(a.addr, a.sport + i % a.ports, a.dst, a.port,
                          msg(HERALD, a.seqno + i, 0, path)), (a.dst, 0))
        if a.interval > 0:
            time.sleep(a.interval)
    note("%d HERALDs forged from %s:%d (%d ports on) to %s"
         % (a.n, a.addr, a.sport, a.ports, a.dst))


# ------------------------------------------------------------------ announce

def cmd_announce(a):
    """Crash announcements of Red Hat's protocol (REPLY_START_NETDUMP, as
    the RHEL 4 kernel's drivers/net/netdump.c sends it once a second
    until answered: "task_struct:0x... page_offset:0x..." and, from a
    kernel set up for secure mode, "netdump_magic:0x...") to the Linux
    port at PORT, from 127.0.NET.FIRST to FIRST + N - 1, port SPORT,
    ROUNDS times INTERVAL apart. With --raw they are forged (IP_HDRINCL),
    so that they can claim an address and port that a live client
    holds. With --hello each is an unasked HELLO reply instead."""
    text = b"task_struct:0xffff81003f5a87f0 page_offset:0xffff810000000000"
    if a.magic:
        text += b" netdump_magic:0x" + a.magic.encode()
    # version 4, machine EM_X86_64 (62), REPLY_START_NETDUMP (8), info
    payload = struct.pack(">BIII", 4, 62, 8, 5) + text + b"\n"
    if a.hello:
        # Not an announcement: a HELLO reply (5) nobody asked for,
        # request number 0, the least a client's address can send.
        payload = struct.pack(">BIII", 5, 0, 5, 0)
    addrs = ["127.0.%d.%d" % (a.net, a.first + i) for i in range(a.n)]
    if a.raw:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                            socket.IPPROTO_RAW)
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)

        def send(addr, what=payload):
            raw.sendto(forged(addr, a.sport, SERVER, a.port, what),
                       (SERVER, 0))
    else:
        socks = {}
        for addr in addrs:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, a.sport))
            socks[addr] = s

        def send(addr, what=payload):
            socks[addr].sendto(what, (SERVER, a.port))
    for r in range(a.rounds):
        for addr in addrs:
            send(addr)
        if r + 1 < a.rounds:
            time.sleep(a.interval)
    if a.guess:
        # Blind: HELLO replies with every request number up to GUESS,
        # as one who cannot see the server's HELLO would answer it.
        time.sleep(0.3)
        for addr in addrs:
            for nr in range(1, a.guess + 1):
                send(addr, struct.pack(">BIII", 5, nr, 5, 0))
    note("%d announcements from %d addresses%s%s" % (a.rounds * a.n, a.n,
         " (forged)" if a.raw else "",
         ", HELLO replies numbered 1-%d" % a.guess if a.guess else ""))


def cmd_reserved(a):
    """A blind forger of page replies in Red Hat's protocol: REPLY_RESERVED
    (5) "this frame is not RAM, and no RAM follows" (info 0), forged
    (IP_HDRINCL) from ADDR:SPORT, with request numbers 0 to N - 1, over
    and over for SECONDS. The RHEL 4 client answers a page request with
    the request's own nr and takes the frame from its "from"
    (drivers/net/netdump.c, send_netdump_mem), so a server whose nr is
    the frame number lets anyone who knows the client's address answer
    for frames it has not sent yet."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    dgrams = [forged(a.addr, a.sport, SERVER, a.port,
                     struct.pack(">BIII", 4, nr, 4, 0))
              for nr in range(a.n)]
    end = time.monotonic() + a.seconds
    sent = 0
    while time.monotonic() < end:
        for d in dgrams:
            raw.sendto(d, (SERVER, 0))
        sent += len(dgrams)
    note("%d REPLY_RESERVED forged from %s:%d, numbered 0-%d"
         % (sent, a.addr, a.sport, a.n - 1))


def cmd_bounce(a):
    """A client whose host refuses the server's acks: its HERALD is
    answered, then its socket is connected elsewhere, so that every ack
    from the session port comes back as ICMP port unreachable (a host
    that rebooted, a NAT mapping that went) while N data packets go on,
    3 ms apart (the kernel rate-limits its ICMP errors; paced, each ack
    gets one). Then the client is gone. OUT receives the bytes sent."""
    c = Client(a.addr, a.port)
    sport = c.herald()
    c.s.connect((SERVER, 9))
    body = image(a.n * PAYLOAD, a.seed)
    for i in range(a.n):
        off = i * PAYLOAD
        c.s.sendto(msg(VMCORE, c.seq, off, body[off:off + PAYLOAD]),
                   (SERVER, sport))
        c.seq += 1
        time.sleep(0.003)
    with open(a.out, "wb") as f:
        f.write(body)
    note("%d packets from %s to session port %d, every ack refused"
         % (a.n, a.addr, sport))


# ------------------------------------------------------------------ hog

def exchange(s, dest, dgrams, timeout, rounds):
    """Send {seqno: datagram} from s until each is acked on s (rounds at
    most); acks for other seqnos (an earlier session's) are ignored. The
    port that answered, or None if not all were acked."""
    want = dict(dgrams)
    port = None
    for _ in range(rounds):
        for seq in sorted(want):
            s.sendto(want[seq], dest)
        end = time.monotonic() + timeout
        while want:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            try:
                data, src = s.recvfrom(64)
            except OSError:
                continue
            if len(data) == 4:
                seq = struct.unpack(">I", data)[0]
                if seq in want:
                    del want[seq]
                    port = src[1]
        if not want:
            return port
    return None


def cmd_hog(a):
    """For SECONDS, from ADDR:20024, one small dump after another as fast
    as the server answers: HERALD (again every HERALD_WAIT until
    answered), NPKT data packets, a KDH, FINISHED; each a new dump. Prints a
    JSON summary."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, CLIENT_PORT))
    seq = 1000
    st = {"heralds": 0, "answered": 0, "data_acked": 0, "finished": 0}
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        seq += 1
        st["heralds"] += 1
        sport = exchange(s, (SERVER, a.port), {seq: msg(HERALD, seq)},
                         a.herald_wait, 1)
        if sport is None:
            continue
        st["answered"] += 1
        pk = {}
        for k in range(a.npkt):
            seq += 1
            pk[seq] = msg(VMCORE, seq, k * PAYLOAD, bytes([k + 1]) * PAYLOAD)
        if exchange(s, (SERVER, sport), pk, 0.05, 3) is not None:
            st["data_acked"] += 1
        # A whole dump (its KDH announces what was sent), so that its
        # FINISHED, numbered next, ends it at once.
        seq += 1
        exchange(s, (SERVER, sport),
                 {seq: msg(KDH, seq, 0, kdh(a.npkt * PAYLOAD))}, 0.05, 3)
        seq += 1
        if exchange(s, (SERVER, sport), {seq: msg(FINISHED, seq)}, 0.05,
                    3) is not None:
            st["finished"] += 1
    print(json.dumps(st), flush=True)


# ------------------------------------------------------------------ session-loop

def cmd_session_loop(a):
    """For SECONDS, RATE sessions a second from NADDR addresses
    127.0.NET.FIRST.. in turn: a HERALD, one data message, a KDH and
    FINISHED, all from a new ephemeral port (as a kernel behind a NAT that
    gives each session a port of its own; the server answers the port the
    HERALD came from). Each HERALD port makes a new session, and each session a
    socket on the server. Prints a JSON summary."""
    raise_nofile()
    addrs = ["127.0.%d.%d" % (a.net, a.first + i) for i in range(a.naddr)]
    st = {"sessions": 0, "answered": 0, "data_acked": 0, "finished": 0}
    start = time.monotonic()
    end = start + a.seconds
    k = 0
    while True:
        due = start + k / a.rate
        now = time.monotonic()
        if now >= end:
            break
        if due > now:
            time.sleep(due - now)
        addr = addrs[k % len(addrs)]
        h = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        h.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        h.bind((addr, 0))
        seq = 1 + 4 * k
        k += 1
        st["sessions"] += 1
        sport = exchange(h, (SERVER, a.port), {seq: msg(HERALD, seq)}, 0.1, 2)
        if sport is not None:
            st["answered"] += 1
            if exchange(h, (SERVER, sport), {seq + 1: msg(
                    VMCORE, seq + 1, 0, b"\x42" * 512)}, 0.1, 2) is not None:
                st["data_acked"] += 1
            # Its KDH announces what was sent: a whole dump, so that its
            # FINISHED, numbered next, ends it at once.
            exchange(h, (SERVER, sport), {seq + 2: msg(
                KDH, seq + 2, 0, kdh(512))}, 0.1, 2)
            if exchange(h, (SERVER, sport), {seq + 3: msg(FINISHED, seq + 3)},
                        0.1, 2) is not None:
                st["finished"] += 1
        h.close()
    st["seconds"] = round(time.monotonic() - start, 1)
    print(json.dumps(st), flush=True)



# ------------------------------------------------------------------ heralds

def cmd_heralds(a):
    """One HERALD from each of N addresses 127.NET.b.c:20024 (from the
    FIRST-th on), GAP seconds apart; with --data one data message after
    the answer, with --finished FINISHED too, with --junk a runt, a
    message longer than its header says and one of an unknown type
    instead. Prints a JSON summary."""
    st = {"heralds": 0, "answered": 0, "data_acked": 0, "finished": 0,
          "junk": 0}
    keep = []
    for i in range(a.first, a.first + a.n):
        addr = "127.%d.%d.%d" % (a.net, 1 + i // 250, 1 + i % 250)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, CLIENT_PORT))
        st["heralds"] += 1
        sport = exchange(s, (SERVER, a.port), {1: msg(HERALD, 1)}, 0.2, 3)
        if sport is not None:
            st["answered"] += 1
            if a.junk:
                for j in (b"x", msg(VMCORE, 2, 0, b"zz", length=1),
                          msg(99, 3)):
                    s.sendto(j, (SERVER, sport))
                    st["junk"] += 1
            if a.data and exchange(s, (SERVER, sport), {2: msg(
                    VMCORE, 2, 0, b"\x42" * PAYLOAD)}, 0.2, 5) is not None:
                st["data_acked"] += 1
            if a.finished and exchange(s, (SERVER, sport), {3: msg(
                    FINISHED, 3)}, 0.2, 5) is not None:
                st["finished"] += 1
        s.close()
        time.sleep(a.gap)
    print(json.dumps(st), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("stored")
    c.add_argument("sent")
    c.add_argument("manifest")
    d = sub.add_parser("dump")
    d.add_argument("port", type=int)
    d.add_argument("addr")
    d.add_argument("out")
    d.add_argument("--size", type=int, default=1 << 20)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--dumplength", type=int)
    d.add_argument("--keysize", type=int, default=0,
                   help="dumpkeysize in the KDH")
    d.add_argument("--key-bytes", type=int, default=0,
                   help="how many key bytes to send")
    d.add_argument("--key-first", action="store_true")
    d.add_argument("--compression", type=int, default=0,
                   help="KDH compression: 0 none, 1 gzip, 2 zstd")
    d.add_argument("--hole", action="append",
                   help="START-END: packets inside are never sent")
    d.add_argument("--late",
                   help="START-END: calls starting inside are sent last")
    d.add_argument("--late-after", type=int, default=-1,
                   help="OFF: send the --late calls right after the call "
                   "at OFF instead")
    d.add_argument("--no-data", action="store_true")
    d.add_argument("--no-kdh", action="store_true")
    d.add_argument("--no-finished", action="store_true")
    d.add_argument("--late-copy", action="store_true",
                   help="after FINISHED, a copy of the first data message")
    d.add_argument("--forge-finished", action="store_true",
                   help="forge a FINISHED from the client before call 2")
    d.add_argument("--forge-far", type=int, metavar="OFF",
                   help="before call 2, forge the image's byte at OFF")
    d.add_argument("--forge-first", action="store_true",
                   help="after the HERALD, forge a FINISHED numbered next")
    d.add_argument("--forge-walk", action="store_true",
                   help="before call 2, forge messages numbered up 64 at a "
                   "time and a FINISHED numbered next after them")
    d.add_argument("--forge-walk-kdh", type=int, metavar="LEN",
                   help="with --forge-walk, a valid KDH announcing LEN "
                   "bytes before the FINISHED")
    d.add_argument("--forge-walk-fresh", action="store_true",
                   help="with --forge-walk, walk in bytes new to the dump")
    d.add_argument("--forge-compression", type=int, default=0,
                   help="the compression --forge-walk-kdh's KDH says")
    d.add_argument("--forge-keysize", type=int, default=0,
                   help="the key size --forge-walk-kdh's KDH says")
    d.add_argument("--forge-key", type=int, default=0, metavar="N",
                   help="with --forge-walk-kdh, forge N bytes of key after "
                   "the KDH")
    d.add_argument("--forge-first-kdh", action="store_true",
                   help="after the HERALD, forge a KDH announcing 0 "
                   "bytes and a FINISHED, numbered next")
    d.add_argument("--forge-seqno", action="store_true",
                   help="before call 2, forge messages numbered far ahead "
                   "and a FINISHED numbered next after them")
    d.add_argument("--gaps-out",
                   help="write the ranges never sent (JSON) to this file")
    d.add_argument("--path", default="", help="the HERALD's path")
    d.add_argument("--wait-for", metavar="FILE",
                   help="after the HERALD's ack, wait until FILE exists")
    d.add_argument("--repeat", type=float, default=0, metavar="S",
                   help="before call 2, resend the first packet every "
                   "0.25 s for S seconds")
    d.add_argument("--think", type=int, default=0,
                   help="ms between the HERALD's ack and the first data")
    d.add_argument("--timeout", type=float, default=0.05,
                   help="seconds per round before resending")
    d.add_argument("--retries", type=int, default=100)
    h = sub.add_parser("herald-flood")
    h.add_argument("port", type=int)
    h.add_argument("net", type=int)
    h.add_argument("seconds", type=float)
    h.add_argument("n", type=int)
    h.add_argument("--rate", type=float, default=0,
                   help="HERALDs per second (0: as fast as possible)")
    s = sub.add_parser("session-flood")
    s.add_argument("port", type=int)
    s.add_argument("net", type=int)
    s.add_argument("out")
    s.add_argument("size", type=int)
    s.add_argument("--count", type=int, default=10000)
    s.add_argument("--seed", type=int, default=7)
    f = sub.add_parser("spoof")
    f.add_argument("port", type=int)
    f.add_argument("net", type=int)
    f.add_argument("out")
    f.add_argument("size", type=int)
    f.add_argument("--seed", type=int, default=9)
    x = sub.add_parser("far")
    x.add_argument("port", type=int)
    x.add_argument("addr")
    x.add_argument("offset", type=int)
    x.add_argument("--byte", type=int, default=0x5a)
    x.add_argument("--rounds", type=int, default=3)
    x.add_argument("--timeout", type=float, default=0.2)
    x.add_argument("--retries", type=int, default=50)
    x = sub.add_parser("fragments")
    x.add_argument("port", type=int)
    x.add_argument("addr")
    x.add_argument("out")
    x.add_argument("--top", type=int, default=40000)
    x.add_argument("--step", type=int, default=2)
    x.add_argument("--window", type=int, default=64)
    x.add_argument("--finished", action="store_true")
    x.add_argument("--rounds", type=int, default=5)
    x.add_argument("--timeout", type=float, default=0.2)
    x.add_argument("--retries", type=int, default=50)
    x = sub.add_parser("conflict")
    x.add_argument("port", type=int)
    x.add_argument("addr")
    x.add_argument("out")
    x.add_argument("case", choices=("data", "same", "kdh", "key"))
    x.add_argument("--size", type=int, default=1 << 20)
    x.add_argument("--seed", type=int, default=5)
    x.add_argument("--timeout", type=float, default=0.05)
    x.add_argument("--retries", type=int, default=100)
    x = sub.add_parser("spoof-herald")
    x.add_argument("port", type=int)
    x.add_argument("addr")
    x.add_argument("n", type=int)
    x.add_argument("--interval", type=float, default=0.2)
    x.add_argument("--seqno", type=int, default=1)
    x.add_argument("--probe")
    x.add_argument("--path", help="the HERALD's path (default: none)")
    x.add_argument("--sport", type=int, default=CLIENT_PORT)
    x.add_argument("--ports", type=int, default=1,
                   help="HERALD i from port SPORT + i %% PORTS")
    x.add_argument("--dst", default=SERVER,
                   help="the server address it goes to")
    x = sub.add_parser("hog")
    x.add_argument("port", type=int)
    x.add_argument("addr")
    x.add_argument("seconds", type=float)
    x.add_argument("--npkt", type=int, default=4)
    x.add_argument("--herald-wait", type=float, default=0.02)
    x = sub.add_parser("session-loop")
    x.add_argument("port", type=int)
    x.add_argument("net", type=int)
    x.add_argument("seconds", type=float)
    x.add_argument("--rate", type=float, default=250)
    x.add_argument("--first", type=int, default=10)
    x.add_argument("--naddr", type=int, default=200)
    x = sub.add_parser("heralds")
    x.add_argument("port", type=int)
    x.add_argument("net", type=int)
    x.add_argument("n", type=int)
    x.add_argument("--first", type=int, default=0)
    x.add_argument("--gap", type=float, default=0.005)
    x.add_argument("--data", action="store_true")
    x.add_argument("--finished", action="store_true")
    x.add_argument("--junk", action="store_true")
    x = sub.add_parser("announce")
    x.add_argument("port", type=int)
    x.add_argument("net", type=int)
    x.add_argument("first", type=int)
    x.add_argument("n", type=int)
    x.add_argument("--sport", type=int, default=6666)
    x.add_argument("--magic")
    x.add_argument("--rounds", type=int, default=1)
    x.add_argument("--interval", type=float, default=1.0)
    x.add_argument("--raw", action="store_true")
    x.add_argument("--hello", action="store_true")
    x.add_argument("--guess", type=int, default=0, metavar="N",
                   help="then HELLO replies numbered 1 to N from each")
    x = sub.add_parser("reserved")
    x.add_argument("port", type=int)
    x.add_argument("addr")
    x.add_argument("n", type=int)
    x.add_argument("seconds", type=float)
    x.add_argument("--sport", type=int, default=6666)
    x = sub.add_parser("bounce")
    x.add_argument("port", type=int)
    x.add_argument("addr")
    x.add_argument("out")
    x.add_argument("n", type=int)
    x.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    {"bounce": cmd_bounce, "reserved": cmd_reserved, "check": cmd_check, "dump": cmd_dump, "herald-flood": cmd_herald_flood,
     "session-flood": cmd_session_flood, "spoof": cmd_spoof,
     "far": cmd_far, "fragments": cmd_fragments, "conflict": cmd_conflict,
     "spoof-herald": cmd_spoof_herald, "hog": cmd_hog,
     "session-loop": cmd_session_loop, "heralds": cmd_heralds,
     "announce": cmd_announce}[a.cmd](a)


if __name__ == "__main__":
    main()
