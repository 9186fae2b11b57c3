#!/usr/bin/env python3
"""gen.py - writes a synthetic POP3 capture for benchmarks (standard library only).

    gen.py OUT.pcap SESSIONS [CONCURRENT] [BODY_KB]
    gen.py OUT.pcap --size-mb MB [--concurrent C] [--body-kb K] [--disorder PCT]
    gen.py OUT.pcap --long-segments N [--concurrent C]

Each session: handshake, greeting, USER/PASS, STAT, RETR of a BODY_KB message (a real header:
From, To, Subject, Date, Message-ID; body lines of 76 characters, every tenth starting with a
dot, which the server byte-stuffs, RFC 1939 section 3) in 1448-byte segments (the client ACKs
every second one), QUIT, FIN exchange. CONCURRENT sessions run interleaved, so the capture's
size grows with the number of sessions while what is open at once stays CONCURRENT.

--size-mb writes sessions until the file reaches MB megabytes (10^6 bytes).
--disorder PCT: in PCT percent of the sessions, one body segment in 16 is sent twice
(a retransmission) and one pair in 16 is swapped (out of order).
--long-segments N: one session whose RETR body comes in N segments of one line each
(more than 2^20 for N > 1048576), plus CONCURRENT-1 ordinary sessions around it.

The expected result is written beside OUT as OUT.expect (JSON: sessions, and per session
the client port and the unstuffed body size), for the benchmark's checks.
Checksums are left zero (popflow does not verify them).
"""
import argparse
import json
import struct
import sys

MSS = 1448
A, P, S, F = 0x10, 0x08, 0x02, 0x01


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     src, dst)
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    return eth + ip + tcp + payload


def message(n, body_kb):
    """The message as the client stores it (CRLF lines), and its byte-stuffed form on the wire."""
    head = (b"From: Sender %d <sender%d@example.org>\r\n"
            b"To: bench%d@example.net\r\n"
            b"Subject: benchmark message %d\r\n"
            b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            b"Message-ID: <bench-%d@example.org>\r\n"
            b"\r\n") % (n, n, n, n, n)
    lines = []
    size = len(head)
    i = 0
    while size < body_kb * 1024:
        line = (b"." if i % 10 == 9 else b"x") + b"y" * 75 + b"\r\n"
        lines.append(line)
        size += len(line)
        i += 1
    body = head + b"".join(lines)
    wire = head + b"".join(b"." + l if l.startswith(b".") else l for l in lines)
    return body, wire


