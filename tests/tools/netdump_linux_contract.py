#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""
The user-space Linux netdump client (client/netdump-linux.c) answers as
the RHEL 4 kernel's drivers/net/netdump.c does: a scripted server on
loopback drives it through every command and checks each reply's version
byte, nr, code, info and payload against that source, and the console
modes against netconsole's (RHEL 4 netlog: REPLY_LOG with the running
offset; mainline: Documentation/networking/netconsole.rst).

usage: netdump_linux_contract.py PATH/TO/netdump-linux
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile

CLIENT = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="nd-linux-contract.")
FAILS = 0

COMM = dict(NONE=0, SEND_MEM=1, EXIT=2, REBOOT=3, HELLO=4, GET_NR_PAGES=5,
            GET_PAGE_SIZE=6, START_NETDUMP_ACK=7, GET_REGS=8, SHOW_STATE=9)
REPLY = dict(ERROR=1, LOG=2, MEM=3, RESERVED=4, HELLO=5, NR_PAGES=6,
             PAGE_SIZE=7, START_NETDUMP=8, END_NETDUMP=9, REGS=10,
             SHOW_STATE=12)


def check(cond, what):
    global FAILS
    if cond:
        print("PASS: " + what)
    else:
        print("FAIL: " + what)
        FAILS += 1


