#!/usr/bin/env python3
"""tools/mutants.py [NAME...]: the mutation spot-check. Each entry below is a one-line bug put
into a security- or delivery-critical guard; the tests named with it must fail on it. Runs in a
throw-away worktree of HEAD (build-mutants/ inside it), never touching the checkout. Prints
KILLED or SURVIVED per mutant and exits non-zero if any survived or no longer applies (the
guard moved: update its entry). Outside CI: it rebuilds once per mutant."""
import os, subprocess, sys, tempfile

MUTANTS = [
    # name, file, original text, mutated text, tests that must fail
    ('rfc850-year', 'src/base/backoff.c',
     '  if (y > now_year + 50) y -= 100;', '  if (0) y -= 100;', ['base_backoff']),
    ('connect-dedup', 'src/cli/connect_delivery.c',
     'mol_cli__connect_seen_has(&cx->seen, m->activity_id)', '0', ['cli_connect_delivery']),
    ('connect-rewind', 'src/cli/connect_delivery.c',
     '    mol_platform_set_cursor(cx->client, cx->resume[0] ? cx->resume : NULL);',
     '    (void)0;', ['cli_connect_delivery']),
    ('ssrf-dispatch', 'src/devplatform/dispatch.c',
     '  if (!ok) finish_err(d, 502, "workspace URL is not publicly routable");',
     '  if (0) finish_err(d, 502, "workspace URL is not publicly routable");',
     ['devplatform_ssrf_names']),
    ('admin-token', 'src/devplatform/auth.c',
     'return c->bearer[0] && mol_ct_streq(c->bearer, c->dp->admin_token);',
     'return c->bearer[0] != 0;', ['devplatform_cli', 'devplatform']),
    ('hermes-secret', 'src/runtime/exec_hermes.c',
     'if (!mol_ct_streq(secret, h->secret)) {', 'if (0) {', ['runtime_hermes']),
    ('a2a-cancel-listener', 'src/a2a_uv/server_call.c',
     '  if (subscribe(c, t) == 0) {', '  if (subscribe(c, t) == 0 || 1) {', ['a2a_store_budget']),
    ('plugin-name', 'src/cli/cmd_plugin.c',
     '  if (mol_plugin_name_valid(name)) return 1;', '  return 1;', ['cli_plugin']),
    ('tool-schema', 'src/tools/registry.c',
     'if (mol_tool_schema_check(t->schema, args, err, sizeof err) < 0) {', 'if (0) {',
     ['tools_registry']),
]

def run(cmd, cwd, **kw):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)

def main():
    root = subprocess.check_output(['git', 'rev-parse', '--show-toplevel'], text=True).strip()
    want = set(sys.argv[1:])
    todo = [m for m in MUTANTS if not want or m[0] in want]
    tmp = tempfile.mkdtemp(prefix='molecule-mutants-')
    wt = os.path.join(tmp, 'src')
    run(['git', 'worktree', 'add', '--detach', wt, 'HEAD'], root).check_returncode()
    for d in os.listdir(os.path.join(root, 'test/interop')):
        nm = os.path.join(root, 'test/interop', d, 'node_modules')
        if os.path.isdir(nm):
            os.symlink(nm, os.path.join(wt, 'test/interop', d, 'node_modules'))
    bad = 0
    try:
        run(['meson', 'setup', 'build-mutants'], wt).check_returncode()
        env = dict(os.environ, MOL_SOURCE_ROOT=wt)
        for name, path, orig, mutated, tests in todo:
            f = os.path.join(wt, path)
            text = open(f).read()
            if text.count(orig) != 1:
                print('%-22s NO LONGER APPLIES (%s: the guard moved)' % (name, path))
                bad += 1
                continue
            open(f, 'w').write(text.replace(orig, mutated))
            b = run(['ninja', '-C', 'build-mutants'], wt)
            if b.returncode != 0:
                print('%-22s DOES NOT BUILD\n%s' % (name, b.stdout[-2000:]))
                bad += 1
            else:
                known = run(['meson', 'test', '-C', 'build-mutants', '--list'], wt).stdout
                names = [t for t in tests if (' / ' + t + '\n') in known or known.endswith(' / ' + t)]
                r = run(['meson', 'test', '-C', 'build-mutants', '--no-rebuild',
                         '--num-processes', '1'] + names, wt, env=env)
                killed = bool(names) and r.returncode != 0
                print('%-22s %s by %s' % (name, 'KILLED' if killed else 'SURVIVED', ' '.join(names) or '(no test found)'))
                bad += 0 if killed else 1
            open(f, 'w').write(text)
    finally:
        run(['git', 'worktree', 'remove', '--force', wt], root)
    print('%d mutant(s), %d not killed' % (len(todo), bad))
    return 1 if bad else 0

if __name__ == '__main__':
    sys.exit(main())
