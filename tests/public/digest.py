#!/usr/bin/env python3
"""Turn popflow's JSON Lines output (stdin) into the reviewed digest format (stdout).

    popflow -r capture.pcap -T json | tests/public/digest.py

Input: one JSON object per line: {"type":"session",...} objects, then one
{"type":"summary",...} line (see tests/public/README.md for the fields read).
Output, one block per session, sessions sorted by first_frame:

    session C > S greeting=+OK|-ERR|none[ tls]        (protocol pop3 / tls)
    session C > S pop3s                               (protocol pop3s)
    session C > S not-pop3                            (protocol not-pop3)
      CMD "argument" -> +OK|-ERR|none[ multiline octets=N lines=N][ partial]
      (none) -> +OK                                   (reply without a command)

Arguments: `"` and `\\` are escaped with a backslash, bytes outside 0x20-0x7E
are written \\xHH.  PASS arguments print as <secret>; APOP as "name <secret>";
AUTH as "MECH" or "MECH <secret>" when an initial response follows.
` partial` is printed only for a reply that exists (status +OK/-ERR) and is
cut short; a missing reply is already `none`.

Exit status: 0 on success, 2 on malformed input (missing keys, bad JSON, no
summary line), with a message on stderr naming the line.
"""
import json
import sys

SESSION_KEYS = ('client', 'server', 'first_frame', 'protocol', 'greeting', 'transactions')
PROTOCOLS = ('pop3', 'pop3s', 'tls', 'not-pop3')


class DigestError(Exception):
    pass


def need(obj, key, where, types=None):
    if not isinstance(obj, dict):
        raise DigestError('%s: expected an object, got %s' % (where, type(obj).__name__))
    if key not in obj:
        raise DigestError('%s: missing key "%s"' % (where, key))
    val = obj[key]
    if types is not None and not isinstance(val, types):
        raise DigestError('%s: key "%s" has type %s' % (where, key, type(val).__name__))
    return val


def esc(s):
    """Escape an argument.  Code points <= U+00FF stand for one byte (a
    Latin-1 mapping of raw bytes); anything above is written as its UTF-8
    bytes.  No argument of the public corpus holds a byte >= 0x80."""
    out = []
    for ch in s:
        c = ord(ch)
        if ch in '"\\':
            out.append('\\' + ch)
        elif 0x20 <= c <= 0x7E:
            out.append(ch)
        elif c <= 0xFF:
            out.append('\\x%02X' % c)
        else:
            out.extend('\\x%02X' % b for b in ch.encode('utf-8', 'surrogatepass'))
    return ''.join(out)


def endpoint(ep, where):
    ip = need(ep, 'ip', where, str)
    port = need(ep, 'port', where, int)
    if ':' in ip:
        return '[%s]:%d' % (ip, port)
    return '%s:%d' % (ip, port)


def argument(cmd, arg):
    if cmd == 'PASS':
        return '<secret>'
    if cmd in ('APOP', 'AUTH'):
        head, sep, _rest = arg.partition(' ')
        return esc(head) + (' <secret>' if sep else '')
    return esc(arg)


def txn_line(t, where):
    cmd = need(t, 'command', where, (str, type(None)))
    status = need(t, 'status', where, (str, type(None)))
    multiline = need(t, 'multiline', where, bool)
    partial = need(t, 'partial', where, bool)
    if cmd is None:
        line = '(none)'
    else:
        cmd = cmd.upper()
        arg = need(t, 'argument', where, str)
        line = '%s "%s"' % (cmd, argument(cmd, arg))
    if status is None:
        line += ' -> none'
    elif status in ('+OK', '-ERR'):
        line += ' -> ' + status
    else:
        raise DigestError('%s: status must be "+OK", "-ERR" or null, got %r' % (where, status))
    if multiline:
        octets = need(t, 'body_octets', where, int)
        lines = need(t, 'body_lines', where, int)
        line += ' multiline octets=%d lines=%d' % (octets, lines)
    if partial and status is not None:
        line += ' partial'
    return '  ' + line


def session_block(s, where):
    for k in SESSION_KEYS:
        need(s, k, where)
    cli = endpoint(s['client'], where + ' client')
    srv = endpoint(s['server'], where + ' server')
    proto = need(s, 'protocol', where, str)
    if proto not in PROTOCOLS:
        raise DigestError('%s: unknown protocol %r' % (where, proto))
    head = 'session %s > %s' % (cli, srv)
    if proto in ('pop3s', 'not-pop3'):
        head += ' ' + proto
    else:
        g = s['greeting']
        if g is None:
            head += ' greeting=none'
        else:
            st = need(g, 'status', where + ' greeting', (str, type(None)))
            if st not in ('+OK', '-ERR'):
                raise DigestError('%s: greeting status must be "+OK" or "-ERR", got %r' % (where, st))
            head += ' greeting=' + st
        if proto == 'tls':
            head += ' tls'
    out = [head]
    txns = need(s, 'transactions', where, list)
    for i, t in enumerate(txns, 1):
        out.append(txn_line(t, '%s transaction %d' % (where, i)))
    return out


def digest(lines):
    sessions = []
    summary = False
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = 'line %d' % n
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise DigestError('%s: not JSON (%s)' % (where, e))
        typ = need(obj, 'type', where, str)
        if summary:
            raise DigestError('%s: data after the summary line' % where)
        if typ == 'session':
            ff = need(obj, 'first_frame', where, int)
            sessions.append((ff, n, session_block(obj, where + ' (session %s)' % obj.get('session', '?'))))
        elif typ == 'summary':
            summary = True
        else:
            raise DigestError('%s: unknown type %r' % (where, typ))
    if not summary:
        raise DigestError('no {"type":"summary"} line: popflow output is incomplete')
    out = []
    for _ff, _n, block in sorted(sessions, key=lambda x: (x[0], x[1])):
        out.extend(block)
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ('-h', '--help'):
        print(__doc__)
        return 0
    try:
        data = sys.stdin.buffer.read()
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError as e:
            raise DigestError('input is not UTF-8 (JSON must be): %s' % e)
        out = digest(text.split('\n'))
    except DigestError as e:
        sys.stderr.write('digest.py: %s\n' % e)
        return 2
    for line in out:
        sys.stdout.write(line + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
