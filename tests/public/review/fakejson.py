#!/usr/bin/env python3
"""Write the reference reading (pop3ref.py) of a capture as JSON Lines in
popflow's contract.  Used only to test digest.py and run.sh before popflow
exists:  POPFLOW=tests/public/review/fakepopflow tests/public/run.sh
It is NOT an oracle for popflow: it feeds the digest back to itself."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pop3ref  # noqa: E402


def main(path):
    n = 0
    for n, s in enumerate(pop3ref.sessions(path), 1):
        txns = []
        for t in s.txs:
            d = {'command': t.cmd, 'argument': t.arg.decode('latin-1'),
                 'status': t.status, 'text': t.text.decode('latin-1'),
                 'multiline': t.multi, 'partial': t.partial or t.status is None}
            if t.multi:
                d['body_octets'] = t.octets
                d['body_lines'] = t.lines
            txns.append(d)
        c = s.c
        g = None
        if s.greeting:
            g = {'status': s.greeting[0], 'text': s.greeting[1].decode('latin-1')}
        obj = {'type': 'session', 'session': n,
               'client': {'ip': c.cli[0], 'port': c.cli[1]},
               'server': {'ip': c.srv[0], 'port': c.srv[1]},
               'ip_version': 6 if ':' in c.cli[0] else 4,
               'start': '1970-01-01T00:00:00Z', 'end': '1970-01-01T00:00:00Z',
               'end_reason': 'rst' if c.rst else ('fin' if c.fin['c'] and c.fin['s'] else 'eof'),
               'first_frame': c.first_frame,
               'protocol': 'tls' if s.tls else 'pop3',
               'greeting': g, 'transactions': txns,
               'anomalies': [{'type': 'note', 'detail': str(a[1])} for a in s.anom]}
        print(json.dumps(obj))
    print(json.dumps({'type': 'summary', 'sessions': n}))


if __name__ == '__main__':
    main(sys.argv[1])
