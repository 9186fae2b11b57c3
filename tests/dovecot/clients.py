#!/usr/bin/env python3
"""Real POP3 client sessions against the throwaway Dovecot of tests/lib/dovecot-env.sh,
for the captures made by tests/dovecot/make-auth-captures.sh.  Standard library only.

  clients.py auth ADDR PORT USER PASSWORD LOG
      one poplib session per login form:
        1  CAPA; AUTH (no mechanism: a listing); USER + PASS wrong (-ERR);
           USER + PASS right; STAT; QUIT
        2  AUTH PLAIN with an initial response; STAT; QUIT
        3  AUTH PLAIN without one ("+ " then the base64 line); QUIT
        4  AUTH LOGIN (Username:/Password: challenges); QUIT
        5  AUTH CRAM-MD5 (HMAC-MD5 of the challenge); QUIT
        6  APOP (poplib.apop, the greeting's timestamp); QUIT
        7  AUTH PLAIN cancelled with "*"; AUTH PLAIN with "=" (empty initial
           response); AUTH PLAIN with a line that is not base64; USER/PASS; QUIT
        8  STLS, then TLS (certificate not checked: throwaway); USER/PASS,
           STAT, QUIT inside TLS
  clients.py mail ADDR PORT USER PASSWORD LOG OUTDIR
        1  poplib: USER/PASS, CAPA, STAT, LIST, UIDL, TOP 5 0, RETR of every
           message (each saved to OUTDIR/poplib-<n>.eml as the client received
           it: un-stuffed lines joined with CRLF), QUIT
        2  a raw socket client: USER/PASS, then RETR of every message but
           message 5 (the 1 MiB one, retrieved once is enough) and QUIT,
           pipelined in one write (the server announces PIPELINING); each saved
           to OUTDIR/pipelined-<n>.eml, parsed here independently of popflow;
           a line where a status belongs that is neither +OK nor -ERR is logged
           and skipped (Dovecot 2.3.19 leaves one after a message that starts
           with an unstuffed ".")

The LOG (.clientlog) records what the client sent (C:) and the first line of
each reply (S:); secrets are masked: "PASS *", "APOP alice *", SASL data as
"<base64, N octets>".  For every message: its size and SHA-256 as received.
"""
import base64
import hashlib
import hmac
import poplib
import socket
import ssl
import sys


class LoggingPOP3(poplib.POP3):
    """poplib.POP3 that logs commands (secrets masked) and reply status lines."""

    def __init__(self, host, port, log):
        self._log = log
        self.mask_next = False
        super().__init__(host, port, timeout=60)

    def _putcmd(self, line):
        up = line.upper()
        if self.mask_next:
            shown = "<base64, %d octets>" % len(line) if line not in ("*", "=", "") else line
            self.mask_next = False
        elif up.startswith("PASS "):
            shown = "PASS *"
        elif up.startswith("APOP "):
            shown = " ".join(line.split(" ")[:2]) + " *"
        elif up.startswith("AUTH ") and len(line.split(" ")) > 2 and line.split(" ")[2] != "=":
            shown = " ".join(line.split(" ")[:2]) + " <base64, %d octets>" % len(line.split(" ")[2])
        else:
            shown = line
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

    def sasl(self, line):
        """Sends one SASL client line (masked in the log); returns the reply or raises."""
        self.mask_next = True
        return self._shortcmd(line)


def expect_err(fn, *args):
    try:
        fn(*args)
    except poplib.error_proto:
        return
    raise SystemExit("expected -ERR from %r" % (args,))


def b64(data):
    return base64.b64encode(data).decode("ascii")


def auth(addr, port, user, password, log):
    pw = password.encode()
    u = user.encode()

    log.append("session 1: CAPA, AUTH listing, USER/PASS wrong then right")
    p = LoggingPOP3(addr, port, log)
    p.capa()
    resp, lines, _ = p._longcmd("AUTH")
    log.append("D: %d mechanisms listed" % len(lines))
    p.user(user)
    expect_err(p.pass_, password + "-wrong")
    p.user(user)
    p.pass_(password)
    p.stat()
    p.quit()

    log.append("session 2: AUTH PLAIN with an initial response")
    p = LoggingPOP3(addr, port, log)
    p._shortcmd("AUTH PLAIN " + b64(b"\0" + u + b"\0" + pw))
    p.stat()
    p.quit()

    log.append("session 3: AUTH PLAIN without an initial response")
    p = LoggingPOP3(addr, port, log)
    p._shortcmd("AUTH PLAIN")
    p.sasl(b64(b"\0" + u + b"\0" + pw))
    p.quit()

    log.append("session 4: AUTH LOGIN")
    p = LoggingPOP3(addr, port, log)
    p._shortcmd("AUTH LOGIN")
    p.sasl(b64(u))
    p.sasl(b64(pw))
    p.quit()

    log.append("session 5: AUTH CRAM-MD5")
    p = LoggingPOP3(addr, port, log)
    challenge = base64.b64decode(p._shortcmd("AUTH CRAM-MD5")[2:])
    digest = hmac.new(pw, challenge, hashlib.md5).hexdigest()
    log.append("   challenge %s" % challenge.decode("ascii", "replace"))
    p.sasl(b64(u + b" " + digest.encode()))
    p.quit()

    log.append("session 6: APOP")
    p = LoggingPOP3(addr, port, log)
    p.apop(user, password)
    p.quit()

    log.append("session 7: AUTH cancelled, empty, not base64; then USER/PASS")
    p = LoggingPOP3(addr, port, log)
    p._shortcmd("AUTH PLAIN")
    expect_err(p.sasl, "*")
    expect_err(p._shortcmd, "AUTH PLAIN =")
    p._shortcmd("AUTH PLAIN")
    expect_err(p.sasl, "not base64!")
    p.user(user)
    p.pass_(password)
    p.quit()

    log.append("session 8: STLS, then USER/PASS inside TLS")
    p = LoggingPOP3(addr, port, log)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # throwaway self-signed certificate
    p.stls(ctx)
    log.append("   TLS: %s %s" % (p.sock.version(), p.sock.cipher()[0]))
    p.user(user)
    p.pass_(password)
    p.stat()
    p.quit()


