#!/usr/bin/env python3
"""measure.py [--max-rss-mb M] [--timeout S] [--stdout FILE] [--stderr FILE] -- COMMAND...
Runs COMMAND, watching its resident memory (/proc/PID/status VmRSS, every 20 ms) and its time;
kills it when it goes beyond --max-rss-mb or --timeout (wall seconds). Prints one line:
  rss_kb=N cpu_s=X wall_s=Y status=S killed=none|rss|timeout
where rss_kb is the peak resident set size the kernel reports for the child (ru_maxrss, as
/usr/bin/time -v's "Maximum resident set size") and cpu_s its user+system time.
Exit status: 0, or 3 when it was killed."""
import os
import signal
import subprocess
import sys
import time


def main(argv):
    max_rss, timeout, out, err = None, None, None, None
    while argv and argv[0] != '--':
        if argv[0] == '--max-rss-mb':
            max_rss = int(argv[1]) * 1024
        elif argv[0] == '--timeout':
            timeout = float(argv[1])
        elif argv[0] == '--stdout':
            out = argv[1]
        elif argv[0] == '--stderr':
            err = argv[1]
        else:
            sys.exit(__doc__)
        argv = argv[2:]
    cmd = argv[1:]
    f = open(out, 'wb') if out else subprocess.DEVNULL
    t0 = time.monotonic()
    e = open(err, 'wb') if err else None
    p = subprocess.Popen(cmd, stdout=f, stderr=e)
    killed = 'none'
    while True:
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if max_rss:
            try:
                with open('/proc/%d/status' % p.pid) as s:
                    for line in s:
                        if line.startswith('VmRSS:') and int(line.split()[1]) > max_rss:
                            killed = 'rss'
            except OSError:
                pass
        if timeout and time.monotonic() - t0 > timeout:
            killed = 'timeout'
        if killed != 'none':
            os.kill(p.pid, signal.SIGKILL)
            pid, st, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.02)
    wall = time.monotonic() - t0
    status = os.waitstatus_to_exitcode(st)
    print('rss_kb=%d cpu_s=%.3f wall_s=%.3f status=%d killed=%s' % (
        ru.ru_maxrss, ru.ru_utime + ru.ru_stime, wall, status, killed))
    return 3 if killed != 'none' else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
