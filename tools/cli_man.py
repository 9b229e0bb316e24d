#!/usr/bin/env python3
"""cli_man.py - renders the man pages of `molecule` from docs/cli.md, their one source.

docs/cli.md is read as follows:
  - the text before the first `## ` heading, the command table and every section whose heading
    names no command (e.g. "Conventions") make molecule(1);
  - a `## ` heading whose code spans name commands of the table (`molecule call`, or `peers`,
    `delegate`, ...) makes molecule-CMD(1) for each of them, its NAME line from the table;
  - a fenced block right under such a heading is the SYNOPSIS, the rest the DESCRIPTION
    (`### ` headings become subsections).
Only the Markdown cli.md uses is understood: paragraphs, fenced blocks, `- ` lists, tables,
`code`, **bold**, [links](x.md). Links to other guides name the file under DOCDIR.

Usage: cli_man.py --list CLI_MD                    print the page names, one a line
       cli_man.py CLI_MD VERSION DOCDIR OUTDIR      write OUTDIR/<page>.1 for every page
"""
import os
import re
import sys


def die(msg):
    sys.exit("cli_man.py: " + msg)


# ---- reading docs/cli.md ---------------------------------------------------------------------

def split_sections(text):
    """[(heading or None, [lines])]: the preamble, then one entry per `## ` heading."""
    sections, heading, lines, fenced = [], None, [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections.append((heading, lines))
            heading, lines = line[3:].strip(), []
        else:
            lines.append(line)
    sections.append((heading, lines))
    return sections


def command_table(preamble):
    """{command: summary} from the preamble's table (first column: code spans)."""
    table = {}
    for line in preamble:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        names = re.findall(r"`([a-z][a-z0-9-]*)`", cells[0])
        for name in names:
            # A summary without its "(see guide.md)" link: the page itself says where to look.
            table[name] = re.sub(r"\s*\(\[[^\]]*\]\([^)]*\)\)", "", cells[1]).strip()
    if not table:
        die("no command table in the text before the first section")
    return table


def heading_commands(heading, table):
    spans = re.findall(r"`([^`]+)`", heading)
    names = [re.sub(r"^molecule\s+", "", s).strip() for s in spans]
    return [n for n in names if n in table]


def read_pages(path):
    with open(path, encoding="utf-8") as f:
        sections = split_sections(f.read())
    preamble = sections[0][1]
    table = command_table(preamble)
    main_extra, pages = [], {}
    for heading, lines in sections[1:]:
        cmds = heading_commands(heading, table)
        if not cmds:
            main_extra.append((heading, lines))
        for cmd in cmds:
            pages["molecule-" + cmd] = (cmd, heading, lines)
    return table, preamble, main_extra, pages


# ---- Markdown to roff ------------------------------------------------------------------------

def esc(text, code=False):
    """Escapes text for roff: backslashes, and hyphens as minus signs where they may be typed
    (every one in code, an option's leading ones in prose), so that copied commands work."""
    text = text.replace("\\", "\\e")
    if code:
        return text.replace("-", "\\-")
    return re.sub(r"(?<![\w])-", r"\\-", text)


def inline(text, docdir):
    out, pos = [], 0
    pattern = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)]+)\)")
    for m in pattern.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1), code=True) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + inline(m.group(2), docdir) + "\\fR")
        else:
            label, target = m.group(3), m.group(4)
            if target.endswith(".md") and "/" not in target and label.strip("`") == target:
                out.append("\\fI" + esc(docdir + "/" + target) + "\\fR")
            elif target.endswith(".md") and "/" not in target:
                out.append(inline(label, docdir) + " (\\fI" + esc(docdir + "/" + target) + "\\fR)")
            else:
                out.append(inline(label, docdir))
        pos = m.end()
    out.append(esc(text[pos:]))
    line = "".join(out)
    return "\\&" + line if line.startswith((".", "'")) else line


def table_rows(lines):
    rows = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-+:?", c) for c in cells):
            continue
        rows.append(cells)
    # A header row of names only ("option", "command") is not content.
    if rows and len(rows) > 1 and not any("`" in c for c in rows[0]):
        rows = rows[1:]
    return rows


def blocks(lines):
    """Yields (kind, payload) for paragraphs, fences, lists, tables and subheadings."""
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            j = i + 1
            while j < n and not lines[j].startswith("```"):
                j += 1
            yield "code", lines[i + 1:j]
            i = j + 1
        elif line.startswith("### "):
            yield "sub", line[4:].strip()
            i += 1
        elif line.startswith("|"):
            j = i
            while j < n and lines[j].startswith("|"):
                j += 1
            yield "table", table_rows(lines[i:j])
            i = j
        elif re.match(r"(- |\d+\. )", line):
            items = []
            while i < n and lines[i].strip():
                if re.match(r"(- |\d+\. )", lines[i]):
                    items.append(re.sub(r"^(- |\d+\. )", "", lines[i]))
                else:
                    items[-1] += " " + lines[i].strip()
                i += 1
            yield "list", items
        else:
            para = []
            while i < n and lines[i].strip() and not re.match(r"(```|\||- |### )", lines[i]):
                para.append(lines[i].strip())
                i += 1
            yield "para", " ".join(para)


