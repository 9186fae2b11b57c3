#!/usr/bin/env python3
"""Reference POP3 reading of a capture, used to DRAFT the hand-reviewed digests.

Standard library only; independent of popflow.  Byte streams come from
pcapstreams.py (which was checked byte for byte against `tshark -z follow,tcp,raw`
for every capture of the corpus, see README.md).  The output is a draft: every
digest in ../expected/ was read and checked against `tshark -z follow,tcp,ascii`
before it was written.  With -v it also prints the reply texts, first/last body
lines and anomalies, to make that review possible.

Rules applied (design/pop3-rules.md):
* lines end in LF; a CR before it is stripped (bare LF tolerated, flagged);
* the greeting is the first server line if it arrives before any client
  command, otherwise greeting=none;
* replies are matched FIFO to commands; a server line that is neither
  `+OK`, `-ERR` nor (inside AUTH) a `+` continuation, where a status line is
  expected, is skipped as an anomaly (Zeek does the same);
* multi-line only after +OK to RETR, TOP, CAPA, LIST/UIDL without argument,
  AUTH without mechanism; -ERR is single-line; body ends at a line `.`;
  a body line starting with `.` loses one dot; octets = unstuffed lines + CRLF;
* AUTH: `+` continuations and the client's SASL lines belong to the AUTH
  transaction; the exchange ends at +OK/-ERR;
* STLS answered +OK: the session becomes `tls`, nothing more is parsed;
* resync: while a multi-line body is open, if the client has already sent a
  further command and the server line starts with +OK/-ERR, the open body is
  closed as unterminated (partial) and the line answers the next command.
  (Only zeek-bad-list-retr-crafted triggers this; no capture pipelines.)
* end of capture: an open body is partial, commands without reply are `none`.
"""
import sys
import os
from collections import deque

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapstreams  # noqa: E402

MULTI_ALWAYS = {'RETR', 'TOP', 'CAPA'}
MULTI_NOARG = {'LIST', 'UIDL', 'AUTH'}
SECRET = {'PASS'}


def esc(b):
    out = []
    for x in b:
        if x in (0x22, 0x5C):
            out.append('\\' + chr(x))
        elif 0x20 <= x <= 0x7E:
            out.append(chr(x))
        else:
            out.append('\\x%02X' % x)
    return ''.join(out)


class Tx:
    def __init__(self, cmd, arg, raw, frame):
        self.cmd, self.arg, self.raw, self.frame = cmd, arg, raw, frame
        self.status = None
        self.text = b''
        self.multi = False
        self.octets = 0
        self.lines = 0
        self.partial = False
        self.done = False
        self.sasl = []
        self.body_first = []
        self.body_last = deque(maxlen=3)
        self.stuffed = 0

    def digest(self):
        if self.cmd is None:
            s = '(none)'
        else:
            if self.cmd in SECRET:
                a = '<secret>'
            elif self.cmd == 'APOP':
                parts = self.arg.split(b' ', 1)
                a = esc(parts[0]) + (' <secret>' if len(parts) > 1 else '')
            elif self.cmd == 'AUTH':
                parts = self.arg.split(b' ', 1)
                a = esc(parts[0]) + (' <secret>' if len(parts) > 1 else '')
            else:
                a = esc(self.arg)
            s = '%s "%s"' % (self.cmd, a)
        st = self.status or 'none'
        s += ' -> ' + st
        if self.multi:
            s += ' multiline octets=%d lines=%d' % (self.octets, self.lines)
        if self.partial:
            s += ' partial'
        return s


