#!/usr/bin/env python3
"""tests/live/popclient.py - real POP3 client sessions (Python poplib) that log what they did.

Every session appends one JSON line to LOG:
  {"tool": "poplib", "client_port": N, "greeting": "+OK ...",
   "transactions": [{"command": "USER", "argument": "alice", "status": "+OK", "text": "...",
                     "multiline": bool, "body_octets": N, "body_lines": N, "lines": [...]}]}
"status"/"text" are split from the reply line exactly as the server sent it; body_octets is
poplib's count (dot-unstuffed, each line with its CRLF, without the final ".CRLF"); "lines"
is the listing of LIST/UIDL/CAPA (not for message bodies).

Usage:
  popclient.py session HOST USER PASSWORD ACTIONS LOG
      ACTIONS: comma-separated: capa stat list list:N uidl uidl:N retr:N top:N:L noop rset
      dele:N quit   (USER/PASS are sent first)
  popclient.py badpass HOST USER LOG         USER, a wrong PASS (-ERR), QUIT
  popclient.py hold HOST USER PASSWORD GO LOG
      USER, PASS, STAT, then waits (up to 60 s) until the file GO exists, then NOOP, QUIT.
      Writes GO.idle when it starts waiting.
  popclient.py slow HOST USER PASSWORD N MARK BYTES
      USER, PASS, RETR N read slowly through a small receive buffer; creates MARK once
      BYTES bytes of the reply were read, then goes on reading slowly until killed (or 60 s).
  popclient.py many HOST USER PASSWORD COUNT
      COUNT short sessions (USER, PASS, STAT, QUIT) one after the other.
  popclient.py midretr HOST USER PASSWORD N MARK BYTES GO
      USER, PASS, RETR N through a small receive buffer; once BYTES bytes of the reply were
      read, writes "PORT BYTES_READ" to MARK and stops reading (the server waits on a closed
      window, mid-RETR) until the file GO exists (up to 60 s); then reads the rest of the body
      to its final ".", sends NOOP and QUIT, and writes "PORT BYTES_READ TOTAL NOOP_REPLY |
      QUIT_REPLY" to MARK.done. With GO written "+FILE" it never stops: it reads 4 kB every 4 ms
      (about 1 MB/s) from the start to the end of the body, so that the capture starts while data
      flows; READ in MARK.done is then what it had read when FILE appeared.
  popclient.py reset HOST USER PASSWORD N MARK BYTES
      USER, PASS, RETR N; once BYTES bytes of the reply were read, closes the socket with
      SO_LINGER 0 while the server is still sending (the kernel sends RST) and writes
      "PORT BYTES_READ" to MARK.
Environment: POPCLIENT_SOURCE=ADDR connects from that local address (so that dovecot's
penalty for a failed login does not slow the other sessions down). Standard library only.
"""
import json
import os
import poplib
import socket
import struct
import sys
import time

PORT = 110


def split_status(resp):
    line = resp.decode("utf-8", "replace")
    for st in ("+OK", "-ERR"):
        if line.startswith(st):
            text = line[len(st):]
            if text.startswith(" "):
                text = text[1:]
            return st, text
    return None, line


class POP3(poplib.POP3):
    def _create_socket(self, timeout):
        src = os.environ.get("POPCLIENT_SOURCE")
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(src, 0) if src else None)


class Logged:
    def __init__(self, host, tool="poplib"):
        self.p = POP3(host, PORT, timeout=30)
        self.rec = {
            "tool": tool,
            "client_port": self.p.sock.getsockname()[1],
            "greeting": self.p.getwelcome().decode("utf-8", "replace"),
            "transactions": [],
        }

    def _add(self, cmd, arg, resp, lines=None, octets=None, listing=False):
        st, text = split_status(resp)
        t = {"command": cmd, "argument": arg, "status": st, "text": text,
             "multiline": lines is not None}
        if lines is not None:
            t["body_octets"] = octets
            t["body_lines"] = len(lines)
            if listing:
                t["lines"] = [l.decode("utf-8", "replace") for l in lines]
        self.rec["transactions"].append(t)
        return t

    def short(self, cmd, arg=""):
        line = cmd + (" " + arg if arg else "")
        try:
            resp = self.p._shortcmd(line)
        except poplib.error_proto as e:
            resp = e.args[0]
        return self._add(cmd, arg, resp)

    def long(self, cmd, arg="", listing=False):
        line = cmd + (" " + arg if arg else "")
        try:
            resp, lines, octets = self.p._longcmd(line)
        except poplib.error_proto as e:
            return self._add(cmd, arg, e.args[0])
        return self._add(cmd, arg, resp, lines, octets, listing)

    def close(self, log):
        with open(log, "a") as f:
            f.write(json.dumps(self.rec) + "\n")


def do_session(host, user, password, actions, log):
    s = Logged(host)
    s.short("USER", user)
    s.short("PASS", password)
    quit_sent = False
    for a in actions.split(","):
        parts = a.split(":")
        name = parts[0]
        args = " ".join(parts[1:])
        if name in ("stat", "noop", "rset", "dele"):
            s.short(name.upper(), args)
        elif name in ("list", "uidl"):
            if args:
                s.short(name.upper(), args)
            else:
                s.long(name.upper(), "", listing=True)
        elif name == "capa":
            s.long("CAPA", "", listing=True)
        elif name in ("retr", "top"):
            s.long(name.upper(), args)
        elif name == "quit":
            s.short("QUIT")
            quit_sent = True
        else:
            raise SystemExit("popclient: unknown action " + a)
    if not quit_sent:
        s.short("QUIT")
    s.p.close()
    s.close(log)


