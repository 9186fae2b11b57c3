#!/usr/bin/env python3
"""compare.py - is what popflow reports for a rewritten capture what it reports for the original?

Usage:
  compare.py reorder REF.json REFDIR GOT.json GOTDIR
      GOT comes from a perturbed copy of REF's capture (tests/tools/perturb.py): the same sessions
      (in the same order), each with the same transactions (command, argument, status, text, code,
      body size and lines, listings, partial flag, UID, announced size, mail header, extracted file
      name), the same credentials, the same loss-type anomalies (gaps with their sizes, conflicting
      retransmissions, bodies cut, replies missing, lines cut, bytes lost in reassembly...), the
      same summary counts, and the extracted files identical byte for byte.
  compare.py cut N REF.json REFDIR GOT.json GOTDIR
      GOT comes from REF's capture without its first N packets (perturb.py --cut N). Sessions that
      ended before the cut are absent; sessions that begin after it are identical (frames shifted by
      N); in a session open at the cut, every transaction whose command is after the cut is reported
      identically (frames shifted; not the UID and announced size, which come from an earlier UIDL
      or LIST) and at the end of the session's list, and what comes before them is only partial
      transactions, replies without their command, or what the bytes of the exchange in progress
      at the cut look like without its beginning (a SASL line taken for a command); no gap nor lost bytes appear
      that the original did not have; each extracted file of a reported complete transaction is
      identical.
Prints the differences; exit status 0 when none, 1 otherwise, 2 on bad input.
"""
import json
import os
import sys

TXN_KEYS = ('command', 'argument', 'status', 'text', 'response_code', 'multiline', 'body_octets',
            'body_lines', 'lines', 'partial', 'uid', 'announced_octets', 'announced_by', 'mail',
            'capabilities', 'sasl')
SESSION_KEYS = ('client', 'server', 'ip_version', 'end_reason', 'handshake', 'protocol', 'greeting',
                'utf8', 'language')
# anomalies that say something was lost or cut: perturbation must neither add nor remove them
LOSS_ANOMALIES = {'gap', 'reassembly_lost', 'conflicting_retransmission', 'body_cut', 'no_reply',
                  'unterminated_line', 'midstream_skip', 'not_reassembled', 'evicted',
                  'unsolicited_reply', 'size_mismatch', 'not_pop3', 'data_after_close',
                  'segment_log_full', 'transaction_limit'}
CONTEXT_KEYS = ('uid', 'announced_octets', 'announced_by')
SUMMARY_KEYS = ('sessions', 'transactions', 'connection_attempts', 'other_tcp_connections',
                'reassembler_warnings')
CRED_KEYS = ('mechanism', 'user', 'authzid', 'secret_type', 'secret', 'cleartext', 'challenge',
             'outcome', 'response_code', 'reply', 'note', 'transaction', 'user_transaction')


def load(path):
    sessions, summary = [], None
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                o = json.loads(line)
            except ValueError as e:
                raise SystemExit('compare: %s:%d: not JSON: %s' % (path, n, e))
            if o.get('type') == 'session':
                sessions.append(o)
            elif o.get('type') == 'summary':
                summary = o
    if summary is None:
        raise SystemExit('compare: %s: no summary line (popflow did not finish?)' % path)
    return sessions, summary


def txn_view(t, shift=None):
    v = {k: t[k] for k in TXN_KEYS if k in t}
    if 'extracted' in t:
        v['extracted'] = os.path.basename(t['extracted'])
    if shift is not None:
        for k in ('command_frame', 'reply_frame'):
            if t.get(k) is not None:
                v[k] = t[k] - shift
            elif k in t:
                v[k] = None
    return v


def short(t):
    s = '%s %s -> %s' % (t.get('command'), t.get('argument', ''), t.get('status'))
    if t.get('multiline'):
        s += ' [%s octets%s]' % (t.get('body_octets'), ', partial' if t.get('partial') else '')
    elif t.get('partial'):
        s += ' [partial]'
    return s


def anomalies(s, txn_map=None):
    out = []
    for a in s.get('anomalies', []):
        if a.get('type') in LOSS_ANOMALIES:
            out.append((a.get('type'), a.get('dir'), a.get('transaction'), a.get('detail')))
    return sorted(out, key=repr)


def creds(s):
    return [{k: c[k] for k in CRED_KEYS if k in c} for c in s.get('credentials', [])]


