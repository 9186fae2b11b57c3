#!/usr/bin/env python3
"""pcap-variants.py CAPTURE OUTDIR N - writes N variants of a classic pcap capture (standard
library only; the same seed gives the same files): records longer than the file's snapshot
length, caplen above len, microseconds of a million or more, times past 2^31, nanosecond magic,
fields set to edge values, files cut short.  popflow reads classic pcap through libpcap and hands
a file to wiretap where the two would read it differently (src/capture.c): each variant must
read exactly as wiretap reads its gzip copy."""
import random
import struct
import sys


def records(b, e):
    out, off = [], 24
    while off + 16 <= len(b):
        cl = struct.unpack_from(e + "I", b, off + 8)[0]
        out.append(off)
        off += 16 + cl
    return out


def main():
    src, outdir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    base = open(src, "rb").read()
    e = "<" if base[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    rs = records(base, e)
    rnd = random.Random(1939)
    for k in range(n):
        m = bytearray(base)
        kind = k % 7
        if kind == 0:  # every longer record kept whole by wiretap, cut by libpcap
            struct.pack_into(e + "I", m, 16, 64)
        elif kind == 1:  # caplen above len
            off = rnd.choice(rs)
            struct.pack_into(e + "I", m, off + 12, max(0, struct.unpack_from(e + "I", m, off + 8)[0] - 9))
        elif kind == 2:  # microseconds of a million or more
            struct.pack_into(e + "I", m, rnd.choice(rs) + 4, rnd.choice([1000000, 2500000, 2**31 + 5]))
        elif kind == 3:  # a time past 2^31
            struct.pack_into(e + "I", m, rnd.choice(rs), 2**31 + rnd.randrange(1000))
        elif kind == 4:  # nanosecond magic: the same records read as nanoseconds
            m[0:4] = b"\x4d\x3c\xb2\xa1" if e == "<" else b"\xa1\xb2\x3c\x4d"
        elif kind == 5:  # edge values in the first records (wiretap guesses variants from them)
            for _ in range(rnd.choice([1, 2, 4])):
                off = rnd.choice(rs[:3])
                fld = rnd.randrange(4)
                v = rnd.choice([0, 1, 60, 999999, 1000000, 2**31, 2**32 - 1, 262144, 262145, 65535])
                struct.pack_into(e + "I", m, off + 4 * fld, v)
        else:  # cut short
            m = m[: rnd.randrange(24, len(m))]
        with open("%s/v%02d.pcap" % (outdir, k), "wb") as f:
            f.write(m)


main()
