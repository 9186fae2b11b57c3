#!/usr/bin/env python3
"""Checks for popflow's rendered diagrams (standard library only).

  check.py rows MERMAID                 print the rows of a -T mermaid output (step, dir, name, params)
  check.py seed MERMAID TSV             compare the rows with the seed's message list (seed-messages.tsv)
  check.py svg SVG MERMAID              the SVG parses as XML and holds every row's name and parameters
  check.py plain PLAIN                  `dot -Tplain` output: every edge horizontal (arrow) or vertical (lifeline)
  check.py png FILE...                  PNG signature and IHDR, height below cairo's 32767-pixel limit
  check.py pdf FILE PAGES [PAPER]       PDF header, trailer and page count (pdfinfo/qpdf too if installed);
                                        PAPER (a4, letter, or '-' for any): every page's MediaBox
                                        is that paper's size to within a point, A4 when PAGES is '>1'
                                        and the count is only known to be more than one
  check.py syntax FORMAT FILE [MERMAID] every line of a plantuml, mermaid or fdl output is one popflow
                                        writes, with no syntax of the language inside its texts; with
                                        MERMAID, the texts read back equal that output's rows

Each prints what it checked and exits 1 on the first failure.
"""

import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

ROW = re.compile(r'^    ([CS])(-->>|->>|-x|--\))([CS]): (\d+)\. (.*)<br/>(.*) \[-?[0-9.]+ s\]$')
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def unescape(s):
    """Mermaid entity codes as emit_mermaid.c writes them: #lt; #gt; #amp; #quot; #NN;."""
    def one(m):
        k = m.group(1)
        return chr(int(k)) if k.isdigit() else ENTITIES[k]
    return re.sub(r'#(lt|gt|amp|quot|\d+);', one, s)


def rows(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line.rstrip("\n"))
            if m:
                frm, _arrow, to, step, name, params = m.groups()
                out.append((int(step), frm + "->" + to, unescape(name), unescape(params)))
    if not out:
        fail("%s: no rows found" % path)
    return out


def cmd_rows(path):
    for r in rows(path):
        print("%d\t%s\t%s\t%s" % r)


def flags_of(params):
    m = re.search(r'\(([A-Z, ]+)\)', params)
    return m.group(1) if m else None


def cmd_seed(mermaid, tsv):
    got = rows(mermaid)
    want = []
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            step, d, name, params = line.rstrip("\n").split("\t")
            want.append((int(step), d, name, params))
    if len(got) != len(want):
        fail("%d rows, the seed has %d" % (len(got), len(want)))
    for (gs, gd, gn, gp), (ws, wd, wn, wp) in zip(got, want):
        wd = wd.replace("C->S", "C->S").replace("S->C", "S->C")
        if gs != ws:
            fail("row %d numbered %d" % (ws, gs))
        if gd != wd:
            fail("row %d: direction %s, the seed has %s" % (ws, gd, wd))
        # The seed's one typo: a space before <cr> in "1 390953946 <cr><nl>".
        if gn != wn.replace(" <cr>", "<cr>"):
            fail("row %d: name %r, the seed has %r" % (ws, gn, wn))
        if flags_of(gp) != flags_of(wp):
            fail("row %d: params %r, the seed has %r" % (ws, gp, wp))
        if "Segment Length" in wp and "TCP Segment Length = " not in gp:
            fail("row %d: params %r lack the segment length (seed: %r)" % (ws, gp, wp))
        if "tcp.len" in wp and flags_of(gp) != "ACK":
            fail("row %d: params %r" % (ws, gp))
    print("seed: %d rows: same steps, order, directions, names and flags as the seed" % len(got))


def svg_texts(path):
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        fail("%s: not XML: %s" % (path, e))
    root = tree.getroot()
    if not root.tag.endswith("svg"):
        fail("%s: root element is %s" % (path, root.tag))
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def cmd_svg(svg, mermaid):
    texts = set(svg_texts(svg))
    n = 0
    for step, _d, name, params in rows(mermaid):
        for label in (name, params, str(step)):
            if label not in texts:
                fail("%s: row %d: no <text> %r" % (svg, step, label))
            n += 1
    print("svg: XML, %d labels of %d rows found as <text>" % (n, len(rows(mermaid))))


