#!/usr/bin/env python3
"""pop3-summary.py CAPTURE [--port 110] [--no-greeting]

An independent cross-check for the crafted captures: tshark reassembles each
TCP stream (follow,tcp,raw), then a small POP3 reader (RFC 1939/2449/5034/2595
rules, FIFO pairing for pipelining) prints one line per transaction:

    stream 0 192.0.2.10:49152 -> 192.0.2.1:110
      RETR 1            +OK 523 octets    body 17 lines 523 octets (unstuffed)

and checks that STAT/LIST sizes agree with the unstuffed RETR bodies.  It is a
test aid, not popflow: it knows nothing about link types (tshark does the
decoding) and trusts tshark's reassembly.  Standard library only.
"""
import re
import subprocess
import sys

MULTI_ALWAYS = {"CAPA", "RETR", "TOP"}
MULTI_NOARG = {"LIST", "UIDL", "LANG", "AUTH"}


def tshark(args):
    r = subprocess.run(["tshark"] + args, capture_output=True, check=True)
    return r.stdout.decode("latin-1")


def streams(path, port):
    out = tshark(["-r", path, "-T", "fields", "-e", "tcp.stream", "-Y",
                  "tcp.port == %d" % port])
    return sorted({int(x) for x in out.split() if x.strip()})


def follow(path, idx):
    """Return (client_addr, server_addr, [bytes to server], [bytes to client])."""
    out = tshark(["-r", path, "-q", "-z", "follow,tcp,raw,%d" % idx])
    node0 = node1 = None
    c2s, s2c = bytearray(), bytearray()
    for line in out.splitlines():
        m = re.match(r"Node (\d): (.*)", line)
        if m:
            if m.group(1) == "0":
                node0 = m.group(2)
            else:
                node1 = m.group(2)
            continue
        if not line.strip() or line.startswith("=") or ":" in line.strip()[:12]:
            if not re.fullmatch(r"\t?[0-9a-f]+", line):
                continue
        if re.fullmatch(r"[0-9a-f]+", line):
            c2s += bytes.fromhex(line)
        elif re.fullmatch(r"\t[0-9a-f]+", line):
            s2c += bytes.fromhex(line[1:])
    return node0, node1, bytes(c2s), bytes(s2c)


def lines(data):
    """Split on LF; report CRLF/bare LF.  Returns [(line_without_eol, eol)]."""
    res = []
    pos = 0
    while pos < len(data):
        i = data.find(b"\n", pos)
        if i < 0:
            res.append((data[pos:], None))      # incomplete last line
            break
        ln = data[pos:i]
        eol = "CRLF"
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        else:
            eol = "LF"
        res.append((ln, eol))
        pos = i + 1
    return res


def show(b, n=60):
    s = b.decode("latin-1")
    s = "".join(c if 32 <= ord(c) < 127 else "\\x%02x" % ord(c) for c in s)
    return s if len(s) <= n else s[:n] + "...(%d)" % len(b)


def analyse(c2s, s2c, out, greeting=True):
    cmds = [(ln, eol) for ln, eol in lines(c2s)]
    rsp = lines(s2c)
    ri = 0
    sizes = {}
    problems = []
    in_tls = False
    body = []

    def read_status():
        nonlocal ri
        if ri >= len(rsp):
            return None
        r = rsp[ri]
        ri += 1
        return r

    def read_body():
        nonlocal ri
        nl = 0
        octets = 0
        body.clear()
        while ri < len(rsp):
            ln, eol = rsp[ri]
            ri += 1
            if eol is None:
                octets += len(ln)       # partial last line, no EOL
                return nl, octets, False
            if ln == b".":
                return nl, octets, True
            if ln.startswith(b"."):
                ln = ln[1:]
            body.append(ln)
            nl += 1
            octets += len(ln) + 2
        return nl, octets, False

    if greeting:
        g = read_status()
        if g is not None:
            out.append("  %-18s %s" % ("(greeting)", show(g[0])))
    pending = list(cmds)
    ci = 0
    auth = False
    while ci < len(pending):
        cl, ceol = pending[ci]
        ci += 1
        words = cl.split(b" ")
        verb = words[0].decode("latin-1").upper()
        nargs = len(words) - 1 if cl.strip() else 0
        tag = show(cl, 18) + ("" if ceol == "CRLF" else " [%s]" % ceol)
        if auth:
            r = read_status()
            out.append("  %-18s %s" % ("(sasl) " + show(cl, 11), show(r[0]) if r else "<no reply>"))
            if r and not r[0].startswith(b"+ "):
                auth = False
            continue
        r = read_status()
        if r is None:
            out.append("  %-18s <no reply>" % tag)
            continue
        st = r[0]
        extra = ""
        if st.startswith(b"+OK") and (verb in MULTI_ALWAYS or
                                      (verb in MULTI_NOARG and nargs == 0)):
            nl, octets, done = read_body()
            extra = "  body %d lines %d octets%s" % (nl, octets, "" if done else " UNTERMINATED")
            if verb == "RETR" and nargs == 1:
                sizes.setdefault("retr", {})[words[1].decode()] = octets
            if verb == "LIST":
                for b in body:
                    m = re.match(rb"(\d+) (\d+)$", b)
                    if m:
                        sizes.setdefault("list", {})[m.group(1).decode()] = int(m.group(2))
        elif st.startswith(b"+ ") or st == b"+":
            auth = True
        out.append("  %-18s %s%s" % (tag, show(st), extra))
        if verb == "STLS" and st.startswith(b"+OK"):
            in_tls = True
            break
        m = re.match(rb"\+OK (\d+) (\d+)$", st)
        if verb == "LIST" and nargs == 1 and m:
            sizes.setdefault("list", {})[m.group(1).decode()] = int(m.group(2))
    if in_tls:
        out.append("  -- TLS from here: %d octets to server, rest to client --" % (
            len(c2s) - sum(len(l) + (2 if e == "CRLF" else 1) for l, e in pending[:ci])))
    while ri < len(rsp):
        out.append("  %-18s %s" % ("(unpaired)", show(rsp[ri][0])))
        ri += 1
    for k, v in sizes.get("retr", {}).items():
        lv = sizes.get("list", {}).get(k)
        if lv is not None and lv != v:
            problems.append("LIST %s says %d, RETR body has %d" % (k, lv, v))
        elif lv is not None and v == lv:
            out.append("  check: LIST size of %s = RETR body octets = %d" % (k, v))
    return problems


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    path = sys.argv[1]
    port = 110
    if "--port" in sys.argv:
        port = int(sys.argv[sys.argv.index("--port") + 1])
    bad = 0
    for s in streams(path, port):
        n0, n1, c2s, s2c = follow(path, s)
        out = ["stream %d %s -> %s  (%d octets to server, %d to client)" % (
            s, n0, n1, len(c2s), len(s2c))]
        probs = analyse(c2s, s2c, out, "--no-greeting" not in sys.argv)
        print("\n".join(out))
        for p in probs:
            print("  PROBLEM:", p)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
