#!/usr/bin/env python3
"""options.py HELP MAN README OPTIONS_C - do -h, the man page and README list the same options,
in the same groups, and does -h list every option popflow accepts?

HELP is the output of popflow -h, MAN the man page rendered by mandoc -T ascii, README the
README.md, OPTIONS_C src/options.c (its getopt_long table and short-option string).
Prints one line per problem, saying which option is missing where and what to add, and
'options: N passed, N failed' last; exits 1 on any failure.
"""
import re
import sys


def group_name(text):
    """'Diagrams (-T dot, ...):' -> 'Diagrams'; '**Live capture** (`-i`)' -> 'Live capture'."""
    text = text.replace("*", "").strip().rstrip(":")
    return re.sub(r"\s*\(.*$", "", text).strip()


def options_of(cell):
    """'-h, --help' -> ['-h', '--help']; '--detail segments|messages' -> ['--detail']."""
    out = []
    for part in re.split(r",\s+", cell.strip()):
        word = part.split()[0] if part.split() else ""
        word = word.split("=")[0]
        if re.fullmatch(r"-[A-Za-z0-9]|--[a-z0-9][a-z0-9-]*", word):
            out.append(word)
    return out


def parse_help(text):
    """[(group, option)] in -h order, from '  -x ...' lines under 'Group:' lines."""
    res, group = [], None
    for line in text.splitlines():
        if re.match(r"^[A-Z][^:]*:$", line) and not line.startswith(("Usage", "Exit")):
            group = group_name(line)
        elif line.startswith("  -") and group is not None:
            head = re.split(r"\s{2,}", line.strip())[0]
            res += [(group, o) for o in options_of(head)]
    return res


def parse_man(text):
    """[(subsection, option)] from the tagged lists of the rendered OPTIONS section."""
    text = re.sub(r".\x08", "", text)
    res, group, inside = [], None, False
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", line):
            inside = line == "OPTIONS"
            continue
        if not inside:
            continue
        m = re.match(r"^ {3}(\S.*)$", line)
        if m:
            group = group_name(m.group(1))
        elif re.match(r"^ {5}-", line) and group is not None:
            head = re.split(r"\s{2,}", line.strip())[0]
            res += [(group, o) for o in options_of(head)]
    return res


def parse_readme(text):
    """[(group, option)] from table rows whose first cell starts with `-, under **Group** lines."""
    res, group = [], None
    for line in text.splitlines():
        if re.match(r"^\*\*[^*]+\*\*( \(.*\))?$", line):
            group = group_name(line)
            continue
        if line.startswith("#") or (line and not line.startswith("|") and group is not None
                                    and not line.startswith("**")):
            group = None  # only the tables right under a **Group** line are option tables
            continue
        m = re.match(r"^\|\s*(`-[^|]*?)\s*\|", line.replace("\\|", "/"))
        if m and group is not None:
            for chunk in re.findall(r"`([^`]*)`", m.group(1)):
                res += [(group, o) for o in options_of(chunk)]
    return res


def parse_source(text):
    """The options getopt_long accepts: the short-option string and the long-option table."""
    m = re.search(r'getopt_long\([^"]*"([^"]*)"', text)
    shorts = ["-" + c for c in (m.group(1) if m else "") if c.isalnum()]
    table = re.search(r"struct option options_long\[\] = \{(.*?)\n\};", text, re.S)
    longs = ["--" + n for n in re.findall(r'\{"([a-z0-9-]+)",', table.group(1) if table else "")]
    return shorts + longs


def main():
    help_text, man_text, readme_text, src_text = (
        open(p, encoding="utf-8", errors="replace").read() for p in sys.argv[1:5])
    helps, mans, readmes = parse_help(help_text), parse_man(man_text), parse_readme(readme_text)
    accepted = parse_source(src_text)
    passed, failed = 0, 0

    def check(cond, msg):
        nonlocal passed, failed
        if cond:
            passed += 1
        else:
            failed += 1
            print("FAIL: " + msg)

    check(len(helps) >= 20, f"only {len(helps)} options parsed from popflow -h: format changed?")
    check(len(accepted) >= 20, f"only {len(accepted)} options parsed from src/options.c")
    h_group = dict((o, g) for g, o in helps)
    m_group = dict((o, g) for g, o in mans)
    r_group = dict((o, g) for g, o in readmes)
    for o in accepted:
        check(o in h_group, f"option {o}: popflow accepts it (src/options.c) but -h does not "
              "list it: add a line to options_usage() in src/options.c")
    for g, o in helps:
        check(o in accepted, f"option {o}: -h lists it (group {g}) but popflow does not accept it "
              "(src/options.c)")
        if o not in m_group:
            check(False, f"option {o}: in popflow -h (group {g}) but not in the man page: add "
                  f".It Fl {o[1:]} to docs/popflow.1, section OPTIONS, subsection .Ss {g}")
        else:
            check(m_group[o] == g, f"option {o}: -h has it in group {g}, the man page "
                  f"(docs/popflow.1) in subsection {m_group[o]}")
        if o not in r_group:
            check(False, f"option {o}: in popflow -h (group {g}) but not in README.md: add a "
                  f"row | `{o} ...` | ... | to the table under **{g}**")
        else:
            check(r_group[o] == g, f"option {o}: -h has it in group {g}, README.md under "
                  f"**{r_group[o]}**")
    for g, o in mans:
        check(o in h_group, f"option {o}: the man page describes it (subsection {g}) but "
              "popflow -h does not list it")
    for g, o in readmes:
        check(o in h_group, f"option {o}: README.md lists it (under **{g}**) but popflow -h "
              "does not")

    def order(pairs):
        seen = []
        for g, _ in pairs:
            if g not in seen:
                seen.append(g)
        return seen

    check(order(helps) == order(mans), f"groups differ: -h has {order(helps)}, the man page's "
          f"OPTIONS subsections are {order(mans)}")
    check(order(helps) == order(readmes), f"groups differ: -h has {order(helps)}, README.md's "
          f"option tables are {order(readmes)}")
    print(f"options: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
