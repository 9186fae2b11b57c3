#!/usr/bin/env python3
"""check.py OUT.json CAPTURE.expect - every session of the capture is in popflow's JSON output,
exact: ended by FIN, its RETR complete and of the size gen.py wrote. Prints "exact N of M"."""
import json
import sys


def main():
    exp = json.load(open(sys.argv[2]))
    want = {b["port"]: b["body"] for b in exp["bodies"]}
    exact = 0
    seen = set()
    for line in open(sys.argv[1], errors="replace"):
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("type") != "session":
            continue
        port = d["client"]["port"]
        seen.add(port)
        retr = [t for t in d["transactions"] if t.get("command") == "RETR"]
        if (port in want and d["end_reason"] == "fin" and len(retr) == 1 and
                retr[0].get("body_octets") == want[port] and not retr[0].get("partial")):
            exact += 1
    print("exact %d of %d" % (exact, len(want)))
    return 0 if exact == len(want) else 1


if __name__ == "__main__":
    sys.exit(main())
