#!/usr/bin/env python3
"""Read `tshark -q -z follow,tcp,raw,N` for one TCP stream and return its chunks.

Returns (node0, node1, [(dir, bytes)]) where dir is 'c' for node 0 (the side
tshark saw first, the client for every capture here) and 's' for node 1.
Consecutive chunks in the same direction are kept separate (one per segment
that tshark delivered)."""
import subprocess
import sys


def follow(path, stream):
    out = subprocess.run(['tshark', '-r', path, '-q', '-z', 'follow,tcp,raw,%d' % stream],
                         check=True, capture_output=True, text=True).stdout
    node = {}
    chunks = []
    started = False
    for line in out.splitlines():
        if line.startswith('Node 0:') or line.startswith('Node 1:'):
            node[line[5]] = line.split(': ', 1)[1]
            started = True
            continue
        if not started or line.startswith('====='):
            continue
        if not line.strip():
            continue
        d = 's' if line.startswith('\t') else 'c'
        chunks.append((d, bytes.fromhex(line.strip())))
    return node.get('0'), node.get('1'), chunks


if __name__ == '__main__':
    n0, n1, ch = follow(sys.argv[1], int(sys.argv[2]))
    print(n0, n1, len(ch), sum(len(b) for d, b in ch if d == 'c'), sum(len(b) for d, b in ch if d == 's'))
