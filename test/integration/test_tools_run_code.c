/* test_tools_run_code.c - run_code through mol_tools_call with real processes: the output and
 * exit code of each language; the agent's secrets are not in the program's environment; the
 * time cap and the output cap stop the program (and it is gone); a cancel kills it; the plain
 * backend's work directory is removed; under bubblewrap (installed by tools/setup.sh; a machine
 * where it cannot run fails this test rather than skipping it) there is no network, no host
 * file outside the system directories, and a read-only root. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/json.h"
#include "tools/builtin.h"

static uv_loop_t loop;

typedef struct {
  int done, calls;
  mol_tool_status status;
  char text[65536];
} res_t;

static void on_result(const mol_tool_result *r, void *arg) {
  res_t *o = arg;
  o->calls++;
  o->done = 1;
  o->status = r->status;
  snprintf(o->text, sizeof o->text, "%s", r->text);
}

static void tick(uv_timer_t *t) { (void)t; }

static int run_until(int *flag, unsigned ms) {
  uv_timer_t t;
  uv_timer_init(&loop, &t);
  uv_timer_start(&t, tick, 10, 10);
  uv_update_time(&loop);
  uint64_t end = uv_now(&loop) + ms;
  while (!*flag && uv_now(&loop) < end) uv_run(&loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
  return *flag;
}

static mol_agent_tools *tools_with(mol_tools_builtin_opts bo) {
  mol_agent_tools_opts o = {.loop = &loop, .builtin = bo};
  mol_agent_tools *t;
  assert_int_equal(mol_agent_tools_new(&o, &t), 0);
  return t;
}

static mol_tool_call *start(mol_agent_tools *t, const char *code, const char *lang, res_t *r) {
  json_t *a = json_pack("{s:s}", "code", code);
  if (lang) json_object_set_new(a, "language", json_string(lang));
  char *args = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  memset(r, 0, sizeof *r);
  mol_tool_call_opts o = {.timeout_ms = 60000, .cb = on_result, .arg = r};
  mol_tool_call *call;
  assert_int_equal(mol_tools_call(mol_agent_tools_registry(t), "run_code", args, &o, &call), 0);
  free(args);
  assert_int_equal(r->calls, 0);
  return call;
}

/* Runs code; returns the parsed result (caller decrefs). */
static json_t *run(mol_agent_tools *t, const char *code, const char *lang, res_t *r) {
  start(t, code, lang, r);
  assert_true(run_until(&r->done, 60000));
  assert_int_equal(r->calls, 1);
  json_t *v = json_loads(r->text, 0, NULL);
  if (!v) fail_msg("not JSON: %s", r->text);
  return v;
}

static int has_process(const char *marker) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int found = 0;
  while (!found && d && (e = readdir(d))) {
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    found = strstr(buf, marker) != NULL;
  }
  if (d) closedir(d);
  return found;
}

/* Runs the loop until the marker process is there (want 1) or gone (want 0). */
static int wait_process(const char *marker, int want) {
  for (int i = 0; i < 1000; i++) {
    if (has_process(marker) == want) return 1;
    int never = 0;
    run_until(&never, 10);
  }
  return 0;
}

static void secrets_in_env(void) {
  setenv("OPENAI_API_KEY", "sk-test-secret-should-not-leak-0123456789", 1);
  setenv("MOLECULE_WORKSPACE_TOKEN", "tok-should-not-leak", 1);
}

static void check_clean_env(const char *out) {
  assert_null(strstr(out, "should-not-leak"));
  assert_null(strstr(out, "OPENAI_API_KEY"));
  assert_null(strstr(out, "MOLECULE_CODE"));
  assert_non_null(strstr(out, "PATH=/usr/local/bin:/usr/bin:/bin"));
}

/* ---- the plain backend ---------------------------------------------------------------------------- */

static void plain_languages_and_env(void **st) {
  (void)st;
  secrets_in_env();
  mol_agent_tools *t = tools_with((mol_tools_builtin_opts){.sandbox = MOL_TOOLS_SANDBOX_PLAIN});
  res_t r;
  json_t *v = run(t, "import sys, os\nprint('hi', 6*7)\nprint(os.getcwd())\n"
                     "sys.stderr.write('warn\\n')\nsys.exit(3)", NULL, &r);
  assert_int_equal(r.status, MOL_TOOL_OK);
  assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), 3);
  const char *out = mol_json_str(v, "stdout");
  assert_true(strncmp(out, "hi 42\n", 6) == 0);
  assert_string_equal(mol_json_str(v, "stderr"), "warn");
  assert_string_equal(mol_json_str(v, "language"), "python");
  assert_string_equal(mol_json_str(v, "backend"), "subprocess");
  /* the work directory is gone once the result is in */
  char dir[256];
  snprintf(dir, sizeof dir, "%s", out + 6);
  dir[strcspn(dir, "\n")] = '\0';
  assert_true(strncmp(dir, "/tmp/molecule-run-", 18) == 0);
  struct stat sb;
  assert_int_not_equal(stat(dir, &sb), 0);
  json_decref(v);
  v = run(t, "console.log(['a','b'].join('+'))", "javascript", &r);
  assert_string_equal(mol_json_str(v, "stdout"), "a+b\n");
  json_decref(v);
  v = run(t, "echo \"$0\" | grep -c sh; x='$(id)'; echo \"$x\"", "shell", &r);
  assert_string_equal(mol_json_str(v, "stdout"), "1\n$(id)\n"); /* no interpolation */
  json_decref(v);
  v = run(t, "env", "bash", &r);
  assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), 0);
  check_clean_env(mol_json_str(v, "stdout"));
  json_decref(v);
  /* bytes that are not UTF-8 arrive replaced, not as a failed result */
  v = run(t, "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')\n"
             "sys.stderr.buffer.write(b'bad \\xc3\\n')", NULL, &r);
  assert_int_equal(r.status, MOL_TOOL_OK);
  assert_string_equal(mol_json_str(v, "stdout"), "ok \xef\xbf\xbd\xef\xbf\xbd end\n");
  assert_string_equal(mol_json_str(v, "stderr"), "bad \xef\xbf\xbd");
  json_decref(v);
  v = run(t, "print(1)", "cobol", &r);
  assert_string_equal(mol_json_str(v, "error"), "Unsupported language: cobol");
  assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), -1);
  json_decref(v);
  mol_agent_tools_free(t);
}