def cmd_plain(path):
    edges = arrows = lifelines = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if not w or w[0] != "edge":
                continue
            n = int(w[3])
            pts = [(float(w[4 + 2 * i]), float(w[5 + 2 * i])) for i in range(n)]
            xs = {round(x, 2) for x, _ in pts}
            ys = {round(y, 2) for _, y in pts}
            edges += 1
            if len(ys) == 1:
                arrows += 1
            elif len(xs) == 1:
                lifelines += 1
            else:
                fail("%s: edge %s -> %s is bent: %s" % (path, w[1], w[2], pts))
    if arrows == 0 or lifelines == 0:
        fail("%s: %d arrows, %d lifeline pieces" % (path, arrows, lifelines))
    print("dot: %d edges: %d horizontal arrows, %d vertical lifeline pieces" % (edges, arrows, lifelines))


def cmd_png(paths):
    for p in paths:
        with open(p, "rb") as f:
            head = f.read(24)
        if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
            fail("%s: not a PNG" % p)
        w, h = struct.unpack(">II", head[16:24])
        if not (0 < w < 32767 and 0 < h < 32767):
            fail("%s: %dx%d pixels" % (p, w, h))
        print("png: %s: %dx%d" % (p, w, h))


PAPERS = {"a4": (595.276, 841.890), "letter": (612.0, 792.0)}


def cmd_pdf(path, pages, paper="-"):
    data = open(path, "rb").read()
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-64:]:
        fail("%s: no PDF header or trailer" % path)
    n = len(re.findall(rb"/Type /Page(?![s])", data))
    m = re.search(rb"/Type /Pages /Count (\d+)", data) or re.search(rb"/Count (\d+)", data)
    count = int(m.group(1)) if m else -1
    if pages == ">1":
        pages = n if n > 1 else 2  # any count above one, as long as both agree
    if n != pages or count != pages:
        fail("%s: %d page objects, /Count %d, expected %d" % (path, n, count, pages))
    if paper != "-":
        boxes = [tuple(float(v) for v in b.split()) for b in
                 re.findall(rb"/MediaBox\s*\[\s*([-0-9. ]+?)\s*\]", data)]
        want = PAPERS[paper]
        if len(boxes) != pages:
            fail("%s: %d MediaBox entries for %d pages" % (path, len(boxes), pages))
        for i, b in enumerate(boxes):
            w, h = b[2] - b[0], b[3] - b[1]
            if abs(w - want[0]) > 1 or abs(h - want[1]) > 1:
                fail("%s: page %d is %g x %g points, not %s (%g x %g)" % (path, i + 1, w, h, paper,
                                                                          want[0], want[1]))
        if shutil.which("pdfinfo"):
            out = subprocess.run(["pdfinfo", "-f", "1", "-l", str(pages), path], capture_output=True,
                                 text=True)
            sizes = re.findall(r"^Page\s+\d+ size:\s+([0-9.]+) x ([0-9.]+) pts", out.stdout, re.M)
            if len(sizes) != pages or any(abs(float(w) - want[0]) > 1 or abs(float(h) - want[1]) > 1
                                          for w, h in sizes):
                fail("%s: pdfinfo's page sizes %s are not %s" % (path, sizes, paper))
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", path], capture_output=True, text=True)
        if out.returncode != 0 or not re.search(r"^Pages:\s+%d$" % pages, out.stdout, re.M):
            fail("%s: pdfinfo: %s %s" % (path, out.stdout, out.stderr))
    if shutil.which("qpdf"):
        out = subprocess.run(["qpdf", "--check", path], capture_output=True, text=True)
        if out.returncode != 0:
            fail("%s: qpdf --check: %s" % (path, out.stdout + out.stderr))
    print("pdf: %s: %d pages%s%s%s" % (path, pages, "" if paper == "-" else ", each " + paper,
                                        ", pdfinfo agrees" if shutil.which("pdfinfo") else "",
                                        ", qpdf --check clean" if shutil.which("qpdf") else ""))


# ---- strict line checks: peers' text never becomes diagram syntax (issue 12, defect 4) ----

