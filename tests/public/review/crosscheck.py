#!/usr/bin/env python3
"""Re-run the checks behind tests/public/expected/*.digest (needs tshark).

For every digest whose capture is found (tests/public/captures/, then
$PUBLIC_CORPUS or ../shared/corpus/public from the repo root):
 1. every TCP stream on port 110/995 is followed with
    `tshark -z follow,tcp,raw,N` and compared with pcapstreams.py: both byte
    streams and the order of direction changes must be identical;
 2. every complete multi-line body is recounted by a second method (regex
    over tshark's server stream: text between a status line and CRLF.CRLF,
    dot-unstuffed) and the multiset of (octets, lines) must equal the digest's
    non-partial multiline lines;
 3. pop3ref.py's reading must equal the digest (comment lines removed).
Prints one line per capture and exits 1 on any mismatch.  It never writes the
digests: they were written and read by hand.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PUB = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(PUB))
sys.path.insert(0, HERE)
import pcapstreams  # noqa: E402
import pop3ref  # noqa: E402
import tsharkfollow  # noqa: E402


def tshark_streams(path):
    out = subprocess.run(['tshark', '-r', path, '-Y', 'tcp.port==110 || tcp.port==995', '-T', 'fields',
                          '-e', 'tcp.stream', '-e', 'frame.number'],
                         capture_output=True, text=True, check=True).stdout
    first = {}
    for line in out.splitlines():
        if line.strip():
            s, f = line.split('\t')
            first.setdefault(int(s), int(f))
    return first


def runs(seq):
    r = []
    for d, b in seq:
        if r and r[-1][0] == d:
            r[-1] = (d, r[-1][1] + b)
        else:
            r.append((d, b))
    return r


def second_count(server):
    res = []
    pos = 0
    for m in re.finditer(rb'\r\n\.\r\n', server):
        lines = server[pos:m.start() + 2].split(b'\r\n')
        idx = [i for i, l in enumerate(lines[:-1]) if l.startswith(b'+OK')]
        if not idx:
            pos = m.end()
            continue
        body = b'\r\n'.join(lines[idx[-1] + 1:])
        unst = re.sub(rb'(^|\r\n)\.', rb'\1', body)
        res.append((len(unst), unst.count(b'\r\n')))
        pos = m.end()
    return res


def check(name, path, digest_path):
    problems = []
    conns = pcapstreams.connections(path)
    for s, f in sorted(tshark_streams(path).items()):
        n0, _n1, ch = tsharkfollow.follow(path, s)
        cand = [c for c in conns if '%s:%d' % c.cli == n0 and c.first_frame <= f]
        if not cand:
            problems.append('stream %d: no own connection' % s)
            continue
        c = max(cand, key=lambda c: c.first_frame)
        if runs(ch) != runs([(d, b) for _f, d, b in c.events]):
            problems.append('stream %d: bytes differ from tshark follow' % s)
        server = b''.join(b for d, b in ch if d == 's')
        # after an accepted STLS the server stream is TLS: stop at the first
        # TLS record header (0x16 0x03) that starts a line
        m = re.search(rb'\r\n\x16\x03', server)
        cut = server[:m.start() + 2] if m else server
        c.second = second_count(cut)
    digest = [l for l in open(digest_path).read().splitlines() if not l.startswith('#')]
    want = sorted((int(a), int(b)) for a, b in
                  (re.search(r'octets=(\d+) lines=(\d+)$', l).groups()
                   for l in digest if re.search(r'octets=\d+ lines=\d+$', l)))
    got = sorted(x for c in conns if hasattr(c, 'second') for x in c.second)
    if want != got:
        problems.append('second count %s != digest %s' % (got[:5], want[:5]))
    ref = []
    for s in pop3ref.sessions(path):
        ref.append(s.header())
        ref.extend('  ' + t.digest() for t in s.txs)
    if ref != digest:
        problems.append('pop3ref reading differs from the digest')
    return problems


def main():
    corpus = os.environ.get('PUBLIC_CORPUS', os.path.join(ROOT, '..', 'shared', 'corpus', 'public'))
    bad = 0
    for fn in sorted(os.listdir(os.path.join(PUB, 'expected'))):
        name = fn[:-len('.digest')]
        path = os.path.join(PUB, 'captures', name)
        if not os.path.exists(path):
            path = os.path.join(corpus, name)
        if not os.path.exists(path):
            print('SKIP %s' % name)
            continue
        p = check(name, path, os.path.join(PUB, 'expected', fn))
        print('%s %s%s' % ('BAD ' if p else 'OK  ', name, (': ' + '; '.join(p)) if p else ''))
        bad += bool(p)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
