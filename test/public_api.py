"""The public API as the headers declare it: every MOL_EXTERN function under include/.
Shared by check_exports.py and check_api_docs.py."""
import os
import re

# MOL_EXTERN <return type> <name>(: the name is the last identifier before the first '('.
_DECL = re.compile(r'\bMOL_EXTERN\b([^;{()]*?)\b(\w+)\s*\(', re.S)


def header_files(root):
    for dirpath, _, files in os.walk(os.path.join(root, 'include')):
        for f in sorted(files):
            if f.endswith(('.h', '.h.in')):
                yield os.path.join(dirpath, f)


def _strip_comments(text):
    """Comments and preprocessor lines (the macro's own #define) out, declarations kept."""
    text = re.sub(r'/\*.*?\*/|//[^\n]*', ' ', text, flags=re.S)
    return re.sub(r'^\s*#[^\n]*', ' ', text, flags=re.M)


def declared_functions(root):
    """{name: header path relative to root} for every MOL_EXTERN function."""
    out = {}
    for path in header_files(root):
        with open(path, encoding='utf-8') as f:
            text = _strip_comments(f.read())
        for m in _DECL.finditer(text):
            out[m.group(2)] = os.path.relpath(path, root)
    return out
