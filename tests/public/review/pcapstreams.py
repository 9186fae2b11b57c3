#!/usr/bin/env python3
"""Independent TCP stream reassembler used to review the public-corpus digests.

Standard library only.  It does NOT share code with popflow: it is a second
opinion next to `tshark -z follow,tcp,raw`.  It reads pcap and pcapng,
decodes Ethernet (+802.1Q/QinQ), BSD NULL/LOOP, raw IP, Linux SLL/SLL2,
IPv4/IPv6, L2TPv2 (UDP 1701) -> PPP -> IP, IP-in-IP, and reassembles every
TCP connection:

* a connection starts with a SYN (client = SYN sender); a connection whose
  SYN was never answered by a SYN-ACK and that carries no payload (refused or
  unanswered attempt) is marked `refused`;
* bytes are placed by sequence number relative to the ISN; the first copy of a
  byte wins (as libnids does); retransmissions add nothing;
* data is delivered in order; an "event" is (frame, direction, bytes) for the
  bytes that became contiguous when `frame` arrived;
* a hole that is never filled is reported (`holes`).

Usage as a program:  pcapstreams.py FILE [--port 110 --port 995] [--dump]
prints one line per connection (and with --dump the byte streams in hex).
"""
import struct
import sys

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP = 0, 1, 101, 108
LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW2 = 113, 276, 12


