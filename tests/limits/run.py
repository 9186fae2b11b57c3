#!/usr/bin/env python3
"""run.py [CASE...] - the limits README states hold in time as well as in memory (issue 12).

Each case runs popflow ($POPFLOW, default ./popflow) on a small and a 4 times larger input made
at test time by tests/limits/gen.py, checks the JSON report of the larger one, and checks that,
for the text report (as README's figures), CPU time
(user + system) and peak resident set size (ru_maxrss of the child, as /usr/bin/time -f %M) grow
at most linearly: big/small CPU under TIME_RATIO (8: linear work gives about 4, quadratic 16;
the small run counts as at least MIN_CPU seconds, so startup and noise on a shared 2-core
machine cannot fail a run of a few milliseconds), big/small RSS under RSS_RATIO (6), and, with
the normal build, the big run's RSS under the bound README states. A ratio that fails is
measured once more (the lower time of the two runs counts) before it is reported.

  longline   a server line of 100,000,000 octets without a line ending (small: 25,000,000)
             where the reply to USER belongs, then CRLF and QUIT -> +OK bye: USER is answered by
             a line that is not POP3 (reply_not_pop3), QUIT by "+OK bye"; line_too_long states
             the length. Memory stays that of a short session (the line is not kept).
  pipelined  200,000 pipelined NOOPs never answered (small: 50,000): at most 100,000 kept, the
             rest counted (transactions_not_listed; the summary counts all of them).
  sessions   100,000 connections, handshake only, all open at the end (small: 25,000): each is
             a session.
  ipv6ext    500 IPv6 SYNs with 8,000 extension headers each (small: 2,000): each frame is
             malformed ("too many IPv6 extension headers", the limit is 8), no session.
  frags      100,000 IPv4 fragments that never complete (small: 25,000): 1% first fragments of
             as many datagrams (256 held at once), the rest 8-octet fragments of one datagram
             (its first and last, then 64 others again and again, a hole never filled): every
             fragment is counted and reported as a problem, nothing is put together. (A list of
             fragments walked per fragment made this quadratic: 100,000 took 12 times the CPU of
             25,000.)

Under AddressSanitizer ($POPFLOW built with it, as make asan runs it) the inputs are the same,
so the caps are reached under the sanitizer too (about 100 s in all, most of it making the
inputs); the absolute RSS bounds are not checked there (the sanitizer's shadow memory and
quarantine), the ratios are. LIMITS_SCALE=N divides every input size by N (a quick look; the
numbers README states are for N = 1). Exit status 0 when every check passes.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
POPFLOW = os.environ.get('POPFLOW', './popflow')
TIME_RATIO, RSS_RATIO, MIN_CPU = 8.0, 6.0, 0.1
TIMEOUT = 120  # wall seconds for one run: far beyond a linear run, well within a quadratic one
failures = []


def asan():
    try:
        with open(POPFLOW, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


ASAN = asan()
SCALE = int(os.environ.get('LIMITS_SCALE', 1))


def fail(msg):
    failures.append(msg)
    print('FAIL: ' + msg)


def gen(what, path, n):
    subprocess.run([sys.executable, os.path.join(HERE, 'gen.py'), what, path, str(n)], check=True)


def measure(pcap, out, fmt='text'):
    """popflow -T fmt on pcap into out: (cpu seconds, peak RSS in KiB, exit status).

    /usr/bin/time measures: the peak RSS Linux reports for a child starts from what its parent
    held when it was forked (or, with vfork, all the parent holds), and this script's own
    memory grows with the outputs it reads; time(1) is small."""
    usage = pcap + '.time'
    cmd = ['/usr/bin/time', '-q', '-f', '%U %S %M %x', '-o', usage, 'timeout', '-s', 'KILL', str(TIMEOUT),
           POPFLOW, '-r', pcap, '-q', '-T', fmt, '-o', out]
    with open(pcap + '.err', 'wb') as err:
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=err)
    with open(pcap + '.err', 'rb') as f:
        e = f.read()
    with open(usage) as f:
        u = f.read().split()
    cpu, rss, status = float(u[-4]) + float(u[-3]), int(u[-2]), int(u[-1])
    if status == 137:
        fail('%s: killed after %d s' % (os.path.basename(pcap), TIMEOUT))
    elif status not in (0, 2, 4) or re.search(rb'AddressSanitizer|LeakSanitizer|runtime error', e):
        fail('%s: exit status %d: %s' % (os.path.basename(pcap), status, e[-2000:].decode('utf-8', 'replace')))
    return cpu, rss, status


def load(out):
    sessions, summary = [], None
    with open(out, encoding='utf-8') as f:
        for line in f:
            o = json.loads(line)
            if o['type'] == 'session':
                sessions.append(o)
            else:
                summary = o
    return sessions, summary


def expect(what, cond, detail=''):
    if not cond:
        fail('%s%s' % (what, ': ' + detail if detail else ''))


def check_longline(n, sessions, summary):
    expect('longline: one session', len(sessions) == 1, '%d' % len(sessions))
    if len(sessions) != 1:
        return
    t = sessions[0]['transactions']
    got = [(x['command'], x['status'], x.get('reply_not_pop3', False), x['text'][:8]) for x in t]
    expect('longline: USER answered by the line, QUIT by +OK bye',
           got == [('USER', None, True, 'AAAAAAAA'), ('QUIT', '+OK', False, 'bye')], repr(got))
    an = sessions[0]['anomalies']
    expect('longline: line_too_long states the length',
           any(a['type'] == 'line_too_long' and a['transaction'] == 1 and
               a['detail'].startswith('%d octets with CRLF' % (n + 2)) for a in an), repr(an)[:400])
    expect('longline: not_a_status on USER', any(a['type'] == 'not_a_status' and a['transaction'] == 1
                                                 for a in an), repr(an)[:400])


def check_pipelined(n, sessions, summary):
    expect('pipelined: one session', len(sessions) == 1, '%d' % len(sessions))
    if len(sessions) != 1:
        return
    s = sessions[0]
    kept, dropped = len(s['transactions']), s.get('transactions_not_listed', 0)
    expect('pipelined: at most 100,000 transactions kept', kept <= 100000, '%d' % kept)
    expect('pipelined: kept + not listed = commands', kept + dropped == n, '%d + %d != %d' % (kept, dropped, n))
    expect('pipelined: the summary counts every transaction', summary['transactions'] == n,
           '%d' % summary['transactions'])
    last = s['transactions'][-1]
    expect('pipelined: the last NOOP is kept, without reply',
           last['id'] == n and last['argument'] == str(n - 1) and last['status'] is None and last['partial'],
           repr(last)[:300])
    if n > 100000:
        expect('pipelined: transaction_limit listed (even past 1000 anomalies)',
               any(a['type'] == 'transaction_limit' for a in s['anomalies']))


def check_sessions(n, sessions, summary):
    expect('sessions: every connection a session', summary['sessions'] == n and len(sessions) == n,
           '%d / %d' % (summary['sessions'], len(sessions)))


def check_ipv6ext(n, sessions, summary):
    expect('ipv6ext: every frame malformed, no session',
           summary['malformed_frames'] == 500 and summary['sessions'] == 0 and summary['packets'] == 500,
           repr(summary))


def check_frags(n, sessions, summary):
    expect('frags: every fragment counted and a problem, nothing put together',
           summary['fragments'] == n and summary['fragment_problems'] == n and
           summary['reassembled_datagrams'] == 0 and summary['sessions'] == 0, repr(summary))


# name, small input, big input, RSS bound of the big run in MiB (normal build; README's limits)
CASES = [
    ('longline', 25000000, 100000000, 64),
    ('pipelined', 50000, 200000, 200),
    ('sessions', 25000, 100000, 400),
    ('ipv6ext', 2000, 8000, 64),
    ('frags', 25000, 100000, 128),
]
CHECKS = {'longline': check_longline, 'pipelined': check_pipelined, 'sessions': check_sessions,
          'ipv6ext': check_ipv6ext, 'frags': check_frags}


def run_case(tmp, name, small, big, rss_mb):
    if name != 'ipv6ext':  # its size is headers per packet: the same under ASan
        small, big = small // SCALE, big // SCALE
    res = {}
    for n in (small, big):
        pcap, out = os.path.join(tmp, '%s-%d.pcap' % (name, n)), os.path.join(tmp, '%s-%d.json' % (name, n))
        gen(name, pcap, n)
        cpu, rss, status = measure(pcap, '/dev/null')  # the text report, as README's figures
        res[n] = [cpu, rss, pcap, out]
        if n == small:
            continue
        _, _, status = measure(pcap, out, 'json')  # what the big input gave, checked
        if status in (0, 2, 4):
            try:
                sessions, summary = load(out)
                CHECKS[name](n, sessions, summary)
            except (OSError, ValueError, KeyError, TypeError) as e:
                fail('%s %d: output not as expected: %r' % (name, n, e))
    for attempt in (1, 2):
        (cs, rs), (cb, rb) = res[small][:2], res[big][:2]
        tr, rr = cb / max(cs, MIN_CPU), rb / max(rs, 1)
        if (tr < TIME_RATIO and rr < RSS_RATIO) or attempt == 2:
            break
        for n in (small, big):  # once more: a busy machine, not the program, may have been slow
            cpu, rss, _ = measure(res[n][2], '/dev/null')
            res[n][0], res[n][1] = min(res[n][0], cpu), min(res[n][1], rss)
    print('limits %-9s %10d: %6.2f s %7.1f MiB   %10d: %6.2f s %7.1f MiB   ratio: time %.2f, rss %.2f' % (
        name, small, cs, rs / 1024, big, cb, rb / 1024, tr, rr))
    expect('%s: CPU time %.2f s for %d is %.1f times that for %d (limit %.0f)' % (name, cb, big, tr, small, TIME_RATIO),
           tr < TIME_RATIO)
    expect('%s: peak RSS %.1f MiB for %d is %.1f times that for %d (limit %.0f)' % (
        name, rb / 1024, big, rr, small, RSS_RATIO), rr < RSS_RATIO)
    if not ASAN:
        expect('%s: peak RSS %.1f MiB for %d, README states at most %d MiB' % (name, rb / 1024, big, rss_mb),
               rb < rss_mb * 1024)
    for n in (small, big):
        for f in (res[n][2], res[n][3], res[n][2] + '.err', res[n][2] + '.time'):
            if os.path.exists(f):
                os.unlink(f)


def main(argv):
    names = argv or [c[0] for c in CASES]
    for n in names:
        if n not in CHECKS:
            sys.exit('unknown case %s (%s)' % (n, ' '.join(CHECKS)))
    with tempfile.TemporaryDirectory(prefix='popflow-limits.') as tmp:
        for c in CASES:
            if c[0] in names:
                run_case(tmp, *c)
    print('limits: %d cases, %d failed checks%s' % (
        len(names), len(failures), ' (AddressSanitizer build: RSS bounds not checked)' if ASAN else ''))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
