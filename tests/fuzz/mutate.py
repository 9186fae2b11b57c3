#!/usr/bin/env python3
"""mutate.py SEED.pcap OUTDIR N RNGSEED - writes N deterministic mutants of a pcap file.

Mutations (one or a few per mutant): flip random bytes in packet data, overwrite a run of
bytes with random ones, duplicate or drop a packet, swap two packets, cut the file short,
or corrupt a record's captured length. The file header is kept so libpcap opens it.
"""
import os
import random
import struct
import sys


def records(data):
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        end = off + 16 + incl
        if end > len(data):
            break
        out.append(bytearray(data[off:end]))
        off = end
    return out


def main():
    seed_path, outdir, n, rs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = open(seed_path, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("mutate.py: only little-endian classic pcap seeds")
    head, recs = data[:24], records(data)
    rng = random.Random(rs)
    os.makedirs(outdir, exist_ok=True)
    base = os.path.splitext(os.path.basename(seed_path))[0]
    for i in range(n):
        rr = [bytearray(r) for r in recs]
        for _ in range(rng.randint(1, 4)):
            kind = rng.randrange(7)
            if not rr:
                break
            k = rng.randrange(len(rr))
            r = rr[k]
            if kind <= 1 and len(r) > 16:  # flip bytes in the packet
                for _ in range(rng.randint(1, 8)):
                    j = rng.randrange(16, len(r))
                    r[j] ^= 1 << rng.randrange(8)
            elif kind == 2 and len(r) > 20:  # random run
                j = rng.randrange(16, len(r))
                for t in range(j, min(len(r), j + rng.randint(1, 32))):
                    r[t] = rng.randrange(256)
            elif kind == 3:  # duplicate
                rr.insert(k, bytearray(r))
            elif kind == 4 and len(rr) > 1:  # drop
                del rr[k]
            elif kind == 5 and len(rr) > 1:  # swap
                m = rng.randrange(len(rr))
                rr[k], rr[m] = rr[m], rr[k]
            elif kind == 6:  # wire length smaller/larger than captured
                struct.pack_into("<I", r, 12, rng.choice([0, 1, 20, 65535, 0xFFFFFFFF]))
        blob = head + b"".join(rr)
        if rng.random() < 0.1:
            blob = blob[:rng.randrange(24, len(blob) + 1)]
        with open(os.path.join(outdir, "%s-%03d.pcap" % (base, i)), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