def diff_list(name, a, b, out, fmt=repr):
    if a == b:
        return
    out.append('%s differ:' % name)
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            out.append('  [%d] original: %s' % (i + 1, fmt(x) if x is not None else '(none)'))
            out.append('  [%d] rewritten: %s' % (i + 1, fmt(y) if y is not None else '(none)'))
            if isinstance(x, dict) and isinstance(y, dict):
                keys = sorted(set(x) | set(y))
                out.append('       fields: ' + ', '.join('%s %r != %r' % (k, x.get(k), y.get(k))
                                                        for k in keys if x.get(k) != y.get(k)))


def same_file(a, b):
    try:
        with open(a, 'rb') as f:
            x = f.read()
        with open(b, 'rb') as f:
            y = f.read()
    except OSError as e:
        return str(e)
    if x == y:
        return None
    i = next((i for i in range(min(len(x), len(y))) if x[i] != y[i]), min(len(x), len(y)))
    return '%d and %d bytes, first difference at byte %d' % (len(x), len(y), i)


def sess_name(s):
    return 'session %s (%s:%s -> %s:%s)' % (s['session'], s['client']['ip'], s['client']['port'],
                                            s['server']['ip'], s['server']['port'])


def compare_reorder(ref, refdir, got, gotdir):
    (rs, rsum), (gs, gsum) = ref, got
    out = []
    for k in SUMMARY_KEYS:
        if rsum.get(k) != gsum.get(k):
            out.append('summary %s: original %r, rewritten %r' % (k, rsum.get(k), gsum.get(k)))
    if len(rs) != len(gs):
        out.append('%d sessions in the original, %d in the rewritten copy' % (len(rs), len(gs)))
        for s in gs[len(rs):]:
            out.append('  extra: %s, %d transactions, handshake %s, ended by %s' % (
                sess_name(s), len(s['transactions']), s.get('handshake'), s.get('end_reason')))
    rs_sorted = sorted(rs, key=lambda s: s['session'])
    gs_sorted = sorted(gs, key=lambda s: s['session'])
    for a, b in zip(rs_sorted, gs_sorted):
        name = sess_name(a)
        sub = []
        for k in SESSION_KEYS:
            if a.get(k) != b.get(k):
                sub.append('%s: original %r, rewritten %r' % (k, a.get(k), b.get(k)))
        if (a.get('tls') or {}).get('start_offset') != (b.get('tls') or {}).get('start_offset'):
            sub.append('tls.start_offset: original %r, rewritten %r' % (
                (a.get('tls') or {}).get('start_offset'), (b.get('tls') or {}).get('start_offset')))
        diff_list('transactions', [txn_view(t) for t in a['transactions']],
                  [txn_view(t) for t in b['transactions']], sub, fmt=short)
        aa, ab = anomalies(a), anomalies(b)
        if aa != ab:
            sub.append('loss anomalies differ (type, dir, transaction, detail):')
            for x in aa:
                if x not in ab:
                    sub.append('  only in the original: %r' % (x,))
            for x in ab:
                if x not in aa:
                    sub.append('  only in the rewritten copy: %r' % (x,))
            if sorted(set(aa)) == sorted(set(ab)):
                sub.append('  (the same anomalies, other counts: %d and %d)' % (len(aa), len(ab)))
        diff_list('credentials', creds(a), creds(b), sub)
        for t in a['transactions']:
            if 'extracted' in t:
                fa = os.path.join(refdir, os.path.basename(t['extracted']))
                fb = os.path.join(gotdir, os.path.basename(t['extracted']))
                d = same_file(fa, fb)
                if d:
                    sub.append('extracted %s: %s' % (os.path.basename(fa), d))
        if sub:
            out.append(name + ':')
            out += ['  ' + x for x in sub]
    fa = sorted(os.listdir(refdir)) if refdir else []
    fb = sorted(os.listdir(gotdir)) if gotdir else []
    if fa != fb:
        out.append('extracted files: only in original %s; only in rewritten %s' % (
            sorted(set(fa) - set(fb)), sorted(set(fb) - set(fa))))
    return out


