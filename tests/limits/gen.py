#!/usr/bin/env python3
"""gen.py WHAT OUT.pcap N - the hostile inputs of the limits test (tests/limits/run.py), made at
test time. Every frame is Ethernet + IPv4 (or IPv6) + TCP; timestamps from 1700000000 in steps
of 1 us (packet time stays within seconds: fragments are never given up for their age).

WHAT:
  longline N   one session: greeting, USER alice, then a server line of N octets with no line
               ending ('A' x N in 1448-octet segments, the client ACKing every 20), then CRLF,
               QUIT -> +OK bye, FIN both ways
  pipelined N  one session: greeting, then N pipelined NOOPs that are never answered (1448-octet
               segments, the server ACKing every 10), FIN both ways
  sessions N   N connections, each a full handshake and nothing else (all open at the end)
  ipv6ext N    500 IPv6 SYNs to port 110, each with N destination-options headers (8 octets each)
               before its TCP header (the packet cut at 65,535 octets of payload)
  frags N      N IPv4 fragments that never complete: N/100 first fragments (more fragments to come)
               of N/100 datagrams, and 99N/100 8-octet fragments of one more datagram: its first and
               last ones, then fragments at offsets 16 to 520, again and again (the same 64
               fragments repeated), while its octets 8 to 15 never come
Prints nothing; what popflow must do with them is asserted by tests/limits/run.py.
"""
import struct
import sys

SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10
CLI, SRV = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
ETH4 = b'\x02\x00\x0a\x00\x00\x02\x02\x00\x0a\x00\x00\x01\x08\x00'
ETH6 = ETH4[:12] + b'\x86\xdd'


class Pcap:
    def __init__(self, path):
        self.f = open(path, 'wb', buffering=1 << 22)
        self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        self.us = 0
        self.rec = struct.Struct('<IIII')

    def put(self, frame):
        self.us += 1
        self.f.write(self.rec.pack(1700000000 + self.us // 1000000, self.us % 1000000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def ip4(src, dst, payload, ident=0, frag=0x4000, proto=6):
    # Checksums are not verified by popflow (README: offloaded checksums): left 0.
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident & 0xffff, frag, 64, proto, 0,
                       src, dst) + payload


def tcp(sport, dport, seq, ack, flags, payload=b''):
    return struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff, 5 << 4, flags,
                       65535, 0, 0) + payload


class Conn:
    def __init__(self, pc, cli, sport):
        self.pc, self.cli, self.sport = pc, cli, sport
        self.c, self.s = 1000, 5000

    def seg(self, to_server, flags, data=b''):
        if to_server:
            self.pc.put(ETH4 + ip4(self.cli, SRV, tcp(self.sport, 110, self.c, self.s, flags, data)))
            self.c += len(data) + (1 if flags & (SYN | FIN) else 0)
        else:
            self.pc.put(ETH4 + ip4(SRV, self.cli, tcp(110, self.sport, self.s, self.c, flags, data)))
            self.s += len(data) + (1 if flags & (SYN | FIN) else 0)

    def handshake(self):
        self.seg(True, SYN)
        self.seg(False, SYN | ACK)
        self.seg(True, ACK)

    def send(self, to_server, data, ack_every=0):
        for n, i in enumerate(range(0, len(data), 1448), 1):
            self.seg(to_server, PSH | ACK, data[i:i + 1448])
            if ack_every and n % ack_every == 0:
                self.seg(not to_server, ACK)

    def close(self):
        self.seg(True, FIN | ACK)
        self.seg(False, FIN | ACK)
        self.seg(True, ACK)


def a_longline(pc, n):
    c = Conn(pc, CLI, 40000)
    c.handshake()
    c.send(False, b'+OK ready\r\n')
    c.send(True, b'USER alice\r\n')
    chunk = b'A' * 1448
    sent = k = 0
    while sent < n:
        piece = chunk[:min(1448, n - sent)]
        c.seg(False, ACK, piece)
        sent += len(piece)
        k += 1
        if k % 20 == 0:
            c.seg(True, ACK)
    c.send(False, b'\r\n')
    c.send(True, b'QUIT\r\n')
    c.send(False, b'+OK bye\r\n')
    c.close()


def a_pipelined(pc, n):
    c = Conn(pc, CLI, 40000)
    c.handshake()
    c.send(False, b'+OK ready\r\n')
    c.send(True, b''.join(b'NOOP %d\r\n' % i for i in range(n)), ack_every=10)
    c.close()


def a_sessions(pc, n):
    for i in range(n):
        c = Conn(pc, bytes([10, 1 + (i >> 16), (i >> 8) & 255, i & 255]), 1024 + i % 60000)
        c.handshake()


def a_ipv6ext(pc, n):
    src, dst = bytes(15) + b'\x01', bytes(15) + b'\x02'
    opts = b'\x01\x04\x00\x00\x00\x00'  # PadN filling an 8-octet destination-options header
    for k in range(500):
        ext = b''.join(bytes([60 if i < n - 1 else 6, 0]) + opts for i in range(n))
        pl = (ext + tcp(40000 + k, 110, 1000, 0, SYN))[:65535]
        pc.put(ETH6 + struct.pack('!IHBB16s16s', 0x60000000, len(pl), 60, 64, src, dst) + pl)


def a_frags(pc, n):
    for i in range(n // 100):  # first fragments, more to come, of datagrams that never complete
        cli = bytes([10, 2, (i >> 8) & 255, i & 255])
        pc.put(ETH4 + ip4(cli, SRV, tcp(40000 + i % 20000, 110, 1000, 0, SYN | ACK, b'X' * 32), ident=i,
                          frag=0x2000))
    # One datagram: its first and last fragments (its header and length are known), then
    # 8-octet fragments at offsets 16..520, again and again; octets 8 to 15 never come.
    pc.put(ETH4 + ip4(CLI, SRV, b'Y' * 8, ident=0xbeef, frag=0x2000))
    pc.put(ETH4 + ip4(CLI, SRV, b'Z' * 8, ident=0xbeef, frag=65448 // 8))
    for i in range(n - n // 100 - 2):
        off = 16 + (i % 64) * 8
        pc.put(ETH4 + ip4(CLI, SRV, b'Y' * 8, ident=0xbeef, frag=0x2000 | (off // 8)))


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    pc = Pcap(argv[1])
    globals()['a_' + argv[0]](pc, int(argv[2]))
    pc.close()


if __name__ == '__main__':
    main(sys.argv[1:])
