#!/usr/bin/env python3
"""Scripted Python poplib client for samples/dovecot-poplib.pcap.

Session 1: USER, PASS with a wrong password (-ERR), QUIT.
Session 2: USER/PASS, STAT, LIST, UIDL, RETR of every message, TOP 1 0, DELE 1,
           RSET, NOOP, QUIT.
Writes a client-side log (--log) of what it sent and received:
  C: <command>            command line sent (the PASS argument is masked as "*")
  S: <first line>         first line of each reply (greeting included)
  D: <n> lines, <m> octets   data of a multi-line reply as poplib counted it:
                          lines after un-stuffing, octets = un-stuffed bytes
                          including each line's CRLF, without the final "." line
  message <k>: <m> octets   the same count for RETR k
Standard library only.
"""
import argparse
import poplib
import sys


class LoggingPOP3(poplib.POP3):
    """poplib.POP3 that records commands and reply status lines."""

    def __init__(self, host, port, log):
        self._log = log
        super().__init__(host, port, timeout=30)

    def _putcmd(self, line):
        shown = "PASS *" if line.upper().startswith("PASS ") else line
        self._log.append("C: " + shown)
        super()._putcmd(line)

    def _getresp(self):
        try:
            resp = super()._getresp()
        except poplib.error_proto as exc:
            self._log.append("S: " + exc.args[0].decode("utf-8", "replace"))
            raise
        self._log.append("S: " + resp.decode("utf-8", "replace"))
        return resp


def data(log, result):
    _resp, lines, octets = result
    log.append("D: %d lines, %d octets" % (len(lines), octets))
    return lines, octets


def run(addr, port, user, password, log):
    # session 1: wrong password
    log.append("session 1")
    p = LoggingPOP3(addr, port, log)
    p.user(user)
    try:
        p.pass_(password + "-wrong")
        raise SystemExit("session 1: the wrong password was accepted")
    except poplib.error_proto:
        pass
    p.quit()
    log.append("end session 1")

    # session 2: the full tour
    log.append("session 2")
    p = LoggingPOP3(addr, port, log)
    p.user(user)
    p.pass_(password)
    count, _size = p.stat()
    data(log, p.list())
    data(log, p.uidl())
    for k in range(1, count + 1):
        _lines, octets = data(log, p.retr(k))
        log.append("message %d: %d octets" % (k, octets))
    data(log, p.top(1, 0))
    p.dele(1)
    p.rset()
    p.noop()
    p.quit()
    log.append("end session 2")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=110)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    log = ["# client: Python %s poplib -> %s:%d, user %s"
           % (sys.version.split()[0], args.addr, args.port, args.user),
           "# C: command sent (PASS argument masked), S: first line of a reply,",
           "# D: multi-line reply data as poplib counts it (lines; octets un-stuffed,"
           " CRLF included, final '.' line excluded)"]
    try:
        run(args.addr, args.port, args.user, args.password, log)
    finally:
        with open(args.log, "w") as f:
            f.write("\n".join(log) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
