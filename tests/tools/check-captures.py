#!/usr/bin/env python3
"""check-captures.py [PCAP...]   (default: tests/golden/*.pcap)

What tshark says about each capture, one block per file: link type from the
pcap header, frame count, frames with bad IPv4/TCP/UDP checksums (tshark with
checksum validation on), truncated frames (caplen < len), and every expert
item of severity note or above grouped by message with its frame numbers
(tcp.analysis retransmission/out-of-order/dup ACK/lost segment, malformed...).
A test aid for reviewing the crafted captures; standard library only.
"""
import glob
import os
import struct
import subprocess
import sys
from collections import OrderedDict

SEV = {"2097152": "chat", "4194304": "note", "6291456": "warn", "8388608": "error"}
LINKTYPES = {0: "NULL", 1: "EN10MB", 12: "RAW(12)", 14: "RAW(14)", 101: "RAW(101)",
             108: "LOOP", 113: "LINUX_SLL", 228: "IPV4", 229: "IPV6",
             276: "LINUX_SLL2"}


def header(path):
    with open(path, "rb") as f:
        h = f.read(24)
    magic = struct.unpack("<I", h[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    _, vmaj, vmin, _, _, snaplen, lt = struct.unpack(end + "IHHiIII", h)
    return lt, snaplen


def frames_truncated(path):
    """(count, truncated frame numbers) from the record headers."""
    n = 0
    trunc = []
    with open(path, "rb") as f:
        h = f.read(24)
        end = "<" if struct.unpack("<I", h[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        while True:
            r = f.read(16)
            if len(r) < 16:
                break
            _, _, incl, orig = struct.unpack(end + "IIII", r)
            n += 1
            if incl < orig:
                trunc.append(n)
            f.seek(incl, 1)
    return n, trunc


def ranges(nums):
    out = []
    for x in nums:
        if out and x == out[-1][1] + 1:
            out[-1][1] = x
        else:
            out.append([x, x])
    s = ",".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in out)
    return s if len(s) < 70 else s[:67] + "..."


def check(path):
    lt, snaplen = header(path)
    nframes, trunc = frames_truncated(path)
    cmd = ["tshark", "-r", path, "-o", "tcp.check_checksum:TRUE",
           "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
           "-o", "tcp.analyze_sequence_numbers:TRUE",
           "-o", "tcp.reassemble_out_of_order:TRUE",
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=|",
           "-e", "frame.number", "-e", "ip.checksum.status",
           "-e", "tcp.checksum.status", "-e", "udp.checksum.status",
           "-e", "_ws.expert.message", "-e", "_ws.expert.severity",
           "-e", "frame.protocols"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode("utf-8", "replace")
    bad = {"ip": [], "tcp": [], "udp": []}
    expert = OrderedDict()
    protos = OrderedDict()
    for line in out.splitlines():
        f = line.split("\t")
        while len(f) < 7:
            f.append("")
        num = int(f[0])
        for i, k in ((1, "ip"), (2, "tcp"), (3, "udp")):
            if "0" in f[i].split("|"):
                bad[k].append(num)
        msgs = f[4].split("|") if f[4] else []
        sevs = f[5].split("|") if f[5] else []
        for m, s in zip(msgs, sevs):
            sv = SEV.get(s, s)
            if sv == "chat" or "connection closing" in m:
                continue
            expert.setdefault("%s: %s" % (sv, m), []).append(num)
        top = f[6].split(":")
        p = ":".join(x for x in top if x not in ("eth", "ethertype", "frame", "vlan", "sll", "null", "raw", "ipv6", "ip", "tcp"))
        p = p or "tcp"
        protos[p] = protos.get(p, 0) + 1
    print("%s: linktype %d %s, snaplen %d, %d frames%s" % (
        os.path.basename(path), lt, LINKTYPES.get(lt, "?"), snaplen, nframes,
        ", truncated (caplen<len) frames " + ranges(trunc) if trunc else ""))
    print("  protocols: " + ", ".join("%s x%d" % kv for kv in protos.items()))
    for k in ("ip", "tcp", "udp"):
        if bad[k]:
            print("  bad %s checksum: frames %s" % (k, ranges(bad[k])))
    if not any(bad.values()):
        print("  checksums: all that tshark could verify are good")
    for m, nums in expert.items():
        print("  %s  [frames %s]" % (m, ranges(sorted(set(nums)))))


def main():
    paths = sys.argv[1:]
    if not paths:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
        paths = sorted(glob.glob(os.path.join(root, "*.pcap")))
    for p in paths:
        check(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
