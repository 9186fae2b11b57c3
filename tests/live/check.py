#!/usr/bin/env python3
"""tests/live/check.py - compares what popflow reported live with what the clients did.

  check.py match OUT.json CLIENTS.log FETCHMAIL.log SIZES
      Every session in OUT.json (popflow -T json) is one the clients logged, and every logged
      session is there exactly once: poplib sessions (CLIENTS.log, popclient.py) are matched by
      client port, fetchmail sessions (its -v -v log) in order. For each: the greeting, and per
      transaction the command, argument, status, reply text, multi-line or not, listing lines,
      SASL lines and body sizes; end_reason "fin", not partial. SIZES is a comma-separated list
      USER=SIZE:SIZE... of the messages' sizes (CRLF) in the order they were delivered: every
      RETR's body_octets must be the size of the message it names, as must LIST's.
  check.py same A.json B.json
      The session objects of two popflow JSON outputs are identical (live vs -r of -w).
  check.py sessions OUT.json N [END_REASON]
      OUT.json holds exactly N sessions (all ending with END_REASON if given).
  check.py interrupted OUT.json PORT MIN_OCTETS SIZE
      The session of client PORT ended "interrupted"; its RETR is partial, status +OK, with
      MIN_OCTETS <= body_octets < SIZE; the transactions before it are complete.
  check.py timeout OUT.json PORT
      Client PORT's connection was reported twice: first ended "timeout" after USER, PASS,
      STAT (all complete), then the rest (NOOP, QUIT) as a session with a synthetic handshake.
Prints one line per problem; exit 1 if there is any. Standard library only.
"""
import json
import sys

problems = []


def bad(msg):
    problems.append(msg)
    print("check: " + msg)


def load(path):
    sessions, summary = [], None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                o = json.loads(line)
            except ValueError as e:
                bad("%s:%d: not JSON: %s" % (path, n, e))
                continue
            if o.get("type") == "session":
                sessions.append(o)
            elif o.get("type") == "summary":
                summary = o
    return sessions, summary


def parse_fetchmail(path):
    """fetchmail -v -v: 'fetchmail: POP3> CMD' and 'fetchmail: POP3< REPLY' lines."""
    MULTI = {"CAPA", "RETR", "TOP"}
    sessions, cur, txn, in_body = [], None, None, False
    sizes = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if raw.startswith("fetchmail: POP3< "):
                line = raw[len("fetchmail: POP3< "):]
                if cur is None or (txn is None and cur["greeting"] is None):
                    cur = {"tool": "fetchmail", "greeting": line, "transactions": []}
                    sessions.append(cur)
                    continue
                if txn is None:
                    bad("fetchmail log: reply without a command: " + line)
                    continue
                if in_body:
                    if line == ".":
                        in_body = False
                    else:
                        txn.setdefault("lines", []).append(line[1:] if line.startswith("..") else line)
                    continue
                if txn["status"] is None and (line == "+" or line.startswith("+ ")):
                    txn.setdefault("sasl", []).append({"dir": "to_client", "line": line})
                    continue
                st = "+OK" if line.startswith("+OK") else "-ERR" if line.startswith("-ERR") else None
                txn["status"] = st
                txn["text"] = line[len(st):].lstrip(" ") if st else line
                multi = st == "+OK" and (txn["command"] in MULTI or
                                         (txn["command"] in ("LIST", "UIDL") and not txn["argument"]))
                txn["multiline"] = multi
                if txn["command"] == "LIST" and txn["argument"] and st == "+OK":
                    n, size = txn["text"].split()[:2]
                    sizes[n] = int(size)
                if multi and txn["command"] in ("RETR", "TOP"):
                    # fetchmail logs no body lines: its size is what LIST said
                    txn["body_octets"] = sizes.get(txn["argument"].split()[0])
                elif multi:
                    txn["lines"] = []
                    in_body = True
            elif raw.startswith("fetchmail: POP3> "):
                line = raw[len("fetchmail: POP3> "):]
                if cur is None:
                    bad("fetchmail log: command before the greeting: " + line)
                    continue
                if txn is not None and txn["command"] == "AUTH" and txn["status"] is None:
                    txn.setdefault("sasl", []).append({"dir": "to_server", "line": line})
                    continue
                verb, _, arg = line.partition(" ")
                txn = {"command": verb.upper(), "argument": arg, "status": None}
                cur["transactions"].append(txn)
            elif "poll completed" in raw and cur is not None:
                cur, txn = None, None
    return sessions


def split_greeting(g):
    for st in ("+OK", "-ERR"):
        if g.startswith(st):
            return st, g[len(st):].lstrip(" ")
    return None, g


