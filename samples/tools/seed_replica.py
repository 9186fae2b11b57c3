#!/usr/bin/env python3
"""Replay the POP3 session of the EventStudio seed document over real sockets.

Sub-commands:
  exchange [--addr A] [--port P]  run a scripted POP3 server and a scripted
                                  client (two threads, real TCP sockets) that
                                  exchange exactly the seed's bytes
  check PCAP [--segments OUT]     read PCAP with tshark and compare the TCP
                                  segment pattern with the seed's 38 segments;
                                  exit 0 if identical, 1 otherwise; with
                                  --segments, write the verified table to OUT
  body                            write the 1317-octet RETR message to stdout

Standard library only.  The segment pattern depends on Linux TCP ACK
behaviour, steered with TCP_NODELAY and TCP_QUICKACK:
  * the server re-arms TCP_QUICKACK before and after each recv(), which makes
    the kernel send the pending ACK at once: every command gets a pure ACK,
    the reply follows DELAY seconds later;
  * the client sets TCP_QUICKACK=0 (delayed-ACK "pingpong" mode) before each
    recv(), so a single-line reply is acknowledged by the next command;
    after a multi-line reply it sets TCP_QUICKACK=1 (sends the pending ACK
    as a pure ACK), waits, and only then sends the next command;
  * a multi-line reply is sent as two send() calls (status line, then the
    rest), TCP_NODELAY makes them two segments.
"""

import argparse
import socket
import subprocess
import sys
import threading
import time

DELAY = 0.030       # server: command -> reply
GAP = 0.005         # server: status line -> rest of a multi-line reply
ACK_WAIT = 0.030    # client: pure ACK of a multi-line reply -> next command

# ---------------------------------------------------------------- the message
BODY_LINES = [
    "Return-Path: <mary.smith@example.net>",
    "Received: from mail.example.net (mail.example.net [192.0.2.25])",
    "\tby pop3.anydomain.com with ESMTP id 390953946",
    "\tfor <john.doe@anydomain.com>; Tue, 14 Mar 2006 09:12:41 -0500",
    "Message-ID: <20060314141237.4711@mail.example.net>",
    "Date: Tue, 14 Mar 2006 09:12:37 -0500",
    "From: Mary Smith <mary.smith@example.net>",
    "To: John Doe <john.doe@anydomain.com>",
    "Subject: Agenda for Thursday's design review",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "Content-Transfer-Encoding: 7bit",
    "",
    "Hi John,",
    "",
    "Here is the agenda for Thursday's design review. We meet at 10:00 in",
    "the small conference room on floor three; the projector is booked.",
    "",
    "  1. Status of the mail gateway migration (Peter, 15 minutes)",
    "  2. POP3 server load figures for February (you, 10 minutes)",
    "  3. Retention policy for the shared maildrops (Anna, 20 minutes)",
    "  4. Open questions and next steps (everyone)",
    "",
    "Could you bring the connection statistics you showed me last week? The",
    "numbers on failed logins were interesting, and I would like the others",
    "to see them before we decide on the new lockout settings.",
    "",
    "If Thursday does not work for you, let me know by Wednesday noon and I",
    "will move the meeting to Friday morning.",
    "",
    "Regards,",
    "Mary",
    "",
    "-- ",
    "Mary Smith, Mail Operations",
    "Example Networks",
]
BODY = ("\r\n".join(BODY_LINES) + "\r\n").encode("ascii")
assert len(BODY) == 1317, len(BODY)
assert not any(l.startswith(".") for l in BODY_LINES)   # no dot-stuffing

GREETING = b"+OK X1 POP3 Server pop3.anydomain.com\r\n"

