#!/usr/bin/env python3
"""mangle.py - damaged copies of a TLS capture for tests/tls/run.sh (classic pcap, Ethernet/IPv4).

  mangle.py flip IN OUT PORT N        flip one bit in the middle of the Nth TLS application
                                      data record (content type 23) sent from PORT, and fix
                                      the TCP checksum so that only the TLS record is wrong
  mangle.py cut IN OUT PORT N         drop every frame after the one carrying the middle byte
                                      of the Nth record of 4096 bytes or more from PORT (one
                                      that spans segments): the capture ends inside it
  mangle.py wrongkey KEYS OUT         the same key log with every secret's last byte changed
"""
import struct
import sys


def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit("mangle.py: %s: not a little-endian classic pcap" % path)
    frames, off = [], 24
    while off + 16 <= len(data):
        ts, tus, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        frames.append([data[off:off + 16], bytearray(data[off + 16:off + 16 + incl])])
        off += 16 + incl
    return data[:24], frames


def write_pcap(path, hdr, frames):
    with open(path, "wb") as f:
        f.write(hdr)
        for h, b in frames:
            f.write(h)
            f.write(bytes(b))


def tcp_parts(b):
    """(ip header offset, tcp header offset, payload offset, src port) of an Ethernet/IPv4/TCP frame."""
    if len(b) < 14 + 20 or b[12:14] != b"\x08\x00" or b[23] != 6:
        return None
    ip = 14
    ihl = (b[ip] & 0x0F) * 4
    tcp = ip + ihl
    doff = (b[tcp + 12] >> 4) * 4
    return ip, tcp, tcp + doff, struct.unpack(">H", b[tcp:tcp + 2])[0]


def fix_tcp_checksum(b):
    ip, tcp, _, _ = tcp_parts(b)
    total = struct.unpack(">H", b[ip + 2:ip + 4])[0]
    seg = b[tcp:ip + total]
    seg[16:18] = b"\x00\x00"
    pseudo = bytes(b[ip + 12:ip + 20]) + struct.pack(">BBH", 0, 6, len(seg))
    s, data = 0, pseudo + bytes(seg) + (b"\x00" if len(seg) % 2 else b"")
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    b[tcp + 16:tcp + 18] = struct.pack(">H", ~s & 0xFFFF)


def records(frames, port):
    """Walk the TLS records of the stream from port: yields (type, [(frame index, payload offset)...] per record byte range)."""
    stream, owner = bytearray(), []
    for i, (_, b) in enumerate(frames):
        p = tcp_parts(b)
        if p is None or p[3] != port:
            continue
        ip, tcp, pay, _ = p
        total = struct.unpack(">H", b[ip + 2:ip + 4])[0]
        for j in range(pay, ip + total):
            owner.append((i, j))
        stream += b[pay:ip + total]
    # Skip cleartext POP3 before STLS: records start with a content type 20..23 and 0x03.
    start = 0
    while start + 5 <= len(stream) and not (20 <= stream[start] <= 23 and stream[start + 1] == 3):
        nl = stream.find(b"\n", start)
        if nl < 0:
            return
        start = nl + 1
    o = start
    while o + 5 <= len(stream):
        n = struct.unpack(">H", stream[o + 3:o + 5])[0]
        yield stream[o], owner[o:o + 5 + n]
        o += 5 + n


def main():
    cmd = sys.argv[1]
    if cmd == "wrongkey":
        out = []
        for line in open(sys.argv[2]):
            f = line.split()
            if len(f) == 3:
                last = "%02x" % (int(f[2][-2:], 16) ^ 0x01)
                line = "%s %s %s\n" % (f[0], f[1], f[2][:-2] + last)
            out.append(line)
        open(sys.argv[3], "w").write("".join(out))
        return
    src, dst, port, nth = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    hdr, frames = read_pcap(src)
    app = [r for t, r in records(frames, port) if t == 23]
    if len(app) < nth:
        sys.exit("mangle.py: only %d application data records from port %d" % (len(app), port))
    rec = app[nth - 1]
    if cmd == "flip":
        fi, j = rec[len(rec) // 2]
        frames[fi][1][j] ^= 0x20
        fix_tcp_checksum(frames[fi][1])
        write_pcap(dst, hdr, frames)
    elif cmd == "cut":
        big = [r for t, r in records(frames, port) if t == 23 and len(r) >= 4096]
        if len(big) < nth:
            sys.exit("mangle.py: only %d records of 4096 bytes or more" % len(big))
        rec = big[nth - 1]
        fi = rec[len(rec) // 2][0]
        if rec[-1][0] == fi:
            sys.exit("mangle.py: that record ends in the frame cut")
        write_pcap(dst, hdr, frames[:fi + 1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
