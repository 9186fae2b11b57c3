#!/usr/bin/env python3
"""Write the 1 MiB-attachment message of the Dovecot captures, byte for byte the same
every time: a multipart/mixed message whose attachment is 1048576 pseudo-random
octets (SHA-256 in counter mode), base64 in 76-character lines, LF line ends (the
server sends CRLF).  Standard library only.

Usage: make-big-mail.py OUTFILE
"""
import base64
import hashlib
import sys

SIZE = 1 << 20


def payload():
    out = bytearray()
    n = 0
    while len(out) < SIZE:
        out += hashlib.sha256(b"popflow 1 MiB attachment %d" % n).digest()
        n += 1
    return bytes(out[:SIZE])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-big-mail.py OUTFILE")
    data = payload()
    b64 = base64.b64encode(data).decode("ascii")
    body = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
    text = f"""Return-Path: <grace@example.net>
Message-ID: <big-0005@mail.example.net>
Date: Tue, 14 Nov 2023 11:00:00 +0000
From: Grace Example <grace@example.net>
To: Alice <alice@popflow.test>
Subject: Sensor archive (1 MiB attachment)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_popflow_big_0005"

This is a multi-part message in MIME format.

--=_popflow_big_0005
Content-Type: text/plain; charset=us-ascii

The attached archive is {SIZE} octets, SHA-256 {hashlib.sha256(data).hexdigest()}.

--=_popflow_big_0005
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="sensors.bin"
Content-Transfer-Encoding: base64

{body}
--=_popflow_big_0005--
"""
    with open(sys.argv[1], "w", encoding="ascii", newline="\n") as f:
        f.write(text)


if __name__ == "__main__":
    main()