def render(lines, docdir):
    out = []
    for kind, payload in blocks(lines):
        if kind == "para":
            out += [".PP", inline(payload, docdir)]
        elif kind == "sub":
            out += [".SS " + inline(payload.replace("`", ""), docdir)]
        elif kind == "code":
            out += [".PP", ".RS 4", ".nf"]
            out += ["\\&" + esc(l, code=True) for l in payload]
            out += [".fi", ".RE"]
        elif kind == "list":
            for item in payload:
                out += [".IP \\(bu 2", inline(item, docdir)]
        elif kind == "table":
            for row in payload:
                out += [".TP", inline(row[0], docdir)]
                out += [inline(" ".join(c for c in row[1:] if c), docdir) or "\\&"]
    return out


def header(name, version, summary, docdir):
    return ['.\\" Generated by tools/cli_man.py from docs/cli.md: edit that file, not this one.',
            '.TH "%s" 1 "" "molecule %s" "molecule manual"' % (name.upper(), version),
            ".nh",
            ".SH NAME", "%s \\- %s" % (name, inline(summary, docdir))]


def see_also(names):
    refs = ["\\fB%s\\fR(1)" % esc(n, code=True) for n in sorted(names)]
    return [".SH SEE ALSO", ",\n".join(refs)]


def main_page(table, preamble, extra, pages, version, docdir):
    intro = [l for l in preamble if not l.startswith("# ") and not l.startswith("|")]
    out = header("molecule", version, "run Molecule AI agents on one libuv event loop", docdir)
    # The first fenced block is the synopsis; the rest is the description.
    fences = [k for k, l in enumerate(intro) if l.startswith("```")]
    synopsis = intro[fences[0] + 1:fences[1]] if len(fences) >= 2 else ["molecule <command> [options]"]
    if len(fences) >= 2:
        intro = intro[:fences[0]] + intro[fences[1] + 1:]
    out += [".SH SYNOPSIS", ".nf"] + [esc(l, code=True) for l in synopsis] + [".fi"]
    out += [".SH DESCRIPTION"] + render(intro, docdir)
    out += [".SH COMMANDS"]
    for cmd, summary in table.items():
        page = "molecule-" + cmd
        ref = ". See \\fB%s\\fR(1)." % esc(page, code=True) if page in pages else ""
        out += [".TP", "\\fB%s\\fR" % esc(cmd), inline(summary, docdir) + ref]
    for heading, lines in extra:
        out += [".SH " + inline(heading.replace("`", "").upper(), docdir)] + render(lines, docdir)
    out += [".SH FILES", "\\fI%s\\fR: the guides this manual refers to." % esc(docdir)]
    return out + see_also(pages)


def command_page(name, cmd, lines, table, version, docdir):
    out = header(name, version, table[cmd], docdir)
    body = list(lines)
    first = next((k for k in range(len(body)) if body[k].strip()), None)
    out += [".SH SYNOPSIS", ".nf"]
    if first is not None and body[first].startswith("```"):
        end = next(k for k in range(first + 1, len(body)) if body[k].startswith("```"))
        out += [esc(l, code=True) for l in body[first + 1:end]]
        body = body[end + 1:]
    else:
        out += ["\\fBmolecule %s\\fR [\\fIoptions\\fR]" % esc(cmd)]
    out += [".fi", ".SH DESCRIPTION"] + render(body, docdir)
    out += [".PP", "\\fBmolecule %s \\-\\-help\\fR lists every option." % esc(cmd)]
    return out + see_also(["molecule"])


def main(argv):
    if len(argv) == 3 and argv[1] == "--list":
        _, _, _, pages = read_pages(argv[2])
        print("\n".join(["molecule"] + sorted(pages)))
        return
    if len(argv) != 5:
        die("usage: cli_man.py --list CLI_MD | cli_man.py CLI_MD VERSION DOCDIR OUTDIR")
    path, version, docdir, outdir = argv[1:]
    table, preamble, extra, pages = read_pages(path)
    rendered = {"molecule": main_page(table, preamble, extra, pages, version, docdir)}
    for name, (cmd, _, lines) in pages.items():
        rendered[name] = command_page(name, cmd, lines, table, version, docdir)
    os.makedirs(outdir, exist_ok=True)
    for name, lines in rendered.items():
        with open(os.path.join(outdir, name + ".1"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv)
