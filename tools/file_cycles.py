#!/usr/bin/env python3
"""file_cycles.py - the include-and-call graph between the C files of one folder, and its circles.

An edge A -> B when A.c includes B's header (B.h beside B.c) or uses a non-static function
defined in B.c (a call, or its address taken). Prints the edges, then every simple cycle
(longest first), then the longest cycle's length. Only files of the folder count; headers
without a .c of their own (a folder's shared internal header) add no edge by themselves.

    tools/file_cycles.py src/devplatform [--max N]

With --max N it exits 1 when a cycle spans more than N files (a check, for scripts).
"""
import argparse
import os
import re
import sys

DEF_RE = re.compile(
    r"^(?!static\b|typedef\b|struct\s+\w+\s*\{|#)[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(([^;{}]*?)\)\s*\{",
    re.M | re.S,
)
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"(?:[\w/]*/)?(\w+)\.h"', re.M)
IDENT_RE = re.compile(r"[A-Za-z_]\w*")


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(?:\\.|[^'\\\n])*'", "''", text)


def load(folder):
    files = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".c"):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                files[name[:-2]] = f.read()
    return files


def build_graph(files):
    code = {n: strip_comments_and_strings(t) for n, t in files.items()}
    defined = {}  # function -> file defining it (non-static)
    for n, t in code.items():
        for m in DEF_RE.finditer(t):
            defined[m.group(1)] = n
    edges = {n: {} for n in files}
    for n, t in files.items():
        for inc in INCLUDE_RE.findall(t):
            if inc in files and inc != n:
                edges[n].setdefault(inc, set()).add(inc + ".h")
    for n, t in code.items():
        for ident in set(IDENT_RE.findall(t)):
            owner = defined.get(ident)
            if owner and owner != n:
                edges[n].setdefault(owner, set()).add(ident + "()")
    return edges


def simple_cycles(edges):
    """Every simple cycle, each once (started at its smallest node)."""
    nodes = sorted(edges)
    out = []
    for start in nodes:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(edges[node]):
                if nxt == start:
                    out.append(path[:])
                elif nxt > start and nxt not in path:
                    stack.append((nxt, path + [nxt]))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--max", type=int, default=0, help="fail when a cycle spans more files")
    args = ap.parse_args()
    edges = build_graph(load(args.folder))
    print("edges:")
    for a in sorted(edges):
        for b in sorted(edges[a]):
            print(f"  {a} -> {b}: {', '.join(sorted(edges[a][b]))}")
    cycles = sorted(simple_cycles(edges), key=lambda c: (-len(c), c))
    print(f"cycles: {len(cycles)}")
    for c in cycles:
        print(f"  {len(c)}: {' -> '.join(c + [c[0]])}")
    longest = len(cycles[0]) if cycles else 0
    print(f"longest cycle: {longest} files")
    return 1 if args.max and longest > args.max else 0


if __name__ == "__main__":
    sys.exit(main())
