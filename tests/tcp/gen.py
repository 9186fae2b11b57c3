#!/usr/bin/env python3
"""gen.py WHAT OUT.pcap [N] - captures for the TCP regression cases of issue 8, made at test time.

WHAT:
  manypairs N [1]  (with 1: a client pure ACK after the login, which changes the direction of
                the 2^20th segment) one session: greeting, N NOOP/+OK pairs (2N data segments, each acknowledging
                the other side; no pure ACKs), then STAT -> +OK 2 320 (the reply in two segments,
                the second half first) and QUIT (sent twice) -> +OK bye, FIN
  noack-retr    a 320,014-octet RETR whose client ACKs are not in the capture (the client sends
                no segment at all while the body flows), then QUIT -> +OK bye
  noack-dele N  N pipelined DELEs (one burst of 1448-octet segments, no server segment in
                between: the server's ACKs are not in the capture), N +OK replies, QUIT
  seqjump       RETR with a body of 3 captured parts separated by sequence jumps of 2,000,000,000,
                1,500,000,000 and 2,000,000,000 octets never captured (the stream offset passes
                2^32), then QUIT -> +OK bye
  overlap       retransmissions that overlap earlier bytes with other bytes (see a_overlap)
  syns N        N connections that are only a SYN (a port scan)
  ooo N         RETR whose body of N octets (lines of 10) arrives as: octets N-1 down to 1 in
                1-octet segments (descending), then octet 0, then the final '.', QUIT
Every frame is Ethernet + IPv4 + TCP with correct checksums; timestamps from 1700000000.
Prints nothing; the expected results are asserted by tests/tcp/regress.sh.
"""
import struct
import sys

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
CLI, SRV = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
ETH = b'\x02\x00\x0a\x00\x00\x02\x02\x00\x0a\x00\x00\x01\x08\x00'


