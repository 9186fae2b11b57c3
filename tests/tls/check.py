#!/usr/bin/env python3
"""check.py - compares popflow's JSON for a decrypted TLS capture with the client's own log
and with tshark's decryption (tests/tls/run.sh).

  check.py session JSON CLIENTLOG VERSION CIPHER   the session is decrypted with that version
                                                  and suite; every line the client says it sent
                                                  ("> " lines of curl -v, or the s_client input)
                                                  is a command or SASL line popflow shows, in
                                                  order; every status line it received is there
  check.py tshark JSON TSHARK_TSV                   the POP3 requests tshark decrypted
                                                  (-o tls.keylog_file: commands and SASL lines)
                                                  are popflow's, in order
  check.py anomaly JSON NAME [DECRYPTED]            the session has anomaly NAME; decrypted is
                                                  DECRYPTED (true/false)
Exit 0 when it holds, 1 with a message otherwise.
"""
import json
import sys


def load(path):
    sessions = [json.loads(l) for l in open(path) if l.startswith('{"type":"session"')]
    if len(sessions) != 1:
        sys.exit("check: %s: %d sessions, expected 1" % (path, len(sessions)))
    return sessions[0]


def client_lines(s):
    """What the client sent, as popflow read it: command lines and SASL lines, in order."""
    out = []
    for t in s["transactions"]:
        if t.get("command"):
            out.append((t["command"] + (" " + t["argument"] if t.get("argument") else "")))
        for x in t.get("sasl", []):
            if x["dir"] == "to_server":
                out.append(x["line"])
    return out


def statuses(s):
    out = []
    if s.get("greeting"):
        out.append("%s %s" % (s["greeting"]["status"], s["greeting"]["text"]))
    for t in s["transactions"]:
        if t.get("status"):
            out.append(("%s %s" % (t["status"], t.get("text", ""))).rstrip())
    return out


def fail(msg):
    print("check: " + msg)
    sys.exit(1)


def main():
    cmd = sys.argv[1]
    s = load(sys.argv[2])
    tls = s.get("tls") or {}
    if cmd == "session":
        log, version, cipher = sys.argv[3], sys.argv[4], sys.argv[5]
        if not tls.get("decrypted"):
            fail("not decrypted: %r" % tls)
        if tls.get("version") != version or tls.get("cipher") != cipher:
            fail("version/cipher %s %s, expected %s %s" % (tls.get("version"), tls.get("cipher"), version, cipher))
        sent, got = [], []
        text = open(log, encoding="utf-8", errors="replace").read().splitlines()
        if any(l.startswith("> ") or l.startswith("< ") for l in text):
            for l in text:
                if l.startswith("> "):
                    sent.append(l[2:])
                elif l.startswith("< +OK") or l.startswith("< -ERR"):
                    got.append(l[2:].rstrip())
        else:  # s_client: the log is what the server sent; the commands are fixed
            sent = None
            got = [l.rstrip("\r") for l in text if l.startswith("+OK") or l.startswith("-ERR")]
        mine, theirs = client_lines(s), statuses(s)
        # curl -v logs nothing of the QUIT it sends when it closes its connection cache at
        # exit ("Connection #0 ... left intact"): popflow sees it on the wire.
        if sent is not None and "QUIT" not in sent and mine[-1:] == ["QUIT"]:
            mine, theirs = mine[:-1], theirs[:-1]
        if sent is not None and mine != sent:
            fail("client lines differ:\n  client:  %r\n  popflow: %r" % (sent, mine))
        if theirs != got:
            fail("status lines differ:\n  client:  %r\n  popflow: %r" % (got, theirs))
        if s["anomalies"]:
            kinds = {a["type"] for a in s["anomalies"]} - {"retransmission", "out_of_order"}
            if kinds:
                fail("unexpected anomalies: %r" % s["anomalies"])
    elif cmd == "tshark":
        want = []
        for l in open(sys.argv[3]):
            f = l.rstrip("\n").split("\t")
            if len(f) >= 2 and f[0]:
                want.append(f[0] + (" " + f[1] if f[1] else ""))
        mine = client_lines(s)
        if mine != want:
            fail("commands differ from tshark's:\n  tshark:  %r\n  popflow: %r" % (want, mine))
    elif cmd == "anomaly":
        kinds = [a["type"] for a in s["anomalies"]]
        if sys.argv[3] not in kinds:
            fail("no %s anomaly in %r" % (sys.argv[3], kinds))
        if len(sys.argv) > 4 and str(bool(tls.get("decrypted"))).lower() != sys.argv[4]:
            fail("decrypted is %r, expected %s" % (tls.get("decrypted"), sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
