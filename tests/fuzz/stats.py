#!/usr/bin/env python3
"""stats.py [LOGDIR] - totals of the fuzzing done so far, from fuzz-run.sh's logs (build-fuzz/logs/T.log).

Per target: runs, seconds fuzzed, executions (libFuzzer's stat::number_of_executed_units, or in
fork mode the last "#N" of each run), and the highest coverage seen (cov: edges, ft: features,
as libFuzzer counts them in the log's status lines; fork-mode runs count neither).
"""
import os
import re
import sys

logdir = sys.argv[1] if len(sys.argv) > 1 else "build-fuzz/logs"
print("%-9s %5s %8s %12s %7s %7s %6s" % ("target", "runs", "seconds", "executions", "cov", "ft", "corp"))
for name in sorted(os.listdir(logdir)):
    if not name.endswith(".log"):
        continue
    runs, execs, secs, cov, ft, corp = 0, 0, 0, 0, 0, 0
    for part in open(os.path.join(logdir, name), errors="replace").read().split("\n=== ")[0:]:
        if not part.strip():
            continue
        runs += 1
        units = re.findall(r"^stat::number_of_executed_units: *(\d+)", part, re.M)
        status = re.findall(r"^#(\d+):?\s.*?cov: (\d+) ft: (\d+) corp: (\d+)", part, re.M)
        # Fork mode's "#N: cov:" lines count differently: only its executions are used.
        plain = re.findall(r"^#(\d+)\t\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", part, re.M)
        if units:
            execs += int(units[-1])
        elif status:
            execs += int(status[-1][0])
        times = re.findall(r"(?:time: |fuzzed for )(\d+)s?", part)
        done = re.findall(r"^Done (\d+) runs in (\d+) second", part, re.M)
        if times:
            secs += max(int(x) for x in times)
        elif done:
            secs += int(done[-1][1])
        else:
            rate = re.findall(r"^stat::average_exec_per_sec: *(\d+)", part, re.M)
            if units and rate and int(rate[-1]) > 0:
                secs += int(units[-1]) // int(rate[-1])
        for _, c, f, k in plain:
            cov, ft, corp = max(cov, int(c)), max(ft, int(f)), max(corp, int(k))
    print("%-9s %5d %8d %12d %7d %7d %6d" % (name[:-4], runs, secs, execs, cov, ft, corp))