def session_packets(n, body_kb, disorder=False, seg_size=MSS, ack_every=2):
    """The packets of session n, as bytes in order; and the unstuffed body size."""
    cli, srv = ip4("10.%d.%d.2" % ((n >> 8) & 255, n & 255)), ip4("10.255.0.1")
    cport, sport = 20000 + n % 40000, 110
    cs, ss = 1000, 5000  # ISNs
    out = []

    def c(flags, data=b""):
        nonlocal cs
        out.append(packet(cli, srv, cport, sport, cs, ss, flags, data))
        cs += len(data) + (1 if flags & (S | F) else 0)

    def s(flags, data=b""):
        nonlocal ss
        out.append(packet(srv, cli, sport, cport, ss, cs, flags, data))
        ss += len(data) + (1 if flags & (S | F) else 0)

    c(S)
    s(S | A)
    c(A)
    s(P | A, b"+OK POP3 bench server ready\r\n")
    c(P | A, b"USER bench%d\r\n" % n)
    s(P | A, b"+OK\r\n")
    c(P | A, b"PASS secret\r\n")
    s(P | A, b"+OK logged in\r\n")
    c(P | A, b"STAT\r\n")
    body, wire = message(n, body_kb)
    s(P | A, b"+OK 1 %d\r\n" % len(body))
    c(P | A, b"RETR 1\r\n")
    data = b"+OK %d octets\r\n" % len(body) + wire + b".\r\n"
    segs = []
    if seg_size == 0:
        # One line per segment (the long-session variant).
        start = 0
        while start < len(data):
            end = data.index(b"\n", start) + 1
            segs.append((start, data[start:end]))
            start = end
    else:
        segs = [(i, data[i:i + seg_size]) for i in range(0, len(data), seg_size)]
    base = ss
    k = 0
    order = list(range(len(segs)))
    if disorder:
        for j in range(3, len(order) - 2, 16):
            order[j], order[j + 1] = order[j + 1], order[j]
    for j, idx in enumerate(order):
        off, chunk = segs[idx]
        last = idx == len(segs) - 1
        flags = P | A if last else A
        out.append(packet(srv, cli, sport, cport, base + off, cs, flags, chunk))
        if disorder and j % 16 == 7:
            out.append(packet(srv, cli, sport, cport, base + off, cs, flags, chunk))
        k += 1
        if k % ack_every == 0:
            out.append(packet(cli, srv, cport, sport, cs, base + off + len(chunk), A))
    ss = base + len(data)
    c(P | A, b"QUIT\r\n")
    s(P | A, b"+OK bye\r\n")
    c(F | A)
    s(A)
    s(F | A)
    c(A)
    return out, len(body)


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = 1_700_000_000 * 1_000_000
        self.size = 24

    def write(self, p):
        self.t += 10
        self.f.write(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000, len(p), len(p)))
        self.f.write(p)
        self.size += 16 + len(p)

    def close(self):
        self.f.close()


def interleave(w, group):
    """Writes the sessions of group (lists of packets) round-robin, one packet each in turn."""
    iters = [iter(g) for g in group]
    while iters:
        alive = []
        for it in iters:
            p = next(it, None)
            if p is not None:
                w.write(p)
                alive.append(it)
        iters = alive


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("sessions", nargs="?", type=int)
    ap.add_argument("concurrent_pos", nargs="?", type=int)
    ap.add_argument("body_kb_pos", nargs="?", type=int)
    ap.add_argument("--size-mb", type=float)
    ap.add_argument("--concurrent", type=int)
    ap.add_argument("--body-kb", type=int)
    ap.add_argument("--disorder", type=float, default=0.0)
    ap.add_argument("--long-segments", type=int)
    a = ap.parse_args()
    conc = a.concurrent or a.concurrent_pos or 16
    body_kb = a.body_kb or a.body_kb_pos or 64
    if a.sessions is None and a.size_mb is None and a.long_segments is None:
        ap.error("give SESSIONS, --size-mb or --long-segments")
    w = Writer(a.out)
    expect = []
    n = 0
    if a.long_segments:
        # Lines of 78 bytes with CRLF: the body that makes N one-line segments.
        kb = a.long_segments * 78 // 1024 + 1
        long_pkts, long_size = session_packets(0, kb, seg_size=0, ack_every=64)
        expect.append({"port": 20000, "body": long_size})
        group = [long_pkts]
        for n in range(1, conc):
            pk, sz = session_packets(n, body_kb)
            group.append(pk)
            expect.append({"port": 20000 + n % 40000, "body": sz})
        interleave(w, group)
    else:
        limit = a.size_mb * 1e6 if a.size_mb is not None else None
        total = a.sessions
        while (limit is not None and w.size < limit) or (total is not None and n < total):
            count = conc if total is None else min(conc, total - n)
            group = []
            for k in range(n, n + count):
                # Disordered sessions: spread evenly (PCT of every 100).
                dis = a.disorder > 0 and (k * a.disorder) % 100 < a.disorder
                pk, sz = session_packets(k, body_kb, disorder=dis)
                group.append(pk)
                expect.append({"port": 20000 + k % 40000, "body": sz})
            interleave(w, group)
            n += count
    w.close()
    with open(a.out + ".expect", "w") as f:
        json.dump({"sessions": len(expect), "bodies": expect}, f)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