def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def wsum(b):
    if len(b) & 1:
        b += b'\0'
    return sum(struct.unpack('!%dH' % (len(b) // 2), b))


class Pcap:
    def __init__(self, path):
        self.f = open(path, 'wb', buffering=1 << 22)
        self.f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        self.us = 0
        self.n = 0
        self.rec = struct.Struct('<IIII')

    def put(self, frame, dt=1):
        self.us += dt
        self.n += 1
        self.f.write(self.rec.pack(1700000000 + self.us // 1000000, self.us % 1000000, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


class Conn:
    """One TCP connection; seq numbers tracked per side; segments built from templates."""

    def __init__(self, pc, cport=40000, sport=110, cisn=1000, sisn=5000, cip=CLI, sip=SRV, win=65535):
        self.pc, self.cport, self.sport, self.cip, self.sip = pc, cport, sport, cip, sip
        self.cseq, self.sseq, self.win = cisn, sisn, win
        self.cache = {}

    def frame(self, toserver, flags, seq, ack, payload=b''):
        src, dst = (self.cip, self.sip) if toserver else (self.sip, self.cip)
        sp, dp = (self.cport, self.sport) if toserver else (self.sport, self.cport)
        tl = 40 + len(payload)
        ip = bytearray(struct.pack('!BBHHHBBH4s4s', 0x45, 0, tl, 0, 0x4000, 64, 6, 0, src, dst))
        struct.pack_into('!H', ip, 10, (~fold(wsum(bytes(ip)))) & 0xffff)
        tcp = bytearray(struct.pack('!HHIIBBHHH', sp, dp, seq & 0xffffffff, ack & 0xffffffff, 0x50, flags,
                                    self.win, 0, 0))
        s = wsum(src + dst) + 6 + 20 + len(payload) + wsum(bytes(tcp)) + wsum(payload)
        struct.pack_into('!H', tcp, 16, (~fold(s)) & 0xffff)
        return ETH + bytes(ip) + bytes(tcp) + payload

    def pkt(self, toserver, flags, payload=b'', seq=None, ack=None, dt=100):
        if toserver:
            s, a = (self.cseq if seq is None else seq), (self.sseq if ack is None else ack)
        else:
            s, a = (self.sseq if seq is None else seq), (self.cseq if ack is None else ack)
        self.pc.put(self.frame(toserver, flags, s, a, payload), dt)
        return self.pc.n

    def handshake(self):
        self.pkt(True, SYN, ack=0)
        self.cseq += 1
        self.pkt(False, SYN | ACK)
        self.sseq += 1
        self.pkt(True, ACK)

    def send(self, toserver, data, mss=1448, ack=None, dt=100):
        first = None
        for i in range(0, len(data), mss):
            ch = data[i:i + mss]
            n = self.pkt(toserver, PSH | ACK, ch, ack=ack, dt=dt)
            first = first or n
            if toserver:
                self.cseq += len(ch)
            else:
                self.sseq += len(ch)
        return first

    def close(self):
        self.pkt(False, FIN | ACK)
        self.sseq += 1
        self.pkt(True, FIN | ACK)
        self.cseq += 1
        self.pkt(False, ACK)


def login(c):
    c.handshake()
    c.send(False, b'+OK ready\r\n')
    c.send(True, b'USER alice\r\n')
    c.send(False, b'+OK\r\n')
    c.send(True, b'PASS wonderland\r\n')
    c.send(False, b'+OK logged in\r\n')


def a_manypairs(path, n=530000, extra_ack=0):
    pc = Pcap(path)
    c = Conn(pc)
    login(c)
    if extra_ack:  # one more segment before the pairs: the 2^20th segment is a server one
        c.pkt(True, ACK)
    # the 2n frames differ only in seq/ack: checksums are updated incrementally (RFC 1624)
    cmd, rep = b'NOOP\r\n', b'+OK\r\n'
    fc = bytearray(c.frame(True, PSH | ACK, 0, 0, cmd))
    fs = bytearray(c.frame(False, PSH | ACK, 0, 0, rep))
    base_c = (~struct.unpack_from('!H', fc, 50)[0]) & 0xffff
    base_s = (~struct.unpack_from('!H', fs, 50)[0]) & 0xffff
    put, f = pc.put, pc.f
    rec = pc.rec
    cs, ss = c.cseq, c.sseq
    us = pc.us
    for _ in range(n):
        for fr, base, seq, ack in ((fc, base_c, cs, ss), (fs, base_s, ss, cs + 6)):
            struct.pack_into('!II', fr, 38, seq & 0xffffffff, ack & 0xffffffff)
            s = fold(base + (seq >> 16 & 0xffff) + (seq & 0xffff) + (ack >> 16 & 0xffff) + (ack & 0xffff))
            struct.pack_into('!H', fr, 50, (~s) & 0xffff)
            us += 1
            f.write(rec.pack(1700000000 + us // 1000000, us % 1000000, len(fr), len(fr)))
            f.write(fr)
        cs += 6
        ss += 5
    pc.us, pc.n = us, pc.n + 2 * n
    c.cseq, c.sseq = cs & 0xffffffff, ss & 0xffffffff
    # past 2^20 segments, what needs ordering: a reply split and sent second half first, and
    # a command sent twice
    c.send(True, b'STAT\r\n')
    b = c.sseq
    c.pkt(False, PSH | ACK, b'2 320\r\n', seq=b + 4)
    c.pkt(False, ACK, b'+OK ', seq=b)
    c.sseq = b + 11
    b = c.cseq
    c.pkt(True, PSH | ACK, b'QUIT\r\n', seq=b)
    c.pkt(True, PSH | ACK, b'QUIT\r\n', seq=b)
    c.cseq = b + 6
    c.send(False, b'+OK bye\r\n')
    c.close()
    pc.close()


def noack_body():
    return b'Subject: t\r\n\r\n' + b''.join(b'%07d ' % i + b'x' * 70 + b'\r\n' for i in range(4000))


def a_noack_retr(path):
    pc = Pcap(path)
    c = Conn(pc)
    login(c)
    c.send(True, b'RETR 1\r\n')
    body = noack_body()
    c.send(False, b'+OK %d octets\r\n' % len(body) + body + b'.\r\n')  # no client segment meanwhile
    c.send(True, b'QUIT\r\n')
    c.send(False, b'+OK bye\r\n')
    c.close()
    pc.close()


def a_noack_dele(path, n=20000):
    pc = Pcap(path)
    c = Conn(pc)
    login(c)
    acked = c.cseq
    c.send(True, b''.join(b'DELE %d\r\n' % i for i in range(1, n + 1)))
    c.send(False, b'+OK\r\n' * n)
    c.send(True, b'QUIT\r\n')
    c.send(False, b'+OK bye\r\n')
    c.close()
    del acked
    pc.close()


SEQJUMPS = (2000000000, 1500000000, 2000000000)


def a_seqjump(path):
    pc = Pcap(path)
    c = Conn(pc)
    login(c)
    c.send(True, b'RETR 1\r\n')
    line = b'y' * 70 + b'\r\n'
    c.send(False, b'+OK 5500028800 octets\r\n' + line * 100)  # 7200 body octets
    for j in SEQJUMPS:
        c.sseq = (c.sseq + j) & 0xffffffff  # octets never captured
        c.send(False, line * 100)
    c.send(False, b'.\r\n')
    c.send(True, b'QUIT\r\n')
    c.send(False, b'+OK bye\r\n')
    c.close()
    pc.close()


def a_overlap(path):
    """Frames that carry other bytes than the first copy (conflicting), listed in the file
    OUT.pcap.conflicts (frame number and direction), and one exact retransmission (OUT.pcap.exact)."""
    pc = Pcap(path)
    c = Conn(pc)
    c.handshake()
    c.send(False, b'+OK ready\r\n')
    conflicts = []
    # 1. the same range, other bytes
    b = c.cseq
    c.pkt(True, PSH | ACK, b'USER alice\r\n', seq=b)
    conflicts.append((c.pkt(True, PSH | ACK, b'USER bobby\r\n', seq=b), 'to_server'))
    c.cseq = b + 12
    c.send(False, b'+OK\r\n')
    # 2. a partial overlap, then new bytes
    b = c.cseq
    c.pkt(True, PSH | ACK, b'PASS secret\r\n', seq=b)
    conflicts.append((c.pkt(True, PSH | ACK, b'SECRET\r\nSTAT\r\n', seq=b + 5), 'to_server'))
    c.cseq = b + 19
    c.send(False, b'+OK logged in\r\n')
    # 3. the server: second half first (held), a conflicting copy of it (held), then the first half
    b = c.sseq
    c.pkt(False, PSH | ACK, b'2 320\r\n', seq=b + 4)
    conflicts.append((c.pkt(False, PSH | ACK, b'2 999\r\n', seq=b + 4), 'to_client'))
    c.pkt(False, PSH | ACK, b'+OK ', seq=b)
    c.sseq = b + 11
    # 4. a re-packetized retransmission across two segments, one byte changed in the second
    b = c.cseq
    c.pkt(True, PSH | ACK, b'LIST\r\n', seq=b)
    c.pkt(True, PSH | ACK, b'UIDL\r\n', seq=b + 6)
    conflicts.append((c.pkt(True, PSH | ACK, b'T\r\nXI', seq=b + 3), 'to_server'))
    c.cseq = b + 12
    c.send(False, b'+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n')
    c.send(False, b'+OK\r\n1 a\r\n2 b\r\n.\r\n')
    # 5. an exact retransmission (not a conflict)
    b = c.cseq
    c.pkt(True, PSH | ACK, b'QUIT\r\n', seq=b)
    exact = c.pkt(True, PSH | ACK, b'QUIT\r\n', seq=b)
    c.cseq = b + 6
    c.send(False, b'+OK bye\r\n')
    c.close()
    pc.close()
    with open(path + '.conflicts', 'w') as f:
        for n, d in conflicts:
            f.write('%d %s\n' % (n, d))
    with open(path + '.exact', 'w') as f:
        f.write('%d to_server\n' % exact)


def a_syns(path, n=100000):
    pc = Pcap(path)
    for i in range(n):
        cip = bytes([10, 1 + (i >> 16), (i >> 8) & 255, i & 255])
        c = Conn(pc, cport=1024 + (i % 60000), cisn=i * 7919, sisn=i * 104729, cip=cip)
        c.pkt(True, SYN, ack=0, dt=10)
    pc.close()


def a_ooo(path, n=200000):
    pc = Pcap(path)
    c = Conn(pc)
    login(c)
    c.send(True, b'RETR 1\r\n')
    c.send(False, b'+OK %d octets\r\n' % n)
    body = (b'yyyyyyyy\r\n' * (n // 10 + 1))[:n]
    base = c.sseq
    for k in range(n - 1, 0, -1):
        c.pkt(False, ACK, body[k:k + 1], seq=base + k, dt=1)
    c.pkt(False, PSH | ACK, body[:1], seq=base)
    c.sseq = base + n
    c.send(False, b'.\r\n')
    c.send(True, b'QUIT\r\n')
    c.send(False, b'+OK bye\r\n')
    c.close()
    pc.close()


if __name__ == '__main__':
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    fn = globals()['a_' + sys.argv[1].replace('-', '_')]
    fn(sys.argv[2], *[int(x) for x in sys.argv[3:]])
