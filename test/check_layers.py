#!/usr/bin/env python3
"""Checks the include graph of src/ and include/ against docs/architecture.md:
layers only include layers below them, third-party headers stay behind their firewall, the
I/O-free protocol cores reach no I/O header, not even through the headers they include, and a
folder's private header (*_int.h) is included by that folder's files only. The build files keep
the same firewall for the libraries they link: only the folders allowed its header link SQLite.

    test/check_layers.py [ROOT]      (exit 1 and one line per violation when any)"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
# What each layer may include (itself included).
ALLOWED = {
    'base': {'base'},
    'http': {'http', 'base'},
    'a2a': {'a2a', 'base'},                      # the A2A protocol core: no I/O
    'a2a_uv': {'a2a_uv', 'a2a', 'http', 'base'},  # its binding on the loop
    'platform': {'platform', 'a2a', 'http', 'base'},
    'plugin': {'plugin', 'http', 'base'},
    'tools': {'tools', 'a2a_uv', 'a2a', 'platform', 'plugin', 'http', 'base'},
    'mcp': {'mcp', 'tools', 'a2a_uv', 'a2a', 'platform', 'plugin', 'http', 'base'},
    'runtime': {'runtime', 'mcp', 'tools', 'a2a_uv', 'a2a', 'platform', 'plugin', 'http', 'base'},
    'devplatform': {'devplatform', 'a2a', 'http', 'base'},
    'host': {'host', 'runtime', 'mcp', 'tools', 'a2a_uv', 'a2a', 'platform', 'plugin', 'http',
             'base'},
    # the load generator (molecule bench): a tool on the client side, not in libmolecule
    'bench': {'bench', 'a2a_uv', 'a2a', 'platform', 'http', 'base'},
    'cli': {'cli', 'bench', 'host', 'devplatform', 'runtime', 'mcp', 'tools', 'a2a_uv', 'a2a', 'platform',
            'plugin', 'http', 'base'},
}
# I/O-free cores (nghttp2-style: fed bytes and callbacks, never a socket or a loop): none of
# their files may reach these headers, directly or through any header of ours they include.
PURE = ('src/a2a/',)
IO_HEADERS = re.compile(r'(uv\.h|uv/|molecule/uv\.h|llhttp\.h|mbedtls/|sys/socket\.h|netinet/|'
                        r'arpa/|netdb\.h|poll\.h|sys/epoll\.h|http/|a2a_uv/)')
# Third-party header pattern -> path prefixes allowed to include it.
FIREWALL = [
    (r'mbedtls/', ('src/http/tls', 'src/base/crypto')),
    (r'archive(_entry)?\.h', ('src/plugin/',)),
    (r'sqlite3\.h', ('src/devplatform/',)),
    (r'llhttp\.h', ('src/http/',)),
    (r'yaml\.h', ('src/runtime/', 'src/host/', 'src/cli/', 'src/devplatform/shared_context')),
]
# A meson dependency -> the src/ folders whose meson.build may use it (src/meson.build gathers
# every layer's libraries into libmolecule and may name them all).
MESON_FIREWALL = [
    ('sqlite_dep', ('src/devplatform/',)),
    ('sqlite_headers_dep', ('src/devplatform/',)),
]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


def includes(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1)


def our_header(inc, where):
    """Where a quoted include of ours resolves: beside the includer, then under src/, include/."""
    for d in (os.path.dirname(where), os.path.join(ROOT, 'src'), os.path.join(ROOT, 'include')):
        p = os.path.normpath(os.path.join(d, inc))
        if os.path.isfile(p):
            return p
    return None


def io_reach(path, seen):
    """The first I/O header path reaches, with the chain of includes that leads to it."""
    for _, inc in includes(path):
        if IO_HEADERS.match(inc):
            return [inc]
        sub = our_header(inc, path)
        if sub and sub not in seen:
            seen.add(sub)
            chain = io_reach(sub, seen)
            if chain:
                return [inc] + chain
    return None


errors = []
for top in ('src', 'include'):
    for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
        for f in files:
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, ROOT)
            layer = rel.split(os.sep)[1] if top == 'src' else None
            if rel.startswith(PURE):
                chain = io_reach(path, {path})
                if chain:
                    errors.append('%s: an I/O-free core reaches <%s> (via %s)'
                                  % (rel, chain[-1], ' -> '.join(chain)))
            for n, inc in includes(path):
                where = '%s:%d: #include <%s>' % (rel, n, inc)
                if top == 'include':
                    ok = inc.startswith(('std', 'molecule', '../molecule', 'sys/')) or inc in ('uv.h',)
                    if inc == 'uv.h' and rel != os.path.join('include', 'molecule', 'uv.h'):
                        ok = False
                    if not ok:
                        errors.append(where + ': public headers include no third-party header')
                    continue
                head = inc.split('/')[0]
                if '/' in inc and head in ALLOWED and layer in ALLOWED and head not in ALLOWED[layer]:
                    errors.append(where + ': layer %s may not include %s' % (layer, head))
                if '/' in inc and inc.endswith('_int.h') and head != layer:
                    errors.append(where + ': %s private header, outside %s' % (head, head))
                for pat, prefixes in FIREWALL:
                    if re.match(pat, inc) and not rel.startswith(prefixes):
                        errors.append(where + ': outside its firewall %s' % (prefixes,))

for dirpath, _, files in os.walk(os.path.join(ROOT, 'src')):
    if 'meson.build' not in files:
        continue
    path = os.path.join(dirpath, 'meson.build')
    rel = os.path.relpath(path, ROOT)
    if rel == os.path.join('src', 'meson.build'):
        continue
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            for dep, prefixes in MESON_FIREWALL:
                if re.search(r'\b%s\b' % dep, line.split('#')[0]) and not rel.startswith(prefixes):
                    errors.append('%s:%d: links %s outside its firewall %s' % (rel, n, dep, prefixes))

for e in errors:
    print(e)
print('layers: %d violation(s)' % len(errors))
sys.exit(1 if errors else 0)