def compare_cut(n, ref, refdir, got, gotdir):
    (rs, rsum), (gs, gsum) = ref, got
    out = []
    if gsum.get('reassembler_warnings') != rsum.get('reassembler_warnings'):
        out.append('summary reassembler_warnings: original %r, cut %r' % (
            rsum.get('reassembler_warnings'), gsum.get('reassembler_warnings')))
    expect = []  # (ref session, whole) for sessions that should appear
    for s in rs:
        if s['last_frame'] <= n:
            continue
        expect.append((s, s['first_frame'] > n))
    gs_left = list(gs)
    for s, whole in expect:
        name = sess_name(s)
        # the rewritten session with the same client and server, in order
        m = next((g for g in gs_left if g['client'] == s['client'] and g['server'] == s['server']), None)
        if m is None:
            if not whole and not any((t.get('command_frame') or 0) > n for t in s['transactions']):
                continue  # nothing of POP3 left after the cut
            later = [t for t in s['transactions'] if (t.get('command_frame') or 0) > n]
            out.append('%s: not reported at all after a cut at packet %d (%d transactions after the cut)'
                       % (name, n, len(later)))
            for t in later[:5]:
                out.append('  missing: ' + short(t))
            continue
        gs_left.remove(m)
        sub = []
        if whole:
            keys = SESSION_KEYS
        else:
            keys = ('client', 'server', 'ip_version', 'end_reason', 'protocol')
        for k in keys:
            if s.get(k) == m.get(k):
                continue
            if k == 'protocol' and not whole and (s.get(k), m.get(k)) == ('tls', 'pop3s'):
                continue  # cut after STLS: TLS from the first byte captured (STLS itself is checked below)
            sub.append('%s: original %r, cut %r' % (k, s.get(k), m.get(k)))
        after = [t for t in s['transactions'] if t.get('command_frame') is not None and t['command_frame'] > n]
        if whole:
            after = s['transactions']
        ra = [txn_view(t, shift=n) for t in after]
        ma = m['transactions']
        mv = [txn_view(t, shift=0) for t in ma]
        for v in ra + mv:  # session numbers differ after a cut: the files are compared below
            v.pop('extracted', None)
        # what an earlier transaction told (UIDL's ids, LIST's sizes) is lost with it
        for v in ra + mv:
            for key in CONTEXT_KEYS:
                v.pop(key, None)
        k = len(ma) - len(ra)
        if k < 0 or mv[k:] != ra:
            diff_list('transactions after the cut (original, frames shifted by %d; cut capture)' % n,
                      ra, mv[max(k, 0):], sub, fmt=short)
        else:
            # the exchange in progress at the cut ends with the reply to its last command
            inprog = [t for t in s['transactions'] if t.get('command_frame') is not None and t['command_frame'] <= n]
            end = max([t.get('reply_frame') or 0 for t in inprog] + [n]) - n
            for t in ma[:k]:
                inside = max(t.get('command_frame') or 0, t.get('reply_frame') or 0) <= end
                if whole or not (t.get('partial') or t.get('command') is None or inside):
                    sub.append('before the transactions after the cut: %s is neither partial, nor a '
                               'reply without its command, nor made of the exchange in progress '
                               '(which ends at frame %d of the cut capture)' % (short(t), end))
            for t, u in zip(after, ma[k:]):
                if 'extracted' in t and not t.get('partial'):
                    if 'extracted' not in u:
                        sub.append('%s: not extracted in the cut capture' % short(t))
                        continue
                    d = same_file(os.path.join(refdir, os.path.basename(t['extracted'])),
                                  os.path.join(gotdir, os.path.basename(u['extracted'])))
                    if d:
                        sub.append('extracted %s: %s' % (os.path.basename(t['extracted']), d))
        for typ in ('gap', 'reassembly_lost', 'conflicting_retransmission'):
            na = [x for x in anomalies(s) if x[0] == typ]
            nb = [x for x in anomalies(m) if x[0] == typ]
            if len(nb) > len(na):
                sub.append('%d %s anomalies, %d in the original: %s' % (len(nb), typ, len(na), nb[:5]))
        if sub:
            out.append('%s (%s the cut at packet %d):' % (name, 'after' if whole else 'open at', n))
            out += ['  ' + x for x in sub]
    for g in gs_left:
        out.append('extra session in the cut capture: %s, %d transactions, ended by %s' % (
            sess_name(g), len(g['transactions']), g.get('end_reason')))
    return out


def main(argv):
    if len(argv) == 5 and argv[0] == 'reorder':
        out = compare_reorder(load(argv[1]), argv[2], load(argv[3]), argv[4])
    elif len(argv) == 6 and argv[0] == 'cut':
        out = compare_cut(int(argv[1]), load(argv[2]), argv[3], load(argv[4]), argv[5])
    else:
        sys.stderr.write(__doc__)
        return 2
    for line in out[:200]:
        print(line)
    if len(out) > 200:
        print('... %d more lines' % (len(out) - 200))
    return 1 if out else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