def compare(label, got, want, sizes):
    """sizes: {message number: octets} valid for this session, or None."""
    gst, gtext = split_greeting(want["greeting"])
    greet = got.get("greeting") or {}
    if (greet.get("status"), greet.get("text")) != (gst, gtext):
        bad("%s: greeting %r, client saw %r" % (label, greet, want["greeting"]))
    if got.get("end_reason") != "fin":
        bad("%s: end_reason %s, expected fin (the client sent QUIT)" % (label, got.get("end_reason")))
    if got.get("protocol") != "pop3" or got.get("handshake") != "seen":
        bad("%s: protocol %s handshake %s" % (label, got.get("protocol"), got.get("handshake")))
    gt, wt = got.get("transactions", []), want["transactions"]
    if len(gt) != len(wt):
        bad("%s: %d transactions, the client made %d: %s vs %s" % (
            label, len(gt), len(wt), [t.get("command") for t in gt], [t["command"] for t in wt]))
    uids = {}  # the client's own UIDL listing in this session
    for i, (g, w) in enumerate(zip(gt, wt), 1):
        tl = "%s txn %d (%s %s)" % (label, i, w["command"], w["argument"])
        if w["command"] == "UIDL" and not w["argument"] and w.get("lines") is not None:
            uids = dict(l.split(" ", 1) for l in w["lines"])
        if w["command"] in ("RETR", "TOP") and "uid" in g and uids and \
                g["uid"] != uids.get(w["argument"].split()[0]):
            bad("%s: uid %r, the client's UIDL says %r" % (tl, g["uid"], uids.get(w["argument"].split()[0])))
        for k in ("command", "argument", "status", "text", "multiline"):
            if k in w and g.get(k) != w[k]:
                bad("%s: %s = %r, client: %r" % (tl, k, g.get(k), w[k]))
        if g.get("partial"):
            bad("%s: partial" % tl)
        for k in ("lines", "sasl", "body_octets", "body_lines"):
            if k in w and w[k] is not None and g.get(k) != w[k]:
                bad("%s: %s = %r, client: %r" % (tl, k, g.get(k), w[k]))
        # the sizes the messages really have
        if sizes and w["status"] == "+OK" and w["command"] in ("RETR", "LIST") and w["argument"]:
            n = int(w["argument"].split()[0])
            want_size = sizes.get(n)
            if w["command"] == "RETR" and g.get("body_octets") != want_size:
                bad("%s: body_octets %s, message %d has %s octets" % (tl, g.get("body_octets"), n, want_size))
            if w["command"] == "LIST" and g.get("text") != "%d %s" % (n, want_size):
                bad("%s: LIST says %r, message %d has %s octets" % (tl, g.get("text"), n, want_size))
        if sizes and w["command"] == "LIST" and not w["argument"] and g.get("lines") is not None:
            listed = {int(a): int(b) for a, b in (l.split() for l in g["lines"])}
            if any(sizes.get(n) != v for n, v in listed.items()):
                bad("%s: listing %r, messages have %r" % (tl, listed, sizes))


def cmd_match(out, clients, fetchlog, sizes_arg):
    sessions, summary = load(out)
    # message numbers -> sizes per user, as the client sees them at its first session
    sizes_of_user = {}
    for part in filter(None, sizes_arg.split(",")):
        user, _, lst = part.partition("=")
        sizes_of_user[user] = {i: int(s) for i, s in enumerate(lst.split(":"), 1)}
    logged = []
    with open(clients, encoding="utf-8") as f:
        logged = [json.loads(l) for l in f if l.strip()]
    fm = parse_fetchmail(fetchlog) if fetchlog != "-" else []
    by_port = {s["client"]["port"]: s for s in sessions}
    if len(by_port) != len(sessions):
        bad("two sessions with the same client port")
    used, seen_user = set(), set()
    for n, rec in enumerate(logged, 1):
        s = by_port.get(rec["client_port"])
        if s is None:
            bad("poplib session %d (port %d) not reported" % (n, rec["client_port"]))
            continue
        used.add(s["session"])
        # after DELE + QUIT the numbers shift: only the first session of a user is size-checked
        user = next((t["argument"] for t in rec["transactions"] if t["command"] == "USER"), "")
        first = user not in seen_user and rec["transactions"][1]["status"] == "+OK"
        if first:
            seen_user.add(user)
        compare("poplib session %d (port %d)" % (n, rec["client_port"]), s, rec,
                sizes_of_user.get(user) if first else None)
    rest = [s for s in sessions if s["session"] not in used]
    if len(rest) != len(fm):
        bad("%d sessions not from poplib, fetchmail made %d" % (len(rest), len(fm)))
    for n, (s, rec) in enumerate(zip(rest, fm), 1):
        compare("fetchmail session %d (bob, port %d)" % (n, s["client"]["port"]), s, rec,
                sizes_of_user.get("bob") if n == 1 else None)
    want = len(logged) + len(fm)
    if summary is None:
        bad("no summary line")
    elif summary.get("sessions") != want:
        bad("summary: %s sessions, clients made %d" % (summary.get("sessions"), want))
    print("check: %d sessions reported, %d made by the clients (%d poplib, %d fetchmail), %d transactions"
          % (len(sessions), want, len(logged), len(fm), sum(len(s["transactions"]) for s in sessions)))