PUML_TEXT = r'(?:[^<>\\"%~]|<U\+[0-9A-F]{4,6}>)*'
PUML_LINES = [
    re.compile(r'^@startuml$'), re.compile(r'^@enduml$'), re.compile(r'^newpage$'),
    re.compile(r'^skinparam [A-Za-z]+ [#A-Za-z0-9]+$'),
    re.compile(r'^title ' + PUML_TEXT + '$'),
    re.compile(r'^box "' + PUML_TEXT + r'" #DFE7F5$'),
    re.compile(r'^  participant "' + PUML_TEXT + r'\\n' + PUML_TEXT + r'" as [CS]$'),
    re.compile(r'^end box$'),
    re.compile(r'^== ' + PUML_TEXT + ' ==$'),
    re.compile(r'^([CS]) -\[#[0-9A-F]{6}\]-?> ([CS]) : <b>(\d+)</b> (?:<color:#[0-9A-F]{6}>)?<b>(' + PUML_TEXT +
               r')</b>(?:</color>)?\\n<size:9><color:#555555>(' + PUML_TEXT +
               r')  \[-?[0-9.]+ s, [-+][0-9.]+\]</color></size>$'),
    re.compile(r'^note right : (?:<color:#E00000>)?' + PUML_TEXT + r'(?:</color>)?' +
               r'(?:\\n(?:<color:#E00000>)?' + PUML_TEXT + r'(?:</color>)?)*$'),
]
MMD_TEXT = r'(?:[^#;%<>"\n]|#(?:lt|gt|amp|quot|\d+);|<br/>)*'
MMD_LINES = [
    re.compile(r'^sequenceDiagram$'), re.compile(r'^%% part \d+ of \d+$'), re.compile(r'^$'),
    re.compile(r'^    title ' + MMD_TEXT + '$'),
    re.compile(r'^    participant [CS] as ' + MMD_TEXT + '$'),
    re.compile(r'^    Note over C,S: ' + MMD_TEXT + '$'),
    re.compile(r'^    Note right of S: ' + MMD_TEXT + '$'),
    ROW,
]
FDL_STR = r'"[^"\\\n]*"'
FDL_IDENT = r'(?![a-z]+\()[A-Za-z_][A-Za-z0-9_]*'
FDL_LINES = [
    re.compile(r'^/\* (?:[^*/]|\*(?![/)])|/(?!\*))* \*/$'), re.compile(r'^$'),
    re.compile(r"^(module|processor|eternal) : [a-z0-9_, ]+$"),
    re.compile(r'^feature ' + FDL_STR + '$'), re.compile(r'^endfeature$'),
    re.compile(r'^  heading ' + FDL_STR + '$'),
    re.compile(r'^  ' + FDL_IDENT + r'\(' + FDL_STR + r'(?:, ' + FDL_STR + r')*\) : pop3_(client|server) -> pop3_(client|server)$'),
    re.compile(r'^  \(\* (?:[^*(]|\*(?!\))|\((?!\*))* \*\)$'),
]


def unplantuml(s):
    return re.sub(r'<U\+([0-9A-F]{4,6})>', lambda m: chr(int(m.group(1), 16)), s)


def cmd_syntax(fmt, path, mermaid=None):
    table = {"plantuml": PUML_LINES, "mermaid": MMD_LINES, "fdl": FDL_LINES}[fmt]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    texts = []
    for i, line in enumerate(lines, 1):
        for rx in table:
            m = rx.match(line)
            if m:
                break
        else:
            fail("%s:%d: not a line popflow writes in %s: %r" % (path, i, fmt, line))
        if fmt == "plantuml":
            if line == "@startuml" and i != 1:
                fail("%s:%d: @startuml not on the first line" % (path, i))
            if line == "@enduml" and i != len(lines):
                fail("%s:%d: @enduml before the last line" % (path, i))
            if "[[" in line or "{{" in line:
                fail("%s:%d: a link or sub-diagram opener: %r" % (path, i, line))
            if m.re.pattern.startswith("^([CS])"):
                texts.append((int(m.group(3)), unplantuml(m.group(4)), unplantuml(m.group(5))))
    if mermaid is not None and fmt == "plantuml":
        want = [(step, name, params) for step, _d, name, params in rows(mermaid)]
        if texts != want:
            for a, b in zip(texts, want):
                if a != b:
                    fail("%s: row %r reads back as %r" % (path, b, a))
            fail("%s: %d rows, the Mermaid output has %d" % (path, len(texts), len(want)))
    print("syntax: %s: %d lines, each one popflow writes in %s%s" % (
        path, len(lines), fmt, ", rows read back equal" if mermaid is not None and fmt == "plantuml" else ""))


def main():
    a = sys.argv[1:]
    if not a:
        print(__doc__)
        return 2
    if a[0] == "rows" and len(a) == 2:
        cmd_rows(a[1])
    elif a[0] == "seed" and len(a) == 3:
        cmd_seed(a[1], a[2])
    elif a[0] == "svg" and len(a) == 3:
        cmd_svg(a[1], a[2])
    elif a[0] == "plain" and len(a) == 2:
        cmd_plain(a[1])
    elif a[0] == "png" and len(a) >= 2:
        cmd_png(a[1:])
    elif a[0] == "syntax" and len(a) in (3, 4):
        cmd_syntax(a[1], a[2], a[3] if len(a) == 4 else None)
    elif a[0] == "pdf" and len(a) in (3, 4):
        cmd_pdf(a[1], a[2] if a[2] == ">1" else int(a[2]), a[3] if len(a) == 4 else "-")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
