#!/usr/bin/env python3
"""perturb.py - rewrite a capture the way a lossy network and a busy capture point do.

Usage:
  perturb.py [options] IN.pcap OUT.pcap
    --seed N          seed of the pseudo-random choices (default 1): same seed, same output
    --drop-acks P     also drop each pure ACK with probability P (0..1; default 0: none)
    --no-perturb      copy the TCP packets unchanged (with --cut: only cut)
    --cut N           drop the first N packets: the capture starts mid-stream at that packet
    --swap A,B        exchange packets A and B (frame numbers; repeatable), before the rest: a
                      minimal reproducer (with --no-perturb, nothing else is done but --cut)
    --stats           print what was done, per connection, on stderr
    --rates S,D,U,O,P,C  rates of swaps, delays, duplicates, overlaps, splits, client duplicates
                      per data segment (default 0.055,0.025,0.028,0.028,0.024,0.1)

Per TCP connection (one instance of a 4-tuple: a new SYN starts a new one), with a seeded mix of:
  - adjacent swaps of two packets;
  - delays: a data segment moved 5 to 30 positions later (as if lost before the capture point
    and sent again);
  - exact duplicates of data segments, placed 1 to 30 positions after the original;
  - overlapping re-packetized retransmissions: the second half of segment k and the first half
    of segment k+1 (in sequence order) as one new segment, placed after both;
  - splits: a segment cut in two, the second half sent first;
  - duplicated client segments (a command sent twice);
  - with --drop-acks, pure ACKs left out of the capture.

What is never done, because a network could not do it or because it legitimately changes what
a follower can know:
  - SYN, FIN and RST segments are not moved, split or copied, and no other segment of the
    connection is moved across them (data after a FIN or RST is another case: RFC 9293 3.10.7);
  - in a connection whose handshake is not captured, every packet up to the first data segment
    of each direction stays where it is (a mid-stream follower starts there);
  - a data segment never crosses a data segment of the other direction: a reply cannot be seen
    before the command it answers (copies, which carry bytes already seen, may);
  - URG segments are not split or re-packetized (the urgent pointer is relative to the segment);
  - frames that are not a complete, unfragmented TCP segment (IP fragments, frames cut by the
    snapshot length, malformed headers, other protocols) stay where they are, byte for byte.
Moved and copied packets keep their bytes; new segments (splits, re-packetized retransmissions)
get the headers of their template with the IP total length (IPv4) or payload length (IPv6), the
IPv4 header checksum and the TCP checksum (RFC 9293 3.1, RFC 8200 8.1) computed afresh.
Timestamps stay monotonic: each packet gets max(its own time, the previous packet's time).

Link types: Ethernet (with 802.1Q / 802.1ad tags), Linux cooked SLL and SLL2, raw IP (101, 12,
14), LINKTYPE_IPV4/IPV6 (228/229), BSD loopback NULL (either byte order) and LOOP.  pcapng
input is converted with editcap -F pcap (Wireshark's tools) first.  Python standard library only.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile

SYN, FIN, RST, PSH, ACK, URG = 0x02, 0x01, 0x04, 0x08, 0x10, 0x20


class Pkt:
    __slots__ = ('idx', 'sec', 'frac', 'caplen', 'origlen', 'data', 'tcp', 'l2', 'iphdr',
                 'tcphdr', 'payload', 'trailer', 'v6', 'key', 'fwd', 'flags', 'seq', 'origin', 'client')

    def __init__(self, idx, sec, frac, caplen, origlen, data):
        self.idx, self.sec, self.frac, self.caplen, self.origlen, self.data = idx, sec, frac, caplen, origlen, data
        self.tcp = False
        self.origin = idx


def read_pcap(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if len(raw) < 24:
        raise ValueError('%s: not a pcap file (too short)' % path)
    magic = raw[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise ValueError('%s: not a pcap file (magic %s)' % (path, magic.hex()))
    hdr = raw[:24]
    linktype = struct.unpack(e + 'I', raw[20:24])[0] & 0x0fffffff
    pkts = []
    off, n = 24, len(raw)
    rec = struct.Struct(e + 'IIII')
    while off + 16 <= n:
        sec, frac, caplen, origlen = rec.unpack_from(raw, off)
        off += 16
        if off + caplen > n:
            sys.stderr.write('perturb: %s: frame %d cut by the end of the file; dropped\n' % (path, len(pkts) + 1))
            break
        pkts.append(Pkt(len(pkts), sec, frac, caplen, origlen, raw[off:off + caplen]))
        off += caplen
    return hdr, e, linktype, pkts


def write_pcap(path, hdr, e, pkts):
    rec = struct.Struct(e + 'IIII')
    with open(path, 'wb') as f:
        f.write(hdr)
        for p in pkts:
            f.write(rec.pack(p.sec, p.frac, p.caplen, p.origlen))
            f.write(p.data)


def l3_start(linktype, d, e):
    """(offset of the IP header, 4 or 6) or None."""
    if linktype == 1:
        off = 12
        while off + 2 <= len(d):
            et = (d[off] << 8) | d[off + 1]
            if et in (0x8100, 0x88a8, 0x9100):
                off += 4
                continue
            if et == 0x0800:
                return off + 2, 4
            if et == 0x86dd:
                return off + 2, 6
            return None
        return None
    if linktype == 113:
        if len(d) < 16:
            return None
        et = (d[14] << 8) | d[15]
        return (16, 4) if et == 0x0800 else (16, 6) if et == 0x86dd else None
    if linktype == 276:
        if len(d) < 20:
            return None
        et = (d[0] << 8) | d[1]
        return (20, 4) if et == 0x0800 else (20, 6) if et == 0x86dd else None
    if linktype in (101, 12, 14, 228, 229):
        if not d:
            return None
        v = d[0] >> 4
        return (0, v) if v in (4, 6) else None
    if linktype in (0, 108):
        if len(d) < 4:
            return None
        fams = {struct.unpack('<I', d[:4])[0], struct.unpack('>I', d[:4])[0]}
        if 2 in fams:
            return 4, 4
        if fams & {10, 24, 28, 30}:
            return 4, 6
        return None
    return None


def csum(data):
    if len(data) & 1:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def parse(p, linktype, e):
    d = p.data
    r = l3_start(linktype, d, e)
    if r is None:
        return
    off, v = r
    if p.caplen < p.origlen:
        return  # cut by the snapshot length: left alone
    if v == 4:
        if len(d) < off + 20 or d[off] >> 4 != 4:
            return
        ihl = (d[off] & 15) * 4
        tot = (d[off + 2] << 8) | d[off + 3]
        if ihl < 20 or tot < ihl or off + tot > len(d):
            return
        fo = ((d[off + 6] << 8) | d[off + 7])
        if fo & 0x3fff:  # MF or an offset: a fragment
            return
        if d[off + 9] != 6:
            return
        src, dst = d[off + 12:off + 16], d[off + 16:off + 20]
        l4, end = off + ihl, off + tot
    else:
        if len(d) < off + 40 or d[off] >> 4 != 6:
            return
        plen = (d[off + 4] << 8) | d[off + 5]
        if plen == 0 or off + 40 + plen > len(d):
            return
        nxt, l4, end = d[off + 6], off + 40, off + 40 + plen
        while nxt in (0, 43, 60):
            if l4 + 8 > end:
                return
            nxt, l4 = d[l4], l4 + (d[l4 + 1] + 1) * 8
        if nxt != 6:
            return  # a fragment header (44) or another protocol
        src, dst = d[off + 8:off + 24], d[off + 24:off + 40]
    if l4 + 20 > end:
        return
    doff = (d[l4 + 12] >> 4) * 4
    if doff < 20 or l4 + doff > end:
        return
    sport, dport, seq = struct.unpack_from('!HHI', d, l4)
    p.tcp = True
    p.v6 = v == 6
    p.l2 = d[:off]
    p.iphdr = d[off:l4]
    p.tcphdr = d[l4:l4 + doff]
    p.payload = d[l4 + doff:end]
    p.trailer = d[end:]
    p.flags = d[l4 + 13]
    p.seq = seq
    a, b = (src, sport), (dst, dport)
    p.fwd = a <= b
    p.key = (v, a, b) if p.fwd else (v, b, a)


def rebuild(t, seq, payload, flags=None):
    """A new segment from template packet t: other seq, payload (and flags); lengths and checksums
    computed afresh."""
    q = Pkt(t.idx, t.sec, t.frac, 0, 0, b'')
    q.tcp, q.v6, q.l2, q.trailer, q.key, q.fwd = True, t.v6, t.l2, t.trailer, t.key, t.fwd
    q.flags = t.flags if flags is None else flags
    q.seq = seq & 0xffffffff
    q.payload = payload
    q.origin, q.client = t.origin, t.client
    th = bytearray(t.tcphdr)
    struct.pack_into('!I', th, 4, q.seq)
    th[13] = q.flags
    th[16:18] = b'\0\0'
    ip = bytearray(t.iphdr)
    seglen = len(th) + len(payload)
    if t.v6:
        struct.pack_into('!H', ip, 4, len(ip) - 40 + seglen)
        src, dst = bytes(ip[8:24]), bytes(ip[24:40])
        pseudo = src + dst + struct.pack('!IxxxB', seglen, 6)
    else:
        struct.pack_into('!H', ip, 2, len(ip) + seglen)
        ip[10:12] = b'\0\0'
        struct.pack_into('!H', ip, 10, csum(bytes(ip)))
        src, dst = bytes(ip[12:16]), bytes(ip[16:20])
        pseudo = src + dst + struct.pack('!xBH', 6, seglen)
    struct.pack_into('!H', th, 16, csum(pseudo + bytes(th) + payload))
    q.iphdr, q.tcphdr = bytes(ip), bytes(th)
    q.data = q.l2 + q.iphdr + q.tcphdr + payload + q.trailer
    q.caplen = q.origlen = len(q.data)
    return q


def is_data(p):
    return len(p.payload) > 0


def is_pure_ack(p):
    return not p.payload and (p.flags & (SYN | FIN | RST | URG)) == 0 and p.flags & ACK


def perturb_instance(pk, rng, rates, drop_acks, st):
    """pk: the packets of one connection instance, in capture order. Returns the new order."""
    n = len(pk)
    hi = n
    for i, p in enumerate(pk):
        if p.flags & (FIN | RST):
            hi = i
            break
    syns = [i for i, p in enumerate(pk[:hi]) if p.flags & SYN]
    if syns:
        lo = syns[-1]
    else:
        # a follower that joins mid-stream starts at the first data it sees in each direction:
        # everything up to the first data segment of each direction stays where it is
        firsts = {}
        for i, p in enumerate(pk[:hi]):
            if p.payload or p.fwd not in firsts:
                if p.payload and firsts.get(('data', p.fwd)) is None:
                    firsts[('data', p.fwd)] = i
                firsts.setdefault(p.fwd, i)
        lo = max(firsts.values()) if firsts else hi
    head, r, tail = pk[:lo + 1], pk[lo + 1:hi], pk[hi:]
    if not r:
        return pk
    rs, rd, ru, ro, rp, rc = rates
    ndata = sum(1 for p in r if is_data(p))
    if ndata == 0:
        return pk

    nclient = sum(1 for p in r if is_data(p) and p.client)

    def count(rate, n=ndata):  # at least one of each kind asked for, even in a short connection
        return max(1, int(rate * n + rng.random())) if rate > 0 else 0

    def crosses(p, q):  # may p and q not change order?
        return is_data(p) and is_data(q) and p.fwd != q.fwd

    # 1. adjacent swaps (a few tries each: a swap of a command with its reply is not allowed)
    for _ in range(count(rs)):
        for _try in range(8):
            if len(r) < 2:
                break
            i = rng.randrange(len(r) - 1)
            if not crosses(r[i], r[i + 1]):
                r[i], r[i + 1] = r[i + 1], r[i]
                st['swaps'] += 1
                break
    # 2. delays of 5 to 30 positions (never past a data segment of the other direction)
    for _ in range(count(rd)):
        for _try in range(8):
            cand = [i for i, p in enumerate(r) if is_data(p)]
            i = rng.choice(cand)
            want = rng.randint(5, 30)
            j = i
            while j + 1 < len(r) and j - i < want and not crosses(r[i], r[j + 1]):
                j += 1
            if j - i >= 5:
                p = r.pop(i)
                r.insert(j, p)
                st['delays'] += 1
                break
    # 3. splits, second half first
    for _ in range(count(rp)):
        cand = [i for i, p in enumerate(r) if len(p.payload) >= 2 and not p.flags & URG]
        if not cand:
            break
        i = rng.choice(cand)
        p = r[i]
        cut = rng.randint(1, len(p.payload) - 1)
        first = rebuild(p, p.seq, p.payload[:cut], p.flags & ~PSH)
        second = rebuild(p, p.seq + cut, p.payload[cut:])
        r[i:i + 1] = [second, first]
        st['splits'] += 1

    def pos_of(origins):
        return max(i for i, p in enumerate(r) if p.origin in origins)

    # 4. overlapping re-packetized retransmissions: end of k + start of k+1, after both
    orig_data = [p for p in pk[lo + 1:hi] if is_data(p) and not p.flags & URG]
    pairs = []
    for fwd in (True, False):
        segs = sorted((p for p in orig_data if p.fwd == fwd), key=lambda p: p.seq)
        for a, b in zip(segs, segs[1:]):
            if (a.seq + len(a.payload)) & 0xffffffff == b.seq and len(a.payload) >= 2 and len(b.payload) >= 2:
                pairs.append((a, b))
    for _ in range(count(ro)):
        if not pairs:
            break
        a, b = rng.choice(pairs)
        ha = len(a.payload) // 2
        q = rebuild(b, a.seq + ha, a.payload[ha:] + b.payload[:len(b.payload) // 2])
        j = pos_of({a.origin, b.origin}) + 1 + rng.randint(0, 10)
        r.insert(min(j, len(r)), q)
        st['overlaps'] += 1
    # 5. exact duplicates (any direction), then duplicated client segments
    for what, rate, sel, n in (('duplicates', ru, None, ndata), ('client_duplicates', rc, 'client', nclient)):
        for _ in range(count(rate, n)):
            cand = [i for i, p in enumerate(r) if is_data(p) and (sel is None or p.client)]
            if not cand:
                break
            i = rng.choice(cand)
            j = i + 1 + rng.randint(0, 30)
            r.insert(min(j, len(r)), r[i])
            st[what] += 1
    # 6. pure ACKs left out
    if drop_acks > 0:
        kept = []
        for p in r:
            if is_pure_ack(p) and rng.random() < drop_acks:
                st['acks_dropped'] += 1
                continue
            kept.append(p)
        r = kept
    return head + r + tail


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description='rewrite a capture with seeded TCP perturbations')
    ap.add_argument('inp')
    ap.add_argument('out')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--drop-acks', type=float, default=0.0)
    ap.add_argument('--no-perturb', action='store_true')
    ap.add_argument('--cut', type=int, default=0)
    ap.add_argument('--stats', action='store_true')
    ap.add_argument('--swap', action='append', default=[])
    ap.add_argument('--rates', default='0.055,0.025,0.028,0.028,0.024,0.1')
    a = ap.parse_args(argv)
    rates = [float(x) for x in a.rates.split(',')]
    if len(rates) != 6:
        ap.error('--rates takes 6 numbers')
    swaps = [tuple(int(x) for x in w.split(',')) for w in a.swap]
    rewrite(a.inp, a.out, a.seed, a.drop_acks, a.cut, not a.no_perturb, rates, a.stats, swaps)
    return 0


DEFAULT_RATES = (0.055, 0.025, 0.028, 0.028, 0.024, 0.1)


def rewrite(inp, out, seed=1, drop_acks=0.0, cut=0, perturbed=True, rates=DEFAULT_RATES, stats=False, swaps=()):
    """The whole tool as a function: read INP, cut and perturb, write OUT."""
    tmp = None
    with open(inp, 'rb') as f:
        magic = f.read(4)
    if magic == b'\x0a\x0d\x0d\x0a':  # pcapng: let Wireshark's editcap convert it
        fd, tmp = tempfile.mkstemp(suffix='.pcap')
        os.close(fd)
        subprocess.run(['editcap', '-F', 'pcap', inp, tmp], check=True)
        inp = tmp
    try:
        hdr, e, linktype, pkts = read_pcap(inp)
    finally:
        if tmp:
            os.unlink(tmp)
    for x, y in swaps:
        pkts[x - 1], pkts[y - 1] = pkts[y - 1], pkts[x - 1]
    if swaps:
        last = (0, 0)
        for i, p in enumerate(pkts):
            if (p.sec, p.frac) < last:
                pkts[i] = Pkt(p.idx, last[0], last[1], p.caplen, p.origlen, p.data)
            last = (pkts[i].sec, pkts[i].frac)
    pkts = pkts[cut:]
    if perturbed:
        pkts = perturb(pkts, linktype, e, seed, rates, drop_acks, stats)
    write_pcap(out, hdr, e, pkts)
    return len(pkts)


def perturb(pkts, linktype, e, seed, rates, drop_acks, stats):
    rng = random.Random(seed)
    groups = {}
    for p in pkts:
        parse(p, linktype, e)
        if p.tcp:
            groups.setdefault(p.key, []).append(p)
    keyed = []  # (slot, j, packet)
    for p in pkts:
        if not p.tcp:
            keyed.append((p.idx, 0, p))
    for key in sorted(groups, key=lambda k: groups[k][0].idx):
        g = groups[key]
        # the client is the side that sent the first SYN, else the side not on the lower port
        syn = next((p for p in g if p.flags & SYN and not p.flags & ACK), None)
        if syn is not None:
            cfwd = syn.fwd
        else:
            cfwd = key[1][1] > key[2][1]
        for p in g:
            p.client = p.fwd == cfwd
        # instances: a SYN without ACK after anything but SYNs starts a new connection
        insts, cur = [], []
        for p in g:
            if p.flags & SYN and not p.flags & ACK and any(not q.flags & SYN or q.flags & ACK for q in cur):
                insts.append(cur)
                cur = []
            cur.append(p)
        insts.append(cur)
        out = []
        for inst in insts:
            st = dict.fromkeys(('swaps', 'delays', 'splits', 'overlaps', 'duplicates',
                                'client_duplicates', 'acks_dropped'), 0)
            out += perturb_instance(inst, rng, rates, drop_acks, st)
            if stats:
                sys.stderr.write('perturb: frame %d: %s\n' % (inst[0].idx + 1, ', '.join(
                    '%d %s' % (n, k) for k, n in st.items())))
        slots = [p.idx for p in g]
        m, m2 = len(slots), len(out)
        for j, p in enumerate(out):
            keyed.append((slots[min(m - 1, j * m // m2)], j + 1, p))
    keyed.sort(key=lambda t: (t[0], t[1]))
    res = []
    last = (0, 0)
    for _, _, p in keyed:
        t = (p.sec, p.frac)
        if t < last:
            t = last
        last = t
        q = p if (p.sec, p.frac) == t else Pkt(p.idx, t[0], t[1], p.caplen, p.origlen, p.data)
        res.append(q)
    return res


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