def read_packets(path):
    """Yield (frame_no, ts_float, linktype, bytes)."""
    with open(path, 'rb') as fh:
        data = fh.read()
    magic = data[:4]
    frame = 0
    if magic in (b'\xd4\xc3\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d'):
        le = magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1')
        nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
        e = '<' if le else '>'
        linktype = struct.unpack(e + 'I', data[20:24])[0] & 0x0FFFFFFF
        off = 24
        while off + 16 <= len(data):
            sec, frac, caplen, _origlen = struct.unpack(e + 'IIII', data[off:off + 16])
            off += 16
            pkt = data[off:off + caplen]
            off += caplen
            frame += 1
            yield frame, sec + frac / (1e9 if nano else 1e6), linktype, pkt
        return
    if magic != b'\x0a\x0d\x0d\x0a':
        raise SystemExit('%s: not pcap/pcapng' % path)
    off = 0
    e = '<'
    ifaces = []
    while off + 12 <= len(data):
        btype = struct.unpack(e + 'I', data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
            ifaces = []
        blen = struct.unpack(e + 'I', data[off + 4:off + 8])[0]
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # IDB
            lt = struct.unpack(e + 'H', body[0:2])[0]
            tsres = 6
            o = 8
            while o + 4 <= len(body):
                code, ln = struct.unpack(e + 'HH', body[o:o + 4])
                if code == 0:
                    break
                if code == 9:
                    tsres = body[o + 4]
                o += 4 + ((ln + 3) & ~3)
            ifaces.append((lt, tsres))
        elif btype == 6:  # EPB
            ifid, tsh, tsl, caplen, _ol = struct.unpack(e + 'IIIII', body[0:20])
            lt, tsres = ifaces[ifid]
            ts = (tsh << 32) | tsl
            div = (2 ** (tsres & 0x7F)) if tsres & 0x80 else 10 ** tsres
            frame += 1
            yield frame, ts / div, lt, body[20:20 + caplen]
        elif btype == 3:  # SPB
            lt, _ = ifaces[0]
            ol = struct.unpack(e + 'I', body[0:4])[0]
            frame += 1
            yield frame, 0.0, lt, body[4:4 + ol]
        elif btype == 2:  # obsolete PB
            ifid, _drops, tsh, tsl, caplen, _ol = struct.unpack(e + 'HHIIII', body[0:20])
            lt, tsres = ifaces[ifid]
            frame += 1
            yield frame, ((tsh << 32) | tsl) / 10 ** tsres, lt, body[20:20 + caplen]
        off += blen


def ip_from_link(lt, pkt):
    """Return (ethertype-ish 4/6, ip bytes) or None."""
    if lt == LINKTYPE_ETHERNET:
        et = struct.unpack('>H', pkt[12:14])[0]
        o = 14
        while et in (0x8100, 0x88A8, 0x9100):
            et = struct.unpack('>H', pkt[o + 2:o + 4])[0]
            o += 4
        if et == 0x0800:
            return pkt[o:]
        if et == 0x86DD:
            return pkt[o:]
        return None
    if lt in (LINKTYPE_NULL, LINKTYPE_LOOP):
        return pkt[4:]
    if lt in (LINKTYPE_RAW, LINKTYPE_RAW2):
        return pkt
    if lt == LINKTYPE_LINUX_SLL:
        return pkt[16:]
    if lt == LINKTYPE_LINUX_SLL2:
        return pkt[20:]
    return None


def ppp_payload(b):
    if b[:2] == b'\xff\x03':
        b = b[2:]
    if b[:1] and b[0] & 1:  # compressed 1-byte protocol
        proto, b = b[0], b[1:]
    else:
        proto, b = struct.unpack('>H', b[:2])[0], b[2:]
    if proto in (0x0021, 0x0057):
        return b
    return None


def l2tp_payload(b):
    flags = struct.unpack('>H', b[:2])[0]
    if flags & 0x8000 or (flags & 0xF) != 2:
        return None  # control message or not v2
    o = 2
    if flags & 0x4000:
        o += 2
    o += 4  # tunnel, session
    if flags & 0x0800:
        o += 4
    if flags & 0x0200:
        osz = struct.unpack('>H', b[o:o + 2])[0]
        o += 2 + osz
    return ppp_payload(b[o:])


def decode_ip(ip, depth=0):
    """Return (src, dst, tcp bytes, tunnel-description) or None."""
    if not ip or depth > 3:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 0xF) * 4
        tot = struct.unpack('>H', ip[2:4])[0]
        proto = ip[9]
        src = '.'.join(str(x) for x in ip[12:16])
        dst = '.'.join(str(x) for x in ip[16:20])
        fo = struct.unpack('>H', ip[6:8])[0]
        if fo & 0x3FFF:
            raise SystemExit('IP fragment: not handled by this review tool')
        payload = ip[ihl:tot] if tot >= ihl else ip[ihl:]
    elif v == 6:
        proto = ip[6]
        plen = struct.unpack('>H', ip[4:6])[0]
        src = fmt6(ip[8:24])
        dst = fmt6(ip[24:40])
        payload = ip[40:40 + plen]
        while proto in (0, 43, 60):  # hop-by-hop, routing, dstopts
            proto, ln = payload[0], (payload[1] + 1) * 8
            payload = payload[ln:]
        if proto == 44:
            raise SystemExit('IPv6 fragment: not handled by this review tool')
    else:
        return None
    if proto == 6:
        return src, dst, payload, ''
    if proto in (4, 41):
        r = decode_ip(payload, depth + 1)
        return r and (r[0], r[1], r[2], 'ipip ' + r[3])
    if proto == 17:
        sp, dp = struct.unpack('>HH', payload[:4])
        if 1701 in (sp, dp):
            inner = l2tp_payload(payload[8:])
            if inner:
                r = decode_ip(inner, depth + 1)
                return r and (r[0], r[1], r[2], 'l2tp ' + r[3])
    return None


def fmt6(b):
    words = struct.unpack('>8H', b)
    # RFC 5952 compression of the longest zero run
    best, cur = (0, 0), (0, 0)
    for i, w in enumerate(words):
        if w == 0:
            cur = (cur[0], cur[1] + 1) if cur[1] else (i, 1)
            if cur[1] > best[1]:
                best = cur
        else:
            cur = (0, 0)
    parts = ['%x' % w for w in words]
    if best[1] >= 2:
        s, n = best
        return ':'.join(parts[:s]) + '::' + ':'.join(parts[s + n:])
    return ':'.join(parts)


class Half:
    def __init__(self):
        self.isn = None        # sequence number of the first payload byte
        self.buf = {}          # rel offset -> (bytes, frame) of pending segments
        self.next = 0          # next expected rel offset
        self.fin = False
        self.frames = 0