class Server:
    def __init__(self, args):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        port = self.sock.getsockname()[1]
        self.proc = subprocess.Popen(
            [CLIENT, "-b", "127.0.0.1:0", "--start-interval", "200",
             "--timeout", "10"] + args + ["127.0.0.1:%d" % port])
        self.client = None
        self.nr = 100

    def recv(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            data, src = self.sock.recvfrom(4096)
        except socket.timeout:
            return None
        self.client = src
        ver, nr, code, info = struct.unpack(">BIII", data[:13])
        return ver, nr, code, info, data[13:]

    def request(self, command, frm=0, magic=0x1a2b3c4d5e6f7081, raw=None):
        self.nr += 1
        pkt = raw if raw is not None else struct.pack(
            ">QIIII", magic, self.nr, command, frm, 0)
        self.sock.sendto(pkt, self.client)
        return self.nr

    def ask(self, command, frm=0):
        nr = self.request(command, frm)
        return nr, self.recv()

    def wait(self):
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def session():
    image = os.path.join(TMP, "image")
    regs = os.path.join(TMP, "regs")
    s = Server(["--pages", "64", "--holes", "16-24", "--seed", "7",
                "--magic", "1a2b3c4d5e6f7081", "--image-out", image,
                "--regs-out", regs])
    ver, nr, code, info, text = s.recv()
    check((ver, nr, code, info) == (4, 62, REPLY["START_NETDUMP"], 5),
          "START: version byte 4, nr EM_X86_64 (62), info "
          "NETDUMP_VERSION_MAX (5)")
    check(text.startswith(b"task_struct:0x") and
          b" netdump_magic:0x1a2b3c4d5e6f7081\n" in text,
          "START text: task_struct, page_offset, the cookie (%r)" % text)
    # netdump_startup_handshake drops anything but the ACK and announces
    # again.
    s.request(COMM["HELLO"])
    r = s.recv()
    check(r is not None and r[2] == REPLY["START_NETDUMP"],
          "a request before the ACK is dropped; START comes again")
    s.request(COMM["START_NETDUMP_ACK"], frm=5)

    nr, r = s.ask(COMM["HELLO"])
    check(r == (5, nr, REPLY["HELLO"], 4,
                b"Hello, this is netdump version 0.04\n"),
          "HELLO: version 5 after the ACK, nr echoed, info 4, its text")
    nr, r = s.ask(COMM["GET_PAGE_SIZE"])
    check(r == (5, nr, REPLY["PAGE_SIZE"], 4096, b"PAGE_SIZE: 4096\n"),
          "GET_PAGE_SIZE: info 4096, 'PAGE_SIZE: 4096'")
    nr, r = s.ask(COMM["GET_NR_PAGES"])
    check(r == (5, nr, REPLY["NR_PAGES"], 64, b"Number of pages: 64\n"),
          "GET_NR_PAGES: info max pfn, 'Number of pages: 64'")
    nr, r = s.ask(COMM["GET_REGS"])
    want = open(regs, "rb").read()
    check(r is not None and r[2] == REPLY["REGS"] and r[3] == 56 and
          r[4] == b"Sending register info.\n" + want and len(want) == 216,
          "GET_REGS: info the RAM pages (64 - 8), the text, then 27 x 8 "
          "bytes of registers")
    nr, r = s.ask(COMM["SHOW_STATE"])
    stale = (b"Sending register info.\n" + want).split(b"\0")[0]
    check(r == (5, nr, REPLY["SHOW_STATE"], 0, stale),
          "SHOW_STATE carries the stale text buffer up to its first NUL")

    mem = open(image, "rb").read()
    nr = s.request(COMM["SEND_MEM"], 3)
    chunks = [s.recv() for _ in range(4)]
    check(all(c is not None and c[1] == nr and c[2] == REPLY["MEM"]
              for c in chunks) and [c[3] for c in chunks] ==
          [0, 1024, 2048, 3072] and b"".join(c[4] for c in chunks) ==
          mem[3 * 4096:4 * 4096],
          "SEND_MEM 3: four 1024-byte replies, info the offset, the image")
    nr, r = s.ask(COMM["SEND_MEM"], 17)
    check(r == (5, nr, REPLY["RESERVED"], 24, b""),
          "SEND_MEM of a hole: RESERVED, info the next RAM page (24)")
    nr, r = s.ask(COMM["SEND_MEM"], 64)
    check(r == (5, nr, REPLY["ERROR"], 0,
                b"page 00000040 is bigger than max page # 00000040!\n"),
          "SEND_MEM past the end: ERROR and the kernel's text")
    nr, r = s.ask(42)
    check(r == (5, nr, REPLY["ERROR"], 42, b"Got unknown command code 42!\n"),
          "an unknown command: ERROR, info the command")
    s.request(0, raw=struct.pack(">QIII", 1, 1, COMM["HELLO"], 0)[:23])
    check(s.recv(timeout=0.5) is None, "a 23-byte request is dropped")
    # Red Hat's client never checks the cookie of a request.
    nr = s.request(COMM["HELLO"], magic=0)
    r = s.recv()
    check(r is not None and r[1] == nr, "a request's magic is not checked")
    s.request(COMM["EXIT"])
    r = s.recv()
    check(r == (5, 0, REPLY["END_NETDUMP"], 0, b"NETDUMP end.\n"),
          "EXIT: END_NETDUMP, nr 0, 'NETDUMP end.'")
    check(s.wait() == 2, "exit status 2 after COMM_EXIT")
    return mem


def old_server():
    s = Server(["--pages", "8"])
    s.recv()
    s.request(COMM["START_NETDUMP_ACK"], frm=0)
    check(s.wait() == 3, "x86_64 reboots on an ACK with version 0")
    s = Server(["--pages", "8", "--i386"])
    r = s.recv()
    check(r is not None and r[1] == 3, "i386 announces EM_386 (3)")
    s.request(COMM["START_NETDUMP_ACK"], frm=0)
    nr, r = s.ask(COMM["GET_REGS"])
    check(r is not None and r[0] == 4 and len(r[4]) == 23 + 17 * 4,
          "i386 takes version 0 as 4 and sends 17 x 4 bytes of registers")
    s.request(COMM["REBOOT"])
    check(s.wait() == 0, "REBOOT: no reply, exit 0")


def faults():
    s = Server(["--pages", "8", "--dup", "1"])
    s.recv()
    s.recv()
    s.request(COMM["START_NETDUMP_ACK"], frm=5)
    nr, r = s.ask(COMM["HELLO"])
    again = s.recv(timeout=1)
    check(r is not None and again == r, "--dup 1: every reply twice")
    s.request(COMM["REBOOT"])
    s.wait()
    s = Server(["--pages", "8", "--loss", "1", "--timeout", "2"])
    check(s.recv(timeout=1) is None and s.wait() == 1,
          "--loss 1: nothing arrives, and the client gives up (exit 1)")


def dies():
    s = Server(["--pages", "8", "--die-after", "2"])
    s.recv()
    s.request(COMM["START_NETDUMP_ACK"], frm=5)
    for pfn in (0, 1, 2):
        s.request(COMM["SEND_MEM"], pfn)
    got = 0
    while s.recv(timeout=1) is not None:
        got += 1
    check(got == 8 and s.wait() == 4,
          "--die-after 2: two pages, then silence and exit 4")


def console():
    text = os.path.join(TMP, "console")
    with open(text, "w") as f:
        f.write("Linux version 2.6.9-89.ELsmp\n" + "x" * 40 + "\n"
                "Kernel panic - not syncing: Fatal exception\n")
    body = open(text, "rb").read()
    for fmt, chunk in (("netlog", "20"), ("plain", "1000"), ("ext", "16")):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(1)
        rc = subprocess.call([CLIENT, "-b", "127.0.0.1:0", "--console",
                              text, "--format", fmt, "--chunk", chunk,
                              "127.0.0.1:%d" % sock.getsockname()[1]])
        got = []
        try:
            while True:
                got.append(sock.recv(2048))
        except socket.timeout:
            pass
        if fmt == "netlog":
            offs = [struct.unpack(">BIII", g[:13]) for g in got]
            check(rc == 0 and all(o[0] == 4 and o[2] == REPLY["LOG"]
                                  for o in offs) and
                  [o[3] for o in offs] == list(range(0, len(body), 20)) and
                  b"".join(g[13:] for g in got) == body,
                  "netlog: REPLY_LOG, info the running offset, 20-byte "
                  "chunks that add up to the text")
        elif fmt == "plain":
            check(got == body.splitlines(keepends=True),
                  "plain netconsole: a datagram per line, as it is")
        else:
            xs = [g for g in got if g.startswith(b"6,1,")]
            check(got[0] == b"6,0,1000000,-,ncfrag=0/28;Linux version 2." and
                  len(got) == 8 and len(xs) == 3 and
                  xs[0] == b"6,1,1001000,-,ncfrag=0/40;" + b"x" * 16 and
                  xs[2] == b"6,1,1001000,-,ncfrag=32/40;" + b"x" * 8,
                  "ext: level,seq,usec,flag; each line a message, cut "
                  "in 16-byte ncfrag fragments")


session()
old_server()
faults()
dies()
console()
sys.exit(1 if FAILS else 0)
