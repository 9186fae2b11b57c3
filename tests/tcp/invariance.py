#!/usr/bin/env python3
"""invariance.py [selfcheck|reorder|midstream|all] - reordering, duplicating, overlapping and
splitting segments, or starting a capture in the middle of a connection, cannot change what
popflow reports.  (Run through tests/tcp/invariance.sh; one Python process for the whole run.)

Environment: POPFLOW (default ./popflow; make asan: ./popflow-asan), SEEDS (seeds per capture for
reorder invariance, default 3; make torture: 1000), SEED_FIRST (the first seed, default 1), JOBS
(processes for reorder invariance, default 1), CUTS (cut points per Dovecot capture, default
24), TCP_LOG=DIR (keep each failing check's differences), CAPTURES (space-separated list instead
of the default set), VERBOSE=1 (print passing checks too).

selfcheck: a perturbed copy holds the same TCP byte streams as the original, asked of Wireshark
  (tests/tcp/check-perturb.py), so that a failure below is popflow's, not the tool's.
reorder: single adjacent exchanges known to matter (SWAPS below), then every capture in samples/ and every golden capture in tests/golden/ that is a POP3
  conversation (except SKIP below, with the reason) is rewritten by tests/tools/perturb.py with
  seeds 1..SEEDS, twice per seed (all pure ACKs kept; half of them dropped); popflow -T json
  --extract runs on the original and on each copy; tests/tcp/compare.py checks that sessions,
  transactions (commands, arguments, statuses, texts, body sizes and lines, listings, partial
  flags, mail headers), credentials, loss anomalies, summary counts and the extracted bodies,
  byte for byte, are identical.
midstream: the captures of real Dovecot sessions (samples/dovecot-*.pcap, tests/golden/dovecot-*)
  without their first N packets, for CUTS values of N spread over each capture (the capture
  starts at that segment): every transaction whose command is after the cut is reported as in the
  whole capture (frames shifted), the one in progress is partial or absent, nothing after the cut
  is lost, no gap is invented (compare.py cut).
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(ROOT, 'tests', 'tools'))
sys.path.insert(0, HERE)
import perturb  # noqa: E402
import compare  # noqa: E402
from checks import Checks  # noqa: E402

POPFLOW = os.environ.get('POPFLOW', './popflow')
SEEDS = int(os.environ.get('SEEDS', '3'))
CUTS = int(os.environ.get('CUTS', '24'))

# Golden captures left out of reorder invariance, and why: perturbation legitimately changes what
# they report, or perturb.py cannot rewrite them faithfully.
SKIP = {
    'conflict.pcap': 'its point is a retransmission carrying other bytes: which copy arrives first '
                     'decides what the stream holds (and the anomaly names the other frame)',
    'fragments.pcap': 'segments carried in IP fragments stay in place (perturb.py does not reassemble '
                      'them) while the others move: a reply could be moved before the command it answers',
    'snaplen.pcap': 'its point is segments cut by the snapshot length: perturb.py leaves them in place '
                    '(it cannot rewrite bytes the capture lacks) while the whole segments move around '
                    'them, so a command can land after its reply',
}


def run_popflow(cap, outdir):
    """popflow -T json --extract on CAP; (json path, extract dir, problem or None)."""
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    x = os.path.join(outdir, 'x')
    os.makedirs(x)
    js = os.path.join(outdir, 'out.json')
    with open(js, 'wb') as out:
        try:
            r = subprocess.run([POPFLOW, '-r', cap, '-T', 'json', '--extract', x], stdout=out,
                               stderr=subprocess.PIPE, timeout=600)
        except subprocess.TimeoutExpired:
            return js, x, 'popflow ran more than 600 s'
    err = r.stderr.decode('utf-8', 'replace')
    if r.returncode not in (0, 2, 4):
        return js, x, 'popflow exit status %d:\n%s' % (r.returncode, err[:3000])
    if 'AddressSanitizer' in err or 'LeakSanitizer' in err or 'runtime error' in err:
        return js, x, err[:3000]
    return js, x, None


def default_captures():
    caps = sorted(os.path.join('samples', f) for f in os.listdir(os.path.join(ROOT, 'samples')) if f.endswith('.pcap'))
    caps += sorted(os.path.join('tests', 'golden', f) for f in os.listdir(os.path.join(ROOT, 'tests', 'golden'))
                   if f.endswith('.pcap'))
    return caps


def selfcheck(ck, tmp):
    for cap in ('samples/dovecot-fetchmail.pcap', 'tests/golden/retr-1mb.pcap', 'tests/golden/two-interleaved.pcap'):
        p = os.path.join(tmp, 'self.pcap')
        perturb.rewrite(cap, p, seed=7, drop_acks=0.5)
        r = subprocess.run([sys.executable, os.path.join(HERE, 'check-perturb.py'), cap, p],
                           capture_output=True, text=True)
        ck.result('perturb-selfcheck:%s' % cap, r.returncode == 0, r.stdout + r.stderr)


def reorder_one(task):
    """One perturbed copy: (check id, passed, details).  Runs in a worker when JOBS > 1."""
    idx, cap, refdir, seed, acks, tmp = task
    cid = '%s:%s:seed=%d' % ('reorder' if acks == 0 else 'reorder-noack', cap, seed)
    wdir = os.path.join(tmp, 'w%d' % os.getpid())
    os.makedirs(wdir, exist_ok=True)
    p = os.path.join(wdir, 'p.pcap')
    try:
        perturb.rewrite(cap, p, seed=seed, drop_acks=acks)
    except Exception as e:  # the tool failed: a failing check, not a crash of the run
        return cid, False, 'perturb.py: %r' % e
    gj, gx, prob = run_popflow(p, os.path.join(wdir, 'out'))
    if prob:
        return cid, False, prob
    if _REFS.get(idx) is None:
        _REFS[idx] = compare.load(os.path.join(refdir, 'out.json'))
    try:
        diff = compare.compare_reorder(_REFS[idx], os.path.join(refdir, 'x'), compare.load(gj), gx)
    except (SystemExit, ValueError, KeyError) as e:
        diff = ['popflow output: %s' % e]
    return cid, not diff, '\n'.join(diff)


_REFS = {}  # per process: capture index -> its original's loaded JSON


def reorder(ck, tmp):
    caps = os.environ.get('CAPTURES', '').split() or default_captures()
    first = int(os.environ.get('SEED_FIRST', '1'))
    jobs = max(1, int(os.environ.get('JOBS', '1')))
    tasks = []
    n = 0
    for idx, cap in enumerate(caps):
        b = os.path.basename(cap)
        if b in SKIP and not os.environ.get('CAPTURES'):
            print('tcp reorder: skipped %s: %s' % (cap, SKIP[b]))
            continue
        refdir = os.path.join(tmp, 'ref%d' % idx)
        rj, rx, prob = run_popflow(cap, refdir)
        if prob:
            ck.result('reorder:%s:original' % cap, False, prob)
            continue
        n += 1
        for seed in range(first, first + SEEDS):
            for acks in (0.0, 0.5):
                tasks.append((idx, cap, refdir, seed, acks, tmp))
    # Seed-major order: every capture gets its first seeds early (a long run that is stopped
    # still covers all of them), and a progress line per 10 seeds when there are many.
    tasks.sort(key=lambda t: (t[3], t[0], t[4]))
    bad_caps = {}
    if jobs > 1:
        import multiprocessing
        pool = multiprocessing.Pool(jobs)
        results = pool.imap(reorder_one, tasks, chunksize=4)
    else:
        pool = None
        results = map(reorder_one, tasks)
    per_seed = 2 * n
    for i, (cid, ok, detail) in enumerate(results):
        ck.result(cid, ok, detail)
        if not ok:
            bad_caps.setdefault(cid.split(':')[1], []).append(cid.split(':')[0] + ':' + cid.split(':')[-1])
        if SEEDS >= 20 and per_seed and (i + 1) % (10 * per_seed) == 0:
            print('tcp reorder: seeds %d..%d done (%d failing checks so far)' % (
                first, first + (i + 1) // per_seed - 1, sum(len(v) for v in bad_caps.values())), flush=True)
    if pool is not None:
        pool.close()
        pool.join()
    print('tcp reorder: %d seeds (%d..%d) x %d captures (each seed twice: all pure ACKs kept, half of them '
          'dropped): %d captures passed with every seed, %d did not%s' % (
              SEEDS, first, first + SEEDS - 1, n, n - len(bad_caps), len(bad_caps),
              ''.join('\n  %s: %d of %d failed (%s%s)' % (c, len(v), 2 * SEEDS, ' '.join(v[:6]),
                                                         ' ...' if len(v) > 6 else '')
                      for c, v in bad_caps.items())), flush=True)


# Minimal reproducers found by reorder invariance: one adjacent exchange of two packets of a real
# capture (the zero-window ACK, the window update and the data around them in the RETR of
# samples/dovecot-fetchmail.pcap: frames 55 to 58).
SWAPS = [('samples/dovecot-fetchmail.pcap', 55, 56), ('samples/dovecot-fetchmail.pcap', 56, 57),
         ('samples/dovecot-fetchmail.pcap', 57, 58)]


def swaps(ck, tmp):
    for cap, x, y in SWAPS:
        cid = 'swap:%s:%d-%d' % (cap, x, y)
        rj, rx, prob = run_popflow(cap, os.path.join(tmp, 'ref'))
        if not prob:
            p = os.path.join(tmp, 'w.pcap')
            perturb.rewrite(cap, p, perturbed=False, swaps=[(x, y)])
            gj, gx, prob = run_popflow(p, os.path.join(tmp, 'out'))
        if prob:
            ck.result(cid, False, prob)
            continue
        diff = compare.compare_reorder(compare.load(rj), rx, compare.load(gj), gx)
        ck.result(cid, not diff, '\n'.join(diff))


def midstream(ck, tmp):
    caps = [c for c in default_captures() if os.path.basename(c).startswith('dovecot-')]
    for cap in caps:
        rj, rx, prob = run_popflow(cap, os.path.join(tmp, 'ref'))
        if prob:
            ck.result('midstream:%s:original' % cap, False, prob)
            continue
        ref = compare.load(rj)
        npk = len(perturb.read_pcap(cap)[3])
        cuts = sorted({max(1, min(npk - 1, round(i * npk / (CUTS + 1)))) for i in range(1, CUTS + 1)})
        for n in cuts:
            cid = 'midstream:%s:cut=%d' % (cap, n)
            p = os.path.join(tmp, 'c.pcap')
            perturb.rewrite(cap, p, cut=n, perturbed=False)
            gj, gx, prob = run_popflow(p, os.path.join(tmp, 'out'))
            if prob:
                ck.result(cid, False, prob)
                continue
            try:
                diff = compare.compare_cut(n, ref, rx, compare.load(gj), gx)
            except (SystemExit, ValueError, KeyError) as e:
                diff = ['popflow output: %s' % e]
            ck.result(cid, not diff, '\n'.join(diff))
        print('tcp midstream: %s (%d packets) cut at %d positions: %s' % (
            cap, npk, len(cuts), ' '.join(map(str, cuts))), flush=True)


def main(argv):
    what = argv[0] if argv else 'all'
    if what not in ('selfcheck', 'reorder', 'midstream', 'all'):
        sys.exit(__doc__)
    os.chdir(ROOT)
    os.environ.setdefault('TZ', 'UTC')
    ck = Checks('tcp invariance')
    tmp = tempfile.mkdtemp(prefix='popflow-tcp.')
    try:
        if what in ('selfcheck', 'all'):
            selfcheck(ck, tmp)
        if what in ('reorder', 'all'):
            swaps(ck, tmp)
            reorder(ck, tmp)
        if what in ('midstream', 'all'):
            midstream(ck, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.summary()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