def digest_line(log, name, data):
    log.append("message %s: %d octets sha256 %s" % (name, len(data), hashlib.sha256(data).hexdigest()))


def mail(addr, port, user, password, log, outdir):
    log.append("session 1: poplib, TOP 5 0, every RETR")
    p = LoggingPOP3(addr, port, log)
    p.user(user)
    p.pass_(password)
    p.capa()
    count, _size = p.stat()
    _resp, listing, _ = p.list()
    _resp, uids, _ = p.uidl()
    log.append("D: LIST " + " ".join(x.decode() for x in listing))
    log.append("D: UIDL " + " ".join(x.decode() for x in uids))
    _resp, lines, octets = p.top(5, 0)
    log.append("D: TOP 5 0: %d lines, %d octets" % (len(lines), octets))
    for n in range(1, count + 1):
        _resp, lines, octets = p.retr(n)
        data = b"".join(line + b"\r\n" for line in lines)
        if len(data) != octets:
            raise SystemExit("message %d: poplib counted %d octets, joined %d" % (n, octets, len(data)))
        with open("%s/poplib-%d.eml" % (outdir, n), "wb") as f:
            f.write(data)
        digest_line(log, "poplib-%d" % n, data)
    try:
        p.quit()
    except poplib.error_proto as exc:
        # What a real client meets when the server left a stray line: logged above.
        log.append("   poplib: QUIT failed: %r; connection closed" % exc.args[0])
        p.close()

    log.append("session 2: raw socket, every RETR pipelined in one write")
    s = socket.create_connection((addr, port), timeout=60)
    f = s.makefile("rb")

    def status():
        while True:
            line = f.readline()
            if not line:
                raise SystemExit("the server closed the connection")
            shown = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if line.startswith(b"+OK") or line.startswith(b"-ERR"):
                log.append("S: " + shown)
                break
            log.append("S: (not a status line, skipped) " + shown)
        if not line.startswith(b"+OK"):
            raise SystemExit("unexpected reply %r" % line)
        return line

    status()
    for cmd, shown in (("USER " + user, None), ("PASS " + password, "PASS *")):
        s.sendall(cmd.encode() + b"\r\n")
        log.append("C: " + (shown or cmd))
        status()
    wanted = [n for n in range(1, count + 1) if n != 5]
    batch = "".join("RETR %d\r\n" % n for n in wanted) + "QUIT\r\n"
    s.sendall(batch.encode())
    log.append("C: " + " + ".join(batch.strip().split("\r\n")) + " (one write)")
    for n in wanted:
        status()
        data = bytearray()
        while True:
            line = f.readline()
            if not line.endswith(b"\r\n"):
                raise SystemExit("message %d: line without CRLF %r" % (n, line))
            if line == b".\r\n":
                break
            if line.startswith(b"."):
                line = line[1:]  # RFC 1939 section 3: un-stuff
            data += line
        with open("%s/pipelined-%d.eml" % (outdir, n), "wb") as out:
            out.write(data)
        digest_line(log, "pipelined-%d" % n, bytes(data))
    status()
    f.close()
    s.close()


def main():
    if len(sys.argv) < 7 or sys.argv[1] not in ("auth", "mail"):
        sys.exit(__doc__)
    what, addr, port, user, password, logpath = sys.argv[1:7]
    log = []
    try:
        if what == "auth":
            auth(addr, int(port), user, password, log)
        else:
            mail(addr, int(port), user, password, log, sys.argv[7])
    finally:
        with open(logpath, "w", encoding="utf-8") as f:
            f.write("\n".join(log) + "\n")


if __name__ == "__main__":
    main()
