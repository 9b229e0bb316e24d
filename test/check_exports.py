#!/usr/bin/env python3
"""Checks what libmolecule.so exports: only mol_ names, exactly the MOL_EXTERN functions the
public headers declare (nothing internal leaks, nothing declared is missing), each under a
symbol version MOLECULE_<soversion>[.N] (src/libmolecule.map), and the soname
libmolecule.so.<soversion> that meson.build sets.
Usage: check_exports.py LIBRARY SOURCE_ROOT SOVERSION"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import public_api  # noqa: E402

lib, root, soversion = sys.argv[1:4]
errors = []

nm = subprocess.run(['nm', '-D', '--defined-only', '--with-symbol-versions', lib], check=True,
                    capture_output=True, text=True).stdout
exported = set()
node = re.compile(r'MOLECULE_%s(\.\d+)*$' % re.escape(soversion))
for line in nm.splitlines():
    parts = line.split()
    if len(parts) != 3:
        continue
    if parts[1] == 'A':  # a version node's own definition (MOLECULE_0)
        continue
    name, _, version = parts[2].partition('@')
    version = version.lstrip('@')
    exported.add(name)
    if not node.match(version):
        errors.append('%s has symbol version "%s", expected MOLECULE_%s[.N]'
                      % (name, version, soversion))
if not exported:
    errors.append('%s exports nothing: is this the shared library?' % lib)

for name in sorted(exported):
    if not name.startswith('mol_'):
        errors.append('exported but not a mol_ name: %s' % name)

declared = public_api.declared_functions(root)
for name in sorted(set(declared) - exported):
    errors.append('declared MOL_EXTERN in %s but not exported: %s' % (declared[name], name))
for name in sorted(n for n in exported - set(declared) if n.startswith('mol_')):
    errors.append('exported but declared in no public header: %s' % name)

dyn = subprocess.run(['readelf', '-d', lib], check=True, capture_output=True, text=True).stdout
m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', dyn)
want = 'libmolecule.so.%s' % soversion
if not m or m.group(1) != want:
    errors.append('soname is %s, expected %s' % (m.group(1) if m else 'missing', want))

for e in errors:
    print(e)
print('exports: %d symbols, %d declared, %d problem(s)' % (len(exported), len(declared), len(errors)))
sys.exit(1 if errors else 0)
