#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""gapcheck.py STORED SENT MANIFEST [--need-data-gap]

The stored vmcore must equal the sent image everywhere except in the gaps
the manifest lists, and read as zeros inside them. STORED may be shorter
than SENT (a dump cut off), never longer. With --need-data-gap at least one
gap must hide non-zero bytes of the image.
"""
import json
import sys


def main():
    stored = open(sys.argv[1], "rb").read()
    sent = open(sys.argv[2], "rb").read()
    m = json.load(open(sys.argv[3]))
    need = "--need-data-gap" in sys.argv[4:]
    gaps = m["coverage"]["gaps"]
    if len(gaps) != m["coverage"]["gap_count"]:
        sys.exit("gapcheck: the manifest lists %d of %d gaps"
                 % (len(gaps), m["coverage"]["gap_count"]))
    if len(stored) > len(sent):
        sys.exit("gapcheck: stored %d bytes, more than the %d sent"
                 % (len(stored), len(sent)))
    pos = 0
    for start, end in gaps:
        if not pos <= start < end <= len(stored):
            sys.exit("gapcheck: bad gap [%d, %d)" % (start, end))
        if stored[pos:start] != sent[pos:start]:
            sys.exit("gapcheck: bytes differ in [%d, %d)" % (pos, start))
        if stored[start:end] != bytes(end - start):
            sys.exit("gapcheck: gap [%d, %d) is not zeros" % (start, end))
        pos = end
    if stored[pos:] != sent[pos:len(stored)]:
        sys.exit("gapcheck: bytes differ after offset %d" % pos)
    hidden = sum(1 for s, e in gaps if sent[s:e] != bytes(e - s))
    if need and hidden == 0:
        sys.exit("gapcheck: no gap hides non-zero data")
    print("gapcheck: %d bytes checked, %d gaps, %d of them hide data"
          % (len(stored), len(gaps), hidden))


if __name__ == "__main__":
    main()