static void caps_and_cancel(void **st) {
  (void)st;
  mol_agent_tools *t = tools_with((mol_tools_builtin_opts){
      .sandbox = MOL_TOOLS_SANDBOX_PLAIN, .run_code_timeout_ms = 300, .run_code_max_output = 1000});
  res_t r;
  /* the time cap: stopped, and gone */
  json_t *v = run(t, "exec -a moltest-timecap-marker sleep 30", "bash", &r);
  assert_string_equal(mol_json_str(v, "error"), "Timeout after 0.3s");
  assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), -1);
  assert_false(has_process("moltest-timecap-marker"));
  json_decref(v);
  /* the output cap */
  v = run(t, "import sys\nwhile True: sys.stdout.write('x' * 4096)", NULL, &r);
  assert_non_null(strstr(mol_json_str(v, "error"), "Output cap of 1000 bytes"));
  assert_true(strlen(mol_json_str(v, "stdout")) <= 1000);
  json_decref(v);
  mol_agent_tools_free(t);
  /* a cancel kills the program */
  t = tools_with((mol_tools_builtin_opts){.sandbox = MOL_TOOLS_SANDBOX_PLAIN});
  mol_tool_call *call = start(t, "exec -a moltest-cancel-marker sleep 30", "bash", &r);
  assert_true(wait_process("moltest-cancel-marker", 1));
  mol_tool_call_cancel(call);
  assert_int_equal(r.calls, 0);
  assert_true(run_until(&r.done, 10000));
  assert_int_equal(r.status, MOL_TOOL_CANCELED);
  assert_true(wait_process("moltest-cancel-marker", 0));
  int never = 0;
  run_until(&never, 50);
  assert_int_equal(r.calls, 1);
  mol_agent_tools_free(t);
}

/* ---- bubblewrap ----------------------------------------------------------------------------------- */

static void bwrap_isolation(void **st) {
  (void)st;
  secrets_in_env();
  /* a listening socket on the host and a secret file: neither reachable from inside */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(fd, 4), 0);
  socklen_t alen = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &alen);
  char dir[] = "/tmp/moltest-secret-XXXXXX", secret[300];
  assert_non_null(mkdtemp(dir));
  snprintf(secret, sizeof secret, "%s/.auth_token", dir);
  FILE *f = fopen(secret, "w");
  fputs("secret-token", f);
  fclose(f);
  mol_agent_tools *t = tools_with((mol_tools_builtin_opts){.sandbox = MOL_TOOLS_SANDBOX_BWRAP});
  char code[2048];
  snprintf(code, sizeof code,
           "import socket, os\n"
           "try:\n socket.create_connection(('127.0.0.1', %d), timeout=2); print('net: open')\n"
           "except OSError as e: print('net: closed')\n"
           "try:\n print('secret:', open('%s').read())\n"
           "except OSError: print('secret: unreadable')\n"
           "try:\n open('/usr/molecule-test', 'w'); print('root: writable')\n"
           "except OSError: print('root: read-only')\n"
           "open('scratch', 'w').write('ok'); print('cwd:', os.getcwd(), open('scratch').read())\n"
           "print('\\n'.join(k + '=' + v for k, v in os.environ.items()))\n",
           ntohs(a.sin_port), secret);
  res_t r;
  json_t *v = run(t, code, "python", &r);
  assert_string_equal(mol_json_str(v, "backend"), "bwrap");
  assert_int_equal(json_integer_value(json_object_get(v, "exit_code")), 0);
  const char *out = mol_json_str(v, "stdout");
  assert_non_null(strstr(out, "net: closed\n"));
  assert_non_null(strstr(out, "secret: unreadable\n"));
  assert_non_null(strstr(out, "root: read-only\n"));
  assert_non_null(strstr(out, "cwd: /tmp ok\n"));
  check_clean_env(out);
  json_decref(v);
  mol_agent_tools_free(t);
  /* auto picks bubblewrap when it works here */
  t = tools_with((mol_tools_builtin_opts){0});
  v = run(t, "echo inside", "shell", &r);
  assert_string_equal(mol_json_str(v, "backend"), "bwrap");
  assert_string_equal(mol_json_str(v, "stdout"), "inside\n");
  json_decref(v);
  /* a cancel ends the sandbox too */
  mol_tool_call *call = start(t, "exec -a moltest-bwrap-marker sleep 30", "bash", &r);
  assert_true(wait_process("moltest-bwrap-marker", 1));
  mol_tool_call_cancel(call);
  assert_true(run_until(&r.done, 10000));
  assert_int_equal(r.status, MOL_TOOL_CANCELED);
  assert_true(wait_process("moltest-bwrap-marker", 0));
  mol_agent_tools_free(t);
  close(fd);
  unlink(secret);
  rmdir(dir);
}

static int setup(void **st) {
  (void)st;
  return uv_loop_init(&loop);
}

static int teardown(void **st) {
  (void)st;
  int never = 0;
  run_until(&never, 50);
  return uv_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(plain_languages_and_env, setup, teardown),
      cmocka_unit_test_setup_teardown(caps_and_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(bwrap_isolation, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