# (command, [reply segments], multi-line?)
SCRIPT = [
    (b"USER john.doe@anydomain.com\r\n", [b"+OK send your password\r\n"], False),
    (b"PASS abcxyz\r\n", [b"+OK maildrop locked and ready\r\n"], False),
    (b"STAT\r\n", [b"+OK 1 1317\r\n"], False),
    (b"UIDL\r\n", [b"+OK 1 messages (1317 octets)\r\n",
                   b"1 390953946\r\n.\r\n"], True),
    (b"LIST\r\n", [b"+OK 1 messages (1317 octets)\r\n",
                   b"1 1317\r\n.\r\n"], True),
    (b"RETR 1\r\n", [b"+OK 1317 octets\r\n", BODY + b".\r\n"], True),
    (b"DELE 1\r\n", [b"+OK msg deleted\r\n"], False),
    (b"QUIT\r\n", [b"+OK POP3 Server saying Good-Bye\r\n"], False),
]


def quickack(sock, val):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, val)


def recv_until(sock, end, arm):
    """Read until the buffer ends with `end`; call arm() before each recv."""
    buf = b""
    while not buf.endswith(end):
        arm()
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed early after %r" % buf)
        buf += chunk
    return buf


def server(lsock, errors):
    try:
        conn, _ = lsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        time.sleep(DELAY)
        conn.sendall(GREETING)
        for cmd, reply, _multi in SCRIPT:
            got = recv_until(conn, b"\r\n", lambda: quickack(conn, 1))
            quickack(conn, 1)               # pure ACK of the command, now
            if got != cmd:
                raise RuntimeError("server: expected %r, got %r" % (cmd, got))
            time.sleep(DELAY)
            for i, part in enumerate(reply):
                if i:
                    time.sleep(GAP)
                conn.sendall(part)
        # wait for the client's FIN, ACK it alone, then close our side
        quickack(conn, 1)
        rest = conn.recv(65536)
        quickack(conn, 1)
        if rest:
            raise RuntimeError("server: data after QUIT: %r" % rest)
        time.sleep(DELAY)
        conn.close()
    except Exception as exc:                # reported by the main thread
        errors.append("server: %s" % exc)


