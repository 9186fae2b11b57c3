#!/usr/bin/env python3
"""tests/live/check_tcp.py - checks of the live TCP-following cases (issue 8) on popflow's JSON.

  check_tcp.py midretr OUT.json DONE SIZE
      DONE is what `popclient.py midretr` wrote: "PORT READ TOTAL NOOP_REPLY | QUIT_REPLY".
      popflow started while that client was READ bytes into a RETR of a SIZE-octet message.
      Exactly one session from PORT; its last two transactions are NOOP and QUIT with the
      replies the client received, complete; it ended by fin; the server's payload popflow saw
      is at least SIZE - READ - 256 KiB (the rest of the body, less what sat in the client's
      receive buffer); no gap and no lost bytes reported.
  check_tcp.py reset OUT.json MARK
      MARK is what `popclient.py reset` wrote: "PORT READ". The client reset the connection
      during a RETR while the server's segments were still queued: exactly one session from
      PORT, ended by rst, with USER and PASS complete and the RETR +OK and partial.
Prints what is wrong (exit 1) or one line saying what was seen (exit 0)."""
import json
import sys

problems = []


def bad(msg):
    problems.append(msg)
    print("check_tcp: " + msg)


def sessions_of(out, port):
    res = []
    with open(out) as f:
        for line in f:
            o = json.loads(line)
            if o.get("type") == "session" and o["client"]["port"] == port:
                res.append(o)
    return res


def desc(s):
    return "session %s: handshake %s, ended by %s, %d transactions %s" % (
        s["session"], s.get("handshake"), s.get("end_reason"), len(s["transactions"]),
        [(t["command"], t["status"], bool(t.get("partial"))) for t in s["transactions"]][-4:])


def midretr(out, done, size):
    with open(done) as f:
        head, quit_ = f.read().strip().split(" | ")
    port, read, total, noop = head.split(" ", 3)
    port, read, size = int(port), int(read), int(size)
    ss = sessions_of(out, port)
    if len(ss) != 1:
        bad("%d sessions from client port %d, expected 1: %s" % (len(ss), port, [desc(s) for s in ss]))
        if not ss:
            return
    s = ss[0]
    t = s["transactions"]
    want = [("NOOP", noop), ("QUIT", quit_)]
    got = [(x["command"], ("%s %s" % (x["status"], x.get("text", ""))).strip() if x["status"] else None)
           for x in t[-2:]]
    if got != [(c, r.strip()) for c, r in want] or any(x.get("partial") for x in t[-2:]):
        bad("last transactions %s, expected %s, complete" % ([(x["command"], x["status"], x.get("text"), x.get("partial")) for x in t[-2:]], want))
    if s.get("end_reason") != "fin":
        bad("end_reason %s, expected fin" % s.get("end_reason"))
    seen = s["payload_bytes"]["to_client"]
    if seen < size - read - 262144:
        bad("the server's payload seen: %d octets; the rest of the body alone is %d - %d = %d" % (
            seen, size, read, size - read))
    for a in s["anomalies"]:
        if a["type"] in ("gap", "reassembly_lost"):
            bad("anomaly %s: %s" % (a["type"], a.get("detail")))
    if not problems:
        print("check_tcp: one session from port %d (handshake %s): %d server octets after the start, "
              "NOOP and QUIT answered" % (port, s.get("handshake"), seen))


def reset(out, mark):
    with open(mark) as f:
        port, read = (int(x) for x in f.read().split())
    ss = sessions_of(out, port)
    if len(ss) != 1:
        bad("%d sessions from client port %d, expected 1: %s%s" % (
            len(ss), port, [desc(s) for s in ss[:4]], " ..." if len(ss) > 4 else ""))
        if not ss:
            return
    s = ss[0]
    if s.get("end_reason") != "rst":
        bad("end_reason %s, expected rst" % s.get("end_reason"))
    t = [(x["command"], x["status"], bool(x.get("partial"))) for x in s["transactions"]]
    if t != [("USER", "+OK", False), ("PASS", "+OK", False), ("RETR", "+OK", True)]:
        bad("transactions %s, expected USER, PASS complete and RETR +OK partial" % t)
    if not problems:
        print("check_tcp: one session from port %d, ended by rst after %d octets read, %d packets from the server"
              % (port, read, s["packets"]["to_client"]))


def main(argv):
    if len(argv) == 5 and argv[1] == "midretr":
        midretr(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "reset":
        reset(argv[2], argv[3])
    else:
        raise SystemExit(__doc__)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv)
