#!/usr/bin/env python3
"""check-perturb.py ORIGINAL.pcap PERTURBED.pcap - does a copy rewritten by tests/tools/perturb.py
hold the same TCP byte streams as the original?  The segments are decoded by Wireshark (tshark
fields), not by perturb.py nor popflow, and every payload byte is put at its relative sequence
number: each stream must hold the same bytes at the same offsets, and no byte may be carried
twice with two values.  (Not tshark's "follow tcp stream": Wireshark 4.0 leaves out a segment
that shows up after an ACK that covered it, which is one of the perturbations.)  Also checks that the
copy's timestamps never go backwards and that Wireshark finds no bad IPv4 or TCP checksum in it
that the original did not have.  Exit 0 when all holds, 1 otherwise."""
import struct
import subprocess
import sys


def tshark(args):
    r = subprocess.run(['tshark'] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit('check-perturb: tshark %s: %s' % (' '.join(args), r.stderr.strip()))
    return r.stdout


def streams(path):
    """{(stream, sender port): (bytes, covered)}: every TCP payload byte Wireshark decodes, put at
    its relative sequence number (Wireshark's, from the SYN or the first segment seen).  A byte
    carried twice with other values is an error of the tool."""
    out = tshark(['-r', path, '-o', 'tcp.relative_sequence_numbers:TRUE', '-Y', 'tcp.len > 0',
                  '-T', 'fields', '-e', 'tcp.stream', '-e', 'tcp.srcport', '-e', 'tcp.seq',
                  '-e', 'tcp.payload'])
    segs = {}
    for line in out.split('\n'):
        f = line.split('\t')
        if len(f) != 4 or not f[3]:
            continue
        segs.setdefault((int(f[0]), int(f[1])), []).append((int(f[2]), bytes.fromhex(f[3].replace(':', ''))))
    res = {}
    for k, lst in segs.items():
        end = max(s + len(p) for s, p in lst)
        buf, cov = bytearray(end), bytearray(end)
        for s, p in lst:
            for i, c in enumerate(p):
                if cov[s + i] and buf[s + i] != c:
                    raise SystemExit('check-perturb: %s: stream %d port %d: byte %d carried with two values'
                                     % (path, k[0], k[1], s + i))
            buf[s:s + len(p)] = p
            cov[s:s + len(p)] = b'\1' * len(p)
        res[k] = (bytes(buf), bytes(cov))
    return res


def bad_checksums(path):
    out = tshark(['-r', path, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
                  '-Y', 'tcp.checksum.status == 0 || ip.checksum.status == 0', '-T', 'fields',
                  '-e', 'frame.number'])
    return len(out.split())


def times_monotonic(path):
    with open(path, 'rb') as f:
        raw = f.read()
    e = '<' if raw[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    off, last, n = 24, (0, 0), 0
    while off + 16 <= len(raw):
        s, u, cl, _ = struct.unpack_from(e + 'IIII', raw, off)
        n += 1
        if (s, u) < last:
            return 'frame %d goes back in time' % n
        last = (s, u)
        off += 16 + cl
    return None


def main(a, b):
    bad = []
    sa, sb = streams(a), streams(b)
    if sorted(sa) != sorted(sb):
        bad.append('TCP streams and senders differ: %s in the original, %s in the copy' % (sorted(sa), sorted(sb)))
    for k in sorted(set(sa) & set(sb)):
        (x, cx), (y, cy) = sa[k], sb[k]
        if x != y or cx != cy:
            i = next((i for i in range(min(len(x), len(y))) if x[i] != y[i] or cx[i] != cy[i]), min(len(x), len(y)))
            bad.append('stream %d from port %d: %d bytes (%d captured) in the original, %d (%d captured) in '
                       'the copy, first difference at %d' % (k[0], k[1], len(x), cx.count(1), len(y), cy.count(1), i))
    t = times_monotonic(b)
    if t:
        bad.append(t)
    ca, cb = bad_checksums(a), bad_checksums(b)
    if cb > ca:
        bad.append('%d frames with a bad checksum in the copy, %d in the original' % (cb, ca))
    for x in bad:
        print('check-perturb: %s: %s' % (b, x))
    return 1 if bad else 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