def do_badpass(host, user, log):
    s = Logged(host)
    s.short("USER", user)
    s.short("PASS", "not-the-password")
    s.short("QUIT")
    s.p.close()
    s.close(log)


def do_hold(host, user, password, go, log):
    s = Logged(host)
    s.short("USER", user)
    s.short("PASS", password)
    s.short("STAT")
    open(go + ".idle", "w").close()
    deadline = time.time() + 60
    while not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    s.short("NOOP")
    s.short("QUIT")
    s.p.close()
    s.close(log)


def do_slow(host, user, password, n, mark, want):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # before connect: small window
    sock.connect((host, PORT))
    f = sock.makefile("rb")
    f.readline()
    for line in (b"USER " + user.encode(), b"PASS " + password.encode()):
        sock.sendall(line + b"\r\n")
        r = f.readline()
        if not r.startswith(b"+OK"):
            raise SystemExit("popclient slow: " + r.decode("utf-8", "replace"))
    sock.sendall(b"RETR " + n.encode() + b"\r\n")
    got, marked = 0, False
    deadline = time.time() + 60
    while time.time() < deadline:
        b = sock.recv(2048)
        if not b:
            break
        got += len(b)
        if not marked and got >= want:
            with open(mark, "w") as m:
                m.write("%d %d\n" % (sock.getsockname()[1], got))
            marked = True
        time.sleep(0.004)
    sock.close()


def login_raw(host, user, password, rcvbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: small window
    sock.connect((host, PORT))
    f = sock.makefile("rb")
    f.readline()
    for line in (b"USER " + user.encode(), b"PASS " + password.encode()):
        sock.sendall(line + b"\r\n")
        r = f.readline()
        if not r.startswith(b"+OK"):
            raise SystemExit("popclient: " + r.decode("utf-8", "replace"))
    return sock, f


def do_midretr(host, user, password, n, mark, want, go):
    sock, f = login_raw(host, user, password, rcvbuf=8192)
    sock.sendall(b"RETR " + n.encode() + b"\r\n")
    got = 0
    while got < want:
        if go.startswith("+"):
            time.sleep(0.004)
        b = f.read1(4096)
        if not b:
            raise SystemExit("popclient midretr: the connection ended after %d bytes" % got)
        got += len(b)
    port = sock.getsockname()[1]
    with open(mark + ".tmp", "w") as m:
        m.write("%d %d\n" % (port, got))
    os.rename(mark + ".tmp", mark)
    throttle = go.startswith("+")
    if throttle:
        go = go[1:]
    deadline = time.time() + 60
    while not throttle and not os.path.exists(go) and time.time() < deadline:
        time.sleep(0.05)
    tail = b""
    total = got
    seen_go = not throttle
    while not tail.endswith(b"\r\n.\r\n"):
        if not seen_go and os.path.exists(go):
            got, seen_go = total, True  # what was read before the capture started
        if throttle:
            time.sleep(0.004)
        b = f.read1(4096 if throttle else 65536)
        if not b:
            raise SystemExit("popclient midretr: the connection ended inside the body")
        total += len(b)
        tail = (tail + b)[-5:]
    sock.sendall(b"NOOP\r\n")
    noop = f.readline().rstrip(b"\r\n").decode()
    sock.sendall(b"QUIT\r\n")
    quit_ = f.readline().rstrip(b"\r\n").decode()
    sock.close()
    with open(mark + ".done", "w") as m:
        m.write("%d %d %d %s | %s\n" % (port, got, total, noop, quit_))


def do_reset(host, user, password, n, mark, want):
    sock, f = login_raw(host, user, password)
    sock.sendall(b"RETR " + n.encode() + b"\r\n")
    got = 0
    while got < want:
        b = f.read1(65536)
        if not b:
            raise SystemExit("popclient reset: the connection ended after %d bytes" % got)
        got += len(b)
    port = sock.getsockname()[1]
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    f.close()
    sock.close()  # unread data and linger 0: RST
    with open(mark, "w") as m:
        m.write("%d %d\n" % (port, got))


def do_many(host, user, password, count):
    for _ in range(count):
        p = POP3(host, PORT, timeout=30)
        p.user(user)
        p.pass_(password)
        p.stat()
        p.quit()


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, a = argv[1], argv[2:]
    if cmd == "session" and len(a) == 5:
        do_session(*a)
    elif cmd == "badpass" and len(a) == 3:
        do_badpass(*a)
    elif cmd == "hold" and len(a) == 5:
        do_hold(*a)
    elif cmd == "slow" and len(a) == 6:
        do_slow(a[0], a[1], a[2], a[3], a[4], int(a[5]))
    elif cmd == "midretr" and len(a) == 7:
        do_midretr(a[0], a[1], a[2], a[3], a[4], int(a[5]), a[6])
    elif cmd == "reset" and len(a) == 6:
        do_reset(a[0], a[1], a[2], a[3], a[4], int(a[5]))
    elif cmd == "many" and len(a) == 4:
        do_many(a[0], a[1], a[2], int(a[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
