"""checks.py - bookkeeping of the checks of tests/tcp/ (imported by invariance.py and regress.py).

A check has a name (`reorder:samples/x.pcap:seed=3`) and passes or fails with a text saying what
went wrong. A failing check whose name matches a glob pattern of tests/tcp/KNOWN_FAILING is
KNOWN-FAILING: printed as such, not counted as a failure. A pattern that matched checks of the run
but no failing one is STALE (the fix landed: remove it) and fails the run. With TCP_LOG=DIR the
text of every failing check is kept in DIR/<name>.txt."""
import fnmatch
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
KNOWN_FILE = os.environ.get('KNOWN_FAILING_FILE', os.path.join(ROOT, 'tests', 'tcp', 'KNOWN_FAILING'))


class Checks:
    def __init__(self, name):
        self.name = name
        self.patterns = []
        if os.path.exists(KNOWN_FILE):
            with open(KNOWN_FILE) as f:
                for line in f:
                    line = line.split('#', 1)[0].strip()
                    if line:
                        self.patterns.append(line)
        self.seen, self.used = set(), set()
        self.passed, self.failed, self.known = 0, [], []
        self.log = os.environ.get('TCP_LOG')
        self.verbose = bool(os.environ.get('VERBOSE'))
        self.known_lines = int(os.environ.get('KNOWN_LINES', '8'))

    def result(self, cid, ok, text=''):
        pats = [p for p in self.patterns if fnmatch.fnmatchcase(cid, p)]
        self.seen.update(pats)
        if ok:
            self.passed += 1
            if self.verbose:
                print('ok   %s' % cid, flush=True)
            return
        if self.log:
            os.makedirs(self.log, exist_ok=True)
            safe = cid.replace('/', '_').replace(':', '_').replace('=', '_')
            with open(os.path.join(self.log, safe + '.txt'), 'w') as f:
                f.write(text)
        lines = text.rstrip('\n').split('\n') if text else []
        if pats:
            self.used.update(pats)
            self.known.append(cid)
            print('KNOWN-FAILING %s (tests/tcp/KNOWN_FAILING: %s)' % (cid, pats[0]))
            lines = lines[:self.known_lines]
        else:
            self.failed.append(cid)
            print('FAIL %s' % cid)
            lines = lines[:60]
        for line in lines:
            print('    | ' + line)
        sys.stdout.flush()

    def summary(self):
        stale = [p for p in self.patterns if p in self.seen and p not in self.used]
        for p in stale:
            print("STALE tests/tcp/KNOWN_FAILING entry '%s': every check it matches now passes; remove it" % p)
        print('%s: %d passed, %d failed, %d known-failing (tests/tcp/KNOWN_FAILING), %d stale known-failing entries'
              % (self.name, self.passed, len(self.failed), len(self.known), len(stale)))
        return 0 if not self.failed and not stale else 1
