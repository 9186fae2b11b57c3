#!/usr/bin/env python3
"""make-seeds.py OUTDIR CAPTURE... - seed inputs for the fuzz targets from the project's captures.

Writes OUTDIR/pipeline/ (option bytes + the capture), OUTDIR/decode/ (single frames and the
frames of fragment captures), OUTDIR/pop3/ (the TCP streams of each connection in the chunk
format of fuzz_pop3.c, capture order, gaps and resends as the sequence numbers say).  The
committed corpora (tests/fuzz/corpus/) are these seeds and what fuzzing added, minimized with
libFuzzer's -merge=1 (tests/fuzz/README.md).  Standard library only; classic pcap only.
"""
import hashlib
import os
import struct
import sys

LINKS = [1, 113, 276, 0, 108, 101, 14, 228, 229]  # fuzz_decode.c's table, in its order
PIPE_MAX = 65536 - 2
POP3_MAX = 8192


def records(data):
    if data[:4] == b"\xd4\xc3\xb2\xa1" or data[:4] == b"\x4d\x3c\xb2\xa1":
        e = "<"
    elif data[:4] == b"\xa1\xb2\xc3\xd4" or data[:4] == b"\xa1\xb2\x3c\x4d":
        e = ">"
    else:
        return None, []
    link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        out.append((data[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return link, out


def ip_of(link, f):
    """The IP packet of a frame, or None."""
    if link == 1:
        if len(f) < 14:
            return None
        et, o = struct.unpack(">H", f[12:14])[0], 14
        while et in (0x8100, 0x88A8) and len(f) >= o + 4:
            et, o = struct.unpack(">H", f[o + 2:o + 4])[0], o + 4
        return f[o:] if et in (0x0800, 0x86DD) else None
    if link in (0, 108):
        return f[4:]
    if link in (101, 12, 14, 228, 229):
        return f
    if link == 113:
        return f[16:]
    if link == 276:
        return f[20:]
    return None


def tcp_of(ip):
    """(src, dst, sport, dport, seq, flags, payload) or None (not TCP, fragment)."""
    if len(ip) < 40:
        return None
    v = ip[0] >> 4
    if v == 4:
        hl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        if ip[9] != 6 or struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return None
        src, dst, t = ip[12:16], ip[16:20], ip[hl:tot]
    elif v == 6:
        if ip[6] != 6:
            return None
        src, dst = ip[8:24], ip[24:40]
        t = ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    else:
        return None
    if len(t) < 20:
        return None
    sp, dp, seq = struct.unpack(">HHI", t[:8])
    thl = (t[12] >> 4) * 4
    return src, dst, sp, dp, seq, t[13], t[thl:]


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    h = hashlib.sha1(data).hexdigest()[:10]
    with open(os.path.join(d, "%s-%s" % (name, h)), "wb") as f:
        f.write(data)


def pop3_streams(link, recs):
    """{conn: [(dir, seq, payload, syn)]} for connections with port 110 or 995 or 2110."""
    conns = {}
    for f, _ in recs:
        ip = ip_of(link, f)
        t = tcp_of(ip) if ip is not None else None
        if t is None:
            continue
        src, dst, sp, dp, seq, flags, pl = t
        if dp in (110, 995, 2110):
            key, d = (src, sp, dst, dp), 0
        elif sp in (110, 995, 2110):
            key, d = (dst, dp, src, sp), 1
        else:
            continue
        conns.setdefault(key, []).append((d, seq, pl, flags & 2))
    return conns


def pop3_seed(segs, opt):
    out = bytearray([opt])
    nxt = [None, None]
    for d, seq, pl, syn in segs:
        if syn:
            nxt[d] = (seq + 1) & 0xFFFFFFFF
            continue
        if not pl:
            continue
        if nxt[d] is None:
            nxt[d] = seq
        diff = (seq - nxt[d]) & 0xFFFFFFFF
        ctl, extra = d, b""
        if 0 < diff < 0x80000000:
            ctl |= 2
            extra += bytes([min(diff, 256) - 1])
        elif diff >= 0x80000000:
            back = (nxt[d] - seq) & 0xFFFFFFFF
            ctl |= 4
            extra += bytes([min(back, 256) - 1])
        out += b"FUZZ" + bytes([ctl]) + extra + pl
        end = (seq + len(pl)) & 0xFFFFFFFF
        if ((end - nxt[d]) & 0xFFFFFFFF) < 0x80000000:
            nxt[d] = end
        if len(out) > POP3_MAX:
            break
    return bytes(out[:POP3_MAX])


def main():
    outdir = sys.argv[1]
    for n, path in enumerate(sys.argv[2:]):
        data = open(path, "rb").read()
        base = os.path.splitext(os.path.basename(path))[0]
        link, recs = records(data)
        if len(data) <= PIPE_MAX:
            # Options: formats and flags spread over the captures.
            write(os.path.join(outdir, "pipeline"), base, bytes([n % 256, (n * 37) % 256]) + data)
        if link is None:
            continue
        if link in LINKS:
            li = LINKS.index(link)
            frames = recs if base.startswith("fragments") else []
            if frames:
                multi = bytearray([li])
                for f, orig in frames:
                    multi += struct.pack("<HB", len(f), min(orig - len(f), 255)) + f
                write(os.path.join(outdir, "decode"), base + "-frames", bytes(multi))
            seen = set()
            for f, orig in recs[:12]:
                shape = (len(f) > 80, f[:1])
                if shape in seen:
                    continue
                seen.add(shape)
                write(os.path.join(outdir, "decode"), base, bytes([li, 0xFF]) + f)
        for i, segs in enumerate(pop3_streams(link, recs).values()):
            if i >= 3:
                break
            opt = [0x00, 0x41, 0x47, 0xC3, 0x08, 0x20][(n + i) % 6]
            write(os.path.join(outdir, "pop3"), base, pop3_seed(segs, opt))


main()