def client(addr, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect((addr, port))
    quickack(sock, 0)
    arm = lambda: quickack(sock, 0)
    got = recv_until(sock, b"\r\n", arm)
    if got != GREETING:
        raise RuntimeError("client: greeting %r" % got)
    for cmd, reply, multi in SCRIPT:
        sock.sendall(cmd)
        want = b"".join(reply)
        got = recv_until(sock, b"\r\n.\r\n" if multi else b"\r\n", arm)
        if got != want:
            raise RuntimeError("client: after %r expected %r, got %r"
                               % (cmd, want[:60], got[:60]))
        if multi:
            quickack(sock, 1)               # pending ACK goes out alone
            time.sleep(ACK_WAIT)
            quickack(sock, 0)
    time.sleep(DELAY)
    sock.close()                            # client FIN first


def exchange(addr, port):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(1)
    errors = []
    t = threading.Thread(target=server, args=(lsock, errors))
    t.start()
    try:
        client(addr, port)
    finally:
        t.join(10)
        lsock.close()
    time.sleep(0.2)                         # let the closing segments pass
    if errors:
        raise RuntimeError("; ".join(errors))


# --------------------------------------------------------------- the pattern
# (direction, flags, payload length, what the segment carries), in the order
# of the seed document.  C = client -> server, S = server -> client.
def expected():
    rows = [("C", "SYN", 0, "TCP SYN"),
            ("S", "SYN,ACK", 0, "TCP SYN+ACK"),
            ("C", "ACK", 0, "TCP ACK (handshake complete)"),
            ("S", "PSH,ACK", len(GREETING), "greeting " + GREETING.decode().strip())]
    for cmd, reply, multi in SCRIPT:
        name = cmd.decode().strip()
        rows.append(("C", "PSH,ACK", len(cmd), name))
        rows.append(("S", "ACK", 0, "TCP ACK of " + name.split()[0]))
        for i, part in enumerate(reply):
            if i == 0:
                what = part.decode().strip()
            elif name == "RETR 1":
                what = "message body (%d octets) + '.' CRLF" % len(BODY)
            else:
                what = "%s + '.' CRLF" % part.decode().split("\r\n")[0]
            rows.append(("S", "PSH,ACK", len(part), what))
        if multi:
            rows.append(("C", "ACK", 0, "TCP ACK of the multi-line reply"))
    rows += [("C", "FIN,ACK", 0, "TCP FIN+ACK (client closes first)"),
             ("S", "ACK", 0, "TCP ACK of the client's FIN"),
             ("S", "FIN,ACK", 0, "TCP FIN+ACK (server closes)"),
             ("C", "ACK", 0, "TCP ACK of the server's FIN")]
    return rows


FLAGNAMES = [("S", "SYN"), ("F", "FIN"), ("R", "RST"), ("P", "PSH"),
             ("A", "ACK"), ("U", "URG"), ("E", "ECE"), ("C", "CWR")]
ORDER = ["SYN", "FIN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]


def flags_from_str(s):
    names = {n for letter, n in FLAGNAMES if letter in s}
    return ",".join(n for n in ORDER if n in names)


def actual(pcap, port):
    out = subprocess.run(
        ["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.srcport",
         "-e", "tcp.flags.str", "-e", "tcp.len"],
        check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        sport, fstr, tlen = line.split("\t")
        rows.append(("S" if int(sport) == port else "C",
                     flags_from_str(fstr), int(tlen)))
    return rows


def check(pcap, port, segments_out):
    exp = expected()
    act = actual(pcap, port)
    ok = len(exp) == len(act)
    lines = []
    for i in range(max(len(exp), len(act))):
        e = exp[i] if i < len(exp) else ("-", "-", "-", "(not expected)")
        a = act[i] if i < len(act) else ("-", "-", "-")
        same = tuple(e[:3]) == tuple(a)
        ok = ok and same
        lines.append("%2d  %s  %-8s %5s  %s%s" % (
            i + 1, "C->S" if a[0] == "C" else "S->C" if a[0] == "S" else "-",
            a[1], a[2], e[3],
            "" if same else "   <-- expected %s %s %s" % e[:3]))
    print("\n".join(lines))
    print("segments: %d captured, %d expected: %s"
          % (len(act), len(exp), "PATTERN MATCHES THE SEED" if ok
             else "PATTERN DIFFERS FROM THE SEED"))
    if ok and segments_out:
        with open(segments_out, "w") as f:
            f.write("# samples/seed-replica.pcap: the 38 TCP segments, in capture order.\n"
                    "# Produced by `samples/tools/seed_replica.py check` from\n"
                    "# `tshark -r seed-replica.pcap -T fields -e tcp.srcport"
                    " -e tcp.flags.str -e tcp.len`\n"
                    "# and compared row by row with the seed document"
                    " (pop3-eventstudio-tutorial.txt).\n"
                    "# Client 127.0.0.1:<ephemeral>, server 127.0.0.1:110."
                    " Length = TCP payload octets.\n"
                    "# The seed gives 1322 for the RETR data segment; here it is"
                    " 1320 = 1317 (message,\n"
                    "# as announced by STAT/LIST/RETR) + 3 ('.' CRLF); see"
                    " samples/README.md.\n"
                    "#\n# no  dir   flags    length  carries\n")
            f.write("\n".join(lines) + "\n")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("exchange")
    ex.add_argument("--addr", default="127.0.0.1")
    ex.add_argument("--port", type=int, default=110)
    ck = sub.add_parser("check")
    ck.add_argument("pcap")
    ck.add_argument("--port", type=int, default=110)
    ck.add_argument("--segments")
    sub.add_parser("body")
    args = ap.parse_args()
    if args.cmd == "exchange":
        exchange(args.addr, args.port)
        return 0
    if args.cmd == "check":
        return check(args.pcap, args.port, args.segments)
    sys.stdout.buffer.write(BODY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
