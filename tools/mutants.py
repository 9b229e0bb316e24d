#!/usr/bin/env python3
"""tools/mutants.py [NAME...]: the mutation spot-check. Each entry below is a one-line bug put
into a security- or delivery-critical guard; the tests named with it must fail on it. Runs in a
throw-away worktree of HEAD (build-mutants/ inside it), never touching the checkout. Prints
KILLED or SURVIVED per mutant and exits non-zero if any survived or no longer applies (the
guard moved: update its entry). Outside CI: it rebuilds once per mutant."""
import os, subprocess, sys, tempfile

MUTANTS = [
    # name, file, original text, mutated text, tests that must fail
    # an RFC 850 date's two-digit year always read as 19xx: a 429 retried at once
    ('rfc850-year', 'src/base/backoff.c',
     '  if (y > now_year + 50) y -= 100;', '  if (0) y -= 100;', ['base_backoff']),
    # connect hands a replayed message to the handler a second time
    ('connect-dedup', 'src/cli/connect_delivery.c',
     'mol_cli__connect_seen_has(&cx->seen, m->activity_id)', '0', ['cli_connect_delivery']),
    # connect's cursor is not rewound on exit: what was fetched but not handled is lost
    ('connect-rewind', 'src/cli/connect_delivery.c',
     '    mol_platform_set_cursor(cx->client, cx->resume[0] ? cx->resume : NULL);',
     '    (void)0;', ['cli_connect_delivery']),
    # a name that resolves to a private address is dispatched to
    ('ssrf-dispatch', 'src/devplatform/dispatch.c',
     '  if (!ok) finish_err(d, 502, "workspace URL is not publicly routable");',
     '  if (!ok && 0) finish_err(d, 502, "workspace URL is not publicly routable");',
     ['devplatform_ssrf_names']),
    # any bearer opens the admin routes
    ('admin-token', 'src/devplatform/auth.c',
     'return c->bearer[0] && mol_ct_streq(c->bearer, c->dp->admin_token);',
     'return c->bearer[0] != 0;', ['devplatform_cli', 'devplatform']),
    # the hermes reply callback takes a reply without the shared secret
    ('hermes-secret', 'src/runtime/exec_hermes.c',
     'if (!mol_ct_streq(secret, h->secret)) {', 'if (!mol_ct_streq(secret, h->secret) && 0) {',
     ['runtime_hermes']),
    # tasks/cancel waits for a task's end it could not subscribe to (listener budget spent)
    ('a2a-cancel-listener', 'src/a2a_uv/server_call.c',
     '  if (subscribe(c, t) == 0) {', '  if (subscribe(c, t) == 0 || 1) {', ['a2a_store_budget']),
    # a plugin name that is not one path component reaches the filesystem
    ('plugin-name', 'src/cli/cmd_plugin.c',
     '  if (mol_plugin_name_valid(name)) return 1;', '  return 1;', ['cli_plugin']),
    # a tool runs with arguments its schema refuses
    ('tool-schema', 'src/tools/registry.c',
     'if (mol_tool_schema_check(t->schema, args, err, sizeof err) < 0) {', 'if (0) {',
     ['tools_registry']),
    # a reply that acknowledges a write leaves before the COMMIT of that write
    ('group-commit', 'src/devplatform/commit.c',
     'int status, char *body, size_t len) {\n  if (!dp->store.in_txn) {',
     'int status, char *body, size_t len) {\n  if (1) {',
     ['devplatform_crash']),
    # an A2A reply leaves before the commit of the task state it reports (durable store)
    ('a2a-durable-hold', 'src/a2a_uv/durable.c',
     '  if (!gen && !d->held) return 0;', '  if (1) return 0;', ['a2a_durable_crash']),
    # a reply whose commit failed reports the state it did not save
    ('a2a-durable-unsaved', 'src/a2a_uv/durable.c',
     '  release_upto(d, d->gen_done, saved);', '  release_upto(d, d->gen_done, 1);',
     ['a2a_durable_backend']),
    # the commit (an fsync with --sync full) runs on the loop and stops it
    ('a2a-durable-on-loop', 'src/a2a_uv/durable.c',
     'if (b && b->n && mol_a2a__durable_batch_queue(b, on_commit_done) == 0) {',
     'if (b && b->n && 0 && mol_a2a__durable_batch_queue(b, on_commit_done) == 0) {',
     ['a2a_durable_backend']),
    # a reply whose task a capped commit left over leaves with that commit, before its own
    ('a2a-durable-cap', 'src/a2a_uv/durable.c',
     '  if (b) defer_left_over(d, b->gen);', '  (void)defer_left_over;',
     ['a2a_durable_backend']),
    # a delegation whose target went silent is only failed, not stuck
    ('delegation-stuck', 'src/devplatform/store.c',
     "UPDATE delegations SET status='stuck'", "UPDATE delegations SET status='failed'",
     ['devplatform_delegate']),
    # any live token opens every workspace
    ('workspace-token', 'src/devplatform/auth.c',
     'return mol_dp__token_owner(dp, tok, owner) && strcmp(owner, ws) == 0;',
     'return mol_dp__token_owner(dp, tok, owner) && (strcmp(owner, ws) == 0 || 1);',
     ['devplatform', 'platform_client']),
    # the platform stores a memory as posted, secrets and all
    ('memory-redact-dp', 'src/devplatform/memories.c',
     'mem_insert(c->dp, id, ws, clean.data, scope, ns)', 'mem_insert(c->dp, id, ws, content, scope, ns)',
     ['platform_memory']),
    # the client posts a memory unredacted (a real platform may not redact)
    ('memory-redact-client', 'src/platform/memory.c',
     '"content", clean.data ? clean.data : ""', '"content", content', ['platform_memory']),
    # an archive whose content hash differs from the expected one is installed anyway
    ('plugin-hash', 'src/plugin/install.c',
     'if (*expected && strcmp(*expected, r->xres.content_sha256) != 0)',
     'if (*expected && 0)', ['plugin_install', 'plugin_api', 'cli_plugin']),
    # no expected hash at all, and the install goes ahead unverified without being asked to
    ('plugin-unverified', 'src/plugin/install.c',
     'if (*expected || r->allow_unverified) return 0;', 'if (1) return 0;',
     ['plugin_install', 'cli_plugin']),
    # a queued call whose drain fails is dropped instead of going back to the queue
    ('queue-requeue', 'src/devplatform/store.c',
     "THEN 'failed' ELSE 'queued' END", "THEN 'failed' ELSE 'failed' END", ['devplatform_queue']),
    # the queue never gives up on a call that keeps failing
    ('queue-give-up', 'src/devplatform/queue.c',
     'sqlite3_bind_int(st, 2, QUEUE_MAX_ATTEMPTS);', 'sqlite3_bind_int(st, 2, 1000);',
     ['devplatform_queue']),
    # an answer cut after its status line is taken for a busy agent: queued, delivered twice
    ('delivery-confirmed', 'src/devplatform/dispatch.c',
     'if (resp) { /* the status line arrived', 'if (resp && 0) { /* the status line arrived',
     ['devplatform_queue']),
    # a tool argument outside its enum reaches the tool
    ('tool-enum', 'src/tools/schema.c',
     'if (json_equal((json_t *)e, (json_t *)v)) return 1;\n  return 0;',
     'if (json_equal((json_t *)e, (json_t *)v)) return 1;\n  return 1;', ['tools_schema']),
    # "additionalProperties": false no longer closes a tool's arguments
    ('tool-closed', 'src/tools/schema.c',
     'int closed = json_is_false(', 'int closed = 0 && json_is_false(', ['tools_schema']),
    # the fallback swap cannot rename the new version in and leaves no version at all
    ('plugin-swap-restore', 'src/plugin/swap.c',
     '    (void)rename(old, target);\n', '', ['plugin_swap_fallback']),
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
