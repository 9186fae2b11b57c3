#!/usr/bin/env python3
"""gen.py OUT.pcap SESSIONS [CONCURRENT] [BODY_KB] - writes a synthetic POP3 capture for benchmarks.

Each session: handshake, greeting, USER/PASS, STAT, RETR of a BODY_KB message in 1448-byte
segments (client ACKs every second one), QUIT, FIN exchange. CONCURRENT sessions run interleaved,
so the capture's size grows with SESSIONS while what is open at once stays CONCURRENT.
Checksums are left zero (popflow does not verify them). Standard library only.
"""
import struct
import sys

MSS = 1448


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                     src, dst)
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    return eth + ip + tcp + payload


def session_packets(n, body_kb):
    """The packets of session n, as (direction, bytes) in order."""
    cli, srv = ip4("10.%d.%d.2" % ((n >> 8) & 255, n & 255)), ip4("10.255.0.1")
    cport, sport = 20000 + n % 40000, 110
    cs, ss = 1000, 5000  # ISNs
    out = []
    A, P, S, F = 0x10, 0x08, 0x02, 0x01

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
    line = b"x" * 76 + b"\r\n"
    body = line * (body_kb * 1024 // len(line))
    s(P | A, b"+OK 1 %d\r\n" % len(body))
    c(P | A, b"RETR 1\r\n")
    data = b"+OK %d octets\r\n" % len(body) + body + b".\r\n"
    for i in range(0, len(data), MSS):
        s(A if i + MSS < len(data) else P | A, data[i:i + MSS])
        if (i // MSS) % 2 == 1:
            c(A)
    c(P | A, b"QUIT\r\n")
    s(P | A, b"+OK bye\r\n")
    c(F | A)
    s(A)
    s(F | A)
    c(A)
    return out


def main():
    out, sessions = sys.argv[1], int(sys.argv[2])
    conc = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    body_kb = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_700_000_000 * 1_000_000
        for first in range(0, sessions, conc):
            group = [session_packets(n, body_kb) for n in range(first, min(first + conc, sessions))]
            longest = max(len(g) for g in group)
            for i in range(longest):
                for g in group:
                    if i < len(g):
                        p = g[i]
                        t += 10
                        f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(p), len(p)))
                        f.write(p)


if __name__ == "__main__":
    main()
