#!/usr/bin/env python3
"""Checks that docs/api.md lists every public function: each MOL_EXTERN function declared under
include/ must appear there in backticks (`mol_x` or `mol_x()`), and every `mol_x()` the page
names as a function must be declared, so the reference neither misses nor invents one.
Usage: check_api_docs.py SOURCE_ROOT"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import public_api  # noqa: E402

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
doc_path = os.path.join(root, 'docs', 'api.md')
errors = []
try:
    with open(doc_path, encoding='utf-8') as f:
        doc = f.read()
except OSError as e:
    doc = ''
    errors.append('%s: %s' % (doc_path, e.strerror))

declared = public_api.declared_functions(root)
listed = set(re.findall(r'`(mol_\w+)(?:\(\)|`)', doc))
for name in sorted(set(declared) - listed):
    errors.append('docs/api.md does not list %s (declared in %s)' % (name, declared[name]))
for name in sorted(set(re.findall(r'`(mol_\w+)\(\)', doc)) - set(declared)):
    errors.append('docs/api.md names %s() but no public header declares it' % name)

for e in errors:
    print(e)
print('api docs: %d public functions, %d problem(s)' % (len(declared), len(errors)))
sys.exit(1 if errors else 0)