class Conn:
    def __init__(self, cli, srv, frame, ts):
        self.cli, self.srv = cli, srv
        self.first_frame, self.first_ts = frame, ts
        self.last_ts = ts
        self.h = {'c': Half(), 's': Half()}
        self.synack = False
        self.rst = False
        self.fin = {'c': False, 's': False}
        self.events = []        # (frame, 'c'|'s', bytes)
        self.overlap_conflicts = 0
        self.tunnel = ''
        self.payload_frames = set()

    def add(self, d, seq, payload, frame):
        h = self.h[d]
        if h.isn is None:
            h.isn = seq
        rel = (seq - h.isn) & 0xFFFFFFFF
        if rel >= 0x80000000:  # before the ISN: keep only the part after it
            cut = 0x100000000 - rel
            payload = payload[cut:]
            rel = 0
        end = rel + len(payload)
        if end <= h.next or not payload:
            return
        if rel < h.next:
            payload = payload[h.next - rel:]
            rel = h.next
        old = h.buf.get(rel)
        if old is None or len(old[0]) < len(payload):
            h.buf[rel] = (payload, frame)
        # deliver contiguous data
        out = b''
        while True:
            cand = [k for k in h.buf if k <= h.next]
            if not cand:
                break
            progressed = False
            for k in sorted(cand):
                seg, _f = h.buf.pop(k)
                if k + len(seg) > h.next:
                    out += seg[h.next - k:]
                    h.next = k + len(seg)
                    progressed = True
            if not progressed:
                break
        if out:
            self.events.append((frame, d, out))

    def holes(self):
        return {d: sorted(self.h[d].buf) for d in 'cs' if self.h[d].buf}


def connections(path):
    conns = []
    table = {}
    for frame, ts, lt, pkt in read_packets(path):
        ip = ip_from_link(lt, pkt)
        if ip is None:
            continue
        r = decode_ip(ip)
        if r is None:
            continue
        src, dst, tcp, tun = r
        if len(tcp) < 20:
            continue
        sp, dp, seq, ack, offflags = struct.unpack('>HHIIH', tcp[:14])
        doff = (offflags >> 12) * 4
        flags = offflags & 0x1FF
        syn, fin, rst, ackf = flags & 2, flags & 1, flags & 4, flags & 16
        payload = tcp[doff:]
        a, b = (src, sp), (dst, dp)
        key = (a, b) if a < b else (b, a)
        c = table.get(key)
        if syn and not ackf:
            if c is None or c.rst or (c.fin['c'] and c.fin['s']) or (
                    c.h['c'].isn is not None and ((seq + 1) & 0xFFFFFFFF) != c.h['c'].isn):
                if c is not None and not (c.rst or (c.fin['c'] and c.fin['s'])) and c.synack:
                    c.reused = True
                c = Conn(a, b, frame, ts)
                c.tunnel = tun
                table[key] = c
                conns.append(c)
            c.h['c'].isn = (seq + 1) & 0xFFFFFFFF
            continue
        if c is None:
            # mid-stream: client is the side talking to the lower (well-known) port
            if dp < sp:
                c = Conn(a, b, frame, ts)
            else:
                c = Conn(b, a, frame, ts)
            c.midstream = True
            c.tunnel = tun
            table[key] = c
            conns.append(c)
        d = 'c' if a == c.cli else 's'
        c.last_ts = ts
        if syn and ackf:
            c.synack = True
            c.h['s'].isn = (seq + 1) & 0xFFFFFFFF
            continue
        if payload:
            c.payload_frames.add(frame)
            c.add(d, seq, payload, frame)
        if fin:
            c.fin[d] = True
        if rst:
            c.rst = True
    return conns


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument('file')
    ap.add_argument('--port', type=int, action='append')
    ap.add_argument('--dump', action='store_true')
    o = ap.parse_args(argv)
    for c in connections(o.file):
        if o.port and c.srv[1] not in o.port and c.cli[1] not in o.port:
            continue
        cb = sum(len(x[2]) for x in c.events if x[1] == 'c')
        sb = sum(len(x[2]) for x in c.events if x[1] == 's')
        print('%s:%d > %s:%d first_frame=%d synack=%s rst=%s fin=%s c_bytes=%d s_bytes=%d holes=%s tunnel=%r' % (
            c.cli[0], c.cli[1], c.srv[0], c.srv[1], c.first_frame, c.synack, c.rst, c.fin, cb, sb,
            c.holes(), c.tunnel))
        if o.dump:
            for f, d, b in c.events:
                print('  %6d %s %s' % (f, d, b.hex()))


if __name__ == '__main__':
    main(sys.argv[1:])
