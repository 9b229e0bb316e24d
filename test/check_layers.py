#!/usr/bin/env python3
"""Checks the include graph of src/ and include/ against DESIGN.md section 3:
layers only include layers below them, and third-party headers stay behind their firewall."""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
# What each layer may include (itself included).
ALLOWED = {
    'base': {'base'},
    'http': {'http', 'base'},
    'a2a': {'a2a', 'http', 'base'},
    'platform': {'platform', 'a2a', 'http', 'base'},
    'plugin': {'plugin', 'http', 'base'},
    'runtime': {'runtime', 'a2a', 'platform', 'plugin', 'http', 'base'},
    'devplatform': {'devplatform', 'a2a', 'http', 'base'},
    'host': {'host', 'runtime', 'a2a', 'platform', 'plugin', 'http', 'base'},
    'cli': {'cli', 'host', 'devplatform', 'runtime', 'a2a', 'platform', 'plugin', 'http', 'base'},
}
# Third-party header pattern -> path prefixes allowed to include it.
FIREWALL = [
    (r'mbedtls/', ('src/http/tls', 'src/base/crypto')),
    (r'archive(_entry)?\.h', ('src/plugin/',)),
    (r'sqlite3\.h', ('src/devplatform/',)),
    (r'llhttp\.h', ('src/http/',)),
    (r'yaml\.h', ('src/runtime/', 'src/host/', 'src/cli/')),
]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')

errors = []
for top in ('src', 'include'):
    for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
        for f in files:
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, ROOT)
            layer = rel.split(os.sep)[1] if top == 'src' else None
            for n, line in enumerate(open(path, encoding='utf-8', errors='replace'), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1)
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
                for pat, prefixes in FIREWALL:
                    if re.match(pat, inc) and not rel.startswith(prefixes):
                        errors.append(where + ': outside its firewall %s' % (prefixes,))

for e in errors:
    print(e)
print('layers: %d violation(s)' % len(errors))
sys.exit(1 if errors else 0)