def cmd_same(a, b):
    sa, _ = load(a)
    sb, _ = load(b)
    if len(sa) != len(sb):
        bad("%s has %d sessions, %s has %d" % (a, len(sa), b, len(sb)))
    for x, y in zip(sa, sb):
        # "file" names the capture file: null live, the -w file's name when it is read back
        x, y = dict(x, file=None), dict(y, file=None)
        if x != y:
            keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
            bad("session %s differs in %s" % (x.get("session"), keys))
    print("check: %d sessions compared" % len(sa))


def cmd_sessions(out, n, reason=None):
    sessions, _ = load(out)
    if len(sessions) != int(n):
        bad("%s: %d sessions, expected %s" % (out, len(sessions), n))
    for s in sessions:
        if reason and s.get("end_reason") != reason:
            bad("%s: session %s ended %s, expected %s" % (out, s["session"], s.get("end_reason"), reason))


def find_port(out, port):
    sessions, _ = load(out)
    hit = [s for s in sessions if s["client"]["port"] == int(port)]
    if len(hit) != 1:
        bad("%s: %d sessions from client port %s, expected 1 (ports: %s)" % (
            out, len(hit), port, [s["client"]["port"] for s in sessions]))
        return None
    return hit[0]


def cmd_interrupted(out, port, min_octets, size):
    s = find_port(out, port)
    if s is None:
        return
    if s.get("end_reason") != "interrupted":
        bad("end_reason %s, expected interrupted" % s.get("end_reason"))
    t = s.get("transactions", [])
    cmds = [x.get("command") for x in t]
    if cmds != ["USER", "PASS", "RETR"]:
        bad("transactions %s, expected USER PASS RETR" % cmds)
        return
    for x in t[:2]:
        if x.get("status") != "+OK" or x.get("partial"):
            bad("%s: status %s partial %s" % (x["command"], x.get("status"), x.get("partial")))
    r = t[2]
    oct_ = r.get("body_octets", -1)
    if r.get("status") != "+OK" or r.get("text") != "%s octets" % size:
        bad("RETR reply %s %r, expected +OK '%s octets'" % (r.get("status"), r.get("text"), size))
    if not r.get("partial") or not r.get("multiline"):
        bad("RETR partial %s multiline %s, expected both true" % (r.get("partial"), r.get("multiline")))
    if not (int(min_octets) <= oct_ < int(size)):
        bad("RETR body_octets %s, expected %s <= n < %s" % (oct_, min_octets, size))
    print("check: interrupted session: RETR partial, %d of %s octets seen" % (oct_, size))


def cmd_timeout(out, port):
    sessions, _ = load(out)
    hit = sorted((s for s in sessions if s["client"]["port"] == int(port)), key=lambda s: s["session"])
    if len(hit) != 2:
        bad("%s: %d sessions from client port %s, expected 2 (timed out, then its end)" % (
            out, len(hit), port))
        return
    s, tail = hit
    tcmds = [(x.get("command"), x.get("status"), bool(x.get("partial"))) for x in tail.get("transactions", [])]
    if (tail.get("handshake"), tail.get("end_reason")) != ("synthetic", "fin") or \
            tcmds != [("NOOP", "+OK", False), ("QUIT", "+OK", False)]:
        bad("the connection's end after the timeout: handshake %s, end %s, %s; expected synthetic, "
            "fin, NOOP and QUIT" % (tail.get("handshake"), tail.get("end_reason"), tcmds))
    if s.get("end_reason") != "timeout":
        bad("end_reason %s, expected timeout" % s.get("end_reason"))
    cmds = [(x.get("command"), x.get("status"), bool(x.get("partial"))) for x in s.get("transactions", [])]
    if cmds != [("USER", "+OK", False), ("PASS", "+OK", False), ("STAT", "+OK", False)]:
        bad("transactions %s, expected USER PASS STAT, all +OK" % cmds)


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmds = {"match": (cmd_match, 4), "same": (cmd_same, 2), "sessions": (cmd_sessions, None),
            "interrupted": (cmd_interrupted, 4), "timeout": (cmd_timeout, 2)}
    fn, n = cmds.get(argv[1], (None, 0))
    if fn is None or (n is not None and len(argv) - 2 != n):
        raise SystemExit(__doc__)
    fn(*argv[2:])
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv)