class Session:
    def __init__(self, conn):
        self.c = conn
        self.greeting = None
        self.greet_done = False
        self.txs = []
        self.pending = deque()
        self.body = None
        self.tls = False
        self.anom = []
        self.buf = {'c': b'', 's': b''}
        self.sasl_wait = None
        self.bare_lf = {'c': 0, 's': 0}
        self.after_tls_bytes = {'c': 0, 's': 0}

    def run(self):
        for frame, d, data in self.c.events:
            if self.tls:
                self.after_tls_bytes[d] += len(data)
                continue
            self.buf[d] += data
            while b'\n' in self.buf[d] and not self.tls:
                line, self.buf[d] = self.buf[d].split(b'\n', 1)
                if line.endswith(b'\r'):
                    line = line[:-1]
                else:
                    self.bare_lf[d] += 1
                (self.client_line if d == 'c' else self.server_line)(line, frame)
            if self.tls:
                rest = self.buf[d]
                self.after_tls_bytes[d] += len(rest)
                self.buf = {'c': b'', 's': b''}
        self.finish()

    def client_line(self, line, frame):
        self.greet_done = True
        if self.sasl_wait is not None:
            self.sasl_wait.sasl.append(line)
            self.sasl_wait = None
            return
        kw, _, arg = line.partition(b' ')
        tx = Tx(kw.decode('latin-1').upper(), arg, line, frame)
        if not line:
            self.anom.append((frame, 'empty client line'))
        self.txs.append(tx)
        self.pending.append(tx)

    def server_line(self, line, frame):
        if not self.greet_done and not self.pending:
            self.greet_done = True
            if line.startswith(b'+OK'):
                self.greeting = ('+OK', line)
            elif line.startswith(b'-ERR'):
                self.greeting = ('-ERR', line)
            else:
                self.greeting = ('?', line)
                self.anom.append((frame, 'greeting not a status line: %r' % line[:60]))
            return
        if self.body is not None:
            tx = self.body
            if len(self.pending) > 1 and (line.startswith(b'+OK') or line.startswith(b'-ERR')):
                tx.partial = True
                self.anom.append((frame, 'resync: %s body unterminated, next status line %r' % (tx.cmd, line[:60])))
                self.body = None
                self.pending.popleft()
                tx.done = True
            else:
                if line == b'.':
                    self.body = None
                    self.pending.popleft()
                    tx.done = True
                    return
                if line.startswith(b'.'):
                    line = line[1:]
                    tx.stuffed += 1
                tx.octets += len(line) + 2
                tx.lines += 1
                if len(tx.body_first) < 3:
                    tx.body_first.append(line)
                tx.body_last.append(line)
                return
        if not self.pending:
            if line.startswith(b'+OK') or line.startswith(b'-ERR'):
                tx = Tx(None, b'', b'', frame)
                tx.status = '+OK' if line.startswith(b'+OK') else '-ERR'
                tx.text = line
                tx.done = True
                self.txs.append(tx)
                self.anom.append((frame, 'unsolicited %r' % line[:60]))
            else:
                self.anom.append((frame, 'server junk, no command pending: %r' % line[:60]))
            return
        tx = self.pending[0]
        if line.startswith(b'+OK') and (len(line) == 3 or line[3:4] in b' \t'):
            tx.status = '+OK'
        elif line.startswith(b'-ERR') and (len(line) == 4 or line[4:5] in b' \t'):
            tx.status = '-ERR'
        elif tx.cmd == 'AUTH' and (line == b'+' or line.startswith(b'+ ')):
            tx.sasl.append(b'S:' + line)
            self.sasl_wait = tx
            return
        else:
            self.anom.append((frame, 'not a status line for %s: %r' % (tx.cmd, line[:60])))
            return
        tx.text = line
        if tx.status == '+OK' and (tx.cmd in MULTI_ALWAYS or (tx.cmd in MULTI_NOARG and not tx.arg.strip())):
            tx.multi = True
            self.body = tx
            return
        self.pending.popleft()
        tx.done = True
        if tx.cmd == 'STLS' and tx.status == '+OK':
            self.tls = True

    def finish(self):
        if self.body is not None:
            self.body.partial = True
        for d in 'cs':
            if self.buf[d]:
                self.anom.append((None, 'unterminated %s line at end: %r' % (d, self.buf[d][:60])))
                # an unterminated last body line still counts as a (partial) body line
                if d == 's' and self.body is not None:
                    self.body.lines += 1
                    self.body.octets += len(self.buf[d]) + 2
                    self.anom.append((None, 'counted the unterminated line in the partial body'))

    def header(self):
        cli = '%s:%d' % self.c.cli
        srv = '%s:%d' % self.c.srv
        if ':' in self.c.cli[0]:
            cli = '[%s]:%d' % self.c.cli
            srv = '[%s]:%d' % self.c.srv
        g = self.greeting[0] if self.greeting else 'none'
        s = 'session %s > %s greeting=%s' % (cli, srv, g)
        if self.tls:
            s += ' tls'
        return s


def sessions(path, ports=(110,)):
    out = []
    for c in pcapstreams.connections(path):
        if c.srv[1] not in ports:
            continue
        has_data = any(True for _ in c.events)
        if not c.synack and not has_data:
            continue  # refused/unanswered attempt or a lone RST: no session
        s = Session(c)
        s.run()
        out.append(s)
    out.sort(key=lambda s: s.c.first_frame)
    return out


def main(argv):
    verbose = '-v' in argv
    argv = [a for a in argv if a != '-v']
    for s in sessions(argv[0]):
        print(s.header())
        if verbose:
            print('    # first_frame=%d tunnel=%r greeting=%r bareLF=%s fin=%s rst=%s after_tls=%s' % (
                s.c.first_frame, s.c.tunnel, s.greeting and s.greeting[1][:90], s.bare_lf,
                s.c.fin, s.c.rst, s.after_tls_bytes))
        for t in s.txs:
            print('  ' + t.digest())
            if verbose:
                raw = t.raw if t.cmd not in ('PASS', 'APOP', 'AUTH') else t.raw[:5] + b'<masked>'
                print('    # frame=%d raw=%r reply=%r sasl_lines=%d' % (t.frame, raw[:80], t.text[:90],
                                                                        len(t.sasl)))
                if t.multi:
                    print('    # first=%r last=%r stuffed=%d' % (t.body_first, list(t.body_last), t.stuffed))
        if verbose:
            for a in s.anom:
                print('    # ANOMALY frame=%s %s' % a)


if __name__ == '__main__':
    main(sys.argv[1:])
